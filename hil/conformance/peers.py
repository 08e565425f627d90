"""Adapters for the open-source peers (the optional ``peers`` extra), so the conformance table
shows them beside forcebench on the same traces. Each reports only the METRICS.md metrics whose
definition its own output matches; each runs the configuration its authors document.

- plateforce (Rust, countermovement jumps): the method binding of plateforce's README.
- jumpmetrics (pure Python, countermovement and squat jumps): its README pipeline: take-off where
  the force stays under 10 N for 0.25 s, the 3 s before it analysed by its take-off processor,
  landing where the force stays above 20 N for 15 ms; its optional low-pass filter left off.
"""
from __future__ import annotations

import importlib.metadata
import logging
import math
import warnings
from typing import Mapping

import numpy as np

from hil.conformance.analysers import Analyser, Refused

PLATEFORCE_METRICS = {  # METRICS.md name → attribute of plateforce's CountermovementJump
    "onset_s": "onset_time_seconds", "takeoff_s": "takeoff_time_seconds",
    "time_to_takeoff_s": "time_to_takeoff_seconds",
    "takeoff_velocity_m_s": "takeoff_velocity_meters_per_second",
    "jump_height_m": "jump_height_takeoff_frame_meters",
    "jump_height_flight_m": "jump_height_flight_time_meters", "flight_time_s": "flight_time_seconds",
    "rsi_modified": "reactive_strength_index_modified", "body_weight_n": "system_weight_newtons",
}


def _total(force: np.ndarray) -> np.ndarray:
    """Peers read one total vertical force."""
    return force if force.ndim == 1 else force.sum(axis=1)


def _finite(values: Mapping[str, object]) -> dict[str, float]:
    """Only real numbers: a peer's NaN or None is a metric it did not deliver."""
    out = {}
    for name, value in values.items():
        if value is None:
            continue
        number = float(np.asarray(value).reshape(-1)[0])
        if math.isfinite(number):
            out[name] = number
    return out


def plateforce() -> Analyser:
    import plateforce as pf

    registry = pf.Registry.load()
    methods = {
        "weighing_epoch": registry.method("bwepoch.fixed_window").bind(duration=1.0),
        "onset": registry.method("onset.threshold.noise_relative").bind(k=5.0),
        "takeoff": registry.method("takeoff.threshold.absolute_force").bind(threshold_n=20.0),
    }

    def measure(force: np.ndarray, rate_hz: float, test: str,
                drop_height_m: float | None) -> Mapping[str, float]:
        trial = pf.Trial(np.ascontiguousarray(_total(force), dtype=float), sample_rate_hz=float(rate_hz))
        try:
            jump = pf.analyse_countermovement_jump(trial, **methods)
        except pf.PlateforceError as error:
            raise Refused(str(error)) from None
        measured = {name: getattr(jump, attribute) for name, attribute in PLATEFORCE_METRICS.items()}
        values = _finite({name: None if m is None else m.value for name, m in measured.items()})
        if not values:
            raise Refused("; ".join(str(r) for r in jump.refusals) or "no metric")
        return values

    return Analyser("plateforce", importlib.metadata.version("plateforce"),
                    {"cmj": tuple(PLATEFORCE_METRICS)}, measure)


JUMPMETRICS_METRICS = {  # METRICS.md name → key of jumpmetrics' jump_metrics (sign: see below)
    "cmj": {"jump_height_m": "jump_height_takeoff_velocity", "takeoff_velocity_m_s": "takeoff_velocity",
            "peak_force_n": "peak_force", "mean_propulsive_force_n": "average_force_of_propulsive_phase",
            "propulsive_impulse_n_s": "propulsive_net_vertical_impulse",
            "countermovement_depth_m": "lowering_displacement", "time_to_takeoff_s": "movement_time"},
    "sj": {"jump_height_m": "jump_height_takeoff_velocity", "takeoff_velocity_m_s": "takeoff_velocity",
           "peak_force_n": "peak_force", "mean_propulsive_force_n": "average_force_of_propulsive_phase",
           "propulsive_impulse_n_s": "total_net_vertical_impulse", "time_to_takeoff_s": "movement_time"},
}
JUMPMETRICS_COMMON = ("body_weight_n", "takeoff_s", "landing_s", "flight_time_s", "jump_height_flight_m")


def jumpmetrics() -> Analyser:
    from jumpmetrics.core.io import (NOT_FOUND, find_frame_when_off_plate, find_landing_frame,
                                     get_n_seconds_before_takeoff)
    from jumpmetrics.core.processors import (ForceTimeCurveCMJTakeoffProcessor,
                                             ForceTimeCurveSQJTakeoffProcessor)
    from jumpmetrics.metrics.metrics import compute_jump_height_from_flight_time_events
    import pandas as pd

    processors = {"cmj": ForceTimeCurveCMJTakeoffProcessor, "sj": ForceTimeCurveSQJTakeoffProcessor}

    def measure(force: np.ndarray, rate_hz: float, test: str,
                drop_height_m: float | None) -> Mapping[str, float]:
        series = pd.Series(_total(force))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # pandas deprecation chatter from the peer
            logging.disable(logging.WARNING)  # and its own warnings, which the table's refusals say
            try:
                return _run(series, rate_hz, test)
            except (ValueError, IndexError, KeyError, TypeError) as error:
                raise Refused(f"{type(error).__name__}: {error}") from None
            finally:
                logging.disable(logging.NOTSET)

    def _run(series, rate_hz: float, test: str) -> dict[str, float]:
        takeoff = find_frame_when_off_plate(force_trace=series, sampling_frequency=rate_hz)
        if takeoff is None or takeoff == NOT_FOUND:
            raise Refused("no take-off (0.25 s under 10 N) found")
        cropped = get_n_seconds_before_takeoff(force_trace=series, sampling_frequency=rate_hz,
                                               takeoff_frame=takeoff, n=3)
        jump = processors[test](force_series=cropped, sampling_frequency=rate_hz)
        jump.get_jump_events()
        jump.compute_jump_metrics()
        values = {name: jump.jump_metrics.get(key) for name, key in JUMPMETRICS_METRICS[test].items()}
        if values.get("countermovement_depth_m") is not None:
            values["countermovement_depth_m"] = -values["countermovement_depth_m"]  # theirs is negative
        values["body_weight_n"] = jump.body_weight
        values["takeoff_s"] = takeoff / rate_hz
        landing = find_landing_frame(series[takeoff:].to_numpy(), sampling_frequency=rate_hz)
        if landing > 0:
            values["landing_s"] = (takeoff + landing) / rate_hz
            values["flight_time_s"] = landing / rate_hz
            values["jump_height_flight_m"] = compute_jump_height_from_flight_time_events(
                takeoff_frame=takeoff, landing_frame=takeoff + landing, sampling_frequency=rate_hz)
        return _finite(values)

    supports = {test: tuple(names) + JUMPMETRICS_COMMON for test, names in JUMPMETRICS_METRICS.items()}
    return Analyser("jumpmetrics", importlib.metadata.version("jumpmetrics"), supports, measure)
