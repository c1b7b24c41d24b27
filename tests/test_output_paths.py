"""Output files: never through a symlink, never partial (spec/security.md#req-atomic-write, #req-no-symlink-follow).

For every command that writes a file (``export -o``, ``embed -o`` / ``--in-place`` / ``--sidecar``,
``annotate -o``, ``store build -o``), in a temporary directory:

* a symlink at the output path pointing to a file elsewhere: that file is never changed (the link is replaced by
  a regular file, or the command refuses);
* ``os.replace`` failing (the rename of the finished temporary file): the command reports it without a
  traceback, the previous output file is unchanged and no temporary file is left behind;
* a full disk (the file-size limit of a child process set just below the output's size, so every write past it
  fails with EFBIG): the previous output is unchanged and no temporary or partial file is left behind.

Commands whose module does not exist yet are skipped.
"""

from __future__ import annotations

import importlib.util
import io
import json
import os
import resource
import signal
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT.parent / "shared" / "corpus"
sys.path.insert(0, str(Path(__file__).resolve().parent))

RECORD = {
    "@context": "https://w3id.org/aiterms/context/v1.jsonld",
    "type": "ImageRecord",
    "owner": "flickr:12345678@N00",
    "declarations": [{
        "declaredBy": {"role": "rights-holder", "id": "https://example.com"},
        "rules": [{"effect": "prohibit", "use": "ai-training"}, {"effect": "permit", "use": "search-indexing"}],
    }],
}
PREVIOUS = b"previous contents\n"
VICTIM = b"a file outside the output directory\n"


@dataclass(frozen=True)
class Case:
    """One way of writing a file: the command, the input it is given, and which path it writes."""

    id: str
    module: str
    argv: Callable[[Path], list[str]]  # work dir -> arguments (the output path is work/"out...")
    output: Callable[[Path], Path]  # work dir -> the path the command writes
    prepare: Callable[[Path], None]


def _image() -> bytes:
    from fuzz.seeds import XMP_PLUS, _png_with_xmp

    return _png_with_xmp(XMP_PLUS)


def _prepare(work: Path) -> None:
    (work / "record.json").write_text(json.dumps(RECORD), "utf-8")
    (work / "photo.png").write_bytes(_image())
    (work / "manifest.jsonl").write_text(json.dumps(RECORD) + "\n" + json.dumps({**RECORD, "tags": ["no_cv"]}) + "\n",
                                         "utf-8")


CASES = [
    Case("export-o", "aiterms.cli._export",
         lambda w: ["export", str(w / "record.json"), "--to", "robots", "-o", str(w / "out.txt")],
         lambda w: w / "out.txt", _prepare),
    Case("embed-o", "aiterms.cli._embed",
         lambda w: ["embed", str(w / "photo.png"), "--record", str(w / "record.json"), "-o", str(w / "out.png")],
         lambda w: w / "out.png", _prepare),
    Case("embed-in-place", "aiterms.cli._embed",
         lambda w: ["embed", str(w / "photo.png"), "--record", str(w / "record.json"), "--in-place"],
         lambda w: w / "photo.png", _prepare),
    Case("embed-sidecar", "aiterms.cli._embed",
         lambda w: ["embed", str(w / "photo.png"), "--record", str(w / "record.json"), "--sidecar"],
         lambda w: w / "photo.png.xmp", _prepare),
    Case("annotate-o", "aiterms.cli._annotate",
         lambda w: ["annotate", str(w / "manifest.jsonl"), "--use", "cv-training", "--at", "2026-01-01", "-q",
                    "-o", str(w / "out.jsonl")],
         lambda w: w / "out.jsonl", _prepare),
    Case("store-build-o", "aiterms.cli._store",
         lambda w: ["store", "build", str(w / "manifest.jsonl"), "-o", str(w / "out.store")],
         lambda w: w / "out.store", _prepare),
]
#: Known failures reported to their owners (/work/notes/crashes.md): expected to fail until fixed, then strict
#: xfail makes the test fail so that the line is removed.
KNOWN: dict[tuple[str, str], str] = {}


def _params(kind: str) -> list[object]:
    return [pytest.param(c, id=c.id, marks=[pytest.mark.xfail(reason=KNOWN[(kind, c.id)], strict=True)]
                         if (kind, c.id) in KNOWN else []) for c in CASES]


PARAMS = [pytest.param(c, id=c.id) for c in CASES]


def _need(case: Case) -> None:
    if importlib.util.find_spec(case.module) is None:
        pytest.skip(f"{case.module} does not exist yet")


def _run(argv: list[str]) -> tuple[int, str]:
    from aiterms.cli import run

    err = io.StringIO()
    code = run(argv, stdout=io.StringIO(), stderr=err, stdin=io.StringIO(""))
    return code, err.getvalue()


def _listing(folder: Path) -> set[str]:
    return {p.name for p in folder.iterdir()}


def _succeeds(case: Case, work: Path) -> None:
    """The case must work at all, or the failure tests prove nothing."""
    code, err = _run(case.argv(work))
    if code not in (0, 1):
        pytest.skip(f"{case.id}: the command does not succeed on the test input (exit {code}): {err[-300:]}")


@pytest.mark.parametrize("case", PARAMS)
def test_symlink_at_output_is_not_followed(case: Case, tmp_path: Path) -> None:
    _need(case)
    work, outside = tmp_path / "work", tmp_path / "outside"
    work.mkdir()
    outside.mkdir()
    case.prepare(work)
    victim = outside / "victim"
    target = case.output(work)
    if case.id == "embed-in-place":
        # The image itself is a link to a file elsewhere: replacing "the image" must not write through the link.
        victim.write_bytes(target.read_bytes())
        target.unlink()
    else:
        victim.write_bytes(VICTIM)
    before = victim.read_bytes()
    target.symlink_to(victim)
    code, err = _run(case.argv(work))
    assert victim.read_bytes() == before, f"{case.id} wrote through the symlink at {target.name} (exit {code})"
    assert "Traceback" not in err
    if code in (0, 1):
        assert not target.is_symlink(), f"{case.id}: the link should be replaced by a file"
        assert target.is_file()


@pytest.mark.parametrize("case", _params("rename"))
def test_failed_rename_leaves_previous_output(case: Case, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _need(case)
    work = tmp_path / "work"
    work.mkdir()
    case.prepare(work)
    target = case.output(work)
    if case.id != "embed-in-place":
        target.write_bytes(PREVIOUS)
    _succeeds(case, work)
    case.prepare(work)
    if case.id != "embed-in-place":
        target.write_bytes(PREVIOUS)
    previous = target.read_bytes()
    listing = _listing(work)

    def failing_replace(src: object, dst: object, *args: object, **kwargs: object) -> None:
        raise OSError(28, "No space left on device (simulated by the test)")

    monkeypatch.setattr(os, "replace", failing_replace)
    monkeypatch.setattr(os, "rename", failing_replace)
    try:
        code, err = _run(case.argv(work))
    except OSError:
        code, err = -1, "raised OSError"
    monkeypatch.undo()
    assert target.read_bytes() == previous, f"{case.id}: the output changed although its rename failed"
    assert _listing(work) == listing, f"{case.id}: files left behind: {sorted(_listing(work) - listing)}"
    assert code not in (0, -1), f"{case.id}: a failed write must be reported with an exit code, got {code}"
    assert "Traceback" not in err


def _child_with_file_size_limit(argv: list[str], limit: int, cwd: Path) -> subprocess.CompletedProcess[str]:
    def limit_writes() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    code = "import sys; from aiterms.cli import main; main(sys.argv[1:])"
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    return subprocess.run([sys.executable, "-c", code, *argv], capture_output=True, text=True, timeout=300,
                          check=False, cwd=str(cwd), preexec_fn=limit_writes, env=env)


@pytest.mark.skipif(not hasattr(resource, "RLIMIT_FSIZE"), reason="no RLIMIT_FSIZE on this platform")
@pytest.mark.parametrize("case", _params("disk"))
def test_full_disk_leaves_no_partial_file(case: Case, tmp_path: Path) -> None:
    _need(case)
    work = tmp_path / "work"
    work.mkdir()
    case.prepare(work)
    _succeeds(case, work)
    size = case.output(work).stat().st_size
    if size < 64:
        pytest.skip(f"{case.id}: output too small ({size} bytes) to cut")
    case.prepare(work)
    target = case.output(work)
    if case.id != "embed-in-place":
        if target.exists() or target.is_symlink():
            target.unlink()
        target.write_bytes(PREVIOUS)
    previous = target.read_bytes()
    listing = _listing(work)
    proc = _child_with_file_size_limit(case.argv(work), size // 2, work)
    assert target.read_bytes() == previous, f"{case.id}: a write cut short changed the output (exit {proc.returncode})"
    assert _listing(work) == listing, f"{case.id}: files left behind: {sorted(_listing(work) - listing)}"
    assert proc.returncode not in (0,), f"{case.id}: a write cut short must not exit 0"
    assert "Traceback" not in proc.stderr, proc.stderr[-2000:]


def test_atomic_write_itself(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """aiterms._io.atomic_write, which the commands share: replaces links, cleans up after failures."""
    from aiterms._io import atomic_write

    outside = tmp_path / "victim"
    outside.write_bytes(VICTIM)
    link = tmp_path / "out"
    link.symlink_to(outside)
    atomic_write(link, b"new")
    assert outside.read_bytes() == VICTIM
    assert not link.is_symlink()
    assert link.read_bytes() == b"new"

    def failing(*_a: object, **_k: object) -> None:
        raise OSError(28, "simulated")

    monkeypatch.setattr(os, "fsync", failing)
    with pytest.raises(OSError, match="simulated"):
        atomic_write(link, b"newer")
    assert link.read_bytes() == b"new"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out", "victim"]

