"""Stage 3, score: each trial's result against its truth under the spec, latency against its
limits, and the verdict.

A trial is ``pass`` (a result, every checked metric within tolerance, no more results than
movements), ``fail``, or ``flagged`` (the acquisition lost or could not trust some of its
samples: its metrics are shown, not scored, and must carry a quality issue from the analysis).
A replay that scored no trial verified nothing, and does not pass.
"""
from __future__ import annotations

import math
from dataclasses import replace
from pathlib import Path
from typing import Sequence

import numpy as np

from hil import report, spec
from hil.analysis import dj
from hil.analysis.result import Issue, Result
from hil.bench.record import Counts, LatencyFigure, LatencySummary, TrialRecord
from hil.bench.stream import TrialRun, write_times
from hil.bench.tally import Tally
from sim.trial import Truth

TIMING_ONLY = ("stall",)  # acquisition issues that delay samples but leave every value intact
# acquisition issues that reach the analysis as missing (NaN) samples, which it must notice;
# a dead cell or clock drift arrives as plausible numbers, so only the acquisition can tell
LOST = ("gap", "disconnect", "saturation")
# the true event that ends each test's movement: movement latency runs from its sample (running:
# each step's takeoff; the whole-session result rests on the recording's end and has none)
MOVEMENT_END = {"cmj": "landing_s", "sj": "landing_s", "dj": "landing_s",
                "hops": "final_landing_s", "iso": "relax_s"}
# a drop jump's body weight is the stillest 1 s of the standing after its landing (METRICS), which
# the analysis searches up to WEIGH_AFTER_S[1] past it: the movement it reports ends there, or
# where the standing (the recording) does; "before the athlete steps back" then holds as for a cmj
STANCE_AFTER_S = {"dj": dj.WEIGH_AFTER_S[1]}
SESSION_TESTS = ("run",)  # their whole result summarises a session (timed apart); steps come live
STEP_MATCH_S = 0.02  # a step result is the true step whose takeoff lies this close to its own
# checked per step against the true step; a step's contact time is reported, and scored as the
# session's mean: one step's timing misses ±(2·dt + 1 ms) in 2–5 % of steps, batch or streamed
STEP_METRICS = ("peak_force_n", "vertical_impulse_n_s")


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
        for start, stop in run.holes:
            if not any(a <= stop + 1 / rate_hz and start <= b + 1 / rate_hz for a, b in explained):
                run.acquisition_issues.append(
                    Issue("gap", f"{round((stop - start) * rate_hz) + 1} sample(s) missing", start, stop))


def attach_latencies(runs: list[TrialRun], timing: np.ndarray | Path | None, counter0: int,
                     rate_hz: float) -> None:
    """Latencies per result, from the timing log (the plate's time of each sample) to the host
    time the analysis returned the result:

    - compute: from the last sample the result needed (``needed_until_s``; a result that rests
      on where the trial ends, None or past the last sample, needed the trial's last sample);
      a whole-session summary (SESSION_TESTS) goes to ``session_s`` instead;
    - movement: from the first sample at or after the movement's end in the truth (the landing,
      the release, a step's takeoff, a drop jump's standing), where the result reports a movement."""
    timed = []  # (run, emitted ns, which list, stream sample index)
    for run in runs:
        last = run.samples - 1
        first_movement = True
        for result, emitted_ns in run.results:
            needed = last if result.needed_until_s is None else round(result.needed_until_s * rate_hz)
            session = result.step is None and run.plan.test in SESSION_TESTS
            timed.append((emitted_ns, run.session_s if session else run.compute_s,
                          run.start + min(int(needed), last)))
            end_s = movement_end_s(run.truth, result, rate_hz) if (
                result.step is not None or (first_movement and result.metrics)) else None
            first_movement &= not (result.step is None and result.metrics)
            if end_s is not None:
                timed.append((emitted_ns, run.movement_s,
                              run.start + min(math.ceil(end_s * rate_hz - 1e-9), last)))
    if not timed:
        return
    written = write_times(timing, counter0, np.array([index for *_, index in timed], dtype=np.int64))
    for (emitted_ns, latencies, _), start in zip(timed, written):
        if start >= 0:
            latencies.append((emitted_ns - int(start)) / 1e9)


def movement_end_s(truth: Truth, result: Result, rate_hz: float) -> float | None:
    """When the movement the result reports ended, in the truth (trial time), if it did."""
    if result.step is not None:
        step = true_step(truth, result, rate_hz)
        return None if step is None else float(step["takeoff_s"])
    name = MOVEMENT_END.get(truth.test)
    end = None if name is None else truth.events.get(name)
    return None if end is None else end + STANCE_AFTER_S.get(truth.test, 0.0)


def true_step(truth: Truth, result: Result, rate_hz: float) -> dict | None:
    """The true step a step result reports: the one whose takeoff is closest, within reach."""
    takeoff = result.events.get("takeoff_s")
    if takeoff is None or not truth.per_rep:
        return None
    nearest = min(truth.per_rep, key=lambda rep: abs(rep["takeoff_s"] - takeoff))
    reach = max(STEP_MATCH_S, 3 / rate_hz)
    return dict(nearest) if abs(nearest["takeoff_s"] - takeoff) <= reach else None


def evaluate(run: TrialRun, names: Sequence[str] | None, expected: Sequence[str],
             rate_hz: float) -> tuple[TrialRecord, list[spec.Check]]:
    """The trial's record and the checks that count towards the pass rates."""
    truth = run.truth
    everything = [result for result, _ in run.results]
    steps = [r for r in everything if r.step is not None]
    results = [r for r in everything if r.step is None]
    result = next((r for r in results if r.metrics), results[0] if results else None)
    measured = dict(result.metrics) if result is not None else {}
    checks = spec.check(run.plan.test, truth.metrics, measured, rate_hz,
                        names=None if names is None else [n for n in names if n in truth.metrics])
    step_checks, spurious = check_steps(truth, steps, rate_hz)
    analysis_issues = [issue for r in everything for issue in r.issues]
    notes = []
    if len(results) > 1:
        notes.append(f"the analysis emitted {len(results)} results for one {run.plan.test}: "
                     "a spurious detection is a wrong answer")
    if spurious:
        notes.append(f"the analysis reported {spurious} step(s) the athlete did not take "
                     f"({len(steps)} step results, {len(truth.per_rep)} true steps)")
    if run.crash is not None:
        notes.append(run.crash)
    elif result is None:
        notes.append("the analysis emitted no result")
    wrong = len(results) > 1 or spurious > 0 or run.crash is not None
    untrusted = [i for i in run.acquisition_issues if i.code not in TIMING_ONLY]
    if untrusted:
        unexpected = sorted({i.code for i in untrusted} - set(expected))
        if unexpected:
            notes.append(f"unexpected acquisition issues: {', '.join(unexpected)}")
        confident = result is not None and result.metrics and result.quality["ok"] and any(
            result.needed_until_s is None or i.start_s <= result.needed_until_s
            for i in untrusted if i.start_s is not None and i.code in LOST)
        if confident:
            notes.append("the analysis reported confident metrics across samples the acquisition lost")
        status = "fail" if unexpected or confident or wrong else "flagged"
    else:
        status = "pass" if result is not None and not wrong and all(
            c.passed for c in checks + step_checks) else "fail"
    plan = run.plan
    record = TrialRecord(
        label=plan.label, index=plan.index, test=plan.test, seed=plan.seed, mass_kg=plan.mass_kg,
        rate_hz=rate_hz, options=dict(plan.options), start_sample=run.start,
        samples=run.samples, status=status, notes=tuple(notes),
        truth=dict(truth.metrics), true_events=dict(truth.events), measured=measured,
        events=dict(result.events) if result is not None else {},
        checks=tuple(checks + step_checks), acquisition_issues=tuple(untrusted),
        quality_ok=not analysis_issues and not run.acquisition_issues and result is not None,
        issues=tuple(run.acquisition_issues) + tuple(analysis_issues),
        compute_latency_s=tuple(run.compute_s), movement_latency_s=tuple(run.movement_s),
        analysis_s=tuple(run.analysis_s),
        steps=tuple({"step": r.step, **r.events, **r.metrics} for r in steps))
    return record, ([] if untrusted else checks + step_checks)


def check_steps(truth: Truth, steps: Sequence[Result], rate_hz: float) -> tuple[list[spec.Check], int]:
    """Each step result against the true step it reports (as test ``run step``), and how many
    step results report no true step (or one already reported)."""
    checks, seen, spurious = [], set(), 0
    for step in steps:
        true = true_step(truth, step, rate_hz)
        if true is None or true["takeoff_s"] in seen:
            spurious += 1
            continue
        seen.add(true["takeoff_s"])
        checks += [replace(c, test="run step") for c in spec.check(
            "run", true, step.metrics, rate_hz, names=[n for n in STEP_METRICS if n in true])]
    return checks, spurious


def count(trials: Sequence[TrialRecord], counted: Sequence[Sequence[spec.Check]],
          min_scored: float) -> Counts:
    """How many trials were scored (compared with the truth), flagged and failed."""
    return Counts(trials=len(trials), scored=sum(1 for c in counted if c),
                  flagged=sum(t.status == "flagged" for t in trials),
                  failed=sum(t.status == "fail" for t in trials),
                  passed=sum(t.status == "pass" for t in trials), min_scored=min_scored)


def latency_figure(name: str, start: str, end: str, values_s: Sequence[float] | Tally, *,
                   limit_s: float | None, fast: bool, clock_problem: str | None) -> LatencyFigure:
    """A latency against its limit (held to the p99, or the max below spec.P99_MIN_COUNT
    values), checked in real-time replays only. A negative latency, or a timing log off the
    host's clock, makes the figure "not measurable" (never met)."""
    summary = LatencySummary.of(values_s)
    negative = values_s.negative if isinstance(values_s, Tally) else int(
        np.count_nonzero(np.asarray(values_s, dtype=float) < 0))
    if clock_problem is not None or negative:
        why = clock_problem or (f"{negative} of {summary.count} values are negative: the timing "
                                "log does not hold when these samples were written")
        return LatencyFigure(name, start, end, summary, limit_s, False, None, False, why)
    if fast:
        return LatencyFigure(name, start, end, summary, limit_s, False, None, True,
                             "not checked in --fast mode: the emulator outruns real time")
    if limit_s is None:
        return LatencyFigure(name, start, end, summary, None, False, None)
    if not summary.count:
        return LatencyFigure(name, start, end, summary, limit_s, False, None, True,
                             "no result could be timed (no timing log)")
    return LatencyFigure(name, start, end, summary, limit_s, True, summary.tail_s <= limit_s)


def verdict(counts: Counts, pass_rates: Sequence[spec.PassRate], trials: Sequence[TrialRecord],
            latency: Sequence[LatencyFigure], expected: Sequence[str], observed: set[str],
            fast: bool) -> list[str]:
    """Why the replay is out of spec or verified too little (empty: a pass)."""
    reasons = []
    if counts.scored == 0:
        reasons.append(f"nothing verified: 0 of {counts.trials} trials scored "
                       f"({counts.flagged} flagged by acquisition, {counts.failed} failed)")
    elif counts.scored < counts.min_scored * counts.trials - 1e-9:
        reasons.append(f"only {counts.scored} of {counts.trials} trials scored "
                       f"({100 * counts.scored / counts.trials:.0f} % < "
                       f"{100 * counts.min_scored:.0f} %, check.min_scored)")
    reasons += [f"{r.test} {r.metric}: {r.passed}/{r.total} within tolerance "
                f"({100 * r.rate:.1f} % < {100 * r.min_rate:.0f} %)"
                for r in pass_rates if not r.met]
    reasons += [f"{t.label}: {'; '.join(t.notes)}" for t in trials if t.status == "fail" and t.notes]
    reasons += [f"expected acquisition issue {code!r} was never detected"
                for code in expected if code not in observed]
    unexpected = sorted(observed - set(expected) - set(TIMING_ONLY))
    if unexpected:  # anywhere in the stream, inside a trial or not
        reasons.append(f"acquisition issues the scenario does not expect: {', '.join(unexpected)}")
    for figure in latency:
        if (figure.checked and not figure.met) or (not figure.measurable and not fast):
            reasons.append(report.latency_text(figure.to_dict()))
    return reasons
