"""Streaming analysis: feed sample blocks as they arrive, get each result as soon as it is known.

    analyser = StreamingAnalyser("cmj", rate_hz=1000)
    for block in blocks:                 # (k,) or (k, plates), 1–100 samples
        for result in analyser.feed(block):
            ...
    results = analyser.finish()          # whatever needed the end of the recording

The buffer from the start of the current movement is analysed by the same test module as the
batch analysis. A result is emitted when the buffer holds the sample at its ``needed_until_s``;
the next movement is then looked for in the samples after it (hil.analysis.multi). So the
results equal ``analyse_all`` on the same samples, to the last digit.

Cost: the module is not rerun on every block. When its last answer named a future sample
(``needed_until_s`` ahead of the buffer: a landing window still filling), the next attempt waits
for that sample; when it refused or depended on the buffer's end (waiting for a takeoff or a
landing), it is retried after ``retry_s`` of new data or 10 % of the movement's samples so far,
whichever is more (each attempt costs time in proportion to the samples, so this keeps the cost
per second of data flat); and, in between, whenever the analysis has been idle three times as
long as its last attempt took, which in real time means every few milliseconds. When attempts
happen never changes a result, only how soon it is emitted. A module whose result always rests
on the recording's end (``RESULT_AT_END``: run) is analysed once, by ``finish()``; running also
gives a result per step as each step completes (``Result.step`` numbers them; hil.analysis.run
``Steps``), which ``analyse_all`` does not.
"""
from __future__ import annotations

import time
from typing import Callable

import numpy as np

from hil.analysis.multi import module_for, needed_index, to_result
from hil.analysis.result import Result
from hil.analysis.signal import AnalysisInputError, Options, check_rate, check_test, prepare

RETRY_S = 0.010  # data between attempts while no result is in sight ...
RETRY_FRACTION = 10  # ... or 1/10 of the movement's samples so far, whichever is more, so the
# cost per second of data stays flat however long the athlete stands before moving
CPU_SHARE = 0.25  # in real time, retry as often as keeps the analysis under this share of a core
MAX_BLOCK = 100


class StreamingAnalyser:
    """Incremental analysis of one test (see module docstring)."""

    def __init__(self, test: str, rate_hz: float, plates: int = 1,
                 body_mass_kg: float | None = None, drop_height_m: float | None = None,
                 retry_s: float = RETRY_S) -> None:
        check_test(test)
        rate = check_rate(rate_hz)
        if plates not in (1, 2):
            raise AnalysisInputError(f"plates must be 1 or 2, got {plates!r}")
        self.test, self.rate_hz, self.plates = test, rate, plates
        self._options = Options(body_mass_kg=body_mass_kg, drop_height_m=drop_height_m)
        self._module = module_for(test)
        self._at_end_only = getattr(self._module, "RESULT_AT_END", False)  # run: see run.py
        self._steps = self._module.Steps(rate, plates) if hasattr(self._module, "Steps") else None
        self._step_count = 0
        self._retry = max(1, int(round(retry_s * rate)))
        self._buffer = np.empty((4096, plates))
        self._origin = 0  # recording index of self._buffer[0]
        self._length = 0  # samples held
        self._segment = 0  # recording index where the current movement's samples start
        self._next_try = 2  # recording sample count at which to analyse again
        self._emitted = False
        self._finished = False
        self._retrying = False  # the last attempt could not tell when the result will be complete
        self._tried_at = 0  # sample count at the last attempt
        self._cost = 0.0  # seconds the last attempt took
        self._idle_since = 0.0  # perf_counter() when it ended

    @property
    def samples(self) -> int:
        """Samples fed so far."""
        return self._origin + self._length

    def feed(self, block: np.ndarray) -> list[Result]:
        """Add 1–MAX_BLOCK samples; return the results completed by them (often none)."""
        if self._finished:
            raise AnalysisInputError("feed() after finish()")
        data = np.asarray(block, dtype=np.float64)
        if data.ndim == 1 and self.plates == 1:
            data = data[:, None]
        if data.ndim != 2 or data.shape[1] != self.plates or not 1 <= data.shape[0] <= MAX_BLOCK:
            raise AnalysisInputError(f"a block must be shaped (k,) or (k, {self.plates}) with "
                                     f"1 ≤ k ≤ {MAX_BLOCK}, got {data.shape}")
        self._append(data)
        steps = [] if self._steps is None else self._step_results()
        if self._at_end_only:
            return steps  # its whole result rests on the recording's end: finish() gives it
        return self._collect(lambda: self.samples >= self._next_try or self._idle_enough(), final=False)

    def _step_results(self) -> list[Result]:
        """Steps completed by the samples so far, each a Result numbered from 1."""
        results = []
        for partial in self._steps.feed(self._buffer[:self._length]):
            self._step_count += 1
            results.append(Result(self.test, float(self.rate_hz), dict(partial.metrics),
                                  dict(partial.events), tuple(partial.per_rep), tuple(partial.issues),
                                  needed_until_s=partial.needed_until_s, step=self._step_count))
        return results

    def _idle_enough(self) -> bool:
        """While retrying, also attempt when the analysis has been idle for long enough that
        attempting keeps it under CPU_SHARE of the time: in real time that is every few ms
        (low latency); in a fast replay the data-based retry above governs."""
        return (self._retrying and self.samples > self._tried_at and
                time.perf_counter() - self._idle_since >= self._cost * (1 / CPU_SHARE - 1))

    def finish(self) -> list[Result]:
        """The end of the recording: results that depended on it (and a refusal if nothing
        at all was found)."""
        self._finished = True
        return self._collect(lambda: self.samples - self._segment >= 2, final=True)

    def _collect(self, ready: Callable[[], bool], final: bool) -> list[Result]:
        """Attempt while ``ready()`` and each attempt completes a result."""
        results = []
        while ready() and (result := self._attempt(final)) is not None:
            results.append(result)
        return results

    def _attempt(self, final: bool) -> Result | None:
        """Analyse the current movement's samples; emit and move on if its result is complete."""
        start = self._segment - self._origin
        data = self._buffer[start:self._length]
        n = data.shape[0]
        if n < 2:
            self._next_try = self.samples + 1
            return None
        began = time.perf_counter()
        signal = prepare(data, self.rate_hz)
        partial = self._module.analyse(signal, self._options)
        self._idle_since = time.perf_counter()
        self._cost, self._tried_at = self._idle_since - began, self.samples
        end = needed_index(partial, self.rate_hz, n)
        self._retrying = False
        if partial.refused:
            if final and not self._emitted:
                self._emitted = True
                self._segment = self.samples
                return to_result(partial, signal, self.test, self._segment - n)
            self._next_try = self.samples + max(self._retry, n // RETRY_FRACTION)
            self._retrying = True
            return None
        wanted = 0 if partial.needed_until_s is None else int(round(partial.needed_until_s * self.rate_hz))
        if end < n or final:
            result = to_result(partial, signal, self.test, self._segment)
            self._emitted = True
            self._segment += min(end, n - 1) + 1
            self._next_try = self._segment + 2
            self._drop_consumed()
            return result
        # not complete: wait for the sample it named, or retry after a while
        if wanted >= n + 1:
            self._next_try = self._segment + wanted + 1  # it named the sample it waits for
        else:
            self._next_try = self.samples + max(self._retry, n // RETRY_FRACTION)
            self._retrying = True
        return None

    def _append(self, data: np.ndarray) -> None:
        k = data.shape[0]
        if self._length + k > self._buffer.shape[0]:
            grown = np.empty((max(2 * self._buffer.shape[0], self._length + k), self.plates))
            grown[:self._length] = self._buffer[:self._length]
            self._buffer = grown
        self._buffer[self._length:self._length + k] = data
        self._length += k

    def _drop_consumed(self) -> None:
        """Forget samples before the current movement (they can no longer matter)."""
        drop = self._segment - self._origin
        if drop > self._buffer.shape[0] // 2:
            keep = self._length - drop
            self._buffer[:keep] = self._buffer[drop:self._length]
            self._origin, self._length = self._segment, keep
