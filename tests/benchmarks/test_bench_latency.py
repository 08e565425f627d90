"""End-to-end latency and sustained replay speed of the bench, from the replay's own report: a
real emulator process, a real pseudo-terminal, the streaming analysis.

- latency at 1000 Hz, dual plate (8 cells), real time, over ≥ 100 results (running steps, each
  reported as it completes), so that the p99 is a p99: compute latency (the last sample a
  result needs was written → the result) and movement latency (the step's true takeoff was
  written → the result), beside the pty's own floor measured in the same run (a one-byte round
  trip to an echoing process through pyserial), and compute latency split into the analysis's
  share (inside the analyser) and the bench's (sample written → the analyser called with it).
  The machine is shared, so the figures go to extra_info and the assertions keep a wide margin
  (10× the 5 ms spec for the p99);
- ``--fast``: the speed over real time with no frame lost (target ≥ 50×, reported), judged as
  a ratio to the same trials' streaming analysis alone timed in the same run (the bench's own
  irreducible cost): the stream takes less than STREAM_OVER_ANALYSIS times as long.
"""
import os
import select
import subprocess
import sys
import time
import tty
from pathlib import Path

import numpy as np
from figures import figure as describe

from hil import spec
from hil.analysis.streaming import MAX_BLOCK, StreamingAnalyser
from hil.bench import Settings, loads, replay
from hil.bench.plan import drop_height
from sim.generate import simulate

LATENCY = """
name = "latency"
gap_s = 0.2
[plate]
rate_hz = 1000
plates = 2
[[trials]]
test = "run"
count = {count}
seed = 61
mass_kg = {masses}
options = {{ speed_m_s = 5.0, duration_s = 9.0 }}
"""
# ≥ 100 step results (4 runs, ~37 s) for a real p99 with FORCEBENCH_LARGE=1; CI's quick pass: one
# run (28 step results: the medians asserted below and the maximum, ~9 s of real time)
RUNNERS = [60, 70, 80, 90] if os.environ.get("FORCEBENCH_LARGE") == "1" else [60]

CMJ_STREAM = """
name = "{name}"
gap_s = 0.5
[plate]
rate_hz = 1000
plates = 2
[[trials]]
test = "cmj"
count = {count}
seed = 71
mass_range_kg = [50, 110]
"""
THROUGHPUT = CMJ_STREAM.format(name="throughput", count=8)

STREAM_OVER_ANALYSIS = 12.0  # measured 3.2–6.2 at load 5–6 (docs/bench.md); quiet ~1.5

ECHO = ("import serial, sys\nport = serial.Serial(sys.argv[1], timeout=5)\nprint('ready', flush=True)\n"
        "while b := port.read(1):\n    port.write(b)")


def _run(text: str, directory: Path, fast: bool) -> dict:
    """The replay's record; no PNGs (drawn after the stream, they are in none of its figures)."""
    record, _ = replay(loads(text), directory, Settings(fast=fast, progress=False, plots=False))
    return record.to_dict()


def pty_round_trips(count: int = 300) -> np.ndarray:
    """Seconds for one byte to go to an echoing process over a pseudo-terminal and back: what
    the pty and two process wake-ups cost, whatever the bench does."""
    master, slave = os.openpty()
    tty.setraw(master)
    echo = subprocess.Popen([sys.executable, "-c", ECHO, os.ttyname(slave)], stdout=subprocess.PIPE)
    try:
        assert _ready(echo.stdout.fileno()) and echo.stdout.readline() == b"ready\n"
        trips = []
        for _ in range(count):
            began = time.monotonic_ns()
            os.write(master, b"x")
            assert _ready(master), "the echo did not answer within 5 s"
            os.read(master, 1)
            trips.append((time.monotonic_ns() - began) / 1e9)
        return np.array(trips)
    finally:
        echo.kill()
        echo.wait(timeout=10)
        echo.stdout.close()
        os.close(master)
        os.close(slave)


def _ready(fd: int, timeout_s: float = 5.0) -> bool:
    return bool(select.select([fd], [], [], timeout_s)[0])


def _ms(value):
    return None if value is None else round(1000 * value, 3)


def _summary(seconds: np.ndarray) -> dict:
    """Count, p50, p99 (only over ≥ 100 values, else None) and max, in ms."""
    p99 = np.percentile(seconds, 99) if seconds.size >= 100 else None
    return {"count": seconds.size, "p50_ms": _ms(np.percentile(seconds, 50)), "p99_ms": _ms(p99),
            "max_ms": _ms(seconds.max())}


def test_end_to_end_latency_real_time_dual_plate_over_pty(benchmark, tmp_path):
    floor = pty_round_trips()
    text = LATENCY.format(count=len(RUNNERS), masses=RUNNERS)
    record = benchmark.pedantic(_run, args=(text, tmp_path, False), rounds=1, iterations=1)
    floor_after = pty_round_trips()  # the machine's load moves during the run: measure both ends
    trips = np.concatenate([floor, floor_after])
    compute, movement, samples = (record["latency"][k] for k in ("compute", "movement", "sample"))
    figures = {"pty_round_trip": _summary(trips)}
    for name, figure in (("compute", compute), ("movement", movement), ("sample", samples)):
        figures[name] = {"count": figure["count"], "p50_ms": _ms(figure["p50_s"]),
                         "p99_ms": _ms(figure["p99_s"]), "max_ms": _ms(figure["max_s"])}
    # compute latency = the bench's share (sample written → the analyser called with it: pty,
    # acquisition, routing) + the analysis's (inside the analyser); per step result (the
    # session summary, last, is timed apart)
    inside = np.concatenate([t["analysis_s"][:len(t["compute_latency_s"])] for t in record["trials"]])
    total = np.concatenate([t["compute_latency_s"] for t in record["trials"]])
    figures["analysis_share"], figures["bench_share"] = _summary(inside), _summary(total - inside)
    worst = compute["statistic"]  # p99 over ≥ 100 results, else the maximum
    for name in ("compute", "bench_share"):
        figures[f"{name}_{worst}_above_floor_ms"] = round(
            figures[name][f"{worst}_ms"] - figures["pty_round_trip"]["p50_ms"], 3)
    describe(benchmark, f"compute_latency_{worst}", figures["compute"][f"{worst}_ms"], "ms",
             between="emulator write of the last sample a result needs → result emitted",
             results=compute["count"])
    benchmark.extra_info.update(figures, load_average=os.getloadavg()[0])
    print("\n" + "\n".join(f"{name}: {value}" for name, value in figures.items()))
    assert all(t["status"] == "pass" for t in record["trials"])  # accuracy, whatever the load
    assert record["frames"]["lost"] == 0 and samples["count"] > 7_000 * len(RUNNERS)
    # 28 step results a run; a p99 only over ≥ 100 (the full run), else the maximum and count
    expected = "p99" if len(RUNNERS) * 28 >= 100 else "max"
    assert compute["count"] >= 25 * len(RUNNERS) and compute["statistic"] == expected
    assert compute["measurable"] and movement["measurable"] and samples["measurable"]
    assert movement["count"] == compute["count"]
    # the spec is 5 ms at p99: measured, not asserted (a loaded suite reached 78 ms); the median
    # with a 10× margin catches a bench that waits (a poll, a timeout) before it answers
    assert compute["p50_s"] < 10 * spec.LATENCY_P99_S
    assert movement["p50_s"] < spec.MOVEMENT_LATENCY_S


def analysis_alone_s(text: str) -> tuple[float, float]:
    """The reference: (seconds, seconds of data) for the same trials' streaming analysis alone,
    in this process, fed in the bench's blocks; the bench's irreducible share of a --fast
    replay (no emulator, no pty, no decoding). The trials are simulated first, untimed."""
    scenario = loads(text)
    trials = [(p, simulate(p.test, mass_kg=p.mass_kg, rate_hz=p.rate_hz, plates=scenario.plates,
                           noise=scenario.session.plate.noise, seed=p.seed, **p.options))
              for p in scenario.trials]
    began = time.perf_counter()
    for plan, trial in trials:
        analyser = StreamingAnalyser(plan.test, plan.rate_hz, plates=scenario.plates,
                                     drop_height_m=drop_height(plan))
        for first in range(0, trial.force.shape[0], MAX_BLOCK):
            analyser.feed(trial.force[first:first + MAX_BLOCK])
        analyser.finish()
    return time.perf_counter() - began, sum(t.force.shape[0] / t.rate_hz for _, t in trials)


def test_sustained_fast_replay_at_least_50x_real_time_without_loss(benchmark, tmp_path):
    before_s, trial_data_s = analysis_alone_s(THROUGHPUT)
    record = benchmark.pedantic(_run, args=(THROUGHPUT, tmp_path, True), rounds=1, iterations=1)
    after_s, _ = analysis_alone_s(THROUGHPUT)  # the load moves during the run: both ends, averaged
    reference_s = (before_s + after_s) / 2
    timing, frames = record["timing"], record["frames"]
    ratio = timing["stream_s"] / reference_s
    describe(benchmark, "fast_replay_speed", timing["speed_x_real_time"], "× real time",
             between="seconds of data / seconds streaming them (emulator → pty → acquisition → analysis)")
    benchmark.extra_info.update(
        data_s=timing["data_s"], stream_s=timing["stream_s"],
        speed_x_real_time=timing["speed_x_real_time"], reference_s=reference_s,
        reference_x_real_time=trial_data_s / reference_s, stream_over_reference=ratio,
        meets_50x_target=timing["speed_x_real_time"] >= 50, load_average=os.getloadavg()[0],
        **frames)
    print(f"\n{timing['data_s']:.1f} s of data in {timing['stream_s']:.2f} s: "
          f"{timing['speed_x_real_time']:.0f}× real time; the analysis alone {reference_s:.2f} s "
          f"({ratio:.2f}× of it); frames {frames}")
    assert frames["sent"] == frames["received"] and frames["lost"] == frames["corrupt"] == 0
    assert all(t["status"] == "pass" for t in record["trials"])
    assert record["latency"]["sample"]["measurable"]  # per-tick write times, also in --fast
    # streaming adds the emulator, the pty and decoding to the analysis: judged against it, in
    # the same run (the ≥ 50× target is reported: docs/bench.md gives the measured figures)
    assert ratio < STREAM_OVER_ANALYSIS
