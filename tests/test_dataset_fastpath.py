"""The fast path and the reference resolver give the same decision on every record (spec/dataset.md#req-fast-path).

Records go through one annotate worker (signatures, decision cache, full path for what the fast path does not
sign) and, one by one, through the reference resolver on the record as JSON (validation included); outcome,
obligations and the reason code must be equal. Generated records include invalid ones of every kind the strict
check must catch, and the whole resolution conformance suite runs through both.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from aiterms.dataset.decide import Options, Worker, reason_code
from aiterms.dataset.fastpath import Signer
from aiterms.model import Query
from aiterms.resolution import Resolver
from aiterms.vocab import Vocabulary

ROOT = Path(__file__).resolve().parents[1]
CTX = "https://w3id.org/aiterms/context/v1.jsonld"
USES = sorted(Vocabulary.bundled().uses)
PURPOSES = ["research", "commercial", "non-commercial", "education", "personal"]
ACTORS = ["research-organization", "company", "individual", "cultural-heritage-institution"]
JURIS = ["EU", "DE", "US", "US-IL", "JP", "GB"]
DUTIES = ["attribution", "share-alike", "obtain-consent", "compensate"]
PARTIES = ["flickr:1@N00", "flickr:2@N00", "https://www.flickr.com", "https://example.org"]
DATES = ["2018-01-01", "2019-06-01T10:00:00Z", "2020-01-01", "2021-03-04T00:00:00+02:00", "2024-01-01T00:00:00.5Z",
         "2026-06-01", "2027-01-01"]
BAD_DATES = ["2019-02-30", "2019-13-01", "yesterday", "2019-01-01T25:00:00Z", "2019-01-01t10:00:00Z"]
LICENSES = [None, "https://creativecommons.org/licenses/by/2.0/", "https://creativecommons.org/licenses/by-nc/4.0/",
            "http://creativecommons.org/licenses/by-sa/2.0/", "https://creativecommons.org/publicdomain/zero/1.0/",
            "https://example.com/my-license", "not an iri"]
TAGS = ["family", "no_cv", "No CV", "noai", "no_cvv", "n\u043e_cv", "research_only", "NoAITraining", "", "x" * 1100]


def _query(use: str, purpose: str | None = None, actor: str | None = None, juris: str | None = None) -> Query:
    return Query(use=use, purpose=purpose, actor=actor, jurisdiction=juris, at="2026-11-26T00:00:00Z")


@st.composite
def rules(draw: st.DrawFn) -> dict[str, Any]:
    r: dict[str, Any] = {"effect": draw(st.sampled_from(["permit", "prohibit"])), "use": draw(st.sampled_from(USES))}
    for key, values in (("purpose", PURPOSES), ("actor", ACTORS), ("jurisdiction", JURIS), ("duties", DUTIES)):
        if draw(st.integers(0, 4)) == 0:
            r[key] = draw(st.lists(st.sampled_from(values), min_size=1, max_size=2, unique=True))
    if draw(st.integers(0, 6)) == 0:
        r["from"] = draw(st.sampled_from(DATES[:3]))
    if draw(st.integers(0, 6)) == 0:
        r["until"] = draw(st.sampled_from(DATES[4:]))
    bad = draw(st.integers(0, 40))
    if bad == 0:
        r["use"] = "not-a-use"
    elif bad == 1:
        r["purpose"] = ["research", "research"]
    elif bad == 2:
        r["jurisdiction"] = ["usa"]
    elif bad == 3:
        r["from"] = draw(st.sampled_from(BAD_DATES))
    elif bad == 4:
        r["purpose"] = []
    elif bad == 5:
        r["x-note"] = "an extension key"
    elif bad == 6:
        r["effect"] = "allow"
    return r


@st.composite
def declarations(draw: st.DrawFn) -> dict[str, Any]:
    role = draw(st.sampled_from(["rights-holder", "rights-holder", "depicted-person", "platform", "dataset-curator"]))
    by: dict[str, Any] = {"role": role}
    pid = draw(st.sampled_from([*PARTIES, None]))
    if pid is not None:
        by["id"] = pid
    d: dict[str, Any] = {"declaredBy": by}
    if draw(st.booleans()):
        d["rules"] = draw(st.lists(rules(), min_size=1, max_size=3))
    if draw(st.integers(0, 2)) == 0:
        d["issued"] = draw(st.sampled_from(DATES))
    if draw(st.integers(0, 5)) == 0:
        d["effectiveFrom"] = draw(st.sampled_from(DATES))
    if draw(st.integers(0, 5)) == 0:
        d["until"] = draw(st.sampled_from(DATES))
    if (role == "depicted-person" or draw(st.integers(0, 30)) == 0) and draw(st.booleans()):
        d["consent"] = draw(st.lists(st.fixed_dictionaries({
            "use": st.sampled_from(["biometric", "face-recognition", "face-analysis", "ai-training"]),
            "status": st.sampled_from(["given", "refused", "unknown"])}), max_size=2))
    if draw(st.integers(0, 2)) == 0:
        d["source"] = {"signal": draw(st.sampled_from(["plus", "cawg", "tdmrep", "Bad Signal"] if draw(
            st.integers(0, 20)) == 0 else ["plus", "cawg", "tdmrep"])), "location": "XMP", "raw": "x",
            "observed": draw(st.sampled_from([*DATES, "bad"] if draw(st.integers(0, 20)) == 0 else DATES))}
    if draw(st.integers(0, 3)) == 0:
        d["id"] = draw(st.sampled_from(["urn:uuid:0c0d1e2f-1111-4222-8333-444455556666", "not an iri"]))
    return d


@st.composite
def records(draw: st.DrawFn) -> dict[str, Any]:
    rec: dict[str, Any] = {"@context": CTX, "type": "ImageRecord"}
    owner = draw(st.sampled_from([None, "flickr:1@N00", "flickr:2@N00"]))
    if owner:
        rec["owner"] = owner
        if draw(st.booleans()):
            rec["creator"] = [owner]
    if draw(st.booleans()):
        rec["id"] = draw(st.sampled_from(["https://www.flickr.com/photos/1@N00/5", "https://x.test/a b",
                                          "https://www.flickr.com/photos/2@N00/6"]))
    if draw(st.booleans()):
        rec["contentUrl"] = draw(st.sampled_from(["https://live.staticflickr.com/1/5_ab.jpg", "ftp://x/y",
                                                  "HTTPS://EXAMPLE.COM/I.JPG"]))
    if draw(st.booleans()):
        rec["contentHash"] = draw(st.sampled_from(["sha256:" + "a" * 64, "md5:" + "b" * 32, "sha256:" + "A" * 64]))
    lic = draw(st.sampled_from(LICENSES))
    if lic is not None:
        rec["license"] = lic
    if draw(st.booleans()):
        rec["tags"] = draw(st.lists(st.sampled_from(TAGS), max_size=4))
    dp = draw(st.sampled_from([None, 0, 1, 2, "unknown", -1, 1.0, True]))
    if dp is not None:
        rec["depictedPersons"] = dp
    if draw(st.integers(0, 4)) > 0:
        rec["declarations"] = draw(st.lists(declarations(), max_size=4))
    odd = draw(st.integers(0, 30))
    if odd == 0:
        rec["@context"] = [CTX]
    elif odd == 1:
        rec["x-extra"] = {"a": 1}
    elif odd == 2:
        rec["unknownKey"] = 1
    elif odd == 3:
        rec["creator"] = ["flickr:1@N00", "flickr:1@N00"]
    elif odd == 4:
        del rec["type"]
    return rec


@st.composite
def queries(draw: st.DrawFn) -> Query:
    return _query(draw(st.sampled_from(USES)), draw(st.sampled_from([None, *PURPOSES])),
                  draw(st.sampled_from([None, *ACTORS])), draw(st.sampled_from([None, *JURIS])))


_RESOLVER = Resolver()


def _reference(rec: Any, q: Query) -> tuple[str, tuple[str, ...], str]:
    d = _RESOLVER.resolve(rec, q)
    code, _signal = reason_code(d, rec)
    return d.outcome, d.obligations, code


def _through_worker(recs: list[Any], q: Query) -> list[tuple[str, tuple[str, ...], str]]:
    w = Worker(Options(query=q, cache_size=64))
    lines = [orjson.dumps(r) for r in recs]
    out, st_ = w.jsonl_block(1, b"\n".join(lines) + b"\n")
    assert st_.mismatches == 0
    got = []
    for line in bytes(out).splitlines():
        obj = json.loads(line)
        got.append((obj["aiterms_outcome"], tuple(obj["aiterms_obligations"]), obj["aiterms_reason"]))
    return got


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(st.lists(records(), min_size=1, max_size=25), queries())
def test_fast_path_equals_reference_on_generated_records(recs: list[dict[str, Any]], q: Query) -> None:
    # The same records twice: the second time every signed record is answered from the cache.
    got = _through_worker([*recs, *recs], q)
    for rec, answer in zip([*recs, *recs], got, strict=True):
        assert answer == _reference(rec, q), json.dumps(rec)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(records(), queries(), st.randoms(use_true_random=False))
def test_shuffled_records_share_one_answer(rec: dict[str, Any], q: Query, rnd: Any) -> None:
    shuffled = json.loads(json.dumps(rec))
    if isinstance(shuffled.get("declarations"), list):
        rnd.shuffle(shuffled["declarations"])
        for d in shuffled["declarations"]:
            if isinstance(d.get("rules"), list):
                rnd.shuffle(d["rules"])
    if isinstance(shuffled.get("tags"), list):
        rnd.shuffle(shuffled["tags"])
    got = _through_worker([rec, shuffled], q)
    assert got[0] == _reference(rec, q)
    assert got[1] == _reference(shuffled, q)


def _conformance_cases() -> list[tuple[str, dict[str, Any], dict[str, Any], dict[str, Any]]]:
    out = []
    for path in sorted((ROOT / "spec" / "conformance" / "resolve").glob("*.json")):
        case = json.loads(path.read_text("utf-8"))
        for t in case.get("tests", ()):
            out.append((t["id"], case["record"], t["query"], t["expect"]))
    return out


CASES = _conformance_cases()


@pytest.mark.skipif(not CASES, reason="no resolution conformance cases in spec/conformance/resolve")
def test_conformance_suite_through_fast_path_and_reference() -> None:
    from aiterms.resolution import check_query

    by_query: dict[str, list[tuple[str, dict[str, Any], dict[str, Any]]]] = {}
    unusable = 0
    for cid, record, query, expect in CASES:
        if check_query(Query.from_json(query))[1]:
            unusable += 1  # a query annotate refuses (usage error, exit 2) before reading any row
            assert expect["outcome"] == "unspecified", cid
            continue
        by_query.setdefault(json.dumps(query, sort_keys=True), []).append((cid, record, expect))
    checked = 0
    for qtext, cases in by_query.items():
        q = Query.from_json(json.loads(qtext))
        got = _through_worker([c[1] for c in cases], q)
        for (cid, record, expect), answer in zip(cases, got, strict=True):
            ref = _reference(record, q)
            assert answer == ref, cid
            assert answer[0] == expect["outcome"], cid
            assert sorted(answer[1]) == sorted(expect.get("obligations", [])), cid
            checked += 1
    assert checked + unusable == len(CASES) >= 60
    assert checked > unusable


def test_synthetic_records_through_fast_path_and_reference() -> None:
    from aiterms.bench.synth import records as synth

    recs = list(synth(1500, 7))
    for q in (_query("cv-training", "research", "research-organization", "US"), _query("ai-training"),
              _query("face-recognition", "research", None, "US-IL"),
              _query("data-mining", "commercial", "company", "DE"),
              _query("search-indexing"), _query("genai-training", "research", "research-organization", "EU")):
        got = _through_worker(recs, q)
        for rec, answer in zip(recs, got, strict=True):
            assert answer == _reference(rec, q), (q, json.dumps(rec))


def test_batch_and_single_signatures_agree() -> None:
    from aiterms.bench.synth import lines

    data = [line.rstrip(b"\n") for line in lines(400, 3)]
    data[5] = data[5].replace(b'"sha256:', b'"md5:')  # one bad hash makes the batch check fall back
    signer = Signer(_query("cv-training", "research"))
    batch = signer.sign_lines(data)
    single = [Signer(_query("cv-training", "research")).sign_line(x) for x in data]
    assert batch == single
    assert batch[5] is None
    assert sum(s is not None for s in batch) >= 390


def test_signature_drops_ids_and_keeps_policy() -> None:
    signer = Signer(_query("cv-training", "research"))
    base = {"@context": CTX, "type": "ImageRecord", "id": "https://www.flickr.com/photos/1@N00/5",
            "owner": "flickr:1@N00", "license": "https://creativecommons.org/licenses/by/2.0/", "tags": ["family"],
            "declarations": [{"id": "urn:uuid:0c0d1e2f-1111-4222-8333-444455556666",
                              "declaredBy": {"id": "flickr:1@N00", "role": "rights-holder"},
                              "issued": "2020-01-01", "rules": [{"effect": "prohibit", "use": "computer-vision"}]}]}
    other = json.loads(json.dumps(base))
    other["id"] = "https://www.flickr.com/photos/9@N00/77"
    other["owner"] = "flickr:9@N00"
    other["declarations"][0]["declaredBy"]["id"] = "flickr:9@N00"
    other["declarations"][0]["issued"] = "2021-05-05T10:00:00Z"
    other["declarations"][0]["id"] = "urn:uuid:ffffffff-1111-4222-8333-444455556666"
    other["tags"] = ["holiday", "beach"]
    s1, s2 = signer.sign_line(orjson.dumps(base)), signer.sign_line(orjson.dumps(other))
    assert s1 is not None
    assert s1 == s2
    third = json.loads(json.dumps(base))
    third["declarations"][0]["declaredBy"]["id"] = "flickr:2@N00"  # no longer the owner's own declaration
    assert signer.sign_line(orjson.dumps(third)) != s1
    fourth = json.loads(json.dumps(base))
    fourth["tags"] = ["no_cv"]
    assert signer.sign_line(orjson.dumps(fourth)) != s1


def test_rules_that_do_not_match_leave_the_signature_after_supersession() -> None:
    """req-policy-signature: a rule that does not match the query never decides (spec/resolution.md#alg-match), so
    the signature leaves it out -- but only after supersession, where a newer declaration's rule replaces its
    party's older ones whether it matches or not (#alg-supersede)."""
    q = _query("cv-training", "research", "research-organization", "US")
    signer = Signer(q)

    def rec(*decls: dict[str, Any]) -> dict[str, Any]:
        return {"@context": CTX, "type": "ImageRecord", "owner": "flickr:1@N00", "license": LICENSES[1],
                "declarations": [{"declaredBy": {"id": "flickr:1@N00", "role": "rights-holder"}, **d}
                                 for d in decls]}

    permit = {"effect": "permit", "use": "cv-training"}
    commercial = {"effect": "prohibit", "use": "ai-use", "purpose": ["commercial"]}  # not a research query's
    narrower = {"effect": "prohibit", "use": "cv-training", "actor": ["company"]}  # more specific, not matching
    records = {
        "permit": rec({"issued": "2020-01-01", "rules": [permit]}),
        "permit and others": rec({"issued": "2020-01-01", "rules": [permit, commercial, narrower]}),
        "superseded": rec({"issued": "2020-01-01", "rules": [permit]}, {"issued": "2022-01-01", "rules": [commercial]}),
        "not matching": rec({"issued": "2022-01-01", "rules": [commercial]}),
        "nothing": rec(),
    }
    sigs = {name: signer.sign_line(orjson.dumps(r)) for name, r in records.items()}
    assert None not in sigs.values()
    assert sigs["permit"] == sigs["permit and others"]
    assert sigs["superseded"] == sigs["not matching"] == sigs["nothing"]
    assert sigs["permit"] != sigs["superseded"]
    # equal signatures, equal answers from the reference resolver (the signal too), and the worker's answers
    # (kernel and cache) are the reference's
    answers = {}
    for name, r in records.items():
        d = _RESOLVER.resolve(r, q)
        answers[name] = (d.outcome, d.obligations, *reason_code(d, r))
    assert answers["permit"] == answers["permit and others"]
    assert answers["permit"][:2] == ("constrained", ("attribution",))  # CC BY 2.0
    assert answers["superseded"] == answers["not matching"] == answers["nothing"]
    assert answers["superseded"][0] == "unspecified"
    order = list(records.values())
    assert _through_worker([*order, *order[::-1]], q) == [answers[n][:3] for n in [*records, *list(records)[::-1]]]


def test_unsignable_records_take_the_full_path() -> None:
    signer = Signer(_query("ai-training"))
    for text in (b"not json", b"[1, 2]", b'{"type": "ImageRecord"}',
                 b'{"@context": "https://example.org/ctx", "type": "ImageRecord"}',
                 b'{"@context":"' + CTX.encode() + b'","type":"ImageRecord","x-note":1}',
                 b'{"@context":"' + CTX.encode() + b'","type":"ImageRecord","depictedPersons":1.0}',
                 b'{"@context":"' + CTX.encode() + b'","type":"ImageRecord","tags":["' + b"a" * 9000 + b'"]}'):
        assert signer.sign_line(text) is None, text


def _variants(rec: dict[str, Any], draw: Any) -> list[dict[str, Any]]:
    """Records that differ from ``rec`` in one value the signature abstracts (a constraint, a date, a party, a tag),
    so that they meet ``rec``'s cache entry when their abstraction is wrong."""
    out = []
    for _ in range(6):
        v = json.loads(json.dumps(rec))
        decls = [d for d in v.get("declarations") or [] if isinstance(d, dict)]
        rules_ = [r for d in decls for r in d.get("rules") or [] if isinstance(r, dict)]
        choice = draw(st.integers(0, 6))
        if choice == 0 and rules_:
            r = draw(st.sampled_from(rules_))
            key = draw(st.sampled_from(["purpose", "actor", "jurisdiction", "duties"]))
            values = {"purpose": PURPOSES, "actor": ACTORS, "jurisdiction": JURIS, "duties": DUTIES}[key]
            r[key] = [draw(st.sampled_from(values))]
        elif choice == 1 and decls:
            draw(st.sampled_from(decls))["issued"] = draw(st.sampled_from(DATES))
        elif choice == 2 and decls:
            d = draw(st.sampled_from(decls))
            d["declaredBy"]["id"] = draw(st.sampled_from(PARTIES))
        elif choice == 3 and rules_:
            r = draw(st.sampled_from(rules_))
            r["effect"] = "permit" if r.get("effect") == "prohibit" else "prohibit"
        elif choice == 4:
            v["tags"] = draw(st.lists(st.sampled_from(TAGS[:8]), max_size=2))
        elif choice == 5 and rules_:
            r = draw(st.sampled_from(rules_))
            r["until" if draw(st.booleans()) else "from"] = draw(st.sampled_from(DATES))
        elif choice == 6:
            v["depictedPersons"] = draw(st.sampled_from([0, 1, 2, "unknown"]))
        out.append(v)
    return out


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(records(), queries(), st.data())
def test_near_identical_records_get_their_own_answers(rec: dict[str, Any], q: Query, data: st.DataObject) -> None:
    family = [rec, *_variants(rec, data.draw)]
    got = _through_worker([*family, *reversed(family)], q)
    for r, answer in zip([*family, *reversed(family)], got, strict=True):
        assert answer == _reference(r, q), json.dumps(r)


def test_constraint_values_are_not_confused() -> None:
    def rec(purpose: str) -> dict[str, Any]:
        return {"@context": CTX, "type": "ImageRecord", "owner": "flickr:1@N00", "declarations": [
            {"declaredBy": {"id": "flickr:1@N00", "role": "rights-holder"},
             "rules": [{"effect": "permit", "use": "ai-training", "purpose": [purpose]}]}]}

    q = _query("ai-training", "research")
    got = _through_worker([rec("research"), rec("commercial"), rec("research")], q)
    assert [g[0] for g in got] == ["allowed", "unspecified", "allowed"]


def test_invalid_utf8_inside_raw_rules_is_never_answered_from_the_cache() -> None:
    """Found by fuzzing (dataset-jsonl/invalid-utf8-in-rules-raw.bin): with a member given twice, the later value
    wins and msgspec skips the earlier one without reading it as UTF-8, so a record whose only fault is a bad byte
    there used to be signed -- and to get the cached answer of a valid record with the same policy. It must take
    the full path (not UTF-8: an invalid record)."""
    good = {"@context": "https://w3id.org/aiterms/context/v1.jsonld", "type": "ImageRecord",
            "declarations": [{"declaredBy": {"role": "rights-holder"},
                              "rules": [{"effect": "permit", "use": "ai-training", "purpose": ["research"]}]}]}
    line = json.dumps(good).encode()
    bad = line.replace(b'"rules"', b'"rules": [{"e\x8bfect": "prohibit"}], "rules"', 1)
    assert bad != line
    worker = Worker(Options(query=Query(use="cv-training", purpose="research", at="2026-06-01")))
    out, _st = worker.jsonl_block(1, line + b"\n" + bad + b"\n")
    first, second = (json.loads(x.decode("utf-8", "replace")) for x in out.splitlines())
    assert first["aiterms_outcome"] == "allowed"
    assert second["aiterms_outcome"] == "unspecified"
    assert second["aiterms_reason"] == "invalid-record"
