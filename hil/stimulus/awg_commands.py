"""The SCPI command set of the arbitrary waveform generators the bench drives.

The common arbitrary-waveform subset of IEEE 488.2 / SCPI-99 generators (the Keysight 33500
spelling): one place for it, used by the driver (hil.stimulus.awg) and the emulated generator
(hil.emulator.awg); the block framing is hil.protocol's. Waveforms go up as 16-bit DAC codes in a definite-length binary block::

    *IDN? *RST *TRG *OPC? SYST:ERR?
    FORM:BORD SWAP                                  blocks little-endian
    SOUR<n>:DATA:VOL:CLE                            forget uploaded waveforms
    SOUR<n>:DATA:ARB:DAC <name>,#<d><len><int16…>   upload (codes −32767…32767)
    SOUR<n>:FUNC ARB / SOUR<n>:FUNC?                play an arbitrary waveform
    SOUR<n>:FUNC:ARB <name>                         which one
    SOUR<n>:FUNC:ARB:SRAT <Sa/s>                    its sample rate
    SOUR<n>:FUNC:ARB:FILT NORM|STEP|OFF             reconstruction (NORM: interpolated)
    SOUR<n>:VOLT <Vpp> / SOUR<n>:VOLT:OFFS <V>      code ±32767 ↔ offset ± Vpp/2
    SOUR<n>:BURS:MODE TRIG / :NCYC 1 / :STAT ON     one pass per trigger (idles at the first point)
    TRIG<n>:SOUR BUS|EXT|IMM                        *TRG, the rear trigger input, or at once
    OUTP<n> ON|OFF                                  the channel's output
    OUTP:TRIG ON                                    trigger out: fires the EXT-triggered others

Keywords may be long or short (``SOURce1:FUNCtion:ARBitrary:SRATe``), any case; a missing
``SOURce`` node means channel 1.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from ..protocol import Refusal, block

DAC_MAX = 32767
LONG_FORMS = ("SOURce", "DATA", "VOLatile", "CLEar", "ARBitrary", "DAC", "FUNCtion", "SRATe",
              "FILTer", "VOLTage", "OFFSet", "BURSt", "MODE", "NCYCles", "STATe", "TRIGger",
              "OUTPut", "FORMat", "BORDer", "SYSTem", "ERRor")
_SHORT = {}
for _long in LONG_FORMS:
    _short = "".join(c for c in _long if c.isupper())
    _SHORT[_long.upper()] = _SHORT[_short] = _short
CHANNEL_NODES = ("SOUR", "TRIG", "OUTP")
OPTIONAL_SOURCE = ("DATA", "FUNC", "VOLT", "BURS")


class ScpiError(Refusal):
    """A line that is not a command of this set."""


@dataclass(frozen=True)
class Command:
    header: str  # short form without channel numbers, e.g. "FUNC:ARB:SRAT" or "*IDN?"
    channel: int  # 1 unless the header names another
    args: tuple[str, ...]
    block: bytes | None = None  # the binary block of an upload

    @property
    def query(self) -> bool:
        return self.header.endswith("?")


_NODE = re.compile(r"^([A-Za-z]+)(\d*)$")


def parse(line: bytes, block: bytes | None = None) -> Command:
    """A command line (without its block, given separately) → Command; ScpiError if unknown."""
    text = line.decode("ascii", "replace").strip()
    head, _, rest = text.partition(" ")
    args = tuple(a.strip() for a in rest.split(",") if a.strip()) if rest else ()
    if head.startswith("*"):
        return Command(head.upper(), 1, args, block)
    query = head.endswith("?")
    nodes, channel = [], 1
    for node in head.rstrip("?").lstrip(":").split(":"):
        match = _NODE.match(node)
        short = _SHORT.get(match.group(1).upper()) if match else None
        if short is None:
            raise ScpiError(-113, f"Undefined header; {head}")
        if match.group(2):
            if short not in CHANNEL_NODES:
                raise ScpiError(-113, f"Undefined header; {head}")
            channel = int(match.group(2))
        nodes.append(short)
    if nodes[0] == "SOUR":
        nodes = nodes[1:]
    if not nodes:
        raise ScpiError(-113, f"Undefined header; {head}")
    return Command(":".join(nodes) + ("?" if query else ""), channel, args, block)


def to_dac(volts: np.ndarray, vpp: float, offset: float) -> np.ndarray:
    """Volts → DAC codes for a channel set to ``vpp`` around ``offset``."""
    return np.clip(np.rint((np.asarray(volts) - offset) / (vpp / 2) * DAC_MAX),
                   -DAC_MAX, DAC_MAX).astype("<i2")


def from_dac(codes: np.ndarray, vpp: float, offset: float) -> np.ndarray:
    return offset + np.asarray(codes, dtype=np.float64) / DAC_MAX * (vpp / 2)


def upload(channel: int, name: str, codes: np.ndarray) -> bytes:
    """The upload command with its block, newline included."""
    return (f"SOUR{channel}:DATA:ARB:DAC {name},".encode()
            + block(np.asarray(codes, dtype="<i2").tobytes()) + b"\n")


def setup(channel: int, name: str, rate_hz: float, vpp: float, offset: float,
          filt: str = "STEP") -> list[str]:
    """Play ``name`` once per trigger at ``rate_hz`` (``filt``: STEP holds each point, NORM
    interpolates), ``vpp`` around ``offset``."""
    return [f"SOUR{channel}:FUNC ARB", f"SOUR{channel}:FUNC:ARB {name}",
            f"SOUR{channel}:FUNC:ARB:SRAT {rate_hz!r}", f"SOUR{channel}:FUNC:ARB:FILT {filt}",
            f"SOUR{channel}:VOLT {vpp!r}", f"SOUR{channel}:VOLT:OFFS {offset!r}",
            f"SOUR{channel}:BURS:MODE TRIG", f"SOUR{channel}:BURS:NCYC 1",
            f"SOUR{channel}:BURS:STAT ON"]


def arm(channel: int, source: str) -> list[str]:
    return [f"TRIG{channel}:SOUR {source}", f"OUTP{channel} ON"]
