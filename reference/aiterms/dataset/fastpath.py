"""The fast path (spec/dataset.md#fast-path): policy signatures and a cache of reference decisions.

A decision depends on far less than a whole record. For one query, the resolver (spec/resolution.md) reads the
license, the registered tags, the number of depicted persons, and the statements whose use is related to the
query's use; it compares parties only for equality and dates only with the date of use and with each other. The
**policy signature** of a record keeps exactly that, abstracted:

* ids, URLs, hashes, names and raw source values are dropped (they are checked, not kept);
* party ids become numbers in order of appearance, the owner first (so "the same party", and "the owner's tags
  and the owner's declaration", survive, and nothing else of an id does);
* a declaration's dates become "in force at the date of use or not" and, among the declarations of one party,
  the rank of its order date (``issued``, else ``effectiveFrom``); a rule's dates become "in force or not" and
  "has its own time window" (spec/resolution.md#alg-in-force, #alg-supersede, #alg-specificity);
* rules and consent entries on uses that cannot matter for the queried use are left out: kept are those whose use
  covers the queried use or a narrower one (and so every statement that could supersede one of them);
* rules that do not match the query (spec/resolution.md#alg-match) are left out once supersession has run: they
  never decide, they can only supersede;
* unregistered tags are left out, and registered tags whose rules cannot matter; ``depictedPersons`` is kept only
  when a biometric use can be decided.

The reference resolver answers the first record of each signature; the answer is cached (a bounded map) and reused for
every later record with the same signature.

A line is signed only when it is a record in canonical compact form that passes a strict check implying validity:
msgspec decodes it into typed structs (the record schema's structure, types, required members, no unknown members,
closed vocabularies as literal types, counts and lengths -- in C), then Python checks what msgspec cannot: the
schema's string patterns (column-wise over a batch of lines, one regular expression per kind of string), calendar
dates, distinct array items, the time order of declarations and rules, consent only by depicted persons, and --
for a record in which one party both permits and prohibits a use -- the validator's contradiction check.
Anything else gets no signature and goes the full path (parse, validate, resolve). On every cache miss the
resolver validates the record again, so a record the strict check wrongly accepted shows up as a ``mismatch`` in
the statistics (the tests assert there is none).
"""

from __future__ import annotations

import re
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from operator import itemgetter
from typing import Annotated, Any, Literal

import msgspec
from msgspec import UNSET, Meta, UnsetType, field

from aiterms.model import Query, parse_instant
from aiterms.vocab import Registry, Vocabulary

#: Records whose JSON text is longer than this are not signed: no string of a shorter record can exceed the
#: string-length limit (spec/security.md#limits-table), so the fast path need not measure every string.
MAX_SIGNED_LINE = 8192
MAX_ITEMS = 1000  # declarations per record, rules and consent entries per declaration, tags per record

# The record schema's patterns (schemas/record.schema.json, declaration.schema.json). The *_ASCII forms accept the
# printable-ASCII subset of each pattern (bitmap character classes, fast); a batch that fails them is checked
# string by string with the schema's own pattern.
_IRI = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:[^\s<>\"{}|\\^`]+$")
_IRI_ASCII = r"[A-Za-z][A-Za-z0-9+.-]*:[!#-;=?-\[\]_a-z~]+"
_URL = re.compile(r"^[Hh][Tt][Tt][Pp][Ss]?://\S+$")
_URL_ASCII = r"[Hh][Tt][Tt][Pp][Ss]?://[!-~]+"
_HASH = re.compile(r"^(sha256:[0-9a-f]{64}|sha384:[0-9a-f]{96}|sha512:[0-9a-f]{128})$")
_HASH_ASCII = r"(?:sha256:[0-9a-f]{64}|sha384:[0-9a-f]{96}|sha512:[0-9a-f]{128})"
_DATE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}"
                   r"([Tt][0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?([Zz]|[+-][0-9]{2}:[0-9]{2}))?$")
# Dates of the two common forms whose calendar validity is the validity of their day: "YYYY-MM-DD" and
# "YYYY-MM-DDThh:mm:ssZ" with a valid clock time.
_DATE_ASCII = r"[0-9]{4}-[0-9]{2}-[0-9]{2}(?:T(?:[01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9]Z)?"
_JURISDICTION = re.compile(r"^(EU|[A-Z]{2}(-[A-Z0-9]{1,3})?)$")
_SIGNAL = re.compile(r"^[a-z][a-z0-9.-]*$")


def _many(one: str) -> re.Pattern[str]:
    return re.compile(rf"(?:{one}\n)*{one}")


_IRIS, _URLS, _HASHES, _DATES = _many(_IRI_ASCII), _many(_URL_ASCII), _many(_HASH_ASCII), _many(_DATE_ASCII)
_SINGLE = {"iri": _IRI, "url": _URL, "hash": _HASH}
_BAD: Any = object()
#: "Signatures" of records the strict check proves invalid, whose answer needs no resolver: one party permits and
#: prohibits the same use with the same scope (spec/validation.md#req-no-contradiction, an error), or a declaration
#: ends before it starts (its until is not after its issued or effectiveFrom date; the resolver does not resolve such
#: a record, spec/resolution.md#alg-in-force).
INVALID_MARK: Any = object()
CONTRADICTORY: tuple[Any, ...] = (INVALID_MARK, "contradictory-rules",
                                  "one party permits and prohibits the same use with the same scope")
EMPTY_WINDOW: tuple[Any, ...] = (INVALID_MARK, "until-before-start", "a declaration ends before it starts")
_FIRST_10 = itemgetter(slice(0, 10))
_MEMO_LIMIT = 100_000


# ---------------------------------------------------------------------------------------------------------------
# Typed structs of a canonical record (schemas/record.schema.json, declaration.schema.json), without patterns


def _literal(values: Iterable[str]) -> Any:
    return Literal.__getitem__(tuple(sorted(values)))


def build_types(vocab: Vocabulary) -> tuple[Any, Any, Any]:
    """The msgspec decoders of canonical records, of a declaration's rules and of its consent entries, for one
    vocabulary (closed term sets become literal types)."""
    Use = _literal(vocab.ids("use"))
    Purpose = _literal(vocab.ids("purpose"))
    Actor = _literal(vocab.ids("actor"))
    Duty = _literal(vocab.ids("obligation"))
    Role = _literal(vocab.ids("role") or ("rights-holder", "depicted-person", "platform", "dataset-curator"))
    Status = _literal(vocab.ids("consent-status") or ("given", "refused", "unknown"))
    Text1k = Annotated[str, Meta(max_length=1024)]
    Id2k = Annotated[str, Meta(max_length=2048)]

    def opt(t: Any) -> Any:
        return t | UnsetType

    def some(t: Any) -> Any:  # a non-empty array of t
        return Annotated[tuple[t, ...], Meta(min_length=1)]

    def upto(t: Any) -> Any:
        return Annotated[tuple[t, ...], Meta(max_length=MAX_ITEMS)]

    def struct(name: str, fields: list[Any], frozen: bool = False) -> Any:
        return msgspec.defstruct(name, fields, forbid_unknown_fields=True, frozen=frozen)

    rule = struct("Rule", [
        ("effect", Literal["permit", "prohibit"]), ("use", Use),
        ("purpose", opt(some(Purpose)), UNSET), ("actor", opt(some(Actor)), UNSET),
        ("jurisdiction", opt(some(str)), UNSET), ("start", opt(str), field(default=UNSET, name="from")),
        ("until", opt(str), UNSET), ("duties", opt(some(Duty)), UNSET)], frozen=True)
    consent = struct("Consent", [("use", Use), ("status", Status)], frozen=True)
    party = struct("Party", [("role", Role), ("id", opt(Id2k), UNSET), ("name", opt(Text1k), UNSET)])
    source = struct("Source", [
        ("signal", Annotated[str, Meta(max_length=64)]), ("version", opt(Annotated[str, Meta(max_length=256)]), UNSET),
        ("location", opt(Id2k), UNSET), ("raw", opt(Annotated[str, Meta(max_length=8192)]), UNSET),
        ("observed", opt(str), UNSET)])
    declaration = struct("Declaration", [
        ("declaredBy", party), ("id", opt(str), UNSET), ("issued", opt(str), UNSET),
        ("effectiveFrom", opt(str), UNSET), ("until", opt(str), UNSET),
        # Rules and consent stay JSON text here: they repeat across records, and are decoded (and checked) once per
        # distinct text, when they are first met (Signer._declarations).
        ("rules", opt(msgspec.Raw), UNSET), ("consent", opt(msgspec.Raw), UNSET), ("source", opt(source), UNSET)])
    record = struct("ImageRecord", [
        ("context", Literal["https://w3id.org/aiterms/context/v1.jsonld"], field(name="@context")),
        ("type", Literal["ImageRecord"]), ("id", opt(str), UNSET), ("contentUrl", opt(str), UNSET),
        ("contentHash", opt(str), UNSET), ("creator", opt(some(Id2k)), UNSET), ("owner", opt(Id2k), UNSET),
        ("license", opt(str), UNSET), ("tags", opt(upto(Text1k)), UNSET),
        ("depictedPersons", Annotated[int, Meta(ge=0)] | Literal["unknown"] | UnsetType, UNSET),
        ("declarations", opt(upto(declaration)), UNSET)])
    return msgspec.json.Decoder(record), msgspec.json.Decoder(upto(rule)), msgspec.json.Decoder(upto(consent))


# ---------------------------------------------------------------------------------------------------------------
# Cached answers


@dataclass(slots=True)
class Entry:
    """One cached answer: what annotate writes and counts for every record with this signature."""

    outcome: str
    obligations: tuple[str, ...]
    reason: str
    signal: str
    license: str
    suffix: bytes = b""  # the JSON members annotate appends to a JSON Lines record
    keep: bool = False  # whether filter keeps the record
    count: int = 0  # records answered with this entry since the last statistics flush
    license_free: bool = False  # (an answer computed without the license) the license cannot change it


class DecisionCache:
    """A bounded map from signatures to entries; when full, the oldest entry goes first (first in, first out: a
    lookup costs one dict probe, and a dataset has far fewer signatures than the bound). Entries pushed out while
    they still hold uncounted records are kept in ``evicted`` until the caller flushes its statistics."""

    def __init__(self, size: int = 65536) -> None:
        self.size = size
        self._data: OrderedDict[Any, Entry] = OrderedDict()
        self.evicted: list[Entry] = []
        self.get = self._data.get  # the hot lookup, bound once

    def put(self, key: Any, entry: Entry) -> None:
        self._data[key] = entry
        if len(self._data) > self.size:
            _, old = self._data.popitem(last=False)
            if old.count:
                self.evicted.append(old)

    def entries(self) -> Iterable[Entry]:
        return self._data.values()

    def __len__(self) -> int:
        return len(self._data)


# ---------------------------------------------------------------------------------------------------------------
# Signatures


class _Batch:
    """Strings of one batch waiting for their pattern check, by kind."""

    __slots__ = ("accounts", "dates", "hashes", "iris", "urls")

    def __init__(self) -> None:
        self.iris: list[str] = []
        self.urls: list[str] = []
        self.hashes: list[str] = []
        self.accounts: list[str] = []
        self.dates: list[str] = []


class Signer:
    """Computes policy signatures for one query (spec/dataset.md#req-policy-signature)."""

    def __init__(self, query: Query, *, vocabulary: Vocabulary | None = None, registry: Registry | None = None,
                 resolver: Any = None) -> None:
        if resolver is None:
            from aiterms.resolution import Resolver

            resolver = Resolver(vocabulary, registry=registry) if vocabulary is not None else Resolver(
                registry=registry)
        vocab = resolver.vocabulary
        self.registry = resolver.registry
        self.jurisdictions = resolver.jurisdictions
        prep = resolver.prepare(query)
        self._q_purposes: frozenset[str] = prep.purposes
        self._q_actors: frozenset[str] = prep.actors
        self._q_area: Any = prep.area
        self._q_purpose_given = query.purpose is not None
        self._q_actor_given = query.actor is not None
        if query.at is None:
            raise ValueError("the fast path needs the date of use fixed (query.at)")
        at = self._datekey_slow(query.at)
        if at is _BAD:
            raise ValueError(f"not an RFC 3339 date or date-time: {query.at!r}")
        self.at_key: str = at
        self.decoder, self._rules_decoder, self._consent_decoder = build_types(vocab)
        uses = vocab.uses
        q = query.use
        if q in uses:
            relevant: set[str] = set()
            for d in vocab.descendants(q):
                relevant |= vocab.ancestors(d)
            self.relevant = frozenset(relevant)
            self.biometric = any(vocab.is_biometric(d) for d in vocab.descendants(q))
        else:  # an unknown query use: keep everything (the resolver answers the query error)
            self.relevant = frozenset(uses)
            self.biometric = True
        self._relevant_tags = {
            tag_id: any(str(r.get("use")) in self.relevant or str(r.get("use")) not in uses for r in entry.rules)
            for tag_id, entry in self.registry.entries.items()
        }
        # raw tag -> registered id that matters, or 0 (a tag that does not act); the raw tags that are not 0
        self._tag_class: dict[str, Any] = {}
        self._tags_interesting: set[str] = set()
        self._days: dict[str, bool] = {}
        self._slow_dates: dict[str, Any] = {}
        self._accounts: dict[str, bool] = {}
        self._singles: dict[tuple[str, str], bool] = {}
        self._jurisdictions: dict[str, bool] = {}
        self._signals: dict[str, bool] = {}
        self._rules_memo: dict[Any, Any] = {}
        self._consent_memo: dict[Any, Any] = {}
        self._match_memo: dict[Any, bool] = {}
        self._single_memo: dict[Any, tuple[Any, ...]] = {}
        self._ancestors = {u: vocab.ancestors(u) for u in uses}

    # -- dates ---------------------------------------------------------------------------------------------------

    def _datekey_slow(self, value: str) -> Any:
        """The comparison key of any schema-valid, calendar-valid date or date-time: the instant as naive UTC ISO
        text (comparing keys compares instants), else ``_BAD``."""
        if not _DATE.match(value):
            return _BAD
        try:
            dt = parse_instant(value)
        except (ValueError, OverflowError):
            return _BAD
        return dt.replace(tzinfo=None).isoformat()

    def _datekey(self, value: str) -> Any:
        """The key of a date whose form was already checked in a batch (or ``_BAD``)."""
        n = len(value)
        if n == 20 and value[19] == "Z" and value[10] == "T":
            return value[:19]
        if n == 10:
            return value + "T00:00:00"
        got = self._slow_dates.get(value)
        if got is None:
            if len(self._slow_dates) > _MEMO_LIMIT:
                self._slow_dates.clear()
            got = self._slow_dates[value] = self._datekey_slow(value)
        return got

    def _days_ok(self, dates: Sequence[str]) -> bool:
        days = self._days
        for day in set(map(_FIRST_10, dates)):
            ok = days.get(day)
            if ok is None:
                try:
                    date.fromisoformat(day)
                    ok = True
                except ValueError:
                    ok = False
                if len(days) > _MEMO_LIMIT:
                    days.clear()
                days[day] = ok
            if not ok:
                return False
        return True

    # -- batches -------------------------------------------------------------------------------------------------

    def sign_lines(self, lines: Sequence[bytes]) -> list[tuple[Any, ...] | None]:
        """req-policy-signature: the signature of each JSON line, or None for a line that takes the full path."""
        decode = self.decoder.decode
        recs: list[Any] = []
        for line in lines:
            if len(line) > MAX_SIGNED_LINE or (not line.isascii() and not _is_utf8(line)):
                # msgspec does not look inside the parts it keeps raw (rules, consent): a line that is not UTF-8
                # as a whole goes the full path, which reports it
                recs.append(None)
                continue
            try:
                recs.append(decode(line))
            except (msgspec.ValidationError, msgspec.DecodeError, UnicodeDecodeError):
                recs.append(None)  # the full path reports it (invalid UTF-8 is a coded issue there, not a crash)
        batch = _Batch()
        sigs = [None if r is None else self._sign(r, batch, line) for r, line in zip(recs, lines, strict=True)]
        if self._batch_ok(batch):
            return sigs
        # Some string failed the fast patterns: check the batch record by record with the schema's own patterns.
        out: list[tuple[Any, ...] | None] = []
        for r, line, sig in zip(recs, lines, sigs, strict=True):
            if sig is None or r is None:
                out.append(None)
                continue
            one = _Batch()
            again = self._sign(r, one, line)
            out.append(again if again is not None and self._batch_ok(one, exact=True) else None)
        return out

    def sign_line(self, line: bytes) -> tuple[Any, ...] | None:
        """The signature of one JSON line (see :meth:`sign_lines`)."""
        return self.sign_lines([line])[0]

    def sign_alone(self, line: bytes) -> tuple[Any, frozenset[str] | None, frozenset[str] | None] | None:
        """For a record (``line``) holding one declaration and nothing else that matters: the declarations part of
        its signature, and the uses that declaration's rules permit and prohibit (None for the sets when the rules
        were forgotten meanwhile); None when the record is not signed, or is invalid."""
        try:
            r = self.decoder.decode(line)
        except (msgspec.ValidationError, msgspec.DecodeError, UnicodeDecodeError):
            return None
        decls = r.declarations
        if decls is UNSET or len(decls) != 1:
            return None
        b = _Batch()
        sig = self._declarations(decls, None, b, line, deciding=False)
        if sig is None or (sig and sig[0] is INVALID_MARK) or not self._batch_ok(b, exact=True):
            return None
        rules = decls[0].rules
        if rules is UNSET:
            return sig, frozenset(), frozenset()
        info = self._rules_memo.get(bytes(rules))
        if info is None or info is _BAD:
            return sig, None, None
        return sig, info[1], info[2]

    def _batch_ok(self, b: _Batch, *, exact: bool = False) -> bool:
        for values, many, kind in ((b.iris, _IRIS, "iri"), (b.urls, _URLS, "url"), (b.hashes, _HASHES, "hash")):
            if values and many.fullmatch("\n".join(values)) is None:
                if not exact:
                    return False
                if not all(self._single(kind, v) for v in values):
                    return False
        if b.accounts:
            if _IRIS.fullmatch("\n".join(b.accounts)) is None:
                if not exact:
                    return False
                for v in b.accounts:
                    if not self._single("iri", v):
                        return False
            for v in b.accounts:
                if len(self._accounts) > _MEMO_LIMIT:
                    self._accounts.clear()
                self._accounts[v] = True
        if b.dates:
            fast = _DATES.fullmatch("\n".join(b.dates)) is not None
            if fast:
                return self._days_ok(b.dates)
            if not exact:
                return False
            for v in b.dates:
                if self._datekey(v) is _BAD or not _DATE.match(v) or not self._days_ok([v]):
                    return False
        return True

    def _single(self, kind: str, value: str) -> bool:
        key = (kind, value)
        ok = self._singles.get(key)
        if ok is None:
            if len(self._singles) > _MEMO_LIMIT:
                self._singles.clear()
            ok = self._singles[key] = _SINGLE[kind].match(value) is not None
        return ok

    # -- one record ----------------------------------------------------------------------------------------------

    def _sign(self, r: Any, b: _Batch, line: bytes) -> tuple[Any, ...] | None:
        v = r.id
        if v is not UNSET:
            b.iris.append(v)
        v = r.contentUrl
        if v is not UNSET:
            b.urls.append(v)
        v = r.contentHash
        if v is not UNSET:
            b.hashes.append(v)
        accounts = self._accounts
        owner = r.owner
        if owner is not UNSET:
            if owner not in accounts:
                b.accounts.append(owner)
        else:
            owner = None
        creators = r.creator
        if creators is not UNSET:
            for c in creators:
                if c not in accounts:
                    b.accounts.append(c)
            if len(creators) > 1 and len(set(creators)) != len(creators):
                return None
        lic = r.license
        if lic is UNSET:
            lic = None
        elif not self._single("iri", lic):
            return None
        tags = r.tags
        tag_sig: Any = ()
        if tags is not UNSET and tags and (not self._tags_interesting.isdisjoint(tags)
                                           or not all(map(self._tag_class.__contains__, tags))):
            tag_sig = self._tags(tags)
        dp = r.depictedPersons
        decls = r.declarations
        decl_sig: Any = ()
        if decls is not UNSET and decls:
            decl_sig = self._declarations(decls, owner, b, line)
            if decl_sig is None or (decl_sig and decl_sig[0] is INVALID_MARK):
                return decl_sig
        return (lic, tag_sig, (None if dp is UNSET else dp) if self.biometric else None, decl_sig)

    def _tags(self, tags: Sequence[str]) -> tuple[str, ...]:
        found: set[str] = set()
        for raw in tags:
            got = self._tag_class.get(raw)
            if got is None:
                got = self.tag_class(raw)
            if got != 0:
                found.add(str(got))
        return tuple(sorted(found))

    def tag_class(self, raw: str) -> Any:
        """The class of a raw tag in signatures: the id of the registered tag it matches when that tag's rules can
        matter for the query, else 0 (a tag that does not act on this query)."""
        got = self._tag_class.get(raw)
        if got is None:
            if len(self._tag_class) > _MEMO_LIMIT:
                self._tag_class.clear()
                self._tags_interesting.clear()
            m = self.registry.lookup(raw)
            got = m.entry.id if m.entry is not None and self._relevant_tags.get(m.entry.id, True) else 0
            self._tag_class[raw] = got
            if got != 0:
                self._tags_interesting.add(raw)
        return got

    def _declarations(self, decls: Sequence[Any], owner: str | None, b: _Batch, line: bytes, *,
                      deciding: bool = True) -> tuple[Any, ...] | None:
        """The declarations part of a signature (None: not signed; INVALID_MARK first: invalid). With ``deciding``
        (a record's signature), only the statements that can decide are kept once supersession has run: a rule that
        does not match the query (spec/resolution.md#alg-match) never enters steps 8 to 12, so it changes no outcome,
        obligation, reason code or signal; it can only supersede a statement of its party (#alg-supersede), which is
        applied first. Without it (a declaration alone, as the kernel's classes are: sign_alone), every statement is
        kept, for supersession between the declarations of a group (KernelRunner._learn_group)."""
        at = self.at_key
        accounts = self._accounts
        datekey = self._datekey
        dates = b.dates
        signals = self._signals
        rules_memo = self._rules_memo
        # The owner is party 0 even when absent (then no declaration is the owner's, as for the resolver).
        parties: dict[Any, int] = {owner: 0}
        kept: list[tuple[Any, ...]] = []
        with_rules: dict[int, list[Any]] | None = None
        contradiction = False
        for i, d in enumerate(decls):
            by = d.declaredBy
            pid = by.id
            if pid is not UNSET:
                if pid not in accounts:
                    b.accounts.append(pid)
                party = parties.setdefault(pid, len(parties))
            else:
                party = -1 - i  # a declaration without an id is a party of its own
            if d.id is not UNSET:
                b.iris.append(d.id)
            issued = d.issued
            eff = d.effectiveFrom
            until = d.until
            start: Any = None
            if issued is not UNSET:
                dates.append(issued)
                start = datekey(issued)
            else:
                issued = None
            if eff is not UNSET:
                dates.append(eff)
                k = datekey(eff)
                if k is _BAD:
                    return None
                if start is None or (start is not _BAD and k > start):
                    start = k
            else:
                eff = None
            if start is _BAD:
                return None
            if until is not UNSET:
                dates.append(until)
                until = datekey(until)
                if until is _BAD:
                    return None
                if start is not None and until <= start:
                    return EMPTY_WINDOW  # until-before-start (validator) / an empty window (resolver)
            else:
                until = None
            src = d.source
            signal = None
            if src is not UNSET:
                signal = src.signal
                ok = signals.get(signal)
                if ok is None:
                    ok = signals[signal] = _SIGNAL.match(signal) is not None
                if not ok:
                    return None
                if src.observed is not UNSET:
                    dates.append(src.observed)
            rules_sig: tuple[Any, ...] = ()
            rules = d.rules
            if rules is not UNSET:
                text = bytes(rules)
                info = rules_memo.get(text)
                if info is None:
                    if len(rules_memo) > _MEMO_LIMIT:
                        rules_memo.clear()
                    try:
                        info = self._rules_info(self._rules_decoder.decode(text))
                    except (msgspec.ValidationError, msgspec.DecodeError, UnicodeDecodeError):
                        info = _BAD
                    rules_memo[text] = info
                if info is _BAD:
                    return None
                rules_sig = info[0]
                if info[3]:
                    return CONTRADICTORY
                # A party permitting and prohibiting a use in two declarations may be a contradiction.
                if with_rules is None:
                    with_rules = {party: [info]}
                else:
                    earlier = with_rules.setdefault(party, [])
                    for other in earlier:
                        if not other[1].isdisjoint(info[2]) or not other[2].isdisjoint(info[1]):
                            contradiction = True
                    earlier.append(info)
            consent_sig: tuple[Any, ...] = ()
            consent = d.consent
            if consent is not UNSET:
                text = bytes(consent)
                csig = self._consent_memo.get(text)
                if csig is None:
                    if len(self._consent_memo) > _MEMO_LIMIT:
                        self._consent_memo.clear()
                    try:
                        entries = self._consent_decoder.decode(text)
                        csig = (bool(entries), tuple((c.use, c.status) for c in entries if c.use in self.relevant))
                    except (msgspec.ValidationError, msgspec.DecodeError, UnicodeDecodeError):
                        csig = _BAD
                    self._consent_memo[text] = csig
                if csig is _BAD or (csig[0] and by.role != "depicted-person"):
                    return None
                consent_sig = csig[1]
            # Statements not in force at the date of use are dropped before anything else reads them
            # (spec/resolution.md#alg-in-force): they do not enter the signature.
            if (rules_sig or consent_sig) and (start is None or start <= at) and (until is None or at < until):
                kept.append((by.role, party, issued if issued is not None else eff, signal, rules_sig, consent_sig))
        if contradiction and self._contradicts(decls):
            return CONTRADICTORY
        if not kept:
            return ()
        if len(kept) == 1:
            role, party, _order, signal, rules_sig, consent_sig = kept[0]
            key = (role, party == 0, signal, rules_sig, consent_sig, deciding)
            got = self._single_memo.get(key)
            if got is None:
                sig_ = signal or ""
                stmts = [(sig_, r) for r in rules_sig if not deciding or _decides(r)]
                stmts.extend((sig_, ("consent", *c)) for c in consent_sig)
                stmts.sort()
                if len(self._single_memo) > _MEMO_LIMIT:
                    self._single_memo.clear()
                got = self._single_memo[key] = ((role, party == 0, tuple(stmts)),) if stmts else ()
            return got
        # Canonical form. Supersession (spec/resolution.md#alg-supersede) is applied here, within each party:
        # after it, dates no longer matter. The resolver's answer does not depend on the order of declarations,
        # rules or consent entries (#req-resolve-order-independence), and other parties' ids only tell parties
        # apart, so each party becomes a sorted tuple of its statements (with the signal each came from), and the
        # parties a sorted tuple.
        groups: dict[tuple[str, int], list[tuple[Any, str, Any]]] = {}
        for role, party, order, signal, rules_sig, consent_sig in kept:
            when = None if order is None else datekey(order)
            members = groups.setdefault((role, party), [])
            sig_ = signal or ""
            members.extend((when, sig_, r) for r in rules_sig)
            members.extend((when, sig_, ("consent", *c)) for c in consent_sig)
        out = []
        ancestors = self._ancestors
        for (role, party), stated in groups.items():
            members = stated
            if party >= 0 and len({m[0] for m in stated if m[0] is not None}) > 1:
                members = [m for m in stated if m[0] is None or not any(
                    t[0] is not None and t[0] > m[0] and _use_of(t[2]) in ancestors[_use_of(m[2])] for t in stated)]
            deciders = tuple(sorted((m[1], m[2]) for m in members if not deciding or _decides(m[2])))
            if deciders:
                out.append((role, party == 0, deciders))
        out.sort()
        return tuple(out)

    def _start(self, issued: str | None, eff: str | None) -> Any:
        """The later of ``issued`` and ``effectiveFrom`` as a key (None when both are absent)."""
        a = None if issued is None else self._datekey(issued)
        c = None if eff is None else self._datekey(eff)
        if a is _BAD or c is _BAD:
            return _BAD
        if a is None:
            return c
        if c is None:
            return a
        return c if c > a else a

    def _rules_info(self, rules: Sequence[Any]) -> Any:
        """(signature of the relevant rules in force, the uses it permits, the uses it prohibits, whether two of its
        rules contradict each other), or ``_BAD``.

        A relevant rule becomes (effect, use, matches the query, constraint count, duties): its purpose, actor and
        jurisdiction lists are read by the resolver only to match the query (spec/resolution.md#alg-match) and to
        count its constrained dimensions (#alg-specificity), so that is all the signature keeps of them."""
        sig = []
        permits: set[str] = set()
        prohibits: set[str] = set()
        scopes: dict[tuple[Any, ...], str] = {}
        self_contradiction = False
        at = self.at_key
        for r in rules:
            for values in (r.purpose, r.actor, r.duties):
                if values is not UNSET and len(values) > 1 and len(set(values)) != len(values):
                    return _BAD
            juris = r.jurisdiction
            if juris is not UNSET:
                if len(juris) > 1 and len(set(juris)) != len(juris):
                    return _BAD
                for j in juris:
                    ok = self._jurisdictions.get(j)
                    if ok is None:
                        ok = self._jurisdictions[j] = _JURISDICTION.match(j) is not None
                    if not ok:
                        return _BAD
            rfrom = runtil = None
            if r.start is not UNSET:
                rfrom = self._datekey_slow(r.start)
                if rfrom is _BAD:
                    return _BAD
            if r.until is not UNSET:
                runtil = self._datekey_slow(r.until)
                if runtil is _BAD or (rfrom is not None and runtil <= rfrom):
                    return _BAD
            (permits if r.effect == "permit" else prohibits).add(r.use)
            # Within one declaration (one party, one window, one date) two rules contradict each other exactly when
            # they have the same use and scope and opposite effects (spec/validation.md#req-no-contradiction).
            scope = (r.use, *(frozenset(()) if x is UNSET else frozenset(x) for x in (r.purpose, r.actor, juris)),
                     rfrom, runtil)
            if scopes.setdefault(scope, r.effect) != r.effect:
                self_contradiction = True
            if r.use in self.relevant and (rfrom is None or rfrom <= at) and (runtil is None or at < runtil):
                windowed = rfrom is not None or runtil is not None
                constraints = (r.purpose is not UNSET) + (r.actor is not UNSET) + (juris is not UNSET) + windowed
                matched = self._matches(r.effect, _t(r.purpose), _t(r.actor), _t(juris))
                duties = r.duties if matched and r.duties is not UNSET else ()
                sig.append((r.effect, r.use, matched, constraints, duties))
        return tuple(sig), frozenset(permits), frozenset(prohibits), self_contradiction

    def _matches(self, effect: str, purpose: Any, actor: Any, juris: Any) -> bool:
        """spec/resolution.md#alg-match: whether a statement's constraints match the query (memoized)."""
        key = (effect, purpose, actor, juris)
        got = self._match_memo.get(key)
        if got is None:
            got = self._match_memo[key] = self._match_now(effect, purpose, actor, juris)
        return got

    def _match_now(self, effect: str, purpose: Any, actor: Any, juris: Any) -> bool:
        prohibit = effect == "prohibit"
        for values, given, up in ((purpose, self._q_purpose_given, self._q_purposes),
                                  (actor, self._q_actor_given, self._q_actors)):
            if not values:
                continue
            if not given:
                if not prohibit:
                    return False
            elif not up.intersection(values):
                return False
        if juris:
            area = self._q_area
            if area is None:
                return prohibit
            areas = [a for a in (self.jurisdictions.area(j) for j in juris) if a is not None]
            if prohibit:
                return any(area.overlaps(a) for a in areas)
            return any(area.within(a) for a in areas)
        return True

    def _contradicts(self, decls: Sequence[Any]) -> bool:
        """spec/validation.md#req-no-contradiction, as the validator checks it: one party permits and prohibits the
        same use with the same scope in declarations that are not ordered in time."""
        seen: dict[tuple[Any, ...], list[tuple[str, Any]]] = {}
        for di, d in enumerate(decls):
            by = d.declaredBy
            party = (by.role, by.id if by.id is not UNSET and by.id else ("#", di))
            issued = None if d.issued is UNSET else self._datekey(d.issued)
            eff = None if d.effectiveFrom is UNSET else self._datekey(d.effectiveFrom)
            order = issued if issued is not None else eff
            window = (eff, None if d.until is UNSET else self._datekey(d.until))
            for r in self._rules_decoder.decode(bytes(d.rules)) if d.rules is not UNSET else ():
                dims = tuple(frozenset(()) if x is UNSET else frozenset(x)
                             for x in (r.purpose, r.actor, r.jurisdiction))
                key = (party, r.use, *dims, *window, None if r.start is UNSET else self._datekey_slow(r.start),
                       None if r.until is UNSET else self._datekey_slow(r.until))
                earlier = seen.setdefault(key, [])
                for prev_effect, prev_order in earlier:
                    if prev_effect != r.effect and (order is None or prev_order is None or order == prev_order):
                        return True
                earlier.append((r.effect, order))
        return False


def _is_utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _decides(statement: tuple[Any, ...]) -> bool:
    """Whether a statement of a signature can decide: a consent entry, or a rule that matches the query (rules are
    (effect, use, matched, constraints, duties))."""
    return statement[0] == "consent" or bool(statement[2])


def _use_of(statement: tuple[Any, ...]) -> str:
    """The use of a statement of a signature: (effect, use, ...) for rules, ("consent", use, status)."""
    return str(statement[1])


def _t(v: Any) -> Any:
    return None if v is UNSET else v
