"""sim.generate: seeds, errors, the awkward real-world cases and the file export."""
from __future__ import annotations

import json

import numpy as np
import pytest

from sim import SimulationError
from sim.athlete import Athlete
from sim.export import csv_text, truth_json, write_trial
from sim.generate import simulate, simulate_movement
from sim.movements import TESTS
from sim_checks import G, contact_edges, contacts, takeoff_velocity


@pytest.mark.parametrize("test", TESTS)
def test_same_seed_same_bytes_and_different_seeds_different_athletes(test):
    a = simulate(test, seed=11, plates=2)
    b = simulate(test, seed=11, plates=2)
    assert csv_text(a) == csv_text(b) and truth_json(a) == truth_json(b)
    assert a.force.tobytes() == b.force.tobytes() and a.cop.tobytes() == b.cop.tobytes()
    masses = {simulate(test, seed=seed, noise="none").truth.metrics["body_mass_kg"] for seed in range(5)}
    assert len(masses) == 5


@pytest.mark.parametrize("test", TESTS)
def test_noise_none_is_the_movement_itself_and_typical_noise_is_near_it(test):
    exact = simulate_movement(test, seed=4, plates=2)
    ideal = simulate(test, seed=4, plates=2, noise="none")
    assert np.array_equal(ideal.force, exact.force)
    assert ideal.truth.metrics == exact.truth.metrics and ideal.truth.plate
    noisy = simulate(test, seed=4, plates=2, noise="typical")
    residual = noisy.force - exact.force
    assert 0.3 < np.std(residual) < 5.0  # about 1.5 N per plate, plus the resonance near jumps


def test_mass_override_and_athlete_draw_ranges():
    assert simulate("cmj", mass_kg=83.5, noise="none").truth.metrics["body_weight_n"] == pytest.approx(83.5 * G)
    rng = np.random.default_rng(1)
    athletes = [Athlete.draw(rng) for _ in range(300)]
    masses = np.array([a.mass_kg for a in athletes])
    assert masses.min() >= 45 and masses.max() <= 120 and 60 < masses.mean() < 85
    heights = np.array([a.cmj_height_m for a in athletes])
    assert heights.min() >= 0.25 and heights.max() <= 0.5
    shares = np.array([a.left_share for a in athletes])
    assert np.any(shares > 0.54) and np.any(shares < 0.46)  # some 15–20 % asymmetries
    assert Athlete.draw(np.random.default_rng(3), cmj_height_m=0.3).cmj_height_m == 0.3


@pytest.mark.parametrize("call,message", [
    (lambda: simulate("cmj", mass_kg=-70), "body mass"),
    (lambda: simulate("cmj", mass_kg=0), "body mass"),
    (lambda: simulate("cmj", rate_hz=0), "sample rate"),
    (lambda: simulate("cmj", rate_hz=-1000), "sample rate"),
    (lambda: simulate("cmj", rate_hz=100), "sample rate"),
    (lambda: simulate("jump"), "unknown test"),
    (lambda: simulate("cmj", seed=1.5), "seed"),
    (lambda: simulate("cmj", seed=float("nan")), "numbers"),
    (lambda: simulate("cmj", plates=3), "plates"),
    (lambda: simulate("cmj", noise="loud"), "noise"),
    (lambda: simulate("cmj", height_m=1.2), "impossible"),
    (lambda: simulate("cmj", height_m=0.79, depth_m=0.1), "body weights"),
    (lambda: simulate("dj", drop_height_m=-0.3), "drop height"),
    (lambda: simulate("run", speed_m_s=1.0), "speed"),
    (lambda: simulate("run", duration_s=0.2), "duration"),
    (lambda: simulate("cmj", duration_s=2.0), "too short"),
    (lambda: simulate("cmj", speed_m_s=3.0), "do not apply"),
    (lambda: simulate("cmj", leg="middle"), "leg"),
    (lambda: simulate("cmj", untrimmed="sideways"), "untrimmed"),
    (lambda: simulate("hops", hops=0), "hops"),
    (lambda: simulate("iso", variant="bench_press"), "variant"),
    (lambda: Athlete(mass_kg=float("nan")), "body mass"),
    (lambda: Athlete(cmj_height_m=1.5), "impossible"),
])
def test_bad_parameters_raise_one_clear_simulation_error(call, message):
    with pytest.raises(SimulationError, match=message) as caught:
        call()
    assert "\n" not in str(caught.value)


def test_step_off_before_the_jump():
    trial = simulate("cmj", seed=2, noise="none", untrimmed="step_off_before", plates=2)
    e, m, t, force = trial.truth.events, trial.truth.metrics, trial.time, trial.total
    bw = m["body_weight_n"]
    assert e["step_off_s"] >= 1.0 and 0.3 <= e["off_plate_s"] - e["step_off_s"] <= 0.6
    assert 0.3 <= e["on_plate_s"] - e["step_on_s"] <= 0.6
    assert np.all(force[(t > e["off_plate_s"]) & (t < e["step_on_s"])] == 0.0)
    ramp = force[(t > e["step_off_s"]) & (t < e["off_plate_s"])]
    assert np.all(np.diff(ramp) < 0) and np.all((ramp > 0) & (ramp < bw))
    still = (t >= e["on_plate_s"]) & (t < e["onset_s"])
    assert still.sum() >= 1.2 * trial.rate_hz and np.all(force[still] == bw)
    assert np.all(force[t < e["step_off_s"]] == bw)
    start = int(np.ceil(e["on_plate_s"] * trial.rate_hz))
    run = [r for r in contacts(force) if r[0] <= start < r[1]][0]
    v, takeoff = takeoff_velocity(force, trial.rate_hz, bw, start, run[1])
    assert v**2 / (2 * G) == pytest.approx(m["jump_height_m"], abs=2e-4)
    assert takeoff == pytest.approx(m["takeoff_s"], abs=1e-4)


def test_step_off_after_the_jump():
    trial = simulate("cmj", seed=3, noise="none", untrimmed="step_off_after")
    e, t, force = trial.truth.events, trial.time, trial.total
    assert e["step_off_s"] > e["landing_s"] + 1.5
    assert np.all(force[t > e["off_plate_s"]] == 0.0) and t[-1] - e["off_plate_s"] >= 0.5
    assert np.all(force[t < e["onset_s"]] == trial.truth.metrics["body_weight_n"])


def test_second_jump_is_in_per_rep_and_suffixed_events():
    trial = simulate("cmj", seed=5, noise="none", second_jump=True)
    e, reps, force, rate = trial.truth.events, trial.truth.per_rep, trial.total, trial.rate_hz
    bw = trial.truth.metrics["body_weight_n"]
    assert len(reps) == 2 and reps[0]["jump_height_m"] == trial.truth.metrics["jump_height_m"]
    assert e["onset_2_s"] > e["landing_s"] + 1.0 and e["takeoff_2_s"] == reps[1]["takeoff_s"]
    runs = contacts(force)
    assert len(runs) == 3  # stand+jump, land+stand+jump, land+stand
    start = int(np.ceil((e["onset_2_s"] - 0.5) * rate))
    assert np.all(force[start:int(e["onset_2_s"] * rate)] == bw)
    v, takeoff = takeoff_velocity(force, rate, bw, start, runs[1][1])
    assert v**2 / (2 * G) == pytest.approx(reps[1]["jump_height_m"], abs=2e-4)
    assert contact_edges(force, rate, *runs[2])[0] == pytest.approx(e["landing_2_s"], abs=1e-4)


def test_fidget_during_weighing():
    trial = simulate("cmj", seed=6, noise="none", fidget=True, plates=2)
    e, t, force = trial.truth.events, trial.time, trial.total
    bw = trial.truth.metrics["body_weight_n"]
    fidget = (t >= e["fidget_start_s"]) & (t <= e["fidget_end_s"])
    assert np.abs(force[fidget] - bw).max() > 0.03 * bw  # visible movement in the first second
    assert e["fidget_start_s"] < 1.0
    assert np.trapezoid(force[fidget], t[fidget]) / (t[fidget][-1] - t[fidget][0]) == pytest.approx(bw, rel=1e-3)
    still = (t > e["fidget_end_s"]) & (t < e["onset_s"])
    assert still.sum() >= 1.3 * trial.rate_hz and np.all(force[still] == bw)


def test_write_trial_files(tmp_path):
    trial = simulate("run", seed=1, plates=2, duration_s=3.0)
    csv_path, json_path = write_trial(trial, tmp_path / "out", "run", {"seed": 1})
    lines = csv_path.read_text().splitlines()
    assert lines[0] == "time,fz_left,fz_right" and len(lines) == trial.force.shape[0] + 1
    data = np.loadtxt(csv_path, delimiter=",", skiprows=1)
    assert np.allclose(data[:, 1:], trial.force, atol=1e-6) and data[1, 0] == pytest.approx(0.001)
    record = json.loads(json_path.read_text())
    assert record["metrics"]["step_count"] == trial.truth.metrics["step_count"]
    assert len(record["per_rep"]) == record["metrics"]["step_count"]
    assert record["plate"]["plates"] == 2 and record["simulation"] == {"seed": 1}
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["run.csv", "run.truth.json"]


@pytest.mark.parametrize("test", TESTS)
def test_the_default_average_athlete_does_every_test(test):
    module = __import__(f"sim.movements.{test}", fromlist=["simulate"])
    trial = module.simulate(Athlete(), 1000.0, 1, np.random.default_rng(0))
    assert trial.truth.metrics["body_mass_kg"] == 75.0 and np.all(trial.force >= 0)
