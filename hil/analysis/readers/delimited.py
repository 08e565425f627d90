"""Plain text exports: one force value per line; delimited with a header; headerless columns.

- One number per line: the total vertical force in N (the rate comes from ``--rate``).
- Comma, tab or semicolon delimited with a header row: columns found by name, any case, a
  trailing unit such as ``[N]``, ``(kN)`` or ``[ms]`` read and converted (see ``ROLES``).
- Delimited without a header: six channels per plate, FX FY FZ MX MY MZ (a plate maker's raw
  export); columns are then named FX1 … MZ2 and each plate's FZ is its vertical force.
"""
from __future__ import annotations

import re

from hil.analysis.readers import numbers
from hil.analysis.readers.table import Table, key, unit_of
from hil.analysis.signal import AnalysisInputError

DELIMITERS = (",", "\t", ";")
ROLES = {  # header names (as table.key() spells them) → what the column is
    "time": ("time", "t", "time_s", "abs_time", "times"),
    "total": ("fz", "force", "fz_total", "total_force", "fzsum", "fz_sum", "total", "vertical_force",
              "combined", "combined_force", "vgrf"),
    "left": ("fz_left", "left", "left_fz", "fz_l", "l_fz"),
    "right": ("fz_right", "right", "right_fz", "fz_r", "r_fz"),
}
PLATE_NAME = re.compile(r"^(?:fz|fp|force|plate)_?(\d{1,2})$")  # FZ1, FP2, force_1: plate k's Fz
CHANNELS = ("FX", "FY", "FZ", "MX", "MY", "MZ")  # a headerless export's six channels per plate
FORM = "delimited text"


def read(text: bytes, name: str) -> Table:
    """``text`` without a BOM; leading blank lines are skipped (some exports start with one)."""
    skipped = len(text) - len(text.lstrip(b"\r\n \t"))
    first_line = text[:skipped].count(b"\n") + 1
    text = text[skipped:].rstrip()
    if not text:
        raise AnalysisInputError(f"{name}: empty input, no samples")
    first_end = text.find(b"\n")
    first = (text if first_end < 0 else text[:first_end]).decode("utf-8", "replace").rstrip("\r")
    delimiter = next((d for d in DELIMITERS if d in first), None)
    if delimiter is None and numbers.is_number(first):
        values = numbers.table(text, 1, "\n", first_line, ("force",), name)
        return Table("one force value per line", ("force",), values, total="force")
    fields = first.split(delimiter) if delimiter else [first]
    if delimiter and len(fields) > 1 and not fields[-1].strip():
        # a spreadsheet pads every row with delimiters to its widest row: drop the empty tail
        text = b"\n".join(line.rstrip(b"\r").rstrip(delimiter.encode() + b" ") for line in text.split(b"\n"))
        first_end = text.find(b"\n")
        while len(fields) > 1 and not fields[-1].strip():
            fields.pop()
    if all(numbers.is_number(field) for field in fields):
        return _headerless(text, delimiter, len(fields), first_line, name)
    header = tuple(field.strip().strip('"').strip() for field in fields)
    body = text[first_end + 1:] if first_end >= 0 else b""
    if not body.strip():
        raise AnalysisInputError(f"{name}: header row but no samples")
    values = numbers.table(body, len(header), delimiter or "\n", first_line + 1,
                           tuple(h.lower() for h in header), name)
    return _headed(header, values, name)


def _headerless(text: bytes, delimiter: str, width: int, first_line: int, name: str) -> Table:
    if width % len(CHANNELS):  # not six channels per plate: columns by number only
        names = tuple(str(number) for number in range(1, width + 1))
        return Table(f"headerless {width}-column text", names,
                     numbers.table(text, width, delimiter, first_line, names, name),
                     hint=f"{width} columns and no header row (add one, e.g. 'time,fz' or "
                          "'fz_left,fz_right')")
    names = tuple(f"{channel}{plate}" for plate in range(1, width // len(CHANNELS) + 1)
                  for channel in CHANNELS)
    values = numbers.table(text, width, delimiter, first_line, names, name)
    plates = tuple(n for n in names if n.startswith("FZ"))
    return Table(f"headerless export, {len(plates)} plate(s) × {'/'.join(CHANNELS)}", names, values,
                 plates=plates)


def _headed(header: tuple[str, ...], values, name: str) -> Table:
    keys = [key(field) for field in header]
    found = {}
    for role, names in ROLES.items():
        hits = [header[i] for i, k in enumerate(keys) if k in names]
        if len(hits) > 1:
            raise AnalysisInputError(f"{name}: header row repeats a {role} column ({', '.join(hits)}); "
                                     "choose with --force/--time and a column number")
        if hits:
            found[role] = hits[0]
    if ("left" in found) != ("right" in found):
        raise AnalysisInputError(f"{name}: two-plate data needs both fz_left and fz_right columns")
    numbered = sorted((int(m.group(1)), header[i]) for i, k in enumerate(keys)
                      if (m := PLATE_NAME.match(k)))
    if "left" in found:
        plates, sides = (found["left"], found["right"]), ("left", "right")
    else:
        plates, sides = tuple(column for _, column in numbered), ()
    return Table(FORM, header, values, units=tuple(unit_of(field) for field in header),
                 time=found.get("time"), plates=plates, sides=sides, total=found.get("total"),
                 hint=f"header row {','.join(header)!r} has no force column: expected "
                      f"{'/'.join(ROLES['total'][:3])}, {'/'.join(ROLES['left'][:2])} with "
                      f"{'/'.join(ROLES['right'][:2])}, or FZ1/FP1 per plate")
