"""The record model (spec/record.md): frozen value objects a record flows through.

parse -> model -> validate -> resolve. ``Record.from_json`` builds the model from a canonical (compact JSON-LD)
record that already passed structural validation; it keeps the JSON Pointer of every declaration and rule so
that decisions can say exactly which statement decided them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from aiterms.report import Issue

# Roles (spec/record.md#roles)
RIGHTS_HOLDER = "rights-holder"
DEPICTED_PERSON = "depicted-person"
PLATFORM = "platform"
DATASET_CURATOR = "dataset-curator"

PERMIT = "permit"
PROHIBIT = "prohibit"

ALLOWED = "allowed"
NOT_ALLOWED = "notAllowed"
CONSTRAINED = "constrained"
UNSPECIFIED = "unspecified"
OUTCOMES = (ALLOWED, NOT_ALLOWED, CONSTRAINED, UNSPECIFIED)


def parse_instant(value: str) -> datetime:
    """Read an RFC 3339 date or date-time as an aware UTC instant (a bare date is its start, UTC).

    Raises ValueError for anything else; callers report it with a code.
    """
    text = value.strip()
    text = text[:10] + text[10:].upper()  # RFC 3339 allows lowercase "t" and "z"
    if len(text) == 10:
        d = date.fromisoformat(text)
        return datetime(d.year, d.month, d.day, tzinfo=UTC)
    if "T" not in text and " " not in text:
        raise ValueError(f"not an RFC 3339 date or date-time: {value!r}")
    dt = datetime.fromisoformat(text)
    if dt.tzinfo is None:
        raise ValueError(f"date-time without a time zone offset: {value!r}")
    return dt.astimezone(UTC)


@dataclass(frozen=True, slots=True)
class Party:
    role: str
    id: str | None = None
    name: str | None = None


@dataclass(frozen=True, slots=True)
class Source:
    """Provenance of an imported statement: which signal, where, the raw value, and the signal's version."""

    signal: str
    location: str | None = None
    raw: str | None = None
    version: str | None = None
    observed: str | None = None


@dataclass(frozen=True, slots=True)
class Rule:
    effect: str  # "permit" | "prohibit"
    use: str
    purpose: tuple[str, ...] = ()
    actor: tuple[str, ...] = ()
    jurisdiction: tuple[str, ...] = ()
    start: str | None = None  # JSON "from"
    until: str | None = None
    duties: tuple[str, ...] = ()
    path: str = ""  # JSON Pointer of the rule in its record


@dataclass(frozen=True, slots=True)
class Consent:
    use: str
    status: str  # "given" | "refused" | "unknown"
    path: str = ""


@dataclass(frozen=True, slots=True)
class Declaration:
    declared_by: Party
    rules: tuple[Rule, ...] = ()
    consent: tuple[Consent, ...] = ()
    id: str | None = None
    issued: str | None = None
    effective_from: str | None = None
    until: str | None = None
    source: Source | None = None
    path: str = ""


@dataclass(frozen=True, slots=True)
class Record:
    declarations: tuple[Declaration, ...] = ()
    id: str | None = None
    content_url: str | None = None
    content_hash: str | None = None
    creator: tuple[str, ...] = ()
    owner: str | None = None
    license: str | None = None
    tags: tuple[str, ...] = ()
    depicted_persons: int | str | None = None  # int >= 0, "unknown", or None (not stated)

    @classmethod
    def from_json(cls, obj: dict[str, Any]) -> Record:
        """Build the model from a structurally valid canonical record (see validate.py for checking)."""

        def strs(v: Any) -> tuple[str, ...]:
            if v is None:
                return ()
            if isinstance(v, str):
                return (v,)
            return tuple(str(x) for x in v)

        decls = []
        for di, d in enumerate(obj.get("declarations") or ()):
            dp = f"/declarations/{di}"
            by = d.get("declaredBy") or {}
            rules = tuple(
                Rule(
                    effect=r["effect"], use=r["use"], purpose=strs(r.get("purpose")), actor=strs(r.get("actor")),
                    jurisdiction=strs(r.get("jurisdiction")), start=r.get("from"), until=r.get("until"),
                    duties=strs(r.get("duties")), path=f"{dp}/rules/{ri}",
                )
                for ri, r in enumerate(d.get("rules") or ())
            )
            consent = tuple(
                Consent(use=c["use"], status=c["status"], path=f"{dp}/consent/{ci}")
                for ci, c in enumerate(d.get("consent") or ())
            )
            src = d.get("source")
            source = None
            if isinstance(src, dict):
                source = Source(signal=str(src.get("signal", "")), location=src.get("location"), raw=src.get("raw"),
                                version=src.get("version"), observed=src.get("observed"))
            decls.append(Declaration(
                declared_by=Party(role=by.get("role", ""), id=by.get("id"), name=by.get("name")),
                rules=rules, consent=consent, id=d.get("id"), issued=d.get("issued"),
                effective_from=d.get("effectiveFrom"), until=d.get("until"), source=source, path=dp,
            ))
        return cls(
            declarations=tuple(decls), id=obj.get("id"), content_url=obj.get("contentUrl"),
            content_hash=obj.get("contentHash"), creator=strs(obj.get("creator")), owner=obj.get("owner"),
            license=obj.get("license"), tags=strs(obj.get("tags")), depicted_persons=obj.get("depictedPersons"),
        )


@dataclass(frozen=True, slots=True)
class Query:
    """The question: may this image be used for ``use`` (with purpose, actor, jurisdiction) at ``at``?"""

    use: str
    purpose: str | None = None
    actor: str | None = None
    jurisdiction: str | None = None
    at: str | None = None  # RFC 3339; None means "now" (resolver fills it in and echoes it)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"use": self.use}
        for k in ("purpose", "actor", "jurisdiction", "at"):
            v = getattr(self, k)
            if v is not None:
                out[k] = v
        return out

    @classmethod
    def from_json(cls, obj: dict[str, Any]) -> Query:
        return cls(use=obj["use"], purpose=obj.get("purpose"), actor=obj.get("actor"),
                   jurisdiction=obj.get("jurisdiction"), at=obj.get("at"))


@dataclass(frozen=True, slots=True)
class Reason:
    """Why: which statement (declaration/rule pointer, tag, license, consent), whose, and its effect."""

    step: str  # spec anchor of the algorithm step
    effect: str  # permit | prohibit | consent-given | consent-refused | consent-unknown | exception | info
    text: str
    use: str | None = None
    declaration: str | None = None  # JSON Pointer
    rule: str | None = None  # JSON Pointer (rule, tag, license, consent)
    party: str | None = None
    role: str | None = None
    signal: str | None = None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"step": self.step, "effect": self.effect}
        for k in ("use", "declaration", "rule", "party", "role", "signal"):
            v = getattr(self, k)
            if v is not None:
                out[k] = v
        out["text"] = self.text
        return out


@dataclass(frozen=True, slots=True)
class Decision:
    outcome: str
    query: Query
    obligations: tuple[str, ...] = ()
    reasons: tuple[Reason, ...] = ()
    steps: tuple[str, ...] = ()
    warnings: tuple[Issue, ...] = field(default=())

    def to_json(self) -> dict[str, Any]:
        return {
            "outcome": self.outcome,
            "obligations": list(self.obligations),
            "reasons": [r.to_json() for r in self.reasons],
            "steps": list(self.steps),
            "warnings": [w.to_json() for w in self.warnings],
            "query": self.query.to_json(),
        }
