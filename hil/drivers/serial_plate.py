"""A plate on any pyserial URL: a device path, ``socket://``, ``rfc2217://``, ``loop://``."""
from __future__ import annotations

import time

import serial

from .. import protocol
from .base import PlateCommandError, PlateDisconnected, PlateError, Plate, PlateTimeout, Server

MAX_READ = 1 << 16
PORT_ERRORS = (serial.SerialException, OSError)  # what a port that went away raises


def read_arrived(port: serial.SerialBase, timeout: float) -> bytes:
    """Wait up to ``timeout`` for a first byte, then take all that has arrived (up to
    MAX_READ); a port that went away raises one of PORT_ERRORS."""
    port.timeout = max(0.0, timeout)
    data = port.read(1)
    if data:
        data += port.read(min(port.in_waiting, MAX_READ))
    return data

# the shortest wait for a server to reopen its port: a process on a loaded machine may take
# seconds, which says nothing about the plate's answer time
RECONNECT_S = 10.0


class SerialPlate(Plate):
    def __init__(self, url: str, timeout: float = 5.0, server: Server | None = None,
                 baudrate: int = 921_600) -> None:
        self.url, self.timeout, self.server, self.baudrate = url, timeout, server, baudrate
        self._pending = b""  # frame bytes read while looking for a reply
        self.streaming = False
        self.port = self._open(url)
        try:
            self.stop()  # a plate left streaming by someone else answers only STOP
            self._describe()
        except PlateError:
            self.close()
            raise

    def _open(self, url: str) -> serial.SerialBase:
        try:
            return serial.serial_for_url(url, baudrate=self.baudrate, timeout=self.timeout,
                                         write_timeout=self.timeout, exclusive=None)
        except (serial.SerialException, ValueError) as error:
            raise PlateError(f"cannot open serial port {url}: {error}") from None

    def command(self, name: str, *args) -> str | None:
        if self.streaming and name != "stop":
            raise PlateError(f"{self.url}: the plate is streaming; stop it before {name!r}")
        if name == "stop":
            self._stop()
            return None
        self._send(protocol.format_command(name, *args, dialect="serial"))
        reply = self._line(name)
        if reply.startswith("ERR "):
            raise PlateCommandError(name, *protocol.parse_error(reply[4:]))
        if name == "start":
            self.streaming = True
        if protocol.COMMANDS[name].query:
            return reply
        if reply != "OK":
            raise PlateError(f"{self.url}: unexpected reply to {name!r}: {reply!r}")
        return None

    def _send(self, line: bytes) -> None:
        try:
            self.port.write(line)
            self.port.flush()
        except serial.SerialException as error:
            raise PlateDisconnected(f"{self.url}: write failed: {error}") from None

    def _line(self, name: str) -> str:
        self.port.timeout = self.timeout
        try:
            raw = self.port.read_until(b"\n")
        except serial.SerialException as error:
            if self.server:
                self.server.check()
            raise PlateDisconnected(f"{self.url}: read failed: {error}") from None
        if not raw.endswith(b"\n"):
            raise PlateTimeout(f"plate at {self.url} did not answer {name!r} "
                               f"within {self.timeout:g} s")
        return raw.decode("ascii", "replace").strip()

    def _stop(self) -> None:
        """STOP, then keep the frames that arrive before the ``OK STOPPED`` line."""
        self._send(protocol.format_command("stop", dialect="serial"))
        deadline = time.monotonic() + self.timeout
        buffer = b""
        while protocol.STOPPED_LINE not in buffer:
            if time.monotonic() > deadline:
                raise PlateTimeout(f"plate at {self.url} did not answer 'stop' "
                                   f"within {self.timeout:g} s")
            buffer += self._read_some(min(0.1, self.timeout))
        frames, _, _ = buffer.partition(protocol.STOPPED_LINE)
        self._pending += frames
        self.streaming = False

    def read(self, timeout: float) -> bytes:
        if self._pending:
            data, self._pending = self._pending, b""
            return data
        return self._read_some(timeout)

    def _read_some(self, timeout: float) -> bytes:
        while True:
            try:
                return read_arrived(self.port, timeout)
            except PORT_ERRORS as error:
                self._reconnect(error)  # back after a disconnect: wait afresh

    def _reconnect(self, error: Exception) -> None:
        """A server behind the port announces its new address after a disconnect; else fatal."""
        if self.server is None:
            raise PlateDisconnected(f"{self.url}: {error}") from None
        self.server.check()
        self.port.close()
        self.url = self.server.next_address(max(self.timeout, RECONNECT_S))
        self.port = self._open(self.url)
        self.reconnects += 1

    def close(self) -> None:
        try:
            if self.streaming and self.port.is_open:
                self._stop()
        except PlateError:
            pass  # closing anyway
        finally:
            self.port.close()
            if self.server:
                self.server.close()
