"""Running steps: complete contacts only, cadence, impact and active peaks, loading rate, impulse."""

import numpy as np
import pytest

import formula_traces as traces
from hil.analysis import analyse, events, run
from sim.generate import simulate
from spec_trials import simulated_and_analysed

RELATIVE = {"peak_force_n": 0.02, "impact_peak_n": 0.02, "loading_rate_bw_s": 0.10,
            "vertical_impulse_n_s": 0.02, "cadence_spm": 0.01, "body_weight_n": 0.002}


def _check(result, truth, rate, truth_reps=None):
    m = result.metrics
    assert m["step_count"] == truth["step_count"]
    tol = 2 / rate + 0.001  # METRICS.md: ±(2·dt + 1 ms)
    expected = np.array([rep["contact_time_s"] for rep in truth_reps] if truth_reps
                        else [truth["contact_time_s"]] * len(result.per_rep))
    measured = np.array([rep["contact_time_s"] for rep in result.per_rep])
    # the spec holds the mean; a single step is noisier, yet never far out
    assert np.all(np.abs(measured - expected) <= 2 * tol), measured - expected
    assert m["contact_time_s"] == pytest.approx(truth["contact_time_s"], abs=tol)
    assert m["flight_time_s"] == pytest.approx(truth["flight_time_s"], abs=tol)
    for name, rel in RELATIVE.items():
        if name in truth:
            assert m[name] == pytest.approx(truth[name], rel=rel), name
        else:
            assert name not in m, name


@pytest.mark.parametrize("plates", [1, 2])
@pytest.mark.parametrize("rate", [500.0, 1000.0, 2000.0])
def test_formula_running_meets_the_spec(rate, plates):
    rng = np.random.default_rng(int(rate) + plates)
    force, rate, truth, events = traces.run_steps(rate=rate, plates=plates, noise_sd=1.5, rng=rng)
    result = analyse(force, rate, "run")
    assert not result.refused and result.quality["ok"], result.quality
    _check(result, truth, rate)
    touchdowns = [rep["touchdown_s"] for rep in result.per_rep]
    np.testing.assert_allclose(touchdowns, events["touchdowns"], atol=2 * (2 / rate + 0.001))
    if plates == 2:
        assert abs(result.metrics["contact_time_asym_pct"]) < 2
        assert abs(result.metrics["peak_force_asym_pct"]) < 2


def test_step_without_impact_peak_has_no_impact_values():
    force, rate, truth, _ = traces.run_steps(impact=0.0, impact_time=0.01)
    assert "impact_peak_n" not in truth
    result = analyse(force, rate, "run")
    _check(result, truth, rate)
    assert all("impact_peak_n" not in rep and "loading_rate_bw_s" not in rep
               for rep in result.per_rep)
    assert "no_impact_peak" in {issue.code for issue in result.issues}


def test_a_recording_starting_in_flight_counts_its_first_contact():
    force, rate, truth, events = traces.run_steps()
    start = int((events["touchdowns"][0] - 0.05) * rate)  # 50 ms before a touchdown
    result = analyse(force[start:], rate, "run")
    assert result.metrics["step_count"] == truth["step_count"]


def test_asymmetry_follows_the_weaker_side():
    force, rate, truth, _ = traces.run_steps(plates=2)
    weaker = force * np.array([1.0, 0.9])
    result = analyse(weaker, rate, "run")
    assert result.metrics["peak_force_asym_pct"] == pytest.approx(10.0, abs=0.5)
    assert abs(result.metrics["contact_time_asym_pct"]) < 2


def test_too_few_steps_and_no_flight_are_refused_or_reported():
    assert analyse(np.full(2000, 700.0), 1000.0, "run").issues[0].code == "no_takeoff"
    force, rate, truth, events = traces.run_steps()
    one = force[:int((events["touchdowns"][1] + 0.1) * rate)]  # one complete step only
    result = analyse(one, rate, "run")
    assert result.metrics["step_count"] == 1
    assert "cadence_spm" not in result.metrics and "peak_force_bw" not in result.metrics
    assert "unstable_weighing" in {issue.code for issue in result.issues}
    with_mass = analyse(one, rate, "run", body_mass_kg=65.0)
    assert with_mass.metrics["peak_force_bw"] == pytest.approx(truth["peak_force_bw"], rel=0.02)


@pytest.mark.parametrize("seed", range(6))
def test_simulated_running_meets_the_spec(seed):
    trial, result = simulated_and_analysed("run", seed)
    _check(result, trial.truth.metrics, trial.rate_hz, trial.truth.per_rep)


def test_an_edge_fitted_with_others_is_fitted_as_alone(monkeypatch):
    """power_law_edges fits rows of different widths in one call (events._SUM_BLOCK): each
    row's foot must still be the one it gets on its own, bit for bit (streaming = batch)."""
    calls = []

    def recorded(x, edges, rate_hz):
        calls.append((x, edges))
        return events.power_law_edges(x, edges, rate_hz)

    monkeypatch.setattr(run, "power_law_edges", recorded)
    rate = 4000.0  # the widest rows (the fit reaches 4·EDGE_MAX_S)
    analyse(simulate("run", rate_hz=rate, plates=2, seed=3, duration_s=2.0).force, rate, "run")
    assert calls and max(edges.shape[0] for _, edges in calls) > 4
    for x, edges in calls:
        together = events.power_law_edges(x, edges, rate)
        alone = np.concatenate([events.power_law_edges(x, edges[i:i + 1], rate)
                                for i in range(edges.shape[0])])
        assert together.tobytes() == alone.tobytes()
