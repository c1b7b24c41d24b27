"""HTML ``<meta>`` AI-usage signals (spec/interop.md#html).

``<meta name="robots" content="noai, noimageai">`` (or a meta named after one crawler, which applies only to
that crawler), TDMRep's ``<meta name="tdm-reservation">`` / ``<meta name="tdm-policy">``, and the EPUB package
forms ``<meta name="tdm:reservation" content="1"/>`` (EPUB 2) and ``<meta property="tdm:reservation">1</meta>``
(EPUB 3). Non-standard metas such as ``<meta name="ai" content="noindex">`` give a warning and no rule. Parsed
with the standard library's tolerant HTML parser: broken markup never raises.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser
from typing import Any

from aiterms.interop import _web
from aiterms.interop.base import ImportResult
from aiterms.report import Issue

KIND = "html"
PRIORITY = 40

NONSTANDARD = frozenset({"ai", "noai", "noimageai", "ai-usage", "ai-training", "ai-policy", "content-usage",
                         "content-signal", "tdm", "tdmrep", "genai", "train-ai"})
_COMMON = frozenset({"description", "viewport", "keywords", "author", "generator", "theme-color", "referrer",
                     "color-scheme", "application-name", "format-detection", "google-site-verification"})


class _MetaCollector(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.metas: list[tuple[dict[str, str], int]] = []
        self._open: dict[str, str] | None = None
        self._text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._close()
        if tag.lower() != "meta":
            return
        a = {k.lower(): (v or "") for k, v in attrs}
        line = self.getpos()[0]
        if "content" not in a and a.get("property", "").lower().startswith("tdm:"):
            self._open = a  # EPUB 3: the value is the element's text
            self.metas.append((a, line))
            return
        self.metas.append((a, line))

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)
        self._close()

    def handle_data(self, data: str) -> None:
        if self._open is not None:
            self._text.append(data)

    def handle_endtag(self, tag: str) -> None:
        self._close()

    def _close(self) -> None:
        if self._open is not None:
            self._open["content"] = "".join(self._text).strip()
            self._open = None
            self._text = []


def metas(text: str) -> list[tuple[dict[str, str], int]]:
    parser = _MetaCollector()
    try:
        parser.feed(text)
        parser.close()
    except Exception:  # html.parser is tolerant; anything it still rejects ends the scan, keeping what was found
        pass
    parser._close()
    return parser.metas


def detect(name: str, head: bytes) -> bool:
    if not _web.is_text(head):
        return False
    base = name.replace("\\", "/").rsplit("/", 1)[-1].lower()
    if base.endswith((".html", ".htm", ".xhtml", ".opf", ".opf.xml")):
        return True
    if base.endswith((".md", ".txt", ".json", ".xmp", ".rdf")):
        return False  # documents that quote HTML, and formats other importers own
    return re.search(rb"(?i)<meta[\s>/]|<html[\s>]|<!doctype html", head) is not None and b"<x:xmpmeta" not in head


def import_bytes(data: bytes, *, source_name: str, url: str | None = None, user_agent: str | None = None,
                 observed: str | None = None) -> ImportResult:
    """req-html-meta: robots metas (and crawler-named metas for the matching ``--user-agent``) give noai rules;
    TDMRep metas give the HTML layer (EPUB package metas the EPUB layer); other AI-looking metas a warning.

    security#req-limits: a document over 16 MiB is not parsed: ``limit-input-size`` and no declaration."""
    from aiterms.interop import noai, tdmrep
    from aiterms.limits import MAX_DOCUMENT_BYTES, check_size

    too_big = check_size(len(data), MAX_DOCUMENT_BYTES, what=source_name)
    if too_big is not None:
        return ImportResult({}, (too_big,))
    origin, bad = _web.check_url(url)
    if bad:
        return ImportResult({}, (bad,))
    text = data.decode("utf-8", "replace")
    decls: list[dict[str, Any]] = []
    issues: list[Issue] = []
    tdm: dict[str, list[tuple[str, int]]] = {}
    for attrs, line in metas(text):
        name = (attrs.get("name") or attrs.get("property") or "").strip()
        low = name.lower()
        content = attrs.get("content", "")
        if low in ("tdm-reservation", "tdm-policy", "tdm:reservation", "tdm:policy"):
            tdm.setdefault(low, []).append((content, line))
            continue
        if low == "robots":
            more, found = noai.declarations(content, location="HTML meta robots", origin=origin,
                                            user_agent=user_agent, line=line, scope="robots",
                                            where=f"{source_name} line {line} meta robots")
            decls.extend(more)
            issues.extend(found)
            continue
        if low in NONSTANDARD:
            issues.append(_web.issue(
                "html-meta-nonstandard", _web.WARNING,
                f"{source_name} line {line}: <meta name={name!r} content={content!r}> is not a defined AI-usage "
                "signal (use robots noai/noimageai, tdm-reservation or an aipref header); ignored",
                line=line, value=name))
            continue
        if low and low not in _COMMON and any(d in noai.DIRECTIVES for d in noai.directives(content)):
            more, found = noai.declarations(content, location=f"HTML meta {name}", origin=origin,
                                            user_agent=user_agent, line=line, scope=name,
                                            where=f"{source_name} line {line} meta {name}")
            decls.extend(more)
            issues.extend(found)
    for res_key, pol_key, location in (("tdm-reservation", "tdm-policy", tdmrep.LOC_HTML),
                                        ("tdm:reservation", "tdm:policy", tdmrep.LOC_EPUB)):
        res = tdm.get(res_key, [])
        pol = tdm.get(pol_key, [])
        if not res and not pol:
            continue
        if not res:
            issues.append(_web.issue("tdmrep-policy-ignored", _web.INFO,
                                     f"{location}: tdm-policy without tdm-reservation is not processed",
                                     line=pol[0][1]))
            continue
        value = res[0][0] if len({v.strip() for v, _ in res}) == 1 else ", ".join(v for v, _ in res)
        more, found = tdmrep.declarations(value, pol[0][0].strip() if pol else None, location=location,
                                          origin=origin, line=res[0][1])
        decls.extend(more)
        issues.extend(found)
    record: dict[str, Any] = {"declarations": decls} if decls else {}
    if decls and url:
        record["contentUrl"] = url.strip()
    return ImportResult(record, tuple(issues))
