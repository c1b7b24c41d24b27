"""pySHACL with vocab/shapes.ttl agrees with the validator's verdict on every conformance case SHACL can express.

The data graph is the record's RDF graph (JSON-LD expanded with the bundled context, or Turtle) merged with the
vocabulary graph (vocab/aiterms.nt), as vocab/shapes.ttl says. Every case with a graph is compared:

* a valid case must conform (the shapes never reject what the validator accepts);
* an invalid case must not conform, when at least one of its errors is one the shapes can see in the graph.

The cases left out are those without a graph (or with another one), and invalid cases whose every error is out of
SHACL's reach; each is listed below with the reason.
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

# Errors the shapes express over the graph: closed shapes, cardinalities, patterns, skos:inScheme membership
# (effect: sh:in), the record's rdf:type, and the SPARQL-based constraints (until after the start, real calendar
# dates, contradictory rules, consent only by depicted persons).
EXPRESSIBLE = {"schema-pattern", "schema-violation", "schema-required", "schema-enum", "unknown-use",
               "unknown-purpose", "unknown-actor", "unknown-role", "unknown-obligation", "until-before-start",
               "invalid-date", "contradictory-rules", "consent-not-by-depicted-person"}

# Documents with one of these errors have no record graph, or a graph that is not the record's: not compared.
NO_GRAPH = {
    "json-syntax": "the document is not JSON: there is no graph",
    "jsonl-syntax": "the line is not JSON: there is no graph",
    "turtle-syntax": "the document is not Turtle: there is no graph",
    "context-missing": "without the context, JSON-LD expansion yields no aiterms triples (an empty, conforming graph)",
    "context-not-bundled": "the graph depends on a context that is never fetched",
    "jsonld-expansion": "the document has no record graph (a cycle, no ImageRecord, or a context item that "
                        "changes what its terms mean)",
    "limit-json-depth": "limits apply to the input document, before any graph exists",
    "limit-nesting-depth": "limits apply to the input document, before any graph exists",
    "limit-string-length": "limits apply to the input document, before any graph exists",
    "limit-tags": "limits apply to the input document, before any graph exists",
    "limit-rules": "limits apply to the input document, before any graph exists",
    "limit-declarations": "limits apply to the input document, before any graph exists",
}

# Errors the graph cannot show; an invalid case is compared only if it has another, expressible, error.
OUT_OF_REACH = {
    "schema-type": "JSON-LD maps a single value and a one-item array to the same triples",
    "schema-additional-property": "keys the context does not define are dropped by JSON-LD expansion",
    "schema-range": "an empty array has no triples",
    "schema-unique": "RDF has no duplicate triples",
    "unknown-tag": "the tag registry is not part of the shapes (an error only in strict mode)",
    "tag-near-miss": "the tag registry is not part of the shapes (an error only in strict mode)",
    "tag-confusable": "the tag registry is not part of the shapes (an error only in strict mode)",
}

# Codes that are never errors (so never decide a verdict), or have no document to give a graph of.
NOT_A_VERDICT = {"deprecated-term", "deprecated-tag", "unknown-license", "limit-issues", "input-unreadable",
                 "limit-input-size", "limit-line-length"}

# Cases whose errors SHACL expresses in general but not for this document, and why.
CASE_OUT_OF_REACH = {
    "validate-036-schema-required-type": "a record without type and without declarations is no SHACL target",
}


def _errors(case: dict[str, Any]) -> set[str]:
    return {i["code"] for i in case["expect"].get("issues", []) if i.get("severity", "error") == "error"}


def _skip_reason(case: dict[str, Any]) -> str | None:
    if case.get("format") == "jsonl":
        return "JSON Lines holds several records; SHACL sees one graph"
    if case["id"] in CASE_OUT_OF_REACH:
        return CASE_OUT_OF_REACH[case["id"]]
    errors = _errors(case)
    blocking = sorted(errors & set(NO_GRAPH))
    if blocking:
        return "; ".join(f"{c}: {NO_GRAPH[c]}" for c in blocking)
    if not case["expect"]["valid"] and not errors & EXPRESSIBLE:
        return "; ".join(f"{c}: {OUT_OF_REACH[c]}" for c in sorted(errors))
    return None


def _cases() -> list[Any]:
    out = []
    for path in sorted(SUITE.glob("*.json")):
        case = json.loads(path.read_text("utf-8"))
        reason = _skip_reason(case)
        marks = [pytest.mark.skip(reason=reason)] if reason else []
        out.append(pytest.param(case, id=case["id"], marks=marks))
    return out


@pytest.fixture(scope="module", autouse=True)
def _prepared_queries() -> Any:
    """pySHACL hands rdflib each SPARQL constraint as text, which rdflib parses again for every focus node (most
    of the run time); reuse the parsed query, as rdflib's own prepareQuery does. Results are unchanged."""
    from rdflib.plugins.sparql import processor
    from rdflib.plugins.sparql.algebra import translateQuery
    from rdflib.plugins.sparql.parser import parseQuery

    original = processor.SPARQLProcessor.query
    prepared: dict[Any, Any] = {}

    def query(self: Any, q: Any, initBindings: Any = None, initNs: Any = None,  # noqa: PLR0917 -- rdflib's signature
              base: Any = None, DEBUG: bool = False) -> Any:
        if isinstance(q, str):
            key = (q, base, tuple(sorted((initNs or {}).items())))
            if key not in prepared:
                prepared[key] = translateQuery(parseQuery(q), base, initNs)
            q = prepared[key]
        return original(self, q, initBindings, initNs, base, DEBUG)

    patch = pytest.MonkeyPatch()
    patch.setattr(processor.SPARQLProcessor, "query", query)
    yield
    patch.undo()


@pytest.fixture(scope="module")
def graphs() -> tuple[Any, Any]:
    from rdflib import Graph

    vocabulary = Graph().parse(ROOT / "vocab" / "aiterms.nt", format="nt")
    shapes = Graph().parse(ROOT / "vocab" / "shapes.ttl", format="turtle")
    return vocabulary, shapes


def _graph(case: dict[str, Any]) -> Any:
    if "document" in case:
        return parse.graph_from_jsonld(case["document"])
    if case.get("format", "turtle") in ("turtle", "ntriples"):
        return parse.graph_from_turtle(case["documentText"])
    return parse.graph_from_jsonld(json.loads(case["documentText"]))


def _conforms(data: Any, graphs: tuple[Any, Any]) -> tuple[bool, str]:
    vocabulary, shapes = graphs
    conforms, _, text = pyshacl.validate(data + vocabulary, shacl_graph=shapes, advanced=True)
    return bool(conforms), str(text)


# The shapes' messages name these codes, so the report shows that the right constraint fired.
NAMED_IN_MESSAGES = {"schema-enum", "unknown-use", "unknown-purpose", "unknown-actor", "unknown-role",
                     "unknown-obligation", "until-before-start", "invalid-date", "contradictory-rules",
                     "consent-not-by-depicted-person"}


@pytest.mark.parametrize("case", _cases())
def test_shacl_agrees_with_validator(case: dict[str, Any], graphs: tuple[Any, Any]) -> None:
    conforms, text = _conforms(_graph(case), graphs)
    assert conforms == case["expect"]["valid"], text
    for code in sorted(_errors(case) & NAMED_IN_MESSAGES):
        assert f"{code})" in text or f"{code}," in text, f"no {code} in the SHACL report:\n{text}"


def test_every_code_is_classified() -> None:
    """Each code of the validation table, and each code a validator case expects, is either expressible by the
    shapes or listed with the reason it is not (so a new code cannot silently escape the comparison)."""
    classified = EXPRESSIBLE | set(NO_GRAPH) | set(OUT_OF_REACH) | NOT_A_VERDICT
    expected = {i["code"] for p in SUITE.glob("*.json")
                for i in json.loads(p.read_text("utf-8"))["expect"].get("issues", [])}
    table = (ROOT / "spec" / "validation.md").read_text("utf-8").split("<!-- codes -->")[1].split("<!-- /codes -->")[0]
    codes = {line.split("`")[1] for line in table.splitlines() if line.startswith("| `")}
    assert (codes | expected) - classified == set()


# ---------------------------------------------------------------------------------------------------------
# The fail-open hole the property-scoped contexts close: an unregistered id is an IRI the shapes reject, in every
# form of the record.

UNKNOWN = {
    "@context": "https://w3id.org/aiterms/context/v1.jsonld",
    "type": "ImageRecord",
    "declarations": [{"declaredBy": {"role": "rights-holder"},
                      "rules": [{"effect": "permit", "use": "ai-training", "purpose": ["research", "science"]}]}],
}


@pytest.mark.parametrize("form", ["compact", "expanded", "turtle"])
def test_unregistered_purpose_is_seen_by_shacl_in_every_form(form: str, graphs: tuple[Any, Any]) -> None:
    graph = parse.graph_from_jsonld(json.loads(json.dumps(UNKNOWN)))
    if form == "expanded":
        graph = parse.graph_from_jsonld(json.loads(graph.serialize(format="json-ld")))
    elif form == "turtle":
        graph = parse.graph_from_turtle(graph.serialize(format="turtle"))
    from rdflib import URIRef

    assert (None, None, URIRef("https://w3id.org/aiterms/purpose/science")) in graph
    conforms, text = _conforms(graph, graphs)
    assert not conforms
    assert "unknown-purpose" in text
