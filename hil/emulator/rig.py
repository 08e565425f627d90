"""The emulated stimulus rig: waveform generators on TCP whose outputs are wired to a plate
front end streaming on a pseudo-terminal, all in one process and one event loop (the wires are
in memory; a trigger is handled as soon as it arrives, between two sample ticks).

Announces one line per generator (its VISA resource), then the front end's pty path.
"""
from __future__ import annotations

import argparse
import signal
import sys

from .awg import AwgServer, EmulatedAwg, analog_bus, wire
from .faults import FaultError
from .frontend import AnalogPlate, parse_frontend
from .serial_plate import SerialFrontEnd


def run_rig(args: argparse.Namespace) -> int:
    if not 1 <= args.instruments <= 16 or not 1 <= args.channels <= 8 or args.plates not in (1, 2):
        raise FaultError("awg: 1-16 instruments of 1-8 channels, 1 or 2 plates")
    if args.instruments * args.channels < 4 * args.plates:
        raise FaultError(f"awg: {args.instruments} x {args.channels} outputs cannot drive "
                         f"{4 * args.plates} cells")
    front = parse_frontend(args.frontend)
    instruments = [EmulatedAwg(args.channels, serial=args.seed * 100 + i)
                   for i in range(args.instruments)]
    wire(instruments)
    server = AwgServer(instruments, args.host)
    plate = AnalogPlate(analog_bus(instruments), front, plates=args.plates, rate_hz=args.rate or 1000.0,
                        seed=args.seed)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    for resource in server.resources:
        print(resource, flush=True)
    front_end = SerialFrontEnd(plate, fast=False, timing_log=args.timing_log,
                               watch_stdin=args.watch_stdin)
    front_end.neighbours.append(server.attach)  # one loop: a trigger is seen at once
    try:
        front_end.serve()
    except KeyboardInterrupt:
        pass
    return 0
