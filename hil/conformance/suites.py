"""What conformance is measured on: simulated trials with exact truth, and real recordings with
reference values from published methods.

- ``synthetic``: every test, at 500, 1000 and 2000 Hz, one and two plates, body mass 45–120 kg,
  with the noise presets the spec is written for (``typical``) and an ideal plate (``none``).
- ``field``: the same grid with the ``field`` noise preset (a plate in a clinic rather than a
  lab), when the simulator has that preset.
- ``real``: real recordings (fixtures/real) against the median of the published methods'
  values, within the agreement tolerances of hil.spec.AGREEMENT.

A case's seed and body mass depend only on its place in the grid, so a smaller sweep
(``trials=2``) is the first part of a larger one (``trials=16``).
"""
from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping

import numpy as np

from hil.accuracy import Case
from hil.analysis import TESTS
from hil.spec import SPEC_MASS_RANGE_KG, SPEC_RATES_HZ

SUITES = ("synthetic", "field", "real")
SYNTHETIC_PRESETS = ("none", "typical")
FIELD_PRESET = "field"
MAX_TRIALS = 99  # per (test, rate, plates, preset): the seed layout leaves room for this many
FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
REAL_DIR = FIXTURES / "real"
REAL_RATE_HZ = 1200.0
# The reference CSV's impulse–momentum methods that integrate from an onset of their own (with an
# onset and a time-to-takeoff column). Left out: accupower (a vendor figure with no stated
# method, 3–5 cm below the rest) and jm_wholewindow (integrated over the whole recording).
IMPULSE_METHODS = ("jm", "jm_nosmooth", "bilalovski", "jumptest", "sams_bw", "sams_30ms",
                   "pct10bw", "sd_minus_30ms", "chronojump")


class SuiteUnavailable(ValueError):
    """A suite this installation cannot run (say, no ``field`` preset, or no fixtures)."""


@dataclass(frozen=True)
class RealCase:
    """A real recording and the reference values it is judged against."""

    test: str
    path: Path
    rate_hz: float | None  # None: from the file's time column
    reference: Mapping[str, float]
    source: str  # what the reference values are

    @property
    def label(self) -> str:
        return self.path.name


def synthetic_cases(trials: int, presets: tuple[str, ...]) -> list[Case]:
    """``trials`` cases per (preset, test, rate, plates), in that order."""
    if not 1 <= trials <= MAX_TRIALS:
        raise ValueError(f"trials per cell must be 1–{MAX_TRIALS}, got {trials}")
    cases = []
    for preset in presets:
        for t, test in enumerate(TESTS):
            for r, rate in enumerate(SPEC_RATES_HZ):
                for plates in (1, 2):
                    for i in range(trials):
                        seed = 1_000_000 + 10_000 * t + 1_000 * r + 100 * plates + i
                        mass = float(np.random.default_rng(seed).uniform(*SPEC_MASS_RANGE_KG))
                        cases.append(Case(test, rate, round(mass, 1), plates, seed, noise=preset))
    return cases


def presets_for(suite: str) -> tuple[str, ...]:
    """The noise presets of a synthetic suite; SuiteUnavailable when the simulator lacks one."""
    from sim.plate import PRESETS

    wanted = SYNTHETIC_PRESETS if suite == "synthetic" else (FIELD_PRESET,)
    missing = [name for name in wanted if name not in PRESETS]
    if missing:
        raise SuiteUnavailable(f"suite {suite!r} needs the noise preset(s) {', '.join(missing)}, "
                               f"which this simulator does not have ({', '.join(PRESETS)})")
    return wanted


def published_median(row: Mapping[str, str], prefix: str, suffix: str = "") -> float:
    """The median over IMPULSE_METHODS of a reference-CSV quantity (``jh_`` … ``_cm``, ``ttt_``)."""
    return float(np.median([float(row[f"{prefix}{method}{suffix}"]) for method in IMPULSE_METHODS]))


def real_cases(directory: Path = REAL_DIR) -> list[RealCase]:
    """The real countermovement jumps with their published-method reference values."""
    table = directory / "reference_subject01_trials1-3.csv"
    if not table.exists():
        raise SuiteUnavailable(f"suite 'real' needs the recordings in {directory} (a source checkout)")
    with open(table, newline="") as stream:
        rows = list(csv.DictReader(stream))
    source = "median of nine published impulse–momentum methods (plateforce conformance set)"
    return [RealCase("cmj", directory / f"subject{int(row['subject']):02d}_trial{row['trial']}.force.txt",
                     REAL_RATE_HZ,
                     {"jump_height_m": published_median(row, "jh_", "_cm") / 100,
                      "time_to_takeoff_s": published_median(row, "ttt_")}, source)
            for row in rows]


def cases_for(suite: str, trials: int) -> list[Case] | list[RealCase]:
    if suite == "real":
        return real_cases()
    if suite in ("synthetic", "field"):
        return synthetic_cases(trials, presets_for(suite))
    raise SuiteUnavailable(f"unknown suite {suite!r}; expected one of {', '.join(SUITES)} or all")
