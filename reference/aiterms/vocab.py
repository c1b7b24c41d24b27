"""The bundled vocabulary and tag registry (spec/vocabulary.md, spec/registry.md).

Runtime reads only the generated JSON in ``_data`` (never rdflib), so that a single ``aiterms check`` starts fast.
"""

from __future__ import annotations

import json
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache, cached_property
from importlib.resources import files
from typing import Any

NAMESPACE = "https://w3id.org/aiterms/"
CONTEXT_IRI = "https://w3id.org/aiterms/context/v1.jsonld"
BIOMETRIC = "biometric"


def _data(name: str) -> Any:
    return json.loads((files("aiterms") / "_data" / name).read_text("utf-8"))


@dataclass(frozen=True, slots=True)
class Mapping_:
    scheme: str
    token: str
    relation: str  # exact | close | broader | narrower
    version: str | None = None
    iri: str | None = None
    note: str | None = None
    effect: str | None = None  # permit | prohibit | none, for signal values that are statements (PLUS, noai)


@dataclass(frozen=True, slots=True)
class Concept:
    id: str
    scheme: str
    iri: str
    label: str
    definition: str
    broader: tuple[str, ...] = ()
    status: str = "active"
    since: str = "0.1"
    replaced_by: str | None = None
    mappings: tuple[Mapping_, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id, "iri": self.iri, "label": self.label, "definition": self.definition,
            "broader": list(self.broader), "status": self.status, "since": self.since,
            **({"replacedBy": self.replaced_by} if self.replaced_by else {}),
            "mappings": [
                {k: v for k, v in (("scheme", m.scheme), ("version", m.version), ("token", m.token),
                                   ("relation", m.relation), ("effect", m.effect), ("iri", m.iri),
                                   ("note", m.note)) if v is not None}
                for m in self.mappings
            ],
        }


class Vocabulary:
    """Concept schemes by name: ``use``, ``purpose``, ``actor``, ``role``, ``obligation``, ``consent-status``,
    ``effect``, ``outcome``."""

    def __init__(self, data: Mapping[str, Any]) -> None:
        self.version: str = data["version"]
        self.schemes: dict[str, dict[str, Concept]] = {}
        for scheme, concepts in data["schemes"].items():
            self.schemes[scheme] = {
                cid: Concept(
                    id=cid, scheme=scheme, iri=c["iri"], label=c["label"], definition=c["definition"],
                    broader=tuple(c.get("broader", ())), status=c.get("status", "active"),
                    since=c.get("since", "0.1"), replaced_by=c.get("replacedBy"),
                    mappings=tuple(Mapping_(m["scheme"], m["token"], m["relation"], m.get("version"), m.get("iri"),
                                            m.get("note"), m.get("effect")) for m in c.get("mappings", ())),
                )
                for cid, c in concepts.items()
            }

    @classmethod
    @cache
    def bundled(cls) -> Vocabulary:
        return cls(_data("vocab.json"))

    @property
    def uses(self) -> dict[str, Concept]:
        return self.schemes["use"]

    def ids(self, scheme: str) -> frozenset[str]:
        return frozenset(self.schemes.get(scheme, {}))

    @cached_property
    def _ancestors(self) -> dict[str, frozenset[str]]:
        out: dict[str, frozenset[str]] = {}

        def walk(u: str, seen: frozenset[str]) -> frozenset[str]:
            if u in out:
                return out[u]
            acc = {u}
            for b in self.uses[u].broader if u in self.uses else ():
                if b not in seen:
                    acc |= walk(b, seen | {u})
            out[u] = frozenset(acc)
            return out[u]

        for u in self.uses:
            walk(u, frozenset())
        return out

    def ancestors(self, use: str) -> frozenset[str]:
        """The use itself and every broader use (transitively)."""
        return self._ancestors.get(use, frozenset({use}))

    def is_narrower_or_equal(self, narrow: str, broad: str) -> bool:
        """True when a rule on ``broad`` covers ``narrow`` (spec/resolution.md#alg-scope)."""
        return broad in self.ancestors(narrow)

    def descendants(self, use: str) -> frozenset[str]:
        return frozenset(u for u in self.uses if use in self.ancestors(u))

    def is_biometric(self, use: str) -> bool:
        return BIOMETRIC in self.ancestors(use)

    def depth(self, use: str) -> int:
        """Length of the longest broader-chain above ``use`` (specificity when comparing rules)."""
        c = self.uses.get(use)
        if c is None or not c.broader:
            return 0
        return 1 + max(self.depth(b) for b in c.broader)


# ---------------------------------------------------------------------------------------------------------
# Tag registry (spec/registry.md)

# Letters from other scripts that look like Latin ones (a deliberately small, reviewed subset of Unicode's
# confusables.txt covering Cyrillic and Greek lookalikes of the letters tags use).
_CONFUSABLES = str.maketrans({
    "а": "a", "в": "b", "с": "c", "е": "e", "һ": "h", "і": "i", "ј": "j", "к": "k", "м": "m", "н": "h",
    "о": "o", "р": "p", "ѕ": "s", "т": "t", "у": "y", "х": "x", "ԁ": "d", "ԛ": "q", "ѡ": "w", "ɡ": "g",
    "α": "a", "ε": "e", "ι": "i", "κ": "k", "ν": "v", "ο": "o", "ρ": "p", "τ": "t", "υ": "u", "χ": "x",
    "Ӏ": "l", "ӏ": "l", "ı": "i",
})


def normalize_tag(raw: str) -> str:
    """req-tag-normalization: the comparison key of a tag.

    NFKC, case-folded, a leading ``#`` removed, then every character that is not an ASCII letter or digit
    removed -- the same key Flickr stores as a tag's "clean" form ("No CV" -> "nocv", "no_cv" -> "nocv").
    Non-ASCII letters are kept, so a confusable spelling never produces the key of a registered tag.
    """
    text = unicodedata.normalize("NFKC", raw).casefold().strip().lstrip("#")
    return "".join(ch for ch in text if (ch.isascii() and ch.isalnum()) or (not ch.isascii() and ch.isalpha()))


def _edit_distance_at_most_one(a: str, b: str) -> bool:
    if a == b:
        return True
    la, lb = len(a), len(b)
    if abs(la - lb) > 1:
        return False
    if la == lb:
        diff = [i for i in range(la) if a[i] != b[i]]
        return len(diff) == 1 or (len(diff) == 2 and diff[1] == diff[0] + 1
                                   and a[diff[0]] == b[diff[1]] and a[diff[1]] == b[diff[0]])
    if la > lb:
        a, b = b, a
    i = 0
    while i < len(a) and a[i] == b[i]:
        i += 1
    return a[i:] == b[i + 1:]


@dataclass(frozen=True, slots=True)
class TagEntry:
    id: str
    label: str
    description: str
    status: str
    reference: str
    change_controller: str
    since: str
    variants: tuple[str, ...]
    rules: tuple[Mapping[str, Any], ...]
    replaced_by: str | None = None
    raw: Mapping[str, Any] | None = None

    @property
    def iri(self) -> str:
        return f"{NAMESPACE}tag/{self.id}"


@dataclass(frozen=True, slots=True)
class TagMatch:
    """Result of looking a raw tag up: ``entry`` when it is registered (exact key match);
    ``suggestion`` (a registered id) with ``kind`` "confusable" or "near-miss" when it only looks like one."""

    raw: str
    key: str
    entry: TagEntry | None = None
    suggestion: str | None = None
    kind: str = "unknown"  # registered | confusable | near-miss | unknown


class Registry:
    def __init__(self, entries: Iterable[Mapping[str, Any]]) -> None:
        self.entries: dict[str, TagEntry] = {}
        self._by_key: dict[str, TagEntry] = {}
        for e in entries:
            entry = TagEntry(
                id=e["id"], label=e["label"], description=e["description"], status=e["status"],
                reference=e["reference"], change_controller=e["changeController"], since=e["since"],
                variants=tuple(e.get("variants", ())), rules=tuple(e.get("rules", ())),
                replaced_by=e.get("replacedBy"), raw=e,
            )
            self.entries[entry.id] = entry
            for spelling in (entry.id, *entry.variants):
                self._by_key.setdefault(normalize_tag(spelling), entry)

    @classmethod
    @cache
    def bundled(cls) -> Registry:
        return cls(_data("tags.json"))

    def get(self, tag_id: str) -> TagEntry | None:
        return self.entries.get(tag_id)

    @cache  # noqa: B019 -- registries are few and long-lived; tags repeat heavily at dataset scale
    def lookup(self, raw: str) -> TagMatch:
        """req-tag-match: a raw tag matches an entry only when its key equals the key of the entry's id or of one
        of its variants. Confusable and near-miss spellings never match; they come back with a suggestion."""
        key = normalize_tag(raw)
        entry = self._by_key.get(key)
        if entry is not None:
            return TagMatch(raw, key, entry, kind="registered")
        if not key:
            return TagMatch(raw, key)
        if not key.isascii():
            skeleton = key.translate(_CONFUSABLES)
            hit = self._by_key.get(skeleton)
            if hit is not None:
                return TagMatch(raw, key, None, hit.id, "confusable")
        if len(key) >= 4:
            for k, e in self._by_key.items():
                if len(k) >= 4 and _edit_distance_at_most_one(key, k):
                    return TagMatch(raw, key, None, e.id, "near-miss")
        return TagMatch(raw, key)
