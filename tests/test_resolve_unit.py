"""Unit tests of the resolver's parts: query checking, license and jurisdiction tables, explanations, anchors."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from aiterms import codes
from aiterms._resolve_law import Area, Jurisdictions
from aiterms._resolve_text import STEPS
from aiterms.licenses import LicenseTable, flickr_license, lookup, normalize
from aiterms.model import Consent, Declaration, Party, Query, Record, Rule
from aiterms.resolution import Resolver, check_query, explain, resolve, resolve_bytes, unresolved
from aiterms.vocab import CONTEXT_IRI, Vocabulary

ROOT = Path(__file__).resolve().parents[1]
AT = "2026-01-01T00:00:00Z"


def record(**kw: Any) -> dict[str, Any]:
    return {"@context": CONTEXT_IRI, "type": "ImageRecord", **kw}


# -- query (alg-query) -------------------------------------------------------------------------------------


def test_unknown_use_in_query_is_an_error_with_a_suggestion() -> None:
    _checked, problems = check_query(Query("ai-trainig", at=AT))
    assert [(p.code, p.path) for p in problems] == [("unknown-use-in-query", "/use")]
    assert "ai-training" in problems[0].message
    decision = resolve(record(), Query("ai-trainig", at=AT))
    assert decision.outcome == "unspecified"
    assert decision.steps == ("alg-query",)


@pytest.mark.parametrize(("query", "path"), [
    (Query("ai-training", purpose="science", at=AT), "/purpose"),
    (Query("ai-training", actor="robot", at=AT), "/actor"),
    (Query("ai-training", jurisdiction="Illinois", at=AT), "/jurisdiction"),
    (Query("ai-training", jurisdiction="USA-IL", at=AT), "/jurisdiction"),
    (Query("ai-training", at="yesterday"), "/at"),
    (Query("ai-training", at="2020-01-01T10:00:00"), "/at"),  # no offset
])
def test_invalid_query_values(query: Query, path: str) -> None:
    _checked, problems = check_query(query)
    assert [(p.code, p.path) for p in problems] == [("invalid-query-value", path)]
    assert resolve(record(), query).outcome == "unspecified"


def test_query_is_normalized_and_at_is_filled_in() -> None:
    checked, problems = check_query(Query("ai-training", jurisdiction="us-il"))
    assert not problems
    assert checked.jurisdiction == "US-IL"
    assert checked.at is not None
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", checked.at)
    decision = resolve(record(), Query("ai-training"))
    assert decision.query.at is not None
    assert resolve(record(), Query("ai-training", at=AT)).query.at == AT


# -- licenses (alg-license) --------------------------------------------------------------------------------


@pytest.mark.parametrize("spelling", [
    "https://creativecommons.org/licenses/by/2.0/",
    "http://creativecommons.org/licenses/by/2.0/",
    "https://creativecommons.org/licenses/by/2.0",
    "https://www.creativecommons.org/licenses/BY/2.0/",
    "https://creativecommons.org/licenses/by/2.0/legalcode",
    "https://creativecommons.org/licenses/by/2.0/deed.de",
    "https://creativecommons.org/licenses/by/2.0/deed.zh-hans",
    "https://creativecommons.org/licenses/by/2.0/rdf",
    " https://creativecommons.org/licenses/by/2.0/?ref=chooser#x ",
])
def test_license_spellings_normalize_to_one_iri(spelling: str) -> None:
    assert normalize(spelling) == "https://creativecommons.org/licenses/by/2.0/"
    info = lookup(spelling)
    assert info is not None
    assert info.family == "by"
    assert info.version == "2.0"


def test_license_terms() -> None:
    table = LicenseTable.bundled()
    by_nc_sa = lookup("https://creativecommons.org/licenses/by-nc-sa/4.0/legalcode.de")
    assert by_nc_sa is not None
    assert by_nc_sa.non_commercial
    assert by_nc_sa.derivatives
    vocab = Vocabulary.bundled()
    assert {o for o, _ in table.obligations(by_nc_sa, vocab.ancestors("genai-training"))} == {
        "attribution", "share-alike"}
    assert {o for o, _ in table.obligations(by_nc_sa, vocab.ancestors("search-indexing"))} == {"attribution"}
    assert table.prohibited_purposes(by_nc_sa) == (("commercial", "CommercialUse"),)
    nd = lookup("https://creativecommons.org/licenses/by-nd/3.0/us/")
    assert nd is not None
    assert nd.port == "us"
    assert not nd.derivatives
    cc0 = lookup("http://creativecommons.org/publicdomain/zero/1.0/legalcode")
    assert cc0 is not None
    assert cc0.public_domain
    assert not cc0.requires


def test_license_classes() -> None:
    """Resolver.license_class: licenses the resolver cannot tell apart for a query share a class; the NC term
    matters only to a query whose purpose it prohibits (or with no purpose: fail closed)."""
    r = Resolver()
    cc = "https://creativecommons.org/licenses/"
    research = Query(use="cv-training", purpose="research", at="2026-01-01")
    commercial = Query(use="cv-training", purpose="commercial", at="2026-01-01")
    anything = Query(use="cv-training", at="2026-01-01")
    assert r.license_class(f"{cc}by/2.0/", research) == r.license_class(f"{cc}by/4.0/", research)
    assert r.license_class(f"{cc}by/2.0/", research) == r.license_class(f"{cc}by-nc/2.0/", research)
    assert r.license_class(f"{cc}by/2.0/", commercial) != r.license_class(f"{cc}by-nc/2.0/", commercial)
    assert r.license_class(f"{cc}by/2.0/", anything) != r.license_class(f"{cc}by-nc/2.0/", anything)
    assert r.license_class(f"{cc}by/2.0/", research) != r.license_class(f"{cc}by-sa/2.0/", research)  # share-alike
    # ... which binds only uses whose results may be adaptations: not data mining
    mining = Query(use="data-mining", purpose="research", at="2026-01-01")
    assert r.license_class(f"{cc}by/2.0/", mining) == r.license_class(f"{cc}by-sa/2.0/", mining)
    assert r.license_class(f"{cc}by/2.0/", research) != r.license_class(
        "https://creativecommons.org/publicdomain/zero/1.0/", research)  # attribution
    assert r.license_class("https://example.com/own", research) == r.license_class("https://example.com/b", research)
    # a known license that adds no obligation and prohibits no purpose is as no license
    pd = "https://creativecommons.org/publicdomain/"
    none = r.license_class(None, research)
    assert r.license_class(f"{pd}zero/1.0/", research) == r.license_class(f"{pd}mark/1.0/", research) == none
    assert len({r.license_class(x, research) for x in (None, "https://example.com/own", f"{cc}by/2.0/")}) == 3


@pytest.mark.parametrize("iri", [
    "https://creativecommons.org/licenses/by/4.0/de/",  # 4.0 has no ports
    "https://creativecommons.org/licenses/by/5.0/",
    "https://creativecommons.org/licenses/by-nc-nd/1.0/",  # 1.0 spelled it by-nd-nc
    "https://creativecommons.org/licenses/foo/2.0/",
    "https://example.com/licenses/by/2.0/",
    "https://creativecommons.org/",
    "not a url",
])
def test_unknown_licenses(iri: str) -> None:
    assert lookup(iri) is None


def test_spdx_ids_and_flickr_ids() -> None:
    assert normalize("CC-BY-SA-4.0") == "https://creativecommons.org/licenses/by-sa/4.0/"
    assert normalize("https://spdx.org/licenses/CC0-1.0.html") == "https://creativecommons.org/publicdomain/zero/1.0/"
    expected = {0: None, 1: "by-nc-sa/2.0/", 2: "by-nc/2.0/", 3: "by-nc-nd/2.0/", 4: "by/2.0/", 5: "by-sa/2.0/",
                6: "by-nd/2.0/", 9: "publicdomain/zero/1.0/", 10: "publicdomain/mark/1.0/"}
    for flickr_id, tail in expected.items():
        iri = flickr_license(flickr_id)
        assert (iri is None) if tail is None else (iri is not None and iri.endswith(tail))
        if iri is not None:
            assert lookup(iri) is not None, iri
    for flickr_id in (7, 8):
        iri = flickr_license(str(flickr_id))
        assert iri is not None
        info = lookup(iri)
        assert info is not None
        assert info.public_domain
    assert flickr_license(11) is None


# -- jurisdictions -----------------------------------------------------------------------------------------


def test_jurisdiction_areas() -> None:
    j = Jurisdictions.bundled()

    def area(code: str) -> Area:
        found = j.area(code)
        assert found is not None, code
        return found

    us, il, tx, de, eu, eea = (area(c) for c in ("US", "US-IL", "US-TX", "DE", "EU", "EEA"))
    assert il.within(us)
    assert not us.within(il)
    assert us.overlaps(il)
    assert il.overlaps(us)
    assert not il.overlaps(tx)
    assert de.within(eu)
    assert eu.overlaps(de)
    assert eu.within(eea)
    assert not us.overlaps(eu)
    assert len(j.groups["EU"]) == 27
    assert "GR" in j.groups["EU"]
    assert "GB" not in j.groups["EU"]
    assert j.area("Illinois") is None


def test_laws() -> None:
    j = Jurisdictions.bundled()
    assert {law.area.code for law in j.consent_laws("US")} == {"US-IL", "US-TX", "US-WA"}
    assert {law.area.code for law in j.consent_laws("FR")} == {"EU", "EEA"}
    assert j.consent_laws("JP") == ()
    assert len(j.consent_laws(None)) == len(j.biometric_consent)
    assert all(law.citation and law.url.startswith("https://") for law in j.biometric_consent)
    assert j.research_exception("DE") is not None
    assert j.research_exception("EU") is not None
    assert j.research_exception("US") is None
    assert j.research_exception("NO") is None
    assert j.research_exception(None) is None


# -- decisions ---------------------------------------------------------------------------------------------


def test_explanation_sentence_for_no_cv() -> None:
    rec = record(owner="flickr:1@N00", license="https://creativecommons.org/licenses/by/2.0/", tags=["no_cv"])
    decision = resolve(rec, Query("computer-vision", purpose="research", at=AT))
    assert explain(decision) == "Not allowed: computer-vision is prohibited by the rights holder's tag no_cv."
    reason = decision.reasons[0]
    assert (reason.step, reason.effect, reason.rule, reason.role, reason.party, reason.signal) == (
        "alg-authority", "prohibit", "/tags/0", "rights-holder", "flickr:1@N00", "tag")
    assert explain(resolve(rec, Query("search-indexing", at=AT))).startswith("Unspecified: nothing in the record")


@pytest.mark.parametrize("role", ["platform", "dataset-curator"])
def test_unrecognized_license_holds_back_a_default_permission(role: str) -> None:
    """req-resolve-unknown-license: the license is the rights holder's, with unknown terms: the default does not
    decide, and the decision says why (step alg-license, pointer /license, the owner as party)."""
    decl = {"declaredBy": {"id": "https://site.example", "role": role},
            "rules": [{"effect": "permit", "use": "ai-training", "duties": ["attribution"]}]}
    known = record(owner="example:kim", license="https://creativecommons.org/licenses/by/4.0/", declarations=[decl])
    unknown = {**known, "license": "https://creativecommons.org/licenses/by/4.1/"}
    query = Query("ai-training", purpose="research", at=AT)
    assert resolve(known, query).outcome == "constrained"
    for rec in (unknown, Record.from_json(unknown)):
        decision = resolve(rec, query)
        assert (decision.outcome, decision.obligations) == ("unspecified", ())
        first = decision.reasons[0]
        assert (first.step, first.rule, first.party, first.role, first.signal) == (
            "alg-license", "/license", "example:kim", "rights-holder", "license")
        assert ("unknown-license", "/license") in {(w.code, w.path) for w in decision.warnings}
        assert explain(decision).startswith("Unspecified: ai-training is permitted only by a platform or dataset "
                                            "curator, and the license 'https://creativecommons.org/licenses/by/4.1/'")
    no_license = {k: v for k, v in unknown.items() if k != "license"}
    assert resolve(no_license, query).outcome == "constrained"  # no license at all: the default decides


def test_reasons_name_declaration_rule_party_role() -> None:
    rec = record(declarations=[{"declaredBy": {"id": "example:a", "role": "rights-holder"},
                                "rules": [{"effect": "prohibit", "use": "search-indexing"},
                                          {"effect": "permit", "use": "ai-training", "duties": ["attribution"]}]}])
    decision = resolve(rec, Query("genai-training", at=AT))
    assert decision.outcome == "constrained"
    assert decision.obligations == ("attribution",)
    r = decision.reasons[0]
    assert (r.declaration, r.rule, r.party, r.role, r.effect, r.use) == (
        "/declarations/0", "/declarations/0/rules/1", "example:a", "rights-holder", "permit", "genai-training")
    assert "alg-authority" in decision.steps
    assert decision.steps[-1] == "alg-outcome"


def test_every_step_anchor_is_in_the_spec() -> None:
    text = (ROOT / "spec" / "resolution.md").read_text("utf-8")
    anchors = set(re.findall(r'<a id="([a-z0-9-]+)"></a>', text))
    assert set(STEPS) <= anchors
    cited: set[str] = set()
    for path in (ROOT / "spec" / "conformance" / "resolve").glob("*.json"):
        cited.update(a.split("#")[-1] for a in json.loads(path.read_text("utf-8"))["spec"])
    uncited = {a for a in anchors if a.startswith("req-")} - cited
    assert not uncited, f"requirements of resolution.md no resolver case cites: {sorted(uncited)}"


def test_resolver_codes_are_registered() -> None:
    for code in ("unknown-use-in-query", "invalid-query-value", "record-invalid-not-resolved"):
        assert codes.table()[code]["section"] == "resolution"


def test_model_with_unknown_use_is_not_resolved() -> None:
    rec = Record(declarations=(Declaration(Party("rights-holder"), rules=(
        Rule("permit", "ai-training", path="/declarations/0/rules/0"),
        Rule("prohibit", "train-ai", path="/declarations/0/rules/1")), path="/declarations/0"),))
    decision = resolve(rec, Query("ai-training", at=AT))
    assert decision.outcome == "unspecified"
    assert ("record-invalid-not-resolved", "/declarations/0/rules/1/use") in {(w.code, w.path) for w in
                                                                               decision.warnings}


def test_model_with_consent_of_a_rights_holder_is_not_resolved() -> None:
    rec = Record(declarations=(Declaration(Party("rights-holder"), rules=(Rule("permit", "ai-use"),),
                                           consent=(Consent("biometric", "given", path="/c"),)),))
    assert resolve(rec, Query("face-recognition", jurisdiction="JP", at=AT)).outcome == "unspecified"


def test_model_warnings_for_tags_and_license() -> None:
    rec = Record(owner="x", tags=("no_cvv", "n\u043e_cv", "portrait"), license="https://example.com/l")
    decision = resolve(rec, Query("computer-vision", at=AT))
    assert decision.outcome == "unspecified"
    assert {(w.code, w.path) for w in decision.warnings} == {
        ("tag-near-miss", "/tags/0"), ("tag-confusable", "/tags/1"), ("unknown-license", "/license")}


def test_resolve_bytes_and_unresolved() -> None:
    good = json.dumps(record(tags=["noai"])).encode()
    [decision] = resolve_bytes(good, Query("ai-training", at=AT))
    assert decision.outcome == "notAllowed"
    [broken] = resolve_bytes(b'{"@context": ', Query("ai-training", at=AT))
    assert broken.outcome == "unspecified"
    assert {"record-invalid-not-resolved", "json-syntax"} <= {w.code for w in broken.warnings}
    gone = unresolved(Query("ai-training", at=AT), [])
    assert gone.outcome == "unspecified"
    assert gone.warnings[0].code == "record-invalid-not-resolved"


def test_a_custom_vocabulary() -> None:
    """The resolver works over any vocabulary with the same schemes (here: a three-use taxonomy)."""
    def concepts(ids: dict[str, list[str]]) -> dict[str, Any]:
        return {i: {"iri": f"https://example.org/{i}", "label": i, "definition": f"{i}.", "broader": b}
                for i, b in ids.items()}

    bundled = Vocabulary.bundled()
    data = {"version": "test", "schemes": {
        "use": concepts({"data-mining": [], "ai-use": ["data-mining"], "biometric": ["ai-use"],
                         "face-recognition": ["biometric"]}),
        **{s: concepts({i: [] for i in bundled.ids(s)}) for s in bundled.schemes if s != "use"}}}
    small = Resolver(Vocabulary(data))
    rec = Record(depicted_persons=1, declarations=(Declaration(
        Party("rights-holder", "example:a"), rules=(Rule("permit", "ai-use", path="/declarations/0/rules/0"),),
        path="/declarations/0"),))
    decision = small.resolve(rec, Query("face-recognition", jurisdiction="US-IL", at=AT))
    assert (decision.outcome, decision.obligations) == ("constrained", ("obtain-consent",))
    assert small.resolve(rec, Query("ai-training", at=AT)).warnings[0].code == "unknown-use-in-query"


@pytest.mark.parametrize("bad", [
    Record(tags=(1,)),  # type: ignore[arg-type]
    Record(license=["x"]),  # type: ignore[arg-type]
    Record(declarations=(Declaration(Party("rights-holder"), rules=(Rule("permit", ["ai-training"]),)),)),  # type: ignore[arg-type]
    Record(declarations=(Declaration(Party("rights-holder"), rules=(
        Rule("permit", "ai-use", jurisdiction=(["US"],)),)),)),  # type: ignore[arg-type]
    Record(declarations=(Declaration(Party(None), issued=2020),)),  # type: ignore[arg-type]
    Record(declarations=("not a declaration",)),  # type: ignore[arg-type]
    Record(declarations=(Declaration(Party("depicted-person"), consent=(Consent("biometric", None),)),)),  # type: ignore[arg-type]
    Record(depicted_persons=True),
])
def test_models_with_wrong_types_are_not_resolved(bad: Record) -> None:
    decision = resolve(bad, Query("ai-use", at=AT))
    assert decision.outcome == "unspecified"
    assert decision.warnings[0].code == "record-invalid-not-resolved"


def test_queries_with_wrong_types_are_answered() -> None:
    decision = resolve(record(), Query(["ai-training"], at=AT))  # type: ignore[arg-type]
    assert decision.outcome == "unspecified"
    assert decision.warnings[0].code == "invalid-query-value"
