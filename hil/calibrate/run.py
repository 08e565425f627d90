"""``forcebench calibrate``: sequence → fit → correction → verification → acceptance → files.

Exit 0 the plate passes the spec, 1 it fails (the reasons are listed, and no correction that would
hide a faulty cell is written), 2 the calibration could not be done (one line on stderr).
"""
from __future__ import annotations

import importlib.metadata
import sys
import time
from dataclasses import asdict
from pathlib import Path
from typing import Sequence, TextIO

import numpy as np

from sim.plate import CELL_HALF_M, PLATE_SIZE_M, PlateModel

from .. import protocol
from ..drivers.base import Plate, PlateCommandError
from ..plates import is_emulated, open_plate
from ..progress import Progress
from ..references import open_reference
from ..report import plots_available
from . import acceptance, certificate, plan, plots, verify
from .fit import Fit, fit
from .rig import EmulatedRig, OperatorRig, Rig, measure
from .session import Session

STAGES = ("calibration", "verification")


class CalibrationError(ValueError):
    """The calibration could not be done (exit 2)."""


def geometry_from(plate_file: str | None) -> plan.Geometry:
    if plate_file is None:
        return plan.Geometry(PLATE_SIZE_M, CELL_HALF_M)
    model = PlateModel.from_file(plate_file)
    return plan.Geometry(model.size_m, model.cell_half_m)


def calibrate(plate_url: str, out: str | Path, *, reference_url: str | None = None,
              spec_path: str | None = None, plate_file: str | None = None,
              operator: bool = False, timeout: float = 5.0, show_progress: bool = True,
              draw: bool = True, faults: Sequence[str] = (),
              prompt: TextIO | None = None, answers: TextIO | None = None) -> tuple[dict, int]:
    """Run (or resume) a calibration into ``out``; (calibration record, exit status 0 or 1)."""
    prompt, answers = prompt or sys.stdout, answers or sys.stdin
    spec = acceptance.load(spec_path)
    geometry = geometry_from(plate_file)
    directory = Path(out)
    emulated = is_emulated(plate_url)
    if reference_url is None:
        reference_url = "emulated" if emulated and not operator else "none"
    with open_plate(plate_url, fast=emulated, timeout=timeout, faults=tuple(faults)) as plate, \
            open_reference(reference_url, timeout=timeout) as reference:
        identity = plate.identify()
        steps = plan.build(spec.sequence, plate.plates, geometry)
        as_found = plate.read_calibration()
        header = {"plan": plan.fingerprint(steps), "plate_url": plate_url, "plate_identity": identity,
                  "reference_url": reference_url, "reference_identity": reference.identify(),
                  "as_found": _calibration_dict(as_found)}
        session = Session(directory, header)
        as_found = _calibration_from(session.header["as_found"])  # what it was when we began
        raw = protocol.Calibration(as_found.scale, as_found.offset)
        rig: Rig = OperatorRig(prompt, answers, session.header["started_epoch_s"]) \
            if operator or not emulated else EmulatedRig(plate, reference)
        started = time.monotonic()
        _run_stage(session, "calibration", steps, plate, reference, rig, raw, spec, timeout, show_progress)
        readings = session.readings["calibration"]
        result = fit(steps, readings, geometry, plate.plates, spec.sequence.reference_uncertainty_pct / 100)
        raw_cells = np.array([r.cells_n for r in readings])
        shape = (len(readings), plate.plates, protocol.CELLS)
        found_cells = as_found.correct(raw_cells.reshape(shape)).reshape(len(readings), -1)
        passes: dict[str, verify.Pass | None] = {
            "before": verify.make_pass(steps, readings, found_cells), "after": None}
        before = verify.figures(passes["before"], plate.plates, geometry, spec.limits)
        findings = acceptance.hardware_findings(result, before, spec.limits)
        after, written = None, None
        if not findings:
            written = _write_correction(plate, result, as_found)
            corrected = plate.read_calibration()
            _run_stage(session, "verification", steps, plate, reference, rig, corrected, spec,
                       timeout, show_progress)
            checked = session.readings["verification"]
            passes["after"] = verify.make_pass(steps, checked, np.array([r.cells_n for r in checked]))
            after = verify.figures(passes["after"], plate.plates, geometry, spec.limits)
        reasons = findings + (acceptance.after_findings(after, spec.limits) if after else [])
        record = _record(session, spec, geometry, plate, reference, steps, result, before, after,
                         written, findings, reasons, time.monotonic() - started)
    certificate.write(directory, record)
    if draw and plots_available() is None:
        plots.write(directory, passes, record["plate"]["plates"], geometry)
    print(summary(record, directory), file=prompt)
    return record, 0 if record["acceptance"]["pass"] else 1


def _run_stage(session: Session, stage: str, steps: tuple[plan.Step, ...], plate: Plate,
               reference, rig: Rig, calibration: protocol.Calibration, spec, timeout: float,
               show_progress: bool) -> None:
    done = session.readings[stage]
    if isinstance(rig, EmulatedRig) and done:
        rig.streamed_s = done[-1].minutes * 60  # the clock carries on from the last step
    meter = Progress(len(steps), f"{stage} steps") if show_progress and rig.unattended else None
    for step in steps[len(done):]:
        rig.place(step, len(steps))
        session.add(stage, measure(plate, reference, rig, step, calibration, spec.sequence, timeout))
        if meter is not None:
            meter.update(step.index + 1)
    if meter is not None:
        meter.close(len(steps))


def _write_correction(plate: Plate, result: Fit, as_found: protocol.Calibration) -> dict:
    """Offsets into the plate's zero, then the quadratic terms and the matrix; read back. A plate
    that cannot store them (it refuses the commands) gets them in its driver, as from a file."""
    offsets = result.offsets.reshape(as_found.scale.shape)
    counts = as_found.offset + offsets / as_found.scale
    try:
        for p in range(plate.plates):
            for c in range(protocol.CELLS):
                plate.write_calibration(p, c, float(as_found.scale[p, c]), float(counts[p, c]))
        plate.write_correction(result.correction_quadratic, result.correction_matrix)
    except PlateCommandError as error:
        for p in range(plate.plates):  # its zero as found: the driver applies the offsets instead
            for c in range(protocol.CELLS):
                try:
                    plate.write_calibration(p, c, float(as_found.scale[p, c]), float(as_found.offset[p, c]))
                except PlateCommandError:
                    break
        plate.correction_file = protocol.Correction(
            offsets, result.correction_quadratic.reshape(offsets.shape), result.correction_matrix)
        return {"stored_on_plate": False,
                "note": f"the plate cannot store a correction ({error}): give this file to the driver "
                        "(--calibration)"}
    back = plate.read_calibration()
    if not (np.allclose(back.offset, counts) and back.matrix is not None
            and np.allclose(back.matrix, result.correction_matrix)):
        raise CalibrationError(f"plate {plate.url} did not keep the correction written to it")
    return {"stored_on_plate": True, "offset_counts": counts.tolist()}


def _calibration_dict(calibration: protocol.Calibration) -> dict:
    return {"scale": calibration.scale.tolist(), "offset": calibration.offset.tolist(),
            "quadratic": None if calibration.quadratic is None else calibration.quadratic.tolist(),
            "matrix": None if calibration.matrix is None else calibration.matrix.tolist()}


def _calibration_from(data: dict) -> protocol.Calibration:
    return protocol.Calibration(np.array(data["scale"]), np.array(data["offset"]),
                                None if data["quadratic"] is None else np.array(data["quadratic"]),
                                None if data["matrix"] is None else np.array(data["matrix"]))


def _record(session: Session, spec, geometry, plate: Plate, reference, steps, result: Fit, before,
            after, written, findings, reasons, elapsed_s: float) -> dict:
    header = session.header
    plates = plate.plates
    why_not = None if written else ("the plate has faults no correction may hide: " + "; ".join(findings))
    return {
        "format": certificate.FORMAT,
        "forcebench": {"version": importlib.metadata.version("forcebench")},
        "plate": {"url": header["plate_url"], "identity": header["plate_identity"],
                  "serial": certificate.serial_of(header["plate_identity"]), "plates": plates,
                  "geometry": asdict(geometry), "as_found": header["as_found"]},
        "reference": {"url": header["reference_url"], "identity": header["reference_identity"],
                      "resolution_n": reference.resolution_n,
                      "uncertainty_pct": spec.sequence.reference_uncertainty_pct},
        "started_utc": header["started_utc"],
        "finished_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "spec": spec.to_dict(),
        "sequence": {"plan": header["plan"], "steps_per_pass": len(steps),
                     "passes": sum(bool(session.readings[s]) for s in STAGES),
                     "full_scale_n": [p.get("full_scale_n") for p in before["plates"]],
                     "duration_s": elapsed_s},
        "cells": [cell.to_dict() for cell in result.cells],
        "crosstalk_matrix": result.crosstalk_matrix().tolist(),
        "sensitivity_matrix": result.sensitivity.tolist(),
        "correction": {"written": written is not None, "why_not": why_not,
                       "offset_n": result.offsets.reshape(plates, protocol.CELLS).tolist(),
                       "quadratic": result.correction_quadratic.reshape(plates, protocol.CELLS).tolist(),
                       "matrix": result.correction_matrix.tolist(),
                       **(written or {})},
        "verification": {"before": before, "after": after},
        "acquisition": _acquisition(session),
        "acceptance": {"pass": not reasons, "reasons": reasons},
    }


def _acquisition(session: Session) -> dict[str, int]:
    """Every step's stream as acquired, summed: frames lost, corrupt and late (and what our own
    emulator says it injected into them, where it says)."""
    totals: dict[str, int] = {"lost": 0, "corrupt": 0, "late": 0}
    for stage in STAGES:
        for reading in session.readings[stage]:
            for key, value in reading.frames.items():
                totals[key] = totals.get(key, 0) + value
    return totals


def summary(record: dict, directory: Path) -> str:
    lines = [f"calibration of {record['plate']['identity']} against {record['reference']['identity']}"]
    for cell in record["cells"]:
        lines.append(f"  cell {cell['cell']} (plate {cell['plate']} cell {cell['plate_cell']}): "
                     f"gain {cell['gain_error']:.5f} ± {cell['gain_error_U95']:.5f} (k=2), "
                     f"offset {cell['offset_n']:+.2f} N, crosstalk {cell['crosstalk']:+.4f}"
                     + (f", non-linear term {cell['nonlinear_term']:.3g}/N" if cell["nonlinear_term"] else ""))
    for stage in ("before", "after"):
        figures = record["verification"][stage]
        if figures is None:
            lines.append(f"  {stage}: not measured ({record['correction']['why_not']})")
            continue
        lines.append(f"  {stage}: force error {figures['force_error_pct_fs']:.3f} % FS, "
                     f"non-linearity {figures['nonlinearity_pct_fs']:.3f} % FS, hysteresis "
                     f"{figures['hysteresis_pct_fs']:.3f} % FS, COP error max "
                     f"{figures['cop_error_max_mm']:.2f} mm, RMS {figures['cop_error_rms_mm']:.2f} mm")
    lines.append("  frames " + ", ".join(f"{k} {v}" for k, v in record["acquisition"].items()))
    lines += [f"  FAIL: {reason}" for reason in record["acceptance"]["reasons"]]
    verdict = "PASS" if record["acceptance"]["pass"] else "FAIL"
    lines.append(f"{verdict}: {directory}/calibration.json, report.xml"
                 + ("" if record["correction"]["written"] else " (no correction written to the plate)"))
    return "\n".join(lines)


