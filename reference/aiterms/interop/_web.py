"""Shared pieces of the web-signal importers and exporters (spec/interop.md#web-signals).

Declarations built from transport signals (HTTP headers, robots.txt, tdmrep.json, HTML meta, ai.txt) are
statements of the site on behalf of the rights holder: role ``rights-holder`` and, when the URL is known, the
origin as ``declaredBy.id`` (spec/interop.md#req-web-declared-by). Robots-style path patterns
(RFC 9309 section 2.2.2) are matched here for robots.txt, tdmrep.json and ai.txt alike.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any
from urllib.parse import urlsplit

from aiterms.report import Issue, Severity

# Signal names (source.signal) of the families this module family imports.
AIPREF = "aipref"
CONTENT_SIGNAL = "content-signal"
NOAI = "noai"
TDMREP = "tdmrep"
AITXT = "ai.txt"

INFO = Severity.INFO
WARNING = Severity.WARNING
ERROR = Severity.ERROR


def issue(code: str, severity: Severity, message: str, *, line: int | None = None, path: str = "",
          value: Any = None) -> Issue:
    """An Issue with an explicit severity (the same one the code table in spec/interop.md registers)."""
    return Issue(code, severity, message, path, line, None, value)


def is_text(head: bytes) -> bool:
    """A cheap check that a file is text (no NUL byte in its first KiB), so text detectors leave images alone."""
    return b"\x00" not in head[:1024]


# ---------------------------------------------------------------------------------------------------------
# URLs


def check_url(url: str | None) -> tuple[str | None, Issue | None]:
    """req-web-url: ``--url`` MUST be an absolute http or https URL; returns the normalised origin or an issue."""
    if url is None:
        return None, None
    try:
        parts = urlsplit(url.strip())
        host = parts.hostname
        port = parts.port
    except ValueError:
        host, port, parts = None, None, None
    if parts is None or parts.scheme.lower() not in ("http", "https") or not host:
        return None, issue("import-invalid-url", ERROR, f"--url {url!r} is not an absolute http or https URL")
    scheme = parts.scheme.lower()
    default = 443 if scheme == "https" else 80
    netloc = host.lower() if ":" not in host else f"[{host.lower()}]"
    if port is not None and port != default:
        netloc += f":{port}"
    return f"{scheme}://{netloc}", None


def url_target(url: str) -> str:
    """The part of a URL robots-style rules match against: path (``/`` when empty) plus ``?query``."""
    parts = urlsplit(url.strip())
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    return path


# ---------------------------------------------------------------------------------------------------------
# Robots-style path patterns (RFC 9309 section 2.2.2 and 2.2.3)

_UNRESERVED = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
_PCT = re.compile(rb"%([0-9A-Fa-f]{2})")


def normalize_path(text: str) -> bytes:
    """Octets to compare: UTF-8, characters outside printable ASCII percent-encoded, ``%xx`` of unreserved
    characters decoded, other ``%xx`` upper-cased (RFC 9309 section 2.2.2; TDMRep "percent-decoding of
    unreserved characters before compare")."""
    raw = text.encode("utf-8", "surrogatepass")  # JSON may carry lone surrogates; never raise
    out = bytearray()
    for b in raw:
        if b <= 0x20 or b >= 0x7F:
            out += b"%%%02X" % b
        else:
            out.append(b)

    def fix(m: re.Match[bytes]) -> bytes:
        value = int(m.group(1), 16)
        if value in _UNRESERVED:
            return bytes([value])
        return b"%" + m.group(1).upper()

    return _PCT.sub(fix, bytes(out))


def pattern_length(pattern: str) -> int:
    """Specificity of a rule: the number of octets of its encoded path pattern."""
    return len(normalize_path(pattern))


def wildcard_match(pattern: bytes, target: bytes) -> bool:
    """Greedy left-to-right matching of ``*``-separated segments: with ``*`` as the only wildcard the leftmost
    occurrence of each segment is always a correct choice, so this runs in time linear in the input (no regex
    backtracking on patterns such as ``/*a*a*a*b$``)."""
    anchored = pattern.endswith(b"$")
    if anchored:
        pattern = pattern[:-1]
    parts = pattern.split(b"*")
    if not target.startswith(parts[0]):
        return False
    pos = len(parts[0])
    if len(parts) == 1:
        return not anchored or len(target) == pos
    for segment in parts[1:-1]:
        if segment:
            found = target.find(segment, pos)
            if found < 0:
                return False
            pos = found + len(segment)
    last = parts[-1]
    if anchored:
        return len(target) - len(last) >= pos and target.endswith(last)
    return target.find(last, pos) >= 0


def pattern_matches(pattern: str, target: str) -> bool:
    """req-web-pattern: a robots-style pattern matches when the target starts with it (``*`` and ``$`` as in
    RFC 9309). An empty pattern matches every target."""
    if pattern == "":
        return True
    return wildcard_match(normalize_path(pattern), normalize_path(target))


def matches_everything(pattern: str) -> bool:
    """A pattern that matches every path (``/``, ``*``, ``/*``, empty)."""
    return pattern in ("", "/", "*", "/*")


# ---------------------------------------------------------------------------------------------------------
# Declarations


def rule(effect: str, use: str, *, purpose: Sequence[str] = (), duties: Iterable[str] = ()) -> dict[str, Any]:
    out: dict[str, Any] = {"effect": effect, "use": use}
    if purpose:
        out["purpose"] = list(purpose)
    d = sorted(set(duties))
    if d:
        out["duties"] = d
    return out


def declaration(rules: Sequence[Mapping[str, Any]], *, signal: str, location: str, raw: str,
                version: str | None = None, origin: str | None = None,
                observed: str | None = None) -> dict[str, Any]:
    """req-web-declared-by: one declaration per statement of a transport signal, by the rights holder (the site
    speaks for its content), with the origin as party id when the URL is known, and full provenance."""
    by: dict[str, Any] = {"role": "rights-holder"}
    if origin:
        by["id"] = origin
    source: dict[str, Any] = {"signal": signal}
    if version:
        source["version"] = version
    source["location"] = location
    source["raw"] = clip(raw)
    if observed:
        source["observed"] = observed
    return {"declaredBy": by, "rules": [dict(r) for r in rules], "source": source}


RAW_MAX = 8000  # characters of source.raw kept (records limit every string to 8 KiB, spec/security.md)


def clip(raw: str) -> str:
    return raw if len(raw) <= RAW_MAX else raw[:RAW_MAX - 40] + f" ... ({len(raw)} characters, truncated)"


def without_permits(decls: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """req-limit-fail-closed: from a truncated input only prohibitions are kept."""
    out = []
    for d in decls:
        rules = [r for r in d.get("rules", ()) if r.get("effect") != "permit"]
        if rules:
            out.append({**d, "rules": rules})
    return out


def dedupe_rules(rules: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    seen: list[dict[str, Any]] = []
    for r in rules:
        if dict(r) not in seen:
            seen.append(dict(r))
    return seen


def _scope(decl: Mapping[str, Any], r: Mapping[str, Any]) -> tuple[Any, ...]:
    def key(v: Any) -> tuple[str, ...]:
        return tuple(sorted(str(x) for x in v)) if isinstance(v, list) else ((str(v),) if v else ())

    return (r.get("use"), key(r.get("purpose")), key(r.get("actor")), key(r.get("jurisdiction")), r.get("from"),
            r.get("until"), decl.get("effectiveFrom"), decl.get("until"))


def settle_contradictions(decls: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], list[Issue]]:
    """req-import-contradiction: when one party (same role and non-empty ``declaredBy.id``, or one declaration)
    both permits and prohibits a use with the same scope -- a site sending ``Content-Usage: search=y`` and
    ``Content-Signal: search=no`` -- the permission is removed and the prohibition stands (aipref's "most
    restrictive" combination), so that the record stays valid (spec/validation.md#req-no-contradiction)."""
    issues: list[Issue] = []

    def party(i: int) -> tuple[Any, ...]:
        by = decls[i].get("declaredBy") or {}
        ident = by.get("id")
        return (by.get("role"), ident) if ident else ("#", i)

    dated = {i for i, d in enumerate(decls) if d.get("issued") or d.get("effectiveFrom")}
    prohibited: dict[tuple[Any, ...], int] = {}
    for i, d in enumerate(decls):
        if i in dated:
            continue
        for r in d.get("rules") or ():
            if r.get("effect") == "prohibit":
                prohibited.setdefault((party(i), _scope(d, r)), i)
    out: list[dict[str, Any]] = []
    for i, d in enumerate(decls):
        if i in dated:
            out.append(d)
            continue
        kept = []
        for r in d.get("rules") or ():
            j = prohibited.get((party(i), _scope(d, r)))
            if r.get("effect") == "permit" and j is not None:
                src = d.get("source") or {}
                other = decls[j].get("source") or {}
                issues.append(issue(
                    "import-contradiction", WARNING,
                    f"{src.get('location', 'a declaration')} permits {r.get('use')} while "
                    f"{other.get('location', 'another declaration')} of the same party prohibits it with the same "
                    "scope; the prohibition stands (most restrictive) and the permission is dropped"))
                continue
            kept.append(r)
        if kept:
            out.append({**d, "rules": kept})
        elif not d.get("rules"):
            out.append(d)  # a declaration without rules (consent, provenance) is never dropped
    return out, issues


def validation_errors(record: Mapping[str, Any]) -> list[Issue]:
    """The validator's errors about a record (spec/validation.md); none when no validator is installed."""
    import importlib

    for name in ("aiterms.validation", "aiterms.validate"):
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name != name:
                raise
            continue
        report = module.check(dict(record))
        return [i for i in report.issues if i.severity is ERROR]
    return []


# ---------------------------------------------------------------------------------------------------------
# Decisions (exporters and tests): the resolver when it is installed, else a small most-restrictive evaluator

# Broader uses of the taxonomy (spec/vocabulary.md#uses); used only when the bundled vocabulary is unavailable.
_BROADER: dict[str, tuple[str, ...]] = {
    "data-mining": (), "ai-use": ("data-mining",), "ai-training": ("ai-use",), "genai-training": ("ai-training",),
    "non-genai-training": ("ai-training",), "computer-vision": ("ai-use",),
    "cv-training": ("ai-training", "computer-vision"), "ai-evaluation": ("ai-use",),
    "cv-evaluation": ("ai-evaluation", "computer-vision"), "biometric": ("ai-use",),
    "face-recognition": ("biometric", "computer-vision"), "face-analysis": ("biometric", "computer-vision"),
    "ai-inference": ("ai-use",), "ai-indexing": ("ai-use",), "search-indexing": ("data-mining",),
    "dataset-redistribution": (),
}


def ancestors(use: str) -> frozenset[str]:
    """The use and every broader use."""
    try:
        from aiterms.vocab import Vocabulary

        vocab = Vocabulary.bundled()
        if use in vocab.uses:
            return vocab.ancestors(use)
    except Exception:  # the vocabulary data may not be built yet; fall back to the contract's taxonomy
        pass
    out = {use}
    todo = [use]
    while todo:
        for b in _BROADER.get(todo.pop(), ()):
            if b not in out:
                out.add(b)
                todo.append(b)
    return frozenset(out)


def uses_under(use: str) -> list[str]:
    """Every use strictly narrower than ``use``."""
    try:
        from aiterms.vocab import Vocabulary

        names = list(Vocabulary.bundled().uses)
    except Exception:  # vocabulary data not built yet
        names = list(_BROADER)
    return [u for u in names if u != use and use in ancestors(u)]


def decide(record: Mapping[str, Any], use: str, *, purpose: str | None = None) -> tuple[str, tuple[str, ...]]:
    """Outcome and obligations for ``use`` (and ``purpose``) over a canonical record.

    Uses ``aiterms.resolution.resolve`` when it exists. The fallback evaluates only rules (no tags, license,
    consent or time): covering rules whose constraints match; any prohibition wins; a permission with duties
    is ``constrained``. It is more restrictive than the resolver, never more permissive.
    """
    try:
        from aiterms.model import Query
        from aiterms.resolution import resolve  # type: ignore[import-not-found,unused-ignore]
    except ImportError:
        return _fallback_decide(record, use, purpose)
    full = dict(record)
    full.setdefault("@context", "https://w3id.org/aiterms/context/v1.jsonld")
    full.setdefault("type", "ImageRecord")
    decision = resolve(full, Query(use=use, purpose=purpose))
    return str(decision.outcome), tuple(decision.obligations)


def _fallback_decide(record: Mapping[str, Any], use: str, purpose: str | None) -> tuple[str, tuple[str, ...]]:
    covering = ancestors(use)
    permit = False
    excluded = False
    duties: set[str] = set()
    for d in record.get("declarations") or ():
        for r in d.get("rules") or ():
            r_use = r.get("use")
            if not isinstance(r_use, str):
                continue
            purposes = r.get("purpose") or []
            if r.get("effect") == "prohibit":
                if purposes and purpose is not None and purpose not in purposes:
                    continue
                if r_use in covering:
                    return "notAllowed", ()
                if use in ancestors(r_use):
                    excluded = True  # a narrower use is prohibited (spec/resolution.md#alg-narrower)
            elif r.get("effect") == "permit" and r_use in covering:
                if any(r.get(k) for k in ("actor", "jurisdiction", "from", "until")):
                    continue
                if purposes and purpose not in purposes:
                    continue
                permit = True
                duties.update(r.get("duties") or ())
    if permit:
        return ("constrained", tuple(sorted(duties))) if duties or excluded else ("allowed", ())
    return "unspecified", ()
