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
    min_scored = 0.5                    # share of trials that must be scored (not flagged)
    latency_p99_ms = 5.0                # compute latency limit, default the spec's 5 ms
    movement_latency_ms = 1000          # movement latency limit, default the spec's 1 s
    expect_issues = ["gap"]             # acquisition issues the faults below must produce

Latency limits are held to the p99, or to the maximum below 100 values, in real-time replays.
Checked metrics that none of the scenario's tests produce, and faults aimed at a plate or cell
the scenario does not have, are refused here, when the scenario is loaded.

    [[faults]]                          # optional, hil/emulator/faults.py lists the kinds
    kind = "drop"
    rate = 0.0005
"""
from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

from hil import protocol, spec
from hil.emulator.faults import Fault, FaultError, parse_faults
from sim.generate import simulate
from sim.scenario import PLATE_KEYS, SESSION_KEYS, Reader, ScenarioError, Session, TrialPlan

__all__ = ["Scenario", "CheckConfig", "ScenarioError", "load", "loads"]

DEFAULT_URL = "emulated"


@dataclass(frozen=True)
class CheckConfig:
    metrics: tuple[str, ...] | None = None
    min_pass_rate: float = spec.MIN_PASS_RATE
    min_scored: float = spec.MIN_SCORED
    latency_p99_ms: float = 1000 * spec.LATENCY_P99_S
    movement_latency_ms: float = 1000 * spec.MOVEMENT_LATENCY_S
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
    if check.metrics is not None:
        _produced(reader, session, check.metrics)
    faults = _faults(reader, data.get("faults", []), session.plate.plates)
    if check.expect_issues and not faults:
        raise reader.fail("check.expect_issues", "expects issues but the scenario has no [[faults]]")
    return Scenario(name=name, description=description, source=reader.source, url=url,
                    session=session, check=check, faults=faults)


def _check(reader: Reader, data: Any) -> CheckConfig:
    reader.table(data, "check", ("metrics", "min_pass_rate", "min_scored", "latency_p99_ms",
                                 "movement_latency_ms", "expect_issues"))
    metrics = reader.strings(data["metrics"], "check.metrics") if "metrics" in data else None
    if metrics is not None and not metrics:
        raise reader.fail("check.metrics", "is empty (leave it out to check every metric)")
    for metric in metrics or ():
        if spec.measurement("cmj", metric) is None and spec.measurement("run", metric) is None:
            raise reader.fail("check.metrics", f"the spec has no tolerance for {metric!r}")
    defaults = CheckConfig()
    return CheckConfig(
        metrics=metrics,
        min_pass_rate=reader.number(data.get("min_pass_rate", defaults.min_pass_rate),
                                    "check.min_pass_rate", 0.0, 1.0),
        min_scored=reader.number(data.get("min_scored", defaults.min_scored),
                                 "check.min_scored", 0.0, 1.0),
        latency_p99_ms=reader.number(data.get("latency_p99_ms", defaults.latency_p99_ms),
                                     "check.latency_p99_ms", 0.001, 60_000.0),
        movement_latency_ms=reader.number(
            data.get("movement_latency_ms", defaults.movement_latency_ms),
            "check.movement_latency_ms", 0.001, 60_000.0),
        expect_issues=reader.strings(data.get("expect_issues", []), "check.expect_issues"))


def _produced(reader: Reader, session: Session, metrics: tuple[str, ...]) -> None:
    """Refuse checked metrics that no trial's truth carries, so none could ever be scored: the
    first trial of each kind (test and options) is simulated to see which metrics it has."""
    kinds = {(plan.test, tuple(sorted(plan.options.items()))): plan for plan in reversed(session.trials)}
    produced: set[str] = set()
    for plan in kinds.values():
        try:
            trial = simulate(plan.test, mass_kg=plan.mass_kg, rate_hz=plan.rate_hz,
                             plates=session.plate.plates, noise="none", seed=plan.seed,
                             **plan.options)
        except (ValueError, TypeError) as error:  # SimulationError, or an option value it refuses
            raise reader.fail(f"trials ({plan.label})", str(error)) from None
        produced |= set(trial.truth.metrics)
    missing = [metric for metric in metrics if metric not in produced]
    if missing:
        tests = ", ".join(sorted({test for test, _ in kinds}))
        raise reader.fail("check.metrics", f"no trial of this scenario ({tests}, "
                          f"{session.plate.plates} plate(s)) produces {', '.join(map(repr, missing))}")


def _faults(reader: Reader, data: Any, plates: int) -> tuple[Fault, ...]:
    """The faults, each aimed at a plate and cell the scenario has."""
    if not isinstance(data, list) or not all(isinstance(f, Mapping) for f in data):
        raise reader.fail("faults", "must be an array of tables ([[faults]])")
    try:
        faults = parse_faults(data)
    except FaultError as error:
        raise reader.fail("faults", str(error)) from None
    for number, fault in enumerate(faults):
        key = f"faults[{number}]"
        plate, cell = fault.params.get("plate", -1), fault.params.get("cell", -1)
        if plate != -1 and plate not in range(plates):
            raise reader.fail(f"{key}.plate", f"{fault.kind} aimed at plate {plate:g}, but the "
                              f"scenario has {plates} plate(s) (0{'' if plates == 1 else ' or 1'})")
        if cell != -1 and cell not in range(protocol.CELLS):
            raise reader.fail(f"{key}.cell", f"{fault.kind} aimed at cell {cell:g}, but a plate "
                              f"has cells 0–{protocol.CELLS - 1}")
        if fault.kind == "skew" and plates < 2:
            raise reader.fail(f"{key}.kind", "skew runs the right plate's clock fast, but the "
                              "scenario has one plate")
    return faults
