"""hil.spec: the METRICS.md accuracy table as data, per-trial checks and the ≥95 % rule."""
import importlib
import math

import pytest

from hil import spec
from hil.spec import G, check, measurement, pass_rates


def test_import_has_no_side_effects_and_table_covers_metrics_md():
    module = importlib.reload(spec)
    for name in ("jump_height_m", "takeoff_velocity_m_s", "jump_height_flight_m", "flight_time_s",
                 "contact_time_s", "time_to_takeoff_s", "onset_s", "rsi_modified", "rsi",
                 "peak_force_n", "landing_peak_force_n", "impact_peak_n", "mean_propulsive_force_n",
                 "propulsive_impulse_n_s", "vertical_impulse_n_s", "peak_power_w",
                 "countermovement_depth_m", "net_peak_force_n", "rfd_0_50_n_s", "rfd_0_100_n_s",
                 "rfd_0_200_n_s", "vertical_stiffness_kn_m", "loading_rate_bw_s", "cadence_spm",
                 "hop_count", "step_count", "body_weight_n"):
        assert module.measurement("cmj", name) is not None, name
    assert measurement("cmj", "takeoff_s") is None  # events without a tolerance are not checked


@pytest.mark.parametrize("test, name, truth, rate, expected", [
    ("cmj", "jump_height_m", 0.35, 1000, 0.002),
    ("cmj", "takeoff_velocity_m_s", 2.6, 1000, 0.01),
    ("cmj", "flight_time_s", 0.5, 1000, 0.003),          # 2·dt + 1 ms
    ("cmj", "flight_time_s", 0.5, 500, 0.005),
    ("dj", "contact_time_s", 0.2, 2000, 0.002),
    ("cmj", "onset_s", 1.2, 1000, 0.020),
    ("cmj", "rsi_modified", 0.5, 1000, 0.015),
    ("dj", "rsi", 2.0, 1000, 0.1),
    ("cmj", "peak_force_n", 2000.0, 1000, 20.0),           # ±1 %
    ("dj", "peak_force_n", 4000.0, 1000, 80.0),            # ±2 % override
    ("hops", "peak_force_n", 3000.0, 1000, 60.0),
    ("run", "impact_peak_n", 1500.0, 1000, 30.0),
    ("cmj", "landing_peak_force_n", 3000.0, 1000, 30.0),
    ("iso", "rfd_0_50_n_s", -1000.0, 1000, 150.0),          # relative to |truth|
    ("cmj", "peak_force_asym_pct", 12.0, 1000, 2.0),
    ("run", "contact_time_asym_pct", -3.0, 1000, 2.0),
    ("hops", "hop_count", 10.0, 1000, 0.0),
    ("cmj", "body_weight_n", 800.0, 1000, 1.6),
])
def test_limits(test, name, truth, rate, expected):
    (result,) = check(test, {name: truth, "flight_time_s": 0.5}, {name: truth}, rate, names=[name])
    assert result.limit == pytest.approx(expected)
    assert result.passed and result.error == 0.0


def test_flight_height_limit_scales_with_flight_time_and_dt():
    truth = {"jump_height_flight_m": 0.3, "flight_time_s": 0.5}
    (result,) = check("cmj", truth, {"jump_height_flight_m": 0.3}, 1000, names=["jump_height_flight_m"])
    assert result.limit == pytest.approx(0.001 + G * 0.5 * 0.001 / 2)  # ≈ 3.45 mm
    assert result.limit == pytest.approx(0.00345, abs=0.0002)
    with pytest.raises(ValueError, match="flight_time_s"):
        check("cmj", {"jump_height_flight_m": 0.3}, {}, 1000, names=["jump_height_flight_m"])


def test_pass_fail_missing_and_nan():
    truth = {"jump_height_m": 0.30, "peak_force_n": 2000.0, "takeoff_velocity_m_s": 2.4,
             "onset_s": 1.0, "takeoff_s": 1.8}
    measured = {"jump_height_m": 0.3021, "peak_force_n": 2019.0, "takeoff_velocity_m_s": math.nan}
    checks = {c.name: c for c in check("cmj", truth, measured, 1000)}
    assert set(checks) == {"jump_height_m", "peak_force_n", "takeoff_velocity_m_s", "onset_s"}
    assert not checks["jump_height_m"].passed and checks["jump_height_m"].error == pytest.approx(0.0021)
    assert checks["peak_force_n"].passed and checks["peak_force_n"].unit == "N"
    assert not checks["takeoff_velocity_m_s"].passed and checks["takeoff_velocity_m_s"].measured is None
    assert not checks["onset_s"].passed and checks["onset_s"].error is None


def test_boundary_passes_exact_count_off_by_one_fails():
    assert check("hops", {"hop_count": 10}, {"hop_count": 10.0}, 1000)[0].passed
    assert not check("hops", {"hop_count": 10}, {"hop_count": 9.0}, 1000)[0].passed
    (edge,) = check("cmj", {"jump_height_m": 0.3}, {"jump_height_m": 0.302}, 1000)
    assert edge.passed


def test_unknown_metric_is_refused_and_truthless_metric_skipped():
    with pytest.raises(ValueError, match="no tolerance"):
        check("cmj", {"takeoff_s": 1.0}, {"takeoff_s": 1.0}, 1000, names=["takeoff_s"])
    assert check("run", {"step_count": 8}, {"step_count": 8}, 1000, names=["impact_peak_n"]) == []


def test_pass_rates_apply_the_95_percent_rule_per_test_and_metric():
    checks = []
    for i in range(20):
        checks += check("cmj", {"jump_height_m": 0.3}, {"jump_height_m": 0.3 + (0.01 if i == 0 else 0)}, 1000)
        checks += check("cmj", {"onset_s": 1.0}, {"onset_s": 1.0 + (0.1 if i < 2 else 0)}, 1000)
        checks += check("sj", {"jump_height_m": 0.3}, {"jump_height_m": 0.3}, 1000)
    rates = {(r.test, r.metric): r for r in pass_rates(checks)}
    assert rates[("cmj", "jump_height_m")].rate == pytest.approx(0.95) and rates[("cmj", "jump_height_m")].met
    assert rates[("cmj", "onset_s")].rate == pytest.approx(0.90) and not rates[("cmj", "onset_s")].met
    assert rates[("sj", "jump_height_m")].total == 20 and rates[("sj", "jump_height_m")].met
    assert pass_rates(checks, min_rate=1.0)[0].met is False
    assert rates[("cmj", "onset_s")].to_dict()["passed"] == 18
