"""Flickr records and CC license IRIs (spec/interop-flickr.md): the Openverse catalog's real Flickr API records
and TSV rows from ../shared/corpus/openverse-catalog, license ids, tags, and properties."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from aiterms.interop import cclicense, flickr
from test_interop_c2pa import _corruptions, full

SPEC = Path(__file__).resolve().parents[1] / "spec" / "interop-flickr.md"
FLICKR_IDS = {
    "1": "https://creativecommons.org/licenses/by-nc-sa/2.0/", "2": "https://creativecommons.org/licenses/by-nc/2.0/",
    "3": "https://creativecommons.org/licenses/by-nc-nd/2.0/", "4": "https://creativecommons.org/licenses/by/2.0/",
    "5": "https://creativecommons.org/licenses/by-sa/2.0/", "6": "https://creativecommons.org/licenses/by-nd/2.0/",
    "9": "https://creativecommons.org/publicdomain/zero/1.0/", "10": "https://creativecommons.org/publicdomain/mark/1.0/",
}


def codes(result: Any) -> set[str]:
    return {i.code for i in result.issues}


def test_codes_are_registered_in_the_spec() -> None:
    table = SPEC.read_text("utf-8").split("<!-- codes -->")[1].split("<!-- /codes -->")[0]
    registered = set(re.findall(r"^\| `([a-z0-9-]+)`", table, re.M))
    for module, prefix in ((flickr, "flickr"), (cclicense, "cc-license")):
        emitted = set(re.findall(rf'"({prefix}-[a-z-]+)"', Path(str(module.__file__)).read_text("utf-8")))
        emitted -= {"flickr-json", "flickr-csv", "flickr-tsv"}
        assert emitted <= registered, emitted - registered


# ---------------------------------------------------------------------------------------------------------
# The real files


def test_search_response(corpus: Any) -> None:
    results = flickr.import_many(corpus("openverse-catalog/flickr/flickr_example_pretty.json").read_bytes(),
                                 source_name="pretty.json")
    assert len(results) == 30
    first = results[0].record
    assert first["id"] == "https://www.flickr.com/photos/7478087@N06/49514337848"
    assert first["owner"] == "flickr:7478087@N06"
    assert first["license"] == FLICKR_IDS["1"]
    assert first["contentUrl"].startswith("https://live.staticflickr.com/")
    decl = first["declarations"][0]
    assert decl["declaredBy"] == {"role": "rights-holder", "id": "flickr:7478087@N06", "name": "markustrois"}
    assert decl["source"]["signal"] == "flickr"
    assert "rules" not in decl
    assert json.loads(decl["source"]["raw"])["license"] == "1"
    assert all(r.record["license"] == FLICKR_IDS["1"] for r in results)
    one = flickr.import_bytes(corpus("openverse-catalog/flickr/flickr_example_pretty.json").read_bytes(),
                              source_name="pretty.json")
    assert one.record == first
    assert "flickr-multiple-photos" in codes(one)


def test_url_picks_a_photo(corpus: Any) -> None:
    data = corpus("openverse-catalog/flickr/flickr_example_photo_list.json").read_bytes()
    second = flickr.import_many(data, source_name="list.json")[1].record["id"]
    picked = flickr.import_bytes(data, source_name="list.json", url=second)
    assert picked.record["id"] == second
    missing = flickr.import_bytes(data, source_name="list.json", url="https://www.flickr.com/photos/x/1")
    assert not missing.record
    assert "flickr-photo-not-found" in codes(missing)


def test_single_photo_variants(corpus: Any) -> None:
    folder = corpus("openverse-catalog/flickr")
    complete = flickr.import_bytes((folder / "image_data_complete_example.json").read_bytes(), source_name="c")
    assert complete.record["tags"] == ["scuba", "nature", "marine", "underwater", "australia", "marineexplorer"]
    assert complete.record["license"] == FLICKR_IDS["1"]
    no_url = flickr.import_bytes((folder / "image_data_no_image_url.json").read_bytes(), source_name="n")
    assert no_url.record["license"] == FLICKR_IDS["3"]
    spaces = flickr.import_bytes((folder / "image_data_varying_tags_whitespace.json").read_bytes(), source_name="w")
    assert spaces.record == {"tags": ["tag1", "tag2", "tag3"]}
    unsorted = flickr.import_bytes((folder / "image_data_unsorted_tags.json").read_bytes(), source_name="u")
    assert unsorted.record["tags"] == ["tag3", "tag1", "tag2"]


@pytest.mark.parametrize("name", ["flickr_truncated.tsv", "flickr_truncated_modified_missing_tags.tsv"])
def test_openverse_tsv(corpus: Any, name: str) -> None:
    results = flickr.import_many(corpus(f"openverse-catalog/example_output/{name}").read_bytes(), source_name=name)
    assert len(results) == 15
    licenses = [r.record["license"] for r in results]
    assert licenses.count("https://creativecommons.org/licenses/by-nc-nd/2.0/") == 13
    assert licenses.count("https://creativecommons.org/licenses/by/2.0/") == 1
    assert licenses.count("https://creativecommons.org/publicdomain/mark/1.0/") == 1
    tagged = [r for r in results if r.record.get("tags")]
    assert len(tagged) == (0 if "missing" in name else 8)
    assert results[0].record["id"] == "https://www.flickr.com/photos/24917258@N05/47030104294"
    assert results[0].record["owner"] == "flickr:24917258@N05"
    assert all(not r.issues for r in results)


def test_every_corpus_file_imports(corpus: Any) -> None:
    from aiterms.validation import check

    files = sorted(p for p in corpus("openverse-catalog").rglob("*") if p.is_file())
    assert len(files) == 10
    for path in files:
        for r in flickr.import_many(path.read_bytes(), source_name=path.name):
            assert check(full(r.record)).valid, (path, check(full(r.record)).to_json())


def test_no_cv_is_left_to_the_resolver() -> None:
    from aiterms.model import Query
    from aiterms.resolution import resolve

    r = flickr.import_bytes(b'{"id": "5020123456", "owner": "12345678@N00", "license": "4", "tags": "no_cv family"}',
                            source_name="p.json")
    assert r.record["tags"] == ["no_cv", "family"]
    assert resolve(full(r.record), Query(use="cv-training", at="2026-01-01")).outcome == "notAllowed"
    assert resolve(full(r.record), Query(use="genai-training", at="2026-01-01")).outcome == "unspecified"


def test_near_miss_tags_are_reported() -> None:
    r = flickr.import_bytes(b'{"id": "1", "owner": "1@N00", "license": "4", "tags": "n0_cv"}', source_name="p.json")
    assert r.record["tags"] == ["n0_cv"]
    assert "flickr-tag-near-miss" in codes(r)


@pytest.mark.parametrize(("license_id", "iri", "code"), [
    *[(k, v, None) for k, v in FLICKR_IDS.items()],
    ("0", None, "flickr-all-rights-reserved"), ("11", None, "flickr-unknown-license"),
    ("7", "https://www.flickr.com/commons/usage/", None), ("8", "https://www.usa.gov/copyright.shtml", None),
    ("CC-BY-4.0", "https://creativecommons.org/licenses/by/4.0/", None),
    ("copyleft", None, "flickr-unknown-license"),
])
def test_license_ids(license_id: str, iri: str | None, code: str | None) -> None:
    r = flickr.import_bytes(json.dumps({"id": "1", "owner": "1@N00", "license": license_id}).encode(),
                            source_name="p.json")
    assert r.record.get("license") == iri
    assert codes(r) == ({code} if code else set())


def test_csv_with_header_and_getinfo() -> None:
    text = b"id,owner,license,tags\n123,99@N01,5,no_cv cats\n124,99@N01,0,\n"
    rows = flickr.import_many(text, source_name="export.csv")
    assert [r.record.get("license") for r in rows] == [FLICKR_IDS["5"], None]
    assert rows[0].record["tags"] == ["no_cv", "cats"]
    info = {"photo": {"id": "77", "license": "9", "owner": {"nsid": "5@N02", "username": "eve"},
                      "tags": {"tag": [{"raw": "No CV", "_content": "nocv"}]}}}
    r = flickr.import_bytes(json.dumps(info).encode(), source_name="info.json")
    assert r.record["tags"] == ["No CV"]
    assert r.record["owner"] == "flickr:5@N02"


@pytest.mark.parametrize("data", [b"", b"{", b"[1, 2]", b'{"photos": {"photo": "x"}}', b"a\tb\nc", b"\xff\xfe",
                                  b'{"photos": {"photo": []}, "stat": "fail"}', b'{"id": "../etc", "owner": "a b"}'])
def test_bad_input_never_raises(data: bytes) -> None:
    for r in flickr.import_many(data, source_name="x.json"):
        assert all(i.code.startswith("flickr-") for i in r.issues)
        assert "declarations" not in r.record or all("rules" not in d for d in r.record["declarations"])


@settings(max_examples=150, deadline=None)
@given(data=st.data())
def test_corrupted_records_never_state_rules(data: Any) -> None:
    sample = b'{"photos": {"photo": [{"id": "1", "owner": "1@N00", "license": "4", "tags": "no_cv x"}]}, "stat": "ok"}'
    for r in flickr.import_many(data.draw(_corruptions(sample)), source_name="p.json"):
        assert all("rules" not in d for d in r.record.get("declarations", []))


# ---------------------------------------------------------------------------------------------------------
# CC license IRIs


@pytest.mark.parametrize(("raw", "iri"), [
    ("http://creativecommons.org/licenses/by/2.0/", "https://creativecommons.org/licenses/by/2.0/"),
    ("https://www.creativecommons.org/licenses/BY-NC/4.0", "https://creativecommons.org/licenses/by-nc/4.0/"),
    ("https://creativecommons.org/licenses/by-sa/3.0/de/deed.de", "https://creativecommons.org/licenses/by-sa/3.0/de/"),
    ("https://creativecommons.org/licenses/by-nd/4.0/legalcode.fr", "https://creativecommons.org/licenses/by-nd/4.0/"),
    ("http://creativecommons.org/publicdomain/zero/1.0/legalcode", "https://creativecommons.org/publicdomain/zero/1.0/"),
    ("<https://creativecommons.org/licenses/by/4.0/rdf>", "https://creativecommons.org/licenses/by/4.0/"),
    ("CC-BY-NC-SA-4.0", "https://creativecommons.org/licenses/by-nc-sa/4.0/"),
])
def test_cc_license_normalization(raw: str, iri: str) -> None:
    r = cclicense.import_bytes(raw.encode() + b"\n", source_name="license.txt", url="https://e.com/a.jpg")
    assert r.record == {"license": iri, "id": "https://e.com/a.jpg"}
    assert codes(r) <= {"cc-license-normalized"}


@pytest.mark.parametrize(("raw", "code"), [
    ("https://creativecommons.org/ns#Attribution", "cc-license-not-a-license"),
    ("http://creativecommons.org/ns#", "cc-license-not-a-license"),
    ("https://example.com/license", "cc-license-unknown"),
    ("a\nb", "cc-license-unreadable"), ("", "cc-license-unreadable"),
])
def test_cc_license_rejects(raw: str, code: str) -> None:
    r = cclicense.import_bytes(raw.encode(), source_name="license.txt")
    assert not r.record
    assert codes(r) == {code}


def test_cc_license_unknown_version_recorded_with_warning() -> None:
    r = cclicense.import_bytes(b"https://creativecommons.org/licenses/by/9.0/", source_name="license.txt")
    assert r.record == {"license": "https://creativecommons.org/licenses/by/9.0/"}
    assert "cc-license-unknown" in codes(r)


def test_cc_license_alone_permits_nothing() -> None:
    from aiterms.model import Query
    from aiterms.resolution import resolve

    r = cclicense.import_bytes(b"https://creativecommons.org/publicdomain/zero/1.0/", source_name="l.txt")
    assert resolve(full(r.record), Query(use="ai-training", at="2026-01-01")).outcome == "unspecified"


# ---------------------------------------------------------------------------------------------------------
# aiterms import: one record per photo (req-flickr-many)


def _cli(*argv: str, stdin: str = "") -> tuple[int, str, str]:
    import io

    from aiterms.cli import run

    out, err = io.StringIO(), io.StringIO()
    code = run(list(argv), stdout=out, stderr=err, stdin=io.StringIO(stdin))
    return code, out.getvalue(), err.getvalue()


def test_cli_photo_list_gives_json_lines(corpus: Any) -> None:
    path = corpus("openverse-catalog/flickr/flickr_example_photo_list.json")
    expected = [r.record["id"] for r in flickr.import_many(path.read_bytes(), source_name=str(path))]
    assert len(expected) > 1
    code, out, err = _cli("import", str(path))
    assert code == 0, err
    lines = out.splitlines()
    assert len(lines) == len(expected)
    records = [json.loads(line) for line in lines]
    assert [r["id"] for r in records] == expected
    assert all(r["@context"] == "https://w3id.org/aiterms/context/v1.jsonld" and r["type"] == "ImageRecord"
               for r in records)
    assert all(r["declarations"][0]["source"]["signal"] == "flickr" for r in records)
    assert "flickr-multiple-photos" not in err
    from aiterms.validation import check

    assert all(check(r).valid for r in records)
    code, out_json, _ = _cli("import", str(path), "--format", "json")
    doc = json.loads(out_json)
    assert code == 0
    assert set(doc) == {"records", "issues"}
    assert doc["records"] == records
    # --url with a photo page still picks that one photo, as one pretty record
    code, one, _ = _cli("import", str(path), "--url", expected[1])
    assert code == 0
    assert json.loads(one)["id"] == expected[1]
    assert one.startswith("{\n")


def test_cli_several_photos_issues_name_their_record() -> None:
    data = ('{"photos": {"photo": [{"id": "1", "owner": "1@N00", "license": "4", "tags": "no_cv"}, 7, '
            '{"id": "2", "owner": "2@N00", "license": "99"}]}, "stat": "ok"}')
    code, out, err = _cli("import", "-", "--from", "flickr-json", stdin=data)
    assert code == 0
    records = [json.loads(line) for line in out.splitlines()]
    assert [r["id"] for r in records] == ["https://www.flickr.com/photos/1@N00/1", "https://www.flickr.com/photos/2@N00/2"]
    assert records[0]["tags"] == ["no_cv"]
    assert "license" not in records[1]
    assert "stdin" in records[0]["declarations"][0]["source"]["location"]
    lines = err.splitlines()
    assert any(line.startswith("/photos/photo/1:") and "[flickr-unreadable]" in line for line in lines)
    assert any(line.startswith("record 2: ") and "[flickr-unknown-license]" in line for line in lines)
    code, out, _ = _cli("import", "-", "--from", "flickr-json", "--format", "json", stdin=data)
    doc = json.loads(out)
    assert len(doc["records"]) == 2
    assert {(i["code"], i["message"].startswith("record 2: ")) for i in doc["issues"]} == {
        ("flickr-unreadable", False), ("flickr-unknown-license", True)}


def test_cli_one_photo_stays_one_pretty_record() -> None:
    data = '{"photo": {"id": "5", "owner": {"nsid": "5@N02"}, "license": "4"}}'
    code, out, _ = _cli("import", "-", "--from", "flickr-json", stdin=data)
    assert code == 0
    assert out.startswith("{\n")
    assert json.loads(out)["owner"] == "flickr:5@N02"


def test_integer_over_4300_digits_is_unreadable_not_a_traceback() -> None:
    """Since Python 3.11 json.loads raises a plain ValueError for an integer over 4,300 digits."""
    (r,) = flickr.import_many(b'{"photo": {"id": ' + b"9" * 4301 + b"}}", source_name="p.json")
    assert codes(r) == {"flickr-unreadable"}
    assert not r.record
    cell = b"[" + b"9" * 4400 + b"]"  # a tags cell that looks like JSON: kept as the raw text
    (row,) = flickr.import_many(b"foreign_identifier\tlicense\ttags\n1\tby\t" + cell + b"\n", source_name="x.tsv")
    assert row.record["tags"] == [cell.decode()]
