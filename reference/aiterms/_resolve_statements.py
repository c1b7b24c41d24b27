"""Resolver steps 2 to 5 (spec/resolution.md): read and check the record, collect statements, time, supersession.

A :class:`Statement` is the resolver's unit: one rule of a declaration, one consent entry of a depicted person,
or one rule a registered tag stands for, with its party, its JSON Pointer and its time window.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any

from aiterms.model import (
    DATASET_CURATOR,
    DEPICTED_PERSON,
    PERMIT,
    PLATFORM,
    PROHIBIT,
    RIGHTS_HOLDER,
    Consent,
    Declaration,
    Party,
    Record,
    Rule,
    parse_instant,
)
from aiterms.report import Issue, Severity
from aiterms.vocab import CONTEXT_IRI, Registry, Vocabulary

ROLES = (RIGHTS_HOLDER, DEPICTED_PERSON, PLATFORM, DATASET_CURATOR)
UNKNOWN = "unknown"  # effect of a consent entry with status "unknown": speaks about a use, decides nothing
CONSENT_EFFECT = {"given": PERMIT, "refused": PROHIBIT, "unknown": UNKNOWN}
INVALID_RECORD = "record-invalid-not-resolved"


@dataclass(frozen=True, slots=True)
class Statement:
    effect: str  # permit | prohibit | unknown
    use: str
    role: str
    party: tuple[str, str]  # (role, id) -- or (role, "#<pointer>") for a party without an id
    party_id: str | None
    kind: str  # rule | consent | tag
    pointer: str  # JSON Pointer of the rule, consent entry or tag
    declaration: str | None = None  # JSON Pointer of the declaration
    purpose: tuple[str, ...] = ()
    actor: tuple[str, ...] = ()
    jurisdiction: tuple[str, ...] = ()
    duties: tuple[str, ...] = ()
    windowed: bool = False  # the rule has its own from/until
    start: datetime | None = None  # in force from (declaration and rule windows combined)
    end: datetime | None = None  # exclusive
    order: datetime | None = None  # issued, else effectiveFrom: which declaration of a party is newer
    signal: str | None = None
    label: str = ""  # the tag as written, for tag statements

    @property
    def constraints(self) -> int:
        """How many dimensions the statement is constrained on (specificity, spec#alg-specificity)."""
        return bool(self.purpose) + bool(self.actor) + bool(self.jurisdiction) + self.windowed

    def in_force(self, at: datetime) -> bool:
        return (self.start is None or self.start <= at) and (self.end is None or at < self.end)


class InvalidModel(Exception):
    """The model has a value the resolver cannot read (fail closed: spec#req-resolve-fail-closed)."""

    def __init__(self, issues: list[Issue]) -> None:
        super().__init__("; ".join(i.message for i in issues))
        self.issues = issues


def _warning(path: str, message: str) -> Issue:
    return Issue(INVALID_RECORD, Severity.WARNING, message, path)


@lru_cache(maxsize=4096)
def _parse(value: str) -> datetime:
    return parse_instant(value)


def _instant(value: str | None, path: str, problems: list[Issue]) -> datetime | None:
    if value is None:
        return None
    try:
        return _parse(str(value))
    except (ValueError, TypeError):
        problems.append(_warning(path, f"{value!r} is not an RFC 3339 date or date-time; the record is not resolved"))
        return None


def _later(a: datetime | None, b: datetime | None) -> datetime | None:
    if a is None:
        return b
    if b is None:
        return a
    return max(a, b)


def _earlier(a: datetime | None, b: datetime | None) -> datetime | None:
    if a is None:
        return b
    if b is None:
        return a
    return min(a, b)


def _check_types(record: Record, problems: list[Issue]) -> None:
    """A model built by hand may hold anything; every value the resolver reads must have its type."""
    if not _types_ok(record):
        _type_problems(record, problems)


def _texts_ok(v: Any) -> bool:
    if not isinstance(v, tuple):
        return False
    for x in v:  # noqa: SIM110 -- a loop: all() over a generator costs a frame per call, and this runs per value
        if not isinstance(x, str):
            return False
    return True


def _types_ok(record: Record) -> bool:
    """Whether _type_problems finds nothing (the same checks, without messages: the common case, a model built by
    Record.from_json, is checked once per record)."""
    owner, lic, decls = record.owner, record.license, record.declarations
    if not ((owner is None or isinstance(owner, str)) and (lic is None or isinstance(lic, str))
            and _texts_ok(record.tags) and isinstance(decls, tuple)):
        return False
    for d in decls:
        if not isinstance(d, Declaration):
            return False
        by = d.declared_by
        if not (isinstance(by, Party) and isinstance(by.role, str) and (by.id is None or isinstance(by.id, str))):
            return False
        for v in (d.issued, d.effective_from, d.until):
            if v is not None and not isinstance(v, str):
                return False
        rules, consent = d.rules, d.consent
        if not (isinstance(rules, tuple) and isinstance(consent, tuple)):
            return False
        for r in rules:
            if not (isinstance(r, Rule) and isinstance(r.effect, str) and isinstance(r.use, str)
                    and (r.start is None or isinstance(r.start, str)) and (r.until is None or isinstance(r.until, str))
                    and _texts_ok(r.purpose) and _texts_ok(r.actor) and _texts_ok(r.jurisdiction)
                    and _texts_ok(r.duties)):
                return False
        for c in consent:
            if not (isinstance(c, Consent) and isinstance(c.use, str) and isinstance(c.status, str)):
                return False
    return True


def _type_problems(record: Record, problems: list[Issue]) -> None:
    """The type problems of a model, each with its path."""

    def want(ok: bool, path: str, what: str) -> None:
        if not ok:
            problems.append(_warning(path, f"{what} has the wrong type; the record is not resolved"))

    def text(v: Any) -> bool:
        return isinstance(v, str)

    def optional(v: Any) -> bool:
        return v is None or isinstance(v, str)

    def texts(v: Any) -> bool:
        return isinstance(v, tuple) and all(isinstance(x, str) for x in v)

    want(optional(record.owner), "/owner", "owner")
    want(optional(record.license), "/license", "license")
    want(texts(record.tags), "/tags", "tags")
    if not isinstance(record.declarations, tuple):
        want(False, "/declarations", "declarations")
        return
    for i, d in enumerate(record.declarations):
        dp = f"/declarations/{i}"
        if not isinstance(d, Declaration) or not isinstance(d.declared_by, Party):
            want(False, dp, "declaration")
            continue
        want(text(d.declared_by.role) and optional(d.declared_by.id), f"{dp}/declaredBy", "declaredBy")
        for name in ("issued", "effective_from", "until"):
            want(optional(getattr(d, name)), dp, name)
        rules, consent = d.rules, d.consent
        if not isinstance(rules, tuple) or not isinstance(consent, tuple):
            want(False, dp, "rules or consent")
            continue
        for j, r in enumerate(rules):
            ok = isinstance(r, Rule) and text(r.effect) and text(r.use) and optional(r.start) and optional(r.until)
            want(ok and all(texts(getattr(r, k)) for k in ("purpose", "actor", "jurisdiction", "duties")),
                 f"{dp}/rules/{j}", "rule")
        for j, c in enumerate(consent):
            want(isinstance(c, Consent) and text(c.use) and text(c.status), f"{dp}/consent/{j}", "consent")


class Collector:
    """Steps 2 (model check), 3 (statements), 3a (tags): one record in, its statements out."""

    def __init__(self, vocabulary: Vocabulary, registry: Registry, valid_jurisdiction: Callable[[str], bool]) -> None:
        self.vocabulary = vocabulary
        self.registry = registry
        self.valid_jurisdiction = valid_jurisdiction
        self.uses = vocabulary.ids("use")
        self.purposes = vocabulary.ids("purpose")
        self.actors = vocabulary.ids("actor")
        self.obligations = vocabulary.ids("obligation")

    def statements(self, record: Record) -> tuple[list[Statement], list[tuple[int, str, Any]]]:
        """req-resolve-fail-closed: every statement of the record, or :class:`InvalidModel` when a value cannot
        be read. Also returns the tags that resemble registered tags, ``(index, raw, TagMatch)``."""
        problems: list[Issue] = []
        out: list[Statement] = []
        _check_types(record, problems)
        if problems:
            raise InvalidModel(problems)
        self._check_record(record, problems)
        for d in record.declarations:
            out.extend(self._declaration(d, problems))
        tag_statements, near = self._tags(record, problems)
        out.extend(tag_statements)
        if problems:
            raise InvalidModel(problems)
        return out, near

    # -- step 2: what the validator would reject, for models built without it ---------------------------

    def _check_record(self, record: Record, problems: list[Issue]) -> None:
        n = record.depicted_persons
        if n is not None and n != "unknown" and (not isinstance(n, int) or isinstance(n, bool) or n < 0):
            problems.append(_warning("/depictedPersons", f"depictedPersons {n!r} is neither a count nor 'unknown'"))

    def _terms(self, values: Iterable[str], known: frozenset[str], path: str, what: str,
               problems: list[Issue]) -> tuple[str, ...]:
        out = tuple(values)
        for i, v in enumerate(out):
            if v not in known:
                problems.append(_warning(f"{path}/{i}", f"{v!r} is not a {what} id; the record is not resolved"))
        return out

    def _declaration(self, d: Declaration, problems: list[Issue]) -> Iterator[Statement]:
        dp = d.path
        role = d.declared_by.role
        if role not in ROLES:
            problems.append(_warning(f"{dp}/declaredBy/role", f"{role!r} is not a role id; the record is not resolved"))
        party_id = d.declared_by.id or None
        party = (role, party_id if party_id else f"#{dp}")
        issued = _instant(d.issued, f"{dp}/issued", problems)
        effective = _instant(d.effective_from, f"{dp}/effectiveFrom", problems)
        until = _instant(d.until, f"{dp}/until", problems)
        start = _later(issued, effective)
        if start is not None and until is not None and until <= start:
            problems.append(_warning(f"{dp}/until", "the declaration ends before it starts; the record is not "
                                     "resolved"))
        order = issued if issued is not None else effective
        signal = d.source.signal if d.source is not None and d.source.signal else None
        for r in d.rules:
            rp = r.path
            if r.effect not in (PERMIT, PROHIBIT):
                problems.append(_warning(f"{rp}/effect", f"{r.effect!r} is not an effect; the record is not resolved"))
            if r.use not in self.uses:
                problems.append(_warning(f"{rp}/use", f"{r.use!r} is not a use id; the record is not resolved"))
            purpose = self._terms(r.purpose, self.purposes, f"{rp}/purpose", "purpose", problems)
            actor = self._terms(r.actor, self.actors, f"{rp}/actor", "actor", problems)
            duties = self._terms(r.duties, self.obligations, f"{rp}/duties", "obligation", problems)
            for i, j in enumerate(r.jurisdiction):
                if not self.valid_jurisdiction(j):
                    problems.append(_warning(f"{rp}/jurisdiction/{i}", f"{j!r} is not a jurisdiction code"))
            rstart = _instant(r.start, f"{rp}/from", problems)
            rend = _instant(r.until, f"{rp}/until", problems)
            if rstart is not None and rend is not None and rend <= rstart:
                problems.append(_warning(f"{rp}/until", "the rule ends before it starts; the record is not resolved"))
            yield Statement(
                effect=r.effect, use=r.use, role=role, party=party, party_id=party_id, kind="rule", pointer=rp,
                declaration=dp, purpose=purpose, actor=actor, jurisdiction=tuple(r.jurisdiction), duties=duties,
                windowed=r.start is not None or r.until is not None, start=_later(start, rstart),
                end=_earlier(until, rend), order=order, signal=signal,
            )
        for c in d.consent:
            if role != DEPICTED_PERSON:
                problems.append(_warning(c.path, "consent can only be stated by a depicted person; the record is not "
                                         "resolved"))
            effect = CONSENT_EFFECT.get(c.status)
            if effect is None:
                problems.append(_warning(f"{c.path}/status", f"{c.status!r} is not a consent status"))
                continue
            if c.use not in self.uses:
                problems.append(_warning(f"{c.path}/use", f"{c.use!r} is not a use id; the record is not resolved"))
            yield Statement(effect=effect, use=c.use, role=role, party=party, party_id=party_id, kind="consent",
                            pointer=c.path, declaration=dp, start=start, end=until, order=order, signal=signal)

    # -- step 3a: tags ------------------------------------------------------------------------------------

    def _tags(self, record: Record, problems: list[Issue]) -> tuple[list[Statement], list[tuple[int, str, Any]]]:
        """req-resolve-tags: a registered tag acts as its entry's rules, stated by the record's owner;
        req-resolve-unregistered-tags: other tags are never rules (near misses are reported)."""
        out: list[Statement] = []
        near: list[tuple[int, str, Any]] = []
        owner = record.owner or None
        party = (RIGHTS_HOLDER, owner if owner else "#owner")
        for i, raw in enumerate(record.tags):
            m = self.registry.lookup(raw)
            if m.entry is None:
                if m.kind in ("near-miss", "confusable"):
                    near.append((i, raw, m))
                continue
            for rule in m.entry.rules:
                out.append(self._tag_rule(rule, i, raw, m.entry.id, party=party, owner=owner, problems=problems))
        return out, near

    def _tag_rule(self, rule: Mapping[str, Any], index: int, raw: str, tag_id: str, *, party: tuple[str, str],
                  owner: str | None, problems: list[Issue]) -> Statement:
        def strs(v: Any) -> tuple[str, ...]:
            return () if v is None else (v,) if isinstance(v, str) else tuple(str(x) for x in v)

        path = f"/tags/{index}"
        use = str(rule.get("use", ""))
        effect = str(rule.get("effect", ""))
        if use not in self.uses or effect not in (PERMIT, PROHIBIT):
            problems.append(_warning(path, f"the registry entry {tag_id!r} has a rule the resolver cannot read"))
        label = tag_id if raw == tag_id else f"{raw!r} (registered tag {tag_id})"
        return Statement(
            effect=effect, use=use, role=RIGHTS_HOLDER, party=party, party_id=owner, kind="tag", pointer=path,
            purpose=strs(rule.get("purpose")), actor=strs(rule.get("actor")),
            jurisdiction=strs(rule.get("jurisdiction")), duties=strs(rule.get("duties")),
            signal="tag", label=label,
        )


Superseded = list[tuple[Statement, Statement]]


def supersede(statements: list[Statement], covers: Callable[[str, str], bool]) -> tuple[list[Statement], Superseded]:
    """req-resolve-supersede: drop each statement for which a newer in-force statement of the same party (with
    an id) covers its use. ``covers(narrow, broad)``. Returns the kept statements and ``(dropped, by)`` pairs."""
    by_party: dict[tuple[str, str], list[Statement]] = {}
    for s in statements:
        if s.party_id and s.order is not None:
            by_party.setdefault(s.party, []).append(s)
    dropped: dict[int, Statement] = {}
    for group in by_party.values():
        if len({s.order for s in group}) < 2:
            continue
        for s in group:
            assert s.order is not None
            newer = [t for t in group if t.order is not None and t.order > s.order and covers(s.use, t.use)]
            if newer:
                dropped[id(s)] = max(newer, key=lambda t: (t.order, t.pointer))
    kept = [s for s in statements if id(s) not in dropped]
    return kept, [(s, dropped[id(s)]) for s in statements if id(s) in dropped]


def read_json(obj: Any, *, vocabulary: Vocabulary | None = None,
              registry: Registry | None = None) -> tuple[Record | None, list[Issue]]:
    """alg-record: validate a record given as parsed JSON (spec/validation.md) and build its model.

    ``vocabulary`` and ``registry`` are the resolver's (None: the bundled ones). Returns ``(None, issues)`` when the
    record is invalid.
    """
    from aiterms import parse
    from aiterms import validation as validate

    report = validate.check(obj, vocabulary=vocabulary, registry=registry)
    if not report.valid:
        return None, list(report.issues)
    value: Any = obj
    if not (isinstance(obj, dict) and obj.get("@context") == CONTEXT_IRI and "@graph" not in obj):
        docs = list(parse.canonicalize(obj))
        if len(docs) != 1 or not docs[0].usable:
            return None, [*report.issues, Issue(INVALID_RECORD, Severity.WARNING,
                                                f"the document holds {len(docs)} records; resolve them one by one")]
        value = docs[0].value
    try:
        return Record.from_json(value), list(report.issues)
    except (KeyError, TypeError, AttributeError, ValueError) as exc:
        return None, [*report.issues, Issue(INVALID_RECORD, Severity.WARNING, f"the record cannot be read: {exc}")]
