"""Jurisdictions for the resolver: areas, containment and overlap, and the laws it models.

Data: ``vocab/jurisdictions.json`` (hand-edited), bundled as ``_data/jurisdictions.json``. See
spec/resolution.md#alg-match (jurisdiction constraints), #alg-eu-research and #alg-consent.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any

from aiterms.licenses import _load

JURISDICTION_RE = re.compile(r"^[A-Z]{2}(-[A-Z0-9]{1,3})?$")


@dataclass(frozen=True, slots=True)
class Area:
    """A jurisdiction as a set of countries, optionally narrowed to one subdivision (``US-IL``)."""

    code: str
    countries: frozenset[str]
    subdivision: str | None = None

    def within(self, other: Area) -> bool:
        """Every place in ``self`` is in ``other`` (``US-IL`` within ``US``; ``DE`` within ``EU``)."""
        return self.countries <= other.countries and (
            other.subdivision is None or self.subdivision == other.subdivision)

    def overlaps(self, other: Area) -> bool:
        """Some place is in both (``US`` and ``US-IL``; ``EU`` and ``DE``; not ``US-IL`` and ``US-TX``)."""
        return bool(self.countries & other.countries) and (
            self.subdivision is None or other.subdivision is None or self.subdivision == other.subdivision)


@dataclass(frozen=True, slots=True)
class Law:
    """One law the resolver models (a consent statute, a research exception), with where it applies."""

    area: Area
    law: str
    citation: str
    url: str
    actors: tuple[str, ...] = ()
    purposes: tuple[str, ...] = ()
    use: str | None = None


class Jurisdictions:
    def __init__(self, data: Mapping[str, Any]) -> None:
        self.version: str = data.get("version", "")
        self.groups: dict[str, frozenset[str]] = {
            code: frozenset(g["members"]) for code, g in data.get("groups", {}).items()
        }
        self.biometric_consent: tuple[Law, ...] = tuple(self._law(e) for e in data.get("biometricConsent", ()))
        self.research_exceptions: tuple[Law, ...] = tuple(
            self._law(e) for e in data.get("tdmResearchException", ()))

    @classmethod
    @cache
    def bundled(cls) -> Jurisdictions:
        return cls(_load("jurisdictions.json"))

    def _law(self, e: Mapping[str, Any]) -> Law:
        area = self.area(str(e["jurisdiction"]))
        if area is None:
            raise ValueError(f"jurisdictions.json: bad jurisdiction {e['jurisdiction']!r}")
        return Law(area=area, law=str(e["law"]), citation=str(e["citation"]), url=str(e.get("url", "")),
                   actors=tuple(e.get("actors", ())), purposes=tuple(e.get("purposes", ())), use=e.get("use"))

    def valid(self, code: str) -> bool:
        return code in self.groups or bool(JURISDICTION_RE.match(code))

    def area(self, code: str) -> Area | None:
        """The area a jurisdiction code names, or None when it is not a code (``EU``, ``DE``, ``US-IL``)."""
        return _area(self, code)

    def consent_laws(self, code: str | None) -> tuple[Law, ...]:
        """The consent statutes that may apply to a use in ``code`` (overlap: ``US`` may be ``US-IL``)."""
        if code is None:
            return self.biometric_consent
        area = self.area(code)
        if area is None:
            return self.biometric_consent
        return tuple(law for law in self.biometric_consent if law.area.overlaps(area))

    def research_exception(self, code: str | None) -> Law | None:
        """The TDM research exception whose area contains ``code`` (never by mere overlap: a use "somewhere in
        the US" is not a use in the EU)."""
        if code is None:
            return None
        area = self.area(code)
        if area is None:
            return None
        for law in self.research_exceptions:
            if area.within(law.area):
                return law
        return None


@cache
def _area(table: Jurisdictions, code: str) -> Area | None:
    members = table.groups.get(code)
    if members is not None:
        return Area(code, members)
    if not JURISDICTION_RE.match(code):
        return None
    country, _, sub = code.partition("-")
    return Area(code, frozenset({country}), code if sub else None)
