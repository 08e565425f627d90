"""``forcebench block``: a training-block scenario → block.json (streamed), PNGs and a summary.

block.json holds ``scenario`` (what ran), ``athletes`` (one record per athlete, written as each
chunk of athletes finishes, so memory stays flat with the number of athletes) and ``summary``
(decision agreement with every disagreement's cause counted, test–retest, detection power,
load and injury figures). It is written to a temporary name and renamed when complete: never
half-written.
"""
from __future__ import annotations

import dataclasses
import json
import os
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

import numpy as np

from hil.bench.settings import Settings
from hil.block import reliability
from hil.block.measure import SensorTester, make_tester, sensor_results
from hil.progress import Progress
from hil.report import plots_available
from sim import block
from sim.block_scenario import BlockScenario, load
from sim.rule import DECISIONS
from sim.scenario import ScenarioError

TIMELINE_ATHLETES = 40  # rows of the decision timeline
DEFAULT_RETEST = 10  # athletes tested twice for the MDC band when the scenario sets no [reliability]


@dataclass(frozen=True)
class BlockSettings:
    athletes: int | None = None  # None: the scenario's
    seed: int | None = None
    plate_url: str | None = None  # None: the simulated sensor
    fast: bool = False  # emulated plates stream as fast as the bench reads
    traces: bool = True  # False: the model's values, no traces, no plate
    timeout_s: float = 10.0
    progress: bool = True
    calibration: Path | None = None  # a calibration file (or directory by serial) the plate's driver applies


class Agreement:
    """Weekly decisions on true vs measured values, counted as athletes stream past."""

    def __init__(self) -> None:
        self.weeks = self.agree = 0
        self.confusion = np.zeros((3, 3), dtype=int)  # [truth, measured]
        self.causes: dict[str, int] = {}

    def add(self, weeks: list[Mapping[str, Any]]) -> None:
        for week in weeks:
            decision = week["decision"]
            if decision.get("measured") is None:
                continue
            self.weeks += 1
            self.agree += decision["agree"]
            self.confusion[DECISIONS.index(decision["truth"]), DECISIONS.index(decision["measured"])] += 1
            for cause in decision.get("because", []):
                self.causes[cause["condition"]] = self.causes.get(cause["condition"], 0) + 1

    def to_dict(self) -> dict[str, Any] | None:
        if not self.weeks:
            return None
        return {"weeks": self.weeks, "agree": self.agree, "share": self.agree / self.weeks,
                "confusion": {"rows_truth_columns_measured": list(DECISIONS),
                              "counts": self.confusion.tolist()},
                "disagreements_by_condition": dict(sorted(self.causes.items(), key=lambda kv: -kv[1]))}


class Load:
    """Injuries and each athlete's highest EWMA ACWR, counted as athletes stream past: the
    maxima (four significant digits, as block.json has them) by value, so the median is exact
    and the memory bounded by the values' range, not the number of athletes."""

    def __init__(self) -> None:
        self.injuries = self.injured_days = 0
        self.maxima: Counter[float] = Counter()

    def add(self, record: Mapping[str, Any]) -> None:
        self.injuries += record["injuries"]
        self.injured_days += record["injured_days"]
        ewma = [v for v in record["daily"]["acwr_ewma"] if v is not None]
        if ewma:
            self.maxima[max(ewma)] += 1

    def max_acwr_ewma(self) -> dict[str, float] | None:
        if not self.maxima:
            return None
        values = sorted(self.maxima)
        ends = np.cumsum([self.maxima[v] for v in values])  # one past each value's last rank (from 0)
        count = int(ends[-1])
        lower, upper = (values[int(np.searchsorted(ends, rank, side="right"))] for rank in ((count - 1) // 2, count // 2))
        return {"median": (lower + upper) / 2, "max": float(values[-1])}


def scenario_dict(scenario: BlockScenario, settings: BlockSettings, athletes: int) -> dict[str, Any]:
    return {"name": scenario.name, "description": scenario.description.strip(), "source": scenario.source,
            "weeks": scenario.weeks, "seed": scenario.seed, "athletes": athletes,
            "plate": settings.plate_url or f"simulated sensor ({scenario.noise})" if settings.traces else None,
            "rate_hz": scenario.rate_hz, "battery": list(scenario.tests.battery),
            "trials_per_test": scenario.tests.trials, "test_weeks": list(scenario.tests.weeks(scenario.weeks)),
            "programmes": [p.source for p in scenario.programmes], "rule": scenario.rule.source,
            "rule_conditions": {"back_off": [c.label for c in scenario.rule.back_off],
                                "progress": [c.label for c in scenario.rule.progress]}}


def prepare(path: str | Path, settings: BlockSettings) -> BlockScenario:
    scenario = load(path)
    if settings.seed is not None:
        scenario = dataclasses.replace(scenario, seed=settings.seed)
    if not settings.traces:
        missing = block.model_metrics_missing(scenario)
        if missing:
            raise ScenarioError(f"{scenario.source}: without traces the model has no "
                                f"{', '.join(missing)}: run with traces or change the rule")
    return scenario


def run(path: str | Path, out: str | Path | None, settings: BlockSettings) -> int:
    """Run the block and write DIR/block.json and the PNGs; print a short summary."""
    scenario = prepare(path, settings)
    athletes = scenario.athletes.count if settings.athletes is None else settings.athletes
    directory = Path(out) if out is not None else Path("reports") / f"block-{scenario.name}"
    directory.mkdir(parents=True, exist_ok=True)
    bench = Settings(plate_url=settings.plate_url, fast=settings.fast, timeout_s=settings.timeout_s,
                     calibration=settings.calibration)
    tester = make_tester(scenario, settings.plate_url, bench) if settings.traces else block.model_tester(scenario)
    started = time.monotonic()
    summary = write_block(directory, scenario, settings, athletes, tester)
    summary["wall_s"] = round(time.monotonic() - started, 2)
    print(text_summary(summary, directory))
    return 0


def write_block(directory: Path, scenario: BlockScenario, settings: BlockSettings, athletes: int,
                tester) -> dict[str, Any]:
    final, partial = directory / "block.json", directory / "block.json.partial"
    agreement, load_figures, timeline, first = Agreement(), Load(), [], None
    progress = Progress(athletes, f"block {scenario.name}") if settings.progress else None
    try:
        with open(partial, "w", encoding="utf-8") as stream:
            stream.write('{"scenario": ' + json.dumps(scenario_dict(scenario, settings, athletes)) + ',\n"athletes": [\n')
            done = (lambda n: progress.update(n)) if progress else None
            for number, record in enumerate(block.run(scenario, tester, athletes, done=done)):
                stream.write((",\n" if number else "") + json.dumps(record, allow_nan=False))
                agreement.add(record["weeks"])
                if len(timeline) < TIMELINE_ATHLETES:
                    timeline.append(record["weeks"])
                if first is None:
                    first = record
                load_figures.add(record)
            if progress:
                progress.close(athletes)
            summary = summarise(scenario, settings, athletes, agreement, load_figures, first, tester)
            stream.write("\n],\n\"summary\": " + json.dumps(summary, allow_nan=False) + "}\n")
    except BaseException:  # interrupted or failed: no half-written file left behind
        partial.unlink(missing_ok=True)
        raise
    os.replace(partial, final)
    summary["plots"] = write_plots(directory, scenario, first, timeline, summary)
    return summary


def summarise(scenario, settings, athletes, agreement, load_figures, first, tester) -> dict[str, Any]:
    out: dict[str, Any] = {
        "athletes": athletes, "weeks": scenario.weeks,
        "decision_agreement": agreement.to_dict(),
        "injuries": load_figures.injuries, "injured_days": load_figures.injured_days,
        "max_acwr_ewma": load_figures.max_acwr_ewma(),
        "trials": getattr(tester, "trials", 0),
    }
    if first is not None:
        out["first_athlete_weekly_max_acwr_ewma"] = weekly_max(first["daily"]["acwr_ewma"])
    if getattr(tester, "issues", None):
        out["acquisition_issues"] = tester.issues
    if settings.traces:
        measure = sensor_results if isinstance(tester, SensorTester) else tester.measure
        spec = scenario.reliability
        retest = spec.retest_athletes if spec else DEFAULT_RETEST
        progress = Progress(retest, "test–retest") if settings.progress else None
        out["test_retest"] = reliability.test_retest(scenario, retest, measure,
                                                     done=(lambda n: progress.update(n)) if progress else None)
        if progress:
            progress.close(retest)
        if spec is not None:
            progress = Progress(len(spec.deficits_pct) + 1, "detection power") if settings.progress else None
            out["detection_power"] = reliability.detection_power(
                scenario, measure, done=(lambda n: progress.update(n)) if progress else None)
            if progress:
                progress.close(len(spec.deficits_pct) + 1)
    return out


def weekly_max(values: list) -> list[float | None]:
    series = np.array([np.nan if v is None else v for v in values], dtype=float)
    out = []
    for week in range(int(np.ceil(series.size / 7))):
        part = series[7 * week:7 * week + 7]
        out.append(round(float(np.nanmax(part)), 3) if np.isfinite(part).any() else None)
    return out


def mdc_bands(summary: Mapping[str, Any]) -> dict[tuple[str, str, str | None], float]:
    """MDC95 of the key metrics (measured), keyed as plots.KEY_METRICS."""
    out = {}
    for row in summary.get("test_retest", []):
        mdc = row["measured"]["mdc95"]
        if mdc is None:
            continue
        if row["leg"] is None:
            out[(row["test"], row["metric"], None)] = mdc
        elif row["leg"] == "lsi_pct":
            out[(row["test"], row["metric"], "lsi_pct")] = mdc
        else:  # per leg: the larger of the two legs' MDCs
            key = (row["test"], row["metric"], "min")
            out[key] = max(out.get(key, 0.0), mdc)
    return out


def write_plots(directory: Path, scenario: BlockScenario, first, timeline, summary) -> list[str] | str:
    why = plots_available()
    if why is not None:
        return why
    if first is None:
        return []
    from hil.block import plots

    title = f"{scenario.name}: athlete 0"
    paths = [plots.plot_load(directory / "load.png", first, f"{title}: load, ACWR, fitness–fatigue, capacity"),
             plots.plot_metrics(directory / "metrics.png", first, mdc_bands(summary), f"{title}: key metrics"),
             plots.plot_decisions(directory / "decisions.png", timeline,
                                  f"{scenario.name}: weekly decisions ({len(timeline)} athletes)")]
    return [str(p) for p in paths if p is not None]


def text_summary(summary: Mapping[str, Any], directory: Path) -> str:
    lines = [f"{directory / 'block.json'}: {summary['athletes']} athlete(s) × {summary['weeks']} weeks, "
             f"{summary['trials']} trials, {summary['wall_s']} s"]
    agreement = summary["decision_agreement"]
    if agreement:
        lines.append(f"decision agreement (measured vs true): {agreement['agree']}/{agreement['weeks']} weeks "
                     f"= {100 * agreement['share']:.1f} %")
        for condition, count in agreement["disagreements_by_condition"].items():
            lines.append(f"  {count} × {condition}")
    if summary.get("max_acwr_ewma"):
        lines.append(f"highest EWMA ACWR: {summary['max_acwr_ewma']['max']:.2f} "
                     f"(median over athletes {summary['max_acwr_ewma']['median']:.2f})")
    lines.append(f"injuries: {summary['injuries']} ({summary['injured_days']} athlete-days injured)")
    for row in summary.get("test_retest", []):
        m = row["measured"]
        if row["metric"] in ("jump_height_m", "net_peak_force_n", "jump_height_flight_m", "heel_raise_reps") \
                and m["mdc95"] is not None:
            leg = "" if row["leg"] is None else f" {row['leg']}"
            lines.append(f"  MDC95 {row['test']}.{row['metric']}{leg}: {m['mdc95']:.4g} "
                         f"(TE {m['typical_error']:.3g}, {m['pairs']} pairs)")
    if isinstance(summary.get("plots"), str):
        lines.append(summary["plots"])
    return "\n".join(lines)
