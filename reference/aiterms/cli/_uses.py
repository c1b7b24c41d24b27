"""``aiterms uses``: list the use taxonomy (spec/vocabulary.md#uses) with every mapping to other signals."""

from __future__ import annotations

import argparse
import json
from typing import Any

from aiterms.cli import EXIT_OK, IO, add_format

# Concept schemes shown after the uses in JSON output, in this order (vocab.json scheme names).
OTHER_SCHEMES = ("purpose", "actor", "role", "obligation", "consent-status", "effect", "outcome")


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "uses", help="list the use taxonomy and its mappings",
        description="List every use of the aiterms use taxonomy: id, label, definition, broader uses and the "
        "mappings to aipref, Content Signals, CAWG/C2PA, PLUS, TDMRep, RSL, ODRL and CC REL terms. "
        "JSON output also lists the other concept schemes (purposes, actors, roles, obligations, ...).",
    )
    add_format(p)
    p.set_defaults(func=run)


def _concept(c: Any) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": c.id, "iri": c.iri, "label": c.label, "definition": c.definition, "broader": list(c.broader),
        "status": c.status, "since": c.since,
    }
    if c.replaced_by:
        out["replacedBy"] = c.replaced_by
    out["mappings"] = [
        {k: v for k, v in (("scheme", m.scheme), ("version", m.version), ("token", m.token),
                           ("relation", m.relation), ("effect", getattr(m, "effect", None)), ("iri", m.iri),
                           ("note", m.note)) if v is not None}
        for m in c.mappings
    ]
    return out


def _tree(uses: dict[str, Any]) -> list[str]:
    """An indented tree; a use with several broader uses appears under each, marked after the first."""
    children: dict[str, list[str]] = {}
    for cid, c in uses.items():
        for b in c.broader:
            children.setdefault(b, []).append(cid)
    lines: list[str] = []
    width = max(len(u) for u in uses) + 2

    def walk(cid: str, depth: int, parent: str | None) -> None:
        c = uses[cid]
        others = [b for b in c.broader if b != parent]
        note = f"  (also under {', '.join(others)})" if parent is not None and others else ""
        lines.append(f"{'  ' * depth}{cid:<{width}}{c.label}{note}")
        for child in sorted(children.get(cid, ())):
            walk(child, depth + 1, cid)

    for root in sorted(u for u, c in uses.items() if not c.broader):
        walk(root, 0, None)
    return lines


def run(args: argparse.Namespace, io: IO) -> int:
    from aiterms.vocab import Vocabulary

    vocab = Vocabulary.bundled()
    uses = vocab.uses
    if args.format == "json":
        doc = {
            "version": vocab.version,
            "uses": [_concept(uses[u]) for u in sorted(uses)],
            "schemes": {s: [_concept(c) for _, c in sorted(vocab.schemes[s].items())]
                        for s in OTHER_SCHEMES if s in vocab.schemes},
        }
        io.stdout.write(json.dumps(doc, indent=2, ensure_ascii=False) + "\n")
        return EXIT_OK
    io.stdout.write(f"aiterms use taxonomy {vocab.version} ({len(uses)} uses; "
                    "`aiterms uses --format json` adds definitions and mappings)\n\n")
    io.stdout.write("\n".join(_tree(uses)) + "\n")
    return EXIT_OK
