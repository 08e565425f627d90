"""Writing a trial to disk: DIR/<name>.csv (time and force per plate) and DIR/<name>.truth.json.

Files are written to temporary names in the same directory and renamed into place together,
so a reader never sees a half-written file and an error leaves nothing behind.
"""
from __future__ import annotations

import errno
import functools
import io
import json
import os
import tempfile
from pathlib import Path
from typing import Any, Callable, Mapping

import numpy as np

from sim.trial import Trial


def csv_text(trial: Trial) -> str:
    """``time,fz`` or ``time,fz_left,fz_right``; seconds to 1 µs, newtons to 1 µN."""
    buffer = io.StringIO()
    data = np.column_stack([trial.time, trial.force])
    np.savetxt(buffer, data, fmt=["%.6f"] + ["%.6f"] * trial.plates, delimiter=",",
               header=",".join(("time",) + trial.channels), comments="")
    return buffer.getvalue()


def truth_json(trial: Trial, simulation: Mapping[str, Any] | None = None) -> str:
    """The truth as JSON: metrics, events, per_rep, plate (and how it was simulated)."""
    record = trial.truth.to_dict()
    record["sample_rate_hz"] = trial.rate_hz
    if simulation is not None:
        record["simulation"] = dict(simulation)
    return json.dumps(record, indent=2, default=_plain) + "\n"


def write_trial(trial: Trial, directory: str | Path, name: str,
                simulation: Mapping[str, Any] | None = None,
                extra: Mapping[str, Callable[[Path], Any]] | None = None) -> tuple[Path, ...]:
    """Write ``name``.csv and ``name``.truth.json into ``directory`` (created if needed), and
    ``name``.<suffix> for each ``extra`` writer (called with a temporary path to fill).

    Every file is written to a temporary name first and all are renamed into place only when
    all of them are complete, so a failure leaves nothing behind (not even a lone CSV)."""
    directory = Path(directory)
    texts = {directory / f"{name}.csv": csv_text(trial),
             directory / f"{name}.truth.json": truth_json(trial, simulation)}
    writers: dict[Path, Callable[[Path], Any]] = {
        path: functools.partial(_write_text, text=text) for path, text in texts.items()}
    writers.update({directory / f"{name}.{suffix}": write for suffix, write in (extra or {}).items()})
    created = not directory.exists()
    temporaries: list[Path] = []
    try:
        directory.mkdir(parents=True, exist_ok=True)
        for path in writers:
            if path.is_dir():
                raise IsADirectoryError(errno.EISDIR, f"{path.name} is a directory")
        for path, write in writers.items():
            handle, temporary = tempfile.mkstemp(dir=directory, prefix=f".{path.name}.", suffix=".tmp")
            os.close(handle)
            temporaries.append(Path(temporary))
            write(temporaries[-1])
            os.chmod(temporary, 0o644)  # mkstemp's 0600 would hide the trace from other users
        for path, temporary in zip(writers, temporaries):
            os.replace(temporary, path)
    except BaseException as error:
        for temporary in temporaries:
            temporary.unlink(missing_ok=True)
        if created and directory.is_dir() and not any(directory.iterdir()):
            directory.rmdir()  # the directory was made for these files only
        if isinstance(error, OSError):
            raise OSError(f"cannot write the trial into {directory}: {error.strerror or error}") from error
        raise
    return tuple(writers)


def _write_text(path: Path, text: str) -> None:
    with open(path, "w", encoding="utf-8", newline="\n") as file:
        file.write(text)


def _plain(value: Any) -> Any:
    """numpy values inside the plate parameters as plain JSON."""
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(f"cannot write {type(value).__name__} to JSON")
