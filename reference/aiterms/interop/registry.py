"""The importer and exporter registry, kind detection, and combining several sources about one image
(spec/interop.md#registry, spec/interop.md#combination).

``IMPORTERS`` and ``EXPORTERS`` list module names (``aiterms.interop.<name>``; a bare name means that package).
A module that is listed but not installed yet is skipped. An importer module exposes ``KIND``, ``detect(name,
head)``, ``import_bytes(...)`` and optionally ``PRIORITY`` (lower is tried first when detecting; default 50).
An exporter module exposes ``TARGET`` and ``export(record)``. Helpers add ONE line per module to the tuples.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable, Mapping, Sequence
from types import ModuleType
from typing import Any

from aiterms.interop import _web
from aiterms.interop.base import ImportResult
from aiterms.report import Issue

IMPORTERS: tuple[str, ...] = (
    "aiterms.interop.aitxt",
    "aiterms.interop.tdmrep",
    "aiterms.interop.robots",
    "aiterms.interop.html",
    "aiterms.interop.httpheaders",
    "aiterms.interop.contentsignal",
    "aiterms.interop.aipref",
    "aiterms.interop.image",
    "aiterms.interop.xmp",
    "aiterms.interop.c2pa",
    "aiterms.interop.odrl",
    "aiterms.interop.rsl",
    "aiterms.interop.flickr",
    "aiterms.interop.cclicense",
)

EXPORTERS: tuple[str, ...] = (
    "aiterms.interop.aipref",
    "aiterms.interop.robots",
    "aiterms.interop.tdmrep",
    "aiterms.interop.xmp",
    "aiterms.interop.c2pa",
    "aiterms.interop.odrl",
    "aiterms.interop.rsl",
)

CONTEXT = "https://w3id.org/aiterms/context/v1.jsonld"
HEAD_BYTES = 64 * 1024
# Codes after which the command line exits with 2 (unreadable input, unknown kind, missing --url / usage).
USAGE_CODES = frozenset({"import-unreadable", "import-unknown-kind", "import-url-required", "import-invalid-url"})


def _load(names: Iterable[str]) -> list[ModuleType]:
    out = []
    for name in names:
        full = name if "." in name else f"aiterms.interop.{name}"
        try:
            out.append(importlib.import_module(full))
        except ModuleNotFoundError as exc:
            if exc.name != full:
                raise
    return out


def importers() -> list[ModuleType]:
    """Importer modules in detection order (``PRIORITY``, then tuple order)."""
    mods = [m for m in _load(IMPORTERS) if hasattr(m, "KIND") and hasattr(m, "import_bytes")]
    return sorted(mods, key=lambda m: int(getattr(m, "PRIORITY", 50)))


def exporters() -> list[ModuleType]:
    return [m for m in _load(EXPORTERS) if hasattr(m, "TARGET") and hasattr(m, "export")]


def kinds() -> list[str]:
    return [str(m.KIND) for m in importers()]


def targets() -> list[str]:
    return [str(m.TARGET) for m in exporters()]


def importer_for(kind: str) -> ModuleType | None:
    return next((m for m in importers() if kind == m.KIND or kind in getattr(m, "ALIASES", ())), None)


def exporter_for(target: str) -> ModuleType | None:
    return next((m for m in exporters() if target == m.TARGET), None)


def detect_kind(name: str, head: bytes) -> str | None:
    """req-import-detect: the kind of the first importer (by ``PRIORITY``) whose ``detect`` accepts the file name
    and its first 64 KiB; None when none does."""
    for m in importers():
        try:
            if m.detect(name, head[:HEAD_BYTES]):
                return str(m.KIND)
        except Exception:  # a broken detector must not hide the others
            continue
    return None


def import_one(data: bytes, *, source_name: str, kind: str | None = None, url: str | None = None,
               user_agent: str | None = None, observed: str | None = None,
               trust_anchors: str | None = None) -> ImportResult:
    """req-import-fail-closed: import one source; never raises for bad input (an importer that fails gives
    ``import-importer-failed`` and imports nothing).

    ``trust_anchors`` (PEM certificates) goes to the importers that verify signatures (those whose module lists it
    in ``OPTIONS``: C2PA, and images, which may carry a C2PA manifest); the others never see it."""
    chosen = kind or detect_kind(source_name, data[:HEAD_BYTES])
    if chosen is None:
        return ImportResult({}, (_web.issue(
            "import-unknown-kind", _web.ERROR,
            f"{source_name}: cannot tell what kind of signal this is; give --from (one of {', '.join(kinds())})"),))
    module = importer_for(chosen)
    if module is None:
        return ImportResult({}, (_web.issue(
            "import-unknown-kind", _web.ERROR,
            f"{source_name}: unknown kind {chosen!r}; known kinds: {', '.join(kinds())}"),))
    try:
        extra: dict[str, Any] = {}
        if trust_anchors is not None and "trust_anchors" in getattr(module, "OPTIONS", ()):
            extra["trust_anchors"] = trust_anchors
        result: ImportResult = module.import_bytes(data, source_name=source_name, url=url, user_agent=user_agent,
                                                   observed=observed, **extra)
    except Exception as exc:  # fail closed: a crash in one importer is a coded error, never a traceback
        return ImportResult({}, (_web.issue(
            "import-importer-failed", _web.ERROR,
            f"{source_name}: the {chosen} importer failed ({type(exc).__name__}: {exc}); nothing was imported"),))
    decls = result.record.get("declarations")
    if not decls:
        return result
    settled, more = settle([dict(d) for d in decls if isinstance(d, Mapping)])
    record = dict(result.record)
    if settled:
        record["declarations"] = settled
    else:
        record.pop("declarations", None)
    return ImportResult(record, (*result.issues, *more))


def settle(declarations: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], list[Issue]]:
    """The only decisions an importer takes between declarations: TDMRep's layered override (tdmrep.combine) and
    removing a permission that contradicts a prohibition of the same party (_web.settle_contradictions)."""
    from aiterms.interop import tdmrep

    declarations, issues = tdmrep.combine(declarations)
    declarations, more = _web.settle_contradictions(declarations)
    return declarations, [*issues, *more]


def import_sources(paths: Sequence[str], *, kind: str | None = None, url: str | None = None,
                   user_agent: str | None = None, observed: str | None = None,
                   trust_anchors: str | None = None) -> ImportResult:
    """req-import-combine: import every source about one image and combine them into one canonical record.

    Declarations are concatenated in source order, each keeping its provenance; TDMRep layers are then
    combined by TDMRep's own override rule (tdmrep.combine); nothing else is decided here, the resolver's rules
    decide between declarations. Record-level fields are merged: tags and creators are united; for a single-
    valued field (license, owner, id, contentUrl, depictedPersons) the first source's value is kept and a
    different value elsewhere gives a warning; different content hashes are an error (not one image).
    """
    from aiterms._io import InputTooLarge, read_bytes

    issues: list[Issue] = []
    parts: list[tuple[str, dict[str, Any]]] = []
    for path in paths:
        try:
            data = read_bytes(path)
        except (OSError, InputTooLarge) as exc:
            issues.append(_web.issue("import-unreadable", _web.ERROR, f"{path}: cannot be read ({exc})"))
            continue
        result = import_one(data, source_name=str(path), kind=kind, url=url, user_agent=user_agent,
                            observed=observed, trust_anchors=trust_anchors)
        issues.extend(result.issues)
        if not result.record.get("declarations") and not any(
                str(i.severity) in ("warning", "error") for i in result.issues):
            issues.append(_web.issue("import-nothing-found", _web.INFO,
                                     f"{path}: no AI-usage statement found"))
        parts.append((str(path), dict(result.record)))
    record, more = combine(parts, url=url)
    issues.extend(more)
    return ImportResult(record, tuple(issues))


_SINGLE = ("id", "contentUrl", "owner", "license", "depictedPersons")
_ORDER = ("@context", "type", "id", "contentUrl", "contentHash", "creator", "owner", "license", "tags",
          "depictedPersons", "declarations")


def combine(parts: Sequence[tuple[str, Mapping[str, Any]]], *, url: str | None = None) -> tuple[dict[str, Any],
                                                                                                  list[Issue]]:
    """Merge partial records (see :func:`import_sources`) into one canonical record."""
    issues: list[Issue] = []
    out: dict[str, Any] = {"@context": CONTEXT, "type": "ImageRecord"}
    declarations: list[dict[str, Any]] = []
    origin_of: dict[str, str] = {}
    for name, rec in parts:
        for key, value in rec.items():
            if key in ("@context", "type"):
                continue
            if key == "declarations":
                declarations.extend(dict(d) for d in (value or ()) if isinstance(d, Mapping))
            elif key in ("tags", "creator"):
                items = [value] if isinstance(value, str) else list(value or ())
                merged = list(out.get(key) or [])
                merged.extend(v for v in items if v not in merged)
                out[key] = merged
            elif key == "contentHash":
                if "contentHash" in out and out["contentHash"] != value:
                    issues.append(_web.issue(
                        "import-different-assets", _web.ERROR,
                        f"{name}: content hash {value} differs from {out['contentHash']} ({origin_of[key]}); "
                        "the sources are not about one image", path="/contentHash"))
                else:
                    out.setdefault("contentHash", value)
                    origin_of.setdefault(key, name)
            elif key in _SINGLE:
                if key not in out:
                    out[key] = value
                    origin_of[key] = name
                elif out[key] != value:
                    code = "import-license-conflict" if key == "license" else "import-field-conflict"
                    issues.append(_web.issue(
                        code, _web.WARNING,
                        f"{name}: {key} {value!r} differs from {out[key]!r} given by {origin_of[key]}; the first is "
                        "kept (give the sources in the order you trust, or fix the conflict)", path=f"/{key}"))
            else:
                out.setdefault(key, value)
    if url and "contentUrl" not in out:
        out["contentUrl"] = url.strip()
    declarations, more = settle(declarations)
    issues.extend(more)
    if declarations:
        out["declarations"] = declarations
    ordered = {k: out[k] for k in _ORDER if k in out}
    ordered.update({k: v for k, v in out.items() if k not in ordered})
    return ordered, issues
