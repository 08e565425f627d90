"""Placing the loads and reading plate and reference at each step.

``EmulatedRig`` puts each load on an emulated plate with the protocol's ``load`` command (and on
an emulated reference), so a calibration runs unattended. ``OperatorRig`` asks a person to place
each weight ("place 20 kg on plate 0 (left) at B3 …, press Enter"). Either way the plate is read
until it has settled, then the reference.
"""
from __future__ import annotations

import time
import warnings
from dataclasses import dataclass, field
from typing import TextIO

import numpy as np

from .. import protocol
from ..acquire import Acquisition
from ..drivers.base import Plate
from ..drivers.reference import Reference
from .acceptance import Sequence
from .plan import Step

CHUNK_S = 0.1  # the plate is read in pieces this long; settled = the last two agree
MIN_COMPLETE = 0.9  # of the settled window's samples: the rest may be lost lines, no more


class RigError(ValueError):
    """A step that cannot be measured (unsettled, implausible reference): nothing is written."""


class Interrupted(Exception):
    """The operator stopped (end of input): the steps done so far are kept."""


@dataclass(frozen=True)
class Reading:
    """One step as measured: the mean of each cell over the settled window (raw: the plate's own
    scale and offset, no stored correction), its standard deviation, and the reference."""

    step: int
    cells_n: tuple[float, ...]  # plates * 4, wire order
    cells_sd_n: tuple[float, ...]
    reference_n: float
    minutes: float  # the rig's clock: when the reading was taken
    samples: int
    settle_s: float
    # the step's stream as acquired (lost, corrupt, late frames) and, from our own emulator,
    # what it did to it (injected_lines, injected_dropped, ...)
    frames: dict[str, int] = field(default_factory=dict)

    def to_dict(self) -> dict:
        return {"step": self.step, "cells_n": list(self.cells_n), "cells_sd_n": list(self.cells_sd_n),
                "reference_n": self.reference_n, "minutes": self.minutes, "samples": self.samples,
                "settle_s": self.settle_s, "frames": dict(self.frames)}

    @classmethod
    def from_dict(cls, data: dict) -> "Reading":
        return cls(int(data["step"]), tuple(map(float, data["cells_n"])),
                   tuple(map(float, data["cells_sd_n"])), float(data["reference_n"]),
                   float(data["minutes"]), int(data["samples"]), float(data["settle_s"]),
                   {k: int(v) for k, v in data.get("frames", {}).items()})


class Rig:
    """Places loads; subclasses say how. ``minutes`` is the clock readings are stamped with."""

    unattended = True

    def place(self, step: Step, total: int) -> None:
        raise NotImplementedError

    def minutes(self) -> float:
        raise NotImplementedError


class EmulatedRig(Rig):
    """The emulated plate's rig command; its clock is the plate's own (samples streamed)."""

    def __init__(self, plate: Plate, reference: Reference) -> None:
        self.plate, self.reference = plate, reference
        self.streamed_s = 0.0
        self.loaded: set[int] = set()

    def place(self, step: Step, total: int) -> None:
        for other in self.loaded - {step.plate}:
            self.plate.command("load", other, 0.0, 0.0, 0.0)
        self.plate.command("load", step.plate, step.x_mm, step.y_mm, step.newtons)
        self.loaded = {step.plate}
        self.reference.feel(step.newtons)

    def minutes(self) -> float:
        return self.streamed_s / 60


class OperatorRig(Rig):
    """A person places the weights; the clock is the wall clock from ``origin`` (epoch s)."""

    unattended = False

    def __init__(self, prompt: TextIO, answers: TextIO, origin: float) -> None:
        self.prompt, self.answers, self.origin = prompt, answers, origin

    def place(self, step: Step, total: int) -> None:
        self.prompt.write(f"step {step.index + 1}/{total}: {step.describe()}, then press Enter ")
        self.prompt.flush()
        if not self.answers.readline():
            raise Interrupted()

    def minutes(self) -> float:
        return (time.time() - self.origin) / 60


def measure(plate: Plate, reference: Reference, rig: Rig, step: Step, raw: protocol.Calibration,
            sequence: Sequence, timeout: float) -> Reading:
    """Read the plate until it settles (RigError if it does not within ``settle_s``), then the
    reference; RigError if the two disagree beyond physical plausibility."""
    rate = plate.get_rate()
    chunk = max(int(CHUNK_S * rate), 10)
    limit = int(sequence.settle_s * rate)
    rows: list[np.ndarray] = []
    count = 0
    settled = False
    with Acquisition(plate, calibration=raw) as acquisition:
        plate.start()
        try:
            for block in acquisition.blocks(timeout=timeout):
                rows.append(block.cells.reshape(block.cells.shape[0], -1))
                count += block.cells.shape[0]
                if count >= 2 * chunk and _settled(rows, chunk, step, sequence):
                    settled = True
                    break
                if count >= limit:
                    break
        finally:
            acquisition.stop()  # what came before the stop took effect is counted, not used
        stats = acquisition.stats
    frames = {"lost": stats.lost, "corrupt": stats.corrupt, "late": stats.late,
              **{f"injected_{k}": v for k, v in plate.injected.items()}}
    if isinstance(rig, EmulatedRig):
        rig.streamed_s += count / rate
    if count < 2 * chunk:
        raise RigError(f"step {step.index + 1}: the plate sent {count} samples in {timeout:g} s")
    window = np.concatenate(rows)[-chunk:]
    cells = window[~np.isnan(window).any(axis=1)]  # rows a lost line or a saturated cell left out
    where = f"step {step.index + 1} ({step.describe()})"
    if not settled:
        change = _change(np.concatenate(rows), chunk, step)
        raise RigError(f"{where}: the plate did not settle within {sequence.settle_s:g} s "
                       f"(its force still moved {change:.2f} N between the last two "
                       f"{CHUNK_S:g} s windows; tolerance {sequence.settle_tolerance_n:g} N)")
    if cells.shape[0] < MIN_COMPLETE * chunk:
        raise RigError(f"{where}: {chunk - cells.shape[0]} of the settled window's {chunk} "
                       "samples missing or saturated")
    reference_n = reference.measure(step.newtons)
    _plausible(step, reference_n, cells.mean(0), sequence, where)
    return Reading(step.index, tuple(cells.mean(0)), tuple(cells.std(0, ddof=1)), reference_n,
                   rig.minutes(), int(cells.shape[0]), count / rate, frames)


def _plausible(step: Step, reference_n: float, cells: np.ndarray, sequence: Sequence, where: str) -> None:
    """RigError where reference, load and plate cannot all be right: the reference far from the
    load placed, or the load found on another plate. A plate reading low or high is not refused:
    finding that is what the calibration is for (a dead cell at a corner takes 65 % with it)."""
    full_scale = sequence.levels_kg[-1] * sequence.local_gravity_m_s2
    allowed = sequence.plausible_pct / 100 * step.newtons + 0.02 * full_scale
    if abs(reference_n - step.newtons) > allowed:
        raise RigError(f"{where}: the reference reads {reference_n:.1f} N for a {step.newtons:.1f} N "
                       f"load: beyond physical plausibility ({sequence.plausible_pct:g} % + 2 % FS); "
                       "check the reference and the weights")
    forces = cells.reshape(-1, protocol.CELLS).sum(1)
    elsewhere = np.delete(forces, step.plate)
    if step.newtons > 0.02 * full_scale and elsewhere.size and elsewhere.max() > 0.5 * reference_n \
            and elsewhere.max() > forces[step.plate]:
        other = [p for p in range(forces.size) if p != step.plate][int(elsewhere.argmax())]
        raise RigError(f"{where}: plate {other} carries {elsewhere.max():.1f} N and plate {step.plate} "
                       f"{forces[step.plate]:.1f} N of the {reference_n:.1f} N load: it is on the "
                       "wrong plate")


def _change(rows: np.ndarray, chunk: int, step: Step) -> float:
    """How far the loaded plate's force moved between the last two windows (N)."""
    force = rows[:, step.plate * protocol.CELLS:(step.plate + 1) * protocol.CELLS].sum(1)
    with np.errstate(invalid="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # a window all lost: NaN, not settled
        change = abs(np.nanmean(force[-chunk:]) - np.nanmean(force[-2 * chunk:-chunk]))
    return float(change)


def _settled(rows: list[np.ndarray], chunk: int, step: Step, sequence: Sequence) -> bool:
    return _change(np.concatenate(rows)[-2 * chunk:], chunk, step) <= sequence.settle_tolerance_n
