"""Recordings with several movements: each movement analysed on its own, one after another.

A test module reports the first movement it finds in the samples it is given, with
``needed_until_s``, the last sample its result rests on. The next movement is looked for in the
samples after that one, as if they were a new recording, and so on. The streaming analyser does
exactly the same on a growing buffer, so its results equal ``analyse_all`` to the last digit.
"""
from __future__ import annotations

import importlib
from types import ModuleType

import numpy as np

from hil.analysis.result import Issue, Partial, Result
from hil.analysis.signal import Options, Signal, check_test, prepare


def module_for(test: str) -> ModuleType:
    """The module that analyses ``test`` (hil.analysis.<test>, with ``analyse(signal, options)``)."""
    return importlib.import_module(f"hil.analysis.{test}")


def needed_index(partial: Partial, rate_hz: float, n: int) -> int:
    """Index of the last sample the partial rests on; ``n`` when it depends on the recording's
    end (needed_until_s past the last sample, or not given)."""
    if partial.needed_until_s is None:
        return n
    return min(int(round(partial.needed_until_s * rate_hz)), n)


def movement(force: np.ndarray, rate_hz: float, test: str, options: Options,
             offset: int) -> tuple[Partial, Result]:
    """Analyse ``force`` (the samples from index ``offset`` of a recording) and return the
    module's partial and the Result in recording time."""
    signal = prepare(force, rate_hz)
    partial = module_for(test).analyse(signal, options)
    return partial, to_result(partial, signal, test, offset)


def to_result(partial: Partial, signal: Signal, test: str, offset: int) -> Result:
    """The Result of one movement, in recording time. It carries the input issues of the
    samples its metrics rest on only, so it is known as soon as they have arrived."""
    rate_hz, n = signal.rate_hz, signal.total.shape[0]
    end = needed_index(partial, rate_hz, n)
    # a plate's zero is found in the recording's empty stretches and taken off before the
    # movement's own samples are checked again: its issue is kept
    zeros = tuple(issue for issue in signal.issues if issue.code == "plate_offset")
    input_issues = signal.issues if end >= n - 1 else tuple(sorted(
        zeros + (prepare(signal.force[:end + 1], rate_hz).issues if end >= 1 else ()),
        key=lambda issue: issue.start_s))
    shift = offset / rate_hz
    return Result(
        test=test, sample_rate_hz=float(rate_hz),
        metrics=dict(partial.metrics),
        events={name: t + shift for name, t in partial.events.items()},
        per_rep=tuple(partial.per_rep),
        issues=tuple(_shifted(issue, shift) for issue in input_issues + tuple(partial.issues)),
        refused=partial.refused,
        needed_until_s=None if partial.needed_until_s is None else partial.needed_until_s + shift)


def _shifted(issue: Issue, shift: float) -> Issue:
    if shift == 0:
        return issue
    return Issue(issue.code, issue.message,
                 None if issue.start_s is None else issue.start_s + shift,
                 None if issue.end_s is None else issue.end_s + shift)


def analyse_all(force: np.ndarray, rate_hz: float, test: str, body_mass_kg: float | None = None,
                drop_height_m: float | None = None) -> list[Result]:
    """Every movement in the recording, in order. A recording with none gives one refused
    Result; a trailing stretch with no further movement gives nothing."""
    check_test(test)
    prepare(force, rate_hz)  # validates shape and rate once
    # each movement is prepared from the samples as given (a plate's zero is found in them)
    data = np.asarray(force, dtype=np.float64)
    data = data[:, None] if data.ndim == 1 else data
    options = Options(body_mass_kg=body_mass_kg, drop_height_m=drop_height_m)
    results: list[Result] = []
    start = 0
    while data.shape[0] - start >= 2:
        partial, result = movement(data[start:], rate_hz, test, options, start)
        if partial.refused:
            if not results:
                results.append(result)
            break
        results.append(result)
        start += needed_index(partial, rate_hz, data.shape[0] - start) + 1
    return results


def next_movement(data: np.ndarray, rate_hz: float, test: str, options: Options,
                  partial: Partial) -> Issue | None:
    """A ``multiple_movements`` issue when another movement follows the one in ``partial``."""
    if partial.refused:
        return None
    start = needed_index(partial, rate_hz, data.shape[0]) + 1
    if data.shape[0] - start < 2:
        return None
    later = module_for(test).analyse(prepare(data[start:], rate_hz), options)
    if later.refused:
        return None
    shift = start / rate_hz
    at = min((t for name, t in later.events.items() if not name.startswith("weighing")),
             default=0.0) + shift
    end = None if later.needed_until_s is None else later.needed_until_s + shift
    return Issue("multiple_movements", f"another {test} follows at {at:.3f} s; this result is "
                 "the first movement (analyse_all or streaming reports each)", at, end)
