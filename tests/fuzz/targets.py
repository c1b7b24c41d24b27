"""Fuzz targets: one per parser, discovered at run time (spec/security.md#fuzzing).

A target is a function from bytes to an :class:`Outcome` that calls the public importer or validator. It is
skipped, with a reason, while its module is absent. ``check`` runs one input and returns the problems found:

* **crash**: an exception other than the documented ones escaped (the documented ones: none -- importers and the
  validator report bad input as issues);
* **invariant**: the result is not what the API promises (issues that are not coded ``Issue`` objects, a record
  that is not JSON);
* **fail-closed**: a permission came from an input the importer itself reported an error for
  (req-limit-fail-closed); with ``resolve=True`` the resolver is asked about every use, else the record is
  inspected for ``permit`` rules and given consent (cheap, for the long runs).

The corruption properties (truncations and byte flips of prohibiting seeds, oversized inputs) are stated in
``test_fuzz_bounded.py`` on top of ``outcomes``.
"""

from __future__ import annotations

import contextlib
import copy
import hashlib
import importlib
import io
import json
import os
import re
import traceback
import zlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from .seeds import (  # noqa: F401 - re-exported for other tests
    AITXT,
    AITXT_PROHIBIT,
    C2PA_JSON,
    FLICKR_ARR,
    FLICKR_JSON,
    FLICKR_TSV,
    HEADERS_PERMIT,
    HEADERS_PROHIBIT,
    HTML,
    JSONL_PROHIBIT,
    ODRL,
    ODRL_PROHIBIT,
    ROBOTS_MIXED,
    ROBOTS_PROHIBIT,
    RSL,
    RSL_PROHIBIT,
    TDMREP,
    TDMREP_RESERVED,
    XMP_ALLOWED,
    XMP_PLUS,
    XMP_PLUS_ELEMENT,
    _c2pa_seeds,
    _image_seeds,
    _jpeg_with_xmp,
    _pad_headers,
    _pad_json,
    _pad_robots,
    _pad_xmp,
    _png_with_xmp,
    _rich_seed_tokens,
    _tiff_with_xmp,
    _webp_with_xmp,
)

ROOT = Path(__file__).resolve().parents[2]
CORPUS = ROOT.parent / "shared" / "corpus"
REGRESSIONS = Path(__file__).resolve().parent / "regressions"
CONTEXT_IRI = "https://w3id.org/aiterms/context/v1.jsonld"
AT = "2026-06-01T00:00:00Z"
OBSERVED = "2026-01-01T00:00:00Z"
URL = "https://example.com/images/photo.jpg"
USER_AGENT = "ExampleBot/1.0"
PERMISSIVE = frozenset({"allowed", "constrained"})

FALLBACK_USES = (
    "data-mining", "ai-use", "ai-training", "genai-training", "non-genai-training", "computer-vision", "cv-training",
    "cv-evaluation", "ai-evaluation", "biometric", "face-recognition", "face-analysis", "ai-inference",
    "ai-indexing", "search-indexing", "dataset-redistribution",
)


@dataclass(frozen=True)
class Outcome:
    """What one call produced: all issues, and each record found with whether an error was reported about it
    (importers: any error for the input; the validator: an error in that document or JSONL line)."""

    issues: tuple[Any, ...]
    records: tuple[tuple[dict[str, Any], bool], ...]

    @property
    def has_error(self) -> bool:
        return any(_is_error(i) for i in self.issues)


def _is_error(i: Any) -> bool:
    return str(getattr(i, "severity", "")) == "error"


@dataclass(frozen=True)
class Target:
    name: str
    module: str  # must import for the target to run
    run: Callable[[Any, bytes, str], Outcome]  # (module, data, source name) -> Outcome
    seed_globs: tuple[str, ...] = ()  # relative to the corpus
    builtin: tuple[tuple[str, bytes], ...] = ()  # (source name, bytes)
    flip_safe: bool = False  # no permission is one byte away from a prohibition (see spec/security.md#fail-closed)
    default_name: str = "input"
    documented: tuple[type[BaseException], ...] = ()
    tokens: tuple[bytes, ...] = ()
    extra_seeds: Callable[[], list[tuple[str, bytes]]] | None = None
    oversize: Callable[[bytes], bytes] | None = None  # pads a seed past its limit, keeping its meaning
    #: Seeds whose text holds no permission at all (for formats that are not flip-safe, where a prefix of a file is
    #: itself a valid file, only such seeds are "prohibiting": a prefix of a file with shadowed permissions may
    #: legitimately permit).
    prohibiting: tuple[str, ...] = ()
    #: libFuzzer's ``-max_len`` under atheris (atheris_main.py): the longest input it generates; seeds are cut there.
    max_len: int = 256 * 1024

    @property
    def importer(self) -> bool:
        return self.run is run_importer or bool(getattr(self.run, "importer", False))

    def load(self) -> Any:
        """The target's module, or raise ``Skip`` with the reason it cannot run yet."""
        try:
            return importlib.import_module(self.module)
        except ModuleNotFoundError as exc:
            if exc.name and (self.module == exc.name or self.module.startswith(exc.name + ".")):
                raise Skip(f"{self.module} does not exist yet") from None
            raise

    def seeds(self) -> list[tuple[str, bytes]]:
        out: list[tuple[str, bytes]] = list(self.builtin)
        if CORPUS.is_dir():
            for pattern in self.seed_globs:
                for p in sorted(CORPUS.glob(pattern)):
                    if p.is_file() and p.stat().st_size <= 4 * 1024 * 1024:
                        out.append((p.name, p.read_bytes()))
        if self.extra_seeds is not None:
            with contextlib.suppress(Skip):
                out.extend(self.extra_seeds())
        seen: set[bytes] = set()
        unique = []
        for name, data in out:
            if data not in seen:
                seen.add(data)
                unique.append((name, data))
        return unique


class Skip(Exception):
    """A target (or a property) cannot run yet; the message says why."""


class FailClosed(Exception):
    """Raised by a target's run function when its output breaks the fail-closed property."""


class Invariant(Exception):
    """Raised by a target's run function when its output is not what the API promises; ``where`` names it."""

    def __init__(self, message: str, where: str) -> None:
        super().__init__(message)
        self.where = where


@dataclass(frozen=True)
class Pending:
    """A known problem reported to its owner (regressions/pending.txt): ``<target>/<file>.bin  <where>  <reason>``.

    While it is pending, bounded fuzz runs that find only problems of that target whose location contains
    ``where`` are expected failures, not failures; any other problem still fails."""

    case: str
    where: str
    reason: str

    @property
    def target(self) -> str:
        return self.case.split("/", 1)[0]


def pending() -> list[Pending]:
    path = REGRESSIONS / "pending.txt"
    if not path.is_file():
        return []
    out = []
    for raw in path.read_text("utf-8").splitlines():
        line = raw.strip()
        if line and not line.startswith("#"):
            parts = line.split(None, 2)
            out.append(Pending(parts[0], parts[1] if len(parts) > 1 else "", parts[2] if len(parts) > 2 else ""))
    return out


def known(problem: Problem) -> Pending | None:
    """The pending entry that accounts for ``problem``, if any."""
    for entry in pending():
        if entry.target == problem.target and entry.where and entry.where in problem.where:
            return entry
    return None


@dataclass
class Problem:
    kind: str  # crash | invariant | fail-closed
    target: str
    data: bytes
    summary: str
    detail: str = ""
    where: str = ""  # "module:line" of the innermost aiterms frame, for de-duplication
    name: str = ""  # the source name the input was given under (importers detect by it)

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.kind, self.summary.split(":")[0], self.where)

    def digest(self) -> str:
        return hashlib.sha1(self.data).hexdigest()[:12]


# ---------------------------------------------------------------------------------------------------------------------
# calling the code under test


def _issues(value: Any) -> tuple[Any, ...]:
    return tuple(value or ())


def run_importer(mod: Any, data: bytes, name: str) -> Outcome:
    result = mod.import_bytes(data, source_name=name, url=URL, user_agent=USER_AGENT, observed=OBSERVED)
    issues = _issues(getattr(result, "issues", ()))
    record = getattr(result, "record", None)
    if not isinstance(record, dict):
        return Outcome((*issues, _NotADict(record)), ())
    return Outcome(issues, ((record, any(_is_error(i) for i in issues)),))


def importer_at(url: str, user_agent: str = USER_AGENT) -> Callable[[Any, bytes, str], Outcome]:
    """An importer run for another URL (path matching is the interesting part of robots.txt and friends)."""

    def run(mod: Any, data: bytes, name: str) -> Outcome:
        result = mod.import_bytes(data, source_name=name, url=url, user_agent=user_agent, observed=OBSERVED)
        issues = _issues(getattr(result, "issues", ()))
        record = getattr(result, "record", None)
        if not isinstance(record, dict):
            return Outcome((*issues, _NotADict(record)), ())
        return Outcome(issues, ((record, any(_is_error(i) for i in issues)),))

    run.importer = True  # type: ignore[attr-defined]
    return run


LONG_URL = "https://example.com/" + "images/" * 40 + "a" * 300 + "/photo%20one.jpg?x=1&y=%2F"


class _NotADict:
    severity = "invariant"

    def __init__(self, value: Any) -> None:
        self.value = value


def _validator_run(fmt_name: str) -> Callable[[Any, bytes, str], Outcome]:
    def run(mod: Any, data: bytes, name: str) -> Outcome:
        parse = importlib.import_module("aiterms.parse")
        reports = mod.check_text(data, name=fmt_name)
        issues = tuple(i for r in reports for i in r.issues)
        docs = parse.load_bytes(data, name=fmt_name)
        records = tuple((d.value, not r.valid) for d, r in zip(docs, reports, strict=False)
                        if d.usable and isinstance(d.value, dict))
        return Outcome(issues, records)

    return run


def run_jsonl(mod: Any, data: bytes, name: str) -> Outcome:
    reports = [report for _line, report in mod.iter_jsonl(io.BytesIO(data))]
    parse = importlib.import_module("aiterms.parse")
    docs = list(parse.iter_jsonl(io.BytesIO(data)))
    records = tuple((d.value, not r.valid) for d, r in zip(docs, reports, strict=False)
                    if d.usable and isinstance(d.value, dict))
    return Outcome(tuple(i for r in reports for i in r.issues), records)


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def run_resolver_json(mod: Any, data: bytes, name: str) -> Outcome:
    """The resolver on any JSON object: it validates first and never raises for an invalid record. The record is
    "erroneous" when the validator finds an error in it (then req-resolve-fail-closed applies)."""
    try:
        value = json.loads(data, parse_constant=_no_constant)
    except (ValueError, RecursionError):
        return Outcome((), ())
    if not isinstance(value, dict):
        return Outcome((), ())
    validate = importlib.import_module("aiterms.validation")
    report = validate.check(value)
    return Outcome(tuple(report.issues), ((value, not report.valid),))


ANNOTATE_ARGS = ("--use", "cv-training", "--at", AT)
#: One input in this many (chosen from its bytes, so that a saved input replays the same way) also runs through the
#: whole command line: argument parsing, file reading, format detection, the worker plumbing, the atomic output.
CLI_EVERY = 64


def _takes_cli(data: bytes) -> bool:
    return zlib.crc32(data) % CLI_EVERY == 0


def _run_annotate(fmt: str) -> Callable[[Any, bytes, str], Outcome]:
    """``aiterms annotate`` on a manifest: no exception escapes; rows it marks allowed/constrained are valid records.

    Every input is annotated in process, on bytes in memory, with the engine the command uses (the manifest
    readers and writers and a :class:`~aiterms.dataset.decide.Worker`, as ``--workers 1`` runs them). One input in
    ``CLI_EVERY`` also runs through the command itself, whose output must be byte for byte the same.
    """

    def run(mod: Any, data: bytes, name: str) -> Outcome:
        output, issues = _annotate_in_process(fmt, data)
        if fmt == "jsonl" and _annotate_worker().kernel is not None:
            # spec/dataset.md#fast-path-key: the compiled kernel changes nothing, byte for byte
            python, python_issues = _annotate_in_process(fmt, data, kernel=False)
            if python != output or _issue_keys(python_issues) != _issue_keys(issues):
                raise Invariant(f"with the kernel annotate wrote {_head(output)}, without it {_head(python)}",
                                "annotate-kernel")
            deferred, deferred_issues = _annotate_in_process(fmt, data, defer=True)
            if deferred != output or _issue_keys(deferred_issues) != _issue_keys(issues):
                raise Invariant(f"with threads' deferred kernel annotate wrote {_head(deferred)}, with one kernel "
                                f"{_head(output)}", "annotate-kernel-defer")
        if _takes_cli(data):
            via_cli = _annotate_cli(fmt, data)
            if via_cli != output:
                raise Invariant(f"annotate in process wrote {_head(output)}, the command line {_head(via_cli)}",
                                "annotate-cli")
        if fmt == "jsonl" and output is not None:
            _check_annotated_jsonl(output, data)
        return Outcome(tuple(issues), ())

    return run


def _head(output: bytes | None) -> str:
    return "nothing" if output is None else f"{len(output)} bytes {output[:160]!r}"


@cache
def _annotate_worker() -> Any:
    """The engine of ``aiterms annotate --use cv-training --at AT``, built once (the query checked and fixed, the
    default column map, no store, the default cache size and issue limit)."""
    from aiterms.dataset.annotate import prepare_query
    from aiterms.dataset.columns import column_map
    from aiterms.dataset.decide import Options, Worker
    from aiterms.model import Query

    query = prepare_query(Query(use=ANNOTATE_ARGS[1], at=AT))
    return Worker(Options(query=query, columns=column_map(None, None, tag_separator=None, platform=None)))


def _fresh(obj: Any) -> Any:
    """A copy of a just-built object whose mutable state (memos, maps, lists) is its own."""
    new = copy.copy(obj)
    for key, value in vars(obj).items():
        if isinstance(value, dict | list | set):
            setattr(new, key, copy.copy(value))
    return new


def _fresh_worker(*, kernel: bool = True) -> Any:
    """A worker in the state of a newly built one, without building its query signer again (milliseconds): each
    input starts with empty caches and memos, so an input's outcome never depends on the inputs before it. The
    resolver is shared, as the command shares it between blocks (it is immutable after construction). With
    ``kernel`` false, the worker takes the Python path only (as without the compiled kernel)."""
    from aiterms.dataset.decide import Stats
    from aiterms.dataset.fastpath import DecisionCache
    from aiterms.dataset.kernel import KernelRunner

    template = _annotate_worker()
    w = _fresh(template)
    w.signer = _fresh(template.signer)
    w.cache = DecisionCache(template.cache.size)
    w.stats = Stats()
    w._touched = []
    w.kernel = KernelRunner(w) if kernel and template.kernel is not None else None
    return w


def _issue_keys(issues: list[Any]) -> list[tuple[Any, ...]]:
    return [(i.code, i.line, i.path, i.message) for i in issues]


def _annotate_in_process(fmt: str, data: bytes, *, kernel: bool = True,
                         defer: bool = False) -> tuple[bytes | None, list[Any]]:
    """The command's output for ``data`` (None when it writes none: a manifest it cannot read) and its issues,
    computed as ``aiterms.dataset.annotate.run`` does with one worker (``defer``: as its threads run the kernel with
    ``--workers N``). Text rows marked allowed or constrained must stand for valid records (the record is built
    again from the row and validated)."""
    from aiterms.dataset import manifest as M
    from aiterms.dataset._codes import MANIFEST_ROW_INVALID, dataset_issue

    w = _fresh_worker(kernel=kernel)
    if defer and w.kernel is not None:
        w.kernel.defer = True
    out = io.BytesIO()
    issues: list[Any] = []
    if fmt == M.JSONL:
        reader_issues: list[Any] = []
        for block in M.iter_jsonl_blocks(io.BytesIO(data), issues=reader_issues):
            chunk, st = w.jsonl_block(block.first_line, block.data)
            out.write(chunk)
            issues.extend(st.issues)
        return out.getvalue(), issues + reader_issues
    try:
        rows = M.TextRows(io.BytesIO(data), fmt, w.opts.columns, name=f"manifest.{fmt}")
    except M.ManifestError as exc:  # the command exits 2 with this issue and writes no output
        return None, [exc.issue]
    writer = M.TextWriter(out, fmt, rows.delimiter, rows.header, annotate=True, width=rows.width)
    validate = importlib.import_module("aiterms.validation")
    for batch in rows.batches():
        entries, st = w.rows(batch.first_line, batch.rows)
        for row, raw, line, e in zip(batch.rows, batch.raw, batch.lines, entries, strict=True):
            if row is None:
                issues.append(dataset_issue(MANIFEST_ROW_INVALID, rows.row_problem(raw), line=line))
            elif e.outcome in PERMISSIVE:
                record, _keys = w.record_of_row(row, w.opts.columns, line)
                if not validate.check(record).valid:
                    raise FailClosed(f"annotate marked row {line} {e.outcome!r}, but its record has errors: "
                                     f"{json.dumps(record)[:300]}")
            writer.write_row(raw, (e.outcome, M.OBLIGATION_SEPARATOR.join(e.obligations), e.reason))
        issues.extend(st.issues)
    writer.close()
    return out.getvalue(), issues


def _scratch() -> Any:
    """A temporary directory for one command-line run, in memory when the system has a tmpfs (the command fsyncs
    its output). One per run: libFuzzer ends the process without running exit handlers."""
    import tempfile

    shm = Path("/dev/shm")
    return tempfile.TemporaryDirectory(prefix="aiterms-fuzz-",
                                       dir=shm if shm.is_dir() and os.access(shm, os.W_OK) else None)


@cache
def _cli_parser() -> Any:
    from aiterms.cli import build_parser

    return build_parser()


def _annotate_cli(fmt: str, data: bytes) -> bytes | None:
    """``aiterms annotate`` itself on ``data`` in a file: its output file (None when it wrote none). It exits 0, 1
    or 2 and prints no traceback. The argument parser is built once; the rest is what ``aiterms.cli.run`` does."""
    from aiterms.cli import IO

    with _scratch() as tmp:
        src, out = Path(tmp) / f"manifest.{fmt}", Path(tmp) / f"out.{fmt}"
        src.write_bytes(data)
        err = io.StringIO()
        args = _cli_parser().parse_args(["annotate", str(src), *ANNOTATE_ARGS, "-q", "-o", str(out),
                                         "--input-format", fmt])
        code = args.func(args, IO(io.StringIO(), err, io.StringIO("")))
        if code not in (0, 1, 2):
            raise AssertionError(f"annotate exited {code}: {err.getvalue()[-500:]}")
        if "Traceback" in err.getvalue():
            raise AssertionError(f"annotate printed a traceback: {err.getvalue()[-800:]}")
        return out.read_bytes() if out.exists() else None


def _lines(data: bytes) -> list[bytes]:
    """The lines of JSON Lines text: they end at a newline only (a carriage return inside a line is whitespace)."""
    lines = data.split(b"\n")
    if lines[-1] == b"":
        lines.pop()
    return lines


def _check_annotated_jsonl(output: bytes, data: bytes) -> None:
    """annotate wrote one line per input line; each that is not blank is a JSON object; one marked allowed or
    constrained is a valid record. A line annotate could not add its fields to is wrapped (``aiterms_line``): a
    permission on it is right only if the input line was a valid record, and then the record itself belongs in the
    output (a separate problem, ``annotate-wrapped-record``)."""
    validate = importlib.import_module("aiterms.validation")
    written, read = _lines(output), _lines(data)
    if len(written) != len(read):
        raise Invariant(f"annotate wrote {len(written)} lines for {len(read)} input lines", "annotate-output")
    for n, (line, raw) in enumerate(zip(written, read, strict=True), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except RecursionError:
            continue  # nested too deeply for this check's own parser; annotate passed it through
        except ValueError:
            raise Invariant(f"annotate wrote line {n} that is not JSON: {line[:200]!r}", "annotate-output") from None
        if not isinstance(row, dict):
            raise Invariant(f"annotate wrote line {n} that is not an object", "annotate-output")
        outcome = row.pop("aiterms_outcome", None)
        row.pop("aiterms_obligations", None)
        row.pop("aiterms_reason", None)
        if outcome not in PERMISSIVE:
            continue
        if set(row) == {"aiterms_line"}:
            if all(r.valid for r in validate.check_text(raw, name="line.jsonl")):
                raise Invariant(f"annotate marked line {n} {outcome!r} and wrote the record as text (aiterms_line): "
                                f"{raw[:120]!r}", "annotate-wrapped-record")
            raise FailClosed(f"annotate marked line {n} {outcome!r}, but it is not a valid record: {raw[:200]!r}")
        if not validate.check(row).valid:
            raise FailClosed(f"annotate marked line {n} {outcome!r}, but the record has errors")


def run_containers(mod: Any, data: bytes, name: str) -> Outcome:
    """The image container reader on its own (documented exception: ContainerError, which carries an issue)."""
    try:
        info = mod.read(data)
    except mod.ContainerError as exc:
        return Outcome((exc.to_issue(),), ())
    return Outcome(tuple(info.issues), ())


EMBED_RECORD: dict[str, Any] = {
    "@context": CONTEXT_IRI, "type": "ImageRecord",
    "declarations": [{"declaredBy": {"role": "rights-holder", "id": "https://example.com"},
                      "rules": [{"effect": "prohibit", "use": "ai-training"}]}],
}


def run_embed(mod: Any, data: bytes, name: str) -> Outcome:
    """Embedding into any bytes: refused with EmbedError (documented), or an image that reads back."""
    try:
        result = mod.embed_bytes(data, EMBED_RECORD, force=True, at=None)
    except mod.EmbedError as exc:
        return Outcome(tuple(exc.issues), ())
    containers = importlib.import_module("aiterms.interop.containers")
    try:
        info = containers.read(result.data)
    except containers.ContainerError as exc:
        raise Invariant(f"embed wrote an image that does not read back: {exc}", "aiterms/embed.py") from None
    if not info.packets:
        raise Invariant("embed wrote an image without an XMP packet", "aiterms/embed.py")
    return Outcome(tuple(result.issues), ())


# ---------------------------------------------------------------------------------------------------------------------
# the resolver and the vocabulary


@cache
def uses() -> tuple[str, ...]:
    try:
        from aiterms.vocab import Vocabulary

        found = tuple(sorted(Vocabulary.bundled().schemes["use"]))
        return found or FALLBACK_USES
    except Exception:
        return FALLBACK_USES


def resolver() -> Callable[[dict[str, Any], str], str]:
    try:
        mod = importlib.import_module("aiterms.resolution")
    except ModuleNotFoundError as exc:
        raise Skip("aiterms.resolution does not exist yet") from exc
    from aiterms.model import Query

    def outcome(record: dict[str, Any], use: str) -> str:
        return str(mod.resolve(record, Query(use=use, at=AT)).outcome)

    return outcome


def complete(record: dict[str, Any]) -> dict[str, Any]:
    """A partial record from an importer made whole enough for the resolver (it validates it first)."""
    out: dict[str, Any] = {"@context": CONTEXT_IRI, "type": "ImageRecord"}
    out.update(record)
    return out


def outcomes(records: Iterable[dict[str, Any]], resolve: Callable[[dict[str, Any], str], str]) -> dict[str, str]:
    """The most permissive answer over ``records``, per use (a permission anywhere counts)."""
    rank = {"notAllowed": 0, "unspecified": 1, "constrained": 2, "allowed": 3}
    best: dict[str, str] = {}
    for record in records:
        full = complete(record)
        for use in uses():
            got = resolve(full, use)
            if use not in best or rank.get(got, 1) > rank.get(best[use], 1):
                best[use] = got
    return best


def permits_in(records: Iterable[dict[str, Any]]) -> list[str]:
    """JSON Pointers of ``permit`` rules and given consent in records (the cheap fail-closed check)."""
    found = []
    for ri, record in enumerate(records):
        decls = record.get("declarations") if isinstance(record, dict) else None
        if not isinstance(decls, list):
            continue
        for di, d in enumerate(decls):
            if not isinstance(d, dict):
                continue
            for key, positive in (("rules", ("effect", "permit")), ("consent", ("status", "given"))):
                items = d.get(key)
                if isinstance(items, list):
                    for i, r in enumerate(items):
                        if isinstance(r, dict) and r.get(positive[0]) == positive[1]:
                            found.append(f"record {ri}: /declarations/{di}/{key}/{i}")
    return found


# ---------------------------------------------------------------------------------------------------------------------
# one input


_KEBAB = re.compile(r"^[a-z0-9][a-z0-9.-]*$")


def _where(tb: Any) -> str:
    frames = traceback.extract_tb(tb)
    for f in reversed(frames):
        if "/aiterms/" in f.filename.replace("\\", "/"):
            rel = f.filename.replace("\\", "/").split("/aiterms/", 1)[1]
            return f"aiterms/{rel}:{f.lineno}"
    return f"{frames[-1].filename}:{frames[-1].lineno}" if frames else "?"


def invariants(outcome: Outcome) -> list[str]:
    from aiterms.report import Issue, Severity

    bad = []
    for i in outcome.issues:
        if isinstance(i, _NotADict):
            bad.append(f"record is not a dict: {type(i.value).__name__}")
            continue
        if not isinstance(i, Issue):
            bad.append(f"issue is not an Issue: {type(i).__name__}")
            continue
        if not isinstance(i.code, str) or not _KEBAB.match(i.code):
            bad.append(f"issue code is not a kebab-case string: {i.code!r}")
        if not isinstance(i.severity, Severity):
            bad.append(f"issue severity is not a Severity: {i.severity!r}")
        if not isinstance(i.path, str) or (i.path and not i.path.startswith("/")):
            bad.append(f"issue path is not a JSON Pointer: {i.path!r}")
        if i.line is not None and not (isinstance(i.line, int) and i.line >= 0):
            bad.append(f"issue line is not a line number: {i.line!r}")
    for r in outcome.records:
        try:
            json.dumps(r, allow_nan=False)
        except (TypeError, ValueError) as exc:
            bad.append(f"record is not JSON: {exc}")
        except RecursionError:
            bad.append("record is not JSON: nested too deeply to serialize")
    return bad


def check(target: Target, mod: Any, data: bytes, name: str, *,
          resolve: Callable[[dict[str, Any], str], str] | None = None) -> tuple[Outcome | None, list[Problem]]:
    """Run one input; return the outcome and every problem (crash, invariant, fail-closed under error)."""
    outcome, problems = _check(target, mod, data, name, resolve)
    for p in problems:
        p.name = name
    return outcome, problems


def _check(target: Target, mod: Any, data: bytes, name: str,
           resolve: Callable[[dict[str, Any], str], str] | None) -> tuple[Outcome | None, list[Problem]]:
    try:
        outcome = target.run(mod, data, name)
    except target.documented:
        return None, []
    except FailClosed as exc:
        return None, [Problem("fail-closed", target.name, data, str(exc)[:300], where=target.module)]
    except Invariant as exc:
        return None, [Problem("invariant", target.name, data, str(exc)[:300], where=exc.where)]
    except Exception as exc:
        tb = exc.__traceback__
        summary = f"{type(exc).__name__}: {str(exc)[:200]}"
        detail = "".join(traceback.format_exception(type(exc), exc, tb)[-12:])
        return None, [Problem("crash", target.name, data, summary, detail, _where(tb))]
    problems = [Problem("invariant", target.name, data, msg) for msg in invariants(outcome)]
    bad = [r for r, erroneous in outcome.records if erroneous]
    if not bad:
        return outcome, problems
    errors = [i.code for i in outcome.issues if _is_error(i)][:3]
    if resolve is not None:
        try:
            got = outcomes(bad, resolve)
        except Exception as exc:
            tb = exc.__traceback__
            problems.append(Problem("crash", "resolver", data, f"{type(exc).__name__}: {str(exc)[:200]}",
                                    "".join(traceback.format_exception(type(exc), exc, tb)[-12:]), _where(tb)))
            return outcome, problems
        permitted = sorted(u for u, o in got.items() if o in PERMISSIVE)
        if permitted:
            problems.append(Problem("fail-closed", target.name, data,
                                    f"error {errors} reported, yet {permitted} resolve to a permission"))
    elif target.importer:
        permits = permits_in(bad)
        if permits:
            problems.append(Problem("fail-closed", target.name, data,
                                    f"error {errors} reported, yet the imported record permits: {permits[:3]}"))
    return outcome, problems


# ---------------------------------------------------------------------------------------------------------------------
# built-in seeds (files the corpus lacks)


def _examples() -> list[tuple[str, bytes]]:
    folder = ROOT / "reference" / "aiterms" / "examples"
    return [(p.name, p.read_bytes()) for p in sorted(folder.glob("*.json"))]


def _conformance_documents() -> list[tuple[str, bytes]]:
    out = []
    for p in sorted((ROOT / "spec" / "conformance").glob("*/*.json")):
        try:
            case = json.loads(p.read_bytes())
        except ValueError:
            continue
        for key in ("document", "record"):
            if isinstance(case, dict) and isinstance(case.get(key), dict | list):
                out.append((p.name, json.dumps(case[key], indent=1).encode()))
    return out


def _records() -> list[tuple[str, bytes]]:
    return _examples() + _conformance_documents()[:40]


JSONL_SEED_LINES = 5


def _jsonl_seeds() -> list[tuple[str, bytes]]:
    """The records as JSON Lines files of a few lines each, and each record as a file of one line.

    Not one file of all records: the fuzzer mutates a line or two of an input and validates (or annotates) all its
    lines again, and libFuzzer grows its inputs to the longest seed; small seeds keep each input a few lines long.
    """
    lines = [json.dumps(json.loads(d)) for _n, d in _records()]
    chunks = [lines[i:i + JSONL_SEED_LINES] for i in range(0, len(lines), JSONL_SEED_LINES)]
    return [*((f"records-{i:02d}.jsonl", ("\n".join(c) + "\n").encode()) for i, c in enumerate(chunks)),
            *((f"record-{i:02d}.jsonl", (line + "\n").encode()) for i, line in enumerate(lines))]


#: The columns of the Openverse catalog's TSV output (openverse-catalog/example_output, which has no header row),
#: named as annotate finds them (photo_id, page_url, url, license, tags).
OPENVERSE_COLUMNS = ("photo_id", "page_url", "url", "thumbnail_url", "width", "height", "filesize", "license",
                     "license_version", "creator", "creator_url", "title", "meta_data", "tags", "watermarked",
                     "provider", "source")
MANIFEST_SEED_ROWS = 3


def _manifest_seeds(fmt: str) -> list[tuple[str, bytes]]:
    """The Openverse example rows under a header row, a few rows a file, as TSV or CSV: without a header annotate
    reads the first row as one and finds none of its columns (the corpus files themselves are seeds for that)."""
    import csv

    rows = []
    for p in sorted((CORPUS / "openverse-catalog" / "example_output").glob("*.tsv")):
        rows += [line.split("\t") for line in p.read_text("utf-8", "replace").splitlines() if line.strip()]
    out = []
    for i in range(0, len(rows), MANIFEST_SEED_ROWS):
        chunk = [OPENVERSE_COLUMNS, *rows[i:i + MANIFEST_SEED_ROWS]]
        text = io.StringIO()
        if fmt == "tsv":
            text.write("".join("\t".join(r) + "\n" for r in chunk))
        else:
            csv.writer(text, lineterminator="\n").writerows(chunk)
        out.append((f"openverse-{i // MANIFEST_SEED_ROWS:02d}.{fmt}", text.getvalue().encode()))
    return out


def _graph_seeds(fmt: str) -> list[tuple[str, bytes]]:
    """The examples as non-canonical JSON-LD (expanded, through rdflib) or Turtle."""
    try:
        parse = importlib.import_module("aiterms.parse")
    except ModuleNotFoundError as exc:
        raise Skip("aiterms.parse does not exist yet") from exc
    out = []
    for name, data in _examples():
        try:
            graph = parse.graph_from_jsonld(json.loads(data))
            text = graph.serialize(format="json-ld" if fmt == "jsonld" else "turtle")
        except Exception:
            continue
        out.append((name.replace(".json", ".jsonld" if fmt == "jsonld" else ".ttl"),
                    text.encode() if isinstance(text, str) else text))
    return out


#: ``-max_len`` of the targets that read signed assets with c2pa-python. The reader spends milliseconds on each
#: manifest it verifies (certificate chains, timestamps, identity assertions), and most mutants of the corpus's
#: signed JPEGs (130-250 KB, with manifests of 45-190 KB) keep their manifests: at full length they would make
#: most inputs that slow. The small signed seeds (seeds._signed_seeds) hold whole, valid manifests; cut at 64 KiB,
#: C.jpg and C_with_CAWG_data.jpg keep theirs (without all of their image data, so the hard binding fails) and
#: the two largest are cut inside theirs. The bounded tests read every seed whole; ``-max_len=262144`` on the
#: command line does too.
SIGNED_MAX_LEN = 64 * 1024


def _i(family: str) -> str:
    return f"aiterms.interop.{family}"


TARGETS: tuple[Target, ...] = (
    Target("json", "aiterms.validation", _validator_run("record.json"), ("openverse-catalog/flickr/*.json",),
           extra_seeds=_records, flip_safe=True, default_name="record.json", oversize=_pad_json),
    Target("jsonl", "aiterms.validation", run_jsonl, (), builtin=(("prohibit.jsonl", JSONL_PROHIBIT),),
           extra_seeds=_jsonl_seeds, flip_safe=True,
           default_name="records.jsonl"),
    Target("jsonld", "aiterms.validation", _validator_run("record.jsonld"), ("w3c-poe/vocab/examples/*.json",),
           extra_seeds=lambda: _graph_seeds("jsonld"), flip_safe=True, default_name="record.jsonld"),
    Target("turtle", "aiterms.validation", _validator_run("record.ttl"), ("w3c-poe/vocab/examples/*.ttl",),
           extra_seeds=lambda: _graph_seeds("turtle"), flip_safe=True, default_name="record.ttl"),
    Target("resolver", "aiterms.resolution", run_resolver_json, (), extra_seeds=_records, flip_safe=True,
           default_name="record.json"),
    Target("xmp", _i("xmp"), run_importer, ("exiftool/*.xmp", "w3c-tdmrep/spec/extracted-examples/*.xmp.rdf"),
           builtin=(("plus.xmp", XMP_PLUS), ("plus-element.xmp", XMP_PLUS_ELEMENT), ("allowed.xmp", XMP_ALLOWED)),
           flip_safe=True, default_name="photo.xmp", tokens=_rich_seed_tokens(), oversize=_pad_xmp),
    Target("image", _i("image"), run_importer, ("sinfin-folio/metadata_test_images/*", "c2pa-rs/*.jpg"),
           extra_seeds=lambda: _image_seeds() + _c2pa_seeds(), flip_safe=True, default_name="photo.jpg",
           tokens=_rich_seed_tokens(), max_len=SIGNED_MAX_LEN),
    Target("containers", _i("containers"), run_containers, ("sinfin-folio/metadata_test_images/*", "c2pa-rs/*.jpg"),
           extra_seeds=_image_seeds, default_name="photo.jpg", tokens=_rich_seed_tokens()),
    Target("embed", "aiterms.embedding", run_embed, ("sinfin-folio/metadata_test_images/*.jpg", "c2pa-rs/C.jpg"),
           extra_seeds=_image_seeds, default_name="photo.jpg"),
    Target("c2pa", _i("c2pa"), run_importer, ("c2pa-rs/*.jpg", "c2pa-rs/*.json"),
           builtin=(("manifest.json", C2PA_JSON),), extra_seeds=_c2pa_seeds, flip_safe=True,
           default_name="manifest.json", max_len=SIGNED_MAX_LEN),
    Target("robots", _i("robots"), run_importer,
           ("**/*robots.txt",), builtin=(("robots.txt", ROBOTS_PROHIBIT), ("mixed-robots.txt", ROBOTS_MIXED)),
           default_name="robots.txt", prohibiting=("robots.txt",), oversize=_pad_robots),
    Target("robots-long-url", _i("robots"), importer_at(LONG_URL, "ExampleBot"), ("**/*robots.txt",),
           builtin=(("robots.txt", ROBOTS_PROHIBIT), ("mixed-robots.txt", ROBOTS_MIXED),
                    ("wild-robots.txt", b"User-agent: *\nDisallow: /*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*ab$\n"
                                        b"Content-Usage: /images/*/*/*a$ train-ai=n\nAllow: /*%2F*\n")),
           default_name="robots.txt", prohibiting=("robots.txt",),
           tokens=(b"*", b"$", b"*a", b"/images/", b"%2F", b"%", b"?")),
    Target("aitxt-long-url", _i("aitxt"), importer_at(LONG_URL), ("**/ai.txt",),
           builtin=(("ai.txt", AITXT), ("wild-ai.txt", b"User-Agent: *\nDisallow: *a*a*a*a*a*a*a*a*a*a*a*a*.jpg\n")),
           default_name="ai.txt", tokens=(b"*", b"$", b"*a", b".jpg")),
    Target("tdmrep-long-url", _i("tdmrep"), importer_at(LONG_URL), (),
           builtin=(("tdmrep.json", b'[{"location": "/images/*a*a*a*a*a*a*a*a*a*a*a*a*b", "tdm-reservation": 1}]'),),
           default_name="tdmrep.json", tokens=(b"*", b"$", b"*a")),
    Target("http-headers", _i("httpheaders"), run_importer, ("**/*.http", "healsdata-ai-training-opt-out/headers.txt"),
           builtin=(("headers.txt", HEADERS_PROHIBIT), ("permit-headers.txt", HEADERS_PERMIT)),
           default_name="headers.txt", prohibiting=("headers.txt",), oversize=_pad_headers),
    Target("tdmrep", _i("tdmrep"), run_importer, ("w3c-tdmrep/spec/extracted-examples/*.json", "**/tdmrep.json",
                                                   "w3c-tdmrep/files/tdmrep.jsonld"),
           builtin=(("tdmrep.json", TDMREP), ("reserved-tdmrep.json", TDMREP_RESERVED)),
           default_name="tdmrep.json", prohibiting=("reserved-tdmrep.json",)),
    Target("aitxt", _i("aitxt"), run_importer, ("**/ai.txt",),
           builtin=(("ai.txt", AITXT), ("prohibit-ai.txt", AITXT_PROHIBIT)), default_name="ai.txt",
           prohibiting=("prohibit-ai.txt",)),
    Target("html", _i("html"), run_importer, ("**/*.html",), builtin=(("page.html", HTML),), default_name="page.html",
           prohibiting=("page.html",)),
    Target("rsl", _i("rsl"), run_importer, (), builtin=(("rsl.xml", RSL), ("prohibit-rsl.xml", RSL_PROHIBIT)),
           flip_safe=True, default_name="rsl.xml"),
    Target("odrl", _i("odrl"), run_importer, ("w3c-poe/vocab/examples/*", "w3c-poe/model/extracted-examples/*.json",
                                               "w3c-odrl/bp/license/*/*.ttl"),
           builtin=(("policy.json", ODRL), ("prohibit-policy.json", ODRL_PROHIBIT)), flip_safe=True,
           default_name="policy.json"),
    Target("flickr-json", _i("flickr"), run_importer, ("openverse-catalog/flickr/*.json",),
           builtin=(("photo.json", FLICKR_JSON), ("arr-photo.json", FLICKR_ARR)), default_name="photo.json",
           prohibiting=("arr-photo.json",)),
    Target("flickr-tsv", _i("flickr"), run_importer, ("openverse-catalog/example_output/*.tsv",),
           builtin=(("photos.tsv", FLICKR_TSV), ("photos.csv", FLICKR_TSV.replace(b"\t", b","))),
           default_name="photos.tsv"),
    Target("dataset-jsonl", "aiterms.cli._annotate", _run_annotate("jsonl"), (), builtin=(
        ("prohibit.jsonl", JSONL_PROHIBIT),), extra_seeds=_jsonl_seeds, default_name="manifest.jsonl"),
    Target("dataset-csv", "aiterms.cli._annotate", _run_annotate("csv"), ("openverse-catalog/example_output/*.tsv",),
           builtin=(("photos.csv", FLICKR_TSV.replace(b"\t", b",")),), extra_seeds=lambda: _manifest_seeds("csv"),
           default_name="manifest.csv"),
    Target("dataset-tsv", "aiterms.cli._annotate", _run_annotate("tsv"), ("openverse-catalog/example_output/*.tsv",),
           builtin=(("photos.tsv", FLICKR_TSV),), extra_seeds=lambda: _manifest_seeds("tsv"),
           default_name="manifest.tsv"),
    Target("cclicense", _i("cclicense"), run_importer, (),
           builtin=(("license.txt", b"https://creativecommons.org/licenses/by-nc/4.0/\n"),),
           default_name="license.txt"),
)

BY_NAME = {t.name: t for t in TARGETS}


def discovered() -> list[Target]:
    """Importers registered in aiterms.interop.registry that no target above covers (fuzzed with defaults, seeded
    with the corpus files their own ``detect`` claims)."""
    try:
        registry = importlib.import_module("aiterms.interop.registry")
    except ModuleNotFoundError:
        return []
    covered = {t.module for t in TARGETS}
    extra = []
    names = [str(n) if isinstance(n, str) else getattr(n, "__name__", "") for n in getattr(registry, "IMPORTERS", ())]
    for name in names:
        full = name if "." in name else f"aiterms.interop.{name}"
        if not full or full in covered:
            continue
        covered.add(full)
        kind = full.rsplit(".", 1)[-1]
        extra.append(Target(f"importer-{kind}", full, run_importer, ("**/*",), default_name=f"input.{kind}"))
    return extra


def all_targets() -> list[Target]:
    return [*TARGETS, *discovered()]


def detected_seeds(target: Target, mod: Any, limit: int = 64) -> list[tuple[str, bytes]]:
    """Corpus files the importer's own ``detect`` claims (for discovered targets with the catch-all glob)."""
    out = []
    detect = getattr(mod, "detect", None)
    for name, data in target.seeds():
        try:
            if detect is None or detect(name, data[:65536]):
                out.append((name, data))
        except Exception:
            out.append((name, data))
        if len(out) >= limit:
            break
    return out or target.seeds()[:limit]


__all__ = ["BY_NAME", "PERMISSIVE", "TARGETS", "Outcome", "Problem", "Skip", "Target", "all_targets", "check",
           "complete", "outcomes", "resolver", "uses"]
