"""HTTP response headers given as a text file of header lines (spec/interop.md#http-headers).

Accepts what people paste: ``curl -I`` output (``HTTP/1.1 200 OK`` or ``HTTP/2 200``), the bare ``200 OK`` of
the CC signals example, plain ``Name: value`` lines, obsolete line folding, repeated fields, and several
responses in a row (redirects: the last response counts). A body after the blank line is ignored. Dispatches
``Content-Usage`` (aipref), ``Content-Signal``, ``X-Robots-Tag`` (noai/noimageai) and ``tdm-reservation`` /
``tdm-policy`` (TDMRep).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from aiterms.interop import _web
from aiterms.interop.base import ImportResult
from aiterms.report import Issue

KIND = "http-headers"
PRIORITY = 60

_STATUS = re.compile(rb"^(HTTP/\d(\.\d)?[ \t]+\d{3}\b.*|\d{3}([ \t].*)?)$")
_FIELD = re.compile(rb"^([!#$%&'*+.^_`|~0-9A-Za-z-]+):[ \t]*(.*?)[ \t]*$")
_KNOWN = re.compile(rb"(?im)^(content-usage|content-signal|x-robots-tag|tdm-reservation|tdm-policy)[ \t]*:")


@dataclass
class Field:
    name: str  # lower-cased
    value: bytes
    line: int


def parse(data: bytes, *, name: str = "headers") -> tuple[list[Field], list[Issue]]:
    """req-http-headers-parse: an optional status line, then ``name: value`` lines up to the first empty line;
    a line starting with SP or HTAB continues the previous field (obs-fold, replaced by one SP); a line that is
    not a field is reported and skipped; a status line after the empty line starts a new response, whose fields
    replace the earlier ones."""
    issues: list[Issue] = []
    fields: list[Field] = []
    lines = data.replace(b"\r\n", b"\n").replace(b"\r", b"\n").split(b"\n")
    i = 0
    seen_status = False
    while i < len(lines):
        raw = lines[i]
        number = i + 1
        i += 1
        if not raw.strip():
            if not fields and not seen_status:
                continue  # leading blank lines
            nxt = next((ln for ln in lines[i:] if ln.strip()), None)
            if nxt is not None and _STATUS.match(nxt.strip()):
                continue
            if nxt is not None and not seen_status and _FIELD.match(nxt.strip()):
                continue  # header lines separated by blank lines, no status line: keep reading fields
            break  # the body
        if _STATUS.match(raw.strip()):
            if fields:
                issues.append(_web.issue(
                    "http-multiple-responses", _web.INFO,
                    f"{name} line {number}: another response starts; only the last response's fields are read",
                    line=number))
                fields = []
            seen_status = True
            continue
        if raw[:1] in (b" ", b"\t") and fields:
            fields[-1].value += b" " + raw.strip(b" \t")
            continue
        m = _FIELD.match(raw.rstrip(b" \t"))
        if not m:
            issues.append(_web.issue(
                "http-malformed-line", _web.WARNING,
                f"{name} line {number}: {raw[:80].decode('latin-1')!r} is not a header field line; skipped",
                line=number))
            continue
        fields.append(Field(m.group(1).decode("ascii").lower(), m.group(2), number))
    return fields, issues


def _combined(fields: list[Field], name: str) -> tuple[bytes | None, int | None]:
    """RFC 9110 section 5.3: repeated field lines combine into one value separated by commas."""
    values = [f for f in fields if f.name == name]
    if not values:
        return None, None
    return b", ".join(f.value for f in values), values[0].line


def declarations_from_fields(fields: list[Field], *, origin: str | None, user_agent: str | None,
                             name: str = "headers") -> tuple[list[dict[str, Any]], list[Issue]]:
    from aiterms.interop import aipref, contentsignal, noai, tdmrep

    decls: list[dict[str, Any]] = []
    issues: list[Issue] = []
    value, line = _combined(fields, "content-usage")
    if value is not None:
        if sum(f.name == "content-usage" for f in fields) > 1:
            issues.append(_web.issue("http-duplicate-field", _web.INFO,
                                     "Content-Usage appears on several lines; they are combined into one value "
                                     "(RFC 9110 section 5.3) before parsing", line=line))
        more, found = aipref.declarations(value, location="HTTP header Content-Usage", origin=origin, line=line,
                                          where="HTTP header Content-Usage")
        decls.extend(more)
        issues.extend(found)
    value, line = _combined(fields, "content-signal")
    if value is not None:
        more, found = contentsignal.declarations(value.decode("latin-1"), location="HTTP header Content-Signal",
                                                 origin=origin, line=line, where="HTTP header Content-Signal")
        decls.extend(more)
        issues.extend(found)
    for f in fields:
        if f.name == "x-robots-tag":
            more, found = noai.declarations(f.value.decode("latin-1"), location="HTTP header X-Robots-Tag",
                                            origin=origin, user_agent=user_agent, line=f.line,
                                            where=f"{name} line {f.line} X-Robots-Tag")
            decls.extend(more)
            issues.extend(found)
    res = [f for f in fields if f.name == "tdm-reservation"]
    pol = [f for f in fields if f.name == "tdm-policy"]
    if res or pol:
        if len({f.value.strip() for f in res}) > 1:
            res_value: Any = ", ".join(f.value.decode("latin-1") for f in res)
        else:
            res_value = res[0].value.decode("latin-1") if res else None
        if len(res) > 1:
            issues.append(_web.issue("http-duplicate-field", _web.INFO,
                                     f"tdm-reservation appears on {len(res)} lines", line=res[1].line))
        policy = pol[0].value.decode("latin-1").strip() if pol else None
        if len(pol) > 1:
            issues.append(_web.issue("http-duplicate-field", _web.INFO,
                                     f"tdm-policy appears on {len(pol)} lines; the first is recorded",
                                     line=pol[1].line))
        if res_value is None:
            issues.append(_web.issue("tdmrep-policy-ignored", _web.INFO,
                                     "tdm-policy without tdm-reservation is not processed", line=pol[0].line))
        else:
            more, found = tdmrep.declarations(res_value, policy, location=tdmrep.LOC_HEADER, origin=origin,
                                              line=res[0].line)
            decls.extend(more)
            issues.extend(found)
    return decls, issues


def detect(name: str, head: bytes) -> bool:
    """A ``.http``/``.headers`` file or a name with "header"; otherwise text whose first block (up to an empty
    line) consists of a status line and/or header field lines, one of them an AI-usage field or a status line."""
    if not _web.is_text(head):
        return False
    base = name.replace("\\", "/").rsplit("/", 1)[-1].lower()
    if base.endswith((".md", ".html", ".htm", ".json", ".xml", ".xmp")):
        return False
    if base.endswith((".http", ".headers")) or "header" in base:
        return True
    block: list[bytes] = []
    for ln in head.replace(b"\r\n", b"\n").split(b"\n"):
        if not ln.strip():
            if block:
                break
            continue
        block.append(ln)
    if not block or re.match(rb"(?i)^[ \t]*user-agent[ \t]*:", block[0]):
        return False
    status = bool(_STATUS.match(block[0].strip()))
    fields = block[1:] if status else block
    if not all(_FIELD.match(ln.rstrip(b" \t")) or ln[:1] in (b" ", b"\t") for ln in fields):
        return False
    return status or any(_KNOWN.match(ln) for ln in fields)


def import_bytes(data: bytes, *, source_name: str, url: str | None = None, user_agent: str | None = None,
                 observed: str | None = None) -> ImportResult:
    origin, bad = _web.check_url(url)
    if bad:
        return ImportResult({}, (bad,))
    from aiterms.limits import check_header_lines

    too_big = check_header_lines(data)
    if too_big:
        return ImportResult({}, tuple(too_big))
    fields, issues = parse(data, name=source_name)
    decls, more = declarations_from_fields(fields, origin=origin, user_agent=user_agent, name=source_name)
    issues.extend(more)
    record: dict[str, Any] = {"declarations": decls} if decls else {}
    if decls and url:
        record["contentUrl"] = url.strip()
    return ImportResult(record, tuple(issues))
