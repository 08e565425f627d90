"""Repeated hops (pogo): stand still, a small countermovement into the first flight, N stiff
rebound hops, a final landing, standing.

Each rebound contact is a half sine, F = Fmax·sin(π t / tc): it starts and ends at exactly 0 N.
Its impulse returns exactly the momentum of the flights on either side,
Fmax = m·g·(π/2)·(1 + (tf_before + tf_after)/(2·tc)) (DOMAIN.md's mg(π/2)(tf/tc + 1) when the
two flights are equal). Contact and flight times vary a few per cent from hop to hop.
Stiffness k = Fmax / Δy, Δy the model's largest centre-of-mass lowering below touchdown
(DOMAIN.md's Fmax·tc²/(mπ²) − g·tc²/8 for equal flights; solved exactly otherwise).

Options: hops (number of rebound hops, default 10, 1–50), leg="left"|"right" (single-leg pogo:
flight height × the limb's capacity, contacts 10 % longer), duration_s,
sway=True (slow postural sway while standing before onset, as in sim.movements.cmj).
Truth: hop_count and the mean over hops of contact_time_s, flight_time_s, jump_height_flight_m,
rsi, peak_force_n, vertical_stiffness_kn_m; per_rep holds each hop (a contact and the flight
after it) with touchdown_s and takeoff_s; two plates add peak_force_asym_pct. Events:
onset_s, first_takeoff_s, final_landing_s.
"""
from __future__ import annotations

import numpy as np

from sim.athlete import Athlete
from sim.kinematics import smooth_knot, still
from sim.movements import common
from sim.movements.jump import (MAX_PUSH_BW, Landing, Segments, check_feasible, descent_time, land,
                                propel, takeoff_state)
from sim.trial import G, SimulationError, Trial

OPTIONS = frozenset({"leg", "hops", "duration_s", "sway"})
PER_HOP = ("contact_time_s", "flight_time_s", "jump_height_flight_m", "rsi", "peak_force_n",
           "vertical_stiffness_kn_m")
START_DEPTH_M, START_PACE = 0.10, 0.57


def lowering(fmax: np.ndarray, tc: np.ndarray, v_in: np.ndarray, mass: float) -> np.ndarray:
    """Largest centre-of-mass lowering below touchdown during half-sine contacts (exact:
    bisection to machine precision on the velocity, which crosses zero once)."""
    k = fmax * tc / (mass * np.pi)

    def velocity(t):
        return -v_in + k * (1 - np.cos(np.pi * t / tc)) - G * t

    lo, hi = np.zeros_like(tc), tc.copy()
    for _ in range(60):
        mid = 0.5 * (lo + hi)
        below = velocity(mid) < 0
        lo, hi = np.where(below, mid, lo), np.where(below, hi, mid)
    t = 0.5 * (lo + hi)
    return -(-v_in * t + k * (t - tc / np.pi * np.sin(np.pi * t / tc)) - G * t**2 / 2)


def simulate(athlete: Athlete, rate_hz: float, plates: int, rng: np.random.Generator, *,
             leg: str | None = None, hops: int = 10, duration_s: float | None = None,
             sway: bool = False) -> Trial:
    common.check_setup(rate_hz, plates, leg)
    count = int(common.check_range("hops", hops, 1, 50, "hops"))
    if count != hops:
        raise SimulationError(f"hops must be a whole number, got {hops!r}")
    m = athlete.mass_kg
    contact = athlete.hop_contact_time_s * (1.0 if leg is None else 1.1)
    flight = athlete.hop_flight_time_s * np.sqrt(common.limb_capacity(athlete, leg))
    tc = contact * np.clip(1 + 0.03 * rng.standard_normal(count), 0.9, 1.1)
    tf = flight * np.clip(1 + 0.04 * rng.standard_normal(count + 1), 0.88, 1.12)  # tf[i] before hop i+1

    # start-up countermovement into the first flight
    segs = Segments()
    segs.add(0.0, still(0.0))
    onset = rng.uniform(1.3, 2.0)
    down_time = descent_time(START_DEPTH_M, 3.2)
    what = f"{count} hops of {flight:.2f} s flight"
    v0 = G * tf[0] / 2
    rise = athlete.takeoff_rise_m
    push_time = (START_DEPTH_M + rise) / (START_PACE * v0)
    down, prop = smooth_knot(down_time, (0.0, 0.0, 0.0, 0.0), (-START_DEPTH_M, 0.0), push_time,
                             takeoff_state(rise, v0, athlete.takeoff_slope_bw_s))
    check_feasible(down, down_time, MAX_PUSH_BW, what)
    segs.add(onset, down)
    push = propel(segs, onset + down_time, prop, push_time, rise, v0, what)
    first_takeoff = float(push["takeoff_s"])

    touchdown = first_takeoff + np.cumsum(tf[:-1]) + np.concatenate(([0.0], np.cumsum(tc)[:-1]))
    takeoff = touchdown + tc
    fmax = m * G * (np.pi / 2) * (1 + (tf[:-1] + tf[1:]) / (2 * tc))
    final_landing = float(takeoff[-1] + tf[-1])
    settle = land(segs, final_landing, rise, G * tf[-1] / 2, Landing.of(athlete), what)
    still_s = float(settle["still_s"])
    duration = common.end_of_recording(still_s, duration_s, rng)

    times = common.sample_times(duration, rate_hz)
    total = segs.path().force(times, m)[0]
    hop = np.searchsorted(touchdown, times, side="right") - 1  # last touchdown at or before t
    local = times - touchdown[np.maximum(hop, 0)]
    inside = (hop >= 0) & (local < tc[np.maximum(hop, 0)]) & (times < takeoff[-1])
    i = hop[inside]
    total[inside] = fmax[i] * np.sin(np.pi * local[inside] / tc[i])

    takeoff_share, landing_share = common.shares(athlete, leg)
    share = np.where(times < final_landing, takeoff_share, landing_share)
    forward = ([onset, first_takeoff, final_landing, still_s], [0.0, 0.06, 0.04, 0.0])
    cop = common.centre_of_pressure(times, plates, rng, forward)
    if sway:
        total = total + common.sway(times, 0.0, onset, rng)

    height = G * tf[1:] ** 2 / 8
    per_hop = {
        "touchdown_s": touchdown, "takeoff_s": takeoff, "contact_time_s": tc,
        "flight_time_s": tf[1:], "jump_height_flight_m": height, "rsi": height / tc,
        "peak_force_n": fmax,
        "vertical_stiffness_kn_m": fmax / lowering(fmax, tc, G * tf[:-1] / 2, m) / 1000.0,
    }
    per_rep = tuple({name: values[j] for name, values in per_hop.items()} for j in range(count))
    metrics = {"hop_count": count, **{name: float(np.mean(per_hop[name])) for name in PER_HOP}}
    if plates == 2:
        metrics["peak_force_asym_pct"] = common.share_asym_pct(takeoff_share)
    events = {"onset_s": onset, "first_takeoff_s": first_takeoff, "final_landing_s": final_landing}
    return common.make_trial("hops", rate_hz, common.split(total, share, plates), cop, athlete,
                             metrics, events, per_rep)
