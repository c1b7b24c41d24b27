"""Run a target over a reproducible mutation stream within a count and time budget; minimize what fails.

Used by the bounded tests (``make test``), the long runs (``make fuzz``) and ``atheris_main.py`` when atheris is
not installed. Also a command line for background runs::

    python tests/fuzz/runner.py TARGET [--runs N] [--seconds S] [--seed K] [--resolve] [--skip-known]

It prints one JSON line per target: inputs run, distinct problems, seconds. Problem inputs are saved under
``$AITERMS_FUZZ_CRASHES/<target>/`` (default: aiterms-fuzz-crashes in the temporary directory).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from fuzz import mutate, targets  # type: ignore[no-redef]
else:
    from . import mutate, targets


@dataclass
class RunResult:
    target: str
    runs: int = 0
    seconds: float = 0.0
    problems: dict[tuple[str, str, str], targets.Problem] = field(default_factory=dict)
    first_seen: dict[tuple[str, str, str], int] = field(default_factory=dict)

    def add(self, problem: targets.Problem) -> None:
        if problem.key not in self.problems:
            self.problems[problem.key] = problem
            self.first_seen[problem.key] = self.runs

    def summary(self) -> dict[str, Any]:
        return {"target": self.target, "runs": self.runs, "seconds": round(self.seconds, 1),
                "problems": [{"kind": p.kind, "summary": p.summary, "where": p.where, "input": p.digest()}
                             for p in self.problems.values()]}


def seeds_for(target: targets.Target, mod: Any) -> list[tuple[str, bytes]]:
    if target.name.startswith("importer-"):
        return targets.detected_seeds(target, mod)
    return target.seeds()


def fuzz(target: targets.Target, mod: Any, *, runs: float, seconds: float, seed: int | str = 0,
         resolve: Callable[[dict[str, Any], str], str] | None = None,
         on_problem: Callable[[targets.Problem], object] | None = None, skip_known: bool = False) -> RunResult:
    """Run the target on the seeds and then on mutants until ``runs`` inputs or ``seconds`` have passed."""
    named = seeds_for(target, mod)
    names = [n for n, _ in named]
    datas = [d for _, d in named]
    rng = random.Random(f"{target.name}:{seed}")
    result = RunResult(target.name)
    start = time.monotonic()
    deadline = start + seconds
    for mutant in mutate.stream(datas, rng, target.tokens):
        if result.runs >= runs or time.monotonic() > deadline:
            break
        name = names[mutant.seed] if mutant.seed >= 0 else target.default_name
        _outcome, problems = targets.check(target, mod, mutant.data, name, resolve=resolve)
        result.runs += 1
        for p in problems:
            if skip_known and targets.known(p) is not None:
                continue
            new = p.key not in result.problems
            result.add(p)
            if new and on_problem is not None:
                on_problem(p)
    result.seconds = time.monotonic() - start
    return result


def minimize(target: targets.Target, mod: Any, data: bytes, name: str, key: tuple[str, str, str],
             *, seconds: float = 20.0, resolve: Callable[[dict[str, Any], str], str] | None = None) -> bytes:
    """Delta debugging (ddmin-style, bounded in time): the shortest input found that still shows the same problem."""
    deadline = time.monotonic() + seconds

    def same(candidate: bytes) -> bool:
        _o, problems = targets.check(target, mod, candidate, name, resolve=resolve)
        return any(p.key == key for p in problems)

    best = data
    chunk = max(1, len(best) // 2)
    while chunk >= 1 and time.monotonic() < deadline:
        i = 0
        shrunk = False
        while i < len(best) and time.monotonic() < deadline:
            candidate = best[:i] + best[i + chunk:]
            if candidate != best and same(candidate):
                best = candidate
                shrunk = True
            else:
                i += chunk
        if not shrunk:
            chunk //= 2
    return best


def crash_dir() -> Path:
    path = Path(os.environ.get("AITERMS_FUZZ_CRASHES", Path(tempfile.gettempdir()) / "aiterms-fuzz-crashes"))
    path.mkdir(parents=True, exist_ok=True)
    return path


def save(problem: targets.Problem) -> Path:
    folder = crash_dir() / problem.target
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{problem.kind}-{problem.digest()}.bin"
    path.write_bytes(problem.data)
    (folder / f"{problem.kind}-{problem.digest()}.txt").write_text(
        f"{problem.summary}\n{problem.where}\n\n{problem.detail}", "utf-8")
    return path


def describe(result: RunResult) -> str:
    lines = [f"{result.target}: {len(result.problems)} distinct problem(s) in {result.runs} inputs"]
    for p in result.problems.values():
        saved = save(p)
        lines.append(f"- [{p.kind}] {p.summary} at {p.where or '?'}; input saved to {saved}")
        if p.detail:
            lines.append("  " + p.detail.strip().replace("\n", "\n  ")[-1500:])
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("target", nargs="+", help="target names, or 'all'")
    ap.add_argument("--runs", type=float, default=1_000_000)
    ap.add_argument("--seconds", type=float, default=float("inf"))
    ap.add_argument("--seed", default="0")
    ap.add_argument("--resolve", action="store_true", help="ask the resolver about every erroneous record")
    ap.add_argument("--skip-known", action="store_true", help="ignore problems listed in regressions/pending.txt")
    ap.add_argument("--minimize", type=float, default=0.0, help="seconds to spend minimizing each new problem")
    args = ap.parse_args(argv)
    chosen = targets.all_targets() if args.target == ["all"] else [
        t for t in targets.all_targets() if t.name in args.target]
    status = 0
    for t in chosen:
        try:
            mod = t.load()
            resolve = targets.resolver() if args.resolve else None
        except targets.Skip as exc:
            print(json.dumps({"target": t.name, "skipped": str(exc)}), flush=True)
            continue
        result = fuzz(t, mod, runs=args.runs, seconds=args.seconds, seed=args.seed, resolve=resolve,
                      skip_known=args.skip_known)
        for p in result.problems.values():
            if args.minimize > 0:
                p.data = minimize(t, mod, p.data, p.name or t.default_name, p.key, seconds=args.minimize,
                                  resolve=resolve)
            save(p)
        print(json.dumps(result.summary()), flush=True)
        status = status or (1 if result.problems else 0)
    return status


if __name__ == "__main__":
    sys.exit(main())
