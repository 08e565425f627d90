"""The calibration's PNGs: force residuals against load, hysteresis loops, COP error maps."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from ..plots import _figure, _save
from .plan import Geometry
from .verify import Pass


def write(directory: Path, passes: dict[str, Pass | None], plates: int, geometry: Geometry) -> list[Path]:
    shown = {name: data for name, data in passes.items() if data is not None}
    return [residuals(directory / "residuals.png", shown, plates),
            hysteresis(directory / "hysteresis.png", shown["before"], plates),
            cop_map(directory / "cop-error.png", shown, plates, geometry)]


def residuals(path: Path, passes: dict[str, Pass], plates: int) -> Path:
    """Fz − reference against the reference load, each plate, before and after."""
    figure = _figure(5 * plates, 4)
    for plate in range(plates):
        axes = figure.add_subplot(1, plates, plate + 1)
        for (name, data), colour in zip(passes.items(), ("tab:red", "tab:blue")):
            mine = np.array([s.plate == plate for s in data.steps])
            error = data.force(plate) - data.reference
            axes.plot(data.reference[mine], error[mine], ".", ms=3, color=colour,
                      label=f"{name} ({int(mine.sum())} steps)")
        axes.axhline(0, color="grey", lw=0.8)
        axes.set_xlabel("reference load (N)")
        axes.set_ylabel("Fz − reference (N)")
        axes.set_title(f"plate {plate}: force residuals")
        axes.grid(alpha=0.3)
        axes.legend(fontsize=8)
    return _save(figure, path)


def hysteresis(path: Path, data: Pass, plates: int) -> Path:
    """Loading and unloading error at each grid position (as found)."""
    figure = _figure(5 * plates, 4)
    for plate in range(plates):
        axes = figure.add_subplot(1, plates, plate + 1)
        error = data.force(plate) - data.reference
        names = list(dict.fromkeys(s.position for s in data.steps if s.plate == plate and s.mass_kg > 0
                                   and s.phase in ("up", "down")))
        for k, name in enumerate(names):
            at = [i for i, s in enumerate(data.steps) if s.plate == plate and s.position == name
                  and s.phase in ("up", "down")]
            axes.plot(data.reference[at], error[at], "-", lw=0.9, color=f"C{k % 10}", label=name)
        axes.set_xlabel("reference load (N)")
        axes.set_ylabel("Fz − reference (N)")
        axes.set_title(f"plate {plate}: loading and unloading (as found)")
        axes.grid(alpha=0.3)
        axes.legend(fontsize=7, ncol=3)
    return _save(figure, path)


def cop_map(path: Path, passes: dict[str, Pass], plates: int, geometry: Geometry) -> Path:
    """COP error over the plate: each load position, its mean error vector (×20) and size."""
    figure = _figure(4.5 * len(passes), 3.6 * plates)
    half = np.asarray(geometry.size_m) * 1000 / 2
    for row in range(plates):
        for column, (name, data) in enumerate(passes.items()):
            axes = figure.add_subplot(plates, len(passes), row * len(passes) + column + 1)
            error = data.cop_error_mm(row, geometry)
            where = np.array([[s.x_mm, s.y_mm] for s in data.steps])
            heavy = np.isfinite(error[:, 0]) & (data.reference >= 0.1 * np.nanmax(data.reference))
            points = {tuple(p) for p in where[heavy]}
            worst = 0.0
            for point in points:
                at = heavy & np.all(where == point, axis=1)
                mean = error[at].mean(0)
                size = float(np.hypot(*error[at].T).max())
                worst = max(worst, size)
                axes.arrow(point[0], point[1], 20 * mean[0], 20 * mean[1], width=2, color="tab:red",
                           length_includes_head=True)
                axes.annotate(f"{size:.1f}", point, textcoords="offset points", xytext=(3, -10), fontsize=7)
            axes.add_patch(_rectangle(half))
            axes.set_xlim(-half[0] * 1.1, half[0] * 1.1)
            axes.set_ylim(-half[1] * 1.2, half[1] * 1.2)
            axes.set_aspect("equal")
            axes.set_title(f"plate {row} {name}: COP error (max {worst:.2f} mm)", fontsize=9)
            axes.set_xlabel("x (mm); arrows ×20, labels max mm")
    return _save(figure, path)


def _rectangle(half: np.ndarray):
    from matplotlib.patches import Rectangle
    return Rectangle((-half[0], -half[1]), 2 * half[0], 2 * half[1], fill=False, color="grey")


def drift(path: Path, days: np.ndarray, error_pct: np.ndarray, limit_pct: float,
          trends: dict[int, tuple[float, float]], title: str) -> Path:
    """The daily check's force error (checks, plates) over time, its limit band and trends."""
    figure = _figure(7, 4)
    axes = figure.add_subplot()
    for plate in range(error_pct.shape[1]):
        axes.plot(days, error_pct[:, plate], "o-", ms=4, color=f"C{plate}",
                  label=f"plate {plate} ({len(days)} checks)")
        if plate in trends:
            axes.plot(days, np.polyval(trends[plate], days), color=f"C{plate}", lw=1, ls=":",
                      label=f"plate {plate} trend")
    for sign in (-1, 1):
        axes.axhline(sign * limit_pct, color="tab:red", ls="--", lw=1)
    axes.set_xlabel("days since first check")
    axes.set_ylabel("force error (% of known load)")
    axes.set_title(title)
    axes.grid(alpha=0.3)
    axes.legend(fontsize=8)
    return _save(figure, path)
