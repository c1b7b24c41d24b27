"""The one generator: ``python -m aiterms._build [--check]`` (house style C7).

Reads the hand-edited sources of a source checkout -- ``vocab/aiterms.ttl``, ``vocab/tags.json``,
``vocab/*.json``, ``vocab/shapes.ttl``, ``schemas/*.schema.json`` and ``spec/*.md`` -- and produces every generated
file: the JSON-LD context, the JSON-LD and N-Triples renderings of the vocabulary, the closed enums, the package
data in ``reference/aiterms/_data``, the generated regions of ``spec/*.md``, ``spec/codes.md``, the extracted
spec examples and the conformance manifest. Output is deterministic (sorted keys, ``indent=2``, trailing newline,
no blank-node labels), so ``--check`` and ``tests/test_generated.py`` can compare it byte for byte.

This module reads the vocabulary and renders it (context, RDF, enums, package data); the spec side -- code
tables, anchors, examples, the generated tables of ``spec/*.md`` -- and the shared basics (:class:`BuildError`,
namespaces, :func:`dump_json`) are in :mod:`aiterms._build_spec`.

Never imported by the library itself.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib
import json
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aiterms._build_spec import (
    DCTERMS,
    EXT,
    NS,
    OWL,
    PREFIXES,
    RDF,
    RDFS,
    SKOS,
    VANN,
    XSD,
    BuildError,
    _compact,
    _load_json,
    _read_spec_version,
    anchors_of,
    codes_md,
    dump_json,
    extract_examples,
    fill_regions,
    parse_codes,
)

CONTEXT_IRI = f"{NS}context/v1.jsonld"
SCHEMA_BASE = f"{NS}schemas/1/"
GENID = f"{NS}.well-known/genid/"
SPEC_BASE = f"{NS}spec/"
HINT = "run `python -m aiterms._build`"

# JSON names of the concept schemes (vocab.py reads these) -> JSON Schema $defs name of the closed enum.
ENUM_DEFS = {"use": "useId", "purpose": "purposeId", "actor": "actorId", "role": "roleId",
             "obligation": "obligationId", "consent-status": "consentStatus", "effect": "effect",
             "outcome": "outcome"}
RELATIONS = {"exact": "exactMatch", "close": "closeMatch", "broader": "broadMatch", "narrower": "narrowMatch",
             "related": "relatedMatch"}
TAG_STATUSES = ("provisional", "active", "deprecated", "obsolete")


# ---------------------------------------------------------------------------------------------------------------
# Vocabulary (vocab/aiterms.ttl)


@dataclass
class Vocab:
    version: str
    graph: Any  # rdflib.Graph of aiterms.ttl
    schemes: dict[str, dict[str, dict[str, Any]]]  # scheme name -> id -> runtime JSON
    scheme_iris: dict[str, str]
    scheme_namespaces: dict[str, str]  # scheme name -> vann:preferredNamespaceUri (concept IRI = namespace + id)
    properties: list[dict[str, Any]]  # JSON-LD rendering hints
    classes: list[dict[str, Any]]


def _lit(graph: Any, s: Any, p: str) -> str | None:
    from rdflib import URIRef

    v = graph.value(s, URIRef(p))
    return None if v is None else str(v)


def load_vocab(root: Path) -> Vocab:
    from rdflib import OWL as ROWL
    from rdflib import RDF as RRDF
    from rdflib import Graph, URIRef

    path = root / "vocab" / "aiterms.ttl"
    graph = Graph()
    try:
        graph.parse(path, format="turtle")
    except Exception as exc:  # rdflib raises many types; the build must stop with the file named
        raise BuildError(f"{path}: not valid Turtle: {exc}") from exc
    version = _lit(graph, URIRef(NS), OWL + "versionInfo")
    if not version:
        raise BuildError(f"{path}: the ontology <{NS}> needs owl:versionInfo")

    schemes: dict[str, dict[str, dict[str, Any]]] = {}
    scheme_iris: dict[str, str] = {}
    namespaces: dict[str, str] = {}
    for scheme in sorted(graph.subjects(RRDF.type, URIRef(SKOS + "ConceptScheme")), key=str):
        name = _lit(graph, scheme, SKOS + "notation")
        if not name:
            raise BuildError(f"{path}: concept scheme <{scheme}> needs skos:notation")
        scheme_iris[name] = str(scheme)
        ns = _lit(graph, scheme, VANN + "preferredNamespaceUri")
        if not ns or not ns.startswith(NS) or not ns.endswith("/") or ns in namespaces.values():
            raise BuildError(f"{path}: concept scheme <{scheme}> needs its own vann:preferredNamespaceUri, a "
                             f"namespace under {NS} ending in '/' (got {ns!r})")
        namespaces[name] = ns
        schemes[name] = {}
        for concept in sorted(graph.subjects(URIRef(SKOS + "inScheme"), scheme), key=str):
            cid = _lit(graph, concept, SKOS + "notation")
            if not cid:
                raise BuildError(f"{path}: concept <{concept}> needs skos:notation")
            if cid in schemes[name]:
                raise BuildError(f"{path}: two concepts in scheme {name!r} have the notation {cid!r}")
            if str(concept) != ns + cid:
                raise BuildError(f"{path}: concept <{concept}> of scheme {name!r} must have the IRI <{ns}{cid}> "
                                 "(the scheme's namespace followed by its skos:notation)")
            schemes[name][cid] = _concept_json(graph, concept, cid, path)
    for name, concepts in schemes.items():
        for cid, c in concepts.items():
            for b in c["broader"]:
                if b not in concepts:
                    raise BuildError(f"{path}: {name}/{cid} has broader {b!r}, which is not in the scheme")
        _check_acyclic(name, concepts, path)

    props: list[dict[str, Any]] = []
    classes: list[dict[str, Any]] = []
    for s in sorted(set(graph.subjects(URIRef(NS + "jsonTerm"), None)), key=str):
        term = _lit(graph, s, NS + "jsonTerm")
        value_scheme = graph.value(s, URIRef(NS + "valueScheme"))
        scheme_name = None
        if value_scheme is not None:
            scheme_name = _lit(graph, value_scheme, SKOS + "notation")
        props.append({"term": term, "iri": str(s), "type": _lit(graph, s, NS + "jsonType"),
                      "container": _lit(graph, s, NS + "jsonContainer"), "scheme": scheme_name,
                      "label": _lit(graph, s, RDFS + "label"), "definition": _lit(graph, s, SKOS + "definition")})
    for s in sorted(graph.subjects(RRDF.type, ROWL.Class), key=str):
        if str(s).startswith(NS):
            classes.append({"term": str(s)[len(NS):], "iri": str(s), "label": _lit(graph, s, RDFS + "label"),
                            "definition": _lit(graph, s, SKOS + "definition")})
    return Vocab(version, graph, schemes, scheme_iris, namespaces, props, classes)


def _concept_json(graph: Any, concept: Any, cid: str, path: Path) -> dict[str, Any]:
    from rdflib import URIRef

    broader = sorted(_lit(graph, b, SKOS + "notation") or "" for b in graph.objects(concept, URIRef(SKOS + "broader")))
    replaced = graph.value(concept, URIRef(DCTERMS + "isReplacedBy"))
    out: dict[str, Any] = {
        "iri": str(concept),
        "label": _lit(graph, concept, SKOS + "prefLabel") or _lit(graph, concept, RDFS + "label"),
        "definition": _lit(graph, concept, SKOS + "definition"),
        "broader": broader,
        "status": _lit(graph, concept, NS + "status"),
        "since": _lit(graph, concept, NS + "since"),
        "mappings": [],
    }
    for key in ("label", "definition", "status", "since"):
        if not out[key]:
            raise BuildError(f"{path}: concept <{concept}> has no {key}")
    if replaced is not None:
        out["replacedBy"] = _lit(graph, replaced, SKOS + "notation") or str(replaced)
    for m in graph.objects(concept, URIRef(NS + "mapping")):
        entry = {
            "scheme": _lit(graph, m, NS + "scheme"), "version": _lit(graph, m, NS + "schemeVersion"),
            "token": _lit(graph, m, NS + "token"), "relation": _lit(graph, m, NS + "relation"),
            "iri": _lit(graph, m, NS + "target"), "note": _lit(graph, m, RDFS + "comment"),
            "effect": _lit(graph, m, NS + "mappingEffect"),
        }
        if not entry["scheme"] or not entry["token"] or entry["relation"] not in RELATIONS:
            raise BuildError(f"{path}: a mapping of <{concept}> needs aiterms:scheme, aiterms:token and a relation "
                             f"in {sorted(RELATIONS)} (got {entry})")
        if entry["effect"] not in (None, "permit", "prohibit", "none"):
            raise BuildError(f"{path}: mapping {entry['token']!r} of <{concept}> has effect {entry['effect']!r}")
        out["mappings"].append({k: v for k, v in entry.items() if v is not None})
    out["mappings"].sort(key=lambda m: (m["scheme"], m.get("version", ""), m["token"], m["relation"]))
    return out


def _check_acyclic(name: str, concepts: Mapping[str, Mapping[str, Any]], path: Path) -> None:
    state: dict[str, int] = {}

    def visit(cid: str, trail: tuple[str, ...]) -> None:
        if state.get(cid) == 2:
            return
        if state.get(cid) == 1:
            raise BuildError(f"{path}: skos:broader cycle in scheme {name!r}: {' -> '.join((*trail, cid))}")
        state[cid] = 1
        for b in concepts[cid]["broader"]:
            visit(b, (*trail, cid))
        state[cid] = 2

    for cid in concepts:
        visit(cid, ())


def vocab_json(v: Vocab) -> dict[str, Any]:
    return {"version": v.version, "namespace": NS, "schemeIris": v.scheme_iris,
            "schemes": {name: concepts for name, concepts in v.schemes.items() if name != "tag"}}


# ---------------------------------------------------------------------------------------------------------------
# JSON-LD context (vocab/context.jsonld, served as CONTEXT_IRI)


def context_json(v: Vocab) -> dict[str, Any]:
    """The fixed context of canonical records: keyword aliases, classes and properties.

    A property whose values are ids of a concept scheme (``aiterms:valueScheme``, JSON type ``@vocab``) carries a
    property-scoped context: ``@vocab`` is the scheme's namespace, so that every string value -- registered id or
    not -- expands to an IRI in that namespace (``"use": "train"`` to ``…/use/train``) and no value is dropped by
    JSON-LD expansion; and each registered id is a term of that scoped context, so that no context a document
    adds can change what a registered id means (spec/record.md#req-record-context). No concept id is a term of
    the top-level context.
    """
    ctx: dict[str, Any] = {"@version": 1.1, "@protected": True, "id": "@id", "type": "@type"}
    owner: dict[str, str] = {"id": "keyword alias", "type": "keyword alias"}

    def put(term: str, value: Any, what: str) -> None:
        if term in owner:
            raise BuildError(f"vocab/aiterms.ttl: the JSON-LD term {term!r} would be defined twice ({owner[term]} "
                             f"and {what}); rename one of them")
        owner[term] = what
        ctx[term] = value

    for c in v.classes:
        put(c["term"], c["iri"], f"class {c['iri']}")
    for p in v.properties:
        if p["term"] == "status" and p["scheme"] is None:
            continue
        d: dict[str, Any] = {"@id": p["iri"]}
        if p["type"]:
            d["@type"] = p["type"]
        if p["container"]:
            d["@container"] = p["container"]
        if p["type"] == "@vocab":
            if p["scheme"] not in v.schemes:
                raise BuildError(f"vocab/aiterms.ttl: property <{p['iri']}> has aiterms:jsonType \"@vocab\" but no "
                                 "aiterms:valueScheme naming a concept scheme")
            scoped: dict[str, Any] = {"@vocab": v.scheme_namespaces[p["scheme"]]}
            for cid, c in sorted(v.schemes[p["scheme"]].items()):
                scoped[cid] = c["iri"]
            d["@context"] = scoped
        put(p["term"], d if len(d) > 1 else p["iri"], f"property {p['iri']}")
    return {"@context": ctx}


# ---------------------------------------------------------------------------------------------------------------
# RDF renderings (vocab/aiterms.nt, vocab/aiterms.jsonld): ttl + derived skos:*Match + tags as skos:Concepts


def full_graph(v: Vocab, tags: list[dict[str, Any]]) -> Any:
    from rdflib import BNode, Graph, Literal, URIRef
    from rdflib.namespace import RDF as RRDF

    g = Graph()
    for t in v.graph:
        g.add(t)
    for s, m in list(v.graph.subject_objects(URIRef(NS + "mapping"))):
        target = v.graph.value(m, URIRef(NS + "target"))
        relation = v.graph.value(m, URIRef(NS + "relation"))
        if target is None or relation is None:
            continue
        has_effect = v.graph.value(m, URIRef(NS + "mappingEffect")) is not None
        prop = "relatedMatch" if has_effect else RELATIONS[str(relation)]
        g.add((s, URIRef(SKOS + prop), target))
    scheme = URIRef(v.scheme_iris["tag"])
    for t in tags:
        s = URIRef(f"{NS}tag/{t['id']}")
        g.add((s, RRDF.type, URIRef(SKOS + "Concept")))
        g.add((s, URIRef(SKOS + "inScheme"), scheme))
        g.add((s, URIRef(SKOS + "notation"), Literal(t["id"])))
        g.add((s, URIRef(SKOS + "prefLabel"), Literal(t["label"], lang="en")))
        g.add((s, URIRef(RDFS + "label"), Literal(t["label"], lang="en")))
        g.add((s, URIRef(SKOS + "definition"), Literal(t["description"], lang="en")))
        g.add((s, URIRef(NS + "status"), Literal(t["status"])))
        g.add((s, URIRef(NS + "since"), Literal(t["since"])))
        g.add((s, URIRef(RDFS + "isDefinedBy"), URIRef(t["reference"])))
        g.add((s, URIRef(DCTERMS + "publisher"), Literal(t["changeController"])))
        if t["status"] in ("deprecated", "obsolete"):
            g.add((s, URIRef(OWL + "deprecated"), Literal(True)))
        if t.get("replacedBy"):
            g.add((s, URIRef(DCTERMS + "isReplacedBy"), URIRef(f"{NS}tag/{t['replacedBy']}")))
        for variant in t.get("variants", ()):
            g.add((s, URIRef(SKOS + "hiddenLabel"), Literal(variant)))
        for rule in t.get("rules", ()):
            r = BNode()
            g.add((s, URIRef(NS + "rule"), r))
            g.add((r, RRDF.type, URIRef(NS + "Rule")))
            g.add((r, URIRef(NS + "effect"), URIRef(v.schemes["effect"][rule["effect"]]["iri"])))
            g.add((r, URIRef(NS + "use"), URIRef(v.schemes["use"][rule["use"]]["iri"])))
            for key, sch in (("purpose", "purpose"), ("actor", "actor"), ("duties", "obligation")):
                for val in rule.get(key, ()):
                    g.add((r, URIRef(NS + key), URIRef(v.schemes[sch][val]["iri"])))
            for j in rule.get("jurisdiction", ()):
                g.add((r, URIRef(NS + "jurisdiction"), Literal(j)))
    return skolemize(g)


def skolemize(g: Any) -> Any:
    """Replace every blank node by an IRI derived from its parent and content, so no output carries a bnode label."""
    from rdflib import BNode, Graph, URIRef

    memo: dict[Any, str] = {}

    def key(node: Any, stack: frozenset[Any]) -> str:
        if not isinstance(node, BNode):
            return str(node.n3())
        if node in memo:
            return memo[node]
        if node in stack:
            raise BuildError("blank-node cycle in the vocabulary graph")
        parts = sorted(f"{p.n3()} {key(o, stack | {node})}" for p, o in g.predicate_objects(node))
        parents = sorted(f"{s.n3()} {p.n3()}" for s, p in g.subject_predicates(node) if not isinstance(s, BNode))
        memo[node] = "[" + ";".join(parents) + "|" + ";".join(parts) + "]"
        return memo[node]

    def iri(node: Any) -> Any:
        if not isinstance(node, BNode):
            return node
        return URIRef(GENID + hashlib.sha256(key(node, frozenset()).encode()).hexdigest()[:24])

    out = Graph()
    for s, p, o in g:
        out.add((iri(s), p, iri(o)))
    return out


def ntriples(g: Any) -> bytes:
    lines = {line for line in g.serialize(format="nt", encoding="utf-8").decode("utf-8").splitlines() if line}
    return ("\n".join(sorted(lines)) + "\n").encode("utf-8")


def jsonld_doc(g: Any) -> dict[str, Any]:
    """A flattened JSON-LD document: one node per subject, sorted; IRIs compacted with the usual prefixes."""
    from rdflib import Literal, URIRef

    nodes: dict[str, dict[str, list[Any]]] = {}
    for s, p, o in g:
        node = nodes.setdefault(str(s), {})
        if p == URIRef(RDF + "type"):
            node.setdefault("@type", []).append(_compact(str(o)))
            continue
        if isinstance(o, Literal):
            val: Any = {"@value": str(o)}
            if o.language:
                val["@language"] = o.language
            elif o.datatype is not None and str(o.datatype) != XSD + "string":
                val["@type"] = _compact(str(o.datatype))
        else:
            val = {"@id": _compact(str(o))}
        node.setdefault(_compact(str(p)), []).append(val)
    graph = []
    for sid in sorted(nodes):
        obj: dict[str, Any] = {"@id": _compact(sid)}
        for k, vals in nodes[sid].items():
            obj[k] = sorted(vals, key=lambda x: json.dumps(x, sort_keys=True))
        graph.append(obj)
    return {"@context": dict(PREFIXES), "@graph": graph}


# ---------------------------------------------------------------------------------------------------------------
# Tag registry (vocab/tags.json)


def schema_registry(schemas: Mapping[str, Any]) -> Any:
    """A ``referencing.Registry`` of the given schemas by ``$id``; it never retrieves anything remote."""
    from referencing import Registry, Resource
    from referencing.exceptions import NoSuchResource

    def refuse(uri: str) -> Any:
        raise NoSuchResource(ref=uri)  # type: ignore[call-arg]

    resources = [(s["$id"], Resource.from_contents(s)) for s in schemas.values()]
    return Registry(retrieve=refuse).with_resources(resources)  # type: ignore[call-arg]


def load_tags(root: Path, v: Vocab, schemas: Mapping[str, Any]) -> list[dict[str, Any]]:
    from aiterms.vocab import normalize_tag

    path = root / "vocab" / "tags.json"
    tags = _load_json(path)
    if not isinstance(tags, list) or not all(isinstance(t, dict) and isinstance(t.get("id"), str) for t in tags):
        raise BuildError(f"{path}: must be a JSON array of registry entries, each with an id")
    problems: list[str] = []
    entry_schema = schemas.get("registry-entry.schema.json")
    if entry_schema is not None:
        validator_class = importlib.import_module("jsonschema").Draft202012Validator

        registry = schema_registry({**schemas, "enums.schema.json": enums_schema(v, tags)})
        validator = validator_class(entry_schema, registry=registry)
        for i, t in enumerate(tags):
            for err in sorted(validator.iter_errors(t), key=lambda e: list(e.absolute_path)):
                where = "/".join(str(x) for x in err.absolute_path)
                problems.append(f"entry {i} ({t.get('id') if isinstance(t, dict) else '?'}) /{where}: {err.message}")
    if problems:
        raise BuildError(f"{path}: entries do not match registry-entry.schema.json:\n  " + "\n  ".join(problems))
    ids = [t["id"] for t in tags]
    if ids != sorted(ids):
        raise BuildError(f"{path}: entries must be sorted by id")
    if len(set(ids)) != len(ids):
        raise BuildError(f"{path}: duplicate ids")
    keys: dict[str, str] = {}
    for t in tags:
        if t.get("replacedBy") and t["replacedBy"] not in ids:
            problems.append(f"{t['id']}: replacedBy {t['replacedBy']!r} is not a registered id")
        if t["status"] == "deprecated" and not t.get("replacedBy"):
            problems.append(f"{t['id']}: a deprecated entry needs replacedBy")
        for spelling in (t["id"], *t.get("variants", ())):
            k = normalize_tag(spelling)
            if keys.setdefault(k, t["id"]) != t["id"]:
                problems.append(f"{t['id']}: spelling {spelling!r} normalizes to {k!r}, already used by {keys[k]}")
        for ri, rule in enumerate(t.get("rules", ())):
            for key, scheme in (("effect", "effect"), ("use", "use"), ("purpose", "purpose"), ("actor", "actor"),
                                ("duties", "obligation")):
                vals = rule.get(key, ())
                for val in [vals] if isinstance(vals, str) else vals:
                    if val not in v.schemes[scheme]:
                        problems.append(f"{t['id']}: rules/{ri}/{key}: {val!r} is not a {scheme} id")
    if problems:
        raise BuildError(f"{path}:\n  " + "\n  ".join(problems))
    return tags


# ---------------------------------------------------------------------------------------------------------------
# Everything together


def _schemas(root: Path) -> dict[str, Any]:
    """schemas/*.schema.json (hand) -> {file name: parsed}; checked against the 2020-12 meta-schema."""
    # imported by name: jsonschema ships no type information
    validator_class = importlib.import_module("jsonschema").Draft202012Validator
    schema_error = importlib.import_module("jsonschema.exceptions").SchemaError

    out: dict[str, Any] = {}
    for path in sorted((root / "schemas").glob("*.schema.json")):
        schema = _load_json(path)
        expected = SCHEMA_BASE + path.name
        if schema.get("$id") != expected:
            raise BuildError(f"{path}: $id must be {expected}")
        try:
            validator_class.check_schema(schema)
        except schema_error as exc:
            raise BuildError(f"{path}: not a valid JSON Schema 2020-12: {exc.message}") from exc
        out[path.name] = schema
    return out


def enums_schema(v: Vocab, tags: list[dict[str, Any]]) -> dict[str, Any]:
    defs: dict[str, Any] = {}
    for scheme, name in ENUM_DEFS.items():
        defs[name] = {"description": f"A {scheme} id of aiterms vocabulary {v.version} (closed set).",
                      "type": "string", "enum": sorted(v.schemes[scheme])}
    defs["tagId"] = {"description": "A registered tag id (closed set of this release).", "type": "string",
                     "enum": sorted(t["id"] for t in tags)}
    defs["tagStatus"] = {"type": "string", "enum": list(TAG_STATUSES)}
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", "$id": SCHEMA_BASE + "enums.schema.json",
            "title": "aiterms closed enumerations (generated from vocab/aiterms.ttl and vocab/tags.json)",
            "$defs": defs}


def _manifest(root: Path) -> dict[str, Any]:
    conf = root / "spec" / "conformance"
    cases = []
    for path in sorted(conf.rglob("*.json")):
        rel = path.relative_to(conf).as_posix()
        if rel in ("manifest.json",) or rel.startswith("remotes/") or path.name.endswith(".schema.json"):
            continue
        case = _load_json(path)
        if not isinstance(case, dict):
            raise BuildError(f"{path}: a conformance case is a JSON object")
        entry: dict[str, Any] = {"path": rel, "id": case.get("id"), "class": case.get("class"),
                                 "optional": bool(case.get("optional", False))}
        if isinstance(case.get("tests"), list):
            entry["tests"] = len(case["tests"])
        if case.get("status"):
            entry["status"] = case["status"]
        cases.append(entry)
    return {"description": "Every conformance case file (generated by `python -m aiterms._build`).",
            "cases": cases}


def generate(root: Path) -> dict[str, bytes]:
    """Every generated file of the checkout at ``root``: {path relative to root (POSIX): content}."""
    data = "reference/aiterms/_data/"
    out: dict[str, bytes] = {}
    v = load_vocab(root)
    schemas = _schemas(root)
    tags = load_tags(root, v, schemas)
    spec_dir = root / "spec"

    context = dump_json(context_json(v))
    out["vocab/context.jsonld"] = context
    out[data + "context.jsonld"] = context
    g = full_graph(v, tags)
    out["vocab/aiterms.nt"] = ntriples(g)
    out["vocab/aiterms.jsonld"] = dump_json(jsonld_doc(g))
    out[data + "vocab.json"] = dump_json(vocab_json(v))
    out[data + "tags.json"] = dump_json(tags)
    enums = dump_json(enums_schema(v, tags))
    out["schemas/generated/enums.schema.json"] = enums
    out[data + "schemas/enums.schema.json"] = enums
    for name in schemas:
        out[data + "schemas/" + name] = (root / "schemas" / name).read_bytes()
    for path in sorted((root / "vocab").glob("*.json")):
        if path.name != "tags.json":
            _load_json(path)
            out[data + path.name] = path.read_bytes()
    if (root / "vocab" / "shapes.ttl").exists():
        out[data + "shapes.ttl"] = (root / "vocab" / "shapes.ttl").read_bytes()
    out[data + "meta.json"] = dump_json({"specVersion": _read_spec_version(spec_dir), "vocabVersion": v.version})

    codes = parse_codes(spec_dir)
    out[data + "codes.json"] = dump_json(codes)
    out["spec/codes.md"] = codes_md(codes).encode("utf-8")
    for md in sorted(spec_dir.glob("*.md")):
        if md.name == "codes.md":
            continue
        text = md.read_text("utf-8")
        filled = fill_regions(md, text, v, tags)
        if filled != text or "<!-- BEGIN GENERATED:" in text:
            out[md.relative_to(root).as_posix()] = filled.encode("utf-8")
    examples = extract_examples(spec_dir)
    index = {}
    for ex in examples:
        name = f"{ex.slug}.{EXT.get(ex.lang, 'txt')}"
        out[f"spec/examples/{name}"] = ex.text.encode("utf-8")
        index[ex.slug] = {"file": name, "section": ex.section, "format": ex.lang or "text",
                          **({"expect": ex.flags["expect"]} if "expect" in ex.flags else {}),
                          **({"codes": sorted(filter(None, ex.flags["codes"].split(",")))}
                             if ex.flags.get("codes") else {}),
                          **({"fragment": True} if "fragment" in ex.flags else {})}
    out["spec/examples/index.json"] = dump_json(index)
    if (spec_dir / "conformance").is_dir():
        out["spec/conformance/manifest.json"] = dump_json(_manifest(root))
    return out


# Directories whose every file is generated: a file there that the build does not produce is stale.
OWNED_DIRS = ("reference/aiterms/_data", "schemas/generated", "spec/examples")


def drift(root: Path, files: Mapping[str, bytes]) -> list[str]:
    """Paths (relative) whose committed bytes differ from ``files``, are missing, or are stale leftovers."""
    bad = []
    for rel, content in sorted(files.items()):
        path = root / rel
        if not path.is_file() or path.read_bytes() != content:
            bad.append(rel)
    for d in OWNED_DIRS:
        for path in sorted((root / d).rglob("*")) if (root / d).is_dir() else ():
            rel = path.relative_to(root).as_posix()
            if path.is_file() and rel not in files and "__pycache__" not in rel:
                bad.append(rel + " (stale: not generated)")
    return bad


def write(root: Path, files: Mapping[str, bytes]) -> list[str]:
    from aiterms._io import atomic_write

    changed = []
    for rel, content in sorted(files.items()):
        path = root / rel
        if path.is_file() and path.read_bytes() == content:
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(path, content)
        changed.append(rel)
    for d in OWNED_DIRS:
        for path in sorted((root / d).rglob("*")) if (root / d).is_dir() else ():
            rel = path.relative_to(root).as_posix()
            if path.is_file() and rel not in files and "__pycache__" not in rel:
                path.unlink()
                changed.append(rel + " (removed)")
    return changed


def default_root() -> Path:
    return Path(__file__).resolve().parents[2]


def main(argv: Iterable[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m aiterms._build", description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="write nothing; exit 1 if a generated file drifted")
    parser.add_argument("--root", type=Path, default=None, help="source checkout (default: this package's)")
    args = parser.parse_args(list(argv) if argv is not None else None)
    root = (args.root or default_root()).resolve()
    try:
        files = generate(root)
    except BuildError as exc:
        print(f"aiterms._build: error: {exc}", file=sys.stderr)
        return 2
    if args.check:
        bad = drift(root, files)
        if bad:
            print("aiterms._build: generated files are out of date:\n  " + "\n  ".join(bad)
                  + f"\n{HINT} and commit the result.", file=sys.stderr)
            return 1
        return 0
    for rel in write(root, files):
        print(f"wrote {rel}")
    return 0


__all__ = [
    "CONTEXT_IRI",
    "HINT",
    "NS",
    "BuildError",
    "Vocab",
    "anchors_of",
    "context_json",
    "drift",
    "dump_json",
    "generate",
    "load_vocab",
    "main",
    "parse_codes",
    "write",
]


if __name__ == "__main__":
    sys.exit(main())
