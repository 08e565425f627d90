"""Running steps on an instrumented treadmill (one plate, or left/right belts) or runway plates.

Vertical force per step follows the two-mass model of Clark, Ryan & Weyand (J Exp Biol 2017):
an impact bell from the lower leg (8 % of body mass stopped from ``foot_strike_speed_m_s``,
J1 = 0.08·m·Δv, rising as sin² to its peak at ``impact_time_s`` = t1 and unloading as cos²
over 1.25·t1, so that it merges smoothly into the rising active bell: a bump with a shallow
dip on the rising edge, not a spike and a notch) plus an active bell
A·u^α·(1 − u)^β, u = t/tc, peaking at 47 % of contact. The active bell carries the rest of
the step's impulse, so each step's impulse is exactly m·g·(tc + ta) (ta the aerial time that
follows) and the mean force over whole strides is exactly body weight. Both bells start and
end at 0 N, so contact times are exact. Contact time = contact length / speed; cadence rises
gently with speed; per-step jitter (1.5 % contact, 3 % flight); the athlete's asymmetry
makes the stronger limb's contacts slightly shorter.

The recording starts at a random point of a step (often mid-contact) and may end mid-step;
truth counts complete contacts only (touchdown at or after the first sample, take-off at or
before the last).

Options: speed_m_s (2–7 m/s, default the athlete's), duration_s (default 6 s),
strike="rearfoot" (default, with an impact peak) | "forefoot" (no impact peak: the impact
bell carries a fifth of the impulse over three times the width and merges into the active bell).
Truth: step_count, cadence_spm (60·(N−1)/(last − first touchdown)), and the mean over complete
steps of contact_time_s, flight_time_s (flights that end inside the recording),
peak_force_n (active peak), peak_force_bw, impact_peak_n and loading_rate_bw_s (over steps
with an impact peak; absent when none has one), vertical_impulse_n_s; per_rep holds every
complete step (with touchdown_s, takeoff_s and left_foot = 1 or 0); two plates add
contact_time_asym_pct and peak_force_asym_pct. body_weight_n = m·g = the stride mean.
"""
from __future__ import annotations

import numpy as np
from scipy.optimize import brentq, minimize_scalar
from scipy.special import beta

from sim.athlete import Athlete
from sim.movements import common
from sim.trial import G, SimulationError, Trial

OPTIONS = frozenset({"speed_m_s", "duration_s", "strike"})
LOWER_LEG_MASS = 0.08  # fraction of body mass in the impact (Clark et al. 2017)
ACTIVE_PEAK = 0.47  # fraction of contact at which the active bell peaks
ACTIVE_BETA = 2.0
ACTIVE_ALPHA = ACTIVE_BETA * ACTIVE_PEAK / (1 - ACTIVE_PEAK)
STRIKES = {"rearfoot": (1.0, 1.0), "forefoot": (0.2, 3.0)}  # impact impulse and width factors
GRID_S = 1e-5  # truth search grid before polishing
IMPACT_FALL = 1.25  # impact bell's unloading time / its rise time t1


class Steps:
    """Per-step parameters (arrays over steps) and the force of each step in local time."""

    def __init__(self, mass: float, tc: np.ndarray, tf: np.ndarray, impact_n_s: np.ndarray,
                 impact_time: np.ndarray):
        self.tc, self.tf, self.t1 = tc, tf, impact_time
        self.fall = IMPACT_FALL * impact_time
        self.a1 = 2 * impact_n_s / (impact_time + self.fall)  # sin² then cos²: area a1·(t1 + fall)/2
        active_n_s = mass * G * (tc + tf) - impact_n_s
        if np.any(active_n_s <= 0):
            raise SimulationError("impact impulse exceeds the step's impulse; choose a faster speed")
        self.a2 = active_n_s / (tc * beta(ACTIVE_ALPHA + 1, ACTIVE_BETA + 1))

    def force(self, i: int | np.ndarray, t: np.ndarray) -> np.ndarray:
        """Force of step(s) ``i`` at local time(s) ``t`` in [0, tc]."""
        t1, fall = self.t1[i], self.fall[i]
        rising = np.sin(np.pi * np.minimum(t, t1) / (2 * t1)) ** 2
        unloading = np.cos(np.pi * np.clip(t - t1, 0.0, fall) / (2 * fall)) ** 2
        impact = self.a1[i] * np.where(t < t1, rising, unloading)
        u = np.clip(t / self.tc[i], 0.0, 1.0)
        return impact + self.a2[i] * u**ACTIVE_ALPHA * (1 - u) ** ACTIVE_BETA


def _polish_max(f, lo: float, hi: float) -> tuple[float, float]:
    found = minimize_scalar(lambda x: -f(x), bounds=(lo, hi), method="bounded",
                            options={"xatol": 1e-10})
    return float(-found.fun), float(found.x)


def step_truth(steps: Steps, i: int, body_weight: float) -> dict[str, float]:
    """Active peak, impact peak and loading rate of step ``i`` from its continuous force."""
    def f(x):
        return float(steps.force(i, np.asarray(x)))

    tc, t1 = steps.tc[i], steps.t1[i]
    grid = np.arange(0.0, tc, GRID_S)
    values = steps.force(i, grid)
    k = int(np.argmax(np.where(grid >= min(t1 + steps.fall[i], ACTIVE_PEAK * tc), values, -np.inf)))
    peak, _ = _polish_max(f, grid[max(k - 1, 0)], grid[min(k + 1, grid.size - 1)])
    out = {"peak_force_n": peak, "peak_force_bw": peak / body_weight}
    maxima = np.flatnonzero((values[1:-1] > values[:-2]) & (values[1:-1] >= values[2:])) + 1
    if maxima.size > 1:  # a local maximum before the active peak: the impact peak
        j = int(maxima[0])
        impact, t_imp = _polish_max(f, grid[j - 1], grid[j + 1])
        t20 = brentq(lambda x: f(x) - 0.2 * impact, 0.0, t_imp, xtol=1e-13)
        t80 = brentq(lambda x: f(x) - 0.8 * impact, 0.0, t_imp, xtol=1e-13)
        out["impact_peak_n"] = impact
        out["loading_rate_bw_s"] = 0.6 * impact / (t80 - t20) / body_weight
    return out


def simulate(athlete: Athlete, rate_hz: float, plates: int, rng: np.random.Generator, *,
             speed_m_s: float | None = None, duration_s: float = 6.0,
             strike: str = "rearfoot") -> Trial:
    common.check_setup(rate_hz, plates)
    if strike not in STRIKES:
        raise SimulationError(f"strike must be 'rearfoot' or 'forefoot', got {strike!r}")
    speed = athlete.run_speed_m_s if speed_m_s is None else common.check_range(
        "speed", speed_m_s, 2.0, 7.0, "m/s")
    duration = common.check_range("duration", duration_s, 1.0, 600.0, "s")
    contact = athlete.contact_length_m / speed
    step_time = 60.0 / (athlete.cadence_spm * (speed / athlete.run_speed_m_s) ** 0.3)
    if step_time - contact < 0.03:
        raise SimulationError(f"at {speed:g} m/s this runner's contacts ({contact:.3f} s) leave "
                              f"no flight in a {step_time:.3f} s step; choose a faster speed")

    count = int(np.ceil((duration + 2 * step_time) / (step_time * 0.9))) + 2
    left_first = rng.uniform() < 0.5
    left = (np.arange(count) % 2 == 0) == left_first
    lean = (athlete.left_share - 0.5) * 0.4  # stronger limb: shorter contact
    tc = contact * np.where(left, 1 - lean, 1 + lean) * (1 + 0.015 * rng.standard_normal(count))
    tf = (step_time - contact) * (1 + 0.03 * rng.standard_normal(count))
    m = athlete.mass_kg
    impulse, width = STRIKES[strike]
    steps = Steps(m, tc, tf, LOWER_LEG_MASS * m * athlete.foot_strike_speed_m_s * impulse
                  * (1 + 0.05 * rng.standard_normal(count)),
                  athlete.impact_time_s * width * (1 + 0.05 * rng.standard_normal(count)))
    touchdown = -rng.uniform(0.0, step_time) + np.concatenate(([0.0], np.cumsum(tc + tf)[:-1]))
    takeoff = touchdown + tc

    times = common.sample_times(duration, rate_hz)
    step = np.searchsorted(touchdown, times, side="right") - 1
    local = times - touchdown[step]
    loaded = local < tc[step]
    force = np.zeros((times.size, plates))
    column = np.where(left[step], 0, 1) if plates == 2 else np.zeros(times.size, dtype=int)
    force[np.flatnonzero(loaded), column[loaded]] = steps.force(step[loaded], local[loaded])
    cop = np.zeros((times.size, plates, 2))
    heel_to_toe = -0.08 + 0.18 * np.clip(local / tc[step], 0.0, 1.0)
    cop[np.arange(times.size), column, 0] = heel_to_toe
    if plates == 1:
        cop[:, 0, 1] = np.where(left[step], 0.09, -0.09)

    last = times[-1]
    complete = np.flatnonzero((touchdown >= 0.0) & (takeoff <= last))
    if complete.size < 2:
        raise SimulationError(f"duration {duration:g} s holds fewer than two complete steps")
    bw = m * G
    per_rep = []
    for i in complete:
        rep = {"touchdown_s": touchdown[i], "takeoff_s": takeoff[i], "contact_time_s": tc[i],
               "left_foot": float(left[i]), "vertical_impulse_n_s": bw * (tc[i] + tf[i]),
               **step_truth(steps, i, bw)}
        if i + 1 < count and touchdown[i + 1] <= last:
            rep["flight_time_s"] = tf[i]
        per_rep.append(rep)
    metrics = {"step_count": len(per_rep),
               "cadence_spm": 60.0 * (len(per_rep) - 1) / (per_rep[-1]["touchdown_s"] - per_rep[0]["touchdown_s"])}
    for name in ("contact_time_s", "flight_time_s", "peak_force_n", "peak_force_bw",
                 "impact_peak_n", "loading_rate_bw_s", "vertical_impulse_n_s"):
        values = [rep[name] for rep in per_rep if name in rep]
        if values:
            metrics[name] = float(np.mean(values))
    if plates == 2:
        for name, metric in (("contact_time_s", "contact_time_asym_pct"),
                             ("peak_force_n", "peak_force_asym_pct")):
            sides = [[rep[name] for rep in per_rep if rep["left_foot"] == side] for side in (1.0, 0.0)]
            if all(sides):
                metrics[metric] = common.asym_pct(np.mean(sides[0]), np.mean(sides[1]))
    events = {"first_touchdown_s": per_rep[0]["touchdown_s"],
              "last_takeoff_s": per_rep[-1]["takeoff_s"]}
    return common.make_trial("run", rate_hz, force, cop, athlete, metrics, events, tuple(per_rep))
