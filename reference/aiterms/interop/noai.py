"""DeviantArt's ``noai`` / ``noimageai`` directives (spec/interop.md#noai).

``X-Robots-Tag: noai`` / ``noimageai`` (also ``X-Robots-Tag: index, follow, noai``, and the user-agent-scoped
``X-Robots-Tag: somebot: noai``) and ``<meta name="robots" content="noai, noimageai">`` (or a meta named after
one crawler). Either directive excludes the content from AI datasets; there is no allowing form. The meaning
comes from the tag registry entries ``noai`` / ``noimageai`` (spec/registry.md), so a tag and a directive say
the same thing.
"""

from __future__ import annotations

import re
from typing import Any

from aiterms.interop import _web
from aiterms.interop.robots import product_tokens
from aiterms.report import Issue

VERSION = "DeviantArt 2022-11"
DIRECTIVES = ("noai", "noimageai")
# Robots directives that take a value after a colon (so "name: value" is not a user-agent scope).
_VALUED = frozenset({"unavailable_after", "max-snippet", "max-image-preview", "max-video-preview"})
_SCOPE = re.compile(r"^[ \t]*([A-Za-z0-9_.*-]+)[ \t]*:(.*)$", re.DOTALL)
_DEFAULT_RULES: tuple[dict[str, Any], ...] = ({"effect": "prohibit", "use": "ai-use"},)


def rules_for(directive: str) -> list[dict[str, Any]]:
    """req-noai-meaning: a directive means what its tag registry entry says (prohibitions only; an entry can
    never make a directive permit anything); without the registry: prohibit ``ai-use``."""
    try:
        from aiterms.vocab import Registry

        entry = Registry.bundled().get(directive)
    except Exception:  # registry data not built: use the contract's meaning
        entry = None
    if entry is not None:
        out = [_web.rule("prohibit", str(r["use"])) for r in entry.rules
               if isinstance(r, dict) and r.get("effect") == "prohibit" and isinstance(r.get("use"), str)]
        if out:
            return out
    return [dict(r) for r in _DEFAULT_RULES]


def split_scope(value: str) -> tuple[str | None, str]:
    """``botname: noai, noimageai`` -> ("botname", "noai, noimageai"); a plain directive list -> (None, value)."""
    m = _SCOPE.match(value)
    if m and m.group(1).lower() not in _VALUED:
        return m.group(1), m.group(2)
    return None, value


def directives(value: str) -> list[str]:
    """Comma-separated directives, stripped and lower-cased; compared exactly (``noai`` is not inside
    ``noimageai``)."""
    return [d.strip(" \t").lower() for d in value.split(",") if d.strip(" \t")]


def declarations(value: str, *, location: str, origin: str | None, user_agent: str | None,
                 line: int | None = None, scope: str | None = None,
                 where: str = "X-Robots-Tag") -> tuple[list[dict[str, Any]], list[Issue]]:
    """req-noai-scope: a directive scoped to a user agent (``botname: noai`` in X-Robots-Tag, or a meta named
    after a crawler) applies only when ``--user-agent`` matches that product token; ``robots`` and unscoped
    directives apply to every agent."""
    issues: list[Issue] = []
    if scope is None:
        scope, value = split_scope(value)
    found = [d for d in directives(value) if d in DIRECTIVES]
    if not found:
        return [], issues
    if scope is not None and scope.lower() not in ("robots", "*"):
        tokens = product_tokens(user_agent)
        if scope.lower() not in tokens:
            issues.append(_web.issue(
                "noai-other-agent", _web.INFO,
                f"{where}: {', '.join(found)} is addressed to {scope!r}"
                + (f", not to {user_agent!r}" if user_agent else "; give --user-agent to apply it")
                + "; not applied", line=line, value=scope))
            return [], issues
    rules: list[dict[str, Any]] = []
    for d in found:
        rules.extend(rules_for(d))
    raw = value.strip() if scope is None or scope.lower() == "robots" else f"{scope}: {value.strip()}"
    return [_web.declaration(_web.dedupe_rules(rules), signal=_web.NOAI, version=VERSION, location=location,
                             raw=raw, origin=origin)], issues
