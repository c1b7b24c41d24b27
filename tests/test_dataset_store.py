"""The declarations store: build, add, join, export (spec/dataset.md#store)."""

from __future__ import annotations

import io
import json
import sqlite3
from pathlib import Path

import orjson
import pytest

from aiterms.cli import run
from aiterms.dataset import keys as K
from aiterms.dataset.store import SCHEMA_VERSION, Store, StoreError

CTX = "https://w3id.org/aiterms/context/v1.jsonld"


def cli(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = run(list(argv), stdout=out, stderr=err)
    return code, out.getvalue(), err.getvalue()


def test_build_and_add_10k_declarations(tmp_path: Path) -> None:
    accounts = tmp_path / "accounts.txt"
    accounts.write_text("# FFHQ-style removal requests\n"
                        + "".join(f"{10_000_000 + i}@N0{i % 9}\n" for i in range(6000))
                        + "not an account at all\n", "utf-8")
    urls = tmp_path / "urls.txt"
    urls.write_text("".join(f"https://img.example/{i}.jpg 2024-0{1 + i % 9}-01\n" for i in range(4000)) + "ftp://x\n",
                    "utf-8")
    store = tmp_path / "s.sqlite"
    code, out, _e = cli("store", "build", str(accounts), "--kind", "flickr-optout-accounts", "-o", str(store),
                        "--observed", "2026-02-01T00:00:00Z")
    assert code == 1  # one invalid entry, skipped
    assert "6,000 new statements" in out
    assert "line 6002" in out
    code, out, _e = cli("store", "add", str(store), str(urls), "--kind", "url-optout", "--format", "json")
    assert code == 1
    data = json.loads(out)
    assert data["statements"] == 10_000
    assert data["sources"][0]["issues"][0]["line"] == 4001
    # Adding the same list again adds nothing (statements are identified by their content).
    code, out, _e = cli("store", "add", str(store), str(urls), "--kind", "url-optout", "--format", "json")
    assert json.loads(out)["sources"][0]["statements"] == 0
    with Store.open(store) as s:
        decls, _tags = s.lookup([(K.OWNER, "flickr:10000005@N05")])
        assert len(decls) == 1
        d = decls[0]
        assert d["declaredBy"] == {"id": "flickr:10000005@N05", "role": "rights-holder"}
        assert d["source"]["signal"] == "flickr-optout-accounts"
        assert d["source"]["observed"] == "2026-02-01T00:00:00Z"
        assert d["source"]["location"] == "accounts.txt:7"
        assert {r["use"] for r in d["rules"]} == {"data-mining", "dataset-redistribution"}
        decls, _tags = s.lookup([(K.URL, "https://img.example/3.jpg")])
        assert decls[0]["issued"] == "2024-04-01"
        assert decls[0]["rules"] == [{"effect": "prohibit", "use": "ai-training"}]
        many = s.lookup_many([[(K.OWNER, f"flickr:{10_000_000 + i}@N0{i % 9}")] for i in range(0, 6000, 7)])
        assert all(len(d) == 1 for d, _t in many)
        info = s.stats()
        assert info["statements"] == 10_000
        assert info["keys"]["owner"] == 6000
        assert all(src["sha256"] and len(src["sha256"]) == 64 for src in info["sources"])
        plan = " ".join(str(r) for r in s.conn.execute(
            "EXPLAIN QUERY PLAN SELECT digest FROM keys WHERE kind='owner' AND value='x'").fetchall())
        assert "USING PRIMARY KEY" in plan or "USING INDEX" in plan  # indexed lookup, no table scan


def test_records_source_and_account_level_join(tmp_path: Path) -> None:
    recs = tmp_path / "records.jsonl"
    recs.write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in [
        {"@context": CTX, "type": "ImageRecord", "id": "https://www.flickr.com/photos/1@N00/11",
         "owner": "flickr:1@N00", "tags": ["no_cv", "beach"],
         "declarations": [{"declaredBy": {"id": "flickr:1@N00", "role": "rights-holder"},
                           "rules": [{"effect": "prohibit", "use": "genai-training"}],
                           "source": {"signal": "plus", "location": "XMP plus:DataMining",
                                      "raw": "DMI-PROHIBITED-GENAIMLTRAINING", "observed": "2025-01-01"}}]},
        {"@context": CTX, "type": "ImageRecord", "declarations": [{"declaredBy": {"role": "nobody"}}]},
        {"@context": CTX, "type": "ImageRecord", "license": "https://creativecommons.org/licenses/by/2.0/"},
    ]) + b"{broken\n")
    store = tmp_path / "s.sqlite"
    code, out, _e = cli("store", "build", str(recs), "-o", str(store))
    assert code == 1
    assert "line 2" in out
    assert "line 3" in out
    assert "line 4" in out
    with Store.open(store) as s:
        # By the photo id from a manifest row, and by the page URL in another spelling.
        decls, tags = s.lookup([(K.PHOTO, "flickr:11")])
        assert decls[0]["source"]["signal"] == "plus"
        assert tags == ["no_cv"]
        decls, _tags = s.lookup([(K.ASSET, K.normalize_url("http://WWW.flickr.com/photos/1@N00/11#x") or "")])
        assert len(decls) == 1
        # Never by the owner: a declaration about one photo is not about the account.
        assert s.lookup([(K.OWNER, "flickr:1@N00")]) == ([], [])


def test_account_optout_covers_every_photo_of_the_account(tmp_path: Path) -> None:
    lst = tmp_path / "optouts.txt"
    lst.write_text("12345678@N00 2019-03-19\n", "utf-8")
    store = tmp_path / "s.sqlite"
    assert cli("store", "build", str(lst), "--kind", "flickr-optout-accounts", "-o", str(store))[0] == 0
    manifest = tmp_path / "m.jsonl"
    lines = [{"@context": CTX, "type": "ImageRecord", "id": f"https://www.flickr.com/photos/12345678@N00/{i}",
              "owner": "flickr:12345678@N00", "license": "https://creativecommons.org/licenses/by/2.0/"}
             for i in range(5)]
    lines.append({"@context": CTX, "type": "ImageRecord", "id": "https://www.flickr.com/photos/99@N00/7"})
    manifest.write_bytes(b"".join(orjson.dumps(x) + b"\n" for x in lines))
    out = tmp_path / "o.jsonl"
    for at, expected in (("2019-01-01", "unspecified"), ("2019-04-01", "notAllowed")):
        code, _o, err = cli("annotate", str(manifest), "--use", "face-recognition", "--declarations", str(store),
                            "--at", at, "-o", str(out), "-q")
        assert code == 0, err
        rows = [json.loads(x) for x in out.read_text("utf-8").splitlines()]
        assert [r["aiterms_outcome"] for r in rows[:5]] == [expected] * 5
        assert rows[5]["aiterms_outcome"] == "unspecified"


def test_export_parquet_and_jsonl(tmp_path: Path) -> None:
    lst = tmp_path / "d.txt"
    lst.write_text("example.com\nphotos.example.org\n", "utf-8")
    store = tmp_path / "s.sqlite"
    assert cli("store", "build", str(lst), "--kind", "domain-optout", "-o", str(store))[0] == 0
    out = tmp_path / "decls.jsonl"
    code, msg, _e = cli("store", "export", str(store), "-o", str(out))
    assert code == 0
    assert "2 (key, statement) rows" in msg
    rows = [json.loads(x) for x in out.read_text("utf-8").splitlines()]
    assert {r["key"] for r in rows} == {"example.com", "photos.example.org"}
    assert json.loads(rows[0]["body"])["declaredBy"]["id"].startswith("https://")
    pq = pytest.importorskip("pyarrow.parquet")
    pout = tmp_path / "decls.parquet"
    assert cli("store", "export", str(store), "-o", str(pout))[0] == 0
    t = pq.read_table(pout)
    assert t.column_names == ["key_kind", "key", "digest", "statement_kind", "body", "signal", "observed", "source",
                              "line"]
    assert t.num_rows == 2


def test_domain_keys_cover_subdomains() -> None:
    keys = K.lookup_keys(url="https://cdn.photos.example.org/a.jpg")
    assert (K.DOMAIN, "photos.example.org") in keys
    assert (K.DOMAIN, "example.org") in keys
    assert K.normalize_url("HTTP://Example.COM:80/a?b#c") == "https://example.com/a?b"
    assert K.normalize_hash("ABCDEF" * 5 + "AB") == "md5:" + ("abcdef" * 5 + "ab")
    assert K.account_key("https://www.flickr.com/photos/1@N00/") == "flickr:1@N00"
    assert K.photo_key("https://live.staticflickr.com/65535/5020123456_abc123_b.jpg") == "flickr:5020123456"


def test_bad_stores_are_refused(tmp_path: Path) -> None:
    junk = tmp_path / "junk.sqlite"
    junk.write_bytes(b"not a database" * 100)
    with pytest.raises(StoreError) as exc:
        Store.open(junk)
    assert exc.value.issue.code == "store-schema-mismatch"
    other = tmp_path / "other.sqlite"
    conn = sqlite3.connect(other)
    conn.execute("CREATE TABLE meta(name TEXT PRIMARY KEY, value TEXT)")
    conn.execute("INSERT INTO meta VALUES ('schema', ?)", (str(int(SCHEMA_VERSION) + 1),))
    conn.commit()
    conn.close()
    with pytest.raises(StoreError):
        Store.open(other)
    code, _o, err = cli("store", "info", str(tmp_path / "absent.sqlite"))
    assert code == 2
    assert "store-unreadable" in err
    assert cli("store", "add", str(junk), str(junk), "--kind", "url-optout")[0] == 2


def test_failed_build_leaves_nothing(tmp_path: Path) -> None:
    store = tmp_path / "s.sqlite"
    code, _o, _e = cli("store", "build", str(tmp_path / "missing.txt"), "--kind", "url-optout", "-o", str(store))
    assert code == 2
    assert not store.exists()
    assert not list(tmp_path.glob("s.sqlite*"))
    assert cli("store", "build", str(tmp_path), "--kind", "no-such-kind", "-o", str(store))[0] == 2
