"""The tag registry (vocab/tags.json, spec/registry.md): entries, normalization on real spellings, the CLI."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from aiterms.vocab import Registry, Vocabulary, normalize_tag

ROOT = Path(__file__).resolve().parents[1]
TAGS = json.loads((ROOT / "vocab" / "tags.json").read_text("utf-8"))


def test_entries_are_sorted_unique_and_schema_valid(schema_validator: Any) -> None:
    ids = [t["id"] for t in TAGS]
    assert ids == sorted(ids)
    assert len(set(ids)) == len(ids)
    validator = schema_validator("registry-entry.schema.json")
    for t in TAGS:
        errors = [e.message for e in validator.iter_errors(t)]
        assert not errors, (t["id"], errors)


def test_rules_use_vocabulary_ids_and_replacements_exist() -> None:
    v = Vocabulary.bundled()
    for t in TAGS:
        assert t["rules"], t["id"]
        for r in t["rules"]:
            assert r["effect"] in v.ids("effect")
            assert r["use"] in v.ids("use")
            assert set(r.get("purpose", ())) <= v.ids("purpose")
            assert set(r.get("actor", ())) <= v.ids("actor")
            assert set(r.get("duties", ())) <= v.ids("obligation")
        if t["status"] == "deprecated":
            assert t["replacedBy"] in {x["id"] for x in TAGS}


def test_no_spelling_matches_two_entries() -> None:
    owner: dict[str, str] = {}
    for t in TAGS:
        for spelling in (t["id"], *t["variants"]):
            key = normalize_tag(spelling)
            assert owner.setdefault(key, t["id"]) == t["id"], (spelling, owner[key], t["id"])


def test_every_variant_matches_its_own_entry() -> None:
    registry = Registry.bundled()
    for t in TAGS:
        for spelling in (t["id"], *t["variants"]):
            match = registry.lookup(spelling)
            assert match.entry is not None, spelling
            assert match.entry.id == t["id"], spelling


def test_required_entries_and_their_meaning() -> None:
    by_id = {t["id"]: t for t in TAGS}
    assert by_id["no_cv"]["rules"] == [{"effect": "prohibit", "use": "computer-vision"}]
    assert by_id["noai"]["rules"] == by_id["noimageai"]["rules"] == [{"effect": "prohibit", "use": "ai-use"}]
    assert by_id["noai"]["changeController"] == "DeviantArt"
    assert by_id["no_face_recognition"]["rules"] == [{"effect": "prohibit", "use": "face-recognition"}]
    assert by_id["no_genai_training"]["rules"] == [{"effect": "prohibit", "use": "genai-training"}]
    assert by_id["no_ai_training"]["rules"] == [{"effect": "prohibit", "use": "ai-training"}]
    assert {"effect": "permit", "use": "data-mining", "purpose": ["research"]} in by_id["research_only"]["rules"]
    assert any(t["status"] == "deprecated" and t.get("replacedBy") for t in TAGS)


# Real spellings (Flickr clean tags, hashtags, hyphenated and camel case) -> the entry they must match.
REAL_SPELLINGS = [
    ("no cv", "no_cv"), ("No_CV", "no_cv"), ("no-cv", "no_cv"), ("NoCV", "no_cv"), ("nocv", "no_cv"),
    ("#no_cv", "no_cv"), ("  No CV  ", "no_cv"), ("ＮＯ＿ＣＶ", "no_cv"), ("#noai", "noai"), ("NoAI", "noai"),
    ("no-ai", "noai"), ("noimageai", "noimageai"), ("#NoImageAI", "noimageai"), ("no image ai", "noimageai"),
    ("No Facial Recognition", "no_face_recognition"), ("do not train", "do_not_train"),
    ("research-only", "research_only"), ("#DoNotTrain", "do_not_train"),
]


@pytest.mark.parametrize(("raw", "entry"), REAL_SPELLINGS)
def test_real_spellings_match(raw: str, entry: str) -> None:
    match = Registry.bundled().lookup(raw)
    assert match.kind == "registered"
    assert match.entry is not None
    assert match.entry.id == entry


def test_normalization_examples_of_the_spec() -> None:
    assert {normalize_tag(s) for s in ("no cv", "no-cv", "No_CV", "NoCV", "#no_cv", "ＮＯ＿ＣＶ")} == {"nocv"}
    assert normalize_tag("nо_cv") != "nocv"  # Cyrillic о survives normalization


@pytest.mark.parametrize("raw", ["nо_cv", "nоai", "NОAI", "nocν"])  # Cyrillic о / Greek ν lookalikes
def test_confusable_spellings_warn_and_never_match(raw: str) -> None:
    match = Registry.bundled().lookup(raw)
    assert match.entry is None
    assert match.kind == "confusable"
    assert match.suggestion in ("no_cv", "noai")


@pytest.mark.parametrize(("raw", "suggestion"), [("no_vc", "no_cv"), ("noaii", "noai"), ("no_tmd", "no_tdm"),
                                                 ("nogenaitrainig", "no_genai_training")])
def test_near_miss_spellings_warn_and_never_match(raw: str, suggestion: str) -> None:
    match = Registry.bundled().lookup(raw)
    assert match.entry is None
    assert match.kind == "near-miss"
    assert match.suggestion == suggestion


@pytest.mark.parametrize("raw", ["portrait", "family", "cv", "ai", "", "#", "🙂"])
def test_ordinary_tags_are_unknown(raw: str) -> None:
    match = Registry.bundled().lookup(raw)
    assert match.entry is None
    assert match.kind == "unknown"


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=40))
def test_normalization_is_idempotent_and_never_matches_by_accident(raw: str) -> None:
    key = normalize_tag(raw)
    assert normalize_tag(key) == key
    assert all((c.isascii() and c.isalnum() and not c.isupper()) or (not c.isascii() and c.isalpha()) for c in key)
    match = Registry.bundled().lookup(raw)
    if match.entry is not None:
        spellings = {normalize_tag(s) for s in (match.entry.id, *match.entry.variants)}
        assert key in spellings


@settings(max_examples=100, deadline=None)
@given(st.sampled_from([t["id"] for t in TAGS]), st.sampled_from(["", " ", "#", "-", "_"]), st.booleans())
def test_decorated_ids_match(tag_id: str, decoration: str, upper: bool) -> None:
    raw = decoration + (tag_id.upper() if upper else tag_id).replace("_", decoration or "_")
    match = Registry.bundled().lookup(raw)
    assert match.entry is not None
    assert match.entry.id == tag_id


# --- the CLI ---------------------------------------------------------------------------------------------------


def _run(*argv: str) -> tuple[int, str, str]:
    from aiterms.cli import run

    out, err = io.StringIO(), io.StringIO()
    code = run(list(argv), stdout=out, stderr=err)
    return code, out.getvalue(), err.getvalue()


def test_cli_tags_normalizes_the_spelling_given() -> None:
    code, out, _ = _run("tags", "no-cv")
    assert code == 0
    assert out.startswith("no_cv:")
    assert "prohibit computer-vision" in out
    code, out, _ = _run("tags", "No CV", "--format", "json")
    doc = json.loads(out)
    assert code == 0
    assert doc["match"] == "registered"
    assert doc["entry"]["id"] == "no_cv"
    assert doc["key"] == "nocv"


def test_cli_tags_near_miss_and_confusable_say_did_you_mean() -> None:
    code, out, err = _run("tags", "no_vc")
    assert code == 1
    assert not out
    assert "did you mean 'no_cv'" in err
    code, out, _ = _run("tags", "nо_cv", "--format", "json")
    assert code == 1
    assert json.loads(out) == {"tag": "nо_cv", "key": "nоcv", "match": "confusable",
                                             "suggestion": "no_cv"}


def test_cli_tags_unknown_and_deprecated() -> None:
    code, _, err = _run("tags", "sunset")
    assert code == 1
    assert "not a registered tag" in err
    code, out, err = _run("tags", "DoNotTrain")
    assert code == 0
    assert "do_not_train" in out
    assert "use no_ai_training" in err


def test_cli_tags_lists_the_registry() -> None:
    code, out, _ = _run("tags", "--format", "json")
    assert code == 0
    assert [t["id"] for t in json.loads(out)] == [t["id"] for t in TAGS]
    code, out, _ = _run("tags", "--status", "deprecated")
    assert code == 0
    assert out.split()[0] == "do_not_train"
    assert "no_cv" not in out
    code, out, _ = _run("tags")
    assert code == 0
    assert len(out.splitlines()) == len(TAGS)


def test_cli_uses_text_tree() -> None:
    code, out, _ = _run("uses")
    assert code == 0
    lines = out.splitlines()
    assert "data-mining" in lines[2]
    assert any(line.startswith("      face-recognition") for line in lines)
    assert any("cv-training" in line and "(also under computer-vision)" in line for line in lines)


def test_cli_usage_error_exit_code() -> None:
    code, _, _ = _run("tags", "--status", "nonsense")
    assert code == 2
