"""Squat jump: hold a still squat (≥1 s, weighed there), jump without a dip, land, stand.

The recording starts with the athlete already still in the squat (centre of mass at the
athlete's countermovement depth below standing); propulsion is one septic from rest
(force = body weight, so onset is the lowest point) to take-off with a = −g, then flight,
landing and standing as in sim.movements.cmj. Height = CMJ height × ``sj_height_ratio``.

Options: leg="left"|"right" (single leg), height_m, depth_m (squat depth), duration_s,
sway=True (slow postural sway while holding the squat before onset, as in sim.movements.cmj).
Truth: every sj metric of METRICS.md (asymmetry metrics with two plates); events onset_s,
propulsion_s (= onset_s), takeoff_s, landing_s.
"""
from __future__ import annotations

import numpy as np

from sim.athlete import Athlete
from sim.kinematics import still
from sim.movements import common
from sim.movements.cmj import jump_params
from sim.movements.jump import Segments, countermovement_jump
from sim.trial import Trial

OPTIONS = frozenset({"leg", "height_m", "depth_m", "duration_s", "sway"})
EVENTS = ("onset_s", "propulsion_s", "takeoff_s", "landing_s")
METRICS = ("onset_s", "takeoff_s", "landing_s", "time_to_takeoff_s", "takeoff_velocity_m_s",
           "jump_height_m", "jump_height_flight_m", "flight_time_s", "rsi_modified",
           "peak_force_n", "mean_propulsive_force_n", "propulsive_impulse_n_s", "peak_power_w",
           "landing_peak_force_n")


def simulate(athlete: Athlete, rate_hz: float, plates: int, rng: np.random.Generator, *,
             leg: str | None = None, height_m: float | None = None, depth_m: float | None = None,
             duration_s: float | None = None, sway: bool = False) -> Trial:
    common.check_setup(rate_hz, plates, leg)
    params = jump_params([athlete], leg, height_m, depth_m, squat=True)
    segs = Segments()
    segs.add(0.0, still(-params.depth_m))
    onset = rng.uniform(1.3, 2.0)
    jump = common.scalars(countermovement_jump(segs, np.array([onset]), params, squat=True))
    duration = common.end_of_recording(jump["still_s"], duration_s, rng)
    times = common.sample_times(duration, rate_hz)
    total = segs.path().force(times, athlete.mass_kg)[0]
    takeoff_share, landing_share = common.shares(athlete, leg)
    share = np.where(times < jump["landing_s"], takeoff_share, landing_share)
    forward = ([onset, jump["takeoff_s"], jump["landing_s"], jump["still_s"]], [0.0, 0.05, 0.03, 0.0])
    cop = common.centre_of_pressure(times, plates, rng, forward)
    if sway:
        total = total + common.sway(times, 0.0, onset, rng)
    metrics = {name: jump[name] for name in METRICS}
    if plates == 2:
        metrics["propulsive_impulse_asym_pct"] = common.share_asym_pct(takeoff_share)
        metrics["peak_force_asym_pct"] = common.share_asym_pct(takeoff_share)
        metrics["landing_peak_force_asym_pct"] = common.share_asym_pct(landing_share)
    return common.make_trial("sj", rate_hz, common.split(total, share, plates), cop, athlete,
                             metrics, {name: jump[name] for name in EVENTS})
