"""Hops (pogo): counts, contact/flight times without threshold bias, peaks and stiffness."""

import numpy as np
import pytest

import formula_traces as traces
from hil.analysis import analyse
from spec_trials import simulated_and_analysed

TOLERANCE = {"peak_force_n": 0.02, "vertical_stiffness_kn_m": 0.10, "rsi": 0.05}


def _time_tolerance(rate):
    return 2 / rate + 0.001  # METRICS.md: ±(2·dt + 1 ms)


@pytest.mark.parametrize("rate", [500.0, 1000.0, 2000.0])
@pytest.mark.parametrize("contact, flight", [(0.15, 0.35), (0.25, 0.2)])
def test_formula_hops_meet_the_spec(rate, contact, flight):
    rng = np.random.default_rng(int(rate + 100 * contact))
    force, rate, truth, _ = traces.hops(rate=rate, contact=contact, flight=flight, count=10,
                                        noise_sd=1.5, rng=rng)
    result = analyse(force, rate, "hops")
    assert not result.refused and result.quality["ok"], result.quality
    m = result.metrics
    assert m["hop_count"] == truth["hop_count"]
    assert len(result.per_rep) == truth["hop_count"]
    for rep in result.per_rep:  # every hop, not only the mean
        assert rep["contact_time_s"] == pytest.approx(contact, abs=_time_tolerance(rate))
        assert rep["flight_time_s"] == pytest.approx(flight, abs=_time_tolerance(rate))
        for name, rel in TOLERANCE.items():
            assert rep[name] == pytest.approx(truth[name], rel=rel), name
    g_dt = 9.80665 * flight / rate / 2
    assert m["jump_height_flight_m"] == pytest.approx(truth["jump_height_flight_m"], abs=0.001 + g_dt)
    assert m["body_weight_n"] == pytest.approx(truth["body_weight_n"], rel=0.002)


def test_given_body_mass_is_used_for_stiffness():
    force, rate, truth, _ = traces.hops(mass=80.0)
    result = analyse(force, rate, "hops", body_mass_kg=80.0)
    assert result.metrics["body_mass_kg"] == 80.0
    assert result.metrics["vertical_stiffness_kn_m"] == pytest.approx(
        truth["vertical_stiffness_kn_m"], rel=0.01)


def test_needs_only_samples_up_to_needed_until():
    force, rate, _, _ = traces.hops(noise_sd=1.5, rng=np.random.default_rng(5))
    whole = analyse(force, rate, "hops")
    cut = int(round(whole.needed_until_s * rate)) + 1
    assert cut < force.size
    assert analyse(force[:cut], rate, "hops").to_dict() == whole.to_dict()
    # cut before the landing is known to be final: the same hops, held until the recording ends
    early = analyse(force[:cut - int(0.2 * rate)], rate, "hops")
    assert early.metrics == whole.metrics and early.needed_until_s > (cut - 0.2 * rate) / rate
    in_flight = analyse(force[:int(round(whole.events["landing_s"] * rate)) - 20], rate, "hops")
    assert in_flight.refused and [i.code for i in in_flight.issues] == ["no_landing"]


def test_standing_only_is_refused_and_takeoff_without_rebound_is_not_a_hop():
    rate = 1000.0
    standing = np.full(3000, 700.0)
    refused = analyse(standing, rate, "hops")
    assert refused.refused and refused.issues[0].code == "no_takeoff"
    force, rate, _, events = traces.hops(count=0)
    lone = analyse(force, rate, "hops")  # one jump and a landing: no rebound contact
    assert lone.refused and lone.issues[0].code == "no_rebound"


def test_two_plates_add_peak_force_asymmetry():
    force, rate, truth, _ = traces.hops()
    left_share = 0.55
    result = analyse(np.column_stack([left_share * force, (1 - left_share) * force]), rate, "hops")
    assert result.metrics["hop_count"] == truth["hop_count"]
    expected = 100 * (0.55 - 0.45) / 0.55
    assert result.metrics["peak_force_asym_pct"] == pytest.approx(expected, abs=0.1)


def test_non_finite_hop_is_left_out_and_said():
    force, rate, truth, events = traces.hops()
    force = force.copy()
    force[int((events["touchdowns"][2] + 0.05) * rate)] = np.nan
    result = analyse(force, rate, "hops")
    assert result.metrics["hop_count"] == truth["hop_count"]
    assert len(result.per_rep) == truth["hop_count"] - 1
    assert {"gap"} <= {i.code for i in result.issues}  # NaN: a lost sample
    assert all(np.isfinite(v) for v in result.metrics.values())


@pytest.mark.parametrize("seed", range(6))
def test_simulated_hops_meet_the_spec(seed):
    trial, result = simulated_and_analysed("hops", seed)
    truth = trial.truth.metrics
    assert result.metrics["hop_count"] == truth["hop_count"]
    tol = _time_tolerance(trial.rate_hz)
    assert result.metrics["contact_time_s"] == pytest.approx(truth["contact_time_s"], abs=tol)
    assert result.metrics["flight_time_s"] == pytest.approx(truth["flight_time_s"], abs=tol)
    for name, rel in TOLERANCE.items():
        assert result.metrics[name] == pytest.approx(truth[name], rel=rel), name


def test_without_standing_or_mass_stiffness_is_left_out_and_said():
    force, rate, truth, events = traces.hops()
    start = int((events["first_takeoff_s"] - 0.3) * rate)  # 0.3 s before the first take-off
    result = analyse(force[start:], rate, "hops")
    assert result.metrics["hop_count"] == truth["hop_count"]
    assert "vertical_stiffness_kn_m" not in result.metrics and "body_weight_n" not in result.metrics
    assert [i.code for i in result.issues] == ["unstable_weighing"]
    assert result.metrics["contact_time_s"] == pytest.approx(truth["contact_time_s"], abs=0.003)
