"""Stage 1, plan: a scenario → its trials simulated and laid out as one plate source per rate.

One stream per sample rate in the scenario: its trials are concatenated, each followed by a
quiet gap (unloaded plate), into an emulator source, so that every trial's first sample counter
is known to the later stages.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from hil.bench.scenario import Scenario
from hil.bench.settings import BenchError
from hil.emulator.source import write_source
from sim.generate import simulate
from sim.movements import dj
from sim.scenario import TrialPlan
from sim.trial import Trial


@dataclass(frozen=True)
class Segment:
    """One stream: the scenario's trials at one sample rate, back to back with quiet gaps."""

    rate_hz: float
    plans: tuple[TrialPlan, ...]
    trials: tuple[Trial, ...]
    starts: tuple[int, ...]  # first sample of each trial in the stream
    cells: np.ndarray  # (samples, plates, 4) newtons, what the emulator streams

    @property
    def samples(self) -> int:
        return self.cells.shape[0]

    def write_source(self, path: Path) -> Path:
        """The segment as an emulator source file (trial starts and labels inside)."""
        return write_source(path, self.cells, self.rate_hz, self.starts,
                            [plan.label for plan in self.plans])


def simulate_segment(scenario: Scenario, rate_hz: float) -> Segment:
    """Simulate the scenario's trials at ``rate_hz`` and lay them out as one stream."""
    plate = scenario.session.plate
    gap = np.zeros((int(round(scenario.session.gap_s * rate_hz)), plate.plates, 4))
    plans = tuple(plan for plan in scenario.trials if plan.rate_hz == rate_hz)
    trials, starts, pieces, position = [], [], [], 0
    for plan in plans:
        try:
            trial = simulate(plan.test, mass_kg=plan.mass_kg, rate_hz=rate_hz, plates=plate.plates,
                             noise=plate.noise, seed=plan.seed, **plan.options)
        except (ValueError, TypeError) as error:  # SimulationError, or an option it does not take
            raise BenchError(f"{scenario.source}: trial {plan.label}: {error}") from None
        if trial.cells is None or trial.cells.shape[1:] != (plate.plates, 4):
            raise BenchError(f"{scenario.source}: trial {plan.label}: the simulator gave no "
                             f"per-cell forces for {plate.plates} plate(s)")
        trials.append(trial)
        starts.append(position)
        pieces += [trial.cells, gap]
        position += trial.cells.shape[0] + gap.shape[0]
    return Segment(rate_hz, plans, tuple(trials), tuple(starts), np.concatenate(pieces))


def stream_suffix(scenario: Scenario, rate_hz: float) -> str:
    """What a stream's files are suffixed with: nothing, or ``-<rate>hz`` when the scenario
    streams several rates (``source-500hz.npz``, ``raw-500hz.bin``, ...)."""
    return "" if len(scenario.rates_hz) == 1 else f"-{rate_hz:g}hz"


def drop_height(plan: TrialPlan) -> float | None:
    """The box height of a drop jump: set up by the clinician, so the analysis is told it (the
    scenario's option, else the movement's own default)."""
    if plan.test != "dj":
        return None
    return float(plan.options.get("drop_height_m", dj.DEFAULT_DROP_HEIGHT_M))
