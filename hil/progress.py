"""A small progress display on stderr: a bar on a terminal, a periodic line otherwise."""
from __future__ import annotations

import sys
import time
from typing import TextIO

BAR_WIDTH = 30
LINE_EVERY_S = 10.0  # without a terminal: one line this often (and at the end)
REDRAW_EVERY_S = 0.1


class Progress:
    """Progress of ``total`` units (samples); ``update(done)`` is cheap enough to call per block."""

    def __init__(self, total: int, label: str, stream: TextIO | None = None,
                 rate_hz: float | None = None) -> None:
        self.total, self.label = max(int(total), 1), label
        self.stream = sys.stderr if stream is None else stream
        self.rate_hz = rate_hz
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self.started = time.monotonic()
        self.shown = 0.0 if self.tty else self.started

    def update(self, done: int, final: bool = False) -> None:
        now = time.monotonic()
        every = REDRAW_EVERY_S if self.tty else LINE_EVERY_S
        if not final and now - self.shown < every:
            return
        self.shown = now
        fraction = min(max(done / self.total, 0.0), 1.0)
        elapsed = now - self.started
        text = f"{self.label} {100 * fraction:5.1f} %"
        if self.rate_hz:
            text += f"  {done / self.rate_hz:7.1f} s of data in {elapsed:6.1f} s"
        if self.tty:
            filled = int(round(BAR_WIDTH * fraction))
            bar = "#" * filled + "-" * (BAR_WIDTH - filled)
            self.stream.write(f"\r[{bar}] {text}" + ("\n" if final else ""))
        else:
            self.stream.write(text + "\n")
        self.stream.flush()

    def close(self, done: int) -> None:
        self.update(done, final=True)
