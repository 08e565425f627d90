"""An emulated plate front end: the electronics behind the load cells, fed by signal sources.

Its inputs are the analog outputs of emulated waveform generators (hil.emulator.awg) standing in
for the bridges; per cell it adds the amplifier's input noise, applies its gain (which may be
off from nominal), converts with a 24-bit ADC on a sample clock with its own ppm error, and
streams forcebench frames like any emulated plate. Frames are made ahead as usual (the inputs
are known functions of time); any command to a source remakes them. Its factory calibration assumes the nominal
gain and the cells of ``FrontEnd``, so a wrong gain shows as wrong newtons.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Callable

import numpy as np

from .. import protocol
from .device import EmulatedPlate
from .faults import Fault, FaultError
from .source import make_source


LEAD_IN_DRAWS = 1 << 40  # random faults' keys for ticks before stream sample 0


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
    def volts_per_newton(self) -> float:
        """A cell's bridge output per newton, as the factory calibration assumes it."""
        return self.rated_mv_v * 1e-3 * self.excitation_v / self.capacity_n

    @property
    def scale_n_per_count(self) -> float:
        """Factory calibration: newtons per ADC count at nominal gain."""
        return self.vref_v / (self.gain * (protocol.ADC_FULL_SCALE + 1)) / self.volts_per_newton


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
    """A plate whose cells are the analog inputs ``inputs(t_ns) -> (k, plates * 4) volts``.

    Its faults are an emulated plate's (hil.emulator.faults), their times in seconds of the
    scenario's stream: stream time 0 is the first data sample out of the generators, ``lead_in_s``
    after their trigger (the stimulus's marker and quiet before its data), so nothing timed
    happens before the trigger; the random ones are drawn per stream sample (``draw_index``), so
    a seed hits the samples it hits on the plain emulated plate, and the lead-in's frames too."""

    def __init__(self, inputs: Callable[[np.ndarray], np.ndarray], front: FrontEnd,
                 plates: int = 2, rate_hz: float = 1000.0, seed: int = 0,
                 faults: tuple[Fault, ...] = (), lead_in_s: float = 0.0) -> None:
        super().__init__(make_source(np.zeros((1, plates, protocol.CELLS)), rate_hz), faults,
                         seed=seed)
        self.inputs, self.front, self.lead_in_s = inputs, front, lead_in_s
        self.true_scale = np.full((plates, protocol.CELLS), front.scale_n_per_count)
        self.scale = self.true_scale.copy()
        self.rng = np.random.default_rng(seed + 1)
        self.t0_ns = time.monotonic_ns()
        self.data_ns: int | None = None  # host ns of stream time 0, once the generators fired
        self._sampled: tuple = (None, None)  # (ticks key, input volts) of the last conversion

    def inputs_changed(self) -> None:
        """The sources were told something (a trigger, a new waveform): frames made ahead from
        their old outputs are made again (those already sent were sampled before it)."""
        self._ahead, self._sampled = None, (None, None)

    def triggered(self, fired_ns: int) -> None:
        """The generators fired at host ``fired_ns``: stream time begins ``lead_in_s`` later."""
        self.data_ns = fired_ns + round(self.lead_in_s * 1e9)

    @property
    def clock(self) -> float:
        return 1 + self.front.clock_ppm * 1e-6

    @property
    def tick_rate_hz(self) -> float:
        return self.rate_hz * self.clock

    def execute(self, name: str, args: tuple) -> str | None:
        if name == "start":
            self.t0_ns, self.data_ns = time.monotonic_ns(), None
        return super().execute(name, args)

    def _tick_ns(self, plate: int, ticks: np.ndarray) -> np.ndarray:
        """Host ns of this plate's own ticks (its clock's error, a skew fault's on the right)."""
        return self.t0_ns + ticks * (1e9 / (self.tick_rate_hz * self._clock(plate)))

    def stream_seconds(self, plate: int, ticks: np.ndarray) -> np.ndarray:
        if self.data_ns is None:  # not triggered: no stream time yet
            return np.full(ticks.shape, -np.inf)
        return (self._tick_ns(plate, ticks) - self.data_ns) / 1e9

    def _first_tick(self, plate: int) -> int:
        """This plate's tick that reads stream sample 0 (the first at or after it leaves)."""
        return math.ceil((self.data_ns - self.t0_ns) / 1e9 * self.tick_rate_hz * self._clock(plate))

    def draw_index(self, plate: int, ticks: np.ndarray) -> np.ndarray:
        """Stream samples from the trigger on, as on a plate streaming the scenario itself; the
        lead-in's ticks (and all before the trigger) draw from a range of their own."""
        lead_in = LEAD_IN_DRAWS + ticks
        if self.data_ns is None:
            return lead_in
        index = ticks - self._first_tick(plate)
        return np.where(index >= 0, index, lead_in)

    def fault_windows(self, kind: str) -> list[tuple[int, float]]:
        """(left tick, seconds) of each stall or disconnect; none before the trigger."""
        if self.data_ns is None:
            return []
        return [(math.ceil(((self.data_ns - self.t0_ns) / 1e9 + f["at"]) * self.tick_rate_hz),
                 f["for"]) for f in self.faults if f.kind == kind]

    def _held(self, plate: int, at: float) -> np.ndarray:
        ns = np.array([self.data_ns + at * 1e9])
        return self.inputs(ns)[0, plate * protocol.CELLS:(plate + 1) * protocol.CELLS] \
            / self.front.volts_per_newton

    def _counts(self, plate: int, ticks: np.ndarray) -> np.ndarray:
        """Sample the inputs at this clock's tick times, amplify, convert."""
        front = self.front
        key = (self.t0_ns, self._clock(plate), int(ticks[0]) if ticks.size else 0, ticks.size)
        if self._sampled[0] != key:  # both plates convert at the same ticks: sample once
            self._sampled = (key, self.inputs(self._tick_ns(plate, ticks)))
        volts = self._sampled[1][:, plate * protocol.CELLS:(plate + 1) * protocol.CELLS]
        noise = self.rng.normal(0.0, front.noise_uv * 1e-6, volts.shape)
        rail = np.zeros(volts.shape, dtype=bool)
        if self.faults:  # a dead or stuck cell's channel reads one value: no noise on it
            newtons, rail, frozen = self._content_faults(
                plate, self.stream_seconds(plate, ticks), volts / front.volts_per_newton)
            volts, noise = newtons * front.volts_per_newton, np.where(frozen, 0.0, noise)
        adc = (volts + noise) * front.gain * (1 + front.gain_error) / front.vref_v
        counts = np.rint(adc * (protocol.ADC_FULL_SCALE + 1)) + self.zero_counts[plate]
        counts[rail] = protocol.ADC_FULL_SCALE
        return np.clip(counts, -protocol.ADC_FULL_SCALE, protocol.ADC_FULL_SCALE).astype(np.int32)
