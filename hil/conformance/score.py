"""Run analysers on one case and judge them; gather the judgements into rows per metric.

``observe`` is what a sweep's workers run: it takes only names and plain case records, builds
the trace itself (simulated from the seed, or read from the file) and gives every analyser the
same samples.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Iterable, Sequence

import numpy as np

from hil.accuracy import Case, simulate_case
from hil.conformance.analysers import Refused, load
from hil.analysis import TESTS
from hil.conformance.suites import SUITES, RealCase
from hil.spec import AGREEMENT, MIN_PASS_RATE, Check, check, checked_metrics, measurement

MIN_FOR_P95 = 20  # a 95th percentile needs this many values; below it the table gives the max


@dataclass(frozen=True)
class Item:
    """One unit of work for a sweep: a case of a suite, and the analysers to run on it."""

    suite: str
    case: Case | RealCase
    analysers: tuple[str, ...]


@dataclass(frozen=True)
class Outcome:
    """One analyser on one case: its checks against the truth (or reference), and a refusal."""

    suite: str
    case: str
    test: str
    analyser: str
    checks: tuple[Check, ...]
    refused: str | None  # why the analyser declined (or failed on) the whole trial
    seconds: float  # wall time inside the analyser


def observe(item: Item) -> list[Outcome]:
    """Every analyser of ``item`` on its case's trace, judged metric by metric."""
    case = item.case
    if isinstance(case, RealCase):
        from hil.analysis.readers import load as read

        recording = read(str(case.path), case.rate_hz)
        force, rate, drop, truth, table = recording.force, recording.rate_hz, None, case.reference, AGREEMENT
        names: Sequence[str] = [name for name in truth if name in AGREEMENT]
    else:
        trial, force, drop = simulate_case(case)
        rate, truth, table = trial.rate_hz, trial.truth.metrics, None
        names = checked_metrics(case.test, truth)
    outcomes = []
    for name in item.analysers:
        analyser = load(name)
        judged = analyser.judged(case.test, names)
        if not judged:  # a test this analyser does not do
            continue
        refused, measured = None, {}
        began = time.perf_counter()
        try:
            measured = dict(analyser.measure(force, rate, case.test, drop))
        except Refused as error:
            refused = str(error) or "refused"
        except Exception as error:  # a crash on one trial is that analyser's refusal, not the sweep's end
            refused = f"crashed: {type(error).__name__}: {error}"
        seconds = time.perf_counter() - began
        checks = check(case.test, truth, measured, rate, judged, table)
        outcomes.append(Outcome(item.suite, case.label, case.test, name, tuple(checks), refused, seconds))
    return outcomes


@dataclass(frozen=True)
class Row:
    """One metric of one test in one suite, for one analyser."""

    suite: str
    test: str
    metric: str
    analyser: str
    unit: str
    trials: int  # trials with a truth (or reference) for this metric
    values: int  # trials the analyser gave a value for
    passed: int
    bias: float | None  # mean of measured − truth over the values
    p95_error: float | None  # 95th percentile of |measured − truth| (the max below MIN_FOR_P95)
    p95_over_limit: float | None  # the same percentile of |error| / tolerance: > 1 misses
    tolerance: str  # the tolerance as the spec writes it

    @property
    def refusals(self) -> int:
        return self.trials - self.values

    @property
    def pass_rate(self) -> float:
        return self.passed / self.trials if self.trials else 0.0

    @property
    def met(self) -> bool:
        return self.trials > 0 and self.pass_rate >= MIN_PASS_RATE - 1e-12

    @property
    def percentile(self) -> str:
        return "p95" if self.values >= MIN_FOR_P95 else "max"

    def to_dict(self) -> dict[str, object]:
        return {"suite": self.suite, "test": self.test, "metric": self.metric,
                "analyser": self.analyser, "unit": self.unit, "trials": self.trials,
                "values": self.values, "refusals": self.refusals, "passed": self.passed,
                "pass_rate": self.pass_rate, "min_pass_rate": MIN_PASS_RATE, "met": self.met,
                "bias": self.bias, "abs_error": self.p95_error,
                "abs_error_over_tolerance": self.p95_over_limit, "statistic": self.percentile,
                "tolerance": self.tolerance}


def _percentile(values: np.ndarray) -> float | None:
    if values.size == 0:
        return None
    return float(np.percentile(values, 95) if values.size >= MIN_FOR_P95 else values.max())


def tolerance_text(suite: str, test: str, metric: str) -> str:
    spec = AGREEMENT.get(metric) if suite == "real" else measurement(test, metric)
    if spec is None:
        return "?"
    t, unit = spec.tolerance, spec.unit
    parts = []
    if t.absolute:
        scale, shown = {"m": (1e3, "mm"), "s": (1e3, "ms")}.get(unit, (1.0, unit))
        parts.append(f"{t.absolute * scale:g} {shown}".rstrip())
    if t.relative:
        parts.append(f"{100 * t.relative:g} %")
    if t.per_dt:
        parts.append(f"{t.per_dt:g}·dt")
    if t.per_flight_dt:
        parts.append("g·t_flight·dt/2")
    return "exact" if not parts else "±" + (parts[0] if len(parts) == 1 else f"({' + '.join(parts)})")


def rows(outcomes: Iterable[Outcome]) -> list[Row]:
    """One Row per (suite, test, metric, analyser), in order of first appearance."""
    groups: dict[tuple[str, str, str, str], list[Check]] = {}
    for outcome in outcomes:
        for item in outcome.checks:
            groups.setdefault((outcome.suite, outcome.test, item.name, outcome.analyser), []).append(item)
    order = {key: n for n, key in enumerate(groups)}
    first: dict[tuple[str, ...], int] = {}
    for suite, test, metric, analyser in groups:  # first appearance of each metric and analyser
        first.setdefault((suite, test, metric), len(first))
        first.setdefault((analyser,), len(first))

    def place(key: tuple[str, str, str, str]) -> tuple[int, ...]:
        suite, test, metric, analyser = key  # suite, test, metric, then analysers side by side
        return (SUITES.index(suite), TESTS.index(test), first[(suite, test, metric)],
                first[(analyser,)], order[key])

    out = []
    for (suite, test, metric, analyser), checks in sorted(groups.items(), key=lambda kv: place(kv[0])):
        measured = [c for c in checks if c.error is not None]
        errors = np.array([c.error for c in measured], dtype=float)
        # an exact metric (a count) has no tolerance to divide by: its |error| says by how much
        ratios = np.array([abs(c.error) / c.limit for c in measured if c.limit > 0], dtype=float)
        out.append(Row(suite, test, metric, analyser, checks[0].unit, len(checks), len(measured),
                       sum(c.passed for c in checks), float(errors.mean()) if errors.size else None,
                       _percentile(np.abs(errors)), _percentile(ratios),
                       tolerance_text(suite, test, metric)))
    return out
