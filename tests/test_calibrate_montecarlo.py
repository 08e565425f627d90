"""Calibration Monte Carlo (hil.calibrate.montecarlo): the fit recovers drawn plates' errors, its
uncertainties cover them, and the sweep gives the same numbers in one process and on local
worker processes (on a Dask cluster: tests/test_executor.py)."""
from __future__ import annotations

import pytest

from hil.calibrate.montecarlo import Draw, monte_carlo, plate_errors, run_draw
from hil.executor import LocalExecutor

DRAWS = 24


@pytest.fixture(scope="module")
def here():
    return monte_carlo(DRAWS, seed=100)


def test_the_fit_recovers_every_drawn_plate(here):
    figures = here.figures()
    assert figures["draws"] == DRAWS and figures["cells"] == 8 * DRAWS
    # drawn errors are gains ±1 % SD, offsets ±5 N, crosstalk up to 2 %: the fit must get far inside them
    assert figures["gain_error_max_pct"]["max"] < 0.1
    assert figures["offset_error_max_n"]["max"] < 0.1
    assert figures["crosstalk_error_max_pct"]["max"] < 0.01
    # k = 2 intervals: ~95 % of the true errors inside (the reference's gain is shared by all cells)
    assert figures["gain_coverage_k2"] > 0.8 and figures["offset_coverage_k2"] > 0.8


def test_a_draw_depends_only_on_its_seed():
    assert run_draw(Draw(7)) == run_draw(Draw(7))
    assert run_draw(Draw(7)) != run_draw(Draw(8))
    assert (plate_errors(Draw(7, plates=1)).gain.size, plate_errors(Draw(7)).gain.size) == (4, 8)


def test_local_processes_give_the_numbers_of_one_process(here):
    seen = []
    with LocalExecutor(2) as executor:
        there = monte_carlo(DRAWS, seed=100, executor=executor, progress=seen.append)
    assert there.outcomes == here.outcomes
    assert there.executor == "local, 2 processes" and seen[-1] == DRAWS


def test_bad_draw_count_is_refused():
    with pytest.raises(ValueError, match="at least 1"):
        monte_carlo(0)


def test_the_command_prints_figures_and_refuses_bad_input(capsys):
    import json

    from hil.calibrate.montecarlo import main

    assert main(["--draws", "3", "--workers", "1", "--json"]) == 0
    figures = json.loads(capsys.readouterr().out)
    assert figures["draws"] == 3 and figures["executor"] == "local, 1 process"
    assert main(["--draws", "0"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "at least 1" in err
    assert main(["--scheduler", "tcp://127.0.0.1:8786", "--workers", "2"]) == 2
    assert "applies to local processes" in capsys.readouterr().err
