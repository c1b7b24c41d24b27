"""Embedding terms in images (spec/embedding.md): no byte lost, atomic writes, refusals that leave files alone,
an outside reader (exiftool) and aiterms' own importer reading back the same terms."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from collections.abc import Callable
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import _imagebuild as b
import aiterms
from aiterms.cli import run
from aiterms.embedding import EmbedError, embed_bytes, embed_file, sidecar_path
from aiterms.interop import containers, image, plus, xmp
from aiterms.model import Query
from aiterms.resolution import resolve

ROOT = Path(__file__).resolve().parents[1]
CONTEXT = "https://w3id.org/aiterms/context/v1.jsonld"


def _record(**kw: Any) -> dict[str, Any]:
    return {"@context": CONTEXT, "type": "ImageRecord", **kw}


STOCK = _record(id="https://stock.example.test/1", declarations=[{
    "declaredBy": {"role": "rights-holder", "id": "https://stock.example.test", "name": "Example Stock"},
    "rules": [{"effect": "prohibit", "use": "data-mining"}, {"effect": "permit", "use": "search-indexing"}]}])
FAMILY = _record(license="https://creativecommons.org/licenses/by-nc/4.0/", depictedPersons=4, declarations=[{
    "declaredBy": {"role": "rights-holder", "id": "example:anna", "name": "Anna"}, "issued": "2021-05-01",
    "rules": [{"effect": "permit", "use": "ai-training", "purpose": ["research"], "duties": ["attribution"]},
              {"effect": "prohibit", "use": "genai-training"}]}])
FLICKR = _record(owner="flickr:1@N00", license="https://creativecommons.org/licenses/by/2.0/", tags=["no_cv", "cat"])
CONSENT = _record(depictedPersons=1, declarations=[
    {"declaredBy": {"role": "rights-holder", "id": "example:ben"}, "rules": [{"effect": "permit", "use": "ai-use"}]},
    {"declaredBy": {"role": "depicted-person", "id": "urn:uuid:00000000-0000-4000-8000-000000000001"},
     "consent": [{"use": "biometric", "status": "refused"}]}])
RECORDS = {"stock": STOCK, "family": FAMILY, "flickr": FLICKR, "consent": CONSENT}

QUERIES = [{"use": u} for u in ("data-mining", "ai-training", "genai-training", "non-genai-training", "search-indexing",
                                "computer-vision", "cv-training", "face-recognition", "ai-inference")] + [
    {"use": "ai-training", "purpose": "research"},
    {"use": "face-recognition", "purpose": "research", "jurisdiction": "JP"},
    {"use": "cv-training", "purpose": "research", "actor": "research-organization", "jurisdiction": "DE"}]


def _decisions(record: dict[str, Any]) -> list[tuple[str, tuple[str, ...]]]:
    out = []
    for q in QUERIES:
        d = resolve(record, Query(at="2026-06-01", **q))
        out.append((d.outcome, d.obligations))
    return out


def _imported(data: bytes) -> dict[str, Any]:
    result = image.import_bytes(data, source_name="image")
    assert not [i for i in result.issues if i.severity == "error"], result.issues
    return {**result.record, "@context": CONTEXT, "type": "ImageRecord"}


GENERATED: dict[str, Callable[[], bytes]] = {
    "jpeg": lambda: b.jpeg(xmp=b.OTHER_XMP), "jpeg-noxmp": b.jpeg, "png": lambda: b.png(xmp=b.OTHER_XMP),
    "png-noxmp": b.png, "webp-lossy": b.webp_simple, "webp-lossless": lambda: b.webp_simple("lossless"),
    "webp-extended": lambda: b.webp_extended(xmp=b.OTHER_XMP), "tiff-ii": lambda: b.tiff("<", xmp=b.OTHER_XMP),
    "tiff-mm": lambda: b.tiff(">"),
}


def _blocks(data: bytes) -> list[tuple[str, bytes]]:
    fmt = containers.sniff(data)
    if fmt == "jpeg":
        return [x for x in b.jpeg_blocks(data) if x[0] != "xmp"]
    if fmt == "png":
        return [x for x in b.png_blocks(data) if x[0] != "xmp"]
    if fmt == "webp":
        return [x for x in b.webp_blocks(data) if x[0] not in ("XMP", "VP8X")]
    return [(f"strip@{o}", s) for o, s in b.tiff_strips(data)]


# --- generated images -----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", sorted(GENERATED))
@pytest.mark.parametrize("which", sorted(RECORDS))
def test_embed_generated_images(name: str, which: str) -> None:
    """req-embed, req-container-preserve: the image data stays, and importing gives the same decisions."""
    data, record = GENERATED[name](), RECORDS[which]
    result = embed_bytes(data, record)
    assert _blocks(result.data) == _blocks(data)
    assert _decisions(_imported(result.data)) == _decisions(record)
    assert result.data_mining == plus.collapse(record).code
    if b"Jane Doe" in data:  # existing XMP merged, not replaced
        sig = xmp.signals(xmp.parse_packet(containers.read(result.data).packets[0].data))
        assert sig.creators == ["Jane Doe"]
        assert sig.usage_terms == ["Ask first"]


def test_embed_is_idempotent() -> None:
    once = embed_bytes(b.jpeg(xmp=b.OTHER_XMP), FAMILY).data
    twice = embed_bytes(once, FAMILY).data
    assert twice == once


def test_plus_value_alone_is_never_more_permissive() -> None:
    """Without aiterms:record (a reader that knows only PLUS), the decisions are never more permissive."""
    for record in RECORDS.values():
        packet = containers.read(embed_bytes(b.png(), record).data).packets[0].data
        stripped = re.sub(rb"<aiterms:record>.*?</aiterms:record>", b"", packet, flags=re.S)
        plus_only = _record(**xmp.to_record([stripped]).record)
        rank = {"allowed": 0, "constrained": 1, "unspecified": 2, "notAllowed": 3}
        for (mine, _), (theirs, _) in zip(_decisions(record), _decisions(plus_only), strict=True):
            assert not (theirs == "allowed" and mine != "allowed")
            assert not (theirs == "notAllowed" and mine != "notAllowed") or rank[mine] >= 2


# --- refusals ---------------------------------------------------------------------------------------------------------
def _refused(data: bytes, record: dict[str, Any] = STOCK, **kw: Any) -> list[str]:
    with pytest.raises(EmbedError) as err:
        embed_bytes(data, record, **kw)
    return [i.code for i in err.value.issues]


def test_refusals() -> None:
    assert _refused(b.jpeg()[:-40]) == ["image-truncated"]
    assert _refused(b"GIF89a" + bytes(20)) == ["image-unsupported-format"]
    assert _refused(b.avif(b.OTHER_XMP)) == ["image-format-read-only"]
    assert _refused(b.jpeg(c2pa=True)) == ["c2pa-signed-refuse-in-place"]
    assert _refused(b.png(c2pa=True)) == ["c2pa-signed-refuse-in-place"]
    assert _refused(b.jpeg(xmp=b"<x:xmpmeta xmlns:x='adobe:ns:meta/'><rdf:RDF")) == ["xmp-malformed"]
    assert _refused(b.png(xmp=b'<!DOCTYPE x [<!ENTITY a "b">]><x>&a;</x>')) == ["unsafe-xml"]
    big = b.packet("<dc:title>" + "x" * 65_000 + "</dc:title>")
    assert _refused(b.jpeg(xmp=big)) == ["xmp-too-large"]
    codes = _refused(b.jpeg(), {"@context": CONTEXT, "type": "ImageRecord",
                                "declarations": [{"declaredBy": {"role": "rights-holder"},
                                                  "rules": [{"effect": "prohibit", "use": "train-ai"}]}]})
    assert codes[0] == "embed-record-invalid"
    assert "unknown-use" in codes


def test_large_padding_is_dropped_to_fit() -> None:
    """req-xmp-size-jpeg: padding goes first."""
    padded = b.packet("<dc:title>" + "x" * 60_000 + "</dc:title>", padding=5_000)
    assert len(padded) < containers.JPEG_MAX_STANDARD_XMP
    out = embed_bytes(b.jpeg(xmp=padded), STOCK).data
    assert len(containers.read(out).packets[0].data) <= containers.JPEG_MAX_STANDARD_XMP


def test_force_and_sidecar_for_c2pa() -> None:
    data = b.jpeg(c2pa=True)
    forced = embed_bytes(data, STOCK, force=True)
    assert "c2pa-signature-invalidated" in [i.code for i in forced.issues]
    app11 = [s for k, s in b.jpeg_blocks(data) if k == "eb"]
    assert app11
    assert all(s in forced.data for s in app11)
    side = embed_bytes(data, STOCK, mode="sidecar")
    assert xmp.to_record([side.data]).record["declarations"][0]["rules"] == STOCK["declarations"][0]["rules"]


def test_content_hash_stale_warning() -> None:
    import hashlib

    data = b.png()
    record = {**STOCK, "contentHash": "sha256:" + hashlib.sha256(data).hexdigest()}
    assert "embed-content-hash-stale" in [i.code for i in embed_bytes(data, record).issues]


def test_verify_failure_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    """req-embed-verify: an image that does not read back is never returned."""
    monkeypatch.setattr(containers, "replace_xmp", lambda data, packet: data)
    assert _refused(b.png()) == ["embed-verify-failed"]


# --- files ----------------------------------------------------------------------------------------------------------
def _snapshot(path: Path) -> tuple[bytes, int]:
    return path.read_bytes(), path.stat().st_mtime_ns


@pytest.mark.parametrize(("content", "code"), [
    (b.jpeg()[:-30], "image-truncated"),
    (b.png()[:-3], "image-truncated"),
    (b"\x89PNG\r\n\x1a\n" + bytes(40), "image-malformed"),
    (b.webp_extended(xmp=b"<oops"), "xmp-malformed"),
    (b.tiff(xmp=b"<!DOCTYPE x [<!ENTITY e SYSTEM 'file:///etc/passwd'>]><x>&e;</x>"), "unsafe-xml"),
    (b.jpeg(xmp=b.packet("<dc:title>" + "x" * 64_800 + "</dc:title>")), "xmp-too-large"),
    (b.jpeg(c2pa=True), "c2pa-signed-refuse-in-place"),
])
def test_refused_files_are_untouched(tmp_path: Path, content: bytes, code: str) -> None:
    """req-embed-atomic: a refused embedding leaves the file as it was, bytes and modification time."""
    path = tmp_path / "image.bin"
    path.write_bytes(content)
    os.utime(path, ns=(1_000_000_000, 1_000_000_000))
    before = _snapshot(path)
    for kw in ({"in_place": True}, {"output": tmp_path / "out.bin"}):
        with pytest.raises(EmbedError) as err:
            embed_file(path, STOCK, **kw)  # type: ignore[arg-type]
        assert err.value.issues[0].code == code
        assert _snapshot(path) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["image.bin"]


def test_interrupted_write_keeps_the_original(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """req-atomic-write: os.replace failing mid-way leaves the original intact and no temporary file."""
    path = tmp_path / "photo.png"
    path.write_bytes(b.png(xmp=b.OTHER_XMP))
    before = _snapshot(path)

    def boom(src: Any, dst: Any) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", boom)
    with pytest.raises(OSError, match="disk full"):
        embed_file(path, STOCK, in_place=True)
    assert _snapshot(path) == before
    assert [p.name for p in tmp_path.iterdir()] == ["photo.png"]


def test_symlink_at_output_is_not_followed(tmp_path: Path) -> None:
    """req-no-symlink-follow: -o onto a symlink replaces the link; its target keeps its bytes."""
    src = tmp_path / "in.jpg"
    src.write_bytes(b.jpeg())
    victim = tmp_path / "victim.txt"
    victim.write_bytes(b"precious")
    link = tmp_path / "out.jpg"
    link.symlink_to(victim)
    done = embed_file(src, STOCK, output=link)
    assert victim.read_bytes() == b"precious"
    assert not link.is_symlink()
    assert link.read_bytes() == done.result.data


def test_in_place_and_sidecar(tmp_path: Path) -> None:
    path = tmp_path / "photo.webp"
    original = b.webp_extended(xmp=b.OTHER_XMP)
    path.write_bytes(original)
    done = embed_file(path, FAMILY, sidecar=True)
    assert done.path == str(sidecar_path(path)) == str(path) + ".xmp"
    assert path.read_bytes() == original  # the image is not touched
    side = Path(done.path).read_bytes()
    assert b"Jane Doe" in side  # the sidecar starts from the image's own XMP
    again = embed_file(path, STOCK, sidecar=True)  # merges into the existing sidecar
    packet = Path(again.path).read_bytes()
    assert packet.count(b"<plus:DataMining>") == 1
    assert b"Jane Doe" in packet
    embed_file(path, STOCK, in_place=True)
    assert _decisions(_imported(path.read_bytes())) == _decisions(STOCK)
    with pytest.raises(ValueError, match="exactly one"):
        embed_file(path, STOCK, in_place=True, sidecar=True)


def test_avif_sidecar(tmp_path: Path) -> None:
    path = tmp_path / "a.avif"
    path.write_bytes(b.avif(b.OTHER_XMP))
    done = embed_file(path, STOCK, sidecar=True)
    result = xmp.import_bytes(Path(done.path).read_bytes(), source_name=done.path)
    assert _decisions(_record(**result.record)) == _decisions(STOCK)


def test_library_entry_point(tmp_path: Path) -> None:
    path = tmp_path / "x.png"
    path.write_bytes(b.png())
    assert aiterms.embed(path, STOCK) == aiterms.embed(b.png(), STOCK)
    import aiterms.embedding as module

    assert module.embed(b.png(), STOCK, mode="sidecar").startswith(b"<?xpacket")


# --- command line -----------------------------------------------------------------------------------------------------
def _cli(*argv: str) -> tuple[int, str, str]:
    out, err = StringIO(), StringIO()
    code = run(list(argv), stdout=out, stderr=err)
    return code, out.getvalue(), err.getvalue()


def test_cli(tmp_path: Path) -> None:
    img = tmp_path / "a.jpg"
    img.write_bytes(b.jpeg())
    rec = tmp_path / "r.json"
    rec.write_text(json.dumps(STOCK))
    code, out, _ = _cli("embed", str(img), "--record", str(rec), "-o", str(tmp_path / "b.jpg"), "--format", "json")
    assert code == 0
    report = json.loads(out)
    assert report["written"] is True
    assert report["dataMining"] == plus.BASE + plus.EXCEPT_SEARCH
    code, out, err = _cli("embed", str(img), "--record", str(rec), "--sidecar")
    assert code == 0
    assert "wrote" in out
    assert sidecar_path(img).exists()
    bad = tmp_path / "bad.jpg"
    bad.write_bytes(b.jpeg()[:-10])
    code, out, err = _cli("embed", str(bad), "--record", str(rec), "--in-place")
    assert code == 1
    assert "image-truncated" in err
    code, out, _ = _cli("embed", str(bad), "--record", str(rec), "--in-place", "--format", "json")
    assert json.loads(out)["issues"][0]["code"] == "image-truncated"
    assert _cli("embed", str(img), "--record", str(tmp_path / "missing.json"), "--in-place")[0] == 2
    assert _cli("embed", str(tmp_path / "missing.jpg"), "--record", str(rec), "--in-place")[0] == 2
    assert _cli("embed", str(img), "--record", str(rec))[0] == 2  # no output mode
    rec.write_text("{not json")
    assert _cli("embed", str(img), "--record", str(rec), "--in-place")[0] == 1


# --- the shared corpus ------------------------------------------------------------------------------------------------
def _corpus_images(corpus: Any) -> list[Path]:
    images = sorted((corpus / "sinfin-folio" / "metadata_test_images").glob("*")) + sorted(
        (corpus / "c2pa-rs").glob("*.jpg"))
    if not images:
        pytest.skip("corpus images absent")
    return images


def _segments(data: bytes, marker: str) -> list[bytes]:
    return [s for k, s in b.jpeg_blocks(data) if k == marker]


def test_corpus_embed_keeps_everything(corpus: Any) -> None:
    """(a) image data, (b) EXIF/ICC/IIM/C2PA blocks, (c) existing XMP properties, (e) decisions."""
    for path in _corpus_images(corpus):
        data = path.read_bytes()
        info = containers.read(data)
        if info.c2pa:
            with pytest.raises(EmbedError) as err:
                embed_bytes(data, FAMILY)
            assert err.value.issues[0].code == "c2pa-signed-refuse-in-place", path.name
            out = embed_bytes(data, FAMILY, force=True).data
            assert _segments(out, "eb") == _segments(data, "eb"), path.name  # JUMBF kept byte for byte
        else:
            out = embed_bytes(data, FAMILY).data
        assert _blocks(out) == _blocks(data), path.name
        if info.format == "jpeg":
            for marker in ("e1", "e2", "ed", "fe"):  # Exif (non-XMP APP1), ICC, Photoshop IRB/IIM, comments
                assert _segments(out, marker) == _segments(data, marker), (path.name, marker)
        if info.packets:
            owned = {f"{{{xmp.PLUS}}}DataMining", f"{{{xmp.PLUS}}}OtherConstraints", f"{{{xmp.CC}}}license"}
            before = {(p.name, repr(p.value)) for p in xmp.parse_packet(info.packets[0].data).props
                      if p.name not in owned}
            after = {(p.name, repr(p.value)) for p in xmp.parse_packet(containers.read(out).packets[0].data).props}
            assert before <= after, path.name
        assert _decisions(_imported(out)) == _decisions(FAMILY), path.name


def test_corpus_expected_decisions(corpus: Any) -> None:
    """Stated expectations: IPTC 2023.1 reference image -> genai-training notAllowed; Getty WebP -> ai-training
    notAllowed, search-indexing allowed; images without DataMining -> no data-mining rule."""
    folder = corpus / "sinfin-folio" / "metadata_test_images"
    iptc = _imported(corpus("sinfin-folio/metadata_test_images/IPTC-PhotometadataRef-Std2023.1.jpg").read_bytes())
    assert resolve(iptc, Query(use="genai-training")).outcome == "notAllowed"
    assert resolve(iptc, Query(use="non-genai-training")).outcome == "unspecified"
    for getty in sorted(folder.glob("gettyimages-*.webp")):
        record = _imported(getty.read_bytes())
        assert resolve(record, Query(use="ai-training")).outcome == "notAllowed", getty.name
        assert resolve(record, Query(use="search-indexing")).outcome == "allowed", getty.name
    for name in ("IPTC-PhotometadataRef-Std2014_large.jpg", "IPTC-PhotometadataRef-Std2016_large.jpg",
                 "IPTC-PhotometadataRef-Std2021.1.jpg", "profimedia-0701180382.jpg",
                 "westend61-part-of-a-brick-wall-OPF000009.jpg"):
        record = _imported((folder / name).read_bytes())
        assert "declarations" not in record, name
        assert resolve(record, Query(use="data-mining")).outcome == "unspecified", name


EXIFTOOL = shutil.which("exiftool")


@pytest.mark.skipif(EXIFTOOL is None, reason="exiftool not installed (Debian: libimage-exiftool-perl; .ci/run "
                                            "installs it)")
def test_exiftool_reads_back(tmp_path: Path, corpus: Any) -> None:
    """(d) an outside reader sees plus:DataMining, OtherConstraints and the xmpRights written."""
    sources = {f"gen.{n.split('-')[0].replace('jpeg', 'jpg').replace('tiff', 'tif')}": GENERATED[n]()
               for n in ("jpeg", "png", "webp-lossy", "tiff-mm")}
    for path in _corpus_images(corpus):
        if not containers.read(path.read_bytes()).c2pa:
            sources[path.name] = path.read_bytes()
    files = []
    for name, data in sources.items():
        out = tmp_path / f"out-{name}"
        out.write_bytes(embed_bytes(data, FAMILY).data)
        files.append(out)
    result = subprocess.run([EXIFTOOL, "-j", "-XMP-plus:all", "-XMP-xmpRights:all", "-XMP-cc:all", "-warning",
                             "-error", *map(str, files)], capture_output=True, text=True, check=False, timeout=120)
    rows = json.loads(result.stdout)
    assert len(rows) == len(files)
    for row in rows:
        assert row.get("DataMining") == plus.BASE + plus.GENAIML, row["SourceFile"]
        assert str(row.get("OtherConstraints", "")).startswith("AI usage terms (aiterms;"), row["SourceFile"]
        assert row.get("License") == FAMILY["license"], row["SourceFile"]
        assert "Error" not in row, row
        if "gen." in row["SourceFile"]:
            assert row.get("WebStatement") == FAMILY["license"]


# --- spec bookkeeping -------------------------------------------------------------------------------------------------
def _spec_codes(name: str) -> dict[str, str]:
    text = (ROOT / "spec" / name).read_text("utf-8")
    table = text.split("<!-- codes -->")[1].split("<!-- /codes -->")[0]
    return {m.group(1): m.group(2) for m in re.finditer(r"^\| `([a-z0-9-]+)` \| (\w+) \|", table, re.M)}


def test_code_tables_match_the_code() -> None:
    """Every code the image/XMP/embed modules emit is registered once, with the severity they use."""
    import aiterms.embedding
    import aiterms.interop.xmpwrite  # noqa: F401
    from aiterms.limits import SEVERITIES as LIMITS

    spec = _spec_codes("embedding.md") | _spec_codes("interop-xmp.md")
    assert set(spec).isdisjoint(LIMITS)
    assert {k: str(v) for k, v in containers.SEVERITIES.items()} == spec


def test_cited_requirements_exist() -> None:
    anchors = set()
    for md in (ROOT / "spec").glob("*.md"):
        anchors |= set(re.findall(r'<a id="(req-[a-z0-9-]+)"></a>', md.read_text("utf-8")))
    modules = ["interop/containers.py", "interop/_bmff.py", "interop/xmp.py", "interop/xmpwrite.py", "interop/plus.py",
               "interop/image.py", "embedding.py", "cli/_embed.py"]
    for mod in modules:
        cited = set(re.findall(r"\b(req-[a-z0-9]+(?:-[a-z0-9]+)*)", (ROOT / "reference/aiterms" / mod).read_text()))
        assert cited <= anchors, (mod, cited - anchors)


@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.sampled_from(sorted(GENERATED)), st.lists(st.tuples(st.integers(0, 4_000), st.integers(0, 255)),
                                                     min_size=1, max_size=5))
def test_corrupted_images_are_embedded_or_refused(name: str, edits: list[tuple[int, int]]) -> None:
    """Whatever the bytes, embedding returns an image that reads back, or raises EmbedError: nothing else."""
    data = bytearray(GENERATED[name]())
    for at, value in edits:
        data[at % len(data)] = value
    refused: tuple[Any, ...] = ()
    try:
        out = embed_bytes(bytes(data), STOCK).data
    except EmbedError as exc:
        refused = exc.issues
    if refused:
        assert refused[0].severity == "error"
    else:
        assert containers.read(out).packets
