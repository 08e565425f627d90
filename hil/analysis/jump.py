"""Vertical jumps from standing (cmj, sj): weighing, onset, impulse–momentum, McMahon phases.

The method, step by step (each rule is one line below where it is applied):
1. Unloaded runs (force < 50 N) are flight candidates. Runs over MAX_FLIGHT_S are steps off the
   plate, runs under MIN_RUN_S noise dips, except a run that ends the recording (it ends in
   flight, however long after take-off, or was cut a few ms after it); a candidate is a jump only if the force in the
   PROPULSION_LOOKBACK_S before it exceeds PROPULSION_MIN_BW body weights (a step off never does).
2. Body weight: the stillest 1 s (lowest SD) between the previous unloaded run and the takeoff
   (or, if that is not quiet, before it: a step on just before the jump), minus the plate's
   unloaded level measured in the flight. An unstable weighing (SD > 2 % BW) leaves every
   weight-based metric out. Once the onset is known, the weighing is widened to the whole quiet
   stance before the integration start (weighing.widen): slow sway averages out over it.
3. Onset: force leaves body weight by 5 SD of the weighing noise (Owen 2014) for good, i.e. after
   the last ≥30 ms spell inside that band before the peak force (searching backwards makes it
   immune to earlier fidgets); then traced back (≤ 30 ms) over 10 ms moving averages to where
   the deviation began growing (a slow rise crosses 5 SD late). Integration starts 30 ms before
   that (Owen's step back), where velocity is taken as zero, so no impulse is missed.
4. Takeoff and landing: edges timed where force meets the unloaded level (events.flight).
5. Net force / mass integrated (trapezoid, no filtering) from the integration start to the
   exact takeoff time: velocity; integrated again: displacement.
6. Phases (McMahon 2018): unweighting from onset; braking from the lowest velocity; propulsion
   from zero velocity (the lowest centre-of-mass point) to takeoff.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from hil.analysis.events import EDGE_FIT_S, RING_BRIDGE_S, Flight, flight, stance_noise, unloaded_runs
from hil.analysis.result import Issue, Partial
from hil.analysis.integrate import cumtrapz, integral_at
from hil.analysis.signal import G, Signal, asymmetry
from hil.analysis.weighing import Weighing, weigh, widen, without_movement

MAX_FLIGHT_S = 1.0  # a 1 s flight is a 1.23 m jump: longer unloaded spans are steps off the plate
MIN_RUN_S = 0.010  # shorter unloaded runs are noise dips, not flights
MIN_FLIGHT_S = 0.1  # a flight shorter than this (a 1.2 cm jump) cannot be timed as a jump
MIN_END_RUN, MIN_END_RUN_S = 1, 0.002  # an export cut a few ms after take-off still shows it
# (at 500 Hz, one or two samples of a cut 3 ms after)
PROPULSION_LOOKBACK_S = 0.5
PROPULSION_MIN_BW = 1.1  # even a 5 cm jump needs ~1.3 BW of push; stepping off needs none
ONSET_SD = 5.0  # onset: force leaves body weight by 5 SD of the weighing noise (Owen 2014)
TRACE_BACK_S = 0.010  # moving-average width used to trace the onset back to its start ...
TRACE_GROWTH_S = 0.010  # ... while the deviation still grows over this span
ONSET_LOOKBACK_S = 0.03  # the trace back goes no further than this before the 5 SD crossing
ONSET_QUIET_S = 0.030  # a spell within the band this long is still standing, not a passing crossing
OWEN_STEP_BACK_S = 0.030  # integration starts this long before onset
LANDING_WINDOW_S = 0.4  # the landing peak is sought this long after landing; results wait for it
DIP_BW = 0.05  # a countermovement takes force this far below body weight (and 5 SD); a squat jump does not


@dataclass(frozen=True)
class Jump:
    """Where a jump is in a recording: the flight after it and the weighing before it."""

    flight: Flight
    weighing: Weighing
    lead_in: int  # first sample after the last unloaded span before the jump


def find_jump(signal: Signal) -> tuple[Jump | None, list[Issue]]:
    """The first unloaded run that is a jump's flight (rule 1), with its weighing (rule 2)."""
    total, rate, n = signal.total, signal.rate_hz, signal.total.shape[0]
    issues: list[Issue] = []
    previous_end = 0
    for start, stop in unloaded_runs(total, bridge=int(RING_BRIDGE_S * rate)):
        start, stop = int(start), int(stop)
        at_end = stop == n  # a recording may end in flight, however soon or long after take-off
        if stop - start < (max(MIN_END_RUN, MIN_END_RUN_S * rate) if at_end else MIN_RUN_S * rate):
            continue
        if start == 0 or (stop - start > MAX_FLIGHT_S * rate and not at_end):
            previous_end = stop  # begins unloaded, or a step off and back on: not a flight
            continue
        weighing = weigh(total, rate, previous_end, start)
        if weighing is None or not weighing.stable:
            # too little quiet standing since stepping on: the stillest 1 s of the whole lead-in
            earlier = weigh(total, rate, 0, start)
            weighing = earlier if earlier is not None and earlier.stable else weighing
        if weighing is not None:  # a recording cropped to under 1 s of standing: its stillest 0.25 s
            weighing = without_movement(total, rate, weighing, previous_end, start)
        if weighing is None:
            issues.append(Issue("unstable_weighing", "no 1 s of quiet standing before the "
                                "unloaded span; it cannot be checked as a jump",
                                previous_end / rate, start / rate))
            previous_end = stop
            continue
        lookback = total[max(start - int(PROPULSION_LOOKBACK_S * rate), 0):start]
        found = flight(total, start, stop, rate, cut_short=at_end,
                       stance_noise=stance_noise(total, weighing.start, weighing.stop))
        push = np.fmax.reduce(lookback) - found.level
        if push < PROPULSION_MIN_BW * (weighing.body_weight_n - found.level):
            previous_end = stop  # no push before it: stepping off
            continue
        return Jump(found, weighing, previous_end), []
    if stop_reason := [i for i in issues if i.code == "unstable_weighing"]:
        return None, stop_reason[-1:]
    return None, [Issue("no_takeoff", "no flight preceded by a push-off was found",
                        0.0, (n - 1) / rate)]


def analyse_jump(signal: Signal, countermovement: bool) -> Partial:
    """Every METRICS.md metric of a cmj (``countermovement``) or sj recording."""
    jump, issues = find_jump(signal)
    if jump is None:
        return Partial(issues=tuple(issues), refused=True,
                       needed_until_s=signal.total.shape[0] / signal.rate_hz)
    total, rate, dt = signal.total, signal.rate_hz, signal.dt
    fl, w = jump.flight, jump.weighing
    metrics: dict[str, float] = {}
    events: dict[str, float] = {}
    level = fl.level
    if not w.stable:
        issues.append(Issue("unstable_weighing", f"no quiet standing before the jump (stillest 1 s "
                            f"has SD {w.sd_n:.1f} N, over 2 % of body weight): body weight and "
                            "impulse metrics left out", w.start / rate, (w.stop - 1) / rate))
        return _flight_only(signal, fl, {}, {}, issues)

    c = fl.last_contact
    takeoff = fl.takeoff
    push = total[w.stop:c + 1]
    # lost (NaN) samples cannot be the peak (np.argmax would pick the first of them)
    peak_index = w.stop + int(np.argmax(np.where(np.isnan(push), -np.inf, push))) if c >= w.stop else c
    onset = _onset(total, rate, w, max(w.start, jump.lead_in), peak_index)
    start = w.start if onset is None else max(onset - int(round(OWEN_STEP_BACK_S * rate)), w.start)
    wide = widen(total, rate, w, jump.lead_in, start)  # the whole quiet stance before the movement
    w = w if signal.any_bad(wide.start, wide.stop) else wide
    if w.stop - w.start < rate:
        issues.append(Issue("short_weighing", f"only {(w.stop - w.start) / rate:.2f} s of quiet "
                            "standing before the movement (1 s recommended): body weight and "
                            "impulse metrics rest on it", w.start / rate, (w.stop - 1) / rate))
    body_weight = w.body_weight_n - level  # mean force over the quiet stance, less the unloaded plate
    mass = body_weight / G
    metrics["body_weight_n"] = body_weight
    metrics["body_mass_kg"] = mass  # body_weight_n / g
    events["weighing_start_s"] = w.start / rate
    events["weighing_end_s"] = (w.stop - 1) / rate  # last sample of the window
    if onset is None:
        issues.append(Issue("no_onset", "no quiet standing between stepping on and the jump",
                            jump.lead_in / rate, takeoff / rate))
        return _flight_only(signal, fl, metrics, events, issues)
    mismatch = _movement_mismatch(total, w, body_weight, onset, peak_index, countermovement)
    if mismatch:
        issues.append(Issue("movement_mismatch", mismatch, onset / rate, peak_index / rate))
    events["onset_s"] = metrics["onset_s"] = onset / rate  # first sample of the movement (rule 3)
    events["takeoff_s"] = metrics["takeoff_s"] = takeoff / rate  # force meets the unloaded level
    metrics["time_to_takeoff_s"] = (takeoff - onset) / rate  # takeoff − onset

    if signal.any_bad(start, c + 2):
        issues.append(Issue(signal.bad_code(start, c + 2), "lost, non-finite or saturated samples between onset and "
                            "takeoff: impulse metrics left out", start / rate, takeoff / rate))
    else:
        acc = (total[start:c + 1] - w.body_weight_n) / mass
        velocity = cumtrapz(acc, dt)
        # the last piece, c → takeoff: force falls linearly to the unloaded level (acc = −g)
        v_takeoff = float(velocity[-1] + 0.5 * (acc[-1] - G) * (takeoff - c) * dt)
        metrics["takeoff_velocity_m_s"] = v_takeoff  # ∫(F − BW)/m dt from 30 ms before onset
        force = total[start:c + 1] - level
        metrics["peak_force_n"] = float(force[onset - start:].max())  # max force, onset → takeoff
        metrics["peak_power_w"] = float((force * velocity).max())  # max F·v before takeoff
        i_low = int(np.argmin(velocity))
        nonpositive = np.flatnonzero(velocity <= 0.0)
        k = int(nonpositive[-1])
        if not countermovement:
            propulsion = float(onset)  # a squat jump pushes from still: propulsion is the whole movement
        elif k + 1 < velocity.shape[0]:
            propulsion = start + k + velocity[k] / (velocity[k] - velocity[k + 1])
        else:
            propulsion = float(c)
        v_propulsion = 0.0 if countermovement else float(velocity[onset - start])
        if countermovement:
            displacement = cumtrapz(velocity, dt)
            # lowest centre-of-mass displacement, as a positive number
            metrics["countermovement_depth_m"] = float(-displacement.min())
            events["braking_s"] = (start + i_low) / rate  # braking starts at the lowest velocity
        events["propulsion_s"] = propulsion / rate  # propulsion starts at zero velocity
        if v_takeoff > 0:
            height = v_takeoff ** 2 / (2 * G)
            metrics["jump_height_m"] = height  # v²/2g from the takeoff velocity
            metrics["rsi_modified"] = height / metrics["time_to_takeoff_s"]  # height / time to takeoff
            phase = (takeoff - propulsion) * dt
            impulse = mass * (v_takeoff - v_propulsion)
            metrics["propulsive_impulse_n_s"] = impulse  # net impulse, propulsion start → takeoff
            # mean force (body weight included) over the propulsive phase: BW + net impulse / duration
            metrics["mean_propulsive_force_n"] = body_weight + impulse / phase
        else:
            issues.append(Issue("no_takeoff", f"takeoff velocity {v_takeoff:.3f} m/s is not "
                                "upward: no jump height", onset / rate, takeoff / rate))
        if signal.plates == 2:
            _two_plates(signal, metrics, fl, w, onset, propulsion, c, takeoff)

    needed = landing(signal, fl, metrics, events, issues)
    _rebound(signal, fl, needed, issues)
    return Partial(metrics=metrics, events=events, issues=tuple(issues), needed_until_s=needed)


def _flight_only(signal: Signal, fl: Flight, metrics: dict, events: dict, issues: list) -> Partial:
    """The metrics that need no onset: takeoff, flight and landing."""
    events["takeoff_s"] = metrics["takeoff_s"] = fl.takeoff / signal.rate_hz  # force meets the unloaded level
    needed = landing(signal, fl, metrics, events, issues)
    _rebound(signal, fl, needed, issues)
    return Partial(metrics=metrics, events=events, issues=tuple(issues), needed_until_s=needed)


def _movement_mismatch(total: np.ndarray, w: Weighing, body_weight: float, onset: int,
                       peak: int, countermovement: bool) -> str | None:
    """Why the push does not look like the test asked for: a cmj dips below body weight before
    it pushes (unweighting), a squat jump pushes from still (no dip)."""
    dip = w.body_weight_n - float(np.fmin.reduce(total[onset:peak + 1])) if peak > onset else 0.0
    deep = dip > max(ONSET_SD * w.sd_n, DIP_BW * body_weight)
    if countermovement and not deep:
        return (f"no countermovement: force dips only {dip:.0f} N below body weight before the "
                "push; this looks like a squat jump, not a countermovement jump")
    if not countermovement and deep:
        return (f"a countermovement of {dip:.0f} N ({100 * dip / body_weight:.0f} % of body "
                "weight) before the push; this looks like a countermovement jump, not a squat jump")
    return None


def _rebound(signal: Signal, fl: Flight, needed_s: float, issues: list) -> None:
    """A flight inside the landing window: a rebound (hops, a drop jump), not a single jump."""
    if fl.landing is None:
        return
    rate = signal.rate_hz
    stop = min(int(round(needed_s * rate)) + 1, signal.total.shape[0])
    runs = unloaded_runs(signal.total, fl.first_contact, stop, bridge=int(RING_BRIDGE_S * rate))
    runs = runs[runs[:, 1] - runs[:, 0] >= MIN_RUN_S * rate]
    if runs.shape[0]:
        at = runs[0, 0] / rate
        issues.append(Issue("movement_mismatch", f"another flight begins {at - fl.landing / rate:.3f} s "
                            "after landing: a rebound (hops or a drop jump), not a single jump",
                            at, runs[0, 1] / rate))


def _onset(total: np.ndarray, rate: float, w: Weighing, first: int, peak: int) -> int | None:
    """End of the last ≥ ONSET_QUIET_S spell within ONSET_SD·SD of body weight in [first, peak]."""
    quiet_len = max(int(round(ONSET_QUIET_S * rate)), 2)
    inband = np.abs(total[first:peak + 1] - w.body_weight_n) <= ONSET_SD * w.sd_n
    edges = np.flatnonzero(np.diff(np.concatenate(([0], inband.view(np.int8), [0]))))
    starts, stops = edges[0::2], edges[1::2]
    long_enough = np.flatnonzero(stops - starts >= quiet_len)
    if long_enough.size == 0:
        return None
    leave = first + int(stops[long_enough[-1]])  # first sample out of the band for good
    return _trace_back(total, rate, w, first, leave, peak)


def _trace_back(total: np.ndarray, rate: float, w: Weighing, first: int, leave: int,
                peak: int) -> int:
    """Where force started to leave body weight: walking back from the 5 SD crossing ``leave``
    over TRACE_BACK_S moving averages of the deviation, the centre of the first one within one
    weighing SD of body weight, or less than one SD below the one TRACE_GROWTH_S later (the
    standing level of a swaying person drifts from the weighing mean by a newton or two); at
    most ONSET_LOOKBACK_S back. A slow, curved rise crosses 5 SD ms after it begins."""
    width = max(int(round(TRACE_BACK_S * rate)), 2)
    span = max(int(round(TRACE_GROWTH_S * rate)), 1)
    lo = max(first, leave - int(round(ONSET_LOOKBACK_S * rate)))
    hi = min(leave + span, peak + 1)
    if leave - lo < width or hi - lo < width + span:
        return leave
    deviation = total[lo:hi] - w.body_weight_n
    deviation *= np.sign(total[leave] - w.body_weight_n)
    csum = np.concatenate(([0.0], np.cumsum(deviation)))
    mean = (csum[width:] - csum[:-width]) / width  # mean[i]: samples lo + i .. lo + i + width − 1
    last = min(leave - lo - width,  # the last window wholly before the crossing ...
               mean.shape[0] - 1 - span)  # ... with one TRACE_GROWTH_S after it (peak may be near)
    if last < 0:
        return leave
    growth = mean[span:last + 1 + span] - mean[:last + 1]
    calm = np.flatnonzero((mean[:last + 1] <= w.sd_n) | (growth <= w.sd_n))
    return lo + int(calm[-1]) + width // 2 if calm.size else lo


def landing(signal: Signal, fl: Flight, metrics: dict, events: dict, issues: list) -> float:
    """Flight and landing metrics; returns needed_until_s (the end of the landing window)."""
    rate, n = signal.rate_hz, signal.total.shape[0]
    if fl.landing is None:
        issues.append(Issue("no_landing", "the recording ends in flight", fl.takeoff / rate,
                            (n - 1) / rate))
        return n / rate  # depends on where the recording ends
    events["landing_s"] = metrics["landing_s"] = fl.landing / rate  # force leaves the unloaded level
    _flight_metrics(signal, fl, metrics, issues)
    window_end = fl.first_contact + int(round(LANDING_WINDOW_S * rate))
    if window_end > n:
        issues.append(Issue("no_landing", "the recording ends before the landing window "
                            f"({LANDING_WINDOW_S:g} s): landing peak left out", fl.landing / rate,
                            (n - 1) / rate))
        return (window_end - 1) / rate  # past the end: complete only once this sample exists
    window = slice(fl.first_contact, window_end)
    if signal.any_bad(window.start, window.stop):
        issues.append(Issue(signal.bad_code(window.start, window.stop),
                            "bad samples in the landing window: landing peak left out",
                            fl.landing / rate, (window_end - 1) / rate))
    else:
        # max force in the LANDING_WINDOW_S after landing
        metrics["landing_peak_force_n"] = float(signal.total[window].max() - fl.level)
        if signal.plates == 2:
            left, right = signal.force[window].max(axis=0) - plate_levels(signal, fl)
            if np.isfinite([left, right]).all() and max(left, right) > 0:
                metrics["landing_peak_force_asym_pct"] = asymmetry(left, right)  # per-plate landing peaks
    return (window_end - 1) / rate


def _flight_metrics(signal: Signal, fl: Flight, metrics: dict, issues: list) -> bool:
    """flight_time_s and jump_height_flight_m of a landed flight, unless its edges rest on bad
    samples or it is too short to time (then an issue says so and False is returned)."""
    rate = signal.rate_hz
    fit = 2 * max(4, int(round(EDGE_FIT_S * rate)))  # the samples the edge fits may use
    # only the samples the two edge fits use matter (the level is a mean of the good flight samples)
    if signal.any_bad(fl.last_contact - fit, fl.last_contact + fit) or \
            signal.any_bad(fl.first_contact - fit, fl.first_contact + fit):
        issues.append(Issue(signal.bad_code(fl.last_contact - fit, fl.first_contact + fit),
                            "lost or bad samples at takeoff or landing: flight time left out",
                            fl.takeoff / rate, fl.landing / rate))
        return False
    flight_time = (fl.landing - fl.takeoff) / rate
    if flight_time < MIN_FLIGHT_S:
        issues.append(Issue("short_flight", f"flight of {flight_time * 1e3:.0f} ms is too short to "
                            "time a jump", fl.takeoff / rate, fl.landing / rate))
        return False
    metrics["flight_time_s"] = flight_time  # landing − takeoff
    metrics["jump_height_flight_m"] = G * flight_time ** 2 / 8  # g·t²/8
    return True


def plate_levels(signal: Signal, fl: Flight) -> np.ndarray:
    """Each plate's unloaded level: its median over the flight's finite samples (NaN: none)."""
    flight = signal.force[fl.start:fl.stop]
    if np.isfinite(flight).all():  # as a rule: one call, not a masked copy per plate (10× the time)
        return np.median(flight, axis=0)
    return np.array([np.median(column[np.isfinite(column)]) if np.isfinite(column).any()
                     else np.nan for column in signal.force[fl.start:fl.stop].T])


def _two_plates(signal: Signal, metrics: dict, fl: Flight, w: Weighing, onset: int,
                propulsion: float, c: int, takeoff: float) -> None:
    """Left/right asymmetry from each plate's own trace (METRICS.md)."""
    dt = signal.dt
    levels = plate_levels(signal, fl)
    weights = signal.force[w.start:w.stop].mean(axis=0)
    k0 = int(np.floor(propulsion))
    impulses, peaks = [], []
    for side in range(2):
        net = signal.force[k0:c + 1, side] - weights[side]
        # the last piece to takeoff: the plate falls to its unloaded level
        net = np.append(net, levels[side] - weights[side])
        cum = cumtrapz(net[:-1], dt)
        tail = 0.5 * (net[-2] + net[-1]) * (takeoff - c) * dt
        impulses.append(float(cum[-1] + tail - integral_at(cum, net[:-1], propulsion - k0, dt))
                        if c - k0 >= 1 else float(tail))
        peaks.append(float(signal.force[onset:c + 1, side].max() - levels[side]))
    if np.isfinite(impulses).all() and max(impulses) > 0:  # a single-leg jump on one of two plates reads ±100 %
        metrics["propulsive_impulse_asym_pct"] = asymmetry(*impulses)  # per-plate net impulse, propulsion
    if np.isfinite(peaks).all() and max(peaks) > 0:
        metrics["peak_force_asym_pct"] = asymmetry(*peaks)  # per-plate peak, onset → takeoff
