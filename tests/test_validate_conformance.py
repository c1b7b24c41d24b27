"""The validator conformance suite (spec/conformance/validate), run against aiterms.validation.

The runner compares the set of ``(code, path)`` pairs (and line/severity where a case gives them), never
message text; ``exhaustive`` cases must list every error and warning.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from aiterms.report import Issue, Report
from aiterms.validation import check, check_text, use_fast_engine

ROOT = Path(__file__).resolve().parents[1]
SUITE = Path(os.environ.get("AITERMS_CONFORMANCE", ROOT / "spec" / "conformance")) / "validate"


def load_cases() -> list[dict[str, Any]]:
    cases = []
    for path in sorted(SUITE.glob("*.json")):
        case = json.loads(path.read_text("utf-8"))
        if case.get("status") == "withdrawn":
            continue
        case["_file"] = path.name
        cases.append(case)
    return cases


CASES = load_cases()


def run_case(case: dict[str, Any]) -> list[Issue]:
    """Every issue of the case's document(s), whatever its form."""
    strict = bool(case.get("strict", False))
    if "document" in case:
        return list(check(case["document"], strict=strict).issues)
    reports: list[Report] = check_text(case["documentText"], strict=strict, format=case["format"])
    return [i for r in reports for i in r.issues]


def verdict(case: dict[str, Any], issues: list[Issue]) -> list[str]:
    """Differences between the expectation and the issues found (empty when the case passes)."""
    expect = case["expect"]
    problems = []
    valid = not any(i.severity == "error" for i in issues)
    if valid != expect["valid"]:
        problems.append(f"valid: expected {expect['valid']}, got {valid}")
    found = {(i.code, i.path) for i in issues if i.severity in ("error", "warning")}
    wanted = {(e["code"], e.get("path", "")) for e in expect.get("issues", [])}
    if expect.get("exhaustive"):
        if found != wanted:
            problems.append(f"issues: missing {sorted(wanted - found)}, unexpected {sorted(found - wanted)}")
    elif not wanted <= found:
        problems.append(f"issues: missing {sorted(wanted - found)}")
    for e in expect.get("issues", []):
        matches = [i for i in issues if i.code == e["code"] and i.path == e.get("path", "")]
        if "line" in e and matches and not any(i.line == e["line"] for i in matches):
            problems.append(f"{e['code']} at {e.get('path', '')!r}: expected line {e['line']}, got "
                            f"{[i.line for i in matches]}")
        if "severity" in e and matches and not any(i.severity == e["severity"] for i in matches):
            problems.append(f"{e['code']} at {e.get('path', '')!r}: expected severity {e['severity']}")
    return problems


@pytest.mark.parametrize("case", [pytest.param(c, id=c["id"]) for c in CASES])
def test_case(case: dict[str, Any]) -> None:
    issues = run_case(case)
    problems = verdict(case, issues)
    assert not problems, "\n".join([case["description"], *problems, *(i.to_text() for i in issues)])


@pytest.mark.parametrize("case", [pytest.param(c, id=c["id"]) for c in CASES])
def test_case_reference_engine_only(case: dict[str, Any]) -> None:
    """The same verdicts with the fast engine (jsonschema-rs) turned off: the engines agree on the suite."""
    use_fast_engine(False)
    try:
        slow = run_case(case)
    finally:
        use_fast_engine(True)
    assert slow == run_case(case)


def test_suite_is_not_empty() -> None:
    assert len(CASES) >= 40


def test_every_code_of_the_validation_table_has_a_negative_case() -> None:
    table = (ROOT / "spec" / "validation.md").read_text("utf-8").split("<!-- codes -->")[1].split("<!-- /codes -->")[0]
    codes = {line.split("`")[1] for line in table.splitlines() if line.startswith("| `")}
    covered = {e["code"] for c in CASES for e in c["expect"].get("issues", [])}
    # Not expressible as a conformance document (each with its reason and Python test): tests/codes-without-cases.json
    allowed = set(json.loads((ROOT / "tests" / "codes-without-cases.json").read_text("utf-8"))["codes"])
    assert codes - covered == codes & allowed


def test_every_requirement_of_validation_md_is_cited() -> None:
    text = (ROOT / "spec" / "validation.md").read_text("utf-8")
    anchors = {a for a in (part.split('"')[0] for part in text.split('<a id="')[1:]) if a.startswith("req-")}
    cited = {s.split("#")[-1] for c in CASES for s in c["spec"]}
    assert anchors - cited == set()
