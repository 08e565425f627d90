"""Shared test set-up."""
import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def real_dir() -> Path:
    return ROOT / "fixtures" / "real"


def pytest_addoption(parser):
    parser.addoption("--update-timing-baselines", action="store_true",
                     help="benchmarks: record this machine's timing ratios in "
                          "tests/benchmarks/timing_baselines.json instead of judging them")


LARGE = os.environ.get("FORCEBENCH_LARGE") == "1"  # opt-in long runs (docs/ci.md)


def pytest_collection_modifyitems(items):
    """Tests marked ``large`` (full-size benchmarks, long runs) are skipped unless
    FORCEBENCH_LARGE=1: CI runs the quick pass."""
    skip = pytest.mark.skip(reason="full-size run: opt in with FORCEBENCH_LARGE=1")
    for item in items:
        if not LARGE and "large" in item.keywords:
            item.add_marker(skip)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_call(item):
    """Every benchmark must say what it measures: figure, value and unit in extra_info
    (tests/benchmarks/figures.py), so that --benchmark-json output describes itself."""
    outcome = yield
    bench = getattr(item, "funcargs", {}).get("benchmark")
    if bench is not None and outcome.excinfo is None:
        missing = {"figure", "value", "unit"} - set(bench.extra_info)
        if missing:
            outcome.force_exception(AssertionError(
                f"{item.nodeid}: extra_info lacks {sorted(missing)} (use figures.figure)"))


def pytest_terminal_summary(terminalreporter):
    figures = sys.modules.get("figures")  # imported only when benchmarks ran
    if figures is not None and figures.JUDGED:
        terminalreporter.write_sep("-", "timing against a same-run reference (tests/benchmarks/figures.py)")
        for key, outcome in figures.JUDGED:
            terminalreporter.write_line(f"{key}: {outcome}")
