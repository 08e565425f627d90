"""Text-line plates: plate files, the line format both ways, the driver over a real pty with
the text emulator (real process), lost/garbled/out-of-order lines counted exactly as the
emulator injected them, and replay and acquisition through such a plate."""
import json
from pathlib import Path

import numpy as np
import pytest

from hil.acquire import Acquisition
from hil.cli import main
from hil.plates import open_plate
from hil.drivers.base import PlateCommandError, PlateUrlError
from hil.drivers.text_plate import TextPlate
from hil.emulator.source import write_source
from hil.text_format import PlateFileError, load_plate_file, plate_file_from_dict
from sim.generate import simulate

ROOT = Path(__file__).resolve().parents[1]
DUAL = ROOT / "fixtures" / "plates" / "text-dual-ads1256.toml"
SINGLE = ROOT / "fixtures" / "plates" / "text-single-micros.toml"
FAULTS = ("drop:0.003", "corrupt:0.003", "reorder:0.003")

MINIMAL = {"kind": "text", "plates": 1, "rate_hz": 1000.0, "columns": ["C1", "C2", "C3", "C4"]}


def test_the_shipped_plate_files_load():
    dual, single = load_plate_file(DUAL), load_plate_file(SINGLE)
    assert (dual.plates, dual.rate_hz, dual.time_column, dual.checksum) == (2, 1000.0, "counter", "xor8")
    assert dual.cell_columns.tolist() == [1, 2, 3, 4, 5, 6, 7, 8]
    assert (single.plates, single.time_column, single.commands) == (1, "us", {})


@pytest.mark.parametrize("change, key", [
    ({"kind": "binary"}, "kind"), ({"plates": 3}, "plates"), ({"rate_hz": "fast"}, "rate_hz"),
    ({"columns": ["C1", "C2", "C3"]}, "columns"), ({"columns": ["C1", "C2", "C3", "C4", "X"]}, "columns"),
    ({"columns": ["ms", "us", "C1", "C2", "C3", "C4"]}, "columns"), ({"separator": "|"}, "separator"),
    ({"scale_n_per_count": [1, 2]}, "scale_n_per_count"), ({"scale_n_per_count": 0}, "scale_n_per_count"),
    ({"checksum": "crc32"}, "checksum"), ({"commands": {"explode": "!"}}, "commands"),
    ({"colour": "red"}, "colour"),
])
def test_bad_plate_files_name_the_key(change, key):
    with pytest.raises(PlateFileError, match=key):
        plate_file_from_dict({**MINIMAL, **change}, "test.toml")


@pytest.mark.parametrize("path", [DUAL, SINGLE])
def test_lines_round_trip_and_any_damage_is_refused(path):
    layout = load_plate_file(path)
    rng = np.random.default_rng(3)
    counts = rng.integers(-2_000_000, 2_000_000, (50, layout.plates, 4))
    counters = np.arange(10, 60)
    lines = layout.format_lines(counters, counts)
    for line, row, counter in zip(lines, counts, counters):
        stamp, values = layout.parse_line(line)
        assert np.array_equal(values, row.ravel())
        if layout.time_column == "counter":
            assert stamp == counter
    line = lines[7]
    for where in range(len(line) - 1):  # a glitch byte anywhere is refused, never misread
        assert layout.parse_line(line[:where] + b"#" + line[where + 1:]) is None
    assert layout.parse_line(b"HX711 ready\n") is None and layout.parse_line(b"\xff\xfe\n") is None


def _source(tmp_path, plates, seed=1):
    trial = simulate("cmj", mass_kg=75, rate_hz=1000, plates=plates, noise="typical", seed=seed)
    return trial, write_source(tmp_path / "source.npz", trial.cells, 1000.0)


@pytest.mark.parametrize("fast", [True, False])
def test_lost_garbled_and_out_of_order_lines_are_counted_as_injected(tmp_path, fast):
    """1000 Hz x 8 cells; real time too (about 5 s)."""
    trial, source = _source(tmp_path, 2)
    with open_plate(f"emulated+text:{DUAL}", source=source, once=True, fast=fast,
                    faults=FAULTS, seed=4) as plate:
        assert "2x4 cells" in plate.identify()
        plate.tare()
        with Acquisition(plate) as acquisition:
            plate.start()
            force = np.concatenate([b.force for b in acquisition.blocks(
                timeout=1.0, until_counter=trial.force.shape[0])])
            plate.stop()
            stats = acquisition.stats
        status = plate.status()
    injected = {k[len("injected_"):]: int(v) for k, v in status.items() if k.startswith("injected_")}
    assert injected["lines"] == trial.force.shape[0]
    assert min(injected["dropped"], injected["garbled"], injected["reordered"]) > 0
    # each lost, garbled or overtaken line is a missing sample on both plates; a garbled line is
    # corrupt; an overtaken line arrives late
    missing = injected["dropped"] + injected["garbled"] + injected["reordered"]
    assert stats.lost == 2 * (missing - injected["unseen"])  # unseen: before the first line
    assert stats.corrupt == injected["garbled"]
    assert stats.late == 2 * injected["reordered"]
    good = np.isfinite(force).all(axis=1)
    assert good.sum() == trial.force.shape[0] - missing
    assert np.abs(force[good] - trial.force[good]).max() < 0.01  # counts → newtons exactly


def test_a_plate_without_commands_or_counter_uses_device_time_and_host_tare(tmp_path):
    trial, source = _source(tmp_path, 1)
    quiet = write_source(tmp_path / "quiet.npz", np.zeros((400, 1, 4)), 1000.0)
    with open_plate(f"emulated+text:{SINGLE}", source=quiet, fast=True) as plate:
        plate.tare()  # the host's: the median of unloaded samples
        assert np.allclose(plate.read_calibration().offset, [[1200, -800, 300, 50]], atol=1)
        with pytest.raises(PlateCommandError, match="1000 Hz only"):
            plate.set_rate(500)
        with Acquisition(plate) as acquisition:
            plate.start()
            force = np.zeros((0, 1))
            for block in acquisition.blocks(timeout=1.0):
                force = np.concatenate((force, block.force))
                if np.isfinite(force).sum() > 100:
                    break
        # a plate that streams from power-up overflows the port while the host is not reading:
        # those lines are missing (NaN), the ones read are zero after the host's tare
        finite = np.isfinite(force)
        assert finite.sum() > 100 and np.abs(force[finite]).max() < 0.01


@pytest.mark.parametrize("url", ["text:nope.toml@/dev/null", f"text:{DUAL}", "emulated+text:missing.toml"])
def test_bad_text_plate_urls_say_why(url):
    with pytest.raises(PlateUrlError):
        open_plate(url)


def test_replay_through_a_text_plate_finds_the_faults_it_was_given(tmp_path, capsys):
    scenario = tmp_path / "text.toml"
    scenario.write_text(f"""
description = "two CMJ on a home-built text plate, lines lost, garbled and reordered"
gap_s = 0.3
[plate]
url = "emulated+text:{DUAL}"
plates = 2
[check]
expect_issues = ["gap", "crc_error"]
[[trials]]
test = "cmj"
count = 2
seed = 3
mass_kg = 70
[[faults]]
kind = "drop"
rate = 0.002
[[faults]]
kind = "corrupt"
rate = 0.002
[[faults]]
kind = "reorder"
rate = 0.002
""")
    status = main(["replay", str(scenario), "--fast", "--report", str(tmp_path / "out"), "--no-plots"])
    out, err = capsys.readouterr()
    record = json.loads((tmp_path / "out" / "report.json").read_text())
    frames = record["frames"]
    # per line two frames: every line sent arrived unless garbled; every line dropped, garbled
    # or overtaken is a lost sample on both plates
    assert min(frames["lines_garbled"], frames["lines_reordered"], frames["dropped_by_fault"]) > 0
    assert frames["corrupt"] == frames["lines_garbled"]
    assert frames["late"] == 2 * frames["lines_reordered"]
    assert frames["lost"] == frames["dropped_by_fault"] + 2 * (
        frames["lines_garbled"] + frames["lines_reordered"] - frames["lines_unseen"])
    assert frames["received"] == frames["sent"] - 2 * frames["corrupt"]
    assert {"gap", "crc_error"} <= {i["code"] for i in record["acquisition_issues"]}
    # both trials are hit, so flagged: found, but nothing was verified against the truth
    assert record["counts"]["flagged"] == 2 and status == 1, out + err
    assert record["reasons"] == ["nothing verified: 0 of 2 trials scored (2 flagged by acquisition, 0 failed)"]
    assert record["latency"]["sample"]["measurable"]  # each line timed by the write that carried it


TINY_SPEC = """[sequence]
levels_kg = [100, 200]
grid_x_mm = [-200, 200]
grid_y_mm = [-120, 120]
repeats = 2
settle_s = 0.6
"""


def test_unattended_calibration_of_a_text_plate_counts_its_lines_as_injected(tmp_path, capsys):
    """1000 Hz x 8 cells with a hidden gain error on two cells, calibrated by the emulated rig
    (no operator) while lines are lost, garbled and reordered: the gains are found, the plate
    passes once corrected (in the driver: the firmware cannot store it), and every step's
    stream as acquired, summed, has the emulator's faults exactly (about 25 s)."""
    spec = tmp_path / "tiny.toml"
    spec.write_text(TINY_SPEC)
    url = f"emulated+text:{DUAL}?gain=1.02,0.99,1,1,1,1,1,1"
    status = main(["calibrate", "--plate", url, "--spec", str(spec), "--out", str(tmp_path / "cal"),
                   *[arg for fault in FAULTS for arg in ("--fault", fault)]])
    out, err = capsys.readouterr()
    record = json.loads((tmp_path / "cal" / "calibration.json").read_text())
    assert status == 0 and record["acceptance"]["pass"], out + err
    gains = [cell["gain_error"] for cell in record["cells"]]
    assert gains[:2] == pytest.approx([1.02, 0.99], abs=0.002) and gains[2:] == pytest.approx([1] * 6, abs=0.002)
    assert record["correction"]["written"] and not record["correction"]["stored_on_plate"]
    counts = record["acquisition"]
    injected = {k[len("injected_"):]: v for k, v in counts.items() if k.startswith("injected_")}
    assert min(injected["dropped"], injected["garbled"], injected["reordered"]) > 0, injected
    assert counts["corrupt"] == injected["garbled"]
    assert counts["late"] == 2 * injected["reordered"]
    assert counts["lost"] == 2 * (injected["dropped"] + injected["garbled"] + injected["reordered"]
                                  - injected["unseen"])
    assert f"frames lost {counts['lost']}, corrupt {counts['corrupt']}" in out


def test_a_real_text_plate_has_no_rig(tmp_path):
    """Only our emulator takes the rig's load: a text plate on a port is calibrated by an operator."""
    with open_plate(f"emulated+text:{DUAL}", fast=True) as emulated:
        plate = TextPlate(load_plate_file(DUAL), emulated.url, 2.0)  # the same port, no emulator
        try:
            with pytest.raises(PlateCommandError, match="no 'load'"):
                plate.command("load", 0, 0.0, 0.0, 100.0)
        finally:
            plate.close()
