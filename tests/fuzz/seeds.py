"""Built-in seeds for the fuzz targets: the files the shared corpus lacks (small images with XMP in every container,
prohibiting and mixed signal files) and the paddings that push a seed past its limit without changing its meaning.
"""

from __future__ import annotations

from functools import cache
from typing import Any

import _imagebuild


def _pad_json(seed: bytes) -> bytes:
    return seed + b" " * (16 * 1024 * 1024 + 1 - len(seed))


def _pad_robots(seed: bytes) -> bytes:
    line = b"# " + b"x" * 78 + b"\n"
    return seed + (b"\n" if not seed.endswith(b"\n") else b"") + line * (500 * 1024 // len(line) + 2)


def _pad_headers(seed: bytes) -> bytes:
    return seed + (b"\n" if not seed.endswith(b"\n") else b"") + b"X-Padding: x\n" * 1001


def _pad_xmp(seed: bytes) -> bytes:
    marker = b"<?xpacket end="
    pad = b" " * (4 * 1024 * 1024 + 1)
    i = seed.find(marker)
    return seed[:i] + pad + seed[i:] if i >= 0 else seed + pad


XMP_PLUS = (
    b'<?xpacket begin="\xef\xbb\xbf" id="W5M0MpCehiHzreSzNTczkc9d"?>\n'
    b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">\n'
    b'<rdf:Description rdf:about="" xmlns:plus="http://ns.useplus.org/ldf/xmp/1.0/"\n'
    b' plus:DataMining="http://ns.useplus.org/ldf/vocab/DMI-PROHIBITED"/>\n'
    b'</rdf:RDF></x:xmpmeta>\n<?xpacket end="w"?>'
)
XMP_PLUS_ELEMENT = XMP_PLUS.replace(
    b' plus:DataMining="http://ns.useplus.org/ldf/vocab/DMI-PROHIBITED"/>',
    b'><plus:DataMining rdf:resource="http://ns.useplus.org/ldf/vocab/DMI-PROHIBITED-AIMLTRAINING"/>'
    b"</rdf:Description>")
XMP_ALLOWED = XMP_PLUS.replace(b"DMI-PROHIBITED", b"DMI-ALLOWED")


def _png_with_xmp(xmp: bytes) -> bytes:
    import struct
    import zlib

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)

    ihdr = struct.pack(">IIBBBBB", 1, 1, 8, 0, 0, 0, 0)
    idat = zlib.compress(b"\x00\x00")
    itxt = b"XML:com.adobe.xmp\x00\x00\x00\x00\x00" + xmp
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"iTXt", itxt) + chunk(b"IDAT", idat) + chunk(
        b"IEND", b"")


def _jpeg_with_xmp(xmp: bytes) -> bytes:
    import struct

    body = b"http://ns.adobe.com/xap/1.0/\x00" + xmp
    app1 = b"\xff\xe1" + struct.pack(">H", len(body) + 2) + body
    # a 1x1 baseline JPEG's essential segments are not needed for metadata readers; SOS..EOI keeps it well formed
    return b"\xff\xd8" + app1 + b"\xff\xda\x00\x08\x01\x01\x00\x00\x3f\x00\x00\xff\xd9"


def _webp_with_xmp(xmp: bytes) -> bytes:
    import struct

    def chunk(kind: bytes, body: bytes) -> bytes:
        return kind + struct.pack("<I", len(body)) + body + (b"\x00" if len(body) % 2 else b"")

    vp8x = chunk(b"VP8X", bytes([0x04, 0, 0, 0]) + (0).to_bytes(3, "little") + (0).to_bytes(3, "little"))
    vp8l = chunk(b"VP8L", b"\x2f\x00\x00\x00\x00")
    body = b"WEBP" + vp8x + vp8l + chunk(b"XMP ", xmp)
    return b"RIFF" + struct.pack("<I", len(body)) + body


def _tiff_with_xmp(xmp: bytes) -> bytes:
    import struct

    entries = [(256, 3, 1, 1), (257, 3, 1, 1), (700, 1, len(xmp), 8 + 2 + 12 * 3 + 4)]
    ifd = struct.pack("<H", len(entries)) + b"".join(
        struct.pack("<HHII", tag, typ, count, value) if tag == 700 else struct.pack("<HHIHH", tag, typ, count, value, 0)
        for tag, typ, count, value in entries) + struct.pack("<I", 0)
    return b"II*\x00" + struct.pack("<I", 8) + ifd + xmp


def _image_seeds() -> list[tuple[str, bytes]]:
    return [("plus.png", _png_with_xmp(XMP_PLUS)), ("plus.jpg", _jpeg_with_xmp(XMP_PLUS_ELEMENT)),
            ("plus.webp", _webp_with_xmp(XMP_PLUS)), ("plus.tif", _tiff_with_xmp(XMP_PLUS)),
            ("allowed.png", _png_with_xmp(XMP_ALLOWED))]


ROBOTS_PROHIBIT = b"User-agent: *\nDisallow: /private/\nContent-Usage: train-ai=n\n"
ROBOTS_MIXED = b"User-agent: *\nAllow: /\nContent-Usage: train-ai=y, search=y\nContent-Usage: /images/ train-genai=n\n"
HEADERS_PROHIBIT = b"HTTP/1.1 200 OK\r\nContent-Type: image/jpeg\r\nContent-Usage: train-ai=n\r\n" \
                   b"X-Robots-Tag: noai, noimageai\r\ntdm-reservation: 1\r\n\r\n"
HEADERS_PERMIT = b"Content-Usage: train-ai=y, search=y\nContent-Signal: ai-train=yes, search=yes\n"
TDMREP = b'[{"location": "/images/*", "tdm-reservation": 1}, {"location": "*", "tdm-reservation": 0}]'
TDMREP_RESERVED = b'[{"location": "/images/*", "tdm-reservation": 1}, {"location": "*", "tdm-reservation": 1}]'
AITXT = b"# Spawning AI\nUser-Agent: *\nDisallow: *.jpg\nDisallow: *.png\nAllow: *.txt\n"
HTML = (b'<!doctype html><html><head><meta name="robots" content="noai, noimageai">'
        b'<meta name="tdm-reservation" content="1"><title>x</title></head><body></body></html>')
RSL = (b'<?xml version="1.0" encoding="UTF-8"?>\n<rsl xmlns="https://rslstandard.org/rsl">\n'
       b'  <content url="https://example.com/images/">\n    <license>\n'
       b'      <permits type="usage">search</permits>\n      <prohibits type="usage">ai-train</prohibits>\n'
       b'    </license>\n  </content>\n</rsl>\n')
ODRL = (b'{"@context": "http://www.w3.org/ns/odrl.jsonld", "@type": "Offer", "uid": "https://example.com/p/1",'
        b' "permission": [{"target": "https://example.com/a.jpg", "action": "use"}],'
        b' "prohibition": [{"target": "https://example.com/a.jpg", "action": "tdm:mine"}]}')
RSL_PROHIBIT = (b'<?xml version="1.0" encoding="UTF-8"?>\n<rsl xmlns="https://rslstandard.org/rsl">\n'
                b'  <content url="https://example.com/images/">\n    <license>\n'
                b'      <prohibits type="usage">ai-all</prohibits>\n    </license>\n  </content>\n</rsl>\n')
ODRL_PROHIBIT = (b'{"@context": "http://www.w3.org/ns/odrl.jsonld", "@type": "Offer", "uid": "https://example.com/p/2",'
                 b' "assigner": "https://example.com", "profile": "https://w3c.github.io/odrl/ai-vocab/",'
                 b' "prohibition": [{"target": "https://example.com/images/photo.jpg",'
                 b' "action": "http://www.w3.org/ns/odrl/2/ai-training"},'
                 b' {"target": "https://example.com/images/photo.jpg", "action": "http://www.w3.org/ns/tdmrep#mine"}]}')
AITXT_PROHIBIT = b"# Spawning AI\nUser-Agent: *\nDisallow: *.jpg\nDisallow: /\n"
JSONL_PROHIBIT = (b'{"@context": "https://w3id.org/aiterms/context/v1.jsonld", "type": "ImageRecord", "declarations":'
                  b' [{"declaredBy": {"role": "rights-holder", "id": "flickr:1@N00"}, "rules": [{"effect": "prohibit",'
                  b' "use": "ai-training"}]}]}\n'
                  b'{"@context": "https://w3id.org/aiterms/context/v1.jsonld", "type": "ImageRecord",'
                  b' "tags": ["no_cv"], "owner": "flickr:1@N00"}\n')
FLICKR_ARR = (b'{"photo": {"id": "5020123456", "owner": {"nsid": "12345678@N00"}, "license": "0",'
              b' "tags": {"tag": [{"raw": "no_cv", "_content": "nocv"}]}}, "stat": "ok"}')
C2PA_JSON = (b'{"active_manifest": "urn:uuid:1", "manifests": {"urn:uuid:1": {"assertions": [{"label": '
             b'"cawg.training-mining", "data": {"entries": {"cawg.ai_generative_training": {"use": "notAllowed"},'
             b' "cawg.ai_training": {"use": "notAllowed"}, "cawg.data_mining": {"use": "notAllowed"}}}}]}}}')
FLICKR_JSON = (b'{"photo": {"id": "5020123456", "owner": {"nsid": "12345678@N00"}, "license": "4",'
               b' "tags": {"tag": [{"raw": "no_cv", "_content": "nocv"}]}}, "stat": "ok"}')
FLICKR_TSV = (b"foreign_identifier\tlicense\tlicense_version\ttags\towner\n"
              b"5020123456\tby\t2.0\tportrait no_cv\t12345678@N00\n")


def _rich_seed_tokens() -> tuple[bytes, ...]:
    return (b"DMI-PROHIBITED-AIMLTRAINING", b"DMI-PROHIBITED-GENAIMLTRAINING",
            b"DMI-PROHIBITED-EXCEPTSEARCHENGINEINDEXING", b"DMI-UNSPECIFIED", b"DMI-PROHIBITED-SEEOTHER",
            b"xmpRights:UsageTerms", b"xmpRights:WebStatement", b"cc:license", b"plus:OtherConstraints")


# ---------------------------------------------------------------------------------------------------------------------
# Small signed assets: real C2PA manifests (signed by c2pa-python with a throwaway certificate made here) in images
# of a few kilobytes. The corpus's signed JPEGs are 130-250 KB with 45-190 KB manifests (thumbnails, certificate
# chains, timestamps, identity assertions) that take the reader milliseconds each; these take a fraction of that.


def _signer_material() -> tuple[bytes, bytes]:
    """(certificate chain PEM, private key PEM): an Ed25519 leaf for document signing under a throwaway root,
    valid 2025-2100 (no clock makes the seeds expire). Keys are derived from fixed bytes: nothing secret."""
    import datetime
    import hashlib

    from cryptography import x509
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ed25519
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    def name(cn: str) -> x509.Name:
        return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn),
                          x509.NameAttribute(NameOID.ORGANIZATION_NAME, "aiterms fuzz seeds")])

    def key(label: bytes) -> ed25519.Ed25519PrivateKey:
        return ed25519.Ed25519PrivateKey.from_private_bytes(hashlib.sha256(b"aiterms fuzz seed " + label).digest())

    start = datetime.datetime(2025, 1, 1, tzinfo=datetime.UTC)
    end = datetime.datetime(2100, 1, 1, tzinfo=datetime.UTC)
    usage = dict.fromkeys(("digital_signature", "content_commitment", "key_encipherment", "data_encipherment",
                           "key_agreement", "key_cert_sign", "crl_sign", "encipher_only", "decipher_only"), False)
    root_key, leaf_key = key(b"root"), key(b"leaf")
    root = (x509.CertificateBuilder().subject_name(name("aiterms fuzz root")).issuer_name(name("aiterms fuzz root"))
            .public_key(root_key.public_key()).serial_number(1).not_valid_before(start).not_valid_after(end)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(**{**usage, "key_cert_sign": True, "crl_sign": True}), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(root_key.public_key()), critical=False)
            .sign(root_key, None))
    leaf = (x509.CertificateBuilder().subject_name(name("aiterms fuzz signer")).issuer_name(root.subject)
            .public_key(leaf_key.public_key()).serial_number(2).not_valid_before(start).not_valid_after(end)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(**{**usage, "digital_signature": True}), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.EMAIL_PROTECTION]), critical=False)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(leaf_key.public_key()), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(root_key.public_key()),
                           critical=False)
            .sign(root_key, None))
    pem = serialization.Encoding.PEM
    private = leaf_key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    return leaf.public_bytes(pem) + root.public_bytes(pem), private


def _training_mining(entries: dict[str, str]) -> list[dict[str, Any]]:
    """A cawg.training-mining assertion and its c2pa.training-mining twin with these entries (key -> use)."""
    return [{"label": f"{ns}.training-mining",
             "data": {"entries": {f"{ns}.{k}": {"use": v} for k, v in entries.items()}}} for ns in ("cawg", "c2pa")]


#: (name, media type, entries): a mixed one (a permission and prohibitions) and one that only prohibits.
SIGNED_SEEDS = (
    ("signed-mixed.jpg", "image/jpeg", {"ai_inference": "allowed", "ai_training": "notAllowed",
                                        "ai_generative_training": "notAllowed", "data_mining": "constrained"}),
    ("signed-mixed.png", "image/png", {"ai_inference": "allowed", "data_mining": "notAllowed"}),
    ("signed-prohibit.jpg", "image/jpeg", {"ai_inference": "notAllowed", "ai_training": "notAllowed",
                                           "ai_generative_training": "notAllowed", "data_mining": "notAllowed"}),
)


@cache
def _signed_seeds() -> tuple[tuple[str, bytes], ...]:
    """The SIGNED_SEEDS, signed, and ``signed-edited.jpg``: the prohibiting one opened and signed again with a
    permission (two manifests; only the active one speaks). None when c2pa-python or cryptography is missing or
    cannot sign here. The assertion boxes carry random salts, so the bytes differ from one process to the next."""
    import io

    try:
        import c2pa

        chain, private = _signer_material()
        signer = c2pa.Signer.from_info(c2pa.C2paSignerInfo(b"ed25519", chain, private, None))
        context = c2pa.Context(settings=c2pa.Settings.from_dict({"builder": {"thumbnail": {"enabled": False}}}))
    except Exception:  # not installed, or this build cannot sign
        return ()

    def sign(definition: dict[str, Any], mime: str, asset: bytes, parent: bool = False) -> bytes | None:
        definition = {"claim_generator_info": [{"name": "aiterms-fuzz-seeds", "version": "0"}], **definition}
        out = io.BytesIO()
        try:
            builder = c2pa.Builder(definition, context=context)
            if parent:
                builder.add_ingredient({"title": "parent.jpg", "relationship": "parentOf", "label": "parent"},
                                       mime, io.BytesIO(asset))
            builder.sign(signer, mime, io.BytesIO(asset), out)
        except Exception:
            return None
        return out.getvalue()

    created = {"label": "c2pa.actions", "data": {"actions": [
        {"action": "c2pa.created", "digitalSourceType": "http://cv.iptc.org/newscodes/digitalsourcetype/digitalCapture"}]}}
    found = {}
    for name, mime, entries in SIGNED_SEEDS:
        signed = sign({"title": name, "assertions": [created, *_training_mining(entries)]}, mime,
                      _imagebuild.tiny_jpeg() if mime == "image/jpeg" else _imagebuild.tiny_png())
        if signed is not None:
            found[name] = signed
    if "signed-prohibit.jpg" in found:
        opened = {"label": "c2pa.actions", "data": {"actions": [
            {"action": "c2pa.opened", "parameters": {"ingredientIds": ["parent"]}}]}}
        edited = sign({"title": "signed-edited.jpg", "assertions": [
            opened, *_training_mining({"ai_inference": "allowed", "data_mining": "allowed"})]},
            "image/jpeg", found["signed-prohibit.jpg"], parent=True)
        if edited is not None:
            found["signed-edited.jpg"] = edited
    return tuple(found.items())


def _c2pa_seeds() -> list[tuple[str, bytes]]:
    return list(_signed_seeds())
