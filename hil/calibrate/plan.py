"""The load sequence: known loads at a grid of positions on each plate, up then down.

Per plate: an unloaded reading, then at each grid position the levels up, the levels down
(hysteresis shows as the gap between them) and an unloaded reading (zero drift shows over the
run); then the top level at the centre, on and off again ``repeats`` times (repeatability).
Positions are named as on a chessboard seen from above: rows A, B, C… from +y down, columns
1, 2, 3… from −x, so B2 is the centre of a 3 × 3 grid.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass

import numpy as np

from .acceptance import Sequence

PLATE_NAMES = ("left", "right")


class PlanError(ValueError):
    """A sequence that cannot be run on this plate (a load off the plate, no levels)."""


@dataclass(frozen=True)
class Geometry:
    """Plate top and cell positions (Kistler a, b), metres."""

    size_m: tuple[float, float]
    cell_half_m: tuple[float, float]


@dataclass(frozen=True)
class Step:
    index: int  # 0-based, in the order the steps are run
    plate: int
    position: str  # grid name, e.g. B2; "-" for an unloaded step
    x_mm: float
    y_mm: float
    mass_kg: float  # 0 for unloaded
    newtons: float  # nominal: mass × local g
    phase: str  # zero | up | down | repeat

    def describe(self) -> str:
        where = f"plate {self.plate} ({PLATE_NAMES[self.plate] if self.plate < 2 else self.plate})"
        if self.mass_kg == 0:
            return f"remove every load from {where}"
        return (f"place {self.mass_kg:g} kg on {where} at {self.position} "
                f"(x {self.x_mm:+g} mm, y {self.y_mm:+g} mm)")


def position_name(row: int, column: int) -> str:
    return f"{chr(ord('A') + row)}{column + 1}"


def build(sequence: Sequence, plates: int, geometry: Geometry) -> tuple[Step, ...]:
    """Every step of one pass over all plates (PlanError for a load off the plate)."""
    half = np.asarray(geometry.size_m) * 1000 / 2
    xs, ys = sorted(sequence.grid_x_mm), sorted(sequence.grid_y_mm, reverse=True)
    if max(map(abs, xs)) > half[0] or max(map(abs, ys)) > half[1]:
        raise PlanError(f"grid position off the {2 * half[0]:g} x {2 * half[1]:g} mm plate: "
                        f"x {xs}, y {ys} mm")
    if not sequence.levels_kg:
        raise PlanError("the sequence has no load levels")
    g = sequence.local_gravity_m_s2
    steps: list[Step] = []

    def add(plate: int, position: str, x: float, y: float, kg: float, phase: str) -> None:
        steps.append(Step(len(steps), plate, position, x, y, kg, kg * g, phase))

    levels = list(sequence.levels_kg)
    centre = (min(xs, key=abs), min(ys, key=abs))
    centre_name = position_name(ys.index(centre[1]), xs.index(centre[0]))
    for plate in range(plates):
        add(plate, "-", 0.0, 0.0, 0.0, "zero")
        for row, y in enumerate(ys):
            for column, x in enumerate(xs):
                name = position_name(row, column)
                for kg in levels:
                    add(plate, name, x, y, kg, "up")
                for kg in levels[-2::-1]:
                    add(plate, name, x, y, kg, "down")
                add(plate, "-", 0.0, 0.0, 0.0, "zero")
        for _ in range(sequence.repeats):
            add(plate, centre_name, *centre, levels[-1], "repeat")
            add(plate, "-", 0.0, 0.0, 0.0, "zero")
    return tuple(steps)


def fingerprint(steps: tuple[Step, ...]) -> str:
    """A short hash of the plan: a session can only be resumed with the same steps."""
    text = json.dumps([asdict(step) for step in steps], sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:16]
