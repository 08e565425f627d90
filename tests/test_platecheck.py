"""``forcebench plate-check``: the emulated plate passes on both transports, and each protocol
defect the emulator can be given is caught by the check named for it (real processes, a real
pty and a real TCP socket)."""
import json
import xml.etree.ElementTree as ET

import pytest

from hil.cli import main
from hil.emulator.device import DEFECTS
from hil.emulator.process import EmulatorProcess
from hil.platecheck import CHECKS

CAUGHT_BY = {"idn": "identify", "status": "status", "cal": "commands", "errors": "errors",
             "crc": "frames", "wrap": "counter-wrap", "rate": "rates", "burst": "jitter",
             "restart": "restart", "busy": "busy", "trailing": "stop", "silent-loss": "slow-reader"}


def _check(capsys, url, report, *extra):
    try:
        status = main(["plate-check", url, "--report", str(report), "--rates", "100,1000", *extra])
    except SystemExit as exit_:  # argparse's own refusals
        status = exit_.code
    out, err = capsys.readouterr()
    return status, out, err


@pytest.mark.parametrize("url", ["emulated", "emulated+scpi"])
def test_the_emulated_plate_passes_every_check(tmp_path, capsys, url):
    status, out, err = _check(capsys, url, tmp_path)
    assert status == 0, out + err
    record = json.loads((tmp_path / "platecheck.json").read_text())
    assert record["passed"] and [c["name"] for c in record["checks"]] == [n for n, *_ in CHECKS]
    rates = next(c for c in record["checks"] if c["name"] == "rates")["measured"]
    assert rates["1000"]["lost"] == 0 and rates["1000"]["samples_per_s"] == pytest.approx(1000, rel=0.05)
    suite = ET.parse(tmp_path / "platecheck.xml").getroot()
    assert suite.get("tests") == str(len(CHECKS)) and suite.get("failures") == "0"
    assert out.count("PASS ") == len(CHECKS)


def test_every_defect_is_caught_by_a_check():
    assert set(CAUGHT_BY) == set(DEFECTS)
    assert set(CAUGHT_BY.values()) == {name for name, *_ in CHECKS}  # and every check can fail


@pytest.mark.parametrize("defect", sorted(CAUGHT_BY))
def test_each_injected_defect_fails_its_check_by_name(tmp_path, capsys, defect):
    emulator = EmulatorProcess("serial", ["--defect", defect], 5.0)
    try:
        status, out, err = _check(capsys, emulator.address, tmp_path, "--only", CAUGHT_BY[defect])
    finally:
        emulator.close()
    assert status == 1, out + err
    record = json.loads((tmp_path / "platecheck.json").read_text())
    (result,) = record["checks"]
    assert result["name"] == CAUGHT_BY[defect] and not result["passed"] and result["details"]
    assert f"FAIL: {CAUGHT_BY[defect]}" in out
    junit = ET.parse(tmp_path / "platecheck.xml").getroot()
    assert junit.find("testcase/failure") is not None


def test_no_plate_is_exit_2_with_one_line(tmp_path, capsys):
    status, out, err = _check(capsys, "/dev/does-not-exist", tmp_path)
    assert status == 2 and len(err.strip().splitlines()) == 1


@pytest.mark.parametrize("args", [["--rates", "fast"], ["--rates", "-5"], ["--only", "nope"]])
def test_bad_arguments_are_exit_2(tmp_path, capsys, args):
    status, out, err = _check(capsys, "emulated", tmp_path, *args)
    assert status == 2 and len(err.strip().splitlines()) == 1
