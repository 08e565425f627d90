"""Vicon Nexus CSV exports: the ``Devices`` block (force plates, EMG), rate from its header.

    Devices
    1000
    ,,Imported AMTI OR6 Series Force Plate #1 - Force,,,… - Moment,,,… - CoP,,,…#2 - Force,…
    Frame,Sub Frame,Fx,Fy,Fz,Mx,My,Mz,Cx,Cy,Cz,Fx,…
    ,,N,N,N,N.mm,N.mm,N.mm,mm,mm,mm,N,…
    1,0,…

The block ends at a blank line (``Trajectories`` and ``Model Outputs`` may follow). Nexus
reports the force the subject exerts on the plate in the plate's frame: load is negative Fz,
so the vertical force is −Fz (``--flip`` undoes this). Force columns are numbered by plate
(Fz1, Fz2) in the order the devices appear.
"""
from __future__ import annotations

import re

import numpy as np

from hil.analysis.readers import numbers
from hil.analysis.readers.table import Table
from hil.analysis.signal import AnalysisInputError

BLOCK = "Devices"
SECTIONS = ("Devices", "Trajectories", "Model Outputs", "Joints", "Segments", "Events")
_PLATE = re.compile(r"^(.*?)\s*-\s*Force$")  # "… Force Plate #1 - Force": plate #1's force group


def is_vicon(head: list[str]) -> bool:
    """The first non-blank line names a Nexus section."""
    first = next((line.strip().strip(",") for line in head if line.strip().strip(",")), "")
    return first in SECTIONS


def read(text: bytes, name: str) -> Table:
    lines = text.split(b"\n")
    start = next((i for i, line in enumerate(lines) if line.strip().rstrip(b",") == BLOCK.encode()),
                 None)
    if start is None:
        raise AnalysisInputError(f"{name}: Vicon CSV without a Devices block: export the force "
                                 "plates (Devices) from Nexus")
    if start + 5 > len(lines):
        raise AnalysisInputError(f"{name}: the Devices block ends before its column rows")
    rate_field = lines[start + 1].decode("utf-8", "replace").strip().strip(",")
    if not numbers.is_number(rate_field):
        raise AnalysisInputError(f"{name}: line {start + 2}: expected the Devices rate in Hz, "
                                 f"found {rate_field[:40]!r}")
    devices, channels, units = (_cells(lines[start + k]) for k in (2, 3, 4))
    end = next((i for i in range(start + 5, len(lines)) if not lines[i].strip().rstrip(b",")), len(lines))
    width = len(channels)
    names, plates = _names(devices, channels)
    # spreadsheets pad every row with commas to the widest section: cut rows to the block's width
    body = b"\n".join(line.rstrip(b"\r").rstrip(b",") for line in lines[start + 5:end])
    values = numbers.table(body, width, ",", start + 6, tuple(names), name)
    _check_frames(values, start + 6, name)
    return Table(f"Vicon Nexus CSV (Devices), {len(plates)} plate(s)", tuple(names), values,
                 units=tuple(units + [""] * (width - len(units))), rate_hz=float(rate_field),
                 plates=tuple(plates), load_sign=-1.0, hint="no force-plate device in the Devices block")


def _cells(line: bytes) -> list[str]:
    return [cell.strip() for cell in line.decode("utf-8", "replace").rstrip("\r").rstrip(",").split(",")]


def _names(devices: list[str], channels: list[str]) -> tuple[list[str], list[str]]:
    """Unique column names: plate channels numbered by plate (Fz1), others by their device."""
    names, plates, device, bases = [], [], "", []
    for index, channel in enumerate(channels):
        device = devices[index] if index < len(devices) and devices[index] else device
        match = _PLATE.match(device) or re.match(r"^(.*?)\s*-\s*(Moment|CoP)$", device)
        base = match.group(1) if match else None
        if index < 2 or not device:
            names.append(channel)
            continue
        if base is not None:
            if base not in bases:
                bases.append(base)
            names.append(f"{channel}{bases.index(base) + 1}")
            if channel.lower() == "fz" and _PLATE.match(device):
                plates.append(names[-1])
        else:
            names.append(f"{device}:{channel}")
    return names, plates


def _check_frames(values: np.ndarray, first_line: int, name: str) -> None:
    """Frame and Sub Frame must count every sample: a missing row would shift every later time."""
    if values.shape[0] < 2 or values.shape[1] < 2:
        return
    per_frame = int(values[:, 1].max()) + 1
    sample = values[:, 0] * per_frame + values[:, 1]
    jumps = np.flatnonzero(np.diff(sample) != 1)
    if jumps.size:
        row = int(jumps[0]) + 1
        raise AnalysisInputError(
            f"{name}: line {first_line + row}: frame {values[row, 0]:g}.{values[row, 1]:g} does not "
            f"follow {values[row - 1, 0]:g}.{values[row - 1, 1]:g}: samples are missing")
