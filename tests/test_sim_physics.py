"""Physics of the simulator: noise-free traces, analysed by simple independent calculations
(tests/sim_checks.py, which never read the truth), agree with the generating model's truth."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from sim.athlete import Athlete
from sim.generate import simulate
from sim.movements import TESTS
from sim.movements import cmj as cmj_module
from sim_checks import G, contact_edges, contacts, takeoff_velocity

SEEDS = range(8)


def clean(test: str, seed: int, **options):
    return simulate(test, noise="none", seed=seed, **options)


def jump_velocity(trial, drop_height_m: float | None = None) -> tuple[float, float, float]:
    """Take-off velocity (impulse–momentum from the known body weight), take-off and landing
    times, from the samples alone."""
    force, rate = trial.total, trial.rate_hz
    bw = trial.truth.metrics["body_weight_n"]
    runs = contacts(force)
    if drop_height_m is None:  # standing still from the first sample
        v, takeoff = takeoff_velocity(force, rate, bw, 0, runs[0][1])
    else:  # the first contact starts at touchdown from a free fall
        v, takeoff = takeoff_velocity(force, rate, bw, *runs[0], -np.sqrt(2 * G * drop_height_m),
                                      from_rest=False)
    landing = contact_edges(force, rate, *runs[1])[0]
    return v, takeoff, landing


@pytest.mark.parametrize("plates", [1, 2])
@pytest.mark.parametrize("test", ["cmj", "sj", "dj"])
def test_impulse_momentum_jump_height_matches_truth(test, plates):
    for seed in SEEDS:
        drop = 0.2 + 0.05 * seed if test == "dj" else None
        trial = clean(test, seed, plates=plates, **({"drop_height_m": drop} if drop else {}))
        truth = trial.truth.metrics
        v, takeoff, landing = jump_velocity(trial, drop)
        assert v**2 / (2 * G) == pytest.approx(truth["jump_height_m"], abs=2e-4)
        assert v == pytest.approx(truth["takeoff_velocity_m_s"], abs=2e-3)
        assert takeoff == pytest.approx(truth["takeoff_s"], abs=1e-4)
        assert landing - takeoff == pytest.approx(truth["flight_time_s"], abs=1e-4)
        assert G * truth["flight_time_s"] ** 2 / 8 == pytest.approx(truth["jump_height_flight_m"])


@pytest.mark.parametrize("test,options", [
    ("cmj", {"leg": "left"}), ("cmj", {"leg": "right"}), ("sj", {"leg": "left"}),
    ("dj", {"leg": "right"}), ("cmj", {"fidget": True}), ("cmj", {"second_jump": True}),
])
def test_impulse_momentum_holds_for_single_leg_and_awkward_jumps(test, options):
    for seed in SEEDS:
        trial = clean(test, seed, plates=2, **options)
        v, takeoff, _ = jump_velocity(trial, 0.30 if test == "dj" else None)
        assert v**2 / (2 * G) == pytest.approx(trial.truth.metrics["jump_height_m"], abs=2e-4)
        assert takeoff == pytest.approx(trial.truth.events["takeoff_s"], abs=1e-4)
        if "leg" in options:  # the other plate carries nothing
            assert not trial.force[:, 1 if options["leg"] == "left" else 0].any()


@pytest.mark.parametrize("rate", [250.0, 500.0, 2000.0, 4000.0])
def test_cmj_truth_does_not_depend_on_the_rate_and_holds_at_every_rate(rate):
    trial = clean("cmj", 5, rate_hz=rate)
    assert trial.truth.metrics == clean("cmj", 5, rate_hz=1000.0).truth.metrics
    v, _, _ = jump_velocity(trial)
    tolerance = 2e-4 * (1000.0 / rate) ** 2 + 5e-5  # the check's own trapezoid error
    assert v**2 / (2 * G) == pytest.approx(trial.truth.metrics["jump_height_m"], abs=tolerance)


@pytest.mark.parametrize("test", ["cmj", "sj", "dj"])
def test_flight_is_exactly_zero_force_and_contacts_are_positive(test):
    for seed in SEEDS:
        trial = clean(test, seed)
        t, force = trial.time, trial.total
        events = trial.truth.events
        flight = (t > events["takeoff_s"]) & (t < events["landing_s"])
        assert flight.sum() > 0.2 * trial.rate_hz
        assert np.all(force[flight] == 0.0)
        near = (t > events["takeoff_s"] - 0.05) & (t < events["takeoff_s"])
        assert np.all(force[near] > 0.0)


def test_cmj_metrics_follow_their_definitions():
    for seed in SEEDS:
        trial = clean("cmj", seed)
        m, e = trial.truth.metrics, trial.truth.events
        t, force = trial.time, trial.total
        bw, mass = m["body_weight_n"], m["body_mass_kg"]
        assert mass * G == pytest.approx(bw)
        assert m["time_to_takeoff_s"] == pytest.approx(m["takeoff_s"] - m["onset_s"])
        assert m["rsi_modified"] == pytest.approx(m["jump_height_m"] / m["time_to_takeoff_s"])
        assert m["propulsive_impulse_n_s"] == pytest.approx(mass * m["takeoff_velocity_m_s"])
        push = (t >= e["onset_s"]) & (t <= e["takeoff_s"])
        # the sampled peak lies just under the continuous one
        assert force[push].max() == pytest.approx(m["peak_force_n"], rel=2e-4)
        assert force[push].max() <= m["peak_force_n"] + 1e-6
        land = (t >= e["landing_s"]) & (t <= e["landing_s"] + 1.0)
        assert force[land].max() == pytest.approx(m["landing_peak_force_n"], rel=2e-4)
        propulsion = (t >= e["propulsion_s"]) & (t <= e["takeoff_s"])
        mean = np.trapezoid(force[propulsion], t[propulsion]) / (t[propulsion][-1] - t[propulsion][0])
        assert mean == pytest.approx(m["mean_propulsive_force_n"], rel=5e-3)
        # velocity from the samples: power peak and the lowest point
        velocity = np.concatenate(([0.0], np.cumsum((force[1:] + force[:-1]) / 2 / mass - G) / trial.rate_hz))
        before = t <= e["takeoff_s"]
        assert np.max(force[before] * velocity[before]) == pytest.approx(m["peak_power_w"], rel=2e-3)
        position = np.concatenate(([0.0], np.cumsum((velocity[1:] + velocity[:-1]) / 2) / trial.rate_hz))
        assert -position[before].min() == pytest.approx(m["countermovement_depth_m"], abs=1e-4)
        assert t[before][np.argmin(position[before])] == pytest.approx(e["propulsion_s"], abs=2e-3)
        assert 1.5 < m["peak_force_n"] / bw < 4.0 and 2.0 < m["landing_peak_force_n"] / bw < 7.0


@pytest.mark.parametrize("test", TESTS)
def test_force_never_negative_and_finite(test):
    for seed in SEEDS:
        for plates in (1, 2):
            force = clean(test, seed, plates=plates).force
            assert np.all(np.isfinite(force)) and np.all(force >= 0.0)


@pytest.mark.parametrize("test,before", [("cmj", "onset_s"), ("sj", "onset_s"), ("hops", "onset_s"),
                                         ("iso", "onset_s")])
def test_quiet_standing_is_really_still_and_weighs_exactly(test, before):
    for seed in SEEDS:
        for plates in (1, 2):
            trial = clean(test, seed, plates=plates)
            standing = trial.time < trial.truth.events[before]
            assert standing.sum() >= trial.rate_hz  # at least 1 s to weigh
            still = trial.force[standing]
            assert np.ptp(still, axis=0).max() == 0.0  # constant on every plate
            assert still.sum(axis=1).mean() == pytest.approx(trial.truth.metrics["body_weight_n"], rel=1e-12)


def test_drop_jump_weighs_after_landing_and_is_empty_before_touchdown():
    for seed in SEEDS:
        trial = clean("dj", seed, plates=2)
        t, m = trial.time, trial.truth.metrics
        assert np.all(trial.force[t < m["touchdown_s"]] == 0.0)
        last_second = trial.force[t > t[-1] - 1.0]
        assert np.ptp(last_second, axis=0).max() == 0.0
        assert last_second.sum(axis=1)[0] == pytest.approx(m["body_weight_n"], rel=1e-12)
        assert 1.0 <= m["rsi"] <= 2.6 and 0.15 <= m["contact_time_s"] <= 0.30
        contact = (t >= m["touchdown_s"]) & (t <= m["takeoff_s"])
        assert trial.total[contact].max() == pytest.approx(m["peak_force_n"], rel=5e-4)


@pytest.mark.parametrize("test", ["cmj", "sj"])
def test_two_plate_asymmetry_from_the_plates_own_traces(test):
    for seed in SEEDS:
        trial = clean(test, seed, plates=2)
        m, e = trial.truth.metrics, trial.truth.events
        t, left, right = trial.time, trial.force[:, 0], trial.force[:, 1]
        weigh = t < e["onset_s"]
        phase = (t >= e["propulsion_s"]) & (t <= e["takeoff_s"])
        net = [np.trapezoid(side[phase] - side[weigh].mean(), t[phase]) for side in (left, right)]
        assert 100 * (net[0] - net[1]) / max(net) == pytest.approx(m["propulsive_impulse_asym_pct"], abs=0.1)
        peaks = [side[t <= e["takeoff_s"]].max() for side in (left, right)]
        assert 100 * (peaks[0] - peaks[1]) / max(peaks) == pytest.approx(m["peak_force_asym_pct"], abs=0.1)
        lands = [side[t >= e["landing_s"]].max() for side in (left, right)]
        assert 100 * (lands[0] - lands[1]) / max(lands) == pytest.approx(m["landing_peak_force_asym_pct"], abs=0.1)


@pytest.mark.parametrize("leg,column", [("left", 0), ("right", 1)])
def test_single_leg_puts_all_force_on_one_plate(leg, column):
    for test in ("cmj", "sj", "dj", "hops", "iso"):
        trial = clean(test, 2, plates=2, leg=leg)
        assert np.all(trial.force[:, 1 - column] == 0.0)
        assert trial.force[:, column].max() > 0
    bilateral, single = clean("cmj", 2), clean("cmj", 2, leg=leg)
    assert single.truth.metrics["jump_height_m"] < 0.7 * bilateral.truth.metrics["jump_height_m"]


def test_hops_contacts_are_half_sines_returning_each_flights_momentum():
    for seed in SEEDS:
        trial = clean("hops", seed, hops=6 + seed)
        force, rate, m = trial.total, trial.rate_hz, trial.truth.metrics
        bw, mass = m["body_weight_n"], m["body_mass_kg"]
        runs = contacts(force)
        # standing+start-up, then the rebound contacts, then the final landing and standing
        rebounds = runs[1:-1]
        assert len(rebounds) == m["hop_count"] == len(trial.truth.per_rep) == 6 + seed
        edges = [contact_edges(force, rate, *run) for run in runs]
        for k, (rep, run) in enumerate(zip(trial.truth.per_rep, rebounds), start=1):
            touchdown, takeoff, impulse = edges[k]
            flight_before = touchdown - edges[k - 1][1]
            flight_after = edges[k + 1][0] - takeoff
            assert takeoff - touchdown == pytest.approx(rep["contact_time_s"], abs=5e-5)
            assert flight_after == pytest.approx(rep["flight_time_s"], abs=5e-5)
            # impulse–momentum: weight over the contact plus both flights' momentum
            assert impulse == pytest.approx(mass * G * (rep["contact_time_s"] + (flight_before + flight_after) / 2), rel=1e-4)
            assert force[run[0]:run[1]].max() == pytest.approx(rep["peak_force_n"], rel=1e-3)
            assert rep["rsi"] == pytest.approx(rep["jump_height_flight_m"] / rep["contact_time_s"])
            # stiffness: peak force over the lowest centre-of-mass point below touchdown
            v = -G * flight_before / 2 + np.concatenate(([0.0], np.cumsum(
                (force[run[0]:run[1]][1:] + force[run[0]:run[1]][:-1]) / 2 / mass - G) / rate))
            drop = -np.min(np.cumsum(v) / rate)
            assert rep["peak_force_n"] / drop / 1000 == pytest.approx(rep["vertical_stiffness_kn_m"], rel=0.02)
        assert m["contact_time_s"] == pytest.approx(np.mean([r["contact_time_s"] for r in trial.truth.per_rep]))
        assert bw == pytest.approx(force[trial.time < trial.truth.events["onset_s"]].mean())


def test_hops_symmetric_closed_forms():
    """DOMAIN.md's formulas for equal flights."""
    from sim.movements.hops import lowering
    mass, tc, tf = 70.0, np.array([0.18]), 0.4
    fmax = mass * G * (np.pi / 2) * (tf / tc + 1)
    expected = fmax * tc**2 / (mass * np.pi**2) - G * tc**2 / 8
    assert lowering(fmax, tc, np.array([G * tf / 2]), mass) == pytest.approx(expected, rel=1e-12)


def test_iso_rise_and_rfd_from_the_trace():
    for seed in SEEDS:
        for variant in ("mid_thigh_pull", "calf_raise", "lunge"):
            trial = clean("iso", seed, variant=variant, plates=2)
            m, t, force = trial.truth.metrics, trial.time, trial.total
            onset, bw = m["onset_s"], m["body_weight_n"]
            for window in (50, 100, 200):
                at = np.interp(onset + window / 1000, t, force)
                assert (at - bw) / (window / 1000) == pytest.approx(m[f"rfd_0_{window}_n_s"], rel=5e-3)
            assert force.max() == pytest.approx(m["peak_force_n"], rel=1e-4)
            assert force.max() <= m["peak_force_n"] + 1e-6
            assert t[np.argmax(force)] - onset == pytest.approx(m["time_to_peak_s"], abs=2e-3)
            assert m["net_peak_force_n"] == pytest.approx(m["peak_force_n"] - bw)
            assert force[-1] == bw
    calf = clean("iso", 1, variant="calf_raise")
    hold = (calf.time > calf.truth.events["peak_s"]) & (calf.time < calf.truth.events["relax_s"])
    assert calf.cop[hold, 0, 0].mean() > 0.05  # onto the toes
    quiet = calf.time < calf.truth.metrics["onset_s"]
    assert np.abs(calf.cop[quiet]).max() < 0.005  # a few mm of sway


@pytest.mark.parametrize("plates", [1, 2])
def test_run_stride_mean_is_body_weight_and_steps_are_counted(plates):
    for seed in SEEDS:
        trial = clean("run", seed, plates=plates, duration_s=4.0 + seed)
        m, rate, total = trial.truth.metrics, trial.rate_hz, trial.total
        runs = contacts(total) if plates == 1 else sorted(
            run for column in range(2) for run in contacts(trial.force[:, column]))
        complete = [run for run in runs if run[0] > 0 and run[1] < total.size]
        assert len(complete) == m["step_count"] == len(trial.truth.per_rep)
        edges = [contact_edges(total, rate, *run) for run in complete]
        touchdowns = np.array([e[0] for e in edges])
        for (td, to, _), rep in zip(edges, trial.truth.per_rep):
            assert td == pytest.approx(rep["touchdown_s"], abs=5e-4)  # force rises as t²: flat edges
            assert to - td == pytest.approx(rep["contact_time_s"], abs=1e-3)
        # whole strides: from a touchdown to the touchdown two steps later
        impulse = [e[2] for e in edges]
        for i in range(len(edges) - 2):
            mean = (impulse[i] + impulse[i + 1]) / (touchdowns[i + 2] - touchdowns[i])
            assert mean == pytest.approx(m["body_weight_n"], rel=1e-3)
        cadence = 60 * (len(edges) - 1) / (touchdowns[-1] - touchdowns[0])
        assert cadence == pytest.approx(m["cadence_spm"], rel=1e-4)
        assert 1.8 < m["peak_force_bw"] < 3.2 and 1.3 < m["impact_peak_n"] / m["body_weight_n"] < 2.4
        assert 40 < m["loading_rate_bw_s"] < 150


def test_run_recording_starts_and_ends_mid_step_sometimes():
    starts = [clean("run", seed, duration_s=2.0).total[0] > 0 for seed in range(20)]
    assert any(starts) and not all(starts)


def test_forefoot_running_has_no_impact_peak():
    trial = clean("run", 4, strike="forefoot")
    assert "impact_peak_n" not in trial.truth.metrics and "loading_rate_bw_s" not in trial.truth.metrics
    assert "impact_peak_n" in clean("run", 4).truth.metrics


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), mass=st.floats(45.0, 120.0),
       height=st.floats(0.15, 0.6), depth=st.floats(0.2, 0.4), plates=st.sampled_from([1, 2]))
def test_random_athletes_obey_impulse_momentum(seed, mass, height, depth, plates):
    trial = simulate("cmj", mass_kg=mass, noise="none", seed=seed, plates=plates,
                     height_m=height, depth_m=depth)
    assert np.all(trial.force >= 0)
    assert trial.truth.metrics["body_mass_kg"] == pytest.approx(mass)
    v, _, _ = jump_velocity(trial)
    assert v**2 / (2 * G) == pytest.approx(height, abs=2e-4)
    assert trial.truth.metrics["countermovement_depth_m"] == pytest.approx(depth)


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**32 - 1))
def test_every_drawn_athlete_can_do_every_test(seed):
    rng = np.random.default_rng(seed)
    athlete = Athlete.draw(rng)
    assert 45.0 <= athlete.mass_kg <= 120.0
    for test in TESTS:
        module = __import__(f"sim.movements.{test}", fromlist=["simulate"])
        trial = module.simulate(athlete, 1000.0, 2, rng)
        assert np.all(trial.force >= 0)


def test_batch_matches_the_physics():
    rng = np.random.default_rng(7)
    athletes = [Athlete.draw(rng) for _ in range(20)]
    trials = cmj_module.simulate_batch(athletes, 1000.0, rng, duration_s=5.0)
    for athlete, trial in zip(athletes, trials):
        assert trial.force.shape == (5001, 1)
        assert trial.truth.metrics["body_mass_kg"] == athlete.mass_kg
        v, takeoff, _ = jump_velocity(trial)
        assert v**2 / (2 * G) == pytest.approx(athlete.cmj_height_m, abs=2e-4)
        assert takeoff == pytest.approx(trial.truth.metrics["takeoff_s"], abs=1e-4)


def largest_slope_change(trial, edge_s: float = 0.003) -> float:
    """Largest change of the force slope from one sample to the next (BW/s), inside the
    contacts but ``edge_s`` away from touchdowns and take-offs (real corners)."""
    force, rate = trial.total, trial.rate_hz
    skip = int(round(edge_s * rate))
    worst = 0.0
    for start, stop in contacts(force):
        inside = force[start + skip:stop - skip]
        if inside.size > 3:
            worst = max(worst, float(np.abs(np.diff(inside, 2)).max()) * rate)
    return worst / trial.truth.metrics["body_weight_n"]


@pytest.mark.parametrize("test", ["cmj", "sj", "dj", "hops", "run"])
def test_force_is_smooth_within_contacts(test):
    """A smooth force changes its slope per sample in proportion to dt, a corner (a jump in
    slope, e.g. 5.4 → −11.6 kN/s at the lowest point) by the same amount at every rate: at 4×
    the rate, the largest per-sample slope change must shrink about 4×."""
    for seed in range(4):
        coarse = largest_slope_change(clean(test, seed, rate_hz=1000.0))
        fine = largest_slope_change(clean(test, seed, rate_hz=4000.0))
        assert fine < coarse / 3.0, (seed, coarse, fine)


def test_landings_peak_hard_and_early_then_settle():
    """3–6 BW within 30–70 ms of touchdown (real plates: 4–5 BW within 10–60 ms), then back to
    still standing with no corner (covered above) and exact momentum (the force's impulse
    from touchdown to stillness is weight × time + the touchdown momentum)."""
    rng = np.random.default_rng(11)
    athletes = [Athlete.draw(rng) for _ in range(100)]
    for trial in cmj_module.simulate_batch(athletes, 1000.0, rng, duration_s=5.0):
        m, e, t, force = trial.truth.metrics, trial.truth.events, trial.time, trial.total
        bw = m["body_weight_n"]
        after = (t >= e["landing_s"]) & (t <= e["landing_s"] + 0.3)
        peak_at = t[after][np.argmax(force[after])] - e["landing_s"]
        assert 0.03 <= peak_at <= 0.07 and 3.0 <= m["landing_peak_force_n"] / bw <= 6.0
        runs = contacts(force)
        touchdown, _, impulse = contact_edges(force, trial.rate_hz, *runs[1])
        assert impulse == pytest.approx(bw * (t[-1] - touchdown) + m["body_mass_kg"] * m["takeoff_velocity_m_s"], rel=1e-4)


def test_cmj_peak_force_is_typical():
    """DOMAIN.md: CMJ peak force typically 2–2.6 body weights."""
    rng = np.random.default_rng(12)
    athletes = [Athlete.draw(rng) for _ in range(300)]
    trials = cmj_module.simulate_batch(athletes, 1000.0, rng, duration_s=5.0)
    peak = np.array([t.truth.metrics["peak_force_n"] / t.truth.metrics["body_weight_n"] for t in trials])
    low, median, high = np.percentile(peak, [5, 50, 95])
    assert 2.0 <= low and 2.2 <= median <= 2.6 and high <= 3.0
    ttt = np.array([t.truth.metrics["time_to_takeoff_s"] for t in trials])
    rsi = np.array([t.truth.metrics["rsi_modified"] for t in trials])
    assert 0.7 <= ttt.min() and ttt.max() <= 1.0 and 0.2 <= rsi.min() and rsi.max() <= 0.7


@pytest.mark.parametrize("test,before", [("cmj", "onset_s"), ("sj", "onset_s"), ("hops", "onset_s"),
                                         ("iso", "onset_s")])
def test_sway_is_slow_zero_mean_and_leaves_the_truth_alone(test, before):
    for seed in range(4):
        still_trial, trial = clean(test, seed, plates=2), clean(test, seed, plates=2, sway=True)
        assert trial.truth.metrics == still_trial.truth.metrics
        bw = trial.truth.metrics["body_weight_n"]
        standing = trial.time < trial.truth.events[before]
        sway = trial.total[standing] - bw
        assert abs(sway.mean()) < 1e-6 * bw  # zero mean over the standing stretch (to sampling)
        sd = [np.std(sway[i:i + int(trial.rate_hz)]) for i in range(0, sway.size - int(trial.rate_hz), 100)]
        assert 0.5 <= min(sd) and max(sd) <= 8.0 and np.ptp(sway) > 3.0
        assert np.abs(np.diff(sway)).max() < 0.5  # slow: under 0.5 N per ms
        assert np.array_equal(trial.force[~standing], still_trial.force[~standing])
    if test == "cmj":
        v, _, _ = jump_velocity(trial)
        assert v == pytest.approx(trial.truth.metrics["takeoff_velocity_m_s"], abs=2e-3)


def test_running_impact_is_a_bump_on_the_rising_edge_not_a_spike_and_notch():
    """The impact bell unloads while the active bell rises: after the impact peak the force
    dips by a fifth or so (median), never back to body weight and below as a spike would."""
    dips = []
    for seed in range(6):
        trial = clean("run", seed, rate_hz=4000.0)
        force, bw = trial.total, trial.truth.metrics["body_weight_n"]
        for start, stop in contacts(force)[1:-1]:
            step = force[start:stop]
            peaks = np.flatnonzero((step[1:-1] > step[:-2]) & (step[1:-1] >= step[2:])) + 1
            if peaks.size > 1:  # impact peak, then active peak
                dips.append(step[peaks[0]:peaks[1]].min() / step[peaks[0]])
                assert step[peaks[0]:peaks[1]].min() > 0.75 * bw
    assert len(dips) > 50 and np.median(dips) > 0.7
