"""The conformance suite checks itself (house style C10): schema-valid cases, unique ids, existing anchors, every
requirement of a testable class cited by at least one case, and every error and warning code shown by at least one
case.

What no case can show is listed, with the reason and the Python test that covers it, in
tests/requirements-without-cases.json and tests/codes-without-cases.json; both lists are checked to stay current.
"""

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
UNTESTABLE_CLASSES = {"registry", "dataset processor"}  # dataset.md: manifests/stores/reports; tests/test_dataset_*.py
UNTESTABLE_SECTIONS = {"dataset"}  # its codes are about files and databases, covered by tests/test_dataset_*.py
REQ_PARA = re.compile(r"^\*\*(req-[a-z0-9-]+)\*\* \(([a-z, -]+)\):", re.M)
TEST_REF = re.compile(r"(tests/[\w/]+\.py)::(test_\w+)")
ALLOWED_REQUIREMENTS: dict[str, str] = json.loads(
    (ROOT / "tests" / "requirements-without-cases.json").read_text("utf-8"))["requirements"]
ALLOWED_CODES: dict[str, str] = json.loads(
    (ROOT / "tests" / "codes-without-cases.json").read_text("utf-8"))["codes"]


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
                  if anchor not in done and not classes <= UNTESTABLE_CLASSES
                  and f"{file}#{anchor}" not in ALLOWED_REQUIREMENTS)


def _by_area(refs: list[str]) -> str:
    """``file#x`` references grouped by spec file (each file is one area and has one owner)."""
    areas: dict[str, list[str]] = {}
    for ref in refs:
        file, _, rest = ref.partition("#")
        areas.setdefault(file, []).append(rest)
    return "; ".join(f"{file}.md: {', '.join(items)}" for file, items in sorted(areas.items()))


def test_every_requirement_is_cited_by_a_case() -> None:
    """Coverage of the spec, not of lines: each requirement of a testable class has at least one case."""
    missing = uncited_requirements()
    assert not missing, f"{len(missing)} requirements have no conformance case: {_by_area(missing)}"


def expected_codes(case: Any) -> set[str]:
    """Every code a case expects: the ``code`` of each object anywhere under an ``expect`` (validator issues,
    resolver warnings, importer and exporter issues), except under ``absentIssues`` (codes that must not appear)."""
    found: set[str] = set()
    stack: list[tuple[Any, bool]] = [(case, False)]
    while stack:
        value, inside = stack.pop()
        if isinstance(value, dict):
            if inside and isinstance(value.get("code"), str):
                found.add(value["code"])
            stack.extend((v, inside or k == "expect") for k, v in value.items() if k != "absentIssues")
        elif isinstance(value, list):
            stack.extend((v, inside) for v in value)
    return found


def registered_codes() -> dict[str, dict[str, str]]:
    codes: dict[str, dict[str, str]] = json.loads(
        (ROOT / "reference" / "aiterms" / "_data" / "codes.json").read_text("utf-8"))
    return codes


def uncovered_codes() -> list[str]:
    """Error and warning codes that no case expects and that are not allowed to go without one (``section#code``)."""
    shown = set().union(*(expected_codes(case) for _, case in CASES))
    return sorted(f"{c['section']}#{code}" for code, c in registered_codes().items()
                  if c["severity"] in ("error", "warning") and code not in shown and code not in ALLOWED_CODES
                  and c["section"] not in UNTESTABLE_SECTIONS)


def test_every_error_and_warning_code_has_a_negative_case() -> None:
    """Each registered error and warning code is shown by at least one validate, resolve or interop case."""
    missing = uncovered_codes()
    assert not missing, f"{len(missing)} codes are shown by no conformance case: {_by_area(missing)}"


def _test_exists(reason: str) -> bool:
    """The reason names ``tests/<file>.py::test_<name>`` and that test function exists."""
    m = TEST_REF.search(reason)
    if not m:
        return False
    path = ROOT / m.group(1)
    return path.is_file() and re.search(rf"^def {m.group(2)}\(", path.read_text("utf-8"), re.M) is not None


def test_allow_lists_are_small_and_current() -> None:
    """An allowed gap names the Python test that covers it, and leaves the list once a case covers it."""
    if SUITE != ROOT / "spec" / "conformance":
        pytest.skip("another suite: the allow-lists describe this repository's suite")
    problems = []
    codes, shown, reqs, done = registered_codes(), set().union(*(expected_codes(c) for _, c in CASES)), \
        requirements(), cited()
    for code, reason in ALLOWED_CODES.items():
        if code not in codes:
            problems.append(f"codes-without-cases.json: {code} is not a registered code")
        elif code in shown:
            problems.append(f"codes-without-cases.json: {code} now has a case; remove it from the list")
        if not _test_exists(reason):
            problems.append(f"codes-without-cases.json: {code}: the reason names no existing tests/…py::test_…")
    for ref, reason in ALLOWED_REQUIREMENTS.items():
        file, _, anchor = ref.partition("#")
        if reqs.get(anchor, ("", set()))[0] != file:
            problems.append(f"requirements-without-cases.json: {ref} is not a requirement of spec/{file}.md")
        elif anchor in done:
            problems.append(f"requirements-without-cases.json: {ref} is now cited by a case; remove it from the list")
        if not _test_exists(reason):
            problems.append(f"requirements-without-cases.json: {ref}: the reason names no existing tests/…py::test_…")
    assert not problems, problems
    assert len(ALLOWED_CODES) <= 10, "the allow-lists are for exceptions"
    assert len(ALLOWED_REQUIREMENTS) <= 10, "the allow-lists are for exceptions"
