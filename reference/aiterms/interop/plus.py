"""The PLUS Data Mining vocabulary (IPTC Photo Metadata 2023.1) both ways (spec/interop-xmp.md, spec/embedding.md).

Reading: :func:`classify` turns a raw ``plus:DataMining`` value into the rules it may be read as. Only the exact
standard URI of a value yields a permission; every non-standard, legacy or withdrawn form yields at most the
prohibitions of the value it resembles, with a coded warning (req-plus-fail-closed).

Writing: :func:`collapse` picks the one PLUS value that stands for a record -- the first value, in the order
``DMI-PROHIBITED``, ``…-EXCEPTSEARCHENGINEINDEXING``, ``…-SEECONSTRAINT``, ``…-AIMLTRAINING``,
``…-GENAIMLTRAINING``, ``DMI-ALLOWED``, ``DMI-UNSPECIFIED``, whose every claim holds in the record
(req-plus-collapse) -- and :func:`summary` writes the readable ``plus:OtherConstraints`` text.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cache
from typing import Any

from aiterms.interop.containers import coded, register_codes
from aiterms.report import Issue, Severity

BASE = "http://ns.useplus.org/ldf/vocab/"
VERSION = "IPTC PMD 2023.1"
WITHDRAWN_VERSION = "PLUS public-comment draft 2023 (withdrawn value)"
NONSTANDARD_VERSION = "non-standard (not a PLUS Data Mining value)"

UNSPECIFIED = "DMI-UNSPECIFIED"
ALLOWED = "DMI-ALLOWED"
AIML = "DMI-PROHIBITED-AIMLTRAINING"
GENAIML = "DMI-PROHIBITED-GENAIMLTRAINING"
EXCEPT_SEARCH = "DMI-PROHIBITED-EXCEPTSEARCHENGINEINDEXING"
PROHIBITED = "DMI-PROHIBITED"
SEE_CONSTRAINT = "DMI-PROHIBITED-SEECONSTRAINT"
SEE_EMBEDDED = "DMI-PROHIBITED-SEEEMBEDDEDRIGHTSEXPR"
SEE_LINKED = "DMI-PROHIBITED-SEELINKEDRIGHTSEXPR"

#: req-plus-import-rules: the rules each of the nine standard values is read as (standards.md section 2 and 12).
RULES: Mapping[str, tuple[tuple[str, str], ...]] = {
    UNSPECIFIED: (),
    ALLOWED: (("permit", "data-mining"),),
    AIML: (("prohibit", "ai-training"),),
    GENAIML: (("prohibit", "genai-training"),),
    EXCEPT_SEARCH: (("prohibit", "data-mining"), ("permit", "search-indexing")),
    PROHIBITED: (("prohibit", "data-mining"),),
    SEE_CONSTRAINT: (("prohibit", "data-mining"),),
    SEE_EMBEDDED: (("prohibit", "data-mining"),),
    SEE_LINKED: (("prohibit", "data-mining"),),
}
CODES = tuple(RULES)

#: Misspellings and invented codes seen in public code, and the standard value each resembles.
NONSTANDARD: Mapping[str, str] = {
    "DMI-PROHIBITED-AITRAINING": AIML,
    "DMI-PROHIBITED-AIMLTRAINNING": AIML,
    "DMI-PROHIBITED-AIGENAI": GENAIML,
    "DMI-PROHIBITED-GENAITRAINING": GENAIML,
    "DMI-PROHIBITED-EXCEPTSEARCHINDEXING": EXCEPT_SEARCH,
    "DMI-PROHIBITED-EXCEPTSEARCHENGINE": EXCEPT_SEARCH,
}
#: Values of the 2023 public-comment draft that did not make the final list, and their final counterparts.
WITHDRAWN: Mapping[str, str] = {
    "DMI-ALLOWED-NOAITRAINING": AIML,
    "DMI-ALLOWED-NOAIGENTRAINING": GENAIML,
    "DMI-SEE-CONSTRAINT": SEE_CONSTRAINT,
    "DMI-SEE-EMBEDDEDRIGHTSEXPR": SEE_EMBEDDED,
    "DMI-SEE-LINKEDRIGHTSEXPR": SEE_LINKED,
}

# --- codes (home: spec/interop-xmp.md) ------------------------------------------------------------------------------
PLUS_NONSTANDARD = "plus-value-nonstandard"
PLUS_WITHDRAWN = "plus-value-withdrawn"
PLUS_UNKNOWN = "plus-value-unknown"
PLUS_EXPORT_LOSSY = "plus-export-lossy"
register_codes({PLUS_NONSTANDARD: Severity.WARNING, PLUS_WITHDRAWN: Severity.WARNING,
                PLUS_UNKNOWN: Severity.WARNING, PLUS_EXPORT_LOSSY: Severity.WARNING})


@dataclass(frozen=True, slots=True)
class PlusValue:
    """A raw value as read: the standard value it stands for (``code``), how it was written (``status``: standard,
    nonstandard, withdrawn or unknown), the rules to import and the warning, if any."""

    raw: str
    code: str | None
    status: str
    rules: tuple[tuple[str, str], ...]
    issue: Issue | None = None

    @property
    def version(self) -> str:
        return {"standard": VERSION, "withdrawn": WITHDRAWN_VERSION}.get(self.status, NONSTANDARD_VERSION)


def _prohibitions(code: str) -> tuple[tuple[str, str], ...]:
    return tuple(r for r in RULES[code] if r[0] == "prohibit")


def classify(raw: str, *, where: str = "plus:DataMining", path: str = "") -> PlusValue:
    """req-plus-fail-closed: a value other than one of the nine standard URIs MUST NOT be read as a permission.

    The standard URI gives the value's rules. A bare code, another base URI, another letter case, a known
    misspelling or a withdrawn draft value gives only the prohibitions of the value it resembles, with
    ``plus-value-nonstandard`` or ``plus-value-withdrawn``; anything else gives no rule and ``plus-value-unknown``.
    """
    text = raw.strip()
    if text.startswith(BASE) and text[len(BASE):] in RULES:
        code = text[len(BASE):]
        return PlusValue(raw, code, "standard", RULES[code])
    token = re.split(r"[/#]", text.rstrip("/"))[-1].strip().upper().replace("_", "-")
    candidates = (token, f"DMI-{token}")
    shown = _quote(raw)
    for t in candidates:
        if t in RULES or t in NONSTANDARD:
            code = t if t in RULES else NONSTANDARD[t]
            rules = _prohibitions(code)
            dropped = " (its permission is not taken)" if any(e == "permit" for e, _ in RULES[code]) else ""
            msg = (f"{where} value {shown} is not a standard PLUS Data Mining URI; read as the prohibitions of "
                   f"{code}{dropped}" if rules else
                   f"{where} value {shown} is not a standard PLUS Data Mining URI; nothing is read from it{dropped}")
            return PlusValue(raw, code, "nonstandard", rules, coded(PLUS_NONSTANDARD, msg, path, value=raw))
    for t in candidates:
        if t in WITHDRAWN:
            code = WITHDRAWN[t]
            msg = (f"{where} value {shown} is a withdrawn draft value; read as the prohibitions of {code}, "
                   "no permission is taken")
            return PlusValue(raw, code, "withdrawn", _prohibitions(code), coded(PLUS_WITHDRAWN, msg, path, value=raw))
    return PlusValue(raw, None, "unknown", (), coded(
        PLUS_UNKNOWN, f"{where} value {shown} is not a PLUS Data Mining value; nothing is read from it", path,
        value=raw))


def _quote(value: object) -> str:
    from aiterms.limits import bounded

    return repr(bounded(value))


# --- the use hierarchy -----------------------------------------------------------------------------------------------
@cache
def hierarchy() -> Mapping[str, frozenset[str]]:
    """Every use id and its ancestors (itself included), from the bundled vocabulary."""
    from aiterms.vocab import Vocabulary

    vocabulary = Vocabulary.bundled()
    out = {u: vocabulary.ancestors(u) for u in vocabulary.uses}
    return out


def _ancestors(use: str) -> frozenset[str]:
    return hierarchy().get(use, frozenset({use}))


def _descendants(use: str) -> frozenset[str]:
    return frozenset(u for u, anc in hierarchy().items() if use in anc) | {use}


def _depth(use: str) -> int:
    return len(_ancestors(use))


# --- statements of a record, as the collapse sees them ---------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Statement:
    party: tuple[str, ...]
    role: str
    effect: str
    use: str
    dims: int  # constrained dimensions: purpose, actor, jurisdiction, a rule-level time window
    duties: tuple[str, ...]
    unconditional: bool  # no dimension, no end, in force now
    in_force: bool  # declaration and rule in force now (spec/resolution.md#alg-in-force)
    order: datetime | None  # issued, else effectiveFrom, of its declaration (for supersession)
    index: int  # declaration index
    text: str = field(compare=False, default="")


def _instant(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        from aiterms.model import parse_instant

        return parse_instant(value)
    except (ValueError, TypeError):
        return None


def statements(record: Mapping[str, Any], *, at: datetime | None = None) -> list[Statement]:
    """The statements the collapse weighs: every rule, consent entry and registered tag of the record."""
    now = at or datetime.now(UTC)
    out: list[Statement] = []
    decls = record.get("declarations")
    for di, d in enumerate(decls if isinstance(decls, list) else ()):
        if not isinstance(d, dict):
            continue
        by_raw = d.get("declaredBy")
        by: dict[str, Any] = by_raw if isinstance(by_raw, dict) else {}
        role = str(by.get("role", ""))
        party = (role, str(by["id"])) if by.get("id") else (role, f"#{di}")
        issued, eff = _instant(d.get("issued")), _instant(d.get("effectiveFrom"))
        starts = [t for t in (issued, eff) if t is not None]
        start = max(starts) if starts else None
        open_decl = d.get("until") is None and (start is None or start <= now)
        order = issued or eff
        for r in d.get("rules") or ():
            if not isinstance(r, dict) or r.get("effect") not in ("permit", "prohibit") or not isinstance(
                    r.get("use"), str):
                continue
            dims = sum(1 for k in ("purpose", "actor", "jurisdiction") if r.get(k)) + (
                1 if r.get("from") or r.get("until") else 0)
            rule_open = r.get("until") is None and (_instant(r.get("from")) or now) <= now
            out.append(Statement(party, role, r["effect"], r["use"], dims, tuple(r.get("duties") or ()),
                                 dims == 0 and open_decl and rule_open, _in_force(d, r, now), order, di,
                                 _rule_text(r)))
        for c in d.get("consent") or ():
            if isinstance(c, dict) and isinstance(c.get("use"), str) and c.get("status") in ("given", "refused"):
                effect = "permit" if c["status"] == "given" else "prohibit"
                out.append(Statement(party, role or "depicted-person", effect, c["use"], 0, (), open_decl,
                                     _in_force(d, {}, now), order, di, f"consent {c['status']} for {c['use']}"))
    owner = record.get("owner")
    tag_party = ("rights-holder", str(owner)) if owner else ("rights-holder", "#tags")
    for effect, use, tag in _tag_rules(record.get("tags")):
        out.append(Statement(tag_party, "rights-holder", effect, use, 0, (), True, True, None, -1,
                             f"tag {tag!r}: {effect} {use}"))
    return out


def _in_force(d: Mapping[str, Any], r: Mapping[str, Any], now: datetime) -> bool:
    starts = [t for t in (_instant(d.get("issued")), _instant(d.get("effectiveFrom")), _instant(r.get("from")))
              if t is not None]
    ends = [t for t in (_instant(d.get("until")), _instant(r.get("until"))) if t is not None]
    return all(t <= now for t in starts) and all(now < t for t in ends)


def _tag_rules(tags: Any) -> Iterable[tuple[str, str, str]]:
    if not isinstance(tags, list) or not tags:
        return ()
    try:
        from aiterms.vocab import Registry

        registry = Registry.bundled()
    except Exception:  # no registry: tags count as an unknown statement (see collapse)
        return [("unknown", "data-mining", str(t)) for t in tags]
    out = []
    for t in tags:
        match = registry.lookup(str(t))
        if match.entry is not None:
            for r in match.entry.rules:
                if isinstance(r, Mapping) and r.get("effect") in ("permit", "prohibit") and r.get("use"):
                    out.append((str(r["effect"]), str(r["use"]), str(t)))
    return out


def _superseded(s: Statement, stmts: list[Statement]) -> bool:
    """spec/resolution.md#alg-supersede: a newer declaration of the same identified party covering s.use."""
    if s.order is None or s.party[1].startswith("#") or s.index < 0:
        return False
    return any(o.party == s.party and o.order is not None and o.order > s.order and o.in_force
               and s.use in _descendants(o.use) for o in stmts)


def prohibited_everywhere(v: str, stmts: list[Statement]) -> bool:
    """Every query about use ``v`` gets a prohibition from a rights holder (so a value may claim it)."""
    for s in stmts:
        if (s.role == "rights-holder" and s.effect == "prohibit" and s.unconditional and s.use in _ancestors(v)
                and not _superseded(s, stmts)):
            beaten = any(
                p.party == s.party and p.effect == "permit" and p.use in _ancestors(v)
                and ((s.use in _ancestors(p.use) and p.use != s.use) or (p.use == s.use and p.dims > 0))
                and not _superseded(p, stmts)
                for p in stmts)
            if not beaten:
                return True
    return False


def allowed_everywhere(v: str, stmts: list[Statement], record: Mapping[str, Any]) -> bool:
    """Every query about use ``v`` gets a plain permission (no duties, no exclusion, no consent needed)."""
    covering, narrower = _ancestors(v), _descendants(v) - {v}
    if any(s.effect not in ("permit", "prohibit") for s in stmts):
        return False  # tags that could not be looked up
    if "biometric" in covering and record.get("depictedPersons") != 0:
        return False  # consent cannot be established (spec/resolution.md#alg-consent)
    plain = [p for p in stmts if p.role == "rights-holder" and p.effect == "permit" and p.unconditional
             and not p.duties and p.use in covering and not _superseded(p, stmts)]
    if not plain:
        return False
    for s in stmts:
        if s.effect == "permit" and s.duties and s.use in covering | narrower:
            return False  # duties would make it constrained
        if s.effect != "prohibit" or (s.role == "rights-holder" and _superseded(s, stmts)):
            continue
        if s.role != "rights-holder" or s.use in narrower:
            return False  # a refusal, or a narrower exclusion (spec/resolution.md#alg-narrower)
        if s.use in covering and not any(p.party == s.party and p.use != s.use and s.use in _ancestors(p.use)
                                         for p in plain):
            return False  # a prohibition no more specific permission of the same party sets aside
    return True


#: What each value claims: (effect, use, except-use). Checked for the use and every narrower use.
CLAIMS: Mapping[str, tuple[tuple[str, str, str | None], ...]] = {
    PROHIBITED: (("prohibit", "data-mining", None),),
    EXCEPT_SEARCH: (("prohibit", "data-mining", "search-indexing"), ("permit", "search-indexing", None)),
    SEE_CONSTRAINT: (("prohibit-use", "data-mining", None),),
    AIML: (("prohibit", "ai-training", None),),
    GENAIML: (("prohibit", "genai-training", None),),
    ALLOWED: (("permit", "data-mining", None),),
    UNSPECIFIED: (),
}
ORDER = (PROHIBITED, EXCEPT_SEARCH, SEE_CONSTRAINT, AIML, GENAIML, ALLOWED, UNSPECIFIED)


def _claim_holds(claim: tuple[str, str, str | None], stmts: list[Statement], record: Mapping[str, Any]) -> bool:
    effect, use, excluded = claim
    if effect == "prohibit-use":
        return prohibited_everywhere(use, stmts)
    uses = _descendants(use) - (_descendants(excluded) if excluded else frozenset())
    if effect == "prohibit":
        return all(prohibited_everywhere(v, stmts) for v in uses)
    return all(allowed_everywhere(v, stmts, record) for v in uses)


@dataclass(frozen=True, slots=True)
class Collapse:
    code: str
    lossy: tuple[str, ...]
    issues: tuple[Issue, ...]

    @property
    def uri(self) -> str:
        return BASE + self.code


def collapse(record: Mapping[str, Any], *, at: datetime | None = None) -> Collapse:
    """req-plus-collapse: the PLUS value written for a record is the first value, in the order PROHIBITED,
    EXCEPTSEARCHENGINEINDEXING, SEECONSTRAINT, AIMLTRAINING, GENAIMLTRAINING, ALLOWED, UNSPECIFIED, whose every
    claim holds in the record; what the value cannot say is reported as ``plus-export-lossy``."""
    stmts = statements(record, at=at)
    code = next(c for c in ORDER if all(_claim_holds(cl, stmts, record) for cl in CLAIMS[c]))
    plus_stmts = [Statement(("rights-holder", "plus"), "rights-holder", e, u, 0, (), True, True, None, 0)
                  for e, u in RULES[code]]
    lost: list[str] = []
    for v in sorted(hierarchy()):
        mine = (prohibited_everywhere(v, stmts), allowed_everywhere(v, stmts, record))
        theirs = (prohibited_everywhere(v, plus_stmts), allowed_everywhere(v, plus_stmts, {"depictedPersons": 0}))
        if mine != theirs:
            lost.append(v)
    lost.extend(sorted({s.text for s in stmts if s.text and (not s.unconditional or s.duties
                                                             or s.role != "rights-holder")}))
    issues: tuple[Issue, ...] = ()
    if lost:
        issues = (coded(PLUS_EXPORT_LOSSY, f"plus:DataMining {code} cannot say everything the record says "
                        f"(uses or statements: {', '.join(lost[:12])}{' …' if len(lost) > 12 else ''}); the full "
                        "record travels in aiterms:record and a summary in plus:OtherConstraints", value=lost),)
    return Collapse(code, tuple(lost), issues)


def _rule_text(r: Mapping[str, Any]) -> str:
    parts = [("permitted" if r.get("effect") == "permit" else "prohibited") + f": {r.get('use')}"]
    for key, label in (("purpose", "purpose"), ("actor", "actor"), ("jurisdiction", "in")):
        if r.get(key):
            parts.append(f"{label} {', '.join(str(x) for x in r[key])}")
    if r.get("from"):
        parts.append(f"from {r['from']}")
    if r.get("until"):
        parts.append(f"until {r['until']}")
    if r.get("duties"):
        parts.append(f"duties {', '.join(str(x) for x in r['duties'])}")
    return parts[0] + (f" ({'; '.join(parts[1:])})" if len(parts) > 1 else "")


def summary(record: Mapping[str, Any], code: str) -> str:
    """req-plus-summary: the readable text written to plus:OtherConstraints (deterministic, one line)."""
    chunks: list[str] = []
    decls = record.get("declarations")
    for d in decls if isinstance(decls, list) else ():
        if not isinstance(d, dict):
            continue
        by_raw = d.get("declaredBy")
        by: dict[str, Any] = by_raw if isinstance(by_raw, dict) else {}
        who = str(by.get("role", "party"))
        name = by.get("name") or by.get("id")
        if name:
            who += f" {name}"
        items = [_rule_text(r) for r in d.get("rules") or () if isinstance(r, dict)]
        items += [f"consent {c.get('status')} for {c.get('use')}" for c in d.get("consent") or ()
                  if isinstance(c, dict)]
        window = [f"from {d[k]}" if k == "effectiveFrom" else f"until {d[k]}" for k in ("effectiveFrom", "until")
                  if d.get(k)]
        if items:
            chunks.append(f"{who}{' (' + ', '.join(window) + ')' if window else ''}: {'; '.join(items)}")
    tags = record.get("tags")
    if isinstance(tags, list) and tags:
        chunks.append("tags: " + ", ".join(str(t) for t in tags))
    if record.get("license"):
        chunks.append(f"license: {record['license']}")
    head = f"AI usage terms (aiterms; PLUS {code}): "
    body = " | ".join(chunks) if chunks else "no AI usage terms stated"
    return head + body + ". Full terms in aiterms:record."
