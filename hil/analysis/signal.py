"""Input checks shared by every test: shape, rate, gaps, non-finite samples, saturation, negative force.

Whether a sample can be trusted (``Signal.bad``) is decided from it and the samples before it
only, so a prefix of a stream marks the same samples as the whole recording does. Issues are
reported over their whole span (a clipped plateau from its first sample, though it is known
only at its third).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.constants import g as G  # standard gravity, 9.80665 m/s² (METRICS.md)

from hil.analysis.events import spans
from hil.analysis.result import Issue

NEGATIVE_N = 20.0  # a plate reading below −20 N is off zero (noise is 0.5–3 N RMS)
NEGATIVE_S = 0.005  # ... for at least this long
SATURATION_DROP = 0.01  # a clipped plateau: force rose to it by >1 % ...
SATURATION_REACH = 3  # ... over this many samples ...
SATURATION_SHORT_S = 0.003  # ... and held this long, ≥ 4 samples (noise repeats a value 3 times) ...
SATURATION_HOLD_S = 0.050  # ... or a plateau held this long (a slow rise into full scale) ...
SATURATION_HOLD_MIN = 5  # ... and at least this many samples, after rising by >5 % in 0.1 s
SATURATION_SLOW_RISE, SATURATION_RISE_S = 0.05, 0.1  # (quantised creeping holds values, rises less)
SATURATION_MIN_DROP_N = 5.0  # ... and by at least this (flight noise repeats values near zero) ...
SATURATION_QUANTA = 4.0  # ... and by this many ADC steps per sample: a plate quantised in coarse
# steps (2.8 N) rising one step every sample or two holds a value for 3–4 samples by chance
ZERO_BLOCK_S = 0.02  # an unzeroed plate shows as its lowest quiet block this long ...
ZERO_QUIET_N = 5.0  # ... (SD ≤ this) reading below −NEGATIVE_N: the empty plate's reading, its zero
ZERO_BLOCKS = 3  # ... when that many blocks in a row agree
STEP_FLOOR_N = 1e-6  # changes smaller than this are rounding, not an ADC step
RATE_RANGE_HZ = (10.0, 100_000.0)  # force plates sample at 50 Hz – 10 kHz; wider is a unit mistake
FORCE_LIMIT_N = 100_000.0  # the largest plates are rated to ~40 kN; beyond ±100 kN is not force in N
# what the athlete or the set-up may tell the analysis (a child on a plate to a heavyweight;
# a drop-jump box)
OPTION_RANGES = {"body_mass_kg": (10.0, 400.0), "drop_height_m": (0.02, 1.5)}
BAD_CODES = ("gap", "nonfinite_samples", "saturation")  # input issues that mark samples bad
TESTS = ("cmj", "sj", "dj", "hops", "iso", "run")  # METRICS.md; one module each in hil.analysis


class AnalysisInputError(ValueError):
    """Input that cannot be analysed at all (the CLI prints it as one line, exit status 2)."""


def check_test(test: str) -> str:
    """``test`` if it is one of TESTS."""
    if test not in TESTS:
        raise AnalysisInputError(f"unknown test {test!r}; expected one of {', '.join(TESTS)}")
    return test


def check_rate(rate_hz: float) -> float:
    """The sample rate as a positive float."""
    try:
        rate = float(rate_hz)
    except (TypeError, ValueError):
        raise AnalysisInputError(f"sample rate {rate_hz!r} is not a number") from None
    low, high = RATE_RANGE_HZ
    if not low <= rate <= high:
        raise AnalysisInputError(f"sample rate must be {low:g}–{high:g} Hz, got {rate_hz!r}")
    return rate


def asymmetry(left: float, right: float) -> float:
    """100·(L − R)/max(L, R) (METRICS.md): +15 means the left limb produced 15 % more."""
    return float(100.0 * (left - right) / max(left, right))


@dataclass(frozen=True)
class Options:
    """What the athlete or the set-up tells the analysis that a plate cannot measure."""

    body_mass_kg: float | None = None
    drop_height_m: float | None = None

    def __post_init__(self) -> None:
        for name, (low, high) in OPTION_RANGES.items():
            value = getattr(self, name)
            if value is not None and not (isinstance(value, (int, float, np.number))
                                          and low <= float(value) <= high):
                raise AnalysisInputError(f"{name} must be {low:g}–{high:g}, got {value!r}")


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

    def bad_code(self, start: float, stop: float) -> str:
        """Why samples in [start, stop) cannot be trusted: the code of the first input issue
        over them (``gap``, ``nonfinite_samples`` or ``saturation``)."""
        for issue in self.issues:  # rounded: k / rate * rate may fall just short of k
            if issue.code in BAD_CODES and round(issue.start_s * self.rate_hz) < stop \
                    and round(issue.end_s * self.rate_hz) >= start:
                return issue.code
        return "gap"


def prepare(force: np.ndarray, rate_hz: float) -> Signal:
    """Validate shape and rate, and find the samples no metric may rest on."""
    rate = check_rate(rate_hz)
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
    finite = np.isfinite(data)
    if (finite & (np.abs(data) > FORCE_LIMIT_N)).any():  # no copy of the finite samples
        where = int(np.argmax(np.where(finite, np.abs(data), 0).max(axis=1)))
        raise AnalysisInputError(f"force {data[where].max():.3g} N at sample {where} is outside "
                                 f"±{FORCE_LIMIT_N / 1000:g} kN")
    issues: list[Issue] = []
    for plate, column in enumerate(data.T):
        found = _unzeroed(column, rate)
        if found is not None:
            zero, at = found
            data = data.copy()  # the caller's array is never changed
            data[:, plate] -= zero
            issues.append(Issue("plate_offset", f"plate {plate + 1} reads {zero:.1f} N unloaded (not "
                                "zeroed, e.g. tared with someone on it): taken as its zero",
                                float(at / rate), float((at + int(round(ZERO_BLOCK_S * rate)) - 1) / rate)))
    # a + b, not sum(axis=1): a reduction over rows of two costs 60 times as much
    total = data[:, 0] + data[:, 1] if data.shape[1] == 2 else data[:, 0].copy()
    bad = np.zeros(data.shape[0], dtype=bool)
    if not np.isfinite(total).all():  # NaN or ±inf in some plate shows in the total
        lost = np.isnan(data).any(axis=1)
        infinite = ~lost & ~np.isfinite(data).all(axis=1)
        for code, mask, what in (("gap", lost, "lost (NaN) sample(s)"),
                                 ("nonfinite_samples", infinite, "infinite sample(s)")):
            for start, stop in spans(mask):
                issues.append(Issue(code, f"{stop - start} {what}", float(start / rate),
                                    float((stop - 1) / rate)))
        bad |= lost | infinite
    saturated = np.zeros(data.shape[0], dtype=bool)
    for column in data.T:
        for first, last, known in _saturated(column, rate):
            saturated[first:last + 1] = True
            bad[known:last + 1] = True  # marking the samples before ``known`` needs later samples
    for start, stop in spans(saturated) if saturated.any() else ():
        issues.append(Issue("saturation", f"force held at full scale for {stop - start} samples",
                            float(start / rate), float((stop - 1) / rate)))
    if np.fmin.reduce(data, axis=None) < -NEGATIVE_N:  # fmin: lost (NaN) samples ignored
        for start, stop in spans((data < -NEGATIVE_N).any(axis=1)):
            if stop - start < NEGATIVE_S * rate:
                continue  # a plate ringing after an impact dips for a sample or two
            issues.append(Issue("negative_force", f"force below -{NEGATIVE_N:g} N for "
                                f"{stop - start} sample(s): the plate is off zero, or rings "
                                "after an unloading",
                                float(start / rate), float((stop - 1) / rate)))
    issues.sort(key=lambda issue: issue.start_s)
    return Signal(force=data, total=total, rate_hz=rate, bad=bad, issues=tuple(issues))


def _unzeroed(x: np.ndarray, rate: float) -> tuple[float, int] | None:
    """(zero, first sample) of an unzeroed plate: the lowest quiet ZERO_BLOCK_S block (on a grid
    from the first sample) when it reads below −NEGATIVE_N, that is the plate with nobody on it
    (force on a plate is never negative; standing on a plate tared under load reads negative
    too, but less so). The zero is the mean of the first quiet block within ZERO_QUIET_N of the
    lowest, so a later, equally empty stretch does not move it by its noise. A plate reading
    more than zero when empty cannot be told from a light athlete standing: not handled."""
    width = max(int(round(ZERO_BLOCK_S * rate)), 2)
    blocks = x.shape[0] // width
    if blocks == 0 or not np.fmin.reduce(x) < -NEGATIVE_N:
        return None
    grid = x[:blocks * width].reshape(blocks, width)
    with np.errstate(invalid="ignore"):
        means = grid.mean(axis=1)
        quiet = np.flatnonzero(grid.std(axis=1) <= ZERO_QUIET_N)  # NaN blocks are never quiet
    if quiet.size == 0 or not means[quiet].min() < -NEGATIVE_N:
        return None
    # an empty plate stays put: ZERO_BLOCKS quiet blocks in a row within ZERO_QUIET_N (the
    # bottom of a countermovement is flat for one block, not three)
    flat = np.zeros(blocks, dtype=bool)
    flat[quiet] = True
    steady = flat.copy()
    for k in range(1, ZERO_BLOCKS):
        steady[:-k] &= flat[k:] & (np.abs(means[k:] - means[:-k]) <= ZERO_QUIET_N)
        steady[-k:] = False
    candidates = np.flatnonzero(steady)
    if candidates.size == 0 or not means[candidates].min() < -NEGATIVE_N:
        return None
    first = candidates[np.flatnonzero(means[candidates] <= means[candidates].min() + ZERO_QUIET_N)[0]]
    return float(means[first]), int(first) * width


def _step_before(x: np.ndarray, at: np.ndarray) -> np.ndarray:
    """The ADC step as seen before each index of ``at``: the smallest non-zero change between
    successive samples up to it (from earlier samples only, as the saturation verdict)."""
    with np.errstate(invalid="ignore"):  # inf − inf: a non-finite stretch, no step
        change = np.abs(np.diff(x[:max(int(at.max()), 1)]))
    # NaN, inf and repeats say nothing; nor do float rounding differences between sums of steps
    change = np.where(change > STEP_FLOOR_N, change, np.inf)
    smallest = np.minimum.accumulate(change) if change.size else np.full(1, np.inf)
    return np.where(at >= 2, smallest[np.clip(at - 2, 0, smallest.size - 1)], np.inf)


def _saturated(x: np.ndarray, rate: float) -> list[tuple[int, int, int]]:
    """Clipped plateaus as (first, last, known) sample indices: runs of identical values at or
    above every earlier sample, entered by a strict rise, that either rose more than
    SATURATION_DROP of their value (and SATURATION_MIN_DROP_N, and SATURATION_QUANTA ADC steps a
    sample) over the SATURATION_REACH samples before and last SATURATION_SHORT_S (≥ 4 samples; a
    fast rise: known that long), or last
    SATURATION_HOLD_S after rising SATURATION_SLOW_RISE in SATURATION_RISE_S (a slower rise, as
    in an isometric hold: known once that long). Quantised real data repeats values on a flat
    stretch or a smooth peak too, but creeps up to them and leaves them within a few samples.
    The verdict on a sample rests on it and the samples before it from ``known`` on."""
    reach, n = SATURATION_REACH, x.shape[0]
    short = max(4, int(round(SATURATION_SHORT_S * rate)))
    hold = max(SATURATION_HOLD_MIN, int(round(SATURATION_HOLD_S * rate)))
    rise = int(round(SATURATION_RISE_S * rate))
    if n <= reach + 2:
        return []
    # a plateau's first sample a: x[a] == x[a+1] == x[a+2], entered by a strict rise (finite:
    # an infinite run is a nonfinite_samples issue, not a clipped one)
    p = x[reach:n - 2]
    a = np.flatnonzero((p == x[reach + 1:n - 1]) & (p == x[reach + 2:n]) & (p > x[reach - 1:n - 3])
                       & np.isfinite(p)) + reach
    if a.size == 0:
        return []
    level = x[a]
    floor = np.maximum(SATURATION_MIN_DROP_N, SATURATION_DROP * np.abs(level))
    steep = level - x[a - reach] > floor
    if steep.any():  # the ADC step only where it decides: the scan over the samples costs
        steep[steep] = (level - x[a - reach])[steep] > SATURATION_QUANTA * reach * _step_before(x, a[steep])
    slow = (a >= rise) & (a + hold <= n) & (level == x[np.minimum(a + hold - 1, n - 1)]) & \
        (level - x[np.maximum(a - rise, 0)] > np.maximum(SATURATION_MIN_DROP_N,
                                                         SATURATION_SLOW_RISE * np.abs(level)))
    keep = steep | slow
    if keep.any():  # something before it read more: not the plate's full scale
        keep[keep] = ~(level[keep] < np.fmax.accumulate(x[:int(a[keep].max())])[a[keep] - 1])
    found = []
    for start, fast in zip(a[keep].tolist(), steep[keep].tolist()):
        value = x[start]
        stop = start + 2
        while stop + 1 < n and x[stop + 1] == value:
            stop += 1
        if fast and stop - start + 1 >= short:
            found.append((start, stop, start + short - 1))
        elif stop - start + 1 >= hold:
            found.append((start, stop, start + hold - 1))
    return found
