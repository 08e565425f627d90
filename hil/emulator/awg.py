"""An emulated arbitrary waveform generator: the command set of hil.stimulus.awg_commands on TCP.

Each instrument has ``channels`` outputs. Its analog outputs are a function of time
(``volts(t_ns)``) that an emulated front end (hil.emulator.frontend) samples on its own clock.
Instruments started together are wired as on a bench: a trigger on one whose trigger out is on
(``OUTP:TRIG ON``) fires every channel of the others armed on ``TRIG:SOUR EXT``.
"""
from __future__ import annotations

import selectors
import socket
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Callable, Sequence

import numpy as np

from ..protocol import ProtocolError, split_command
from ..stimulus import awg_commands as C

MAX_POINTS = 16_000_000
SRATE_RANGE = (1e-6, 1e8)
VPP_RANGE = (1e-3, 10.0)
MAX_VOLTS = 5.0  # |offset| + Vpp/2
MAX_ERRORS = 16


@dataclass
class Channel:
    waveforms: dict[str, np.ndarray] = field(default_factory=dict)
    function: str = "SIN"
    arb: str | None = None
    srate: float = 1e3
    filt: str = "NORM"
    vpp: float = 0.1
    offset: float = 0.0
    burst: bool = False
    trigger: str = "IMM"
    output: bool = False
    fired_ns: int | None = None

    def volts(self, t_ns: np.ndarray) -> np.ndarray:
        """The output at host times ``t_ns`` (0 V when off; the first point until triggered)."""
        codes = self.waveforms.get(self.arb) if self.function == "ARB" else None
        if not self.output or codes is None:
            return np.zeros(t_ns.shape)
        if self.fired_ns is None:
            level = np.full(t_ns.shape, codes[0], dtype=np.float64)
        else:
            x = np.clip((t_ns - self.fired_ns) * 1e-9 * self.srate, 0, codes.size - 1)
            i = np.minimum(x.astype(np.int64), codes.size - 2) if codes.size > 1 else np.zeros(x.shape, np.int64)
            if self.filt == "NORM" and codes.size > 1:
                frac = x - i
                level = codes[i] * (1 - frac) + codes[i + 1] * frac
            else:
                level = codes[np.minimum(x.astype(np.int64), codes.size - 1)].astype(np.float64)
        return C.from_dac(level, self.vpp, self.offset)


class EmulatedAwg:
    """One instrument: its channels, error queue and trigger wiring."""

    def __init__(self, channels: int = 4, serial: int = 0) -> None:
        self.serial = serial
        self.count = channels
        self.bench: list[EmulatedAwg] = [self]  # the instruments wired together
        self.on_trigger: Callable[[int], None] | None = None  # told when ``*TRG`` fired (ns)
        self.reset()

    def reset(self) -> None:
        self.channels = [Channel() for _ in range(self.count)]
        self.errors: deque[tuple[int, str]] = deque(maxlen=MAX_ERRORS)
        self.trigger_out = False
        self.little_endian = False

    def volts(self, t_ns: np.ndarray) -> np.ndarray:
        """(len(t_ns), channels) output volts."""
        return np.stack([c.volts(t_ns) for c in self.channels], axis=1)

    def execute(self, command: C.Command) -> str | None:
        try:
            return self._execute(command)
        except C.ScpiError as error:
            self.errors.append((error.code, error.message))
            return "" if command.query else None

    def _channel(self, command: C.Command) -> Channel:
        if not 1 <= command.channel <= self.count:
            raise C.ScpiError(-113, f"Undefined header; channel {command.channel}")
        return self.channels[command.channel - 1]

    def _number(self, command: C.Command, low: float, high: float) -> float:
        try:
            value = float(command.args[0])
        except (IndexError, ValueError):
            raise C.ScpiError(-104, f"Data type error; {command.header}") from None
        if not (np.isfinite(value) and low <= value <= high):
            raise C.ScpiError(-222, f"Data out of range; {command.header} {value:g}")
        return value

    def _word(self, command: C.Command, choices: Sequence[str]) -> str:
        """The short form of a keyword argument; ``choices`` in SCPI case (``EXTernal``)."""
        word = command.args[0].upper() if command.args else ""
        for choice in choices:
            short = "".join(c for c in choice if not c.islower())
            if word in (short, choice.upper()):
                return short
        raise C.ScpiError(-224, f"Illegal parameter value; {command.header} {word}")

    def _switch(self, command: C.Command) -> bool:
        return self._word(command, ("ON", "OFF", "1", "0")) in ("ON", "1")

    def _execute(self, command: C.Command) -> str | None:
        header = command.header
        if header == "*IDN?":
            return f"FORCEBENCH,AWG{self.count}-EMU,SN{self.serial:06d},1.0"
        if header == "*RST":
            self.reset()
        elif header == "*OPC?":
            return "1"
        elif header == "*TRG":
            now = time.monotonic_ns()
            self.fire("BUS", now)
            if self.on_trigger is not None:
                self.on_trigger(now)
        elif header == "SYST:ERR?":
            code, message = self.errors.popleft() if self.errors else (0, "No error")
            return f'{code},"{message}"'
        elif header == "FORM:BORD":
            self.little_endian = self._word(command, ("SWAPped", "NORMal")) == "SWAP"
        elif header == "OUTP:TRIG":
            self.trigger_out = self._switch(command)
        else:
            return self._channel_command(command, self._channel(command))
        return None

    def _channel_command(self, command: C.Command, channel: Channel) -> str | None:
        header = command.header
        if header == "DATA:VOL:CLE":
            channel.waveforms.clear()
            channel.arb = None
        elif header == "DATA:ARB:DAC":
            self._upload(command, channel)
        elif header == "FUNC":
            channel.function = self._word(command, ("ARBitrary", "SINusoid", "DC"))
        elif header == "FUNC?":
            return channel.function
        elif header == "FUNC:ARB":
            name = command.args[0].upper() if command.args else ""
            if name not in channel.waveforms:
                raise C.ScpiError(-224, f"Illegal parameter value; no waveform {name!r}")
            channel.arb = name
        elif header == "FUNC:ARB:SRAT":
            channel.srate = self._number(command, *SRATE_RANGE)
        elif header == "FUNC:ARB:SRAT?":
            return f"{channel.srate!r}"
        elif header == "FUNC:ARB:FILT":
            channel.filt = self._word(command, ("NORMal", "STEP", "OFF"))
        elif header == "VOLT":
            vpp = self._number(command, *VPP_RANGE)
            self._limit(vpp, channel.offset)
            channel.vpp = vpp
        elif header == "VOLT?":
            return f"{channel.vpp!r}"
        elif header == "VOLT:OFFS":
            offset = self._number(command, -MAX_VOLTS, MAX_VOLTS)
            self._limit(channel.vpp, offset)
            channel.offset = offset
        elif header == "BURS:MODE":
            self._word(command, ("TRIGgered",))
        elif header == "BURS:NCYC":
            self._number(command, 1, 1)
        elif header == "BURS:STAT":
            channel.burst = self._switch(command)
        elif header == "TRIG:SOUR":
            channel.trigger = self._word(command, ("BUS", "EXTernal", "IMMediate"))
        elif header == "OUTP":
            channel.output = self._switch(command)
            channel.fired_ns = None
            if channel.output and channel.trigger == "IMM":
                channel.fired_ns = time.monotonic_ns()
        else:
            raise C.ScpiError(-113, f"Undefined header; {header}")
        return None

    def _limit(self, vpp: float, offset: float) -> None:
        if abs(offset) + vpp / 2 > MAX_VOLTS:
            raise C.ScpiError(-221, "Settings conflict; offset and amplitude exceed the output range")

    def _upload(self, command: C.Command, channel: Channel) -> None:
        if not command.args or command.block is None:
            raise C.ScpiError(-161, "Invalid block data; expected name,#<block>")
        payload = command.block
        if len(payload) % 2 or not 8 <= len(payload) // 2 <= MAX_POINTS:
            raise C.ScpiError(-161, f"Invalid block data; {len(payload)} bytes, 8 to "
                                    f"{MAX_POINTS} 16-bit points expected")
        codes = np.frombuffer(payload, dtype="<i2" if self.little_endian else ">i2")
        if np.any(np.abs(codes.astype(np.int32)) > C.DAC_MAX):
            raise C.ScpiError(-222, "Data out of range; DAC codes beyond ±32767")
        channel.waveforms[command.args[0].upper()] = codes.astype(np.int16)

    def fire(self, source: str, now_ns: int) -> None:
        """A trigger from ``source``: our armed channels start; trigger out reaches the others."""
        for channel in self.channels:
            if channel.output and channel.burst and channel.trigger == source:
                channel.fired_ns = now_ns
        if source == "BUS" and self.trigger_out:
            for other in self.bench:
                if other is not self:
                    other.fire("EXT", now_ns)


def wire(instruments: Sequence[EmulatedAwg]) -> None:
    """Cable every instrument's trigger out to every other's trigger in."""
    for instrument in instruments:
        instrument.bench = list(instruments)


class AwgServer:
    """Serves instruments on TCP (one port each) from another device's event loop: ``attach``
    registers the sockets with its selector, each with the handler to call when readable."""

    def __init__(self, instruments: Sequence[EmulatedAwg], host: str = "127.0.0.1") -> None:
        self.instruments = list(instruments)
        self.listeners = [socket.create_server((host, 0)) for _ in self.instruments]
        for listener in self.listeners:
            listener.setblocking(False)
        self.inboxes: dict[socket.socket, bytearray] = {}
        self.selector: selectors.BaseSelector | None = None
        self.on_change: Callable[[], None] | None = None  # told after every command

    @property
    def resources(self) -> list[str]:
        return [f"TCPIP::{l.getsockname()[0]}::{l.getsockname()[1]}::SOCKET" for l in self.listeners]

    def attach(self, selector: selectors.BaseSelector) -> None:
        self.selector = selector
        for listener, instrument in zip(self.listeners, self.instruments):
            selector.register(listener, selectors.EVENT_READ,
                              lambda sock, i=instrument: self._accept(sock, i))

    def _accept(self, listener: socket.socket, instrument: EmulatedAwg) -> None:
        client, _ = listener.accept()
        client.setblocking(True)
        client.settimeout(5.0)
        self.inboxes[client] = bytearray()
        self.selector.register(client, selectors.EVENT_READ,
                               lambda sock, i=instrument: self._serve(sock, i))

    def _serve(self, client: socket.socket, instrument: EmulatedAwg) -> None:
        try:
            data = client.recv(1 << 20)
        except OSError:
            data = b""
        if not data:
            self.selector.unregister(client)
            self.inboxes.pop(client, None)
            client.close()
            return
        inbox = self.inboxes[client]
        inbox += data
        while True:
            try:
                found = split_command(bytes(inbox))
            except ProtocolError as error:  # a malformed block: the rest of the line is lost
                instrument.errors.append((-160, f"Block data error; {error}"))
                newline = inbox.find(b"\n")
                del inbox[:newline + 1 if newline >= 0 else len(inbox)]
                continue
            if found is None:
                return
            line, payload, rest = found
            inbox[:] = rest
            if not line.strip():
                continue
            reply = self._command(instrument, line, payload)
            if self.on_change is not None:
                self.on_change()
            if reply is not None:
                try:
                    client.sendall(reply.encode() + b"\n")
                except OSError:
                    return

    @staticmethod
    def _command(instrument: EmulatedAwg, line: bytes, payload: bytes | None) -> str | None:
        try:
            command = C.parse(line, payload)
        except C.ScpiError as error:
            instrument.errors.append((error.code, error.message))
            return "" if line.strip().endswith(b"?") else None
        return instrument.execute(command)


def analog_bus(instruments: Sequence[EmulatedAwg]) -> Callable[[np.ndarray], np.ndarray]:
    """Every instrument's outputs side by side, in order: (len(t_ns), all channels) volts."""
    return lambda t_ns: np.concatenate([i.volts(t_ns) for i in instruments], axis=1)
