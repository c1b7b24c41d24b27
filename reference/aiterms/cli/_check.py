"""``aiterms check RECORD --use ID ...``: may this image be used for this use? (spec/resolution.md)

Prints the decision: in text, one plain sentence and then the reasons, one per line; in JSON, exactly
``Decision.to_json()``. RECORD is a record (JSON, JSON-LD or Turtle) or ``-`` for standard input. Anything else
(an image, HTTP headers, robots.txt, a Flickr API answer), or any input with ``--from KIND``, goes through the
importers (``aiterms.interop.registry.import_sources``) and the record they build is resolved.

Exit codes: 0 the question was answered (whatever the outcome); 1 the record is invalid (the outcome is then
``unspecified``); 2 usage error (an unknown use id, a bad date, ...) or an input that cannot be read.
Only argparse is imported at start-up; the resolver is imported when the command runs.
"""

from __future__ import annotations

import argparse
import json
from typing import TYPE_CHECKING, Any

from aiterms.cli import EXIT_FINDINGS, EXIT_OK, EXIT_USAGE, IO, add_format, add_trust_anchors, read_trust_anchors

if TYPE_CHECKING:
    from aiterms.model import Decision, Query
    from aiterms.report import Issue

_RECORD_KEYS = ("@context", "@graph", "@id", "@type", "type", "declarations")


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "check",
        help="may this image be used for this use? (an answer with reasons)",
        description="Answer whether the image a record describes may be used for a use (spec/resolution.md): "
        "allowed, notAllowed, constrained (allowed only if the listed obligations are met) or unspecified "
        "(nothing applies), with the statements that decided it.",
        epilog="Exit codes: 0 answered (whatever the outcome), 1 invalid record (outcome unspecified), "
        "2 usage error or unreadable input.",
    )
    p.add_argument("record", metavar="RECORD",
                   help="a record (JSON, JSON-LD, Turtle) or '-' for standard input; with --from, or when it is "
                   "not a record, a signal source the importers read (image, headers, robots.txt, ...)")
    p.add_argument("--use", required=True, metavar="ID", help="use id, e.g. ai-training (see 'aiterms uses')")
    p.add_argument("--purpose", metavar="P", help="purpose id, e.g. research or commercial")
    p.add_argument("--actor", metavar="A", help="actor type id, e.g. research-organization or company")
    p.add_argument("--jurisdiction", metavar="J", help="where the use happens: ISO 3166 code (DE, US-IL) or EU")
    p.add_argument("--at", metavar="DATE", help="date of use, RFC 3339 date or date-time (default: now)")
    p.add_argument("--from", dest="from_kind", metavar="KIND",
                   help="read RECORD with this importer (e.g. xmp, c2pa, http-headers, robots, flickr-json)")
    p.add_argument("--url", help="the URL the source was fetched from (for importers; nothing is fetched)")
    p.add_argument("--user-agent", dest="user_agent", metavar="UA",
                   help="the crawler's user agent (for importers of robots.txt and similar)")
    add_trust_anchors(p)
    add_format(p)
    p.set_defaults(func=run)


class _Unusable(Exception):
    """The input cannot be used at all (exit code 2)."""


def run(args: argparse.Namespace, io: IO) -> int:
    from aiterms.model import Query
    from aiterms.resolution import check_query

    query = Query(use=args.use, purpose=args.purpose, actor=args.actor, jurisdiction=args.jurisdiction, at=args.at)
    _checked, problems = check_query(query)
    if problems:
        for p in problems:
            io.stderr.write(f"aiterms check: error: {p.path.lstrip('/') or 'query'}: {p.message}\n")
        return EXIT_USAGE
    try:
        decision = _decide(args, query, io)
    except _Unusable as exc:
        io.stderr.write(f"aiterms check: error: {exc}\n")
        return EXIT_USAGE
    if args.format == "json":
        io.stdout.write(json.dumps(decision.to_json(), indent=2, ensure_ascii=False) + "\n")
    else:
        io.stdout.write(_text(decision))
    invalid = any(w.code == "record-invalid-not-resolved" for w in decision.warnings)
    return EXIT_FINDINGS if invalid else EXIT_OK


def _read(args: argparse.Namespace, io: IO) -> bytes:
    from aiterms._io import InputTooLarge, read_bytes

    try:
        if args.record == "-":
            buffer = getattr(io.stdin, "buffer", None)
            if buffer is None:
                return io.stdin.read().encode("utf-8", "surrogatepass")
            return read_bytes("-", stdin=buffer)
        return read_bytes(args.record)
    except (OSError, InputTooLarge) as exc:
        raise _Unusable(f"{args.record}: cannot read: {getattr(exc, 'strerror', None) or exc}") from exc


def _looks_like_record(args: argparse.Namespace, data: bytes) -> bool:
    """A record (JSON, JSON-LD or Turtle) rather than a signal source for the importers."""
    name = args.record.lower()
    if name.endswith((".ttl", ".jsonl", ".ndjson")):
        return True
    head = data[:4096].lstrip(b"\xef\xbb\xbf \t\r\n")
    if head[:1] in (b"{", b"["):
        try:
            value = json.loads(data)
        except ValueError:
            return True  # a broken JSON record: the validator reports where
        return not isinstance(value, dict) or any(k in value for k in _RECORD_KEYS)
    if name.endswith((".json", ".jsonld")):
        return True
    text = head[:512].decode("utf-8", "replace")
    return text.startswith(("@prefix", "@base", "PREFIX", "BASE")) or "w3id.org/aiterms" in text


def _decide(args: argparse.Namespace, query: Query, io: IO) -> Decision:
    from dataclasses import replace

    from aiterms.resolution import resolve, resolve_bytes, unresolved

    data = _read(args, io)
    if args.from_kind is None and _looks_like_record(args, data):
        decisions = resolve_bytes(data, query, name="" if args.record == "-" else args.record)
        if len(decisions) != 1:
            raise _Unusable(f"{args.record}: holds {len(decisions)} records; 'aiterms check' answers for one record "
                            "(use 'aiterms filter' for datasets)")
        return decisions[0]
    record, issues = _import(args, data)
    if any(str(i.severity) == "error" for i in issues):
        # Fail closed: a source that could not be imported completely may have held a prohibition.
        return unresolved(query, issues)
    decision = resolve(record, query)
    return replace(decision, warnings=(*issues, *decision.warnings)) if issues else decision


def _import(args: argparse.Namespace, data: bytes) -> tuple[dict[str, Any], tuple[Issue, ...]]:
    """The hook to the importers (``aiterms.interop.registry``): a signal source becomes a canonical record."""
    import importlib

    from aiterms.vocab import CONTEXT_IRI

    try:
        registry = importlib.import_module("aiterms.interop.registry")
    except ModuleNotFoundError as exc:
        if exc.name not in ("aiterms.interop.registry", "aiterms.interop"):
            raise
        raise _Unusable(f"{args.record}: not a record, and no importers are installed to read it") from exc
    try:
        anchors = read_trust_anchors(args.trust_anchors)
    except ValueError as exc:
        raise _Unusable(str(exc)) from exc
    options: dict[str, Any] = {"kind": args.from_kind, "url": args.url, "user_agent": args.user_agent,
                               "trust_anchors": anchors}
    if args.record == "-" and hasattr(registry, "import_one"):
        result = registry.import_one(data, source_name="-", **options)
    else:
        result = registry.import_sources([args.record], **options)
    issues = tuple(getattr(result, "issues", ()) or ())
    usage: frozenset[str] = getattr(registry, "USAGE_CODES", frozenset())
    fatal = [i for i in issues if i.code in usage]
    if fatal:
        raise _Unusable("; ".join(i.message for i in fatal))
    record = dict(getattr(result, "record", None) or {})
    record.setdefault("@context", CONTEXT_IRI)
    record.setdefault("type", "ImageRecord")
    return record, issues


def _text(decision: Decision) -> str:
    from aiterms.resolution import explain

    lines = [explain(decision)]
    for r in decision.reasons:
        where = r.rule or r.declaration
        lines.append(f"  - {r.text}" + (f" [{where}; {r.step}]" if where else f" [{r.step}]"))
    for w in decision.warnings:
        lines.append(f"  ! {w.to_text()}")
    return "\n".join(lines) + "\n"
