"""Calibration parts without a transport: the wire commands, the miscalibration model, the
reference instrument's answers, the spec, the plan and the least-squares fit."""
from pathlib import Path

import numpy as np
import pytest

from hil import protocol as P
from hil.calibrate import acceptance, plan
from hil.calibrate.fit import fit
from hil.calibrate.rig import Reading
from hil.calibrate.session import Session, SessionError
from hil.emulator import miscalibration as M
from hil.emulator.device import DeviceError, EmulatedPlate
from hil.emulator.reference import ReferenceErrors, ReferenceInstrument, ReferenceOptionError, parse_options
from hil.emulator.load_rig import split
from hil.emulator.source import make_source
from sim.plate import CELL_HALF_M, PLATE_SIZE_M

ROOT = Path(__file__).resolve().parents[1]
GEOMETRY = plan.Geometry(PLATE_SIZE_M, CELL_HALF_M)


@pytest.mark.parametrize("dialect", P.DIALECTS)
def test_rig_and_correction_commands_round_trip(dialect):
    line = P.format_command("load", 1, -200.0, 120.0, 1961.33, dialect=dialect)
    assert P.parse_command(line, dialect) == ("load", (1, -200.0, 120.0, 1961.33))
    row = [0.0] * 3 + [1.5]
    line = P.format_command("corr", 3, -1e-6, *row, dialect=dialect)
    assert P.parse_command(line, dialect) == ("corr", (3, -1e-6, 0.0, 0.0, 0.0, 1.5))
    with pytest.raises(P.ProtocolError, match="or more"):
        P.format_command("corr", 3, dialect=dialect)
    q, parsed = P.parse_correction(P.format_correction(2e-7, np.array([1.0, 0.5])))
    assert q == 2e-7 and parsed.tolist() == [1.0, 0.5]
    with pytest.raises(P.ProtocolError):
        P.parse_correction("1.0,nan")


def test_calibration_applies_quadratic_then_matrix():
    scale, offset = np.full((2, 4), 0.001), np.full((2, 4), 100.0)
    matrix = np.eye(8)
    matrix[0, 1] = 0.5
    quadratic = np.zeros((2, 4))
    quadratic[0, 1] = 1e-3
    cal = P.Calibration(scale, offset, quadratic, matrix)
    counts = np.full((1, 2, 4), 100.0)
    counts[0, 0, 1] = 100.0 + 10_000  # 10 N on cell 1 → 10 + 1e-3 · 100 = 10.1 N
    out = cal.to_newtons(counts)
    assert out[0, 0, 1] == pytest.approx(10.1) and out[0, 0, 0] == pytest.approx(5.05)
    assert P.Calibration(scale, offset).to_newtons(counts)[0, 0, 0] == 0.0


def test_miscalibration_url_model():
    errors = M.parse("gain=1.02&offset=1,2,3,4,5,6,7,8&crosstalk=0.01&nonlinear=2:0.4&dead=5&drift=3:0.6", 2)
    load = np.zeros((1, 8))
    load[0, 0] = 100.0
    out = errors.readings(load, np.array([0.0]))[0]
    assert out[0] == pytest.approx(1.02 * 100 + 1)  # 2 % high, plus its offset
    assert out[1] == pytest.approx(1.02 * 1.0 + 2)  # 1 % of cell 0's load leaks in
    assert out[4] == pytest.approx(1.02 * 0 + 5) and out[5] == 0.0  # other plate; dead cell
    half = np.zeros((1, 8))
    half[0, 2] = M.CELL_CAPACITY_N / 2  # non-linear: 0.4 % of capacity high at half capacity
    assert errors.readings(half, np.array([0.0]))[0, 2] == pytest.approx(
        1.02 * (M.CELL_CAPACITY_N / 2 + 0.004 * M.CELL_CAPACITY_N) + 3)
    assert errors.readings(np.zeros((1, 8)), np.array([10.0]))[0, 3] == pytest.approx(4 + 6.0)
    assert M.split_url(" emulated?gain=1.02") == ("emulated", "gain=1.02")


def test_crosstalk_from_a_matrix_file(tmp_path):
    block = np.eye(4)
    block[0, 2] = 0.03
    path = tmp_path / "xt.txt"
    np.savetxt(path, block)
    errors = M.parse(f"crosstalk={path}", 2)
    assert errors.crosstalk[0, 2] == 0.03 and errors.crosstalk[4, 6] == 0.03  # 4 x 4: every plate
    assert errors.crosstalk[0, 6] == 0.0


@pytest.mark.parametrize("query, message", [
    ("gains=1", "unknown plate URL option"),
    ("gain=1,2", "one value or one per cell"),
    ("gain=1&gain=2", "given twice"),
    ("gain=-1", "positive"),
    ("dead=9", "cell 9 does not exist"),
    ("nonlinear=2", "CELL:PCT pairs"),
    ("offset=abc", "numbers"),
    ("crosstalk=/no/such/file", "not a number and not a readable matrix"),
    ("crosstalk=0.9", "below 0.5"),
    ("settle=-1", "settle must be one number"),
])
def test_bad_miscalibration_is_one_clear_error(query, message):
    with pytest.raises(M.MiscalibrationError, match=message):
        M.check(query)


def test_emulated_plate_takes_rig_loads_and_stores_a_correction():
    source = make_source(np.zeros((10, 2, 4)), 1000.0)
    plate = EmulatedPlate(source, miscalibration=M.parse("gain=1.5&noise=0&settle=0", 2))
    plate.execute("load", (1, 100.0, -60.0, 800.0))
    plate.execute("start", ())
    counts = plate._counts(1, np.arange(5))
    newtons = (counts - plate.zero_counts[1]) * plate.true_scale[1]
    assert newtons.mean(0) == pytest.approx(1.5 * split(800.0, 0.1, -0.06), abs=2e-3)
    assert np.all(plate._counts(0, np.arange(5)) == plate.zero_counts[0])
    plate.execute("stop", ())
    with pytest.raises(DeviceError, match="off the"):
        plate.execute("load", (0, 400.0, 0.0, 100.0))
    with pytest.raises(DeviceError, match="8 finite values"):
        plate.execute("corr", (0, 0.0, 1.0))
    plate.execute("corr", (2, 1e-6, *np.arange(8.0)))
    assert P.parse_correction(plate.execute("corr?", (2,)))[1].tolist() == list(np.arange(8.0))


def test_reference_instrument_noise_resolution_and_errors():
    exact = ReferenceInstrument(ReferenceErrors(noise_n=0.0, resolution_n=0.5, gain=1.0))
    exact.answer("SIM:FORC 1961.33")
    assert exact.answer("MEAS:FORC?") == "1961.5"  # to its resolution
    noisy = ReferenceInstrument(ReferenceErrors(noise_n=0.2, resolution_n=0.001), seed=3)
    noisy.answer("SIM:FORC 100")
    readings = np.array([float(noisy.answer("MEAS:FORC?")) for _ in range(400)])
    assert 0.15 < readings.std() < 0.25 and abs(readings.mean() - 100) < 0.05
    assert noisy.answer("BOGUS?") == "" and noisy.answer("SYST:ERR?").startswith("-113")
    noisy.answer("SIM:FORC 1e9")
    assert noisy.answer("MEAS:FORC?") == "" and noisy.answer("SYST:ERR?").startswith("-230")
    with pytest.raises(ReferenceOptionError):
        parse_options("gain=0")
    with pytest.raises(ReferenceOptionError):
        parse_options("colour=red")


def test_shipped_spec_is_the_defaults_and_bad_specs_are_refused(tmp_path):
    shipped = acceptance.load(ROOT / "fixtures" / "calibration" / "acceptance.toml")
    assert shipped.sequence == acceptance.Sequence() and shipped.limits == acceptance.Limits()
    for text, message in (("[limits]\nhysteresis = 1", "unknown key"),
                          ("[sequence]\nlevels_kg = [20, 10]", "increasing"),
                          ("[sequence]\nrepeats = 1", "repeats"),
                          ("[limits]\ncop_error_max_mm = -1", "negative"),
                          ("[other]", "unknown table")):
        path = tmp_path / "spec.toml"
        path.write_text(text)
        with pytest.raises(acceptance.SpecError, match=message):
            acceptance.load(path)


def test_plan_is_the_grid_up_and_down_and_refuses_loads_off_the_plate():
    steps = plan.build(acceptance.Sequence(), 2, GEOMETRY)
    per_plate = 1 + 9 * (10 + 9 + 1) + 2 * 3
    assert len(steps) == 2 * per_plate
    assert [s.index for s in steps] == list(range(len(steps)))
    centre = [s for s in steps if s.position == "B2" and s.phase in ("up", "down") and s.plate == 0]
    assert [s.mass_kg for s in centre] == [20.0 * k for k in range(1, 11)] + [20.0 * k for k in range(9, 0, -1)]
    assert steps[1].describe().startswith("place 20 kg on plate 0 (left) at A1 (x -200 mm, y +120 mm)")
    with pytest.raises(plan.PlanError, match="off the"):
        plan.build(acceptance.Sequence(grid_x_mm=(-350.0, 0.0)), 1, GEOMETRY)


def synthetic_readings(steps, truth: M.Miscalibration, rng, noise=0.05):
    """What a rig would read from a plate with ``truth`` errors, step by step."""
    out = []
    for step in steps:
        loads = np.zeros(truth.cells)
        loads[4 * step.plate:4 * step.plate + 4] = split(step.newtons, step.x_mm / 1000, step.y_mm / 1000)
        minutes = step.index * 0.01
        cells = truth.readings(loads[None], np.array([minutes]))[0] + rng.normal(0, noise, truth.cells)
        out.append(Reading(step.index, tuple(cells), (noise,) * truth.cells, step.newtons, minutes, 200, 0.3))
    return out


def test_fit_recovers_gain_offset_and_crosstalk_within_the_issue_limits():
    steps = plan.build(acceptance.Sequence(), 2, GEOMETRY)
    truth = M.parse("gain=1.02,0.99,1.01,1,0.97,1.03,1.005,0.995&offset=5,-3,2,0,1,1,1,-8"
                    "&crosstalk=0.01,0.02,0,0.005,0.01,0.01,0.01,0.01", 2)
    result = fit(steps, synthetic_readings(steps, truth, np.random.default_rng(1)), GEOMETRY, 2, 0.0)
    gains = np.array([c.gain_error for c in result.cells])
    assert np.all(np.abs(gains / truth.gain - 1) < 5e-4)
    assert np.all(np.abs(result.offsets - truth.offset_n) < 0.5)
    assert np.allclose([c.crosstalk for c in result.cells],
                       [0.01, 0.02, 0, 0.005, 0.01, 0.01, 0.01, 0.01], atol=5e-4)
    assert all(c.quadratic is None for c in result.cells)  # linear cells get no non-linear term
    assert all(abs(c.model_check) < 5 for c in result.cells)


def test_fit_names_the_nonlinear_and_the_drifting_cell():
    steps = plan.build(acceptance.Sequence(), 1, GEOMETRY)
    truth = M.parse("nonlinear=2:0.5&drift=1:1.0", 1)
    result = fit(steps, synthetic_readings(steps, truth, np.random.default_rng(2)), GEOMETRY, 1, 0.0)
    assert [c.cell for c in result.cells if c.quadratic is not None] == [2]
    assert result.cells[1].drift_n_min == pytest.approx(1.0, abs=0.02)


def test_session_refuses_missing_or_repeated_steps(tmp_path):
    header = {"plan": "abc", "plate_identity": "X", "plate_url": "emulated"}
    session = Session(tmp_path, header)
    reading = Reading(0, (1.0,), (0.1,), 0.0, 0.0, 10, 0.2)
    session.add("calibration", reading)
    assert len(Session(tmp_path, header).readings["calibration"]) == 1  # resumed
    with pytest.raises(SessionError, match="another calibration"):
        Session(tmp_path, {**header, "plate_identity": "Y"})
    lines = (tmp_path / "session.jsonl").read_text().splitlines()
    (tmp_path / "session.jsonl").write_text("\n".join(lines + [lines[-1]]) + "\n")
    with pytest.raises(SessionError, match="step 1 is repeated"):
        Session(tmp_path, header)
    (tmp_path / "session.jsonl").write_text("\n".join(lines + [lines[-1].replace('"step": 0', '"step": 2')]) + "\n")
    with pytest.raises(SessionError, match="step 2 is missing"):
        Session(tmp_path, header)
