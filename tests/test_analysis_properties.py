"""Properties of the analysis on perturbed traces of every test: it refuses cleanly or answers
with finite numbers and events inside the recording; it never raises anything else."""
import functools
import importlib.util

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import formula_traces as traces
from hil.analysis import TESTS, AnalysisInputError, analyse

RATES = (500.0, 1000.0, 2000.0)


@functools.lru_cache(maxsize=None)
def _base(test: str, rate: float, plates: int) -> np.ndarray:
    """A clean trace of ``test``: from the simulator when it has the movement, else from formulas."""
    if importlib.util.find_spec(f"sim.movements.{test}") is not None:
        from sim.generate import simulate
        return simulate(test, rate_hz=rate, plates=plates, noise="none", seed=int(rate) + plates).force
    force = {"hops": lambda: traces.hops(rate=rate)[0], "iso": lambda: traces.iso(rate=rate)[0],
             "run": lambda: traces.run_steps(rate=rate, plates=plates)[0]}[test]()
    if force.ndim == 1 and plates == 2:
        force = np.column_stack([0.52 * force, 0.48 * force])
    return force.reshape(force.shape[0], -1)


def _finite_time(value, duration):
    return np.isfinite(value) and -1e-9 <= value <= duration + 1e-9


@pytest.mark.parametrize("test", TESTS)
@settings(max_examples=50, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow])
@given(rate=st.sampled_from(RATES), plates=st.sampled_from((1, 2)),
       seed=st.integers(0, 2**16), noise_sd=st.sampled_from((0.0, 1.5, 20.0)),
       offset=st.floats(-60.0, 60.0), start=st.floats(0.0, 0.8), length=st.floats(0.0, 1.0),
       damage=st.sampled_from(("none", "nan", "holes", "inf", "spike", "clip")))
def test_analysis_answers_with_finite_values_or_refuses(test, rate, plates, seed, noise_sd, offset,
                                                        start, length, damage):
    base = _base(test, rate, plates)
    rng = np.random.default_rng(seed)
    n = base.shape[0]
    a = int(start * n)
    b = a + int(length * (n - a))
    force = base[a:b] + offset + rng.normal(0.0, noise_sd, base[a:b].shape)
    if force.shape[0] > 10 and damage != "none":
        i = int(rng.integers(0, force.shape[0] - 5))
        if damage == "nan":
            force[i:i + 3] = np.nan
        elif damage == "holes":  # lost samples scattered anywhere, in one plate or in all
            holes = rng.choice(force.shape[0], int(rng.integers(1, 8)), replace=False)
            force[holes, :int(rng.integers(1, force.shape[1] + 1))] = np.nan
        elif damage == "inf":
            force[i] = np.inf
        elif damage == "spike":
            force[i] += 5000.0
        else:
            force = np.minimum(force, np.percentile(force, 90))
    try:
        result = analyse(force, rate, test)
    except AnalysisInputError:
        assert force.shape[0] < 2  # the only unusable input here is a too-short one
        return
    duration = (force.shape[0] - 1) / rate
    assert all(np.isfinite(v) for v in result.metrics.values()), result.metrics
    for name, value in result.events.items():
        assert _finite_time(value, duration), (name, value, duration)
    for rep in result.per_rep:
        assert all(np.isfinite(v) for v in rep.values()), rep
        for name in ("touchdown_s", "takeoff_s"):
            if name in rep:
                assert _finite_time(rep[name], duration), (name, rep[name])
    if result.refused:
        assert result.issues and not result.metrics
    if result.needed_until_s is not None:  # past the end only when waiting for later samples
        assert np.isfinite(result.needed_until_s) and result.needed_until_s >= 0
        cut = int(round(result.needed_until_s * rate)) + 1
        if not result.refused and cut < force.shape[0]:
            # the streaming rule (result.py): the samples up to needed_until_s give the same result
            assert analyse(force[:cut], rate, test).metrics == result.metrics
    result.to_dict()  # serialisable


@pytest.mark.parametrize("bad", [np.zeros((5, 3)), np.zeros(1), "abc", np.zeros((0,))])
def test_unusable_arrays_raise_the_documented_error(bad):
    with pytest.raises(AnalysisInputError):
        analyse(bad, 1000.0, "hops")


@pytest.mark.parametrize("test", ["hops", "run"])
@settings(max_examples=10, deadline=None, derandomize=True)
@given(rate=st.sampled_from(RATES), offset=st.floats(-40.0, 40.0))
def test_a_plate_off_zero_measures_the_same(test, rate, offset):
    """With flights in the trace, each flight's reading is the zero: an offset cancels."""
    base = _base(test, rate, 1)
    force = base + np.random.default_rng(1).normal(0.0, 1.5, base.shape)
    zeroed, shifted = (analyse(f, rate, test).metrics for f in (force, force + offset))
    assert zeroed.keys() == shifted.keys()
    for name, value in zeroed.items():
        if name in ("contact_time_s", "flight_time_s"):
            assert shifted[name] == pytest.approx(value, abs=1 / rate), name
        else:
            assert shifted[name] == pytest.approx(value, rel=0.002, abs=1e-9), name


@pytest.mark.parametrize("options", [{"body_mass_kg": -70.0}, {"body_mass_kg": 0.0},
                                     {"drop_height_m": float("nan")}, {"drop_height_m": "0.3"}])
def test_bad_options_raise_the_documented_error(options):
    with pytest.raises(AnalysisInputError):
        analyse(np.full(3000, 700.0), 1000.0, "dj", **options)
