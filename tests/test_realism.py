"""forcebench realism: the features it measures, and the command."""
from __future__ import annotations

import math

import pytest

from hil.cli import main
from hil.realism import features, placed
from sim.field import FieldOptions
from sim.generate import simulate

from conftest import ROOT


def test_features_find_the_ringing_and_the_step_that_were_simulated():
    tr = simulate("cmj", mass_kg=75.0, noise="typical", seed=2,
                  field=FieldOptions(ringing_n=70.0, ringing_hz=40.0, ringing_damping=0.15, adc_step_n=2.8))
    found = features(tr.force[:, 0], tr.rate_hz)
    assert found["ringing_hz"] == pytest.approx(40.0, rel=0.1)
    assert found["step_n"] == pytest.approx(2.8, rel=1e-6)
    assert found["undershoot_n"] < -50


def test_a_typical_plate_does_not_ring():
    tr = simulate("cmj", mass_kg=75.0, noise="typical", seed=2)
    found = features(tr.force[:, 0], tr.rate_hz)
    assert math.isnan(found["ringing_hz"]) and found["step_n"] == pytest.approx(0.1)
    assert found["stance_sd_n"] == pytest.approx(1.5, rel=0.3)


def test_a_value_is_placed_among_the_presets_ranges():
    ranges = {"typical": {"x": (1.0, 2.0)}, "high": {"x": (3.0, 5.0)}, "field": {"x": (1.5, 4.0)},
              "field+sway": {}}
    assert placed(1.8, ranges, "x") == "typical/field"
    assert placed(0.5, ranges, "x") == "below all" and placed(9.0, ranges, "x") == "above all"


def test_the_command_places_a_real_recording(capsys):
    path = ROOT / "fixtures/real-other/jumpmetrics/reporter_800hz/cmj_jumpmetrics_converted.csv.gz"
    assert main(["realism", str(path), "--seeds", "1"]) == 0
    out = capsys.readouterr().out
    assert "| `ringing_hz` |" in out and str(path) in out


def test_bad_arguments_give_one_line_and_status_2(capsys):
    assert main(["realism", "--seeds", "0"]) == 2
    assert capsys.readouterr().err.count("\n") == 1
