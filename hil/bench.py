"""The replay bench: scenario → simulated trials → plate → acquisition → streaming analysis →
truth vs result under the spec, with end-to-end latency → report.

One stream per sample rate in the scenario: its trials are concatenated, each followed by a
quiet gap (unloaded plate), into an emulator source file, so that every trial's first sample
counter is known. Blocks from the acquisition are cut at those counters and fed to one
streaming analyser per trial; each result is timed when it is emitted and compared with the
emulator's write time of the last sample it needed (both CLOCK_MONOTONIC).
"""
from __future__ import annotations

import importlib.metadata
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

import numpy as np

from hil import report, spec
from hil.acquire import Acquisition
from hil.analysis.result import ANALYSER_NAME, ANALYSER_VERSION
from hil.analysis.streaming import StreamingAnalyser
from hil.drivers import EMULATED_URLS, open_plate
from hil.emulator.faults import parse_faults
from hil.emulator.source import write_source
from hil.emulator.timing import TIMING_DTYPE, read_timing_log
from hil.progress import Progress
from sim.generate import simulate
from sim.movements import dj
from sim.scenario import Scenario, TrialPlan, load
from sim.trial import Trial

TIMEOUT_S = 10.0  # a plate silent this long (to a command, or while streaming) is not there
MAX_FEED = 100  # samples per StreamingAnalyser.feed call (its limit)
TIMING_ONLY = ("stall",)  # acquisition issues that delay samples but leave every value intact


class BenchError(ValueError):
    """A replay that cannot run (bad scenario for the spec, plate missing or silent): exit 2."""


@dataclass(frozen=True)
class Settings:
    """How to replay: which plate, how fast, how long to wait."""

    plate_url: str | None = None  # None: the scenario's
    fast: bool = False  # emulated plates stream as fast as the bench reads; latency unchecked
    timeout_s: float = TIMEOUT_S
    timing_log: Path | None = None  # the timing log of an emulator you started yourself
    progress: bool = True


@dataclass(frozen=True)
class Segment:
    """One stream: the scenario's trials at one sample rate, back to back with quiet gaps."""

    rate_hz: float
    plans: tuple[TrialPlan, ...]
    trials: tuple[Trial, ...]
    starts: tuple[int, ...]  # first sample of each trial in the stream
    cells: np.ndarray  # (samples, plates, 4) newtons, what the emulator streams

    @property
    def samples(self) -> int:
        return self.cells.shape[0]


def simulate_segment(scenario: Scenario, rate_hz: float) -> Segment:
    """Simulate the scenario's trials at ``rate_hz`` and lay them out as one stream."""
    plates = scenario.plate.plates
    gap = np.zeros((int(round(scenario.gap_s * rate_hz)), plates, 4))
    plans = tuple(plan for plan in scenario.trials if plan.rate_hz == rate_hz)
    trials, starts, pieces, position = [], [], [], 0
    for plan in plans:
        try:
            trial = simulate(plan.test, mass_kg=plan.mass_kg, rate_hz=rate_hz, plates=plates,
                             noise=scenario.plate.noise, seed=plan.seed, **plan.options)
        except (ValueError, TypeError) as error:  # SimulationError, or an option it does not take
            raise BenchError(f"{scenario.source}: trial {plan.label}: {error}") from None
        if trial.cells is None or trial.cells.shape[1:] != (plates, 4):
            raise BenchError(f"{scenario.source}: trial {plan.label}: the simulator gave no "
                             f"per-cell forces for {plates} plate(s)")
        trials.append(trial)
        starts.append(position)
        pieces += [trial.cells, gap]
        position += trial.cells.shape[0] + gap.shape[0]
    return Segment(rate_hz, plans, tuple(trials), tuple(starts), np.concatenate(pieces))


@dataclass
class TrialRun:
    """A trial's life during the replay: the samples it has been fed and the results it gave."""

    plan: TrialPlan
    trial: Trial
    start: int  # first sample in the stream
    analyser: Any
    force: np.ndarray  # (samples, plates) as acquired, NaN where nothing arrived
    fed: int = 0
    results: list[tuple[Any, int]] = field(default_factory=list)  # (Result, emitted monotonic ns)
    acquisition_issues: list[dict] = field(default_factory=list)
    latencies_s: list[float] = field(default_factory=list)
    analysis_s: list[float] = field(default_factory=list)  # time inside the analyser per result
    crash: str | None = None  # why the analyser stopped, if it raised

    @property
    def stop(self) -> int:
        return self.start + self.force.shape[0]

    @property
    def done(self) -> bool:
        return self.fed >= self.force.shape[0]

    def feed(self, rows: np.ndarray) -> None:
        """The trial's next samples (NaN rows where acquisition lost them)."""
        self.force[self.fed:self.fed + rows.shape[0]] = rows
        self.fed += rows.shape[0]
        for first in range(0, rows.shape[0], MAX_FEED):
            self._call(self.analyser.feed, rows[first:first + MAX_FEED])
        if self.done:
            self._call(self.analyser.finish)

    def _call(self, method: Callable[..., Sequence[Any]], *args: Any) -> None:
        """Run the analyser; if it crashes, the trial fails with the reason (the bench goes on)."""
        if self.crash is not None:
            return
        began = time.monotonic_ns()
        try:
            results = method(*args)
        except Exception as error:  # the analysis is the thing under test: record, do not die
            self.crash = f"the analysis raised {type(error).__name__}: {error}"
            return
        self._collect(results, began)

    def _collect(self, results: Sequence[Any], began_ns: int) -> None:
        if results:
            now = time.monotonic_ns()
            self.results += [(result, now) for result in results]
            self.analysis_s += [(now - began_ns) / 1e9] * len(results)


def new_runs(segment: Segment, plates: int) -> list[TrialRun]:
    runs = []
    for plan, trial, start in zip(segment.plans, segment.trials, segment.starts):
        analyser = StreamingAnalyser(plan.test, segment.rate_hz, plates=plates,
                                     drop_height_m=drop_height(plan))
        runs.append(TrialRun(plan, trial, start, analyser,
                             np.full((trial.force.shape[0], plates), np.nan)))
    return runs


def drop_height(plan: TrialPlan) -> float | None:
    """The box height of a drop jump: set up by the clinician, so the analysis is told it (the
    scenario's option, else the movement's own default)."""
    if plan.test != "dj":
        return None
    return float(plan.options.get("drop_height_m", dj.DEFAULT_DROP_HEIGHT_M))


class Router:
    """Cuts the acquired stream at trial boundaries (by sample index) and feeds each trial."""

    def __init__(self, runs: list[TrialRun], samples: int) -> None:
        self.runs, self.samples = runs, samples
        self.position = 0  # next stream sample expected
        self.current = 0  # index of the first trial not yet complete

    def feed(self, first: int, rows: np.ndarray) -> None:
        """Rows of the stream starting at sample ``first``; missing samples become NaN rows."""
        if first > self.position:  # a hole the acquisition did not fill: fill it here
            self._advance(np.full((first - self.position, rows.shape[1]), np.nan))
        skip = self.position - first  # rows already seen (a repeat after a resync)
        if skip < rows.shape[0]:
            self._advance(rows[max(skip, 0):])

    def _advance(self, rows: np.ndarray) -> None:
        start = self.position
        self.position += rows.shape[0]
        while self.current < len(self.runs) and rows.shape[0]:
            run = self.runs[self.current]
            begin = max(run.start + run.fed, start)
            end = min(run.stop, self.position)
            if begin >= self.position:
                break
            if end > begin:
                run.feed(rows[begin - start:end - start])
            if run.done:
                self.current += 1
            else:
                break

    def finish(self) -> None:
        """The stream ended: whatever a trial did not receive is a hole (NaN) to the end."""
        if self.position < self.samples:
            plates = self.runs[0].force.shape[1] if self.runs else 1
            self._advance(np.full((self.samples - self.position, plates), np.nan))


def hole_spans(force: np.ndarray, rate_hz: float) -> list[tuple[float, float]]:
    """(start_s, end_s) of every run of samples where any plate has no data."""
    missing = ~np.isfinite(force).all(axis=1)
    edges = np.flatnonzero(np.diff(np.concatenate(([0], missing.view(np.int8), [0]))))
    return [(start / rate_hz, (stop - 1) / rate_hz) for start, stop in zip(edges[0::2], edges[1::2])]


def attach_latencies(runs: list[TrialRun], timing: np.ndarray, counter0: int, rate_hz: float) -> None:
    """Latency of each result: emitted − the emulator's write time of the last sample it needed.
    A result that rests on where the trial ends (needed_until_s None or past the last sample,
    see hil.analysis.result) needed the trial's last sample."""
    if timing.size == 0:
        return
    counters, written = written_at(timing, counter0)
    for run in runs:
        last = run.force.shape[0] - 1
        for result, emitted_ns in run.results:
            needed = last if result.needed_until_s is None else round(result.needed_until_s * rate_hz)
            index = run.start + min(int(needed), last)
            at = np.searchsorted(counters, index)
            if at < counters.size and counters[at] == index:
                run.latencies_s.append((emitted_ns - int(written[at])) / 1e9)


def evaluate(run: TrialRun, names: Sequence[str] | None, expected: Sequence[str],
             rate_hz: float) -> tuple[dict[str, Any], list[spec.Check]]:
    """The trial's record and the checks that count towards the pass rates."""
    truth = run.trial.truth
    results = [result for result, _ in run.results]
    result = next((r for r in results if r.metrics), results[0] if results else None)
    measured = dict(result.metrics) if result is not None else {}
    checks = spec.check(run.plan.test, truth.metrics, measured, rate_hz,
                        names=None if names is None else [n for n in names if n in truth.metrics])
    issues = [issue.to_dict() for r in results for issue in r.issues]
    notes = []
    if len([r for r in results if r.metrics]) > 1:
        notes.append(f"the analysis emitted {len(results)} results for one trial; the first is checked")
    if run.crash is not None:
        notes.append(run.crash)
    elif result is None:
        notes.append("the analysis emitted no result")
    untrusted = [i for i in run.acquisition_issues if i["code"] not in TIMING_ONLY]
    if untrusted:
        unexpected = sorted({i["code"] for i in untrusted} - set(expected))
        if unexpected:
            notes.append(f"unexpected acquisition issues: {', '.join(unexpected)}")
        confident = result is not None and result.metrics and result.quality["ok"] and any(
            result.needed_until_s is None or i["start_s"] <= result.needed_until_s
            for i in untrusted if i["start_s"] is not None)
        if confident:
            notes.append("the analysis reported confident metrics across samples the acquisition lost")
        status = "fail" if unexpected or confident or run.crash is not None else "flagged"
    else:
        status = "pass" if result is not None and run.crash is None and all(
            c.passed for c in checks) else "fail"
    record = {
        "label": run.plan.label, "index": run.plan.index, "test": run.plan.test,
        "seed": run.plan.seed, "mass_kg": run.plan.mass_kg, "rate_hz": rate_hz,
        "options": dict(run.plan.options), "start_sample": run.start,
        "samples": int(run.force.shape[0]), "status": status, "notes": notes,
        "truth": dict(truth.metrics), "true_events": dict(truth.events),
        "measured": measured, "events": dict(result.events) if result is not None else {},
        "checks": [c.to_dict() for c in checks],
        "acquisition_issues": untrusted,  # the ones that make samples untrustworthy
        "quality": {"ok": not issues and not run.acquisition_issues and result is not None,
                    "issues": list(run.acquisition_issues) + issues},
        "latency_s": list(run.latencies_s),
        "analysis_s": list(run.analysis_s),
    }
    return record, ([] if untrusted else checks)


def check_names(scenario: Scenario) -> tuple[str, ...] | None:
    """The scenario's metric list, refused up front if the spec has no tolerance for one."""
    names = scenario.check.metrics
    for name in names or ():
        if spec.measurement("cmj", name) is None and spec.measurement("run", name) is None:
            raise BenchError(f"{scenario.source}: check.metrics: the spec has no tolerance for {name!r}")
    return names


def verdict(record: Mapping[str, Any], expected: Sequence[str], observed: set[str]) -> list[str]:
    """Why the replay is out of spec (empty: everything within spec)."""
    reasons = [f"{r['test']} {r['metric']}: {r['passed']}/{r['total']} within tolerance "
               f"({100 * r['rate']:.1f} % < {100 * r['min_rate']:.0f} %)"
               for r in record["pass_rates"] if not r["met"]]
    reasons += [f"{t['label']}: {'; '.join(t['notes'])}" for t in record["trials"]
                if t["status"] == "fail" and t["notes"]]
    reasons += [f"expected acquisition issue {code!r} was never detected"
                for code in expected if code not in observed]
    unexpected = sorted(observed - set(expected) - set(TIMING_ONLY))
    if unexpected:  # anywhere in the stream, inside a trial or not
        reasons.append(f"acquisition issues the scenario does not expect: {', '.join(unexpected)}")
    latency = record["latency"]
    if latency["checked"] and not latency["met"]:
        reasons.append(report.latency_text(latency))
    return reasons


@dataclass(frozen=True)
class StreamOutcome:
    """What one stream through the plate left behind, besides the trials' samples and results."""

    identity: str
    counter0: int
    frames: Mapping[str, int]
    issues: tuple[dict, ...]  # acquisition issues, times in seconds of the stream
    timing: np.ndarray  # the emulator's timing log (empty: latency cannot be measured)
    received_s: float  # seconds of data that arrived (up to the last sample received)
    stream_s: float  # from START to the last sample
    wall_s: float  # including starting the emulator and stopping
    sample_latency_s: np.ndarray  # per sample: arrival at the bench − write (see sample_latencies)


def stream_segment(segment: Segment, url: str, settings: Settings, *, plates: int,
                   faults: Sequence[Mapping[str, Any]], directory: Path, suffix: str,
                   router: Router, progress: Progress | None) -> StreamOutcome:
    """Stream one segment through the plate at ``url`` and feed what arrives to the router.

    An emulated plate is started with the segment as its source (one pass), the scenario's
    faults and a timing log. Any other URL must already be streaming the same source when
    started (an emulator you run yourself, or a plate with a playback mode); latency is then
    measured only if ``settings.timing_log`` gives its write times.
    """
    emulated = url.strip() in EMULATED_URLS
    paths = {name: directory / f"{name}{suffix}.{ext}"
             for name, ext in (("source", "npz"), ("timing", "bin"), ("raw", "bin"))}
    for path in (paths["timing"], paths["raw"]):
        path.unlink(missing_ok=True)  # both files are append-only: start them afresh
    write_source(paths["source"], segment.cells, segment.rate_hz, segment.starts,
                 [plan.label for plan in segment.plans])
    if not emulated:
        paths["timing"] = settings.timing_log
    options: dict[str, Any] = dict(source=paths["source"], fast=settings.fast, faults=tuple(faults),
                                   timing_log=paths["timing"], once=True) if emulated else {}
    started = time.monotonic()
    with open_plate(url, timeout=settings.timeout_s, **options) as plate:
        identity = plate.identify()
        if plate.plates != plates:
            raise BenchError(f"plate {url} has {plate.plates} plate(s), the scenario needs {plates}")
        plate.set_rate(segment.rate_hz)
        with Acquisition(plate, paths["raw"]) as acquisition:
            plate.start()
            streaming = time.monotonic()
            counter0 = 0 if emulated else None  # the emulator counts from 0; others: first frame
            blocks = acquisition.blocks(timeout=settings.timeout_s,
                                        until_counter=segment.samples if emulated else None)
            arrivals: list[tuple[int, int, int]] = []  # (first sample, rows, host ns) per block
            for block in blocks:
                if counter0 is None:
                    counter0 = block.first_counter
                arrivals.append((block.first_counter - counter0, block.force.shape[0],
                                 block.host_time_ns))
                router.feed(block.first_counter - counter0, block.force)
                if progress is not None:
                    progress.update(router.position)
                if router.position >= segment.samples:
                    break
            if counter0 is None:
                raise BenchError(f"plate {url} sent no samples within {settings.timeout_s:g} s of starting")
            stream_s = time.monotonic() - streaming
            ended_early = router.position < segment.samples
            received = router.position
            router.finish()
            if progress is not None:
                progress.close(received)
            frames = _frames(plate, acquisition.stats, emulated)
            issues = acquisition.issues(segment.rate_hz, origin=counter0)
    if ended_early:
        issues.append({"code": "gap", "message": f"the plate stopped streaming after {received} of "
                       f"{segment.samples} samples", "start_s": received / segment.rate_hz,
                       "end_s": segment.samples / segment.rate_hz})
    timing = _read_timing(paths["timing"])
    return StreamOutcome(identity, counter0, frames, tuple(issues), timing,
                         received / segment.rate_hz, stream_s,
                         time.monotonic() - started, sample_latencies(arrivals, timing, counter0))


def sample_latencies(arrivals: Sequence[tuple[int, int, int]], timing: np.ndarray,
                     counter0: int) -> np.ndarray:
    """Per sample: host time its block reached the bench − the emulator's write time (s).
    The wire and acquisition share of the end-to-end latency, over every sample."""
    if not arrivals or timing.size == 0:
        return np.zeros(0)
    firsts, rows, host_ns = (np.array(column, dtype=np.int64) for column in zip(*arrivals))
    index = np.concatenate([np.arange(f, f + n) for f, n in zip(firsts, rows)])
    arrived = np.repeat(host_ns, rows)
    counters, write_ns = written_at(timing, counter0)
    written = np.full(int(max(index.max(), counters.max())) + 1, -1, dtype=np.int64)
    written[counters] = write_ns
    known = (index >= 0) & (written[np.maximum(index, 0)] >= 0)
    return (arrived[known] - written[index[known]]) / 1e9


def _frames(plate: Any, stats: Any, emulated: bool) -> dict[str, int]:
    frames = {"received": stats.frames, "lost": stats.lost, "corrupt": stats.corrupt,
              "resyncs": stats.resyncs, "late": stats.late}
    if emulated:  # the emulator counts what it sent and what its faults dropped on purpose
        try:
            plate.stop()
            status = plate.status()
            frames = {"sent": int(status["sent"]), "dropped_by_fault": int(status["dropped"]),
                      **frames}
        except (ValueError, KeyError):
            pass
    return frames


def _read_timing(path: Path | None) -> np.ndarray:
    return read_timing_log(path) if path and path.exists() else np.zeros(0, dtype=TIMING_DTYPE)


def written_at(timing: np.ndarray, counter0: int) -> tuple[np.ndarray, np.ndarray]:
    """(stream sample index, write ns) from the timing log, sorted, the latest write per index."""
    index = (timing["counter"].astype(np.int64) - counter0) % (1 << 32)
    latest_first = np.argsort(index[::-1], kind="stable")
    unique, first = np.unique(index[::-1][latest_first], return_index=True)
    return unique, timing["write_ns"][::-1][latest_first][first]


def replay(scenario: Scenario, report_dir: str | Path,
           settings: Settings = Settings()) -> tuple[dict[str, Any], int]:
    """Run the scenario against the plate, write the report; (record, exit status 0 or 1)."""
    names = check_names(scenario)
    try:
        parse_faults(scenario.faults)
    except ValueError as error:
        raise BenchError(f"{scenario.source}: faults: {error}") from None
    url = settings.plate_url or scenario.plate.url
    rates = scenario.rates_hz
    if settings.timing_log is not None and len(rates) > 1:
        raise BenchError(f"{scenario.source}: a timing log covers one stream, but the scenario "
                         f"has {len(rates)} sample rates")
    directory = Path(report_dir)
    directory.mkdir(parents=True, exist_ok=True)
    trial_records, checks, latencies, traces, outcomes = [], [], [], [], []
    observed: set[str] = set()
    for number, rate in enumerate(rates):
        segment = simulate_segment(scenario, rate)
        suffix = "" if len(rates) == 1 else f"-{rate:g}hz"
        runs = new_runs(segment, scenario.plate.plates)
        router = Router(runs, segment.samples)
        label = f"{scenario.name}" + (f" {rate:g} Hz ({number + 1}/{len(rates)})" if suffix else "")
        meter = Progress(segment.samples, label, rate_hz=rate) if settings.progress else None
        outcome = stream_segment(segment, url, settings, plates=scenario.plate.plates,
                                 faults=scenario.faults, directory=directory, suffix=suffix,
                                 router=router, progress=meter)
        outcomes.append(outcome)
        attach_latencies(runs, outcome.timing, outcome.counter0, rate)
        assign_issues(runs, outcome.issues, rate)
        observed |= {issue["code"] for issue in outcome.issues}
        for run in runs:
            record, counted = evaluate(run, names, scenario.check.expect_issues, rate)
            trial_records.append(record)
            checks += counted
            latencies += run.latencies_s
            traces.append(report.Trace(run.plan.label, np.arange(run.force.shape[0]) / rate,
                                       run.force, dict(run.trial.truth.events), record["events"]))
    record = build_record(scenario, url, settings.fast, trial_records, checks, latencies, outcomes)
    reasons = verdict(record, scenario.check.expect_issues, observed)
    record["verdict"] = "fail" if reasons else "pass"
    record["reasons"] = reasons
    chosen = report.traces_to_plot(record)
    plotted = [trace for label in chosen for trace in traces if trace.label == label]
    report.write(directory, record, plotted, latencies,
                 np.concatenate([o.sample_latency_s for o in outcomes]))
    return record, 1 if reasons else 0


def build_record(scenario: Scenario, url: str, fast: bool, trials: list[dict], checks: list[spec.Check],
                 latencies: list[float], outcomes: list[StreamOutcome]) -> dict[str, Any]:
    limit_ms = scenario.check.latency_p99_ms
    limit_s = spec.LATENCY_P99_S if limit_ms is None else limit_ms / 1000
    latency = {**report.latency_summary(latencies), "limit_p99_s": limit_s,
               "transport": report.latency_summary(
                   np.concatenate([o.sample_latency_s for o in outcomes]) if outcomes else [])}
    if fast:
        latency.update(checked=False, met=None,
                       note="not checked in --fast mode: the emulator outruns real time")
    elif not latencies:
        latency.update(checked=False, met=None, note="no result could be timed (no timing log)")
    else:
        latency.update(checked=True, met=latency["p99_s"] <= limit_s, note=None)
    frames: dict[str, int] = {}
    for outcome in outcomes:
        for key, value in outcome.frames.items():
            frames[key] = frames.get(key, 0) + int(value)
    data_s = sum(o.received_s for o in outcomes)
    wall_s = sum(o.wall_s for o in outcomes)
    stream_s = sum(o.stream_s for o in outcomes)
    return {
        "forcebench": {"version": importlib.metadata.version("forcebench")},
        "analyser": {"name": ANALYSER_NAME, "version": ANALYSER_VERSION},
        "scenario": {"name": scenario.name, "source": scenario.source,
                     "description": scenario.description},
        "plate": {"url": url, "identity": outcomes[0].identity if outcomes else None,
                  "plates": scenario.plate.plates, "noise": scenario.plate.noise,
                  "faults": [dict(f) for f in scenario.faults]},
        "mode": "fast" if fast else "real-time",
        "started_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - wall_s)),
        "trials": trials,
        "pass_rates": [rate.to_dict() for rate in spec.pass_rates(checks, scenario.check.min_pass_rate)],
        "latency": latency,
        "frames": frames,
        "acquisition_issues": [issue for o in outcomes for issue in o.issues],
        "timing": {"data_s": data_s, "stream_s": stream_s, "wall_s": wall_s,
                   "speed_x_real_time": data_s / stream_s if stream_s > 0 else None},
    }


def assign_issues(runs: list[TrialRun], issues: Sequence[dict], rate_hz: float) -> None:
    """Give each trial the acquisition issues inside its span (times made relative to the trial),
    and a ``gap`` issue for every hole in its samples that no acquisition issue explains."""
    for run in runs:
        begin, end = run.start / rate_hz, (run.stop - 1) / rate_hz
        for issue in issues:
            start = issue.get("start_s")
            stop = issue.get("end_s", start)
            if start is None or stop < begin or start > end:
                continue
            run.acquisition_issues.append({**issue, "start_s": max(start, begin) - begin,
                                           "end_s": min(stop, end) - begin})
        explained = [(i["start_s"], i["end_s"]) for i in run.acquisition_issues]
        for start, stop in hole_spans(run.force, rate_hz):
            if not any(a <= stop + 1 / rate_hz and start <= b + 1 / rate_hz for a, b in explained):
                run.acquisition_issues.append(
                    {"code": "gap", "message": f"{round((stop - start) * rate_hz) + 1} sample(s) missing",
                     "start_s": start, "end_s": stop})


def run(scenario_path: str | Path, report_dir: str | Path | None = None,
        settings: Settings = Settings(), write_source_only: bool = False) -> int:
    """``forcebench replay``: load, replay, print a summary; the exit status (0 or 1)."""
    scenario = load(scenario_path)
    directory = Path(report_dir) if report_dir else Path("reports") / scenario.name
    if write_source_only:  # for a plate you start yourself: `forcebench emulate --source ...`
        directory.mkdir(parents=True, exist_ok=True)
        for rate in scenario.rates_hz:
            segment = simulate_segment(scenario, rate)
            name = "source.npz" if len(scenario.rates_hz) == 1 else f"source-{rate:g}hz.npz"
            print(write_source(directory / name, segment.cells, rate, segment.starts,
                               [plan.label for plan in segment.plans]))
        return 0
    record, status = replay(scenario, directory, settings)
    print(summary(record, directory))
    return status


def summary(record: Mapping[str, Any], directory: Path) -> str:
    """A few lines for people: pass rates, latency, frames, verdict, where the report is."""
    trials = record["trials"]
    counts = {s: sum(t["status"] == s for t in trials) for s in ("pass", "fail", "flagged")}
    lines = [f"{record['scenario']['name']} on {record['plate']['url']} "
             f"({record['plate']['identity']}), {record['mode']}: {len(trials)} trials, "
             f"{counts['pass']} pass, {counts['fail']} fail, {counts['flagged']} flagged by acquisition"]
    for rate in record["pass_rates"]:
        mark = "ok  " if rate["met"] else "FAIL"
        lines.append(f"  {mark} {rate['test']:<5} {rate['metric']:<30} {rate['passed']:>4}/{rate['total']:<4}"
                     f" {100 * rate['rate']:6.1f} %")
    latency = record["latency"]
    lines.append("  result " + report.latency_text(latency)
                 + ("" if latency["checked"] else f" ({latency['note']})"))
    transport = latency["transport"]
    if transport["count"]:
        lines.append(f"  sample latency (wire + acquisition) p50 {1000 * transport['p50_s']:.2f} ms, "
                     f"p99 {1000 * transport['p99_s']:.2f} ms, max {1000 * transport['max_s']:.2f} ms "
                     f"over {transport['count']} samples")
    frames = record["frames"]
    lines.append("  frames " + ", ".join(f"{k} {v}" for k, v in frames.items()))
    timing = record["timing"]
    if timing["speed_x_real_time"]:
        lines.append(f"  {timing['data_s']:.1f} s of data streamed in {timing['stream_s']:.2f} s "
                     f"({timing['speed_x_real_time']:.1f}× real time)")
    lines += [f"  out of spec: {reason}" for reason in record["reasons"]]
    lines.append(f"{record['verdict'].upper()}: report in {directory}/report.json, report.xml")
    return "\n".join(lines)
