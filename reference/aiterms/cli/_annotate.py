"""``aiterms annotate MANIFEST... --use ID [...]``: add outcome, obligations and a reason code to every row
(spec/dataset.md#annotate).

Inputs: JSON Lines of aiterms records, CSV, TSV (YFCC100M with ``--preset yfcc100m``) or Parquet (LAION with
``--preset laion``); with ``--declarations STORE`` every row is joined with the store's declarations by asset,
URL, photo id, owner account, content hash and domain. The output has the input's format with the fields
``aiterms_outcome``, ``aiterms_obligations`` and ``aiterms_reason`` added. A summary goes to standard error
(text, or JSON with ``--format json``), to ``--summary FILE`` (JSON) and ``--report FILE`` (HTML).

Exit codes: 0 done; 1 done, but some rows were invalid (they are annotated ``unspecified``); 2 usage error or an
input or store that cannot be read.
"""

from __future__ import annotations

import argparse
import json
import sys

from aiterms.cli import EXIT_FINDINGS, EXIT_OK, EXIT_USAGE, IO, add_format


def add_options(p: argparse.ArgumentParser) -> None:
    """The options annotate and filter share."""
    p.add_argument("manifests", nargs="+", metavar="MANIFEST",
                   help="JSONL, CSV, TSV or Parquet manifest ('-' for standard input; .gz/.bz2/.xz are read too)")
    p.add_argument("--use", required=True, metavar="ID", help="use id, e.g. cv-training (see 'aiterms uses')")
    p.add_argument("--purpose", metavar="P", help="purpose id, e.g. research")
    p.add_argument("--actor", metavar="A", help="actor type id, e.g. research-organization")
    p.add_argument("--jurisdiction", metavar="J", help="ISO 3166 code (DE, US-IL) or EU")
    p.add_argument("--at", metavar="DATE", help="date of use, RFC 3339 (default: now, fixed for the whole run)")
    p.add_argument("--declarations", metavar="STORE", help="declarations store (aiterms store build) to join rows with")
    p.add_argument("--workers", type=int, default=1, metavar="N",
                   help="workers (default 1): processes over ranges of a JSON Lines file on disk; threads with "
                        "the compiled kernel on JSON Lines from standard input or compressed; else processes")
    p.add_argument("-o", "--output", metavar="FILE",
                   help="output file (default: standard output; Parquet needs a file)")
    p.add_argument("--input-format", choices=("jsonl", "csv", "tsv", "parquet"),
                   help="input format (default: from the preset or the file extension)")
    p.add_argument("--preset", choices=("yfcc100m", "laion"), help="column layout of a known dataset")
    p.add_argument("--columns", metavar="MAP",
                   help="which column holds each field: url=URL,photo_id=photoid,owner=uid,license=LICENSE,tags=tags,"
                   "hash=hash,id=page_url,depicted=faces")
    p.add_argument("--tag-separator", metavar="SEP", help="separator of tags in one cell (default ',')")
    p.add_argument("--platform", metavar="NAME", help="platform of bare photo and account ids (e.g. flickr)")
    p.add_argument("--summary", metavar="FILE", help="write the summary report as JSON")
    p.add_argument("--report", metavar="FILE", help="write the summary report as one self-contained HTML page")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar and no summary on standard error")
    p.add_argument("--max-issues", type=int, default=1000, metavar="N",
                   help="bad rows listed in the report (all are counted; default 1000)")
    p.add_argument("--cache-size", type=int, default=65536, metavar="N", help="decisions cached per worker")
    add_format(p)


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser(
        "annotate",
        help="add outcome, obligations and a reason code to every row of a manifest",
        description="Answer the query for every row of a manifest (JSONL records, CSV, TSV, Parquet) and write the "
        "rows with aiterms_outcome, aiterms_obligations and aiterms_reason added. A bad row is reported with its "
        "line, counted and annotated unspecified; it never stops the run.",
        epilog="Exit codes: 0 done, 1 done with invalid rows, 2 usage error or unreadable input.",
    )
    add_options(p)
    p.set_defaults(func=run, command="annotate")


def run(args: argparse.Namespace, io: IO) -> int:
    return run_command(args, io, command="annotate")


def run_command(args: argparse.Namespace, io: IO, *, command: str) -> int:
    """annotate or filter (they differ only in what they keep and write)."""
    from aiterms.dataset.annotate import Run, UsageError, keep_set, prepare_query
    from aiterms.dataset.annotate import run as run_manifest
    from aiterms.dataset.columns import column_map
    from aiterms.dataset.decide import Options
    from aiterms.dataset.manifest import ManifestError
    from aiterms.dataset.store import StoreError
    from aiterms.model import Query

    prog = f"aiterms {command}"
    try:
        query = prepare_query(Query(use=args.use, purpose=args.purpose, actor=args.actor,
                                    jurisdiction=args.jurisdiction, at=args.at))
        columns = column_map(args.preset, args.columns, tag_separator=args.tag_separator, platform=args.platform)
    except (UsageError, ValueError) as exc:
        io.stderr.write(f"{prog}: error: {exc}\n")
        return EXIT_USAGE
    keep = keep_set(args.include_constrained) if command == "filter" else None
    opts = Options(query=query, keep=keep, store=args.declarations, columns=columns, cache_size=args.cache_size,
                   max_issues=args.max_issues, annotate_filtered=bool(getattr(args, "annotate", False)))
    binary = getattr(io.stdout, "buffer", None)
    collected = None
    if args.output in (None, "-") and binary is None:  # a text stream without bytes (tests, embedding)
        import io as _io

        collected = _io.BytesIO()
        binary = collected
    cfg = Run(inputs=list(args.manifests), output=args.output, input_format=args.input_format, workers=args.workers,
              summary_path=args.summary, report_path=args.report,
              progress=io.stderr if io.stderr is sys.stderr else None,
              quiet=args.quiet, command=command, stdout=binary)
    try:
        summary = run_manifest(cfg, opts, stderr=io.stderr)
        if collected is not None:
            io.stdout.write(collected.getvalue().decode("utf-8"))
    except UsageError as exc:
        io.stderr.write(f"{prog}: error: {exc}\n")
        return EXIT_USAGE
    except (ManifestError, StoreError) as exc:
        io.stderr.write(f"{prog}: error: {exc.issue.message} [{exc.issue.code}]\n")
        return EXIT_USAGE
    except OSError as exc:
        io.stderr.write(f"{prog}: error: {exc}\n")
        return EXIT_USAGE
    if not args.quiet:
        if args.format == "json":
            io.stderr.write(json.dumps(summary.to_json(), indent=2, ensure_ascii=False) + "\n")
        else:
            io.stderr.write(summary.to_text())
    return EXIT_FINDINGS if summary.invalid else EXIT_OK
