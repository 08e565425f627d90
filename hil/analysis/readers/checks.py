"""Physical sense of what was read: the sample rate, the time column, the force's range.

A value outside these ranges is not a recording of a person on a force plate in the units the
file claims (a time column in ms read as s, a force in mV, a sign convention upside down); it
gets one line naming the valid range instead of a wrong number.
"""
from __future__ import annotations

import numpy as np

from hil.analysis.signal import FORCE_LIMIT_N, RATE_RANGE_HZ, AnalysisInputError
# load counted as negative: the force dips this far below zero and never rises a quarter as far
# above it (a plate left unzeroed by −760 N still reads +700 N at a jump's peak)
NEGATIVE_LOAD_N = -200.0
NEGATIVE_LOAD_RATIO = 4.0
_UNIFORM_TOLERANCE = 0.01  # of the sample period, plus the resolution the time column is printed to
_RATE_TOLERANCE = 0.005  # relative: two statements of the rate must agree this closely
_MAX_JITTER = 0.25  # of the sample period: a larger step error is a lost or doubled sample
_MAX_DECIMALS = 9


def sample_rate(time: np.ndarray | None, stated_hz: float | None, option_hz: float | None,
                name: str) -> tuple[float, str]:
    """The rate and where it came from: the file's statement, its time column, or --rate.

    Every source given must agree; a file-stated rate is used over a time column's.
    """
    if option_hz is not None and not (np.isfinite(option_hz) and option_hz > 0):
        raise AnalysisInputError(f"--rate must be a positive number of Hz, got {option_hz}")
    sources = []
    if stated_hz is not None:
        sources.append((float(stated_hz), "stated in the file"))
    if time is not None:
        sources.append((_rate_from_time(time, name), "from the time column"))
    if option_hz is not None:
        sources.append((float(option_hz), "--rate"))
    if not sources:
        raise AnalysisInputError(f"{name}: sample rate unknown: give --rate HZ (or a time column)")
    rate, origin = sources[0]
    for other, other_origin in sources[1:]:
        if abs(other - rate) > _RATE_TOLERANCE * rate:
            flag = "--rate" if other_origin == "--rate" else other_origin
            raise AnalysisInputError(f"{name}: {flag} ({other:.6g} Hz) disagrees with the rate "
                                     f"{origin} ({rate:.6g} Hz)")
    low, high = RATE_RANGE_HZ
    if not low <= rate <= high:
        raise AnalysisInputError(f"{name}: sample rate {rate:.6g} Hz ({origin}) is outside "
                                 f"{low:g} Hz – {high / 1000:g} kHz: is the time column in ms, "
                                 "or the rate in kHz?")
    return rate, origin


def _rate_from_time(time: np.ndarray, name: str) -> float:
    """1 / the mean step of a uniform time column (jitter within its printed resolution)."""
    bad = np.flatnonzero(~np.isfinite(time))
    if bad.size:
        raise AnalysisInputError(f"{name}: time column holds {time[bad[0]]} at sample {bad[0] + 1}; "
                                 "it must be finite seconds, increasing")
    if time.size < 2:
        raise AnalysisInputError(f"{name}: a time column needs at least two samples")
    steps = np.diff(time)
    period = (time[-1] - time[0]) / (time.size - 1)
    if not np.isfinite(period) or period <= 0:
        raise AnalysisInputError(f"{name}: the time column does not increase")
    worst = int(np.argmax(np.abs(steps - period)))
    # rounding to the printed resolution moves a step by up to one resolution; never half a sample
    allowed = min(_UNIFORM_TOLERANCE * period + _printed_resolution(time), _MAX_JITTER * period) + 1e-9
    if abs(steps[worst] - period) > allowed:
        raise AnalysisInputError(
            f"{name}: non-uniform time column: step of {steps[worst]:.6g} s at t={time[worst]:.6g}"
            f" s, expected {period:.6g} s (gaps or jitter; resample first)")
    return float(1.0 / period)


def _printed_resolution(time: np.ndarray) -> float:
    """The last printed decimal of the time column (0.7, 0.7017, 0.7033: 1e-4 s)."""
    for decimals in range(_MAX_DECIMALS + 1):
        scaled = time * 10.0**decimals
        if np.all(np.abs(scaled - np.round(scaled)) < 1e-3):
            return 10.0**-decimals
    return 0.0


def check_force(force: np.ndarray, rate_hz: float, name: str) -> None:
    """Refuse force that cannot be newtons on a plate; NaN stays (the analysis reports a gap)."""
    magnitude = np.abs(np.where(np.isfinite(force), force, 0.0))
    if magnitude.size and magnitude.max() > FORCE_LIMIT_N:
        sample = int(np.argmax(magnitude.max(axis=1) if magnitude.ndim == 2 else magnitude))
        raise AnalysisInputError(
            f"{name}: force of {force.flat[np.argmax(magnitude)]:.6g} N at t={sample / rate_hz:.4g} s is "
            f"outside ±{FORCE_LIMIT_N / 1000:g} kN: wrong column or unit? (choose with --force)")
    total = force.sum(axis=1) if force.ndim == 2 else force
    finite = total[np.isfinite(total)]
    if finite.size and finite.min() < NEGATIVE_LOAD_N and -finite.min() > NEGATIVE_LOAD_RATIO * finite.max():
        raise AnalysisInputError(
            f"{name}: the force is mostly negative (min {finite.min():.1f} N, max {finite.max():.1f} N): "
            "if the file counts load as negative, add --flip")
