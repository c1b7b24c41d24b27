"""``aiterms tags [TAG]``: list the tag registry or look one spelling up (spec/registry.md)."""

from __future__ import annotations

import argparse
import json
from typing import Any

from aiterms.cli import EXIT_FINDINGS, EXIT_OK, IO, add_format


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "tags", help="list the tag registry or look a tag up",
        description="Without TAG, list every registered tag. With TAG, normalize the spelling given "
        "(spec/registry.md#req-tag-normalization) and show the entry it matches. A confusable or near-miss "
        "spelling never matches: it is reported with a suggestion and exit code 1, as is an unknown tag.",
    )
    p.add_argument("tag", nargs="?", metavar="TAG", help="a tag as written, e.g. 'no cv', No_CV, '#noai'")
    p.add_argument("--status", choices=("provisional", "active", "deprecated", "obsolete"),
                   help="list only entries with this status")
    add_format(p)
    p.set_defaults(func=run)


def _entry_json(entry: Any) -> dict[str, Any]:
    return dict(entry.raw) if entry.raw is not None else {"id": entry.id}


def _rules_text(rules: Any) -> str:
    parts = []
    for r in rules:
        extra = "".join(f" {k}={','.join(r[k])}" for k in ("purpose", "actor", "jurisdiction", "duties") if r.get(k))
        parts.append(f"{r['effect']} {r['use']}{extra}")
    return "; ".join(parts)


def _show(entry: Any) -> str:
    lines = [f"{entry.id}: {entry.label}", f"  status:      {entry.status}"
             + (f" (replaced by {entry.replaced_by})" if entry.replaced_by else ""),
             f"  meaning:     {_rules_text(entry.rules)}", f"  description: {entry.description}",
             f"  variants:    {', '.join(entry.variants)}", f"  reference:   {entry.reference}",
             f"  controller:  {entry.change_controller}", f"  since:       {entry.since}",
             f"  iri:         {entry.iri}"]
    return "\n".join(lines) + "\n"


def run(args: argparse.Namespace, io: IO) -> int:
    from aiterms.vocab import Registry

    registry = Registry.bundled()
    if args.tag is None:
        entries = [e for _, e in sorted(registry.entries.items()) if args.status in (None, e.status)]
        if args.format == "json":
            io.stdout.write(json.dumps([_entry_json(e) for e in entries], indent=2, ensure_ascii=False) + "\n")
        else:
            width = max((len(e.id) for e in entries), default=0) + 2
            for e in entries:
                status = e.status + (f" -> {e.replaced_by}" if e.replaced_by else "")
                io.stdout.write(f"{e.id:<{width}}{status:<{14 + width}}{_rules_text(e.rules)}\n")
        return EXIT_OK

    match = registry.lookup(args.tag)
    if args.format == "json":
        doc: dict[str, Any] = {"tag": args.tag, "key": match.key, "match": match.kind}
        if match.entry is not None:
            doc["entry"] = _entry_json(match.entry)
        if match.suggestion is not None:
            doc["suggestion"] = match.suggestion
        io.stdout.write(json.dumps(doc, indent=2, ensure_ascii=False) + "\n")
    elif match.entry is not None:
        io.stdout.write(_show(match.entry))
        if match.entry.replaced_by:
            io.stderr.write(f"aiterms: warning: {match.entry.id} is {match.entry.status}; "
                            f"use {match.entry.replaced_by}\n")
    elif match.suggestion is not None:
        why = ("looks like it but uses letters from another script" if match.kind == "confusable"
               else "differs from it by one character")
        io.stderr.write(f"aiterms: {args.tag!r} is not a registered tag; did you mean {match.suggestion!r}? "
                        f"(the spelling {why}; it is never treated as a match)\n")
    else:
        io.stderr.write(f"aiterms: {args.tag!r} (normalized {match.key!r}) is not a registered tag\n")
    return EXIT_OK if match.entry is not None else EXIT_FINDINGS
