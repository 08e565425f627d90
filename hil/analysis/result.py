"""What the analysis returns: metrics, events, per-repetition values and their quality."""
from __future__ import annotations

import importlib.metadata
from dataclasses import dataclass, field
from typing import Any, Mapping

ANALYSER_NAME = "forcebench"
try:  # the installed package's version (pyproject.toml), so a report names the exact analyser
    ANALYSER_VERSION = importlib.metadata.version(ANALYSER_NAME)
except importlib.metadata.PackageNotFoundError:  # a source tree that was never installed
    ANALYSER_VERSION = "unknown"


@dataclass(frozen=True)
class Issue:
    """Why the data cannot support (all of) a result; times in seconds from the first sample."""

    code: str
    message: str
    start_s: float | None = None
    end_s: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"code": self.code, "message": self.message,
                "start_s": self.start_s, "end_s": self.end_s}


@dataclass(frozen=True)
class Partial:
    """One test module's findings, before the common wrapper turns them into a Result.

    ``needed_until_s`` is the time of the last sample the result depends on: the streaming
    analyser emits the result as soon as it has that sample, and the bench measures latency
    from it. ``refused`` means no metric could be supported (exit status 3 on the CLI).

    The rule that makes streaming equal batch: a module given only the first k samples of a
    recording must return exactly the same Partial as for the whole recording whenever
    ``needed_until_s`` ≤ (k − 1)/rate. So every decision may use only samples up to
    ``needed_until_s``; a result that depends on where the recording ends (a movement cut off
    by the end, a window running past it) sets ``needed_until_s = n/rate`` (one sample past the
    end) or leaves it None, and streaming then holds it until ``finish()``. A module that must
    wait for samples it has not seen (say, 0.4 s after a landing) should return that future
    time rather than refuse, so that the streaming analyser can wait for it cheaply.
    """

    metrics: Mapping[str, float] = field(default_factory=dict)
    events: Mapping[str, float] = field(default_factory=dict)
    per_rep: tuple[Mapping[str, float], ...] = ()
    issues: tuple[Issue, ...] = ()
    needed_until_s: float | None = None
    refused: bool = False


def refusal(code: str, message: str, start_s: float, end_s: float) -> Partial:
    """A Partial that supports no metric: why, and over which span of the recording. It rests
    on the recording's end (``needed_until_s`` None), as nothing found so far may change that."""
    return Partial(issues=(Issue(code, message, start_s, end_s),), refused=True)


@dataclass(frozen=True)
class Result:
    """The analysis of one recording (or one movement found in a stream)."""

    test: str
    sample_rate_hz: float
    metrics: Mapping[str, float]
    events: Mapping[str, float]
    per_rep: tuple[Mapping[str, float], ...]
    issues: tuple[Issue, ...]
    refused: bool = False
    needed_until_s: float | None = None
    step: int | None = None  # running, while streaming: which step (from 1) this result is for

    @property
    def quality(self) -> dict[str, Any]:
        return {"ok": not self.issues and not self.refused,
                "issues": [issue.to_dict() for issue in self.issues]}

    def to_dict(self) -> dict[str, Any]:
        return {
            "test": self.test,
            "sample_rate_hz": float(self.sample_rate_hz),
            "metrics": {k: float(v) for k, v in self.metrics.items()},
            "events": {k: float(v) for k, v in self.events.items()},
            "per_rep": [{k: float(v) for k, v in rep.items()} for rep in self.per_rep],
            "quality": self.quality,
            "analyser": {"name": ANALYSER_NAME, "version": ANALYSER_VERSION},
            **({} if self.step is None else {"step": self.step}),
        }
