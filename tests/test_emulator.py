"""The emulated plates: faults, sources, the device model, and the real processes."""
import os
import socket
import subprocess
import sys
import time

import numpy as np
import pytest
import pyvisa
import serial

from hil import protocol as P
from hil.emulator import (EmulatedPlate, FaultError, SourceError, builtin_source, parse_fault,
                          parse_faults, read_source, read_timing_log, write_source)
from hil.emulator.source import make_source


# --- faults -----------------------------------------------------------------------------

@pytest.mark.parametrize("text, kind, params", [
    ("drop:0.001", "drop", {"rate": 0.001, "plate": -1}),
    ("drop:rate=0.5,plate=1", "drop", {"rate": 0.5, "plate": 1}),
    ("corrupt:0.01", "corrupt", {"rate": 0.01}),
    ("slip:rate=0.002", "slip", {"rate": 0.002}),
    ("stall:at=2.0,for=0.3", "stall", {"at": 2.0, "for": 0.3}),
    ("disconnect:at=1", "disconnect", {"at": 1.0, "for": 0.5}),
    ("dead_cell:plate=0,cell=2", "dead_cell", {"plate": 0, "cell": 2, "at": 0.0}),
    ("saturate:1500", "saturate", {"limit": 1500, "plate": -1, "cell": -1}),
    ("drift:0.5", "drift", {"rate": 0.5, "plate": -1}),
    ("skew:ppm=200", "skew", {"ppm": 200}),
])
def test_fault_specs_parse(text, kind, params):
    fault = parse_fault(text)
    assert fault.kind == kind and dict(fault.params) == params
    assert parse_fault(fault.to_spec()) == fault  # the command-line form round-trips


def test_fault_dicts_and_strings_mix():
    faults = parse_faults(["drop:0.1", {"kind": "stall", "at": 1, "for": 0.2}])
    assert [f.kind for f in faults] == ["drop", "stall"] and faults[1]["for"] == 0.2


@pytest.mark.parametrize("bad", ["explode", "drop", "drop:2", "drop:lots", "stall:at=-1",
                                 "skew:ppm=1,foo=2", {"kind": "nope"}, 42])
def test_bad_fault_specs_say_why(bad):
    with pytest.raises(FaultError):
        parse_faults([bad])


# --- sources ----------------------------------------------------------------------------

def test_source_file_round_trips(tmp_path):
    cells = np.random.default_rng(0).normal(200, 5, (500, 2, 4))
    path = write_source(tmp_path / "s.npz", cells, 1000.0, [0, 250], ["a", "b"])
    source = read_source(path)
    assert np.array_equal(source.cells, cells) and source.rate_hz == 1000.0
    assert source.trial_starts.tolist() == [0, 250] and source.trial_names == ("a", "b")


@pytest.mark.parametrize("cells, rate, starts", [
    (np.zeros((10, 2, 3)), 1000, None), (np.zeros((10, 2, 4)), 0, None),
    (np.full((10, 2, 4), np.nan), 1000, None), (np.zeros((10, 2, 4)), 1000, [0, 20])])
def test_bad_sources_are_refused(cells, rate, starts):
    with pytest.raises(SourceError):
        make_source(cells, rate, starts)


def test_unreadable_source_file(tmp_path):
    (tmp_path / "junk.npz").write_text("not a zip")
    with pytest.raises(SourceError):
        read_source(tmp_path / "junk.npz")


# --- the device model -------------------------------------------------------------------

def stream(plate: EmulatedPlate, ticks: int, step: int) -> bytes:
    plate.execute("start", ())
    return b"".join(plate.make(min(step, ticks - i)).data for i in range(0, ticks, step))


def test_counts_carry_the_source_through_the_calibration():
    source = builtin_source()
    plate = EmulatedPlate(source)
    frames = P.decode_all(stream(plate, 1000, 1000)).frames
    for p in (0, 1):
        mine = frames[frames["plate"] == p]
        cal = P.Calibration(plate.scale[p], plate.offset[p])
        newtons = cal.to_newtons(mine["counts"])
        assert np.allclose(newtons, source.cells[:1000, p], atol=plate.scale.max())


@pytest.mark.parametrize("faults", [(), ("drop:0.05",), ("corrupt:0.05",), ("slip:0.05",)])
def test_stream_is_deterministic_and_independent_of_batching(faults):
    make = lambda: EmulatedPlate(builtin_source(), parse_faults(faults), seed=7)  # noqa: E731
    assert stream(make(), 1500, 1500) == stream(make(), 1500, 1) == stream(make(), 1500, 97)
    if faults:  # another seed hits other frames
        hit = lambda seed: P.decode_all(stream(EmulatedPlate(  # noqa: E731
            builtin_source(), parse_faults(faults), seed=seed), 1500, 1500)).frames["counter"]
        assert not np.array_equal(hit(7), hit(8))


def test_drop_rate_is_what_was_asked():
    plate = EmulatedPlate(builtin_source(), parse_faults(["drop:0.02"]), seed=1)
    frames = P.decode_all(stream(plate, 20000, 500)).frames
    lost = 40000 - frames.size
    assert lost == plate.dropped and 600 < lost < 1000  # 2 % of 40 000, within ~5 sigma


@pytest.mark.parametrize("kind", ["drop", "corrupt", "slip"])
def test_a_fault_rate_is_a_probability_per_frame(kind):
    rate, frames = 2e-4, 1_000_000  # 500 000 ticks of two plates
    plate = EmulatedPlate(builtin_source(), parse_faults([f"{kind}:{rate}"]), seed=3)
    decoded = P.decode_all(stream(plate, frames // 2, 50_000))
    hits = plate.dropped if kind == "drop" else decoded.corrupt  # one damaged frame per hit
    expected = rate * frames
    assert abs(hits - expected) < 5 * np.sqrt(expected * (1 - rate))  # binomial, 5 sigma
    assert decoded.frames.size == frames - hits


def test_skew_makes_the_right_plate_tick_faster():
    plate = EmulatedPlate(builtin_source(), parse_faults(["skew:ppm=500"]))
    frames = P.decode_all(stream(plate, 10000, 333)).frames
    right = frames[frames["plate"] == 1]["counter"]
    assert (frames["plate"] == 0).sum() == 10000 and right.size == 10004  # floor(9999 · 1.0005) + 1
    assert np.array_equal(right, np.arange(10004))  # no gaps at batch edges


def test_another_rate_resamples_the_source():
    ramp = np.linspace(0, 999, 1000)[:, None, None] * np.ones((1, 2, 4))  # 1 N per sample
    plate = EmulatedPlate(make_source(ramp, 1000.0), once=True)
    plate.execute("rate", (2000.0,))
    frames = P.decode_all(stream(plate, 10000, 700)).frames
    left = frames[frames["plate"] == 0]
    newtons = (left["counts"] - plate.offset[0]) * plate.scale[0]
    assert left.size == 2000  # one pass of the source at twice the rate
    assert np.allclose(newtons[:1998, 0], np.arange(1998) / 2, atol=0.002)  # halfway values


def test_once_ends_after_the_source():
    plate = EmulatedPlate(builtin_source(), once=True)
    data = stream(plate, 10000, 1000)
    assert len(data) == len(builtin_source()) * 2 * P.frame_size()
    assert not plate.streaming and plate.finished


# --- real processes -----------------------------------------------------------------------

def start(*args: str) -> tuple[subprocess.Popen, str]:
    process = subprocess.Popen([sys.executable, "-m", "hil.cli", "emulate", *args],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    line = process.stdout.readline().strip()
    assert line, process.stderr.read()
    return process, line


def stop(process: subprocess.Popen) -> None:
    process.terminate()
    assert process.wait(timeout=5) == 0


def test_serial_emulator_on_a_real_pty_paces_in_real_time(tmp_path):
    log = tmp_path / "timing.bin"
    process, path = start("serial", "--timing-log", str(log))
    try:
        assert path.startswith("/dev/pts/")
        port = serial.Serial(path, timeout=2)
        port.write(b"IDN?\n")
        assert port.readline().startswith(b"FORCEBENCH,")
        port.write(b"START\n")
        assert port.readline() == b"OK\n"
        t0, data = time.monotonic(), b""
        while time.monotonic() - t0 < 0.5:
            data += port.read(max(1, port.in_waiting))
        elapsed = time.monotonic() - t0
        port.write(b"STOP\n")
        while not data.endswith(P.STOPPED_LINE):
            chunk = port.read(max(1, port.in_waiting))
            assert chunk, "no OK STOPPED"
            data += chunk
        frames = P.decode_all(data[:-len(P.STOPPED_LINE)]).frames
        ticks = frames.size // 2
        assert 0.8 * elapsed * 1000 < ticks < 1.2 * elapsed * 1000 + 50  # paced at 1000 Hz
        timing = read_timing_log(log)
        assert timing.size == ticks and np.array_equal(timing["counter"], np.arange(ticks))
        # one write per tick (a late tick may share a catch-up write on a busy machine)
        assert np.unique(timing["write_ns"]).size > 0.5 * ticks
        port.close()
    finally:
        stop(process)


@pytest.mark.parametrize("at_s", [0.0, 0.5])  # inside the first fast batch (1024 ticks)
def test_serial_stall_starts_after_the_reply_and_the_frames_before_it(at_s):
    process, path = start("serial", "--fast", "--fault", f"stall:at={at_s},for=1.0")
    try:
        port = serial.Serial(path, timeout=2)
        port.write(b"START\n")
        t0 = time.monotonic()
        assert port.readline() == b"OK\n" and time.monotonic() - t0 < 0.7  # not after the stall
        before = int(at_s * 1000) * 2 * P.frame_size()  # both plates' frames of ticks < at
        data = port.read(before)
        assert len(data) == before and time.monotonic() - t0 < 0.7
        assert port.read(1) and time.monotonic() - t0 > 0.95  # then nothing for the stall
        port.write(b"STOP\n")
        port.close()
    finally:
        stop(process)


def test_scpi_emulator_with_pyvisa_py():
    process, resource = start("scpi", "--port", "0", "--fast")
    try:
        assert resource.startswith("TCPIP::127.0.0.1::") and resource.endswith("::SOCKET")
        manager = pyvisa.ResourceManager("@py")
        inst = manager.open_resource(resource, read_termination="\n", write_termination="\n",
                                     timeout=3000)
        assert inst.query("*IDN?").startswith("FORCEBENCH,")
        inst.write("CONF:RATE 2000")
        assert inst.query("CONF:RATE?") == "2000"
        assert inst.query("SYST:ERR?") == '0,"No error"'
        inst.write("CONF:RATE 1")
        assert inst.query("SYST:ERR?").startswith("-222,")
        inst.write("INIT")
        payload = inst.query_binary_values("FETC?", datatype="B", container=bytes)
        frames = P.decode_all(payload).frames
        assert frames.size == P.FETCH_MAX_FRAMES and frames["counter"][0] == 0
        inst.write("ABOR")
        inst.close()
        manager.close()
    finally:
        stop(process)


@pytest.mark.parametrize("args", [["serial", "--fault", "explode:1"],
                                  ["serial", "--source", "/nonexistent.npz"],
                                  ["serial", "--rate", "1"]])
def test_emulate_bad_input_is_one_line_exit_2(args):
    done = subprocess.run([sys.executable, "-m", "hil.cli", "emulate", *args],
                          capture_output=True, text=True, timeout=30)
    assert done.returncode == 2 and done.stdout == ""
    assert len(done.stderr.strip().splitlines()) == 1 and "Traceback" not in done.stderr


def test_emulate_scpi_port_in_use_is_one_line_exit_2():
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = str(taken.getsockname()[1])
        done = subprocess.run([sys.executable, "-m", "hil.cli", "emulate", "scpi", "--port", port],
                              capture_output=True, text=True, timeout=30)
    assert done.returncode == 2 and "Address already in use" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1


def test_emulator_exits_when_its_parent_goes(tmp_path):
    process = subprocess.Popen([sys.executable, "-m", "hil.cli", "emulate", "serial",
                                "--watch-stdin"], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    assert process.stdout.readline().startswith(b"/dev/")
    process.stdin.close()
    assert process.wait(timeout=5) == 0
    assert not os.path.exists(f"/proc/{process.pid}/status") or process.returncode == 0
