"""Body weight from the stillest window of quiet standing (McMahon 2018: ≥1 s, lowest SD)."""
from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numpy as np

LOADED_N = 100.0  # a weighing window must carry someone: mean force at least this
UNSTABLE_FRACTION = 0.02  # SD above 2 % of body weight: sway or movement, not quiet standing
STEP_S = 0.010  # candidate windows are whole blocks of this length
QUIET_BLOCK_S = 0.050  # the quiet stance around a weighing is traced in blocks this long ...
QUIET_SD = 5.0  # ... whose means stay within this many weighing SDs of body weight
SHORT_S = 0.25  # a recording cropped to less than 1 s of standing is weighed on its stillest 0.25 s


@dataclass(frozen=True)
class Weighing:
    """Mean and SD of force over samples [start, stop); ``stable`` when the SD is small."""

    body_weight_n: float
    sd_n: float
    start: int
    stop: int
    stable: bool


def weigh(total: np.ndarray, rate_hz: float, start: int = 0, stop: int | None = None,
          min_s: float = 1.0) -> Weighing | None:
    """The stillest window of at least ``min_s`` (lowest SD) in [start, stop) of ``total``.

    Windows are whole blocks of STEP_S starting every block from ``start``, plus one ending
    exactly at ``stop``; block sums give every window's mean and SD in one pass. None when the
    span is shorter than the window or no window is loaded and free of non-finite samples.
    """
    stop = total.shape[0] if stop is None else min(stop, total.shape[0])
    start = max(start, 0)
    step = max(1, int(round(STEP_S * rate_hz)))
    per = max(2, -(-int(round(min_s * rate_hz)) // step))  # blocks per window (≥ min_s)
    width = per * step
    if stop - start < width:
        return None
    seg = total[start:stop]
    ref = float(seg[0]) if math.isfinite(seg[0]) else 0.0
    dev = seg - ref  # relative to a sample, so that the SD of 600 N does not drown in rounding
    lost = ~np.isfinite(dev)
    finite = not lost.any()
    if not finite:
        dev[lost] = 0.0
    blocks = dev.shape[0] // step
    grid = dev[:blocks * step].reshape(blocks, step)
    ones = _ones(step)
    s1 = np.cumsum(grid @ ones)
    s2 = np.cumsum((grid * grid) @ ones)
    sums = s1[per - 1:].copy()
    sums[1:] -= s1[:-per]
    squares = s2[per - 1:].copy()
    squares[1:] -= s2[:-per]
    mean = sums / width
    var = squares / width - mean * mean
    usable = mean >= LOADED_N - ref
    if not finite:
        bad = np.cumsum(lost[:blocks * step].reshape(blocks, step).any(axis=1))
        spoiled = bad[per - 1:].copy()
        spoiled[1:] -= bad[:-per]
        usable &= spoiled == 0
    candidates = []  # (variance, first sample, mean)
    if usable.any():
        best = int(np.argmin(np.where(usable, var, np.inf)))
        candidates.append((float(var[best]), best * step, float(mean[best])))
    tail = dev[-width:]  # the window ending exactly at ``stop``, which the grid may miss
    if finite or not lost[-width:].any():
        tail_mean = float(tail.sum()) / width
        if tail_mean >= LOADED_N - ref:
            candidates.append((float(tail @ tail) / width - tail_mean * tail_mean,
                               seg.shape[0] - width, tail_mean))
    if not candidates:
        return None
    var_best, first, mean_best = min(candidates)
    body_weight = ref + mean_best
    sd = math.sqrt(max(var_best, 0.0) * width / (width - 1))
    return Weighing(body_weight, sd, start + first, start + first + width,
                    sd <= UNSTABLE_FRACTION * body_weight)


def widen(total: np.ndarray, rate_hz: float, w: Weighing, first: int, last: int) -> Weighing:
    """``w`` widened to the whole quiet stance around it inside [first, last): QUIET_BLOCK_S
    blocks on either side whose means stay within QUIET_SD SDs of its body weight (a lost
    sample ends the stance). Slow postural sway (1–6 N, 0.2–1.5 Hz) averages out over the
    stance, not over its stillest second. Uses no sample outside [first, last). The SD stays
    the stillest second's: the noise that onset bands are built on."""
    block = max(int(round(QUIET_BLOCK_S * rate_hz)), 1)
    band = QUIET_SD * w.sd_n
    start, stop = w.start, w.stop
    before = (w.start - max(first, 0)) // block
    if before > 0:
        means = total[w.start - before * block:w.start].reshape(before, block).sum(axis=1) / block
        loud = np.flatnonzero(~(np.abs(means - w.body_weight_n) <= band))
        # a block next to a loud one may hold the start of the movement: it is left out too
        start = min(w.start, w.start - (before - (int(loud[-1]) + 2 if loud.size else 0)) * block)
    after = (min(last, total.shape[0]) - w.stop) // block
    if after > 0:
        means = total[w.stop:w.stop + after * block].reshape(after, block).sum(axis=1) / block
        loud = np.flatnonzero(~(np.abs(means - w.body_weight_n) <= band))
        stop = max(w.stop, w.stop + (int(loud[0]) - 1 if loud.size else after) * block)
    if (start, stop) == (w.start, w.stop):
        return w
    return Weighing(float(total[start:stop].sum() / (stop - start)), w.sd_n, start, stop, w.stable)


def without_movement(total: np.ndarray, rate_hz: float, w: Weighing, first: int,
                     last: int) -> Weighing:
    """``w`` (the stillest second) unless the recording holds less than 1 s of quiet standing
    (an export cropped just before the movement): then ``w`` starts where the recording (or
    ``first``) does and takes in the movement; the stillest SHORT_S in [first, last) widened over
    the quiet stance around it is returned instead. Quiet: every QUIET_BLOCK_S block mean within
    QUIET_SD SDs (of the stillest SHORT_S) of its body weight."""
    block = max(int(round(QUIET_BLOCK_S * rate_hz)), 1)
    count = (w.stop - w.start) // block
    if w.start - first >= block or count == 0:
        return w  # a second of standing with more before it: not a cropped recording
    short = weigh(total, rate_hz, first, last, min_s=SHORT_S)
    if short is None:
        return w
    means = total[w.start:w.start + count * block].reshape(count, block).mean(axis=1)
    if np.all(np.abs(means - short.body_weight_n) <= QUIET_SD * short.sd_n):
        return w
    return widen(total, rate_hz, short, first, last)


@functools.lru_cache(maxsize=16)
def _ones(step: int) -> np.ndarray:
    return np.ones(step)
