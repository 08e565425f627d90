"""The emulated stimulus rig: waveform generators on TCP whose outputs are wired to a plate
front end streaming on a pseudo-terminal, all in one process and one event loop (the wires are
in memory; a trigger is handled as soon as it arrives, between two sample ticks).

Announces one line per generator (its VISA resource), then the front end's pty path; then,
whenever a ``*TRG`` fires, ``triggered NS``: the outputs' start on the host's monotonic clock
(the emulated generators' own record, as a plate emulator's timing log is its frames').
"""
from __future__ import annotations

import argparse
from dataclasses import replace

import numpy as np
import signal
import sys

from .awg import AwgServer, EmulatedAwg, analog_bus, wire
from .faults import FaultError
from .frontend import AnalogPlate, FrontEnd, parse_frontend
from .serial_plate import SerialFrontEnd
from .text_plate import TextFrontEnd

TRIGGERED = "triggered"  # the announcement of a trigger: "triggered <monotonic ns>"


def text_front_end(front: FrontEnd, layout, plates: int) -> FrontEnd:
    """The front end whose counts the plate file's scale reads right: its gain is chosen so."""
    if layout.plates != plates or not np.allclose(layout.scale, layout.scale.flat[0]):
        raise FaultError(f"awg: the plate file {layout.path} needs {plates} plate(s) with one "
                         "scale for every cell to be driven by the rig")
    gain = front.gain * front.scale_n_per_count / float(layout.scale.flat[0])
    return replace(front, gain=gain)


def run_rig(args: argparse.Namespace) -> int:
    if not 1 <= args.instruments <= 16 or not 1 <= args.channels <= 8 or args.plates not in (1, 2):
        raise FaultError("awg: 1-16 instruments of 1-8 channels, 1 or 2 plates")
    if args.instruments * args.channels < 4 * args.plates:
        raise FaultError(f"awg: {args.instruments} x {args.channels} outputs cannot drive "
                         f"{4 * args.plates} cells")
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
    plate = AnalogPlate(analog_bus(instruments), front, plates=args.plates,
                        rate_hz=args.rate or (layout.rate_hz if layout else 1000.0), seed=args.seed)
    for instrument in instruments:
        instrument.on_trigger = lambda ns: print(f"{TRIGGERED} {ns}", flush=True)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    for resource in server.resources:
        print(resource, flush=True)
    options = dict(fast=False, timing_log=args.timing_log, watch_stdin=args.watch_stdin)
    front_end = (TextFrontEnd(plate, layout, {}, seed=args.seed, **options) if layout
                 else SerialFrontEnd(plate, **options))
    front_end.neighbours.append(server.attach)  # one loop: a trigger is seen at once
    server.on_change = plate.inputs_changed
    try:
        front_end.serve()
    except KeyboardInterrupt:
        pass
    return 0
