"""Print the plate model's measured figures quoted in the README (noise, hum, ADC step, and the
peak bias of each preset's resonance alone on simulated trials).

    python docs/plate_figures.py
"""
from __future__ import annotations

import dataclasses

import numpy as np

from sim import Trial, Truth
from sim.generate import simulate
from sim.plate import PRESETS, PlateModel, measure

RATE_HZ = 1000.0


def noise_figures(preset: str, seconds: float = 20.0, newtons: float = 700.0) -> None:
    """White noise RMS (hum bin removed), hum amplitude and drift per plate, from a steady load."""
    steady = Trial("cmj", RATE_HZ, np.full((int(seconds * RATE_HZ), 2), newtons), Truth("cmj", {}, {}))
    out = measure(steady, preset, np.random.default_rng(11))
    plate = out.truth.plate
    t = out.time
    for p in range(2):
        drift, _ = np.polyfit(t, out.force[:, p], 1)
        residual = out.force[:, p] - np.polyval(np.polyfit(t, out.force[:, p], 1), t)
        spectrum = np.fft.rfft(residual)
        k = np.argmin(np.abs(np.fft.rfftfreq(t.size, 1 / RATE_HZ) - plate["hum_hz"]))
        hum = 2 * np.abs(spectrum[k]) / t.size
        spectrum[k] = 0
        white = np.fft.irfft(spectrum, n=t.size).std()
        step = np.diff(np.unique(out.cells[:, p, 0])).min()
        print(f"{preset:8s} plate {p}: white {white:.3f} N RMS, hum {hum:.3f} N at {plate['hum_hz']:g} Hz, "
              f"drift {drift:+.3f} N/s, ADC step {step:.3g} N")


def resonance_bias(preset: str, seeds: int = 20) -> None:
    """Largest change of a trial's peak force from the preset's plate mode alone."""
    figures = PRESETS[preset]
    mode = dataclasses.replace(PlateModel.preset("none", 1, RATE_HZ, np.random.default_rng(0)),
                               resonance_hz=figures["resonance_hz"],
                               resonance_damping=figures["resonance_damping"])
    for test in ("cmj", "dj", "hops", "run", "iso"):
        worst = 0.0
        for seed in range(seeds):
            trial = dataclasses.replace(simulate(test, noise="none", seed=seed), cells=None)
            out = measure(trial, mode, np.random.default_rng(0))
            worst = max(worst, abs(out.force.max() / trial.force.max() - 1))
        print(f"{preset:8s} {test:5s}: the {figures['resonance_hz']:g} Hz mode alone moves the peak "
              f"force by at most {100 * worst:.3f} % over {seeds} seeds")


if __name__ == "__main__":
    for name in ("typical", "high"):
        noise_figures(name)
    for name in ("typical", "high"):
        resonance_bias(name)
