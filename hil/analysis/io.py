"""Read a force recording from a file or standard input, for ``forcebench analyse``.

Two formats (METRICS.md): plain text with one force value (N) per line, or a delimited file
(comma, tab or semicolon) with a header row naming its columns. Files larger than
``MAX_BYTES`` are refused before they are read, and standard input is read in chunks and
abandoned past the same limit, so a huge input never exhausts memory.
"""
from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from typing import BinaryIO

import numpy as np

from hil.analysis.signal import AnalysisInputError

MAX_BYTES = 256 * 2**20  # 256 MiB: ~2 h of two-plate data at 2 kHz; larger inputs are refused
_CHUNK = 2**20
DELIMITERS = (",", "\t", ";")
TIME_NAMES = ("time", "t", "time_s")
TOTAL_NAMES = ("fz", "force", "fz_total")
LEFT_NAMES = ("fz_left", "left")
RIGHT_NAMES = ("fz_right", "right")
_UNIFORM_TOLERANCE = 0.01  # of the sample period; plus 1 µs for times printed to 6 decimals
_RATE_TOLERANCE = 0.005  # relative: --rate and the time column must agree this closely


@dataclass(frozen=True)
class Recording:
    """Force as ``analyse`` takes it: (n,) total or (n, 2) left/right, in N, at ``rate_hz``."""

    force: np.ndarray
    rate_hz: float


def load(path: str, rate_hz: float | None = None) -> Recording:
    """Read ``path`` (``-`` for standard input); ``rate_hz`` is required when there is no time column."""
    if path == "-":
        data = _read_limited(sys.stdin.buffer, "standard input")
    else:
        try:
            size = os.stat(path).st_size
            if size > MAX_BYTES:
                raise AnalysisInputError(f"{path}: {size} bytes is over the {_limit()} input limit")
            with open(path, "rb") as stream:
                data = _read_limited(stream, path)
        except OSError as error:
            raise AnalysisInputError(f"cannot read {path}: {error.strerror or error}") from None
    return parse(data, rate_hz, name="standard input" if path == "-" else path)


def _limit() -> str:
    return f"{MAX_BYTES // 2**20} MiB"


def _read_limited(stream: BinaryIO, name: str) -> bytes:
    """Read at most MAX_BYTES, in chunks, so a pipe of unknown length cannot exhaust memory."""
    chunks, total = [], 0
    while chunk := stream.read(_CHUNK):
        total += len(chunk)
        if total > MAX_BYTES:
            raise AnalysisInputError(f"{name}: input is over the {_limit()} input limit")
        chunks.append(chunk)
    return b"".join(chunks)


def parse(data: bytes, rate_hz: float | None = None, name: str = "input") -> Recording:
    """Parse the bytes of a recording (see the module docstring for the formats)."""
    text = data.removeprefix(b"\xef\xbb\xbf").rstrip()  # spreadsheet exports may open with a BOM
    if not text:
        raise AnalysisInputError(f"{name}: empty input, no samples")
    first_end = text.find(b"\n")
    first = (text if first_end < 0 else text[:first_end]).decode("utf-8", "replace")
    delimiter = next((d for d in DELIMITERS if d in first), None)
    if delimiter is None and _is_number(first):
        force = _numbers(text, 1, "\n", first_line=1, names=("force",), name=name)[:, 0]
        return Recording(force, _rate(None, rate_hz, name))
    fields = first.split(delimiter) if delimiter else [first]
    header = [field.strip().strip('"').strip().lower() for field in fields]
    if all(_is_number(field) for field in header):
        raise AnalysisInputError(f"{name}: delimited data needs a header row, e.g. 'time,fz' or "
                                 "'time,fz_left,fz_right'")
    columns = _columns(header, name)
    body = text[first_end + 1:] if first_end >= 0 else b""
    if not body.strip():
        raise AnalysisInputError(f"{name}: header row but no samples")
    table = _numbers(body, len(header), delimiter or "\n", first_line=2, names=tuple(header),
                     name=name)
    if "left" in columns:
        force = table[:, [columns["left"], columns["right"]]]
    else:
        force = table[:, columns["total"]]
    time = table[:, columns["time"]] if "time" in columns else None
    return Recording(np.ascontiguousarray(force), _rate(time, rate_hz, name))


def _is_number(field: str) -> bool:
    try:
        float(field)
    except ValueError:
        return False
    return True


def _columns(header: list[str], name: str) -> dict[str, int]:
    """Map the roles time/total/left/right to column indices, from case-insensitive names."""
    if len(set(header)) != len(header):
        raise AnalysisInputError(f"{name}: header row repeats a column name: {','.join(header)}")
    columns: dict[str, int] = {}
    for role, names in (("time", TIME_NAMES), ("total", TOTAL_NAMES), ("left", LEFT_NAMES),
                        ("right", RIGHT_NAMES)):
        found = [i for i, field in enumerate(header) if field in names]
        if len(found) > 1:
            raise AnalysisInputError(f"{name}: header row has more than one {role} column")
        if found:
            columns[role] = found[0]
    if ("left" in columns) != ("right" in columns):
        raise AnalysisInputError(f"{name}: two-plate data needs both fz_left and fz_right columns")
    if "total" not in columns and "left" not in columns:
        raise AnalysisInputError(
            f"{name}: header row {','.join(header)!r} has no force column; expected "
            f"{'/'.join(TOTAL_NAMES)}, or {'/'.join(LEFT_NAMES)} with {'/'.join(RIGHT_NAMES)}")
    return columns


def _numbers(body: bytes, width: int, delimiter: str, first_line: int, names: tuple[str, ...],
             name: str) -> np.ndarray:
    """Parse ``body`` as rows of ``width`` numbers: numpy's C parser, checked row by row."""
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
            if not _is_number(field):
                raise AnalysisInputError(
                    f"{name}: line {number}: {field.strip()[:40]!r} in column {column} is not a number")
    raise AnalysisInputError(f"{name}: could not parse the numbers")


def _rate(time: np.ndarray | None, rate_hz: float | None, name: str) -> float:
    """The sample rate from --rate or the time column; both given must agree."""
    if rate_hz is not None and not (np.isfinite(rate_hz) and rate_hz > 0):
        raise AnalysisInputError(f"--rate must be a positive number of Hz, got {rate_hz}")
    if time is None:
        if rate_hz is None:
            raise AnalysisInputError(f"{name}: sample rate unknown: give --rate HZ "
                                     "(or a time column)")
        return float(rate_hz)
    if time.size < 2:
        raise AnalysisInputError(f"{name}: a time column needs at least two samples")
    steps = np.diff(time)
    period = (time[-1] - time[0]) / (time.size - 1)
    if not np.isfinite(period) or period <= 0:
        raise AnalysisInputError(f"{name}: the time column does not increase")
    worst = int(np.argmax(np.abs(steps - period)))
    if abs(steps[worst] - period) > _UNIFORM_TOLERANCE * period + 1e-6:
        raise AnalysisInputError(
            f"{name}: non-uniform time column: step of {steps[worst]:.6g} s at t={time[worst]:.6g}"
            f" s, expected {period:.6g} s (gaps or jitter; resample first)")
    from_time = 1.0 / period
    if rate_hz is not None and abs(from_time - rate_hz) > _RATE_TOLERANCE * rate_hz:
        raise AnalysisInputError(f"{name}: --rate {rate_hz:g} Hz disagrees with the time column "
                                 f"({from_time:.6g} Hz)")
    return float(rate_hz) if rate_hz is not None else float(from_time)
