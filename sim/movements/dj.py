"""Drop jump: drop from a box onto the plate, rebound at once, fly, land, stand still ≥1 s.

The plate is empty (force exactly 0) until touchdown. The centre of mass lands with the
speed of a free fall from the box height, v = sqrt(2·g·drop_height) (the convention that the
analysis assumes with --drop-height), at force 0 (a = −g) with the force rising at once
(120 BW/s), is braked by one septic to its lowest point and pushed by another to take-off
(a = −g again), joined as smoothly as possible (sim.kinematics.smooth_knot). The braking and
propulsion mean velocities are 0.5 and 0.55 of the touchdown and take-off speeds; the contact
lasts the athlete's contact time (0.17–0.28 s from a 0.30 m box), longer when a high box
would need a mean force over 3.3 BW or a low box a push under 90 ms. Then flight, landing,
recovery and ≥1 s of standing, where the analysis weighs. Rebound height = CMJ height ×
``dj_height_ratio``.

Options: drop_height_m (default 0.30 m, 0.05–1.0 m), leg="left"|"right", height_m (rebound
height), duration_s, sway=True (slow postural sway while standing after the landing, from
still standing to the end; its mean there is exactly 0, as in sim.movements.cmj).
Truth: every dj metric of METRICS.md (jump_height_m from the take-off velocity; two plates add
peak_force_asym_pct), plus landing_peak_force_n, touchdown_velocity_m_s and
takeoff_velocity_m_s; events touchdown_s, propulsion_s (lowest point), takeoff_s, landing_s.
"""
from __future__ import annotations

import numpy as np

from sim.athlete import Athlete
from sim.kinematics import ballistic, smooth_knot
from sim.movements import common
from sim.movements.jump import (Landing, Segments, check_feasible, land, propel,
                                takeoff_state)
from sim.trial import G, Trial

OPTIONS = frozenset({"leg", "height_m", "drop_height_m", "duration_s", "sway"})
BRAKE_PACE, PUSH_PACE = 0.5, 0.55  # mean velocity / touchdown or take-off speed
IMPACT_BW_S = 120.0  # force slope at touchdown: the plate loads at once
MEAN_NET_BW = 2.3  # contact long enough that the mean force stays under 3.3 BW (high boxes) ...
MIN_PUSH_S = 0.09  # ... and the push from the lowest point lasts this long (low boxes)
MAX_CONTACT_BW = 12.0  # peak contact force the model accepts
DEFAULT_DROP_HEIGHT_M = 0.30  # a common clinic box


def simulate(athlete: Athlete, rate_hz: float, plates: int, rng: np.random.Generator, *,
             leg: str | None = None, height_m: float | None = None,
             drop_height_m: float = DEFAULT_DROP_HEIGHT_M, duration_s: float | None = None,
             sway: bool = False) -> Trial:
    common.check_setup(rate_hz, plates, leg)
    drop = common.check_range("drop height", drop_height_m, 0.05, 1.0, "m")
    height = athlete.cmj_height_m * athlete.dj_height_ratio * common.limb_capacity(athlete, leg)
    if height_m is not None:
        height = common.jump_height(height_m)
    v_in, v_out = np.sqrt(2 * G * drop), np.sqrt(2 * G * height)
    per_depth = 1 / (BRAKE_PACE * v_in) + 1 / (PUSH_PACE * v_out)  # contact time per metre of depth
    contact = max(athlete.dj_contact_time_s, (v_in + v_out) / (MEAN_NET_BW * G),
                  MIN_PUSH_S * PUSH_PACE * v_out * per_depth)
    depth = contact / per_depth
    brake = depth / (BRAKE_PACE * v_in)
    top = athlete.takeoff_rise_m
    what = f"drop jump of {height:.2f} m from {drop:.2f} m in {contact:.3f} s"

    touchdown = rng.uniform(0.5, 1.0)
    segs = Segments()
    segs.add(0.0, ballistic((top + v_in * touchdown - G * touchdown**2 / 2, v_in - G * touchdown)))
    absorb, prop = smooth_knot(brake, (top, -v_in, -G, IMPACT_BW_S * G), (top - depth, 0.0),
                               contact - brake, takeoff_state(top, v_out, athlete.takeoff_slope_bw_s))
    peak_brake = check_feasible(absorb, brake, MAX_CONTACT_BW, what)
    segs.add(touchdown, absorb)
    push = propel(segs, touchdown + brake, prop, contact - brake, top, v_out, what, MAX_CONTACT_BW)
    takeoff = push["takeoff_s"]
    flight = 2 * v_out / G
    landing = takeoff + flight
    settle = land(segs, landing, top, v_out, Landing.of(athlete), what)
    still_s = float(settle["still_s"])
    duration = common.end_of_recording(still_s + 1.2, duration_s, rng, after_s=(0.0, 0.5))

    times = common.sample_times(duration, rate_hz)
    total = segs.path().force(times, athlete.mass_kg)[0]
    takeoff_share, landing_share = common.shares(athlete, leg)
    share = np.where(times < landing, takeoff_share, landing_share)
    forward = ([touchdown, takeoff, landing, still_s], [0.02, 0.05, 0.03, 0.0])
    cop = common.centre_of_pressure(times, plates, rng, forward)
    if sway:
        total = total + common.sway(times, still_s, times[-1], rng)
    m = athlete.mass_kg
    height_flight = G * flight**2 / 8
    metrics = {
        "touchdown_s": touchdown, "takeoff_s": takeoff, "landing_s": landing,
        "contact_time_s": contact, "flight_time_s": flight,
        "jump_height_flight_m": height_flight, "rsi": height_flight / contact,
        "peak_force_n": m * (G + float(np.maximum(peak_brake, push["peak_acc"]))),
        "jump_height_m": v_out**2 / (2 * G), "takeoff_velocity_m_s": v_out,
        "touchdown_velocity_m_s": v_in,
        "landing_peak_force_n": m * (G + float(settle["landing_peak_acc"])),
    }
    if plates == 2:
        metrics["peak_force_asym_pct"] = common.share_asym_pct(takeoff_share)
    events = {"touchdown_s": touchdown, "propulsion_s": touchdown + brake, "takeoff_s": takeoff,
              "landing_s": landing}
    return common.make_trial("dj", rate_hz, common.split(total, share, plates), cop, athlete,
                             common.scalars(metrics), events)
