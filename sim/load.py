"""Training-load series, vectorised over athletes: arrays are (athletes, days).

Daily load is in arbitrary units (AU): session-RPE, minutes × rating of perceived exertion
(Foster 2001), summed over the day's sessions. From it:

- ACWR, three forms (Hulin 2016; Lolli 2019; Williams 2017): *coupled* rolling (acute 7-day
  mean over the 28-day mean that contains it, so it can never exceed 4.0), *uncoupled* rolling
  (acute 7 days over the 21 days before them) and *EWMA* (λ = 2/(N+1), N = 7 and 28). For one
  athlete going from 50 to 100 AU/day they give 1.60 / 2.00 / 1.34. A day without a full
  chronic window gives NaN: the ratio is not defined there.
- Banister's fitness–fatigue model, p(t) = p0 + k1·Σ w(s)e^(−(t−s)/τ1) − k2·Σ w(s)e^(−(t−s)/τ2),
  sums over s < t (today's load shows tomorrow); defaults for running (Morton 1990)
  τ1 = 42 d, τ2 = 7 d, k1 = 1, k2 = 2.
- Busso 2003's variable-dose variant: the fatigue gain grows with recent load,
  k2(s) = k3·Σ_{j≤s} w(j)e^(−(s−j)/τ3).

ACWR is reported, never used to decide anything in the model: trouble comes from tissue load
exceeding capacity (sim.tissue); its predictive value is disputed (Impellizzeri 2021).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.signal import lfilter

ACUTE_DAYS, CHRONIC_DAYS = 7, 28


@dataclass(frozen=True)
class Banister:
    """Fitness–fatigue parameters (Morton 1990 defaults for running) and Busso's k3, τ3.

    k3 is set so that k2(t) ≈ 2 for a runner steadily at 300 AU/day (about 45 km a week)."""

    tau_fitness_d: float = 42.0
    tau_fatigue_d: float = 7.0
    k_fitness: float = 1.0
    k_fatigue: float = 2.0
    tau_busso_d: float = 4.0
    k_busso: float = 2.0 / (300.0 / (1.0 - np.exp(-1.0 / 4.0)))


def ewma(load: np.ndarray, days: int) -> np.ndarray:
    """Exponentially weighted moving average with λ = 2/(days+1), started from the mean of
    the first ``days`` days (a series starting on a rest day would otherwise start at 0)."""
    lam = 2.0 / (days + 1.0)
    load = np.asarray(load, dtype=float)
    start = load[..., :days].mean(axis=-1, keepdims=True)
    out, _ = lfilter([lam], [1.0, lam - 1.0], load, axis=-1, zi=(1 - lam) * start)
    return out


def rolling_mean(load: np.ndarray, days: int) -> np.ndarray:
    """Mean of the last ``days`` days including today; NaN before a full window."""
    load = np.asarray(load, dtype=float)
    csum = np.cumsum(load, axis=-1)
    out = np.full(load.shape, np.nan)
    out[..., days - 1] = csum[..., days - 1]
    out[..., days:] = csum[..., days:] - csum[..., :-days]
    return out / days


def acwr(load: np.ndarray) -> dict[str, np.ndarray]:
    """The three acute:chronic workload ratios of a daily load series, by name."""
    load = np.asarray(load, dtype=float)
    acute = rolling_mean(load, ACUTE_DAYS)
    chronic = rolling_mean(load, CHRONIC_DAYS)
    before = np.full(load.shape, np.nan)  # the 21 days before the acute week
    before[..., ACUTE_DAYS:] = rolling_mean(load, CHRONIC_DAYS - ACUTE_DAYS)[..., :-ACUTE_DAYS]
    with np.errstate(divide="ignore", invalid="ignore"):
        coupled = np.where(chronic > 0, acute / chronic, np.nan)
        uncoupled = np.where(before > 0, acute / before, np.nan)
        e_acute, e_chronic = ewma(load, ACUTE_DAYS), ewma(load, CHRONIC_DAYS)
        exp_ratio = np.where(e_chronic > 0, e_acute / e_chronic, np.nan)
    return {"acwr_coupled": coupled, "acwr_uncoupled": uncoupled, "acwr_ewma": exp_ratio}


def _impulse(load: np.ndarray, tau_d: float, before: np.ndarray) -> np.ndarray:
    """Σ_{s<t} w(s)·e^(−(t−s)/τ): a one-pole filter, delayed by one day, with every day
    before the series at ``before`` (athletes, 1)."""
    decay = np.exp(-1.0 / tau_d)
    steady = before * decay / (1.0 - decay)  # the sum at day 0 after a long steady history
    return lfilter([0.0, decay], [1.0, -decay], load, axis=-1, zi=steady)[0]


def fitness_fatigue(load: np.ndarray, params: Banister = Banister()) -> dict[str, np.ndarray]:
    """Banister fitness, fatigue and performance change (p − p0), and Busso's variable-dose
    fatigue and performance change, by name. The athlete is taken to have trained at the
    first four weeks' mean load before the series starts (not from nothing)."""
    load = np.asarray(load, dtype=float)
    before = load[..., :CHRONIC_DAYS].mean(axis=-1, keepdims=True)
    fitness = params.k_fitness * _impulse(load, params.tau_fitness_d, before)
    fatigue = params.k_fatigue * _impulse(load, params.tau_fatigue_d, before)
    # Busso: the gain k2(s) applied to the load of day s, from the loads up to and including s
    decay = np.exp(-1.0 / params.tau_busso_d)
    gain = params.k_busso * lfilter([1.0], [1.0, -decay], load, axis=-1, zi=before * decay / (1 - decay))[0]
    busso_fatigue = _impulse(gain * load, params.tau_fatigue_d, before * params.k_busso * before / (1 - decay))
    return {"fitness": fitness, "fatigue": fatigue, "performance": fitness - fatigue,
            "busso_fatigue": busso_fatigue, "busso_performance": fitness - busso_fatigue}


def series(load: np.ndarray, params: Banister = Banister()) -> dict[str, np.ndarray]:
    """Every daily series the block reports: load, the ACWRs and the fitness–fatigue models."""
    load = np.asarray(load, dtype=float)
    return {"load_au": load, **acwr(load), **fitness_fatigue(load, params)}
