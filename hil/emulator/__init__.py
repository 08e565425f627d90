"""Emulated plates that speak hil.protocol: serial over a pseudo-terminal, SCPI over TCP.

``run(args)`` is what ``forcebench emulate`` calls; ``add_arguments`` defines its options.
"""
from __future__ import annotations

import argparse
import signal
import sys

from . import miscalibration, reference
from .device import DEFECTS, EmulatedPlate
from .faults import Fault, FaultError, parse_fault, parse_faults
from .scpi_plate import ScpiFrontEnd
from .serial_plate import SerialFrontEnd
from .source import Source, SourceError, builtin_source, open_source, read_source, write_source
from .timing import TIMING_DTYPE, read_timing_log

__all__ = ["EmulatedPlate", "Fault", "FaultError", "parse_fault", "parse_faults", "Source",
           "SourceError", "builtin_source", "open_source", "read_source", "write_source", "TIMING_DTYPE",
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
    parser.add_argument("transport", choices=("serial", "scpi", "awg", "text", "reference"),
                        help="serial: a pseudo-terminal (prints its path); scpi: TCP (prints the VISA "
                             "resource); awg: waveform generators on TCP driving a plate front end "
                             "on a pseudo-terminal (prints each generator's VISA resource, then the path); text: a "
                             "text-line plate on a pseudo-terminal (needs --plate-file); reference: a "
                             "SCPI reference load-cell indicator on TCP (a calibration rig's)")
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
    parser.add_argument("--defect", action="append", default=[], choices=sorted(DEFECTS),
                        metavar="NAME", help="break the protocol on purpose (plate-check must catch "
                                             "it): " + ", ".join(sorted(DEFECTS)))
    parser.add_argument("--plate-file", metavar="TOML",
                        help="text: the plate file (fixtures/plates/text-*.toml) of the lines to print")
    rig = parser.add_argument_group("awg: the stimulus rig")
    rig.add_argument("--instruments", type=int, default=2, help="waveform generators (default 2)")
    rig.add_argument("--channels", type=int, default=4, help="outputs per generator (default 4)")
    rig.add_argument("--plates", type=int, default=2, help="plates on the front end, 1 or 2 (default 2)")
    rig.add_argument("--lead-in", type=float, default=0.0, metavar="SECONDS",
                     help="stream time 0 of the --fault times: this long after the trigger "
                          "(the stimulus's lead-in before its data)")
    rig.add_argument("--frontend", default="", metavar="SPEC",
                     help="front-end values, e.g. gain_error=0.02,clock_ppm=200,noise_uv=0.2 "
                          "(hil.emulator.frontend.FrontEnd)")
    parser.add_argument("--miscalibration", metavar="QUERY", default="",
                        help="serial, scpi, text: the plate's errors as in a plate URL, "
                             "gain=1.02,1,1,1&offset=5 (docs/calibration.md)")
    parser.add_argument("--reference", metavar="QUERY", default="",
                        help="reference: its errors, noise=0.05&resolution=0.1&gain=1.0")
    parser.add_argument("--watch-stdin", action="store_true", help=argparse.SUPPRESS)


def run(args: argparse.Namespace) -> int:
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))  # our driver closing us: quietly
    if args.transport == "awg":
        from .rig import run_rig
        return run_rig(args)
    if args.transport == "reference":
        try:
            reference.serve(reference.parse_options(args.reference), args.seed, args.host,
                            args.port, watch_stdin=args.watch_stdin)
        except KeyboardInterrupt:
            pass
        return 0
    source = open_source(args.source) if args.source else builtin_source()
    faults = parse_faults(args.fault)
    errors = miscalibration.parse(args.miscalibration, source.plates) if args.miscalibration else None
    if args.transport == "text":
        return _run_text(args, source, faults, errors)
    if any(f.kind == "reorder" for f in faults):
        raise FaultError("reorder applies to text plates only (emulate text)")
    plate = EmulatedPlate(source, faults, seed=args.seed, counter_start=args.counter_start,
                          once=args.once, defects=frozenset(args.defect), miscalibration=errors)
    if args.rate is not None:
        plate.execute("rate", (args.rate,))
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


def _run_text(args: argparse.Namespace, source: Source, faults: tuple[Fault, ...],
              errors: miscalibration.Miscalibration | None) -> int:
    from ..text_format import load_plate_file
    from .text_plate import TextFrontEnd, split_faults, text_plate

    if not args.plate_file:
        raise FaultError("emulate text needs --plate-file")
    layout = load_plate_file(args.plate_file)
    content, line_faults = split_faults(faults)
    plate = text_plate(EmulatedPlate(source, content, seed=args.seed, counter_start=args.counter_start,
                                     once=args.once, miscalibration=errors), layout)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    front = TextFrontEnd(plate, layout, line_faults, seed=args.seed, fast=args.fast,
                         timing_log=args.timing_log, watch_stdin=args.watch_stdin)
    try:
        front.serve()
    except KeyboardInterrupt:
        pass
    return 0
