"""W3C TDM Reservation Protocol (TDMRep, CG-FINAL 2024-05-10) (spec/interop.md#tdmrep).

``tdm-reservation`` (``1`` reserved, ``0`` not reserved; anything else is a protocol error and leaves it unset)
and ``tdm-policy`` (URL of an ODRL Offer) as HTTP headers, HTML ``<meta>`` (and EPUB metadata), or rules of
``/.well-known/tdmrep.json`` (first matching rule wins); TDM policies themselves (ODRL Offers with ``tdm:mine``);
TDMRep's layered override (file < header < HTML meta < EPUB metadata) when several TDMRep sources about the
same content combine. As an importer (KIND ``tdmrep``) it reads tdmrep.json files, TDM policies and the bundle
the exporter writes; as an exporter (TARGET ``tdmrep``) it writes a tdmrep.json rule and, when there are
duties, the policy.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from aiterms.interop import _web
from aiterms.interop.base import ExportResult, ImportResult
from aiterms.report import Issue

KIND = "tdmrep"
TARGET = "tdmrep"
PRIORITY = 20
VERSION = "TDMRep CG-FINAL-20240510"

LOC_FILE = "/.well-known/tdmrep.json"
LOC_HEADER = "HTTP header tdm-reservation"
LOC_HTML = "HTML meta tdm-reservation"
LOC_EPUB = "EPUB meta tdm:reservation"
LOC_POLICY = "TDM policy"
LAYERS = {LOC_FILE: 1, LOC_HEADER: 2, LOC_HTML: 3, LOC_EPUB: 4}

TDM = "http://www.w3.org/ns/tdmrep#"
ODRL = "http://www.w3.org/ns/odrl/2/"
PROFILE = "http://www.w3.org/ns/tdmrep"
CONTEXT = ["http://www.w3.org/ns/odrl.jsonld", "http://www.w3.org/ns/tdmrep.jsonld"]
_DUTIES = {"obtainConsent": "contact-rights-holder", "compensate": "compensate"}
_PURPOSES = {"research": "research", "non-research": "commercial"}


def _name(value: Any) -> str | None:
    """An ODRL term given as a string, a CURIE or a node ``{"@id": ...}``, reduced to its local name."""
    if isinstance(value, Mapping):
        value = value.get("@id", value.get("id", value.get("rdf:value")))
        if isinstance(value, Mapping):
            value = value.get("@id")
    if not isinstance(value, str):
        return None
    for prefix in (TDM, ODRL, "tdm:", "odrl:"):
        if value.startswith(prefix):
            return value[len(prefix):]
    return value


# ---------------------------------------------------------------------------------------------------------
# Reservation values (headers, HTML meta, tdmrep.json)


def reservation(value: Any, *, where: str, line: int | None = None) -> tuple[int | None, list[Issue]]:
    """req-tdmrep-values: ``tdm-reservation`` is ``1`` or ``0``; any other value is a protocol error and leaves
    the reservation unset. (A JSON string ``"1"`` is read as 1 with a warning; ``"0"`` as a string stays unset:
    leniency may only ever keep a reservation, never grant.)"""
    if isinstance(value, bool):
        value = repr(value)
    if isinstance(value, int) and value in (0, 1):
        return value, []
    if isinstance(value, str):
        text = value.strip(" \t")
        if where.startswith(LOC_FILE) and text == "1":
            return 1, [_web.issue("tdmrep-protocol-error", _web.WARNING,
                                  f"{where}: tdm-reservation is the string \"1\", not the number 1; read as reserved",
                                  line=line)]
        if not where.startswith(LOC_FILE) and text in ("0", "1"):
            return int(text), []
    shown = value if isinstance(value, str) else json.dumps(value)
    return None, [_web.issue(
        "tdmrep-protocol-error", _web.WARNING,
        f"{where}: tdm-reservation {shown!r} is neither 0 nor 1; a protocol error, so the reservation is unset",
        line=line, value=shown)]


def declarations(value: Any, policy: str | None, *, location: str, origin: str | None,
                 line: int | None = None, raw: str | None = None) -> tuple[list[dict[str, Any]], list[Issue]]:
    """req-tdmrep-map: ``tdm-reservation: 1`` prohibits ``data-mining`` (an Art. 4(3) DSM reservation);
    ``0`` permits it. A ``tdm-policy`` URL is recorded, never fetched; with ``0`` it is not processed."""
    value_res, issues = reservation(value, where=location, line=line)
    if value_res is None:
        if policy:
            issues.append(_web.issue("tdmrep-policy-ignored", _web.INFO,
                                     f"{location}: tdm-policy {policy!r} without a valid reservation is not processed",
                                     line=line))
        return [], issues
    if raw is None:
        raw = value if isinstance(value, str) else json.dumps(value)
    if policy:
        location = f"{location}; tdm-policy {policy}"
    if value_res == 1:
        if policy:
            issues.append(_web.issue(
                "tdmrep-policy-not-fetched", _web.INFO,
                f"{location}: the licence offer at {policy} is recorded but not fetched (aiterms never uses the "
                "network); import the policy file as another source to apply it", line=line))
        rules = [_web.rule("prohibit", "data-mining")]
    else:
        if policy:
            issues.append(_web.issue(
                "tdmrep-policy-ignored", _web.INFO,
                f"{location}: tdm-policy with tdm-reservation 0 SHOULD NOT be processed (TDMRep); ignored", line=line))
        rules = [_web.rule("permit", "data-mining")]
    return [_web.declaration(rules, signal=_web.TDMREP, version=VERSION, location=location, raw=raw,
                             origin=origin)], issues


# ---------------------------------------------------------------------------------------------------------
# /.well-known/tdmrep.json


def select_rule(rules: Sequence[Any], target: str | None,
                where: str = LOC_FILE) -> tuple[int | None, Mapping[str, Any] | None, list[Issue]]:
    """req-tdmrep-first-match: the first rule in array order whose ``location`` pattern (robots-style ``*`` and
    ``$``, case-sensitive) matches the URL path is used; no match leaves the reservation unset. Without a URL only
    a first rule that matches every path can be applied."""
    issues: list[Issue] = []
    for i, r in enumerate(rules):
        if not isinstance(r, Mapping) or not isinstance(r.get("location"), str) or "tdm-reservation" not in r:
            issues.append(_web.issue(
                "tdmrep-json-invalid", _web.WARNING,
                f"{where}: rule {i} lacks a string location or tdm-reservation (both mandatory); skipped",
                path=f"/{i}"))
            continue
        loc = str(r["location"])
        if target is None:
            if _web.matches_everything(loc):
                return i, r, issues
            return None, None, [*issues, _web.issue(
                "import-url-required", _web.ERROR,
                f"{where}: rule {i} ({loc!r}) applies only to some paths; give the image's URL with --url")]
        if _web.pattern_matches(loc, target):
            return i, r, issues
    issues.append(_web.issue("tdmrep-no-match", _web.INFO,
                             f"{where}: no rule matches {target!r}; the reservation is unset"))
    return None, None, issues


def _import_file(rules: Any, *, url: str | None, origin: str | None) -> tuple[list[dict[str, Any]], list[Issue]]:
    if not isinstance(rules, list):
        return [], [_web.issue("tdmrep-json-invalid", _web.WARNING,
                               f"{LOC_FILE} must be a JSON array of rules; nothing is read")]
    target = _web.url_target(url) if url else None
    index, chosen, issues = select_rule(rules, target)
    if chosen is None or index is None:
        return [], issues
    policy = chosen.get("tdm-policy")
    decls, more = declarations(chosen.get("tdm-reservation"), policy if isinstance(policy, str) else None,
                               location=f"{LOC_FILE} rule {index} ({chosen['location']})", origin=origin,
                               raw=json.dumps(chosen, ensure_ascii=False))
    return decls, issues + more


# ---------------------------------------------------------------------------------------------------------
# TDM policies (ODRL Offers, TDMRep profile)


def is_policy(doc: Any) -> bool:
    if not isinstance(doc, Mapping):
        return False
    ctx = doc.get("@context")
    ctx_list = ctx if isinstance(ctx, list) else [ctx]
    return doc.get("profile") == PROFILE or any(isinstance(c, str) and "tdmrep" in c for c in ctx_list)


def policy_declarations(doc: Any, *, origin: str | None, raw: str,
                        where: str = LOC_POLICY) -> tuple[list[dict[str, Any]], list[Issue]]:
    """req-tdmrep-policy: a TDM policy is an ODRL Offer of the rights holder: each permission of ``tdm:mine``
    becomes a permission of ``data-mining`` with its duties as obligations (``obtainConsent`` ->
    ``contact-rights-holder``, ``compensate`` -> ``compensate``) and its purpose constraint as purpose
    (``tdm:research`` -> ``research``, ``tdm:non-research`` -> ``commercial``). An Offer is a proposal, so a
    permission without duties still carries ``contact-rights-holder``. A permission with anything else that
    cannot be expressed is dropped (fail closed); an invalid policy gives no rule."""
    issues: list[Issue] = []
    if not isinstance(doc, Mapping):
        return [], [_web.issue("tdmrep-policy-invalid", _web.WARNING, f"{where}: not a JSON object; ignored")]
    uid = doc.get("uid") if isinstance(doc.get("uid"), str) else None
    label = f"{where} {uid}" if uid else where
    kind = doc.get("@type", doc.get("type"))
    problems = []
    if _name(kind) != "Offer":
        problems.append(f"@type is {kind!r}, not Offer")
    if doc.get("profile") != PROFILE:
        problems.append(f"profile is {doc.get('profile')!r}, not {PROFILE}")
    if not uid:
        problems.append("uid is missing")
    perms = doc.get("permission")
    if not isinstance(perms, list) or not perms:
        problems.append("it has no permission array")
    if problems:
        issues.append(_web.issue("tdmrep-policy-invalid", _web.WARNING,
                                 f"{label}: not a valid TDM policy ({'; '.join(problems)}); it grants nothing"))
        return [], issues
    assert isinstance(perms, list)
    rules: list[dict[str, Any]] = []
    for pi, perm in enumerate(perms):
        got = _permission(perm, f"{label} permission {pi}", issues)
        if got is not None:
            rules.append(got)
    for key in ("prohibition", "obligation"):
        for pi, item in enumerate(doc.get(key) or ()):
            if key == "prohibition" and isinstance(item, Mapping) and _name(item.get("action")) == "mine":
                rules.append(_web.rule("prohibit", "data-mining"))
                issues.append(_web.issue("tdmrep-policy-invalid", _web.WARNING,
                                         f"{label} {key} {pi}: a TDM policy SHOULD NOT prohibit; honoured as a "
                                         "prohibition of data-mining"))
            else:
                issues.append(_web.issue("tdmrep-unsupported-constraint", _web.WARNING,
                                         f"{label} {key} {pi}: not expressible; ignored"))
    if not rules:
        return [], issues
    by: dict[str, Any] = {"role": "rights-holder"}
    assigner = doc.get("assigner")
    a_uid = assigner.get("uid") if isinstance(assigner, Mapping) else assigner
    if isinstance(a_uid, str) and a_uid:
        by["id"] = a_uid
    elif origin:
        by["id"] = origin
    if isinstance(assigner, Mapping) and isinstance(assigner.get("vcard:fn"), str):
        by["name"] = assigner["vcard:fn"]
    decl = _web.declaration(_web.dedupe_rules(rules), signal=_web.TDMREP, version=VERSION, location=label, raw=raw)
    decl["declaredBy"] = by
    return [decl], issues


def _permission(perm: Any, where: str, issues: list[Issue]) -> dict[str, Any] | None:
    if not isinstance(perm, Mapping):
        issues.append(_web.issue("tdmrep-policy-invalid", _web.WARNING, f"{where}: not an object; dropped"))
        return None
    if _name(perm.get("action")) != "mine":
        issues.append(_web.issue("tdmrep-policy-invalid", _web.WARNING,
                                 f"{where}: action {perm.get('action')!r} is not tdm:mine; dropped"))
        return None
    duties: set[str] = set()
    for duty in _as_list(perm.get("duty")):
        name = _name(duty.get("action")) if isinstance(duty, Mapping) else _name(duty)
        if name not in _DUTIES or (isinstance(duty, Mapping) and duty.get("constraint")):
            issues.append(_web.issue("tdmrep-unsupported-constraint", _web.WARNING,
                                     f"{where}: duty {name or duty!r} cannot be expressed; the permission is dropped"))
            return None
        duties.add(_DUTIES[name])
    purposes: list[str] = []
    for c in _as_list(perm.get("constraint")):
        left = _name(c.get("leftOperand")) if isinstance(c, Mapping) else None
        op = _name(c.get("operator")) if isinstance(c, Mapping) else None
        right = _name(c.get("rightOperand")) if isinstance(c, Mapping) else None
        if left == "purpose" and op == "eq" and right in _PURPOSES:
            purposes.append(_PURPOSES[right])
            if right == "non-research":
                issues.append(_web.issue(
                    "tdmrep-lossy-purpose", _web.INFO,
                    f"{where}: tdm:non-research is read as purpose commercial, which is narrower (it leaves out "
                    "non-commercial purposes that are not research)"))
            continue
        issues.append(_web.issue("tdmrep-unsupported-constraint", _web.WARNING,
                                 f"{where}: constraint {left} {op} {right} cannot be expressed; the permission is "
                                 "dropped"))
        return None
    if len(set(purposes)) > 1:
        issues.append(_web.issue("tdmrep-unsupported-constraint", _web.WARNING,
                                 f"{where}: contradictory purpose constraints; the permission is dropped"))
        return None
    if not duties:
        duties.add("contact-rights-holder")
    return _web.rule("permit", "data-mining", purpose=sorted(set(purposes)), duties=duties)


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, list) else [value]


# ---------------------------------------------------------------------------------------------------------
# Layered override across TDMRep sources


def layer_of(decl: Mapping[str, Any]) -> int | None:
    src = decl.get("source")
    if not isinstance(src, Mapping) or src.get("signal") != _web.TDMREP:
        return None
    loc = str(src.get("location", ""))
    for prefix, layer in LAYERS.items():
        if loc.startswith(prefix):
            return layer
    return 0 if loc.startswith(LOC_POLICY) else None


def combine(decls: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], list[Issue]]:
    """req-tdmrep-layers: among TDMRep reservations about the same content, the highest layer present decides
    (tdmrep.json < HTTP header < HTML meta < EPUB/PDF metadata); a layer without a valid reservation resets
    nothing. TDM policies apply only to a reservation of 1: with an Offer without purpose constraint the offer
    replaces the reservation's prohibition (the use is licensable under its duties); with purpose-constrained
    offers the prohibition stays for every other purpose. Non-TDMRep declarations are untouched."""
    issues: list[Issue] = []
    layered = [(i, layer_of(d)) for i, d in enumerate(decls)]
    reservations = [(i, lay) for i, lay in layered if lay]
    policies = [i for i, lay in layered if lay == 0]
    drop: set[int] = set()
    if reservations:
        top = max(lay for _, lay in reservations)
        for i, lay in reservations:
            if lay < top:
                drop.add(i)
                issues.append(_web.issue(
                    "tdmrep-superseded", _web.WARNING,
                    f"{decls[i]['source']['location']} is superseded by a later TDMRep layer "
                    f"({_layer_name(top)}); rights holders SHOULD use only one technique"))
        winners = [i for i, lay in reservations if lay == top]
        reserved = [i for i in winners if any(r.get("effect") == "prohibit" for r in decls[i]["rules"])]
        if policies and not reserved:
            for p in policies:
                drop.add(p)
                issues.append(_web.issue("tdmrep-policy-ignored", _web.INFO,
                                         f"{decls[p]['source']['location']}: the reservation is 0, so the TDM policy "
                                         "is not processed"))
        elif policies:
            offer_rules = [r for p in policies for r in decls[p]["rules"] if r.get("effect") == "permit"]
            unconstrained = any(not r.get("purpose") for r in offer_rules)
            names = ", ".join(str(decls[p]["source"]["location"]) for p in policies)
            for i in reserved:
                d = decls[i]
                kept = [r for r in d["rules"] if not (unconstrained and r == {"effect": "prohibit",
                                                                               "use": "data-mining"})]
                merged = dict(d)
                merged["rules"] = _web.dedupe_rules([*kept, *(r for p in policies for r in decls[p]["rules"])])
                merged["source"] = {**d["source"], "location": f"{d['source']['location']} + {names}",
                                    "raw": f"{d['source']['raw']} + {names}"}
                decls = [*decls[:i], merged, *decls[i + 1:]]
            drop.update(policies)
    return [d for i, d in enumerate(decls) if i not in drop], issues


def _layer_name(layer: int) -> str:
    return {v: k for k, v in LAYERS.items()}[layer]


# ---------------------------------------------------------------------------------------------------------
# Importer


def detect(name: str, head: bytes) -> bool:
    if not _web.is_text(head):
        return False
    base = name.replace("\\", "/").rsplit("/", 1)[-1].lower()
    if base == "tdmrep.json" or base.endswith(".tdmrep.json"):
        return True
    text = head.lstrip()
    if text[:1] == b"[":
        return b'"location"' in head and b"tdm-reservation" in head
    if text[:1] == b"{":
        return b"tdmrep" in head and (b'"permission"' in head or b'"tdmrep.json"' in head or b"Offer" in head
                                      or b"/ns/tdmrep.jsonld" in head)
    return False


def import_bytes(data: bytes, *, source_name: str, url: str | None = None, user_agent: str | None = None,
                 observed: str | None = None) -> ImportResult:
    """tdmrep.json (an array of rules), a TDM policy (an ODRL Offer), or the exporter's bundle of both.

    security#req-limits: a document over 16 MiB is not parsed: ``limit-input-size`` and no declaration."""
    from aiterms.limits import MAX_DOCUMENT_BYTES, check_json_depth, check_size

    too_big = check_size(len(data), MAX_DOCUMENT_BYTES, what=source_name)
    if too_big is not None:
        return ImportResult({}, (too_big,))
    origin, bad = _web.check_url(url)
    if bad:
        return ImportResult({}, (bad,))
    deep = check_json_depth(data)
    if deep is not None:
        return ImportResult({}, (deep,))
    try:
        doc = json.loads(data.decode("utf-8-sig"))
    except (ValueError, RecursionError) as exc:  # UnicodeDecodeError, JSONDecodeError, integers over 4,300 digits
        line = getattr(exc, "lineno", None)
        code = "tdmrep-policy-invalid" if data.lstrip()[:1] == b"{" else "tdmrep-json-invalid"
        return ImportResult({}, (_web.issue(code, _web.WARNING,
                                            f"{source_name}: not valid JSON ({exc}); nothing is read", line=line),))
    decls: list[dict[str, Any]] = []
    issues: list[Issue] = []
    if isinstance(doc, list):
        decls, issues = _import_file(doc, url=url, origin=origin)
    elif isinstance(doc, Mapping) and "tdmrep.json" in doc:
        decls, issues = _import_file(doc["tdmrep.json"], url=url, origin=origin)
        pol = doc.get("tdm-policy.json")
        if pol is not None:
            more, found = policy_declarations(pol, origin=origin, raw=json.dumps(pol, separators=(",", ":")))
            decls.extend(more)
            issues.extend(found)
        decls, found = combine(decls)
        issues.extend(found)
    elif is_policy(doc):
        decls, issues = policy_declarations(doc, origin=origin, raw=data.decode("utf-8", "replace").strip())
    else:
        issues.append(_web.issue("tdmrep-json-invalid", _web.WARNING,
                                 f"{source_name}: neither a tdmrep.json array nor a TDM policy; nothing is read"))
    record: dict[str, Any] = {"declarations": decls} if decls else {}
    if decls and url:
        record["contentUrl"] = url.strip()
    return ImportResult(record, tuple(issues))


# ---------------------------------------------------------------------------------------------------------
# Exporter


def export(record: dict[str, Any]) -> ExportResult:
    """req-tdmrep-export: TDMRep carries one boolean for all of data mining plus an Offer. ``data-mining``
    allowed -> ``0``; notAllowed -> ``1`` (with a research-only Offer when research is permitted); constrained
    -> ``1`` with an Offer whose duties are the obligations; unspecified with a narrower use prohibited -> ``1``
    (broader than the record, warned). The location is the path of ``contentUrl`` (``/`` without one)."""
    from urllib.parse import urlsplit

    from aiterms.interop import aipref

    issues: list[Issue] = []
    content_url = record.get("contentUrl") if isinstance(record.get("contentUrl"), str) else None
    location = "/"
    base: str | None = None
    if content_url is not None:
        base, bad = _web.check_url(content_url)
        if base and not bad:
            location = _web.normalize_path(urlsplit(content_url.strip()).path or "/").decode("ascii")
    record_id = record.get("id")
    if base is None and isinstance(record_id, str):
        base, _bad = _web.check_url(record_id)
    outcome, obligations = _web.decide(record, "data-mining")
    res: int | None = None
    perms: list[dict[str, Any]] = []
    if outcome == "allowed":
        res = 0
    elif outcome == "constrained":
        res = 1
        perms.append(_offer_permission(obligations, None, issues))
        if not obligations:
            issues.append(_web.issue(
                "export-not-expressible", _web.WARNING,
                "data-mining is permitted except for narrower uses the record prohibits; TDMRep cannot exclude uses, "
                "so the offer requires contacting the rights holder (obtainConsent)"))
    elif outcome == "notAllowed":
        res = 1
        r_out, r_obl = _web.decide(record, "data-mining", purpose="research")
        if r_out in ("allowed", "constrained"):
            perms.append(_offer_permission(r_obl, "research", issues))
    elif _narrower_prohibited(record):
        res = 1
        issues.append(_web.issue(
            "export-broadened", _web.WARNING,
            "the record prohibits only some data-mining uses; TDMRep reserves all text and data mining or none, "
            "so tdm-reservation 1 reserves more than the record does"))
    issues.extend(aipref.not_expressible(record, {"data-mining"}, "TDMRep"))
    if res is None:
        issues.append(_web.issue("export-not-expressible", _web.WARNING,
                                 "the record decides nothing about data mining; the tdmrep.json array is empty"))
        return ExportResult(b"[]\n", "application/json", tuple(issues))
    rule: dict[str, Any] = {"location": location, "tdm-reservation": res}
    if not perms:
        return ExportResult((json.dumps([rule], indent=2) + "\n").encode(), "application/json", tuple(issues))
    if base is None:
        base = "https://example.invalid"
        issues.append(_web.issue("export-not-expressible", _web.WARNING,
                                 "the record has no http(s) contentUrl or id; the policy URL is a placeholder to "
                                 "replace with where the policy is published"))
    uid = base + "/tdm-policy.json"
    rule["tdm-policy"] = uid
    policy = {"@context": CONTEXT, "@type": "Offer", "profile": PROFILE, "uid": uid,
              "assigner": {"uid": base}, "permission": perms}
    bundle = {"tdmrep.json": [rule], "tdm-policy.json": policy}
    return ExportResult((json.dumps(bundle, indent=2) + "\n").encode(), "application/json", tuple(issues))


def _offer_permission(obligations: Sequence[str], purpose: str | None, issues: list[Issue]) -> dict[str, Any]:
    duties: list[dict[str, str]] = []
    names: set[str] = set()
    for o in obligations:
        if o == "compensate":
            names.add("compensate")
        elif o == "contact-rights-holder":
            names.add("obtainConsent")
        else:
            names.add("obtainConsent")
            issues.append(_web.issue("export-not-expressible", _web.WARNING,
                                     f"TDMRep has no duty for {o}; the offer requires contacting the rights holder "
                                     "instead (obtainConsent)"))
    if not names:
        names.add("obtainConsent")
    duties = [{"action": n} for n in sorted(names)]
    perm: dict[str, Any] = {"action": "tdm:mine", "duty": duties}
    if purpose == "research":
        perm["constraint"] = [{"leftOperand": "purpose", "operator": "eq", "rightOperand": "tdm:research"}]
    return perm


def _narrower_prohibited(record: Mapping[str, Any]) -> bool:
    """Whether some use narrower than data-mining comes out notAllowed (rules and registered tags alike)."""
    return any(_web.decide(record, u)[0] == "notAllowed" for u in _web.uses_under("data-mining"))
