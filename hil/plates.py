"""A plate is a URL: this picks the driver, and starts an emulator when the URL asks for one.

    emulated, emulated+serial   start the serial emulator on a pseudo-terminal, talk pyserial
    emulated?gain=1.02,...      an emulated plate out of calibration (hil.emulator.miscalibration)
    emulated+scpi               start the SCPI emulator on 127.0.0.1, talk pyvisa-py
    /dev/ttyUSB0, socket://host:port, rfc2217://host:port, loop://   any pyserial URL
    TCPIP::host::port::SOCKET (or any VISA resource) [@backend], e.g. ...@path/to.yaml@sim
    text:PLATE_FILE@PORT        a text-line plate (hil.text_format) on any pyserial URL
    emulated+text:PLATE_FILE    start the text-line emulator for that plate file, talk pyserial
"""
from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Iterable, Mapping

from .drivers.base import Plate, PlateUrlError
from .emulator import miscalibration
from .emulator.faults import Fault, parse_faults
from .emulator.process import EmulatorProcess
from .emulator.source import Source, write_source

EMULATED_URLS = {"emulated": "serial", "emulated+serial": "serial", "emulated+scpi": "scpi"}
TEXT, EMULATED_TEXT = "text:", "emulated+text:"
SERIAL_PREFIXES = ("/dev/", "socket://", "rfc2217://", "loop://", "spy://", "alt://", "hwgrep://")


RAW = "raw:"  # raw:PATH, or any PATH ending in .bin: a raw record played back


def is_raw(url: str) -> bool:
    """True for a raw record (``raw:PATH`` or ``PATH.bin``) to be played back as a plate."""
    return url.strip().startswith(RAW) or url.strip().endswith(".bin")


def is_emulated(url: str) -> bool:
    """True for the URLs that start an emulator of our own (so its source and faults are ours)."""
    base = miscalibration.split_url(url)[0]
    return base in EMULATED_URLS or base.startswith(EMULATED_TEXT)


def transport(url: str) -> str:
    """``scpi`` for a VISA resource or the SCPI emulator, else ``serial``."""
    url = url.strip()
    return EMULATED_URLS.get(url, "scpi" if "::" in url else "serial")


def open_plate(url: str = "emulated", *, source: str | Path | Source | None = None,
               fast: bool = False, faults: Iterable[str | Mapping | Fault] = (),
               timing_log: str | Path | None = None, timeout: float = 5.0, seed: int = 0,
               once: bool = False, counter_start: int = 0,
               calibration: str | Path | None = None) -> Plate:
    """Connect to the plate at ``url``; emulator options apply to ``emulated`` URLs only.
    ``calibration``: a calibration file (or a directory of them, by serial number) whose
    correction the driver applies instead of the one the plate stores.

    Raises PlateUrlError for a URL of no known kind, PlateTimeout for a plate that does not
    answer within ``timeout`` seconds, PlateError for anything else that stops us.
    """
    plate = _open(url.strip(), source, fast, faults, timing_log, timeout, seed, once, counter_start)
    if calibration is not None:
        from .calibrate.certificate import apply
        try:
            apply(plate, calibration)
        except BaseException:
            plate.close()
            raise
    return plate


def _open(url: str, source, fast: bool, faults, timing_log, timeout: float, seed: int, once: bool,
          counter_start: int) -> Plate:
    if is_emulated(url):
        base, query = miscalibration.split_url(url)
        miscalibration.check(query)  # one line here, before a process starts
        layout = _plate_file(base[len(EMULATED_TEXT):]) if base.startswith(EMULATED_TEXT) else None
        return _open_emulated("text" if layout else EMULATED_URLS[base], source, fast,
                              parse_faults(faults), timing_log, timeout, seed, once,
                              counter_start, layout, query)
    if source is not None or fast or tuple(faults) or timing_log or once:
        raise PlateUrlError(f"emulator options need an emulated plate URL, not {url!r}")
    if is_raw(url):
        from .acquire import RawPlate
        return RawPlate(url[len(RAW):] if url.startswith(RAW) else url)
    if url.startswith(TEXT):
        from .drivers.text_plate import TextPlate
        path, at, port = url[len(TEXT):].rpartition("@")
        if not at:
            raise PlateUrlError(f"a text plate URL is text:PLATE_FILE@PORT, got {url!r}")
        return TextPlate(_plate_file(path), port, timeout)
    if "::" in url:
        from .drivers.visa_plate import VisaPlate
        resource, at, backend = url.partition("@")  # "py", "sim" or "file.yaml@sim"
        return VisaPlate(resource, backend if "@" in backend else "@" + (backend or "py"), timeout)
    if url.startswith(SERIAL_PREFIXES) or url.startswith("COM"):
        from .drivers.serial_plate import SerialPlate
        return SerialPlate(url, timeout)
    raise PlateUrlError(f"unknown plate URL {url!r}: use emulated, emulated+scpi, a serial "
                        "port or pyserial URL (/dev/..., socket://, rfc2217://, loop://), "
                        "a VISA resource (TCPIP::host::port::SOCKET), text:PLATE_FILE@PORT, "
                        "emulated+text:PLATE_FILE or a raw record (raw:PATH, PATH.bin)")


def _plate_file(path: str):
    from .text_format import PlateFileError, load_plate_file
    try:
        return load_plate_file(path)
    except PlateFileError as error:
        raise PlateUrlError(str(error)) from None


def _open_emulated(transport: str, source, fast: bool, faults: tuple[Fault, ...], timing_log,
                   timeout: float, seed: int, once: bool, counter_start: int,
                   layout=None, query: str = "") -> Plate:
    options = ["--seed", str(seed), "--counter-start", str(counter_start)]
    if layout is not None:
        options += ["--plate-file", layout.path]
    if query:
        options += ["--miscalibration", query]
    scratch = None
    if isinstance(source, Source):  # hand it over as a file, removed when the plate closes
        scratch = tempfile.TemporaryDirectory(prefix="forcebench-source-")
        source = write_source(Path(scratch.name) / "source.npz", source.cells, source.rate_hz,
                              source.trial_starts, source.trial_names)
    if source is not None:
        options += ["--source", str(source)]
    if fast:
        options.append("--fast")
    if once:
        options.append("--once")
    if timing_log is not None:
        options += ["--timing-log", str(timing_log)]
    for fault in faults:
        options += ["--fault", fault.to_spec()]
    emulator = EmulatorProcess(transport, options, timeout, keep_alive=scratch)
    try:
        if transport == "text":
            from .drivers.text_plate import TextPlate
            return TextPlate(layout, emulator.address, timeout, server=emulator)
        if transport == "serial":
            from .drivers.serial_plate import SerialPlate
            return SerialPlate(emulator.address, timeout, server=emulator)
        from .drivers.visa_plate import VisaPlate
        return VisaPlate(emulator.address, "@py", timeout, server=emulator)
    except BaseException:
        emulator.close()
        raise
