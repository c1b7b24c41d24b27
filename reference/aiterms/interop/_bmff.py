"""ISOBMFF (AVIF, HEIF) XMP reading for :mod:`aiterms.interop.containers` (spec/embedding.md#containers), read only.

The XMP packet is the item of type ``mime`` whose content type is ``application/rdf+xml`` (``meta``/``iinf``), found
through ``iloc`` (construction methods 0, file offsets, and 1, ``idat`` offsets). Boxes are read at the top level and
inside ``meta`` only; every walk is bounded (req-container-bounded) and every malformed box is a ContainerError.
"""

from __future__ import annotations

from dataclasses import dataclass

from aiterms.interop.containers import (
    C2PA_BMFF_UUID,
    HEIF,
    IMAGE_MALFORMED,
    IMAGE_TRUNCATED,
    XMP_MULTIPLE,
    Budget,
    ContainerError,
    ImageInfo,
    Packet,
    check_xmp_size,
    coded,
    sniff,
)


@dataclass(frozen=True, slots=True)
class Box:
    type: bytes
    start: int
    body: int  # offset of the payload
    end: int


def bmff_boxes(data: bytes, start: int, end: int, budget: Budget) -> list[Box]:
    out = []
    i = start
    while i < end:
        budget.tick(i)
        if i + 8 > end:
            raise ContainerError(IMAGE_TRUNCATED, "ISOBMFF ends inside a box header", offset=i)
        size = int.from_bytes(data[i:i + 4], "big")
        btype = data[i + 4:i + 8]
        body = i + 8
        if size == 1:
            if i + 16 > end:
                raise ContainerError(IMAGE_TRUNCATED, "ISOBMFF ends inside a box header", offset=i)
            size = int.from_bytes(data[i + 8:i + 16], "big")
            body = i + 16
        elif size == 0:
            size = end - i
        if btype == b"uuid":
            body += 16
        if size < body - i or i + size > end:
            raise ContainerError(IMAGE_TRUNCATED if i + size > end else IMAGE_MALFORMED,
                                 f"ISOBMFF box {btype!r} has a bad size", offset=i)
        out.append(Box(btype, i, body, i + size))
        i += size
    return out


class _Reader:
    def __init__(self, data: bytes, at: int, end: int) -> None:
        self.data, self.at, self.end = data, at, end

    def uint(self, size: int) -> int:
        if size == 0:
            return 0
        if self.at + size > self.end:
            raise ContainerError(IMAGE_MALFORMED, "ISOBMFF box shorter than its fields", offset=self.at)
        v = int.from_bytes(self.data[self.at:self.at + size], "big")
        self.at += size
        return v

    def cstr(self) -> bytes:
        k = self.data.find(b"\x00", self.at, self.end)
        if k < 0:
            raise ContainerError(IMAGE_MALFORMED, "unterminated string in an ISOBMFF box", offset=self.at)
        s = self.data[self.at:k]
        self.at = k + 1
        return s


def bmff_read(data: bytes) -> ImageInfo:
    fmt = sniff(data[:64]) or HEIF
    budget = Budget()
    top = bmff_boxes(data, 0, len(data), budget)
    c2pa = any(b.type == b"uuid" and data[b.body - 16:b.body] == C2PA_BMFF_UUID for b in top)
    meta = next((b for b in top if b.type == b"meta"), None)
    if meta is None:
        return ImageInfo(fmt, (), None, c2pa)
    children = bmff_boxes(data, meta.body + 4, meta.end, budget)  # meta is a FullBox
    by = {b.type: b for b in children}
    if b"iinf" not in by or b"iloc" not in by:
        return ImageInfo(fmt, (), None, c2pa)
    xmp_ids = _bmff_xmp_items(data, by[b"iinf"], budget)
    if not xmp_ids:
        return ImageInfo(fmt, (), None, c2pa)
    locs = _bmff_iloc(data, by[b"iloc"], budget)
    idat = by.get(b"idat")
    packets = []
    for item in xmp_ids:
        if item not in locs:
            raise ContainerError(IMAGE_MALFORMED, f"XMP item {item} has no location in iloc", offset=by[b"iloc"].start)
        method, extents = locs[item]
        body = bytearray()
        for off, stated in extents:
            if method == 0:
                base, limit = 0, len(data)
            elif method == 1 and idat is not None:
                base, limit = idat.body, idat.end
            else:
                raise ContainerError(IMAGE_MALFORMED, f"XMP item {item} uses an unsupported construction method")
            length = stated if stated else limit - base - off
            if off < 0 or base + off + length > limit or length < 0:
                raise ContainerError(IMAGE_TRUNCATED, f"XMP item {item} lies beyond its container", offset=base + off)
            check_xmp_size(len(body) + length, base + off)
            body += data[base + off:base + off + length]
        packets.append(Packet(bytes(body), f"{fmt.upper()} XMP item {item}", extents[0][0] if extents else 0))
    issues = (coded(XMP_MULTIPLE, f"{len(packets)} XMP items; each is read"),) if len(packets) > 1 else ()
    return ImageInfo(fmt, tuple(packets), None, c2pa, issues)


def _bmff_xmp_items(data: bytes, iinf: Box, budget: Budget) -> list[int]:
    r = _Reader(data, iinf.body, iinf.end)
    version = r.uint(1)
    r.uint(3)
    r.uint(2 if version == 0 else 4)  # entry count; the boxes that follow are what counts
    out = []
    for infe in bmff_boxes(data, r.at, iinf.end, budget):
        if infe.type != b"infe":
            continue
        e = _Reader(data, infe.body, infe.end)
        v = e.uint(1)
        e.uint(3)
        if v < 2:
            continue
        item_id = e.uint(2 if v == 2 else 4)
        e.uint(2)  # protection index
        item_type = e.data[e.at:e.at + 4]
        e.at += 4
        e.cstr()  # item name
        if item_type == b"mime":
            content_type = e.cstr().strip().lower()
            if content_type.split(b";")[0].strip() == b"application/rdf+xml":
                out.append(item_id)
    return out


def _bmff_iloc(data: bytes, iloc: Box, budget: Budget) -> dict[int, tuple[int, list[tuple[int, int]]]]:
    r = _Reader(data, iloc.body, iloc.end)
    version = r.uint(1)
    r.uint(3)
    if version > 2:
        raise ContainerError(IMAGE_MALFORMED, f"iloc version {version} is unknown", offset=iloc.start)
    sizes = r.uint(2)
    off_size, len_size, base_size = sizes >> 12, (sizes >> 8) & 15, (sizes >> 4) & 15
    idx_size = sizes & 15 if version in (1, 2) else 0
    for s in (off_size, len_size, base_size, idx_size):
        if s not in (0, 4, 8):
            raise ContainerError(IMAGE_MALFORMED, "iloc field size is not 0, 4 or 8", offset=iloc.start)
    count = r.uint(2 if version < 2 else 4)
    out: dict[int, tuple[int, list[tuple[int, int]]]] = {}
    for _ in range(count):
        budget.tick(r.at)
        item = r.uint(2 if version < 2 else 4)
        method = r.uint(2) & 15 if version in (1, 2) else 0
        r.uint(2)  # data reference index
        base = r.uint(base_size)
        extents = []
        for _e in range(r.uint(2)):
            budget.tick(r.at)
            r.uint(idx_size)
            extents.append((base + r.uint(off_size), r.uint(len_size)))
        out[item] = (method, extents)
    return out
