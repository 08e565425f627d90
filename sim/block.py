"""Training blocks as SimPy processes over days: the runner's plan, the prehab programmes, test
days, the clinician, and the night in which tissues repair and adapt (docs/blocks.md).

One SimPy environment runs a chunk of athletes at once; every process works on numpy arrays
over the chunk, so a cohort costs little more than one athlete. Times are days; within a day
the processes keep a fixed order by their offsets: test day (0.0), clinician (0.1), plan
(0.4), prehab (0.5), night (0.9). A four-week lead-in at the plan's first week precedes day 0,
so the load windows are full when the block starts. The test day itself is injected
(``Tester``): the model's values without traces (``model_tester``), or traces through a plate
and the analysis (hil.block), which keeps ``sim`` free of ``hil``.

Everything random comes from generators seeded by (scenario seed, athlete number, ...), so a
block is identical for the same seed, whatever the chunk size.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Iterator, Mapping, Protocol

import numpy as np
import simpy

from sim.athlete import Athlete
from sim.block_scenario import BlockScenario
from sim.load import fitness_fatigue, series
from sim.rule import BACK_OFF, DECISIONS, PROGRESS, Condition, decide, value
from sim.testday import STEADY_FATIGUE_RATIO, TESTS, Expression, expression, model_results
from sim.tissue import (ACHILLES, CALF, CAPACITY_PACE_M_S, DOSE_HALF, LIMBS, TISSUES, Exposure, Tissues,
                         column, running_bw)

LEAD_IN_DAYS = 28
CAPACITY_SPREAD = 0.08  # between athletes, SD of healthy capacity
BACK_OFF_VOLUME = 0.7  # share of the week's mileage after a back-off
CONTACT_S = 0.25  # running ground contact (strain index, damage per step)
EASY_PACE = 0.85  # easy runs at this share of the athlete's running speed (sim.athlete) …
LONG_RUN_PACE = 0.8  # … and long runs at this share
RUN_RPE = {"easy": 3.0, "long": 4.0}
TENDON_SHARE = 0.5  # a calf deficit weakens its tendon by this share of it
DIGITS = 4  # significant digits in the daily series written out
Key = tuple[str, "str | None", str]


@dataclass(frozen=True)
class Session:
    """One test of one athlete on one test day: the mean over its trials."""

    day: int
    week: int
    test: str
    leg: str | None
    trials: int
    truth: Mapping[str, float]
    measured: Mapping[str, float] | None

    def to_dict(self) -> dict[str, Any]:
        return {"day": self.day, "week": self.week, "test": self.test, "leg": self.leg,
                "trials": self.trials, "truth": dict(self.truth),
                "measured": None if self.measured is None else dict(self.measured)}


@dataclass(frozen=True)
class TestDay:
    """The test day of a chunk: per athlete its sessions, and the values keyed (test, leg, metric)."""

    sessions: list[list[Session]]
    truth: dict[Key, np.ndarray]
    measured: dict[Key, np.ndarray] | None


class Tester(Protocol):
    def __call__(self, day: int, ids: np.ndarray, athletes: list[Athlete], expr: Expression) -> TestDay: ...


def rng_for(seed: int, *path: int) -> np.random.Generator:
    """A generator for one athlete's one purpose: the same whatever else the block does."""
    return np.random.default_rng([seed, *path])


def model_tester(scenario: BlockScenario) -> Tester:
    """Test days without traces: the model's own values (truth only, no plate)."""
    battery = scenario.tests.battery

    def test(day: int, ids: np.ndarray, athletes: list[Athlete], expr: Expression) -> TestDay:
        truth = model_results(expr, athletes, battery)
        sessions = [[Session(day, day // 7, name, leg, 1,
                             {m: float(truth[(name, leg, m)][i]) for m in TESTS[name].model}, None)
                     for name in battery for leg in TESTS[name].legs] for i in range(len(ids))]
        return TestDay(sessions, truth, None)
    return test


def model_metrics_missing(scenario: BlockScenario) -> list[str]:
    """Rule and gate metrics that the model cannot give without traces."""
    conditions = list(scenario.rule.conditions) + [c for p in scenario.programmes for s in p.stages for c in s.gate]
    return sorted({f"{c.test}.{c.metric}" for c in conditions
                   if c.test != "report" and c.metric not in TESTS[c.test].model})


@dataclass
class Cohort:
    """The mutable state of one chunk of athletes during its block."""

    ids: np.ndarray
    athletes: list[Athlete]
    healthy: np.ndarray  # (N, tissues) capacity of a healthy limb at the start
    weak_side: np.ndarray  # (N,) 0 left, 1 right
    deficit_pct: np.ndarray
    achilles_damage: float
    tissues: Tissues
    run_speed: np.ndarray
    step_m: np.ndarray
    days: int
    load: np.ndarray = field(init=False)
    km: np.ndarray = field(init=False)
    capacity: np.ndarray = field(init=False)
    pain: np.ndarray = field(init=False)
    morning: np.ndarray = field(init=False)
    exposures: list[Exposure] = field(default_factory=list)

    def __post_init__(self) -> None:
        n = len(self.ids)
        self.load = np.zeros((n, self.days))
        self.km = np.zeros((n, self.days))
        self.capacity = np.zeros((n, self.days, len(LIMBS), len(TISSUES)), dtype=np.float32)
        self.pain = np.zeros((n, self.days))
        self.morning = np.zeros((n, self.days + 1))
        self.morning[:, 0] = self.tissues.morning_pain

    @property
    def n(self) -> int:
        return len(self.ids)


def new_cohort(scenario: BlockScenario, ids: np.ndarray, days: int) -> Cohort:
    """Athletes drawn from (seed, id): body, capacities, the weaker side and its deficit."""
    spec = scenario.athletes
    athletes, healthy, deficit, side = [], [], [], []
    for i in ids:
        rng = rng_for(scenario.seed, int(i), 0)
        overrides = {} if spec.mass_kg is None else {"mass_kg": spec.mass_kg}
        athletes.append(Athlete.draw(rng, **overrides))
        healthy.append(column("capacity_bw") * np.clip(1 + CAPACITY_SPREAD * rng.standard_normal(len(TISSUES)), 0.7, 1.3))
        deficit.append(rng.uniform(*spec.deficit_pct) if spec.deficit_pct[1] > spec.deficit_pct[0] else spec.deficit_pct[0])
        side.append({"left": 0, "right": 1}.get(spec.deficit_side, int(rng.integers(2))))
    speed = np.array([a.run_speed_m_s for a in athletes])
    step = speed * 60.0 / np.array([a.cadence_spm for a in athletes])
    # a faster runner's tissues carry their own easy pace as a slower runner's carry theirs
    healthy = np.array(healthy) * running_bw(EASY_PACE * speed) / running_bw(np.array([CAPACITY_PACE_M_S]))
    capacity = np.repeat(healthy[:, None, :], 2, axis=1)
    untrained = capacity / (1 + column("gain") / 2)
    tissues = Tissues(capacity, untrained, np.zeros_like(capacity))
    tissues.dose[:] = DOSE_HALF  # the dose that holds a limb at its capacity
    return Cohort(ids=np.asarray(ids), athletes=athletes, healthy=healthy, weak_side=np.array(side),
                  deficit_pct=np.array(deficit), achilles_damage=spec.achilles_damage,
                  tissues=tissues, run_speed=speed, step_m=step, days=days)


def weaken(c: Cohort) -> None:
    """The weaker limb as the scenario says it is at day 0: calf (and half as much its tendon)
    weaker by the deficit, the tendon at least as damaged as given."""
    rows = np.arange(c.n)
    c.tissues.capacity[rows, c.weak_side, CALF] *= 1 - c.deficit_pct / 100
    c.tissues.capacity[rows, c.weak_side, ACHILLES] *= 1 - TENDON_SHARE * c.deficit_pct / 100
    c.tissues.damage[rows, c.weak_side, ACHILLES] = np.maximum(
        c.tissues.damage[rows, c.weak_side, ACHILLES], c.achilles_damage)


def unchanged(scenario: BlockScenario, ids: np.ndarray) -> tuple[list[Athlete], Expression]:
    """Athletes as they start a block (deficits applied, no training, rested: readiness 1),
    for test–retest and detection power: every session of them sees the same athlete."""
    c = new_cohort(scenario, ids, 1)
    weaken(c)
    steady = np.ones(c.n)
    expr = expression(c.tissues.effective(), c.healthy, steady, STEADY_FATIGUE_RATIO * steady, np.zeros(c.n))
    return c.athletes, expr


class Block:
    """The processes of one chunk's block; ``run`` returns one JSON-ready record per athlete."""

    def __init__(self, scenario: BlockScenario, ids: np.ndarray, tester: Tester,
                 tick: Callable[[float], None] | None = None) -> None:
        self.scenario, self.tester, self.tick = scenario, tester, tick
        self.days = LEAD_IN_DAYS + 7 * scenario.weeks + 1
        self.c = new_cohort(scenario, ids, self.days)
        n = self.c.n
        self.test_weeks = scenario.tests.weeks(scenario.weeks)
        self.plan_week = np.zeros(n, dtype=int)
        self.week_km = np.full(n, scenario.plan.km(0))
        self.stage = np.zeros((len(scenario.programmes), n), dtype=int)
        self.level = np.zeros((len(scenario.programmes), n), dtype=int)
        self.latest: dict[str, dict[Key, np.ndarray]] = {"truth": {}, "measured": {}}
        self.first: dict[str, dict[Key, np.ndarray]] = {"truth": {}, "measured": {}}
        self.sessions: list[list[dict]] = [[] for _ in range(n)]
        self.weeks: list[list[dict]] = [[] for _ in range(n)]
        self.measured = False
        self.env = simpy.Environment()

    # ---- the processes -------------------------------------------------------------
    def test_days(self) -> Iterator[simpy.Event]:
        for week in self.test_weeks:
            yield self.env.timeout(LEAD_IN_DAYS + 7 * week - self.env.now)
            self.test(7 * week)

    def clinician(self) -> Iterator[simpy.Event]:
        yield self.env.timeout(LEAD_IN_DAYS + 0.1)
        for week in range(self.scenario.weeks + 1):
            self.decide(week)
            yield self.env.timeout(7)

    def plan(self) -> Iterator[simpy.Event]:
        yield self.env.timeout(0.4)
        for day in range(self.days):
            self.run_day(day)
            yield self.env.timeout(1)

    def start(self) -> Iterator[simpy.Event]:
        """Day 0: the lead-in is over; the weaker limb is as the scenario says it is now."""
        yield self.env.timeout(LEAD_IN_DAYS - 0.05)
        c = self.c
        weaken(c)
        c.tissues.morning_pain = c.tissues.morning()
        c.morning[:, LEAD_IN_DAYS] = c.tissues.morning_pain

    def prehab(self, p: int) -> Iterator[simpy.Event]:
        yield self.env.timeout(LEAD_IN_DAYS + 0.5)
        programme = self.scenario.programmes[p]
        for day in range(LEAD_IN_DAYS, self.days):
            week, weekday = divmod(day - LEAD_IN_DAYS, 7)
            if weekday in programme.days and (programme.weeks is None or week < programme.weeks):
                self.prehab_day(p, day)
            yield self.env.timeout(1)

    def night(self) -> Iterator[simpy.Event]:
        yield self.env.timeout(0.9)
        for day in range(self.days):
            c = self.c
            c.tissues.day(c.exposures)
            c.exposures = []
            c.pain[:, day] = c.tissues.pain_during
            c.morning[:, day + 1] = c.tissues.morning_pain
            c.capacity[:, day] = c.tissues.capacity
            if self.tick is not None:
                self.tick((day + 1) / self.days)
            yield self.env.timeout(1)

    # ---- what they do ----------------------------------------------------------------
    def monitoring(self, day: int) -> np.ndarray:
        """Share of today's loading the pain-monitoring model allows (1 without it)."""
        rules, c = self.scenario.pain_monitoring, self.c
        if rules is None or day <= LEAD_IN_DAYS:
            return np.ones(c.n)
        sore = (c.pain[:, day - 1] > rules.during_max) | (c.morning[:, day] - c.morning[:, day - 1] > rules.morning_rise_max + 1e-9)
        return np.where(sore, rules.reduce_to, 1.0)

    def run_day(self, day: int) -> None:
        plan, c = self.scenario.plan, self.c
        weekday = (day - LEAD_IN_DAYS) % 7
        if weekday not in plan.run_days:
            return
        runs = len(plan.run_days)
        share = plan.long_run_share if weekday == plan.long_run_day else (
            (1 - plan.long_run_share) / (runs - 1) if runs > 1 else 1.0)
        kind = "long" if weekday == plan.long_run_day and runs > 1 else "easy"
        km = self.week_km * share * self.monitoring(day) * ~c.tissues.injured
        speed = c.run_speed * (LONG_RUN_PACE if kind == "long" else EASY_PACE)
        steps_per_leg = km * 1000.0 / (c.step_m * speed / c.run_speed) / 2  # cadence kept
        force = np.broadcast_to(running_bw(speed)[:, None, :], (c.n, 2, len(TISSUES))).copy()
        c.exposures.append(Exposure(force, steps_per_leg, CONTACT_S))
        c.km[:, day] += km
        c.load[:, day] += km * 1000.0 / speed / 60.0 * RUN_RPE[kind]

    def prehab_day(self, p: int, day: int) -> None:
        programme, c = self.scenario.programmes[p], self.c
        allowed = self.monitoring(day)
        mvc = c.tissues.mvc_bw()
        for s, stage in enumerate(programme.stages):
            doing = (self.stage[p] == s) * allowed
            if not doing.any():
                continue
            for exercise in stage.exercises:
                c.exposures.append(exercise.exposure(mvc, self.level[p], doing, programme.sessions_per_day))
                c.load[:, day] += (doing > 0) * exercise.minutes * exercise.rpe * programme.sessions_per_day

    def test(self, block_day: int) -> None:
        c, day = self.c, LEAD_IN_DAYS + block_day
        ff = fitness_fatigue(c.load[:, :day + 1])
        noise = np.array([rng_for(self.scenario.seed, int(i), 1, block_day).standard_normal() for i in c.ids])
        expr = expression(c.tissues.effective(), c.healthy, ff["fitness"][:, -1], ff["fatigue"][:, -1], noise)
        result = self.tester(block_day, c.ids, c.athletes, expr)
        for i, sessions in enumerate(result.sessions):
            self.sessions[i].extend(s.to_dict() for s in sessions)
        for kind, values in (("truth", result.truth), ("measured", result.measured)):
            if values is None:
                continue
            self.measured |= kind == "measured"
            for key, array in values.items():
                array = np.asarray(array, dtype=float)
                for store in (self.latest[kind], self.first[kind]):
                    old = store.get(key, np.full(c.n, np.nan))
                    if store is self.first[kind]:
                        store[key] = np.where(np.isfinite(old), old, array)
                    else:
                        store[key] = np.where(np.isfinite(array), array, old)

    def reports(self, block_day: int) -> dict[Key, np.ndarray]:
        c, day = self.c, LEAD_IN_DAYS + block_day
        mornings = c.morning[:, day - 7:day + 1]
        return {("report", None, "pain_during"): c.pain[:, day - 7:day].max(axis=1),
                ("report", None, "morning_pain"): c.morning[:, day],
                ("report", None, "morning_pain_rise"): np.diff(mornings, axis=1).max(axis=1)}

    def decide(self, week: int) -> None:
        c, scenario = self.c, self.scenario
        reports = self.reports(7 * week)
        made, held = {}, {}
        for kind in ("truth", "measured") if self.measured else ("truth",):
            latest = {**self.latest[kind], **reports}
            made[kind], held[kind] = decide(scenario.rule, latest, self.first[kind], c.n)
        basis = "measured" if self.measured else "truth"
        decision = made[basis]
        gates = self.gates({**self.latest[basis], **reports}, self.first[basis])
        self.apply(week, decision, gates)
        for i in range(c.n):
            record = {"week": week, "day": 7 * week,
                      "decision": {k: DECISIONS[made[k][i]] for k in ("truth", "measured") if k in made},
                      "km": round(float(self.week_km[i]), 2),
                      "stages": [p.stages[self.stage[j, i]].name for j, p in enumerate(scenario.programmes)]}
            if "measured" in made:
                record["decision"]["agree"] = bool(made["truth"][i] == made["measured"][i])
                if made["truth"][i] != made["measured"][i]:
                    record["decision"]["because"] = explain(scenario.rule.conditions, held, i, self.latest,
                                                            self.first, reports, c.n)
            else:
                record["decision"]["measured"] = None
            self.weeks[i].append(record)

    def gates(self, latest, first) -> list[np.ndarray]:
        """Per programme, whether each athlete's current stage gate holds."""
        out = []
        for p, programme in enumerate(self.scenario.programmes):
            ok = np.ones(self.c.n, dtype=bool)
            for s, stage in enumerate(programme.stages):
                here = self.stage[p] == s
                for condition in stage.gate:
                    ok &= ~here | condition.holds(value(condition, latest, first, self.c.n))
            out.append(ok)
        return out

    def apply(self, week: int, decision: np.ndarray, gates: list[np.ndarray]) -> None:
        scenario, plan = self.scenario, self.scenario.plan
        progress, back = decision == PROGRESS, decision == BACK_OFF
        if week > 0:
            for p, programme in enumerate(scenario.programmes):
                last = len(programme.stages) - 1
                if programme.advance == "weekly":
                    self.level[p] = np.where(back, np.maximum(self.level[p] - 1, 0), self.level[p] + 1)
                    continue
                move = progress & gates[p] & (self.stage[p] < last)
                self.stage[p] += move
                self.level[p] = np.where(move, 0, np.where(progress, self.level[p] + 1,
                                                           np.where(back, np.maximum(self.level[p] - 1, 0), self.level[p])))
            if plan.follow_clinician:
                self.plan_week += progress
            else:
                self.plan_week[:] = week
        km = np.array([plan.km(w) for w in self.plan_week])
        km = np.where(back & plan.follow_clinician, BACK_OFF_VOLUME * self.week_km, km) if week > 0 else km
        restricted = scenario.restricted_stage()
        if restricted is not None:
            p, stage = restricted
            km = np.where(self.stage[p] < stage, np.minimum(km, plan.restricted_km), km)
        self.week_km = km

    # ---- the block ---------------------------------------------------------------------
    def run(self) -> list[dict[str, Any]]:
        env = self.env
        for process in (self.start(), self.test_days(), self.clinician(), self.plan(), self.night(),
                        *(self.prehab(p) for p in range(len(self.scenario.programmes)))):
            env.process(process)
        # during the lead-in the plan runs its first week, capped like week 0
        self.apply(0, np.full(self.c.n, PROGRESS), [np.zeros(self.c.n, dtype=bool)] * len(self.scenario.programmes))
        # to the end of every process (all end within a week of the last day, doing nothing more): one left
        # suspended would hold this Block in a reference cycle that only the cyclic GC frees (MB per chunk)
        env.run()
        return self.records()

    def records(self) -> list[dict[str, Any]]:
        c, start = self.c, LEAD_IN_DAYS
        daily = {name: values[:, start:] for name, values in series(c.load).items()}
        daily["km"] = c.km[:, start:]
        daily["pain_during"] = c.pain[:, start:]
        daily["morning_pain"] = c.morning[:, start + 1:]
        rounded = {name: _rounded(values) for name, values in daily.items()}
        capacity = _rounded(c.capacity[:, start:])
        out = []
        for i in range(c.n):
            days: dict[str, Any] = {name: values[i] for name, values in rounded.items()}
            days["capacity_bw"] = {limb: {tissue: capacity[i][l][t] for t, tissue in enumerate(TISSUES)}
                                   for l, limb in enumerate(LIMBS)}
            athlete = c.athletes[i]
            out.append({"id": int(c.ids[i]), "body_mass_kg": round(athlete.mass_kg, 2),
                        "weaker_side": LIMBS[c.weak_side[i]],
                        "calf_deficit_pct": round(float(c.deficit_pct[i]), 2),
                        "injuries": int(c.tissues.injuries[i]),
                        "injured_days": int(c.tissues.injured_days[i]),
                        "sessions": self.sessions[i], "weeks": self.weeks[i], "daily": days})
        return out


def explain(conditions: tuple[Condition, ...], held, i: int, latest, first, reports, n: int) -> list[dict]:
    """The conditions that came out differently on the true and the measured values."""
    out = []
    for condition in conditions:
        if held["truth"][condition][i] != held["measured"][condition][i]:
            values = {kind: float(value(condition, {**latest[kind], **reports}, first[kind], n)[i])
                      for kind in ("truth", "measured")}
            out.append({"condition": condition.label, **{k: _finite(v) for k, v in values.items()}})
    return out


def _finite(x: float) -> float | None:
    return round(x, 4) if np.isfinite(x) else None


def _rounded(values: np.ndarray) -> list:
    """Nested lists, per athlete, to DIGITS significant digits (not decimals), None where not
    finite. Capacity (athletes, days, limbs, tissues) comes out as [athlete][limb][tissue][day]."""
    values = np.asarray(values, dtype=float)
    if values.ndim == 4:
        values = values.transpose(0, 2, 3, 1)
    finite = np.isfinite(values)
    nonzero = finite & (values != 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        scale = np.where(nonzero, 10.0 ** (DIGITS - 1 - np.floor(np.log10(np.abs(np.where(nonzero, values, 1.0))))), 1.0)
        out = np.round(values * scale) / scale
    rows = out.tolist()
    if not finite.all():  # NaN (an undefined ratio) is null in JSON
        for index in zip(*np.nonzero(~finite)):
            row = rows
            for k in index[:-1]:
                row = row[k]
            row[index[-1]] = None
    return rows


def run(scenario: BlockScenario, tester: Tester | None = None, athletes: int | None = None,
        chunk: int = 250, done: Callable[[float], None] | None = None) -> Iterator[dict[str, Any]]:
    """Every athlete's block record, in athlete order, chunk by chunk (memory stays flat);
    ``done`` hears how many athletes' blocks are done, in fractions, day by day."""
    total = scenario.athletes.count if athletes is None else athletes
    tester = model_tester(scenario) if tester is None else tester
    for first in range(0, total, chunk):
        ids = np.arange(first, min(first + chunk, total))
        tick = None if done is None else (lambda share, first=first, n=len(ids): done(first + share * n))
        yield from Block(scenario, ids, tester, tick).run()

