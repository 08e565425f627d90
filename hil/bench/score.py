"""Stage 3, score: each trial's result against its truth under the spec, latency against its
limit, and the verdict.

A trial is ``pass`` (a result, every checked metric within tolerance), ``fail``, or ``flagged``
(the acquisition lost or could not trust some of its samples: its metrics are shown, not scored,
and must carry a quality issue from the analysis).
"""
from __future__ import annotations

from dataclasses import replace
from typing import Sequence

import numpy as np

from hil import report, spec
from hil.analysis.result import Issue
from hil.bench.record import LatencyRecord, LatencySummary, TrialRecord
from hil.bench.stream import TrialRun, written_at

TIMING_ONLY = ("stall",)  # acquisition issues that delay samples but leave every value intact


def hole_spans(force: np.ndarray, rate_hz: float) -> list[tuple[float, float]]:
    """(start_s, end_s) of every run of samples where any plate has no data."""
    missing = ~np.isfinite(force).all(axis=1)
    edges = np.flatnonzero(np.diff(np.concatenate(([0], missing.view(np.int8), [0]))))
    return [(start / rate_hz, (stop - 1) / rate_hz) for start, stop in zip(edges[0::2], edges[1::2])]


def assign_issues(runs: list[TrialRun], issues: Sequence[Issue], rate_hz: float) -> None:
    """Give each trial the acquisition issues inside its span (times made relative to the trial),
    and a ``gap`` issue for every hole in its samples that no acquisition issue explains."""
    for run in runs:
        begin, end = run.start / rate_hz, (run.stop - 1) / rate_hz
        for issue in issues:
            start = issue.start_s
            stop = start if issue.end_s is None else issue.end_s
            if start is None or stop < begin or start > end:
                continue
            run.acquisition_issues.append(replace(issue, start_s=max(start, begin) - begin,
                                                  end_s=min(stop, end) - begin))
        explained = [(i.start_s, i.end_s) for i in run.acquisition_issues]
        for start, stop in hole_spans(run.force, rate_hz):
            if not any(a <= stop + 1 / rate_hz and start <= b + 1 / rate_hz for a, b in explained):
                run.acquisition_issues.append(
                    Issue("gap", f"{round((stop - start) * rate_hz) + 1} sample(s) missing", start, stop))


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
             rate_hz: float) -> tuple[TrialRecord, list[spec.Check]]:
    """The trial's record and the checks that count towards the pass rates."""
    truth = run.trial.truth
    results = [result for result, _ in run.results]
    result = next((r for r in results if r.metrics), results[0] if results else None)
    measured = dict(result.metrics) if result is not None else {}
    checks = spec.check(run.plan.test, truth.metrics, measured, rate_hz,
                        names=None if names is None else [n for n in names if n in truth.metrics])
    analysis_issues = [issue for r in results for issue in r.issues]
    notes = []
    if len([r for r in results if r.metrics]) > 1:
        notes.append(f"the analysis emitted {len(results)} results for one trial; the first is checked")
    if run.crash is not None:
        notes.append(run.crash)
    elif result is None:
        notes.append("the analysis emitted no result")
    untrusted = [i for i in run.acquisition_issues if i.code not in TIMING_ONLY]
    if untrusted:
        unexpected = sorted({i.code for i in untrusted} - set(expected))
        if unexpected:
            notes.append(f"unexpected acquisition issues: {', '.join(unexpected)}")
        confident = result is not None and result.metrics and result.quality["ok"] and any(
            result.needed_until_s is None or i.start_s <= result.needed_until_s
            for i in untrusted if i.start_s is not None)
        if confident:
            notes.append("the analysis reported confident metrics across samples the acquisition lost")
        status = "fail" if unexpected or confident or run.crash is not None else "flagged"
    else:
        status = "pass" if result is not None and run.crash is None and all(
            c.passed for c in checks) else "fail"
    plan = run.plan
    record = TrialRecord(
        label=plan.label, index=plan.index, test=plan.test, seed=plan.seed, mass_kg=plan.mass_kg,
        rate_hz=rate_hz, options=dict(plan.options), start_sample=run.start,
        samples=int(run.force.shape[0]), status=status, notes=tuple(notes),
        truth=dict(truth.metrics), true_events=dict(truth.events), measured=measured,
        events=dict(result.events) if result is not None else {}, checks=tuple(checks),
        acquisition_issues=tuple(untrusted),
        quality_ok=not analysis_issues and not run.acquisition_issues and result is not None,
        issues=tuple(run.acquisition_issues) + tuple(analysis_issues),
        latency_s=tuple(run.latencies_s), analysis_s=tuple(run.analysis_s))
    return record, ([] if untrusted else checks)


def score_latency(latencies_s: Sequence[float], sample_latencies_s: np.ndarray,
                  limit_ms: float | None, fast: bool) -> LatencyRecord:
    """Result latency against its p99 limit (real-time replays only)."""
    limit_s = spec.LATENCY_P99_S if limit_ms is None else limit_ms / 1000
    result, transport = LatencySummary.of(latencies_s), LatencySummary.of(sample_latencies_s)
    if fast:
        return LatencyRecord(result, limit_s, False, None,
                             "not checked in --fast mode: the emulator outruns real time", transport)
    if not result.count:
        return LatencyRecord(result, limit_s, False, None,
                             "no result could be timed (no timing log)", transport)
    return LatencyRecord(result, limit_s, True, result.p99_s <= limit_s, None, transport)


def verdict(pass_rates: Sequence[spec.PassRate], trials: Sequence[TrialRecord],
            latency: LatencyRecord, expected: Sequence[str], observed: set[str]) -> list[str]:
    """Why the replay is out of spec (empty: everything within spec)."""
    reasons = [f"{r.test} {r.metric}: {r.passed}/{r.total} within tolerance "
               f"({100 * r.rate:.1f} % < {100 * r.min_rate:.0f} %)"
               for r in pass_rates if not r.met]
    reasons += [f"{t.label}: {'; '.join(t.notes)}" for t in trials if t.status == "fail" and t.notes]
    reasons += [f"expected acquisition issue {code!r} was never detected"
                for code in expected if code not in observed]
    unexpected = sorted(observed - set(expected) - set(TIMING_ONLY))
    if unexpected:  # anywhere in the stream, inside a trial or not
        reasons.append(f"acquisition issues the scenario does not expect: {', '.join(unexpected)}")
    if latency.checked and not latency.met:
        reasons.append(report.latency_text(latency.to_dict()))
    return reasons
