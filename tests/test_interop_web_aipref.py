"""aipref Content-Usage: parsing (http_sf), drafts and their meanings, CC signals exceptions, export."""

from __future__ import annotations

import pytest

from _web_helpers import codes, decide, rules, run, simple
from aiterms.interop import aipref


def parse(value: str, **kw: object) -> aipref.Preference:
    return aipref.parse_preference(value.encode(), **kw)  # type: ignore[arg-type]


def test_current_draft_tokens() -> None:
    p = parse("train-ai=y, search=n")
    assert p.parsed
    assert p.version == "draft-ietf-aipref-vocab-07"
    assert p.rules == [{"effect": "permit", "use": "genai-training"}, {"effect": "prohibit", "use": "search-indexing"}]
    assert not p.issues


@pytest.mark.parametrize("value", [
    'train-ai;has;parameters="?";',  # the draft's own example, invalid as published (trailing ';')
    "Train-AI=n",  # uppercase key
    "train-ai=n search=y",  # space-separated, as real configs write it
    "train-ai=n,",  # trailing comma
    "train-ai=n\x00",
    "tráin-ai=n",
])
def test_parse_error_discards_whole_field(value: str) -> None:
    p = aipref.parse_preference(value.encode("utf-8"))
    assert not p.parsed
    assert p.rules == []
    assert [i.code for i in p.issues] == ["aipref-parse-error"]


@pytest.mark.parametrize(("value", "code"), [
    ('train-ai="n"', "aipref-invalid-value"),
    ("train-ai", "aipref-invalid-value"),
    ("train-ai=?1", "aipref-invalid-value"),
    ("train-ai=yes", "aipref-invalid-value"),
    ("train-ai=(y n)", "aipref-invalid-value"),
    ("ai-train=n", "aipref-unknown-label"),
])
def test_unknown_values_and_labels_state_nothing(value: str, code: str) -> None:
    p = parse(value)
    assert p.rules == []
    assert code in {i.code for i in p.issues}


def test_draft_example_all_unknown() -> None:
    """vocab-07 section 6: last value wins and is not a token, so both categories are unknown."""
    p = parse('train-ai=y, train-ai, search=n, search="n"')
    assert p.rules == []
    assert {i.code for i in p.issues} == {"aipref-duplicate-label", "aipref-invalid-value"}


def test_parameters_are_ignored() -> None:
    p = parse("train-ai;allow=n, train-ai=y")
    assert p.rules == [{"effect": "permit", "use": "genai-training"}]
    p = parse("train-ai=n;why=yes")
    assert p.rules == [{"effect": "prohibit", "use": "genai-training"}]
    assert "aipref-parameter-ignored" in {i.code for i in p.issues}


@pytest.mark.parametrize(("value", "version", "expected", "code"), [
    ("ai=n", "draft-ietf-aipref-vocab-01", {("prohibit", "ai-training")}, "aipref-old-label"),
    ("ai=y, genai=n", "draft-ietf-aipref-vocab-01",
     {("permit", "ai-training"), ("prohibit", "genai-training")}, "aipref-old-label"),
    ("tdm=n", "draft-ietf-aipref-vocab-01", {("prohibit", "data-mining")}, "aipref-old-label"),
    ("inference=n", "draft-ietf-aipref-vocab-01", {("prohibit", "ai-inference")}, "aipref-old-label"),
    ("train-ai=y, train-genai=n", "draft-ietf-aipref-vocab-03",
     {("permit", "ai-training"), ("prohibit", "genai-training")}, "aipref-old-meaning"),
    ("train-genai=n, search=y", "draft-ietf-aipref-vocab-03",
     {("prohibit", "genai-training"), ("permit", "search-indexing")}, "aipref-old-label"),
    ("all=n", "draft-ietf-aipref-vocab-02", {("prohibit", "data-mining")}, "aipref-old-label"),
    ("ai-use=n", "draft-ietf-aipref-vocab-02", {("prohibit", "ai-inference")}, "aipref-old-label"),
    ("bots=y, train-ai=n", "draft-ietf-aipref-vocab-04",
     {("permit", "data-mining"), ("prohibit", "ai-training")}, "aipref-old-meaning"),
    ("ai-output=n", "draft-ietf-aipref-vocab-04",
     {("prohibit", "ai-inference"), ("prohibit", "search-indexing")}, "aipref-old-label"),
    ("ai-output=n, search=y", "draft-ietf-aipref-vocab-04",
     {("prohibit", "ai-inference"), ("permit", "search-indexing")}, "aipref-old-label"),
])
def test_every_draft_is_read_with_its_meaning(value: str, version: str, expected: set[tuple[str, str]],
                                              code: str) -> None:
    p = parse(value)
    assert p.version == version
    assert {(r["effect"], r["use"]) for r in p.rules} == expected
    assert code in {i.code for i in p.issues}


def test_foundation_model_permission_is_dropped() -> None:
    """vocab-04 train-ai (Foundation Model Production) is narrower than any use: its y permits nothing."""
    p = parse("bots=n, train-ai=y")
    assert {(r["effect"], r["use"]) for r in p.rules} == {("prohibit", "data-mining")}
    assert "aipref-permit-dropped" in {i.code for i in p.issues}


def test_mixed_drafts() -> None:
    p = parse("ai=n, train-ai=n")
    assert "aipref-mixed-drafts" in {i.code for i in p.issues}
    assert p.version == "draft-ietf-aipref-vocab-01+draft-ietf-aipref-vocab-07"
    assert {(r["effect"], r["use"]) for r in p.rules} == {("prohibit", "ai-training"), ("prohibit", "genai-training")}


def test_explicit_draft() -> None:
    p = parse("train-ai=n", draft="vocab-03")
    assert p.rules == [{"effect": "prohibit", "use": "ai-training"}]


def test_meaning_table_is_fail_closed() -> None:
    """A y never permits more than the n of the same label prohibits."""
    from aiterms.interop._web import ancestors

    for (_draft, _label), m in aipref.MEANINGS.items():
        for use in m.permit:
            assert any(p in ancestors(use) for p in m.prohibit), (_draft, _label)


def test_meanings_agree_with_vocabulary_mappings() -> None:
    """Every (draft, label) maps to a use that the vocabulary maps the token to (or a narrower reading)."""
    try:
        from aiterms.vocab import Vocabulary

        vocab = Vocabulary.bundled()
    except Exception as exc:  # pragma: no cover - vocabulary data not built
        pytest.skip(f"vocabulary data unavailable: {exc}")
    mapped: dict[str, set[str]] = {}
    for use, concept in vocab.uses.items():
        for m in concept.mappings:
            if m.scheme == "aipref":
                mapped.setdefault(m.token, set()).add(use)
    for (_draft, label), m in aipref.MEANINGS.items():
        assert label in mapped, label
        assert set(m.prohibit) & mapped[label], (label, m.prohibit, mapped[label])


@pytest.mark.parametrize(("value", "expected", "code"), [
    ("ai-use=n;exceptions=cc-cr", [("permit", "ai-inference", (), ("attribution",))], "aipref-cc-exception"),
    ("train-genai=n;exceptions=cc-cr-ec", [("permit", "genai-training", (), ("attribution", "compensate"))],
     "aipref-cc-exception"),
    ("train-ai=n;exceptions=cc-cr-dc", [("permit", "genai-training", (), ("attribution", "compensate"))],
     "aipref-cc-exception"),
    ("train-ai=n;exceptions=cc-cr-op", [("prohibit", "genai-training", (), ())], "aipref-cc-exception-unsupported"),
    ("train-ai=n;exceptions=cc-unknown", [("prohibit", "genai-training", (), ())], "aipref-cc-exception-unsupported"),
    ('train-ai=n;exceptions="cc-cr"', [("permit", "genai-training", (), ("attribution",))], "aipref-cc-exception"),
    ("train-ai=y;exceptions=cc-cr", [("permit", "genai-training", (), ())], "aipref-cc-exception-unsupported"),
    # vocab-04 train-ai: the exception can only permit what y permits (nothing), so the prohibition stays
    ("bots=y, train-ai=n;exceptions=cc-cr", [("permit", "data-mining", (), ()), ("prohibit", "ai-training", (), ())],
     "aipref-cc-exception-unsupported"),
])
def test_cc_signals_exceptions(value: str, expected: list[tuple[str, str, tuple[str, ...], tuple[str, ...]]],
                               code: str) -> None:
    result = run("content-usage", value)
    assert rules(result) == sorted(expected)
    assert code in codes(result)


def test_cc_exception_on_broader_old_label_keeps_the_rest_prohibited() -> None:
    """all=n;exceptions=cc-cr permits data-mining with attribution; nothing else stays prohibited."""
    result = run("content-usage", "all=n;exceptions=cc-cr")
    assert rules(result) == [("permit", "data-mining", (), ("attribution",))]
    assert decide(result.record, "ai-training") == "constrained"


def test_declaration_provenance() -> None:
    result = run("content-usage", "train-ai=n")
    (d,) = result.record["declarations"]
    assert d["declaredBy"] == {"role": "rights-holder", "id": "https://example.com"}
    assert d["source"] == {"signal": "aipref", "version": "draft-ietf-aipref-vocab-07",
                           "location": "Content-Usage value", "raw": "train-ai=n"}


def test_no_url_no_party_id() -> None:
    result = run("content-usage", "train-ai=n", url=None)
    assert result.record["declarations"][0]["declaredBy"] == {"role": "rights-holder"}


def test_bare_value_with_two_lines_is_discarded() -> None:
    result = run("content-usage", "train-ai=y\nsearch=y")
    assert not result.record
    assert "aipref-parse-error" in codes(result)


# -----------------------------------------------------------------------------------------------------------------
# export


def record(*rule_list: dict[str, object], **extra: object) -> dict[str, object]:
    return {"@context": "https://w3id.org/aiterms/context/v1.jsonld", "type": "ImageRecord",
            "declarations": [{"declaredBy": {"role": "rights-holder", "id": "https://example.com"},
                              "rules": list(rule_list)}], **extra}


@pytest.mark.parametrize(("rec_rules", "expected"), [
    ([{"effect": "prohibit", "use": "genai-training"}], "train-ai=n"),
    ([{"effect": "permit", "use": "genai-training"}, {"effect": "prohibit", "use": "search-indexing"}],
     "train-ai=y, search=n"),
    ([{"effect": "prohibit", "use": "data-mining"}], "train-ai=n, search=n"),
    ([{"effect": "permit", "use": "genai-training", "duties": ["attribution"]}], "train-ai=n"),
    ([{"effect": "prohibit", "use": "ai-use"}], "train-ai=n"),
])
def test_export_content_usage(rec_rules: list[dict[str, object]], expected: str) -> None:
    out = aipref.export(record(*rec_rules))
    assert out.data.decode() == expected + "\n"
    assert out.media_type == "text/plain"


def test_export_lists_what_it_cannot_carry() -> None:
    out = aipref.export(record({"effect": "prohibit", "use": "face-recognition"},
                               {"effect": "permit", "use": "genai-training", "purpose": ["research"]}))
    msgs = [i.message for i in out.issues if i.code == "export-not-expressible"]
    assert any("face-recognition" in m for m in msgs)
    assert any("purpose" in m for m in msgs)
    assert out.data == b""  # the research-only permission does not answer an open query


def test_export_constrained_is_written_as_n() -> None:
    out = aipref.export(record({"effect": "permit", "use": "genai-training", "duties": ["compensate"]}))
    assert out.data == b"train-ai=n\n"
    assert any("compensate" in i.message for i in out.issues)


def test_export_import_round_trip() -> None:
    for rec_rules in ([{"effect": "prohibit", "use": "genai-training"}],
                      [{"effect": "permit", "use": "genai-training"}, {"effect": "permit", "use": "search-indexing"}],
                      [{"effect": "prohibit", "use": "data-mining"}]):
        rec = record(*rec_rules)
        back = run("content-usage", aipref.export(rec).data)
        for use in aipref.EXPRESSIBLE:
            assert decide(back.record, use) == decide(rec, use), (rec_rules, use)
    assert simple(run("content-usage", b"train-ai=n\n")) == {("prohibit", "genai-training")}
