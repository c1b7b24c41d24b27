"""The compiled kernel in front of the Python fast path (spec/dataset.md#fast-path-key).

:mod:`aiterms.dataset._kernel` (C, built with the package when a compiler is present) computes a *record key* per
JSON line: the line with what cannot change the decision checked and dropped, and the rest reduced to classes this
module works out with the Python signer (tags, declaration bodies, a party's kept declarations) and to what the
resolver compares (whose declaration it is, whether it is in force, the order of a party's dates). The key is never
coarser than the Python signer's policy signature, so the first line of each key is answered the Python way (strict
check, signature, cached reference decision) and the answer is stored under the key; every later line with that key
is answered inside the kernel, with no Python object made for it.

Lines the kernel does not take (any form it does not read, records that are invalid or that the Python path does not
sign) go the Python way every time, exactly as without the kernel; but for one kind of invalid record, whose
answer depends on its license alone: a declaration ends before it starts (the key is then a mark and the license,
and the kernel answers each such line and stops after it, status ISSUE, for its coded issue). Without the compiled
module, or with ``AITERMS_KERNEL=0`` in the environment, annotate runs the Python path only: the answers are the
same, only slower.
"""

from __future__ import annotations

import os
import threading
from typing import TYPE_CHECKING, Any, TypeVar

import orjson

from aiterms.dataset.decide import INVALID, _license_of_line
from aiterms.dataset.fastpath import EMPTY_WINDOW, INVALID_MARK
from aiterms.vocab import CONTEXT_IRI

if TYPE_CHECKING:
    from aiterms.dataset.decide import Output, Stats, Worker
    from aiterms.dataset.fastpath import Entry

#: The version of what this module and the compiled kernel say to each other (_kernel.c, KERNEL_PROTOCOL)
PROTOCOL = 2

try:
    from aiterms.dataset import _kernel
except ImportError:  # no compiler when the package was installed: the Python path alone
    _kernel = None  # type: ignore[assignment]
if _kernel is not None and getattr(_kernel, "PROTOCOL", None) != PROTOCOL:
    # a kernel built from other sources (a stale build beside newer code): the Python path, with the same answers
    _kernel = None  # type: ignore[assignment]

#: Most distinct answers one kernel holds (outcome, obligations, reason, signal, license, keep); past it, new
#: answers take the Python path.
MAX_ENTRIES = 100_000
# Bounds on what is remembered (then forgotten and worked out anew), so memory stays flat whatever the input.
MAX_CLASSES = 100_000  # tags, declaration bodies and groups
MAX_KEYS = 100_000  # record keys (for other threads' kernels) and license-free answers
MAX_KEY_BYTES = 32 << 20  # about this many bytes of keys in one table (estimated from the newest key)
LEARN_LIMIT = 64  # declaration bodies and groups learned for one line before it goes the Python way
_ALL = (1 << 64) - 1
_LEARN = (_kernel.BODY, _kernel.GROUP) if _kernel is not None else ()
#: The key the kernel gives a record of which a declaration ends before it starts (then the license)
_EMPTY_WINDOW_KEY = _kernel.EMPTY_WINDOW_KEY if _kernel is not None else b""
_ALONE = b'{"@context":' + orjson.dumps(CONTEXT_IRI) + b',"type":"ImageRecord","declarations":['


T = TypeVar("T")


def _remember(table: dict[Any, T], key: Any, value: T, limit: int) -> T:
    """Store ``value`` under ``key`` in a table that is emptied when it holds ``limit`` entries, or keys of about
    MAX_KEY_BYTES in all (memory stays flat whatever the input; what is forgotten is worked out again when met
    again)."""
    size = len(key) if isinstance(key, bytes) else 64
    if len(table) >= limit or len(table) * size > MAX_KEY_BYTES:
        table.clear()
    table[key] = value
    return value


def _split_license(key: bytes) -> tuple[bytes, str | None]:
    """A record key without its license, and the license (the kernel ends a key with the license IRI, checked, then
    its length as 4 bytes, 0xFFFFFFFF for none)."""
    n = int.from_bytes(key[-4:], "little")
    if n == 0xFFFFFFFF:
        return key[:-4], None
    return key[:-4 - n], key[-4 - n:-4].decode("ascii")


def available() -> bool:
    """Whether the compiled kernel is built and not switched off (``AITERMS_KERNEL=0``)."""
    return _kernel is not None and os.environ.get("AITERMS_KERNEL", "1") != "0"


class _Here:
    """One thread's kernel, how many of the shared answers it has been given, and how far it has caught up with
    what the other threads learned (KernelRunner._catch_up)."""

    def __init__(self, kernel: Any) -> None:
        self.kernel = kernel
        self.entries = 0
        self.generation = 0
        self.cursor = 0


class KernelRunner:
    """The kernels of one worker: answer blocks of JSON lines, each thread with a kernel of its own (a kernel runs
    without the GIL), and hand the lines they cannot answer to the worker's Python path
    (:meth:`Worker._jsonl_lines`), one thread at a time. What one thread learns (tag classes, declaration body and
    group classes, record keys and their answers) is kept here and given to the other threads' kernels when they
    meet it, so each thing is worked out once."""

    def __init__(self, worker: Worker) -> None:
        assert _kernel is not None
        self.worker = worker
        self._local = threading.local()
        # The Python side (the worker's signer, cache, resolver and statistics, and the maps below) is used by one
        # thread at a time.
        self.lock = threading.RLock()
        # Set before threads share this runner: each thread then runs its kernel over a block before it takes the
        # Python side for that block's new lines (block), instead of waiting for it at each one.
        self.defer = False
        # With defer: what was learned, in order (kind, what, value), for the other threads' kernels to catch up
        # with before they scan a block; a new list (next generation) when it holds MAX_KEYS items.
        self._log: tuple[int, list[tuple[int, bytes, Any]]] = (0, [])
        self._index: dict[tuple[Any, ...], int] = {}
        self._entries: list[tuple[bytes, bool, bool]] = []  # index -> (suffix, keep, issue)
        self._labels: list[tuple[tuple[str, str, str, str], bool]] = []
        self._tag_codes: dict[Any, int] = {}
        self._tags: dict[bytes, int] = {}  # raw tag -> code
        self._bodies: dict[bytes, tuple[int, int, int, int]] = {}  # body -> reduced, exact, permits, prohibits
        self._groups: dict[bytes, int] = {}
        self._keys: dict[bytes, int] = {}  # record key -> entry index (-1: the Python path)
        # record key without its license -> the answer without the license, and the signature without the license
        # when the license can change that answer (an answer per license class is then looked up)
        self._bases: dict[bytes, Entry] = {}
        self._cores: dict[bytes, Any] = {}
        # Class numbers are never reused (a record key made with a number keeps meaning what it meant), so these
        # maps may be emptied when they grow; the counter goes on.
        self._reduced: dict[Any, int] = {}
        self._exact: dict[bytes, int] = {}
        self._meaning: dict[int, Any] = {}  # reduced class -> what it stands for (the signer's declarations part)
        self._next = 1
        # One bit per use a rule may name (the signer's closed set), for the kernel's contradiction checks
        uses = sorted(worker.resolver.vocabulary.ids("use"))
        self._use_bits = {u: 1 << i for i, u in enumerate(uses)} if len(uses) < 64 else {}

    def _here(self) -> _Here:
        here: _Here | None = getattr(self._local, "here", None)
        if here is None:
            assert _kernel is not None
            w = self.worker
            k = _kernel.Kernel(w.signer.at_key, biometric=w.signer.biometric, filter=w.keep is not None,
                               annotate_kept=w.opts.annotate_filtered, release_gil=not self.defer)
            if self._use_bits:
                # the kernel checks rules itself, against the signer's vocabulary, and leaves out of declaration
                # bodies the rules that cannot matter for the query
                vocab = w.resolver.vocabulary
                k.set_vocabulary(list(self._use_bits), w.signer.relevant, sorted(vocab.ids("purpose")),
                                 sorted(vocab.ids("actor")), sorted(vocab.ids("obligation")))
            here = self._local.here = _Here(k)
        return here

    def block(self, first_line: int, block: bytes, *, counts: bool = True) -> tuple[Output, Stats]:
        """req-annotate: the output of one block of whole JSON lines, and its statistics (without the counts of
        the lines the kernel answered when ``counts`` is false: :meth:`add_counts` gives them later, for many
        blocks at once).

        When threads share this runner (``defer``), a thread first runs its kernel over the whole block without
        waiting for the Python side, leaving the lines that need it for the end of the block (_scan); then it takes
        the Python side once for those lines. So one thread's kernel runs while another thread works in Python."""
        from aiterms.dataset.decide import Stats

        here = self._here()
        k = here.kernel
        st = Stats()
        k.take_output()  # nothing is left from a block that failed
        if not self.defer:
            out = self._answer(here, first_line, block, st)
        else:
            self._catch_up(here)
            parts = self._scan(here, first_line, block, st)
            if len(parts) == 1 and isinstance(parts[0], bytes):  # every line answered by the kernel
                out = parts[0]
            elif not parts:
                out = b""
            else:
                with self.lock:
                    out = b"".join(self._answer(here, p[0], b"\n".join(p[1]) + b"\n", st) if isinstance(p, tuple)
                                   else p for p in parts)
        if counts:
            self.add_counts(st)
        return out, st

    def add_counts(self, st: Stats) -> None:
        """Add to ``st`` the counts of the lines this thread's kernel answered since it was last asked."""
        keep = self.worker.keep is not None
        counted = st.counts
        for idx, n in self._here().kernel.take_counts():
            label, kept = self._labels[idx]
            counted[label] += n
            if keep and kept:
                st.kept += n

    def _scan(self, here: _Here, first_line: int, block: bytes, st: Stats) -> list[Any]:
        """The kernel over a whole block in one call, without the GIL or the Python side (Kernel.scan): its output,
        and in between, runs of lines (first line number, lines) it cannot answer yet, in order."""
        k = here.kernel
        hits, deferred = k.scan(block)
        st.rows += hits
        st.signed += hits
        done: Output = k.take_output()
        if not deferred:
            return [done] if done else []
        out = memoryview(done)
        parts: list[Any] = []
        written = 0
        for start, end, index, at in deferred:
            last = parts[-1] if parts else None
            if isinstance(last, tuple) and last[0] + len(last[1]) == first_line + index:  # the line after the run
                last[1].append(block[start:end])
                continue
            if at > written:
                parts.append(out[written:at])
                written = at
            parts.append((first_line + index, [block[start:end]]))
        if written < len(out):
            parts.append(out[written:])
        return parts

    def _answer(self, here: _Here, first_line: int, block: bytes, st: Stats) -> Output:
        """The output of whole JSON lines: the kernel's answers, and the Python side for what it cannot answer
        (learning tag, body and group classes and record keys on the way)."""
        k = here.kernel
        w = self.worker
        # Lines the kernel does not take are answered in runs, in one call of the Python path per run (its checks
        # work on batches); their output goes into the kernel's, before the kernel's next line.
        pending: list[bytes] = []
        pending_first = 0

        def flush() -> None:
            if pending:
                with self.lock:
                    w.stats = st
                    got = w._jsonl_lines(pending_first, pending)
                    w.flush()
                if got:
                    k.append_output(got)
                pending.clear()

        pos = 0
        lineno = first_line
        learned_at = -1
        learned = 0
        end = len(block)
        while pos < end:
            if pending and k.probe(block, pos):
                flush()  # the lines held back go out before the kernel writes the next one
            pos, status, key, hits = k.run(block, pos)
            if hits:
                lineno += hits
                st.rows += hits
                st.signed += hits
            if status == _kernel.END:
                break
            if status == _kernel.ISSUE:  # the kernel answered the line before pos: an invalid record, on its line
                with self.lock:
                    w.stats = st
                    st.invalid += 1
                    w.not_resolved(EMPTY_WINDOW, lineno - 1)
                learned = 0
                continue
            if status in _LEARN and key is not None and learned < LEARN_LIMIT:
                if status == _kernel.BODY:
                    self._give_body(k, key)
                else:
                    self._give_group(k, key)
                learned += 1
                continue  # the same line again, now that this declaration body or group is known
            nl = block.find(b"\n", pos)
            stop = end if nl < 0 else nl
            line = block[pos:stop]
            if status == _kernel.TAG and learned_at != pos and self._give_tags(k, line):
                learned_at = pos
                continue  # the same line again, now that its tags are known
            if status == _kernel.MISS and key is not None:
                idx = self._keys.get(key)
                if idx is None:
                    with self.lock:
                        w.stats = st
                        core, license_iri = _split_license(key)
                        idx = self._other_license(core, license_iri)
                        if idx is None:
                            idx = self._answer_for(line, lineno, core)
                        _remember(self._keys, key, idx, MAX_KEYS)
                        self._learned(_kernel.MISS, key, idx)
                        w.flush()
                self._give_key(here, key, idx)
                if idx >= 0:
                    continue  # the same line again: the kernel now answers it
            if not pending:
                pending_first = lineno
            pending.append(line)
            lineno += 1
            pos = stop + 1
            learned = 0
        flush()
        out: Output = k.take_output()
        return out

    def _learned(self, kind: int, what: bytes, value: Any) -> None:
        """Note what one thread learned, for the other threads' kernels (with defer; called with the lock held)."""
        if self.defer:
            generation, log = self._log
            if len(log) >= MAX_KEYS:  # bounded: a kernel that missed some learns them again on its own
                generation, log = self._log = (generation + 1, [])
            log.append((kind, what, value))

    def _catch_up(self, here: _Here) -> None:
        """Give a thread's kernel what the other threads learned since it last caught up, so that its scan answers
        those lines itself instead of leaving them for the Python side (no lock needed: the log only grows)."""
        generation, log = self._log
        if here.generation != generation:
            here.generation, here.cursor = generation, 0
        new = log[here.cursor:]
        here.cursor += len(new)
        k = here.kernel
        for kind, what, value in new:
            if kind == _kernel.MISS:
                self._give_key(here, what, value)
            elif kind == _kernel.BODY:
                k.set_body(what, *value)
            elif kind == _kernel.GROUP:
                k.set_group(what, value)
            else:
                k.set_tag(what, value)

    def _give_key(self, here: _Here, key: bytes, idx: int) -> None:
        """Map a record key to an answer in a thread's kernel, giving it the answers up to that one first."""
        self._sync_entries(here, idx)
        here.kernel.add(key, idx)

    def _sync_entries(self, here: _Here, idx: int) -> None:
        """Give a thread's kernel every answer up to ``idx`` (a kernel's answers are numbered in order)."""
        while here.entries <= idx:
            suffix, keep, issue = self._entries[here.entries]
            here.kernel.set_entry(here.entries, suffix, keep, issue)
            here.entries += 1

    def _other_license(self, core: bytes, license_iri: str | None) -> int | None:
        """The answer for a key that differs from an answered one only by its license, when the license cannot
        change that answer (spec/resolution.md#alg-license: a license alone never permits or prohibits, so an answer
        worked out without it that is neither allowed nor constrained stands whatever the license), or when the
        answer for a license of the same class is known (Worker.license_class); else None. ``core`` is the key
        without its license (_split_license)."""
        base = self._bases.get(core)
        if base is None:
            return None
        if not base.license_free:
            w = self.worker
            rest = self._cores.get(core)
            base = None if rest is None else w.cache.get(w.class_key(license_iri, rest))
            if base is None:
                return None
        e = self.worker._entry(base.outcome, base.obligations, base.reason, base.signal, license_iri)
        return self._entry_index(e)

    def _answer_for(self, line: bytes, lineno: int, core: bytes) -> int:
        """req-fast-path: the answer for a line whose key no kernel knows yet: the Python fast path's (strict
        check, signature, cached or new reference decision), as an entry index; or -1 when that line is not one the
        kernel may answer: not signed, or invalid (an invalid record gets a coded issue on every line, so each such
        line goes the Python way), except a record of which a declaration ends before it starts, under the kernel's
        key for such records (its answer is flagged: the kernel stops after each such line, for its issue). Called
        with the lock held."""
        w = self.worker
        sig = w.signer.sign_line(line)
        if sig is None or sig[0] is INVALID_MARK:
            if core == _EMPTY_WINDOW_KEY and sig == EMPTY_WINDOW:
                # a declaration ends before it starts: the answer is invalid under the line's license, and the
                # kernel reports each such line (ISSUE) as the Python path does (Worker.not_resolved)
                return self._entry_index(w.invalid_entry(_license_of_line(line)))
            return -1
        e = w.cache.get(sig)
        if e is None:
            e = w.decide_signed(sig, line, lineno)
            if w.cache.get(sig) is not e:  # not a reference answer for the signature (a mismatch)
                return -1
        if e.reason == INVALID:
            return -1
        base = w.cache.get(("without-license", sig[1:]))
        if base is not None:
            _remember(self._bases, core, base, MAX_KEYS)
            if not base.license_free:
                _remember(self._cores, core, sig[1:], MAX_KEYS)
        return self._entry_index(e)

    def _entry_index(self, e: Entry) -> int:
        what = (e.outcome, e.obligations, e.reason, e.signal, e.license, e.keep, e.suffix)
        idx = self._index.get(what)
        if idx is None:
            if len(self._labels) >= MAX_ENTRIES:
                return -1
            idx = self._index[what] = len(self._labels)
            self._entries.append((e.suffix, e.keep, e.reason == INVALID))
            self._labels.append(((e.outcome, e.reason, e.signal, e.license), e.keep))
        return idx

    def _give_body(self, k: Any, body: bytes) -> None:
        got = self._bodies.get(body)
        if got is None:
            with self.lock:
                got = _remember(self._bodies, body, self._learn_body(body), MAX_CLASSES)
                self._learned(_kernel.BODY, body, got)
        k.set_body(body, *got)

    def _give_group(self, k: Any, group: bytes) -> None:
        got = self._groups.get(group)
        if got is None:
            with self.lock:
                got = _remember(self._groups, group, self._learn_group(group), MAX_CLASSES)
                self._learned(_kernel.GROUP, group, got)
        k.set_group(group, got)

    def _give_tags(self, k: Any, line: bytes) -> bool:
        """Give a kernel the class of every tag of a line; False when the line has no readable tags."""
        try:
            obj = orjson.loads(line)
        except orjson.JSONDecodeError:
            return False
        tags = obj.get("tags") if isinstance(obj, dict) else None
        if not isinstance(tags, list):
            return False
        for raw in tags:
            if not isinstance(raw, str):
                return False
            try:
                data = raw.encode("utf-8")
            except UnicodeEncodeError:  # a lone surrogate from an escape: the kernel never reads escapes anyway
                return False
            code = self._tags.get(data)
            if code is None:
                with self.lock:
                    cls = self.worker.signer.tag_class(raw)
                    code = _remember(self._tags, data, 0 if cls == 0 else self._tag_codes.setdefault(
                        cls, len(self._tag_codes) + 1), MAX_CLASSES)
                    self._learned(_kernel.TAG, data, code)
            k.set_tag(data, code)
        return True

    def _learn_body(self, body: bytes) -> tuple[int, int, int, int]:
        """req-fast-path: classify a declaration body (a declaration without its id, dates, party id and name,
        source details) for the kernel.

        Its *reduced* class is what the Python signer keeps of it when its party has no other declaration: the
        signature of a record holding only this declaration (0 when nothing of it can matter, -1 when the signer
        does not sign it: such lines go the Python way). Its *exact* class names the body itself, for parties with
        several declarations, which are compared with each other."""
        got = self.worker.signer.sign_alone(_ALONE + body + b"]}")
        exact = self._number(self._exact, body)
        if got is None:
            return -1, exact, _ALL, _ALL
        sig, permits, prohibits = got
        if not sig:
            reduced = 0
        else:
            reduced = self._number(self._reduced, sig)
            self._meaning[reduced] = sig
        return reduced, exact, self._mask(permits), self._mask(prohibits)

    def _mask(self, uses: frozenset[str] | None) -> int:
        """Uses as one bit each (a use the map does not know, or uses not known at all: every bit, so the kernel
        compares such declarations in full)."""
        if uses is None:
            return _ALL
        mask = 0
        bits = self._use_bits
        for u in uses:
            mask |= bits.get(u, _ALL)
        return mask

    def _learn_group(self, group: bytes) -> int:
        """req-fast-path: classify a party's kept declarations (their reduced classes, each with the rank of its
        order date among them, 255 for none) as the Python signer does: supersession within the party
        (spec/resolution.md#alg-supersede), then the party's statements by role, sorted. A group of one declaration
        gets the class of that declaration alone, so both name the same thing."""
        members_by_role: dict[str, list[tuple[Any, str, Any]]] = {}
        for i in range(0, len(group), 5):
            meaning = self._meaning.get(int.from_bytes(group[i:i + 4], "little", signed=True))
            if meaning is None:  # forgotten (the maps were emptied): this group goes the Python way
                return -1
            when = None if group[i + 4] == 255 else group[i + 4]
            for role, _owner, stmts in meaning:
                members_by_role.setdefault(role, []).extend((when, sig_, r) for sig_, r in stmts)
        ancestors = self.worker.signer._ancestors
        out = []
        for role, stated in members_by_role.items():
            members = stated
            if len({m[0] for m in stated if m[0] is not None}) > 1:
                members = [m for m in stated if m[0] is None or not any(
                    t[0] is not None and t[0] > m[0] and str(t[2][1]) in ancestors[str(m[2][1])] for t in stated)]
            out.append((role, False, tuple(sorted((m[1], m[2]) for m in members))))
        out.sort()
        what = tuple(out)
        cls = self._number(self._reduced, what)
        self._meaning[cls] = what
        return cls

    def _number(self, numbers: dict[Any, int], what: Any) -> int:
        got = numbers.get(what)
        if got is None:
            if numbers is self._reduced and len(numbers) >= MAX_CLASSES:
                self._meaning.clear()  # _remember empties _reduced too: a forgotten class means nothing any more
            got = _remember(numbers, what, self._next, MAX_CLASSES)
            self._next += 1
        return got
