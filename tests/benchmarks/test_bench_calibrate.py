"""A full emulated calibration, as the issue sets it: 2 plates, 3 × 3 positions, 10 levels up and
down (plus unloaded and repeated readings), fitted, corrected, then verified with a fresh sequence
— 748 steps, each read from a real emulator over a pty and a reference over TCP.

    .venv/bin/python -m pytest tests/benchmarks/test_bench_calibrate.py -s
"""
import time

import numpy as np
import pytest
from figures import figure

from hil.calibrate.run import calibrate
from hil.emulator import miscalibration as M

URL = ("emulated?gain=1.02,0.99,1.01,1.004,0.97,1.03,1.005,0.995&offset=5,-3,2,0.5,1,1,1,-8"
       "&crosstalk=0.01,0.02,0,0.005,0.01,0.015,0.01,0.01")
TARGET_S = 60.0  # the target; asserted with a 2× margin (a shared, loaded machine)


@pytest.mark.large  # ~20 s: the quick pass calibrates in tests/test_calibrate.py
def test_full_emulated_calibration(benchmark, tmp_path):
    def run():
        began = time.perf_counter()
        record, status = calibrate(URL, tmp_path / "cal", show_progress=False, draw=False)
        return record, status, time.perf_counter() - began

    record, status, seconds = benchmark.pedantic(run, rounds=1, iterations=1)
    truth = M.parse(URL.partition("?")[2], 2)
    gains = np.array([c["gain_error"] for c in record["cells"]])
    offsets = np.array([c["offset_n"] for c in record["cells"]])
    gain_error = float(np.abs(gains / truth.gain - 1).max())
    offset_error = float(np.abs(offsets - truth.offset_n).max())
    before, after = record["verification"]["before"], record["verification"]["after"]
    figure(benchmark, "full_calibration_time", seconds, "s")
    benchmark.extra_info.update({
        "steps": 2 * record["sequence"]["steps_per_pass"], "seconds": seconds,
        "max_gain_error_pct": 100 * gain_error, "max_offset_error_n": offset_error,
        "cop_error_max_mm_before": before["cop_error_max_mm"], "cop_error_max_mm_after": after["cop_error_max_mm"],
        "cop_error_rms_mm_before": before["cop_error_rms_mm"], "cop_error_rms_mm_after": after["cop_error_rms_mm"],
        "force_error_pct_fs_before": before["force_error_pct_fs"], "force_error_pct_fs_after": after["force_error_pct_fs"]})
    print(benchmark.extra_info)
    assert status == 0 and record["sequence"]["steps_per_pass"] == 374
    assert gain_error < 5e-4 and offset_error < 0.5 and after["cop_error_max_mm"] <= 1.0
    assert seconds < 2 * TARGET_S
