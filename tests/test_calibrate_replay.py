"""The point of calibrating: a miscalibrated plate's replay is out of spec, the same plate's replay
with its calibration file is back inside it (jump height and asymmetry), measured in one run."""
import json

import pytest

from hil import cli
from hil.bench import Settings, load, replay
from hil.calibrate.run import calibrate

URL = "emulated?gain=1.03,1.03,1.03,1.03,0.97,0.97,0.97,0.97&offset=6"
SCENARIO = """description = "before and after calibration"
gap_s = 0.5
[plate]
url = "emulated"
rate_hz = 1000
plates = 2
noise = "typical"
[[trials]]
test = "dj"
count = 3
seed = 200
mass_kg = 75
"""
SHORT = """[sequence]
levels_kg = [50, 100, 150, 200]
grid_x_mm = [-200, 200]
grid_y_mm = [-120, 120]
repeats = 2
"""
WATCHED = ("jump_height_m", "peak_force_asym_pct")


def asymmetry(capsys, *argv):
    capsys.readouterr()  # what earlier steps printed
    assert cli.main(["analyse", *argv, "--test", "dj", "--json"]) == 0
    return json.loads(capsys.readouterr().out)["metrics"]["peak_force_asym_pct"]


def rates(record):
    return {r.metric: r.met for r in record.pass_rates if r.metric in WATCHED}


@pytest.mark.slow
def test_replay_is_back_in_spec_after_calibration(tmp_path, capsys):
    scenario_path = tmp_path / "dj.toml"
    scenario_path.write_text(SCENARIO)
    spec = tmp_path / "short.toml"
    spec.write_text(SHORT)
    scenario = load(scenario_path)
    before, status_before = replay(scenario, tmp_path / "before", Settings(plate_url=URL, fast=True, progress=False))
    _, calibrated = calibrate(URL, tmp_path / "cal", spec_path=str(spec), show_progress=False, draw=False)
    after, status_after = replay(scenario, tmp_path / "after", Settings(
        plate_url=URL, fast=True, progress=False, calibration=tmp_path / "cal" / "calibration.json"))
    assert calibrated == 0
    assert rates(before) == {name: False for name in WATCHED} and status_before == 1
    assert rates(after) == {name: True for name in WATCHED}

    # the raw record of the replay before, analysed again through the calibration file
    raw = next((tmp_path / "before").rglob("raw.bin"))
    truth = before.trials[0].truth["peak_force_asym_pct"]  # the first drop jump's
    as_recorded = asymmetry(capsys, str(raw))
    corrected = asymmetry(capsys, str(raw), "--calibration", str(tmp_path / "cal"))
    assert abs(corrected - truth) < 2.0 < abs(as_recorded - truth)  # the spec: ±2 pp
