"""Accuracy sweeps: simulate trials, analyse them, compare with the truth, tabulate pass rates.

    from hil.accuracy import Case, sweep, table
    from hil.spec import pass_rates
    checks = sweep([Case("cmj", 1000.0, 80.0, 2, seed) for seed in range(20)])
    print(table(pass_rates(checks)))

Shared by the analysis's accuracy suite and the bench (hil.spec holds the tolerances).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Iterable, Mapping

import numpy as np

from hil.analysis import analyse
from hil.spec import Check, PassRate, check

if TYPE_CHECKING:
    from sim.trial import Trial

@dataclass(frozen=True)
class Case:
    """One simulated trial: test, rate, body mass, plates, seed, movement options, noise preset."""

    test: str
    rate_hz: float
    mass_kg: float
    plates: int
    seed: int
    options: Mapping[str, object] = field(default_factory=dict)
    noise: str = "typical"

    @property
    def label(self) -> str:
        return (f"{self.test} {self.rate_hz:g} Hz {self.mass_kg:.1f} kg {self.plates}p "
                f"{self.noise} seed {self.seed}")


def simulate_case(case: Case, noise: str | None = None) -> tuple[Trial, np.ndarray, float | None]:
    """The case's trial, the force as the analysis takes it, and the drop height it is told."""
    from sim.generate import simulate
    from sim.movements.dj import DEFAULT_DROP_HEIGHT_M

    trial = simulate(case.test, mass_kg=case.mass_kg, rate_hz=case.rate_hz, plates=case.plates,
                     noise=noise or case.noise, seed=case.seed, **dict(case.options))
    # the box height is set up by the clinician, so the analysis is told it
    drop = case.options.get("drop_height_m", DEFAULT_DROP_HEIGHT_M) if case.test == "dj" else None
    return trial, trial.force if trial.plates == 2 else trial.force[:, 0], drop


def run_case(case: Case, noise: str | None = None) -> list[Check]:
    """Simulate, analyse and check one case against its truth (``noise`` overrides the case's)."""
    trial, force, drop = simulate_case(case, noise)
    result = analyse(force, trial.rate_hz, case.test, drop_height_m=drop)
    return check(case.test, trial.truth.metrics, result.metrics, trial.rate_hz)


def sweep(cases: Iterable[Case], noise: str | None = None) -> list[Check]:
    """Every case's checks, in order."""
    return [item for case in cases for item in run_case(case, noise)]


def table(rates: Iterable[PassRate]) -> str:
    """A fixed-width table of pass rates: test, metric, passed/total, rate, verdict."""
    rows = [("test", "metric", "passed", "rate", "spec")]
    for rate in rates:
        rows.append((rate.test, rate.metric, f"{rate.passed}/{rate.total}",
                     f"{100 * rate.rate:.1f} %", "met" if rate.met else "NOT MET"))
    widths = [max(len(row[i]) for row in rows) for i in range(5)]
    return "\n".join("  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip()
                     for row in rows)
