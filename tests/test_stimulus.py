"""Electrical stimulus: bridge signals, markers and alignment, the generators' command set,
the emulated generators and front end (real processes, real TCP, a real pty), and
``forcebench replay --stimulus`` end to end with front-end defects that must be caught."""
import json
from pathlib import Path

import numpy as np
import pytest
import pyvisa
import yaml

from hil.acquire import Acquisition
from hil.bench.stimulus import emulated_rig
from hil.cli import main
from hil.emulator import EmulatedPlate, builtin_source, parse_faults
from hil.protocol import split_command
from hil.emulator.awg import EmulatedAwg, wire
from hil.emulator.process import EmulatorProcess
from hil.stimulus import awg_commands as C
from hil.stimulus.align import align, first_tick, marker_centre, marker_height, template_centre
from hil.stimulus.awg import Awg, Generators, StimulusError
from hil.stimulus.bridge import OVERSAMPLE, Bridge, BridgeError, build_stimulus, parse_bridge

ROOT = Path(__file__).resolve().parents[1]
AWG_YAML = ROOT / "fixtures" / "visa" / "awg.yaml"
SIM_URL = f"TCPIP::127.0.0.1::5025::SOCKET@{AWG_YAML}@sim"

ONE_CMJ = """
description = "one CMJ through the stimulus chain"
gap_s = 0.2
[plate]
plates = 2
[check]
latency_p99_ms = 1000
[[trials]]
test = "cmj"
count = 1
seed = 21
mass_kg = 72
"""


# --- bridge and markers -----------------------------------------------------------------

def test_bridge_signal_is_ratiometric():
    bridge = Bridge(rated_mv_v=2.0, capacity_n=5000.0, excitation_v=5.0)
    assert bridge.mv_per_v(5000.0) == pytest.approx(2.0)
    assert bridge.volts(5000.0) == pytest.approx(0.010)
    assert bridge.newtons(bridge.mv_per_v(1234.5)) == pytest.approx(1234.5)
    assert parse_bridge("rated_mv_v=3, excitation_v=10") == Bridge(3.0, 5000.0, 10.0)


@pytest.mark.parametrize("bad", ["rated_mv_v", "gain=2", "capacity_n=-1", "excitation_v=x"])
def test_bad_bridge_specs_say_why(bad):
    with pytest.raises(BridgeError):
        parse_bridge(bad)


def test_markers_frame_the_data_and_are_found_where_they_are():
    cells = np.full((2000, 2, 4), 150.0)
    stimulus = build_stimulus(cells, 1000.0)
    total = stimulus.cells.sum(axis=(1, 2))
    assert np.array_equal(stimulus.cells[stimulus.data_start:stimulus.data_start + 2000], cells)
    first = marker_centre(total, marker_height(2))
    assert first == pytest.approx(stimulus.markers[0] + template_centre(1000.0))
    found = align(total, stimulus, first)
    assert found.end_marker == pytest.approx(stimulus.markers[1] + template_centre(1000.0))
    assert found.clock_ppm == pytest.approx(0.0, abs=1e-6)


def test_the_played_waveform_holds_every_sample_and_ramps_the_markers_finely():
    cells = np.random.default_rng(0).normal(500, 50, (1000, 2, 4))
    stimulus = build_stimulus(cells, 1000.0)
    played, start = stimulus.played(), stimulus.data_start * OVERSAMPLE
    for point in range(OVERSAMPLE):  # whatever the plate's phase, it reads each sample exactly
        assert np.array_equal(played[start + point:start + 1000 * OVERSAMPLE:OVERSAMPLE], cells)
    ramp = played[stimulus.markers[0] * OVERSAMPLE:(stimulus.markers[0] + 2) * OVERSAMPLE, 0, 0]
    assert np.all(np.diff(ramp) > 0)  # a ramp at the fine rate, not a staircase


@pytest.mark.parametrize("ppm, phase", [(0.0, 0.3), (200.0, 0.7), (-150.0, 0.1), (50.0, 0.5)])
def test_alignment_measures_offset_and_clock_to_a_fraction_of_a_sample(ppm, phase):
    """A plate sampling the (interpolated) stimulus on its own clock, with noise."""
    rng = np.random.default_rng(1)
    cells = np.zeros((20_000, 2, 4))
    stimulus = build_stimulus(cells, 1000.0)
    sent = stimulus.cells.sum(axis=(1, 2))
    clock = 1 + ppm * 1e-6
    plate = np.arange(int((sent.size - 1) * clock) + 200)
    seen = np.interp(plate / clock - 37 - phase, np.arange(sent.size), sent, left=0, right=0)
    seen += rng.normal(0, 2.0, seen.size)
    start = marker_centre(seen, marker_height(2))
    expected = (stimulus.markers[0] + template_centre(1000.0) + 37 + phase) * clock
    assert start == pytest.approx(expected, abs=0.1)
    assert align(seen, stimulus, start).clock_ppm == pytest.approx(ppm, abs=10)


def test_lost_samples_on_a_marker_do_not_move_it():
    """A frame lost on a marker's ramp or plateau (NaN in the plate's sum) is bridged: the
    marker is found where it is, not split in two or left without an edge."""
    cells = np.zeros((3000, 2, 4))
    stimulus = build_stimulus(cells, 1000.0)
    total = stimulus.cells.sum(axis=(1, 2))
    seen = np.interp(np.arange(total.size) - 0.4, np.arange(total.size), total)
    whole = marker_centre(seen, marker_height(2))
    for centre in (whole, whole + stimulus.marker_distance):
        seen[int(centre) - 60:int(centre) + 60:7] = np.nan  # ramps and plateau
    start = marker_centre(seen, marker_height(2))
    assert start == pytest.approx(whole, abs=1e-9)
    assert align(seen, stimulus, start).clock_ppm == pytest.approx(0.0, abs=1e-6)


@pytest.mark.parametrize("phase", np.arange(0.0, 1.0, 0.05))
def test_the_first_data_sample_is_found_whatever_the_plates_phase(phase):
    """A plate sampling the held waveform (FILT STEP) once a sample at ``phase`` after each
    hold begins: the counter found from the first marker is the sample that read data sample 0,
    and every sample after it reads its own (round() took the one before at some phases)."""
    rng = np.random.default_rng(2)
    cells = rng.normal(500, 50, (400, 2, 4))
    stimulus = build_stimulus(cells, 1000.0)
    played = stimulus.played().sum(axis=(1, 2))
    ticks = np.arange(int(played.size / OVERSAMPLE) + 12) - 13 + phase  # in the stimulus' samples
    seen = played[np.clip(np.floor(ticks * OVERSAMPLE).astype(int), 0, None)]
    seen = np.where(ticks < 0, 0.0, seen) + rng.normal(0, 0.5, seen.size)
    start = marker_centre(seen, marker_height(2))
    data_offset = stimulus.data_start - stimulus.markers[0] - template_centre(1000.0)
    first = first_tick(start + data_offset)
    assert ticks[first] == pytest.approx(stimulus.data_start + phase), (phase, start)
    assert np.allclose(seen[first:first + 400], cells.sum(axis=(1, 2)), atol=5)


# --- the command set and the emulated generator -----------------------------------------

@pytest.mark.parametrize("line, header, channel", [
    (b"SOURce2:FUNCtion:ARBitrary:SRATe 1000", "FUNC:ARB:SRAT", 2),
    (b"sour1:func:arb:srat?", "FUNC:ARB:SRAT?", 1),
    (b"FUNC ARB", "FUNC", 1),
    (b"TRIGger3:SOURce EXT", "TRIG:SOUR", 3),
    (b"*IDN?", "*IDN?", 1),
])
def test_scpi_headers_long_short_and_channel(line, header, channel):
    command = C.parse(line)
    assert (command.header, command.channel) == (header, channel)


@pytest.mark.parametrize("line", [b"SOUR1:WIBBLE 3", b"DATA2:ARB x", b":"])
def test_unknown_headers_are_refused(line):
    with pytest.raises(C.ScpiError):
        C.parse(line)


def test_dac_codes_round_trip_within_one_step():
    volts = np.linspace(-0.004, 0.006, 1001)
    codes = C.to_dac(volts, 0.010, 0.001)
    assert np.abs(C.from_dac(codes, 0.010, 0.001) - volts).max() <= 0.010 / 2 / C.DAC_MAX


def _run(awg: EmulatedAwg, line: bytes, payload: bytes | None = None):
    return awg.execute(C.parse(line, payload))


def test_emulated_generator_plays_its_waveform_on_one_trigger_and_the_other_follows():
    first, second = EmulatedAwg(2), EmulatedAwg(2)
    wire([first, second])
    codes = np.array([0, 1000, 2000, 3000, 4000, 5000, 6000, 7000], "<i2")
    for awg, source in ((first, "BUS"), (second, "EXT")):
        _run(awg, b"FORM:BORD SWAP")
        line, payload, rest = split_command(C.upload(1, "W", codes))
        assert rest == b""
        _run(awg, line, payload)
        for text in C.setup(1, "W", 1000.0, 1.0, 0.0, filt="NORM") + C.arm(1, source):
            _run(awg, text.encode())
        assert _run(awg, b"SYST:ERR?") == '0,"No error"'
    _run(first, b"OUTP:TRIG ON")
    t = np.array([0.0, 2.5e6, 1e9])  # ns after the trigger
    assert np.allclose(first.volts(t)[:, 0], 0.0) and np.allclose(second.volts(t)[:, 0], 0.0)
    first.fire("BUS", 0)  # the idle level was the first point; now it plays, interpolated
    expected = C.from_dac(np.array([0, 2500, 7000]), 1.0, 0.0)
    assert np.allclose(first.volts(t)[:, 0], expected)
    assert np.allclose(second.volts(t)[:, 0], expected)  # fired through the trigger cable
    assert np.allclose(first.volts(t)[:, 1], 0.0)  # channel 2 is off


@pytest.mark.parametrize("line, code", [
    (b"SOUR1:VOLT 20", -222), (b"SOUR1:FUNC:ARB NOPE", -224), (b"SOUR9:FUNC ARB", -113),
    (b"SOUR1:FUNC:ARB:SRAT fast", -104), (b"TRIG1:SOUR WHENEVER", -224),
])
def test_emulated_generator_refusals_are_queued(line, code):
    awg = EmulatedAwg(4)
    assert _run(awg, line) is None
    assert _run(awg, b"SYST:ERR?").startswith(f"{code},")


def test_every_dialogue_of_the_pyvisa_sim_description_is_answered_alike_by_the_emulator():
    device = yaml.safe_load(AWG_YAML.read_text())["devices"]["awg"]
    manager = pyvisa.ResourceManager(f"{AWG_YAML}@sim")
    sim = manager.open_resource("TCPIP::127.0.0.1::5025::SOCKET", read_termination="\n",
                                write_termination="\n")
    emulated = EmulatedAwg(2)
    _run(emulated, b"SOUR1:DATA:ARB:DAC W", b"\x00" * 16)  # so that FUNC:ARB has a waveform
    checked = 0
    for dialogue in device["dialogues"]:
        reply = _run(emulated, dialogue["q"].encode())
        if "r" in dialogue and dialogue["q"] != "*IDN?":
            assert reply == sim.query(dialogue["q"]) == dialogue["r"]
        assert _run(emulated, b"SYST:ERR?") == '0,"No error"', dialogue["q"]
        checked += 1
    for prop in device["properties"].values():
        setter = prop["setter"]["q"].replace("{:f}", "2.0").replace("{:s}", "ARB")
        _run(emulated, setter.encode())
        assert _run(emulated, b"SYST:ERR?") == '0,"No error"', setter
        assert _run(emulated, prop["getter"]["q"].encode()) is not None
        checked += 1
    assert checked == len(device["dialogues"]) + len(device["properties"])
    manager.close()


def test_driver_counts_channels_on_the_pyvisa_sim_generator():
    awg = Awg(SIM_URL)
    try:
        assert awg.identity.startswith("FORCEBENCH,AWG2-SIM") and awg.channels == 2
        awg.write("SOUR1:VOLT 20")  # out of the described range
        with pytest.raises(StimulusError, match="refused"):
            awg.check("the amplitude")
    finally:
        awg.close()


def test_generators_over_tcp_load_arm_and_refuse_too_many_cells():
    rig = EmulatorProcess("awg", ["--instruments", "1", "--channels", "4", "--plates", "1"], 5.0)
    try:
        urls = [rig.address]
        generators = Generators(urls, 5.0)
        try:
            assert [c for _, c in generators.outputs] == [1, 2, 3, 4]
            with pytest.raises(StimulusError, match="needs 8 outputs"):
                generators.load(np.zeros((100, 8)), 1000.0)
            generators.load(np.zeros((100, 4)), 1000.0)
            generators.arm()
            assert generators.fire() > 0
        finally:
            generators.close()
    finally:
        rig.close()


def test_an_unreachable_generator_is_one_clear_error():
    with pytest.raises(StimulusError, match="TCPIP::127.0.0.1::1::SOCKET"):
        Awg("TCPIP::127.0.0.1::1::SOCKET", timeout=1.0)


# --- replay through the chain -----------------------------------------------------------

def _replay(tmp_path, capsys, stimulus, *extra, scenario_text=ONE_CMJ):
    scenario = tmp_path / "one.toml"
    scenario.write_text(scenario_text)
    out_dir = tmp_path / stimulus.replace(":", "_").replace(",", "_")
    status = main(["replay", str(scenario), "--stimulus", stimulus, "--report", str(out_dir),
                   "--no-plots", *extra])  # plots: tests/test_replay.py
    out, err = capsys.readouterr()
    return status, out, err, (json.loads((out_dir / "report.json").read_text())
                              if (out_dir / "report.json").exists() else None)


def test_replay_through_the_emulated_stimulus_chain_meets_the_spec(tmp_path, capsys):
    status, out, err, record = _replay(tmp_path, capsys, "emulated-awg")
    assert status == 0, out + err
    (trial,) = record["trials"]
    assert trial["status"] == "pass", trial["checks"]
    (played,) = record["plate"]["stimulus"]
    # a true clock, measured to a quarter sample at each marker: ±0.25 sample over ~6000
    assert abs(played["alignment"]["clock_ppm"]) < 60, played
    compute, samples = record["latency"]["compute"], record["latency"]["sample"]
    assert compute["count"] == 1 and 0 < compute["p50_s"] < 0.5  # stimulus out → result
    assert compute["start"] == "last needed sample out of the stimulus"
    assert samples["count"] > 4000  # every data sample timed from stimulus out
    assert samples["measurable"], samples["note"]  # none before it left: the alignment is causal
    # stimulus out is when the generators fired (their announcement), not the host's *TRG
    assert played["trigger"]["from"] == "generator" and played["trigger"]["trip_ms"] >= 0, played
    assert "compute latency (last needed sample out of the stimulus → result returned)" in out


def test_a_front_end_with_a_wrong_gain_and_a_clock_off_by_200_ppm_is_caught_for_each(tmp_path, capsys):
    """Both defects in one run (one run costs real time); each is found by its own check."""
    status, out, err, record = _replay(tmp_path, capsys, "emulated-awg:gain_error=0.02,clock_ppm=200")
    assert status == 1, out + err
    assert any("body_weight_n" in reason for reason in record["reasons"]), record["reasons"]
    (played,) = record["plate"]["stimulus"]
    assert played["alignment"]["clock_ppm"] == pytest.approx(200, abs=60), played  # the clock
    assert any(reason.startswith("plate clock +") and "limit ±100 ppm" in reason
               for reason in record["reasons"]), record["reasons"]


@pytest.mark.parametrize("extra, message", [
    (["--fast"], "real time"),
    (["--plate", "emulated"], "leave out --plate"),
    (["--bridge", "volts=3"], "bridge"),
])
def test_stimulus_misuse_is_one_line_and_exit_2(tmp_path, capsys, extra, message):
    status, out, err, _ = _replay(tmp_path, capsys, "emulated-awg", *extra)
    assert status == 2 and message in err and len(err.strip().splitlines()) == 1


def test_a_text_line_plate_is_replayed_through_the_stimulus(tmp_path, capsys):
    """The rig's microcontroller prints the plate file's lines; the text driver reads them."""
    plate_file = ROOT / "fixtures" / "plates" / "text-dual-ads1256.toml"
    status, out, err, record = _replay(tmp_path, capsys, "emulated-awg", "--plate",
                                       f"emulated+text:{plate_file}")
    assert status == 0, out + err
    assert record["trials"][0]["status"] == "pass" and record["frames"]["lost"] == 0
    assert "text plate" in record["plate"]["identity"] or "DIY" in record["plate"]["identity"]


def test_real_generators_need_the_plate_they_feed(tmp_path, capsys):
    status, out, err, _ = _replay(tmp_path, capsys, "TCPIP::127.0.0.1::1::SOCKET")
    assert status == 2 and "--plate" in err


FAULTS = ONE_CMJ.replace("[check]\n", '[check]\nexpect_issues = ["gap", "dead_cell"]\n') + """
options = {{ duration_s = 4.2 }}
[[faults]]
kind = "drop"
rate = 0.004
plate = 1
[[faults]]
kind = "dead_cell"
plate = 0
cell = 2
at = {dead}
[[faults]]
kind = "stall"
at = {stall}
for = 0.3
"""


def test_the_emulated_front_end_injects_a_scenarios_faults_where_the_scenario_puts_them(tmp_path, capsys):
    """Faults timed in the scenario's stream time land there although the plate's stream
    begins with the stimulus's lead-in; what the front end drops is exactly what is lost."""
    dead, stall = 1.25, 2.5
    status, out, err, record = _replay(tmp_path, capsys, "emulated-awg",
                                       scenario_text=FAULTS.format(dead=dead, stall=stall))
    frames = record["frames"]
    assert frames["dropped_by_fault"] > 5 and frames["lost"] == frames["dropped_by_fault"], frames
    assert frames["received"] == frames["sent"] and frames["corrupt"] == 0, frames
    issues = {}
    for issue in record["acquisition_issues"]:
        issues.setdefault(issue["code"], []).append(issue)
    (cell,) = issues["dead_cell"]
    assert "plate 0 cell 2" in cell["message"] and cell["start_s"] == pytest.approx(dead, abs=0.0015)
    (stalled,) = issues["stall"]
    assert stalled["start_s"] == pytest.approx(stall, abs=0.02), stalled
    assert all("plate 1" in gap["message"] for gap in issues["gap"])
    (trial,) = record["trials"]  # told of them at its own times (it starts the stream)
    assert trial["start_sample"] == 0 and trial["status"] == "flagged", trial["notes"]
    assert [i["start_s"] for i in trial["acquisition_issues"] if i["code"] == "dead_cell"] == [dead]
    inside = [g for g in issues["gap"] if 0 <= g["start_s"] < trial["samples"] / 1000]
    assert inside  # and those in the stimulus's lead-in or lead-out belong to no trial
    assert [i["start_s"] for i in trial["acquisition_issues"] if i["code"] == "gap"] == [
        g["start_s"] for g in inside]
    # the seed drops the stream samples it drops on a plate streaming the scenario itself
    plain = EmulatedPlate(builtin_source(), parse_faults(["drop:rate=0.004,plate=1"]))
    hit = plain._chance("drop", 1, np.arange(trial["samples"]))
    runs = np.flatnonzero(hit & ~np.concatenate(([False], hit[:-1])))
    assert [g["start_s"] for g in inside] == pytest.approx(list(runs / 1000), abs=1e-9)
    assert status == 1 and record["reasons"] == [
        "nothing verified: 0 of 1 trials scored (1 flagged by acquisition, 0 failed)"], out + err


def test_the_rigs_text_front_end_counts_its_line_faults_as_a_text_plate_does():
    """Lines dropped, garbled and reordered by the rig's text front end (no stimulus needed:
    they are drawn per line) arrive as the text driver counts them, exactly."""
    plate_file = ROOT / "fixtures" / "plates" / "text-dual-ads1256.toml"
    _, plate = emulated_rig("emulated-awg", 2, 1000.0, 5.0, f"emulated+text:{plate_file}",
                            parse_faults(["drop:0.01", "corrupt:0.01", "reorder:0.01"]))
    with plate:
        plate.tare()
        with Acquisition(plate) as acquisition:
            plate.start()
            rows = 0
            for block in acquisition.blocks(timeout=2.0):
                rows += block.force.shape[0]
                if rows >= 1500:
                    break
            acquisition.stop()  # and the lines sent before the stop took effect
        stats, injected = acquisition.stats, plate.injected
    assert min(injected["dropped"], injected["garbled"], injected["reordered"]) > 0, injected
    missing = injected["dropped"] + injected["garbled"] + injected["reordered"]
    assert stats.lost == 2 * (missing - injected["unseen"]), (stats, injected)
    assert stats.corrupt == injected["garbled"] and stats.late == 2 * injected["reordered"]


@pytest.mark.parametrize("stimulus, plate, fault, message", [
    ("TCPIP::127.0.0.1::1::SOCKET", "/dev/null", "drop", "real generators"),
    ("emulated-awg", f"emulated+text:{ROOT / 'fixtures' / 'plates' / 'text-dual-ads1256.toml'}",
     "slip", "a text plate cannot inject 'slip'"),
    ("emulated-awg", None, "reorder", "reorder applies to text plates only"),
])
def test_faults_a_stimulus_run_cannot_inject_are_refused_before_anything_starts(
        tmp_path, capsys, stimulus, plate, fault, message):
    text = ONE_CMJ + f'[[faults]]\nkind = "{fault}"\nrate = 0.01\n'
    status, out, err, record = _replay(tmp_path, capsys, stimulus,
                                       *(["--plate", plate] if plate else []), scenario_text=text)
    assert status == 2 and message in err and len(err.strip().splitlines()) == 1, err
    assert record is None
