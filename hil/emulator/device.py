"""The emulated plate itself: its settings, its sample clock, and the frames it makes.

Front-ends (serial over a pseudo-terminal, SCPI over TCP) only move bytes; every command and
every frame comes from here, so both transports behave the same.
"""
from __future__ import annotations

from collections import deque
from dataclasses import dataclass

import numpy as np

from .. import protocol
from .faults import Fault
from .load_rig import Rig, RigRefused
from .miscalibration import Miscalibration
from .source import Source, make_source

MAX_ERRORS = 16
MIN_RATE_HZ, MAX_RATE_HZ = 10.0, 10_000.0
RANDOM_BLOCK = 4096  # random fault decisions are drawn per block of counters: chunking-independent
LOOKAHEAD_TICKS = 256  # frames are made this many ticks ahead, then handed out tick by tick


# Protocol defects the emulator can be told to have, each one a way firmware gets the protocol
# wrong; `forcebench plate-check` must catch each (tests/test_platecheck.py proves it).
DEFECTS = {
    "idn": "identification is not maker,model,serial,firmware",
    "status": "status lacks the counter",
    "cal": "calibration writes are accepted but ignored",
    "errors": "unknown commands are answered OK (serial) and no error is queued",
    "crc": "every frame's CRC is wrong",
    "wrap": "the sample counter is 24 bits: it wraps at 2**24, not 2**32",
    "rate": "rate changes are accepted, but the plate keeps sampling at its power-up rate",
    "burst": "frames leave in bursts every 100 ms (serial)",
    "restart": "the counter runs on across stop and start instead of starting again",
    "busy": "commands sent while streaming are carried out (serial)",
    "trailing": "frames keep coming for 0.1 s after OK STOPPED (serial)",
    "silent-loss": "a slow reader loses frames, and status does not count them (serial)",
}


class DeviceError(protocol.Refusal):
    """A command the plate refuses."""


@dataclass(frozen=True)
class _Prepared:
    """Frames made ahead for ticks ``first`` .. ``first + ticks - 1``."""

    first: int
    ticks: int
    data: bytes
    ends: np.ndarray  # (ticks + 1,) byte offset where each tick's frames start; then the end
    sent: np.ndarray  # frames per tick
    dropped: np.ndarray  # frames a drop fault removed, per tick


@dataclass(frozen=True)
class Chunk:
    """Frames for some sample ticks, ready for the wire."""

    data: bytes
    tick_counters: np.ndarray  # left plate's counter of each tick (for the timing log)
    tick_ends: np.ndarray  # bytes of ``data`` up to the end of each tick's frames


class EmulatedPlate:
    """A dual (or single) plate with 4 cells each, streaming ``source`` on its own clock."""

    def __init__(self, source: Source, faults: tuple[Fault, ...] = (), seed: int = 0,
                 counter_start: int = 0, once: bool = False,
                 defects: frozenset[str] = frozenset(),
                 miscalibration: Miscalibration | None = None) -> None:
        self.source, self.faults, self.seed = source, faults, seed
        self.miscalibration = miscalibration
        self.counter_start, self.once = counter_start, once
        self.power_up_counter, self.power_up_rate = counter_start, source.rate_hz
        self.defects = frozenset(defects)
        self.plates = source.plates
        rng = np.random.default_rng(seed)
        self.zero_counts = rng.integers(-20_000, 20_000, (self.plates, protocol.CELLS))
        self.true_scale = protocol.DEFAULT_SCALE_N_PER_COUNT * (
            1 + rng.uniform(-0.002, 0.002, (self.plates, protocol.CELLS)))
        self.errors: deque[tuple[int, str]] = deque(maxlen=MAX_ERRORS)
        self.sent = self.dropped = self.overflow = 0
        self.rig = Rig(self.plates, seed, *((miscalibration.settle_s, miscalibration.noise_n)
                                            if miscalibration else (0.02, 0.3)))
        self.uptime_s = 0.0  # seconds streamed since power-on: the clock of zero drift
        self.ticks = 0
        self.reset()

    # --- commands ---------------------------------------------------------------------------

    def reset(self) -> None:
        self._ahead: _Prepared | None = None
        self.rate_hz = self.source.rate_hz
        self.scale = self.true_scale.copy()  # factory calibration
        self.offset = self.zero_counts.astype(float)
        cells = self.plates * protocol.CELLS
        self.quadratic, self.matrix = np.zeros(cells), np.eye(cells)  # stored correction
        self.streaming = False
        self.uptime_s += self.ticks / self.rate_hz if self.ticks else 0.0
        self.ticks = 0  # sample ticks made since start
        self.finished = False

    def execute(self, name: str, args: tuple) -> str | None:
        """Run a logical command (see hil.protocol); the reply text, or None for a setting."""
        if self.streaming and name not in ("stop", "status", "error", "fetch", "identify") \
                and "busy" not in self.defects:
            raise DeviceError(-200, "Execution error; streaming")
        if name == "identify":
            if "idn" in self.defects:
                return "FORCEBENCH EMULATED PLATE"
            return f"FORCEBENCH,FP{self.plates}x{protocol.CELLS}-EMU,SN{self.seed:06d},1.0"
        if name == "reset":
            self.reset()
            self.counter_start = self.power_up_counter
        elif name == "rate?":
            return f"{self.rate_hz:g}"
        elif name == "rate":
            if not MIN_RATE_HZ <= args[0] <= MAX_RATE_HZ:
                raise DeviceError(-222, f"Data out of range; rate {MIN_RATE_HZ:g}-{MAX_RATE_HZ:g} Hz")
            self.rate_hz, self._ahead = float(args[0]), None
        elif name == "tare":  # idle, the plate is unloaded: its zero is what the cells read now
            zero = self.miscalibration.zero(self.uptime_s / 60).reshape(self.plates, -1) \
                if self.miscalibration else 0.0
            self.offset = self.zero_counts + zero / self.true_scale
        elif name == "start":
            self.uptime_s += self.ticks / self.rate_hz
            self.rig.started()
            if "restart" in self.defects:
                self.counter_start += self.ticks
            self.streaming, self.ticks, self.finished, self._ahead = True, 0, False, None
        elif name == "stop":
            self.streaming = False
        elif name == "cal?":
            plate = self._plate(args[0])
            return protocol.format_calibration(self.scale[plate], self.offset[plate])
        elif name == "cal":
            plate, cell, scale, offset = self._plate(args[0]), int(args[1]), args[2], args[3]
            if not 0 <= cell < protocol.CELLS or not (np.isfinite(scale) and scale > 0):
                raise DeviceError(-222, "Data out of range; cell or scale")
            if "cal" not in self.defects:
                self.scale[plate, cell], self.offset[plate, cell] = scale, offset
        elif name == "corr?":
            cell = self._cell(args[0])
            return protocol.format_correction(self.quadratic[cell], self.matrix[cell])
        elif name == "corr":
            cell, row = self._cell(args[0]), np.array(args[2:])
            if row.size != self.matrix.shape[1] or not np.all(np.isfinite(args[1:])):
                raise DeviceError(-222, f"Data out of range; {self.matrix.shape[1]} finite values")
            self.quadratic[cell], self.matrix[cell] = args[1], row
        elif name == "load":
            try:
                self.rig.place(self._plate(args[0]), *args[1:])
            except RigRefused as error:
                raise DeviceError(-222, str(error)) from None
            self._ahead = None
        elif name == "status":
            return protocol.format_status(self.status())
        elif name == "error":
            code, message = self.errors.popleft() if self.errors else (0, "No error")
            return protocol.format_error(code, message)
        elif name == "playback":
            self._playback(*args)
        elif name == "counter":
            if not 0 <= args[0] < protocol.COUNTER_MODULUS:
                raise DeviceError(-222, "Data out of range; counter 0-4294967295")
            self.counter_start = int(args[0])
        else:
            raise DeviceError(-113, f"Undefined header; {name}")
        return None

    def _playback(self, rate_hz: float, payload: bytes) -> None:
        """Stream this trace once at the next start, through the plate's own ADC and faults."""
        if not MIN_RATE_HZ <= rate_hz <= MAX_RATE_HZ:
            raise DeviceError(-222, f"Data out of range; rate {MIN_RATE_HZ:g}-{MAX_RATE_HZ:g} Hz")
        try:
            cells = protocol.decode_playback(payload, self.plates)
        except protocol.ProtocolError as error:
            raise DeviceError(-161, f"Invalid block data; {error}") from None
        self.source = make_source(cells, rate_hz)
        self.once, self.rate_hz, self._ahead = True, float(rate_hz), None
        self.rig.active = False  # the trace, not a rig load, is what the cells feel now

    def refuse(self, error: DeviceError) -> None:
        self.errors.append((error.code, error.message))

    def _cell(self, cell: int) -> int:
        if not 0 <= cell < self.plates * protocol.CELLS:
            raise DeviceError(-222, f"Data out of range; cell {cell} (wire order, 0-{self.plates * protocol.CELLS - 1})")
        return cell

    def _plate(self, plate: int) -> int:
        if not 0 <= plate < self.plates:
            raise DeviceError(-222, f"Data out of range; plate {plate}")
        return plate

    def status(self) -> dict:
        state = "streaming" if self.streaming else "done" if self.finished else "idle"
        status = {"state": state, "rate": f"{self.rate_hz:g}",
                  "plates": self.plates, "channels": protocol.CELLS,
                  "counter": self._counter(self.ticks),
                  "sent": self.sent, "dropped": self.dropped, "overflow": self.overflow,
                  "samples": len(self.source), "errors": len(self.errors)}
        if "status" in self.defects:
            del status["counter"]
        return status

    def _counter(self, ticks):
        """The counter the plate puts in a frame at its ``ticks`` since start."""
        modulus = 1 << 24 if "wrap" in self.defects else protocol.COUNTER_MODULUS
        return (self.counter_start + ticks) % modulus

    # --- streaming --------------------------------------------------------------------------

    def remaining(self) -> int | None:
        """Ticks left before a ``once`` stream ends (None: loops for ever)."""
        if not self.once:
            return None
        return max(0, int(len(self.source) * self.rate_hz / self.source.rate_hz) - self.ticks)

    @property
    def tick_rate_hz(self) -> float:
        """How fast the sample clock ticks in host time (the emulated plate's clock is the host's)."""
        return self.power_up_rate if "rate" in self.defects else self.rate_hz

    def fault_windows(self, kind: str) -> list[tuple[int, float]]:
        """(tick, seconds) for each stall or disconnect fault."""
        return [(int(round(f["at"] * self.rate_hz)), f["for"]) for f in self.faults
                if f.kind == kind]

    def draw_index(self, plate: int, ticks: np.ndarray) -> np.ndarray:
        """What a random fault's draw is keyed on (≥ 0): the stream sample of each of the
        plate's ticks, so that a seed hits the same samples on every run."""
        return ticks

    def stream_seconds(self, plate: int, ticks: np.ndarray) -> np.ndarray:
        """Seconds of stream time (a fault's ``at``) at this plate's own ticks."""
        return ticks / (self.rate_hz * self._clock(plate))

    def make(self, count: int, lost: bool = False) -> Chunk:
        """Frames of the next ``count`` ticks; ``lost`` ticks are made but never sent."""
        if self.once:
            count = min(count, self.remaining())
        first = self.ticks
        self.ticks += count
        if self.once and self.remaining() == 0:
            self.streaming, self.finished = False, True
        counters = self._counter(np.arange(first, first + count))
        if lost or count == 0:
            self.dropped += count * self.plates
            return Chunk(b"", counters, np.zeros(count, dtype=np.int64))
        ahead = self._ahead
        if ahead is None or not ahead.first <= first <= first + count <= ahead.first + ahead.ticks:
            ahead = self._ahead = self._prepare(first, max(count, LOOKAHEAD_TICKS))
        a, b = first - ahead.first, first + count - ahead.first
        self.sent += int(ahead.sent[a:b].sum())
        self.dropped += int(ahead.dropped[a:b].sum())
        return Chunk(ahead.data[ahead.ends[a]:ahead.ends[b]], counters,
                     ahead.ends[a + 1:b + 1] - ahead.ends[a])

    def _prepare(self, first: int, count: int) -> _Prepared:
        """Frames of ``count`` ticks from ``first``, made at once (each tick's content depends on
        its index alone, so making them ahead changes nothing but the cost per tick)."""
        if self.once:
            count = min(count, self.remaining() + self.ticks - first)
        ticks = np.arange(first, first + count)
        pieces, owners, lost = [], [], []
        for plate in range(self.plates):
            plate_ticks = self._plate_ticks(plate, ticks)
            # the left tick during which each of this plate's ticks falls
            owner = np.clip(np.ceil(plate_ticks / self._clock(plate)).astype(np.int64),
                            first, first + count - 1) - first
            keep = ~self._chance("drop", plate, self.draw_index(plate, plate_ticks))
            pieces.append((plate_ticks[keep], self._counts(plate, plate_ticks[keep]), plate))
            owners.append(owner[keep])
            lost.append(owner[~keep])
        data, lengths, order = self._interleave(pieces)
        owner = np.concatenate(owners)[order]
        ends = np.concatenate(([0], np.cumsum(np.bincount(owner, lengths, count)))).astype(np.int64)
        return _Prepared(first, count, data, ends, np.bincount(owner, minlength=count),
                         np.bincount(np.concatenate(lost), minlength=count))

    def _clock(self, plate: int) -> float:
        """The right plate's own clock runs fast by ``skew`` ppm."""
        ppm = sum(f["ppm"] for f in self.faults if f.kind == "skew") if plate == 1 else 0.0
        return 1 + ppm * 1e-6

    def _plate_ticks(self, plate: int, ticks: np.ndarray) -> np.ndarray:
        """A plate's own ticks during the left plate's ``ticks`` (extra ones when it runs fast)."""
        factor = self._clock(plate)
        if factor == 1.0 or ticks.size == 0:
            return ticks
        # through left tick k the right plate has made its ticks j <= floor(k * factor)
        first = int(np.floor((ticks[0] - 1) * factor)) + 1 if ticks[0] else 0
        return np.arange(first, int(np.floor(ticks[-1] * factor)) + 1)

    def _counts(self, plate: int, ticks: np.ndarray) -> np.ndarray:
        """ADC counts of one plate's cells at its own ticks, with the content faults."""
        own_rate = self.rate_hz * self._clock(plate)
        t = self.stream_seconds(plate, ticks)
        if self.rig.active or self.miscalibration is not None:
            loads = self.rig.loads(t) if self.rig.active else self._source_loads(
                slice(None), ticks, t, own_rate)
            newtons = loads[:, plate]
            if self.miscalibration is not None:  # the cells' errors act on every plate's loads
                minutes = (self.uptime_s + t) / 60
                newtons = self.miscalibration.readings(loads.reshape(t.size, -1), minutes
                                                       ).reshape(loads.shape)[:, plate]
            if self.rig.active:
                alive = ~self.miscalibration.dead.reshape(self.plates, -1)[plate] \
                    if self.miscalibration is not None else True
                newtons = newtons + self.rig.noise(plate, ticks) * alive
        else:
            newtons = self._source_loads(min(plate, self.source.plates - 1), ticks, t, own_rate)
        newtons, rail, _ = self._content_faults(plate, t, newtons)
        counts = np.rint(newtons / self.true_scale[plate]) + self.zero_counts[plate]
        counts[rail] = protocol.ADC_FULL_SCALE
        return np.clip(counts, -protocol.ADC_FULL_SCALE, protocol.ADC_FULL_SCALE).astype(np.int32)

    def _content_faults(self, plate: int, t: np.ndarray, newtons: np.ndarray
                        ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """One plate's cell loads (k, 4) at ``t`` s of stream time with the content faults; where
        the amplifier is past its rail (saturate: the ADC reads full scale); where a cell holds
        one value (dead or stuck)."""
        frozen = np.zeros(newtons.shape, dtype=bool)
        for fault in self.faults:
            if fault.kind == "drift" and fault["plate"] in (-1, plate):
                newtons = newtons + fault["rate"] * np.maximum(t, 0.0)[:, None]
            elif fault.kind in ("dead_cell", "stick") and int(fault["plate"]) == plate:
                since, cell = t >= fault["at"], int(fault["cell"])
                if since.any():
                    newtons[since, cell] = 0.0 if fault.kind == "dead_cell" else \
                        self._held(plate, fault["at"])[cell]
                    frozen[since, cell] = True
        rail = np.zeros(newtons.shape, dtype=bool)
        for fault in self.faults:
            if fault.kind == "saturate" and fault["plate"] in (-1, plate):
                cols = slice(None) if fault["cell"] < 0 else [int(fault["cell"])]
                rail[:, cols] |= newtons[:, cols] >= fault["limit"]
        return newtons, rail, frozen

    def _held(self, plate: int, at: float) -> np.ndarray:
        """The cells' loads at ``at`` s of stream time, which a stuck cell holds from then on."""
        own_rate = self.rate_hz * self._clock(plate)
        tick = np.array([np.ceil(at * own_rate)])
        return self._source_loads(min(plate, self.source.plates - 1), tick.astype(np.int64),
                                  tick / own_rate, own_rate)[0]

    def _source_loads(self, plates: int | slice, ticks: np.ndarray, t: np.ndarray,
                      own_rate: float) -> np.ndarray:
        """The source's cell forces at these ticks, for one plate (k, 4) or all (k, plates, 4)."""
        n = len(self.source)
        if own_rate == self.source.rate_hz:  # the source's own samples: no interpolation
            return self.source.rows(ticks % n, plates)
        x = t * self.source.rate_hz
        i0 = np.floor(x).astype(np.int64)
        both = self.source.rows(np.stack((i0 % n, (i0 + 1) % n)), plates)
        frac = (x - i0).reshape(-1, *([1] * (both.ndim - 2)))
        newtons = both[0] * (1 - frac) + both[1] * frac
        if self.once:  # no wrap-around interpolation at the end of a single pass
            end = (i0 + 1 >= n).reshape(frac.shape)
            newtons = np.where(end, self.source.rows(np.minimum(i0, n - 1), plates), newtons)
        return newtons

    def _chance(self, kind: str, plate: int, ticks: np.ndarray) -> np.ndarray:
        """Which ticks a random fault hits: drawn per block of counters from the seed."""
        hit = np.zeros(ticks.size, dtype=bool)
        for index, fault in enumerate(self.faults):
            if fault.kind != kind or fault.params.get("plate", -1) not in (-1, plate):
                continue
            blocks = ticks // RANDOM_BLOCK
            for block in np.unique(blocks):
                rng = np.random.default_rng([self.seed, index, plate + 1, int(block)])  # per kind
                draws = rng.random(RANDOM_BLOCK)
                sel = blocks == block
                hit[sel] |= draws[ticks[sel] % RANDOM_BLOCK] < fault["rate"]
        return hit

    def _interleave(self, pieces: list[tuple[np.ndarray, np.ndarray, int]]
                    ) -> tuple[bytes, np.ndarray, np.ndarray]:
        """Frames of all plates in time order (left before right at the same tick): the bytes,
        each frame's length on the wire, and the order taken from ``pieces``."""
        order_keys, frames = [], []
        for plate_ticks, counts, plate in pieces:
            frames.append(np.frombuffer(protocol.encode_frames(
                plate, self._counter(plate_ticks), counts), dtype=np.uint8)
                .reshape(plate_ticks.size, protocol.frame_size(counts.shape[1])))
            order_keys.append(plate_ticks / self._clock(plate) + plate * 1e-9)
        order = np.argsort(np.concatenate(order_keys), kind="stable")
        rows = np.concatenate(frames)[order]
        # one random key per frame: its plate's tick and the plate
        keys = np.concatenate([self.draw_index(p[2], p[0]) * self.plates + p[2] for p in pieces])[order]
        if "crc" in self.defects:
            rows = rows.copy()
            rows[:, -2:] ^= np.uint8(0xFF)
        data, lengths = self._byte_faults(rows, keys)
        return data, lengths, order

    def _byte_faults(self, rows: np.ndarray, keys: np.ndarray) -> tuple[bytes, np.ndarray]:
        """Flipped and slipped bytes; the bytes and each frame's length on the wire."""
        corrupt = self._chance("corrupt", -1, keys)
        slip = self._chance("slip", -1, keys)
        lengths = np.full(rows.shape[0], rows.shape[1], dtype=np.int64)
        if not (corrupt.any() or slip.any()):
            return rows.tobytes(), lengths
        rows, size = rows.copy(), rows.shape[1]
        for row in np.flatnonzero(corrupt):  # flip one byte after the sync word
            rng = np.random.default_rng([self.seed, int(keys[row]), 1])
            rows[row, rng.integers(2, size)] ^= np.uint8(rng.integers(1, 256))
        pieces, previous = [], 0
        for row in np.flatnonzero(slip):  # a lost or a repeated byte shifts the stream
            rng = np.random.default_rng([self.seed, int(keys[row]), 2])
            frame, cut = rows[row].tobytes(), int(rng.integers(2, size))
            lost = rng.random() < 0.5
            pieces += [rows[previous:row].tobytes(),
                       frame[:cut] + frame[cut + 1:] if lost else frame[:cut] + frame[cut - 1:]]
            lengths[row] += -1 if lost else 1
            previous = row + 1
        pieces.append(rows[previous:].tobytes())
        return b"".join(pieces), lengths
