"""Trapezoid integration of sampled signals, with values at fractional sample indices."""
from __future__ import annotations

import numpy as np


def cumtrapz(y: np.ndarray, dt: float) -> np.ndarray:
    """Running trapezoid integral of ``y`` with the same length (starts at 0)."""
    out = np.empty_like(y)
    out[0] = 0.0
    np.cumsum((y[1:] + y[:-1]) * (0.5 * dt), out=out[1:])
    return out


def integral_at(cum: np.ndarray, y: np.ndarray, at: float, dt: float) -> float:
    """The running integral ``cum`` of ``y`` at fractional index ``at`` (``y`` linear between
    samples): O(1) however long the recording."""
    k = min(int(np.floor(at)), y.shape[0] - 2)
    f = at - k
    return float(cum[k] + dt * f * (y[k] + 0.5 * f * (y[k + 1] - y[k])))
