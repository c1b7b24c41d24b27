"""XMP packets: read the AI-usage signals they carry and map them to a canonical record (spec/interop-xmp.md).

Also the XMP sidecar importer (``KIND = "xmp"``) and exporter (``TARGET = "xmp"``) of the interop protocol.

Packets are parsed with defusedxml through :func:`aiterms.limits.safe_xml` (no DTD, no entity, bounded size and
depth). Properties are matched by namespace IRI, never by prefix, in element, ``rdf:resource`` and attribute form.
What is read (req-xmp-signals): ``plus:DataMining``, ``plus:OtherConstraints``, ``xmpRights:UsageTerms`` /
``WebStatement`` / ``Marked``, ``cc:license`` (also the ``https`` namespace), ``dc:creator``, ``dc:rights``, the IPTC
creator contact, copyright owners and licensors, ``Iptc4xmpExt:LinkedEncRightsExpr`` / ``EmbdEncRightsExpr``,
legacy ``Iptc4xmpExt`` data-mining properties, ``tdm:*`` properties and ``aiterms:record``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any
from xml.etree.ElementTree import Element

from aiterms.interop import plus
from aiterms.interop.base import ExportResult, ImportResult
from aiterms.interop.containers import coded, register_codes
from aiterms.report import Issue, Severity

KIND = "xmp"
TARGET = "xmp"
MEDIA_TYPE = "application/rdf+xml"

RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
XML_NS = "http://www.w3.org/XML/1998/namespace"
X_NS = "adobe:ns:meta/"
PLUS = "http://ns.useplus.org/ldf/xmp/1.0/"
XMP_RIGHTS = "http://ns.adobe.com/xap/1.0/rights/"
CC = "http://creativecommons.org/ns#"
CC_HTTPS = "https://creativecommons.org/ns#"
DC = "http://purl.org/dc/elements/1.1/"
IPTC_CORE = "http://iptc.org/std/Iptc4xmpCore/1.0/xmlns/"
IPTC_EXT = "http://iptc.org/std/Iptc4xmpExt/2008-02-29/"
TDM_NS = ("http://www.w3.org/ns/tdmrep/", "http://www.w3.org/ns/tdmrep#")
AITERMS = "https://w3id.org/aiterms/xmp/1.0/"
XMP_NOTE = "http://ns.adobe.com/xmp/note/"

# --- codes (home: spec/interop-xmp.md) ------------------------------------------------------------------------------
XMP_MALFORMED = "xmp-malformed"
PLUS_PROPERTY_NONSTANDARD = "plus-property-nonstandard"
PLUS_VALUE_CONFLICT = "plus-value-conflict"
PLUS_SEE_TARGET_MISSING = "plus-see-target-missing"
PLUS_OTHER_CONSTRAINTS = "plus-other-constraints"
XMP_TDM_NONSTANDARD = "xmp-tdm-nonstandard"
XMP_LICENSE_CONFLICT = "xmp-license-conflict"
XMP_RIGHTS_EXPRESSION = "xmp-rights-expression"
XMP_RECORD_INVALID = "xmp-record-invalid"
XMP_RECORD_MISMATCH = "xmp-record-mismatch"
SEVERITIES = {
    XMP_MALFORMED: Severity.ERROR,
    PLUS_PROPERTY_NONSTANDARD: Severity.WARNING,
    PLUS_VALUE_CONFLICT: Severity.WARNING,
    PLUS_SEE_TARGET_MISSING: Severity.WARNING,
    PLUS_OTHER_CONSTRAINTS: Severity.INFO,
    XMP_TDM_NONSTANDARD: Severity.WARNING,
    XMP_LICENSE_CONFLICT: Severity.WARNING,
    XMP_RIGHTS_EXPRESSION: Severity.INFO,
    XMP_RECORD_INVALID: Severity.WARNING,
    XMP_RECORD_MISMATCH: Severity.WARNING,
}
register_codes(SEVERITIES)

_ACCOUNT_OR_IRI = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:[^\s<>\"{}|\\^`]+$")
_LEGACY_NAMES = frozenset({"datamining", "dataminingattribute", "dataminingpermission"})


class XmpError(Exception):
    """A packet that cannot be read; ``issue`` is the coded finding (xmp-malformed, unsafe-xml, limit-*)."""

    def __init__(self, issue: Issue) -> None:
        super().__init__(issue.message)
        self.issue = issue


# --- the value model ------------------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class XmpArray:
    """An ``rdf:Seq``, ``rdf:Bag`` or ``rdf:Alt``; ``langs`` holds each item's ``xml:lang`` ("" when absent)."""

    kind: str
    items: tuple[XmpValue, ...]
    langs: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class XmpStruct:
    fields: tuple[tuple[str, XmpValue], ...]

    def get(self, ns: str, local: str) -> XmpValue | None:
        key = f"{{{ns}}}{local}"
        return next((v for k, v in self.fields if k == key), None)


XmpValue = str | XmpArray | XmpStruct


@dataclass(frozen=True, slots=True)
class Prop:
    """One top-level property: its Clark name ``{ns}local``, its value and its form (element, resource, attribute)."""

    name: str
    value: XmpValue
    form: str

    @property
    def ns(self) -> str:
        return self.name[1:].split("}", 1)[0]

    @property
    def local(self) -> str:
        return self.name.split("}", 1)[1]


@dataclass(frozen=True, slots=True)
class XmpDoc:
    props: tuple[Prop, ...]

    def get(self, ns: str, local: str) -> list[Prop]:
        key = f"{{{ns}}}{local}"
        return [p for p in self.props if p.name == key]


def parse_packet(data: bytes) -> XmpDoc:
    """req-xmp-parse: an XMP packet is parsed without DTDs or entity expansion, within the size and depth limits;
    anything else raises XmpError with a coded issue."""
    from xml.etree.ElementTree import ParseError

    from aiterms.limits import LimitExceeded, safe_xml

    body = data.rstrip(b"\x00")
    try:
        root = safe_xml(body)
    except LimitExceeded as exc:
        raise XmpError(exc.issue) from None
    except ParseError as exc:
        line = exc.position[0] if getattr(exc, "position", None) else None
        raise XmpError(coded(XMP_MALFORMED, f"XMP packet is not well-formed XML: {exc}", line=line)) from None
    rdf = root if root.tag == f"{{{RDF}}}RDF" else next(root.iter(f"{{{RDF}}}RDF"), None)
    if rdf is None:
        raise XmpError(coded(XMP_MALFORMED, "XMP packet has no rdf:RDF element"))
    props: list[Prop] = []
    for node in rdf:
        for key, text in node.attrib.items():
            if not key.startswith((f"{{{RDF}}}", f"{{{XML_NS}}}")) and key.startswith("{"):
                props.append(Prop(key, text, "attribute"))
        for child in node:
            if not isinstance(child.tag, str) or not child.tag.startswith("{"):
                continue
            form = "resource" if f"{{{RDF}}}resource" in child.attrib else "element"
            props.append(Prop(child.tag, _value(child), form))
    return XmpDoc(tuple(props))


def _value(el: Element) -> XmpValue:
    resource = el.attrib.get(f"{{{RDF}}}resource")
    if resource is not None:
        return resource
    kids = [k for k in el if isinstance(k.tag, str)]
    if el.attrib.get(f"{{{RDF}}}parseType") == "Resource":
        return _struct(el, kids)
    if not kids:
        attrs = [(k, v) for k, v in el.attrib.items() if k.startswith("{") and not k.startswith(
            (f"{{{RDF}}}", f"{{{XML_NS}}}"))]
        return XmpStruct(tuple(attrs)) if attrs else (el.text or "")
    first = kids[0]
    if first.tag in (f"{{{RDF}}}Seq", f"{{{RDF}}}Bag", f"{{{RDF}}}Alt"):
        lis = [li for li in first if li.tag == f"{{{RDF}}}li"]
        return XmpArray(first.tag.split("}")[1], tuple(_value(li) for li in lis),
                        tuple(li.attrib.get(f"{{{XML_NS}}}lang", "") for li in lis))
    if first.tag == f"{{{RDF}}}Description":
        return _struct(first, [k for k in first if isinstance(k.tag, str)])
    return _struct(el, kids)


def _struct(el: Element, kids: list[Element]) -> XmpValue:
    fields: list[tuple[str, XmpValue]] = [
        (k, v) for k, v in el.attrib.items() if k.startswith("{") and not k.startswith((f"{{{RDF}}}", f"{{{XML_NS}}}"))]
    fields += [(k.tag, _value(k)) for k in kids]
    value = next((v for k, v in fields if k == f"{{{RDF}}}value"), None)
    return value if value is not None else XmpStruct(tuple(fields))


def texts(v: XmpValue | None) -> list[str]:
    """The plain strings of a value (array items flattened; a struct has none)."""
    if v is None:
        return []
    if isinstance(v, str):
        return [v.strip()] if v.strip() else []
    if isinstance(v, XmpArray):
        return [t for item in v.items for t in texts(item)]
    return []


def alt_text(v: XmpValue | None) -> str | None:
    """The x-default (else first) text of a language alternative, or a plain string."""
    if isinstance(v, XmpArray) and v.items:
        for item, lang in zip(v.items, v.langs, strict=True):
            if lang.lower() == "x-default" and isinstance(item, str):
                return item.strip() or None
    found = texts(v)
    return found[0] if found else None


# --- signals --------------------------------------------------------------------------------------------------------
@dataclass(slots=True)
class Signals:
    """Everything an XMP packet says that aiterms reads, with where it was found."""

    data_mining: list[tuple[str, str, str]] = field(default_factory=list)  # (raw, property label, form)
    other_constraints: list[str] = field(default_factory=list)
    usage_terms: list[str] = field(default_factory=list)
    web_statement: list[str] = field(default_factory=list)
    marked: list[str] = field(default_factory=list)
    cc_license: list[str] = field(default_factory=list)
    creators: list[str] = field(default_factory=list)
    rights: list[str] = field(default_factory=list)
    contact: dict[str, str] = field(default_factory=dict)
    owners: list[tuple[str | None, str | None]] = field(default_factory=list)  # (name, id)
    licensors: list[tuple[str | None, str | None]] = field(default_factory=list)
    linked_rights: list[dict[str, str]] = field(default_factory=list)
    embedded_rights: list[dict[str, str]] = field(default_factory=list)
    tdm: list[tuple[str, str]] = field(default_factory=list)  # (property label, value)
    records: list[str] = field(default_factory=list)
    issues: list[Issue] = field(default_factory=list)


def _struct_items(v: XmpValue) -> Iterator[XmpStruct]:
    if isinstance(v, XmpStruct):
        yield v
    elif isinstance(v, XmpArray):
        for item in v.items:
            yield from _struct_items(item)


def _field(s: XmpStruct, ns: str, local: str) -> str | None:
    found = texts(s.get(ns, local))
    return found[0] if found else None


def signals(doc: XmpDoc) -> Signals:
    """req-xmp-signals: collect the AI-usage signals of one packet, matching properties by namespace IRI."""
    sig = Signals()
    for p in doc.props:
        ns, local = p.ns, p.local
        if ns == PLUS and local == "DataMining":
            if isinstance(p.value, str):
                sig.data_mining.append((p.value, "plus:DataMining", p.form))
            else:
                for t in texts(p.value) or [""]:
                    sig.data_mining.append((t, "plus:DataMining", "array"))
                sig.issues.append(coded(PLUS_PROPERTY_NONSTANDARD, "plus:DataMining is not a single URI value; each "
                                        "item is read as a non-standard value"))
        elif ns == IPTC_EXT and (local.upper().startswith("DMI-") or local.lower() in _LEGACY_NAMES):
            label = f"Iptc4xmpExt:{local}"
            value = (texts(p.value) or [""])[0]
            raw = value if value.lower() not in ("true", "1", "yes", "") else local
            if value.lower() not in ("false", "0", "no"):
                sig.data_mining.append((raw, label, "legacy"))
            sig.issues.append(coded(PLUS_PROPERTY_NONSTANDARD, f"{label} is not an IPTC property (the Data Mining "
                                    "property is plus:DataMining); at most its prohibitions are read"))
        elif ns in TDM_NS:
            sig.tdm.append((f"tdm:{local}", (texts(p.value) or [""])[0]))
        elif ns == PLUS and local == "OtherConstraints":
            sig.other_constraints += [t for t in [alt_text(p.value)] if t]
        elif ns == PLUS and local in ("CopyrightOwner", "Licensor"):
            prefix = "CopyrightOwner" if local == "CopyrightOwner" else "Licensor"
            target = sig.owners if local == "CopyrightOwner" else sig.licensors
            for s in _struct_items(p.value):
                target.append((_field(s, PLUS, f"{prefix}Name"), _field(s, PLUS, f"{prefix}ID")))
        elif ns == XMP_RIGHTS and local == "UsageTerms":
            sig.usage_terms += [t for t in [alt_text(p.value)] if t]
        elif ns == XMP_RIGHTS and local == "WebStatement":
            sig.web_statement += texts(p.value)[:1]
        elif ns == XMP_RIGHTS and local == "Marked":
            sig.marked += texts(p.value)[:1]
        elif ns in (CC, CC_HTTPS) and local == "license":
            sig.cc_license += texts(p.value)[:1]
        elif ns == DC and local == "creator":
            sig.creators += texts(p.value)
        elif ns == DC and local == "rights":
            sig.rights += [t for t in [alt_text(p.value)] if t]
        elif ns == IPTC_CORE and local == "CreatorContactInfo":
            for s in _struct_items(p.value):
                for key in ("CiEmailWork", "CiUrlWork", "CiTelWork"):
                    v = _field(s, IPTC_CORE, key)
                    if v:
                        sig.contact[key] = v
        elif ns == IPTC_EXT and local in ("LinkedEncRightsExpr", "EmbdEncRightsExpr"):
            target_list = sig.linked_rights if local.startswith("Linked") else sig.embedded_rights
            for s in _struct_items(p.value):
                entry = {k: v for k in ("LinkedRightsExpr", "EncRightsExpr", "RightsExprEncType", "RightsExprLangId")
                         if (v := _field(s, IPTC_EXT, k))}
                target_list.append(entry)
        elif ns == AITERMS and local == "record":
            sig.records += texts(p.value)[:1]
    return sig


# --- the mapping to a record ------------------------------------------------------------------------------------------
def _license_iri(value: str) -> str | None:
    """The canonical CC license IRI a value names, or None."""
    try:
        from aiterms.licenses import LicenseTable

        return LicenseTable.bundled().normalize(value)
    except Exception:  # license table unavailable: accept only plain CC IRIs
        m = re.match(r"^https?://(?:www\.)?creativecommons\.org/((?:licenses|publicdomain)/[^?#]*?)/?"
                     r"(?:legalcode[^/]*)?/?$", value.strip(), re.IGNORECASE)
        return f"https://creativecommons.org/{m.group(1).lower()}/" if m else None


def _party(sig: Signals) -> dict[str, Any]:
    party: dict[str, Any] = {"role": "rights-holder"}
    for name, ident in sig.owners + sig.licensors:
        if ident and _ACCOUNT_OR_IRI.match(ident) and "id" not in party:
            party["id"] = ident
        if name and "name" not in party:
            party["name"] = name[:1024]
    if "name" not in party and sig.creators:
        party["name"] = ", ".join(sig.creators)[:1024]
    return party


def _source(signal: str, version: str | None, location: str, raw: str, observed: str | None) -> dict[str, Any]:
    src: dict[str, Any] = {"signal": signal}
    if version:
        src["version"] = version
    src["location"] = location
    src["raw"] = raw[:65536]
    if observed:
        src["observed"] = observed
    return src


def to_record(packets: Sequence[bytes], *, location: str = "XMP", observed: str | None = None) -> ImportResult:
    """req-xmp-import: map the packets of one image (or a sidecar) to a partial canonical record.

    ``plus:DataMining`` gives a declaration of the rights holder with source ``plus`` (rules: req-plus-import-rules,
    req-plus-fail-closed); a CC IRI in ``cc:license``, ``xmpRights:WebStatement`` or a linked rights expression
    gives ``license``; IRI-like ``dc:creator`` values give ``creator``; ``aiterms:record`` gives the record it holds.
    """
    issues: list[Issue] = []
    sig = Signals()
    for data in packets:
        try:
            doc = parse_packet(data)
        except XmpError as exc:
            issues.append(exc.issue)
            continue
        one = signals(doc)
        for name in Signals.__slots__:
            value = getattr(one, name)
            if isinstance(value, dict):
                getattr(sig, name).update(value)
            else:
                getattr(sig, name).extend(value)
    issues += sig.issues
    record: dict[str, Any] = {}
    embedded = _embedded_record(sig, issues)
    plus_decls = _plus_declarations(sig, location, observed, issues)
    if embedded is not None:
        record = embedded
        code = plus.collapse(embedded).code
        found = {plus.classify(raw).code for raw, label, _f in sig.data_mining if label == "plus:DataMining"}
        if found == {code} or (not found and code == plus.UNSPECIFIED):
            plus_decls = []  # the PLUS value is the record's own summary: the record says it exactly
        else:
            issues.append(coded(XMP_RECORD_MISMATCH, f"aiterms:record stands for {code} but plus:DataMining says "
                                f"{', '.join(sorted(str(c) for c in found)) or 'nothing'}; both are imported"))
    declarations = list(record.get("declarations") or []) + plus_decls + _tdm_declarations(sig, location, observed,
                                                                                          issues)
    if declarations:
        record["declarations"] = declarations
    _license(sig, record, issues)
    creators = [c for c in sig.creators if _ACCOUNT_OR_IRI.match(c)]
    if creators and "creator" not in record:
        record["creator"] = list(dict.fromkeys(creators))
    for text in sig.other_constraints:
        from aiterms.limits import bounded

        if embedded is not None and text.startswith("AI usage terms (aiterms;"):
            continue  # aiterms' own summary of the record read above

        issues.append(coded(PLUS_OTHER_CONSTRAINTS, f"plus:OtherConstraints (not machine-readable): {bounded(text)}",
                            value=text))
    for entry in sig.embedded_rights + sig.linked_rights:
        what = entry.get("LinkedRightsExpr") or entry.get("RightsExprLangId") or entry.get("RightsExprEncType") or "?"
        issues.append(coded(XMP_RIGHTS_EXPRESSION, f"an encoded rights expression ({what}) is not interpreted; "
                            "import it with its own importer (for example --from odrl)", value=entry))
    return ImportResult(record, tuple(issues))


def _plus_declarations(sig: Signals, location: str, observed: str | None, issues: list[Issue]) -> list[dict[str, Any]]:
    values = [(plus.classify(raw, where=label), raw, label) for raw, label, _form in sig.data_mining]
    for v, _raw, _label in values:
        if v.issue:
            issues.append(v.issue)
    distinct = {v.code for v, _r, _l in values if v.code is not None}
    conflict = len(distinct) > 1
    if conflict:
        issues.append(coded(PLUS_VALUE_CONFLICT, f"{len(distinct)} different Data Mining values "
                            f"({', '.join(sorted(distinct))}); only their prohibitions are read"))
    out = []
    for (v, raw, label), (_r, _l, form) in zip(values, sig.data_mining, strict=True):
        # req-plus-legacy-properties: a legacy property or an array never yields a permission
        rules = [r for r in v.rules if not (conflict or form in ("legacy", "array")) or r[0] == "prohibit"]
        if v.code in (plus.SEE_CONSTRAINT, plus.SEE_EMBEDDED, plus.SEE_LINKED):
            _see_target(v.code, sig, issues)
        if not rules:
            continue
        out.append({
            "declaredBy": _party(sig),
            "rules": [{"effect": e, "use": u} for e, u in rules],
            "source": _source("plus", v.version, f"{location} {label}".strip(), raw, observed),
        })
    return out


def _see_target(code: str, sig: Signals, issues: list[Issue]) -> None:
    """req-plus-see: a SEE* value is read as a prohibition of data-mining; a missing target is reported."""
    target = {plus.SEE_CONSTRAINT: ("plus:OtherConstraints", sig.other_constraints),
              plus.SEE_EMBEDDED: ("Iptc4xmpExt:EmbdEncRightsExpr", sig.embedded_rights),
              plus.SEE_LINKED: ("Iptc4xmpExt:LinkedEncRightsExpr", sig.linked_rights)}[code]
    if not target[1]:
        issues.append(coded(PLUS_SEE_TARGET_MISSING, f"{code} points to {target[0]}, which is absent; the "
                            "prohibition of data-mining still applies"))


def _tdm_declarations(sig: Signals, location: str, observed: str | None, issues: list[Issue]) -> list[dict[str, Any]]:
    out = []
    for label, value in sig.tdm:
        reserved = value.strip().lower() in ("1", "true", "yes")
        issues.append(coded(XMP_TDM_NONSTANDARD, f"{label}={value!r} in image XMP is not a TDMRep technique; "
                            + ("read as a reservation (prohibit data-mining)" if reserved else
                               "no permission is taken from it"), value=value))
        if reserved:
            out.append({"declaredBy": {"role": "rights-holder"},
                        "rules": [{"effect": "prohibit", "use": "data-mining"}],
                        "source": _source("tdmrep", None, f"{location} {label}".strip(), value, observed)})
    return out


def _license(sig: Signals, record: dict[str, Any], issues: list[Issue]) -> None:
    found: dict[str, str] = {}
    for v in sig.cc_license:
        iri = _license_iri(v) or (v if _ACCOUNT_OR_IRI.match(v) else None)
        if iri:
            found.setdefault(iri, "cc:license")
    for v in sig.web_statement:
        iri = _license_iri(v)
        if iri:
            found.setdefault(iri, "xmpRights:WebStatement")
    for entry in sig.linked_rights:
        iri = _license_iri(entry.get("LinkedRightsExpr", ""))
        if iri:
            found.setdefault(iri, "Iptc4xmpExt:LinkedEncRightsExpr")
    if "license" in record:
        return
    if len(found) == 1:
        record["license"] = next(iter(found))
    elif len(found) > 1:
        issues.append(coded(XMP_LICENSE_CONFLICT, "the XMP names different licenses ("
                            + ", ".join(f"{k} in {v}" for k, v in found.items()) + "); no license is imported"))


def _embedded_record(sig: Signals, issues: list[Issue]) -> dict[str, Any] | None:
    """req-xmp-aiterms-record: ``aiterms:record`` holds a canonical record as JSON; an unusable one is reported and
    ignored (the other signals are still read)."""
    if not sig.records:
        return None
    from aiterms.limits import check_json_depth

    text = sig.records[0]
    problem = check_json_depth(text)
    value: Any = None
    if problem is None:
        try:
            value = json.loads(text)
        except ValueError as exc:
            problem = coded(XMP_RECORD_INVALID, f"aiterms:record is not JSON: {exc}")
    if problem is None and not (isinstance(value, dict) and isinstance(value.get("declarations", []), list)):
        problem = coded(XMP_RECORD_INVALID, "aiterms:record is not a canonical record (a JSON object)")
    if problem is not None:
        issues.append(problem if problem.code == XMP_RECORD_INVALID else coded(
            XMP_RECORD_INVALID, f"aiterms:record not read: {problem.message}"))
        return None
    assert isinstance(value, dict)
    decls = []
    for i, d in enumerate(value.get("declarations") or []):
        if isinstance(d, dict) and "source" not in d:
            decls.append({**d, "source": {"signal": "aiterms", "location": f"XMP aiterms:record /declarations/{i}"}})
        else:
            decls.append(d)
    if decls:
        value["declarations"] = decls
    return value


# --- the sidecar importer and exporter (interop protocol) -----------------------------------------------------------
def detect(name: str, head: bytes) -> bool:
    """An ``.xmp`` file name, or text that starts like an XMP packet (not an image)."""
    if name.lower().endswith(".xmp"):
        return True
    start = head.lstrip(b"\xef\xbb\xbf \t\r\n")[:512]
    return start.startswith((b"<?xpacket", b"<x:xmpmeta", b"<x:xapmeta")) or (
        start.startswith(b"<?xml") and b"adobe:ns:meta/" in head[:4096])


def import_bytes(data: bytes, *, source_name: str, url: str | None = None, user_agent: str | None = None,
                 observed: str | None = None) -> ImportResult:
    """Import an XMP sidecar (one packet)."""
    del url, user_agent
    return to_record([data], location="XMP", observed=observed)


def export(record: dict[str, Any]) -> ExportResult:
    """req-xmp-export: the record as an XMP sidecar packet (plus:DataMining, plus:OtherConstraints, cc:license and
    xmpRights where they fit, and the full record in aiterms:record)."""
    from aiterms.interop.xmpwrite import merge_packet

    result = merge_packet(None, record)
    return ExportResult(result.packet, MEDIA_TYPE, result.issues)
