"""Isometric hold (calf raise, mid-thigh pull, lunge on the toes): onset, peak and rate of force development.

The athlete stands still, pushes as fast and hard as possible, holds, and relaxes. The hold ends
(``release``) when force falls back below half of the net force reached so far; every result
depends only on samples up to there (or the end of the longest RFD window, if later).
"""
from __future__ import annotations

import numpy as np

from hil.analysis.bridge import bridged
from hil.analysis.events import EDGE_FIT_S, RING_BRIDGE_S, edge_time, unloaded_runs
from hil.analysis.result import Issue, Partial, refusal
from hil.analysis.signal import G, Options, Signal, asymmetry
from hil.analysis.weighing import Weighing, weigh, widen

PULL_FRACTION = 0.10  # a pull raises force by at least 10 % of body weight above standing
ONSET_SD = 5.0  # onset: force leaves body weight by 5 SD of the weighing noise (DOMAIN.md)
RELEASE_FRACTION = 0.5  # the hold ends when net force falls below half of its maximum so far
RFD_WINDOWS_S = (0.05, 0.1, 0.2)
MIN_HOLD_S = 0.2  # a pull released sooner is a knock or a spike, not an isometric hold (2–5 s)
FLIGHT_AFTER_RELEASE_S = 0.15  # a jump's takeoff follows its "release" this soon; a hold's never
MIN_FLIGHT_RUN_S = 0.010  # shorter unloaded runs are noise dips, not flights
# a pull under PRETENSION_BW (net, body weights) is a pre-tension or a re-positioning when a pull
# at least PRETENSION_FACTOR times as strong follows within PRETENSION_LOOKAHEAD_S of its release
# (recordings taken whole; maximal pulls reach 0.5–3 BW net, pre-tension ~0.3 BW)
PRETENSION_BW, PRETENSION_FACTOR, PRETENSION_LOOKAHEAD_S = 0.5, 2.0, 5.0


def analyse(signal: Signal, options: Options) -> Partial:
    total, rate = bridged(signal.total, signal.bad), signal.rate_hz
    end = (total.shape[0] - 1) / rate
    first = _first_standing(total, rate)
    if first is None:
        return refusal("unstable_weighing", "no second of standing on the plate before the pull",
                       0.0, end)
    search = first.stop
    while True:
        pulling = np.flatnonzero(total[search:] > first.body_weight_n * (1 + PULL_FRACTION))
        if pulling.size == 0:
            return refusal("no_onset", "force never rose 10 % above body weight",
                           first.start / rate, end)
        pull = search + int(pulling[0])
        weighing = weigh(total, rate, 0, pull) or first  # the stillest second before the pull
        # ... widened back over the quiet stance before it (not forwards: the rise may start slowly)
        weighing = widen(total, rate, weighing, 0, weighing.stop)
        release = _release(total[pull:], weighing.body_weight_n)
        if release is None:
            return refusal("no_release", "the recording ends before the hold is released",
                           pull / rate, end)
        release += pull
        lookahead = release
        if release - pull >= MIN_HOLD_S * rate:
            net_peak = float(np.max(total[pull:release])) - weighing.body_weight_n
            if net_peak >= PRETENSION_BW * weighing.body_weight_n:
                break
            lookahead = release + int(round(PRETENSION_LOOKAHEAD_S * rate))
            stronger = total[release:lookahead] > weighing.body_weight_n + PRETENSION_FACTOR * net_peak
            if not stronger.any():
                break  # a weak pull, but nothing stronger follows: it is the pull
        search = release  # a knock, a spike or a pre-tension, not the hold: look further
    issues = []
    if not weighing.stable:
        issues.append(Issue("unstable_weighing", f"standing SD {weighing.sd_n:.1f} N is over 2 % "
                            "of body weight", weighing.start / rate, weighing.stop / rate))
    weight = weighing.body_weight_n
    quiet = np.flatnonzero(total[weighing.stop:pull] <= weight + ONSET_SD * weighing.sd_n)
    rise = weighing.stop + (int(quiet[-1]) + 1 if quiet.size else 0)  # first sample of the rise
    fit = max(4, int(round(EDGE_FIT_S * rate)))
    if signal.any_bad(rise - fit, rise + fit):
        return refusal("no_onset", "the rise crosses samples that cannot be trusted",
                       (rise - fit) / rate, (rise + fit) / rate)
    onset = max(edge_time(total, rise, weight, +1, fit), float(weighing.stop - 1))
    last_rfd = int(np.ceil(onset + RFD_WINDOWS_S[-1] * rate)) + 1
    # past the end when an RFD window or the pre-tension look-ahead is: streaming then waits
    needed = max(release, last_rfd, lookahead)
    hold = slice(rise, release)
    # body_weight_n: mean force over the stillest second before the pull; body_mass_kg = it / g
    metrics = {"body_weight_n": weight, "body_mass_kg": weight / G}
    events = {"onset_s": onset / rate}
    # onset_s: where the rise meets body weight (its 5 SD crossing, traced back along the edge)
    metrics["onset_s"] = onset / rate
    if signal.any_bad(rise, release):
        issues.append(Issue(signal.bad_code(rise, release), "the hold has samples that cannot be trusted: peak "
                            "force left out", rise / rate, release / rate))
    else:
        peak_index = rise + int(np.argmax(total[hold]))
        metrics["peak_force_n"] = float(total[peak_index])  # peak_force_n: highest force of the hold
        metrics["net_peak_force_n"] = metrics["peak_force_n"] - weight  # net_peak_force_n: peak − body weight
        metrics["time_to_peak_s"] = peak_index / rate - onset / rate  # time_to_peak_s: onset to peak
        events["peak_s"] = peak_index / rate
        if signal.plates == 2:
            left, right = signal.force[hold].max(axis=0)
            # peak_force_asym_pct: each plate's own peak over the hold, 100·(L − R)/max(L, R)
            metrics["peak_force_asym_pct"] = asymmetry(left, right)
    events["release_s"] = release / rate
    checked = release + int(round(FLIGHT_AFTER_RELEASE_S * rate))  # may lie past the end
    flights = unloaded_runs(total, rise, min(checked, total.shape[0]),
                            bridge=int(RING_BRIDGE_S * rate))
    flights = flights[flights[:, 1] - flights[:, 0] >= MIN_FLIGHT_RUN_S * rate]
    if flights.shape[0]:
        issues.append(Issue("movement_mismatch", f"the plate is unloaded at {flights[0, 0] / rate:.3f} s "
                            "(a flight): this is a jump or a hop, not an isometric hold",
                            flights[0, 0] / rate, flights[0, 1] / rate))
    needed = max(needed, checked - 1)
    start_force = weight  # the onset is where the rise meets body weight: F(onset) = body weight
    for window in RFD_WINDOWS_S:
        end = onset + window * rate
        name = f"rfd_0_{round(window * 1000)}_n_s"
        if end + 1 >= total.shape[0] or signal.any_bad(int(onset), int(end) + 2):
            issues.append(Issue("short_hold", f"{name} left out: its window runs past usable data",
                                onset / rate, end / rate))
            continue
        # rfd_0_W_n_s: (F(onset + W) − F(onset)) / W
        metrics[name] = (_at(total, end) - start_force) / window
    return Partial(metrics=metrics, events=events, issues=tuple(issues),
                   needed_until_s=needed / rate)


def _first_standing(total: np.ndarray, rate: float) -> Weighing | None:
    """The first still second of someone on the plate, scanning forward a quarter second at a
    time (an athlete may step on after the recording starts); None if there is none. Decided
    from the samples up to the window found, so a prefix of a stream agrees with the whole."""
    width = int(round(rate))
    for stop in range(width, total.shape[0] + 1, max(1, width // 4)):
        found = weigh(total, rate, 0, stop)
        if found is not None and found.stable:
            return found
    return None


def _release(after_pull: np.ndarray, weight: float) -> int | None:
    """Index where net force first falls below RELEASE_FRACTION of its running maximum."""
    net = after_pull - weight
    # fmax: a non-finite sample neither ends the hold nor poisons the running maximum
    released = np.flatnonzero(net < RELEASE_FRACTION * np.fmax.accumulate(net))
    return int(released[0]) if released.size else None


def _at(x: np.ndarray, index: float) -> float:
    """Linear interpolation of ``x`` at a fractional sample index."""
    i = min(int(index), x.shape[0] - 2)
    return float(x[i] + (x[i + 1] - x[i]) * (index - i))
