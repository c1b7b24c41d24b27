"""Documented resource limits, in one place, and the small checks that enforce them (spec/security.md#limits).

aiterms reads untrusted files from the web at scale. Every limit below has a registered code; a processor that
meets a limit reports that code and fails closed (req-limit-fail-closed): nothing it read from an input that
exceeded a limit is ever a permission. The checks here are cheap and linear in the size of their input: they never
parse (``check_json_depth`` scans brackets outside strings), never recurse, and never copy more than a constant
factor of the input.

Other modules import the constants rather than repeating numbers, so the table in spec/security.md, the code and
the tests cannot drift (tests/test_security_limits.py checks the table against this module).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import IO, TYPE_CHECKING, Any, Final, cast

from aiterms.report import Issue, Severity, escape_pointer

if TYPE_CHECKING:
    from xml.etree.ElementTree import Element

KiB: Final = 1024
MiB: Final = 1024 * KiB

# --- the limits (spec/security.md#limits-table) ---------------------------------------------------------------------
#: Any file or standard input the command line reads (aiterms._io.read_bytes default).
MAX_INPUT_BYTES: Final = 256 * MiB
#: One document parsed as a whole: JSON, JSON-LD, Turtle, XML (XMP sidecar, RSL, ODRL/XML), HTML, tdmrep.json,
#: a C2PA manifest JSON, a Flickr API response. Line-oriented inputs (JSONL, CSV/TSV) stream instead.
MAX_DOCUMENT_BYTES: Final = 16 * MiB
#: One line of a line-oriented input: a JSONL record, a CSV/TSV row (a record may be as large as a document).
MAX_LINE_BYTES: Final = 16 * MiB
#: Nesting of arrays and objects in JSON and JSON-LD; of blank nodes, collections and graphs in Turtle; of XML
#: elements. Canonical records nest 6 deep, expanded JSON-LD about 12, ODRL policies about 10.
MAX_NESTING_DEPTH: Final = 64
#: Declarations in one record.
MAX_DECLARATIONS: Final = 1_000
#: Rules in one declaration; also consent entries in one declaration.
MAX_RULES: Final = 1_000
#: Tags in one record (Flickr allows 75 per photo).
MAX_TAGS: Final = 1_000
#: Characters in any one string of a record (ids, IRIs, names, tags, raw values) and in any object key.
MAX_STRING_LENGTH: Final = 8 * KiB
#: One XMP packet (extended XMP reassembled) or XMP sidecar.
MAX_XMP_BYTES: Final = 4 * MiB
#: Manifests in one C2PA manifest store.
MAX_C2PA_MANIFESTS: Final = 100
#: robots.txt and ai.txt (robots.txt syntax): RFC 9309 section 2.5 -- parsers MUST read at least 500 KiB and MAY
#: ignore the rest.
MAX_ROBOTS_BYTES: Final = 500 * KiB
#: HTTP response header lines in one header file, and bytes in one field line (name, colon and value).
MAX_HEADER_LINES: Final = 1_000
MAX_HEADER_LINE_BYTES: Final = 8 * KiB
#: Segments, chunks, boxes or IFD entries walked in one image container, and nesting of ISOBMFF boxes.
MAX_CONTAINER_ITEMS: Final = 10_000
MAX_CONTAINER_DEPTH: Final = 32
#: Issues reported for one document; validity is still decided from all of them (spec/security.md#limit-issues).
MAX_ISSUES: Final = 1_000

#: Implementation bounds that are not limits on the input (no code): near-miss tag suggestions are computed only for
#: strings up to this length (edit distance is quadratic), and messages quote at most this many characters.
NEAR_MISS_MAX_LENGTH: Final = 64
QUOTE_MAX_CHARS: Final = 80

# --- codes (their single home is the code table in spec/security.md) ------------------------------------------------
LIMIT_INPUT_SIZE: Final = "limit-input-size"
LIMIT_JSON_DEPTH: Final = "limit-json-depth"
LIMIT_NESTING_DEPTH: Final = "limit-nesting-depth"
LIMIT_DECLARATIONS: Final = "limit-declarations"
LIMIT_RULES: Final = "limit-rules"
LIMIT_TAGS: Final = "limit-tags"
LIMIT_STRING_LENGTH: Final = "limit-string-length"
LIMIT_XMP_SIZE: Final = "limit-xmp-size"
LIMIT_C2PA_MANIFESTS: Final = "limit-c2pa-manifests"
LIMIT_ROBOTS_SIZE: Final = "limit-robots-size"
LIMIT_HEADER_SIZE: Final = "limit-header-size"
LIMIT_LINE_LENGTH: Final = "limit-line-length"
LIMIT_CONTAINER: Final = "limit-container"
LIMIT_ISSUES: Final = "limit-issues"
UNSAFE_XML: Final = "unsafe-xml"

#: Severity of each code, as registered in spec/security.md (a test checks the two agree once codes.json is built).
SEVERITIES: Final[Mapping[str, Severity]] = {
    LIMIT_INPUT_SIZE: Severity.ERROR,
    LIMIT_JSON_DEPTH: Severity.ERROR,
    LIMIT_NESTING_DEPTH: Severity.ERROR,
    LIMIT_DECLARATIONS: Severity.ERROR,
    LIMIT_RULES: Severity.ERROR,
    LIMIT_TAGS: Severity.ERROR,
    LIMIT_STRING_LENGTH: Severity.ERROR,
    LIMIT_XMP_SIZE: Severity.ERROR,
    LIMIT_C2PA_MANIFESTS: Severity.ERROR,
    LIMIT_ROBOTS_SIZE: Severity.WARNING,
    LIMIT_HEADER_SIZE: Severity.ERROR,
    LIMIT_LINE_LENGTH: Severity.ERROR,
    LIMIT_CONTAINER: Severity.ERROR,
    LIMIT_ISSUES: Severity.WARNING,
    UNSAFE_XML: Severity.ERROR,
}


class LimitExceeded(Exception):
    """Raised by the few helpers that cannot return an Issue (``safe_xml``); ``issue`` says which limit."""

    def __init__(self, issue: Issue) -> None:
        super().__init__(issue.message)
        self.issue = issue


def limit_issue(code: str, message: str, path: str = "", *, line: int | None = None,
                column: int | None = None, value: Any = None) -> Issue:
    """An Issue for one of this module's codes, with its registered severity (works before codes.json exists)."""
    return Issue(code, SEVERITIES[code], message, path, line, column, value)


# --- quoting untrusted text ----------------------------------------------------------------------------------------
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


def bounded(value: object, limit: int = QUOTE_MAX_CHARS) -> str:
    """req-quote-untrusted: a message MUST NOT echo more than a bounded prefix of an untrusted value, and MUST NOT
    echo control or bidirectional-override characters.

    Returns ``repr``-like text safe for a terminal: at most ``limit`` characters of the value, control and
    bidi-override characters written as ``\\uXXXX``, and ``… (N more characters)`` when shortened.
    """
    text = value.decode("utf-8", "replace") if isinstance(value, bytes | bytearray) else str(value)
    rest = len(text) - limit
    head = text[:limit] if rest > 0 else text
    head = _CONTROL.sub(lambda m: f"\\u{ord(m.group()):04x}", head)
    return f"{head}… ({rest} more characters)" if rest > 0 else head


def human_size(n: int) -> str:
    if n >= MiB and n % MiB == 0:
        return f"{n // MiB} MiB"
    if n >= KiB and n % KiB == 0:
        return f"{n // KiB} KiB"
    return f"{n} bytes"


# --- sizes ---------------------------------------------------------------------------------------------------------
def check_size(size: int, limit: int = MAX_DOCUMENT_BYTES, *, what: str = "input", code: str = LIMIT_INPUT_SIZE,
               path: str = "") -> Issue | None:
    """req-limits: an input larger than its limit is refused with the limit's code, never read in part as if whole."""
    if size <= limit:
        return None
    return limit_issue(code, f"{what} is {size} bytes, more than the {human_size(limit)} limit; it was not read",
                       path, value=size)


def truncate_robots(data: bytes, limit: int = MAX_ROBOTS_BYTES) -> tuple[bytes, Issue | None]:
    """req-robots-size: a robots.txt longer than 500 KiB is read up to the last complete line within the first
    500 KiB (RFC 9309 section 2.5) and the rest is ignored, with a ``limit-robots-size`` warning; an importer MUST NOT
    derive a permission from such a file (req-limit-fail-closed).
    """
    if len(data) <= limit:
        return data, None
    cut = data.rfind(b"\n", 0, limit + 1)
    head = data[: cut + 1] if cut >= 0 else b""
    return head, limit_issue(
        LIMIT_ROBOTS_SIZE,
        f"robots.txt is {len(data)} bytes; only the first {human_size(limit)} were read (RFC 9309 section 2.5) "
        "and no permission is taken from it",
        line=head.count(b"\n") + 1, value=len(data))


def check_lines(data: bytes, *, max_lines: int, max_line_bytes: int, code: str, what: str) -> list[Issue]:
    """req-limits: count lines and find over-long lines in one linear pass (no split of the whole input)."""
    issues: list[Issue] = []
    lines = data.count(b"\n") + (0 if data.endswith(b"\n") or not data else 1)
    if lines > max_lines:
        issues.append(limit_issue(code, f"{what} has {lines} lines, more than the limit of {max_lines}",
                                  line=max_lines + 1, value=lines))
    if len(data) > max_line_bytes:
        # split() is linear and C-level; a regex for "a run of N non-newlines" would be quadratic on long lines.
        for index, length in enumerate(map(len, data.split(b"\n"))):
            if length > max_line_bytes:
                issues.append(limit_issue(code, f"{what}: line {index + 1} is longer than "
                                          f"{human_size(max_line_bytes)}", line=index + 1, value=length))
                break  # one is enough: the caller refuses the input
    return issues


def check_header_lines(data: bytes) -> list[Issue]:
    """req-limits: header files have at most MAX_HEADER_LINES lines of at most MAX_HEADER_LINE_BYTES bytes."""
    return check_lines(data, max_lines=MAX_HEADER_LINES, max_line_bytes=MAX_HEADER_LINE_BYTES,
                       code=LIMIT_HEADER_SIZE, what="HTTP header section")


def iter_lines(stream: IO[bytes], max_line_bytes: int = MAX_LINE_BYTES) -> Iterator[tuple[int, bytes | None]]:
    """Yield ``(line_number, line)`` from a binary stream in constant memory; an over-long line yields ``None``
    (report ``limit-line-length`` for it and go on: one bad line never stops the rest).

    The line keeps its terminator. Memory is bounded by ``max_line_bytes`` whatever the input.
    """
    number = 0
    while True:
        line = stream.readline(max_line_bytes + 1)
        if not line:
            return
        number += 1
        if len(line) > max_line_bytes and not (len(line) == max_line_bytes + 1 and line.endswith(b"\n")):
            # Over-long: skip the rest of this line in bounded chunks.
            while not line.endswith(b"\n"):
                line = stream.readline(64 * KiB)
                if not line:
                    break
            yield number, None
            continue
        yield number, line


def line_length_issue(line: int, limit: int = MAX_LINE_BYTES) -> Issue:
    return limit_issue(LIMIT_LINE_LENGTH, f"line {line} is longer than {human_size(limit)}; it was not read",
                       line=line)


# --- nesting depth without parsing ---------------------------------------------------------------------------------
# A JSON string (also an unterminated one, to the end of the input, so that the scan stays linear on bad input).
_JSON_STRING_S = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"?', re.S)
_JSON_STRING_B = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"?', re.S)
_NOT_BRACKET_S = re.compile(r"[^\[\]{}]+")
_NOT_BRACKET_B = re.compile(rb"[^\[\]{}]+")
_JSON_TOKEN_S = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"?|[\[\]{}]', re.S)
_JSON_TOKEN_B = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"?|[\[\]{}]', re.S)

# Turtle/TriG: comments, IRIs, long and short strings are skipped; [ ] ( ) { } nest.
_TTL_SKIP = (r'#[^\r\n]*|<[^<>"{}|^`\\\s]*>?|"""(?:[^"\\]|\\.|"(?!""))*(?:"""|\Z)|'
             r"'''(?:[^'\\]|\\.|'(?!''))*(?:'''|\Z)|"
             r'"[^"\\\r\n]*(?:\\.[^"\\\r\n]*)*"?|'
             r"'[^'\\\r\n]*(?:\\.[^'\\\r\n]*)*'?")
_TTL_STRING_S = re.compile(_TTL_SKIP, re.S)
_TTL_STRING_B = re.compile(_TTL_SKIP.encode(), re.S)
_TTL_NOT_BRACKET_S = re.compile(r"[^\[\](){}]+")
_TTL_NOT_BRACKET_B = re.compile(rb"[^\[\](){}]+")
_TTL_TOKEN_S = re.compile(_TTL_SKIP + r"|[\[\](){}]", re.S)
_TTL_TOKEN_B = re.compile(_TTL_SKIP.encode() + rb"|[\[\](){}]", re.S)

_OPENERS = frozenset("[{(") | frozenset(b"[{(")


def _max_depth(brackets: str | bytes, limit: int | None) -> tuple[int, int]:
    """(maximum depth, index in ``brackets`` of the first opener beyond ``limit`` or -1). Extra closers clamp at 0."""
    depth = best = 0
    for i, c in enumerate(brackets):
        if c in _OPENERS:
            depth += 1
            if depth > best:
                best = depth
                if limit is not None and depth > limit:
                    return best, i
        elif depth:
            depth -= 1
    return best, -1


def _locate(text: str | bytes, token: re.Pattern[Any], nth_bracket: int) -> int:
    """Offset in ``text`` of bracket number ``nth_bracket`` (0-based) outside strings (only on the failure path)."""
    seen = 0
    quote = '"' if isinstance(text, str) else ord('"')
    for m in token.finditer(text):
        first = text[m.start()]
        if first in _OPENERS or first in (")", "]", "}", ord(")"), ord("]"), ord("}")):
            if seen == nth_bracket:
                return m.start()
            seen += 1
        elif first == quote:
            continue
    return 0


def _where(text: str | bytes, offset: int) -> tuple[int, int]:
    nl: Any = "\n" if isinstance(text, str) else b"\n"
    line = text.count(nl, 0, offset) + 1
    column = offset - (text.rfind(nl, 0, offset) + 1) + 1
    return line, column


def _depth(text: str | bytes, string: tuple[re.Pattern[Any], re.Pattern[Any]],
           other: tuple[re.Pattern[Any], re.Pattern[Any]], limit: int | None) -> tuple[int, int]:
    is_str = isinstance(text, str)
    strings = string[0] if is_str else string[1]
    others = other[0] if is_str else other[1]
    empty: Any = "" if is_str else b""
    brackets = others.sub(empty, strings.sub(empty, text))
    return _max_depth(brackets, limit)


def json_depth(text: str | bytes) -> int:
    """The maximum nesting of arrays and objects in JSON ``text``, found without parsing, in linear time."""
    return _depth(text, (_JSON_STRING_S, _JSON_STRING_B), (_NOT_BRACKET_S, _NOT_BRACKET_B), None)[0]


def check_json_depth(text: str | bytes, limit: int = MAX_NESTING_DEPTH, *, line: int | None = None) -> Issue | None:
    """req-limit-depth: JSON nested deeper than 64 arrays/objects is refused with ``limit-json-depth`` before it is
    parsed, so no recursive parser or walker ever sees it.

    Linear time, no parsing: brackets outside strings are counted (an unterminated string runs to the end). Pass
    ``line`` for one line of a JSONL stream; the issue then carries that line.
    """
    if isinstance(text, str):
        if text.count("[") + text.count("{") <= limit:
            return None
    elif text.count(b"[") + text.count(b"{") <= limit:
        return None
    best, index = _depth(text, (_JSON_STRING_S, _JSON_STRING_B), (_NOT_BRACKET_S, _NOT_BRACKET_B), limit)
    if index < 0:
        return None
    offset = _locate(text, _JSON_TOKEN_S if isinstance(text, str) else _JSON_TOKEN_B, index)
    ln, col = _where(text, offset)
    if line is not None:
        ln = line
    return limit_issue(LIMIT_JSON_DEPTH, f"JSON nested deeper than {limit} arrays/objects; it was not parsed",
                       line=ln, column=col, value=best)


def turtle_depth(text: str | bytes) -> int:
    """The maximum nesting of ``[ ]``, ``( )`` and ``{ }`` in Turtle/TriG ``text`` outside strings, IRIs and
    comments; linear time, no parsing."""
    return _depth(text, (_TTL_STRING_S, _TTL_STRING_B), (_TTL_NOT_BRACKET_S, _TTL_NOT_BRACKET_B), None)[0]


def check_turtle_depth(text: str | bytes, limit: int = MAX_NESTING_DEPTH) -> Issue | None:
    """req-limit-depth: Turtle nested deeper than 64 blank nodes, collections or graphs is refused with
    ``limit-nesting-depth`` before it is parsed (rdflib's parser recurses and fails near 600)."""
    opens = (text.count("[") + text.count("(") + text.count("{")) if isinstance(text, str) else (
        text.count(b"[") + text.count(b"(") + text.count(b"{"))
    if opens <= limit:
        return None
    best, index = _depth(text, (_TTL_STRING_S, _TTL_STRING_B), (_TTL_NOT_BRACKET_S, _TTL_NOT_BRACKET_B), limit)
    if index < 0:
        return None
    offset = _locate(text, _TTL_TOKEN_S if isinstance(text, str) else _TTL_TOKEN_B, index)
    ln, col = _where(text, offset)
    return limit_issue(LIMIT_NESTING_DEPTH, f"Turtle nested deeper than {limit} levels; it was not parsed",
                       line=ln, column=col, value=best)


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def parse_json(data: bytes | str, *, code: str, what: str = "JSON", severity: Severity | None = None,
               max_bytes: int = MAX_DOCUMENT_BYTES) -> tuple[Any, Issue | None]:
    """req-untrusted-input: parse an untrusted JSON document and never raise.

    Returns ``(value, None)`` or ``(None, issue)``: ``limit-input-size`` over ``max_bytes``, ``limit-json-depth``
    when nested deeper than 64 (checked before parsing, see :func:`check_json_depth`), else ``code`` (the caller's
    own syntax code, with ``severity`` or its registered one) for anything the parser refuses: invalid UTF-8 (a
    leading byte order mark is allowed), syntax errors (with line and column), ``NaN``/``Infinity``, and integers
    longer than Python's 4,300-digit conversion limit (a ``ValueError`` that is not a ``JSONDecodeError``).
    """
    import json

    size = len(data.encode("utf-8", "surrogatepass")) if isinstance(data, str) else len(data)
    too_big = check_size(size, max_bytes, what=what)
    if too_big is not None:
        return None, too_big
    deep = check_json_depth(data)
    if deep is not None:
        return None, deep

    def problem(message: str, line: int | None = None, column: int | None = None) -> Issue:
        if severity is not None:
            return Issue(code, severity, f"{what} is not valid JSON: {message}", "", line, column)
        from aiterms.report import issue

        return issue(code, f"{what} is not valid JSON: {message}", line=line, column=column)

    try:
        text = data.decode("utf-8-sig") if isinstance(data, bytes | bytearray) else data
    except UnicodeDecodeError as exc:
        return None, problem(f"not UTF-8 (byte {exc.start})")
    try:
        return json.loads(text, parse_constant=_reject_constant), None
    except json.JSONDecodeError as exc:
        return None, problem(exc.msg, exc.lineno, exc.colno)
    except (ValueError, RecursionError) as exc:  # over-long integers, NaN/Infinity; recursion cannot happen here
        return None, problem(bounded(exc, 120))


# --- records -------------------------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class _Count:
    key: str
    limit: int
    code: str
    what: str


_COUNTS = (
    _Count("declarations", MAX_DECLARATIONS, LIMIT_DECLARATIONS, "declarations"),
    _Count("tags", MAX_TAGS, LIMIT_TAGS, "tags"),
)
_PER_DECLARATION = (
    _Count("rules", MAX_RULES, LIMIT_RULES, "rules"),
    _Count("consent", MAX_RULES, LIMIT_RULES, "consent entries"),
)


def check_record_limits(record: Any, *, max_issues: int = MAX_ISSUES) -> list[Issue]:
    """req-limits: a record has at most 1,000 declarations and 1,000 tags, a declaration at most 1,000 rules and
    1,000 consent entries, no string or key longer than 8,192 characters, and no nesting deeper than 64.

    Works on any parsed JSON value (it does not assume the record is structurally valid), iteratively, in time
    linear in the value's size; returns at most ``max_issues`` issues, each with its JSON Pointer.
    """
    issues: list[Issue] = []
    if isinstance(record, dict):
        for c in _COUNTS:
            value = record.get(c.key)
            if isinstance(value, list) and len(value) > c.limit:
                issues.append(limit_issue(c.code, f"{len(value)} {c.what}, more than the limit of {c.limit}",
                                          "/" + c.key, value=len(value)))
        decls = record.get("declarations")
        if isinstance(decls, list):
            for i, d in enumerate(decls[:MAX_DECLARATIONS]):
                if not isinstance(d, dict):
                    continue
                for c in _PER_DECLARATION:
                    value = d.get(c.key)
                    if isinstance(value, list) and len(value) > c.limit:
                        issues.append(limit_issue(
                            c.code, f"{len(value)} {c.what} in one declaration, more than the limit of {c.limit}",
                            f"/declarations/{i}/{c.key}", value=len(value)))
    # Strings, keys and depth: one iterative walk (explicit stack; no recursion on hostile input).
    stack: list[tuple[Any, str, int]] = [(record, "", 0)]
    deep_reported = False
    while stack and len(issues) < max_issues:
        value, path, depth = stack.pop()
        if isinstance(value, str):
            if len(value) > MAX_STRING_LENGTH:
                issues.append(limit_issue(LIMIT_STRING_LENGTH, f"a string of {len(value)} characters, more than "
                                          f"the limit of {MAX_STRING_LENGTH}: {bounded(value, 40)}", path,
                                          value=len(value)))
            continue
        if not isinstance(value, dict | list):
            continue
        if depth >= MAX_NESTING_DEPTH:
            if not deep_reported:
                issues.append(limit_issue(LIMIT_JSON_DEPTH, f"nested deeper than {MAX_NESTING_DEPTH} "
                                          "arrays/objects", path))
                deep_reported = True
            continue
        if isinstance(value, dict):
            items: list[tuple[str, Any]] = list(value.items())
            for key, v in reversed(items):
                k = key if isinstance(key, str) else str(key)
                child = f"{path}/{escape_pointer(k)}" if len(k) <= MAX_STRING_LENGTH else f"{path}/{bounded(k, 40)}"
                if len(k) > MAX_STRING_LENGTH:
                    issues.append(limit_issue(LIMIT_STRING_LENGTH, f"a key of {len(k)} characters, more than the "
                                              f"limit of {MAX_STRING_LENGTH}", path, value=len(k)))
                    continue
                stack.append((v, child, depth + 1))
        else:
            for i in range(len(value) - 1, -1, -1):
                stack.append((value[i], f"{path}/{i}", depth + 1))
    if len(issues) >= max_issues:
        del issues[max_issues:]
        issues.append(limit_issue(LIMIT_ISSUES, f"more than {max_issues} issues; the rest are not listed"))
    return issues


def cap_issues(issues: list[Issue], limit: int = MAX_ISSUES) -> list[Issue]:
    """req-limit-issues: report at most ``limit`` issues for one document, plus one ``limit-issues`` warning.

    Errors are kept before warnings, so a capped report still shows why the document is invalid; the caller decides
    validity from the full list before capping.
    """
    if len(issues) <= limit:
        return issues
    errors = [i for i in issues if i.severity is Severity.ERROR]
    others = [i for i in issues if i.severity is not Severity.ERROR]
    kept = (errors + others)[:limit]
    kept.append(limit_issue(LIMIT_ISSUES, f"{len(issues)} issues; only the first {limit} are listed",
                            value=len(issues)))
    return kept


# --- XML -----------------------------------------------------------------------------------------------------------
_DOCTYPE = re.compile(rb"<!\s*(?:DOCTYPE|ENTITY|ELEMENT|ATTLIST|NOTATION)", re.I)


def safe_xml(data: bytes, *, max_bytes: int = MAX_XMP_BYTES, size_code: str = LIMIT_XMP_SIZE,
             what: str = "XMP packet") -> Element:
    """req-no-entity-expansion: XML (XMP, RSL, ODRL/XML, OPF) is parsed without DTDs, entity declarations or
    external references (defusedxml), never expanded and never fetched; and within the size and depth limits.

    Raises :class:`LimitExceeded` (with ``unsafe-xml``, ``size_code`` or ``limit-nesting-depth``) for refused input
    and ``xml.etree.ElementTree.ParseError`` for malformed XML (the caller reports its own syntax code). Linear
    time: expat is not recursive and the depth is tracked from start/end events.
    """
    if len(data) > max_bytes:
        issue = check_size(len(data), max_bytes, what=what, code=size_code)
        assert issue is not None
        raise LimitExceeded(issue)
    m = _DOCTYPE.search(data)
    if m:
        ln = data.count(b"\n", 0, m.start()) + 1
        raise LimitExceeded(limit_issue(UNSAFE_XML, f"{what} declares a DTD or entities; refused, never expanded",
                                        line=ln))
    from xml.etree.ElementTree import XMLPullParser

    from defusedxml import DefusedXmlException
    from defusedxml.ElementTree import DefusedXMLParser

    parser = XMLPullParser(events=("start", "end"), _parser=DefusedXMLParser(
        forbid_dtd=True, forbid_entities=True, forbid_external=True))
    depth = 0
    root: Element | None = None
    step = 64 * KiB
    try:
        for at in range(0, max(len(data), 1), step):
            parser.feed(data[at:at + step])
            for ev in parser.read_events():
                event, elem = ev[0], cast("Element", ev[-1])
                if event == "start":
                    depth += 1
                    if root is None:
                        root = elem
                    if depth > MAX_NESTING_DEPTH:
                        raise LimitExceeded(limit_issue(
                            LIMIT_NESTING_DEPTH, f"{what} nests elements deeper than {MAX_NESTING_DEPTH}"))
                else:
                    depth -= 1
        parser.close()
        for ev in parser.read_events():
            if root is None and ev[0] == "start":
                root = cast("Element", ev[-1])
    except DefusedXmlException as exc:
        raise LimitExceeded(limit_issue(UNSAFE_XML, f"{what}: {exc}; refused, never expanded")) from None
    if root is None:  # pragma: no cover - close() raises for an empty document
        from xml.etree.ElementTree import ParseError

        raise ParseError("no element found")
    return root
