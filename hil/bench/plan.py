"""Stage 1, plan: a scenario → its trials simulated and laid out as one plate source per rate.

One stream per sample rate in the scenario: its trials are concatenated, each followed by a
quiet gap (unloaded plate), into an emulator source file, so that every trial's first sample
counter is known to the later stages. Trials are simulated and written one at a time; only
their truths stay in memory, so memory does not grow with a trial's traces.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Iterator

import numpy as np

from hil.bench.scenario import Scenario
from hil.bench.settings import BenchError
from hil.emulator.source import SourceWriter, read_source
from sim.generate import simulate
from sim.movements import dj
from sim.scenario import TrialPlan
from sim.trial import Trial, Truth


@dataclass(frozen=True)
class Segment:
    """One stream: the scenario's trials at one sample rate, back to back with quiet gaps, in
    an emulator source file; in memory only what scoring needs of each trial (its truth)."""

    rate_hz: float
    plans: tuple[TrialPlan, ...]
    truths: tuple[Truth, ...]
    starts: tuple[int, ...]  # first sample of each trial in the stream
    lengths: tuple[int, ...]  # samples of each trial
    samples: int
    source: Path  # the emulator source file: cells (samples, plates, 4) newtons, what it streams

    @property
    def cells(self) -> np.ndarray:
        """Every cell force of the stream, read from the source file (for a playback upload or
        a stimulus, which need the whole waveform at once)."""
        return read_source(self.source).cells


def lay_out(path: Path, rate_hz: float, plates: int, gap_s: float,
            planned: Iterable[tuple[TrialPlan, Trial]]) -> Segment:
    """Trials, each followed by a quiet gap, written into the source file at ``path`` one at a
    time (``planned`` may make each trial when asked: only one trial's traces live at once)."""
    gap = np.zeros((int(round(gap_s * rate_hz)), plates, 4))
    plans, truths, starts, lengths = [], [], [], []
    with SourceWriter(path, rate_hz, plates) as writer:
        for trial_plan, trial in planned:
            plans.append(trial_plan)
            truths.append(trial.truth)
            starts.append(writer.samples)
            lengths.append(trial.cells.shape[0])
            writer.append(trial.cells)
            writer.append(gap)
        writer.close(starts, [p.label for p in plans])
    return Segment(rate_hz, tuple(plans), tuple(truths), tuple(starts), tuple(lengths),
                   writer.samples, path)


def simulate_segment(scenario: Scenario, rate_hz: float, path: Path) -> Segment:
    """Simulate the scenario's trials at ``rate_hz``, one at a time, into a source at ``path``."""
    plate = scenario.session.plate

    def simulated() -> Iterator[tuple[TrialPlan, Trial]]:
        for plan in (plan for plan in scenario.trials if plan.rate_hz == rate_hz):
            try:
                trial = simulate(plan.test, mass_kg=plan.mass_kg, rate_hz=rate_hz,
                                 plates=plate.plates, noise=plate.noise, seed=plan.seed,
                                 **plan.options)
            except (ValueError, TypeError) as error:  # SimulationError, or an option it does not take
                raise BenchError(f"{scenario.source}: trial {plan.label}: {error}") from None
            if trial.cells is None or trial.cells.shape[1:] != (plate.plates, 4):
                raise BenchError(f"{scenario.source}: trial {plan.label}: the simulator gave no "
                                 f"per-cell forces for {plate.plates} plate(s)")
            yield plan, trial

    return lay_out(path, rate_hz, plate.plates, scenario.session.gap_s, simulated())


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
