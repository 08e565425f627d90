"""Rows of numbers to a numpy array, fast for good input and precise about bad input."""
from __future__ import annotations

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
    """Parse ``body`` as rows of ``width`` numbers: numpy's C parser, checked row by row.

    ``delimiter`` is one character; a blank line, a short row or a word gets one line naming the
    line number (counted from ``first_line``) and the column.
    """
    if not body.strip():
        raise AnalysisInputError(f"{name}: no samples after the header")
    sep = delimiter.encode()
    lines = body.count(b"\n") + 1
    values = None
    # one non-blank separator (",") makes the C parser demand exactly one number per field
    if sep == b"," or b"," not in body:
        try:
            values = np.fromstring(body.replace(b"\n", b",").replace(sep, b","), sep=",")
        except ValueError:
            pass
    if values is None or values.size != lines * width or not _rows_have(body, sep, width):
        _raise_first_bad_line(body, width, delimiter, first_line, names, name)
    return values.reshape(lines, width)


def _rows_have(body: bytes, sep: bytes, width: int) -> bool:
    """True when every row holds exactly ``width - 1`` delimiters (vectorised over the bytes)."""
    if width == 1:
        return True
    raw = np.frombuffer(body, dtype=np.uint8)
    delimiters = np.flatnonzero(raw == sep[0])
    newlines = np.flatnonzero(raw == ord("\n"))
    if delimiters.size != (newlines.size + 1) * (width - 1):
        return False
    # the k-th newline (from 1) must have exactly k·(width − 1) delimiters before it
    before = np.searchsorted(delimiters, newlines)
    return bool(np.array_equal(before, np.arange(1, newlines.size + 1) * (width - 1)))


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
                raise AnalysisInputError(
                    f"{name}: line {number}: {field.strip()[:40]!r} in column {column} is not a number")
    raise AnalysisInputError(f"{name}: could not parse the numbers")
