"""Speed of the simulator: 1,000 five-second 1000 Hz CMJ trials, each with its own athlete and
exact truth, target under 1 s on one core (sim.movements.cmj.simulate_batch): reported, and
judged as a ratio to the same-run reference of tests/benchmarks/figures.py.

The reference measured in the same run is the floor for any generator of that much data:
allocating and filling the 1,000 × 5,001 output once with a vectorised expression."""
from __future__ import annotations

import timeit

import numpy as np
import pytest
from figures import fastest, figure, judge

from sim.athlete import Athlete
from sim.movements.cmj import simulate_batch
from sim_checks import G, contacts, takeoff_velocity

TRIALS, RATE, DURATION = 1000, 1000.0, 5.0


def thousand_cmjs(seed: int = 0):
    rng = np.random.default_rng(seed)
    athletes = [Athlete.draw(rng) for _ in range(TRIALS)]
    return simulate_batch(athletes, RATE, rng, duration_s=DURATION)


def test_bench_thousand_cmj_trials(benchmark, request):
    trials = benchmark.pedantic(thousand_cmjs, rounds=3, iterations=1, warmup_rounds=0)
    assert len(trials) == TRIALS and trials[0].force.shape == (5001, 1)
    assert len({t.truth.metrics["jump_height_m"] for t in trials}) == TRIALS  # own athletes
    assert all("jump_height_m" in t.truth.metrics for t in trials)
    for trial in trials[::111]:  # each truth belongs to its own trace (impulse–momentum, no truth read)
        force = trial.force[:, 0]
        v, _ = takeoff_velocity(force, RATE, trial.truth.metrics["body_weight_n"], 0, contacts(force)[0][1])
        assert v**2 / (2 * G) == pytest.approx(trial.truth.metrics["jump_height_m"], abs=2e-4)
    t = np.arange(5001) / RATE
    floor = min(timeit.repeat(lambda: np.sin(t[None, :] * np.arange(TRIALS)[:, None]), number=1, repeat=3))
    seconds = fastest(benchmark)
    figure(benchmark, "simulated_trials_per_second", None if seconds is None else TRIALS / seconds,
           "trials/s", trial="cmj, 5 s at 1000 Hz, with truth", reference_fill_s=round(floor, 4),
           target_1000_under_1_s=None if seconds is None else seconds < 1.0)
    judge(benchmark, request, "simulate_1000_cmj", seconds)
    if seconds is not None:
        ratio = seconds / floor
        benchmark.extra_info["ratio_to_reference_fill"] = round(ratio, 2)
        # the < 1 s target is reported, not asserted: on a loaded shared box it is 5× slower;
        # the ratio to the fill measured in the same run holds (about 5 here, loaded or not)
        assert ratio < 20
