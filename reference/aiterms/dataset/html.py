"""The summary report as one self-contained HTML page (spec/dataset.md#req-report-html).

Inline CSS and inline SVG bar charts drawn here; no script, no font, no image, no link to anything outside the
page, so it opens the same anywhere, offline, years later. Every chart is followed by a table with the counts as
text, so the numbers are there to read (and to search, copy and test) whatever the charts look like.
"""

from __future__ import annotations

from html import escape
from typing import Any

from aiterms.dataset.report import Summary

OUTCOME_COLORS = {"allowed": "#2e7d32", "constrained": "#ef8f00", "notAllowed": "#c62828", "unspecified": "#78909c"}
BAR_COLOR = "#3f6fb5"
TOP = 15  # rows shown per chart; the rest are summed as "other"

CSS = """
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,Helvetica,Arial,sans-serif;color:#1d2329;
margin:0;background:#f5f6f8}
main{max-width:980px;margin:0 auto;padding:24px}
h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:28px 0 8px}
.meta{color:#55606b;margin:0 0 16px}
.cards{display:flex;flex-wrap:wrap;gap:12px;margin:12px 0}
.card{background:#fff;border:1px solid #dde1e6;border-radius:8px;padding:10px 16px;min-width:150px}
.card b{display:block;font-size:22px}
section{background:#fff;border:1px solid #dde1e6;border-radius:8px;padding:12px 16px;margin:12px 0}
table{border-collapse:collapse;width:100%;margin-top:8px}
th,td{text-align:left;padding:3px 8px;border-bottom:1px solid #eef0f3;vertical-align:top}
td.n,th.n{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
code{font:12px ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;word-break:break-all}
svg text{font:12px system-ui,-apple-system,"Segoe UI",Roboto,Helvetica,Arial,sans-serif;fill:#1d2329}
.warn{color:#c62828}
"""


def _fmt(n: float) -> str:
    return f"{n:,.0f}"


def _pct(n: int, total: int) -> str:
    return f"{100 * n / total:.1f}%" if total else "0.0%"


def _top(counts: dict[str, int], top: int = TOP) -> list[tuple[str, int]]:
    items = list(counts.items())
    if len(items) <= top:
        return items
    rest = sum(n for _, n in items[top - 1:])
    return [*items[: top - 1], (f"other ({len(items) - top + 1})", rest)]


def bar_chart(title: str, items: list[tuple[str, int]], *, colors: dict[str, str] | None = None) -> str:
    """An inline SVG horizontal bar chart: one labelled bar per item, its count written after it."""
    if not items:
        return "<p>none</p>"
    width, label_w, count_w, row_h = 900, 300, 130, 24
    bar_w = width - label_w - count_w
    biggest = max(n for _, n in items) or 1
    total = sum(n for _, n in items) or 1
    height = row_h * len(items) + 8
    parts = [f'<svg role="img" aria-label="{escape(title)}" width="100%" viewBox="0 0 {width} {height}">'
             f'<title>{escape(title)}</title>']
    for i, (label, n) in enumerate(items):
        y = 4 + i * row_h
        w = max(1.0, bar_w * n / biggest) if n else 0.0
        color = (colors or {}).get(label, BAR_COLOR)
        shown = label if len(label) <= 44 else label[:43] + "…"
        parts.append(
            f'<g><title>{escape(label)}: {_fmt(n)} ({_pct(n, total)})</title>'
            f'<text x="{label_w - 8}" y="{y + 16}" text-anchor="end">{escape(shown)}</text>'
            f'<rect x="{label_w}" y="{y + 3}" width="{w:.1f}" height="{row_h - 8}" rx="3" fill="{color}"/>'
            f'<text x="{label_w + w + 6:.1f}" y="{y + 16}">{_fmt(n)} ({_pct(n, total)})</text></g>')
    parts.append("</svg>")
    return "".join(parts)


def _table(head: tuple[str, str], items: list[tuple[str, int]], total: int) -> str:
    rows = "".join(f"<tr><td><code>{escape(k)}</code></td><td class=n>{_fmt(n)}</td><td class=n>{_pct(n, total)}</td>"
                   "</tr>" for k, n in items)
    return (f"<table><thead><tr><th>{escape(head[0])}</th><th class=n>{escape(head[1])}</th><th class=n>share</th>"
            f"</tr></thead><tbody>{rows}</tbody></table>")


def _chart_section(title: str, what: str, counts: dict[str, int], total: int, *, colors: dict[str, str] | None = None,
                   anchor: str) -> str:
    items = list(counts.items())
    return (f'<section id="{anchor}"><h2>{escape(title)}</h2>{bar_chart(title, _top(counts), colors=colors)}'
            f"{_table((what, 'rows'), items, total)}</section>")


def render(summary: Summary) -> str:
    """req-report-html: the whole page."""
    data: dict[str, Any] = summary.to_json()
    total = summary.rows
    q = data["query"]
    title = f"aiterms {summary.command} report"
    query_text = ", ".join(f"{k} = {v}" for k, v in q.items())
    ver = data.get("versions") or {}
    cards = [("rows", _fmt(summary.rows)), ("rows per second", _fmt(summary.rate)),
             ("seconds", f"{summary.seconds:,.1f}"), ("invalid rows", _fmt(summary.invalid))]
    if summary.kept is not None:
        cards.insert(1, ("kept rows", _fmt(summary.kept)))
    for outcome, n in data["outcomes"].items():
        cards.append((outcome, _fmt(n)))
    card_html = "".join(f'<div class=card data-name="{escape(k)}">{escape(k)}<b>{v}</b></div>' for k, v in cards)
    inputs = "".join(
        f"<tr><td><code>{escape(str(i.get('path')))}</code></td><td>{escape(str(i.get('format', '')))}</td>"
        f"<td class=n>{_fmt(int(i.get('bytes') or 0))}</td><td><code>{escape(str(i.get('sha256')))}</code></td></tr>"
        for i in data["inputs"])
    issues = data["issues"]
    issue_rows = "".join(
        f"<tr><td class=n>{escape(str(i.get('line', '')))}</td><td><code>{escape(i['code'])}</code></td>"
        f"<td>{escape(i['message'])}</td></tr>" for i in issues["first"][:50])
    issue_counts = "".join(f"<tr><td><code>{escape(k)}</code></td><td class=n>{_fmt(v)}</td></tr>"
                           for k, v in issues["counts"].items())
    fast = data.get("fastPath") or {}
    mismatch = fast.get("mismatches")
    store = data.get("store")
    store_html = ""
    if store:
        store_html = (f"<p>Declarations store <code>{escape(str(store.get('path')))}</code>: "
                      f"{_fmt(int(store.get('statements') or 0))} statements from "
                      f"{len(store.get('sources') or [])} sources.</p>")
    out = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{escape(title)}</title><style>{CSS}</style></head><body><main>",
        f"<h1>{escape(title)}</h1>",
        f'<p class=meta>Query: <b id="query">{escape(query_text)}</b><br>'
        f"Run {escape(data['started'])} to {escape(data['finished'])} with {summary.workers} "
        f"worker{'s' if summary.workers != 1 else ''}; aiterms {escape(ver.get('aiterms', '?'))}, vocabulary "
        f"{escape(ver.get('vocabulary', '?'))}, spec {escape(ver.get('spec', '?'))}.</p>",
        f'<div class=cards id="totals">{card_html}</div>',
        '<p class="warn">' + escape(f"{mismatch} records were answered by the reference resolver after the fast path "
                                    "accepted them.") + "</p>" if mismatch else "",
        _chart_section("Outcomes", "outcome", data["outcomes"], total, colors=OUTCOME_COLORS, anchor="outcomes"),
        _chart_section("Reasons", "reason", data["reasons"], total, anchor="reasons"),
        _chart_section("Signal sources", "signal source", data["signals"], total, anchor="signals"),
        _chart_section("Licenses", "license", data["licenses"], total, anchor="licenses"),
        '<section id="inputs"><h2>Inputs</h2><table><thead><tr><th>file</th><th>format</th><th class=n>bytes</th>'
        f"<th>SHA-256</th></tr></thead><tbody>{inputs}</tbody></table>{store_html}</section>",
        f'<section id="issues"><h2>Rows that could not be read or resolved</h2><p>{_fmt(summary.invalid)} invalid '
        "rows: their outcome is <code>unspecified</code> and they never pass a filter.</p>"
        f"<table><thead><tr><th>code</th><th class=n>count</th></tr></thead><tbody>{issue_counts}</tbody></table>"
        f"<table><thead><tr><th class=n>line</th><th>code</th><th>message</th></tr></thead><tbody>{issue_rows}"
        "</tbody></table></section>",
        "</main></body></html>",
    ]
    return "\n".join(part for part in out if part) + "\n"
