"""``aiterms import SOURCE... [--from KIND] [--url URL] [--user-agent UA]``: existing signals -> one record.

Reads every SOURCE about one image (image files, XMP, HTTP header dumps, robots.txt, tdmrep.json, HTML, ai.txt,
C2PA manifests, ODRL, RSL, Flickr records, ...), combines them into one canonical record (spec/interop.md) and
prints it as pretty JSON on standard output; each warning goes to standard error as one line. With
``--format json`` standard output is ``{"record": ..., "issues": [...]}``.

Exit codes: 0 imported; 1 some source gave an error (the record holds what could be read); 2 a source is
unreadable, its kind is unknown, or the importer needs ``--url``.
"""

from __future__ import annotations

import argparse
import json
from typing import TYPE_CHECKING, Any

from aiterms.cli import EXIT_FINDINGS, EXIT_OK, EXIT_USAGE, IO, add_format

if TYPE_CHECKING:
    from aiterms.report import Issue


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "import",
        help="read existing AI-usage signals into one canonical record",
        description="Read AI-usage signals about one image from SOURCE files (kind detected from the name and "
        "content, or given with --from) and print one canonical aiterms record with every statement's provenance "
        "(spec/interop.md). Nothing is fetched: give the URL the sources belong to with --url.",
        epilog="Exit codes: 0 imported, 1 a source gave an error, 2 unreadable source, unknown kind or missing "
        "--url.",
    )
    p.add_argument("sources", nargs="+", metavar="SOURCE", help="a file, or '-' for standard input")
    p.add_argument("--from", dest="from_kind", metavar="KIND",
                   help="read every SOURCE with this importer (e.g. http-headers, robots, tdmrep, html, ai.txt, "
                   "content-usage, xmp, c2pa)")
    p.add_argument("--url", help="the URL of the image the sources are about (robots.txt, tdmrep.json and ai.txt "
                   "need it; its origin becomes the declaring party's id)")
    p.add_argument("--user-agent", dest="user_agent", metavar="UA",
                   help="crawler product token (e.g. GPTBot) for robots.txt groups and user-agent-scoped noai")
    add_format(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace, io: IO) -> int:
    import os
    import tempfile

    from aiterms.interop import registry

    if args.from_kind is not None and registry.importer_for(args.from_kind) is None:
        io.stderr.write(f"aiterms import: error: unknown kind {args.from_kind!r}; known kinds: "
                        f"{', '.join(registry.kinds())}\n")
        return EXIT_USAGE
    if args.sources.count("-") > 1:
        io.stderr.write("aiterms import: error: standard input ('-') can be given only once\n")
        return EXIT_USAGE
    with tempfile.TemporaryDirectory(prefix="aiterms-import-") as tmp:
        paths = list(args.sources)
        if "-" in paths:
            buffer = getattr(io.stdin, "buffer", None)
            data = buffer.read() if buffer is not None else io.stdin.read().encode("utf-8", "surrogateescape")
            stdin_path = os.path.join(tmp, "stdin")
            with open(stdin_path, "wb") as fh:
                fh.write(data)
            paths[paths.index("-")] = stdin_path
        result = registry.import_sources(paths, kind=args.from_kind, url=args.url, user_agent=args.user_agent)
    issues = list(result.issues) + _validate(result.record)
    if args.format == "json":
        io.stdout.write(json.dumps({"record": result.record, "issues": [i.to_json() for i in issues]},
                                   indent=2, ensure_ascii=False) + "\n")
    else:
        io.stdout.write(json.dumps(result.record, indent=2, ensure_ascii=False) + "\n")
        for i in issues:
            io.stderr.write(i.to_text().replace("\n", " ") + "\n")
    if any(i.code in registry.USAGE_CODES for i in issues):
        return EXIT_USAGE
    if any(str(i.severity) == "error" for i in issues):
        return EXIT_FINDINGS
    return EXIT_OK


def _validate(record: dict[str, Any]) -> list[Issue]:
    """The validator's errors about the combined record (a producer writes only valid records)."""
    from aiterms.interop._web import validation_errors

    return validation_errors(record)
