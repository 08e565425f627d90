"""What every reader returns (a table of named columns) and how the force is chosen from it.

A reader knows its format: the column names, units, the rate the file states and which columns
are each plate's vertical force. Choosing the force (the defaults, ``--force``/``--left``/
``--right``, a sign flip, which plate is left) happens here, once, for every format.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from hil.analysis.readers.checks import check_force, sample_rate
from hil.analysis.signal import AnalysisInputError

SIDES = ("left", "right")
DEFAULT_FIRST_PLATE = "left"  # plate 1 (FP1, FZ1, the first device) is the left foot unless told
FORCE_UNITS = {"n": 1.0, "kn": 1000.0, "lbf": 4.4482216152605, "kgf": 9.80665}
TIME_UNITS = {"s": 1.0, "sec": 1.0, "ms": 1e-3, "us": 1e-6, "µs": 1e-6}
_SHOWN_COLUMNS = 12  # an error lists at most this many column names


@dataclass(frozen=True)
class Table:
    """One file's columns before the force is chosen. ``units`` are as the file states them."""

    form: str                        # the format's name, for messages ("Kistler BioWare export")
    names: tuple[str, ...]
    values: np.ndarray               # (n, len(names))
    units: tuple[str, ...] = ()      # one per column, "" where the file states none
    rate_hz: float | None = None     # stated by the file
    time: str | None = None          # the time column, if any
    plates: tuple[str, ...] = ()     # each plate's vertical force column, in the file's order
    sides: tuple[str, ...] = ()      # "left"/"right" per plate when the file names them
    total: str | None = None         # a column holding the total vertical force
    load_sign: float = 1.0           # −1 where the format counts load as negative (Vicon)
    hint: str = ""                   # what to add when no force column is known


@dataclass(frozen=True)
class Selection:
    """The user's choices (``forcebench analyse`` options); None keeps the format's default."""

    force: str | None = None         # total vertical force, e.g. "FZ1+FZ2", "-Fz", "3+9"
    left: str | None = None
    right: str | None = None
    time: str | None = None
    flip: bool = False               # the file counts load as negative
    first_plate: str = DEFAULT_FIRST_PLATE


@dataclass(frozen=True)
class Recording:
    """Force as ``analyse`` takes it: (n,) total or (n, 2) left/right, in N, at ``rate_hz``."""

    force: np.ndarray
    rate_hz: float
    description: str = ""            # what was read: format, columns, where the rate came from


def key(name: str) -> str:
    """A column name as matched: any case, quotes, a trailing unit and separators ignored."""
    bare = re.sub(r"\s*[\[(][^\])]*[\])]\s*$", "", name.strip().strip('"').strip())
    return re.sub(r"[\s\-]+", "_", bare.lower())


def unit_of(name: str) -> str:
    """The unit a header writes after the name, e.g. 'Fz [kN]' or 'time (ms)'; '' if none."""
    found = re.search(r"[\[(]\s*([^\])]*?)\s*[\])]\s*$", name.strip().strip('"'))
    return found.group(1) if found else ""


def choose(table: Table, selection: Selection, rate_hz: float | None, name: str) -> Recording:
    """The force and rate ``analyse`` needs, from the table and the user's choices."""
    if selection.first_plate not in SIDES:
        raise AnalysisInputError(f"--first-plate must be left or right, got {selection.first_plate!r}")
    if table.values.shape[0] == 0:
        raise AnalysisInputError(f"{name}: no samples")
    sign = table.load_sign * (-1.0 if selection.flip else 1.0)
    columns, labels = _force_columns(table, selection, name)
    force = np.column_stack([_evaluate(table, expr, name, FORCE_UNITS, "force") for expr in columns]) * sign
    force = force[:, 0] if force.shape[1] == 1 else force
    time_name = selection.time or table.time
    time = _evaluate(table, time_name, name, TIME_UNITS, "time") if time_name else None
    rate, rate_from = sample_rate(time, table.rate_hz, rate_hz, name)
    check_force(force, rate, name)
    sign_note = "" if sign > 0 else ", sign flipped (load negative in the file)"
    description = (f"{name}: {table.form}; force {labels}{sign_note}; {force.shape[0]} samples at "
                   f"{rate:g} Hz ({rate_from})")
    return Recording(np.ascontiguousarray(force, dtype=float), rate, description)


def _force_columns(table: Table, selection: Selection, name: str) -> tuple[list[str], str]:
    """The expressions for total or (left, right), and how to describe them."""
    if (selection.left is None) != (selection.right is None):
        raise AnalysisInputError("--left and --right go together (two plates); for one trace use --force")
    if selection.left is not None:
        if selection.force is not None:
            raise AnalysisInputError("give either --force or --left/--right, not both")
        return [selection.left, selection.right], f"left = {selection.left}, right = {selection.right}"
    if selection.force is not None:
        return [selection.force], selection.force
    if len(table.plates) == 2:
        first = table.sides[0] if table.sides else selection.first_plate
        left, right = (table.plates if first == "left" else table.plates[::-1])
        origin = "as named in the file" if table.sides else f"plate 1 = {first} (--first-plate)"
        return [left, right], f"left = {left}, right = {right} ({origin})"
    if table.total is not None:
        return [table.total], table.total
    if len(table.plates) == 1:
        return [table.plates[0]], table.plates[0]
    if len(table.plates) > 2:
        listed = ", ".join(table.plates)
        raise AnalysisInputError(
            f"{name}: {len(table.plates)} plates ({listed}): choose with --force "
            f"{'+'.join(table.plates[:2])} (one trace) or --left {table.plates[0]} --right {table.plates[1]}")
    raise AnalysisInputError(f"{name}: {table.hint or 'no force column found'}; say which with "
                             f"--force COLUMN or --left/--right, and --time (columns: {_listing(table)})")


def _evaluate(table: Table, expression: str, name: str, units: dict[str, float], kind: str) -> np.ndarray:
    """A column, or a sum/difference of columns: 'FZ1+FZ2', '-Fz', '3+9' (numbers count from 1)."""
    whole = _find(table, expression)
    if whole is not None:
        return table.values[:, whole] * _scale(table, whole, name, units, kind)
    terms = re.findall(r"([+-]?)\s*([^+-]+)", expression.strip())
    if not terms or "".join(s + t for s, t in terms).replace(" ", "") != expression.replace(" ", ""):
        raise AnalysisInputError(f"{name}: cannot read the column choice {expression!r}")
    total = np.zeros(table.values.shape[0])
    for sign, term in terms:
        index = _find(table, term.strip())
        if index is None:
            raise AnalysisInputError(f"{name}: no column {term.strip()!r} (columns: {_listing(table)})")
        factor = (-1.0 if sign == "-" else 1.0) * _scale(table, index, name, units, kind)
        total = total + factor * table.values[:, index]
    return total


def _find(table: Table, token: str) -> int | None:
    """A column by its name (as :func:`key` matches it) or by its number from 1."""
    wanted = key(token)
    matches = [i for i, column in enumerate(table.names) if key(column) == wanted]
    if len(matches) > 1:
        raise AnalysisInputError(f"column name {token!r} is not unique; give its number instead "
                                 f"(columns: {_listing(table)})")
    if matches:
        return matches[0]
    if token.strip().isdigit() and 1 <= int(token) <= len(table.names):
        return int(token) - 1
    return None


def _unit(table: Table, index: int) -> str:
    return (table.units[index] if table.units else "").strip().lower().replace("·", ".")


def _scale(table: Table, index: int, name: str, units: dict[str, float], kind: str) -> float:
    """The factor to N or s for a column's stated unit; an unknown unit is an error."""
    unit = _unit(table, index)
    if not unit:
        return 1.0
    if unit not in units:
        raise AnalysisInputError(f"{name}: column {table.names[index]!r} is in {table.units[index]!r}, "
                                 f"not a {kind} unit ({', '.join(units)})")
    return units[unit]


def _listing(table: Table) -> str:
    shown = ", ".join(table.names[:_SHOWN_COLUMNS])
    return shown + (f", … ({len(table.names)} in all)" if len(table.names) > _SHOWN_COLUMNS else "")
