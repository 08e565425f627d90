"""What the analysis returns: metrics, events, per-repetition values and their quality."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping

ANALYSER_NAME = "forcebench"
ANALYSER_VERSION = "0.1.0"


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
    """

    metrics: Mapping[str, float] = field(default_factory=dict)
    events: Mapping[str, float] = field(default_factory=dict)
    per_rep: tuple[Mapping[str, float], ...] = ()
    issues: tuple[Issue, ...] = ()
    needed_until_s: float | None = None
    refused: bool = False


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
        }
