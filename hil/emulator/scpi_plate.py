"""The emulated plate as an SCPI instrument on TCP (``TCPIP::host::port::SOCKET`` for pyvisa).

The first line on standard output is the VISA resource string (``--port 0`` picks a free port).
After ``INIT`` the plate fills its buffer on its own clock (real time, or as fast as the buffer
empties); ``FETC?`` hands the buffer over as an IEEE 488.2 definite-length block of frames.
"""
from __future__ import annotations

import os
import selectors
import socket
import sys
import time
from typing import TextIO

import numpy as np

from .. import protocol
from .device import DeviceError, EmulatedPlate
from .timing import TimingLog

IDLE_POLL_S = 0.2
BUFFER_SECONDS = 30.0  # a client that never fetches loses frames past this


class ScpiFrontEnd:
    def __init__(self, plate: EmulatedPlate, host: str = "127.0.0.1", port: int = 0,
                 fast: bool = False, timing_log: str | None = None,
                 announce: TextIO = sys.stdout, watch_stdin: bool = False) -> None:
        self.plate, self.fast, self.announce = plate, fast, announce
        self.log = TimingLog(timing_log) if timing_log else None
        self.watch_stdin = watch_stdin
        self.listener = socket.create_server((host, port), reuse_port=False)
        self.listener.setblocking(False)
        self.clients: dict[socket.socket, bytearray] = {}
        self.buffer = bytearray()
        self.t0 = 0
        self.paused_until = 0  # stall: no answers; disconnect: no connections
        self.drop_all = self.disconnected = False
        self.stalls = self.disconnects = []
        self.frame_bytes = protocol.frame_size() * plate.plates

    @property
    def resource(self) -> str:
        host, port = self.listener.getsockname()[:2]
        return f"TCPIP::{host}::{port}::SOCKET"

    def serve(self) -> None:
        print(self.resource, file=self.announce, flush=True)
        self.selector = selectors.SelectSelector()  # select() waits in µs; epoll rounds up to ms
        self.selector.register(self.listener, selectors.EVENT_READ, "listen")
        if self.watch_stdin:
            self.selector.register(sys.stdin, selectors.EVENT_READ, "stdin")
        while True:
            if time.monotonic_ns() < self.paused_until:  # stalled: answer nobody, clock runs on
                time.sleep(min(self._timeout(), 0.01))
                if self.plate.streaming and not self.fast:
                    self._make_due(time.monotonic_ns(), lost=self.disconnected)
                continue
            self.disconnected = False
            for key, _ in self.selector.select(self._timeout()):
                if key.data == "stdin":
                    if not os.read(sys.stdin.fileno(), 1024):
                        return
                elif key.data == "listen":
                    client, _ = self.listener.accept()
                    client.setblocking(True)
                    client.settimeout(5.0)
                    self.clients[client] = bytearray()
                    self.selector.register(client, selectors.EVENT_READ, "client")
                else:
                    self._serve_client(key.fileobj)
            if self.plate.streaming and not self.fast:
                self._make_due(time.monotonic_ns())

    def _timeout(self) -> float:
        now = time.monotonic_ns()
        if now < self.paused_until:
            return (self.paused_until - now) / 1e9
        if not self.plate.streaming:
            return IDLE_POLL_S
        if self.fast:  # fast: frames are made when fetched
            return IDLE_POLL_S
        deadline = self.t0 + self.plate.ticks * 1_000_000_000 / self.plate.rate_hz
        return max(0.0, (deadline - now) / 1e9)

    def _serve_client(self, client: socket.socket) -> None:
        try:
            data = client.recv(4096)
        except OSError:
            data = b""
        if not data:
            self._drop_client(client)
            return
        inbox = self.clients[client]
        inbox += data
        while True:
            try:
                found = protocol.split_command(bytes(inbox))
            except protocol.ProtocolError as error:  # a malformed block: skip to the line's end
                self.plate.refuse(DeviceError(-160, str(error)))
                inbox[:] = bytes(inbox).partition(b"\n")[2]
                continue
            if found is None:
                return
            line, payload, rest = found
            inbox[:] = rest
            if line.strip():
                reply = self._command(line, payload)
                if reply is not None:
                    try:
                        client.sendall(reply)
                    except OSError:
                        self._drop_client(client)
                        return
                if self.drop_all:
                    self.drop_all = False
                    for other in list(self.clients):
                        self._drop_client(other)
                    return

    def _drop_client(self, client: socket.socket) -> None:
        self.selector.unregister(client)
        self.clients.pop(client, None)
        client.close()

    def _command(self, line: bytes, payload: bytes | None = None) -> bytes | None:
        plate = self.plate
        try:
            name, args = protocol.parse_command(line, "scpi", payload)
            if name == "fetch":
                return self._fetch()
            reply = plate.execute(name, args)
        except (protocol.ProtocolError, DeviceError) as error:
            error = error if isinstance(error, DeviceError) else DeviceError(-113, str(error))
            plate.refuse(error)
            query = line.split(b" ")[0].endswith(b"?")
            return b"\n" if query else None  # a refused query still answers, with nothing
        if name in ("start", "stop", "reset"):
            self.buffer.clear()
        if name == "start":
            self.t0 = time.monotonic_ns()
            self.stalls = plate.fault_windows("stall")
            self.disconnects = plate.fault_windows("disconnect")
        return None if reply is None else reply.encode() + b"\n"

    def _fetch(self) -> bytes:
        if self.fast and self.plate.streaming:
            self._make_due(time.monotonic_ns())
        take = min(len(self.buffer), protocol.FETCH_MAX_FRAMES * protocol.frame_size())
        payload = bytes(self.buffer[:take])
        del self.buffer[:take]
        return protocol.block(payload) + b"\n"

    def _make_due(self, now: int, lost: bool = False) -> None:
        plate = self.plate
        if self.fast:
            count = protocol.FETCH_MAX_FRAMES // self.plate.plates - len(self.buffer) // self.frame_bytes
            if count <= 0:
                return
        else:
            count = int((now - self.t0) * plate.rate_hz // 1_000_000_000) + 1 - plate.ticks
        for at, seconds in self.stalls + self.disconnects:
            if plate.ticks <= at < plate.ticks + count:
                count = at - plate.ticks
                if count == 0:
                    self._pause(at, seconds)
                    return
        if count <= 0:
            return
        first = plate.ticks
        chunk = plate.make(count, lost)
        if lost:
            return
        if len(self.buffer) + len(chunk.data) > BUFFER_SECONDS * plate.rate_hz * self.frame_bytes:
            plate.overflow += chunk.tick_counters.size
            return
        self.buffer += chunk.data
        if self.log:  # the clock starts when the plate sampled the tick: buffer time counts
            ticks = np.arange(first, first + chunk.tick_counters.size, dtype=np.int64)
            sampled = now if self.fast else self.t0 + np.ceil(ticks * 1e9 / plate.rate_hz).astype(np.int64)
            self.log.record(chunk.tick_counters, sampled)

    def _pause(self, at: int, seconds: float) -> None:
        """A stall stops answering; a disconnect also drops the connections and the frames."""
        disconnect = any(d[0] == at for d in self.disconnects)
        self.stalls = [s for s in self.stalls if s[0] != at]
        self.disconnects = [d for d in self.disconnects if d[0] != at]
        self.paused_until = time.monotonic_ns() + int(seconds * 1e9)
        if disconnect:
            self.drop_all = True  # after the reply in hand (if any) has gone out
            self.disconnected = True  # real time: the ticks of the time that passes are lost
            if self.fast:
                self.plate.make(int(seconds * self.plate.rate_hz), lost=True)
