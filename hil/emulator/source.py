"""What an emulated plate streams: a source file of per-cell forces.

A source file is an ``.npz`` with ``cells`` (n, plates, 4) in newtons, ``rate_hz`` (scalar) and
optionally ``trial_starts`` (sample index where each trial begins, first 0) and ``trial_names``.
The bench writes one from simulator trials; without one the emulator loops a built-in CMJ.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np

from ..protocol import CELLS


class SourceError(ValueError):
    """A source file that cannot be used."""


@dataclass(frozen=True)
class Source:
    cells: np.ndarray  # (n, plates, 4) newtons
    rate_hz: float
    trial_starts: np.ndarray  # (trials,) sample indices
    trial_names: tuple[str, ...] = ()

    @property
    def plates(self) -> int:
        return self.cells.shape[1]

    def __len__(self) -> int:
        return self.cells.shape[0]


def make_source(cells: np.ndarray, rate_hz: float, trial_starts: Sequence[int] | None = None,
                trial_names: Sequence[str] = ()) -> Source:
    """A checked Source; one plate's (n, 4) cells become (n, 1, 4)."""
    cells = np.asarray(cells, dtype=np.float64)
    if cells.ndim == 2:
        cells = cells[:, None, :]
    if cells.ndim != 3 or cells.shape[2] != CELLS or cells.shape[0] < 1 or cells.shape[1] > 2:
        raise SourceError(f"cells must be (samples, 1 or 2 plates, {CELLS}), got {cells.shape}")
    if not np.all(np.isfinite(cells)):
        raise SourceError("cells must be finite")
    if not (np.isfinite(rate_hz) and rate_hz > 0):
        raise SourceError(f"rate_hz must be positive, got {rate_hz}")
    starts = np.asarray([0] if trial_starts is None else trial_starts, dtype=np.int64)
    if starts.size and (np.any(np.diff(starts) <= 0) or starts[0] < 0 or starts[-1] >= len(cells)):
        raise SourceError("trial_starts must increase within the samples")
    return Source(cells, float(rate_hz), starts, tuple(trial_names))


def write_source(path: str | Path, cells: np.ndarray, rate_hz: float,
                 trial_starts: Sequence[int] | None = None, trial_names: Sequence[str] = ()) -> Path:
    source = make_source(cells, rate_hz, trial_starts, trial_names)
    path = Path(path)
    with open(path, "wb") as handle:  # a file object keeps numpy from appending ".npz"
        np.savez(handle, cells=source.cells, rate_hz=source.rate_hz,
                 trial_starts=source.trial_starts, trial_names=np.array(source.trial_names, str))
    return path


def read_source(path: str | Path) -> Source:
    try:
        with np.load(path, allow_pickle=False) as data:
            return make_source(data["cells"], float(data["rate_hz"]),
                               data["trial_starts"] if "trial_starts" in data else None,
                               tuple(data["trial_names"]) if "trial_names" in data else ())
    except SourceError:
        raise
    except (OSError, KeyError, EOFError, ValueError) as error:
        raise SourceError(f"cannot read source file {path}: {error}") from None


def builtin_source(rate_hz: float = 1000.0, mass_kg: float = 75.0) -> Source:
    """A countermovement jump on two plates, standing still before and after, to loop."""
    g = 9.80665
    t = np.arange(int(4.0 * rate_hz)) / rate_hz
    bw = mass_kg * g
    dip = np.where((t >= 1.5) & (t < 1.9), -0.6 * np.sin(np.pi * (t - 1.5) / 0.4), 0.0)
    push = np.where((t >= 1.9) & (t < 2.3), 1.3 * np.sin(np.pi * (t - 1.9) / 0.4), 0.0)
    land = np.where((t >= 2.8) & (t < 3.0), 2.5 * np.sin(np.pi * (t - 2.8) / 0.2), 0.0)
    total = bw * (1.0 + dip + push + land)
    total[(t >= 2.3) & (t < 2.8)] = 0.0  # flight
    cells = np.repeat(total[:, None, None] / (2 * CELLS), 2, axis=1).repeat(CELLS, axis=2)
    cells += np.random.default_rng(0).normal(0.0, 0.3, cells.shape)  # sensor noise, N per cell
    return make_source(cells, rate_hz, [0], ("cmj",))
