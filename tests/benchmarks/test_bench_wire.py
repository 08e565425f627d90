"""The wire alone, without the analysis: decoding speed, and sustained ``--fast`` acquisition
from a real emulator process over a real pseudo-terminal and over TCP (1000 Hz, dual plate,
8 cells: 50× real time is 50 000 frame pairs per second).

    .venv/bin/python -m pytest tests/benchmarks/test_bench_wire.py
"""
import time

import numpy as np
import pytest
from figures import figure

from hil import protocol as P
from hil.acquire import Acquisition
from hil.plates import open_plate
from hil.emulator import builtin_source, write_source

RATE = 1000.0
SECONDS = 60


@pytest.fixture(scope="module")
def minute(tmp_path_factory):
    cells = np.tile(builtin_source().cells, (SECONDS // 4, 1, 1))
    return write_source(tmp_path_factory.mktemp("wire") / "minute.npz", cells, RATE)


def test_decode_speed(benchmark):
    n = 2 * SECONDS * int(RATE)  # a minute of frame pairs
    counts = np.random.default_rng(0).integers(-2**23, 2**23, (n, P.CELLS)).astype(np.int32)
    data = P.encode_frames(np.arange(n) % 2, np.arange(n) // 2, counts)
    def decode():
        began = time.perf_counter()
        return P.FrameDecoder().feed(data), time.perf_counter() - began

    decoded, seconds = benchmark(decode)  # timed here too: works with --benchmark-disable
    assert decoded.frames.size == n and decoded.corrupt == decoded.resyncs == 0
    speed = SECONDS / seconds
    figure(benchmark, "decode_speed", speed, "× real time", frame_pairs_per_s=n / 2 / seconds)
    assert speed >= 50


@pytest.mark.parametrize("url", ["emulated", "emulated+scpi"])
def test_fast_acquisition(benchmark, minute, tmp_path, url):
    def run():
        with open_plate(url, source=minute, fast=True, once=True) as plate:
            with Acquisition(plate, tmp_path / "raw.bin") as acq:
                plate.start()
                began = time.perf_counter()
                rows = sum(len(b.force) for b in acq.blocks(timeout=2, until_counter=SECONDS * 1000))
                return rows, acq.stats.lost, time.perf_counter() - began

    rows, lost, seconds = benchmark.pedantic(run, rounds=1, iterations=1)
    speed = rows / RATE / seconds
    figure(benchmark, "fast_acquisition_speed", speed, "× real time", url=url, lost=lost)
    print(f"{url}: {speed:.0f}x real time, {lost} lost")
    assert rows == SECONDS * RATE and lost == 0 and speed >= 50
