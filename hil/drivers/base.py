"""The one Plate interface every driver implements, and the errors they raise."""
from __future__ import annotations

import abc
from types import MappingProxyType
from typing import Mapping, Protocol

import numpy as np

from .. import protocol


class PlateError(ValueError):
    """A plate that cannot be reached or used; the CLI prints it as one line (exit 2)."""


class PlateUrlError(PlateError):
    """A plate URL that names no known transport."""


class PlateTimeout(PlateError):
    """The plate did not answer in time."""


class PlateDisconnected(PlateError):
    """The port went away and could not be reopened."""


class PlateCommandError(PlateError):
    """The plate refused a command (SCPI error code and message)."""

    def __init__(self, command: str, code: int, message: str) -> None:
        super().__init__(f"plate refused {command!r}: {code} {message}")
        self.code, self.message = code, message


class Server(Protocol):
    """A process serving the port (e.g. an emulator), if the plate's opener started one: the
    driver asks it why the port died and where it came back, and closes it with the plate."""

    def check(self) -> None:
        """Raise PlateError with the server's last words if it has exited."""

    def next_address(self, timeout: float) -> str:
        """The address it serves on next (after a disconnect), within ``timeout`` seconds."""

    def close(self) -> None:
        """Stop the server."""


class Plate(abc.ABC):
    """A dual (or single) force plate: commands, and the frame bytes it streams."""

    url: str
    plates: int = 2
    channels: int = protocol.CELLS
    reconnects: int = 0  # times the transport went away and came back
    rejected: int = 0  # garbled records the driver threw away before framing (text lines)
    # what our own emulator says it did to the last stream (text lines: lines, dropped, ...)
    injected: Mapping[str, int] = MappingProxyType({})

    @abc.abstractmethod
    def command(self, name: str, *args) -> str | None:
        """Send a logical command (hil.protocol.COMMANDS); its reply, or None for a setting."""

    @abc.abstractmethod
    def read(self, timeout: float) -> bytes:
        """Frame bytes received within ``timeout`` seconds (empty if none came)."""

    @abc.abstractmethod
    def close(self) -> None:
        """Stop streaming if need be, release the port and any server behind it."""

    def identify(self) -> str:
        return self.command("identify")

    def get_rate(self) -> float:
        return float(self.command("rate?"))

    def set_rate(self, hz: float) -> None:
        self.command("rate", hz)

    def tare(self) -> None:
        self.command("tare")

    def start(self) -> None:
        self.command("start")

    def stop(self) -> None:
        self.command("stop")

    correction_file: protocol.Correction | None = None  # from a calibration file: used instead

    def read_calibration(self) -> protocol.Calibration:
        """The plate's calibration with the correction it stores (a calibration file's, if given)."""
        pairs = [protocol.parse_calibration(self.command("cal?", p)) for p in range(self.plates)]
        stored = protocol.Calibration(np.array([s for s, _ in pairs]), np.array([o for _, o in pairs]))
        if self.correction_file is not None:
            return self.with_file(stored)
        rows = []
        for cell in range(self.plates * self.channels):
            try:
                rows.append(protocol.parse_correction(self.command("corr?", cell)))
            except PlateCommandError:  # a plate that stores no correction
                return stored
        quadratic = np.array([q for q, _ in rows]).reshape(self.plates, self.channels)
        matrix = np.array([row for _, row in rows])
        if not np.any(quadratic) and np.array_equal(matrix, np.eye(len(rows))):
            return stored
        return protocol.Calibration(stored.scale, stored.offset, quadratic, matrix)

    def with_file(self, own: protocol.Calibration) -> protocol.Calibration:
        """The plate's own calibration with a calibration file's correction, if one was given."""
        return own if self.correction_file is None else self.correction_file.on(own)

    def write_correction(self, quadratic: np.ndarray, matrix: np.ndarray) -> None:
        """Store a correction: per-cell quadratic (plates, cells) and the N x N matrix."""
        for cell, (q, row) in enumerate(zip(np.ravel(quadratic), np.asarray(matrix))):
            self.command("corr", cell, q, *row)

    def write_calibration(self, plate: int, cell: int, scale: float, offset: float) -> None:
        self.command("cal", plate, cell, scale, offset)

    def playback(self, cells: np.ndarray, rate_hz: float) -> None:
        """Upload a trace (samples, plates, 4) N for the plate to stream once at the next start,
        through its own processing (firmware that implements the protocol's playback)."""
        self.command("playback", rate_hz, protocol.encode_playback(cells))

    def status(self) -> dict[str, str]:
        return protocol.parse_status(self.command("status"))

    def errors(self) -> list[tuple[int, str]]:
        """Drain the plate's error queue."""
        found = []
        for _ in range(64):
            code, message = protocol.parse_error(self.command("error"))
            if code == 0:
                break
            found.append((code, message))
        return found

    def _describe(self) -> None:
        """Learn the plate's shape from its status (after connecting)."""
        status = self.status()
        try:
            self.plates, self.channels = int(status["plates"]), int(status["channels"])
        except (KeyError, ValueError):
            raise PlateError(f"{self.url}: status reply lacks plates/channels: {status}") from None

    def __enter__(self) -> "Plate":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
