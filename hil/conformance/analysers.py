"""The analysers under test: forcebench's own, and any other that a lab plugs in.

An analyser is registered under the entry-point group ``forcebench.analysers`` as a
zero-argument factory returning an :class:`Analyser` (see docs/conformance.md)::

    # the lab's pyproject.toml
    [project.entry-points."forcebench.analysers"]
    mylab = "mylab.forcebench:analyser"

    # mylab/forcebench.py
    from hil.conformance.analysers import Analyser, Refused
    def analyser() -> Analyser:
        return Analyser("mylab", "2.1", {"cmj": ("jump_height_m", "flight_time_s")}, measure)

Workers of a sweep look analysers up by name, so a name is all that travels between processes.
"""
from __future__ import annotations

import importlib.metadata
from dataclasses import dataclass
from typing import Callable, Iterable, Mapping

import numpy as np

ENTRY_POINT_GROUP = "forcebench.analysers"

# (force (n,) total or (n, 2) left/right in N, rate_hz, test, drop_height_m) → {metric: value}
Measure = Callable[[np.ndarray, float, str, "float | None"], Mapping[str, float]]


class Refused(Exception):
    """Raised by an analyser that declines a trial; the message says why."""


class AnalyserUnavailable(ValueError):
    """A named analyser that is not registered or cannot be loaded (say, its package is missing)."""


@dataclass(frozen=True)
class Analyser:
    """One analysis under test: its name and version, the metrics it reports for each test it
    supports (METRICS.md names; None: all of that test's), and the function that measures them."""

    name: str
    version: str
    supports: Mapping[str, tuple[str, ...] | None]
    measure: Measure

    def judged(self, test: str, names: Iterable[str]) -> tuple[str, ...]:
        """Which of ``names`` (what the truth and the spec cover) this analyser is judged on."""
        if test not in self.supports:
            return ()
        own = self.supports[test]
        return tuple(name for name in names if own is None or name in own)


def registered() -> dict[str, importlib.metadata.EntryPoint]:
    """Every analyser name registered in this environment, installed or not."""
    return {point.name: point for point in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP)}


_LOADED: dict[str, Analyser] = {}  # per process: a sweep's workers load each analyser once


def load(name: str) -> Analyser:
    """The analyser registered as ``name``; AnalyserUnavailable says why it cannot be had."""
    if name in _LOADED:
        return _LOADED[name]
    points = registered()
    if name not in points:
        known = ", ".join(sorted(points)) or "none"
        raise AnalyserUnavailable(f"no analyser named {name!r} (registered: {known})")
    try:
        analyser = points[name].load()()
    except ImportError as error:
        raise AnalyserUnavailable(f"analyser {name!r} cannot be loaded: {error}") from None
    if not isinstance(analyser, Analyser) or analyser.name != name:
        raise AnalyserUnavailable(f"analyser {name!r}: its entry point {points[name].value} must "
                                  f"return an Analyser named {name!r}")
    _LOADED[name] = analyser
    return analyser


def available() -> list[str]:
    """Registered analysers that load here, forcebench first."""
    names = []
    for name in sorted(registered(), key=lambda n: (n != "forcebench", n)):
        try:
            load(name)
        except AnalyserUnavailable:
            continue
        names.append(name)
    return names


def forcebench() -> Analyser:
    """This project's analysis (hil.analysis): every test, every metric it computes."""
    from hil.analysis import TESTS, analyse
    from hil.analysis.result import ANALYSER_NAME, ANALYSER_VERSION

    def measure(force: np.ndarray, rate_hz: float, test: str,
                drop_height_m: float | None) -> Mapping[str, float]:
        result = analyse(force, rate_hz, test, drop_height_m=drop_height_m)
        if result.refused:
            raise Refused("; ".join(issue.code for issue in result.issues) or "refused")
        return result.metrics

    return Analyser(ANALYSER_NAME, ANALYSER_VERSION, {test: None for test in TESTS}, measure)
