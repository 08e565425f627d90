"""``forcebench simulate`` in a real subprocess: files as METRICS.md says, bad input → one line, 2."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from hil.cli import main

ROOT = Path(__file__).resolve().parents[1]


def forcebench(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "hil.cli", "simulate", *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=60)


def test_writes_csv_and_truth_for_one_plate(tmp_path):
    done = forcebench("cmj", "--seed", "3", "--mass", "80", "--out", str(tmp_path))
    assert done.returncode == 0, done.stderr
    csv, truth = tmp_path / "cmj.csv", tmp_path / "cmj.truth.json"
    assert done.stdout.split() == [str(csv), str(truth)]
    assert csv.read_text().splitlines()[0] == "time,fz"
    data = np.loadtxt(csv, delimiter=",", skiprows=1)
    record = json.loads(truth.read_text())
    assert {"metrics", "events", "per_rep", "plate"} <= set(record)
    assert record["metrics"]["body_mass_kg"] == pytest.approx(80.0)
    assert record["plate"]["rate_hz"] == 1000.0
    bw = record["metrics"]["body_weight_n"]
    assert data[: 1000, 1].mean() == pytest.approx(bw, rel=0.002)  # typical noise on still standing
    onset = record["events"]["onset_s"]
    assert np.std(data[data[:, 0] < onset, 1]) == pytest.approx(1.5, rel=0.3)


def test_two_plates_options_and_same_bytes_twice(tmp_path):
    args = ("cmj", "--plates", "2", "--height", "0.42", "--untrimmed", "step_off_before",
            "--rate", "2000", "--noise", "none", "--seed", "9")
    first, second = tmp_path / "a", tmp_path / "b"
    assert forcebench(*args, "--out", str(first)).returncode == 0
    assert forcebench(*args, "--out", str(second)).returncode == 0
    assert (first / "cmj.csv").read_bytes() == (second / "cmj.csv").read_bytes()
    assert (first / "cmj.truth.json").read_bytes() == (second / "cmj.truth.json").read_bytes()
    assert (first / "cmj.csv").read_text().splitlines()[0] == "time,fz_left,fz_right"
    record = json.loads((first / "cmj.truth.json").read_text())
    assert record["metrics"]["jump_height_m"] == pytest.approx(0.42)
    assert "peak_force_asym_pct" in record["metrics"] and "step_off_s" in record["events"]


@pytest.mark.parametrize("args", [
    ("hops", "--hops", "12", "--leg", "left", "--plates", "2"),
    ("dj", "--drop-height", "0.45"),
    ("iso", "--variant", "calf_raise", "--hold", "3"),
    ("run", "--speed", "4.0", "--duration", "5", "--strike", "forefoot"),
    ("sj", "--depth", "0.3"),
    ("cmj", "--second-jump", "--fidget"),
])
def test_every_test_and_movement_option(tmp_path, capsys, args):
    # in-process through the same entry point as the script (a subprocess costs a second each)
    assert main(["simulate", *args, "--out", str(tmp_path)]) == 0
    assert (tmp_path / f"{args[0]}.csv").exists() and (tmp_path / f"{args[0]}.truth.json").exists()
    assert capsys.readouterr().out.split()[0].endswith(f"{args[0]}.csv")


def test_plot_writes_a_png(tmp_path):
    pytest.importorskip("matplotlib")
    done = forcebench("hops", "--plot", "--out", str(tmp_path))
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "hops.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


BAD = [
    ("cmj", "--mass", "-70"),
    ("cmj", "--mass", "heavy"),
    ("cmj", "--height", "1.5"),
    ("cmj", "--rate", "0"),
    ("cmj", "--rate", "abc"),
    ("squat",),
    ("cmj", "--plates", "3"),
    ("cmj", "--noise", "loud"),
    ("cmj", "--speed", "3"),
    ("run", "--speed", "1"),
    ("cmj", "--untrimmed", "maybe"),
    ("dj", "--drop-height", "-1"),
    ("hops", "--hops", "2.5"),
    ("cmj", "--seed", "-1"),
    ("cmj", "--mass", "nan"),
    ("cmj", "--rate", "nan"),
    ("cmj", "--height", "inf"),
    ("cmj", "--plates", "0"),
    ("iso", "--hold", "nan"),
    ("run", "--leg", "left"),
    (),
]


@pytest.mark.parametrize("args", [BAD[0], BAD[2], BAD[3], BAD[5], BAD[-1]])  # fail before scipy loads
def test_bad_parameters_one_line_exit_2_nothing_written(tmp_path, args):
    out = tmp_path / "out"
    done = forcebench(*args, "--out", str(out))
    assert done.returncode == 2
    assert len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert "Traceback" not in done.stderr and done.stdout == ""
    assert not out.exists()


@pytest.mark.parametrize("args", BAD)
def test_every_bad_parameter_in_process(tmp_path, capsys, args):
    out = tmp_path / "out"
    try:
        status = main(["simulate", *args, "--out", str(out)])
    except SystemExit as stop:  # argparse-level errors
        status = stop.code
    captured = capsys.readouterr()
    assert status == 2 and captured.out == ""
    assert len(captured.err.strip().splitlines()) == 1, captured.err
    assert not out.exists()


def test_help_has_examples():
    done = forcebench("--help")
    assert done.returncode == 0
    assert "examples:" in done.stdout and "--drop-height" in done.stdout and "--untrimmed" in done.stdout


def test_sway_option(tmp_path):
    done = forcebench("cmj", "--seed", "3", "--noise", "none", "--sway", "--out", str(tmp_path))
    assert done.returncode == 0, done.stderr
    record = json.loads((tmp_path / "cmj.truth.json").read_text())
    data = np.loadtxt(tmp_path / "cmj.csv", delimiter=",", skiprows=1)
    standing = data[data[:, 0] < record["events"]["onset_s"], 1]
    assert 1.0 < np.std(standing) < 8.0
    assert standing.mean() == pytest.approx(record["metrics"]["body_weight_n"], abs=1e-3)
    refused = forcebench("run", "--sway", "--out", str(tmp_path))
    assert refused.returncode == 2 and len(refused.stderr.strip().splitlines()) == 1


def test_same_arguments_same_bytes_in_every_file_including_the_png(tmp_path, capsys):
    pytest.importorskip("matplotlib")
    for name in ("a", "b"):
        assert main(["simulate", "run", "--plates", "2", "--seed", "5", "--plot",
                     "--out", str(tmp_path / name)]) == 0
    files = sorted(p.name for p in (tmp_path / "a").iterdir())
    assert files == ["run.csv", "run.png", "run.truth.json"]
    for name in files:
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes(), name
    assert main(["simulate", "run", "--plates", "2", "--seed", "6", "--out", str(tmp_path / "c")]) == 0
    assert (tmp_path / "c" / "run.csv").read_bytes() != (tmp_path / "a" / "run.csv").read_bytes()


@pytest.mark.parametrize("blocker", ["file", "directory_in_the_way"])
def test_an_unwritable_out_directory_is_one_line_exit_2_nothing_written(tmp_path, capsys, blocker):
    if blocker == "file":  # --out names a file (or a path through one): no directory can be made
        (tmp_path / "taken").write_text("not a directory")
        out = tmp_path / "taken" / "sub"
    else:  # the truth's name is taken by a directory: the CSV must not be left alone either
        out = tmp_path / "out"
        (out / "cmj.truth.json").mkdir(parents=True)
    assert main(["simulate", "cmj", "--out", str(out)]) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and len(captured.err.strip().splitlines()) == 1
    assert "cannot write the trial into" in captured.err
    leftovers = sorted(p.name for p in tmp_path.rglob("*") if p.is_file())
    assert leftovers == (["taken"] if blocker == "file" else [])


def test_a_failing_extra_file_leaves_nothing_behind(tmp_path):
    from sim.export import write_trial
    from sim.generate import simulate

    def broken(path):
        path.write_bytes(b"half a png")
        raise OSError(28, "No space left on device")

    with pytest.raises(OSError, match="cannot write the trial into .*No space left"):
        write_trial(simulate("cmj", noise="none"), tmp_path / "new", "cmj", extra={"png": broken})
    assert list(tmp_path.iterdir()) == []  # no CSV, no truth, no temporaries, no empty directory
