"""Helpers of the web-signal interop tests (tests/test_interop_web_*.py)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from aiterms.interop import registry
from aiterms.interop.base import ImportResult

AT = "2026-06-01T00:00:00Z"
URL = "https://example.com/images/photo.jpg"


def run(kind: str, text: str | bytes, *, url: str | None = URL, user_agent: str | None = None,
        name: str = "input") -> ImportResult:
    data = text.encode("utf-8") if isinstance(text, str) else text
    return registry.import_one(data, source_name=name, kind=kind, url=url, user_agent=user_agent)


def rules(result: ImportResult | Mapping[str, Any]) -> list[tuple[str, str, tuple[str, ...], tuple[str, ...]]]:
    """(effect, use, purposes, duties) of every rule of every declaration, sorted."""
    record = result.record if isinstance(result, ImportResult) else result
    out = []
    for d in record.get("declarations") or ():
        for r in d.get("rules") or ():
            out.append((r["effect"], r["use"], tuple(r.get("purpose") or ()), tuple(r.get("duties") or ())))
    return sorted(out)


def simple(result: ImportResult | Mapping[str, Any]) -> set[tuple[str, str]]:
    return {(e, u) for e, u, _p, _d in rules(result)}


def codes(result: ImportResult) -> set[str]:
    return {i.code for i in result.issues}


def permits(result: ImportResult | Mapping[str, Any]) -> set[str]:
    return {u for e, u in simple(result) if e == "permit"}


def full(record: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(record)
    out.setdefault("@context", "https://w3id.org/aiterms/context/v1.jsonld")
    out.setdefault("type", "ImageRecord")
    return out


def decide(record: Mapping[str, Any], use: str, *, purpose: str | None = None) -> str:
    from aiterms.model import Query
    from aiterms.resolution import resolve

    return resolve(full(record), Query(use=use, purpose=purpose, at=AT)).outcome


def decisions(record: Mapping[str, Any], uses: Iterable[str]) -> dict[str, str]:
    return {u: decide(record, u) for u in uses}


ALL_USES = ("data-mining", "ai-use", "ai-training", "genai-training", "non-genai-training", "computer-vision",
            "cv-training", "ai-evaluation", "ai-inference", "ai-indexing", "search-indexing", "face-recognition",
            "dataset-redistribution")
