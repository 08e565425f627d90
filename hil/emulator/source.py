"""What an emulated plate streams: a source file of per-cell forces.

A source file is an ``.npz`` with ``cells`` (n, plates, 4) in newtons, ``rate_hz`` (scalar) and
optionally ``trial_starts`` (sample index where each trial begins, first 0) and ``trial_names``.
The bench writes one from simulator trials, a trial at a time (``SourceWriter``), and the
emulator reads its cells in chunks as it streams (``open_source``), so neither holds a long
scenario in memory; without one the emulator loops a built-in CMJ.
"""
from __future__ import annotations

import os
import shutil
import struct
import tempfile
import weakref
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np

from ..protocol import CELLS

CHECK_ROWS = 1 << 16  # a file's cells are checked (finite) this many rows at a time
WINDOW_ROWS = 1 << 14  # rows read ahead as the emulator streams (1 MB for a dual plate)


class SourceError(ValueError):
    """A source file that cannot be used."""


class CellFile:
    """The ``cells`` array of a source file, read on demand (rows by index), never all at once."""

    def __init__(self, path: Path, offset: int, shape: tuple[int, ...]) -> None:
        self.path, self.offset, self.shape = path, offset, shape
        self.row_bytes = 8 * int(np.prod(shape[1:]))
        self._fd = os.open(path, os.O_RDONLY)
        weakref.finalize(self, os.close, self._fd)
        self._first, self._window = 0, np.zeros((0, *shape[1:]))  # rows read ahead

    def read(self, first: int, stop: int) -> np.ndarray:
        """Rows ``first`` .. ``stop`` - 1."""
        data = os.pread(self._fd, (stop - first) * self.row_bytes, self.offset + first * self.row_bytes)
        if len(data) != (stop - first) * self.row_bytes:
            raise SourceError(f"source file {self.path} is shorter than its header says")
        return np.frombuffer(data, dtype="<f8").reshape(stop - first, *self.shape[1:])

    def take(self, index: np.ndarray) -> np.ndarray:
        """Rows at ``index`` (any order and shape): from a window of WINDOW_ROWS read ahead
        (streaming reads the rows in order), else read run by run of consecutive rows."""
        low, high = int(index.min()), int(index.max()) + 1
        if not self._first <= low <= high <= self._first + self._window.shape[0]:
            if high - low > WINDOW_ROWS:
                return self._runs(index)
            self._first = low
            self._window = self.read(low, min(low + WINDOW_ROWS, self.shape[0]))
        return self._window[index - self._first]

    def _runs(self, index: np.ndarray) -> np.ndarray:
        unique, inverse = np.unique(index, return_inverse=True)
        out = np.empty((unique.size, *self.shape[1:]))
        breaks = np.flatnonzero(np.diff(unique) != 1) + 1
        for first, stop in zip(np.concatenate(([0], breaks)), np.concatenate((breaks, [unique.size]))):
            out[first:stop] = self.read(int(unique[first]), int(unique[stop - 1]) + 1)
        return out[inverse.reshape(-1)].reshape(*np.shape(index), *self.shape[1:])


@dataclass(frozen=True)
class Source:
    cells: np.ndarray | CellFile  # (n, plates, 4) newtons; a CellFile reads them as needed
    rate_hz: float
    trial_starts: np.ndarray  # (trials,) sample indices
    trial_names: tuple[str, ...] = ()

    @property
    def plates(self) -> int:
        return self.cells.shape[1]

    def __len__(self) -> int:
        return self.cells.shape[0]

    def rows(self, index: np.ndarray, plates: int | slice = slice(None)) -> np.ndarray:
        """Cell forces at these sample indices, of one plate (…, 4) or all (…, plates, 4)."""
        if isinstance(self.cells, CellFile):
            return self.cells.take(index)[..., plates, :]
        return self.cells[index][..., plates, :]


def _checked_shape(shape: tuple[int, ...]) -> None:
    if len(shape) != 3 or shape[2] != CELLS or shape[0] < 1 or not 1 <= shape[1] <= 2:
        raise SourceError(f"cells must be (samples, 1 or 2 plates, {CELLS}), got {shape}")


def _checked_meta(rate_hz: float, trial_starts: Sequence[int] | None, samples: int) -> np.ndarray:
    if not (np.isfinite(rate_hz) and rate_hz > 0):
        raise SourceError(f"rate_hz must be positive, got {rate_hz}")
    starts = np.asarray([0] if trial_starts is None else trial_starts, dtype=np.int64)
    if starts.size and (np.any(np.diff(starts) <= 0) or starts[0] < 0 or starts[-1] >= samples):
        raise SourceError("trial_starts must increase within the samples")
    return starts


def make_source(cells: np.ndarray, rate_hz: float, trial_starts: Sequence[int] | None = None,
                trial_names: Sequence[str] = ()) -> Source:
    """A checked Source; one plate's (n, 4) cells become (n, 1, 4)."""
    cells = np.asarray(cells, dtype=np.float64)
    if cells.ndim == 2:
        cells = cells[:, None, :]
    _checked_shape(cells.shape)
    if not np.all(np.isfinite(cells)):
        raise SourceError("cells must be finite")
    return Source(cells, float(rate_hz), _checked_meta(rate_hz, trial_starts, len(cells)),
                  tuple(trial_names))


class SourceWriter:
    """A source file written a piece at a time: ``append`` cells (k, plates, 4), then ``close``
    with the trial starts and names. The cells wait in a scratch file beside ``path``."""

    def __init__(self, path: str | Path, rate_hz: float, plates: int) -> None:
        self.path, self.rate_hz, self.plates = Path(path), float(rate_hz), plates
        self.samples = 0
        self._scratch = tempfile.TemporaryFile(dir=self.path.parent, prefix=self.path.name)

    def append(self, cells: np.ndarray) -> None:
        cells = np.asarray(cells, dtype="<f8")
        if cells.ndim != 3 or cells.shape[1:] != (self.plates, CELLS):
            raise SourceError(f"cells must be (samples, {self.plates}, {CELLS}), got {cells.shape}")
        if not np.all(np.isfinite(cells)):
            raise SourceError("cells must be finite")
        self._scratch.write(np.ascontiguousarray(cells).tobytes())
        self.samples += cells.shape[0]

    def close(self, trial_starts: Sequence[int] | None = None,
              trial_names: Sequence[str] = ()) -> Path:
        """Write the file (uncompressed, as ``np.savez``: its cells can be read in place)."""
        try:
            shape = (self.samples, self.plates, CELLS)
            _checked_shape(shape)
            starts = _checked_meta(self.rate_hz, trial_starts, self.samples)
            self._scratch.seek(0)
            with zipfile.ZipFile(self.path, "w", zipfile.ZIP_STORED, allowZip64=True) as archive:
                with archive.open("cells.npy", "w", force_zip64=True) as member:
                    np.lib.format.write_array_header_2_0(member, {
                        "descr": "<f8", "fortran_order": False, "shape": shape})
                    shutil.copyfileobj(self._scratch, member, 1 << 20)
                for name, value in (("rate_hz", np.array(self.rate_hz)), ("trial_starts", starts),
                                    ("trial_names", np.array(list(trial_names), str))):
                    with archive.open(f"{name}.npy", "w", force_zip64=True) as member:
                        np.lib.format.write_array(member, value, allow_pickle=False)
        finally:
            self._scratch.close()
        return self.path

    def __enter__(self) -> "SourceWriter":
        return self

    def __exit__(self, *exc) -> None:
        self._scratch.close()


def write_source(path: str | Path, cells: np.ndarray, rate_hz: float,
                 trial_starts: Sequence[int] | None = None, trial_names: Sequence[str] = ()) -> Path:
    source = make_source(cells, rate_hz, trial_starts, trial_names)
    with SourceWriter(path, source.rate_hz, source.plates) as writer:
        writer.append(source.cells)
        return writer.close(source.trial_starts, source.trial_names)


def read_source(path: str | Path) -> Source:
    """The whole source in memory."""
    try:
        with np.load(path, allow_pickle=False) as data:
            return make_source(data["cells"], float(data["rate_hz"]),
                               data["trial_starts"] if "trial_starts" in data else None,
                               tuple(data["trial_names"]) if "trial_names" in data else ())
    except SourceError:
        raise
    except (OSError, KeyError, EOFError, ValueError) as error:
        raise SourceError(f"cannot read source file {path}: {error}") from None


def open_source(path: str | Path) -> Source:
    """The source with its cells left in the file and read as they are streamed (checked, a
    chunk at a time, here); a compressed file (``np.savez_compressed``) is read whole."""
    path = Path(path)
    try:
        offset, shape = _stored_cells(path)
        if offset is None:
            return read_source(path)
        with np.load(path, allow_pickle=False) as data:
            rate_hz = float(data["rate_hz"])
            starts = data["trial_starts"] if "trial_starts" in data else None
            names = tuple(data["trial_names"]) if "trial_names" in data else ()
    except SourceError:
        raise
    except (OSError, KeyError, EOFError, ValueError, zipfile.BadZipFile, struct.error) as error:
        raise SourceError(f"cannot read source file {path}: {error}") from None
    _checked_shape(shape)
    cells = CellFile(path, offset, shape)
    for first in range(0, shape[0], CHECK_ROWS):
        if not np.all(np.isfinite(cells.read(first, min(first + CHECK_ROWS, shape[0])))):
            raise SourceError("cells must be finite")
    return Source(cells, rate_hz, _checked_meta(rate_hz, starts, shape[0]), names)


def _stored_cells(path: Path) -> tuple[int | None, tuple[int, ...]]:
    """(byte offset of the cells' data in the file, their shape); offset None when the member
    is compressed or not little-endian float64 in C order (then it is read whole)."""
    with zipfile.ZipFile(path) as archive:
        info = archive.getinfo("cells.npy")
    with open(path, "rb") as handle:
        handle.seek(info.header_offset)
        local = handle.read(30)
        if info.compress_type != zipfile.ZIP_STORED or local[:4] != b"PK\x03\x04":
            return None, ()
        name_bytes, extra_bytes = struct.unpack("<HH", local[26:30])
        handle.seek(info.header_offset + 30 + name_bytes + extra_bytes)
        version = np.lib.format.read_magic(handle)
        shape, fortran, dtype = (np.lib.format.read_array_header_1_0 if version == (1, 0)
                                 else np.lib.format.read_array_header_2_0)(handle)
        if fortran or dtype != np.dtype("<f8"):
            return None, ()
        return handle.tell(), tuple(shape)


def builtin_source(rate_hz: float = 1000.0, mass_kg: float = 75.0) -> Source:
    """A countermovement jump on two plates, standing still before and after, to loop."""
    g = 9.80665
    t = np.arange(int(4.0 * rate_hz)) / rate_hz
    bw = mass_kg * g
    dip = np.where((t >= 1.5) & (t < 1.9), -0.6 * np.sin(np.pi * (t - 1.5) / 0.4), 0.0)
    push = np.where((t >= 1.9) & (t < 2.3), 1.3 * np.sin(np.pi * (t - 1.9) / 0.4), 0.0)
    land = np.where((t >= 2.8) & (t < 3.0), 2.5 * np.sin(np.pi * (t - 2.8) / 0.2), 0.0)
    total = bw * (1.0 + dip + push + land)
    total[(t >= 2.3) & (t < 2.8)] = 0.0  # flight
    cells = np.repeat(total[:, None, None] / (2 * CELLS), 2, axis=1).repeat(CELLS, axis=2)
    cells += np.random.default_rng(0).normal(0.0, 0.3, cells.shape)  # sensor noise, N per cell
    return make_source(cells, rate_hz, [0], ("cmj",))
