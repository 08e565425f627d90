"""Input checks shared by every test: shape, rate, non-finite samples, saturation, negative force."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from hil.analysis.result import Issue

G = 9.80665  # m/s² (METRICS.md)


class AnalysisInputError(ValueError):
    """Input that cannot be analysed at all (the CLI prints it as one line, exit status 2)."""


@dataclass(frozen=True)
class Options:
    body_mass_kg: float | None = None
    drop_height_m: float | None = None


@dataclass(frozen=True)
class Signal:
    """A validated recording. ``force`` is (n, plates) float64; ``bad`` marks samples that no
    metric may rest on (non-finite or saturated); ``issues`` are the input-level findings."""

    force: np.ndarray
    total: np.ndarray
    rate_hz: float
    bad: np.ndarray
    issues: tuple[Issue, ...]

    @property
    def dt(self) -> float:
        return 1.0 / self.rate_hz

    @property
    def plates(self) -> int:
        return self.force.shape[1]

    def any_bad(self, start: int, stop: int) -> bool:
        """True when a sample in [start, stop) cannot be trusted."""
        return bool(self.bad[max(start, 0):max(stop, 0)].any())


def _spans(mask: np.ndarray) -> list[tuple[int, int]]:
    """[start, stop) index runs where ``mask`` is true."""
    edges = np.flatnonzero(np.diff(np.concatenate(([0], mask.view(np.int8), [0]))))
    return list(zip(edges[0::2], edges[1::2]))


def prepare(force: np.ndarray, rate_hz: float) -> Signal:
    """Validate shape and rate, and find the samples no metric may rest on."""
    try:
        rate = float(rate_hz)
    except (TypeError, ValueError):
        raise AnalysisInputError(f"sample rate {rate_hz!r} is not a number") from None
    if not np.isfinite(rate) or rate <= 0:
        raise AnalysisInputError(f"sample rate must be a positive number of Hz, got {rate_hz!r}")
    try:
        data = np.asarray(force, dtype=np.float64)
    except (TypeError, ValueError):
        raise AnalysisInputError("force must be numeric") from None
    if data.ndim == 1:
        data = data[:, None]
    if data.ndim != 2 or data.shape[1] not in (1, 2):
        raise AnalysisInputError(f"force must be shaped (n,) or (n, 2), got {np.shape(force)}")
    if data.shape[0] < 2:
        raise AnalysisInputError("force has fewer than two samples")
    total = data.sum(axis=1)
    issues: list[Issue] = []
    nonfinite = ~np.isfinite(data).all(axis=1)
    for start, stop in _spans(nonfinite):
        issues.append(Issue("nonfinite_samples", f"{stop - start} non-finite sample(s)",
                            float(start / rate), float((stop - 1) / rate)))
    saturated = _saturated(data)
    for start, stop in _spans(saturated):
        issues.append(Issue("saturation", f"force held at full scale for {stop - start} samples",
                            float(start / rate), float((stop - 1) / rate)))
    return Signal(force=data, total=total, rate_hz=rate, bad=nonfinite | saturated,
                  issues=tuple(issues))


def _saturated(data: np.ndarray, run: int = 3) -> np.ndarray:
    """Samples in runs of ``run`` or more identical values at a channel's maximum: a clipped ADC."""
    mask = np.zeros(data.shape[0], dtype=bool)
    for column in data.T:
        finite = column[np.isfinite(column)]
        if finite.size == 0:
            continue
        at_max = column == finite.max()
        # a true peak is one sample; a flat top of several identical maximal samples is clipping
        for start, stop in _spans(at_max):
            if stop - start >= run:
                mask[start:stop] = True
    return mask
