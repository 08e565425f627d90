"""The reference instrument of a calibration rig: what the applied load really is.

``VisaReference`` talks SCPI to a load-cell indicator or DMM over any VISA resource (pyvisa-py,
or pyvisa-sim with ``fixtures/visa/reference.yaml``); ``NominalReference`` trusts the rig's
nominal loads (certified masses: their stated uncertainty is the reference's).
"""
from __future__ import annotations

import abc

import pyvisa

from .. import protocol
from .base import PlateError, PlateTimeout
from .visa_plate import close_visa

MEASURE = "MEAS:FORC?"


class Reference(abc.ABC):
    url: str
    resolution_n: float = 0.0

    @abc.abstractmethod
    def measure(self, nominal_n: float) -> float:
        """The applied force in N (``nominal_n``: what the rig meant to apply)."""

    def identify(self) -> str:
        return "nominal loads"

    def feel(self, newtons: float) -> None:
        """Emulation only: the force the rig puts on an emulated reference cell."""

    def close(self) -> None:
        pass

    def __enter__(self) -> "Reference":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class NominalReference(Reference):
    """Certified masses: the nominal load is the reference (no instrument)."""

    def __init__(self) -> None:
        self.url = "none"

    def measure(self, nominal_n: float) -> float:
        return nominal_n


class VisaReference(Reference):
    def __init__(self, resource: str, backend: str = "@py", timeout: float = 5.0,
                 server=None) -> None:
        self.url = resource if backend == "@py" else f"{resource}@{backend.lstrip('@')}"
        self.timeout, self.server = timeout, server
        try:
            self.manager = pyvisa.ResourceManager(backend)
            self.instrument = self.manager.open_resource(resource, open_timeout=int(timeout * 1000))
        except (pyvisa.Error, ValueError, OSError) as error:
            self.close()
            raise PlateError(f"cannot open the reference {self.url}: {error}") from None
        self.instrument.read_termination = self.instrument.write_termination = "\n"
        self.instrument.timeout = int(timeout * 1000)
        self._identity = self._query("*IDN?")
        try:
            self.resolution_n = float(self._query("CONF:RES?"))
        except (ValueError, PlateError):
            self.resolution_n = 0.0  # an instrument that does not say: nothing assumed

    def _query(self, line: str) -> str:
        try:
            reply = self.instrument.query(line).strip()
            if reply:
                return reply
            code, message = protocol.parse_error(self.instrument.query("SYST:ERR?"))
        except pyvisa.errors.VisaIOError as error:
            if error.error_code == pyvisa.constants.StatusCode.error_timeout:
                raise PlateTimeout(f"reference at {self.url} did not answer {line!r} "
                                   f"within {self.timeout:g} s") from None
            raise PlateError(f"reference at {self.url}: {error}") from None
        except (OSError, protocol.ProtocolError) as error:
            raise PlateError(f"reference at {self.url}: {error}") from None
        raise PlateError(f"reference at {self.url} refused {line!r}: {code} {message}")

    def identify(self) -> str:
        return self._identity

    def measure(self, nominal_n: float) -> float:
        reply = self._query(MEASURE)
        try:
            return float(reply)
        except ValueError:
            raise PlateError(f"reference at {self.url}: {MEASURE} answered {reply!r}") from None

    def feel(self, newtons: float) -> None:
        if self.server is not None:
            self.instrument.write(f"SIM:FORC {newtons!r}")

    def close(self) -> None:
        close_visa(getattr(self, "instrument", None), getattr(self, "manager", None), self.server)
