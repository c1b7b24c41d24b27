"""Validator throughput: records per second validating canonical records from JSON Lines on one core.

``python -m aiterms.bench.validate_bench [-n 100000] [--seed 1] [--file records.jsonl] [--engine fast|reference]
[--repeat 3] [--format text|json]``

Generates ``n`` synthetic canonical records (``aiterms.bench.synth``, about 1 KB each, realistic Flickr-style
records with tags, licenses and declarations) into a temporary JSON Lines file, or reads ``--file``, then times
:func:`aiterms.validate.iter_jsonl` over the file: reading, parsing (orjson), JSON Schema (jsonschema-rs when
installed, jsonschema for records it rejects) and the meaning layer, with a report per line. The target is
>= 50,000 records/s (issue 3); the pure-Python jsonschema engine alone does about 3,500/s.

The fastest of ``--repeat`` passes counts (the machine may be shared; every pass is reported). Not a timed test:
``make bench`` runs it and the README records the figure.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from operator import attrgetter
from typing import Any

TARGET = 50_000
_code = attrgetter("code")
REFERENCE_JSONSCHEMA_RATE = 3_500  # issue 3: pure jsonschema on the reference machine


def _reference_engine_rate(path: str, sample: int = 2_000) -> float:
    """Records per CPU second of the pure jsonschema engine (is_valid only) on the first ``sample`` lines."""
    import orjson

    from aiterms import validation as validate

    values = []
    with open(path, "rb") as fh:
        for line in fh:
            values.append(orjson.loads(line))
            if len(values) >= sample:
                break
    engine = validate._validator()
    for v in values[:50]:
        engine.is_valid(v)
    cpu0 = time.process_time()
    for v in values:
        engine.is_valid(v)
    cpu = time.process_time() - cpu0
    return len(values) / cpu if cpu else 0.0


def _generate(n: int, seed: int) -> Iterator[bytes]:
    try:
        from aiterms.bench.synth import lines
    except ImportError:  # the dataset helper's generator is absent: a small local one
        yield from _local_lines(n, seed)
        return
    yield from lines(n, seed)


def _local_lines(n: int, seed: int) -> Iterator[bytes]:
    import random

    rng = random.Random(seed)
    uses = ["ai-training", "genai-training", "computer-vision", "data-mining", "face-recognition", "search-indexing"]
    tags = ["sunset", "family", "no_cv", "beach", "portrait", "noai", "street", "travel"]
    for i in range(n):
        rec: dict[str, Any] = {
            "@context": "https://w3id.org/aiterms/context/v1.jsonld", "type": "ImageRecord",
            "id": f"https://www.flickr.com/photos/{i % 997}@N00/{1000000 + i}",
            "owner": f"flickr:{i % 997}@N00", "license": "https://creativecommons.org/licenses/by/2.0/",
            "tags": rng.sample(tags, rng.randint(0, 5)), "depictedPersons": rng.randint(0, 3),
        }
        if rng.random() < 0.6:
            rec["declarations"] = [{
                "declaredBy": {"id": rec["owner"], "role": "rights-holder"},
                "issued": f"20{rng.randint(15, 25)}-0{rng.randint(1, 9)}-1{rng.randint(0, 9)}T10:00:00Z",
                "rules": [{"effect": "prohibit", "use": u} for u in rng.sample(uses, rng.randint(1, 3))],
            }]
        yield json.dumps(rec).encode() + b"\n"


def run(path: str, *, engine: str = "fast") -> dict[str, Any]:
    from aiterms import validation as validate

    validate.use_fast_engine(engine == "fast")
    fast_available = validate._fast_validator() is not None  # warm-up: schemas compiled before timing
    validate.check({"@context": "https://w3id.org/aiterms/context/v1.jsonld", "type": "ImageRecord"})
    n = invalid = findings = 0
    start = time.perf_counter()
    cpu0 = time.process_time()
    with open(path, "rb") as fh:
        for _line, report in validate.iter_jsonl(fh):
            n += 1
            if not report.valid:
                invalid += 1
            findings += len(report.issues)
    wall = time.perf_counter() - start
    cpu = time.process_time() - cpu0
    # The findings by code, in a second pass outside the timing: tallying is the caller's work, not validation's.
    codes: Counter[str] = Counter()
    with open(path, "rb") as fh:
        for _line, report in validate.iter_jsonl(fh):
            codes.update(map(_code, report.issues))
    if sum(codes.values()) != findings:
        raise AssertionError("the two passes over the same file found different issues")
    validate.use_fast_engine(True)
    baseline = _reference_engine_rate(path)
    rate = n / cpu if cpu else 0.0
    return {
        "records": n, "invalid": invalid, "findings": findings, "seconds": round(wall, 3), "cpu_seconds": round(cpu, 3),
        "records_per_second": round(n / wall) if wall else None,
        "records_per_cpu_second": round(rate),
        "jsonschema_only_records_per_cpu_second": round(baseline),
        "speedup_over_jsonschema": round(rate / baseline, 1) if baseline else None,
        # The issue's figures (jsonschema ~3,500/s, target 50,000/s) are for another machine; the same ratio
        # to the pure jsonschema engine measured here (14.3x) is the machine-independent target.
        "target_speedup": round(TARGET / REFERENCE_JSONSCHEMA_RATE, 1),
        "engine": "jsonschema-rs + jsonschema" if engine == "fast" and fast_available else "jsonschema",
        "target_records_per_second": TARGET, "issues_by_code": dict(sorted(codes.items())),
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m aiterms.bench.validate_bench", description=__doc__.split("\n\n")[0])
    p.add_argument("-n", type=int, default=100_000, help="records to generate (default 100000)")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--file", help="validate this JSON Lines file instead of generating one")
    p.add_argument("--engine", choices=("fast", "reference"), default="fast")
    p.add_argument("--repeat", type=int, default=3, help="timed passes; the fastest counts (default 3)")
    p.add_argument("--format", choices=("text", "json"), default="text")
    args = p.parse_args(argv)
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})  # one core
    tmp = None
    path = args.file
    if path is None:
        fd, tmp = tempfile.mkstemp(suffix=".jsonl")
        with os.fdopen(fd, "wb") as fh:
            for line in _generate(args.n, args.seed):
                fh.write(line)
        path = tmp
    try:
        runs = [run(path, engine=args.engine) for _ in range(max(1, args.repeat))]
        result = max(runs, key=lambda r: r["records_per_cpu_second"])
        result["passes_records_per_second"] = [r["records_per_second"] for r in runs]
    finally:
        if tmp:
            os.unlink(tmp)
    if args.format == "json":
        print(json.dumps(result, indent=2))
    else:
        print(f"validated {result['records']} records ({result['invalid']} invalid) in {result['seconds']} s "
              f"with {result['engine']}: {result['records_per_second']} records/s on one core "
              f"({result['records_per_cpu_second']} per CPU second; target {TARGET})")
        print(f"pure jsonschema on this machine: {result['jsonschema_only_records_per_cpu_second']} records/CPU s; "
              f"speed-up {result['speedup_over_jsonschema']}x (target {result['target_speedup']}x = "
              f"{TARGET}/{REFERENCE_JSONSCHEMA_RATE})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
