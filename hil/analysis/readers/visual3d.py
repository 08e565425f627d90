"""Visual3D text exports: five header rows (file, signal name, type, folder, component), then
one row per frame with the frame number (``ITEM``) first.

Visual3D does not write the rate into these exports: give ``--rate``. A signal with one
component keeps its name (``FZsum``); a multi-component one is named per component
(``FP1_Z``). The total is a column named like ``FZsum``/``Fz``; otherwise each FORCE signal's
Z component (Visual3D's vertical) is a plate's vertical force.
"""
from __future__ import annotations

import numpy as np

from hil.analysis.readers import numbers
from hil.analysis.readers.delimited import ROLES
from hil.analysis.readers.table import Table, key
from hil.analysis.signal import AnalysisInputError

ROWS = 5  # file, name, type, folder, component


def is_visual3d(head: list[str]) -> bool:
    return len(head) > ROWS and head[ROWS - 1].split("\t")[0].strip().upper() == "ITEM"


def read(text: bytes, name: str) -> Table:
    lines = text.split(b"\n", ROWS)
    if len(lines) <= ROWS:
        raise AnalysisInputError(f"{name}: Visual3D export with no samples after its five header rows")
    rows = [line.decode("utf-8", "replace").rstrip("\r").split("\t") for line in lines[:ROWS]]
    signals, types, components = rows[1], rows[2], rows[4]
    width = len(components)
    signals += [""] * (width - len(signals))
    types += [""] * (width - len(types))
    counts = {signal: signals[1:].count(signal) for signal in signals[1:]}
    names = ["ITEM"] + [s if counts[s] == 1 else f"{s}_{c}" for s, c in zip(signals[1:], components[1:])]
    if len(set(names)) != len(names):
        raise AnalysisInputError(f"{name}: Visual3D export repeats a signal; choose with --force NUMBER")
    values = numbers.table(lines[ROWS].rstrip(), width, "\t", ROWS + 1, tuple(names), name)
    skips = np.flatnonzero(np.diff(values[:, 0]) != 1)
    if skips.size:  # ITEM is the frame number: a missing row would shift every later time
        row = int(skips[0]) + 1
        raise AnalysisInputError(f"{name}: line {ROWS + 1 + row}: frame {values[row, 0]:g} does not "
                                 f"follow {values[row - 1, 0]:g}: samples are missing")
    total = next((n for n in names if key(n) in ROLES["total"]), None)
    plates = tuple(n for n, t, c in zip(names, types, components)
                   if t.strip().upper() == "FORCE" and c.strip().upper() == "Z")
    return Table("Visual3D export", tuple(names), values, total=total, plates=plates,
                 hint="no FZsum-like total or FORCE signal with a Z component")
