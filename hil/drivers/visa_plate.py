"""A plate that speaks SCPI through pyvisa: any VISA resource, pyvisa-py or pyvisa-sim."""
from __future__ import annotations

import re
import time

import pyvisa

from .. import protocol
from .base import PlateCommandError, PlateDisconnected, PlateError, Plate, PlateTimeout, Server

POLL_S = 0.001  # between empty fetches


def _reason(error: Exception) -> str:
    """The useful line(s) of a VISA back end's error: backends wrap whole tracebacks in the
    message (pyvisa-sim's YAML errors); keep the last exception's text, not the frames."""
    text = re.sub(r"\\+'", "'", re.sub(r"\\+n", "\n", str(error)))  # escaped, once or twice
    lines = [line.strip(" '\"") for line in text.splitlines()]
    lines = [line for line in lines if line and not line.startswith(("Traceback", "File ", "^"))]
    last = max((i for i, line in enumerate(lines) if "Error:" in line or "Exception:" in line),
               default=0)
    kept = lines[last:last + 3] or [type(error).__name__]
    kept[0] = kept[0].split("Error: ", 1)[-1].split("Exception: ", 1)[-1]
    return " ".join(kept)


class VisaPlate(Plate):
    def __init__(self, resource: str, backend: str = "@py", timeout: float = 5.0,
                 server: Server | None = None) -> None:
        self.url = resource if backend == "@py" else f"{resource}@{backend.lstrip('@')}"
        self.resource_name, self.timeout, self.server = resource, timeout, server
        try:
            self.manager = pyvisa.ResourceManager(backend)
        except Exception as error:  # noqa: BLE001 - pyvisa-sim raises YAML errors, and others
            raise PlateError(f"cannot load VISA backend {backend!r}: {_reason(error)}") from None
        try:
            self.instrument = self._open()
            self._describe()
        except PlateError:
            self.close()
            raise
        except protocol.ProtocolError as error:
            self.close()
            raise PlateError(f"{self.url} answered, but not as a force plate: {error}") from None

    def _open(self):
        try:
            instrument = self.manager.open_resource(self.resource_name, open_timeout=int(self.timeout * 1000))
        except Exception as error:  # noqa: BLE001 - pyvisa-py raises a bare Exception too
            raise PlateError(f"cannot open VISA resource {self.resource_name}: {_reason(error)}") from None
        instrument.read_termination = instrument.write_termination = "\n"
        instrument.timeout = int(self.timeout * 1000)
        return instrument

    def command(self, name: str, *args) -> str | None:
        raw = protocol.format_command(name, *args, dialect="scpi")
        line = raw.decode("ascii", "replace").rstrip("\n")
        try:
            if bytes in protocol.COMMANDS[name].args:  # a data block: sent as bytes
                self.instrument.write_raw(raw)
            elif protocol.COMMANDS[name].query:
                reply = self.instrument.query(line).strip()
                if reply:
                    return reply
            else:
                self.instrument.write(line)
            code, message = protocol.parse_error(self.instrument.query("SYST:ERR?"))
        except pyvisa.errors.VisaIOError as error:
            raise self._io_error(name, error) from None
        except OSError as error:  # pyvisa-py lets socket errors through
            raise PlateDisconnected(f"{self.url}: cannot reach the plate: {error}") from None
        if code:
            raise PlateCommandError(name, code, message)
        return None

    def _io_error(self, name: str, error: pyvisa.errors.VisaIOError) -> PlateError:
        if error.error_code == pyvisa.constants.StatusCode.error_timeout:
            return PlateTimeout(f"plate at {self.url} did not answer {name!r} "
                                f"within {self.timeout:g} s")
        return PlateDisconnected(f"{self.url}: {error}")

    def read(self, timeout: float) -> bytes:
        """Fetch the plate's buffer; poll until something comes or ``timeout`` passes."""
        deadline = time.monotonic() + timeout
        while True:
            reconnects = self.reconnects
            data = self._fetch()
            if self.reconnects != reconnects:  # back after a disconnect: wait afresh
                deadline = time.monotonic() + timeout
            elif data or time.monotonic() >= deadline:
                return data
            else:
                time.sleep(POLL_S)

    def _fetch(self) -> bytes:
        try:
            self.instrument.write("FETC?")
            head = self.instrument.read_bytes(2)
            lengths = protocol.block_length(head + self.instrument.read_bytes(int(head[1:2])))
            header, length = lengths
            payload = self.instrument.read_bytes(length + 1)  # the block, then "\n"
        except pyvisa.errors.VisaIOError as error:
            return self._reconnect(error)
        except (ConnectionError, OSError) as error:
            return self._reconnect(error)
        except (protocol.ProtocolError, ValueError, TypeError):
            raise PlateError(f"{self.url}: malformed FETC? reply") from None
        return payload[:length]

    def _reconnect(self, error: Exception) -> bytes:
        """Reopen after a dropped connection when a server behind it comes back; else fatal."""
        if self.server is None:
            raise PlateDisconnected(f"{self.url}: {error}") from None
        deadline = time.monotonic() + self.timeout
        try:
            self.instrument.close()
        except (pyvisa.Error, OSError):
            pass
        while time.monotonic() < deadline:
            try:
                self.instrument = self._open()
                self.instrument.query("*IDN?")
                self.reconnects += 1
                return b""
            except (PlateError, pyvisa.Error, OSError):
                time.sleep(0.05)
        raise PlateDisconnected(f"{self.url}: connection lost and not back within {self.timeout:g} s")

    def close(self) -> None:
        close_visa(getattr(self, "instrument", None), self.manager, self.server)


def close_visa(instrument, manager, server) -> None:
    """Close a VISA session, its resource manager and the server behind it, whatever fails."""
    try:
        if instrument is not None:
            instrument.close()
    except (pyvisa.Error, OSError):
        pass
    finally:
        if manager is not None:
            manager.close()
        if server is not None:
            server.close()
