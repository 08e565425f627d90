"""``forcebench plate-check URL``: the protocol conformance suite for plate firmware.

Runs every check of docs/plates.md's specification against a plate that claims the forcebench
protocol (serial or SCPI), prints a table as it goes and writes ``platecheck.json`` and
``platecheck.xml`` (JUnit). Exit 0 only when every required check passes, 1 when one fails,
2 when the plate cannot be reached at all. The emulator can be told to break the protocol
(``forcebench emulate serial --defect NAME``); tests/test_platecheck.py shows each is caught.
"""
from __future__ import annotations

import json
import time
import xml.etree.ElementTree as ET
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from . import protocol
from .drivers.base import Plate, PlateCommandError, PlateError

DEFAULT_RATES_HZ = (100.0, 500.0, 1000.0, 2000.0)
THROUGHPUT_TOLERANCE = 0.05  # samples per host second against the rate set
JITTER_LIMIT_S = 0.040  # p99 of arrival lag over its best (a 16 ms FTDI latency timer passes)
STREAM_S = 0.8
SLOW_READER_PAUSE_S = 2.0
WRAP_START = protocol.COUNTER_MODULUS - 150


@dataclass(frozen=True)
class CheckResult:
    name: str
    title: str
    required: bool
    passed: bool
    details: str
    measured: dict = field(default_factory=dict)
    seconds: float = 0.0


@dataclass(frozen=True)
class Stream:
    """What one start … stop gave: frames in arrival order and when each chunk arrived."""

    frames: np.ndarray
    arrivals: list[tuple[int, int, int]]  # (host ns, frames before it, frames with it) per chunk
    corrupt: int
    resyncs: int
    skipped: int

    def counters(self, plate: int) -> np.ndarray:
        return self.frames["counter"][self.frames["plate"] == plate].astype(np.int64)


class Failed(Exception):
    """A check's finding: the message is its details."""


class Session:
    """The plate under test and the raw access some checks need beyond the driver."""

    def __init__(self, plate: Plate, rates: Sequence[float], timeout: float) -> None:
        self.plate, self.rates, self.timeout = plate, tuple(rates), timeout
        self.dialect = "scpi" if hasattr(plate, "instrument") else "serial"
        self.streams: dict[float, Stream] = {}

    def raw(self, text: str) -> tuple[int, str]:
        """Send a line as it is; the error it caused (code 0: none)."""
        plate = self.plate
        if self.dialect == "serial":
            plate._send(text.encode("ascii") + b"\n")
            reply = plate._line(text)
            return protocol.parse_error(reply[4:]) if reply.startswith("ERR ") else (0, reply)
        if text.rstrip().endswith("?"):
            plate.instrument.query(text)
        else:
            plate.instrument.write(text)
        return protocol.parse_error(plate.instrument.query("SYST:ERR?"))

    def send_only(self, text: str) -> None:
        """A line sent while streaming (no reply is read)."""
        if self.dialect == "serial":
            self.plate._send(text.encode("ascii") + b"\n")
        else:
            self.plate.instrument.write(text)

    def stream(self, seconds: float, pause_s: float = 0.0) -> Stream:
        """Start, read for ``seconds`` (pausing ``pause_s`` after the first fifth: a slow reader),
        stop, and take what came before the stop was confirmed."""
        plate = self.plate
        decoder = protocol.FrameDecoder(plate.channels)
        pieces, arrivals, corrupt, resyncs, skipped, count = [], [], 0, 0, 0, 0
        plate.start()
        began = time.monotonic()
        paused = pause_s == 0
        while time.monotonic() - began < seconds + pause_s:
            if not paused and time.monotonic() - began > seconds / 5:
                time.sleep(pause_s)
                paused = True
            data = plate.read(0.05)
            now = time.monotonic_ns()
            decoded = decoder.feed(data)
            pieces.append(decoded.frames)
            corrupt, resyncs, skipped = (corrupt + decoded.corrupt, resyncs + decoded.resyncs,
                                         skipped + decoded.skipped_bytes)
            if decoded.frames.size:
                arrivals.append((now, count, count + decoded.frames.size))
            count += decoded.frames.size
        plate.stop()
        decoded = decoder.feed(plate.read(0.0))  # what the driver kept from before the stop
        pieces.append(decoded.frames)
        corrupt, resyncs = corrupt + decoded.corrupt, resyncs + decoded.resyncs
        end = decoder.finish()
        frames = np.concatenate(pieces) if pieces else np.zeros(0, protocol.frame_dtype(plate.channels))
        return Stream(frames, arrivals, corrupt, resyncs + end.resyncs, skipped + end.skipped_bytes)


CHECKS: list[tuple[str, str, bool, Callable[[Session], dict]]] = []


def check(name: str, title: str, required: bool = True):
    def register(function: Callable[[Session], dict]) -> Callable[[Session], dict]:
        CHECKS.append((name, title, required, function))
        return function
    return register


def _expect(condition: bool, message: str) -> None:
    if not condition:
        raise Failed(message)


def _steps(counters: np.ndarray) -> np.ndarray:
    return np.diff(counters) % protocol.COUNTER_MODULUS


@check("identify", "identification: maker,model,serial,firmware")
def _identify(session: Session) -> dict:
    reply = session.plate.identify()
    parts = [p.strip() for p in reply.split(",")]
    _expect(len(parts) == 4 and all(parts), f"identification {reply!r} is not four comma-separated fields")
    return {"identity": reply}


@check("status", "status: state, rate, plates, channels, counter")
def _status(session: Session) -> dict:
    status = session.plate.status()
    missing = [k for k in ("state", "rate", "plates", "channels", "counter") if k not in status]
    _expect(not missing, f"status lacks {', '.join(missing)}: {status}")
    _expect(status["state"] in ("idle", "done"), f"state {status['state']!r} while not streaming")
    _expect(status["plates"] in ("1", "2") and status["channels"].isdigit(),
            f"plates {status['plates']!r}, channels {status['channels']!r}")
    return {"status": status}


@check("commands", "every command: reset, rate, tare, calibration read and write, error queue")
def _commands(session: Session) -> dict:
    plate = session.plate
    plate.command("reset")
    plate.set_rate(1000.0)
    _expect(plate.get_rate() == 1000.0, f"rate? answers {plate.get_rate():g} after rate 1000")
    plate.tare()
    calibration = plate.read_calibration()
    _expect(calibration.scale.shape == (plate.plates, plate.channels),
            f"calibration has shape {calibration.scale.shape}, expected {(plate.plates, plate.channels)}")
    scale, offset = float(calibration.scale[0, 0]), float(calibration.offset[0, 0])
    plate.write_calibration(0, 0, scale * 1.5, offset + 10.0)
    back = plate.read_calibration()
    plate.write_calibration(0, 0, scale, offset)
    _expect(np.isclose(back.scale[0, 0], scale * 1.5, rtol=1e-6) and np.isclose(back.offset[0, 0], offset + 10.0),
            f"calibration written ({scale * 1.5!r}, {offset + 10.0!r}) reads back "
            f"({back.scale[0, 0]!r}, {back.offset[0, 0]!r})")
    _expect(plate.errors() == [], "the error queue is not empty after good commands")
    return {"calibration": calibration.scale.tolist()}


@check("errors", "refusals: unknown command -113, values out of range -222, queue drained")
def _errors(session: Session) -> dict:
    plate = session.plate
    cases = [("rate", (1.0,), -222), ("rate", (1e6,), -222), ("cal?", (plate.plates,), -222),
             ("cal", (0, 9, 0.001, 0.0), -222)]
    got = {"unknown command": session.raw("FROBNICATE" if session.dialect == "serial"
                                          else "SYST:FROB")[0]}
    for name, args, _ in cases:
        try:
            plate.command(name, *args)
            got[f"{name} {args}"] = 0
        except PlateCommandError as error:
            got[f"{name} {args}"] = error.code
    expected = dict(zip(got, [-113] + [code for *_, code in cases]))
    wrong = [f"{what} gave error {got[what]} (expected {want})" for what, want in expected.items()
             if got[what] != want]
    _expect(not wrong, "; ".join(wrong))
    _expect(session.plate.errors() == [], "errors left in the queue after each was read")
    return {"codes": got}


@check("frames", "frame format: sync, plate id, channel count, consecutive counters, CRC-16")
def _frames(session: Session) -> dict:
    plate = session.plate
    plate.set_rate(1000.0)
    stream = session.stream(0.5)
    frames = stream.frames
    _expect(frames.size > 0, f"no good frame in half a second of streaming ({stream.corrupt} "
                             "failed their CRC or channel count)")
    _expect(stream.corrupt == 0 and stream.resyncs == 0,
            f"{stream.corrupt} corrupt frames, {stream.resyncs} resyncs, {stream.skipped} bytes skipped")
    _expect(set(np.unique(frames["plate"]).tolist()) == set(range(plate.plates)),
            f"plate ids {sorted(set(frames['plate'].tolist()))}, expected 0..{plate.plates - 1}")
    first = [int(stream.counters(p)[0]) for p in range(plate.plates)]
    for p in range(plate.plates):
        steps = _steps(stream.counters(p))
        _expect(np.all(steps == 1), f"plate {p}: counter steps {sorted(set(steps.tolist()))[:5]}, expected 1")
    _expect(len(set(first)) == 1, f"the plates start at different counters {first}")
    _expect(first[0] == 0, f"the first frame after reset and start has counter {first[0]}, expected 0")
    return {"frames": int(frames.size), "bytes_per_frame": protocol.frame_size(plate.channels)}


@check("counter-wrap", "counter: preset near 2**32 (CNT), wraps to 0 with no step lost")
def _wrap(session: Session) -> dict:
    plate = session.plate
    plate.set_rate(1000.0)
    try:
        plate.command("counter", WRAP_START)
    except PlateCommandError as error:
        raise Failed(f"the counter preset is refused ({error.code} {error.message})") from None
    try:
        stream = session.stream(0.4)
    finally:
        plate.command("counter", 0)
    counters = stream.counters(0)
    _expect(counters.size > 200, f"only {counters.size} frames")
    _expect(int(counters[0]) == WRAP_START, f"first counter {int(counters[0])}, preset {WRAP_START}")
    steps = _steps(counters)
    _expect(np.all(steps == 1) and np.any(counters < counters[0]),
            f"across the wrap the counter stepped by {sorted(set(steps.tolist()))[:5]} "
            f"(last {int(counters[-1])})")
    return {"first": int(counters[0]), "last": int(counters[-1])}


def _rate_streams(session: Session) -> dict[float, Stream]:
    if not session.streams:
        for rate in session.rates:
            session.plate.set_rate(rate)
            echoed = session.plate.get_rate()
            if echoed != rate:
                raise Failed(f"rate {rate:g} set, rate? answers {echoed:g}")
            session.streams[rate] = session.stream(max(STREAM_S, 400 / rate))
    return session.streams


@check("rates", "every rate: set and echoed, throughput within 5 %, no frame lost")
def _rates(session: Session) -> dict:
    measured, problems = {}, []
    for rate, stream in _rate_streams(session).items():
        counters = stream.counters(0)
        lost = int(np.sum(_steps(counters) - 1)) if counters.size > 1 else 0
        _expect(len(stream.arrivals) >= 4, f"{rate:g} Hz: frames came in only {len(stream.arrivals)} pieces")
        (t0, _, n0), (t1, _, n1) = stream.arrivals[1], stream.arrivals[-2]
        frames_per_tick = max(1, session.plate.plates)
        achieved = (n1 - n0) / frames_per_tick / ((t1 - t0) / 1e9)
        measured[f"{rate:g}"] = {"samples_per_s": round(achieved, 1), "lost": lost}
        if abs(achieved / rate - 1) > THROUGHPUT_TOLERANCE:
            problems.append(f"{rate:g} Hz set, {achieved:.1f} samples/s arrived")
        if lost:
            problems.append(f"{rate:g} Hz: {lost} frames lost")
    _expect(not problems, "; ".join(problems))
    return measured


@check("jitter", f"timing at every rate: arrival lag p99 within {1000 * JITTER_LIMIT_S:g} ms of its best")
def _jitter(session: Session) -> dict:
    measured, problems = {}, []
    for rate, stream in _rate_streams(session).items():
        _expect(len(stream.arrivals) >= 4, f"{rate:g} Hz: frames came in only {len(stream.arrivals)} pieces")
        times = np.array([t for t, _, _ in stream.arrivals], dtype=np.int64)
        # the first sample of each piece has waited longest: its lag behind the plate's clock
        firsts = np.array([n for _, n, _ in stream.arrivals]) // max(1, session.plate.plates)
        lag = (times - times[0]) / 1e9 - (firsts - firsts[0]) / rate
        spread = float(np.percentile(lag - lag.min(), 99)) if lag.size >= 100 else float(np.max(lag - lag.min()))
        measured[f"{rate:g}"] = {"lag_p99_s": spread, "chunks": int(lag.size)}
        if spread > JITTER_LIMIT_S:
            problems.append(f"{rate:g} Hz: samples arrive up to {1000 * spread:.0f} ms late (p99)")
    _expect(not problems, "; ".join(problems))
    return measured


@check("busy", "while streaming: other commands refused and queued (-200), settings unchanged")
def _busy(session: Session) -> dict:
    plate = session.plate
    plate.set_rate(1000.0)
    plate.start()
    time.sleep(0.1)
    session.send_only("RATE 500" if session.dialect == "serial" else "CONF:RATE 500")
    time.sleep(0.1)
    # SCPI answers SYST:ERR? while streaming (a setting's error is read at once); serial
    # queues it until the stop
    errors = plate.errors() if session.dialect == "scpi" else []
    plate.stop()
    while plate.read(0.05):
        pass
    errors += plate.errors()
    rate = plate.get_rate()
    _expect(rate == 1000.0, f"a rate sent while streaming was carried out (rate? {rate:g})")
    _expect(any(code == -200 for code, _ in errors), f"no -200 queued for it (queue: {errors})")
    return {"errors": errors}


@check("restart", "start, stop, start again: the counter starts again from its preset")
def _restart(session: Session) -> dict:
    session.plate.set_rate(1000.0)
    first, second = session.stream(0.2), session.stream(0.2)
    starts = [int(s.counters(0)[0]) if s.frames.size else None for s in (first, second)]
    _expect(None not in starts, "a start gave no frames")
    _expect(starts[0] == starts[1] == 0, f"first counters after each start: {starts}, expected 0 and 0")
    return {"first_counters": starts}


@check("stop", "stop: nothing after the stop is confirmed, state idle")
def _stop(session: Session) -> dict:
    plate = session.plate
    plate.set_rate(1000.0)
    session.stream(0.2)
    late = b""
    deadline = time.monotonic() + 0.3
    while time.monotonic() < deadline:
        late += plate.read(0.05)
    state = plate.status()["state"]
    _expect(not late, f"{len(late)} bytes arrived after the stop was confirmed")
    _expect(state != "streaming", "status says streaming after stop")
    return {"state": state}


@check("slow-reader", f"a reader that pauses {SLOW_READER_PAUSE_S:g} s: nothing lost, or every loss counted")
def _slow_reader(session: Session) -> dict:
    plate = session.plate
    plate.set_rate(1000.0)
    before = plate.status()
    stream = session.stream(0.5, pause_s=SLOW_READER_PAUSE_S)
    after = plate.status()
    counters = stream.counters(0)
    lost = int(np.sum(_steps(counters) - 1)) if counters.size > 1 else 0
    counted = sum(int(after.get(k, 0)) - int(before.get(k, 0)) for k in ("overflow",))
    _expect(counters.size > 0, "no frames")
    _expect(lost == 0 or lost == counted,
            f"{lost} samples missing after the pause, status counts {counted} overflowed")
    return {"lost": lost, "overflow_counted": counted, "frames": int(counters.size)}


def run_checks(session: Session, only: Sequence[str] = (),
               on_result: Callable[[CheckResult], None] | None = None) -> list[CheckResult]:
    results = []
    for name, title, required, function in CHECKS:
        if only and name not in only:
            continue
        began = time.monotonic()
        try:
            measured, passed, details = function(session), True, "ok"
        except Failed as finding:
            measured, passed, details = {}, False, str(finding)
        except ValueError as error:  # PlateError, or a reply the protocol cannot parse
            measured, passed, details = {}, False, f"the plate failed: {error}"
            _recover(session)
        result = CheckResult(name, title, required, passed, details, measured,
                             time.monotonic() - began)
        results.append(result)
        if on_result is not None:
            on_result(result)
    return results


def _recover(session: Session) -> None:
    """After a failed check the plate may still stream: stop it, drain it, carry on."""
    try:
        session.plate.stop()
        while session.plate.read(0.05):
            pass
        session.plate.errors()
    except PlateError:
        pass


def row(result: CheckResult) -> str:
    mark = "PASS" if result.passed else ("FAIL" if result.required else "warn")
    return f"  {mark}  {result.name:<13} {result.details if not result.passed else result.title}"


def write_reports(directory: Path, url: str, identity: str | None, dialect: str,
                  results: Sequence[CheckResult]) -> tuple[Path, Path]:
    directory.mkdir(parents=True, exist_ok=True)
    passed = all(r.passed for r in results if r.required)
    record = {"plate": url, "identity": identity, "dialect": dialect, "passed": passed,
              "checks": [asdict(r) for r in results]}
    json_path = directory / "platecheck.json"
    json_path.write_text(json.dumps(record, indent=1, default=_plain))
    suite = ET.Element("testsuite", name="plate-check", tests=str(len(results)),
                       failures=str(sum(not r.passed for r in results)))
    suite.set("time", f"{sum(r.seconds for r in results):.3f}")
    for result in results:
        case = ET.SubElement(suite, "testcase", classname=f"plate-check.{url}", name=result.name,
                             time=f"{result.seconds:.3f}")
        if not result.passed:
            ET.SubElement(case, "failure", message=result.details).text = result.title
    xml_path = directory / "platecheck.xml"
    ET.ElementTree(suite).write(xml_path, encoding="utf-8", xml_declaration=True)
    return json_path, xml_path


def _plain(value):
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    raise TypeError(f"not JSON: {type(value).__name__}")
