"""Centre-of-mass paths made of septic (7th-order) segments, and the vertical force they imply.

A segment fixes position, velocity, acceleration and jerk at both ends, so joining segments keeps
the force and its slope continuous (no corners where segments meet); a flight is the segment
with acceleration −g (force exactly 0). Everything is batch-first: ``breaks`` (B, K+1) and
``coeffs`` (B, K, 8) describe B independent paths of K segments, each polynomial in time since
its segment's start (ascending powers).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sim.trial import G

State = tuple  # (position m, velocity m/s, acceleration m/s²[, jerk m/s³, default 0])
ORDER = 8  # coefficients per segment

# rows: value, 1st, 2nd, 3rd derivative at u = 1 of u⁴…u⁷ (the free part of a septic on [0, 1])
_TAIL = np.linalg.inv(np.array([[1.0, 1, 1, 1], [4, 5, 6, 7], [12, 20, 30, 42], [24, 60, 120, 210]]))


def septic(duration: np.ndarray | float, start: State, end: State) -> np.ndarray:
    """Coefficients (..., 8) of the septic joining ``start`` to ``end`` over ``duration``."""
    T = np.asarray(duration, dtype=float)
    p0, v0, a0, j0 = (np.asarray(x, dtype=float) for x in (*start, 0.0)[:4])
    p1, v1, a1, j1 = (np.asarray(x, dtype=float) for x in (*end, 0.0)[:4])
    # in scaled time u = t/T the first four coefficients are the start state; solve for the rest
    b = [p0, v0 * T, a0 * T**2 / 2, j0 * T**3 / 6]
    gap = np.stack(np.broadcast_arrays(
        p1 - (b[0] + b[1] + b[2] + b[3]), v1 * T - (b[1] + 2 * b[2] + 3 * b[3]),
        a1 * T**2 - (2 * b[2] + 6 * b[3]), j1 * T**3 - 6 * b[3]), axis=-1)
    tail = gap @ _TAIL.T
    scaled = np.concatenate([np.stack(np.broadcast_arrays(*b), axis=-1),
                             np.broadcast_to(tail, gap.shape)], axis=-1)
    return scaled / T[..., None] ** np.arange(ORDER)


def ballistic(start: State) -> np.ndarray:
    """Coefficients of free flight (acceleration exactly −g) from ``start`` (its a is ignored)."""
    p0, v0 = (np.asarray(x, dtype=float) for x in start[:2])
    zero = np.zeros(np.broadcast(p0, v0).shape)
    return np.stack(np.broadcast_arrays(p0, v0, zero - G / 2, *[zero] * (ORDER - 3)), axis=-1)


def still(position: np.ndarray | float) -> np.ndarray:
    """Coefficients of standing still at ``position``."""
    p = np.asarray(position, dtype=float)
    zero = np.zeros(p.shape)
    return np.stack([p] + [zero] * (ORDER - 1), axis=-1)


def derivative(coeffs: np.ndarray) -> np.ndarray:
    """Coefficients of the time derivative (same length, last one zero)."""
    n = coeffs.shape[-1]
    out = np.zeros_like(coeffs)
    out[..., :-1] = coeffs[..., 1:] * np.arange(1, n)
    return out


def polyval(coeffs: np.ndarray, t: np.ndarray) -> np.ndarray:
    """Evaluate ascending-power polynomials (..., m) at local times broadcast against (...)."""
    result = np.zeros(np.broadcast(coeffs[..., 0], t).shape)
    for k in range(coeffs.shape[-1] - 1, -1, -1):
        result = result * t + coeffs[..., k]
    return result


def polymul(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Product of ascending-power polynomials, batched over leading axes."""
    out = np.zeros(np.broadcast_shapes(a.shape[:-1], b.shape[:-1]) + (a.shape[-1] + b.shape[-1] - 1,))
    for i in range(a.shape[-1]):
        out[..., i:i + b.shape[-1]] += a[..., i:i + 1] * b
    return out


def poly_max(coeffs: np.ndarray, duration: np.ndarray, grid: int = 64) -> tuple[np.ndarray, np.ndarray]:
    """Maximum over [0, duration] of each polynomial and where it occurs (batched).

    A grid brackets the maximum, Newton steps on the derivative polish it to machine precision.
    """
    T = np.broadcast_to(np.asarray(duration, dtype=float), coeffs.shape[:-1])[..., None]
    u = np.linspace(0.0, 1.0, grid + 1)
    ts = T * u
    values = polyval(coeffs[..., None, :], ts)
    best = np.argmax(values, axis=-1)
    t = np.take_along_axis(ts, best[..., None], axis=-1)[..., 0]
    d1, d2 = derivative(coeffs), derivative(derivative(coeffs))
    lo = np.take_along_axis(ts, np.maximum(best - 1, 0)[..., None], axis=-1)[..., 0]
    hi = np.take_along_axis(ts, np.minimum(best + 1, grid)[..., None], axis=-1)[..., 0]
    for _ in range(8):
        curvature = polyval(d2, t)
        step = np.divide(polyval(d1, t), curvature, out=np.zeros_like(t), where=curvature < 0)
        t = np.clip(t - step, lo, hi)
    refined = polyval(coeffs, t)
    grid_best = np.take_along_axis(values, best[..., None], axis=-1)[..., 0]
    keep = refined >= grid_best  # Newton can only help; fall back to the grid point otherwise
    t_grid = np.take_along_axis(ts, best[..., None], axis=-1)[..., 0]
    return np.where(keep, refined, grid_best), np.where(keep, t, t_grid)


@dataclass(frozen=True)
class Path:
    """B centre-of-mass paths; segment k of path b spans breaks[b, k] .. breaks[b, k+1].

    Times before the first break or after the last one use the first or last segment.
    """

    breaks: np.ndarray  # (B, K+1) seconds from the first sample
    coeffs: np.ndarray  # (B, K, 8) position coefficients in time since the segment's start

    @staticmethod
    def join(starts: list, coeffs: list) -> "Path":
        """Build from K segment start times (scalars or (B,) arrays) and K coefficient arrays
        ((8,) or (B, 8)); the last segment runs on for ever."""
        starts = [np.atleast_1d(np.asarray(s, dtype=float)) for s in starts]
        coeffs = [np.atleast_2d(np.asarray(c, dtype=float)) for c in coeffs]
        B = max(x.shape[0] for x in starts + coeffs)
        breaks = np.stack([np.broadcast_to(s, (B,)) for s in starts] + [np.full(B, np.inf)], axis=1)
        return Path(breaks, np.stack([np.broadcast_to(c, (B, ORDER)) for c in coeffs], axis=1))

    def _locate(self, t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Flat segment index (B, n) into (B·K) and local time (B, n) for sorted times ``t``."""
        B, K = self.coeffs.shape[:2]
        first = np.searchsorted(t, self.breaks[:, 1:K], side="left")  # first sample of each segment
        marks = np.zeros((B, t.size + 1), dtype=np.intp)
        np.add.at(marks, (np.repeat(np.arange(B), K - 1), first.ravel()), 1)
        marks[:, 0] = np.arange(B) * K  # running sums start at each path's first segment
        flat = np.cumsum(marks[:, :-1], axis=1)
        starts = self.breaks[:, :K].ravel()
        return flat, t - np.take(starts, flat)

    def _evaluate(self, t: np.ndarray, order: int) -> np.ndarray:
        flat, local = self._locate(np.asarray(t, dtype=float))
        coeffs = self.coeffs
        for _ in range(order):
            coeffs = derivative(coeffs)
        coeffs = coeffs.reshape(-1, ORDER)
        result = np.take(coeffs[:, ORDER - 1 - order], flat)
        for k in range(ORDER - 2 - order, -1, -1):
            result *= local
            result += np.take(coeffs[:, k], flat)
        return result

    def position(self, t: np.ndarray) -> np.ndarray:
        return self._evaluate(t, 0)

    def velocity(self, t: np.ndarray) -> np.ndarray:
        return self._evaluate(t, 1)

    def acceleration(self, t: np.ndarray) -> np.ndarray:
        return self._evaluate(t, 2)

    def force(self, t: np.ndarray, mass_kg: np.ndarray | float) -> np.ndarray:
        """Vertical ground reaction force F = m(g + a), shape (B, n); rounding below 0 clipped."""
        m = np.asarray(mass_kg, dtype=float).reshape(-1, 1)
        return np.maximum(m * (G + self.acceleration(t)), 0.0)


def _jerk_inner(x: np.ndarray, y: np.ndarray, duration: np.ndarray) -> np.ndarray:
    """∫₀ᵀ x‴(t)·y‴(t) dt (the product of their jerks) for batches of position polynomials."""
    k = np.arange(3, ORDER)
    w = k * (k - 1) * (k - 2)  # t^k → jerk coefficient of t^(k−3)
    power = k[:, None] + k[None, :] - 5
    T = np.asarray(duration, dtype=float)[..., None, None]
    gram = w[:, None] * w[None, :] * T**power / power
    return np.einsum("...i,...ij,...j->...", x[..., 3:], gram, y[..., 3:])


def smooth_knot(first: np.ndarray | float, start: State, knot: tuple, second: np.ndarray | float,
                end: State) -> tuple[np.ndarray, np.ndarray]:
    """Two septics, ``start`` → knot → ``end``, over durations ``first`` and ``second``: the
    knot's position and velocity are given, its acceleration and jerk are the ones that
    minimise the jerk energy ∫ (da/dt)² dt of the whole path (the smoothest force through it)."""
    p, v = knot

    def pair(a, j, base: bool):
        ends = (start, end) if base else (tuple(0.0 for _ in start), tuple(0.0 for _ in end))
        mid = (p, v, a, j) if base else (0.0, 0.0, a, j)
        return septic(first, ends[0], mid), septic(second, mid, ends[1])

    base = pair(0.0, 0.0, True)
    units = (pair(1.0, 0.0, False), pair(0.0, 1.0, False))  # the path is affine in (a, j)

    def inner(x, y):
        return _jerk_inner(x[0], y[0], first) + _jerk_inner(x[1], y[1], second)

    h00, h01, h11 = inner(units[0], units[0]), inner(units[0], units[1]), inner(units[1], units[1])
    g0, g1 = inner(units[0], base), inner(units[1], base)
    det = h00 * h11 - h01 * h01
    a = (-g0 * h11 + g1 * h01) / det
    j = (-g1 * h00 + g0 * h01) / det
    return pair(a, j, True)
