"""Frames → sample blocks, with the plate's sample counter as the time axis.

``Acquisition(plate, raw_path).blocks(timeout)`` reads the plate, records every received byte
append-only to ``raw_path`` (written as it arrives, fsync'd at intervals, so a crash or a pulled
cable loses nothing already received), decodes frames, unwraps the 32-bit counters, joins the
plates by counter, turns counts into newtons, and yields ``SampleBlock``s. Missing counters
become NaN rows and ``Gap`` records; CRC failures, resyncs, stalls, disconnects (with the
samples they cost), clock skew between the plates, dead, stuck and saturated cells are counted
in ``stats`` and listed by ``issues()``, each with the span of the stream it affects: a cell
that dies at any moment is flagged from then until it is seen to move again.

``RawPlate(raw_path)`` replays a recording through the same decoder: ``Acquisition(RawPlate(p))``.
"""
from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

import numpy as np

from . import protocol
from .drivers.base import Plate, PlateError

MAX_BYTES_PER_BLOCK = 1 << 18  # keep reading while data is there, up to this, then decode
STALL_S = 0.1  # a read that waits this long mid-stream, then gets data: a stall
DRIFT_LEAD_SAMPLES = 3  # a plate this many samples ahead of the other: clock drift
LEAD_WINDOW = 100  # the lead is judged per window of this many counters: its smallest value in
# the window, since a dropped or damaged frame can only make one plate look further ahead
FLAT_RUN_SAMPLES = 50  # a cell stuck at one value this long while its neighbours move is dead
FLAT_CHECK_ROWS = 64  # check for stuck cells in batches: it is not urgent, and costs per call


@dataclass(frozen=True)
class Gap:
    """Counters ``first``..``last`` (inclusive, unwrapped) never arrived from ``plate``."""

    plate: int
    first: int
    last: int

    @property
    def samples(self) -> int:
        return self.last - self.first + 1


@dataclass(frozen=True)
class StuckCell:
    plate: int
    cell: int
    first: int
    last: int
    newtons: float
    kind: str  # "dead_cell" (stuck at one value) or "saturation" (ADC full scale)


@dataclass(frozen=True)
class Disconnect:
    """The port went away for ``seconds`` and came back; counters ``first``..``last`` were lost
    with it (``last`` = ``first`` − 1: nothing lost; None: no data came after it)."""

    first: int
    last: int | None
    seconds: float


@dataclass(frozen=True)
class ClockDrift:
    """Counters ``first``..``last`` where one plate ran ``max_lead`` samples ahead of the other."""

    first: int
    last: int
    max_lead: int


@dataclass(frozen=True)
class SampleBlock:
    first_counter: int  # unwrapped counter of row 0 (the plate's sample index)
    force: np.ndarray  # (k, plates) N, the sum of each plate's cells; NaN where a frame is missing
    cells: np.ndarray  # (k, plates, 4) N
    host_time_ns: int  # time.monotonic_ns() when the last byte of this block was read

    @property
    def counters(self) -> np.ndarray:
        return self.first_counter + np.arange(self.force.shape[0])


@dataclass
class AcquisitionStats:
    bytes: int = 0
    frames: int = 0  # good frames decoded
    lost: int = 0  # frames missing from the rows emitted (plate-rows that are NaN)
    corrupt: int = 0
    resyncs: int = 0
    skipped_bytes: int = 0
    late: int = 0  # frames behind rows already emitted (duplicates, out of order)
    reconnects: int = 0
    stalls: list[tuple[int, float]] = field(default_factory=list)  # (next row, seconds waited)
    max_lead: int = 0  # largest lead of one plate's counter over the other's (per window)
    gaps: list[Gap] = field(default_factory=list)
    stuck: list[StuckCell] = field(default_factory=list)
    disconnects: list[Disconnect] = field(default_factory=list)
    drifts: list[ClockDrift] = field(default_factory=list)

    def to_dict(self) -> dict:
        records = ("gaps", "stuck", "disconnects", "drifts")
        out = {k: v for k, v in self.__dict__.items() if k not in records}
        out.update({name: [r.__dict__ for r in getattr(self, name)] for name in records})
        return out


class Acquisition:
    def __init__(self, plate: Plate, raw_path: str | Path | None = None,
                 calibration: protocol.Calibration | None = None,
                 fsync_interval_s: float = 0.5) -> None:
        self.plate = plate
        self.calibration = calibration or plate.read_calibration()
        self.plates = plate.plates
        self.decoder = protocol.FrameDecoder(plate.channels)
        self.stats = AcquisitionStats()
        self.fsync_interval_ns = int(fsync_interval_s * 1e9)
        self._raw = self._open_raw(raw_path) if raw_path else None
        self._last_sync = time.monotonic_ns()
        self._origin: int | None = None  # raw counter of the first frame: unwrapping reference
        self._last = np.zeros(self.plates, dtype=np.int64)  # last unwrapped counter per plate
        self._seen = np.zeros(self.plates, dtype=bool)
        self._pending = [(np.zeros(0, np.int64), np.zeros((0, plate.channels)))
                         for _ in range(self.plates)]
        self.next_row: int | None = None  # unwrapped counter of the next row to emit
        self._open_gaps: list[Gap | None] = [None] * self.plates
        self._runs = _FlatRuns(self.plates, plate.channels)
        self._flat: list[tuple[np.ndarray, np.ndarray]] = []  # rows not yet checked for stuck cells
        self._flat_start = self._flat_rows = 0
        self._saturating = np.full((self.plates, plate.channels), -1)  # open run's index in stuck
        self._lead = _LeadWindows()
        self._carry: tuple[bytes, float] | None = None  # (bytes read after a reconnect, s away)
        self._resuming: Disconnect | None = None  # back from a disconnect, no frame seen yet
        self._cut_frame = False

    def _open_raw(self, path: str | Path) -> int:
        cal = self.calibration
        meta = {"format": "forcebench raw frames (hil.protocol)", "plate": self.plate.url,
                "plates": self.plates, "channels": self.plate.channels,
                "scale": cal.scale.tolist(), "offset": cal.offset.tolist(),
                "quadratic": None if cal.quadratic is None else cal.quadratic.tolist(),
                "matrix": None if cal.matrix is None else cal.matrix.tolist(),
                **_describe(self.plate)}
        Path(str(path) + ".json").write_text(json.dumps(meta, indent=1))
        return os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)

    # --- reading ----------------------------------------------------------------------------

    def blocks(self, timeout: float = 1.0, until_counter: int | None = None
               ) -> Iterator[SampleBlock]:
        """Sample blocks as data arrives; ends when nothing comes for ``timeout`` seconds, or
        once every row before ``until_counter`` (unwrapped) has been yielded."""
        while until_counter is None or self.next_row is None or self.next_row < until_counter:
            data = self._read(timeout)
            if not data:
                block = self.flush()
                if block is not None:
                    yield block
                return
            block = self.feed(data, time.monotonic_ns())
            if block is not None:
                yield block

    def _read(self, timeout: float) -> bytes:
        """The next bytes, up to MAX_BYTES_PER_BLOCK. A read that waited STALL_S or more for
        them is a stall (the bench's own pauses between reads are not the plate's); one that
        went through a reconnect is a disconnect, and the bytes after it start afresh."""
        rejected = self.plate.rejected
        if self._carry:  # the bytes before them are decoded by now
            (data, seconds), self._carry = self._carry, None
            self._reconnected(seconds)
            data = data or self.plate.read(timeout)
        else:
            began, before = time.monotonic_ns(), self.plate.reconnects
            data = self.plate.read(timeout)
            waited = (time.monotonic_ns() - began) / 1e9
            if self.plate.reconnects != before:
                self._reconnected(waited)
            elif data and waited >= STALL_S and self.next_row is not None:
                self.stats.stalls.append((self.next_row, waited))
        while data and len(data) < MAX_BYTES_PER_BLOCK:
            began, before = time.monotonic_ns(), self.plate.reconnects
            more = self.plate.read(0)
            if self.plate.reconnects != before:  # these bytes follow a reconnect: next time
                self._carry = (more, (time.monotonic_ns() - began) / 1e9)
                break
            if not more:
                break
            data += more
        self.stats.corrupt += self.plate.rejected - rejected  # lines garbled before framing
        return data

    def _reconnected(self, seconds: float) -> None:
        """The port came back: what was lost starts after the last counter seen, and a frame
        cut by the disconnect is not a corrupt one (the decoder starts afresh)."""
        self.stats.reconnects += 1
        first = int(self._last.min()) + 1 if self._seen.all() else (self.next_row or 0)
        self._resuming = Disconnect(first, None, seconds)
        self.stats.disconnects.append(self._resuming)
        self.decoder = protocol.FrameDecoder(self.plate.channels)
        self._cut_frame = True  # the new port may begin with the rest of a frame
        self._lead.forget()

    def feed(self, data: bytes, host_time_ns: int) -> SampleBlock | None:
        """Record and decode received bytes; the rows now complete on every plate, if any."""
        self._record(data)
        self.stats.bytes += len(data)
        decoded = self.decoder.feed(data)
        resyncs = decoded.resyncs
        if self._cut_frame and decoded.frames.size:  # skipping that rest is no resync
            resyncs, self._cut_frame = max(resyncs - 1, 0), False
        self.stats.corrupt += decoded.corrupt
        self.stats.resyncs += resyncs
        self.stats.skipped_bytes += decoded.skipped_bytes
        self._take(decoded.frames)
        if not self._seen.all():
            return None
        return self._emit(int(self._last.min()) + 1, host_time_ns)

    def stop(self) -> None:
        """Stop the plate mid-stream and take in what it sent before the stop took effect:
        those samples are not yielded, but their lost, corrupt and late frames count as any
        others' (the lines a text plate refused while stopping too)."""
        rejected = self.plate.rejected
        self.plate.stop()
        self.stats.corrupt += self.plate.rejected - rejected
        for _ in self.blocks(timeout=0.0):
            pass

    def flush(self) -> SampleBlock | None:
        """Everything still held (the stream ended): rows up to the last counter seen."""
        end = self.decoder.finish()
        self.stats.resyncs += end.resyncs
        self.stats.skipped_bytes += end.skipped_bytes
        self._sync()
        if not self._seen.any():
            return None
        block = self._emit(int(self._last[self._seen].max()) + 1, time.monotonic_ns())
        self._settle()
        return block

    def _settle(self) -> None:
        """Judge what is still held for the batched checks (stuck cells, clock lead): the
        stream ended, or its reader stopped (``issues()`` and ``close()`` call this)."""
        self._check_flat()
        self._note_drift(self._lead.settled(None, everything=True))

    def _record(self, data: bytes) -> None:
        if self._raw is None:
            return
        view = memoryview(data)
        while view:  # os.write may write less than asked
            view = view[os.write(self._raw, view):]
        if time.monotonic_ns() - self._last_sync >= self.fsync_interval_ns:
            self._sync()

    def _sync(self) -> None:
        if self._raw is not None:
            os.fsync(self._raw)
        self._last_sync = time.monotonic_ns()

    # --- frames → rows ----------------------------------------------------------------------

    def _take(self, frames: np.ndarray) -> None:
        if frames.size == 0:
            return
        self.stats.frames += frames.size
        if self._origin is None:
            self._origin = int(frames["counter"][0])
            self._last[:] = self._origin - 1
        unwrapped = np.full(frames.size, -1, dtype=np.int64)  # arrival order; -1: late frame
        for plate in range(self.plates):
            where = np.flatnonzero(frames["plate"] == plate)
            if where.size == 0:
                continue
            mine = frames[where]
            raw = mine["counter"].astype(np.int64)
            previous = np.concatenate(([(self._last[plate]) % protocol.COUNTER_MODULUS], raw[:-1]))
            # signed 32-bit steps, so the counter may wrap and a repeat shows as a step back
            steps = (raw - previous + (1 << 31)) % protocol.COUNTER_MODULUS - (1 << 31)
            counters = self._last[plate] + np.cumsum(steps)
            forward = counters > np.maximum.accumulate(
                np.concatenate(([self._last[plate]], counters[:-1])))
            self.stats.late += int(np.count_nonzero(~forward))
            counters, counts = counters[forward], mine["counts"][forward]
            if counters.size == 0:
                continue
            unwrapped[where[forward]] = counters
            self._seen[plate] = True
            self._last[plate] = counters[-1]
            old_c, old_n = self._pending[plate]
            self._pending[plate] = (np.concatenate((old_c, counters)),
                                    np.concatenate((old_n, counts)))
        taken = unwrapped >= 0
        if self._resuming is not None and taken.any():
            firsts = [unwrapped[taken & (frames["plate"] == p)][:1] for p in range(self.plates)]
            back = int(np.concatenate(firsts).max())  # every plate is back: the loss ends
            resumed = Disconnect(self._resuming.first, back - 1, self._resuming.seconds)
            self.stats.disconnects[self.stats.disconnects.index(self._resuming)] = resumed
            self._resuming = None
        if self.plates == 2:
            self._lead.feed(frames["plate"][taken], unwrapped[taken])
            self._note_drift(self._lead.settled(int(self._last.min()) if self._seen.all() else None))

    def _note_drift(self, windows: list[tuple[int, int]]) -> None:
        """Windows (first counter, lead) judged: runs at or past DRIFT_LEAD_SAMPLES are drift."""
        drifts = self.stats.drifts
        for first, lead in windows:
            self.stats.max_lead = max(self.stats.max_lead, lead)
            if lead < DRIFT_LEAD_SAMPLES:
                continue
            last = first + LEAD_WINDOW - 1
            if drifts and drifts[-1].last + 1 == first:  # the same drift, continued
                drifts[-1] = ClockDrift(drifts[-1].first, last, max(drifts[-1].max_lead, lead))
            else:
                drifts.append(ClockDrift(first, last, lead))

    def _check_flat(self) -> None:
        if self._flat:
            self._runs.feed(np.concatenate([c for c, _ in self._flat]),
                            np.concatenate([n for _, n in self._flat]), self._flat_start,
                            self.stats.stuck)
            self._flat, self._flat_rows = [], 0

    def _emit(self, end: int, host_time_ns: int) -> SampleBlock | None:
        start = self.next_row if self.next_row is not None else int(
            min(c[0] for c, _ in self._pending if c.size))
        if not self._flat:
            self._flat_start = start
        if end <= start:
            return None
        rows = end - start
        counts = np.full((rows, self.plates, self.plate.channels), np.nan)
        for plate in range(self.plates):
            counters, values = self._pending[plate]
            late = counters < start
            now = (counters >= start) & (counters < end)
            self.stats.late += int(np.count_nonzero(late))
            counts[counters[now] - start, plate] = values[now]
            self._pending[plate] = (counters[~(late | now)], values[~(late | now)])
        missing = np.isnan(counts[:, :, 0])
        saturated = np.abs(counts) >= protocol.ADC_FULL_SCALE
        self._note_saturation(saturated, start)
        cells = self.calibration.to_newtons(np.where(saturated, np.nan, counts))
        self.stats.lost += int(np.count_nonzero(missing))
        self._note_gaps(missing, start)
        self._flat.append((counts, cells))
        self._flat_rows += rows
        if self._flat_rows >= FLAT_CHECK_ROWS:
            self._check_flat()
        self.next_row = end
        return SampleBlock(start, cells.sum(axis=2), cells, host_time_ns)

    def _note_saturation(self, saturated: np.ndarray, start: int) -> None:
        """Runs of ADC full-scale samples: their newtons are unknown (NaN), and listed."""
        if not saturated.any():
            self._saturating[:] = -1
            return
        for plate, cell in zip(*np.nonzero(saturated.any(axis=0))):
            column = np.concatenate(([False], saturated[:, plate, cell], [False]))
            edges = np.flatnonzero(np.diff(column.astype(np.int8)))
            for first, stop in zip(edges[0::2], edges[1::2]):
                run = StuckCell(int(plate), int(cell), start + int(first), start + int(stop) - 1,
                                float("nan"), "saturation")
                open_run = int(self._saturating[plate, cell])
                if open_run >= 0 and first == 0:  # continues the last block's run
                    previous = self.stats.stuck[open_run]
                    self.stats.stuck[open_run] = StuckCell(
                        previous.plate, previous.cell, previous.first, run.last, previous.newtons,
                        "saturation")
                else:
                    self.stats.stuck.append(run)
                    open_run = len(self.stats.stuck) - 1
                self._saturating[plate, cell] = open_run if stop == saturated.shape[0] else -1
        self._saturating[~saturated[-1]] = -1

    def _note_gaps(self, missing: np.ndarray, start: int) -> None:
        if not missing.any():
            self._open_gaps = [None] * self.plates
            return
        for plate in range(self.plates):
            column = np.concatenate(([False], missing[:, plate], [False]))
            edges = np.flatnonzero(np.diff(column.astype(np.int8)))
            for first, stop in zip(edges[0::2], edges[1::2]):
                gap = Gap(plate, start + int(first), start + int(stop) - 1)
                open_gap = self._open_gaps[plate]
                if open_gap is not None and open_gap.last + 1 == gap.first:
                    gap = Gap(plate, open_gap.first, gap.last)  # the same gap, continued
                    self.stats.gaps[self.stats.gaps.index(open_gap)] = gap
                else:
                    self.stats.gaps.append(gap)
                self._open_gaps[plate] = gap

    # --- reporting --------------------------------------------------------------------------

    def issues(self, rate_hz: float, origin: int = 0) -> list[dict]:
        """Quality issues (hil.analysis codes) with times in seconds from counter ``origin``."""
        self._settle()
        s = self.stats
        t = lambda counter: (counter - origin) / rate_hz  # noqa: E731 - a unit conversion
        out = [{"code": "gap", "message": f"plate {g.plate}: {g.samples} sample(s) missing "
                f"(counters {g.first}-{g.last})", "start_s": t(g.first), "end_s": t(g.last + 1)}
               for g in s.gaps]
        if s.corrupt or s.resyncs:
            out.append({"code": "crc_error", "message": f"{s.corrupt} corrupt frame(s), "
                        f"{s.resyncs} resync(s), {s.skipped_bytes} byte(s) skipped",
                        "start_s": None, "end_s": None})
        out += [{"code": "stall", "message": f"no data for {seconds:.3f} s, then the backlog",
                 "start_s": t(row), "end_s": t(row)} for row, seconds in s.stalls]
        for d in s.disconnects:
            if d.last is None:
                lost, end = "no data came after it", None
            else:
                lost, end = (f"{d.last - d.first + 1} sample(s) lost with it (counters "
                             f"{d.first}-{d.last})" if d.last >= d.first else "nothing lost"), t(d.last + 1)
            out.append({"code": "disconnect", "message": f"the port went away for {d.seconds:.3f} s; "
                        + lost, "start_s": t(d.first), "end_s": end})
        out += [{"code": "clock_drift", "message": f"one plate ran up to {d.max_lead} samples "
                 f"ahead of the other (counters {d.first}-{d.last})",
                 "start_s": t(d.first), "end_s": t(d.last + 1)} for d in s.drifts]
        out += [{"code": c.kind, "message": f"plate {c.plate} cell {c.cell}: "
                 + (f"stuck at {c.newtons:.1f} N" if c.kind == "dead_cell" else "ADC full scale")
                 + f" for {c.last - c.first + 1} samples",
                 "start_s": t(c.first), "end_s": t(c.last + 1)} for c in s.stuck]
        return out

    def close(self) -> None:
        self._settle()
        if self._raw is not None:
            self._sync()
            os.close(self._raw)
            self._raw = None

    def __enter__(self) -> "Acquisition":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class _FlatRuns:
    """Cells stuck at one count while the plate's other cells move: dead or stuck. A run is
    reported once it is FLAT_RUN_SAMPLES long and extended until the cell moves again."""

    def __init__(self, plates: int, channels: int) -> None:
        self.value = np.full((plates, channels), np.nan)
        self.since = np.zeros((plates, channels), dtype=np.int64)
        self.others_moved = np.zeros((plates, channels), dtype=np.int64)
        self.reported = np.full((plates, channels), -1)  # index of the open run in ``stuck``

    def feed(self, counts: np.ndarray, cells: np.ndarray, start: int,
             stuck: list[StuckCell]) -> None:
        rows = counts.shape[0]
        moved = np.concatenate(((counts[:1] != self.value), counts[1:] != counts[:-1]))
        last_change = np.where(moved, np.arange(rows)[:, None, None], -1).max(axis=0)
        first_change = np.where(moved.any(axis=0), moved.argmax(axis=0), rows)
        changed = last_change >= 0
        for p, c in zip(*np.nonzero(self.reported >= 0)):  # open runs last until the cell moves
            run = stuck[self.reported[p, c]]
            stuck[self.reported[p, c]] = StuckCell(run.plate, run.cell, run.first,
                                                   start + int(first_change[p, c]) - 1,
                                                   run.newtons, run.kind)
        others = np.cumsum((moved.sum(axis=2, keepdims=True) - moved) > 0, axis=0)
        since_change = others[-1] - np.take_along_axis(
            others, np.maximum(last_change, 0)[None], axis=0)[0]
        self.since = np.where(changed, start + last_change, self.since)
        self.others_moved = np.where(changed, since_change, self.others_moved + others[-1])
        self.reported[changed] = -1
        self.value = counts[-1]
        length = start + rows - self.since
        new = ((length >= FLAT_RUN_SAMPLES) & (self.reported < 0)
               & (self.others_moved >= length // 2) & np.isfinite(cells[-1]))
        for p, c in zip(*np.nonzero(new)):
            stuck.append(StuckCell(int(p), int(c), int(self.since[p, c]), start + rows - 1,
                                   float(cells[-1, p, c]), "dead_cell"))
            self.reported[p, c] = len(stuck) - 1


class _LeadWindows:
    """How far one plate's counter runs ahead of the other's, judged per LEAD_WINDOW counters.

    For each frame, in arrival order: its counter minus the last counter the other plate had
    sent before it. Without skew that is 0 (right after left) or 1 (left after right); a lost
    frame of the other plate can only make it larger, so the smallest value over a window is
    the lead, unless every frame of one plate in the window was lost (then no judgement).
    """

    NONE = np.iinfo(np.int64).min // 2

    BATCH = 256  # frames are judged in batches: per call the cost would fall on every sample

    def __init__(self) -> None:
        self.latest = np.full(2, self.NONE, dtype=np.int64)  # last counter seen per plate
        self.open: dict[int, np.ndarray] = {}  # window → smallest difference per plate
        self.held: list[tuple[np.ndarray, np.ndarray]] = []  # (plates, counters) not yet judged
        self.held_frames = 0

    def forget(self) -> None:
        """After a reconnect the other plate's last counter says nothing about the next frame."""
        self._judge()
        self.latest[:] = self.NONE

    def feed(self, plates: np.ndarray, counters: np.ndarray) -> None:
        if counters.size:
            self.held.append((plates, counters))
            self.held_frames += counters.size
        if self.held_frames >= self.BATCH:
            self._judge()

    def _judge(self) -> None:
        if not self.held:
            return
        plates = np.concatenate([p for p, _ in self.held])
        counters = np.concatenate([c for _, c in self.held])
        self.held, self.held_frames = [], 0
        other = np.empty(counters.size, dtype=np.int64)
        for plate in (0, 1):
            mine = np.where(plates == plate, counters, self.NONE)
            seen = np.maximum.accumulate(np.concatenate(([self.latest[plate]], mine)))
            self.latest[plate] = seen[-1]
            other[plates == 1 - plate] = seen[:-1][plates == 1 - plate]
        known = other > self.NONE
        window = counters[known] // LEAD_WINDOW
        if window.size == 0:
            return
        low = int(window.min())
        smallest = np.full((int(window.max()) - low + 1, 2), np.iinfo(np.int64).max)
        np.minimum.at(smallest, (window - low, plates[known].astype(np.int64)),
                      counters[known] - other[known])
        for offset in np.flatnonzero((smallest < np.iinfo(np.int64).max).any(axis=1)):
            key = low + int(offset)
            self.open[key] = np.minimum(self.open.get(key, smallest[offset]), smallest[offset])

    def settled(self, behind: int | None, everything: bool = False) -> list[tuple[int, int]]:
        """(first counter, lead) of each window now complete: both plates are past it (the
        slower plate's last counter is ``behind``), or ``everything`` at the end."""
        if everything:
            self._judge()
        done = sorted(k for k in self.open
                      if everything or (behind is not None and (k + 2) * LEAD_WINDOW <= behind))
        out = []
        for key in done:
            smallest = self.open.pop(key)
            if (smallest < np.iinfo(np.int64).max).all():  # both plates gave evidence
                out.append((key * LEAD_WINDOW, int(smallest.max())))
        return out


def _describe(plate: Plate) -> dict:
    """The plate's identity and rate for a raw record's sidecar (None where it cannot say)."""
    out: dict = {"identity": None, "rate_hz": None}
    try:
        out["identity"], out["rate_hz"] = plate.identify(), plate.get_rate()
    except (PlateError, ValueError, TypeError):
        pass
    return out


class RawPlate(Plate):
    """A raw recording played back as if it were a plate (read only)."""

    def __init__(self, path: str | Path, chunk_bytes: int = 1 << 16) -> None:
        self.url = str(path)
        try:
            meta = json.loads(Path(str(path) + ".json").read_text())
            self.plates, self.channels = int(meta["plates"]), int(meta["channels"])
            extra = {k: None if meta.get(k) is None else np.array(meta[k], dtype=float)
                     for k in ("quadratic", "matrix")}
            self.calibration = protocol.Calibration(np.array(meta["scale"], dtype=float),
                                                    np.array(meta["offset"], dtype=float), **extra)
            self.identity, self.rate_hz = meta.get("identity"), meta.get("rate_hz")
            self.handle = open(path, "rb")
        except (OSError, ValueError, KeyError, TypeError) as error:
            raise PlateError(f"cannot read raw recording {path} (and its {Path(path).name}.json): "
                             f"{getattr(error, 'strerror', None) or error}") from None
        self.chunk_bytes = chunk_bytes

    def read_calibration(self) -> protocol.Calibration:
        return self.with_file(self.calibration)

    def identify(self) -> str:
        if not self.identity:
            raise PlateError(f"raw recording {self.url} does not say which plate made it")
        return self.identity

    def command(self, name: str, *args) -> str | None:
        """What a bench asks of any plate to stream: the rate must be the one recorded (when the
        record says it); start, stop and tare change nothing in a recording."""
        if name == "rate" and self.rate_hz is not None and float(args[0]) != float(self.rate_hz):
            raise PlateError(f"raw recording {self.url} was made at {float(self.rate_hz):g} Hz, "
                             f"not {float(args[0]):g} Hz")
        if name in ("rate", "start", "stop", "tare"):
            return None
        raise PlateError(f"a raw recording cannot take the command {name!r}")

    def read(self, timeout: float) -> bytes:
        return self.handle.read(self.chunk_bytes)

    def close(self) -> None:
        self.handle.close()
