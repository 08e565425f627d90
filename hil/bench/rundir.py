"""Where a replay writes: a directory no other run has used, locked while the run writes it.

A run never overwrites an earlier run's raw record. Without ``--report`` each run gets its own
directory ``reports/<scenario>/<UTC time>/`` and ``reports/<scenario>/latest`` points at the
newest; a directory given with ``--report`` must not hold a run already (it is refused). The
directory is locked (``.lock``, an advisory ``flock``) for the whole run, so two replays into one
folder never interleave: the second is refused at once, naming the first's process.
"""
from __future__ import annotations

import contextlib
import fcntl
import os
import time
from pathlib import Path
from typing import Iterator

from hil.bench.settings import BenchError

LOCK_NAME = ".lock"
LATEST = "latest"
RUN_FILES = ("report.json", "raw.bin")  # a directory holding one of these holds a run


@contextlib.contextmanager
def locked(directory: Path) -> Iterator[Path]:
    """Hold ``directory``'s lock for the duration (created if need be)."""
    directory.mkdir(parents=True, exist_ok=True)
    handle = open(directory / LOCK_NAME, "a+")
    try:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "another process"
            raise BenchError(f"{directory} is being written by another replay ({holder}); "
                             "wait for it, or give another --report directory") from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"pid {os.getpid()}\n")
        handle.flush()
        yield directory
    finally:
        handle.close()  # closing releases the lock


def holds_a_run(directory: Path) -> bool:
    return any(any(directory.glob(name.replace(".", "*."))) for name in RUN_FILES)


@contextlib.contextmanager
def given(directory: Path) -> Iterator[Path]:
    """A directory the user named: locked, and refused if an earlier run is in it."""
    with locked(directory):
        if holds_a_run(directory):
            raise BenchError(f"{directory} already holds a run (report.json or raw.bin); give a "
                             "new --report directory, or leave --report out for a new run "
                             "directory under reports/")
        yield directory


@contextlib.contextmanager
def fresh(parent: Path) -> Iterator[Path]:
    """A new run directory under ``parent`` named for the UTC time; ``parent/latest`` points at
    it once the run has written its report (whatever its verdict); a run that could not start
    leaves nothing behind."""
    with locked(parent):  # choosing a name and creating it is one step for every replay
        stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
        directory, number = parent / stamp, 1
        while directory.exists():
            number += 1
            directory = parent / f"{stamp}-{number}"
        directory.mkdir()
    try:
        with locked(directory):
            yield directory
    finally:
        if (directory / "report.json").exists():
            with locked(parent):
                pointer = parent / f".{LATEST}.{os.getpid()}"
                pointer.unlink(missing_ok=True)
                pointer.symlink_to(directory.name)
                os.replace(pointer, parent / LATEST)  # atomic: never a missing pointer
        elif all(path.name == LOCK_NAME for path in directory.iterdir()):
            (directory / LOCK_NAME).unlink(missing_ok=True)
            directory.rmdir()
