"""hil.plots: one PNG per test with its true events (the gallery), and the latency histogram."""
import struct
import sys

import numpy as np
import pytest

pytest.importorskip("matplotlib")
from hil.plots import MISSING, plot_latency_histogram, plot_trace  # noqa: E402
from sim.generate import simulate  # noqa: E402
from sim.movements import TESTS  # noqa: E402

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def png_size(path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == PNG_SIGNATURE and data[12:16] == b"IHDR"
    return struct.unpack(">II", data[16:24])


def inked_fraction(path) -> float:
    """Share of pixels that are not (near) white: a blank or empty plot has almost none."""
    from matplotlib.image import imread
    pixels = imread(path)[..., :3]
    return float(np.mean(pixels.min(axis=-1) < 0.9))


@pytest.mark.parametrize("test", TESTS)
def test_gallery_trace_per_test(tmp_path, test):
    trial = simulate(test, plates=2, rate_hz=1000.0, noise="typical", seed=1)
    path = plot_trace(tmp_path / f"{test}.png", trial.time, trial.force, true_events=trial.truth.events,
                      body_weight_n=trial.truth.metrics["body_weight_n"], title=test)
    width, height = png_size(path)
    assert (width, height) == (1100, 480)
    assert 20_000 < path.stat().st_size < 2_000_000
    assert 0.02 < inked_fraction(path) < 0.6


def test_single_plate_with_detected_events(tmp_path):
    t = np.arange(2000) / 1000.0
    force = 700 + 500 * np.exp(-(((t - 1) / 0.1) ** 2))
    path = plot_trace(tmp_path / "one.png", t, force, true_events={"onset_s": 0.8},
                      detected_events={"onset_s": 0.81, "extra_s": 1.5, "missing_s": float("nan")})
    assert png_size(path) == (1100, 480)
    with pytest.raises(ValueError, match="force must be"):
        plot_trace(tmp_path / "bad.png", t, force[:10])


def test_latency_histogram_marks_p50_and_p99(tmp_path):
    latencies = np.random.default_rng(0).lognormal(np.log(0.002), 0.4, size=2000)
    path = plot_latency_histogram(tmp_path / "latency.png", latencies, title="bench")
    assert png_size(path) == (700, 400) and path.stat().st_size > 10_000
    with pytest.raises(ValueError, match="no finite latencies"):
        plot_latency_histogram(tmp_path / "none.png", [np.nan])


def test_missing_matplotlib_is_one_clear_import_error(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib.figure", None)  # makes the import fail
    with pytest.raises(ImportError) as caught:
        plot_latency_histogram(tmp_path / "x.png", [0.001])
    assert str(caught.value) == MISSING and "\n" not in MISSING
