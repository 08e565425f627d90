"""Speed and memory of training blocks (sim.block): 1,000 athletes × 16 weeks without traces,
target under 10 s on this machine, streamed to disk as `forcebench block --no-traces` does. The
machine is shared, so the time is reported (extra_info) and asserted only against a reference
measured in the same run: writing the same amount of daily series (1,000 athletes × 25 series ×
113 days, rounded) as JSON lines, the floor of any block that streams its results;
with traces on every test day the figure is reported (extra_info), not asserted. Memory stays
flat with the number of athletes: each chunk's block is freed as the next starts, by reference
counting alone (quick pass: 10 vs 40 athletes in chunks of 5, garbage collector off, so any
reference cycle per chunk would show, however the collector happens to run); full-size, the
peak for 1,000 athletes is compared with 250's over 4-week blocks (tracemalloc slows the
model). Both timed blocks are also judged against this
machine's committed ratio to the reference computation (figures.judge, timing_baselines.json),
as the analysis and simulator benchmarks are."""
from __future__ import annotations

import dataclasses
import gc
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


def stream(athletes: int, path: Path, weeks: int | None = None, chunk: int = 250) -> int:
    scenario = load(COHORT) if weeks is None else dataclasses.replace(load(COHORT), weeks=weeks)
    with open(path, "w", encoding="utf-8") as out:
        count = 0
        for record in block.run(scenario, athletes=athletes, chunk=chunk):
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


def peak_bytes(athletes: int, path: Path, weeks: int, chunk: int = 250, collector: bool = True) -> int:
    """tracemalloc's peak while streaming the block to ``path``; ``collector`` False: with the
    cyclic garbage collector off, so only what reference counting frees is freed."""
    gc.collect()
    was_on = gc.isenabled()
    if not collector:
        gc.disable()
    tracemalloc.start()
    try:
        stream(athletes, path, weeks=weeks, chunk=chunk)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
        if was_on:
            gc.enable()


def _peaks_text(peaks: dict[int, int]) -> str:
    return "\ntracemalloc peak: " + ", ".join(f"{b / 1e6:.2f} MB at {n} athletes" for n, b in peaks.items())


def test_each_chunk_is_freed_when_the_next_starts(tmp_path):
    """Quick pass (1–2 s): 40 athletes vs 10 in chunks of 5, 2-week blocks, collector off.
    Measured 0.24 vs 0.23 MB; before the fix (a chunk's SimPy processes, left suspended, held
    its Block in a reference cycle) 0.79 vs 0.32 MB."""
    stream(1, tmp_path / "warm.jsonl", weeks=2)  # imports and first-call caches outside the measurement
    peaks = {n: peak_bytes(n, tmp_path / f"{n}.jsonl", weeks=2, chunk=5, collector=False) for n in (10, 40)}
    print(_peaks_text(peaks))
    assert peaks[40] < 1.25 * peaks[10], peaks  # six more chunks, not six more chunks' memory


@pytest.mark.large  # ~18 s under tracemalloc
def test_memory_stays_flat_with_the_number_of_athletes(tmp_path):
    """Full-size, as `forcebench block` runs (chunks of 250, collector on): measured 12.07 MB
    at 250 athletes, 12.12 MB at 1000; before the fix 12.08 vs 20.7–25.9 MB."""
    peaks = {n: peak_bytes(n, tmp_path / f"{n}.jsonl", weeks=4) for n in (250, 1000)}
    print(_peaks_text(peaks))
    assert peaks[1000] < 1.25 * peaks[250], peaks  # four times the athletes, not four times the memory


def test_bench_one_athlete_sixteen_weeks_with_traces(benchmark, request):
    scenario = load(COHORT)
    tester = SensorTester(scenario)
    started = time.perf_counter()
    records = benchmark.pedantic(lambda: list(block.run(scenario, tester, athletes=1)), rounds=1, iterations=1)
    assert len(records[0]["sessions"]) > 0
    per_trial_ms = round(1e3 * (time.perf_counter() - started) / tester.trials, 2)
    figure(benchmark, "block_time_per_test_day_trial", per_trial_ms, "ms", trials=tester.trials)
    judge(benchmark, request, "block_1_athlete_16_weeks_traces", fastest(benchmark))
