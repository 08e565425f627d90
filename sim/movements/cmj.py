"""Countermovement jump: stand still, dip, jump, land, stand still.

The centre of mass follows septic segments (sim.movements.jump): quiet standing → descent to
the countermovement depth → propulsion to take-off with a = −g (force exactly 0) → flight of
2v/g → landing (peak 3–5.5 BW 35–65 ms after touchdown) → damped settle → standing. Force and
its slope are continuous wherever the athlete is on the plate.
Standing force is exactly body weight (unless sway=True); the centre of pressure sways a few mm.

Options (all keyword):
    leg="left"|"right"   single-leg jump: all force on that limb's plate (the only plate when
                         plates=1); height scaled by the limb's capacity (0.45 × bilateral for
                         an average limb).
    height_m, depth_m    override the athlete's jump height (v²/2g) and countermovement depth.
    duration_s           recording length (default: the movement plus 1–1.5 s of standing).
    untrimmed="step_off_before"  the athlete stands ≥1 s, steps off the plate (force ramps from
                         body weight to 0 over 0.3–0.6 s), is off for 0.5–1 s, steps back on
                         (0 → body weight over 0.3–0.6 s), stands still 1.2–2 s, then jumps.
                         Events: step_off_s, off_plate_s, step_on_s, on_plate_s.
    untrimmed="step_off_after"   after the jump and ≥1 s of standing the athlete steps off;
                         the plate stays empty for the last 0.5–1.5 s. Events: step_off_s,
                         off_plate_s.
    second_jump=True     a second CMJ 1–2 s after standing still again (height within −5/+3 %).
                         ``metrics`` and unsuffixed events describe the FIRST jump; ``per_rep``
                         holds both jumps' metrics and events (per_rep[0] = first jump), and
                         the second jump's events are also in ``events`` as onset_2_s,
                         braking_2_s, propulsion_2_s, takeoff_2_s, landing_2_s.
    fidget=True          a weight shift (the centre of mass bobs 2–4 cm over 0.6–1 s) early in
                         the quiet standing, followed by 1.3–1.8 s of stillness before onset,
                         so the weighing window must be searched for. Events: fidget_start_s,
                         fidget_end_s.
    sway=True            slow postural sway while standing still before the movement (1.4–5.8 N
                         SD over 1 s; sim.movements.common.sway): its mean over that stretch is
                         exactly 0, so body_weight_n = m·g stays the stretch's true mean force.

Truth events: onset_s, braking_s (lowest velocity), propulsion_s (lowest point), takeoff_s,
landing_s. Truth metrics: every cmj metric of METRICS.md, plus the asymmetry metrics with two
plates (exact: each plate carries a fixed share of the force, which changes only in flight).
"""
from __future__ import annotations

import dataclasses

import numpy as np

from sim.athlete import Athlete
from sim.kinematics import septic, still
from sim.movements import common
from sim.movements.jump import JumpParams, Landing, Segments, countermovement_jump, propulsion_time
from sim.trial import G, SimulationError, Trial

OPTIONS = frozenset({"leg", "height_m", "depth_m", "duration_s", "untrimmed", "second_jump",
                     "fidget", "sway"})
UNTRIMMED = (None, "step_off_before", "step_off_after")
EVENTS = ("onset_s", "braking_s", "propulsion_s", "takeoff_s", "landing_s")
METRICS = ("onset_s", "takeoff_s", "landing_s", "time_to_takeoff_s", "takeoff_velocity_m_s",
           "jump_height_m", "jump_height_flight_m", "flight_time_s", "rsi_modified",
           "peak_force_n", "mean_propulsive_force_n", "propulsive_impulse_n_s", "peak_power_w",
           "landing_peak_force_n", "countermovement_depth_m")


def jump_params(athletes: list[Athlete], leg: str | None = None, height_m: float | None = None,
                depth_m: float | None = None, squat: bool = False) -> JumpParams:
    """Arrays of the athletes' jump parameters, with option overrides."""
    def column(name: str) -> np.ndarray:
        return np.array([getattr(a, name) for a in athletes], dtype=float)

    height = column("cmj_height_m") * (column("sj_height_ratio") if squat else 1.0)
    height = height * np.array([common.limb_capacity(a, leg) for a in athletes])
    if height_m is not None:
        height = np.full(len(athletes), common.jump_height(height_m))
    depth = column("cmj_depth_m")
    if depth_m is not None:
        depth = np.full(len(athletes), common.check_range("depth", depth_m, 0.05, 0.6, "m"))
    rise, pace = column("takeoff_rise_m"), column("propulsion_pace")
    # the athlete's descent keeps its pace when an option changes the height or depth
    descent = (column("cmj_time_to_takeoff_s") - propulsion_time(
        column("cmj_height_m"), column("cmj_depth_m"), rise, pace)) \
        * np.sqrt(depth / column("cmj_depth_m"))
    return JumpParams(
        mass_kg=column("mass_kg"), height_m=height, depth_m=depth,
        time_to_takeoff_s=descent + propulsion_time(height, depth, rise, pace),
        propulsion_pace=pace * (0.92 if squat else 1.0), takeoff_rise_m=rise,
        takeoff_slope_bw_s=column("takeoff_slope_bw_s"), landing=Landing.of(*athletes))


def simulate(athlete: Athlete, rate_hz: float, plates: int, rng: np.random.Generator, *,
             leg: str | None = None, height_m: float | None = None, depth_m: float | None = None,
             duration_s: float | None = None, untrimmed: str | None = None,
             second_jump: bool = False, fidget: bool = False,
             sway: bool = False) -> Trial:
    common.check_setup(rate_hz, plates, leg)
    if untrimmed not in UNTRIMMED:
        raise SimulationError(f"untrimmed must be 'step_off_before' or 'step_off_after', got {untrimmed!r}")
    params = jump_params([athlete], leg, height_m, depth_m)
    segs = Segments()
    segs.add(0.0, still(0.0))
    events: dict[str, float] = {}
    envelope = [(0.0, 1.0)]  # (time, fraction of the athlete's weight on the plate) knots
    t = 0.0
    if untrimmed == "step_off_before":
        t, envelope = _step_off(rng.uniform(1.0, 1.5), rng, events, envelope)
        events["step_on_s"] = t = t + rng.uniform(0.5, 1.0)
        events["on_plate_s"] = t = t + rng.uniform(0.3, 0.6)
        envelope += [(events["step_on_s"], 0.0), (t, 1.0)]
    if fidget:
        events["fidget_start_s"] = t = t + rng.uniform(0.2, 0.6)
        half, dip = rng.uniform(0.3, 0.5), rng.uniform(0.02, 0.04)
        segs.add(t, septic(half, (0.0, 0.0, 0.0), (-dip, 0.0, 0.0)))
        segs.add(t + half, septic(half, (-dip, 0.0, 0.0), (0.0, 0.0, 0.0)))
        events["fidget_end_s"] = t = t + 2 * half
        segs.add(t, still(0.0))
        onset = t + rng.uniform(1.3, 1.8)
    else:
        onset = t + rng.uniform(1.3, 2.0)
    quiet_from = t

    jumps = [common.scalars(countermovement_jump(segs, np.array([onset]), params))]
    if second_jump:
        again = dataclasses.replace(params, height_m=params.height_m * rng.uniform(0.95, 1.03))
        onset2 = jumps[0]["still_s"] + rng.uniform(1.0, 2.0)
        jumps.append(common.scalars(countermovement_jump(segs, np.array([onset2]), again)))
        events.update({name.replace("_s", "_2_s"): jumps[1][name] for name in EVENTS})
    end = jumps[-1]["still_s"]
    if untrimmed == "step_off_after":
        t, envelope = _step_off(end + rng.uniform(1.0, 1.5), rng, events, envelope)
        end = t + rng.uniform(0.5, 1.5)
        duration = common.end_of_recording(end, duration_s, rng, after_s=(0.0, 0.0))
    else:
        duration = common.end_of_recording(end, duration_s, rng)

    times = common.sample_times(duration, rate_hz)
    on_plate = 0.5 - 0.5 * np.cos(np.pi * np.interp(times, *zip(*envelope)))
    total = segs.path().force(times, athlete.mass_kg)[0] * on_plate
    takeoff_share, landing_share = common.shares(athlete, leg)
    share = np.where(times < jumps[0]["landing_s"], takeoff_share, landing_share)
    forward = _toes(jumps)
    cop = common.centre_of_pressure(times, plates, rng, forward)
    if sway:
        total = total + common.sway(times, quiet_from, onset, rng)

    first = jumps[0]
    metrics = {name: first[name] for name in METRICS}
    events.update({name: first[name] for name in EVENTS})
    if plates == 2:
        metrics["propulsive_impulse_asym_pct"] = common.share_asym_pct(takeoff_share)
        metrics["peak_force_asym_pct"] = common.share_asym_pct(takeoff_share)
        metrics["landing_peak_force_asym_pct"] = common.share_asym_pct(landing_share)
    per_rep = tuple({name: jump[name] for name in METRICS + EVENTS[1:3]} for jump in jumps) \
        if second_jump else ()
    return common.make_trial("cmj", rate_hz, common.split(total, share, plates), cop, athlete,
                             metrics, events, per_rep)


def _step_off(start: float, rng: np.random.Generator, events: dict, envelope: list):
    """Weight leaves the plate over 0.3–0.6 s from ``start``; returns when it is off."""
    events["step_off_s"] = start
    events["off_plate_s"] = off = start + rng.uniform(0.3, 0.6)
    return off, envelope + [(start, 1.0), (off, 0.0)]


def _toes(jumps: list[dict]) -> tuple[list[float], list[float]]:
    """Centre-of-pressure forward shift knots: onto the toes by take-off, back after landing."""
    times, shift = [], []
    for jump in jumps:
        times += [jump["onset_s"], jump["takeoff_s"], jump["landing_s"], jump["still_s"]]
        shift += [0.0, 0.05, 0.03, 0.0]
    return times, shift


def simulate_batch(athletes: list[Athlete], rate_hz: float, rng: np.random.Generator,
                   duration_s: float = 5.0, chunk: int = 200) -> list[Trial]:
    """Many plain CMJs at once (one plate, noise-free, no options, no centre of pressure):
    each athlete gets its own trial and exact truth, computed for all of them together."""
    common.check_setup(rate_hz, 1)
    times = common.sample_times(common.check_range("duration", duration_s, 2.0, 600.0, "s"), rate_hz)
    trials: list[Trial] = []
    for first in range(0, len(athletes), chunk):
        group = athletes[first:first + chunk]
        params = jump_params(group)
        v = np.sqrt(2 * G * params.height_m)
        # touchdown to the lowest point after landing takes well under 0.4 s
        after_onset = params.time_to_takeoff_s + 2 * v / G + params.landing.recovery_s + 0.4
        latest = times[-1] - after_onset - 0.3
        if np.any(latest < 1.0):
            raise SimulationError(f"duration {duration_s:g} s is too short for these jumps")
        onset = np.minimum(rng.uniform(1.2, 2.0, size=len(group)), latest)
        segs = Segments()
        segs.add(np.zeros(len(group)), still(np.zeros(len(group))))
        truth = countermovement_jump(segs, onset, params)
        force = segs.path().force(times, params.mass_kg)
        for b, athlete in enumerate(group):
            metrics = {name: truth[name][b] for name in METRICS}
            events = {name: truth[name][b] for name in EVENTS}
            trials.append(common.make_trial("cmj", rate_hz, force[b][:, None], None, athlete,
                                            metrics, events))
    return trials
