"""Training blocks (sim.block, hil.block): the issue's must-holds, determinism, the plate path,
reliability, bad scenarios and the command line."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from hil.block import reliability
from hil.block.measure import SensorTester
from hil.block.run import Load
from hil.cli import main
from sim import block
from sim.block_scenario import load

ROOT = Path(__file__).resolve().parents[1]
BLOCKS = ROOT / "scenarios" / "blocks"
PROGRAMME = BLOCKS / "programmes" / "calf_achilles_staged.toml"


def calf_asym(sessions: list[dict], kind: str) -> dict[int, float]:
    legs: dict[int, dict] = {}
    for s in sessions:
        if s["test"] == "iso_calf":
            legs.setdefault(s["day"], {})[s["leg"]] = s[kind]["net_peak_force_n"]
    return {day: 100 * (v["left"] - v["right"]) / max(v.values()) for day, v in legs.items()}


@pytest.fixture(scope="module")
def achilles():
    scenario = load(BLOCKS / "achilles_return.toml")
    return list(block.run(scenario, SensorTester(scenario)))[0]


def test_achilles_measured_asymmetry_tracks_truth_and_decisions_agree(achilles):
    truth, measured = calf_asym(achilles["sessions"], "truth"), calf_asym(achilles["sessions"], "measured")
    assert len(truth) == 17  # a test day every week and the last day
    assert all(abs(measured[d] - truth[d]) <= 2.0 for d in truth), {d: measured[d] - truth[d] for d in truth}
    weeks = achilles["weeks"]
    agree = sum(w["decision"]["agree"] for w in weeks) / len(weeks)
    assert agree >= 0.95
    # the 18 % deficit (left weaker) is there at the start and closes with targeted loading
    assert truth[0] == pytest.approx(-18, abs=3) and abs(truth[112]) < 8
    assert weeks[0]["stages"] == ["isometric"] and weeks[-1]["stages"] == ["plyometric"]


def test_spike_week_shows_in_ewma_acwr_and_in_the_decisions():
    scenario = load(BLOCKS / "mileage_spike.toml")
    record = next(block.run(scenario))
    ewma = np.array(record["daily"]["acwr_ewma"], dtype=float)
    spike = 6
    assert ewma[7 * spike:7 * spike + 7].max() > 1.5
    assert ewma[7:7 * spike].max() < 1.5  # steady weeks stay below
    assert record["weeks"][spike + 1]["decision"]["truth"] == "back_off"


def test_block_is_identical_for_the_same_seed_and_chunking():
    scenario = load(BLOCKS / "cohort.toml")
    one = [json.dumps(r) for r in block.run(scenario, athletes=6, chunk=6)]
    again = [json.dumps(r) for r in block.run(scenario, athletes=6, chunk=4)]
    assert one == again
    other = load(BLOCKS / "cohort.toml")
    other = type(other)(**{**other.__dict__, "seed": other.seed + 1})
    assert [json.dumps(r) for r in block.run(other, athletes=6)] != one


def tiny(tmp_path: Path, extra: str = "", **replace: str) -> Path:
    text = f"""
weeks = {replace.get('weeks', 1)}
seed = 5
[athletes]
count = 1
calf_deficit_pct = 15
deficit_side = "right"
[plan]
weekly_km = [20]
[programmes]
files = ["{PROGRAMME}"]
[tests]
every_weeks = 1
battery = {replace.get('battery', '["cmj", "iso_calf", "heel_raise"]')}
trials = 1
{extra}"""
    path = tmp_path / "tiny.toml"
    path.write_text(text)
    return path


def test_plate_url_through_the_bench_measures_what_the_sensor_path_does(tmp_path, capsys):
    path = tiny(tmp_path)
    assert main(["block", str(path), "--out", str(tmp_path / "s")]) == 0
    assert main(["block", str(path), "--out", str(tmp_path / "p"), "--plate", "emulated", "--fast"]) == 0
    sensor = json.loads((tmp_path / "s" / "block.json").read_text())["athletes"][0]["sessions"]
    plate = json.loads((tmp_path / "p" / "block.json").read_text())["athletes"][0]["sessions"]
    assert [s["truth"] for s in sensor] == [s["truth"] for s in plate]
    for a, b in zip(sensor, plate):  # the same cells, streamed: equal but for the wire's rounding
        for name in ("jump_height_m", "net_peak_force_n"):
            if name in a["measured"]:
                assert b["measured"][name] == pytest.approx(a["measured"][name], rel=1e-3)
    for name in ("load.png", "metrics.png", "decisions.png"):
        assert (tmp_path / "p" / name).stat().st_size > 1000


def test_reliability_tables(tmp_path):
    scenario = load(tiny(tmp_path, "[reliability]\nretest_athletes = 4\ndeficits_pct = [20]\n"
                                   "trials = [1, 3]\nreplicates = 12\n"))
    rows = reliability.test_retest(scenario, 4)
    by = {(r["test"], r["leg"], r["metric"]): r for r in rows}
    jump = by[("cmj", None, "jump_height_m")]["measured"]
    assert jump["pairs"] == 4 and 0 < jump["typical_error"] < 0.03
    assert jump["mdc95"] == pytest.approx(1.96 * np.sqrt(2) * jump["typical_error"])
    assert ("iso_calf", "lsi_pct", "net_peak_force_n") in by
    power = reliability.detection_power(scenario)
    lsi = {(r["deficit_pct"], r["trials"]): r for r in power if r["condition"].startswith("iso_calf")}
    assert lsi[(20.0, 3)]["flagged_measured"] >= 0.9  # a 20 % deficit is found ...
    assert lsi[(0.0, 3)]["flagged_measured"] <= 0.2  # ... and a symmetric athlete rarely flagged


@pytest.mark.parametrize("change, message", [
    ({"weeks": -3}, "weeks: -3 is outside"),
    ({"battery": '["cmj", "treadmill"]'}, "'treadmill' is not one of"),
])
def test_bad_scenario_values_give_one_line_and_exit_2(tmp_path, capsys, change, message):
    assert main(["block", str(tiny(tmp_path, **change)), "--no-traces", "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and "\n" not in err


def test_unknown_tissue_and_rule_metric_give_one_line_and_exit_2(tmp_path, capsys):
    programme = PROGRAMME.read_text().replace('tissues = ["achilles", "calf"]', 'tissues = ["achilles", "shin"]', 1)
    (tmp_path / "p.toml").write_text(programme)
    path = tiny(tmp_path)
    path.write_text(path.read_text().replace(str(PROGRAMME), str(tmp_path / "p.toml")))
    assert main(["block", str(path), "--no-traces"]) == 2
    assert "'shin' is not one of" in capsys.readouterr().err
    (tmp_path / "rule.toml").write_text('[progress]\nall = [{ metric = "cmj.jump_hieght_m", at_least = 0.3 }]\n')
    path = tiny(tmp_path, '[clinician]\nrule = "rule.toml"\n')
    assert main(["block", str(path), "--no-traces"]) == 2
    err = capsys.readouterr().err.strip()
    assert "cmj has no metric 'jump_hieght_m'" in err and "\n" not in err


def test_no_traces_block_writes_json_and_refuses_plate_options(tmp_path, capsys):
    out = tmp_path / "o"
    assert main(["block", str(BLOCKS / "cohort.toml"), "--athletes", "3", "--no-traces", "--out", str(out)]) == 0
    data = json.loads((out / "block.json").read_text())
    assert len(data["athletes"]) == 3 and data["summary"]["decision_agreement"] is None
    first = data["athletes"][0]
    assert len(first["daily"]["load_au"]) == 7 * 16 + 1 and set(first["daily"]["capacity_bw"]) == {"left", "right"}
    assert all(w["decision"]["measured"] is None for w in first["weeks"])
    maxima = [max(v for v in a["daily"]["acwr_ewma"] if v is not None) for a in data["athletes"]]
    assert data["summary"]["max_acwr_ewma"] == {"median": float(np.median(maxima)), "max": max(maxima)}
    assert main(["block", str(BLOCKS / "cohort.toml"), "--no-traces", "--plate", "emulated"]) == 2
    assert main(["block", str(BLOCKS / "cohort.toml"), "--athletes", "0"]) == 2


@pytest.mark.parametrize("maxima", [[1.2], [1.5, 1.2], [1.2, 1.3, 1.2, 1.9], [1.1, 1.1, 1.4], [0.9, 2.0, 1.0, 1.0]])
def test_load_figures_count_the_maxima_and_give_their_exact_median(maxima):
    figures = Load()
    for i, top in enumerate(maxima):
        figures.add({"injuries": i, "injured_days": 2 * i, "daily": {"acwr_ewma": [None, top / 2, top]}})
    assert figures.max_acwr_ewma() == {"median": float(np.median(maxima)), "max": max(maxima)}
    assert len(figures.maxima) == len(set(maxima))  # kept by value, not by athlete
    assert (figures.injuries, figures.injured_days) == (sum(range(len(maxima))), 2 * sum(range(len(maxima))))


def test_an_unknown_plate_url_gives_one_line_and_exit_2_without_a_half_written_file(tmp_path, capsys):
    out = tmp_path / "o"
    assert main(["block", str(tiny(tmp_path)), "--plate", "nowhere://plate", "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert "unknown plate URL" in err and "\n" not in err
    assert not any(out.iterdir())


def test_the_plates_calibration_file_reaches_its_driver(tmp_path, capsys):
    path, missing = tiny(tmp_path), tmp_path / "no-such-calibration.json"
    assert main(["block", str(path), "--calibration", str(missing)]) == 2  # no plate to apply it to
    assert "--plate" in capsys.readouterr().err
    out = tmp_path / "o"
    assert main(["block", str(path), "--plate", "emulated", "--fast", "--calibration", str(missing),
                 "--out", str(out)]) == 2  # the driver read the option: the file is not there
    err = capsys.readouterr().err.strip()
    assert "no-such-calibration.json" in err and "\n" not in err
