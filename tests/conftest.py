"""Shared fixtures: the repository root, the shared corpus (skipped when absent), the bundled schemas."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT.parent / "shared" / "corpus"


@pytest.fixture(scope="session")
def repo_root() -> Path:
    """The source checkout (the directory holding pyproject.toml)."""
    return ROOT


class Corpus:
    """The shared corpus: ``corpus("folder/file")`` and ``corpus / "folder"`` give paths; the call skips the test
    when that file is absent. ``corpus.path`` is the corpus directory."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def __call__(self, rel: str) -> Path:
        target = self.path / rel
        if not target.exists():
            pytest.skip(f"corpus file absent: {rel}")
        return target

    def __truediv__(self, rel: str) -> Path:
        return self.path / rel


@pytest.fixture(scope="session")
def corpus() -> Corpus:
    """The shared corpus of real files (../shared/corpus; never copied into the repository), or a skip."""
    if not CORPUS.is_dir():
        pytest.skip(f"shared corpus absent ({CORPUS})")
    return Corpus(CORPUS)


def load_schemas() -> dict[str, Any]:
    """The bundled JSON Schemas by file name (reference/aiterms/_data/schemas)."""
    folder = ROOT / "reference" / "aiterms" / "_data" / "schemas"
    return {p.name: json.loads(p.read_text("utf-8")) for p in sorted(folder.glob("*.schema.json"))}


@pytest.fixture(scope="session")
def schemas() -> dict[str, Any]:
    return load_schemas()


@pytest.fixture(scope="session")
def schema_validator(schemas: dict[str, Any]) -> Any:
    """``schema_validator("record.schema.json")`` -> a Draft 2020-12 validator resolving refs offline."""
    from jsonschema import Draft202012Validator

    from aiterms._build import schema_registry

    registry = schema_registry(schemas)

    def make(name: str) -> Any:
        return Draft202012Validator(schemas[name], registry=registry)

    return make
