"""robots.txt: aipref ``Content-Usage`` rules and Cloudflare ``Content-Signal`` lines (spec/interop.md#robots).

Groups are selected by product token as RFC 9309 section 2.2.1 says; Allow/Disallow decide whether the URL may
be crawled (longest match, ties to Allow); Content-Usage rules apply only to crawlable URLs, by longest matching
path in octets, and rules with the same longest path all apply (combined most-restrictively by the resolver,
draft-ietf-aipref-attach-05 section 4.1). The same grammar serves Spawning's ai.txt (aitxt.py).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from aiterms.interop import _web
from aiterms.interop.base import ExportResult, ImportResult
from aiterms.report import Issue

KIND = "robots"
TARGET = "robots"
PRIORITY = 30

_KEY = re.compile(r"^[ \t]*([^:#]*?)[ \t]*:[ \t]*(.*)$", re.DOTALL)
_NONSTANDARD_AI = re.compile(r"(^|[-_])ai([-_]|$)|aitrain|noai|^ai|train", re.IGNORECASE)
_PRODUCT = re.compile(r"[A-Za-z_-]+")
_GROUP_RULES = frozenset({"allow", "disallow", "content-usage", "content-signal"})


@dataclass
class Line:
    key: str  # lower-cased
    value: str  # raw value (comment removed, surrounding SP/HTAB removed)
    number: int
    text: str = ""  # the line as found, without its comment


@dataclass
class Group:
    agents: list[str] = field(default_factory=list)
    rules: list[Line] = field(default_factory=list)


@dataclass
class RobotsFile:
    groups: list[Group] = field(default_factory=list)
    outside: list[Line] = field(default_factory=list)  # group rules before any user-agent line
    issues: list[Issue] = field(default_factory=list)


def parse(text: str, *, name: str = "robots.txt") -> RobotsFile:
    """req-robots-groups: RFC 9309 grouping: consecutive user-agent lines open a group, every following rule
    belongs to it until the next user-agent line that follows a rule; keys are case-insensitive; ``#`` starts a
    comment; lines that are not ``key: value`` are ignored (with an info)."""
    out = RobotsFile()
    current: Group | None = None
    in_agents = False
    for number, raw_line in enumerate(text.splitlines(), start=1):
        line = raw_line.split("#", 1)[0]
        if not line.strip(" \t\r\n\f\v\ufeff"):
            continue
        m = _KEY.match(line.lstrip("\ufeff"))
        if not m:
            out.issues.append(_web.issue("robots-malformed-line", _web.INFO,
                                         f"{name} line {number}: not a 'key: value' line; ignored", line=number))
            continue
        key, value = m.group(1).strip().lower(), m.group(2).strip(" \t\r\n")
        if key == "user-agent":
            if current is None or not in_agents:
                current = Group()
                out.groups.append(current)
                in_agents = True
            current.agents.append(value)
            continue
        if key == "sitemap":
            continue
        in_agents = False
        entry = Line(key, value, number, line.strip(" \t\r\n\ufeff"))
        if current is None:
            if key in ("content-usage", "content-signal"):
                out.issues.append(_web.issue(
                    "robots-rule-outside-group", _web.WARNING,
                    f"{name} line {number}: {m.group(1).strip()} before any User-Agent line belongs to no group; "
                    "ignored", line=number))
            out.outside.append(entry)
            continue
        if key not in _GROUP_RULES and _NONSTANDARD_AI.search(key):
            out.issues.append(_web.issue(
                "robots-nonstandard-rule", _web.WARNING,
                f"{name} line {number}: {m.group(1).strip()!r} is not a rule of RFC 9309 or of the aipref attachment "
                "draft; it has no defined meaning and is ignored", line=number, value=m.group(1).strip()))
        current.rules.append(entry)
    return out


def product_tokens(user_agent: str | None) -> set[str]:
    """The product tokens a crawler may match groups by (case-insensitive); a full User-Agent string gives every
    token in it (``Mozilla/5.0 (compatible; GPTBot/1.1)`` matches a ``GPTBot`` group)."""
    if not user_agent:
        return set()
    return {t.lower() for t in _PRODUCT.findall(user_agent)}


def select(robots: RobotsFile, user_agent: str | None) -> tuple[list[Line], str]:
    """req-robots-groups: the rules of every group whose user-agent matches a product token of the crawler,
    combined; if none matches, the rules of every ``*`` group, combined. Returns the rules and a description."""
    tokens = product_tokens(user_agent)

    def agent_token(value: str) -> str:
        return value.split("/", 1)[0].strip().lower()

    specific = [g for g in robots.groups if tokens and any(agent_token(a) in tokens for a in g.agents)]
    if specific:
        names = sorted({a for g in specific for a in g.agents if agent_token(a) in tokens})
        return [r for g in specific for r in g.rules], "the group(s) for " + ", ".join(names)
    star = [g for g in robots.groups if any(agent_token(a) == "*" for a in g.agents)]
    return [r for g in star for r in g.rules], "the '*' group(s)" if star else "no group"


def crawlable(rules: list[Line], target: str) -> tuple[bool, Line | None]:
    """req-robots-crawlable: usage rules apply only to crawlable URLs. RFC 9309 section 2.2.2: the longest
    matching Allow/Disallow path decides; a tie goes to Allow; no match (or an empty Disallow) allows;
    /robots.txt is always allowed."""
    if target == "/robots.txt":
        return True, None
    best: tuple[int, bool, Line] | None = None
    for r in rules:
        if r.key not in ("allow", "disallow") or not r.value:
            continue
        if not _web.pattern_matches(r.value, target):
            continue
        cand = (_web.pattern_length(r.value), r.key == "allow", r)
        if best is None or cand[:2] > best[:2]:
            best = cand
    if best is None:
        return True, None
    return best[1], best[2]


def split_value(value: str) -> tuple[str, str]:
    """draft-ietf-aipref-attach-05 section 4.2: a value starting with ``/`` has a path up to the first SP or
    HTAB; the rest (or the whole value when there is no path) is the statement of preference."""
    if value.startswith("/"):
        m = re.match(r"([^ \t]*)[ \t]*(.*)", value, re.DOTALL)
        assert m is not None
        return m.group(1), m.group(2)
    return "", value


def longest(rules: list[Line], key: str, target: str) -> list[tuple[Line, str, str]]:
    """req-robots-longest-match: of the ``key`` rules whose path matches, those with the longest path (octets of
    the encoded path); an absent path matches everything with length 0. Order carries no meaning."""
    matching: list[tuple[int, Line, str, str]] = []
    for r in rules:
        if r.key != key:
            continue
        path, pref = split_value(r.value)
        if _web.pattern_matches(path, target):
            matching.append((_web.pattern_length(path), r, path, pref))
    if not matching:
        return []
    top = max(m[0] for m in matching)
    return [(r, path, pref) for length, r, path, pref in matching if length == top]


# ---------------------------------------------------------------------------------------------------------
# Importer


_ROBOTS_KEYS = re.compile(rb"(?i)^[ \t]*(user-agent|allow|disallow|sitemap|content-usage|content-signal|crawl-delay|"
                         rb"host)[ \t]*:")


def detect(name: str, head: bytes) -> bool:
    """``robots.txt`` by name; otherwise text whose first line that is not blank or a comment is a robots.txt
    rule and that has a User-Agent line (a document that merely quotes robots.txt is not one)."""
    if not _web.is_text(head):
        return False
    base = name.replace("\\", "/").rsplit("/", 1)[-1].lower()
    if base == "robots.txt" or base.endswith(".robots.txt"):
        return True
    if base == "ai.txt" or base.endswith((".json", ".html", ".htm", ".md")):
        return False
    first = next((ln for ln in head.splitlines() if ln.strip() and not ln.lstrip().startswith(b"#")), b"")
    return bool(_ROBOTS_KEYS.match(first)) and re.search(rb"(?im)^[ \t]*user-agent[ \t]*:", head) is not None


def import_bytes(data: bytes, *, source_name: str, url: str | None = None, user_agent: str | None = None,
                 observed: str | None = None) -> ImportResult:
    """req-robots-url: robots.txt preferences depend on the path, so the URL of the image is required.
    req-robots-size: a file over 500 KiB is cut (aiterms.limits.truncate_robots) and only prohibitions are kept."""
    from aiterms.interop import aipref, contentsignal

    origin, bad = _web.check_url(url)
    if bad:
        return ImportResult({}, (bad,))
    if url is None:
        return ImportResult({}, (_web.issue(
            "import-url-required", _web.ERROR,
            f"{source_name}: robots.txt rules depend on the path; give the image's URL with --url"),))
    from aiterms.limits import truncate_robots

    issues: list[Issue] = []
    data, cut = truncate_robots(data)
    if cut is not None:
        issues.append(cut)
    text = data.decode("utf-8", "surrogateescape")
    robots = parse(text, name="robots.txt")
    issues.extend(robots.issues)
    rules, which = select(robots, user_agent)
    target = _web.url_target(url)
    ok, by = crawlable(rules, target)
    has_prefs = any(r.key in ("content-usage", "content-signal") for r in rules)
    if not ok:
        if has_prefs:
            where = f" (Disallow at line {by.number})" if by else ""
            issues.append(_web.issue(
                "robots-path-disallowed", _web.INFO,
                f"{target} may not be crawled under {which}{where}; no usage preferences apply to it", line=by.number
                if by else None))
        return ImportResult({}, tuple(issues))
    decls: list[dict[str, Any]] = []
    for r, _path, pref in longest(rules, "content-usage", target):
        more, found = aipref.declarations(
            pref.encode("utf-8", "surrogateescape"), location=f"robots.txt line {r.number}", origin=origin,
            line=r.number, where=f"robots.txt line {r.number} Content-Usage", raw=r.value)
        decls.extend(more)
        issues.extend(found)
    for r, _path, pref in longest(rules, "content-signal", target):
        more, found = contentsignal.declarations(
            pref, location=f"robots.txt line {r.number}", origin=origin, line=r.number,
            where=f"robots.txt line {r.number} Content-Signal", raw=r.value)
        decls.extend(more)
        issues.extend(found)
    if cut is not None:
        decls = _web.without_permits(decls)
    record: dict[str, Any] = {"contentUrl": url.strip(), "declarations": decls} if decls else {}
    return ImportResult(record, tuple(issues))


# ---------------------------------------------------------------------------------------------------------
# Exporter

CONTENT_SIGNAL_EXPRESSIBLE = {"search-indexing": "search", "ai-training": "ai-train", "ai-inference": "ai-input"}


def export(record: dict[str, Any]) -> ExportResult:
    """req-robots-export: one ``User-Agent: *`` group. Content-Usage carries genai-training and search-indexing
    (scoped to the path of ``contentUrl`` when the record has one); Content-Signal, which has no path, carries
    search-indexing, ai-training and ai-inference only for a record without ``contentUrl``."""
    from urllib.parse import urlsplit

    from aiterms.interop import aipref

    value, issues = aipref.content_usage_value(record)
    path = ""
    content_url = record.get("contentUrl")
    if isinstance(content_url, str) and content_url.strip():
        try:
            path = _web.normalize_path(urlsplit(content_url.strip()).path or "/").decode("ascii")
        except ValueError:
            path = ""
    lines = ["# AI-usage preferences exported by aiterms", "User-Agent: *"]
    if value:
        lines.append(f"Content-Usage: {path + ' ' if path else ''}{value}")
    expressible = set(aipref.EXPRESSIBLE)
    signals: list[str] = []
    if path:
        issues.append(_web.issue(
            "export-not-expressible", _web.WARNING,
            "Content-Signal has no path; it is not written for a record about one URL, so ai-training and "
            "ai-inference are not exported"))
    else:
        genai, _ = _web.decide(record, "genai-training")
        for use, key in CONTENT_SIGNAL_EXPRESSIBLE.items():
            outcome, obligations = _web.decide(record, use)
            if use == "ai-training" and outcome in ("notAllowed", "constrained") and genai == "allowed":
                issues.append(_web.issue(
                    "export-not-expressible", _web.WARNING,
                    "ai-training is not allowed but genai-training is; Content-Signal ai-train=no would also "
                    "forbid generative training for readers that do not combine by specificity, so it is omitted"))
                continue
            expressible.add(use)
            if outcome == "allowed":
                signals.append(f"{key}=yes")
            elif outcome in ("notAllowed", "constrained"):
                signals.append(f"{key}=no")
                if outcome == "constrained":
                    issues.append(_web.issue(
                        "export-not-expressible", _web.WARNING,
                        f"{use} is allowed only with obligations ({', '.join(obligations) or 'narrower exclusions'});"
                        f" Content-Signal has no conditions, so {key}=no is written (fail closed)"))
        if signals:
            lines.append("Content-Signal: " + ", ".join(signals))
    issues.extend(aipref.not_expressible(record, expressible, "robots.txt"))
    if not value and not signals:
        issues.append(_web.issue("export-not-expressible", _web.WARNING,
                                 "the record decides none of the uses robots.txt can carry; the group is empty"))
    return ExportResult(("\n".join(lines) + "\n").encode("utf-8"), "text/plain", tuple(issues))
