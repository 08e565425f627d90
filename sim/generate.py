"""One call from a test name and a seed to a measured trial with its exact truth.

    from sim.generate import simulate
    trial = simulate("cmj", mass_kg=80, rate_hz=1000, plates=2, noise="typical", seed=3)

One seeded ``numpy.random.Generator`` drives, in order, the athlete, the movement and the plate,
so the same arguments always give the same bytes and different seeds different athletes.
"""
from __future__ import annotations

import dataclasses
import importlib

import numpy as np

from sim import plate
from sim.athlete import Athlete
from sim.field import FieldOptions, after_plate, before_plate
from sim.movements import TESTS
from sim.trial import SimulationError, Trial


def simulate(test: str, *, mass_kg: float | None = None, rate_hz: float = 1000.0,
             plates: int = 1, noise: str = "typical", seed: int = 0,
             field: FieldOptions | None = None, **options) -> Trial:
    """Simulate ``test`` (one of sim.movements.TESTS) as a plate measures it; ``options`` go to
    the movement module (see its docstring: leg, height_m, depth_m, drop_height_m, hops,
    duration_s, speed_m_s, strike, variant, hold_s, untrimmed, second_jump, fidget).

    With ``noise="none"`` the force is the movement's exact force (the ideal plate's cells
    still come from sim.plate; their sum differs from it only by float rounding).
    ``noise="field"`` draws every effect of sim.field; ``field`` sets them instead (on any preset)."""
    trial, rng = _movement(test, mass_kg, rate_hz, plates, seed, options)
    if noise not in plate.PRESETS:
        raise SimulationError(f"unknown noise preset {noise!r}; expected one of {', '.join(plate.PRESETS)}")
    if field is None and noise == "field":
        field = FieldOptions.draw(test, rng)
    if field is None:
        return plate.measure(trial, noise, rng)
    trial = before_plate(trial, field)
    model = plate.PlateModel.preset(noise, plates, trial.rate_hz, rng)
    model = dataclasses.replace(model, ringing_n=field.ringing_n, ringing_hz=field.ringing_hz,
                                ringing_damping=field.ringing_damping,
                                offset_n=model.offset_n + field.offset_n / 4)  # over four cells
    measured = after_plate(plate.measure(trial, model, rng), field)
    truth = dataclasses.replace(measured.truth, field_options=dataclasses.asdict(field))
    return dataclasses.replace(measured, truth=truth)


def simulate_movement(test: str, *, mass_kg: float | None = None, rate_hz: float = 1000.0,
                      plates: int = 1, seed: int = 0, **options) -> Trial:
    """The same trial before any plate: the body's exact force and centre of pressure."""
    return _movement(test, mass_kg, rate_hz, plates, seed, options)[0]


def _movement(test: str, mass_kg, rate_hz, plates, seed, options) -> tuple[Trial, np.random.Generator]:
    if test not in TESTS:
        raise SimulationError(f"unknown test {test!r}; expected one of {', '.join(TESTS)}")
    try:
        rate_hz, whole = float(rate_hz), int(seed)
    except (TypeError, ValueError, OverflowError):
        raise SimulationError("rate and seed must be numbers") from None
    if whole != seed or whole < 0:  # int() would silently turn 1.5 into seed 1
        raise SimulationError(f"seed must be a non-negative integer, got {seed!r}")
    seed = whole
    movement = importlib.import_module(f"sim.movements.{test}")
    unknown = set(options) - movement.OPTIONS
    if unknown:
        raise SimulationError(f"option(s) {', '.join(sorted(unknown))} do not apply to {test}; "
                              f"it takes {', '.join(sorted(movement.OPTIONS))}")
    rng = np.random.default_rng(seed)
    athlete = Athlete.draw(rng, **({} if mass_kg is None else {"mass_kg": _number(mass_kg)}))
    return movement.simulate(athlete, rate_hz, plates, rng, **options), rng


def _number(value) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        raise SimulationError(f"body mass must be a number of kg, got {value!r}") from None
