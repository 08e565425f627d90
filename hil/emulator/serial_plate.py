"""The emulated plate on a real pseudo-terminal: reach it with pyserial like a USB plate.

The first line on standard output is the port's path (and a new line after each reconnect of
a ``disconnect`` fault). Frames are written as the plate's clock ticks: one write per sample
tick at absolute deadlines in real time, or batches as fast as the reader takes them (fast).
"""
from __future__ import annotations

import os
import selectors
import sys
import time
import tty
from typing import TextIO

import numpy as np

from .. import protocol
from .device import Chunk, DeviceError, EmulatedPlate
from .timing import TimingLog

READ_BYTES = 4096
FAST_BATCH_TICKS = 1024
FAST_HIGH_WATER = 128 * 1024  # fast mode makes more frames only when the backlog is below this
BACKLOG_LIMIT = 8 * 1024 * 1024  # real time: a reader that stops reading loses frames past this
IDLE_POLL_S = 0.2
TRAILING_S = 0.1  # defect "trailing": frames after OK STOPPED
SILENT_LOSS_BACKLOG = 16 * 1024  # defect "silent-loss": a small buffer that drops uncounted
BURST_NS = 100_000_000  # defect "burst": writes this far apart


class PtyPort:
    """A pseudo-terminal pair in raw mode; we keep the slave open so readers may come and go."""

    def __init__(self) -> None:
        self.master, self.slave = os.openpty()
        tty.setraw(self.slave)
        os.set_blocking(self.master, False)
        self.path = os.ttyname(self.slave)

    def close(self) -> None:
        os.close(self.master)
        os.close(self.slave)


class SerialFrontEnd:
    fast_batch_ticks, fast_high_water = FAST_BATCH_TICKS, FAST_HIGH_WATER

    def __init__(self, plate: EmulatedPlate, fast: bool = False, timing_log: str | None = None,
                 announce: TextIO = sys.stdout, watch_stdin: bool = False) -> None:
        self.plate, self.fast, self.announce = plate, fast, announce
        self.log = TimingLog(timing_log) if timing_log else None
        self.watch_stdin = watch_stdin
        self.port = PtyPort()
        self.inbox = b""
        self.outbox = bytearray()
        self.written = 0  # bytes written since start
        self.pending: list[tuple[np.ndarray, np.ndarray]] = []  # (tick end offsets, counters) to log
        self.t0 = 0  # monotonic ns of tick 0
        self.blocked_until = 0  # a stall: no writes before this
        self.stall_marks: list[tuple[int, int]] = []  # (byte offset, ns): stalls not yet begun
        self.stalls = self.disconnects = []
        self.last_burst = self.trailing_until = 0
        self.neighbours: list = []  # callables that register their sockets with our selector

    def serve(self) -> None:
        print(self.port.path, file=self.announce, flush=True)
        selector = selectors.SelectSelector()  # select() waits in µs; epoll rounds up to ms
        selector.register(self.port.master, selectors.EVENT_READ, "port")
        if self.watch_stdin:
            selector.register(sys.stdin, selectors.EVENT_READ, "stdin")
        for attach in self.neighbours:  # other devices served in this loop (the stimulus rig)
            attach(selector)
        while True:
            now = time.monotonic_ns()
            writable = bool(self.outbox) and now >= self.blocked_until
            selector.modify(self.port.master, selectors.EVENT_READ
                            | (selectors.EVENT_WRITE if writable else 0), "port")
            for key, events in selector.select(self._timeout(now)):
                if callable(key.data):  # a neighbour's socket: its own handler
                    key.data(key.fileobj)
                elif key.data == "stdin":
                    if not os.read(sys.stdin.fileno(), 1024):
                        return  # our parent went away
                elif events & selectors.EVENT_READ:
                    self._read()
            if self.plate.streaming or time.monotonic_ns() < self.trailing_until:
                disconnect = self._make_due(time.monotonic_ns())
                if disconnect:
                    selector.unregister(self.port.master)
                    self._disconnect(*disconnect)
                    selector.register(self.port.master, selectors.EVENT_READ, "port")
            self._write()

    def _timeout(self, now: int) -> float:
        if self.outbox and now < self.blocked_until:
            return (self.blocked_until - now) / 1e9
        if not self.plate.streaming and now >= self.trailing_until:
            return IDLE_POLL_S
        if self.fast:
            return 0.0 if len(self.outbox) < self.fast_high_water else IDLE_POLL_S
        deadline = self.t0 + (self.plate.ticks * 1_000_000_000) / self.plate.tick_rate_hz
        return max(0.0, (deadline - now) / 1e9)

    def _read(self) -> None:
        try:
            data = os.read(self.port.master, READ_BYTES)
        except BlockingIOError:
            return
        except OSError:  # EIO: nobody has the port open; we keep the slave, so it is rare
            return
        self.inbox += data
        while True:
            try:
                found = protocol.split_command(self.inbox)
            except protocol.ProtocolError as error:  # a malformed block: skip to the line's end
                self.outbox += f"ERR {protocol.format_error(-160, str(error))}\n".encode()
                self.inbox = self.inbox.partition(b"\n")[2]
                continue
            if found is None:
                return
            line, payload, self.inbox = found
            if line.strip():
                self._command(line, payload)

    def _command(self, line: bytes, payload: bytes | None = None) -> None:
        plate = self.plate
        was_streaming = plate.streaming
        try:
            name, args = protocol.parse_command(line, "serial", payload)
            if plate.streaming and name != "stop" and "busy" not in plate.defects:
                raise DeviceError(-200, "Execution error; streaming")
            reply = plate.execute(name, args)
        except (protocol.ProtocolError, DeviceError) as error:
            if "errors" in plate.defects and not isinstance(error, DeviceError):
                self.outbox += b"OK\n"
                return
            error = error if isinstance(error, DeviceError) else DeviceError(-113, str(error))
            if plate.streaming:  # a reply now would land inside the frame stream: queue it
                plate.refuse(error)
            else:
                self.outbox += f"ERR {protocol.format_error(error.code, error.message)}\n".encode()
            return
        if name == "start":
            self.t0 = time.monotonic_ns()
            self.arm_faults()
        elif name == "stop":
            self.outbox += protocol.STOPPED_LINE
            if "trailing" in plate.defects and was_streaming:  # the clock runs on a while
                self.trailing_until = time.monotonic_ns() + int(TRAILING_S * 1e9)
            return
        self.outbox += ((reply if reply is not None else "OK") + "\n").encode()

    def arm_faults(self) -> None:
        """Take the plate's stall and disconnect windows (from a start on, in its ticks)."""
        self.stalls = self.plate.fault_windows("stall")
        self.disconnects = self.plate.fault_windows("disconnect")

    def _make_due(self, now: int) -> tuple[int, float] | None:
        """Make the ticks that are due; a disconnect fault reached is returned, not made."""
        plate = self.plate
        if self.fast:
            if len(self.outbox) >= self.fast_high_water:
                return None
            count = self.fast_batch_ticks
        else:
            count = int((now - self.t0) * plate.tick_rate_hz // 1_000_000_000) + 1 - plate.ticks
        for at, seconds in self.disconnects:
            if plate.ticks <= at < plate.ticks + count:
                count = at - plate.ticks
                if count == 0:
                    self.disconnects = [d for d in self.disconnects if d[0] != at]
                    return at, seconds
        for at, seconds in self.stalls:
            if at == plate.ticks and count > 0:  # begins once the bytes queued so far are out
                self.stall_marks.append((self.written + len(self.outbox), int(seconds * 1e9)))
            elif plate.ticks < at < plate.ticks + count:
                count = at - plate.ticks
        if count <= 0:
            return None
        chunk = plate.make(count)
        data, ends = self._encode(chunk)
        silent = "silent-loss" in plate.defects
        if not self.fast and len(self.outbox) + len(data) > (SILENT_LOSS_BACKLOG if silent else BACKLOG_LIMIT):
            plate.overflow += 0 if silent else chunk.tick_counters.size
            return None
        self.outbox += data
        self.pending.append((self.written + len(self.outbox) - len(data) + ends, chunk.tick_counters))
        return None

    def _encode(self, chunk: Chunk) -> tuple[bytes, np.ndarray]:
        """The bytes on the wire for a chunk of frames (a text plate prints lines instead), and
        where each tick's bytes end in them (sorted: the timing log is written per tick)."""
        return chunk.data, chunk.tick_ends

    def _write(self) -> None:
        if not self.outbox or time.monotonic_ns() < self.blocked_until:
            return
        now = time.monotonic_ns()  # before the write: the reader may run before it returns
        if "burst" in self.plate.defects and self.plate.streaming:
            if now - self.last_burst < BURST_NS:
                return
            self.last_burst = now
        data = self.outbox[:self.stall_marks[0][0] - self.written] if self.stall_marks else self.outbox
        try:
            n = os.write(self.port.master, data) if data else 0
        except BlockingIOError:
            return
        self.written += n
        del self.outbox[:n]
        if self.stall_marks and self.written == self.stall_marks[0][0]:
            self.blocked_until = time.monotonic_ns() + self.stall_marks.pop(0)[1]
        while self.pending:  # each tick is logged by the write that carried its last byte
            ends, counters = self.pending[0]
            done = int(np.searchsorted(ends, self.written, side="right"))
            if done and self.log:
                self.log.record(counters[:done], now)
            if done < counters.size:
                self.pending[0] = (ends[done:], counters[done:])
                break
            self.pending.pop(0)

    def _disconnect(self, at: int, seconds: float) -> None:
        """Pull the cable: the port vanishes, frames meanwhile are lost, a new port appears."""
        self.port.close()
        self.outbox.clear()
        self.written, self.pending, self.stall_marks = 0, [], []
        until = time.monotonic_ns() + int(seconds * 1e9)
        time.sleep(seconds)
        plate = self.plate
        lost = int(seconds * plate.rate_hz) if self.fast else \
            int((until - self.t0) * plate.rate_hz // 1_000_000_000) + 1 - plate.ticks
        plate.make(max(0, lost), lost=True)
        self.port = PtyPort()
        print(self.port.path, file=self.announce, flush=True)
