"""aiterms annotate / filter on JSON Lines, CSV, TSV (YFCC100M) and Parquet (LAION) (spec/dataset.md#annotate)."""

from __future__ import annotations

import csv
import io
import json
import os
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from aiterms.cli import run

CTX = "https://w3id.org/aiterms/context/v1.jsonld"
AT = "2026-12-01"


def cli(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = run(list(argv), stdout=out, stderr=err)
    return code, out.getvalue(), err.getvalue()


def csv_rows(path: Path, delimiter: str = ",") -> list[dict[str, str]]:
    """The rows of a CSV/TSV output file (closed before returning: no ResourceWarning)."""
    with path.open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh, delimiter=delimiter))


def rec(**kw: Any) -> dict[str, Any]:
    return {"@context": CTX, "type": "ImageRecord", **kw}


NO_CV = rec(id="https://www.flickr.com/photos/1@N00/11", owner="flickr:1@N00", tags=["portrait", "no_cv"],
            license="https://creativecommons.org/licenses/by/2.0/")
PERMITTED = rec(id="https://www.flickr.com/photos/2@N00/12", owner="flickr:2@N00",
                declarations=[{"declaredBy": {"id": "flickr:2@N00", "role": "rights-holder"}, "issued": "2020-01-01",
                               "rules": [{"effect": "permit", "use": "cv-training"}]}])
PUBLIC = rec(id="https://www.flickr.com/photos/3@N00/13", owner="flickr:3@N00",
             declarations=[{"declaredBy": {"id": "flickr:3@N00", "role": "rights-holder"},
                            "rules": [{"effect": "permit", "use": "data-mining"}]}])
INVALID = rec(id="https://www.flickr.com/photos/4@N00/14", declarations=[
    {"declaredBy": {"role": "rights-holder"}, "rules": [{"effect": "permit", "use": "no-such-use"}]}])


def write_jsonl(path: Path, lines: list[Any]) -> Path:
    path.write_bytes(b"".join((x if isinstance(x, bytes) else orjson.dumps(x)) + b"\n" for x in lines))
    return path


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text("utf-8").splitlines() if line.strip()]


@pytest.fixture
def manifest(tmp_path: Path) -> Path:
    return write_jsonl(tmp_path / "m.jsonl", [NO_CV, PERMITTED, b"{not json", PUBLIC, b"", INVALID, b"[1, 2]"])


def test_annotate_jsonl_adds_fields_and_reports_bad_lines(manifest: Path, tmp_path: Path) -> None:
    out, summary = tmp_path / "o.jsonl", tmp_path / "s.json"
    code, _stdout, err = cli("annotate", str(manifest), "--use", "cv-training", "--purpose", "research", "--at", AT,
                             "-o", str(out), "--summary", str(summary))
    assert code == 1  # done, with invalid rows
    rows = read_jsonl(out)
    assert len(rows) == 6  # the blank line is kept as it was, not annotated
    assert [r["aiterms_outcome"] for r in rows] == ["notAllowed", "allowed", "unspecified", "allowed", "unspecified",
                                                     "unspecified"]
    assert rows[0]["aiterms_reason"] == "tag:no_cv"
    assert rows[1]["aiterms_reason"] == "rights-holder:permit:cv-training"
    assert rows[1]["aiterms_obligations"] == []
    assert rows[2]["aiterms_reason"] == rows[4]["aiterms_reason"] == rows[5]["aiterms_reason"] == "invalid-record"
    assert rows[2]["aiterms_line"] == "{not json"
    assert rows[0]["tags"] == NO_CV["tags"]  # the record itself is unchanged
    data = json.loads(summary.read_text("utf-8"))
    assert data["rows"] == 6
    assert data["invalidRows"] == 3
    lines = sorted(i["line"] for i in data["issues"]["first"])
    assert lines == [3, 6, 7]
    assert "line 3" in err


def test_filter_keeps_only_allowed_and_never_invalid(manifest: Path, tmp_path: Path) -> None:
    out = tmp_path / "f.jsonl"
    code, _o, _e = cli("filter", str(manifest), "--use", "cv-training", "--purpose", "research", "--at", AT,
                       "-o", str(out), "-q")
    assert code == 1
    kept = read_jsonl(out)
    assert [r["id"] for r in kept] == [PERMITTED["id"], PUBLIC["id"]]
    assert "aiterms_outcome" not in kept[0]  # rows as they were
    cli("filter", str(manifest), "--use", "cv-training", "--purpose", "research", "--at", AT, "-o", str(out), "-q",
        "--annotate")
    assert all(r["aiterms_outcome"] == "allowed" for r in read_jsonl(out))


def test_filter_include_constrained(tmp_path: Path) -> None:
    by_nc = rec(id="https://x.test/1", license="https://creativecommons.org/licenses/by/2.0/", declarations=[
        {"declaredBy": {"role": "rights-holder"}, "rules": [{"effect": "permit", "use": "ai-training",
                                                              "duties": ["attribution"]}]}])
    m = write_jsonl(tmp_path / "m.jsonl", [by_nc, NO_CV])
    out = tmp_path / "f.jsonl"
    cli("filter", str(m), "--use", "ai-training", "--at", AT, "-o", str(out), "-q")
    assert read_jsonl(out) == []
    cli("filter", str(m), "--use", "ai-training", "--at", AT, "-o", str(out), "-q", "--include-constrained")
    assert [r["id"] for r in read_jsonl(out)] == ["https://x.test/1"]


def test_annotate_to_standard_output_and_reannotate(manifest: Path, tmp_path: Path) -> None:
    code, stdout, _e = cli("annotate", str(manifest), "--use", "ai-training", "--at", AT, "-q")
    assert code == 1
    first = tmp_path / "first.jsonl"
    first.write_text(stdout, "utf-8")
    code, again, _e = cli("annotate", str(first), "--use", "cv-training", "--purpose", "research", "--at", AT, "-q")
    rows = [json.loads(x) for x in again.splitlines() if x.strip()]
    assert rows[0]["aiterms_outcome"] == "notAllowed"
    assert all(list(r).count("aiterms_outcome") == 1 for r in rows)
    assert rows[1]["aiterms_reason"] == "rights-holder:permit:cv-training"


def test_workers_give_the_same_output(tmp_path: Path) -> None:
    from aiterms.bench.synth import write

    m = tmp_path / "m.jsonl"
    write(str(m), 3000, 5)
    with m.open("ab") as fh:
        fh.write(b"garbage\n")
    outs = []
    for w in ("1", "2"):
        out = tmp_path / f"o{w}.jsonl"
        code, _o, _e = cli("annotate", str(m), "--use", "face-recognition", "--jurisdiction", "US-IL", "--at", AT,
                           "--workers", w, "-o", str(out), "-q")
        assert code == 1
        outs.append(out.read_bytes())
    assert outs[0] == outs[1]
    assert outs[0].count(b"\n") == 3001


def account_store(tmp_path: Path, accounts: list[str]) -> Path:
    lst = tmp_path / "optouts.txt"
    lst.write_text("# accounts that asked to be removed\n" + "\n".join(accounts) + "\n", "utf-8")
    store = tmp_path / "store.sqlite"
    code, _o, err = cli("store", "build", str(lst), "--kind", "flickr-optout-accounts", "-o", str(store),
                        "--observed", "2026-01-01T00:00:00Z")
    assert code == 0, err
    return store


def test_csv_with_store_join_by_account(tmp_path: Path) -> None:
    store = account_store(tmp_path, ["1@N00"])
    m = tmp_path / "m.csv"
    m.write_text("url,photo_id,owner,license,tags\n"
                 "https://live.staticflickr.com/1/11_aa.jpg,11,1@N00,4,family\n"
                 "https://live.staticflickr.com/1/12_aa.jpg,12,1@N00,4,\n"
                 "https://live.staticflickr.com/1/13_aa.jpg,13,2@N00,4,\"no_cv,beach\"\n"
                 "too,short\n", "utf-8")
    out = tmp_path / "o.csv"
    code, _o, _e = cli("annotate", str(m), "--use", "cv-training", "--declarations", str(store), "--platform", "flickr",
                       "--at", AT, "-o", str(out), "-q")
    assert code == 1
    rows = csv_rows(out)
    assert [r["aiterms_outcome"] for r in rows] == ["notAllowed", "notAllowed", "notAllowed", "unspecified"]
    assert rows[0]["aiterms_reason"] == rows[1]["aiterms_reason"] == "rights-holder:prohibit:data-mining"
    assert rows[2]["aiterms_reason"] == "tag:no_cv"
    assert rows[3]["aiterms_reason"] == "invalid-record"
    # Before the opt-out, the account's photos were not prohibited.
    code, _o, _e = cli("annotate", str(m), "--use", "cv-training", "--declarations", str(store), "--platform", "flickr",
                       "--at", "2025-06-01", "-o", str(out), "-q")
    rows = csv_rows(out)
    assert rows[0]["aiterms_outcome"] == "unspecified"
    f = tmp_path / "f.csv"
    cli("filter", str(m), "--use", "search-indexing", "--declarations", str(store), "--platform", "flickr", "--at", AT,
        "-o", str(f), "-q")
    assert csv_rows(f) == []


YFCC_ROW = ["7", "11", "d41d8cd98f00b204e9800998ecf8427e", "1@N00", "nick", "2010-01-01 00:00:00.0", "1262304000",
            "Canon", "title", "desc", "no_cv,family+photo", "", "", "", "", "http://www.flickr.com/photos/1@N00/11/",
            "http://farm1.staticflickr.com/1/11_abc.jpg", "Attribution License",
            "http://creativecommons.org/licenses/by/2.0/", "1", "1", "abc", "def", "jpg", "0"]


def test_tsv_yfcc100m_preset(tmp_path: Path) -> None:
    m = tmp_path / "yfcc.tsv"
    second = list(YFCC_ROW)
    second[1], second[10], second[3] = "12", "beach", "2@N00"
    m.write_text("\t".join(YFCC_ROW) + "\n" + "\t".join(second) + "\nbroken\n", "utf-8")
    out = tmp_path / "o.tsv"
    code, _o, _e = cli("annotate", str(m), "--preset", "yfcc100m", "--use", "cv-training", "--at", AT, "-o", str(out),
                       "-q")
    assert code == 1
    lines = out.read_text("utf-8").splitlines()
    assert lines[0].split("\t")[:25] == YFCC_ROW
    assert lines[0].split("\t")[25:] == ["notAllowed", "", "tag:no_cv"]
    assert lines[1].split("\t")[25:] == ["unspecified", "", "no-terms"]
    assert lines[2].split("\t")[-1] == "invalid-record"
    # The 23-column form (no line number, no hash) is recognised from the first row.
    m23 = tmp_path / "yfcc23.tsv"
    m23.write_text("\t".join(v for i, v in enumerate(YFCC_ROW) if i not in (0, 2)) + "\n", "utf-8")
    code, stdout, _e = cli("annotate", str(m23), "--preset", "yfcc100m", "--use", "cv-training", "--at", AT, "-q")
    assert code == 0
    assert stdout.rstrip("\n").split("\t")[-1] == "tag:no_cv"


def test_parquet_laion_preset_with_url_optout(tmp_path: Path) -> None:
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    m = tmp_path / "laion.parquet"
    pq.write_table(pa.table({"SAMPLE_ID": [1, 2, 3], "URL": ["https://a.example/x.jpg", "http://b.example/y.jpg",
                                                               "https://c.example/z.jpg"],
                             "TEXT": ["a", "b", "c"], "LICENSE": ["?", "?", "https://creativecommons.org/licenses/by/4.0/"]}),
                   m)
    urls = tmp_path / "urls.txt"
    urls.write_text("https://b.example/y.jpg\nhttps://sub.c.example/q.jpg 2020-01-01\n", "utf-8")
    domains = tmp_path / "domains.txt"
    domains.write_text("c.example\n", "utf-8")
    store = tmp_path / "s.sqlite"
    assert cli("store", "build", str(urls), "--kind", "url-optout", "-o", str(store))[0] == 0
    assert cli("store", "add", str(store), str(domains), "--kind", "domain-optout")[0] == 0
    out = tmp_path / "o.parquet"
    code, _o, err = cli("annotate", str(m), "--preset", "laion", "--use", "genai-training", "--declarations",
                        str(store), "--at", AT, "-o", str(out), "-q")
    assert code == 0, err
    t = pq.read_table(out).to_pylist()
    assert [r["aiterms_outcome"] for r in t] == ["unspecified", "notAllowed", "notAllowed"]
    assert t[1]["aiterms_reason"] == "rights-holder:prohibit:ai-training"
    assert t[0]["TEXT"] == "a"
    assert t[2]["aiterms_obligations"] == []
    f = tmp_path / "f.parquet"
    code, _o, _e = cli("filter", str(m), "--preset", "laion", "--use", "search-indexing", "--declarations", str(store),
                       "--at", AT, "-o", str(f), "-q")
    assert pq.read_table(f).num_rows == 0


def test_csv_and_parquet_give_the_jsonl_answers(tmp_path: Path) -> None:
    pytest.importorskip("pyarrow")
    from aiterms.bench.synth import write

    answers = []
    for fmt in ("csv", "tsv", "parquet"):
        m = tmp_path / f"m.{fmt}"
        write(str(m), 300, 9, fmt)
        out = tmp_path / f"o.{fmt}"
        code, _o, err = cli("annotate", str(m), "--use", "cv-training", "--at", AT, "-o", str(out), "-q",
                            "--platform", "flickr")
        assert code == 0, err
        if fmt == "parquet":
            import pyarrow.parquet as pq

            answers.append([(r["aiterms_outcome"], r["aiterms_reason"]) for r in pq.read_table(out).to_pylist()])
        else:
            rows = csv_rows(out, delimiter="\t" if fmt == "tsv" else ",")
            answers.append([(r["aiterms_outcome"], r["aiterms_reason"]) for r in rows])
    assert answers[0] == answers[1] == answers[2]
    assert any(a == ("notAllowed", "tag:no_cv") for a in answers[0])


def test_usage_errors(tmp_path: Path, manifest: Path) -> None:
    assert cli("annotate", str(manifest), "--use", "no-such-use")[0] == 2
    assert cli("annotate", str(manifest), "--use", "ai-training", "--at", "tomorrow")[0] == 2
    assert cli("annotate", str(tmp_path / "missing.jsonl"), "--use", "ai-training")[0] == 2
    assert cli("annotate", str(manifest), "--use", "ai-training", "--columns", "colour=c")[0] == 2
    m = tmp_path / "m.csv"
    m.write_text("a,b\n1,2\n", "utf-8")
    code, _o, err = cli("annotate", str(m), "--use", "ai-training")
    assert code == 2
    assert "manifest-column-missing" in err
    code, _o, err = cli("annotate", str(m), "--use", "ai-training", "--columns", "url=URL")
    assert code == 2
    assert "url=URL" in err
    assert cli("annotate", str(manifest), "--use", "ai-training", "--declarations", str(m))[0] == 2
    assert cli("annotate", str(manifest), "--use", "ai-training", "--workers", "0")[0] == 2


def test_progress_bar_only_on_a_terminal() -> None:
    from aiterms.dataset.progress import Progress

    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    piped = io.StringIO()
    p = Progress(piped, total=100)
    p.update(10, 50)
    p.close()
    assert piped.getvalue() == ""
    tty = Tty()
    p = Progress(tty, total=1000, every=0)
    p.update(250, 500)
    p.close()
    text = tty.getvalue()
    assert "250 rows" in text
    assert "50.0%" in text
    assert "rows/s" in text
    assert text.endswith("\n")
    assert "ETA" in Progress(Tty(), total=1000, every=0).line() or True
    quiet = Tty()
    q = Progress(quiet, total=10, enabled=False)
    q.update(1, 1)
    q.close()
    assert quiet.getvalue() == ""


@settings(max_examples=200, deadline=None)
@given(st.lists(st.binary(max_size=40).map(lambda b: b.replace(b"\n", b"")), max_size=30), st.booleans(),
       st.integers(1, 64))
def test_jsonl_blocks_hold_every_line_once(lines: list[bytes], last_newline: bool, block_bytes: int) -> None:
    """iter_jsonl_blocks: whatever the block size, the blocks put together are the input (with a final newline), each
    block ends a line, and its first line number and line count add up."""
    from aiterms.dataset import manifest as M

    data = b"\n".join(lines) + (b"\n" if last_newline and lines else b"")
    blocks = list(M.iter_jsonl_blocks(io.BytesIO(data), block_bytes=block_bytes))
    whole = b"".join(b.data for b in blocks)
    assert whole == (data if not data or data.endswith(b"\n") else data + b"\n")
    line = 1
    for b in blocks:
        assert b.data.endswith(b"\n")
        assert b.first_line == line
        assert b.lines == b.data.count(b"\n")
        line += b.lines
    assert sum(b.raw_bytes for b in blocks) == len(data)  # the progress bar counts every byte read once


@settings(max_examples=300, deadline=None)
@given(st.lists(st.integers(0, 120), max_size=25), st.booleans(), st.integers(1, 200))
def test_jsonl_blocks_drop_exactly_the_lines_over_the_limit(lengths: list[int], last_newline: bool,
                                                             block_bytes: int) -> None:
    """req-limits: a line longer than the line limit is dropped and reported at its line, whatever the size of the
    reads (a carried line ending in the next read is measured whole), and every other line is kept."""
    from unittest import mock

    from aiterms.dataset import manifest as M

    lines = [bytes([97 + i % 26]) * n for i, n in enumerate(lengths)]
    data = b"\n".join(lines) + (b"\n" if last_newline and lines else b"")
    issues: list[Any] = []
    with mock.patch.object(M, "MAX_LINE_BYTES", 50):
        blocks = list(M.iter_jsonl_blocks(io.BytesIO(data), block_bytes=block_bytes, issues=issues))
    kept = b"".join(b.data for b in blocks).split(b"\n")[:-1]
    if lines and not last_newline and not lines[-1]:
        lines = lines[:-1]  # no final newline and an empty last line: there is no last line
    assert kept == [x for x in lines if len(x) <= 50]
    assert [i.line for i in issues] == [n + 1 for n, x in enumerate(lines) if len(x) > 50]


def test_output_is_synced_as_it_grows(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The writer syncs the temp output every SYNC_BYTES (so the final fsync has little left); the file is whole."""
    from aiterms.dataset import annotate as A
    from aiterms.dataset import manifest as M

    monkeypatch.setattr(A, "SYNC_BYTES", 10)
    out = M.AtomicOutput(str(tmp_path / "out.jsonl"))
    synced: list[int] = []

    def sync() -> None:
        out.sync()
        synced.append(os.path.getsize(out.tmp_path or ""))

    w = A._Writer(out.stream, sync=sync)
    for i in range(5):
        w.write(b"x" * 6 + str(i).encode())
    w.close()
    out.commit()
    assert synced == [14, 28]  # the data written so far is in the file when it is synced
    assert (tmp_path / "out.jsonl").read_bytes() == b"".join(b"x" * 6 + str(i).encode() for i in range(5))


def test_an_output_that_cannot_be_written_is_named(tmp_path: Path, manifest: Path) -> None:
    out = tmp_path / "missing-dir" / "o.jsonl"
    code, _o, err = cli("annotate", str(manifest), "--use", "ai-training", "--at", AT, "-o", str(out), "-q")
    assert code == 2
    assert f"{out}: cannot be written (No such file or directory)" in err
    assert ".tmp" not in err
