"""The reference validator (spec/validation.md): syntax -> JSON Schema -> JSON-LD context -> meaning.

The module is ``aiterms.validation``; its functions are also ``aiterms.check``, ``aiterms.validate``, ... (the
module is not named ``validate`` so that ``aiterms.validate`` is always the function, never the module).

Public API, after python-jsonschema's habits (validate / iter_errors / is_valid) plus a call that returns a report:

* :func:`check` returns a :class:`~aiterms.report.Report` and never raises for an invalid document;
* :func:`iter_issues` yields the issues one by one;
* :func:`is_valid` says whether the document has no error;
* :func:`validate` raises :class:`InvalidDocument` (holding the report) when the document has an error.

A document may be a parsed JSON value (``dict``), or a JSON / JSON-LD / Turtle text (``str`` or ``bytes``).
Options are keyword-only: ``strict`` turns tag findings into errors (spec/validation.md#req-strict).

Structure is checked with jsonschema (the reference engine, ``Draft202012Validator`` over a ``referencing``
registry of the bundled schemas, nothing fetched). When jsonschema-rs is installed it runs first: a record it
finds valid is valid for jsonschema too (tested on the conformance suite and on generated records), and only
records it rejects go to jsonschema for the detailed report, so the reported issues are the same either way.
"""

from __future__ import annotations

import difflib
import json
import math
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from functools import cache, lru_cache
from importlib.resources import files
from typing import IO, Any

import orjson

from aiterms import limits, parse
from aiterms.report import Issue, Report, Severity, issue, pointer
from aiterms.vocab import CONTEXT_IRI, Registry, Vocabulary

# Schema layer codes (spec/validation.md#schema-codes): one per family of JSON Schema keywords.
SCHEMA_TYPE = "schema-type"
SCHEMA_REQUIRED = "schema-required"
SCHEMA_ENUM = "schema-enum"
SCHEMA_ADDITIONAL = "schema-additional-property"
SCHEMA_PATTERN = "schema-pattern"
SCHEMA_RANGE = "schema-range"
SCHEMA_UNIQUE = "schema-unique"
SCHEMA_VIOLATION = "schema-violation"

KEYWORD_CODES: Mapping[str, str] = {
    "type": SCHEMA_TYPE, "required": SCHEMA_REQUIRED, "dependentRequired": SCHEMA_REQUIRED,
    "enum": SCHEMA_ENUM, "const": SCHEMA_ENUM, "pattern": SCHEMA_PATTERN, "uniqueItems": SCHEMA_UNIQUE,
    "additionalProperties": SCHEMA_ADDITIONAL, "unevaluatedProperties": SCHEMA_ADDITIONAL,
    **dict.fromkeys(("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf", "minLength",
                     "maxLength", "minItems", "maxItems", "minProperties", "maxProperties"), SCHEMA_RANGE),
}

# Meaning layer codes
UNKNOWN_USE = "unknown-use"
UNKNOWN_PURPOSE = "unknown-purpose"
UNKNOWN_ACTOR = "unknown-actor"
UNKNOWN_ROLE = "unknown-role"
UNKNOWN_OBLIGATION = "unknown-obligation"
DEPRECATED_TERM = "deprecated-term"
UNKNOWN_TAG = "unknown-tag"
TAG_NEAR_MISS = "tag-near-miss"
TAG_CONFUSABLE = "tag-confusable"
DEPRECATED_TAG = "deprecated-tag"
CONTRADICTORY_RULES = "contradictory-rules"
UNTIL_BEFORE_START = "until-before-start"
INVALID_DATE = "invalid-date"
CONSENT_NOT_BY_DEPICTED = "consent-not-by-depicted-person"
UNKNOWN_LICENSE = "unknown-license"

# The vocabulary-valued fields: scheme -> code for an id that is not in it.
_TERM_CODES = {"use": UNKNOWN_USE, "purpose": UNKNOWN_PURPOSE, "actor": UNKNOWN_ACTOR, "role": UNKNOWN_ROLE,
               "obligation": UNKNOWN_OBLIGATION}


class InvalidDocument(ValueError):
    """Raised by :func:`validate` when a document has at least one error; ``report`` holds every finding."""

    def __init__(self, report: Report) -> None:
        self.report = report
        first = report.errors[0] if report.errors else None
        text = first.to_text() if first else "invalid document"
        more = f" (and {len(report.errors) - 1} more errors)" if len(report.errors) > 1 else ""
        spec = f" -- {first.spec}" if first else ""
        super().__init__(f"{text}{more}{spec}")

    def __eq__(self, other: object) -> bool:
        return isinstance(other, InvalidDocument) and other.report == self.report

    def __hash__(self) -> int:
        return hash(self.report)

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.report,))


# ---------------------------------------------------------------------------------------------------------
# Bundled schemas


@cache
def bundled_schemas() -> dict[str, Any]:
    """Every bundled schema by its ``$id``."""
    out: dict[str, Any] = {}
    folder = files("aiterms") / "_data" / "schemas"
    for entry in sorted(folder.iterdir(), key=lambda p: p.name):
        if entry.name.endswith(".json"):
            schema = json.loads(entry.read_text("utf-8"))
            out[schema.get("$id", entry.name)] = schema
    return out


@cache
def record_schema_id() -> str:
    for sid in bundled_schemas():
        if sid.rstrip("/").rsplit("/", 1)[-1].startswith("record"):
            return sid
    raise LookupError("no bundled record schema (expected _data/schemas/record.schema.json)")


@cache
def _validator() -> Any:
    """The reference engine: jsonschema's Draft202012Validator with a registry of the bundled schemas only."""
    import importlib

    from referencing import Registry as RefRegistry
    from referencing.jsonschema import DRAFT202012

    # imported by name: jsonschema ships no type information, and nothing here needs more than Any
    Draft202012Validator = importlib.import_module("jsonschema").Draft202012Validator
    resources = [(sid, DRAFT202012.create_resource(s)) for sid, s in bundled_schemas().items()]
    registry: Any = RefRegistry().with_resources(resources)
    return Draft202012Validator(bundled_schemas()[record_schema_id()], registry=registry)


@cache
def _fast_validator() -> Any:
    """jsonschema-rs over the same schemas, offline; ``None`` when it is not installed or cannot compile them."""
    try:
        import jsonschema_rs
    except ImportError:
        return None
    try:
        schemas = bundled_schemas()
        registry = jsonschema_rs.Registry(list(schemas.items()))
        return jsonschema_rs.Draft202012Validator(schemas[record_schema_id()], registry=registry,
                                                  validate_formats=False)
    except Exception:  # a fast engine that cannot load the schemas is simply not used
        return None


def use_fast_engine(enabled: bool) -> None:
    """Turn the jsonschema-rs fast path on or off (tests compare both engines)."""
    global _FAST_ENABLED  # noqa: PLW0603 -- a process-wide switch, read on every record
    _FAST_ENABLED = enabled


_FAST_ENABLED = True


def _schema_valid_fast(value: Any) -> bool | None:
    if not _FAST_ENABLED:
        return None
    fast = _fast_validator()
    if fast is None:
        return None
    try:
        return bool(fast.is_valid(value))
    except Exception:  # values jsonschema-rs cannot take go to the reference engine
        return None


def _additional_names(error: Any) -> list[str]:
    instance, schema = error.instance, error.schema
    if not isinstance(instance, dict):
        return []
    if error.validator == "additionalProperties" and isinstance(schema, dict):
        props = schema.get("properties") or {}
        patterns = [re.compile(p) for p in schema.get("patternProperties") or {}]
        return [k for k in instance if k not in props and not any(p.search(k) for p in patterns)]
    # unevaluatedProperties: jsonschema names them in its message as a tuple of reprs
    found = re.findall(r"'((?:[^'\\]|\\.)*)'", error.message.split("(", 1)[-1])
    return [k for k in found if k in instance]


def schema_issues(value: Any) -> list[Issue]:
    """req-schema: a record MUST be valid against the bundled record schema (JSON Schema 2020-12).

    Each failing keyword becomes one issue whose code names the keyword's family (see ``KEYWORD_CODES``) and
    whose path is the instance location; an unexpected property is reported at its own path.
    """
    if _schema_valid_fast(value):
        return []
    out: list[Issue] = []
    try:
        errors = list(_validator().iter_errors(value))
    except RecursionError:
        return [issue(SCHEMA_VIOLATION, "the document is nested too deeply to check", "")]
    for err in errors:
        path = pointer(*err.absolute_path)
        keyword = str(err.validator)
        code = KEYWORD_CODES.get(keyword, SCHEMA_VIOLATION)
        if code == SCHEMA_ADDITIONAL:
            names = _additional_names(err)
            if names:
                for name in names:
                    out.append(issue(code, f"unexpected property {limits.bounded(name)!r}", path + pointer(name),
                                     value=name))
                continue
        message = err.message  # jsonschema quotes the value: bounded below (req-quote-untrusted)
        if keyword in ("anyOf", "oneOf") and err.context:
            alts = sorted({e.message for e in err.context})[:3]
            message = f"{json.dumps(err.instance, default=str)} matches none of the allowed forms: " + "; ".join(alts)
        elif keyword == "required":
            message = message.replace("is a required property", "is required here")
        out.append(issue(code, limits.bounded(message, 240), path,
                         value=err.instance if code != SCHEMA_REQUIRED else None))
    out.sort(key=lambda i: (i.path, i.code, i.message))
    return out


# ---------------------------------------------------------------------------------------------------------
# Meaning (spec/validation.md#layer-meaning): one function per requirement


@dataclass(frozen=True, slots=True)
class Context:
    """What the meaning checks look terms up in."""

    vocabulary: Vocabulary
    registry: Registry
    strict: bool = False


def _as_list(v: Any) -> list[Any]:
    if v is None:
        return []
    if isinstance(v, list):
        return v
    return [v]


def _dicts(v: Any) -> Iterator[tuple[int, dict[str, Any]]]:
    if isinstance(v, list):
        for i, x in enumerate(v):
            if isinstance(x, dict):
                yield i, x


def _declarations(record: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    for i, d in _dicts(record.get("declarations")):
        yield f"/declarations/{i}", d


def _term_values(record: dict[str, Any]) -> Iterator[tuple[str, str, str]]:
    """Every vocabulary-valued string: (scheme, value, JSON Pointer)."""
    for dp, d in _declarations(record):
        by = d.get("declaredBy")
        if isinstance(by, dict) and isinstance(by.get("role"), str):
            yield "role", by["role"], f"{dp}/declaredBy/role"
        for ri, r in _dicts(d.get("rules")):
            rp = f"{dp}/rules/{ri}"
            if isinstance(r.get("use"), str):
                yield "use", r["use"], f"{rp}/use"
            for key, scheme in (("purpose", "purpose"), ("actor", "actor"), ("duties", "obligation")):
                v = r.get(key)
                if isinstance(v, str):
                    yield scheme, v, f"{rp}/{key}"
                elif isinstance(v, list):
                    for k, x in enumerate(v):
                        if isinstance(x, str):
                            yield scheme, x, f"{rp}/{key}/{k}"
        for ci, c in _dicts(d.get("consent")):
            if isinstance(c.get("use"), str):
                yield "use", c["use"], f"{dp}/consent/{ci}/use"


@lru_cache(maxsize=4096)
def suggest(vocabulary: Vocabulary, scheme: str, value: str) -> str | None:
    """The registered id closest to ``value``: an exact mapping token first, then difflib over ids and tokens."""
    concepts = vocabulary.schemes.get(scheme, {})
    candidates: dict[str, str] = {}
    for cid, c in concepts.items():
        candidates.setdefault(cid.casefold(), cid)
        candidates.setdefault(c.label.casefold(), cid)
        for m in c.mappings:
            if m.relation in ("exact", "close"):
                candidates.setdefault(m.token.casefold(), cid)
        for m in c.mappings:
            candidates.setdefault(m.token.casefold(), cid)
    key = value.casefold().strip()
    if key in candidates:
        return candidates[key]
    spaced = key.replace("_", "-").replace(" ", "-")
    if spaced in candidates:
        return candidates[spaced]
    close = difflib.get_close_matches(spaced, list(candidates), n=1, cutoff=0.6)
    return candidates[close[0]] if close else None


def req_known_terms(record: dict[str, Any], ctx: Context) -> Iterator[Issue]:
    """req-known-use, req-known-purpose, req-known-actor, req-known-role, req-known-obligation: every use,
    purpose, actor type, role and obligation id MUST be an id of the bundled vocabulary.

    req-deprecated-term: a deprecated term is reported (warning) with the term that replaces it.
    """
    schemes = ctx.vocabulary.schemes
    for scheme, value, path in _term_values(record):
        concepts = schemes.get(scheme, {})
        concept = concepts.get(value)
        if concept is None:
            hint = suggest(ctx.vocabulary, scheme, value)
            did = f"; did you mean {hint!r}?" if hint and hint != value else ""
            noun = {"obligation": "an obligation (duty)", "actor": "an actor type", "use": "a use",
                    "purpose": "a purpose", "role": "a role"}[scheme]
            yield issue(_TERM_CODES[scheme], f"{limits.bounded(value)!r} is not {noun} id{did}", path, value=value)
        elif concept.status in ("deprecated", "obsolete"):
            repl = f"; use {concept.replaced_by!r} instead" if concept.replaced_by else ""
            yield issue(DEPRECATED_TERM, f"{scheme} {value!r} is {concept.status}{repl}", path, value=value)


def req_known_tags(record: dict[str, Any], ctx: Context) -> Iterator[Issue]:
    """req-known-tag: a tag that is not registered is reported (warning; error in strict mode).
    req-tag-near-miss / req-tag-confusable: a spelling one edit away from a registered tag, or one that uses
    letters of another script that look like Latin ones, is reported with the registered spelling; it is never
    treated as the registered tag.
    req-deprecated-tag: a deprecated or obsolete tag is reported with the tag that replaces it."""
    tags = record.get("tags")
    if not isinstance(tags, list):
        return
    for i, raw in enumerate(tags):
        if isinstance(raw, str):
            found = _tag_issue(ctx.registry, raw, i, ctx.strict)
            if found is not None:
                yield found


@lru_cache(maxsize=16384)
def _tag_issue(registry: Registry, raw: str, index: int, strict: bool) -> Issue | None:
    """The finding about one tag at one position (cached: the same tags recur across a dataset)."""
    m = registry.lookup(raw)
    path = f"/tags/{index}"
    shown = limits.bounded(raw)
    if m.entry is not None:
        if m.entry.status in ("deprecated", "obsolete"):
            repl = f"; use {m.entry.replaced_by!r} instead" if m.entry.replaced_by else ""
            return issue(DEPRECATED_TAG, f"tag {shown!r} ({m.entry.id}) is {m.entry.status}{repl}", path, value=raw)
        return None
    sev = Severity.ERROR if strict else None
    if m.kind == "confusable":
        return issue(TAG_CONFUSABLE, f"tag {shown!r} uses letters of another script and only looks like the "
                     f"registered tag {m.suggestion!r}; it is not treated as {m.suggestion!r}", path,
                     value=raw, severity=sev)
    if m.kind == "near-miss":
        return issue(TAG_NEAR_MISS, f"tag {shown!r} is not registered; did you mean {m.suggestion!r}? "
                     "(it is not treated as that tag)", path, value=raw, severity=sev)
    return issue(UNKNOWN_TAG, f"tag {shown!r} is not in the aiterms tag registry", path, value=raw, severity=sev)


@lru_cache(maxsize=65536)
def _instant(value: str) -> Any:
    from aiterms.model import parse_instant

    try:
        # SPEC: RFC 3339 section 5.6 allows a lowercase "t" and "z"; model.parse_instant only takes "T"
        return parse_instant(value[:10] + value[10:].upper())
    except (ValueError, OverflowError):
        return None


def req_time_order(record: dict[str, Any], ctx: Context) -> Iterator[Issue]:
    """req-until-after-start: a declaration's ``until`` MUST be later than its ``effectiveFrom``, and a rule's
    ``until`` later than its ``from`` (``until`` is exclusive, so an equal value leaves no time at all).
    req-valid-date: every date and date-time MUST be a real RFC 3339 calendar date or instant."""
    for dp, d in _declarations(record):
        src = d.get("source")
        spans = [(dp, d, "effectiveFrom", ("issued",)),
                 *((f"{dp}/rules/{ri}", r, "from", ()) for ri, r in _dicts(d.get("rules")))]
        for base, obj, start_key, others in spans:
            when: dict[str, Any] = {}
            for key in (*others, start_key, "until"):
                v = obj.get(key)
                if isinstance(v, str):
                    when[key] = t = _instant(v)
                    if t is None:
                        yield issue(INVALID_DATE, f"{limits.bounded(v)!r} is not an RFC 3339 date or date-time",
                                    f"{base}/{key}", value=v)
            start, until = when.get(start_key), when.get("until")
            if start is not None and until is not None and until <= start:
                yield issue(UNTIL_BEFORE_START, f"'until' ({obj['until']}) is not later than {start_key!r} "
                            f"({obj[start_key]}); the period is empty", f"{base}/until", value=obj["until"])
        observed = src.get("observed") if isinstance(src, dict) else None
        if isinstance(observed, str) and _instant(observed) is None:
            yield issue(INVALID_DATE, f"{limits.bounded(observed)!r} is not an RFC 3339 date or date-time",
                        f"{dp}/source/observed", value=observed)


def req_consent_by_depicted_person(record: dict[str, Any], ctx: Context) -> Iterator[Issue]:
    """req-consent-by-depicted-person: consent statements MUST be declared by a party whose role is
    ``depicted-person``; a rights holder cannot give or refuse a depicted person's consent."""
    for dp, d in _declarations(record):
        consent = d.get("consent")
        if not consent:
            continue
        by = d.get("declaredBy")
        role = by.get("role") if isinstance(by, dict) else None
        if role != "depicted-person":
            shown = limits.bounded(repr(role))
            yield issue(CONSENT_NOT_BY_DEPICTED, f"consent is declared by a party whose role is {shown}; only a "
                        "depicted person gives or refuses consent", f"{dp}/consent", value=role)


def _when(v: Any) -> Any:
    """A hashable key for a date value: its instant when it has one, else the value itself (or its repr)."""
    if isinstance(v, str):
        return _instant(v) or v
    return v if v is None or isinstance(v, int | float | bool) else repr(v)


def _set_of(v: Any) -> frozenset[str] | None:
    items = _as_list(v)
    if not all(isinstance(x, str) for x in items):
        return None
    return frozenset(items)


def req_no_contradiction(record: dict[str, Any], ctx: Context) -> Iterator[Issue]:
    """req-no-contradiction: one party MUST NOT both permit and prohibit the same use with the same scope
    (purpose, actor, jurisdiction and period) in declarations that are not ordered in time.

    The same party is the same role and the same non-empty ``declaredBy.id`` (a declaration without an id is
    compared only with itself). Declarations are ordered by ``issued``, else ``effectiveFrom``, as in
    resolution.md#alg-supersede; a newer declaration replaces an older one rather than contradicting it, so
    only pairs in which a declaration has neither date, or both have the same one, can contradict. The later
    rule of a contradictory pair is reported, naming the earlier one."""
    seen: dict[tuple[Any, ...], list[tuple[str, str, Any]]] = {}
    for di, (dp, d) in enumerate(_declarations(record)):
        by = d.get("declaredBy")
        role = by.get("role") if isinstance(by, dict) else None
        pid = by.get("id") if isinstance(by, dict) else None
        party = (role if isinstance(role, str) else repr(role), pid if isinstance(pid, str) and pid else ("#", di))
        order = _when(d.get("issued") if d.get("issued") is not None else d.get("effectiveFrom"))
        window = (_when(d.get("effectiveFrom")), _when(d.get("until")))
        for ri, r in _dicts(d.get("rules")):
            effect, use = r.get("effect"), r.get("use")
            if effect not in ("permit", "prohibit") or not isinstance(use, str):
                continue
            dims = (_set_of(r.get("purpose")), _set_of(r.get("actor")), _set_of(r.get("jurisdiction")))
            if any(x is None for x in dims):
                continue
            key = (party, use, *dims, *window, _when(r.get("from")), _when(r.get("until")))
            rp = f"{dp}/rules/{ri}"
            earlier = seen.setdefault(key, [])
            for prev_effect, prev_path, prev_order in earlier:
                if prev_effect != effect and (order is None or prev_order is None or order == prev_order):
                    yield issue(CONTRADICTORY_RULES, f"this rule {effect}s {use!r} while {prev_path} of the same "
                                f"party {prev_effect}s it with the same scope", rp, value=use)
                    break
            earlier.append((effect, rp, order))


def req_known_license(record: dict[str, Any], ctx: Context) -> Iterator[Issue]:
    """req-known-license: a ``license`` IRI that aiterms does not know is reported (warning): its terms cannot
    be read, so it never grants anything."""
    lic = record.get("license")
    if isinstance(lic, str) and not _license_known(lic):
        yield issue(UNKNOWN_LICENSE, f"license {limits.bounded(lic)!r} is not a license aiterms knows; its terms "
                    "are not read", "/license", value=lic)


@lru_cache(maxsize=1024)
def _license_known(iri: str) -> bool:
    from aiterms import licenses  # the resolver's license table (_data/licenses.json), same normalization

    return licenses.lookup(iri) is not None


MEANING_CHECKS: tuple[Callable[[dict[str, Any], Context], Iterator[Issue]], ...] = (
    req_known_terms,
    req_known_tags,
    req_time_order,
    req_consent_by_depicted_person,
    req_no_contradiction,
    req_known_license,
)


@dataclass(frozen=True, slots=True)
class _Active:
    """Active (not deprecated) ids by scheme, for the fast path."""

    use: frozenset[str]
    purpose: frozenset[str]
    actor: frozenset[str]
    role: frozenset[str]
    obligation: frozenset[str]


@lru_cache(maxsize=8)
def _active(vocabulary: Vocabulary) -> _Active:
    def ids(scheme: str) -> frozenset[str]:
        return frozenset(c.id for c in vocabulary.schemes.get(scheme, {}).values()
                         if c.status not in ("deprecated", "obsolete"))

    return _Active(ids("use"), ids("purpose"), ids("actor"), ids("role"), ids("obligation"))


_DAYS: dict[str, bool] = {}  # "YYYY-MM-DD" -> a real calendar day (days recur across a dataset; bounded)


def _day_ok(day: str) -> bool:
    ok = _DAYS.get(day)
    if ok is None:
        if len(_DAYS) > 100_000:
            _DAYS.clear()
        ok = _DAYS[day] = _instant(day) is not None
    return ok


def _date_ok(v: str) -> bool:
    """``_instant(v) is not None`` for a value that matched the schema's date pattern, without parsing the common
    ``YYYY-MM-DDTHH:MM:SSZ`` form each time (a UTC time of a valid day is a valid instant). The schema's pattern
    made every one of those characters a digit, so comparing two-digit text compares numbers."""
    if len(v) == 20 and v[10] == "T" and v[19] == "Z":
        return v[11:13] < "24" and v[14:16] < "60" and v[17:19] < "60" and _day_ok(v[:10])
    if len(v) == 10:
        return _day_ok(v)
    return _instant(v) is not None


_MISSING = object()


@dataclass(frozen=True, slots=True)
class _Fast:
    """What the fast meaning check of one context reads: the active ids, and memos of (tag, position) findings and
    of license IRIs (tags and licenses recur across a dataset; a dict lookup is cheaper than an LRU-cached call)."""

    active: _Active
    tags: dict[tuple[str, int], object]
    licenses: dict[str, bool]


@lru_cache(maxsize=8)
def _fast_state(ctx: Context) -> _Fast:
    return _Fast(_active(ctx.vocabulary), {}, {})


def _meaning_fast(record: dict[str, Any], ctx: Context, state: _Fast | None = None) -> list[Issue] | None:
    """The meaning layer for a record the schema found valid, when it has no finding other than tag findings.

    Returns the tag findings (the same cached issues :func:`req_known_tags` yields), or None as soon as anything
    else might be a finding -- then the full checks (one function per requirement) run and report it. So both
    paths give identical reports; the fast one only skips work on clean records.
    """
    if state is None:
        state = _fast_state(ctx)
    tags = record.get("tags")
    out: list[Issue] = []
    if tags:
        memo = state.tags
        for i, raw in enumerate(tags):
            found = memo.get((raw, i), _MISSING)
            if found is _MISSING:
                if len(memo) > 65_536:
                    memo.clear()
                found = memo[raw, i] = _tag_issue(ctx.registry, raw, i, ctx.strict)
            if found is not None:
                out.append(found)  # type: ignore[arg-type]
    lic = record.get("license")
    if lic is not None:
        known = state.licenses.get(lic)
        if known is None:
            if len(state.licenses) > 4096:
                state.licenses.clear()
            known = state.licenses[lic] = _license_known(lic)
        if not known:
            return None
    decls = record.get("declarations")
    if not decls:
        return out
    act = state.active
    uses, purposes, actors, duties, roles = act.use, act.purpose, act.actor, act.obligation, act.role
    date_ok, instant = _date_ok, _instant
    effects: dict[tuple[Any, ...], str] = {}
    for di, d in enumerate(decls):
        by = d["declaredBy"]
        role = by["role"]
        if role not in roles:
            return None
        v = d.get("issued")
        if v is not None and not date_ok(v):
            return None
        start, until = d.get("effectiveFrom"), d.get("until")
        if (start is not None and not date_ok(start)) or (until is not None and not date_ok(until)):
            return None
        if start is not None and until is not None and not instant(until) > instant(start):
            return None
        consent = d.get("consent")
        if consent is not None:
            if role != "depicted-person":
                return None
            for c in consent:
                if c["use"] not in uses:
                    return None
        src = d.get("source")
        if src is not None:
            v = src.get("observed")
            if v is not None and not date_ok(v):
                return None
        rules = d.get("rules")
        if not rules:
            continue
        party = (role, by.get("id") or di)
        for r in rules:
            use = r["use"]
            if use not in uses:
                return None
            if len(r) > 2:
                vals = r.get("purpose")
                if vals is not None and not purposes.issuperset(vals):
                    return None
                vals = r.get("actor")
                if vals is not None and not actors.issuperset(vals):
                    return None
                vals = r.get("duties")
                if vals is not None and not duties.issuperset(vals):
                    return None
                start, until = r.get("from"), r.get("until")
                if (start is not None and not date_ok(start)) or (until is not None and not date_ok(until)):
                    return None
                if start is not None and until is not None and not instant(until) > instant(start):
                    return None
            # a permit and a prohibit of one use by one party: maybe a contradiction (the full check decides)
            effect = r["effect"]
            if effects.setdefault((party, use), effect) != effect:
                return None
    return out


def meaning_issues(record: Any, ctx: Context) -> list[Issue]:
    if not isinstance(record, dict):
        return []
    out: list[Issue] = []
    for check_fn in MEANING_CHECKS:
        out.extend(check_fn(record, ctx))
    return out


# ---------------------------------------------------------------------------------------------------------
# Layers together


def _merge(syntax: tuple[Issue, ...], schema: list[Issue], meaning: list[Issue]) -> list[Issue]:
    """Drop schema findings that a more specific layer already made about the same place:
    the context layer owns ``/@context``; the vocabulary checks own enum failures of vocabulary fields."""
    context_done = any(i.code in (parse.CONTEXT_MISSING, parse.CONTEXT_NOT_BUNDLED) for i in syntax)
    term_paths = {i.path for i in meaning if i.code in _TERM_CODES.values()}
    kept: list[Issue] = []
    for i in schema:
        if context_done and (i.path.startswith("/@context") or (
                i.code == SCHEMA_REQUIRED and i.path == "" and "'@context'" in i.message)):
            continue
        if i.path in term_paths:  # the same fact: "not an id of the vocabulary" (enum, pattern or length)
            continue
        kept.append(i)
    return [*syntax, *kept, *meaning]


# A record shorter than this (as JSON text) cannot exceed any count or string limit (every item takes at least
# 3 bytes, so 1,000 items take 3,000); its nesting depth was checked on the text before parsing.
_SMALL_RECORD = 3_000


def _limit_issues(value: Any, size: int | None) -> list[Issue]:
    """req-limits (spec/security.md): counts, string lengths and nesting of a parsed record."""
    if size is not None and size < _SMALL_RECORD:
        return []
    return limits.check_record_limits(value)


def _layers(value: Any, ctx: Context, syntax: tuple[Issue, ...] = (), size: int | None = None) -> list[Issue]:
    """Limits, schema and meaning on a parsed (canonical) value; a value over a limit is not read further."""
    limited = _limit_issues(value, size)
    if any(i.severity is Severity.ERROR for i in limited):
        return limits.cap_issues([*syntax, *limited])
    if not syntax and _schema_valid_fast(value):
        quick = _meaning_fast(value, ctx)
        if quick is not None and not limited:
            return quick if len(quick) <= limits.MAX_ISSUES else limits.cap_issues(quick)
        issues = _merge(syntax, [], meaning_issues(value, ctx))
    else:
        issues = _merge(syntax, schema_issues(value), meaning_issues(value, ctx))
    if limited:
        issues.extend(limited)
    return limits.cap_issues(issues) if len(issues) > limits.MAX_ISSUES else issues


def _check_parsed(doc: parse.ParsedDocument, ctx: Context, size: int | None = None) -> list[Issue]:
    if not doc.usable:
        return list(doc.issues)
    issues = _layers(doc.value, ctx, doc.issues, size if doc.format != parse.JSONLD else None)
    if doc.line is not None:
        issues = [i if i.line is not None else i.located(doc.line) for i in issues]
    return issues


@cache
def _bundled_context(strict: bool) -> Context:
    return Context(Vocabulary.bundled(), Registry.bundled(), strict)


def _context(strict: bool, vocabulary: Vocabulary | None = None, registry: Registry | None = None) -> Context:
    if vocabulary is None and registry is None:
        return _bundled_context(strict)
    return Context(vocabulary or Vocabulary.bundled(), registry or Registry.bundled(), strict)


def _json_problem(value: Any) -> str | None:
    """Why ``value`` is not a JSON value (None when it is one): iterative, so any depth is safe."""
    stack = [value]
    while stack:
        v = stack.pop()
        if v is None or isinstance(v, str | bool | int):
            continue
        if isinstance(v, float):
            if not math.isfinite(v):
                return "NaN and infinite numbers are not JSON"
        elif isinstance(v, list):
            stack.extend(v)
        elif isinstance(v, dict):
            for k, child in v.items():
                if not isinstance(k, str):
                    return f"object key {limits.bounded(repr(k))} is not a string"
                stack.append(child)
        else:
            return f"{type(v).__name__} is not a JSON type"
    return None


def _documents(doc: Any) -> list[parse.ParsedDocument] | Issue:
    if isinstance(doc, bytes | bytearray | memoryview):
        return list(parse.load_bytes(bytes(doc)))
    if isinstance(doc, str):
        return list(parse.load_text(doc))
    problem = _json_problem(doc)
    if problem is not None:
        return issue(parse.JSON_SYNTAX, f"not a JSON value: {problem}", "")
    return list(parse.canonicalize(doc))


def iter_issues(doc: Any, *, strict: bool = False, vocabulary: Vocabulary | None = None,
                registry: Registry | None = None) -> Iterator[Issue]:
    """Every finding about ``doc`` (a JSON value, or JSON / JSON-LD / Turtle / JSON Lines text or bytes), layer
    by layer. ``vocabulary`` and ``registry`` replace the bundled ones (for tests and newer vocabularies)."""
    ctx = _context(strict, vocabulary, registry)
    docs = _documents(doc)
    if isinstance(docs, Issue):
        yield docs
        return
    for d in docs:
        yield from _check_parsed(d, ctx)


def check(doc: Any, *, strict: bool = False, vocabulary: Vocabulary | None = None,
          registry: Registry | None = None) -> Report:
    """The report on ``doc``; never raises for an invalid document."""
    return Report.of(iter_issues(doc, strict=strict, vocabulary=vocabulary, registry=registry))


def is_valid(doc: Any, *, strict: bool = False) -> bool:
    """True when ``doc`` has no error (warnings allowed)."""
    return check(doc, strict=strict).valid


def validate(doc: Any, *, strict: bool = False) -> None:
    """Raise :class:`InvalidDocument` when ``doc`` has an error; return None otherwise."""
    report = check(doc, strict=strict)
    if not report.valid:
        raise InvalidDocument(report)


def check_text(text: str | bytes, *, name: str = "", strict: bool = False, format: str | None = None) -> list[Report]:
    """One report per document of a whole input: one for JSON, one per record for Turtle and JSON Lines."""
    ctx = _context(strict)
    data = text.encode("utf-8", "surrogatepass") if isinstance(text, str) else text
    return [Report.of(_check_parsed(d, ctx)) for d in parse.load_bytes(data, name=name, format=format)]


def iter_jsonl(stream: IO[bytes] | Iterable[bytes], *, strict: bool = False) -> Iterator[tuple[int, Report]]:
    """req-jsonl-stream: validate a JSON Lines stream one line at a time, in constant memory: ``(line, report)``
    for every non-blank line; a bad line is reported and the lines after it are read as usual.

    Syntax issues carry their line; the other issues of a line do not repeat it (it is the pair's first item).
    """
    ctx = _context(strict)
    loads = parse.loads_json
    fast = _fast_validator() if _FAST_ENABLED else None
    state = _fast_state(ctx)
    quick_loads, decode_error, deep = orjson.loads, orjson.JSONDecodeError, limits.MAX_NESTING_DEPTH
    for n, raw in parse.iter_lines(stream):
        if raw is not None:
            if raw.isspace() or not raw:
                continue
            # The common case inline (a small canonical record without a byte order mark, shallow enough by
            # count, that jsonschema-rs finds valid and whose meaning has no finding but tag findings): the same
            # steps as loads_json and _layers, without their calls. Anything else takes those functions.
            if fast is not None and len(raw) < _SMALL_RECORD and raw[:1] == b"{" \
                    and raw.count(b"[") + raw.count(b"{") <= deep:
                try:
                    value = quick_loads(raw)
                except decode_error:
                    value = None
                if value is not None and value.get("@context") == CONTEXT_IRI and "@graph" not in value:
                    try:
                        ok = fast.is_valid(value)
                    except Exception:  # values jsonschema-rs cannot take go to the reference engine
                        ok = False
                    if ok:
                        quick = _meaning_fast(value, ctx, state)
                        if quick is None:  # _layers' next step: the full meaning checks
                            quick = _merge((), [], meaning_issues(value, ctx))
                        if len(quick) <= limits.MAX_ISSUES:
                            yield n, Report(tuple(quick)) if quick else _EMPTY
                            continue
            value, err = loads(raw, code=parse.JSONL_SYNTAX, line_offset=n - 1)
            if err is None and isinstance(value, dict) and value.get("@context") == CONTEXT_IRI \
                    and "@graph" not in value:
                issues = _layers(value, ctx, (), len(raw))
                yield n, Report(tuple(issues)) if issues else _EMPTY
                continue
        yield n, Report.of(_check_parsed(parse.parse_jsonl_line(raw, n), ctx, len(raw) if raw else None))


_EMPTY = Report(())


__all__ = [
    "InvalidDocument",
    "check",
    "check_text",
    "is_valid",
    "iter_issues",
    "iter_jsonl",
    "validate",
]
