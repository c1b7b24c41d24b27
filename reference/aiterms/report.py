"""Issues and reports: the unit of every finding aiterms makes (spec/validation.md#issues).

An :class:`Issue` carries a registered code (the part conformance compares), a severity, where it was found
(a JSON Pointer and, when known, a line and column) and a message a person can act on. Only errors make a
document invalid.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class Severity(StrEnum):
    ERROR = "error"
    WARNING = "warning"
    INFO = "info"


@dataclass(frozen=True, slots=True)
class Issue:
    """One finding. ``path`` is an RFC 6901 JSON Pointer into the input (``""`` is the root)."""

    code: str
    severity: Severity
    message: str
    path: str = ""
    line: int | None = None
    column: int | None = None
    value: Any = field(default=None, compare=False)

    @property
    def spec(self) -> str:
        from aiterms.codes import spec_url

        return spec_url(self.code)

    def with_severity(self, severity: Severity) -> Issue:
        return Issue(self.code, severity, self.message, self.path, self.line, self.column, self.value)

    def located(self, line: int | None, column: int | None = None) -> Issue:
        return Issue(self.code, self.severity, self.message, self.path, line, column, self.value)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"code": self.code, "severity": str(self.severity), "path": self.path}
        if self.line is not None:
            out["line"] = self.line
        if self.column is not None:
            out["column"] = self.column
        out["message"] = self.message
        out["spec"] = self.spec
        return out

    def to_text(self) -> str:
        """One line a person can act on: ``line 3, /declarations/0: message``."""
        where = []
        if self.line is not None:
            where.append(f"line {self.line}" + (f", column {self.column}" if self.column is not None else ""))
        if self.path:
            where.append(self.path)
        prefix = ", ".join(where)
        return f"{prefix + ': ' if prefix else ''}{self.severity}: {self.message} [{self.code}]"


def issue(code: str, message: str, path: str = "", *, line: int | None = None, column: int | None = None,
          value: Any = None, severity: Severity | None = None) -> Issue:
    """Build an Issue whose severity defaults to the one registered for ``code``."""
    from aiterms.codes import severity as registered

    return Issue(code, severity or registered(code), message, path, line, column, value)


@dataclass(frozen=True, slots=True)
class Report:
    """The result of checking one document: ``valid`` is true when no issue is an error."""

    issues: tuple[Issue, ...] = ()

    @classmethod
    def of(cls, issues: Iterable[Issue]) -> Report:
        return cls(tuple(issues))

    @property
    def valid(self) -> bool:
        for i in self.issues:  # noqa: SIM110 -- a plain loop is cheaper than all(); read once per streamed record
            if i.severity is Severity.ERROR:
                return False
        return True

    @property
    def errors(self) -> tuple[Issue, ...]:
        return tuple(i for i in self.issues if i.severity is Severity.ERROR)

    @property
    def warnings(self) -> tuple[Issue, ...]:
        return tuple(i for i in self.issues if i.severity is Severity.WARNING)

    def to_json(self) -> dict[str, Any]:
        return {"valid": self.valid, "issues": [i.to_json() for i in self.issues]}


def escape_pointer(token: str | int) -> str:
    """Escape one JSON Pointer reference token (RFC 6901 section 3)."""
    return str(token).replace("~", "~0").replace("/", "~1")


def pointer(*tokens: str | int) -> str:
    return "".join("/" + escape_pointer(t) for t in tokens)
