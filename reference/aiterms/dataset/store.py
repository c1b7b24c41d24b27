"""The declarations store (spec/dataset.md#store): SQLite, standard library only, nothing to start.

Schema (``meta.schema`` = ``1``)::

    meta(name TEXT PRIMARY KEY, value TEXT)                      -- schema version, aiterms version, created
    sources(id INTEGER PRIMARY KEY, name, kind, sha256, loaded, statements, keys)
    statements(digest BLOB PRIMARY KEY, kind, body, signal, observed, source_id, line)   WITHOUT ROWID
    keys(kind, value, digest, PRIMARY KEY (kind, value, digest))                        WITHOUT ROWID

A *statement* is one declaration (``kind`` = ``declaration``, ``body`` its canonical JSON) or the registered tags
of an asset (``kind`` = ``tags``, ``body`` ``{"tags": [...]}``); ``digest`` (BLAKE2b-128 of kind and body) makes
loading the same statement twice a no-op. Every statement keeps the source it was loaded from, its line there,
and when it was observed (the declaration's ``source.observed``, else the load time). *Keys* say what a
statement is about: an asset IRI, a URL, a photo id, an owner account (one opt-out covering a whole account), a
content hash or a domain (see :mod:`aiterms.dataset.keys`). The primary key of ``keys`` indexes every kind of
key, so a lookup is one B-tree search whatever the store's size. Loading streams its inputs in batches
(``executemany``), in WAL mode; memory does not grow with the number of declarations.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import sqlite3
from collections import OrderedDict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from aiterms.dataset._codes import (
    STORE_SCHEMA_MISMATCH,
    STORE_UNREADABLE,
    dataset_issue,
)
from aiterms.report import Issue

SCHEMA_VERSION = "1"
BATCH = 5000
_IN_CHUNK = 500  # values per "IN (...)" query (well under SQLite's variable limit)

DDL = """
CREATE TABLE IF NOT EXISTS meta(name TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS sources(
    id INTEGER PRIMARY KEY, name TEXT NOT NULL, kind TEXT NOT NULL, sha256 TEXT, loaded TEXT NOT NULL,
    statements INTEGER NOT NULL DEFAULT 0, keys INTEGER NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS statements(
    digest BLOB PRIMARY KEY, kind TEXT NOT NULL, body TEXT NOT NULL, signal TEXT, observed TEXT,
    source_id INTEGER NOT NULL REFERENCES sources(id), line INTEGER) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS keys(
    kind TEXT NOT NULL, value TEXT NOT NULL, digest BLOB NOT NULL,
    PRIMARY KEY (kind, value, digest)) WITHOUT ROWID;
"""

# Kinds of source the store reads besides aiterms records and the importers' kinds.
RECORDS = "records"
FLICKR_OPTOUT_ACCOUNTS = "flickr-optout-accounts"
URL_OPTOUT = "url-optout"
DOMAIN_OPTOUT = "domain-optout"
LIST_KINDS = (FLICKR_OPTOUT_ACCOUNTS, URL_OPTOUT, DOMAIN_OPTOUT)
# What an opt-out list entry prohibits unless --optout-use says otherwise (spec/dataset.md#req-optout-lists).
DEFAULT_OPTOUT_USES = {
    FLICKR_OPTOUT_ACCOUNTS: ("data-mining", "dataset-redistribution"),
    URL_OPTOUT: ("ai-training",),
    DOMAIN_OPTOUT: ("ai-training",),
}
# Importer kinds whose signals speak for a whole site: their declarations are keyed by domain.
SITE_KINDS = frozenset(("ai.txt", "tdmrep", "robots", "content-signal"))


class StoreError(Exception):
    """The store cannot be opened or used; ``issue`` says why (a coded issue, never a traceback)."""

    def __init__(self, issue: Issue) -> None:
        super().__init__(issue.message)
        self.issue = issue


@dataclass(slots=True)
class Item:
    """One statement to load, with the keys it is about."""

    keys: list[tuple[str, str]]
    kind: str
    body: dict[str, Any]
    line: int | None = None
    identity: dict[str, Any] | None = None  # what makes it the same statement (default: the body without
    # source.observed), so that loading a source again adds nothing


@dataclass(slots=True)
class LoadResult:
    name: str
    kind: str
    statements: int = 0  # new statements
    keys: int = 0  # new key rows
    read: int = 0  # items read
    issues: list[Issue] = field(default_factory=list)
    issue_count: int = 0

    def to_json(self) -> dict[str, Any]:
        return {"source": self.name, "kind": self.kind, "read": self.read, "statements": self.statements,
                "keys": self.keys, "issues": [i.to_json() for i in self.issues], "issueCount": self.issue_count}


def now_text() -> str:
    return datetime.now(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def _identity(item: Item) -> Any:
    """The part of a statement that identifies it: seeing it again later (a new ``source.observed``) is not a new
    statement; the first observation is kept."""
    if item.identity is not None:
        return item.identity
    src = item.body.get("source")
    if isinstance(src, dict) and "observed" in src:
        return {**item.body, "source": {k: v for k, v in src.items() if k != "observed"}}
    return item.body


def _digest(kind: str, body_json: bytes) -> bytes:
    return hashlib.blake2b(kind.encode() + b"\0" + body_json, digest_size=16).digest()


class Store:
    """An open declarations store. ``Store.create(path)`` makes a new one; ``Store.open(path)`` opens an existing
    one (``readonly`` for lookups: several processes may read at once)."""

    def __init__(self, conn: sqlite3.Connection, path: str, *, readonly: bool) -> None:
        self.conn = conn
        self.path = path
        self.readonly = readonly
        self._bodies: OrderedDict[bytes, tuple[str, Any]] = OrderedDict()

    # -- opening ---------------------------------------------------------------------------------------------

    @classmethod
    def create(cls, path: str | os.PathLike[str], *, replace: bool = True) -> Store:
        """req-store-create: a new, empty store at ``path`` (an existing file is replaced when ``replace``)."""
        p = Path(path)
        if p.is_symlink():
            p.unlink()  # never write through a link
        if replace and p.exists():
            p.unlink()
            for suffix in ("-wal", "-shm"):
                Path(str(p) + suffix).unlink(missing_ok=True)
        conn: sqlite3.Connection | None = None
        try:
            conn = sqlite3.connect(str(p), isolation_level=None)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.executescript(DDL)
            from aiterms import __version__

            conn.executemany("INSERT OR REPLACE INTO meta(name, value) VALUES (?, ?)", [
                ("schema", SCHEMA_VERSION), ("aiterms", __version__), ("created", now_text())])
        except (sqlite3.Error, OSError) as exc:
            if conn is not None:
                with contextlib.suppress(sqlite3.Error):
                    conn.close()
            for suffix in ("", "-wal", "-shm", "-journal"):  # nothing half-created is left behind
                with contextlib.suppress(OSError):
                    os.unlink(str(p) + suffix)
            raise StoreError(dataset_issue(STORE_UNREADABLE, f"{path}: cannot create the store ({exc})")) from exc
        return cls(conn, str(p), readonly=False)

    @classmethod
    def open(cls, path: str | os.PathLike[str], *, readonly: bool = True) -> Store:
        """req-store-open: open an existing store; a file that is not an aiterms store of this schema version is
        ``store-schema-mismatch``, an unreadable one ``store-unreadable``."""
        p = Path(path)
        if not p.is_file():
            raise StoreError(dataset_issue(STORE_UNREADABLE, f"{path}: no such store file"))
        try:
            if readonly:
                conn = sqlite3.connect(f"{p.resolve().as_uri()}?mode=ro", uri=True, isolation_level=None,
                                       check_same_thread=False)
            else:
                conn = sqlite3.connect(str(p), isolation_level=None)
                conn.execute("PRAGMA journal_mode=WAL")
                conn.execute("PRAGMA synchronous=NORMAL")
            row = conn.execute("SELECT value FROM meta WHERE name='schema'").fetchone()
        except sqlite3.DatabaseError as exc:
            raise StoreError(dataset_issue(STORE_SCHEMA_MISMATCH,
                                           f"{path}: not an aiterms declarations store ({exc})")) from exc
        if row is None or row[0] != SCHEMA_VERSION:
            conn.close()
            raise StoreError(dataset_issue(STORE_SCHEMA_MISMATCH, f"{path}: store schema {row[0] if row else None!r}"
                                           f", this aiterms reads schema {SCHEMA_VERSION!r}"))
        return cls(conn, str(p), readonly=readonly)

    def close(self) -> None:
        if not self.readonly:
            try:
                self.conn.execute("PRAGMA optimize")
                self.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            except sqlite3.Error:
                pass
        self.conn.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- loading ---------------------------------------------------------------------------------------------

    def load(self, name: str, kind: str, items: Iterable[Item | Issue], *, sha256: str | None = None,
             observed: str | None = None, max_issues: int = 1000) -> LoadResult:
        """req-store-load: add the statements of one source (streamed, in batches); returns what was added.

        Items may be interleaved with issues (bad entries), which are collected (at most ``max_issues`` kept,
        all counted) and never stop the load."""
        import orjson

        loaded = observed or now_text()
        result = LoadResult(name, kind)
        cur = self.conn.cursor()
        cur.execute("BEGIN")
        cur.execute("INSERT INTO sources(name, kind, sha256, loaded) VALUES (?, ?, ?, ?)", (name, kind, sha256, loaded))
        source_id = cur.lastrowid
        stmts: list[tuple[Any, ...]] = []
        key_rows: list[tuple[str, str, bytes]] = []
        before_s = self._count("statements")
        before_k = self._count("keys")
        dumps = orjson.dumps
        sort = orjson.OPT_SORT_KEYS
        for item in items:
            if isinstance(item, Issue):
                result.issue_count += 1
                if len(result.issues) < max_issues:
                    result.issues.append(item)
                continue
            result.read += 1
            body = dumps(item.body, option=sort)
            digest = _digest(item.kind, dumps(_identity(item), option=sort))
            signal = observed_at = None
            src = item.body.get("source") if item.kind == "declaration" else None
            if isinstance(src, dict):
                signal = src.get("signal")
                observed_at = src.get("observed")
            stmts.append((digest, item.kind, body.decode(), signal, observed_at or loaded, source_id, item.line))
            key_rows.extend((k, v, digest) for k, v in item.keys)
            if len(stmts) >= BATCH or len(key_rows) >= BATCH * 4:
                self._flush(cur, stmts, key_rows)
        self._flush(cur, stmts, key_rows)
        result.statements = self._count("statements") - before_s
        result.keys = self._count("keys") - before_k
        cur.execute("UPDATE sources SET statements=?, keys=? WHERE id=?", (result.statements, result.keys, source_id))
        cur.execute("COMMIT")
        return result

    def _flush(self, cur: sqlite3.Cursor, stmts: list[tuple[Any, ...]], key_rows: list[tuple[str, str, bytes]]) -> None:
        if stmts:
            cur.executemany("INSERT OR IGNORE INTO statements(digest, kind, body, signal, observed, source_id, line) "
                            "VALUES (?, ?, ?, ?, ?, ?, ?)", stmts)
            stmts.clear()
        if key_rows:
            cur.executemany("INSERT OR IGNORE INTO keys(kind, value, digest) VALUES (?, ?, ?)", key_rows)
            key_rows.clear()

    def _count(self, table: str) -> int:
        # max(rowid) is not available on WITHOUT ROWID tables; count(*) walks the table, so keep it for loads only.
        row = self.conn.execute(f"SELECT count(*) FROM {table}").fetchone()
        return int(row[0])

    # -- lookups ---------------------------------------------------------------------------------------------

    def lookup_many(self, rows: Sequence[Sequence[tuple[str, str]]]) -> list[tuple[list[Any], list[str]]]:
        """req-store-join: for each row's keys, the declarations and registered tags the store holds about any of
        them (each statement once per row, in digest order)."""
        wanted: dict[str, set[str]] = {}
        for keys in rows:
            for kind, value in keys:
                wanted.setdefault(kind, set()).add(value)
        found: dict[tuple[str, str], list[bytes]] = {}
        cur = self.conn.cursor()
        for kind, values in wanted.items():
            vals = list(values)
            for i in range(0, len(vals), _IN_CHUNK):
                part = vals[i:i + _IN_CHUNK]
                marks = ",".join("?" * len(part))
                for value, digest in cur.execute(
                        f"SELECT value, digest FROM keys WHERE kind=? AND value IN ({marks})",
                        (kind, *part)):
                    found.setdefault((kind, value), []).append(digest)
        if not found:
            return [([], []) for _ in rows]
        digests = {d for ds in found.values() for d in ds}
        bodies = self._bodies_of(digests)
        out: list[tuple[list[Any], list[str]]] = []
        for keys in rows:
            ds: set[bytes] = set()
            for k in keys:
                ds.update(found.get(k, ()))
            decls: list[Any] = []
            tags: list[str] = []
            for d in sorted(ds):
                kind, body = bodies[d]
                if kind == "declaration":
                    decls.append(body)
                else:
                    tags.extend(body.get("tags", ()))
            out.append((decls, tags))
        return out

    def _bodies_of(self, digests: set[bytes]) -> dict[bytes, tuple[str, Any]]:
        import orjson

        out: dict[bytes, tuple[str, Any]] = {}
        missing = []
        for d in digests:
            hit = self._bodies.get(d)
            if hit is not None:
                out[d] = hit
            else:
                missing.append(d)
        cur = self.conn.cursor()
        for i in range(0, len(missing), _IN_CHUNK):
            part = missing[i:i + _IN_CHUNK]
            marks = ",".join("?" * len(part))
            for digest, kind, body in cur.execute(
                    f"SELECT digest, kind, body FROM statements WHERE digest IN ({marks})", part):
                value = (kind, orjson.loads(body))
                out[digest] = value
                self._bodies[digest] = value
                if len(self._bodies) > 100_000:
                    self._bodies.popitem(last=False)
        return out

    def lookup(self, keys: Sequence[tuple[str, str]]) -> tuple[list[Any], list[str]]:
        """The declarations and tags about any of ``keys`` (see :meth:`lookup_many`)."""
        return self.lookup_many([keys])[0]

    # -- reading everything ----------------------------------------------------------------------------------

    def summary(self) -> dict[str, Any]:
        """What a report says about the store: schema, sizes (as counted when the sources were loaded), sources."""
        meta = dict(self.conn.execute("SELECT name, value FROM meta").fetchall())
        sources = [
            {"name": r[0], "kind": r[1], "sha256": r[2], "loaded": r[3], "statements": r[4]}
            for r in self.conn.execute("SELECT name, kind, sha256, loaded, statements FROM sources ORDER BY id")
        ]
        return {"schema": meta.get("schema"), "created": meta.get("created"),
                "statements": sum(int(s["statements"]) for s in sources), "sources": sources}

    def stats(self) -> dict[str, Any]:
        meta = dict(self.conn.execute("SELECT name, value FROM meta").fetchall())
        sources = [
            {"id": r[0], "name": r[1], "kind": r[2], "sha256": r[3], "loaded": r[4], "statements": r[5], "keys": r[6]}
            for r in self.conn.execute(
                "SELECT id, name, kind, sha256, loaded, statements, keys FROM sources ORDER BY id")
        ]
        by_kind = dict(self.conn.execute("SELECT kind, count(*) FROM keys GROUP BY kind").fetchall())
        signals = dict(self.conn.execute(
            "SELECT coalesce(signal, '(none)'), count(*) FROM statements GROUP BY 1").fetchall())
        return {"schema": meta.get("schema"), "aiterms": meta.get("aiterms"), "created": meta.get("created"),
                "statements": self._count("statements"), "keys": by_kind, "signals": signals, "sources": sources}

    def iter_joined(self, batch: int = 50_000) -> Iterator[list[tuple[Any, ...]]]:
        """Every (key kind, key, digest hex, statement kind, body, signal, observed, source name, line), in key
        order, in batches (for export)."""
        cur = self.conn.execute(
            "SELECT k.kind, k.value, hex(k.digest), s.kind, s.body, s.signal, s.observed, src.name, s.line "
            "FROM keys k JOIN statements s ON s.digest = k.digest JOIN sources src ON src.id = s.source_id "
            "ORDER BY k.kind, k.value")
        while True:
            rows = cur.fetchmany(batch)
            if not rows:
                return
            yield rows


EXPORT_COLUMNS = ("key_kind", "key", "digest", "statement_kind", "body", "signal", "observed", "source", "line")
