"""annotate --workers N over ranges of a file on disk, one process per worker (spec/dataset.md#annotate-ranges)."""

from __future__ import annotations

import hashlib
import itertools
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tests.test_dataset_annotate import AT, CTX, cli

from aiterms.dataset import ranges

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="worker processes are forked on POSIX only")


@settings(max_examples=200, deadline=None)
@given(st.lists(st.binary(max_size=40).map(lambda b: b.replace(b"\n", b"x")), max_size=30), st.booleans(),
       st.integers(1, 64))
def test_ranges_hold_every_line_whole_once(tmp_path_factory: Any, lines: list[bytes], last_newline: bool,
                                           span: int) -> None:
    data = b"\n".join(lines) + (b"\n" if last_newline and lines else b"")
    path = tmp_path_factory.mktemp("cut") / "f.jsonl"
    path.write_bytes(data)
    spans = ranges.cut(str(path), span)
    assert spans[0][0] == 0
    assert spans[-1][1] == len(data)
    assert all(a[1] == b[0] for a, b in itertools.pairwise(spans))
    assert all(data[end - 1:end] == b"\n" for _start, end in spans[:-1])  # no line is cut
    assert all(end > start for start, end in spans) or len(spans) == 1
    # each range ends at the first newline past its size, and only the last may be shorter
    assert all(end - start >= span and b"\n" not in data[start + span - 1:end - 1] for start, end in spans[:-1])


def _manifest(tmp_path: Path, n: int = 2000) -> Path:
    """Synthetic records with bad lines spread through them (each in a different range once ranges are small)."""
    from aiterms.bench.synth import lines as synth

    out = []
    for i, line in enumerate(synth(n, 3)):
        out.append(line)
        if i % 450 == 7:
            out.append(b"not json\n")
        if i % 700 == 11:
            out.append(json.dumps({"@context": CTX, "type": "ImageRecord", "tags": 5}).encode() + b"\n")
        if i == 999:
            out.append(b'{"' + b"x" * (1 << 20) + b'": 1}\n')  # a long line (not a record) across reads and ranges
    path = tmp_path / "m.jsonl"
    last = b'{"@context": "' + CTX.encode() + b'", "type": "ImageRecord", "tags": 7}'  # invalid, and no newline
    path.write_bytes(b"".join(out) + last)
    return path


def _run(path: Path, out: Path, *args: str) -> tuple[int, dict[str, Any], bytes]:
    summary = out.with_suffix(".summary.json")
    code, _o, err = cli("annotate", str(path), "--use", "face-recognition", "--jurisdiction", "US-IL", "--at", AT,
                        "-o", str(out), "-q", "--summary", str(summary), *args)
    assert "Traceback" not in err
    return code, json.loads(summary.read_text("utf-8")), out.read_bytes()


def _same_summary(a: dict[str, Any], b: dict[str, Any]) -> None:
    for key in ("rows", "invalidRows", "keptRows", "inputs", "outcomes", "reasons", "signals", "licenses",
                "outcomesByReason", "issues"):
        assert a.get(key) == b.get(key), key
    assert a["fastPath"]["mismatches"] == b["fastPath"]["mismatches"] == 0


@pytest.mark.parametrize("span", [1 << 14, 100_000, 1 << 30])
def test_processes_over_ranges_give_what_one_worker_gives(tmp_path: Path, span: int,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    """Output bytes, counts, issues with their absolute line numbers, and the input's hash are those of
    --workers 1, however the file is cut (one range: the threads' path)."""
    m = _manifest(tmp_path)
    code1, one, out1 = _run(m, tmp_path / "o1.jsonl", "--workers", "1")
    monkeypatch.setattr(ranges, "RANGE_BYTES", span)
    for workers in ("2", "3"):
        code, many, out = _run(m, tmp_path / f"o{workers}.jsonl", "--workers", workers)
        assert (code, out) == (code1, out1)
        _same_summary(one, many)
    assert one["inputs"][0]["sha256"] == hashlib.sha256(m.read_bytes()).hexdigest()
    lines = sorted(i["line"] for i in one["issues"]["first"])
    assert len(lines) >= 5 + 3 + 1 + 1
    assert lines[-1] == m.read_bytes().count(b"\n") + 1
    assert sorted(os.listdir(tmp_path)) == ["m.jsonl", *(f"o{w}.{x}" for w in "123" for x in ("jsonl", "summary.json"))]


def test_filter_and_several_inputs_over_ranges(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    m = _manifest(tmp_path, 1200)
    m2 = tmp_path / "m2.jsonl"
    m2.write_bytes(m.read_bytes()[: len(m.read_bytes()) // 3].rsplit(b"\n", 1)[0] + b"\n")
    outs = []
    for workers, span in (("1", ranges.RANGE_BYTES), ("2", 50_000)):
        monkeypatch.setattr(ranges, "RANGE_BYTES", span)
        out = tmp_path / f"f{workers}.jsonl"
        summary = tmp_path / f"f{workers}.json"
        code, _o, err = cli("filter", str(m), str(m2), "--use", "data-mining", "--at", AT, "-o", str(out), "-q",
                            "--include-constrained", "--annotate", "--summary", str(summary), "--workers", workers)
        assert code == 1, err
        outs.append((out.read_bytes(), json.loads(summary.read_text("utf-8"))))
    assert outs[0][0] == outs[1][0]
    assert outs[0][0]
    _same_summary(outs[0][1], outs[1][1])
    assert any(i["message"].startswith(str(m2)) for i in outs[1][1]["issues"]["first"])


def test_ranges_to_standard_output(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """To standard output: a pipe and a stream without a file descriptor (the processes send their output to the
    parent, which writes it) give the same bytes as one worker."""
    m = _manifest(tmp_path, 800)
    code, expected, _e = cli("annotate", str(m), "--use", "cv-training", "--at", AT, "-q", "--workers", "1")
    monkeypatch.setattr(ranges, "RANGE_BYTES", 60_000)
    code2, got, _e = cli("annotate", str(m), "--use", "cv-training", "--at", AT, "-q", "--workers", "2")
    assert (code2, got) == (code, expected)
    script = ("import sys; from aiterms.dataset import ranges; ranges.RANGE_BYTES = 60000; "
              "from aiterms.cli import run; sys.exit(run(sys.argv[1:]))")
    proc = subprocess.run([sys.executable, "-c", script, "annotate", str(m), "--use", "cv-training", "--at", AT,
                           "-q", "--workers", "2"], capture_output=True, check=False)
    assert proc.returncode == code, proc.stderr
    assert proc.stdout == expected.encode("utf-8")


def _fail_in_worker(how: str) -> Any:
    from aiterms.dataset.decide import Worker

    real = Worker.jsonl_block

    def block(self: Worker, first_line: int, data: bytes, **kw: Any) -> Any:
        if b"failhere" in data:
            if how == "exit":
                os._exit(3)
            raise ValueError("planted failure")
        return real(self, first_line, data, **kw)

    return block


@pytest.mark.parametrize("to_file", [True, False])
@pytest.mark.parametrize("how", ["exit", "raise"])
def test_a_worker_process_that_fails_fails_the_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, how: str,
                                                   to_file: bool) -> None:
    """A worker process that dies or raises stops the run with an error, whether it writes the output itself (a
    file) or sends it to the parent (standard output); no output file appears, nothing is left behind."""
    from aiterms.dataset.decide import Worker

    m = _manifest(tmp_path, 600)
    data = m.read_bytes()
    m.write_bytes(data[: len(data) // 2] + b'{"failhere": 1}\n' + data[len(data) // 2:])
    monkeypatch.setattr(ranges, "RANGE_BYTES", 40_000)
    monkeypatch.setattr(Worker, "jsonl_block", _fail_in_worker(how))
    out = tmp_path / "o.jsonl"
    args = ["annotate", str(m), "--use", "cv-training", "--at", AT, "-q", "--workers", "2",
            *(["-o", str(out)] if to_file else [])]
    if how == "exit":
        code, _o, err = cli(*args)
        assert code == 2
        assert "ended without finishing its ranges (exit code 3)" in err
    else:
        with pytest.raises(ValueError, match="planted failure"):
            cli(*args)
    assert not out.exists()
    assert sorted(os.listdir(tmp_path)) == ["m.jsonl"]


def test_ranges_with_a_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Joined with a store, each worker process opens the store itself; the answers are one worker's."""
    from tests.test_dataset_annotate import account_store

    m = _manifest(tmp_path, 900)
    owners = sorted({json.loads(x)["owner"].removeprefix("flickr:") for x in m.read_bytes().splitlines()[:400]
                     if x.startswith(b'{"@context":"https') and b'"owner"' in x})
    store = account_store(tmp_path, owners[: len(owners) // 2])
    monkeypatch.setattr(ranges, "RANGE_BYTES", 70_000)
    got = [_run(m, tmp_path / f"s{w}.jsonl", "--workers", w, "--declarations", str(store)) for w in ("1", "2")]
    assert got[0][0] == got[1][0]
    assert got[0][2] == got[1][2]
    _same_summary(got[0][1], got[1][1])
    assert got[1][1]["fastPath"]["storeJoined"] == got[0][1]["fastPath"]["storeJoined"] > 0


@settings(max_examples=15, deadline=None)
@given(st.lists(st.sampled_from(range(6)), min_size=1, max_size=60), st.integers(200, 3000), st.booleans())
def test_ranges_equal_one_worker_on_any_mix(tmp_path_factory: Any, kinds: list[int], span: int,
                                            filtering: bool) -> None:
    """Any mix of valid, invalid, blank and non-JSON lines, cut anywhere: the output, counts and issues of
    --workers 2 over ranges are those of --workers 1."""
    from aiterms.bench.synth import lines as synth

    pool = [x.rstrip(b"\n") for x in synth(8, 9)]
    make = [lambda i: pool[i % len(pool)], lambda _i: b"", lambda _i: b"[1, 2", lambda _i: b"  ",
            lambda _i: b'{"@context": "' + CTX.encode() + b'", "type": "ImageRecord", "tags": 3}',
            lambda i: pool[i % len(pool)].replace(b'"issued":"', b'"issued":"x', 1)]
    path = tmp_path_factory.mktemp("mix") / "m.jsonl"
    path.write_bytes(b"\n".join(make[k](i) for i, k in enumerate(kinds)) + b"\n")
    outs = []
    default = ranges.RANGE_BYTES
    for w in ("1", "2"):
        ranges.RANGE_BYTES = span if w == "2" else default
        try:
            out = path.with_name(f"o{w}.jsonl")
            summary = path.with_name(f"o{w}.json")
            code, _o, err = cli("filter" if filtering else "annotate", str(path), "--use", "cv-training", "--at", AT,
                                "-o", str(out), "-q", "--summary", str(summary), "--workers", w)
        finally:
            ranges.RANGE_BYTES = default
        assert "Traceback" not in err
        outs.append((code, out.read_bytes(), json.loads(summary.read_text("utf-8"))))
    assert outs[0][:2] == outs[1][:2]
    _same_summary(outs[0][2], outs[1][2])


@pytest.mark.parametrize("suffix", ["gz", "bz2", "xz"])
def test_compressed_inputs_are_read_whole_not_in_ranges(tmp_path: Path, suffix: str) -> None:
    """A compressed manifest is decompressed as it is read (threads, not ranges, with --workers 2): the same output
    and issues as the file itself."""
    import bz2
    import gzip
    import lzma

    m = _manifest(tmp_path, 400)
    packed = tmp_path / f"m.jsonl.{suffix}"
    packed.write_bytes({"gz": gzip.compress, "bz2": bz2.compress, "xz": lzma.compress}[suffix](m.read_bytes()))
    code, plain, out = _run(m, tmp_path / "plain.jsonl", "--workers", "1")
    for w in ("1", "2"):
        got = _run(packed, tmp_path / f"p{w}.jsonl", "--workers", w)
        assert (got[0], got[2]) == (code, out)
        assert got[1]["issues"] == plain["issues"]
        assert got[1]["inputs"][0]["sha256"] == plain["inputs"][0]["sha256"]  # of the records, decompressed


def test_a_worker_process_that_cannot_write_fails_the_run_cleanly(tmp_path: Path) -> None:
    """A write a worker process cannot make (here, over a file size limit, as on a full disk) ends the run with a
    one-line error and exit code 2; no output file appears and nothing is left behind."""
    import resource

    m = _manifest(tmp_path, 1500)
    out = tmp_path / "o.jsonl"
    script = ("import sys; from aiterms.dataset import ranges; ranges.RANGE_BYTES = 100_000; "
              "from aiterms.cli import run; sys.exit(run(sys.argv[1:]))")

    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (400_000, resource.RLIM_INFINITY))

    proc = subprocess.run([sys.executable, "-c", script, "annotate", str(m), "--use", "cv-training", "--at", AT,
                           "-q", "--workers", "2", "-o", str(out)], capture_output=True, check=False,
                          preexec_fn=limit)  # the limit holds in the process before it starts
    err = proc.stderr.decode()
    assert proc.returncode == 2, err
    assert "File too large" in err
    assert "Traceback" not in err
    assert sorted(os.listdir(tmp_path)) == ["m.jsonl"]


def test_a_file_that_cannot_be_cut_is_reported_as_unreadable(tmp_path: Path) -> None:
    """Cutting a file into ranges opens it as the other paths do: what cannot be read is manifest-unreadable (a coded
    one-line error), not an OS error."""
    from aiterms.dataset.manifest import ManifestError

    with pytest.raises(ManifestError) as raised:
        ranges.cut(str(tmp_path))  # a directory: it cannot be read as a file
    assert raised.value.issue.code == "manifest-unreadable"


@pytest.mark.parametrize("workers", ["1", "2"])
def test_progress_counts_every_row_and_byte(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, workers: str) -> None:
    """The progress bar is fed every row and every byte of the input once, over ranges as in one worker (so it ends
    at its total)."""
    from aiterms.dataset.progress import Progress

    m = _manifest(tmp_path, 700)
    monkeypatch.setattr(ranges, "RANGE_BYTES", 90_000)
    fed: list[tuple[int, int]] = []
    real = Progress.update

    def update(self: Progress, rows: int, done: int = 0) -> None:
        fed.append((rows, done))
        real(self, rows, done)

    monkeypatch.setattr(Progress, "update", update)
    _code, summary, _out = _run(m, tmp_path / "o.jsonl", "--workers", workers)
    assert sum(r for r, _ in fed) == summary["rows"]  # (no line over the limit here: it is counted after the run)
    assert sum(d for _, d in fed) == m.stat().st_size


@pytest.mark.parametrize("mode", ["wb", "ab"])
def test_ranges_to_standard_output_sent_to_a_file(tmp_path: Path, mode: str) -> None:
    """Standard output sent to a file: the processes write into it themselves (at offsets after what it holds);
    opened for appending, they send their output to the parent instead. Either way the file ends as one worker
    leaves it."""
    m = _manifest(tmp_path, 800)
    code, expected, _e = cli("annotate", str(m), "--use", "cv-training", "--at", AT, "-q", "--workers", "1")
    script = ("import sys; from aiterms.dataset import ranges; ranges.RANGE_BYTES = 60000; "
              "from aiterms.cli import run; sys.stdout.buffer.write(b'before\\n'); sys.exit(run(sys.argv[1:]))")
    out = tmp_path / "out.jsonl"
    out.write_bytes(b"kept\n")
    with out.open(mode) as fh:
        proc = subprocess.run([sys.executable, "-c", script, "annotate", str(m), "--use", "cv-training", "--at", AT,
                               "-q", "--workers", "2"], stdout=fh, stderr=subprocess.PIPE, check=False)
    assert proc.returncode == code, proc.stderr
    assert out.read_bytes() == (b"kept\n" if mode == "ab" else b"") + b"before\n" + expected.encode("utf-8")


def test_which_outputs_processes_write_into_themselves(tmp_path: Path) -> None:
    import io

    with (tmp_path / "a").open("wb") as plain, (tmp_path / "b").open("ab") as appending:
        assert ranges._placeable(plain) == plain.fileno()
        assert ranges._placeable(appending) is None
    r, w = os.pipe()
    with os.fdopen(r, "rb") as reading, os.fdopen(w, "wb") as piped:
        assert ranges._placeable(piped) is None
        assert reading.readable()
    assert ranges._placeable(io.BytesIO()) is None
