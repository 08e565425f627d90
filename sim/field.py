"""What other labs' recordings do to a trace (issue 8), each an option with exact truth, and
together the ``field`` noise preset.

    from sim.generate import simulate
    trial = simulate("cmj", noise="field", seed=3)                       # every effect, drawn
    trial = simulate("cmj", noise="typical", field=FieldOptions(threshold_n=8.0))   # one effect

| option | what real recordings showed | where |
|---|---|---|
| ``ringing_n``, ``ringing_hz``, ``ringing_damping`` | the force rings below zero for tens of ms after take-off (−76 N at 800 Hz, ~35 Hz); a quarter of it after each landing | the plate (``PlateModel``) |
| ``adc_step_n`` | quantised in coarse steps (~2.8 N per plate) | the plate's total (a summing amplifier's ADC, or the export) |
| ``offset_n`` | a plate not zeroed: the empty plate reads this (−760 N: tared with someone on it) | the plate's zero |
| ``empty_s``, ``step_on_s`` | the recording starts with the empty plate, then the athlete steps on | before the movement (cmj sj hops iso) |
| ``pretension_bw`` | a pre-tension / re-positioning rise (+30 % BW) before the maximal pull, recorded whole | before the pull (iso) |
| ``threshold_n`` | an export zeroed outside contact: per plate, force under this (3–10 N) reads exactly 0 | the export |
| ``bounce`` | a landing's first touch followed by one sample at zero | the export |
| ``end_after_takeoff_s`` | the recording ends this long after take-off with nobody back on the plate (cut in flight, or a landing off the plate) (cmj sj) | the body's force: zero from take-off |

Truth stays the model's: a stretch put before the movement shifts every event time; a
recording ending in flight drops the metrics that need the landing; ringing, quantisation, offset,
thresholding and the bounce are the plate's or the export's, not the body's.
"""
from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

import numpy as np

from sim.trial import SimulationError, Trial, Truth

STANDING_TESTS = ("cmj", "sj", "hops", "iso")  # tests that begin standing: a step on can precede them
FLIGHT_END_TESTS = ("cmj", "sj")
# metric names that are times from the first sample (the rest of the *_s names are durations)
TIMES = frozenset({"onset_s", "takeoff_s", "landing_s", "touchdown_s"})
# metrics that rest on samples after take-off, left out of the truth of a recording cut in flight
AFTER_TAKEOFF = frozenset({"landing_s", "flight_time_s", "jump_height_flight_m", "landing_peak_force_n",
                           "landing_peak_force_asym_pct"})
STANDING_AFTER_STEP_ON_S = 1.2  # quiet standing between a step on and a pre-tension


@dataclass(frozen=True)
class FieldOptions:
    """One recording's field effects; the defaults change nothing."""

    ringing_n: float = 0.0
    ringing_hz: float = 35.0
    ringing_damping: float = 0.2
    adc_step_n: float = 0.0  # the plate's total rounded to this (0: only the base preset's cell ADC)
    offset_n: float = 0.0
    empty_s: float = 0.0
    step_on_s: float = 0.4
    pretension_bw: float = 0.0
    threshold_n: float = 0.0
    bounce: bool = False
    end_after_takeoff_s: float | None = None

    def __post_init__(self) -> None:
        for name in ("ringing_n", "ringing_hz", "ringing_damping", "adc_step_n", "empty_s",
                     "step_on_s", "pretension_bw", "threshold_n"):
            value = getattr(self, name)
            if not (math.isfinite(value) and value >= 0):
                raise SimulationError(f"field option {name} must be a finite number ≥ 0, got {value!r}")
        if self.ringing_n and not (self.ringing_hz > 0 and 0 < self.ringing_damping < 1):
            raise SimulationError("plate ringing needs a positive frequency and a damping in (0, 1)")
        if not math.isfinite(self.offset_n):
            raise SimulationError("field offset must be finite")
        if self.end_after_takeoff_s is not None and not (0 < self.end_after_takeoff_s < 30):
            raise SimulationError("end_after_takeoff_s must lie in (0, 30) s")

    @classmethod
    def draw(cls, test: str, rng: np.random.Generator) -> FieldOptions:
        """The ``field`` preset: every plate and export effect, at figures drawn from what the
        real recordings showed; a recording-level effect (empty start, pre-tension, ending in
        flight) in half of the trials of the tests it applies to."""
        ending = None
        # a zeroed export (tared first); not a treadmill's: a running toe-off meets zero at a
        # tangent, and the 5–9 ms of it under a 3–10 N cut are in no file (docs/simulator.md)
        threshold = 0.0 if test == "run" else float(rng.choice([0.0, rng.uniform(3.0, 10.0)]))
        if test in FLIGHT_END_TESTS and rng.uniform() < 0.5:
            ending = float(rng.choice([rng.uniform(0.003, 0.01), rng.uniform(1.0, 3.0)]))
        # an unzeroed plate (not on a zeroed export, and not on a treadmill, whose short ringing
        # flights never hold the plate still) with a stretch that shows its zero: an empty start
        # where the movement has no flight (iso, a jump cut at take-off)
        offset = 0.0 if threshold or test == "run" else float(rng.choice([0.0, -rng.uniform(300.0, 900.0)]))
        empty = float(rng.uniform(0.5, 2.0)) if test in STANDING_TESTS and rng.uniform() < 0.5 else 0.0
        if offset and not empty and (test == "iso" or ending is not None and ending < 0.5):
            empty = float(rng.uniform(0.5, 2.0))
        return cls(ringing_n=float(rng.uniform(30.0, 80.0)), ringing_hz=float(rng.uniform(25.0, 60.0)),
                   ringing_damping=float(rng.uniform(0.15, 0.3)),
                   adc_step_n=float(rng.uniform(0.3, 3.0)),
                   offset_n=offset, empty_s=empty,
                   step_on_s=float(rng.uniform(0.3, 0.6)),
                   pretension_bw=float(rng.uniform(0.2, 0.35)) if test == "iso" and rng.uniform() < 0.5 else 0.0,
                   threshold_n=threshold,
                   bounce=bool(rng.uniform() < 0.5), end_after_takeoff_s=ending)


def before_plate(trial: Trial, options: FieldOptions) -> Trial:
    """The body's side: an empty plate and a step on (and an iso pre-tension) before the
    movement; the plate left empty after take-off until the recording ends."""
    if options.end_after_takeoff_s is not None:
        trial = _ends_in_flight(trial, options.end_after_takeoff_s)
    if options.pretension_bw and trial.test != "iso":
        raise SimulationError("a pre-tension applies to iso only")
    if not (options.empty_s or options.pretension_bw):
        return trial
    if trial.test not in STANDING_TESTS:
        raise SimulationError(f"an empty start applies to {', '.join(STANDING_TESTS)} only")
    rate = trial.rate_hz
    standing = trial.force[0]  # per plate: the movement begins with quiet standing
    ramp = _samples(options.step_on_s, rate)
    parts = [np.zeros(_samples(options.empty_s, rate)),
             0.5 * (1 - np.cos(np.pi * np.arange(ramp) / ramp))]  # the step on, a half-cosine
    if options.pretension_bw:
        rise, hold = _samples(0.3, rate), _samples(0.5, rate)
        bump = np.concatenate([0.5 * (1 - np.cos(np.pi * np.arange(rise) / rise)), np.ones(hold),
                               0.5 * (1 + np.cos(np.pi * np.arange(rise) / rise))])
        parts += [np.ones(_samples(STANDING_AFTER_STEP_ON_S, rate)), 1 + options.pretension_bw * bump,
                  np.ones(_samples(STANDING_AFTER_STEP_ON_S, rate))]
    share = np.concatenate(parts)
    lead = share[:, None] * standing[None, :]
    cop = None
    if trial.cop is not None:
        cop = np.concatenate([np.broadcast_to(trial.cop[:1], (share.size, *trial.cop.shape[1:])), trial.cop])
    return dataclasses.replace(trial, force=np.concatenate([lead, trial.force]), cop=cop,
                               truth=_shifted(trial.truth, share.size / rate))


def after_plate(trial: Trial, options: FieldOptions) -> Trial:
    """The export's side: coarse steps, a threshold to zero, a bouncing first touch. The cells
    keep the plate's own (fine) ADC: only the plate totals are re-stepped."""
    force, cells, truth = trial.force, trial.cells, trial.truth
    if options.adc_step_n:
        force = np.rint(force / options.adc_step_n) * options.adc_step_n
    if options.bounce:
        force, cells = force.copy(), None if cells is None else cells.copy()
        for k in _landings(truth, trial.rate_hz, force.shape[0]):
            force[k + 1] = force[k - 1]  # the foot is off again for one sample: the unloaded reading
            if cells is not None:
                cells[k + 1] = cells[k - 1]
    if options.threshold_n:
        quiet = force < options.threshold_n
        force = np.where(quiet, 0.0, force)
        if cells is not None:
            cells = np.where(quiet[:, :, None], 0.0, cells)
    return dataclasses.replace(trial, force=np.ascontiguousarray(force), cells=cells, truth=truth)


def _ends_in_flight(trial: Trial, after_s: float) -> Trial:
    """The recording ends ``after_s`` after take-off and nobody lands on the plate before then
    (the athlete landed off it, or the export stopped in flight): zero force from take-off on."""
    if trial.test not in FLIGHT_END_TESTS:
        raise SimulationError(f"ending in flight applies to {', '.join(FLIGHT_END_TESTS)} only")
    takeoff = trial.truth.events["takeoff_s"]
    end = takeoff + after_s
    n = int(math.floor(end * trial.rate_hz)) + 1
    first_zero = int(math.ceil(takeoff * trial.rate_hz))
    force = np.zeros((n, trial.plates))
    keep = min(first_zero, trial.force.shape[0], n)
    force[:keep] = trial.force[:keep]
    cop = None
    if trial.cop is not None:
        cop = np.concatenate([trial.cop[:keep], np.broadcast_to(trial.cop[keep - 1:keep],
                                                                 (n - keep, *trial.cop.shape[1:]))])
    truth = dataclasses.replace(
        trial.truth, metrics={k: v for k, v in trial.truth.metrics.items() if k not in AFTER_TAKEOFF},
        events={k: v for k, v in trial.truth.events.items() if v <= takeoff})
    return dataclasses.replace(trial, force=force, cop=cop, truth=truth)


def _landings(truth: Truth, rate: float, n: int) -> list[int]:
    """The first sample of each landing from a flight (the touch a bouncing foot makes first).
    Not a drop jump's touchdown: its contact's impulse is a metric, and the lost sample would
    change it (up to 0.5 N·s, 2 mm of jump height) away from the truth."""
    times = [v for k, v in truth.events.items() if k.startswith("landing")]
    if truth.test != "dj":
        times += [rep["touchdown_s"] for rep in truth.per_rep if "touchdown_s" in rep]
    found = sorted({int(math.ceil(t * rate)) for t in times})
    return [k for k in found if k + 2 < n]


def _samples(seconds: float, rate: float) -> int:
    return int(round(seconds * rate))


def _shifted(truth: Truth, shift: float) -> Truth:
    """The truth of the same movement ``shift`` seconds later in the recording."""
    def moved(values, names):
        return {k: (v + shift if k in names else v) for k, v in values.items()}

    events = set(truth.events)
    return dataclasses.replace(truth, metrics=moved(truth.metrics, TIMES | events),
                               events=moved(truth.events, events),
                               per_rep=tuple(moved(rep, TIMES | events) for rep in truth.per_rep))
