"""Test–retest and detection power of a plate and its analysis, from simulated repeat sessions.

Test–retest: each athlete is tested twice, unchanged (sim.block.unchanged: the same tissue
state, rested), with fresh trial-to-trial variation and fresh sensor noise. Per metric (and per
leg, and the limb symmetry index of per-leg tests), the typical error TE = SD(session 2 −
session 1)/√2 and the minimal detectable change MDC95 = 1.96·√2·TE (Hopkins 2000; Weir 2005),
of the measured values and of the truth (the truth's TE is the athlete's own variation; the
difference is the plate's and the analysis's share).

Detection power: athletes with a true calf deficit of each size (on a random side) are tested
once with the largest trial count; for each smaller count the first trials are used. For every
condition of the clinician's rule on a per-leg test, the share of athletes it flags (a progress
condition that fails, a back-off condition that holds), on measured and on true values.
"""
from __future__ import annotations

import dataclasses
from typing import Callable, Sequence

import numpy as np

from hil.block.measure import Planned, gather, plan_day, sensor_results
from sim.block import unchanged
from sim.block_scenario import BlockScenario
from sim.rule import LEG_AGGREGATES, value
from sim.testday import PER_LEG, TESTS

RETEST_SALT = 3  # rng_for path elements: test–retest sessions …
POWER_SALT = 4  # … and detection-power sessions, apart from the block's test days
POWER_ID_OFFSET = 1_000_000  # power athletes are other people than the cohort's
Measure = Callable[[Sequence[Planned]], list]


def _session(scenario: BlockScenario, ids, athletes, expr, day: int, salt: int, measure: Measure,
             trials: int | None = None, battery=None):
    planned = plan_day(scenario, day, ids, athletes, expr, salt=salt, trials_per_test=trials, battery=battery)
    return planned, measure(planned)


def test_retest(scenario: BlockScenario, athletes: int, measure: Measure = sensor_results,
                done: Callable[[int], None] | None = None, chunk: int = 20) -> list[dict]:
    """TE, MDC95 and CV of every metric (measured and true), from two sessions per athlete."""
    diffs: dict[tuple[str, str | None, str], dict[str, list]] = {}
    for first in range(0, athletes, chunk):
        ids = np.arange(first, min(first + chunk, athletes))
        people, expr = unchanged(scenario, ids)
        days = []
        for day in (0, 1):
            planned, results = _session(scenario, ids, people, expr, day, RETEST_SALT, measure)
            days.append(gather(planned, results, len(ids), day))
        for kind in ("truth", "measured"):
            one, two = getattr(days[0], kind), getattr(days[1], kind)
            for key in one:
                store = diffs.setdefault(key, {"truth": [], "measured": [], "mean": []})
                store[kind].append(two[key] - one[key])
                if kind == "measured":
                    store["mean"].append((two[key] + one[key]) / 2)
            for test in {k[0] for k in one if k[1] is not None}:
                for metric in TESTS[test].metrics:
                    if (test, "left", metric) not in one:
                        continue
                    key = (test, "lsi_pct", metric)
                    lsi = [100 * np.minimum(d[(test, "left", metric)], d[(test, "right", metric)])
                           / np.maximum(d[(test, "left", metric)], d[(test, "right", metric)]) for d in (one, two)]
                    store = diffs.setdefault(key, {"truth": [], "measured": [], "mean": []})
                    store[kind].append(lsi[1] - lsi[0])
                    if kind == "measured":
                        store["mean"].append((lsi[0] + lsi[1]) / 2)
        if done is not None:
            done(int(ids[-1]) + 1)
    rows = []
    for (test, leg, metric), store in diffs.items():
        row = {"test": test, "leg": leg, "metric": metric}
        for kind in ("measured", "truth"):
            d = np.concatenate(store[kind]) if store[kind] else np.zeros(0)
            d = d[np.isfinite(d)]
            te = float(np.std(d, ddof=1) / np.sqrt(2)) if d.size > 1 else None
            row[kind] = {"pairs": int(d.size), "typical_error": te,
                         "mdc95": None if te is None else 1.96 * np.sqrt(2) * te}
        mean = np.concatenate(store["mean"]) if store["mean"] else np.zeros(0)
        mean = mean[np.isfinite(mean)]
        te = row["measured"]["typical_error"]
        row["measured"]["cv_pct"] = (100 * te / abs(float(mean.mean()))
                                     if te is not None and mean.size and mean.mean() != 0 and leg != "lsi_pct" else None)
        rows.append(row)
    return rows


def detection_power(scenario: BlockScenario, measure: Measure = sensor_results,
                    done: Callable[[int], None] | None = None) -> list[dict]:
    """P(flag) per per-leg rule condition, deficit and trials per session (measured and true)."""
    spec = scenario.reliability
    rule = scenario.rule
    conditions = [(c, "progress") for c in rule.progress if c.of in LEG_AGGREGATES] + \
                 [(c, "back_off") for c in rule.back_off if c.of in LEG_AGGREGATES]
    tests = tuple(dict.fromkeys(c.test for c, _ in conditions if TESTS[c.test].legs == PER_LEG))
    most = max(spec.trials)
    rows = []
    deficits = (0.0, *spec.deficits_pct)
    for d_index, deficit in enumerate(deficits):
        athletes = dataclasses.replace(scenario.athletes, deficit_pct=(deficit, deficit),
                                       deficit_side="random", achilles_damage=0.0)
        changed = dataclasses.replace(scenario, athletes=athletes)
        ids = POWER_ID_OFFSET * (d_index + 1) + np.arange(spec.replicates)
        people, expr = unchanged(changed, ids)
        planned, results = _session(changed, ids, people, expr, 0, POWER_SALT, measure, most, tests)
        ranks = _ranks(planned)
        for k in spec.trials:
            keep = [i for i, rank in enumerate(ranks) if rank < k]
            day = gather([planned[i] for i in keep], [results[i] for i in keep], len(ids), 0)
            for condition, part in conditions:
                row = {"condition": condition.label, "part": part, "deficit_pct": deficit, "trials": k,
                       "athletes": int(len(ids))}
                for kind in ("measured", "truth"):
                    values = value(condition, getattr(day, kind), {}, len(ids))
                    hits = condition.holds(values) if part == "back_off" else ~condition.holds(values)
                    row[f"flagged_{kind}"] = float(np.mean(hits))
                rows.append(row)
        if done is not None:
            done(d_index + 1)
    return rows


def _ranks(planned: Sequence[Planned]) -> list[int]:
    """Which trial (0, 1, ...) of its athlete, test and leg each planned trial is."""
    seen: dict[tuple, int] = {}
    out = []
    for p in planned:
        key = (p.athlete, p.test, p.leg)
        out.append(seen.get(key, 0))
        seen[key] = out[-1] + 1
    return out
