"""ODRL 2.2 policies to and from aiterms rules (spec/interop-odrl.md).

Import reads ODRL policies in JSON-LD (compact form, as the ODRL REC and the ODRL AI vocabulary write them) or
Turtle (through rdflib), maps what the aiterms vocabulary can express and reports the rest. aiterms neither
fetches nor bundles the ODRL JSON-LD context (``http://www.w3.org/ns/odrl.jsonld``): it knows the ODRL 2.2 term
names it needs (the keys of :data:`_TERMS`) and a few common prefixes (:data:`PREFIXES`), which is all a compact
ODRL policy uses. Export writes an ODRL Set with the AI vocabulary profile and ``conflict: prohibit``.

The rule algebra the ODRL, RSL and CAWG modules share (use hierarchy, condition areas, collecting the rights
holder's rules of a record) is in ``_rules.py``.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

from aiterms.interop._rules import (
    absorb_duties,
    apply_conflict_strategy,
    areas_disjoint,
    covers,
    dedupe_rules,
    dimensions,
    export_uses,
    exportable_rules,
    instant_ok,
    intersect,
)
from aiterms.interop._rules import issue as _issue
from aiterms.interop.base import ExportResult, ImportResult
from aiterms.report import Issue, Severity, pointer

KIND = "odrl"
PRIORITY = 45
TARGET = "odrl"
MEDIA_TYPE = "application/ld+json"

ODRL = "http://www.w3.org/ns/odrl/2/"
TDM = "http://www.w3.org/ns/tdmrep#"
CC = "http://creativecommons.org/ns#"
DPV = "https://w3id.org/dpv#"
AI_PROFILE = "https://w3c.github.io/odrl/ai-vocab/"
ODRL_CONTEXT = "http://www.w3.org/ns/odrl.jsonld"
PURPOSE_NS = "https://w3id.org/aiterms/purpose/"

PREFIXES = {
    "odrl": ODRL, "tdm": TDM, "cc": CC, "dpv": DPV, "xsd": "http://www.w3.org/2001/XMLSchema#",
    "rdf": "http://www.w3.org/1999/02/22-rdf-syntax-ns#", "rdfs": "http://www.w3.org/2000/01/rdf-schema#",
    "owl": "http://www.w3.org/2002/07/owl#", "dct": "http://purl.org/dc/terms/", "schema": "http://schema.org/",
    "vcard": "http://www.w3.org/2006/vcard/ns#", "foaf": "http://xmlns.com/foaf/0.1/",
    "skos": "http://www.w3.org/2004/02/skos/core#", "ldr": "http://purl.org/NET/ldr/ns#",
}
# ODRL 2.2 JSON-LD terms aiterms reads (the ODRL context maps each to odrl:<term>; uid/type alias @id/@type).
_TERMS = frozenset({
    "permission", "prohibition", "obligation", "duty", "remedy", "consequence", "constraint", "refinement",
    "action", "target", "output", "assigner", "assignee", "profile", "conflict", "inheritFrom", "leftOperand",
    "operator", "rightOperand", "rightOperandReference", "dataType", "unit", "status", "uid", "source",
    "partOf", "summary", "and", "or", "xone", "andSequence", "function", "relation", "hasPolicy", "assignerOf",
    "assigneeOf", "includedIn", "implies", "failure",
})
_RULE_KEYS = frozenset({"action", "target", "assigner", "assignee", "constraint", "duty", "remedy", "consequence",
                        "uid", "@id", "@type", "output", "summary", "relation", "function", "failure"})
KNOWN_PROFILES = frozenset({
    AI_PROFILE, AI_PROFILE.rstrip("/"), f"{ODRL}core", "http://www.w3.org/ns/tdmrep",
    "http://www.w3.org/ns/tdmrep#", "http://www.w3.org/ns/tdmrep/",
})
# Every action of ODRL 2.2 (Core and Common Vocabulary, deprecated ones included), of the AI vocabulary and the CC
# terms ODRL declares as actions: an action outside this list cannot be identified (req-odrl-unreadable-prohibition).
def _words(text: str) -> list[str]:
    return text.split()


KNOWN_ACTIONS = frozenset(
    [ODRL + a for a in _words(
        "use transfer give sell reproduce distribute derive modify index read aggregate annotate anonymize archive "
        "attribute compensate concurrentUse delete digitize execute grantUse include inform install move nextPolicy "
        "obtainConsent play present print reviewPolicy stream synchronize textToSpeech transform translate "
        "uninstall watermark acceptTracking ensureExclusivity display extract copy append appendTo write writeTo "
        "export license pay attachPolicy attachSource shareAlike commercialize share lease lend preview "
        "secondaryUse adHocShare extractChar extractPage extractWord timedCount data-mining ai-training gen-ai "
        "ai-augment search")]
    + [CC + a for a in _words("Reproduction Distribution DerivativeWorks CommercialUse Notice Attribution ShareAlike "
                              "Sharing SourceCode")] + [f"{TDM}mine"])
POLICY_TYPES = {"Set": "Set", "Policy": "Set", "Offer": "Offer", "Agreement": "Agreement"}
OTHER_POLICY_TYPES = frozenset({"Request", "Ticket", "Assertion", "Privacy"})

# req-odrl-action-map: ODRL actions -> aiterms uses (see spec/interop-odrl.md#action-map)
ACTION_USES = {f"{ODRL}data-mining": "data-mining", f"{ODRL}ai-training": "ai-training",
               f"{ODRL}gen-ai": "genai-training", f"{ODRL}ai-augment": "ai-inference",
               f"{ODRL}search": "search-indexing", f"{TDM}mine": "data-mining"}
EXPORT_ACTIONS = {"data-mining": "odrl:data-mining", "ai-training": "odrl:ai-training",
                  "genai-training": "odrl:gen-ai", "ai-inference": "odrl:ai-augment",
                  "search-indexing": "odrl:search"}
# odrl:index is broader than ai-indexing (any index): it may carry a prohibition of ai-indexing, never a permission.
BROADER_FOR_PROHIBITION = {"ai-indexing": "odrl:index"}
BROADENED = "export-broadened"
DUTY_ACTIONS = {f"{ODRL}attribute": "attribution", f"{CC}Attribution": "attribution", f"{CC}Notice": "attribution",
                f"{ODRL}compensate": "compensate", f"{ODRL}pay": "compensate",
                f"{ODRL}obtainConsent": "obtain-consent", f"{CC}ShareAlike": "share-alike",
                f"{ODRL}shareAlike": "share-alike", f"{ODRL}inform": "contact-rights-holder"}
EXPORT_DUTIES = {"attribution": "attribute", "compensate": "compensate", "obtain-consent": "obtainConsent",
                 "share-alike": "cc:ShareAlike", "contact-rights-holder": "inform"}
# A prohibition reads a purpose at its broadest (dpv:ResearchAndDevelopment also covers commercial product
# development), a permission at its narrowest (spec/vocabulary.md#req-mapping-import).
PROHIBITION_PURPOSES = {f"{DPV}ResearchAndDevelopment": ("research", "commercial")}
PURPOSE_VALUES = {f"{DPV}ResearchAndDevelopment": ("research",), f"{DPV}AcademicResearch": ("research",),
                  f"{DPV}ScientificResearch": ("research",), f"{DPV}CommercialPurpose": ("commercial",),
                  f"{DPV}NonCommercialPurpose": ("non-commercial",), f"{TDM}research": ("research",),
                  f"{TDM}non-research": ("commercial",)}
PURPOSES = ("research", "commercial", "non-commercial", "education", "personal")
_LICENSE_LINKS = ("http://purl.org/dc/terms/source", "http://schema.org/sameAs",
                  "http://www.w3.org/2002/07/owl#sameAs", "http://www.w3.org/2000/01/rdf-schema#seeAlso",
                  f"{CC}license", "http://purl.org/dc/terms/license")
_ISO_CODE = r"(?P<code>[A-Za-z]{2}(?:-[A-Za-z0-9]{1,3})?)"
_SPATIAL = [re.compile(p) for p in (
    rf"^urn:iso:(?:std:iso:)?3166(?::-?[12])?:{_ISO_CODE}$",
    rf"^https?://www\.iso\.org/obp/ui/#iso:code:3166:{_ISO_CODE}$",
    rf"^https?://www\.itu\.int/tML/tML-ISO-3166:{_ISO_CODE}$", rf"^https?://ontologi\.es/place/{_ISO_CODE}$",
    rf"^{_ISO_CODE}$")]
_MAX_DEPTH = 32


# ---------------------------------------------------------------------------------------------------------
# JSON-LD term handling (compact form, no context fetching)

def _prefixes(context: Any) -> dict[str, str]:
    out = dict(PREFIXES)
    for item in context if isinstance(context, list) else [context]:
        if isinstance(item, dict):
            for k, v in item.items():
                if isinstance(v, str) and not k.startswith("@"):
                    out[k] = v
                elif isinstance(v, dict) and isinstance(v.get("@id"), str):
                    out[k] = v["@id"]
    return out


def _has_odrl_context(context: Any) -> bool:
    items = context if isinstance(context, list) else [context]
    for item in items:
        if isinstance(item, str) and item.rstrip("/").replace("https://", "http://") in (
                ODRL_CONTEXT, "http://www.w3.org/ns/tdmrep.jsonld"):
            return True
        if isinstance(item, dict) and item.get("@vocab") == ODRL:
            return True
    return False


def _expand(value: str, prefixes: Mapping[str, str], *, vocab: bool = True) -> str:
    """A compact IRI, a bare ODRL term (``vocab``) or an absolute IRI -> an absolute IRI when it can be known."""
    text = value.strip()
    if re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*://", text) or text.startswith("urn:"):
        return text
    prefix, sep, local = text.partition(":")
    if sep and prefix in prefixes:
        return prefixes[prefix] + local
    if vocab and not sep and re.fullmatch(r"[A-Za-z][A-Za-z0-9_-]*", text):
        return ODRL + text
    return text


def _key(key: str, prefixes: Mapping[str, str]) -> str:
    """Normalize a JSON-LD key to the ODRL term name (``odrl:permission`` -> ``permission``)."""
    if key in ("uid", "@id"):
        return "uid"
    if key in ("type", "@type"):
        return "@type"
    full = _expand(key, prefixes, vocab=False)
    if full.startswith(ODRL):
        return full[len(ODRL):]
    return key if key in _TERMS else full


def _norm(node: Any, prefixes: Mapping[str, str], depth: int = 0) -> Any:
    """Normalize keys of a compact JSON-LD node tree (values untouched)."""
    if depth > _MAX_DEPTH:
        return None
    if isinstance(node, dict):
        return {_key(k, prefixes): _norm(v, prefixes, depth + 1) for k, v in node.items() if k != "@context"}
    if isinstance(node, list):
        return [_norm(v, prefixes, depth + 1) for v in node]
    return node


def _list(value: Any) -> list[Any]:
    if value is None:
        return []
    if isinstance(value, dict) and "@list" in value:
        return _list(value["@list"])
    return list(value) if isinstance(value, list) else [value]


def _iri(value: Any, prefixes: Mapping[str, str], *, vocab: bool = False) -> str | None:
    if isinstance(value, str):
        return _expand(value, prefixes, vocab=vocab)
    if isinstance(value, dict):
        for k in ("uid", "@id", "rdf:value", PREFIXES["rdf"] + "value"):
            if k in value:
                return _iri(value[k], prefixes, vocab=vocab)
    return None


def _literals(value: Any, prefixes: Mapping[str, str]) -> list[str]:
    out: list[str] = []
    for v in _list(value):
        if isinstance(v, dict) and "@value" in v:
            out.append(str(v["@value"]))
        elif isinstance(v, dict):
            iri = _iri(v, prefixes)
            if iri:
                out.append(iri)
        elif isinstance(v, str | int | float):
            out.append(_expand(str(v), prefixes, vocab=False))
    return out


# ---------------------------------------------------------------------------------------------------------
# Import

class _Policy:
    """One policy being mapped: its settings and the issues found."""

    def __init__(self, node: dict[str, Any], ptr: str, prefixes: Mapping[str, str], url: str | None) -> None:
        self.node, self.ptr, self.prefixes, self.url = node, ptr, prefixes, url
        self.issues: list[Issue] = []
        self.ai_profile = False
        self.kind = "Set"
        self.license_policy = False
        self.blocked = False  # a prohibition could not be read: no permission of the policy is imported

    def block(self, message: str, path: str) -> None:
        """req-odrl-unreadable-prohibition: an unreadable prohibition might have overridden any permission."""
        self.blocked = True
        self.warn("odrl-prohibition-unreadable", message + "; no permission of the policy is recorded", path)

    def warn(self, code: str, message: str, path: str = "", severity: Severity = Severity.WARNING) -> None:
        uid = _iri(self.node.get("uid"), self.prefixes)
        prefix = f"policy {uid}: " if uid and not message.startswith("policy ") else ""
        self.issues.append(_issue(code, prefix + message, self.ptr + path, severity))


def import_bytes(data: bytes, *, source_name: str, url: str | None = None, user_agent: str | None = None,
                 observed: str | None = None) -> ImportResult:
    """req-odrl-import: map each ODRL policy to one declaration; never a permission the policy does not grant.

    security#req-limits: a document over 16 MiB is not parsed: ``limit-input-size`` and no declaration.
    security#req-limit-depth: JSON nested deeper than 64 (``limit-json-depth``) and Turtle nested deeper than 64
    (``limit-nesting-depth``) are refused before they are parsed: no declaration."""
    from aiterms.limits import MAX_DOCUMENT_BYTES, check_json_depth, check_size, check_turtle_depth

    too_big = check_size(len(data), MAX_DOCUMENT_BYTES, what=source_name)
    if too_big is not None:
        return ImportResult({}, (too_big,))
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        return ImportResult({}, (_issue("odrl-unreadable", f"{source_name}: not UTF-8 text ({exc.reason})"),))
    stripped = text.lstrip()
    is_json = stripped.startswith(("{", "["))
    deep = check_json_depth(text) if is_json else check_turtle_depth(text)
    if deep is not None:
        return ImportResult({}, (deep,))
    if is_json:
        nodes, prefixes, issues = _json_nodes(text, source_name)
    else:
        nodes, issues = _turtle_nodes(text, source_name)
        prefixes = dict(PREFIXES)
    record: dict[str, Any] = {}
    declarations: list[dict[str, Any]] = []
    licenses: set[str] = set()
    targets: set[str] = set()
    for ptr, node, node_prefixes in nodes:
        policy = _Policy(node, ptr, node_prefixes or prefixes, url)
        decl, lic, target = _policy(policy, observed)
        issues.extend(policy.issues)
        if decl is not None:
            declarations.append(decl)
        if lic:
            licenses.add(lic)
        if target:
            targets.add(target)
    if not nodes and not issues:
        issues.append(_issue("odrl-no-policy", f"{source_name}: no ODRL policy found"))
    if len(licenses) == 1:
        record["license"] = licenses.pop()
    elif len(licenses) > 1:
        issues.append(_issue("odrl-license-ambiguous", f"{source_name}: the policies name several licenses "
                             f"({', '.join(sorted(licenses))}); none was recorded"))
    if len(targets) == 1 and declarations:
        record["id"] = targets.pop()
    if declarations:
        record["declarations"] = declarations
    return ImportResult(record, tuple(issues))


def detect(name: str, head: bytes) -> bool:
    """An ODRL policy: ``.jsonld``/``.json``/``.ttl`` that names the ODRL namespace or context and a rule."""
    lower = name.lower()
    if not lower.endswith((".jsonld", ".json", ".ttl", ".odrl")):
        return False
    return (b"www.w3.org/ns/odrl" in head and (b"permission" in head or b"prohibition" in head)) or (
        b"ai-vocab" in head)


def _json_nodes(text: str, source_name: str) -> tuple[list[tuple[str, dict[str, Any], dict[str, str]]],
                                                        dict[str, str], list[Issue]]:
    issues: list[Issue] = []
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        return [], dict(PREFIXES), [_issue("odrl-unreadable", f"{source_name}: not JSON: {exc.msg}",
                                           line=exc.lineno, column=exc.colno)]
    except RecursionError:
        return [], dict(PREFIXES), [_issue("odrl-unreadable", f"{source_name}: JSON nested too deeply")]
    except ValueError as exc:  # an integer longer than Python's 4,300-digit conversion limit
        return [], dict(PREFIXES), [_issue("odrl-unreadable", f"{source_name}: not JSON: {str(exc)[:120]}")]
    top: list[tuple[str, Any]] = [(pointer(i), d) for i, d in enumerate(doc)] if isinstance(doc, list) else [("", doc)]
    nodes: list[tuple[str, dict[str, Any], dict[str, str]]] = []
    for ptr, item in top:
        if not isinstance(item, dict):
            continue
        context = item.get("@context")
        prefixes = _prefixes(context)
        candidates = [(ptr + pointer("@graph", i), g) for i, g in enumerate(_list(item.get("@graph")))
                      ] if "@graph" in item else [(ptr, item)]
        for cptr, cand in candidates:
            if not isinstance(cand, dict):
                continue
            if "policytype" in cand or "permissions" in cand:
                issues.append(_issue("odrl-unsupported-encoding", f"{source_name}: an ODRL 2.0/2.1 JSON encoding "
                                     "(policytype/permissions), not ODRL 2.2 JSON-LD; not read", cptr))
                continue
            normalized = _norm(cand, prefixes)
            if not isinstance(normalized, dict):
                continue
            is_policy = _local_type(normalized, prefixes) in {*POLICY_TYPES, *OTHER_POLICY_TYPES} or any(
                k in normalized for k in ("permission", "prohibition", "obligation"))
            if not is_policy:
                continue
            if not (_has_odrl_context(context) or any(k.startswith(ODRL) for k in cand)
                    or any(k.startswith("odrl:") for k in cand)):
                issues.append(_issue("odrl-no-context", f"{source_name}: JSON without the ODRL context; its terms "
                                     "cannot be read as ODRL", cptr))
                continue
            normalized["_raw"] = json.dumps(cand, ensure_ascii=False)  # req-producer-source: as found
            nodes.append((cptr, normalized, prefixes))
    return nodes, dict(PREFIXES), issues


def _local_type(node: Mapping[str, Any], prefixes: Mapping[str, str]) -> str | None:
    for t in _list(node.get("@type")):
        if isinstance(t, str):
            full = _expand(t, prefixes)
            if full.startswith(ODRL):
                return full[len(ODRL):]
    return None


def _turtle_nodes(text: str, source_name: str) -> tuple[list[tuple[str, dict[str, Any], dict[str, str]]],
                                                          list[Issue]]:
    """Parse Turtle with rdflib and turn each policy into the same tree a compact JSON-LD policy gives."""
    import rdflib
    from rdflib.namespace import RDF

    graph = rdflib.Graph()
    try:
        with _quiet_rdflib():
            graph.parse(data=text, format="turtle")
    except Exception as exc:  # rdflib raises many types for bad input; all mean "unreadable"
        line = getattr(exc, "lines", None)
        first = (str(exc).splitlines() or [type(exc).__name__])[0][:200]
        return [], [_issue("odrl-unreadable", f"{source_name}: not Turtle: {first}",
                           line=line if isinstance(line, int) else None)]
    odrl = rdflib.Namespace(ODRL)
    policies: list[Any] = []
    for s in set(graph.subjects(RDF.type, None)) | set(graph.subjects(odrl.permission, None)) | set(
            graph.subjects(odrl.prohibition, None)) | set(graph.subjects(odrl.obligation, None)):
        types = {str(t) for t in graph.objects(s, RDF.type)}
        if types & {ODRL + t for t in (*POLICY_TYPES, *OTHER_POLICY_TYPES)} or any(
                (s, p, None) in graph for p in (odrl.permission, odrl.prohibition, odrl.obligation)):
            policies.append(s)
    nodes = []
    for s in sorted(policies, key=str):
        tree = _rdf_tree(graph, s, 0, frozenset())
        tree["_raw"] = text  # req-producer-source: the Turtle document as found
        nodes.append(("", tree, dict(PREFIXES)))
    if not nodes:
        # A CC REL license description (cc:License) is read as the license of the record.
        lic = _cc_license_in_graph(graph)
        if lic:
            nodes.append(("", {"@type": "cc:License", "uid": lic, "_license": lic}, dict(PREFIXES)))
    return nodes, []


@contextmanager
def _quiet_rdflib() -> Iterator[None]:
    """rdflib logs every odd literal with a traceback; aiterms reports problems as issues instead."""
    logger = logging.getLogger("rdflib")
    level = logger.level
    logger.setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        logger.setLevel(level)


def _rdf_tree(graph: Any, subject: Any, depth: int, seen: frozenset[Any]) -> dict[str, Any]:
    import rdflib
    from rdflib.namespace import RDF

    out: dict[str, Any] = {}
    if isinstance(subject, rdflib.URIRef):
        out["uid"] = str(subject)
    if depth > _MAX_DEPTH or subject in seen:
        return out
    for p, o in graph.predicate_objects(subject):
        key = "@type" if p == RDF.type else ("rdf:value" if p == RDF.value else _key(str(p), PREFIXES))
        if isinstance(o, rdflib.Literal):
            value: Any = {"@value": str(o), "@type": str(o.datatype)} if o.datatype else str(o)
        elif isinstance(o, rdflib.BNode) or (
                isinstance(o, rdflib.URIRef) and key not in ("@type", "profile", "action", "leftOperand", "operator")
                and any(True for _ in graph.predicate_objects(o))):
            value = _rdf_tree(graph, o, depth + 1, seen | {subject})
        else:
            value = str(o)
        if key in out:
            out[key] = [*_list(out[key]), value]
        else:
            out[key] = value
    return out


def _cc_license_in_graph(graph: Any) -> str | None:
    import rdflib
    from rdflib.namespace import RDF

    from aiterms.interop.cclicense import normalize_license

    found: set[str] = set()
    for s in graph.subjects(RDF.type, rdflib.URIRef(f"{CC}License")):
        for cand in [s, *(o for p in _LICENSE_LINKS for o in graph.objects(s, rdflib.URIRef(p)))]:
            iri = normalize_license(str(cand))
            if iri:
                found.add(iri)
    return found.pop() if len(found) == 1 else None


def _policy(p: _Policy, observed: str | None) -> tuple[dict[str, Any] | None, str | None, str | None]:
    node, prefixes = p.node, p.prefixes
    if "_license" in node:
        p.warn("odrl-license-policy", f"a Creative Commons license description ({node['_license']}); recorded as "
               "the record's license, no rules", severity=Severity.INFO)
        return None, str(node["_license"]), None
    uid = _iri(node.get("uid"), prefixes) or ""
    kind = _local_type(node, prefixes) or "Set"
    if kind in OTHER_POLICY_TYPES or kind not in POLICY_TYPES:
        p.warn("odrl-policy-type-unsupported", f"policy {uid or '(no uid)'} is an ODRL {kind}, which grants "
               "nothing aiterms can record; not read", "/@type")
        return None, None, None
    p.kind = POLICY_TYPES[kind]
    profiles = [_iri(v, prefixes) or "" for v in _list(node.get("profile"))]
    unknown = [x for x in profiles if x not in KNOWN_PROFILES]
    if unknown:
        p.warn("odrl-unknown-profile", f"policy {uid or '(no uid)'} uses the profile(s) {', '.join(unknown)} that "
               "aiterms does not know; ODRL requires processing to stop, so the policy is not read", "/profile")
        return None, None, None
    p.ai_profile = any(x.rstrip("/") == AI_PROFILE.rstrip("/") for x in profiles)
    lic = _policy_license(node, prefixes, uid)
    p.license_policy = lic is not None
    if lic:
        p.warn("odrl-license-policy", f"policy {uid} encodes the license {lic}; recorded as the record's license "
               "(the resolver applies its terms); its Creative Commons actions are not turned into rules",
               severity=Severity.INFO)
    undefined = sorted(k for k in node if ":" not in k and not k.startswith(("@", "_")) and k not in _TERMS)
    if undefined:
        p.block(f"terms the ODRL context does not define ({', '.join(undefined)})", "")
    strategy = _conflict_strategy(p)
    target = _iri(node.get("target"), prefixes) if not isinstance(node.get("target"), list) else None
    perms, prohs = _rules(p)
    if _list(node.get("inheritFrom")) and perms:
        p.warn("odrl-inherit-unresolved", "the policy inherits from a parent policy aiterms cannot read "
               "(no network); its permissions are not recorded", "/inheritFrom")
        perms = []
    if _list(node.get("obligation")):
        p.warn("odrl-obligation-ignored", "policy-level obligations grant nothing and are not recorded",
               "/obligation", Severity.INFO)
    if p.blocked:
        perms = []
    rules = apply_conflict_strategy(perms, prohs, strategy, p.warn, void_path="/conflict" if "conflict" in node else "")
    if rules is None or not rules:
        return None, lic, target
    assigner = _iri(node.get("assigner"), prefixes)
    declared: dict[str, Any] = {"role": "rights-holder"}
    if assigner and ":" in assigner:
        declared["id"] = assigner
    source: dict[str, Any] = {"signal": "odrl", "version": "ODRL 2.2" + (" + AI vocabulary (CG draft)"
                                                                         if p.ai_profile else ""),
                              "location": f"ODRL {kind} {uid or '(no uid)'}" + (f" at {p.ptr}" if p.ptr else ""),
                              "raw": str(node.get("_raw", ""))[:65536]}
    if observed:
        source["observed"] = observed
    decl: dict[str, Any] = {"declaredBy": declared, "rules": rules, "source": source}
    issued = _literals(node.get("http://purl.org/dc/terms/issued"), prefixes)
    if issued and instant_ok(issued[0]):
        decl["issued"] = issued[0]
    return decl, lic, target


def _policy_license(node: Mapping[str, Any], prefixes: Mapping[str, str], uid: str) -> str | None:
    """req-odrl-license: a policy that encodes a CC license is the record's license, not rules."""
    from aiterms.interop.cclicense import normalize_license

    candidates = [uid] + [v for k in _LICENSE_LINKS for v in _literals(node.get(k), prefixes)]
    found = {iri for c in candidates if c and (iri := normalize_license(c))}
    return found.pop() if len(found) == 1 else None


def _conflict_strategy(p: _Policy) -> str:
    raw = p.node.get("conflict")
    if raw is None:
        return "invalid"
    value = _iri(raw, p.prefixes, vocab=True) or ""
    local = value[len(ODRL):] if value.startswith(ODRL) else value
    if local in ("perm", "prohibit", "invalid"):
        return local
    p.warn("odrl-conflict-unknown", f"conflict value {raw!r} is not perm, prohibit or invalid; read as invalid",
           "/conflict")
    return "invalid"


def _rules(p: _Policy) -> tuple[list[tuple[str, dict[str, Any]]], list[tuple[str, dict[str, Any]]]]:
    node = p.node
    shared = {k: node[k] for k in ("action", "target", "assigner", "assignee") if k in node}
    perms: list[tuple[str, dict[str, Any]]] = []
    prohs: list[tuple[str, dict[str, Any]]] = []
    for effect, key, bucket in (("permit", "permission", perms), ("prohibit", "prohibition", prohs)):
        for i, rule in enumerate(_list(node.get(key))):
            path = pointer(key, i) if isinstance(node.get(key), list) else pointer(key)
            if not isinstance(rule, dict):
                if effect == "prohibit":
                    p.block("a prohibition is not a rule object", path)
                else:
                    p.warn("odrl-rule-unmapped", f"{key} is not a rule object", path)
                continue
            merged = {**shared, **rule}
            bucket.extend((path, r) for r in _rule(p, effect, merged, path))
    return perms, prohs


def _rule(p: _Policy, effect: str, rule: dict[str, Any], path: str) -> list[dict[str, Any]]:
    """req-odrl-fail-closed: a permission with anything unmapped is dropped; a prohibition loses the condition."""
    permit = effect == "permit"
    unknown = sorted(k for k in rule if k not in _RULE_KEYS and not k.startswith("@"))
    if unknown:
        p.warn("odrl-rule-unmapped", f"{'permission' if permit else 'prohibition'} has terms aiterms does not "
               f"read ({', '.join(unknown)})" + ("; the permission is not recorded" if permit else
                                                 "; the prohibition is recorded without them"), path)
        if permit:
            return []
    if not _target_matches(p, rule, path):
        return []
    if _list(rule.get("assignee")):
        if permit:
            p.warn("odrl-assignee-unmapped", "the permission is granted to a specific assignee, which aiterms "
                   "cannot express; not recorded", path + "/assignee")
            return []
        p.warn("odrl-assignee-unmapped", "the prohibition binds a specific assignee; recorded for everyone "
               "(fail closed)", path + "/assignee")
    cond, ok = _constraints(p, rule.get("constraint"), permit, path + "/constraint")
    if not ok:
        return []
    duties: list[str] = []
    if permit:
        for i, duty in enumerate(_list(rule.get("duty"))):
            d = _duty(p, duty, path + pointer("duty", i))
            if d is None:
                return []
            duties.extend(d)
        if p.kind == "Offer" and not duties:  # an offer is a proposal (as spec/interop.md#req-tdmrep-policy)
            duties.append("contact-rights-holder")
    elif _list(rule.get("remedy")):
        p.warn("odrl-rule-unmapped", "remedies of a prohibition are not recorded", path + "/remedy", Severity.INFO)
    out: list[dict[str, Any]] = []
    for j, action in enumerate(_list(rule.get("action"))):
        apath = path + (pointer("action", j) if isinstance(rule.get("action"), list) else "/action")
        uses, extra = _action(p, action, effect, apath)
        if extra is None:
            continue
        merged_cond = intersect(cond, extra)
        if merged_cond is None:
            continue
        for use in uses:
            r: dict[str, Any] = {"effect": effect, "use": use, **merged_cond}
            if duties:
                r["duties"] = sorted(set(duties))
            out.append(r)
    if not _list(rule.get("action")):
        if permit:
            p.warn("odrl-rule-unmapped", "rule without an action", path)
        else:
            p.block("a prohibition without an action", path)
    return out


def _target_matches(p: _Policy, rule: Mapping[str, Any], path: str) -> bool:
    if not p.url:
        return True
    targets = [_iri(t, p.prefixes) for t in _list(rule.get("target"))]
    if not targets or any(t and t.rstrip("/") == p.url.rstrip("/") for t in targets):
        return True
    p.warn("odrl-target-mismatch", f"the rule's target is not {p.url}; not recorded", path + "/target",
           Severity.INFO)
    return False


def _action(p: _Policy, action: Any, effect: str, path: str) -> tuple[list[str], dict[str, Any] | None]:
    """req-odrl-action-map: the uses an action stands for; ``None`` conditions when the action is dropped."""
    iri = _iri(action, p.prefixes, vocab=True) or ""
    permit = effect == "permit"
    if isinstance(action, dict) and _list(action.get("refinement")):
        if permit:
            p.warn("odrl-constraint-unmapped", "the action has a refinement aiterms cannot express; the "
                   "permission is not recorded", path)
            return [], None
        p.warn("odrl-constraint-unmapped", "the action's refinement is not recorded; the prohibition applies "
               "without it", path, Severity.INFO)
    if p.license_policy and iri.startswith(CC):
        return [], None
    if iri in ACTION_USES:
        return [ACTION_USES[iri]], {}
    if iri == f"{ODRL}index":
        if not permit:  # any index: AI retrieval stores and search indexes
            return ["ai-indexing", "search-indexing"], {}
        if p.ai_profile:
            return ["ai-indexing"], {}
        p.warn("odrl-generic-action", "'index' without the AI vocabulary profile is the Common Vocabulary "
               "action (any index); not read as a permission of an AI use", path)
        return [], None
    if iri == f"{ODRL}use":
        if permit and not p.ai_profile:
            p.warn("odrl-generic-action", "a permission to 'use' in a policy without the AI vocabulary profile is "
                   "not read as a permission of AI uses", path)
            return [], None
        return ["data-mining"], {}
    if iri == f"{CC}CommercialUse" and not permit:
        return ["data-mining"], {"purpose": ["commercial"]}
    if not permit and iri not in KNOWN_ACTIONS:
        p.block(f"the prohibited action {iri or repr(action)} cannot be identified", path)
        return [], None
    p.warn("odrl-action-unmapped", f"action {iri or repr(action)} is not an AI use aiterms can express; not recorded",
           path, Severity.INFO)
    return [], None


def _duty(p: _Policy, duty: Any, path: str) -> list[str] | None:
    action = duty.get("action") if isinstance(duty, dict) else None
    iris = [_iri(a, p.prefixes, vocab=True) or "" for a in _list(action)]
    if iris and all(i in DUTY_ACTIONS for i in iris):
        if isinstance(duty, dict) and (_list(duty.get("constraint")) or _list(duty.get("consequence"))):
            p.warn("odrl-constraint-unmapped", "the duty's constraints and consequences are not recorded", path,
                   Severity.INFO)
        return sorted({DUTY_ACTIONS[i] for i in iris})
    p.warn("odrl-duty-unmapped", f"duty {', '.join(iris) or '(no action)'} cannot be expressed; the permission "
           "is not recorded", path)
    return None


def _constraints(p: _Policy, value: Any, permit: bool, path: str) -> tuple[dict[str, Any], bool]:
    """Constraints -> purpose/jurisdiction/from/until. ``ok`` False: a permission's constraint is unmapped."""
    cond: dict[str, Any] | None = {}
    for i, c in enumerate(_flatten_and(value)):
        cpath = f"{path}/{i}"
        mapped = _constraint(p, c, permit)
        if mapped is None:
            if permit:
                p.warn("odrl-constraint-unmapped", "constraint aiterms cannot express; the permission is not "
                       "recorded", cpath)
                return {}, False
            p.warn("odrl-constraint-unmapped", "constraint aiterms cannot express; the prohibition is recorded "
                   "without it (it prohibits more)", cpath)
            continue
        cond = intersect(cond or {}, mapped)
        if cond is None:
            p.warn("odrl-constraint-unmapped", "the rule's constraints can never be satisfied together; the "
                   "rule is not recorded", cpath, Severity.INFO)
            return {}, False
    return cond or {}, True


def _flatten_and(value: Any) -> list[Any]:
    out: list[Any] = []
    for c in _list(value):
        if isinstance(c, dict) and "and" in c and "leftOperand" not in c:
            out.extend(_flatten_and(c["and"]))
        else:
            out.append(c)
    return out


def _constraint(p: _Policy, c: Any, permit: bool) -> dict[str, Any] | None:
    if not isinstance(c, dict) or "leftOperand" not in c:
        return None
    left = _iri(c.get("leftOperand"), p.prefixes, vocab=True) or ""
    op = (_iri(c.get("operator"), p.prefixes, vocab=True) or "").removeprefix(ODRL)
    values = _literals(c.get("rightOperand"), p.prefixes)
    if not values or c.get("rightOperandReference") is not None:
        return None
    if left == f"{ODRL}purpose" and op in ("eq", "isA", "isAnyOf", "isPartOf"):
        purposes: set[str] = set()
        for v in values:
            if v == f"{TDM}non-research" and not permit:  # a prohibition of non-research covers every other purpose
                purposes.update(x for x in PURPOSES if x != "research")
                continue
            mapped = (None if permit else PROHIBITION_PURPOSES.get(v)) or PURPOSE_VALUES.get(v) or (
                (v.removeprefix(PURPOSE_NS),) if v.removeprefix(PURPOSE_NS) in PURPOSES else None)
            if mapped is None:
                return None
            purposes.update(mapped)
        return {"purpose": sorted(purposes)}
    if left == f"{ODRL}purpose" and op in ("neq", "isNoneOf"):
        excluded: set[str] = set()
        for v in values:  # a permission excludes the broadest reading, a prohibition the narrowest
            key = v.removeprefix(PURPOSE_NS)
            broad: tuple[str, ...] | None = PROHIBITION_PURPOSES.get(v) or (
                tuple(x for x in PURPOSES if x != "research")
                                                     if v == f"{TDM}non-research" else None)
            reading: tuple[str, ...] | None = (broad if permit else None) or PURPOSE_VALUES.get(v) or (
                (key,) if key in PURPOSES else None)
            if reading is None:
                return None
            excluded.update(reading)
        rest = [x for x in PURPOSES if x not in excluded]
        return {"purpose": rest} if rest else None
    if left == f"{ODRL}spatial" and op in ("eq", "isA", "isAnyOf", "isPartOf"):
        codes = [_jurisdiction(v) for v in values]
        return {"jurisdiction": sorted(set(c for c in codes if c))} if all(codes) else None
    if left == f"{ODRL}dateTime" and op in ("gt", "gteq", "lt", "lteq") and len(values) == 1:
        v = values[0].strip()
        if not instant_ok(v):
            return None
        if op in ("gt", "gteq"):
            return {"from": v}
        if op == "lteq" and len(v) == 10:
            from datetime import date
            return {"until": (date.fromisoformat(v) + timedelta(days=1)).isoformat()}
        return {"until": v}
    return None


def _jurisdiction(value: str) -> str | None:
    for pattern in _SPATIAL:
        m = pattern.match(value.strip())
        if m:
            code = m.group("code").upper()
            return code
    return None


# ---------------------------------------------------------------------------------------------------------
# Export

def export(record: dict[str, Any]) -> ExportResult:
    """req-odrl-export: an ODRL Set with the AI vocabulary profile and an explicit ``conflict: prohibit``."""
    code = "export-not-expressible"  # spec/interop.md#req-export-lossy; wider answers use export-broadened
    rules, issues = exportable_rules(record, code)
    chosen: list[tuple[str, dict[str, Any], list[str], list[dict[str, Any]]]] = []  # (ptr, rule, actions, constr.)
    dropped: list[dict[str, Any]] = []
    assigners = {a for _, _, a in rules if a}
    for ptr, rule, _party in rules:
        permit = rule["effect"] == "permit"
        if not permit and rule["use"] in BROADER_FOR_PROHIBITION:
            actions = [BROADER_FOR_PROHIBITION[rule["use"]]]
            issues.append(_issue(BROADENED, f"{rule['use']} exported as {actions[0]}, which also covers search indexes "
                                 "(prohibits more)", ptr))
        else:
            actions = [EXPORT_ACTIONS[u] for u in export_uses(rule, EXPORT_ACTIONS, code, ptr, issues)]
        constraints = _export_constraints(rule, permit, code, ptr, issues) if actions else None
        if constraints is None:
            dropped.append(rule)
            continue
        chosen.append((ptr, dict(rule), actions, constraints))
        if permit:
            for xptr, x, _ in rules:
                if x["effect"] == "prohibit" and covers(x["use"], rule["use"]) and not areas_disjoint(rule, x) and (
                        x["use"] != rule["use"] or dimensions(rule) > dimensions(x)):
                    issues.append(_issue(BROADENED, f"under conflict=prohibit the prohibition at {xptr} overrides this "
                                         "more specific permission (ODRL readers see it prohibited)", ptr))
                    break
    if absorb_duties([r for _, r, _, _ in chosen], dropped):
        issues.append(_issue(BROADENED, "duties of permissions that could not be exported were added to overlapping "
                             "permissions (fail closed)", ""))
    permissions: list[dict[str, Any]] = []
    prohibitions: list[dict[str, Any]] = []
    for _ptr, rule, actions, constraints in chosen:
        permit = rule["effect"] == "permit"
        for action in actions:
            out: dict[str, Any] = {"action": action}
            if constraints:
                out["constraint"] = constraints
            if permit and rule.get("duties"):
                out["duty"] = [{"action": EXPORT_DUTIES[d]} for d in rule["duties"]]
            (permissions if permit else prohibitions).append(out)
    policy: dict[str, Any] = {
        "@context": [ODRL_CONTEXT, {"dpv": DPV, "aiterms-purpose": PURPOSE_NS}],
        "@type": "Set",
        "uid": _policy_uid(record),
        "profile": AI_PROFILE,
        "conflict": "prohibit",
    }
    if isinstance(record.get("id"), str):
        policy["target"] = record["id"]
    if len(assigners) == 1:
        policy["assigner"] = assigners.pop()
    if permissions:
        policy["permission"] = dedupe_rules(permissions)
    if prohibitions:
        policy["prohibition"] = dedupe_rules(prohibitions)
    if not permissions and not prohibitions:
        issues.append(_issue(code, "nothing to export: the policy has no rules", ""))
        policy["permission"] = []
    data = json.dumps(policy, indent=2, ensure_ascii=False).encode("utf-8") + b"\n"
    return ExportResult(data, MEDIA_TYPE, tuple(issues))


def _policy_uid(record: Mapping[str, Any]) -> str:
    if isinstance(record.get("id"), str) and re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*:", record["id"]):
        return f"{record['id']}#aiterms-odrl-policy"
    digest = hashlib.sha256(json.dumps(record, sort_keys=True, default=str).encode("utf-8")).hexdigest()[:32]
    return f"urn:aiterms:policy:{digest}"


def _export_constraints(rule: Mapping[str, Any], permit: bool, code: str, ptr: str,
                        issues: list[Issue]) -> list[dict[str, Any]] | None:
    out: list[dict[str, Any]] = []
    unknown = [d for d in rule.get("duties", ()) if d not in EXPORT_DUTIES] if permit else []
    if unknown:
        issues.append(_issue(code, f"duty {unknown[0]!r} has no ODRL action; the permission is not exported", ptr))
        return None
    if rule.get("actor"):
        if permit:
            issues.append(_issue(code, "ODRL cannot express the actor constraint; the permission is not exported",
                                 ptr))
            return None
        issues.append(_issue(BROADENED, "ODRL cannot express the actor constraint; the prohibition is exported "
                             "without it (it prohibits more)", ptr))
    if rule.get("purpose"):
        values = [f"{PURPOSE_NS}{x}" for x in rule["purpose"]]
        out.append({"leftOperand": "purpose", "operator": "isAnyOf" if len(values) > 1 else "eq",
                    "rightOperand": values if len(values) > 1 else values[0]})
    if rule.get("jurisdiction"):
        values = [f"urn:iso:3166:{j}" for j in rule["jurisdiction"]]
        out.append({"leftOperand": "spatial", "operator": "isAnyOf" if len(values) > 1 else "eq",
                    "rightOperand": values if len(values) > 1 else values[0]})
    for key, op in (("from", "gteq"), ("until", "lt")):
        if rule.get(key):
            v = str(rule[key])
            out.append({"leftOperand": "dateTime", "operator": op,
                        "rightOperand": {"@value": v, "@type": "xsd:date" if len(v) == 10 else "xsd:dateTime"}})
    return out
