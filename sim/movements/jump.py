"""Jump building blocks shared by cmj, sj, dj and hops: centre-of-mass segments and exact truth.

Positions are metres relative to quiet standing; every function is batch-first (arrays of B
athletes) so that many trials can be built at once. Truth comes from the polynomials
themselves (closed forms, or maxima polished to machine precision), never from samples.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from sim.kinematics import (Path, ballistic, derivative, poly_max, polymul, septic,
                            smooth_knot, still)
from sim.trial import G, SimulationError

MAX_PUSH_BW = 5.0  # peak take-off force the model accepts, in body weights
MAX_LANDING_BW = 9.0
SINE_RISE = (2 / np.pi, 2 / np.pi - 4 / np.pi**2)  # mean and ∫(1−u)·(·) du of sin(πu/2) on [0, 1]
COS2_FALL = (0.5, 0.25 + 1 / np.pi**2)  # the same for cos²(πu/2)
MAX_PEAK_SHARE = 0.6  # of the touchdown speed absorbed by the landing peak (slow touchdowns)
ROUNDING = 1e-9  # m/s²: tolerance of "force never negative" for rounding at a segment end
ArrayLike = np.ndarray | float  # one athlete's value, or one per athlete of a batch


@dataclass
class Segments:
    """A centre-of-mass path under construction: segment start times and coefficients."""

    starts: list = field(default_factory=list)
    coeffs: list = field(default_factory=list)

    def add(self, start: ArrayLike, coeffs: np.ndarray) -> None:
        self.starts.append(start)
        self.coeffs.append(coeffs)

    def path(self) -> Path:
        return Path.join(self.starts, self.coeffs)


def acceleration_of(coeffs: np.ndarray) -> np.ndarray:
    return derivative(derivative(coeffs))


def check_feasible(coeffs: np.ndarray, duration: ArrayLike, limit_bw: float, what: str) -> np.ndarray:
    """Peak acceleration of a contact segment; SimulationError if the force it implies would
    go negative or exceed ``limit_bw`` body weights."""
    acc = acceleration_of(coeffs)
    lowest = -poly_max(-acc, duration)[0]
    peak = poly_max(acc, duration)[0]
    if np.any(peak > (limit_bw - 1.0) * G):
        worst = float(np.max(peak / G + 1.0))
        raise SimulationError(f"{what}: it needs {worst:.1f} body weights of force, more than "
                              f"the model's {limit_bw:g}; choose a smaller height or a deeper, "
                              "slower movement")
    if np.any(lowest < -G - ROUNDING):
        raise SimulationError(f"{what}: the force would have to pull on the plate (go negative); "
                              "choose a slower movement or a smaller height")
    return peak


@dataclass(frozen=True)
class JumpParams:
    """Per-athlete arrays (B,) describing one jump; see sim.athlete.Athlete for meanings."""

    mass_kg: np.ndarray
    height_m: np.ndarray
    depth_m: np.ndarray
    time_to_takeoff_s: np.ndarray
    propulsion_pace: np.ndarray
    takeoff_rise_m: np.ndarray
    takeoff_slope_bw_s: np.ndarray
    landing: "Landing"


def propulsion_time(height_m: ArrayLike, depth_m: ArrayLike, rise_m: ArrayLike,
                    pace: ArrayLike) -> ArrayLike:
    """Lowest point to take-off: the distance covered at ``pace`` × take-off velocity."""
    return (depth_m + rise_m) / (pace * np.sqrt(2 * G * np.asarray(height_m)))


def descent_time(depth_m: ArrayLike, factor: ArrayLike) -> ArrayLike:
    """Onset to the lowest point: ``factor``·sqrt(depth/g) keeps the unweighting dip human."""
    return factor * np.sqrt(np.asarray(depth_m) / G)


def takeoff_state(rise: ArrayLike, v: ArrayLike, slope_bw_s: ArrayLike) -> tuple:
    """Centre of mass at take-off: at ``rise`` with velocity ``v`` and a = −g (force exactly 0),
    the force still falling at ``slope_bw_s`` body weights per second."""
    return rise, v, -G, -np.asarray(slope_bw_s, dtype=float) * G


def propel(segs: Segments, start: ArrayLike, prop: np.ndarray, duration: ArrayLike,
           rise: ArrayLike, v: ArrayLike, what: str,
           limit_bw: float = MAX_PUSH_BW) -> dict:
    """Append the propulsion ``prop`` (ending at take-off at ``rise`` with velocity ``v``) and
    the free flight after it. Returns the propulsion's truth."""
    peak_acc = check_feasible(prop, duration, limit_bw, what)
    segs.add(start, prop)
    takeoff = start + duration
    velocity = derivative(prop)
    segs.add(takeoff, ballistic((rise, v)))
    gravity = np.zeros(prop.shape[-1])
    gravity[0] = G
    power_poly = polymul(acceleration_of(prop) + gravity, velocity)
    peak_power, _ = poly_max(power_poly, duration)  # (g + a)·v per kg
    return {"takeoff_s": takeoff, "peak_acc": peak_acc, "peak_power_per_kg": peak_power,
            "mean_acc": v / duration}


@dataclass(frozen=True)
class Landing:
    """How an athlete lands (floats or arrays (B,)); see sim.athlete.Athlete."""

    peak_time_s: ArrayLike  # touchdown to the landing peak
    peak_bw: ArrayLike  # landing peak force in body weights (less for a slow touchdown)
    bottom_bw: ArrayLike  # force at the lowest point
    recovery_s: ArrayLike  # lowest point back to still standing

    @staticmethod
    def of(*athletes) -> "Landing":
        """The athletes' (sim.athlete.Athlete) landing parameters: floats for one, else arrays."""
        def column(name: str):
            values = np.array([getattr(a, name) for a in athletes], dtype=float)
            return float(values[0]) if len(athletes) == 1 else values

        return Landing(*(column(name) for name in ("landing_peak_time_s", "landing_peak_bw",
                                                   "landing_bottom_bw", "recovery_time_s")))


def land(segs: Segments, touchdown: ArrayLike, top: ArrayLike, speed: ArrayLike, how: Landing,
         what: str) -> dict:
    """Touchdown at height ``top`` falling at ``speed`` (force 0, a = −g): the force rises like
    a quarter sine to the landing peak; the lowest point (velocity 0) lies where a cos² fall
    from the peak to ``bottom_bw`` would put it; from the peak through it to still standing the
    path is the smoothest pair of septics (a damped settle, no corners). The impact septic ends
    at the quarter sine's exact position and velocity and matches its acceleration and jerk at
    both ends, so it follows it closely. Returns the landing peak acceleration and the time at
    which the athlete stands still again."""
    tp = np.asarray(how.peak_time_s, dtype=float)
    absorbed = (SINE_RISE[0] * np.asarray(how.peak_bw) - 1.0) * G * tp  # by the peak, as asked
    v1 = -speed + np.minimum(absorbed, MAX_PEAK_SHARE * speed)  # still falling at the peak
    rise_acc = (v1 + speed + G * tp) / (tp * SINE_RISE[0])  # quarter-sine height above −g
    peak_acc = rise_acc - G
    p1 = top - speed * tp - G * tp**2 / 2 + rise_acc * SINE_RISE[1] * tp**2
    impact = septic(tp, (top, -speed, -G, rise_acc * np.pi / (2 * tp)), (p1, v1, peak_acc, 0.0))
    bottom_acc = (np.asarray(how.bottom_bw) - 1.0) * G
    fall = -v1 / (bottom_acc + (peak_acc - bottom_acc) * COS2_FALL[0])
    p2 = p1 + v1 * fall + bottom_acc * fall**2 / 2 + (peak_acc - bottom_acc) * COS2_FALL[1] * fall**2
    absorb, settle = smooth_knot(fall, (p1, v1, peak_acc, 0.0), (p2, 0.0), how.recovery_s,
                                 (0.0, 0.0, 0.0, 0.0))
    peak = np.maximum.reduce([check_feasible(impact, tp, MAX_LANDING_BW, what),
                              check_feasible(absorb, fall, MAX_LANDING_BW, what),
                              check_feasible(settle, how.recovery_s, MAX_LANDING_BW, what)])
    lowest = touchdown + tp + fall
    segs.add(touchdown, impact)
    segs.add(touchdown + tp, absorb)
    segs.add(lowest, settle)
    still_from = lowest + how.recovery_s
    segs.add(still_from, still(np.zeros_like(np.asarray(still_from, dtype=float))))
    return {"landing_peak_acc": peak, "still_s": still_from}


def countermovement_jump(segs: Segments, onset: np.ndarray, p: JumpParams,
                         squat: bool = False) -> dict:
    """A CMJ (or, with ``squat``, a squat jump from a still squat at −depth) starting at
    ``onset``; appends its segments up to still standing and returns its truth as arrays.

    The countermovement (still → lowest point at −depth, velocity 0) and the propulsion (→
    take-off) are two septics whose join has the acceleration and jerk that make the whole
    push the smoothest (least jerk energy): the force dips, rises through the lowest point and
    peaks without a corner, as on a real plate."""
    v = np.sqrt(2 * G * p.height_m)
    what = (f"{'squat' if squat else 'countermovement'} jump of "
            f"{_fmt(p.height_m)} m from {_fmt(p.depth_m)} m depth")
    prop_time = propulsion_time(p.height_m, p.depth_m, p.takeoff_rise_m, p.propulsion_pace)
    end = takeoff_state(p.takeoff_rise_m, v, p.takeoff_slope_bw_s)
    truth: dict = {"onset_s": onset}
    if squat:
        lowest = onset
        peak_down = np.full_like(v, -np.inf)
        prop = septic(prop_time, (-p.depth_m, 0.0, 0.0, 0.0), end)
    else:
        down_time = p.time_to_takeoff_s - prop_time
        if np.any(down_time < descent_time(p.depth_m, 2.4)):
            raise SimulationError(f"{what}: a time to take-off of {_fmt(p.time_to_takeoff_s)} s "
                                  "is too short for the countermovement")
        down, prop = smooth_knot(down_time, (0.0, 0.0, 0.0, 0.0), (-p.depth_m, 0.0), prop_time, end)
        check_feasible(prop, prop_time, MAX_PUSH_BW, what)  # first: its failure says most
        peak_down = check_feasible(down, down_time, MAX_PUSH_BW, what)
        segs.add(onset, down)
        slowest = poly_max(-derivative(down), down_time)[1]  # lowest (most negative) velocity
        lowest = onset + down_time
        truth["braking_s"] = onset + slowest
        truth["countermovement_depth_m"] = p.depth_m
    push = propel(segs, lowest, prop, prop_time, p.takeoff_rise_m, v, what)
    takeoff = push["takeoff_s"]
    flight = 2 * v / G
    landing = takeoff + flight
    settle = land(segs, landing, p.takeoff_rise_m, v, p.landing, what)
    m = p.mass_kg
    height = v**2 / (2 * G)
    truth.update({
        "propulsion_s": lowest,
        "takeoff_s": takeoff,
        "landing_s": landing,
        "time_to_takeoff_s": takeoff - onset,
        "takeoff_velocity_m_s": v,
        "jump_height_m": height,
        "flight_time_s": flight,
        "jump_height_flight_m": G * flight**2 / 8,
        "rsi_modified": height / (takeoff - onset),
        "peak_force_n": m * (G + np.maximum(peak_down, push["peak_acc"])),
        "mean_propulsive_force_n": m * (G + push["mean_acc"]),  # mean of m(g + a) = m(g + Δv/T)
        "propulsive_impulse_n_s": m * v,
        "peak_power_w": m * push["peak_power_per_kg"],
        "landing_peak_force_n": m * (G + settle["landing_peak_acc"]),
        "still_s": settle["still_s"],
    })
    return truth


def _fmt(values) -> str:
    values = np.atleast_1d(values)
    return f"{values[0]:.2f}" if values.size == 1 else f"{values.min():.2f}–{values.max():.2f}"
