"""An emulated reference instrument: a load-cell indicator that speaks SCPI on TCP (pyvisa-py).

It stands where a calibration rig's reference load cell and its indicator (or a DMM reading the
cell's bridge) would be. The first line on standard output is its VISA resource
(``TCPIP::127.0.0.1::PORT::SOCKET``). Its own errors: white noise, a display resolution, a
gain (1.0 = a good reference; another value emulates a reference out of its certificate).

    *IDN?           FORCEBENCH,REF-EMU,SN<seed>,1.0
    *RST            clear the error queue
    MEAS:FORC?      the force on the reference cell in N, e.g. 1961.3 (error -230 past capacity)
    CONF:RES?       the resolution in N
    SYST:ERR?       code,"message" (0,"No error")
    SIM:FORC n      emulation only: the force the rig has put on the cell (a real cell feels it)

Options in the reference URL's query: ``emulated?noise=0.05&resolution=0.1&gain=1.0``.
"""
from __future__ import annotations

import os
import selectors
import socket
import sys
from collections import deque
from dataclasses import dataclass
from typing import TextIO
from urllib.parse import parse_qsl

import numpy as np

from .. import protocol

CAPACITY_N = 25_000.0
MAX_ERRORS = 16


class ReferenceOptionError(ValueError):
    """A reference URL query that cannot be understood."""


@dataclass(frozen=True)
class ReferenceErrors:
    noise_n: float = 0.05  # white noise, N RMS, per reading
    resolution_n: float = 0.1  # readings are rounded to this
    gain: float = 1.0  # reading per true newton


def parse_options(query: str) -> ReferenceErrors:
    values: dict[str, float] = {}
    for key, text in parse_qsl(query, keep_blank_values=True):
        if key not in ("noise", "resolution", "gain"):
            raise ReferenceOptionError(f"unknown reference URL option {key!r} "
                                       "(known: noise, resolution, gain)")
        try:
            values[key] = float(text)
        except ValueError:
            raise ReferenceOptionError(f"reference {key} must be a number, got {text!r}") from None
    errors = ReferenceErrors(values.get("noise", 0.05), values.get("resolution", 0.1),
                             values.get("gain", 1.0))
    if not (0 <= errors.noise_n < 1000 and 0 < errors.resolution_n < 1000 and 0 < errors.gain < 10):
        raise ReferenceOptionError("reference noise must be 0-1000 N, resolution 0-1000 N, gain 0-10")
    return errors


class ReferenceInstrument:
    """The instrument's state and its answers (transport-free, so it is easy to test)."""

    def __init__(self, errors: ReferenceErrors, seed: int = 0) -> None:
        self.errors, self.seed = errors, seed
        self.rng = np.random.default_rng([seed, 376])  # ISO 376: the reference-cell standard
        self.force_n = 0.0
        self.queue: deque[tuple[int, str]] = deque(maxlen=MAX_ERRORS)

    def answer(self, line: str) -> str | None:
        keyword, _, rest = line.strip().partition(" ")
        keyword = keyword.upper()
        if keyword == "*IDN?":
            return f"FORCEBENCH,REF-EMU,SN{self.seed:06d},1.0"
        if keyword == "*RST":
            self.queue.clear()
        elif keyword in ("MEAS:FORC?", "MEASURE:FORCE?"):
            if abs(self.force_n) > CAPACITY_N:
                self.queue.append((-230, "Data corrupt or stale; over capacity"))
                return ""
            reading = self.errors.gain * self.force_n + self.errors.noise_n * self.rng.standard_normal()
            step = self.errors.resolution_n
            return f"{round(reading / step) * step:.6g}"
        elif keyword == "CONF:RES?":
            return f"{self.errors.resolution_n:g}"
        elif keyword == "SYST:ERR?":
            code, message = self.queue.popleft() if self.queue else (0, "No error")
            return protocol.format_error(code, message)
        elif keyword == "SIM:FORC":
            try:
                self.force_n = float(rest)
            except ValueError:
                self.queue.append((-224, "Illegal parameter value"))
        else:
            self.queue.append((-113, f"Undefined header; {keyword}"))
            return "" if keyword.endswith("?") else None
        return None


def serve(errors: ReferenceErrors, seed: int, host: str, port: int,
          announce: TextIO = sys.stdout, watch_stdin: bool = False) -> None:
    """Answer SCPI lines from any number of TCP clients until stdin closes (or forever)."""
    instrument = ReferenceInstrument(errors, seed)
    listener = socket.create_server((host, port))
    listener.setblocking(False)
    name, bound = listener.getsockname()[:2]
    print(f"TCPIP::{name}::{bound}::SOCKET", file=announce, flush=True)
    selector = selectors.DefaultSelector()
    selector.register(listener, selectors.EVENT_READ, None)
    if watch_stdin:
        selector.register(sys.stdin, selectors.EVENT_READ, "stdin")
    inboxes: dict[socket.socket, bytes] = {}
    while True:
        for key, _ in selector.select(timeout=1.0):
            if key.data == "stdin":
                if not os.read(sys.stdin.fileno(), 1024):
                    return  # our parent went away
            elif key.fileobj is listener:
                client, _ = listener.accept()
                client.settimeout(5.0)
                client.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # answers at once
                inboxes[client] = b""
                selector.register(client, selectors.EVENT_READ, "client")
            else:
                client = key.fileobj
                try:
                    data = client.recv(4096)
                    if hasattr(socket, "TCP_QUICKACK"):  # ack now: a client's next write is not held back
                        client.setsockopt(socket.IPPROTO_TCP, socket.TCP_QUICKACK, 1)
                except OSError:
                    data = b""
                if not data:
                    selector.unregister(client)
                    client.close()
                    del inboxes[client]
                    continue
                inboxes[client] += data
                while b"\n" in inboxes[client]:
                    line, inboxes[client] = inboxes[client].split(b"\n", 1)
                    reply = instrument.answer(line.decode("ascii", "replace"))
                    if reply is not None:
                        try:
                            client.sendall(reply.encode() + b"\n")
                        except OSError:
                            break
