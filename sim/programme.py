"""Prehab programmes from TOML: stages of exercises, the criteria gates between them, and the
pain-monitoring model (scenarios/blocks/programmes/, documented in docs/blocks.md).

    name = "calf–Achilles staged loading"
    days = [0, 2, 4]              # days of the week (0 = test and clinic day)
    sessions_per_day = 1          # Alfredson: 2
    advance = "decision"          # "decision": a level per clinician "progress" (a stage when
                                  #   its gate holds); "weekly": a level every week (load added
                                  #   weekly) unless the clinician backs off
    weeks = 12                    # optional: the programme ends after this many weeks

    [[stages]]
    name = "isometric"
    gate = [ { metric = "report.pain_during", at_most = 3 } ]   # to move on (sim.rule conditions)
    [[stages.exercises]]
    name = "isometric calf raise"
    tissues = ["achilles", "calf"]
    intensity = 0.7               # fraction of the prime mover's MVC (or force_bw = per-cycle BW)
    progression = 0.05            # added per level
    max_intensity = 0.95
    sets = 5
    reps = 1
    hold_s = 45                   # time under load per repetition
    minutes = 20                  # session-RPE load: minutes × rpe
    rpe = 5

The pain-monitoring model (Silbernagel 2007) is its own small file::

    during_max = 5                # pain during loading above this …
    morning_rise_max = 0          # … or next-morning pain above the previous morning's by more …
    reduce_to = 0.7               # … and the day's loading (running and prehab) is cut to this share
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from sim.rule import Condition, parse_conditions, read_toml
from sim.scenario import Reader
from sim.tissue import TISSUES, Exposure

MAX_SETS_REPS = 1000


@dataclass(frozen=True)
class Exercise:
    name: str
    tissues: tuple[int, ...]
    intensity: float | None  # fraction of MVC; None when force_bw is given
    force_bw: float | None
    progression: float
    max_intensity: float
    sets: int
    reps: int
    hold_s: float
    minutes: float
    rpe: float

    def exposure(self, mvc_bw: np.ndarray, level: np.ndarray, share: np.ndarray, sessions: int) -> Exposure:
        """The day's loading of athletes at ``level`` (progressions made), doing ``share`` of it."""
        force = np.zeros_like(mvc_bw)
        steps = level * self.progression
        if self.intensity is not None:
            intensity = np.minimum(self.intensity + steps, self.max_intensity)
            force[:, :, self.tissues] = intensity[:, None, None] * mvc_bw[:, :, self.tissues]
        else:
            force[:, :, self.tissues] = np.minimum(self.force_bw * (1.0 + steps), self.max_intensity)[:, None, None]
        return Exposure(force, share * self.sets * self.reps * sessions, self.hold_s)


@dataclass(frozen=True)
class Stage:
    name: str
    exercises: tuple[Exercise, ...]
    gate: tuple[Condition, ...]


@dataclass(frozen=True)
class Programme:
    name: str
    days: tuple[int, ...]
    sessions_per_day: int
    advance: str
    weeks: int | None
    stages: tuple[Stage, ...]
    source: str

    def stage_index(self, name: str) -> int | None:
        names = [s.name for s in self.stages]
        return names.index(name) if name in names else None


@dataclass(frozen=True)
class PainMonitoring:
    during_max: float = 5.0
    morning_rise_max: float = 0.0
    reduce_to: float = 0.7


def load_programme(path: str | Path, catalogue) -> Programme:
    """A programme file, validated (unknown tissue, bad gate metric: ScenarioError)."""
    data, reader = read_toml(Path(path), "programme")
    reader.table(data, "", ("name", "description", "days", "sessions_per_day", "advance", "weeks", "stages"))
    days = data.get("days", [0, 2, 4])
    if not isinstance(days, list) or not days:
        raise reader.fail("days", "must be a non-empty list of days of the week (0–6)")
    days = tuple(sorted({reader.integer(d, f"days[{i}]", 0, 6) for i, d in enumerate(days)}))
    stages = data.get("stages")
    if not isinstance(stages, list) or not stages:
        raise reader.fail("stages", "at least one [[stages]] table is required")
    weeks = data.get("weeks")
    return Programme(
        name=reader.text(data.get("name", Path(path).stem), "name"), days=days,
        sessions_per_day=reader.integer(data.get("sessions_per_day", 1), "sessions_per_day", 1, 4),
        advance=reader.text(data.get("advance", "decision"), "advance", ("decision", "weekly")),
        weeks=None if weeks is None else reader.integer(weeks, "weeks", 1, 520),
        stages=tuple(_stage(reader, s, f"stages[{i}]", catalogue) for i, s in enumerate(stages)),
        source=str(path))


def _stage(reader: Reader, data: Any, key: str, catalogue) -> Stage:
    reader.table(data, key, ("name", "gate", "exercises"))
    exercises = data.get("exercises")
    if not isinstance(exercises, list) or not exercises:
        raise reader.fail(f"{key}.exercises", "at least one [[stages.exercises]] table is required")
    return Stage(name=reader.text(data.get("name"), f"{key}.name"),
                 exercises=tuple(_exercise(reader, e, f"{key}.exercises[{i}]") for i, e in enumerate(exercises)),
                 gate=parse_conditions(reader, data.get("gate", []), f"{key}.gate", catalogue))


def _exercise(reader: Reader, data: Any, key: str) -> Exercise:
    reader.table(data, key, ("name", "tissues", "intensity", "force_bw", "progression", "max_intensity",
                             "sets", "reps", "hold_s", "minutes", "rpe"))
    tissues = data.get("tissues")
    if not isinstance(tissues, list) or not tissues:
        raise reader.fail(f"{key}.tissues", f"must list the tissues loaded ({', '.join(TISSUES)})")
    indices = tuple(TISSUES.index(reader.text(t, f"{key}.tissues[{i}]", TISSUES)) for i, t in enumerate(tissues))
    if ("intensity" in data) == ("force_bw" in data):
        raise reader.fail(key, "give exactly one of intensity (fraction of MVC) or force_bw")
    intensity = reader.number(data["intensity"], f"{key}.intensity", 0.05, 1.2) if "intensity" in data else None
    force = reader.number(data["force_bw"], f"{key}.force_bw", 0.1, 15.0) if "force_bw" in data else None
    top = 1.2 if intensity is not None else 15.0
    return Exercise(
        name=reader.text(data.get("name"), f"{key}.name"), tissues=indices, intensity=intensity, force_bw=force,
        progression=reader.number(data.get("progression", 0.0), f"{key}.progression", 0.0, 0.5),
        max_intensity=reader.number(data.get("max_intensity", top), f"{key}.max_intensity", 0.05, top),
        sets=reader.integer(data.get("sets", 3), f"{key}.sets", 1, MAX_SETS_REPS),
        reps=reader.integer(data.get("reps", 10), f"{key}.reps", 1, MAX_SETS_REPS),
        hold_s=reader.number(data.get("hold_s", 2.0), f"{key}.hold_s", 0.05, 600.0),
        minutes=reader.number(data.get("minutes", 20.0), f"{key}.minutes", 0.0, 300.0),
        rpe=reader.number(data.get("rpe", 5.0), f"{key}.rpe", 0.0, 10.0))


def load_pain_monitoring(path: str | Path) -> PainMonitoring:
    data, reader = read_toml(Path(path), "programme")
    reader.table(data, "", ("description", "during_max", "morning_rise_max", "reduce_to"))
    return PainMonitoring(during_max=reader.number(data.get("during_max", 5.0), "during_max", 0.0, 10.0),
                          morning_rise_max=reader.number(data.get("morning_rise_max", 0.0), "morning_rise_max", 0.0, 10.0),
                          reduce_to=reader.number(data.get("reduce_to", 0.7), "reduce_to", 0.0, 1.0))
