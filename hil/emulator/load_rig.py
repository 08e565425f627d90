"""The emulated calibration rig: known loads put on an emulated plate by the ``load`` command.

Each plate carries at most one load (F newtons at x, y mm from its centre). It reaches the cells
as a rigid plate on four equal springs shares it (``sim.plate.load_matrix``: the minimum-norm
split), settles from the previous load with a time constant from the next ``start`` on, and
is read with white noise drawn per sample counter from the plate's seed (so a stream's content
does not depend on how it is chunked). While any load has been applied, the plate streams the
rig's loads instead of its source.
"""
from __future__ import annotations

import numpy as np

from ..protocol import CELLS

MAX_LOAD_N = 20_000.0
NOISE_BLOCK = 4096  # noise is drawn per block of ticks, like the random faults


class RigRefused(ValueError):
    """A load the rig cannot place (off the plate, negative, too heavy)."""


class Rig:
    def __init__(self, plates: int, seed: int, settle_s: float, noise_n: float) -> None:
        self.plates, self.seed, self.settle_s, self.noise_n = plates, seed, settle_s, noise_n
        self.active = False
        self.target = np.zeros((plates, 3))  # F, x m, y m
        self.previous = np.zeros((plates, 3))
        self.stream = 0  # streams started: each one gets fresh noise

    def place(self, plate: int, x_mm: float, y_mm: float, newtons: float) -> None:
        from sim.plate import PLATE_SIZE_M  # here: importing sim costs an emulator's start-up

        half = np.asarray(PLATE_SIZE_M) * 1000 / 2
        if not all(np.isfinite(v) for v in (x_mm, y_mm, newtons)):
            raise RigRefused("Data out of range; load must be finite")
        if abs(x_mm) > half[0] or abs(y_mm) > half[1]:
            raise RigRefused(f"Data out of range; ({x_mm:g}, {y_mm:g}) mm is off the "
                             f"{2 * half[0]:g} x {2 * half[1]:g} mm plate")
        if not 0 <= newtons <= MAX_LOAD_N:
            raise RigRefused(f"Data out of range; load 0-{MAX_LOAD_N:g} N")
        self.previous = self.target.copy()
        self.target[plate] = (newtons, x_mm / 1000, y_mm / 1000)
        self.active = True

    def started(self) -> None:
        self.stream += 1

    def loads(self, t: np.ndarray) -> np.ndarray:
        """True cell loads (k, plates, 4) in N at stream times t (s), settling from the last load."""
        decay = np.exp(-t / self.settle_s)[:, None] if self.settle_s > 0 else np.zeros((t.size, 1))
        out = np.empty((t.size, self.plates, CELLS))
        for plate in range(self.plates):
            now = split(*self.target[plate])
            before = split(*self.previous[plate])
            out[:, plate] = now + (before - now) * decay
        return out

    def noise(self, plate: int, ticks: np.ndarray) -> np.ndarray:
        """White noise (k, 4) N for one plate's ticks: the same for a tick however it is chunked."""
        out = np.empty((ticks.size, CELLS))
        blocks = ticks // NOISE_BLOCK
        for block in np.unique(blocks):
            rng = np.random.default_rng([self.seed, 10_007, self.stream, plate, int(block)])
            draws = rng.standard_normal((NOISE_BLOCK, CELLS))
            sel = blocks == block
            out[sel] = draws[ticks[sel] % NOISE_BLOCK]
        return out * self.noise_n


def split(newtons: float, x_m: float, y_m: float) -> np.ndarray:
    """A load's share on each of four cells: F/4 (1 + sx x/a + sy y/b) (DOMAIN.md, Kistler)."""
    from sim.plate import CELL_HALF_M, CELL_SIGNS

    return newtons / 4 * (1 + CELL_SIGNS @ (np.array([x_m, y_m]) / np.asarray(CELL_HALF_M)))
