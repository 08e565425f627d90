"""The emulated stimulus rig: waveform generators on TCP whose outputs are wired to a plate
front end streaming on a pseudo-terminal, all in one process and one event loop (the wires are
in memory; a trigger is handled as soon as it arrives, between two sample ticks).

Announces one line per generator (its VISA resource), then the front end's pty path; then,
whenever a ``*TRG`` fires, ``triggered NS``: the outputs' start on the host's monotonic clock
(the emulated generators' own record, as a plate emulator's timing log is its frames').

The front end injects ``--fault`` faults as an emulated plate does (a text front end: those a
text plate can), timed in the scenario's stream time: 0 is ``--lead-in`` s after the trigger.
"""
from __future__ import annotations

import argparse
from dataclasses import replace

import numpy as np
import signal
import sys

from .awg import AwgServer, EmulatedAwg, analog_bus, wire
from .faults import Fault, FaultError, parse_faults
from .frontend import AnalogPlate, FrontEnd, parse_frontend
from .serial_plate import SerialFrontEnd
from .text_plate import TextFrontEnd, split_faults

TRIGGERED = "triggered"  # the announcement of a trigger: "triggered <monotonic ns>"


def text_front_end(front: FrontEnd, layout, plates: int) -> FrontEnd:
    """The front end whose counts the plate file's scale reads right: its gain is chosen so."""
    if layout.plates != plates or not np.allclose(layout.scale, layout.scale.flat[0]):
        raise FaultError(f"awg: the plate file {layout.path} needs {plates} plate(s) with one "
                         "scale for every cell to be driven by the rig")
    gain = front.gain * front.scale_n_per_count / float(layout.scale.flat[0])
    return replace(front, gain=gain)


def rig_faults(faults: tuple[Fault, ...], text: bool) -> tuple[tuple[Fault, ...], dict[str, float]]:
    """(the faults the front end's plate injects, a text front end's line faults), or FaultError
    for one the front end cannot inject."""
    if text:
        return split_faults(faults)
    if any(f.kind == "reorder" for f in faults):
        raise FaultError("reorder applies to text plates only (emulated+text:PLATE_FILE)")
    return faults, {}


def run_rig(args: argparse.Namespace) -> int:
    if not 1 <= args.instruments <= 16 or not 1 <= args.channels <= 8 or args.plates not in (1, 2):
        raise FaultError("awg: 1-16 instruments of 1-8 channels, 1 or 2 plates")
    if args.instruments * args.channels < 4 * args.plates:
        raise FaultError(f"awg: {args.instruments} x {args.channels} outputs cannot drive "
                         f"{4 * args.plates} cells")
    if not 0 <= args.lead_in <= 3600:
        raise FaultError(f"awg: --lead-in {args.lead_in:g} s is outside 0-3600 s")
    front = parse_frontend(args.frontend)
    layout = None
    if args.plate_file:  # the front end's microcontroller prints text lines instead of frames
        from ..text_format import load_plate_file
        layout = load_plate_file(args.plate_file)
        front = text_front_end(front, layout, args.plates)
    instruments = [EmulatedAwg(args.channels, serial=args.seed * 100 + i)
                   for i in range(args.instruments)]
    wire(instruments)
    server = AwgServer(instruments, args.host)
    faults, line_faults = rig_faults(parse_faults(args.fault), layout is not None)
    plate = AnalogPlate(analog_bus(instruments), front, plates=args.plates,
                        rate_hz=args.rate or (layout.rate_hz if layout else 1000.0), seed=args.seed,
                        faults=faults, lead_in_s=args.lead_in)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    for resource in server.resources:
        print(resource, flush=True)
    options = dict(fast=False, timing_log=args.timing_log, watch_stdin=args.watch_stdin)
    front_end = (TextFrontEnd(plate, layout, line_faults, seed=args.seed, **options) if layout
                 else SerialFrontEnd(plate, **options))

    def triggered(ns: int) -> None:  # stream time begins: the timed faults are placed now
        print(f"{TRIGGERED} {ns}", flush=True)
        plate.triggered(ns)
        front_end.arm_faults()

    for instrument in instruments:
        instrument.on_trigger = triggered
    front_end.neighbours.append(server.attach)  # one loop: a trigger is seen at once
    server.on_change = plate.inputs_changed
    try:
        front_end.serve()
    except KeyboardInterrupt:
        pass
    return 0
