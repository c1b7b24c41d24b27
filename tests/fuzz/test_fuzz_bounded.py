"""Bounded fuzzing in ``make test``, long fuzzing in ``make fuzz`` (spec/security.md#fuzzing, #fail-closed).

Per target (discovered at run time; skipped with a reason while its module is absent):

* ``test_no_crash``: the seeds, then a reproducible stream of mutants, within a count and a time budget: no
  exception escapes, every issue is a coded Issue, an input the importer reports an error for yields no permit.
* ``test_corruption_never_permits``: truncations and byte flips of every seed, each resolved for every use:
  a prefix of a prohibiting seed (one that prohibits and states no permission) never permits anything, nor does a
  byte flip of one in a flip-safe format; any input the parser reports an error for permits nothing.
* ``test_oversize_never_permits``: a seed padded past its limit permits nothing and reports a ``limit-*`` code.
* ``test_structured`` / ``test_structured_prohibiting``: hypothesis-drawn near-valid inputs (strategies.py).
* ``test_long_fuzz`` (marker ``fuzz``): a million inputs per target, or ``AITERMS_FUZZ_RUNS``.
"""

from __future__ import annotations

import os
import random
import time
from typing import Any

import pytest
from hypothesis import given

from . import mutate, runner, strategies, targets

BOUNDED_RUNS = int(os.environ.get("AITERMS_FUZZ_BOUNDED_RUNS", "400"))
BOUNDED_SECONDS = float(os.environ.get("AITERMS_FUZZ_BOUNDED_SECONDS", "1.0"))
LONG_RUNS = float(os.environ.get("AITERMS_FUZZ_RUNS", "1000000"))
LONG_SECONDS = float(os.environ.get("AITERMS_FUZZ_SECONDS", "inf"))

ALL = targets.all_targets()
PARAMS = [pytest.param(t, id=t.name) for t in ALL]


def _load(target: targets.Target) -> Any:
    try:
        return target.load()
    except targets.Skip as exc:
        pytest.skip(str(exc))


def _resolver() -> Any:
    try:
        return targets.resolver()
    except targets.Skip as exc:
        pytest.skip(str(exc))


def _fail(problems: list[targets.Problem], runs: int, what: str) -> None:
    """Fail with every problem; when all of them are known (regressions/pending.txt), an expected failure."""
    result = runner.RunResult(problems[0].target if problems else "?", runs)
    for p in problems:
        result.add(p)
    entries = [targets.known(p) for p in result.problems.values()]
    if entries and all(entries):
        pytest.xfail("known, reported to the owner: " + "; ".join(sorted({e.case for e in entries if e})))
    pytest.fail(f"{what}\n" + runner.describe(result), pytrace=False)


@pytest.mark.parametrize("target", PARAMS)
def test_no_crash(target: targets.Target) -> None:
    mod = _load(target)
    result = runner.fuzz(target, mod, runs=BOUNDED_RUNS, seconds=BOUNDED_SECONDS, seed="bounded")
    assert result.runs > 0
    if result.problems:
        _fail(list(result.problems.values()), result.runs, f"{target.name}: problems found")


def _baseline(target: targets.Target, mod: Any, name: str, data: bytes,
              resolve: Any) -> tuple[dict[str, str], list[str]] | None:
    """The seed's outcome per use and the permissions its records state (None when the seed itself fails)."""
    outcome, problems = targets.check(target, mod, data, name, resolve=resolve)
    if outcome is None or problems:
        return None  # test_no_crash reports it
    records = [r for r, _e in outcome.records]
    return targets.outcomes(records, resolve), targets.permits_in(records)


def _prohibiting(target: targets.Target, name: str, got: dict[str, str], permits: list[str]) -> bool:
    """A seed is "prohibiting" when it prohibits some use and states no permission at all.

    "States no permission": its records hold no permit rule and no given consent, and nothing resolves to a
    permission. Outcomes alone are not enough: a permission shadowed by a more specific prohibition (robots.txt
    path rules) or by a higher authority (a platform's permit under the rights holder's license) may legitimately
    come back when the shadowing statement is cut off or changed. In formats that are not flip-safe, where a prefix
    is itself a valid file whose other lines are not in the record, only seeds listed as prohibiting qualify.
    """
    prohibits = any(o == "notAllowed" for o in got.values())
    permits_nothing = not permits and not any(o in targets.PERMISSIVE for o in got.values())
    return prohibits and permits_nothing and (target.flip_safe or name in target.prohibiting)


@pytest.mark.parametrize("target", PARAMS)
def test_corruption_never_permits(target: targets.Target) -> None:
    """Truncations (and, in flip-safe formats, byte flips) of a prohibiting seed never permit anything; and any
    corrupted input the parser reports an error for permits nothing (targets.check)."""
    mod = _load(target)
    resolve = _resolver()
    rng = random.Random(f"corrupt:{target.name}")
    deadline = time.monotonic() + 1.5 * BOUNDED_SECONDS
    problems: list[targets.Problem] = []
    runs = 0
    seeds = runner.seeds_for(target, mod)
    rng.shuffle(seeds)
    for name, seed in seeds:
        if time.monotonic() > deadline:
            break
        base = _baseline(target, mod, name, seed, resolve)
        if base is None:
            continue
        prohibiting = _prohibiting(target, name, *base)
        for m in mutate.corruptions(seed, rng, truncate=6, flips=6 if target.flip_safe else 3):
            if time.monotonic() > deadline:
                break
            runs += 1
            outcome, found = targets.check(target, mod, m.data, name, resolve=resolve)
            problems.extend(found)
            if outcome is None or found or not prohibiting or (m.how == "flip" and not target.flip_safe):
                continue
            after = targets.outcomes([r for r, _e in outcome.records], resolve)
            permitted = sorted(u for u, o in after.items() if o in targets.PERMISSIVE)
            if permitted:
                problems.append(targets.Problem(
                    "fail-closed", target.name, m.data,
                    f"{m.how} of a prohibiting seed ({name}) permits {permitted}", name=name))
    if runs == 0:
        pytest.skip("no seed could be read without a problem (see test_no_crash)")
    if problems:
        _fail(problems, runs, f"{target.name}: corrupted input yields a permission or fails")


OVERSIZE = [pytest.param(t, id=t.name) for t in ALL if t.oversize is not None]


@pytest.mark.parametrize("target", OVERSIZE)
def test_oversize_never_permits(target: targets.Target) -> None:
    mod = _load(target)
    resolve = _resolver()
    assert target.oversize is not None
    seeds = runner.seeds_for(target, mod)
    # The seed that permits the most is the interesting one: padding it past the limit must take that away.
    ranked = []
    for name, seed in seeds[:12]:
        base = _baseline(target, mod, name, seed, resolve)
        if base is not None:
            ranked.append((sum(o in targets.PERMISSIVE for o in base[0].values()), name, seed))
    if not ranked:
        pytest.skip("no seed could be read without a problem (see test_no_crash)")
    ranked.sort(key=lambda x: -x[0])
    problems = []
    for _n, name, seed in ranked[:2]:
        big = target.oversize(seed)
        outcome, found = targets.check(target, mod, big, name, resolve=resolve)
        problems.extend(found)
        if outcome is None or found:
            continue
        codes = sorted({i.code for i in outcome.issues if str(i.code).startswith("limit-")})
        got = targets.outcomes([r for r, _e in outcome.records], resolve)
        permitted = sorted(u for u, o in got.items() if o in targets.PERMISSIVE)
        if permitted:
            problems.append(targets.Problem("fail-closed", target.name, big[:256],
                                            f"{name} padded to {len(big)} bytes still permits {permitted}",
                                            name=name))
        if not codes:
            problems.append(targets.Problem("invariant", target.name, big[:256],
                                            f"{name} padded to {len(big)} bytes reports no limit-* code", name=name))
    if problems:
        _fail(problems, 2, f"{target.name}: oversized input")


STRUCTURED = [pytest.param(name, id=name) for name in strategies.STRUCTURED if name in targets.BY_NAME]
PROHIBITING = [pytest.param(name, id=name) for name in strategies.PROHIBITING if name in targets.BY_NAME]


@pytest.mark.parametrize("name", STRUCTURED)
def test_structured(name: str) -> None:
    target = targets.BY_NAME[name]
    mod = _load(target)

    @strategies.budget(30)
    @given(data=strategies.STRUCTURED[name])
    def run(data: bytes) -> None:
        _o, problems = targets.check(target, mod, data, target.default_name)
        if problems:
            _fail(problems, 1, f"{name}: structured input")

    run()


@pytest.mark.parametrize("name", PROHIBITING)
def test_structured_prohibiting(name: str) -> None:
    """Inputs that only prohibit never yield a permission for any use."""
    target = targets.BY_NAME[name]
    mod = _load(target)
    resolve = _resolver()

    @strategies.budget(15)
    @given(data=strategies.PROHIBITING[name])
    def run(data: bytes) -> None:
        outcome, problems = targets.check(target, mod, data, target.default_name, resolve=resolve)
        if problems:
            _fail(problems, 1, f"{name}: structured prohibiting input")
        assert outcome is not None
        got = targets.outcomes([r for r, _e in outcome.records], resolve)
        permitted = sorted(u for u, o in got.items() if o in targets.PERMISSIVE)
        assert not permitted, f"{name}: an input that only prohibits permits {permitted}:\n{data[:600]!r}"
        for cut in sorted({len(data) // 3, len(data) // 2, len(data) - 1} - {-1}):  # and so do its prefixes
            outcome, problems = targets.check(target, mod, data[:cut], target.default_name, resolve=resolve)
            if problems:
                _fail(problems, 1, f"{name}: prefix of a structured prohibiting input")
            assert outcome is not None
            got = targets.outcomes([r for r, _e in outcome.records], resolve)
            permitted = sorted(u for u, o in got.items() if o in targets.PERMISSIVE)
            assert not permitted, f"{name}: a prefix of an input that only prohibits permits {permitted}:\n" \
                                  f"{data[:cut][:600]!r}"

    run()


@pytest.mark.fuzz
@pytest.mark.parametrize("target", PARAMS)
def test_long_fuzz(target: targets.Target) -> None:
    """``make fuzz``: a million inputs per target (AITERMS_FUZZ_RUNS), coverage-guided by atheris when installed."""
    mod = _load(target)
    if os.environ.get("AITERMS_FUZZ_ENGINE", "atheris") == "atheris":
        import importlib.util

        if importlib.util.find_spec("atheris") is not None:
            from . import atheris_main

            code, runs = atheris_main.run_subprocess(target.name, int(min(LONG_RUNS, 2**31 - 1)), LONG_SECONDS)
            print(f"{target.name}: {runs} inputs (atheris)")
            assert code == 0, f"atheris found a problem in {target.name}; see the output above"
            return
    result = runner.fuzz(target, mod, runs=LONG_RUNS, seconds=LONG_SECONDS, seed="long",
                         on_problem=runner.save)
    print(f"{target.name}: {result.runs} inputs (mutation stream) in {result.seconds:.0f} s")
    if result.problems:
        pytest.fail(runner.describe(result), pytrace=False)


@pytest.mark.fuzz
@pytest.mark.parametrize("name", STRUCTURED)
def test_structured_long(name: str) -> None:
    """``make fuzz``: the structured strategies with the ``fuzz`` profile's many examples."""
    test_structured(name)


@pytest.mark.fuzz
@pytest.mark.parametrize("name", PROHIBITING)
def test_structured_prohibiting_long(name: str) -> None:
    test_structured_prohibiting(name)
