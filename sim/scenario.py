"""A session of simulated trials: which athletes do which movements, on what simulated plate.

The part of a scenario file (TOML) that belongs to the simulator; the bench reads the rest (the
plate's URL, faults, what to check: hil.bench.scenario) and hands this part to ``Reader.session``.
``sim`` never imports ``hil``.

    gap_s = 0.5                         # quiet, unloaded plate between trials (s)

    [plate]
    rate_hz = 1000                      # sample rate (Hz), 250–4000
    plates = 2                          # 1 or 2 (left/right)
    noise = "typical"                   # none | typical | high

    [[trials]]                          # one table per group of trials
    test = "cmj"                        # cmj | sj | dj | hops | iso | run
    count = 4                           # trials in the group
    seed = 10                           # first seed (then +1 per trial); or seeds = [..]
    mass_range_kg = [45, 120]           # evenly spaced over the group; or mass_kg = 80 | [60, 90]
    rate_hz = 2000                      # optional: this group at another rate (its own stream)
    options = { leg = "left" }          # movement options (checked against the movement's own list)
"""
from __future__ import annotations

import importlib
import math
from dataclasses import dataclass, field
from typing import Any, Mapping

from sim.movements import TESTS
from sim.plate import PRESETS, RATE_RANGE_HZ

MASS_RANGE_KG = (20.0, 250.0)
MAX_TRIALS = 10_000
SESSION_KEYS = ("gap_s", "plate", "trials")  # the scenario file's keys the simulator reads
PLATE_KEYS = ("rate_hz", "plates", "noise")  # ... and those of its [plate] table


class ScenarioError(ValueError):
    """A scenario file that cannot be used; the message names the file, the key and the problem."""


@dataclass(frozen=True)
class PlateConfig:
    """The simulated plate the trials are measured on."""

    rate_hz: float = 1000.0
    plates: int = 1
    noise: str = "typical"


@dataclass(frozen=True)
class TrialPlan:
    """One trial to simulate: everything ``sim.generate.simulate`` needs, fixed by the file."""

    index: int
    test: str
    seed: int
    mass_kg: float | None
    rate_hz: float
    options: Mapping[str, Any] = field(default_factory=dict)

    @property
    def label(self) -> str:
        return f"{self.index:03d}-{self.test}"


@dataclass(frozen=True)
class Session:
    """The trials, in order, with the quiet gap the plate shows after each."""

    plate: PlateConfig
    trials: tuple[TrialPlan, ...]
    gap_s: float = 0.5

    @property
    def rates_hz(self) -> tuple[float, ...]:
        """Distinct sample rates, in order of first use: the bench streams each separately."""
        return tuple(dict.fromkeys(trial.rate_hz for trial in self.trials))


class Reader:
    """Validation with messages of the form ``file: key: problem`` (the bench reuses it)."""

    def __init__(self, source: str) -> None:
        self.source = source

    def fail(self, key: str, problem: str) -> ScenarioError:
        return ScenarioError(f"{self.source}: {key}: {problem}")

    def table(self, data: Any, key: str, allowed: tuple[str, ...]) -> Mapping[str, Any]:
        if not isinstance(data, dict):
            raise self.fail(key, f"must be a table, got {_kind(data)}")
        unknown = sorted(set(data) - set(allowed))
        if unknown:
            raise self.fail(f"{key}.{unknown[0]}" if key else unknown[0],
                            f"unknown key (expected one of: {', '.join(allowed)})")
        return data

    def text(self, value: Any, key: str, choices: tuple[str, ...] | None = None) -> str:
        if not isinstance(value, str) or not value.strip():
            raise self.fail(key, f"must be a non-empty string, got {_kind(value)}")
        if choices is not None and value not in choices:
            raise self.fail(key, f"{value!r} is not one of {', '.join(choices)}")
        return value

    def number(self, value: Any, key: str, low: float, high: float) -> float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise self.fail(key, f"must be a number, got {_kind(value)}")
        if not math.isfinite(value) or not low <= value <= high:
            raise self.fail(key, f"{value!r} is outside {low:g}..{high:g}")
        return float(value)

    def integer(self, value: Any, key: str, low: int, high: int) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.fail(key, f"must be an integer, got {_kind(value)}")
        if not low <= value <= high:
            raise self.fail(key, f"{value!r} is outside {low}..{high}")
        return value

    def strings(self, value: Any, key: str) -> tuple[str, ...]:
        if not isinstance(value, list):
            raise self.fail(key, f"must be a list of strings, got {_kind(value)}")
        return tuple(self.text(item, f"{key}[{i}]") for i, item in enumerate(value))

    def session(self, data: Mapping[str, Any]) -> Session:
        """The simulator's part of a scenario (``SESSION_KEYS``; other keys are the caller's)."""
        gap_s = self.number(data.get("gap_s", 0.5), "gap_s", 0.0, 60.0)
        plate = self.plate(data.get("plate", {}))
        groups = data.get("trials")
        if not isinstance(groups, list) or not groups:
            raise self.fail("trials", "at least one [[trials]] table is required")
        trials: list[TrialPlan] = []
        for number, group in enumerate(groups):
            trials.extend(self.group(group, f"trials[{number}]", plate, first_index=len(trials)))
            if len(trials) > MAX_TRIALS:
                raise self.fail("trials", f"more than {MAX_TRIALS} trials in all")
        return Session(plate=plate, trials=tuple(trials), gap_s=gap_s)

    def plate(self, data: Any) -> PlateConfig:
        self.table(data, "plate", PLATE_KEYS)
        return PlateConfig(
            rate_hz=self.number(data.get("rate_hz", 1000.0), "plate.rate_hz", *RATE_RANGE_HZ),
            plates=self.integer(data.get("plates", 1), "plate.plates", 1, 2),
            noise=self.text(data.get("noise", "typical"), "plate.noise", tuple(PRESETS)))

    def group(self, data: Any, key: str, plate: PlateConfig, first_index: int) -> list[TrialPlan]:
        self.table(data, key, ("test", "count", "seed", "seeds", "mass_kg", "mass_range_kg",
                               "rate_hz", "options"))
        if "test" not in data:
            raise self.fail(f"{key}.test", f"is required (one of {', '.join(TESTS)})")
        test = self.text(data["test"], f"{key}.test", TESTS)
        count = self.integer(data.get("count", 1), f"{key}.count", 1, MAX_TRIALS)
        rate = self.number(data.get("rate_hz", plate.rate_hz), f"{key}.rate_hz", *RATE_RANGE_HZ)
        seeds = self.seeds(data, key, count, first_index)
        masses = self.masses(data, key, count)
        options = data.get("options", {})
        if not isinstance(options, dict):
            raise self.fail(f"{key}.options", f"must be a table, got {_kind(options)}")
        known = importlib.import_module(f"sim.movements.{test}").OPTIONS
        for name, value in options.items():
            if name not in known:
                raise self.fail(f"{key}.options.{name}",
                                f"unknown option for {test} (it takes: {', '.join(sorted(known))})")
            if isinstance(value, (dict, list)) or not isinstance(value, (str, int, float, bool)):
                raise self.fail(f"{key}.options.{name}", f"must be a string, number or boolean, got {_kind(value)}")
        return [TrialPlan(index=first_index + i, test=test, seed=seeds[i], mass_kg=masses[i],
                          rate_hz=rate, options=dict(options)) for i in range(count)]

    def seeds(self, data: Mapping[str, Any], key: str, count: int, first_index: int) -> list[int]:
        if "seed" in data and "seeds" in data:
            raise self.fail(f"{key}.seeds", "give either seed or seeds, not both")
        if "seeds" in data:
            seeds = data["seeds"]
            if not isinstance(seeds, list) or len(seeds) != count:
                raise self.fail(f"{key}.seeds", f"must be a list of {count} integers (one per trial)")
            return [self.integer(s, f"{key}.seeds[{i}]", 0, 2**63 - 1) for i, s in enumerate(seeds)]
        first = self.integer(data.get("seed", first_index), f"{key}.seed", 0, 2**63 - count)
        return [first + i for i in range(count)]

    def masses(self, data: Mapping[str, Any], key: str, count: int) -> list[float | None]:
        if "mass_kg" in data and "mass_range_kg" in data:
            raise self.fail(f"{key}.mass_range_kg", "give either mass_kg or mass_range_kg, not both")
        if "mass_range_kg" in data:
            bounds = data["mass_range_kg"]
            if not isinstance(bounds, list) or len(bounds) != 2:
                raise self.fail(f"{key}.mass_range_kg", "must be [lowest, highest] in kg")
            low, high = (self.number(b, f"{key}.mass_range_kg[{i}]", *MASS_RANGE_KG)
                         for i, b in enumerate(bounds))
            if low > high:
                raise self.fail(f"{key}.mass_range_kg", f"lowest {low:g} is above highest {high:g}")
            # evenly spaced, so that a sweep covers both ends whatever the count
            return [low + (high - low) * i / (count - 1) if count > 1 else (low + high) / 2
                    for i in range(count)]
        masses = data.get("mass_kg")
        if masses is None:
            return [None] * count  # the simulator draws the athlete from the seed
        if isinstance(masses, list):
            if not masses:
                raise self.fail(f"{key}.mass_kg", "is an empty list")
            values = [self.number(m, f"{key}.mass_kg[{i}]", *MASS_RANGE_KG) for i, m in enumerate(masses)]
            return [values[i % len(values)] for i in range(count)]  # cycled over the group
        return [self.number(masses, f"{key}.mass_kg", *MASS_RANGE_KG)] * count


def _kind(value: Any) -> str:
    names = {bool: "a boolean", int: "an integer", float: "a number", str: "a string",
             list: "a list", dict: "a table"}
    return names.get(type(value), type(value).__name__)
