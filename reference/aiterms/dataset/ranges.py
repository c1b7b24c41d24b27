"""One JSON Lines file annotated by several processes, each taking ranges of whole lines
(spec/dataset.md#annotate-ranges).

A file on disk is cut, at newlines, into ranges of about RANGE_BYTES (:func:`cut`). ``--workers N`` starts N worker
processes; the parent hands each the next range when it is free, and each annotates its ranges with a worker of its
own (kernel, decision cache, store connection), keeping a range's output until the parent tells it where that output
goes: once the sizes of all earlier ranges are known, the parent sends the range's offset in the output file and the
process writes it there itself (``os.pwritev``), so the output is written once, by the processes that made it; so
too for standard output sent to a file. To a pipe (or a file opened for appending), a process sends the range's
output to the parent, which writes it in order. The parent also hashes the input and merges the statistics in input
order, making line numbers, which each process counts from its range's first line, absolute. Each process learns
what it meets on its own, in parallel, so no process waits for another's Python side. At most WINDOW_PER_WORKER
ranges per worker are out at once (handed out and not yet written), so memory stays bounded whatever the input
size.
"""

from __future__ import annotations

import contextlib
import io
import itertools
import multiprocessing
import os
import pickle
import stat
import sys
import threading
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from multiprocessing.connection import Connection, wait
from typing import IO, Any

from aiterms.dataset import manifest as M
from aiterms.dataset.decide import Options, Output, Stats, Worker
from aiterms.report import Issue

RANGE_BYTES = 8 << 20
#: Whether processes can write their ranges at offsets (POSIX); elsewhere --workers N takes the other paths
AVAILABLE = hasattr(os, "pwritev")
WINDOW_PER_WORKER = 3
_FIND_BYTES = 1 << 16
_IOV_MAX = 1024


def cut(path: str, span: int | None = None) -> list[tuple[int, int]]:
    """Byte ranges ``[start, end)`` of about ``span`` bytes (default RANGE_BYTES) covering the file, each ending
    just after a newline (the last at the end of the file), so that every line lies whole in one range."""
    span = RANGE_BYTES if span is None else span
    bounds = [0]
    with M.open_binary(path) as fh:  # a file that cannot be read is reported as such (manifest-unreadable)
        size = os.fstat(fh.fileno()).st_size
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


@dataclass(frozen=True)
class Placed:
    """A range's output, of ``size`` bytes, that a worker process writes into the output file itself (the writer
    counts it towards the next sync)."""

    size: int


# ---------------------------------------------------------------------------------------------------------------
# A worker process


def _work(path: str, opts: Options, ranges: list[tuple[int, int]], conn: Connection,
          target: str | int | None) -> None:
    """A worker process: annotate the ranges the parent hands it (``("range", k)``), and write each range's output
    at the offset the parent sends (``("at", k, offset)``) into ``target`` (the output file of the run, by path, or
    the parent's own descriptor of it, inherited), or, without a target, send it to the parent; end after
    ``("stop",)`` once everything is written."""
    worker = None
    fd = None
    try:
        worker = Worker(opts)
        fd = os.open(target, os.O_WRONLY) if isinstance(target, str) else target
        _serve(worker, opts, path, ranges, conn=conn, fd=fd)
        conn.send(None)
    except BaseException as exc:  # the parent re-raises it; a worker process must not end silently
        with contextlib.suppress(Exception):
            conn.send(_picklable(exc))
    finally:
        if worker is not None and worker.store is not None:
            worker.store.close()
        if fd is not None and isinstance(target, str):
            os.close(fd)
        with contextlib.suppress(Exception):  # what the parent sent, unread: closing over it would reset the pipe
            while conn.poll():
                conn.recv()
        conn.close()


def _serve(worker: Worker, opts: Options, path: str, ranges: list[tuple[int, int]], *, conn: Connection,
           fd: int | None) -> None:
    todo: deque[int] = deque()
    held: dict[int, list[Output]] = {}  # range -> its output, until its offset is known
    offsets: dict[int, int] = {}
    stop = False

    def place() -> None:
        for k in [k for k in held if k in offsets]:
            assert fd is not None
            conn.send(("placed", k, _pwrite(fd, held.pop(k), offsets.pop(k))))

    def handle(msg: tuple[Any, ...]) -> None:
        nonlocal stop
        if msg[0] == "range":
            todo.append(msg[1])
        elif msg[0] == "at":
            offsets[msg[1]] = msg[2]
            place()
        else:
            stop = True

    def between() -> None:  # after each block: take the parent's messages, write what may be written
        while conn.poll():
            handle(conn.recv())

    with open(path, "rb") as fh:
        while True:
            if not todo:
                if stop and not held:
                    return
                handle(conn.recv())  # nothing to do: wait for the parent
                continue
            k = todo.popleft()
            chunks, lines, st, issues = _annotate(worker, opts, fh, ranges[k], between)
            size = sum(len(c) for c in chunks)
            if fd is None:  # the output follows as raw bytes (not pickled: one copy less on each side)
                conn.send(("done", k, size, lines, st, issues, True))
                conn.send_bytes(b"".join(chunks))
            else:
                held[k] = chunks
                conn.send(("done", k, size, lines, st, issues, None))
                place()


def _annotate(worker: Worker, opts: Options, fh: IO[bytes], span: tuple[int, int],
              between: Callable[[], None]) -> tuple[list[Output], int, Stats, list[Issue]]:
    """One range: its output (in blocks), how many lines it holds, its statistics and the reader's issues (line
    numbers counted from the range's first line)."""
    reader = _RangeReader(fh, *span)
    issues: list[Issue] = []
    total = Stats()
    chunks: list[Output] = []
    for block in M.iter_jsonl_blocks(reader, issues=issues):
        data, st = worker.jsonl_block(block.first_line, block.data, counts=False)
        if data:
            chunks.append(data)
        total.merge(st, opts.max_issues)
        between()
    worker.add_counts(total)  # once for the range (spec/dataset.md#annotate-ranges)
    # the lines after this range start this many lines further on (only the last range may end without a newline,
    # and no range follows it)
    return chunks, reader.newlines, total, issues


def _pwrite(fd: int, chunks: list[Output], offset: int) -> int:
    """Write ``chunks`` one after another at ``offset`` of the file; the bytes written."""
    views = [memoryview(c) for c in chunks]
    written = 0
    while views:
        n = os.pwritev(fd, views[:_IOV_MAX], offset + written)
        if n <= 0:  # a regular file takes some bytes or raises (a full disk): never spin
            raise OSError(f"could not write the output at offset {offset + written}")
        written += n
        while views and n >= len(views[0]):
            n -= len(views[0])
            views.pop(0)
        if n:
            views[0] = views[0][n:]
    return written


def _picklable(exc: BaseException) -> BaseException:
    try:
        pickle.loads(pickle.dumps(exc))
    except Exception:  # anything that does not survive pickling is sent as its text
        return RuntimeError(f"worker process failed: {type(exc).__name__}: {exc}")
    return exc


# ---------------------------------------------------------------------------------------------------------------
# The parent


@dataclass
class _Done:
    size: int
    lines: int
    stats: Stats
    issues: list[Issue]
    data: bytes | None


class Split:
    """req-annotate over ranges: the worker processes are started when this is made (before the parent starts a
    thread of its own, as forking requires); :meth:`answers` then hands out the ranges and gives each range's
    output (bytes to write, or Placed) and statistics in input order, with line numbers made absolute; :meth:`close`
    stops whatever is left.

    The processes write into the output themselves when it is the output file of the run (``target``, its path)
    or a regular file they inherit (standard output sent to a file, when they are forked); else they send their
    output here, for ``out``."""

    def __init__(self, path: str, spans: list[tuple[int, int]], workers: int, opts: Options, context: str, *,
                 target: str | None, out: IO[bytes]) -> None:
        self.path = path
        self.ranges = spans
        # what the parent buffers would be written again by each forked process when it flushes on exit
        for stream in (out, sys.stdout, sys.stderr):
            with contextlib.suppress(Exception):
                stream.flush()
        where: str | int | None = target if target is not None else _placeable(out) if context == "fork" else None
        self.placing = where is not None
        self.end = out.tell() if self.placing else 0  # where this input's output ends, once all is written
        n = min(workers, len(spans))
        self._limit = n * WINDOW_PER_WORKER
        self._handed = 0  # ranges handed out
        self._written = 0  # ranges written (by a process, or handed to the writer here)
        self._owner: dict[int, Connection] = {}
        self._idle: list[Connection] = []
        self._done: dict[int, _Done] = {}
        ctx: Any = multiprocessing.get_context(context)  # its Process and Pipe
        self._procs: dict[Connection, Any] = {}
        try:
            for i in range(n):
                mine, theirs = ctx.Pipe()
                proc = ctx.Process(target=_work, args=(path, opts, spans, theirs, where), name=f"aiterms-range-{i}",
                                   daemon=True)
                proc.start()
                theirs.close()
                self._procs[mine] = proc
            for conn in self._procs:
                self._hand(conn)
        except BaseException:
            self.close()
            raise

    def _hand(self, conn: Connection) -> None:
        """Give a process the next range, if any is left and the window allows; else note it idle."""
        if self._handed < len(self.ranges) and self._handed - self._written < self._limit:
            k = self._handed
            self._handed += 1
            self._owner[k] = conn
            self._send(conn, ("range", k))
            if self._handed == len(self.ranges):
                for c in list(self._procs):
                    self._send(c, ("stop",))
        elif self._handed < len(self.ranges):
            self._idle.append(conn)

    def _wrote(self) -> None:
        self._written += 1
        idle, self._idle = self._idle, []
        for conn in idle:
            self._hand(conn)

    def answers(self, *, hasher: Any, issues: list[Issue], sizes: deque[int]) -> Iterator[tuple[bytes | Placed,
                                                                                                   Stats]]:
        """Each range's output (bytes for the writer, or Placed when a process writes it) and statistics, in input
        order; the reader's issues go to ``issues`` and each range's input bytes to ``sizes`` (for the progress
        bar). The input is hashed into ``hasher`` meanwhile, in a thread."""
        hashing = _Hashing(self.path, hasher)
        following = 0
        first_line = 1
        while following < len(self.ranges):
            while following not in self._done:
                self._receive()
            got = self._done.pop(following)
            if self.placing:
                self._send(self._owner.pop(following), ("at", following, self.end))
            shift = first_line - 1
            got.stats.issues = _shifted(got.stats.issues, shift)
            issues.extend(_shifted(got.issues, shift))
            start, end = self.ranges[following]
            sizes.append(end - start)
            self.end += got.size
            first_line += got.lines
            following += 1
            if got.data is not None:
                yield got.data, got.stats
                self._wrote()
            else:
                yield Placed(got.size), got.stats
        while self._procs:  # every process has written all its ranges when it ends
            self._receive()
        hashing.join()

    def _receive(self) -> None:
        """Take the next message of any worker process; raise what a worker raised, or that it ended before its
        last message (its pipe then reads as closed)."""
        for conn in wait(list(self._procs)):
            assert isinstance(conn, Connection)
            try:
                msg = conn.recv()
            except (EOFError, OSError):
                raise self._ended(conn) from None
            if msg is None:
                self._procs.pop(conn).join()
            elif isinstance(msg, BaseException):
                raise msg
            elif msg[0] == "done":
                size, lines, st, issues, sent = msg[2:]
                self._done[msg[1]] = _Done(size, lines, st, issues, self._take_bytes(conn) if sent else None)
                self._hand(conn)
            else:  # placed
                self._wrote()

    def _take_bytes(self, conn: Connection) -> bytes:
        try:
            return conn.recv_bytes()
        except (EOFError, OSError):
            raise self._ended(conn) from None

    def _send(self, conn: Connection, msg: tuple[Any, ...]) -> None:
        try:
            conn.send(msg)
        except OSError:
            raise self._ended(conn) from None

    def _ended(self, conn: Connection) -> BaseException:
        """The error for a worker process whose pipe closed before its last message: what it raised, when it said so
        before it ended, else that it died (or was killed)."""
        raised: BaseException | None = None
        while raised is None:
            try:
                if not conn.poll():
                    break
                msg = conn.recv()
            except (EOFError, OSError):
                break
            except Exception:  # a range's raw output bytes (send_bytes), not a message: skip it
                continue
            raised = msg if isinstance(msg, BaseException) else None
        proc = self._procs.pop(conn)
        proc.join()
        conn.close()
        if raised is not None:
            return raised
        return ChildProcessError(f"annotate worker process {proc.name} ended without finishing its ranges (exit "
                                 f"code {proc.exitcode}); run again, or with --workers 1")

    def close(self) -> None:
        """Stop the worker processes that are still running."""
        for proc in self._procs.values():
            if proc.is_alive():
                proc.terminate()
        for conn, proc in self._procs.items():
            proc.join()
            conn.close()
        self._procs.clear()


def _placeable(out: IO[bytes]) -> int | None:
    """The descriptor of ``out`` when processes may write into it at offsets: a regular file not opened for
    appending (where every write goes to the end)."""
    try:
        fd = out.fileno()
        if not stat.S_ISREG(os.fstat(fd).st_mode) or not out.seekable():
            return None
        import fcntl  # POSIX, as are processes writing at offsets (AVAILABLE)

        if fcntl.fcntl(fd, fcntl.F_GETFL) & os.O_APPEND:
            return None
    except (AttributeError, ImportError, OSError, ValueError, io.UnsupportedOperation):
        return None
    return fd


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
            if hasher is not None:
                M.hash_file(path, hasher)
        except BaseException as exc:  # re-raised by join
            self._error = exc

    def join(self) -> None:
        self._thread.join()
        if self._error is not None:
            raise self._error
