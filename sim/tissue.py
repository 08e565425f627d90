"""Per-limb, per-tissue state of a cohort of athletes: capacity, damage, pain (docs/blocks.md).

State arrays are (athletes, limbs, tissues), limbs (left, right), tissues TISSUES. Loads are
in body weights (BW) of force carried by the tissue per loading cycle.

- Capacity C: the per-cycle load a tissue tolerates. A muscle's maximal voluntary
  contraction (MVC) is a fixed share of its capacity (``mvc_share``); exercises are prescribed
  as a fraction of the MVC of their prime mover (the calf for the Achilles tendon).
- Damage: Miner's sum with a steep S–N curve, each cycle adds (F/C_eff)^b / A, so load
  magnitude counts far more than cycle count (b = 10: +7 % load ≈ doubled cycles); repaired
  with rest, D ← D·e^(−1/τ_repair) each night. C_eff = C·(1 − 0.2·D): damage weakens.
- Adaptation: C moves toward a target with its own time constant (tendon 8 weeks, muscle 3),
  the target rising with the recent dose of loading above the tissue's strain threshold. A
  cycle's strain index is (F / MVC of the prime mover)·(1 − e^(−t/0.3 s)): brief loads (a
  running contact) strain a viscoelastic tendon less than held ones. The tendon adapts only to
  indices ≥ 0.85 (a held 90 % MVC: heavy isometric or slow heavy loading, Bohm 2015; a
  running step's index is about 0.7); muscle, knee and hip from 0.3.
- Pain during loading is 12·D·(F/C_eff) on a 0–10 scale; next-morning pain and stiffness
  10·D after the night's repair: both follow the damage/capacity ratio.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

TISSUES = ("achilles", "calf", "knee", "hip")
LIMBS = ("left", "right")
ACHILLES, CALF, KNEE, HIP = range(4)
STRAIN_TAU_S = 0.3  # viscoelastic rise of strain under a held load
DAMAGE_WEAKENS = 0.2  # capacity lost at damage 1
PAIN_GAIN = 12.0  # pain during loading per unit damage × relative load
MORNING_GAIN = 10.0  # next-morning pain and stiffness per unit damage
DOSE_HALF = 0.3  # daily adaptive dose that gives half the possible gain
DOSE_SATURATION_S = 120.0  # time under tension beyond which more volume adds little
DOSE_DAYS = 7  # adaptive dose is averaged over a week (EWMA)
INJURED = 1.0  # damage at which the tissue is injured: no running …
RECOVERED = 0.3  # … until every tissue is back below this


@dataclass(frozen=True)
class TissueParams:
    """One tissue's constants; the defaults are in ``DEFAULTS`` (sources in docs/blocks.md)."""

    capacity_bw: float  # nominal per-cycle load capacity of a trained runner
    mvc_share: float  # its prime mover's MVC as a share of the prime mover's capacity
    prime: int  # index of the tissue whose MVC sets exercise intensity
    adapt_days: float  # time constant of capacity change
    repair_days: float  # time constant of damage repair
    threshold: float  # strain index from which loading drives adaptation
    gain: float  # capacity gain at full adaptive dose, over the untrained level
    exponent: float  # S–N exponent b
    cycles_at_capacity: float  # A: cycles to full damage at F = C


DEFAULTS = (
    TissueParams(11.6, 0.55, CALF, 56.0, 3.0, 0.85, 0.30, 10.0, 600.0),   # Achilles tendon
    TissueParams(10.7, 0.55, CALF, 21.0, 2.0, 0.3, 0.35, 10.0, 480.0),   # calf muscle
    TissueParams(8.6, 0.60, KNEE, 35.0, 2.5, 0.3, 0.30, 10.0, 400.0),    # knee (patellar tendon, joint)
    TissueParams(7.6, 0.60, HIP, 28.0, 2.0, 0.3, 0.30, 10.0, 400.0),     # hip
)
CAPACITY_PACE_M_S = 2.8  # nominal capacities are for a runner whose easy pace is this


def column(name: str) -> np.ndarray:
    """One constant of every tissue, shape (tissues,)."""
    return np.array([getattr(p, name) for p in DEFAULTS], dtype=float)


PRIME = np.array([p.prime for p in DEFAULTS])


def running_bw(speed_m_s: np.ndarray) -> np.ndarray:
    """Per-step tissue loads (athletes, tissues) in BW at a running speed: Achilles and calf
    6 BW at 2.5 m/s to 10 BW at 5.5 m/s (DOMAIN.md), knee 4.5–7, hip 4–6."""
    v = np.clip(np.asarray(speed_m_s, dtype=float), 2.0, 6.0)[:, None] - 2.5
    return np.array([6.0, 6.0, 4.5, 4.0]) + v * np.array([4.0, 4.0, 2.5, 2.0]) / 3.0


@dataclass
class Exposure:
    """One kind of loading on one day: ``force_bw`` (athletes, limbs, tissues) per cycle,
    ``cycles`` (athletes,) per limb, each held ``hold_s``."""

    force_bw: np.ndarray
    cycles: np.ndarray
    hold_s: float


class Tissues:
    """The mutable state of a cohort; ``day`` applies one day's exposures and the night."""

    def __init__(self, capacity: np.ndarray, untrained: np.ndarray, damage: np.ndarray) -> None:
        self.capacity = np.array(capacity, dtype=float)
        self.untrained = np.array(untrained, dtype=float)
        self.damage = np.array(damage, dtype=float)
        self.dose = np.zeros_like(self.capacity)
        self.pain_during = np.zeros(self.capacity.shape[0])
        self.morning_pain = self.morning()
        self.injured = np.zeros(self.capacity.shape[0], dtype=bool)
        self.injuries = np.zeros(self.capacity.shape[0], dtype=int)
        self.injured_days = np.zeros(self.capacity.shape[0], dtype=int)

    def effective(self) -> np.ndarray:
        """Capacity as damage leaves it."""
        return self.capacity * (1.0 - DAMAGE_WEAKENS * np.minimum(self.damage, INJURED))

    def mvc_bw(self) -> np.ndarray:
        """Each tissue's prime mover's MVC force (athletes, limbs, tissues) in BW."""
        eff = self.effective()
        return eff[:, :, PRIME] * column("mvc_share")[None, None, :]

    def morning(self) -> np.ndarray:
        """Next-morning pain and stiffness (athletes,): the worst tissue of either limb."""
        return np.minimum(MORNING_GAIN * self.damage, 10.0).max(axis=(1, 2))

    def day(self, exposures: list[Exposure]) -> None:
        """Load, damage, pain and adaptive dose of one day, then the night's repair and adaptation."""
        eff = self.effective()
        exponent, cycles_a = column("exponent"), column("cycles_at_capacity")
        threshold = column("threshold")
        mvc = self.mvc_bw()
        pain = np.zeros(self.capacity.shape[0])
        dose = np.zeros_like(self.capacity)
        for ex in exposures:
            relative = ex.force_bw / eff
            n = ex.cycles[:, None, None]
            self.damage += n * relative**exponent / cycles_a
            loaded = ex.cycles > 0
            pain = np.maximum(pain, np.where(loaded, (PAIN_GAIN * self.damage * relative).max(axis=(1, 2)), 0.0))
            strain = ex.force_bw / mvc * (1.0 - np.exp(-ex.hold_s / STRAIN_TAU_S))
            volume = 1.0 - np.exp(-n * ex.hold_s / DOSE_SATURATION_S)
            dose += np.where(strain >= threshold, strain * volume, 0.0)
        self.pain_during = np.minimum(pain, 10.0)
        worst = self.damage.max(axis=(1, 2))
        self.injuries += ~self.injured & (worst >= INJURED)
        self.injured = np.where(self.injured, worst >= RECOVERED, worst >= INJURED)
        self.injured_days += self.injured
        # the night: repair, then capacity moves toward the target set by the week's dose
        self.damage *= np.exp(-1.0 / column("repair_days"))
        lam = 2.0 / (DOSE_DAYS + 1.0)
        self.dose += lam * (dose - self.dose)
        target = self.untrained * (1.0 + column("gain") * self.dose / (self.dose + DOSE_HALF))
        self.capacity += (target - self.capacity) / column("adapt_days")
        self.morning_pain = self.morning()
