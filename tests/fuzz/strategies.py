"""Hypothesis strategies for structured input: almost-valid documents of every format the parsers read.

Each ``<format>()`` strategy draws bytes of that format: mostly well formed, with the real tokens (use ids, PLUS
values, aipref keys, ODRL actions), sprinkled with wrong ones. The ``prohibiting_<format>()`` strategies draw
inputs that only prohibit: whatever the parser does with them, no use may come out ``allowed`` or
``constrained`` (spec/security.md#fail-closed).
"""

from __future__ import annotations

import json
from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from .targets import CONTEXT_IRI, FALLBACK_USES

PURPOSES = ("research", "commercial", "non-commercial", "education", "personal")
ACTORS = ("research-organization", "cultural-heritage-institution", "company", "non-profit", "individual",
          "public-authority")
ROLES = ("rights-holder", "depicted-person", "platform", "dataset-curator")
DUTIES = ("attribution", "share-alike", "obtain-consent", "contact-rights-holder", "compensate")
JURISDICTIONS = ("EU", "US", "US-IL", "DE", "FR", "JP", "GB", "us-il", "XX", "EU-DE")
DATES = ("2019-03-01", "2030-01-01", "2019-03-01T00:00:00Z", "2026-06-01T00:00:00+02:00", "2020-02-30", "yesterday",
         "2026-06-01T00:00:00", "")
TAGS = ("no_cv", "nocv", "no-cv", "noai", "no_ai", "noml", "family", "portrait", "ｎｏ＿ｃｖ", "no_cv\u200b", "NO_CV")
LICENSES = ("https://creativecommons.org/licenses/by/2.0/", "https://creativecommons.org/licenses/by-nc/4.0/",
            "http://creativecommons.org/publicdomain/zero/1.0/", "https://example.com/license", "not a url")
PLUS_VALUES = ("DMI-UNSPECIFIED", "DMI-ALLOWED", "DMI-PROHIBITED-AIMLTRAINING", "DMI-PROHIBITED-GENAIMLTRAINING",
               "DMI-PROHIBITED-EXCEPTSEARCHENGINEINDEXING", "DMI-PROHIBITED", "DMI-PROHIBITED-SEEOTHER",
               "DMI-PROHIBITED-AITRAINING", "allowed", "prohibited", "")
PLUS_PROHIBITING = ("DMI-PROHIBITED-AIMLTRAINING", "DMI-PROHIBITED-GENAIMLTRAINING", "DMI-PROHIBITED")
AIPREF_KEYS = ("train-ai", "train-genai", "search", "ai-use", "bots", "ai", "genai", "train", "foo", "TRAIN-AI")
SIGNAL_KEYS = ("search", "ai-input", "ai-train", "ai-training", "foo")
USER_AGENTS = ("*", "ExampleBot", "examplebot/1.0", "GPTBot", "Google-Extended", "")
PATHS = ("/", "/images/", "/images/*.jpg$", "*", "", "/private", "/%69mages/", "/images/photo.jpg")


def budget(small: int) -> settings:
    """Few examples in ``make test``; the profile's many examples under ``make fuzz`` (--hypothesis-profile=fuzz)."""
    if settings.get_current_profile_name() == "fuzz":
        return settings(settings.default, deadline=None)
    return settings(max_examples=small, deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                           HealthCheck.filter_too_much])


def _one_or_many(strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.one_of(strategy, st.lists(strategy, max_size=3))


junk_text = st.text(max_size=12)
json_scalars = (st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False)
                | st.text(max_size=20))
json_values = st.recursive(json_scalars, lambda c: st.lists(c, max_size=4) | st.dictionaries(
    st.text(max_size=8), c, max_size=4), max_leaves=30)


def _maybe_wrong(good: tuple[str, ...]) -> st.SearchStrategy[Any]:
    return st.one_of(st.sampled_from(good), st.sampled_from(good), st.sampled_from(good), junk_text, json_values)


@st.composite
def rules(draw: st.DrawFn, effects: tuple[str, ...] = ("permit", "prohibit")) -> dict[str, Any]:
    rule: dict[str, Any] = {"effect": draw(st.sampled_from(effects)), "use": draw(_maybe_wrong(FALLBACK_USES))}
    for key, values in (("purpose", PURPOSES), ("actor", ACTORS), ("jurisdiction", JURISDICTIONS),
                        ("duties", DUTIES)):
        if draw(st.booleans()):
            rule[key] = draw(_one_or_many(_maybe_wrong(values)))
    for key in ("from", "until"):
        if draw(st.integers(0, 4)) == 0:
            rule[key] = draw(st.sampled_from(DATES))
    if draw(st.integers(0, 10)) == 0:
        rule[draw(st.text(max_size=6))] = draw(json_values)
    return rule


@st.composite
def records(draw: st.DrawFn, effects: tuple[str, ...] = ("permit", "prohibit"),
            consent: tuple[str, ...] = ("given", "refused", "unknown")) -> dict[str, Any]:
    """Canonical records, mostly valid, with realistic mistakes."""
    record: dict[str, Any] = {"@context": draw(st.sampled_from((CONTEXT_IRI, CONTEXT_IRI, CONTEXT_IRI, [CONTEXT_IRI],
                                                                "https://example.com/ctx"))),
                              "type": draw(st.sampled_from(("ImageRecord", "ImageRecord", "Record", "")))}
    if draw(st.booleans()):
        record["id"] = draw(st.sampled_from(("https://www.flickr.com/photos/1@N00/2", "urn:uuid:1", "x")))
    if draw(st.booleans()):
        record["license"] = draw(st.sampled_from(LICENSES))
    if draw(st.booleans()):
        record["tags"] = draw(st.lists(st.sampled_from(TAGS) | st.text(max_size=10), max_size=5))
    if draw(st.booleans()):
        record["depictedPersons"] = draw(st.sampled_from((0, 1, 3, -1, "unknown", "many", 1.5)))
    if draw(st.booleans()):
        record["owner"] = "flickr:12345678@N00"
    decls = []
    for _ in range(draw(st.integers(0, 3))):
        d: dict[str, Any] = {"declaredBy": {"role": draw(_maybe_wrong(ROLES))}}
        if draw(st.booleans()):
            d["declaredBy"]["id"] = draw(st.sampled_from(("flickr:12345678@N00", "https://example.com", "p1")))
        d["rules"] = draw(st.lists(rules(effects), max_size=4))
        if consent and draw(st.integers(0, 3)) == 0:
            d["consent"] = [{"use": draw(_maybe_wrong(FALLBACK_USES)), "status": draw(st.sampled_from(consent))}]
        for key in ("issued", "effectiveFrom", "until"):
            if draw(st.integers(0, 3)) == 0:
                d[key] = draw(st.sampled_from(DATES))
        decls.append(d)
    keep_empty = draw(st.booleans())
    if decls or keep_empty:
        record["declarations"] = decls
    return record


def record_bytes(effects: tuple[str, ...] = ("permit", "prohibit"),
                 consent: tuple[str, ...] = ("given", "refused", "unknown")) -> st.SearchStrategy[bytes]:
    return records(effects, consent).map(lambda r: json.dumps(r).encode())


def prohibiting_records() -> st.SearchStrategy[bytes]:
    """Records whose declarations only prohibit (and whose consent is only refused); no license, no tags."""
    return records(("prohibit",), ("refused", "unknown")).map(
        lambda r: json.dumps({k: v for k, v in r.items() if k not in ("license", "tags")}).encode())


def _value_objects(value: Any, draw: st.DrawFn) -> Any:
    """Strings sometimes written as JSON-LD value objects or node references (non-canonical, same meaning)."""
    if isinstance(value, str) and draw(st.integers(0, 5)) == 0:
        return {"@value": value} if not value.startswith("http") else {"@id": value}
    if isinstance(value, list):
        return [_value_objects(v, draw) for v in value]
    if isinstance(value, dict) and not any(k.startswith("@") for k in value):
        return {k: _value_objects(v, draw) for k, v in value.items()}
    return value


@st.composite
def jsonld_forms(draw: st.DrawFn) -> bytes:
    """Non-canonical JSON-LD: keyword aliases, context arrays and objects, value objects, @graph wrappers."""
    recs = draw(st.lists(records(), min_size=1, max_size=3))
    out = []
    for drawn in recs:
        rec = dict(drawn)
        if "type" in rec and draw(st.booleans()):
            rec["@type"] = rec.pop("type")
        if "id" in rec and draw(st.booleans()):
            rec["@id"] = rec.pop("id")
        if draw(st.booleans()):
            rec = {k: (_value_objects(v, draw) if not k.startswith("@") else v) for k, v in rec.items()}
        out.append(rec)
    ctx = draw(st.sampled_from((CONTEXT_IRI, [CONTEXT_IRI], [CONTEXT_IRI, {"ex": "https://example.com/ns#"}],
                                [CONTEXT_IRI, "https://example.com/other.jsonld"], {"@vocab": "https://w3id.org/aiterms/"},
                                [{"@version": 1.1}, CONTEXT_IRI])))
    if len(out) > 1 or draw(st.booleans()):
        doc: Any = {"@context": ctx, "@graph": [{k: v for k, v in r.items() if k != "@context"} for r in out]}
    else:
        doc = {**out[0], "@context": ctx}
    return json.dumps(doc).encode()


@st.composite
def turtle(draw: st.DrawFn) -> bytes:
    """Records as Turtle (through rdflib), sometimes with a syntax slip spliced in."""
    from aiterms import parse

    record = draw(records())
    try:
        text = parse.graph_from_jsonld(record).serialize(format="turtle")
    except Exception:
        text = "@prefix ai: <https://w3id.org/aiterms/> .\n<urn:x> a ai:ImageRecord ."
    data = text.encode() if isinstance(text, str) else text
    if data and draw(st.integers(0, 3)) == 0:
        at = draw(st.integers(0, len(data)))
        data = data[:at] + draw(st.sampled_from((b".", b";", b"[", b"(", b'"', b"<", b"@prefix", b"\\u"))) + data[at:]
    return data


@st.composite
def jsonl(draw: st.DrawFn) -> bytes:
    lines = draw(st.lists(st.one_of(record_bytes(), json_values.map(lambda v: json.dumps(v).encode()),
                                    st.binary(max_size=20)), max_size=5))
    return b"\n".join(lines) + draw(st.sampled_from((b"", b"\n", b"\r\n")))


def _aipref_item(draw: st.DrawFn, values: tuple[str, ...] = ("y", "n")) -> str:
    key = draw(st.sampled_from(AIPREF_KEYS))
    value = draw(st.sampled_from((*values, *values, "?1", "maybe", '"n"', "1")))
    params = draw(st.sampled_from(("", "", ";a=1", ";", ";x")))
    return f"{key}={value}{params}" if draw(st.integers(0, 6)) else key


@st.composite
def content_usage(draw: st.DrawFn, values: tuple[str, ...] = ("y", "n")) -> str:
    items = [_aipref_item(draw, values) for _ in range(draw(st.integers(0, 4)))]
    return draw(st.sampled_from((", ", ",", " , ", ";"))).join(items)


@st.composite
def robots_txt(draw: st.DrawFn, values: tuple[str, ...] = ("y", "n"), allow: bool = True) -> bytes:
    lines = []
    for _ in range(draw(st.integers(1, 3))):
        for _ in range(draw(st.integers(1, 2))):
            lines.append(f"User-agent: {draw(st.sampled_from(USER_AGENTS))}")
        for _ in range(draw(st.integers(0, 4))):
            kind = draw(st.sampled_from(("Disallow", "Content-Usage", "Content-Usage", "Content-Signal", "#",
                                         "Sitemap", "Crawl-delay", *(("Allow",) if allow else ()))))
            if kind == "Content-Usage":
                path = draw(st.sampled_from(("", "", *PATHS)))
                lines.append(f"Content-Usage: {path} {draw(content_usage(values))}".replace(":  ", ": "))
            elif kind == "Content-Signal":
                sig_values = ("no",) if values == ("n",) else ("yes", "no")
                lines.append("Content-Signal: " + ", ".join(
                    f"{draw(st.sampled_from(SIGNAL_KEYS))}={draw(st.sampled_from(sig_values))}"
                    for _ in range(draw(st.integers(1, 3)))))
            elif kind == "#":
                lines.append("# " + draw(junk_text))
            else:
                lines.append(f"{kind}: {draw(st.sampled_from(PATHS))}")
        lines.append("")
    sep = draw(st.sampled_from(("\n", "\r\n")))
    return sep.join(lines).encode("utf-8", "surrogatepass")


@st.composite
def http_headers(draw: st.DrawFn, values: tuple[str, ...] = ("y", "n")) -> bytes:
    lines = []
    if draw(st.booleans()):
        lines.append("HTTP/1.1 200 OK")
    prohibit_only = values == ("n",)
    for _ in range(draw(st.integers(0, 6))):
        kind = draw(st.sampled_from(("Content-Usage", "Content-Signal", "X-Robots-Tag", "tdm-reservation",
                                     "Content-Type", "content-usage", *(() if prohibit_only else ("tdm-policy",)))))
        if kind.lower() == "content-usage":
            value = draw(content_usage(values))
        elif kind == "Content-Signal":
            value = ", ".join(f"{draw(st.sampled_from(SIGNAL_KEYS))}="
                              f"{draw(st.sampled_from(('no',) if prohibit_only else ('yes', 'no')))}"
                              for _ in range(draw(st.integers(1, 3))))
        elif kind == "X-Robots-Tag":
            value = draw(st.sampled_from(("noai", "noimageai", "noai, noimageai", "ExampleBot: noai",
                                          "googlebot: noindex", "none")))
        elif kind == "tdm-reservation":
            value = "1" if prohibit_only else draw(st.sampled_from(("1", "0", "2", "")))
        elif kind == "tdm-policy":
            value = draw(st.sampled_from(("https://example.com/policy.json", "", "x")))
        else:
            value = "image/jpeg"
        lines.append(f"{kind}: {value}")
    sep = draw(st.sampled_from(("\n", "\r\n")))
    return (sep.join(lines) + sep).encode()


@st.composite
def xmp(draw: st.DrawFn, values: tuple[str, ...] = PLUS_VALUES) -> bytes:
    value = draw(st.sampled_from(values))
    iri = value if not value.startswith("DMI") else f"http://ns.useplus.org/ldf/vocab/{value}"
    form = draw(st.sampled_from(("attribute", "resource", "text")))
    other = draw(st.sampled_from(("", '<xmpRights:UsageTerms><rdf:Alt><rdf:li xml:lang="x-default">No AI'
                                      "</rdf:li></rdf:Alt></xmpRights:UsageTerms>",
                                  "<plus:OtherConstraints><rdf:Alt><rdf:li xml:lang=\"x-default\">do not train"
                                  "</rdf:li></rdf:Alt></plus:OtherConstraints>")))
    head = ('<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
            '<rdf:Description rdf:about="" xmlns:plus="http://ns.useplus.org/ldf/xmp/1.0/" '
            'xmlns:xmpRights="http://ns.adobe.com/xap/1.0/rights/"')
    if form == "attribute":
        body = f' plus:DataMining="{iri}">{other}</rdf:Description>'
    elif form == "resource":
        body = f'><plus:DataMining rdf:resource="{iri}"/>{other}</rdf:Description>'
    else:
        body = f"><plus:DataMining>{iri}</plus:DataMining>{other}</rdf:Description>"
    doc = head + body + "</rdf:RDF></x:xmpmeta>"
    if draw(st.booleans()):
        doc = f'<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>{doc}<?xpacket end="w"?>'
    return doc.encode()


def prohibiting_xmp() -> st.SearchStrategy[bytes]:
    return xmp(PLUS_PROHIBITING)


@st.composite
def tdmrep(draw: st.DrawFn, reservations: tuple[Any, ...] = (0, 1, 1, "1", 2, None), policy: bool = True) -> bytes:
    rules_ = []
    for _ in range(draw(st.integers(0, 4))):
        r: dict[str, Any] = {"location": draw(st.sampled_from(PATHS))}
        res = draw(st.sampled_from(reservations))
        if res is not None:
            r["tdm-reservation"] = res
        if policy and draw(st.booleans()):
            r["tdm-policy"] = draw(st.sampled_from(("https://example.com/policy.json", "", 3)))
        rules_.append(r)
    return json.dumps(rules_ if draw(st.integers(0, 8)) else {"rules": rules_}).encode()


@st.composite
def ai_txt(draw: st.DrawFn) -> bytes:
    lines = ["# Spawning AI"]
    for _ in range(draw(st.integers(0, 6))):
        lines.append(draw(st.sampled_from(("User-Agent: *", "Disallow: *.jpg", "Disallow: /", "Allow: *.txt",
                                           "Disallow: *", "Allow: /", "Disallow:", "foo", "Disallow: .png"))))
    return "\n".join(lines).encode()


@st.composite
def html(draw: st.DrawFn) -> bytes:
    metas = []
    for _ in range(draw(st.integers(0, 4))):
        name = draw(st.sampled_from(("robots", "tdm-reservation", "tdm-policy", "ExampleBot", "description")))
        content = draw(st.sampled_from(("noai", "noimageai", "noai, noimageai", "1", "0", "index", "")))
        metas.append(f'<meta name="{name}" content="{content}">')
    return f"<!doctype html><html><head>{''.join(metas)}</head><body>{draw(junk_text)}</body></html>".encode()


@st.composite
def odrl(draw: st.DrawFn) -> bytes:
    def rule() -> dict[str, Any]:
        r: dict[str, Any] = {"action": draw(st.sampled_from(("use", "tdm:mine", "odrl:reproduce", "aiTrain",
                                                             "http://www.w3.org/ns/odrl/2/use", "distribute")))}
        if draw(st.booleans()):
            r["target"] = "https://example.com/a.jpg"
        if draw(st.booleans()):
            r["constraint"] = [{"leftOperand": draw(st.sampled_from(("purpose", "dateTime", "spatial"))),
                                "operator": draw(st.sampled_from(("eq", "lt", "isA"))), "rightOperand": "x"}]
        return r

    policy: dict[str, Any] = {"@context": draw(st.sampled_from(("http://www.w3.org/ns/odrl.jsonld",
                                                                 "https://www.w3.org/ns/odrl.jsonld"))),
                              "@type": draw(st.sampled_from(("Offer", "Set", "Agreement", "Policy"))),
                              "uid": "https://example.com/policy/1"}
    for key in ("permission", "prohibition", "obligation"):
        if draw(st.booleans()):
            policy[key] = [rule() for _ in range(draw(st.integers(0, 2)))]
    return json.dumps(policy).encode()


@st.composite
def rsl(draw: st.DrawFn) -> bytes:
    parts = []
    for _ in range(draw(st.integers(0, 3))):
        kind = draw(st.sampled_from(("permits", "prohibits")))
        typ = draw(st.sampled_from(("usage", "user", "geo")))
        value = draw(st.sampled_from(("all", "ai-all", "ai-train", "ai-use", "search", "ai-index", "x")))
        parts.append(f'<{kind} type="{typ}">{value}</{kind}>')
    return ('<rsl xmlns="https://rslstandard.org/rsl"><content url="https://example.com/"><license>'
            + "".join(parts) + "</license></content></rsl>").encode()


@st.composite
def c2pa_manifest_json(draw: st.DrawFn, uses: tuple[str, ...] = ("allowed", "notAllowed", "constrained")) -> bytes:
    prefix = draw(st.sampled_from(("cawg", "c2pa")))
    entries = {}
    for key in draw(st.lists(st.sampled_from(("ai_generative_training", "ai_training", "data_mining",
                                              "ai_inference")), max_size=4, unique=True)):
        entry: dict[str, Any] = {"use": draw(st.sampled_from((*uses, "maybe")))}
        if entry["use"] == "constrained" and draw(st.booleans()):
            entry["constraint_info"] = "contact us"
        entries[f"{draw(st.sampled_from((prefix, 'cawg', 'c2pa')))}.{key}"] = entry
    label = f"{prefix}.training-mining"
    manifest = {"assertions": [{"label": label, "data": {"entries": entries}}]}
    active = draw(st.sampled_from(("urn:uuid:1", "urn:uuid:2")))
    return json.dumps({"active_manifest": active, "manifests": {"urn:uuid:1": manifest}}).encode()


@st.composite
def flickr_json(draw: st.DrawFn) -> bytes:
    photo = {"id": "5020123456", "owner": draw(st.sampled_from(("12345678@N00", {"nsid": "12345678@N00"}))),
             "license": draw(st.sampled_from(("0", "1", "4", "9", "10", "99", 4, ""))),
             "tags": draw(st.sampled_from(("no_cv family", "", {"tag": [{"raw": "no_cv"}]}, ["no_cv"])))}
    return json.dumps(draw(st.sampled_from(({"photo": photo, "stat": "ok"}, {"photos": {"photo": [photo]}},
                                            photo)))).encode()


@st.composite
def flickr_tsv(draw: st.DrawFn) -> bytes:
    sep = draw(st.sampled_from(("\t", ",")))
    header = ["foreign_identifier", "license", "license_version", "tags", "owner"]
    rows = [sep.join(header)]
    for i in range(draw(st.integers(0, 3))):
        rows.append(sep.join((str(i), draw(st.sampled_from(("by", "by-nc", "cc0", "", "x"))),
                              draw(st.sampled_from(("2.0", "4.0", ""))), draw(st.sampled_from(TAGS)), "1@N00")))
    return ("\n".join(rows) + "\n").encode()


#: Structured strategies per target; prohibiting variants where a format can express "only prohibitions".
STRUCTURED: dict[str, st.SearchStrategy[bytes]] = {
    "json": record_bytes(),
    "jsonl": jsonl(),
    "jsonld": jsonld_forms(),
    "turtle": turtle(),
    "resolver": record_bytes(),
    "robots": robots_txt(),
    "http-headers": http_headers(),
    "xmp": xmp(),
    "tdmrep": tdmrep(),
    "aitxt": ai_txt(),
    "html": html(),
    "odrl": odrl(),
    "rsl": rsl(),
    "c2pa": c2pa_manifest_json(),
    "flickr-json": flickr_json(),
    "flickr-tsv": flickr_tsv(),
}

PROHIBITING: dict[str, st.SearchStrategy[bytes]] = {
    "json": prohibiting_records(),
    "resolver": prohibiting_records(),
    "robots": robots_txt(("n",), allow=False),
    "http-headers": http_headers(("n",)),
    "xmp": prohibiting_xmp(),
    "tdmrep": tdmrep((1,), policy=False),
    "c2pa": c2pa_manifest_json(("notAllowed",)),
}
