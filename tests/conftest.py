"""Shared test set-up."""
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def real_dir() -> Path:
    return ROOT / "fixtures" / "real"
