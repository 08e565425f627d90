"""hil.bench stages: trial routing by sample index, holes, latency attachment, evaluation."""
from dataclasses import replace

import numpy as np
import pytest

from hil.analysis.result import Issue, Result
from hil.bench import plan, score, stream
from hil.bench.record import Counts, LatencyFigure, LatencySummary
from hil.emulator.timing import TIMING_DTYPE
from hil.spec import PassRate
from sim.scenario import TrialPlan
from sim.trial import Truth


class Recorder:
    """Stands in for a StreamingAnalyser where only the routing is under test."""

    def __init__(self, needed_s=None):
        self.rows, self.finished, self.needed_s = [], 0, needed_s

    def feed(self, block):
        self.rows.append(np.array(block))
        return []

    def finish(self):
        self.finished += 1
        if self.needed_s is None:
            return []
        return [Result("cmj", 1000.0, {"jump_height_m": 0.3}, {}, (), (), needed_until_s=self.needed_s)]


def _truth(truth=None, events=None, test="cmj", per_rep=()):
    return Truth(test, truth or {"jump_height_m": 0.3}, events or {}, tuple(per_rep))


def _runs(lengths, gap):
    runs, position = [], 0
    for i, n in enumerate(lengths):
        plan = TrialPlan(i, "cmj", i, 70.0, 1000.0)
        runs.append(stream.TrialRun(plan, _truth(), position, Recorder(0.0), n, 2))
        position += n + gap
    return runs, position


@pytest.mark.parametrize("block", [1, 7, 100, 1000])
def test_router_cuts_at_trial_boundaries_for_any_block_size(block):
    runs, total = _runs([50, 80, 30], gap=10)
    router = stream.Router(runs, total)
    data = np.arange(total * 2, dtype=float).reshape(total, 2)
    for first in range(0, total, block):
        router.feed(first, data[first:first + block])
    router.finish()
    for run in runs:
        got = np.concatenate(run.analyser.rows)
        assert np.array_equal(got, data[run.start:run.stop])
        assert np.array_equal(run.force, got) and run.analyser.finished == 1 and run.done


def test_router_fills_holes_with_nan_and_ignores_repeats():
    runs, total = _runs([50], gap=5)
    router = stream.Router(runs, total)
    data = np.ones((total, 2))
    router.feed(0, data[:20])
    router.feed(30, data[30:40])  # samples 20..29 never arrived
    router.feed(35, data[35:45])  # 35..39 again
    router.finish()  # the stream ended early: 45..49 are missing too
    force = runs[0].force
    assert np.isnan(force[20:30]).all() and np.isfinite(force[30:45]).all() and np.isnan(force[45:]).all()
    assert sum(r.shape[0] for r in runs[0].analyser.rows) == 50
    assert runs[0].holes == stream.hole_spans(force, 1000.0) == [(0.020, 0.029), (0.045, 0.049)]


def _timing(count=220, first=2**32 - 60):
    timing = np.zeros(count, dtype=TIMING_DTYPE)
    timing["counter"] = (np.arange(count) + first) % 2**32  # the counter wraps mid-stream
    timing["write_ns"] = np.arange(count) * 100_000  # 0.1 ms per sample
    return timing


def test_compute_latency_is_emit_time_minus_write_time_of_the_needed_sample():
    runs, _ = _runs([100, 100], gap=0)
    runs[0].results.append((Result("cmj", 1000.0, {}, {}, (), (), needed_until_s=0.050), 10_000_000))
    runs[1].results.append((Result("cmj", 1000.0, {}, {}, (), (), needed_until_s=0.020), 30_000_000))
    # resting on the trial's end (None, or one sample past it): the trial's last sample, 199
    runs[1].results.append((Result("cmj", 1000.0, {}, {}, (), (), needed_until_s=None), 30_000_000))
    runs[1].results.append((Result("cmj", 1000.0, {}, {}, (), (), needed_until_s=0.100), 30_000_000))
    score.attach_latencies(runs, _timing(), counter0=2**32 - 60, rate_hz=1000.0)
    assert runs[0].compute_s == pytest.approx([0.010 - 0.0050])
    assert runs[1].compute_s == pytest.approx([0.030 - 0.0120, 0.030 - 0.0199, 0.030 - 0.0199])


def test_movement_latency_runs_from_the_true_end_not_from_what_the_analysis_chose():
    """An analysis that waits 60 ms past the landing before emitting: its compute latency
    (from the sample it said it needed) stays small, its movement latency shows the wait."""
    plan = TrialPlan(0, "cmj", 0, 70.0, 1000.0)
    run = stream.TrialRun(plan, _truth(events={"landing_s": 0.1004}), 0, Recorder(), 200, 2, fed=200)
    emitted = 161 * 100_000 + 500_000  # 0.5 ms after sample 161 was written
    run.results.append((_result({"jump_height_m": 0.3}, needed=0.161), emitted))
    run.results.append((_result({"jump_height_m": 0.3}, needed=0.170), emitted))  # a second one
    score.attach_latencies([run], _timing(count=200, first=0), counter0=0, rate_hz=1000.0)
    assert run.compute_s == pytest.approx([0.0005, 0.0005 - 0.0009])
    # the landing at 100.4 ms shows first in sample 101; only the first result reports it
    assert run.movement_s == pytest.approx([0.0161 + 0.0005 - 0.0101])


def test_a_drop_jump_is_timed_from_the_end_of_the_standing_it_is_weighed_on():
    """Its body weight needs the standing after the landing (up to 3.3 s of it): the movement
    ends there, or where the recording does, not at the landing."""
    plan = TrialPlan(0, "dj", 0, 70.0, 1000.0)
    long = stream.TrialRun(plan, _truth(events={"landing_s": 0.010}, test="dj"), 0, Recorder(),
                           4000, 2, fed=4000)
    short = stream.TrialRun(plan, _truth(events={"landing_s": 0.010}, test="dj"), 4000, Recorder(),
                            2000, 2, fed=2000)
    long.results.append((_result({"rsi": 1.2}, needed=3.309), 3_400_000_000))
    short.results.append((_result({"rsi": 1.2}, needed=None), 6_100_000_000))
    score.attach_latencies([long, short], _timing(count=6000, first=0), counter0=0, rate_hz=1000.0)
    assert long.movement_s == pytest.approx([3.4 - 0.1 * 3.310])  # landing + 3.3 s: sample 3310
    assert short.movement_s == pytest.approx([6.1 - 0.1 * 5.999])  # the recording's last sample


def test_running_steps_are_timed_from_their_true_takeoff_and_the_session_apart():
    steps = [{"touchdown_s": 0.010, "takeoff_s": 0.050, "contact_time_s": 0.040},
             {"touchdown_s": 0.090, "takeoff_s": 0.130, "contact_time_s": 0.040}]
    plan = TrialPlan(0, "run", 0, 70.0, 1000.0)
    run = stream.TrialRun(plan, _truth({"step_count": 2}, test="run", per_rep=steps), 0,
                          Recorder(), 200, 2, fed=200)
    step = Result("run", 1000.0, {"contact_time_s": 0.040}, {"takeoff_s": 0.0502}, (), (),
                  needed_until_s=0.080, step=1)
    whole = Result("run", 1000.0, {"step_count": 2.0}, {}, (), (), needed_until_s=None)
    run.results += [(step, 9_000_000), (whole, 21_000_000)]
    score.attach_latencies([run], _timing(count=200, first=0), counter0=0, rate_hz=1000.0)
    assert run.compute_s == pytest.approx([0.009 - 0.008])
    assert run.movement_s == pytest.approx([0.009 - 0.005])
    assert run.session_s == pytest.approx([0.021 - 0.0199])


def _run_with(result, acquisition=()):
    plan = TrialPlan(0, "cmj", 0, 70.0, 1000.0)
    truth = {"jump_height_m": 0.30, "peak_force_n": 1800.0, "flight_time_s": 0.5}
    run = stream.TrialRun(plan, _truth(truth), 0, Recorder(), 100, 2, fed=100)
    if result is not None:
        run.results.append((result, 0))
    run.acquisition_issues.extend(acquisition)
    return run


def _result(metrics, issues=(), needed=1.0):
    return Result("cmj", 1000.0, metrics, {}, (), tuple(issues), needed_until_s=needed)


def test_evaluate_pass_fail_and_missing():
    good = _result({"jump_height_m": 0.301, "peak_force_n": 1801.0, "flight_time_s": 0.5})
    record, checks = score.evaluate(_run_with(good), None, (), 1000.0)
    assert record.status == "pass" and len(checks) == 3 and all(c.passed for c in checks)
    bad = _result({"jump_height_m": 0.31, "peak_force_n": 1801.0, "flight_time_s": 0.5})
    record, checks = score.evaluate(_run_with(bad), ["jump_height_m"], (), 1000.0)
    assert record.status == "fail" and [c.name for c in checks] == ["jump_height_m"]
    record, checks = score.evaluate(_run_with(None), None, (), 1000.0)
    assert record.status == "fail" and "no result" in record.notes[0]
    assert all(c.measured is None and not c.passed for c in checks)


def test_evaluate_trial_hit_by_a_hole():
    gap = Issue("gap", "3 samples lost", 0.5, 0.502)
    honest = _result({"peak_force_n": 1800.0}, [Issue("nonfinite_samples", "3", 0.5, 0.502)])
    record, checks = score.evaluate(_run_with(honest, [gap]), None, ("gap",), 1000.0)
    assert record.status == "flagged" and checks == []  # flagged trials do not count
    assert record.issues[0].code == "gap"
    record, _ = score.evaluate(_run_with(honest, [gap]), None, (), 1000.0)
    assert record.status == "fail" and "unexpected acquisition issues: gap" in record.notes
    confident = _result({"jump_height_m": 0.3}, needed=1.0)
    record, _ = score.evaluate(_run_with(confident, [gap]), None, ("gap",), 1000.0)
    assert record.status == "fail" and "confident metrics" in record.notes[0]
    after = _result({"jump_height_m": 0.3}, needed=0.4)  # emitted before the hole: fine
    record, _ = score.evaluate(_run_with(after, [gap]), None, ("gap",), 1000.0)
    assert record.status == "flagged"


def _figure(p99=None, maximum=0.004, count=10, limit=0.005, checked=True, met=True,
            measurable=True):
    summary = LatencySummary(count, 0.002, p99, maximum)
    return LatencyFigure("compute", "a", "b", summary, limit, checked, met, measurable,
                         None if measurable else "2 of 10 values are negative")


def _record(status, notes=()):
    record, _ = score.evaluate(_run_with(_result({"jump_height_m": 0.3})), None, (), 1000.0)
    return replace(record, status=status, notes=tuple(notes))


def _counts(scored=1, trials=1, flagged=0, failed=0, min_scored=0.5):
    return Counts(trials, scored, flagged, failed, trials - flagged - failed, min_scored)


def test_verdict_reasons():
    rates = [PassRate("cmj", "jump_height_m", 9, 10, 0.95)]
    trials = [_record("fail", ("the analysis emitted no result",))]
    latency = [_figure(maximum=0.009, met=False)]
    reasons = score.verdict(_counts(), rates, trials, latency, ["gap", "crc_error"],
                            {"gap", "clock_drift", "stall"}, fast=False)
    assert len(reasons) == 5
    assert "90.0 %" in reasons[0] and "no result" in reasons[1] and "'crc_error'" in reasons[2]
    assert reasons[3] == "acquisition issues the scenario does not expect: clock_drift"
    assert "max 9.00 ms" in reasons[4] and "EXCEEDED" in reasons[4]
    rates = [PassRate("cmj", "jump_height_m", 10, 10, 0.95)]
    assert score.verdict(_counts(), rates, [_record("pass")], [_figure()], ["gap"], {"gap", "stall"},
                         fast=False) == []  # a stall only delays


def test_nothing_verified_is_not_a_pass():
    reasons = score.verdict(_counts(scored=0, trials=3, flagged=3), [], [], [_figure()], [], set(),
                            fast=False)
    assert reasons == ["nothing verified: 0 of 3 trials scored (3 flagged by acquisition, 0 failed)"]
    reasons = score.verdict(_counts(scored=1, trials=4, flagged=3), [], [], [_figure()], [], set(),
                            fast=False)
    assert reasons and "only 1 of 4 trials scored (25 % < 50 %, check.min_scored)" in reasons[0]
    assert score.verdict(_counts(scored=2, trials=4, flagged=2), [], [], [_figure()], [], set(),
                         fast=False) == []


def test_counts_scored_flagged_failed():
    records = [_record("pass"), _record("fail"), _record("flagged")]
    counts = score.count(records, [["check"], ["check"], []], 0.5)
    assert (counts.trials, counts.scored, counts.flagged, counts.failed, counts.passed) == (3, 2, 1, 1, 1)
    assert score.count(records, [[], [], []], 0.5).scored == 0  # no checked metric applied


def test_latency_figure_holds_the_max_below_100_values_and_the_p99_from_100():
    few = score.latency_figure("compute", "a", "b", [0.001] * 98 + [0.006], limit_s=0.005, fast=False,
                               clock_problem=None)
    assert few.summary.p99_s is None and few.summary.statistic == "max" and few.met is False
    many = score.latency_figure("compute", "a", "b", [0.001] * 199 + [0.006], limit_s=0.005,
                                fast=False, clock_problem=None)
    assert many.summary.count == 200 and many.summary.statistic == "p99" and many.met is True


def test_impossible_latencies_are_not_measurable_and_never_met():
    negative = score.latency_figure("compute", "a", "b", [0.001, -0.002, 0.001], limit_s=0.005,
                                    fast=False, clock_problem=None)
    assert not negative.measurable and negative.met is None and "1 of 3 values are negative" in negative.note
    reasons = score.verdict(_counts(), [], [], [negative], [], set(), fast=False)
    assert reasons and "not measurable" in reasons[0]
    other = score.latency_figure("compute", "a", "b", [0.001], limit_s=0.005, fast=False,
                                 clock_problem="the timing log's times lie outside this stream")
    assert not other.measurable and other.met is None and "outside" in other.note
    assert stream.clock_problem(_timing(), opened_ns=5, ended_ns=10**12) is not None  # before the plate opened
    assert stream.clock_problem(_timing() , opened_ns=0, ended_ns=10**12) is None


def test_a_stall_delays_samples_but_does_not_flag_the_trial():
    stall = Issue("stall", "no data for 0.2 s", 0.5, 0.5)
    good = _result({"jump_height_m": 0.3, "peak_force_n": 1800.0, "flight_time_s": 0.5})
    record, checks = score.evaluate(_run_with(good, [stall]), None, (), 1000.0)
    assert record.status == "pass" and len(checks) == 3
    assert record.acquisition_issues == () and record.issues[0].code == "stall"


def test_assign_issues_to_trials_in_trial_time_and_explain_every_hole():
    runs, total = _runs([100, 100], gap=50)  # trial 1 starts at sample 150
    data = np.ones((total, 2))
    data[160:163, 1] = np.nan  # a hole the acquisition explains
    data[210, 0] = np.nan  # one nobody explained (e.g. the stream ended)
    router = stream.Router(runs, total)
    router.feed(0, data)
    issues = [Issue("gap", "3 missing", 0.160, 0.163), Issue("gap", "in the quiet gap", 0.120, 0.121),
              Issue("crc_error", "2 corrupt")]
    score.assign_issues(runs, issues, 1000.0)
    assert runs[0].acquisition_issues == []
    first, second = runs[1].acquisition_issues
    assert first.message == "3 missing" and first.start_s == pytest.approx(0.010)
    assert second.code == "gap" and second.start_s == pytest.approx(0.060)


class Crashing(Recorder):
    def feed(self, block):
        if len(self.rows) == 2:
            raise IndexError("index 7 is out of bounds")
        return super().feed(block)


def test_an_analysis_that_crashes_fails_its_trial_and_the_bench_goes_on():
    runs, total = _runs([50, 50], gap=0)
    runs[0].analyser = Crashing()
    router = stream.Router(runs, total)
    for first in range(0, total, 10):
        router.feed(first, np.ones((10, 2)))
    assert runs[0].crash == "the analysis raised IndexError: index 7 is out of bounds"
    assert runs[1].done and len(runs[1].analyser.rows) == 5 and runs[1].results
    record, _ = score.evaluate(runs[0], None, (), 1000.0)
    assert record.status == "fail" and record.notes == (runs[0].crash,)


def test_progress_is_a_bar_on_a_terminal_and_periodic_lines_otherwise(monkeypatch):
    import io

    from hil import progress

    class Terminal(io.StringIO):
        def isatty(self):
            return True

    screen = Terminal()
    bar = progress.Progress(1000, "quick", stream=screen, rate_hz=1000.0)
    bar.update(500)
    bar.close(1000)
    assert screen.getvalue().startswith("\r[") and "100.0 %" in screen.getvalue()
    assert screen.getvalue().endswith("\n") and "#" * progress.BAR_WIDTH in screen.getvalue()
    log = io.StringIO()
    lines = progress.Progress(1000, "quick", stream=log)
    for done in range(0, 1000, 10):
        lines.update(done)  # within LINE_EVERY_S: nothing yet
    lines.close(1000)
    assert log.getvalue() == "quick 100.0 %\n"


def test_drop_jumps_tell_the_analysis_their_box_height():
    assert plan.drop_height(TrialPlan(0, "dj", 0, 70.0, 1000.0, {"drop_height_m": 0.45})) == 0.45
    assert plan.drop_height(TrialPlan(0, "dj", 0, 70.0, 1000.0)) == 0.30  # sim.movements.dj's default
    assert plan.drop_height(TrialPlan(0, "cmj", 0, 70.0, 1000.0)) is None


def test_a_crash_fails_the_trial_even_when_the_acquisition_lost_samples():
    gap = Issue("gap", "1 sample missing", 0.5, 0.501)
    run = _run_with(None, [gap])
    run.crash = "the analysis raised ValueError: shapes (12,) (21,)"
    record, checks = score.evaluate(run, None, ("gap",), 1000.0)
    assert record.status == "fail" and run.crash in record.notes and checks == []


def test_latency_summary():
    summary = LatencySummary.of(np.arange(1, 101) / 1000)
    assert summary.count == 100 and summary.max_s == pytest.approx(0.1)
    assert summary.p50_s == pytest.approx(0.0505) and summary.p99_s == pytest.approx(0.09901)
    assert LatencySummary.of([]) == LatencySummary(0, None, None, None)


def test_a_second_result_for_one_movement_fails_the_trial():
    good = _result({"jump_height_m": 0.301, "peak_force_n": 1801.0, "flight_time_s": 0.5})
    run = _run_with(good)
    record, _ = score.evaluate(run, None, (), 1000.0)
    assert record.status == "pass"
    run.results.append((_result({"jump_height_m": 0.05}, needed=1.5), 0))  # a spurious detection
    record, checks = score.evaluate(run, None, (), 1000.0)
    assert record.status == "fail" and "2 results for one cmj" in record.notes[0]
    assert checks and all(c.passed for c in checks)  # the first result was right: still a fail


def _run_trial(step_results):
    steps = [{"touchdown_s": 0.010, "takeoff_s": 0.050, "contact_time_s": 0.040,
              "peak_force_n": 2000.0, "vertical_impulse_n_s": 60.0},
             {"touchdown_s": 0.090, "takeoff_s": 0.130, "contact_time_s": 0.040,
              "peak_force_n": 2100.0, "vertical_impulse_n_s": 62.0}]
    plan = TrialPlan(0, "run", 0, 70.0, 1000.0)
    run = stream.TrialRun(plan, _truth({"step_count": 2}, test="run", per_rep=steps), 0,
                          Recorder(), 200, 2, fed=200)
    for number, (takeoff, peak) in enumerate(step_results, start=1):
        metrics = {"contact_time_s": 0.04, "peak_force_n": peak, "vertical_impulse_n_s": 60.0}
        run.results.append((Result("run", 1000.0, metrics, {"takeoff_s": takeoff}, (), (),
                                   needed_until_s=takeoff + 0.03, step=number), 0))
    run.results.append((Result("run", 1000.0, {"step_count": 2.0}, {}, (), ()), 0))
    return run


def test_step_results_are_scored_against_their_true_steps():
    record, checks = score.evaluate(_run_trial([(0.0502, 2030.0)]), None, (), 1000.0)
    step_checks = [c for c in checks if c.test == "run step"]
    assert record.status == "pass" and len(step_checks) == 2 and all(c.passed for c in step_checks)
    assert record.steps[0]["step"] == 1 and record.steps[0]["peak_force_n"] == 2030.0
    record, checks = score.evaluate(_run_trial([(0.0502, 2060.0)]), None, (), 1000.0)  # 3 % off
    assert record.status == "fail" and not [c for c in checks if c.name == "peak_force_n"][0].passed


def test_a_step_the_athlete_did_not_take_fails_the_trial():
    for spurious in ([(0.0502, 2000.0), (0.0900, 2000.0)], [(0.0502, 2000.0), (0.0503, 2000.0)]):
        record, _ = score.evaluate(_run_trial(spurious), None, (), 1000.0)
        assert record.status == "fail" and "1 step(s) the athlete did not take" in record.notes[0]
