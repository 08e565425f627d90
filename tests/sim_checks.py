"""Independent calculations on noise-free simulated traces (for tests/test_sim_*.py only).

Nothing here reads the truth: body weight is passed in, contacts are found from the samples,
and their ends are located by fitting a parabola to the three samples next to the zero run.
"""
from __future__ import annotations

import numpy as np
from scipy.constants import g as G  # standard gravity (METRICS.md)
from scipy.integrate import simpson


def contacts(force: np.ndarray) -> list[tuple[int, int]]:
    """[start, stop) sample runs of positive force."""
    loaded = np.concatenate(([0], (force > 0).view(np.int8), [0]))
    edges = np.flatnonzero(np.diff(loaded))
    return list(zip(edges[0::2], edges[1::2]))


def _edge(samples: np.ndarray, rate: float) -> tuple[float, float]:
    """For three samples at 0, −dt, −2dt running into an edge: the time τ ≥ 0 after the
    first of them at which the fitted parabola reaches 0, and its integral over [0, τ]."""
    f0, f1, f2 = samples
    dt = 1.0 / rate
    a = (f0 - 2 * f1 + f2) / (2 * dt * dt)  # f(t) = f0 + b t + a t², t after the edge sample
    b = (3 * f0 - 4 * f1 + f2) / (2 * dt)
    if abs(a) < 1e-12 and abs(b) < 1e-12:  # flat: no edge here
        return 0.0, 0.0
    roots = np.roots([a, b, f0]) if abs(a) > 1e-12 else np.array([-f0 / b])
    roots = roots[np.isreal(roots)].real
    tau = float(np.min(roots[roots >= 0])) if np.any(roots >= 0) else 0.0
    tau = min(tau, dt)
    return tau, f0 * tau + b * tau**2 / 2 + a * tau**3 / 3


def contact_edges(force: np.ndarray, rate: float, start: int, stop: int) -> tuple[float, float, float]:
    """Touchdown time, take-off time and ∫F dt of the contact made of samples [start, stop)."""
    head_tau, head_area = _edge(force[start:start + 3], rate)
    # a contact still loaded at the recording's end has no take-off edge to extrapolate
    tail_tau, tail_area = _edge(force[stop - 1:stop - 4:-1], rate) if stop < force.size else (0.0, 0.0)
    body = simpson(force[start:stop], dx=1.0 / rate)
    return start / rate - head_tau, (stop - 1) / rate + tail_tau, body + head_area + tail_area


def takeoff_velocity(force: np.ndarray, rate: float, body_weight: float, start: int, stop: int,
                     v_start: float = 0.0, from_rest: bool = True) -> tuple[float, float]:
    """Velocity at the end of the contact [start, stop) and the take-off time: impulse–momentum
    with the known body weight. ``from_rest``: the contact is quiet standing from ``start``
    (velocity ``v_start`` there); otherwise it begins at a touchdown with ``v_start``."""
    touchdown, takeoff, impulse = contact_edges(force, rate, start, stop)
    begin = start / rate if from_rest else touchdown
    if from_rest:
        impulse -= _edge(force[start:start + 3], rate)[1]
    v = v_start + impulse * G / body_weight - G * (takeoff - begin)
    return v, takeoff
