"""The public validation API is typed: mypy --strict sees ``aiterms.validate`` as the function (not the module,
not ``object``), so library users can type-check calls to it."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

mypy_api = pytest.importorskip("mypy.api")

ROOT = Path(__file__).resolve().parents[1]

GOOD = """
from __future__ import annotations

import aiterms
from aiterms.report import Report


def use(doc: dict[str, object]) -> Report:
    aiterms.validate(doc, strict=True)
    ok: bool = aiterms.is_valid(doc)
    codes = [i.code for i in aiterms.iter_issues(doc)]
    report: Report = aiterms.check(doc)
    try:
        aiterms.validate(doc)
    except aiterms.InvalidDocument as exc:
        return exc.report
    return report if ok or codes else report
"""

# Each line must be a type error; if aiterms.validate were Any (or untyped), none of them would be.
BAD = """
from __future__ import annotations

import aiterms

aiterms.validate({}, strictness=True)
x: int = aiterms.check({})
aiterms.validate()
"""


def _mypy(tmp_path: Path, source: str) -> tuple[str, int]:
    path = tmp_path / "snippet.py"
    path.write_text(textwrap.dedent(source), "utf-8")
    out, err, status = mypy_api.run([
        "--strict", "--no-error-summary", "--cache-dir", str(tmp_path / ".mypy_cache"),
        "--python-version", "3.11", str(path)])
    return out + err, status


def test_aiterms_validate_is_typed_as_the_function(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MYPYPATH", str(ROOT / "reference"))
    out, status = _mypy(tmp_path, GOOD)
    assert status == 0, out
    out, status = _mypy(tmp_path, BAD)
    assert status == 1, out
    assert sorted(int(line.split(":")[1]) for line in out.splitlines() if ": error:" in line) == [6, 7, 8], out
