"""Drive SCPI arbitrary waveform generators over VISA: upload, arm, one trigger.

``Generators(urls)`` opens every instrument, counts its channels (``SOUR<n>:DATA:VOL:CLE``
until one is refused) and lines the channels up in URL order: cell 0..3 of plate 0, then of plate 1,
spread over as many instruments as that takes. The first instrument is triggered over the bus
(``*TRG``) and, with several, its trigger out starts the others (``TRIG:SOUR EXT``): cable it
to their trigger inputs.
"""
from __future__ import annotations

import time
from typing import Sequence

import numpy as np
import pyvisa

from . import awg_commands as C

MAX_CHANNELS = 8
MIN_VPP = 1e-3  # the smallest amplitude common generators set


class StimulusError(ValueError):
    """A generator that cannot be reached or refuses a command: one line, exit 2."""


class Awg:
    """One instrument on a VISA resource (``TCPIP::host::port::SOCKET[@backend]``)."""

    def __init__(self, url: str, timeout: float = 5.0) -> None:
        resource, _, backend = url.strip().partition("@")
        self.url, self.timeout = url, timeout
        try:
            self.manager = pyvisa.ResourceManager(backend if "@" in backend else "@" + (backend or "py"))
        except (ValueError, OSError, pyvisa.Error) as error:
            raise StimulusError(f"cannot load the VISA backend for {url}: {error}") from None
        try:
            self.instrument = self.manager.open_resource(resource, open_timeout=int(timeout * 1000))
        except (pyvisa.Error, ValueError, OSError) as error:
            self.manager.close()
            raise StimulusError(f"cannot open waveform generator {url}: {error}") from None
        self.instrument.read_termination = self.instrument.write_termination = "\n"
        self.instrument.timeout = int(timeout * 1000)
        try:
            self.identity = self.query("*IDN?")
            self.write("*RST")
            self.errors()  # a fresh start: drain what an earlier user left
            self.channels = self._count_channels()
        except StimulusError:
            self.close()
            raise

    def write(self, line: str) -> None:
        self._io(lambda: self.instrument.write(line), line)

    def write_raw(self, data: bytes, what: str) -> None:
        self._io(lambda: self.instrument.write_raw(data), what)

    def query(self, line: str) -> str:
        return self._io(lambda: self.instrument.query(line), line).strip()

    def _io(self, action, what: str):
        try:
            return action()
        except pyvisa.errors.VisaIOError as error:
            if error.error_code == pyvisa.constants.StatusCode.error_timeout:
                raise StimulusError(f"waveform generator {self.url} did not answer {what!r} "
                                    f"within {self.timeout:g} s") from None
            raise StimulusError(f"waveform generator {self.url}: {error}") from None
        except OSError as error:
            raise StimulusError(f"waveform generator {self.url}: {error}") from None

    def errors(self) -> list[tuple[int, str]]:
        found = []
        for _ in range(32):
            code, _, message = self.query("SYST:ERR?").partition(",")
            try:
                if int(code) == 0:
                    break
            except ValueError:
                raise StimulusError(f"waveform generator {self.url}: bad SYST:ERR? reply "
                                    f"{code!r}") from None
            found.append((int(code), message.strip('"')))
        return found

    def check(self, what: str) -> None:
        errors = self.errors()
        if errors:
            code, message = errors[0]
            raise StimulusError(f"waveform generator {self.url} refused {what}: {code} {message}")

    def _count_channels(self) -> int:
        count = 0
        for channel in range(1, MAX_CHANNELS + 1):  # a setting: a missing channel only errs
            self.write(f"SOUR{channel}:DATA:VOL:CLE")
            if self.errors():
                break
            count = channel
        if count == 0:
            raise StimulusError(f"{self.url} ({self.identity}) refuses SOUR1:DATA:VOL:CLE: "
                                "not an arbitrary waveform generator")
        return count

    def close(self) -> None:
        try:
            if getattr(self, "instrument", None) is not None:
                self.instrument.close()
        except (pyvisa.Error, OSError):
            pass
        finally:
            self.manager.close()


def channel_settings(volts: np.ndarray) -> tuple[float, float]:
    """(Vpp, offset) that put a channel's waveform on the DAC's full range."""
    low, high = float(volts.min()), float(volts.max())
    return max(high - low, MIN_VPP), (high + low) / 2


class Generators:
    """Every instrument of the stimulus, its channels in a row (one per cell)."""

    def __init__(self, urls: Sequence[str], timeout: float = 5.0) -> None:
        self.instruments: list[Awg] = []
        try:
            for url in urls:
                self.instruments.append(Awg(url, timeout))
        except StimulusError:
            self.close()
            raise
        self.outputs = [(awg, channel) for awg in self.instruments
                        for channel in range(1, awg.channels + 1)]

    @property
    def identity(self) -> str:
        return "; ".join(awg.identity for awg in self.instruments)

    def load(self, volts: np.ndarray, rate_hz: float) -> None:
        """Upload one waveform per output: ``volts`` is (samples, cells)."""
        if volts.shape[1] > len(self.outputs):
            raise StimulusError(f"the stimulus needs {volts.shape[1]} outputs, the generators "
                                f"have {len(self.outputs)}")
        for awg in self.instruments:
            awg.write("FORM:BORD SWAP")
        for cell, (awg, channel) in enumerate(self.outputs[:volts.shape[1]]):
            vpp, offset = channel_settings(volts[:, cell])
            name = f"FBCELL{cell}"
            awg.write_raw(C.upload(channel, name, C.to_dac(volts[:, cell], vpp, offset)),
                          f"the upload of {name}")
            for line in C.setup(channel, name, rate_hz, vpp, offset):
                awg.write(line)
            awg.check(f"the set-up of channel {channel} ({name})")
        self.used = self.outputs[:volts.shape[1]]

    def arm(self) -> None:
        """The first instrument waits for ``*TRG``; its trigger out starts the others."""
        first = self.instruments[0]
        for awg, channel in self.used:
            for line in C.arm(channel, "BUS" if awg is first else "EXT"):
                awg.write(line)
        if len(self.instruments) > 1:
            first.write("OUTP:TRIG ON")
        for awg in self.instruments:
            awg.check("arming")
            awg.query("*OPC?")  # every setting has taken effect

    def fire(self) -> int:
        """The one trigger; host monotonic ns just before it was sent (the stimulus's time 0)."""
        now = time.monotonic_ns()
        self.instruments[0].write("*TRG")
        return now

    def close(self) -> None:
        for awg in self.instruments:
            awg.close()
