"""The registered issue codes (generated into ``_data/codes.json`` from the code tables in ``spec/*.md``)."""

from __future__ import annotations

import json
from functools import cache
from importlib.resources import files
from typing import TypedDict

from aiterms.report import Severity

SPEC_BASE = "https://w3id.org/aiterms/spec/"


class CodeEntry(TypedDict):
    severity: str
    condition: str
    anchor: str
    section: str


@cache
def table() -> dict[str, CodeEntry]:
    data: dict[str, CodeEntry] = json.loads((files("aiterms") / "_data" / "codes.json").read_text("utf-8"))
    return data


def severity(code: str) -> Severity:
    entry = table().get(code)
    if entry is None:
        # An unregistered code is a bug in aiterms itself; fail loudly in tests, stay usable in production.
        raise KeyError(f"issue code {code!r} is not registered in any spec code table")
    return Severity(entry["severity"])


def spec_url(code: str) -> str:
    entry = table().get(code)
    if entry is None:
        return SPEC_BASE
    return f"{SPEC_BASE}{entry['section']}#{entry['anchor']}"


def anchor_url(section: str, anchor: str) -> str:
    return f"{SPEC_BASE}{section}#{anchor}"
