"""The plate as a sensor (sim.plate): split, noise, hum, ADC, saturation, truth, determinism."""
import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest

from sim import SimulationError, Trial, Truth
from sim.plate import PRESETS, PlateModel, cop_from_cells, measure

ROOT = Path(__file__).resolve().parents[1]
A, B = 0.25, 0.15  # default cell half-distances (Kistler a, b)


def make_trial(force, rate_hz=1000.0, cop=None) -> Trial:
    force = np.asarray(force, dtype=float)
    return Trial("cmj", rate_hz, force, Truth("cmj", {"body_weight_n": 700.0}, {"takeoff_s": 1.0}), cop=cop)


def steady(newtons=700.0, seconds=20.0, plates=2, rate_hz=1000.0) -> Trial:
    return make_trial(np.full((int(seconds * rate_hz), plates), newtons), rate_hz)


def quiet(model: PlateModel, **changes) -> PlateModel:
    """The same plate without its random and periodic errors (for exact reconstruction)."""
    zeros = np.zeros((model.plates, 4))
    return dataclasses.replace(model, noise_rms_n=zeros, hum_n=zeros, **changes)


def moving_trial(n=3000, plates=2, rate_hz=1000.0) -> Trial:
    t = np.arange(n) / rate_hz
    force = np.column_stack([600 + 400 * np.sin(2 * np.pi * 1.3 * t), 500 + 300 * np.cos(t)])[:, :plates]
    cop = np.empty((n, plates, 2))
    cop[..., 0] = (0.12 * np.sin(2 * np.pi * 0.7 * t))[:, None]
    cop[..., 1] = (-0.08 + 0.03 * np.cos(2 * np.pi * 0.4 * t))[:, None]
    return make_trial(force, rate_hz, cop)


def domain_split(force, cop):
    """Minimum-norm cell loads, written straight from DOMAIN.md's moment relations
    (independent of sim.plate)."""
    x, y = cop[..., 0], cop[..., 1]
    # cell k at (sx·a, sy·b): 1 (+,+), 2 (−,+), 3 (−,−), 4 (+,−)
    return np.stack([force / 4 * (1 + sx * x / A + sy * y / B)
                     for sx, sy in ((1, 1), (-1, 1), (-1, -1), (1, -1))], axis=-1)


def test_ideal_cells_sum_to_the_force_and_obey_the_moment_equations():
    trial = moving_trial()
    out = measure(trial, "none", np.random.default_rng(0))
    assert out.cells.shape == (trial.force.shape[0], 2, 4)
    np.testing.assert_allclose(out.force, out.cells.sum(axis=-1), rtol=0, atol=1e-9)
    np.testing.assert_allclose(out.force, trial.force, rtol=1e-12)
    f1, f2, f3, f4 = np.moveaxis(out.cells, -1, 0)
    fz = out.force
    mx, my = B * (f1 + f2 - f3 - f4), A * (-f1 + f2 + f3 - f4)  # DOMAIN.md, Kistler
    np.testing.assert_allclose(-my / fz, trial.cop[..., 0], atol=1e-12)
    np.testing.assert_allclose(mx / fz, trial.cop[..., 1], atol=1e-12)
    np.testing.assert_allclose(f1 - f2 + f3 - f4, 0.0, atol=1e-9)  # the minimum-norm choice: no twist
    np.testing.assert_allclose(out.cells, domain_split(trial.force, trial.cop), rtol=1e-12)


def test_cop_round_trips_through_the_cells_and_is_undefined_unloaded():
    trial = moving_trial()
    out = measure(trial, "none", np.random.default_rng(0))
    np.testing.assert_allclose(cop_from_cells(out.cells, (A, B)), trial.cop, atol=1e-12)
    # with typical noise, COP·Fz (the moment over a or b) carries the cells' noise moment
    # n1−n2−n3+n4 (and n1+n2−n3−n4): RMS 2 × 0.75 N, the in-phase hum cancelling
    noisy = measure(trial, "typical", np.random.default_rng(0))
    moment = cop_from_cells(noisy.cells, (A, B)) * noisy.force[..., None] - trial.cop * trial.force[..., None]
    np.testing.assert_allclose((moment / np.array([A, B])).std(axis=0), 1.5, rtol=0.05)
    assert np.isnan(cop_from_cells(np.zeros((3, 1, 4)))).all()


def test_no_cop_means_the_plate_centre():
    out = measure(steady(seconds=1), "none", np.random.default_rng(0))
    np.testing.assert_allclose(out.cells, 175.0)


def test_typical_noise_is_1_5_n_rms_per_plate_with_0_3_n_of_50_hz_hum():
    rate = 1000.0
    out = measure(steady(rate_hz=rate), "typical", np.random.default_rng(11))
    residual = out.force - 700.0
    spectrum = np.fft.rfft(residual, axis=0)
    freqs = np.fft.rfftfreq(residual.shape[0], 1 / rate)
    hum_bin = np.argmin(np.abs(freqs - 50.0))
    hum = 2 * np.abs(spectrum[hum_bin]) / residual.shape[0]
    np.testing.assert_allclose(hum, 0.3, atol=0.05)
    spectrum[hum_bin] = 0
    white = np.fft.irfft(spectrum, n=residual.shape[0], axis=0)
    np.testing.assert_allclose(white.std(axis=0), 1.5, rtol=0.03)
    cell_noise = out.cells - out.cells.mean(axis=0)
    np.testing.assert_allclose(cell_noise.std(axis=0), np.hypot(0.75, 0.075 / np.sqrt(2)), rtol=0.03)
    corr = np.corrcoef(cell_noise[:, 0, :].T)
    assert np.abs(corr[np.triu_indices(4, 1)]).max() < 0.05  # four independent cells


def test_high_preset_has_60_hz_hum_of_1_n_and_3_n_noise():
    out = measure(steady(), "high", np.random.default_rng(5))
    plate = out.truth.plate
    assert plate["hum_hz"] == 60.0 and plate["resonance_hz"] == 300.0
    np.testing.assert_allclose(np.sum(plate["hum_n"], axis=1), 1.0)
    np.testing.assert_allclose(np.sqrt(np.sum(np.square(plate["noise_rms_n"]), axis=1)), 3.0)
    assert np.std(plate["gain"]) > 0 and np.any(np.asarray(plate["drift_n_s"]) != 0)


def test_quantisation_step_is_0_1_n():
    out = measure(moving_trial(), "typical", np.random.default_rng(2))
    counts = out.cells / 0.1
    np.testing.assert_allclose(counts, np.round(counts), atol=1e-6)
    assert np.min(np.diff(np.unique(np.round(counts[:, 0, 0])))) == 1  # consecutive counts are used
    model = quiet(PlateModel.preset("typical", 2, 1000.0, np.random.default_rng(0)), resonance_hz=None)
    trial = moving_trial()
    exact = measure(trial, "none", np.random.default_rng(0)).cells
    error = measure(trial, model, np.random.default_rng(0)).cells - exact
    assert np.abs(error).max() <= 0.05 + 1e-9 and np.abs(error).max() > 0.04


def test_saturation_clips_each_cell_at_full_scale():
    model = dataclasses.replace(PlateModel.preset("none", 1, 1000.0, np.random.default_rng(0)),
                                full_scale_n=1000.0, adc_step_n=0.1)
    force = np.linspace(0, 6000, 1001)[:, None]
    out = measure(make_trial(force), model, np.random.default_rng(0))
    assert out.cells.max() == pytest.approx(1000.0)
    np.testing.assert_allclose(out.force[-1], 4000.0)  # 1500 N per cell clipped to 1000
    below = force[:, 0] <= 3999.0
    np.testing.assert_allclose(out.force[below, 0], force[below, 0], atol=0.2)


def test_same_seed_same_bytes_and_different_seeds_differ():
    trial = moving_trial()
    for preset in PRESETS:
        a = measure(trial, preset, np.random.default_rng(42))
        b = measure(trial, preset, np.random.default_rng(42))
        assert a.cells.tobytes() == b.cells.tobytes() and a.force.tobytes() == b.force.tobytes()
        assert json.dumps(a.truth.to_dict()) == json.dumps(b.truth.to_dict())
    c = measure(trial, "typical", np.random.default_rng(43))
    assert c.cells.tobytes() != a.cells.tobytes()


def test_truth_keeps_the_movement_and_adds_the_plate():
    trial = moving_trial()
    out = measure(trial, "high", np.random.default_rng(1))
    assert out.truth.metrics == trial.truth.metrics and out.truth.events == trial.truth.events
    assert out.truth.plate["name"] == "high" and out.truth.plate["plates"] == 2
    json.dumps(out.truth.to_dict())  # JSON-ready: the CLI writes it
    assert trial.cells is None and out.cop is trial.cop  # the input is left alone


def reconstruct(plate: dict, force: np.ndarray, cop: np.ndarray, rate_hz: float) -> np.ndarray:
    """What a metrologist computes from truth.plate: gain·(crosstalk·loads) + offset + drift·t + hum."""
    loads = domain_split(force, cop)
    t = (np.arange(force.shape[0]) / rate_hz)[:, None, None]
    cells = np.einsum("pij,npj->npi", np.asarray(plate["crosstalk"]), loads) * np.asarray(plate["gain"])
    wave = np.sin(2 * np.pi * plate["hum_hz"] * t + plate["hum_phase_rad"])
    errors = np.asarray(plate["offset_n"]) + np.asarray(plate["drift_n_s"]) * t
    return cells + errors + np.asarray(plate["hum_n"]) * wave


def static_grid(plates=2, seconds=2.0, rate_hz=1000.0) -> Trial:
    """Known masses at known positions, each held still (a static calibration grid)."""
    n = int(seconds * rate_hz)
    points = [(0.0, 0.0), (0.2, 0.1), (-0.2, 0.1), (-0.2, -0.15), (0.25, -0.1), (0.0, 0.18)]
    loads = [200.0, 500.0, 800.0, 1200.0, 350.0, 950.0]
    force = np.repeat(np.array(loads)[:, None] * np.ones(plates), n, axis=0)
    cop = np.repeat(np.array(points)[:, None, :] * np.ones((1, plates, 1)), n, axis=0)
    return make_trial(force, rate_hz, cop)


def test_truth_plate_reproduces_the_cells_from_the_true_force():
    grid = static_grid()
    model = PlateModel.preset("high", 2, grid.rate_hz, np.random.default_rng(3))
    # exactly, once noise, hum and the ADC are off (the grid is static: skip the resonance's
    # settling, 300 ms after each step of the grid)
    settled = (np.arange(grid.force.shape[0]) % 2000) >= 300
    clean = measure(grid, quiet(model, adc_step_n=0.0), np.random.default_rng(0))
    expected = reconstruct(clean.truth.plate, grid.force, grid.cop, grid.rate_hz)
    assert np.abs(clean.cells - expected)[settled].max() < 1e-6
    # with everything on, the residual is white noise of the stated RMS (plus quantisation)
    full = measure(grid, model, np.random.default_rng(0))
    plate = full.truth.plate
    residual = (full.cells - reconstruct(plate, grid.force, grid.cop, grid.rate_hz))[settled]
    expected_rms = np.sqrt(np.square(plate["noise_rms_n"]) + plate["adc_step_n"] ** 2 / 12)
    np.testing.assert_allclose(residual.std(axis=0), expected_rms, rtol=0.05)
    assert np.abs(residual.mean(axis=0)).max() < 4 * expected_rms.max() / np.sqrt(residual.shape[0])
    assert np.abs(np.asarray(plate["gain"]) - 1).max() > 0.001  # there was something to find


def test_to_dict_round_trips_through_from_dict():
    model = PlateModel.preset("high", 2, 1000.0, np.random.default_rng(9))
    again = PlateModel.from_dict(json.loads(json.dumps(model.to_dict())))
    assert again.to_dict() == model.to_dict()
    trial = moving_trial()
    a = measure(trial, model, np.random.default_rng(1))
    b = measure(trial, again, np.random.default_rng(1))
    assert a.cells.tobytes() == b.cells.tobytes()


@pytest.mark.parametrize("name", ["clinic-dual", "lab-single"])
def test_plate_files_load(name):
    model = PlateModel.from_file(ROOT / "fixtures" / "plates" / f"{name}.toml")
    assert model.name == name and model.full_scale_n > 1000
    n = int(model.rate_hz)
    trial = make_trial(np.full((n, model.plates), 700.0), model.rate_hz)
    out = measure(trial, model, np.random.default_rng(0))
    np.testing.assert_allclose(out.force.mean(axis=0), 700.0, atol=1.0)


def test_resonance_rings_at_its_frequency_and_keeps_static_load():
    model = quiet(PlateModel.preset("high", 1, 2000.0, np.random.default_rng(0)), adc_step_n=0.0,
                  gain=np.ones((1, 4)), offset_n=np.zeros((1, 4)), drift_n_s=np.zeros((1, 4)),
                  crosstalk=np.eye(4)[None])
    step = np.r_[np.full(200, 100.0), np.full(1800, 900.0)][:, None]
    out = measure(make_trial(step, 2000.0), model, np.random.default_rng(0)).force[:, 0]
    np.testing.assert_allclose(out[:200], 100.0, rtol=1e-12)  # starts at rest: no switch-on transient
    np.testing.assert_allclose(out[-100:], 900.0, rtol=1e-6)  # unit static gain
    ringing = out[200:400] - 900.0
    freqs = np.fft.rfftfreq(4096, 1 / 2000.0)
    peak = freqs[np.argmax(np.abs(np.fft.rfft(ringing, 4096)))]
    assert abs(peak - 300.0) < 10.0
    assert out.max() > 1200.0  # lightly damped: overshoots a step by most of its size


def test_typical_resonance_does_not_bias_a_landing_peak():
    """The typical plate's 1 kHz mode changes a 40 ms landing bell's peak by well under 0.1 %."""
    model = quiet(PlateModel.preset("typical", 1, 1000.0, np.random.default_rng(0)), adc_step_n=0.0)
    t = np.arange(1000) / 1000.0
    bell = 700 + 3000 * np.exp(-0.5 * ((t - 0.5) / 0.02) ** 2)
    out = measure(make_trial(bell[:, None]), model, np.random.default_rng(0)).force[:, 0]
    assert abs(out.max() / bell.max() - 1) < 1e-3


@pytest.mark.parametrize("bad, message", [
    (dict(noise="loud"), "unknown noise preset"),
    (dict(rate_hz=100.0), "sample rate"),
    (dict(cop_x=0.5), "off the"),
    (dict(cop_nan_loaded=True), "undefined"),
])
def test_bad_input_raises_simulation_error(bad, message):
    n = 500
    rate = bad.get("rate_hz", 1000.0)
    cop = np.zeros((n, 1, 2))
    cop[:, 0, 0] = bad.get("cop_x", 0.0)
    if bad.get("cop_nan_loaded"):
        cop[10] = np.nan
    trial = make_trial(np.full((n, 1), 700.0), rate, cop)
    with pytest.raises(SimulationError, match=message):
        measure(trial, bad.get("noise", "typical"), np.random.default_rng(0))


def test_cop_may_be_undefined_in_flight_and_other_misuse_is_refused():
    force = np.r_[np.full(100, 700.0), np.zeros(100)][:, None]
    cop = np.zeros((200, 1, 2))
    cop[100:] = np.nan
    out = measure(make_trial(force, cop=cop), "none", np.random.default_rng(0))
    assert np.all(out.force[100:] == 0)
    with pytest.raises(SimulationError, match="already"):
        measure(out, "none", np.random.default_rng(0))
    with pytest.raises(SimulationError, match="plate model"):
        measure(make_trial(force), PlateModel.preset("none", 2, 1000.0, np.random.default_rng(0)),
                np.random.default_rng(0))
    with pytest.raises(SimulationError):
        PlateModel.from_dict({"plates": 1, "rate_hz": "fast"})
    with pytest.raises(SimulationError, match="unknown plate fields"):
        PlateModel.from_dict({"plates": 1, "rate_hz": 1000, "colour": "blue"})
    with pytest.raises(SimulationError, match="cannot read"):
        PlateModel.from_file(ROOT / "fixtures" / "plates" / "missing.toml")


def test_the_none_preset_reports_the_applied_force_exactly():
    trial = moving_trial()
    out = measure(trial, "none", np.random.default_rng(0))
    assert np.array_equal(out.force, trial.force)  # not merely close: no rounding from the cell sum
    assert np.allclose(out.cells.sum(axis=-1), trial.force, rtol=0, atol=1e-9)
    assert PlateModel.preset("none", 2, 1000.0, np.random.default_rng(0)).ideal
    noisy = measure(trial, "typical", np.random.default_rng(0))
    assert not np.array_equal(noisy.force, trial.force)
    assert np.allclose(noisy.force, noisy.cells.sum(axis=-1), rtol=0, atol=1e-9)


def test_importing_the_plate_does_not_import_scipy_signal():
    import subprocess
    import sys

    code = "import sys, sim.plate, sim.generate; print('scipy.signal' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
                         cwd=ROOT)
    assert out.stdout.strip() == "False", out.stderr
