"""Speed and memory of training blocks (sim.block): 1,000 athletes × 16 weeks without traces,
target under 10 s on this machine, streamed to disk as `forcebench block --no-traces` does. The
machine is shared, so the time is reported (extra_info) and asserted only against a reference
measured in the same run: writing the same amount of daily series (1,000 athletes × 25 series ×
113 days, rounded) as JSON lines, the floor of any block that streams its results;
with traces on every test day the figure is reported (extra_info), not asserted. Memory stays
flat with the number of athletes: the peak for 1,000 athletes is compared with 250's, over
4-week blocks (tracemalloc slows the model). Both timed blocks are also judged against this
machine's committed ratio to the reference computation (figures.judge, timing_baselines.json),
as the analysis and simulator benchmarks are."""
from __future__ import annotations

import dataclasses
import json
import time
import tracemalloc
from pathlib import Path

import numpy as np
import pytest
from figures import fastest, figure, judge

from hil.block.measure import SensorTester
from sim import block
from sim.block_scenario import load

COHORT = Path(__file__).resolve().parents[2] / "scenarios" / "blocks" / "cohort.toml"


def stream(athletes: int, path: Path, weeks: int | None = None) -> int:
    scenario = load(COHORT) if weeks is None else dataclasses.replace(load(COHORT), weeks=weeks)
    with open(path, "w", encoding="utf-8") as out:
        count = 0
        for record in block.run(scenario, athletes=athletes):
            out.write(json.dumps(record) + "\n")
            count += 1
    return count


def write_floor(path: Path) -> float:
    """Seconds to write 1,000 athletes' worth of rounded daily series as JSON lines."""
    started = time.perf_counter()
    rng = np.random.default_rng(0)
    with open(path, "w", encoding="utf-8") as out:
        for _ in range(1000):
            out.write(json.dumps(np.round(rng.uniform(0, 100, (25, 113)), 2).tolist()) + "\n")
    return time.perf_counter() - started


def test_bench_thousand_athletes_sixteen_weeks_without_traces(benchmark, request, tmp_path):
    count = benchmark.pedantic(stream, args=(1000, tmp_path / "block.jsonl"), rounds=1, iterations=1)
    assert count == 1000
    floor = write_floor(tmp_path / "floor.jsonl")
    seconds = fastest(benchmark)
    figure(benchmark, "block_athletes_per_second", None if seconds is None else 1000 / seconds,
           "athletes/s", weeks=16, traces=False)
    judge(benchmark, request, "block_1000_athletes_16_weeks", seconds)
    benchmark.extra_info["file_mb"] = round((tmp_path / "block.jsonl").stat().st_size / 1e6, 1)
    benchmark.extra_info["reference_write_s"] = round(floor, 2)
    if benchmark.stats is not None:  # None with --benchmark-disable
        seconds = benchmark.stats.stats.min
        benchmark.extra_info["under_10_s"] = seconds < 10.0
        benchmark.extra_info["ratio_to_write_floor"] = round(seconds / floor, 1)  # not judge()'s ratio
        assert seconds < 10 * floor  # measured 2.9×: the model costs a few times writing its output


@pytest.mark.large  # ~15 s under tracemalloc
@pytest.mark.xfail(reason="known: about 2–5 MB is kept per chunk of athletes (4-week blocks: 12.1 MB "
                          "at 250 athletes, 25.9 MB at 1000); not yet found", strict=False)
def test_memory_stays_flat_with_the_number_of_athletes(tmp_path):
    peaks = {}
    for athletes in (250, 1000):
        tracemalloc.start()
        stream(athletes, tmp_path / f"{athletes}.jsonl", weeks=4)
        peaks[athletes] = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    assert peaks[1000] < 1.5 * peaks[250], peaks  # four times the athletes, not four times the memory


def test_bench_one_athlete_sixteen_weeks_with_traces(benchmark, request):
    scenario = load(COHORT)
    tester = SensorTester(scenario)
    started = time.perf_counter()
    records = benchmark.pedantic(lambda: list(block.run(scenario, tester, athletes=1)), rounds=1, iterations=1)
    assert len(records[0]["sessions"]) > 0
    per_trial_ms = round(1e3 * (time.perf_counter() - started) / tester.trials, 2)
    figure(benchmark, "block_time_per_test_day_trial", per_trial_ms, "ms", trials=tester.trials)
    judge(benchmark, request, "block_1_athlete_16_weeks_traces", fastest(benchmark))
