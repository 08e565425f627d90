"""The steps done so far, on disk, so that a calibration survives an interruption.

``DIR/session.jsonl``: a header line (the plan's fingerprint, the plate and reference, the plate's
calibration as found), then one line per measured step, appended and fsync'd as each is taken.
Run the same command again and it carries on after the last step done; a session for another
plan or plate, or one with a missing or repeated step, is refused (one line), never overwritten.
"""
from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

from .rig import Reading

NAME = "session.jsonl"


class SessionError(ValueError):
    """A session file that cannot be resumed."""


class Session:
    def __init__(self, directory: Path, header: dict[str, Any]) -> None:
        self.path = directory / NAME
        self.readings: dict[str, list[Reading]] = {"calibration": [], "verification": []}
        if self.path.exists():
            self.header = self._resume(header)
        else:
            directory.mkdir(parents=True, exist_ok=True)
            self.header = {**header, "started_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                           "started_epoch_s": time.time()}
            self._append({"header": self.header})

    def _resume(self, header: dict[str, Any]) -> dict[str, Any]:
        lines = self.path.read_text(encoding="utf-8").splitlines()
        try:
            records = [json.loads(line) for line in lines if line.strip()]
        except ValueError:
            # a line cut by a crash can only be the last one: drop it, keep the rest
            records = [json.loads(line) for line in lines[:-1] if line.strip()]
        if not records or "header" not in records[0]:
            raise SessionError(f"{self.path} is not a calibration session; remove it or use another --out")
        found = records[0]["header"]
        for key in ("plan", "plate_identity", "plate_url"):
            if found.get(key) != header.get(key):
                raise SessionError(f"{self.path} belongs to another calibration ({key} "
                                   f"{found.get(key)!r}, now {header.get(key)!r}); use another --out "
                                   "or remove it to start again")
        for record in records[1:]:
            stage = record.get("stage")
            if stage not in self.readings:
                raise SessionError(f"{self.path}: unknown record {record!r:.80}")
            reading = Reading.from_dict(record["reading"])
            done = self.readings[stage]
            expected = len(done)
            if reading.step < expected:
                raise SessionError(f"{self.path}: {stage} step {reading.step + 1} is repeated")
            if reading.step > expected:
                raise SessionError(f"{self.path}: {stage} step {expected + 1} is missing "
                                   f"(the next recorded is step {reading.step + 1})")
            done.append(reading)
        return found

    def add(self, stage: str, reading: Reading) -> None:
        if reading.step != len(self.readings[stage]):
            raise SessionError(f"{stage} step {reading.step + 1} out of order")
        self.readings[stage].append(reading)
        self._append({"stage": stage, "reading": reading.to_dict()})

    def _append(self, record: dict) -> None:
        fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        try:
            os.write(fd, (json.dumps(record) + "\n").encode())
            os.fsync(fd)
        finally:
            os.close(fd)
