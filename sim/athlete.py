"""Who moves: body mass, per-limb capacity (asymmetry), jump, running and isometric profile.

``Athlete.draw(rng)`` draws a plausible runner from the ranges in ../shared/DOMAIN.md; keyword
overrides pin any field. The constructor validates, so an impossible athlete never reaches a
movement.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from sim.movements.jump import descent_time, propulsion_time
from sim.trial import G, SimulationError

MAX_JUMP_HEIGHT_M = 0.80  # above this the propulsion the model needs exceeds human force
MASS_RANGE_KG = (20.0, 300.0)


def left_share_from_asym(asym_pct: float) -> float:
    """Left limb's share of force for an asymmetry 100·(L − R)/max(L, R)."""
    a = asym_pct / 100.0
    return 1.0 / (2.0 - a) if a >= 0 else (1.0 + a) / (2.0 + a)


@dataclass(frozen=True)
class Athlete:
    """One runner's body and capacities; the defaults are an average, symmetric 75 kg runner."""

    mass_kg: float = 75.0
    left_share: float = 0.5  # left limb's share of bilateral force on take-off and in holds
    landing_left_share: float = 0.5  # the same on landing (often more asymmetric)
    # countermovement jump
    cmj_height_m: float = 0.35  # v²/2g from take-off velocity
    cmj_depth_m: float = 0.30  # lowest centre-of-mass point below standing
    cmj_time_to_takeoff_s: float = 0.85
    propulsion_pace: float = 0.60  # mean propulsive velocity / take-off velocity
    takeoff_rise_m: float = 0.14  # centre of mass at take-off above standing (ankles, arms up)
    takeoff_slope_bw_s: float = 30.0  # how fast the force is still falling at take-off
    landing_peak_time_s: float = 0.05  # touchdown to the landing peak
    landing_peak_bw: float = 4.2  # landing peak force (lower when the touchdown is slow)
    landing_bottom_bw: float = 1.4  # force at the lowest point after landing
    recovery_time_s: float = 0.6  # lowest point after landing back to still standing
    # squat jump and drop jump
    sj_height_ratio: float = 0.9  # squat-jump height / CMJ height
    dj_contact_time_s: float = 0.22
    dj_height_ratio: float = 0.9  # drop-jump rebound height / CMJ height
    # hops (pogo)
    hop_contact_time_s: float = 0.18
    hop_flight_time_s: float = 0.38
    # running
    run_speed_m_s: float = 3.3
    contact_length_m: float = 0.85  # distance travelled during a contact (contact time · speed)
    cadence_spm: float = 172.0  # at 3.3 m/s
    foot_strike_speed_m_s: float = 4.3  # lower-leg vertical speed stopped by the impact bell
    impact_time_s: float = 0.027  # time of the impact bell's peak
    # isometric
    iso_net_force_bw: float = 2.2  # mid-thigh pull net peak in body weights
    iso_tau_s: float = 0.10
    tremor_hz: float = 10.0

    def __post_init__(self) -> None:
        if not np.isfinite(self.mass_kg) or self.mass_kg <= 0:
            raise SimulationError(f"body mass must be a positive number of kg, got {self.mass_kg}")
        if not MASS_RANGE_KG[0] <= self.mass_kg <= MASS_RANGE_KG[1]:
            raise SimulationError(f"body mass {self.mass_kg:g} kg is outside the human range "
                                  f"{MASS_RANGE_KG[0]:g}–{MASS_RANGE_KG[1]:g} kg")
        if not 0.0 < self.cmj_height_m <= MAX_JUMP_HEIGHT_M:
            raise SimulationError(f"jump height {self.cmj_height_m:g} m is impossible: the model "
                                  f"produces jumps of 0–{MAX_JUMP_HEIGHT_M:g} m")
        if not 0.05 <= self.cmj_depth_m <= 0.6:
            raise SimulationError(f"countermovement depth {self.cmj_depth_m:g} m is outside 0.05–0.6 m")
        for name in ("left_share", "landing_left_share"):
            if not 0.0 < getattr(self, name) < 1.0:
                raise SimulationError(f"{name} must lie strictly between 0 and 1")
        for field in dataclasses.fields(self):
            value = getattr(self, field.name)
            if not np.isfinite(value) or value <= 0:
                raise SimulationError(f"athlete {field.name} must be a positive number, got {value}")

    @property
    def weight_n(self) -> float:
        return self.mass_kg * G

    @classmethod
    def draw(cls, rng: np.random.Generator, **overrides: float) -> "Athlete":
        """A plausible runner; every field is drawn (same draws whatever is overridden)."""
        unknown = set(overrides) - {f.name for f in dataclasses.fields(cls)}
        if unknown:
            raise SimulationError(f"unknown athlete field(s): {', '.join(sorted(unknown))}")
        u = rng.uniform(size=24)  # one spare draw (u[23]): kept so every seed keeps its athlete

        def span(i: int, lo: float, hi: float) -> float:
            return lo + (hi - lo) * u[i]

        asym = float(np.clip(rng.normal(0.0, 8.0), -25.0, 25.0))
        landing_asym = float(np.clip(asym + rng.normal(0.0, 4.0), -30.0, 30.0))
        mass = float(np.clip(rng.normal(72.0, 13.0), 45.0, 120.0))
        drawn = dict(
            mass_kg=mass,
            left_share=left_share_from_asym(asym),
            landing_left_share=left_share_from_asym(landing_asym),
            cmj_height_m=0.25 + 0.25 * u[0] ** 1.8,  # half of the runners jump 0.27–0.40 m
            cmj_depth_m=0.25 + 0.10 * (u[1] + u[0] ** 1.8) / 2,  # higher jumpers dip deeper
            propulsion_pace=span(4, 0.57, 0.63),
            takeoff_rise_m=span(5, 0.12, 0.17),
            takeoff_slope_bw_s=span(3, 20.0, 40.0),
            landing_peak_time_s=span(6, 0.035, 0.065),
            landing_peak_bw=span(7, 3.2, 5.5),
            landing_bottom_bw=span(12, 1.2, 1.6),
            recovery_time_s=span(8, 0.45, 0.75),
            sj_height_ratio=span(9, 0.85, 0.95),
            dj_height_ratio=span(11, 0.8, 1.0),
            hop_contact_time_s=span(13, 0.15, 0.22),
            hop_flight_time_s=span(14, 0.32, 0.45),
            run_speed_m_s=span(15, 2.8, 4.2),
            cadence_spm=span(17, 162.0, 182.0),
            foot_strike_speed_m_s=span(18, 3.6, 5.0),
            impact_time_s=span(19, 0.022, 0.032),
            iso_net_force_bw=span(20, 1.6, 2.8),
            iso_tau_s=span(21, 0.05, 0.15),
            tremor_hz=span(22, 8.0, 12.0),
        )
        # time to take-off follows from a drawn descent pace, so every draw is feasible
        drawn["cmj_time_to_takeoff_s"] = float(
            propulsion_time(drawn["cmj_height_m"], drawn["cmj_depth_m"], drawn["takeoff_rise_m"],
                            drawn["propulsion_pace"])
            + descent_time(drawn["cmj_depth_m"], span(2, 2.8, 3.9)))
        # drop-jump contact from a reactive strength index (RSI) of 1.1–1.8, kept human
        dj_height = drawn["cmj_height_m"] * drawn["dj_height_ratio"]
        drawn["dj_contact_time_s"] = float(np.clip(dj_height / span(10, 1.1, 1.8), 0.17, 0.28))
        # contact length from a contact time that leaves a human flight (≥ 60 ms) at own speed
        step_s = 60.0 / drawn["cadence_spm"]
        drawn["contact_length_m"] = drawn["run_speed_m_s"] * span(16, 0.21, min(0.29, step_s - 0.06))
        drawn.update({k: float(v) for k, v in overrides.items()})
        return cls(**drawn)
