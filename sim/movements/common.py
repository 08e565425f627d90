"""What every movement shares: checks, the left/right split, the centre of pressure, the Trial."""
from __future__ import annotations

from typing import Iterable, Mapping

import numpy as np

from sim.athlete import MAX_JUMP_HEIGHT_M, Athlete
from sim.plate import RATE_RANGE_HZ
from sim.trial import G, SimulationError, Trial, Truth

LEGS = (None, "left", "right")
SINGLE_LEG_HEIGHT = 0.45  # single-leg jump height / bilateral, for a limb of average capacity


def check_setup(rate_hz: float, plates: int, leg: str | None = None) -> None:
    """SimulationError unless the rate is the plate's, there are 1 or 2 plates and a known leg."""
    if not (np.isfinite(rate_hz) and RATE_RANGE_HZ[0] <= rate_hz <= RATE_RANGE_HZ[1]):
        raise SimulationError(f"sample rate must be {RATE_RANGE_HZ[0]:g}–{RATE_RANGE_HZ[1]:g} Hz, "
                              f"got {rate_hz!r}")
    if plates not in (1, 2):
        raise SimulationError(f"plates must be 1 or 2, got {plates!r}")
    if leg not in LEGS:
        raise SimulationError(f"leg must be 'left' or 'right', got {leg!r}")


def check_range(name: str, value: float, lo: float, hi: float, unit: str) -> float:
    """``value`` as a float if lo ≤ value ≤ hi, else a SimulationError naming the option."""
    try:
        value = float(value)
    except (TypeError, ValueError):
        raise SimulationError(f"{name} must be a number, got {value!r}") from None
    if not (np.isfinite(value) and lo <= value <= hi):
        raise SimulationError(f"{name} must be {lo:g}–{hi:g} {unit}, got {value:g}")
    return value


def jump_height(value: float) -> float:
    """A requested jump height (m), refused beyond what the model can produce."""
    try:
        height = float(value)
    except (TypeError, ValueError):
        raise SimulationError(f"jump height must be a number of metres, got {value!r}") from None
    if not (np.isfinite(height) and height > 0):
        raise SimulationError(f"jump height must be a positive number of metres, got {value!r}")
    if not 0.01 <= height <= MAX_JUMP_HEIGHT_M:
        raise SimulationError(f"jump height {height:g} m is impossible: the model produces "
                              f"0.01–{MAX_JUMP_HEIGHT_M:g} m (a world-class CMJ is about 0.8 m)")
    return height


def shares(athlete: Athlete, leg: str | None) -> tuple[float, float]:
    """Left plate's share of force on take-off (and in holds) and on landing."""
    if leg is None:
        return athlete.left_share, athlete.landing_left_share
    side = 1.0 if leg == "left" else 0.0
    return side, side


def limb_capacity(athlete: Athlete, leg: str | None) -> float:
    """Force capacity of the limb(s) used, relative to two average limbs (1.0 bilateral)."""
    return 1.0 if leg is None else SINGLE_LEG_HEIGHT * 2.0 * limb_share(athlete, leg)


def scalars(truth: Mapping[str, np.ndarray | float]) -> dict[str, float]:
    """A one-athlete truth of (1,)-arrays as plain floats."""
    return {k: float(np.asarray(v).reshape(-1)[0]) for k, v in truth.items()}


def limb_share(athlete: Athlete, leg: str) -> float:
    """The named limb's share of bilateral force (0.5 for a symmetric athlete)."""
    return athlete.left_share if leg == "left" else 1.0 - athlete.left_share


def asym_pct(left: float, right: float) -> float:
    """100·(L − R)/max(L, R) (METRICS.md)."""
    return 100.0 * (left - right) / max(left, right)


def share_asym_pct(share: float) -> float:
    """Asymmetry of a quantity split ``share`` : 1 − ``share`` between left and right."""
    return asym_pct(share, 1.0 - share)


def sample_times(duration_s: float, rate_hz: float) -> np.ndarray:
    """Sample times from 0 up to ``duration_s`` inclusive (when it falls on a sample)."""
    return np.arange(int(np.floor(duration_s * rate_hz + 1e-9)) + 1) / rate_hz


def end_of_recording(needed_s: float, duration_s: float | None, rng: np.random.Generator,
                     after_s: tuple[float, float] = (1.0, 1.5)) -> float:
    """Recording length: ``duration_s`` if given (it must hold the movement), else the movement
    plus a still stretch drawn from ``after_s``."""
    tail = rng.uniform(*after_s)
    if duration_s is None:
        return needed_s + tail
    duration_s = check_range("duration", duration_s, 0.5, 600.0, "s")
    if duration_s < needed_s:
        raise SimulationError(f"duration {duration_s:g} s is too short: this movement needs "
                              f"{needed_s:.2f} s")
    return duration_s


def split(total: np.ndarray, left_share: np.ndarray | float, plates: int) -> np.ndarray:
    """(n, plates): the total force on one plate, or (left, right) by the left share."""
    if plates == 1:
        return total[:, None]
    left = total * left_share
    return np.stack([left, total - left], axis=1)


def centre_of_pressure(t: np.ndarray, plates: int, rng: np.random.Generator,
                       forward: tuple[Iterable[float], Iterable[float]] | None = None,
                       sway_mm: float = 3.0) -> np.ndarray:
    """(n, plates, 2) metres in plate coordinates: a few mm of slow postural sway around the
    foot's (or both feet's) centre, plus a forward shift (onto the toes) given as knots."""
    freq = rng.uniform(0.15, 0.6, size=(plates, 2, 2))
    phase = rng.uniform(0.0, 2 * np.pi, size=(plates, 2, 2))
    amp = sway_mm * 1e-3 * rng.uniform(0.5, 1.0, size=(plates, 2, 2)) / 2
    cop = np.zeros((t.size, plates, 2))
    for k in range(2):  # two sinusoids per axis
        cop += amp[:, :, k] * np.sin(2 * np.pi * freq[:, :, k] * t[:, None, None] + phase[:, :, k])
    if forward is not None:
        cop[:, :, 0] += np.interp(t, *forward)[:, None]
    return cop


def make_trial(test: str, rate_hz: float, force: np.ndarray, cop: np.ndarray | None,
               athlete: Athlete, metrics: Mapping[str, float], events: Mapping[str, float],
               per_rep: tuple[Mapping[str, float], ...] = ()) -> Trial:
    """The Trial with the common truth (body weight, body mass) added."""
    common = {"body_weight_n": athlete.mass_kg * G, "body_mass_kg": athlete.mass_kg}
    truth = Truth(test=test, metrics={**common, **{k: float(v) for k, v in metrics.items()}},
                  events={k: float(v) for k, v in events.items()},
                  per_rep=tuple({k: float(v) for k, v in rep.items()} for rep in per_rep))
    return Trial(test=test, rate_hz=float(rate_hz), force=force, truth=truth, cop=cop)


def sway(times: np.ndarray, start: float, end: float, rng: np.random.Generator,
         sd_n: tuple[float, float] = (1.2, 4.5)) -> np.ndarray:
    """Force (N) of slow postural sway over quiet standing [start, end], zero elsewhere.

    Three cosine pairs cos(2πkτ) − cos(2π(k+1)τ), τ = (t − start)/(end − start), k whole
    cycles at 0.2–1.5 Hz: the sway is 0 with a flat slope at both ends, its mean over the
    window is exactly 0 (so m·g stays the window's true mean force) and it returns the centre
    of mass to rest (so the take-off velocity is unchanged). Its SD is drawn from ``sd_n``
    (real weighing: 1.4–5.8 N over 1 s; the default gives 1.4–5.8 N over 1 s windows)."""
    length = end - start
    cycles = np.maximum(1, np.round(rng.uniform(0.2, 1.5, size=3) * length)).astype(int)
    amp = rng.uniform(0.5, 1.0, size=3) * rng.choice([-1.0, 1.0], size=3)
    series = np.zeros(cycles.max() + 2)  # cosine coefficient per whole number of cycles
    np.add.at(series, cycles, amp)
    np.add.at(series, cycles + 1, -amp)
    scale = rng.uniform(*sd_n) / np.sqrt(np.sum(series**2) / 2)
    inside = (times >= start) & (times <= end)
    tau = (times[inside] - start) / length
    out = np.zeros(times.shape)
    for k in np.flatnonzero(series):
        out[inside] += scale * series[k] * np.cos(2 * np.pi * k * tau)
    return out
