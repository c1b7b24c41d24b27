"""Write a record into an XMP packet, merging into an existing packet byte-faithfully (spec/embedding.md).

The existing packet is never re-serialized: it is tokenized (expat, after defusedxml has vetted it), the
properties aiterms owns are cut out of it, and one new ``rdf:Description`` with the record's properties is inserted
before ``</rdf:RDF>``. Every other byte -- other properties, namespaces, comments, the ``xpacket`` wrapper and its
padding -- stays as it was (req-xmp-merge).

Properties aiterms owns (always rewritten): ``plus:DataMining``, ``plus:OtherConstraints``, every ``aiterms:*``
property; and ``cc:license`` when the record has a license. ``xmpRights:WebStatement`` and ``xmpRights:UsageTerms``
are written only when the packet has none (they are often a person's own text).
"""

from __future__ import annotations

import json
import re
import xml.parsers.expat
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from aiterms.interop import plus
from aiterms.interop.containers import coded, register_codes
from aiterms.interop.xmp import (
    AITERMS,
    CC,
    CC_HTTPS,
    IPTC_EXT,
    PLUS,
    RDF,
    TDM_NS,
    XMP_MALFORMED,
    XMP_RIGHTS,
    XmpError,
    parse_packet,
)
from aiterms.report import Issue, Severity

PACKET_ID = "W5M0MpCehiHzreSzNTczkc9d"
XMP_OTHER_SIGNALS = "xmp-other-signals-kept"
register_codes({XMP_OTHER_SIGNALS: Severity.WARNING})

_TAG_END = re.compile(rb"<[^>\"']*(?:(?:\"[^\"]*\"|'[^']*')[^>\"']*)*>")
_ATTR = re.compile(rb"(\s+)([^\s=/>]+)\s*=\s*(\"[^\"]*\"|'[^']*')")
_PADDING = re.compile(rb"[ \t\r\n]+(?=<\?xpacket\s+end=)")
_INVALID_XML_CHARS = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


@dataclass(frozen=True, slots=True)
class WriteResult:
    packet: bytes
    code: str  # the PLUS Data Mining value written
    issues: tuple[Issue, ...] = field(default=())


@dataclass(slots=True)
class _Span:
    start: int
    end: int


@dataclass(slots=True)
class _Scan:
    """What the tokenizer found in an existing packet."""

    rdf_close: int | None = None  # offset of "</rdf:RDF>" (or of "/>" of an empty rdf:RDF)
    rdf_empty_tag: _Span | None = None
    rdf_qname: str = ""
    about: str | None = None
    cut: list[_Span] = field(default_factory=list)
    present: set[tuple[str, str]] = field(default_factory=set)


def _esc(text: str, quote: bool = False) -> str:
    text = _INVALID_XML_CHARS.sub("", text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return text.replace('"', "&quot;") if quote else text


def _usage_text(lic: str) -> str:
    return f"This work is licensed under {lic}"


def _owner(record: Mapping[str, Any], doc: Any) -> Any:
    """The test for "aiterms owns this property": the owned properties, plus ``xmpRights:WebStatement`` and
    ``xmpRights:UsageTerms`` when every value they have is the one aiterms writes for the record's license (so that
    embedding twice gives the same packet)."""
    from aiterms.interop.xmp import alt_text, texts

    lic = record.get("license") if isinstance(record.get("license"), str) else None
    extra: set[tuple[str, str]] = set()
    if lic:
        web = [t for p in doc.get(XMP_RIGHTS, "WebStatement") for t in texts(p.value)]
        if web and all(t == lic for t in web):
            extra.add((XMP_RIGHTS, "WebStatement"))
        usage = [alt_text(p.value) for p in doc.get(XMP_RIGHTS, "UsageTerms")]
        if usage and all(t == _usage_text(lic) for t in usage):
            extra.add((XMP_RIGHTS, "UsageTerms"))

    def owned(ns: str, local: str) -> bool:
        if (ns == PLUS and local in ("DataMining", "OtherConstraints")) or ns == AITERMS or (ns, local) in extra:
            return True
        return ns in (CC, CC_HTTPS) and local == "license" and bool(lic)

    return owned


def _scan(data: bytes, owned: Any) -> _Scan:
    """Tokenize the packet and note the byte spans of owned properties and the insertion point."""
    scan = _Scan()
    parser = xml.parsers.expat.ParserCreate()  # namespaces resolved here, by hand, to keep the raw qnames
    stack: list[dict[str, str]] = [{"xml": "http://www.w3.org/XML/1998/namespace"}]
    path: list[tuple[str, str, int]] = []  # (ns, local, start offset)
    node = {"owned": 0, "other": 0}  # properties of the current node element
    depth_rdf: list[int] = []

    def resolve(qname: str, scope: dict[str, str], attr: bool = False) -> tuple[str, str]:
        prefix, _, local = qname.rpartition(":")
        if not prefix and attr:
            return "", local
        return scope.get(prefix, "" if prefix else scope.get("", "")), local

    def start(name: str, attrs: dict[str, str]) -> None:
        at = parser.CurrentByteIndex
        scope = dict(stack[-1])
        for k, v in attrs.items():
            if k == "xmlns":
                scope[""] = v
            elif k.startswith("xmlns:"):
                scope[k[6:]] = v
        stack.append(scope)
        ns, local = resolve(name, scope)
        level = len(path)
        path.append((ns, local, at))
        if (ns, local) == (RDF, "RDF") and not depth_rdf:
            depth_rdf.append(level)
            scan.rdf_qname = name
        elif depth_rdf and level == depth_rdf[0] + 1:  # a node element (rdf:Description)
            tag = _TAG_END.match(data, at)
            assert tag is not None
            node.update(owned=0, other=0)
            for m in _ATTR.finditer(data, at, tag.end()):
                aname = m.group(2).decode("utf-8")
                if aname == "xmlns" or aname.startswith("xmlns:"):
                    continue
                ans, alocal = resolve(aname, scope, attr=True)
                if (ans, alocal) == (RDF, "about") and scan.about is None:
                    scan.about = attrs.get(aname, "")
                if owned(ans, alocal):
                    scan.cut.append(_Span(m.start(), m.end()))
                    node["owned"] += 1
                else:
                    scan.present.add((ans, alocal))
                    node["other"] += 0 if ans == RDF else 1
        elif depth_rdf and level == depth_rdf[0] + 2:  # a property element
            if owned(ns, local):
                node["owned"] += 1
            else:
                scan.present.add((ns, local))
                node["other"] += 1

    def end(name: str) -> None:
        at = parser.CurrentByteIndex
        ns, local, begin = path.pop()
        stack.pop()
        level = len(path)
        if data[at:at + 2] == b"</":
            close = data.index(b">", at) + 1
        else:  # an empty-element tag: its end is the end of the start tag
            tag = _TAG_END.match(data, begin)
            assert tag is not None
            close = tag.end()
        if depth_rdf and level == depth_rdf[0]:
            if data[at:at + 2] == b"</":
                scan.rdf_close = at
            else:
                scan.rdf_empty_tag = _Span(begin, close)
            depth_rdf.append(-1)  # only the first rdf:RDF counts
        elif depth_rdf and depth_rdf[-1] != -1 and level == depth_rdf[0] + 2 and owned(ns, local):
            scan.cut.append(_Span(_lead(begin), close))
        elif depth_rdf and depth_rdf[-1] != -1 and level == depth_rdf[0] + 1 and node["owned"] and not node["other"]:
            scan.cut.append(_Span(_lead(begin), close))  # a description holding only owned properties goes whole

    def _lead(begin: int) -> int:
        while begin > 0 and data[begin - 1:begin] in (b" ", b"\t", b"\r", b"\n"):
            begin -= 1
        return begin

    parser.StartElementHandler = start
    parser.EndElementHandler = end
    try:
        parser.Parse(data, True)
    except xml.parsers.expat.ExpatError as exc:  # defusedxml accepted it; expat alone should too
        raise XmpError(coded(XMP_MALFORMED, f"XMP packet could not be tokenized: {exc}", line=exc.lineno)) from None
    return scan


def _description(record: Mapping[str, Any], code: str, about: str, scan: _Scan | None, rdf_prefix_ok: bool) -> str:
    lic = record.get("license") if isinstance(record.get("license"), str) else None
    present = scan.present if scan else set()
    ns_decls = [f'xmlns:plus="{PLUS}"', f'xmlns:aiterms="{AITERMS}"']
    if not rdf_prefix_ok:
        ns_decls.insert(0, f'xmlns:rdf="{RDF}"')
    props = [f"   <plus:DataMining>{plus.BASE}{code}</plus:DataMining>",
             "   <plus:OtherConstraints>\n    <rdf:Alt>\n     <rdf:li xml:lang=\"x-default\">"
             f"{_esc(plus.summary(record, code))}</rdf:li>\n    </rdf:Alt>\n   </plus:OtherConstraints>"]
    if lic:
        ns_decls.append(f'xmlns:cc="{CC}"')
        props.append(f'   <cc:license rdf:resource="{_esc(lic, quote=True)}"/>')
        rights = []
        if (XMP_RIGHTS, "WebStatement") not in present:
            rights.append(f"   <xmpRights:WebStatement>{_esc(lic)}</xmpRights:WebStatement>")
        if (XMP_RIGHTS, "UsageTerms") not in present:
            rights.append("   <xmpRights:UsageTerms>\n    <rdf:Alt>\n     <rdf:li xml:lang=\"x-default\">"
                          f"{_esc(_usage_text(lic))}</rdf:li>\n    </rdf:Alt>\n"
                          "   </xmpRights:UsageTerms>")
        if rights:
            ns_decls.append(f'xmlns:xmpRights="{XMP_RIGHTS}"')
            props += rights
    body = json.dumps(record, ensure_ascii=True, sort_keys=True, separators=(",", ":"))
    props.append(f"   <aiterms:record>{_esc(body)}</aiterms:record>")
    head = f'  <rdf:Description rdf:about="{_esc(about, quote=True)}"\n    ' + "\n    ".join(ns_decls) + ">"
    return head + "\n" + "\n".join(props) + "\n  </rdf:Description>\n"


def new_packet(description: str) -> bytes:
    from aiterms import __version__

    return (f'<?xpacket begin="\ufeff" id="{PACKET_ID}"?>\n'
            f'<x:xmpmeta xmlns:x="adobe:ns:meta/" x:xmptk="aiterms {__version__}">\n'
            f' <rdf:RDF xmlns:rdf="{RDF}">\n{description} </rdf:RDF>\n</x:xmpmeta>\n'
            '<?xpacket end="w"?>').encode()


def merge_packet(existing: bytes | None, record: Mapping[str, Any], *, max_size: int | None = None,
                 at: datetime | None = None) -> WriteResult:
    """req-xmp-merge: write the record's properties into ``existing`` (or a new packet), keeping every other
    property, namespace and byte of the packet; only the owned properties are replaced.

    Raises XmpError when ``existing`` is not a readable XMP packet (it is then never rewritten). ``max_size``
    (JPEG: 65502) lets the writer drop the packet's trailing padding when that makes the packet fit.
    """
    result = plus.collapse(record, at=at)
    issues = list(result.issues)
    if existing is None or not existing.strip(b"\x00 \t\r\n"):
        packet = new_packet(_description(record, result.code, "", None, True))
        return WriteResult(packet, result.code, tuple(issues))
    data = existing.rstrip(b"\x00")
    if data.startswith((b"\xff\xfe", b"\xfe\xff", b"\x00\x00\xfe\xff", b"\xff\xfe\x00\x00")):
        raise XmpError(coded(XMP_MALFORMED, "XMP packet is not UTF-8; it is not rewritten"))
    doc = parse_packet(data)  # defusedxml vets it first (no DTD, no entities, limits)
    scan = _scan(data, _owner(record, doc))
    if scan.rdf_close is None and scan.rdf_empty_tag is None:
        raise XmpError(coded(XMP_MALFORMED, "XMP packet has no rdf:RDF element; it is not rewritten"))
    prefix = scan.rdf_qname.rpartition(":")[0]
    rdf_prefix_ok = prefix == "rdf"
    desc = _description(record, result.code, scan.about or "", scan, rdf_prefix_ok)
    out = bytearray()
    pos = 0
    cuts = sorted(scan.cut, key=lambda s: s.start)
    insert_at = scan.rdf_close if scan.rdf_close is not None else None
    for s in cuts:
        if s.start < pos:
            continue
        out += data[pos:s.start]
        pos = s.end
    tail_from = pos
    if insert_at is not None:
        # cuts all lie before </rdf:RDF>; the description goes before the white space that indents it
        lead = insert_at
        while lead > tail_from and data[lead - 1:lead] in (b" ", b"\t", b"\r", b"\n"):
            lead -= 1
        out += data[tail_from:lead] + b"\n" + desc.rstrip("\n").encode("utf-8") + data[lead:]
    else:
        assert scan.rdf_empty_tag is not None
        span = scan.rdf_empty_tag
        start_tag = data[span.start:span.end]
        opened = start_tag[:-2].rstrip() + b">"
        out += data[tail_from:span.start] + opened + b"\n" + desc.encode("utf-8") + b"</" + \
            scan.rdf_qname.encode("utf-8") + b">" + data[span.end:]
    packet = bytes(out)
    if max_size is not None and len(packet) > max_size:
        packet = _PADDING.sub(b"\n", packet, count=1)
    others = [p.name for p in doc.props if (p.ns == IPTC_EXT and (p.local.upper().startswith("DMI-")
                                                                   or p.local.lower().startswith("datamining")))
              or p.ns in TDM_NS]
    if others:
        issues.append(coded(XMP_OTHER_SIGNALS, "other AI-usage signals in the XMP were kept and will still be read: "
                            + ", ".join(sorted(set(others)))))
    parse_packet(packet)  # req-xmp-merge: what is written is well-formed XMP
    return WriteResult(packet, result.code, tuple(issues))
