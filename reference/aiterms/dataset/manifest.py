"""Manifest readers and writers (spec/dataset.md#formats): JSON Lines of aiterms records, CSV, TSV, Parquet.

Readers stream: JSON Lines in blocks of whole lines, CSV/TSV and Parquet in batches of rows, so memory does not
grow with the input. Compressed text inputs (``.gz``, ``.bz2``, ``.xz``) are read as they are. Writers write the
input's format with three more fields or columns (``aiterms_outcome``, ``aiterms_obligations``,
``aiterms_reason``), to a temporary file beside the output that replaces it only when the run is complete.
"""

from __future__ import annotations

import bz2
import contextlib
import csv
import gzip
import io
import lzma
import os
import sys
import tempfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Protocol

from aiterms.dataset._codes import MANIFEST_COLUMN_MISSING, MANIFEST_ROW_INVALID, MANIFEST_UNREADABLE, dataset_issue
from aiterms.dataset.columns import ColumnMap
from aiterms.report import Issue

JSONL = "jsonl"
CSV = "csv"
TSV = "tsv"
PARQUET = "parquet"
FORMATS = (JSONL, CSV, TSV, PARQUET)
BLOCK_BYTES = 1 << 20  # JSON Lines are handed out in blocks of about this size
ROW_BATCH = 2000  # CSV/TSV rows per batch
PARQUET_BATCH = 8192
MAX_LINE_BYTES = 16 * 1024 * 1024  # spec/security.md#limits-table: one JSONL line, one CSV/TSV row
ANNOTATION_COLUMNS = ("aiterms_outcome", "aiterms_obligations", "aiterms_reason")
OBLIGATION_SEPARATOR = ";"


class ManifestError(Exception):
    """A manifest cannot be read at all (unreadable file, missing columns); ``issue`` says why."""

    def __init__(self, issue: Issue) -> None:
        super().__init__(issue.message)
        self.issue = issue


#: Compressed inputs, by suffix, and what opens them (they are decompressed as they are read)
DECOMPRESSORS: dict[str, Callable[..., Any]] = {".gz": gzip.open, ".bz2": bz2.open, ".xz": lzma.open}


def without_compression(name: str) -> str:
    """A file name without its compression suffix, if it has one (lower case)."""
    name = name.lower()
    for suffix in DECOMPRESSORS:
        if name.endswith(suffix):
            return name[: -len(suffix)]
    return name


def read_as_stored(path: str) -> bool:
    """Whether the input is a regular file whose bytes are the input (not standard input, not compressed): its
    size is the input's, and it can be read from any offset."""
    return path != "-" and without_compression(path) == path.lower() and os.path.isfile(path)


def detect_format(path: str, given: str | None = None, columns: ColumnMap | None = None) -> str:
    """req-manifest-format: ``--input-format``, else the preset's layout, else the file extension (a compression
    suffix is looked through); JSON Lines by default."""
    if given:
        return given
    if columns is not None and columns.delimiter == "\t":
        return TSV
    name = without_compression(path)
    if name.endswith(".parquet") or name.endswith(".pq"):
        return PARQUET
    if name.endswith(".csv"):
        return CSV
    if name.endswith((".tsv", ".tab", ".txt")) and not name.endswith(".jsonl.txt"):
        return TSV
    return JSONL


def open_binary(path: str) -> IO[bytes]:
    """The input as a binary stream (``-`` is standard input; compressed files are decompressed on the fly)."""
    if path == "-":
        return sys.stdin.buffer
    name = path.lower()
    try:
        for suffix, opener in DECOMPRESSORS.items():
            if name.endswith(suffix):
                got: IO[bytes] = opener(path, "rb")
                return got
        return open(path, "rb")
    except OSError as exc:
        raise ManifestError(dataset_issue(MANIFEST_UNREADABLE, f"{path}: cannot be read ({exc.strerror or exc})")) \
            from exc


def hash_file(path: str, hasher: Any) -> None:
    """Feed a whole file to ``hasher`` (a hashlib object), a megabyte at a time through one buffer."""
    buf = bytearray(1 << 20)
    view = memoryview(buf)
    with open(path, "rb") as fh:
        while n := fh.readinto(buf):
            hasher.update(view[:n])


def input_size(path: str) -> int | None:
    """Bytes of an uncompressed input file (for the progress bar), None when unknown."""
    if not read_as_stored(path):
        return None
    try:
        return os.path.getsize(path)
    except OSError:
        return None


# ---------------------------------------------------------------------------------------------------------------
# JSON Lines


def _count_newlines(data: bytes) -> int:
    return data.count(b"\n")


count_lines: Callable[[bytes], int] = _count_newlines
try:  # the compiled kernel counts without the GIL, so the kernels run while the reader counts
    from aiterms.dataset import _kernel as _compiled

    count_lines = _compiled.count_lines
except ImportError:  # no compiler when the package was installed
    pass


class Readable(Protocol):
    """What the JSON Lines reader needs of its input: a binary stream, or one range of a file (:mod:`.ranges`)."""

    def read(self, n: int, /) -> bytes: ...


@dataclass(slots=True)
class Block:
    first_line: int
    data: bytes
    lines: int
    raw_bytes: int  # bytes read from the input for this block (progress)


def iter_jsonl_blocks(stream: Readable, *, block_bytes: int = BLOCK_BYTES, hasher: Any = None,
                      issues: list[Issue] | None = None) -> Iterator[Block]:
    """Blocks of whole lines (each ending with a newline), read ``block_bytes`` at a time (at most the line limit).
    A line longer than the line limit is dropped and reported (``limit-line-length``), whatever the size of the
    reads, and the lines after it are read as usual."""
    block_bytes = min(block_bytes, MAX_LINE_BYTES)  # so only a line carried over from earlier reads can be too long
    carry = b""
    line = 1
    skipping = False
    unreported = 0  # bytes read since the last block (the progress bar counts every byte once)

    def too_long() -> None:
        if issues is not None:
            issues.append(dataset_issue(MANIFEST_ROW_INVALID, f"line longer than {MAX_LINE_BYTES} bytes "
                                        "(limit-line-length); skipped", line=line))

    while True:
        chunk = stream.read(block_bytes)
        if hasher is not None and chunk:
            hasher.update(chunk)
        unreported += len(chunk)
        if not chunk:
            if carry and not skipping:
                data = carry + b"\n"
                yield Block(line, data, 1, unreported)
            return
        if skipping:
            cut = chunk.find(b"\n")
            if cut < 0:
                continue
            chunk = chunk[cut + 1:]
            line += 1
            skipping = False
        cut = chunk.rfind(b"\n")
        first = chunk.find(b"\n") if carry else -1
        if first >= 0 and len(carry) + first > MAX_LINE_BYTES:
            # the carried line ends in this chunk, over the limit all the same
            too_long()
            chunk = chunk[first + 1:]
            cut -= first + 1
            line += 1
            carry = b""
        if cut < 0:
            carry += chunk
            if len(carry) > MAX_LINE_BYTES:
                too_long()
                carry = b""
                skipping = True
            continue
        # one copy per block: the carried start of a line, then the chunk up to its last newline (none when the
        # read ends at a newline with nothing carried)
        whole = not carry and cut == len(chunk) - 1
        body = chunk if whole else b"".join((carry, memoryview(chunk)[: cut + 1]))
        carry = chunk[cut + 1:]
        n = count_lines(body)
        yield Block(line, body, n, unreported)
        unreported = 0
        line += n


# ---------------------------------------------------------------------------------------------------------------
# CSV / TSV


@dataclass(slots=True)
class RowBatch:
    first_line: int
    rows: list[dict[str, str] | None]  # the fields aiterms reads; None: a row that cannot be read
    raw: list[Any]  # what the writer needs to write the row again (the CSV row as a list, the TSV line)
    lines: list[int]  # each row's line number
    raw_bytes: int = 0


class TextRows:
    """Rows of a CSV or TSV manifest in batches; ``header`` is the input's header row (None without one)."""

    def __init__(self, stream: IO[bytes], fmt: str, columns: ColumnMap, *, hasher: Any = None,
                 name: str = "") -> None:
        self.fmt = fmt
        self.columns = columns
        self.name = name
        self.hasher = hasher
        self._bytes = _CountingReader(stream, hasher)
        self.text = io.TextIOWrapper(io.BufferedReader(self._bytes, 1 << 20), encoding="utf-8", errors="replace",
                                     newline="")
        self.delimiter = columns.delimiter or ("\t" if fmt == TSV else ",")
        self.header: list[str] | None = None
        self.index: dict[str, int] = {}
        self.width = 0
        self._line = 0
        self._first: list[str] | None = None
        self._reader: Iterator[list[str]] | None = None
        self._start()

    def _next_raw(self) -> tuple[list[str], Any, int] | None:
        if self.fmt == TSV:
            raw = self.text.readline()
            if not raw:
                return None
            self._line += 1
            text = raw.rstrip("\r\n")
            return text.split(self.delimiter), text, self._line
        assert self._reader is not None
        try:
            row = next(self._reader)
        except StopIteration:
            return None
        except csv.Error as exc:
            self._line = getattr(self._reader, "line_num", self._line + 1)
            return [], _BadRow(str(exc)), self._line
        line = getattr(self._reader, "line_num", self._line + 1)
        self._line = line
        return row, row, line

    def _start(self) -> None:
        if self.fmt == CSV:
            csv.field_size_limit(MAX_LINE_BYTES)
            self._reader = csv.reader(self.text, delimiter=self.delimiter)
        first = self._next_raw()
        cm = self.columns
        if cm.names is not None:
            names = list(cm.names)
            if first is not None:
                for alt in cm.alt_names:
                    if len(first[0]) == len(alt) and len(first[0]) != len(names):
                        names = list(alt)
            self.index, missing = cm.resolve(names)
            self.width = len(names)
            self._pending = first
            missing = [m for m in missing if m.split("=", 1)[0] not in cm.optional]
        elif first is None:
            self.index, missing = {}, []
            self._pending = None
        else:
            self.header = first[0]
            self.index, missing = cm.resolve(first[0])
            missing = [m for m in missing if m.split("=", 1)[0] not in cm.optional]
            self.width = len(first[0])
            self._pending = None
        if missing:
            raise ManifestError(dataset_issue(MANIFEST_COLUMN_MISSING, f"{self.name}: no column for "
                                              f"{', '.join(missing)} (columns: {', '.join(self.header or [])})"))
        if not any(k in self.index for k in ("url", "id", "photo_id", "owner", "hash", "license", "tags")):
            raise ManifestError(dataset_issue(MANIFEST_COLUMN_MISSING, f"{self.name}: none of the columns aiterms "
                                              "reads was found; map them with --columns field=column"))

    def batches(self, size: int = ROW_BATCH) -> Iterator[RowBatch]:
        need = max(self.index.values(), default=-1) + 1
        index = list(self.index.items())
        rows: list[dict[str, str] | None] = []
        raws: list[Any] = []
        lines: list[int] = []
        pending = self._pending
        self._pending = None
        while True:
            got = pending if pending is not None else self._next_raw()
            pending = None
            if got is None:
                break
            fields, raw, line = got
            blank = self.fmt == TSV and len(fields) == 1 and not fields[0]
            if isinstance(raw, _BadRow) or len(fields) < need or blank:
                if not blank:  # a blank TSV line is skipped
                    rows.append(None)
                    raws.append(raw)
                    lines.append(line)
            else:
                rows.append({k: fields[i] for k, i in index})
                raws.append(raw)
                lines.append(line)
            if len(rows) >= size:
                yield RowBatch(lines[0], rows, raws, lines, self._bytes.take())
                rows, raws, lines = [], [], []
        if rows:
            yield RowBatch(lines[0], rows, raws, lines, self._bytes.take())

    def row_problem(self, raw: Any) -> str:
        if isinstance(raw, _BadRow):
            return f"not a CSV row ({raw.message})"
        return f"the row has fewer fields than the columns read (needs {max(self.index.values()) + 1})"


class _BadRow:
    __slots__ = ("message",)

    def __init__(self, message: str) -> None:
        self.message = message


class _CountingReader(io.RawIOBase):
    """A binary stream that counts (and optionally hashes) what is read through it."""

    def __init__(self, stream: IO[bytes], hasher: Any) -> None:
        self.stream = stream
        self.hasher = hasher
        self.count = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buf: Any) -> int:
        data = self.stream.read(len(buf))
        n = len(data)
        buf[:n] = data
        self.count += n
        if self.hasher is not None and data:
            self.hasher.update(data)
        return n

    def take(self) -> int:
        n, self.count = self.count, 0
        return n


# ---------------------------------------------------------------------------------------------------------------
# Parquet


def parquet_batches(path: str, columns: ColumnMap, *, batch_size: int = PARQUET_BATCH) -> tuple[Any, Iterator[Any],
                                                                                                  dict[str, int], int]:
    """(schema, record batches, field -> column index, total rows) of a Parquet manifest (pyarrow, lazily)."""
    try:
        import pyarrow.parquet as pq
    except ImportError as exc:  # pragma: no cover - depends on the installation
        raise ManifestError(dataset_issue(MANIFEST_UNREADABLE, f"{path}: reading Parquet needs pyarrow "
                                          "(pip install 'aiterms[parquet]')")) from exc
    try:
        pf = pq.ParquetFile(path)
    except Exception as exc:
        raise ManifestError(dataset_issue(MANIFEST_UNREADABLE, f"{path}: not a readable Parquet file ({exc})")) \
            from exc
    schema = pf.schema_arrow
    index, missing = columns.resolve(schema.names)
    missing = [m for m in missing if m.split("=", 1)[0] not in columns.optional]
    if missing:
        raise ManifestError(dataset_issue(MANIFEST_COLUMN_MISSING, f"{path}: no column for {', '.join(missing)} "
                                          f"(columns: {', '.join(schema.names)})"))
    if not index:
        raise ManifestError(dataset_issue(MANIFEST_COLUMN_MISSING, f"{path}: none of the columns aiterms reads was "
                                          "found; map them with --columns field=column"))
    return schema, pf.iter_batches(batch_size=batch_size), index, pf.metadata.num_rows


def rows_of_batch(batch: Any, index: dict[str, int]) -> list[dict[str, str] | None]:
    """The fields aiterms reads, as text, of every row of an Arrow record batch."""
    cols = {name: batch.column(i).to_pylist() for name, i in index.items()}
    n = batch.num_rows
    out: list[dict[str, str] | None] = []
    for r in range(n):
        row: dict[str, str] = {}
        for name, values in cols.items():
            v = values[r]
            if v is None:
                continue
            if isinstance(v, list | tuple):
                v = ",".join(str(x) for x in v if x is not None)
            row[name] = v if isinstance(v, str) else str(v)
        out.append(row)
    return out


def annotate_batch(batch: Any, outcomes: Sequence[str], obligations: Sequence[Sequence[str]],
                   reasons: Sequence[str]) -> Any:
    import pyarrow as pa

    return pa.RecordBatch.from_arrays(
        [*batch.columns, pa.array(outcomes, pa.string()), pa.array([list(o) for o in obligations],
                                                                     pa.list_(pa.string())),
         pa.array(reasons, pa.string())],
        names=[*batch.schema.names, *ANNOTATION_COLUMNS])


def annotated_schema(schema: Any) -> Any:
    import pyarrow as pa

    return pa.schema([*schema, pa.field(ANNOTATION_COLUMNS[0], pa.string()),
                      pa.field(ANNOTATION_COLUMNS[1], pa.list_(pa.string())),
                      pa.field(ANNOTATION_COLUMNS[2], pa.string())])


# ---------------------------------------------------------------------------------------------------------------
# Output


class AtomicOutput:
    """A binary output that appears at ``path`` only when :meth:`commit` is called (temp file, fsync, rename);
    ``-`` is standard output. A symlink at ``path`` is replaced, never written through."""

    def __init__(self, path: str | None, stdout: IO[bytes] | None = None) -> None:
        self.path = path
        self._tmp: str | None = None
        self.stream: IO[bytes]
        if path is None or path == "-":
            self.stream = stdout if stdout is not None else sys.stdout.buffer
        else:
            target = Path(path)
            directory = target.parent if str(target.parent) else Path(".")
            try:
                fd, self._tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=directory)
            except OSError as exc:  # name the output asked for, not the temporary file beside it
                raise OSError(exc.errno, f"{path}: cannot be written ({exc.strerror})") from exc
            self.stream = os.fdopen(fd, "wb", buffering=1 << 20)

    @property
    def tmp_path(self) -> str | None:
        return self._tmp

    def sync(self) -> None:
        """Write what was written so far to disk now (a temp file only): called as the output grows, so the disk
        writes overlap the run and the fsync of :meth:`commit` has little left to wait for."""
        if self._tmp is not None:
            self.stream.flush()
            getattr(os, "fdatasync", os.fsync)(self.stream.fileno())

    def commit(self) -> None:
        if self._tmp is None:
            self.stream.flush()
            return
        self.stream.flush()
        os.fsync(self.stream.fileno())
        self.stream.close()
        assert self.path is not None
        os.replace(self._tmp, self.path)
        self._tmp = None

    def abort(self) -> None:
        if self._tmp is not None:
            with contextlib.suppress(OSError):
                self.stream.close()
            with contextlib.suppress(OSError):
                os.unlink(self._tmp)
            self._tmp = None


class TextWriter:
    """CSV/TSV output: the input's rows with the three annotation columns appended (a short row is padded to the
    input's width first, so the annotations stay in their columns)."""

    def __init__(self, out: IO[bytes], fmt: str, delimiter: str, header: list[str] | None, *, annotate: bool,
                 width: int = 0) -> None:
        self.text = io.TextIOWrapper(out, encoding="utf-8", newline="", write_through=False)
        self.fmt = fmt
        self.annotate = annotate
        self.delimiter = delimiter
        self.width = width
        self.csv = csv.writer(self.text, delimiter=delimiter, lineterminator="\n") if fmt == CSV else None
        if header is not None:
            self.write_row(header if self.csv is not None else delimiter.join(header),
                           list(ANNOTATION_COLUMNS) if annotate else [])

    def write_row(self, raw: Any, extra: Sequence[str]) -> None:
        if self.csv is not None:
            row = list(raw) if isinstance(raw, list) else []
            if extra and len(row) < self.width:
                row.extend([""] * (self.width - len(row)))
            self.csv.writerow([*row, *extra])
        else:
            text = raw if isinstance(raw, str) else ""
            if extra:
                fields = text.count(self.delimiter) + 1
                if fields < self.width:
                    text += self.delimiter * (self.width - fields)
            self.text.write(self.delimiter.join([text, *extra]) if extra else text)
            self.text.write("\n")

    def close(self) -> None:
        self.text.flush()
        self.text.detach()


def write_rows(path: str, fmt: str, rows: Iterable[dict[str, str]]) -> None:
    """Write plain manifest rows (dicts of text with the same keys) as CSV, TSV or Parquet (for tests, synth)."""
    it = iter(rows)
    first = next(it, None)
    names = list(first) if first is not None else []
    if fmt == PARQUET:
        import pyarrow as pa
        import pyarrow.parquet as pq

        schema = pa.schema([pa.field(n, pa.string()) for n in names])
        out = AtomicOutput(path)
        try:
            with pq.ParquetWriter(out.stream, schema) as writer:
                batch: list[dict[str, str]] = [first] if first is not None else []
                for row in it:
                    batch.append(row)
                    if len(batch) >= 50_000:
                        writer.write_table(pa.Table.from_pylist(batch, schema))
                        batch = []
                if batch:
                    writer.write_table(pa.Table.from_pylist(batch, schema))
            out.commit()
        except BaseException:
            out.abort()
            raise
        return
    out = AtomicOutput(path)
    try:
        text = io.TextIOWrapper(out.stream, encoding="utf-8", newline="")
        w = csv.writer(text, delimiter="\t" if fmt == TSV else ",", lineterminator="\n",
                       quoting=csv.QUOTE_NONE if fmt == TSV else csv.QUOTE_MINIMAL,
                       escapechar="\\" if fmt == TSV else None)
        w.writerow(names)
        if first is not None:
            w.writerow([first[n] for n in names])
        for row in it:
            w.writerow([row.get(n, "") for n in names])
        text.flush()
        text.detach()
        out.commit()
    except BaseException:
        out.abort()
        raise
