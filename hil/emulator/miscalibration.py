"""How an emulated plate is out of calibration, set in its URL: ``emulated?gain=1.02,1,...``.

Cells are numbered across plates in wire order (plate 0 cells 0-3, then plate 1 cells 4-7).
Each cell's reading in newtons, relative to the plate's own (factory) calibration::

    v       = C @ load                       crosstalk: the loads on all cells, mixed
    v'      = v + 4 (p/100) v (1 - v/CAP)    non-linearity: p % of CAP high at CAP/2 (terminal line)
    reading = g v' + offset + drift * t      gain, zero offset, zero drift (t: minutes streamed)
    dead    : reading = 0 (the cell answers no load at all)

    gain=G0,G1,...      each cell's gain relative to nominal (1.02 reads 2 % high); one value: all
    offset=O0,...       zero offset in N (one value: all cells)
    crosstalk=C         a fraction C of the other cells' load on the same plate leaks into each
                        cell (C_ij = C for j != i on one plate); C0,C1,... per cell; or a file
                        (text, N x N or 4 x 4 for every plate: the whole matrix C, rows = readings)
    nonlinear=CELL:PCT  that cell's non-linearity in % of CAP (repeat pairs: 2:0.5,5:-0.3)
    dead=CELL           that cell is dead (several: dead=2,5)
    drift=N_PER_MIN     every cell's zero drifts this much per minute of streaming; CELL:N_PER_MIN
                        pairs for single cells
    settle=S            a load the rig applies settles with this time constant (default 0.02 s)
    noise=N             white noise per cell under rig loads, N RMS (default 0.3)
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qsl

import numpy as np

from ..protocol import CELLS

CELL_CAPACITY_N = 2500.0  # the emulated plate's load-cell rating: CAP above
DEFAULT_SETTLE_S = 0.02
DEFAULT_NOISE_N = 0.3
KEYS = ("gain", "offset", "crosstalk", "nonlinear", "dead", "drift", "settle", "noise")


class MiscalibrationError(ValueError):
    """A plate URL whose miscalibration cannot be understood."""


@dataclass(frozen=True, eq=False)
class Miscalibration:
    """The true errors of an emulated plate's cells (N = plates * 4, wire order)."""

    gain: np.ndarray  # (N,)
    offset_n: np.ndarray  # (N,)
    crosstalk: np.ndarray  # (N, N); identity = none
    nonlinear_pct: np.ndarray  # (N,)
    dead: np.ndarray  # (N,) bool
    drift_n_min: np.ndarray  # (N,)
    settle_s: float = DEFAULT_SETTLE_S
    noise_n: float = DEFAULT_NOISE_N

    @property
    def cells(self) -> int:
        return self.gain.size

    def readings(self, loads: np.ndarray, minutes: np.ndarray) -> np.ndarray:
        """Cell readings (k, N) in newtons for true cell loads (k, N) at plate times (k,) min."""
        mixed = loads @ self.crosstalk.T
        mixed = mixed + 0.04 * self.nonlinear_pct * mixed * (1 - mixed / CELL_CAPACITY_N)
        out = self.gain * mixed + self.offset_n + np.outer(minutes, self.drift_n_min)
        out[:, self.dead] = 0.0
        return out

    def zero(self, minutes: float) -> np.ndarray:
        """Each cell's reading with no load (what a tare sees)."""
        return np.where(self.dead, 0.0, self.offset_n + minutes * self.drift_n_min)

    def to_dict(self) -> dict:
        """The truth a calibration is checked against (JSON-ready)."""
        return {"gain": self.gain.tolist(), "offset_n": self.offset_n.tolist(),
                "crosstalk": self.crosstalk.tolist(), "nonlinear_pct": self.nonlinear_pct.tolist(),
                "dead": np.flatnonzero(self.dead).tolist(), "drift_n_min": self.drift_n_min.tolist(),
                "settle_s": self.settle_s, "noise_n": self.noise_n}


def split_url(url: str) -> tuple[str, str]:
    """(base, query) of a plate URL: ``emulated?gain=1.02`` → (``emulated``, ``gain=1.02``)."""
    base, _, query = url.strip().partition("?")
    return base, query


def ideal(cells: int) -> Miscalibration:
    return Miscalibration(np.ones(cells), np.zeros(cells), np.eye(cells), np.zeros(cells),
                          np.zeros(cells, bool), np.zeros(cells))


def parse(query: str, plates: int) -> Miscalibration:
    """The miscalibration a URL query describes, for ``plates`` plates (MiscalibrationError)."""
    cells = plates * CELLS
    items = parse_qsl(query, keep_blank_values=True, strict_parsing=False)
    seen = [key for key, _ in items]
    unknown = sorted(set(seen) - set(KEYS))
    if unknown:
        raise MiscalibrationError(f"unknown plate URL option(s) {', '.join(unknown)} "
                                  f"(known: {', '.join(KEYS)})")
    repeated = sorted({key for key in seen if seen.count(key) > 1})
    if repeated:
        raise MiscalibrationError(f"plate URL option(s) given twice: {', '.join(repeated)}")
    values = dict(items)
    base = ideal(cells)
    gain = _per_cell(values, "gain", cells, 1.0)
    if np.any(gain <= 0):
        raise MiscalibrationError("gain must be positive (use dead=CELL for a dead cell)")
    drift = _drift(values.get("drift"), cells)
    nonlinear = _pairs(values.get("nonlinear"), "nonlinear", cells, "CELL:PCT")
    if np.any(np.abs(nonlinear) > 25):
        raise MiscalibrationError("nonlinear must be within ±25 % of capacity")
    dead = np.zeros(cells, bool)
    for cell in _cell_list(values.get("dead"), "dead", cells):
        dead[cell] = True
    settle = _scalar(values, "settle", DEFAULT_SETTLE_S, 0.0, 60.0)
    noise = _scalar(values, "noise", DEFAULT_NOISE_N, 0.0, 100.0)
    return Miscalibration(gain, _per_cell(values, "offset", cells, 0.0),
                          _crosstalk(values.get("crosstalk"), plates) if "crosstalk" in values
                          else base.crosstalk, nonlinear, dead, drift, settle, noise)


def check(query: str) -> None:
    """MiscalibrationError unless ``query`` fits a dual or a single plate (before starting one)."""
    try:
        parse(query, 2)
    except MiscalibrationError:
        try:
            parse(query, 1)
        except MiscalibrationError:
            pass
        else:
            return
        raise


def _numbers(text: str, key: str) -> np.ndarray:
    try:
        out = np.array([float(v) for v in text.split(",")])
    except ValueError:
        raise MiscalibrationError(f"{key} must be numbers separated by commas, got {text!r}") from None
    if not np.all(np.isfinite(out)):
        raise MiscalibrationError(f"{key} must be finite, got {text!r}")
    return out


def _per_cell(values: dict, key: str, cells: int, default: float) -> np.ndarray:
    if key not in values:
        return np.full(cells, default)
    numbers = _numbers(values[key], key)
    if numbers.size == 1:
        return np.full(cells, numbers[0])
    if numbers.size != cells:
        raise MiscalibrationError(f"{key} needs one value or one per cell ({cells}), got {numbers.size}")
    return numbers


def _scalar(values: dict, key: str, default: float, low: float, high: float) -> float:
    if key not in values:
        return default
    number = _numbers(values[key], key)
    if number.size != 1 or not low <= number[0] <= high:
        raise MiscalibrationError(f"{key} must be one number in [{low:g}, {high:g}], got {values[key]!r}")
    return float(number[0])


def _cell(text: str, key: str, cells: int) -> int:
    try:
        cell = int(text)
    except ValueError:
        raise MiscalibrationError(f"{key}: a cell is a whole number, got {text!r}") from None
    if not 0 <= cell < cells:
        raise MiscalibrationError(f"{key}: cell {cell} does not exist (cells 0-{cells - 1}, wire order)")
    return cell


def _cell_list(text: str | None, key: str, cells: int) -> list[int]:
    return [] if not text else [_cell(part, key, cells) for part in text.split(",")]


def _pairs(text: str | None, key: str, cells: int, form: str) -> np.ndarray:
    out = np.zeros(cells)
    for part in filter(None, (text or "").split(",")):
        cell, colon, value = part.partition(":")
        if not colon:
            raise MiscalibrationError(f"{key} takes {form} pairs, got {part!r}")
        out[_cell(cell, key, cells)] = _numbers(value, key)[0]
    return out


def _drift(text: str | None, cells: int) -> np.ndarray:
    if text and ":" not in text:
        number = _numbers(text, "drift")
        if number.size != 1:
            raise MiscalibrationError("drift is one N_PER_MIN for every cell, or CELL:N_PER_MIN pairs")
        return np.full(cells, number[0])
    return _pairs(text, "drift", cells, "CELL:N_PER_MIN")


def _crosstalk(text: str, plates: int) -> np.ndarray:
    cells = plates * CELLS
    block = np.ones((CELLS, CELLS)) - np.eye(CELLS)
    same_plate = np.kron(np.eye(plates), block)  # 1 where cell j is another cell of i's plate
    try:
        numbers = _numbers(text, "crosstalk")
    except MiscalibrationError:
        return _crosstalk_file(text, plates)
    if numbers.size not in (1, cells):
        raise MiscalibrationError(f"crosstalk needs one value, one per cell ({cells}) or a file")
    matrix = np.eye(cells) + same_plate * np.broadcast_to(numbers, (cells,))[:, None]
    return _checked(matrix)


def _crosstalk_file(path: str, plates: int) -> np.ndarray:
    cells = plates * CELLS
    try:
        matrix = np.loadtxt(Path(path), delimiter=None if "," not in Path(path).read_text() else ",",
                            ndmin=2)
    except (OSError, ValueError) as error:
        raise MiscalibrationError(f"crosstalk: not a number and not a readable matrix file "
                                  f"({path}): {error}") from None
    if matrix.shape == (CELLS, CELLS):
        matrix = np.kron(np.eye(plates), matrix)
    if matrix.shape != (cells, cells):
        raise MiscalibrationError(f"crosstalk file {path}: need a {cells}x{cells} or "
                                  f"{CELLS}x{CELLS} matrix, got {matrix.shape[0]}x{matrix.shape[1]}")
    return _checked(matrix)


def _checked(matrix: np.ndarray) -> np.ndarray:
    if not np.all(np.isfinite(matrix)) or np.any(np.abs(matrix - np.eye(len(matrix))) > 0.5):
        raise MiscalibrationError("crosstalk must be finite and below 0.5 off the identity")
    return matrix
