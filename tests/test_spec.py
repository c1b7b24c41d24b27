"""Spec lints (house style C8): anchors, BCP 14 paragraphs, code tables, links, and the extracted examples."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from aiterms import _build

ROOT = Path(__file__).resolve().parents[1]
SPEC = ROOT / "spec"
FILES = sorted(p for p in SPEC.glob("*.md"))
BCP14 = re.compile(r"\b(MUST|SHALL|SHOULD|REQUIRED|RECOMMENDED)\b")
REQ_PARA = re.compile(r"^\*\*((?:req|alg)-[a-z0-9-]+)\*\* \(([a-z, -]+)\):")
HEADING = re.compile(r"^#{1,6} ")
NON_NORMATIVE = "*This section is non-normative.*"


def _text(path: Path) -> str:
    return path.read_text("utf-8")


def _blocks(text: str) -> list[tuple[int, str]]:
    """(first line, text) of each paragraph outside fenced code."""
    blocks: list[tuple[int, str]] = []
    current: list[str] = []
    start = 0
    fence: str | None = None
    for n, line in enumerate(text.splitlines(), 1):
        stripped = line.strip()
        if fence:
            if stripped.startswith(fence):
                fence = None
            continue
        m = re.match(r"(`{3,}|~{3,})", stripped)
        if m:
            fence = m.group(1)
            continue
        if not stripped:
            if current:
                blocks.append((start, "\n".join(current)))
                current = []
            continue
        if not current:
            start = n
        current.append(line)
    if current:
        blocks.append((start, "\n".join(current)))
    return blocks


def requirements() -> dict[str, tuple[str, str]]:
    """Every requirement of the spec: anchor -> (file stem, class list)."""
    out: dict[str, tuple[str, str]] = {}
    for path in FILES:
        for _, block in _blocks(_text(path)):
            m = REQ_PARA.match(block)
            if m and m.group(1).startswith("req-"):
                out[m.group(1)] = (path.stem, m.group(2))
    return out


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_anchors_are_unique_in_each_file(path: Path) -> None:
    anchors = _build.anchors_of(_text(path))
    dupes = sorted({a for a in anchors if anchors.count(a) > 1})
    assert not dupes, dupes


def test_requirement_anchors_are_unique_across_the_spec() -> None:
    seen: dict[str, str] = {}
    for path in FILES:
        for a in _build.anchors_of(_text(path)):
            if a.startswith("req-"):
                assert seen.setdefault(a, path.name) == path.name, f"{a} in {seen[a]} and {path.name}"


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_every_requirement_paragraph_has_its_anchor(path: Path) -> None:
    """A paragraph **req-x** (class): is directly preceded by <a id="req-x"></a>, and every req anchor has one."""
    blocks = _blocks(_text(path))
    anchor_only = re.compile(r'^(<a id="[^"]+"></a>\s*)+$')
    problems = []
    for i, (line, block) in enumerate(blocks):
        m = REQ_PARA.match(block)
        if m:
            before = []
            j = i - 1
            while j >= 0 and anchor_only.match(blocks[j][1].strip()):
                before.append(blocks[j][1])
                j -= 1
            if f'<a id="{m.group(1)}"></a>' not in "".join(before):
                problems.append(f"line {line}: {m.group(1)} is not preceded by <a id=\"{m.group(1)}\"></a>")
        for a in re.findall(r'<a id="(req-[a-z0-9-]+)"></a>', block):
            k = i + 1
            while k < len(blocks) and anchor_only.match(blocks[k][1].strip()):
                k += 1
            if k >= len(blocks) or not blocks[k][1].startswith(f"**{a}** ("):
                problems.append(f"line {line}: anchor {a} is not followed by a **{a}** (class): paragraph")
    assert not problems, problems


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_bcp14_keywords_appear_only_in_requirements(path: Path) -> None:
    """Every paragraph with MUST/SHALL/SHOULD/REQUIRED/RECOMMENDED in normative text belongs to an anchored
    requirement (or algorithm step): it is one, or follows one with no heading in between."""
    problems = []
    in_req = False
    non_normative_level: int | None = None
    anchored = False  # the previous block was a req-/alg- anchor: the section that follows is a requirement
    for line, block in _blocks(_text(path)):
        if HEADING.match(block):
            level = len(block) - len(block.lstrip("#"))
            in_req = anchored
            if non_normative_level is not None and level <= non_normative_level:
                non_normative_level = None
            continue
        if block.strip().startswith(NON_NORMATIVE) and non_normative_level is None:
            non_normative_level = 6
            continue
        anchored = bool(re.fullmatch(r'(\s*<a id="[^"]+"></a>\s*)+', block)) and bool(
            re.search(r'<a id="(req|alg)-', block))
        if re.search(r'<a id="(req|alg)-', block) or REQ_PARA.match(block):
            in_req = True
        if non_normative_level is not None or block.lstrip().startswith(("|", "<!--", "*Note", "*This")):
            continue
        if "BCP 14" in block or "RFC 2119" in block:
            continue
        if BCP14.search(block) and not in_req:
            problems.append(f"line {line}: {block[:90]!r}")
    assert not problems, problems


def test_code_tables_parse_and_every_anchor_exists() -> None:
    codes = _build.parse_codes(SPEC)  # raises BuildError on a missing anchor, a duplicate or a bad row
    assert codes
    bundled = json.loads((ROOT / "reference" / "aiterms" / "_data" / "codes.json").read_text("utf-8"))
    assert bundled == codes
    generated = _text(SPEC / "codes.md")
    for code in codes:
        assert f"| `{code}` |" in generated


def test_links_between_spec_files_point_to_existing_anchors() -> None:
    anchors = {p.name: set(_build.anchors_of(_text(p))) for p in FILES}
    broken = []
    for path in FILES:
        for target, anchor in re.findall(r"\]\(([a-z-]+\.md)?#([A-Za-z][\w.-]*)\)", _text(path)):
            file = target or path.name
            if file in anchors and anchor not in anchors[file]:
                broken.append(f"{path.name}: {file}#{anchor}")
    assert not broken, broken


def test_spec_version_is_declared() -> None:
    meta = json.loads((ROOT / "reference" / "aiterms" / "_data" / "meta.json").read_text("utf-8"))
    assert re.fullmatch(r"\d+\.\d+", meta["specVersion"])
    assert re.fullmatch(r"\d+\.\d+\.\d+", meta["vocabVersion"])


# --- examples ----------------------------------------------------------------------------------------------------

INDEX: dict[str, Any] = json.loads((SPEC / "examples" / "index.json").read_text("utf-8"))


def test_examples_are_extracted() -> None:
    extracted = {e.slug for e in _build.extract_examples(SPEC)}
    assert extracted == set(INDEX)
    assert {"ex-minimal-record", "ex-record-declarations", "ex-record-unknown-use"} <= extracted


@pytest.mark.parametrize("slug", sorted(s for s, e in INDEX.items() if e["format"] in ("json", "jsonld")
                                        and "fragment" not in e))
def test_json_examples(slug: str, schema_validator: Any) -> None:
    entry = INDEX[slug]
    doc = json.loads((SPEC / "examples" / entry["file"]).read_text("utf-8"))
    if entry.get("expect") is None or not (isinstance(doc, dict) and doc.get("type") == "ImageRecord"):
        return
    errors = [e.message for e in schema_validator("record.schema.json").iter_errors(doc)]
    if entry["expect"] == "valid":
        assert errors == [], errors
    try:
        from aiterms.validation import check
    except ImportError:  # the validator is another module; the schema check above still ran
        return
    report = check(doc)
    assert report.valid == (entry["expect"] == "valid"), [i.to_json() for i in report.issues]
    assert set(entry.get("codes", ())) <= {i.code for i in report.issues}


def _records_in(value: Any) -> Any:
    """Every object with a ``declarations`` array anywhere in a JSON value."""
    stack = [value]
    while stack:
        v = stack.pop()
        if isinstance(v, dict):
            if isinstance(v.get("declarations"), list):
                yield v
            stack.extend(v.values())
        elif isinstance(v, list):
            stack.extend(v)


def _depicted_parties(path: Path) -> list[dict[str, Any]]:
    parties = []
    for record in _records_in(json.loads(path.read_text("utf-8"))):
        for d in record["declarations"]:
            by = d.get("declaredBy") if isinstance(d, dict) else None
            if isinstance(by, dict) and by.get("role") == "depicted-person":
                parties.append(by)
    return parties


def test_example_records_keep_depicted_persons_opaque() -> None:
    """security#req-personal-data: the records the project publishes -- spec examples, bundled examples and
    conformance cases -- never name a depicted person (MUST), and the spec's own examples and validator cases give a
    depicted person no id or an opaque ``urn:uuid:`` one (SHOULD), as do the resolver cases."""
    every = [*sorted((SPEC / "examples").glob("*.json")), *sorted((ROOT / "reference" / "aiterms" / "examples").glob(
        "*.json")), *sorted((SPEC / "conformance").rglob("*.json"))]
    ours = {*(SPEC / "examples").glob("*.json"), *(SPEC / "conformance" / "validate").glob("*.json"),
            *(SPEC / "conformance" / "resolve").glob("*.json")}
    found = 0
    for path in every:
        for party in _depicted_parties(path):
            found += 1
            assert "name" not in party, f"{path.relative_to(ROOT)}: a depicted person is named"
            if path in ours:
                assert str(party.get("id", "urn:uuid:")).startswith("urn:uuid:"), f"{path.relative_to(ROOT)}: {party}"
    assert found >= 5  # the check reads the records it is meant to read
