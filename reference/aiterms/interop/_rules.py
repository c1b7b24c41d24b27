"""The rule algebra shared by the ODRL, RSL and CAWG importers and exporters (spec/interop-odrl.md#rule-algebra).

Rules here are canonical-record rule objects (``{"effect", "use", "purpose"?, "actor"?, "jurisdiction"?, "from"?,
"until"?, "duties"?}``). The use hierarchy comes from the bundled vocabulary; conditions are compared the way the
resolver matches them (spec/resolution.md#alg-match), conservatively: when unsure, "covers" and "disjoint" are
False.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from functools import cache
from typing import Any

from aiterms.report import Issue, Severity, pointer


def issue(code: str, message: str, path: str = "", severity: Severity = Severity.WARNING, *,
          line: int | None = None, column: int | None = None) -> Issue:
    """An Issue with an explicit severity (the code is registered in the importer's spec section)."""
    return Issue(code, severity, message, path, line, column)


def instant_ok(value: str) -> bool:
    """``value`` is an RFC 3339 date or date-time with an offset."""
    from aiterms.model import parse_instant

    try:
        parse_instant(value)
    except ValueError:
        return False
    return True


def intersect(a: Mapping[str, Any] | None, b: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """Two condition sets that must both hold; None when they never can."""
    if a is None or b is None:
        return None
    out = dict(a)
    for k in ("purpose", "actor", "jurisdiction"):
        if k in b:
            out[k] = sorted(set(out[k]) & set(b[k])) if k in out else list(b[k])
            if not out[k]:
                return None
    if "from" in b:
        out["from"] = max(out["from"], b["from"], key=when) if "from" in out else b["from"]
    if "until" in b:
        out["until"] = min(out["until"], b["until"], key=when) if "until" in out else b["until"]
    if "from" in out and "until" in out and when(out["from"]) >= when(out["until"]):
        return None
    return out


def dedupe_rules(rules: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    seen: set[str] = set()
    out = []
    for r in rules:
        key = json.dumps(r, sort_keys=True)
        if key not in seen:
            seen.add(key)
            out.append(r)
    return out


@cache
def _broader_map() -> dict[str, tuple[str, ...]]:
    """The use hierarchy of the bundled vocabulary (its single source is vocab/aiterms.ttl)."""
    from aiterms.vocab import Vocabulary

    return {u: tuple(c.broader) for u, c in Vocabulary.bundled().uses.items()}


@cache
def use_ancestors(use: str) -> frozenset[str]:
    """The use itself and every broader use."""
    out = {use}
    stack = [use]
    broader = _broader_map()
    while stack:
        for b in broader.get(stack.pop(), ()):
            if b not in out:
                out.add(b)
                stack.append(b)
    return frozenset(out)


def covers(broad: str, narrow: str) -> bool:
    """A rule on ``broad`` applies to ``narrow`` (spec/resolution.md#terms)."""
    return broad in use_ancestors(narrow)


def use_depth(use: str) -> int:
    return len(use_ancestors(use))


def known_uses() -> frozenset[str]:
    return frozenset(_broader_map())


def when(value: Any) -> Any:
    from aiterms.model import parse_instant

    return parse_instant(str(value))


def date_ok(value: Any) -> bool:
    return isinstance(value, str) and instant_ok(value)


def dimensions(rule: Mapping[str, Any]) -> int:
    """How many constraint dimensions a rule uses (spec/resolution.md#alg-specificity)."""
    return sum(1 for k in ("purpose", "actor", "jurisdiction") if rule.get(k)) + (
        1 if rule.get("from") or rule.get("until") else 0)


def _jur_within(x: str, area: str) -> bool:
    return x == area or x.startswith(area + "-")


def area_covers(a: Mapping[str, Any], b: Mapping[str, Any]) -> bool:
    """Rule ``a`` applies wherever rule ``b`` applies (conservative: False when unsure)."""
    for k in ("purpose", "actor"):
        if a.get(k) and not (b.get(k) and set(b[k]) <= set(a[k])):
            return False
    if a.get("jurisdiction") and not (b.get("jurisdiction") and all(
            any(_jur_within(x, y) for y in a["jurisdiction"]) for x in b["jurisdiction"])):
        return False
    if a.get("from") and not (b.get("from") and when(b["from"]) >= when(a["from"])):
        return False
    return not (a.get("until") and not (b.get("until") and when(b["until"]) <= when(a["until"])))


def areas_disjoint(a: Mapping[str, Any], b: Mapping[str, Any]) -> bool:
    """Rules ``a`` and ``b`` can never apply to the same use (conservative: False when unsure)."""
    for k in ("purpose", "actor"):
        if a.get(k) and b.get(k) and not set(a[k]) & set(b[k]):
            return True
    ja, jb = a.get("jurisdiction"), b.get("jurisdiction")
    if ja and jb and "EU" not in ja and "EU" not in jb and not any(
            _jur_within(x, y) or _jur_within(y, x) for x in ja for y in jb):
        return True
    if a.get("until") and b.get("from") and when(a["until"]) <= when(b["from"]):
        return True
    return bool(b.get("until") and a.get("from") and when(b["until"]) <= when(a["from"]))


def exportable_rules(record: Mapping[str, Any], code: str) -> tuple[list[tuple[str, dict[str, Any], str | None]],
                                                                  list[Issue]]:
    """req-export-rights-holder: ``(pointer, rule, declaring party id)`` for every rule of a rights-holder declaration
    (declaration dates folded into the rule) and of every registered tag (the owner's), merged into one party the
    fail-closed way (:func:`prohibitions_win`), and a ``code`` issue for every part of the record no exporter
    carries (other parties' statements, consent, the license)."""
    issues: list[Issue] = []
    out: list[tuple[str, dict[str, Any], str | None]] = []
    parties: list[str] = []
    if record.get("license"):
        issues.append(issue(code, "the record's license (and the obligations it adds) is not carried by this target",
                            "/license"))
    _tag_rules(record, out, parties)
    decls = record.get("declarations")
    for di, d in enumerate(decls if isinstance(decls, list) else []):
        if not isinstance(d, dict):
            continue
        dptr = pointer("declarations", di)
        role = (d.get("declaredBy") or {}).get("role") if isinstance(d.get("declaredBy"), dict) else None
        if d.get("consent"):
            issues.append(issue(code, "consent of depicted persons is not carried by this target", dptr + "/consent"))
        if role != "rights-holder":
            if d.get("rules"):
                issues.append(issue(code, f"rules of a {role or 'unknown'} party are not carried by this target",
                                    dptr))
            continue
        party = (d.get("declaredBy") or {}).get("id")
        start = [v for v in (d.get("issued"), d.get("effectiveFrom")) if isinstance(v, str)]
        if not all(date_ok(v) for v in (*start, d.get("until")) if v is not None):
            issues.append(issue(code, "the declaration has a date that cannot be read; not exported", dptr))
            continue
        rules = d.get("rules")
        for ri, r in enumerate(rules if isinstance(rules, list) else []):
            if not isinstance(r, dict) or r.get("effect") not in ("permit", "prohibit") or not isinstance(
                    r.get("use"), str):
                continue
            if not all(date_ok(r.get(k)) for k in ("from", "until") if r.get(k) is not None):
                issues.append(issue(code, "the rule has a date that cannot be read; not exported",
                                    dptr + pointer("rules", ri)))
                continue
            folded = intersect(_clean(r), {**({"from": max(start, key=when)} if start else {}),
                                           **({"until": d["until"]} if isinstance(d.get("until"), str) else {})})
            if folded is None:
                continue
            out.append((dptr + pointer("rules", ri), folded, party if isinstance(party, str) else None))
            parties.append(party if isinstance(party, str) and party else dptr)
    if len(set(parties)) > 1:
        out = _merge_parties(out, parties, code, issues)
    return out, issues


def _clean(r: Mapping[str, Any]) -> dict[str, Any]:
    rule: dict[str, Any] = {"effect": r["effect"], "use": r["use"]}
    for k in ("purpose", "actor", "jurisdiction", "duties"):
        values = [r[k]] if isinstance(r.get(k), str) else r.get(k)
        if isinstance(values, list | tuple) and values:
            rule[k] = sorted({str(v) for v in values})
    for k in ("from", "until"):
        if isinstance(r.get(k), str):
            rule[k] = r[k]
    return rule


def _tag_rules(record: Mapping[str, Any], out: list[tuple[str, dict[str, Any], str | None]],
               parties: list[str]) -> None:
    """Registered tags act as the owner's rules (spec/resolution.md#alg-tags); exporters state them as rules."""
    tags = record.get("tags")
    if not isinstance(tags, list) or not tags:
        return
    try:
        from aiterms.vocab import Registry

        registry = Registry.bundled()
    except (OSError, KeyError, ValueError):
        return
    for i, tag in enumerate(tags):
        match = registry.lookup(tag) if isinstance(tag, str) else None
        if match is None or match.entry is None:
            continue
        for r in match.entry.rules:
            if r.get("effect") in ("permit", "prohibit") and isinstance(r.get("use"), str):
                out.append((pointer("tags", i), _clean(r), None))
                parties.append("owner")


def _merge_parties(rules: list[tuple[str, dict[str, Any], str | None]], parties: list[str], code: str,
                   issues: list[Issue]) -> list[tuple[str, dict[str, Any], str | None]]:
    """Between rights holders a prohibition wins (spec/resolution.md#alg-authority); within one party the more
    specific statement wins. Merging several parties into one statement list must keep the first rule."""
    perms = [(p, r, party) for (p, r, _), party in zip(rules, parties, strict=True) if r["effect"] == "permit"]
    prohs = [(p, r, party) for (p, r, _), party in zip(rules, parties, strict=True) if r["effect"] == "prohibit"]
    kept, extra = prohibitions_win([(p, r) for p, r, _ in perms], [(p, r) for p, r, _ in prohs],
                                   same_party=lambda a, b: _party_of(a, perms) == _party_of(b, prohs))
    dropped = {p for p, _, _ in perms} - {p for p, _ in kept}
    for ptr in sorted(dropped):
        issues.append(issue(code, "another rights holder's prohibition overrides this permission; it is not "
                            "exported", ptr))
    by_ptr = {p: party for p, _, party in rules}
    return ([(p, r, by_ptr[p]) for p, r in kept] + [(p, r, by_ptr[p]) for p, r, _ in prohs]
            + [(p, r, by_ptr.get(p)) for p, r in extra])


def _party_of(ptr: str, items: list[tuple[str, dict[str, Any], str]]) -> str:
    return next(party for p, _, party in items if p == ptr)


Pointed = list[tuple[str, dict[str, Any]]]


def prohibitions_win(perms: Pointed, prohs: Pointed, *, same_party: Any = None) -> tuple[Pointed, Pointed]:
    """req-export-prohibitions-win: rewrite rules so that a resolver that lets the more specific statement win gives
    every prohibition precedence over every permission it overlaps (ODRL ``conflict: prohibit``; prohibitions of
    another rights holder). A narrower prohibition already wins. A broader or equal one that applies wherever the
    permission does removes it; one at least as constrained is copied onto the permission's use; otherwise the
    permission is removed (fail closed). Returns (kept permissions, added prohibitions)."""
    dropped: set[str] = set()
    extra: list[tuple[str, dict[str, Any]]] = []
    for pp, pr in perms:
        for xp, xr in prohs:
            if same_party is not None and same_party(pp, xp):
                continue
            if not covers(xr["use"], pr["use"]) or areas_disjoint(pr, xr):
                continue
            if area_covers(xr, pr) or dimensions(xr) < dimensions(pr):
                dropped.add(pp)
            else:
                extra.append((xp, {**{k: v for k, v in xr.items() if k not in ("use", "duties")}, "use": pr["use"]}))
    return [(p, r) for p, r in perms if p not in dropped], extra


def apply_conflict_strategy(perms: Pointed, prohs: Pointed, strategy: str, warn: Any, *,
                            void_path: str = "") -> list[dict[str, Any]] | None:
    """req-odrl-conflict: apply the policy's conflict strategy so that the aiterms resolver (most specific wins,
    prohibition on ties) gives the ODRL answer; ``invalid`` voids a policy with any conflict (None). ``warn(code,
    message, path)`` reports what is voided or approximated."""
    pairs = [(pp, xp, pr, xr) for pp, pr in perms for xp, xr in prohs
             if (covers(xr["use"], pr["use"]) or covers(pr["use"], xr["use"])) and not areas_disjoint(pr, xr)]
    if pairs and strategy == "invalid":
        pp, xp, pr, xr = pairs[0]
        warn("odrl-conflict-void", f"the permission of {pr['use']} ({pp}) conflicts with the prohibition of "
               f"{xr['use']} ({xp}) and the conflict strategy is 'invalid' (the ODRL default): the whole policy is "
               "void and gives no rules", void_path)
        return None
    dropped_perm: set[int] = set()
    dropped_proh: set[int] = set()
    extra: list[dict[str, Any]] = []
    for pp, xp, pr, xr in pairs:
        if strategy == "prohibit":
            if covers(pr["use"], xr["use"]) and pr["use"] != xr["use"]:
                continue  # narrower prohibition: the resolver already lets it win
            if area_covers(xr, pr):
                dropped_perm.add(id(pr))
            elif dimensions(xr) >= dimensions(pr):
                extra.append({**{k: v for k, v in xr.items() if k != "use"}, "use": pr["use"]})
            else:
                dropped_perm.add(id(pr))
                warn("odrl-conflict-approximated", f"the permission at {pp} overlaps the prohibition at {xp} "
                       "in a way aiterms cannot split exactly; the permission is not recorded (fail closed)", pp)
        else:  # perm
            if covers(xr["use"], pr["use"]) and pr["use"] != xr["use"]:
                continue  # narrower permission: the resolver already lets it win
            if area_covers(pr, xr):
                dropped_proh.add(id(xr))
            elif pr["use"] == xr["use"] and dimensions(pr) > dimensions(xr):
                continue
            else:
                warn("odrl-conflict-approximated", f"the permission at {pp} overrides the prohibition at {xp} "
                       "only in part; the prohibition is kept (fail closed)", xp)
    rules = [r for _, r in perms if id(r) not in dropped_perm] + [r for _, r in prohs if id(r) not in dropped_proh]
    return dedupe_rules(rules + extra)


def descendants(use: str) -> frozenset[str]:
    """The use itself and every narrower use."""
    return frozenset(u for u in known_uses() if covers(use, u))


def absorb_duties(kept: list[dict[str, Any]], dropped: Iterable[Mapping[str, Any]]) -> bool:
    """req-export-dropped-duties: a permission that cannot be exported may still add its duties to a use another
    permission decides (the resolver unites the duties of incomparable permissions, and a more specific one decides
    alone). Its duties are added to every exported permission whose use shares a narrower use with it (fail
    closed: more obligations). Returns whether anything changed."""
    changed = False
    for q in dropped:
        if q.get("effect") != "permit" or not q.get("duties"):
            continue
        for p in kept:
            if p["effect"] == "permit" and descendants(p["use"]) & descendants(str(q["use"])):
                merged = sorted(set(p.get("duties", ())) | set(q["duties"]))
                if merged != p.get("duties"):
                    p["duties"] = merged
                    changed = True
    return changed


def export_uses(rule: Mapping[str, Any], exact: Mapping[str, Any], code: str, ptr: str,
                issues: list[Issue]) -> list[str]:
    """req-export-nearest: the uses a target can state for a rule: the rule's own use when the target has a term
    for it; for a prohibition without one, the deepest broader uses the target has (it prohibits more); for a
    permission without one, nothing (it permits less). Every approximation is reported."""
    use = str(rule["use"])
    if use in exact:
        return [use]
    if rule["effect"] == "permit":
        issues.append(issue(code, f"the target has no term for {use}; the permission is not exported", ptr))
        return []
    candidates = [a for a in use_ancestors(use) if a in exact and a != use]
    if not candidates:
        issues.append(issue(code, f"the target has no term for {use} or any broader use; the prohibition is "
                             "not exported", ptr))
        return []
    deepest = max(use_depth(a) for a in candidates)
    chosen = sorted(a for a in candidates if use_depth(a) == deepest)
    issues.append(issue("export-broadened", f"the target has no term for {use}; exported as a prohibition of "
                         f"{', '.join(chosen)} (prohibits more)", ptr))
    return chosen
