"""Cloudflare Content Signals (spec/interop.md#content-signal).

``Content-Signal: search=yes, ai-train=no, ai-input=no`` as a robots.txt line (any capitalisation of the line
name, as in Cloudflare's managed ``Content-signal``) or an HTTP header. Keys ``search``, ``ai-input`` and
``ai-train``; values ``yes`` / ``no``; an absent key states nothing. It is not an RFC 9651 field (its values are
``yes``/``no``, not aipref's tokens), so it is read item by item: a malformed item is ignored with a warning and
never changes another item. As an importer (KIND ``content-signal``) it reads a bare value.
"""

from __future__ import annotations

from typing import Any

from aiterms.interop import _web
from aiterms.interop.base import ImportResult
from aiterms.report import Issue

KIND = "content-signal"
PRIORITY = 85
VERSION = "Content Signals Policy (draft-romm-aipref-contentsignals)"

KEYS: dict[str, str] = {"search": "search-indexing", "ai-input": "ai-inference", "ai-train": "ai-training"}


def parse_signal(value: str, *, line: int | None = None,
                 where: str = "Content-Signal") -> tuple[list[dict[str, Any]], list[Issue]]:
    """req-content-signal-parse: each comma-separated ``key=value`` item is read on its own; keys and values are
    compared case-insensitively; ``yes`` permits and ``no`` prohibits the key's use; an unknown key, another
    value or a malformed item states nothing and gives a warning; when a key repeats, the most restrictive
    value stands."""
    rules: list[dict[str, Any]] = []
    issues: list[Issue] = []
    seen: dict[str, str] = {}
    for item in value.split(","):
        text = item.strip(" \t")
        if not text:
            continue
        if "=" not in text:
            issues.append(_web.issue("content-signal-malformed", _web.WARNING,
                                     f"{where}: item {text!r} is not key=value; ignored", line=line, value=text))
            continue
        key, _, val = text.partition("=")
        key, val = key.strip(" \t").lower(), val.strip(" \t").lower()
        if key not in KEYS:
            issues.append(_web.issue(
                "content-signal-unknown-key", _web.WARNING,
                f"{where}: {key!r} is not a content signal (search, ai-input, ai-train); {text!r} is ignored",
                line=line, value=key))
            continue
        if val not in ("yes", "no"):
            issues.append(_web.issue(
                "content-signal-invalid-value", _web.WARNING,
                f"{where}: {key}={val!r} is neither yes nor no; the signal states nothing for {key}",
                line=line, value=text))
            continue
        if key in seen and seen[key] != val:
            issues.append(_web.issue(
                "content-signal-invalid-value", _web.WARNING,
                f"{where}: {key} is given as both yes and no; the prohibition stands", line=line, value=text))
        if seen.get(key) == "no":
            continue
        seen[key] = val
    for key, val in seen.items():
        rules.append(_web.rule("permit" if val == "yes" else "prohibit", KEYS[key]))
    return rules, issues


def declarations(value: str, *, location: str, origin: str | None, line: int | None = None,
                 where: str = "Content-Signal", raw: str | None = None) -> tuple[list[dict[str, Any]], list[Issue]]:
    rules, issues = parse_signal(value, line=line, where=where)
    if not rules:
        return [], issues
    return [_web.declaration(rules, signal=_web.CONTENT_SIGNAL, version=VERSION, location=location,
                             raw=value if raw is None else raw,
                             origin=origin)], issues


def detect(name: str, head: bytes) -> bool:
    if not _web.is_text(head):
        return False
    lines = [ln for ln in head.splitlines() if ln.strip()]
    if len(lines) != 1 or b":" in lines[0]:
        return False
    low = lines[0].lower()
    return any(k + b"=yes" in low.replace(b" ", b"") or k + b"=no" in low.replace(b" ", b"")
               for k in (b"search", b"ai-input", b"ai-train"))


def import_bytes(data: bytes, *, source_name: str, url: str | None = None, user_agent: str | None = None,
                 observed: str | None = None) -> ImportResult:
    """A bare Content-Signal value.

    security#req-limits: an input over 16 MiB is not parsed: ``limit-input-size`` and no declaration."""
    from aiterms.limits import MAX_DOCUMENT_BYTES, check_size

    too_big = check_size(len(data), MAX_DOCUMENT_BYTES, what=source_name)
    if too_big is not None:
        return ImportResult({}, (too_big,))
    origin, bad = _web.check_url(url)
    issues: list[Issue] = [bad] if bad else []
    text = data.decode("utf-8", "replace").strip()
    decls, more = declarations(text, location="Content-Signal value", origin=origin)
    issues.extend(more)
    return ImportResult({"declarations": decls} if decls else {}, tuple(issues))
