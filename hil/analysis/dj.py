"""Drop jump: drop from a box, rebound at once, land, stand still.

Touchdown is the end of the first unloaded span (the drop) that is followed by a contact of at
most MAX_CONTACT_S and then a flight (hil.analysis.jump's MAX_FLIGHT_S); every edge is timed
where force meets the unloaded level (hil.analysis.events). Body weight comes from the stillest
1 s of standing after the landing, unless ``body_mass_kg`` is given. With ``drop_height_m`` the
touchdown velocity is −√(2·g·h) and the takeoff velocity follows by impulse–momentum.
"""
from __future__ import annotations

import numpy as np

from hil.analysis.events import EDGE_FIT_S, RING_BRIDGE_S, Flight, flight, unloaded_runs
from hil.analysis.jump import MAX_FLIGHT_S, MIN_RUN_S, landing, plate_levels
from hil.analysis.result import Issue, Partial
from hil.analysis.signal import G, Options, Signal, asymmetry
from hil.analysis.weighing import weigh, widen

MAX_CONTACT_S = 1.0  # a longer contact is standing, not a rebound
WEIGH_AFTER_S = (0.3, 3.3)  # the weighing is searched this long after landing (first contact)


def analyse(signal: Signal, options: Options) -> Partial:
    total, rate, n = signal.total, signal.rate_hz, signal.total.shape[0]
    found = _find(total, rate)
    if found is None:
        return Partial(issues=(Issue("no_takeoff", "no drop, short contact and flight were found",
                                     0.0, (n - 1) / rate),), refused=True, needed_until_s=n / rate)
    drop, air = found
    issues: list[Issue] = []
    metrics: dict[str, float] = {}
    events: dict[str, float] = {}
    touchdown, takeoff = drop.landing, air.takeoff
    events["touchdown_s"] = metrics["touchdown_s"] = touchdown / rate  # force leaves the unloaded level
    events["takeoff_s"] = metrics["takeoff_s"] = takeoff / rate  # force returns to the unloaded level
    contact = slice(drop.first_contact, air.last_contact + 1)
    fit = max(4, int(round(EDGE_FIT_S * rate)))
    if signal.any_bad(drop.first_contact - fit, air.last_contact + fit):
        issues.append(Issue(signal.bad_code(drop.first_contact - fit, air.last_contact + fit),
                            "lost, non-finite or saturated samples in the contact: contact "
                            "metrics left out", touchdown / rate, takeoff / rate))
        contact_ok = False
    else:
        contact_ok = True
        contact_time = (takeoff - touchdown) / rate
        metrics["contact_time_s"] = contact_time  # takeoff − touchdown
        metrics["peak_force_n"] = float(total[contact].max() - drop.level)  # max force in the contact
        if signal.plates == 2:
            peaks = signal.force[contact].max(axis=0) - plate_levels(signal, air)
            if np.isfinite(peaks).all() and peaks.max() > 0:
                metrics["peak_force_asym_pct"] = asymmetry(*peaks)  # per-plate contact peaks
    needed = landing(signal, air, metrics, events, issues)  # flight, landing and its peak
    if contact_ok and "flight_time_s" in metrics:
        # rsi: jump_height_flight_m / contact_time_s
        metrics["rsi"] = metrics["jump_height_flight_m"] / metrics["contact_time_s"]

    body_weight = None
    if options.body_mass_kg is not None:
        body_weight = options.body_mass_kg * G  # given, not measured: there is no quiet standing before
    elif air.landing is not None:
        first = air.first_contact + int(round(WEIGH_AFTER_S[0] * rate))
        last = air.first_contact + int(round(WEIGH_AFTER_S[1] * rate))
        w = weigh(total, rate, first, last)
        if w is not None:
            wide = widen(total, rate, w, first, last)  # the whole quiet stance after the landing
            w = w if signal.any_bad(wide.start, wide.stop) else wide
        needed = max(needed, (last - 1) / rate)  # past the end when the recording stops sooner
        if w is None:
            issues.append(Issue("unstable_weighing", "no 1 s of quiet standing after the landing: "
                                "body weight left out", first / rate, (min(last, n) - 1) / rate))
        else:
            body_weight = w.body_weight_n - air.level  # stillest 1 s after landing, less the unloaded plate
            events["weighing_start_s"], events["weighing_end_s"] = w.start / rate, (w.stop - 1) / rate
            if not w.stable:
                issues.append(Issue("unstable_weighing", f"weighing SD {w.sd_n:.1f} N is over 2 % of "
                                    "body weight", w.start / rate, (w.stop - 1) / rate))
    if body_weight is not None:
        metrics["body_weight_n"] = body_weight  # weighed after landing, or body_mass_kg · g
        metrics["body_mass_kg"] = body_weight / G  # body_weight_n / g
        if options.drop_height_m is not None and contact_ok:
            v_takeoff = _takeoff_velocity(total, rate, drop, air, body_weight, options.drop_height_m)
            metrics["takeoff_velocity_m_s"] = v_takeoff  # −√(2gh) + ∫(F − BW)/m dt over the contact
            if v_takeoff > 0:
                metrics["jump_height_m"] = v_takeoff ** 2 / (2 * G)  # v²/2g, impulse–momentum
    return Partial(metrics=metrics, events=events, issues=tuple(issues), needed_until_s=needed)


def _find(total: np.ndarray, rate: float) -> tuple[Flight, Flight] | None:
    """The drop and the rebound's flight: the first pair of unloaded spans separated by a
    contact of at most MAX_CONTACT_S, the second no longer than a flight can be (unless the
    recording ends in it)."""
    runs = [r for r in unloaded_runs(total, bridge=int(RING_BRIDGE_S * rate))
            if r[1] - r[0] >= MIN_RUN_S * rate]
    for (a0, b0), (a1, b1) in zip(runs, runs[1:]):
        # the flight may run to the recording's end, however long after take-off
        if a1 - b0 <= MAX_CONTACT_S * rate and (b1 - a1 <= MAX_FLIGHT_S * rate or b1 == total.shape[0]):
            return flight(total, int(a0), int(b0), rate), flight(total, int(a1), int(b1), rate)
    return None


def _takeoff_velocity(total: np.ndarray, rate: float, drop: Flight, air: Flight,
                      body_weight: float, drop_height: float) -> float:
    """−√(2gh) at touchdown plus ∫(F − BW)/m over the contact, edges included."""
    dt, mass = 1.0 / rate, body_weight / G
    i0, i1 = drop.first_contact - 1, air.last_contact + 1  # bracket the contact by one sample
    acc = (total[i0:i1 + 1] - drop.level - body_weight) / mass
    acc[0], acc[-1] = -G, -G  # force is at the unloaded level at both edges
    start, stop = drop.landing - i0, air.takeoff - i0  # fractional positions inside acc
    times = np.arange(acc.shape[0], dtype=np.float64)
    times[0], times[-1] = start, stop  # the bracketing samples moved onto the edges
    change = float(np.sum((acc[1:] + acc[:-1]) * np.diff(times)) * 0.5 * dt)
    return -np.sqrt(2 * G * drop_height) + change
