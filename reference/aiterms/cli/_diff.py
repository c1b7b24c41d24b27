"""``aiterms diff OLD NEW``: the rows whose outcome changed between two annotated outputs (spec/dataset.md#diff).

Typical use: annotate a released dataset again after new opt-outs were added to the store, and list the rows that
are no longer allowed. The changed rows go to ``-o FILE`` (JSON Lines, or CSV for a ``.csv`` name) or standard
output; the counts go to standard error (text, or JSON with ``--format json``).

Exit codes: 0 no row changed; 1 some rows changed; 2 usage error or an input that cannot be read.
"""

from __future__ import annotations

import argparse
import json
import sys

from aiterms.cli import EXIT_FINDINGS, EXIT_OK, EXIT_USAGE, IO, add_format


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser(
        "diff",
        help="rows whose outcome changed between two annotated outputs (re-checking a release)",
        description="Compare two outputs of 'aiterms annotate' row by row (matched by record id, URL or photo id) "
        "and list the rows whose outcome or obligations changed, e.g. photos opted out since the release.",
        epilog="Exit codes: 0 nothing changed, 1 some rows changed, 2 usage error or unreadable input.",
    )
    p.add_argument("old", metavar="OLD", help="the earlier annotated output")
    p.add_argument("new", metavar="NEW", help="the later annotated output")
    p.add_argument("--key", choices=("auto", "id", "url", "photo"), default="auto",
                   help="how rows are matched (default: the id, else the URL, else the photo id)")
    p.add_argument("--input-format", choices=("jsonl", "csv", "tsv", "parquet"), help="format of OLD and NEW")
    p.add_argument("-o", "--output", metavar="FILE", help="changed rows: *.csv for CSV, else JSON Lines "
                   "(default: JSON Lines on standard output)")
    p.add_argument("--all", action="store_true", help="list unchanged rows too")
    add_format(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace, io: IO) -> int:
    from aiterms.dataset.diff import diff
    from aiterms.dataset.manifest import AtomicOutput, ManifestError

    out = AtomicOutput(args.output) if args.output else None
    stream = out.stream if out is not None else getattr(io.stdout, "buffer", None)
    if stream is None:  # a text stream without a buffer (tests): collect and write as text
        import io as _io

        stream = _io.BytesIO()
    fmt = "csv" if args.output and args.output.lower().endswith(".csv") else "jsonl"
    try:
        result = diff(args.old, args.new, key=args.key, fmt=args.input_format, out=stream, out_format=fmt,
                      include_all=args.all)
    except ManifestError as exc:
        if out is not None:
            out.abort()
        io.stderr.write(f"aiterms diff: error: {exc.issue.message} [{exc.issue.code}]\n")
        return EXIT_USAGE
    except OSError as exc:
        if out is not None:
            out.abort()
        io.stderr.write(f"aiterms diff: error: {exc}\n")
        return EXIT_USAGE
    if out is not None:
        out.commit()
    elif not hasattr(io.stdout, "buffer") or io.stdout is not sys.stdout:
        data = stream.getvalue() if hasattr(stream, "getvalue") else b""
        io.stdout.write(data.decode("utf-8"))
    else:
        stream.flush()
    if args.format == "json":
        io.stderr.write(json.dumps(result.to_json(), indent=2, ensure_ascii=False) + "\n")
    else:
        io.stderr.write(result.to_text())
    return EXIT_FINDINGS if result.changed else EXIT_OK
