"""Spawning ``ai.txt`` (May 2023) (spec/interop.md#ai-txt).

robots.txt grammar over file-extension wildcards (``Disallow: *.jpg``), read "when media is downloaded for
training": a disallowed image may not be used in datasets for AI training; an ``Allow`` line means AI training
is permitted. For the image's URL the longest matching pattern of the selected group decides, as in robots.txt,
except that a tie goes to Disallow (fail closed; robots.txt gives ties to Allow because it is about crawling).
"""

from __future__ import annotations

from typing import Any

from aiterms.interop import _web
from aiterms.interop.base import ImportResult
from aiterms.interop.robots import Line, parse, select
from aiterms.report import Issue

KIND = "ai.txt"
PRIORITY = 10
VERSION = "Spawning ai.txt 2023-05"


def decide_path(rules: list[Line], target: str | None) -> tuple[str | None, Line | None]:
    """req-aitxt-match: the longest matching Allow/Disallow pattern decides (ties: Disallow); ``permit`` for
    Allow, ``prohibit`` for Disallow, None when nothing matches. Without a URL only a group whose every rule is
    a Disallow, one of them matching every path, can be decided (prohibit)."""
    relevant = [r for r in rules if r.key in ("allow", "disallow") and r.value]
    if target is None:
        if relevant and all(r.key == "disallow" for r in relevant):
            catch_all = next((r for r in relevant if _web.matches_everything(r.value)), None)
            if catch_all is not None:
                return "prohibit", catch_all
        return None, None
    best: tuple[int, bool, Line] | None = None
    for r in relevant:
        if _web.pattern_matches(r.value, target):
            cand = (_web.pattern_length(r.value), r.key == "disallow", r)
            if best is None or cand[:2] > best[:2]:
                best = cand
    if best is None:
        return None, None
    return ("prohibit" if best[1] else "permit"), best[2]


def _truncate(data: bytes, source_name: str) -> tuple[bytes, Issue | None]:
    """security#req-robots-size: ai.txt has the robots.txt syntax and is served like robots.txt, so it has the
    robots.txt limit, not the document limit: a file over 500 KiB is read up to the last complete line within the
    first 500 KiB, with a ``limit-robots-size`` warning, and gives no permission (a prohibition beyond the cut could
    be the one that applies)."""
    from dataclasses import replace

    from aiterms.limits import MAX_ROBOTS_BYTES, human_size, truncate_robots

    head, cut = truncate_robots(data)
    if cut is None:
        return head, None
    return head, replace(cut, message=f"{source_name}: ai.txt is {len(data)} bytes; only the first "
                         f"{human_size(MAX_ROBOTS_BYTES)} were read (the robots.txt limit, RFC 9309 section 2.5) "
                         "and no permission is taken from it")


def detect(name: str, head: bytes) -> bool:
    base = name.replace("\\", "/").rsplit("/", 1)[-1].lower()
    return base == "ai.txt" or base.endswith((".ai.txt", "-ai.txt", "_ai.txt"))


def import_bytes(data: bytes, *, source_name: str, url: str | None = None, user_agent: str | None = None,
                 observed: str | None = None) -> ImportResult:
    origin, bad = _web.check_url(url)
    if bad:
        return ImportResult({}, (bad,))
    data, cut = _truncate(data, source_name)
    text = data.decode("utf-8", "surrogateescape")
    robots = parse(text, name="ai.txt")
    issues: list[Issue] = ([cut] if cut else []) + list(robots.issues)
    rules, which = select(robots, user_agent)
    target = _web.url_target(url) if url else None
    effect, line = decide_path(rules, target)
    if effect is None or line is None:
        if target is None and any(r.key in ("allow", "disallow") for r in rules):
            issues.append(_web.issue(
                "import-url-required", _web.ERROR,
                f"{source_name}: ai.txt rules depend on the file's path or extension; give the image's URL with --url"))
        else:
            issues.append(_web.issue("aitxt-no-match", _web.INFO,
                                     f"{source_name}: no rule of {which} matches {target or 'the image'}; "
                                     "ai.txt states nothing about it"))
        return ImportResult({}, tuple(issues))
    if cut is not None and effect == "permit":
        return ImportResult({}, tuple(issues))
    raw = line.text
    decl = _web.declaration([_web.rule(effect, "ai-training")], signal=_web.AITXT, version=VERSION,
                            location=f"ai.txt line {line.number}", raw=raw, origin=origin)
    record: dict[str, Any] = {"declarations": [decl]}
    if url:
        record["contentUrl"] = url.strip()
    return ImportResult(record, tuple(issues))
