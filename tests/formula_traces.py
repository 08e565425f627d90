"""Small hops / iso / run traces built straight from the DOMAIN.md formulas, with their truth.

Independent of the simulator on purpose: exact, closed-form cases that pin the analysis down.
Event times fall between samples (``phase``) so that sub-sample timing is exercised.
"""
from __future__ import annotations

import numpy as np
from scipy.constants import g as G  # standard gravity (METRICS.md)


def _noise(n: int, sd: float, rng: np.random.Generator | None) -> np.ndarray:
    return rng.normal(0.0, sd, n) if rng is not None and sd > 0 else np.zeros(n)


def hops(mass=70.0, rate=1000.0, contact=0.18, flight=0.30, count=8, noise_sd=0.0, rng=None,
         phase=0.37, stand=1.5):
    """Standing, a take-off into the first flight, ``count`` sine rebound contacts, landing, standing.

    Each rebound contact is F = Fmax·sin(πt/tc), Fmax = mg(π/2)(tf/tc + 1): it returns exactly
    the momentum of the flights on both sides. Truth per hop from the spring-mass formulas.
    """
    weight = mass * G
    peak = weight * np.pi / 2 * (flight / contact + 1)
    lowering = peak * contact**2 / (mass * np.pi**2) - G * contact**2 / 8
    t0 = stand + phase / rate  # the first take-off begins off the sample grid
    top = t0 + 0.15
    takeoff = top + contact / 2
    touchdowns = takeoff + flight + np.arange(count + 1) * (contact + flight)
    end = touchdowns[-1] + 2.0
    t = np.arange(int(end * rate)) / rate
    force = np.full(t.size, weight)
    rise = (t >= t0) & (t < top)  # a push to the peak, then the second half of a rebound contact
    force[rise] = weight + (peak - weight) * 0.5 * (1 - np.cos(np.pi * (t[rise] - t0) / 0.15))
    push = (t >= top) & (t < takeoff)
    force[push] = peak * np.cos(np.pi * (t[push] - top) / contact)
    force[(t >= takeoff) & (t < touchdowns[0])] = 0.0
    for start in touchdowns[:-1]:
        inside = (t >= start) & (t < start + contact + flight)
        local = t[inside] - start
        force[inside] = np.where(local < contact, peak * np.sin(np.pi * local / contact), 0.0)
    last = touchdowns[-1]
    landing = t >= last  # rises like a rebound, then settles on body weight
    local = t[landing] - last
    rise = peak * np.sin(np.pi * np.minimum(local, contact / 2) / contact)
    force[landing] = weight + (rise - weight) * np.exp(-np.maximum(local - contact / 2, 0) / 0.08)
    force = force + _noise(t.size, noise_sd, rng)
    rep = {"contact_time_s": contact, "flight_time_s": flight,
           "jump_height_flight_m": G * flight**2 / 8,
           "rsi": G * flight**2 / 8 / contact, "peak_force_n": peak,
           "vertical_stiffness_kn_m": peak / lowering / 1000}
    truth = {"hop_count": count, **rep, "body_weight_n": weight}
    events = {"touchdowns": touchdowns, "first_takeoff_s": takeoff}
    return force, rate, truth, events


def iso(mass=75.0, rate=1000.0, net=1200.0, tau=0.1, hold=3.0, noise_sd=0.0, rng=None,
        phase=0.61, tremor=0.01):
    """Standing, then F = BW + Fnet(1 − e^(−t/τ)) with 10 Hz tremor growing with it, release, standing."""
    weight = mass * G
    onset = 1.5 + phase / rate
    release = onset + hold
    t = np.arange(int((release + 1.5) * rate)) / rate

    def model(time):
        local = np.clip(time - onset, 0, None)
        rise = 1 - np.exp(-local / tau)
        pull = net * rise * (1 + tremor * np.sin(2 * np.pi * 10 * local))
        return weight + np.where(time < release, pull,
                                 net * np.exp(-(time - release) / 0.1) * (time >= release))

    force = model(t) + _noise(t.size, noise_sd, rng)
    dense = model(np.linspace(onset, release, 200_001))
    truth = {"onset_s": onset, "peak_force_n": dense.max(), "net_peak_force_n": dense.max() - weight,
             "body_weight_n": weight}
    for w in (50, 100, 200):
        truth[f"rfd_0_{w}_n_s"] = float((model(onset + w / 1000) - weight) / (w / 1000))
    return force, rate, truth


def run_steps(mass=65.0, rate=1000.0, contact=0.24, flight=0.10, count=12, impact=1.7,
              impact_time=0.03, noise_sd=0.0, rng=None, phase=0.23, plates=1):
    """Running: each step an impact bell (raised cosine peaking at ``impact_time``) plus an
    active half-sine, scaled so the step impulse is mg(tc + ta): mean force over strides = mg.
    The recording starts and ends mid-contact. Truth evaluated on the model at 1 µs."""
    weight = mass * G
    period = contact + flight
    impact_peak = impact * weight
    impact_impulse = impact_peak * impact_time  # raised cosine over 2·impact_time
    active = (weight * period - impact_impulse) * np.pi / (2 * contact)

    def step(local):
        inside = (local >= 0) & (local < contact)
        bell = np.where(local < 2 * impact_time,
                        impact_peak * 0.5 * (1 - np.cos(np.pi * local / impact_time)), 0.0)
        return np.where(inside, bell + active * np.sin(np.pi * local / contact), 0.0)

    first = 0.5 * contact + phase / rate  # mid-contact at t = 0
    touchdowns = -first + np.arange(count + 2) * period
    end = touchdowns[-1] + 0.5 * contact
    t = np.arange(int(end * rate)) / rate
    per_foot = np.zeros((t.size, 2))
    for i, td in enumerate(touchdowns):
        per_foot[:, i % 2] += step(t - td)
    per_foot += np.stack([_noise(t.size, noise_sd, rng) for _ in range(2)], axis=1)
    force = per_foot if plates == 2 else per_foot.sum(axis=1)
    fine = np.arange(0, contact, 1e-6)
    shape = step(fine)
    active_peak = shape[fine > 2 * impact_time].max()
    dip = np.flatnonzero(np.diff(np.sign(np.diff(shape))) != 0)
    impact_index = dip[0] + 1 if dip.size > 1 else None
    truth = {"step_count": count, "cadence_spm": 60 / period, "contact_time_s": contact,
             "flight_time_s": flight, "peak_force_n": active_peak, "peak_force_bw": active_peak / weight,
             "vertical_impulse_n_s": weight * period, "body_weight_n": weight}
    if impact_index is not None:
        peak = shape[impact_index]
        t20 = fine[np.argmax(shape >= 0.2 * peak)]
        t80 = fine[np.argmax(shape >= 0.8 * peak)]
        truth["impact_peak_n"] = peak
        truth["loading_rate_bw_s"] = 0.6 * peak / (t80 - t20) / weight
    return force, rate, truth, {"touchdowns": touchdowns[1:-1]}
