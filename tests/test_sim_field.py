"""sim.field: each effect does what it says, keeps the truth exact, and the preset is reproducible."""
from __future__ import annotations

import numpy as np
import pytest

from sim.field import FieldOptions
from sim.generate import simulate, simulate_movement
from sim.trial import SimulationError

RATE = 1000.0


def with_field(test: str, seed: int = 3, noise: str = "none", plates: int = 1, **field):
    return simulate(test, mass_kg=70.0, rate_hz=RATE, plates=plates, noise=noise, seed=seed,
                    field=FieldOptions(**field))


def test_no_field_option_changes_nothing():
    plain = simulate("cmj", mass_kg=70.0, noise="typical", seed=3)
    assert np.array_equal(with_field("cmj", noise="typical").force, plain.force)


@pytest.mark.parametrize("test", ["cmj", "sj", "hops", "iso"])
def test_an_empty_start_shifts_every_time_by_its_length(test):
    plain = simulate_movement(test, mass_kg=70.0, seed=3)
    tr = with_field(test, empty_s=1.2, step_on_s=0.4)
    shift = 1.6
    assert tr.force.shape[0] == plain.force.shape[0] + int(shift * RATE)
    assert np.allclose(tr.force[int(shift * RATE):], plain.force)  # the movement itself, unchanged
    assert not tr.force[:1200].any()  # the empty plate
    for name, t in plain.truth.events.items():
        assert tr.truth.events[name] == pytest.approx(t + shift)
    for name in ("onset_s", "takeoff_s", "landing_s"):
        if name in plain.truth.metrics:
            assert tr.truth.metrics[name] == pytest.approx(plain.truth.metrics[name] + shift)
    for name in ("flight_time_s", "contact_time_s", "time_to_takeoff_s", "peak_force_n"):
        if name in plain.truth.metrics:
            assert tr.truth.metrics[name] == plain.truth.metrics[name]
    for before, after in zip(plain.truth.per_rep, tr.truth.per_rep):
        assert after["touchdown_s"] == pytest.approx(before["touchdown_s"] + shift)
        assert after["contact_time_s"] == before["contact_time_s"]


def test_a_pre_tension_rises_by_its_share_of_body_weight_before_the_pull():
    tr = with_field("iso", empty_s=0.5, pretension_bw=0.3)
    bw = tr.truth.metrics["body_weight_n"]
    before = tr.force[:int(tr.truth.events["onset_s"] * RATE), 0]
    assert before.max() == pytest.approx(1.3 * bw, rel=1e-6)


def test_ringing_undershoots_after_take_off_at_its_frequency():
    tr = with_field("cmj", ringing_n=80.0, ringing_hz=40.0, ringing_damping=0.1)
    takeoff = int(np.ceil(tr.truth.events["takeoff_s"] * RATE))
    ring = tr.force[takeoff:takeoff + 100, 0]
    assert ring.min() < -60  # the first half-wave below zero
    crossings = np.flatnonzero(np.diff(np.sign(ring)) != 0)
    assert np.median(np.diff(crossings)) == pytest.approx(RATE / 40.0 / 2, abs=1)  # half periods
    assert abs(tr.force[takeoff + 300, 0]) < 1.0  # decayed (e^-ζωt)


def test_an_unzeroed_plate_reads_its_offset_when_empty():
    tr = with_field("cmj", noise="typical", offset_n=-760.0)
    takeoff, landing = tr.truth.events["takeoff_s"], tr.truth.events["landing_s"]
    middle = tr.force[int((takeoff + 0.1) * RATE):int((landing - 0.1) * RATE), 0]
    assert middle.mean() == pytest.approx(-760.0, abs=1.0)
    assert tr.truth.plate["offset_n"][0] == pytest.approx([-190.0] * 4)


def test_coarse_steps_threshold_and_bounce_act_on_the_export():
    tr = with_field("cmj", noise="typical", plates=2, adc_step_n=2.8, threshold_n=8.0, bounce=True)
    steps = tr.force / 2.8
    assert np.allclose(steps, np.round(steps))
    assert not ((tr.force > 0) & (tr.force < 8.0)).any()  # zeroed under the threshold
    landing = int(np.ceil(tr.truth.events["landing_s"] * RATE))
    assert np.array_equal(tr.force[landing + 1], tr.force[landing - 1])  # off again for a sample


def test_a_recording_that_ends_in_flight_drops_the_landing_from_its_truth():
    tr = with_field("cmj", end_after_takeoff_s=1.5)
    takeoff = tr.truth.events["takeoff_s"]
    assert tr.force.shape[0] == int(np.floor((takeoff + 1.5) * RATE)) + 1
    assert not tr.force[int(np.ceil(takeoff * RATE)):].any()
    assert "landing_s" not in tr.truth.events and "flight_time_s" not in tr.truth.metrics
    assert "jump_height_m" in tr.truth.metrics


def test_the_field_preset_is_reproducible_and_draws_per_seed():
    a = simulate("hops", noise="field", seed=11)
    b = simulate("hops", noise="field", seed=11)
    c = simulate("hops", noise="field", seed=12)
    assert np.array_equal(a.force, b.force) and a.truth.to_dict() == b.truth.to_dict()
    assert not np.array_equal(a.force[:1000], c.force[:1000])
    assert a.truth.plate["ringing_n"] > 0
    assert a.truth.to_dict()["field"]["ringing_n"] == a.truth.plate["ringing_n"]  # in the truth file
    assert "field" not in simulate("hops", noise="typical", seed=11).truth.to_dict()


@pytest.mark.parametrize("bad, message", [
    (dict(ringing_n=-1.0), "ringing_n"), (dict(threshold_n=float("nan")), "threshold_n"),
    (dict(end_after_takeoff_s=0.0), "end_after_takeoff_s"), (dict(offset_n=float("inf")), "offset"),
])
def test_bad_field_options_are_refused(bad, message):
    with pytest.raises(SimulationError, match=message):
        FieldOptions(**bad)


@pytest.mark.parametrize("test, options", [("dj", dict(empty_s=1.0)), ("cmj", dict(pretension_bw=0.3)),
                                           ("hops", dict(end_after_takeoff_s=1.0))])
def test_an_effect_on_a_test_it_does_not_fit_is_refused(test, options):
    with pytest.raises(SimulationError, match="applies to"):
        with_field(test, **options)
