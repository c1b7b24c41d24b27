"""aiterms.limits: the documented limits and their checks (spec/security.md#limits)."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path
from typing import Any
from xml.etree.ElementTree import ParseError

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from aiterms import limits
from aiterms.report import Severity

ROOT = Path(__file__).resolve().parents[1]
SPEC = ROOT / "spec" / "security.md"


# --- the spec and the module agree ---------------------------------------------------------------------------------
def _spec_codes() -> dict[str, str]:
    text = SPEC.read_text("utf-8")
    table = text.split("<!-- codes -->", 1)[1].split("<!-- /codes -->", 1)[0]
    return {m.group(1): m.group(2) for m in re.finditer(r"^\| `([a-z0-9-]+)` \| (\w+) \|", table, re.M)}


def test_every_code_is_in_the_spec_table_with_its_severity() -> None:
    spec = _spec_codes()
    assert {c: str(s) for c, s in limits.SEVERITIES.items()} == spec


def test_codes_are_registered_when_generated() -> None:
    from aiterms import codes

    table = codes.table()
    if not any(c.startswith("limit-") for c in table):
        pytest.skip("codes.json not regenerated yet (python -m aiterms._build)")
    for code, severity in limits.SEVERITIES.items():
        assert code in table, code
        assert table[code]["severity"] == str(severity)
        assert table[code]["section"] == "security"


def _limits_table() -> dict[str, str]:
    text = SPEC.read_text("utf-8")
    rows = {}
    for line in text.split('<a id="limits-table"></a>', 1)[1].split("\n\n", 2)[1].splitlines():
        cells = [c.strip() for c in line.strip("|").split("|")]
        if len(cells) >= 4 and cells[0] not in ("limit", "---"):
            rows[cells[0]] = cells[1]
    return rows


@pytest.mark.parametrize(("row", "value"), [
    ("input size", f"{limits.MAX_INPUT_BYTES // limits.MiB} MiB"),
    ("document size", f"{limits.MAX_DOCUMENT_BYTES // limits.MiB} MiB"),
    ("line length", f"{limits.MAX_LINE_BYTES // limits.MiB} MiB"),
    ("JSON nesting", str(limits.MAX_NESTING_DEPTH)),
    ("other nesting", str(limits.MAX_NESTING_DEPTH)),
    ("declarations", f"{limits.MAX_DECLARATIONS:,}"),
    ("rules", f"{limits.MAX_RULES:,}"),
    ("tags", f"{limits.MAX_TAGS:,}"),
    ("string length", f"{limits.MAX_STRING_LENGTH:,} characters"),
    ("XMP packet", f"{limits.MAX_XMP_BYTES // limits.MiB} MiB"),
    ("C2PA manifests", str(limits.MAX_C2PA_MANIFESTS)),
    ("robots.txt", f"{limits.MAX_ROBOTS_BYTES // limits.KiB} KiB"),
    ("header section",
     f"{limits.MAX_HEADER_LINES:,} lines of at most {limits.MAX_HEADER_LINE_BYTES // limits.KiB} KiB"),
    ("image container", f"{limits.MAX_CONTAINER_ITEMS:,} items, boxes nested {limits.MAX_CONTAINER_DEPTH} deep"),
    ("issues", f"{limits.MAX_ISSUES:,}"),
])
def test_spec_table_matches_constants(row: str, value: str) -> None:
    assert _limits_table()[row] == value


def test_robots_limit_is_rfc9309() -> None:
    assert limits.MAX_ROBOTS_BYTES == 500 * 1024


def test_io_default_is_the_input_limit() -> None:
    from aiterms import _io

    assert limits.MAX_INPUT_BYTES == _io.DEFAULT_MAX_INPUT


# --- JSON depth without parsing -------------------------------------------------------------------------------------
def _depth(value: Any) -> int:
    if isinstance(value, list):
        return 1 + max((_depth(v) for v in value), default=0)
    if isinstance(value, dict):
        return 1 + max((_depth(v) for v in value.values()), default=0)
    return 0


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(alphabet=st.characters(), max_size=8),
    lambda c: st.lists(c, max_size=3) | st.dictionaries(st.text(max_size=5), c, max_size=3), max_leaves=40)


@settings(max_examples=200, deadline=None)
@given(json_values, st.booleans())
def test_json_depth_equals_parsed_depth(value: Any, as_bytes: bool) -> None:
    text = json.dumps(value, ensure_ascii=False)
    data: str | bytes = text.encode("utf-8", "surrogatepass") if as_bytes else text
    assert limits.json_depth(data) == _depth(value)
    issue = limits.check_json_depth(data, limit=2)
    assert (issue is not None) == (_depth(value) > 2)


@pytest.mark.parametrize(("text", "depth"), [
    ("", 0), ("1", 0), ("[]", 1), ('{"a": [1, {"b": []}]}', 4), ('["[[[[", "]]]"]', 1), ('["\\"[[[", []]', 2),
    ('"unterminated [[[[', 0), ("]]]][[", 2), ('["\\\\", [[]]]', 3),
])
def test_json_depth_examples(text: str, depth: int) -> None:
    assert limits.json_depth(text) == depth
    assert limits.json_depth(text.encode()) == depth


def test_check_json_depth_reports_position() -> None:
    text = '{"a":\n  ' + "[" * 70 + "]" * 70 + "}"
    issue = limits.check_json_depth(text)
    assert issue is not None
    assert issue.code == "limit-json-depth"
    assert issue.severity is Severity.ERROR
    assert issue.line == 2
    assert issue.column == 3 + 63
    assert limits.check_json_depth("[" * 64 + "]" * 64) is None
    assert limits.check_json_depth("[" * 65, line=7) is not None
    assert limits.check_json_depth("[" * 65, line=7).line == 7  # type: ignore[union-attr]


def test_turtle_depth() -> None:
    assert limits.turtle_depth('<a:a> <b:b> [ <c:c> ( 1 2 ( 3 ) ) ] .') == 3
    assert limits.turtle_depth('<a:a> <b:b> "[[[" , """(((\n"""  , \'((\' . # [[[[') == 0
    assert limits.turtle_depth("<a:a> <b:b> <http://x/[[[> .") == 0
    deep = "<a:a> <b:b> " + "[ <p:p> " * 100 + "]" * 100 + " ."
    issue = limits.check_turtle_depth(deep)
    assert issue is not None
    assert issue.code == "limit-nesting-depth"
    assert limits.check_turtle_depth(deep.encode()) is not None
    assert limits.check_turtle_depth("<a:a> <b:b> " + "(" * 64 + ")" * 64 + " .") is None


# --- XML -----------------------------------------------------------------------------------------------------------
XMP = b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"/></x:xmpmeta>'


def test_safe_xml_reads_xmp() -> None:
    root = limits.safe_xml(XMP)
    assert root.tag == "{adobe:ns:meta/}xmpmeta"


@pytest.mark.parametrize("doc", [
    b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;">]><a>&lol2;</a>',
    b'<?xml version="1.0"?><!DOCTYPE a [<!ENTITY xxe SYSTEM "file:///etc/passwd">]><a>&xxe;</a>',
    b'<?xml version="1.0"?><!DOCTYPE a SYSTEM "http://example.com/a.dtd"><a/>',
    b"<a><!ENTITY x 'y'></a>",
])
def test_safe_xml_refuses_dtds_and_entities(doc: bytes) -> None:
    with pytest.raises(limits.LimitExceeded) as info:
        limits.safe_xml(doc)
    assert info.value.issue.code == "unsafe-xml"


def test_safe_xml_limits() -> None:
    with pytest.raises(limits.LimitExceeded) as info:
        limits.safe_xml(b"<a>" + b" " * (limits.MAX_XMP_BYTES + 1) + b"</a>")
    assert info.value.issue.code == "limit-xmp-size"
    with pytest.raises(limits.LimitExceeded) as info:
        limits.safe_xml(b"<a>" * 65 + b"</a>" * 65)
    assert info.value.issue.code == "limit-nesting-depth"
    assert limits.safe_xml(b"<a>" * 64 + b"</a>" * 64).tag == "a"
    with pytest.raises(limits.LimitExceeded) as info:
        limits.safe_xml(b"<r>" + b"x" * 100 + b"</r>", max_bytes=50, size_code="limit-input-size", what="RSL")
    assert info.value.issue.code == "limit-input-size"


@pytest.mark.parametrize("doc", [b"", b"<a>", b"<a></b>", b"not xml", b"<a>\xff</a>"])
def test_safe_xml_malformed_is_a_parse_error(doc: bytes) -> None:
    with pytest.raises(ParseError):
        limits.safe_xml(doc)


# --- lines, robots.txt, headers -------------------------------------------------------------------------------------
def test_truncate_robots_cuts_at_a_line() -> None:
    line = b"Disallow: /" + b"x" * 88 + b"\n"
    data = line * (limits.MAX_ROBOTS_BYTES // len(line) + 10)
    head, issue = limits.truncate_robots(data)
    assert issue is not None
    assert issue.code == "limit-robots-size"
    assert issue.severity is Severity.WARNING
    assert len(head) <= limits.MAX_ROBOTS_BYTES
    assert head.endswith(b"\n")
    assert data.startswith(head)
    assert limits.truncate_robots(b"User-agent: *\n") == (b"User-agent: *\n", None)


def test_header_lines() -> None:
    assert limits.check_header_lines(b"A: b\r\n" * 1000) == []
    (issue,) = limits.check_header_lines(b"A: b\r\n" * 1001)
    assert issue.code == "limit-header-size"
    assert issue.line == 1001
    (issue,) = limits.check_header_lines(b"A: b\nB: " + b"x" * 9000 + b"\n")
    assert issue.code == "limit-header-size"
    assert issue.line == 2


def test_iter_lines_bounded() -> None:
    data = b"short\n" + b"y" * 100 + b"\nlast"
    got = list(limits.iter_lines(io.BytesIO(data), max_line_bytes=10))
    assert got == [(1, b"short\n"), (2, None), (3, b"last")]
    assert list(limits.iter_lines(io.BytesIO(b"x" * 10 + b"\n"), max_line_bytes=10)) == [(1, b"x" * 10 + b"\n")]
    issue = limits.line_length_issue(2)
    assert issue.code == "limit-line-length"
    assert issue.line == 2


def test_check_size() -> None:
    assert limits.check_size(10, 10) is None
    issue = limits.check_size(11, 10, what="tdmrep.json")
    assert issue is not None
    assert issue.code == "limit-input-size"
    assert "tdmrep.json" in issue.message


# --- records -------------------------------------------------------------------------------------------------------
def test_record_counts() -> None:
    rules = [{"effect": "prohibit", "use": "ai-training"}]
    record = {"declarations": [{"declaredBy": {"role": "rights-holder"}, "rules": rules * 1001,
                                "consent": [{"use": "biometric", "status": "refused"}] * 1001}] * 2,
              "tags": ["x"] * 1001}
    found = {(i.code, i.path) for i in limits.check_record_limits(record)}
    assert ("limit-tags", "/tags") in found
    assert ("limit-rules", "/declarations/0/rules") in found
    assert ("limit-rules", "/declarations/1/consent") in found
    record = {"declarations": [{}] * 1001}
    assert [(i.code, i.path) for i in limits.check_record_limits(record)] == [("limit-declarations", "/declarations")]
    assert limits.check_record_limits({"declarations": [{"rules": rules * 1000}], "tags": ["x"] * 1000}) == []


def test_record_strings_keys_depth() -> None:
    long = "x" * (limits.MAX_STRING_LENGTH + 1)
    found = [(i.code, i.path) for i in limits.check_record_limits({"tags": ["ok", long], long: 1, "a/b": [long]})]
    assert ("limit-string-length", "/tags/1") in found
    assert ("limit-string-length", "") in found  # the key
    assert ("limit-string-length", "/a~1b/0") in found
    deep: Any = "leaf"
    for _ in range(200):
        deep = [deep]
    codes = [i.code for i in limits.check_record_limits({"x": deep})]
    assert codes == ["limit-json-depth"]
    many = {"tags": [long] * 5000}
    capped = limits.check_record_limits(many)
    assert len(capped) == limits.MAX_ISSUES + 1
    assert capped[-1].code == "limit-issues"


def test_cap_issues_keeps_errors_first() -> None:
    warn = limits.limit_issue("limit-robots-size", "w")
    err = limits.limit_issue("limit-tags", "e")
    capped = limits.cap_issues([warn] * 5 + [err], limit=3)
    assert [i.code for i in capped] == ["limit-tags", "limit-robots-size", "limit-robots-size", "limit-issues"]
    assert limits.cap_issues([warn], limit=3) == [warn]


# --- quoting untrusted text ----------------------------------------------------------------------------------------
def test_bounded_escapes_and_shortens() -> None:
    assert limits.bounded("no_cv") == "no_cv"
    shown = limits.bounded("\x1b[31mred\u202etxt" + "x" * 200, 20)
    assert "\x1b" not in shown
    assert "\u202e" not in shown
    assert "\\u001b" in shown
    assert "\\u202e" in shown
    assert shown.endswith("(192 more characters)")
    assert limits.bounded(b"\xff\xfeab") == "\ufffd\ufffdab"


@pytest.mark.parametrize(("data", "code"), [
    (b'{"a": ' + b"9" * 5000 + b"}", "tdmrep-json-invalid"),
    (b'{"a": NaN}', "tdmrep-json-invalid"),
    (b'{"a": Infinity}', "tdmrep-json-invalid"),
    (b'{"a": "\xff"}', "tdmrep-json-invalid"),
    (b'{"a": ', "tdmrep-json-invalid"),
    (b"[" * 5000 + b"]" * 5000, "limit-json-depth"),
])
def test_parse_json_never_raises(data: bytes, code: str) -> None:
    value, issue = limits.parse_json(data, code="tdmrep-json-invalid", what="tdmrep.json", severity=Severity.WARNING)
    assert value is None
    assert issue is not None
    assert issue.code == code


def test_parse_json_reads_json() -> None:
    assert limits.parse_json(b'\xef\xbb\xbf{"a": [1, 2.5, "x"]}', code="x", severity=Severity.ERROR) == (
        {"a": [1, 2.5, "x"]}, None)
    assert limits.parse_json('{"a": 1}', code="x", severity=Severity.ERROR) == ({"a": 1}, None)
    _value, issue = limits.parse_json(b"1", code="x", severity=Severity.ERROR, max_bytes=0)
    assert issue is not None
    assert issue.code == "limit-input-size"
