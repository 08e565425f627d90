"""Latencies tallied as they come, in bounded memory (a long stream has one per sample)."""
from __future__ import annotations

from typing import Sequence

import numpy as np

EXACT_VALUES = 1 << 18  # latencies a Tally keeps one by one; past this it keeps a histogram
BIN_RATIO = 1.001  # the histogram's bins are 0.1 % wide: its p50 and p99 are that close
SMALLEST_S, LARGEST_S = 1e-7, 100.0  # the histogram's range (below and above: its end bins)
BINS = int(np.ceil(np.log(LARGEST_S / SMALLEST_S) / np.log(BIN_RATIO))) + 1


class Tally:
    """Latencies summed up as they come: every value while there are at most EXACT_VALUES;
    past that a histogram of 0.1 %-wide bins (the count, the max and the negative values stay
    exact), so a long stream's per-sample latencies take a bounded amount of memory."""

    def __init__(self) -> None:
        self.kept: list[np.ndarray] = []
        self.count = self.negative = 0
        self.max_s = -np.inf
        self.bins: np.ndarray | None = None

    def add(self, values_s: Sequence[float] | np.ndarray) -> None:
        values = np.asarray(values_s, dtype=float).ravel()
        if values.size == 0:
            return
        self.count += values.size
        self.negative += int(np.count_nonzero(values < 0))
        self.max_s = max(self.max_s, float(values.max()))
        if self.bins is None and self.count <= EXACT_VALUES:
            self.kept.append(values)
            return
        self._to_bins()
        self._fold(values)

    def merge(self, other: "Tally") -> "Tally":
        """This tally with ``other``'s values added."""
        for values in other.kept:
            self.add(values)
        if other.bins is not None:
            self._to_bins()
            self.bins += other.bins
            self.count += other.count
            self.negative += other.negative
            self.max_s = max(self.max_s, other.max_s)
        return self

    def _to_bins(self) -> None:
        if self.bins is None:
            self.bins = np.zeros(BINS, dtype=np.int64)
            for kept in self.kept:
                self._fold(kept)
            self.kept = []

    def _fold(self, values: np.ndarray) -> None:
        where = np.log(np.clip(values, SMALLEST_S, LARGEST_S) / SMALLEST_S) / np.log(BIN_RATIO)
        self.bins += np.bincount(where.astype(np.int64), minlength=BINS)

    def values(self) -> np.ndarray:
        """Every value, while they are kept (empty once the tally is a histogram)."""
        return np.concatenate(self.kept) if self.kept else np.zeros(0)

    def percentile(self, q: float) -> float:
        if self.bins is None:
            return float(np.percentile(self.values(), q))
        rank = q / 100 * (self.count - 1)
        index = int(np.searchsorted(np.cumsum(self.bins), rank, side="right"))
        return min(SMALLEST_S * BIN_RATIO ** (index + 0.5), self.max_s)  # the bin's middle
