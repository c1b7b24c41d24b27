"""RSL import and export (spec/interop-rsl.md). The corpus has no RSL file; the inputs are the official
getting-started template and RSL 1.0-style documents as standards.md section 6 quotes them."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from aiterms.interop import rsl
from test_interop_c2pa import RECORDS, _corruptions, outcome, records, round_trip_check

SPEC = Path(__file__).resolve().parents[1] / "spec" / "interop-rsl.md"
TEMPLATE = b"""<rsl xmlns="https://rslstandard.org/rsl">
  <content url="/">
    <license><prohibits type="usage">train-ai</prohibits></license>
  </content>
</rsl>"""
SITE = b"""<?xml version="1.0"?>
<rsl xmlns="https://rslstandard.org/rsl">
  <content url="/" server="https://rsl.example.com/">
    <license>
      <permits type="usage">search, ai-input</permits>
      <permits type="user">non-commercial education</permits>
      <permits type="geo">US DE</permits>
      <prohibits type="usage">ai-train</prohibits>
      <prohibits type="user">commercial</prohibits>
      <payment type="attribution"/>
    </license>
    <copyright type="organization" contactUrl="https://example.com/rights"/>
  </content>
  <content url="/private/*">
    <license><prohibits type="usage">all</prohibits></license>
  </content>
  <content url="/open/*.jpg$">
    <license><permits type="usage">all</permits></license>
  </content>
</rsl>"""


def imp(data: bytes, url: str | None = None) -> Any:
    return rsl.import_bytes(data, source_name="license.xml", url=url)


def rules_of(result: Any) -> list[dict[str, Any]]:
    return [r for d in result.record.get("declarations", []) for r in d.get("rules", [])]


def pairs(result: Any) -> set[tuple[str, str]]:
    return {(r["effect"], r["use"]) for r in rules_of(result)}


def codes(result: Any) -> set[str]:
    return {i.code for i in result.issues}


def test_codes_are_registered_in_the_spec() -> None:
    table = SPEC.read_text("utf-8").split("<!-- codes -->")[1].split("<!-- /codes -->")[0]
    registered = set(re.findall(r"^\| `([a-z0-9-]+)`", table, re.M))
    emitted = set(re.findall(r'"(rsl-[a-z-]+)"', Path(rsl.__file__).read_text("utf-8")))
    assert emitted <= registered, emitted - registered


def test_usage_map_agrees_with_the_vocabulary() -> None:
    from aiterms.vocab import Vocabulary

    mapped = {m.token: u for u, c in Vocabulary.bundled().uses.items() for m in c.mappings if m.scheme == "rsl"}
    assert {k: v for k, v in rsl.USAGE.items()} == {k: mapped[k] for k in rsl.USAGE}


def test_getting_started_template() -> None:
    r = imp(TEMPLATE)
    assert pairs(r) == {("prohibit", "ai-training")}
    assert "rsl-draft-token" in codes(r)
    source = r.record["declarations"][0]["source"]
    assert source["signal"] == "rsl"
    assert source["version"] == "RSL 1.0"
    assert 'url="/"' in source["location"]
    assert outcome(r.record, "genai-training") == "notAllowed"


def test_site_root() -> None:
    r = imp(SITE, url="https://example.com/photos/a.jpg")
    rules = rules_of(r)
    assert {"effect": "permit", "use": "search-indexing", "purpose": ["education", "non-commercial"],
            "jurisdiction": ["DE", "US"], "duties": ["attribution", "contact-rights-holder"]} in rules
    assert {"effect": "prohibit", "use": "ai-training"} in rules
    assert {"effect": "prohibit", "use": "ai-inference", "purpose": ["commercial"]} in rules
    assert r.record["declarations"][0]["declaredBy"] == {"role": "rights-holder", "id": "https://example.com/rights"}


def test_longest_match_and_anchor() -> None:
    assert pairs(imp(SITE, url="https://example.com/private/a.jpg")) == {("prohibit", "data-mining")}
    assert pairs(imp(SITE, url="https://example.com/open/a.jpg")) == {("permit", "data-mining")}
    assert ("permit", "data-mining") not in pairs(imp(SITE, url="https://example.com/open/a.jpg?x=1"))


def test_no_url_several_contents_only_prohibitions() -> None:
    r = imp(SITE)
    assert all(x["effect"] == "prohibit" for x in rules_of(r))
    assert "rsl-url-required" in codes(r)


def test_full_url_content_needs_the_same_host() -> None:
    doc = b"""<rsl xmlns="https://rslstandard.org/rsl"><content url="https://example.com/*">
      <license><permits type="usage">search</permits></license></content></rsl>"""
    assert pairs(imp(doc, url="https://example.com/a")) == {("permit", "search-indexing")}
    other = imp(doc, url="https://other.example/a")
    assert not rules_of(other)
    assert "rsl-no-match" in codes(other)


@pytest.mark.parametrize("bad", ["http://[", "https://[::1/photos/*", "https://example.com]/x", "http://[::g]/"])
def test_unparsable_content_url_matches_nothing_and_blocks_permissions(bad: str) -> None:
    """req-rsl-unreadable: a <content url> urlsplit refuses is no traceback; it matches nothing and, since it might
    be the element that applies, the file's permissions are not imported."""
    doc = (b'<rsl xmlns="https://rslstandard.org/rsl"><content url="/"><license><permits type="usage">all</permits>'
           b'</license></content><content url="' + bad.encode() + b'"><license><prohibits type="usage">ai-all'
           b"</prohibits></license></content></rsl>")
    r = imp(doc, url="https://example.com/photos/a.jpg")
    assert not rules_of(r)
    issue = next(i for i in r.issues if i.code == "rsl-unreadable-part")
    assert issue.path == "/rsl/content[2]"
    alone = imp(doc.replace(b'<content url="/"><license><permits type="usage">all</permits></license></content>', b""),
                url="https://example.com/photos/a.jpg")
    assert not rules_of(alone)
    assert {"rsl-unreadable-part", "rsl-no-match"} <= codes(alone)


@pytest.mark.parametrize("url", ["http://[", "https://example.com:port/a.jpg", "/photos/a.jpg", "ftp://example.com/a"])
def test_invalid_url_imports_nothing(url: str) -> None:
    """interop.md#req-web-url: the URL given for the image must be an absolute http(s) URL."""
    r = imp(SITE, url=url)
    assert r.record == {}
    assert codes(r) == {"import-invalid-url"}


def test_many_stars_in_a_content_url_are_linear() -> None:
    """A content url with many '*' must not backtrack exponentially (tests/fuzz/regressions/rsl/content-url-many-
    stars.bin: 30 stars took hours with a regex)."""
    import time

    start = time.process_time()
    for stars in (30, 3000):
        doc = (b'<rsl xmlns="https://rslstandard.org/rsl"><content url="https://example.com/ima' + b"*" * stars
               + b'ges/x$"><license><permits type="usage">search</permits></license></content></rsl>')
        assert "rsl-no-match" in codes(imp(doc, url="https://example.com/images/photo.jpg"))
        assert pairs(imp(doc, url="https://example.com/images/x")) == {("permit", "search-indexing")}
    assert time.process_time() - start < 2.0


@settings(max_examples=300, deadline=None)
@given(pattern=st.text("ab/*$", max_size=8), path=st.text("ab/", max_size=10))
def test_pattern_matching_is_rfc9309_prefix_matching(pattern: str, path: str) -> None:
    """The linear matcher agrees with the obvious regex (``*`` = ``.*``, a final ``$`` anchors, a prefix match)."""
    regex = "".join(".*" if ch == "*" else re.escape(ch) for ch in pattern.rstrip("$"))
    expected = re.match(regex + ("$" if pattern.endswith("$") else ""), path) is not None
    assert rsl._pattern_matches(pattern, path) == expected


def test_prohibition_wins() -> None:
    doc = b"""<rsl xmlns="https://rslstandard.org/rsl"><content url="/"><license>
      <permits type="usage">ai-train,search</permits><prohibits type="usage">ai-all</prohibits>
      </license></content></rsl>"""
    r = imp(doc)
    assert pairs(r) == {("permit", "search-indexing"), ("prohibit", "ai-use")}
    assert "rsl-permit-overridden" in codes(r)


@pytest.mark.parametrize("doc", [
    b'<rsl xmlns="https://rslstandard.org/rsl"><content url="/"><license><permits type="usage">all</permits>'
    b'<prohibits type="usage">ai-trian</prohibits></license></content></rsl>',
    b'<rsl xmlns="https://rslstandard.org/rsl"><content url="/"><license><permits type="usage">all</permits>'
    b'<prohibitz type="usage">ai-train</prohibitz></license></content></rsl>',
    b'<rsl xmlns="https://rslstandard.org/rsl"><content url="/"><license><permits type="usage">all</permits>'
    b'<prohibits type="usage2">ai-train</prohibits></license></content></rsl>',
    b'<rsl xmlns="https://rslstandard.org/rsl"><content url="/"><license><permits type="usage">all</permits>'
    b'</license></content><contnet url="/"/></rsl>',
])
def test_unreadable_parts_block_permissions(doc: bytes) -> None:
    r = imp(doc)
    assert not [x for x in rules_of(r) if x["effect"] == "permit"]
    assert codes(r) & {"rsl-unreadable-part"}


def test_unknown_prohibited_user_prohibits_for_everyone() -> None:
    doc = b"""<rsl xmlns="https://rslstandard.org/rsl"><content url="/"><license><permits type="usage">search</permits>
      <prohibits type="user">corporate</prohibits></license></content></rsl>"""
    assert ("prohibit", "search-indexing") in pairs(imp(doc))


@pytest.mark.parametrize("doc", [b"", b"<rsl", b"<html/>", b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY e "x">]><rsl/>',
                                 b"\xff\xfe<\x00r\x00"])
def test_unreadable(doc: bytes) -> None:
    r = imp(doc)
    assert not r.record
    assert codes(r) - {"unsafe-xml"} == {"rsl-unreadable"}
    assert ("unsafe-xml" in codes(r)) == (b"<!DOCTYPE" in doc)


def test_export_and_round_trip() -> None:
    record = {"declarations": [{"declaredBy": {"role": "rights-holder"}, "rules": [
        {"effect": "permit", "use": "search-indexing"},
        {"effect": "permit", "use": "ai-inference", "purpose": ["education"], "jurisdiction": ["DE"],
         "duties": ["attribution"]},
        {"effect": "prohibit", "use": "ai-training"}]}]}
    out = rsl.export(record)
    text = out.data.decode()
    assert '<prohibits type="usage">ai-train</prohibits>' in text
    assert '<permits type="user">education</permits>' in text
    assert '<payment type="attribution"/>' in text
    assert not out.issues
    back = imp(out.data)
    assert sorted(map(repr, rules_of(back))) == sorted(map(repr, record["declarations"][0]["rules"]))


def test_export_inexpressible() -> None:
    record = {"declarations": [{"declaredBy": {"role": "rights-holder"}, "rules": [
        {"effect": "prohibit", "use": "genai-training", "purpose": ["commercial"]},
        {"effect": "permit", "use": "search-indexing", "purpose": ["research"]},
        {"effect": "permit", "use": "ai-indexing", "duties": ["obtain-consent"]}]}]}
    out = rsl.export(record)
    assert '<prohibits type="usage">ai-train</prohibits>' in out.data.decode()
    assert "<permits" not in out.data.decode()
    assert len(out.issues) >= 3
    assert {i.code for i in out.issues} == {"export-not-expressible", "export-broadened"}


SAMPLES = [SITE, TEMPLATE, rsl.export({"declarations": [{"declaredBy": {"role": "rights-holder"}, "rules": [
    {"effect": "permit", "use": "data-mining", "purpose": ["commercial"]},
    {"effect": "prohibit", "use": "ai-training"}]}]}).data]


@settings(max_examples=200, deadline=None)
@given(sample=st.sampled_from(SAMPLES), url=st.sampled_from([None, "https://example.com/a.jpg",
                                                             "https://example.com/private/b"]), data=st.data())
def test_corrupted_files_never_permit_more(sample: bytes, url: str | None, data: Any) -> None:
    stated = {rsl.USAGE.get(t, t) for t in re.findall(rb"<permits type=\"usage\">([^<]*)<", sample)
              for t in re.split(r"[\s,]+", t.decode()) if t}
    r = imp(data.draw(_corruptions(sample)), url=url)
    for rule in rules_of(r):
        if rule["effect"] == "permit":
            assert rule["use"] in stated, rule


@settings(max_examples=40, deadline=None)
@given(record=st.one_of(RECORDS, records(sorted(rsl.EXPORT_USAGE), purposes=("commercial", "education",
                                                                              "non-commercial"),
                                         duties=("attribution", "compensate"), conditional_prohibitions=False)))
def test_export_import_round_trip(record: dict[str, Any]) -> None:
    round_trip_check(record, rsl.export, imp, set(rsl.EXPORT_USAGE))
