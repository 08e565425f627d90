"""Reading recordings for ``forcebench analyse``: formats, rates and every way input can be bad."""
import io
import sys

import numpy as np
import pytest

from hil.analysis import AnalysisInputError
from hil.analysis.readers import load, parse
from hil.analysis.readers import source as recording_io


def _csv(header: str, rows: np.ndarray, delimiter: str = ",") -> bytes:
    lines = [header] + [delimiter.join(f"{v:.6f}" for v in row) for row in rows]
    return ("\n".join(lines) + "\n").encode()


def test_plain_text_one_value_per_line(real_dir):
    recording = load(str(real_dir / "subject01_trial1.force.txt"), 1200.0)
    assert recording.force.shape == (6000,)
    assert recording.force[0] == pytest.approx(584.3485)
    assert recording.rate_hz == 1200.0


@pytest.mark.parametrize("delimiter", [",", "\t", ";"])
@pytest.mark.parametrize("header", ["time,fz", "T,Force", "time_s,FZ_TOTAL"])
def test_delimited_with_time_column_gives_the_rate(delimiter, header):
    time = np.arange(500) / 1000.0
    force = 700 + np.sin(time)
    data = _csv(header.replace(",", delimiter), np.column_stack([time, force]), delimiter)
    recording = parse(data)
    assert recording.rate_hz == pytest.approx(1000.0, rel=1e-9)
    np.testing.assert_allclose(recording.force, force, atol=1e-6)


@pytest.mark.parametrize("header", ["Time,Left,RIGHT", "t,fz_left,fz_right", "time_s,FZ_LEFT,right"])
def test_two_plates_are_kept_apart_and_total_column_not_needed(header):
    rows = np.column_stack([np.arange(100) / 500.0, np.full(100, 300.0), np.full(100, 400.0)])
    recording = parse(_csv(header, rows))
    assert recording.force.shape == (100, 2)
    assert recording.force[0].tolist() == [300.0, 400.0]
    assert recording.rate_hz == pytest.approx(500.0)


def test_crlf_quotes_extra_columns_and_header_only_force():
    data = b'"time","fz","cop_x"\r\n0,1,9\r\n0.002,2,9\r\n0.004,3,9\r\n'
    recording = parse(data)
    assert recording.force.tolist() == [1.0, 2.0, 3.0]
    assert recording.rate_hz == pytest.approx(500.0)
    assert parse(b"\xef\xbb\xbftime;Fz\n0;1\n0.002;2\n").rate_hz == pytest.approx(500.0)  # BOM
    single = parse(b"Fz\n1\n2\n", rate_hz=100.0)
    assert single.force.tolist() == [1.0, 2.0]


def test_rate_from_option_and_time_column_must_agree():
    rows = np.column_stack([np.arange(100) / 1000.0, np.ones(100)])
    assert parse(_csv("time,fz", rows), rate_hz=1000.0).rate_hz == 1000.0
    with pytest.raises(AnalysisInputError, match="disagrees"):
        parse(_csv("time,fz", rows), rate_hz=1200.0)


@pytest.mark.parametrize("data, message", [
    (b"", "empty"),
    (b"\n \n", "empty"),
    (b"1\n2\nabc\n4\n", "line 3: 'abc' in column force is not a number"),
    (b"1\n2\n\n4\n", "line 3 is empty"),
    (b"1\n2 3\n4\n", "line 2"),
    (b"time,fz\n0,1\n0.001,x\n", "line 3: 'x' in column fz"),
    (b"time,fz\n0,1\n0.001\n", "line 3 has 1 fields"),
    (b"time,fz\n0,1\n0.001,2,3\n", "line 3 has 3 fields"),
    (b"time,fz\n0,1\n0.001,,\n", "line 3 has 3 fields"),
    (b"time,fz\n0,1\n0.001,\n", "line 3"),
    (b"time;fz\n0;1,5\n0.001;2\n", "line 2: '1,5'"),
    (b"0,1\n0.001,2\n", "no header row"),
    (b"time,speed\n0,1\n0.001,2\n", "no force column"),
    (b"time,fz_left\n0,1\n0.001,2\n", "both fz_left and fz_right"),
    (b"time,fz,fz\n0,1,1\n", "repeats"),
    (b"time,fz\n", "no samples"),
    (b"fz\n1\n2\n", "sample rate unknown"),
    (b"time,fz\n0,1\n0.001,2\n0.003,3\n0.004,4\n", "non-uniform time"),
    (b"time,fz\n0,1\n0,2\n", "does not increase"),
    (b"time,fz\n0,1\n", "at least two samples"),
])
def test_unusable_input_is_one_clear_line(data, message):
    with pytest.raises(AnalysisInputError, match=message) as caught:
        parse(data, rate_hz=None if b"time" in data or data.startswith(b"fz") else 1000.0)
    assert "\n" not in str(caught.value)


def test_bad_rate_option():
    with pytest.raises(AnalysisInputError, match="positive"):
        parse(b"1\n2\n", rate_hz=-5.0)
    with pytest.raises(AnalysisInputError, match="positive"):
        parse(b"1\n2\n", rate_hz=float("nan"))


def test_non_finite_text_values_reach_the_analysis_quality_checks():
    recording = parse(b"1\nnan\ninf\n4\n", rate_hz=10.0)
    assert np.isnan(recording.force[1]) and np.isinf(recording.force[2])


def test_huge_file_refused_from_its_size_before_reading(tmp_path, monkeypatch):
    monkeypatch.setattr(recording_io, "MAX_BYTES", 1000)
    path = tmp_path / "big.txt"
    path.write_bytes(b"600.0\n" * 200)
    with pytest.raises(AnalysisInputError, match="over the .* input limit"):
        load(str(path), 1000.0)


def test_huge_stdin_abandoned_past_the_limit(monkeypatch):
    monkeypatch.setattr(recording_io, "MAX_BYTES", 3 * 2**20)

    class Endless(io.RawIOBase):
        reads = 0

        def readable(self):
            return True

        def readinto(self, buffer):
            Endless.reads += 1
            buffer[:] = b"6" * len(buffer)
            return len(buffer)

    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BufferedReader(Endless())))
    with pytest.raises(AnalysisInputError, match="standard input: input is over"):
        load("-", 1000.0)
    assert Endless.reads < 100  # stopped soon after the limit, not at the end of a 2 GB pipe


def test_missing_file_and_directory(tmp_path):
    with pytest.raises(AnalysisInputError, match="cannot read .*No such file"):
        load(str(tmp_path / "absent.txt"), 1000.0)
    with pytest.raises(AnalysisInputError, match="cannot read"):
        load(str(tmp_path), 1000.0)
