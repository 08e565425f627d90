"""The plate as a sensor: four load cells per plate, their errors, noise, ADC and resonance.

Chain per plate (every quantity in newtons at the cell's output, as its amplifier reports it)::

    Fz ─► resonance (2nd-order, unit DC gain) ─► split over 4 cells by the centre of pressure
       ─► crosstalk C ─► gain g ─► + offset + drift·t + hum·sin(2π f t + φ) + white noise
       ─► ADC: round to adc_step_n, clip at ±full_scale_n ─► cells; force = Σ cells

Cell layout (Kistler, DOMAIN.md): cell 1 at (+a, +b), 2 at (−a, +b), 3 at (−a, −b), 4 at (+a, −b),
so Mx = b(f1+f2−f3−f4), My = a(−f1+f2+f3−f4), ax = −My/Fz, ay = Mx/Fz.
"""
from __future__ import annotations

import dataclasses
import functools
import math
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

import numpy as np

from sim.trial import SimulationError, Trial

RATE_RANGE_HZ = (250.0, 4000.0)
# x and y sign of each cell (Kistler numbering); the rows are orthogonal with the "twist" row.
CELL_SIGNS = np.array([[1.0, 1.0], [-1.0, 1.0], [-1.0, -1.0], [1.0, -1.0]])

# Per-plate figures; per-cell noise is plate/2 (four independent cells), hum plate/4 (in phase).
# typical: METRICS.md's noise on a calibrated, tared plate whose 1 kHz mode (a stiff plate) is far
# enough above the movement band to move simulated peaks by < 0.1 % (docs/plate_figures.py).
PRESETS: dict[str, dict[str, Any]] = {
    "none": dict(noise_plate_n=0.0, hum_plate_n=0.0, hum_hz=50.0, drift_sd_n_s=0.0,
                 adc_step_n=0.0, full_scale_n=None, resonance_hz=None, resonance_damping=0.0,
                 gain_sd=0.0, offset_sd_n=0.0, crosstalk_sd=0.0),
    "typical": dict(noise_plate_n=1.5, hum_plate_n=0.3, hum_hz=50.0, drift_sd_n_s=0.0,
                    adc_step_n=0.1, full_scale_n=5000.0, resonance_hz=1000.0,
                    resonance_damping=0.1, gain_sd=0.0, offset_sd_n=0.0, crosstalk_sd=0.0),
    "high": dict(noise_plate_n=3.0, hum_plate_n=1.0, hum_hz=60.0, drift_sd_n_s=0.05,
                 adc_step_n=1.0, full_scale_n=2500.0, resonance_hz=300.0,
                 resonance_damping=0.08, gain_sd=0.005, offset_sd_n=2.0, crosstalk_sd=0.005),
    # field: typical noise on a plate whose ADC, ringing, zero and export come from sim.field
    "field": dict(noise_plate_n=1.5, hum_plate_n=0.3, hum_hz=50.0, drift_sd_n_s=0.0,
                  adc_step_n=0.1, full_scale_n=5000.0, resonance_hz=1000.0,
                  resonance_damping=0.1, gain_sd=0.0, offset_sd_n=0.0, crosstalk_sd=0.0),
}
PLATE_SIZE_M = (0.6, 0.4)  # default plate top, x along the long side
CELL_HALF_M = (0.25, 0.15)  # default a, b: cells 50 mm in from the edges
COP_TOLERANCE_M = 1e-9


@dataclass(frozen=True, eq=False)
class PlateModel:
    """True sensor parameters of one set of plates. Per-cell arrays are (plates, 4)."""

    rate_hz: float
    gain: np.ndarray                # output N per applied N
    offset_n: np.ndarray            # zero offset left after tare
    crosstalk: np.ndarray           # (plates, 4, 4); reading_i ∝ Σ_j C_ij load_j; identity = none
    noise_rms_n: np.ndarray         # white noise per cell
    hum_n: np.ndarray               # mains hum amplitude per cell (peak), same phase on every cell
    drift_n_s: np.ndarray           # linear zero drift per cell
    hum_hz: float = 50.0
    hum_phase_rad: float = 0.0
    adc_step_n: float = 0.0         # N per count; 0 = no quantisation
    full_scale_n: float | None = None   # per cell, both signs; None = never saturates
    resonance_hz: float | None = None   # plate's vertical mode; None = rigid
    resonance_damping: float = 0.1
    # the plate rings after each unloading (an undershoot below zero after take-off) and, a
    # quarter as much, after each loading: ringing_n·e^(−ζωt)·sin(ω√(1−ζ²)t), issue 8
    ringing_n: float = 0.0
    ringing_hz: float = 35.0
    ringing_damping: float = 0.2
    cell_half_m: tuple[float, float] = CELL_HALF_M  # (a, b)
    size_m: tuple[float, float] = PLATE_SIZE_M      # plate top (x, y); the COP must lie on it
    name: str = "custom"

    def __post_init__(self) -> None:
        plates = np.shape(self.gain)[0] if np.ndim(self.gain) == 2 else 0
        if plates not in (1, 2):
            raise SimulationError(f"plate model needs gains of shape (1|2, 4), got {np.shape(self.gain)}")
        for name in ("gain", "offset_n", "noise_rms_n", "hum_n", "drift_n_s", "crosstalk"):
            value = np.array(getattr(self, name), dtype=float)
            want = (plates, 4, 4) if name == "crosstalk" else (plates, 4)
            if value.shape != want or not np.all(np.isfinite(value)):
                raise SimulationError(f"plate {name} must be finite with shape {want}, got {value.shape}")
            value.setflags(write=False)
            object.__setattr__(self, name, value)
        lo, hi = RATE_RANGE_HZ
        if not lo <= self.rate_hz <= hi:
            raise SimulationError(f"plate sample rate must be {lo:g}–{hi:g} Hz, got {self.rate_hz!r}")
        if np.any(self.noise_rms_n < 0) or np.any(self.hum_n < 0) or self.adc_step_n < 0:
            raise SimulationError("plate noise, hum and ADC step must not be negative")
        if self.full_scale_n is not None and not self.full_scale_n > 0:
            raise SimulationError(f"plate full scale must be positive, got {self.full_scale_n!r}")
        if self.resonance_hz is not None and not (self.resonance_hz > 0 and self.resonance_damping > 0):
            raise SimulationError("plate resonance needs a positive frequency and damping")
        if self.ringing_n and not (self.ringing_n > 0 and self.ringing_hz > 0 and 0 < self.ringing_damping < 1):
            raise SimulationError("plate ringing needs a positive amplitude and frequency and a damping in (0, 1)")
        if len(self.cell_half_m) != 2 or len(self.size_m) != 2 or min(*self.cell_half_m, *self.size_m) <= 0:
            raise SimulationError("plate and cell dimensions must be positive")

    @property
    def plates(self) -> int:
        return self.gain.shape[0]

    @property
    def ideal(self) -> bool:
        """True when the plate reports the applied force exactly (the "none" preset)."""
        return (self.resonance_hz is None and self.adc_step_n == 0 and self.full_scale_n is None
                and not self.ringing_n
                and not np.any(self.offset_n) and not np.any(self.noise_rms_n)
                and not np.any(self.hum_n) and not np.any(self.drift_n_s)
                and np.all(self.gain == 1.0) and np.all(self.crosstalk == np.eye(4)))

    @classmethod
    def preset(cls, name: str, plates: int, rate_hz: float, rng: np.random.Generator) -> PlateModel:
        """A plate with the named preset's figures; per-cell errors and the hum phase come from ``rng``."""
        if name not in PRESETS:
            raise SimulationError(f"unknown noise preset {name!r}; expected one of {', '.join(PRESETS)}")
        if plates not in (1, 2):
            raise SimulationError(f"plates must be 1 or 2, got {plates!r}")
        p = PRESETS[name]
        cells = (plates, 4)
        crosstalk = np.eye(4) + p["crosstalk_sd"] * rng.standard_normal((plates, 4, 4)) * (1 - np.eye(4))
        return cls(rate_hz=float(rate_hz),
                   gain=1.0 + p["gain_sd"] * rng.standard_normal(cells),
                   offset_n=p["offset_sd_n"] * rng.standard_normal(cells),
                   crosstalk=crosstalk,
                   noise_rms_n=np.full(cells, p["noise_plate_n"] / 2),  # √4 independent cells
                   hum_n=np.full(cells, p["hum_plate_n"] / 4),
                   drift_n_s=p["drift_sd_n_s"] * rng.standard_normal(cells),
                   hum_hz=p["hum_hz"], hum_phase_rad=float(rng.uniform(0.0, 2 * math.pi)),
                   adc_step_n=p["adc_step_n"], full_scale_n=p["full_scale_n"],
                   resonance_hz=p["resonance_hz"], resonance_damping=p["resonance_damping"],
                   name=name)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> PlateModel:
        """Inverse of ``to_dict``; per-cell values may also be one number for every cell."""
        known = {f.name for f in dataclasses.fields(cls)} | {"plates"}
        unknown = set(data) - known
        if unknown:
            raise SimulationError(f"unknown plate fields: {', '.join(sorted(unknown))}")
        plates = data.get("plates", 1)
        if plates not in (1, 2):
            raise SimulationError(f"plates must be 1 or 2, got {plates!r}")
        defaults = {"gain": 1.0, "offset_n": 0.0, "noise_rms_n": 0.0, "hum_n": 0.0, "drift_n_s": 0.0}
        kwargs = {k: v for k, v in data.items() if k != "plates"}
        try:
            for name, default in defaults.items():
                kwargs[name] = np.broadcast_to(np.asarray(data.get(name, default), float), (plates, 4))
            kwargs["crosstalk"] = np.broadcast_to(np.asarray(data.get("crosstalk", np.eye(4)), float),
                                                  (plates, 4, 4))
            for name in ("cell_half_m", "size_m"):
                if name in data:
                    kwargs[name] = tuple(float(v) for v in data[name])
            for name in ("rate_hz", "hum_hz", "hum_phase_rad", "adc_step_n", "full_scale_n",
                         "resonance_hz", "resonance_damping", "ringing_n", "ringing_hz",
                         "ringing_damping"):
                if data.get(name) is not None:
                    kwargs[name] = float(data[name])
        except (ValueError, TypeError) as exc:
            raise SimulationError(f"bad plate definition: {exc}") from None
        if "rate_hz" not in data:
            raise SimulationError("plate definition needs rate_hz")
        return cls(**kwargs)

    @classmethod
    def from_file(cls, path: str | Path) -> PlateModel:
        """A plate definition in TOML (see fixtures/plates/); keys as in ``to_dict``."""
        try:
            data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
            raise SimulationError(f"cannot read plate file {path}: {exc}") from None
        data.pop("description", None)
        data.setdefault("name", Path(path).stem)
        return cls.from_dict(data)

    def to_dict(self) -> dict[str, Any]:
        """Every true parameter, JSON-ready: what a calibration is checked against."""
        out: dict[str, Any] = {"plates": self.plates}
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            out[f.name] = value.tolist() if isinstance(value, np.ndarray) else (
                list(value) if isinstance(value, tuple) else value)
        return out

    def resonance_filter(self) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
        """(b, a, zi) of the mode ω²/(s² + 2ζωs + ω²) by the bilinear transform (unit DC gain);
        zi is the state at rest under a unit load, so a trial starts without a switch-on transient.

        Pre-warped at the mode when it lies below Nyquist, so the digital resonance has the true
        frequency and peak; a mode above Nyquist (which an anti-alias filter keeps out of the
        samples) is mapped without pre-warping, which keeps its in-band (low-frequency) effect."""
        if self.resonance_hz is None:
            return None
        w = 2 * math.pi * self.resonance_hz
        k = w / math.tan(w / (2 * self.rate_hz)) if self.resonance_hz < self.rate_hz / 2 else 2 * self.rate_hz
        damp = 2 * self.resonance_damping * w * k
        a0 = k * k + damp + w * w
        b = np.array([1.0, 2.0, 1.0]) * (w * w / a0)
        a = np.array([1.0, 2 * (w * w - k * k) / a0, (k * k - damp + w * w) / a0])
        zi = np.array([b[1] - a[1] + b[2] - a[2], b[2] - a[2]])  # transposed direct form II at y = x = 1
        return b, a, zi


def load_matrix(model: PlateModel) -> np.ndarray:
    """(plates, 4, 3): each cell's output (before offset, drift, hum, noise) from [Fz, Fz·x, Fz·y].

    Four cells, three equations (ΣF, Mx, My): the minimum-norm split sets the fourth, "twist",
    combination f1 − f2 + f3 − f4 to zero, as a rigid plate on four equal springs does:
    f_k = Fz/4 · (1 + sx_k·x/a + sy_k·y/b). A cell goes negative (preload relief) when the
    COP is outside the rhombus |x|/a + |y|/b ≤ 1. Crosstalk, then gain, act on those loads.
    """
    split = 0.25 * np.column_stack([np.ones(4), CELL_SIGNS / np.asarray(model.cell_half_m)])
    return (model.gain[:, :, None] * model.crosstalk) @ split


def cop_from_cells(cells: np.ndarray, half_m: tuple[float, float] = CELL_HALF_M,
                   min_force_n: float = 10.0) -> np.ndarray:
    """Centre of pressure (n, plates, 2) in metres from cells (n, plates, 4); NaN below ``min_force_n``."""
    cells = np.asarray(cells, dtype=float)
    fz = cells.sum(axis=-1, keepdims=True)
    moments = cells @ CELL_SIGNS  # Σ sx·f, Σ sy·f
    with np.errstate(divide="ignore", invalid="ignore"):
        cop = moments * np.asarray(half_m) / fz
    cop[np.broadcast_to(np.abs(fz) < min_force_n, cop.shape)] = np.nan
    return cop


@functools.lru_cache(maxsize=8)
def _mains(n: int, rate_hz: float, hum_hz: float) -> tuple[np.ndarray, np.ndarray]:
    """sin ωt and cos ωt over n samples (read-only: cached across trials of one length)."""
    phase = 2 * math.pi * hum_hz * (np.arange(n) / rate_hz)
    waves = np.sin(phase), np.cos(phase)
    for wave in waves:
        wave.setflags(write=False)
    return waves


def _checked_cop(trial: Trial, model: PlateModel) -> np.ndarray | None:
    """The trial's COP, NaN (undefined) where unloaded replaced by the centre; SimulationError
    where it is undefined under load or off the plate."""
    if trial.cop is None:
        return None
    cop = np.asarray(trial.cop, dtype=float)
    if cop.shape != (*trial.force.shape, 2):
        raise SimulationError(f"cop must have shape {(*trial.force.shape, 2)}, got {cop.shape}")
    limit = np.asarray(model.size_m) / 2 + COP_TOLERANCE_M
    if all(np.abs(cop[..., axis]).max() <= limit[axis] for axis in (0, 1)):  # fast path; NaN fails it
        return cop
    finite = np.isfinite(cop).all(axis=-1)
    if np.any(~finite & (trial.force != 0)):
        raise SimulationError("centre of pressure is undefined where the plate is loaded")
    cop = np.where(finite[..., None], cop, 0.0)
    if np.any(np.abs(cop) > limit):
        raise SimulationError(f"centre of pressure lies off the {model.size_m[0]}×{model.size_m[1]} m plate")
    return cop


def _ringing(force: np.ndarray, model: PlateModel) -> np.ndarray:
    """(plates, n): the plate's ringing after each unloading (applied force reaching exactly
    zero: an undershoot first) and, a quarter as strong, after each loading."""
    n = force.shape[0]
    w = 2 * math.pi * model.ringing_hz
    span = min(n, int(math.ceil(6.0 / (model.ringing_damping * w) * model.rate_hz)))  # to e^-6
    u = np.arange(span) / model.rate_hz
    shape = np.exp(-model.ringing_damping * w * u) * np.sin(w * math.sqrt(1 - model.ringing_damping ** 2) * u)
    out = np.zeros((force.shape[1], n))
    for plate, column in enumerate(force.T):
        loaded = column > 0
        change = np.flatnonzero(loaded[1:] != loaded[:-1]) + 1
        for k in change.tolist():
            amplitude = -model.ringing_n if not loaded[k] else 0.25 * model.ringing_n
            stop = min(n, k + span)
            out[plate, k:stop] += amplitude * shape[:stop - k]
    return out


def measure(trial: Trial, noise: str | PlateModel, rng: np.random.Generator) -> Trial:
    """The trial as the plate reports it: ``cells`` (n, plates, 4) N, ``force`` their per-plate
    sum, and ``truth.plate`` the model's true parameters (the movement's truth is unchanged)."""
    if trial.cells is not None:
        raise SimulationError("trial has already been measured by a plate")
    force = np.asarray(trial.force, dtype=float)
    if force.ndim != 2 or not np.all(np.isfinite(force)):
        raise SimulationError("trial force must be a finite (n, plates) array")
    n, plates = force.shape
    model = noise if isinstance(noise, PlateModel) else PlateModel.preset(noise, plates, trial.rate_hz, rng)
    if model.plates != plates or model.rate_hz != trial.rate_hz:
        raise SimulationError(f"plate model is {model.plates} plate(s) at {model.rate_hz:g} Hz, "
                              f"trial is {plates} at {trial.rate_hz:g} Hz")
    cop = _checked_cop(trial, model)

    # worked cell-major, (plates, 4, n), so per-cell constants broadcast along time
    load = force.T
    resonance = model.resonance_filter()
    if resonance is not None:
        from scipy import signal  # here, not at the top: importing it costs about a second

        b, a, zi = resonance
        load = signal.lfilter(b, a, load, axis=-1, zi=zi * load[:, :1])[0]
    if model.ringing_n:
        load = load + _ringing(force, model)
    matrix = load_matrix(model)
    if cop is None:
        cells = matrix[:, :, :1] * load[:, None, :]
    else:
        cells = matrix @ np.stack([load, load * cop[..., 0].T, load * cop[..., 1].T], axis=1)
    cells += model.offset_n[:, :, None]
    if np.any(model.drift_n_s):
        cells += model.drift_n_s[:, :, None] * (np.arange(n) / model.rate_hz)
    if np.any(model.hum_n):
        sine, cosine = _mains(n, model.rate_hz, model.hum_hz)  # sin(ωt + φ) from cached sin ωt, cos ωt
        wave = math.cos(model.hum_phase_rad) * sine + math.sin(model.hum_phase_rad) * cosine
        cells += model.hum_n[:, :, None] * wave
    if np.any(model.noise_rms_n):
        white = rng.standard_normal(cells.shape)
        white *= model.noise_rms_n[:, :, None]
        cells += white

    fs, step = model.full_scale_n, model.adc_step_n
    if step > 0:
        top = math.inf if fs is None else math.floor(fs / step + 1e-9)  # largest count inside full scale
        cells *= 1.0 / step
        np.clip(np.rint(cells, out=cells), -top, top, out=cells)
        cells *= step
    elif fs is not None:
        np.clip(cells, -fs, fs, out=cells)

    # an ideal plate reports the applied force itself; its cells sum to it within rounding
    force = force.T if model.ideal else cells[:, 0] + cells[:, 1] + cells[:, 2] + cells[:, 3]
    truth = dataclasses.replace(trial.truth, plate=model.to_dict())
    return dataclasses.replace(trial, force=np.ascontiguousarray(force.T),
                               cells=np.ascontiguousarray(cells.transpose(2, 0, 1)), truth=truth)
