"""aiterms: machine-readable AI-usage terms for images (reference implementation).

Public API: see ``__all__``. Records flow parse -> model -> validate -> resolve.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

from aiterms.model import Decision, Declaration, Query, Reason, Record, Rule
from aiterms.report import Issue, Report, Severity

try:
    __version__ = version("aiterms")
except PackageNotFoundError:  # running from a source tree without installation
    __version__ = "0.0.0"

# The rest of the public API is imported on first use, so that `import aiterms` and the CLI start fast.
_LAZY = {
    "resolve": "aiterms.resolve",
    "check": "aiterms.validate",
    "validate": "aiterms.validate",
    "iter_issues": "aiterms.validate",
    "is_valid": "aiterms.validate",
    "InvalidDocument": "aiterms.validate",
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
