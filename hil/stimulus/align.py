"""Align a plate's stream with the stimulus: find the markers, measure the plate's clock.

A marker is a trapezoid on every cell. Its position is the midpoint of the two half-height
crossings, each interpolated on a ramp (sub-sample), so the distance between the two markers,
counted in the plate's samples against the generator's, gives the plate's clock error in ppm.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from hil.analysis.bridge import bridged

from .bridge import MARKER_N, OVERSAMPLE, Stimulus, marker

BASELINE_SAMPLES = 20  # the level before a marker, from this many samples where the search begins


@dataclass(frozen=True)
class Alignment:
    """Where the stimulus lies in the plate's stream (sample indices of the plate)."""

    start_marker: float  # centre of the first marker
    end_marker: float | None  # centre of the second (None: the stream ended first)
    clock_ppm: float | None  # the plate's clock against the generator's (+: plate fast)

    def to_dict(self) -> dict:
        return {"start_marker": self.start_marker, "end_marker": self.end_marker,
                "clock_ppm": self.clock_ppm}


def marker_centre(total: np.ndarray, height: float, search_from: int = 0) -> float | None:
    """Centre of the first marker at or after ``search_from`` in a summed-force trace, or None if
    no complete marker is there yet. A lost sample (NaN) is bridged by its neighbours: on the
    marker's ramps and plateau that is its value, so a lost frame neither splits the marker nor
    leaves its edge unknown."""
    level = total[search_from:]
    level = bridged(level, np.isnan(level))
    before = level[: max(1, min(level.size, BASELINE_SAMPLES))]
    baseline = float(np.nanmedian(before)) if np.isfinite(before).any() else 0.0
    above = np.nan_to_num(level - baseline, nan=0.0) > height / 2
    rises = np.flatnonzero(above[1:] & ~above[:-1]) + 1
    if rises.size == 0:
        return None
    rise = int(rises[0])
    falls = np.flatnonzero(~above[rise:])
    if falls.size == 0:
        return None
    fall = rise + int(falls[0])
    half = baseline + height / 2
    up = rise - 1 + (half - level[rise - 1]) / (level[rise] - level[rise - 1])
    down = fall - 1 + (level[fall - 1] - half) / (level[fall - 1] - level[fall])
    return search_from + (up + down) / 2


def template_centre(rate_hz: float) -> float:
    """The marker's centre within its own samples (the same rule as in the stream)."""
    idle = BASELINE_SAMPLES  # idle before it, as in the stream, for the baseline
    shape = np.concatenate((np.zeros(idle), marker(rate_hz))) * MARKER_N
    return marker_centre(shape, MARKER_N) - idle


def first_tick(position: float) -> int:
    """The plate's first sample inside a held sample whose hold begins at ``position`` (in the
    plate's samples, found from a marker's centre). The plate reads the marker's ramp as held
    1/OVERSAMPLE-sample points, so the marker appears up to that much late and ``position`` lies
    on a multiple of 1/OVERSAMPLE, up to noise: the sample that reads the hold is the next one
    at or after ``position`` less half a point (round() took the sample before the hold when
    the plate sampled late in each hold: a one-sample shift)."""
    return math.ceil(position - 0.5 / OVERSAMPLE)


def marker_height(plates: int) -> float:
    return MARKER_N * 4 * plates


def align(total: np.ndarray, stimulus: Stimulus, start: float) -> Alignment:
    """Both markers: the first at ``start`` (already found), the second near where it should be."""
    rate = stimulus.rate_hz
    expected = start + stimulus.marker_distance
    search = int(max(0, expected - template_centre(rate) - 0.5 * 0.2 * rate))
    end = marker_centre(total, marker_height(stimulus.cells.shape[1]), search)
    ppm = None if end is None else ((end - start) / stimulus.marker_distance - 1) * 1e6
    return Alignment(float(start), None if end is None else float(end), ppm)
