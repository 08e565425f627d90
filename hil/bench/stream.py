"""Stage 2, stream: a segment → the plate → acquisition → one streaming analyser per trial.

Blocks from the acquisition are cut at the trials' first sample counters (``Router``) and fed
to one ``StreamingAnalyser`` per trial (``TrialRun``); each result is stamped with the host's
``time.monotonic_ns()`` when the analyser returned it. The stream's own record (frames, issues,
the emulator's timing log, when each block arrived) is a ``StreamOutcome``.
"""
from __future__ import annotations

import contextlib
import functools
import gc
import os
import tempfile
import time
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, Callable, Iterator, Sequence

import numpy as np

from hil.acquire import Acquisition
from hil.analysis.result import Issue, Result
from hil.analysis.streaming import MAX_BLOCK, StreamingAnalyser
from hil.bench.plan import Segment, drop_height
from hil.bench.settings import BenchError, Settings
from hil.emulator.faults import Fault
from hil.bench.tally import Tally
from hil.emulator.timing import TIMING_DTYPE
from hil.drivers.base import PlateError
from hil.plates import is_emulated, open_plate, transport
from hil.progress import Progress
from sim.scenario import TrialPlan
from sim.trial import Truth


class TraceSpool:
    """Finished trials' samples as acquired, on disk (a scratch file) until the report picks the
    ones it plots: a long scenario keeps no trial's samples in memory once it is done."""

    def __init__(self, plates: int) -> None:
        self.plates = plates
        self._file = tempfile.TemporaryFile(prefix="forcebench-traces-")

    def put(self, start: int, force: np.ndarray) -> None:
        os.pwrite(self._file.fileno(), np.ascontiguousarray(force, dtype="<f8").tobytes(),
                  start * self.plates * 8)

    def get(self, start: int, samples: int) -> np.ndarray:
        data = os.pread(self._file.fileno(), samples * self.plates * 8, start * self.plates * 8)
        return np.frombuffer(data, dtype="<f8").reshape(samples, self.plates)

    def close(self) -> None:
        self._file.close()

    def __enter__(self) -> "TraceSpool":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


@dataclass
class TrialRun:
    """A trial's life during the replay: the samples it has been fed and the results it gave.
    With a spool, a finished trial's samples go to it and its analyser is let go."""

    plan: TrialPlan
    truth: Truth
    start: int  # first sample in the stream
    analyser: Any  # a StreamingAnalyser (or anything with its feed/finish); None: made when fed
    samples: int
    plates: int
    spool: TraceSpool | None = None
    make_analyser: Callable[[], Any] | None = None  # what makes it, at the trial's first sample
    force: np.ndarray | None = None  # (samples, plates) as acquired, NaN where nothing arrived
    fed: int = 0
    holes: list[tuple[float, float]] = field(default_factory=list)  # see hole_spans, once done
    results: list[tuple[Result, int]] = field(default_factory=list)  # (Result, emitted monotonic ns)
    acquisition_issues: list[Issue] = field(default_factory=list)
    compute_s: list[float] = field(default_factory=list)  # compute latency of each timed result
    movement_s: list[float] = field(default_factory=list)  # movement latency, where defined
    session_s: list[float] = field(default_factory=list)  # compute latency of a session summary
    analysis_s: list[float] = field(default_factory=list)  # time inside the analyser per result
    crash: str | None = None  # why the analyser stopped, if it raised

    @property
    def stop(self) -> int:
        return self.start + self.samples

    @property
    def done(self) -> bool:
        return self.fed >= self.samples

    def feed(self, rows: np.ndarray) -> None:
        """The trial's next samples (NaN rows where acquisition lost them)."""
        if self.force is None:
            self.force = np.full((self.samples, self.plates), np.nan)
            if self.analyser is None and self.make_analyser is not None:
                self.analyser = self.make_analyser()  # not before: an analyser holds buffers
        self.force[self.fed:self.fed + rows.shape[0]] = rows
        self.fed += rows.shape[0]
        for first in range(0, rows.shape[0], MAX_BLOCK):
            self._call(self.analyser.feed, rows[first:first + MAX_BLOCK])
        if self.done:
            self._call(self.analyser.finish)
            self.holes = hole_spans(self.force, self.plan.rate_hz)
            if self.spool is not None:
                self.spool.put(self.start, self.force)
                self.force = self.analyser = None

    def trace(self) -> np.ndarray:
        """The samples it was fed (samples, plates)."""
        return self.spool.get(self.start, self.samples) if self.force is None else self.force

    def _call(self, method: Callable[..., Sequence[Result]], *args: Any) -> None:
        """Run the analyser; if it crashes, the trial fails with the reason (the bench goes on)."""
        if self.crash is not None:
            return
        began = time.monotonic_ns()
        try:
            results = method(*args)
        except Exception as error:  # the analysis is the thing under test: record, do not die
            self.crash = f"the analysis raised {type(error).__name__}: {error}"
            return
        if results:
            now = time.monotonic_ns()
            self.results += [(result, now) for result in results]
            self.analysis_s += [(now - began) / 1e9] * len(results)


def hole_spans(force: np.ndarray, rate_hz: float) -> list[tuple[float, float]]:
    """(start_s, end_s) of every run of samples where any plate has no data."""
    missing = ~np.isfinite(force).all(axis=1)
    edges = np.flatnonzero(np.diff(np.concatenate(([0], missing.view(np.int8), [0]))))
    return [(start / rate_hz, (stop - 1) / rate_hz) for start, stop in zip(edges[0::2], edges[1::2])]


def new_runs(segment: Segment, plates: int, spool: TraceSpool | None = None) -> list[TrialRun]:
    """One TrialRun per trial of the segment, each with its own streaming analyser (made when
    its first sample comes)."""
    return [TrialRun(plan, truth, start, None, samples, plates, spool, functools.partial(
                StreamingAnalyser, plan.test, segment.rate_hz, plates=plates,
                drop_height_m=drop_height(plan)))
            for plan, truth, start, samples in zip(segment.plans, segment.truths, segment.starts,
                                                   segment.lengths)]


class Router:
    """Cuts the acquired stream at trial boundaries (by sample index) and feeds each trial."""

    def __init__(self, runs: list[TrialRun], samples: int) -> None:
        self.runs, self.samples = runs, samples
        self.position = 0  # next stream sample expected
        self.current = 0  # index of the first trial not yet complete

    def feed(self, first: int, rows: np.ndarray) -> None:
        """Rows of the stream starting at sample ``first``; missing samples become NaN rows."""
        if first > self.position:  # a hole the acquisition did not fill: fill it here
            self._advance(np.full((first - self.position, rows.shape[1]), np.nan))
        skip = self.position - first  # rows already seen (a repeat after a resync)
        if skip < rows.shape[0]:
            self._advance(rows[max(skip, 0):])

    def _advance(self, rows: np.ndarray) -> None:
        start = self.position
        self.position += rows.shape[0]
        while self.current < len(self.runs) and rows.shape[0]:
            run = self.runs[self.current]
            begin = max(run.start + run.fed, start)
            end = min(run.stop, self.position)
            if begin >= self.position:
                break
            if end > begin:
                run.feed(rows[begin - start:end - start])
            if run.done:
                self.current += 1
            else:
                break

    def finish(self) -> None:
        """The stream ended: whatever a trial did not receive is a hole (NaN) to the end."""
        if self.position < self.samples:
            plates = self.runs[0].plates if self.runs else 1
            self._advance(np.full((self.samples - self.position, plates), np.nan))


@dataclass(frozen=True)
class Frames:
    """Frame counts of a stream: what the emulator sent (when it is ours) and what arrived."""

    received: int = 0
    lost: int = 0
    corrupt: int = 0
    resyncs: int = 0
    late: int = 0
    sent: int | None = None  # known for our own emulator only
    dropped_by_fault: int | None = None
    # our text-plate emulator's line faults, in lines (unseen: dropped or garbled before the
    # first or after the last intact line, which no reader can count as lost)
    lines_garbled: int | None = None
    lines_reordered: int | None = None
    lines_unseen: int | None = None

    def __add__(self, other: "Frames") -> "Frames":
        def add(a: int | None, b: int | None) -> int | None:
            return None if a is None and b is None else (a or 0) + (b or 0)
        return Frames(**{f.name: add(getattr(self, f.name), getattr(other, f.name))
                         for f in fields(self)})

    def to_dict(self) -> dict[str, int]:
        order = ("sent", "dropped_by_fault", "lines_garbled", "lines_reordered", "lines_unseen",
                 "received", "lost", "corrupt", "resyncs", "late")
        return {name: getattr(self, name) for name in order if getattr(self, name) is not None}


@dataclass(frozen=True)
class StreamOutcome:
    """What one stream through the plate left behind, besides the trials' samples and results."""

    identity: str
    clock: str  # what the timing log's times are: "written" (to the wire) or "sampled" (by the plate)
    counter0: int
    frames: Frames
    issues: tuple[Issue, ...]  # acquisition issues, times in seconds of the stream
    timing: np.ndarray | Path  # the timing log's records, or its file (read in chunks: timing_chunks)
    received_s: float  # seconds of data that arrived (up to the last sample received)
    stream_s: float  # from START to the last sample
    wall_s: float  # including starting the emulator and stopping
    sample_latency_s: Tally  # per sample: arrival at the bench − write (see sample_latencies)
    clock_problem: str | None = None  # why the timing log cannot be the host's clock, if it cannot
    lost_plate: str | None = None  # why the plate was lost mid-run (killed, unplugged, timed out)


def stream_segment(segment: Segment, url: str, settings: Settings, *, plates: int,
                   faults: Sequence[Fault], directory: Path, suffix: str,
                   router: Router, progress: Progress | None) -> StreamOutcome:
    """Stream one segment through the plate at ``url`` and feed what arrives to the router.

    An emulated plate is started with the segment as its source (one pass), the scenario's
    faults and a timing log. Any other URL must already be streaming the same source when
    started (an emulator you run yourself), or be given it with the protocol's playback
    command (``settings.playback``); latency is then measured only if ``settings.timing_log``
    gives its write times.
    """
    emulated = is_emulated(url)
    paths = {name: directory / f"{name}{suffix}.bin" for name in ("timing", "raw")}
    for path in (paths["timing"], paths["raw"]):
        path.unlink(missing_ok=True)  # both files are append-only: start them afresh
    if not emulated:
        paths["timing"] = settings.timing_log
    options: dict[str, Any] = dict(source=segment.source, fast=settings.fast, faults=tuple(faults),
                                   timing_log=paths["timing"], once=True) if emulated else {}
    started = time.monotonic()
    opened_ns = time.monotonic_ns()
    with open_plate(url, timeout=settings.timeout_s, calibration=settings.calibration,
                    **options) as plate:
        identity = plate.identify()
        if plate.plates != plates:
            raise BenchError(f"plate {url} has {plate.plates} plate(s), the scenario needs {plates}")
        plate.set_rate(segment.rate_hz)
        if settings.playback:  # the plate streams the segment through its own processing
            plate.playback(segment.cells, segment.rate_hz)
        with Acquisition(plate, paths["raw"]) as acquisition, heap_frozen():
            plate.start()
            streaming = time.monotonic()
            counter0 = 0 if emulated else None  # the emulator counts from 0; others: first frame
            blocks = acquisition.blocks(timeout=settings.timeout_s,
                                        until_counter=segment.samples if emulated else None)
            arrivals: list[tuple[int, int, int]] = []  # (first sample, rows, host ns) per block
            lost_plate = None
            try:
                for block in blocks:
                    if counter0 is None:
                        counter0 = block.first_counter
                    arrivals.append((block.first_counter - counter0, block.force.shape[0],
                                     block.host_time_ns))
                    router.feed(block.first_counter - counter0, block.force)
                    if progress is not None:
                        progress.update(router.position)
                    if router.position >= segment.samples:
                        break
            except PlateError as error:  # mid-run: what arrived is kept, scored and reported
                if counter0 is None:
                    raise
                lost_plate = str(error)
                tail = acquisition.flush()  # its raw record stays closed and intact below
                if tail is not None:
                    router.feed(tail.first_counter - counter0, tail.force)
            if counter0 is None:
                raise BenchError(f"plate {url} sent no samples within {settings.timeout_s:g} s of starting")
            stream_s = time.monotonic() - streaming
            ended_early = router.position < segment.samples
            received = router.position
            router.finish()
            if progress is not None:
                progress.close(received)
            frames = _frames(plate, acquisition.stats, emulated and lost_plate is None)
            issues = [Issue(**issue) for issue in acquisition.issues(segment.rate_hz, origin=counter0)]
    if lost_plate is not None:
        issues.append(Issue("disconnect", f"the plate was lost after {received} of "
                            f"{segment.samples} samples: {lost_plate}", received / segment.rate_hz,
                            segment.samples / segment.rate_hz))
    if ended_early:
        issues.append(Issue("gap", f"the plate stopped streaming after {received} of "
                            f"{segment.samples} samples", received / segment.rate_hz,
                            segment.samples / segment.rate_hz))
    timing = paths["timing"]
    clock = "sampled" if transport(url) == "scpi" else "written"  # see hil/emulator/timing.py
    return StreamOutcome(identity, clock, counter0, frames, tuple(issues), timing,
                         received / segment.rate_hz, stream_s, time.monotonic() - started,
                         sample_latencies(arrivals, timing, counter0),
                         clock_problem(timing, opened_ns, time.monotonic_ns()), lost_plate)


TIMING_CHUNK = 1 << 16  # timing records read at a time: a long stream's log is never read whole


def timing_chunks(timing: np.ndarray | Path | None) -> Iterator[np.ndarray]:
    """The timing log's records (an array, or the log file), a chunk at a time; a record being
    written at the end of the file is left out."""
    if timing is None:
        return
    if isinstance(timing, np.ndarray):
        yield from (timing[first:first + TIMING_CHUNK] for first in range(0, timing.size, TIMING_CHUNK))
        return
    if not Path(timing).exists():
        return
    with open(timing, "rb") as log:
        while data := log.read(TIMING_CHUNK * TIMING_DTYPE.itemsize):
            usable = len(data) - len(data) % TIMING_DTYPE.itemsize
            if usable:
                yield np.frombuffer(data[:usable], dtype=TIMING_DTYPE)


@contextlib.contextmanager
def heap_frozen() -> Iterator[None]:
    """While streaming, the garbage collector walks only what the stream makes, not the whole
    heap before it (a test session's: a full collection of it paused results by ~50 ms)."""
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


def clock_problem(timing: np.ndarray | Path | None, opened_ns: int, ended_ns: int) -> str | None:
    """Why the timing log cannot hold this stream's times on the host's monotonic clock (its
    times fall outside the time the plate was open), or None."""
    ranges = [(int(c["write_ns"].min()), int(c["write_ns"].max())) for c in timing_chunks(timing)]
    if not ranges:
        return None
    first, last = min(r[0] for r in ranges), max(r[1] for r in ranges)
    if first < opened_ns or last > ended_ns:
        return (f"the timing log's times lie outside this stream ({(first - opened_ns) / 1e9:+.3f} s "
                f"to {(last - ended_ns) / 1e9:+.3f} s from its ends): another clock, or another run")
    return None


def sample_latencies(arrivals: Sequence[tuple[int, int, int]], timing: np.ndarray | Path | None,
                     counter0: int) -> Tally:
    """Per sample: host time its block reached the bench − the emulator's write time (s).
    The wire and acquisition share of the end-to-end latency, over every sample."""
    tally = Tally()
    if not arrivals:
        return tally
    firsts, rows, host_ns = (np.array(column, dtype=np.int64) for column in zip(*arrivals))
    order = np.argsort(firsts, kind="stable")
    firsts, rows, host_ns = firsts[order], rows[order], host_ns[order]
    for chunk in timing_chunks(timing):
        index, write_ns = written_at(chunk, counter0)
        block = np.maximum(np.searchsorted(firsts, index, side="right") - 1, 0)
        arrived = (index >= firsts[block]) & (index < firsts[block] + rows[block])
        tally.add((host_ns[block[arrived]] - write_ns[arrived]) / 1e9)
    return tally


def write_times(timing: np.ndarray | Path | None, counter0: int, wanted: np.ndarray) -> np.ndarray:
    """The write time (ns) of each wanted stream sample index, from the timing log (its latest
    record of that sample); -1 where it has none."""
    found = np.full(wanted.size, -1, dtype=np.int64)
    for chunk in timing_chunks(timing):
        index, write_ns = written_at(chunk, counter0)
        at = np.minimum(np.searchsorted(index, wanted), max(index.size - 1, 0))
        hit = index[at] == wanted if index.size else np.zeros(wanted.size, dtype=bool)
        found[hit] = write_ns[at[hit]]
    return found


def written_at(timing: np.ndarray, counter0: int) -> tuple[np.ndarray, np.ndarray]:
    """(stream sample index, write ns) from timing records, sorted, the latest write per index."""
    index = (timing["counter"].astype(np.int64) - counter0) % (1 << 32)
    latest_first = np.argsort(index[::-1], kind="stable")
    unique, first = np.unique(index[::-1][latest_first], return_index=True)
    return unique, timing["write_ns"][::-1][latest_first][first]


def _frames(plate: Any, stats: Any, emulated: bool) -> Frames:
    counted = dict(received=stats.frames, lost=stats.lost, corrupt=stats.corrupt,
                   resyncs=stats.resyncs, late=stats.late)
    if emulated:  # the emulator counts what it sent and what its faults dropped on purpose
        try:
            plate.stop()
            status = plate.status()
            lines = {f"lines_{k}": int(status[f"injected_{k}"])
                     for k in ("garbled", "reordered", "unseen") if f"injected_{k}" in status}
            return Frames(**counted, sent=int(status["sent"]),
                          dropped_by_fault=int(status["dropped"]), **lines)
        except (ValueError, KeyError):
            pass
    return Frames(**counted)
