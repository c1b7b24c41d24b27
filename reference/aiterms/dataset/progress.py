"""A progress bar on standard error (spec/dataset.md#progress): rows, rows per second and, when the size of the
input is known, how far along the run is and the time left. It draws only on a terminal; when standard error is
piped or redirected, or with ``--quiet``, it writes nothing."""

from __future__ import annotations

import time
from typing import TextIO


def _duration(seconds: float) -> str:
    s = int(max(0, seconds))
    h, rest = divmod(s, 3600)
    m, s = divmod(rest, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


class Progress:
    """``update(rows, done)`` after each batch (``done``: bytes or rows processed, of ``total``);
    ``close()`` at the end. Redraws at most ``every`` seconds."""

    def __init__(self, stream: TextIO | None, *, total: int | None = None, unit: str = "bytes",
                 enabled: bool | None = None, every: float = 0.2, label: str = "aiterms") -> None:
        if enabled is None:
            enabled = stream is not None and _isatty(stream)
        self.stream = stream if enabled else None
        self.total = total
        self.unit = unit
        self.every = every
        self.label = label
        self.start = time.monotonic()
        self._last = 0.0
        self.rows = 0
        self.done = 0
        self._width = 0

    @property
    def enabled(self) -> bool:
        return self.stream is not None

    def update(self, rows: int, done: int = 0) -> None:
        self.rows += rows
        self.done += done
        if self.stream is None:
            return
        now = time.monotonic()
        if now - self._last < self.every:
            return
        self._last = now
        self._draw(now)

    def line(self, now: float | None = None) -> str:
        """The text of the bar (also used by tests)."""
        now = time.monotonic() if now is None else now
        elapsed = max(now - self.start, 1e-9)
        rate = self.rows / elapsed
        parts = [f"{self.label}: {self.rows:,} rows", f"{rate:,.0f} rows/s"]
        if self.total:
            frac = min(self.done / self.total, 1.0)
            filled = int(frac * 20)
            parts.insert(0, f"[{'#' * filled}{'.' * (20 - filled)}] {frac * 100:5.1f}%")
            if 0 < frac < 1:
                parts.append(f"ETA {_duration(elapsed * (1 - frac) / frac)}")
        parts.append(f"elapsed {_duration(elapsed)}")
        return "  ".join(parts)

    def _draw(self, now: float) -> None:
        assert self.stream is not None
        text = self.line(now)
        pad = max(0, self._width - len(text))
        self._width = len(text)
        self.stream.write("\r" + text + " " * pad)
        self.stream.flush()

    def close(self) -> None:
        if self.stream is None:
            return
        self._draw(time.monotonic())
        self.stream.write("\n")
        self.stream.flush()


def _isatty(stream: TextIO) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False
