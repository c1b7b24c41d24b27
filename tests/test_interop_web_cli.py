"""``aiterms import`` / ``aiterms export`` and the registry (combining sources, exit codes, output formats)."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest

from aiterms.cli import run as cli
from aiterms.interop import registry

HEADERS = "HTTP/1.1 200 OK\nContent-Usage: train-ai=n, search=y\nX-Robots-Tag: otherbot: noai\n"
URL = "https://example.com/img/a.jpg"


def call(*argv: str, stdin: str = "") -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = cli(list(argv), stdout=out, stderr=err, stdin=io.StringIO(stdin))
    return code, out.getvalue(), err.getvalue()


@pytest.fixture
def headers(tmp_path: Path) -> Path:
    p = tmp_path / "headers.txt"
    p.write_text(HEADERS)
    return p


def test_import_text(headers: Path) -> None:
    code, out, err = call("import", str(headers), "--url", URL)
    assert code == 0
    record = json.loads(out)
    assert record["@context"] == "https://w3id.org/aiterms/context/v1.jsonld"
    assert record["type"] == "ImageRecord"
    assert record["contentUrl"] == URL
    (d,) = record["declarations"]
    assert d["source"]["location"] == "HTTP header Content-Usage"
    assert out.startswith("{\n  ")  # pretty
    lines = err.strip().splitlines()
    assert len(lines) == 1
    assert "[noai-other-agent]" in lines[0]


def test_import_json(headers: Path) -> None:
    code, out, _err = call("import", str(headers), "--format", "json", "--user-agent", "otherbot")
    assert code == 0
    doc = json.loads(out)
    assert set(doc) == {"record", "issues"}
    assert {d["source"]["signal"] for d in doc["record"]["declarations"]} == {"aipref", "noai"}


def test_import_stdin_and_from() -> None:
    code, out, _ = call("import", "-", "--from", "content-usage", stdin="train-ai=n\n")
    assert code == 0
    assert json.loads(out)["declarations"][0]["rules"] == [{"effect": "prohibit", "use": "genai-training"}]


@pytest.mark.parametrize(("argv", "needle"), [
    (("--from", "nonsense"), "unknown kind"),
])
def test_import_usage_errors(headers: Path, argv: tuple[str, ...], needle: str) -> None:
    code, _out, err = call("import", str(headers), *argv)
    assert code == 2
    assert needle in err


def test_import_unreadable_and_unknown(tmp_path: Path) -> None:
    code, _out, err = call("import", str(tmp_path / "missing.txt"))
    assert code == 2
    assert "import-unreadable" in err
    odd = tmp_path / "odd.bin"
    odd.write_bytes(b"\x00\x01\x02 nothing")
    code, _out, err = call("import", str(odd))
    assert code == 2
    assert "import-unknown-kind" in err


def test_import_robots_needs_url(tmp_path: Path) -> None:
    p = tmp_path / "robots.txt"
    p.write_text("User-Agent: *\nContent-Usage: train-ai=n\n")
    assert call("import", str(p))[0] == 2
    code, out, _ = call("import", str(p), "--url", URL)
    assert code == 0
    assert json.loads(out)["declarations"]
    assert call("import", str(p), "--url", "not a url")[0] == 2


def test_import_importer_failure_is_exit_1(headers: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from aiterms.interop import httpheaders

    def boom(*_a: Any, **_k: Any) -> Any:
        raise RuntimeError("boom")

    monkeypatch.setattr(httpheaders, "import_bytes", boom)
    code, out, err = call("import", str(headers))
    assert code == 1
    assert "import-importer-failed" in err
    assert "declarations" not in json.loads(out)


def test_combine_several_sources(tmp_path: Path) -> None:
    (tmp_path / "headers.txt").write_text("Content-Usage: train-ai=y\nContent-Signal: search=no\n")
    (tmp_path / "robots.txt").write_text("User-Agent: *\nContent-Usage: search=y\nContent-Usage: /img/ train-ai=n\n")
    (tmp_path / "page.html").write_text('<meta name="robots" content="noimageai">')
    result = registry.import_sources([str(tmp_path / n) for n in ("headers.txt", "robots.txt", "page.html")],
                                     url=URL)
    decls = result.record["declarations"]
    # the header's train-ai=y contradicts robots.txt's /img/ train-ai=n of the same site: the permission is
    # dropped, and with it the header's Content-Usage declaration; robots' search=y loses to the longer /img/ rule
    assert [(d["source"]["signal"], d["source"]["location"]) for d in decls] == [
        ("content-signal", "HTTP header Content-Signal"), ("aipref", "robots.txt line 3"),
        ("noai", "HTML meta robots")]
    assert "import-contradiction" in {i.code for i in result.issues}
    assert all(r["effect"] == "prohibit" for d in decls for r in d["rules"])


def test_combine_fields() -> None:
    parts = [("a", {"license": "https://creativecommons.org/licenses/by/4.0/", "tags": ["x"], "contentHash":
                    "sha256:" + "0" * 64}),
             ("b", {"license": "https://creativecommons.org/licenses/by-nc/4.0/", "tags": ["x", "y"],
                    "owner": "flickr:1@N00"}),
             ("c", {"contentHash": "sha256:" + "1" * 64, "owner": "flickr:2@N00"})]
    record, issues = registry.combine(parts, url=URL)
    assert record["license"] == "https://creativecommons.org/licenses/by/4.0/"
    assert record["tags"] == ["x", "y"]
    assert record["owner"] == "flickr:1@N00"
    assert record["contentUrl"] == URL
    assert {i.code for i in issues} == {"import-license-conflict", "import-field-conflict",
                                        "import-different-assets"}


def test_registry_lists() -> None:
    assert {"http-headers", "robots", "tdmrep", "html", "ai.txt", "content-usage", "content-signal"} <= set(
        registry.kinds())
    assert {"content-usage", "robots", "tdmrep"} <= set(registry.targets())
    assert registry.importer_for("nope") is None
    assert registry.exporter_for("nope") is None


def test_check_accepts_header_files(headers: Path) -> None:
    code, out, _err = call("check", str(headers), "--from", "http-headers", "--use", "genai-training")
    assert code == 0
    assert out.lower().startswith("not allowed")
    code, out, _err = call("check", str(headers), "--from", "http-headers", "--use", "search-indexing",
                           "--format", "json")
    assert code == 0
    assert json.loads(out)["outcome"] == "allowed"


# -----------------------------------------------------------------------------------------------------------------
# export

RECORD = {"@context": "https://w3id.org/aiterms/context/v1.jsonld", "type": "ImageRecord",
          "declarations": [{"declaredBy": {"role": "rights-holder", "id": "https://example.com"},
                            "rules": [{"effect": "prohibit", "use": "genai-training"},
                                      {"effect": "permit", "use": "search-indexing"},
                                      {"effect": "prohibit", "use": "face-recognition"}]}]}


@pytest.fixture
def record_file(tmp_path: Path) -> Path:
    p = tmp_path / "record.json"
    p.write_text(json.dumps(RECORD))
    return p


def test_export_content_usage(record_file: Path) -> None:
    code, out, err = call("export", str(record_file), "--to", "content-usage")
    assert code == 0
    assert out == "train-ai=n, search=y\n"
    assert "face-recognition" in err
    assert "[export-not-expressible]" in err


def test_export_robots_and_reimport(record_file: Path, tmp_path: Path) -> None:
    target = tmp_path / "robots.txt"
    code, out, _err = call("export", str(record_file), "--to", "robots", "-o", str(target))
    assert code == 0
    assert out == ""
    text = target.read_text()
    assert "Content-Usage: train-ai=n, search=y" in text
    assert "Content-Signal: search=yes" in text
    code, out, _ = call("import", str(target), "--url", URL)
    assert code == 0
    assert json.loads(out)["declarations"]


def test_export_tdmrep_json_format(record_file: Path) -> None:
    code, out, _err = call("export", str(record_file), "--to", "tdmrep", "--format", "json")
    assert code == 0
    doc = json.loads(out)
    assert doc["target"] == "tdmrep"
    assert doc["mediaType"] == "application/json"
    assert json.loads(doc["data"]) == [{"location": "/", "tdm-reservation": 1}]
    assert any(i["code"] == "export-broadened" for i in doc["issues"])


def test_export_errors(record_file: Path, tmp_path: Path) -> None:
    assert call("export", str(record_file), "--to", "nope")[0] == 2
    assert call("export", str(tmp_path / "missing.json"), "--to", "robots")[0] == 2
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    assert call("export", str(bad), "--to", "robots")[0] == 2
    invalid = tmp_path / "invalid.json"
    invalid.write_text(json.dumps({**RECORD, "declarations": [
        {"declaredBy": {"role": "rights-holder"}, "rules": [{"effect": "permit", "use": "train-ai"}]}]}))
    code, out, err = call("export", str(invalid), "--to", "content-usage")
    assert code == 1
    assert out == ""
    assert "invalid" in err


def test_export_stdin() -> None:
    code, out, _ = call("export", "-", "--to", "content-usage", stdin=json.dumps(RECORD))
    assert code == 0
    assert out == "train-ai=n, search=y\n"
