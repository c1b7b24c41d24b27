"""Really Simple Licensing (RSL 1.0 XML) to and from aiterms rules (spec/interop-rsl.md).

RSL's precedence between ``<permits>`` and ``<prohibits>``, its default for unlisted usages and its rule for
several matching ``<content>`` elements are not confirmed from the RSL 1.0 text (standards.md section 6). aiterms
takes the fail-closed position everywhere: a prohibition beats a permission it overlaps, unlisted usages stay
unspecified, and several equally specific matching ``<content>`` elements combine by keeping every prohibition.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from aiterms.interop._rules import issue as _issue
from aiterms.interop._web import wildcard_match
from aiterms.interop.base import ExportResult, ImportResult
from aiterms.report import Issue, Severity

KIND = "rsl"
PRIORITY = 45
TARGET = "rsl"
MEDIA_TYPE = "application/rsl+xml"
NS = "https://rslstandard.org/rsl"

# req-rsl-usage-map: RSL 1.0 usage tokens -> aiterms uses
USAGE = {"all": "data-mining", "ai-all": "ai-use", "ai-train": "ai-training", "ai-input": "ai-inference",
         "ai-index": "ai-indexing", "search": "search-indexing"}
EXPORT_USAGE = {v: k for k, v in USAGE.items()}
# Draft-era tokens (official templates, third-party tools): (use for a prohibition, use for a permission)
DRAFT_USAGE = {"train-ai": ("ai-training", "ai-training"), "ai-use": ("ai-use", "ai-inference"),
               "ai-include": ("ai-indexing", "ai-indexing"), "ai-summarize": ("ai-inference", "ai-inference")}
USER_PURPOSE = {"commercial": "commercial", "non-commercial": "non-commercial", "education": "education",
                "personal": "personal"}
USER_ACTOR = {"government": "public-authority"}
EXPORT_USER = {**{v: k for k, v in USER_PURPOSE.items()}}
EXPORT_ACTOR = {v: k for k, v in USER_ACTOR.items()}
_GEO = re.compile(r"^(?:[A-Z]{2}(?:-[A-Z0-9]{1,3})?|EU)$")



def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _tokens(text: str | None) -> list[str]:
    return [t for t in re.split(r"[\s,]+", (text or "").strip()) if t]


def detect(name: str, head: bytes) -> bool:
    """RSL XML: the RSL namespace or an ``<rsl>`` root."""
    return b"rslstandard.org/rsl" in head or (name.lower().endswith(".xml") and b"<rsl" in head)


# ---------------------------------------------------------------------------------------------------------
# Matching <content url> (RFC 9309 style: * matches any sequence, a final $ anchors the end)

def _pattern_matches(pattern: str, path: str) -> bool:
    """req-rsl-content: ``path`` starts with ``pattern`` (``*`` any sequence, a final ``$`` anchors the end).

    The same linear-time matcher as robots.txt and tdmrep.json patterns (no regex backtracking)."""
    core = pattern.rstrip("$") + ("$" if pattern.endswith("$") else "")  # "$$" anchors once, like "$"
    return wildcard_match(core.encode("utf-8", "surrogatepass"), path.encode("utf-8", "surrogatepass"))


class _Unparsable(Exception):
    """A ``<content url>`` that is not a URL (``urlsplit`` refuses it: unbalanced ``[``, a bad IPv6 address, ...)."""


def _match_length(content_url: str, url: str | None) -> int | None:
    """req-rsl-content: the specificity of a ``<content url>`` for ``url`` (the longest matching pattern applies), or
    None when it does not match. req-rsl-unreadable: a ``<content url>`` that cannot be parsed matches nothing
    (raises :class:`_Unparsable`; the caller blocks every permission of the file, since it might have applied).
    ``url`` has passed :func:`aiterms.interop._web.check_url`."""
    if url is None:
        return 0
    target = urlsplit(url.strip())
    path = (target.path or "/") + (f"?{target.query}" if target.query else "")
    pattern = content_url.strip()
    if re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*://", pattern):
        try:
            p = urlsplit(pattern)
        except ValueError as exc:
            raise _Unparsable(str(exc)) from None
        if (p.scheme.lower(), p.netloc.lower()) != (target.scheme.lower(), target.netloc.lower()):
            return None
        pattern = (p.path or "/") + (f"?{p.query}" if p.query else "")
    if not pattern.startswith("/") and not pattern.startswith("*"):
        return None
    return len(pattern) if _pattern_matches(pattern, path) else None


# ---------------------------------------------------------------------------------------------------------
# Import

def import_bytes(data: bytes, *, source_name: str, url: str | None = None, user_agent: str | None = None,
                 observed: str | None = None) -> ImportResult:
    """req-rsl-import: the matching ``<content>`` element's licenses -> one rights-holder declaration.

    security#req-limits, req-limit-depth, req-no-entity-expansion: the file is one document, parsed through
    ``limits.safe_xml``: over 16 MiB ``limit-input-size``, elements nested deeper than 64 ``limit-nesting-depth``
    (deeper trees would also overflow the recursive serializer of ``source.raw``), a DTD (even one without
    entities), an entity or an external reference ``rsl-unreadable`` (req-rsl-import); in each case nothing is
    imported."""
    from aiterms import limits

    try:
        root = limits.safe_xml(data, max_bytes=limits.MAX_DOCUMENT_BYTES, size_code=limits.LIMIT_INPUT_SIZE,
                               what=source_name)
    except limits.LimitExceeded as exc:
        if exc.issue.code != limits.UNSAFE_XML:
            return ImportResult({}, (exc.issue,))
        # security#req-xml-safe names the construct (unsafe-xml); req-rsl-import says the file is not read
        return ImportResult({}, (exc.issue, _issue("rsl-unreadable", f"{source_name}: forbidden XML construct (a "
                                                   "DTD, an entity or an external reference); refused, never "
                                                   "expanded", line=exc.issue.line)))
    except Exception as exc:  # ParseError and decoding errors from expat
        pos = getattr(exc, "position", None)
        return ImportResult({}, (_issue("rsl-unreadable", f"{source_name}: not well-formed XML: {exc}",
                                        line=pos[0] if isinstance(pos, tuple) else None),))
    issues: list[Issue] = []
    url, bad_url = _checked_url(url)
    if bad_url is not None:
        return ImportResult({}, (bad_url,))
    if _local(root.tag) != "rsl":
        return ImportResult({}, (_issue("rsl-unreadable", f"{source_name}: the root element is <{_local(root.tag)}>, "
                                        "not <rsl>"),))
    if not root.tag.startswith("{" + NS + "}"):
        issues.append(_issue("rsl-namespace", f"<rsl> is not in the namespace {NS}; read anyway", "/rsl"))
    blocked = [False]  # req-rsl-unreadable: an element or token that cannot be read blocks every permission
    unknown = sorted({_local(c.tag) for c in root if isinstance(c.tag, str) and _local(c.tag) != "content"})
    if unknown:
        _block(blocked, issues, f"<rsl> has elements RSL 1.0 does not define ({', '.join(unknown)})", "/rsl")
    contents = [c for c in root if isinstance(c.tag, str) and _local(c.tag) == "content"]
    scored: list[tuple[int, Any, int | None]] = []
    for n, c in enumerate(contents, 1):
        try:
            scored.append((n, c, _match_length(c.get("url", ""), url)))
        except _Unparsable as exc:
            _block(blocked, issues, f"<content url={c.get('url', '')[:200]!r}> is not a URL ({exc}); it matches "
                   "nothing, but it might be the element that applies", f"/rsl/content[{n}]")
    matching = [(n, c, s) for n, c, s in scored if s is not None]
    if not matching:
        issues.append(_issue("rsl-no-match", "no <content> element" + (f" matches {url}" if url else ""), "/rsl",
                             Severity.INFO))
        return ImportResult({}, tuple(issues))
    prohibits_only = False
    if url is None and len(matching) > 1:
        issues.append(_issue("rsl-url-required", "the file has several <content> elements and no --url says which "
                             "applies; only their prohibitions are recorded (fail closed)", "/rsl"))
        prohibits_only = True
    else:
        best = max(s for _, _, s in matching)
        matching = [(n, c, s) for n, c, s in matching if s == best]
        if len(matching) > 1:
            issues.append(_issue("rsl-ambiguous-content", "several <content> elements match equally; their rules "
                                 "are combined (every prohibition kept)", "/rsl", Severity.INFO))
    rules: list[dict[str, Any]] = []
    party: dict[str, Any] = {"role": "rights-holder"}
    raws: list[str] = []
    for n, content, _ in matching:
        cpath = f"/rsl/content[{n}]"
        raws.append(_serialize(content))
        server = content.get("server")
        odd = sorted({_local(e.tag) for e in content if isinstance(e.tag, str) and _local(e.tag) not in _CONTENT})
        if odd:
            _block(blocked, issues, f"<content> has elements RSL 1.0 does not define ({', '.join(odd)})", cpath)
        for m, lic in enumerate((e for e in content if isinstance(e.tag, str) and _local(e.tag) == "license"), 1):
            rules.extend(_license(lic, f"{cpath}/license[{m}]", bool(server), prohibits_only, issues=issues,
                                  blocked=blocked))
        for el in content.iter():
            if isinstance(el.tag, str) and _local(el.tag) == "copyright":
                contact = el.get("contactUrl") or (f"mailto:{el.get('contactEmail')}" if el.get("contactEmail")
                                                   else None)
                if contact and "id" not in party:
                    party["id"] = contact
    if "id" not in party and url:
        parts = urlsplit(url)
        if parts.scheme and parts.netloc:
            party["id"] = f"{parts.scheme}://{parts.netloc}"
    if blocked[0]:
        rules = [r for r in rules if r["effect"] == "prohibit"]
    rules = _precedence(rules, issues)
    if not rules:
        return ImportResult({}, tuple(issues))
    source: dict[str, Any] = {"signal": "rsl", "version": "RSL 1.0",
                              "location": "RSL " + ", ".join(f"<content url=\"{c.get('url', '')}\">"
                                                             for _, c, _ in matching),
                              "raw": "\n".join(raws)}
    if observed:
        source["observed"] = observed
    return ImportResult({"declarations": [{"declaredBy": party, "rules": rules, "source": source}]}, tuple(issues))


def _checked_url(url: str | None) -> tuple[str | None, Issue | None]:
    """interop.md#req-web-url: the URL given for the image is an absolute http or https URL, else
    ``import-invalid-url`` and nothing is imported (a URL that cannot be split would otherwise fail later)."""
    if url is None:
        return None, None
    from aiterms.interop import _web

    _origin, bad = _web.check_url(url)
    return (None, bad) if bad is not None else (url.strip(), None)


def _serialize(el: Any) -> str:
    import xml.etree.ElementTree as ET

    return ET.tostring(el, encoding="unicode")


_PAYMENT = frozenset({"attribution", "compensate"})
BROADENED = "export-broadened"
_CONTENT = frozenset({"license", "copyright", "schema", "terms", "legal", "payment", "alternate"})
_LICENSE = frozenset({"permits", "prohibits", "payment", "legal", "copyright", "schema", "terms", "standard",
                      "custom", "amount"})


def _block(blocked: list[bool], issues: list[Issue], message: str, path: str) -> None:
    """req-rsl-unreadable: a part that cannot be read might prohibit what another part permits."""
    blocked[0] = True
    issues.append(_issue("rsl-unreadable-part", message + "; no permission is recorded (fail closed)", path))


def _license(lic: Any, path: str, server: bool, prohibits_only: bool, *, issues: list[Issue],
             blocked: list[bool]) -> list[dict[str, Any]]:
    """req-rsl-license: one ``<license>`` -> rules. Permitted usages are limited by the permitted users and
    regions; prohibited users and regions become prohibitions of the permitted usages (or of ``all``)."""
    permits: dict[str, list[str]] = {"usage": [], "user": [], "geo": []}
    prohibits: dict[str, list[str]] = {"usage": [], "user": [], "geo": []}
    duties: set[str] = set()
    for el in lic:
        if not isinstance(el.tag, str):
            continue
        name = _local(el.tag)
        if name not in _LICENSE:
            _block(blocked, issues, f"<license> has an element RSL 1.0 does not define (<{name}>)", path)
        if name in ("permits", "prohibits"):
            kind = el.get("type", "usage")
            if kind not in permits:
                if name == "prohibits":
                    _block(blocked, issues, f"<prohibits type=\"{kind}\"> is not usage, user or geo", path)
                else:
                    issues.append(_issue("rsl-unknown-token", f"<permits type=\"{kind}\"> is not usage, user or "
                                         "geo; the license's permissions are not recorded", path))
                    prohibits_only = True
                continue
            (permits if name == "permits" else prohibits)[kind].extend(_tokens(el.text))
        elif name == "payment":
            kind = (el.get("type") or "free").strip()
            if kind == "attribution":
                duties.add("attribution")
            elif kind != "free":
                duties.add("compensate")
    if server:
        duties.add("contact-rights-holder")
    rules: list[dict[str, Any]] = []
    for token in prohibits["usage"]:
        use = _usage(token, permit=False, path=path, issues=issues)
        if use:
            rules.append({"effect": "prohibit", "use": use})
        else:
            _block(blocked, issues, f"the prohibited usage {token!r} cannot be read", path)
    purposes, actors, ok_user = _users(permits["user"], path, issues)
    regions, ok_geo = _geos(permits["geo"], path, issues)
    permitted: list[str] = []
    for token in permits["usage"]:
        use = _usage(token, permit=True, path=path, issues=issues)
        if use:
            permitted.append(use)
    if permitted and not prohibits_only and ok_user and ok_geo:
        for use in permitted:
            rule: dict[str, Any] = {"effect": "permit", "use": use}
            if purposes:
                rule["purpose"] = purposes
            if actors:
                rule["actor"] = actors
            if regions:
                rule["jurisdiction"] = regions
            if duties:
                rule["duties"] = sorted(duties)
            rules.append(rule)
    elif permitted and not (ok_user and ok_geo):
        issues.append(_issue("rsl-unknown-token", "a permitted user or region cannot be expressed; the license's "
                             "permissions are not recorded", path))
    targets = permitted or ["data-mining"]
    x_purposes, x_actors, users_ok = _users(prohibits["user"], path, issues)
    x_regions, geos_ok = _geos(prohibits["geo"], path, issues)
    for use in targets:
        if not (users_ok and geos_ok):  # an unreadable prohibited user or region: prohibit for everyone
            rules.append({"effect": "prohibit", "use": use})
        if x_purposes or x_actors:
            rules.append({"effect": "prohibit", "use": use, **({"purpose": x_purposes} if x_purposes else {}),
                          **({"actor": x_actors} if x_actors else {})})
        if x_regions:
            rules.append({"effect": "prohibit", "use": use, "jurisdiction": x_regions})
    return rules


def _usage(token: str, *, permit: bool, path: str, issues: list[Issue]) -> str | None:
    key = token.strip().lower()
    if key in USAGE:
        return USAGE[key]
    if key in DRAFT_USAGE:
        use = DRAFT_USAGE[key][1 if permit else 0]
        issues.append(_issue("rsl-draft-token", f"usage token {token!r} is from an RSL draft, not RSL 1.0; read as "
                             f"{use}", path))
        return use
    issues.append(_issue("rsl-unknown-token", f"usage token {token!r} is not an RSL 1.0 usage; ignored", path))
    return None


def _users(tokens: list[str], path: str, issues: list[Issue]) -> tuple[list[str], list[str], bool]:
    purposes: set[str] = set()
    actors: set[str] = set()
    ok = True
    for t in tokens:
        key = t.lower()
        if key in USER_PURPOSE:
            purposes.add(USER_PURPOSE[key])
        elif key in USER_ACTOR:
            actors.add(USER_ACTOR[key])
        else:
            ok = False
            issues.append(_issue("rsl-unknown-token", f"user token {t!r} cannot be expressed", path))
    return sorted(purposes), sorted(actors), ok


def _geos(tokens: list[str], path: str, issues: list[Issue]) -> tuple[list[str], bool]:
    out: set[str] = set()
    ok = True
    for t in tokens:
        code = t.strip().upper()
        if _GEO.match(code):
            out.add(code)
        else:
            ok = False
            issues.append(_issue("rsl-unknown-token", f"geo token {t!r} is not an ISO 3166 code", path))
    return sorted(out), ok


def _precedence(rules: list[dict[str, Any]], issues: list[Issue]) -> list[dict[str, Any]]:
    """req-rsl-precedence: a prohibition beats every permission it covers (use and conditions).

    security#req-linear-time: identical rules (from repeated ``<content>`` or ``<license>`` elements) are merged
    first and a permission is compared only with the prohibitions of its use and broader uses; more distinct rules
    than one declaration may hold (``limit-rules``) keep only their prohibitions (fail closed), so the pairwise
    comparison runs on at most 1,000 rules."""
    from aiterms import limits
    from aiterms.interop._rules import area_covers, dedupe_rules, use_ancestors

    rules = dedupe_rules(rules)
    if len(rules) > limits.MAX_RULES:
        prohibits = [r for r in rules if r["effect"] == "prohibit"]
        issues.append(limits.limit_issue(
            limits.LIMIT_RULES, f"the matching <content> elements give {len(rules)} distinct rules, more than the "
            f"limit of {limits.MAX_RULES} for one declaration; only the prohibitions are recorded (fail closed)",
            "/rsl", value=len(rules)))
        return prohibits
    by_use: dict[str, list[dict[str, Any]]] = {}
    for x in rules:
        if x["effect"] == "prohibit":
            by_use.setdefault(x["use"], []).append(x)
    kept: list[dict[str, Any]] = []
    for r in rules:
        if r["effect"] == "permit" and any(area_covers(x, r) for use in use_ancestors(r["use"])
                                           for x in by_use.get(use, ())):
            issues.append(_issue("rsl-permit-overridden", f"the permission of {r['use']} is covered by a "
                                 "prohibition; the prohibition wins (fail closed)", "", Severity.INFO))
            continue
        kept.append(r)
    return kept


# ---------------------------------------------------------------------------------------------------------
# Export

def export(record: dict[str, Any]) -> ExportResult:
    """req-rsl-export: ``<content url="/">`` with one ``<license>`` per distinct set of conditions."""
    from xml.sax.saxutils import escape, quoteattr

    from aiterms.interop._rules import absorb_duties, areas_disjoint, covers, export_uses, exportable_rules

    code = "export-not-expressible"  # spec/interop.md#req-export-lossy; wider answers use export-broadened
    rules, issues = exportable_rules(record, code)
    chosen: list[tuple[str, dict[str, Any], list[str], dict[str, Any]]] = []
    dropped: list[dict[str, Any]] = []
    for ptr, rule, _party in rules:
        uses = export_uses(rule, EXPORT_USAGE, code, ptr, issues)
        cond = _export_conditions(rule, rule["effect"] == "permit", code, ptr, issues) if uses else None
        if cond is None:
            dropped.append(rule)
        else:
            chosen.append((ptr, dict(rule), uses, cond))
    while True:  # req-export-dropped-duties, until no permission gains a duty RSL cannot state
        absorbed = absorb_duties([c[1] for c in chosen], dropped)
        lost = [c for c in chosen if c[1]["effect"] == "permit" and set(c[1].get("duties", ())) - _PAYMENT]
        if absorbed:
            issues.append(_issue(BROADENED, "duties of permissions that could not be exported were added to "
                                 "overlapping permissions (fail closed)"))
        if not lost:
            break
        for item in lost:
            issues.append(_issue(code, "the permission has a duty RSL cannot state; not exported", item[0]))
            chosen.remove(item)
            dropped.append(item[1])
    groups: dict[str, dict[str, Any]] = {}
    for ptr, rule, uses, base in chosen:
        permit = rule["effect"] == "permit"
        payment = sorted({"attribution" if d == "attribution" else "purchase" for d in rule.get("duties", ())})
        cond = {**base, **({"payment": payment} if permit and payment else {})}
        if permit and any(x["effect"] == "prohibit" and covers(x["use"], rule["use"]) and not areas_disjoint(x, rule)
                          for _, x, _ in rules):
            issues.append(_issue(BROADENED, "a prohibition overlaps this permission; RSL readers (and aiterms) let the "
                                 "prohibition win, so the permission is weakened", ptr))
        key = json.dumps(cond, sort_keys=True)
        g = groups.setdefault(key, {"cond": cond, "permits": set(), "prohibits": set()})
        g["permits" if permit else "prohibits"].update(EXPORT_USAGE[u] for u in uses)
    url = "/"
    lines = ['<?xml version="1.0" encoding="UTF-8"?>', f'<rsl xmlns="{NS}">', f"  <content url={quoteattr(url)}>"]
    for key in sorted(groups):
        g = groups[key]
        cond = g["cond"]
        lines.append("    <license>")
        if g["permits"]:
            lines.append(f'      <permits type="usage">{escape(" ".join(sorted(g["permits"])))}</permits>')
        if cond.get("user"):
            lines.append(f'      <permits type="user">{escape(" ".join(cond["user"]))}</permits>')
        if cond.get("geo"):
            lines.append(f'      <permits type="geo">{escape(" ".join(cond["geo"]))}</permits>')
        if g["prohibits"]:
            lines.append(f'      <prohibits type="usage">{escape(" ".join(sorted(g["prohibits"])))}</prohibits>')
        for payment in cond.get("payment", ()):
            lines.append(f'      <payment type={quoteattr(payment)}/>')
        lines.append("    </license>")
    if not groups:
        issues.append(_issue(code, "nothing to export: no rule of the rights holder can be expressed in RSL"))
    lines += ["  </content>", "</rsl>", ""]
    return ExportResult("\n".join(lines).encode("utf-8"), MEDIA_TYPE, tuple(issues))


def _export_conditions(rule: Mapping[str, Any], permit: bool, code: str, ptr: str,
                       issues: list[Issue]) -> dict[str, Any] | None:
    """Permissions keep user (purpose, actor) and geo (payment comes from the duties); a prohibition is exported
    unconditional."""
    if not permit:
        if any(rule.get(k) for k in ("purpose", "actor", "jurisdiction", "from", "until")):
            issues.append(_issue(BROADENED, "RSL cannot limit a prohibition; exported without its conditions "
                                 "(it prohibits more)", ptr))
        return {}
    if rule.get("from") or rule.get("until"):
        issues.append(_issue(code, "RSL cannot limit a permission in time; the permission is not exported", ptr))
        return None
    users = [EXPORT_USER.get(p) for p in rule.get("purpose", ())] + [EXPORT_ACTOR.get(a) for a in rule.get("actor", ())]
    if None in users or (rule.get("purpose") and rule.get("actor")):
        issues.append(_issue(code, "RSL has no user token for this purpose or actor (or cannot require both); the "
                             "permission is not exported", ptr))
        return None
    unknown = sorted(set(rule.get("duties", ())) - _PAYMENT)
    if unknown:
        issues.append(_issue(code, f"RSL cannot express the duty {unknown[0]!r}; the permission is not exported", ptr))
        return None
    cond: dict[str, Any] = {}
    if users:
        cond["user"] = sorted(u for u in users if u)
    if rule.get("jurisdiction"):
        cond["geo"] = sorted(rule["jurisdiction"])
    return cond
