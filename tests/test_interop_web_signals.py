"""HTTP header files, Content-Signal, noai/noimageai, HTML meta, TDMRep (values, tdmrep.json, policies, layers)."""

from __future__ import annotations

import json

import pytest

from _web_helpers import codes, decide, rules, run, simple
from aiterms.interop import contentsignal, httpheaders, registry, tdmrep

NOAI = {("prohibit", "ai-use")}


# -----------------------------------------------------------------------------------------------------------------
# header files


@pytest.mark.parametrize("status", ["HTTP/1.1 200 OK\n", "HTTP/2 200\n", "200 OK\n", ""])
def test_status_lines(status: str) -> None:
    result = run("http-headers", status + "Date: x\nContent-Usage: train-ai=n\n\nbody: not a header\n")
    assert simple(result) == {("prohibit", "genai-training")}
    assert not {"http-malformed-line"} & codes(result)


def test_folding_duplicates_and_crlf() -> None:
    text = "HTTP/1.1 200 OK\r\nContent-Usage: train-ai=n,\r\n  search=y\r\nContent-Usage: search=n\r\n\r\n"
    result = run("http-headers", text)
    # folded and combined: "train-ai=n, search=y, search=n" -> search=n (last wins)
    assert simple(result) == {("prohibit", "genai-training"), ("prohibit", "search-indexing")}
    assert "http-duplicate-field" in codes(result)


def test_combined_field_with_one_broken_line_is_discarded() -> None:
    result = run("http-headers", "Content-Usage: train-ai=n\nContent-Usage: Search=y\n")
    assert simple(result) == set()
    assert "aipref-parse-error" in codes(result)


def test_last_response_counts() -> None:
    text = ("HTTP/1.1 301 Moved\nLocation: /b\nContent-Usage: train-ai=y\n\n"
            "HTTP/1.1 200 OK\nContent-Usage: train-ai=n\n")
    result = run("http-headers", text)
    assert simple(result) == {("prohibit", "genai-training")}
    assert "http-multiple-responses" in codes(result)


def test_malformed_lines() -> None:
    result = run("http-headers", "Content-Usage: train-ai=n\nthis is not a header\nBad Name: x\n")
    assert simple(result) == {("prohibit", "genai-training")}
    assert "http-malformed-line" in codes(result)


def test_header_size_limit() -> None:
    result = run("http-headers", "X-A: b\n" * 1001 + "Content-Usage: train-ai=y\n")
    assert not result.record
    assert "limit-header-size" in codes(result)


def test_detection() -> None:
    assert httpheaders.detect("headers.txt", b"X-Robots-Tag: noai\n")
    assert httpheaders.detect("x", b"200 OK\nDate: y\n")
    assert httpheaders.detect("x", b"tdm-reservation: 1\n")
    assert not httpheaders.detect("x", b"User-agent: *\nContent-Usage: train-ai=n\n")
    assert registry.detect_kind("x.http", b"HTTP/1.1 200 OK\n") == "http-headers"
    assert registry.detect_kind("robots.txt", b"User-agent: *\n") == "robots"
    assert registry.detect_kind("v.txt", b"train-ai=y, search=n\n") == "content-usage"
    assert registry.detect_kind("v.txt", b"search=yes, ai-train=no\n") == "content-signal"
    assert registry.detect_kind("p.html", b"<p>hi</p>") == "html"
    assert registry.detect_kind("ai.txt", b"User-Agent: *\nDisallow: /\n") == "ai.txt"
    assert registry.detect_kind(".well-known/tdmrep.json", b"[]") == "tdmrep"


# -----------------------------------------------------------------------------------------------------------------
# Content-Signal


@pytest.mark.parametrize(("value", "expected", "code"), [
    ("search=yes, ai-train=no", {("permit", "search-indexing"), ("prohibit", "ai-training")}, None),
    ("ai-input=no", {("prohibit", "ai-inference")}, None),
    ("SEARCH=Yes,AI-TRAIN=NO", {("permit", "search-indexing"), ("prohibit", "ai-training")}, None),
    ("search=yes,ai-train=no,use=reference", {("permit", "search-indexing"), ("prohibit", "ai-training")},
     "content-signal-unknown-key"),
    ("search=y", set(), "content-signal-invalid-value"),
    ("search", set(), "content-signal-malformed"),
    ("search=yes, search=no", {("prohibit", "search-indexing")}, "content-signal-invalid-value"),
    ("search=no, search=yes", {("prohibit", "search-indexing")}, "content-signal-invalid-value"),
    ("search=yes ai-train=no", set(), "content-signal-invalid-value"),
])
def test_content_signal(value: str, expected: set[tuple[str, str]], code: str | None) -> None:
    result = run("content-signal", value)
    assert simple(result) == expected
    if code:
        assert code in codes(result)
    if expected:
        src = result.record["declarations"][0]["source"]
        assert src["signal"] == "content-signal"
        assert src["version"] == contentsignal.VERSION


def test_content_signal_header_contradicting_content_usage() -> None:
    result = run("http-headers", "Content-Usage: search=y\nContent-Signal: search=no\n")
    assert simple(result) == {("prohibit", "search-indexing")}
    assert "import-contradiction" in codes(result)


# -----------------------------------------------------------------------------------------------------------------
# noai


@pytest.mark.parametrize(("value", "ua", "expected", "code"), [
    ("noai", None, NOAI, None),
    ("noimageai", None, NOAI, None),
    ("index, follow, noai, noimageai", None, NOAI, None),
    ("NOAI", None, NOAI, None),
    ("noindex, nofollow", None, set(), None),
    ("noaiX", None, set(), None),
    ("googlebot: noai", None, set(), "noai-other-agent"),
    ("googlebot: noai", "otherbot", set(), "noai-other-agent"),
    ("googlebot: noai", "Googlebot", NOAI, None),
    ("unavailable_after: 25 Jun 2010 15:00:00 PST, noai", None, NOAI, None),
])
def test_x_robots_tag(value: str, ua: str | None, expected: set[tuple[str, str]], code: str | None) -> None:
    result = run("http-headers", f"X-Robots-Tag: {value}\n", user_agent=ua)
    assert simple(result) == expected
    if code:
        assert code in codes(result)
    if expected:
        (d,) = result.record["declarations"]
        assert d["source"]["signal"] == "noai"
        assert d["source"]["raw"] == value


def test_noai_meaning_follows_the_tag_registry() -> None:
    from aiterms.interop import noai
    from aiterms.vocab import Registry

    entry = Registry.bundled().get("noai")
    assert entry is not None
    expected = [{"effect": r["effect"], "use": r["use"]} for r in entry.rules if r["effect"] == "prohibit"]
    assert noai.rules_for("noai") == expected


# -----------------------------------------------------------------------------------------------------------------
# HTML


def test_html_meta() -> None:
    html = """<!doctype html><html><head>
<meta name="CCBot" content="nofollow">
<meta name="robots" content="noai, noimageai">
<meta name="ai" content="noindex, nofollow, noarchive">
<meta name="tdm-reservation" content="1">
<meta name="tdm-policy" content="https://example.com/policy.json">
</head><body><p>unclosed <div></body>"""
    result = run("html", html)
    assert simple(result) == NOAI | {("prohibit", "data-mining")}
    assert {"html-meta-nonstandard", "tdmrep-policy-not-fetched"} <= codes(result)
    tdm = [d for d in result.record["declarations"] if d["source"]["signal"] == "tdmrep"]
    assert tdm[0]["source"]["location"].startswith(tdmrep.LOC_HTML)


def test_html_crawler_named_meta() -> None:
    html = '<meta name="GPTBot" content="noai">'
    assert simple(run("html", html, user_agent="GPTBot")) == NOAI
    assert "noai-other-agent" in codes(run("html", html, user_agent="CCBot"))


def test_epub_package_meta() -> None:
    epub2 = '<package><metadata><meta name="tdm:reservation" content="1" /></metadata></package>'
    epub3 = '<package><metadata><meta property="tdm:reservation">0</meta></metadata></package>'
    r2, r3 = run("html", epub2), run("html", epub3)
    assert simple(r2) == {("prohibit", "data-mining")}
    assert simple(r3) == {("permit", "data-mining")}
    assert r3.record["declarations"][0]["source"]["location"].startswith(tdmrep.LOC_EPUB)


@pytest.mark.parametrize("html", ["<meta", "<<<>>>", "<meta name='robots' content='noai", "\x00\x01<meta>"])
def test_broken_html_never_raises(html: str) -> None:
    result = run("html", html)
    assert "import-importer-failed" not in codes(result)


# -----------------------------------------------------------------------------------------------------------------
# TDMRep


@pytest.mark.parametrize(("value", "expected", "code"), [
    ("1", {("prohibit", "data-mining")}, None),
    ("0", {("permit", "data-mining")}, None),
    (" 1 ", {("prohibit", "data-mining")}, None),
    ("yes", set(), "tdmrep-protocol-error"),
    ("2", set(), "tdmrep-protocol-error"),
    ("", set(), "tdmrep-protocol-error"),
])
def test_tdm_reservation_header(value: str, expected: set[tuple[str, str]], code: str | None) -> None:
    result = run("http-headers", f"tdm-reservation: {value}\n")
    assert simple(result) == expected
    if code:
        assert code in codes(result)


def test_tdm_reservation_conflicting_lines_is_a_protocol_error() -> None:
    result = run("http-headers", "tdm-reservation: 1\ntdm-reservation: 0\n")
    assert simple(result) == set()
    assert "tdmrep-protocol-error" in codes(result)
    same = run("http-headers", "tdm-reservation: 1\ntdm-reservation: 1\n")
    assert simple(same) == {("prohibit", "data-mining")}


def test_tdm_policy_with_reservation_zero_is_not_processed() -> None:
    result = run("http-headers", "tdm-reservation: 0\ntdm-policy: https://e.com/p.json\n")
    assert simple(result) == {("permit", "data-mining")}
    assert "tdmrep-policy-ignored" in codes(result)


SPEC_FILE = json.dumps([
    {"location": "/directory-a/", "tdm-reservation": 1},
    {"location": "/directory-b/html/", "tdm-reservation": 1, "tdm-policy": "https://provider.com/policies/policy.json"},
    {"location": "/directory-b/images/*.jpg", "tdm-reservation": 0},
])


@pytest.mark.parametrize(("path", "expected", "code"), [
    ("/directory-a/x.html", {("prohibit", "data-mining")}, None),
    ("/directory-b/html/x.html", {("prohibit", "data-mining")}, "tdmrep-policy-not-fetched"),
    ("/directory-b/images/a.jpg", {("permit", "data-mining")}, None),
    ("/directory-b/images/a.png", set(), "tdmrep-no-match"),
    ("/Directory-a/x", set(), "tdmrep-no-match"),
])
def test_tdmrep_json_first_match(path: str, expected: set[tuple[str, str]], code: str | None) -> None:
    result = run("tdmrep", SPEC_FILE, url="https://provider.com" + path)
    assert simple(result) == expected
    if code:
        assert code in codes(result)


def test_tdmrep_json_first_rule_wins_even_if_less_specific() -> None:
    text = json.dumps([{"location": "/", "tdm-reservation": 1}, {"location": "/open/", "tdm-reservation": 0}])
    assert simple(run("tdmrep", text, url="https://e.com/open/a.jpg")) == {("prohibit", "data-mining")}
    assert simple(run("tdmrep", text, url=None)) == {("prohibit", "data-mining")}


@pytest.mark.parametrize(("text", "code"), [
    ('{"location": "/"}', "tdmrep-json-invalid"),
    ("[1, 2]", "tdmrep-json-invalid"),
    ('[{"location": "/", "tdm-reservation": "0"}]', "tdmrep-protocol-error"),
    ('[{"location": "/", "tdm-reservation": true}]', "tdmrep-protocol-error"),
    ("[{", "tdmrep-json-invalid"),
    ("[" * 100 + "]" * 100, "limit-json-depth"),
])
def test_tdmrep_json_invalid(text: str, code: str) -> None:
    result = run("tdmrep", text)
    assert simple(result) == set()
    assert code in codes(result)


def test_tdmrep_json_string_one_is_kept() -> None:
    result = run("tdmrep", '[{"location": "/", "tdm-reservation": "1"}]')
    assert simple(result) == {("prohibit", "data-mining")}
    assert "tdmrep-protocol-error" in codes(result)


def policy(*perms: dict[str, object], **extra: object) -> str:
    doc = {"@context": tdmrep.CONTEXT, "@type": "Offer", "profile": tdmrep.PROFILE,
           "uid": "https://provider.com/policies/1",
           "assigner": {"uid": "https://provider.com", "vcard:fn": "Provider"}, "permission": list(perms), **extra}
    return json.dumps(doc)


@pytest.mark.parametrize(("perm", "expected"), [
    ({"action": "tdm:mine"}, [("permit", "data-mining", (), ("contact-rights-holder",))]),
    ({"action": "tdm:mine", "duty": [{"action": "obtainConsent"}]},
     [("permit", "data-mining", (), ("contact-rights-holder",))]),
    ({"action": "tdm:mine", "duty": [{"action": "compensate"}]}, [("permit", "data-mining", (), ("compensate",))]),
    ({"action": "http://www.w3.org/ns/tdmrep#mine", "duty": [{"action": "odrl:compensate"}],
      "constraint": [{"leftOperand": "purpose", "operator": "eq", "rightOperand": "tdm:research"}]},
     [("permit", "data-mining", ("research",), ("compensate",))]),
    ({"action": "tdm:mine", "constraint": [{"leftOperand": "purpose", "operator": "eq",
                                            "rightOperand": "tdm:non-research"}]},
     [("permit", "data-mining", ("commercial",), ("contact-rights-holder",))]),
    ({"action": "tdm:mine", "constraint": [{"leftOperand": "spatial", "operator": "isPartOf",
                                            "rightOperand": ["urn:iso:3166:FRA"]}]}, []),
    ({"action": "tdm:mine", "duty": [{"action": "attribute"}]}, []),
    ({"action": "use"}, []),
])
def test_tdm_policy(perm: dict[str, object], expected: list[tuple[str, str, tuple[str, ...], tuple[str, ...]]]) -> None:
    result = run("tdmrep", policy(perm))
    assert rules(result) == expected
    if expected:
        (d,) = result.record["declarations"]
        assert d["declaredBy"] == {"role": "rights-holder", "id": "https://provider.com", "name": "Provider"}
        assert d["source"]["location"] == "TDM policy https://provider.com/policies/1"
    else:
        assert codes(result) & {"tdmrep-unsupported-constraint", "tdmrep-policy-invalid"}


@pytest.mark.parametrize("doc", [
    {"@type": "Set", "profile": tdmrep.PROFILE, "uid": "u", "permission": [{"action": "tdm:mine"}]},
    {"@type": "Offer", "profile": "http://other", "uid": "u", "permission": [{"action": "tdm:mine"}],
     "@context": tdmrep.CONTEXT},
    {"@type": "Offer", "profile": tdmrep.PROFILE, "permission": [{"action": "tdm:mine"}]},
    {"@type": "Offer", "profile": tdmrep.PROFILE, "uid": "u"},
])
def test_invalid_policies_grant_nothing(doc: dict[str, object]) -> None:
    result = run("tdmrep", json.dumps(doc))
    assert not tdmrep_permits(result.record)


def tdmrep_permits(record: dict[str, object]) -> bool:
    return any(r["effect"] == "permit" for d in record.get("declarations", []) for r in d["rules"])  # type: ignore[attr-defined]


def test_layered_override(tmp_path: object) -> None:
    from pathlib import Path

    folder = Path(str(tmp_path))
    (folder / "tdmrep.json").write_text('[{"location": "/", "tdm-reservation": 1}]')
    (folder / "headers.txt").write_text("tdm-reservation: 0\n")
    (folder / "page.html").write_text('<meta name="robots" content="index">')
    result = registry.import_sources([str(folder / n) for n in ("tdmrep.json", "headers.txt", "page.html")],
                                     url="https://e.com/a.jpg")
    assert simple(result.record) == {("permit", "data-mining")}
    assert "tdmrep-superseded" in codes(result)
    # the HTML layer states nothing about TDM, so it resets nothing
    assert decide(result.record, "data-mining") == "allowed"


def test_policy_refines_reservation(tmp_path: object) -> None:
    from pathlib import Path

    folder = Path(str(tmp_path))
    (folder / "headers.txt").write_text("tdm-reservation: 1\ntdm-policy: https://provider.com/policies/1\n")
    (folder / "policy.json").write_text(policy({"action": "tdm:mine", "duty": [{"action": "compensate"}]}))
    (folder / "research.json").write_text(policy({"action": "tdm:mine", "constraint": [
        {"leftOperand": "purpose", "operator": "eq", "rightOperand": "tdm:research"}]}))
    both = registry.import_sources([str(folder / "headers.txt"), str(folder / "policy.json")],
                                   url="https://provider.com/a.jpg")
    assert rules(both.record) == [("permit", "data-mining", (), ("compensate",))]
    assert decide(both.record, "ai-training") == "constrained"
    research = registry.import_sources([str(folder / "headers.txt"), str(folder / "research.json")],
                                       url="https://provider.com/a.jpg")
    assert rules(research.record) == [("permit", "data-mining", ("research",), ("contact-rights-holder",)),
                                      ("prohibit", "data-mining", (), ())]
    assert decide(research.record, "data-mining") == "notAllowed"
    assert decide(research.record, "data-mining", purpose="research") == "constrained"
    zero = registry.combine([("h", run("http-headers", "tdm-reservation: 0\n").record),
                             ("p", run("tdmrep", policy({"action": "tdm:mine"})).record)])
    assert simple(zero[0]) == {("permit", "data-mining")}
    assert "tdmrep-policy-ignored" in {i.code for i in zero[1]}
