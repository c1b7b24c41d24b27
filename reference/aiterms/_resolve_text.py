"""How the resolver says things: step anchors, reason texts and the one-sentence explanation of a decision."""

from __future__ import annotations

from datetime import UTC, datetime

from aiterms._resolve_statements import Statement
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
    Reason,
)

# Step anchors (spec/resolution.md#algorithm), in the order the steps run.
ALG_QUERY = "alg-query"
ALG_RECORD = "alg-record"
ALG_STATEMENTS = "alg-statements"
ALG_TAGS = "alg-tags"
ALG_IN_FORCE = "alg-in-force"
ALG_SUPERSEDE = "alg-supersede"
ALG_SCOPE = "alg-scope"
ALG_MATCH = "alg-match"
ALG_EU_RESEARCH = "alg-eu-research"
ALG_SPECIFICITY = "alg-specificity"
ALG_AUTHORITY = "alg-authority"
ALG_LICENSE = "alg-license"
ALG_CONSENT = "alg-consent"
ALG_NARROWER = "alg-narrower"
ALG_OUTCOME = "alg-outcome"
STEPS = (ALG_QUERY, ALG_RECORD, ALG_STATEMENTS, ALG_TAGS, ALG_IN_FORCE, ALG_SUPERSEDE, ALG_SCOPE, ALG_MATCH,
         ALG_EU_RESEARCH, ALG_SPECIFICITY, ALG_AUTHORITY, ALG_LICENSE, ALG_CONSENT, ALG_NARROWER, ALG_OUTCOME)

ROLE_PHRASE = {RIGHTS_HOLDER: "the rights holder", DEPICTED_PERSON: "a depicted person", PLATFORM: "the platform",
                DATASET_CURATOR: "the dataset curator"}
OUTCOME_PHRASE = {ALLOWED: "Allowed", NOT_ALLOWED: "Not allowed", CONSTRAINED: "Allowed only with conditions",
                   UNSPECIFIED: "Unspecified"}



def who(s: Statement) -> str:
    if s.kind == "tag":
        return f"the rights holder's tag {s.label}"
    who = ROLE_PHRASE.get(s.role, s.role)
    if s.party_id:
        who += f" {s.party_id}"
    if s.signal:
        who += f" (signal {s.signal})"
    return who


def reason(step: str, effect: str, text: str, s: Statement | None = None, *, use: str | None = None,
            rule: str | None = None, party: str | None = None, role: str | None = None,
            signal: str | None = None) -> Reason:
    if s is not None:
        return Reason(step=step, effect=effect, text=text, use=use, declaration=s.declaration, rule=s.pointer,
                      party=s.party_id, role=s.role, signal=s.signal)
    return Reason(step=step, effect=effect, text=text, use=use, rule=rule, party=party, role=role, signal=signal)


def via(s: Statement, use: str) -> str:
    return "" if s.use == use else f" (a statement on {s.use}, which covers {use})"


def window(s: Statement) -> str:
    def day(d: datetime) -> str:
        return d.isoformat().replace("+00:00", "Z").removesuffix("T00:00:00Z")

    parts = ([f"from {day(s.start)}"] if s.start else []) + ([f"until {day(s.end)}"] if s.end else [])
    return f" (in force {' '.join(parts)})" if parts else ""


def now() -> str:
    return datetime.now(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


NOT_DECIDED = "not decided: "  # the start of the reason of spec#req-resolve-unknown-license


def unknown_license_text(use: str, license_iri: str) -> str:
    """The reason of spec#req-resolve-unknown-license (explain() recognizes it by :data:`NOT_DECIDED`)."""
    shown = license_iri if len(license_iri) <= 200 else license_iri[:200] + "..."
    return (f"{NOT_DECIDED}{use} is permitted only by a platform or dataset curator, and the license {shown!r} is not "
            "one aiterms recognizes: its terms are unknown and may restrict that permission (fail closed)")


def explain(decision: Decision) -> str:
    """One plain sentence: the outcome, the statement that decided it, and the narrower uses it excludes."""
    phrase = OUTCOME_PHRASE.get(decision.outcome, decision.outcome)
    if decision.obligations:
        phrase += f" ({', '.join(decision.obligations)})"
    use = decision.query.use
    excluded = sorted({r.use for r in decision.reasons if r.step == ALG_NARROWER and r.effect == PROHIBIT and r.use})
    except_ = f"; excluded: {', '.join(excluded)}" if excluded else ""
    if decision.outcome == UNSPECIFIED:
        first = decision.reasons[0] if decision.reasons else None
        if first is not None and first.step in (ALG_QUERY, ALG_RECORD):
            return f"{phrase}: {first.text}."
        held = next((r for r in decision.reasons if r.step == ALG_LICENSE and r.text.startswith(NOT_DECIDED)), None)
        if held is not None:  # alg-license item 5: a default's permission held back by an unrecognized license
            return f"{phrase}: {held.text.removeprefix(NOT_DECIDED)}{except_}."
        whole = " as a whole" if excluded else ""
        exception = next((r for r in decision.reasons if r.effect == "exception"), None)
        set_aside = "; reservations set aside by the EU research exception (DSM Directive Art. 3)" if exception else ""
        return f"{phrase}: nothing in the record permits or prohibits {use}{whole}{except_}{set_aside}."
    wanted = (PROHIBIT, "consent-refused") if decision.outcome == NOT_ALLOWED else (PERMIT,)
    decisive = next((r for r in decision.reasons if r.effect in wanted and r.step != ALG_NARROWER), None)
    text = decisive.text if decisive is not None else use
    return f"{phrase}: {text}{except_}."
