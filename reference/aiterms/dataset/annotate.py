"""``aiterms annotate`` and ``aiterms filter`` over whole manifests (spec/dataset.md#annotate).

The parent process reads the input (JSON Lines in blocks of whole lines, CSV/TSV and Parquet in batches of rows),
hashes it as it goes (in a reader thread), hands the blocks to workers (in this process with ``--workers 1``; for
a JSON Lines file on disk, N processes each taking ranges of the file, :mod:`.ranges`; for other JSON Lines with
the compiled kernel and no store, N threads sharing one worker, :mod:`.kernel`; else a pool of processes), with a
bounded number of blocks in flight so memory stays flat whatever the input size, and writes the answers in input
order (JSON Lines output from a writer thread). Each worker process keeps its own decision cache
(:mod:`.fastpath`) and, with a store, its own read-only SQLite connection.
"""

from __future__ import annotations

import gc
import hashlib
import multiprocessing
import os
import queue
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import IO, Any, TextIO, TypeVar

from aiterms.dataset import kernel, ranges
from aiterms.dataset import manifest as M
from aiterms.dataset.decide import Options, Output, Stats, Worker
from aiterms.dataset.progress import Progress
from aiterms.dataset.report import Summary, versions
from aiterms.model import ALLOWED, CONSTRAINED, Query
from aiterms.report import Issue

T = TypeVar("T")
IN_FLIGHT_PER_WORKER = 3
SYNC_BYTES = 64 << 20  # the output file is synced to disk as it grows, every this many bytes


class UsageError(Exception):
    """Bad options (exit code 2); the message says what to change."""


@dataclass
class Run:
    """One annotate or filter run."""

    inputs: list[str]
    output: str | None = None
    input_format: str | None = None
    workers: int = 1
    summary_path: str | None = None
    report_path: str | None = None
    progress: TextIO | None = None  # where the progress bar goes (drawn only on a terminal)
    quiet: bool = False
    command: str = "annotate"
    stdout: IO[bytes] | None = None  # where output without -o goes (default: the process's standard output)


def now_text() -> str:
    return datetime.now(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def prepare_query(query: Query) -> Query:
    """req-annotate-query: the query checked, with the date of use fixed once for the whole run (default: now)."""
    from aiterms.resolution import check_query

    fixed, problems = check_query(query if query.at is not None else replace(query, at=now_text()))
    if problems:
        raise UsageError("; ".join(f"{p.path or 'query'}: {p.message}" for p in problems))
    return fixed


def keep_set(include_constrained: bool) -> frozenset[str]:
    """req-filter-keep: filter keeps ``allowed`` rows (and ``constrained`` ones when asked); never any other."""
    return frozenset({ALLOWED, CONSTRAINED} if include_constrained else {ALLOWED})


# ---------------------------------------------------------------------------------------------------------------
# Worker processes


_WORKER: Worker | None = None


def _init(opts: Options) -> None:
    global _WORKER  # noqa: PLW0603 -- one engine per worker process
    _WORKER = Worker(opts)


def _jsonl_task(task: tuple[int, bytes]) -> tuple[bytes, Stats]:
    assert _WORKER is not None
    data, st = _WORKER.jsonl_block(*task)
    return bytes(data), st  # sent back to the parent: a view of a kernel's buffer is not picklable


def _rows_task(task: tuple[int, list[dict[str, str] | None]]) -> tuple[list[tuple[str, tuple[str, ...], str, bool]],
                                                                        Stats]:
    assert _WORKER is not None
    entries, st = _WORKER.rows(*task)
    return [(e.outcome, e.obligations, e.reason, e.keep) for e in entries], st


def _ordered(tasks: Iterator[Any], fn: Callable[[Any], T], workers: int, opts: Options,
             context: str) -> Iterator[T]:
    """``fn`` over ``tasks`` in ``workers`` processes, results in task order, at most a few tasks in flight per
    worker (so the reader never runs ahead of the writer by more than that)."""
    if workers <= 1:
        _init(opts)
        try:
            for t in tasks:
                yield fn(t)
        finally:
            _close_worker()
        return
    ctx = multiprocessing.get_context(context)
    with ctx.Pool(workers, initializer=_init, initargs=(opts,)) as pool:
        window: deque[Any] = deque()
        limit = workers * IN_FLIGHT_PER_WORKER
        for t in tasks:
            window.append(pool.apply_async(fn, (t,)))
            if len(window) >= limit:
                yield window.popleft().get()
        while window:
            yield window.popleft().get()


def _ordered_threads(tasks: Iterator[tuple[int, bytes]], workers: int,
                     opts: Options) -> Iterator[tuple[Output, Stats]]:
    """JSON Lines blocks answered by ``workers`` threads of one worker, results in task order: each thread runs a
    compiled kernel of its own over a whole block, without the GIL (spec/dataset.md#fast-path-key), then the lines
    it could not answer take the worker's Python path, one thread at a time (KernelRunner.block with ``defer``). No
    process is started and nothing is copied between processes."""
    from concurrent.futures import Future, ThreadPoolExecutor

    worker = Worker(opts)
    if worker.kernel is not None:
        worker.kernel.defer = True
    was = gc.isenabled()
    gc.disable()  # records hold no reference cycles; the collector would only rescan them
    try:
        with ThreadPoolExecutor(workers, thread_name_prefix="aiterms-kernel") as pool:
            window: deque[Future[tuple[Output, Stats]]] = deque()
            limit = workers * IN_FLIGHT_PER_WORKER
            for first, data in tasks:
                window.append(pool.submit(worker.jsonl_block, first, data))
                if len(window) >= limit:
                    yield window.popleft().result()
            while window:
                yield window.popleft().result()
    finally:
        if was:
            gc.enable()
        if worker.store is not None:
            worker.store.close()


def _close_worker() -> None:
    global _WORKER  # noqa: PLW0603
    if _WORKER is not None and _WORKER.store is not None:
        _WORKER.store.close()
    _WORKER = None


def _prefetch(it: Iterator[T], size: int = 4) -> Iterator[T]:
    """Run an iterator in a thread, a few items ahead (reading and hashing release the GIL)."""
    q: queue.Queue[Any] = queue.Queue(maxsize=size)
    done = object()

    def feed() -> None:
        try:
            for x in it:
                q.put(x)
        except BaseException as exc:
            q.put(_Raised(exc))
            return
        q.put(done)

    th = threading.Thread(target=feed, daemon=True)
    th.start()
    while True:
        x = q.get()
        if x is done:
            return
        if isinstance(x, _Raised):
            raise x.exc
        yield x


class _Raised:
    def __init__(self, exc: BaseException) -> None:
        self.exc = exc


class _Writer:
    """Writes blocks in a thread of its own, a few behind (a write releases the GIL, so writing the output overlaps
    answering the next blocks); a block is bytes, or output a worker process wrote into the output file itself
    (ranges.Placed: only counted towards the next sync). :meth:`close` waits for the last block and raises what
    writing raised."""

    def __init__(self, stream: IO[bytes], size: int = 4, *, sync: Callable[[], None] | None = None) -> None:
        self._q: queue.Queue[Output | ranges.Placed | None] = queue.Queue(maxsize=size)
        self._error: BaseException | None = None
        self._stream = stream
        self._sync = sync  # called after about SYNC_BYTES written (AtomicOutput.sync)
        self._unsynced = 0
        self._thread = threading.Thread(target=self._run, daemon=True, name="aiterms-writer")
        self._thread.start()

    def _run(self) -> None:
        while True:
            data = self._q.get()
            if data is None:
                return
            if self._error is None:
                try:
                    if isinstance(data, ranges.Placed):  # written into the output by a worker process
                        self._unsynced += data.size
                    else:
                        self._stream.write(data)
                        self._unsynced += len(data)
                    if self._sync is not None and self._unsynced >= SYNC_BYTES:
                        self._unsynced = 0
                        self._sync()
                except BaseException as exc:  # kept for close(): the writer thread itself must not die silently
                    self._error = exc

    def write(self, data: Output | ranges.Placed) -> None:
        if self._error is not None:
            raise self._error
        self._q.put(data)

    def close(self, *, check: bool = True) -> None:
        """Wait for the writes; raise what writing raised (unless ``check`` is false: the run failed already)."""
        self._q.put(None)
        self._thread.join()
        if check and self._error is not None:
            raise self._error


def _context_for(fmt: str) -> str:
    # fork is fastest and safe while the parent runs no threads of a library; pyarrow starts threads, so Parquet
    # inputs use spawn. Only POSIX has fork.
    if fmt != M.PARQUET and "fork" in multiprocessing.get_all_start_methods() and sys.platform != "darwin":
        return "fork"
    return "spawn"


# ---------------------------------------------------------------------------------------------------------------
# The run


def run(cfg: Run, opts: Options, *, stderr: TextIO) -> Summary:
    """req-annotate: annotate or filter every input into one output and return the summary (also written to
    ``cfg.summary_path`` / ``cfg.report_path`` when given)."""
    if cfg.workers < 1:
        raise UsageError("--workers must be at least 1")
    formats = {M.detect_format(p, cfg.input_format, opts.columns) for p in cfg.inputs}
    if len(formats) != 1:
        raise UsageError(f"all inputs must have one format, got {', '.join(sorted(formats))}")
    fmt = formats.pop()
    if fmt not in M.FORMATS:
        raise UsageError(f"unknown input format {fmt!r} (formats: {', '.join(M.FORMATS)})")
    if fmt == M.PARQUET and (cfg.output in (None, "-")):
        raise UsageError("Parquet output needs a file: give -o FILE")
    store_info = None
    if opts.store:
        from aiterms.dataset.store import Store

        with Store.open(opts.store) as st:
            store_info = {"path": opts.store, **st.summary()}
    started = now_text()
    t0 = time.monotonic()
    summary = Summary(command=cfg.command, query=opts.query.to_json(), started=started, workers=cfg.workers,
                      store=store_info, versions=versions(), kept=0 if opts.keep is not None else None)
    sizes = [M.input_size(p) if fmt != M.PARQUET else None for p in cfg.inputs]
    total = sum(s for s in sizes if s is not None) if all(s is not None for s in sizes) else None
    progress = Progress(None if cfg.quiet else cfg.progress, total=total or None,
                        label=f"aiterms {cfg.command}")
    out = M.AtomicOutput(cfg.output, cfg.stdout)
    merged = Stats()
    try:
        for path in cfg.inputs:
            hasher = hashlib.sha256()
            info: dict[str, Any] = {"path": path, "format": fmt}
            if fmt == M.JSONL:
                _run_jsonl(path, cfg, opts, out.stream, hasher=hasher, merged=merged, progress=progress,
                           sync=out.sync, target=out.tmp_path)
            elif fmt == M.PARQUET:
                _run_parquet(path, cfg, opts, out, hasher=hasher, merged=merged, progress=progress)
            else:
                _run_text(path, fmt, cfg, opts, out.stream, hasher=hasher, merged=merged, progress=progress)
            info["sha256"] = hasher.hexdigest()
            info["bytes"] = _size(path)
            summary.inputs.append(info)
        out.commit()
    except BaseException:
        out.abort()
        raise
    finally:
        progress.close()
    summary.seconds = time.monotonic() - t0
    summary.finished = now_text()
    summary.rows = merged.rows
    summary.invalid = merged.invalid
    if opts.keep is not None:
        summary.kept = merged.kept
    summary.counts = merged.counts
    summary.issue_counts = merged.issue_counts
    summary.issues = merged.issues
    summary.fast_path = {"signed": merged.signed, "fullPath": merged.full, "cacheMisses": merged.misses,
                         "mismatches": merged.mismatches, "storeJoined": merged.joined}
    summary.output = {"path": cfg.output or "-", "format": fmt}
    write_reports(summary, cfg)
    return summary


def write_reports(summary: Summary, cfg: Run) -> None:
    """req-report-files: the JSON summary and the HTML report, written atomically."""
    from aiterms._io import atomic_write

    if cfg.summary_path:
        import orjson

        atomic_write(cfg.summary_path, orjson.dumps(summary.to_json(), option=orjson.OPT_INDENT_2) + b"\n")
    if cfg.report_path:
        from aiterms.dataset.html import render

        atomic_write(cfg.report_path, render(summary).encode("utf-8"))


def _size(path: str) -> int | None:
    try:
        return os.path.getsize(path) if path != "-" else None
    except OSError:
        return None


def _issue_prefix(cfg: Run, path: str, issues: list[Issue]) -> list[Issue]:
    if len(cfg.inputs) <= 1:
        return issues
    return [Issue(i.code, i.severity, f"{path}: {i.message}", i.path, i.line, i.column, i.value) for i in issues]


def _run_jsonl(path: str, cfg: Run, opts: Options, out: IO[bytes], *, hasher: Any, merged: Stats,
               progress: Progress, sync: Callable[[], None] | None = None, target: str | None = None) -> None:
    reader_issues: list[Issue] = []
    sizes: deque[int] = deque()
    split: ranges.Split | None = None
    stream: IO[bytes] | None = None
    try:
        answers: Iterator[tuple[Output | ranges.Placed, Stats]]
        # only a file whose bytes are the input can be cut into ranges that processes read on their own
        spans = ranges.cut(path) if cfg.workers > 1 and ranges.AVAILABLE and M.read_as_stored(path) else []
        if len(spans) > 1:
            # a file on disk: processes over ranges of it (spec/dataset.md#annotate-ranges), started before this
            # process starts a thread; they write into the output themselves where they can, after what is in it
            split = ranges.Split(path, spans, cfg.workers, opts, _context_for(M.JSONL), target=target, out=out)
            answers = split.answers(hasher=hasher, issues=reader_issues, sizes=sizes)
        else:
            stream = M.open_binary(path)
            blocks = _prefetch(M.iter_jsonl_blocks(stream, hasher=hasher, issues=reader_issues))

            def tasks() -> Iterator[tuple[int, bytes]]:
                for b in blocks:
                    sizes.append(b.raw_bytes)
                    yield (b.first_line, b.data)

            if cfg.workers > 1 and kernel.available() and not opts.store:
                answers = _ordered_threads(tasks(), cfg.workers, opts)
            else:
                answers = _ordered(tasks(), _jsonl_task, cfg.workers, opts, _context_for(M.JSONL))
        writer = _Writer(out, sync=sync)
        done = False
        try:
            for data, st in answers:
                if data:
                    writer.write(data)
                st.issues = _issue_prefix(cfg, path, st.issues)
                merged.merge(st, opts.max_issues)
                progress.update(st.rows, sizes.popleft() if sizes else 0)
            done = True
        finally:
            writer.close(check=done)
        if split is not None and split.placing:
            out.seek(split.end)  # after what the worker processes wrote
    finally:
        if split is not None:
            split.close()
        if stream is not None and stream is not sys.stdin.buffer:
            stream.close()
    for i in _issue_prefix(cfg, path, reader_issues):
        merged.invalid += 1
        merged.rows += 1
        merged.issue_counts[i.code] += 1
        if len(merged.issues) < opts.max_issues:
            merged.issues.append(i)


def _reader_issue(merged: Stats, opts: Options, issue: Issue) -> None:
    merged.issue_counts[issue.code] += 1
    if len(merged.issues) < opts.max_issues:
        merged.issues.append(issue)


def _run_text(path: str, fmt: str, cfg: Run, opts: Options, out: IO[bytes], *, hasher: Any, merged: Stats,
              progress: Progress) -> None:
    from aiterms.dataset._codes import MANIFEST_ROW_INVALID, dataset_issue

    stream = M.open_binary(path)
    try:
        rows = M.TextRows(stream, fmt, opts.columns, hasher=hasher, name=path)
        annotate = opts.keep is None or opts.annotate_filtered
        writer = M.TextWriter(out, fmt, rows.delimiter, rows.header, annotate=annotate, width=rows.width)
        pending: deque[M.RowBatch] = deque()

        def tasks() -> Iterator[tuple[int, list[dict[str, str] | None]]]:
            for b in rows.batches():
                pending.append(b)
                yield (b.first_line, b.rows)

        for answers, st in _ordered(tasks(), _rows_task, cfg.workers, opts, _context_for(fmt)):
            batch = pending.popleft()
            for row, raw, line, (outcome, obligations, reason, keep) in zip(batch.rows, batch.raw, batch.lines,
                                                                             answers, strict=True):
                if row is None:
                    _reader_issue(merged, opts, dataset_issue(
                        MANIFEST_ROW_INVALID, f"{path + ': ' if len(cfg.inputs) > 1 else ''}"
                        f"{rows.row_problem(raw)}", line=line))
                if opts.keep is None:
                    writer.write_row(raw, (outcome, M.OBLIGATION_SEPARATOR.join(obligations), reason))
                elif keep and row is not None:
                    writer.write_row(raw, (outcome, M.OBLIGATION_SEPARATOR.join(obligations), reason)
                                     if annotate else ())
            st.issues = _issue_prefix(cfg, path, st.issues)
            merged.merge(st, opts.max_issues)
            progress.update(st.rows, batch.raw_bytes)
        writer.close()
    finally:
        if stream is not sys.stdin.buffer:
            stream.close()


def _run_parquet(path: str, cfg: Run, opts: Options, out: M.AtomicOutput, *, hasher: Any, merged: Stats,
                 progress: Progress) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    schema, batches, index, total_rows = M.parquet_batches(path, opts.columns)
    M.hash_file(path, hasher)
    if progress.total is None:
        progress.total = total_rows
    annotate = opts.keep is None or opts.annotate_filtered
    out_schema = M.annotated_schema(schema) if annotate else schema
    pending: deque[Any] = deque()
    line = 1

    def tasks() -> Iterator[tuple[int, list[dict[str, str] | None]]]:
        nonlocal line
        for b in batches:
            pending.append(b)
            first = line
            line += b.num_rows
            yield (first, M.rows_of_batch(b, index))

    writer = getattr(out, "_pq_writer", None)
    if writer is None:
        writer = pq.ParquetWriter(out.stream, out_schema)
        out._pq_writer = writer  # type: ignore[attr-defined]
    for answers, st in _ordered(tasks(), _rows_task, cfg.workers, opts, _context_for(M.PARQUET)):
        batch = pending.popleft()
        outcomes = [a[0] for a in answers]
        obligations = [a[1] for a in answers]
        reasons = [a[2] for a in answers]
        if opts.keep is not None:
            mask = pa.array([a[3] for a in answers], pa.bool_())
            if annotate:
                batch = M.annotate_batch(batch, outcomes, obligations, reasons)
            batch = batch.filter(mask)
        else:
            batch = M.annotate_batch(batch, outcomes, obligations, reasons)
        writer.write_batch(batch)
        st.issues = _issue_prefix(cfg, path, st.issues)
        merged.merge(st, opts.max_issues)
        progress.update(st.rows, st.rows)
    if path == cfg.inputs[-1]:
        writer.close()
