"""The conformance suite checks itself (house style C10): schema-valid cases, unique ids, existing anchors, and
every requirement of a testable class cited by at least one case."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

import pytest

from aiterms import _build

ROOT = Path(__file__).resolve().parents[1]
SUITE = Path(os.environ.get("AITERMS_CONFORMANCE", ROOT / "spec" / "conformance"))
SPEC = ROOT / "spec"
# Requirements of these classes bind the maintainers' process; the Python tests (test_registry, test_vocab)
# check them, not conformance cases.
UNTESTABLE_CLASSES = {"registry"}
REQ_PARA = re.compile(r"^\*\*(req-[a-z0-9-]+)\*\* \(([a-z, -]+)\):", re.M)


def case_files() -> list[Path]:
    return sorted(p for p in SUITE.rglob("*.json")
                  if p.name != "manifest.json" and not p.name.endswith(".schema.json")
                  and "remotes" not in p.relative_to(SUITE).parts)


CASES: list[tuple[Path, Any]] = [(p, json.loads(p.read_text("utf-8"))) for p in case_files()]


def spec_anchors() -> dict[str, set[str]]:
    return {p.stem: set(_build.anchors_of(p.read_text("utf-8"))) for p in SPEC.glob("*.md")}


def requirements() -> dict[str, tuple[str, set[str]]]:
    out: dict[str, tuple[str, set[str]]] = {}
    for p in sorted(SPEC.glob("*.md")):
        for anchor, classes in REQ_PARA.findall(p.read_text("utf-8")):
            out[anchor] = (p.stem, {c.strip() for c in classes.split(",")})
    return out


def cited() -> set[str]:
    return {ref.split("#")[-1] for _, case in CASES for ref in case.get("spec", ())}


@pytest.mark.parametrize(("path", "case"), CASES, ids=[str(p.relative_to(SUITE)) for p, _ in CASES])
def test_case_matches_the_case_schema(path: Path, case: Any, schema_validator: Any) -> None:
    errors = [f"/{'/'.join(map(str, e.absolute_path))}: {e.message}"
              for e in schema_validator("conformance-case.schema.json").iter_errors(case)]
    assert not errors, errors
    folder = path.relative_to(SUITE).parts[0]
    expected = {"validate": {"validator"}, "resolve": {"resolver"}, "interop": {"importer", "exporter"}}
    assert case["class"] in expected.get(folder, {case["class"]}), f"{case['class']} case in {folder}/"
    assert re.fullmatch(r"\d{3}-[a-z0-9-]+\.json", path.name), "file names are NNN-slug.json"


def test_case_and_test_ids_are_unique() -> None:
    ids: dict[str, str] = {}
    for path, case in CASES:
        for cid in [case.get("id"), *(t.get("id") for t in case.get("tests", ()))]:
            if cid is None:
                continue
            assert ids.setdefault(cid, path.name) == path.name, f"id {cid} in {ids[cid]} and {path.name}"


def test_every_cited_anchor_exists() -> None:
    anchors = spec_anchors()
    every = set().union(*anchors.values())
    missing = []
    for path, case in CASES:
        for ref in case.get("spec", ()):
            file, _, anchor = ref.rpartition("#")
            if (file and anchor not in anchors.get(file, set())) or (not file and anchor not in every):
                missing.append(f"{path.name}: {ref}")
    assert not missing, missing


def test_manifest_lists_every_case() -> None:
    manifest = json.loads((ROOT / "spec" / "conformance" / "manifest.json").read_text("utf-8"))
    listed = {c["path"] for c in manifest["cases"]}
    if SUITE == ROOT / "spec" / "conformance":
        assert listed == {str(p.relative_to(SUITE).as_posix()) for p, _ in CASES}


def uncited_requirements() -> list[str]:
    done = cited()
    return sorted(f"{file}#{anchor}" for anchor, (file, classes) in requirements().items()
                  if anchor not in done and not classes <= UNTESTABLE_CLASSES)


def test_every_requirement_is_cited_by_a_case() -> None:
    """Coverage of the spec, not of lines: each requirement of a testable class has at least one case."""
    missing = uncited_requirements()
    assert not missing, f"{len(missing)} requirements have no conformance case: {missing}"
