"""forcebench calibrate and check end to end: emulated plates (real pty, pyserial), the emulated
reference (real TCP, pyvisa-py), a short sequence so that each run takes seconds."""
import json
import re
from pathlib import Path

import numpy as np
import pytest

from hil import cli
from hil.calibrate import check as daily
from hil.calibrate import run as calibration
from hil.calibrate.certificate import CalibrationFileError, read_correction
from hil.calibrate.rig import Interrupted
from hil.drivers.base import Plate
from hil.emulator import miscalibration as M
from hil.plates import open_plate
from hil.references import open_reference

ROOT = Path(__file__).resolve().parents[1]
SHORT = """[sequence]
levels_kg = [50, 100, 150, 200]
grid_x_mm = [-200, 200]
grid_y_mm = [-120, 120]
repeats = 2
settle_s = 0.6
"""
MISCALIBRATED = ("emulated?gain=1.02,0.99,1.01,1,0.97,1.03,1.005,0.995&offset=5,-3,2,0,1,1,1,-8"
                 "&crosstalk=0.01")


@pytest.fixture
def short_spec(tmp_path):
    path = tmp_path / "short.toml"
    path.write_text(SHORT)
    return str(path)


@pytest.fixture
def writes(monkeypatch):
    """Counts what is written to any plate (a spy on the driver interface, the plate is real)."""
    counted = {"cal": 0, "corr": 0}
    original_cal, original_corr = Plate.write_calibration, Plate.write_correction

    def write_calibration(self, *args):
        counted["cal"] += 1
        return original_cal(self, *args)

    def write_correction(self, *args):
        counted["corr"] += 1
        return original_corr(self, *args)

    monkeypatch.setattr(Plate, "write_calibration", write_calibration)
    monkeypatch.setattr(Plate, "write_correction", write_correction)
    return counted


def test_calibration_finds_the_hidden_errors_and_corrects_them(tmp_path, short_spec, writes, capsys):
    record, status = calibration.calibrate(MISCALIBRATED, tmp_path / "cal", spec_path=short_spec,
                                           show_progress=False)
    assert status == 0 and record["acceptance"] == {"pass": True, "reasons": []}
    truth = M.parse(MISCALIBRATED.partition("?")[2], 2)
    gains = np.array([c["gain_error"] for c in record["cells"]])
    assert np.all(np.abs(gains / truth.gain - 1) < 5e-4)  # within 0.05 %
    assert np.all(np.abs(np.array([c["offset_n"] for c in record["cells"]]) - truth.offset_n) < 0.5)
    assert np.allclose([c["crosstalk"] for c in record["cells"]], 0.01, atol=1e-3)
    assert all(c["gain_error_u"] > 0 and c["nonlinear_term"] is None for c in record["cells"])
    before, after = record["verification"]["before"], record["verification"]["after"]
    assert before["cop_error_max_mm"] > 5 and after["cop_error_max_mm"] <= 1.0
    assert after["force_error_pct_fs"] < 0.1 < before["force_error_pct_fs"]
    for key in ("nonlinearity_pct_fs", "hysteresis_pct_fs", "cop_error_rms_mm", "crosstalk_pct",
                "repeatability_pct_fs", "zero_drift_n_min"):
        assert after[key] is not None
    assert np.array(record["crosstalk_matrix"]).shape == (8, 8)
    assert writes == {"cal": 8, "corr": 1} and record["correction"]["written"]
    written = json.loads((tmp_path / "cal" / "calibration.json").read_text())
    assert written["acceptance"]["pass"] and written["plate"]["serial"] == "SN000000"
    for name in ("report.xml", "residuals.png", "hysteresis.png", "cop-error.png", "session.jsonl"):
        assert (tmp_path / "cal" / name).stat().st_size > 0
    assert "PASS" in capsys.readouterr().out
    # the same correction from the file, for a plate that cannot store one
    with open_plate(MISCALIBRATED, calibration=tmp_path / "cal") as plate:
        stored = plate.read_calibration()
        assert np.allclose(stored.matrix, np.array(written["correction"]["matrix"]))
    with pytest.raises(CalibrationFileError, match="is for plate SN000000, this plate is SN000001"):
        read_correction(tmp_path / "cal" / "calibration.json", "SN000001", 2)


def test_faulty_cells_are_named_and_no_correction_hides_them(tmp_path, short_spec, writes):
    url = "emulated?dead=5&nonlinear=2:1.0&drift=7:3"
    record, status = calibration.calibrate(url, tmp_path / "cal", spec_path=short_spec,
                                           show_progress=False, draw=False)
    assert status == 1
    reasons = "\n".join(record["acceptance"]["reasons"])
    assert "cell 5 (plate 1 cell 1) is dead" in reasons
    assert "cell 2 (plate 0 cell 2) is non-linear" in reasons
    assert "cell 7 (plate 1 cell 3) drifts" in reasons
    assert not any(re.search(r"cell [013468] \(", r) for r in record["acceptance"]["reasons"])
    assert writes == {"cal": 0, "corr": 0} and not record["correction"]["written"]
    assert record["verification"]["after"] is None
    with pytest.raises(CalibrationFileError, match="no usable correction"):
        read_correction(tmp_path / "cal" / "calibration.json", "SN000000", 2)


def one_line_error(capsys, argv):
    status = cli.main(argv)
    err = capsys.readouterr().err
    assert status == 2 and err.count("\n") == 1 and "Traceback" not in err
    return err


@pytest.mark.parametrize("extra, url, message", [
    (["--reference", "emulated?gain=2"], "emulated", "beyond physical plausibility"),
    ([], "emulated?settle=30", "did not settle"),
    ([], "emulated?gain=1,2", "one value or one per cell"),
    (["--reference", "bogus"], "emulated", "unknown reference URL"),
])
def test_bad_input_is_one_line_and_writes_nothing(tmp_path, short_spec, capsys, writes, extra, url, message):
    err = one_line_error(capsys, ["calibrate", "--plate", url, "--spec", short_spec,
                                  "--out", str(tmp_path / "cal"), *extra])
    assert message in err
    assert writes == {"cal": 0, "corr": 0} and not (tmp_path / "cal" / "calibration.json").exists()


def test_loads_off_the_plate_and_broken_sessions_are_refused(tmp_path, short_spec, capsys):
    off = tmp_path / "off.toml"
    off.write_text(SHORT.replace("[-200, 200]", "[-400, 400]"))
    assert "off the 600 x 400 mm plate" in one_line_error(
        capsys, ["calibrate", "--spec", str(off), "--out", str(tmp_path / "a")])
    session = tmp_path / "b" / "session.jsonl"
    session.parent.mkdir()
    session.write_text('{"header": {"plan": "other"}}\n')
    assert "belongs to another calibration" in one_line_error(
        capsys, ["calibrate", "--spec", short_spec, "--out", str(tmp_path / "b")])


class Operator:
    """A person at the plate: reads each prompt, places that load (the emulated plate's rig stands
    in for their hands), presses Enter; walks away (end of input) after ``stop_after`` steps."""

    G = 9.80665

    def __init__(self, prompts, plate_box, stop_after=None):
        self.prompts, self.plate_box, self.stop_after, self.answered = prompts, plate_box, stop_after, 0

    def readline(self):
        if self.stop_after is not None and self.answered >= self.stop_after:
            return ""
        prompt = self.prompts.getvalue().rsplit("step ", 1)[-1]
        plate = self.plate_box[0]
        for p in range(plate.plates):
            plate.command("load", p, 0.0, 0.0, 0.0)
        placed = re.search(r"place ([\d.]+) kg on plate (\d) .*\(x ([-+\d.]+) mm, y ([-+\d.]+) mm\)", prompt)
        if placed:
            kg, p, x, y = placed.groups()
            plate.command("load", int(p), float(x), float(y), float(kg) * self.G)
        else:
            assert "remove every load" in prompt
        self.answered += 1
        return "\n"


def test_operator_procedure_resumes_without_losing_steps(tmp_path, short_spec, monkeypatch):
    import io

    box = []

    def keep(url, **options):
        plate = open_plate(url, **options)
        box[:] = [plate]
        return plate

    monkeypatch.setattr(calibration, "open_plate", keep)
    out = tmp_path / "cal"
    first = Operator(io.StringIO(), box, stop_after=30)
    with pytest.raises(Interrupted):
        calibration.calibrate("emulated?gain=1.01", out, spec_path=short_spec, operator=True,
                              prompt=first.prompts, answers=first, show_progress=False, draw=False)
    assert first.answered == 30
    lines = (out / "session.jsonl").read_text().splitlines()
    assert len(lines) == 1 + 30  # the header and every step done
    second = Operator(io.StringIO(), box)
    record, status = calibration.calibrate("emulated?gain=1.01", out, spec_path=short_spec,
                                           operator=True, prompt=second.prompts, answers=second,
                                           show_progress=False, draw=False)
    steps = record["sequence"]["steps_per_pass"]
    assert record["acceptance"]["reasons"] == []
    assert second.answered == 2 * steps - 30  # only the steps not yet done are asked for
    assert second.prompts.getvalue().startswith("step 31/")
    assert status == 0 and abs(record["cells"][0]["gain_error"] - 1.01) < 5e-4
    assert record["reference"]["identity"] == "nominal loads"


def test_reference_over_tcp_and_pyvisa_sim():
    with open_reference("emulated?noise=0&resolution=0.5") as reference:
        assert reference.identify().startswith("FORCEBENCH,REF-EMU")
        reference.feel(1000.2)
        assert reference.measure(0.0) == 1000.0 and reference.resolution_n == 0.5
    yaml = ROOT / "fixtures" / "visa" / "reference.yaml"
    with open_reference(f"TCPIP::127.0.0.1::5026::SOCKET@{yaml}@sim") as reference:
        assert reference.measure(0.0) == 1961.3


def test_daily_check_keeps_a_history_and_warns_on_its_trend(tmp_path, capsys):
    history = tmp_path / "history"
    entry, status = daily.check("emulated", 30.0, history)
    assert status == 0 and entry["pass"] and len(entry["plates"]) == 2
    assert abs(entry["plates"][0]["force_error_pct"]) < 0.1
    t0 = entry["epoch_s"]
    for day, gain in ((1, 1.002), (2, 1.004)):  # a plate reading ever higher, still inside
        entry, status = daily.check(f"emulated?gain={gain}", 30.0, history, now=t0 + day * 86400)
    assert status == 0 and entry["warnings"] == []
    entry, status = daily.check("emulated?gain=1.006", 30.0, history, now=t0 + 3 * 86400)
    assert status == 1 and "trend" in entry["warnings"][0] and "force error" in entry["reasons"][0]
    assert len(daily.read_history(history / "SN000000.jsonl")) == 4
    assert (history / "SN000000-drift.png").stat().st_size > 0
    assert "off the" in one_line_error(capsys, ["check", "--mass", "30", "--position", "0,300",
                                                "--history", str(history)])


def test_a_plate_that_cannot_store_a_correction_gets_it_in_the_driver(tmp_path, short_spec, monkeypatch):
    from hil.drivers.base import PlateCommandError

    def refuse(self, quadratic, matrix):  # firmware without the correction command answers -113
        raise PlateCommandError("corr", -113, "Undefined header; CORR")

    monkeypatch.setattr(Plate, "write_correction", refuse)
    record, status = calibration.calibrate("emulated?gain=1.01&offset=3", tmp_path / "cal",
                                           spec_path=short_spec, show_progress=False, draw=False)
    assert status == 0 and record["correction"]["written"] and not record["correction"]["stored_on_plate"]
    assert record["verification"]["after"]["force_error_pct_fs"] < 0.1  # verified through the driver
    assert read_correction(tmp_path / "cal", "SN000000", 2).offset_n[0, 0] == pytest.approx(3, abs=0.5)
