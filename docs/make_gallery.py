"""Write docs/gallery/<test>.png: one simulated trace per test, truth events marked, and the
real CMJ recordings of fixtures/real plotted the same way, to compare them by eye.

    python docs/make_gallery.py [OUT_DIR]        (needs the `plot` extra)
"""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from hil.plots import plot_trace
from sim.generate import simulate
from sim.movements import TESTS

ROOT = Path(__file__).resolve().parents[1]
REAL_RATE_HZ = 1200.0  # fixtures/real/NOTICE


def make_gallery(out: Path, seed: int = 1) -> list[Path]:
    written = []
    for test in TESTS:
        trial = simulate(test, plates=2, rate_hz=1000.0, noise="typical", seed=seed)
        title = (f"{test}: simulated, 2 plates, typical noise, seed {seed}, "
                 f"{trial.truth.metrics['body_mass_kg']:.1f} kg")
        written.append(plot_trace(out / f"{test}.png", trial.time, trial.force,
                                  true_events=trial.truth.events,
                                  body_weight_n=trial.truth.metrics["body_weight_n"], title=title))
    for recording in sorted((ROOT / "fixtures" / "real").glob("subject01_trial*.force.txt")):
        force = np.loadtxt(recording)
        name = recording.name.removesuffix(".force.txt")
        written.append(plot_trace(out / f"real_{name}.png", np.arange(force.size) / REAL_RATE_HZ, force,
                                  title=f"real CMJ {name} (plateforce fixtures, 1200 Hz, one plate)"))
    return written


if __name__ == "__main__":
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "docs" / "gallery"
    for path in make_gallery(target):
        print(path)
