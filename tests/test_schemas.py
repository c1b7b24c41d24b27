"""The JSON Schemas (schemas/*.schema.json): meta-valid, $ids, offline refs, and what they accept and reject."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
BASE = "https://w3id.org/aiterms/schemas/1/"
CONTEXT_IRI = "https://w3id.org/aiterms/context/v1.jsonld"

RECORD: dict[str, Any] = json.loads((ROOT / "spec" / "examples" / "ex-record-declarations.json").read_text("utf-8"))


def _errors(validator: Any, instance: Any) -> list[str]:
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(instance)]


def test_every_schema_is_valid_2020_12_with_its_id(schemas: dict[str, Any]) -> None:
    from jsonschema import Draft202012Validator

    assert {"record.schema.json", "declaration.schema.json", "query.schema.json", "decision.schema.json",
            "registry-entry.schema.json", "conformance-case.schema.json", "report.schema.json",
            "enums.schema.json"} <= set(schemas)
    for name, schema in schemas.items():
        Draft202012Validator.check_schema(schema)
        assert schema["$id"] == BASE + name
        assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"


def test_bundled_copies_equal_the_sources(schemas: dict[str, Any]) -> None:
    for name, schema in schemas.items():
        src = ROOT / "schemas" / name
        if not src.exists():
            src = ROOT / "schemas" / "generated" / name
        assert json.loads(src.read_text("utf-8")) == schema


def test_enums_are_the_vocabulary(schemas: dict[str, Any]) -> None:
    from aiterms.vocab import Vocabulary

    v = Vocabulary.bundled()
    defs = schemas["enums.schema.json"]["$defs"]
    for scheme, name in (("use", "useId"), ("purpose", "purposeId"), ("actor", "actorId"), ("role", "roleId"),
                         ("obligation", "obligationId"), ("consent-status", "consentStatus"), ("effect", "effect"),
                         ("outcome", "outcome")):
        assert set(defs[name]["enum"]) == v.ids(scheme)


def _examples() -> list[Path]:
    index = json.loads((ROOT / "spec" / "examples" / "index.json").read_text("utf-8"))
    spec = [ROOT / "spec" / "examples" / e["file"] for e in index.values()
            if e.get("expect") == "valid" and e["format"] == "json"]
    return spec + sorted((ROOT / "reference" / "aiterms" / "examples").glob("*.json"))


@pytest.mark.parametrize("path", _examples(), ids=lambda p: p.name)
def test_example_records_are_valid(path: Path, schema_validator: Any) -> None:
    doc = json.loads(path.read_text("utf-8"))
    if doc.get("type") != "ImageRecord":
        pytest.skip("not a record")
    assert _errors(schema_validator("record.schema.json"), doc) == []


def _set(path: str, value: Any) -> Any:
    def mutate(r: dict[str, Any]) -> None:
        *head, last = path.split("/")
        target: Any = r
        for key in head:
            target = target[int(key)] if isinstance(target, list) else target[key]
        if value is _DELETE:
            del target[last]
        elif isinstance(target, list):
            target[int(last)] = value
        else:
            target[last] = value

    return mutate


_DELETE = object()

INVALID = {
    "no-context": _set("@context", _DELETE),
    "other-context": _set("@context", "https://schema.org/"),
    "context-array-wrong-first": _set("@context", ["https://schema.org/", CONTEXT_IRI]),
    "no-type": _set("type", _DELETE),
    "wrong-type": _set("type", "Image"),
    "unknown-key": _set("title", "x"),
    "unknown-nested-key": _set("declarations/0/rules/0/uses", "x"),
    "negative-persons": _set("depictedPersons", -1),
    "persons-string": _set("depictedPersons", "two"),
    "persons-float": _set("depictedPersons", 1.5),
    "bad-hash": _set("contentHash", "md5:abc"),
    "upper-hash": _set("contentHash", "sha256:" + "A" * 64),
    "ftp-url": _set("contentUrl", "ftp://example.org/a.jpg"),
    "tags-string": _set("tags", "no_cv"),
    "no-declared-by": _set("declarations/0/declaredBy", _DELETE),
    "no-role": _set("declarations/0/declaredBy/role", _DELETE),
    "role-not-kebab": _set("declarations/0/declaredBy/role", "Rights Holder"),
    "no-effect": _set("declarations/0/rules/0/effect", _DELETE),
    "effect-unknown": _set("declarations/0/rules/0/effect", "allow"),
    "use-not-kebab": _set("declarations/0/rules/0/use", "Train AI"),
    "purpose-string": _set("declarations/0/rules/1/purpose", "research"),
    "purpose-empty": _set("declarations/0/rules/1/purpose", []),
    "purpose-duplicate": _set("declarations/0/rules/1/purpose", ["research", "research"]),
    "jurisdiction-lower": _set("declarations/0/rules/1/jurisdiction", ["de"]),
    "jurisdiction-alpha3": _set("declarations/0/rules/1/jurisdiction", ["DEU"]),
    "date-words": _set("declarations/0/issued", "March 2019"),
    "datetime-no-offset": _set("declarations/0/issued", "2019-03-01T00:00:00"),
    "consent-status": _set("declarations/1/consent/0/status", "yes"),
    "source-no-signal": _set("declarations/2/source/signal", _DELETE),
}


@pytest.mark.parametrize("name", sorted(INVALID))
def test_record_schema_rejects(name: str, schema_validator: Any) -> None:
    record = copy.deepcopy(RECORD)
    INVALID[name](record)
    assert _errors(schema_validator("record.schema.json"), record), name


VALID = {
    "context-array": _set("@context", [CONTEXT_IRI, {"ex": "https://example.org/"}]),
    "extension-key": _set("x-note", {"anything": [1, 2]}),
    "nested-extension-key": _set("declarations/0/rules/0/x-internal", True),
    "persons-unknown": _set("depictedPersons", "unknown"),
    "persons-zero": _set("depictedPersons", 0),
    "unknown-but-kebab-use": _set("declarations/0/rules/0/use", "train-ai"),  # reported as unknown-use semantically
    "date-only": _set("declarations/0/until", "2030-01-01"),
    "offset": _set("declarations/0/issued", "2019-03-01T01:00:00.5+01:00"),
    "subdivision": _set("declarations/0/rules/1/jurisdiction", ["US-IL", "GB-ENG", "EU"]),
    "sha512": _set("contentHash", "sha512:" + "0" * 128),
}


@pytest.mark.parametrize("name", sorted(VALID))
def test_record_schema_accepts(name: str, schema_validator: Any) -> None:
    record = copy.deepcopy(RECORD)
    VALID[name](record)
    assert _errors(schema_validator("record.schema.json"), record) == []


def test_query_and_decision_schemas_match_the_model(schema_validator: Any) -> None:
    from aiterms.model import Decision, Query, Reason
    from aiterms.report import Issue, Severity

    query = Query(use="cv-training", purpose="research", actor="research-organization", jurisdiction="US-IL",
                  at="2026-01-01T00:00:00Z")
    assert _errors(schema_validator("query.schema.json"), query.to_json()) == []
    assert _errors(schema_validator("query.schema.json"), {"use": "train-ai"})
    assert _errors(schema_validator("query.schema.json"), {"purpose": "research"})
    decision = Decision(
        outcome="constrained", query=query, obligations=("attribution",),
        reasons=(Reason(step="alg-authority", effect="permit", text="…", use="ai-training",
                        declaration="/declarations/0", rule="/declarations/0/rules/1", role="rights-holder"),),
        steps=("alg-query",), warnings=(Issue("unknown-tag", Severity.WARNING, "…", "/tags/0"),))
    doc = json.loads(json.dumps(decision.to_json()))
    doc["warnings"] = [{k: v for k, v in w.items() if k != "spec"} | {"spec": "x"} for w in doc["warnings"]]
    assert _errors(schema_validator("decision.schema.json"), doc) == []
    doc["outcome"] = "maybe"
    assert _errors(schema_validator("decision.schema.json"), doc)


def test_report_schema(schema_validator: Any) -> None:
    report = {"valid": False, "issues": [{"code": "unknown-use", "severity": "error", "path": "/declarations/0",
                                          "line": 3, "message": "m", "spec": "https://w3id.org/aiterms/spec/x"}]}
    assert _errors(schema_validator("report.schema.json"), report) == []
    report["issues"][0]["severity"] = "fatal"
    assert _errors(schema_validator("report.schema.json"), report)


def test_conformance_case_schema(schema_validator: Any) -> None:
    v = schema_validator("conformance-case.schema.json")
    good = {"id": "validate-999", "class": "validator", "description": "d", "spec": ["req-known-use"],
            "document": RECORD, "expect": {"valid": True, "issues": []}}
    assert _errors(v, good) == []
    assert _errors(v, {**good, "documentText": "{}", "format": "json"})  # both inputs
    assert _errors(v, {k: x for k, x in good.items() if k != "expect"})
    resolver = {"id": "resolve-999", "class": "resolver", "description": "d", "spec": ["resolution#req-resolve-scope"],
                "record": RECORD, "tests": [{"id": "resolve-999-a", "query": {"use": "cv-training"},
                                             "expect": {"outcome": "notAllowed"}}]}
    assert _errors(v, resolver) == []
    resolver["tests"][0]["expect"]["outcome"] = "denied"
    assert _errors(v, resolver)
    assert _errors(v, {**good, "class": "oracle"})
