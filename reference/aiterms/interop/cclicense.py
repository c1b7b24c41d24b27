"""A Creative Commons license IRI as a record (spec/interop-flickr.md#cc-license).

The input is a text file (or an argument written to one) holding one license IRI: a CC license, CC0, the Public
Domain Mark or an SPDX id of a CC license. Spellings found in the wild name one license: ``http``/``https``,
``www.``, a missing trailing slash, ``/legalcode``, ``/legalcode.xx``, ``/deed.xx``, ``/rdf``, and an IRI in the
CC REL namespace written with ``https`` (``https://creativecommons.org/ns#``) are normalized. The record carries
only ``license``: a license alone neither permits nor prohibits an AI use (spec/resolution.md#alg-license).
"""

from __future__ import annotations

import re

from aiterms.interop.base import ImportResult
from aiterms.report import Issue, Severity

KIND = "cc-license"
PRIORITY = 80  # one line of text: after every structured format
CC_NS = "http://creativecommons.org/ns#"
_STRAY_NS = re.compile(r"^https?://(?:www\.)?creativecommons\.org/ns#", re.IGNORECASE)
_MAX_LEN = 2048


def normalize_license(iri: str) -> str | None:
    """req-cc-normalize: the canonical IRI of a CC license or public-domain tool, or None when it is not one."""
    from aiterms.licenses import normalize

    text = iri.strip().strip("<>\"'")
    if not text or len(text) > _MAX_LEN or _STRAY_NS.match(text):
        return None
    try:
        return normalize(text)
    except (OSError, ValueError, KeyError):
        return None


def is_cc_namespace_term(iri: str) -> bool:
    """True for a term of the CC REL vocabulary in either spelling of its namespace (``http``/``https``)."""
    return bool(_STRAY_NS.match(iri.strip()))


def cc_term(iri: str) -> str | None:
    """``https://creativecommons.org/ns#Attribution`` -> ``http://creativecommons.org/ns#Attribution``."""
    text = iri.strip()
    m = _STRAY_NS.match(text)
    return CC_NS + text[m.end():] if m else None


def detect(name: str, head: bytes) -> bool:
    """A short text whose only content is one creativecommons.org license IRI."""
    try:
        text = head[:_MAX_LEN].decode("utf-8").strip()
    except UnicodeDecodeError:  # a text detector never accepts binary data (spec/interop.md#req-import-detect)
        return False
    return bool(text) and "\n" not in text and "creativecommons.org/" in text.lower() and " " not in text


def import_bytes(data: bytes, *, source_name: str, url: str | None = None, user_agent: str | None = None,
                 observed: str | None = None) -> ImportResult:
    """req-cc-import: one license IRI -> a record with ``license`` (and ``id`` when ``url`` is given)."""
    issues: list[Issue] = []
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return ImportResult({}, (Issue("cc-license-unreadable", Severity.WARNING,
                                       f"{source_name}: not UTF-8 text"),))
    lines = [(n, ln.strip()) for n, ln in enumerate(text.splitlines(), 1) if ln.strip() and not ln.startswith("#")]
    if len(lines) != 1:
        return ImportResult({}, (Issue("cc-license-unreadable", Severity.WARNING,
                                       f"{source_name}: expected exactly one license IRI, found {len(lines)} "
                                       "non-empty lines", line=lines[1][0] if len(lines) > 1 else None),))
    line, raw = lines[0]
    if is_cc_namespace_term(raw):
        return ImportResult({}, (Issue("cc-license-not-a-license", Severity.WARNING,
                                       f"{raw} is a term of the CC REL vocabulary (namespace {CC_NS}), not a "
                                       "license", line=line),))
    iri = normalize_license(raw)
    if iri is None:
        return ImportResult({}, (Issue("cc-license-unknown", Severity.WARNING,
                                       f"{raw!r} is not a Creative Commons license IRI aiterms knows", line=line),))
    from aiterms.licenses import lookup

    if lookup(iri) is None:
        issues.append(Issue("cc-license-unknown", Severity.WARNING,
                            f"{iri} looks like a Creative Commons IRI but is not in the license table "
                            "(unknown family, version or port); recorded as given", line=line))
    if iri != raw:
        issues.append(Issue("cc-license-normalized", Severity.INFO, f"{raw} normalized to {iri}", line=line))
    record: dict[str, object] = {"license": iri}
    if url:
        record["id"] = url
    return ImportResult(record, tuple(issues))
