"""Force → metrics for every test in METRICS.md. Usable alone: depends only on numpy and scipy.

    from hil.analysis import analyse
    result = analyse(force, rate_hz, "cmj")
"""
from __future__ import annotations

import numpy as np

from hil.analysis import multi
from hil.analysis.result import Issue, Partial, Result
from hil.analysis.signal import TESTS, AnalysisInputError, Options, check_test, prepare

analyse_all = multi.analyse_all  # every movement of a recording, one Result each

__all__ = ["TESTS", "AnalysisInputError", "Issue", "Result", "analyse", "analyse_all"]


def analyse(force: np.ndarray, rate_hz: float, test: str, body_mass_kg: float | None = None,
            drop_height_m: float | None = None) -> Result:
    """Analyse one recording: ``force`` is (n,) total vertical force or (n, 2) left/right, in N."""
    check_test(test)
    signal = prepare(force, rate_hz)
    options = Options(body_mass_kg=body_mass_kg, drop_height_m=drop_height_m)
    partial: Partial = multi.module_for(test).analyse(signal, options)
    # a recording holding several movements: this is the first; say that more follow
    more = multi.next_movement(signal.force, signal.rate_hz, test, options, partial)
    return Result(test=test, sample_rate_hz=float(rate_hz), metrics=dict(partial.metrics),
                  events=dict(partial.events), per_rep=tuple(partial.per_rep),
                  issues=signal.issues + tuple(partial.issues) + ((more,) if more else ()),
                  refused=partial.refused, needed_until_s=partial.needed_until_s)
