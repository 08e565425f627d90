"""Stage 2 with an electrical stimulus: the segment → bridge signals → waveform generators →
the plate's electronics → acquisition → the streaming analysers.

The segment's cells are framed by two markers (hil.stimulus.bridge), each sample held 4 points
at 4x the rate (the plate reads it exactly, whatever its phase), turned into volts through the
cells' sensitivity and excitation, uploaded to the generators and armed. The plate is tared
(the generators idle at zero load), started, and once its first samples arrive the generators
get their one trigger. The first marker found in the stream says where the data begins (the
router is fed from there); the second gives the plate's clock error against the generators'.

Stimulus out: a sample leaves the generators at trigger + its index / rate. The trigger's time
is when the generators fired: the emulated rig announces it (its own record on the host's
monotonic clock, as an emulated plate's timing log records its writes); real generators do not
say, so it is the host's time just before ``*TRG`` was sent, and the trigger's trip to the
instrument counts as latency (an upper bound). That time takes the place of the emulator's write
time, so latency is "stimulus out → result", and the sample latency "stimulus out → row at the
bench". The record keeps both times (``trigger``), so the trip is visible where it is known.
"""
from __future__ import annotations

import math
import time
from dataclasses import replace
from pathlib import Path
from typing import Sequence

import numpy as np

from hil.acquire import Acquisition
from hil.analysis.result import Issue
from hil.bench.plan import Segment
from hil.bench.settings import BenchError, Settings
from hil.bench.stream import Router, StreamOutcome, _frames, heap_frozen, sample_latencies
from hil.drivers.base import Plate
from hil.emulator.faults import Fault, FaultError
from hil.emulator.process import EmulatorProcess
from hil.emulator.rig import TRIGGERED, rig_faults
from hil.emulator.timing import TIMING_DTYPE
from hil.plates import EMULATED_TEXT, open_plate, plate_file
from hil.progress import Progress
from hil.stimulus.align import align, first_tick, marker_centre, marker_height, template_centre
from hil.stimulus.awg import Generators
from hil.stimulus.bridge import Stimulus, build_stimulus, marker

EMULATED = "emulated-awg"
# Stimulus out → result adds to the scenario's write → result limit: the plate's ADC samples an
# output up to one sample period after it appears (1 ms at 1000 Hz) and its firmware frames it;
# a real generator's trigger, stamped on the host before it is sent, takes its trip too.
ALLOWANCE_MS = 5.0
GUARD_S = 0.02  # trial edges held into the gaps (guard_edges)
CHANNELS_PER_EMULATED_AWG = 4


def guard_edges(stimulus: Stimulus, segment: Segment) -> Stimulus:
    """Hold each trial's first and last values ``GUARD_S`` into the quiet gaps around it: a trial
    cut a sample early or late (the markers place the plate to a quarter sample; its clock may
    drift until the second marker measures it) would otherwise begin or end on the unloaded gap,
    which biases the weighing (and a generator's reconstruction filter spreads a step)."""
    cells = stimulus.cells.copy()
    guard = max(1, int(round(GUARD_S * segment.rate_hz)))
    bounds = [(stimulus.data_start + start, stimulus.data_start + start + samples)
              for start, samples in zip(segment.starts, segment.lengths)]
    for number, (first, stop) in enumerate(bounds):
        before = first - (bounds[number - 1][1] if number else stimulus.markers[0] + len(marker(segment.rate_hz)))
        after = (bounds[number + 1][0] if number + 1 < len(bounds) else stimulus.markers[1]) - stop
        ahead, behind = min(guard, before // 2), min(guard, after // 2)
        cells[first - ahead:first] = cells[first]
        cells[stop:stop + behind] = cells[stop - 1]
    return replace(stimulus, cells=cells)


def check_settings(scenario, settings: Settings) -> None:
    """What a stimulus run cannot do, refused before anything starts."""
    if settings.fast:
        raise BenchError("--stimulus plays in real time: --fast does not apply")
    if settings.timing_log is not None:
        raise BenchError("--stimulus times samples by its trigger: --timing-log does not apply")
    emulated = settings.stimulus.startswith(EMULATED)
    text = bool(settings.plate_url) and settings.plate_url.startswith(EMULATED_TEXT)
    if emulated and settings.plate_url and not text:
        raise BenchError(f"{EMULATED} drives its own emulated front end: leave out --plate, "
                         f"or give {EMULATED_TEXT}PLATE_FILE for one that prints text lines")
    if not scenario.faults:
        return
    if not emulated:
        raise BenchError(f"{scenario.source}: faults are injected by emulated plates; real "
                         "generators drive a plate that is tested as it is (faults need "
                         f"--stimulus {EMULATED}, front-end defects {EMULATED}:...)")
    try:
        rig_faults(scenario.faults, text)
    except FaultError as error:
        raise BenchError(f"{scenario.source}: {error}") from None


def clock_reasons(played: list[dict], limit_ppm: float) -> list[str]:
    """The plate's clock against the generators', out of its limit (or not measurable)."""
    reasons = []
    for item in played:
        ppm = item["alignment"]["clock_ppm"]
        if ppm is None:
            reasons.append(f"the stimulus's second marker never arrived at {item['rate_hz']:g} Hz: "
                           "the plate's clock could not be checked")
        elif abs(ppm) > limit_ppm:
            reasons.append(f"plate clock {ppm:+.0f} ppm against the stimulus at "
                           f"{item['rate_hz']:g} Hz (limit ±{limit_ppm:g} ppm)")
    return reasons


def emulated_rig(stimulus: str, plates: int, rate_hz: float, timeout: float,
                 plate_url: str | None = None, faults: Sequence[Fault] = (),
                 lead_in_s: float = 0.0) -> tuple[list[str], Plate]:
    """Start the emulated rig (``emulated-awg`` or ``emulated-awg:gain_error=0.02,...``): its
    generators' resources, and its front end opened as the plate; with ``plate_url``
    ``emulated+text:PLATE_FILE`` the front end prints that plate file's lines. The front end
    injects ``faults``, timed from stream time 0: ``lead_in_s`` after the trigger."""
    _, _, front = stimulus.partition(":")
    count = math.ceil(plates * 4 / CHANNELS_PER_EMULATED_AWG)
    options = ["--instruments", str(count), "--channels", str(CHANNELS_PER_EMULATED_AWG),
               "--plates", str(plates), "--rate", repr(rate_hz), "--frontend", front,
               "--lead-in", repr(lead_in_s)]
    for fault in faults:
        options += ["--fault", fault.to_spec()]
    layout = None
    if plate_url:
        layout = plate_file(plate_url[len(EMULATED_TEXT):])
        options += ["--plate-file", layout.path]
    process = EmulatorProcess("awg", options, timeout)
    try:
        urls = [process.address] + [process.next_address(timeout) for _ in range(count - 1)]
        port = process.next_address(timeout)
        if layout is not None:
            from hil.drivers.text_plate import TextPlate
            return urls, TextPlate(layout, port, timeout, server=process)
        from hil.drivers.serial_plate import SerialPlate
        return urls, SerialPlate(port, timeout, server=process)
    except BaseException:
        process.close()
        raise


def stream_stimulus(segment: Segment, settings: Settings, *, plates: int, directory: Path,
                    suffix: str, router: Router, progress: Progress | None,
                    faults: Sequence[Fault] = ()) -> tuple[StreamOutcome, dict]:
    """Play the segment into the plate's inputs and feed what it streams to the router; the
    outcome and the stimulus record (generators, bridge, alignment). ``faults``: injected by
    the emulated rig's front end (check_settings refuses them for any other plate)."""
    stimulus = guard_edges(build_stimulus(segment.cells, segment.rate_hz), segment)
    played = stimulus.played()
    volts = settings.bridge.volts(played.reshape(played.shape[0], -1))
    raw = directory / f"raw{suffix}.bin"
    raw.unlink(missing_ok=True)
    started = time.monotonic()
    emulated = settings.stimulus.startswith(EMULATED)
    if emulated:
        # the scenario's stream time 0 is its first data sample: the stimulus's lead-in after
        # the trigger (the alignment maps the plate's samples to the scenario's from there)
        urls, plate = emulated_rig(settings.stimulus, plates, segment.rate_hz, settings.timeout_s,
                                   settings.plate_url, faults, stimulus.data_start / stimulus.rate_hz)
    else:
        if not settings.plate_url:
            raise BenchError("--stimulus with real generators needs --plate: the plate they feed")
        urls = [u.strip() for u in settings.stimulus.split(",") if u.strip()]
        plate = open_plate(settings.plate_url, timeout=settings.timeout_s)
    with plate:
        generators = Generators(urls, settings.timeout_s)
        try:
            identity = plate.identify()
            if plate.plates != plates:
                raise BenchError(f"plate {plate.url} has {plate.plates} plate(s), the scenario needs {plates}")
            generators.load(volts, stimulus.played_rate_hz)
            generators.arm()
            plate.set_rate(segment.rate_hz)
            plate.tare()  # the generators idle at zero load
            with Acquisition(plate, raw) as acquisition, heap_frozen():
                outcome, alignment, trigger = _stream(
                    plate, acquisition, generators, stimulus, segment, settings, router, progress,
                    emulated)
                acquisition.stop()  # the frames sent before the stop count as any others
                frames = _frames(plate, acquisition.stats, emulated)
                issues = [Issue(**i) for i in acquisition.issues(segment.rate_hz,
                                                                 origin=outcome["counter0"])]
        finally:
            generators.close()
    received = outcome["received"]
    if received < segment.samples:
        issues.append(Issue("gap", f"the plate stopped streaming after {received} of "
                            f"{segment.samples} samples", received / segment.rate_hz,
                            segment.samples / segment.rate_hz))
    timing = _stimulus_out(stimulus, trigger["fired_ns"], outcome["counter0"], segment.samples)
    result = StreamOutcome(identity, "out of the stimulus", outcome["counter0"], frames,
                           tuple(issues), timing, received / segment.rate_hz, outcome["stream_s"],
                           time.monotonic() - started,
                           sample_latencies(outcome["arrivals"], timing, outcome["counter0"]))
    return result, {"generators": urls, "identity": generators.identity, "rate_hz": segment.rate_hz,
                    "bridge": vars(settings.bridge), "alignment": alignment.to_dict(),
                    "trigger": {"from": trigger["from"], "trip_ms": trigger["trip_ms"]}}


def _fired(plate: Plate, sent_ns: int, emulated: bool, timeout: float) -> dict:
    """When the generators fired (host monotonic ns), where that time comes from, and the
    trigger's trip from the host's ``*TRG`` to the outputs' start where it is known."""
    if not emulated:
        return {"fired_ns": sent_ns, "from": "host, before *TRG", "trip_ms": None}
    line = plate.server.next_address(timeout)
    word, _, value = line.partition(" ")
    if word != TRIGGERED or not value.strip().isdigit():
        raise BenchError(f"the emulated rig announced {line!r} where its trigger time was due")
    fired = int(value)
    return {"fired_ns": fired, "from": "generator", "trip_ms": (fired - sent_ns) / 1e6}


def _stream(plate: Plate, acquisition: Acquisition, generators: Generators, stimulus: Stimulus,
            segment: Segment, settings: Settings, router: Router, progress: Progress | None,
            emulated: bool):
    """Start, trigger on the first samples, find the first marker, route; stop after the second."""
    height = marker_height(plate.plates)
    centre = template_centre(stimulus.rate_hz)
    data_offset = stimulus.data_start - stimulus.markers[0] - centre  # marker centre → data
    end_offset = stimulus.cells.shape[0] - stimulus.markers[0] - centre  # → the waveform's end
    totals: list[np.ndarray] = []  # every plate summed, contiguous from first_counter
    held = []  # blocks that came before the first marker was found
    first_counter = counter0 = trigger_ns = trigger = start = None
    arrivals: list[tuple[int, int, int]] = []
    plate.start()
    streaming = time.monotonic()
    for block in acquisition.blocks(timeout=settings.timeout_s):
        if trigger_ns is None:  # the plate streams: now the one trigger
            trigger_ns, first_counter = generators.fire(), block.first_counter
            # the rig's announcement, read before any other (a disconnect's new port follows it)
            trigger = _fired(plate, trigger_ns, emulated, settings.timeout_s)
        totals.append(block.force.sum(axis=1))
        if start is None:
            held.append(block)
            start = marker_centre(np.concatenate(totals), height)
            if start is None:
                if sum(t.size for t in totals) > (stimulus.markers[0] + 2 * centre
                                                  + settings.timeout_s * segment.rate_hz):
                    raise BenchError(f"no stimulus marker in the plate's stream within "
                                     f"{settings.timeout_s:g} s of the trigger: are the "
                                     "generators wired to the plate's inputs?")
                continue
            counter0 = first_counter + first_tick(start + data_offset)
            pending, held = held, []
        else:
            pending = [block]
        for item in pending:
            arrivals.append((item.first_counter - counter0, item.force.shape[0], item.host_time_ns))
            router.feed(item.first_counter - counter0, item.force)
        if progress is not None:
            progress.update(min(max(router.position, 0), segment.samples))
        if block.first_counter + block.force.shape[0] - first_counter >= start + end_offset:
            break
    if trigger_ns is None:
        raise BenchError(f"plate {plate.url} sent no samples within {settings.timeout_s:g} s of starting")
    if counter0 is None:
        raise BenchError("the stream ended before the stimulus's first marker")
    stream_s = time.monotonic() - streaming
    received = min(router.position, segment.samples)
    router.finish()
    if progress is not None:
        progress.close(received)
    alignment = align(np.concatenate(totals), stimulus, start)
    return ({"counter0": counter0, "received": received, "stream_s": stream_s,
             "arrivals": arrivals}, alignment, trigger)


def _stimulus_out(stimulus: Stimulus, trigger_ns: int, counter0: int, samples: int) -> np.ndarray:
    """When each data sample left the generators, as (counter, ns) records like an emulator's
    timing log, so that the bench's latency code measures stimulus out → result."""
    records = np.empty(samples, dtype=TIMING_DTYPE)
    index = np.arange(samples)
    records["counter"] = (counter0 + index) % (1 << 32)
    records["write_ns"] = trigger_ns + np.rint((stimulus.data_start + index) * 1e9 / stimulus.rate_hz)
    return records
