"""The stimulus chain end to end (hil.stimulus, hil.bench): one countermovement jump turned into
bridge signals, uploaded to emulated SCPI waveform generators over TCP, played on one trigger
into the emulated plate front end, streamed over the pseudo-terminal, aligned on its markers and
analysed as it arrives. Real time, so one round; the figure is the latency from the stimulus
leaving the generators (their trigger, as the emulated rig announces it) to the result, as the
replay measures it; the trigger's trip from the host's ``*TRG`` is recorded beside it.
"""
from __future__ import annotations

import os

import pytest

from figures import figure

from hil.bench import Settings, loads, replay
from test_stimulus import ONE_CMJ


@pytest.mark.large  # ~10 s: tests/test_stimulus.py runs the chain three times
def test_stimulus_chain_latency(benchmark, tmp_path):
    def run():
        record, _ = replay(loads(ONE_CMJ), tmp_path, Settings(stimulus="emulated-awg", progress=False))
        return record.to_dict()

    record = benchmark.pedantic(run, rounds=1, iterations=1)
    latency, transport = record["latency"]["compute"], record["latency"]["sample"]
    (played,) = record["plate"]["stimulus"]
    figure(benchmark, "stimulus_result_latency_p50", 1000 * latency["p50_s"], "ms",
           between="stimulus out of the generators → result emitted", results=latency["count"],
           sample_p50_ms=1000 * transport["p50_s"], sample_p99_ms=1000 * transport["p99_s"],
           samples=transport["count"], clock_ppm=played["alignment"]["clock_ppm"],
           trigger_trip_ms=played["trigger"]["trip_ms"], load_average=os.getloadavg()[0])
    assert [t["status"] for t in record["trials"]] == ["pass"]
    assert latency["count"] == 1 and transport["count"] > 4000
