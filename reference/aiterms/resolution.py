"""The resolver (spec/resolution.md): may this image be used for this use?

``resolve(record, query)`` follows the algorithm of spec/resolution.md step by step; each step's code cites its
anchor, ``Decision.steps`` lists the anchors taken and every reason names the step that produced it. The
resolver is pure and deterministic: it reads the bundled vocabulary, tag registry, license and jurisdiction
tables once and does no other I/O. It never raises for a bad record or query: it answers ``unspecified`` with
coded warnings (fail closed, spec#req-resolve-fail-closed).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cache
from typing import Any

from aiterms._resolve_law import Area, Jurisdictions, Law
from aiterms._resolve_statements import (
    INVALID_RECORD,
    UNKNOWN,
    Collector,
    InvalidModel,
    Statement,
    read_json,
    supersede,
)
from aiterms._resolve_text import (
    ALG_AUTHORITY,
    ALG_CONSENT,
    ALG_EU_RESEARCH,
    ALG_IN_FORCE,
    ALG_LICENSE,
    ALG_MATCH,
    ALG_NARROWER,
    ALG_OUTCOME,
    ALG_QUERY,
    ALG_RECORD,
    ALG_SCOPE,
    ALG_SPECIFICITY,
    ALG_STATEMENTS,
    ALG_SUPERSEDE,
    ALG_TAGS,
    STEPS,
    explain,
    now,
    reason,
    unknown_license_text,
    via,
    who,
    window,
)
from aiterms.licenses import LicenseInfo, LicenseTable
from aiterms.model import (
    ALLOWED,
    CONSTRAINED,
    DATASET_CURATOR,
    DEPICTED_PERSON,
    NOT_ALLOWED,
    PERMIT,
    PLATFORM,
    PROHIBIT,
    RIGHTS_HOLDER,
    UNSPECIFIED,
    Decision,
    Query,
    Reason,
    Record,
    parse_instant,
)
from aiterms.report import Issue, Severity
from aiterms.vocab import Registry, Vocabulary

# Codes (spec/resolution.md#codes; the validator's codes keep their home in spec/validation.md).
UNKNOWN_USE_IN_QUERY = "unknown-use-in-query"
INVALID_QUERY_VALUE = "invalid-query-value"
TAG_NEAR_MISS = "tag-near-miss"  # spec/validation.md
TAG_CONFUSABLE = "tag-confusable"  # spec/validation.md
UNKNOWN_LICENSE = "unknown-license"  # spec/validation.md

OBTAIN_CONSENT = "obtain-consent"
COMMERCIAL = "commercial"
_DEFAULT_ROLES = (PLATFORM, DATASET_CURATOR)


# ---------------------------------------------------------------------------------------------------------
# Working values


@dataclass(frozen=True, slots=True)
class _Prepared:
    """A checked query (step 1) with everything the later steps need about it computed once."""

    query: Query  # jurisdiction upper-cased, ``at`` filled in
    at: datetime
    issues: tuple[Issue, ...] = ()
    purposes: frozenset[str] = frozenset()  # the purpose and every broader purpose
    actors: frozenset[str] = frozenset()
    area: Area | None = None
    consent_laws: tuple[Law, ...] = ()
    research: Law | None = None  # the research exception, when jurisdiction, actor and purpose qualify


@dataclass(slots=True)
class _Verdict:
    """Steps 7 to 12 for one use."""

    use: str
    outcome: str = UNSPECIFIED
    obligations: set[str] = field(default_factory=set)
    deciding: list[Statement] = field(default_factory=list)
    reasons: list[tuple[bool, Reason]] = field(default_factory=list)  # (decisive, reason)
    steps: list[str] = field(default_factory=list)

    def step(self, anchor: str) -> None:
        if anchor not in self.steps:
            self.steps.append(anchor)

    def add(self, reason: Reason, *, decisive: bool = False) -> None:
        self.reasons.append((decisive, reason))
        self.step(reason.step)


# ---------------------------------------------------------------------------------------------------------
# The resolver


class Resolver:
    """The algorithm of spec/resolution.md over one set of tables (by default the bundled ones).

    A resolver is immutable after construction and safe to share; it caches per-query work (``resolve_json``
    on many records with one query does that work once).
    """

    def __init__(self, vocabulary: Vocabulary | None = None, *, registry: Registry | None = None,
                 licenses: LicenseTable | None = None, jurisdictions: Jurisdictions | None = None) -> None:
        self._custom_vocabulary, self._custom_registry = vocabulary, registry
        self.vocabulary = vocabulary or Vocabulary.bundled()
        self.registry = registry or Registry.bundled()
        self.licenses = licenses or LicenseTable.bundled()
        self.jurisdictions = jurisdictions or Jurisdictions.bundled()
        self.collector = Collector(self.vocabulary, self.registry, self._valid_jurisdiction)
        self._prepared: dict[Query, _Prepared] = {}
        self._descendants = {u: self.vocabulary.descendants(u) for u in self.vocabulary.uses}
        self._ancestors = {u: self.vocabulary.ancestors(u) for u in self.vocabulary.uses}

    def _valid_jurisdiction(self, code: str) -> bool:
        return self.jurisdictions.area(code) is not None

    def covers(self, narrow: str, broad: str) -> bool:
        """spec#alg-scope: a statement on ``broad`` covers ``narrow``."""
        ancestors = self._ancestors.get(narrow)
        return broad == narrow if ancestors is None else broad in ancestors

    def shared(self, a: str, b: str) -> frozenset[str]:
        """The uses both ``a`` and ``b`` cover (``computer-vision`` and ``biometric`` share ``face-recognition``)."""
        return self._descendants.get(a, frozenset({a})) & self._descendants.get(b, frozenset({b}))

    def _up(self, scheme: str, value: str | None) -> frozenset[str]:
        """A concept and every broader concept of its scheme (purposes and actors may grow a hierarchy)."""
        if value is None:
            return frozenset()
        concepts = self.vocabulary.schemes.get(scheme, {})
        seen: set[str] = set()
        todo = [value]
        while todo:
            v = todo.pop()
            if v in seen:
                continue
            seen.add(v)
            c = concepts.get(v)
            if c is not None:
                todo.extend(c.broader)
        return frozenset(seen)

    # -- step 1 -------------------------------------------------------------------------------------------

    def prepare(self, query: Query) -> _Prepared:
        """alg-query / req-resolve-query: check the query; fill in ``at`` (now, UTC) when it is absent."""
        fields = (query.use, query.purpose, query.actor, query.jurisdiction, query.at)
        if not isinstance(query.use, str) or not all(v is None or isinstance(v, str) for v in fields):
            bad = Issue(INVALID_QUERY_VALUE, Severity.ERROR, "every query value must be a string", "")
            return _Prepared(query=Query(use=str(query.use), at=now()), at=datetime.now(UTC), issues=(bad,))
        cached = self._prepared.get(query) if query.at is not None else None
        if cached is not None:
            return cached
        issues: list[Issue] = []
        if query.use not in self.vocabulary.uses:
            issues.append(Issue(UNKNOWN_USE_IN_QUERY, Severity.ERROR,
                                f"{query.use!r} is not a use id{self._suggest('use', query.use)}", "/use",
                                value=query.use))
        for name, scheme in (("purpose", "purpose"), ("actor", "actor")):
            value = getattr(query, name)
            if value is not None and value not in self.vocabulary.ids(scheme):
                issues.append(Issue(INVALID_QUERY_VALUE, Severity.ERROR,
                                    f"{value!r} is not a {name} id{self._suggest(scheme, value)}", f"/{name}",
                                    value=value))
        jurisdiction = query.jurisdiction.strip().upper() if query.jurisdiction is not None else None
        area = self.jurisdictions.area(jurisdiction) if jurisdiction is not None else None
        if jurisdiction is not None and area is None:
            issues.append(Issue(INVALID_QUERY_VALUE, Severity.ERROR,
                                f"{query.jurisdiction!r} is not an ISO 3166 country or subdivision code or 'EU'",
                                "/jurisdiction", value=query.jurisdiction))
        at_text = query.at if query.at is not None else now()
        try:
            at = parse_instant(at_text)
        except (ValueError, TypeError):
            at = datetime.now(UTC)
            issues.append(Issue(INVALID_QUERY_VALUE, Severity.ERROR,
                                f"{query.at!r} is not an RFC 3339 date or date-time", "/at", value=query.at))
        checked = Query(use=query.use, purpose=query.purpose, actor=query.actor, jurisdiction=jurisdiction, at=at_text)
        purposes, actors = self._up("purpose", query.purpose), self._up("actor", query.actor)
        research = self.jurisdictions.research_exception(jurisdiction) if not issues else None
        if research is not None and not (actors & set(research.actors) and purposes & set(research.purposes)):
            research = None
        prepared = _Prepared(
            query=checked, at=at, issues=tuple(issues), purposes=purposes, actors=actors, area=area,
            consent_laws=self.jurisdictions.consent_laws(jurisdiction), research=research,
        )
        if query.at is not None and len(self._prepared) < 4096:
            self._prepared[query] = prepared
        return prepared

    def _suggest(self, scheme: str, value: str) -> str:
        """The validator's suggestion (ids, labels and other signals' tokens), so both say the same."""
        from aiterms.validation import suggest

        close = suggest(self.vocabulary, scheme, value)
        return f"; did you mean {close!r}?" if close and close != value else ""

    # -- the whole algorithm --------------------------------------------------------------------------------

    def resolve(self, record: Record | Mapping[str, Any], query: Query) -> Decision:
        """Answer ``query`` about ``record`` (a model, or a record as parsed JSON), following spec/resolution.md."""
        prep = self.prepare(query)
        steps = [ALG_QUERY]
        if prep.issues:
            return Decision(UNSPECIFIED, prep.query, steps=tuple(steps), warnings=prep.issues, reasons=(
                reason(ALG_QUERY, "info", "the query cannot be answered: "
                        + "; ".join(i.message for i in prep.issues)),))
        steps.append(ALG_RECORD)
        warnings: list[Issue] = []
        if isinstance(record, Record):
            model = record
        else:
            read, found = read_json(record, vocabulary=self._custom_vocabulary, registry=self._custom_registry)
            warnings.extend(found)
            if read is None:
                return self._invalid(prep, steps, warnings)
            model = read
        try:
            statements, near = self.collector.statements(model)
        except InvalidModel as exc:
            return self._invalid(prep, steps, [*warnings, *exc.issues])
        if isinstance(record, Record):
            warnings.extend(self._model_warnings(model, near))
        return self._decide(model, statements, prep, steps, warnings)

    def _invalid(self, prep: _Prepared, steps: list[str], issues: list[Issue]) -> Decision:
        """req-resolve-invalid-record: an invalid record is never resolved: ``unspecified``, with its errors."""
        errors = [i for i in issues if i.severity is Severity.ERROR or i.code == INVALID_RECORD]
        first = errors[0] if errors else None
        where = f" ({first.path}: {first.message})" if first and first.path else f" ({first.message})" if first else ""
        summary = Issue(INVALID_RECORD, Severity.WARNING,
                        f"the record is invalid{where}; it is not resolved and the outcome is unspecified", "")
        why = reason(ALG_RECORD, "info", f"the record is invalid{where}, so nothing in it is applied (fail closed)")
        return Decision(UNSPECIFIED, prep.query, reasons=(why,), steps=tuple(steps),
                        warnings=(summary, *issues))

    def _model_warnings(self, record: Record, near: list[tuple[int, str, Any]]) -> list[Issue]:
        """For a model built without the validator: the warnings the validator would have given about tags that
        were not applied and about an unknown license (the record as JSON gets them from the validator)."""
        out: list[Issue] = []
        for index, raw, m in near:
            code = TAG_CONFUSABLE if m.kind == "confusable" else TAG_NEAR_MISS
            out.append(Issue(code, Severity.WARNING, f"{raw!r} is not a registered tag and is not applied; it "
                             f"resembles {m.suggestion!r}", f"/tags/{index}", value=raw))
        if record.license and self.licenses.lookup(record.license) is None:
            out.append(Issue(UNKNOWN_LICENSE, Severity.WARNING, f"license {record.license!r} is not a license "
                             "aiterms knows; its terms are not read", "/license", value=record.license))
        return out

    def _decide(self, record: Record, statements: list[Statement], prep: _Prepared, steps: list[str],
                warnings: list[Issue]) -> Decision:
        """Steps 4 to 6, 13 and 14.

        req-resolve-in-force: A statement whose declaration or rule is not in force at the date of use MUST NOT
        influence the decision. req-resolve-supersede: A newer declaration of a party MUST replace that party's older
        declarations for every use its in-force statements cover. req-resolve-narrower: A permission of a use MUST
        NOT yield ``allowed`` when a narrower use comes out ``notAllowed``; the outcome MUST be ``constrained`` and
        the reasons MUST name the excluded use. req-resolve-decision: ``obligations`` MUST be empty unless the outcome
        is ``constrained``.
        """
        q = prep.query.use
        reasons: list[tuple[bool, Reason]] = []
        steps.append(ALG_STATEMENTS)
        if record.tags:
            steps.append(ALG_TAGS)
        # Step 4 (alg-in-force / req-resolve-in-force)
        steps.append(ALG_IN_FORCE)
        related = [s for s in statements if self.covers(q, s.use) or self.shared(q, s.use)]
        current = [s for s in statements if s.in_force(prep.at)]
        seen_decl: set[str] = set()
        for s in related:
            if not s.in_force(prep.at):
                key = s.declaration or s.pointer
                if key in seen_decl:
                    continue
                seen_decl.add(key)
                reasons.append((False, reason(ALG_IN_FORCE, "info", f"{s.declaration or s.pointer} of {who(s)} is "
                                               f"not in force at {prep.query.at}{window(s)}", s, use=s.use)))
        # Step 5 (alg-supersede / req-resolve-supersede)
        steps.append(ALG_SUPERSEDE)
        current, dropped = supersede(current, self.covers)
        for old, new in dropped:
            if old in related:
                reasons.append((False, reason(ALG_SUPERSEDE, "info", f"{old.pointer} ({old.effect} {old.use}) of "
                                               f"{who(old)} is replaced by the newer declaration {new.declaration} "
                                               f"({new.effect} {new.use})", old, use=old.use)))
        # Step 6 (alg-scope / req-resolve-scope): covering statements decide q; the others share narrower uses
        steps.append(ALG_SCOPE)
        pool = [s for s in current if self.covers(q, s.use) or self.shared(q, s.use)]
        license_info = self.licenses.lookup(record.license) if record.license else None
        main = self._evaluate(q, pool, prep, record, license_info, primary=True)
        steps.extend(a for a in STEPS if a in main.steps and a not in steps)
        reasons.extend(main.reasons)
        outcome, obligations = main.outcome, set(main.obligations)
        # Step 13 (alg-narrower / req-resolve-narrower)
        narrower = sorted({d for s in pool if not self.covers(q, s.use) for d in self.shared(q, s.use) if d != q})
        if narrower:
            steps.append(ALG_NARROWER)
            excluded: list[_Verdict] = []
            permitted: list[str] = []
            for d in narrower:
                v = self._evaluate(d, pool, prep, record, license_info, primary=False)
                if v.outcome == NOT_ALLOWED and outcome != NOT_ALLOWED:
                    excluded.append(v)
                elif v.outcome in (ALLOWED, CONSTRAINED) and outcome in (NOT_ALLOWED, UNSPECIFIED):
                    permitted.append(d)
            for d in permitted:
                if not any(e != d and self.covers(d, e) for e in permitted):
                    reasons.append((False, reason(ALG_NARROWER, "info", f"the narrower use {d} is permitted; asking "
                                                  f"about {d} gives its own answer", use=d)))
            excluded = [v for v in excluded if not any(
                w.use != v.use and self.covers(v.use, w.use) for w in excluded)]
            decisive = outcome in (ALLOWED, CONSTRAINED)
            for v in excluded:
                text = f"the narrower use {v.use} is excluded"
                if not v.deciding:
                    reasons.append((decisive, reason(ALG_NARROWER, PROHIBIT, f"{text}: it is not allowed", use=v.use)))
                for s in v.deciding:
                    verb = "refused" if s.role == DEPICTED_PERSON else "prohibited"
                    reasons.append((decisive, reason(ALG_NARROWER, PROHIBIT, f"{text}: {verb} by {who(s)}"
                                                      f"{via(s, v.use)}", s, use=v.use)))
            if excluded and outcome in (ALLOWED, CONSTRAINED):
                outcome = CONSTRAINED
        # Step 14 (alg-outcome / req-resolve-decision)
        steps.append(ALG_OUTCOME)
        if outcome not in (ALLOWED, CONSTRAINED):
            obligations.clear()
        elif obligations:
            outcome = CONSTRAINED
        ordered = [r for d, r in reasons if d] + [r for d, r in reasons if not d]
        return Decision(outcome, prep.query, obligations=tuple(sorted(obligations)), reasons=tuple(ordered),
                        steps=tuple(steps), warnings=tuple(warnings))

    # -- steps 7 to 12 for one use ----------------------------------------------------------------------

    def _evaluate(self, u: str, pool: list[Statement], prep: _Prepared, record: Record,
                  license_info: LicenseInfo | None, *, primary: bool) -> _Verdict:
        """Steps 7 to 12 for one use ``u`` (``primary``: the queried use, whose reasons are all kept).

        req-resolve-specificity: Within one party, a more specific statement MUST beat a less specific one; between
        statements of one party that are equally specific or incomparable, the prohibition MUST win.
        req-resolve-authority: Platform and dataset-curator statements MUST NOT decide a use for which a rights
        holder has a matching covering statement; between parties of the same tier, and between a depicted person's
        refusal and any other statement, the prohibition MUST win. req-resolve-depicted-refusal: A depicted person's
        refusal of a use MUST make that use and every narrower use ``notAllowed``. req-resolve-eu-research: For a query
        with jurisdiction in the EU, actor ``research-organization`` or ``cultural-heritage-institution`` and purpose
        ``research``, a rights holder's, platform's or dataset curator's prohibition of a data-mining use MUST NOT
        decide the outcome.
        """
        v = _Verdict(u)
        covering = [s for s in pool if self.covers(u, s.use)]
        # Step 7 (alg-match / req-resolve-open-dimension)
        v.step(ALG_MATCH)
        matched: list[Statement] = []
        for s in covering:
            ok, note = self._match(s, prep)
            if ok:
                matched.append(s)
                if note:
                    v.add(reason(ALG_MATCH, "info", f"{who(s)} applies to {u}: {note}", s, use=u))
            elif primary:
                v.add(reason(ALG_MATCH, "info", f"{who(s)} does not apply to this query: {note}", s, use=s.use))
        # Step 8 (alg-eu-research / req-resolve-eu-research)
        law = prep.research
        if law is not None and law.use is not None and self.covers(u, law.use):
            kept = []
            for s in matched:
                if s.effect == PROHIBIT and s.role != DEPICTED_PERSON:
                    v.add(reason(ALG_EU_RESEARCH, "exception", f"{who(s)} prohibits {s.use}, but this reservation "
                                  f"does not bind a {prep.query.actor} doing scientific research in "
                                  f"{prep.query.jurisdiction}: {law.law} ({law.url})", s, use=s.use))
                else:
                    kept.append(s)
            matched = kept
        # Step 9 (alg-specificity / req-resolve-specificity)
        v.step(ALG_SPECIFICITY)
        parties: dict[tuple[str, str], tuple[str, list[Statement]]] = {}
        groups: dict[tuple[str, str], list[Statement]] = {}
        for s in matched:
            groups.setdefault(s.party, []).append(s)
        for party, group in groups.items():
            undominated = []
            for a in group:
                b = next((b for b in group if self._more_specific(b, a)), None)
                if b is None:
                    undominated.append(a)
                elif primary:
                    v.add(reason(ALG_SPECIFICITY, "info", f"{a.pointer} ({a.effect} {a.use}) of {who(a)} is set "
                                  f"aside by the more specific {b.pointer} ({b.effect} {b.use})", a, use=a.use))
            effects = {s.effect for s in undominated}
            effect = PROHIBIT if PROHIBIT in effects else UNKNOWN if UNKNOWN in effects else PERMIT
            parties[party] = (effect, [s for s in undominated if s.effect == effect])
        # Step 10 (alg-authority / req-resolve-authority, req-resolve-depicted-refusal)
        v.step(ALG_AUTHORITY)
        depicted = {p: e for p, e in parties.items() if p[0] == DEPICTED_PERSON}
        holders = {p: e for p, e in parties.items() if p[0] == RIGHTS_HOLDER}
        defaults = {p: e for p, e in parties.items() if p[0] in _DEFAULT_ROLES}
        refusals = [s for e, ss in depicted.values() if e == PROHIBIT for s in ss]
        tier, tier_name = (holders, RIGHTS_HOLDER) if holders else (defaults, "default")
        if holders and defaults and primary:
            for _e, ss in defaults.values():
                for s in ss:
                    v.add(reason(ALG_AUTHORITY, "info", f"{who(s)} is a default below the rights holder, who "
                                  f"speaks for {u}", s, use=s.use))
        elif defaults and primary:
            v.add(reason(ALG_AUTHORITY, "info", f"no rights holder statement covers {u}; the defaults of platforms "
                          "and dataset curators apply", use=u))
        prohibits = [s for e, ss in tier.values() if e == PROHIBIT for s in ss]
        permits = [s for e, ss in tier.values() if e == PERMIT for s in ss]
        permitted = False
        if refusals:
            v.outcome = NOT_ALLOWED
            v.deciding = refusals
            for s in refusals:
                effect = "consent-refused" if s.kind == "consent" else PROHIBIT
                v.add(reason(ALG_AUTHORITY, effect, f"{u} is refused by {who(s)}{via(s, u)}", s, use=u),
                      decisive=True)
        elif prohibits:
            v.outcome = NOT_ALLOWED
            v.deciding = prohibits
            for s in prohibits:
                v.add(reason(ALG_AUTHORITY, PROHIBIT, f"{u} is prohibited by {who(s)}{via(s, u)}", s, use=u),
                      decisive=True)
        elif permits:
            permitted = True
            v.deciding = permits
            for s in permits:
                duties = f", with the duties {', '.join(s.duties)}" if s.duties else ""
                v.obligations.update(s.duties)
                v.add(reason(ALG_AUTHORITY, PERMIT, f"{u} is permitted by {who(s)}{via(s, u)}{duties}", s, use=u),
                      decisive=True)
        if primary and (refusals or prohibits):
            for s in permits:
                v.add(reason(ALG_AUTHORITY, "info", f"the permission of {who(s)} is overridden: a prohibition "
                              "wins", s, use=s.use))
        # Step 11 (alg-license / req-resolve-license-terms, req-resolve-unknown-license)
        if license_info is not None and v.outcome != NOT_ALLOWED:
            permitted = self._license(v, license_info, record, prep, permitted=permitted,
                                      from_defaults=permitted and tier_name == "default", primary=primary)
        elif record.license and v.outcome != NOT_ALLOWED and permitted and tier_name == "default":
            permitted = self._unknown_license(v, record)
        # Step 12 (alg-consent / req-resolve-biometric-consent)
        if v.outcome != NOT_ALLOWED and self.vocabulary.is_biometric(u):
            self._consent(v, depicted, record, prep, permitted=permitted, primary=primary)
        if v.outcome != NOT_ALLOWED:
            v.outcome = (CONSTRAINED if v.obligations else ALLOWED) if permitted else UNSPECIFIED
        return v

    def _match(self, s: Statement, prep: _Prepared) -> tuple[bool, str]:
        """alg-match / req-resolve-open-dimension: a permit needs every constrained dimension given and matching;
        a prohibit matches an open dimension (fail closed) and any overlapping jurisdiction."""
        prohibit = s.effect == PROHIBIT
        q = prep.query
        notes: list[str] = []
        for dim, values, given, up in (("purpose", s.purpose, q.purpose, prep.purposes),
                                       ("actor", s.actor, q.actor, prep.actors)):
            if not values:
                continue
            listed = ", ".join(values)
            if given is None:
                if not prohibit:
                    return False, f"limited to {dim} {listed} and the query gives no {dim}"
                notes.append(f"the query gives no {dim}, so a prohibition limited to {listed} applies (fail closed)")
            elif not up.intersection(values):
                return False, f"limited to {dim} {listed}, not {given}"
        if s.jurisdiction:
            listed = ", ".join(s.jurisdiction)
            if prep.area is None:
                if not prohibit:
                    return False, f"limited to jurisdiction {listed} and the query gives no jurisdiction"
                notes.append(f"the query gives no jurisdiction, so a prohibition limited to {listed} applies "
                             "(fail closed)")
            else:
                areas = [a for a in (self.jurisdictions.area(j) for j in s.jurisdiction) if a is not None]
                if prohibit:
                    if not any(prep.area.overlaps(a) for a in areas):
                        return False, f"limited to jurisdiction {listed}, which does not overlap {q.jurisdiction}"
                    if not any(prep.area.within(a) for a in areas):
                        notes.append(f"{q.jurisdiction} overlaps {listed}, so the prohibition applies (fail closed)")
                elif not any(prep.area.within(a) for a in areas):
                    return False, f"limited to jurisdiction {listed}, and {q.jurisdiction} is not within it"
        return True, "; ".join(notes)

    def _more_specific(self, b: Statement, a: Statement) -> bool:
        """alg-specificity: ``b`` beats ``a`` (same party) with a strictly narrower use, or the same use and more
        constrained dimensions."""
        if b.use != a.use:
            return self.covers(b.use, a.use)
        return b.constraints > a.constraints

    def license_class(self, license: str | None, query: Query) -> tuple[Any, ...]:
        """What of a record's license can change the decision on ``query`` (alg-license, alg-unknown-license): no
        license (or a known one that adds no obligation and prohibits none of the query's purposes); a license the
        table does not know; or, for a known one, the obligations it adds to the queried use
        (req-resolve-license-terms) and the purposes of the query it prohibits. A license's name, IRI and other terms
        appear only in reason texts, so two licenses of one class give one outcome, one set of obligations and the
        same deciding statements for any record (the fast path answers once per class: spec/dataset.md#fast-path)."""
        if not license:
            return ("none",)
        info = self.licenses.lookup(license)
        if info is None:
            return ("unknown",)
        prep = self.prepare(query)
        # Only the queried use's obligations reach the decision: a narrower use's verdict counts only as permitted
        # or not (alg-narrower).
        ancestors = self._ancestors.get(query.use, frozenset({query.use}))
        obligations = tuple(sorted({o for o, _term in self.licenses.obligations(info, ancestors)}))
        purposes = tuple(sorted({p for p, _term in self.licenses.prohibited_purposes(info)
                                 if prep.query.purpose is None or p in prep.purposes}))
        if not purposes and not obligations:
            return ("none",)  # it adds no obligation and prohibits no purpose: as no license (CC0, PDM)
        return ("terms", obligations, purposes)

    def _license(self, v: _Verdict, info: LicenseInfo, record: Record, prep: _Prepared, *, permitted: bool,
                 from_defaults: bool, primary: bool) -> bool:
        """alg-license / req-resolve-license-alone, req-resolve-license-terms."""
        u = v.use
        owner = record.owner

        def lic(effect: str, text: str) -> Reason:
            return reason(ALG_LICENSE, effect, text, use=u, rule="/license", party=owner, role=RIGHTS_HOLDER,
                           signal="license")

        ancestors = self._ancestors.get(u, frozenset({u}))
        if not permitted:
            if primary:
                v.add(lic("info", f"the license {info.name} neither permits nor prohibits {u} by itself: a license "
                          "applies where copyright applies and does not override exceptions to it"))
            return False
        if from_defaults:
            for purpose, term in self.licenses.prohibited_purposes(info):
                if prep.query.purpose is None or purpose in prep.purposes:
                    given = f"purpose {prep.query.purpose}" if prep.query.purpose else "no purpose given (fail closed)"
                    v.outcome = NOT_ALLOWED
                    v.obligations.clear()
                    v.deciding = []
                    v.reasons = [(False, r) for _d, r in v.reasons]  # the permission no longer decides
                    v.add(lic(PROHIBIT, f"{u} is not allowed: the permission came from a platform or dataset curator, "
                              f"and the license {info.name} prohibits {purpose} use (cc:{term}); {given}"),
                          decisive=True)
                    return False
        terms: dict[str, list[str]] = {}
        for obligation, term in self.licenses.obligations(info, ancestors):
            terms.setdefault(obligation, []).append(f"cc:{term}")
        for obligation, names in terms.items():
            v.obligations.add(obligation)
            v.add(lic("info", f"the license {info.name} requires {', '.join(names)}: obligation {obligation}"))
        if not info.derivatives and ancestors.intersection(self.licenses.adaptation_uses) and primary:
            v.add(lic("info", f"the license {info.name} does not permit sharing adaptations (no cc:DerivativeWorks); "
                      f"if the result of {u} is shared and adapts the image, the license does not cover it"))
        return True

    def _unknown_license(self, v: _Verdict, record: Record) -> bool:
        """req-resolve-unknown-license: A license the table does not recognize is a license whose terms are unknown:
        a permission that came from a platform or dataset curator MUST NOT decide the use, which stays
        ``unspecified``; an explicit permission of the rights holder is not affected.

        Called only when the deciding permission came from the defaults tier; returns ``permitted`` (always False).
        """
        u = v.use
        v.obligations.clear()
        v.deciding = []
        v.reasons = [(False, r) for _d, r in v.reasons]  # the permission no longer decides
        v.add(reason(ALG_LICENSE, "info", unknown_license_text(u, record.license or ""), use=u, rule="/license",
                     party=record.owner, role=RIGHTS_HOLDER, signal="license"), decisive=True)
        return False

    def _consent(self, v: _Verdict, depicted: dict[tuple[str, str], tuple[str, list[Statement]]], record: Record,
                 prep: _Prepared, *, permitted: bool, primary: bool) -> None:
        """alg-consent / req-resolve-biometric-consent: consent of every depicted person, where the law requires it
        (or no jurisdiction is given), before a biometric use."""
        u = v.use
        n = record.depicted_persons
        consenting = [ss for e, ss in depicted.values() if e == PERMIT]
        undecided = any(e == UNKNOWN for e, _ss in depicted.values())
        if n == 0:
            v.add(reason(ALG_CONSENT, "info", "the record states that no persons are depicted; no consent is needed",
                          use=u, rule="/depictedPersons"))
            return
        established = isinstance(n, int) and not isinstance(n, bool) and len(consenting) >= n and not undecided
        if established:
            for ss in consenting:
                for s in ss:
                    v.add(reason(ALG_CONSENT, "consent-given", f"{who(s)} consents to {u}{via(s, u)}", s, use=u))
            return
        state = (f"{len(consenting)} of {n} depicted persons consent" if isinstance(n, int)
                 else "the number of depicted persons is unknown" if n == "unknown"
                 else "the record does not say whether persons are depicted")
        laws = prep.consent_laws
        j = prep.query.jurisdiction
        if not laws:
            if primary:
                v.add(reason(ALG_CONSENT, "info", f"consent of the depicted persons is not established ({state}); no "
                              f"consent statute for biometric processing in {j} is in the jurisdiction table", use=u))
            return
        where = (f"in {j} ({'; '.join(law.law for law in laws)})" if j
                 else "because the query gives no jurisdiction (fail closed: it may be one that requires it)")
        text = f"consent of the depicted persons is required for {u} {where} and is not established ({state})"
        if permitted:
            v.obligations.add(OBTAIN_CONSENT)
            v.add(reason(ALG_CONSENT, "consent-unknown", text + ": obligation obtain-consent", use=u,
                          rule="/depictedPersons"), decisive=True)
        elif primary:
            v.add(reason(ALG_CONSENT, "consent-unknown", text, use=u, rule="/depictedPersons"))


# ---------------------------------------------------------------------------------------------------------
# Public API


@cache
def _default() -> Resolver:
    return Resolver()


def resolve(record: Record | Mapping[str, Any], query: Query, *, vocabulary: Vocabulary | None = None) -> Decision:
    """Answer "may this image be used for ``query.use``?" (spec/resolution.md).

    ``record`` is a :class:`~aiterms.model.Record` or a record as parsed JSON; a JSON record is validated first
    and an invalid one is answered ``unspecified`` with warnings (never ``allowed``). Never raises for bad input.
    """
    resolver = _default() if vocabulary is None else Resolver(vocabulary)
    return resolver.resolve(record, query)


def resolve_json(obj: Mapping[str, Any], query: Query) -> Decision:
    """The same decision as ``resolve(obj, query)`` for a record as parsed JSON, with the per-query work (checking
    the query, its areas, laws and hierarchy) done once per distinct query. Give ``query.at`` explicitly when
    resolving many records: a query without a date is "now", which is different at every call."""
    return _default().resolve(obj, query)


def check_query(query: Query, *, vocabulary: Vocabulary | None = None) -> tuple[Query, tuple[Issue, ...]]:
    """req-resolve-query: the query as the resolver reads it (``at`` filled in) and its errors."""
    resolver = _default() if vocabulary is None else Resolver(vocabulary)
    prep = resolver.prepare(query)
    return prep.query, prep.issues


def unresolved(query: Query, issues: Iterable[Issue]) -> Decision:
    """req-resolve-invalid-record: the decision for a record that could not be read or imported completely:
    ``unspecified``, with ``record-invalid-not-resolved`` and the issues found."""
    resolver = _default()
    return resolver._invalid(resolver.prepare(query), [ALG_QUERY, ALG_RECORD], list(issues))


def resolve_bytes(data: bytes, query: Query, *, name: str = "", format: str | None = None) -> list[Decision]:
    """One decision per record of a JSON, JSON-LD, JSON Lines or Turtle input (``format`` as in
    :func:`aiterms.parse.load_bytes`); a document that cannot be read is answered ``unspecified`` with its issues."""
    from aiterms import parse

    resolver = _default()
    prep = resolver.prepare(query)
    if prep.issues:
        return [resolver.resolve({}, query)]
    out: list[Decision] = []
    for doc in parse.load_bytes(data, name=name, format=format):
        if not doc.usable or doc.value is None:
            out.append(resolver._invalid(prep, [ALG_QUERY, ALG_RECORD], list(doc.issues)))
        else:
            out.append(resolver.resolve(doc.value, query))
    return out


__all__ = ["Resolver", "check_query", "explain", "resolve", "resolve_bytes", "resolve_json", "unresolved"]
