"""Drivers: one per kind of transport, each behind the one Plate interface (hil.drivers.base).

    SerialPlate(url)               any pyserial URL: /dev/ttyUSB0, socket://, rfc2217://, loop://
    VisaPlate(resource, backend)   any VISA resource through pyvisa (pyvisa-py, pyvisa-sim)

They know nothing of emulators: hil.plates turns a plate URL into a driver and starts an
emulator when the URL asks for one.
"""
from __future__ import annotations

from .base import (Plate, PlateCommandError, PlateDisconnected, PlateError, PlateTimeout,
                   PlateUrlError, Server)

__all__ = ["Plate", "PlateError", "PlateUrlError", "PlateTimeout", "PlateDisconnected",
           "PlateCommandError", "Server"]
