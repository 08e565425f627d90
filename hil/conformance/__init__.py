"""Conformance: any analyser against the truth of simulated trials and the reference values of
real recordings, per metric: bias, 95th percentile of the error, pass rate against the spec,
refusals (docs/conformance.md).

    from hil.conformance import run
    from hil.conformance.table import text
    report = run(["forcebench", "plateforce"], ["synthetic", "real"], trials=4)
    print(text(report))
"""
from __future__ import annotations

import importlib.metadata
import os
import platform
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

import numpy as np

from hil.conformance import analysers as registry
from hil.conformance.score import Item, Outcome, Row, observe, rows
from hil.conformance.suites import SUITES, SuiteUnavailable, cases_for
from hil.executor import LocalExecutor

DEFAULT_TRIALS = 16  # per (test, rate, plates, preset): 96 per test and preset, as the accuracy suite


@dataclass(frozen=True)
class Report:
    """A conformance run: what ran, on what, and the rows of the table."""

    analysers: tuple[tuple[str, str], ...]  # (name, version)
    suites: tuple[str, ...]  # the suites that ran
    trials: int
    cases: dict[str, int]  # suite → number of cases
    rows: tuple[Row, ...]
    refused_trials: dict[str, int]  # analyser → trials it declined whole
    seconds_per_trial: dict[str, dict[str, float]]  # analyser → test → median time in the analyser
    skipped: tuple[str, ...] = ()  # suites that could not run here, and why
    executor: str = "local, 1 process"
    wall_s: float = 0.0
    meta: dict[str, Any] = field(default_factory=dict)

    def missed(self, analyser: str | None = None) -> list[Row]:
        """Rows below the spec's pass rate (of one analyser, or of all)."""
        return [r for r in self.rows if not r.met and analyser in (None, r.analyser)]

    def to_dict(self) -> dict[str, Any]:
        return {
            "forcebench": {"version": importlib.metadata.version("forcebench")},
            "analysers": [{"name": n, "version": v, "met": not self.missed(n),
                           "refused_trials": self.refused_trials.get(n, 0),
                           "median_seconds_per_trial": self.seconds_per_trial.get(n, {})}
                          for n, v in self.analysers],
            "suites": list(self.suites), "skipped": list(self.skipped),
            "trials_per_cell": self.trials, "cases": self.cases,
            "executor": self.executor, "wall_s": self.wall_s, **self.meta,
            "rows": [row.to_dict() for row in self.rows],
        }


def expand_suites(names: Sequence[str]) -> tuple[str, ...]:
    """``all`` → every suite; otherwise the names, each once, checked."""
    out: list[str] = []
    for name in names:
        for suite in (SUITES if name == "all" else (name,)):
            if suite not in SUITES:
                raise SuiteUnavailable(f"unknown suite {suite!r}; expected one of {', '.join(SUITES)} or all")
            if suite not in out:
                out.append(suite)
    return tuple(out)


def plan(analysers: Sequence[str], suites: Sequence[str], trials: int = DEFAULT_TRIALS,
         strict: bool = True) -> tuple[list[Item], dict[str, int], list[str]]:
    """The sweep's items, cases per suite, and the suites skipped (only when not ``strict``:
    with ``all``, a suite this installation lacks is skipped and said so, not an error)."""
    items, counts, skipped = [], {}, []
    names = tuple(analysers)
    for suite in suites:
        try:
            cases = cases_for(suite, trials)
        except SuiteUnavailable as error:
            if strict:
                raise
            skipped.append(str(error))
            continue
        counts[suite] = len(cases)
        items += [Item(suite, case, names) for case in cases]
    return items, counts, skipped


def run(analysers: Sequence[str], suites: Sequence[str] = ("synthetic",), trials: int = DEFAULT_TRIALS,
        executor: Any = None, progress: Callable[[int, int], None] | None = None,
        strict: bool = True) -> Report:
    """Run the named analysers over the suites; ``executor`` defaults to this process;
    ``progress(done, total)`` is called as cases finish."""
    loaded = [registry.load(name) for name in analysers]  # fails early, in this process
    suites = expand_suites(suites)
    items, counts, skipped = plan(analysers, suites, trials, strict=strict)
    began = time.perf_counter()
    executor = executor or LocalExecutor(1)
    tick = None if progress is None else (lambda done: progress(done, len(items)))
    outcomes: list[Outcome] = [o for batch in executor.map(observe, items, tick) for o in batch]
    wall = time.perf_counter() - began
    refused: dict[str, int] = {}
    times: dict[str, dict[str, list[float]]] = {}
    for outcome in outcomes:
        refused[outcome.analyser] = refused.get(outcome.analyser, 0) + (outcome.refused is not None)
        times.setdefault(outcome.analyser, {}).setdefault(outcome.test, []).append(outcome.seconds)
    return Report(
        analysers=tuple((a.name, a.version) for a in loaded), suites=tuple(counts), trials=trials,
        cases=counts, rows=tuple(rows(outcomes)), refused_trials=refused,
        seconds_per_trial={a: {t: float(np.median(v)) for t, v in by.items()} for a, by in times.items()},
        skipped=tuple(skipped), executor=executor.describe(), wall_s=wall,
        meta={"machine": {"python": platform.python_version(), "cpus": os.cpu_count() or 1}})
