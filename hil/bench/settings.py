"""How a replay runs (which plate, how fast, how long to wait), and the error that stops it."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from hil.stimulus.bridge import Bridge

TIMEOUT_S = 10.0  # a plate silent this long (to a command, or while streaming) is not there


class BenchError(ValueError):
    """A replay that cannot run (bad scenario for the spec, plate missing or silent): exit 2."""


@dataclass(frozen=True)
class Settings:
    """How to replay: which plate, how fast, how long to wait."""

    plate_url: str | None = None  # None: the scenario's
    fast: bool = False  # emulated plates stream as fast as the bench reads; latency unchecked
    timeout_s: float = TIMEOUT_S
    timing_log: Path | None = None  # the timing log of an emulator you started yourself
    progress: bool = True
    plots: bool = True  # draw the PNGs (off: report.json and report.xml only, say so in the JSON)
    calibration: Path | None = None  # a calibration file (or directory by serial) the driver applies
    playback: bool = False  # upload each segment with the protocol's playback command first
    stimulus: str | None = None  # waveform generators standing in for the cells (hil.bench.stimulus)
    bridge: Bridge = Bridge()  # the cells the stimulus stands in for
    clock_ppm_limit: float = 100.0  # a plate clock further off the generator's fails the replay
