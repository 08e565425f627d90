"""A calibration rig's reference is a URL too: this picks the driver, starting an emulator if asked.

    emulated[?noise=0.05&resolution=0.1&gain=1.0]   start the emulated SCPI indicator, pyvisa-py
    TCPIP::host::port::SOCKET[@backend]             any VISA resource (…@fixtures/visa/reference.yaml@sim)
    none                                            the nominal loads (certified masses)
"""
from __future__ import annotations

from .drivers.base import PlateUrlError
from .emulator.process import EmulatorProcess
from .drivers.reference import NominalReference, Reference, VisaReference
from .emulator.miscalibration import split_url
from .emulator.reference import parse_options


def open_reference(url: str = "emulated", *, timeout: float = 5.0, seed: int = 0) -> Reference:
    base, query = split_url(url)
    if base == "none":
        return NominalReference()
    if base == "emulated":
        parse_options(query)  # a bad option is one line here, not a dead process
        server = EmulatorProcess("reference", ["--port", "0", "--seed", str(seed),
                                               "--reference", query], timeout)
        try:
            return VisaReference(server.address, "@py", timeout, server=server)
        except BaseException:
            server.close()
            raise
    if "::" in url:
        resource, _, backend = url.strip().partition("@")
        return VisaReference(resource, backend if "@" in backend else "@" + (backend or "py"), timeout)
    raise PlateUrlError(f"unknown reference URL {url!r}: use emulated, none, or a VISA resource "
                        "(TCPIP::host::port::SOCKET)")
