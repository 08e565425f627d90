"""Calibration Monte Carlo: how well the fit (fit.py) recovers a plate's true errors, and whether
the uncertainties it reports cover them, over many plates drawn at random.

Each draw is a plate out of calibration (every cell's gain, zero offset and crosstalk drawn), read
through the calibration sequence of the acceptance spec with the emulated plate's noise and a
reference whose gain is off by its certificate's uncertainty; the readings are synthesised here
(no pty: the sweep measures the method, not the transport) and fitted as ``forcebench calibrate``
fits them. Draws run through the one executor interface (hil.executor), locally or on Dask, and
a draw's numbers depend only on its seed:

    from hil.calibrate.montecarlo import monte_carlo
    from hil.executor import open_executor
    with open_executor(workers=2) as executor:
        summary = monte_carlo(200, executor=executor)

    python -m hil.calibrate.montecarlo --draws 200 --workers 2      # the same from the shell
    python -m hil.calibrate.montecarlo --scheduler tcp://10.0.0.5:8786 --draws 5000 --json
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

from sim.plate import CELL_HALF_M, PLATE_SIZE_M

from ..emulator.miscalibration import Miscalibration
from ..protocol import CELLS
from . import acceptance, plan
from .fit import fit, load_columns, shares
from .rig import CHUNK_S, Reading

GAIN_SD = 0.01  # drawn plates: each cell's gain 1 ± 1 % (SD) ...
OFFSET_SD_N = 5.0  # ... zero offset ± 5 N ...
CROSSTALK_MAX = 0.02  # ... crosstalk uniform in [0, 2 %]
RATE_HZ = 1000.0  # the emulated plate's rate: a reading averages CHUNK_S of it
REFERENCE_NOISE_N = 0.05  # the emulated reference indicator's noise (hil.references)
STEP_S = 0.3  # rig time per step (placing and settling), for the drift column of the fit
COVERAGE_K = 2.0  # an expanded uncertainty (k = 2) should cover ~95 % of the true errors


@dataclass(frozen=True)
class Draw:
    """One plate of the sweep: its seed and number of plates."""

    seed: int
    plates: int = 2


@dataclass(frozen=True)
class Outcome:
    """One draw's fit against its truth: worst errors over its cells, and coverage counts."""

    seed: int
    gain_error_max_pct: float  # max |fitted gain − true gain| / true gain
    offset_error_max_n: float
    crosstalk_error_max_pct: float
    cells: int
    gain_covered: int  # cells whose |gain error| ≤ k·u(gain)
    offset_covered: int


@dataclass(frozen=True)
class Summary:
    """The sweep: every outcome, in the order of the draws, and what the executor was."""

    outcomes: tuple[Outcome, ...]
    executor: str

    def figures(self) -> dict[str, Any]:
        """Median and maximum of each worst-cell error over the draws; coverage over all cells."""
        out: dict[str, Any] = {"draws": len(self.outcomes), "executor": self.executor}
        for name in ("gain_error_max_pct", "offset_error_max_n", "crosstalk_error_max_pct"):
            values = np.array([getattr(o, name) for o in self.outcomes])
            out[name] = {"median": float(np.median(values)), "max": float(values.max())}
        cells = sum(o.cells for o in self.outcomes)
        out["gain_coverage_k2"] = sum(o.gain_covered for o in self.outcomes) / cells
        out["offset_coverage_k2"] = sum(o.offset_covered for o in self.outcomes) / cells
        out["cells"] = cells
        return out


def plate_errors(draw: Draw) -> Miscalibration:
    """The draw's true cell errors (hil.emulator.miscalibration's model)."""
    rng = np.random.default_rng(draw.seed)
    cells = draw.plates * CELLS
    same = np.kron(np.eye(draw.plates), np.ones((CELLS, CELLS)) - np.eye(CELLS))
    crosstalk = np.eye(cells) + same * rng.uniform(0.0, CROSSTALK_MAX, cells)[:, None]
    return Miscalibration(gain=1 + rng.normal(0.0, GAIN_SD, cells),
                          offset_n=rng.normal(0.0, OFFSET_SD_N, cells), crosstalk=crosstalk,
                          nonlinear_pct=np.zeros(cells), dead=np.zeros(cells, bool),
                          drift_n_min=np.zeros(cells))


def readings(draw: Draw, truth: Miscalibration, steps: tuple[plan.Step, ...],
             sequence: acceptance.Sequence, geometry: plan.Geometry) -> list[Reading]:
    """What the rig records at each step: mean cell readings over a settled window, the reference."""
    rng = np.random.default_rng([draw.seed, 1])  # its own stream: the plate's errors stay put
    samples = int(CHUNK_S * RATE_HZ)
    force = np.array([s.newtons for s in steps])
    loads = (load_columns(list(steps), draw.plates) * force[:, None]).reshape(len(steps), draw.plates, 3)
    cells = np.einsum("kpj,cj->kpc", loads, shares(geometry)).reshape(len(steps), -1)  # true cell loads
    minutes = np.arange(len(steps)) * STEP_S / 60
    noise = truth.noise_n / math.sqrt(samples)
    means = truth.readings(cells, minutes) + rng.normal(0.0, noise, cells.shape)
    reference_gain = 1 + rng.normal(0.0, sequence.reference_uncertainty_pct / 100)
    reference = force * reference_gain + rng.normal(0.0, REFERENCE_NOISE_N, force.shape)
    sd = (truth.noise_n,) * cells.shape[1]
    return [Reading(s.index, tuple(means[k]), sd, float(reference[k]), float(minutes[k]), samples,
                    CHUNK_S) for k, s in enumerate(steps)]


def run_draw(draw: Draw) -> Outcome:
    """Calibrate one drawn plate and compare the fit with its truth (a sweep's unit of work)."""
    spec = acceptance.load(None)
    geometry = plan.Geometry(PLATE_SIZE_M, CELL_HALF_M)
    steps = plan.build(spec.sequence, draw.plates, geometry)
    truth = plate_errors(draw)
    result = fit(steps, readings(draw, truth, steps, spec.sequence, geometry), geometry,
                 draw.plates, spec.sequence.reference_uncertainty_pct / 100)
    gain = np.array([c.gain_error for c in result.cells])
    gain_u = np.array([c.gain_u for c in result.cells])
    offset = result.offsets
    offset_u = np.array([c.offset_u for c in result.cells])
    crosstalk = np.array([c.crosstalk for c in result.cells])
    true_crosstalk = truth.crosstalk[np.arange(gain.size), (np.arange(gain.size) + 1) % CELLS
                                     + CELLS * (np.arange(gain.size) // CELLS)]
    return Outcome(draw.seed, float(100 * np.max(np.abs(gain / truth.gain - 1))),
                   float(np.max(np.abs(offset - truth.offset_n))),
                   float(100 * np.max(np.abs(crosstalk - true_crosstalk))), gain.size,
                   int(np.sum(np.abs(gain - truth.gain) <= COVERAGE_K * gain_u)),
                   int(np.sum(np.abs(offset - truth.offset_n) <= COVERAGE_K * offset_u)))


def monte_carlo(draws: int, plates: int = 2, seed: int = 0, executor: Any = None,
                progress: Callable[[int], None] | None = None) -> Summary:
    """``draws`` plates (seeds ``seed`` … ``seed + draws − 1``) through ``executor`` (default: this
    process); the same draws give the same numbers on any executor."""
    from ..executor import LocalExecutor

    if draws < 1:
        raise ValueError(f"draws must be at least 1, got {draws}")
    executor = executor or LocalExecutor(1)
    outcomes = executor.map(run_draw, [Draw(seed + i, plates) for i in range(draws)], progress)
    return Summary(tuple(outcomes), executor.describe())



def main(argv: list[str] | None = None) -> int:
    """``python -m hil.calibrate.montecarlo [--draws N] [--plates 1|2] [--seed S] [--workers N |
    --scheduler ADDRESS] [--json]``: exit 0 with the figures, 2 on bad arguments or an
    unreachable cluster (one line on standard error)."""
    import argparse
    import json
    import sys
    import time

    from ..executor import ExecutorError, open_executor

    parser = argparse.ArgumentParser(prog="python -m hil.calibrate.montecarlo",
                                     description="calibration Monte Carlo over drawn plates")
    parser.add_argument("--draws", type=int, default=200)
    parser.add_argument("--plates", type=int, choices=(1, 2), default=2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--workers", type=int, default=None, help="local processes (default one per core)")
    parser.add_argument("--scheduler", default=None, help="a Dask scheduler's address (dask extra)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    try:
        if args.draws < 1:
            raise ValueError(f"--draws must be at least 1, got {args.draws}")
        began = time.perf_counter()
        with open_executor(args.scheduler, args.workers) as executor:
            figures = monte_carlo(args.draws, args.plates, args.seed, executor).figures()
    except (ExecutorError, ValueError) as error:
        print(f"calibration Monte Carlo: {error}", file=sys.stderr)
        return 2
    figures["wall_s"] = round(time.perf_counter() - began, 2)
    if args.json:
        print(json.dumps(figures, indent=1))
        return 0
    print(f"{figures['draws']} plates × {figures['cells'] // figures['draws']} cells, {figures['executor']}, "
          f"{figures['wall_s']} s")
    for name, unit in (("gain_error_max_pct", "%"), ("offset_error_max_n", "N"), ("crosstalk_error_max_pct", "pp")):
        print(f"  worst cell {name}: median {figures[name]['median']:.3g} {unit}, max {figures[name]['max']:.3g} {unit}")
    print(f"  true gain inside ±2u(gain): {100 * figures['gain_coverage_k2']:.1f} % of cells; "
          f"offset inside ±2u: {100 * figures['offset_coverage_k2']:.1f} %")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
