"""Test days: what an athlete's tissue state lets them show, as real traces with exact truth.

The battery (``TESTS``): a countermovement jump and a drop jump (both feet, one plate each), pogo
hops (both feet), an isometric calf raise per leg, single-leg hops per leg, and single-leg heel
raises to failure per leg (counted by the clinician, not on the plate). The athlete's own
reports (``REPORTS``: pain during loading, next-morning pain) come from the tissue model.

Expression: per limb, three indices of effective capacity relative to the athlete's healthy
start (sim.tissue): *jump* (0.2 calf + 0.5 knee + 0.3 hip: CMJ, drop jump), *spring*
(0.6 calf + 0.4 Achilles: hops) and *calf* (the calf alone: calf raise, heel raises), times a
readiness that Banister fatigue lowers. They scale the athlete's drawn parameters (sim.athlete):
jump height and drop-jump rebound by the mean jump index, hop flight time by √(spring index),
isometric force by the calf index, and each limb's share of force by its index over the sum, so
a 15 % weaker calf gives a −15 % calf-raise asymmetry. Each trial adds biological variation
(TRIAL_CV, per limb), and the movement's truth records exactly what was produced.
"""
from __future__ import annotations

import dataclasses
import importlib
from dataclasses import dataclass
from typing import Any, Mapping

import numpy as np

from sim.athlete import Athlete
from sim.movements.common import SINGLE_LEG_HEIGHT
from sim.tissue import ACHILLES, CALF, HIP, KNEE
from sim.trial import G, Trial

BILATERAL, PER_LEG = (None,), ("left", "right")
CMJ = ("body_weight_n", "body_mass_kg", "onset_s", "takeoff_s", "landing_s", "time_to_takeoff_s",
       "takeoff_velocity_m_s", "jump_height_m", "jump_height_flight_m", "flight_time_s",
       "rsi_modified", "peak_force_n", "mean_propulsive_force_n", "propulsive_impulse_n_s",
       "peak_power_w", "landing_peak_force_n", "countermovement_depth_m",
       "propulsive_impulse_asym_pct", "peak_force_asym_pct", "landing_peak_force_asym_pct")
DJ = ("body_weight_n", "body_mass_kg", "touchdown_s", "takeoff_s", "landing_s", "contact_time_s",
      "flight_time_s", "jump_height_flight_m", "rsi", "peak_force_n", "peak_force_asym_pct")
HOPS = ("body_weight_n", "body_mass_kg", "hop_count", "contact_time_s", "flight_time_s",
        "jump_height_flight_m", "rsi", "peak_force_n", "vertical_stiffness_kn_m")
ISO = ("body_weight_n", "body_mass_kg", "onset_s", "peak_force_n", "net_peak_force_n",
       "time_to_peak_s", "rfd_0_50_n_s", "rfd_0_100_n_s", "rfd_0_200_n_s")
JUMP_MIX = {CALF: 0.2, KNEE: 0.5, HIP: 0.3}
SPRING_MIX = {CALF: 0.6, ACHILLES: 0.4}
TRIAL_CV = {"jump": 0.03, "spring": 0.04, "calf": 0.04}  # trial-to-trial, per limb
DAY_CV = 0.02  # day-to-day readiness, whole athlete
FATIGUE_EFFECT = 0.6  # performance lost per unit of fatigue ratio above its steady level
STEADY_FATIGUE_RATIO = 0.35  # k2·fatigue / (k1·fitness) of a runner at steady load
HEEL_RAISE_REPS = 28.0  # single-leg heel raises of a healthy limb (clinic norm ≥ 25)


@dataclass(frozen=True)
class BlockTest:
    """One test of the battery: the movement (None: counted, no plate), legs, options, the
    truth metric names it has, and those the model gives without traces."""

    movement: str | None
    legs: tuple[str | None, ...]
    options: Mapping[str, Any]
    metrics: tuple[str, ...]
    model: tuple[str, ...]
    index: str  # which expression index drives it


TESTS: dict[str, BlockTest] = {
    "cmj": BlockTest("cmj", BILATERAL, {}, CMJ,
                     ("jump_height_m", "propulsive_impulse_asym_pct", "peak_force_asym_pct"), "jump"),
    "dj": BlockTest("dj", BILATERAL, {}, DJ, ("peak_force_asym_pct",), "jump"),
    "pogo": BlockTest("hops", BILATERAL, {"hops": 10}, HOPS + ("peak_force_asym_pct",),
                      ("flight_time_s", "jump_height_flight_m", "peak_force_asym_pct"), "spring"),
    "iso_calf": BlockTest("iso", PER_LEG, {"variant": "calf_raise", "hold_s": 3.0}, ISO,
                          ("net_peak_force_n",), "calf"),
    "sl_hops": BlockTest("hops", PER_LEG, {"hops": 10}, HOPS,
                         ("flight_time_s", "jump_height_flight_m"), "spring"),
    "heel_raise": BlockTest(None, PER_LEG, {}, ("heel_raise_reps",), ("heel_raise_reps",), "calf"),
}
REPORTS = ("pain_during", "morning_pain", "morning_pain_rise")


def catalogue() -> dict[str, tuple[tuple[str, ...], bool]]:
    """Every test (and "report") with its metric names and whether it is done per leg."""
    out = {name: (test.metrics, test.legs == PER_LEG) for name, test in TESTS.items()}
    out["report"] = (REPORTS, False)
    return out


@dataclass(frozen=True)
class Expression:
    """What the athletes can show today: indices (athletes, limbs) and readiness (athletes,)."""

    jump: np.ndarray
    spring: np.ndarray
    calf: np.ndarray
    readiness: np.ndarray

    def take(self, i: int) -> "Expression":
        return Expression(*(np.asarray(getattr(self, f.name))[i:i + 1]
                            for f in dataclasses.fields(self)))


def expression(effective: np.ndarray, healthy: np.ndarray, fitness: np.ndarray,
               fatigue: np.ndarray, day_noise: np.ndarray) -> Expression:
    """Indices from effective capacity (athletes, limbs, tissues) over the healthy start
    (athletes, tissues), readiness from the fitness–fatigue state (athletes,)."""
    rel = effective / healthy[:, None, :]

    def mix(weights: Mapping[int, float]) -> np.ndarray:
        return sum(w * rel[:, :, t] for t, w in weights.items())

    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(fitness > 0, fatigue / fitness, STEADY_FATIGUE_RATIO)
    readiness = (1.0 - FATIGUE_EFFECT * np.maximum(ratio - STEADY_FATIGUE_RATIO, 0.0)) * (1.0 + DAY_CV * day_noise)
    return Expression(mix(JUMP_MIX), mix(SPRING_MIX), rel[:, :, CALF], readiness)


def model_results(expr: Expression, athletes: list[Athlete], tests: tuple[str, ...]
                  ) -> dict[tuple[str, str | None, str], np.ndarray]:
    """Without traces: the model's values of each test's ``model`` metrics, keyed by
    (test, leg, metric), arrays over athletes (the drawn parameters the movement would use)."""
    base = {name: np.array([getattr(a, name) for a in athletes]) for name in
            ("cmj_height_m", "hop_flight_time_s", "iso_net_force_bw", "mass_kg")}
    out: dict[tuple[str, str | None, str], np.ndarray] = {}
    r = expr.readiness
    for name in tests:
        if name in ("cmj", "dj"):
            share = expr.jump[:, 0] / expr.jump.sum(axis=1)
            asym = _asym(share)
            if name == "cmj":
                out[(name, None, "jump_height_m")] = base["cmj_height_m"] * expr.jump.mean(axis=1) * r
                out[(name, None, "propulsive_impulse_asym_pct")] = asym
            out[(name, None, "peak_force_asym_pct")] = asym
        elif name == "pogo":
            flight = base["hop_flight_time_s"] * np.sqrt(expr.spring.mean(axis=1) * r)
            out[(name, None, "flight_time_s")] = flight
            out[(name, None, "jump_height_flight_m")] = G * flight**2 / 8
            out[(name, None, "peak_force_asym_pct")] = _asym(expr.spring[:, 0] / expr.spring.sum(axis=1))
        else:
            for limb, leg in enumerate(PER_LEG):
                if name == "iso_calf":
                    out[(name, leg, "net_peak_force_n")] = (
                        base["iso_net_force_bw"] * ISO_SCALE * expr.calf[:, limb] * r * base["mass_kg"] * G)
                elif name == "sl_hops":
                    flight = base["hop_flight_time_s"] * np.sqrt(SINGLE_LEG_HEIGHT * expr.spring[:, limb] * r)
                    out[(name, leg, "flight_time_s")] = flight
                    out[(name, leg, "jump_height_flight_m")] = G * flight**2 / 8
                else:
                    out[(name, leg, "heel_raise_reps")] = heel_raises(expr.calf[:, limb] * r)
    return out


def heel_raises(calf_index: np.ndarray) -> np.ndarray:
    """Single-leg heel raises to failure: endurance falls with the square of strength."""
    return np.floor(HEEL_RAISE_REPS * np.clip(calf_index, 0.0, 2.0) ** 2)


def _asym(left_share: np.ndarray) -> np.ndarray:
    right = 1.0 - left_share
    return 100.0 * (left_share - right) / np.maximum(left_share, right)


ISO_SCALE = 0.6 * 1.2 / 2  # calf_raise variant × single-leg bilateral deficit × one limb of two


def trial_athlete(athlete: Athlete, expr: Expression, test: str, rng: np.random.Generator) -> Athlete:
    """The athlete as they move in one trial of ``test`` (expr for this athlete alone)."""
    index = getattr(expr, TESTS[test].index)[0] * (1.0 + TRIAL_CV[TESTS[test].index] * rng.standard_normal(2))
    index = np.maximum(index, 0.05)
    share = float(np.clip(index[0] / index.sum(), 0.02, 0.98))
    level = float(index.mean() * expr.readiness[0])
    changes: dict[str, float] = {"left_share": share, "landing_left_share": share}
    if test in ("cmj", "dj"):
        changes["cmj_height_m"] = float(np.clip(athlete.cmj_height_m * level, 0.05, 0.75))
    elif test in ("pogo", "sl_hops"):
        changes["hop_flight_time_s"] = athlete.hop_flight_time_s * float(np.sqrt(level))
    elif test == "iso_calf":
        changes["iso_net_force_bw"] = athlete.iso_net_force_bw * level
    return dataclasses.replace(athlete, **changes)


def trials(athlete: Athlete, expr: Expression, test: str, leg: str | None, count: int,
           rate_hz: float, plates: int, rng: np.random.Generator) -> list[Trial]:
    """``count`` trials of a plate test by one athlete (expr for this athlete alone), each with
    its exact truth, before any plate (sim.plate.measure adds the sensor)."""
    spec = TESTS[test]
    movement = importlib.import_module(f"sim.movements.{spec.movement}")
    options = dict(spec.options)
    if leg is not None:
        options["leg"] = leg
    return [movement.simulate(trial_athlete(athlete, expr, test, rng), rate_hz, plates, rng, **options)
            for _ in range(count)]


def counted(expr: Expression, test: str, leg: str, count: int, rng: np.random.Generator) -> list[float]:
    """A test without a plate (heel raises): the clinician's count of each trial, exact."""
    limb = PER_LEG.index(leg)
    spread = 1.0 + TRIAL_CV["calf"] * rng.standard_normal(count)
    return list(heel_raises(expr.calf[0, limb] * expr.readiness[0] * spread))
