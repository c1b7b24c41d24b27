"""aiterms: machine-readable AI-usage terms for images (reference implementation).

Public API: see ``__all__``. Records flow parse -> model -> validate -> resolve. Everything beyond the value
objects is imported on first use, so that ``import aiterms`` and the CLI start fast.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from aiterms.model import Decision, Declaration, Query, Reason, Record, Rule
from aiterms.report import Issue, Report, Severity

if TYPE_CHECKING:  # what the lazy names below are, for type checkers (nothing is imported at run time)
    from aiterms.embedding import embed
    from aiterms.resolution import resolve
    from aiterms.validation import InvalidDocument, check, is_valid, iter_issues, validate
    from aiterms.vocab import Registry, Vocabulary

    __version__: str

_LAZY = {
    "resolve": "aiterms.resolution",
    "check": "aiterms.validation",
    "validate": "aiterms.validation",
    "iter_issues": "aiterms.validation",
    "is_valid": "aiterms.validation",
    "InvalidDocument": "aiterms.validation",
    "embed": "aiterms.embedding",
    "Vocabulary": "aiterms.vocab",
    "Registry": "aiterms.vocab",
}


def __getattr__(name: str) -> object:
    if name == "__version__":  # read lazily: importlib.metadata costs more than the rest of startup
        from importlib.metadata import PackageNotFoundError, version

        try:
            return version("aiterms")
        except PackageNotFoundError:  # running from a source tree without installation
            return "0.0.0"
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
