"""Text-line plates: the plate file (TOML) that describes one, and its lines both ways.

Home-built plates (four load cells per plate, an HX711 or ADS1256, a microcontroller) print one
line per sample over USB serial. A plate file says how to read them::

    kind = "text"
    description = "..."
    plates = 2                 # 1 or 2
    rate_hz = 1000.0           # the firmware's sample rate (fixed)
    separator = ","            # "," ";" "\\t" or " " (" ": any run of spaces)
    prefix = ""                # every data line starts with this (others are not data lines)
    checksum = "none"          # "xor8": the line ends "*HH", XOR of the bytes before "*" (NMEA)
    columns = ["counter", "L1", "L2", "L3", "L4", "R1", "R2", "R3", "R4"]
    scale_n_per_count = 0.01   # one number, or one per cell in column order
    offset_counts = 0          # counts at zero load (one, or one per cell); tare replaces it
    resolution = 1.0           # printed value = counts * resolution (1: integer counts)
    counter_modulus = 4294967296   # where a counter or a device clock wraps

    [commands]                 # lines the firmware understands (omit what it lacks)
    identify = "?"             # answers one line
    tare = "t"
    start = "s"
    stop = "x"

Columns: ``counter`` (a sample counter), ``ms`` or ``us`` (the device's clock; the sample index is
time × rate), cells ``L1``–``L4`` and ``R1``–``R4`` (``C1``–``C4`` on a single plate), ``-``
(ignored). Without a counter or clock column the lines are counted: a lost line is then invisible.
"""
from __future__ import annotations

import math
import tomllib
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np

from . import protocol

TIME_COLUMNS = {"counter": None, "ms": 1e-3, "us": 1e-6}
SEPARATORS = (",", ";", "\t", " ")
KEYS = {"kind", "description", "plates", "rate_hz", "separator", "prefix", "checksum", "columns",
        "scale_n_per_count", "offset_counts", "resolution", "counter_modulus", "commands"}
COMMANDS = ("identify", "tare", "start", "stop")


class PlateFileError(ValueError):
    """A plate file that cannot be used: one line naming the file and the key."""


def cell_names(plates: int) -> list[str]:
    return [f"C{c}" for c in range(1, 5)] if plates == 1 else \
        [f"{side}{c}" for side in "LR" for c in range(1, 5)]


@dataclass(frozen=True)
class TextPlateFile:
    path: str
    plates: int
    rate_hz: float
    separator: str
    columns: tuple[str, ...]
    scale: np.ndarray  # (plates, 4) N per count
    offset: np.ndarray  # (plates, 4) counts
    prefix: str = ""
    checksum: str = "none"
    resolution: float = 1.0
    counter_modulus: int = protocol.COUNTER_MODULUS
    commands: dict[str, str] = field(default_factory=dict)
    description: str = ""

    @cached_property
    def time_column(self) -> str | None:
        return next((c for c in self.columns if c in TIME_COLUMNS), None)

    @cached_property
    def cell_columns(self) -> np.ndarray:
        """Column index of each cell, plate 0 cells 0-3 then plate 1."""
        return np.array([self.columns.index(name) for name in cell_names(self.plates)])

    @cached_property
    def _parsed_columns(self) -> tuple[list[int], int | None]:
        """(cell column indices, time column index or None): looked up once, used per line."""
        time = self.columns.index(self.time_column) if self.time_column else None
        return self.cell_columns.tolist(), time

    # --- lines ------------------------------------------------------------------------------

    def format_lines(self, counters: np.ndarray, counts: np.ndarray) -> list[bytes]:
        """One line per sample: ``counts`` (n, plates, 4) ADC counts, ``counters`` sample indices."""
        counts = counts.reshape(counts.shape[0], -1)
        cells = {name: i for i, name in enumerate(cell_names(self.plates))}
        unit = TIME_COLUMNS.get(self.time_column or "", None)
        lines = []
        for row, counter in zip(counts, counters.tolist()):
            fields = []
            for name in self.columns:
                if name in cells:
                    value = row[cells[name]] * self.resolution
                    fields.append(str(int(value)) if self.resolution == 1 else f"{value:.6g}")
                elif name == "counter":
                    fields.append(str(counter % self.counter_modulus))
                elif name in TIME_COLUMNS:
                    fields.append(str(int(round(counter / self.rate_hz / unit)) % self.counter_modulus))
                else:
                    fields.append("0")
            text = self.prefix + (self.separator.join(fields))
            if self.checksum == "xor8":
                text += f"*{xor8(text.encode()):02X}"
            lines.append(text.encode() + b"\n")
        return lines

    def parse_line(self, line: bytes) -> tuple[int | None, np.ndarray] | None:
        """(raw counter or device time or None, counts (plates*4,)) of a data line; None if the
        line is garbled (wrong prefix, checksum, field count or a field that is not a number)."""
        try:
            text = line.decode("ascii").strip()
        except UnicodeDecodeError:
            return None
        if self.checksum == "xor8":
            body, star, given = text.rpartition("*")
            if not star or len(given) != 2 or given.upper() != f"{xor8(body.encode()):02X}":
                return None
            text = body
        if not text.startswith(self.prefix):
            return None
        text = text[len(self.prefix):]
        fields = text.split() if self.separator == " " else text.split(self.separator)
        if len(fields) != len(self.columns):
            return None
        cells, time = self._parsed_columns
        try:
            values = [float(fields[i]) / self.resolution for i in cells]
            stamp = int(fields[time]) if time is not None else None
        except ValueError:
            return None
        if not all(map(math.isfinite, values)):
            return None
        return stamp, np.array(values)


def xor8(data: bytes) -> int:
    value = 0
    for byte in data:
        value ^= byte
    return value


def load_plate_file(path: str | Path) -> TextPlateFile:
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text())
    except (OSError, UnicodeDecodeError) as error:
        raise PlateFileError(f"cannot read plate file {path}: {error}") from None
    except tomllib.TOMLDecodeError as error:
        raise PlateFileError(f"{path}: not valid TOML: {error}") from None
    return plate_file_from_dict(data, str(path))


def plate_file_from_dict(data: dict[str, Any], source: str = "<plate file>") -> TextPlateFile:
    def fail(key: str, problem: str) -> PlateFileError:
        return PlateFileError(f"{source}: {key}: {problem}")

    unknown = set(data) - KEYS
    if unknown:
        raise fail(sorted(unknown)[0], "unknown key")
    if data.get("kind") != "text":
        raise fail("kind", 'must be "text" for a text-line plate')
    plates = data.get("plates", 1)
    if plates not in (1, 2):
        raise fail("plates", "must be 1 or 2")
    rate = data.get("rate_hz")
    if not isinstance(rate, (int, float)) or not 1 <= rate <= 100_000:
        raise fail("rate_hz", "must be a number of Hz, 1-100000")
    separator = data.get("separator", ",")
    if separator not in SEPARATORS:
        raise fail("separator", f"must be one of {SEPARATORS!r}")
    columns = data.get("columns")
    names = cell_names(plates)
    if not isinstance(columns, list) or not all(isinstance(c, str) for c in columns):
        raise fail("columns", "must be a list of column names")
    allowed = set(names) | set(TIME_COLUMNS) | {"-"}
    bad = [c for c in columns if c not in allowed]
    if bad:
        raise fail("columns", f"unknown column {bad[0]!r} (cells {', '.join(names)}; "
                              "counter, ms, us; - to ignore)")
    missing = [n for n in names if n not in columns]
    if missing or len(set(c for c in columns if c != "-")) != len([c for c in columns if c != "-"]):
        raise fail("columns", f"every cell exactly once ({', '.join(names)}), at most one "
                              "time column")
    if sum(c in TIME_COLUMNS for c in columns) > 1:
        raise fail("columns", "at most one of counter, ms, us")

    def per_cell(key: str, default: float, positive: bool) -> np.ndarray:
        value = np.asarray(data.get(key, default), dtype=float) if not isinstance(
            data.get(key, default), (str, dict)) else None
        if value is None or value.shape not in ((), (len(names),)) or not np.all(np.isfinite(value)) \
                or (positive and np.any(value <= 0)):
            raise fail(key, f"one {'positive ' if positive else ''}number or {len(names)} numbers")
        return np.broadcast_to(value, (len(names),)).reshape(plates, 4).copy()

    checksum = data.get("checksum", "none")
    if checksum not in ("none", "xor8"):
        raise fail("checksum", 'must be "none" or "xor8"')
    resolution = data.get("resolution", 1.0)
    if not isinstance(resolution, (int, float)) or resolution <= 0:
        raise fail("resolution", "must be a positive number")
    modulus = data.get("counter_modulus", protocol.COUNTER_MODULUS)
    if not isinstance(modulus, int) or modulus < 2:
        raise fail("counter_modulus", "must be a whole number >= 2")
    commands = data.get("commands", {})
    if not isinstance(commands, dict) or set(commands) - set(COMMANDS) or \
            not all(isinstance(v, str) and v.strip() and "\n" not in v for v in commands.values()):
        raise fail("commands", f"a table of one-line strings for {', '.join(COMMANDS)}")
    prefix = data.get("prefix", "")
    if not isinstance(prefix, str) or any(c in prefix for c in "\n*"):
        raise fail("prefix", "a string without newline or *")
    return TextPlateFile(source, plates, float(rate), separator, tuple(columns),
                         per_cell("scale_n_per_count", 1.0, True), per_cell("offset_counts", 0.0, False),
                         prefix, checksum, float(resolution), modulus, dict(commands),
                         str(data.get("description", "")))
