"""Verification figures of one pass over the grid, per plate (ASTM F3109 style).

FS is the top of the calibrated range (the heaviest reference load on that plate). Each figure is
taken from the cell readings as the plate reports them (before: as found; after: corrected):

    force_error_pct_fs   max |Fz − reference| over every step, % FS (unloaded steps included)
    nonlinearity_pct_fs  at each position, the largest departure of the up/down mean from the
                         straight line through (reference, Fz), % FS; the worst position
    hysteresis_pct_fs    max |(Fz − ref) unloading − (Fz − ref) loading| at one level and position
    repeatability_pct_fs range of (Fz − ref) over the repeated top loads at the centre
    crosstalk_pct        the unloaded plate's Fz per newton on this plate (slope, %); dual only
    zero_drift_n_min     slope of the unloaded Fz (all plates unloaded) over the rig's clock
    cop_error_max_mm / cop_error_rms_mm   |COP − load position| over loads ≥ cop_min_load_pct_fs
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sim.plate import cop_from_cells

from ..protocol import CELLS
from .acceptance import Limits
from .plan import Geometry, Step
from .rig import Reading

SUMMARY = ("force_error_pct_fs", "nonlinearity_pct_fs", "hysteresis_pct_fs", "repeatability_pct_fs",
           "crosstalk_pct", "zero_drift_n_min", "cop_error_max_mm", "cop_error_rms_mm")


@dataclass(frozen=True, eq=False)
class Pass:
    """One pass's readings laid out for the figures and the plots."""

    steps: tuple[Step, ...]
    reference: np.ndarray  # (S,)
    minutes: np.ndarray  # (S,)
    cells: np.ndarray  # (S, N) as reported (raw or corrected)

    def force(self, plate: int) -> np.ndarray:
        return self.cells[:, plate * CELLS:(plate + 1) * CELLS].sum(1)

    def cop_error_mm(self, plate: int, geometry: Geometry) -> np.ndarray:
        """(S, 2) COP − load position in mm (NaN where this plate is not loaded)."""
        cop = cop_from_cells(self.cells[:, None, plate * CELLS:(plate + 1) * CELLS],
                             geometry.cell_half_m)[:, 0] * 1000
        where = np.array([[s.x_mm, s.y_mm] for s in self.steps])
        mine = np.array([s.plate == plate and s.mass_kg > 0 for s in self.steps])
        return np.where(mine[:, None], cop - where, np.nan)


def make_pass(steps: tuple[Step, ...], readings: list[Reading], cells: np.ndarray) -> Pass:
    return Pass(tuple(steps[r.step] for r in readings), np.array([r.reference_n for r in readings]),
                np.array([r.minutes for r in readings]), cells)


def figures(data: Pass, plates: int, geometry: Geometry, limits: Limits) -> dict:
    """The figures per plate and the worst of each over the plates."""
    per_plate = [_plate(data, p, plates, geometry, limits) for p in range(plates)]
    worst = {}
    for name in SUMMARY:
        values = [abs(v[name]) for v in per_plate if v.get(name) is not None]
        worst[name] = max(values) if values else None
    return {**worst, "plates": per_plate}


def _plate(data: Pass, plate: int, plates: int, geometry: Geometry, limits: Limits) -> dict:
    steps = data.steps
    mine = np.array([s.plate == plate for s in steps])
    loaded = mine & np.array([s.mass_kg > 0 for s in steps])
    if not loaded.any():
        return {"plate": plate, "steps": 0}
    fz = data.force(plate)
    error = fz - data.reference
    fs = float(data.reference[loaded].max())
    out: dict = {"plate": plate, "steps": int(mine.sum()), "full_scale_n": fs,
                 "force_error_pct_fs": 100 * float(np.abs(error[mine]).max()) / fs}
    nonlinearity, hysteresis = 0.0, 0.0
    positions = dict.fromkeys(s.position for s, m in zip(steps, loaded) if m)
    for name in positions:
        at = np.array([s.position == name and s.plate == plate and s.phase in ("up", "down")
                       for s in steps])
        up = {s.mass_kg: i for i, s in enumerate(steps) if at[i] and s.phase == "up"}
        down = {s.mass_kg: i for i, s in enumerate(steps) if at[i] and s.phase == "down"}
        if not up:
            continue
        hysteresis = max([hysteresis] + [abs(error[down[m]] - error[up[m]]) for m in down if m in up])
        first, last = min(np.flatnonzero(at)), max(np.flatnonzero(at))
        zeros = [i for i in (first - 1, last + 1) if 0 <= i < len(steps) and steps[i].phase == "zero"
                 and steps[i].plate == plate]
        ref = np.array([data.reference[i] for i in zeros] + [np.mean([data.reference[i] for i in
                       (up[m], down.get(m, up[m]))]) for m in up])
        mean = np.array([fz[i] for i in zeros] + [np.mean([fz[i] for i in (up[m], down.get(m, up[m]))])
                                                 for m in up])
        line = np.polyval(np.polyfit(ref, mean, 1), ref)
        nonlinearity = max(nonlinearity, float(np.abs(mean - line).max()))
    out["nonlinearity_pct_fs"] = 100 * nonlinearity / fs
    out["hysteresis_pct_fs"] = 100 * float(hysteresis) / fs
    repeats = mine & np.array([s.phase == "repeat" for s in steps])
    out["repeatability_pct_fs"] = 100 * float(np.ptp(error[repeats])) / fs if repeats.sum() > 1 else None
    if plates > 1:
        other = np.concatenate([data.force(p)[:, None] for p in range(plates) if p != plate], 1)
        slopes = [np.polyfit(data.reference[mine], other[mine, k], 1)[0] for k in range(other.shape[1])]
        out["crosstalk_pct"] = 100 * float(max(map(abs, slopes)))
    else:
        out["crosstalk_pct"] = None
    zero = np.array([s.phase == "zero" for s in steps])
    if zero.sum() >= 3 and np.ptp(data.minutes[zero]) > 0:
        cells = data.cells[zero][:, plate * CELLS:(plate + 1) * CELLS]
        slopes = np.polyfit(data.minutes[zero], cells, 1)[0]
        out["zero_drift_n_min"] = float(slopes.sum())
        out["zero_drift_cells_n_min"] = slopes.tolist()
        if zero.sum() > 3:  # its standard uncertainty: a short run cannot show a small drift
            _, cov = np.polyfit(data.minutes[zero], cells.sum(1), 1, cov=True)
            out["zero_drift_n_min_u"] = float(np.sqrt(cov[0, 0]))
    else:
        out["zero_drift_n_min"] = None
    cop = data.cop_error_mm(plate, geometry)
    heavy = loaded & (data.reference >= limits.cop_min_load_pct_fs / 100 * fs)
    distance = np.hypot(*cop[heavy].T)
    out["cop_error_max_mm"] = float(distance.max()) if distance.size else None
    out["cop_error_rms_mm"] = float(np.sqrt(np.mean(distance ** 2))) if distance.size else None
    out["cop_count"] = int(distance.size)
    return out
