"""One Plate interface over pyserial (a real pty), pyvisa-py (real TCP) and pyvisa-sim."""
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from hil import protocol as P
from hil.drivers import PlateCommandError, PlateError, PlateTimeout, PlateUrlError
from hil.plates import open_plate

SIM_YAML = Path(__file__).resolve().parents[1] / "fixtures" / "visa" / "forceplate.yaml"
SIM_URL = f"TCPIP::127.0.0.1::5025::SOCKET@{SIM_YAML}@sim"


@pytest.fixture(params=["emulated", "emulated+scpi"])
def plate(request):
    with open_plate(request.param, timeout=3) as plate:
        yield plate


def test_commands_over_a_real_transport(plate):
    assert plate.identify().startswith("FORCEBENCH,FP2x4-EMU,")
    assert (plate.plates, plate.channels) == (2, 4)
    assert plate.get_rate() == 1000.0
    plate.set_rate(500)
    assert plate.get_rate() == 500.0
    with pytest.raises(PlateCommandError) as refused:
        plate.set_rate(1)
    assert refused.value.code == -222
    assert plate.errors() == []  # a refusal is reported once, not left queued
    cal = plate.read_calibration()
    assert cal.scale.shape == cal.offset.shape == (2, 4)
    plate.write_calibration(1, 2, 0.002, 123.0)
    again = plate.read_calibration()
    assert again.scale[1, 2] == 0.002 and again.offset[1, 2] == 123.0
    assert np.array_equal(again.scale[0], cal.scale[0])
    plate.tare()
    status = plate.status()
    assert status["state"] == "idle" and status["rate"] == "500"


def test_streams_frames_then_stops(plate):
    plate.start()
    data, deadline = b"", time.monotonic() + 3
    while len(data) < 200 * 2 * P.frame_size() and time.monotonic() < deadline:
        data += plate.read(0.5)
    plate.stop()
    data += plate.read(0.2)  # what arrived before the plate confirmed the stop
    frames = P.decode_all(data).frames
    assert frames.size >= 400
    left = frames[frames["plate"] == 0]["counter"]
    assert np.array_equal(left, np.arange(left.size))
    assert plate.status()["state"] == "idle"  # commands work again after the stop


def test_emulator_process_is_cleaned_up_on_close():
    plate = open_plate("emulated", timeout=3)
    process = plate.server.process
    plate.start()
    plate.close()
    assert process.poll() is not None


# --- the same driver against pyvisa-sim ---------------------------------------------------

def test_driver_against_pyvisa_sim():
    with open_plate(SIM_URL, timeout=1) as plate:
        assert plate.identify() == "FORCEBENCH,FP2x4-SIM,SN000042,1.0"
        assert (plate.plates, plate.channels) == (2, 4)
        assert plate.get_rate() == 1000.0
        plate.set_rate(2000.0)
        assert plate.get_rate() == 2000.0
        with pytest.raises(PlateCommandError):
            plate.set_rate(5.0)  # outside the YAML's specs
        cal = plate.read_calibration()
        assert cal.scale[0].tolist() == [0.001, 0.001, 0.002, 0.001]
        assert cal.offset[0].tolist() == [100.0, -200.0, 300.0, 0.0]
        plate.write_calibration(0, 2, 0.0015, 12.0)
        plate.tare()
        plate.start()
        assert plate.read(0.01) == b""  # an empty definite-length block
        plate.stop()
        assert plate.errors() == []


def test_pyvisa_sim_yaml_loads_with_pyvisa_directly():
    import pyvisa
    manager = pyvisa.ResourceManager(f"{SIM_YAML}@sim")
    assert manager.list_resources("?*") == ("TCPIP0::127.0.0.1::5025::SOCKET",)
    manager.close()


# --- bad URLs and silent plates: one clear error, never a hang -------------------------------

@pytest.mark.parametrize("url", ["bogus", "http://example.com", "", "emulated+usb"])
def test_unknown_url(url):
    with pytest.raises(PlateUrlError, match="unknown plate URL"):
        open_plate(url)


def test_emulator_options_need_an_emulated_url():
    with pytest.raises(PlateUrlError):
        open_plate("loop://", fast=True)


def test_missing_serial_device_fails_fast():
    t0 = time.monotonic()
    with pytest.raises(PlateError, match="cannot open serial port"):
        open_plate("/dev/ttyNOPE0", timeout=5)
    assert time.monotonic() - t0 < 1


def test_silent_serial_plate_times_out():
    t0 = time.monotonic()
    with pytest.raises(PlateTimeout, match="did not answer"):
        open_plate("loop://", timeout=0.5)  # a loopback echoes but never answers
    assert time.monotonic() - t0 < 3


@pytest.fixture
def mute_server():
    """A TCP server that accepts and never answers."""
    server = socket.create_server(("127.0.0.1", 0))
    held = []
    stop = threading.Event()

    def serve():
        server.settimeout(0.1)
        while not stop.is_set():
            try:
                held.append(server.accept()[0])
            except OSError:
                pass
    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield server.getsockname()[1]
    stop.set()
    thread.join(2)
    for conn in held:
        conn.close()
    server.close()


def test_silent_socket_plate_times_out(mute_server):
    with pytest.raises(PlateTimeout):
        open_plate(f"socket://127.0.0.1:{mute_server}", timeout=0.5)


def test_silent_visa_plate_times_out(mute_server):
    t0 = time.monotonic()
    with pytest.raises(PlateTimeout, match="did not answer"):
        open_plate(f"TCPIP::127.0.0.1::{mute_server}::SOCKET", timeout=0.5)
    assert time.monotonic() - t0 < 3


def test_closed_visa_port_is_a_clear_error():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(PlateError):
        open_plate(f"TCPIP::127.0.0.1::{port}::SOCKET", timeout=1)


def test_missing_sim_yaml_is_one_line():
    with pytest.raises(PlateError) as caught:
        open_plate("TCPIP::127.0.0.1::5025::SOCKET@/nonexistent.yaml@sim")
    assert "\n" not in str(caught.value)


def test_emulator_that_dies_is_reported():
    with pytest.raises(PlateError, match="emulator exited"):
        open_plate("emulated", source="/nonexistent.npz", timeout=5)


def test_cli_replay_is_not_ours_but_emulate_usage_is():
    done = subprocess.run([sys.executable, "-m", "hil.cli", "emulate", "--help"],
                          capture_output=True, text=True, timeout=30)
    assert done.returncode == 0 and "--fault" in done.stdout and "--timing-log" in done.stdout
