"""The summary report: JSON fields, the self-contained HTML page rendered in headless Chromium, and diff
(spec/dataset.md#report, #diff)."""

from __future__ import annotations

import hashlib
import io
import json
import re
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import orjson
import pytest

from aiterms.cli import run

CTX = "https://w3id.org/aiterms/context/v1.jsonld"


def cli(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = run(list(argv), stdout=out, stderr=err)
    return code, out.getvalue(), err.getvalue()


@pytest.fixture(scope="module")
def annotated(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path, Path]:
    from aiterms.bench.synth import write

    d = tmp_path_factory.mktemp("report")
    m = d / "m.jsonl"
    write(str(m), 2000, 11)
    with m.open("ab") as fh:
        fh.write(b"{oops\n")
    out, summary, html = d / "o.jsonl", d / "s.json", d / "r.html"
    code, _o, err = cli("annotate", str(m), "--use", "cv-training", "--purpose", "research", "--jurisdiction", "US",
                        "--at", "2026-11-26", "-o", str(out), "--summary", str(summary), "--report", str(html))
    assert code == 1, err
    return m, out, summary, html


def test_summary_fields(annotated: tuple[Path, Path, Path, Path]) -> None:
    m, _out, summary, _html = annotated
    s = json.loads(summary.read_text("utf-8"))
    for key in ("report", "command", "query", "versions", "started", "finished", "seconds", "rowsPerSecond", "workers",
                "inputs", "output", "store", "rows", "invalidRows", "outcomes", "reasons", "signals", "licenses",
                "outcomesByReason", "issues", "fastPath"):
        assert key in s, key
    assert s["query"] == {"use": "cv-training", "purpose": "research", "jurisdiction": "US", "at": "2026-11-26"}
    assert s["versions"]["aiterms"]
    assert s["versions"]["vocabulary"]
    assert s["inputs"][0]["sha256"] == hashlib.sha256(m.read_bytes()).hexdigest()
    # The synthetic records include a few contradictory ones (invalid), and the last line is not JSON.
    assert s["rows"] == 2001
    assert s["invalidRows"] == s["reasons"]["invalid-record"] >= 1
    assert sum(s["outcomes"].values()) == sum(s["reasons"].values()) == sum(s["signals"].values()) \
        == sum(s["licenses"].values()) == 2001
    assert s["reasons"].get("tag:no_cv", 0) > 0
    assert "(none)" in s["licenses"]
    assert any(k.startswith("CC BY") for k in s["licenses"])
    assert {"plus", "tag", "none"} <= set(s["signals"])
    assert 2001 in [i.get("line") for i in s["issues"]["first"]]
    assert s["fastPath"]["mismatches"] == 0
    assert s["fastPath"]["signed"] >= 1990
    assert re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$", s["started"])


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.refs: list[str] = []
        self.tags: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.add(tag)
        for name, value in attrs:
            if name in ("src", "href", "xlink:href", "action", "data", "srcset", "poster") and value:
                self.refs.append(value)


def test_html_report_is_self_contained(annotated: tuple[Path, Path, Path, Path]) -> None:
    _m, _out, summary, html = annotated
    text = html.read_text("utf-8")
    p = _Links()
    p.feed(text)
    assert not [r for r in p.refs if re.match(r"^\s*(https?:)?//", r, re.I)]
    assert "script" not in p.tags
    assert "link" not in p.tags
    assert "img" not in p.tags
    assert "iframe" not in p.tags
    assert "@import" not in text
    assert "url(" not in text
    assert text.count("<svg") == 4
    s = json.loads(summary.read_text("utf-8"))
    for outcome, n in s["outcomes"].items():
        assert f"{n:,}" in text
        assert outcome in text


def _chromium() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        path = shutil.which(name)
        if path:
            return path
    return None


def test_html_report_renders_in_headless_chromium(annotated: tuple[Path, Path, Path, Path], tmp_path: Path) -> None:
    browser = _chromium()
    if browser is None:
        pytest.skip("no Chromium on this machine (CI installs Debian's chromium package)")
    _m, _out, summary, html = annotated
    cmd = [browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
           "--disable-component-update", "--disable-sync", "--no-first-run", f"--user-data-dir={tmp_path / 'profile'}",
           "--dump-dom", html.resolve().as_uri()]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=False)
    except subprocess.TimeoutExpired:
        pytest.skip("headless Chromium did not finish in 120 s")
    if proc.returncode != 0 or "<html" not in proc.stdout:
        pytest.skip(f"headless Chromium could not render here (exit {proc.returncode}): {proc.stderr[-300:]}")
    dom = proc.stdout
    s = json.loads(summary.read_text("utf-8"))
    assert 'id="outcomes"' in dom
    assert 'id="reasons"' in dom
    assert 'id="licenses"' in dom
    assert 'id="signals"' in dom
    for outcome, n in s["outcomes"].items():
        assert re.search(rf"{re.escape(outcome)}.*?{re.escape(f'{n:,}')}", dom, re.S), outcome
    assert f"{s['rows']:,}" in dom
    shot = tmp_path / "shot.png"
    proc = subprocess.run([*cmd[:-2], "--window-size=1000,1600", f"--screenshot={shot}", html.resolve().as_uri()],
                          capture_output=True, timeout=120, check=False)
    if proc.returncode == 0 and shot.exists():
        assert shot.stat().st_size > 10_000  # a page with charts, not a blank one


def _annotate(m: Path, out: Path, *extra: str) -> None:
    code, _o, err = cli("annotate", str(m), "--use", "ai-training", "--at", "2026-12-01", "-o", str(out), "-q", *extra)
    assert code in (0, 1), err


def test_diff_lists_rows_opted_out_since_the_release(tmp_path: Path) -> None:
    recs = [{"@context": CTX, "type": "ImageRecord", "id": f"https://www.flickr.com/photos/{o}@N00/{i}",
             "owner": f"flickr:{o}@N00", "contentUrl": f"https://live.staticflickr.com/1/{i}_ab.jpg"}
            for i, o in ((1, 1), (2, 1), (3, 2), (4, 3))]
    m = tmp_path / "release.jsonl"
    m.write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in recs))
    old, new = tmp_path / "old.jsonl", tmp_path / "new.jsonl"
    _annotate(m, old)
    lst = tmp_path / "optouts.txt"
    lst.write_text("1@N00 2026-06-01\n", "utf-8")
    store = tmp_path / "s.sqlite"
    assert cli("store", "build", str(lst), "--kind", "flickr-optout-accounts", "-o", str(store))[0] == 0
    # The new run also lost one row and gained one.
    m2 = tmp_path / "release2.jsonl"
    extra = {"@context": CTX, "type": "ImageRecord", "id": "https://www.flickr.com/photos/9@N00/9",
             "contentUrl": "https://live.staticflickr.com/1/9_ab.jpg"}
    m2.write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in [*recs[:3], extra]))
    _annotate(m2, new, "--declarations", str(store))
    code, stdout, err = cli("diff", str(old), str(new))
    assert code == 1
    changed = [json.loads(x) for x in stdout.splitlines()]
    assert [c["key"] for c in changed] == ["https://www.flickr.com/photos/1@N00/1",
                                           "https://www.flickr.com/photos/1@N00/2"]
    assert changed[0]["old_outcome"] == "unspecified"
    assert changed[0]["new_outcome"] == "notAllowed"
    assert changed[0]["new_reason"] == "rights-holder:prohibit:data-mining"
    assert "1 only in" in err
    code, _o, err = cli("diff", str(old), str(new), "--format", "json", "--key", "url", "-o", str(tmp_path / "c.csv"))
    data = json.loads(err)
    assert data["changed"] == 2
    assert data["removed"] == 1
    assert data["added"] == 1
    assert data["key"] == "url"
    assert data["transitions"] == {"unspecified -> notAllowed": 2}
    assert (tmp_path / "c.csv").read_text("utf-8").startswith("key,old_outcome,new_outcome")
    code, _o, _e = cli("diff", str(old), str(old))
    assert code == 0


def test_diff_of_csv_outputs_and_bad_inputs(tmp_path: Path) -> None:
    m = tmp_path / "m.csv"
    m.write_text("url,owner,tags\nhttps://a.example/1.jpg,flickr:1@N00,no_cv\nhttps://a.example/2.jpg,flickr:2@N00,\n"
                 "https://a.example/2.jpg,flickr:2@N00,\n", "utf-8")
    old = tmp_path / "o1.csv"
    code, _o, _e = cli("annotate", str(m), "--use", "cv-training", "--at", "2026-12-01", "-o", str(old), "-q")
    assert code == 0
    code, stdout, err = cli("diff", str(old), str(old), "--format", "json")
    assert code == 0
    assert stdout == ""
    data = json.loads(err)
    assert data["key"] == "url"
    assert data["issues"]["counts"] == {"diff-duplicate-key": 2}
    assert cli("diff", str(m), str(old))[0] == 2  # not an annotated output
