"""aiterms: machine-readable AI-usage terms for images (reference implementation).

Public API: see ``__all__``. Records flow parse -> model -> validate -> resolve.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version
from typing import TYPE_CHECKING

from aiterms.model import Decision, Declaration, Query, Reason, Record, Rule
from aiterms.report import Issue, Report, Severity

try:
    __version__ = version("aiterms")
except PackageNotFoundError:  # running from a source tree without installation
    __version__ = "0.0.0"

if TYPE_CHECKING:  # what the lazy names below are, for type checkers (nothing is imported at run time)
    from aiterms.validation import InvalidDocument, check, is_valid, iter_issues, validate

# The rest of the public API is imported on first use, so that `import aiterms` and the CLI start fast.
_LAZY = {
    "resolve": "aiterms.resolve",
    "check": "aiterms.validation",
    "validate": "aiterms.validation",
    "iter_issues": "aiterms.validation",
    "is_valid": "aiterms.validation",
    "InvalidDocument": "aiterms.validation",
    "embed": "aiterms.embed",
    "Vocabulary": "aiterms.vocab",
    "Registry": "aiterms.vocab",
}


def __getattr__(name: str) -> object:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'aiterms' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(module), name)


__all__ = [
    "Decision",
    "Declaration",
    "InvalidDocument",
    "Issue",
    "Query",
    "Reason",
    "Record",
    "Registry",
    "Report",
    "Rule",
    "Severity",
    "Vocabulary",
    "__version__",
    "check",
    "embed",
    "is_valid",
    "iter_issues",
    "resolve",
    "validate",
]
