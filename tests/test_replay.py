"""``forcebench replay`` end to end: real emulator processes, a real pseudo-terminal and a real
TCP socket (pyvisa-py), faults, exit statuses and bad input."""
import json
import socket
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from hil import protocol
from hil.cli import main

ONE_CMJ = """
description = "one CMJ on a dual plate"
gap_s = 0.2
[plate]
plates = 2
[check]
latency_p99_ms = {latency}
[[trials]]
test = "cmj"
count = {count}
seed = 21
mass_kg = 72
"""


def _scenario(tmp_path: Path, text: str, name: str = "scenario") -> Path:
    path = tmp_path / f"{name}.toml"
    path.write_text(text)
    return path


def _replay(capsys, *args):
    status = main(["replay", *map(str, args)])
    out, err = capsys.readouterr()
    return status, out, err


def _report(directory: Path) -> dict:
    return json.loads((directory / "report.json").read_text())


def _raw_frames(directory: Path, name: str = "raw.bin") -> int:
    return protocol.decode_all((directory / name).read_bytes()).frames.size


def test_real_time_replay_over_the_pseudo_terminal(tmp_path, capsys):
    # a generous latency limit here: the 5 ms figure is asserted by the latency benchmark
    path = _scenario(tmp_path, ONE_CMJ.format(latency=100, count=1))
    started = time.monotonic()
    status, out, err = _replay(capsys, path, "--report", tmp_path / "out")
    elapsed = time.monotonic() - started
    record = _report(tmp_path / "out")
    assert status == 0, out + err
    assert "PASS" in out and "sample latency" in out
    (trial,) = record["trials"]
    assert trial["status"] == "pass" and trial["checks"] and all(c["passed"] for c in trial["checks"])
    assert {"jump_height_m", "takeoff_velocity_m_s", "peak_force_asym_pct"} <= {c["name"] for c in trial["checks"]}
    assert record["mode"] == "real-time" and record["plate"]["identity"].startswith("FORCEBENCH")
    data_s = record["timing"]["data_s"]
    assert 0.9 * data_s < record["timing"]["stream_s"] < data_s + 2 and elapsed < data_s + 15
    compute, movement, samples = (record["latency"][k] for k in ("compute", "movement", "sample"))
    assert compute["checked"] and compute["met"] and compute["count"] == 1
    assert compute["statistic"] == "max" and compute["p99_s"] is None  # 1 value: no p99
    assert 0 < compute["p50_s"] < 0.1 and 0 < trial["analysis_s"][0] <= compute["max_s"]
    # the CMJ result waits for its landing window: it comes well after the true landing
    assert movement["checked"] and movement["met"] and movement["count"] == 1
    assert compute["max_s"] < movement["max_s"] < 1.0
    assert samples["count"] == trial["samples"] + int(0.2 * 1000) and samples["measurable"]
    assert record["counts"] == {"trials": 1, "scored": 1, "flagged": 0, "failed": 0, "passed": 1,
                                "min_scored": 0.5}
    frames = record["frames"]
    assert frames["sent"] == frames["received"] == 2 * samples["count"]
    assert frames["lost"] == frames["corrupt"] == 0
    assert _raw_frames(tmp_path / "out") == frames["received"]  # the raw record holds every frame
    cases = list(ET.parse(tmp_path / "out" / "report.xml").getroot().iter("testcase"))
    # per trial and metric, per pass rate, how much was scored, compute and movement latency
    assert len(cases) == 2 * len(trial["checks"]) + 3


def test_fast_replay_over_scpi_tcp_with_pyvisa(tmp_path, capsys):
    path = _scenario(tmp_path, ONE_CMJ.format(latency=5, count=2))
    status, out, err = _replay(capsys, path, "--plate", "emulated+scpi", "--fast",
                               "--report", tmp_path / "out")
    record = _report(tmp_path / "out")
    assert status == 0, out + err
    assert record["plate"]["url"] == "emulated+scpi" and record["mode"] == "fast"
    assert [t["status"] for t in record["trials"]] == ["pass", "pass"]
    compute, samples = record["latency"]["compute"], record["latency"]["sample"]
    assert not compute["checked"] and compute["count"] == 2
    # the plate's buffer time counts: its clock starts when the plate sampled each tick, and
    # no latency is negative (they would be, timed per poll)
    assert samples["start"] == "sample sampled" and compute["start"] == "last needed sample sampled"
    assert compute["measurable"] and samples["measurable"] and samples["count"] > 5000
    assert record["frames"]["sent"] == record["frames"]["received"] == _raw_frames(tmp_path / "out")
    assert record["timing"]["speed_x_real_time"] > 3


FAULTS = """
[plate]
plates = 2
[check]
{expect}
[[trials]]
test = "cmj"
count = 3
seed = 40
[[faults]]
kind = "corrupt"
rate = 0.0003
[[faults]]
kind = "drop"
rate = 0.0002
plate = 1
"""


def test_faults_are_detected_and_their_trials_never_confident(tmp_path, capsys):
    """Every trial the faults touch is flagged (metrics shown, not scored), or fails because the
    analysis crashed on its hole; the replay passes only if none crashed and one was scored."""
    path = _scenario(tmp_path, FAULTS.format(expect='expect_issues = ["gap", "crc_error"]\nmin_scored = 0'))
    status, out, err = _replay(capsys, path, "--fast", "--report", tmp_path / "out")
    record = _report(tmp_path / "out")
    frames = record["frames"]
    assert frames["corrupt"] > 0 and frames["lost"] > 0 and frames["dropped_by_fault"] > 0
    codes = {issue["code"] for issue in record["acquisition_issues"]}
    assert {"gap", "crc_error"} <= codes
    touched = [t for t in record["trials"] if t["acquisition_issues"]]
    assert touched, "with these rates every run hits at least one trial"
    crashed = [t for t in touched if any("the analysis raised" in n for n in t["notes"])]
    for trial in touched:
        assert all(i["code"] == "gap" for i in trial["acquisition_issues"])
        assert trial["status"] == ("fail" if trial in crashed else "flagged")
        assert not trial["quality"]["ok"]
    clean = [t for t in record["trials"] if not t["acquisition_issues"]]
    assert status == (1 if crashed or not clean else 0), out + err
    assert ("nothing verified" in out) == (not clean)
    assert all(t["status"] == "pass" for t in clean)
    counted = sum(r["total"] for r in record["pass_rates"] if r["metric"] == "jump_height_m")
    assert counted == len(clean)  # trials touched by faults are not scored
    cases = {c.get("name"): c for c in ET.parse(tmp_path / "out" / "report.xml").getroot().iter("testcase")}
    for trial in touched:
        acquisition = cases[f"{trial['label']} acquisition"]
        assert (acquisition.find("failure") is None) == (trial not in crashed)
        assert cases[f"{trial['label']} jump_height_m"].find("skipped") is not None
    # the raw record keeps every byte received, corrupt frames included
    assert _raw_frames(tmp_path / "out") == frames["received"]


def test_fast_replay_times_every_sample_by_its_own_write(tmp_path, capsys):
    """--fast over the pty: the emulator writes big chunks in several writes; each tick is logged
    by the write that carried its last byte, so no sample seems to arrive before it was sent."""
    path = _scenario(tmp_path, ONE_CMJ.format(latency=5, count=2))
    status, out, err = _replay(capsys, path, "--fast", "--report", tmp_path / "out")
    record = _report(tmp_path / "out")
    assert status == 0, out + err
    samples = record["latency"]["sample"]
    assert samples["measurable"] and samples["count"] == record["frames"]["received"] // 2
    assert samples["p50_s"] >= 0 and record["latency"]["compute"]["measurable"]
    assert "not checked in --fast mode" in record["latency"]["compute"]["note"]


def test_a_replay_that_scored_nothing_is_not_a_pass(tmp_path, capsys):
    """Every trial flagged by acquisition (heavy drop on the right plate, expected): nothing was
    compared with the truth, so the replay fails, saying so."""
    text = FAULTS.replace("rate = 0.0003", "rate = 0").replace("rate = 0.0002", "rate = 0.02")
    path = _scenario(tmp_path, text.format(expect='expect_issues = ["gap"]'))
    status, out, _ = _replay(capsys, path, "--fast", "--report", tmp_path / "out")
    record = _report(tmp_path / "out")
    assert status == 1 and "nothing verified: 0 of 3 trials scored (3 flagged" in out
    assert record["counts"]["scored"] == 0 and record["counts"]["flagged"] == 3
    assert record["verdict"] == "fail" and record["reasons"][0].startswith("nothing verified")


def test_unexpected_faults_fail_the_replay(tmp_path, capsys):
    path = _scenario(tmp_path, FAULTS.format(expect=""))
    status, out, _ = _replay(capsys, path, "--fast", "--report", tmp_path / "out")
    assert status == 1 and "unexpected acquisition issues: gap" in out
    assert _report(tmp_path / "out")["verdict"] == "fail"


def test_a_drifting_plate_is_out_of_spec(tmp_path, capsys):
    text = ONE_CMJ.format(latency=5, count=1) + '[[faults]]\nkind = "drift"\nrate = 1.0\n'
    status, out, _ = _replay(capsys, _scenario(tmp_path, text), "--fast", "--report", tmp_path / "out")
    record = _report(tmp_path / "out")
    assert status == 1 and "FAIL" in out
    assert record["trials"][0]["status"] == "fail" and record["verdict"] == "fail"
    assert any(not rate["met"] for rate in record["pass_rates"])


def test_a_plate_you_start_yourself(tmp_path, capsys):
    """Any serial URL goes through the same driver; the emulator here is started by hand, as a
    plate in playback mode would be, with the source the bench wrote and a timing log."""
    path = _scenario(tmp_path, ONE_CMJ.format(latency=5, count=1))
    out_dir = tmp_path / "out"
    assert _replay(capsys, path, "--write-source", "--report", out_dir)[0] == 0
    timing = tmp_path / "plate-timing.bin"
    emulator = subprocess.Popen(
        [sys.executable, "-m", "hil.cli", "emulate", "serial", "--source", str(out_dir / "source.npz"),
         "--once", "--fast", "--timing-log", str(timing), "--watch-stdin"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        port = emulator.stdout.readline().strip()
        assert port.startswith("/dev/"), emulator.stderr.read()
        status, out, err = _replay(capsys, path, "--plate", port, "--fast", "--timing-log", timing,
                                   "--report", out_dir)
    finally:
        emulator.terminate()
        emulator.wait(timeout=10)
        for stream in (emulator.stdin, emulator.stdout, emulator.stderr):
            stream.close()
    record = _report(out_dir)
    assert status == 0, out + err
    assert record["plate"]["url"] == port and record["trials"][0]["status"] == "pass"
    assert record["latency"]["compute"]["count"] == 1 and "sent" not in record["frames"]
    assert record["latency"]["sample"]["measurable"]


@pytest.mark.parametrize("text, message", [
    ("[[trials]]\ntest = 'cmj'\nbogus = 1", "bad.toml: trials[0].bogus: unknown key"),
    ("[[trials]\n", "bad.toml: not valid TOML"),
    ("[check]\nmetrics = ['takeoff_s']\n[[trials]]\ntest = 'cmj'", "no tolerance for 'takeoff_s'"),
    ("[[trials]]\ntest = 'cmj'\n[[faults]]\nkind = 'gremlins'", "bad.toml: faults: unknown fault kind"),
    ("[[trials]]\ntest = 'cmj'\noptions = { height_m = 3.0 }", "trial 000-cmj:"),
    ("[check]\nmetrics = ['hop_count']\n[[trials]]\ntest = 'cmj'", "check.metrics: no trial"),
    ("[[trials]]\ntest = 'cmj'\n[[faults]]\nkind = 'drop'\nrate = 0.1\nplate = 1", "faults[0].plate"),
])
def test_bad_scenarios_exit_2_with_one_line(tmp_path, capsys, text, message):
    path = tmp_path / "bad.toml"
    path.write_text(text)
    status, out, err = _replay(capsys, path, "--report", tmp_path / "out")
    assert status == 2 and out == ""
    assert err.count("\n") == 1 and err.startswith("forcebench: error: ") and message in err


def test_missing_scenario_and_unknown_plate_exit_2(tmp_path, capsys):
    status, _, err = _replay(capsys, tmp_path / "nope.toml")
    assert status == 2 and "nope.toml: cannot read scenario" in err
    path = _scenario(tmp_path, ONE_CMJ.format(latency=5, count=1))
    status, _, err = _replay(capsys, path, "--plate", "carrier-pigeon://7", "--report", tmp_path / "o")
    assert status == 2 and "unknown plate URL 'carrier-pigeon://7'" in err and err.count("\n") == 1


def test_a_plate_that_does_not_answer_exits_2_without_hanging(tmp_path, capsys):
    path = _scenario(tmp_path, ONE_CMJ.format(latency=5, count=1))
    with socket.socket() as silent:  # accepts connections, never says a word
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        port = silent.getsockname()[1]
        started = time.monotonic()
        status, _, err = _replay(capsys, path, "--plate", f"socket://127.0.0.1:{port}",
                                 "--timeout", "1", "--report", tmp_path / "o")
        assert time.monotonic() - started < 10
    assert status == 2 and err.count("\n") == 1 and "did not answer" in err
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]  # bound, not listening: connections are refused
        status, _, err = _replay(capsys, path, "--plate", f"socket://127.0.0.1:{port}",
                                 "--timeout", "1", "--report", tmp_path / "o")
    assert status == 2 and err.count("\n") == 1


def test_the_command_prints_no_traceback(tmp_path):
    path = tmp_path / "bad.toml"
    path.write_text("[plate]\nrate_hz = -5\n[[trials]]\ntest = 'cmj'\n")
    done = subprocess.run([sys.executable, "-m", "hil.cli", "replay", str(path)],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr == f"forcebench: error: {path}: plate.rate_hz: -5 is outside 250..4000\n"


def test_a_plate_that_stops_mid_run_is_reported_not_waited_for(tmp_path, capsys):
    text = ONE_CMJ.format(latency=5, count=2) + '[[faults]]\nkind = "stall"\nat = 3.0\nfor = 30\n'
    started = time.monotonic()
    status, out, _ = _replay(capsys, _scenario(tmp_path, text), "--fast", "--timeout", "1",
                             "--report", tmp_path / "out")
    assert time.monotonic() - started < 20
    record = _report(tmp_path / "out")
    assert status == 1 and "unexpected acquisition issues: gap" in out
    assert any("stopped streaming" in i["message"] for i in record["acquisition_issues"])
    assert [t["status"] for t in record["trials"]] == ["fail", "fail"]
    assert 2.9 < record["timing"]["data_s"] <= 3.0  # every frame before the stall, none after
