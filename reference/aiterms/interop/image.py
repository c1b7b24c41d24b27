"""The image importer (``KIND = "image"``): JPEG, PNG, WebP, TIFF, AVIF and HEIF files (spec/interop-xmp.md).

Detection is by magic bytes only. The XMP packet(s) of the file are located by
:mod:`aiterms.interop.containers` and mapped by :func:`aiterms.interop.xmp.to_record`. When the file also carries a
C2PA manifest store, the C2PA importer (:mod:`aiterms.interop.c2pa`, if installed) reads it too and its
declarations join the record, so that ``aiterms import photo.jpg`` sees every embedded signal (req-image-import).
"""

from __future__ import annotations

from typing import Any

from aiterms.interop import containers, xmp
from aiterms.interop.base import ImportResult
from aiterms.report import Issue

KIND = "image"
PRIORITY = 40  # before the C2PA importer, which this importer calls for signed images


def detect(name: str, head: bytes) -> bool:
    """req-image-detect: an image is recognised by its magic bytes, never by its file name."""
    del name
    return containers.sniff(head[:64]) is not None


#: Keyword options import_bytes takes beyond the common ones (registry.import_one passes only these).
OPTIONS = ("trust_anchors",)


def import_bytes(data: bytes, *, source_name: str, url: str | None = None, user_agent: str | None = None,
                 observed: str | None = None, trust_anchors: str | None = None) -> ImportResult:
    """req-image-import: read the XMP signals of an image (and its C2PA manifest, when there is one); a truncated,
    malformed or unsupported image gives a coded error and no declaration (fail closed)."""
    del user_agent
    try:
        info = containers.read(data)
    except containers.ContainerError as exc:
        return ImportResult({}, (exc.to_issue(),))
    packets = [p.data for p in info.packets]
    if info.extended is not None:
        packets.append(info.extended.data)
    result = xmp.to_record(packets, location="XMP", observed=observed)
    record: dict[str, Any] = dict(result.record)
    issues: list[Issue] = list(info.issues) + list(result.issues)
    if info.c2pa:
        more = _c2pa(data, source_name=source_name, url=url, observed=observed, trust_anchors=trust_anchors)
        if more is not None:
            issues.extend(more.issues)
            decls = list(record.get("declarations") or []) + list(more.record.get("declarations") or [])
            for key, value in more.record.items():
                if key != "declarations":
                    record.setdefault(key, value)
            if decls:
                record["declarations"] = decls
    return ImportResult(record, tuple(issues))


def _c2pa(data: bytes, *, source_name: str, url: str | None, observed: str | None,
          trust_anchors: str | None) -> ImportResult | None:
    try:
        from aiterms.interop import c2pa
    except ImportError:  # the C2PA importer is optional
        return None
    result: ImportResult = c2pa.import_bytes(data, source_name=source_name, url=url, observed=observed,
                                             trust_anchors=trust_anchors)
    return result
