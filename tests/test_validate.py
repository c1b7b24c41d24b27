"""aiterms.validation and aiterms.parse: the API, the layers, and properties over generated documents."""

from __future__ import annotations

import copy
import io
import json
import os
import socket
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from aiterms import parse
from aiterms import validation as validate
from aiterms.report import Issue, Report, Severity
from aiterms.validation import InvalidDocument, check, check_text, is_valid, iter_issues, iter_jsonl
from aiterms.vocab import CONTEXT_IRI, Vocabulary

# AITERMS_VALIDATE_EXAMPLES=2000 for a longer run (make fuzz); the default keeps make test fast.
SETTINGS = settings(max_examples=int(os.environ.get("AITERMS_VALIDATE_EXAMPLES", "60")), deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])


def rec(**kw: Any) -> dict[str, Any]:
    return {"@context": CONTEXT_IRI, "type": "ImageRecord", **kw}


def rule(effect: str = "prohibit", use: str = "ai-use", **kw: Any) -> dict[str, Any]:
    return {"effect": effect, "use": use, **kw}


def decl(*rules: dict[str, Any], role: str = "rights-holder", pid: str | None = "flickr:1@N00",
         **kw: Any) -> dict[str, Any]:
    by: dict[str, Any] = {"role": role}
    if pid:
        by["id"] = pid
    d: dict[str, Any] = {"declaredBy": by, **kw}
    if rules:
        d["rules"] = list(rules)
    return d


def pairs(report: Report) -> set[tuple[str, str]]:
    return {(i.code, i.path) for i in report.issues}


# ---------------------------------------------------------------------------------------------------------
# API


def test_valid_record_has_empty_report() -> None:
    report = check(rec(tags=["no_cv"]))
    assert report.valid
    assert report.issues == ()
    assert is_valid(rec())
    assert validate.validate(rec()) is None


def test_validate_raises_with_the_report() -> None:
    doc = rec(declarations=[decl(rule(use="train"))])
    with pytest.raises(InvalidDocument) as info:
        validate.validate(doc)
    assert info.value.report == check(doc)
    assert info.value == InvalidDocument(check(doc))
    assert "did you mean 'ai-training'" in str(info.value)
    assert str(info.value).endswith("https://w3id.org/aiterms/spec/validation#req-known-use")
    assert isinstance(info.value, ValueError)


def test_iter_issues_matches_check() -> None:
    doc = rec(tags=["sunset", "no_cvv"], declarations=[decl(rule(use="train"))])
    assert tuple(iter_issues(doc)) == check(doc).issues
    assert [i.code for i in iter_issues(doc)] == ["unknown-use", "unknown-tag", "tag-near-miss"]


def test_aiterms_package_exports_the_api() -> None:
    import aiterms

    assert aiterms.check is check
    assert aiterms.is_valid is is_valid
    assert aiterms.InvalidDocument is InvalidDocument
    # the module is aiterms.validation (imported above), so aiterms.validate stays the function
    assert aiterms.validate is validate.validate
    assert aiterms.validation is validate
    assert aiterms.validate(rec()) is None
    with pytest.raises(InvalidDocument):
        aiterms.validate(rec(type="x"))


def test_text_and_bytes_input() -> None:
    text = json.dumps(rec(tags=["noai"]))
    assert check(text).valid
    assert check(text.encode()).valid
    bad = check('{"@context": ')
    assert [(i.code, i.line) for i in bad.issues] == [("json-syntax", 1)]


def test_turtle_text_input() -> None:
    ttl = ("@prefix aiterms: <https://w3id.org/aiterms/> .\n"
           "<https://example.org/i> a aiterms:ImageRecord ; aiterms:tags \"noai\" .\n")
    assert check(ttl).valid
    assert [r.valid for r in check_text(ttl, name="x.ttl")] == [True]


EVIL = "\x1b[2J\u202eevil" + "x" * 4000  # clears a terminal, reverses the text, and is long


@pytest.mark.parametrize("doc", [
    rec(declarations=[decl(rule(use=EVIL))]),  # meaning layer: unknown-use
    rec(tags=[EVIL]),  # tags: unknown-tag
    rec(contentHash=EVIL),  # schema layer: jsonschema's message quotes the instance
    rec(declarations=[decl(issued=EVIL)]),  # invalid-date
    rec(declarations=[decl(role=EVIL)]),  # unknown-role
    rec(license=EVIL),  # unknown-license
], ids=["use", "tag", "schema", "date", "role", "license"])
def test_messages_quote_untrusted_values_bounded(doc: dict[str, Any]) -> None:
    """security#req-quote-untrusted: a message echoes at most a bounded prefix of an untrusted value, with control
    and bidi-override characters escaped, in every layer (JSON output may carry the value itself, as JSON)."""
    issues = check(doc).issues
    assert issues
    for i in issues:
        for text in (i.message, i.to_text()):
            assert "\x1b" not in text, text
            assert "\u202e" not in text, text
            assert len(text) < 600, len(text)
        assert "\\u001b" in i.message or "\\x1b" in i.message, i.message  # shown as an escape


def test_did_you_mean_uses_mapping_tokens() -> None:
    def hint(use: str) -> str:
        return check(rec(declarations=[decl(rule(use=use))])).issues[0].message

    assert "did you mean 'ai-training'" in hint("train")
    assert "did you mean 'data-mining'" in hint("tdm")
    assert "did you mean 'face-recognition'" in hint("face_recognition")
    assert "did you mean" not in hint("zzzzzz")


def test_strict_changes_only_tag_findings() -> None:
    doc = rec(tags=["sunset", "do-not-train"], license="https://example.com/l")
    loose, strict = check(doc), check(doc, strict=True)
    assert pairs(loose) == pairs(strict)
    sev = {i.code: i.severity for i in strict.issues}
    assert sev == {"unknown-tag": Severity.ERROR, "deprecated-tag": Severity.WARNING,
                   "unknown-license": Severity.WARNING}
    assert loose.valid
    assert not strict.valid


def test_deprecated_term_names_the_replacement() -> None:
    data = json.loads(json.dumps({"version": "test", "schemes": {
        scheme: {cid: {**c.to_json(), "replacedBy": None} for cid, c in concepts.items()}
        for scheme, concepts in Vocabulary.bundled().schemes.items()}}))
    use = data["schemes"]["use"]["cv-training"]
    use["status"], use["replacedBy"] = "deprecated", "computer-vision"
    vocab = Vocabulary(data)
    report = check(rec(declarations=[decl(rule(use="cv-training"))]), vocabulary=vocab)
    assert [(i.code, i.path, i.severity) for i in report.issues] == [
        ("deprecated-term", "/declarations/0/rules/0/use", Severity.WARNING)]
    assert "'computer-vision'" in report.issues[0].message
    assert report.valid


def test_not_json_values_are_coded_not_raised() -> None:
    for value in ({1: "a"}, {"a": float("nan")}, {"a": {1, 2}}, (1, 2), object()):
        report = check(value)
        assert [i.code for i in report.issues] == ["json-syntax"], value


def test_contradiction_reports_the_later_rule_of_each_pair() -> None:
    doc = rec(declarations=[decl(rule("permit"), rule("prohibit"), rule("prohibit"))])
    assert [(i.code, i.path) for i in check(doc).issues] == [
        ("contradictory-rules", "/declarations/0/rules/1"), ("contradictory-rules", "/declarations/0/rules/2")]


def test_anonymous_parties_are_not_compared_across_declarations() -> None:
    doc = rec(declarations=[decl(rule("permit"), pid=None), decl(rule("prohibit"), pid=None)])
    assert check(doc).valid


def test_issue_json_shape() -> None:
    out = check(rec(declarations=[decl(rule(use="train"))])).to_json()
    assert out["valid"] is False
    (issue,) = out["issues"]
    assert issue["code"] == "unknown-use"
    assert issue["severity"] == "error"
    assert issue["path"] == "/declarations/0/rules/0/use"
    assert issue["spec"] == "https://w3id.org/aiterms/spec/validation#req-known-use"


def test_every_emitted_code_is_registered_in_validation_md() -> None:
    from aiterms.codes import table

    for code in validate.KEYWORD_CODES.values():
        assert table()[code]["section"] == "validation"
    for code in ("unknown-use", "contradictory-rules", "invalid-date", "json-syntax", "jsonld-expansion"):
        assert table()[code]["section"] == "validation"


# ---------------------------------------------------------------------------------------------------------
# Syntax layer


@pytest.mark.parametrize(("name", "head", "fmt"), [
    ("a.json", b"@prefix", "json"), ("a.JSONLD", b"", "json"), ("a.jsonl", b"{", "jsonl"),
    ("a.ndjson", b"", "jsonl"), ("a.ttl", b"{", "turtle"), (None, b"  {\"a\": 1}", "json"),
    (None, b'{"a": 1}\n{"a": 2}\n', "jsonl"), (None, b'{"a":\n 1}\n', "json"), (None, b"[1]", "json"),
    (None, b"@prefix a: <b> .", "turtle"), (None, b"<a> <b> <c> .", "turtle"), (None, b"\xef\xbb\xbf{}", "json"),
])
def test_detect_format(name: str | None, head: bytes, fmt: str) -> None:
    assert parse.detect_format(name, head) == fmt


def test_json_error_line_and_column() -> None:
    (doc,) = parse.load_text('{\n  "type": "ImageRecord",\n  "tags": [1,,]\n}')
    (err,) = doc.issues
    assert (err.code, err.line, err.column) == ("json-syntax", 3, 14)


@pytest.mark.parametrize("text", ['{"a": NaN}', '{"a": Infinity}', '"\\ud800"', "{'a': 1}", "", "{} {}"])
def test_not_json(text: str) -> None:
    assert [i.code for i in check(text).issues] in (["json-syntax"], ["turtle-syntax"])


def test_bom_is_ignored() -> None:
    assert check(b"\xef\xbb\xbf" + json.dumps(rec()).encode()).valid


def test_invalid_utf8() -> None:
    assert [i.code for i in check(b'{"a": "\xff"}').issues] == ["json-syntax"]


def test_deep_json_is_refused_before_parsing() -> None:
    text = "[" * 5000 + "]" * 5000
    assert [i.code for i in check(text).issues] == ["limit-json-depth"]


def test_deep_value_is_refused() -> None:
    deep: Any = "x"
    for _ in range(100):
        deep = [deep]
    assert "limit-json-depth" in {i.code for i in check(rec(tags=deep)).issues}


def lines_of(*records: Any) -> bytes:
    return b"".join((r if isinstance(r, bytes) else json.dumps(r).encode()) + b"\n" for r in records)


def test_jsonl_stream_goes_on_after_bad_lines() -> None:
    data = lines_of(rec(), b"{oops", b"", b"   ", rec(declarations=[decl(rule(use="train"))]), b"[1, 2]", rec())
    results = list(iter_jsonl(io.BytesIO(data)))
    assert [n for n, _ in results] == [1, 2, 5, 6, 7]
    assert [r.valid for _, r in results] == [True, False, False, False, True]
    assert results[1][1].issues[0].code == "jsonl-syntax"
    assert results[1][1].issues[0].line == 2
    assert results[2][1].issues[0].code == "unknown-use"


def test_jsonl_over_long_line_is_skipped(monkeypatch: pytest.MonkeyPatch) -> None:
    from aiterms import limits

    monkeypatch.setattr(limits, "MAX_LINE_BYTES", 100)
    data = lines_of(rec(), rec(tags=["x" * 200]), rec())
    results = list(iter_jsonl(io.BytesIO(data)))
    assert [(n, r.valid) for n, r in results] == [(1, True), (2, False), (3, True)]
    assert results[1][1].issues[0].code == "limit-line-length"


def test_jsonl_iterable_of_lines() -> None:
    assert [r.valid for _, r in iter_jsonl([json.dumps(rec()).encode() + b"\n", b"nope\n"])] == [True, False]


def test_turtle_syntax_has_line() -> None:
    (doc,) = parse.load_text("@prefix a: <https://e/> .\n\na:x a:y .\n", name="x.ttl")
    assert doc.issues[0].code == "turtle-syntax"
    assert doc.issues[0].line == 3


# ---------------------------------------------------------------------------------------------------------
# JSON-LD layer: the bundled context only, never fetched


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("network access attempted")

    monkeypatch.setattr(socket, "socket", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr("urllib.request.urlopen", refuse)
    from rdflib.plugins.shared.jsonld import context as ctxmod

    monkeypatch.setattr(ctxmod, "source_to_json", refuse)


@pytest.mark.usefixtures("no_network")
@pytest.mark.parametrize("doc", [
    rec(**{"@context": "https://example.org/ctx.jsonld"}),
    {"@context": ["https://example.org/ctx.jsonld"], "@graph": []},
    [{"@context": "https://example.org/ctx.jsonld", "@id": "https://e/i"}],
    {"@context": {"@import": "https://example.org/ctx.jsonld"}, "type": "ImageRecord"},
    {"@context": CONTEXT_IRI, "@graph": [{"@context": "https://example.org/x", "type": "ImageRecord"}]},
    [{"@id": "https://e/i", "https://e/p": {"@context": "https://example.org/y", "@value": "v"}}],
])
def test_foreign_contexts_are_reported_never_fetched(doc: Any) -> None:
    codes = {i.code for i in check(doc).issues}
    assert codes == {"context-not-bundled"}


@pytest.mark.usefixtures("no_network")
def test_graph_route_never_fetches_even_when_rdflib_is_asked() -> None:
    with pytest.raises(parse.GraphError):
        parse.graph_from_jsonld({"@context": "https://example.org/ctx.jsonld", "@id": "https://e/i"})


@pytest.mark.usefixtures("no_network")
def test_inline_bundled_context_is_accepted() -> None:
    doc = rec(tags=["noai"])
    doc["@context"] = parse.bundled_context()
    assert check(doc).valid
    doc["@context"] = parse.bundled_context()["@context"]
    assert check(doc).valid


def test_context_missing_is_still_checked() -> None:
    doc = {"type": "ImageRecord", "license": "https://example.com/x"}
    assert pairs(check(doc)) == {("context-missing", ""), ("unknown-license", "/license")}


def test_non_object_documents() -> None:
    for value in (None, 1, "x", True, [], [1, 2]):
        report = check(value) if not isinstance(value, str) else check(json.dumps(value))
        assert not report.valid


# ---------------------------------------------------------------------------------------------------------
# Strategies: canonical records (structurally valid, with and without meaning findings)

USES = sorted(Vocabulary.bundled().ids("use"))
PURPOSES = sorted(Vocabulary.bundled().ids("purpose"))
ACTORS = sorted(Vocabulary.bundled().ids("actor"))
DUTIES = sorted(Vocabulary.bundled().ids("obligation"))
DATES = ["2019-01-01", "2020-06-30T12:00:00Z", "2021-01-01", "2019-02-30", "2020-01-01T00:00:00+01:00"]
TAGS = ["no_cv", "No CV", "noai", "sunset", "family", "no_cvv", "n\u043eai", "do_not_train", "research_only"]
LICENSES = ["https://creativecommons.org/licenses/by/2.0/", "https://creativecommons.org/publicdomain/zero/1.0/",
            "https://example.com/license"]


# The ids a generated record draws from: the registered ones, or those plus unregistered ones (a misspelling,
# another signal's token, an id of another scheme, the name of a context term) that must be reported the same in
# every form of the record (the context maps them into their scheme's namespace instead of dropping them).
KNOWN: dict[str, list[str]] = {"use": USES, "purpose": PURPOSES, "actor": ACTORS, "duties": DUTIES,
                               "role": ["rights-holder", "depicted-person", "platform", "dataset-curator"],
                               "effect": ["permit", "prohibit"], "status": ["given", "refused"]}
UNREGISTERED = ["train", "Face-ID", "tdm", "research", "rights-holder", "tags", "x_1"]
WITH_UNKNOWN: dict[str, list[str]] = {k: [*v, *(u for u in UNREGISTERED if u not in v)] for k, v in KNOWN.items()}
WITH_UNKNOWN["effect"] = [*KNOWN["effect"], "allow"]
WITH_UNKNOWN["status"] = [*KNOWN["status"], "yes"]


def subset(items: list[str]) -> st.SearchStrategy[list[str]]:
    return st.lists(st.sampled_from(items), min_size=1, max_size=3, unique=True)


@st.composite
def rules(draw: st.DrawFn, ids: dict[str, list[str]] = KNOWN) -> dict[str, Any]:
    r: dict[str, Any] = {"effect": draw(st.sampled_from(ids["effect"])), "use": draw(st.sampled_from(ids["use"]))}
    for key, items in (("purpose", ids["purpose"]), ("actor", ids["actor"]),
                       ("jurisdiction", ["EU", "US", "US-IL", "DE"]), ("duties", ids["duties"])):
        if draw(st.booleans()) and draw(st.booleans()):
            r[key] = draw(subset(items))
    for key in ("from", "until"):
        if draw(st.integers(0, 3)) == 0:
            r[key] = draw(st.sampled_from(DATES))
    return r


@st.composite
def declarations(draw: st.DrawFn, ids: dict[str, list[str]] = KNOWN) -> dict[str, Any]:
    role = draw(st.sampled_from(ids["role"]))
    by: dict[str, Any] = {"role": role}
    if draw(st.booleans()):
        by["id"] = f"example:{role}-{draw(st.integers(0, 1))}"  # an account id is never shared by two roles
        if by["id"].endswith("-0"):
            by["name"] = f"name of {by['id']}"  # an account is one node in RDF: its name is in every declaration
    d: dict[str, Any] = {"declaredBy": by}
    for key in ("issued", "effectiveFrom", "until"):
        if draw(st.integers(0, 2)) == 0:
            d[key] = draw(st.sampled_from(DATES))
    if draw(st.booleans()):
        d["rules"] = draw(st.lists(rules(ids), min_size=1, max_size=3))
    if draw(st.integers(0, 3)) == 0:
        d["consent"] = [{"use": draw(st.sampled_from(ids["use"])), "status": draw(st.sampled_from(ids["status"]))}]
    if draw(st.integers(0, 3)) == 0:
        d["source"] = {"signal": "plus", "raw": "x", "observed": draw(st.sampled_from(DATES))}
    return d


@st.composite
def records(draw: st.DrawFn, ids: dict[str, list[str]] = KNOWN) -> dict[str, Any]:
    r = rec()
    if draw(st.booleans()):
        r["id"] = f"https://example.org/img/{draw(st.integers(0, 9))}"
    if draw(st.booleans()):
        r["tags"] = draw(st.lists(st.sampled_from(TAGS), max_size=4, unique=True))
    if draw(st.booleans()):
        r["license"] = draw(st.sampled_from(LICENSES))
    if draw(st.booleans()):
        r["depictedPersons"] = draw(st.one_of(st.integers(0, 5), st.just("unknown")))
    if draw(st.booleans()):
        r["declarations"] = draw(st.lists(declarations(ids), min_size=1, max_size=3))
    return r


@st.composite
def mutated_records(draw: st.DrawFn) -> Any:
    """A generated record with one part replaced by an arbitrary JSON value (the schema and meaning layers must
    cope with any shape)."""
    r = draw(records({**KNOWN, "use": [*USES[:4], "train", "Face-ID"]}))
    json_values = st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=5),
                               lambda c: st.lists(c, max_size=3) | st.dictionaries(st.text(max_size=5), c, max_size=3),
                               max_leaves=6)
    paths: list[list[Any]] = [[]]
    stack: list[tuple[list[Any], Any]] = [([], r)]
    while stack:
        p, v = stack.pop()
        items = v.items() if isinstance(v, dict) else enumerate(v) if isinstance(v, list) else ()
        for k, child in items:
            paths.append([*p, k])
            stack.append(([*p, k], child))
    target = draw(st.sampled_from(paths))
    value = draw(json_values)
    if not target:
        return value
    node = r
    for k in target[:-1]:
        node = node[k]
    node[target[-1]] = value
    return r


JSON = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False)
                    | st.text(max_size=8),
                    lambda c: st.lists(c, max_size=4) | st.dictionaries(st.text(max_size=8), c, max_size=4),
                    max_leaves=20)


# ---------------------------------------------------------------------------------------------------------
# Properties


@SETTINGS
@given(JSON)
def test_totality_any_json_value(value: Any) -> None:
    report = check(value)
    assert isinstance(report, Report)
    assert all(isinstance(i, Issue) and i.code for i in report.issues)


@SETTINGS
@given(st.one_of(st.text(max_size=60), st.binary(max_size=60)))
def test_totality_any_text(text: str | bytes) -> None:
    assert isinstance(check(text), Report)


@SETTINGS
@given(mutated_records())
def test_totality_and_agreement_on_mutated_records(doc: Any) -> None:
    report = check(doc)
    assert is_valid(doc) == report.valid == (not any(i.severity is Severity.ERROR for i in iter_issues(doc)))


@SETTINGS
@given(st.one_of(records(), mutated_records()))
def test_fast_engine_agrees_with_reference_engine(doc: Any) -> None:
    fast = check(doc)
    validate.use_fast_engine(False)
    try:
        slow = check(doc)
    finally:
        validate.use_fast_engine(True)
    assert fast == slow


def assert_stream_agrees_with_reference_engine(data: bytes) -> None:
    """iter_jsonl with jsonschema-rs (and its inline path) reports what the reference engine reports, line by line."""
    fast = list(iter_jsonl(io.BytesIO(data)))
    validate.use_fast_engine(False)
    try:
        slow = list(iter_jsonl(io.BytesIO(data)))
    finally:
        validate.use_fast_engine(True)
    assert fast == slow


@SETTINGS
@given(st.lists(st.one_of(records(), mutated_records()), min_size=1, max_size=4))
def test_jsonl_stream_agrees_with_reference_engine(docs: list[Any]) -> None:
    """iter_jsonl's inline path (small canonical records) reports what the reference engine reports per line."""
    data = b"".join(json.dumps(d, ensure_ascii=False).encode("utf-8", "surrogatepass") + b"\n" for d in docs)
    assert_stream_agrees_with_reference_engine(data)


@pytest.mark.parametrize("when", ["2024-01-01T24:00:00Z", "2024-01-01T23:60:00Z", "2024-01-01T23:59:60Z",
                                  "2024-02-30T10:00:00Z", "2023-02-29", "2024-02-29", "2024-13-01", "2024-00-10",
                                  "2024-04-31T00:00:00Z", "2024-12-31T23:59:59Z", "2024-06-01t10:00:00z",
                                  "2024-06-01T10:00:00.5+02:00", "2024-06-01T10:00:00+24:00"])
@pytest.mark.parametrize("where", ["issued", "effectiveFrom", "until", "observed", "from"])
def test_jsonl_stream_dates_agree_with_reference_engine(when: str, where: str) -> None:
    """The inline date check (req-valid-date) on every date field, against the reference engine."""
    decl: dict[str, Any] = {"declaredBy": {"id": "flickr:1@N00", "role": "rights-holder"},
                            "rules": [{"effect": "prohibit", "use": "ai-training"}]}
    if where == "from":
        decl["rules"][0]["from"] = when
    elif where == "observed":
        decl["source"] = {"signal": "plus", "observed": when}
    else:
        decl[where] = when
    doc = {**rec(), "tags": ["sunset"], "declarations": [decl]}
    data = json.dumps(doc).encode() + b"\n"
    assert_stream_agrees_with_reference_engine(data)


@SETTINGS
@given(records())
def test_fast_meaning_path_agrees_with_the_requirement_functions(doc: dict[str, Any]) -> None:
    """_meaning_fast returns the issues of the full checks, or None (then the full checks run)."""
    if validate.schema_issues(doc):
        return
    ctx = validate._context(False)
    quick = validate._meaning_fast(doc, ctx)
    full = validate.meaning_issues(doc, ctx)
    if quick is not None:
        assert quick == full
        return
    # None only when the full checks have something beyond tag findings, or a party permits and prohibits one use
    tag_codes = {"unknown-tag", "tag-near-miss", "tag-confusable", "deprecated-tag"}
    effects: dict[tuple[Any, ...], set[str]] = {}
    for di, d in enumerate(doc.get("declarations", ())):
        party = (d["declaredBy"]["role"], d["declaredBy"].get("id") or di)
        for r in d.get("rules", ()):
            effects.setdefault((party, r["use"]), set()).add(r["effect"])
    assert any(i.code not in tag_codes for i in full) or any(len(e) == 2 for e in effects.values())


def test_fast_path_on_synthetic_records() -> None:
    synth = pytest.importorskip("aiterms.bench.synth")
    data = b"".join(synth.lines(500, 7))
    fast = [r for _, r in iter_jsonl(io.BytesIO(data))]
    slow = []
    validate.use_fast_engine(False)
    try:
        for line in data.splitlines():
            value = json.loads(line)
            slow.append(Report.of(validate._merge((), validate.schema_issues(value),
                                                  validate.meaning_issues(value, validate._context(False)))))
    finally:
        validate.use_fast_engine(True)
    assert fast == slow


def canonical_order(value: Any) -> Any:
    """Sort every array of a record the way the graph route does (req-graph-to-record), bottom-up."""
    if isinstance(value, dict):
        return {k: (sorted((canonical_order(x) for x in v), key=parse._sort_key)
                    if isinstance(v, list) and k != "@context" else canonical_order(v)) for k, v in value.items()}
    return value


@SETTINGS
@given(st.one_of(records(), records(WITH_UNKNOWN)))
def test_same_findings_in_compact_expanded_and_turtle(doc: dict[str, Any]) -> None:
    """Unregistered ids included: ``"use": "train"`` is ``unknown-use`` in every form, never dropped."""
    compact = canonical_order(doc)
    graph = parse.graph_from_jsonld(copy.deepcopy(compact))
    expanded = json.loads(graph.serialize(format="json-ld"))
    turtle = graph.serialize(format="turtle")
    want = pairs(check(compact))
    assert pairs(check(expanded)) == want
    assert pairs(Report.of(i for r in check_text(turtle, format="turtle") for i in r.issues)) == want


@SETTINGS
@given(st.one_of(records(), records(WITH_UNKNOWN)))
def test_graph_round_trip_gives_the_canonical_record_back(doc: dict[str, Any]) -> None:
    compact = canonical_order(doc)
    (back,) = parse.records_from_graph(parse.graph_from_jsonld(copy.deepcopy(compact)))
    # an empty array says nothing in RDF, so the graph cannot carry it
    assert back == {k: v for k, v in compact.items() if v != []}


JSONLD_KEYS = ["@id", "@type", "@graph", "@value", "@list", "@set", "@language", "@reverse", "@included",
               "https://w3id.org/aiterms/tags", "https://w3id.org/aiterms/declarations", "https://w3id.org/aiterms/use",
               "https://w3id.org/aiterms/declaredBy", "https://w3id.org/aiterms/role", "id", "type", "tags"]
JSONLD_LEAVES = st.one_of(st.none(), st.booleans(), st.integers(-2, 2),
                          st.sampled_from(["https://w3id.org/aiterms/ImageRecord", "ImageRecord", "_:b0", "x",
                                           "https://e/i", "https://w3id.org/aiterms/use/train", CONTEXT_IRI]))
JSONLD = st.recursive(JSONLD_LEAVES, lambda c: st.lists(c, max_size=3)
                      | st.dictionaries(st.sampled_from(JSONLD_KEYS), c, max_size=4), max_leaves=12)


@SETTINGS
@given(JSONLD, st.sampled_from([None, CONTEXT_IRI, [CONTEXT_IRI]]))
def test_totality_on_jsonld_shapes(value: Any, ctx: Any) -> None:
    """Arbitrary JSON-LD-looking values through the graph route: a report, never an exception."""
    if ctx is not None and isinstance(value, dict):
        value = {"@context": ctx, **value}
    report = check(value)
    assert isinstance(report, Report)
    assert is_valid(value) == report.valid


TURTLE_PIECES = ["@prefix a: <https://w3id.org/aiterms/> .", "<https://e/i> a a:ImageRecord .", "<https://e/i>",
                 "a:declarations", "a:tags", '"noai"', "[", "]", ";", ",", ".", "(", ")", "_:b", "a:rules",
                 "<https://w3id.org/aiterms/use/x>", "42", "\n"]


@SETTINGS
@given(st.lists(st.sampled_from(TURTLE_PIECES), max_size=25))
def test_totality_on_turtle_fragments(pieces: list[str]) -> None:
    text = " ".join(pieces)
    reports = check_text(text, format="turtle")
    assert reports
    assert all(isinstance(r, Report) for r in reports)


def test_jsonl_is_lazy() -> None:
    """Constant memory: results come while the stream is still being read (an endless stream works)."""
    import itertools

    def endless() -> Any:
        line = json.dumps(rec()).encode() + b"\n"
        while True:
            yield line

    first = list(itertools.islice(iter_jsonl(endless()), 3))
    assert [(n, r.valid) for n, r in first] == [(1, True), (2, True), (3, True)]
