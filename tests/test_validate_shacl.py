"""pySHACL with vocab/shapes.ttl agrees with the validator's verdict on the conformance cases SHACL can express.

The data graph is the record's RDF graph (JSON-LD expanded with the bundled context, or Turtle) merged with the
vocabulary graph (vocab/aiterms.nt), as vocab/shapes.ttl says. A case is compared when every error it expects is
one SHACL can see in that graph; the others are listed below with the reason they are out of SHACL's reach.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

pyshacl = pytest.importorskip("pyshacl")

from aiterms import parse  # noqa: E402 -- after the importorskip

ROOT = Path(__file__).resolve().parents[1]
SUITE = ROOT / "spec" / "conformance" / "validate"

# Errors the shapes express over the graph (closed shapes, cardinalities, patterns, skos:inScheme membership,
# the consent-by-depicted-person path constraint).
EXPRESSIBLE = {"schema-pattern", "schema-violation", "schema-required", "unknown-use", "unknown-purpose",
               "unknown-actor", "unknown-role", "unknown-obligation", "consent-not-by-depicted-person"}

# Why the other codes are out of SHACL's reach.
OUT_OF_REACH = {
    "json-syntax": "the document is not JSON: there is no graph",
    "jsonl-syntax": "the line is not JSON: there is no graph",
    "turtle-syntax": "the document is not Turtle: there is no graph",
    "context-missing": "without the context, JSON-LD expansion yields no aiterms triples (an empty, conforming graph)",
    "context-not-bundled": "the graph depends on a context that is never fetched",
    "jsonld-expansion": "the document has no record graph (or one with a cycle) to validate",
    "schema-type": "JSON-LD maps a single value and a one-item array to the same triples",
    "schema-enum": "an unknown effect/type/status value is dropped by expansion (relative IRI); a record whose "
                   "type is not ImageRecord is no SHACL target at all",
    "schema-additional-property": "keys the context does not define are dropped by JSON-LD expansion",
    "schema-range": "an empty array has no triples",
    "schema-unique": "RDF has no duplicate triples",
    "until-before-start": "comparing two literals as instants needs SPARQL, not in the shapes",
    "invalid-date": "calendar validity (2019-02-30) needs more than the shapes' pattern",
    "contradictory-rules": "needs a SPARQL constraint across rules and declarations, not in the shapes",
    "unknown-tag": "the tag registry is not part of the shapes (an error only in strict mode)",
    "tag-near-miss": "the tag registry is not part of the shapes (an error only in strict mode)",
    "tag-confusable": "the tag registry is not part of the shapes (an error only in strict mode)",
    "limit-json-depth": "limits apply to the input document, before any graph exists",
    "limit-string-length": "limits apply to the input document, before any graph exists",
    "limit-tags": "limits apply to the input document, before any graph exists",
}

# Cases whose codes SHACL expresses in general but not for this document, and why.
CASE_OUT_OF_REACH = {
    "validate-036-schema-required-type": "a record without type is no SHACL target",
    "validate-048-unknown-purpose": "an unregistered id in compact JSON is a relative IRI, dropped by expansion "
                                    "(the rule keeps a registered purpose, so it conforms)",
    "validate-049-unknown-actor": "an unregistered id in compact JSON is dropped by expansion (no actor left)",
    "validate-051-unknown-obligation": "an unregistered id in compact JSON is dropped by expansion (no duty left)",
    "validate-068-many-findings": "compared: unknown-use drops the use, which SHACL reports",
}


def _cases() -> list[Any]:
    out = []
    for path in sorted(SUITE.glob("*.json")):
        case = json.loads(path.read_text("utf-8"))
        errors = {i["code"] for i in case["expect"].get("issues", []) if i.get("severity", "error") == "error"}
        unreachable = sorted(errors - EXPRESSIBLE)
        reason = CASE_OUT_OF_REACH.get(case["id"])
        if reason and not reason.startswith("compared"):
            marks = [pytest.mark.skip(reason=reason)]
        elif unreachable and not (reason and reason.startswith("compared")):
            marks = [pytest.mark.skip(reason="; ".join(f"{c}: {OUT_OF_REACH[c]}" for c in unreachable))]
        elif case.get("format") == "jsonl":
            marks = [pytest.mark.skip(reason="JSON Lines holds several records; SHACL sees one graph")]
        else:
            marks = []
        out.append(pytest.param(case, id=case["id"], marks=marks))
    return out


@pytest.fixture(scope="module")
def graphs() -> tuple[Any, Any]:
    from rdflib import Graph

    vocabulary = Graph().parse(ROOT / "vocab" / "aiterms.nt", format="nt")
    shapes = Graph().parse(ROOT / "vocab" / "shapes.ttl", format="turtle")
    return vocabulary, shapes


@pytest.mark.parametrize("case", _cases())
def test_shacl_agrees_with_validator(case: dict[str, Any], graphs: tuple[Any, Any]) -> None:
    vocabulary, shapes = graphs
    if "document" in case:
        data = parse.graph_from_jsonld(case["document"])
    else:
        data = parse.graph_from_turtle(case["documentText"])
    conforms, _, text = pyshacl.validate(data + vocabulary, shacl_graph=shapes)
    assert conforms == case["expect"]["valid"], text


def test_every_code_is_classified() -> None:
    table = (ROOT / "spec" / "validation.md").read_text("utf-8").split("<!-- codes -->")[1].split("<!-- /codes -->")[0]
    codes = {line.split("`")[1] for line in table.splitlines() if line.startswith("| `")}
    warnings_only = {"deprecated-term", "deprecated-tag", "unknown-license", "input-unreadable"}
    assert codes - EXPRESSIBLE - set(OUT_OF_REACH) == warnings_only
