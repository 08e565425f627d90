"""``forcebench analyse`` as a user runs it: real files, generated files, bad input, exit statuses."""
import json
import os
import subprocess
import sys

import numpy as np
import pytest

import formula_traces as traces

TIMEOUT_S = 60


def forcebench(*args, stdin=None):
    return subprocess.run([sys.executable, "-m", "hil.cli", "analyse", *map(str, args)],
                          input=stdin, capture_output=True, timeout=TIMEOUT_S)


def _unusable(done, fragment):
    assert done.returncode == 2, done.stderr
    assert done.stdout == b""  # nothing half-written
    lines = done.stderr.decode().strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("forcebench: error:") and fragment in lines[0], lines


@pytest.fixture(scope="module")
def hops_csv(tmp_path_factory):
    force, rate, truth, _ = traces.hops(noise_sd=1.5, rng=np.random.default_rng(4))
    path = tmp_path_factory.mktemp("cli") / "hops.csv"
    time = np.arange(force.size) / rate
    np.savetxt(path, np.column_stack([time, force]), fmt="%.6f", delimiter=",",
               header="time,fz", comments="")
    return path, truth


def test_real_cmj_as_json(real_dir):
    done = forcebench(real_dir / "subject01_trial2.force.txt", "--test", "cmj", "--rate", 1200, "--json")
    assert done.returncode == 0, done.stderr
    record = json.loads(done.stdout)
    assert set(record) == {"test", "sample_rate_hz", "metrics", "events", "per_rep", "quality",
                           "analyser"}
    assert record["test"] == "cmj" and record["sample_rate_hz"] == 1200.0
    # the published impulse–momentum methods put this trial at 43.4–43.7 cm
    assert record["metrics"]["jump_height_m"] == pytest.approx(0.436, abs=0.01)
    assert record["analyser"]["name"] == "forcebench"


def test_real_cmj_from_standard_input_as_a_table(real_dir):
    data = (real_dir / "subject01_trial1.force.txt").read_bytes()
    done = forcebench("-", "--test", "cmj", "--rate", 1200, stdin=data)
    assert done.returncode == 0, done.stderr
    text = done.stdout.decode()
    assert "jump_height_m" in text and "quality:" in text and not text.lstrip().startswith("{")


def test_generated_hops_csv_with_time_column(hops_csv):
    path, truth = hops_csv
    done = forcebench(path, "--test", "hops", "--json")
    assert done.returncode == 0, done.stderr
    record = json.loads(done.stdout)
    assert record["sample_rate_hz"] == pytest.approx(1000.0)
    assert record["metrics"]["hop_count"] == truth["hop_count"]
    assert len(record["per_rep"]) == truth["hop_count"]
    table = forcebench(path, "--test", "hops", "--body-mass", 70)
    assert table.returncode == 0 and b"per repetition" in table.stdout


def test_refused_analysis_exits_3_with_the_reasons(tmp_path):
    path = tmp_path / "standing.txt"
    path.write_text("\n".join(["700.0"] * 3000) + "\n")
    done = forcebench(path, "--test", "hops", "--rate", 1000, "--json")
    assert done.returncode == 3, done.stderr
    record = json.loads(done.stdout)
    assert record["metrics"] == {} and not record["quality"]["ok"]
    assert record["quality"]["issues"][0]["code"] == "no_takeoff"


@pytest.mark.parametrize("content, args, fragment", [
    (b"", ["--rate", "1000"], "empty"),
    (b"700\n701\nseven hundred\n", ["--rate", "1000"], "line 3"),
    (b"time,speed\n0,1\n0.001,2\n", [], "no force column"),
    (b"700\n701\n", [], "sample rate unknown"),
    (b"time,fz\n0,700\n0.001,701\n0.002,702\n", ["--rate", "500"], "disagrees"),
    (b"time,fz\n0,700\n0.001,701\n0.003,702\n", [], "non-uniform time"),
    (b"700\n701\n", ["--rate", "1000", "--body-mass", "-70"], "--body-mass must be 10–400"),
    (b"700\n701\n", ["--rate", "1000", "--body-mass", "1e-300"], "--body-mass must be 10–400"),
    (b"700\n701\n", ["--rate", "1000", "--drop-height", "30"], "--drop-height must be 0.02–1.5"),
    (b"700\n1e300\n", ["--rate", "1000"], "is outside ±100 kN"),
    (b"700\n701\n", ["--rate", "1e300"], "is outside 10 Hz – 100 kHz"),
])
def test_unusable_input_exits_2_with_one_line(tmp_path, content, args, fragment):
    path = tmp_path / "bad.csv"
    path.write_bytes(content)
    _unusable(forcebench(path, "--test", "iso", *args, "--json"), fragment)


def test_missing_file_and_unknown_test(tmp_path):
    _unusable(forcebench(tmp_path / "absent.txt", "--test", "cmj", "--rate", 1000), "No such file")
    done = forcebench(tmp_path / "absent.txt", "--test", "marathon")
    assert done.returncode == 2 and done.stdout == b""


@pytest.mark.parametrize("args, fragment", [
    (["--test", "marathon"], "invalid choice"),
    (["--test", "cmj", "--rate", "abc"], "invalid float value"),
    ([], "required: --test"),
])
def test_argument_errors_are_one_line_too(tmp_path, args, fragment):
    done = forcebench(tmp_path / "absent.txt", *args)
    assert done.returncode == 2 and done.stdout == b""
    lines = done.stderr.decode().strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("forcebench analyse: error:"), lines
    assert fragment in lines[0]


def test_huge_file_refused_without_reading_it(tmp_path):
    path = tmp_path / "huge.txt"
    with open(path, "wb") as stream:  # sparse: 2 GB on paper, nothing on disk
        stream.truncate(2 * 2**30)
    done = forcebench(path, "--test", "cmj", "--rate", 1000)
    _unusable(done, "input limit")
    assert os.path.getsize(path) == 2 * 2**30


def test_json_shape_is_the_documented_one(hops_csv):
    done = forcebench(hops_csv[0], "--test", "hops", "--json")
    record = json.loads(done.stdout)
    assert list(record) == ["test", "sample_rate_hz", "metrics", "events", "per_rep", "quality",
                            "analyser"]
    for part in ("metrics", "events"):
        assert record[part] and all(isinstance(v, float) for v in record[part].values())
    assert record["per_rep"] and all(isinstance(v, float) for rep in record["per_rep"] for v in rep.values())
    assert set(record["quality"]) == {"ok", "issues"} and isinstance(record["quality"]["ok"], bool)
    for issue in record["quality"]["issues"]:
        assert set(issue) == {"code", "message", "start_s", "end_s"}
    assert set(record["analyser"]) == {"name", "version"}
