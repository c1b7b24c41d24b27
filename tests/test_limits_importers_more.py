"""More limits in the importers (spec/security.md#limits-table, #req-limits, #req-limit-depth, #req-robots-size,
#req-limit-fail-closed, #req-linear-time).

- RSL is a document: 16 MiB and ``limit-input-size`` (not a 4 MiB cap of its own), elements nested at most 64 deep
  (``limit-nesting-depth``; deeper trees used to overflow the recursive serializer), no DTD at all, and linear time
  however many ``<content>`` elements match.
- ai.txt has the robots.txt limit (500 KiB, ``limit-robots-size``), which the spec table now states.
- JSON nested deeper than 64 is refused with ``limit-json-depth`` before it is parsed by the ODRL, Flickr and C2PA
  importers (manifest JSON and the C2PA reader's dump), and Turtle by the ODRL importer (``limit-nesting-depth``).
- A Flickr CSV/TSV row is skipped on its own (``limit-line-length`` over 16 MiB, ``flickr-unreadable`` when the csv
  module refuses it); fields over the csv module's 128 KiB default are read; the other rows are read as before,
  and the csv module's process-wide field limit is left as it was.

Each refusal test starts from a seed that permits a use, so it fails if the guard is missing.
"""

from __future__ import annotations

import csv
import gc
import json
import re
import sys
import time
import types
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

import pytest

from aiterms import limits
from aiterms.interop import aitxt, c2pa, flickr, odrl, registry, rsl
from aiterms.interop.base import ImportResult
from aiterms.model import Query
from aiterms.resolution import resolve

ROOT = Path(__file__).resolve().parents[1]
SECURITY = ROOT / "spec" / "security.md"
DOC = limits.MAX_DOCUMENT_BYTES
LINE = limits.MAX_LINE_BYTES
DEPTH = limits.MAX_NESTING_DEPTH
AT = "2026-06-01"
URL = "https://example.com/images/photo.jpg"
CONTEXT = "https://w3id.org/aiterms/context/v1.jsonld"
ASKED = ("data-mining", "ai-use", "ai-training", "genai-training", "non-genai-training", "ai-inference",
         "search-indexing", "computer-vision", "cv-training")


def codes(result: ImportResult) -> list[str]:
    return [i.code for i in result.issues]


def _declarations(record: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    decls = record.get("declarations")
    return [d for d in decls if isinstance(d, Mapping)] if isinstance(decls, list) else []


def permits(record: Mapping[str, Any]) -> list[Any]:
    return [r for d in _declarations(record) for r in d.get("rules") or []
            if isinstance(r, Mapping) and r.get("effect") == "permit"]


def outcomes(record: Mapping[str, Any], uses: Iterable[str] = ASKED) -> dict[str, str]:
    full = {"@context": CONTEXT, "type": "ImageRecord", **record}
    return {u: resolve(full, Query(use=u, at=AT)).outcome for u in uses}


def assert_nothing_allowed(record: Mapping[str, Any]) -> None:
    assert permits(record) == []
    got = outcomes(record)
    assert not {"allowed", "constrained"} & set(got.values()), got


def cpu(fn: Callable[[], object]) -> float:
    gc.collect()
    start = time.process_time()
    fn()
    return time.process_time() - start


def assert_linear(make: Callable[[int], Callable[[], object]], base: int) -> None:
    """16x the input in at most 40x the CPU time (spec/security.md#req-linear-time), as tests/test_linear.py."""
    make(base // 2)()  # warm up lazy imports and caches
    small, big = cpu(make(base)), cpu(make(base * 16))
    assert big < 0.08 or big <= 40 * max(small, 1e-6), f"1x {small:.4f}s, 16x {big:.4f}s"


def _nest(n: int, inner: Any = 0) -> Any:
    for _ in range(n):
        inner = [inner]
    return inner


# --- RSL ----------------------------------------------------------------------------------------------------------
RSL_PERMIT = (b'<rsl xmlns="https://rslstandard.org/rsl"><content url="/"><license>'
              b'<permits type="usage">all</permits></license></content></rsl>')


def rsl_import(data: bytes) -> ImportResult:
    result: ImportResult = rsl.import_bytes(data, source_name="license.xml", url=URL)
    return result


def test_rsl_seed_permits() -> None:
    r = rsl_import(RSL_PERMIT)
    assert permits(r.record)
    assert outcomes(r.record, ["data-mining"]) == {"data-mining": "allowed"}


def test_rsl_over_the_document_limit_is_refused_with_limit_input_size() -> None:
    """req-limits: an RSL file is a document (16 MiB, limit-input-size), not a 4 MiB rsl-unreadable cap."""
    data = RSL_PERMIT + b" " * (DOC + 1 - len(RSL_PERMIT))
    r = rsl_import(data)
    assert codes(r) == ["limit-input-size"]
    assert r.issues[0].value == DOC + 1
    assert "license.xml" in r.issues[0].message
    assert r.record == {}
    assert_nothing_allowed(r.record)


@pytest.mark.parametrize("size", [4 * limits.MiB + 1, DOC])
def test_rsl_within_the_document_limit_is_read(size: int) -> None:
    """req-limits: a processor MUST NOT lower a limit below the table's value: 4 MiB + 1 and 16 MiB are read."""
    r = rsl_import(RSL_PERMIT + b"\n" * (size - len(RSL_PERMIT)))
    assert r.record == rsl_import(RSL_PERMIT).record
    assert codes(r) == codes(rsl_import(RSL_PERMIT))


@pytest.mark.parametrize("depth", [DEPTH, 5000])
def test_rsl_nested_too_deep_is_refused(depth: int) -> None:
    """req-limit-depth: elements nested deeper than 64 are refused (limit-nesting-depth), and a very deep tree is
    no RecursionError (the raw <content> is serialized recursively)."""
    doc = (b'<rsl xmlns="https://rslstandard.org/rsl"><content url="/">' + b"<x>" * depth + b"</x>" * depth
           + b'<license><permits type="usage">all</permits></license></content></rsl>')
    r = rsl_import(doc)
    assert codes(r) == ["limit-nesting-depth"]
    assert r.record == {}


def test_rsl_at_the_depth_limit_is_read() -> None:
    """64 levels in all (rsl, content and 62 more) are within the limit."""
    inner = DEPTH - 2
    doc = (b'<rsl xmlns="https://rslstandard.org/rsl"><content url="/">' + b"<x>" * inner + b"</x>" * inner
           + b'<license><permits type="usage">all</permits></license></content></rsl>')
    assert "limit-nesting-depth" not in codes(rsl_import(doc))


@pytest.mark.parametrize("doc", [
    b'<!DOCTYPE rsl><rsl xmlns="https://rslstandard.org/rsl"><content url="/"><license>'
    b'<permits type="usage">all</permits></license></content></rsl>',
    b'<?xml version="1.0"?>\n<!DOCTYPE rsl SYSTEM "rsl.dtd">\n<rsl xmlns="https://rslstandard.org/rsl">'
    b'<content url="/"><license><permits type="usage">all</permits></license></content></rsl>',
])
def test_rsl_with_a_dtd_is_refused(doc: bytes) -> None:
    """req-no-entity-expansion: RSL is parsed without any DTD (even one that declares no entity)."""
    r = rsl_import(doc)
    assert codes(r) == ["unsafe-xml", "rsl-unreadable"]
    assert_nothing_allowed(r.record)


_CONTENT = (b'<content url="/"><license><permits type="usage">all</permits>'
            b'<prohibits type="usage">ai-train</prohibits></license></content>')


def test_rsl_many_matching_content_elements_linear() -> None:
    """req-linear-time: equally specific <content> elements are combined in linear time (the precedence check
    compared every permission with every rule)."""
    def make(n: int) -> Callable[[], object]:
        doc = b'<rsl xmlns="https://rslstandard.org/rsl">' + _CONTENT * n + b"</rsl>"
        return lambda: rsl_import(doc)

    assert_linear(make, 200)
    r = rsl_import(b'<rsl xmlns="https://rslstandard.org/rsl">' + _CONTENT * 50 + b"</rsl>")
    rules = _declarations(r.record)[0]["rules"]
    assert {(x["effect"], x["use"]) for x in rules} == {("permit", "data-mining"), ("prohibit", "ai-training")}
    assert len(rules) == 2


def test_rsl_more_distinct_rules_than_a_declaration_holds_keeps_only_prohibitions() -> None:
    """req-limits / req-limit-fail-closed: over 1,000 distinct rules is limit-rules; no permission is recorded."""
    content = ('<content url="/"><license><permits type="usage">all</permits><permits type="geo">{g}</permits>'
               '<prohibits type="usage">ai-train</prohibits></license></content>')
    geos = [f"{a}{b}-{n}" for n in range(2) for a in "ABCDEFGHIJKLMNOPQRSTUVWXYZ" for b in "ABCDEFGHIJKLMNOPQRSTUVWXYZ"]
    doc = ('<rsl xmlns="https://rslstandard.org/rsl">' + "".join(content.format(g=g) for g in geos)
           + "</rsl>").encode()
    r = rsl_import(doc)
    assert "limit-rules" in codes(r)
    assert next(i for i in r.issues if i.code == "limit-rules").value == len(geos) + 1
    assert permits(r.record) == []
    assert ("prohibit", "ai-training") in {(x["effect"], x["use"]) for x in _declarations(r.record)[0]["rules"]}


# --- ai.txt -------------------------------------------------------------------------------------------------------
def _limits_rows() -> dict[str, list[str]]:
    text = SECURITY.read_text("utf-8").split('<a id="limits-table"></a>', 1)[1].split("\n\n", 2)[1]
    rows = {}
    for line in text.splitlines():
        cells = [c.strip() for c in line.strip("|").split("|")]
        if len(cells) >= 5 and cells[0] not in ("limit", "---"):
            rows[cells[0]] = cells
    return rows


def test_spec_lists_ai_txt_with_robots_txt() -> None:
    """The code applies the robots.txt limit to ai.txt (robots.txt syntax); the spec table says so."""
    rows = _limits_rows()
    assert "ai.txt" in rows["robots.txt"][2]
    assert rows["robots.txt"][3].startswith("`limit-robots-size`")
    assert "ai.txt" not in rows["document size"][2]
    section = SECURITY.read_text("utf-8").split('<a id="req-robots-size"></a>', 1)[1].split("<a id=", 1)[0]
    assert "ai.txt" in section
    table = SECURITY.read_text("utf-8").split("<!-- codes -->", 1)[1]
    assert re.search(r"^\| `limit-robots-size` \| warning \| [^|]*ai\.txt", table, re.M)


def test_ai_txt_over_500_kib_is_cut_and_gives_no_permission() -> None:
    head = b"User-agent: *\nAllow: /\n"
    data = head + b"# padding\n" * ((limits.MAX_ROBOTS_BYTES - len(head)) // 10 + 1) + b"Disallow: /\n"
    assert len(data) > limits.MAX_ROBOTS_BYTES
    small = aitxt.import_bytes(head, source_name="ai.txt", url=URL)
    assert permits(small.record)  # the seed alone permits
    r = aitxt.import_bytes(data, source_name="ai.txt", url=URL)
    assert codes(r)[0] == "limit-robots-size"
    assert str(r.issues[0].severity) == "warning"
    assert "ai.txt" in r.issues[0].message
    assert "robots.txt is" not in r.issues[0].message
    assert_nothing_allowed(r.record)


def test_ai_txt_prohibition_before_the_cut_is_kept() -> None:
    head = b"User-agent: *\nDisallow: /\n"
    data = head + b"# padding\n" * (limits.MAX_ROBOTS_BYTES // 10 + 1)
    r = aitxt.import_bytes(data, source_name="ai.txt", url=URL)
    assert codes(r)[0] == "limit-robots-size"
    assert outcomes(r.record, ["ai-training"]) == {"ai-training": "notAllowed"}


# --- JSON depth ---------------------------------------------------------------------------------------------------
def _odrl(extra: Any = None) -> bytes:
    policy: dict[str, Any] = {"@context": "http://www.w3.org/ns/odrl.jsonld", "@type": "Set",
                              "uid": "http://example.com/p/1", "profile": "https://w3c.github.io/odrl/ai-vocab/",
                              "permission": [{"action": "odrl:ai-training"}]}
    if extra is not None:
        policy["dc:description"] = extra
    return json.dumps(policy).encode()


def _flickr(extra: Any = None) -> bytes:
    photo: dict[str, Any] = {"id": "5020123456", "owner": "12345678@N00", "license": "4", "tags": "family"}
    if extra is not None:
        photo["description"] = extra
    return json.dumps({"photo": photo}).encode()


def _c2pa(extra: Any = None) -> bytes:
    doc: dict[str, Any] = {"assertions": [{"label": "cawg.training-mining", "data": {"entries": {
        "cawg.ai_training": {"use": "allowed"}, "cawg.ai_generative_training": {"use": "allowed"}}}}]}
    if extra is not None:
        doc["claim_generator_info"] = extra
    return json.dumps(doc).encode()


def _offset(seed: Callable[[Any], bytes]) -> int:
    """The depth of the seed at which its extra value sits."""
    return limits.json_depth(seed(_nest(200))) - 200


def _odrl_run(data: bytes) -> ImportResult:
    result: ImportResult = odrl.import_bytes(data, source_name="policy.jsonld")
    return result


def _flickr_run(data: bytes) -> ImportResult:
    (result,) = flickr.import_many(data, source_name="photo.json")
    return result


def _c2pa_run(data: bytes) -> ImportResult:
    result: ImportResult = c2pa.import_manifest_json(data, source_name="manifest.json")
    return result


JSON_CASES = [
    pytest.param(_odrl, _odrl_run, id="odrl"),
    pytest.param(_flickr, _flickr_run, id="flickr-json"),
    pytest.param(_c2pa, _c2pa_run, id="c2pa-manifest-json"),
    pytest.param(_flickr, lambda d: registry.import_one(d, source_name="photo.json", kind="flickr-json"),
                 id="flickr-registry"),
    pytest.param(_c2pa, lambda d: registry.import_one(d, source_name="manifest.json", kind="c2pa"), id="c2pa-registry"),
]


@pytest.mark.parametrize(("seed", "run"), JSON_CASES)
def test_json_within_the_depth_limit_is_read(seed: Callable[[Any], bytes], run: Callable[[bytes], ImportResult]
                                             ) -> None:
    """A document nested exactly 64 deep is read as it would be without the extra nesting."""
    base = run(seed(None))
    data = seed(_nest(DEPTH - _offset(seed)))
    assert limits.json_depth(data) == DEPTH
    r = run(data)
    assert "limit-json-depth" not in codes(r)
    assert permits(r.record) or not permits(base.record)
    assert bool(_declarations(r.record)) == bool(_declarations(base.record))


@pytest.mark.parametrize(("seed", "run"), JSON_CASES)
@pytest.mark.parametrize("depth", [DEPTH + 1, 100_000])
def test_json_nested_too_deep_is_refused(seed: Callable[[Any], bytes], run: Callable[[bytes], ImportResult],
                                         depth: int) -> None:
    """req-limit-depth: 65 levels (and 100,000) are refused with limit-json-depth before parsing; nothing is
    imported, so nothing is allowed."""
    assert permits(run(seed(None)).record) or seed is _flickr  # a Flickr record has no rules, only a license
    n = depth - _offset(seed)
    data = seed(9).replace(b"9}", b"[" * n + b"0" + b"]" * n + b"}")  # json.dumps would recurse too deep
    assert limits.json_depth(data) == depth
    r = run(data)
    assert codes(r) == ["limit-json-depth"]
    assert r.issues[0].line is not None
    assert not _declarations(r.record)
    assert_nothing_allowed(r.record)


def test_flickr_import_many_deep_photos_response() -> None:
    photos = {"stat": "ok", "photos": {"photo": [
        {"id": "1", "owner": "1@N00", "license": "4", "x": _nest(DEPTH)},
        {"id": "2", "owner": "1@N00", "license": "9"}]}}
    results = flickr.import_many(json.dumps(photos).encode(), source_name="photos.json")
    assert [codes(r) for r in results] == [["limit-json-depth"]]
    assert results[0].record == {}


def test_odrl_turtle_nested_too_deep_is_refused() -> None:
    """req-limit-depth: Turtle deeper than 64 is refused (limit-nesting-depth) before rdflib parses it."""
    head = (b"@prefix odrl: <http://www.w3.org/ns/odrl/2/> .\n"
            b"<http://example.com/p/1> a odrl:Set ; odrl:profile <https://w3c.github.io/odrl/ai-vocab/> ;\n"
            b"  odrl:permission [ odrl:action odrl:ai-training ] ;\n  <http://example.com/x> ")
    ok = head + b"(" * DEPTH + b" 1 " + b")" * DEPTH + b" .\n"
    deep = head + b"(" * (DEPTH + 1) + b" 1 " + b")" * (DEPTH + 1) + b" .\n"
    assert limits.turtle_depth(ok) == DEPTH
    read = odrl.import_bytes(ok, source_name="policy.ttl")
    assert "limit-nesting-depth" not in codes(read)
    assert permits(read.record)
    r = odrl.import_bytes(deep, source_name="policy.ttl")
    assert codes(r) == ["limit-nesting-depth"]
    assert r.record == {}


class _FakeReader:
    dump = ""

    def __init__(self, *_args: Any, **_kwargs: Any) -> None:
        pass

    def __enter__(self) -> _FakeReader:
        return self

    def __exit__(self, *_exc: object) -> None:
        return None

    def json(self) -> str:
        return self.dump


def _fake_c2pa(dump: str) -> types.ModuleType:
    mod = types.ModuleType("c2pa")
    error = type("C2paError", (Exception,), {"ManifestNotFound": type("ManifestNotFound", (Exception,), {})})
    reader = type("Reader", (_FakeReader,), {"dump": dump})
    settings = type("Settings", (), {"from_dict": staticmethod(lambda d: d)})
    mod.__dict__.update(Context=lambda **kw: kw, Settings=settings, Reader=reader, C2paError=error)
    return mod


def _store(extra: Any = None) -> str:
    manifest: dict[str, Any] = {"assertions": [{"label": "cawg.training-mining", "data": {"entries": {
        "cawg.ai_training": {"use": "allowed"}, "cawg.ai_generative_training": {"use": "allowed"}}}}]}
    if extra is not None:
        manifest["claim_generator_info"] = extra
    return json.dumps({"active_manifest": "urn:c2pa:1", "manifests": {"urn:c2pa:1": manifest}})


@pytest.mark.parametrize("depth", [DEPTH, DEPTH + 1])
def test_c2pa_reader_dump_depth(monkeypatch: pytest.MonkeyPatch, depth: int) -> None:
    """req-limit-depth: the JSON the C2PA reader returns for a signed asset is checked before json.loads too."""
    jpeg = b"\xff\xd8\xff\xe0" + b"\x00" * 32
    dump = _store(_nest(depth - (limits.json_depth(_store(_nest(200))) - 200)))
    assert limits.json_depth(dump) == depth
    monkeypatch.setitem(sys.modules, "c2pa", _fake_c2pa(_store()))
    assert _declarations(c2pa.import_asset(jpeg, source_name="photo.jpg").record)  # the fake store is read
    monkeypatch.setitem(sys.modules, "c2pa", _fake_c2pa(dump))
    over = depth > DEPTH
    r = c2pa.import_asset(jpeg, source_name="photo.jpg")
    if over:
        assert codes(r) == ["limit-json-depth"]
        assert not _declarations(r.record)
        assert r.record["contentHash"].startswith("sha256:")
        assert_nothing_allowed(r.record)
    else:
        assert "limit-json-depth" not in codes(r)
        assert _declarations(r.record)


# --- Flickr CSV/TSV -----------------------------------------------------------------------------------------------
HEADER = b"id,owner,license,tags\n"


def rows_of(data: bytes, name: str = "photos.csv") -> list[tuple[str | None, list[tuple[str, int | None]]]]:
    return [(r.record.get("id"), [(i.code, i.line) for i in r.issues])
            for r in flickr.import_many(data, source_name=name)]


def photo(n: int) -> str:
    return f"https://www.flickr.com/photos/1@N00/{n}"


def test_csv_field_over_128_kib_is_read() -> None:
    """The csv module refuses fields over 128 KiB by default; a row of a few hundred KiB is well within the
    16 MiB line limit and is read with the others."""
    big = b"x" * (200 * limits.KiB)
    data = HEADER + b"1,1@N00,4,cat\n2,1@N00,4," + big + b"\n3,1@N00,4,dog\n"
    got = flickr.import_many(data, source_name="photos.csv")
    assert [r.record.get("id") for r in got] == [photo(1), photo(2), photo(3)]
    assert got[1].record["tags"] == [big.decode()]
    assert all(not r.issues for r in got)


def test_csv_row_over_the_line_limit_is_skipped_alone() -> None:
    """req-limits: a row over 16 MiB is skipped with limit-line-length at its line; the next rows are read."""
    row = b"2,1@N00,4,"
    data = HEADER + b"1,1@N00,4,cat\n" + row + b"a" * (LINE + 1 - len(row)) + b"\n3,1@N00,4,dog\n"
    assert rows_of(data) == [(photo(1), []), (None, [("limit-line-length", 3)]), (photo(3), [])]


def test_csv_row_of_exactly_the_line_limit_is_read() -> None:
    row = b"2,1@N00,4,"
    data = HEADER + row + b"a" * (LINE - len(row)) + b"\n3,1@N00,4,dog\n"
    assert rows_of(data) == [(photo(2), []), (photo(3), [])]


def test_csv_line_limit_counts_utf8_bytes() -> None:
    """The limit is in bytes: a row of LINE characters, some of them two bytes long, is over it."""
    row = "2,1@N00,4,é".encode()
    data = HEADER + row + b"a" * (LINE - len(row) + 1) + b"\n3,1@N00,4,dog\n"
    assert len(data.split(b"\n")[1].decode()) <= LINE < len(data.split(b"\n")[1])
    assert rows_of(data) == [(None, [("limit-line-length", 2)]), (photo(3), [])]


def test_csv_over_long_quoted_record_is_skipped_to_its_real_end() -> None:
    """A quoted cell with line breaks over 16 MiB: the whole record is skipped, and lines inside the quotes that
    look like rows (here one that would permit) are never read as rows."""
    inside = b"4,1@N00,9,\n" + b"y" * LINE + b'\n5,1@N00,4,""quoted""\n'
    data = HEADER + b"1,1@N00,4,cat\n2,1@N00,4,\"" + inside + b'"\n3,1@N00,4,dog\n'
    assert rows_of(data) == [(photo(1), []), (None, [("limit-line-length", 3)]), (photo(3), [])]


def test_csv_row_the_csv_module_refuses_is_skipped_alone() -> None:
    """A carriage return inside an unquoted cell makes csv raise; that row gives flickr-unreadable, not the file."""
    data = HEADER + b"1,1@N00,4,cat\n2,1@N00,4,a\rb\n3,1@N00,4,dog\n"
    assert rows_of(data) == [(photo(1), []), (None, [("flickr-unreadable", 3)]), (photo(3), [])]


def test_csv_tags_cell_nested_too_deep_skips_its_row() -> None:
    """req-limit-depth: a tags cell that looks like JSON is depth-checked before json.loads; an over-deep one
    gives limit-json-depth for its row, no record (its prohibitions cannot be read), and the other rows are read."""
    deep = b'"' + b"[" * (DEPTH + 1) + b'""no_cv""' + b"]" * (DEPTH + 1) + b'"'
    ok = b'"' + b"[" * DEPTH + b'""no_cv""' + b"]" * DEPTH + b'"'
    data = HEADER + b"1,1@N00,4," + deep + b"\n2,1@N00,4," + ok + b"\n3,1@N00,4,\"[\"\"no_cv\"\"]\"\n"
    got = rows_of(data)
    assert got[0] == (None, [("limit-json-depth", 2)])
    assert [g[0] for g in got[1:]] == [photo(2), photo(3)]
    assert "limit-json-depth" not in {c for _, issues in got[1:] for c, _ in issues}


def test_csv_field_size_limit_is_restored() -> None:
    before = csv.field_size_limit()
    flickr.import_many(HEADER + b"1,1@N00,4," + b"x" * (200 * limits.KiB) + b"\n", source_name="p.csv")
    flickr.import_many(HEADER + b"1,1@N00,4," + b"x" * (LINE + 1) + b"\n", source_name="p.csv")
    assert csv.field_size_limit() == before


def test_csv_ordinary_rows_unchanged() -> None:
    """Quoted cells, CRLF, blank lines, TSV and the Openverse layout read as before (line = the row's last line)."""
    data = (b'id,owner,license,tags\r\n1,1@N00,4,"cat, dog"\r\n\r\n2,1@N00,4,"multi\nline"\r\n'
            b' , , , \r\n3,1@N00,4,plain\r\n')
    got = flickr.import_many(data, source_name="p.csv")
    assert [r.record.get("id") for r in got] == [photo(1), photo(2), photo(3)]
    assert got[0].record["tags"] == ["cat,", "dog"]
    assert got[1].record["tags"] == ["multi", "line"]
    assert [r.record["declarations"][0]["source"]["location"] for r in got] == [
        "p.csv line 2: photo 1 license and tags", "p.csv line 5: photo 2 license and tags",
        "p.csv line 7: photo 3 license and tags"]
    tsv = b"id\towner\tlicense\ttags\n1\t1@N00\t4\ta b a\n"
    (one,) = flickr.import_many(tsv, source_name="p.tsv")
    assert one.record["tags"] == ["a", "b"]


def test_csv_wrong_header_after_a_skipped_row_is_still_unreadable() -> None:
    data = b"a" * (LINE + 1) + b"\nnot,a,header\n1,1@N00,4,cat\n"
    got = rows_of(data)
    assert got == [(None, [("limit-line-length", 1)]), (None, [("flickr-unreadable", 2)])]


def test_many_tags_in_one_row_linear() -> None:
    """req-linear-time: duplicate tags are dropped in linear time (a list search per tag was quadratic)."""
    alphabet = "0123456789abcdefghijklmnopqrstuvwxyz"
    used = [0]

    def make(n: int) -> Callable[[], object]:
        # distinct tags of 3 characters (no near-miss search), new ones for every input (lookups are cached)
        start, used[0] = used[0], used[0] + n
        tags = " ".join(alphabet[i // 1296 % 36] + alphabet[i // 36 % 36] + alphabet[i % 36]
                        for i in range(start, start + n))
        data = HEADER + b"1,1@N00,4," + tags.encode() + b"\n"
        return lambda: flickr.import_many(data, source_name="p.csv")

    assert_linear(make, 1000)  # 500 + 1,000 + 16,000 distinct tags, fewer than 36 ** 3
    (r,) = flickr.import_many(HEADER + b"1,1@N00,4,b a b c a\n", source_name="p.csv")
    assert r.record["tags"] == ["b", "a", "c"]


# --- Flickr CSV/TSV: invalid UTF-8 is a per-row problem (req-flickr-many, req-limit-fail-closed) -------------------
# Row 2 permits data mining for research (tag research_only), so a row that is read when it should not be shows.
BAD_UTF8_ROWS = ([b"1", b"1@N00", b"4", b"no_cv cat"], [b"2", b"1@N00", b"9", b"research_only caf\xe9"],
                 [b"3", b"1@N00", b"10", b"dog"])


def _table(delimiter: bytes, bad: bool) -> bytes:
    lines = [b"id", b"owner", b"license", b"tags"], *BAD_UTF8_ROWS
    data = b"".join(delimiter.join(cells) + b"\n" for cells in lines)
    return data if bad else data.replace(b"\xe9", b"e")


def _research_outcome(record: Mapping[str, Any]) -> str:
    full = {"@context": CONTEXT, "type": "ImageRecord", **record}
    return resolve(full, Query(use="ai-training", at=AT, purpose="research")).outcome


@pytest.mark.parametrize(("delimiter", "name"), [(b",", "photos.csv"), (b"\t", "photos.tsv")])
def test_csv_invalid_utf8_skips_only_its_row(delimiter: bytes, name: str) -> None:
    """One invalid byte (Latin-1 é) in the middle row: that row gives flickr-unreadable at its line and no record;
    the rows before and after it import exactly as from the same file with the byte made valid."""
    clean = flickr.import_many(_table(delimiter, bad=False), source_name=name)
    assert [r.record.get("id") for r in clean] == [photo(1), photo(2), photo(3)]
    assert _research_outcome(clean[1].record) == "allowed"  # the seed: read, the middle row would permit

    got = flickr.import_many(_table(delimiter, bad=True), source_name=name)
    assert rows_of(_table(delimiter, bad=True), name) == [
        (photo(1), []), (None, [("flickr-unreadable", 3)]), (photo(3), [])]
    assert [got[0].record, got[2].record] == [clean[0].record, clean[2].record]
    assert got[0].record["tags"] == ["no_cv", "cat"]
    assert outcomes(got[0].record, ["computer-vision"]) == {"computer-vision": "notAllowed"}
    assert got[2].record["license"] == "https://creativecommons.org/publicdomain/mark/1.0/"
    assert got[1].record == {}
    assert_nothing_allowed(got[1].record)
    assert _research_outcome(got[1].record) != "allowed"
    assert "UTF-8" in got[1].issues[0].message


def test_csv_invalid_utf8_in_a_quoted_multiline_cell_skips_that_record_only() -> None:
    """The csv structure survives the bad byte: a quoted cell over two lines with an invalid byte is one skipped
    record (line = its last line); a line inside the quotes that looks like a permitting row is not read."""
    data = HEADER + b'1,1@N00,4,cat\n2,1@N00,9,"research_only\n\xff4,1@N00,9,research_only"\n3,1@N00,4,dog\n'
    assert rows_of(data) == [(photo(1), []), (None, [("flickr-unreadable", 4)]), (photo(3), [])]


def test_invalid_utf8_in_a_json_response_is_still_unreadable() -> None:
    """A JSON response is one document: invalid UTF-8 anywhere in it gives flickr-unreadable and no record."""
    doc = b'{"photos": {"photo": [{"id": "1", "owner": "1@N00", "license": "4", "tags": "caf\xe9"}]}, "stat": "ok"}'
    (r,) = flickr.import_many(doc, source_name="p.json")
    assert (r.record, codes(r)) == ({}, ["flickr-unreadable"])


def test_csv_invalid_utf8_counts_as_one_byte_for_the_line_limit() -> None:
    """An invalid byte is one byte of the row (not the three of an encoded surrogate): a bad row of exactly 16 MiB
    is flickr-unreadable, not limit-line-length, and the row after it is read."""
    row = b"2,1@N00,4,\xff"
    data = HEADER + row + b"a" * (LINE - len(row)) + b"\n3,1@N00,4,dog\n"
    assert rows_of(data) == [(None, [("flickr-unreadable", 2)]), (photo(3), [])]


def test_csv_with_invalid_utf8_in_many_rows_linear() -> None:
    """req-linear-time: a file whose every other row holds an invalid byte is read in linear time."""
    def make(n: int) -> Callable[[], object]:
        data = HEADER + b"".join(b"%d,1@N00,4,cat%s\n" % (i, b"\xff" if i % 2 else b"") for i in range(n))
        return lambda: flickr.import_many(data, source_name="p.csv")

    assert_linear(make, 500)
    got = flickr.import_many(HEADER + b"1,1@N00,4,a\xff\n2,1@N00,4,b\n", source_name="p.csv")
    assert [(r.record.get("id"), codes(r)) for r in got] == [(None, ["flickr-unreadable"]), (photo(2), [])]
