"""Image containers: find, read and replace the XMP packet without touching any other byte (spec/embedding.md).

Pure Python and bounded: every walk visits at most ``MAX_CONTAINER_ITEMS`` segments, chunks, boxes or IFD entries,
reads ISOBMFF boxes only at the top level and inside ``meta``, and reads at most ``MAX_XMP_BYTES`` of XMP. Every
malformed or truncated structure raises :class:`ContainerError` with a registered code; no other exception leaves
:func:`read` or :func:`replace_xmp` (req-container-coded-errors).

Formats (req-container-formats):

=========  ======================================================================  ========
format     where the XMP packet lives                                              writable
=========  ======================================================================  ========
JPEG       APP1 ``http://ns.adobe.com/xap/1.0/\\0`` (+ ExtendedXMP APP1, kept)      yes
PNG        ``iTXt`` chunk with keyword ``XML:com.adobe.xmp``                        yes
WebP       ``XMP `` chunk of an extended (``VP8X``) file                            yes
TIFF       tag 700 in IFD 0 (both byte orders)                                     yes
AVIF/HEIF  ``mime`` item with content type ``application/rdf+xml`` (``iinf``/``iloc``)  no
=========  ======================================================================  ========
"""

from __future__ import annotations

import re
import struct
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal, TypeVar

from aiterms.limits import MAX_CONTAINER_ITEMS, MAX_XMP_BYTES
from aiterms.report import Issue, Severity

# --- codes (their single home is the code table in spec/embedding.md) --------------------------------------------
IMAGE_TRUNCATED = "image-truncated"
IMAGE_MALFORMED = "image-malformed"
IMAGE_UNSUPPORTED = "image-unsupported-format"
IMAGE_READ_ONLY = "image-format-read-only"
XMP_TOO_LARGE = "xmp-too-large"
XMP_MULTIPLE = "xmp-multiple-packets"
XMP_AMBIGUOUS = "xmp-ambiguous"
XMP_EXTENDED_INCOMPLETE = "xmp-extended-incomplete"
LIMIT_CONTAINER = "limit-container"  # home: spec/security.md
LIMIT_XMP_SIZE = "limit-xmp-size"  # home: spec/security.md

#: Severity of every code the image/XMP/embed modules emit, as registered in spec/embedding.md and
#: spec/interop-xmp.md (xmp.py and embed.py add theirs; tests/test_embed.py checks the tables and this mapping agree).
SEVERITIES: dict[str, Severity] = {
    IMAGE_TRUNCATED: Severity.ERROR,
    IMAGE_MALFORMED: Severity.ERROR,
    IMAGE_UNSUPPORTED: Severity.ERROR,
    IMAGE_READ_ONLY: Severity.ERROR,
    XMP_TOO_LARGE: Severity.ERROR,
    XMP_MULTIPLE: Severity.WARNING,
    XMP_AMBIGUOUS: Severity.ERROR,
    XMP_EXTENDED_INCOMPLETE: Severity.WARNING,
}


def register_codes(mapping: dict[str, Severity]) -> None:
    """Add the codes of a sibling module (xmp, embed) so that :func:`coded` knows their severities."""
    SEVERITIES.update(mapping)


def coded(code: str, message: str, path: str = "", *, line: int | None = None, value: object = None) -> Issue:
    """An Issue for one of the image/XMP codes with its registered severity (usable before codes.json exists)."""
    from aiterms.limits import SEVERITIES as LIMIT_SEVERITIES

    sev = SEVERITIES.get(code) or LIMIT_SEVERITIES[code]
    return Issue(code, sev, message, path, line, None, value)


class ContainerError(Exception):
    """A container that cannot be read or written; ``code`` is registered, ``offset`` is where it went wrong."""

    def __init__(self, code: str, message: str, *, offset: int | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.offset = offset

    def to_issue(self, path: str = "") -> Issue:
        where = f" (byte {self.offset})" if self.offset is not None else ""
        return coded(self.code, self.message + where, path, value=self.offset)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ContainerError) and (self.code, self.message, self.offset) == (
            other.code, other.message, other.offset)

    def __hash__(self) -> int:
        return hash((self.code, self.message, self.offset))


# --- public model -------------------------------------------------------------------------------------------------
JPEG, PNG, WEBP, TIFF, AVIF, HEIF = "jpeg", "png", "webp", "tiff", "avif", "heif"
FORMATS = (JPEG, PNG, WEBP, TIFF, AVIF, HEIF)
WRITABLE = (JPEG, PNG, WEBP, TIFF)
MEDIA_TYPES = {JPEG: "image/jpeg", PNG: "image/png", WEBP: "image/webp", TIFF: "image/tiff", AVIF: "image/avif",
               HEIF: "image/heif"}

#: Largest standard XMP packet a JPEG APP1 segment holds (XMP Specification Part 3, 1.1.3.1).
JPEG_MAX_STANDARD_XMP = 65502

XMP_NS_JPEG = b"http://ns.adobe.com/xap/1.0/\x00"
XMP_EXT_JPEG = b"http://ns.adobe.com/xmp/extension/\x00"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
PNG_XMP_KEYWORD = b"XML:com.adobe.xmp"
TIFF_XMP_TAG = 700
TIFF_C2PA_TAG = 0xCD41
C2PA_BMFF_UUID = bytes.fromhex("d8fec3d61b0e483c92975828877ec481")


@dataclass(frozen=True, slots=True)
class Packet:
    """One XMP packet found in a container: its bytes and a human-readable location."""

    data: bytes
    location: str
    offset: int


@dataclass(frozen=True, slots=True)
class ImageInfo:
    """What :func:`read` found: the format, the standard XMP packets (normally one), the reassembled ExtendedXMP
    (JPEG only), whether a C2PA manifest store (JUMBF) is present, and warnings about the container."""

    format: str
    packets: tuple[Packet, ...] = ()
    extended: Packet | None = None
    c2pa: bool = False
    issues: tuple[Issue, ...] = ()

    @property
    def media_type(self) -> str:
        return MEDIA_TYPES[self.format]


def sniff(head: bytes) -> str | None:
    """The container format from the first bytes (magic numbers only), or None."""
    if head[:3] == b"\xff\xd8\xff":
        return JPEG
    if head[:8] == PNG_SIGNATURE:
        return PNG
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return WEBP
    if head[:4] in (b"II*\x00", b"MM\x00*"):
        return TIFF
    if len(head) >= 12 and head[4:8] == b"ftyp":
        size = int.from_bytes(head[:4], "big")
        brands = {head[i:i + 4] for i in range(8, min(max(size, 16), len(head), 256) - 3, 4) if i != 12}
        if brands & {b"avif", b"avis"}:
            return AVIF
        if brands & {b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"mif1", b"msf1", b"mif2"}:
            return HEIF
    return None


_T = TypeVar("_T")


def _guard(fn: Callable[[], _T]) -> _T:
    """req-container-coded-errors: only ContainerError leaves the container layer."""
    try:
        return fn()
    except ContainerError:
        raise
    except (IndexError, struct.error, ValueError, OverflowError, zlib.error, UnicodeError) as exc:
        raise ContainerError(IMAGE_MALFORMED, f"malformed image structure ({type(exc).__name__}: {exc})") from None


def read(data: bytes) -> ImageInfo:
    """req-container-read: locate the XMP packet(s) of an image and note C2PA presence; raise ContainerError for a
    truncated, malformed or unsupported container."""
    fmt = sniff(data[:64])
    if fmt is None:
        raise ContainerError(IMAGE_UNSUPPORTED, "not a JPEG, PNG, WebP, TIFF, AVIF or HEIF file (unknown magic bytes)")
    from aiterms.interop._bmff import bmff_read

    reader: dict[str, Callable[[bytes], ImageInfo]] = {
        JPEG: _jpeg_read, PNG: _png_read, WEBP: _webp_read, TIFF: _tiff_read, AVIF: bmff_read, HEIF: bmff_read}
    return _guard(lambda: reader[fmt](data))


def replace_xmp(data: bytes, packet: bytes) -> bytes:
    """req-container-preserve: return ``data`` with its standard XMP packet replaced by ``packet`` (or inserted when
    there is none); every other byte of the file is kept, in order (only lengths and offsets that must change do)."""
    fmt = sniff(data[:64])
    if fmt is None:
        raise ContainerError(IMAGE_UNSUPPORTED, "not a JPEG, PNG, WebP or TIFF file (unknown magic bytes)")
    writer: dict[str, Callable[[bytes, bytes], bytes]] = {
        JPEG: _jpeg_write, PNG: _png_write, WEBP: _webp_write, TIFF: _tiff_write}
    if fmt not in writer:
        raise ContainerError(IMAGE_READ_ONLY, f"{fmt.upper()} files are read, not written; use a sidecar")
    return _guard(lambda: writer[fmt](data, packet))


def check_xmp_size(size: int, offset: int) -> None:
    if size > MAX_XMP_BYTES:
        raise ContainerError(LIMIT_XMP_SIZE, f"XMP packet of {size} bytes is larger than the "
                             f"{MAX_XMP_BYTES} byte limit", offset=offset)


class Budget:
    """Counts container items walked (req-container-bounded)."""

    def __init__(self) -> None:
        self.n = 0

    def tick(self, offset: int) -> None:
        self.n += 1
        if self.n > MAX_CONTAINER_ITEMS:
            raise ContainerError(LIMIT_CONTAINER, f"more than {MAX_CONTAINER_ITEMS} segments, chunks, boxes or entries",
                                 offset=offset)


# --- JPEG ---------------------------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Segment:
    """A JPEG marker segment: ``start`` is the offset of its 0xFF, ``end`` is exclusive, ``payload`` excludes the
    marker and length bytes. Entropy-coded data is not a segment (it lies between segments, untouched)."""

    marker: int
    start: int
    end: int
    payload: bytes


def jpeg_segments(data: bytes) -> tuple[list[Segment], int]:
    """Walk a JPEG from SOI to EOI: the marker segments (SOI and EOI included, with empty payloads) and the offset
    just after EOI (bytes after it are kept as they are)."""
    n = len(data)
    budget = Budget()
    segs = [Segment(0xD8, 0, 2, b"")]
    i = 2
    seen_sos = False
    while True:
        budget.tick(i)
        if i >= n:
            raise ContainerError(IMAGE_TRUNCATED, "JPEG ends before its EOI marker", offset=i)
        if data[i] != 0xFF:
            raise ContainerError(IMAGE_MALFORMED, f"expected a JPEG marker, found byte 0x{data[i]:02x}", offset=i)
        start = i
        while i < n and data[i] == 0xFF:  # fill bytes
            i += 1
        if i >= n:
            raise ContainerError(IMAGE_TRUNCATED, "JPEG ends inside a marker", offset=start)
        marker = data[i]
        i += 1
        if marker == 0xD9:
            if not seen_sos:
                raise ContainerError(IMAGE_MALFORMED, "JPEG has no image data (EOI before SOS)", offset=start)
            segs.append(Segment(marker, start, i, b""))
            return segs, i
        if marker in (0x01, *range(0xD0, 0xD8)):
            segs.append(Segment(marker, start, i, b""))
            continue
        if marker in (0x00, 0xD8):
            raise ContainerError(IMAGE_MALFORMED, f"unexpected JPEG marker 0x{marker:02x}", offset=start)
        if i + 2 > n:
            raise ContainerError(IMAGE_TRUNCATED, "JPEG ends inside a segment length", offset=start)
        length = int.from_bytes(data[i:i + 2], "big")
        if length < 2:
            raise ContainerError(IMAGE_MALFORMED, f"JPEG segment length {length} is below 2", offset=start)
        end = i + length
        if end > n:
            raise ContainerError(IMAGE_TRUNCATED, "JPEG ends inside a segment", offset=start)
        segs.append(Segment(marker, start, end, data[i + 2:end]))
        i = end
        if marker == 0xDA:  # SOS: skip the entropy-coded data up to the next real marker
            seen_sos = True
            while True:
                k = data.find(b"\xff", i)
                if k < 0 or k + 1 >= n:
                    raise ContainerError(IMAGE_TRUNCATED, "JPEG ends inside entropy-coded image data", offset=i)
                nxt = data[k + 1]
                if nxt == 0x00 or 0xD0 <= nxt <= 0xD7 or nxt == 0xFF:
                    i = k + (1 if nxt == 0xFF else 2)
                    continue
                i = k
                break


def _is_std_xmp(seg: Segment) -> bool:
    return seg.marker == 0xE1 and seg.payload.startswith(XMP_NS_JPEG)


def _is_ext_xmp(seg: Segment) -> bool:
    return seg.marker == 0xE1 and seg.payload.startswith(XMP_EXT_JPEG)


def _is_jumbf_c2pa(seg: Segment) -> bool:
    # JPEG XT APP11: "JP" common identifier, box instance (2), sequence (4), then a JUMBF superbox whose
    # description box carries the label "c2pa" (first segment) -- later segments continue the same box.
    return seg.marker == 0xEB and seg.payload[:2] == b"JP" and b"c2pa" in seg.payload[:64]


_HAS_EXT = re.compile(rb"HasExtendedXMP(?:\s*=\s*[\"']|\s*>\s*)([0-9A-Fa-f]{32})")


def _jpeg_read(data: bytes) -> ImageInfo:
    segs, _ = jpeg_segments(data)
    packets: list[Packet] = []
    issues: list[Issue] = []
    ext_chunks: dict[bytes, list[tuple[int, int, bytes, int]]] = {}
    for seg in segs:
        if _is_std_xmp(seg):
            body = seg.payload[len(XMP_NS_JPEG):]
            packets.append(Packet(body, f"JPEG APP1 XMP segment at byte {seg.start}", seg.start))
        elif _is_ext_xmp(seg):
            p = seg.payload[len(XMP_EXT_JPEG):]
            if len(p) < 40:
                raise ContainerError(IMAGE_MALFORMED, "ExtendedXMP segment shorter than its header", offset=seg.start)
            guid, full, off = p[:32], int.from_bytes(p[32:36], "big"), int.from_bytes(p[36:40], "big")
            ext_chunks.setdefault(guid, []).append((off, full, p[40:], seg.start))
    c2pa = any(_is_jumbf_c2pa(s) for s in segs)
    if len(packets) > 1:
        issues.append(coded(XMP_MULTIPLE, f"{len(packets)} standard XMP segments; each is read"))
    extended = None
    if packets:
        m = _HAS_EXT.search(packets[0].data)
        if m:
            extended, issue = _jpeg_extended(m.group(1).upper(), ext_chunks)
            if issue:
                issues.append(issue)
    return ImageInfo(JPEG, tuple(packets), extended, c2pa, tuple(issues))


def _jpeg_extended(guid: bytes, chunks: dict[bytes, list[tuple[int, int, bytes, int]]]
                   ) -> tuple[Packet | None, Issue | None]:
    parts = sorted(chunks.get(guid, []) or chunks.get(guid.lower(), []))
    if not parts:
        return None, coded(XMP_EXTENDED_INCOMPLETE, "the XMP names ExtendedXMP that the file does not contain")
    full = parts[0][1]
    check_xmp_size(full, parts[0][3])
    buf = bytearray(full)
    covered = 0
    for off, total, body, _at in parts:
        if total != full or off != covered or off + len(body) > full:
            return None, coded(XMP_EXTENDED_INCOMPLETE, "ExtendedXMP chunks are inconsistent; ExtendedXMP ignored")
        buf[off:off + len(body)] = body
        covered = off + len(body)
    if covered != full:
        return None, coded(XMP_EXTENDED_INCOMPLETE, "ExtendedXMP is incomplete; ExtendedXMP ignored")
    return Packet(bytes(buf), f"JPEG ExtendedXMP {guid.decode()}", parts[0][3]), None


def _jpeg_write(data: bytes, packet: bytes) -> bytes:
    if len(packet) > JPEG_MAX_STANDARD_XMP:
        raise ContainerError(XMP_TOO_LARGE, f"XMP packet of {len(packet)} bytes does not fit one JPEG APP1 segment "
                             f"({JPEG_MAX_STANDARD_XMP} bytes at most); write a sidecar instead")
    segs, _ = jpeg_segments(data)
    body = XMP_NS_JPEG + packet
    new = b"\xff\xe1" + (len(body) + 2).to_bytes(2, "big") + body
    std = [s for s in segs if _is_std_xmp(s)]
    if len(std) > 1:
        raise ContainerError(XMP_AMBIGUOUS, "the JPEG has more than one standard XMP segment; refusing to choose")
    if std:
        s = std[0]
        return data[:s.start] + new + data[s.end:]
    # Insert after SOI and the leading JFIF/JFXX APP0 and Exif APP1 segments (where XMP conventionally goes).
    at = 2
    for s in segs[1:]:
        if (s.marker == 0xE0 and s.payload[:5] in (b"JFIF\x00", b"JFXX\x00")) or (
                s.marker == 0xE1 and s.payload[:6] == b"Exif\x00\x00"):
            at = s.end
            continue
        break
    return data[:at] + new + data[at:]


# --- PNG ----------------------------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Chunk:
    """A PNG chunk or RIFF chunk: ``start``/``end`` span the whole chunk (header, data, CRC or pad byte)."""

    type: bytes
    start: int
    end: int
    data: bytes


def png_chunks(data: bytes) -> tuple[list[Chunk], int]:
    """Walk a PNG from the signature to IEND (CRCs checked); returns the chunks and the offset after IEND."""
    if data[:8] != PNG_SIGNATURE:
        raise ContainerError(IMAGE_MALFORMED, "bad PNG signature", offset=0)
    n = len(data)
    budget = Budget()
    out: list[Chunk] = []
    i = 8
    while True:
        budget.tick(i)
        if i + 12 > n:
            raise ContainerError(IMAGE_TRUNCATED, "PNG ends before its IEND chunk", offset=i)
        length = int.from_bytes(data[i:i + 4], "big")
        ctype = data[i + 4:i + 8]
        if length > 0x7FFFFFFF or not ctype.isalpha():
            raise ContainerError(IMAGE_MALFORMED, f"bad PNG chunk header {ctype!r}", offset=i)
        end = i + 12 + length
        if end > n:
            raise ContainerError(IMAGE_TRUNCATED, f"PNG ends inside chunk {ctype.decode('latin-1')}", offset=i)
        body = data[i + 8:i + 8 + length]
        crc = int.from_bytes(data[end - 4:end], "big")
        if zlib.crc32(ctype + body) & 0xFFFFFFFF != crc:
            raise ContainerError(IMAGE_MALFORMED, f"CRC mismatch in PNG chunk {ctype.decode('latin-1')}", offset=i)
        if not out and ctype != b"IHDR":
            raise ContainerError(IMAGE_MALFORMED, "PNG does not start with IHDR", offset=i)
        out.append(Chunk(ctype, i, end, body))
        i = end
        if ctype == b"IEND":
            return out, i


def png_chunk(ctype: bytes, body: bytes) -> bytes:
    """Serialize one PNG chunk with its CRC."""
    return len(body).to_bytes(4, "big") + ctype + body + (zlib.crc32(ctype + body) & 0xFFFFFFFF).to_bytes(4, "big")


def _png_itxt_xmp(c: Chunk) -> bytes | None:
    """The XMP text of an iTXt chunk with the XMP keyword (None for other chunks)."""
    if c.type != b"iTXt" or not c.data.startswith(PNG_XMP_KEYWORD + b"\x00"):
        return None
    rest = c.data[len(PNG_XMP_KEYWORD) + 1:]
    if len(rest) < 2:
        raise ContainerError(IMAGE_MALFORMED, "iTXt XMP chunk too short", offset=c.start)
    flag, method = rest[0], rest[1]
    parts = rest[2:].split(b"\x00", 2)
    if len(parts) != 3:
        raise ContainerError(IMAGE_MALFORMED, "iTXt XMP chunk lacks its language fields", offset=c.start)
    text = parts[2]
    if flag == 0:
        return text
    if flag != 1 or method != 0:
        raise ContainerError(IMAGE_MALFORMED, "iTXt XMP chunk with an unknown compression", offset=c.start)
    d = zlib.decompressobj()
    out = d.decompress(text, MAX_XMP_BYTES + 1)
    if len(out) > MAX_XMP_BYTES or d.unconsumed_tail:
        check_xmp_size(MAX_XMP_BYTES + 1, c.start)
    return out


def _png_read(data: bytes) -> ImageInfo:
    chunks, _ = png_chunks(data)
    packets = []
    for c in chunks:
        text = _png_itxt_xmp(c)
        if text is not None:
            packets.append(Packet(text, f"PNG iTXt XML:com.adobe.xmp chunk at byte {c.start}", c.start))
    issues = (coded(XMP_MULTIPLE, f"{len(packets)} XMP iTXt chunks; each is read"),) if len(packets) > 1 else ()
    return ImageInfo(PNG, tuple(packets), None, any(c.type == b"caBX" for c in chunks), issues)


def _png_write(data: bytes, packet: bytes) -> bytes:
    chunks, _ = png_chunks(data)
    new = png_chunk(b"iTXt", PNG_XMP_KEYWORD + b"\x00\x00\x00\x00\x00" + packet)
    xmp = [c for c in chunks if _png_itxt_xmp(c) is not None]
    if len(xmp) > 1:
        raise ContainerError(XMP_AMBIGUOUS, "the PNG has more than one XMP iTXt chunk; refusing to choose")
    if xmp:
        c = xmp[0]
        return data[:c.start] + new + data[c.end:]
    idat = next((c for c in chunks if c.type == b"IDAT"), None)
    if idat is None:
        raise ContainerError(IMAGE_MALFORMED, "PNG has no IDAT chunk")
    return data[:idat.start] + new + data[idat.start:]


# --- WebP (RIFF) --------------------------------------------------------------------------------------------------
VP8X_ICC, VP8X_ALPHA, VP8X_EXIF, VP8X_XMP, VP8X_ANIM = 0x20, 0x10, 0x08, 0x04, 0x02


def webp_chunks(data: bytes) -> tuple[list[Chunk], int]:
    """Walk a WebP RIFF: the chunks (with their pad byte) and the end of the RIFF (bytes after it are kept)."""
    if data[:4] != b"RIFF" or data[8:12] != b"WEBP":
        raise ContainerError(IMAGE_MALFORMED, "not a RIFF WEBP file", offset=0)
    riff_end = 8 + int.from_bytes(data[4:8], "little")
    if riff_end > len(data):
        raise ContainerError(IMAGE_TRUNCATED, f"RIFF says {riff_end} bytes, the file has {len(data)}", offset=4)
    if riff_end < 12 + 8:
        raise ContainerError(IMAGE_MALFORMED, "RIFF WEBP without chunks", offset=4)
    budget = Budget()
    out: list[Chunk] = []
    i = 12
    while i < riff_end:
        budget.tick(i)
        if i + 8 > riff_end:
            raise ContainerError(IMAGE_TRUNCATED, "WebP ends inside a chunk header", offset=i)
        ctype = data[i:i + 4]
        size = int.from_bytes(data[i + 4:i + 8], "little")
        end = i + 8 + size + (size & 1)
        if i + 8 + size > riff_end:
            raise ContainerError(IMAGE_TRUNCATED, f"WebP ends inside chunk {ctype!r}", offset=i)
        end = min(end, riff_end)  # a missing final pad byte is tolerated (libwebp does)
        out.append(Chunk(ctype, i, end, data[i + 8:i + 8 + size]))
        i = end
    first = out[0].type
    if first not in (b"VP8 ", b"VP8L", b"VP8X"):
        raise ContainerError(IMAGE_MALFORMED, f"WebP starts with chunk {first!r}", offset=12)
    if first == b"VP8X" and len(out[0].data) < 10:
        raise ContainerError(IMAGE_MALFORMED, "VP8X chunk shorter than 10 bytes", offset=12)
    return out, riff_end


def riff_chunk(ctype: bytes, body: bytes) -> bytes:
    return ctype + len(body).to_bytes(4, "little") + body + (b"\x00" if len(body) & 1 else b"")


def _webp_read(data: bytes) -> ImageInfo:
    chunks, _ = webp_chunks(data)
    packets = [Packet(c.data, f"WebP XMP chunk at byte {c.start}", c.start) for c in chunks if c.type == b"XMP "]
    issues = (coded(XMP_MULTIPLE, f"{len(packets)} WebP XMP chunks; each is read"),) if len(packets) > 1 else ()
    return ImageInfo(WEBP, tuple(packets), None, any(c.type == b"C2PA" for c in chunks), issues)


def webp_canvas(chunk: Chunk) -> tuple[int, int, bool]:
    """Canvas width, height and alpha of a simple-format image chunk (``VP8 `` key frame or ``VP8L``)."""
    b = chunk.data
    if chunk.type == b"VP8 ":
        if len(b) < 10 or b[0] & 1 or b[3:6] != b"\x9d\x01\x2a":
            raise ContainerError(IMAGE_MALFORMED, "VP8 chunk without a key frame header", offset=chunk.start)
        return int.from_bytes(b[6:8], "little") & 0x3FFF, int.from_bytes(b[8:10], "little") & 0x3FFF, False
    if len(b) < 5 or b[0] != 0x2F:
        raise ContainerError(IMAGE_MALFORMED, "VP8L chunk without its signature", offset=chunk.start)
    bits = int.from_bytes(b[1:5], "little")
    if bits >> 29:
        raise ContainerError(IMAGE_MALFORMED, "VP8L version is not 0", offset=chunk.start)
    return (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1, bool((bits >> 28) & 1)


def _webp_write(data: bytes, packet: bytes) -> bytes:
    chunks, riff_end = webp_chunks(data)
    new = riff_chunk(b"XMP ", packet)
    xmp = [c for c in chunks if c.type == b"XMP "]
    if len(xmp) > 1:
        raise ContainerError(XMP_AMBIGUOUS, "the WebP has more than one XMP chunk; refusing to choose")
    types = {c.type for c in chunks}
    if chunks[0].type == b"VP8X":
        vp8x = chunks[0]
        flags = data[vp8x.start + 8] | VP8X_XMP
        head = data[:vp8x.start + 8] + bytes([flags]) + data[vp8x.start + 9:vp8x.end]
        rest = data[vp8x.end:riff_end]
        base = vp8x.end
    else:
        # Simple format: create VP8X with the canvas size of the image (req-webp-vp8x).
        width, height, alpha = webp_canvas(chunks[0])
        if not (1 <= width <= 1 << 24 and 1 <= height <= 1 << 24):
            raise ContainerError(IMAGE_MALFORMED, "WebP image without a usable canvas size", offset=12)
        flags = VP8X_XMP | (VP8X_ALPHA if alpha or b"ALPH" in types else 0)
        flags |= (VP8X_ICC if b"ICCP" in types else 0) | (VP8X_EXIF if b"EXIF" in types else 0)
        body = bytes([flags, 0, 0, 0]) + (width - 1).to_bytes(3, "little") + (height - 1).to_bytes(3, "little")
        head = data[:12] + riff_chunk(b"VP8X", body)
        rest = data[12:riff_end]
        base = 12
    if xmp:
        c = xmp[0]
        rest = rest[:c.start - base] + new + rest[c.end - base:]
    else:
        if len(rest) & 1:  # a final chunk without its pad byte: add it before appending
            rest += b"\x00"
        rest += new
    riff = head + rest
    size = len(riff) - 8
    if size > 0xFFFFFFFF:
        raise ContainerError(IMAGE_MALFORMED, "WebP would exceed the RIFF size limit")
    return riff[:4] + size.to_bytes(4, "little") + riff[8:] + data[riff_end:]


# --- TIFF ---------------------------------------------------------------------------------------------------------
Order = Literal["little", "big"]
_TIFF_TYPE_SIZE = {1: 1, 2: 1, 3: 2, 4: 4, 5: 8, 6: 1, 7: 1, 8: 2, 9: 4, 10: 8, 11: 4, 12: 8, 13: 4, 16: 8, 17: 8,
                   18: 8}


@dataclass(frozen=True, slots=True)
class IfdEntry:
    tag: int
    type: int
    count: int
    value: bytes  # the 4 value/offset bytes as stored
    at: int  # offset of the entry

    def span(self, order: Order) -> tuple[int, int] | None:
        """(offset, length) of an out-of-line value, None when the value is inline."""
        size = _TIFF_TYPE_SIZE.get(self.type, 1) * self.count
        if size <= 4:
            return None
        return int.from_bytes(self.value, order), size


def tiff_ifd0(data: bytes) -> tuple[Order, int, list[IfdEntry], int]:
    """Byte order ("little"/"big"), IFD0 offset, its entries and the next-IFD offset."""
    if data[:4] == b"II*\x00":
        order: Order = "little"
    elif data[:4] == b"MM\x00*":
        order = "big"
    else:
        raise ContainerError(IMAGE_UNSUPPORTED, "not a classic TIFF (BigTIFF is not supported)", offset=0)
    n = len(data)
    if n < 8:
        raise ContainerError(IMAGE_TRUNCATED, "TIFF header truncated", offset=0)
    ifd = int.from_bytes(data[4:8], order)
    if ifd < 8 or ifd + 2 > n:
        raise ContainerError(IMAGE_TRUNCATED if ifd + 2 > n else IMAGE_MALFORMED, "IFD0 offset outside the file",
                             offset=4)
    count = int.from_bytes(data[ifd:ifd + 2], order)
    if count > MAX_CONTAINER_ITEMS:
        raise ContainerError(LIMIT_CONTAINER, f"IFD0 has {count} entries", offset=ifd)
    end = ifd + 2 + 12 * count
    if end + 4 > n:
        raise ContainerError(IMAGE_TRUNCATED, "TIFF ends inside IFD0", offset=ifd)
    entries = []
    for k in range(count):
        at = ifd + 2 + 12 * k
        tag = int.from_bytes(data[at:at + 2], order)
        typ = int.from_bytes(data[at + 2:at + 4], order)
        cnt = int.from_bytes(data[at + 4:at + 8], order)
        entries.append(IfdEntry(tag, typ, cnt, data[at + 8:at + 12], at))
    nxt = int.from_bytes(data[end:end + 4], order)
    for e in entries:
        span = e.span(order)
        if span is not None and span[0] + span[1] > n:
            raise ContainerError(IMAGE_TRUNCATED, f"value of TIFF tag {e.tag} lies beyond the end of the file",
                                 offset=e.at)
    _tiff_check_strips(data, order, entries)
    return order, ifd, entries, nxt


def tiff_values(data: bytes, order: Order, e: IfdEntry) -> list[int]:
    """The integer values of a SHORT or LONG entry."""
    if e.type not in (3, 4) or e.count > MAX_CONTAINER_ITEMS * 100:
        raise ContainerError(IMAGE_MALFORMED, f"TIFF tag {e.tag} is not SHORT or LONG", offset=e.at)
    size = 2 if e.type == 3 else 4
    span = e.span(order)
    raw = e.value[:size * e.count] if span is None else data[span[0]:span[0] + span[1]]
    return [int.from_bytes(raw[k:k + size], order) for k in range(0, size * e.count, size)]


def tiff_image_spans(data: bytes, order: Order, entries: list[IfdEntry]) -> list[tuple[int, int]]:
    """(offset, length) of every strip or tile of IFD0."""
    by_tag = {e.tag: e for e in entries}
    out: list[tuple[int, int]] = []
    for off_tag, len_tag in ((273, 279), (324, 325)):
        if off_tag in by_tag:
            if len_tag not in by_tag:
                raise ContainerError(IMAGE_MALFORMED, f"TIFF tag {off_tag} without tag {len_tag}")
            offs, lens = tiff_values(data, order, by_tag[off_tag]), tiff_values(data, order, by_tag[len_tag])
            if len(offs) != len(lens):
                raise ContainerError(IMAGE_MALFORMED, "TIFF strip/tile offsets and byte counts differ in number")
            out.extend(zip(offs, lens, strict=True))
    return out


def _tiff_check_strips(data: bytes, order: Order, entries: list[IfdEntry]) -> None:
    for off, length in tiff_image_spans(data, order, entries):
        if off + length > len(data):
            raise ContainerError(IMAGE_TRUNCATED, "TIFF image data (strip or tile) lies beyond the end of the file",
                                 offset=off)


def _tiff_read(data: bytes) -> ImageInfo:
    order, _ifd, entries, _nxt = tiff_ifd0(data)
    packets = []
    for e in entries:
        if e.tag == TIFF_XMP_TAG:
            span = e.span(order)
            check_xmp_size(e.count, e.at)
            if span is None:
                body = e.value[:e.count]
                where = e.at + 8
            else:
                body = data[span[0]:span[0] + span[1]]
                where = span[0]
            packets.append(Packet(body, f"TIFF IFD0 tag 700 (XMP) at byte {where}", where))
    issues = (coded(XMP_MULTIPLE, f"{len(packets)} XMP tags in IFD0; each is read"),) if len(packets) > 1 else ()
    return ImageInfo(TIFF, tuple(packets), None, any(e.tag == TIFF_C2PA_TAG for e in entries), issues)


def _tiff_write(data: bytes, packet: bytes) -> bytes:
    o, _ifd, entries, nxt = tiff_ifd0(data)

    def u16(v: int) -> bytes:
        return v.to_bytes(2, o)

    def u32(v: int) -> bytes:
        return v.to_bytes(4, o)

    xmp = [e for e in entries if e.tag == TIFF_XMP_TAG]
    if len(xmp) > 1:
        raise ContainerError(XMP_AMBIGUOUS, "IFD0 has more than one XMP tag; refusing to choose")
    out = bytearray(data)
    if len(out) & 1:
        out += b"\x00"  # TIFF values start on a word boundary
    at = len(out)
    out += packet
    if xmp:  # patch the entry in place: type, count, offset
        e = xmp[0]
        typ = e.type if e.type in (1, 7) else 7
        out[e.at + 2:e.at + 12] = u16(typ) + u32(len(packet)) + u32(at)
    else:  # a new IFD0 with the tag added, appended; the header points to it; the old IFD0 stays as it was
        if len(out) & 1:
            out += b"\x00"
        new_ifd = len(out)
        rows = [(e.tag, data[e.at:e.at + 12]) for e in entries]
        rows.append((TIFF_XMP_TAG, u16(TIFF_XMP_TAG) + u16(7) + u32(len(packet)) + u32(at)))
        rows.sort(key=lambda r: r[0])
        out += u16(len(rows)) + b"".join(r[1] for r in rows) + u32(nxt)
        out[4:8] = u32(new_ifd)
    if len(out) > 0xFFFFFFFF:
        raise ContainerError(IMAGE_MALFORMED, "TIFF would exceed 4 GiB")
    return bytes(out)
