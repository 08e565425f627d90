"""An emulator run as a real child process (``forcebench emulate ...``), cleaned up on exit.

It is the ``server`` a driver is given by hil.plates: the driver asks it why the port died and
where it came back, and closes it with the plate."""
from __future__ import annotations

import atexit
import os
import selectors
import subprocess
import sys
import time
import weakref
from typing import Sequence

from ..drivers.base import PlateError, PlateTimeout


# the shortest wait for an announced address: a Python process on a loaded machine may take
# seconds to start or to reopen its port, which says nothing about the plate's answer time
ANNOUNCE_S = 10.0


class EmulatorProcess:
    """Starts ``python -m hil.cli emulate TRANSPORT ...`` and reads the lines it announces."""

    def __init__(self, transport: str, options: Sequence[str], timeout: float,
                 keep_alive: object = None) -> None:
        self.keep_alive = keep_alive  # what must outlive the process (a temporary source file)
        command = [sys.executable, "-m", "hil.cli", "emulate", transport, "--watch-stdin",
                   *options]
        self.process = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                        stderr=subprocess.PIPE)
        self._finalizer = weakref.finalize(self, _stop, self.process)
        atexit.register(self._finalizer)
        self._buffer = b""
        try:
            self.address = self.next_address(max(timeout, ANNOUNCE_S))
        except BaseException:
            self.close()
            raise

    def next_address(self, timeout: float) -> str:
        """The next address the emulator announces (a line on its stdout), within ``timeout`` s."""
        deadline = time.monotonic() + timeout
        fd = self.process.stdout.fileno()
        with selectors.DefaultSelector() as selector:
            selector.register(fd, selectors.EVENT_READ)
            while b"\n" not in self._buffer:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise PlateTimeout(f"emulator did not announce its port within {timeout:g} s")
                if selector.select(left):
                    data = os.read(fd, 4096)
                    if not data:
                        raise PlateError(f"emulator exited: {self._last_error()}")
                    self._buffer += data
        line, self._buffer = self._buffer.split(b"\n", 1)
        return line.decode().strip()

    def check(self) -> None:
        """PlateError with the emulator's last words if it has exited."""
        if self.process.poll() is not None:
            raise PlateError(f"emulator exited: {self._last_error()}")

    def _last_error(self) -> str:
        try:
            _, err = self.process.communicate(timeout=2)
        except subprocess.TimeoutExpired:
            return "no message"
        lines = [ln for ln in err.decode(errors="replace").splitlines() if ln.strip()]
        return lines[-1] if lines else f"exit status {self.process.returncode}"

    def close(self) -> None:
        self._finalizer()


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=3)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=3)
    for stream in (process.stdin, process.stdout, process.stderr):
        stream.close()
