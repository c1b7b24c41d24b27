"""Work grows linearly with the input, memory stays bounded (spec/security.md#req-linear-time).

Each case builds an input at 1x, 4x and 16x a base size, times the parser (best of a few runs, in CPU time, since
the machine may be shared) and measures its peak memory with tracemalloc. A quadratic algorithm takes 256x the
time at 16x the input; the bound here is 40x (generous: small inputs carry fixed costs). Streaming JSON Lines
validation must also keep its peak memory flat. A single call over 5 s of CPU fails at once. Sizes are chosen so
that 16x takes well under a second of CPU. Cases whose module does not exist yet are skipped.
"""

from __future__ import annotations

import contextlib
import gc
import importlib
import io
import json
import signal
import threading
import time
import tracemalloc
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from aiterms import limits

RATIO = 40.0  # 16x the input may take at most this many times as long
FLOOR = 0.08  # seconds: below this at 16x, timing noise dominates and the case passes
PER_CALL = 5.0  # seconds of CPU: a single call taking longer fails at once
URL = "https://example.com/images/photo.jpg"
CONTEXT = "https://w3id.org/aiterms/context/v1.jsonld"


def _module(name: str) -> Any:
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as exc:
        if exc.name and name.startswith(exc.name):
            pytest.skip(f"{name} does not exist yet")
        raise


class TooSlow(Exception):
    pass


@contextlib.contextmanager
def time_limit(seconds: float) -> Iterator[None]:
    """Interrupt a runaway call (regular expressions check for signals, so backtracking is interrupted too)."""
    if not hasattr(signal, "setitimer") or threading.current_thread() is not threading.main_thread():
        yield
        return

    def alarm(_sig: int, _frame: object) -> None:
        raise TooSlow(f"took longer than {seconds} s")

    # CPU time, not wall time: the machine may be shared, and only our own work counts.
    old = signal.signal(signal.SIGVTALRM, alarm)
    signal.setitimer(signal.ITIMER_VIRTUAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_VIRTUAL, 0)
        signal.signal(signal.SIGVTALRM, old)


def _time(fn: Callable[[], object], repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        gc.collect()
        start = time.process_time()
        try:
            with time_limit(PER_CALL):
                fn()
        except TooSlow:
            pytest.fail(f"one call took more than {PER_CALL} s of CPU: far from linear", pytrace=False)
        best = min(best, time.process_time() - start)
    return best


def _peak(fn: Callable[[], object]) -> int:
    gc.collect()
    tracemalloc.start()
    try:
        fn()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def _grows_linearly(make: Callable[[int], Callable[[], object]], base: int, *, streaming: bool = False,
                    size_of: Callable[[int], int] | None = None) -> None:
    _time(make(max(1, base // 2)), 1)  # warm up lazy imports, with an input none of the measured ones equals
    runs = {k: make(base * k) for k in (1, 4, 16)}
    t = {k: _time(fn, 1) for k, fn in runs.items()}  # once each: a second run could hit a cache keyed by content
    ratio = t[16] / max(t[1], 1e-6)
    if t[16] >= FLOOR and ratio > RATIO:
        # Once more, on inputs one item larger (so no cache keyed by content answers them), before failing: a busy
        # machine can slow one small measurement; a superlinear algorithm is slow both times.
        again = {k: _time(make(base * k + 1), 1) for k in (1, 4, 16)}
        t = again if again[16] / max(again[1], 1e-6) < ratio else t
        ratio = t[16] / max(t[1], 1e-6)
    assert t[16] < FLOOR or ratio <= RATIO, (
        f"time grows faster than linearly: 1x {t[1]:.4f}s, 4x {t[4]:.4f}s, 16x {t[16]:.4f}s (ratio {ratio:.0f})")
    p1, p16 = _peak(runs[1]), _peak(runs[16])
    if streaming:
        assert p16 <= 3 * p1 + 2 * limits.MiB, f"streaming memory grows: peak {p1} bytes at 1x, {p16} at 16x"
    else:
        assert p16 <= RATIO * p1 + 4 * limits.MiB, f"memory grows faster than linearly: {p1} -> {p16} bytes"
        if size_of is not None:
            assert p16 <= 200 * size_of(base * 16) + 16 * limits.MiB, f"peak {p16} bytes for a small input"


def _record(i: int, tags: int = 3) -> dict[str, Any]:
    return {"@context": CONTEXT, "type": "ImageRecord", "id": f"https://example.com/p/{i}",
            "owner": "flickr:12345678@N00", "license": "https://creativecommons.org/licenses/by/2.0/",
            "tags": ["no_cv", "family", f"t{i % 97}"][:tags],
            "declarations": [{"declaredBy": {"role": "rights-holder", "id": "flickr:12345678@N00"},
                              "issued": "2019-03-01T00:00:00Z",
                              "rules": [{"effect": "prohibit", "use": "computer-vision"},
                                        {"effect": "permit", "use": "ai-training", "purpose": ["research"]}]}]}


def test_jsonl_validation_linear_and_streaming() -> None:
    validate = _module("aiterms.validation")

    def make(n: int) -> Callable[[], object]:
        data = b"".join(json.dumps(_record(i)).encode() + b"\n" for i in range(n))

        def run() -> object:
            count = 0
            for _line, _report in validate.iter_jsonl(io.BytesIO(data)):
                count += 1
            assert count == n
            return count

        return run

    _grows_linearly(make, 300, streaming=True)


def test_robots_linear() -> None:
    robots = _module("aiterms.interop.robots")

    def make(n: int) -> Callable[[], object]:
        groups = [f"User-agent: bot{i}\nDisallow: /private/{i}/\nContent-Usage: /images/{i}/ train-ai=n\n"
                  for i in range(n)]
        data = ("".join(groups) + "User-agent: *\nContent-Usage: train-ai=n, search=y\n").encode()
        assert len(data) <= limits.MAX_ROBOTS_BYTES
        return lambda: robots.import_bytes(data, source_name="robots.txt", url=URL, user_agent="ExampleBot")

    _grows_linearly(make, 300, size_of=lambda n: 70 * n)


def test_robots_wildcards_linear() -> None:
    """Path patterns full of wildcards: naive backtracking matchers are exponential or quadratic here."""
    robots = _module("aiterms.interop.robots")

    def make(n: int) -> Callable[[], object]:
        pattern = "/" + "*a" * n + "b$"
        data = f"User-agent: *\nContent-Usage: {pattern} train-ai=n\nDisallow: {pattern}\n".encode()
        url = "https://example.com/" + "a" * (4 * n)
        return lambda: robots.import_bytes(data, source_name="robots.txt", url=url, user_agent="ExampleBot")

    _grows_linearly(make, 100)


def test_headers_linear() -> None:
    headers = _module("aiterms.interop.httpheaders")

    def make(n: int) -> Callable[[], object]:
        lines = [f"X-Custom-{i}: {'v' * 40}" for i in range(n)]
        lines += ["Content-Usage: " + ", ".join(f"k{i}=n" for i in range(n)), "X-Robots-Tag: noai, noimageai"]
        data = ("\r\n".join(lines) + "\r\n").encode()
        return lambda: headers.import_bytes(data, source_name="headers.txt", url=URL)

    _grows_linearly(make, 55, size_of=lambda n: 60 * n)


def test_xmp_linear() -> None:
    xmp = _module("aiterms.interop.xmp")

    def make(n: int) -> Callable[[], object]:
        subjects = "".join(f"<rdf:li>keyword {i}</rdf:li>" for i in range(n))
        data = ('<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
                '<rdf:Description rdf:about="" xmlns:plus="http://ns.useplus.org/ldf/xmp/1.0/" '
                'xmlns:dc="http://purl.org/dc/elements/1.1/" '
                'plus:DataMining="http://ns.useplus.org/ldf/vocab/DMI-PROHIBITED">'
                f"<dc:subject><rdf:Bag>{subjects}</rdf:Bag></dc:subject>"
                "</rdf:Description></rdf:RDF></x:xmpmeta>").encode()
        assert len(data) <= limits.MAX_XMP_BYTES
        return lambda: xmp.import_bytes(data, source_name="photo.xmp", url=URL)

    _grows_linearly(make, 4000, size_of=lambda n: 35 * n)


def test_tags_linear() -> None:
    """Many tags (each looked up, near-misses suggested) in one record, validated and resolved."""
    validate = _module("aiterms.validation")
    resolve = _module("aiterms.resolution")
    from aiterms.model import Query

    def make(n: int) -> Callable[[], object]:
        record = _record(0)
        record["tags"] = [f"{w}{i}" for i, w in zip(range(n), ["no_cv", "nocv", "familly", "portriat"] * n,
                                                      strict=False)]
        assert len(record["tags"]) <= limits.MAX_TAGS

        def run() -> object:
            validate.check(record)
            return resolve.resolve(record, Query(use="computer-vision", at="2026-01-01T00:00:00Z"))

        return run

    _grows_linearly(make, 60)


def test_long_tag_is_not_quadratic() -> None:
    """One tag of 1x/4x/16x length: near-miss edit distance must not run on unbounded strings."""
    validate = _module("aiterms.validation")

    def make(n: int) -> Callable[[], object]:
        record = _record(0)
        record["tags"] = ["no_cvx" * n]
        return lambda: validate.check(record)

    _grows_linearly(make, 80)


def test_json_depth_check_linear_and_fast() -> None:
    """limits.check_json_depth: linear, and a 100 MB-class input in seconds, without parsing."""

    def make(n: int) -> Callable[[], object]:
        line = json.dumps(_record(1)) + "\n"
        data = (line * n).encode()
        return lambda: limits.check_json_depth(data)

    _grows_linearly(make, 2000)
    big = (json.dumps(_record(1)) + "\n").encode() * 100_000  # ~50 MB of records, depth 5
    assert len(big) > 40 * limits.MiB
    start = time.process_time()
    assert limits.check_json_depth(big) is None
    assert time.process_time() - start < 15
    deep = b"[" * 10_000_000 + b"]" * 10_000_000
    start = time.process_time()
    found = limits.check_json_depth(deep)
    assert found is not None
    assert found.code == "limit-json-depth"
    assert time.process_time() - start < 5
