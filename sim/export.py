"""Writing a trial to disk: DIR/<name>.csv (time and force per plate) and DIR/<name>.truth.json.

Files are written to a temporary name in the same directory and renamed into place, so a
reader never sees a half-written file and an error leaves nothing behind.
"""
from __future__ import annotations

import io
import json
import os
import tempfile
from pathlib import Path
from typing import Any, Mapping

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
                simulation: Mapping[str, Any] | None = None) -> tuple[Path, Path]:
    """Write ``name``.csv and ``name``.truth.json into ``directory`` (created if needed)."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    contents = {directory / f"{name}.csv": csv_text(trial),
                directory / f"{name}.truth.json": truth_json(trial, simulation)}
    for path, text in contents.items():
        _write_atomically(path, text)
    csv_path, json_path = contents
    return csv_path, json_path


def _write_atomically(path: Path, text: str) -> None:
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "w", encoding="utf-8", newline="\n") as file:
            file.write(text)
        os.chmod(temporary, 0o644)  # mkstemp's 0600 would hide the trace from other users
        os.replace(temporary, path)
    except BaseException:
        os.unlink(temporary)
        raise


def _plain(value: Any) -> Any:
    """numpy values inside the plate parameters as plain JSON."""
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(f"cannot write {type(value).__name__} to JSON")
