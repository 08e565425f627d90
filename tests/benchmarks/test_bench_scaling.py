"""Scaling of a sweep with the worker count: the same conformance sweep (forcebench, one
simulated trial per cell of the synthetic suite: 72 trials, simulated and analysed in the
workers) on 1 and 2 local processes, and on 1 and 2 workers of a Dask LocalCluster on 127.0.0.1.

The figure is the speed-up of 2 workers over 1, measured in the same run. The machine has 2 cores
shared with other work, so it is reported, not asserted; what is asserted is that every worker
count gives the same numbers.
"""
from __future__ import annotations

import time

import pytest
from figures import figure

from hil.conformance import plan
from hil.conformance.score import observe, rows
from hil.executor import DaskExecutor, LocalExecutor


def sweep(executor, **options):
    """The sweep's rows (as plain dicts) and its wall time; ``options`` go to executor.map."""
    items, _, _ = plan(["forcebench"], ("synthetic",), trials=1)
    began = time.perf_counter()
    outcomes = [o for batch in executor.map(observe, items, **options) for o in batch]
    return [r.to_dict() for r in rows(outcomes)], time.perf_counter() - began


def speedup(benchmark, executor: str, seconds_1: float, seconds_2: float) -> None:
    figure(benchmark, "speedup_2_workers_over_1", seconds_1 / seconds_2, "×", executor=executor,
           trials=72, seconds_1_worker=seconds_1, seconds_2_workers=seconds_2,
           trials_per_second_2_workers=72 / seconds_2)
    print(f"\n{executor}: 1 worker {seconds_1:.2f} s, 2 workers {seconds_2:.2f} s: {seconds_1 / seconds_2:.2f}×")


@pytest.mark.large  # LocalClusters: the same numbers are checked in tests/test_executor.py
@pytest.mark.benchmark(group="sweep scaling")
def test_local_processes_scaling(benchmark):
    with LocalExecutor(1) as one:
        numbers_1, seconds_1 = sweep(one)
    with LocalExecutor(2) as two:
        numbers_2, seconds_2 = benchmark.pedantic(sweep, (two,), rounds=1, iterations=1)
    speedup(benchmark, "local processes", seconds_1, seconds_2)
    assert numbers_1 == numbers_2


@pytest.mark.large  # LocalClusters: the same numbers are checked in tests/test_executor.py
@pytest.mark.benchmark(group="sweep scaling")
def test_dask_cluster_scaling(benchmark):
    distributed = pytest.importorskip("distributed", reason="needs the dask extra")
    with distributed.LocalCluster(host="127.0.0.1", n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None, silence_logs=40) as cluster:
        with DaskExecutor(cluster.scheduler_address) as executor:
            first = sorted(executor.client.scheduler_info()["workers"])[0]
            sweep(executor, workers=[first])  # warm both workers' imports before timing
            sweep(executor)
            numbers_1, seconds_1 = sweep(executor, workers=[first])
            numbers_2, seconds_2 = benchmark.pedantic(sweep, (executor,), rounds=1, iterations=1)
    speedup(benchmark, "Dask LocalCluster", seconds_1, seconds_2)
    assert numbers_1 == numbers_2
