"""``aiterms validate PATH... [--strict] [--format text|json]`` (spec/validation.md#cli).

Validates records in JSON, JSON-LD, JSON Lines and Turtle files, directories (every ``*.json``, ``*.jsonld``,
``*.jsonl``, ``*.ndjson`` and ``*.ttl`` inside, sorted) and standard input (``-``). JSON Lines is streamed one
line at a time: memory stays constant and a bad line never stops the lines after it.

Exit codes: 0 every document valid, 1 at least one invalid document, 2 usage error or an input that cannot be
read at all.

Output (``--format json``) is JSON Lines: one object per document, ``{"path", "valid", "issues"}`` (plus
``"line"`` for a JSON Lines record), and after each JSON Lines input a summary
``{"path", "summary": {"documents", "valid", "invalid"}}``.
"""

from __future__ import annotations

import argparse
import json
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import IO as BinaryIO
from typing import Any

from aiterms.cli import EXIT_FINDINGS, EXIT_OK, EXIT_USAGE, IO, add_format
from aiterms.report import Issue, Report, issue

SUFFIXES = (".json", ".jsonld", ".jsonl", ".ndjson", ".ttl")


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser(
        "validate",
        help="validate records (JSON, JSON-LD, JSON Lines, Turtle)",
        description="Check records layer by layer: syntax, JSON Schema, JSON-LD context, meaning. "
        "A directory is searched for *.json, *.jsonld, *.jsonl, *.ndjson and *.ttl files; '-' reads standard input.",
        epilog="Exit codes: 0 all valid, 1 at least one invalid document, 2 usage error or unreadable input.",
    )
    p.add_argument("paths", nargs="+", metavar="PATH", help="file, directory, or '-' for standard input")
    p.add_argument("--strict", action="store_true", help="report unregistered tags as errors, not warnings")
    add_format(p)
    p.set_defaults(func=run)


@dataclass
class _Tally:
    exit: int = EXIT_OK
    documents: int = 0
    invalid: int = 0
    unreadable: int = 0
    files: list[str] = field(default_factory=list)

    def add(self, report: Report) -> None:
        self.documents += 1
        if not report.valid:
            self.invalid += 1
            self.exit = max(self.exit, EXIT_FINDINGS)


def _expand(paths: Iterable[str]) -> Iterator[str]:
    for path in paths:
        if path != "-" and os.path.isdir(path):
            found: list[str] = []
            for root, dirs, names in os.walk(path, followlinks=False):
                dirs[:] = sorted(d for d in dirs if not d.startswith("."))
                found.extend(os.path.join(root, n) for n in names if n.lower().endswith(SUFFIXES))
            yield from sorted(found)
        else:
            yield path


class _Out:
    def __init__(self, io: IO, fmt: str) -> None:
        self.io, self.json = io, fmt == "json"

    def document(self, name: str, report: Report, line: int | None = None, *, quiet_valid: bool = False) -> None:
        if line is not None and report.issues:  # a JSON Lines record: every issue is on that line
            report = Report(tuple(i if i.line is not None else i.located(line) for i in report.issues))
        if self.json:
            obj: dict[str, Any] = {"path": name}
            if line is not None:
                obj["line"] = line
            obj.update(report.to_json())
            self.io.stdout.write(json.dumps(obj, ensure_ascii=False) + "\n")
            return
        for i in report.issues:
            self.io.stdout.write(_text(name, i) + "\n")
        if not quiet_valid and report.valid:
            warn = len(report.warnings)
            self.io.stdout.write(f"{name}: valid" + (f" ({warn} warning{'s' * (warn != 1)})" if warn else "") + "\n")

    def summary(self, name: str, documents: int, invalid: int) -> None:
        if self.json:
            self.io.stdout.write(json.dumps({"path": name, "summary": {
                "documents": documents, "valid": documents - invalid, "invalid": invalid}}) + "\n")
        else:
            self.io.stdout.write(f"{name}: {documents} record{'s' * (documents != 1)}, "
                                 f"{documents - invalid} valid, {invalid} invalid\n")


def _text(name: str, i: Issue) -> str:
    text = i.to_text()
    return f"{name} {text}" if i.line is not None else f"{name}: {text}"


def _unreadable(out: _Out, tally: _Tally, name: str, why: str) -> None:
    report = Report((issue("input-unreadable", f"cannot read {name}: {why}", ""),))
    tally.unreadable += 1
    tally.exit = EXIT_USAGE
    out.document(name, report)


def _jsonl(out: _Out, tally: _Tally, name: str, lines: Any, strict: bool) -> None:
    from aiterms.validation import iter_jsonl

    documents = invalid = 0
    for n, report in iter_jsonl(lines, strict=strict):
        documents += 1
        if not report.valid:
            invalid += 1
        tally.add(report)
        out.document(name, report, n, quiet_valid=True)
    out.summary(name, documents, invalid)


def _whole(out: _Out, tally: _Tally, name: str, data: bytes, strict: bool) -> None:
    from aiterms import parse
    from aiterms.validation import check_text

    fmt = parse.detect_format(name if name != "-" else None, data[:4096])
    if fmt == parse.JSONL:
        _jsonl(out, tally, name, _split_lines(data), strict)
        return
    reports = check_text(data, name=name, strict=strict, format=fmt)
    for r in reports:
        tally.add(r)
        out.document(name, r)


def _split_lines(data: bytes) -> Iterator[bytes]:
    start = 0
    while start < len(data):
        end = data.find(b"\n", start)
        if end < 0:
            yield data[start:]
            return
        yield data[start:end + 1]
        start = end + 1


def _stdin_bytes(io: IO) -> BinaryIO[bytes]:
    buffer = getattr(io.stdin, "buffer", None)
    if buffer is not None:
        return buffer  # type: ignore[no-any-return]
    import io as io_mod

    return io_mod.BytesIO(io.stdin.read().encode("utf-8", "surrogatepass"))


def _stdin(out: _Out, tally: _Tally, strict: bool, io: IO) -> None:
    from aiterms import parse
    from aiterms._io import DEFAULT_MAX_INPUT

    stream = _stdin_bytes(io)
    first = stream.readline(parse.MAX_LINE + 1)
    second = stream.readline(parse.MAX_LINE + 1) if first.endswith(b"\n") else b""
    if second.strip() and parse.detect_format(None, first + second) == parse.JSONL:
        _jsonl(out, tally, "-", _Prepend([first, second], stream), strict)
        return
    data = first + second + stream.read(DEFAULT_MAX_INPUT + 1)
    if len(data) > DEFAULT_MAX_INPUT:
        _unreadable(out, tally, "-", f"larger than the {DEFAULT_MAX_INPUT} byte input limit")
        return
    _whole(out, tally, "-", data, strict)


class _Prepend:
    """A binary stream whose first lines were already read (to detect the format): replays them, then reads on."""

    def __init__(self, head: list[bytes], stream: BinaryIO[bytes]) -> None:
        self.head, self.stream = head, stream

    def readline(self, limit: int = -1) -> bytes:
        if self.head:
            return self.head.pop(0)
        return self.stream.readline(limit)


def run(args: argparse.Namespace, io: IO) -> int:
    from aiterms._io import InputTooLarge, read_bytes

    out = _Out(io, args.format)
    tally = _Tally()
    for name in _expand(args.paths):
        if name == "-":
            _stdin(out, tally, args.strict, io)
            continue
        if name.lower().endswith((".jsonl", ".ndjson")):
            try:
                with open(name, "rb") as fh:
                    _jsonl(out, tally, name, fh, args.strict)
            except OSError as exc:
                _unreadable(out, tally, name, exc.strerror or str(exc))
            continue
        try:
            data = read_bytes(name)
        except InputTooLarge as exc:
            _unreadable(out, tally, name, f"larger than the {exc.limit} byte input limit")
            continue
        except OSError as exc:
            _unreadable(out, tally, name, exc.strerror or str(exc))
            continue
        _whole(out, tally, name, data, args.strict)
    if tally.documents == 0 and tally.unreadable == 0:
        io.stderr.write("aiterms validate: no records found in " + ", ".join(args.paths) + "\n")
        return EXIT_USAGE
    return tally.exit
