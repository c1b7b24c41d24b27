"""Runner for the web-signal interop conformance cases (spec/conformance/interop/1NN-*.json, spec/interop.md),
plus consistency of this area's code table with the codes the modules emit.

Case format (class ``importer``): ``input`` (text) with optional ``kind`` (else detected from ``name``), or
``inputs`` (several sources, each ``{kind, name, input}``), ``url``, ``userAgent``, ``patch`` (with ``input``: a
list of ``{at, insertHex, times}`` byte insertions into the UTF-8 input, for inputs over a size limit);
``expect.rules`` (every rule of the record, as a multiset), ``expect.declarations`` (fragments each matching a
distinct declaration),
``expect.issues`` (codes that must be reported) and ``expect.decisions`` (``query``, ``outcome``, optional
``obligations`` as a set). Class ``exporter``: ``record`` and ``target``; ``expect.output`` (exact text),
``expect.issues`` and ``expect.roundTrip`` (``kind``, ``url``, ``uses``: importing the output gives the record's
decision for each use, a ``constrained`` one written as ``notAllowed`` by targets without conditions).
"""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from _web_helpers import full
from aiterms.interop import registry

ROOT = Path(__file__).resolve().parents[1]
CASES = sorted(p for p in (ROOT / "spec" / "conformance" / "interop").glob("1[0-9][0-9]-*.json"))


def rule_key(r: dict[str, Any]) -> tuple[Any, ...]:
    return (r["effect"], r["use"], tuple(sorted(r.get("purpose") or ())), tuple(sorted(r.get("duties") or ())))


def matches(fragment: Any, actual: Any) -> bool:
    if isinstance(fragment, dict):
        return isinstance(actual, dict) and all(k in actual and matches(v, actual[k]) for k, v in fragment.items())
    return bool(fragment == actual)


def run_import(case: dict[str, Any], tmp: Path) -> tuple[dict[str, Any], set[str]]:
    url, ua = case.get("url"), case.get("userAgent")
    if "inputs" in case:
        parts, found = [], set()
        for i, src in enumerate(case["inputs"]):
            one = registry.import_one(src["input"].encode(), source_name=src.get("name", f"input{i}"),
                                      kind=src.get("kind"), url=url, user_agent=ua)
            found |= {x.code for x in one.issues}
            parts.append((src.get("name", f"input{i}"), one.record))
        record, more = registry.combine(parts, url=url)
        return record, found | {x.code for x in more}
    data = case["input"].encode()
    for p in case.get("patch", ()):  # {at, insertHex, times}: builds a large input from a small case file
        data = data[:p["at"]] + bytes.fromhex(p["insertHex"]) * p.get("times", 1) + data[p["at"]:]
    path = tmp / case.get("name", "input")
    path.write_bytes(data)
    result = registry.import_sources([str(path)], kind=case.get("kind"), url=url, user_agent=ua)
    return result.record, {x.code for x in result.issues}


def decide(record: dict[str, Any], query: dict[str, Any]) -> Any:
    from aiterms.model import Query
    from aiterms.resolution import resolve

    return resolve(full(record), Query.from_json(query))


@pytest.mark.parametrize("path", CASES, ids=[p.stem for p in CASES])
def test_case(path: Path, tmp_path: Path) -> None:
    case = json.loads(path.read_text("utf-8"))
    assert case["id"].startswith(f"interop-{path.stem.split('-', 1)[0]}-")
    if case.get("status") == "withdrawn":
        pytest.skip(case.get("reason", "withdrawn"))
    expect = case["expect"]
    if case["class"] == "importer":
        record, found = run_import(case, tmp_path)
        if "rules" in expect:
            actual = Counter(rule_key(r) for d in record.get("declarations", []) for r in d["rules"])
            assert actual == Counter(rule_key(r) for r in expect["rules"])
        for fragment in expect.get("declarations", []):
            assert any(matches(fragment, d) for d in record.get("declarations", [])), fragment
        assert matches(expect.get("record", {}), record), record
    else:
        module = registry.exporter_for(case["target"])
        assert module is not None
        out = module.export(case["record"])
        found = {x.code for x in out.issues}
        if "output" in expect:
            assert out.data.decode("utf-8") == expect["output"]
        trip = expect.get("roundTrip")
        if trip:
            back = registry.import_one(out.data, source_name="exported", kind=trip["kind"], url=trip.get("url"))
            for use in trip["uses"]:
                q = {"use": use, "at": "2026-06-01T00:00:00Z"}
                before = decide(case["record"], q).outcome
                if trip["kind"] in ("content-usage", "robots") and before == "constrained":
                    before = "notAllowed"
                assert decide(back.record, q).outcome == before, use
        record = case["record"]
    assert {i["code"] for i in expect.get("issues", [])} <= found
    for d in expect.get("decisions", []):
        decision = decide(record, d["query"])
        assert decision.outcome == d["outcome"], d
        if "obligations" in d:
            assert set(decision.obligations) == set(d["obligations"]), d


def test_cases_cite_every_requirement_of_this_area() -> None:
    spec = (ROOT / "spec" / "interop.md").read_text("utf-8")
    anchors = set(re.findall(r'<a id="(req-[a-z0-9-]+)"></a>', spec))
    cited = {s.split("#", 1)[-1] for p in CASES for s in json.loads(p.read_text("utf-8"))["spec"]
             if s.startswith(("interop#", "req-"))}
    assert anchors - cited == set()
    assert cited - anchors == set()


MODULES = ("_web", "aipref", "robots", "contentsignal", "noai", "tdmrep", "httpheaders", "html", "aitxt", "registry")


def test_emitted_codes_are_registered_with_their_severity() -> None:
    """Every code the web-signal modules emit is in spec/interop.md's table with the severity they use."""
    from aiterms.codes import table

    registered = table()
    source = "\n".join((ROOT / "reference" / "aiterms" / "interop" / f"{m}.py").read_text("utf-8") for m in MODULES)
    emitted = set(re.findall(r'issue\(\s*"([a-z0-9-]+)",\s*_?w?e?b?\.?(INFO|WARNING|ERROR)', source))
    assert emitted, "no codes found: the pattern is stale"
    for code, severity in emitted:
        assert code in registered, code
        assert registered[code]["severity"] == severity.lower(), code
        assert registered[code]["section"] == "interop", code
    spec_codes = {c for c, e in registered.items() if e["section"] == "interop"}
    literals = set(re.findall(r'"([a-z]+(?:-[a-z0-9]+)+)"', source))
    assert spec_codes - literals == set()  # no dead rows in the table
