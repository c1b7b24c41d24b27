"""ODRL import and export (spec/interop-odrl.md): the REC examples, the AI vocabulary draft, CC license encodings,
conflict strategies, fail-closed handling of what cannot be expressed, and properties."""

from __future__ import annotations

import html
import json
import re
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from aiterms.interop import odrl
from test_interop_c2pa import RECORDS, _corruptions, full, outcome, records, round_trip_check

SPEC = Path(__file__).resolve().parents[1] / "spec" / "interop-odrl.md"
CTX = "http://www.w3.org/ns/odrl.jsonld"
AI = "https://w3c.github.io/odrl/ai-vocab/"


def imp(doc: Any, **kw: Any) -> Any:
    data = doc if isinstance(doc, bytes) else json.dumps(doc).encode()
    return odrl.import_bytes(data, source_name="policy.jsonld", **kw)


def rules_of(result: Any) -> list[dict[str, Any]]:
    return [r for d in result.record.get("declarations", []) for r in d.get("rules", [])]


def pairs(result: Any) -> set[tuple[str, str]]:
    return {(r["effect"], r["use"]) for r in rules_of(result)}


def codes(result: Any) -> set[str]:
    return {i.code for i in result.issues}


def policy(**kw: Any) -> dict[str, Any]:
    return {"@context": CTX, "@type": "Set", "uid": "http://example.com/p/1", "profile": AI, **kw}


def test_codes_are_registered_in_the_spec() -> None:
    text = SPEC.read_text("utf-8")
    table = text.split("<!-- codes -->")[1].split("<!-- /codes -->")[0]
    registered = set(re.findall(r"^\| `([a-z0-9-]+)`", table, re.M))
    emitted = set(re.findall(r'"(odrl-[a-z-]+)"', Path(odrl.__file__).read_text("utf-8"))) - {"odrl-ai"}
    assert emitted <= registered, emitted - registered


def test_action_map_agrees_with_the_vocabulary() -> None:
    from aiterms.vocab import Vocabulary

    mapped = {m.iri: u for u, c in Vocabulary.bundled().uses.items() for m in c.mappings
              if m.scheme in ("odrl-ai", "tdmrep") and m.iri}
    for iri, use in odrl.ACTION_USES.items():
        assert mapped[iri] == use, iri


# ---------------------------------------------------------------------------------------------------------
# The real files


def test_every_corpus_file_imports(corpus: Any) -> None:
    from aiterms.validation import check

    files = [p for d in ("w3c-odrl", "w3c-poe") for p in sorted(corpus(d).rglob("*")) if p.is_file()]
    assert len(files) > 100
    for path in files:
        r = odrl.import_bytes(path.read_bytes(), source_name=path.name)
        assert check(full(r.record)).valid, path
        assert all(i.code.startswith("odrl-") for i in r.issues), path
        assert r.issues or r.record, path  # something is always said


@pytest.mark.parametrize("eg", ["eg6", "eg7", "eg10", "eg11", "eg19", "eg27"])
def test_invalid_rec_examples(corpus: Any, eg: str) -> None:
    r = odrl.import_bytes(corpus(f"w3c-poe/model/extracted-examples/model-{eg}.json").read_bytes(), source_name=eg)
    assert codes(r) == {"odrl-unreadable"}
    assert r.issues[0].line is not None
    assert not r.record


def test_rec_examples_with_example_profiles_stop(corpus: Any) -> None:
    folder = corpus("w3c-poe/model/extracted-examples")
    stopped = 0
    for path in sorted(folder.glob("model-*.json")):
        r = odrl.import_bytes(path.read_bytes(), source_name=path.name)
        assert not rules_of(r) or "odrl-unknown-profile" not in codes(r)
        stopped += "odrl-unknown-profile" in codes(r)
    assert stopped >= 25


def test_rec_use_without_ai_profile_is_not_an_ai_permission(corpus: Any) -> None:
    r = odrl.import_bytes(corpus("w3c-poe/model/extracted-examples/model-eg1.json").read_bytes(), source_name="eg1")
    assert not rules_of(r)
    assert "odrl-generic-action" in codes(r)


def test_formal_semantics_policies(corpus: Any) -> None:
    base = corpus("w3c-odrl/formal-semantics/examples")
    a1 = odrl.import_bytes(next(base.rglob("policyA1.json")).read_bytes(), source_name="A1")
    assert not rules_of(a1)
    assert "odrl-action-unmapped" in codes(a1)
    c1 = odrl.import_bytes(next(base.rglob("policyC1.json")).read_bytes(), source_name="C1")
    assert not rules_of(c1)
    assert "odrl-assignee-unmapped" in codes(c1)
    report = odrl.import_bytes(next(base.rglob("compliancereport.A11.json")).read_bytes(), source_name="r")
    assert codes(report) == {"odrl-no-policy"}


@pytest.mark.parametrize(("path", "iri"), [
    ("bp/license/licensedb/CC0.ttl", "https://creativecommons.org/publicdomain/zero/1.0/"),
    ("bp/license/official/ccby4.0.ttl", "https://creativecommons.org/licenses/by/4.0/"),
    ("bp/license/rdflicense/PDM1.0.ttl", "https://creativecommons.org/publicdomain/mark/1.0/"),
    ("bp/license/rdflicense/cc-by-nc-nd4.0.ttl", "https://creativecommons.org/licenses/by-nc-nd/4.0/"),
    ("bp/license/rdflicense/cc-by-nc-sa4.0.ttl", "https://creativecommons.org/licenses/by-nc-sa/4.0/"),
    ("bp/license/rdflicense/cc-by-nc4.0.ttl", "https://creativecommons.org/licenses/by-nc/4.0/"),
    ("bp/license/rdflicense/cc-by-nd4.0.ttl", "https://creativecommons.org/licenses/by-nd/4.0/"),
    ("bp/license/rdflicense/cc-by-sa4.0.ttl", "https://creativecommons.org/licenses/by-sa/4.0/"),
    ("bp/license/rdflicense/cc-by4.0.ttl", "https://creativecommons.org/licenses/by/4.0/"),
    ("bp/license/rdflicense/cc-zero1.0.ttl", "https://creativecommons.org/publicdomain/zero/1.0/"),
])
def test_cc_license_encodings(corpus: Any, path: str, iri: str) -> None:
    r = odrl.import_bytes(corpus(f"w3c-odrl/{path}").read_bytes(), source_name=path)
    assert r.record.get("license") == iri
    assert not rules_of(r)  # the resolver applies the license's terms
    assert "odrl-license-policy" in codes(r)


def test_all_rights_reserved_encoding(corpus: Any) -> None:
    r = odrl.import_bytes(corpus("w3c-odrl/bp/license/rdflicense/allrightsreserved.ttl").read_bytes(),
                          source_name="arr.ttl")
    assert not r.record.get("license")
    assert not rules_of(r)


def test_ai_vocabulary_examples(corpus: Any) -> None:
    page = corpus("w3c-odrl/ai-vocab/index.html").read_text("utf-8")
    blocks = [html.unescape(b) for b in re.findall(r"<pre[^>]*>(.*?)</pre>", page, re.S)]
    docs = [b for b in blocks if '"@context"' in b]
    assert len(docs) == 2
    first, second = (imp(b.encode()) for b in docs)
    assert rules_of(first) == [{"effect": "permit", "use": "ai-training", "purpose": ["research"]}]
    assert first.record["id"] == "http://example.org/asset/dataset1"
    assert pairs(second) == {("permit", "data-mining"), ("prohibit", "ai-inference")}
    assert outcome(second.record, "ai-inference") == "notAllowed"
    assert outcome(second.record, "search-indexing") == "allowed"
    assert outcome(first.record, "ai-training") == "unspecified"  # the purpose is open


# ---------------------------------------------------------------------------------------------------------
# Mapping


def test_constraints_purpose_spatial_datetime() -> None:
    r = imp(policy(permission=[{"action": "odrl:gen-ai", "constraint": [
        {"leftOperand": "purpose", "operator": "isAnyOf",
         "rightOperand": ["https://w3id.org/aiterms/purpose/education", "https://w3id.org/dpv#ResearchAndDevelopment"]},
        {"leftOperand": "spatial", "operator": "eq", "rightOperand": "urn:iso:std:iso:3166:-1:DE"},
        {"leftOperand": "dateTime", "operator": "lteq", "rightOperand": {"@value": "2027-12-31", "@type": "xsd:date"}},
        {"leftOperand": "dateTime", "operator": "gteq", "rightOperand": "2026-01-01"}]}]))
    assert rules_of(r) == [{"effect": "permit", "use": "genai-training", "purpose": ["education", "research"],
                            "jurisdiction": ["DE"], "until": "2028-01-01", "from": "2026-01-01"}]


def test_prohibition_reads_dpv_research_broadly() -> None:
    r = imp(policy(prohibition=[{"action": "odrl:ai-training", "constraint": [
        {"leftOperand": "purpose", "operator": "eq", "rightOperand": "https://w3id.org/dpv#ResearchAndDevelopment"}]}]))
    assert rules_of(r)[0]["purpose"] == ["commercial", "research"]


def test_unmapped_constraint_drops_permission_keeps_prohibition() -> None:
    odd = [{"leftOperand": "count", "operator": "lteq", "rightOperand": 10}]
    r = imp(policy(permission=[{"action": "odrl:ai-training", "constraint": odd}],
                   prohibition=[{"action": "odrl:gen-ai", "constraint": odd}], conflict="perm"))
    assert pairs(r) == {("prohibit", "genai-training")}
    assert "odrl-constraint-unmapped" in codes(r)


def test_duties_offer_and_tdmrep() -> None:
    tdm = {"@context": [CTX, "http://www.w3.org/ns/tdmrep.jsonld"], "@type": "Offer",
           "profile": "http://www.w3.org/ns/tdmrep", "uid": "https://example.com/policies/1",
           "assigner": {"uid": "https://example.com", "vcard:fn": "Example"},
           "permission": [{"action": "tdm:mine", "duty": [{"action": "compensate"}],
                           "constraint": [{"leftOperand": "purpose", "operator": "eq",
                                           "rightOperand": "tdm:non-research"}]}]}
    r = imp(tdm)
    assert rules_of(r) == [{"effect": "permit", "use": "data-mining", "purpose": ["commercial"],
                            "duties": ["compensate"]}]
    assert r.record["declarations"][0]["declaredBy"] == {"role": "rights-holder", "id": "https://example.com"}
    unknown_duty = imp(policy(permission=[{"action": "odrl:ai-training", "duty": [{"action": "nextPolicy"}]}]))
    assert not rules_of(unknown_duty)
    assert "odrl-duty-unmapped" in codes(unknown_duty)


def test_index_and_use() -> None:
    r = imp(policy(permission=[{"action": "index"}], prohibition=[{"action": "use", "target": "http://x"}],
                   conflict="prohibit"))
    assert pairs(r) == {("prohibit", "data-mining")}  # the broad prohibition overrides the index permission
    bare = {"@context": CTX, "@type": "Set", "uid": "http://e/p", "prohibition": [{"action": "index"}]}
    assert pairs(imp(bare)) == {("prohibit", "ai-indexing"), ("prohibit", "search-indexing")}


@pytest.mark.parametrize(("strategy", "expected"), [
    (None, set()),
    ("invalid", set()),
    ("prohibit", {("permit", "data-mining"), ("prohibit", "genai-training")}),
    ("perm", {("permit", "data-mining")}),
])
def test_conflict_strategies(strategy: str | None, expected: set[tuple[str, str]]) -> None:
    doc = policy(permission=[{"action": "odrl:data-mining"}], prohibition=[{"action": "odrl:gen-ai"}])
    if strategy:
        doc["conflict"] = strategy
    r = imp(doc)
    assert pairs(r) == expected
    if strategy in (None, "invalid"):
        assert "odrl-conflict-void" in codes(r)


def test_prohibit_strategy_removes_narrower_permission() -> None:
    r = imp(policy(conflict="prohibit", permission=[{"action": "odrl:gen-ai"}],
                   prohibition=[{"action": "odrl:ai-training"}]))
    assert pairs(r) == {("prohibit", "ai-training")}


def test_turtle_policy() -> None:
    ttl = b"""@prefix odrl: <http://www.w3.org/ns/odrl/2/> .
<http://example.com/p/9> a odrl:Set ; odrl:profile <https://w3c.github.io/odrl/ai-vocab/> ;
  odrl:conflict odrl:prohibit ;
  odrl:permission [ odrl:action odrl:data-mining ] ;
  odrl:prohibition [ odrl:action odrl:gen-ai ] ."""
    r = odrl.import_bytes(ttl, source_name="p.ttl")
    assert pairs(r) == {("permit", "data-mining"), ("prohibit", "genai-training")}
    assert "ODRL Set http://example.com/p/9" in r.record["declarations"][0]["source"]["location"]


def test_unreadable_prohibition_blocks_permissions() -> None:
    base = {"permission": [{"action": "odrl:data-mining"}], "conflict": "prohibit"}
    for bad in ([{"action": "odrl:gen-aj"}], [{"actoin": "odrl:gen-ai"}], ["odrl:gen-ai"]):
        r = imp(policy(**base, prohibition=bad))
        assert not [x for x in rules_of(r) if x["effect"] == "permit"], bad
        assert "odrl-prohibition-unreadable" in codes(r)
    r = imp(policy(**base, prohibitoin=[{"action": "odrl:gen-ai"}]))
    assert not rules_of(r)
    assert "odrl-prohibition-unreadable" in codes(r)


def test_url_selects_targets() -> None:
    doc = policy(permission=[{"action": "odrl:search", "target": "https://e.com/a.jpg"},
                             {"action": "odrl:ai-training", "target": "https://e.com/b.jpg"}])
    r = imp(doc, url="https://e.com/a.jpg")
    assert pairs(r) == {("permit", "search-indexing")}
    assert "odrl-target-mismatch" in codes(r)


# ---------------------------------------------------------------------------------------------------------
# Export


def test_export_shape_and_round_trip() -> None:
    record: dict[str, Any] = {"id": "https://e.com/a.jpg", "declarations": [{"declaredBy": {"role": "rights-holder",
                                                                               "id": "https://e.com"}, "rules": [
        {"effect": "permit", "use": "data-mining"}, {"effect": "prohibit", "use": "genai-training"},
        {"effect": "permit", "use": "ai-training", "purpose": ["research"], "jurisdiction": ["EU"],
         "duties": ["attribution"], "until": "2030-01-01"}]}]}
    out = odrl.export(record)
    doc = json.loads(out.data)
    assert doc["profile"] == AI
    assert doc["conflict"] == "prohibit"
    assert doc["@type"] == "Set"
    assert doc["target"] == "https://e.com/a.jpg"
    assert doc["assigner"] == "https://e.com"
    back = imp(out.data)
    assert sorted(json.dumps(r, sort_keys=True) for r in rules_of(back)) == sorted(
        json.dumps(r, sort_keys=True) for r in record["declarations"][0]["rules"])


def test_export_inexpressible() -> None:
    record = {"declarations": [{"declaredBy": {"role": "rights-holder"}, "rules": [
        {"effect": "permit", "use": "non-genai-training"}, {"effect": "prohibit", "use": "face-recognition"},
        {"effect": "permit", "use": "search-indexing", "actor": ["company"]},
        {"effect": "prohibit", "use": "ai-indexing"}]}]}
    out = odrl.export(record)
    doc = json.loads(out.data)
    assert [p["action"] for p in doc.get("prohibition", [])] == ["odrl:data-mining", "odrl:index"]
    assert "permission" not in doc or doc["permission"] == []
    assert len([i for i in out.issues if i.code in ("export-not-expressible", "export-broadened")]) >= 4


# ---------------------------------------------------------------------------------------------------------
# Properties

SAMPLES = [
    json.dumps(policy(conflict="prohibit", permission=[{"action": "odrl:data-mining"}],
                      prohibition=[{"action": "odrl:gen-ai"}, {"action": "odrl:ai-augment", "constraint": [
                          {"leftOperand": "purpose", "operator": "eq",
                           "rightOperand": "https://w3id.org/aiterms/purpose/commercial"}]}])).encode(),
    json.dumps(policy(conflict="perm", permission=[{"action": "odrl:ai-training", "constraint": [
        {"leftOperand": "spatial", "operator": "eq", "rightOperand": "urn:iso:3166:DE"}]}],
        prohibition=[{"action": "odrl:data-mining"}])).encode(),
    b"""@prefix odrl: <http://www.w3.org/ns/odrl/2/> .
<http://example.com/p/9> a odrl:Set ; odrl:profile <https://w3c.github.io/odrl/ai-vocab/> ;
  odrl:conflict odrl:prohibit ; odrl:permission [ odrl:action odrl:data-mining ] ;
  odrl:prohibition [ odrl:action odrl:gen-ai ] .""",
]


@settings(max_examples=200, deadline=None)
@given(sample=st.sampled_from(SAMPLES), data=st.data())
def test_corrupted_policies_never_permit_more(sample: bytes, data: Any) -> None:
    valid = {(r["use"], json.dumps(r, sort_keys=True)) for r in rules_of(imp(sample)) if r["effect"] == "permit"}
    r = imp(data.draw(_corruptions(sample)))
    for rule in rules_of(r):
        if rule["effect"] == "permit":
            assert any(use == rule["use"] for use, _ in valid), rule


@settings(max_examples=40, deadline=None)
@given(record=st.one_of(RECORDS, records(sorted(odrl.EXPORT_ACTIONS), duties=("attribution", "compensate"))))
def test_export_import_round_trip(record: dict[str, Any]) -> None:
    round_trip_check(record, odrl.export, imp, set(odrl.EXPORT_ACTIONS))


@pytest.mark.parametrize("doc", [b'{"@context": "http://www.w3.org/ns/odrl.jsonld", "@type": "Offer", "n": '
                                 + b"9" * 4301 + b"}", b"[" + b"1" * 4400 + b"]"])
def test_integer_over_4300_digits_is_unreadable_not_a_traceback(doc: bytes) -> None:
    """Since Python 3.11 json.loads raises a plain ValueError for an integer over 4,300 digits."""
    r = odrl.import_bytes(doc, source_name="policy.jsonld")
    assert [i.code for i in r.issues] == ["odrl-unreadable"]
    assert "declarations" not in r.record
