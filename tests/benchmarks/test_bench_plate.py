"""Speed of sim.plate.measure on a five-second, 1000 Hz, two-plate trial (5000 × 2 × 4 cells).

The reference is the floor it cannot beat: drawing the 40,000 independent Gaussian cell-noise
samples with the same generator, timed in the same run."""
import timeit

import numpy as np
import pytest
from figures import fastest, figure

from sim import Trial, Truth
from sim.plate import measure

N, PLATES, RATE = 5000, 2, 1000.0


def five_second_trial() -> Trial:
    t = np.arange(N) / RATE
    force = np.column_stack([350 + 300 * np.sin(2 * np.pi * t), 330 + 250 * np.cos(2 * np.pi * t)])
    cop = np.zeros((N, PLATES, 2))
    cop[..., 0] = 0.003 * np.sin(2 * np.pi * 0.3 * t)[:, None]
    return Trial("cmj", RATE, force, Truth("cmj", {}, {}), cop=cop)


def reference_draw_s(rng: np.random.Generator) -> float:
    return min(timeit.repeat(lambda: rng.standard_normal((PLATES, 4, N)), number=50, repeat=5)) / 50


@pytest.mark.parametrize("preset", ["none", "typical", "high"])
def test_bench_measure(benchmark, preset):
    trial, rng = five_second_trial(), np.random.default_rng(0)
    out = benchmark(measure, trial, preset, rng)
    assert out.cells.shape == (N, PLATES, 4)
    draw = reference_draw_s(rng)
    seconds = fastest(benchmark)
    figure(benchmark, "plate_measure_over_noise_draw", None if seconds is None else seconds / draw,
           "ratio", preset=preset, reference_noise_draw_us=round(draw * 1e6, 1))
    if benchmark.stats is not None and preset != "none":  # None under --benchmark-disable
        assert benchmark.stats.stats.min < 3 * draw  # all but the noise draw costs less than two draws
