"""The compiled kernel of the annotate fast path (spec/dataset.md#fast-path-key).

Its promise: two lines with the same record key have the same decision, a line it cannot read takes the Python
path, and annotate writes the same bytes and counts with it as without it. The properties below compare the kernel
with the Python path (itself compared with the reference resolver in test_dataset_fastpath.py) line for line.
"""

from __future__ import annotations

import json
import os
import sys
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from aiterms.dataset import kernel as K
from aiterms.dataset.decide import Options, Stats, Worker
from aiterms.model import Query
from test_dataset_fastpath import USES, _query, queries, records

if K._kernel is None:
    if os.environ.get("AITERMS_REQUIRE_KERNEL") == "1":  # set by .ci/run: CI must test the compiled kernel
        raise RuntimeError("the C kernel (aiterms.dataset._kernel) is not built, or built from other sources (its "
                           "PROTOCOL is not kernel.PROTOCOL), and AITERMS_REQUIRE_KERNEL=1")
    pytest.skip("the C kernel (aiterms.dataset._kernel) is not built (no C compiler at install time); annotate uses "
                "the Python path", allow_module_level=True)

SETTINGS = settings(max_examples=50, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
Q = _query("cv-training", "research", "research-organization", "US")


def _worker(q: Query, *, kernel: bool, **kw: Any) -> Worker:
    w = Worker(Options(query=q, cache_size=64, **kw))
    assert (w.kernel is not None) is True  # built, and not switched off in this environment
    if not kernel:
        w.kernel = None
    return w


def _annotate(lines: list[bytes], q: Query, *, kernel: bool, defer: bool = False, **kw: Any) -> tuple[bytes, Stats]:
    w = _worker(q, kernel=kernel, **kw)
    if defer:  # as threads run it (annotate --workers 2): the kernel over the block first, then the Python side
        w.kernel.defer = True
    block = b"".join(x + b"\n" for x in lines)
    out, st_ = w.jsonl_block(1, block)
    if kernel:  # twice: the second time every key the kernel learned is answered inside it
        again, st2 = w.jsonl_block(1, block)
        assert again == out
        assert _counts(st2) == _counts(st_)
    return out, st_


def _counts(s: Stats) -> tuple[Any, ...]:
    return (s.rows, s.invalid, s.kept, dict(s.counts), dict(s.issue_counts),
            [(i.code, i.line, i.message) for i in s.issues])


def _same(lines: list[bytes], q: Query, **kw: Any) -> None:
    with_kernel, st_k = _annotate(lines, q, kernel=True, **kw)
    deferred, st_d = _annotate(lines, q, kernel=True, defer=True, **kw)
    without, st_p = _annotate(lines, q, kernel=False, **kw)
    assert with_kernel == without
    assert deferred == without
    assert _counts(st_k) == _counts(st_p)
    assert _counts(st_d) == _counts(st_p)
    assert st_k.mismatches == st_p.mismatches == st_d.mismatches == 0


def _kernel(q: Query = Q) -> Any:
    return _worker(q, kernel=True).kernel


def _key(runner: Any, line: bytes) -> Any:
    """The kernel's key of a line, after teaching the kernel what it asks for (tags, bodies, groups)."""
    here = runner._here()
    for _ in range(80):
        got = here.kernel.key(line)
        if isinstance(got, tuple) and got[0] == K._kernel.BODY:
            runner._give_body(here.kernel, got[1])
        elif isinstance(got, tuple) and got[0] == K._kernel.GROUP:
            runner._give_group(here.kernel, got[1])
        elif got == K._kernel.TAG:
            assert runner._give_tags(here.kernel, line)
        else:
            return got
    raise AssertionError("the kernel keeps asking")


# ---------------------------------------------------------------------------------------------------------------
# Properties


@SETTINGS
@given(st.lists(records(), min_size=1, max_size=20), queries())
def test_kernel_output_equals_python_path(recs: list[dict[str, Any]], q: Query) -> None:
    _same([orjson.dumps(r) for r in recs], q)


@SETTINGS
@given(st.lists(records(), min_size=2, max_size=30), queries())
def test_equal_keys_mean_equal_signatures(recs: list[dict[str, Any]], q: Query) -> None:
    """req-fast-path: the key is never coarser than the Python signer's policy signature (lines it keeps whole,
    such as an unknown member, share a key only with lines the signer also treats alike, signed or not)."""
    runner = _kernel(q)
    signer = runner.worker.signer
    by_key: dict[bytes, Any] = {}
    for r in recs:
        line = orjson.dumps(r)
        key = _key(runner, line)
        if not isinstance(key, bytes):
            continue
        sig = signer.sign_line(line)
        if key in by_key:
            assert by_key[key] == sig, line
        by_key[key] = sig


_MUTATIONS = [
    (b'","', b'", "'),  # whitespace between tokens
    (b'"type":"ImageRecord"', b'"type":"ImageRecord","type":"ImageRecord"'),  # a member twice
    (b'"id":"', b'"id":"\\u0041'),  # an escape in an identifier
    (b'"owner":"', b'"owner":"\\/'),
    (b'"rules":[', b'"rules":[{"effect":"permit","use":"cv-training","x-a":1},'),
    (b'"issued":"20', b'"issued":"00'),  # year 0
    (b'-01"', b'-31"'),
    (b'T', b't'),
    (b'"name":"', b'"name":"\xc3\xa9\xe2\x82\xac'),  # non-ASCII text (valid)
    (b'"name":"', b'"name":"\xed\xa0\x80'),  # an encoded surrogate (invalid UTF-8)
    (b'"name":"', b'"name":"\\ud800'),  # an escaped lone surrogate
    (b'"raw":"', b'"raw":"\\"quoted\\" \\n'),  # escapes in dropped text (valid)
    (b'"raw":"', b'"raw":"\\x'),  # an invalid escape
    (b'"depictedPersons":0', b'"depictedPersons":00'),
    (b'"depictedPersons":0', b'"depictedPersons":1.0'),
    (b'"depictedPersons":0', b'"depictedPersons":-1'),
    (b'"contentHash":"sha256:', b'"contentHash":"SHA256:'),
    (b'"creator":["', b'"creator":["flickr:1@N00","'),
    (b'"license":"https', b'"license":"ht tps'),
    (b'"tags":[', b'"tags":["no_cv",'),
    (b'"tags":[', b'"tags":["No\\u005fCV",'),
    (b'"declarations":[', b'"declarations":[{"declaredBy":{"role":"rights-holder","id":"flickr:1@N00"},'
                          b'"issued":"2020-01-01","until":"2019-01-01"},'),
    (b'}', b'} '),
    (b'{', b'\xef\xbb\xbf{'),
]


@SETTINGS
@given(st.lists(records(), min_size=1, max_size=10), st.data())
def test_mutated_lines_are_answered_as_the_python_path_answers_them(recs: list[dict[str, Any]],
                                                                    data: st.DataObject) -> None:
    lines = []
    for r in recs:
        line = orjson.dumps(r)
        old, new = data.draw(st.sampled_from(_MUTATIONS))
        where = data.draw(st.integers(0, 3))
        parts = line.split(old)
        if len(parts) > 1:
            i = min(where, len(parts) - 2)
            line = old.join(parts[:i + 1]) + new + old.join(parts[i + 1:])
        lines += [orjson.dumps(r), line]  # the good record first: a bad one must not take its answer
    _same(lines, Q)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(records(), min_size=1, max_size=15), st.sampled_from(USES), st.booleans())
def test_filter_with_kernel_equals_python_path(recs: list[dict[str, Any]], use: str, annotated: bool) -> None:
    _same([orjson.dumps(r) for r in recs], _query(use, "research"), keep=frozenset({"allowed"}),
          annotate_filtered=annotated)


def test_synthetic_records_and_threads() -> None:
    """Synthetic records (about 1 KB each, as the benchmark's) through the kernel and the Python path, and through
    two threads sharing one worker (annotate --workers 2)."""
    from concurrent.futures import ThreadPoolExecutor

    from aiterms.bench.synth import lines as synth

    data = [x.rstrip(b"\n") for x in synth(3000, 11)]
    for q in (Q, _query("face-recognition", "research", None, "US-IL"), _query("data-mining", "commercial")):
        _same(data, q)
        w = _worker(q, kernel=True)
        w.kernel.defer = True  # as annotate --workers 2 runs them
        blocks = [b"".join(x + b"\n" for x in data[i:i + 250]) for i in range(0, len(data), 250)]
        with ThreadPoolExecutor(2) as pool:
            threaded = list(pool.map(w.jsonl_block, [1] * len(blocks) * 2, blocks * 2))
        alone = _worker(q, kernel=False)
        expected = [alone.jsonl_block(1, b) for b in blocks] * 2
        assert [out for out, _ in threaded] == [out for out, _ in expected]
        assert [_counts(s) for _, s in threaded] == [_counts(s) for _, s in expected]


def test_a_handed_over_output_stays_as_it_was() -> None:
    """A large block's output is the kernel's own buffer, handed over (a memoryview, no copy): it must keep its
    bytes while the kernel goes on to other blocks, and equal the Python path's output."""
    from aiterms.bench.synth import lines as synth

    data = [x.rstrip(b"\n") for x in synth(1200, 4)]
    blocks = [b"".join(x + b"\n" for x in data[i:i + 400]) for i in range(0, len(data), 400)]
    w = _worker(Q, kernel=True)
    outs = [w.jsonl_block(1, b)[0] for b in blocks * 2]
    assert any(isinstance(o, memoryview) for o in outs)  # large enough to be handed over
    frozen = [bytes(o) for o in outs]
    w.jsonl_block(1, b"".join(blocks))  # the kernel writes again
    alone = _worker(Q, kernel=False)
    assert [bytes(o) for o in outs] == frozen == [alone.jsonl_block(1, b)[0] for b in blocks] * 2


# ---------------------------------------------------------------------------------------------------------------
# What the kernel reads, and what it leaves to the Python path

BASE = {"@context": "https://w3id.org/aiterms/context/v1.jsonld", "type": "ImageRecord",
        "id": "https://www.flickr.com/photos/1@N00/5", "contentUrl": "https://live.staticflickr.com/1/5_ab.jpg",
        "contentHash": "sha256:" + "a" * 64, "creator": ["flickr:1@N00"], "owner": "flickr:1@N00",
        "license": "https://creativecommons.org/licenses/by/2.0/", "tags": ["family"], "depictedPersons": 0,
        "declarations": [
            {"id": "urn:uuid:0c0d1e2f-1111-4222-8333-444455556666",
             "declaredBy": {"id": "flickr:1@N00", "role": "rights-holder", "name": "Ann"}, "issued": "2020-01-01",
             "rules": [{"effect": "prohibit", "use": "ai-training"}],
             "source": {"signal": "plus", "raw": "x", "observed": "2024-01-01T10:00:00Z"}},
            {"declaredBy": {"id": "https://example.org/datasets/faces", "role": "dataset-curator"},
             "issued": "2021-12-23", "rules": [{"effect": "permit", "use": "cv-training", "purpose": ["research"]}]}]}


def _line(**changes: Any) -> bytes:
    rec = json.loads(json.dumps(BASE))
    for path, value in changes.items():
        cur: Any = rec
        *head, last = path.split("__")
        for part in head:
            cur = cur[int(part)] if part.isdigit() else cur[part]
        if value is _DROP:
            del cur[last]
        else:
            cur[int(last) if last.isdigit() else last] = value
    return orjson.dumps(rec)


_DROP = object()
# the owner after the declarations: the kernel numbers parties as it reads them, the owner first
_OWNER_LAST = orjson.dumps({**{k: v for k, v in BASE.items() if k != "owner"}, "owner": "flickr:1@N00"})


def test_what_the_key_drops_and_what_it_keeps() -> None:
    runner = _kernel()
    base = _key(runner, _line())
    assert isinstance(base, bytes)
    same = [_line(id="https://www.flickr.com/photos/1@N00/6"), _line(contentHash="sha256:" + "b" * 64),
            _line(declarations__0__declaredBy__name="Bob"), _line(declarations__0__issued="2019-05-05"),
            _line(declarations__0__source__observed="2025-01-01"), _line(tags=["family", "sunset"]),
            _line(declarations__0__id=_DROP), _line(depictedPersons=3),
            # the owner and the party renamed together: the owner's declaration stays the owner's
            _line(owner="flickr:9@N00", declarations__0__declaredBy__id="flickr:9@N00", creator=["flickr:9@N00"])]
    for line in same:
        assert _key(runner, line) == base, line
    different = [_line(license="https://creativecommons.org/licenses/by-nc/2.0/"), _line(tags=["no_cv"]),
                 _line(declarations__0__declaredBy__id="flickr:2@N00"),  # no longer the owner's
                 _line(declarations__0__issued="2027-01-01"),  # not in force at the date of use
                 _line(declarations__1__rules__0__purpose=["commercial"]),
                 _line(declarations__0__source__signal="cawg")]
    for line in different:
        assert _key(runner, line) != base, line


@pytest.mark.parametrize("line", [
    _line(id="not an iri"), _line(contentUrl="ftp://x/y"), _line(contentHash="sha256:" + "A" * 64),
    _line(creator=["flickr:1@N00", "flickr:1@N00"]), _line(creator=[]), _line(owner="flickr 1"),
    _line(declarations__0__issued="2019-02-29"), _line(declarations__0__issued="0000-01-01"),
    _line(declarations__0__issued="2019-01-01T24:00:00Z"), _line(declarations__0__source__observed="2024-13-01"),
    _line(declarations__0__declaredBy__name="x" * 1025), _line(declarations__0__declaredBy__id="a b"),
    _line(depictedPersons=1.5), _line(depictedPersons=10 ** 12), _line(license="not an iri"),
    _line().replace(b"Ann", "Ann\u00e9".encode()[:-1]),  # invalid UTF-8 in a dropped name
    _line().replace(b'"x"', b'"\\ud800"'),  # an escaped lone surrogate in dropped text
    _line()[:-1], _line() + b" ", b" " + _line(), b"", b"{}" + b"x",
], ids=lambda x: x[-50:].decode("utf-8", "replace"))
def test_a_bad_value_in_a_part_the_key_drops_stops_the_kernel(line: bytes) -> None:
    """The key drops ids, URLs, hashes, names and source details after checking them, so a bad one must stop the
    kernel on that line (else a bad record could take a good record's answer)."""
    runner = _kernel()
    _key(runner, _line())
    assert isinstance(_key(runner, line), int)
    _same([_line(), line, _line()], Q)


def test_a_declaration_that_ends_before_it_starts_is_answered_with_its_issue(monkeypatch: pytest.MonkeyPatch) -> None:
    """A record of which a declaration ends before it starts, everything else checked, gets a key of its own: the
    mark and the license (the answer, invalid, depends on nothing else). The kernel answers such lines itself and
    reports each on its line, with the Python path's issue (fastpath.EMPTY_WINDOW), annotating and filtering, in
    one thread and deferred; the Python signer sees one line per license."""
    runner = _kernel()
    empty = _line(declarations__0__until="2019-01-01")
    key = _key(runner, empty)
    assert isinstance(key, bytes)
    assert key.startswith(K._EMPTY_WINDOW_KEY)
    alike = _line(declarations__0__until="2019-06-01", tags=["no_cv"], id="https://example.org/2", depictedPersons=3)
    assert _key(runner, alike) == key
    nc = _line(declarations__0__until="2019-01-01", license="https://creativecommons.org/licenses/by-nc/4.0/")
    none = _line(declarations__0__until="2019-01-01", license=_DROP)
    assert len({key, _key(runner, nc), _key(runner, none)}) == 3
    # the second declaration ends before it starts: the same
    assert _key(runner, _line(declarations__1__until="2021-12-22")) == key
    # a bad value anywhere else stops the kernel, as for any other line
    for bad in (_line(declarations__0__until="2019-01-01", id="not an iri"),
                _line(declarations__0__until="2019-02-30"), _line(declarations__1__until="2021-12-22", owner="a b")):
        assert isinstance(_key(runner, bad), int), bad
    lines = [_line(), empty, alike, nc, _line(), empty, none, alike, nc, _line(declarations__0__until="2019-01-01",
                                                                            id="not an iri"), empty]
    _same(lines, Q)
    _same(lines, Q, keep=frozenset({"allowed", "constrained"}))
    _same(lines, Q, keep=frozenset({"allowed", "constrained"}), annotate_filtered=True)
    signed: list[bytes] = []
    w = _worker(Q, kernel=True)
    sign = w.signer.sign_line
    monkeypatch.setattr(w.signer, "sign_line", lambda line: signed.append(line) or sign(line))
    _out, st_ = w.jsonl_block(1, b"".join(x + b"\n" for x in lines * 3))
    ended = [n + 1 for n, x in enumerate(lines * 3) if x in (empty, alike, nc, none)]
    assert st_.invalid == len(ended) + 3  # the line with a bad id goes the Python path, which finds it invalid too
    assert sorted(i.line for i in st_.issues if "ends before it starts" in i.message) == ended
    assert {x for x in signed if x in (empty, alike, nc, none)} <= {empty, nc, none}
    assert len([x for x in signed if x in (empty, alike, nc, none)]) == 3  # once per license


def _bad_at_every_position() -> list[bytes]:
    """Hashes, URLs and IRIs with one bad character at each position: the kernel checks them sixteen bytes at a time
    and then byte by byte, so every position of both parts must be refused."""
    hexes = "0123456789abcdef" * 4
    lines = [_line(contentHash="sha256:" + hexes[:i] + bad + hexes[i + 1:]) for i in range(64) for bad in "gA/:"]
    url = "https://live.staticflickr.com/1/5_ab" + "c" * 30 + ".jpg"
    lines += [_line(contentUrl=url[:i] + bad + url[i + 1:]) for i in range(8, len(url)) for bad in (" ", "\x7f")]
    iri = "https://www.flickr.com/photos/1@N00/" + "5" * 30
    lines += [_line(id=iri[:i] + bad + iri[i + 1:]) for i in range(6, len(iri)) for bad in '<>{}|^` "']
    return lines


def test_a_bad_character_anywhere_in_a_hash_url_or_iri_stops_the_kernel() -> None:
    runner = _kernel()
    good = _key(runner, _line())
    assert isinstance(good, bytes)
    bad = _bad_at_every_position()
    assert len(bad) > 600
    for line in bad:
        assert isinstance(_key(runner, line), int), line
    # the good forms of the same lengths are accepted (the checks are not simply refusing long values)
    assert _key(runner, _line(contentHash="sha256:" + "0123456789abcdef" * 4)) == good
    assert _key(runner, _line(id="https://www.flickr.com/photos/1@N00/" + "5" * 30)) == good


@pytest.mark.parametrize("line", [
    _OWNER_LAST, _line(declarations__0__issued="2019-01-01T10:00:00+02:00"), _line().replace(b",", b", ", 1),
    _line().replace(b'"Ann"', b'"A\\u0000nn"'), _line().replace(b"flickr:1@N00", b"flickr:\\u0031@N00", 1),
    _line(declarations__0__rules=[{"effect": "permit", "use": "cv-training", "x-note": "n"}]),
    _line(tags=["No\\u005fCV"]), b"{}", b"[]", _line().replace(b'"type"', b'"x-type":1,"type"'),
], ids=lambda x: x[-50:].decode("utf-8", "replace"))
def test_forms_the_kernel_leaves_to_the_python_path_get_its_answers(line: bytes) -> None:
    _same([_line(), line, _line(), line], Q)


_IRRELEVANT = {"effect": "prohibit", "use": "search-indexing"}  # cannot matter for a cv-training query


@pytest.mark.parametrize("rules", [
    [_IRRELEVANT, {"effect": "permit", "use": "not-a-use"}],
    [{**_IRRELEVANT, "purpose": ["research", "research"]}],  # uniqueItems
    [{**_IRRELEVANT, "purpose": []}],
    [{**_IRRELEVANT, "purpose": ["not-a-purpose"]}],
    [{**_IRRELEVANT, "actor": ["company", "nobody"]}],
    [{**_IRRELEVANT, "duties": ["attribution", "attribution"]}],
    [{**_IRRELEVANT, "jurisdiction": ["usa"]}], [{**_IRRELEVANT, "jurisdiction": ["US-", "US"]}],
    [{**_IRRELEVANT, "from": "2020-01-01", "until": "2019-01-01"}], [{**_IRRELEVANT, "from": "2019-02-30"}],
    [{**_IRRELEVANT, "x-note": "n"}], [{"use": "search-indexing"}], [{**_IRRELEVANT, "effect": "allow"}],
    [_IRRELEVANT, {**_IRRELEVANT, "effect": "permit"}],  # contradictory, though neither can matter
    [{**_IRRELEVANT, "purpose": ["research", "education"]}, {**_IRRELEVANT, "effect": "permit",
                                                             "purpose": ["education", "research"]}],
    [{**_IRRELEVANT, "jurisdiction": ["US"]}, {**_IRRELEVANT, "effect": "permit", "jurisdiction": ["EU"]}],
    [_IRRELEVANT, {"effect": "permit", "use": "cv-training"}],
])
def test_rules_that_cannot_matter_are_checked_before_they_are_left_out(rules: list[dict[str, Any]]) -> None:
    """The kernel leaves rules whose use cannot matter for the query out of a declaration's body, so it checks them
    in full itself: every bad one here must give the Python path's answer (invalid record, or a contradiction)."""
    line = _line(declarations__0__rules=rules)
    # the good records first: the kernel then knows their keys, which a bad record left unchecked would share
    relevant = [r for r in rules if r.get("use") == "cv-training"]
    variants = [_line(declarations__0__rules=[_IRRELEVANT]), _line(declarations__0__rules=[]),
                _line(declarations__0__rules=relevant), _line(declarations__0__rules=[*relevant, _IRRELEVANT]),
                line, line]
    _same(variants, Q)


def test_bodies_that_differ_only_in_rules_that_cannot_matter_share_a_key() -> None:
    runner = _kernel()
    a = _key(runner, _line(declarations__0__rules=[{"effect": "prohibit", "use": "ai-training"}, _IRRELEVANT]))
    b = _key(runner, _line(declarations__0__rules=[{"effect": "prohibit", "use": "ai-training"},
                                                   {"effect": "permit", "use": "face-recognition",
                                                    "purpose": ["commercial"]}]))
    assert isinstance(a, bytes)
    assert a == b
    c = _key(runner, _line(declarations__0__rules=[{"effect": "prohibit", "use": "ai-training",
                                                    "purpose": ["commercial"]}]))
    assert c != a


def test_a_line_longer_than_8192_bytes_is_left_to_the_python_path() -> None:
    runner = _kernel()
    long = _line(declarations__0__source__raw="x" * 9000)
    assert _key(runner, long) == K._kernel.OTHER
    _same([long], Q)


def test_numbers_never_mean_two_things() -> None:
    """Class numbers stay unique after the maps are emptied, so an old key cannot alias a new meaning."""
    runner = _kernel()
    first = runner._number(runner._exact, b"a")
    runner._exact.clear()
    assert runner._number(runner._exact, b"a") != first
    assert runner._number(runner._exact, b"b") not in (first, first + 1)


def test_kernel_can_be_switched_off(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AITERMS_KERNEL", "0")
    assert not K.available()
    assert Worker(Options(query=Q)).kernel is None


@SETTINGS
@given(st.binary(max_size=5000))
def test_count_lines_counts_newlines(data: bytes) -> None:
    """The reader numbers lines with the kernel's count_lines (it runs without the GIL): it must be bytes.count."""
    from aiterms.dataset._kernel import count_lines

    assert count_lines(data) == data.count(b"\n")
    assert count_lines(bytearray(data)) == data.count(b"\n")


def test_a_license_of_a_known_class_needs_no_new_resolution() -> None:
    """Worker.license_class: a permitted record whose license is of a class already answered (CC BY 2.0, 3.0 and
    4.0; BY-NC under a research purpose) is answered without the resolver, labelled with its own license; a license
    of a new class (BY-SA adds share-alike) is resolved."""
    permitted = {"declarations__0__rules__0__effect": "permit", "declarations__0__rules__0__use": "cv-training"}
    cc = "https://creativecommons.org/licenses/"
    lines = [_line(**permitted, license=f"{cc}{x}/") for x in ("by/2.0", "by/3.0", "by/4.0", "by-nc/2.0")]
    _same(lines, Q)
    _, st_ = _annotate(lines, Q, kernel=True)
    assert st_.misses == 2  # without the license, then with the first license of its class
    assert {k[3] for k in st_.counts} == {"CC BY 2.0", "CC BY 3.0", "CC BY 4.0", "CC BY-NC 2.0"}
    _, st_sa = _annotate([*lines, _line(**permitted, license=f"{cc}by-sa/2.0/")], Q, kernel=True)
    assert st_sa.misses == 3


def test_deferred_lines_keep_their_numbers_when_filtered_lines_write_nothing() -> None:
    """Found by test_filter_with_kernel_equals_python_path: with threads (defer), lines the kernel answers but the
    filter drops write nothing, and the invalid line after them must still be reported with its own line number."""
    ctx = "https://w3id.org/aiterms/context/v1.jsonld"
    other = orjson.dumps({"@context": [ctx], "type": "ImageRecord"})  # a form the kernel leaves to Python
    plain = orjson.dumps({"@context": ctx, "type": "ImageRecord"})
    bad = orjson.dumps({"@context": ctx, "type": "ImageRecord", "unknownKey": 1})
    lines = [other, plain, plain, bad]
    _same(lines, Q, keep=frozenset({"allowed"}))
    w = _worker(Q, kernel=True, keep=frozenset({"allowed"}))
    w.kernel.defer = True
    block = b"".join(x + b"\n" for x in lines)
    for _ in range(2):  # the second time, the plain lines are answered inside the kernel
        _, st_ = w.jsonl_block(1, block)
        assert [(i.code, i.line) for i in st_.issues] == [("manifest-record-invalid", 4)]


def test_a_thread_catches_up_with_what_another_learned() -> None:
    """With threads (defer), a thread's kernel is given what the other threads learned before it scans a block, so
    lines another thread answered first need no Python side: the second thread answers the same block in one scan."""
    import threading

    lines = [_line(), _line(license="https://creativecommons.org/licenses/by-nc/2.0/"), _line(tags=["no_cv"]),
             _line(declarations__1__rules__0__purpose=["commercial"])]
    block = b"".join(x + b"\n" for x in lines)
    w = _worker(Q, kernel=True)
    w.kernel.defer = True
    answered: dict[str, Any] = {}
    calls: list[str] = []
    runner = w.kernel
    real = runner._answer

    def spy(*args: Any) -> bytes:
        calls.append(threading.current_thread().name)
        return real(*args)

    runner._answer = spy  # type: ignore[method-assign]

    def run(name: str) -> None:
        answered[name] = w.jsonl_block(1, block)

    for name in ("first", "second"):
        t = threading.Thread(target=run, args=(name,), name=name)
        t.start()
        t.join()
    assert answered["first"][0] == answered["second"][0] == _annotate(lines, Q, kernel=False)[0]
    assert "first" in calls
    assert "second" not in calls


def test_threads_with_small_bounds_give_the_same_answers(monkeypatch: pytest.MonkeyPatch) -> None:
    """The tables a runner keeps, and the log of what threads learned (a new generation when it is full), are
    bounded; with tiny bounds everything is forgotten and learned again often, and the answers stay the same."""
    from concurrent.futures import ThreadPoolExecutor

    from aiterms.bench.synth import lines as synth

    monkeypatch.setattr(K, "MAX_KEYS", 5)
    monkeypatch.setattr(K, "MAX_CLASSES", 7)
    data = [x.rstrip(b"\n") for x in synth(1200, 5)]
    blocks = [b"".join(x + b"\n" for x in data[i:i + 100]) for i in range(0, len(data), 100)]
    w = _worker(Q, kernel=True)
    w.kernel.defer = True
    with ThreadPoolExecutor(2) as pool:
        threaded = list(pool.map(w.jsonl_block, [1] * len(blocks), blocks))
    assert w.kernel._log[0] > 0  # the log went through generations
    alone = _worker(Q, kernel=False)
    expected = [alone.jsonl_block(1, b) for b in blocks]
    assert [out for out, _ in threaded] == [out for out, _ in expected]
    assert [_counts(s) for _, s in threaded] == [_counts(s) for _, s in expected]


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="maps memory with mmap and mprotect (Linux)")
def test_the_kernel_never_reads_past_the_end_of_a_block() -> None:
    """run() and scan() find where a line ends by reading it (no newline search first): a block that ends at the end
    of readable memory, in the middle of any token, must never be read past (a read there would crash)."""
    import ctypes
    import mmap

    libc = ctypes.CDLL(None, use_errno=True)
    libc.mmap.restype = ctypes.c_void_p
    libc.mmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_int, ctypes.c_int, ctypes.c_long]
    libc.mprotect.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]
    libc.munmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t]
    page = mmap.PAGESIZE
    w = _worker(Q, kernel=True)
    k = w.kernel._here().kernel
    good = _line()
    head = b'{"@context":"https://w3id.org/aiterms/context/v1.jsonld","type":"ImageRecord",'
    tails = [good, good[:-1], good[:-30], good[:10], head + b'"depictedPersons":12', head + b'"tags":["a', b"{",
             b'{"', good + b" ", _line(declarations__0__until="2019-01-01"), b'{"x":"\\']
    for tail in tails:
        for lead in (b"", good + b"\n", (good + b"\n") * 3):
            data = lead + tail
            w.jsonl_block(1, data)  # the kernel learns the keys, so the guarded runs go all the way
            pages = len(data) // page + 2
            base = libc.mmap(None, pages * page, mmap.PROT_READ | mmap.PROT_WRITE,
                             mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS, -1, 0)
            assert base not in (None, ctypes.c_void_p(-1).value)
            try:
                assert libc.mprotect(base + (pages - 1) * page, page, 0) == 0  # PROT_NONE
                start = base + (pages - 1) * page - len(data)  # the data ends where readable memory ends
                ctypes.memmove(start, data, len(data))
                block = (ctypes.c_char * len(data)).from_address(start)
                pos = 0
                while pos < len(data):
                    pos, status, _key, _hits = k.run(block, pos)
                    if status == K._kernel.END:
                        break
                    nl = data.find(b"\n", pos)
                    if nl < 0:
                        break
                    pos = nl + 1
                k.take_output()
                k.scan(block)
                k.take_output()
                k.take_counts()
            finally:
                libc.munmap(base, pages * page)


def test_a_kernel_of_another_protocol_is_not_used() -> None:
    """A compiled kernel built from other sources (a stale build beside newer code) is never half understood:
    kernel.py takes the Python path, with the same answers."""
    import subprocess

    code = ("import sys, types; sys.modules['aiterms.dataset._kernel'] = types.SimpleNamespace(PROTOCOL=-1, BODY=5, "
            "GROUP=6); from aiterms.dataset import kernel; print(kernel._kernel is None, kernel.available())")
    got = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert got.stdout.split() == ["True", "False"]
    assert K._kernel is not None
    assert K._kernel.PROTOCOL == K.PROTOCOL
