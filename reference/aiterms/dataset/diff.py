"""Re-checking a release: ``aiterms diff OLD NEW`` of two annotated outputs (spec/dataset.md#diff).

Rows are matched by a key -- the record id, else the content URL, else the photo id (``--key`` chooses) -- and
every row whose outcome (or obligations) changed is listed: for example the photos whose owners opted out since the
release, ready to be removed. Rows only in OLD (removed) or only in NEW (added) are counted. Both files are
loaded into a temporary SQLite database and joined there, so memory does not grow with their size.
"""

from __future__ import annotations

import contextlib
import csv
import io
import os
import sqlite3
import tempfile
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import orjson

from aiterms.dataset import keys as K
from aiterms.dataset import manifest as M
from aiterms.dataset._codes import DIFF_DUPLICATE_KEY, DIFF_KEY_MISSING, MANIFEST_COLUMN_MISSING, dataset_issue
from aiterms.report import Issue

KEYS = ("auto", "id", "url", "photo")
_JSON_KEYS = {"id": ("id",), "url": ("contentUrl",), "photo": ("id", "contentUrl")}
_COLUMN_KEYS = {"id": ("id", "page_url", "pageurl", "asset"), "url": ("url", "URL", "contenturl", "downloadurl"),
                "photo": ("photo_id", "photoid")}
CHANGE_COLUMNS = ("key", "old_outcome", "new_outcome", "old_obligations", "new_obligations", "old_reason",
                  "new_reason", "old_line", "new_line")


@dataclass
class DiffResult:
    old: str
    new: str
    key: str
    old_rows: int = 0
    new_rows: int = 0
    changed: int = 0
    unchanged: int = 0
    added: int = 0
    removed: int = 0
    transitions: Counter[str] = field(default_factory=Counter)
    issues: list[Issue] = field(default_factory=list)
    issue_counts: Counter[str] = field(default_factory=Counter)

    def to_json(self) -> dict[str, Any]:
        return {"old": self.old, "new": self.new, "key": self.key, "oldRows": self.old_rows, "newRows": self.new_rows,
                "changed": self.changed, "unchanged": self.unchanged, "added": self.added, "removed": self.removed,
                "transitions": dict(self.transitions.most_common()),
                "issues": {"counts": dict(self.issue_counts), "first": [i.to_json() for i in self.issues]}}

    def to_text(self) -> str:
        lines = [f"aiterms diff: {self.changed:,} rows changed outcome or obligations, {self.unchanged:,} unchanged, "
                 f"{self.removed:,} only in {self.old}, {self.added:,} only in {self.new} (key: {self.key})"]
        for t, n in self.transitions.most_common():
            lines.append(f"  {t}: {n:,}")
        for i in self.issues[:5]:
            lines.append(f"  {i.to_text()}")
        return "\n".join(lines) + "\n"


def _issue(result: DiffResult, issue: Issue, limit: int = 1000) -> None:
    result.issue_counts[issue.code] += 1
    if len(result.issues) < limit:
        result.issues.append(issue)


def _norm_key(kind: str, value: Any) -> str | None:
    if not isinstance(value, str) or not value.strip():
        return None
    v = value.strip()
    if kind == "photo":
        return K.photo_key(v) or v
    if v.startswith(("http://", "https://")):
        return K.normalize_url(v) or v
    return v


def iter_annotated(path: str, key: str, fmt: str | None = None) -> Iterator[tuple[int, str | None, str, str, str]]:
    """(line, key, outcome, obligations, reason) of every row of an annotated output."""
    kind = M.detect_format(path, fmt)
    if kind == M.JSONL:
        stream = M.open_binary(path)
        try:
            for n, raw in enumerate(iter(lambda: stream.readline(M.MAX_LINE_BYTES + 1), b""), 1):
                if not raw.strip():
                    continue
                try:
                    obj = orjson.loads(raw)
                except orjson.JSONDecodeError:
                    yield n, None, "", "", ""
                    continue
                if not isinstance(obj, dict) or "aiterms_outcome" not in obj:
                    yield n, None, "", "", ""
                    continue
                value = None
                if key == "photo":
                    for f in ("id", "contentUrl"):
                        v = obj.get(f)
                        value = K.flickr_photo_from_url(v) if isinstance(v, str) else None
                        if value:
                            break
                else:
                    value = _norm_key(key, obj.get(_JSON_KEYS[key][0]))
                obl = obj.get("aiterms_obligations")
                yield (n, value, str(obj.get("aiterms_outcome")),
                       M.OBLIGATION_SEPARATOR.join(obl) if isinstance(obl, list) else str(obl or ""),
                       str(obj.get("aiterms_reason", "")))
        finally:
            stream.close()
        return
    if kind == M.PARQUET:
        import pyarrow.parquet as pq

        pf = pq.ParquetFile(path)
        names = pf.schema_arrow.names
        col = _column_for(names, key, path)
        n = 0
        for batch in pf.iter_batches(columns=[col, *M.ANNOTATION_COLUMNS], batch_size=65536):
            d = batch.to_pydict()
            for k, o, ob, r in zip(d[col], d["aiterms_outcome"], d["aiterms_obligations"], d["aiterms_reason"],
                                   strict=True):
                n += 1
                yield n, _norm_key(key, None if k is None else str(k)), str(o), M.OBLIGATION_SEPARATOR.join(ob or []), \
                    str(r)
        return
    stream = M.open_binary(path)
    try:
        text = io.TextIOWrapper(stream, encoding="utf-8", errors="replace", newline="")
        reader = csv.reader(text, delimiter="\t" if kind == M.TSV else ",")
        header = next(reader, None) or []
        col = _column_for(header, key, path)
        idx = {h: i for i, h in enumerate(header)}
        ci, oi, bi, ri = idx[col], idx["aiterms_outcome"], idx["aiterms_obligations"], idx["aiterms_reason"]
        width = max(ci, oi, bi, ri) + 1
        for row in reader:
            if len(row) < width:
                yield reader.line_num, None, "", "", ""
                continue
            yield reader.line_num, _norm_key(key, row[ci]), row[oi], row[bi], row[ri]
    finally:
        stream.close()


def _column_for(names: list[str], key: str, path: str) -> str:
    for a in M.ANNOTATION_COLUMNS:
        if a not in names:
            raise M.ManifestError(dataset_issue(MANIFEST_COLUMN_MISSING, f"{path}: no column {a}: not an annotated "
                                                "output (aiterms annotate)"))
    lower = {n.lower(): n for n in names}
    for cand in _COLUMN_KEYS[key]:
        if cand in names:
            return cand
        if cand.lower() in lower:
            return lower[cand.lower()]
    raise M.ManifestError(dataset_issue(MANIFEST_COLUMN_MISSING, f"{path}: no column for the key {key!r} "
                                        f"(looked for {', '.join(_COLUMN_KEYS[key])})"))


def choose_key(path: str, fmt: str | None = None) -> str:
    """``auto``: the id when the first rows have one, else the URL, else the photo id."""
    for key in ("id", "url", "photo"):
        try:
            rows = iter_annotated(path, key, fmt)
            got = [r for _, r in zip(range(50), rows, strict=False)]
        except M.ManifestError:
            continue
        if any(r[1] for r in got):
            return key
    return "id"


def diff(old: str, new: str, *, key: str = "auto", fmt: str | None = None, out: Any = None,
         out_format: str = "jsonl", include_all: bool = False) -> DiffResult:
    """req-diff: the rows whose outcome or obligations differ between two annotated outputs (written to ``out``
    as JSON Lines or CSV), with counts."""
    if key == "auto":
        key = choose_key(old, fmt)
    result = DiffResult(old, new, key)
    fd, tmp = tempfile.mkstemp(prefix="aiterms-diff-", suffix=".sqlite")
    os.close(fd)
    conn = sqlite3.connect(tmp, isolation_level=None)
    try:
        conn.execute("PRAGMA journal_mode=OFF")
        conn.execute("PRAGMA synchronous=OFF")
        for table in ("old", "new"):
            conn.execute(f"CREATE TABLE {table}(key TEXT PRIMARY KEY, outcome TEXT, obligations TEXT, reason TEXT, "
                         "line INTEGER) WITHOUT ROWID")
        for table, path in (("old", old), ("new", new)):
            _load(conn, table, path, key, fmt=fmt, result=result)
        result.removed = conn.execute("SELECT count(*) FROM old WHERE key NOT IN (SELECT key FROM new)").fetchone()[0]
        result.added = conn.execute("SELECT count(*) FROM new WHERE key NOT IN (SELECT key FROM old)").fetchone()[0]
        writer = _ChangeWriter(out, out_format) if out is not None else None
        cur = conn.execute(
            "SELECT o.key, o.outcome, n.outcome, o.obligations, n.obligations, o.reason, n.reason, o.line, n.line "
            "FROM old o JOIN new n ON n.key = o.key ORDER BY n.line")
        for row in cur:
            changed = row[1] != row[2] or row[3] != row[4]
            if changed:
                result.changed += 1
                result.transitions[f"{row[1]} -> {row[2]}"] += 1
            else:
                result.unchanged += 1
            if writer is not None and (changed or include_all):
                writer.write(row)
        if writer is not None:
            writer.close()
    finally:
        conn.close()
        with contextlib.suppress(OSError):
            os.unlink(tmp)
    return result


def _load(conn: sqlite3.Connection, table: str, path: str, key: str, *, fmt: str | None, result: DiffResult) -> None:
    batch: list[tuple[str, str, str, str, int]] = []
    rows = 0
    conn.execute("BEGIN")
    for line, k, outcome, obligations, reason in iter_annotated(path, key, fmt):
        rows += 1
        if k is None:
            _issue(result, dataset_issue(DIFF_KEY_MISSING, f"{path}: row without a {key} (or not an annotated row); "
                                         "not compared", line=line))
            continue
        batch.append((k, outcome, obligations, reason, line))
        if len(batch) >= 10_000:
            _insert(conn, table, batch, path, result)
    _insert(conn, table, batch, path, result)
    conn.execute("COMMIT")
    if table == "old":
        result.old_rows = rows
    else:
        result.new_rows = rows


def _insert(conn: sqlite3.Connection, table: str, batch: list[tuple[str, str, str, str, int]], path: str,
            result: DiffResult) -> None:
    if not batch:
        return
    before = conn.total_changes
    conn.executemany(f"INSERT OR IGNORE INTO {table} VALUES (?, ?, ?, ?, ?)", batch)
    dupes = len(batch) - (conn.total_changes - before)
    if dupes:
        for _ in range(dupes):
            _issue(result, dataset_issue(DIFF_DUPLICATE_KEY, f"{path}: a key appears more than once; the first row "
                                         "is compared"))
    batch.clear()


class _ChangeWriter:
    def __init__(self, out: Any, fmt: str) -> None:
        self.out = out
        self.fmt = fmt
        self.text: io.TextIOWrapper | None = None
        if fmt == "csv":
            self.text = io.TextIOWrapper(out, encoding="utf-8", newline="")
            self.csv = csv.writer(self.text, lineterminator="\n")
            self.csv.writerow(CHANGE_COLUMNS)

    def write(self, row: tuple[Any, ...]) -> None:
        if self.text is not None:
            self.csv.writerow(row)
        else:
            obj = dict(zip(CHANGE_COLUMNS, row, strict=True))
            for k in ("old_obligations", "new_obligations"):
                obj[k] = [x for x in str(obj[k] or "").split(M.OBLIGATION_SEPARATOR) if x]
            self.out.write(orjson.dumps(obj) + b"\n")

    def close(self) -> None:
        if self.text is not None:
            self.text.flush()
            self.text.detach()
