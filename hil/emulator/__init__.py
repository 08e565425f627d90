"""Emulated plates that speak hil.protocol: serial over a pseudo-terminal, SCPI over TCP.

``run(args)`` is what ``forcebench emulate`` calls; ``add_arguments`` defines its options.
"""
from __future__ import annotations

import argparse
import signal
import sys

from .device import EmulatedPlate
from .faults import Fault, FaultError, parse_fault, parse_faults
from .scpi_plate import ScpiFrontEnd
from .serial_plate import SerialFrontEnd
from .source import Source, SourceError, builtin_source, read_source, write_source
from .timing import TIMING_DTYPE, read_timing_log

__all__ = ["EmulatedPlate", "Fault", "FaultError", "parse_fault", "parse_faults", "Source",
           "SourceError", "builtin_source", "read_source", "write_source", "TIMING_DTYPE",
           "read_timing_log", "add_arguments", "run"]


def _whole_number(low: int, high: int):
    """An argparse type: a whole number in [low, high], else one line naming the range."""
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text[:40]!r} is not a whole number") from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"{value} is outside {low}–{high}")
        return value
    return parse


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("transport", choices=("serial", "scpi"),
                        help="serial: a pseudo-terminal (prints its path); scpi: TCP (prints the VISA resource)")
    parser.add_argument("--source", metavar="FILE", help="source .npz of cell forces (default: a built-in CMJ loop)")
    parser.add_argument("--fast", action="store_true", help="stream as fast as the reader takes it")
    parser.add_argument("--once", action="store_true", help="stream the source once, then stop")
    parser.add_argument("--fault", action="append", default=[], metavar="SPEC",
                        help="inject a fault, e.g. drop:0.001, stall:at=2,for=0.3 (repeatable)")
    parser.add_argument("--timing-log", metavar="FILE", help="append (counter, write time) records here")
    parser.add_argument("--seed", type=_whole_number(0, 2**63 - 1), default=0,
                        help="seed of the plate and its faults (a whole number ≥ 0)")
    parser.add_argument("--counter-start", type=_whole_number(0, 2**32 - 1), default=0, metavar="N",
                        help="first sample counter after start, 0–4294967295 (test the 32-bit wrap)")
    parser.add_argument("--rate", type=float, help="sample rate in Hz (default: the source's)")
    parser.add_argument("--host", default="127.0.0.1", help="scpi: address to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=_whole_number(0, 65535), default=0,
                        help="scpi: TCP port, 0–65535 (0 picks a free one)")
    parser.add_argument("--watch-stdin", action="store_true", help=argparse.SUPPRESS)


def run(args: argparse.Namespace) -> int:
    source = read_source(args.source) if args.source else builtin_source()
    plate = EmulatedPlate(source, parse_faults(args.fault), seed=args.seed,
                          counter_start=args.counter_start, once=args.once)
    if args.rate is not None:
        plate.execute("rate", (args.rate,))
    # SIGTERM (our driver closing us) ends the loop like Ctrl-C, quietly
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    if args.transport == "serial":
        front = SerialFrontEnd(plate, args.fast, args.timing_log, watch_stdin=args.watch_stdin)
    else:
        front = ScpiFrontEnd(plate, args.host, args.port, args.fast, args.timing_log,
                             watch_stdin=args.watch_stdin)
    try:
        front.serve()
    except KeyboardInterrupt:
        pass
    return 0
