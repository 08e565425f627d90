"""A text-line plate (home-built: load cells, HX711/ADS1256, a microcontroller printing lines)
on any pyserial URL, read as the plate file says (hil.text_format).

Lines become forcebench frames (hil.protocol) with the line's sample index as counter, so the
acquisition treats them like any plate's: a missing index is a gap, an index that goes back is
late (out of order), and a garbled line is counted in ``rejected`` (acquisition: corrupt).
Everything the firmware lacks is done on the host: identification from the plate file, tare
from the median of a quarter second of unloaded samples, the calibration table. Our own emulator
(``emulated+text:``) also takes the emulated calibration rig's ``load``, so that ``forcebench
calibrate`` runs unattended; a real text plate has no rig (``--operator``).
"""
from __future__ import annotations

import time

import numpy as np
import serial

from .. import protocol
from ..text_format import TIME_COLUMNS, TextPlateFile
from .base import Plate, PlateCommandError, PlateDisconnected, PlateError, PlateTimeout
from .serial_plate import PORT_ERRORS, read_arrived

QUIET_S = 0.05  # after stop: a line-printing plate is done when silent this long
TARE_S = 0.25
ANNOUNCE_POLL_S = 0.001  # while stopping, between reads of the port


class TextPlate(Plate):
    def __init__(self, layout: TextPlateFile, url: str, timeout: float = 5.0,
                 server=None, baudrate: int = 921_600) -> None:
        self.layout, self.url, self.timeout, self.server = layout, url, timeout, server
        self.plates, self.channels = layout.plates, protocol.CELLS
        self.calibration = protocol.Calibration(layout.scale.copy(), layout.offset.copy())
        self.streaming = False
        self.rejected = 0  # garbled lines
        self.lines = 0
        self.injected: dict[str, int] = {}  # what our own emulator did to the lines
        self._inbox = b""
        self._pending = b""  # frames made from lines read while stopping
        self._mid_line = False  # reading began inside a line (a plate that always prints)
        self._reset_counter()
        try:
            self.port = serial.serial_for_url(url, baudrate=baudrate, timeout=timeout,
                                              write_timeout=timeout, exclusive=None)
        except (serial.SerialException, ValueError) as error:
            raise PlateError(f"cannot open serial port {url}: {error}") from None
        try:
            self.stop()  # a plate left streaming: quiet it, forget what it printed
            self._pending = b""
        except PlateError:
            self.close()
            raise

    def _reset_counter(self) -> None:
        self._last_raw: int | None = None  # last in-order raw counter or device time
        self._unwrapped = 0
        self._counted = -1

    # --- commands ---------------------------------------------------------------------------

    def command(self, name: str, *args) -> str | None:
        layout = self.layout
        if self.streaming and name not in ("stop", "status", "error", "identify", "rate?"):
            raise PlateError(f"{self.url}: the plate is streaming; stop it before {name!r}")
        if name == "identify":
            return self._identify()
        if name == "rate?":
            return f"{layout.rate_hz:g}"
        if name == "rate":
            if float(args[0]) != layout.rate_hz:
                raise PlateCommandError(name, -222, f"this text plate runs at {layout.rate_hz:g} Hz only")
            return None
        if name == "tare":
            self._tare()
        elif name == "start":
            self._reset_counter()
            self._inbox = b""
            if not self._send("start"):  # a plate that always prints: from its next whole line
                self.port.reset_input_buffer()
                self._mid_line = True
            self.streaming = True
        elif name == "stop":
            self._stop()
        elif name == "reset":
            self.calibration = protocol.Calibration(layout.scale.copy(), layout.offset.copy())
        elif name == "cal?":
            plate = self._plate(args[0])
            return protocol.format_calibration(self.calibration.scale[plate],
                                               self.calibration.offset[plate])
        elif name == "cal":
            plate, cell, scale, offset = self._plate(args[0]), int(args[1]), args[2], args[3]
            if not 0 <= cell < protocol.CELLS or not (np.isfinite(scale) and scale > 0):
                raise PlateCommandError(name, -222, "Data out of range; cell or scale")
            self.calibration.scale[plate, cell], self.calibration.offset[plate, cell] = scale, offset
        elif name == "status":
            fields = {"state": "streaming" if self.streaming else "idle",
                      "rate": f"{layout.rate_hz:g}", "plates": self.plates,
                      "channels": self.channels, "lines": self.lines, "garbled": self.rejected}
            if self.injected:  # our emulator's own count, in frames like a binary plate's
                fields.update(sent=(self.injected["lines"] - self.injected["dropped"]) * self.plates,
                              dropped=self.injected["dropped"] * self.plates,
                              **{f"injected_{k}": v for k, v in self.injected.items()})
            return protocol.format_status(fields)
        elif name == "error":
            return protocol.format_error(0, "No error")
        elif name == "load" and self.server is not None:  # our emulator's calibration rig
            self._write(protocol.format_command(name, *args, dialect="serial"))
        else:
            raise PlateCommandError(name, -113, f"a text plate has no {name!r}")
        return None

    def _plate(self, plate: int) -> int:
        if not 0 <= plate < self.plates:
            raise PlateCommandError("cal", -222, f"Data out of range; plate {plate}")
        return plate

    def read_calibration(self) -> protocol.Calibration:
        return self.with_file(protocol.Calibration(self.calibration.scale.copy(),
                                                   self.calibration.offset.copy()))

    def _send(self, name: str) -> bool:
        """The firmware's line for a command, if it has one."""
        text = self.layout.commands.get(name)
        if text is None:
            return False
        self._write(text.encode("ascii") + b"\n")
        return True

    def _write(self, line: bytes) -> None:
        try:
            self.port.write(line)
            self.port.flush()
        except serial.SerialException as error:
            raise PlateDisconnected(f"{self.url}: write failed: {error}") from None

    def _identify(self) -> str:
        fallback = f"text plate {self.layout.path} ({self.plates}x4 cells, {self.layout.rate_hz:g} Hz)"
        if self.streaming or not self._send("identify"):
            return fallback
        deadline = time.monotonic() + self.timeout
        while time.monotonic() < deadline:
            self.port.timeout = max(0.0, deadline - time.monotonic())
            line = self.port.read_until(b"\n")
            if not line.endswith(b"\n"):
                break
            if line.strip() and self.layout.parse_line(line) is None:  # not a stray data line
                return line.decode("ascii", "replace").strip()
        raise PlateTimeout(f"text plate at {self.url} did not answer 'identify' within {self.timeout:g} s")

    def _tare(self) -> None:
        """The firmware's tare (its counts are zero-based after it), else the host's: the median
        of a quarter second of samples (the plate must be unloaded)."""
        if self._send("tare"):
            self.calibration = protocol.Calibration(self.calibration.scale,
                                                    np.zeros_like(self.calibration.offset))
            return
        self.command("start")
        frames = protocol.decode_all(b"".join(self._collect(TARE_S))).frames
        self.command("stop")
        frames = np.concatenate((frames, protocol.decode_all(self._pending).frames))
        self._pending = b""
        if frames.size == 0:
            raise PlateTimeout(f"text plate at {self.url} sent no sample to tare on")
        offset = self.calibration.offset.copy()
        for plate in range(self.plates):
            mine = frames["counts"][frames["plate"] == plate]
            if mine.size:
                offset[plate] = np.median(mine, axis=0)
        self.calibration = protocol.Calibration(self.calibration.scale, offset)

    def _collect(self, seconds: float) -> list[bytes]:
        deadline, chunks = time.monotonic() + seconds, []
        while time.monotonic() < deadline:
            chunks.append(self.read(max(0.0, deadline - time.monotonic())))
        if not any(chunks):
            raise PlateTimeout(f"text plate at {self.url} printed nothing within {seconds:g} s of start")
        return chunks

    def _stop(self) -> None:
        """Stop, and keep the samples printed until the plate falls quiet (our own emulator
        also announces when the stream's last line is out: quiet alone may be a pause of a
        loaded machine). A plate without a stop command prints for ever: we stop reading and
        forget what it prints meanwhile."""
        if not self._send("stop"):
            self.streaming = False
            return
        deadline = time.monotonic() + self.timeout
        waiting = self.streaming and self.server is not None
        while True:
            data = self._read_some(QUIET_S)
            if self.streaming and data:
                self._pending += self._frames(data)
            if waiting:
                waiting = not self._read_injected()
            elif not data:
                break
            if time.monotonic() > deadline:
                raise PlateTimeout(f"text plate at {self.url} kept printing "
                                   f"{self.timeout:g} s after 'stop'")
        self.streaming = False

    def _read_injected(self) -> bool:
        """Our own emulator's announcement at the end of a stream, if it has come: what it did
        to the lines (``injected lines=N dropped=D ...``)."""
        try:
            line = self.server.next_address(ANNOUNCE_POLL_S)
        except PlateTimeout:
            return False
        except PlateError:  # the emulator has gone: nothing more will come
            return True
        if not line.startswith("injected "):
            return False
        self.injected = {k: int(v) for k, v in (item.split("=") for item in line.split()[1:])}
        return True

    # --- data -------------------------------------------------------------------------------

    def read(self, timeout: float) -> bytes:
        if self._pending:
            data, self._pending = self._pending, b""
            return data
        if not self.streaming:
            return b""
        deadline = time.monotonic() + timeout
        while True:  # bytes that finish no good line are no data yet
            frames = self._frames(self._read_some(max(0.0, deadline - time.monotonic())))
            if frames or time.monotonic() >= deadline:
                return frames

    def _read_some(self, timeout: float) -> bytes:
        try:
            return read_arrived(self.port, timeout)
        except PORT_ERRORS as error:
            if self.server is not None:
                self.server.check()
            raise PlateDisconnected(f"{self.url}: {error}") from None

    def _frames(self, data: bytes) -> bytes:
        """Complete lines → frames; the incomplete end waits for the next call."""
        *lines, self._inbox = (self._inbox + data).split(b"\n")
        if self._mid_line and lines:  # the first piece began mid-line: not a line to judge
            lines, self._mid_line = lines[1:], False
        counters, rows = [], []
        for line in lines:
            if not line.strip():
                continue
            self.lines += 1
            parsed = self.layout.parse_line(line)
            if self.layout.time_column is None:
                self._counted += 1  # a garbled line still took its sample's place
            if parsed is None:
                self.rejected += 1
                continue
            stamp, counts = parsed
            counters.append(self._index(stamp))
            rows.append(counts)
        if not rows:
            return b""
        counts = np.rint(np.array(rows)).clip(-(2**31 - 1), 2**31 - 1).astype(np.int32)
        counters = np.repeat(np.array(counters, dtype=np.int64), self.plates)
        plates = np.tile(np.arange(self.plates), len(rows))
        return protocol.encode_frames(plates, counters, counts.reshape(-1, protocol.CELLS))

    def _index(self, stamp: int | None) -> int:
        """The sample index of a line: its counter or device time, unwrapped; or its count."""
        layout = self.layout
        if stamp is None:
            return self._counted
        if self._last_raw is None:
            self._last_raw, self._unwrapped = stamp, stamp
        step = (stamp - self._last_raw) % layout.counter_modulus
        if step > layout.counter_modulus // 2:  # went back: out of order, the reference stays
            unwrapped = self._unwrapped - (layout.counter_modulus - step)
        else:
            unwrapped = self._unwrapped + step
            self._last_raw, self._unwrapped = stamp, unwrapped
        unit = TIME_COLUMNS[layout.time_column]
        return unwrapped if unit is None else int(round(unwrapped * unit * layout.rate_hz))

    def close(self) -> None:
        try:
            if self.streaming and self.port.is_open:
                self._stop()
        except PlateError:
            pass
        finally:
            self.port.close()
            if self.server is not None:
                self.server.close()
