"""``aiterms filter MANIFEST... --use ID [...]``: keep only the rows whose outcome is ``allowed`` (with
``--include-constrained`` also ``constrained``) (spec/dataset.md#filter).

Same inputs, options and reports as ``aiterms annotate``. Kept rows are written as they were (with
``--annotate``, with the three annotation fields added). An invalid row never passes the filter.

Exit codes: 0 done; 1 done, but some rows were invalid (they were dropped); 2 usage error or an input or store that
cannot be read.
"""

from __future__ import annotations

import argparse

from aiterms.cli import IO
from aiterms.cli._annotate import add_options, run_command


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser(
        "filter",
        help="keep only the rows of a manifest whose use is allowed",
        description="Answer the query for every row of a manifest and keep the rows whose outcome is allowed "
        "(or, with --include-constrained, allowed or constrained). Invalid rows never pass.",
        epilog="Exit codes: 0 done, 1 done with invalid rows (dropped), 2 usage error or unreadable input.",
    )
    add_options(p)
    p.add_argument("--include-constrained", action="store_true",
                   help="also keep rows whose outcome is constrained (allowed only if the obligations are met)")
    p.add_argument("--annotate", action="store_true", help="add the annotation fields to the kept rows")
    p.set_defaults(func=run, command="filter")


def run(args: argparse.Namespace, io: IO) -> int:
    return run_command(args, io, command="filter")
