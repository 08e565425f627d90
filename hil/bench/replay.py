"""``forcebench replay``: the four stages in a row, once per sample rate of the scenario.

    plan (simulate, lay out) → stream (plate, acquisition, streaming analysers)
        → score (truth vs result, latency, verdict) → record (report.json, .xml, plots)
"""
from __future__ import annotations

import contextlib
import functools
import importlib.metadata
import sys
import time
from pathlib import Path
from typing import Mapping

import numpy as np

from hil import report, spec
from hil.bench import plan, record, rundir, score, stimulus, stream
from hil.bench.record import LatencyFigure, ReplayRecord, Timing
from hil.bench.scenario import Scenario, load
from hil.bench.settings import BenchError, Settings
from hil.bench.tally import Tally
from hil.plates import is_raw
from hil.progress import Progress


class ReportNotWritten(OSError):
    """The run finished but its report could not be written (a full disk, say)."""

    def __init__(self, result: ReplayRecord, message: str) -> None:
        super().__init__(message)
        self.result = result


def replay(scenario: Scenario, report_dir: str | Path,
           settings: Settings = Settings()) -> tuple[ReplayRecord, int]:
    """Run the scenario against the plate, write the report; (record, exit status 0 or 1)."""
    url = (settings.plate_url or (stimulus.EMULATED if settings.stimulus else scenario.url))
    rates = scenario.rates_hz
    if is_raw(url) and len(rates) > 1:
        raise BenchError(f"{scenario.source}: a raw record holds one stream, but the scenario has "
                         f"{len(rates)} sample rates (their records are raw-<rate>hz.bin)")
    if settings.timing_log is not None and len(rates) > 1:
        raise BenchError(f"{scenario.source}: a timing log covers one stream, but the scenario "
                         f"has {len(rates)} sample rates")
    directory = Path(report_dir)
    directory.mkdir(parents=True, exist_ok=True)
    if settings.stimulus:
        stimulus.check_settings(scenario, settings)
    with contextlib.ExitStack() as scratch:  # the trace spools, until the plots are drawn
        return _replay(scenario, url, directory, settings, scratch)


def _replay(scenario: Scenario, url: str, directory: Path, settings: Settings,
            scratch: contextlib.ExitStack) -> tuple[ReplayRecord, int]:
    rates = scenario.rates_hz
    trials, counted, traces, outcomes, stimuli = [], [], [], [], []
    compute, movement, session = [], [], []
    for number, rate in enumerate(rates):
        suffix = plan.stream_suffix(scenario, rate)
        segment = plan.simulate_segment(scenario, rate, directory / f"source{suffix}.npz")
        runs = stream.new_runs(segment, scenario.plates,
                               scratch.enter_context(stream.TraceSpool(scenario.plates)))
        router = stream.Router(runs, segment.samples)
        label = scenario.name + (f" {rate:g} Hz ({number + 1}/{len(rates)})" if suffix else "")
        meter = Progress(segment.samples, label, rate_hz=rate) if settings.progress else None
        if settings.stimulus:
            outcome, played = stimulus.stream_stimulus(
                segment, settings, plates=scenario.plates, directory=directory, suffix=suffix,
                router=router, progress=meter, faults=scenario.faults)
            stimuli.append(played)
        else:
            outcome = stream.stream_segment(segment, url, settings, plates=scenario.plates,
                                            faults=scenario.faults, directory=directory,
                                            suffix=suffix, router=router, progress=meter)
        outcomes.append(outcome)
        score.attach_latencies(runs, outcome.timing, outcome.counter0, rate)
        score.assign_issues(runs, outcome.issues, rate)
        for run in runs:
            trial, checks = score.evaluate(run, scenario.check.metrics,
                                           scenario.check.expect_issues, rate)
            trials.append(trial)
            counted.append(checks)
            compute += run.compute_s
            movement += run.movement_s
            session += run.session_s
            traces.append((run.plan.label, functools.partial(_trace, run, trial.events)))
        if outcome.lost_plate is not None:  # the plate is gone: later streams cannot run
            break
    latency = _latency(scenario, settings, outcomes, compute, movement, session)
    counts = score.count(trials, counted, scenario.check.min_scored)
    pass_rates = tuple(spec.pass_rates([c for checks in counted for c in checks],
                                       scenario.check.min_pass_rate))
    observed = {issue.code for o in outcomes for issue in o.issues}
    reasons = score.verdict(counts, pass_rates, trials, latency, scenario.check.expect_issues,
                            observed, settings.fast)
    lost = next((o for o in outcomes if o.lost_plate is not None), None)
    if lost is not None:
        unstreamed = len(scenario.trials) - len(trials)
        reasons.insert(0, f"the plate was lost mid-run after {lost.received_s:.3f} s of data "
                          f"({lost.lost_plate})" + (f"; {unstreamed} trial(s) of later streams "
                                                    "never ran" if unstreamed else ""))
    reasons += stimulus.clock_reasons(stimuli, settings.clock_ppm_limit)
    timing = Timing(sum(o.received_s for o in outcomes), sum(o.stream_s for o in outcomes),
                    sum(o.wall_s for o in outcomes))
    result = ReplayRecord(
        forcebench_version=importlib.metadata.version("forcebench"),
        scenario={"name": scenario.name, "source": scenario.source,
                  "description": scenario.description},
        plate={"url": url, "identity": outcomes[0].identity, "plates": scenario.plates,
               "noise": scenario.session.plate.noise,
               "faults": [{"kind": f.kind, **f.params} for f in scenario.faults],
               **({"stimulus": stimuli} if stimuli else {})},
        mode="fast" if settings.fast else "real-time",
        started_utc=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - timing.wall_s)),
        trials=tuple(trials), counts=counts, pass_rates=pass_rates, latency=latency,
        frames=sum((o.frames for o in outcomes), stream.Frames()),
        acquisition_issues=tuple(i for o in outcomes for i in o.issues), timing=timing,
        verdict="fail" if reasons else "pass", reasons=tuple(reasons))
    try:
        record.write(directory, result, traces, {
            "compute": compute, "movement": movement, "session": session,
            "sample": _sample_tally(outcomes).values()}, plots=settings.plots)
    except OSError as error:  # a full disk: no report, but the run and its verdict stand
        raise ReportNotWritten(result, f"the report could not be written to {directory}: "
                                       f"{error.strerror or error}") from error
    return result, 1 if reasons else 0


def _latency(scenario: Scenario, settings: Settings, outcomes: list[stream.StreamOutcome],
             compute: list[float], movement: list[float],
             session: list[float]) -> tuple[LatencyFigure, ...]:
    """The latency figures, each named for the moments it lies between (where each timestamp
    is taken: hil/emulator/timing.py for the plate's, hil/bench/stimulus.py for a stimulus's,
    time.monotonic_ns() here); ``session`` only when a whole-session summary was timed."""
    clock = outcomes[0].clock  # "written" (serial), "sampled" (SCPI), "out of the stimulus"
    problem = next((o.clock_problem for o in outcomes if o.clock_problem), None)
    returned, fast = "result returned", settings.fast
    check = scenario.check
    compute_ms = check.latency_p99_ms
    if settings.stimulus:  # stimulus out → result spans one stage more than write → result
        compute_ms += stimulus.ALLOWANCE_MS
    figures = (
        score.latency_figure("compute", f"last needed sample {clock}", returned,
                             compute, limit_s=compute_ms / 1000, fast=fast,
                             clock_problem=problem),
        score.latency_figure("movement", f"true movement end {clock}",
                             returned, movement, limit_s=check.movement_latency_ms / 1000,
                             fast=fast, clock_problem=problem),
        score.latency_figure("sample", f"sample {clock}", "its block at the bench",
                             _sample_tally(outcomes),
                             limit_s=None, fast=fast, clock_problem=problem))
    if session:  # reported, not held to the limit: the summary is not live feedback
        figures += (score.latency_figure(
            "session", f"session's last sample {clock}", "whole-session result returned",
            session, limit_s=None, fast=fast, clock_problem=problem),)
    return figures


def _trace(run: stream.TrialRun, detected: Mapping[str, float]) -> report.Trace:
    """A trial's samples as acquired, with its true and detected events, for its plot."""
    return report.Trace(run.plan.label, np.arange(run.samples) / run.plan.rate_hz, run.trace(),
                        dict(run.truth.events), detected)


def _sample_tally(outcomes: list[stream.StreamOutcome]) -> Tally:
    return functools.reduce(Tally.merge, (o.sample_latency_s for o in outcomes), Tally())


def run(scenario_path: str | Path, report_dir: str | Path | None = None,
        settings: Settings = Settings(), write_source_only: bool = False) -> int:
    """``forcebench replay``: load, replay, print a summary; the exit status (0 or 1)."""
    scenario = load(scenario_path)
    if write_source_only:  # for a plate you start yourself: `forcebench emulate --source ...`
        directory = Path(report_dir) if report_dir else Path("reports") / scenario.name
        directory.mkdir(parents=True, exist_ok=True)
        for rate in scenario.rates_hz:
            path = directory / f"source{plan.stream_suffix(scenario, rate)}.npz"
            print(plan.simulate_segment(scenario, rate, path).source)
        return 0
    with rundir.given(Path(report_dir)) if report_dir else \
            rundir.fresh(Path("reports") / scenario.name) as directory:
        try:
            result, status = replay(scenario, directory, settings)
        except ReportNotWritten as failed:  # the verdict still reaches the user
            print(record.summary(failed.result, directory, written=False))
            print(f"forcebench: error: {failed}", file=sys.stderr)
            return 1
    print(record.summary(result, directory))
    return status
