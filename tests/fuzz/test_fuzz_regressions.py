"""Every crash the fuzzers found, as a regression case: ``regressions/<target>/<name>.bin``.

Each file is run through its target's check (no exception escapes, issues are coded, an input with an error
permits nothing; with the resolver when it exists) within a time limit. A ``<name>.url`` file next to it gives the
URL the importer is told the input belongs to (robots.txt patterns are matched against its path). A case whose
owner has not fixed it yet is listed in ``regressions/pending.txt`` (``<target>/<name>.bin  <where>  <reason>``)
and expected to fail (strict: once it passes, the line must go). /work/notes/crashes.md (outside the repository) has the
traceback and the owning module of each.
"""

from __future__ import annotations

import signal
import threading
from pathlib import Path

import pytest

from . import targets

TIME_LIMIT = 5.0  # seconds of CPU per regression input

HERE = Path(__file__).resolve().parent / "regressions"


def _pending() -> dict[str, str]:
    return {entry.case: entry.reason or "not fixed yet" for entry in targets.pending()}


def _cases() -> list[object]:
    pending = _pending()
    cases: list[object] = []
    for path in sorted(HERE.glob("*/*.bin")):
        key = f"{path.parent.name}/{path.name}"
        marks = [pytest.mark.xfail(reason=pending[key], strict=True)] if key in pending else []
        cases.append(pytest.param(path, id=key, marks=marks))
    return cases


@pytest.mark.parametrize("path", _cases())
def test_regression(path: Path) -> None:
    target = targets.BY_NAME.get(path.parent.name)
    if target is None:
        pytest.skip(f"no target named {path.parent.name!r}")
    try:
        mod = target.load()
    except targets.Skip as exc:
        pytest.skip(str(exc))
    try:
        resolve = targets.resolver()
    except targets.Skip:
        resolve = None
    # The file name may carry the source name the input was given under: "<case>--<source name>.bin".
    stem = path.stem
    name = stem.split("--", 1)[1] if "--" in stem else target.default_name
    url_file = path.with_suffix(".url")
    url = url_file.read_text("utf-8").strip() if url_file.is_file() else targets.URL
    with _time_limit(TIME_LIMIT):
        _outcome, problems = _check_with_url(target, mod, path.read_bytes(), name, resolve, url=url)
    assert not problems, "\n".join(f"[{p.kind}] {p.summary} at {p.where}\n{p.detail}" for p in problems)


def test_pending_entries_exist() -> None:
    missing = [key for key in _pending() if not (HERE / key).is_file()]
    assert not missing, f"regressions/pending.txt names files that do not exist: {missing}"


def _check_with_url(target: targets.Target, mod: object, data: bytes, name: str, resolve: object, *,
                    url: str) -> tuple[object, list[targets.Problem]]:
    saved = targets.URL
    targets.URL = url
    try:
        return targets.check(target, mod, data, name, resolve=resolve)  # type: ignore[arg-type]
    finally:
        targets.URL = saved


class _TooSlow(Exception):
    pass


class _time_limit:
    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.active = hasattr(signal, "setitimer") and threading.current_thread() is threading.main_thread()

    def __enter__(self) -> None:
        if self.active:
            def alarm(_sig: int, _frame: object) -> None:
                raise _TooSlow(f"the input took longer than {self.seconds} s (a hang or super-linear work)")

            self.old = signal.signal(signal.SIGVTALRM, alarm)  # CPU time: the machine may be shared
            signal.setitimer(signal.ITIMER_VIRTUAL, self.seconds)

    def __exit__(self, *exc: object) -> None:
        if self.active:
            signal.setitimer(signal.ITIMER_VIRTUAL, 0)
            signal.signal(signal.SIGVTALRM, self.old)
