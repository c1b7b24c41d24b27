"""The one generator: ``python -m aiterms._build [--check]`` (house style C7).

Reads the hand-edited sources of a source checkout -- ``vocab/aiterms.ttl``, ``vocab/tags.json``,
``vocab/*.json``, ``vocab/shapes.ttl``, ``schemas/*.schema.json`` and ``spec/*.md`` -- and produces every generated
file: the JSON-LD context, the JSON-LD and N-Triples renderings of the vocabulary, the closed enums, the package
data in ``reference/aiterms/_data``, the generated regions of ``spec/*.md``, ``spec/codes.md``, the extracted
spec examples and the conformance manifest. Output is deterministic (sorted keys, ``indent=2``, trailing newline,
no blank-node labels), so ``--check`` and ``tests/test_generated.py`` can compare it byte for byte.

Never imported by the library itself.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib
import json
import re
import sys
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

NS = "https://w3id.org/aiterms/"
CONTEXT_IRI = f"{NS}context/v1.jsonld"
SCHEMA_BASE = f"{NS}schemas/1/"
GENID = f"{NS}.well-known/genid/"
SPEC_BASE = f"{NS}spec/"
HINT = "run `python -m aiterms._build`"

RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
RDFS = "http://www.w3.org/2000/01/rdf-schema#"
OWL = "http://www.w3.org/2002/07/owl#"
SKOS = "http://www.w3.org/2004/02/skos/core#"
DCTERMS = "http://purl.org/dc/terms/"
XSD = "http://www.w3.org/2001/XMLSchema#"
VANN = "http://purl.org/vocab/vann/"
PREFIXES = {"aiterms": NS, "dcterms": DCTERMS, "owl": OWL, "rdf": RDF, "rdfs": RDFS, "skos": SKOS, "vann": VANN,
            "xsd": XSD}

# JSON names of the concept schemes (vocab.py reads these) -> JSON Schema $defs name of the closed enum.
ENUM_DEFS = {"use": "useId", "purpose": "purposeId", "actor": "actorId", "role": "roleId",
             "obligation": "obligationId", "consent-status": "consentStatus", "effect": "effect",
             "outcome": "outcome"}
RELATIONS = {"exact": "exactMatch", "close": "closeMatch", "broader": "broadMatch", "narrower": "narrowMatch",
             "related": "relatedMatch"}
SEVERITIES = ("error", "warning", "info")
TAG_STATUSES = ("provisional", "active", "deprecated", "obsolete")
CODE_RE = re.compile(r"^[a-z][a-z0-9]*(?:-[a-z0-9]+)*$")
SPEC_VERSION_RE = re.compile(r"<!--\s*spec-version:\s*(\S+)\s*-->")
GENERATED_RE = re.compile(r"(<!-- BEGIN GENERATED: ([a-z-]+) -->\n)(.*?)(<!-- END GENERATED: ([a-z-]+) -->)", re.S)
EXAMPLE_RE = re.compile(r"<!--\s*example:\s*(ex-[a-z0-9-]+)((?:\s+[a-z]+(?:=[^\s>]+)?)*)\s*-->")
ANCHOR_RE = re.compile(r"""<a\s+(?:id|name)=["']([^"']+)["']|\{#([A-Za-z][\w.-]*)\}""")


class BuildError(Exception):
    """A source is malformed; the message says which file and what to fix."""


def dump_json(obj: Any) -> bytes:
    return (json.dumps(obj, indent=2, sort_keys=True, ensure_ascii=False) + "\n").encode("utf-8")


def _load_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text("utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BuildError(f"{path}: not readable JSON: {exc}") from exc


# ---------------------------------------------------------------------------------------------------------------
# Vocabulary (vocab/aiterms.ttl)


@dataclass
class Vocab:
    version: str
    graph: Any  # rdflib.Graph of aiterms.ttl
    schemes: dict[str, dict[str, dict[str, Any]]]  # scheme name -> id -> runtime JSON
    scheme_iris: dict[str, str]
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
    for scheme in sorted(graph.subjects(RRDF.type, URIRef(SKOS + "ConceptScheme")), key=str):
        name = _lit(graph, scheme, SKOS + "notation")
        if not name:
            raise BuildError(f"{path}: concept scheme <{scheme}> needs skos:notation")
        scheme_iris[name] = str(scheme)
        schemes[name] = {}
        for concept in sorted(graph.subjects(URIRef(SKOS + "inScheme"), scheme), key=str):
            cid = _lit(graph, concept, SKOS + "notation")
            if not cid:
                raise BuildError(f"{path}: concept <{concept}> needs skos:notation")
            if cid in schemes[name]:
                raise BuildError(f"{path}: two concepts in scheme {name!r} have the notation {cid!r}")
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
    return Vocab(version, graph, schemes, scheme_iris, props, classes)


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
    """The fixed context of canonical records: aliases, classes, properties and one term per concept id."""
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
        put(p["term"], d if len(d) > 1 else p["iri"], f"property {p['iri']}")
    vocab_schemes = {p["scheme"] for p in v.properties if p["type"] == "@vocab" and p["scheme"]}
    for name in sorted(vocab_schemes):
        for cid, c in v.schemes[name].items():
            put(cid, c["iri"], f"{name} concept {c['iri']}")
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


def _compact(iri: str) -> str:
    for prefix, base in sorted(PREFIXES.items(), key=lambda kv: -len(kv[1])):
        if iri.startswith(base) and re.fullmatch(r"[A-Za-z][\w-]*", iri[len(base):]):
            return f"{prefix}:{iri[len(base):]}"
    return iri


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
# Spec: code tables, anchors, generated regions, examples


def anchors_of(text: str) -> list[str]:
    return [a or b for a, b in ANCHOR_RE.findall(text)]


def _cells(line: str) -> list[str]:
    body = line.strip()
    if body.startswith("|"):
        body = body[1:]
    if body.endswith("|") and not body.endswith("\\|"):
        body = body[:-1]
    return [c.strip().replace("\\|", "|") for c in re.split(r"(?<!\\)\|", body)]


def _unmark(cell: str) -> str:
    cell = cell.strip()
    link = re.fullmatch(r"\[[^\]]*\]\(#([^)]+)\)", cell)
    if link:
        return link.group(1)
    return cell.strip("`").strip()


def parse_codes(spec_dir: Path) -> dict[str, dict[str, str]]:
    """Every ``<!-- codes -->`` table of ``spec/*.md`` (except the generated codes.md) -> {code: entry}."""
    codes: dict[str, dict[str, str]] = {}
    where: dict[str, str] = {}
    problems: list[str] = []
    for md in sorted(spec_dir.glob("*.md")):
        if md.name == "codes.md":
            continue
        text = md.read_text("utf-8")
        anchors = set(anchors_of(text))
        lines = text.splitlines()
        open_at: int | None = None
        for n, line in enumerate(lines, 1):
            stripped = line.strip()
            if stripped == "<!-- codes -->":
                if open_at is not None:
                    problems.append(f"{md}:{n}: <!-- codes --> inside another codes table (opened at line {open_at})")
                open_at = n
                rows: list[tuple[int, str]] = []
                continue
            if stripped == "<!-- /codes -->":
                if open_at is None:
                    problems.append(f"{md}:{n}: <!-- /codes --> without <!-- codes -->")
                    continue
                _parse_table(md, open_at, rows, anchors=anchors, codes=codes, where=where, problems=problems)
                open_at = None
                continue
            if open_at is not None and stripped:
                rows.append((n, stripped))
        if open_at is not None:
            problems.append(f"{md}:{open_at}: <!-- codes --> is never closed by <!-- /codes -->")
    if problems:
        raise BuildError("malformed code tables:\n  " + "\n  ".join(problems))
    return codes


def _parse_table(md: Path, start: int, rows: list[tuple[int, str]], *, anchors: set[str],
                 codes: dict[str, dict[str, str]], where: dict[str, str], problems: list[str]) -> None:
    if len(rows) < 2 or [c.lower() for c in _cells(rows[0][1])] != ["code", "severity", "condition", "anchor"]:
        problems.append(f"{md}:{start}: a codes table starts with the header | code | severity | condition | anchor |")
        return
    if not re.fullmatch(r"\|?\s*:?-+:?\s*(\|\s*:?-+:?\s*){3}\|?", rows[1][1]):
        problems.append(f"{md}:{rows[1][0]}: the second line of a codes table must be |---|---|---|---|")
        return
    for n, line in rows[2:]:
        cells = _cells(line)
        if len(cells) != 4:
            problems.append(f"{md}:{n}: a code row has 4 cells (code, severity, condition, anchor); got {len(cells)}")
            continue
        code, sev, condition, anchor = _unmark(cells[0]), cells[1].strip("`").lower(), cells[2], _unmark(cells[3])
        if not CODE_RE.match(code):
            problems.append(f"{md}:{n}: code {code!r} is not kebab-case")
            continue
        if sev not in SEVERITIES:
            problems.append(f"{md}:{n}: {code}: severity {sev!r} is not one of {', '.join(SEVERITIES)}")
        if anchor not in anchors:
            problems.append(f"{md}:{n}: {code}: anchor {anchor!r} is not defined in {md.name} "
                            f"(add <a id=\"{anchor}\"></a>)")
        if code in codes:
            problems.append(f"{md}:{n}: code {code!r} is already defined at {where[code]}; a code has one home")
            continue
        where[code] = f"{md.name}:{n}"
        codes[code] = {"severity": sev, "condition": condition, "anchor": anchor, "section": md.stem}


def _md(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def codes_md(codes: Mapping[str, Mapping[str, str]]) -> str:
    out = [
        "# Issue codes",
        "",
        "<!-- Generated by `python -m aiterms._build` from the code tables in spec/*.md. Do not edit. -->",
        "",
        "*This section is non-normative: it collects, in one place, the codes each section defines in its own",
        "code table, which stays the single normative home of each code.*",
        "",
        "An implementation reports every finding with one of these codes. Only `error` findings make a document",
        "invalid; `warning` and `info` findings never do (spec/validation.md).",
        "",
        "| code | severity | condition | defined in |",
        "|---|---|---|---|",
    ]
    for code in sorted(codes):
        c = codes[code]
        out.append(f"| `{code}` | {c['severity']} | {_md(c['condition'])} | "
                   f"[{c['section']}#{c['anchor']}]({c['section']}.md#{c['anchor']}) |")
    return "\n".join(out) + "\n"


@dataclass
class Example:
    slug: str
    section: str
    line: int
    lang: str
    text: str
    flags: dict[str, str] = field(default_factory=dict)


EXT = {"json": "json", "jsonld": "jsonld", "json-ld": "jsonld", "turtle": "ttl", "ttl": "ttl", "xml": "xml",
       "http": "txt", "text": "txt", "": "txt", "html": "html", "robots": "txt"}


def extract_examples(spec_dir: Path) -> list[Example]:
    """Fenced blocks preceded by ``<!-- example: ex-slug expect=valid|invalid [codes=a,b] | fragment -->``."""
    found: list[Example] = []
    seen: dict[str, str] = {}
    for md in sorted(spec_dir.glob("*.md")):
        lines = md.read_text("utf-8").splitlines()
        for i, line in enumerate(lines):
            m = EXAMPLE_RE.search(line)
            if not m:
                continue
            slug = m.group(1)
            flags = {}
            for part in m.group(2).split():
                k, _, val = part.partition("=")
                flags[k] = val
            j = i + 1
            while j < len(lines) and not lines[j].strip():
                j += 1
            fence = re.match(r"^(\s*)(`{3,}|~{3,})\s*([\w-]*)", lines[j]) if j < len(lines) else None
            if fence is None:
                raise BuildError(f"{md}:{i + 1}: example {slug} is not followed by a fenced code block")
            indent, marker, lang = fence.group(1), fence.group(2), fence.group(3).lower()
            body: list[str] = []
            k = j + 1
            while k < len(lines) and not lines[k].strip().startswith(marker):
                body.append(lines[k][len(indent):] if lines[k].startswith(indent) else lines[k])
                k += 1
            if k >= len(lines):
                raise BuildError(f"{md}:{j + 1}: the fenced block of example {slug} is never closed")
            if slug in seen:
                raise BuildError(f"{md}:{i + 1}: example id {slug} is already used at {seen[slug]}")
            if "expect" in flags and flags["expect"] not in ("valid", "invalid"):
                raise BuildError(f"{md}:{i + 1}: example {slug}: expect= must be valid or invalid")
            seen[slug] = f"{md.name}:{i + 1}"
            found.append(Example(slug, md.stem, i + 1, lang, "\n".join(body) + "\n", flags))
    return found


# ---------------------------------------------------------------------------------------------------------------
# Spec tables (<!-- BEGIN GENERATED: name --> ... <!-- END GENERATED: name -->)

TableFn = Callable[["Vocab", list[dict[str, Any]]], str]
GENERATORS: dict[str, TableFn] = {}


def generated(name: str) -> Callable[[TableFn], TableFn]:
    def deco(fn: TableFn) -> TableFn:
        GENERATORS[name] = fn
        return fn

    return deco


FAMILIES = {
    "aipref": "IETF AI Preferences (aipref) vocabulary drafts",
    "content-signal": "Cloudflare Content Signals",
    "cawg": "CAWG training and data mining assertion",
    "c2pa": "C2PA training and data mining assertion (1.3, 1.4)",
    "plus": "IPTC Photo Metadata / PLUS Data Mining (plus:DataMining)",
    "tdmrep": "W3C TDM Reservation Protocol (TDMRep)",
    "rsl": "Really Simple Licensing (RSL) usage and user tokens",
    "odrl-ai": "ODRL AI vocabulary profile (CG draft)",
    "odrl": "ODRL 2.2",
    "cc-rel": "Creative Commons Rights Expression Language (CC REL)",
    "noai": "noai / noimageai directives",
    "dpv": "Data Privacy Vocabulary (DPV)",
    "duo": "Data Use Ontology (DUO)",
}
SCHEME_TITLES = {"purpose": "Purposes", "actor": "Actor types", "role": "Roles", "obligation": "Obligations",
                 "consent-status": "Consent statuses", "effect": "Effects", "outcome": "Outcomes"}


def _tree_order(concepts: Mapping[str, Mapping[str, Any]]) -> list[tuple[int, str]]:
    """Depth-first order of a polyhierarchy, each concept under its first broader term (sorted)."""
    children: dict[str, list[str]] = {}
    for cid, c in concepts.items():
        for b in sorted(c["broader"])[:1]:
            children.setdefault(b, []).append(cid)
    order: list[tuple[int, str]] = []

    def walk(cid: str, depth: int) -> None:
        order.append((depth, cid))
        for child in sorted(children.get(cid, ())):
            walk(child, depth + 1)

    for cid in sorted(c for c in concepts if not concepts[c]["broader"]):
        walk(cid, 0)
    return order


@generated("uses")
def _uses_table(v: Vocab, tags: list[dict[str, Any]]) -> str:
    uses = v.schemes["use"]
    rows = ["| id | label | broader | definition |", "|---|---|---|---|"]
    for depth, cid in _tree_order(uses):
        c = uses[cid]
        broader = ", ".join(f"`{b}`" for b in c["broader"]) or "—"
        rows.append(f"| {'&nbsp;&nbsp;' * depth}`{cid}` | {_md(c['label'])} | {broader} | {_md(c['definition'])} |")
    return "\n".join(rows) + "\n"


@generated("mappings")
def _mappings_tables(v: Vocab, tags: list[dict[str, Any]]) -> str:
    by_family: dict[str, list[tuple[str, str, dict[str, Any]]]] = {}
    for scheme, concepts in v.schemes.items():
        for cid, c in concepts.items():
            for m in c["mappings"]:
                by_family.setdefault(m["scheme"], []).append((scheme, cid, m))
    parts = []
    for family in sorted(by_family, key=lambda f: (list(FAMILIES).index(f) if f in FAMILIES else 99, f)):
        parts.append(f"**{_md(FAMILIES.get(family, family))}** (`{family}`)\n")
        parts.append("| token | version | aiterms term | relation | effect | note |")
        parts.append("|---|---|---|---|---|---|")
        for scheme, cid, m in sorted(by_family[family], key=lambda x: (x[2]["token"], x[2].get("version", ""), x[1])):
            token = f"[`{m['token']}`]({m['iri']})" if m.get("iri") else f"`{m['token']}`"
            parts.append(f"| {token} | {m.get('version', '')} | {scheme} `{cid}` | {m['relation']} | "
                         f"{m.get('effect', '')} | {_md(m.get('note', ''))} |")
        parts.append("")
    return "\n".join(parts)


@generated("schemes")
def _scheme_tables(v: Vocab, tags: list[dict[str, Any]]) -> str:
    parts = []
    for scheme, title in SCHEME_TITLES.items():
        base = v.schemes[scheme][min(v.schemes[scheme])]["iri"].rsplit("/", 1)[0]
        parts.append(f"**{title}** (`{scheme}`, IRIs `{base}/<id>`)\n")
        parts.append("| id | label | definition |")
        parts.append("|---|---|---|")
        for cid in sorted(v.schemes[scheme]):
            c = v.schemes[scheme][cid]
            parts.append(f"| `{cid}` | {_md(c['label'])} | {_md(c['definition'])} |")
        parts.append("")
    return "\n".join(parts)


@generated("properties")
def _properties_table(v: Vocab, tags: list[dict[str, Any]]) -> str:
    rows = ["| JSON key | IRI | values | definition |", "|---|---|---|---|"]
    for c in v.classes:
        if c["term"] != "Mapping":
            rows.append(f"| `{c['term']}` (class) | `aiterms:{c['term']}` | — | {_md(c['definition'])} |")
    for p in sorted(v.properties, key=lambda p: p["term"]):
        values = {"@id": "IRI", "@vocab": f"{p['scheme']} id"}.get(p["type"] or "", "literal")
        if p["container"] == "@set":
            values = f"array of {values}"
        rows.append(f"| `{p['term']}` | `{_compact(p['iri'])}` | {values} | {_md(p['definition'])} |")
    return "\n".join(rows) + "\n"


@generated("tags")
def _tags_table(v: Vocab, tags: list[dict[str, Any]]) -> str:
    rows = ["| id | label | status | meaning (rules) | variant spellings | change controller |",
            "|---|---|---|---|---|---|"]
    for t in tags:
        rules = "; ".join(
            f"{r['effect']} `{r['use']}`" + "".join(f" {k}={','.join(r[k])}" for k in ("purpose", "actor",
                                                                                       "jurisdiction", "duties")
                                                   if r.get(k))
            for r in t.get("rules", ()))
        status = t["status"] + (f" (replaced by `{t['replacedBy']}`)" if t.get("replacedBy") else "")
        variants = ", ".join(f"`{_md(x)}`" for x in t.get("variants", ()))
        rows.append(f"| `{t['id']}` | {_md(t['label'])} | {status} | {rules} | {variants} | "
                    f"{_md(t['changeController'])} |")
    return "\n".join(rows) + "\n"


# ---------------------------------------------------------------------------------------------------------------
# Everything together


def _read_spec_version(spec_dir: Path) -> str:
    index = spec_dir / "index.md"
    if not index.exists():
        raise BuildError(f"{index}: missing (it carries <!-- spec-version: X.Y -->)")
    m = SPEC_VERSION_RE.search(index.read_text("utf-8"))
    if not m:
        raise BuildError(f"{index}: needs a line <!-- spec-version: X.Y -->")
    return m.group(1)


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


def fill_regions(path: Path, text: str, v: Vocab, tags: list[dict[str, Any]]) -> str:
    def repl(m: re.Match[str]) -> str:
        name, end = m.group(2), m.group(5)
        if name != end:
            raise BuildError(f"{path}: BEGIN GENERATED: {name} is closed by END GENERATED: {end}")
        if name not in GENERATORS:
            raise BuildError(f"{path}: unknown generated region {name!r}; known: {', '.join(sorted(GENERATORS))}")
        return m.group(1) + GENERATORS[name](v, tags) + m.group(4)

    out = GENERATED_RE.sub(repl, text)
    if out.count("<!-- BEGIN GENERATED:") != out.count("<!-- END GENERATED:"):
        raise BuildError(f"{path}: unbalanced BEGIN/END GENERATED markers")
    return out


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


if __name__ == "__main__":
    sys.exit(main())
