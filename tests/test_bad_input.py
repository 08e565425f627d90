"""Bad input anywhere: one line on stderr, a documented exit status, never a traceback or a hang.
Real processes (the installed command line), real sockets and files."""
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

TIMEOUT_S = 60
QUICK = Path(__file__).parent.parent / "scenarios" / "quick.toml"


def forcebench(*args, env=None, cwd=None):
    return subprocess.run([sys.executable, "-m", "hil.cli", *map(str, args)], capture_output=True,
                          timeout=TIMEOUT_S, env=env, cwd=cwd)


def one_line(done, status, fragment):
    assert done.returncode == status, (done.returncode, done.stderr[-2000:])
    lines = done.stderr.decode().strip().splitlines()
    assert len(lines) == 1, lines
    assert fragment in lines[0] and "Traceback" not in lines[0], lines[0]
    return lines[0]


def closed_port() -> int:
    """A loopback port nobody listens on."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.parametrize("plate, fragment", [
    ("TCPIP::127.0.0.1::{port}::SOCKET", "Connection refused"),
    ("TCPIP::127.0.0.1::5025::SOCKET@{yaml}@sim", "line 3"),  # a broken pyvisa-sim file
    ("TCPIP::127.0.0.1::5025::SOCKET@{missing}@sim", "No such file"),
    ("TCPIP::127.0.0.1::5025::SOCKET@nosuchbackend", "nosuchbackend"),
    ("", "--plate is empty"),
    ("   ", "--plate is empty"),
])
def test_plates_that_cannot_be_used(plate, fragment, tmp_path):
    yaml = tmp_path / "broken.yaml"
    yaml.write_text("spec: '1.1'\ndevices: [\n")
    url = plate.format(port=closed_port(), yaml=yaml, missing=tmp_path / "absent.yaml")
    done = forcebench("replay", QUICK, "--plate", url, "--report", tmp_path / "r", "--timeout", 2)
    one_line(done, 2, fragment)
    assert not (tmp_path / "r" / "report.json").exists()


@pytest.mark.parametrize("args, fragment", [
    (["emulate", "scpi", "--port", "70000"], "70000 is outside 0–65535"),
    (["emulate", "scpi", "--port", "-1"], "-1 is outside 0–65535"),
    (["emulate", "serial", "--counter-start", "99999999999"], "outside 0–4294967295"),
    (["emulate", "serial", "--fault", "stall:at=1,for=1e300"], "for must be 0–600"),
    (["emulate", "serial", "--fault", "saturate:1e300"], "limit must be 0–1e+06"),
    (["emulate", "serial", "--rate", "1e300"], "10-10000 Hz"),
    (["simulate", "cmj", "--mass", "1e-300"], "20–300 kg"),
    (["simulate", "dj", "--drop-height", "30"], "0.05–1 m"),
])
def test_absurd_values_are_refused_with_their_range(args, fragment, tmp_path):
    one_line(forcebench(*args, cwd=tmp_path), 2, fragment)


def test_an_error_line_is_cut_to_a_readable_length(tmp_path):
    path = tmp_path / "header.csv"
    path.write_text("x" * 10_000_000 + "\n1,2\n")
    line = one_line(forcebench("analyse", path, "--test", "cmj"), 2, "characters cut")
    assert len(line) < 400


def test_no_numpy_warning_reaches_the_user(tmp_path):
    """All-NaN and overflowing input: numpy would warn on the way to the quality issues."""
    path = tmp_path / "nan.txt"
    path.write_text("nan\n" * 500 + "1e200\n" * 10 + "-1e200\n" * 10)
    done = forcebench("analyse", path, "--test", "cmj", "--rate", 1000)
    assert b"Warning" not in done.stderr and done.returncode in (2, 3), done.stderr


def test_a_fault_of_the_program_names_its_log_and_is_not_a_usage_error(tmp_path):
    """A bug (here: an analysis module replaced by one that raises TypeError) is exit 70 with
    one line naming a log file that holds the traceback, not exit 2 'error' as if the input
    were at fault."""
    trace = tmp_path / "t.txt"
    trace.write_text("700\n" * 100)
    code = ("import sys, hil.analysis.multi as m, hil.cli as c\n"
            "def broken(test): raise TypeError('unsupported operand')\n"
            "m.module_for = broken\n"
            f"sys.exit(c.main(['analyse', {str(trace)!r}, '--test', 'cmj', '--rate', '1000']))\n")
    env = {**os.environ, "TMPDIR": str(tmp_path)}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, timeout=TIMEOUT_S,
                          env=env)
    line = one_line(done, 70, "internal error")
    assert "TypeError: unsupported operand" in line
    (log,) = tmp_path.glob("forcebench-crash-*.log")
    assert str(log) in line and "Traceback" in log.read_text() and "broken" in log.read_text()


def test_a_value_error_from_inside_numpy_is_the_programs_fault(tmp_path):
    """A ValueError raised on purpose in our code is the user's (exit 2); one raised inside a
    library on the way (here numpy, handed a shape it refuses) is ours (exit 70)."""
    trace = tmp_path / "t.txt"
    trace.write_text("700\n" * 100)
    code = ("import sys, numpy as np, hil.analysis.multi as m, hil.cli as c\n"
            "def broken(test): np.zeros(3).reshape(2, 2)\n"
            "m.module_for = broken\n"
            f"sys.exit(c.main(['analyse', {str(trace)!r}, '--test', 'cmj', '--rate', '1000']))\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, timeout=TIMEOUT_S,
                          env={**os.environ, "TMPDIR": str(tmp_path)})
    one_line(done, 70, "ValueError: cannot reshape")
