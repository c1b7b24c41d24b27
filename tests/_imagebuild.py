"""Tiny images built byte by byte for the container, XMP and embed tests (no imaging library needed), and
independent walkers that split a file into the blocks the tests compare before and after embedding.

The walkers here are deliberately written apart from aiterms.interop.containers, so that a bug there cannot hide
itself in the comparison.
"""

from __future__ import annotations

import struct
import zlib

XMP_HEAD = b"http://ns.adobe.com/xap/1.0/\x00"
EXT_HEAD = b"http://ns.adobe.com/xmp/extension/\x00"

PLUS_NS = "http://ns.useplus.org/ldf/xmp/1.0/"


def packet(body: str = "", *, about: str = "", extra_ns: str = "", padding: int = 0) -> bytes:
    """An XMP packet with one rdf:Description holding ``body`` (properties in any prefix declared in extra_ns)."""
    text = (
        '<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>\n'
        '<x:xmpmeta xmlns:x="adobe:ns:meta/" x:xmptk="test">\n'
        ' <rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">\n'
        f'  <rdf:Description rdf:about="{about}" xmlns:dc="http://purl.org/dc/elements/1.1/"\n'
        f'    xmlns:plus="{PLUS_NS}" xmlns:xmpRights="http://ns.adobe.com/xap/1.0/rights/" {extra_ns}>\n'
        f"{body}\n"
        "  </rdf:Description>\n"
        " </rdf:RDF>\n"
        "</x:xmpmeta>\n" + " " * padding + '<?xpacket end="w"?>'
    )
    return text.encode("utf-8")


OTHER_XMP = packet(
    "   <dc:creator><rdf:Seq><rdf:li>Jane Doe</rdf:li></rdf:Seq></dc:creator>\n"
    "   <dc:rights><rdf:Alt><rdf:li xml:lang=\"x-default\">(c) Jane Doe</rdf:li></rdf:Alt></dc:rights>\n"
    "   <xmpRights:UsageTerms><rdf:Alt><rdf:li xml:lang=\"x-default\">Ask first</rdf:li></rdf:Alt>"
    "</xmpRights:UsageTerms>\n"
    "   <plus:DataMining>http://ns.useplus.org/ldf/vocab/DMI-PROHIBITED</plus:DataMining>\n"
    "   <ex:keep xmlns:ex=\"https://example.test/ns/\">kept &amp; sound</ex:keep>",
    padding=200,
)


#: A minimal ICC profile: a 128-byte header (declared size 132) and an empty tag table.
ICC = (struct.pack(">I", 132) + b"none" + b"\x02\x10\x00\x00" + b"mntr" + b"GRAY" + b"XYZ " + bytes(12) + b"acsp"
       + bytes(128 - 40)) + bytes(4)


# --- JPEG -----------------------------------------------------------------------------------------------------------
def _seg(marker: int, payload: bytes) -> bytes:
    return bytes([0xFF, marker]) + struct.pack(">H", len(payload) + 2) + payload


def jpeg(*, xmp: bytes | None = None, exif: bool = True, icc: bool = True, iim: bool = True, c2pa: bool = False,
         extended: bytes | None = None, comment: bool = True) -> bytes:
    """A valid 8x8 grey baseline JPEG (one DC and one AC code of length 1; the scan is DC 0 + EOB)."""
    out = b"\xff\xd8" + _seg(0xE0, b"JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00")
    if exif:
        out += _seg(0xE1, b"Exif\x00\x00" + tiff_header_only())
    if xmp is not None:
        out += _seg(0xE1, XMP_HEAD + xmp)
    if extended is not None:
        guid = b"0123456789ABCDEF0123456789ABCDEF"
        half = len(extended) // 2
        for off, part in ((0, extended[:half]), (half, extended[half:])):
            out += _seg(0xE1, EXT_HEAD + guid + struct.pack(">II", len(extended), off) + part)
    if icc:
        out += _seg(0xE2, b"ICC_PROFILE\x00\x01\x01" + ICC)
    if iim:
        out += _seg(0xED, b"Photoshop 3.0\x008BIM\x04\x04\x00\x00\x00\x00\x00\x0b\x1c\x02\x05\x00\x05Title\x00")
    if c2pa:
        out += _seg(0xEB, b"JP\x02\x11\x00\x00\x00\x01\x00\x00\x00\x30jumb\x00\x00\x00\x1ejumdc2pa\x00\x11"
                    + b"\x00" * 24)
    if comment:
        out += _seg(0xFE, b"a comment")
    out += _seg(0xDB, b"\x00" + b"\x01" * 64)
    out += _seg(0xC0, b"\x08\x00\x08\x00\x08\x01\x01\x11\x00")
    counts = b"\x01" + b"\x00" * 15
    out += _seg(0xC4, b"\x00" + counts + b"\x00")
    out += _seg(0xC4, b"\x10" + counts + b"\x00")
    out += _seg(0xDA, b"\x01\x01\x00\x00\x3f\x00")
    out += b"\x3f\xff\x00\x3f"  # entropy-coded data with a stuffed 0xFF00
    return out + b"\xff\xd9"


def jpeg_blocks(data: bytes) -> list[tuple[str, bytes]]:
    """(kind, bytes) of every marker segment before SOS, then the rest of the file (SOS to the end) as one block."""
    assert data[:2] == b"\xff\xd8"
    blocks = [("SOI", data[:2])]
    i = 2
    while True:
        assert data[i] == 0xFF
        marker = data[i + 1]
        length = struct.unpack(">H", data[i + 2:i + 4])[0]
        if marker == 0xDA:
            blocks.append(("scan", data[i:]))
            return blocks
        seg = data[i:i + 2 + length]
        kind = "xmp" if seg[4:4 + len(XMP_HEAD)] == XMP_HEAD else f"{marker:02x}"
        blocks.append((kind, seg))
        i += 2 + length


# --- PNG ------------------------------------------------------------------------------------------------------------
def _chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)


def png(*, xmp: bytes | None = None, compressed_xmp: bool = False, extra: bool = True, c2pa: bool = False) -> bytes:
    """A valid 2x1 RGB PNG with optional iCCP/tEXt/eXIf chunks and an XMP iTXt chunk."""
    out = b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", struct.pack(">IIBBBBB", 2, 1, 8, 2, 0, 0, 0))
    if extra:
        out += _chunk(b"iCCP", b"test\x00\x00" + zlib.compress(ICC))
        out += _chunk(b"tEXt", b"Comment\x00hello")
        out += _chunk(b"eXIf", tiff_header_only())
    if xmp is not None:
        if compressed_xmp:
            out += _chunk(b"iTXt", b"XML:com.adobe.xmp\x00\x01\x00\x00\x00" + zlib.compress(xmp))
        else:
            out += _chunk(b"iTXt", b"XML:com.adobe.xmp\x00\x00\x00\x00\x00" + xmp)
    if c2pa:
        out += _chunk(b"caBX", b"\x00\x00\x00\x10jumbc2pa-fake")
    raw = b"\x00\xff\x00\x00\x00\x00\xff"
    out += _chunk(b"IDAT", zlib.compress(raw)[:6]) + _chunk(b"IDAT", zlib.compress(raw)[6:])
    return out + _chunk(b"IEND", b"")


def png_blocks(data: bytes) -> list[tuple[str, bytes]]:
    blocks = []
    i = 8
    while i < len(data):
        length = struct.unpack(">I", data[i:i + 4])[0]
        kind = data[i + 4:i + 8]
        chunk = data[i:i + 12 + length]
        is_xmp = kind == b"iTXt" and chunk[8:].startswith(b"XML:com.adobe.xmp\x00")
        blocks.append(("xmp" if is_xmp else kind.decode("latin-1"), chunk))
        i += 12 + length
    return blocks


# --- WebP -----------------------------------------------------------------------------------------------------------
def _riff_chunk(kind: bytes, body: bytes) -> bytes:
    return kind + struct.pack("<I", len(body)) + body + (b"\x00" if len(body) & 1 else b"")


def vp8_frame(width: int = 3, height: int = 2) -> bytes:
    """A VP8 key frame header (frame tag, start code, size) followed by some (undecoded) partition bytes."""
    return b"\x50\x02\x00\x9d\x01\x2a" + struct.pack("<HH", width, height) + b"\x01\x02\x03\x04\x05"


def vp8l_1x1() -> bytes:
    """A complete 1x1 lossless bitstream: no transform, no colour cache, five single-symbol prefix codes."""
    bits: list[int] = []

    def put(value: int, n: int) -> None:
        bits.extend((value >> k) & 1 for k in range(n))

    for value, n in ((0, 14), (0, 14), (1, 1), (0, 3)):  # width-1, height-1, alpha used, version
        put(value, n)
    for _ in range(3):  # no transform, no colour cache, no meta prefix codes
        put(0, 1)
    for symbol in (0x80, 0x40, 0x20, 0xFF):  # green, red, blue, alpha: simple code, one 8-bit symbol
        for value, n in ((1, 1), (0, 1), (1, 1), (symbol, 8)):
            put(value, n)
    for value in (1, 0, 0, 0):  # distance: simple code, one 1-bit symbol (0)
        put(value, 1)
    while len(bits) % 8:
        bits.append(0)
    body = bytes(sum(bits[i + k] << k for k in range(8)) for i in range(0, len(bits), 8))
    return b"\x2f" + body


def webp_simple(kind: str = "lossy", payload: bytes | None = None) -> bytes:
    chunk = _riff_chunk(b"VP8 ", payload or vp8_frame()) if kind == "lossy" else _riff_chunk(b"VP8L", vp8l_1x1())
    body = b"WEBP" + chunk
    return b"RIFF" + struct.pack("<I", len(body)) + body


def webp_extended(*, xmp: bytes | None = None, c2pa: bool = False) -> bytes:
    flags = 0x20 | 0x08 | (0x04 if xmp is not None else 0)
    vp8x = bytes([flags, 0, 0, 0]) + (2).to_bytes(3, "little") + (1).to_bytes(3, "little")
    body = b"WEBP" + _riff_chunk(b"VP8X", vp8x) + _riff_chunk(b"ICCP", ICC) + _riff_chunk(b"VP8 ", vp8_frame())
    body += _riff_chunk(b"EXIF", tiff_header_only() + b"\x00")  # odd size: padded
    if xmp is not None:
        body += _riff_chunk(b"XMP ", xmp)
    if c2pa:
        body += _riff_chunk(b"C2PA", b"jumbc2pa")
    return b"RIFF" + struct.pack("<I", len(body)) + body


def webp_blocks(data: bytes) -> list[tuple[str, bytes]]:
    assert data[:4] == b"RIFF"
    assert data[8:12] == b"WEBP"
    end = 8 + struct.unpack("<I", data[4:8])[0]
    assert end == len(data), "RIFF size must equal the file size"
    blocks = []
    i = 12
    while i < end:
        kind = data[i:i + 4]
        size = struct.unpack("<I", data[i + 4:i + 8])[0]
        whole = data[i:i + 8 + size + (size & 1)]
        blocks.append((kind.decode("latin-1").strip() or "?", whole))
        i += len(whole)
    return blocks


# --- TIFF -----------------------------------------------------------------------------------------------------------
def tiff_header_only() -> bytes:
    """A minimal little-endian TIFF structure (used as EXIF payload): one IFD with one SHORT entry."""
    return b"II*\x00\x08\x00\x00\x00\x01\x00\x12\x01\x03\x00\x01\x00\x00\x00\x01\x00\x00\x00\x00\x00\x00\x00"


def tiff(order: str = "<", *, xmp: bytes | None = None, c2pa: bool = False) -> bytes:
    """A 4x2 8-bit grey uncompressed TIFF with two strips, an ASCII description and optionally an XMP tag."""
    e = order
    strips = [b"\x10\x20\x30\x40", b"\x50\x60\x70\x80"]
    desc = b"a tiny test image\x00"
    entries: list[tuple[int, int, int, bytes]] = []  # tag, type, count, data (placed later)
    entries += [(256, 3, 1, struct.pack(e + "H", 4)), (257, 3, 1, struct.pack(e + "H", 2)),
                (258, 3, 1, struct.pack(e + "H", 8)), (259, 3, 1, struct.pack(e + "H", 1)),
                (262, 3, 1, struct.pack(e + "H", 1)), (270, 2, len(desc), desc),
                (273, 4, 2, b""), (277, 3, 1, struct.pack(e + "H", 1)), (278, 3, 1, struct.pack(e + "H", 1)),
                (279, 4, 2, struct.pack(e + "II", 4, 4))]
    if xmp is not None:
        entries.append((700, 1, len(xmp), xmp))
    if c2pa:
        entries.append((0xCD41, 7, 8, b"jumbc2pa"))
    entries.sort()
    head = (b"II" if e == "<" else b"MM") + struct.pack(e + "HI", 42, 8)
    ifd_size = 2 + 12 * len(entries) + 4
    data_at = 8 + ifd_size
    blobs = b""
    strip_at = data_at  # strips first, then out-of-line values
    blobs += b"".join(strips)
    offsets = {}
    for tag, _typ, _count, value in entries:
        if tag != 273 and len(value) > 4:
            if (data_at + len(blobs)) & 1:
                blobs += b"\x00"
            offsets[tag] = data_at + len(blobs)
            blobs += value
    offsets[273] = data_at + len(blobs)
    blobs += struct.pack(e + "II", strip_at, strip_at + 4)
    ifd = struct.pack(e + "H", len(entries))
    for tag, typ, count, value in entries:
        if tag == 273:
            field = struct.pack(e + "I", offsets[273])
        elif len(value) > 4:
            field = struct.pack(e + "I", offsets[tag])
        else:
            field = value.ljust(4, b"\x00")
        ifd += struct.pack(e + "HHI", tag, typ, count) + field
    ifd += struct.pack(e + "I", 0)
    return head + ifd + blobs


def tiff_strips(data: bytes) -> list[tuple[int, bytes]]:
    """(offset, bytes) of every strip of IFD0, read independently of aiterms."""
    e = "<" if data[:2] == b"II" else ">"
    ifd = struct.unpack(e + "I", data[4:8])[0]
    n = struct.unpack(e + "H", data[ifd:ifd + 2])[0]
    tags = {}
    for k in range(n):
        tag, typ, count, raw = struct.unpack(e + "HHI4s", data[ifd + 2 + 12 * k:ifd + 14 + 12 * k])
        tags[tag] = (typ, count, raw)

    def values(tag: int) -> list[int]:
        typ, count, raw = tags[tag]
        size = 2 if typ == 3 else 4
        buf = raw if size * count <= 4 else data[struct.unpack(e + "I", raw)[0]:][:size * count]
        fmt = e + ("H" if size == 2 else "I")
        return [struct.unpack(fmt, buf[j:j + size])[0] for j in range(0, size * count, size)]

    return [(o, data[o:o + n_]) for o, n_ in zip(values(273), values(279), strict=True)]


def tiff_entries(data: bytes) -> dict[int, tuple[int, int, bytes]]:
    e = "<" if data[:2] == b"II" else ">"
    ifd = struct.unpack(e + "I", data[4:8])[0]
    n = struct.unpack(e + "H", data[ifd:ifd + 2])[0]
    out = {}
    for k in range(n):
        tag, typ, count, raw = struct.unpack(e + "HHI4s", data[ifd + 2 + 12 * k:ifd + 14 + 12 * k])
        out[tag] = (typ, count, raw)
    return out


# --- AVIF -----------------------------------------------------------------------------------------------------------
def _box(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", 8 + len(body)) + kind + body


def avif(xmp: bytes | None = None, *, idat: bool = False) -> bytes:
    """ftyp + meta (hdlr, iinf with an av01 item and a mime XMP item, iloc) + mdat; read-only format."""
    ftyp = _box(b"ftyp", b"avif\x00\x00\x00\x00avifmif1miaf")
    infes = _box(b"infe", b"\x02\x00\x00\x00" + b"\x00\x01\x00\x00" + b"av01" + b"\x00")
    if xmp is not None:
        infes += _box(b"infe", b"\x02\x00\x00\x00" + b"\x00\x02\x00\x00" + b"mime" + b"XMP\x00"
                      + b"application/rdf+xml\x00")
    iinf = _box(b"iinf", b"\x00\x00\x00\x00" + struct.pack(">H", 2 if xmp is not None else 1) + infes)
    hdlr = _box(b"hdlr", b"\x00" * 8 + b"pict" + b"\x00" * 12 + b"\x00")
    image_data = b"\x12\x00\x0a\x0a" * 4

    def build(xmp_off: int, img_off: int) -> bytes:
        version = 1 if idat else 0
        items = [(1, 0, img_off, len(image_data))]
        if xmp is not None:
            items.append((2, 1 if idat else 0, xmp_off, len(xmp)))
        body = bytes([version, 0, 0, 0]) + b"\x44\x00" + struct.pack(">H", len(items))
        for item, method, off, length in items:
            body += struct.pack(">H", item)
            if version == 1:
                body += struct.pack(">H", method)
            body += struct.pack(">HHII", 0, 1, off, length)
        iloc = _box(b"iloc", body)
        extra = _box(b"idat", xmp) if idat and xmp is not None else b""
        return _box(b"meta", b"\x00\x00\x00\x00" + hdlr + iinf + iloc + extra)

    meta = build(0, 0)
    mdat_start = len(ftyp) + len(meta) + 8
    xmp_off = 0 if idat else mdat_start + len(image_data)
    meta = build(xmp_off, mdat_start)
    payload = image_data + (b"" if idat or xmp is None else xmp)
    return ftyp + meta + _box(b"mdat", payload)


def tiny_jpeg() -> bytes:
    """A valid 8x8 grey baseline JPEG (one DC and one AC Huffman code, both '0')."""
    import struct

    seg = struct.pack
    return (b"\xff\xd8" + b"\xff\xe0" + seg(">H", 16) + b"JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"
            + b"\xff\xdb" + seg(">H", 67) + b"\x00" + b"\x01" * 64
            + b"\xff\xc0" + seg(">HBHHB", 11, 8, 8, 8, 1) + b"\x01\x11\x00"
            + b"\xff\xc4" + seg(">H", 20) + b"\x00\x01" + b"\x00" * 15 + b"\x00"
            + b"\xff\xc4" + seg(">H", 20) + b"\x10\x01" + b"\x00" * 15 + b"\x00"
            + b"\xff\xda" + seg(">HB", 8, 1) + b"\x01\x00\x00\x3f\x00" + b"\x3f" + b"\xff\xd9")


def tiny_png() -> bytes:
    """A valid 8x8 grey RGB PNG (decodable: what a C2PA signer needs)."""
    import struct
    import zlib

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)

    raw = b"".join(b"\x00" + b"\x80\x80\x80" * 8 for _ in range(8))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 8, 8, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))
