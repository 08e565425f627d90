"""The pytest plugin: a user's suite with the forcebench fixture, run by pytest itself (pytester),
replaying scenarios on a real emulator process over a real pseudo-terminal or TCP socket."""
from __future__ import annotations

import json
import xml.etree.ElementTree as ET

import pytest

pytest_plugins = ["pytester"]

SCENARIO = """
name = "one_jump"
gap_s = 0.3
[plate]
rate_hz = 1000
plates = 2
[[trials]]
test = "cmj"
count = 1
seed = 5
mass_kg = 70
"""

USER_TESTS = """
def test_bench_passes(forcebench):
    record = forcebench.replay("one_jump.toml")
    assert record["trials"][0]["status"] == "pass"

def test_bench_verdict_is_asserted(forcebench):
    forcebench.replay("expects_gap.toml")
"""


@pytest.fixture
def user_suite(pytester):
    pytester.makefile(".toml", one_jump=SCENARIO,
                      expects_gap=SCENARIO.replace('name = "one_jump"', 'name = "expects_gap"')
                      + '[check]\nexpect_issues = ["gap"]\n'  # a stall loses nothing: no gap
                      + '[[faults]]\nkind = "stall"\nat = 0.5\nfor = 0.05\n')
    pytester.makepyfile(test_user=USER_TESTS)
    return pytester


def test_fixture_replays_on_the_plate_given_and_asserts_the_verdict(user_suite):
    result = user_suite.runpytest_subprocess("-p", "no:cacheprovider", "--forcebench-plate", "emulated",
                                             "--junitxml=junit.xml", "--forcebench-no-plots")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(["*verdict fail, expected pass*",
                                 "*expected acquisition issue 'gap' was never detected*",
                                 "*forcebench expects_gap*"])
    junit = ET.parse(user_suite.path / "junit.xml")
    properties = {p.get("name"): p.get("value") for p in junit.iter("property")}
    assert properties["forcebench.one_jump.verdict"] == "pass"
    assert properties["forcebench.one_jump.plate"] == "emulated"
    assert properties["forcebench.expects_gap.verdict"] == "fail"
    assert properties["forcebench.one_jump.cmj.jump_height_m"] == "1/1"
    assert properties["forcebench.one_jump.report"].endswith("report.json")


def test_another_plate_and_reports_kept_where_asked(user_suite, tmp_path):
    keep = tmp_path / "kept"
    result = user_suite.runpytest_subprocess("-p", "no:cacheprovider", "-k", "passes",
                                             "--forcebench-plate", "emulated+scpi",
                                             f"--forcebench-reports={keep}")
    result.assert_outcomes(passed=1)
    (report,) = keep.glob("*/one_jump/report.json")
    record = json.loads(report.read_text())
    assert record["verdict"] == "pass" and record["plate"]["url"] == "emulated+scpi"
    assert len(list(report.parent.glob("*.png"))) == 4  # plots drawn unless asked not to


def test_options_are_documented_in_help(pytester):
    result = pytester.runpytest_subprocess("--help")
    result.stdout.fnmatch_lines(["*--forcebench-plate=URL*", "*--forcebench-reports=DIR*",
                                 "*--forcebench-no-plots*"])
