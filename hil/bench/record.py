"""Stage 4, record: the typed, frozen records of a replay → report.json, report.xml, plots, and
the lines printed for people.

Records are dataclasses up to the JSON edge (``to_dict``); hil.report writes the files from
that one dictionary, so the JSON, the JUnit file and the plots show the same run.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

import numpy as np

from hil import report, spec
from hil.analysis.result import ANALYSER_NAME, ANALYSER_VERSION, Issue
from hil.bench.stream import Frames
from hil.bench.tally import Tally


@dataclass(frozen=True)
class LatencySummary:
    """p50, p99 (only over ≥ spec.P99_MIN_COUNT values) and max of a set of latencies."""

    count: int = 0
    p50_s: float | None = None
    p99_s: float | None = None
    max_s: float | None = None

    @classmethod
    def of(cls, values_s: Sequence[float] | np.ndarray | Tally) -> "LatencySummary":
        tally = values_s if isinstance(values_s, Tally) else Tally()
        if tally is not values_s:
            tally.add(values_s)
        if tally.count == 0:
            return cls()
        p99 = tally.percentile(99) if tally.count >= spec.P99_MIN_COUNT else None
        return cls(tally.count, tally.percentile(50), p99, tally.max_s)

    @property
    def statistic(self) -> str:
        """What the limit is held against: the p99, or the maximum when there are too few values."""
        return "p99" if self.p99_s is not None else "max"

    @property
    def tail_s(self) -> float | None:
        return self.p99_s if self.p99_s is not None else self.max_s


@dataclass(frozen=True)
class LatencyFigure:
    """One latency, named for the two moments it lies between, with its count and its limit."""

    name: str  # compute | movement | sample
    start: str  # where the first timestamp is taken
    end: str  # ... and the second
    summary: LatencySummary
    limit_s: float | None  # on the p99 (the max below spec.P99_MIN_COUNT values); None: reported only
    checked: bool
    met: bool | None  # None: not checked
    measurable: bool = True
    note: str | None = None  # why not checked, or why not measurable

    def to_dict(self) -> dict[str, Any]:
        s = self.summary
        return {"name": self.name, "start": self.start, "end": self.end, "count": s.count,
                "p50_s": s.p50_s, "p99_s": s.p99_s, "max_s": s.max_s, "statistic": s.statistic,
                "limit_s": self.limit_s, "checked": self.checked, "met": self.met,
                "measurable": self.measurable, "note": self.note}


@dataclass(frozen=True)
class Counts:
    """How much the replay verified: trials scored against the truth, flagged, failed."""

    trials: int
    scored: int  # compared with the truth (not flagged, at least one checked metric)
    flagged: int  # hit by acquisition faults: shown, not scored
    failed: int
    passed: int
    min_scored: float  # the share of trials that must be scored

    def to_dict(self) -> dict[str, Any]:
        return {"trials": self.trials, "scored": self.scored, "flagged": self.flagged,
                "failed": self.failed, "passed": self.passed, "min_scored": self.min_scored}


@dataclass(frozen=True)
class TrialRecord:
    """One trial: what was simulated, what the analysis said, how it compares with the truth."""

    label: str
    index: int
    test: str
    seed: int
    mass_kg: float | None
    rate_hz: float
    options: Mapping[str, Any]
    start_sample: int
    samples: int
    status: str  # pass | fail | flagged (hit by acquisition faults: shown, not scored)
    notes: tuple[str, ...]
    truth: Mapping[str, float]
    true_events: Mapping[str, float]
    measured: Mapping[str, float]
    events: Mapping[str, float]
    checks: tuple[spec.Check, ...]
    acquisition_issues: tuple[Issue, ...]  # the ones that make samples untrustworthy
    quality_ok: bool
    issues: tuple[Issue, ...]  # every issue: acquisition's and the analysis's
    compute_latency_s: tuple[float, ...]  # per timed result (see score.attach_latencies)
    movement_latency_s: tuple[float, ...]
    analysis_s: tuple[float, ...]
    steps: tuple[Mapping[str, float], ...] = ()  # running: each step's result as it came

    def to_dict(self) -> dict[str, Any]:
        return {
            "label": self.label, "index": self.index, "test": self.test, "seed": self.seed,
            "mass_kg": self.mass_kg, "rate_hz": self.rate_hz, "options": dict(self.options),
            "start_sample": self.start_sample, "samples": self.samples, "status": self.status,
            "notes": list(self.notes), "truth": dict(self.truth),
            "true_events": dict(self.true_events), "measured": dict(self.measured),
            "events": dict(self.events), "checks": [c.to_dict() for c in self.checks],
            "acquisition_issues": [i.to_dict() for i in self.acquisition_issues],
            "quality": {"ok": self.quality_ok, "issues": [i.to_dict() for i in self.issues]},
            "compute_latency_s": list(self.compute_latency_s),
            "movement_latency_s": list(self.movement_latency_s),
            "analysis_s": list(self.analysis_s), "steps": [dict(step) for step in self.steps],
        }


@dataclass(frozen=True)
class Timing:
    data_s: float  # seconds of data received
    stream_s: float  # seconds spent streaming them
    wall_s: float  # including starting and stopping plates

    def to_dict(self) -> dict[str, Any]:
        return {"data_s": self.data_s, "stream_s": self.stream_s, "wall_s": self.wall_s,
                "speed_x_real_time": self.data_s / self.stream_s if self.stream_s > 0 else None}


@dataclass(frozen=True)
class ReplayRecord:
    """The whole run: report.json is ``to_dict()`` (docs/bench.md, "Report")."""

    forcebench_version: str
    scenario: Mapping[str, Any]  # name, source, description
    plate: Mapping[str, Any]  # url, identity, plates, noise, faults
    mode: str  # real-time | fast
    started_utc: str
    trials: tuple[TrialRecord, ...]
    counts: Counts
    pass_rates: tuple[spec.PassRate, ...]
    latency: tuple[LatencyFigure, ...]  # compute, movement, sample
    frames: Frames
    acquisition_issues: tuple[Issue, ...]
    timing: Timing
    verdict: str  # pass | fail
    reasons: tuple[str, ...] = field(default_factory=tuple)

    def to_dict(self) -> dict[str, Any]:
        return {
            "forcebench": {"version": self.forcebench_version},
            "analyser": {"name": ANALYSER_NAME, "version": ANALYSER_VERSION},
            "scenario": dict(self.scenario), "plate": dict(self.plate), "mode": self.mode,
            "started_utc": self.started_utc,
            "trials": [t.to_dict() for t in self.trials], "counts": self.counts.to_dict(),
            "pass_rates": [r.to_dict() for r in self.pass_rates],
            "latency": {figure.name: figure.to_dict() for figure in self.latency},
            "frames": self.frames.to_dict(),
            "acquisition_issues": [i.to_dict() for i in self.acquisition_issues],
            "timing": self.timing.to_dict(), "verdict": self.verdict, "reasons": list(self.reasons),
        }


def write(directory: Path, record: ReplayRecord,
          traces: Sequence[tuple[str, Callable[[], report.Trace]]],
          latencies_s: Mapping[str, Sequence[float]], plots: bool = True) -> list[Path]:
    """report.json, report.xml and, unless ``plots`` is off, the plots worth drawing (the first
    trial of each test and every failure; a histogram per latency figure). ``traces``: (label,
    what makes its trace), so that only the traces plotted are read back."""
    plain = record.to_dict()
    chosen = report.traces_to_plot(plain) if plots else []
    plotted = [make() for label in chosen for name, make in traces if name == label]
    return report.write(directory, plain, plotted, latencies_s, plots=plots)


def summary(record: ReplayRecord, directory: Path, written: bool = True) -> str:
    """A few lines for people: counts, pass rates, latency, frames, verdict, where the report is."""
    c = record.counts
    lines = [f"{record.scenario['name']} on {record.plate['url']} "
             f"({record.plate['identity']}), {record.mode}: {c.trials} trials, {c.scored} scored, "
             f"{c.passed} pass, {c.failed} fail, {c.flagged} flagged by acquisition"]
    for rate in record.pass_rates:
        mark = "ok  " if rate.met else "FAIL"
        lines.append(f"  {mark} {rate.test:<5} {rate.metric:<30} {rate.passed:>4}/{rate.total:<4}"
                     f" {100 * rate.rate:6.1f} %")
    lines += ["  " + report.latency_text(figure.to_dict()) for figure in record.latency]
    for played in record.plate.get("stimulus", ()):
        ppm = played["alignment"]["clock_ppm"]
        lines.append(f"  stimulus {played['rate_hz']:g} Hz from {played['identity']}; plate clock "
                     + ("not measured" if ppm is None else f"{ppm:+.1f} ppm") + " against it; "
                     + _trigger_text(played.get("trigger")))
    lines.append("  frames " + ", ".join(f"{k} {v}" for k, v in record.frames.to_dict().items()))
    timing = record.timing.to_dict()
    if timing["speed_x_real_time"]:
        lines.append(f"  {timing['data_s']:.1f} s of data streamed in {timing['stream_s']:.2f} s "
                     f"({timing['speed_x_real_time']:.1f}× real time)")
    lines += [f"  out of spec: {reason}" for reason in record.reasons]
    lines.append(f"{record.verdict.upper()}: " + (f"report in {directory}/report.json, report.xml"
                                                  if written else "the report was NOT written"))
    return "\n".join(lines)


def _trigger_text(trigger: dict | None) -> str:
    """Where stimulus out was taken from (the generators' own record, or the host's *TRG)."""
    if trigger is None or trigger["trip_ms"] is None:
        return "stimulus out = the host's *TRG (its trip to the generators counts as latency)"
    return f"stimulus out = the generators' trigger, {trigger['trip_ms']:.2f} ms after the host's *TRG"
