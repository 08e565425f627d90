"""Lab file formats (fixtures/formats: real files or faithfully made ones, see its SOURCE.txt)."""
import gzip
import json
import subprocess
import sys

import numpy as np
import pytest

from conftest import ROOT
from hil.analysis import AnalysisInputError, analyse
from hil.analysis.readers import Selection, load, parse, sniff

FORMATS_DIR = ROOT / "fixtures" / "formats"
REAL_DIR = ROOT / "fixtures" / "real-other"  # shared/data/real-other, licences there
GIDIEL = REAL_DIR / "gidiel_machado_vj" / "Dual-CMJ-Fz.txt"
VISUAL3D = REAL_DIR / "jumpmetrics" / "raw" / "F02_CTRL2_filtered.txt.gz"
HEADERLESS = REAL_DIR / "jumpmetrics" / "raw" / "cmj_example.txt.gz"
REPORTER = REAL_DIR / "jumpmetrics" / "reporter_800hz" / "cmj_jumpmetrics_converted.csv.gz"
OPENSIM = REAL_DIR / "opensim_running_grf" / "runningModel_GRF_data.mot"
TIMEOUT_S = 60


def fixture(name: str) -> str:
    return str(FORMATS_DIR / name)


def gidiel_plates() -> np.ndarray:
    return np.loadtxt(GIDIEL, skiprows=1)


@pytest.mark.parametrize("path, form", [
    (FORMATS_DIR / "kistler_cmj_1plate_head.txt", "kistler"),
    (FORMATS_DIR / "kistler_dj_2plates_head.txt", "kistler"),
    (OPENSIM, "opensim"),
    (GIDIEL, "text"),
    (FORMATS_DIR / "c3d_2plates_head.c3d", "c3d"),
])
def test_format_is_found_from_the_content(path, form):
    assert sniff(path.read_bytes()) == form


@pytest.mark.parametrize("path, form", [(FORMATS_DIR / "vicon_nexus_cmj_2plates.csv.gz", "vicon"),
                                        (VISUAL3D, "visual3d"), (HEADERLESS, "text"), (REPORTER, "text")])
def test_gzipped_files_are_found_after_decompressing(path, form):
    assert sniff(gzip.decompress(path.read_bytes())) == form


@pytest.mark.parametrize("path, rate, form, shape", [
    ("jumpmetrics/raw/cmj_example.txt.gz", 2000.0, "headerless export, 2 plate", (40000, 2)),
    ("jumpmetrics/raw/sqj_example.txt.gz", 1000.0, "headerless export, 2 plate", (20000, 2)),
    ("jumpmetrics/raw/FHOC_P30_SQT300007.txt.gz", 1000.0, "headerless export, 2 plate", (20000, 2)),
    *[(f"jumpmetrics/raw/{trial}_filtered.txt.gz", 2000.0, "Visual3D export; force FZsum", None)
      for trial in ("F02_CTRL2", "F04_CTRL2", "M06_CTRL3", "M07_CTRL1", "M15_CTRL1")],
    ("jumpmetrics/reporter_800hz/cmj_jumpmetrics_converted.csv.gz", None, "force Total Force [N]", (6738,)),
    *[(f"gidiel_machado_vj/Dual-{test}-Fz.txt", 1000.0, "left = FP1, right = FP2", (5000, 2))
      for test in ("CMJ", "DJ", "SJ")],
    ("opensim_running_grf/runningModel_GRF_data.mot", None, "as named in the file", (691, 2)),
    ("opensim_running_grf/subject02_grf_HiFreq.mot", None, "600 Hz (from the time column)", (439, 2)),
])
def test_every_shared_real_recording_reads(path, rate, form, shape):
    recording = load(str(REAL_DIR / path), rate)
    assert form in recording.description
    assert shape is None or recording.force.shape == shape
    assert np.isfinite(recording.force).all() and recording.force.max() > 500.0  # someone on the plate


def test_kistler_one_plate_rate_and_units_from_the_header():
    recording = load(fixture("kistler_cmj_1plate_head.txt"))
    assert recording.rate_hz == 1000.0 and "stated in the file" in recording.description
    assert recording.force.shape == (30,)
    assert recording.force[0] == pytest.approx(670.500366)
    assert recording.force[-1] == pytest.approx(664.950157)


def test_kistler_two_plates_numbered_by_device_and_sides_are_an_option():
    recording = load(fixture("kistler_dj_2plates_head.txt"))
    assert recording.force.shape == (20, 2)
    assert recording.force[0].tolist() == pytest.approx([7.819648, 706.158540])
    swapped = load(fixture("kistler_dj_2plates_head.txt"), selection=Selection(first_plate="right"))
    assert swapped.force[0].tolist() == pytest.approx([706.158540, 7.819648])
    total = load(fixture("kistler_dj_2plates_head.txt"), selection=Selection(force="Fz1+Fz2"))
    assert total.force[0] == pytest.approx(7.819648 + 706.158540)
    with pytest.raises(AnalysisInputError, match="disagrees"):
        load(fixture("kistler_dj_2plates_head.txt"), rate_hz=500.0)


def test_files_cut_short_of_their_stated_length_are_refused():
    kistler = (FORMATS_DIR / "kistler_cmj_1plate_head.txt").read_bytes()
    with pytest.raises(AnalysisInputError, match="the header says 8000 samples, the file holds 30"):
        parse(kistler.replace(b"Samples (#):\t30\t30\t30", b"Samples (#):\t8000\t8000\t8000"))
    opensim = OPENSIM.read_bytes()
    with pytest.raises(AnalysisInputError, match="the header says 691 rows, the file holds 690"):
        parse(opensim[:opensim.rstrip().rfind(b"\n")])


def test_visual3d_export_needs_the_rate_and_reads_the_summed_column():
    with pytest.raises(AnalysisInputError, match="sample rate unknown: give --rate"):
        load(str(VISUAL3D))
    recording = load(str(VISUAL3D), rate_hz=2000.0)
    assert recording.force.shape == (3961,)
    assert recording.force[0] == pytest.approx(723.380737)
    filtered = load(str(VISUAL3D), 2000.0, selection=Selection(force="FZsum_10Hz"))
    assert filtered.force[0] == pytest.approx(723.235413)


def test_headerless_six_channels_per_plate_gzipped():
    recording = load(str(HEADERLESS), rate_hz=2000.0)
    assert recording.force.shape == (40000, 2)
    assert recording.force[0].tolist() == pytest.approx([-0.70688, -1.74332])  # FZ1, FZ2
    by_number = load(str(HEADERLESS), 2000.0, selection=Selection(force="3+9"))
    np.testing.assert_allclose(by_number.force, recording.force.sum(axis=1))


def test_csv_with_units_in_the_header_takes_the_rate_from_its_time_column():
    recording = load(str(REPORTER))
    assert recording.rate_hz == pytest.approx(800.0, rel=1e-6)
    assert recording.force.shape == (6738,)
    assert recording.force[0] == pytest.approx(844.237)


def test_two_plate_columns_named_per_plate():
    recording = load(str(GIDIEL), rate_hz=1000.0)
    np.testing.assert_array_equal(recording.force, gidiel_plates())


def test_vicon_devices_block_rate_from_header_and_load_sign():
    recording = load(fixture("vicon_nexus_cmj_2plates.csv.gz"))
    assert recording.rate_hz == 1000.0
    np.testing.assert_allclose(recording.force, gidiel_plates(), atol=1e-5)
    with pytest.raises(AnalysisInputError, match="add --flip"):
        load(fixture("vicon_nexus_cmj_2plates.csv.gz"), selection=Selection(flip=True))


def _vicon(rows: list[str]) -> bytes:
    head = ["Devices", "1000", ",,Kistler #1 - Force,,,Kistler #1 - Moment,,",
            "Frame,Sub Frame,Fx,Fy,Fz,Mx,My,Mz", ",,N,N,N,N.mm,N.mm,N.mm"]
    return "\n".join(head + rows).encode()


def test_vicon_missing_frames_and_missing_block_are_refused():
    rows = [f"{f},{s},0,0,-700,0,0,0" for f in (1, 2) for s in range(10)]
    assert parse(_vicon(rows)).force.tolist() == [700.0] * 20
    with pytest.raises(AnalysisInputError, match="frame 2.1 does not follow 1.8: samples are missing"):
        parse(_vicon(rows[:9] + rows[11:]))
    with pytest.raises(AnalysisInputError, match="without a Devices block"):
        parse(b"Trajectories\n100\n,,A:B,,\nFrame,Sub Frame,X,Y,Z\n,,mm,mm,mm\n1,0,1,2,3\n", fmt="vicon")


def test_opensim_sides_as_named_and_rate_from_time():
    recording = load(str(OPENSIM))
    assert recording.rate_hz == pytest.approx(1000.0)
    assert recording.force.shape == (691, 2)
    assert "left = L_ground_force_vy, right = R_ground_force_vy" in recording.description
    assert recording.force[:, 1].max() == pytest.approx(1950, abs=60)  # the right stance, ~1.95 kN


def test_opensim_numbered_plates_and_a_stated_rate():
    text = ("forces\nversion=1\nnRows=3\nnColumns=3\nDataRate=500.000000\nendheader\n"
            "time\tground_force_vy\t1_ground_force_vy\n0.0\t10\t20\n0.002\t11\t21\n0.004\t12\t22\n")
    recording = parse(text.encode())
    assert recording.rate_hz == 500.0 and recording.force[0].tolist() == [10.0, 20.0]
    assert parse(text.encode(), selection=Selection(first_plate="right")).force[0].tolist() == [20.0, 10.0]
    with pytest.raises(AnalysisInputError, match="disagrees"):
        parse(text.replace("DataRate=500", "DataRate=400").encode())


def test_c3d_plates_scales_and_rate():
    pytest.importorskip("ezc3d")
    recording = load(fixture("c3d_2plates_head.c3d"))
    assert recording.rate_hz == 1000.0
    assert "2 force platform(s) (type 2)" in recording.description
    # stored as ADC counts ÷ ANALOG:SCALE; read back scaled to within float32 precision
    np.testing.assert_allclose(recording.force, gidiel_plates()[:1500], atol=1e-3)


def test_c3d_cut_short_or_without_platforms_is_one_line(tmp_path):
    ezc3d = pytest.importorskip("ezc3d")
    data = (FORMATS_DIR / "c3d_2plates_head.c3d").read_bytes()
    with pytest.raises(AnalysisInputError, match="C3D file is cut short: its header says 150 frames, "
                                                 "the data hold 36"):
        parse(data[:20000])
    markers_only = ezc3d.c3d()
    markers_only["parameters"]["POINT"]["RATE"]["value"] = [100]
    markers_only["parameters"]["POINT"]["LABELS"]["value"] = ("LASI",)
    markers_only["data"]["points"] = np.ones((4, 1, 10))
    markers_only.write(str(tmp_path / "markers.c3d"))
    with pytest.raises(AnalysisInputError, match="C3D file without force platforms"):
        load(str(tmp_path / "markers.c3d"))


def test_c3d_without_ezc3d_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "ezc3d", None)
    with pytest.raises(AnalysisInputError, match=r"needs ezc3d, the 'c3d' extra: pip install 'forcebench\[c3d\]'"):
        load(fixture("c3d_2plates_head.c3d"))


def test_the_same_recording_in_every_container_gives_the_same_metrics():
    direct = analyse(gidiel_plates(), 1000.0, "cmj").to_dict()
    vicon = load(fixture("vicon_nexus_cmj_2plates.csv.gz"))
    via = analyse(vicon.force, vicon.rate_hz, "cmj").to_dict()
    assert direct["metrics"] and via["metrics"].keys() == direct["metrics"].keys()
    for name, value in direct["metrics"].items():
        assert via["metrics"][name] == pytest.approx(value, rel=1e-6, abs=1e-9), name


@pytest.mark.parametrize("plain, rate", [(FORMATS_DIR / "kistler_dj_2plates_head.txt", None),
                                         (OPENSIM, None), (GIDIEL, 1000.0)])
def test_gzip_of_any_format_reads_the_same(plain, rate, tmp_path):
    packed = tmp_path / (plain.name + ".gz")
    packed.write_bytes(gzip.compress(plain.read_bytes()))
    np.testing.assert_array_equal(load(str(packed), rate).force, load(str(plain), rate).force)


def test_broken_gzip_is_one_line(tmp_path):
    path = tmp_path / "broken.txt.gz"
    path.write_bytes(gzip.compress(b"1\n2\n" * 1000)[:40])
    with pytest.raises(AnalysisInputError, match="broken gzip data"):
        load(str(path), 1000.0)


@pytest.mark.parametrize("data, message", [
    (b"time,fz\n0,700\n0.001,701\nnan,702\n", "time column holds nan at sample 3"),
    (b"time,fz\n0,700\n1,701\n2,702\n", "sample rate 1 Hz .* is outside 10 Hz – 100 kHz"),
    (b"time,fz\n0,700\n0.001,3e6\n0.002,702\n", "force of 3e\\+06 N at t=0.001 s is outside ±100 kN"),
    (b"time,fz\n0,-700\n0.001,-701\n0.002,-650\n", "mostly negative \\(min -701.0 N, max -650.0 N\\): if the file .* add --flip"),
    (b"time,fz [V]\n0,1\n0.001,2\n", "'fz \\[V\\]' is in 'V', not a force unit"),
    (b"time [h],fz\n0,1\n0.001,2\n", "not a time unit"),
    (b"1,2,3,4,5,6,7\n1,2,3,4,5,6,7\n", "7 columns and no header row \\(add one.*--force COLUMN"),
    (b"time,fz1,fz2,fz3\n0,1,2,3\n0.001,1,2,3\n", "3 plates .*--force fz1\\+fz2"),
    (b"time,speed\n0,1\n0.001,2\n", "has no force column.*--force COLUMN .*\\(columns: time, speed\\)"),
])
def test_physically_impossible_or_ambiguous_input_is_one_line(data, message):
    with pytest.raises(AnalysisInputError, match=message) as caught:
        parse(data)
    assert "\n" not in str(caught.value)


def test_left_right_combined_export():
    recording = parse(b"Time(s),Left(N),Right(N),Combined(N)\n0,300,400,700\n0.001,301,401,702\n")
    assert recording.force.tolist() == [[300.0, 400.0], [301.0, 401.0]]
    assert parse(b"Time(s),Combined(N)\n0,700\n0.001,702\n").force.tolist() == [700.0, 702.0]


def test_headerless_time_and_force_by_column_number():
    recording = parse(b"0.000,700\n0.001,701\n0.002,702\n", selection=Selection(time="1", force="2"))
    assert recording.force.tolist() == [700.0, 701.0, 702.0] and recording.rate_hz == pytest.approx(1000.0)


def test_units_in_the_header_are_converted():
    recording = parse(b"time [ms],Fz [kN]\n0,0.7\n1,0.8\n2,0.9\n")
    assert recording.rate_hz == pytest.approx(1000.0)
    np.testing.assert_allclose(recording.force, [700.0, 800.0, 900.0])


@pytest.mark.parametrize("selection, expected", [
    (Selection(force="-a"), [-1.0, -2.0]),
    (Selection(force="a - b"), [-9.0, -18.0]),
    (Selection(force="2+3"), [11.0, 22.0]),
    (Selection(left="a", right="3"), [[1.0, 10.0], [2.0, 20.0]]),
    (Selection(force="a", flip=True), [-1.0, -2.0]),
])
def test_column_choices(selection, expected):
    data = b"t,a,b\n0,1,10\n0.001,2,20\n"
    assert parse(data, selection=selection).force.tolist() == expected


@pytest.mark.parametrize("selection, message", [
    (Selection(left="a"), "--left and --right go together"),
    (Selection(force="a", left="a", right="b"), "either --force or --left/--right"),
    (Selection(force="c"), "no column 'c' \\(columns: t, a, b\\)"),
    (Selection(force="a+9"), "no column '9'"),
    (Selection(time="b", force="a"), "non-uniform|does not increase"),
])
def test_bad_column_choices(selection, message):
    with pytest.raises(AnalysisInputError, match=message):
        parse(b"t,a,b\n0,1,10\n0.001,2,20\n0.002,3,15\n", selection=selection)


def test_forcing_a_format_that_does_not_fit_is_one_line():
    with pytest.raises(AnalysisInputError, match="BioWare export without an 'abs time' column row"):
        parse(b"time,fz\n0,1\n0.001,2\n", fmt="kistler")
    with pytest.raises(AnalysisInputError, match="unknown format 'xls'"):
        parse(b"1\n2\n", 1000.0, fmt="xls")


def _forcebench(*args):
    return subprocess.run([sys.executable, "-m", "hil.cli", "analyse", *map(str, args)],
                          capture_output=True, timeout=TIMEOUT_S)


def test_cli_reads_a_vicon_export_and_says_what_it_read():
    done = _forcebench(fixture("vicon_nexus_cmj_2plates.csv.gz"), "--test", "cmj", "--json")
    assert done.returncode == 0, done.stderr
    record = json.loads(done.stdout)
    assert record["sample_rate_hz"] == 1000.0 and "peak_force_asym_pct" in record["metrics"]
    table = _forcebench(fixture("vicon_nexus_cmj_2plates.csv.gz"), "--test", "cmj", "--first-plate", "right")
    first = table.stdout.decode().splitlines()[0]
    assert "Vicon Nexus CSV" in first and "left = Fz2, right = Fz1" in first and "1000 Hz (stated" in first
    flipped = json.loads(_forcebench(fixture("vicon_nexus_cmj_2plates.csv.gz"), "--test", "cmj", "--json",
                                     "--first-plate", "right").stdout)
    assert flipped["metrics"]["peak_force_asym_pct"] == pytest.approx(
        -record["metrics"]["peak_force_asym_pct"], abs=1e-9)


def test_cli_bad_column_choice_exits_2_with_one_line():
    done = _forcebench(str(HEADERLESS), "--test", "cmj", "--rate", 2000,
                       "--force", "FZ7")
    assert done.returncode == 2 and done.stdout == b""
    lines = done.stderr.decode().strip().splitlines()
    assert len(lines) == 1 and "no column 'FZ7'" in lines[0]


def test_spreadsheet_padding_and_decimal_commas():
    padded = parse(b"time,fz,,\r\n0,700,,\r\n0.001,701,,\r\n")
    assert padded.force.tolist() == [700.0, 701.0] and padded.rate_hz == pytest.approx(1000.0)
    assert parse(b"1,2,3,4,5,6,\n1,2,3,4,5,6,\n", 1000.0).force.tolist() == [3.0, 3.0]
    with pytest.raises(AnalysisInputError, match="'700,5' in column fz is not a number \\(a decimal comma"):
        parse(b"time;fz\n0;700,5\n0,001;701\n")


def test_visual3d_missing_frames_are_refused():
    text = gzip.decompress(VISUAL3D.read_bytes()).split(b"\n")
    del text[20]
    with pytest.raises(AnalysisInputError, match="frame 17 does not follow 15: samples are missing"):
        parse(b"\n".join(text), 2000.0)


def test_cli_reads_gzip_and_c3d_from_standard_input():
    packed = REPORTER.read_bytes()
    done = subprocess.run([sys.executable, "-m", "hil.cli", "analyse", "-", "--test", "cmj", "--json"],
                          input=packed, capture_output=True, timeout=TIMEOUT_S)
    assert done.returncode in (0, 3), done.stderr
    assert json.loads(done.stdout)["sample_rate_hz"] == pytest.approx(800.0, rel=1e-6)
    pytest.importorskip("ezc3d")
    done = subprocess.run([sys.executable, "-m", "hil.cli", "analyse", "-", "--test", "cmj", "--json"],
                          input=(FORMATS_DIR / "c3d_2plates_head.c3d").read_bytes(), capture_output=True,
                          timeout=TIMEOUT_S)
    assert done.returncode in (0, 3), done.stderr
    assert json.loads(done.stdout)["sample_rate_hz"] == 1000.0
