"""``python -m aiterms.bench`` (``make bench``): every benchmark, then one results table.

Generates the synthetic records once (``--n``, default 1,000,000; :mod:`aiterms.bench.synth`), then runs the
validator benchmark (:mod:`aiterms.bench.validate_bench`, when present) and the annotate benchmark
(:mod:`aiterms.bench.annotate_bench`) on them. Not part of ``make test``.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import sys
import tempfile
import time
from typing import Any


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m aiterms.bench", description=__doc__.split("\n\n")[0])
    p.add_argument("--n", type=int, default=1_000_000, help="synthetic records (default 1000000)")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--json", metavar="FILE", help="also write all results as JSON")
    args = p.parse_args(argv)
    from aiterms.bench.synth import write

    fd, path = tempfile.mkstemp(suffix=".jsonl", prefix="aiterms-bench-")
    os.close(fd)
    results: dict[str, Any] = {}
    rows: list[tuple[str, str, str]] = []
    try:
        t = time.perf_counter()
        write(path, args.n, args.seed)
        rows.append(("synth", f"{args.n:,} records in {time.perf_counter() - t:.1f} s",
                     f"{os.path.getsize(path) / max(args.n, 1):.0f} bytes/record"))
        try:
            vb = importlib.import_module("aiterms.bench.validate_bench")
        except ModuleNotFoundError:
            vb = None
        if vb is not None and hasattr(vb, "run"):
            r = vb.run(path)
            results["validate"] = r
            rows.append(("validate", f"{r.get('records_per_second'):,} records/s",
                         f"{r.get('records_per_cpu_second'):,} per CPU s; "
                         f"target {r.get('target_records_per_second'):,}"))
        from aiterms.bench import annotate_bench as ab

        query = ["--use", "cv-training", "--purpose", "research", "--actor", "research-organization",
                 "--jurisdiction", "US", "--at", "2026-11-26"]
        r = ab.run(path, query=query)
        results["annotate"] = r
        rows.append(("loads-only", f"{r['loads_only_rows_per_second']:,} rows/s", ""))
        for name, run in r["runs"].items():
            rows.append((f"annotate {name}", f"{run['rows_per_second']:,} rows/s",
                         f"{run['ratio']:.0%} of loads-only (CPU {run['cpu_ratio']:.0%}); peak RSS "
                         f"{max(run['peak_rss_mb_main'], run['peak_rss_mb_workers'])} MB"))
        for k, v in r["targets"].items():
            rows.append(("target", k, "met" if v else "NOT met"))
    finally:
        os.unlink(path)
    widths = [max(len(r[i]) for r in rows) for i in range(3)]
    for r in rows:
        print("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)))
    if args.json:
        with open(args.json, "w", encoding="utf-8") as fh:
            json.dump(results, fh, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
