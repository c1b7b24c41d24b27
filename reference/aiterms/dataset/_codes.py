"""The issue codes of spec/dataset.md (code table there) and a helper that builds their issues."""

from __future__ import annotations

from typing import Any

from aiterms.report import Issue

MANIFEST_ROW_INVALID = "manifest-row-invalid"
MANIFEST_COLUMN_MISSING = "manifest-column-missing"
MANIFEST_UNREADABLE = "manifest-unreadable"
MANIFEST_VALUE_IGNORED = "manifest-value-ignored"
RECORD_NOT_RESOLVED = "manifest-record-invalid"
COLUMN_MAPPING_INVALID = "column-mapping-invalid"
STORE_SOURCE_INVALID = "store-source-invalid"
STORE_ENTRY_INVALID = "store-entry-invalid"
STORE_UNREADABLE = "store-unreadable"
STORE_SCHEMA_MISMATCH = "store-schema-mismatch"
DIFF_KEY_MISSING = "diff-key-missing"
DIFF_DUPLICATE_KEY = "diff-duplicate-key"

def dataset_issue(code: str, message: str, path: str = "", *, line: int | None = None, value: Any = None) -> Issue:
    """An issue of this area; its severity is the one registered in spec/dataset.md (via _data/codes.json)."""
    from aiterms.codes import severity

    return Issue(code, severity(code), message, path, line, None, value)
