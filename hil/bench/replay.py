"""``forcebench replay``: the four stages in a row, once per sample rate of the scenario.

    plan (simulate, lay out) → stream (plate, acquisition, streaming analysers)
        → score (truth vs result, latency, verdict) → record (report.json, .xml, plots)
"""
from __future__ import annotations

import importlib.metadata
import time
from pathlib import Path

import numpy as np

from hil import report, spec
from hil.bench import plan, record, score, stimulus, stream
from hil.bench.record import ReplayRecord, Timing
from hil.bench.scenario import Scenario, load
from hil.bench.settings import BenchError, Settings
from hil.progress import Progress


def replay(scenario: Scenario, report_dir: str | Path,
           settings: Settings = Settings()) -> tuple[ReplayRecord, int]:
    """Run the scenario against the plate, write the report; (record, exit status 0 or 1)."""
    url = (settings.plate_url or (stimulus.EMULATED if settings.stimulus else scenario.url))
    rates = scenario.rates_hz
    if settings.timing_log is not None and len(rates) > 1:
        raise BenchError(f"{scenario.source}: a timing log covers one stream, but the scenario "
                         f"has {len(rates)} sample rates")
    directory = Path(report_dir)
    directory.mkdir(parents=True, exist_ok=True)
    if settings.stimulus:
        stimulus.check_settings(scenario, settings)
    trials, checks, latencies, traces, outcomes, stimuli = [], [], [], [], [], []
    for number, rate in enumerate(rates):
        segment = plan.simulate_segment(scenario, rate)
        suffix = plan.stream_suffix(scenario, rate)
        runs = stream.new_runs(segment, scenario.plates)
        router = stream.Router(runs, segment.samples)
        label = scenario.name + (f" {rate:g} Hz ({number + 1}/{len(rates)})" if suffix else "")
        meter = Progress(segment.samples, label, rate_hz=rate) if settings.progress else None
        if settings.stimulus:
            outcome, played = stimulus.stream_stimulus(
                segment, settings, plates=scenario.plates, directory=directory, suffix=suffix,
                router=router, progress=meter)
            stimuli.append(played)
        else:
            outcome = stream.stream_segment(segment, url, settings, plates=scenario.plates,
                                            faults=scenario.faults, directory=directory,
                                            suffix=suffix, router=router, progress=meter)
        outcomes.append(outcome)
        score.attach_latencies(runs, outcome.timing, outcome.counter0, rate)
        score.assign_issues(runs, outcome.issues, rate)
        for run in runs:
            trial, counted = score.evaluate(run, scenario.check.metrics,
                                            scenario.check.expect_issues, rate)
            trials.append(trial)
            checks += counted
            latencies += run.latencies_s
            traces.append(report.Trace(run.plan.label, np.arange(run.force.shape[0]) / rate,
                                       run.force, dict(run.trial.truth.events), trial.events))
    sample_latencies = np.concatenate([o.sample_latency_s for o in outcomes])
    limit_ms = scenario.check.latency_p99_ms
    if settings.stimulus:  # stimulus out → result spans one stage more than write → result
        limit_ms = (limit_ms or 1000 * spec.LATENCY_P99_S) + stimulus.ALLOWANCE_MS
    latency = score.score_latency(latencies, sample_latencies, limit_ms, settings.fast)
    pass_rates = tuple(spec.pass_rates(checks, scenario.check.min_pass_rate))
    observed = {issue.code for o in outcomes for issue in o.issues}
    reasons = score.verdict(pass_rates, trials, latency, scenario.check.expect_issues, observed)
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
        trials=tuple(trials), pass_rates=pass_rates, latency=latency,
        frames=sum((o.frames for o in outcomes), stream.Frames()),
        acquisition_issues=tuple(i for o in outcomes for i in o.issues), timing=timing,
        verdict="fail" if reasons else "pass", reasons=tuple(reasons))
    record.write(directory, result, traces, latencies, sample_latencies)
    return result, 1 if reasons else 0


def run(scenario_path: str | Path, report_dir: str | Path | None = None,
        settings: Settings = Settings(), write_source_only: bool = False) -> int:
    """``forcebench replay``: load, replay, print a summary; the exit status (0 or 1)."""
    scenario = load(scenario_path)
    directory = Path(report_dir) if report_dir else Path("reports") / scenario.name
    if write_source_only:  # for a plate you start yourself: `forcebench emulate --source ...`
        directory.mkdir(parents=True, exist_ok=True)
        for rate in scenario.rates_hz:
            segment = plan.simulate_segment(scenario, rate)
            print(segment.write_source(directory / f"source{plan.stream_suffix(scenario, rate)}.npz"))
        return 0
    result, status = replay(scenario, directory, settings)
    print(record.summary(result, directory))
    return status
