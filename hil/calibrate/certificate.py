"""calibration.json (the certificate's data), its JUnit view, and reading one back for a driver.

A plate whose firmware cannot store a correction gets it from this file: ``--calibration FILE``
(checked against the plate's serial number) or ``--calibration DIR`` (``DIR/<serial>.json`` or
``DIR/<serial>/calibration.json``).
"""
from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any, Mapping

import numpy as np

from .. import protocol
from ..report import write_json

FORMAT = "forcebench plate calibration"


class CalibrationFileError(ValueError):
    """A calibration file that cannot be applied to this plate."""


def serial_of(identity: str) -> str:
    """The serial number field of an identify reply (maker,model,serial,firmware)."""
    parts = [p.strip() for p in identity.split(",")]
    return parts[2] if len(parts) > 2 and parts[2] else identity.strip()


def write(directory: Path, record: Mapping[str, Any]) -> list[Path]:
    return [write_json(directory / "calibration.json", record),
            write_junit(directory / "report.xml", record)]


def write_junit(path: Path, record: Mapping[str, Any]) -> Path:
    """One test case per acceptance reason (failures) or one passing case per figure checked."""
    serial = record["plate"]["serial"]
    suite = ET.Element("testsuite", name=f"forcebench.calibrate.{serial}")
    reasons = record["acceptance"]["reasons"]
    for reason in reasons:
        case = ET.SubElement(suite, "testcase", classname=f"calibrate.{serial}", name=reason[:80], time="0")
        ET.SubElement(case, "failure", message=reason, type="OutOfSpec").text = reason
    for stage in ("before", "after"):
        figures = record["verification"].get(stage)
        if figures is None:
            case = ET.SubElement(suite, "testcase", classname=f"calibrate.{serial}.{stage}",
                                 name="verification", time="0")
            ET.SubElement(case, "skipped", message=record["correction"].get("why_not") or "not run")
            continue
        for name, value in figures.items():
            if name != "plates" and value is not None:
                case = ET.SubElement(suite, "testcase", classname=f"calibrate.{serial}.{stage}",
                                     name=name, time="0")
                ET.SubElement(case, "system-out").text = f"{name} = {value:.6g}"
    cases = suite.findall("testcase")
    suite.set("tests", str(len(cases)))
    suite.set("failures", str(len(reasons)))
    suite.set("skipped", str(sum(1 for c in cases if c.find("skipped") is not None)))
    suite.set("errors", "0")
    root = ET.Element("testsuites", name="forcebench")
    root.append(suite)
    tree = ET.ElementTree(root)
    ET.indent(tree)
    partial = path.with_suffix(".xml.part")
    tree.write(partial, encoding="utf-8", xml_declaration=True)
    partial.replace(path)
    return path


def find(path: str | Path, serial: str) -> Path:
    """The calibration file for ``serial``: ``path`` itself, or looked up in a directory."""
    path = Path(path)
    if path.is_dir():
        for candidate in (path / f"{serial}.json", path / serial / "calibration.json",
                          path / "calibration.json"):
            if candidate.is_file():
                return candidate
        raise CalibrationFileError(f"no calibration for plate {serial} in {path} "
                                   f"(looked for {serial}.json, {serial}/calibration.json, calibration.json)")
    if not path.is_file():
        raise CalibrationFileError(f"calibration file {path} does not exist")
    return path


def read_correction(path: str | Path, serial: str, plates: int) -> protocol.Correction:
    """The correction in a calibration file, for the plate with ``serial`` (CalibrationFileError)."""
    path = find(path, serial)
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
        if record.get("format") != FORMAT:
            raise CalibrationFileError(f"{path} is not a forcebench calibration file")
        correction = record["correction"]
        found = record["plate"]["serial"]
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise CalibrationFileError(f"cannot read calibration file {path}: {error}") from None
    if found != serial:
        raise CalibrationFileError(f"{path} is for plate {found}, this plate is {serial}")
    if not correction.get("written"):
        raise CalibrationFileError(f"{path} holds no usable correction: {correction.get('why_not')}")
    try:
        out = protocol.Correction(np.array(correction["offset_n"], float).reshape(plates, protocol.CELLS),
                                  np.array(correction["quadratic"], float).reshape(plates, protocol.CELLS),
                                  np.array(correction["matrix"], float).reshape(plates * protocol.CELLS, -1))
    except (KeyError, ValueError) as error:
        raise CalibrationFileError(f"{path}: correction does not fit a {plates}-plate plate ({error})") from None
    if out.matrix.shape[1] != out.matrix.shape[0] or not np.all(np.isfinite(out.matrix)):
        raise CalibrationFileError(f"{path}: correction matrix is not square and finite")
    return out


def apply(plate, path: str | Path) -> Path:
    """Make ``plate`` (a driver) use the correction in a calibration file; returns the file used."""
    serial = serial_of(plate.identify())
    found = find(path, serial)
    plate.correction_file = read_correction(found, serial, plate.plates)
    return found
