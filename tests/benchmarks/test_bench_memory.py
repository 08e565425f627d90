"""Peak memory of a ``--fast`` replay against the number of trials: it must stay flat (trials
are simulated into the source file one at a time, the emulator reads its source in chunks, a
finished trial's samples go to a scratch file and the timing log is read in chunks; what grows
is the report's per-trial results).

Each replay runs in a fresh process, so that ``ru_maxrss`` is its own peak resident memory; the
emulator's is its ``VmHWM`` read as it is stopped (``RUSAGE_CHILDREN`` would count the replay's
own pages at the moment it forked the emulator, before the exec).

- default run: N and 4N CMJ trials; the peaks (bench + emulator) differ by less than
  FLAT_MARGIN_MB (the code before streaming grew by ~2.6 MB per trial: ~80 MB here);
- opt-in (``FORCEBENCH_LARGE=1``): 10,000 CMJ trials, speed × real time and peak memory
  reported (docs/bench.md, "Large scenarios")::

    FORCEBENCH_LARGE=1 .venv/bin/python -m pytest tests/benchmarks/test_bench_memory.py -k large -s
"""
import json
import os
import subprocess
import sys

import pytest
from figures import figure as describe
from test_bench_latency import CMJ_STREAM

SMALL_TRIALS = 10  # and 4× as many: ~15 s for both on the shared box
FLAT_MARGIN_MB = 20.0
LARGE_TRIALS = 10_000

RUNNER = """
import json, resource, sys, time
import hil.emulator.process as emulator
from hil.bench import Settings, loads, replay
peaks, stop = [], emulator._stop
def measured(process):  # the emulator's own peak (VmHWM: since its exec), read as it is stopped
    try:
        with open(f"/proc/{process.pid}/status") as status:
            peaks.extend(int(line.split()[1]) / 1024 for line in status if line.startswith("VmHWM"))
    except OSError:
        pass
    stop(process)
emulator._stop = measured
began = time.monotonic()
record, status = replay(loads(sys.argv[1]), sys.argv[2], Settings(fast=True, progress=False))
wall = time.monotonic() - began
done = record.to_dict()
print(json.dumps({"status": status, "timing": done["timing"], "frames": done["frames"],
                  "counts": done["counts"], "wall_s": wall,
                  "bench_peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                  "emulator_peak_mb": max(peaks)}))
"""


def replay_in_a_fresh_process(trials: int, directory, timeout_s: float) -> dict:
    done = subprocess.run([sys.executable, "-c", RUNNER, CMJ_STREAM.format(name="memory", count=trials), str(directory)],
                          capture_output=True, text=True, timeout=timeout_s, check=True)
    run = json.loads(done.stdout.strip().splitlines()[-1])
    run["peak_mb"] = run["bench_peak_mb"] + run["emulator_peak_mb"]
    return run


def _figures(run: dict) -> dict:
    return {key: round(run[key], 1) for key in ("bench_peak_mb", "emulator_peak_mb", "peak_mb")} | {
        "trials": run["counts"]["trials"], "data_s": round(run["timing"]["data_s"], 1),
        "stream_s": round(run["timing"]["stream_s"], 2), "wall_s": round(run["wall_s"], 1),
        "speed_x_real_time": round(run["timing"]["speed_x_real_time"], 1)}


def test_peak_memory_of_a_fast_replay_is_flat_in_the_number_of_trials(benchmark, tmp_path):
    small = replay_in_a_fresh_process(SMALL_TRIALS, tmp_path / "small", 300)
    large = benchmark.pedantic(replay_in_a_fresh_process,
                               args=(4 * SMALL_TRIALS, tmp_path / "large", 300), rounds=1, iterations=1)
    growth = large["peak_mb"] - small["peak_mb"]
    per_trial_kb = 1024 * growth / (3 * SMALL_TRIALS)
    describe(benchmark, "peak_memory_growth", round(growth, 1), "MB",
             between=f"peak RSS (bench + emulator) at {SMALL_TRIALS} → {4 * SMALL_TRIALS} CMJ trials, --fast")
    benchmark.extra_info.update(small=_figures(small), large=_figures(large),
                                growth_per_trial_kb=round(per_trial_kb, 1),
                                load_average=os.getloadavg()[0])
    print(f"\npeak RSS {small['peak_mb']:.1f} MB at {SMALL_TRIALS} trials, {large['peak_mb']:.1f} MB "
          f"at {4 * SMALL_TRIALS} ({per_trial_kb:.0f} kB per trial)")
    for run in (small, large):
        assert run["status"] == 0 and run["frames"]["lost"] == 0
        assert run["counts"]["scored"] == run["counts"]["trials"]
    assert growth < FLAT_MARGIN_MB


@pytest.mark.large  # 10,000 trials take ~25 min
def test_large_fast_replay_of_10000_trials(benchmark, tmp_path):
    run = benchmark.pedantic(replay_in_a_fresh_process, args=(LARGE_TRIALS, tmp_path, 4 * 3600),
                             rounds=1, iterations=1)
    figures = _figures(run)
    describe(benchmark, "large_fast_replay_speed", figures["speed_x_real_time"], "× real time",
             between=f"{LARGE_TRIALS} CMJ trials' data seconds / seconds streaming them, --fast")
    benchmark.extra_info.update(figures, frames=run["frames"], counts=run["counts"],
                                load_average=os.getloadavg())
    print("\n" + json.dumps(figures | {"frames": run["frames"], "counts": run["counts"],
                                        "load_average": os.getloadavg()}))
    assert run["counts"]["trials"] == LARGE_TRIALS and run["frames"]["lost"] == 0
    assert run["frames"]["sent"] == run["frames"]["received"]
