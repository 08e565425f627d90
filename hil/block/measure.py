"""Test days through a plate and the analysis under test: the block's ``Tester``s.

``SensorTester`` measures every trial with the simulated sensor (sim.plate, the scenario's
noise preset) and analyses it in batch (hil.analysis.analyse). ``PlateTester`` streams the
day's trials through a plate URL with the bench's own stages (hil.bench.plan's Segment,
hil.bench.stream's Router and stream_segment): an emulated plate is started on them, the
acquisition cuts them apart and a streaming analyser per trial gives the result.

Both give, per athlete and test (and leg), the mean over the trials of the truth and of what
was measured (a metric the analysis left out of a trial is averaged over the trials that have
it; left out of every trial, it is missing). Every trial uses two plates, left and right: a
single-leg test has all its force on one of them.
"""
from __future__ import annotations

import dataclasses
import tempfile
from pathlib import Path
from typing import Callable, Mapping, Sequence

import numpy as np

from hil.analysis import analyse
from hil.bench.plan import lay_out
from hil.bench.settings import Settings
from hil.bench.stream import Router, new_runs, stream_segment
from sim import plate
from sim.athlete import Athlete
from sim.block import Key, Session, TestDay, rng_for
from sim.block_scenario import BlockScenario
from sim.movements.dj import DEFAULT_DROP_HEIGHT_M
from sim.scenario import TrialPlan
from sim.testday import TESTS, Expression, counted, trials
from sim.trial import Trial

PLATES = 2
GAP_S = 0.5  # unloaded plate between trials in a stream
TEST_SALT = 2  # rng_for path element of test-day trials


@dataclasses.dataclass(frozen=True)
class Planned:
    """One trial of a test day, with where its result goes."""

    athlete: int  # position in the chunk
    test: str
    leg: str | None
    trial: Trial | None  # None: counted, not on the plate
    count: float | None = None


def plan_day(scenario: BlockScenario, day: int, ids: np.ndarray, athletes: Sequence[Athlete],
             expr: Expression, salt: int = TEST_SALT, trials_per_test: int | None = None,
             battery: Sequence[str] | None = None) -> list[Planned]:
    """Every trial of the test day, each measured by the simulated sensor (its own seed)."""
    count = scenario.tests.trials if trials_per_test is None else trials_per_test
    out = []
    for i, athlete in enumerate(athletes):
        one = expr.take(i)
        for t, name in enumerate(scenario.tests.battery if battery is None else battery):
            for leg in TESTS[name].legs:
                rng = rng_for(scenario.seed, int(ids[i]), salt, day, t, 0 if leg is None else TESTS[name].legs.index(leg))
                if TESTS[name].movement is None:
                    out += [Planned(i, name, leg, None, c) for c in counted(one, name, leg, count, rng)]
                    continue
                for trial in trials(athlete, one, name, leg, count, scenario.rate_hz, PLATES, rng):
                    out.append(Planned(i, name, leg, plate.measure(trial, scenario.noise, rng)))
    return out


def gather(planned: Sequence[Planned], results: Sequence[Mapping[str, float] | None], athletes: int,
           day: int) -> TestDay:
    """Sessions (means over trials) and the day's values keyed (test, leg, metric)."""
    groups: dict[tuple[int, str, str | None], list[tuple[Planned, Mapping[str, float] | None]]] = {}
    for p, measured in zip(planned, results):
        groups.setdefault((p.athlete, p.test, p.leg), []).append((p, measured))
    sessions: list[list[Session]] = [[] for _ in range(athletes)]
    truth: dict[Key, np.ndarray] = {}
    measured_values: dict[Key, np.ndarray] = {}
    for (i, test, leg), items in groups.items():
        names = TESTS[test].metrics
        if items[0][0].trial is None:  # counted by the clinician: exact
            true_rows = [{names[0]: p.count} for p, _ in items]
            seen_rows = true_rows
        else:
            true_rows = [p.trial.truth.metrics for p, _ in items]
            seen_rows = [m or {} for _, m in items]
        true_mean, seen_mean = _mean(true_rows, names), _mean(seen_rows, names)
        sessions[i].append(Session(day, day // 7, test, leg, len(items), true_mean, seen_mean))
        for store, values in ((truth, true_mean), (measured_values, seen_mean)):
            for name in names:
                store.setdefault((test, leg, name), np.full(athletes, np.nan))[i] = values.get(name, np.nan)
    return TestDay(sessions, truth, measured_values)


def _mean(rows: Sequence[Mapping[str, float]], names: Sequence[str]) -> dict[str, float]:
    out = {}
    for name in names:
        values = [float(r[name]) for r in rows if name in r and np.isfinite(r[name])]
        if values:
            out[name] = float(np.mean(values))
    return out


def drop_height(test: str) -> float | None:
    return DEFAULT_DROP_HEIGHT_M if TESTS[test].movement == "dj" else None


def sensor_results(planned: Sequence[Planned]) -> list[Mapping[str, float] | None]:
    """Each trial analysed in batch (None for counted tests)."""
    out = []
    for p in planned:
        if p.trial is None:
            out.append(None)
            continue
        result = analyse(p.trial.force, p.trial.rate_hz, TESTS[p.test].movement,
                         drop_height_m=drop_height(p.test))
        out.append(dict(result.metrics))
    return out


class SensorTester:
    """Test days through the simulated sensor and the batch analysis."""

    def __init__(self, scenario: BlockScenario) -> None:
        self.scenario = scenario
        self.trials = 0

    def __call__(self, day: int, ids: np.ndarray, athletes: list[Athlete], expr: Expression) -> TestDay:
        planned = plan_day(self.scenario, day, ids, athletes, expr)
        self.trials += sum(p.trial is not None for p in planned)
        return gather(planned, sensor_results(planned), len(ids), day)


class PlateTester:
    """Test days streamed through a plate URL with the bench's stages, analysed as they arrive."""

    def __init__(self, scenario: BlockScenario, url: str, settings: Settings,
                 directory: Path | None = None) -> None:
        self.scenario, self.url, self.settings = scenario, url, settings
        self.directory = directory
        self.trials = 0
        self.issues: list[dict] = []

    def __call__(self, day: int, ids: np.ndarray, athletes: list[Athlete], expr: Expression) -> TestDay:
        planned = plan_day(self.scenario, day, ids, athletes, expr)
        results = self.measure(planned, f"-day{day:03d}")
        self.trials += sum(p.trial is not None for p in planned)
        return gather(planned, results, len(ids), day)

    def measure(self, planned: Sequence[Planned], suffix: str = "") -> list[Mapping[str, float] | None]:
        """Each planned trial's metrics (None for counted tests and trials without a result)."""
        on_plate = [p for p in planned if p.trial is not None]
        measured = iter(self.stream(on_plate, suffix) if on_plate else [])
        return [next(measured) if p.trial is not None else None for p in planned]

    def stream(self, planned: Sequence[Planned], suffix: str) -> list[Mapping[str, float] | None]:
        """The trials back to back (quiet gaps between) through the plate; each one's first result."""
        rate = self.scenario.rate_hz
        plans = [TrialPlan(index, TESTS[p.test].movement, 0, None, rate,
                           {} if drop_height(p.test) is None else {"drop_height_m": drop_height(p.test)})
                 for index, p in enumerate(planned)]
        with tempfile.TemporaryDirectory(prefix="forcebench-block-") as scratch:
            where = Path(scratch) if self.directory is None else self.directory
            segment = lay_out(where / f"source{suffix}.npz", rate, PLATES, GAP_S,
                              zip(plans, (p.trial for p in planned)))
            runs = new_runs(segment, PLATES)
            router = Router(runs, segment.samples)
            outcome = stream_segment(segment, self.url, self.settings, plates=PLATES, faults=(),
                                     directory=where, suffix=suffix, router=router,
                                     progress=None)
        for issue in outcome.issues:
            self.issues.append({"stream": suffix, **issue.to_dict()})
        return [dict(run.results[0][0].metrics) if run.results and run.crash is None else None
                for run in runs]


def make_tester(scenario: BlockScenario, url: str | None, settings: Settings,
                directory: Path | None = None) -> Callable:
    """The simulated sensor without a URL, else the plate at ``url`` through the bench."""
    return SensorTester(scenario) if url is None else PlateTester(scenario, url, settings, directory)
