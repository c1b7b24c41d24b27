"""Embed a record's terms in an image's XMP without losing a byte (spec/embedding.md).

``embed(image, record)`` returns the new image bytes; :func:`embed_bytes` returns them with the warnings and the
PLUS value written; :func:`embed_file` is the file-level operation behind ``aiterms embed`` (``-o OUT``,
``--in-place``, ``--sidecar``), with atomic writes. The compressed image data is never decoded: only the XMP packet
changes (and, where the container needs it, the lengths and offsets that point at it).
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

from aiterms.interop import containers, xmp
from aiterms.interop.containers import ContainerError, coded, register_codes
from aiterms.interop.xmpwrite import merge_packet
from aiterms.report import Issue, Severity

Mode = Literal["image", "sidecar"]

# --- codes (home: spec/embedding.md) -------------------------------------------------------------------------------
C2PA_REFUSE = "c2pa-signed-refuse-in-place"
XMP_AMBIGUOUS = containers.XMP_AMBIGUOUS
RECORD_INVALID = "embed-record-invalid"
VERIFY_FAILED = "embed-verify-failed"
CONTENT_HASH_STALE = "embed-content-hash-stale"
C2PA_FORCED = "c2pa-signature-invalidated"
register_codes({C2PA_REFUSE: Severity.ERROR, RECORD_INVALID: Severity.ERROR,
                VERIFY_FAILED: Severity.ERROR, CONTENT_HASH_STALE: Severity.WARNING, C2PA_FORCED: Severity.WARNING})


class EmbedError(Exception):
    """Embedding was refused; ``issues`` hold the coded errors (and any warnings found before)."""

    def __init__(self, issues: tuple[Issue, ...]) -> None:
        super().__init__("; ".join(i.message for i in issues if i.severity is Severity.ERROR) or "embedding refused")
        self.issues = issues


@dataclass(frozen=True, slots=True)
class EmbedResult:
    """``data``: the new image (mode "image") or the XMP sidecar packet (mode "sidecar"); ``data_mining``: the PLUS
    value written; ``format``: the image's container format; ``issues``: warnings and notes."""

    data: bytes
    format: str
    data_mining: str
    issues: tuple[Issue, ...] = field(default=())


def _check_record(record: Any) -> list[Issue]:
    """req-embed-valid-record: only a valid record is embedded."""
    if not isinstance(record, Mapping):
        return [coded(RECORD_INVALID, "the record is not a JSON object")]
    try:
        from aiterms.validation import check
    except ImportError:  # pragma: no cover - the validator ships with aiterms
        return []
    report = check(dict(record))
    if report.valid:
        return []
    return [coded(RECORD_INVALID, f"the record is not valid ({len(report.errors)} error(s)); fix it first "
                  "(aiterms validate)"), *report.errors]


def _owned_in(packet: bytes) -> bool:
    try:
        doc = xmp.parse_packet(packet)
    except xmp.XmpError:
        return True
    return any((p.ns == xmp.PLUS and p.local in ("DataMining", "OtherConstraints")) or p.ns == xmp.AITERMS
               for p in doc.props)


def embed_bytes(image: bytes, record: Mapping[str, Any], *, mode: Mode = "image", force: bool = False,
                sidecar: bytes | None = None, at: datetime | None = None) -> EmbedResult:
    """req-embed: the record's terms written into the image's XMP (mode "image") or into an XMP sidecar (mode
    "sidecar", merged into ``sidecar`` when given, else into a copy of the image's own XMP).

    Raises :class:`EmbedError` (coded) for an invalid record, a truncated, malformed or read-only image, an image
    whose XMP is malformed, oversized or ambiguous, and -- unless ``force`` -- an image with a C2PA manifest.
    """
    problems = _check_record(record)
    if problems:
        raise EmbedError(tuple(problems))
    try:
        info = containers.read(image)
    except ContainerError as exc:
        raise EmbedError((exc.to_issue(),)) from None
    issues: list[Issue] = list(info.issues)
    if mode == "image":
        if info.format not in containers.WRITABLE:
            raise EmbedError((coded(containers.IMAGE_READ_ONLY, f"aiterms reads {info.format.upper()} files but does "
                                    "not write them; use --sidecar"),))
        if info.c2pa and not force:
            raise EmbedError((coded(C2PA_REFUSE, "the image carries a C2PA manifest; changing its bytes would "
                                    "invalidate the signature. Use --sidecar, or --force to embed anyway"),))
        if info.c2pa:
            issues.append(coded(C2PA_FORCED, "the image carries a C2PA manifest whose signature no longer "
                                "matches the embedded file (--force)"))
    if len(info.packets) > 1 and (mode == "image" or sidecar is None):
        raise EmbedError((coded(XMP_AMBIGUOUS, f"the image has {len(info.packets)} XMP packets; refusing to choose "
                                "which one to rewrite"),))
    if info.extended is not None and _owned_in(info.extended.data):
        raise EmbedError((coded(XMP_AMBIGUOUS, "the image's ExtendedXMP carries properties aiterms writes "
                                "(plus:DataMining, plus:OtherConstraints, aiterms:*); refusing to rewrite"),))
    base = sidecar if mode == "sidecar" and sidecar is not None else (info.packets[0].data if info.packets else None)
    limit = containers.JPEG_MAX_STANDARD_XMP if mode == "image" and info.format == containers.JPEG else None
    try:
        written = merge_packet(base, record, max_size=limit, at=at)
    except xmp.XmpError as exc:
        raise EmbedError((exc.issue,)) from None
    issues.extend(written.issues)
    digest = "sha256:" + hashlib.sha256(image).hexdigest()
    if mode == "image" and record.get("contentHash") == digest:
        issues.append(coded(CONTENT_HASH_STALE, "the record's contentHash is the hash of the original file; the "
                            "file with embedded terms has other bytes"))
    if mode == "sidecar":
        return EmbedResult(written.packet, info.format, written.code, tuple(issues))
    try:
        out = containers.replace_xmp(image, written.packet)
    except ContainerError as exc:
        raise EmbedError((exc.to_issue(),)) from None
    _verify(out, record, written.code)
    return EmbedResult(out, info.format, written.code, tuple(issues))


def _verify(out: bytes, record: Mapping[str, Any], code: str) -> None:
    """req-embed-verify: the written image is read back before it is returned: the container parses, the XMP
    parses, and it holds the PLUS value and the record that were written."""
    try:
        info = containers.read(out)
        sig = xmp.signals(xmp.parse_packet(info.packets[0].data))
        ok = [raw for raw, label, _f in sig.data_mining if label == "plus:DataMining"] == [
            "http://ns.useplus.org/ldf/vocab/" + code] and [json.loads(r) for r in sig.records] == [dict(record)]
    except (ContainerError, xmp.XmpError, IndexError, ValueError):
        ok = False
    if not ok:
        raise EmbedError((coded(VERIFY_FAILED, "the image written could not be read back with the terms embedded; "
                                "nothing was written"),))


def embed(image: bytes | str | os.PathLike[str], record: Mapping[str, Any], *, mode: Mode = "image",
          force: bool = False) -> bytes:
    """Embed ``record`` into ``image`` (bytes or a path) and return the new image bytes (mode "image") or the
    sidecar packet (mode "sidecar"). Raises :class:`EmbedError`; see :func:`embed_bytes`."""
    from aiterms._io import read_bytes

    data = image if isinstance(image, bytes) else read_bytes(image)
    return embed_bytes(data, record, mode=mode, force=force).data


@dataclass(frozen=True, slots=True)
class FileResult:
    path: str
    result: EmbedResult


def sidecar_path(image: str | os.PathLike[str]) -> Path:
    """``IMAGE.xmp``: the sidecar sits next to the image and keeps its full name (``photo.jpg.xmp``)."""
    return Path(f"{os.fspath(image)}.xmp")


def embed_file(image: str | os.PathLike[str], record: Mapping[str, Any], *,
               output: str | os.PathLike[str] | None = None, in_place: bool = False, sidecar: bool = False,
               force: bool = False) -> FileResult:
    """req-embed-atomic: embed into a file. Exactly one of ``output``, ``in_place`` and ``sidecar``.

    Writes are atomic (a temporary file in the target's directory, fsync, rename): on any failure the target is
    untouched. A symlink at the target path is replaced by a regular file, never written through. Raises
    EmbedError (refused), OSError (unreadable or unwritable) or ValueError (bad combination of options).
    """
    from aiterms._io import atomic_write, read_bytes

    if sum((output is not None, in_place, sidecar)) != 1:
        raise ValueError("give exactly one of output, in_place and sidecar")
    data = read_bytes(image)
    if sidecar:
        target = sidecar_path(image)
        existing = None
        if target.is_file() and not target.is_symlink():
            existing = read_bytes(target)
        result = embed_bytes(data, record, mode="sidecar", sidecar=existing, force=force)
    else:
        target = Path(image) if in_place else Path(os.fspath(output))  # type: ignore[arg-type]
        result = embed_bytes(data, record, mode="image", force=force)
    atomic_write(target, result.data)
    return FileResult(str(target), result)
