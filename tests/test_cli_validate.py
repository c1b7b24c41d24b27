"""``aiterms validate`` through aiterms.cli.run: exit codes, text and JSON output, JSON Lines, stdin, directories."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest

from aiterms.cli import run
from aiterms.vocab import CONTEXT_IRI

GOOD = {"@context": CONTEXT_IRI, "type": "ImageRecord", "tags": ["no_cv"]}
BAD = {"@context": CONTEXT_IRI, "type": "ImageRecord",
       "declarations": [{"declaredBy": {"role": "rights-holder"},
                         "rules": [{"effect": "prohibit", "use": "computer-vision"},
                                   {"effect": "prohibit", "use": "train"}]}]}


def cli(*args: str, stdin: bytes | None = None) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    inp = io.TextIOWrapper(io.BytesIO(stdin or b""), encoding="utf-8")
    code = run(["validate", *args], stdout=out, stderr=err, stdin=inp)
    return code, out.getvalue(), err.getvalue()


def write(tmp_path: Path, name: str, content: Any) -> str:
    path = tmp_path / name
    if isinstance(content, bytes):
        path.write_bytes(content)
    elif isinstance(content, str):
        path.write_text(content, encoding="utf-8")
    else:
        path.write_text(json.dumps(content), encoding="utf-8")
    return str(path)


def test_valid_file_exits_0(tmp_path: Path) -> None:
    path = write(tmp_path, "good.json", GOOD)
    code, out, _ = cli(path)
    assert code == 0
    assert out == f"{path}: valid\n"


def test_invalid_file_exits_1_with_actionable_line(tmp_path: Path) -> None:
    path = write(tmp_path, "bad.json", BAD)
    code, out, _ = cli(path)
    assert code == 1
    assert out.splitlines() == [f"{path}: /declarations/0/rules/1/use: error: 'train' is not a use id; "
                                "did you mean 'ai-training'? [unknown-use]"]


def test_json_output(tmp_path: Path) -> None:
    path = write(tmp_path, "bad.json", BAD)
    code, out, _ = cli(path, "--format", "json")
    assert code == 1
    (result,) = [json.loads(line) for line in out.splitlines()]
    assert result["path"] == path
    assert result["valid"] is False
    (issue,) = result["issues"]
    assert {k: issue[k] for k in ("code", "severity", "path", "spec")} == {
        "code": "unknown-use", "severity": "error", "path": "/declarations/0/rules/1/use",
        "spec": "https://w3id.org/aiterms/spec/validation#req-known-use"}
    assert "message" in issue


def test_jsonl_one_result_per_line_and_summary(tmp_path: Path) -> None:
    lines = [json.dumps(GOOD), "{not json", "", json.dumps(BAD), json.dumps(GOOD)]
    path = write(tmp_path, "records.jsonl", "\n".join(lines) + "\n")
    code, out, _ = cli(path, "--format", "json")
    assert code == 1
    results = [json.loads(line) for line in out.splitlines()]
    assert [(r.get("line"), r.get("valid")) for r in results[:-1]] == [(1, True), (2, False), (4, False), (5, True)]
    assert results[1]["issues"][0]["code"] == "jsonl-syntax"
    assert results[1]["issues"][0]["line"] == 2
    assert results[-1] == {"path": path, "summary": {"documents": 4, "valid": 2, "invalid": 2}}


def test_jsonl_text_output_names_the_line(tmp_path: Path) -> None:
    path = write(tmp_path, "records.jsonl", json.dumps(GOOD) + "\n" + json.dumps(GOOD) + "\n" + json.dumps(BAD) + "\n")
    code, out, _ = cli(path)
    assert code == 1
    assert out.splitlines() == [
        f"{path} line 3, /declarations/0/rules/1/use: error: 'train' is not a use id; did you mean 'ai-training'? "
        "[unknown-use]",
        f"{path}: 3 records, 2 valid, 1 invalid"]


def test_stdin_json_and_jsonl() -> None:
    code, out, _ = cli("-", stdin=json.dumps(GOOD).encode())
    assert (code, out) == (0, "-: valid\n")
    data = (json.dumps(GOOD) + "\n" + json.dumps(BAD) + "\n").encode()
    code, out, _ = cli("-", "--format", "json", stdin=data)
    results = [json.loads(line) for line in out.splitlines()]
    assert code == 1
    assert [r.get("line") for r in results] == [1, 2, None]
    assert results[-1]["summary"] == {"documents": 2, "valid": 1, "invalid": 1}


def test_stdin_turtle() -> None:
    ttl = b"@prefix aiterms: <https://w3id.org/aiterms/> .\n<https://e.org/i> a aiterms:ImageRecord .\n"
    assert cli("-", stdin=ttl)[0] == 0


def test_directory_is_searched_sorted(tmp_path: Path) -> None:
    write(tmp_path, "b.json", BAD)
    write(tmp_path, "a.json", GOOD)
    (tmp_path / "sub").mkdir()
    ttl = "@prefix aiterms: <https://w3id.org/aiterms/> .\n<https://e/i> a aiterms:ImageRecord .\n"
    write(tmp_path / "sub", "c.ttl", ttl)
    write(tmp_path, "notes.txt", "ignored")
    code, out, _ = cli(str(tmp_path), "--format", "json")
    assert code == 1
    assert [Path(json.loads(line)["path"]).name for line in out.splitlines()] == ["a.json", "b.json", "c.ttl"]


def test_unreadable_input_exits_2(tmp_path: Path) -> None:
    good = write(tmp_path, "good.json", GOOD)
    code, out, _ = cli(str(tmp_path / "missing.json"), good, "--format", "json")
    assert code == 2
    results = [json.loads(line) for line in out.splitlines()]
    assert results[0]["issues"][0]["code"] == "input-unreadable"
    assert results[0]["valid"] is False
    assert results[1]["valid"] is True


def test_syntax_error_is_invalid_not_unusable(tmp_path: Path) -> None:
    path = write(tmp_path, "broken.json", '{"@context": ')
    code, out, _ = cli(path)
    assert code == 1
    assert out.startswith(f"{path} line 1, column 14: error: not valid JSON")


def test_strict(tmp_path: Path) -> None:
    path = write(tmp_path, "tags.json", {**GOOD, "tags": ["sunset"]})
    assert cli(path)[0] == 0
    code, out, _ = cli(path, "--strict")
    assert code == 1
    assert "[unknown-tag]" in out


def test_empty_directory_is_a_usage_error(tmp_path: Path) -> None:
    code, _, err = cli(str(tmp_path))
    assert code == 2
    assert "no records" in err


def test_usage_errors() -> None:
    assert cli()[0] == 2
    assert cli("x.json", "--format", "yaml")[0] == 2


@pytest.mark.parametrize("fmt", ["text", "json"])
def test_bundled_examples_are_valid(fmt: str) -> None:
    examples = Path(__file__).resolve().parents[1] / "reference" / "aiterms" / "examples"
    if not examples.is_dir():
        pytest.skip("no bundled examples")
    assert cli(str(examples), "--format", fmt)[0] == 0
