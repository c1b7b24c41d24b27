"""Image containers: finding, reading and replacing the XMP packet without touching any other byte
(spec/embedding.md#containers)."""

from __future__ import annotations

import struct
from collections.abc import Callable

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import _imagebuild as b
from aiterms.interop import containers as c

NEW = b.packet("   <dc:title>new</dc:title>")

GENERATED: dict[str, Callable[[], bytes]] = {
    "jpeg": b.jpeg,
    "jpeg-xmp": lambda: b.jpeg(xmp=b.OTHER_XMP),
    "jpeg-bare": lambda: b.jpeg(exif=False, icc=False, iim=False, comment=False),
    "png": b.png,
    "png-xmp": lambda: b.png(xmp=b.OTHER_XMP),
    "png-zxmp": lambda: b.png(xmp=b.OTHER_XMP, compressed_xmp=True),
    "webp-lossy": lambda: b.webp_simple("lossy"),
    "webp-lossless": lambda: b.webp_simple("lossless"),
    "webp-extended": b.webp_extended,
    "webp-extended-xmp": lambda: b.webp_extended(xmp=b.OTHER_XMP),
    "tiff-ii": lambda: b.tiff("<"),
    "tiff-mm": lambda: b.tiff(">"),
    "tiff-ii-xmp": lambda: b.tiff("<", xmp=b.OTHER_XMP),
    "tiff-mm-xmp": lambda: b.tiff(">", xmp=b.OTHER_XMP),
}


def _without_xmp(blocks: list[tuple[str, bytes]]) -> list[tuple[str, bytes]]:
    return [blk for blk in blocks if blk[0] not in ("xmp", "XMP")]


@pytest.mark.parametrize("name", sorted(GENERATED))
def test_read_and_replace_round_trip(name: str) -> None:
    """req-container-read, req-container-preserve: the new packet is found where the old one was."""
    data = GENERATED[name]()
    info = c.read(data)
    assert info.format == name.split("-", maxsplit=1)[0]
    assert [p.data for p in info.packets] == ([b.OTHER_XMP] if "xmp" in name else [])
    out = c.replace_xmp(data, NEW)
    again = c.read(out)
    assert [p.data for p in again.packets] == [NEW]
    assert c.replace_xmp(out, b.OTHER_XMP) != out  # replacing again replaces, never adds
    assert len(c.read(c.replace_xmp(out, b.OTHER_XMP)).packets) == 1


@pytest.mark.parametrize("name", [n for n in sorted(GENERATED) if n.startswith("jpeg")])
def test_jpeg_keeps_every_other_segment_and_the_scan(name: str) -> None:
    data = GENERATED[name]()
    out = c.replace_xmp(data, NEW)
    before, after = b.jpeg_blocks(data), b.jpeg_blocks(out)
    assert _without_xmp(after) == _without_xmp(before)
    assert after[-1][0] == "scan"
    assert after[-1][1] == before[-1][1]
    xmp_at = [k for k, _ in after].index("xmp")
    kinds = [k for k, _ in after[:xmp_at]]
    assert kinds in (["SOI", "e0", "e1"], ["SOI", "e0"])  # after JFIF and Exif, as XMP conventionally sits


@pytest.mark.parametrize("name", [n for n in sorted(GENERATED) if n.startswith("png")])
def test_png_keeps_every_other_chunk(name: str) -> None:
    data = GENERATED[name]()
    out = c.replace_xmp(data, NEW)
    before, after = b.png_blocks(data), b.png_blocks(out)
    assert _without_xmp(after) == _without_xmp(before)
    kinds = [k for k, _ in after]
    assert kinds.index("xmp") < kinds.index("IDAT")
    c.png_chunks(out)  # every CRC, including the new chunk's, checks out


@pytest.mark.parametrize("name", [n for n in sorted(GENERATED) if n.startswith("webp")])
def test_webp_keeps_every_other_chunk_and_fixes_the_riff(name: str) -> None:
    data = GENERATED[name]()
    out = c.replace_xmp(data, NEW)
    before, after = b.webp_blocks(data), b.webp_blocks(out)  # webp_blocks asserts RIFF size == file size
    strip = {"VP8X", "XMP"}
    assert [blk for blk in after if blk[0] not in strip] == [blk for blk in before if blk[0] not in strip]
    assert after[0][0] == "VP8X"
    assert after[-1][0] == "XMP"
    flags = after[0][1][8]
    assert flags & c.VP8X_XMP


@pytest.mark.parametrize(("kind", "size", "alpha"), [("lossy", (3, 2), False), ("lossless", (1, 1), True)])
def test_webp_simple_gets_vp8x_with_the_canvas_size(kind: str, size: tuple[int, int], alpha: bool) -> None:
    """req-webp-vp8x: the created VP8X carries the image's canvas size and its alpha flag."""
    out = c.replace_xmp(b.webp_simple(kind), NEW)
    vp8x = b.webp_blocks(out)[0][1][8:18]
    width = int.from_bytes(vp8x[4:7], "little") + 1
    height = int.from_bytes(vp8x[7:10], "little") + 1
    assert (width, height) == size
    assert bool(vp8x[0] & c.VP8X_ALPHA) is alpha
    assert vp8x[0] & c.VP8X_XMP
    assert vp8x[1:4] == b"\x00\x00\x00"


def test_webp_odd_sized_xmp_is_padded() -> None:
    out = c.replace_xmp(b.webp_extended(), NEW + b" ")
    assert len(NEW + b" ") % 2 == 1
    assert len(out) % 2 == 0
    assert c.read(out).packets[0].data == NEW + b" "


@pytest.mark.parametrize("order", ["<", ">"])
@pytest.mark.parametrize("with_xmp", [False, True])
def test_tiff_strips_stay_in_place(order: str, with_xmp: bool) -> None:
    """TIFF: the new packet is appended; strips keep their bytes and offsets; other IFD entries are unchanged."""
    data = b.tiff(order, xmp=b.OTHER_XMP if with_xmp else None)
    out = c.replace_xmp(data, NEW)
    assert out[:4] == data[:4]
    assert b.tiff_strips(out) == b.tiff_strips(data)
    before, after = b.tiff_entries(data), b.tiff_entries(out)
    assert {k: v for k, v in after.items() if k != 700} == {k: v for k, v in before.items() if k != 700}
    assert c.read(out).packets[0].data == NEW
    if with_xmp:
        changed = [i for i in range(len(data)) if out[i] != data[i]]
        assert changed, "the XMP entry must point elsewhere"
        assert all(8 <= i < 8 + 2 + 12 * len(before) for i in changed)  # only the tag 700 entry of IFD0 changes
    else:
        assert out[8:len(data)] == data[8:]  # old IFD0 and data untouched; header points to the appended IFD


def test_tiff_bigtiff_is_unsupported() -> None:
    with pytest.raises(c.ContainerError) as err:
        c.read(b"II+\x00\x08\x00\x00\x00" + bytes(16))
    assert err.value.code == c.IMAGE_UNSUPPORTED


def test_avif_is_read_only() -> None:
    for data in (b.avif(b.OTHER_XMP), b.avif(b.OTHER_XMP, idat=True)):
        info = c.read(data)
        assert info.format == "avif"
        assert [p.data for p in info.packets] == [b.OTHER_XMP]
        with pytest.raises(c.ContainerError) as err:
            c.replace_xmp(data, NEW)
        assert err.value.code == c.IMAGE_READ_ONLY
    assert c.read(b.avif()).packets == ()


@pytest.mark.parametrize("build", [lambda: b.jpeg(c2pa=True), lambda: b.png(c2pa=True),
                                   lambda: b.webp_extended(c2pa=True), lambda: b.tiff(c2pa=True)])
def test_c2pa_is_noticed(build: Callable[[], bytes]) -> None:
    data = build()
    assert c.read(data).c2pa
    out = c.replace_xmp(data, NEW)
    assert c.read(out).c2pa


def test_no_c2pa_in_plain_images() -> None:
    assert not any(c.read(f()).c2pa for f in GENERATED.values())


def test_jpeg_extended_xmp_is_reassembled_and_kept() -> None:
    main = b.packet("<xmpNote:HasExtendedXMP>0123456789ABCDEF0123456789ABCDEF</xmpNote:HasExtendedXMP>",
                    extra_ns='xmlns:xmpNote="http://ns.adobe.com/xmp/note/"')
    ext = b.packet("<dc:title>extended</dc:title>")
    data = b.jpeg(xmp=main, extended=ext)
    info = c.read(data)
    assert info.extended is not None
    assert info.extended.data == ext
    out = c.replace_xmp(data, NEW)
    ext_segments = [s for k, s in b.jpeg_blocks(data) if b.EXT_HEAD in s[:60]]
    assert len(ext_segments) == 2
    assert all(s in out for s in ext_segments)


def test_jpeg_extended_xmp_missing_is_reported() -> None:
    main = b.packet("<xmpNote:HasExtendedXMP>FFFF456789ABCDEF0123456789ABCDEF</xmpNote:HasExtendedXMP>",
                    extra_ns='xmlns:xmpNote="http://ns.adobe.com/xmp/note/"')
    info = c.read(b.jpeg(xmp=main, extended=b.packet("")))
    assert info.extended is None
    assert [i.code for i in info.issues] == [c.XMP_EXTENDED_INCOMPLETE]


def test_jpeg_packet_limit() -> None:
    """req-xmp-size-jpeg: a standard XMP packet larger than 65502 bytes is refused."""
    c.replace_xmp(b.jpeg(), b"x" * c.JPEG_MAX_STANDARD_XMP)
    with pytest.raises(c.ContainerError) as err:
        c.replace_xmp(b.jpeg(), b"x" * (c.JPEG_MAX_STANDARD_XMP + 1))
    assert err.value.code == c.XMP_TOO_LARGE


@pytest.mark.parametrize("build", [lambda: b.jpeg(xmp=NEW), lambda: b.png(xmp=NEW)])
def test_two_packets_are_read_and_not_rewritten(build: Callable[[], bytes]) -> None:
    data = build()
    doubled = c.replace_xmp(data, NEW)  # one packet
    assert len(c.read(doubled).packets) == 1
    if data[:2] == b"\xff\xd8":
        seg = b"\xff\xe1" + struct.pack(">H", len(b.XMP_HEAD) + len(NEW) + 2) + b.XMP_HEAD + NEW
        twice = data[:2] + seg + data[2:]
    elif data[:4] == b"\x89PNG":
        chunk = b._chunk(b"iTXt", b"XML:com.adobe.xmp\x00\x00\x00\x00\x00" + NEW)
        twice = data[:33] + chunk + data[33:]
    else:  # pragma: no cover
        raise AssertionError("unexpected format")
    info = c.read(twice)
    assert len(info.packets) == 2
    assert [i.code for i in info.issues] == [c.XMP_MULTIPLE]
    with pytest.raises(c.ContainerError) as err:
        c.replace_xmp(twice, NEW)
    assert err.value.code == c.XMP_AMBIGUOUS


ALLOWED_CODES = {c.IMAGE_TRUNCATED, c.IMAGE_MALFORMED, c.IMAGE_UNSUPPORTED, c.LIMIT_CONTAINER, c.LIMIT_XMP_SIZE}


@pytest.mark.parametrize("name", sorted(GENERATED))
def test_every_truncation_is_a_coded_error(name: str) -> None:
    """req-container-coded-errors: every strict prefix of an image is refused with a code, never an exception."""
    data = GENERATED[name]()
    end = len(data)
    if name.startswith("tiff"):
        end = max(o + len(s) for o, s in b.tiff_strips(data))  # bytes after the last strip are optional values
    for cut in range(end):
        with pytest.raises(c.ContainerError) as err:
            c.read(data[:cut])
        assert err.value.code in ALLOWED_CODES, (cut, err.value)
        if cut > 12:
            with pytest.raises(c.ContainerError):
                c.replace_xmp(data[:cut], NEW)


def test_truncated_codes_are_precise() -> None:
    assert _code(b.jpeg()[:-1]) == c.IMAGE_TRUNCATED
    assert _code(b.png()[:-5]) == c.IMAGE_TRUNCATED
    assert _code(b.webp_extended()[:-3]) == c.IMAGE_TRUNCATED
    data = b.tiff()
    last = max(o + len(s) for o, s in b.tiff_strips(data))
    assert _code(data[:last - 1]) == c.IMAGE_TRUNCATED
    assert _code(b"not an image at all") == c.IMAGE_UNSUPPORTED


def test_malformed_codes() -> None:
    bad_crc = bytearray(b.png())
    bad_crc[30] ^= 0xFF  # inside IHDR
    assert _code(bytes(bad_crc)) == c.IMAGE_MALFORMED
    jpg = bytearray(b.jpeg())
    jpg[20] = 0x00  # where the segment after APP0 starts: not a marker
    assert _code(bytes(jpg)) == c.IMAGE_MALFORMED
    webp = bytearray(b.webp_simple())
    webp[12:16] = b"JUNK"
    assert _code(bytes(webp)) == c.IMAGE_MALFORMED


def test_too_many_segments_hit_the_limit() -> None:
    data = b.jpeg()
    many = data[:2] + b"\xff\xfe\x00\x02" * 10_001 + data[2:]
    assert _code(many) == c.LIMIT_CONTAINER


def _code(data: bytes) -> str:
    with pytest.raises(c.ContainerError) as err:
        c.read(data)
    return err.value.code


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(sorted(GENERATED)), st.lists(st.tuples(st.integers(0, 10_000), st.integers(0, 255)),
                                                     min_size=1, max_size=6))
def test_corrupted_images_never_crash(name: str, edits: list[tuple[int, int]]) -> None:
    """Random byte corruption gives a result or a ContainerError, nothing else."""
    data = bytearray(GENERATED[name]())
    for at, value in edits:
        data[at % len(data)] = value
    codes = []
    for op in (lambda: c.read(bytes(data)), lambda: c.replace_xmp(bytes(data), NEW)):
        try:
            op()
        except c.ContainerError as exc:
            codes.append(exc.code)
    assert set(codes) <= ALLOWED_CODES | {c.IMAGE_READ_ONLY, c.XMP_AMBIGUOUS, c.XMP_TOO_LARGE}


def test_sniff() -> None:
    assert c.sniff(b.jpeg()) == "jpeg"
    assert c.sniff(b.png()) == "png"
    assert c.sniff(b.webp_simple()) == "webp"
    assert c.sniff(b.tiff(">")) == "tiff"
    assert c.sniff(b.avif()) == "avif"
    assert c.sniff(b"GIF89a") is None


def test_corpus_images_read_and_rewrite(corpus: object) -> None:
    """Every image in the shared corpus is read; rewriting its XMP keeps every other block."""
    from pathlib import Path

    folder: Path = corpus / "sinfin-folio" / "metadata_test_images"  # type: ignore[operator]
    images = sorted(folder.glob("*")) + sorted((corpus / "c2pa-rs").glob("*.jpg"))  # type: ignore[operator]
    if not images:
        pytest.skip("corpus images absent")
    for path in images:
        data = path.read_bytes()
        info = c.read(data)
        out = c.replace_xmp(data, NEW)
        assert c.read(out).packets[0].data == NEW
        if info.format == "jpeg":
            assert _without_xmp(b.jpeg_blocks(out)) == _without_xmp(b.jpeg_blocks(data)), path.name
        else:
            keep = {"VP8X", "XMP"}
            assert [x for x in b.webp_blocks(out) if x[0] not in keep] == [
                x for x in b.webp_blocks(data) if x[0] not in keep], path.name
