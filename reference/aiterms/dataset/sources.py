"""What ``aiterms store build`` / ``store add`` read (spec/dataset.md#store-sources).

* ``records``: aiterms records (JSON Lines, or a JSON record or array): each declaration of a valid record, keyed
  by the record's asset IRI, content URL, content hash and photo id; its registered tags too.
* ``flickr-optout-accounts``: a text file of Flickr accounts (NSID, ``flickr:<id>`` or profile URL), one per line,
  optionally followed by the date of the opt-out: one declaration per account, keyed by the owner account, so it
  covers every photo of the account (as FFHQ and Diversity in Faces handled opt-outs).
* ``url-optout``: a text file of URLs (optionally with a date), as the Do Not Train registry keeps them.
* ``domain-optout``: a text file of domains (optionally with a date): a declaration for each site and its
  subdomains.
* any importer kind of :mod:`aiterms.interop.registry` (``xmp``, ``http-headers``, ``tdmrep``, ``robots``, ...):
  the declarations it finds; site-wide signals (``robots``, ``tdmrep``, ``ai.txt``, ``content-signal``) are keyed by
  the domain of ``--url``.

Lines starting with ``#`` and blank lines of the text lists are skipped; a bad entry is reported with its line and
never stops the load.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator, Sequence
from typing import Any

import orjson

from aiterms.dataset import keys as K
from aiterms.dataset._codes import STORE_ENTRY_INVALID, STORE_SOURCE_INVALID, dataset_issue
from aiterms.dataset.manifest import MAX_LINE_BYTES, open_binary, without_compression
from aiterms.dataset.store import (
    DEFAULT_OPTOUT_USES,
    DOMAIN_OPTOUT,
    FLICKR_OPTOUT_ACCOUNTS,
    LIST_KINDS,
    RECORDS,
    SITE_KINDS,
    URL_OPTOUT,
    Item,
)
from aiterms.report import Issue
from aiterms.vocab import CONTEXT_IRI, Registry

_ACCOUNT = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:[^\s<>\"{}|\\^`]+$")
_RECORD_SUFFIXES = (".jsonl", ".ndjson", ".json", ".jsonld")


def detect_kind(path: str) -> str | None:
    """``records`` for JSON and JSON Lines files; else the importer kind the registry detects; else None."""
    name = without_compression(path)
    if name.endswith(_RECORD_SUFFIXES):
        return RECORDS
    try:
        from aiterms.interop import registry

        with open(path, "rb") as fh:
            head = fh.read(64 * 1024)
        return registry.detect_kind(path, head)
    except (ImportError, OSError):
        return None


class HashingReader:
    """Reads a source once while computing its SHA-256 (the store keeps it with the source)."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.hasher = hashlib.sha256()

    def lines(self) -> Iterator[tuple[int, bytes]]:
        stream = open_binary(self.path)
        try:
            for n, raw in enumerate(iter(lambda: stream.readline(MAX_LINE_BYTES + 1), b""), 1):
                self.hasher.update(raw)
                yield n, raw
        finally:
            stream.close()

    def read(self) -> bytes:
        from aiterms._io import read_bytes

        data = read_bytes(self.path)
        self.hasher.update(data)
        return data


def now_text() -> str:
    from aiterms.dataset.store import now_text as _now

    return _now()


# ---------------------------------------------------------------------------------------------------------------
# aiterms records


def record_items(reader: HashingReader, *, observed: str) -> Iterator[Item | Issue]:
    """req-store-records: the declarations and registered tags of every valid record, keyed by the record."""
    from aiterms import validation as validate

    registry = Registry.bundled()
    name = reader.path.lower()
    if name.endswith((".json", ".jsonld")) and not name.endswith(".jsonl"):
        data = reader.read()
        try:
            value = orjson.loads(data)
        except orjson.JSONDecodeError as exc:
            yield dataset_issue(STORE_SOURCE_INVALID, f"{reader.path}: not JSON ({exc})")
            return
        docs = value if isinstance(value, list) else [value]
        for i, doc in enumerate(docs, 1):
            yield from _record(doc, i, reader.path, registry, validate)
        return
    for n, raw in reader.lines():
        if not raw.strip():
            continue
        if len(raw) > MAX_LINE_BYTES:
            yield dataset_issue(STORE_ENTRY_INVALID, f"line longer than {MAX_LINE_BYTES} bytes; skipped", line=n)
            continue
        try:
            doc = orjson.loads(raw)
        except orjson.JSONDecodeError as exc:
            yield dataset_issue(STORE_ENTRY_INVALID, f"not JSON: {exc}", line=n)
            continue
        yield from _record(doc, n, reader.path, registry, validate)


def _record(doc: Any, line: int, path: str, registry: Registry, validate: Any) -> Iterator[Item | Issue]:
    if not isinstance(doc, dict):
        yield dataset_issue(STORE_ENTRY_INVALID, "not a record (a JSON object)", line=line)
        return
    report = validate.check(doc)
    if not report.valid:
        first = report.errors[0]
        yield dataset_issue(STORE_ENTRY_INVALID, f"invalid record ({first.code} at {first.path or '/'}: "
                            f"{first.message}); its declarations are not loaded", first.path, line=line)
        return
    keys = K.record_keys(doc, with_owner=False)
    if not keys:
        yield dataset_issue(STORE_ENTRY_INVALID, "the record has no id, contentUrl, contentHash or Flickr photo id "
                            "to key its declarations by; not loaded", line=line)
        return
    for d in doc.get("declarations") or ():
        yield Item(keys, "declaration", d, line)
    tags = [t for t in doc.get("tags") or () if isinstance(t, str) and registry.lookup(t).entry is not None]
    if tags:
        yield Item(keys, "tags", {"tags": tags}, line)


# ---------------------------------------------------------------------------------------------------------------
# Opt-out lists


def list_items(reader: HashingReader, kind: str, *, observed: str, uses: Sequence[str] | None = None,
               issued: str | None = None) -> Iterator[Item | Issue]:
    """req-optout-lists: one declaration per entry of an opt-out list, prohibiting ``uses`` (the kind's default:
    data mining and dataset redistribution for accounts, AI training for URLs and domains)."""
    from aiterms.model import parse_instant

    prohibited = tuple(uses) if uses else DEFAULT_OPTOUT_USES[kind]
    rules = [{"effect": "prohibit", "use": u} for u in prohibited]
    location_base = reader.path.rsplit("/", 1)[-1]
    for n, raw in reader.lines():
        text = raw.decode("utf-8", "replace").strip()
        if not text or text.startswith("#"):
            continue
        parts = re.split(r"[\s,;]+", text)
        token = parts[0]
        when = issued
        date_text = parts[1] if len(parts) > 1 and parts[1] else None
        keys: list[tuple[str, str]]
        by: dict[str, str] = {"role": "rights-holder"}
        if kind == FLICKR_OPTOUT_ACCOUNTS:
            acct = K.account_key(token, "flickr") if not token.startswith(("http://", "https://")) else \
                K.account_key(token)
            if acct is None or not _ACCOUNT.match(acct) or len(acct) > 2048:
                yield dataset_issue(STORE_ENTRY_INVALID, f"{token!r} is not a Flickr account (NSID such as "
                                    "12345678@N00, flickr:<id> or a profile URL); entry skipped", line=n, value=token)
                continue
            keys = [(K.OWNER, acct)]
            by["id"] = acct
        elif kind == URL_OPTOUT:
            url = K.normalize_url(token)
            if url is None:
                yield dataset_issue(STORE_ENTRY_INVALID, f"{token!r} is not an http(s) URL; entry skipped", line=n,
                                    value=token)
                continue
            keys = [(K.URL, url), (K.ASSET, url)]
            photo = K.flickr_photo_from_url(url)
            if photo:
                keys.append((K.PHOTO, photo))
        else:
            domain = K.normalize_domain(token)
            if domain is None:
                yield dataset_issue(STORE_ENTRY_INVALID, f"{token!r} is not a domain name; entry skipped", line=n,
                                    value=token)
                continue
            keys = [(K.DOMAIN, domain)]
            by["id"] = f"https://{domain}"
        if date_text is not None:
            try:
                parse_instant(date_text)
                when = date_text
            except ValueError:
                yield dataset_issue(STORE_ENTRY_INVALID, f"{date_text!r} is not an RFC 3339 date (the date of the "
                                    "opt-out); entry skipped", line=n, value=date_text)
                continue
        decl: dict[str, Any] = {"declaredBy": by, "issued": when or observed, "rules": rules,
                                "source": {"signal": kind, "location": f"{location_base}:{n}", "raw": text[:8192],
                                           "observed": observed}}
        # The same entry met again (the list loaded again later) is the same statement: its identity leaves out
        # when it was observed, and the issue date when that was only the observation date.
        identity = {"declaredBy": by, "issued": when, "rules": rules, "entry": text[:8192], "kind": kind}
        yield Item(keys, "declaration", decl, n, identity)


# ---------------------------------------------------------------------------------------------------------------
# Importer kinds


def import_items(reader: HashingReader, kind: str, *, observed: str, url: str | None = None) -> Iterator[Item | Issue]:
    """req-store-imported: the declarations an importer finds in one source, keyed by the asset it describes or,
    for site-wide signals, by the domain of ``url``."""
    from aiterms import validation as validate
    from aiterms.interop import registry

    try:
        data = reader.read()
    except OSError as exc:
        yield dataset_issue(STORE_SOURCE_INVALID, f"{reader.path}: cannot be read ({exc})")
        return
    result = registry.import_one(data, source_name=reader.path, kind=kind, url=url, observed=observed)
    for i in result.issues:
        if str(i.severity) == "error":
            yield dataset_issue(STORE_SOURCE_INVALID, f"{reader.path}: {i.code}: {i.message}", i.path)
    rec = dict(result.record)
    decls = [d for d in rec.get("declarations") or () if isinstance(d, dict)]
    if not decls:
        return
    keys: list[tuple[str, str]] = [] if kind in SITE_KINDS else K.record_keys(rec, with_owner=False)
    if not keys:
        origin = url or next((d.get("declaredBy", {}).get("id") for d in decls
                              if str(d.get("declaredBy", {}).get("id", "")).startswith(("http://", "https://"))), None)
        domain = K.host_of(origin) if origin else None
        if domain:
            keys = [(K.DOMAIN, domain)]
    if not keys:
        yield dataset_issue(STORE_SOURCE_INVALID, f"{reader.path}: the signal names no asset and no site; give --url "
                            "(the URL it was fetched from)")
        return
    for n, d in enumerate(decls):
        report = validate.check({"@context": CONTEXT_IRI, "type": "ImageRecord", "declarations": [d]})
        if not report.valid:
            first = report.errors[0]
            yield dataset_issue(STORE_ENTRY_INVALID, f"{reader.path}: imported declaration {n} is invalid "
                                f"({first.code}: {first.message}); not loaded", first.path)
            continue
        yield Item(keys, "declaration", d, None)


def items_for(path: str, kind: str, reader: HashingReader, *, observed: str, url: str | None = None,
              uses: Sequence[str] | None = None, issued: str | None = None) -> Iterator[Item | Issue]:
    """The statements of one source of ``kind``."""
    if kind == RECORDS:
        return record_items(reader, observed=observed)
    if kind in LIST_KINDS:
        return list_items(reader, kind, observed=observed, uses=uses, issued=issued)
    return import_items(reader, kind, observed=observed, url=url)


KINDS_HELP = (f"{RECORDS}, {FLICKR_OPTOUT_ACCOUNTS}, {URL_OPTOUT}, {DOMAIN_OPTOUT}, or an importer kind "
              "('aiterms import --help')")
__all__ = ["DOMAIN_OPTOUT", "FLICKR_OPTOUT_ACCOUNTS", "RECORDS", "URL_OPTOUT", "HashingReader", "detect_kind",
           "items_for"]
