"""One executor interface for sweeps (conformance, calibration Monte Carlo): local processes, or
a Dask cluster on 127.0.0.1; the same sweep gives the same numbers on each."""
from __future__ import annotations

import pytest

from hil.calibrate.montecarlo import monte_carlo
from hil.conformance import run
from hil.executor import DaskExecutor, ExecutorError, LocalExecutor, open_executor


def square(x: int) -> int:
    return x * x


def fail_on_seven(x: int) -> int:
    if x == 7:
        raise ArithmeticError("seven")
    return x


def numbers(report) -> list[dict]:
    return [row.to_dict() for row in report.rows]


@pytest.fixture(scope="module")
def reference():
    """A small sweep in this process: forcebench on one trial per cell of the synthetic suite."""
    return run(["forcebench"], ["synthetic", "real"], trials=1)


def test_local_processes_give_the_numbers_of_one_process(reference):
    seen = []
    with LocalExecutor(2) as executor:
        report = run(["forcebench"], ["synthetic", "real"], trials=1, executor=executor,
                     progress=lambda done, total: seen.append((done, total)))
    assert numbers(report) == numbers(reference)
    assert report.executor == "local, 2 processes"
    assert seen[-1] == (75, 75) and [d for d, _ in seen] == sorted(d for d, _ in seen)


def test_results_keep_the_order_of_the_items():
    with LocalExecutor(2) as executor:
        assert executor.map(square, range(50)) == [x * x for x in range(50)]
    assert LocalExecutor(1).map(square, [3, 1, 2]) == [9, 1, 4]


def test_a_worker_exception_reaches_the_caller():
    with LocalExecutor(2) as executor, pytest.raises(ArithmeticError, match="seven"):
        executor.map(fail_on_seven, range(20))


def test_bad_settings_are_refused():
    with pytest.raises(ExecutorError, match="at least 1"):
        LocalExecutor(0)
    with pytest.raises(ExecutorError, match="applies to local processes"):
        open_executor("tcp://127.0.0.1:8786", workers=2)


def test_dask_cluster_on_loopback_gives_the_same_numbers(reference):
    distributed = pytest.importorskip("distributed", reason="needs the dask extra: pip install -e '.[dask]'")
    with distributed.LocalCluster(host="127.0.0.1", n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None, silence_logs=40) as cluster:
        assert cluster.scheduler_address.startswith("tcp://127.0.0.1:")
        with open_executor(cluster.scheduler_address) as executor:
            assert isinstance(executor, DaskExecutor) and executor.workers == 2
            report = run(["forcebench"], ["synthetic", "real"], trials=1, executor=executor)
            calibrations = monte_carlo(8, executor=executor)
            assert executor.map(square, range(30)) == [x * x for x in range(30)]
            with pytest.raises(ArithmeticError, match="seven"):
                executor.map(fail_on_seven, range(10))
    assert numbers(report) == numbers(reference)
    assert report.executor.startswith(f"Dask at {cluster.scheduler_address}")
    assert calibrations.outcomes == monte_carlo(8).outcomes  # in this process


def test_an_unreachable_scheduler_is_one_clear_error():
    pytest.importorskip("distributed", reason="needs the dask extra")
    with pytest.raises(ExecutorError, match="cannot reach the Dask scheduler at tcp://127.0.0.1:9"):
        DaskExecutor("tcp://127.0.0.1:9", timeout_s=1.0)
