"""Isometric hold: stand still, push against a fixed bar as fast and hard as possible, hold,
relax, stand.

From onset, F = BW + Fnet·(1 − e^(−u/τ))·(1 − fatigue·u) + tremor, u = t − onset, with an
8–12 Hz physiological tremor (0.5–1.5 % of Fnet) that grows with the same (1 − e^(−u/τ)),
held 2–5 s; then a half-cosine relaxation (0.3–0.5 s) back to exactly body weight.
Variants set the net force and where the pressure goes:
    "mid_thigh_pull" (default)  Fnet = the athlete's iso_net_force_bw · BW; COP still.
    "calf_raise"                0.6 of it; the COP moves 7 cm forward onto the toes.
    "lunge"                     0.35 of it (lunge hold on the toes); COP 4 cm forward.

Options: variant, hold_s (2–5 s drawn), leg="left"|"right" (single leg: all force on that
limb's plate, net force × 1.2 × the limb's share, the bilateral deficit), duration_s,
sway=True (slow postural sway while standing before onset, as in sim.movements.cmj).
Truth (from the model's own curve, never the samples): onset_s, peak_force_n (maximum of the
continuous model, found to < 1 µs), net_peak_force_n, time_to_peak_s, rfd_0_50_n_s,
rfd_0_100_n_s, rfd_0_200_n_s = (F(onset+w) − F(onset))/w; two plates add
peak_force_asym_pct. Events: onset_s, peak_s, relax_s, rest_s.
"""
from __future__ import annotations

import numpy as np
from scipy.optimize import minimize_scalar

from sim.athlete import Athlete
from sim.movements import common
from sim.trial import SimulationError, Trial

OPTIONS = frozenset({"leg", "variant", "hold_s", "duration_s", "sway"})
VARIANTS = {"mid_thigh_pull": (1.0, 0.01), "calf_raise": (0.6, 0.07), "lunge": (0.35, 0.04)}
RFD_WINDOWS_S = (0.05, 0.1, 0.2)
BILATERAL_DEFICIT = 1.2  # one limb alone produces more than its share of a bilateral push


def simulate(athlete: Athlete, rate_hz: float, plates: int, rng: np.random.Generator, *,
             leg: str | None = None, variant: str = "mid_thigh_pull", hold_s: float | None = None,
             duration_s: float | None = None, sway: bool = False) -> Trial:
    common.check_setup(rate_hz, plates, leg)
    if variant not in VARIANTS:
        raise SimulationError(f"variant must be one of {', '.join(VARIANTS)}, got {variant!r}")
    scale, toes_m = VARIANTS[variant]
    hold = rng.uniform(2.0, 5.0) if hold_s is None else common.check_range("hold", hold_s, 0.5, 30.0, "s")
    bw = athlete.weight_n
    capacity = 1.0 if leg is None else BILATERAL_DEFICIT * common.limb_share(athlete, leg)
    net = athlete.iso_net_force_bw * scale * capacity * bw
    tau, freq = athlete.iso_tau_s, athlete.tremor_hz
    tremor = net * rng.uniform(0.005, 0.015)
    phase = rng.uniform(0.0, 2 * np.pi)
    fatigue = rng.uniform(0.01, 0.03)  # per second of hold
    onset = rng.uniform(1.3, 2.0)
    relax_time = rng.uniform(0.3, 0.5)

    def pushing(u: np.ndarray) -> np.ndarray:
        """Force during the hold, u seconds after onset."""
        rise = 1.0 - np.exp(-u / tau)
        return bw + rise * (net * (1.0 - fatigue * u) + tremor * np.sin(2 * np.pi * freq * u + phase))

    end_hold = float(pushing(np.array(hold)))
    relax, rest = onset + hold, onset + hold + relax_time
    duration = common.end_of_recording(rest, duration_s, rng)
    times = common.sample_times(duration, rate_hz)
    u = times - onset
    total = np.full(times.shape, bw)
    holding = (u >= 0) & (u < hold)
    total[holding] = pushing(u[holding])
    easing = (times >= relax) & (times < rest)
    total[easing] = bw + (end_hold - bw) * 0.5 * (1 + np.cos(np.pi * (times[easing] - relax) / relax_time))

    peak, peak_u = _model_peak(pushing, hold)
    takeoff_share, _ = common.shares(athlete, leg)
    forward = ([onset, onset + 3 * tau, relax, rest], [0.0, toes_m, toes_m, 0.0])
    cop = common.centre_of_pressure(times, plates, rng, forward)
    if sway:
        total = total + common.sway(times, 0.0, onset, rng)
    metrics = {"onset_s": onset, "peak_force_n": peak, "net_peak_force_n": peak - bw,
               "time_to_peak_s": peak_u}
    for w in RFD_WINDOWS_S:
        metrics[f"rfd_0_{round(w * 1000)}_n_s"] = float(pushing(np.array(w)) - bw) / w
    if plates == 2:
        metrics["peak_force_asym_pct"] = common.share_asym_pct(takeoff_share)
    events = {"onset_s": onset, "peak_s": onset + peak_u, "relax_s": relax, "rest_s": rest}
    return common.make_trial("iso", rate_hz, common.split(total, takeoff_share, plates), cop,
                             athlete, metrics, events)


def _model_peak(pushing, hold: float) -> tuple[float, float]:
    """Maximum of the continuous hold force and its time after onset: a 0.1 ms grid brackets
    it, a bounded scalar search polishes it."""
    u = np.linspace(0.0, hold, int(hold * 1e4) + 1)
    best = int(np.argmax(pushing(u)))
    lo, hi = u[max(best - 1, 0)], u[min(best + 1, u.size - 1)]
    found = minimize_scalar(lambda x: -float(pushing(np.array(x))), bounds=(lo, hi),
                            method="bounded", options={"xatol": 1e-9})
    if -found.fun >= pushing(u[best]):
        return float(-found.fun), float(found.x)
    return float(pushing(u[best])), float(u[best])
