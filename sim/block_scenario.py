"""Training-block scenario files (scenarios/blocks/*.toml): who, the running plan, the prehab
programmes, the test days, the clinician's rule, the plate. Paths are relative to the file.

    name = "achilles_return"          # optional, defaults to the file's stem
    description = "..."
    weeks = 16                        # 1–104
    seed = 1                          # the whole block is identical for the same seed

    [athletes]
    count = 1                         # --athletes overrides it
    mass_kg = 70                      # optional: default drawn per athlete (45–120 kg)
    calf_deficit_pct = 18             # or [low, high]: drawn per athlete; weaker calf and tendon
    deficit_side = "left"             # left | right | random
    achilles_damage = 0.35            # starting damage (0–1) of the weaker side's tendon

    [plan]                            # the runner's plan
    weekly_km = [30, 32, 35]          # one per week; the last repeats
    run_days = [1, 2, 3, 5, 6]        # days of the week (0 = test and clinic day)
    long_run_day = 6
    long_run_share = 0.3
    follow_clinician = true           # false: the runner keeps to the plan's mileage whatever
    restricted_km = 15                # optional: weekly km cap …
    restricted_until_stage = "plyometric"   # … until the first programme reaches this stage

    [programmes]
    files = ["programmes/calf_achilles_staged.toml"]
    pain_monitoring = "programmes/pain_monitoring.toml"   # optional

    [tests]
    every_weeks = 2                   # test days: week 0, then every N weeks, and the last day
    battery = ["cmj", "iso_calf", "sl_hops", "heel_raise"]   # sim.testday.TESTS
    trials = 3                        # trials per test (per leg)

    [clinician]
    rule = "rules/clinician.toml"     # default: scenarios/blocks/rules/clinician.toml

    [plate]
    rate_hz = 1000
    noise = "typical"                 # none | typical | high (the simulated sensor)

    [reliability]                     # optional: test–retest and detection power
    retest_athletes = 100             # athletes tested twice, unchanged
    deficits_pct = [5, 10, 15, 20]
    trials = [1, 2, 3, 5]
    replicates = 100                  # athletes per deficit
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sim.plate import PRESETS, RATE_RANGE_HZ
from sim.programme import PainMonitoring, Programme, load_pain_monitoring, load_programme
from sim.rule import Rule, load_rule, read_toml
from sim.scenario import Reader
from sim.testday import TESTS, catalogue

MAX_ATHLETES = 1_000_000
MAX_WEEKS = 104


@dataclass(frozen=True)
class Athletes:
    count: int = 1
    mass_kg: float | None = None
    deficit_pct: tuple[float, float] = (0.0, 0.0)  # drawn uniformly between
    deficit_side: str = "random"
    achilles_damage: float = 0.0


@dataclass(frozen=True)
class Plan:
    weekly_km: tuple[float, ...]
    run_days: tuple[int, ...] = (1, 2, 3, 5, 6)
    long_run_day: int = 6
    long_run_share: float = 0.3
    follow_clinician: bool = True
    restricted_km: float | None = None
    restricted_until_stage: str | None = None

    def km(self, week: int) -> float:
        return self.weekly_km[min(week, len(self.weekly_km) - 1)]


@dataclass(frozen=True)
class Tests:
    every_weeks: int = 2
    battery: tuple[str, ...] = ("cmj", "iso_calf", "sl_hops", "heel_raise")
    trials: int = 3

    def weeks(self, weeks: int) -> tuple[int, ...]:
        """Weeks that start with a test day: 0, every N, and the block's last day."""
        return tuple(sorted(set(range(0, weeks, self.every_weeks)) | {weeks}))


@dataclass(frozen=True)
class Reliability:
    retest_athletes: int = 100
    deficits_pct: tuple[float, ...] = (5.0, 10.0, 15.0, 20.0)
    trials: tuple[int, ...] = (1, 2, 3, 5)
    replicates: int = 100


@dataclass(frozen=True)
class BlockScenario:
    name: str
    description: str
    source: str
    weeks: int
    seed: int
    athletes: Athletes
    plan: Plan
    programmes: tuple[Programme, ...]
    pain_monitoring: PainMonitoring | None
    tests: Tests
    rule: Rule
    rate_hz: float = 1000.0
    noise: str = "typical"
    reliability: Reliability | None = None

    def restricted_stage(self) -> tuple[int, int] | None:
        """(programme index, stage index) that lifts the mileage cap, if any."""
        name = self.plan.restricted_until_stage
        for p, programme in enumerate(self.programmes):
            stage = programme.stage_index(name) if name else None
            if stage is not None:
                return p, stage
        return None


def load(path: str | Path) -> BlockScenario:
    """Read and validate a block scenario (ScenarioError: one line naming file, key, problem)."""
    path = Path(path)
    data, reader = read_toml(path, "scenario")
    reader.table(data, "", ("name", "description", "weeks", "seed", "athletes", "plan", "programmes",
                            "tests", "clinician", "plate", "reliability"))
    base = path.resolve().parent
    cat = catalogue()
    weeks = reader.integer(data.get("weeks", 16), "weeks", 1, MAX_WEEKS)
    programmes_t = reader.table(data.get("programmes", {}), "programmes", ("files", "pain_monitoring"))
    files = programmes_t.get("files", [])
    if not isinstance(files, list):
        raise reader.fail("programmes.files", "must be a list of programme files")
    programmes = tuple(load_programme(base / reader.text(f, f"programmes.files[{i}]"), cat)
                       for i, f in enumerate(files))
    pain = programmes_t.get("pain_monitoring")
    clinician = reader.table(data.get("clinician", {}), "clinician", ("rule",))
    rule_path = clinician.get("rule")
    plate = reader.table(data.get("plate", {}), "plate", ("rate_hz", "noise"))
    scenario = BlockScenario(
        name=reader.text(data.get("name", path.stem), "name"),
        description=str(data.get("description", "")), source=str(path), weeks=weeks,
        seed=reader.integer(data.get("seed", 0), "seed", 0, 2**63 - 1),
        athletes=_athletes(reader, data.get("athletes", {})),
        plan=_plan(reader, data.get("plan")),
        programmes=programmes,
        pain_monitoring=None if pain is None else load_pain_monitoring(base / reader.text(pain, "programmes.pain_monitoring")),
        tests=_tests(reader, data.get("tests", {})),
        rule=load_rule(None if rule_path is None else base / reader.text(rule_path, "clinician.rule"), cat),
        rate_hz=reader.number(plate.get("rate_hz", 1000.0), "plate.rate_hz", *RATE_RANGE_HZ),
        noise=reader.text(plate.get("noise", "typical"), "plate.noise", tuple(PRESETS)),
        reliability=None if "reliability" not in data else _reliability(reader, data["reliability"]))
    conditions = [("clinician.rule", c) for c in scenario.rule.conditions] + [
        (f"{p.source}: gate", c) for p in programmes for s in p.stages for c in s.gate]
    for where, condition in conditions:
        if condition.test != "report" and condition.test not in scenario.tests.battery:
            raise reader.fail(where, f"names {condition.test}.{condition.metric} but the test battery "
                                     f"({', '.join(scenario.tests.battery)}) has no {condition.test}")
    if scenario.plan.restricted_until_stage and scenario.restricted_stage() is None:
        raise reader.fail("plan.restricted_until_stage",
                          f"no programme has a stage {scenario.plan.restricted_until_stage!r}")
    return scenario


def _athletes(reader: Reader, data: Any) -> Athletes:
    reader.table(data, "athletes", ("count", "mass_kg", "calf_deficit_pct", "deficit_side", "achilles_damage"))
    deficit = data.get("calf_deficit_pct", 0.0)
    if isinstance(deficit, list):
        if len(deficit) != 2:
            raise reader.fail("athletes.calf_deficit_pct", "must be a number or [low, high]")
        low, high = (reader.number(d, f"athletes.calf_deficit_pct[{i}]", 0.0, 60.0) for i, d in enumerate(deficit))
        if low > high:
            raise reader.fail("athletes.calf_deficit_pct", f"low {low:g} is above high {high:g}")
    else:
        low = high = reader.number(deficit, "athletes.calf_deficit_pct", 0.0, 60.0)
    mass = data.get("mass_kg")
    return Athletes(
        count=reader.integer(data.get("count", 1), "athletes.count", 1, MAX_ATHLETES),
        mass_kg=None if mass is None else reader.number(mass, "athletes.mass_kg", 45.0, 120.0),
        deficit_pct=(low, high),
        deficit_side=reader.text(data.get("deficit_side", "random"), "athletes.deficit_side",
                                 ("left", "right", "random")),
        achilles_damage=reader.number(data.get("achilles_damage", 0.0), "athletes.achilles_damage", 0.0, 0.9))


def _plan(reader: Reader, data: Any) -> Plan:
    if data is None:
        raise reader.fail("plan", "a [plan] table with weekly_km is required")
    reader.table(data, "plan", ("weekly_km", "run_days", "long_run_day", "long_run_share", "follow_clinician",
                                "restricted_km", "restricted_until_stage"))
    km = data.get("weekly_km")
    if not isinstance(km, list) or not km:
        raise reader.fail("plan.weekly_km", "must be a non-empty list of weekly distances (km)")
    days = data.get("run_days", [1, 2, 3, 5, 6])
    if not isinstance(days, list) or not days:
        raise reader.fail("plan.run_days", "must be a non-empty list of days of the week (0–6)")
    run_days = tuple(sorted({reader.integer(d, f"plan.run_days[{i}]", 0, 6) for i, d in enumerate(days)}))
    long_day = reader.integer(data.get("long_run_day", run_days[-1]), "plan.long_run_day", 0, 6)
    if long_day not in run_days:
        raise reader.fail("plan.long_run_day", f"day {long_day} is not one of the run days")
    follow = data.get("follow_clinician", True)
    if not isinstance(follow, bool):
        raise reader.fail("plan.follow_clinician", "must be true or false")
    cap = data.get("restricted_km")
    until = data.get("restricted_until_stage")
    if (cap is None) != (until is None):
        raise reader.fail("plan.restricted_km", "give restricted_km and restricted_until_stage together")
    return Plan(
        weekly_km=tuple(reader.number(k, f"plan.weekly_km[{i}]", 0.0, 300.0) for i, k in enumerate(km)),
        run_days=run_days, long_run_day=long_day,
        long_run_share=reader.number(data.get("long_run_share", 0.3), "plan.long_run_share", 0.0, 1.0),
        follow_clinician=follow,
        restricted_km=None if cap is None else reader.number(cap, "plan.restricted_km", 0.0, 300.0),
        restricted_until_stage=None if until is None else reader.text(until, "plan.restricted_until_stage"))


def _tests(reader: Reader, data: Any) -> Tests:
    reader.table(data, "tests", ("every_weeks", "battery", "trials"))
    battery = data.get("battery", list(Tests.battery))
    if not isinstance(battery, list) or not battery:
        raise reader.fail("tests.battery", f"must be a non-empty list of tests ({', '.join(TESTS)})")
    names = tuple(reader.text(t, f"tests.battery[{i}]", tuple(TESTS)) for i, t in enumerate(battery))
    return Tests(every_weeks=reader.integer(data.get("every_weeks", 2), "tests.every_weeks", 1, MAX_WEEKS),
                 battery=tuple(dict.fromkeys(names)),
                 trials=reader.integer(data.get("trials", 3), "tests.trials", 1, 20))


def _reliability(reader: Reader, data: Any) -> Reliability:
    reader.table(data, "reliability", ("retest_athletes", "deficits_pct", "trials", "replicates"))
    deficits = data.get("deficits_pct", [5, 10, 15, 20])
    trials = data.get("trials", [1, 2, 3, 5])
    if not isinstance(deficits, list) or not deficits or not isinstance(trials, list) or not trials:
        raise reader.fail("reliability", "deficits_pct and trials must be non-empty lists")
    return Reliability(
        retest_athletes=reader.integer(data.get("retest_athletes", 100), "reliability.retest_athletes", 2, 100_000),
        deficits_pct=tuple(reader.number(d, f"reliability.deficits_pct[{i}]", 0.0, 60.0) for i, d in enumerate(deficits)),
        trials=tuple(sorted({reader.integer(t, f"reliability.trials[{i}]", 1, 20) for i, t in enumerate(trials)})),
        replicates=reader.integer(data.get("replicates", 100), "reliability.replicates", 1, 100_000))

