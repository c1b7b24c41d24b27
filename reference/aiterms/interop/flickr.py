"""Flickr photo records (API JSON, CSV/TSV exports, Openverse TSV) as aiterms records (spec/interop-flickr.md).

A Flickr record states three things aiterms reads: the owner (an account, ``flickr:<nsid>``, who is the rights
holder), the license (a Flickr license id, mapped through the license table) and the raw tags (kept as found;
the resolver applies the tag registry, so ``no_cv`` works). One photo gives one record; a file with several
photos gives several records (:func:`import_many`; a command line writes them as JSON Lines).
"""

from __future__ import annotations

import csv
import json
import re
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from functools import cache
from typing import Any

from aiterms import limits
from aiterms.interop._rules import issue as _issue
from aiterms.interop.base import ImportResult
from aiterms.interop.cclicense import normalize_license
from aiterms.licenses import flickr_license, lookup
from aiterms.report import Issue, Severity, pointer

KIND = "flickr-json"
PRIORITY = 35  # before the generic JSON and text importers
ALIASES = ("flickr-csv", "flickr-tsv")
VERSION = "Flickr API"
NULL = "\\N"  # PostgreSQL COPY null, as in Openverse TSV files
_URL_KEYS = ("url_o", "url_k", "url_h", "url_l", "url_c", "url_z", "url_m", "url_n", "url_w", "url_s", "url_q",
             "url_t", "url_sq")
# Openverse image TSV (headerless): the column order of the catalog's image store.
OPENVERSE_COLUMNS = ("foreign_identifier", "foreign_landing_url", "image_url", "thumbnail_url", "width", "height",
                     "filesize", "license", "license_version", "creator", "creator_url", "title", "meta_data", "tags",
                     "watermarked", "provider", "source")
_SLUGS = {"by", "by-sa", "by-nd", "by-nc", "by-nc-sa", "by-nc-nd"}
_NSID = re.compile(r"^[0-9]+@N[0-9]{2}$")
_ACCOUNT = re.compile(r"^[A-Za-z0-9@_.-]{1,128}$")
_PAGE = re.compile(r"^(?:https?://)?(?:www\.)?flickr\.com/photos/(?P<owner>[^/\s]+)(?:/(?P<id>[0-9]+))?/?",
                   re.IGNORECASE)
_HTTP = re.compile(r"^https?://")
_RAW_KEYS = frozenset({"license", "license_version", "tags"})
_RAW_JSON = json.JSONEncoder(ensure_ascii=False, sort_keys=True)  # one encoder for every row, not one per row
_ESCAPED = re.compile("[\udc80-\udcff]")  # an invalid UTF-8 byte, as decoded with "surrogateescape"



def detect(name: str, head: bytes) -> bool:
    """Flickr API JSON (``"photos"``/``"photo"`` with ``"license"``/``"owner"``) or a Flickr/Openverse CSV/TSV."""
    lower = name.lower()
    if lower.endswith(".json") and (b'"ispublic"' in head or b'"photos"' in head or (
            b'"license"' in head and b'"owner"' in head and b'"id"' in head)):
        return True
    if lower.endswith((".tsv", ".csv")):
        first = head.split(b"\n", 1)[0].lower()
        return b"flickr.com/photos/" in head or (b"license" in first and (b"tags" in first or b"owner" in first))
    return False


def import_bytes(data: bytes, *, source_name: str, url: str | None = None, user_agent: str | None = None,
                 observed: str | None = None) -> ImportResult:
    """req-flickr-import: one photo -> one record. With several photos, ``url`` (the photo page) picks one; else
    the first is returned with an info issue (use :func:`import_many` for all of them)."""
    results = import_many(data, source_name=source_name, observed=observed)
    if not results:
        return ImportResult({}, ())
    if len(results) == 1:
        return results[0]
    if url:
        wanted = _photo_id(url)
        for r in results:
            if wanted and str(r.record.get("id", "")).rstrip("/").endswith("/" + wanted):
                return r
        return ImportResult({}, (_issue("flickr-photo-not-found", f"{source_name}: no photo matches {url}"),))
    first = results[0]
    note = _issue("flickr-multiple-photos", f"{source_name}: {len(results)} photos; this is the first (--url with "
                  "a photo page picks another; flickr.import_many reads them all)", "", Severity.INFO)
    return ImportResult(first.record, (*first.issues, note))


def _photo_id(url: str) -> str | None:
    m = _PAGE.match(url.strip())
    if m and m.group("id"):
        return m.group("id")
    return url.strip() if url.strip().isdigit() else None


def import_many(data: bytes, *, source_name: str, observed: str | None = None) -> list[ImportResult]:
    """req-flickr-many: every photo of a Flickr API response, photo list or CSV/TSV export, in file order.

    security#req-limits: an API response (JSON) over 16 MiB is not parsed: ``limit-input-size`` and no record.
    CSV/TSV exports are line-oriented, not documents: their rows are read whatever the file's size, and a row
    longer than 16 MiB is skipped with ``limit-line-length`` (the other rows are read). Invalid UTF-8 makes a JSON
    response unreadable (``flickr-unreadable``, no record), but in a CSV/TSV export only the rows that hold it
    (``flickr-unreadable`` at their line, no record; the other rows are read)."""
    try:
        text = data.decode("utf-8-sig")
        clean = True
    except UnicodeDecodeError:
        # Each invalid byte becomes one lone surrogate (U+DC80..U+DCFF), which valid UTF-8 never decodes to; bytes
        # under 0x80 are never part of an invalid sequence, so quotes, delimiters and line breaks are kept.
        text, clean = data.decode("utf-8-sig", "surrogateescape"), False
    if text.lstrip()[:1] in ("{", "["):
        if not clean:
            return [ImportResult({}, (_issue("flickr-unreadable", f"{source_name}: not UTF-8 text"),))]
        too_big = limits.check_size(len(data), limits.MAX_DOCUMENT_BYTES, what=source_name)
        if too_big is not None:
            return [ImportResult({}, (too_big,))]
        return _from_json(text, source_name, observed)
    return _from_table(text, source_name, observed, clean=clean)


# ---------------------------------------------------------------------------------------------------------
# API JSON

def _from_json(text: str, source_name: str, observed: str | None) -> list[ImportResult]:
    """security#req-limit-depth: JSON nested deeper than 64 is refused with ``limit-json-depth`` before it is
    parsed: no record, so no permission."""
    deep = limits.check_json_depth(text)
    if deep is not None:
        return [ImportResult({}, (deep,))]
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        return [ImportResult({}, (_issue("flickr-unreadable", f"{source_name}: not JSON: {exc.msg}",
                                         line=exc.lineno),))]
    except RecursionError:
        return [ImportResult({}, (_issue("flickr-unreadable", f"{source_name}: JSON nested too deeply"),))]
    except ValueError as exc:  # an integer longer than Python's 4,300-digit conversion limit
        return [ImportResult({}, (_issue("flickr-unreadable", f"{source_name}: not JSON: {str(exc)[:120]}"),))]
    photos: list[tuple[str, Any]]
    if isinstance(doc, dict) and isinstance(doc.get("photos"), dict):
        items = doc["photos"].get("photo")
        photos = [(pointer("photos", "photo", i), p) for i, p in enumerate(items if isinstance(items, list) else [])]
        if doc.get("stat") not in (None, "ok"):
            return [ImportResult({}, (_issue("flickr-unreadable", f"{source_name}: the API reported stat "
                                             f"{doc.get('stat')!r}"),))]
    elif isinstance(doc, dict) and isinstance(doc.get("photo"), dict):
        photos = [("/photo", doc["photo"])]
    elif isinstance(doc, dict):
        photos = [("", doc)]
    elif isinstance(doc, list):
        photos = [(pointer(i), p) for i, p in enumerate(doc)]
    else:
        photos = []
    out = []
    for ptr, photo in photos:
        if not isinstance(photo, dict):
            out.append(ImportResult({}, (_issue("flickr-unreadable", "a photo entry is not an object", ptr),)))
            continue
        owner = photo.get("owner")
        owner_name = photo.get("ownername")
        if isinstance(owner, dict):  # flickr.photos.getInfo
            owner_name = owner.get("username") or owner.get("realname") or owner_name
            owner = owner.get("nsid")
        tags: Any = photo.get("tags")
        if isinstance(tags, dict):  # getInfo: {"tag": [{"raw": ..., "_content": ...}]}
            tags = [t.get("raw") or t.get("_content") for t in tags.get("tag") or [] if isinstance(t, dict)]
        content_url = next((photo[k] for k in _URL_KEYS if isinstance(photo.get(k), str) and photo[k]), None)
        fields = {"id": photo.get("id"), "owner": owner, "ownername": owner_name, "license": photo.get("license"),
                  "tags": tags, "contentUrl": content_url}
        out.append(_record(fields, ptr=ptr, line=None, source_name=source_name, observed=observed,
                           raw={k: photo.get(k) for k in ("id", "owner", "license", "tags") if k in photo}))
    if not out:
        out.append(ImportResult({}, (_issue("flickr-unreadable", f"{source_name}: no Flickr photo record"),)))
    return out


# ---------------------------------------------------------------------------------------------------------
# CSV / TSV

def _from_table(text: str, source_name: str, observed: str | None, *, clean: bool = True) -> list[ImportResult]:
    """req-flickr-many: one record per row; a row that cannot be read is skipped with a coded issue (an over-long
    row ``limit-line-length``, a row the CSV parser refuses, with invalid UTF-8 or with the wrong number of columns
    ``flickr-unreadable``, a tags cell nested too deeply ``limit-json-depth``) and the next rows are read.

    ``clean`` is False when ``text`` was decoded with ``surrogateescape``: a row with an escaped byte is skipped."""
    cut = text.find("\n")
    first = text if cut < 0 else text[:cut]
    delimiter = "\t" if first.count("\t") >= first.count(",") else ","
    out: list[ImportResult] = []
    header: list[str] | None = None
    with _csv_field_limit(limits.MAX_LINE_BYTES):
        rows = list(_table_rows(text, delimiter, source_name))
    for line, row in rows:
        if isinstance(row, Issue):
            out.append(ImportResult({}, (row,)))
            continue
        if not clean and any(not c.isascii() and _ESCAPED.search(c) for c in row):
            out.append(ImportResult({}, (_issue("flickr-unreadable", f"{source_name}: not UTF-8 text; row skipped",
                                                line=line),)))
            continue
        if header is None:
            lowered = [c.strip().lower() for c in row]
            if "license" in lowered and any(c in lowered for c in ("id", "photo_id", "foreign_identifier")):
                header = lowered
                continue
            if len(row) == len(OPENVERSE_COLUMNS) and "flickr.com/photos/" in row[1]:
                header = list(OPENVERSE_COLUMNS)
            else:
                return [*out, ImportResult({}, (_issue(
                    "flickr-unreadable", f"{source_name}: neither a header naming license and id columns nor the "
                    "Openverse TSV layout", line=line),))]
        if len(row) != len(header):
            out.append(ImportResult({}, (_issue("flickr-unreadable", f"{source_name}: {len(row)} columns, expected "
                                                f"{len(header)}; row skipped", line=line),)))
            continue
        cells = {h: (None if v in (NULL, "") else v) for h, v in zip(header, row, strict=True)}
        tags = cells.get("tags")
        if tags and tags.lstrip().startswith("["):
            deep = limits.check_json_depth(tags, line=line)
            if deep is not None:  # security#req-limit-depth: not parsed, and the row gives no record
                out.append(ImportResult({}, (deep,)))
                continue
        out.append(_record(_table_fields(cells), ptr="", line=line, source_name=source_name, observed=observed,
                           raw={k: v for k, v in cells.items() if k in _RAW_KEYS}))
    return out


_CSV_LOCK = threading.Lock()


@contextmanager
def _csv_field_limit(size: int) -> Iterator[None]:
    """Let the csv module read fields of up to ``size`` characters (its default is 128 KiB), and restore its limit
    afterwards. ``csv.field_size_limit`` is process-wide: the lock keeps two imports from restoring each other's
    value; the limit is only ever raised, never lowered, and is back to what it was when the block ends."""
    with _CSV_LOCK:
        old = csv.field_size_limit()
        if old >= size:
            yield
            return
        csv.field_size_limit(size)
        try:
            yield
        finally:
            csv.field_size_limit(old)


class _TooLong(Exception):
    """The record being read is longer than the line limit (raised by :class:`_Lines` before the line is read)."""


class _Lines:
    """The lines of ``text`` from ``pos``, for csv.reader, counting the lines and the UTF-8 bytes of the record
    being read; a line that would make the record longer than ``limits.MAX_LINE_BYTES`` (not counting its final
    line break) raises :class:`_TooLong` instead of being copied."""

    __slots__ = ("line", "pos", "size", "start", "start_line", "text")

    def __init__(self, text: str, pos: int, line: int) -> None:
        self.text, self.pos, self.line = text, pos, line
        self.start, self.start_line, self.size = pos, line, 0

    def next_record(self) -> None:
        self.start, self.start_line, self.size = self.pos, self.line, 0

    def __iter__(self) -> _Lines:
        return self

    def __next__(self) -> str:
        text, pos = self.text, self.pos
        if pos >= len(text):
            raise StopIteration
        nl = text.find("\n", pos)
        end = len(text) if nl < 0 else nl + 1
        body = end - pos - (nl >= 0)  # characters before the line break; UTF-8 has at least as many bytes
        if self.size + body > limits.MAX_LINE_BYTES:
            raise _TooLong
        chunk = text[pos:end]
        # "surrogateescape" counts an invalid byte (decoded as one escaped surrogate) as the one byte it was
        size = len(chunk) if chunk.isascii() else len(chunk.encode("utf-8", "surrogateescape"))
        if self.size + size - (nl >= 0) > limits.MAX_LINE_BYTES:
            raise _TooLong
        self.size += size
        self.pos, self.line = end, self.line + 1
        return chunk


def _table_rows(text: str, delimiter: str, source_name: str) -> Iterator[tuple[int, list[str] | Issue]]:
    """security#req-limits, req-flickr-many: ``(line, cells)`` for every non-blank CSV/TSV record (``line`` is its
    last line, as ``csv.reader.line_num`` counts), or ``(line, issue)`` for a record that cannot be read: longer
    than 16 MiB (``limit-line-length``) or refused by the csv module (``flickr-unreadable``). Reading goes on
    after the end of that record, found by :func:`_record_end` as the csv module would find it.

    Linear time: every character is read by csv.reader at most once, and by :func:`_record_end` at most once more.
    """
    pos, line = 0, 0
    while pos < len(text):
        lines = _Lines(text, pos, line)
        reader = csv.reader(lines, delimiter=delimiter)
        while True:
            lines.next_record()
            try:
                row = next(reader)
            except StopIteration:
                return
            except (csv.Error, _TooLong) as exc:
                if isinstance(exc, _TooLong):
                    issue = limits.line_length_issue(lines.start_line + 1)
                    at = lines.start_line + 1
                else:
                    at = lines.line
                    issue = _issue("flickr-unreadable", f"{source_name}: not CSV/TSV: {exc}; row skipped",
                                   line=at)
                yield at, issue
                pos = _record_end(text, lines.start, delimiter)
                line = lines.start_line + text.count("\n", lines.start, pos)
                break
            if "".join(row).strip():  # not a blank line (nor one of empty or blank cells)
                yield lines.line, row


# One CSV record as the csv module reads it (excel dialect with the given delimiter, not strict): a quote opens a
# quoted field only at the start of a field; "" inside it is a quote; a line break ends the record only outside
# quotes. These patterns never backtrack.
_QUOTED = re.compile(r'"[^"]*(?:""[^"]*)*')
_UNQUOTED = {d: re.compile(f"[^{re.escape(d)}\r\n]*") for d in (",", "\t")}


def _record_end(text: str, pos: int, delimiter: str) -> int:
    """The offset just after the CSV record that starts at ``pos`` (after its line break, or the end of ``text``).

    Used only to skip a record that was not read; linear in the record's length."""
    unquoted = _UNQUOTED[delimiter]
    n = len(text)
    while pos < n:  # at the start of a field
        if text[pos] == '"':
            m = _QUOTED.match(text, pos)
            q = m.end() if m else n  # always matches (text[pos] is the quote)
            if q + 1 >= n:  # unterminated, or the closing quote is the last character
                return n
            q += 1  # after the closing quote
            if text[q] == delimiter:
                pos = q + 1
                continue
            if text[q] in "\r\n":
                nl = text.find("\n", q)
                return n if nl < 0 else nl + 1
            pos = q  # not strict: the rest of the field is read unquoted
        m = unquoted.match(text, pos)
        q = m.end() if m else pos  # always matches (maybe the empty string)
        if q >= n:
            return n
        if text[q] == delimiter:
            pos = q + 1
            continue
        nl = text.find("\n", q)  # a line break ends the record; the rest of that line goes with it
        return n if nl < 0 else nl + 1
    return n


def _table_fields(cells: Mapping[str, str | None]) -> dict[str, Any]:
    page = cells.get("foreign_landing_url") or cells.get("url") or cells.get("photopage")
    m = _PAGE.match(page or "")
    owner = cells.get("owner") or cells.get("nsid") or cells.get("owner_nsid")
    creator_url = _PAGE.match(cells.get("creator_url") or "")
    if not owner and m:
        owner = m.group("owner")
    if not owner and creator_url:
        owner = creator_url.group("owner")
    license_value: Any = cells.get("license")
    if license_value and cells.get("license_version") and license_value.lower() in (*_SLUGS, "cc0", "pdm"):
        license_value = (license_value, cells["license_version"])
    tags: Any = cells.get("tags")
    if tags and tags.lstrip().startswith("["):
        try:
            parsed = json.loads(tags)
            tags = [t.get("name") if isinstance(t, dict) else t for t in parsed] if isinstance(parsed, list) else tags
        except (ValueError, RecursionError):  # not JSON (incl. integers over 4,300 digits): kept as the raw cell
            pass
    return {"id": cells.get("foreign_identifier") or cells.get("id") or cells.get("photo_id") or (
        m.group("id") if m else None), "owner": owner, "ownername": cells.get("creator") or cells.get("ownername"),
        "license": license_value, "tags": tags, "contentUrl": cells.get("image_url") or cells.get("url_o")}


# ---------------------------------------------------------------------------------------------------------
# One photo -> one record

def _record(fields: Mapping[str, Any], *, ptr: str, line: int | None, source_name: str, observed: str | None,
            raw: Mapping[str, Any]) -> ImportResult:
    issues: list[Issue] = []
    record: dict[str, Any] = {}
    photo_id = str(fields["id"]).strip() if fields.get("id") is not None else None
    owner = str(fields["owner"]).strip() if fields.get("owner") else None
    if owner and not _ACCOUNT.match(owner):
        issues.append(_issue("flickr-invalid-field", f"owner {owner!r} is not a Flickr account id", ptr + "/owner",
                             line=line))
        owner = None
    if photo_id and not photo_id.isdigit():
        issues.append(_issue("flickr-invalid-field", f"photo id {photo_id!r} is not numeric", ptr + "/id", line=line))
        photo_id = None
    if owner and photo_id:
        record["id"] = f"https://www.flickr.com/photos/{owner}/{photo_id}"
    if isinstance(fields.get("contentUrl"), str) and _HTTP.match(fields["contentUrl"]):
        record["contentUrl"] = fields["contentUrl"]
    if owner:
        record["owner"] = f"flickr:{owner}"
    lic = _license(fields.get("license"), ptr + "/license", line, issues)
    if lic:
        record["license"] = lic
    tags = _tags(fields.get("tags"), ptr + "/tags", line, issues)
    if tags:
        record["tags"] = tags
    if owner and (lic or tags or fields.get("license") is not None):
        declared: dict[str, Any] = {"role": "rights-holder", "id": f"flickr:{owner}"}
        if isinstance(fields.get("ownername"), str) and fields["ownername"].strip():
            declared["name"] = fields["ownername"].strip()[:1024]
        where = f"line {line}" if line else (ptr or "/")
        source: dict[str, Any] = {"signal": "flickr", "version": VERSION,
                                  "location": f"{source_name} {where}: photo {photo_id or '?'} license and tags",
                                  "raw": _RAW_JSON.encode(raw)[:65536]}
        if observed:
            source["observed"] = observed
        record["declarations"] = [{"declaredBy": declared, "source": source}]
    return ImportResult(record, tuple(issues))


def _license(value: Any, path: str, line: int | None, issues: list[Issue]) -> str | None:
    """req-flickr-license: a Flickr license id, an Openverse (slug, version) pair or a license IRI -> its IRI."""
    if value is None:
        return None
    if isinstance(value, tuple):
        slug, version = value[0].lower(), value[1].strip()
        pair_iri = {"cc0": f"https://creativecommons.org/publicdomain/zero/{version}/",
                    "pdm": f"https://creativecommons.org/publicdomain/mark/{version}/"}.get(
            slug, f"https://creativecommons.org/licenses/{slug}/{version}/")
        if lookup(pair_iri) is None:
            issues.append(_issue("flickr-unknown-license", f"license {slug} {version} is not in the license table",
                                 path, line=line))
            return None
        return pair_iri
    text = str(value).strip()
    if text.isdigit():
        if text == "0":
            issues.append(_issue("flickr-all-rights-reserved", "license id 0: all rights reserved (no license)", path,
                                 Severity.INFO, line=line))
            return None
        flickr_iri = flickr_license(text)
        if flickr_iri is None:
            issues.append(_issue("flickr-unknown-license", f"Flickr license id {text} is not in the license table "
                                 "(ids above 10 are not verified); no license recorded", path, line=line))
        return flickr_iri
    iri = normalize_license(text)
    known = lookup(text) if iri is None else None
    if known is not None:
        iri = known.iri
    if iri is None:
        issues.append(_issue("flickr-unknown-license", f"license {text!r} is neither a Flickr license id nor a "
                             "known license IRI", path, line=line))
    return iri


def _tags(value: Any, path: str, line: int | None, issues: list[Issue]) -> list[str]:
    """req-flickr-tags: raw tags as found (space-separated in the API), duplicates dropped; near-miss and
    confusable spellings of registered tags are reported (they are not applied, spec/resolution.md#alg-tags)."""
    if value is None:
        return []
    items = value.split() if isinstance(value, str) else [t for t in value if isinstance(t, str)] \
        if isinstance(value, list) else []
    # dict.fromkeys drops duplicates in first-seen order in linear time (a list search per tag was quadratic)
    tags = list(dict.fromkeys(t for t in (item.strip() for item in items) if t))
    registry = _registry()
    if registry is not None:
        for i, t in enumerate(tags):
            m = registry.lookup(t)
            if m.kind in ("near-miss", "confusable"):
                issues.append(_issue("flickr-tag-near-miss", f"tag {t!r} looks like the registered tag "
                                     f"{m.suggestion!r} ({m.kind}) but is not it; it will not be applied",
                                     f"{path}/{i}", line=line))
    return tags


@cache
def _registry() -> Any:
    try:
        from aiterms.vocab import Registry

        return Registry.bundled()
    except (OSError, KeyError, ValueError):
        return None
