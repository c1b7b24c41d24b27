"""Synthetic canonical records for benchmarks and tests (spec/dataset.md#synthetic-records).

``python -m aiterms.bench.synth N SEED [-o FILE] [--format jsonl|csv|tsv|parquet]`` writes N realistic canonical
records (compact JSON-LD, one per line, about 1 KB each) to FILE (standard output by default). The same N and SEED
always give the same bytes. What the records look like, so that benchmark figures mean something:

* Flickr-style photos: asset IRI ``https://www.flickr.com/photos/<nsid>/<photo id>``, a static content URL, a
  ``sha256:`` content hash, creator and owner accounts (``flickr:<nsid>``) drawn from a pool of photographers
  (about 50 photos each, as in YFCC100M);
* licenses of every Creative Commons family (BY, BY-SA, BY-ND, BY-NC, BY-NC-SA, BY-NC-ND in 2.0 and 4.0, CC0, the
  Public Domain Mark) and about 15% "all rights reserved" (no ``license``);
* 0-12 free tags drawn from common Flickr tags, and in about 3% of records ``no_cv`` in one of its spellings
  (``no_cv``, ``nocv``, ``No CV``);
* ``depictedPersons`` absent, 0, 1-5 or ``"unknown"``;
* 0-4 declarations (a third of the records have none): the rights holder's own terms (one of twenty common
  policies -- "no AI training", "research only", "no face recognition", "search indexing only", ... -- or, for
  15% of them, one or two arbitrary rules with purpose, actor, jurisdiction and time constraints), imported
  signals with provenance (IPTC
  ``plus:DataMining``, CAWG training-and-mining, TDMRep, ``X-Robots-Tag: noai``), a platform default, a depicted
  person's consent (given, refused or unknown); dates spread over 2015-2026.

A few records (about 0.3%) are invalid, as in real data: arbitrary rules of one party that contradict each other
(spec/validation.md#req-no-contradiction). The generator needs no network and no data files and writes about
25,000 records per second on one core.
"""

from __future__ import annotations

import argparse
import bisect
import hashlib
import random
import sys
from collections.abc import Iterator
from typing import Any

CONTEXT = "https://w3id.org/aiterms/context/v1.jsonld"

CC = "https://creativecommons.org/"
LICENSES: tuple[tuple[str | None, int], ...] = (
    (f"{CC}licenses/by/2.0/", 17),
    (f"{CC}licenses/by-sa/2.0/", 10),
    (f"{CC}licenses/by-nd/2.0/", 5),
    (f"{CC}licenses/by-nc/2.0/", 14),
    (f"{CC}licenses/by-nc-sa/2.0/", 20),
    (f"{CC}licenses/by-nc-nd/2.0/", 9),
    (f"{CC}licenses/by/4.0/", 2),
    (f"{CC}licenses/by-sa/4.0/", 1),
    (f"{CC}licenses/by-nc/4.0/", 1),
    (f"{CC}licenses/by-nc-nd/4.0/", 1),
    (f"{CC}publicdomain/zero/1.0/", 3),
    (f"{CC}publicdomain/mark/1.0/", 2),
    (None, 15),  # all rights reserved: no license given
)

NOISE_TAGS = (
    "family", "vacation", "beach", "sunset", "nyc", "london", "paris", "2008", "2012", "canon", "nikon", "party",
    "wedding", "dog", "cat", "nature", "travel", "street", "portrait", "friends", "summer", "winter", "snow",
    "city", "flowers", "birthday", "kids", "baby", "music", "concert", "art", "graffiti", "architecture",
    "mountains", "lake", "river", "bw", "blackandwhite", "film", "35mm", "iphone", "selfie", "food", "christmas",
    "halloween", "museum", "zoo", "park", "garden", "car", "bike", "train", "airport", "night", "sky", "clouds",
    "sea", "boat", "bridge", "church", "castle", "festival", "holiday", "hiking", "camping", "sport", "football",
    "soccer", "baseball", "school", "graduation", "wildlife", "bird", "horse", "macro", "hdr", "landscape",
    "uploaded:by=flickrmobile", "geotagged", "mother", "father", "grandma", "me", "nofaces", "cc", "creativecommons",
)
NO_CV_SPELLINGS = ("no_cv", "nocv", "No CV", "no-cv")

USES = ("data-mining", "ai-use", "ai-training", "genai-training", "non-genai-training", "computer-vision",
        "cv-training", "cv-evaluation", "ai-evaluation", "biometric", "face-recognition", "face-analysis",
        "ai-inference", "ai-indexing", "search-indexing", "dataset-redistribution")
PURPOSES = ("research", "commercial", "non-commercial", "education", "personal")
ACTORS = ("research-organization", "cultural-heritage-institution", "company", "non-profit", "individual",
          "public-authority")
JURISDICTIONS = ("EU", "US", "US-IL", "DE", "FR", "GB", "JP", "US-CA")
DUTIES = ("attribution", "share-alike", "contact-rights-holder", "compensate")
BIOMETRIC_USES = ("biometric", "face-recognition", "face-analysis")

# What photographers state in their own terms: a few common policies (as a licensing form would offer them).
P = "purpose"
TEMPLATES: tuple[tuple[dict[str, Any], ...], ...] = (
    ({"effect": "prohibit", "use": "ai-training"},),
    ({"effect": "prohibit", "use": "genai-training"},),
    ({"effect": "prohibit", "use": "data-mining"},),
    ({"effect": "prohibit", "use": "ai-use"},),
    ({"effect": "prohibit", "use": "computer-vision"},),
    ({"effect": "prohibit", "use": "face-recognition"},),
    ({"effect": "prohibit", "use": "biometric"},),
    ({"effect": "permit", "use": "ai-training", P: ["research"]},
     {"effect": "prohibit", "use": "ai-training", P: ["commercial"]}),
    ({"effect": "permit", "use": "data-mining", "duties": ["attribution"]},),
    ({"effect": "permit", "use": "non-genai-training"}, {"effect": "prohibit", "use": "genai-training"}),
    ({"effect": "prohibit", "use": "data-mining"}, {"effect": "permit", "use": "search-indexing"}),
    ({"effect": "permit", "use": "cv-training", P: ["research"], "actor": ["research-organization"],
      "duties": ["attribution"]},),
    ({"effect": "permit", "use": "ai-use", P: ["education", "research"]},),
    ({"effect": "permit", "use": "ai-training", "jurisdiction": ["EU"], P: ["research"]},),
    ({"effect": "permit", "use": "ai-training", P: ["commercial"], "duties": ["compensate", "contact-rights-holder"]},),
    ({"effect": "prohibit", "use": "ai-training"}, {"effect": "permit", "use": "ai-evaluation"}),
    ({"effect": "permit", "use": "ai-training", "from": "2020-01-01", "until": "2025-01-01"},),
    ({"effect": "permit", "use": "ai-inference"}, {"effect": "prohibit", "use": "ai-training"}),
    ({"effect": "permit", "use": "computer-vision", P: ["non-commercial"], "duties": ["attribution"]},
     {"effect": "prohibit", "use": "face-recognition"}),
    ({"effect": "prohibit", "use": "dataset-redistribution"}, {"effect": "permit", "use": "ai-training"}),
)

# Imported signals: (signal, version, location, raw value, rules)
PLUS = "http://ns.useplus.org/ldf/vocab/"
SIGNALS: tuple[tuple[str, str | None, str, str, tuple[tuple[str, str], ...]], ...] = (
    ("plus", "IPTC 2023.1", "XMP plus:DataMining", f"{PLUS}DMI-PROHIBITED-AIMLTRAINING",
     (("prohibit", "ai-training"),)),
    ("plus", "IPTC 2023.1", "XMP plus:DataMining", f"{PLUS}DMI-PROHIBITED-GENAIMLTRAINING",
     (("prohibit", "genai-training"),)),
    ("plus", "IPTC 2023.1", "XMP plus:DataMining", f"{PLUS}DMI-PROHIBITED", (("prohibit", "data-mining"),)),
    ("plus", "IPTC 2023.1", "XMP plus:DataMining", f"{PLUS}DMI-ALLOWED", (("permit", "data-mining"),)),
    ("plus", "IPTC 2023.1", "XMP plus:DataMining", f"{PLUS}DMI-PROHIBITED-EXCEPTSEARCHENGINEINDEXING",
     (("prohibit", "data-mining"), ("permit", "search-indexing"))),
    ("cawg", "1.1", "C2PA manifest cawg.training-mining", '{"cawg.ai_training":{"use":"notAllowed"}}',
     (("prohibit", "ai-training"),)),
    ("cawg", "1.1", "C2PA manifest cawg.training-mining", '{"cawg.ai_generative_training":{"use":"notAllowed"}}',
     (("prohibit", "genai-training"),)),
    ("tdmrep", "2024-05-10", "/.well-known/tdmrep.json", '[{"location":"/","tdm-reservation":1}]',
     (("prohibit", "data-mining"),)),
    ("x-robots-tag", None, "HTTP header X-Robots-Tag", "noai", (("prohibit", "ai-training"),)),
    ("x-robots-tag", None, "HTTP header X-Robots-Tag", "noimageai", (("prohibit", "ai-training"),)),
)

def _weighted(rng: random.Random, items: tuple[tuple[Any, int], ...]) -> Any:
    cum = _CUMULATIVE.get(id(items))
    if cum is None:
        acc, cum = 0, []
        for _, w in items:
            acc += w
            cum.append(acc)
        _CUMULATIVE[id(items)] = cum
    return items[bisect.bisect_right(cum, rng.random() * cum[-1])][0]


_CUMULATIVE: dict[int, list[int]] = {}


def _date(rng: random.Random, lo: int = 2015, hi: int = 2026) -> str:
    return f"{rng.randint(lo, hi)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"


def _datetime(rng: random.Random, lo: int = 2015, hi: int = 2026) -> str:
    return f"{_date(rng, lo, hi)}T{rng.randint(0, 23):02d}:{rng.randint(0, 59):02d}:{rng.randint(0, 59):02d}Z"


def _uuid(rng: random.Random) -> str:
    h = f"{rng.getrandbits(128):032x}"
    return f"urn:uuid:{h[:8]}-{h[8:12]}-4{h[13:16]}-a{h[17:20]}-{h[20:32]}"


def _rule(rng: random.Random, effect: str | None = None) -> dict[str, Any]:
    rule: dict[str, Any] = {"effect": effect or rng.choice(("prohibit", "prohibit", "permit")),
                            "use": rng.choice(USES)}
    if rule["effect"] == "permit":
        r = rng.random()
        if r < 0.4:
            rule["purpose"] = rng.sample(PURPOSES, rng.randint(1, 2))
        if r < 0.2:
            rule["actor"] = [rng.choice(ACTORS)]
        if rng.random() < 0.15:
            rule["jurisdiction"] = rng.sample(JURISDICTIONS, rng.randint(1, 2))
        if rng.random() < 0.3:
            rule["duties"] = [rng.choice(DUTIES)]
    elif rng.random() < 0.1:
        rule["purpose"] = ["commercial"]
    if rng.random() < 0.05:
        rule["from"] = _date(rng, 2018, 2024)
    if rng.random() < 0.05:
        rule["until"] = _date(rng, 2024, 2032)
    return rule


def _declaration(rng: random.Random, owner: str, nsid: str) -> dict[str, Any]:
    kind = rng.random()
    decl: dict[str, Any] = {"id": _uuid(rng)}
    if kind < 0.35:  # the photographer's own terms
        decl["declaredBy"] = {"id": owner, "role": "rights-holder", "name": f"Photographer {nsid[:5]}"}
        decl["issued"] = _datetime(rng)
        if rng.random() < 0.85:
            decl["rules"] = [dict(r) for r in rng.choice(TEMPLATES)]
        else:  # anything else a person may write
            decl["rules"] = [_rule(rng) for _ in range(rng.randint(1, 2))]
        if rng.random() < 0.1:
            decl["until"] = _date(rng, 2024, 2032)
    elif kind < 0.7:  # an imported embedded or transport signal
        signal, version, location, raw, rules = rng.choice(SIGNALS)
        transport = signal in ("tdmrep", "x-robots-tag")
        decl["declaredBy"] = {"id": "https://live.staticflickr.com" if transport else owner, "role": "rights-holder"}
        decl["issued"] = _date(rng, 2019, 2026)
        decl["rules"] = [{"effect": e, "use": u} for e, u in rules]
        src: dict[str, Any] = {"signal": signal}
        if version:
            src["version"] = version
        src["location"] = location
        src["raw"] = raw
        src["observed"] = _datetime(rng, 2024, 2026)
        decl["source"] = src
    elif kind < 0.85:  # a depicted person's consent
        decl["declaredBy"] = {"id": f"flickr:{rng.randrange(10**8):08d}@N0{rng.randint(0, 8)}",
                              "role": "depicted-person"}
        decl["issued"] = _date(rng)
        decl["consent"] = [{"use": rng.choice(BIOMETRIC_USES),
                            "status": _weighted(rng, (("refused", 3), ("given", 2), ("unknown", 2)))}]
    elif kind < 0.95:  # the platform's defaults
        decl["declaredBy"] = {"id": "https://www.flickr.com", "role": "platform", "name": "Flickr"}
        decl["issued"] = "2019-03-01"
        decl["rules"] = [{"effect": "prohibit", "use": "face-recognition"},
                         {"effect": "permit", "use": "search-indexing"}]
    else:  # a dataset curator's statement
        decl["declaredBy"] = {"id": "https://example.org/datasets/faces", "role": "dataset-curator"}
        decl["issued"] = _date(rng, 2019, 2024)
        decl["rules"] = [{"effect": "permit", "use": "cv-training", "purpose": ["research"],
                          "duties": ["attribution"]}]
    return decl


_DECLARATION_COUNTS = ((0, 35), (1, 27), (2, 18), (3, 12), (4, 8))


def records(n: int, seed: int) -> Iterator[dict[str, Any]]:
    """spec/dataset.md#synthetic-records: the same ``n`` and ``seed`` always give the same records, in order."""
    rng = random.Random(seed)
    pool = max(1, n // 50)
    owners = [f"{rng.randrange(10**8):08d}@N0{rng.randint(0, 8)}" for _ in range(min(pool, 100_000))]
    photo = 1_000_000_000 + rng.randrange(10**9)
    for _ in range(n):
        photo += rng.randint(1, 997)
        nsid = owners[int(rng.paretovariate(1.2)) % len(owners)] if rng.random() < 0.5 else rng.choice(owners)
        owner = f"flickr:{nsid}"
        secret = f"{rng.getrandbits(40):010x}"
        rec: dict[str, Any] = {
            "@context": CONTEXT,
            "type": "ImageRecord",
            "id": f"https://www.flickr.com/photos/{nsid}/{photo}",
            "contentUrl": f"https://live.staticflickr.com/{rng.randint(1, 65535)}/{photo}_{secret}_b.jpg",
            "contentHash": "sha256:" + hashlib.sha256(f"{seed}/{photo}".encode()).hexdigest(),
            "creator": [owner],
            "owner": owner,
        }
        lic = _weighted(rng, LICENSES)
        if lic is not None:
            rec["license"] = lic
        tags = rng.sample(NOISE_TAGS, rng.randint(0, 12))
        if rng.random() < 0.03:
            tags.insert(rng.randint(0, len(tags)), rng.choice(NO_CV_SPELLINGS))
        if tags:
            rec["tags"] = tags
        p = rng.random()
        if p < 0.3:
            rec["depictedPersons"] = 0
        elif p < 0.5:
            rec["depictedPersons"] = rng.randint(1, 5)
        elif p < 0.6:
            rec["depictedPersons"] = "unknown"
        k = _weighted(rng, _DECLARATION_COUNTS)
        if k:
            rec["declarations"] = [_declaration(rng, owner, nsid) for _ in range(k)]
        yield rec


def lines(n: int, seed: int) -> Iterator[bytes]:
    """The records as compact JSON lines (bytes, each ending with a newline)."""
    import orjson

    dumps = orjson.dumps
    for rec in records(n, seed):
        yield dumps(rec) + b"\n"


def write(path: str, n: int, seed: int, fmt: str = "jsonl") -> None:
    """Write the records to ``path`` ("-" = standard output) in ``fmt`` (jsonl, csv, tsv or parquet).

    CSV/TSV/Parquet get the manifest columns aiterms reads by default (url, photo_id, owner, license, tags, hash,
    id) and no declarations: they stand for a manifest whose declarations live in a store.
    """
    if fmt == "jsonl":
        out = sys.stdout.buffer if path == "-" else open(path, "wb")  # noqa: SIM115
        try:
            buf: list[bytes] = []
            for line in lines(n, seed):
                buf.append(line)
                if len(buf) >= 4096:
                    out.write(b"".join(buf))
                    buf.clear()
            out.write(b"".join(buf))
        finally:
            if out is not sys.stdout.buffer:
                out.close()
        return
    from aiterms.dataset.manifest import write_rows

    write_rows(path, fmt, manifest_rows(n, seed))


def manifest_rows(n: int, seed: int) -> Iterator[dict[str, str]]:
    """The same photos as manifest rows (all values text; tags comma-separated)."""
    for rec in records(n, seed):
        yield {
            "id": rec["id"],
            "url": rec["contentUrl"],
            "photo_id": rec["id"].rsplit("/", 1)[1],
            "owner": rec["owner"],
            "license": rec.get("license", ""),
            "tags": ",".join(rec.get("tags", ())),
            "hash": rec["contentHash"],
        }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m aiterms.bench.synth", description=__doc__.split("\n\n")[0])
    p.add_argument("n", type=int, help="number of records")
    p.add_argument("seed", type=int, help="random seed (same seed, same output)")
    p.add_argument("-o", "--output", default="-", help="output file (default: standard output)")
    p.add_argument("--format", choices=("jsonl", "csv", "tsv", "parquet"), default="jsonl")
    args = p.parse_args(argv)
    if args.n < 0:
        p.error("N must be >= 0")
    write(args.output, args.n, args.seed, args.format)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
