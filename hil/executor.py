"""One interface for sweeps: local processes by default, a Dask cluster given its scheduler.

    from hil.executor import open_executor
    with open_executor(workers=2) as executor:                 # local processes
        results = executor.map(work, items)
    with open_executor(scheduler="tcp://10.0.0.5:8786") as executor:   # `pip install forcebench[dask]`
        results = executor.map(work, items, progress=print)

``work`` must be a module-level function (it is pickled by name) and each item a picklable
record; results come back in the order of ``items``, so the same sweep gives the same numbers
wherever it runs. Items travel in chunks, so a sweep of thousands of short trials does not pay
a round trip per trial.
"""
from __future__ import annotations

import math
import os
from concurrent.futures import ProcessPoolExecutor, as_completed
from typing import Any, Callable, Sequence

CONNECT_TIMEOUT_S = 10.0  # a scheduler that does not answer in this long is not there
CHUNKS_PER_WORKER = 4  # enough chunks to keep every worker busy to the end, few enough to be cheap

Progress = Callable[[int], None]  # called with the number of items done so far


class ExecutorError(ValueError):
    """A cluster that cannot be reached or used (printed as one line by the command)."""


def _run_chunk(work: Callable[[Any], Any], chunk: Sequence[Any]) -> list[Any]:
    return [work(item) for item in chunk]


def _chunks(items: Sequence[Any], workers: int) -> list[Sequence[Any]]:
    size = max(1, math.ceil(len(items) / (workers * CHUNKS_PER_WORKER)))
    return [items[i:i + size] for i in range(0, len(items), size)]


class LocalExecutor:
    """Processes on this machine; one worker runs in this process (no start-up, easy to debug)."""

    def __init__(self, workers: int | None = None) -> None:
        self.workers = (os.cpu_count() or 1) if workers is None else int(workers)
        if self.workers < 1:
            raise ExecutorError(f"workers must be at least 1, got {self.workers}")
        self._pool = ProcessPoolExecutor(self.workers) if self.workers > 1 else None

    def describe(self) -> str:
        return f"local, {self.workers} process{'es' if self.workers > 1 else ''}"

    def map(self, work: Callable[[Any], Any], items: Sequence[Any],
            progress: Progress | None = None) -> list[Any]:
        items = list(items)
        if self._pool is None:
            out = []
            for item in items:
                out.append(work(item))
                if progress:
                    progress(len(out))
            return out
        chunks = _chunks(items, self.workers)
        futures = {self._pool.submit(_run_chunk, work, chunk): n for n, chunk in enumerate(chunks)}
        return _gather(futures, chunks, progress)

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(cancel_futures=True)

    def __enter__(self) -> LocalExecutor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class DaskExecutor:
    """A Dask distributed cluster, reached through its scheduler's address."""

    def __init__(self, address: str, timeout_s: float = CONNECT_TIMEOUT_S) -> None:
        try:
            from distributed import Client
        except ImportError:
            raise ExecutorError("a Dask scheduler needs the dask extra: pip install 'forcebench[dask]'") from None
        try:
            self.client = Client(address, timeout=f"{timeout_s}s", set_as_default=False)
        except (OSError, TimeoutError, ValueError) as error:
            raise ExecutorError(f"cannot reach the Dask scheduler at {address}: {error}") from None
        self.address = address

    @property
    def workers(self) -> int:
        return max(1, sum(w.get("nthreads", 1) for w in self.client.scheduler_info()["workers"].values()))

    def describe(self) -> str:
        return f"Dask at {self.address}, {self.workers} worker thread(s)"

    def map(self, work: Callable[[Any], Any], items: Sequence[Any],
            progress: Progress | None = None, workers: Sequence[str] | None = None) -> list[Any]:
        """As LocalExecutor.map; ``workers`` (addresses) restricts the sweep to some workers."""
        from distributed import as_completed as dask_completed

        chunks = _chunks(list(items), self.workers if workers is None else len(workers))
        futures = self.client.map(_run_chunk, [work] * len(chunks), chunks, pure=False,
                                  workers=None if workers is None else list(workers))
        order = {future.key: n for n, future in enumerate(futures)}
        results: list[list[Any] | None] = [None] * len(chunks)
        done = 0
        for future in dask_completed(futures, loop=self.client.loop):
            results[order[future.key]] = future.result()  # re-raises a worker's exception here
            done += len(chunks[order[future.key]])
            if progress:
                progress(done)
        return [item for chunk in results for item in chunk or ()]

    def close(self) -> None:
        self.client.close()

    def __enter__(self) -> DaskExecutor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _gather(futures: dict, chunks: list[Sequence[Any]], progress: Progress | None) -> list[Any]:
    results: list[list[Any] | None] = [None] * len(chunks)
    done = 0
    for future in as_completed(futures):
        n = futures[future]
        results[n] = future.result()
        done += len(chunks[n])
        if progress:
            progress(done)
    return [item for chunk in results for item in chunk or ()]


def open_executor(scheduler: str | None = None, workers: int | None = None) -> LocalExecutor | DaskExecutor:
    """A Dask executor when given a scheduler address, else local processes (``workers``, default
    one per core)."""
    if scheduler:
        if workers is not None:
            raise ExecutorError("--workers applies to local processes; a Dask cluster has its own")
        return DaskExecutor(scheduler)
    return LocalExecutor(workers)
