"""Repeated hops (pogo): rebound contacts between flights, their times, forces and leg stiffness.

The movement is the first run of flights separated by short contacts: a take-off from standing,
rebounds, and a landing that turns into standing (a contact of at least ``FINAL_CONTACT_S``).
Edges are timed where force truly meets each flight's unloaded level (events.flight), so
contact and flight times carry no threshold bias.
"""
from __future__ import annotations

import math

import numpy as np

from hil.analysis.bridge import bridged
from hil.analysis.events import RING_BRIDGE_S, Flight, flight, slow_tails, unloaded_runs
from hil.analysis.result import Issue, Partial, refusal
from hil.analysis.signal import G, Options, Signal, asymmetry
from hil.analysis.weighing import weigh, widen

FINAL_CONTACT_S = 0.5  # a contact this long is the final landing, not a rebound (pogo: 0.1–0.35 s)
MIN_FLIGHT_S = 0.02  # shorter unloaded runs are a dip in a contact, not a flight


def analyse(signal: Signal, options: Options) -> Partial:
    total, rate = bridged(signal.total, signal.bad), signal.rate_hz
    end = (total.shape[0] - 1) / rate
    flights, issues = _flights(total, rate)
    if not flights:
        return refusal("no_takeoff", "no flight found: the athlete never left the plate", 0.0, end)
    sequence = _movement(flights, rate)
    if sequence is None:
        last = flights[-1]
        if last.landing is None:
            return refusal("no_landing", "the recording ends in flight", last.takeoff / rate, end)
        return refusal("no_rebound", "a jump but no hop: no contact between two flights", 0.0, end)
    final_landing = sequence[-1].landing
    # the landing is known to be final once it has lasted FINAL_CONTACT_S: that sample may lie
    # past the recording's end, where streaming holds the result until finish() (result.py)
    needed = int(np.ceil(final_landing + FINAL_CONTACT_S * rate))
    issues = [issue for issue in issues if issue.start_s <= needed / rate]  # this movement's only
    mass, mass_issue = _mass(signal, options, sequence[0])
    issues += [mass_issue] if mass_issue else []
    reps = []
    for (before, after), rep in zip(zip(sequence[:-1], sequence[1:]), _hops(signal, sequence, mass)):
        if rep is None:
            issues.append(Issue(signal.bad_code(before.start, after.stop), "a hop touches samples that cannot be trusted; "
                                "left out", before.takeoff / rate, after.landing / rate))
        else:
            reps.append(rep)
    # hop_count: rebound contacts between two flights
    metrics: dict[str, float] = {"hop_count": float(len(sequence) - 1)}
    if mass is not None:
        metrics["body_mass_kg"] = mass  # given, or (stillest 1 s before the first take-off − unloaded level) / g
        metrics["body_weight_n"] = mass * G  # body_mass_kg · g
    for name in ("contact_time_s", "flight_time_s", "jump_height_flight_m", "rsi", "peak_force_n",
                 "vertical_stiffness_kn_m", "peak_force_asym_pct"):
        values = [rep[name] for rep in reps if name in rep]
        if values:
            metrics[name] = float(np.mean(values))  # the mean over hops of the per-hop values
    events = {"takeoff_s": sequence[0].takeoff / rate, "landing_s": final_landing / rate}
    return Partial(metrics=metrics, events=events, per_rep=tuple(reps), issues=tuple(issues),
                   needed_until_s=needed / rate)


def _flights(total: np.ndarray, rate: float) -> tuple[list[Flight], list[Issue]]:
    """Every flight that follows a contact, in order; dips too short to be flights are reported."""
    flights, issues = [], []
    runs = unloaded_runs(total, bridge=int(RING_BRIDGE_S * rate))  # plate ringing bridged
    candidates = [flight(total, int(start), int(stop), rate) for start, stop in runs]
    # the recording may begin unloaded (nobody on the plate yet): no takeoff, not a flight
    for found in slow_tails(total, rate, [f for f in candidates if f.takeoff is not None]):
        duration = _duration(found)
        if duration is not None and duration < MIN_FLIGHT_S * rate:
            issues.append(Issue("short_flight", f"unloaded for only {duration / rate * 1000:.1f} ms;"
                                " not counted as a flight", found.start / rate, found.stop / rate))
            continue
        flights.append(found)
    return flights, issues


def _duration(current: Flight) -> float | None:
    """Flight time in samples, None when the recording ends in flight."""
    return None if current.landing is None else current.landing - current.takeoff


def _movement(flights: list[Flight], rate: float) -> list[Flight] | None:
    """The first run of flights joined by rebound contacts and ended by a landing into standing
    (a contact of at least ``FINAL_CONTACT_S``, or one the recording ends in).

    A lone jump (no rebound before standing) is skipped. None when there is no such run, or the
    recording ends in flight.
    """
    run: list[Flight] = []
    for index, current in enumerate(flights):
        run.append(current)
        if current.landing is None:
            return None
        following = flights[index + 1] if index + 1 < len(flights) else None
        if following is None or following.takeoff - current.landing >= FINAL_CONTACT_S * rate:
            if len(run) >= 2:
                return run
            run = []
    return None


def _mass(signal: Signal, options: Options, first: Flight) -> tuple[float | None, Issue | None]:
    """Body mass: as given, or from the stillest second of standing before the first take-off,
    above the plate's reading in flight."""
    if options.body_mass_kg is not None:
        return float(options.body_mass_kg), None
    weighing = weigh(signal.total, signal.rate_hz, 0, first.last_contact)
    if weighing is not None:  # the whole quiet stance before the first take-off
        weighing = widen(signal.total, signal.rate_hz, weighing, 0, first.last_contact)
    if weighing is None:
        return None, Issue("unstable_weighing", "less than 1 s of standing before the first hop "
                           "and no body mass given: vertical_stiffness_kn_m left out",
                           0.0, first.takeoff / signal.rate_hz)
    issue = None if weighing.stable else Issue(
        "unstable_weighing", f"standing SD {weighing.sd_n:.1f} N is over 2 % of body weight",
        weighing.start / signal.rate_hz, weighing.stop / signal.rate_hz)
    # measured from the unloaded plate's reading in the first flight: a plate off zero cancels
    return (weighing.body_weight_n - first.level) / G, issue


def _hops(signal: Signal, sequence: list[Flight], mass: float | None) -> list[dict[str, float] | None]:
    """Each hop of ``sequence``: the contact between two flights and the flight that follows it;
    None for a hop on samples that cannot be trusted. The contacts are rows of one padded
    array: numpy's per-call overhead, not the arithmetic, was most of a hop's cost."""
    rate = signal.rate_hz
    pairs = list(zip(sequence[:-1], sequence[1:]))
    good = [not signal.any_bad(before.start, after.stop) for before, after in pairs]
    kept = [pair for pair, ok in zip(pairs, good) if ok]
    if not kept:
        return [None] * len(pairs)
    first = np.array([before.first_contact for before, _ in kept])
    length = np.array([after.last_contact for _, after in kept]) - first + 1
    inside = np.arange(length.max()) < length[:, None]  # padding past each contact's last sample
    index = np.minimum(first[:, None] + np.arange(length.max()), signal.total.shape[0] - 1)
    # the unloaded plate's reading, taken as zero force
    level = np.array([0.5 * (before.level + after.level) for before, after in kept])
    force = np.where(inside, signal.total[index] - level[:, None], 0.0)
    peaks = np.where(inside, force, -np.inf).max(axis=1).tolist()
    lowering = [0.0] * len(kept) if mass is None else _lowering(force, inside, first, kept, mass, rate)
    plate_peaks = (np.where(inside[..., None], signal.force[index], -np.inf).max(axis=1).tolist()
                   if signal.plates == 2 else [None] * len(kept))
    reps = iter([_hop(before, after, rate, peak, lowered, plates) for (before, after), peak, lowered, plates
                 in zip(kept, peaks, lowering, plate_peaks)])
    return [next(reps) if ok else None for ok in good]


def _hop(before: Flight, after: Flight, rate: float, peak: float, lowering: float,
         plate_peaks: list[float] | None) -> dict[str, float] | None:
    """One hop's values from its contact's peak force, centre-of-mass lowering (0: no mass)
    and the two plates' peaks (None: one plate); None when one is not finite."""
    contact = (after.takeoff - before.landing) / rate  # contact_time_s: touchdown to takeoff
    flight_time = _duration(after) / rate  # flight_time_s: the flight that follows the contact
    height = G * flight_time**2 / 8  # jump_height_flight_m: g·t²/8 from the flight after the contact
    rep = {"touchdown_s": before.landing / rate, "takeoff_s": after.takeoff / rate,
           "contact_time_s": contact, "flight_time_s": flight_time,
           "jump_height_flight_m": height,
           "rsi": height / contact,  # rsi: jump height from the following flight over contact time
           "peak_force_n": peak}  # peak_force_n: highest force of the contact
    if lowering > 0:
        # vertical_stiffness_kn_m: peak force over peak centre-of-mass lowering in the contact
        rep["vertical_stiffness_kn_m"] = peak / lowering / 1000
    if plate_peaks is not None and max(plate_peaks) > 0:
        # peak_force_asym_pct: 100·(L − R)/max(L, R) of the two plates' peaks in the contact
        rep["peak_force_asym_pct"] = asymmetry(*plate_peaks)
    return rep if all(math.isfinite(v) for v in rep.values()) else None


def _lowering(force: np.ndarray, inside: np.ndarray, first: np.ndarray,
              pairs: list[tuple[Flight, Flight]], mass: float, rate: float) -> list[float]:
    """Peak centre-of-mass lowering (m) in each contact (a row of ``force`` from sample ``first``,
    ``inside`` it), by integrating a = F/m − g twice from touchdown, where the velocity is
    −g·t_flight/2 of the flight before (a symmetric flight)."""
    touchdown = np.array([before.landing for before, _ in pairs])
    times = np.column_stack((touchdown, first[:, None] + np.arange(force.shape[1]))) / rate
    accel = np.column_stack((np.full(len(pairs), -G), force / mass - G))  # force meets zero at touchdown
    steps = np.diff(times, axis=1)
    before_flight = np.array([_duration(before) for before, _ in pairs])
    velocity = (-G * before_flight / rate / 2)[:, None] + np.column_stack(
        (np.zeros(len(pairs)), np.cumsum(0.5 * (accel[:, 1:] + accel[:, :-1]) * steps, axis=1)))
    position = np.column_stack((np.zeros(len(pairs)), np.cumsum(
        0.5 * (velocity[:, 1:] + velocity[:, :-1]) * steps, axis=1)))
    reached = np.column_stack((np.ones(len(pairs), dtype=bool), inside))  # touchdown, then the contact
    return (-np.where(reached, position, np.inf).min(axis=1)).tolist()
