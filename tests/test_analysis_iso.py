"""Isometric holds: onset, peak, net peak and rate of force development against closed-form truth."""

import numpy as np
import pytest

import formula_traces as traces
from hil.analysis import analyse
from spec_trials import simulated_and_analysed

RFD_TOLERANCE = {"rfd_0_50_n_s": 0.15, "rfd_0_100_n_s": 0.10, "rfd_0_200_n_s": 0.10}


@pytest.mark.parametrize("rate", [500.0, 1000.0, 2000.0])
@pytest.mark.parametrize("tau, net", [(0.05, 1500.0), (0.15, 600.0)])
def test_formula_pulls_meet_the_spec(rate, tau, net):
    rng = np.random.default_rng(int(rate * tau))
    force, rate, truth = traces.iso(rate=rate, tau=tau, net=net, noise_sd=1.5, rng=rng)
    result = analyse(force, rate, "iso")
    assert not result.refused and result.quality["ok"], result.quality
    m = result.metrics
    assert m["onset_s"] == pytest.approx(truth["onset_s"], abs=0.020)
    assert m["onset_s"] == pytest.approx(truth["onset_s"], abs=2 / rate + 0.001)  # tighter than the spec
    assert m["peak_force_n"] == pytest.approx(truth["peak_force_n"], rel=0.01)
    assert m["net_peak_force_n"] == pytest.approx(truth["net_peak_force_n"], rel=0.02)
    assert m["body_weight_n"] == pytest.approx(truth["body_weight_n"], rel=0.002)
    for name, rel in RFD_TOLERANCE.items():
        assert m[name] == pytest.approx(truth[name], rel=rel), name
    assert 0 < m["time_to_peak_s"] < 3.0
    assert result.events["onset_s"] == m["onset_s"]


def test_needs_only_samples_up_to_needed_until_and_refuses_an_unreleased_hold():
    force, rate, _ = traces.iso(noise_sd=1.5, rng=np.random.default_rng(8))
    whole = analyse(force, rate, "iso")
    cut = int(round(whole.needed_until_s * rate)) + 1
    assert cut < force.size
    assert analyse(force[:cut], rate, "iso").to_dict() == whole.to_dict()
    holding = analyse(force[:int(round(whole.events["release_s"] * rate)) - 10], rate, "iso")
    assert holding.refused and [i.code for i in holding.issues] == ["no_release"]


def test_two_plates_peak_force_asymmetry():
    force, rate, truth = traces.iso()
    weight = truth["body_weight_n"]
    left = weight / 2 + 0.6 * (force - weight)
    right = weight / 2 + 0.4 * (force - weight)
    result = analyse(np.column_stack([left, right]), rate, "iso")
    expected = 100 * (left.max() - right.max()) / left.max()
    assert result.metrics["peak_force_asym_pct"] == pytest.approx(expected, abs=0.01)
    assert result.metrics["peak_force_n"] == pytest.approx(truth["peak_force_n"], rel=0.001)


def test_no_pull_and_no_standing_are_refused():
    flat = np.full(4000, 700.0) + np.random.default_rng(1).normal(0, 1.5, 4000)
    assert analyse(flat, 1000.0, "iso").issues[0].code == "no_onset"
    short = analyse(np.full(500, 700.0), 1000.0, "iso")
    assert short.refused and short.issues[0].code == "unstable_weighing"


def test_saturated_hold_leaves_the_peak_out():
    force, rate, truth = traces.iso(tau=0.02, net=1500.0)  # full scale is hit hard, mid-rise
    clipped = np.minimum(force, truth["body_weight_n"] + 1200.0)
    result = analyse(clipped, rate, "iso")
    assert "peak_force_n" not in result.metrics and "net_peak_force_n" not in result.metrics
    assert "saturation" in {i.code for i in result.issues}
    assert "rfd_0_200_n_s" not in result.metrics  # its window ends on the clipped plateau
    assert result.metrics["onset_s"] == pytest.approx(truth["onset_s"], abs=0.002)


@pytest.mark.parametrize("seed", range(6))
def test_simulated_pulls_meet_the_spec(seed):
    trial, result = simulated_and_analysed("iso", seed)
    truth = trial.truth.metrics
    assert result.metrics["onset_s"] == pytest.approx(truth["onset_s"], abs=0.020)
    assert result.metrics["peak_force_n"] == pytest.approx(truth["peak_force_n"], rel=0.01)
    assert result.metrics["net_peak_force_n"] == pytest.approx(truth["net_peak_force_n"], rel=0.02)
    for name, rel in RFD_TOLERANCE.items():
        assert result.metrics[name] == pytest.approx(truth[name], rel=rel), name
    if trial.plates == 2:
        assert result.metrics["peak_force_asym_pct"] == pytest.approx(
            truth["peak_force_asym_pct"], abs=2.0)


def test_an_athlete_stepping_on_after_the_recording_starts():
    force, rate, truth = traces.iso(noise_sd=1.5, rng=np.random.default_rng(3))
    stepping = force.copy()
    stepping[:200] = np.random.default_rng(4).normal(0.0, 1.5, 200)  # nobody on the plate yet
    stepping[200:400] *= np.linspace(0.3, 1.0, 200)  # stepping on, then 1.1 s of standing
    result = analyse(stepping, rate, "iso")
    assert not result.refused, result.quality
    assert result.metrics["onset_s"] == pytest.approx(truth["onset_s"], abs=2 / rate + 0.001)
    assert result.metrics["net_peak_force_n"] == pytest.approx(truth["net_peak_force_n"], rel=0.02)
