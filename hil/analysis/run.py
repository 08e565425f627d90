"""Running steps on an instrumented treadmill or runway: contacts, flights, impact and active peaks.

A step is a contact between two unloaded runs of its plate (one plate: the total; two plates:
each foot's own belt), so only complete contacts count: the recording may start or end mid-step.
Body weight is the mean force over whole strides (each step's impulse is mg(tc + ta), DOMAIN.md).
The result covers the whole recording, so it depends on every sample given.

While streaming, ``Steps`` also reports each step as soon as its foot has been off the plate
for STEP_FLIGHT_S (contact time, peak force, impulse, and the per-leg asymmetry so far), timed
by the same contact code on the samples from the flight before the step.
"""
from __future__ import annotations

import math
import statistics
from dataclasses import dataclass

import numpy as np

from hil.analysis.bridge import bridged
from hil.analysis.events import EDGE_FLOOR_N, EDGE_TOP, flight, power_law_edges, unloaded_runs
from hil.analysis.result import Issue, Partial, refusal
from hil.analysis.integrate import cumtrapz, integral_at
from hil.analysis.signal import G, Options, Signal, asymmetry, prepare

IMPACT_WINDOW = 0.6  # the impact–active valley lies in the first 60 % of a contact (active peak ~47 %)
IMPACT_PROMINENCE_SD = 5.0  # an impact peak stands this many noise SDs above the valley after it
IMPACT_PROMINENCE_FLOOR_N = 5.0
MIN_FLIGHT_S = 0.02  # a shorter dip under the unloaded level is noise on a slow toe-off, not a flight
EDGE_CLEAR_S = 0.003  # a flight's level is re-taken from its samples this far clear of both edges
# the result covers every step of the recording, so it rests on its end: streaming analyses it
# once, at finish(), instead of retrying on a growing buffer whose answer cannot be complete
RESULT_AT_END = True
# streaming: a step is reported once its foot has been off this long (or the flight has ended):
# the flight's unloaded level is then taken clear of the toe-off, as the batch analysis does
# (events.flight trims 10 ms at each end of runs over 4·10 ms + 4 samples)
STEP_FLIGHT_S = 0.050
STEP_VALUES = ("contact_time_s", "peak_force_n", "vertical_impulse_n_s", "impact_peak_n")


@dataclass(frozen=True)
class _Contact:
    """One foot on one plate: samples [first, last] over the edge threshold, and where its edges
    meet the unloaded ``level`` (fractional indices; None where the recording cuts the contact)."""

    plate: int
    first: int
    last: int
    touchdown: float | None
    takeoff: float | None
    level: float
    noise: float
    bad: bool
    before: int | None  # index of the flight before it (None: the recording begins in contact)
    after: int | None


def analyse(signal: Signal, options: Options) -> Partial:
    rate = signal.rate_hz
    last = (signal.total.shape[0] - 1) / rate
    channels = [bridged(channel, signal.bad)
                for channel in (signal.force.T if signal.plates == 2 else [signal.total])]
    contacts = [contact for plate, channel in enumerate(channels)
                for contact in _contacts(signal, channel, plate)]
    if not contacts:
        return refusal("no_takeoff", "the plate is never unloaded: no step can be delimited",
                       0.0, last)
    steps = sorted((c for c in contacts if c.touchdown is not None and c.takeoff is not None
                    and c.takeoff > c.touchdown), key=lambda c: c.touchdown)
    if not steps:
        return refusal("no_landing", "no complete contact: every step runs into an end of the "
                       "recording", 0.0, last)
    landings = np.sort([c.touchdown for c in contacts if c.touchdown is not None])
    end = signal.total.shape[0] / rate  # the steps depend on where the recording ends (result.py)
    issues: list[Issue] = []
    touchdowns = np.array([step.touchdown for step in steps])
    metrics: dict[str, float] = {"step_count": float(len(steps))}  # complete contacts only
    if len(steps) >= 2 and touchdowns[-1] > touchdowns[0]:
        # cadence_spm: 60·(N − 1) / (last touchdown − first touchdown) over the N complete steps
        metrics["cadence_spm"] = 60 * (len(steps) - 1) / ((touchdowns[-1] - touchdowns[0]) / rate)
    zeros = [[c.level for c in contacts if c.plate == plate] for plate in range(len(channels))]
    # a plate never unloaded has no known zero: then no body weight from the strides
    measured = (_stride_weight(signal, sum(channels), touchdowns,
                               sum(float(np.median(z)) for z in zeros)) if all(zeros) else None)
    if measured is not None:
        metrics["body_weight_n"] = measured  # body_weight_n: mean force over whole strides
    weight = options.body_mass_kg * G if options.body_mass_kg is not None else measured
    if weight is not None:
        metrics["body_mass_kg"] = weight / G  # given, or body_weight_n / g
    else:
        issues.append(Issue("unstable_weighing", "no whole stride of good samples (three complete "
                            "steps) and no body mass given: no values in body weights",
                            0.0, last))
    areas = [cumtrapz(channel, 1.0) for channel in channels]
    found, spoiled = [], []
    for step in steps:
        rep = None if step.bad else _step(step, channels[step.plate], areas[step.plate], landings,
                                          weight, rate, signal.plates)
        if rep is not None and all(np.isfinite(v) for v in rep.values()):
            found.append((rep, step.plate))
        else:
            spoiled.append(step)
    if spoiled:
        issues.append(Issue(signal.bad_code(spoiled[0].first, spoiled[-1].last + 1),
                            f"{len(spoiled)} step(s) touch samples that cannot "
                            "be trusted; left out of the means", spoiled[0].touchdown / rate,
                            spoiled[-1].takeoff / rate))
    reps = [rep for rep, _ in found]
    for name in ("contact_time_s", "flight_time_s", "peak_force_n", "peak_force_bw",
                 "impact_peak_n", "loading_rate_bw_s", "vertical_impulse_n_s"):
        values = [rep[name] for rep in reps if name in rep]
        if values:
            metrics[name] = float(np.mean(values))  # the mean over the steps that have the value
    without = [rep for rep in reps if "impact_peak_n" not in rep]
    if without:
        issues.append(Issue("no_impact_peak", f"{len(without)} of {len(reps)} step(s) have no impact "
                            "peak (no valley before the active peak); their impact values are absent",
                            without[0]["touchdown_s"], without[-1]["takeoff_s"]))
    if signal.plates == 2:
        metrics.update(_asymmetry(found))
    events = {"first_touchdown_s": touchdowns[0] / rate, "last_touchdown_s": touchdowns[-1] / rate}
    return Partial(metrics=metrics, events=events, per_rep=tuple(reps), issues=tuple(issues),
                   needed_until_s=end)


def _contacts(signal: Signal, channel: np.ndarray, plate: int) -> list[_Contact]:
    """The contacts of one plate: what lies between its unloaded runs (and the recording's ends).

    Timed twice: a slow toe-off's tail still sits a few newtons over zero inside a short flight
    and lifts the flight's median, so each flight's level is then taken again from its samples
    clear of the edges just found, and the edges are timed against it."""
    rate = signal.rate_hz
    flights = [f for f in (flight(channel, int(a), int(b), rate) for a, b in unloaded_runs(channel))
               if f.takeoff is None or f.landing is None
               or f.landing - f.takeoff >= MIN_FLIGHT_S * rate]
    if not flights:
        return []
    # a few samples of flight cut by the recording's ends cannot give the unloaded level
    levels = [f.level if f.stop - f.start >= MIN_FLIGHT_S * rate else None for f in flights]
    contacts = _timed(signal, channel, plate, flights, levels)
    margin = max(2, int(round(EDGE_CLEAR_S * rate)))
    takeoffs = {c.after: c.takeoff for c in contacts}  # the edges around each flight
    touchdowns = {c.before: c.touchdown for c in contacts}
    for j, current in enumerate(flights):
        takeoff, touchdown = takeoffs.get(j), touchdowns.get(j)
        start = current.start if takeoff is None else int(np.ceil(takeoff)) + margin
        stop = current.stop if touchdown is None else int(np.floor(touchdown)) - margin + 1
        if stop - start >= 3 and (takeoff is not None or touchdown is not None):
            levels[j] = float(np.median(channel[start:stop]))
    return _timed(signal, channel, plate, flights, levels)


def _timed(signal: Signal, channel: np.ndarray, plate: int, flights: list,
           levels: list[float | None]) -> list[_Contact]:
    """Contacts between consecutive ``flights`` with their edges timed against ``levels``
    (None: not enough flight to tell; the plate's typical level is used)."""
    rate, n = signal.rate_hz, channel.shape[0]
    known = [level for level in levels if level is not None]
    typical = _median(known) if known else _median([f.level for f in flights])
    noise_of = _median([f.noise for f in flights])
    found, edges = [], []  # edges: (contact sample, level, direction, low, top, fallback)
    for k in range(len(flights) + 1):
        before = flights[k - 1] if k > 0 else None
        after = flights[k] if k < len(flights) else None
        first = 0 if before is None else before.first_contact
        last = n - 1 if after is None else after.last_contact
        if first is None or last is None or last < first:
            continue  # the recording ends (or begins) in flight here
        around = [levels[j] for j in (k - 1, k) if 0 <= j < len(flights) and levels[j] is not None]
        level = sum(around) / len(around) if around else typical  # the unloaded reading is zero force
        noise = max([f.noise for f in (before, after) if f is not None] + [noise_of])
        top = EDGE_TOP * (float(channel[first:last + 1].max()) - level)
        low = max(5.0 * noise, EDGE_FLOOR_N)
        # an edge of a zeroed export is not fitted: it lies at the cut (events.Flight)
        if before is not None:
            edges.append((first, level, +1, np.inf if before.zeroed else low, top, before.landing))
        if after is not None:
            edges.append((last, level, -1, np.inf if after.zeroed else low, top, after.takeoff))
        found.append((k, before, after, first, last, level, noise))
    times = iter(power_law_edges(channel, np.array(edges, dtype=np.float64).reshape(-1, 6), rate))
    contacts = []
    for k, before, after, first, last, level, noise in found:
        touchdown = None if before is None else float(next(times))
        takeoff = None if after is None else float(next(times))
        # an edge whose foot falls outside the recording was cut by it: the contact is not complete
        touchdown = touchdown if touchdown is not None and touchdown >= 0 else None
        takeoff = takeoff if takeoff is not None and takeoff <= n - 1 else None
        span = (first if before is None else before.start, last + 1 if after is None else after.stop)
        contacts.append(_Contact(plate, first, last, touchdown, takeoff, level, noise,
                                 signal.any_bad(*span), k - 1 if before is not None else None,
                                 k if after is not None else None))
    return contacts


def _median(values: list[float]) -> float:
    """np.median of a few floats without the tens of µs of its array machinery (NaN if one is)."""
    return math.nan if any(math.isnan(v) for v in values) else float(statistics.median(values))


def _stride_weight(signal: Signal, total: np.ndarray, touchdowns: np.ndarray,
                   zero: float) -> float | None:
    """Mean total force from the first touchdown over a whole number of strides (two steps each);
    ``total`` is bridged, so a lost sample outside the strides cannot spoil the running sum."""
    strides = (len(touchdowns) - 1) // 2
    if strides < 1:
        return None
    start, stop = touchdowns[0], touchdowns[2 * strides]
    if signal.any_bad(int(start), int(stop) + 2):
        return None
    return _integral(total, cumtrapz(total, 1.0), start, stop) / (stop - start) - zero


def _step(step: _Contact, channel: np.ndarray, area: np.ndarray, landings: np.ndarray,
          weight: float | None, rate: float, plates: int) -> dict[str, float]:
    """One step's values; impact values only when the contact has an impact peak."""
    level, first, last = step.level, step.first, step.last
    force = channel[first:last + 1] - level
    rep = {"touchdown_s": step.touchdown / rate, "takeoff_s": step.takeoff / rate,
           "contact_time_s": (step.takeoff - step.touchdown) / rate,  # contact_time_s: touchdown to takeoff
           # vertical_impulse_n_s: ∫F dt over the contact, body weight not subtracted
           "vertical_impulse_n_s": (_integral(channel, area, step.touchdown, step.takeoff)
                                    - level * (step.takeoff - step.touchdown)) / rate}
    following = landings[landings > step.takeoff]
    if following.size:
        rep["flight_time_s"] = (following[0] - step.takeoff) / rate  # flight_time_s: to the next touchdown
    valley = _valley(force, max(IMPACT_PROMINENCE_SD * step.noise, IMPACT_PROMINENCE_FLOOR_N))
    active = force[valley:] if valley is not None else force
    rep["peak_force_n"] = float(active.max())  # peak_force_n: the active peak, after any impact valley
    if weight is not None:
        rep["peak_force_bw"] = rep["peak_force_n"] / weight  # peak_force_bw: active peak / body weight
    if plates == 2:
        rep["left_foot"] = float(step.plate == 0)  # which belt carried the step (as the simulator's truth)
    if valley is not None:
        impact = force[:valley]
        rep["impact_peak_n"] = float(impact.max())  # impact_peak_n: highest force before the valley
        if weight is not None:
            loading = _loading_rate(impact, rep["impact_peak_n"], rate)
            if loading is not None:
                rep["loading_rate_bw_s"] = loading / weight  # 20 %→80 % impact-peak slope / body weight
    return rep


def _valley(force: np.ndarray, prominence: float) -> int | None:
    """Index of the deepest valley between an impact peak and the active peak, if deep enough.

    A valley's depth is how far it lies below the lower of the highest force before it and the
    highest force after it; only the first IMPACT_WINDOW of the contact is searched.
    """
    span = max(int(force.size * IMPACT_WINDOW), 1)
    before = np.maximum.accumulate(force)[:span]
    after = np.maximum.accumulate(force[::-1])[::-1][:span]
    depth = np.minimum(before, after) - force[:span]
    deepest = int(np.argmax(depth))
    return deepest if depth[deepest] >= prominence and deepest > 0 else None


def _loading_rate(impact: np.ndarray, peak: float, rate: float) -> float | None:
    """loading_rate: average slope from 20 % to 80 % of the impact peak, in N/s."""
    rising = impact[:int(np.argmax(impact)) + 1]
    t20, t80 = (_first_crossing(rising, fraction * peak) for fraction in (0.2, 0.8))
    if t20 is None or t80 is None or t80 <= t20:
        return None
    return 0.6 * peak / ((t80 - t20) / rate)


def _first_crossing(x: np.ndarray, level: float) -> float | None:
    """Fractional index where ``x`` first rises through ``level`` (None if it starts above)."""
    above = int(np.argmax(x >= level))
    if above == 0:
        return None
    return above - 1 + (level - x[above - 1]) / (x[above] - x[above - 1])


def _integral(x: np.ndarray, area: np.ndarray, a: float, b: float) -> float:
    """∫ x over fractional sample indices [a, b] (N·samples), x linear between samples;
    ``area`` is ``cumtrapz(x, 1.0)``, so a step costs O(1) however long the recording."""
    return integral_at(area, x, b, 1.0) - integral_at(area, x, a, 1.0)


def _asymmetry(found: list[tuple[dict[str, float], int]]) -> dict[str, float]:
    """contact_time_asym_pct and peak_force_asym_pct: 100·(L − R)/max(L, R) of the per-foot means."""
    result = {}
    for name in ("contact_time_s", "peak_force_n"):
        sides = [[rep[name] for rep, p in found if p == side] for side in (0, 1)]
        if all(sides):
            left, right = (float(np.mean(side)) for side in sides)
            result[name.rsplit("_", 1)[0] + "_asym_pct"] = asymmetry(left, right)
    return result


class Steps:
    """Running, while streaming: each step as soon as it is complete (see the module docstring).

    Each plate's steps are searched from the start of the flight before the next one, so a
    result depends only on the samples up to STEP_FLIGHT_S after its takeoff, whatever the
    block sizes. Steps cut by the recording's start are not reported (as in the batch result)."""

    def __init__(self, rate_hz: float, plates: int) -> None:
        self.rate, self.plates = rate_hz, plates
        self.wait = max(3, int(round(STEP_FLIGHT_S * rate_hz)))
        self.shortest = int(np.ceil(MIN_FLIGHT_S * rate_hz))
        self.window = [0] * plates  # per plate: where the flight before its next step begins
        self.started = [False] * plates  # that flight has been found (the recording may start mid-step)
        # per foot: steps, Σ contact time, Σ peak force, summed in step order as np.mean(axis=0)
        # of the rows would, without rebuilding an array of every step so far at each step
        self.sums = ([0, 0.0, 0.0], [0, 0.0, 0.0])

    def feed(self, force: np.ndarray) -> list[Partial]:
        """The steps completed in ``force`` (every sample so far, (n, plates)), in time order."""
        found = [partial for plate in range(self.plates) for partial in self._plate(force, plate)]
        return sorted(found, key=lambda partial: partial.needed_until_s)

    def _plate(self, force: np.ndarray, plate: int) -> list[Partial]:
        found = []
        while True:
            start = self.window[plate]
            channel = force[start:, plate] if self.plates == 2 else force[start:].sum(axis=1)
            runs = unloaded_runs(channel) + start
            # a flight: STEP_FLIGHT_S of it so far, or a shorter one that has ended (a dip is none)
            flights = [(int(a), int(min(a + self.wait, b))) for a, b in runs
                       if b - a >= self.wait or (b < force.shape[0] and b - a >= self.shortest)]
            if not self.started[plate]:  # before the first flight: a step cut by the start
                if not flights:
                    return found
                self.window[plate], self.started[plate] = flights[0][0], True
                continue
            after = [(a, end) for a, end in flights if a > start]
            if not after:
                return found
            found += self._steps(force[start:after[0][1]], plate, start)
            self.window[plate] = after[0][0]

    def _steps(self, force: np.ndarray, plate: int, offset: int) -> list[Partial]:
        """The complete contacts of ``plate`` in ``force`` (from sample ``offset``)."""
        signal = prepare(force, self.rate)
        channel = bridged(signal.force[:, plate] if self.plates == 2 else signal.total, signal.bad)
        area = cumtrapz(channel, 1.0)
        shift, needed = offset / self.rate, (offset + force.shape[0] - 1) / self.rate
        out = []
        for contact in _contacts(signal, channel, plate):
            if contact.touchdown is None or contact.takeoff is None or contact.takeoff <= contact.touchdown:
                continue
            events = {"touchdown_s": contact.touchdown / self.rate + shift,
                      "takeoff_s": contact.takeoff / self.rate + shift}
            if contact.bad:
                issue = Issue(signal.bad_code(contact.first, contact.last + 1), "the step touches "
                              "samples that cannot be trusted", events["touchdown_s"], events["takeoff_s"])
                out.append(Partial(events=events, issues=(issue,), needed_until_s=needed))
                continue
            rep = _step(contact, channel, area, np.empty(0), None, self.rate, self.plates)
            rep.update(events)
            metrics = {name: rep[name] for name in STEP_VALUES if name in rep}
            if self.plates == 2:
                side = self.sums[plate]
                side[:] = side[0] + 1, side[1] + rep["contact_time_s"], side[2] + rep["peak_force_n"]
                metrics.update(self._asymmetry())
            out.append(Partial(metrics=metrics, events=events, per_rep=(rep,), needed_until_s=needed))
        return out

    def _asymmetry(self) -> dict[str, float]:
        """contact_time_asym_pct and peak_force_asym_pct of the steps so far, once both feet ran."""
        (left, left_contact, left_peak), (right, right_contact, right_peak) = self.sums
        if not left or not right:
            return {}
        return {"contact_time_asym_pct": asymmetry(left_contact / left, right_contact / right),
                "peak_force_asym_pct": asymmetry(left_peak / left, right_peak / right)}
