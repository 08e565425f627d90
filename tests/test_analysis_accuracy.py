"""The accuracy spec of METRICS.md on simulated trials: ≥95 % of trials inside each tolerance.

Typical noise; 500, 1000 and 2000 Hz; body mass 45–120 kg; one and two plates; all six tests
(a few hundred trials). The pass-rate table is always printed and repeated on failure; the
same sweep and table are in hil.accuracy for the bench.
"""
from __future__ import annotations

import numpy as np
import pytest

from hil.accuracy import Case, sweep, table
from hil.analysis import TESTS
from hil.spec import pass_rates

RATES = (500.0, 1000.0, 2000.0)
TRIALS_PER_TEST = 96  # 576 trials, 16 per (test, rate, plates); ~5 s on one core
SINGLE_LEG_TRIALS = 24  # per test with a single-leg variant (run has none): 120 trials
SWAY_TRIALS = 24  # per test with a sway option: 120 trials


def cases() -> list[Case]:
    rng = np.random.default_rng(20261126)
    out = []
    for test in TESTS:
        for i in range(TRIALS_PER_TEST):
            out.append(Case(test, RATES[i % 3], float(rng.uniform(45.0, 120.0)), 1 + (i // 3) % 2,
                            seed=10_000 + 100 * TESTS.index(test) + i))
    return out


@pytest.fixture(scope="module")
def rates():
    return pass_rates(sweep(cases()))


def test_every_metric_meets_the_accuracy_spec(rates, capsys):
    report = table(rates)
    with capsys.disabled():  # the table is part of the suite's output, not only on failure
        print(f"\naccuracy spec, {len(cases())} simulated trials, typical noise\n{report}")
    missed = [f"{r.test} {r.metric}" for r in rates if not r.met]
    assert not missed, f"below 95 %: {', '.join(missed)}\n{report}"


def test_the_field_preset_meets_the_accuracy_spec(capsys):
    """The same trials through the ``field`` preset (sim.field): ringing below zero after take-off,
    coarse steps, unzeroed plates, empty starts, pre-tension before a pull, zeroed exports,
    bouncing first touches, recordings ending in flight. Same spec, no tolerance widened."""
    rates = pass_rates(sweep(cases(), noise="field"))
    report = table(rates)
    with capsys.disabled():
        print(f"\nfield preset, {len(cases())} simulated trials\n{report}")
    missed = [f"{r.test} {r.metric}" for r in rates if not r.met]
    assert not missed, f"below 95 %: {', '.join(missed)}\n{report}"
    assert {r.test for r in rates} == set(TESTS)


def single_leg_cases() -> list[Case]:
    """The single-leg variants (one foot on one plate, or on the left or right of two)."""
    rng = np.random.default_rng(20261127)
    return [Case(test, RATES[i % 3], float(rng.uniform(45.0, 120.0)), 1 + (i // 3) % 2,
                 seed=20_000 + 100 * TESTS.index(test) + i,
                 options={"leg": "left" if i % 2 else "right"})
            for test in TESTS if test != "run" for i in range(SINGLE_LEG_TRIALS)]


def test_single_leg_variants_meet_the_accuracy_spec(capsys):
    rates = pass_rates(sweep(single_leg_cases()))
    report = table(rates)
    with capsys.disabled():
        print(f"\nsingle leg, {len(single_leg_cases())} simulated trials, typical noise\n{report}")
    missed = [f"{r.test} {r.metric}" for r in rates if not r.met]
    assert not missed, f"below 95 %: {', '.join(missed)}\n{report}"
    assert {r.test for r in rates} == set(TESTS) - {"run"}


def test_postural_sway_meets_the_accuracy_spec(capsys):
    """Slow sway while standing (1–6 N SD, 0.2–1.5 Hz): the weighing spans the whole quiet stance."""
    rng = np.random.default_rng(20261128)
    cases = [Case(test, RATES[i % 3], float(rng.uniform(45.0, 120.0)), 1 + (i // 3) % 2,
                  seed=30_000 + 100 * TESTS.index(test) + i, options={"sway": True})
             for test in ("cmj", "sj", "dj", "hops", "iso") for i in range(SWAY_TRIALS)]
    rates = pass_rates(sweep(cases))
    report = table(rates)
    with capsys.disabled():
        print(f"\npostural sway, {len(cases)} simulated trials, typical noise\n{report}")
    missed = [f"{r.test} {r.metric}" for r in rates if not r.met]
    assert not missed, f"below 95 %: {', '.join(missed)}\n{report}"


def test_the_sweep_covers_every_test_rate_and_plate_count(rates):
    combos = {}
    for case in cases():
        key = (case.test, case.rate_hz, case.plates)
        combos[key] = combos.get(key, 0) + 1
        assert 45.0 <= case.mass_kg <= 120.0
    assert set(combos) == {(t, r, p) for t in TESTS for r in RATES for p in (1, 2)}
    assert min(combos.values()) >= 10
    assert {r.test for r in rates} == set(TESTS)
    assert all(r.total >= TRIALS_PER_TEST // 2 for r in rates)  # asymmetry: two-plate trials only
    names = {(r.test, r.metric) for r in rates}
    for required in [("cmj", "jump_height_m"), ("cmj", "propulsive_impulse_asym_pct"),
                     ("sj", "mean_propulsive_force_n"), ("dj", "rsi"), ("dj", "jump_height_m"),
                     ("hops", "vertical_stiffness_kn_m"), ("iso", "rfd_0_50_n_s"),
                     ("run", "cadence_spm")]:
        assert required in names
