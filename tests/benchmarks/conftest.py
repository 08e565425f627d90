"""Every benchmark must say what it measures: a figure, its value and unit in extra_info."""
from __future__ import annotations

import pytest


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_call(item):
    outcome = yield
    bench = getattr(item, "funcargs", {}).get("benchmark")
    if bench is not None and outcome.excinfo is None:
        missing = {"figure", "value", "unit"} - set(bench.extra_info)
        if missing:
            outcome.force_exception(AssertionError(
                f"{item.nodeid}: extra_info lacks {sorted(missing)} (use figures.figure)"))


def pytest_terminal_summary(terminalreporter):
    from figures import JUDGED
    if JUDGED:
        terminalreporter.write_sep("-", "timing against same-run reference (tests/benchmarks/figures.py)")
        for key, outcome in JUDGED:
            terminalreporter.write_line(f"{key}: {outcome}")
