"""``aiterms export RECORD --to TARGET [-o OUT]``: a record in an existing signal's format.

TARGET is one of the exporters registered in ``aiterms.interop.registry.EXPORTERS`` (xmp, c2pa-assertion,
content-usage, robots, tdmrep, odrl, rsl). The output is the most faithful expression of the record in the
target (spec/interop.md); everything the target cannot carry is listed as a warning on standard error, one line
each. Without ``-o`` the output goes to standard output; ``-o`` writes the file atomically. With ``--format
json`` standard output is ``{"target", "mediaType", "data", "issues"}``.

The record is validated first (when the validator is installed): an invalid record is not exported, since a
signal written from it could say more than its author did. Exit codes: 0 exported; 1 invalid record or an
exporter error; 2 unreadable input, not JSON, or an unknown target.
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from aiterms.cli import EXIT_FINDINGS, EXIT_OK, EXIT_USAGE, IO, add_format

TARGETS = ("xmp", "c2pa-assertion", "content-usage", "robots", "tdmrep", "odrl", "rsl")


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "export",
        help="write a record as an existing signal (XMP, C2PA, Content-Usage, robots.txt, TDMRep, ODRL, RSL)",
        description="Write the most faithful expression of a canonical record in another signal's format; what "
        "the target cannot express is listed as a warning (spec/interop.md).",
        epilog="Exit codes: 0 exported, 1 invalid record or exporter error, 2 unreadable input or unknown target.",
    )
    p.add_argument("record", metavar="RECORD", help="a canonical record (JSON) or '-' for standard input")
    p.add_argument("--to", dest="target", required=True, metavar="TARGET",
                   help="one of: " + ", ".join(TARGETS))
    p.add_argument("-o", "--output", metavar="OUT", help="write to this file (atomically) instead of standard output")
    add_format(p)
    p.set_defaults(func=run)


def _validate(record: dict[str, Any]) -> list[Any]:
    """The validator's errors, or nothing when the validator is not installed."""
    from aiterms.interop._web import validation_errors

    return validation_errors(record)


def run(args: argparse.Namespace, io: IO) -> int:
    from aiterms._io import InputTooLarge, atomic_write, read_bytes
    from aiterms.interop import registry

    module = registry.exporter_for(args.target)
    if module is None:
        io.stderr.write(f"aiterms export: error: unknown target {args.target!r}; available: "
                        f"{', '.join(registry.targets()) or 'none'}\n")
        return EXIT_USAGE
    try:
        if args.record == "-":
            buffer = getattr(io.stdin, "buffer", None)
            data = read_bytes("-", stdin=buffer) if buffer is not None else io.stdin.read().encode("utf-8")
        else:
            data = read_bytes(args.record)
    except (OSError, InputTooLarge) as exc:
        io.stderr.write(f"aiterms export: error: {args.record}: cannot read: "
                        f"{getattr(exc, 'strerror', None) or exc}\n")
        return EXIT_USAGE
    try:
        record = json.loads(data.decode("utf-8-sig"))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        io.stderr.write(f"aiterms export: error: {args.record}: not a JSON record ({exc})\n")
        return EXIT_USAGE
    if not isinstance(record, dict):
        io.stderr.write(f"aiterms export: error: {args.record}: a record is a JSON object\n")
        return EXIT_USAGE
    errors = _validate(record)
    if errors:
        for e in errors:
            io.stderr.write(e.to_text().replace("\n", " ") + "\n")
        io.stderr.write(f"aiterms export: error: {args.record}: the record is invalid; nothing was exported\n")
        return EXIT_FINDINGS
    try:
        result = module.export(record)
    except Exception as exc:  # never a traceback: an exporter failure is reported with exit code 1
        io.stderr.write(f"aiterms export: error: the {args.target} exporter failed ({type(exc).__name__}: {exc})\n")
        return EXIT_FINDINGS
    failed = any(str(i.severity) == "error" for i in result.issues)
    if args.output:
        try:
            atomic_write(args.output, result.data)
        except OSError as exc:
            io.stderr.write(f"aiterms export: error: {args.output}: cannot write: "
                            f"{getattr(exc, 'strerror', None) or exc}; nothing was written\n")
            return EXIT_USAGE
    if args.format == "json":
        try:
            text = result.data.decode("utf-8")
            encoding = None
        except UnicodeDecodeError:
            import base64

            text, encoding = base64.b64encode(result.data).decode("ascii"), "base64"
        out: dict[str, Any] = {"target": args.target, "mediaType": result.media_type, "data": text}
        if encoding:
            out["encoding"] = encoding
        out["issues"] = [i.to_json() for i in result.issues]
        io.stdout.write(json.dumps(out, indent=2, ensure_ascii=False) + "\n")
    else:
        if not args.output:
            buffer = getattr(io.stdout, "buffer", None)
            try:
                io.stdout.write(result.data.decode("utf-8"))
            except UnicodeDecodeError:
                if buffer is None:
                    io.stderr.write("aiterms export: error: binary output; use -o OUT\n")
                    return EXIT_USAGE
                io.stdout.flush()
                buffer.write(result.data)
        for i in result.issues:
            io.stderr.write(i.to_text().replace("\n", " ") + "\n")
    return EXIT_FINDINGS if failed else EXIT_OK
