"""The per-process annotate engine (spec/dataset.md#annotate): rows in, cached reference decisions out.

A :class:`Worker` holds what one process needs: the signer of the query, the decision cache, the resolver and,
when given, a read-only connection to the declarations store. It answers a block of JSON Lines or a batch of
manifest rows with one :class:`~aiterms.dataset.fastpath.Entry` per row and keeps the counts for the report.
"""

from __future__ import annotations

import gc
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import orjson

from aiterms.dataset import keys as K
from aiterms.dataset._codes import MANIFEST_ROW_INVALID, MANIFEST_VALUE_IGNORED, RECORD_NOT_RESOLVED, dataset_issue
from aiterms.dataset.columns import ColumnMap
from aiterms.dataset.fastpath import INVALID_MARK, DecisionCache, Entry, Signer
from aiterms.model import ALLOWED, CONSTRAINED, NOT_ALLOWED, UNSPECIFIED, Decision, Query
from aiterms.report import Issue, Severity
from aiterms.vocab import CONTEXT_IRI, Registry

ANNOTATION_FIELDS = ("aiterms_outcome", "aiterms_obligations", "aiterms_reason")
INVALID = "invalid-record"
NO_TERMS = "no-terms"
CONSENT_REQUIRED = "consent-required"
CONSENT_REFUSED = "consent-refused"
EU_RESEARCH = "exception:eu-research"
RECORD_INVALID_CODE = "record-invalid-not-resolved"
NO_LICENSE = "(none)"


@dataclass(frozen=True, slots=True)
class Options:
    """What every worker needs to know (picklable)."""

    query: Query  # ``at`` filled in
    keep: frozenset[str] | None = None  # filter: the outcomes kept; None for annotate
    store: str | None = None
    columns: ColumnMap = field(default_factory=ColumnMap)
    cache_size: int = 65536
    max_issues: int = 1000
    annotate_filtered: bool = False  # filter: add the annotation fields to the kept rows too


#: A block's output: bytes, or a view of the compiled kernel's own buffer, handed over without a copy.
Output = bytes | memoryview


@dataclass(slots=True)
class Stats:
    """Counts of one block (merged by the parent)."""

    rows: int = 0
    invalid: int = 0
    kept: int = 0
    signed: int = 0
    full: int = 0
    misses: int = 0
    mismatches: int = 0
    joined: int = 0  # rows that got statements from the store
    counts: Counter[tuple[str, str, str, str]] = field(default_factory=Counter)
    issue_counts: Counter[str] = field(default_factory=Counter)
    issues: list[Issue] = field(default_factory=list)

    def merge(self, other: Stats, max_issues: int) -> None:
        for name in ("rows", "invalid", "kept", "signed", "full", "misses", "mismatches", "joined"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.counts.update(other.counts)
        self.issue_counts.update(other.issue_counts)
        room = max_issues - len(self.issues)
        if room > 0:
            self.issues.extend(other.issues[:room])


def license_label(iri: str | None) -> str:
    """A short name of a license for the report ("CC BY-NC 2.0", "CC0 1.0"); the IRI when it is not known."""
    if not iri:
        return NO_LICENSE
    from aiterms.licenses import lookup

    info = lookup(iri)
    if info is None:
        return iri
    if info.family:
        port = f" {info.port}" if info.port else ""
        return f"CC {info.family.upper()} {info.version or ''}{port}".strip()
    return info.name


def _pointer_get(obj: Any, pointer: str | None) -> Any:
    if not pointer:
        return None
    cur = obj
    for raw in pointer.lstrip("/").split("/"):
        tok = raw.replace("~1", "/").replace("~0", "~")
        if isinstance(cur, list) and tok.isdigit() and int(tok) < len(cur):
            cur = cur[int(tok)]
        elif isinstance(cur, dict) and tok in cur:
            cur = cur[tok]
        else:
            return None
    return cur


def reason_code(decision: Decision, record: Any, registry: Registry | None = None) -> tuple[str, str]:
    """req-reason-codes: the short reason code of a decision and the signal source of the deciding statement.

    ``invalid-record``; ``no-terms``; ``exception:eu-research``; ``consent-required``; ``excluded:<narrower use>``;
    ``license:nc``; ``consent-refused``; ``tag:<tag id>``; else ``<role>:<effect>:<use of the deciding
    statement>``. When several statements decide, the smallest code (and signal) is taken, so the code does not
    depend on the order of the record's declarations (as the outcome does not).
    """
    if any(w.code == RECORD_INVALID_CODE for w in decision.warnings) or (
            decision.outcome == UNSPECIFIED and decision.reasons and decision.reasons[0].step in ("alg-query",
                                                                                                  "alg-record")):
        return INVALID, "invalid"
    outcome = decision.outcome
    reasons = decision.reasons
    if outcome == UNSPECIFIED:
        if any(r.effect == "exception" for r in reasons):
            return EU_RESEARCH, "law"
        return NO_TERMS, "none"
    if outcome == CONSTRAINED and "obtain-consent" in decision.obligations:
        return CONSENT_REQUIRED, "consent"
    if outcome == CONSTRAINED:
        excluded = sorted((f"excluded:{r.use}", _signal_of(r, record)) for r in reasons
                          if r.step == "alg-narrower" and r.effect == "prohibit")
        if excluded:
            return excluded[0]
    wanted = ("prohibit", "consent-refused") if outcome == NOT_ALLOWED else ("permit",)
    deciding = [r for r in reasons if r.effect in wanted and r.step in ("alg-authority", "alg-license")] or \
        [r for r in reasons if r.effect in wanted]
    if not deciding:
        return outcome, "none"
    reg = registry or Registry.bundled()
    best = min(_code_of(r, record, reg) for r in deciding)
    return best[1], best[2]


_PRIORITY = {"license:nc": "0", CONSENT_REFUSED: "1"}


def _code_of(r: Any, record: Any, registry: Registry) -> tuple[str, str, str]:
    """(priority, code, signal) of one deciding reason; the caller returns the smallest (code, signal)."""
    signal = _signal_of(r, record)
    if r.signal == "license":
        code = "license:nc"
    elif r.effect == "consent-refused" or (r.role == "depicted-person" and r.effect == "prohibit"):
        code = CONSENT_REFUSED
    elif r.signal == "tag":
        raw = _pointer_get(record, r.rule)
        m = registry.lookup(raw) if isinstance(raw, str) else None
        code = f"tag:{m.entry.id if m is not None and m.entry is not None else raw}"
    else:
        stmt = _pointer_get(record, r.rule)
        use = stmt.get("use") if isinstance(stmt, dict) and isinstance(stmt.get("use"), str) else r.use
        code = f"{r.role or 'unknown'}:{r.effect}:{use}"
    return _PRIORITY.get(code, "2" if code.startswith("tag:") else "3"), code, signal


def _signal_of(r: Any, record: Any) -> str:
    if r.signal:
        return str(r.signal)
    if r.declaration:
        return "record"
    return "none"


class Worker:
    """One process's engine (see the module docstring)."""

    def __init__(self, opts: Options) -> None:
        from aiterms.resolution import Resolver

        self.opts = opts
        self.query = opts.query
        self.resolver = Resolver()
        self.registry = self.resolver.registry
        self.signer = Signer(opts.query, resolver=self.resolver)
        self.cache = DecisionCache(opts.cache_size)
        self.keep = opts.keep
        self.store: Any = None
        if opts.store:
            from aiterms.dataset.store import Store

            self.store = Store.open(opts.store, readonly=True)
        self._invalid_entries: dict[str, Entry] = {}
        self._labels: dict[str | None, str] = {}
        self._license_classes: dict[str | None, tuple[Any, ...]] = {}
        self.stats = Stats()
        self._touched: list[Entry] = []
        from aiterms.dataset import kernel

        # The compiled kernel answers repeated record keys (spec/dataset.md#fast-path-key); a store join
        # rewrites lines first, so it keeps the Python path.
        self.kernel = kernel.KernelRunner(self) if kernel.available() and self.store is None else None

    # -- entries ---------------------------------------------------------------------------------------------

    def _label(self, license_iri: str | None) -> str:
        label = self._labels.get(license_iri)
        if label is None:
            if len(self._labels) >= 4096:  # bounded: license IRIs come from the input
                self._labels.clear()
            label = self._labels[license_iri] = license_label(license_iri)
        return label

    def _entry(self, outcome: str, obligations: tuple[str, ...], reason: str, signal: str,
               license_iri: str | None) -> Entry:
        label = self._label(license_iri)
        suffix = (b',"aiterms_outcome":' + orjson.dumps(outcome) + b',"aiterms_obligations":'
                  + orjson.dumps(list(obligations)) + b',"aiterms_reason":' + orjson.dumps(reason) + b"}")
        keep = self.keep is not None and outcome in self.keep
        return Entry(outcome, obligations, reason, signal, label, suffix, keep)

    def entry_for(self, decision: Decision, record: Any) -> Entry:
        code, signal = reason_code(decision, record, self.registry)
        lic = record.get("license") if isinstance(record, dict) else None
        return self._entry(decision.outcome, decision.obligations, code, signal, lic if isinstance(lic, str) else None)

    def invalid_entry(self, license_iri: str | None = None) -> Entry:
        """req-invalid-rows: a bad row is ``unspecified`` with reason ``invalid-record`` and never passes a filter."""
        key = license_iri or ""
        e = self._invalid_entries.get(key)
        if e is None:
            e = self._invalid_entries[key] = self._entry(UNSPECIFIED, (), INVALID, "invalid", license_iri)
            e.keep = False
        return e

    def count(self, e: Entry) -> None:
        if e.count == 0:
            self._touched.append(e)
        e.count += 1

    def flush(self) -> Stats:
        """The statistics since the last flush (entry counts folded into ``counts``)."""
        st = self.stats
        for e in (*self._touched, *self.cache.evicted):
            if e.count:
                st.counts[(e.outcome, e.reason, e.signal, e.license)] += e.count
                e.count = 0
        self._touched.clear()
        self.cache.evicted.clear()
        self.stats = Stats()
        return st

    def issue(self, code: str, message: str, line: int, path: str = "") -> None:
        st = self.stats
        st.issue_counts[code] += 1
        if len(st.issues) < self.opts.max_issues:
            st.issues.append(dataset_issue(code, message, path, line=line))

    # -- decisions -------------------------------------------------------------------------------------------

    def decide_signed(self, sig: Any, line: bytes, lineno: int) -> Entry:
        """req-fast-path: a record with a signature gets the cached answer for its signature, else the reference
        resolver's answer (then cached).

        The license matters only when the use comes out permitted (spec/resolution.md#alg-license: a license alone
        never permits or prohibits), so the answer is first looked up, or computed, without it; only a permitted
        answer is computed again with the license."""
        if sig[0] is INVALID_MARK:
            self.not_resolved(sig, lineno)
            return self.invalid_entry(_license_of_line(line))
        e = self.cache.get(sig)
        if e is not None:
            return e
        from aiterms.model import Record

        obj = orjson.loads(line)
        lic = obj.get("license")
        iri = lic if isinstance(lic, str) else None
        base_key = ("without-license", sig[1:])
        base = self.cache.get(base_key)
        bare_model = None
        if base is None:
            bare = dict(obj)
            bare.pop("license", None)
            bare_model = Record.from_json(bare)
            d = self._resolve_model(bare_model)
            if d is None:
                return self._mismatch(obj, lineno)
            base = self.entry_for(d, bare)
            base.license_free = d.outcome not in (ALLOWED, CONSTRAINED)
            self.cache.put(base_key, base)
            if not base.license_free:  # it is also the answer for the class of no license
                self.cache.put(self.class_key(None, sig[1:]), base)
        if base.license_free:
            e = self._entry(base.outcome, base.obligations, base.reason, base.signal, iri)
        else:
            # The answer with the license is worked out once per class of licenses the resolver cannot tell apart
            # (license_class), then given each license's own label.
            class_key = self.class_key(iri, sig[1:])
            e = self.cache.get(class_key)
            if e is None:
                # the record's model is the one without the license, with the license put back
                model = Record.from_json(obj) if bare_model is None else replace(bare_model, license=lic)
                d = self._resolve_model(model)
                if d is None:
                    return self._mismatch(obj, lineno)
                e = self.entry_for(d, obj)
                self.cache.put(class_key, e)
            elif e.license != self._label(iri):
                e = self._entry(e.outcome, e.obligations, e.reason, e.signal, iri)
        self.cache.put(sig, e)
        return e

    def not_resolved(self, sig: tuple[Any, ...], lineno: int) -> None:
        """req-invalid-rows: the issue of a record the strict check proves invalid (``sig``: INVALID_MARK, code,
        text), on its line."""
        self.issue(RECORD_NOT_RESOLVED, f"invalid record ({sig[1]}: {sig[2]}); outcome unspecified", lineno)

    def class_key(self, iri: str | None, rest: Any) -> tuple[Any, ...]:
        """The cache key of the answer for a signature without its license (``rest``) under the class of ``iri``."""
        return ("license-class", self.license_class(iri), rest)

    def license_class(self, iri: str | None) -> tuple[Any, ...]:
        """req-fast-path: the resolver's class of a license for the query (Resolver.license_class): two licenses of
        one class give one outcome, obligations, reason code and signal for the same statements."""
        got = self._license_classes.get(iri)
        if got is None:
            got = self.resolver.license_class(iri, self.query)
            if len(self._license_classes) >= 4096:  # bounded: license IRIs come from the input
                self._license_classes.clear()
            self._license_classes[iri] = got
        return got

    def _resolve_model(self, model: Any) -> Decision | None:
        """The reference resolver on a record the strict check found valid (as a model: the schema layer is what
        the strict check is); None when the resolver finds it invalid after all."""
        self.stats.misses += 1
        d = self.resolver.resolve(model, self.query)
        if any(w.code == RECORD_INVALID_CODE for w in d.warnings):
            return None
        return d

    def _mismatch(self, obj: Any, lineno: int) -> Entry:
        # The strict check accepted a record the reference rejects: answer as the reference does, and say so.
        self.stats.mismatches += 1
        d = self.resolver.resolve(obj, self.query)
        return self._invalid(d, lineno, obj) if any(w.code == RECORD_INVALID_CODE for w in d.warnings) \
            else self.entry_for(d, obj)

    def decide_full(self, raw: bytes, lineno: int) -> tuple[Entry, Any] | None:
        """The full path for a line the fast path does not sign: parse (any JSON-LD form), validate, resolve.
        Returns None for a blank line."""
        from aiterms import parse

        if not raw.strip():
            return None
        self.stats.full += 1
        doc = parse.parse_jsonl_line(raw, lineno)
        if not doc.usable or not isinstance(doc.value, dict):
            first = next((i for i in doc.issues if i.severity is Severity.ERROR), None)
            why = first.message if first else "not a JSON object"
            self.issue(MANIFEST_ROW_INVALID, f"not a record: {why}", lineno, first.path if first else "")
            return self.invalid_entry(), None
        value = doc.value
        stale = [k for k in ANNOTATION_FIELDS if k in value]
        for k in stale:  # re-annotating an annotated file: the old annotations are not part of the record
            del value[k]
        d = self.resolver.resolve(value, self.query)
        if any(w.code == RECORD_INVALID_CODE for w in d.warnings):
            return self._invalid(d, lineno, value), value
        return self.entry_for(d, value), value

    def _invalid(self, d: Decision, lineno: int, obj: Any) -> Entry:
        err = next((w for w in d.warnings if w.code != RECORD_INVALID_CODE and w.severity is Severity.ERROR),
                   None) or next((w for w in d.warnings if w.code != RECORD_INVALID_CODE), None)
        what = f"{err.code} at {err.path or '/'}: {err.message}" if err else "the record is invalid"
        self.issue(RECORD_NOT_RESOLVED, f"invalid record ({what}); outcome unspecified", lineno,
                   err.path if err else "")
        lic = obj.get("license") if isinstance(obj, dict) else None
        return self.invalid_entry(lic if isinstance(lic, str) else None)

    # -- JSON Lines --------------------------------------------------------------------------------------------

    def jsonl_block(self, first_line: int, block: bytes, *, counts: bool = True) -> tuple[Output, Stats]:
        """req-annotate: annotate (or filter) one block of whole JSON lines; returns the output (bytes, or a view of
        the compiled kernel's buffer, handed over) and the block's statistics. With ``counts`` false, the counts by
        outcome of the lines the compiled kernel answered are left out, for :meth:`add_counts` to give for many
        blocks at once (they are a few hundred entries a block, and cost more to count block by block)."""
        was = gc.isenabled()
        gc.disable()  # records hold no reference cycles; the collector would only rescan them
        try:
            if self.kernel is not None:
                return self.kernel.block(first_line, block, counts=counts)
            lines = block.split(b"\n")
            if lines and not lines[-1]:
                lines.pop()
            out = self._jsonl_lines(first_line, lines)
        finally:
            if was:
                gc.enable()
        return out, self.flush()

    def add_counts(self, st: Stats) -> None:
        """Add to ``st`` the counts jsonl_block left out (``counts=False``) since the last call."""
        if self.kernel is not None:
            self.kernel.add_counts(st)

    def _jsonl_lines(self, first_line: int, lines: list[bytes]) -> bytes:
        st = self.stats
        keep = self.keep
        annotate_kept = self.opts.annotate_filtered
        joined = self._join_jsonl(lines) if self.store is not None else None
        signing = joined if joined is not None else lines
        sigs = self.signer.sign_lines(signing)
        out: list[bytes] = []
        append = out.append
        count = self.count
        get = self.cache.get
        touched = self._touched
        lineno = first_line - 1
        signed = rows = kept = 0
        for line, sig, signed_line in zip(lines, sigs, signing, strict=True):
            lineno += 1
            if sig is not None:
                e = get(sig)
                if e is None:
                    e = self.decide_signed(sig, signed_line, lineno)
                signed += 1
                if e.reason != INVALID and line[-1:] == b"}" and line[:1] == b"{":
                    # The common case, inline: a signed record (one JSON object on its line) with a valid answer.
                    if e.count == 0:
                        touched.append(e)
                    e.count += 1
                    if keep is None:
                        append(line[:-1] + e.suffix)
                    elif e.keep:
                        kept += 1
                        append(line[:-1] + e.suffix if annotate_kept else line)
                    continue
                rows += 1  # the other rows are counted below
                body = line
            else:
                got = self.decide_full(signed_line, lineno)
                if got is None:  # blank line
                    if keep is None:
                        append(line)
                    continue
                e = got[0]
                body = line
                if e.reason == INVALID and not _is_json_object(line):
                    body = b""  # never splice fields into text that is not a JSON object: wrap it below
                elif b'"aiterms_' in line:
                    body = _without_annotations(line)
            st.rows += 1
            count(e)
            if e.reason == INVALID:
                st.invalid += 1
            if body[-1:] != b"}":
                body = body.rstrip()
            if body[:1] != b"{" and e.reason != INVALID:
                # a record after a byte order mark or blanks: write the record itself, never wrapped as text
                body = body.removeprefix(b"\xef\xbb\xbf").lstrip()
            if not body:
                body = line if keep is not None else b""
            if keep is None:
                if len(body) > 2 and body[-1:] == b"}" and body[:1] == b"{" and body[1:-1].strip():
                    append(body[:-1] + e.suffix)
                elif body[:1] == b"{" and body[-1:] == b"}":  # an empty object, blanks inside or not
                    append(b"{" + e.suffix[1:])
                else:  # not a JSON object: the annotations and the line as it was
                    append(b'{"aiterms_line":' + orjson.dumps(line.decode("utf-8", "replace")) + e.suffix)
            elif e.keep:
                st.kept += 1
                append(body[:-1] + e.suffix if annotate_kept and body[-1:] == b"}" else body)
        st.signed += signed
        st.rows += signed - rows  # the signed rows answered inline
        st.kept += kept
        if not out:
            return b""
        return b"\n".join(out) + b"\n"

    def _join_jsonl(self, lines: list[bytes]) -> list[bytes]:
        """req-store-join: each record with the store's statements about its keys added (the line itself when the
        store has none)."""
        recs: list[Any] = []
        keys: list[list[tuple[str, str]]] = []
        for line in lines:
            try:
                obj = orjson.loads(line) if line.strip() else None
            except orjson.JSONDecodeError:
                obj = None
            recs.append(obj)
            keys.append(K.lookup_keys_of_record(obj) if isinstance(obj, dict) else [])
        found = self.store.lookup_many(keys)
        out = []
        for line, obj, (decls, tags) in zip(lines, recs, found, strict=True):
            if (not decls and not tags) or not isinstance(obj, dict):
                out.append(line)
                continue
            self.stats.joined += 1
            merged = dict(obj)
            if decls:
                merged["declarations"] = [*(obj.get("declarations") or []), *decls] if isinstance(
                    obj.get("declarations"), list | type(None)) else obj.get("declarations")
            if tags:
                old = obj.get("tags")
                if isinstance(old, list | type(None)):
                    merged["tags"] = [*(old or []), *(t for t in tags if t not in (old or []))]
            out.append(orjson.dumps(merged))
        return out

    # -- manifest rows -----------------------------------------------------------------------------------------

    def rows(self, first_line: int, rows: Sequence[dict[str, str] | None],
             joined: Sequence[tuple[list[Any], list[str]]] | None = None) -> tuple[list[Entry], Stats]:
        """req-annotate: one entry per manifest row (``None`` is a row that could not be read; it was
        reported by the reader and counts as invalid). ``joined``: each row's store statements (declarations,
        tags) when they were joined elsewhere (Spark); else they come from the worker's store, if any."""
        was = gc.isenabled()
        gc.disable()
        try:
            entries = self._rows(first_line, rows, joined)
        finally:
            if was:
                gc.enable()
        return entries, self.flush()

    def _rows(self, first_line: int, rows: Sequence[dict[str, str] | None],
              joined: Sequence[tuple[list[Any], list[str]]] | None = None) -> list[Entry]:
        st = self.stats
        cm = self.opts.columns
        built: list[tuple[dict[str, Any], list[tuple[str, str]]] | None] = []
        for i, row in enumerate(rows):
            if row is None:
                built.append(None)
                continue
            built.append(self.record_of_row(row, cm, first_line + i))
        found = joined
        if found is None and self.store is not None:
            found = self.store.lookup_many([b[1] if b is not None else [] for b in built])
        if found is not None:
            for b, (decls, tags) in zip(built, found, strict=True):
                if b is None or not (decls or tags):
                    continue
                st.joined += 1
                rec = b[0]
                if decls:
                    rec["declarations"] = decls
                if tags:
                    rec["tags"] = [*rec.get("tags", ()), *(t for t in tags if t not in rec.get("tags", ()))]
        lines = [orjson.dumps(b[0]) if b is not None else b"" for b in built]
        sigs = self.signer.sign_lines(lines)
        entries: list[Entry] = []
        for i, (b, line, sig) in enumerate(zip(built, lines, sigs, strict=True)):
            lineno = first_line + i
            st.rows += 1
            if b is None:
                e = self.invalid_entry()
            elif sig is not None:
                st.signed += 1
                e = self.cache.get(sig) or self.decide_signed(sig, line, lineno)
            else:
                got = self.decide_full(line, lineno)
                e = got[0] if got is not None else self.invalid_entry()
            if e.reason == INVALID:
                st.invalid += 1
            if e.keep:
                st.kept += 1
            self.count(e)
            entries.append(e)
        return entries

    def record_of_row(self, row: dict[str, str], cm: ColumnMap,
                      lineno: int) -> tuple[dict[str, Any], list[tuple[str, str]]]:
        """req-row-record: the canonical record a manifest row stands for (owner, license, tags, depicted persons;
        ids are kept out: they decide nothing) and the keys it is looked up by in the store."""
        platform = cm.platform
        rec: dict[str, Any] = {"@context": CONTEXT_IRI, "type": "ImageRecord"}
        rid = (row.get("id") or "").strip()
        url = (row.get("url") or "").strip()
        asset = K.normalize_url(rid) if rid.startswith(("http://", "https://")) else (rid or None)
        url_key = K.normalize_url(url) if url else None
        photo = K.photo_key(row.get("photo_id") or "", platform) if row.get("photo_id") else None
        photo = photo or (K.flickr_photo_from_url(rid) if rid else None) or (
            K.flickr_photo_from_url(url) if url else None)
        owner_raw = (row.get("owner") or "").strip()
        owner = K.account_key(owner_raw, platform) if owner_raw else None
        if owner_raw and owner is None:
            self.issue(MANIFEST_VALUE_IGNORED, f"owner {owner_raw!r} is not an account id; give --platform", lineno,
                       "/owner")
        owner = owner or (K.flickr_owner_from_url(rid) if rid else None)
        if owner:
            rec["owner"] = owner
        lic = self._license_of(row.get("license"), lineno)
        if lic:
            rec["license"] = lic
        tags = _split_tags(row.get("tags"), cm)
        if tags:
            rec["tags"] = tags
        dp = (row.get("depicted") or "").strip()
        if dp:
            if dp.isdigit():
                rec["depictedPersons"] = int(dp)
            elif dp.lower() == "unknown":
                rec["depictedPersons"] = "unknown"
            else:
                self.issue(MANIFEST_VALUE_IGNORED, f"depicted persons {dp!r} is neither a count nor 'unknown'",
                           lineno, "/depicted")
        h = (row.get("hash") or "").strip()
        hash_key = K.normalize_hash(h) if h else None
        keys = K.lookup_keys(asset=asset, url=url_key, photo=photo, owner=owner, hash=hash_key)
        return rec, keys

    def _license_of(self, value: str | None, lineno: int) -> str | None:
        v = (value or "").strip()
        if not v or v.lower() in ("?", "none", "null", "nan", "all rights reserved", "unknown"):
            return None
        if v.isdigit():
            from aiterms.licenses import flickr_license

            return flickr_license(v)
        if v.startswith(("http://", "https://")) or (":" in v and " " not in v):
            return v
        self.issue(MANIFEST_VALUE_IGNORED, f"license {v!r} is not a license IRI or a Flickr license id; no license "
                   "terms are read", lineno, "/license")
        return None


def _license_of_line(line: bytes) -> str | None:
    try:
        lic = orjson.loads(line).get("license")
    except (orjson.JSONDecodeError, AttributeError):
        return None
    return lic if isinstance(lic, str) else None


def _without_annotations(line: bytes) -> bytes:
    """A JSON object line without the annotation members of an earlier run (re-annotating an annotated file)."""
    try:
        obj = orjson.loads(line)
    except orjson.JSONDecodeError:
        return line
    if not isinstance(obj, dict):
        return line
    for k in ANNOTATION_FIELDS:
        obj.pop(k, None)
    return orjson.dumps(obj)


def _split_tags(value: str | None, cm: ColumnMap) -> list[str]:
    if not value:
        return []
    parts = value.split(cm.tag_separator) if cm.tag_separator else [value]
    if cm.tags_encoding == "url":
        from urllib.parse import unquote_plus

        parts = [unquote_plus(p) for p in parts]
    out: list[str] = []
    for part in parts:
        p = part.strip()
        if p and p not in out:
            out.append(p)
    return out


def _is_json_object(line: bytes) -> bool:
    """True when ``line`` is one JSON object (checked only on the rare invalid-record path)."""
    try:
        return isinstance(orjson.loads(line), dict)
    except (orjson.JSONDecodeError, ValueError):
        return False
