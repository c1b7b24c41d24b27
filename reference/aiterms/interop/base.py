"""The importer/exporter protocol every signal module follows (spec/interop.md#protocol)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from aiterms.report import Issue


@dataclass(frozen=True, slots=True)
class ImportResult:
    """A partial canonical record (plain JSON dict; may omit ``@context``/``type``) plus what was noticed.

    Every declaration in ``record["declarations"]`` carries a ``source`` with ``signal``, ``location``, ``raw`` and,
    where the signal has versions, ``version``.
    """

    record: dict[str, Any]
    issues: tuple[Issue, ...] = ()


@dataclass(frozen=True, slots=True)
class ExportResult:
    """The most faithful expression of a record in a target signal; ``issues`` list what it cannot express."""

    data: bytes
    media_type: str
    issues: tuple[Issue, ...] = field(default=())


class Importer(Protocol):
    KIND: str  # e.g. "http-headers", "robots", "xmp", "c2pa", "flickr-json"

    def detect(self, name: str, head: bytes) -> bool:
        """Cheap sniff on the file name and its first 64 KiB."""
        ...

    def import_bytes(self, data: bytes, *, source_name: str, url: str | None = None,
                     user_agent: str | None = None, observed: str | None = None) -> ImportResult:
        ...
