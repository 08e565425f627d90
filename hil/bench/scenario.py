"""Scenario files (TOML): a session of simulated trials (sim.scenario) and the bench's own
configuration: the plate's URL, the faults to inject, and what to check.

    name = "quick"                      # optional, defaults to the file's stem
    description = "..."                 # optional
    gap_s = 0.5                         # \
    [plate]                             #  | the simulator's part: sim/scenario.py
    rate_hz = 1000 ...                  # /
    url = "emulated"                    # any plate URL (hil.plates); --plate overrides it

    [check]
    metrics = ["jump_height_m"]         # optional; default: every truth metric with a tolerance
    min_pass_rate = 0.95                # share of trials a metric must pass (METRICS.md: 95 %)
    latency_p99_ms = 5.0                # default: the spec's 5 ms; checked in real-time replays only
    expect_issues = ["gap"]             # acquisition issues the faults below must produce

    [[faults]]                          # optional, hil/emulator/faults.py lists the kinds
    kind = "drop"
    rate = 0.0005
"""
from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

from hil import spec
from hil.emulator.faults import Fault, FaultError, parse_faults
from sim.scenario import PLATE_KEYS, SESSION_KEYS, Reader, ScenarioError, Session, TrialPlan

__all__ = ["Scenario", "CheckConfig", "ScenarioError", "load", "loads"]

DEFAULT_URL = "emulated"


@dataclass(frozen=True)
class CheckConfig:
    metrics: tuple[str, ...] | None = None
    min_pass_rate: float = spec.MIN_PASS_RATE
    latency_p99_ms: float | None = None
    expect_issues: tuple[str, ...] = ()


@dataclass(frozen=True)
class Scenario:
    name: str
    description: str
    source: str
    url: str
    session: Session
    check: CheckConfig
    faults: tuple[Fault, ...] = ()

    @property
    def trials(self) -> tuple[TrialPlan, ...]:
        return self.session.trials

    @property
    def plates(self) -> int:
        return self.session.plate.plates

    @property
    def rates_hz(self) -> tuple[float, ...]:
        return self.session.rates_hz


def load(path: str | Path) -> Scenario:
    """Read and validate a scenario file."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise ScenarioError(f"{path}: cannot read scenario: {getattr(error, 'strerror', None) or error}") from None
    return loads(text, source=str(path), default_name=path.stem)


def loads(text: str, *, source: str = "<scenario>", default_name: str = "scenario") -> Scenario:
    """Parse and validate scenario TOML text; ``source`` names it in error messages."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise ScenarioError(f"{source}: not valid TOML: {error}") from None
    return _read(Reader(source), data, default_name)


def _read(reader: Reader, data: dict[str, Any], default_name: str) -> Scenario:
    reader.table(data, "", ("name", "description", "check", "faults") + SESSION_KEYS)
    name = reader.text(data.get("name", default_name), "name")
    description = data.get("description", "")
    if not isinstance(description, str):
        raise reader.fail("description", f"must be a string, got {type(description).__name__}")
    plate = dict(reader.table(data.get("plate", {}), "plate", ("url",) + PLATE_KEYS))
    url = reader.text(plate.pop("url", DEFAULT_URL), "plate.url")
    session = reader.session({**data, "plate": plate})
    check = _check(reader, data.get("check", {}))
    faults = _faults(reader, data.get("faults", []))
    if check.expect_issues and not faults:
        raise reader.fail("check.expect_issues", "expects issues but the scenario has no [[faults]]")
    return Scenario(name=name, description=description, source=reader.source, url=url,
                    session=session, check=check, faults=faults)


def _check(reader: Reader, data: Any) -> CheckConfig:
    reader.table(data, "check", ("metrics", "min_pass_rate", "latency_p99_ms", "expect_issues"))
    metrics = reader.strings(data["metrics"], "check.metrics") if "metrics" in data else None
    if metrics is not None and not metrics:
        raise reader.fail("check.metrics", "is empty (leave it out to check every metric)")
    for metric in metrics or ():
        if spec.measurement("cmj", metric) is None and spec.measurement("run", metric) is None:
            raise reader.fail("check.metrics", f"the spec has no tolerance for {metric!r}")
    latency = data.get("latency_p99_ms")
    return CheckConfig(
        metrics=metrics,
        min_pass_rate=reader.number(data.get("min_pass_rate", spec.MIN_PASS_RATE),
                                    "check.min_pass_rate", 0.0, 1.0),
        latency_p99_ms=None if latency is None else reader.number(
            latency, "check.latency_p99_ms", 0.001, 60_000.0),
        expect_issues=reader.strings(data.get("expect_issues", []), "check.expect_issues"))


def _faults(reader: Reader, data: Any) -> tuple[Fault, ...]:
    if not isinstance(data, list) or not all(isinstance(f, Mapping) for f in data):
        raise reader.fail("faults", "must be an array of tables ([[faults]])")
    try:
        return parse_faults(data)
    except FaultError as error:
        raise reader.fail("faults", str(error)) from None
