"""Codes no conformance case can show, each checked here (tests/codes-without-cases.json names these tests)."""

from __future__ import annotations

import sys

import pytest

import _imagebuild as b
from aiterms.interop import c2pa


def test_c2pa_reader_unavailable_is_a_warning_and_imports_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    """req-c2pa-reader: without c2pa-python a signed asset is not read: a warning, no declarations."""
    monkeypatch.setitem(sys.modules, "c2pa", None)  # ``import c2pa`` now raises ImportError
    result = c2pa.import_bytes(b.jpeg(c2pa=True), source_name="signed.jpg")
    assert [(i.code, str(i.severity)) for i in result.issues] == [("c2pa-reader-unavailable", "warning")]
    assert "declarations" not in result.record
    assert result.record["contentHash"].startswith("sha256:")
