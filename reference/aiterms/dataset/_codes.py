"""The issue codes of spec/dataset.md (code table there) and a helper that builds their issues."""

from __future__ import annotations

from typing import Any

from aiterms.report import Issue, Severity

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

# Severities as registered in spec/dataset.md (used until _data/codes.json carries them).
SEVERITIES: dict[str, Severity] = {
    MANIFEST_ROW_INVALID: Severity.ERROR,
    MANIFEST_COLUMN_MISSING: Severity.ERROR,
    MANIFEST_UNREADABLE: Severity.ERROR,
    MANIFEST_VALUE_IGNORED: Severity.WARNING,
    RECORD_NOT_RESOLVED: Severity.ERROR,
    COLUMN_MAPPING_INVALID: Severity.ERROR,
    STORE_SOURCE_INVALID: Severity.ERROR,
    STORE_ENTRY_INVALID: Severity.WARNING,
    STORE_UNREADABLE: Severity.ERROR,
    STORE_SCHEMA_MISMATCH: Severity.ERROR,
    DIFF_KEY_MISSING: Severity.WARNING,
    DIFF_DUPLICATE_KEY: Severity.WARNING,
}


def dataset_issue(code: str, message: str, path: str = "", *, line: int | None = None, value: Any = None) -> Issue:
    """An issue of this area; its severity is the one registered in spec/dataset.md."""
    try:
        from aiterms.codes import severity

        sev = severity(code)
    except KeyError:
        sev = SEVERITIES[code]
    return Issue(code, sev, message, path, line, None, value)
