"""``aiterms import SOURCE... [--from KIND] [--url URL] [--user-agent UA]``: existing signals -> one record.

Reads every SOURCE about one image (image files, XMP, HTTP header dumps, robots.txt, tdmrep.json, HTML, ai.txt,
C2PA manifests, ODRL, RSL, Flickr records, ...), combines them into one canonical record (spec/interop.md) and
prints it as pretty JSON on standard output; each warning goes to standard error as one line. With
``--format json`` standard output is ``{"record": ..., "issues": [...]}``.

A single Flickr source holding several photos (an API response, a photo list, a CSV/TSV export) gives one record
per photo (spec/interop-flickr.md#req-flickr-many): JSON Lines on standard output, one record per line, and each
issue about a record says ``record N`` (its line); with ``--format json`` standard output is ``{"records": [...],
"issues": [...]}``. ``--url`` with a photo page picks that one photo instead.

Exit codes: 0 imported; 1 some source gave an error (the record holds what could be read); 2 a source is
unreadable, its kind is unknown, or the importer needs ``--url``.
"""

from __future__ import annotations

import argparse
import json
from typing import TYPE_CHECKING, Any

from aiterms.cli import EXIT_FINDINGS, EXIT_OK, EXIT_USAGE, IO, add_format, add_trust_anchors, read_trust_anchors

if TYPE_CHECKING:
    from aiterms.interop.base import ImportResult
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
    add_trust_anchors(p)
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
    try:
        anchors = read_trust_anchors(args.trust_anchors)
    except ValueError as exc:
        io.stderr.write(f"aiterms import: error: {exc}\n")
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
        shown = "stdin" if args.sources[0] == "-" else args.sources[0]
        many = _flickr_photos(paths[0], shown, args) if len(paths) == 1 and args.url is None else None
        if many is None:
            result = registry.import_sources(paths, kind=args.from_kind, url=args.url, user_agent=args.user_agent,
                                             trust_anchors=anchors)
    if many is not None:
        return _write_many(many, shown, args, io)
    issues = list(result.issues) + _validate(result.record)
    if args.format == "json":
        io.stdout.write(json.dumps({"record": result.record, "issues": [i.to_json() for i in issues]},
                                   indent=2, ensure_ascii=False) + "\n")
    else:
        io.stdout.write(json.dumps(result.record, indent=2, ensure_ascii=False) + "\n")
        for i in issues:
            io.stderr.write(i.to_text().replace("\n", " ") + "\n")
    return _exit_code(issues)


def _exit_code(issues: list[Issue]) -> int:
    from aiterms.interop import registry

    if any(i.code in registry.USAGE_CODES for i in issues):
        return EXIT_USAGE
    if any(str(i.severity) == "error" for i in issues):
        return EXIT_FINDINGS
    return EXIT_OK


def _flickr_photos(path: str, shown: str, args: argparse.Namespace) -> list[ImportResult] | None:
    """interop-flickr.md#req-flickr-many: every photo of one Flickr source, when it holds more than one; None for
    anything else (another kind, one photo, an unreadable file, an importer failure), which the ordinary path
    reads and reports."""
    from aiterms._io import InputTooLarge, read_bytes
    from aiterms.interop import flickr, registry

    try:
        data = read_bytes(path)
    except (OSError, InputTooLarge):
        return None
    kind = args.from_kind or registry.detect_kind(path, data[:registry.HEAD_BYTES])
    if kind is None or registry.importer_for(kind) is not flickr:
        return None
    try:
        results = flickr.import_many(data, source_name=shown)
    except Exception:  # the ordinary path turns an importer failure into import-importer-failed
        return None
    return results if len(results) > 1 else None


def _write_many(results: list[ImportResult], name: str, args: argparse.Namespace, io: IO) -> int:
    """One record per photo, each combined as a source of its own (``registry.combine``) and validated: JSON Lines,
    or ``{"records": [...], "issues": [...]}`` with ``--format json``. An issue about a record says ``record N``
    (the N-th record, the N-th line of the JSON Lines); issues of entries that gave no record point into the
    source."""
    from dataclasses import replace

    from aiterms.interop import _web, registry

    records: list[dict[str, Any]] = []
    found: list[tuple[int | None, Issue]] = []  # (record number, issue); None: an entry that gave no record
    for result in results:
        if not result.record:
            found.extend((None, i) for i in result.issues)
            continue
        record, more = registry.combine([(name, result.record)], url=args.url)
        mine = [*result.issues, *more, *_validate(record)]
        if not record.get("declarations") and not any(str(i.severity) in ("warning", "error") for i in mine):
            mine.append(_web.issue("import-nothing-found", _web.INFO, f"{name}: no AI-usage statement found"))
        records.append(record)
        found.extend((len(records), i) for i in mine)
    issues = [i for _n, i in found]
    if args.format == "json":
        shown = [i if n is None else replace(i, message=f"record {n}: {i.message}") for n, i in found]
        io.stdout.write(json.dumps({"records": records, "issues": [i.to_json() for i in shown]}, indent=2,
                                   ensure_ascii=False) + "\n")
    else:
        for record in records:
            io.stdout.write(json.dumps(record, ensure_ascii=False, separators=(",", ":")) + "\n")
        for n, i in found:
            io.stderr.write(("" if n is None else f"record {n}: ") + i.to_text().replace("\n", " ") + "\n")
    return _exit_code(issues)


def _validate(record: dict[str, Any]) -> list[Issue]:
    """The validator's errors about the combined record (a producer writes only valid records)."""
    from aiterms.interop._web import validation_errors

    return validation_errors(record)
