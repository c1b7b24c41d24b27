"""Hypothesis properties of the resolver (spec/resolution.md).

* order independence: shuffling declarations, rules, consent entries or tags never changes outcome/obligations;
* monotonicity: adding a prohibition never makes an outcome more permissive (never turns anything into allowed);
* hierarchy: prohibiting a broader use prohibits every narrower use;
* time: a declaration not yet (or no longer) in force at the date of use changes nothing;
* fail closed: invalid input is never allowed, and bad input never raises.

Records are generated valid by construction and resolved as models (fast); the JSON path is checked against the
model path on a sample, and the fail-closed properties go through the validator.
"""

from __future__ import annotations

import copy
import os
import random
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from aiterms.model import ALLOWED, CONSTRAINED, NOT_ALLOWED, UNSPECIFIED, Decision, Query, Record
from aiterms.resolution import resolve, resolve_json
from aiterms.vocab import CONTEXT_IRI, Registry, Vocabulary

VOCAB = Vocabulary.bundled()
USES = sorted(VOCAB.ids("use"))
PURPOSES = sorted(VOCAB.ids("purpose"))
ACTORS = sorted(VOCAB.ids("actor"))
OBLIGATIONS = sorted(VOCAB.ids("obligation"))
ROLES = ["rights-holder", "depicted-person", "platform", "dataset-curator"]
# Rules favour broad uses (so that they often cover the queried use); the role of a party favours rights holders.
RULE_USES = USES + ["data-mining", "ai-use", "ai-training", "computer-vision", "biometric"] * 2
DRAWN_ROLES = ROLES + ["rights-holder"] * 2
JURISDICTIONS = ["US", "US-IL", "US-CA", "DE", "FR", "EU", "GB", "JP"]
DATES = ["2018-01-01", "2019-06-01", "2020-01-01", "2021-06-01", "2023-01-01", "2025-01-01"]
PARTIES = ["example:a", "example:b", "example:c", None]
TAGS = [*sorted(Registry.bundled().entries), "portrait", "no_cvv", "family"]
LICENSES = [None, "https://creativecommons.org/licenses/by/2.0/", "https://creativecommons.org/licenses/by-nc-sa/4.0/",
            "https://creativecommons.org/licenses/by-nd/4.0/", "https://creativecommons.org/publicdomain/zero/1.0/",
            "https://example.com/own-license"]

# AITERMS_PROPERTY_EXAMPLES raises the example count for a long local run (make test keeps it modest).
PROFILE = settings(max_examples=int(os.environ.get("AITERMS_PROPERTY_EXAMPLES", "60")), deadline=None,
                   suppress_health_check=[HealthCheck.too_slow])


def subset(values: list[str], max_size: int = 2) -> st.SearchStrategy[list[str]]:
    return st.lists(st.sampled_from(values), max_size=max_size, unique=True)


@st.composite
def rules(draw: st.DrawFn) -> dict[str, Any]:
    # Permissions are drawn more often than prohibitions, and constraints rarely, so that the permissive
    # outcomes (allowed, constrained) are common enough for the properties to bite.
    effect = draw(st.sampled_from(["permit", "permit", "prohibit"]))
    r: dict[str, Any] = {"effect": effect, "use": draw(st.sampled_from(RULE_USES))}
    for key, values in (("purpose", PURPOSES), ("actor", ACTORS), ("jurisdiction", JURISDICTIONS),
                        ("duties", OBLIGATIONS)):
        chosen = draw(subset(values))
        if chosen and draw(st.integers(0, 3)) == 0:
            r[key] = chosen
    if draw(st.integers(0, 4)) == 0:
        a, b = sorted(draw(st.lists(st.sampled_from(DATES), min_size=2, max_size=2, unique=True)))
        r["from"], r["until"] = a, b
    return r


@st.composite
def declarations(draw: st.DrawFn) -> dict[str, Any]:
    role = draw(st.sampled_from(DRAWN_ROLES))
    by: dict[str, Any] = {"role": role}
    pid = draw(st.sampled_from(PARTIES))
    if pid is not None:
        by["id"] = pid
    d: dict[str, Any] = {"declaredBy": by, "rules": draw(st.lists(rules(), min_size=1, max_size=3))}
    if draw(st.booleans()):
        d["issued"] = draw(st.sampled_from(DATES))
    if draw(st.integers(0, 3)) == 0:
        later = [x for x in DATES if x > d.get("issued", "")]
        if later:
            d["until"] = draw(st.sampled_from(later))
    if role == "depicted-person" and draw(st.booleans()):
        d["consent"] = draw(st.lists(st.fixed_dictionaries({
            "use": st.sampled_from(USES), "status": st.sampled_from(["given", "refused", "unknown"])}), max_size=2))
    return d


@st.composite
def records(draw: st.DrawFn) -> dict[str, Any]:
    r: dict[str, Any] = {"@context": CONTEXT_IRI, "type": "ImageRecord", "owner": "example:a"}
    lic = draw(st.sampled_from(LICENSES))
    if lic:
        r["license"] = lic
    tags = draw(subset(TAGS, 3))
    keep_tags = draw(st.booleans())
    if tags and keep_tags:
        r["tags"] = tags
    n = draw(st.sampled_from([None, 0, 1, 2, "unknown"]))
    if n is not None:
        r["depictedPersons"] = n
    r["declarations"] = draw(st.lists(declarations(), min_size=1, max_size=4))
    return r


@st.composite
def queries(draw: st.DrawFn) -> Query:
    def maybe(values: list[str]) -> str | None:
        return None if draw(st.integers(0, 3)) == 0 else draw(st.sampled_from(values))

    return Query(use=draw(st.sampled_from(USES)), purpose=maybe(PURPOSES), actor=maybe(ACTORS),
                 jurisdiction=maybe(JURISDICTIONS), at=draw(st.sampled_from(DATES)) + "T12:00:00Z")


def answer(record: dict[str, Any], query: Query) -> tuple[str, frozenset[str]]:
    d = resolve(Record.from_json(record), query)
    return d.outcome, frozenset(d.obligations)


RANK = {NOT_ALLOWED: 0, UNSPECIFIED: 1, CONSTRAINED: 2, ALLOWED: 3}


@PROFILE
@given(records(), queries(), st.randoms(use_true_random=False))
def test_order_independence(record: dict[str, Any], query: Query, rnd: random.Random) -> None:
    """req-resolve-order-independence."""
    shuffled = copy.deepcopy(record)
    rnd.shuffle(shuffled["declarations"])
    for d in shuffled["declarations"]:
        rnd.shuffle(d["rules"])
        if "consent" in d:
            rnd.shuffle(d["consent"])
    if "tags" in shuffled:
        rnd.shuffle(shuffled["tags"])
    assert answer(record, query) == answer(shuffled, query)


@PROFILE
@given(records(), queries(), rules(), st.sampled_from(ROLES), st.sampled_from(PARTIES))
def test_adding_a_prohibition_never_permits_more(record: dict[str, Any], query: Query, rule: dict[str, Any],
                                                 role: str, pid: str | None) -> None:
    """Monotonicity: an added (undated, so replacing nothing) prohibition never makes the outcome more permissive,
    and never turns any outcome into allowed."""
    before, _ = answer(record, query)
    more = copy.deepcopy(record)
    by = {"role": role, **({"id": pid} if pid else {})}
    more["declarations"].append({"declaredBy": by, "rules": [{**rule, "effect": "prohibit"}]})
    after, _ = answer(more, query)
    assert RANK[after] <= RANK[before], (before, after)
    assert after != ALLOWED or before == ALLOWED


@PROFILE
@given(records(), queries(), st.sampled_from(USES), st.sampled_from(["rights-holder", "depicted-person"]))
def test_prohibiting_a_broader_use_prohibits_every_narrower_use(record: dict[str, Any], query: Query, broad: str,
                                                               role: str) -> None:
    """req-resolve-scope: a fresh party's unconstrained prohibition of ``broad`` makes every narrower use notAllowed
    (for a rights holder, except where the EU research exception sets reservations aside)."""
    record = copy.deepcopy(record)
    record["declarations"].append({"declaredBy": {"role": role, "id": "example:fresh-party"},
                                   "rules": [{"effect": "prohibit", "use": broad}]})
    research = (query.jurisdiction in ("DE", "FR", "EU") and query.purpose == "research"
                and query.actor in ("research-organization", "cultural-heritage-institution"))
    for narrow in VOCAB.descendants(broad):
        outcome, _ = answer(record, Query(narrow, query.purpose, query.actor, query.jurisdiction, query.at))
        if role == "rights-holder" and research:
            assert outcome != ALLOWED or not VOCAB.is_narrower_or_equal(narrow, "data-mining")
        else:
            assert outcome == NOT_ALLOWED, (narrow, outcome)


@PROFILE
@given(records(), queries(), declarations(), st.booleans())
def test_declaration_not_in_force_changes_nothing(record: dict[str, Any], query: Query, extra: dict[str, Any],
                                                  expired: bool) -> None:
    """req-resolve-in-force: a declaration issued after the date of use, or ended before it, changes nothing."""
    extra = copy.deepcopy(extra)
    extra.pop("effectiveFrom", None)
    assert query.at is not None
    if expired:
        extra["issued"], extra["until"] = "2000-01-01", "2000-06-01"
    else:
        extra["issued"] = "2030-01-01"
        extra.pop("until", None)
    more = copy.deepcopy(record)
    more["declarations"].append(extra)
    assert answer(record, query) == answer(more, query)


# Licenses of every CC family, public-domain tools, a port, an SPDX id, unknown licenses and none.
EVERY_KIND_OF_LICENSE = [None, "https://example.com/own-license", "https://creativecommons.org/licenses/by-nc/5.0/",
                         "https://creativecommons.org/publicdomain/zero/1.0/",
                         "https://creativecommons.org/publicdomain/mark/1.0/", "CC-BY-4.0",
                         "http://creativecommons.org/licenses/by/2.0/de/"] + [
    f"https://creativecommons.org/licenses/{family}/{version}/"
    for family in ("by", "by-sa", "by-nd", "by-nc", "by-nc-sa", "by-nc-nd") for version in ("2.0", "3.0", "4.0")]


@PROFILE
@given(records(), queries(), st.sampled_from(EVERY_KIND_OF_LICENSE), st.randoms(use_true_random=False))
def test_licenses_of_one_class_decide_alike(record: dict[str, Any], query: Query, lic: str | None,
                                            rnd: random.Random) -> None:
    """Resolver.license_class: two licenses of one class give the same outcome, obligations, reason code and
    signal for the same statements (the annotate fast path answers once per class; spec/dataset.md#fast-path)."""
    from aiterms.dataset.decide import reason_code
    from aiterms.resolution import Resolver

    resolver = Resolver()
    same = [x for x in EVERY_KIND_OF_LICENSE if resolver.license_class(x, query) == resolver.license_class(lic, query)]
    other = rnd.choice(same)
    answers = []
    for x in (lic, other):
        r = copy.deepcopy(record)
        r.pop("license", None)
        if x is not None:
            r["license"] = x
        d = resolver.resolve(Record.from_json(r), query)
        answers.append((d.outcome, d.obligations, reason_code(d, r)))
    assert answers[0] == answers[1]


UNRECOGNIZED = ["https://creativecommonsiorg/licenses/by-nc/4.0/", "https://creativecommons.org/licenses/by-nc/5.0/",
                "https://example.com/own-license"]


@PROFILE
@given(records(), queries(), st.sampled_from(UNRECOGNIZED))
def test_unrecognized_license_never_permits_more_than_no_license(record: dict[str, Any], query: Query,
                                                                   lic: str) -> None:
    """req-resolve-unknown-license: a license aiterms does not recognize can only hold back a permission (the terms
    of "some license" are unknown); it never makes an answer more permissive than no license at all."""
    bare = copy.deepcopy(record)
    bare.pop("license", None)
    unknown = {**copy.deepcopy(bare), "license": lic}
    assert RANK[answer(unknown, query)[0]] <= RANK[answer(bare, query)[0]]


@PROFILE
@given(records(), queries(), st.sampled_from(UNRECOGNIZED))
def test_unrecognized_license_defaults_never_decide_a_permission(record: dict[str, Any], query: Query,
                                                                 lic: str) -> None:
    """req-resolve-unknown-license: without any rights-holder statement (no rights-holder declaration, no tags),
    platforms' and dataset curators' permissions never yield allowed or constrained under an unrecognized license;
    with a rights holder's permission of the queried use the answer is the same as with no license."""
    record = copy.deepcopy(record)
    record["license"] = lic
    record.pop("tags", None)
    record["declarations"] = [d for d in record["declarations"] if d["declaredBy"]["role"] != "rights-holder"]
    if not record["declarations"]:
        record["declarations"] = [{"declaredBy": {"role": "platform", "id": "https://platform.example"},
                                   "rules": [{"effect": "permit", "use": query.use}]}]
    assert answer(record, query)[0] in (UNSPECIFIED, NOT_ALLOWED)
    granted = copy.deepcopy(record)
    granted["declarations"].append({"declaredBy": {"role": "rights-holder", "id": "example:a"},
                                    "rules": [{"effect": "permit", "use": query.use}]})
    bare = copy.deepcopy(granted)
    del bare["license"]
    assert answer(granted, query) == answer(bare, query)


@settings(max_examples=25, deadline=None)
@given(records(), queries())
def test_json_path_agrees_with_model_path(record: dict[str, Any], query: Query) -> None:
    """A valid record gives the same decision as JSON (validated) and as a model; resolve_json equals resolve."""
    decision = resolve(record, query)
    if any(w.code == "record-invalid-not-resolved" for w in decision.warnings):
        assert decision.outcome == UNSPECIFIED  # e.g. contradictory rules that the validator rejects
        return
    model = resolve(Record.from_json(record), query)
    assert (decision.outcome, decision.obligations) == (model.outcome, model.obligations)
    assert decision.to_json() == resolve_json(record, query).to_json()


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=8),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3),
    max_leaves=12,
)


@settings(max_examples=60, deadline=None)
@given(JSON, queries())
def test_any_json_is_answered_and_never_allowed(value: Any, query: Query) -> None:
    """Fail closed: any JSON value gives a decision (never an exception) and it is not allowed."""
    decision: Decision = resolve(value, query)
    assert decision.outcome in (UNSPECIFIED, NOT_ALLOWED)


BAD_VALUES: list[tuple[str, Any]] = [("use", "train"), ("use", 7), ("effect", "allow"), ("purpose", ["science"]),
                                     ("actor", ["robot"]), ("from", "2020-13-01"), ("jurisdiction", ["Illinois"]),
                                     ("duties", ["pay"])]


@settings(max_examples=60, deadline=None)
@given(records(), queries(), st.sampled_from(BAD_VALUES), st.integers(0, 100))
def test_invalid_record_is_never_allowed(record: dict[str, Any], query: Query, bad: tuple[str, Any],
                                         pick: int) -> None:
    """req-resolve-fail-closed: a record with one unreadable value in a rule is not resolved: unspecified, for the JSON
    and for the model path alike."""
    record = copy.deepcopy(record)
    permit = {"effect": "permit", "use": query.use}
    record["declarations"].append({"declaredBy": {"role": "rights-holder"}, "rules": [permit]})
    rules_ = [r for d in record["declarations"] for r in d["rules"]]
    target = rules_[pick % len(rules_)]
    target[bad[0]] = bad[1]
    decision = resolve(record, query)
    assert decision.outcome == UNSPECIFIED
    assert any(w.code == "record-invalid-not-resolved" for w in decision.warnings)
    try:
        model = Record.from_json(record)
    except (TypeError, ValueError):
        return
    assert resolve(model, query).outcome == UNSPECIFIED


_ANY_VALUE = st.one_of(st.none(), st.text(max_size=3), st.integers(0, 2), st.tuples(st.text(max_size=2)),
                       st.tuples(st.integers(0, 2)), st.lists(st.text(max_size=2), max_size=1), st.just(()))


@st.composite
def _models_of_any_types(draw: st.DrawFn) -> Record:
    """Models built by hand, valid but for one field (or none), which holds a value of any type."""
    from aiterms.model import Consent, Declaration, Party, Rule

    target = draw(st.integers(0, 40))
    seen = [0]

    def field(valid: Any) -> Any:
        seen[0] += 1
        return draw(_ANY_VALUE) if seen[0] == target else valid

    def rule() -> Any:
        return field(Rule(effect=field("permit"), use=field("ai-use"), purpose=field(("research",)), actor=field(()),
                          jurisdiction=field(("US",)), start=field(None), until=field("2030-01-01"),
                          duties=field(())))

    def declaration() -> Any:
        return field(Declaration(
            declared_by=field(Party(role=field("rights-holder"), id=field("example:a"))),
            rules=field(tuple(rule() for _ in range(draw(st.integers(0, 2))))),
            consent=field(tuple(field(Consent(use=field("biometric"), status=field("given")))
                                for _ in range(draw(st.integers(0, 1))))),
            issued=field("2020-01-01"), effective_from=field(None), until=field(None)))

    return Record(declarations=field(tuple(declaration() for _ in range(draw(st.integers(0, 2))))),
                  owner=field("example:a"), license=field(None), tags=field(("no_cv",)))


@settings(max_examples=300, deadline=None)
@given(_models_of_any_types())
def test_type_check_fast_path_agrees_with_its_messages(model: Record) -> None:
    """The resolver's type check answers the common case without building messages (_types_ok); it must pass a model
    exactly when the detailed check (_type_problems) finds nothing."""
    from aiterms._resolve_statements import _type_problems, _types_ok

    problems: list[Any] = []
    _type_problems(model, problems)
    assert _types_ok(model) == (not problems)
