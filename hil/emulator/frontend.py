"""An emulated plate front end: the electronics behind the load cells, fed by signal sources.

Its inputs are the analog outputs of emulated waveform generators (hil.emulator.awg) standing in
for the bridges; per cell it adds the amplifier's input noise, applies its gain (which may be
off from nominal), converts with a 24-bit ADC on a sample clock with its own ppm error, and
streams forcebench frames like any emulated plate. Its factory calibration assumes the nominal
gain and the cells of ``FrontEnd``, so a wrong gain shows as wrong newtons.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Callable

import numpy as np

from .. import protocol
from .device import EmulatedPlate
from .faults import FaultError
from .source import make_source


@dataclass(frozen=True)
class FrontEnd:
    """The analog chain, nominal values plus the defects a test may give it."""

    excitation_v: float = 5.0
    rated_mv_v: float = 2.0  # the cells the factory calibration assumes
    capacity_n: float = 5000.0
    gain: float = 128.0  # nominal (PGA)
    gain_error: float = 0.0  # relative: 0.02 = the amplifier gives 2 % more than nominal
    noise_uv: float = 0.2  # input-referred RMS noise per cell, µV
    vref_v: float = 2.5
    clock_ppm: float = 0.0  # the sample clock against true time (+: fast)

    @property
    def scale_n_per_count(self) -> float:
        """Factory calibration: newtons per ADC count at nominal gain."""
        volts_per_newton = self.rated_mv_v * 1e-3 * self.excitation_v / self.capacity_n
        return self.vref_v / (self.gain * (protocol.ADC_FULL_SCALE + 1)) / volts_per_newton


def parse_frontend(text: str) -> FrontEnd:
    """``gain_error=0.02,clock_ppm=200`` (any fields of FrontEnd)."""
    values: dict[str, float] = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        name, eq, value = (s.strip() for s in part.partition("="))
        if not eq or name not in FrontEnd.__dataclass_fields__:
            raise FaultError(f"front end: expected name=value with name one of "
                             f"{', '.join(FrontEnd.__dataclass_fields__)}, got {part!r}")
        try:
            values[name] = float(value)
        except ValueError:
            raise FaultError(f"front end: {name} must be a number, got {value!r}") from None
    front = FrontEnd(**values)
    if min(front.excitation_v, front.rated_mv_v, front.capacity_n, front.gain, front.vref_v) <= 0 \
            or front.noise_uv < 0 or abs(front.clock_ppm) >= 1e5 or front.gain_error <= -1:
        raise FaultError(f"front end: values out of range: {text!r}")
    return front


class AnalogPlate(EmulatedPlate):
    """A plate whose cells are the analog inputs ``inputs(t_ns) -> (k, plates * 4) volts``."""

    lookahead_ticks = 1  # live inputs: each tick is converted when it is due, not ahead

    def __init__(self, inputs: Callable[[np.ndarray], np.ndarray], front: FrontEnd,
                 plates: int = 2, rate_hz: float = 1000.0, seed: int = 0) -> None:
        super().__init__(make_source(np.zeros((1, plates, protocol.CELLS)), rate_hz), seed=seed)
        self.inputs, self.front = inputs, front
        self.true_scale = np.full((plates, protocol.CELLS), front.scale_n_per_count)
        self.scale = self.true_scale.copy()
        self.rng = np.random.default_rng(seed + 1)
        self.t0_ns = time.monotonic_ns()

    @property
    def clock(self) -> float:
        return 1 + self.front.clock_ppm * 1e-6

    @property
    def tick_rate_hz(self) -> float:
        return self.rate_hz * self.clock

    def execute(self, name: str, args: tuple) -> str | None:
        if name == "start":
            self.t0_ns = time.monotonic_ns()
        return super().execute(name, args)

    def _counts(self, plate: int, ticks: np.ndarray) -> np.ndarray:
        """Sample the inputs at this clock's tick times, amplify, convert."""
        front = self.front
        t_ns = self.t0_ns + ticks * (1e9 / self.tick_rate_hz)
        volts = self.inputs(t_ns)[:, plate * protocol.CELLS:(plate + 1) * protocol.CELLS]
        volts = volts + self.rng.normal(0.0, front.noise_uv * 1e-6, volts.shape)
        adc = volts * front.gain * (1 + front.gain_error) / front.vref_v
        counts = np.rint(adc * (protocol.ADC_FULL_SCALE + 1)) + self.zero_counts[plate]
        return np.clip(counts, -protocol.ADC_FULL_SCALE, protocol.ADC_FULL_SCALE).astype(np.int32)
