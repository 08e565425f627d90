"""The acceptance spec: the load sequence and the limits a calibration is judged by (TOML).

Defaults follow ASTM F3109 (a grid of positions × force levels, COP error reported) and load-cell
datasheets (non-linearity and hysteresis ≤ 0.2 % FS); "FS" is the top of the calibrated range
(the heaviest load of the sequence). ``fixtures/calibration/acceptance.toml`` spells them out.
"""
from __future__ import annotations

import dataclasses
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

G_STANDARD = 9.80665


class SpecError(ValueError):
    """An acceptance spec that cannot be used."""


@dataclass(frozen=True)
class Sequence:
    levels_kg: tuple[float, ...] = tuple(20.0 * k for k in range(1, 11))  # 196-1961 N
    grid_x_mm: tuple[float, ...] = (-200.0, 0.0, 200.0)
    grid_y_mm: tuple[float, ...] = (-120.0, 0.0, 120.0)
    repeats: int = 3  # top level on and off at the centre
    local_gravity_m_s2: float = G_STANDARD  # turns masses into newtons (certified masses, prompts)
    reference_uncertainty_pct: float = 0.02  # the reference's certificate, k = 1 (type B)
    settle_s: float = 3.0  # give up on a reading that has not settled by then
    settle_tolerance_n: float = 0.5  # settled: the last two 0.1 s means agree within this
    plausible_pct: float = 30.0  # reference vs plate: beyond this (+ 2 % FS) is not physical


@dataclass(frozen=True)
class Limits:
    nonlinearity_pct_fs: float = 0.2
    hysteresis_pct_fs: float = 0.2
    repeatability_pct_fs: float = 0.1
    force_error_pct_fs: float = 0.5  # after correction
    crosstalk_pct: float = 0.5  # plate to plate: the unloaded plate's reading, % of the load
    zero_drift_n_min: float = 0.5  # per cell and per plate
    cop_error_max_mm: float = 2.0  # after correction
    cop_error_rms_mm: float = 1.0
    cop_min_load_pct_fs: float = 10.0  # COP errors are taken over loads from this up
    min_gain: float = 0.5  # a cell below this (of nominal) is dead or miswired
    check_force_error_pct: float = 0.5  # daily check with a known mass
    check_cop_error_mm: float = 5.0


@dataclass(frozen=True)
class AcceptanceSpec:
    sequence: Sequence = field(default_factory=Sequence)
    limits: Limits = field(default_factory=Limits)
    source: str = "defaults (ASTM F3109, load-cell datasheets)"

    def to_dict(self) -> dict[str, Any]:
        return {"source": self.source, "sequence": dataclasses.asdict(self.sequence),
                "limits": dataclasses.asdict(self.limits)}


def load(path: str | Path | None) -> AcceptanceSpec:
    """The spec in ``path`` (missing tables and keys keep their defaults); None: the defaults."""
    if path is None:
        return AcceptanceSpec()
    try:
        data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as error:
        raise SpecError(f"cannot read acceptance spec {path}: {error}") from None
    unknown = set(data) - {"sequence", "limits", "description"}
    if unknown:
        raise SpecError(f"{path}: unknown table(s) {', '.join(sorted(unknown))} (sequence, limits)")
    sequence = _table(path, "sequence", Sequence, data.get("sequence", {}))
    limits = _table(path, "limits", Limits, data.get("limits", {}))
    _check(path, sequence, limits)
    return AcceptanceSpec(sequence, limits, str(path))


def _table(path, name: str, kind: type, values: Mapping[str, Any]):
    fields = {f.name: f for f in dataclasses.fields(kind)}
    unknown = set(values) - set(fields)
    if unknown:
        raise SpecError(f"{path}: [{name}] has unknown key(s) {', '.join(sorted(unknown))}")
    out = {}
    for key, value in values.items():
        default = getattr(kind(), key)
        try:
            if isinstance(default, tuple):
                out[key] = tuple(float(v) for v in value)
            elif isinstance(default, int) and not isinstance(default, bool):
                if int(value) != value:
                    raise ValueError
                out[key] = int(value)
            else:
                out[key] = float(value)
        except (TypeError, ValueError):
            raise SpecError(f"{path}: [{name}] {key} must be like {default!r}, got {value!r}") from None
    return kind(**out)


def _check(path, sequence: Sequence, limits: Limits) -> None:
    levels = sequence.levels_kg
    if not levels or any(b <= a for a, b in zip(levels, levels[1:])) or levels[0] <= 0:
        raise SpecError(f"{path}: levels_kg must be positive and increasing")
    if len(sequence.grid_x_mm) < 2 or len(sequence.grid_y_mm) < 2:
        raise SpecError(f"{path}: the grid needs at least 2 positions along x and along y")
    if sequence.repeats < 2:
        raise SpecError(f"{path}: repeats must be at least 2 (repeatability needs repetition)")
    if not 9.7 < sequence.local_gravity_m_s2 < 9.9:
        raise SpecError(f"{path}: local_gravity_m_s2 must be an Earth value (9.7-9.9)")
    numbers = [v for v in dataclasses.asdict(limits).values()] + [
        sequence.settle_s, sequence.settle_tolerance_n, sequence.plausible_pct,
        sequence.reference_uncertainty_pct]
    if any(not (v >= 0 and v < float("inf")) for v in numbers):
        raise SpecError(f"{path}: limits must be finite and not negative")


def cell_name(cell: int) -> str:
    return f"cell {cell} (plate {cell // 4} cell {cell % 4})"


def hardware_findings(fit, before: Mapping[str, Any], limits: Limits) -> list[str]:
    """What no correction may hide: dead, non-linear or drifting cells; hysteresis; repeatability.
    A plate with any of these fails, and its correction is not written."""
    reasons = []
    plates = {p["plate"]: p for p in before["plates"]}
    for cell in fit.cells:
        fs = plates.get(cell.cell // 4, {}).get("full_scale_n")
        if cell.gain_error < limits.min_gain:
            reasons.append(f"{cell_name(cell.cell)} is dead or miswired: it reads "
                           f"{cell.gain_error:.3f} of its load (limit {limits.min_gain:g})")
            continue
        if cell.quadratic is not None and fs and 100 * cell.nonlinearity_n / fs > limits.nonlinearity_pct_fs:
            reasons.append(f"{cell_name(cell.cell)} is non-linear: {100 * cell.nonlinearity_n / fs:.3f} % FS "
                           f"(limit {limits.nonlinearity_pct_fs:g} % FS)")
        if abs(cell.drift_n_min) > limits.zero_drift_n_min and abs(cell.drift_n_min) > 5 * cell.drift_u:
            reasons.append(f"{cell_name(cell.cell)} drifts {cell.drift_n_min:+.3f} N/min "
                           f"(limit {limits.zero_drift_n_min:g} N/min)")
    for name, unit in (("nonlinearity_pct_fs", "% FS"), ("hysteresis_pct_fs", "% FS"),
                       ("repeatability_pct_fs", "% FS"), ("zero_drift_n_min", "N/min")):
        limit = getattr(limits, name)
        for plate in before["plates"]:
            value = plate.get(name)
            noise = 5 * plate.get(f"{name}_u", 0.0)  # a drift must stand out of its noise
            if value is not None and abs(value) > max(limit, noise):
                reasons.append(f"plate {plate['plate']} {name.replace('_', ' ')} {value:.3f} {unit} "
                               f"(limit {limit:g} {unit})")
    return reasons


def after_findings(after: Mapping[str, Any], limits: Limits) -> list[str]:
    """The corrected plate against the limits of accuracy."""
    reasons = []
    checks = (("force_error_pct_fs", limits.force_error_pct_fs, "% FS"),
              ("crosstalk_pct", limits.crosstalk_pct, "%"),
              ("cop_error_max_mm", limits.cop_error_max_mm, "mm"),
              ("cop_error_rms_mm", limits.cop_error_rms_mm, "mm"))
    for plate in after["plates"]:
        for name, limit, unit in checks:
            value = plate.get(name)
            if value is not None and abs(value) > limit:
                reasons.append(f"after correction, plate {plate['plate']} {name.replace('_', ' ')} "
                               f"{value:.3f} {unit} (limit {limit:g} {unit})")
    return reasons
