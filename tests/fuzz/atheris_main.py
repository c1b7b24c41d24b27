"""Coverage-guided fuzzing with atheris (libFuzzer for Python)::

    python tests/fuzz/atheris_main.py TARGET [CORPUS_DIR ...] [-atheris_runs=N] [-max_total_time=S] [libFuzzer flags]
    python tests/fuzz/atheris_main.py --list

TARGET is a name from tests/fuzz/targets.py (``json``, ``robots``, ``xmp``, ...). Without a corpus directory the
target's seeds (the shared corpus files for it plus built-in ones) are written to a temporary directory and used.
Every module of aiterms is instrumented for coverage (all are imported up front: the library imports most of them
lazily). ``-max_len`` defaults to the target's ``max_len`` (256 KiB; 64 KiB for the targets that read signed
assets). The check per input is the same as in the bounded tests (targets.check): any escaping exception, a
malformed issue or a permit under an error is a crash, and libFuzzer saves the input under
``$AITERMS_FUZZ_CRASHES/<target>/`` (default: the temporary directory); problems listed in
regressions/pending.txt are not.

When atheris is not installed (it has wheels for CPython on Linux x86-64 and macOS), use
``python tests/fuzz/runner.py TARGET --runs N``: the same targets over a reproducible mutation stream seeded from
the corpus (no coverage feedback).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
if __package__ in (None, ""):
    sys.path.insert(0, str(HERE.parent))


def _targets() -> Any:
    if __package__ in (None, ""):
        from fuzz import targets
    else:
        from . import targets
    return targets


def main(argv: list[str]) -> int:
    if len(argv) < 2 or argv[1] in ("-h", "--help"):
        print(__doc__)
        return 2
    targets = _targets()
    if argv[1] == "--list":
        for t in targets.all_targets():
            print(t.name)
        return 0
    name = argv[1]
    import atheris

    if __package__ in (None, ""):
        from fuzz import runner
    else:
        from . import runner
    # Everything that may import aiterms runs inside the instrumenting block: a module imported outside it (the
    # importer registry that target discovery reads, the modules the library imports lazily inside functions)
    # gives the fuzzer no coverage, and libFuzzer then keeps almost nothing of what it generates.
    with atheris.instrument_imports(include=["aiterms"]):
        _import_library()
        chosen = {t.name: t for t in targets.all_targets()}.get(name)
        if chosen is None:
            print(f"unknown target {name!r}; --list shows them", file=sys.stderr)
            return 2
        try:
            mod = chosen.load()
        except targets.Skip as exc:
            print(f"skipped: {exc}")
            return 0
        seeds = runner.seeds_for(chosen, mod)
        for seed_name, data in seeds[:3]:  # warm up lazy imports so that the first fuzz inputs are not slow
            targets.check(chosen, mod, data, seed_name)
    flags = [a for a in argv[2:] if a.startswith("-")]
    dirs = [a for a in argv[2:] if not a.startswith("-")]
    if not dirs:
        corpus = Path(tempfile.mkdtemp(prefix=f"aiterms-atheris-{name}-"))
        for i, (_n, data) in enumerate(seeds):
            (corpus / f"seed-{i:03d}").write_bytes(data)
        dirs = [str(corpus)]
    out = runner.crash_dir() / name
    out.mkdir(parents=True, exist_ok=True)
    if not any(f.startswith("-artifact_prefix=") for f in flags):
        flags.append(f"-artifact_prefix={out}/")
    if not any(f.startswith("-timeout=") for f in flags):
        flags.append("-timeout=60")
    if not any(f.startswith("-rss_limit_mb=") for f in flags):
        flags.append("-rss_limit_mb=3072")
    if not any(f.startswith("-max_len=") for f in flags):
        flags.append(f"-max_len={chosen.max_len}")

    known = 0

    def one(data: bytes) -> None:
        nonlocal known
        _outcome, problems = targets.check(chosen, mod, data, chosen.default_name)
        fresh = [p for p in problems if targets.known(p) is None]  # pending.txt: reported, not fixed yet
        known += len(problems) - len(fresh)
        if fresh:
            p = fresh[0]
            raise AssertionError(f"[{p.kind}] {p.summary} at {p.where}\n{p.detail}")

    atheris.Setup([argv[0], *flags, *dirs], one)
    atheris.Fuzz()
    return 0


def _import_library() -> None:
    """Import every module of aiterms (but ``__main__`` ones, which run the command line), so that each is
    instrumented whichever path of the code under test first needs it; a module whose optional dependency is
    missing is left out."""
    import importlib
    import pkgutil

    import aiterms

    for info in pkgutil.walk_packages(aiterms.__path__, "aiterms.", onerror=lambda _name: None):
        if info.name.rsplit(".", 1)[-1] == "__main__":
            continue
        try:
            importlib.import_module(info.name)
        except Exception:  # an optional dependency that is not installed
            continue


_DONE = re.compile(r"Done (\d+)(?: runs)? in")


def run_subprocess(target: str, runs: int, seconds: float = float("inf")) -> tuple[int, int]:
    """Run one target under atheris in a child process (niced); return (exit code, inputs run)."""
    cmd = [sys.executable, str(HERE / "atheris_main.py"), target, f"-atheris_runs={runs}", "-print_final_stats=1"]
    if seconds != float("inf"):
        cmd.append(f"-max_total_time={int(seconds)}")
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False,
                          preexec_fn=lambda: os.nice(10) if hasattr(os, "nice") else None)
    sys.stdout.write(proc.stdout[-4000:])
    sys.stdout.write(proc.stderr[-8000:])
    found = _DONE.findall(proc.stderr + proc.stdout)
    count = int(found[-1]) if found else 0
    if proc.returncode == 0 and "skipped:" in proc.stdout:
        return 0, 0
    return proc.returncode, count


if __name__ == "__main__":
    sys.exit(main(sys.argv))
