"""No code path touches the network (spec/security.md#req-no-network).

1. ``test_cli_same_without_network``: the command line runs over every file in ../shared/corpus (``aiterms import``
   with kind detection, ``aiterms check --use ai-training``, and ``aiterms validate`` for JSON, JSON-LD and Turtle),
   once normally and once inside a network namespace that has no network at all (``unshare -rn``, or
   ``unshare -n`` as root). The outputs must be identical. The normal run also has the socket guard below, so that
   an attempt fails the test instead of reaching anything.
2. ``test_no_connection_attempted``: in this process, with ``socket.socket.connect``, ``create_connection``,
   ``getaddrinfo`` and friends replaced by functions that record the call and refuse it, the whole conformance
   suite and every importer over every corpus file run, and nothing tries to connect.

Run as a script (``python tests/test_no_network.py --sweep``) it prints the sweep's JSON; the test uses that.
"""

from __future__ import annotations

import contextlib
import errno
import io
import json
import os
import re
import shutil
import socket
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT.parent / "shared" / "corpus"
URL = "https://example.com/images/photo.jpg"
AT = "2026-06-01T00:00:00Z"
VALIDATE_SUFFIXES = (".json", ".jsonld", ".ttl")


# ---------------------------------------------------------------------------------------------------------------------
# the guard


class NetworkAttempt(OSError):
    pass


@contextlib.contextmanager
def refuse_network() -> Iterator[list[str]]:
    """Replace every way Python code opens a connection or resolves a name by one that records and refuses."""
    attempts: list[str] = []

    def refuse(what: str) -> Any:
        def fn(*args: Any, **kwargs: Any) -> Any:
            shown = ", ".join(repr(a) for a in args[1:3] if not isinstance(a, socket.socket)) or repr(args[:1])
            attempts.append(f"{what}({shown})")
            raise NetworkAttempt(errno.ENETUNREACH, f"network access refused in tests: {what}")

        return fn

    saved: list[tuple[Any, str, Any]] = []
    patches = [(socket.socket, "connect"), (socket.socket, "connect_ex"), (socket.socket, "sendto"),
               (socket, "create_connection"), (socket, "getaddrinfo"), (socket, "gethostbyname"),
               (socket, "gethostbyname_ex"), (socket, "gethostbyaddr"), (socket, "getnameinfo")]
    for owner, name in patches:
        saved.append((owner, name, getattr(owner, name)))
        setattr(owner, name, refuse(f"{getattr(owner, '__name__', owner)}.{name}"))
    try:
        yield attempts
    finally:
        for owner, name, original in saved:
            setattr(owner, name, original)


# ---------------------------------------------------------------------------------------------------------------------
# the sweep


def corpus_files() -> list[Path]:
    return sorted(p for p in CORPUS.rglob("*") if p.is_file())


def _cli(argv: list[str]) -> dict[str, Any]:
    from aiterms.cli import run

    out, err = io.StringIO(), io.StringIO()
    try:
        code = run(argv, stdout=out, stderr=err, stdin=io.StringIO(""))
    except SystemExit as exc:  # a command that calls sys.exit itself
        code = exc.code if isinstance(exc.code, int) else 2
    except Exception as exc:  # reported, and compared like any output
        code = -1
        err.write(f"uncaught {type(exc).__name__}: {exc}")
    return {"exit": code, "stdout": out.getvalue(), "stderr": err.getvalue()}


_STAMP = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:\d{2})?")


def _normalize(text: str) -> str:
    """Make two runs comparable: the corpus path, temporary names and 'now' time stamps differ between runs."""
    now = datetime.now(UTC)

    def stamp(m: re.Match[str]) -> str:
        try:
            when = datetime.fromisoformat(m.group().replace("Z", "+00:00"))
        except ValueError:
            return m.group()
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        return "<now>" if abs(when - now) < timedelta(days=1) else m.group()

    text = text.replace(str(CORPUS), "<corpus>").replace(str(CORPUS.resolve()), "<corpus>")
    text = re.sub(r"aiterms-[a-z]+-[A-Za-z0-9_]{6,}", "<tmp>", text)
    return _STAMP.sub(stamp, text)


def loopback_usable() -> bool:
    """Whether this process has a usable network stack (a UDP 'connect' to loopback sends nothing)."""
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.connect(("127.0.0.1", 9))
        return True
    except OSError:
        return False


def sweep(files: list[Path] | None = None) -> dict[str, Any]:
    network = loopback_usable()
    results: dict[str, Any] = {}
    with refuse_network() as attempts:
        for path in files if files is not None else corpus_files():
            rel = str(path.relative_to(CORPUS)) if path.is_relative_to(CORPUS) else str(path)
            entry = {
                "import": _cli(["import", str(path), "--url", URL, "--format", "json"]),
                "check": _cli(["check", str(path), "--use", "ai-training", "--url", URL, "--at", AT,
                               "--format", "json"]),
            }
            if path.suffix.lower() in VALIDATE_SUFFIXES:
                entry["validate"] = _cli(["validate", str(path), "--format", "json"])
            results[rel] = {k: {**v, "stdout": _normalize(v["stdout"]), "stderr": _normalize(v["stderr"])}
                            for k, v in entry.items()}
    return {"network": network, "attempts": attempts, "results": results}


# ---------------------------------------------------------------------------------------------------------------------
# tests


def _need_corpus() -> None:
    if not CORPUS.is_dir():
        pytest.skip("../shared/corpus absent")


def _need_cli() -> None:
    import importlib.util

    missing = [c for c in ("import", "check", "validate") if importlib.util.find_spec(f"aiterms.cli._{c}") is None]
    if missing:
        pytest.skip(f"commands not available yet: {missing}")


def _unshare_prefix() -> list[str] | None:
    exe = shutil.which("unshare")
    if exe is None:
        return None
    for prefix in ([exe, "-rn"], [exe, "-n"]):
        try:
            ok = subprocess.run([*prefix, "true"], capture_output=True, timeout=20, check=False).returncode == 0
        except (OSError, subprocess.TimeoutExpired):
            ok = False
        if ok:
            return prefix
    return None


def _run_sweep(prefix: list[str]) -> dict[str, Any]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HTTP_PROXY", "HTTPS_PROXY", "http_proxy",
                                                                     "https_proxy", "ALL_PROXY", "all_proxy"))}
    proc = subprocess.run([*prefix, sys.executable, str(Path(__file__).resolve()), "--sweep"], capture_output=True,
                          timeout=900, check=False, cwd=str(ROOT), env=env)
    assert proc.returncode == 0, proc.stderr.decode("utf-8", "replace")[-4000:]
    result: dict[str, Any] = json.loads(proc.stdout)
    return result


@pytest.mark.slow
def test_cli_same_without_network() -> None:
    """req-no-network: every command gives the same output with and without a network."""
    _need_corpus()
    _need_cli()
    prefix = _unshare_prefix()
    if prefix is None:
        pytest.skip("unshare -n / -rn is not available here (no network namespaces)")
    normal = _run_sweep([])
    isolated = _run_sweep(prefix)
    assert not isolated["network"], "the namespace still has a network; the comparison would prove nothing"
    assert normal["attempts"] == [], f"network access attempted: {normal['attempts'][:10]}"
    assert isolated["attempts"] == [], f"network access attempted: {isolated['attempts'][:10]}"
    assert normal["results"].keys() == isolated["results"].keys()
    differ = [(f, cmd) for f, cmds in normal["results"].items() for cmd in cmds
              if cmds[cmd] != isolated["results"][f][cmd]]
    assert not differ, f"{len(differ)} outputs differ without a network, e.g. {differ[:5]}"
    crashed = [(f, cmd, r["stderr"][-300:]) for f, cmds in normal["results"].items() for cmd, r in cmds.items()
               if r["exit"] not in (0, 1, 2)]
    assert not crashed, f"commands that did not finish with exit 0/1/2: {crashed[:5]}"


def _conformance_cases() -> Iterator[tuple[str, dict[str, Any]]]:
    for path in sorted((ROOT / "spec" / "conformance").glob("*/*.json")):
        with contextlib.suppress(ValueError):
            yield path.parent.name, json.loads(path.read_bytes())


def _interop_case(case: dict[str, Any]) -> int:
    """Run one importer or exporter conformance case through the registry (results are checked elsewhere)."""
    import base64

    from aiterms.interop import registry

    if case.get("class") == "exporter":
        exporter = registry.exporter_for(str(case.get("target", "")))
        if exporter is None or not isinstance(case.get("record"), dict):
            return 0
        exporter.export(case["record"])
        return 1
    if isinstance(case.get("input"), str):
        data = case["input"].encode("utf-8")
    elif isinstance(case.get("inputBase64"), str):
        data = base64.b64decode(case["inputBase64"])
    elif isinstance(case.get("corpus"), str) and (CORPUS / case["corpus"]).is_file():
        data = (CORPUS / case["corpus"]).read_bytes()
    else:
        return 0
    name = str(case.get("name") or case.get("corpus") or "input")
    kind = case.get("kind")
    module = registry.importer_for(kind) if isinstance(kind, str) else None
    candidates = [module] if module is not None else [m for m in registry.importers() if m.detect(name, data[:65536])]
    for mod in candidates[:1]:
        mod.import_bytes(data, source_name=name, url=case.get("url") or URL, user_agent=case.get("userAgent"))
        return 1
    return 0


def test_no_connection_attempted() -> None:
    """req-no-network: the conformance suite and every importer over the corpus, with sockets refused."""
    from aiterms import validation as validate
    from aiterms.model import Query

    resolve: Any = None
    with contextlib.suppress(ModuleNotFoundError):
        from aiterms.resolution import resolve
    try:
        from aiterms.interop import registry

        importers = registry.importers()
    except ModuleNotFoundError:
        importers = []
    ran = 0
    with refuse_network() as attempts:
        for area, case in _conformance_cases():
            if area == "validate" and "document" in case:
                validate.check(case["document"])
                ran += 1
            elif area == "resolve" and resolve is not None and isinstance(case.get("record"), dict):
                for test in case.get("tests", ()):
                    with contextlib.suppress(KeyError, TypeError):
                        resolve(case["record"], Query.from_json(test["query"]))
                        ran += 1
            elif area == "interop" and importers:
                ran += _interop_case(case)
        for path in corpus_files() if CORPUS.is_dir() else []:
            data = path.read_bytes()
            for mod in importers:
                mod.import_bytes(data, source_name=path.name, url=URL, user_agent="ExampleBot")
                ran += 1
            if path.suffix.lower() in VALIDATE_SUFFIXES:
                validate.check_text(data, name=path.name)
                ran += 1
        # A JSON-LD document naming a remote context must be reported, never fetched.
        validate.check({"@context": "https://example.com/ctx.jsonld", "type": "ImageRecord"})
        validate.check_text(b'{"@context": ["https://w3id.org/aiterms/context/v1.jsonld", '
                            b'"https://example.com/more.jsonld"], "type": "ImageRecord"}', name="x.jsonld")
    assert ran > 0
    assert attempts == [], f"network access attempted: {attempts[:10]}"


def test_guard_refuses() -> None:
    """The guard itself works (a test that cannot fail is worse than none)."""
    with refuse_network() as attempts, pytest.raises(NetworkAttempt):
        socket.create_connection(("192.0.2.1", 80), timeout=0.01)
    assert attempts
    assert "create_connection" in attempts[0]
    with refuse_network() as attempts, pytest.raises(NetworkAttempt):
        socket.getaddrinfo("example.com", 443)
    assert attempts


if __name__ == "__main__":
    if sys.argv[1:] == ["--sweep"]:
        sys.path.insert(0, str(ROOT / "reference"))
        json.dump(sweep(), sys.stdout)
        sys.exit(0)
    print(__doc__)
    sys.exit(2)
