"""Analysis speed: one 5 s, 1200 Hz countermovement jump (a real recording) analysed by forcebench
and, side by side in the same run, by the open-source peers through their conformance adapters
(hil/conformance/peers.py; the ``peers`` extra): plateforce (Rust) and jumpmetrics (pure Python).
Then one simulated trial of every test, and the streaming analysis' throughput.

Speed is judged as a ratio to a reference computation timed in the same run (figures.judge);
issue 3's target (a CMJ well under 1 ms on one core) is reported beside it, not asserted.

    .venv/bin/python -m pytest tests/benchmarks/test_bench_analysis.py --benchmark-group-by=group
"""
import timeit

import numpy as np
import pytest
from figures import fastest, figure, judge

from hil.analysis import TESTS, analyse
from hil.analysis.streaming import StreamingAnalyser
from hil.conformance import analysers

RATE = 1200.0
FASTEST = {}  # analyser → its fastest round on the cmj in this run (s), for the side-by-side check


@pytest.fixture(scope="module")
def cmj(real_dir):
    force = np.loadtxt(real_dir / "subject01_trial1.force.txt")
    assert force.size == 6000  # 5 s at 1200 Hz
    return force


@pytest.mark.benchmark(group="cmj 5 s at 1200 Hz")
@pytest.mark.parametrize("name", ["forcebench", "plateforce", "jumpmetrics"])
def test_cmj_analysis_time(benchmark, request, cmj, name):
    if name != "forcebench":
        pytest.importorskip(name, reason="peer not installed: pip install -e '.[peers]'")
    analyser = analysers.load(name)
    if name == "jumpmetrics":  # ~60 ms a round: a few rounds are plenty
        metrics = benchmark.pedantic(analyser.measure, (cmj, RATE, "cmj", None), rounds=5,
                                     iterations=1, warmup_rounds=1)
    else:
        metrics = benchmark(analyser.measure, cmj, RATE, "cmj", None)
    seconds = fastest(benchmark)
    if seconds is not None:
        FASTEST[name] = seconds
    figure(benchmark, "cmj_analysis_time", seconds, "s", analyser=name)
    if name == "forcebench":
        benchmark.extra_info["target_under_1_ms"] = None if seconds is None else seconds < 1e-3
        judge(benchmark, request, "analysis_cmj_real_1200hz", seconds)
    # the published impulse–momentum methods put this trial at 41.1–42.0 cm; jumpmetrics reads
    # 37 cm here (its misses are the conformance table's business, not this benchmark's)
    assert metrics["jump_height_m"] == pytest.approx(0.413, abs=0.1 if name == "jumpmetrics" else 0.02)


def test_cmj_speed_beside_plateforce(benchmark, record_property, cmj):
    """The goal of issue 3: our CMJ analysis against plateforce's, timed interleaved (a round of
    each, in turns, the fastest of each kept), so that the load of a shared host moves both
    alike. The ratio is reported (JUnit property, extra_info, stdout); only a gross regression
    fails: more than three times plateforce's time (1.3–1.6× measured at load 5–7).
    """
    pytest.importorskip("plateforce", reason="peer not installed: pip install -e '.[peers]'")
    ours, theirs = analysers.load("forcebench"), analysers.load("plateforce")

    def interleaved(rounds: int = 300, number: int = 1) -> tuple[float, float]:
        times = np.array([[timeit.timeit(lambda: analyser.measure(cmj, RATE, "cmj", None),
                                         number=number) / number for analyser in (ours, theirs)]
                          for _ in range(rounds)])
        return tuple(times.min(axis=0))

    mine, peer = benchmark.pedantic(interleaved, rounds=1, iterations=1)
    ratio = mine / peer
    figure(benchmark, "cmj_time_over_plateforce", round(ratio, 3), "ratio",
           between="forcebench's fastest CMJ analysis / plateforce's, interleaved",
           forcebench_s=mine, plateforce_s=peer)
    record_property("forcebench_over_plateforce_time", round(ratio, 3))
    print(f"\nforcebench {mine * 1e6:.0f} µs / plateforce {peer * 1e6:.0f} µs = {ratio:.2f}")
    assert ratio < 3.0, f"forcebench {mine * 1e6:.0f} µs vs plateforce {peer * 1e6:.0f} µs"
    if "jumpmetrics" in FASTEST and "forcebench" in FASTEST:  # ~250× ahead of the pure-Python peer
        record_property("forcebench_over_jumpmetrics_time",
                        round(FASTEST["forcebench"] / FASTEST["jumpmetrics"], 4))
        assert FASTEST["forcebench"] < FASTEST["jumpmetrics"] / 20


OPTIONS = {"run": {"duration_s": 30.0}}  # a run long enough for a cadence over many steps


@pytest.mark.benchmark(group="one trial of each test, 1000 Hz, typical noise")
@pytest.mark.parametrize("test", TESTS)
def test_analysis_time_per_trial(benchmark, request, test):
    from sim.generate import simulate
    trial = simulate(test, rate_hz=1000.0, noise="typical", seed=1, **OPTIONS.get(test, {}))
    result = benchmark(analyse, trial.force, trial.rate_hz, test)
    seconds = fastest(benchmark)
    figure(benchmark, "analysis_time_per_trial", seconds, "s", test=test,
           samples=int(trial.force.shape[0]))
    judge(benchmark, request, f"analysis_{test}", seconds)
    assert not result.refused


@pytest.fixture(scope="module")
def hops_stream():
    """A minute of dual-plate pogo sets at 1000 Hz, in blocks of 100 samples as a plate sends them."""
    from sim.generate import simulate
    pieces = [simulate("hops", rate_hz=1000.0, plates=2, seed=seed, hops=15).force for seed in range(6)]
    force = np.concatenate(pieces)
    return force, [force[i:i + 100] for i in range(0, force.shape[0], 100)], len(pieces)


@pytest.mark.benchmark(group="streaming")
def test_streaming_throughput(benchmark, request, hops_stream):
    force, blocks, sets = hops_stream

    def stream():
        analyser = StreamingAnalyser("hops", 1000.0, plates=2)
        results = [r for block in blocks for r in analyser.feed(block)]
        return results + analyser.finish()

    results = benchmark.pedantic(stream, rounds=3, iterations=1, warmup_rounds=1)
    seconds = fastest(benchmark)
    figure(benchmark, "streaming_samples_per_second_per_core",
           None if seconds is None else force.shape[0] / seconds, "samples/s",
           samples=int(force.shape[0]), plates=2)
    judge(benchmark, request, "streaming_hops", seconds)
    assert len(results) == sets and all(r.metrics["hop_count"] == 15 for r in results)
