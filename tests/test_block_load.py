"""Training-load series (sim.load) and the tissue model (sim.tissue): the published figures and
the model's stated behaviour."""
from __future__ import annotations

import numpy as np
import pytest

from sim.load import Banister, acwr, ewma, fitness_fatigue, series
from sim.tissue import ACHILLES, CALF, TISSUES, Exposure, Tissues, column


def test_acwr_three_forms_match_the_worked_example():
    # DOMAIN.md: one athlete going from 50 to 100 units a day gives 1.60 / 2.00 / 1.34
    load = np.r_[np.full(60, 50.0), np.full(7, 100.0)]
    ratios = acwr(load)
    assert ratios["acwr_coupled"][-1] == pytest.approx(1.60, abs=1e-9)
    assert ratios["acwr_uncoupled"][-1] == pytest.approx(2.00, abs=1e-9)
    assert ratios["acwr_ewma"][-1] == pytest.approx(1.34, abs=0.005)


def test_acwr_is_undefined_before_a_full_window_and_coupled_never_exceeds_four():
    load = np.r_[np.zeros(21), np.full(7, 100.0)]
    ratios = acwr(load)
    assert np.isnan(ratios["acwr_coupled"][:27]).all() and ratios["acwr_coupled"][27] == pytest.approx(4.0)
    assert np.isnan(ratios["acwr_uncoupled"][27])  # 21 days of nothing: no denominator


def test_ewma_uses_lambda_two_over_n_plus_one():
    load = np.r_[np.full(40, 10.0), 80.0]
    assert ewma(load, 7)[-1] == pytest.approx(10 + 0.25 * 70)
    assert ewma(load, 28)[-1] == pytest.approx(10 + 2 / 29 * 70)


def test_banister_defaults_and_steady_state():
    params = Banister()
    assert (params.tau_fitness_d, params.tau_fatigue_d, params.k_fitness, params.k_fatigue) == (42, 7, 1, 2)
    steady = fitness_fatigue(np.full((2, 200), 300.0))
    d1, d2 = np.exp(-1 / 42), np.exp(-1 / 7)
    assert steady["fitness"][0, -1] == pytest.approx(300 * d1 / (1 - d1))
    assert steady["fatigue"][0, -1] == pytest.approx(2 * 300 * d2 / (1 - d2))
    assert steady["busso_fatigue"][0, -1] == pytest.approx(steady["fatigue"][0, -1])  # k2(t) = 2 at 300 AU


def test_todays_load_shows_tomorrow_and_busso_fatigue_grows_with_load():
    load = np.r_[np.full(40, 100.0), 1000.0, np.full(10, 100.0)]
    ff = fitness_fatigue(load)
    assert ff["fatigue"][40] == pytest.approx(ff["fatigue"][39] * np.exp(-1 / 7) + 2 * 100 * np.exp(-1 / 7))
    assert ff["fatigue"][41] > 2 * ff["fatigue"][40]
    # Busso: the fatigue gain rises after the heavy day, so its fatigue outgrows Banister's
    assert ff["busso_fatigue"][42] / ff["fatigue"][42] > ff["busso_fatigue"][39] / ff["fatigue"][39]
    assert set(series(load)) >= {"load_au", "acwr_coupled", "acwr_uncoupled", "acwr_ewma", "fitness",
                                 "fatigue", "performance", "busso_fatigue", "busso_performance"}


def tissues(n: int = 1) -> Tissues:
    capacity = np.broadcast_to(column("capacity_bw"), (n, 2, len(TISSUES))).copy()
    return Tissues(capacity, capacity / 1.15, np.zeros_like(capacity))


def calf_exposure(force_bw: float, cycles: float, hold_s: float = 0.25) -> Exposure:
    force = np.zeros((1, 2, len(TISSUES)))
    force[:, :, [ACHILLES, CALF]] = force_bw
    return Exposure(force, np.array([cycles]), hold_s)


def test_damage_grows_faster_with_load_magnitude_than_with_cycles():
    heavier, longer = tissues(), tissues()
    heavier.day([calf_exposure(7.0 * 1.2, 2000)])
    longer.day([calf_exposure(7.0, 2000 * 1.2)])
    assert heavier.damage[0, 0, CALF] > 4 * longer.damage[0, 0, CALF]  # 1.2^10 ≈ 6.2 vs 1.2


def test_rest_repairs_damage_and_pain_follows_it():
    t = tissues()
    t.day([calf_exposure(8.0, 6000)])
    sore, pain = t.damage[0, 0, CALF], t.pain_during[0]
    assert pain > 0 and t.morning_pain[0] > 0
    for _ in range(10):
        t.day([])
    assert t.damage[0, 0, CALF] < 0.05 * sore and t.pain_during[0] == 0 and t.morning_pain[0] < 0.05 * 10 * sore


def test_tendon_adapts_only_to_heavy_held_loading_and_slower_than_muscle():
    light, heavy = tissues(), tissues()
    mvc = light.mvc_bw()[0, 0, ACHILLES]
    for _ in range(56):
        light.day([calf_exposure(0.6 * mvc, 5, hold_s=45)])  # 60 % MVC: muscle only
        heavy.day([calf_exposure(0.92 * mvc, 5, hold_s=45)])  # ≥ 90 % MVC: tendon too
    start = column("capacity_bw")
    gain = lambda t, i: t.capacity[0, 0, i] / start[i] - 1  # noqa: E731
    assert gain(heavy, ACHILLES) > 0.02 and gain(light, ACHILLES) < 0  # no stimulus: it detrains
    assert gain(heavy, CALF) > gain(heavy, ACHILLES)  # muscle adapts faster than tendon
