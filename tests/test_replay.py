"""``forcebench replay`` end to end: real emulator processes, a real pseudo-terminal and a real
TCP socket (pyvisa-py), faults, exit statuses and bad input."""
import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import threading
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


def _replay(capsys, *args, plots=False):
    """``forcebench replay``; without PNGs unless ``plots`` (drawing them is seconds of each
    replay; the real-time replay below checks that a replay draws them)."""
    status = main(["replay", *map(str, args), *([] if plots else ["--no-plots"])])
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
    status, out, err = _replay(capsys, path, "--report", tmp_path / "out", plots=True)
    elapsed = time.monotonic() - started
    record = _report(tmp_path / "out")
    plots = {"trace-000-cmj.png", "latency-compute.png", "latency-movement.png", "latency-sample.png"}
    assert set(record["plots"]["files"]) == plots and record["plots"]["skipped"] is None
    assert all((tmp_path / "out" / name).read_bytes()[:4] == b"\x89PNG" for name in plots)
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
    status, out, _ = _replay(capsys, _scenario(tmp_path, text), "--fast", "--timeout", "3",
                             "--report", tmp_path / "out")
    assert time.monotonic() - started < 20
    record = _report(tmp_path / "out")
    assert status == 1 and "unexpected acquisition issues: gap" in out
    assert any("stopped streaming" in i["message"] for i in record["acquisition_issues"])
    assert [t["status"] for t in record["trials"]] == ["fail", "fail"]
    assert 2.9 < record["timing"]["data_s"] <= 3.0  # every frame before the stall, none after


@pytest.mark.parametrize("fault, code", [
    ('kind = "dead_cell"\nplate = 1\ncell = 2\nat = 7.0', "dead_cell"),
    ('kind = "stick"\nplate = 0\ncell = 0\nat = 7.0', "dead_cell"),
    ('kind = "skew"\nppm = 3000', "clock_drift"),
])
def test_a_fault_that_starts_mid_run_flags_every_trial_after_it(fault, code, tmp_path, capsys):
    """No truth needed: the acquisition sees the cell die or stick (or the clocks part) and
    every trial from then on is flagged, not scored with wrong numbers."""
    text = ONE_CMJ.format(latency=5, count=4).replace(
        "[check]", f'[check]\nexpect_issues = ["{code}"]\nmin_scored = 0.2')
    status, out, _ = _replay(capsys, _scenario(tmp_path, text + f"[[faults]]\n{fault}\n"), "--fast",
                             "--report", tmp_path / "out")
    record = _report(tmp_path / "out")
    (issue,) = [i for i in record["acquisition_issues"] if i["code"] == code]
    assert record["timing"]["data_s"] - issue["end_s"] < 0.2  # to the end of the stream
    for trial in record["trials"]:
        end = (trial["start_sample"] + trial["samples"]) / 1000
        hit = end > issue["start_s"]
        assert trial["status"] == ("flagged" if hit else "pass"), (trial["label"], issue)
        assert (code in [i["code"] for i in trial["quality"]["issues"]]) == hit
    scored = any(t["status"] == "pass" for t in record["trials"])
    assert status == (0 if scored else 1) and record["trials"][-1]["status"] == "flagged", out
    assert scored or "nothing verified" in out  # every trial flagged: nothing was verified


def _emulator_children() -> list[int]:
    """Our emulator processes (children of this test process), from /proc."""
    found = []
    for entry in Path("/proc").iterdir():
        try:
            status = (entry / "status").read_text()
            command = (entry / "cmdline").read_bytes()
        except (OSError, ValueError):
            continue
        parent = next((line.split()[1] for line in status.splitlines() if line.startswith("PPid:")), "")
        if parent == str(os.getpid()) and b"emulate" in command:
            found.append(int(entry.name))
    return found


@pytest.mark.parametrize("url, how", [("emulated", signal.SIGKILL),  # process killed, cable pulled
                                      ("emulated+scpi", signal.SIGSTOP)])  # VISA read times out
def test_a_plate_that_dies_mid_run_leaves_a_report_of_what_finished(url, how, tmp_path, capsys):
    """Real time, 3 trials; the plate dies during the second: exit 1, report.json with the
    finished trial scored, the gap and the reason; the raw record closed and replayable."""
    text = ONE_CMJ.format(latency=50, count=3)
    victims: list[int] = []

    def kill_later():
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not victims:
            time.sleep(0.1)
            victims.extend(_emulator_children())
        raw, size = tmp_path / "out" / "raw.bin", 6 * 2000 * protocol.frame_size(protocol.CELLS)
        while time.monotonic() < deadline and (not raw.exists() or raw.stat().st_size < size):
            time.sleep(0.05)  # until 6 s of data arrived: the first trial (5 s) is complete
        for pid in victims:
            os.kill(pid, how)

    killer = threading.Thread(target=kill_later, daemon=True)
    killer.start()
    try:
        status, out, err = _replay(capsys, _scenario(tmp_path, text), "--plate", url,
                                   "--timeout", "3", "--report", tmp_path / "out")
    finally:
        killer.join(timeout=60)
        for pid in victims:
            if how == signal.SIGSTOP:
                with contextlib.suppress(ProcessLookupError):  # the bench may have ended it
                    os.kill(pid, signal.SIGCONT)
    assert status == 1, out + err
    record = _report(tmp_path / "out")
    assert "the plate was lost mid-run" in record["reasons"][0] and "lost mid-run" in out
    lost = [i for i in record["acquisition_issues"] if "the plate was lost" in i["message"]]
    assert lost and lost[0]["code"] == "disconnect" and lost[0]["start_s"] > 5
    first, *others = record["trials"]
    assert first["status"] == "pass" and first["checks"]  # finished before: scored
    assert all(t["status"] == "fail" for t in others)
    assert 6 <= record["timing"]["data_s"] < 12
    raw = tmp_path / "out" / "raw.bin"
    assert _raw_frames(tmp_path / "out") == record["frames"]["received"] > 0
    assert raw.with_name("raw.bin.json").exists()


def test_a_report_directory_holding_a_run_is_refused(tmp_path, capsys):
    path = _scenario(tmp_path, ONE_CMJ.format(latency=5, count=1))
    status, _, _ = _replay(capsys, path, "--fast", "--report", tmp_path / "out")
    before = (tmp_path / "out" / "raw.bin").read_bytes()
    status, out, err = _replay(capsys, path, "--fast", "--report", tmp_path / "out")
    assert status == 2 and out == "" and "already holds a run" in err
    assert (tmp_path / "out" / "raw.bin").read_bytes() == before  # the first run's record intact


def test_without_report_each_run_gets_its_own_directory_and_latest_points_at_it(tmp_path, capsys,
                                                                               monkeypatch):
    monkeypatch.chdir(tmp_path)
    path = _scenario(tmp_path, ONE_CMJ.format(latency=5, count=1), name="twice")
    runs = []
    for _ in range(2):
        status, out, _ = _replay(capsys, path, "--fast")
        assert status == 0, out
        runs.append(out.strip().splitlines()[-1].split("report in ")[1].split("/report.json")[0])
    first, second = (Path(run) for run in runs)
    assert first != second and first.parent == second.parent == Path("reports/twice")
    assert (first / "raw.bin").exists() and (second / "raw.bin").exists()
    assert not list(first.glob("*.png")) and "--no-plots" in _report(first)["plots"]["skipped"]
    assert (Path("reports/twice/latest")).resolve() == second.resolve()
    assert json.loads((Path("reports/twice/latest") / "report.json").read_text())["verdict"] == "pass"


def test_two_replays_into_one_folder_never_interleave(tmp_path):
    """Real processes: the second replay into the same folder, started while the first is
    streaming (in real time), is refused at once; the first finishes untouched."""
    path = _scenario(tmp_path, ONE_CMJ.format(latency=50, count=1))
    command = [sys.executable, "-m", "hil.cli", "replay", str(path), "--report", str(tmp_path / "out"),
               "--no-plots"]
    first = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 30
        while not (tmp_path / "out" / "raw.bin").exists() and time.monotonic() < deadline:
            time.sleep(0.05)  # the first is streaming
        second = subprocess.run(command, capture_output=True, text=True, timeout=60)
        assert second.returncode == 2 and "being written by another replay" in second.stderr
        assert f"pid {first.pid}" in second.stderr
        out, _ = first.communicate(timeout=60)
    finally:
        first.kill()
    assert first.returncode == 0, out
    assert _report(tmp_path / "out")["verdict"] == "pass"


def test_a_full_disk_leaves_no_report_that_looks_complete_and_the_verdict_is_printed(
        tmp_path, capsys, monkeypatch):
    """The disk fills while the report is written (ENOSPC cannot be made here without root:
    the JUnit writer is made to fail as a full disk would)."""
    import errno

    from hil import report

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(report.ET.ElementTree, "write", full)
    path = _scenario(tmp_path, ONE_CMJ.format(latency=5, count=1))
    status, out, err = _replay(capsys, path, "--fast", "--report", tmp_path / "out")
    assert status == 1 and "PASS: the report was NOT written" in out
    assert err.strip().splitlines()[-1] == (f"forcebench: error: the report could not be written "
                                            f"to {tmp_path / 'out'}: No space left on device")
    assert not list((tmp_path / "out").glob("report.*"))  # no half-written file left
    assert (tmp_path / "out" / "raw.bin").stat().st_size > 0  # the raw record is kept


def test_a_raw_record_replays_from_the_command_line(tmp_path, capsys):
    """forcebench replay --plate raw.bin (or raw:PATH): the record of a faulty run goes through
    acquisition and analysis again and gives the same frames, issues and verdict."""
    text = FAULTS.format(expect='expect_issues = ["gap", "crc_error"]')
    path = _scenario(tmp_path, text)
    first_status, _, _ = _replay(capsys, path, "--fast", "--report", tmp_path / "live")
    live = _report(tmp_path / "live")
    for number, url in enumerate([tmp_path / "live" / "raw.bin", f"raw:{tmp_path / 'live' / 'raw.bin'}"]):
        status, out, err = _replay(capsys, path, "--plate", url, "--report", tmp_path / f"again{number}")
        again = _report(tmp_path / f"again{number}")
        assert status == first_status, out + err
        assert again["plate"]["identity"] == live["plate"]["identity"]  # the plate that made it
        for key in ("received", "lost", "corrupt", "resyncs"):
            assert again["frames"][key] == live["frames"][key], key
        assert [t["status"] for t in again["trials"]] == [t["status"] for t in live["trials"]]
        assert again["trials"][0]["measured"] == live["trials"][0]["measured"]
    status, _, err = _replay(capsys, path, "--plate", tmp_path / "absent.bin", "--report", tmp_path / "x")
    assert status == 2 and "cannot read raw recording" in err


DISCONNECT = """
[plate]
plates = 2
[check]
expect_issues = ["disconnect", "gap"]
min_scored = 0
[[trials]]
test = "cmj"
count = 2
seed = 41
[[faults]]
kind = "disconnect"
at = 3.0
for = 0.3
"""


def test_a_raw_record_marks_reconnects_and_its_replay_reports_the_disconnect(tmp_path, capsys):
    """The cable pulled mid-run: the raw record marks where the bytes start afresh (its
    sidecar), so its replay reports the disconnect and its gap, not a frame cut by it as a
    crc_error, and gives the same frames and verdict as the live run."""
    path = _scenario(tmp_path, DISCONNECT)
    live_status, out, err = _replay(capsys, path, "--fast", "--report", tmp_path / "live")
    live = _report(tmp_path / "live")
    marks = json.loads((tmp_path / "live" / "raw.bin.json").read_text())["reconnects"]
    assert len(marks) == 1 and 0 < marks[0]["byte"] < (tmp_path / "live" / "raw.bin").stat().st_size
    assert marks[0]["seconds"] >= 0.25
    status, out, err = _replay(capsys, path, "--plate", tmp_path / "live" / "raw.bin",
                               "--report", tmp_path / "again")
    again = _report(tmp_path / "again")
    codes = [i["code"] for i in again["acquisition_issues"]]
    assert status == live_status, out + err
    assert "disconnect" in codes and "crc_error" not in codes
    assert codes == [i["code"] for i in live["acquisition_issues"]]
    (gone,) = [i for i in again["acquisition_issues"] if i["code"] == "disconnect"]
    (was,) = [i for i in live["acquisition_issues"] if i["code"] == "disconnect"]
    assert (gone["start_s"], gone["end_s"]) == (was["start_s"], was["end_s"])
    assert gone["message"] == was["message"]  # the seconds away too, from the record
    for key in ("received", "lost", "corrupt", "resyncs"):
        assert again["frames"][key] == live["frames"][key], key
