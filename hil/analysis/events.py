"""Events in a force trace: unloaded runs and contact/flight edges timed to the sub-sample.

A 20 N threshold is crossed 1–3 ms before force truly reaches the unloaded-plate level, and each
millisecond cut from the end of propulsion adds g·dt to the takeoff velocity (~2 mm of jump
height per ms, DOMAIN.md). So edges are found with a threshold but timed where a local quadratic
fit of the edge meets the unloaded level.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np

UNLOADED_N = 50.0  # below this the plate is taken as (nearly) unloaded: flight or nobody on it
EDGE_FLOOR_N = 10.0  # edge threshold above the unloaded level: at least this, or 5 SD of flight noise
EDGE_FIT_S = 0.005  # length of edge fitted near the crossing (at least 4 samples)
RING_BRIDGE_S = 0.010  # loaded blips this short inside a flight are plate ringing (a soft plate
# rings ~30 Hz after take-off: half-waves over 50 N last 5–8 ms)
_NEAR_FLOOR_N = 0.5  # edge samples are followed down to 3 SD of flight noise above the level, ≥ this
_MAX_EXTRAPOLATION = 1.0  # samples: so the crossing lies at most one sample past the last one followed
_ZEROED_EXTRAPOLATION = 2.0  # ... two on a zeroed export: two plates each cut at 10 N cut 20 N of edge
EDGE_TOP = 0.10  # power-law edges are fitted from the edge threshold up to 10 % of the contact's peak
EDGE_MAX_S = 0.015  # ... and their foot lies at most this far beyond the first sample over threshold
POWERS = np.linspace(1.0, 3.0, 21)  # edge shapes F ∝ |t − t0|^p: 1 a straight rise, 2 a tangent toe-off
RING_LOW_N, RING_LOW_SPAN = 150.0, 3  # a blip under this peak, up to 3 bridges long, is ringing too
_SUM_BLOCK = 128  # numpy's pairwise summation adds up to this many values in one block
_CORE_TRIM_S = 0.010  # flight samples this close to an edge are left out of the level estimate ...
_CORE_TRIM_FRACTION = 0.25  # ... or this share of the flight at each end: a plate rings below zero
# for tens of ms after take-off (−76 N at 800 Hz), and its undershoot is not the unloaded level
ZEROED_MIN = 3  # this many samples of exactly 0 N, none below, and ...
ZEROED_SHARE = 0.9  # ... this share of exact zeros from the first to the last: an export zeroed
# outside contact (a plate quantised near zero reads 0 now and then, scattered among its steps)


def spans(mask: np.ndarray) -> np.ndarray:
    """[start, stop) index runs where ``mask`` is true, as an (k, 2) int array."""
    edges = np.flatnonzero(mask[1:] != mask[:-1]) + 1
    if mask.shape[0] and mask[0]:
        edges = np.concatenate(([0], edges))
    if mask.shape[0] and mask[-1]:
        edges = np.concatenate((edges, [mask.shape[0]]))
    return edges.reshape(-1, 2)


@dataclass(frozen=True)
class Flight:
    """One unloaded interval [start, stop). Contacts are sample indices, edges fractional indices.

    ``last_contact`` is the last sample before the interval above the edge threshold and
    ``first_contact`` the first one after it; ``takeoff``/``landing`` are where force truly
    meets the unloaded ``level``. Takeoff is None when the recording begins unloaded, landing
    None when it ends unloaded. ``zeroed``: an export zeroed below a threshold; its edges are
    extrapolated at most one sample beyond the last (first) non-zero sample (edge_time): what
    force did under the export's cut is not in the file, and a longer extrapolation would guess
    its shape (a running toe-off cut at 10 N with a slope of 1.5 N/ms lands 7–14 ms away
    depending on the shape assumed).
    """

    start: int
    stop: int
    level: float
    noise: float
    last_contact: int | None
    takeoff: float | None
    first_contact: int | None
    landing: float | None
    zeroed: bool = False


def unloaded_runs(total: np.ndarray, start: int = 0, stop: int | None = None,
                  bridge: int = 0) -> np.ndarray:
    """Runs in [start, stop) where force is under UNLOADED_N, with absolute indices. Runs
    separated by at most ``bridge`` loaded samples are one run when the run after the gap is the
    longer: a plate ringing after takeoff pokes above the threshold and the flight goes on, while
    a bouncing first touch at landing (touch, one sample at zero, contact) is followed by load."""
    stop = total.shape[0] if stop is None else stop
    runs = spans(total[start:stop] < UNLOADED_N) + start
    if bridge > 0 and runs.shape[0] > 1:
        gap = runs[1:, 0] - runs[:-1, 1]
        # a low ringing lobe (a soft plate at 25 Hz rings over 50 N for ~20 ms) is bridged
        # over up to RING_LOW_SPAN times longer than any other blip
        low = np.zeros(gap.shape, dtype=bool)
        near = np.flatnonzero(gap <= RING_LOW_SPAN * bridge)
        if near.size:
            peaks = np.array([np.fmax.reduce(total[a:b]) for a, b in zip(runs[near, 1], runs[near + 1, 0])])
            low[near] = peaks < RING_LOW_N
        # the run after a gap counts with the runs it joins in turn: ringing near the threshold
        # chatters (unloaded, one sample over, one under, ...) and only the whole flight is long
        joined = np.zeros(gap.shape, dtype=bool)
        reach = runs[:, 1].copy()  # where each run ends once joined to those after it
        for i in np.flatnonzero((gap <= bridge) | low)[::-1].tolist():
            if reach[i + 1] - runs[i + 1, 0] > gap[i]:
                joined[i], reach[i] = True, reach[i + 1]
        if joined.any():
            first = np.concatenate(([True], ~joined))  # a run that starts a merged run
            last = np.concatenate((~joined, [True]))  # a run that ends one
            runs = np.stack((runs[first, 0], runs[last, 1]), axis=1)
    return runs


def flight(total: np.ndarray, run_start: int, run_stop: int, rate_hz: float,
           cut_short: bool = False, stance_noise: float = 0.0) -> Flight:
    """Level, noise and edges of the unloaded run [run_start, run_stop) of ``total``.
    ``cut_short``: a run that ends the recording a few ms after a take-off (a jump export cut at
    take-off) has the plate's zero as its level (hil.analysis.signal has zeroed a plate that
    reads below zero when empty). Rebound contacts, whose edges may meet the level at a
    tangent, go on through slow_tails. ``stance_noise``: the
    plate's sample noise measured while loaded (stance_noise()), which stands in for the
    flight's where the flight shows none (a zeroed export, a recording cut at take-off): edge
    samples within 3 SD of it are noise or ringing, not the edge."""
    n = total.shape[0]
    least = int(round(_CORE_TRIM_S * rate_hz))
    core = total[run_start:run_stop]
    for trim in (max(least, int(_CORE_TRIM_FRACTION * (run_stop - run_start))), least):
        if run_stop - run_start > 4 * least + 4:
            core = total[run_start + trim:run_stop - trim]
        if not np.isfinite(core).all():
            core = core[np.isfinite(core)]  # lost samples bridged over
        if core.size:
            break  # else every middle sample was lost: the level comes from nearer the edges
    zeroed = _zeroed(total[run_start:run_stop])
    cut = cut_short and run_stop == total.shape[0] and run_stop - run_start <= 4 * least + 4
    if zeroed or cut:
        # an export zeroed below a threshold: zero is the level exactly, and the edges it cut
        # (inside the run when it is short) must not lift it; a recording cut a few ms after
        # take-off has no flight to measure (the plate may still ring): the plate's zero
        level, noise = 0.0, stance_noise
    else:
        # edges and ringing trimmed off, the mean is safe and steadier than a median; a run of
        # -inf samples alone has no level (NaN: no comparison with it holds)
        # (sums over sizes: np.mean's Python wrapper cost more than the sums, per flight)
        level = float(core.sum() / core.size) if core.size else float("nan")
        steps = core[1:] - core[:-1]  # SD from successive differences: blind to a slow drift of the zero
        noise = math.sqrt(float((steps * steps).sum() / steps.size) / 2) if core.size > 1 else 0.0
    threshold = level + max(5.0 * noise, EDGE_FLOOR_N)
    run = total[run_start:run_stop]
    below = np.flatnonzero(run == 0.0 if zeroed else run < threshold)
    first_below = run_start + int(below[0]) if below.size else run_start
    last_below = run_start + int(below[-1]) if below.size else run_stop - 1
    fit = max(4, int(round(EDGE_FIT_S * rate_hz)))
    reach = _ZEROED_EXTRAPOLATION if zeroed else _MAX_EXTRAPOLATION
    near = level + max(3.0 * noise, _NEAR_FLOOR_N)
    last_contact = takeoff = first_contact = landing = None
    if run_start > 0:
        last_contact = first_below - 1
        edge, skipped = _above_noise(total, last_contact, near, -1) if zeroed and stance_noise else (
            _follow(total, last_contact, near, +1), 0)
        takeoff = edge_time(total, edge, level, -1, fit, reach + skipped)
    if run_stop < n:
        first_contact = last_below + 1
        edge, skipped = _above_noise(total, first_contact, near, +1) if zeroed and stance_noise else (
            _follow(total, first_contact, near, -1), 0)
        landing = edge_time(total, edge, level, +1, fit, reach + skipped)
    return Flight(run_start, run_stop, level, noise, last_contact, takeoff, first_contact, landing,
                  zeroed)


def slow_tails(x: np.ndarray, rate: float, flights: list[Flight]) -> list[Flight]:
    """Rebound contacts' edges again, where they meet the level at a tangent: a toe-off whose
    force tails off as (t0 − t)² sits under the threshold and the noise for ms, and the
    quadratic fit, allowed one sample, stops there (flight +5 ms on a sin² contact). Each edge
    is fitted as a power law, as running steps are (power_law_edges), and that foot is taken
    when it lies more than a sample further out; a straight edge (p ≈ 1) keeps its fit. Not a
    jump's push, which reaches the level with a finite slope (a power law fitted to real
    take-offs put them 7–8 ms into the flight). Every edge of the recording is fitted in one
    call: the per-call overhead, not the arithmetic, was most of a hops analysis."""
    rows, where = [], []
    for n, fl in enumerate(flights):
        if fl.zeroed or not np.isfinite(fl.level):
            continue  # a zeroed export's cut hides the tail; a lost level has no level to meet
        low = max(5.0 * fl.noise, EDGE_FLOOR_N)
        for contact, edge, direction in ((fl.last_contact, fl.takeoff, -1), (fl.first_contact, fl.landing, +1)):
            if contact is not None and edge is not None:
                rows.append((contact, fl.level, direction, low, 0.0, edge))
                where.append(n)
    if not rows:
        return flights
    table = np.array(rows, dtype=np.float64)
    contact, level, direction = table[:, 0].astype(np.int64), table[:, 1], table[:, 2].astype(np.int64)
    # top: EDGE_TOP of the contact's peak within 4·EDGE_MAX_S of the edge (finite samples)
    index = contact[:, None] + direction[:, None] * np.arange(int(round(4 * EDGE_MAX_S * rate)) + 1)
    near = x[np.clip(index, 0, x.shape[0] - 1)]
    valid = (index >= 0) & (index < x.shape[0]) & np.isfinite(near)
    peak = np.where(valid, near, -np.inf).max(axis=1)
    table[:, 4] = np.where(valid.any(axis=1), EDGE_TOP * (peak - level), 0.0)
    feet = power_law_edges(x, table, rate).tolist()
    out = list(flights)
    for n, foot, d, edge in zip(where, feet, direction.tolist(), table[:, 5].tolist()):
        if (foot - edge) * d < -1.0:  # further into the flight by more than a sample
            out[n] = replace(out[n], **{"takeoff" if d < 0 else "landing": foot})
    return out


def _zeroed(run: np.ndarray) -> bool:
    """True when ``run`` is a stretch of an export zeroed outside contact (see ZEROED_SHARE)."""
    exact = run == 0.0
    if np.count_nonzero(exact) < ZEROED_MIN:  # most runs: no need to look further
        return False
    zeros = np.flatnonzero(exact)
    if np.fmin.reduce(run) < 0.0:
        return False
    return zeros.size >= ZEROED_SHARE * (zeros[-1] - zeros[0] + 1)


def stance_noise(total: np.ndarray, start: int, stop: int) -> float:
    """Sample noise of ``total`` over [start, stop) (a quiet stance): the SD from successive
    differences, blind to sway; 0 where there are no two finite samples."""
    steps = np.diff(total[start:stop])
    steps = steps[np.isfinite(steps)]
    return float(np.sqrt(np.mean(np.square(steps)) / 2)) if steps.size else 0.0


def _above_noise(x: np.ndarray, i: int, near: float, step: int) -> tuple[int, int]:
    """From the last (first) non-zero sample ``i`` of an edge on a zeroed export, back into the
    contact while samples stay under ``near``: with two plates one plate's cut leaves the other's
    noise (a few N past take-off) in the total. Returns the sample and how many were passed."""
    k = i
    while 0 <= k + step < x.shape[0] and x[k] < near and abs(k - i) < 2:
        k += step
    return k, abs(k - i)


def _follow(x: np.ndarray, i: int, near: float, step: int) -> int:
    """Walk from edge sample ``i`` towards the flight while the edge keeps falling and stays
    above ``near``: a toe-off tail may decay slowly below the threshold (DOMAIN.md bias)."""
    limit = x.shape[0] - 1
    while 0 <= i + step <= limit and near < x[i + step] < x[i]:
        i += step
    return i


def edge_time(x: np.ndarray, contact: int, level: float, direction: int, fit: int,
              reach: float = _MAX_EXTRAPOLATION) -> float:
    """Fractional index where the edge through sample ``contact`` meets ``level``.

    ``direction`` −1: a falling edge ending at ``contact`` (takeoff); +1: a rising edge starting
    at ``contact`` (landing). A quadratic is fitted (least squares) to up to ``fit`` monotone edge
    samples and its root nearest the contact, within ``reach`` samples beyond it, is
    taken; a straight line through the two samples nearest the level is the fallback. Scalar
    arithmetic on a handful of samples: cheaper than numpy's solvers at this size.
    """
    n = x.shape[0]
    lo, hi = (max(contact - fit + 1, 0), contact + 1) if direction < 0 else (contact, min(contact + fit, n))
    values = x[lo:hi].tolist()
    if direction < 0:
        values.reverse()  # walking away from the flight
    seg = [values[0] - level]
    for value in values[1:]:
        if value - level <= seg[-1]:
            break  # the edge rises away from the flight; stop where it does not
        seg.append(value - level)
    if len(seg) >= 3:
        root = _quadratic_root(seg, reach)
        if root is not None:
            return float(contact + direction * root)
    if len(seg) >= 2 and seg[1] > seg[0]:
        u = seg[0] / (seg[1] - seg[0])  # straight line through the two samples nearest the level
        return float(contact - direction * min(u, reach))
    return float(contact - 0.5 * direction)


def _quadratic_root(seg: list[float], reach: float) -> float | None:
    """Root in [−reach, 0] nearest 0 of the least-squares quadratic through
    (0, seg[0]), (1, seg[1]), ...; None if there is none."""
    m = len(seg)
    s1 = s2 = s3 = s4 = 0.0
    t0 = t1 = t2 = 0.0
    for u, y in enumerate(seg):
        uu = u * u
        s1 += u
        s2 += uu
        s3 += uu * u
        s4 += uu * uu
        t0 += y
        t1 += u * y
        t2 += uu * y
    # normal equations [[m, s1, s2], [s1, s2, s3], [s2, s3, s4]] · (c0, c1, c2) = (t0, t1, t2)
    det = m * (s2 * s4 - s3 * s3) - s1 * (s1 * s4 - s3 * s2) + s2 * (s1 * s3 - s2 * s2)
    if det == 0:
        return None
    c0 = (t0 * (s2 * s4 - s3 * s3) - s1 * (t1 * s4 - s3 * t2) + s2 * (t1 * s3 - s2 * t2)) / det
    c1 = (m * (t1 * s4 - s3 * t2) - t0 * (s1 * s4 - s3 * s2) + s2 * (s1 * t2 - t1 * s2)) / det
    c2 = (m * (s2 * t2 - t1 * s3) - s1 * (s1 * t2 - t1 * s2) + t0 * (s1 * s3 - s2 * s2)) / det
    if c2 == 0:
        roots = [-c0 / c1] if c1 != 0 else []
    else:
        disc = c1 * c1 - 4 * c2 * c0
        if disc < 0:
            return None
        q = -0.5 * (c1 + math.copysign(math.sqrt(disc), c1))  # no cancellation when c2 ≈ 0
        roots = [q / c2, c0 / q] if q != 0 else [0.0]
    inside = [r for r in roots if -reach <= r <= 0.0]
    return max(inside) if inside else None


def power_law_edges(x: np.ndarray, edges: np.ndarray, rate: float) -> np.ndarray:
    """Fractional indices where steps' edges meet the unloaded level, all edges at once.

    ``edges`` rows: (contact sample, level, direction, low, top, fallback); direction +1 a
    rising edge from the contact sample, −1 a falling edge ending there. Running edges meet zero
    force at a tangent (a toe-off falls as (t0 − t)², DOMAIN.md), so a straight line from a
    threshold stops milliseconds short. Each edge from ``low`` up to ``top`` newtons above the
    level is fitted as F = c·|t − t0|^p for every p in POWERS (a straight line in F^(1/p)) and
    the best fit's t0 is taken; ``fallback`` where fewer than three samples fit or t0 falls
    outside [−EDGE_MAX_S, first fitted sample].
    """
    if edges.shape[0] == 0:
        return np.empty(0)
    contact, level, direction, low, top, fallback = edges.T
    reach = int(EDGE_MAX_S * rate) + 1
    back = 2  # flight-side samples that made it over ``low`` (where the run's level was off) count too
    u = np.arange(-back, 4 * reach, dtype=np.float64)  # samples from the contact, away from the flight
    index = contact[:, None].astype(np.int64) + direction[:, None].astype(np.int64) * u.astype(np.int64)
    inside = (index >= 0) & (index < x.shape[0])
    seg = x[np.clip(index, 0, x.shape[0] - 1)] - level[:, None]
    over = (seg > top[:, None]) & (u >= 0) & inside
    cut = np.where(over.any(axis=1), over.argmax(axis=1), u.size)  # the fit stops at ``top``
    keep = inside & (seg >= low[:, None]) & (np.arange(u.size) < cut[:, None])
    # rows are fitted in groups of equal width, a power of two just over each row's own cut: a
    # row's arithmetic then never depends on the other edges in the call (streaming = batch).
    # Up to _SUM_BLOCK wide they share one fit (one call, not one per width): numpy sums that
    # many values in one block of eight running sums, where unkept columns add exact zeros
    width = np.minimum(2 ** np.ceil(np.log2(np.maximum(cut, 8))).astype(int), u.size)
    small = width <= _SUM_BLOCK
    width[small] = width[small].max(initial=0)
    foot = np.full(edges.shape[0], np.nan)
    for w in set(width.tolist()):
        rows = np.flatnonzero(width == w)
        foot[rows] = _fit_feet(seg[rows, :w], keep[rows, :w], u[:w], reach)
    return np.where(np.isfinite(foot), contact + direction * foot, fallback)


def _fit_feet(seg: np.ndarray, keep: np.ndarray, u: np.ndarray, reach: int) -> np.ndarray:
    """For each row, where the best power-law fit of its ``keep`` samples meets zero (in samples
    from the contact sample, ``u``); NaN where it cannot be trusted."""
    weight = keep.astype(np.float64)
    count = weight.sum(axis=1)
    su, suu = (weight * u).sum(axis=1), (weight * u * u).sum(axis=1)
    roots = np.exp(np.log(np.where(keep, seg, 1.0))[:, None, :] / POWERS[None, :, None])  # F^(1/p)
    sy = (roots * weight[:, None, :]).sum(axis=2)
    suy = (roots * (weight * u)[:, None, :]).sum(axis=2)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        slope = (count[:, None] * suy - su[:, None] * sy) / (count * suu - su * su)[:, None]
        intercept = (sy - slope * su[:, None]) / count[:, None]
        line = np.maximum(intercept[..., None] + slope[..., None] * u, 1e-300)  # as clip, without its wrapper
        fitted = np.exp(np.log(line) * POWERS[None, :, None])  # exp·log: SIMD, twice as fast as **
        error = (((fitted - np.where(keep, seg, 0.0)[:, None, :]) ** 2) * weight[:, None, :]).sum(axis=2)
        best = np.argmin(np.where(np.isfinite(error), error, np.inf), axis=1)
        rows = np.arange(seg.shape[0])
        foot = -intercept[rows, best] / slope[rows, best]
    first_fitted = u[np.argmax(keep, axis=1)]
    good = ((count >= 3) & (slope[rows, best] > 0) & np.isfinite(foot)
            & (foot >= -reach) & (foot <= first_fitted))
    return np.where(good, foot, np.nan)
