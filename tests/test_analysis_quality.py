"""Every quality code of the analysis: detected on a recording made to show it, with its time span."""
from __future__ import annotations

import warnings

import numpy as np
import pytest

from hil.analysis import analyse
from hil.analysis.result import Issue
from hil.analysis.signal import TESTS, Signal, prepare
from sim.generate import simulate

RATE = 1000.0


def trial(test: str, seed: int = 3, **options):
    return simulate(test, mass_kg=72.0, rate_hz=RATE, noise="typical", seed=seed, **options)


def total(tr) -> np.ndarray:
    return tr.force[:, 0].copy()


def issue(result, code: str):
    """The one issue with ``code``; every issue's span lies inside the recording."""
    found = [i for i in result.issues if i.code == code]
    assert found, f"no {code}: {[i.code for i in result.issues]}"
    return found[0]


def check_spans(result, n: int) -> None:
    for i in result.issues:
        assert i.start_s is not None and i.end_s is not None, i
        assert 0.0 <= i.start_s <= i.end_s <= (n - 1) / RATE + 1e-9, i


def test_gap_spans_the_lost_samples():
    x = total(trial("cmj"))
    x[300:305] = np.nan  # lost while standing, before the weighing the analysis needs
    result = analyse(x, RATE, "cmj")
    gap = issue(result, "gap")
    assert (gap.start_s, gap.end_s) == (0.300, 0.304)
    check_spans(result, x.size)


def test_nonfinite_samples_span_the_infinite_sample():
    x = total(trial("iso"))
    x[250] = np.inf
    result = analyse(x, RATE, "iso")
    bad = issue(result, "nonfinite_samples")
    assert (bad.start_s, bad.end_s) == (0.250, 0.250)
    check_spans(result, x.size)


@pytest.mark.parametrize("test, metric", [("cmj", "landing_peak_force_n"), ("dj", "peak_force_n"),
                                          ("iso", "peak_force_n")])
def test_saturation_spans_the_clipped_samples_and_leaves_the_peak_out(test, metric):
    tr = trial(test)
    x = total(tr)
    full_scale = 0.9 * x.max()  # a plate that clips the largest force (landing, contact, hold)
    clipped = np.minimum(x, full_scale)
    result = analyse(clipped, RATE, test, drop_height_m=0.3 if test == "dj" else None)
    saturation = issue(result, "saturation")
    held = np.flatnonzero(clipped == full_scale) / RATE
    assert saturation.start_s == held[0] and saturation.end_s <= held[-1]
    assert metric not in result.metrics and metric in analyse(
        x, RATE, test, drop_height_m=0.3 if test == "dj" else None).metrics
    check_spans(result, x.size)


def test_negative_force_spans_the_off_zero_stretch():
    tr = trial("hops")
    x = total(tr)
    flight = int((tr.truth.per_rep[3]["takeoff_s"] + 0.03) * RATE)
    x[flight:flight + 20] = -40.0  # a plate reading below zero for 20 ms
    result = analyse(x, RATE, "hops")
    negative = issue(result, "negative_force")
    assert (negative.start_s, negative.end_s) == (flight / RATE, (flight + 19) / RATE)
    check_spans(result, x.size)


def test_unstable_weighing_spans_the_weighing_window():
    tr = trial("cmj")
    x = total(tr)
    takeoff = int(tr.truth.events["takeoff_s"] * RATE)
    before = np.arange(takeoff) / RATE
    x[:takeoff] += 40 * np.sin(2 * np.pi * 1.5 * before) * (before < tr.truth.events["onset_s"] - 0.1)
    result = analyse(x, RATE, "cmj")
    unstable = issue(result, "unstable_weighing")
    assert unstable.end_s - unstable.start_s == pytest.approx(1.0, abs=0.02)  # the stillest 1 s
    assert unstable.end_s < tr.truth.events["takeoff_s"]
    assert "body_weight_n" not in result.metrics and "jump_height_m" not in result.metrics
    assert "flight_time_s" in result.metrics  # what needs no weighing is kept
    check_spans(result, x.size)


@pytest.mark.parametrize("test", ["cmj", "sj", "dj", "hops", "run"])
def test_no_takeoff_spans_the_recording(test):
    x = 700.0 + np.random.default_rng(5).normal(0.0, 1.5, 3000)  # standing still, never off the plate
    result = analyse(x, RATE, test)
    assert result.refused and not result.metrics
    refusal = issue(result, "no_takeoff")
    assert refusal.start_s == 0.0 and refusal.end_s == pytest.approx(2.999)


def test_no_onset_when_there_is_no_pull():
    x = 700.0 + np.random.default_rng(6).normal(0.0, 1.5, 3000)
    result = analyse(x, RATE, "iso")
    refusal = issue(result, "no_onset")
    assert result.refused and refusal.end_s == pytest.approx(2.999) and refusal.start_s < 1.0


@pytest.mark.parametrize("test", ["cmj", "dj", "hops"])
def test_no_landing_spans_from_the_takeoff_to_the_end(test):
    tr = trial(test)
    takeoffs = [rep["takeoff_s"] for rep in tr.truth.per_rep] or [tr.truth.events["takeoff_s"]]
    cut = int((takeoffs[-1] + 0.05) * RATE)  # the recording ends in the last flight
    x = total(tr)[:cut]
    result = analyse(x, RATE, test, drop_height_m=0.3 if test == "dj" else None)
    landing = issue(result, "no_landing")
    assert landing.start_s == pytest.approx(takeoffs[-1], abs=0.003)
    assert landing.end_s == pytest.approx((cut - 1) / RATE)
    check_spans(result, x.size)


def test_multiple_movements_spans_the_next_one():
    tr = trial("cmj", second_jump=True)
    x = total(tr)
    result = analyse(x, RATE, "cmj")
    more = issue(result, "multiple_movements")
    assert result.needed_until_s < more.start_s < more.end_s < x.size / RATE
    check_spans(result, x.size)


def test_short_flight_spans_the_flight():
    x = 700.0 + np.random.default_rng(1).normal(0, 1.5, 4000)
    x[2500:2600] += 700 * np.sin(np.linspace(0, np.pi, 100))  # a push ...
    x[2600:2650] = np.random.default_rng(2).normal(0, 1.5, 50)  # ... and 50 ms off the plate
    result = analyse(x, RATE, "cmj")
    short = issue(result, "short_flight")
    assert short.start_s == pytest.approx(2.600, abs=0.002)
    assert short.end_s == pytest.approx(2.650, abs=0.002)
    assert "flight_time_s" not in result.metrics


def test_iso_codes_no_release_and_short_hold():
    tr = trial("iso")
    x = total(tr)
    onset = tr.truth.events["onset_s"]
    cut = int((onset + 1.0) * RATE)  # the recording ends inside the hold
    refused = analyse(x[:cut], RATE, "iso")
    assert refused.refused and issue(refused, "no_release").end_s == pytest.approx((cut - 1) / RATE)
    x[int((onset + 0.15) * RATE)] = np.nan  # a lost sample inside the 200 ms RFD window only
    result = analyse(x, RATE, "iso")
    short = issue(result, "short_hold")
    assert "rfd_0_200_n_s" not in result.metrics and "rfd_0_100_n_s" in result.metrics
    assert short.start_s == pytest.approx(onset, abs=0.01)
    assert short.end_s == pytest.approx(onset + 0.2, abs=0.01)
    check_spans(result, x.size)


def test_hops_code_no_rebound():
    tr = trial("cmj")  # one jump, no rebound
    result = analyse(total(tr), RATE, "hops")
    assert result.refused and issue(result, "no_rebound").end_s > tr.truth.events["landing_s"]


def test_run_codes_no_impact_peak_and_lost_steps():
    tr = simulate("run", mass_kg=72.0, rate_hz=RATE, noise="typical", seed=3, strike="forefoot")
    x = total(tr)
    third = tr.truth.per_rep[2]
    x[int((third["touchdown_s"] + 0.05) * RATE)] = np.nan
    result = analyse(x, RATE, "run")
    no_impact = issue(result, "no_impact_peak")
    assert no_impact.start_s < no_impact.end_s
    lost = issue(result, "gap")  # the input's gap and the step it spoils
    spoiled = [i for i in result.issues if i.code == "gap" and "step" in i.message]
    assert lost and spoiled and spoiled[0].start_s == pytest.approx(third["touchdown_s"], abs=0.003)
    assert result.metrics["step_count"] == tr.truth.metrics["step_count"]
    assert len(result.per_rep) == tr.truth.metrics["step_count"] - 1
    check_spans(result, x.size)


@pytest.mark.parametrize("test", ["cmj", "sj", "dj"])
@pytest.mark.parametrize("value, code", [(np.nan, "gap"), (np.inf, "nonfinite_samples")])
def test_bad_samples_in_the_landing_window_keep_their_own_code(test, value, code):
    tr = trial(test)
    x = total(tr)
    landing = tr.truth.events["landing_s"]
    x[int((landing + 0.03) * RATE):int((landing + 0.04) * RATE)] = value  # lost, not clipped
    result = analyse(x, RATE, test)
    window = [i for i in result.issues if "landing window" in i.message]
    assert [i.code for i in window] == [code] and "landing_peak_force_n" not in result.metrics
    assert "saturation" not in {i.code for i in result.issues}


def test_bad_code_finds_an_issue_that_ends_where_the_samples_start():
    k = 1001  # 1001 / 1000 * 1000 falls just short of 1001 in floating point
    clipped = Issue("saturation", "held", 0.990, k / RATE)
    signal = Signal(np.zeros((2000, 1)), np.zeros(2000), RATE, np.zeros(2000, bool), (clipped,))
    assert signal.bad_code(k, k + 10) == "saturation"


def _holed(n: int) -> np.ndarray:
    x = np.full((n, 2), 350.0)
    x[n // 2:] = np.nan
    return x


@pytest.mark.parametrize("test", TESTS)
@pytest.mark.parametrize("force", [np.full((2000, 2), np.nan), np.zeros((2000, 2)),
                                   np.full((3, 1), 700.0), _holed(2000)],
                         ids=["all_nan", "unloaded", "three_samples", "half_lost"])
def test_degenerate_recordings_warn_nothing(test, force):
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)  # empty means, all-NaN reductions
        result = analyse(force, RATE, test)
    assert result.issues


@pytest.mark.parametrize("test", ["cmj", "sj"])
def test_a_block_of_minus_infinity_warns_nothing(test):
    x = total(trial(test))
    x[1500:1700] = -np.inf  # under the unloaded threshold: a "flight" without one finite sample
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)  # the mean of an empty slice
        result = analyse(x, RATE, test)
    assert "nonfinite_samples" in {i.code for i in result.issues}


@pytest.mark.parametrize("test", ["cmj", "sj", "dj"])
def test_infinite_samples_in_one_plates_flight_leave_no_nan_asymmetry(test):
    tr = simulate(test, mass_kg=72.0, rate_hz=RATE, noise="typical", seed=3, plates=2)
    x = tr.force.copy()
    events = tr.truth.events
    x[int((events["takeoff_s"] + 0.02) * RATE):int((events["landing_s"] - 0.02) * RATE), 0] = -np.inf
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)  # inf − inf in the plate's flight level
        result = analyse(x, RATE, test)
    assert "nonfinite_samples" in {i.code for i in result.issues}
    assert "landing_peak_force_asym_pct" in result.metrics
    assert all(np.isfinite(value) for value in result.metrics.values())


def test_an_infinite_plateau_is_nonfinite_not_saturation():
    x = 700.0 + np.random.default_rng(1).normal(0.0, 2.0, 200)
    x[10], x[13:20] = np.inf, np.inf  # inf − inf in the plateau's rise, before the fix
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        signal = prepare(x, RATE)
    assert [i.code for i in signal.issues] == ["nonfinite_samples", "nonfinite_samples"]
    assert signal.bad[13:20].all()


@pytest.mark.parametrize("recorded, asked", [("cmj", "sj"), ("sj", "cmj"), ("cmj", "iso"),
                                             ("sj", "iso"), ("hops", "iso"), ("hops", "cmj"),
                                             ("hops", "sj")])
def test_a_recording_of_another_movement_is_a_movement_mismatch(recorded, asked):
    """A countermovement jump analysed as a squat jump (or the reverse), a flight inside an
    isometric hold, a rebound after a single jump: a quality issue, never 'quality ok'."""
    flagged = 0
    for seed in (3, 4, 5):
        tr = trial(recorded, seed=seed)
        result = analyse(total(tr), RATE, asked)
        assert not result.quality["ok"]  # a refusal (nothing found to measure) also will do
        found = [i for i in result.issues if i.code == "movement_mismatch"]
        assert found or result.refused
        flagged += bool(found)
        assert all(0 <= i.start_s <= i.end_s <= tr.time[-1] for i in found)
    assert flagged >= 2


@pytest.mark.parametrize("test", ["cmj", "sj", "iso", "hops", "dj"])
def test_the_movement_asked_for_is_no_mismatch(test):
    for seed in range(6):
        tr = simulate(test, rate_hz=RATE, noise="high" if seed % 2 else "typical", seed=seed,
                      sway=seed % 3 == 0)
        options = {"drop_height_m": 0.30} if test == "dj" else {}
        result = analyse(total(tr), RATE, test, **options)
        assert "movement_mismatch" not in [i.code for i in result.issues], (test, seed)
