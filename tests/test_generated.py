"""Drift guard (house style C7): every generated file equals what `python -m aiterms._build` produces."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from aiterms import _build

ROOT = Path(__file__).resolve().parents[1]
SOURCES = ("vocab", "schemas", "spec", "reference/aiterms/_data")


@pytest.fixture(scope="module")
def generated() -> dict[str, bytes]:
    return _build.generate(ROOT)


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory, generated: dict[str, bytes]) -> Path:
    """A built copy of the sources, made once per module."""
    base = tmp_path_factory.mktemp("checkout")
    for rel in SOURCES:
        shutil.copytree(ROOT / rel, base / rel, ignore=shutil.ignore_patterns("__pycache__"))
    for rel, content in generated.items():
        (base / rel).parent.mkdir(parents=True, exist_ok=True)
        (base / rel).write_bytes(content)
    return base


@pytest.fixture
def checkout(template: Path, tmp_path: Path) -> Path:
    """A fresh copy of the built checkout that a test may break."""
    target = tmp_path / "co"
    shutil.copytree(template, target)
    return target


def test_committed_files_match_the_generator(generated: dict[str, bytes]) -> None:
    bad = _build.drift(ROOT, generated)
    assert not bad, f"generated files out of date: {bad}; {_build.HINT}"


def test_generator_covers_every_kind_of_output(generated: dict[str, bytes]) -> None:
    for rel in ("vocab/context.jsonld", "vocab/aiterms.jsonld", "vocab/aiterms.nt",
                "schemas/generated/enums.schema.json", "spec/codes.md", "spec/examples/index.json",
                "spec/conformance/manifest.json", "reference/aiterms/_data/vocab.json",
                "reference/aiterms/_data/tags.json", "reference/aiterms/_data/codes.json",
                "reference/aiterms/_data/context.jsonld", "reference/aiterms/_data/meta.json",
                "reference/aiterms/_data/schemas/record.schema.json", "spec/vocabulary.md", "spec/registry.md"):
        assert rel in generated, rel


def test_output_is_deterministic_and_bnode_free(generated: dict[str, bytes]) -> None:
    assert _build.generate(ROOT) == generated
    for rel, content in generated.items():
        if rel.endswith((".json", ".jsonld", ".nt", ".md")):
            assert content.endswith(b"\n"), rel
            assert not content.endswith(b"\n\n"), rel
        if rel.endswith((".nt", ".jsonld")):
            assert b"_:" not in content, f"{rel} has a blank-node label"


def test_check_is_stable_under_another_hash_seed() -> None:
    env = {**os.environ, "PYTHONHASHSEED": "12345"}
    proc = subprocess.run([sys.executable, "-m", "aiterms._build", "--check"], capture_output=True, text=True,
                          env=env, check=False)
    assert proc.returncode == 0, proc.stderr


@pytest.mark.parametrize("rel", ["vocab/context.jsonld", "vocab/aiterms.nt", "reference/aiterms/_data/tags.json",
                                 "schemas/generated/enums.schema.json", "spec/codes.md"])
def test_hand_edit_of_a_generated_file_fails(checkout: Path, rel: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert _build.main(["--check", "--root", str(checkout)]) == 0
    path = checkout / rel
    path.write_bytes(path.read_bytes().replace(b"\n", b"\n ", 1))
    assert _build.main(["--check", "--root", str(checkout)]) == 1
    err = capsys.readouterr().err
    assert rel in err
    assert "run `python -m aiterms._build`" in err


def test_hand_edit_inside_a_generated_spec_region_fails(checkout: Path) -> None:
    path = checkout / "spec" / "vocabulary.md"
    text = path.read_text("utf-8")
    assert "| `genai-training` |" in text.replace("&nbsp;", "")
    path.write_text(text.replace("Generative AI training |", "Generative training |", 1), "utf-8")
    assert "spec/vocabulary.md" in _build.drift(checkout, _build.generate(checkout))


def test_stale_generated_file_fails_and_is_removed(checkout: Path) -> None:
    stale = checkout / "reference" / "aiterms" / "_data" / "old.json"
    stale.write_text("{}\n")
    files = _build.generate(checkout)
    assert any(b.startswith("reference/aiterms/_data/old.json") for b in _build.drift(checkout, files))
    _build.write(checkout, files)
    assert not stale.exists()
    assert _build.drift(checkout, files) == []


def _add_spec(checkout: Path, name: str, text: str) -> None:
    (checkout / "spec" / name).write_text(text, "utf-8")


TABLE = """# T

<a id="req-x"></a>

**req-x** (validator): A validator MUST do x.

<!-- codes -->
| code | severity | condition | anchor |
|---|---|---|---|
{rows}
<!-- /codes -->
"""


def test_new_code_table_is_picked_up(checkout: Path) -> None:
    _add_spec(checkout, "zz.md", TABLE.format(rows="| `zz-thing` | warning | a thing \\| another | req-x |"))
    files = _build.generate(checkout)
    codes = __import__("json").loads(files["reference/aiterms/_data/codes.json"])
    assert codes["zz-thing"] == {"severity": "warning", "condition": "a thing | another", "anchor": "req-x",
                                 "section": "zz"}
    assert b"`zz-thing`" in files["spec/codes.md"]


@pytest.mark.parametrize(("rows", "message"), [
    ("| `zz-a` | fatal | x | req-x |", "severity"),
    ("| `zz-a` | error | x | req-missing |", "req-missing"),
    ("| `Bad_Code` | error | x | req-x |", "kebab-case"),
    ("| `zz-a` | error | x |", "4 cells"),
    ("| `zz-a` | error | x | req-x |\n| `zz-a` | error | y | req-x |", "already defined"),
])
def test_malformed_code_table_fails_clearly(checkout: Path, rows: str, message: str) -> None:
    _add_spec(checkout, "zz.md", TABLE.format(rows=rows))
    with pytest.raises(_build.BuildError, match=message):
        _build.generate(checkout)


def test_code_defined_in_two_files_fails(checkout: Path) -> None:
    _add_spec(checkout, "zz.md", TABLE.format(rows="| `zz-a` | error | x | req-x |"))
    _add_spec(checkout, "zy.md", TABLE.format(rows="| `zz-a` | error | x | req-x |"))
    with pytest.raises(_build.BuildError, match="already defined"):
        _build.generate(checkout)


def test_unclosed_table_and_unknown_region_fail(checkout: Path) -> None:
    _add_spec(checkout, "zz.md", "<!-- codes -->\n| code | severity | condition | anchor |\n")
    with pytest.raises(_build.BuildError, match="never closed"):
        _build.generate(checkout)
    _add_spec(checkout, "zz.md", "<!-- BEGIN GENERATED: nonsense -->\n<!-- END GENERATED: nonsense -->\n")
    with pytest.raises(_build.BuildError, match="unknown generated region"):
        _build.generate(checkout)


def test_broken_sources_fail_with_the_file_named(checkout: Path) -> None:
    (checkout / "vocab" / "tags.json").write_text("[{\"id\": \"zzz\"}]")
    with pytest.raises(_build.BuildError, match=r"tags\.json"):
        _build.generate(checkout)
    assert _build.main(["--root", str(checkout)]) == 2


def test_unsorted_or_colliding_registry_fails(checkout: Path) -> None:
    import json

    path = checkout / "vocab" / "tags.json"
    tags = json.loads(path.read_text("utf-8"))
    path.write_text(json.dumps(list(reversed(tags))), "utf-8")
    with pytest.raises(_build.BuildError, match="sorted"):
        _build.generate(checkout)
    tags[0]["variants"].append("No-CV")
    path.write_text(json.dumps(tags), "utf-8")
    with pytest.raises(_build.BuildError, match="nocv"):
        _build.generate(checkout)


def test_broader_cycle_fails(checkout: Path) -> None:
    path = checkout / "vocab" / "aiterms.ttl"
    text = path.read_text("utf-8").replace(
        'skos:notation "data-mining" ;', 'skos:notation "data-mining" ; skos:broader use:ai-training ;', 1)
    path.write_text(text, "utf-8")
    with pytest.raises(_build.BuildError, match="cycle"):
        _build.generate(checkout)


def test_spec_side_error_is_reported_when_run_as_a_module(checkout: Path) -> None:
    """``python -m aiterms._build`` runs ``_build`` as ``__main__``; an error raised by ``_build_spec`` is still the
    one BuildError it catches: a clear message and exit 2, never a traceback."""
    _add_spec(checkout, "zz.md", TABLE.format(rows="| `zz-a` | fatal | x | req-x |"))
    proc = subprocess.run([sys.executable, "-m", "aiterms._build", "--check", "--root", str(checkout)],
                          capture_output=True, text=True, check=False)
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr
    assert "severity" in proc.stderr


def test_scheme_namespace_is_checked(checkout: Path) -> None:
    """Every concept IRI is its scheme's vann:preferredNamespaceUri followed by its id (the context maps every
    value of a vocabulary key into that namespace, so the two must agree)."""
    path = checkout / "vocab" / "aiterms.ttl"
    text = path.read_text("utf-8")
    path.write_text(text.replace('vann:preferredNamespaceUri "https://w3id.org/aiterms/purpose/"',
                                 'vann:preferredNamespaceUri "https://w3id.org/aiterms/purposes/"', 1), "utf-8")
    with pytest.raises(_build.BuildError, match=r"must have the IRI <https://w3id\.org/aiterms/purposes/"):
        _build.generate(checkout)
