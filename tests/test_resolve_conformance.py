"""The resolver conformance suite (spec/conformance/resolve), run against aiterms.resolution.

Compares outcome exactly, obligations as a set, expected warnings as ``(code, path)`` pairs that must be present,
and expected steps as a subsequence of the decision's steps; never message text. Each case is resolved twice:
from the record as JSON and through ``resolve_json``, and the two decisions must be identical.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from aiterms.model import OUTCOMES, Decision, Query, Record
from aiterms.resolution import resolve, resolve_json

ROOT = Path(__file__).resolve().parents[1]
SUITE = Path(os.environ.get("AITERMS_CONFORMANCE", ROOT / "spec" / "conformance")) / "resolve"


def load_tests() -> list[Any]:
    params = []
    for path in sorted(SUITE.glob("*.json")):
        case = json.loads(path.read_text("utf-8"))
        if case.get("status") == "withdrawn":
            continue
        for test in case["tests"]:
            params.append(pytest.param(case, test, id=test["id"]))
    return params


TESTS = load_tests()


def _subsequence(wanted: list[str], got: tuple[str, ...]) -> bool:
    it = iter(got)
    return all(any(w == g for g in it) for w in wanted)


def differences(test: dict[str, Any], decision: Decision) -> list[str]:
    expect = test["expect"]
    problems = []
    if decision.outcome != expect["outcome"]:
        problems.append(f"outcome: expected {expect['outcome']}, got {decision.outcome}")
    if "obligations" in expect and set(decision.obligations) != set(expect["obligations"]):
        problems.append(f"obligations: expected {sorted(expect['obligations'])}, got {list(decision.obligations)}")
    found = {(w.code, w.path) for w in decision.warnings}
    for w in expect.get("warnings", []):
        if (w["code"], w.get("path", "")) not in found:
            problems.append(f"warning {w['code']} at {w.get('path', '')!r} missing (got {sorted(found)})")
    if "steps" in expect and not _subsequence(expect["steps"], decision.steps):
        problems.append(f"steps: {expect['steps']} is not a subsequence of {list(decision.steps)}")
    return problems


def test_suite_is_large_enough() -> None:
    assert len(TESTS) >= 60


@pytest.mark.parametrize(("case", "test"), TESTS)
def test_conformance(case: dict[str, Any], test: dict[str, Any]) -> None:
    query = Query.from_json(test["query"])
    decision = resolve(case["record"], query)
    problems = differences(test, decision)
    reasons = "\n".join(f"  [{r.step}] {r.effect}: {r.text}" for r in decision.reasons)
    assert not problems, f"{test['id']}: {test.get('description', '')}\n" + "\n".join(problems) + "\n" + reasons
    assert decision.to_json() == resolve_json(case["record"], query).to_json()
    # Invariants every decision keeps (spec#req-resolve-decision).
    assert decision.outcome in OUTCOMES
    assert not decision.obligations or decision.outcome == "constrained"
    assert decision.query.at == query.at


@pytest.mark.parametrize(("case", "test"), TESTS)
def test_model_input_agrees(case: dict[str, Any], test: dict[str, Any]) -> None:
    """A valid record resolved as a model (no validator in the loop) gets the same outcome and obligations."""
    if any(w["code"] == "record-invalid-not-resolved" for w in test["expect"].get("warnings", [])):
        pytest.skip("invalid records are checked by the validator; a model cannot always express them")
    query = Query.from_json(test["query"])
    decision = resolve(Record.from_json(case["record"]), query)
    assert (decision.outcome, set(decision.obligations)) == (test["expect"]["outcome"],
                                                             set(test["expect"].get("obligations", ())))
