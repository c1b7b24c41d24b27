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

__all__ = [
    "Decision",
    "Declaration",
    "Issue",
    "Query",
    "Reason",
    "Record",
    "Report",
    "Rule",
    "Severity",
    "__version__",
]
