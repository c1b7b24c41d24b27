"""The document-size limit in the importers (spec/security.md#limits-table, #req-limits, #req-limit-fail-closed).

Every importer that parses its input as one document (tdmrep.json and TDM policies, ODRL, Flickr API JSON, HTML,
bare Content-Usage and Content-Signal values, C2PA manifest JSON) refuses an input over
``limits.MAX_DOCUMENT_BYTES`` (16 MiB) before it parses it: one ``limit-input-size`` error, no declaration, so no
permission (fail closed). An input of exactly 16 MiB is read as it would be without the padding.

Each case starts from a small seed that (where the signal can) permits a use, so the over-limit test fails if the
guard is missing: the padded seed would still permit it and report no limit code. Padding is whitespace or line
breaks the importer ignores, so the exact-limit case must give the seed's own result.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from aiterms import limits
from aiterms.interop import c2pa, flickr, registry
from aiterms.interop.base import ImportResult
from aiterms.model import Query
from aiterms.report import Severity
from aiterms.resolution import resolve

ROOT = Path(__file__).resolve().parents[1]
SECURITY = ROOT / "spec" / "security.md"
LIMIT = limits.MAX_DOCUMENT_BYTES
CODE = "limit-input-size"
AT = "2026-06-01"
URL = "https://example.com/images/photo.jpg"
CONTEXT = "https://w3id.org/aiterms/context/v1.jsonld"
# Uses asked of the resolver for every case, besides the ones a seed permits.
ASKED = ("ai-training", "genai-training", "non-genai-training", "data-mining", "ai-inference", "search-indexing")


@dataclass(frozen=True)
class Case:
    id: str
    seed: bytes
    source_name: str
    run: Callable[[bytes, str], ImportResult]
    pad: bytes = b" "
    permits: tuple[str, ...] = ()  # uses the seed itself resolves to "allowed" (none when the signal cannot)
    permit_rules: bool = False  # the seed's record has a permit rule (taken away over the limit)


def _via_registry(kind: str, url: str | None = None) -> Callable[[bytes, str], ImportResult]:
    def run(data: bytes, source_name: str) -> ImportResult:
        return registry.import_one(data, source_name=source_name, kind=kind, url=url)

    return run


def _manifest_importer(data: bytes, source_name: str) -> ImportResult:
    result: ImportResult = c2pa.MANIFEST_IMPORTER.import_bytes(data, source_name=source_name)
    return result


def _odrl_policy() -> bytes:
    return json.dumps({"@context": "http://www.w3.org/ns/odrl.jsonld", "@type": "Set",
                       "uid": "http://example.com/p/1", "profile": "https://w3c.github.io/odrl/ai-vocab/",
                       "permission": [{"action": "odrl:ai-training"}]}).encode()


def _tdm_policy() -> bytes:
    return json.dumps({"@context": ["http://www.w3.org/ns/odrl.jsonld", "http://www.w3.org/ns/tdmrep.jsonld"],
                       "@type": "Offer", "profile": "http://www.w3.org/ns/tdmrep",
                       "uid": "https://example.com/policies/policy.json",
                       "assigner": {"uid": "https://example.com", "vcard:fn": "Example"},
                       "permission": [{"target": "https://example.com/images/", "action": "tdm:mine"}]}).encode()


_C2PA_ALLOWED = json.dumps({"assertions": [{"label": "cawg.training-mining", "data": {"entries": {
    "cawg.ai_training": {"use": "allowed"}, "cawg.ai_generative_training": {"use": "allowed"}}}}]}).encode()
_FLICKR_PHOTO = json.dumps({"photo": {"id": "5020123456", "owner": "12345678@N00", "license": "4",
                                      "tags": "family"}}).encode()
_FLICKR_PHOTOS = json.dumps({"stat": "ok", "photos": {"photo": [
    {"id": "5020123456", "owner": "12345678@N00", "license": "4", "tags": "family"},
    {"id": "5020123457", "owner": "12345678@N00", "license": "9", "tags": "no_cv"}]}}).encode()

CASES = [
    Case("tdmrep-json", b'[{"location": "/*", "tdm-reservation": 0}]', "tdmrep.json", _via_registry("tdmrep", URL),
         permits=("ai-training", "data-mining"), permit_rules=True),
    Case("tdmrep-policy", _tdm_policy(), "policy.json", _via_registry("tdmrep", URL), permit_rules=True),
    Case("odrl", _odrl_policy(), "policy.jsonld", _via_registry("odrl"), permits=("ai-training",),
         permit_rules=True),
    Case("flickr-json", _FLICKR_PHOTO, "photo.json", _via_registry("flickr-json")),
    Case("flickr-photos", _FLICKR_PHOTOS, "photos.json", _via_registry("flickr-json")),
    Case("html", b'<html><head><meta name="tdm-reservation" content="0"></head><body></body></html>',
         "page.html", _via_registry("html", URL), permits=("ai-training", "data-mining"), permit_rules=True),
    # A bare Content-Usage value: trailing line breaks are stripped before the (pure Python) field parser runs,
    # which keeps the exact-limit case fast; spaces would be parsed one by one.
    Case("content-usage", b"train-ai=y", "content-usage.txt", _via_registry("content-usage"), pad=b"\n",
         permits=("genai-training",), permit_rules=True),
    Case("content-signal", b"search=yes, ai-train=yes", "content-signal.txt", _via_registry("content-signal"),
         permits=("ai-training", "search-indexing"), permit_rules=True),
    Case("c2pa-json", _C2PA_ALLOWED, "manifest.json", _via_registry("c2pa"), permit_rules=True),
    Case("c2pa-manifest", _C2PA_ALLOWED, "manifest.json", _manifest_importer, permit_rules=True),
]
PARAMS = [pytest.param(c, id=c.id) for c in CASES]


def padded(case: Case, size: int) -> bytes:
    assert size >= len(case.seed)
    data = case.seed + case.pad * (size - len(case.seed))
    assert len(data) == size
    return data


def _declarations(record: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    decls = record.get("declarations")
    return [d for d in decls if isinstance(d, Mapping)] if isinstance(decls, list) else []


def permit_rules(record: Mapping[str, Any]) -> list[Any]:
    return [r for d in _declarations(record) for r in d.get("rules") or []
            if isinstance(r, Mapping) and r.get("effect") == "permit"]


def given_consent(record: Mapping[str, Any]) -> list[Any]:
    return [c for d in _declarations(record) for c in d.get("consent") or []
            if isinstance(c, Mapping) and c.get("status") == "given"]


def outcomes(record: Mapping[str, Any], uses: Iterable[str]) -> dict[str, str]:
    full = {"@context": CONTEXT, "type": "ImageRecord", **record}
    return {u: resolve(full, Query(use=u, at=AT)).outcome for u in uses}


def _registered_severity(code: str) -> str:
    table = SECURITY.read_text("utf-8").split("<!-- codes -->", 1)[1].split("<!-- /codes -->", 1)[0]
    m = re.search(rf"^\| `{re.escape(code)}` \| (\w+) \|", table, re.M)
    assert m is not None, f"{code} is not in the code table of spec/security.md"
    return m.group(1)


def test_the_limit_code_is_registered() -> None:
    assert limits.LIMIT_INPUT_SIZE == CODE
    assert _registered_severity(CODE) == str(Severity.ERROR) == str(limits.SEVERITIES[CODE])


def test_seeds_are_small_and_read_as_intended() -> None:
    """The baseline every other test compares with: each seed is read without a limit code, and a permitting
    seed does permit (otherwise "not allowed over the limit" would prove nothing)."""
    for case in CASES:
        assert len(case.seed) < 4096, case.id
        result = case.run(case.seed, case.source_name)
        assert CODE not in {i.code for i in result.issues}, case.id
        assert bool(permit_rules(result.record)) == case.permit_rules, (case.id, result)
        got = outcomes(result.record, case.permits)
        assert all(o == "allowed" for o in got.values()), (case.id, got)


@pytest.mark.parametrize("case", PARAMS)
def test_one_byte_over_the_limit_is_refused(case: Case) -> None:
    """req-limits / req-limit-fail-closed: 16 MiB + 1 byte is not parsed; one limit-input-size error, nothing
    imported, no use allowed."""
    data = padded(case, LIMIT + 1)
    result = case.run(data, case.source_name)
    assert [(i.code, str(i.severity)) for i in result.issues] == [(CODE, _registered_severity(CODE))]
    issue = result.issues[0]
    assert case.source_name in issue.message
    assert str(LIMIT + 1) in issue.message
    assert "16 MiB" in issue.message
    assert issue.path == ""
    assert issue.value == LIMIT + 1
    assert not _declarations(result.record)
    assert permit_rules(result.record) == []
    assert given_consent(result.record) == []
    got = outcomes(result.record, (*ASKED, *case.permits))
    assert "allowed" not in got.values(), got
    assert "constrained" not in got.values(), got


@pytest.mark.parametrize("case", PARAMS)
def test_exactly_the_limit_is_read(case: Case) -> None:
    """An input of exactly 16 MiB is within the limit: it gives the seed's own record and issues."""
    base = case.run(case.seed, case.source_name)
    result = case.run(padded(case, LIMIT), case.source_name)
    assert CODE not in {i.code for i in result.issues}
    assert result.record == base.record
    assert [(i.code, i.path) for i in result.issues] == [(i.code, i.path) for i in base.issues]
    got = outcomes(result.record, case.permits)
    assert all(o == "allowed" for o in got.values()), got


def test_flickr_import_many_refuses_an_oversized_response() -> None:
    """The command line reads multi-photo Flickr files through import_many: the same limit applies there."""
    assert len(flickr.import_many(_FLICKR_PHOTOS, source_name="photos.json")) == 2
    data = _FLICKR_PHOTOS + b"\n" * (LIMIT + 1 - len(_FLICKR_PHOTOS))
    results = flickr.import_many(data, source_name="photos.json")
    assert len(results) == 1
    assert results[0].record == {}
    assert [i.code for i in results[0].issues] == [CODE]


def test_odrl_turtle_over_the_limit_is_refused() -> None:
    """The ODRL importer's Turtle path is guarded too (before rdflib ever sees the text)."""
    ttl = (b"@prefix odrl: <http://www.w3.org/ns/odrl/2/> .\n"
           b"<http://example.com/p/1> a odrl:Set ; odrl:permission [ odrl:action odrl:use ] .\n")
    data = ttl + b" " * (LIMIT + 1 - len(ttl))
    result = registry.import_one(data, source_name="policy.ttl", kind="odrl")
    assert [i.code for i in result.issues] == [CODE]
    assert result.record == {}
