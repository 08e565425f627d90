"""The protocol's playback command: framing (a block that may hold newlines), the emulators on
both transports streaming an uploaded trace through their own processing, refusals, and
``replay --playback`` against a plate started by hand (real processes, pty and TCP)."""
import json

import numpy as np
import pytest

from hil import protocol as P
from hil.acquire import Acquisition
from hil.cli import main
from hil.drivers.base import PlateCommandError
from hil.emulator.process import EmulatorProcess
from hil.plates import open_plate
from sim.generate import simulate


def test_playback_command_round_trips_with_newlines_inside_the_block():
    cells = np.full((3, 2, 4), 10.0, dtype=np.float32)
    cells[1, 0, 0] = np.frombuffer(b"\n\n\nA", "<f4")[0]  # the payload holds newline bytes
    for dialect in ("serial", "scpi"):
        line = P.format_command("playback", 1000.0, P.encode_playback(cells), dialect=dialect)
        head, payload, rest = P.split_command(line + b"IDN?\n")
        assert rest == b"IDN?\n"
        name, args = P.parse_command(head, dialect, payload)
        assert name == "playback" and args[0] == 1000.0
        assert np.array_equal(P.decode_playback(args[1], 2), cells.astype(float))
        assert P.split_command(line[:-5]) is None  # incomplete: wait for the rest


@pytest.mark.parametrize("data", [b"PLAY 1000 #9", b"PLAY 1000 #x12", b"PLAY 1000 #3abc"])
def test_malformed_blocks_are_protocol_errors(data):
    with pytest.raises(P.ProtocolError):
        P.split_command(data + b"\n" + b"\0" * 20)


def test_a_command_without_its_block_or_with_a_stray_one_is_refused():
    with pytest.raises(P.ProtocolError, match="needs data block"):
        P.parse_command(b"PLAY 1000", "serial")
    with pytest.raises(P.ProtocolError, match="takes no data block"):
        P.parse_command(b"RATE 1000", "serial", b"1234")
    with pytest.raises(P.ProtocolError, match="not whole samples"):
        P.decode_playback(b"\0" * 12, 2)


@pytest.mark.parametrize("url", ["emulated", "emulated+scpi"])
def test_the_plate_streams_the_uploaded_trace_once_through_its_own_processing(url):
    trial = simulate("cmj", mass_kg=70, rate_hz=1000, plates=2, noise="typical", seed=2)
    with open_plate(url, fast=True) as plate:
        plate.playback(trial.cells, 1000.0)
        assert int(plate.status()["samples"]) == trial.force.shape[0]
        with pytest.raises(PlateCommandError, match="-161"):
            plate.playback(np.zeros((5, 2, 3)), 1000.0)  # not whole samples of 2 x 4 cells
        with pytest.raises(PlateCommandError, match="-222"):
            plate.playback(trial.cells, 5.0)
        with Acquisition(plate) as acquisition:
            plate.start()
            force = np.concatenate([b.force for b in acquisition.blocks(
                timeout=1.0, until_counter=trial.force.shape[0])])
            plate.stop()
        assert force.shape == trial.force.shape
        assert np.abs(force - trial.force).max() < 0.01  # the plate's ADC step, 1 mN
        assert plate.status()["state"] == "done"


def test_replay_uploads_the_scenario_to_a_plate_started_by_hand(tmp_path, capsys):
    scenario = tmp_path / "one.toml"
    scenario.write_text("""
description = "one CMJ uploaded by the playback command"
gap_s = 0.2
[plate]
plates = 2
[[trials]]
test = "cmj"
count = 1
seed = 5
mass_kg = 80
""")
    emulator = EmulatorProcess("serial", ["--fast"], 5.0)  # streams its built-in CMJ until told
    try:
        status = main(["replay", str(scenario), "--plate", emulator.address, "--playback",
                       "--report", str(tmp_path / "out"), "--no-plots"])
    finally:
        emulator.close()
    out, err = capsys.readouterr()
    assert status == 0, out + err
    record = json.loads((tmp_path / "out" / "report.json").read_text())
    assert record["trials"][0]["status"] == "pass" and record["frames"]["lost"] == 0
