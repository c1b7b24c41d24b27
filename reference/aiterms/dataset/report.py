"""The summary report of an annotate or filter run (spec/dataset.md#report).

It is the record a dataset builder keeps to show what was checked and when: the query, the inputs and their
SHA-256, the aiterms, vocabulary and spec versions, start and end time, rows per second, and the counts by
outcome, by reason, by signal source and by license, with the rows that could not be read. ``to_json`` is the
file written by ``--summary``; ``to_text`` is what the command prints on standard error; :mod:`.html` renders
the same data as one self-contained page.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from aiterms.report import Issue

REPORT_VERSION = "1"
OUTCOME_ORDER = ("allowed", "constrained", "notAllowed", "unspecified")


def versions() -> dict[str, str]:
    """The aiterms, vocabulary and spec versions a report was made with."""
    from aiterms import __version__
    from aiterms.vocab import Vocabulary

    out = {"aiterms": __version__, "vocabulary": Vocabulary.bundled().version}
    try:
        import json
        from importlib.resources import files

        meta = json.loads((files("aiterms") / "_data" / "meta.json").read_text("utf-8"))
        if isinstance(meta, dict) and meta.get("specVersion"):
            out["spec"] = str(meta["specVersion"])
    except (OSError, ValueError):
        pass
    return out


@dataclass
class Summary:
    """Everything the report says (see :meth:`to_json` for the field names)."""

    command: str
    query: dict[str, Any]
    inputs: list[dict[str, Any]] = field(default_factory=list)
    output: dict[str, Any] | None = None
    store: dict[str, Any] | None = None
    started: str = ""
    finished: str = ""
    seconds: float = 0.0
    workers: int = 1
    rows: int = 0
    invalid: int = 0
    kept: int | None = None
    counts: Counter[tuple[str, str, str, str]] = field(default_factory=Counter)
    issue_counts: Counter[str] = field(default_factory=Counter)
    issues: list[Issue] = field(default_factory=list)
    fast_path: dict[str, int] = field(default_factory=dict)
    versions: dict[str, str] = field(default_factory=dict)

    def by(self, index: int) -> dict[str, int]:
        """Counts by outcome (0), reason (1), signal source (2) or license (3), largest first."""
        c: Counter[str] = Counter()
        for key, n in self.counts.items():
            c[key[index]] += n
        if index == 0:
            return {k: c[k] for k in (*OUTCOME_ORDER, *sorted(set(c) - set(OUTCOME_ORDER))) if c[k]}
        return dict(sorted(c.items(), key=lambda kv: (-kv[1], kv[0])))

    @property
    def rate(self) -> float:
        return self.rows / self.seconds if self.seconds > 0 else 0.0

    def to_json(self) -> dict[str, Any]:
        """req-report-fields: the summary as JSON."""
        out: dict[str, Any] = {
            "report": REPORT_VERSION,
            "command": self.command,
            "query": self.query,
            "versions": self.versions,
            "started": self.started,
            "finished": self.finished,
            "seconds": round(self.seconds, 3),
            "rowsPerSecond": round(self.rate, 1),
            "workers": self.workers,
            "inputs": self.inputs,
            "output": self.output,
            "store": self.store,
            "rows": self.rows,
            "invalidRows": self.invalid,
        }
        if self.kept is not None:
            out["keptRows"] = self.kept
        out["outcomes"] = self.by(0)
        out["reasons"] = self.by(1)
        out["signals"] = self.by(2)
        out["licenses"] = self.by(3)
        out["outcomesByReason"] = [
            {"outcome": o, "reason": r, "signal": s, "license": lic, "rows": n}
            for (o, r, s, lic), n in sorted(self.counts.items(), key=lambda kv: (-kv[1], kv[0]))[:200]
        ]
        out["issues"] = {"counts": dict(sorted(self.issue_counts.items())),
                         "first": [i.to_json() for i in self.issues]}
        out["fastPath"] = self.fast_path
        return out

    def to_text(self) -> str:
        """A few lines for the terminal."""
        q = " ".join(f"{k}={v}" for k, v in self.query.items())
        lines = [f"aiterms {self.command}: {self.rows:,} rows in {self.seconds:.1f} s ({self.rate:,.0f} rows/s, "
                 f"{self.workers} worker{'s' if self.workers != 1 else ''})", f"  query: {q}"]
        total = max(self.rows, 1)
        outcomes = self.by(0)
        lines.append("  outcomes: " + ", ".join(f"{k} {v:,} ({100 * v / total:.1f}%)" for k, v in outcomes.items()))
        if self.kept is not None:
            lines.append(f"  kept: {self.kept:,} rows")
        reasons = list(self.by(1).items())
        if reasons:
            shown = ", ".join(f"{k} {v:,}" for k, v in reasons[:6])
            more = f", and {len(reasons) - 6} more" if len(reasons) > 6 else ""
            lines.append(f"  reasons: {shown}{more}")
        if self.invalid:
            lines.append(f"  invalid rows: {self.invalid:,} (outcome unspecified; they never pass a filter)")
        for i in self.issues[:5]:
            lines.append(f"    {i.to_text()}")
        if len(self.issues) > 5 or sum(self.issue_counts.values()) > 5:
            lines.append(f"    ... {sum(self.issue_counts.values()):,} issues in all (see --summary)")
        if self.fast_path.get("mismatches"):
            lines.append(f"  WARNING: {self.fast_path['mismatches']} records needed the reference resolver's answer "
                         "after the fast path accepted them (a bug; please report)")
        for inp in self.inputs:
            lines.append(f"  input: {inp.get('path')} sha256 {inp.get('sha256')}")
        return "\n".join(lines) + "\n"


def merge_counts(into: Counter[tuple[str, str, str, str]], other: Mapping[tuple[str, str, str, str], int]) -> None:
    into.update(other)
