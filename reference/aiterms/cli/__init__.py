"""The ``aiterms`` command line (README "Commands").

Each command lives in ``aiterms/cli/_<name>.py`` with ``register(sub)`` (argparse only, no heavy imports) and
``run(args, io) -> int``. Exit codes: 0 done/valid, 1 invalid input or findings, 2 usage or unreadable input.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from dataclasses import dataclass
from typing import TextIO

COMMANDS = ("uses", "tags", "validate", "check", "import", "export", "annotate", "filter", "store", "diff", "embed")

EXIT_OK = 0
EXIT_FINDINGS = 1
EXIT_USAGE = 2


@dataclass
class IO:
    stdout: TextIO
    stderr: TextIO
    stdin: TextIO


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        # argparse's own exit code for usage errors is 2, which is also ours; keep its message, add a hint.
        self.print_usage(sys.stderr)
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message}\nTry '{self.prog} --help'.\n")


def add_trust_anchors(p: argparse.ArgumentParser) -> None:
    p.add_argument("--trust-anchors", dest="trust_anchors", metavar="PEM",
                   help="PEM file of certificates to trust as C2PA claim signers (besides none: without it every "
                   "signer is reported untrusted); read locally, nothing is fetched")


def read_trust_anchors(path: str | None) -> str | None:
    """The PEM text of ``--trust-anchors`` (None when not given); ValueError says why it cannot be used."""
    if path is None:
        return None
    from aiterms._io import InputTooLarge, read_bytes

    try:
        data = read_bytes(path, limit=1 << 20)
    except (OSError, InputTooLarge) as exc:
        raise ValueError(f"--trust-anchors {path}: cannot read: {getattr(exc, 'strerror', None) or exc}") from exc
    text = data.decode("ascii", "replace")
    if "-----BEGIN CERTIFICATE-----" not in text:
        raise ValueError(f"--trust-anchors {path}: no PEM certificate (-----BEGIN CERTIFICATE-----) in it")
    return text


def add_format(p: argparse.ArgumentParser) -> None:
    p.add_argument("--format", choices=("text", "json"), default="text", help="output format (default: text)")


class _Version(argparse.Action):
    """``--version`` that reads the installed version only when asked (keeps startup fast)."""

    def __init__(self, option_strings: list[str], dest: str = argparse.SUPPRESS, **kwargs: object) -> None:
        super().__init__(option_strings, dest, nargs=0, help="show the version and exit")

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace, values: object,
                 option_string: str | None = None) -> None:
        import aiterms

        parser.exit(0, f"aiterms {aiterms.__version__}\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="aiterms",
        description="Machine-readable AI-usage terms for images: validate records, answer 'may I use this "
        "image for this use?', import and export every existing signal.",
        epilog="Exit codes: 0 done/valid, 1 invalid input or findings, 2 usage error or unreadable input.",
    )
    parser.add_argument("--version", action=_Version)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for name in COMMANDS:
        try:
            module = importlib.import_module(f"aiterms.cli._{name.replace('-', '_')}")
        except ModuleNotFoundError as exc:
            if exc.name != f"aiterms.cli._{name}":
                raise
            continue
        module.register(sub)
    return parser


def run(argv: list[str] | None = None, *, stdout: TextIO | None = None, stderr: TextIO | None = None,
        stdin: TextIO | None = None) -> int:
    io = IO(stdout or sys.stdout, stderr or sys.stderr, stdin or sys.stdin)
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:
        return int(exc.code) if isinstance(exc.code, int) else EXIT_USAGE
    if not getattr(args, "func", None):
        parser.print_help(io.stdout)
        return EXIT_USAGE
    try:
        return int(args.func(args, io))
    except BrokenPipeError:
        return EXIT_OK
    except KeyboardInterrupt:
        io.stderr.write("aiterms: interrupted\n")
        return 130


def main(argv: list[str] | None = None) -> None:
    sys.exit(run(argv))
