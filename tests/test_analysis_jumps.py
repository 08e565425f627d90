"""Unit tests of the jump analysis: events, weighing, input checks, phases, quality, refusals."""
from __future__ import annotations

import math

import numpy as np
import pytest

from hil.analysis import AnalysisInputError, analyse, analyse_all
from hil.analysis.events import edge_time, flight, spans, unloaded_runs
from hil.analysis.signal import G, prepare
from hil.analysis.weighing import weigh
from sim.generate import simulate

RATE = 1000.0


def trial(test: str = "cmj", seed: int = 1, rate: float = RATE, plates: int = 1, **options):
    return simulate(test, mass_kg=75.0, rate_hz=rate, plates=plates, noise="typical", seed=seed,
                    **options)


def force_of(tr) -> np.ndarray:
    return tr.force if tr.plates == 2 else tr.force[:, 0]


def assert_finite(result) -> None:
    assert all(math.isfinite(v) for v in result.metrics.values())
    assert all(math.isfinite(v) for v in result.events.values())


def codes(result) -> set[str]:
    return {issue.code for issue in result.issues}


# ---------------------------------------------------------------------------- events

def test_spans():
    mask = np.array([0, 1, 1, 0, 1, 0, 0, 1], dtype=bool)
    assert spans(mask).tolist() == [[1, 3], [4, 5], [7, 8]]


@pytest.mark.parametrize("offset", [0.0, 0.3, 0.7])
def test_edge_time_finds_where_a_linear_edge_meets_the_level(offset):
    # force falls at 20 N per sample and reaches the level (3 N) at sample 10 + offset
    t = np.arange(20.0)
    x = np.maximum(3.0 + 20.0 * (10.0 + offset - t), 3.0)
    last_contact = int(np.flatnonzero(x > 3.5)[-1])  # the edge sample nearest the level
    assert edge_time(x, last_contact, 3.0, -1, 5) == pytest.approx(10.0 + offset, abs=1e-9)
    rising = x[::-1].copy()  # the mirror image: a landing at 9 − offset
    first_contact = int(np.flatnonzero(rising > 3.5)[0])
    assert edge_time(rising, first_contact, 3.0, +1, 5) == pytest.approx(9.0 - offset, abs=1e-9)


def test_edge_time_fits_a_curved_edge_beyond_the_threshold():
    t = np.arange(30.0)
    x = np.where(t < 20.3, 2.0 * (20.3 - t) ** 2, 0.0)  # tangent approach: slope 0 at 20.3
    takeoff = edge_time(x, 18, 0.0, -1, 5)
    assert 18.0 < takeoff <= 19.0 + 1e-9  # at most one sample past the last edge sample


def test_flight_times_both_edges_relative_to_the_unloaded_level():
    rate = 1000.0
    t = np.arange(3000) / rate
    level = 4.0  # a plate that reads 4 N with nobody on it
    force = np.full(t.shape, 700.0)
    force[(t >= 1.0) & (t < 1.5)] = level
    ramp_down = (t >= 0.98) & (t < 1.0)
    force[ramp_down] = level + (1.0 - t[ramp_down]) * 35000.0
    ramp_up = (t >= 1.5) & (t < 1.52)
    force[ramp_up] = level + (t[ramp_up] - 1.5) * 35000.0
    noise = np.random.default_rng(0).normal(0.0, 1.0, t.shape)
    runs = unloaded_runs(force + noise)
    assert len(runs) == 1
    found = flight(force + noise, int(runs[0][0]), int(runs[0][1]), rate)
    assert found.level == pytest.approx(level, abs=0.2)
    assert found.takeoff / rate == pytest.approx(1.0, abs=2e-4)
    assert found.landing / rate == pytest.approx(1.5, abs=2e-4)


# ---------------------------------------------------------------------------- weighing

def test_weigh_picks_the_stillest_loaded_second():
    rng = np.random.default_rng(2)
    x = np.concatenate([np.zeros(1500), 700 + rng.normal(0, 20, 1500), 690 + rng.normal(0, 1, 1500),
                        700 + rng.normal(0, 20, 1500)])
    w = weigh(x, 1000.0)
    assert 1500 <= w.start and w.stop <= 3000 + 1000 and w.start >= 3000 - 10
    assert w.body_weight_n == pytest.approx(690.0, abs=0.2)
    assert w.stable
    assert weigh(x, 1000.0, 0, 900) is None  # shorter than 1 s
    assert weigh(np.zeros(3000), 1000.0) is None  # nobody on the plate


def test_unstable_weighing_is_flagged():
    rng = np.random.default_rng(3)
    swaying = 700 + 30 * np.sin(np.arange(3000) / 1000 * 2 * np.pi * 1.3) + rng.normal(0, 1, 3000)
    w = weigh(swaying, 1000.0)
    assert w is not None and not w.stable


# ---------------------------------------------------------------------------- input checks

def test_lost_and_infinite_samples_are_gaps_and_nonfinite():
    x = np.full(100, 700.0)
    x[10:13] = np.nan
    x[50] = np.inf
    signal = prepare(x, 1000.0)
    found = {(i.code, i.start_s, i.end_s) for i in signal.issues}
    assert ("gap", 0.010, 0.012) in found
    assert ("nonfinite_samples", 0.05, 0.05) in found
    assert signal.bad[10:13].all() and signal.bad[50] and not signal.bad[20]


def test_saturation_flags_a_clipped_plateau_but_not_a_quantised_peak():
    t = np.arange(400) / 1000.0
    peak = 2000.0 * np.exp(-((t - 0.2) / 0.03) ** 2) + 600
    quantised = np.round(peak / 1.4) * 1.4  # a smooth peak repeats values, one step apart
    assert not prepare(quantised, 1000.0).issues
    clipped = np.minimum(peak, 2000.0)  # full scale well below a landing peak
    issues = prepare(clipped, 1000.0).issues
    assert [i.code for i in issues] == ["saturation"]
    assert issues[0].start_s < 0.2 < issues[0].end_s


def test_negative_force_only_when_sustained():
    x = 700.0 + np.random.default_rng(4).normal(0.0, 1.5, 1000)
    x[100] = -60.0  # a plate ringing for one sample
    assert not prepare(x, 1000.0).issues
    x[500:520] = -30.0
    assert [i.code for i in prepare(x, 1000.0).issues] == ["negative_force"]


def test_bad_shapes_and_rates_raise():
    with pytest.raises(AnalysisInputError):
        analyse(np.ones((10, 3)), 1000.0, "cmj")
    with pytest.raises(AnalysisInputError):
        analyse(np.ones(10), 0.0, "cmj")
    with pytest.raises(AnalysisInputError):
        analyse(np.ones(10), 1000.0, "jump")


# ---------------------------------------------------------------------------- cmj and sj

def test_cmj_events_and_phases_are_in_order_and_near_the_truth():
    tr = trial("cmj", seed=4)
    result = analyse(force_of(tr), tr.rate_hz, "cmj")
    e, truth = result.events, tr.truth.events
    assert result.quality["ok"] and not result.refused
    order = ["weighing_start_s", "weighing_end_s", "onset_s", "braking_s", "propulsion_s",
             "takeoff_s", "landing_s"]
    assert [e[name] for name in order] == sorted(e[name] for name in order)
    assert e["braking_s"] == pytest.approx(truth["braking_s"], abs=0.01)
    assert e["propulsion_s"] == pytest.approx(truth["propulsion_s"], abs=0.01)
    assert e["takeoff_s"] == pytest.approx(truth["takeoff_s"], abs=0.5e-3)
    m = result.metrics
    assert m["jump_height_m"] == pytest.approx(m["takeoff_velocity_m_s"] ** 2 / (2 * G))
    assert m["rsi_modified"] == pytest.approx(m["jump_height_m"] / m["time_to_takeoff_s"])
    assert m["time_to_takeoff_s"] == pytest.approx(m["takeoff_s"] - m["onset_s"])
    assert m["propulsive_impulse_n_s"] == pytest.approx(m["body_mass_kg"] * m["takeoff_velocity_m_s"])
    assert m["countermovement_depth_m"] > 0
    assert result.needed_until_s == pytest.approx(e["landing_s"] + 0.4, abs=2 / tr.rate_hz)
    assert_finite(result)


def test_sj_has_no_countermovement_metrics():
    tr = trial("sj", seed=5)
    result = analyse(force_of(tr), tr.rate_hz, "sj")
    assert "countermovement_depth_m" not in result.metrics and "braking_s" not in result.events
    assert result.events["propulsion_s"] == result.events["onset_s"]
    assert result.metrics["jump_height_m"] == pytest.approx(tr.truth.metrics["jump_height_m"], abs=0.002)


def test_two_plates_give_asymmetry_from_each_plate():
    tr = trial("cmj", seed=6, plates=2)
    result = analyse(tr.force, tr.rate_hz, "cmj")
    for name in ("propulsive_impulse_asym_pct", "peak_force_asym_pct", "landing_peak_force_asym_pct"):
        assert result.metrics[name] == pytest.approx(tr.truth.metrics[name], abs=2.0)
    swapped = analyse(tr.force[:, ::-1], tr.rate_hz, "cmj")
    assert swapped.metrics["peak_force_asym_pct"] * result.metrics["peak_force_asym_pct"] <= 0


def test_single_leg_on_two_plates_reads_full_asymmetry():
    tr = trial("cmj", seed=7, plates=2, leg="right")
    result = analyse(tr.force, tr.rate_hz, "cmj")
    assert result.metrics["peak_force_asym_pct"] == pytest.approx(-100.0, abs=2.0)
    assert result.metrics["jump_height_m"] == pytest.approx(tr.truth.metrics["jump_height_m"], abs=0.002)


def test_gap_in_the_propulsion_leaves_impulse_metrics_out():
    tr = trial("cmj", seed=8)
    x = force_of(tr).copy()
    at = int(round(tr.truth.events["propulsion_s"] * tr.rate_hz))
    x[at:at + 5] = np.nan
    result = analyse(x, tr.rate_hz, "cmj")
    assert "gap" in codes(result) and not result.quality["ok"]
    for name in ("takeoff_velocity_m_s", "jump_height_m", "peak_power_w", "propulsive_impulse_n_s"):
        assert name not in result.metrics
    assert "flight_time_s" in result.metrics  # the flight is untouched
    assert_finite(result)


def test_saturated_landing_leaves_the_landing_peak_out():
    tr = trial("cmj", seed=9)
    x = force_of(tr).copy()
    land = int(tr.truth.events["landing_s"] * tr.rate_hz)
    assert x[land:].max() > x[:land].max() + 200  # the landing peak is the largest force
    full_scale = x[:land].max() + 100  # a plate that clips the landing only
    result = analyse(np.minimum(x, full_scale), tr.rate_hz, "cmj")
    assert "saturation" in codes(result)
    assert "landing_peak_force_n" not in result.metrics
    assert result.metrics["jump_height_m"] == pytest.approx(tr.truth.metrics["jump_height_m"], abs=0.002)


def test_recording_ending_in_flight_keeps_the_takeoff_metrics():
    tr = trial("cmj", seed=10)
    cut = int((tr.truth.events["takeoff_s"] + 0.1) * tr.rate_hz)
    result = analyse(force_of(tr)[:cut], tr.rate_hz, "cmj")
    assert "no_landing" in codes(result) and not result.refused
    assert "landing_s" not in result.metrics and "flight_time_s" not in result.metrics
    assert result.metrics["jump_height_m"] == pytest.approx(tr.truth.metrics["jump_height_m"], abs=0.002)
    assert result.needed_until_s == pytest.approx(cut / tr.rate_hz)  # depends on the end


def test_short_flight_is_reported():
    rate = 1000.0
    x = np.full(4000, 700.0) + np.random.default_rng(1).normal(0, 1.5, 4000)
    x[2500:2600] += 700 * np.sin(np.linspace(0, np.pi, 100))  # a push ...
    x[2600:2650] = np.random.default_rng(2).normal(0, 1.5, 50)  # ... and 50 ms off the plate
    result = analyse(x, rate, "cmj")
    assert "short_flight" in codes(result)
    assert "flight_time_s" not in result.metrics


@pytest.mark.parametrize("force", [np.full(3000, 700.0), np.zeros(3000)])
def test_no_jump_is_refused(force):
    result = analyse(force + np.random.default_rng(0).normal(0, 1, 3000), RATE, "cmj")
    assert result.refused and not result.metrics
    assert codes(result) & {"no_takeoff", "unstable_weighing"}


def test_a_recording_cropped_to_half_a_second_of_standing_is_weighed_on_it():
    """Exports cropped just before the movement (Visual3D, fixtures/real-other): the stillest
    0.25 s widened over the quiet stance, with a short_weighing note."""
    tr = trial("cmj", seed=11)
    start = int((tr.truth.events["onset_s"] - 0.5) * tr.rate_hz)
    result = analyse(force_of(tr)[start:], tr.rate_hz, "cmj")
    assert "short_weighing" in codes(result) and "unstable_weighing" not in codes(result)
    truth = tr.truth.metrics
    assert result.metrics["body_weight_n"] == pytest.approx(truth["body_weight_n"], rel=2e-3)
    assert result.metrics["jump_height_m"] == pytest.approx(truth["jump_height_m"], abs=2e-3)


def test_too_little_standing_leaves_the_weight_based_metrics_out():
    tr = trial("cmj", seed=11)
    start = int((tr.truth.events["onset_s"] - 0.15) * tr.rate_hz)
    result = analyse(force_of(tr)[start:], tr.rate_hz, "cmj")
    assert "unstable_weighing" in codes(result) and not result.refused
    assert "jump_height_m" not in result.metrics and "body_weight_n" not in result.metrics
    assert result.metrics["flight_time_s"] == pytest.approx(tr.truth.metrics["flight_time_s"], abs=3e-3)
    assert_finite(result)


# ---------------------------------------------------------------------------- untrimmed, several

@pytest.mark.parametrize("where", ["step_off_before", "step_off_after"])
def test_untrimmed_recordings_find_the_jump_not_the_step(where):
    tr = trial("cmj", seed=12, untrimmed=where)
    result = analyse(force_of(tr), tr.rate_hz, "cmj")
    assert result.events["takeoff_s"] == pytest.approx(tr.truth.events["takeoff_s"], abs=1e-3)
    assert result.metrics["jump_height_m"] == pytest.approx(tr.truth.metrics["jump_height_m"], abs=0.002)


def test_several_jumps_first_analysed_others_reported_and_all_found_by_analyse_all():
    tr = trial("cmj", seed=13, second_jump=True)
    x = force_of(tr)
    result = analyse(x, tr.rate_hz, "cmj")
    assert "multiple_movements" in codes(result)
    issue = next(i for i in result.issues if i.code == "multiple_movements")
    assert issue.start_s == pytest.approx(tr.truth.events["onset_2_s"], abs=0.05)
    assert result.metrics["jump_height_m"] == pytest.approx(tr.truth.metrics["jump_height_m"], abs=0.002)
    every = analyse_all(x, tr.rate_hz, "cmj")
    assert len(every) == 2
    assert every[1].events["takeoff_s"] == pytest.approx(tr.truth.events["takeoff_2_s"], abs=1e-3)
    assert every[1].metrics["jump_height_m"] == pytest.approx(
        tr.truth.per_rep[1]["jump_height_m"], abs=0.002)
    assert every[0].metrics == result.metrics


# ---------------------------------------------------------------------------- drop jump

def test_dj_with_drop_height_and_weighing_after():
    tr = trial("dj", seed=14, plates=2)
    result = analyse(tr.force, tr.rate_hz, "dj", drop_height_m=0.30)
    m, t = result.metrics, tr.truth.metrics
    assert m["contact_time_s"] == pytest.approx(t["contact_time_s"], abs=2e-3)
    assert m["rsi"] == pytest.approx(m["jump_height_flight_m"] / m["contact_time_s"])
    assert m["jump_height_m"] == pytest.approx(t["jump_height_m"], abs=0.002)
    assert m["body_weight_n"] == pytest.approx(t["body_weight_n"], rel=0.002)
    assert m["peak_force_asym_pct"] == pytest.approx(t["peak_force_asym_pct"], abs=2.0)
    assert result.events["weighing_start_s"] > result.events["landing_s"]
    assert_finite(result)


def test_dj_body_mass_option_replaces_the_weighing():
    tr = trial("dj", seed=15)
    cut = int((tr.truth.events["landing_s"] + 0.5) * tr.rate_hz)  # no standing after
    x = force_of(tr)[:cut]
    without = analyse(x, tr.rate_hz, "dj", drop_height_m=0.30)
    assert "jump_height_m" not in without.metrics and "unstable_weighing" in codes(without)
    given = analyse(x, tr.rate_hz, "dj", body_mass_kg=75.0, drop_height_m=0.30)
    assert given.metrics["body_mass_kg"] == 75.0
    assert given.metrics["jump_height_m"] == pytest.approx(tr.truth.metrics["jump_height_m"], abs=0.002)
    assert "jump_height_m" not in analyse(x, tr.rate_hz, "dj", body_mass_kg=75.0).metrics


def test_dj_without_a_rebound_is_refused():
    x = np.concatenate([np.zeros(500), np.full(3000, 700.0)])
    result = analyse(x + np.random.default_rng(0).normal(0, 1, x.size), RATE, "dj")
    assert result.refused and "no_takeoff" in codes(result)
