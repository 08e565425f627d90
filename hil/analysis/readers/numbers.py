"""Rows of numbers to a numpy array, fast for good input and precise about bad input."""
from __future__ import annotations

import io

import numpy as np

from hil.analysis.signal import AnalysisInputError


def is_number(field: str) -> bool:
    try:
        float(field)
    except ValueError:
        return False
    return True


def table(body: bytes, width: int, delimiter: str, first_line: int, names: tuple[str, ...],
          name: str) -> np.ndarray:
    """Parse ``body`` as rows of ``width`` numbers: numpy's C reader, checked for shape.

    ``delimiter`` is one character; a blank line, a short row or a word gets one line naming the
    line number (counted from ``first_line``) and the column.
    """
    if not body.strip():
        raise AnalysisInputError(f"{name}: no samples after the header")
    try:
        values = np.loadtxt(io.BytesIO(body), delimiter=delimiter if width > 1 else ",",
                            comments=None, ndmin=2, dtype=float)
    except ValueError:
        values = None
    # loadtxt skips blank lines and accepts a lone row of another width: both are errors here
    if values is None or values.shape != (body.count(b"\n") + 1, width):
        _raise_first_bad_line(body, width, delimiter, first_line, names, name)
    return values


def _raise_first_bad_line(body: bytes, width: int, delimiter: str, first_line: int,
                          names: tuple[str, ...], name: str) -> None:
    """Slow path, only for input already known to be bad: say which line and why."""
    for number, line in enumerate(body.decode("utf-8", "replace").split("\n"), start=first_line):
        fields = line.split(delimiter) if width > 1 else [line]
        if not line.strip():
            raise AnalysisInputError(f"{name}: line {number} is empty")
        if len(fields) != width:
            raise AnalysisInputError(
                f"{name}: line {number} has {len(fields)} fields, the header has {width}")
        for field, column in zip(fields, names):
            if not is_number(field):
                comma = " (a decimal comma? export with decimal points)" if is_number(
                    field.replace(",", ".")) else ""
                raise AnalysisInputError(f"{name}: line {number}: {field.strip()[:40]!r} in column "
                                         f"{column} is not a number{comma}")
    raise AnalysisInputError(f"{name}: could not parse the numbers")
