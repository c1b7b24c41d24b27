"""C2PA / CAWG training-and-data-mining assertions to and from aiterms rules (spec/interop-c2pa.md).

Signed assets are read with the C2PA project's own bindings (c2pa-python, ``import c2pa``), never with a parser
of our own; manifest JSON (a manifest definition ``{"assertions": [...]}``, a Reader JSON dump
``{"active_manifest": ..., "manifests": {...}}``, one assertion ``{"label", "data"}`` or bare assertion data
``{"entries": {...}}``) is read directly. Only the active manifest speaks for the asset. Export writes a manifest
definition with a ``cawg.training-mining`` assertion and its legacy ``c2pa.training-mining`` twin.
"""

from __future__ import annotations

import hashlib
import io
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from aiterms.interop._rules import instant_ok
from aiterms.interop._rules import issue as _issue
from aiterms.interop.base import ExportResult, ImportResult
from aiterms.limits import (
    LIMIT_C2PA_MANIFESTS,
    MAX_C2PA_MANIFESTS,
    MAX_DOCUMENT_BYTES,
    check_json_depth,
    check_size,
)
from aiterms.report import Issue, Severity, pointer

KIND = "c2pa"
#: Keyword options import_bytes takes beyond the common ones (registry.import_one passes only these).
OPTIONS = ("trust_anchors",)
ALIASES = ("c2pa-manifest",)  # manifest JSON is also read by this module (MANIFEST_IMPORTER)
PRIORITY = 45  # after the image importer (40), which calls this one for signed images
TARGET = "c2pa-assertion"
MEDIA_TYPE = "application/json"

LABEL = re.compile(r"^(?P<ns>c2pa|cawg)\.training-mining(?:__\d+)?$")
# req-c2pa-key-map: entry key (without its c2pa./cawg. prefix) -> aiterms use
KEY_USES = {"data_mining": "data-mining", "ai_inference": "ai-inference", "ai_training": "non-genai-training",
            "ai_generative_training": "genai-training"}
USE_KEYS = {v: k for k, v in KEY_USES.items()}
VALUES = ("allowed", "notAllowed", "constrained")
BROADENED = "export-broadened"
_RANK = {"allowed": 0, "constrained": 1, "notAllowed": 2}
VERSIONS = {"cawg": "CAWG 1.1", "c2pa": "C2PA 1.4"}
# Validation status codes that say who signed, not whether the manifest is intact (spec/interop-c2pa.md#trust).
_TRUST_CODES = frozenset({"signingCredential.untrusted", "signingCredential.ocsp.skipped",
                          "signingCredential.ocsp.inaccessible", "signingCredential.ocsp.unknown",
                          "timeStamp.untrusted"})
_MIME_BY_EXT = {"jpg": "image/jpeg", "jpeg": "image/jpeg", "png": "image/png", "webp": "image/webp",
                "tif": "image/tiff", "tiff": "image/tiff", "avif": "image/avif", "heic": "image/heic",
                "heif": "image/heif", "gif": "image/gif", "c2pa": "application/c2pa", "dng": "image/dng",
                "jxl": "image/jxl", "svg": "image/svg+xml", "mp4": "video/mp4", "pdf": "application/pdf"}



@dataclass
class _Found:
    """The training-mining statements of one manifest, combined."""

    values: dict[str, tuple[str, str]] = field(default_factory=dict)  # use -> (value, where)
    info: dict[str, str] = field(default_factory=dict)  # use -> constraint_info
    labels: list[str] = field(default_factory=list)
    raw: dict[str, Any] = field(default_factory=dict)
    mixed: bool = False
    unreadable: bool = False  # some entry or label could not be read: no permission is imported


# ---------------------------------------------------------------------------------------------------------
# Import

def detect(name: str, head: bytes) -> bool:
    """A signed asset (JUMBF with a C2PA manifest store in the first bytes) or C2PA manifest JSON."""
    if head[:1] == b"{" or head.lstrip()[:1] == b"{":
        return b"training-mining" in head and (b'"assertions"' in head or b'"manifests"' in head
                                               or b'"entries"' in head)
    return b"jumb" in head and b"c2pa" in head


def import_bytes(data: bytes, *, source_name: str, url: str | None = None, user_agent: str | None = None,
                 observed: str | None = None, trust_anchors: str | None = None) -> ImportResult:
    """req-c2pa-combine: the active manifest's training-mining assertions -> one rights-holder declaration.

    ``trust_anchors`` is a PEM bundle of extra trust anchors for the claim signature (test certificates).
    """
    if data.removeprefix(b"\xef\xbb\xbf").lstrip()[:1] == b"{":
        return import_manifest_json(data, source_name=source_name, url=url, observed=observed)
    return import_asset(data, source_name=source_name, url=url, observed=observed, trust_anchors=trust_anchors)


def sniff_mime(data: bytes, name: str = "") -> str | None:
    """The media type c2pa-python should parse ``data`` as (magic bytes first, then the file name)."""
    if data[:3] == b"\xff\xd8\xff":
        return "image/jpeg"
    if data[:8] == b"\x89PNG\r\n\x1a\n":
        return "image/png"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    if data[:4] in (b"II*\x00", b"MM\x00*"):
        return "image/tiff"
    if data[:4] in (b"GIF8",):
        return "image/gif"
    if data[4:8] == b"ftyp":
        brand = data[8:12]
        if brand in (b"avif", b"avis"):
            return "image/avif"
        if brand in (b"heic", b"heix", b"mif1", b"heif", b"msf1"):
            return "image/heic"
        return "video/mp4"
    if data[4:8] == b"jumb":
        return "application/c2pa"
    if data[:5] == b"%PDF-":
        return "application/pdf"
    ext = name.rsplit(".", 1)[-1].lower() if "." in name else ""
    return _MIME_BY_EXT.get(ext)


def import_asset(data: bytes, *, source_name: str, url: str | None = None, observed: str | None = None,
                 trust_anchors: str | None = None) -> ImportResult:
    """req-c2pa-reader: read a signed asset with c2pa-python; every failure is a warning and gives no rules."""
    record: dict[str, Any] = {"contentHash": "sha256:" + hashlib.sha256(data).hexdigest()}
    if url:
        record["contentUrl"] = url
    mime = sniff_mime(data, source_name)
    if mime is None:
        return ImportResult(record, (_issue("c2pa-unsupported-format", f"{source_name}: not a media type C2PA "
                                            "can carry a manifest in"),))
    try:
        import c2pa
    except ImportError:
        return ImportResult(record, (_issue("c2pa-reader-unavailable", "c2pa-python is not installed "
                                            "(pip install 'aiterms[c2pa]'); the manifest was not read"),))
    # No network, ever (spec/security.md#req-no-network): no remote manifests, no OCSP, and no host at all for
    # anything else c2pa-rs might resolve (identity credentials name web hosts: without this it looks them up).
    settings: dict[str, Any] = {"verify": {"remote_manifest_fetch": False, "ocsp_fetch": False},
                                "core": {"allowed_network_hosts": []}}
    if trust_anchors:
        settings["trust"] = {"user_anchors": trust_anchors}
        settings["verify"]["verify_trust"] = True
    try:
        context = c2pa.Context(settings=c2pa.Settings.from_dict(settings))
        with c2pa.Reader(mime, io.BytesIO(data), context=context) as reader:
            dump = reader.json()
        deep = check_json_depth(dump)  # security#req-limit-depth: before json.loads, as for any JSON
        if deep is not None:
            return ImportResult(record, (deep,))
        store = json.loads(dump)
    except c2pa.C2paError.ManifestNotFound:
        return ImportResult(record, (_issue("c2pa-no-manifest", f"{source_name}: no C2PA manifest", "",
                                            Severity.INFO),))
    except Exception as exc:  # the native reader's failures (C2paError and others) all mean "unreadable"
        return ImportResult(record, (_issue("c2pa-manifest-unreadable", f"{source_name}: the C2PA manifest "
                                            f"could not be read ({type(exc).__name__}: {str(exc)[:200]})"),))
    if not isinstance(store, dict):
        return ImportResult(record, (_issue("c2pa-manifest-unreadable", "the reader returned no manifest store"),))
    decls, issues = _from_store(store, signed=True, observed=observed)
    if decls:
        record["declarations"] = decls
    return ImportResult(record, tuple(issues))


def import_manifest_json(data: bytes, *, source_name: str, url: str | None = None,
                         observed: str | None = None) -> ImportResult:
    """req-c2pa-manifest-json: a manifest definition, a Reader JSON dump, one assertion or bare assertion data.

    security#req-limits: manifest JSON over 16 MiB is not parsed: ``limit-input-size`` and no declaration.
    security#req-limit-depth: manifest JSON nested deeper than 64 is not parsed: ``limit-json-depth``."""
    too_big = check_size(len(data), MAX_DOCUMENT_BYTES, what=source_name)
    if too_big is not None:
        return ImportResult({}, (too_big,))
    deep = check_json_depth(data)
    if deep is not None:
        return ImportResult({}, (deep,))
    try:
        doc = json.loads(data.decode("utf-8-sig"))
    except UnicodeDecodeError:
        return ImportResult({}, (_issue("c2pa-manifest-unreadable", f"{source_name}: not UTF-8 JSON"),))
    except json.JSONDecodeError as exc:
        return ImportResult({}, (_issue("c2pa-manifest-unreadable", f"{source_name}: not JSON: {exc.msg}",
                                        line=exc.lineno, column=exc.colno),))
    except RecursionError:
        return ImportResult({}, (_issue("c2pa-manifest-unreadable", f"{source_name}: JSON nested too deeply"),))
    except ValueError as exc:  # an integer longer than Python's 4,300-digit conversion limit
        return ImportResult({}, (_issue("c2pa-manifest-unreadable", f"{source_name}: not JSON: {str(exc)[:120]}"),))
    record: dict[str, Any] = {"contentUrl": url} if url else {}
    if not isinstance(doc, dict):
        return ImportResult(record, (_issue("c2pa-manifest-unreadable", "not a JSON object"),))
    if "manifests" in doc or "active_manifest" in doc:
        decls, issues = _from_store(doc, signed=False, observed=observed)
    else:
        if isinstance(doc.get("assertions"), list):
            assertions, base, where = doc["assertions"], "/assertions", "C2PA manifest definition"
        elif "label" in doc and "data" in doc:
            assertions, base, where = [doc], "", "C2PA assertion"
        elif "entries" in doc or any(isinstance(k, str) and k.startswith(("c2pa.", "cawg.")) for k in doc):
            assertions, base, where = [{"label": "cawg.training-mining", "data": doc}], "", "CAWG assertion data"
        else:
            return ImportResult(record, (_issue("c2pa-no-training-mining", "no C2PA assertions in this JSON", "",
                                                Severity.INFO),))
        issues = []
        found = _assertions(assertions, base, issues, single=base == "")
        decl = _declaration(found, where=where, trust="unsigned", observed=observed, party={})
        decls = [decl] if decl else []
        if decl:
            issues.append(_issue("c2pa-unsigned", "manifest JSON is not signed: nothing vouches for who wrote it",
                                 "", Severity.INFO))
    if decls:
        record["declarations"] = decls
    return ImportResult(record, tuple(issues))


def _from_store(store: Mapping[str, Any], *, signed: bool, observed: str | None
                ) -> tuple[list[dict[str, Any]], list[Issue]]:
    """req-c2pa-active-manifest: only the active manifest speaks for the asset."""
    issues: list[Issue] = []
    manifests = store.get("manifests")
    active = store.get("active_manifest")
    if not isinstance(manifests, dict) or not isinstance(active, str) or not isinstance(manifests.get(active), dict):
        return [], [_issue("c2pa-no-active-manifest", "the manifest store has no readable active manifest",
                           "/active_manifest")]
    if len(manifests) > MAX_C2PA_MANIFESTS:
        # security#req-limits: a store over the limit is not read at all (outcome unspecified, never allowed)
        return [], [_issue(LIMIT_C2PA_MANIFESTS, f"the manifest store holds {len(manifests)} manifests, more than "
                           f"the limit of {MAX_C2PA_MANIFESTS}; it is not read", "/manifests")]
    for label, m in manifests.items():
        if label != active and isinstance(m, dict) and any(
                isinstance(a, dict) and LABEL.match(str(a.get("label", ""))) for a in m.get("assertions") or []):
            issues.append(_issue("c2pa-ingredient-ignored", f"manifest {label} (an ingredient's) carries a "
                                 "training-mining assertion; only the active manifest speaks for this asset",
                                 pointer("manifests", label), Severity.INFO))
    trust, identity_ok, failures = _validation(store, active, issues, signed=signed)
    if failures:
        issues.append(_issue("c2pa-validation-failed", "the active manifest failed validation "
                             f"({', '.join(failures)}); its assertions are not used", "/validation_results"))
        return [], issues
    manifest = manifests[active]
    base = pointer("manifests", active, "assertions")
    found = _assertions(manifest.get("assertions") or [], base, issues, single=False)
    party = _party(manifest, identity_ok, issues, pointer("manifests", active))
    decl = _declaration(found, where=f"C2PA active manifest {active}", trust=trust, observed=observed, party=party)
    if decl is None:
        if not found.labels:
            issues.append(_issue("c2pa-no-training-mining", "the active manifest has no training-mining assertion",
                                 base, Severity.INFO))
        return [], issues
    sig = manifest.get("signature_info")
    if isinstance(sig, dict) and isinstance(sig.get("time"), str) and instant_ok(sig["time"]):
        decl["issued"] = sig["time"]
    return [decl], issues


def _validation(store: Mapping[str, Any], active: str, issues: list[Issue], *, signed: bool
                ) -> tuple[str, bool, list[str]]:
    """req-c2pa-validation: (trust state, identity assertions usable, failures that invalidate the manifest)."""
    results = store.get("validation_results")
    statuses: list[dict[str, Any]] = []
    success: list[dict[str, Any]] = []
    if isinstance(results, dict) and isinstance(results.get("activeManifest"), dict):
        am = results["activeManifest"]
        statuses = [s for s in am.get("failure") or [] if isinstance(s, dict)]
        success = [s for s in am.get("success") or [] if isinstance(s, dict)]
    elif isinstance(store.get("validation_status"), list):
        statuses = [s for s in store["validation_status"] if isinstance(s, dict) and (
            f"/c2pa/{active}/" in str(s.get("url", "")) or "/c2pa/" not in str(s.get("url", "")))]
    elif signed:
        issues.append(_issue("c2pa-validation-failed", "the reader reported no validation results", "",
                             Severity.INFO))
    failures: list[str] = []
    identity_ok = True
    untrusted = False
    for s in statuses:
        code, where = str(s.get("code", "")), str(s.get("url", ""))
        if code in _TRUST_CODES:
            untrusted = untrusted or code == "signingCredential.untrusted"
        elif code.startswith("cawg.") or "/c2pa.assertions/cawg.identity" in where:
            identity_ok = False
            issues.append(_issue("c2pa-identity-unverified", f"the CAWG identity assertion could not be verified "
                                 f"({code}); the declaring party is not taken from it", "/validation_results",
                                 Severity.INFO))
        else:
            failures.append(code or "unknown")
    state = str(store.get("validation_state") or "")
    if not signed:
        trust = "unverified"
    elif state == "Trusted" or any(s.get("code") == "signingCredential.trusted" for s in success):
        trust = "trusted"
    else:
        trust = "untrusted" if untrusted or signed else "unverified"
    if signed and trust == "untrusted":
        issues.append(_issue("c2pa-untrusted-signer", "the claim signer's certificate is not on a trust list "
                             "(test or unknown certificate); recorded in the source", "", Severity.INFO))
    return trust, identity_ok, failures


def _assertions(assertions: Any, base: str, issues: list[Issue], *, single: bool) -> _Found:
    found = _Found()
    for i, a in enumerate(assertions if isinstance(assertions, list) else []):
        apath = base if single else f"{base}/{i}"
        label = a.get("label") if isinstance(a, dict) else None
        m = LABEL.match(label) if isinstance(label, str) else None
        if not m:
            if _looks_like_training_mining(a):
                found.unreadable = True
                issues.append(_issue("c2pa-unknown-label", f"assertion label {label!r} is not c2pa.training-mining "
                                     "or cawg.training-mining; not read, and no permission is imported",
                                     apath + "/label"))
            continue
        if not isinstance(a, dict) or not isinstance(label, str):  # for the type checker; matched above
            continue
        found.labels.append(label)
        found.raw[label] = a.get("data")
        _entries(a.get("data"), m.group("ns"), label, apath + "/data", found, issues=issues)
    if found.mixed:
        issues.append(_issue("c2pa-mixed-namespace", "entry keys use a namespace other than the assertion label's "
                             "(c2pa.* keys in cawg.training-mining or the reverse); read as the same keys", base,
                             Severity.INFO))
    return found


def _looks_like_training_mining(a: Any) -> bool:
    """An assertion aiterms cannot rule out being a (damaged) training-mining assertion."""
    if not isinstance(a, dict) or not isinstance(a.get("label"), str):
        return True
    label = a["label"].lower()
    data = a.get("data")
    return any(w in label for w in ("train", "mining")) or (isinstance(data, dict) and (
        "entries" in data or any(str(k).startswith(("c2pa.", "cawg.")) and "_" in str(k) for k in data)))


def _entries(data: Any, ns: str, label: str, path: str, found: _Found, *, issues: list[Issue]) -> None:
    """req-c2pa-entries: an ``entries`` map (CAWG 1.1, c2pa-rs) or the keys directly in the data (C2PA 1.4 CDDL)."""
    if not isinstance(data, dict):
        found.unreadable = True
        issues.append(_issue("c2pa-invalid-entry", f"{label}: assertion data is not a map", path))
        return
    if "entries" in data:
        entries, epath = data["entries"], path + "/entries"
        if not isinstance(entries, dict):
            found.unreadable = True
            issues.append(_issue("c2pa-invalid-entry", f"{label}: 'entries' is not a map", epath))
            return
    else:
        entries, epath = {k: v for k, v in data.items() if k != "metadata"}, path
    for key, entry in entries.items():
        kpath = epath + pointer(str(key))
        prefix, _, name = str(key).partition(".")
        if prefix not in ("c2pa", "cawg") or name not in KEY_USES:
            found.unreadable = True
            issues.append(_issue("c2pa-unknown-entry", f"{label}: entry {key!r} is not one of the four "
                                 "training-mining keys; not read, and no permission of these assertions is "
                                 "imported", kpath))
            continue
        found.mixed = found.mixed or prefix != ns
        use = KEY_USES[name]
        raw_use = entry.get("use") if isinstance(entry, dict) else None
        value = raw_use if raw_use in VALUES else None
        if value is None:
            if isinstance(raw_use, str) and raw_use.strip().casefold() in ("notallowed", "constrained"):
                value = "notAllowed"
                issues.append(_issue("c2pa-invalid-use", f"{label}: {key} use {raw_use!r} is not spelled as the "
                                     "spec says; read as notAllowed (a reservation is never dropped)", kpath + "/use"))
            else:
                found.unreadable = True
                issues.append(_issue("c2pa-invalid-use", f"{label}: {key} has no valid 'use' (allowed, notAllowed "
                                     f"or constrained): {raw_use!r}; not read, and no permission of these "
                                     "assertions is imported", kpath))
                continue
        if value == "constrained":
            text = entry.get("constraint_info", entry.get("constraints_info"))
            if isinstance(text, str) and text.strip():
                found.info[use] = text
                issues.append(_issue("c2pa-constraint-info", f"{label}: {key} is constrained: {text[:300]!r}; "
                                     "recorded as notAllowed (fail closed), the text is kept in the source",
                                     kpath, Severity.INFO))
        previous = found.values.get(use)
        where = f"{label} {key}"
        if previous is not None and previous[0] != value:
            issues.append(_issue("c2pa-conflicting-entries", f"{where} says {value} but {previous[1]} says "
                                 f"{previous[0]}; the most restrictive is used", kpath))
        if previous is None or _RANK[value] > _RANK[previous[0]]:
            found.values[use] = (value, where)


def _party(manifest: Mapping[str, Any], identity_ok: bool, issues: list[Issue], path: str) -> dict[str, Any]:
    """req-c2pa-party: rights holder; id from a verified CAWG identity, name from the claim signer."""
    party: dict[str, Any] = {}
    sig = manifest.get("signature_info")
    if isinstance(sig, dict) and isinstance(sig.get("common_name"), str):
        issuer = sig.get("issuer")
        party["name"] = sig["common_name"] + (f" (issuer: {issuer})" if isinstance(issuer, str) else "")
    if not identity_ok:
        return party
    for a in manifest.get("assertions") or []:
        if not isinstance(a, dict) or not str(a.get("label", "")).startswith("cawg.identity"):
            continue
        data = a.get("data")
        for ident in (data.get("verifiedIdentities") if isinstance(data, dict) else None) or []:
            uri = ident.get("uri") if isinstance(ident, dict) else None
            if isinstance(uri, str) and re.match(r"^https?://", uri):
                party["id"] = uri
                if isinstance(ident.get("username"), str):
                    party["name"] = ident["username"]
                return party
    return party


def _declaration(found: _Found, *, where: str, trust: str, observed: str | None,
                 party: Mapping[str, Any]) -> dict[str, Any] | None:
    """req-c2pa-values: allowed -> permit; notAllowed and constrained -> prohibit (CAWG: constrained without
    further information is notAllowed; with constraint_info aiterms cannot check the conditions, so it stays a
    prohibition and the text is kept in ``source.raw``)."""
    if not found.labels:
        return None
    rules: list[dict[str, Any]] = []
    effects: dict[str, str] = {}
    for use in sorted(found.values):
        value = found.values[use][0]
        if value == "allowed" and found.unreadable:
            continue  # req-c2pa-unreadable-entry: a partly unreadable assertion grants nothing
        effects[use] = "permit" if value == "allowed" else "prohibit"
        rules.append({"effect": effects[use], "use": use})
    if effects.get("genai-training") == effects.get("non-genai-training") == "prohibit":
        # req-c2pa-both-training: both training keys reserved -> ai-training as a whole is prohibited
        rules.append({"effect": "prohibit", "use": "ai-training"})
    if not rules:
        return None
    namespace = "cawg" if any(lb.startswith("cawg.") for lb in found.labels) else "c2pa"
    raw: Any = found.raw[found.labels[0]] if len(found.labels) == 1 else found.raw
    source: dict[str, Any] = {
        "signal": namespace, "version": VERSIONS[namespace],
        "location": f"{where} assertion {', '.join(found.labels)}; signature {trust}",
        "raw": json.dumps(raw, ensure_ascii=False, sort_keys=True),
    }
    if observed:
        source["observed"] = observed
    return {"declaredBy": {"role": "rights-holder", **party}, "rules": rules, "source": source}



class _ManifestImporter:
    """The ``c2pa-manifest`` importer: manifest JSON only (the module itself, KIND ``c2pa``, takes both)."""

    KIND = "c2pa-manifest"

    def detect(self, name: str, head: bytes) -> bool:
        return head.lstrip()[:1] == b"{" and detect(name, head)

    def import_bytes(self, data: bytes, *, source_name: str, url: str | None = None, user_agent: str | None = None,
                     observed: str | None = None) -> ImportResult:
        return import_manifest_json(data, source_name=source_name, url=url, observed=observed)


MANIFEST_IMPORTER = _ManifestImporter()


# ---------------------------------------------------------------------------------------------------------
# Export

def export(record: dict[str, Any]) -> ExportResult:
    """req-c2pa-export: one value per CAWG key from the rights holder's rules; inexpressible parts are warnings."""
    from aiterms.interop._rules import covers, dimensions, exportable_rules, use_depth

    code = "export-not-expressible"  # spec/interop.md#req-export-lossy; wider answers use export-broadened
    rules, issues = exportable_rules(record, code)
    expressed = set(USE_KEYS)
    for ptr, rule, _party in rules:
        if rule["use"] not in expressed and not any(covers(rule["use"], u) for u in expressed):
            issues.append(_issue(code, f"CAWG has no key for {rule['use']} or any narrower use; this "
                                 f"{rule['effect']} is only reflected where it covers a CAWG key", ptr))
    entries: dict[str, dict[str, str]] = {}
    for use in sorted(USE_KEYS):
        applicable = [(p, r) for p, r, _ in rules if covers(r["use"], use)]
        if not applicable:
            continue
        deepest = max(use_depth(r["use"]) for _, r in applicable)
        top = [(p, r) for p, r in applicable if use_depth(r["use"]) == deepest]
        unconditional = [(p, r) for p, r in top if not dimensions(r)]
        conditional = [(p, r) for p, r in top if dimensions(r)]
        if any(r["effect"] == "prohibit" for _, r in unconditional):
            value, info = "notAllowed", None
            if any(r["effect"] == "permit" for _, r in conditional):
                issues.append(_issue(BROADENED, f"a permission of {use} limited by conditions cannot be expressed in "
                                     "CAWG; exported as notAllowed", next(p for p, r in conditional
                                                                          if r["effect"] == "permit")))
        elif conditional or any(r.get("duties") for _, r in unconditional):
            value, info = "constrained", "; ".join(_describe(r) for _, r in top)
            issues.append(_issue(BROADENED, f"the conditions on {use} cannot be expressed in CAWG; exported as "
                                 "constrained (readers treat it as notAllowed)", conditional[0][0] if conditional
                                 else unconditional[0][0]))
        else:
            value, info = "allowed", None
        entry: dict[str, str] = {"use": value}
        if info:
            entry["constraint_info"] = info[:1000]
        entries[USE_KEYS[use]] = entry
    per_key, lost = _weaker_on_reimport(record, entries)
    for key, excepted in per_key.items():
        entries[key] = {"use": "constrained", "constraint_info": "except " + ", ".join(excepted)}
        issues.append(_issue(BROADENED, f"{KEY_USES[key]} is permitted, but not plainly for {', '.join(excepted)} (a "
                             "narrower prohibition, duty, tag, license or consent rule CAWG cannot state); "
                             "exported as constrained", ""))
    if lost:
        issues.append(_issue(code, f"CAWG readers get a more permissive answer for {', '.join(lost)} (a "
                             "reservation or duty no CAWG key states)", ""))
    if not entries:
        issues.append(_issue(code, "no rule of the rights holder decides any CAWG key; the assertion is empty", ""))
    cawg = {f"cawg.{k}": v for k, v in sorted(entries.items())}
    legacy = {f"c2pa.{k}": v for k, v in sorted(entries.items())}
    manifest = {"assertions": [{"label": "cawg.training-mining", "data": {"entries": cawg}},
                               {"label": "c2pa.training-mining", "data": {"entries": legacy}}]}
    data = json.dumps(manifest, indent=2, ensure_ascii=False).encode("utf-8") + b"\n"
    return ExportResult(data, MEDIA_TYPE, tuple(issues))


_RANK_OUTCOME = {"notAllowed": 0, "unspecified": 1, "constrained": 2, "allowed": 3}


def _weaker_on_reimport(record: Mapping[str, Any], entries: Mapping[str, Mapping[str, str]]
                        ) -> tuple[dict[str, list[str]], list[str]]:
    """Compare the record with what a reader of the exported entries gets, use by use, asked without purpose, actor
    or jurisdiction (the most restrictive question). Returns, for each ``allowed`` key, the uses it covers whose
    answer would get more permissive (the key must become ``constrained``), and every other use whose answer gets
    more permissive (a reservation CAWG cannot state)."""
    from aiterms.interop._rules import descendants, known_uses
    from aiterms.model import Query, Record
    from aiterms.resolution import resolve
    from aiterms.validation import check

    context = {"@context": "https://w3id.org/aiterms/context/v1.jsonld", "type": "ImageRecord"}
    original = {**context, **{k: v for k, v in record.items() if k not in ("@context", "type")}}
    found = _Found(labels=["cawg.training-mining"], raw={"cawg.training-mining": None},
                   values={KEY_USES[k]: (e["use"], k) for k, e in entries.items()})
    decl = _declaration(found, where="export", trust="unsigned", observed=None, party={})
    exported = {**context, **({"declarations": [decl]} if decl else {})}
    before = Record.from_json(original) if check(original).valid else None
    after = Record.from_json(exported)
    contexts = _query_contexts(original)
    if contexts is None:
        before = None
        contexts = [(None, None, None)]
    weaker: list[str] = []
    for use in sorted(known_uses()):
        for purpose, actor, jurisdiction in contexts:
            query = Query(use=use, purpose=purpose, actor=actor, jurisdiction=jurisdiction)
            new = resolve(after, query)
            old = resolve(before, query) if before is not None else None
            if old is None or _RANK_OUTCOME[new.outcome] > _RANK_OUTCOME[old.outcome] or (
                    new.outcome == old.outcome and not set(old.obligations) <= set(new.obligations)):
                weaker.append(use)
                break
    per_key = {k: [u for u in weaker if u in descendants(KEY_USES[k])]
               for k, e in entries.items() if e["use"] == "allowed"}
    per_key = {k: v for k, v in per_key.items() if v}
    covered = {u for k in per_key for u in descendants(KEY_USES[k])}
    return per_key, [u for u in weaker if u not in covered]


_MAX_CONTEXTS = 256


def _query_contexts(record: Mapping[str, Any]) -> list[tuple[str | None, str | None, str | None]] | None:
    """The questions to compare: no purpose, actor or jurisdiction (where a conditional prohibition bites), and every
    combination of the values the record's rules name (where a conditional permission with duties bites). A value
    the record does not name answers as permissively as leaving the dimension open, so these suffice. None when
    there are too many combinations to compare (every allowed key is then exported as constrained)."""
    from itertools import product

    values: dict[str, set[str]] = {"purpose": set(), "actor": set(), "jurisdiction": set()}
    for d in record.get("declarations") or []:
        for r in (d.get("rules") or []) if isinstance(d, dict) else []:
            for k, found in values.items():
                if isinstance(r, dict) and isinstance(r.get(k), list):
                    found.update(str(v) for v in r[k])
    axes: list[list[str | None]] = [[None, *sorted(values[k])] for k in ("purpose", "actor", "jurisdiction")]
    combos = [(p, a, j) for p, a, j in product(*axes)]
    return combos if len(combos) <= _MAX_CONTEXTS else None


def _describe(rule: Mapping[str, Any]) -> str:
    parts = [f"{'permitted' if rule['effect'] == 'permit' else 'prohibited'} ({rule['use']})"]
    for k in ("purpose", "actor", "jurisdiction", "duties"):
        if rule.get(k):
            parts.append(f"{k} {', '.join(rule[k])}")
    for k in ("from", "until"):
        if rule.get(k):
            parts.append(f"{k} {rule[k]}")
    return " ".join(parts)
