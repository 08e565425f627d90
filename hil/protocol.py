"""The plate wire protocol: the one place that knows the bytes.

Sample frame (one per plate per sample, little-endian, packed; 26 bytes with 4 cells)::

    offset  size  field
    0       2     sync word  A5 5A
    2       1     plate id   0 = left, 1 = right
    3       1     channel count C (load cells; 4)
    4       4     sample counter, uint32, wraps at 2**32; the plate's clock, the time axis
    8       4*C   ADC counts per load cell, int32
    8+4C    2     CRC-16/CCITT-FALSE (poly 0x1021, init 0xFFFF) of bytes 2 .. 8+4C-1

Newtons = (counts - offset) * scale, per cell, with the plate's calibration (scale in N/count);
then the correction a calibration stored (``corr``): each cell linearised, n + q*n**2, and all
cells (N = plates * 4, wire order: plate 0 cells 0-3, then plate 1) mixed by the N x N matrix K.
A plate without a stored correction has q = 0 and K = identity.

The rig command ``load`` (x, y in mm from the plate's centre, n newtons; 0 N removes the load)
exists on emulated plates only: it puts a known load on the plate, so that a calibration runs
unattended. A real plate refuses it (-113) and the operator places the weights.

Commands are ASCII lines ending in ``\\n``; a logical command has a serial and an SCPI spelling:

    logical     serial                 SCPI                           reply
    identify    IDN?                   *IDN?                          maker,model,serial,firmware
    reset       RST                    *RST                           -
    rate?       RATE?                  CONF:RATE?                     Hz
    rate        RATE hz                CONF:RATE hz                   -
    tare        TARE                   CAL:TARE                       -
    start       START                  INIT                           -
    stop        STOP                   ABOR                           -
    cal?        CAL? plate             CAL:CELL? plate                scale,offset for each cell
    cal         CAL plate cell s o     CAL:CELL plate,cell,s,o        -
    corr?       CORR? cell             CAL:CORR? cell                 q,k0,...,kN-1 (one correction row)
    corr        CORR cell q k0 .. kN-1 CAL:CORR cell,q,k0,...,kN-1    -
    load        LOAD plate x y n       RIG:LOAD plate,x,y,n           - (emulated rig only)
    status      STAT?                  SYST:STAT?                     key=value ...
    error       ERR?                   SYST:ERR?                      code,"message" (0 = none)
    fetch       -                      FETC?                          #<n><len><frames> (IEEE 488.2)
    playback    PLAY hz #<n><len><f32> TRAC:DATA hz,#<n><len><f32>   -
    counter     CNT n                  CONF:COUN n                    -

``counter`` presets the sample counter the next ``start`` begins from (0 after reset; every
start begins there again): a test hook, so that the 2**32 wrap can be checked in seconds.

``playback`` uploads a trace for the plate to stream once, through its own processing, at the
next ``start``: the block holds float32 little-endian newtons, sample by sample, plate by plate,
cell by cell ((samples, plates, 4) in C order); a block is read by its length, newlines and all.

Serial replies: a query answers its value line; a setting answers ``OK``; a refused command
answers ``ERR code,"message"``. While streaming, a serial plate answers only ``STOP``, with the
line ``OK STOPPED`` after its last frame; anything else is refused silently and queued (-200,
read it with ``ERR?`` after stopping). SCPI settings answer nothing (check ``SYST:ERR?``); a
refused SCPI query answers an empty line and queues the error. ``FETC?`` returns the frames
buffered since the last fetch (at most ``FETCH_MAX_FRAMES``; in fast mode made on demand).
"""
from __future__ import annotations

import binascii
from dataclasses import dataclass
from typing import Any

import numpy as np

SYNC = b"\xa5\x5a"
CELLS = 4
HEADER_BYTES = 8
CRC_BYTES = 2
COUNTER_MODULUS = 1 << 32
FETCH_MAX_FRAMES = 8192
ADC_FULL_SCALE = (1 << 23) - 1  # a 24-bit ADC, sign-extended into the int32 field
DEFAULT_SCALE_N_PER_COUNT = 1e-3
STOPPED_LINE = b"OK STOPPED\n"
SMALL_BATCH = 16  # frames
MAX_BLOCK_BYTES = 64 << 20  # the largest block a command may carry (a playback upload)
PLAYBACK_DTYPE = np.dtype("<f4")


class ProtocolError(ValueError):
    """A malformed command, reply or frame parameter."""


class Refusal(ValueError):
    """A command an instrument refuses: SCPI error code and message, ``code,message`` as
    ``SYST:ERR?`` reports it."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(f"{code},{message}")
        self.code, self.message = code, message


def frame_dtype(channels: int = CELLS) -> np.dtype:
    """The frame as a packed numpy structured dtype (one record = one frame on the wire)."""
    return np.dtype([("sync", "<u2"), ("plate", "u1"), ("channels", "u1"),
                     ("counter", "<u4"), ("counts", "<i4", (channels,)), ("crc", "<u2")])


def frame_size(channels: int = CELLS) -> int:
    return HEADER_BYTES + 4 * channels + CRC_BYTES


def _crc_table() -> np.ndarray:
    table = np.zeros(256, dtype=np.uint16)
    for byte in range(256):
        crc = byte << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x1021) if crc & 0x8000 else (crc << 1)
        table[byte] = crc & 0xFFFF
    return table


_CRC_TABLE = _crc_table()


def crc16(rows: np.ndarray) -> np.ndarray:
    """CRC-16/CCITT-FALSE of each row of a (frames, bytes) uint8 array, vectorised over rows."""
    if rows.shape[0] <= SMALL_BATCH:  # a few frames (real time): C per frame beats numpy's overhead
        return np.array([binascii.crc_hqx(row.tobytes(), 0xFFFF) for row in rows], np.uint16)
    crc = np.full(rows.shape[0], 0xFFFF, dtype=np.uint16)
    for column in rows.T:  # one numpy step per byte position, across all frames at once
        crc = (crc << np.uint16(8)) ^ _CRC_TABLE[(crc >> np.uint16(8)) ^ column]
    return crc


def encode_frames(plate: np.ndarray | int, counter: np.ndarray, counts: np.ndarray) -> bytes:
    """Frames for many samples at once: ``counts`` is (frames, channels) int32."""
    counts = np.asarray(counts)
    if counts.ndim != 2:
        raise ProtocolError("counts must be (frames, channels)")
    n, channels = counts.shape
    frames = np.zeros(n, dtype=frame_dtype(channels))
    frames["sync"] = int.from_bytes(SYNC, "little")
    frames["plate"] = plate
    frames["channels"] = channels
    frames["counter"] = np.asarray(counter, dtype=np.int64) % COUNTER_MODULUS
    frames["counts"] = counts
    raw = frames.view(np.uint8).reshape(n, frames.dtype.itemsize)
    frames["crc"] = crc16(raw[:, 2:-CRC_BYTES])
    return frames.tobytes()


@dataclass(frozen=True)
class Decoded:
    """What one call of :meth:`FrameDecoder.feed` found."""

    frames: np.ndarray  # structured, frame_dtype(channels)
    corrupt: int  # frames whose sync word was found but whose CRC or channel count was wrong
    resyncs: int  # runs of bytes skipped to find the next good frame
    skipped_bytes: int


class FrameDecoder:
    """Finds, checks and decodes frames in a byte stream fed in arbitrary pieces.

    Vectorised: every sync-word candidate in the buffer is checked at once; bytes that do not
    belong to a good frame are skipped (a resync), and an incomplete frame at the end is kept
    for the next call.
    """

    def __init__(self, channels: int = CELLS) -> None:
        self.channels = channels
        self.size = frame_size(channels)
        self.dtype = frame_dtype(channels)
        self._tail = b""
        self._skipping = False  # the previous call ended inside skipped bytes

    @property
    def tail(self) -> bytes:
        """Bytes kept for the next call (the start of an incomplete frame)."""
        return self._tail

    def feed(self, data: bytes) -> Decoded:
        buf = np.frombuffer(self._tail + bytes(data), dtype=np.uint8)
        size = self.size
        if buf.size and buf.size % size == 0 and not self._skipping:  # the usual case first
            rows = buf.reshape(-1, size)
            if self._all_good(rows):
                self._tail = b""
                return Decoded(rows.copy().view(self.dtype).ravel(), 0, 0, 0)
        starts = np.flatnonzero((buf[:-1] == SYNC[0]) & (buf[1:] == SYNC[1]))
        complete = starts[starts + size <= buf.size]
        windows = buf[complete[:, None] + np.arange(size)]
        got_crc = windows[:, -2].astype(np.uint16) | (windows[:, -1].astype(np.uint16) << 8)
        good = (windows[:, 3] == self.channels) & (crc16(windows[:, 2:-CRC_BYTES]) == got_crc)
        accepted = complete[good]
        if accepted.size > 1 and np.any(np.diff(accepted) < size):
            accepted = self._non_overlapping(accepted)
        frames = buf[accepted[:, None] + np.arange(size)].copy().view(self.dtype).ravel()

        # The tail: from the first sync candidate that cannot yet be complete, or a lone A5.
        end_of_good = int(accepted[-1]) + size if accepted.size else 0
        pending = starts[(starts >= end_of_good) & (starts + size > buf.size)]
        if pending.size:
            tail_start = int(pending[0])
        elif buf.size and buf[-1] == SYNC[0]:
            tail_start = max(buf.size - 1, end_of_good)
        else:
            tail_start = buf.size
        # Skipped runs: before, between and after the good frames, up to the tail.
        bounds_start = np.concatenate(([0], accepted + size))
        bounds_end = np.concatenate((accepted, [tail_start]))
        gaps = bounds_end - bounds_start
        runs = gaps > 0
        resyncs = int(np.count_nonzero(runs))
        if self._skipping and runs[0]:
            resyncs -= 1  # the same run continued from the previous call
        failed = complete[~good]
        covered = np.searchsorted(accepted, failed, side="right") - 1
        inside = (covered >= 0) & (failed < accepted[np.maximum(covered, 0)] + size) \
            if accepted.size else np.zeros(failed.size, dtype=bool)
        self._skipping = bool(runs[-1])
        self._tail = buf[tail_start:].tobytes()
        return Decoded(frames, int(np.count_nonzero(~inside)), resyncs, int(gaps[runs].sum()))

    def _all_good(self, rows: np.ndarray) -> bool:
        """Whole frames back to back, every one of them sound."""
        got = rows[:, -2].astype(np.uint16) | (rows[:, -1].astype(np.uint16) << 8)
        return bool(np.all(rows[:, 0] == SYNC[0]) and np.all(rows[:, 1] == SYNC[1])
                    and np.all(rows[:, 3] == self.channels)
                    and np.array_equal(crc16(rows[:, 2:-CRC_BYTES]), got))

    def finish(self) -> Decoded:
        """The stream has ended: the kept tail is skipped (a resync, unless it continues one)."""
        tail, self._tail = len(self._tail), b""
        return Decoded(np.zeros(0, self.dtype), 0, int(tail > 0 and not self._skipping), tail)

    def _non_overlapping(self, accepted: np.ndarray) -> np.ndarray:
        """Greedy left-to-right choice (rare: a sync word and valid CRC inside a payload)."""
        keep, next_free = [], -1
        for start in accepted.tolist():
            if start >= next_free:
                keep.append(start)
                next_free = start + self.size
        return np.asarray(keep, dtype=np.int64)


def decode_all(data: bytes, channels: int = CELLS) -> Decoded:
    """Decode a complete byte string (a raw recording): the incomplete end counts as skipped."""
    decoder = FrameDecoder(channels)
    decoded, end = decoder.feed(data), decoder.finish()
    return Decoded(decoded.frames, decoded.corrupt, decoded.resyncs + end.resyncs,
                   decoded.skipped_bytes + end.skipped_bytes)


# --- IEEE 488.2 definite-length blocks ------------------------------------------------------

def block(payload: bytes) -> bytes:
    """``#<n><len><payload>``: n digits of length, then the payload."""
    length = str(len(payload)).encode()
    return b"#" + str(len(length)).encode() + length + payload


def block_length(head: bytes) -> tuple[int, int] | None:
    """(header length, payload length) from the start of a block, or None if incomplete."""
    if not head.startswith(b"#"):
        raise ProtocolError(f"not a definite-length block: {head[:8]!r}")
    if len(head) < 2:
        return None
    if not head[1:2].isdigit() or head[1:2] == b"0":
        raise ProtocolError(f"not a definite-length block: {head[:8]!r}")
    digits = int(head[1:2])
    if len(head) < 2 + digits:
        return None
    if not head[2:2 + digits].isdigit():
        raise ProtocolError(f"bad block length in {head[:2 + digits]!r}")
    return 2 + digits, int(head[2:2 + digits])


# --- Commands -------------------------------------------------------------------------------

@dataclass(frozen=True)
class CommandSpec:
    name: str
    serial: str | None
    scpi: str
    args: tuple[type, ...] = ()
    variadic: bool = False  # the last argument repeats (one or more)

    @property
    def query(self) -> bool:
        return self.name.endswith("?") or self.name in ("identify", "status", "error", "fetch")


COMMANDS = {spec.name: spec for spec in (
    CommandSpec("identify", "IDN?", "*IDN?"),
    CommandSpec("reset", "RST", "*RST"),
    CommandSpec("rate?", "RATE?", "CONF:RATE?"),
    CommandSpec("rate", "RATE", "CONF:RATE", (float,)),
    CommandSpec("tare", "TARE", "CAL:TARE"),
    CommandSpec("start", "START", "INIT"),
    CommandSpec("stop", "STOP", "ABOR"),
    CommandSpec("cal?", "CAL?", "CAL:CELL?", (int,)),
    CommandSpec("cal", "CAL", "CAL:CELL", (int, int, float, float)),
    CommandSpec("corr?", "CORR?", "CAL:CORR?", (int,)),
    CommandSpec("corr", "CORR", "CAL:CORR", (int, float, float), variadic=True),
    CommandSpec("load", "LOAD", "RIG:LOAD", (int, float, float, float)),
    CommandSpec("status", "STAT?", "SYST:STAT?"),
    CommandSpec("error", "ERR?", "SYST:ERR?"),
    CommandSpec("fetch", None, "FETC?"),
    CommandSpec("playback", "PLAY", "TRAC:DATA", (float, bytes)),
    CommandSpec("counter", "CNT", "CONF:COUN", (int,)),
)}
DIALECTS = ("serial", "scpi")


def _keyword(spec: CommandSpec, dialect: str) -> str | None:
    return spec.serial if dialect == "serial" else spec.scpi


def format_command(name: str, *args: Any, dialect: str = "serial") -> bytes:
    """The line a host sends for a logical command, newline included."""
    spec = COMMANDS.get(name)
    keyword = _keyword(spec, dialect) if spec else None
    if keyword is None:
        raise ProtocolError(f"no {dialect} command {name!r}")
    if not _count_ok(spec, len(args)):
        raise ProtocolError(f"{name} takes {_count_text(spec)} arguments, got {len(args)}")
    values = [repr(float(a)).encode() if t is float else block(a) if t is bytes
              else str(int(a)).encode() for t, a in zip(_types(spec, len(args)), args)]
    separator = b" " if dialect == "serial" else b","
    return keyword.encode("ascii") + (b" " + separator.join(values) if values else b"") + b"\n"


def _count_ok(spec: CommandSpec, count: int) -> bool:
    return count >= len(spec.args) if spec.variadic else count == len(spec.args)


def _count_text(spec: CommandSpec) -> str:
    return f"{len(spec.args)} or more" if spec.variadic else str(len(spec.args))


def _types(spec: CommandSpec, count: int) -> tuple[type, ...]:
    return spec.args + spec.args[-1:] * (count - len(spec.args))


_BY_KEYWORD = {d: {_keyword(s, d).upper(): s for s in COMMANDS.values() if _keyword(s, d)}
               for d in DIALECTS}


def parse_command(line: bytes | str, dialect: str = "serial",
                  payload: bytes | None = None) -> tuple[str, tuple]:
    """(logical name, typed arguments) of a command line; ProtocolError if it is not one.
    ``payload`` is the block a command carries (``split_command`` separates it from the line)."""
    text = (line.decode("ascii", "replace") if isinstance(line, bytes) else line).strip()
    keyword, _, rest = text.partition(" ")
    spec = _BY_KEYWORD[dialect].get(keyword.upper())
    if spec is None:
        raise ProtocolError(f"unknown command {keyword!r}")
    parts = rest.replace(",", " ").split() if rest.strip() else []
    wants_block = bool(spec.args) and spec.args[-1] is bytes
    if wants_block != (payload is not None):
        raise ProtocolError(f"{keyword} {'needs' if wants_block else 'takes no'} data block")
    if not _count_ok(spec, len(parts) + wants_block):
        raise ProtocolError(f"{keyword} takes {_count_text(spec)} arguments, got {len(parts) + wants_block}")
    try:
        values = tuple(t(p) for t, p in zip(_types(spec, len(parts)), parts))
    except ValueError:
        raise ProtocolError(f"bad argument in {text!r}") from None
    return spec.name, values + ((payload,) if wants_block else ())


def split_command(buffer: bytes) -> tuple[bytes, bytes | None, bytes] | None:
    """The first complete command in ``buffer``: (its text up to any block, the block's payload or
    None, the bytes after it); None while incomplete. A ``#`` after a space or comma starts an
    IEEE 488.2 definite-length block, read by its length (it may hold newlines)."""
    newline = buffer.find(b"\n")
    starts = [i + 1 for i in (buffer.find(b" #"), buffer.find(b",#"))
              if i >= 0 and (newline < 0 or i < newline)]
    match = min(starts) if starts else None
    if match is None:
        return None if newline < 0 else (buffer[:newline], None, buffer[newline + 1:])
    lengths = block_length(buffer[match:match + 11])
    if lengths is None:
        return None
    header, length = lengths
    if length > MAX_BLOCK_BYTES:
        raise ProtocolError(f"a block of {length} bytes is over the {MAX_BLOCK_BYTES} byte limit")
    end = match + header + length
    if len(buffer) < end + 1:
        return None
    return buffer[:match - 1], buffer[match + header:end], buffer[end + 1:]


def encode_playback(cells: np.ndarray) -> bytes:
    """A trace (samples, plates, 4) in newtons as a playback block's payload."""
    return np.ascontiguousarray(cells, dtype=PLAYBACK_DTYPE).tobytes()


def decode_playback(payload: bytes, plates: int) -> np.ndarray:
    values = np.frombuffer(payload, dtype=PLAYBACK_DTYPE)
    if values.size == 0 or values.size % (plates * CELLS):
        raise ProtocolError(f"a playback block of {len(payload)} bytes is not whole samples of "
                            f"{plates} plate(s) x {CELLS} float32 cells")
    cells = values.astype(np.float64).reshape(-1, plates, CELLS)
    if not np.all(np.isfinite(cells)):
        raise ProtocolError("a playback block holds a value that is not finite")
    return cells


def format_calibration(scale: np.ndarray, offset: np.ndarray) -> str:
    """One plate's calibration as a reply: ``scale,offset`` for each cell, comma-separated."""
    return ",".join(f"{s!r},{o!r}" for s, o in zip(map(float, scale), map(float, offset)))


def parse_calibration(reply: str) -> tuple[np.ndarray, np.ndarray]:
    values = np.array([float(v) for v in reply.replace(" ", ",").split(",") if v])
    if values.size == 0 or values.size % 2:
        raise ProtocolError(f"bad calibration reply {reply!r}")
    return values[0::2], values[1::2]


def format_correction(quadratic: float, row: np.ndarray) -> str:
    """One cell's stored correction as a reply: ``q,k0,...,kN-1``."""
    return ",".join(repr(float(v)) for v in (quadratic, *np.asarray(row, dtype=float)))


def parse_correction(reply: str) -> tuple[float, np.ndarray]:
    try:
        values = np.array([float(v) for v in reply.replace(" ", ",").split(",") if v])
    except ValueError:
        raise ProtocolError(f"bad correction reply {reply!r}") from None
    if values.size < 2 or not np.all(np.isfinite(values)):
        raise ProtocolError(f"bad correction reply {reply!r}")
    return float(values[0]), values[1:]


def format_status(fields: dict[str, Any]) -> str:
    return " ".join(f"{k}={v}" for k, v in fields.items())


def parse_status(reply: str) -> dict[str, str]:
    try:
        return dict(item.split("=", 1) for item in reply.split())
    except ValueError:
        raise ProtocolError(f"bad status reply {reply!r}") from None


def format_error(code: int, message: str) -> str:
    return f'{code},"{message}"'


def parse_error(reply: str) -> tuple[int, str]:
    code, _, message = reply.strip().partition(",")
    try:
        return int(code), message.strip().strip('"')
    except ValueError:
        raise ProtocolError(f"bad error reply {reply!r}") from None


@dataclass(frozen=True)
class Calibration:
    """Every plate's calibration: newtons = (counts - offset) * scale per cell, then the stored
    correction: each cell linearised (n + quadratic * n**2), all cells mixed by ``matrix``."""

    scale: np.ndarray  # (plates, cells) N per count
    offset: np.ndarray  # (plates, cells) counts at zero load
    quadratic: np.ndarray | None = None  # (plates, cells) 1/N; None: none
    matrix: np.ndarray | None = None  # (N, N) over the cells in wire order; None: identity

    @property
    def corrected(self) -> bool:
        return self.quadratic is not None or self.matrix is not None

    def to_newtons(self, counts: np.ndarray) -> np.ndarray:
        """Counts (..., plates, cells) → newtons, same shape."""
        return self.correct((counts - self.offset) * self.scale)

    def correct(self, newtons: np.ndarray) -> np.ndarray:
        """Cell newtons by scale and offset alone (..., plates, cells) → with the correction."""
        if self.quadratic is not None:
            newtons = newtons + self.quadratic * newtons * newtons
        if self.matrix is not None:
            flat = newtons.reshape(*newtons.shape[:-2], -1)
            newtons = (flat @ self.matrix.T).reshape(newtons.shape)
        return newtons


@dataclass(frozen=True)
class Correction:
    """A calibration's correction on top of a plate's own scale and offset (a calibration file's,
    for plates that cannot store one): zero offset in N, then ``Calibration``'s quadratic and matrix."""

    offset_n: np.ndarray  # (plates, cells)
    quadratic: np.ndarray  # (plates, cells) 1/N
    matrix: np.ndarray  # (N, N)

    def on(self, plate: Calibration) -> Calibration:
        return Calibration(plate.scale, plate.offset + self.offset_n / plate.scale,
                           self.quadratic, self.matrix)
