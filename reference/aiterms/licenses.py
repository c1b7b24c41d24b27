"""License semantics: what a license IRI means to the resolver (spec/resolution.md#alg-license).

The table is ``vocab/licenses.json`` (hand-edited), bundled as ``_data/licenses.json``: Creative Commons licenses
of every family, version and jurisdiction port, CC0 and the Public Domain Mark, a few other public-domain
statements, SPDX ids of CC licenses, and Flickr's license ids 0 to 10. A license is looked up after
normalization (``http``/``https``, ``www.``, trailing slash, ``/legalcode``, ``/legalcode.xx``, ``/deed.xx``,
``/rdf``), so the many spellings found in the wild name one entry.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from importlib.resources import files
from pathlib import Path
from typing import Any

CC_NS = "http://creativecommons.org/ns#"
_CC_HOST = "https://creativecommons.org/"

# Trailing path segments that name a rendering of a license, not another license.
_LANG = r"(\.[a-z]{2,3}([-_][a-z0-9]{2,4})?)?"
_RENDERING = re.compile(rf"^(legalcode{_LANG}(\.txt|\.html)?|deed{_LANG}|rdf|index\.html?)$")
_CC_IRI = re.compile(r"^(?:https?://)?(?:www\.)?creativecommons\.org/(?P<path>[^?#]*)", re.IGNORECASE)
_SPDX_IRI = re.compile(r"^(?:https?://)?(?:www\.)?spdx\.org/licenses/(?P<id>[A-Za-z0-9.+-]+?)(?:\.html|\.json)?/?$")


def _load(name: str) -> Any:
    """The bundled copy in ``_data``; in a source checkout before the first build, the hand-edited source."""
    bundled = files("aiterms") / "_data" / name
    if bundled.is_file():
        return json.loads(bundled.read_text("utf-8"))
    source = Path(__file__).resolve().parents[2] / "vocab" / name
    return json.loads(source.read_text("utf-8"))


@dataclass(frozen=True, slots=True)
class LicenseInfo:
    """One known license: its canonical IRI and its CC REL terms (local names in the ``cc:`` namespace)."""

    iri: str
    name: str
    permits: tuple[str, ...] = ()
    requires: tuple[str, ...] = ()
    prohibits: tuple[str, ...] = ()
    family: str | None = None  # CC family such as "by-nc-sa"; None for other licenses
    version: str | None = None
    port: str | None = None
    public_domain: bool = False

    @property
    def derivatives(self) -> bool:
        """Whether the license permits derivative works (``cc:DerivativeWorks``); ND licenses do not."""
        return "DerivativeWorks" in self.permits

    @property
    def non_commercial(self) -> bool:
        return "CommercialUse" in self.prohibits


class LicenseTable:
    """The license table; :meth:`bundled` is the one shipped with aiterms."""

    def __init__(self, data: Mapping[str, Any]) -> None:
        self.version: str = data.get("version", "")
        self.terms: dict[str, dict[str, Any]] = dict(data.get("terms", {}))
        self._families: dict[str, dict[str, Any]] = dict(data.get("ccFamilies", {}))
        ports = data.get("ccPorts", {})
        self._port_pattern = re.compile(ports.get("pattern", r"^[a-z]{2}$"))
        self._no_ports_from: str = ports.get("withoutPortsFrom", "4.0")
        self._public_domain: dict[str, dict[str, Any]] = dict(data.get("ccPublicDomain", {}))
        self._spdx: dict[str, str] = {k.casefold(): v for k, v in data.get("spdx", {}).items() if not k.startswith("$")}
        self._other: dict[str, dict[str, Any]] = {
            _plain_key(k): {**v, "iri": k} for k, v in data.get("other", {}).items() if not k.startswith("$")
        }
        self.flickr: dict[str, dict[str, Any]] = {
            k: v for k, v in data.get("flickr", {}).items() if not k.startswith("$")
        }

    @classmethod
    @cache
    def bundled(cls) -> LicenseTable:
        return cls(_load("licenses.json"))

    @property
    def adaptation_uses(self) -> tuple[str, ...]:
        """Uses whose results may be adaptations of the image (where ShareAlike applies and ND matters)."""
        return tuple(self.terms.get("ShareAlike", {}).get("uses", ()))

    # -- lookup -----------------------------------------------------------------------------------------

    def normalize(self, iri: str) -> str | None:
        """The canonical IRI of a CC license or public-domain tool, or None when ``iri`` is not one.

        ``http://creativecommons.org/licenses/by/2.0/deed.de``, ``https://www.creativecommons.org/licenses/BY/2.0``
        and ``https://creativecommons.org/licenses/by/2.0/legalcode`` all give
        ``https://creativecommons.org/licenses/by/2.0/``. SPDX ids of CC licenses (``CC-BY-4.0`` and
        ``https://spdx.org/licenses/CC-BY-4.0.html``) give the CC IRI they name.
        """
        text = iri.strip()
        spdx = _SPDX_IRI.match(text)
        sid = spdx.group("id") if spdx else text
        path = self._spdx.get(sid.casefold())
        if path is not None:
            return f"{_CC_HOST}{path}/"
        m = _CC_IRI.match(text)
        if m is None:
            return None
        segments = [s.casefold() for s in m.group("path").split("/") if s]
        while segments and _RENDERING.match(segments[-1]):
            segments.pop()
        if not segments:
            return None
        return _CC_HOST + "/".join(segments) + "/"

    def lookup(self, iri: str) -> LicenseInfo | None:
        """The license an IRI names (after normalization), or None when the table does not know it."""
        return _lookup(self, iri)

    def flickr_license(self, license_id: int | str) -> str | None:
        """The license IRI of a Flickr license id (0 to 10); None for 0 (all rights reserved) and unknown ids."""
        entry = self.flickr.get(str(license_id).strip())
        if entry is None:
            return None
        iri = entry.get("iri")
        return str(iri) if iri else None

    def obligations(self, info: LicenseInfo, use_ancestors: frozenset[str]) -> tuple[tuple[str, str], ...]:
        """req-resolve-license-terms: the obligations a permitted use takes on from the license's requirements.

        Returns ``(obligation, cc term)`` pairs; a term whose ``uses`` list names none of ``use_ancestors`` (the
        queried use and every broader use) does not apply.
        """
        out: list[tuple[str, str]] = []
        for term in info.requires:
            spec = self.terms.get(term, {})
            obligation = spec.get("obligation")
            if not obligation:
                continue
            uses = spec.get("uses")
            if uses is not None and not use_ancestors.intersection(uses):
                continue
            out.append((str(obligation), term))
        return tuple(out)

    def prohibited_purposes(self, info: LicenseInfo) -> tuple[tuple[str, str], ...]:
        """``(purpose, cc term)`` pairs for the license's prohibitions that restrict purposes (NC: commercial)."""
        out: list[tuple[str, str]] = []
        for term in info.prohibits:
            for purpose in self.terms.get(term, {}).get("purposes", ()):
                out.append((str(purpose), term))
        return tuple(out)

    # -- internals ----------------------------------------------------------------------------------------

    def _cc(self, canonical: str) -> LicenseInfo | None:
        segments = canonical[len(_CC_HOST):].strip("/").split("/")
        if segments[0] == "publicdomain" and len(segments) == 3:
            entry = self._public_domain.get(f"{segments[1]}/{segments[2]}")
            if entry is None:
                return None
            return _info(canonical, entry, version=segments[2])
        if segments[0] != "licenses" or len(segments) not in (3, 4):
            return None
        family, version = segments[1], segments[2]
        entry = self._families.get(family)
        if entry is None or version not in entry.get("versions", ()):
            return None
        port = segments[3] if len(segments) == 4 else None
        if port is not None and (not self._port_pattern.match(port) or version >= self._no_ports_from):
            return None
        name = f"CC {entry['name']} {version}" + (f" ({port})" if port else "")
        return _info(canonical, {**entry, "name": name}, family=family, version=version, port=port)


@cache
def _lookup(table: LicenseTable, iri: str) -> LicenseInfo | None:
    canonical = table.normalize(iri)
    if canonical is not None:
        return table._cc(canonical)
    entry = table._other.get(_plain_key(iri))
    if entry is None:
        return None
    return _info(str(entry["iri"]), entry)


def _plain_key(iri: str) -> str:
    """Compare other license IRIs without scheme, ``www.``, case of the host, or trailing slash."""
    text = iri.strip()
    text = re.sub(r"^https?://", "", text, flags=re.IGNORECASE)
    text = re.sub(r"^www\.", "", text, flags=re.IGNORECASE)
    host, _, rest = text.partition("/")
    return f"{host.casefold()}/{rest}".rstrip("/")


def _info(iri: str, entry: Mapping[str, Any], *, family: str | None = None, version: str | None = None,
          port: str | None = None) -> LicenseInfo:
    return LicenseInfo(
        iri=iri, name=str(entry.get("name", iri)), permits=tuple(entry.get("permits", ())),
        requires=tuple(entry.get("requires", ())), prohibits=tuple(entry.get("prohibits", ())),
        family=family, version=version, port=port, public_domain=bool(entry.get("publicDomain", False)),
    )


def lookup(iri: str) -> LicenseInfo | None:
    """The bundled table's entry for a license IRI (see :meth:`LicenseTable.lookup`)."""
    return LicenseTable.bundled().lookup(iri)


def normalize(iri: str) -> str | None:
    return LicenseTable.bundled().normalize(iri)


def flickr_license(license_id: int | str) -> str | None:
    return LicenseTable.bundled().flickr_license(license_id)
