"""``aiterms check``: output, exit codes, standard input, the importer hook, and a lean start-up."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from aiterms.cli import run
from aiterms.model import Query
from aiterms.resolution import resolve
from aiterms.vocab import CONTEXT_IRI

AT = "2026-01-01T00:00:00Z"
NO_CV = {"@context": CONTEXT_IRI, "type": "ImageRecord", "owner": "flickr:12345678@N00",
         "license": "https://creativecommons.org/licenses/by/2.0/", "tags": ["no_cv"]}


def check(*argv: str, stdin: str = "") -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = run(["check", *argv], stdout=out, stderr=err, stdin=io.StringIO(stdin))
    return code, out.getvalue(), err.getvalue()


@pytest.fixture
def no_cv(tmp_path: Path) -> Path:
    path = tmp_path / "no-cv.json"
    path.write_text(json.dumps(NO_CV), "utf-8")
    return path


def test_text_output_is_one_sentence_then_the_reasons(no_cv: Path) -> None:
    code, out, _err = check(str(no_cv), "--use", "computer-vision", "--purpose", "research", "--at", AT)
    assert code == 0
    lines = out.splitlines()
    assert lines[0] == "Not allowed: computer-vision is prohibited by the rights holder's tag no_cv."
    assert lines[1].startswith("  - computer-vision is prohibited")
    assert "/tags/0" in lines[1]


def test_json_output_is_the_decision(no_cv: Path) -> None:
    argv = (str(no_cv), "--use", "search-indexing", "--jurisdiction", "de", "--at", AT, "--format", "json")
    code, out, _err = check(*argv)
    assert code == 0
    got = json.loads(out)
    assert got == resolve(NO_CV, Query("search-indexing", jurisdiction="DE", at=AT)).to_json()
    assert got["outcome"] == "unspecified"
    assert got["obligations"] == []
    assert got["query"]["jurisdiction"] == "DE"
    assert {"outcome", "obligations", "reasons", "steps", "warnings", "query"} <= set(got)


def test_every_outcome_exits_zero(tmp_path: Path) -> None:
    rec = {**NO_CV, "declarations": [{"declaredBy": {"id": "flickr:12345678@N00", "role": "rights-holder"},
                                      "rules": [{"effect": "permit", "use": "ai-evaluation"},
                                                {"effect": "permit", "use": "search-indexing"}]}]}
    path = tmp_path / "r.json"
    path.write_text(json.dumps(rec), "utf-8")
    outcomes = {}
    for use in ("computer-vision", "ai-training", "search-indexing", "ai-evaluation"):
        code, out, _ = check(str(path), "--use", use, "--at", AT, "--format", "json")
        assert code == 0
        outcomes[use] = json.loads(out)["outcome"]
    assert outcomes == {"computer-vision": "notAllowed", "ai-training": "unspecified",
                        "search-indexing": "constrained", "ai-evaluation": "constrained"}


def test_invalid_record_exits_one_and_is_unspecified(tmp_path: Path) -> None:
    path = tmp_path / "bad.json"
    path.write_text(json.dumps({**NO_CV, "declarations": [{"declaredBy": {"role": "rights-holder"},
                                                           "rules": [{"effect": "permit", "use": "train"}]}]}))
    code, out, _ = check(str(path), "--use", "ai-training", "--at", AT, "--format", "json")
    assert code == 1
    got = json.loads(out)
    assert got["outcome"] == "unspecified"
    assert {"unknown-use", "record-invalid-not-resolved"} <= {w["code"] for w in got["warnings"]}
    code, out, _ = check(str(path), "--use", "ai-training", "--at", AT)
    assert code == 1
    assert out.startswith("Unspecified: the record is invalid")


def test_broken_json_exits_one(tmp_path: Path) -> None:
    path = tmp_path / "broken.json"
    path.write_text('{"@context": ', "utf-8")
    code, out, _ = check(str(path), "--use", "ai-training", "--format", "json")
    assert code == 1
    assert json.loads(out)["outcome"] == "unspecified"


@pytest.mark.parametrize(("extra", "message"), [
    (("--use", "ai-trainig"), "did you mean 'ai-training'"),
    (("--use", "ai-training", "--purpose", "science"), "purpose"),
    (("--use", "ai-training", "--jurisdiction", "Illinois"), "jurisdiction"),
    (("--use", "ai-training", "--at", "soon"), "at"),
])
def test_usage_errors_exit_two(no_cv: Path, extra: tuple[str, ...], message: str) -> None:
    code, out, err = check(str(no_cv), *extra)
    assert code == 2
    assert out == ""
    assert message in err


def test_missing_use_and_unreadable_file_exit_two(tmp_path: Path) -> None:
    code, _out, _err = check(str(tmp_path / "x.json"))
    assert code == 2
    code, _out, err = check(str(tmp_path / "missing.json"), "--use", "ai-training")
    assert code == 2
    assert "cannot read" in err


def test_standard_input(no_cv: Path) -> None:
    code, out, _ = check("-", "--use", "cv-training", "--at", AT, "--format", "json", stdin=no_cv.read_text())
    assert code == 0
    assert json.loads(out)["outcome"] == "notAllowed"


def test_several_records_are_a_usage_error(tmp_path: Path) -> None:
    path = tmp_path / "two.jsonl"
    path.write_text(json.dumps(NO_CV) + "\n" + json.dumps(NO_CV) + "\n", "utf-8")
    code, _out, err = check(str(path), "--use", "ai-training")
    assert code == 2
    assert "2 records" in err


def _registry() -> Any:
    return pytest.importorskip("aiterms.interop.registry")


def test_importer_hook_reads_http_headers_from_stdin() -> None:
    _registry()
    argv = ("-", "--from", "http-headers", "--url", "https://example.com/a.jpg", "--use", "genai-training",
            "--at", AT, "--format", "json")
    code, out, err = check(*argv, stdin="Content-Usage: train-ai=n\r\n")
    assert code == 0, err
    got = json.loads(out)
    assert got["outcome"] == "notAllowed"
    assert got["reasons"][0]["role"] == "rights-holder"


def test_not_a_record_without_a_kind_is_a_usage_error(tmp_path: Path) -> None:
    _registry()
    path = tmp_path / "mystery.bin"
    path.write_bytes(b"\x00\x01\x02 nothing known")
    code, out, err = check(str(path), "--use", "ai-training")
    assert code == 2
    assert out == ""
    assert err


def test_startup_stays_lean(no_cv: Path) -> None:
    """Registering the command and answering about a canonical record import neither rdflib nor the CLI's
    own resolver at parser build time."""
    code = (
        "import sys; import aiterms.cli as c; c.build_parser();"
        "assert 'aiterms.resolution' not in sys.modules and 'rdflib' not in sys.modules, sorted(sys.modules);"
        f"rc = c.run(['check', {str(no_cv)!r}, '--use', 'ai-training', '--at', {AT!r}]);"
        "assert rc == 0; assert 'rdflib' not in sys.modules"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr
