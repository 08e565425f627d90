"""The data that leaves the simulator: a trial (samples) and its exact truth."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping

import numpy as np

from scipy.constants import g as G  # standard gravity, 9.80665 m/s² (METRICS.md): defined once, by scipy


class SimulationError(ValueError):
    """Parameters the simulator cannot honour (the CLI turns it into one line, exit 2)."""


@dataclass(frozen=True)
class Truth:
    """What the generating model says happened; never obtained by analysing the trace.

    Names follow ../shared/METRICS.md. ``plate`` holds the plate's true sensor parameters
    (gains, offsets, crosstalk, noise) so that calibration can be checked against them.
    """

    test: str
    metrics: Mapping[str, float]
    events: Mapping[str, float]
    per_rep: tuple[Mapping[str, float], ...] = ()
    plate: Mapping[str, Any] = field(default_factory=dict)
    field_options: Mapping[str, Any] = field(default_factory=dict)  # sim.field's effects, if any

    def to_dict(self) -> dict[str, Any]:
        return {
            "test": self.test,
            "metrics": {k: float(v) for k, v in self.metrics.items()},
            "events": {k: float(v) for k, v in self.events.items()},
            "per_rep": [{k: float(v) for k, v in rep.items()} for rep in self.per_rep],
            "plate": dict(self.plate),
        } | ({"field": dict(self.field_options)} if self.field_options else {})


@dataclass(frozen=True)
class Trial:
    """One recording: vertical force per plate, sampled at ``rate_hz``, with its truth.

    ``force`` is always 2-D, shape (n, plates): one column for one plate, (left, right) for two.
    ``cop`` is the true centre of pressure per plate in metres, shape (n, plates, 2), where
    the movement defines it; ``cells`` the per-load-cell force in newtons as the plate's
    sensor reports it, shape (n, plates, 4), once ``sim.plate`` has measured the trial.
    """

    test: str
    rate_hz: float
    force: np.ndarray
    truth: Truth
    cop: np.ndarray | None = None
    cells: np.ndarray | None = None

    @property
    def plates(self) -> int:
        return self.force.shape[1]

    @property
    def channels(self) -> tuple[str, ...]:
        return ("fz",) if self.plates == 1 else ("fz_left", "fz_right")

    @property
    def total(self) -> np.ndarray:
        """Total vertical force (N), summed over plates."""
        return self.force.sum(axis=1)

    @property
    def time(self) -> np.ndarray:
        """Seconds from the first sample."""
        return np.arange(self.force.shape[0]) / self.rate_hz
