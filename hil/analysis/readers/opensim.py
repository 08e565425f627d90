"""OpenSim ``.mot`` / ``.sto`` files: header lines up to ``endheader``, then named columns.

OpenSim's y axis is up, so each foot's (plate's) vertical force is its ``…force_vy`` column:
``R_ground_force_vy`` / ``L_ground_force_vy`` (sides as named), or ``ground_force_vy``,
``1_ground_force_vy`` (numbered: ``--first-plate`` says which is left). The rate comes from the
time column, or from ``DataRate=`` where a ``.sto`` header states it.
"""
from __future__ import annotations

import re

from hil.analysis.readers import numbers
from hil.analysis.readers.table import Table
from hil.analysis.signal import AnalysisInputError

END = b"endheader"
_VERTICAL = re.compile(r"^(.*)force_vy$", re.IGNORECASE)
_RIGHT = re.compile(r"(^|_)(r|right)(_|$)", re.IGNORECASE)
_LEFT = re.compile(r"(^|_)(l|left)(_|$)", re.IGNORECASE)
_BLANKS = re.compile(rb"[ \t]+")
_HEADER_LINES = 200


def is_opensim(head: list[str]) -> bool:
    return any(line.strip().lower() == "endheader" for line in head)


def read(text: bytes, name: str) -> Table:
    lines = text.split(b"\n", _HEADER_LINES)
    end = next((i for i, line in enumerate(lines[:_HEADER_LINES]) if line.strip().lower() == END), None)
    if end is None or end + 2 >= len(lines):
        raise AnalysisInputError(f"{name}: OpenSim file without 'endheader' and a column row")
    header = [line.decode("utf-8", "replace").strip() for line in lines[:end]]
    stated = next((float(v) for line in header if (m := re.match(r"(?i)datarate\s*=\s*(\S+)", line))
                   and numbers.is_number(v := m.group(1))), None)
    names = tuple(lines[end + 1].decode("utf-8", "replace").split())
    rest = b"\n".join(lines[end + 2:]).rstrip()
    # columns may be padded with spaces as well as tabs: one tab between fields, none at the ends
    body = b"\n".join(_BLANKS.sub(b"\t", line.strip()) for line in rest.split(b"\n"))
    values = numbers.table(body, len(names), "\t", end + 3, names, name)
    rows = next((int(m.group(1)) for line in header
                 if (m := re.match(r"(?i)(?:datarows|nrows)\s*[= ]\s*(\d+)$", line))), None)
    if rows is not None and rows != values.shape[0]:
        raise AnalysisInputError(f"{name}: the header says {rows} rows, the file holds "
                                 f"{values.shape[0]}: cut short or edited")
    plates = tuple(column for column in names if _VERTICAL.match(column))
    sides = tuple("right" if _RIGHT.search(_VERTICAL.match(p).group(1)) else
                  "left" if _LEFT.search(_VERTICAL.match(p).group(1)) else "" for p in plates)
    named = len(plates) == 2 and sorted(sides) == ["left", "right"]
    time = next((column for column in names if column.lower() == "time"), None)
    return Table(f"OpenSim {len(plates)}-plate force file", names, values, rate_hz=stated, time=time,
                 plates=plates, sides=sides if named else (),
                 hint="no ground force column ending in force_vy (OpenSim's vertical)")
