"""Least-squares fit of each cell's errors from the calibration steps (Hall 1996; Collins 2009).

Each cell's reading (plate's own scale and offset, N) over the steps is modelled as

    r = offset + drift·t + Σ_plates (A0·F + A1·F·x + A2·F·y) [+ b·L²]

F, x, y: the load on each plate and where (a plate not loaded contributes 0), t minutes on the
rig's clock, L the cell's nominal share of the load. The non-linear term b·L² is kept only where
the data call for it (its t statistic beyond ``NONLINEAR_T``). Static vertical loads determine a
cell's response to (F, F·x, F·y) and no more: a rigid plate's fourth load pattern ("twist",
f1 − f2 + f3 − f4) never occurs. The cell's gain g and crosstalk C are therefore reported in the
model of hil.emulator.miscalibration with C_ij = C_i for the other cells j of its plate, where

    4·A0 = g (1 + 3C),   4a·A1/sx = 4b·A2/sy = g (1 − C)

(the two moment coefficients must agree: ``model_check`` is their difference in standard
errors). The correction uses the full fitted matrix, so it holds whatever the crosstalk's form.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sim.plate import CELL_SIGNS

from ..protocol import CELLS
from .plan import Geometry, Step
from .rig import Reading

NONLINEAR_T = 5.0  # |b / u(b)| beyond this: the cell is non-linear (false alarm ≈ 6e-7 per cell)
DRIFT_T = 5.0


@dataclass(frozen=True)
class CellFit:
    cell: int  # wire order
    gain_error: float
    gain_u: float  # standard uncertainty (k = 1), reference certificate included
    offset_n: float
    offset_u: float
    crosstalk: float
    crosstalk_u: float
    drift_n_min: float
    drift_u: float
    quadratic: float | None  # b, N/N² (None: the data do not call for one)
    quadratic_u: float | None
    nonlinearity_n: float  # largest departure of b·L² from its chord over the loads used
    residual_sd_n: float
    model_check: float  # moment coefficients' disagreement in standard errors

    def to_dict(self) -> dict:
        return {"cell": self.cell, "plate": self.cell // CELLS, "plate_cell": self.cell % CELLS,
                "gain_error": self.gain_error, "gain_error_u": self.gain_u,
                "gain_error_U95": 2 * self.gain_u, "offset_n": self.offset_n,
                "offset_n_u": self.offset_u, "crosstalk": self.crosstalk,
                "crosstalk_u": self.crosstalk_u, "drift_n_min": self.drift_n_min,
                "drift_n_min_u": self.drift_u, "nonlinear_term": self.quadratic,
                "nonlinear_term_u": self.quadratic_u, "nonlinearity_n": self.nonlinearity_n,
                "residual_sd_n": self.residual_sd_n, "model_check_sigma": self.model_check}


@dataclass(frozen=True, eq=False)
class Fit:
    cells: tuple[CellFit, ...]
    sensitivity: np.ndarray  # (N, 3·plates): each cell's A0, A1, A2 for each plate
    correction_matrix: np.ndarray  # (N, N): nominal cell shares from offset-free linear readings
    correction_quadratic: np.ndarray  # (N,) 1/N
    steps: int

    @property
    def offsets(self) -> np.ndarray:
        return np.array([c.offset_n for c in self.cells])

    def crosstalk_matrix(self) -> np.ndarray:
        """(N, N): 1 on the diagonal, each cell's C to the other cells of its plate."""
        n = len(self.cells)
        same = np.kron(np.eye(n // CELLS), np.ones((CELLS, CELLS)) - np.eye(CELLS))
        return np.eye(n) + same * np.array([c.crosstalk for c in self.cells])[:, None]

    def correct(self, cells: np.ndarray) -> np.ndarray:
        """Raw cell readings (..., N) → corrected (what the plate gives with the correction)."""
        linear = cells - self.offsets
        linear = linear + self.correction_quadratic * linear * linear
        return linear @ self.correction_matrix.T


def load_columns(steps: list[Step], plates: int) -> np.ndarray:
    """(S, 3·plates): F, F·x, F·y (m) of each plate at each step (reference force used for F)."""
    out = np.zeros((len(steps), 3 * plates))
    for row, step in enumerate(steps):
        out[row, 3 * step.plate:3 * step.plate + 3] = [1.0, step.x_mm / 1000, step.y_mm / 1000]
    return out


def shares(geometry: Geometry) -> np.ndarray:
    """(4, 3): a cell's nominal share of (F, F·x, F·y) on a rigid plate (Kistler layout)."""
    return 0.25 * np.column_stack([np.ones(CELLS), CELL_SIGNS / np.asarray(geometry.cell_half_m)])


def fit(steps: tuple[Step, ...], readings: list[Reading], geometry: Geometry, plates: int,
        reference_u_rel: float) -> Fit:
    used = [steps[r.step] for r in readings]
    force = np.array([r.reference_n for r in readings])
    minutes = np.array([r.minutes for r in readings])
    r = np.array([r.cells_n for r in readings])  # (S, N)
    loads = load_columns(used, plates) * force[:, None]  # (S, 3·plates)
    split = shares(geometry)
    nominal = np.zeros_like(r)  # each cell's nominal share of the load
    for p in range(plates):
        nominal[:, p * CELLS:(p + 1) * CELLS] = loads[:, 3 * p:3 * p + 3] @ split.T
    base = np.column_stack([np.ones(len(used)), minutes, loads])
    cells, sensitivity, quadratic = [], np.zeros((r.shape[1], 3 * plates)), np.zeros(r.shape[1])
    a, b = geometry.cell_half_m
    for i in range(r.shape[1]):
        plate, within = divmod(i, CELLS)
        coef, cov, sd = _ols(base, r[:, i])
        b2 = b2_u = None
        extended = np.column_stack([base, nominal[:, i] ** 2])
        if np.ptp(nominal[:, i]) > 0:
            coef2, cov2, sd2 = _ols(extended, r[:, i])
            if abs(coef2[-1]) > NONLINEAR_T * np.sqrt(cov2[-1, -1]):
                coef, cov, sd = coef2, cov2, sd2
                b2, b2_u = float(coef2[-1]), float(np.sqrt(cov2[-1, -1]))
        sensitivity[i] = coef[2:2 + 3 * plates]
        own = slice(2 + 3 * plate, 5 + 3 * plate)
        g, gu, c, cu, check = _gain_crosstalk(coef[own], cov[own, own], CELL_SIGNS[within], a, b)
        gu = float(np.hypot(gu, g * reference_u_rel))
        span = nominal[:, i]
        nonlinearity = 0.0 if b2 is None else abs(b2) * (np.ptp(span) ** 2) / 4  # chord vs parabola
        if b2 is not None:
            quadratic[i] = -b2 / g ** 2 if g > 0 else 0.0
        cells.append(CellFit(i, g, gu, float(coef[0]), float(np.sqrt(cov[0, 0])), c, cu,
                             float(coef[1]), float(np.sqrt(cov[1, 1])), b2, b2_u,
                             float(nonlinearity), sd, check))
    nominal_map = np.kron(np.eye(plates), split)  # (N, 3·plates)
    correction = nominal_map @ np.linalg.pinv(sensitivity)
    return Fit(tuple(cells), sensitivity, correction, quadratic, len(readings))


def _ols(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
    """Coefficients, their covariance and the residual SD (ordinary least squares)."""
    coef, *_ = np.linalg.lstsq(x, y, rcond=None)
    residual = y - x @ coef
    dof = max(x.shape[0] - x.shape[1], 1)
    variance = float(residual @ residual) / dof
    cov = variance * np.linalg.pinv(x.T @ x)
    return coef, cov, float(np.sqrt(variance))


def _gain_crosstalk(coef: np.ndarray, cov: np.ndarray, signs: np.ndarray, a: float, b: float
                    ) -> tuple[float, float, float, float, float]:
    """g, u(g), C, u(C) and the model check from a cell's (A0, A1, A2) and their covariance."""
    # k0 = 4 A0, kx = 4a A1 / sx, ky = 4b A2 / sy: linear in the coefficients
    jac = np.diag([4.0, 4 * a / signs[0], 4 * b / signs[1]])
    k = jac @ coef
    kcov = jac @ cov @ jac.T
    # kx and ky measure the same g(1 − C): their inverse-variance mean
    d = np.array([0.0, 1.0, -1.0])
    check_sd = np.sqrt(d @ kcov @ d)
    check = float((k[1] - k[2]) / check_sd) if check_sd > 0 else 0.0
    w = np.linalg.pinv(kcov[1:, 1:]) @ np.ones(2)
    w = np.concatenate([[0.0], w / w.sum() if w.sum() > 0 else [0.5, 0.5]])  # a dead cell: no noise
    k0, k1 = k[0], w @ k
    g = (k0 + 3 * k1) / 4
    c = (k0 - k1) / (k0 + 3 * k1) if k0 + 3 * k1 else 0.0
    # delta method on (k0, k1)
    to_k01 = np.array([[1.0, 0.0, 0.0], w])
    cov01 = to_k01 @ kcov @ to_k01.T
    den = (k0 + 3 * k1) ** 2 or 1e-300
    grad_g = np.array([0.25, 0.75])
    grad_c = np.array([4 * k1 / den, -4 * k0 / den])
    return (float(g), float(np.sqrt(grad_g @ cov01 @ grad_g)), float(c),
            float(np.sqrt(grad_c @ cov01 @ grad_c)), check)
