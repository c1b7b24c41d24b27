"""Every web-signal file of ../shared/corpus imports without a crash and gives the expected rules and decisions.

Folders: ietf-aipref-drafts/ (every draft's examples, including the ones invalid as published), cc-signals/,
cloudflare-docs/, content-signals-draft/, w3c-tdmrep/ (the 19 spec examples, invalid ones included) and
healsdata-ai-training-opt-out/. Skipped with a reason when the corpus is absent.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from _web_helpers import codes, decide, decisions, permits, simple
from aiterms.interop import registry

CORPUS = Path(__file__).resolve().parents[1].parent / "shared" / "corpus"
FOLDERS = ("ietf-aipref-drafts", "cc-signals", "cloudflare-docs", "content-signals-draft", "w3c-tdmrep",
           "healsdata-ai-training-opt-out")
EX = "ietf-aipref-drafts/extracted-examples/"
TDM = "w3c-tdmrep/spec/extracted-examples/"
URL = "https://example.com/images/photo.jpg"

pytestmark = pytest.mark.skipif(not CORPUS.is_dir(), reason=f"shared corpus absent ({CORPUS})")


def files() -> list[str]:
    if not CORPUS.is_dir():
        return []
    return sorted(str(p.relative_to(CORPUS)) for f in FOLDERS if (CORPUS / f).is_dir()
                  for p in (CORPUS / f).rglob("*") if p.is_file())


def imp(rel: str, *, url: str | None = URL, user_agent: str | None = None, kind: str | None = None) -> Any:
    path = CORPUS / rel
    if not path.exists():
        pytest.skip(f"corpus file absent: {rel}")
    return registry.import_sources([str(path)], kind=kind, url=url, user_agent=user_agent)


@pytest.mark.parametrize("rel", files())
def test_every_file_imports_without_a_crash(rel: str) -> None:
    for url in (URL, None):
        result = imp(rel, url=url)
        assert "import-importer-failed" not in codes(result), rel
        assert result.record["@context"] == "https://w3id.org/aiterms/context/v1.jsonld"
        for d in result.record.get("declarations", []):
            src = d["source"]
            assert src["signal"] in ("aipref", "content-signal", "noai", "tdmrep", "ai.txt")
            assert src["location"]
            assert isinstance(src["raw"], str)
            assert d["declaredBy"]["role"] == "rights-holder"
            if url:
                assert d["declaredBy"].get("id") in ("https://example.com", "https://provider.com")


@pytest.mark.parametrize("rel", [f for f in files() if f.endswith(".md") or "/docs/" in f or f.endswith(".abnf")])
def test_documents_are_not_signals(rel: str) -> None:
    """Drafts, READMEs and grammars quote signals; importing them must never yield a permission."""
    assert not permits(imp(rel).record)


def test_imported_records_are_valid() -> None:
    from aiterms.validation import check

    for rel in files():
        record = imp(rel).record
        report = check(record)
        assert report.valid, (rel, [i.to_text() for i in report.issues if str(i.severity) == "error"])


# -----------------------------------------------------------------------------------------------------------------
# aipref vocabulary examples: every draft, with the outcome the draft states next to the example

VOCAB: dict[str, tuple[set[tuple[str, str]], set[str]]] = {
    "vocab-01-ex02": ({("permit", "ai-training"), ("prohibit", "genai-training")}, {"aipref-old-label"}),
    "vocab-01-ex03": (set(), {"aipref-duplicate-label", "aipref-invalid-value"}),
    "vocab-02-ex02": ({("permit", "ai-training"), ("prohibit", "genai-training")},
                      {"aipref-old-label", "aipref-old-meaning"}),
    "vocab-02-ex03": (set(), {"aipref-duplicate-label", "aipref-invalid-value"}),
    "vocab-03-ex02": ({("permit", "ai-training"), ("prohibit", "genai-training")}, {"aipref-old-label"}),
    "vocab-03-ex03": (set(), {"aipref-invalid-value"}),
    "vocab-03-ex04": (set(), {"aipref-parse-error"}),
    "vocab-04-ex02": ({("permit", "data-mining"), ("prohibit", "ai-training")}, {"aipref-old-meaning"}),
    "vocab-04-ex03": (set(), {"aipref-invalid-value"}),
    "vocab-04-ex04": (set(), {"aipref-parse-error"}),
    "vocab-05-ex01": ({("permit", "genai-training"), ("prohibit", "search-indexing")}, set()),
    "vocab-05-ex02": (set(), {"aipref-invalid-value"}),
    "vocab-05-ex03": (set(), {"aipref-parse-error"}),
    "vocab-06-ex01": ({("permit", "genai-training"), ("prohibit", "search-indexing")}, set()),
    "vocab-06-ex02": (set(), {"aipref-invalid-value"}),
    "vocab-06-ex03": (set(), {"aipref-parse-error"}),
    "vocab-07-ex01": ({("permit", "genai-training"), ("prohibit", "search-indexing")}, set()),
    "vocab-07-ex02": (set(), {"aipref-invalid-value", "aipref-duplicate-label"}),
    "vocab-07-ex03": ({("permit", "genai-training")}, {"aipref-duplicate-label"}),
    "vocab-07-ex04": (set(), {"aipref-parse-error"}),
    "vocab-main-ex01": ({("permit", "genai-training"), ("prohibit", "search-indexing")}, set()),
    "vocab-main-ex02": (set(), {"aipref-invalid-value"}),
    "vocab-main-ex03": ({("permit", "genai-training")}, set()),
    "vocab-main-ex04": (set(), {"aipref-parse-error"}),
}


@pytest.mark.parametrize("name", sorted(VOCAB))
def test_aipref_vocab_examples(name: str) -> None:
    expected, expected_codes = VOCAB[name]
    result = imp(f"{EX}draft-ietf-aipref-{name}.txt")
    assert simple(result.record) == expected
    assert expected_codes <= codes(result)
    if expected:
        version = result.record["declarations"][0]["source"]["version"]
        draft = name.split("-")[1]
        assert version.startswith("draft-ietf-aipref-vocab-")
        if draft in ("05", "06", "07", "main"):
            assert version == "draft-ietf-aipref-vocab-07"


def test_stated_outcome_of_the_current_example() -> None:
    """main ex01: "train-ai=y, search=n" -> allow train-ai, disallow search, others unknown."""
    rec = imp(f"{EX}draft-ietf-aipref-vocab-main-ex01.txt").record
    assert decisions(rec, ("genai-training", "search-indexing", "non-genai-training", "ai-inference")) == {
        "genai-training": "allowed", "search-indexing": "notAllowed", "non-genai-training": "unspecified",
        "ai-inference": "unspecified"}


ATTACH_HTTP = {"00": ("ai-training", "aipref-old-label"), "01": ("ai-training", "aipref-old-label"),
               "02": ("genai-training", None), "03": ("genai-training", None), "04": ("genai-training", None),
               "05": ("genai-training", None), "main": ("genai-training", None)}


@pytest.mark.parametrize("tag", sorted(ATTACH_HTTP))
def test_attach_http_examples(tag: str) -> None:
    use, code = ATTACH_HTTP[tag]
    result = imp(f"{EX}draft-ietf-aipref-attach-{tag}-ex01.http")
    assert simple(result.record) == {("prohibit", use)}
    assert result.record["declarations"][0]["source"]["location"] == "HTTP header Content-Usage"
    if code:
        assert code in codes(result)


@pytest.mark.parametrize("tag", sorted(ATTACH_HTTP))
def test_attach_robots_examples(tag: str) -> None:
    use = ATTACH_HTTP[tag][0]
    result = imp(f"{EX}draft-ietf-aipref-attach-{tag}-ex02.robots.txt")
    assert simple(result.record) == {("prohibit", use)}


@pytest.mark.parametrize("tag", ["02", "03", "04", "05", "main"])
def test_attach_path_example_table(tag: str) -> None:
    """The stated table: /test train-ai=n, /never/test N/A, /ai-ok/test train-ai=y; ExampleBot train-ai=y."""
    rel = f"{EX}draft-ietf-aipref-attach-{tag}-ex04.robots.txt"
    assert decide(imp(rel, url="https://example.com/test").record, "genai-training") == "notAllowed"
    never = imp(rel, url="https://example.com/never/test")
    assert "robots-path-disallowed" in codes(never)
    assert not never.record.get("declarations")
    assert decide(imp(rel, url="https://example.com/ai-ok/test").record, "genai-training") == "allowed"
    bot = imp(rel, url="https://example.com/never/test", user_agent="ExampleBot")
    assert decide(bot.record, "genai-training") == "allowed"


def test_attach_01_example_with_old_label() -> None:
    rel = f"{EX}draft-ietf-aipref-attach-01-ex04.robots.txt"
    assert decide(imp(rel, url="https://example.com/test").record, "ai-training") == "notAllowed"
    assert decide(imp(rel, url="https://example.com/ai-ok/test").record, "ai-training") == "allowed"


def test_attach_00_two_star_groups_combine() -> None:
    """attach-00 put path preferences in two '*' groups; RFC 9309 merges them, so both apply: most restrictive."""
    rel = f"{EX}draft-ietf-aipref-attach-00-ex04.robots.txt"
    result = imp(rel, url="https://example.com/ai-ok/x")
    assert decide(result.record, "ai-training") == "notAllowed"
    assert "import-contradiction" in codes(result)


# -----------------------------------------------------------------------------------------------------------------
# CC signals, Cloudflare


def test_cc_signals_examples() -> None:
    ex1 = imp("cc-signals/extracted-examples/cc-signals-README-ex01.txt")
    assert decide(ex1.record, "ai-inference") == "constrained"
    ex2 = imp("cc-signals/extracted-examples/cc-signals-README-ex02.robots.txt")
    assert {"aipref-cc-exception", "aipref-old-label"} <= codes(ex2)
    from _web_helpers import AT, full
    from aiterms.model import Query
    from aiterms.resolution import resolve

    d = resolve(full(ex2.record), Query(use="ai-inference", at=AT))
    assert d.outcome == "constrained"
    assert "attribution" in d.obligations
    ex3 = imp("cc-signals/extracted-examples/cc-signals-README-ex03.http")  # bare "200 OK" status line
    assert "http-malformed-line" not in codes(ex3)
    d = resolve(full(ex3.record), Query(use="genai-training", at=AT))
    assert d.outcome == "constrained"
    assert {"attribution", "compensate"} <= set(d.obligations)
    assert decide(ex3.record, "non-genai-training") == "unspecified"


def test_cloudflare_managed_robots() -> None:
    rel = "cloudflare-docs/managed-robots-txt.feature-enabled.robots.txt"
    rec = imp(rel, url="https://crawlstop.com/photo.jpg").record
    assert decisions(rec, ("search-indexing", "ai-training", "genai-training", "ai-inference")) == {
        "search-indexing": "allowed", "ai-training": "notAllowed", "genai-training": "notAllowed",
        "ai-inference": "unspecified"}
    (d,) = rec["declarations"]
    assert d["source"]["signal"] == "content-signal"
    assert d["source"]["raw"] == "search=yes, ai-train=no"
    gpt = imp(rel, url="https://crawlstop.com/photo.jpg", user_agent="GPTBot")
    assert not gpt.record.get("declarations")
    lp = imp(rel, url="https://crawlstop.com/lp/x")  # the second '*' group disallows /lp
    assert not lp.record.get("declarations")
    assert "robots-path-disallowed" in codes(lp)


# -----------------------------------------------------------------------------------------------------------------
# healsdata opt-out kit

HEALS = "healsdata-ai-training-opt-out/"


def test_healsdata_headers() -> None:
    result = imp(HEALS + "headers.txt")
    assert simple(result.record) == {("prohibit", "ai-use"), ("prohibit", "data-mining")}
    assert decide(result.record, "genai-training") == "notAllowed"
    assert decide(result.record, "search-indexing") == "notAllowed"  # tdm-reservation: 1 reserves all mining


def test_healsdata_meta_tags() -> None:
    result = imp(HEALS + "meta-tags.html")
    assert simple(result.record) == {("prohibit", "ai-use"), ("prohibit", "data-mining")}


def test_healsdata_ai_txt() -> None:
    assert simple(imp(HEALS + "ai.txt").record) == {("prohibit", "ai-training")}
    assert simple(imp(HEALS + "ai.txt", url=None).record) == {("prohibit", "ai-training")}  # Disallow: / covers all


def test_healsdata_tdmrep_json() -> None:
    assert simple(imp(HEALS + ".well-known/tdmrep.json", url=None).record) == {("prohibit", "data-mining")}


def test_healsdata_robots_has_no_usage_preference() -> None:
    for ua in (None, "GPTBot", "img2dataset"):
        assert not imp(HEALS + "robots.txt", user_agent=ua).record.get("declarations")


def test_healsdata_kit_combined() -> None:
    paths = [str(CORPUS / HEALS / n) for n in ("headers.txt", "meta-tags.html", ".well-known/tdmrep.json", "ai.txt",
                                               "robots.txt")]
    if not all(Path(p).exists() for p in paths):
        pytest.skip("healsdata kit incomplete")
    result = registry.import_sources(paths, url=URL, user_agent="GPTBot")
    assert "tdmrep-superseded" in codes(result)
    tdm = [d for d in result.record["declarations"] if d["source"]["signal"] == "tdmrep"]
    assert len(tdm) == 1
    assert tdm[0]["source"]["location"].startswith("HTML meta")
    for use in ("data-mining", "ai-training", "genai-training", "search-indexing", "face-recognition"):
        assert decide(result.record, use) == "notAllowed", use


# -----------------------------------------------------------------------------------------------------------------
# TDMRep spec examples (ex06-ex17 and ex19 are not valid as published)

TDM_EXPECT: dict[str, tuple[set[tuple[str, str]], set[str]]] = {
    "ex01.json": ({("prohibit", "data-mining")}, set()),
    "ex03.http": ({("prohibit", "data-mining")}, set()),
    "ex04.http": ({("prohibit", "data-mining")}, {"tdmrep-policy-not-fetched"}),
    "ex05.html": ({("prohibit", "data-mining")}, {"tdmrep-policy-not-fetched"}),
    "ex06.opf.xml": ({("prohibit", "data-mining")}, {"tdmrep-policy-not-fetched"}),
    "ex07.opf.xml": ({("prohibit", "data-mining")}, {"tdmrep-policy-not-fetched"}),
    "ex09.json": (set(), {"tdmrep-policy-invalid"}),
    "ex10.json": (set(), {"tdmrep-policy-invalid"}),
    "ex11.json": (set(), {"tdmrep-policy-invalid"}),
    "ex12.json": (set(), {"tdmrep-policy-invalid"}),
    "ex13.json": (set(), {"tdmrep-policy-invalid"}),
    "ex14.json": (set(), {"tdmrep-policy-invalid"}),
    "ex15.json": (set(), {"tdmrep-policy-invalid"}),
    "ex16.json": (set(), {"tdmrep-policy-invalid"}),
    "ex17.json": (set(), {"tdmrep-policy-invalid"}),
    "ex18.json": ({("permit", "data-mining")}, set()),
    "ex19.json": (set(), {"tdmrep-policy-invalid"}),
}


@pytest.mark.parametrize("name", sorted(TDM_EXPECT))
def test_tdmrep_spec_examples(name: str) -> None:
    expected, expected_codes = TDM_EXPECT[name]
    result = imp(f"{TDM}tdmrep-spec-{name}", url="https://provider.com/images/a.jpg")
    assert simple(result.record) == expected
    assert expected_codes <= codes(result)


def test_tdmrep_ex02_paths() -> None:
    rel = f"{TDM}tdmrep-spec-ex02.json"
    assert decide(imp(rel, url="https://provider.com/directory-a/x").record, "data-mining") == "notAllowed"
    assert decide(imp(rel, url="https://provider.com/directory-b/images/a.jpg").record, "data-mining") == "allowed"
    assert decide(imp(rel, url="https://provider.com/directory-b/images/a.png").record, "data-mining") == \
        "unspecified"
    assert "import-url-required" in codes(imp(rel, url=None))


def test_tdmrep_ex18_policy_is_a_constrained_offer() -> None:
    rec = imp(f"{TDM}tdmrep-spec-ex18.json").record
    from _web_helpers import AT, full
    from aiterms.model import Query
    from aiterms.resolution import resolve

    d = resolve(full(rec), Query(use="ai-training", at=AT))
    assert d.outcome == "constrained"
    assert "contact-rights-holder" in d.obligations
    assert rec["declarations"][0]["declaredBy"]["name"] == "Provider"


def test_tdmrep_header_plus_policy_example() -> None:
    paths = [CORPUS / TDM / "tdmrep-spec-ex04.http", CORPUS / TDM / "tdmrep-spec-ex18.json"]
    if not all(p.exists() for p in paths):
        pytest.skip("TDMRep examples absent")
    result = registry.import_sources([str(p) for p in paths], url="https://provider.com/a.jpg")
    assert decide(result.record, "data-mining") == "constrained"
    assert decide(imp(f"{TDM}tdmrep-spec-ex04.http").record, "data-mining") == "notAllowed"
