"""The syntax layer (spec/validation.md#layer-syntax): bytes or text in, canonical record values out.

Reads JSON (errors carry line and column), JSON Lines (streamed one line at a time, constant memory),
non-canonical JSON-LD and Turtle. Every input form is brought to the canonical record -- compact JSON-LD with the
bundled context, readable as plain JSON -- so that the later layers (JSON Schema, meaning) see one shape.
Non-canonical forms go through rdflib using only the bundled context: a context that is not the bundled one is
reported (``context-not-bundled``) and is never fetched.

This module judges syntax and the JSON-LD context only; validity is :mod:`aiterms.validation`'s business.
rdflib is imported lazily, only for documents that need it.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import cache
from typing import IO, Any

import orjson

from aiterms import limits
from aiterms.report import Issue, Severity, issue, pointer
from aiterms.vocab import CONTEXT_IRI, NAMESPACE

# Codes of the syntax and JSON-LD layers (spec/validation.md, code table).
JSON_SYNTAX = "json-syntax"
JSONL_SYNTAX = "jsonl-syntax"
TURTLE_SYNTAX = "turtle-syntax"
CONTEXT_MISSING = "context-missing"
CONTEXT_NOT_BUNDLED = "context-not-bundled"
JSONLD_EXPANSION = "jsonld-expansion"
INPUT_UNREADABLE = "input-unreadable"

JSON = "json"
JSONL = "jsonl"
JSONLD = "jsonld"  # non-canonical JSON-LD, converted through the graph
TURTLE = "turtle"

FORMATS = (JSON, JSONL, JSONLD, TURTLE)
EXTENSIONS = {".json": JSON, ".jsonld": JSON, ".jsonl": JSONL, ".ndjson": JSONL, ".ttl": TURTLE, ".nt": TURTLE}
_ALIASES = {JSONLD: JSON, "ntriples": TURTLE, "nt": TURTLE}  # N-Triples is a subset of Turtle

MAX_LINE = limits.MAX_LINE_BYTES
_BOM = b"\xef\xbb\xbf"


@dataclass(frozen=True, slots=True)
class ParsedDocument:
    """One document as read: ``value`` is the canonical record (or, when the syntax layer failed, ``None``).

    ``issues`` are the syntax and JSON-LD findings. ``checked`` lists the JSON Pointers whose findings the
    JSON-LD layer already made (so the schema layer does not report the same fact twice).
    ``line`` is the JSON Lines line number (1-based) or, for Turtle, the line of the record's node when known.
    """

    value: Any
    issues: tuple[Issue, ...] = ()
    format: str = JSON
    line: int | None = None
    usable: bool = True

    @property
    def ok(self) -> bool:
        return not any(i.severity is Severity.ERROR for i in self.issues)


@dataclass(frozen=True, slots=True)
class ParsedDocuments:
    """All documents found in one input (a JSON or Turtle file may hold several records)."""

    name: str
    format: str
    documents: tuple[ParsedDocument, ...]

    def __iter__(self) -> Iterator[ParsedDocument]:
        return iter(self.documents)

    def __len__(self) -> int:
        return len(self.documents)


# ---------------------------------------------------------------------------------------------------------
# Format detection


def detect_format(name: str | None, head: bytes | str) -> str:
    """req-detect-format: the format of an input, from its file extension, else from its content.

    ``.json``/``.jsonld`` are JSON, ``.jsonl``/``.ndjson`` JSON Lines, ``.ttl`` Turtle. Without a known extension,
    content starting with ``{`` or ``[`` is JSON -- or JSON Lines when its first line is a complete JSON object and
    more non-empty lines follow -- and anything else is Turtle.
    """
    if name:
        lower = name.lower()
        for ext, fmt in EXTENSIONS.items():
            if lower.endswith(ext):
                return fmt
    text = head.decode("utf-8", "replace") if isinstance(head, bytes) else head
    text = text.lstrip("\ufeff \t\r\n")
    if not text:
        return JSON
    if text[0] in "{[":
        first, sep, rest = text.partition("\n")
        if sep and rest.strip() and first.strip().startswith("{"):
            try:
                orjson.loads(first)
            except orjson.JSONDecodeError:
                return JSON
            return JSONL
        return JSON
    return TURTLE


# ---------------------------------------------------------------------------------------------------------
# JSON


def _decode_error(exc: json.JSONDecodeError, code: str, line_offset: int = 0) -> Issue:
    return issue(code, f"not valid JSON: {exc.msg}", "", line=exc.lineno + line_offset, column=exc.colno)


def loads_json(data: bytes | str, *, code: str = JSON_SYNTAX, line_offset: int = 0) -> tuple[Any, Issue | None]:
    """req-json-syntax: parse one JSON text (RFC 8259, UTF-8); a syntax error is an issue with line and column.

    NaN, Infinity, lone surrogates and invalid UTF-8 are syntax errors. A leading byte order mark is ignored.
    """
    if isinstance(data, str):
        data = data.encode("utf-8", "surrogatepass")
    if data[:3] == _BOM:
        data = data[3:]
    if data.count(b"[") + data.count(b"{") > limits.MAX_NESTING_DEPTH:  # only then can it be too deep
        deep = limits.check_json_depth(data, line=None if not line_offset else line_offset + 1)
        if deep is not None:
            return None, deep
    try:
        return orjson.loads(data), None
    except orjson.JSONDecodeError as exc:
        if code == JSONL_SYNTAX and data.endswith(b"\n"):
            # one line: an error "at the end" is at the end of this line, not on the next one
            return loads_json(data.rstrip(b"\r\n"), code=code, line_offset=line_offset)
        return None, _decode_error(exc, code, line_offset)


def parse_json(data: bytes | str, *, name: str = "") -> ParsedDocuments:
    """Parse a JSON (or JSON-LD) text and bring it to the canonical record."""
    too_big = limits.check_size(len(data), limits.MAX_DOCUMENT_BYTES, what="the document")
    if too_big is not None:
        return ParsedDocuments(name, JSON, (ParsedDocument(None, (too_big,), JSON, usable=False),))
    value, err = loads_json(data)
    if err is not None:
        return ParsedDocuments(name, JSON, (ParsedDocument(None, (err,), JSON, usable=False),))
    return canonicalize(value, name=name)


# ---------------------------------------------------------------------------------------------------------
# JSON Lines


def iter_lines(stream: IO[bytes] | Iterable[bytes]) -> Iterator[tuple[int, bytes | None]]:
    """``(line_number, raw_line)`` from a binary stream or an iterable of lines, one line in memory at a time;
    an over-long line comes back as ``None`` (limits.MAX_LINE_BYTES) and the next lines are read as usual."""
    if hasattr(stream, "readline"):
        yield from limits.iter_lines(stream, limits.MAX_LINE_BYTES)  # type: ignore[arg-type]
        return
    for n, raw in enumerate(stream, 1):
        yield n, (raw if len(raw) <= limits.MAX_LINE_BYTES else None)


def parse_jsonl_line(raw: bytes | None, line: int) -> ParsedDocument:
    """req-jsonl-stream: one JSON Lines record; a bad line is reported with its line number and never stops
    the lines after it."""
    if raw is None:
        return ParsedDocument(None, (limits.line_length_issue(line, limits.MAX_LINE_BYTES),), JSONL, line,
                              usable=False)
    value, err = loads_json(raw, code=JSONL_SYNTAX, line_offset=line - 1)
    if err is not None:
        return ParsedDocument(None, (err,), JSONL, line, usable=False)
    docs = canonicalize(value, name="").documents
    if len(docs) != 1:
        return ParsedDocument(
            None, (issue(JSONLD_EXPANSION, f"line holds {len(docs)} records; JSON Lines holds one record a line",
                         "", line=line),), JSONL, line, usable=False)
    d = docs[0]
    return ParsedDocument(d.value, tuple(i.located(line, i.column) for i in d.issues), d.format, line, d.usable)


def is_blank(raw: bytes | None) -> bool:
    return raw is not None and not raw.strip()


def iter_jsonl(stream: IO[bytes] | Iterable[bytes]) -> Iterator[ParsedDocument]:
    """Parse a JSON Lines stream lazily: one ParsedDocument per non-blank line."""
    for n, raw in iter_lines(stream):
        if is_blank(raw):
            continue
        yield parse_jsonl_line(raw, n)


# ---------------------------------------------------------------------------------------------------------
# JSON-LD: the context layer


def _is_bundled_context_object(ctx: Any) -> bool:
    inner = bundled_context().get("@context")
    if isinstance(ctx, dict) and "@context" in ctx and len(ctx) == 1:
        ctx = ctx["@context"]
    return bool(ctx == inner)


def _context_references(value: Any, path: str) -> Iterator[tuple[str, Any]]:
    """Every ``@context`` / ``@import`` value anywhere in a JSON-LD document, with its JSON Pointer."""
    stack: list[tuple[str, Any]] = [(path, value)]
    while stack:
        p, v = stack.pop()
        if isinstance(v, dict):
            for k, child in v.items():
                cp = p + pointer(k)
                if k in ("@context", "@import"):
                    yield cp, child
                    if _is_bundled_context_object(child):
                        continue  # its own (property-scoped) contexts are part of it
                    if isinstance(child, list):
                        stack.extend((f"{cp}/{i}", c) for i, c in enumerate(child)
                                     if isinstance(c, dict | list) and not _is_bundled_context_object(c))
                        continue
                if isinstance(child, dict | list):
                    stack.append((cp, child))
        elif isinstance(v, list):
            for i, child in enumerate(v):
                if isinstance(child, dict | list):
                    stack.append((f"{p}/{i}", child))


def _foreign_contexts(value: Any) -> list[Issue]:
    """req-context-bundled: every context reference other than the bundled context IRI (or the bundled context
    document given inline) is reported; none is ever fetched."""
    found: list[Issue] = []
    for p, ctx in _context_references(value, ""):
        entries = ctx if isinstance(ctx, list) else [ctx]
        for i, entry in enumerate(entries):
            ep = f"{p}/{i}" if isinstance(ctx, list) else p
            if entry is None or entry == CONTEXT_IRI or (isinstance(entry, dict) and _is_bundled_context_object(entry)):
                continue
            if isinstance(entry, str):
                found.append(issue(CONTEXT_NOT_BUNDLED, f"context {limits.bounded(entry)!r} is not the bundled aiterms "
                                   f"context ({CONTEXT_IRI}); aiterms never fetches contexts", ep, value=entry))
            elif isinstance(entry, dict):
                if p.endswith("/@import") or not p.endswith("/@context"):
                    continue  # term definitions inside an inline context are checked as part of that context
                found.append(issue(CONTEXT_NOT_BUNDLED, "an inline context is not the bundled aiterms context; "
                                   "use the context IRI " + CONTEXT_IRI, ep))
            else:
                found.append(issue(JSONLD_EXPANSION, "a context must be an IRI, an object or null", ep, value=entry))
    return found


def _is_canonical_context(ctx: Any) -> bool:
    return ctx == CONTEXT_IRI or (isinstance(ctx, list) and bool(ctx) and ctx[0] == CONTEXT_IRI)


def _extra_context_issues(ctx: Any) -> list[Issue]:
    """req-context-bundled: items after the context IRI may only add terms (record.schema.json#/$defs/context).
    They are never fetched; an inline item that redefines a term of the (protected) bundled context is a JSON-LD
    expansion error, as it is for any JSON-LD processor. req-record-context: an inline item that maps a term, its
    ``@vocab`` or its ``@base`` into the aiterms namespace is reported too: JSON-LD processors would read such a
    term (``"train": "…/use/ai-training"``) as an aiterms term, while the record read as plain JSON does not."""
    if not isinstance(ctx, list):
        return []
    found: list[Issue] = []
    bundled = bundled_context().get("@context", {})
    terms = set(bundled) if isinstance(bundled, dict) else set()
    for i, entry in enumerate(ctx[1:], 1):
        if not isinstance(entry, dict):
            continue
        prefixes = {k: v for k, v in entry.items() if isinstance(v, str) and not k.startswith("@")}
        vocab = entry.get("@vocab") if isinstance(entry.get("@vocab"), str) else None
        for key, definition in entry.items():
            if key in terms and not key.startswith("@"):
                found.append(issue(JSONLD_EXPANSION, f"the context redefines the protected aiterms term {key!r}",
                                   pointer("@context", i, key)))
            elif key != "@version" and _into_namespace(definition, prefixes, vocab):
                found.append(issue(JSONLD_EXPANSION, f"the context maps {limits.bounded(key)!r} into the aiterms "
                                   f"namespace {NAMESPACE}; only the bundled context defines aiterms terms",
                                   pointer("@context", i, key)))
    return found


def _into_namespace(definition: Any, prefixes: dict[str, str], vocab: str | None) -> bool:
    """Whether any IRI in a term definition (a string, or the strings of an expanded term definition, nested
    contexts included) is, or expands with the item's own prefixes or ``@vocab`` to, an IRI in the aiterms
    namespace. Iterative, so any depth is safe."""
    stack = [definition]
    while stack:
        v = stack.pop()
        if isinstance(v, dict):
            stack.extend(v.values())
        elif isinstance(v, list):
            stack.extend(v)
        elif isinstance(v, str) and not v.startswith("@"):
            prefix, colon, rest = v.partition(":")
            if colon and prefix in prefixes and not rest.startswith("//"):
                v = prefixes[prefix] + rest
            elif not colon and vocab:
                v = vocab + v
            if v.startswith(NAMESPACE):
                return True
    return False


def _looks_expanded(value: Any) -> bool:
    """JSON-LD without a context: a node array, or an object whose keys are keywords or absolute IRIs."""
    if isinstance(value, list):
        return bool(value) and all(isinstance(v, dict) for v in value)
    if isinstance(value, dict) and value:
        return all(k.startswith("@") or ":" in k for k in value) and any(
            k in ("@graph", "@type", "@id") or k.startswith(("http://", "https://")) for k in value)
    return False


def canonicalize(value: Any, *, name: str = "") -> ParsedDocuments:
    """req-canonical-form: bring a parsed JSON value to canonical records.

    * An object whose ``@context`` is the bundled context IRI is canonical and is read as plain JSON, unless it
      uses JSON-LD framing (a top-level ``@graph``), which goes through the graph.
    * An object without ``@context`` that is not expanded JSON-LD is reported ``context-missing`` and is still
      checked as a record (so that its other findings are reported too).
    * Expanded JSON-LD, ``@graph`` documents and the bundled context given inline go through rdflib and come back
      as canonical records (one per ``ImageRecord`` node).
    * Any other context is ``context-not-bundled``: the document is not read further.
    """
    if isinstance(value, dict) and "@context" in value:
        ctx = value["@context"]
        if _is_canonical_context(ctx) and "@graph" not in value:
            extra = _extra_context_issues(ctx)
            return ParsedDocuments(name, JSON, (ParsedDocument(value, tuple(extra), JSON, usable=not extra),))
        foreign = _foreign_contexts(value)
        if foreign:
            return ParsedDocuments(name, JSON, (ParsedDocument(value, tuple(foreign), JSON, usable=False),))
        return _through_graph(value, name=name)
    if isinstance(value, dict) and not _looks_expanded(value):
        foreign = _foreign_contexts(value)
        if foreign:
            return ParsedDocuments(name, JSON, (ParsedDocument(value, tuple(foreign), JSON, usable=False),))
        missing = issue(CONTEXT_MISSING, f"'@context' is missing; a record names the context {CONTEXT_IRI}", "")
        return ParsedDocuments(name, JSON, (ParsedDocument(value, (missing,), JSON),))
    if _looks_expanded(value):
        foreign = _foreign_contexts(value)
        if foreign:
            return ParsedDocuments(name, JSON, (ParsedDocument(value, tuple(foreign), JSON, usable=False),))
        return _through_graph(value, name=name)
    # Not an object: the schema layer reports the type.
    return ParsedDocuments(name, JSON, (ParsedDocument(value, (), JSON),))


def _through_graph(value: Any, *, name: str) -> ParsedDocuments:
    try:
        graph = graph_from_jsonld(value)
        records = records_from_graph(graph)
    except GraphError as exc:
        err = issue(JSONLD_EXPANSION, str(exc), exc.path)
        return ParsedDocuments(name, JSONLD, (ParsedDocument(value, (err,), JSONLD, usable=False),))
    if not records:
        err = issue(JSONLD_EXPANSION, "the JSON-LD document describes no ImageRecord", "")
        return ParsedDocuments(name, JSONLD, (ParsedDocument(value, (err,), JSONLD, usable=False),))
    return ParsedDocuments(name, JSONLD, tuple(ParsedDocument(r, (), JSONLD) for r in records))


# ---------------------------------------------------------------------------------------------------------
# Turtle


def parse_turtle(data: bytes | str, *, name: str = "") -> ParsedDocuments:
    """req-turtle: a Turtle document is read with rdflib and each ``ImageRecord`` node becomes a canonical record.
    A syntax error is ``turtle-syntax`` with the line rdflib reports."""
    text = data.decode("utf-8") if isinstance(data, bytes) else data
    refused = limits.check_size(len(data), limits.MAX_DOCUMENT_BYTES, what="the document") or \
        limits.check_turtle_depth(text)
    if refused is not None:
        return ParsedDocuments(name, TURTLE, (ParsedDocument(None, (refused,), TURTLE, usable=False),))
    try:
        graph = graph_from_turtle(text)
    except TurtleError as exc:
        err = issue(TURTLE_SYNTAX, f"not valid Turtle: {exc.message}", "", line=exc.line, column=exc.column)
        return ParsedDocuments(name, TURTLE, (ParsedDocument(None, (err,), TURTLE, usable=False),))
    try:
        records = records_from_graph(graph)
    except GraphError as exc:
        err = issue(JSONLD_EXPANSION, str(exc), exc.path)
        return ParsedDocuments(name, TURTLE, (ParsedDocument(None, (err,), TURTLE, usable=False),))
    if not records:
        err = issue(JSONLD_EXPANSION, "the Turtle document describes no aiterms:ImageRecord", "")
        return ParsedDocuments(name, TURTLE, (ParsedDocument(None, (err,), TURTLE, usable=False),))
    return ParsedDocuments(name, TURTLE, tuple(ParsedDocument(r, (), TURTLE) for r in records))


# ---------------------------------------------------------------------------------------------------------
# The graph route (rdflib): non-canonical JSON-LD and Turtle -> canonical records, bundled context only


class GraphError(Exception):
    """A JSON-LD or RDF document that cannot be read as records (reported as ``jsonld-expansion``)."""

    def __init__(self, message: str, path: str = "") -> None:
        super().__init__(message)
        self.path = path


class TurtleError(Exception):
    def __init__(self, message: str, line: int | None, column: int | None = None) -> None:
        super().__init__(message)
        self.message, self.line, self.column = message, line, column


@cache
def bundled_context() -> dict[str, Any]:
    """The bundled context document (``_data/context.jsonld``), served as the context IRI."""
    from importlib.resources import files

    doc: dict[str, Any] = json.loads((files("aiterms") / "_data" / "context.jsonld").read_text("utf-8"))
    return doc


class _NoFetchCache(dict[str, Any]):
    """rdflib's context cache, pre-filled with the bundled context; any other context IRI fails instead of being
    fetched (req-context-bundled: never fetched), whatever path rdflib takes to it."""

    def __contains__(self, key: object) -> bool:
        return True

    def __missing__(self, key: str) -> Any:
        raise GraphError(f"context {key!r} is not the bundled aiterms context and is never fetched")


@dataclass(frozen=True, slots=True)
class _Term:
    name: str
    iri: str
    type: str | None  # "@id" | "@vocab" | datatype IRI | None
    container: str | None  # "@set" | "@list" | None
    vocab: str | None  # the @vocab that applies to the term's values (scoped or global)


@dataclass(frozen=True, slots=True)
class _ContextMap:
    by_iri: dict[str, _Term]
    classes: dict[str, str]  # class IRI -> compact name
    record_class: str
    names: dict[str, str]  # IRI of a top-level term (property or class) -> the term


def _expand(value: str, prefixes: dict[str, str], vocab: str | None) -> str:
    if ":" in value:
        prefix, _, rest = value.partition(":")
        if prefix in prefixes and not rest.startswith("//"):
            return prefixes[prefix] + rest
        return value
    if vocab:
        return vocab + value
    return value


@cache
def _context_map() -> _ContextMap:
    raw = bundled_context().get("@context", {})
    defs: dict[str, Any] = {}
    for part in raw if isinstance(raw, list) else [raw]:
        if isinstance(part, dict):
            defs.update(part)
    vocab = defs.get("@vocab") if isinstance(defs.get("@vocab"), str) else None
    prefixes = {k: v for k, v in defs.items() if isinstance(v, str) and not k.startswith("@")
                and v.endswith(("/", "#", ":"))}
    terms: dict[str, _Term] = {}
    classes: dict[str, str] = {}
    for name, d in defs.items():
        if name.startswith("@"):
            continue
        if isinstance(d, str):
            if d.startswith("@"):
                continue  # keyword alias (id, type)
            iri = _expand(d, prefixes, vocab)
            if name[:1].isupper():
                classes[iri] = name
            elif name not in prefixes:
                terms[iri] = _Term(name, iri, None, None, vocab)
            continue
        if not isinstance(d, dict):
            continue
        iri = _expand(str(d.get("@id", name)), prefixes, vocab)
        scoped = d.get("@context")
        term_vocab = vocab
        if isinstance(scoped, dict) and isinstance(scoped.get("@vocab"), str):
            term_vocab = _expand(scoped["@vocab"], prefixes, vocab)
        typ = d.get("@type")
        if isinstance(typ, str) and not typ.startswith("@"):
            typ = _expand(typ, prefixes, vocab)
        container = d.get("@container")
        if isinstance(container, list):
            container = next((c for c in container if c in ("@set", "@list")), None)
        if name[:1].isupper() and typ is None and container is None:
            classes[iri] = name
            continue
        terms[iri] = _Term(name, iri, typ if isinstance(typ, str) else None,
                           container if isinstance(container, str) else None, term_vocab)
    names = {**{t.iri: t.name for t in terms.values()}, **classes}
    record_class = next((iri for iri, n in classes.items() if n == "ImageRecord"), NAMESPACE + "ImageRecord")
    return _ContextMap(terms, classes, record_class, names)


def graph_from_jsonld(value: Any) -> Any:
    """req-context-bundled: read a JSON-LD document into an rdflib graph with the bundled context in memory."""
    from rdflib import Graph
    from rdflib.plugins.parsers.jsonld import Parser
    from rdflib.plugins.shared.jsonld.context import Context

    context = Context(base=None)
    cache_ = _NoFetchCache()
    cache_[CONTEXT_IRI] = bundled_context()
    context._context_cache = cache_
    graph = Graph()
    try:
        Parser().parse(value, context, graph)
    except GraphError:
        raise
    except RecursionError as exc:
        raise GraphError("the JSON-LD document is nested too deeply") from exc
    except Exception as exc:  # rdflib raises many types for malformed JSON-LD; all are expansion errors
        raise GraphError(f"the JSON-LD document cannot be expanded: {exc}") from exc
    return graph


def graph_from_turtle(text: str) -> Any:
    from rdflib import Graph

    graph = Graph()
    try:
        graph.parse(data=text, format="turtle")
    except Exception as exc:  # rdflib's BadSyntax and friends
        line = getattr(exc, "lines", None)
        why = getattr(exc, "_why", None)
        column = None
        i, argstr = getattr(exc, "_i", None), getattr(exc, "_str", None)
        if isinstance(i, int) and isinstance(argstr, bytes):
            column = len(argstr[argstr.rfind(b"\n", 0, i) + 1:i].decode("utf-8", "replace")) + 1
        if not isinstance(line, int):
            line, why = text.count("\n"), why or (
                "unexpected end of the document" if isinstance(exc, IndexError) else str(exc).splitlines()[0]
                if str(exc) else type(exc).__name__)
        raise TurtleError(str(why), line + 1, column) from exc
    return graph


def _literal_value(lit: Any) -> Any:
    from rdflib import XSD

    dt = lit.datatype
    if dt in (XSD.integer, XSD.int, XSD.long, XSD.nonNegativeInteger, XSD.short, XSD.byte,
              XSD.positiveInteger, XSD.unsignedInt, XSD.unsignedLong):
        try:
            return int(str(lit))
        except ValueError:
            return str(lit)
    if dt in (XSD.decimal, XSD.double, XSD.float):
        try:
            return float(str(lit))
        except ValueError:
            return str(lit)
    if dt == XSD.boolean:
        return str(lit) in ("true", "1")
    return str(lit)


def _sort_key(v: Any) -> str:
    return json.dumps(v, sort_keys=True, ensure_ascii=False)


def records_from_graph(graph: Any) -> list[dict[str, Any]]:
    """req-graph-to-record: every ``aiterms:ImageRecord`` node of a graph as a canonical record.

    Properties are named by the bundled context's terms; values of ``@set`` terms are arrays in a canonical order
    (sorted), and a property the context does not know keeps its full IRI as key (so the schema layer reports it).
    A value of a vocabulary term (``use``, ``purpose``, ...) in its scheme's namespace is the rest of the IRI --
    the id, registered or not (``…/use/train`` is ``train``), exactly what the compact form says. A value whose
    kind does not fit its term (a literal where the context expects an IRI, or an IRI that is no node where it
    expects a literal or an object) comes back as the JSON-LD value object or node reference compact JSON-LD
    would write (``{"@value": …}``, ``{"id": …}``), so the schema layer reports it instead of it being silently
    read as a string. A node reached twice on one path (a cycle) is an error.
    """
    from rdflib import RDF, BNode, Literal, URIRef

    cmap = _context_map()
    record_class = URIRef(cmap.record_class)

    def compact_vocab(term: _Term, o: Any) -> Any:
        iri = str(o)
        if term.vocab and iri.startswith(term.vocab):
            return iri[len(term.vocab):]
        # A value that is the name of a top-level term ("use": "tags") expands to that term's IRI
        return cmap.names.get(iri, iri)

    def node(subject: Any, path: tuple[Any, ...], top: bool) -> dict[str, Any]:
        if subject in path:
            raise GraphError("the graph has a cycle; a record is a tree")
        if len(path) >= limits.MAX_NESTING_DEPTH:
            raise GraphError(f"the record's nodes nest deeper than {limits.MAX_NESTING_DEPTH}")
        out: dict[str, Any] = {}
        if top:
            out["@context"] = CONTEXT_IRI
        if isinstance(subject, URIRef):
            out["id"] = str(subject)
        values: dict[str, list[Any]] = {}
        terms: dict[str, _Term | None] = {}
        for p, o in graph.predicate_objects(subject):
            if p == RDF.type:
                name = cmap.classes.get(str(o), str(o))
                if top or name not in ("Declaration", "Rule", "Party", "Consent", "Source"):
                    values.setdefault("type", []).append(name)
                    terms["type"] = None
                continue
            term = cmap.by_iri.get(str(p))
            key = term.name if term else str(p)
            terms[key] = term
            if isinstance(o, Literal):
                v: Any = _literal_value(o)
                if term is not None and term.type in ("@vocab", "@id"):
                    v = {"@value": v}
            elif term is not None and term.type == "@vocab":
                v = compact_vocab(term, o)
            elif term is not None and term.type == "@id":
                v = str(o)
            elif isinstance(o, BNode) or (isinstance(o, URIRef) and (o, None, None) in graph):
                v = node(o, (*path, subject), False)
            else:  # an IRI that is no node here: a node reference, as compact JSON-LD writes it
                v = {"id": str(o)}
            values.setdefault(key, []).append(v)
        for key, vs in values.items():
            term = terms.get(key)
            many = term is not None and term.container in ("@set", "@list")
            if key == "type" and top and len(vs) == 1:
                out[key] = vs[0]
            elif many or len(vs) > 1:
                out[key] = sorted(vs, key=_sort_key)
            else:
                out[key] = vs[0]
        return out

    subjects = sorted(set(graph.subjects(RDF.type, record_class)), key=str)
    return [node(s, (), True) for s in subjects]


# ---------------------------------------------------------------------------------------------------------
# Entry points


def load_bytes(data: bytes, *, name: str = "", format: str | None = None) -> ParsedDocuments:
    """Parse a whole input (any format) into canonical records; never raises for bad input."""
    fmt = _ALIASES.get(format, format) if format else detect_format(name, data[:4096])
    if fmt == TURTLE:
        try:
            data.decode("utf-8")
        except UnicodeDecodeError as exc:
            err = issue(TURTLE_SYNTAX, f"not valid UTF-8 (byte {exc.start})", "")
            return ParsedDocuments(name, TURTLE, (ParsedDocument(None, (err,), TURTLE, usable=False),))
        return parse_turtle(data, name=name)
    if fmt == JSONL:
        import io

        return ParsedDocuments(name, JSONL, tuple(iter_jsonl(io.BytesIO(data))))
    return parse_json(data, name=name)


def load_text(text: str, *, name: str = "", format: str | None = None) -> ParsedDocuments:
    """Parse a whole input given as text (see :func:`load_bytes`)."""
    return load_bytes(text.encode("utf-8", "surrogatepass"), name=name, format=format)


__all__ = [
    "EXTENSIONS",
    "FORMATS",
    "ParsedDocument",
    "ParsedDocuments",
    "canonicalize",
    "detect_format",
    "iter_jsonl",
    "load_bytes",
    "load_text",
    "loads_json",
    "parse_json",
    "parse_turtle",
]
