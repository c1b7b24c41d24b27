"""One JSON Lines file annotated by several processes, each taking ranges of whole lines
(spec/dataset.md#annotate-ranges).

A file on disk is cut, at newlines, into ranges of about RANGE_BYTES (:func:`cut`). ``--workers N`` starts N worker
processes; whichever is free takes the next range, annotates it with a worker of its own (kernel, decision cache,
store connection) and writes the range's output to a part file. The parent hands the parts, in input order, to the
output's writer, which copies each into the output inside the operating system (``os.sendfile``) and deletes it; the
parent also hashes the input and merges the statistics, making line numbers, counted in each process from its
range's first line, absolute. Each process learns what it meets on its own, in parallel, so no process waits for
another's Python side. At most WINDOW_PER_WORKER ranges per worker are out at once (taken and not yet copied), so
part files and memory stay bounded whatever the input size.
"""

from __future__ import annotations

import contextlib
import errno
import io
import itertools
import multiprocessing
import os
import shutil
import sys
import tempfile
import threading
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from multiprocessing.connection import Connection, wait
from typing import IO, Any

from aiterms.dataset import manifest as M
from aiterms.dataset.decide import Options, Stats, Worker
from aiterms.report import Issue

RANGE_BYTES = 16 << 20
WINDOW_PER_WORKER = 4
_FIND_BYTES = 1 << 16


def splittable(path: str) -> bool:
    """Whether ``path`` is a regular file read as it is (not standard input, not compressed): only such a file can
    be cut into ranges that processes read on their own."""
    if path == "-" or path.lower().endswith((".gz", ".bz2", ".xz")):
        return False
    try:
        return os.path.isfile(path)
    except OSError:
        return False


def cut(path: str, span: int | None = None) -> list[tuple[int, int]]:
    """Byte ranges ``[start, end)`` of about ``span`` bytes (default RANGE_BYTES) covering the file, each ending
    just after a newline (the last at the end of the file), so that every line lies whole in one range."""
    span = RANGE_BYTES if span is None else span
    size = os.path.getsize(path)
    bounds = [0]
    with open(path, "rb") as fh:
        target = span
        while target < size:
            pos = target - 1
            fh.seek(pos)
            while True:  # the range ends after the first newline at or past the target
                buf = fh.read(_FIND_BYTES)
                if not buf:
                    pos = size
                    break
                at = buf.find(b"\n")
                if at >= 0:
                    pos += at + 1
                    break
                pos += len(buf)
            if pos >= size:
                break
            bounds.append(pos)
            target = pos + span
    bounds.append(size)
    return list(itertools.pairwise(bounds))


class _RangeReader:
    """``read`` over ``[start, end)`` of an open file, counting the newlines it hands out."""

    def __init__(self, fh: IO[bytes], start: int, end: int) -> None:
        fh.seek(start)
        self._fh = fh
        self._left = end - start
        self.newlines = 0

    def read(self, n: int) -> bytes:
        if self._left <= 0:
            return b""
        data = self._fh.read(min(n, self._left))
        if not data:  # the file shrank under us: the range ends here
            self._left = 0
            return b""
        self._left -= len(data)
        self.newlines += M.count_lines(data)
        return data


@dataclass
class Part:
    """One range's output in a part file, for the writer to copy into the output; ``done`` is called after."""

    path: str
    done: Callable[[], None]


def copy_part(stream: IO[bytes], part: Part) -> int:
    """Copy a part file to the end of ``stream`` and delete it; the bytes copied. The copy happens inside the
    operating system where it can (``os.sendfile``), else through a buffer."""
    copied = 0
    with open(part.path, "rb") as src:
        size = os.fstat(src.fileno()).st_size
        fd = _fileno(stream)
        if fd is not None:
            stream.flush()
            try:
                while copied < size:
                    sent = os.sendfile(fd, src.fileno(), copied, size - copied)
                    if sent == 0:
                        break
                    copied += sent
            except OSError as exc:  # sendfile cannot write to this output: copy through a buffer
                if copied or exc.errno not in (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP, errno.EBADF):
                    raise
        if copied < size:
            src.seek(copied)
            for chunk in iter(lambda: src.read(1 << 20), b""):
                stream.write(chunk)
                copied += len(chunk)
    os.unlink(part.path)
    part.done()
    return copied


def _fileno(stream: IO[bytes]) -> int | None:
    try:
        return stream.fileno()
    except (AttributeError, OSError, io.UnsupportedOperation):
        return None


# ---------------------------------------------------------------------------------------------------------------
# A worker process


def _work(path: str, opts: Options, ranges: list[tuple[int, int]], *, taken: Any, window: Any, conn: Connection,
          parts: str) -> None:
    """A worker process: take the next free range until none is left; send each one's part file, line count,
    statistics and reader issues (line numbers counted from the range's first line) to the parent."""
    worker = None
    try:
        worker = Worker(opts)
        with open(path, "rb") as fh:
            while True:
                window.acquire()
                with taken.get_lock():
                    index = taken.value
                    taken.value += 1
                if index >= len(ranges):
                    window.release()
                    break
                conn.send((index, *_annotate(worker, opts, fh, ranges[index], os.path.join(parts, f"{index}"))))
        conn.send(None)
    except BaseException as exc:  # the parent re-raises it; a worker process must not end silently
        conn.send(_picklable(exc))
    finally:
        if worker is not None and worker.store is not None:
            worker.store.close()
        conn.close()


def _annotate(worker: Worker, opts: Options, fh: IO[bytes], span: tuple[int, int],
              part: str) -> tuple[str, int, Stats, list[Issue]]:
    reader = _RangeReader(fh, *span)
    issues: list[Issue] = []
    total = Stats()
    with open(part, "wb") as out:
        for block in M.iter_jsonl_blocks(reader, issues=issues):
            data, st = worker.jsonl_block(block.first_line, block.data)
            if data:
                out.write(data)
            total.merge(st, opts.max_issues)
    # the lines after this range start this many lines further on (only the last range may end without a newline,
    # and no range follows it)
    return part, reader.newlines, total, issues


def _picklable(exc: BaseException) -> BaseException:
    import pickle

    try:
        pickle.loads(pickle.dumps(exc))
    except Exception:  # anything that does not survive pickling is sent as its text
        return RuntimeError(f"worker process failed: {type(exc).__name__}: {exc}")
    return exc


# ---------------------------------------------------------------------------------------------------------------
# The parent


class Split:
    """req-annotate over ranges: the worker processes are started when this is made (before the parent starts a
    thread of its own, as forking requires); :meth:`answers` then gives each range's part and statistics in input
    order, with line numbers made absolute, and :meth:`close` stops and cleans up whatever is left."""

    def __init__(self, path: str, spans: list[tuple[int, int]], workers: int, opts: Options, context: str, *,
                 parts_dir: str | None, out: IO[bytes]) -> None:
        self.path = path
        self.ranges = spans
        self.parts = tempfile.mkdtemp(prefix=".aiterms-parts-", dir=parts_dir)
        ctx: Any = multiprocessing.get_context(context)  # its Process, Pipe, Value and Semaphore
        n = min(workers, len(self.ranges))
        self._window = ctx.Semaphore(n * WINDOW_PER_WORKER)
        taken = ctx.Value("q", 0)
        # what the parent buffers would be written again by each forked process when it flushes on exit
        for stream in (out, sys.stdout, sys.stderr):
            with contextlib.suppress(Exception):
                stream.flush()
        self._procs: list[Any] = []
        self._conns: dict[Connection, Any] = {}
        try:
            for i in range(n):
                recv, send = ctx.Pipe(duplex=False)
                proc = ctx.Process(target=_work, args=(path, opts, self.ranges), name=f"aiterms-range-{i}",
                                   kwargs={"taken": taken, "window": self._window, "conn": send, "parts": self.parts},
                                   daemon=True)
                proc.start()
                send.close()
                self._procs.append(proc)
                self._conns[recv] = proc
        except BaseException:
            self.close()
            raise

    def answers(self, *, hasher: Any, issues: list[Issue], sizes: deque[int]) -> Iterator[tuple[Part, Stats]]:
        """Each range's part (for the writer: :func:`copy_part`) and statistics, in input order; the reader's issues
        go to ``issues`` and each range's bytes to ``sizes`` (for the progress bar). The input is hashed into
        ``hasher`` meanwhile, in a thread."""
        hashing = _Hashing(self.path, hasher)
        done: dict[int, tuple[str, int, Stats, list[Issue]]] = {}
        following = 0
        first_line = 1
        while following < len(self.ranges):
            while following not in done:
                self._receive(done)
            part, lines, st, reader_issues = done.pop(following)
            shift = first_line - 1
            st.issues = _shifted(st.issues, shift)
            issues.extend(_shifted(reader_issues, shift))
            start, end = self.ranges[following]
            sizes.append(end - start)
            yield Part(part, self._window.release), st
            first_line += lines
            following += 1
        hashing.join()

    def _receive(self, done: dict[int, tuple[str, int, Stats, list[Issue]]]) -> None:
        """Wait for the next message of any worker process; raise what a worker raised, or that it ended before
        its last message (its pipe then reads as closed: each process holds the only writing end of its own)."""
        for conn in wait(list(self._conns)):
            assert isinstance(conn, Connection)
            try:
                msg = conn.recv()
            except EOFError:
                proc = self._conns.pop(conn)
                proc.join()
                raise ChildProcessError(f"annotate worker process {proc.name} ended without finishing its ranges "
                                        f"(exit code {proc.exitcode}); run again, or with --workers 1") from None
            if msg is None:
                self._conns.pop(conn).join()
            elif isinstance(msg, BaseException):
                raise msg
            else:
                done[msg[0]] = msg[1:]

    def close(self) -> None:
        """Stop the worker processes that are still running and delete the part files."""
        for proc in self._procs:
            if proc.is_alive():
                proc.terminate()
        for proc in self._procs:
            proc.join()
        for conn in self._conns:
            conn.close()
        self._conns.clear()
        shutil.rmtree(self.parts, ignore_errors=True)


def _shifted(issues: list[Issue], shift: int) -> list[Issue]:
    if not shift:
        return issues
    return [replace(i, line=i.line + shift) if i.line is not None else i for i in issues]


class _Hashing:
    """The input hashed in a thread (hashing releases Python's lock), for the summary."""

    def __init__(self, path: str, hasher: Any) -> None:
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, args=(path, hasher), daemon=True, name="aiterms-hash")
        self._thread.start()

    def _run(self, path: str, hasher: Any) -> None:
        try:
            if hasher is None:
                return
            buf = bytearray(1 << 20)
            view = memoryview(buf)
            with open(path, "rb") as fh:
                while n := fh.readinto(buf):
                    hasher.update(view[:n])
        except BaseException as exc:  # re-raised by join
            self._error = exc

    def join(self) -> None:
        self._thread.join()
        if self._error is not None:
            raise self._error
