"""The vocabulary (vocab/aiterms.ttl) and its renderings: SPARQL lints, contract ids, mappings, context, shapes."""

from __future__ import annotations

import copy
import io
import json
import re
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
VOCAB = ROOT / "vocab"
NS = "https://w3id.org/aiterms/"
CONTEXT_IRI = f"{NS}context/v1.jsonld"


def _jsonld_graph(doc: Any, base: str | None = None) -> Any:
    """The RDF graph of a JSON-LD document, read by rdflib's JSON-LD parser into a plain Graph.

    ``Graph().parse(format="json-ld")`` wraps the Graph in a ConjunctiveGraph, which rdflib 7.1+ deprecates (a
    DeprecationWarning on every parse); ``to_rdf`` fills the Graph itself, as aiterms.parse.graph_from_jsonld does.
    No context is ever fetched: every document given here has its context inline."""
    from rdflib import Graph
    from rdflib.plugins.parsers.jsonld import to_rdf

    graph = Graph()
    to_rdf(doc, graph, base=base, version=1.1)
    return graph

# The concept ids of the team contract (notes/CONTRACT.md), verbatim.
CONTRACT_USES = {
    "data-mining": set(), "ai-use": {"data-mining"}, "ai-training": {"ai-use"}, "genai-training": {"ai-training"},
    "non-genai-training": {"ai-training"}, "computer-vision": {"ai-use"},
    "cv-training": {"ai-training", "computer-vision"}, "cv-evaluation": {"ai-evaluation", "computer-vision"},
    "ai-evaluation": {"ai-use"}, "biometric": {"ai-use"}, "face-recognition": {"biometric", "computer-vision"},
    "face-analysis": {"biometric", "computer-vision"}, "ai-inference": {"ai-use"}, "ai-indexing": {"ai-use"},
    "search-indexing": {"data-mining"}, "dataset-redistribution": set(),
}
CONTRACT_SCHEMES = {
    "role": {"rights-holder", "depicted-person", "platform", "dataset-curator"},
    "effect": {"permit", "prohibit"},
    "consent-status": {"given", "refused", "unknown"},
    "obligation": {"attribution", "share-alike", "obtain-consent", "contact-rights-holder", "compensate"},
    "purpose": {"research", "commercial", "non-commercial", "education", "personal"},
    "actor": {"research-organization", "cultural-heritage-institution", "company", "non-profit", "individual",
              "public-authority"},
    "outcome": {"allowed", "notAllowed", "constrained", "unspecified"},
}
IRI_PATH = {"use": "use", "purpose": "purpose", "actor": "actor", "role": "role", "obligation": "obligation",
            "consent-status": "consent", "effect": "effect", "outcome": "outcome"}

# Every term of every other signal that the vocabulary must map (issue #2), as (scheme, token).
REQUIRED_MAPPINGS = [
    *(("aipref", t) for t in ("tdm", "ai", "genai", "inference", "search", "all", "bots", "train-ai", "train-genai",
                              "ai-use", "ai-output")),
    *(("content-signal", t) for t in ("search", "ai-input", "ai-train")),
    *(("cawg", f"cawg.{k}") for k in ("data_mining", "ai_inference", "ai_training", "ai_generative_training")),
    *(("c2pa", f"c2pa.{k}") for k in ("data_mining", "ai_inference", "ai_training", "ai_generative_training")),
    *(("plus", f"DMI-{v}") for v in ("UNSPECIFIED", "ALLOWED", "PROHIBITED-AIMLTRAINING",
                                     "PROHIBITED-GENAIMLTRAINING", "PROHIBITED-EXCEPTSEARCHENGINEINDEXING",
                                     "PROHIBITED", "PROHIBITED-SEECONSTRAINT", "PROHIBITED-SEEEMBEDDEDRIGHTSEXPR",
                                     "PROHIBITED-SEELINKEDRIGHTSEXPR")),
    ("tdmrep", "tdm:mine"),
    *(("rsl", t) for t in ("all", "ai-all", "ai-train", "ai-input", "ai-index", "search")),
    *(("odrl-ai", t) for t in ("data-mining", "ai-training", "gen-ai", "ai-augment", "search", "index")),
    *(("cc-rel", f"cc:{t}") for t in ("Reproduction", "Distribution", "DerivativeWorks", "CommercialUse",
                                      "Attribution", "ShareAlike")),
    ("noai", "noai"), ("noai", "noimageai"),
]
# aipref train-ai has had three meanings; each must be mapped with its draft range.
TRAIN_AI = {"vocab-02..vocab-03": "ai-training", "vocab-04..vocab-05": "ai-training",
            "vocab-06..vocab-07": "genai-training"}


@pytest.fixture(scope="module")
def graph() -> Any:
    from rdflib import Graph

    return Graph().parse(VOCAB / "aiterms.ttl", format="turtle")


@pytest.fixture(scope="module")
def full_graph() -> Any:
    from rdflib import Graph

    return Graph().parse(VOCAB / "aiterms.nt", format="nt")


@pytest.fixture(scope="module")
def vocab_json() -> dict[str, Any]:
    return json.loads((ROOT / "reference" / "aiterms" / "_data" / "vocab.json").read_text("utf-8"))


@pytest.fixture(scope="module")
def context() -> dict[str, Any]:
    return json.loads((VOCAB / "context.jsonld").read_text("utf-8"))


PREFIXES = """
PREFIX aiterms: <https://w3id.org/aiterms/>
PREFIX skos: <http://www.w3.org/2004/02/skos/core#>
PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
PREFIX owl: <http://www.w3.org/2002/07/owl#>
"""
TERMS = PREFIXES + """
SELECT DISTINCT ?t WHERE {
  { ?t a owl:Class } UNION { ?t a owl:ObjectProperty } UNION { ?t a owl:DatatypeProperty }
  UNION { ?t a owl:AnnotationProperty } UNION { ?t a skos:Concept } UNION { ?t a skos:ConceptScheme }
  FILTER(STRSTARTS(STR(?t), "https://w3id.org/aiterms/"))
}"""


def _terms(g: Any) -> list[Any]:
    return [row[0] for row in g.query(TERMS)]


def test_every_term_has_label_definition_status_since_and_is_defined_by(graph: Any) -> None:
    missing = graph.query(PREFIXES + """
        SELECT ?t ?what WHERE {
          { ?t a owl:Class } UNION { ?t a owl:ObjectProperty } UNION { ?t a owl:DatatypeProperty }
          UNION { ?t a owl:AnnotationProperty } UNION { ?t a skos:Concept } UNION { ?t a skos:ConceptScheme }
          FILTER(STRSTARTS(STR(?t), "https://w3id.org/aiterms/"))
          VALUES (?p ?what) { (rdfs:label "label") (skos:definition "definition") (aiterms:status "status")
                              (aiterms:since "since") (rdfs:isDefinedBy "isDefinedBy") }
          FILTER NOT EXISTS { ?t ?p ?o }
        }""")
    assert not list(missing), sorted((str(t), str(w)) for t, w in missing)
    assert len(_terms(graph)) > 80


def test_definitions_are_one_sentence_ending_with_a_period(graph: Any) -> None:
    bad = []
    for t in _terms(graph):
        for d in graph.objects(t, __import__("rdflib").SKOS.definition):
            text = str(d)
            if not text.endswith(".") or re.search(r"[.!?] [A-Z]", text) or text[0].islower():
                bad.append((str(t), text))
    assert not bad, bad


def test_concepts_have_notation_matching_their_iri_and_pref_label(graph: Any) -> None:
    rows = graph.query(PREFIXES + """
        SELECT ?c ?n ?scheme ?label ?pref WHERE {
          ?c a skos:Concept ; skos:notation ?n ; skos:inScheme ?s ; rdfs:label ?label ; skos:prefLabel ?pref .
          ?s skos:notation ?scheme . }""")
    seen = 0
    for c, n, scheme, label, pref in rows:
        seen += 1
        assert str(c) == f"{NS}{IRI_PATH[str(scheme)]}/{n}", c
        assert str(label) == str(pref), c
    assert seen == sum(len(v) for v in CONTRACT_SCHEMES.values()) + len(CONTRACT_USES)


def test_broader_targets_exist_in_the_same_scheme_and_form_no_cycle(graph: Any) -> None:
    dangling = graph.query(PREFIXES + """
        SELECT ?c ?b WHERE { ?c skos:broader ?b .
          FILTER NOT EXISTS { ?c skos:inScheme ?s . ?b a skos:Concept ; skos:inScheme ?s } }""")
    assert not list(dangling)
    cycles = graph.query(PREFIXES + "SELECT ?c WHERE { ?c skos:broader+ ?c }")
    assert not list(cycles)


def test_every_iri_is_https(full_graph: Any) -> None:
    from rdflib import URIRef

    ours = {str(n) for t in full_graph for n in t if isinstance(n, URIRef) and "w3id.org/aiterms" in str(n)}
    assert ours
    assert all(i.startswith("https://w3id.org/aiterms/") for i in ours)


def test_is_defined_by_anchors_exist_in_the_spec(full_graph: Any) -> None:
    from rdflib import RDFS

    missing = set()
    for target in set(full_graph.objects(None, RDFS.isDefinedBy)):
        m = re.fullmatch(r"https://w3id\.org/aiterms/spec/([a-z-]+)#(.+)", str(target))
        if not m:
            continue
        text = (ROOT / "spec" / f"{m.group(1)}.md").read_text("utf-8")
        if f'id="{m.group(2)}"' not in text:
            missing.add(str(target))
    assert not missing, sorted(missing)


def test_ontology_header(graph: Any) -> None:
    from rdflib import OWL, Literal, URIRef

    onto = URIRef(NS)
    assert (onto, OWL.versionInfo, Literal("0.1.0")) in graph
    assert graph.value(onto, OWL.versionIRI) is not None
    assert str(graph.value(onto, URIRef("http://purl.org/vocab/vann/preferredNamespaceUri"))) == NS


def test_concept_ids_and_polyhierarchy_are_those_of_the_contract(vocab_json: dict[str, Any]) -> None:
    schemes = vocab_json["schemes"]
    assert {u: set(c["broader"]) for u, c in schemes["use"].items()} == CONTRACT_USES
    for scheme, ids in CONTRACT_SCHEMES.items():
        assert set(schemes[scheme]) == ids, scheme


def test_runtime_vocabulary_reads_the_generated_data() -> None:
    from aiterms.vocab import Vocabulary

    v = Vocabulary.bundled()
    assert v.is_narrower_or_equal("cv-training", "computer-vision")
    assert v.is_narrower_or_equal("face-recognition", "data-mining")
    assert not v.is_narrower_or_equal("face-recognition", "ai-training")
    assert v.is_biometric("face-analysis")
    assert not v.is_biometric("cv-training")
    assert {"face-recognition", "face-analysis", "biometric"} == set(v.descendants("biometric"))


def _uses_json() -> dict[str, Any]:
    from aiterms.cli import run

    out = io.StringIO()
    assert run(["uses", "--format", "json"], stdout=out, stderr=io.StringIO()) == 0
    doc: dict[str, Any] = json.loads(out.getvalue())
    return doc


@pytest.mark.parametrize(("scheme", "token"), REQUIRED_MAPPINGS)
def test_every_signal_term_is_mapped_and_listed_by_the_cli(scheme: str, token: str) -> None:
    doc = _uses_json()
    concepts = doc["uses"] + [c for cs in doc["schemes"].values() for c in cs]
    hits = [(c["id"], m) for c in concepts for m in c["mappings"] if (m["scheme"], m["token"]) == (scheme, token)]
    assert hits, f"{scheme} {token} is not mapped"
    assert all(m["relation"] in ("exact", "close", "broader", "narrower", "related") for _, m in hits)
    assert all(m.get("version") for _, m in hits)


def test_train_ai_is_mapped_in_each_of_its_meanings() -> None:
    uses = {u["id"]: u for u in _uses_json()["uses"]}
    found = {m["version"]: u for u, c in uses.items() for m in c["mappings"]
             if m["scheme"] == "aipref" and m["token"] == "train-ai"}
    assert found == TRAIN_AI


def test_lossy_mappings_say_what_is_lost(vocab_json: dict[str, Any]) -> None:
    for scheme in vocab_json["schemes"].values():
        for cid, c in scheme.items():
            for m in c["mappings"]:
                if m["relation"] in ("broader", "narrower", "related"):
                    assert m.get("note", "").endswith("."), (cid, m)


def test_skos_matches_are_derived_for_mappings_with_an_iri(full_graph: Any) -> None:
    from rdflib import SKOS, URIRef

    def has(use: str, prop: Any, target: str) -> bool:
        return (URIRef(f"{NS}use/{use}"), prop, URIRef(target)) in full_graph

    assert has("genai-training", SKOS.exactMatch, "http://www.w3.org/ns/odrl/2/gen-ai")
    assert has("data-mining", SKOS.exactMatch, "http://www.w3.org/ns/tdmrep#mine")
    assert has("ai-indexing", SKOS.broadMatch, "http://www.w3.org/ns/odrl/2/index")
    assert has("ai-training", SKOS.relatedMatch, "http://ns.useplus.org/ldf/vocab/DMI-PROHIBITED-AIMLTRAINING")
    assert has("dataset-redistribution", SKOS.broadMatch, "http://creativecommons.org/ns#Distribution")


def test_renderings_agree(full_graph: Any) -> None:
    from rdflib.compare import isomorphic

    jsonld = _jsonld_graph(json.loads((VOCAB / "aiterms.jsonld").read_text("utf-8")))
    assert isomorphic(jsonld, full_graph)
    tag = __import__("rdflib").URIRef(f"{NS}tag/no_cv")
    assert (tag, None, None) in full_graph


# --- the JSON-LD context ---------------------------------------------------------------------------------------


def _expand(doc: dict[str, Any], context: dict[str, Any]) -> Any:
    """The RDF graph of a canonical record, with the bundled context substituted for its IRI (never fetched)."""
    local = copy.deepcopy(doc)
    assert local["@context"] == CONTEXT_IRI
    local["@context"] = context["@context"]
    return _jsonld_graph(local, base="urn:aiterms:test:")


def _examples() -> list[Path]:
    index = json.loads((ROOT / "spec" / "examples" / "index.json").read_text("utf-8"))
    spec = [ROOT / "spec" / "examples" / e["file"] for e in index.values() if e.get("expect") == "valid"
            and e["format"] == "json"]
    return spec + sorted((ROOT / "reference" / "aiterms" / "examples").glob("*.json"))


@pytest.mark.parametrize("path", _examples(), ids=lambda p: p.name)
def test_canonical_records_expand_with_the_bundled_context_offline(
        path: Path, context: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    import urllib.request

    from rdflib import RDF, URIRef

    def no_network(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("the context must never be fetched")

    monkeypatch.setattr(urllib.request, "urlopen", no_network)
    doc = json.loads(path.read_text("utf-8"))
    g = _expand(doc, context)
    records = list(g.subjects(RDF.type, URIRef(f"{NS}ImageRecord")))
    assert len(records) == 1
    vocab_values = {str(o) for p, o in g.predicate_objects(None) if str(p).rsplit("/", 1)[-1]
                    in ("use", "purpose", "actor", "role", "effect", "status", "duties")}
    for iri in vocab_values:
        assert re.fullmatch(r"https://w3id\.org/aiterms/(use|purpose|actor|role|effect|consent|obligation)/[a-z-]+",
                            iri), iri


def test_context_defines_every_record_key_and_concept(context: dict[str, Any], vocab_json: dict[str, Any]) -> None:
    ctx = context["@context"]
    assert ctx["id"] == "@id"
    assert ctx["type"] == "@type"
    assert ctx["@protected"] is True
    for key in ("contentUrl", "contentHash", "creator", "owner", "license", "tags", "depictedPersons",
                "declarations", "declaredBy", "role", "name", "issued", "effectiveFrom", "until", "rules", "effect",
                "use", "purpose", "actor", "jurisdiction", "from", "duties", "consent", "status", "source", "signal",
                "location", "raw", "version", "observed", "ImageRecord"):
        assert key in ctx, key
    for key in ("use", "purpose", "actor", "role", "effect", "status", "duties"):
        assert ctx[key]["@type"] == "@vocab", key
    for key in ("creator", "tags", "declarations", "rules", "purpose", "actor", "jurisdiction", "duties", "consent"):
        assert ctx[key]["@container"] == "@set", key
    # every id-valued key maps its values into its scheme's namespace, and defines the registered ids there
    for key, scheme in (("use", "use"), ("purpose", "purpose"), ("actor", "actor"), ("role", "role"),
                        ("duties", "obligation"), ("status", "consent-status"), ("effect", "effect")):
        scoped = ctx[key]["@context"]
        concepts = vocab_json["schemes"][scheme]
        assert all(c["iri"] == scoped["@vocab"] + cid for cid, c in concepts.items()), key
        assert {k: v for k, v in scoped.items() if k != "@vocab"} == {cid: c["iri"] for cid, c in concepts.items()}
        assert not set(concepts) & set(ctx), f"{key}: a concept id is a top-level term"


def test_unknown_value_becomes_an_iri_in_its_namespace_that_is_no_concept(context: dict[str, Any],
                                                                          full_graph: Any) -> None:
    """An unregistered id is never dropped by JSON-LD expansion (that would make RDF tools see a record without the
    statement): it is an IRI of the scheme's namespace that the vocabulary does not define."""
    from rdflib import URIRef

    doc = {"@context": CONTEXT_IRI, "type": "ImageRecord",
           "declarations": [{"declaredBy": {"role": "rights-holder"},
                             "rules": [{"effect": "prohibit", "use": "train-ai", "purpose": ["research", "science"]},
                                       {"effect": "permit", "use": "research"}]}]}
    g = _expand(doc, context)
    values = sorted(str(o) for p, o in g.predicate_objects(None) if str(p) in (f"{NS}use", f"{NS}purpose"))
    assert values == [f"{NS}purpose/research", f"{NS}purpose/science", f"{NS}use/research", f"{NS}use/train-ai"]
    skos_in_scheme = URIRef("http://www.w3.org/2004/02/skos/core#inScheme")
    assert full_graph.value(URIRef(f"{NS}purpose/research"), skos_in_scheme) is not None
    for unknown in (f"{NS}purpose/science", f"{NS}use/research", f"{NS}use/train-ai"):
        assert full_graph.value(URIRef(unknown), skos_in_scheme) is None


# --- SHACL shapes ----------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def shapes() -> Any:
    from rdflib import Graph

    return Graph().parse(VOCAB / "shapes.ttl", format="turtle")


def _conforms(doc: dict[str, Any], context: dict[str, Any], shapes: Any, full_graph: Any) -> bool:
    import pyshacl

    conforms, _, _ = pyshacl.validate(_expand(doc, context) + full_graph, shacl_graph=shapes)
    return bool(conforms)


def test_shapes_accept_the_example_records(context: dict[str, Any], shapes: Any, full_graph: Any) -> None:
    for path in _examples():
        assert _conforms(json.loads(path.read_text("utf-8")), context, shapes, full_graph), path.name


@pytest.mark.parametrize("mutation", [
    lambda r: r["declarations"][0]["rules"][0].update(use="train-ai"),
    lambda r: r["declarations"][0]["rules"][0].update(effect="maybe"),
    lambda r: r["declarations"][0]["rules"][0].update(purpose=["fun"]),
    lambda r: r["declarations"][0].update(issued="yesterday"),
    lambda r: r["declarations"][0].pop("declaredBy"),
    lambda r: r["declarations"][0]["declaredBy"].update(role="owner"),
    lambda r: r.update(depictedPersons=-1),
    lambda r: r["declarations"][0].update(consent=[{"use": "face-recognition", "status": "refused"}]),
])
def test_shapes_reject_broken_records(mutation: Any, context: dict[str, Any], shapes: Any, full_graph: Any) -> None:
    record = {"@context": CONTEXT_IRI, "type": "ImageRecord", "id": "https://example.org/a",
              "declarations": [{"declaredBy": {"role": "rights-holder"},
                                "rules": [{"effect": "prohibit", "use": "computer-vision"}]}]}
    assert _conforms(record, context, shapes, full_graph)
    mutation(record)
    assert not _conforms(record, context, shapes, full_graph)


def test_an_added_context_cannot_change_a_registered_id(context: dict[str, Any]) -> None:
    """The registered ids are terms of the property-scoped contexts, which apply after any context a document adds
    (spec/record.md#vocabulary-values): "use": "ai-training" stays the concept even if a later context item (one
    a JSON-LD processor might fetch) defines a top-level term "ai-training"."""
    doc = {"@context": [context["@context"], {"ai-training": "https://example.org/evil",
                                              "research": "https://example.org/evil-purpose"}],
           "type": "ImageRecord",
           "declarations": [{"declaredBy": {"role": "rights-holder"},
                             "rules": [{"effect": "permit", "use": "ai-training", "purpose": ["research"]}]}]}
    g = _jsonld_graph(doc, base="urn:aiterms:test:")
    values = sorted(str(o) for p, o in g.predicate_objects(None) if str(p) in (f"{NS}use", f"{NS}purpose"))
    assert values == [f"{NS}purpose/research", f"{NS}use/ai-training"]
