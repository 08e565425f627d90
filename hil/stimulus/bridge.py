"""Load-cell bridge signals, and the stimulus waveform the bench plays into a plate's inputs.

A strain-gauge cell's output is ratiometric: ``mV/V = force / capacity * rated output``; the
amplifier sees ``mV/V * excitation``. The waveform is the scenario's cells framed by two
trapezoid markers (every cell at once), so that the plate's stream can be aligned with what was
played and its sample clock compared with the generator's::

    lead | marker | settle | data (the scenario's cells) | settle | marker | tail
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

LEAD_S = 0.3  # idle before the first marker: the plate's stream is running, the bench waits
MARKER_RAMP_S = 0.02  # rise and fall of a marker: a ramp the aligner can interpolate on
MARKER_HOLD_S = 0.04
MARKER_N = 100.0  # per cell: well above the noise, far below any cell's range
SETTLE_S = 0.2  # idle between a marker and the data
TAIL_S = 0.1


class BridgeError(ValueError):
    """Bridge parameters that make no sense."""


@dataclass(frozen=True)
class Bridge:
    """The load cells the stimulus stands in for (every cell alike), and their excitation."""

    rated_mv_v: float = 2.0  # rated output at capacity
    capacity_n: float = 5000.0
    excitation_v: float = 5.0

    def __post_init__(self) -> None:
        for name in ("rated_mv_v", "capacity_n", "excitation_v"):
            value = getattr(self, name)
            if not (np.isfinite(value) and value > 0):
                raise BridgeError(f"bridge {name} must be a positive number, got {value!r}")

    def mv_per_v(self, newtons: np.ndarray) -> np.ndarray:
        return np.asarray(newtons) / self.capacity_n * self.rated_mv_v

    def newtons(self, mv_per_v: np.ndarray) -> np.ndarray:
        return np.asarray(mv_per_v) / self.rated_mv_v * self.capacity_n

    def volts(self, newtons: np.ndarray) -> np.ndarray:
        """The bridge's output voltage (what the amplifier's input sees)."""
        return self.mv_per_v(newtons) * 1e-3 * self.excitation_v


def parse_bridge(text: str) -> Bridge:
    """``rated_mv_v=2,capacity_n=5000,excitation_v=5`` (any subset; the rest default)."""
    values: dict[str, float] = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        name, eq, value = part.partition("=")
        if not eq or name.strip() not in Bridge.__dataclass_fields__:
            raise BridgeError(f"bridge: expected name=value with name one of "
                              f"{', '.join(Bridge.__dataclass_fields__)}, got {part!r}")
        try:
            values[name.strip()] = float(value)
        except ValueError:
            raise BridgeError(f"bridge: {name.strip()} must be a number, got {value!r}") from None
    return Bridge(**values)


def marker(rate_hz: float) -> np.ndarray:
    """The marker's shape, 0 → 1 → 0, one value per sample."""
    ramp = max(2, int(round(MARKER_RAMP_S * rate_hz)))
    hold = max(1, int(round(MARKER_HOLD_S * rate_hz)))
    up = np.arange(1, ramp + 1) / ramp
    return np.concatenate((up, np.ones(hold), up[::-1][1:], [0.0]))


@dataclass(frozen=True)
class Stimulus:
    """The waveform for every cell, in newtons, and where its parts lie (sample indices)."""

    cells: np.ndarray  # (samples, plates, 4) N
    rate_hz: float
    data_start: int  # first sample of the scenario's data
    data_samples: int
    markers: tuple[int, int]  # first sample of each marker

    @property
    def marker_distance(self) -> int:
        return self.markers[1] - self.markers[0]


def build_stimulus(cells: np.ndarray, rate_hz: float) -> Stimulus:
    """The scenario's cells (samples, plates, 4) framed by the markers."""
    shape = marker(rate_hz)
    plates = cells.shape[1]
    idle = lambda seconds: np.zeros((int(round(seconds * rate_hz)), plates, 4))  # noqa: E731
    mark = np.repeat(shape[:, None, None] * MARKER_N, plates, axis=1).repeat(4, axis=2)
    pieces = [idle(LEAD_S), mark, idle(SETTLE_S), cells, idle(SETTLE_S), mark, idle(TAIL_S)]
    bounds = np.cumsum([0] + [p.shape[0] for p in pieces])
    return Stimulus(np.concatenate(pieces), float(rate_hz), int(bounds[3]), cells.shape[0],
                    (int(bounds[1]), int(bounds[5])))
