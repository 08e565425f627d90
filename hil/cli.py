"""The ``forcebench`` command: parses arguments and calls the modules that do the work.

Exit statuses: 0 done; 1 the bench found something out of spec; 2 unusable input or arguments
(one line on standard error); 3 the analysis refused; 70 a fault of the program itself (one
line naming the log file that holds the traceback); 130 interrupted.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

EXIT_OK, EXIT_OUT_OF_SPEC, EXIT_USAGE, EXIT_REFUSED = 0, 1, 2, 3
EXIT_INTERNAL = 70  # sysexits.h EX_SOFTWARE: our bug, not the user's input
MAX_ERROR_CHARS = 300  # an error line echoes at most this much (a 10 MB header is not echoed)


PLATE_URLS = "emulated, emulated+scpi, a serial port or pyserial URL, or a VISA resource"
CALIBRATION = ("apply this calibration file (forcebench calibrate's calibration.json), "
               "or the one for the plate's serial number in DIR")


class UsageError(Exception):
    """Anything the user can fix: printed as one line, exit status 2."""


def _parsed(flag: str, text: str | None, kind: type = float, low: float | None = None,
            high: float | None = None):
    """``flag``'s value as a ``kind`` within [low, high] (None stays None), else a UsageError."""
    if text is None:
        return None
    try:
        value = kind(text)
    except ValueError:
        raise UsageError(f"{flag} must be {'a whole number' if kind is int else 'a number'}, "
                         f"got {text!r}") from None
    if (low is not None and value < low) or (high is not None and value > high):
        span = f"at least {low:g}" if high is None else f"{low:g}–{high:g}"
        raise UsageError(f"{flag} must be {span}, got {value:g}")
    return value


def _plate_options(parser: argparse.ArgumentParser, plate_help: str, timeout_s: float, *,
                   default: str | None = None, calibration: str | None = None,
                   fast: str | None = None) -> None:
    """How a command reaches its plate: --plate and --timeout, and --calibration and --fast where
    their help is given. _check_plate checks them."""
    parser.add_argument("--plate", metavar="URL", default=default, help=plate_help)
    parser.add_argument("--timeout", type=float, default=timeout_s, metavar="S",
                        help="give up on a plate (or other instrument) silent for this long "
                             "(default %(default)g s)")
    if calibration:
        parser.add_argument("--calibration", metavar="FILE|DIR", help=calibration)
    if fast:
        parser.add_argument("--fast", action="store_true",
                            help=f"emulated plates stream as fast as the host reads ({fast})")


def _check_plate(args: argparse.Namespace) -> None:
    if args.plate is not None and not args.plate.strip():
        raise UsageError(f"--plate is empty: give a plate URL ({PLATE_URLS}) or leave the option out")
    _check_timeout(args.timeout)


def _check_timeout(seconds: float, most: float = 3600) -> None:
    if not 0 < seconds <= most:
        raise UsageError(f"--timeout must be between 0 and {most:g} s, got {seconds:g}")


def _plate_settings(args: argparse.Namespace) -> dict:
    """The checked plate options, named as hil.bench.Settings and hil.block.BlockSettings name them."""
    _check_plate(args)
    return {"plate_url": args.plate, "fast": args.fast, "timeout_s": args.timeout,
            "calibration": Path(args.calibration) if args.calibration else None}


def _rig_options(parser: argparse.ArgumentParser, spec_help: str) -> None:
    """A plate loaded with known weights: by its rig when emulated, else by an operator."""
    parser.add_argument("--spec", metavar="TOML", help=spec_help)
    parser.add_argument("--operator", action="store_true",
                        help="prompt an operator to place the weights, even on an emulated plate")


def _add_simulate(sub: argparse._SubParsersAction) -> None:
    """``forcebench simulate`` (owned by the simulator: sim/)."""
    parser = sub.add_parser(
        "simulate", help="simulate a force-plate recording with its exact truth",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Simulate one test (cmj, sj, dj, hops, iso, run) by a synthetic athlete drawn\n"
                    "from the seed, measured by a simulated plate, and write DIR/<ID>.csv\n"
                    "(time,fz or time,fz_left,fz_right) and DIR/<ID>.truth.json: the generating\n"
                    "model's metrics, events and per_rep (METRICS.md names) and the plate's true\n"
                    "parameters. The same arguments always give the same bytes.",
        epilog="examples:\n"
               "  forcebench simulate cmj --seed 3 --out traces\n"
               "  forcebench simulate cmj --plates 2 --height 0.40 --untrimmed step_off_before\n"
               "  forcebench simulate dj --drop-height 0.45 --rate 2000 --noise high\n"
               "  forcebench simulate hops --hops 15 --leg left --plates 2\n"
               "  forcebench simulate iso --variant calf_raise --hold 3 --plot\n"
               "  forcebench simulate run --speed 4.2 --duration 10 --plates 2 --noise none\n"
               "exit status: 0 written, 2 bad parameters (one line on standard error)")
    parser.add_argument("test", metavar="ID", help="cmj | sj | dj | hops | iso | run")
    parser.add_argument("--mass", metavar="KG", help="body mass (default: drawn, 45–120 kg)")
    parser.add_argument("--rate", metavar="HZ", default="1000", help="sample rate, 250–4000 (default 1000)")
    parser.add_argument("--seed", metavar="N", default="0", help="random seed, a whole number ≥ 0 (default 0); each seed is another athlete")
    parser.add_argument("--noise", metavar="none|typical|high|field", default="typical",
                        help="plate noise preset (default typical: 1.5 N RMS, 50 Hz hum, 0.1 N steps; "
                             "field: as messy as other labs' recordings, sim.field)")
    parser.add_argument("--plates", metavar="1|2", default="1", help="one plate or left/right (default 1)")
    parser.add_argument("--out", metavar="DIR", default=".", help="output directory (default .)")
    movement = parser.add_argument_group("movement options (each applies to some tests)")
    movement.add_argument("--leg", metavar="left|right", help="single-leg variant (cmj sj dj hops iso)")
    movement.add_argument("--height", metavar="M", help="jump height v²/2g, 0.01–0.8 (cmj sj dj; default: the athlete's)")
    movement.add_argument("--depth", metavar="M", help="countermovement or squat depth, 0.05–0.6 (cmj sj)")
    movement.add_argument("--drop-height", metavar="M", help="drop-jump box height, 0.05–1.0 (dj, default 0.30)")
    movement.add_argument("--hops", metavar="N", help="number of rebound hops, 1–50 (hops, default 10)")
    movement.add_argument("--duration", metavar="S", help="recording length (default: the movement and 1–1.5 s of standing; run 6)")
    movement.add_argument("--speed", metavar="M/S", help="running speed, 2–7 (run; default: the athlete's, 2.8–4.2)")
    movement.add_argument("--strike", metavar="rearfoot|forefoot", help="foot strike (run, default rearfoot)")
    movement.add_argument("--variant", metavar="mid_thigh_pull|calf_raise|lunge",
                          help="isometric hold (iso, default mid_thigh_pull)")
    movement.add_argument("--hold", metavar="S", help="isometric hold time, 0.5–30 (iso, default drawn 2–5 s)")
    movement.add_argument("--untrimmed", metavar="step_off_before|step_off_after",
                          help="a step off the plate before or after the jump (cmj)")
    movement.add_argument("--second-jump", action="store_true", help="a second jump (cmj)")
    movement.add_argument("--fidget", action="store_true", help="a fidget during weighing (cmj)")
    movement.add_argument("--sway", action="store_true",
                          help="slow postural sway while standing still (cmj sj dj hops iso)")
    movement.add_argument("--plot", action="store_true",
                          help="also write DIR/<ID>.png with the truth events (needs matplotlib)")
    parser.set_defaults(run=_run_simulate)


def _one_line_error(command: str):
    """argparse's error handler, printing one line instead of the usage block."""
    def error(message: str):
        print(f"forcebench{' ' + command if command else ''}: error: {_shortened(message)}",
              file=sys.stderr)
        raise SystemExit(EXIT_USAGE)
    return error


def _shortened(message: str) -> str:
    """One line of at most MAX_ERROR_CHARS: what the user typed or sent may be anything."""
    line = " ".join(str(message).split())
    if len(line) <= MAX_ERROR_CHARS:
        return line
    return f"{line[:MAX_ERROR_CHARS - 40]}… ({len(line) - MAX_ERROR_CHARS + 40} characters cut)"


def _is_users(error: BaseException) -> bool:
    """Input the user can fix: files and ports (OSError), undecodable text, and a ValueError
    that sim or hil raised on purpose (our error classes, or a message raised in our own code).
    A ValueError from inside numpy or another library, a TypeError, an IndexError... is a fault
    of the program."""
    if isinstance(error, (UsageError, OSError, UnicodeError)):
        return True
    if not isinstance(error, ValueError):
        return False
    if type(error).__module__.split(".")[0] in ("hil", "sim"):
        return True
    innermost = error.__traceback__
    while innermost is not None and innermost.tb_next is not None:
        innermost = innermost.tb_next
    if innermost is None:
        return False
    raised_in = Path(innermost.tb_frame.f_code.co_filename).resolve()
    ours = Path(__file__).resolve().parent  # hil/, and sim/ beside it
    return any(raised_in.is_relative_to(root) for root in (ours, ours.parent / "sim"))


def _internal_error(error: BaseException) -> int:
    """Our own fault: the traceback goes to a log file, the user gets one line naming it."""
    import datetime
    import os
    import tempfile
    import traceback

    stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    path = os.path.join(tempfile.gettempdir(), f"forcebench-crash-{stamp}-{os.getpid()}.log")
    try:
        with open(path, "w", encoding="utf-8") as log:
            log.write(f"forcebench {' '.join(sys.argv[1:])}\n")
            traceback.print_exception(error, file=log)
        where = f"traceback in {path}"
    except OSError as why:
        where = f"and the traceback could not be written to {path}: {why.strerror}"
    print(f"forcebench: internal error (a fault of forcebench, not of your input): "
          f"{_shortened(f'{type(error).__name__}: {error}')}; {where}", file=sys.stderr)
    return EXIT_INTERNAL


def _run_simulate(args: argparse.Namespace) -> int:
    from sim.export import write_trial
    from sim.generate import simulate

    options = {
        "leg": args.leg, "height_m": _parsed("--height", args.height),
        "depth_m": _parsed("--depth", args.depth),
        "drop_height_m": _parsed("--drop-height", args.drop_height),
        "hops": _parsed("--hops", args.hops, int), "duration_s": _parsed("--duration", args.duration),
        "speed_m_s": _parsed("--speed", args.speed), "strike": args.strike,
        "variant": args.variant, "hold_s": _parsed("--hold", args.hold),
        "untrimmed": args.untrimmed, "second_jump": args.second_jump or None,
        "fidget": args.fidget or None,
        "sway": args.sway or None,
    }
    options = {name: value for name, value in options.items() if value is not None}
    settings = {"test": args.test, "mass_kg": _parsed("--mass", args.mass),
                "rate_hz": _parsed("--rate", args.rate), "plates": _parsed("--plates", args.plates, int),
                "noise": args.noise, "seed": _parsed("--seed", args.seed, int)}
    trial = simulate(settings.pop("test"), **settings, **options)
    extra = {}
    if args.plot:  # checked before writing: no CSV without its PNG
        import importlib.util

        from hil.plots import MISSING, plot_trace
        if importlib.util.find_spec("matplotlib") is None:
            raise UsageError(MISSING)
        extra["png"] = lambda path: plot_trace(
            path, trial.time, trial.force, true_events=trial.truth.events,
            body_weight_n=trial.truth.metrics["body_weight_n"],
            title=f"simulated {args.test} (seed {settings['seed']})")
    paths = write_trial(trial, args.out, args.test, {"test": args.test, **settings, **options}, extra)
    print("\n".join(str(path) for path in paths))
    return EXIT_OK


def _add_analyse(sub: argparse._SubParsersAction) -> None:
    """``forcebench analyse`` (owned by the analysis: hil/analysis/)."""
    from hil.analysis import TESTS
    from hil.analysis.readers import FORMATS
    from hil.analysis.readers.table import DEFAULT_FIRST_PLATE, SIDES

    parser = sub.add_parser(
        "analyse", help="analyse a force recording",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Analyse a recording. Formats, found from the content (or --format): one\n"
                    "force value (N) per line; CSV/TSV with a header (time, fz or fz_left/fz_right,\n"
                    "FZ1/FP1 per plate); headerless six channels per plate (FX FY FZ MX MY MZ);\n"
                    "Kistler BioWare and Visual3D text exports; Vicon Nexus CSV (Devices);\n"
                    "OpenSim .mot/.sto; C3D (needs the c3d extra); any of them gzipped.",
        epilog="examples:\n"
               "  forcebench analyse trial.txt --test cmj --rate 1000\n"
               "  forcebench analyse cmj_export.txt.gz --test cmj --rate 2000 --force FZ1+FZ2\n"
               "  forcebench analyse walk.csv --test run --first-plate right\n"
               "  forcebench analyse plates.csv --test cmj --left 'Fz [N]' --right 4 --flip\n"
               "exit status: 0 analysed, 2 unusable input (one line on standard error), 3 refused")
    parser.add_argument("path", metavar="PATH", help="recording file, or - for standard input")
    parser.add_argument("--test", required=True, choices=TESTS, help="which movement it is")
    parser.add_argument("--rate", type=float, metavar="HZ",
                        help="sample rate (needed when the file states none and has no time column)")
    parser.add_argument("--body-mass", type=float, metavar="KG", help="known body mass")
    parser.add_argument("--drop-height", type=float, metavar="M", help="drop-jump box height")
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    read = parser.add_argument_group("reading the file (defaults: what the format says)")
    read.add_argument("--format", choices=FORMATS, default="auto", help="file format (default auto)")
    read.add_argument("--force", metavar="COLS",
                      help="total vertical force: a column name or number from 1, or a sum such as "
                           "FZ1+FZ2; a leading - flips a column (write --force=-Fz)")
    read.add_argument("--left", metavar="COLS", help="left plate's vertical force (with --right)")
    read.add_argument("--right", metavar="COLS", help="right plate's vertical force (with --left)")
    read.add_argument("--time", metavar="COL", help="time column (s; a [ms] unit is converted)")
    read.add_argument("--flip", action="store_true", help="the file counts load as negative force")
    read.add_argument("--first-plate", choices=SIDES, default=DEFAULT_FIRST_PLATE,
                      help="which foot is on plate 1 (FP1, FZ1, the first device) when the file "
                           f"does not say (default {DEFAULT_FIRST_PLATE})")
    parser.add_argument("--calibration", metavar="FILE|DIR",
                        help=f"for a raw record (RAW.bin, from replay): {CALIBRATION}")
    parser.set_defaults(run=_run_analyse)


def _run_analyse(args: argparse.Namespace) -> int:
    import json

    from hil.analysis import analyse
    from hil.analysis.readers import Selection, load
    from hil.analysis.signal import OPTION_RANGES
    from hil.report import analysis_table

    for flag, name, value in (("--body-mass", "body_mass_kg", args.body_mass),
                              ("--drop-height", "drop_height_m", args.drop_height)):
        low, high = OPTION_RANGES[name]
        if value is not None and not low <= value <= high:
            raise UsageError(f"{flag} must be {low:g}–{high:g}, got {value:g}")
    if Path(args.path + ".json").is_file() and args.path.endswith(".bin"):
        recording = _raw_recording(args.path, args.rate, args.calibration)
    elif args.calibration:
        raise UsageError("--calibration applies to raw records (RAW.bin with its RAW.bin.json)")
    else:
        selection = Selection(force=args.force, left=args.left, right=args.right, time=args.time,
                              flip=args.flip, first_plate=args.first_plate)
        recording = load(args.path, args.rate, args.format, selection)
    result = analyse(recording.force, recording.rate_hz, args.test,
                     body_mass_kg=args.body_mass, drop_height_m=args.drop_height)
    # the whole text is built before anything is printed: nothing half-written on failure
    text = (json.dumps(result.to_dict(), indent=2, allow_nan=False) if args.json
            else recording.description + "\n\n" + analysis_table(result.to_dict()))
    print(text)
    return EXIT_REFUSED if result.refused else EXIT_OK


def _raw_recording(path: str, rate_hz: float | None, calibration: str | None):
    """A raw record (forcebench's own frames) through acquisition, with a calibration file's
    correction if given: its force per plate, its rate and what it is."""
    from types import SimpleNamespace

    import numpy as np

    from hil.acquire import Acquisition, RawPlate
    from hil.calibrate.certificate import apply

    with RawPlate(path) as plate:
        used = apply(plate, calibration) if calibration else None
        rate = rate_hz or plate.rate_hz
        if not rate:
            raise UsageError(f"{path} does not record its sample rate: give --rate")
        with Acquisition(plate) as acquisition:
            blocks = [block.force for block in acquisition.blocks(timeout=0.0)]
    if not blocks:
        raise UsageError(f"{path} holds no complete frame")
    force = np.concatenate(blocks)
    description = (f"{path}: raw record of {plate.identity or plate.url}, {force.shape[0]} samples "
                   f"at {rate:g} Hz" + (f", calibration {used}" if used else ""))
    return SimpleNamespace(force=force if force.shape[1] > 1 else force[:, 0], rate_hz=float(rate),
                           description=description)


def _add_emulate(sub: argparse._SubParsersAction) -> None:
    """``forcebench emulate`` (owned by hil/emulator/)."""
    from . import emulator

    parser = sub.add_parser("emulate", help="run an emulated dual force plate (serial or SCPI)",
                            description="Run an emulated dual force plate on a pseudo-terminal "
                                        "(serial) or on TCP (SCPI); the first line printed is "
                                        "where to reach it.")
    emulator.add_arguments(parser)
    parser.set_defaults(run=emulator.run)


def _add_replay(sub: argparse._SubParsersAction) -> None:
    """``forcebench replay`` (owned by hil/bench/)."""
    parser = sub.add_parser(
        "replay", help="replay a scenario against a plate and check accuracy and latency",
        description="Simulate the scenario's trials, stream them through the plate, analyse them "
                    "as they arrive and compare with the truth under the spec. Writes "
                    "report.json, report.xml, plots and raw.bin into the report directory. "
                    "Exit 0 all within spec, 1 something out of spec, 2 errors.")
    parser.add_argument("scenario", metavar="SCENARIO", help="scenario file (TOML), e.g. scenarios/quick.toml")
    _plate_options(parser, f"plate URL: {PLATE_URLS} (default: the scenario's, else emulated)",
                   10.0, calibration=CALIBRATION, fast="latency not checked")
    parser.add_argument("--report", metavar="DIR", help="report directory (default: reports/<scenario>)")
    parser.add_argument("--timing-log", metavar="FILE",
                        help="for a plate you started yourself (forcebench emulate --timing-log): "
                             "its write times, so that latency can be measured")
    parser.add_argument("--no-plots", dest="plots", action="store_false",
                        help="draw no PNG plots: report.json and report.xml only (a few seconds "
                             "less per replay, e.g. in CI)")
    parser.add_argument("--playback", action="store_true",
                        help="upload the scenario to the plate with the protocol's playback command "
                             "(PLAY / TRAC:DATA) before each stream, for firmware that implements it")
    parser.add_argument("--write-source", action="store_true",
                        help="only write the scenario's emulator source file(s) into the report "
                             "directory, for a plate you start yourself, and exit")
    stimulus = parser.add_argument_group("electrical stimulus (waveform generators in place of the cells)")
    stimulus.add_argument("--stimulus", metavar="URL[,URL...]",
                          help="SCPI arbitrary waveform generators (VISA resources, comma-separated) "
                               "wired to the plate's cell inputs, or emulated-awg[:FRONT-END] to start "
                               "emulated generators driving an emulated front end (no --plate), e.g. "
                               "emulated-awg:gain_error=0.02,clock_ppm=200")
    stimulus.add_argument("--bridge", metavar="SPEC", default="",
                          help="the cells the stimulus stands in for: rated_mv_v=2,capacity_n=5000,"
                               "excitation_v=5 (the defaults)")
    stimulus.add_argument("--clock-ppm-limit", type=float, default=100.0, metavar="PPM",
                          help="fail when the plate's clock is further off the generators' (default 100)")
    parser.set_defaults(run=_run_replay)


def _run_replay(args: argparse.Namespace) -> int:
    from hil.bench import Settings, run
    from hil.stimulus.bridge import parse_bridge

    plate = _plate_settings(args)
    if not 0 < args.clock_ppm_limit < 1e5:
        raise UsageError(f"--clock-ppm-limit must be between 0 and 100000, got {args.clock_ppm_limit:g}")
    settings = Settings(**plate, timing_log=Path(args.timing_log) if args.timing_log else None,
                        playback=args.playback, stimulus=args.stimulus, plots=args.plots,
                        bridge=parse_bridge(args.bridge),
                        clock_ppm_limit=args.clock_ppm_limit)
    return run(args.scenario, args.report, settings, write_source_only=args.write_source)


def _add_conformance(sub: argparse._SubParsersAction) -> None:
    """``forcebench conformance`` (owned by hil/conformance/)."""
    from hil.conformance import DEFAULT_TRIALS

    parser = sub.add_parser(
        "conformance", help="measure analysers against truth: bias, error, pass rate, refusals",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Run analysers (forcebench's own, the peers, any registered under the\n"
                    "'forcebench.analysers' entry point) on simulated trials with exact truth and\n"
                    "on real recordings with reference values, and print per metric and analyser:\n"
                    "bias, 95th percentile of |error|, pass rate against the spec, refusals.",
        epilog="examples:\n"
               "  forcebench conformance                                  # forcebench, every suite\n"
               "  forcebench conformance --analyser all --suite synthetic # beside the peers\n"
               "  forcebench conformance --analyser mylab --json > conformance.json\n"
               "  forcebench conformance --trials 1 --baseline tests/baselines/accuracy.json\n"
               "  forcebench conformance --scheduler tcp://10.0.0.5:8786 --trials 50\n"
               "exit status: 0 every analyser named meets the spec on every metric, or, with\n"
               "--baseline, nothing moved from it; 1 a metric missed, or something moved; 2 bad\n"
               "arguments, an analyser or suite that is not available, an unreadable baseline,\n"
               "or a cluster that cannot be reached")
    parser.add_argument("--analyser", action="append", metavar="NAME",
                        help="an analyser to measure (repeat for several; 'all': every one "
                             "installed; default forcebench)")
    parser.add_argument("--suite", action="append", metavar="synthetic|field|real|all",
                        help="which traces (repeat for several; default all: the suites this "
                             "installation has)")
    parser.add_argument("--trials", type=int, default=DEFAULT_TRIALS, metavar="N",
                        help=f"simulated trials per test, rate, plate count and noise preset "
                             f"(default {DEFAULT_TRIALS})")
    parser.add_argument("--workers", type=int, metavar="N",
                        help="local worker processes (default: one per core)")
    parser.add_argument("--scheduler", metavar="ADDRESS",
                        help="run the sweep on a Dask cluster (tcp://host:8786; needs the dask extra)")
    output = parser.add_mutually_exclusive_group()
    output.add_argument("--json", action="store_true", help="print the report as JSON")
    output.add_argument("--markdown", action="store_true", help="print the tables as Markdown")
    parser.add_argument("--baseline", metavar="FILE",
                        help="compare with an accuracy baseline; what moved is listed, exit 1")
    parser.add_argument("--write-baseline", metavar="FILE", help="write this run as the baseline")
    parser.set_defaults(run=_run_conformance)


def _run_conformance(args: argparse.Namespace) -> int:
    import json

    from hil.conformance import baseline, expand_suites, run
    from hil.conformance.analysers import available
    from hil.conformance.table import text
    from hil.executor import open_executor
    from hil.progress import Progress

    names = args.analyser or ["forcebench"]
    if "all" in names:
        names = available() + [n for n in names if n != "all" and n not in available()]
    suites = expand_suites(args.suite or ["all"])
    strict = bool(args.suite) and "all" not in args.suite  # a suite asked for by name must run
    _parsed("--workers", args.workers, int, 1)
    before = baseline.read(args.baseline) if args.baseline else None  # bad file: exit 2 before the sweep
    with open_executor(args.scheduler, args.workers) as executor:
        meter: list[Progress] = []

        def progress(done: int, total: int) -> None:
            if not meter:
                meter.append(Progress(total, f"conformance ({executor.describe()})"))
            meter[0].update(done, final=done == total)

        report = run(names, suites, args.trials, executor, progress, strict=strict)
    moved = baseline.compare(before, report) if before is not None else []
    if args.write_baseline:
        baseline.write(args.write_baseline, report)
    if args.json:
        record = report.to_dict()
        if before is not None:
            record["baseline"] = {"path": args.baseline, "moved": [vars(m) for m in moved]}
        print(json.dumps(record, indent=1, allow_nan=False))
    else:
        print(text(report, markdown=args.markdown))
        if moved:
            print(f"\nmoved from the baseline {args.baseline}:\n{baseline.moved_table(moved)}")
        elif before is not None:
            print(f"\nnothing moved from the baseline {args.baseline}")
    # with a baseline the question is "did anything move" (its pass counts included): a quick
    # slice has too few trials per metric for the 95 % rule
    failed = bool(moved) if before is not None else bool(report.missed())
    return EXIT_OUT_OF_SPEC if failed else EXIT_OK


def _add_block(sub: argparse._SubParsersAction) -> None:
    """``forcebench block`` (owned by sim/block.py and hil/block/)."""
    parser = sub.add_parser(
        "block", help="simulate training blocks, test them on the plate and decide as a clinic would",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Run a training-block scenario (scenarios/blocks/*.toml): weeks of running and\n"
                    "prehab per athlete (SimPy), plate tests from the athletes' tissue state through\n"
                    "the simulated sensor (or --plate URL through the bench) and the analysis, and\n"
                    "the clinician's rule applied to the true and to the measured metrics. Writes\n"
                    "DIR/block.json (per athlete: sessions, weekly decisions, daily load series;\n"
                    "summary: decision agreement, test-retest MDC, detection power) and PNGs.",
        epilog="examples:\n"
               "  forcebench block scenarios/blocks/achilles_return.toml --out reports/achilles\n"
               "  forcebench block scenarios/blocks/cohort.toml --athletes 100 --out reports/cohort\n"
               "  forcebench block scenarios/blocks/mileage_spike.toml --plate emulated --fast\n"
               "  forcebench block scenarios/blocks/cohort.toml --athletes 1000 --no-traces\n"
               "exit status: 0 written, 2 bad scenario or arguments (one line on standard error)")
    parser.add_argument("scenario", metavar="SCENARIO", help="block scenario file (TOML)")
    parser.add_argument("--athletes", metavar="N", help="number of athletes (default: the scenario's)")
    parser.add_argument("--seed", metavar="S", help="random seed (default: the scenario's); same seed, same block")
    _plate_options(parser, f"stream test days through this plate ({PLATE_URLS}); "
                           "default: the simulated sensor", 10.0,
                   calibration=f"with --plate: {CALIBRATION}",
                   fast="the simulated sensor always runs as fast as it can")
    parser.add_argument("--no-traces", action="store_true",
                        help="test days give the model's values: no traces, no plate (fast cohorts)")
    parser.add_argument("--out", metavar="DIR", help="output directory (default: reports/block-<scenario>)")
    parser.set_defaults(run=_run_block)


def _run_block(args: argparse.Namespace) -> int:
    from hil.block import BlockSettings, run

    if args.no_traces and args.plate:
        raise UsageError("--no-traces and --plate exclude each other (no traces, nothing to stream)")
    if args.calibration and not args.plate:
        raise UsageError("--calibration applies to a plate: add --plate URL")
    settings = BlockSettings(athletes=_parsed("--athletes", args.athletes, int, 1),
                             seed=_parsed("--seed", args.seed, int, 0), traces=not args.no_traces,
                             **_plate_settings(args))
    return run(args.scenario, args.out, settings)


def _add_realism(sub: argparse._SubParsersAction) -> None:
    """``forcebench realism`` (hil/realism.py)."""
    from hil.analysis import TESTS

    parser = sub.add_parser(
        "realism", help="measure real recordings against the simulator's presets",
        description="Measure quiet-stance noise and spectrum, flight noise, ringing after take-off, "
                    "quantisation step and rise and fall times on real recordings and on simulated "
                    "ones, and say which presets each real value falls within. Without PATH: the "
                    "real jump recordings in fixtures/ (the table in docs/simulator.md).")
    parser.add_argument("paths", metavar="PATH", nargs="*", help="recordings (any format forcebench analyse reads)")
    parser.add_argument("--test", choices=[t for t in TESTS if t in ("cmj", "sj", "dj")], default="cmj",
                        help="the jump in PATH (default cmj)")
    parser.add_argument("--rate", type=float, metavar="HZ", help="sample rate where a file states none")
    parser.add_argument("--seeds", type=int, default=12, metavar="N",
                        help="simulated CMJs per preset (default 12)")
    parser.set_defaults(run=_run_realism)


def _run_realism(args: argparse.Namespace) -> int:
    from hil import realism
    from hil.analysis.readers import load
    from hil.progress import Progress

    _parsed("--seeds", args.seeds, int, 1, 1000)
    root = Path(__file__).resolve().parents[1]
    wanted = ([(path, Path(path), args.rate, args.test) for path in args.paths] if args.paths
              else realism.default_recordings(root))
    recordings = [(name, load(str(path), rate), test) for name, path, rate, test in wanted]
    measured = [realism.Measured(name, realism.features(rec.force, rec.rate_hz, test))
                for name, rec, test in recordings]
    progress = Progress(len(realism.PRESETS) * args.seeds, "simulating")
    ranges = realism.preset_ranges(args.seeds, progress.update)
    progress.update(len(realism.PRESETS) * args.seeds, final=True)
    print(realism.report(measured, ranges))
    return EXIT_OK


def _add_platecheck(sub: argparse._SubParsersAction) -> None:
    """``forcebench plate-check`` (owned by hil/platecheck.py)."""
    from hil.platecheck import CHECKS

    parser = sub.add_parser(
        "plate-check", help="protocol conformance suite for plate firmware",
        description="Check a plate that claims the forcebench protocol against its specification "
                    "(docs/plates.md): identification, every command and its errors, frame format "
                    "and CRC, counter wrap, rates, timing jitter and throughput, start/stop/restart, "
                    "a slow reader. Prints a table, writes platecheck.json and platecheck.xml "
                    "(JUnit). Exit 0 every required check passes, 1 one fails, 2 no plate.")
    parser.add_argument("url", metavar="URL", help=f"plate URL: {PLATE_URLS}")
    parser.add_argument("--report", metavar="DIR", default="reports/plate-check",
                        help="where the JSON and JUnit go (default reports/plate-check)")
    parser.add_argument("--only", action="append", default=[], metavar="CHECK",
                        choices=[name for name, *_ in CHECKS],
                        help="run only this check (repeatable): " + ", ".join(n for n, *_ in CHECKS))
    parser.add_argument("--rates", default="100,500,1000,2000", metavar="HZ,HZ,...",
                        help="sample rates for the throughput and jitter checks (default 100,500,1000,2000)")
    parser.add_argument("--timeout", type=float, default=5.0, metavar="S",
                        help="a command unanswered this long fails (default 5 s)")
    parser.set_defaults(run=_run_platecheck)


def _run_platecheck(args: argparse.Namespace) -> int:
    from hil import platecheck
    from hil.plates import open_plate

    try:
        rates = [float(r) for r in args.rates.split(",") if r.strip()]
    except ValueError:
        raise UsageError(f"--rates must be numbers separated by commas, got {args.rates!r}") from None
    if not rates or not all(0 < r <= 100_000 for r in rates):
        raise UsageError(f"--rates must be positive sample rates, got {args.rates!r}")
    _check_timeout(args.timeout, 600)
    with open_plate(args.url, timeout=args.timeout) as plate:
        session = platecheck.Session(plate, rates, args.timeout)
        try:
            identity = plate.identify()
        except ValueError:
            identity = None
        print(f"plate-check {args.url} ({identity}), {session.dialect}")
        results = platecheck.run_checks(session, args.only,
                                        lambda result: print(platecheck.row(result), flush=True))
    paths = platecheck.write_reports(Path(args.report), args.url, identity, session.dialect, results)
    failed = [r.name for r in results if r.required and not r.passed]
    print(("FAIL: " + ", ".join(failed) if failed else f"PASS: {len(results)} checks")
          + f"; report in {paths[0]}, {paths[1]}")
    return EXIT_OUT_OF_SPEC if failed else EXIT_OK


def _add_calibrate(sub: argparse._SubParsersAction) -> None:
    """``forcebench calibrate`` (owned by hil/calibrate/)."""
    parser = sub.add_parser(
        "calibrate", help="calibrate a plate with known loads on a grid and verify it to a spec",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Load the plate with known weights at a grid of positions (up and down), read a\n"
                    "reference instrument, fit each cell's gain, offset and crosstalk by least\n"
                    "squares, write the correction to the plate and DIR/calibration.json, verify with\n"
                    "a fresh sequence and judge it against the acceptance spec. An emulated plate is\n"
                    "loaded by its rig command; any other plate by an operator following prompts.\n"
                    "An interrupted run resumes where it stopped (DIR/session.jsonl).",
        epilog="examples:\n"
               "  forcebench calibrate --plate 'emulated?gain=1.02,1,1,1,1,1,0.98,1&offset=4' --out cal\n"
               "  forcebench calibrate --plate emulated+text:fixtures/plates/text-dual-ads1256.toml \\\n"
               "      --fault drop:0.003 --fault corrupt:0.003 --out cal-text\n"
               "  forcebench calibrate --plate /dev/ttyACM0 --reference TCPIP::10.0.0.5::5025::SOCKET \\\n"
               "      --spec fixtures/calibration/acceptance.toml --out cal-SN1234\n"
               "exit status: 0 passes the spec, 1 fails it (reasons listed), 2 could not calibrate")
    _plate_options(parser, f"plate URL: {PLATE_URLS} (default emulated)", 5.0, default="emulated")
    parser.add_argument("--reference", metavar="URL",
                        help="reference instrument: emulated[?noise=..&resolution=..&gain=..], a VISA "
                             "resource, or none (certified masses); default emulated for an emulated "
                             "plate, else none")
    _rig_options(parser, "acceptance spec (default: F3109/datasheet defaults)")
    parser.add_argument("--plate-file", metavar="TOML",
                        help="plate geometry (size_m, cell_half_m) from a plate file, e.g. "
                             "fixtures/plates/clinic-dual.toml (default: 600 x 400 mm, a=250, b=150 mm)")
    parser.add_argument("--fault", action="append", default=[], metavar="SPEC",
                        help="emulated plates: inject a fault into every step's stream, e.g. "
                             "drop:0.003 (a text plate: drop, corrupt, reorder; repeatable)")
    parser.add_argument("--out", metavar="DIR", required=True, help="output directory")
    parser.set_defaults(run=_run_calibrate)


def _run_calibrate(args: argparse.Namespace) -> int:
    from hil.calibrate.rig import Interrupted
    from hil.calibrate.run import calibrate

    _check_plate(args)
    try:
        _, status = calibrate(args.plate, args.out, reference_url=args.reference, spec_path=args.spec,
                              plate_file=args.plate_file, operator=args.operator, timeout=args.timeout,
                              faults=args.fault)
    except Interrupted:
        raise UsageError(f"interrupted: the steps done are kept in {args.out}/session.jsonl; "
                         "run the same command again to carry on") from None
    return status


def _add_check(sub: argparse._SubParsersAction) -> None:
    """``forcebench check`` (owned by hil/calibrate/check.py)."""
    parser = sub.add_parser(
        "check", help="daily verification of a plate with a known mass, kept in a history",
        description="Put a known mass on each plate in turn (an emulated plate by its rig, a real one "
                    "by an operator), compare force and COP, append the result to HISTORY/<serial>.jsonl, "
                    "plot the history (HISTORY/<serial>-drift.png) and warn when its trend leaves the "
                    "spec. Exit 0 within the limits, 1 outside, 2 could not check.")
    _plate_options(parser, f"plate URL: {PLATE_URLS} (default emulated)", 5.0, default="emulated",
                   calibration=CALIBRATION)
    parser.add_argument("--mass", type=float, required=True, metavar="KG", help="the known mass (≥ 25 kg in clinics)")
    parser.add_argument("--position", metavar="X,Y", default="0,0", help="where, mm from the centre (default 0,0)")
    parser.add_argument("--history", metavar="DIR", default="plate-history",
                        help="history directory (default plate-history)")
    _rig_options(parser, "acceptance spec (its check_* limits)")
    parser.set_defaults(run=_run_check)


def _run_check(args: argparse.Namespace) -> int:
    from hil.calibrate.check import check
    from hil.calibrate.rig import Interrupted

    _check_plate(args)
    try:
        x_mm, y_mm = (float(v) for v in args.position.split(","))
    except ValueError:
        raise UsageError(f"--position must be X,Y in mm, got {args.position!r}") from None
    try:
        _, status = check(args.plate, args.mass, args.history, x_mm=x_mm, y_mm=y_mm, spec_path=args.spec,
                          calibration=args.calibration, operator=args.operator, timeout=args.timeout)
    except Interrupted:
        raise UsageError("interrupted: nothing recorded") from None
    return status


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="forcebench",
        description="Simulation and hardware-in-the-loop test bench for force plates.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for add in (_add_simulate, _add_analyse, _add_realism, _add_emulate, _add_replay,
                _add_platecheck, _add_calibrate, _add_check, _add_block, _add_conformance):
        add(sub)
    # one line on bad arguments, never argparse's usage block (exit status 2 either way)
    parser.error = _one_line_error("")  # type: ignore[method-assign]
    for name, command in sub.choices.items():
        command.error = _one_line_error(name)  # type: ignore[method-assign]
    return parser


def main(argv: list[str] | None = None) -> int:
    import warnings

    import numpy as np

    parser = build_parser()
    args = parser.parse_args(argv)  # argparse itself exits 2 with one line on bad arguments
    try:
        # bad samples are reported as quality issues, bad replies as errors: the warnings of
        # numpy and the VISA libraries would only be noise on the way
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")
            return int(args.run(args) or 0)
    except KeyboardInterrupt:
        print("forcebench: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0
    except Exception as error:  # noqa: BLE001 - every failure ends as one line
        if not _is_users(error):
            return _internal_error(error)
        print(f"forcebench: error: {_shortened(error)}", file=sys.stderr)
        return EXIT_USAGE


if __name__ == "__main__":
    sys.exit(main())
