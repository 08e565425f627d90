"""The emulator's timing log: for each sample tick, when the plate let go of it.

Binary, append-only, flushed per write: records of ``counter`` (uint32, the left plate's sample
counter) and ``write_ns`` (int64, ``time.monotonic_ns()``; CLOCK_MONOTONIC is system-wide on
Linux, so a host process can subtract it from its own). What the time is depends on the
transport, and is the start of every latency the bench measures:

- serial (pty): just before the ``os.write`` that put the tick's last byte on the wire, tick by
  tick, also in fast mode (a large chunk goes out in several writes);
- SCPI (TCP): when the plate sampled the tick (its deadline on the plate's clock; in fast mode
  when it was made), so the time it waits in the plate's buffer for ``FETC?`` counts.
"""
from __future__ import annotations

import os
import time
from pathlib import Path

import numpy as np

TIMING_DTYPE = np.dtype([("counter", "<u4"), ("write_ns", "<i8")])


class TimingLog:
    """Appends records with one ``os.write`` per call (no Python-level buffering)."""

    def __init__(self, path: str | Path) -> None:
        self._fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)

    def record(self, counters: np.ndarray, write_ns: int | np.ndarray | None = None) -> None:
        """One record per counter; ``write_ns`` one time for all, or one per counter."""
        if counters.size == 0:
            return
        records = np.empty(counters.size, dtype=TIMING_DTYPE)
        records["counter"] = counters
        records["write_ns"] = time.monotonic_ns() if write_ns is None else write_ns
        os.write(self._fd, records.tobytes())

    def close(self) -> None:
        os.close(self._fd)


def read_timing_log(path: str | Path) -> np.ndarray:
    """All complete records (a record being written at the end is left out)."""
    data = Path(path).read_bytes()
    usable = len(data) - len(data) % TIMING_DTYPE.itemsize
    return np.frombuffer(data[:usable], dtype=TIMING_DTYPE)
