"""Scenario files: the bench's part (hil.bench.scenario) and the simulator's (sim.scenario),
strict validation, and the shipped scenario files."""
from pathlib import Path

import pytest

from hil.bench import scenario
from hil.bench.scenario import ScenarioError, loads
from hil.emulator.faults import Fault

ROOT = Path(__file__).resolve().parents[1]
SHIPPED = sorted((ROOT / "scenarios").glob("*.toml"))

MINIMAL = """
[[trials]]
test = "cmj"
"""


def test_minimal_scenario_has_documented_defaults():
    s = loads(MINIMAL, default_name="mini")
    assert s.name == "mini" and s.session.gap_s == 0.5 and s.faults == ()
    plate = s.session.plate
    assert (s.url, plate.rate_hz, plate.plates, plate.noise) == ("emulated", 1000.0, 1, "typical")
    assert s.check.metrics is None and s.check.min_pass_rate == 0.95 and s.check.min_scored == 0.5
    assert s.check.latency_p99_ms == 5.0 and s.check.movement_latency_ms == 1000.0
    (trial,) = s.trials
    assert (trial.index, trial.test, trial.seed, trial.mass_kg, trial.rate_hz) == (0, "cmj", 0, None, 1000.0)
    assert trial.label == "000-cmj"


def test_groups_expand_into_trials_with_seeds_masses_rates_and_options():
    s = loads("""
name = "sweep"
[plate]
rate_hz = 1000
plates = 2
noise = "high"
[check]
metrics = ["jump_height_m"]
latency_p99_ms = 5
[[trials]]
test = "cmj"
count = 3
seed = 100
mass_range_kg = [50, 110]
[[trials]]
test = "hops"
count = 3
seeds = [7, 8, 9]
mass_kg = [60, 90]
rate_hz = 2000
options = { leg = "left", hops = 8 }
[[faults]]
kind = "drop"
rate = 0.001
""")
    assert [t.seed for t in s.trials] == [100, 101, 102, 7, 8, 9]
    assert [t.mass_kg for t in s.trials] == [50.0, 80.0, 110.0, 60.0, 90.0, 60.0]
    assert [t.index for t in s.trials] == list(range(6))
    assert s.rates_hz == (1000.0, 2000.0)
    assert s.trials[3].options == {"leg": "left", "hops": 8} and s.trials[0].options == {}
    assert s.faults == (Fault("drop", {"rate": 0.001, "plate": -1.0}),)
    assert s.check.metrics == ("jump_height_m",) and s.check.latency_p99_ms == 5.0
    with pytest.raises(Exception):
        s.trials[0].test = "sj"  # frozen


def test_default_seeds_differ_across_groups():
    s = loads('[[trials]]\ntest="cmj"\ncount=2\n[[trials]]\ntest="cmj"\ncount=2\n')
    assert [t.seed for t in s.trials] == [0, 1, 2, 3]


@pytest.mark.parametrize("text, key, problem", [
    ("[[trials]]\ntest = 'cmj'\ncolour = 1", "trials[0].colour", "unknown key"),
    ("bogus = 1\n" + MINIMAL, "bogus", "unknown key"),
    ("[plate]\nspeed = 3\n" + MINIMAL, "plate.speed", "unknown key"),
    ("[plate]\nrate_hz = 0\n" + MINIMAL, "plate.rate_hz", "outside"),
    ("[plate]\nrate_hz = 'fast'\n" + MINIMAL, "plate.rate_hz", "must be a number"),
    ("[plate]\nplates = 3\n" + MINIMAL, "plate.plates", "outside"),
    ("[plate]\nplates = 1.5\n" + MINIMAL, "plate.plates", "must be an integer"),
    ("[plate]\nnoise = 'loud'\n" + MINIMAL, "plate.noise", "not one of"),
    ("[check]\nmin_pass_rate = 1.5\n" + MINIMAL, "check.min_pass_rate", "outside"),
    ("[check]\nmetrics = []\n" + MINIMAL, "check.metrics", "empty"),
    ("[check]\nexpect_issues = ['gap']\n" + MINIMAL, "check.expect_issues", "no [[faults]]"),
    ("name = 'x'", "trials", "at least one"),
    ("[[trials]]\ncount = 2", "trials[0].test", "required"),
    ("[[trials]]\ntest = 'yoga'", "trials[0].test", "not one of"),
    ("[[trials]]\ntest = 'cmj'\ncount = 0", "trials[0].count", "outside"),
    ("[[trials]]\ntest = 'cmj'\ncount = true", "trials[0].count", "must be an integer"),
    ("[[trials]]\ntest = 'cmj'\nmass_kg = -70", "trials[0].mass_kg", "outside"),
    ("[[trials]]\ntest = 'cmj'\nmass_kg = [70, 'x']", "trials[0].mass_kg[1]", "must be a number"),
    ("[[trials]]\ntest = 'cmj'\nmass_range_kg = [90, 60]", "trials[0].mass_range_kg", "above"),
    ("[[trials]]\ntest = 'cmj'\nmass_range_kg = [60]", "trials[0].mass_range_kg", "[lowest, highest]"),
    ("[[trials]]\ntest = 'cmj'\nmass_kg = 70\nmass_range_kg = [60, 90]", "trials[0].mass_range_kg", "not both"),
    ("[[trials]]\ntest = 'cmj'\ncount = 2\nseeds = [1]", "trials[0].seeds", "2 integers"),
    ("[[trials]]\ntest = 'cmj'\nseed = -1", "trials[0].seed", "outside"),
    ("[[trials]]\ntest = 'cmj'\noptions = { leg = [1] }", "trials[0].options.leg", "string, number or boolean"),
    ("[[trials]]\ntest = 'hops'\noptions = { drop_height_m = 0.3 }", "trials[0].options.drop_height_m", "unknown option for hops"),
    ("[[trials]]\ntest = 'cmj'\n[[trials]]\ntest = 'dj'\nrate_hz = 100000", "trials[1].rate_hz", "outside"),
    ("faults = 3\n" + MINIMAL, "faults", "array of tables"),
    ("[[faults]]\nkind = 'gremlin'\n" + MINIMAL, "faults", "unknown fault kind"),
    ("[[faults]]\nkind = 'drop'\nat_s = 1.5\n" + MINIMAL, "faults", "unknown parameter"),
    ("[check]\nmetrics = ['takeoff_s']\n" + MINIMAL, "check.metrics", "no tolerance for 'takeoff_s'"),
    ("[check]\nmin_scored = 2\n" + MINIMAL, "check.min_scored", "outside"),
    ("[check]\nmovement_latency_ms = 0\n" + MINIMAL, "check.movement_latency_ms", "outside"),
    # checked metrics that no trial of the scenario produces: nothing could ever be scored
    ("[check]\nmetrics = ['hop_count']\n" + MINIMAL, "check.metrics", "produces 'hop_count'"),
    ("[check]\nmetrics = ['peak_force_asym_pct']\n" + MINIMAL, "check.metrics", "1 plate(s)"),
    # faults aimed at a plate or a cell the scenario does not have
    ("[[faults]]\nkind = 'drop'\nrate = 0.01\nplate = 1\n" + MINIMAL, "faults[0].plate", "1 plate(s)"),
    ("[[faults]]\nkind = 'dead_cell'\ncell = 4\n" + MINIMAL, "faults[0].cell", "cells 0–3"),
    ("[[faults]]\nkind = 'skew'\nppm = 100\n" + MINIMAL, "faults[0].kind", "one plate"),
    ("[[trials]\ntest = 'cmj'", "", "not valid TOML"),
])
def test_invalid_scenarios_fail_with_one_line_naming_file_key_and_problem(text, key, problem):
    with pytest.raises(ScenarioError) as caught:
        loads(text, source="bad.toml")
    message = str(caught.value)
    assert message.startswith("bad.toml: ") and key in message and problem in message
    assert "\n" not in message.strip() or "TOML" in message
    assert isinstance(caught.value, ValueError)


def test_unreadable_file_names_the_path(tmp_path):
    with pytest.raises(ScenarioError, match="nothere.toml: cannot read"):
        scenario.load(tmp_path / "nothere.toml")
    (tmp_path / "binary.toml").write_bytes(b"\xff\xfe\x00")
    with pytest.raises(ScenarioError, match="binary.toml"):
        scenario.load(tmp_path / "binary.toml")


def test_shipped_scenarios_exist_and_load():
    names = {path.stem for path in SHIPPED}
    assert {"quick", "cmj_accuracy", "prehab_battery", "running_steps", "faults"} <= names
    for path in SHIPPED:
        loaded = scenario.load(path)
        assert loaded.name == path.stem and loaded.trials and loaded.description


def test_shipped_scenarios_cover_what_issue_4_asks_for():
    cmj = scenario.load(ROOT / "scenarios" / "cmj_accuracy.toml")
    assert {t.test for t in cmj.trials} == {"cmj"} and len(cmj.rates_hz) >= 2
    assert len({t.mass_kg for t in cmj.trials}) >= 5
    battery = scenario.load(ROOT / "scenarios" / "prehab_battery.toml")
    assert battery.plates == 2
    assert {"cmj", "dj", "hops", "iso"} <= {t.test for t in battery.trials}
    assert any(t.test == "hops" and "leg" in t.options for t in battery.trials)
    assert {t.test for t in scenario.load(ROOT / "scenarios" / "running_steps.toml").trials} == {"run"}
    faults = scenario.load(ROOT / "scenarios" / "faults.toml")
    assert faults.faults and faults.check.expect_issues


def test_metrics_and_faults_that_fit_the_scenario_load():
    s = loads("[plate]\nplates = 2\n[check]\nmetrics = ['peak_force_asym_pct', 'hop_count']\n"
              "[[trials]]\ntest = 'cmj'\n[[trials]]\ntest = 'hops'\n"
              "[[faults]]\nkind = 'drop'\nrate = 0.01\nplate = 1\n[[faults]]\nkind = 'skew'\nppm = 50\n")
    assert s.check.metrics == ("peak_force_asym_pct", "hop_count") and len(s.faults) == 2
