"""The wire format: frames, CRC, the resynchronising decoder, blocks and commands."""
import binascii

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hil import protocol as P
from hil.emulator.device import DeviceError, EmulatedPlate
from hil.emulator.source import builtin_source

SIZE = P.frame_size()


def frames(n: int, seed: int = 0, start: int = 0) -> tuple[bytes, np.ndarray]:
    rng = np.random.default_rng(seed)
    counts = rng.integers(-2**31, 2**31, (n, P.CELLS), dtype=np.int64).astype(np.int32)
    return P.encode_frames(np.arange(n) % 2, start + np.arange(n) // 2, counts), counts


def test_frame_layout_and_crc_match_an_independent_crc():
    data, counts = frames(50)
    assert len(data) == 50 * SIZE == 50 * 26
    first = data[:SIZE]
    assert first[:2] == P.SYNC and first[2] == 0 and first[3] == P.CELLS
    assert int.from_bytes(first[4:8], "little") == 0
    assert np.frombuffer(first[8:24], "<i4").tolist() == counts[0].tolist()
    for i in range(50):  # binascii.crc_hqx with init 0xFFFF is CRC-16/CCITT-FALSE
        frame = data[i * SIZE:(i + 1) * SIZE]
        assert int.from_bytes(frame[-2:], "little") == binascii.crc_hqx(frame[2:-2], 0xFFFF)
    assert P.crc16(np.frombuffer(b"123456789", np.uint8)[None])[0] == 0x29B1  # the check value


def test_crc_small_and_vectorised_paths_agree():
    rows = np.random.default_rng(1).integers(0, 256, (200, 22), dtype=np.uint8)
    many = P.crc16(rows)  # the numpy table walk
    few = np.concatenate([P.crc16(rows[i:i + P.SMALL_BATCH]) for i in range(0, 200, P.SMALL_BATCH)])
    assert np.array_equal(many, few)


def test_decoder_round_trips_any_chunking():
    data, counts = frames(2000, seed=1)
    rng = np.random.default_rng(2)
    cuts = np.sort(rng.choice(len(data), 300, replace=False))
    decoder, got = P.FrameDecoder(), []
    for piece in np.split(np.frombuffer(data, np.uint8), cuts):
        decoded = decoder.feed(piece.tobytes())
        assert decoded.corrupt == decoded.resyncs == decoded.skipped_bytes == 0
        got.append(decoded.frames)
    got = np.concatenate(got)
    assert np.array_equal(got["counts"], counts) and decoder.tail == b""
    assert np.array_equal(got["counter"], np.arange(2000) // 2)


@pytest.mark.parametrize("damage, corrupt", [("flip", 1), ("delete", 1), ("insert", 1),
                                             ("sync", 0)])
def test_decoder_resynchronises_after_damage(damage, corrupt):
    data, counts = frames(100, seed=3)
    buf = bytearray(data)
    at = 40 * SIZE
    if damage == "flip":
        buf[at + 10] ^= 0x40
    elif damage == "delete":
        del buf[at + 12]
    elif damage == "insert":
        buf.insert(at + 12, 0x00)
    else:
        buf[at] ^= 0xFF  # the sync word itself
    decoded = P.decode_all(bytes(buf))
    assert decoded.frames.size == 99
    assert decoded.corrupt == corrupt and decoded.resyncs == 1
    kept = np.delete(counts, 40, axis=0)
    assert np.array_equal(decoded.frames["counts"], kept)


def test_resync_split_across_calls_counts_once_and_garbage_is_skipped():
    data, _ = frames(20, seed=4)
    garbage = bytes(range(1, 60))  # no sync word in it
    decoder = P.FrameDecoder()
    a = decoder.feed(data[:5 * SIZE] + garbage[:30])
    b = decoder.feed(garbage[30:] + data[5 * SIZE:])
    assert a.frames.size + b.frames.size == 20
    assert a.resyncs + b.resyncs == 1 and a.skipped_bytes + b.skipped_bytes == len(garbage)


def test_sync_word_inside_payload_does_not_confuse_the_decoder():
    counts = np.full((30, P.CELLS), int.from_bytes(b"\xa5\x5a\xa5\x5a", "little"), np.int64)
    data = P.encode_frames(0, np.arange(30), counts.astype(np.int32))
    decoded = P.decode_all(data[7:])  # start mid-frame too
    assert decoded.frames.size == 29 and decoded.resyncs == 1
    assert np.array_equal(decoded.frames["counter"], np.arange(1, 30))


def test_incomplete_frame_is_kept_as_tail_then_completed():
    data, _ = frames(3)
    decoder = P.FrameDecoder()
    assert decoder.feed(data[:SIZE + 10]).frames.size == 1
    assert decoder.tail == data[SIZE:SIZE + 10]
    assert decoder.feed(data[SIZE + 10:]).frames.size == 2


def test_counter_wraps_in_the_frame():
    data = P.encode_frames(0, np.array([2**32 - 1, 2**32, 2**32 + 1]), np.zeros((3, 4), np.int32))
    assert P.decode_all(data).frames["counter"].tolist() == [2**32 - 1, 0, 1]


def test_definite_length_blocks():
    payload = bytes(range(256)) * 5
    blk = P.block(payload)
    assert blk.startswith(b"#41280")
    header, length = P.block_length(blk[:6])
    assert blk[header:header + length] == payload
    assert P.block(b"") == b"#10" and P.block_length(b"#1") is None
    with pytest.raises(P.ProtocolError):
        P.block_length(b"12")


@pytest.mark.parametrize("name, args, serial, scpi", [
    ("identify", (), b"IDN?\n", b"*IDN?\n"),
    ("reset", (), b"RST\n", b"*RST\n"),
    ("rate", (500,), b"RATE 500.0\n", b"CONF:RATE 500.0\n"),
    ("rate?", (), b"RATE?\n", b"CONF:RATE?\n"),
    ("tare", (), b"TARE\n", b"CAL:TARE\n"),
    ("start", (), b"START\n", b"INIT\n"),
    ("stop", (), b"STOP\n", b"ABOR\n"),
    ("cal?", (1,), b"CAL? 1\n", b"CAL:CELL? 1\n"),
    ("cal", (0, 2, 0.5, 7), b"CAL 0 2 0.5 7.0\n", b"CAL:CELL 0,2,0.5,7.0\n"),
    ("status", (), b"STAT?\n", b"SYST:STAT?\n"),
    ("error", (), b"ERR?\n", b"SYST:ERR?\n"),
])
def test_command_spellings_round_trip(name, args, serial, scpi):
    assert P.format_command(name, *args, dialect="serial") == serial
    assert P.format_command(name, *args, dialect="scpi") == scpi
    typed = tuple(t(a) for t, a in zip(P.COMMANDS[name].args, args))
    assert P.parse_command(serial, "serial") == (name, typed)
    assert P.parse_command(scpi.lower(), "scpi") == (name, typed)  # SCPI ignores case


@pytest.mark.parametrize("line", [b"BOGUS\n", b"RATE\n", b"RATE fast\n", b"CAL 1 2\n"])
def test_malformed_commands_are_refused(line):
    with pytest.raises(P.ProtocolError):
        P.parse_command(line, "serial")


def test_fetch_has_no_serial_spelling():
    with pytest.raises(P.ProtocolError):
        P.format_command("fetch", dialect="serial")


# (command, reply) pairs against the device model both emulators share
PAIRS = [
    ("identify", (), lambda r: r.startswith("FORCEBENCH,FP2x4-EMU,")),
    ("rate?", (), lambda r: r == "1000"),
    ("rate", (250.0,), lambda r: r is None),
    ("rate?", (), lambda r: r == "250"),
    ("cal", (1, 3, 0.002, 55.0), lambda r: r is None),
    ("cal?", (1,), lambda r: P.parse_calibration(r)[0][3] == 0.002
     and P.parse_calibration(r)[1][3] == 55.0),
    ("status", (), lambda r: P.parse_status(r)["state"] == "idle"
     and P.parse_status(r)["plates"] == "2"),
    ("error", (), lambda r: P.parse_error(r) == (0, "No error")),
    ("start", (), lambda r: r is None),
    ("status", (), lambda r: P.parse_status(r)["state"] == "streaming"),
    ("stop", (), lambda r: r is None),
    ("reset", (), lambda r: r is None),
    ("rate?", (), lambda r: r == "1000"),
]


def test_device_command_reply_pairs():
    plate = EmulatedPlate(builtin_source())
    for name, args, check in PAIRS:
        assert check(plate.execute(name, args)), (name, args)


@pytest.mark.parametrize("name, args, code", [("rate", (5.0,), -222), ("cal?", (2,), -222),
                                              ("cal", (0, 4, 1.0, 0.0), -222),
                                              ("cal", (0, 0, -1.0, 0.0), -222)])
def test_device_refusals_carry_scpi_codes(name, args, code):
    plate = EmulatedPlate(builtin_source())
    with pytest.raises(DeviceError) as caught:
        plate.execute(name, args)
    assert caught.value.code == code


def test_device_is_busy_while_streaming():
    plate = EmulatedPlate(builtin_source())
    plate.execute("start", ())
    with pytest.raises(DeviceError) as caught:
        plate.execute("rate", (500.0,))
    assert caught.value.code == -200


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 200 * SIZE - 1), st.sampled_from(["flip", "del", "ins"]),
                          st.integers(1, 255)), max_size=8, unique_by=lambda d: d[0]),
       st.integers(7, 400))
def test_damage_never_yields_a_false_frame(damage, piece):
    """Whatever happens to the bytes, every frame decoded is one that was sent, in order, and
    only frames at the damage are missing."""
    data, counts = frames(200, seed=9)
    buf, touched = bytearray(data), set()
    for at, kind, value in sorted(damage, reverse=True):  # from the end: offsets stay valid
        touched.add(at // SIZE)
        if kind == "flip":
            buf[at] ^= value
        elif kind == "del":
            del buf[at]
        else:
            buf.insert(at, value)
    decoder, got = P.FrameDecoder(), []
    for i in range(0, len(buf), piece):
        got.append(decoder.feed(bytes(buf[i:i + piece])).frames)
    got = np.concatenate(got)
    index = got["counter"].astype(np.int64) * 2 + got["plate"]
    assert np.all(np.diff(index) > 0)
    assert np.array_equal(got["counts"], counts[index])
    # a byte lost or doubled at a frame's end may as well be the next frame's first
    assert set(range(200)) - set(index.tolist()) <= touched | {t + 1 for t in touched}
