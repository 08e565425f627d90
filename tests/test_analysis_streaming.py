"""Streaming analysis: the same results as the batch analysis, as soon as the data allow."""
from __future__ import annotations

import numpy as np
import pytest

from hil.analysis import TESTS, AnalysisInputError, analyse_all
from hil.analysis import streaming
from hil.analysis.streaming import StreamingAnalyser
from sim.generate import simulate


def options_for(test: str) -> dict:
    return {"drop_height_m": 0.30} if test == "dj" else {}


def stream(force: np.ndarray, rate: float, test: str, sizes, **options):
    """Feed ``force`` in blocks whose sizes cycle through ``sizes``; results with the index of
    the last sample fed when each was emitted (None: at finish)."""
    plates = 1 if force.ndim == 1 else force.shape[1]
    analyser = StreamingAnalyser(test, rate, plates=plates, **options)
    emitted, i, k = [], 0, 0
    while i < force.shape[0]:
        size = sizes[k % len(sizes)]
        k += 1
        for result in analyser.feed(force[i:i + size]):
            emitted.append((result, i + min(size, force.shape[0] - i) - 1))
        i += size
    emitted += [(result, None) for result in analyser.finish()]
    return emitted


def assert_same(batch, streamed) -> None:
    streamed = [(got, at) for got, at in streamed if got.step is None]  # running steps: see below
    assert len(streamed) == len(batch)
    for expected, (got, _) in zip(batch, streamed):
        assert got.to_dict() == expected.to_dict()  # every number to the last digit
        assert got.needed_until_s == expected.needed_until_s
        assert got.refused == expected.refused


def random_sizes(seed: int) -> list[int]:
    return np.random.default_rng(seed).integers(1, 101, size=500).tolist()


@pytest.mark.parametrize("test", TESTS)
@pytest.mark.parametrize("rate, plates, seed", [(500.0, 1, 1), (1000.0, 2, 2), (2000.0, 1, 3)])
def test_streaming_equals_batch_for_every_test(test, rate, plates, seed):
    trial = simulate(test, mass_kg=70.0, rate_hz=rate, plates=plates, noise="typical", seed=seed)
    force = trial.force if plates == 2 else trial.force[:, 0]
    batch = analyse_all(force, rate, test, **options_for(test))
    assert_same(batch, stream(force, rate, test, random_sizes(seed), **options_for(test)))


@pytest.mark.parametrize("sizes", [[1], [100], [7, 93, 1, 50]])
def test_block_sizes_do_not_change_the_result(sizes):
    trial = simulate("cmj", mass_kg=82.0, rate_hz=1000.0, plates=2, noise="typical", seed=4)
    batch = analyse_all(trial.force, 1000.0, "cmj")
    assert_same(batch, stream(trial.force, 1000.0, "cmj", sizes))


def test_cmj_result_is_emitted_with_the_last_sample_it_needs():
    trial = simulate("cmj", mass_kg=64.0, rate_hz=1000.0, noise="typical", seed=5)
    force = trial.force[:, 0]
    (result, at), = stream(force, 1000.0, "cmj", [1])
    assert at == int(round(result.needed_until_s * 1000.0))  # not one sample later
    assert result.needed_until_s < (force.shape[0] - 1) / 1000.0  # long before the end
    assert result.metrics["jump_height_m"] == pytest.approx(trial.truth.metrics["jump_height_m"], abs=0.002)


def test_each_movement_of_a_stream_is_a_result():
    trial = simulate("cmj", mass_kg=90.0, rate_hz=1000.0, noise="typical", seed=6, second_jump=True)
    force = trial.force[:, 0]
    batch = analyse_all(force, 1000.0, "cmj")
    streamed = stream(force, 1000.0, "cmj", random_sizes(6))
    assert len(batch) == 2 and all(at is not None for _, at in streamed)
    assert_same(batch, streamed)


def test_lost_samples_stream_like_batch_and_are_reported():
    trial = simulate("cmj", mass_kg=70.0, rate_hz=1000.0, noise="typical", seed=7)
    force = trial.force[:, 0].copy()
    at = int(trial.truth.events["propulsion_s"] * 1000)
    force[at:at + 20] = np.nan  # the bench passes NaN for samples the acquisition lost
    batch = analyse_all(force, 1000.0, "cmj")
    streamed = stream(force, 1000.0, "cmj", random_sizes(7))
    assert_same(batch, streamed)
    assert "gap" in {issue.code for issue in streamed[0][0].issues}


def test_recording_ending_in_flight_is_emitted_at_finish(real_dir):
    force = np.loadtxt(real_dir / "subject01_trial2.force.txt")
    batch = analyse_all(force, 1200.0, "cmj")
    streamed = stream(force, 1200.0, "cmj", random_sizes(8))
    assert_same(batch, streamed)
    assert streamed[0][1] is None  # it needed to know the recording had ended


def test_nothing_found_gives_one_refusal_at_finish():
    force = 700.0 + np.random.default_rng(9).normal(0.0, 1.5, 3000)
    streamed = stream(force, 1000.0, "cmj", [10])
    assert len(streamed) == 1 and streamed[0][0].refused and streamed[0][1] is None


@pytest.fixture
def prepare_calls(monkeypatch) -> list:
    """One entry per analysis attempt the streaming analyser makes."""
    calls = []
    real_prepare = streaming.prepare

    def counting(*args, **kwargs):
        calls.append(1)
        return real_prepare(*args, **kwargs)

    monkeypatch.setattr(streaming, "prepare", counting)
    return calls


def test_the_module_is_not_rerun_on_every_block(prepare_calls):
    calls = prepare_calls
    trial = simulate("cmj", mass_kg=75.0, rate_hz=1000.0, noise="typical", seed=10)
    force = trial.force[:, 0]
    stream(force, 1000.0, "cmj", [1])
    assert len(calls) <= force.shape[0] / 10 + 5  # at most one attempt per 10 ms of data


def test_bad_blocks_and_arguments_are_refused():
    analyser = StreamingAnalyser("cmj", 1000.0, plates=2)
    with pytest.raises(AnalysisInputError):
        analyser.feed(np.ones(5))  # one column for two plates
    with pytest.raises(AnalysisInputError):
        analyser.feed(np.ones((101, 2)))
    with pytest.raises(AnalysisInputError):
        StreamingAnalyser("jump", 1000.0)
    with pytest.raises(AnalysisInputError):
        StreamingAnalyser("cmj", -1.0)
    analyser.finish()
    with pytest.raises(AnalysisInputError):
        analyser.feed(np.ones((1, 2)))


def test_run_is_analysed_once_at_finish(prepare_calls):
    """A run's whole result covers the whole recording (it rests on its end): no attempt at it
    before finish() (its steps come on their own, see above)."""
    calls = prepare_calls
    trial = simulate("run", mass_kg=70.0, rate_hz=1000.0, plates=2, noise="typical", seed=11)
    streamed = stream(trial.force, 1000.0, "run", random_sizes(11))
    assert len(calls) == 1 and all(at is None for r, at in streamed if r.step is None)
    assert_same(analyse_all(trial.force, 1000.0, "run"), streamed)


@pytest.mark.parametrize("test", TESTS)
@pytest.mark.parametrize("damage, code", [("holes", "gap"), ("clip", "saturation")])
def test_streaming_equals_batch_on_damaged_recordings(test, damage, code):
    trial = simulate(test, mass_kg=80.0, rate_hz=1000.0, plates=2, noise="typical", seed=12)
    force = trial.force.copy()
    rng = np.random.default_rng(12)
    if damage == "holes":  # lost samples scattered over the recording, in one plate
        force[rng.choice(force.shape[0], 6, replace=False), 0] = np.nan
    else:  # a plate whose full scale is below the largest force
        force = np.minimum(force, 0.8 * np.nanmax(force, axis=0))
    batch = analyse_all(force, 1000.0, test, **options_for(test))
    assert_same(batch, stream(force, 1000.0, test, random_sizes(12), **options_for(test)))
    assert code in {issue.code for result in batch for issue in result.issues}


@pytest.mark.parametrize("plates, rate", [(2, 1000.0), (1, 500.0), (2, 2000.0)])
def test_running_reports_each_step_as_it_completes(plates, rate):
    """A result per step, emitted STEP_FLIGHT_S after its takeoff whatever the block sizes, with
    the batch analysis's steps (same count, times within a sample and 1 ms, forces within 0.5 %)
    and the per-leg asymmetry so far; the whole-session result still comes at the end."""
    from hil.analysis.run import STEP_FLIGHT_S

    trial = simulate("run", mass_kg=70.0, rate_hz=rate, plates=plates, noise="typical", seed=5)
    force = trial.force if plates == 2 else trial.force[:, 0]
    (batch,) = analyse_all(force, rate, "run")
    runs = [stream(force, rate, "run", sizes) for sizes in ([1], random_sizes(5))]
    for emitted in runs:
        steps = [(r, at) for r, at in emitted if r.step is not None]
        (whole, at_end) = emitted[-1]
        assert whole.step is None and at_end is None and whole.to_dict() == batch.to_dict()
        assert [r.step for r, _ in steps] == list(range(1, len(batch.per_rep) + 1))
        for (result, fed), rep in zip(steps, batch.per_rep):
            assert result.events["takeoff_s"] == pytest.approx(rep["takeoff_s"], abs=1 / rate + 0.001)
            assert result.metrics["contact_time_s"] == pytest.approx(rep["contact_time_s"], abs=1 / rate + 0.001)
            assert result.metrics["peak_force_n"] == pytest.approx(rep["peak_force_n"], rel=0.005)
            assert result.metrics["vertical_impulse_n_s"] == pytest.approx(rep["vertical_impulse_n_s"], rel=0.005)
            # emitted by the block holding the sample STEP_FLIGHT_S after the takeoff
            assert result.needed_until_s <= fed / rate
            assert result.needed_until_s - result.events["takeoff_s"] <= STEP_FLIGHT_S + 0.005
        last = steps[-1][0].metrics
        if plates == 2:
            assert last["contact_time_asym_pct"] == pytest.approx(batch.metrics["contact_time_asym_pct"], abs=0.5)
        else:
            assert "contact_time_asym_pct" not in last
    assert [r.to_dict() for r, _ in runs[0]] == [r.to_dict() for r, _ in runs[1]]  # blocks change nothing
