"""Shared test set-up."""
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
