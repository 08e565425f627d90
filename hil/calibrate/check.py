"""``forcebench check``: the daily verification with one known mass (clinical gait-lab practice).

The mass goes on each plate in turn at one position (the centre by default); the plate's force
and COP are compared with it, and the result is appended to ``HISTORY/<serial>.jsonl``. The
history's force error is plotted against time (``HISTORY/<serial>-drift.png``) with a straight
trend; a warning is printed when the trend, at the latest check, lies outside the limit.
Exit 0 within the limits, 1 outside them, 2 the check could not be made.
"""
from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path
from typing import TextIO

import numpy as np

from sim.plate import CELL_HALF_M, PLATE_SIZE_M, cop_from_cells

from .. import protocol
from ..plates import is_emulated, open_plate
from ..references import open_reference
from ..report import plots_available
from . import acceptance, certificate, plots
from .plan import Step
from .rig import EmulatedRig, OperatorRig, measure

CLINICAL_MIN_KG = 25.0  # gait labs check each plate daily with at least this (DOMAIN.md)
MIN_TREND_CHECKS = 3


def check(plate_url: str, mass_kg: float, history: str | Path, *, x_mm: float = 0.0, y_mm: float = 0.0,
          spec_path: str | None = None, calibration: str | None = None, operator: bool = False,
          timeout: float = 5.0, prompt: TextIO | None = None, answers: TextIO | None = None,
          now: float | None = None) -> tuple[dict, int]:
    if not (0 < mass_kg <= 2000):
        raise ValueError(f"--mass must be 0-2000 kg, got {mass_kg:g}")
    prompt, answers = prompt or sys.stdout, answers or sys.stdin
    half = np.asarray(PLATE_SIZE_M) * 1000 / 2
    if not (abs(x_mm) <= half[0] and abs(y_mm) <= half[1]):
        raise ValueError(f"--position ({x_mm:g}, {y_mm:g}) mm is off the {2 * half[0]:g} x {2 * half[1]:g} mm plate")
    spec = acceptance.load(spec_path)
    emulated = is_emulated(plate_url)
    with open_plate(plate_url, fast=emulated, timeout=timeout, calibration=calibration) as plate, \
            open_reference("none") as reference:
        identity = plate.identify()
        serial = certificate.serial_of(identity)
        calibrated = plate.read_calibration()
        rig = EmulatedRig(plate, reference) if emulated and not operator else \
            OperatorRig(prompt, answers, time.time())
        newtons = mass_kg * spec.sequence.local_gravity_m_s2
        plates = []
        for p in range(plate.plates):
            zero_step = Step(2 * p, p, "-", 0.0, 0.0, 0.0, 0.0, "zero")
            load_step = Step(2 * p + 1, p, "check", x_mm, y_mm, mass_kg, newtons, "up")
            readings = []
            for step in (zero_step, load_step):
                rig.place(step, 2 * plate.plates)
                readings.append(measure(plate, reference, rig, step, calibrated, spec.sequence, timeout))
            cells = np.array(readings[1].cells_n[p * protocol.CELLS:(p + 1) * protocol.CELLS])
            zero = np.array(readings[0].cells_n[p * protocol.CELLS:(p + 1) * protocol.CELLS])
            force = float(cells.sum() - zero.sum())  # zeroed first, as before any trial
            cop = _cop_mm(cells - zero)
            plates.append({"plate": p, "force_n": force, "zero_n": float(zero.sum()),
                           "force_error_pct": 100 * (force - newtons) / newtons,
                           "cop_error_mm": float(np.hypot(cop[0] - x_mm, cop[1] - y_mm))})
        rig.place(Step(2 * plate.plates, plate.plates - 1, "-", 0, 0, 0, 0, "zero"), 2 * plate.plates)
    entry = {"utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now)), "epoch_s": now or time.time(),
             "serial": serial, "identity": identity, "mass_kg": mass_kg, "newtons": newtons,
             "position_mm": [x_mm, y_mm], "plates": plates}
    limits = spec.limits
    reasons = [f"plate {p['plate']} force error {p['force_error_pct']:+.3f} % (limit "
               f"±{limits.check_force_error_pct:g} %)" for p in plates
               if abs(p["force_error_pct"]) > limits.check_force_error_pct]
    reasons += [f"plate {p['plate']} COP error {p['cop_error_mm']:.2f} mm (limit {limits.check_cop_error_mm:g} mm)"
                for p in plates if p["cop_error_mm"] > limits.check_cop_error_mm]
    entry["pass"], entry["reasons"] = not reasons, reasons
    directory = Path(history)
    path = append(directory, serial, entry)
    entries = read_history(path)
    trend = trends(entries, limits.check_force_error_pct)
    entry["warnings"] = trend["warnings"]
    png = drift_plot(directory / f"{serial}-drift.png", entries, limits.check_force_error_pct, serial)
    lines = [f"check of {identity} with {mass_kg:g} kg ({newtons:.1f} N) at ({x_mm:+g}, {y_mm:+g}) mm"]
    if mass_kg < CLINICAL_MIN_KG:
        lines.append(f"  note: clinical practice checks with at least {CLINICAL_MIN_KG:g} kg")
    lines += [f"  plate {p['plate']}: {p['force_n']:.1f} N, error {p['force_error_pct']:+.3f} %, "
              f"COP error {p['cop_error_mm']:.2f} mm" for p in plates]
    lines += [f"  WARNING: {w}" for w in trend["warnings"]]
    lines += [f"  FAIL: {r}" for r in reasons]
    lines.append(f"{'PASS' if not reasons else 'FAIL'}: history {path} ({len(entries)} checks)"
                 + (f", plot {png}" if png else ""))
    print("\n".join(lines), file=prompt)
    return entry, 0 if not reasons else 1


def _cop_mm(cells: np.ndarray) -> np.ndarray:
    return cop_from_cells(cells[None, None, :], CELL_HALF_M)[0, 0] * 1000


def append(directory: Path, serial: str, entry: dict) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{serial}.jsonl"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    try:
        os.write(fd, (json.dumps(entry) + "\n").encode())
        os.fsync(fd)
    finally:
        os.close(fd)
    return path


def read_history(path: Path) -> list[dict]:
    entries = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            entries.append(json.loads(line))
        except ValueError:
            continue  # a line cut by a crash
    return entries


def trends(entries: list[dict], limit_pct: float) -> dict:
    """Per plate, the straight trend of force error over days; warnings where it leaves the spec."""
    warnings, fits = [], {}
    if len(entries) < MIN_TREND_CHECKS:
        return {"warnings": warnings, "fits": fits}
    days = np.array([(e["epoch_s"] - entries[0]["epoch_s"]) / 86400 for e in entries])
    for p in range(len(entries[-1]["plates"])):
        errors = np.array([e["plates"][p]["force_error_pct"] if p < len(e["plates"]) else np.nan
                           for e in entries])
        ok = np.isfinite(errors)
        if ok.sum() < MIN_TREND_CHECKS or np.ptp(days[ok]) == 0:
            continue
        slope, intercept = np.polyfit(days[ok], errors[ok], 1)
        fits[p] = (slope, intercept)
        now = slope * days[-1] + intercept
        if abs(now) > limit_pct:
            warnings.append(f"plate {p}: the force-error trend is at {now:+.3f} % ({slope:+.4f} %/day over "
                            f"{int(ok.sum())} checks), outside ±{limit_pct:g} %: recalibrate")
    return {"warnings": warnings, "fits": fits}


def drift_plot(path: Path, entries: list[dict], limit_pct: float, serial: str) -> Path | None:
    if plots_available() is not None:  # no matplotlib: the history is kept, the plot skipped
        return None
    days = np.array([(e["epoch_s"] - entries[0]["epoch_s"]) / 86400 for e in entries])
    plates = max(len(e["plates"]) for e in entries)
    errors = np.array([[e["plates"][p]["force_error_pct"] if p < len(e["plates"]) else np.nan
                        for p in range(plates)] for e in entries])
    return plots.drift(path, days, errors, limit_pct, trends(entries, limit_pct)["fits"],
                       f"{serial}: daily check with a known mass")
