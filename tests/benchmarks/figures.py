"""How a benchmark describes itself, and how its speed is judged without absolute times.

Every benchmark calls ``figure`` once: the figure it measures, its value and unit go into
``extra_info``, so ``--benchmark-json`` output says what each number is. A benchmark that
guards speed also calls ``judge``: its time is divided by a reference computation timed in the
same run (a fixed numpy + interpreter workload), and that ratio is compared with the ratio
committed for this machine in timing_baselines.json. A regression fails only past
REGRESSION_FACTOR; a missing baseline, another machine or disabled benchmarks mean "skipped,
recorded" (in extra_info, the JUnit properties and the output), never "failed".

    .venv/bin/python -m pytest tests/benchmarks --update-timing-baselines   # record this machine
"""
from __future__ import annotations

import json
import os
import platform
import timeit
from pathlib import Path
from typing import Any

import numpy as np
import pytest

BASELINES = Path(__file__).with_name("timing_baselines.json")
REGRESSION_FACTOR = 4.0  # a ratio this many times its baseline fails: load on a shared host moved
# long benchmarks (the 38 ms run analysis) to 1.9× their baseline, so 4× is a regression, not noise
_WORK = np.random.default_rng(0).standard_normal(50_000)
JUDGED: list[tuple[str, str]] = []  # (key, outcome) of every judgement this run, for the summary


def _reference_work() -> float:
    total = 0.0
    for value in _WORK[:2_000]:  # interpreter-bound, as the analysis' event loops
        total += value if value > 0 else -value
    return total + float(np.sort(_WORK)[25_000] + np.cumsum(_WORK)[-1])  # numpy-bound


def reference_s() -> float:
    """The reference computation's fastest of several runs, now (~15 ms in all)."""
    return min(timeit.repeat(_reference_work, number=1, repeat=15))


def machine() -> str:
    """What a timing ratio is valid for: CPU model and count, Python version."""
    model = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{model} ×{os.cpu_count()} / Python {platform.python_version_tuple()[0]}.{platform.python_version_tuple()[1]}"


def figure(benchmark: Any, name: str, value: float | int | None, unit: str, **more: Any) -> None:
    """Record what this benchmark measures (its headline figure) in extra_info."""
    benchmark.extra_info.update(figure=name, value=value, unit=unit, **more)


def fastest(benchmark: Any) -> float | None:
    """The fastest round in seconds, or None when benchmarks are disabled."""
    return None if benchmark.disabled or benchmark.stats is None else float(benchmark.stats.stats.min)


def judge(benchmark: Any, request: pytest.FixtureRequest, key: str, seconds: float | None) -> None:
    """Compare ``seconds`` / the reference with this machine's committed ratio for ``key``."""
    def skipped(reason: str) -> None:
        benchmark.extra_info["timing_baseline"] = f"skipped: {reason}"
        JUDGED.append((key, f"skipped: {reason}"))
        request.node.user_properties.append((f"timing_baseline.{key}", f"skipped: {reason}"))
        print(f"\n{key}: timing baseline skipped: {reason}")

    if seconds is None:
        return skipped("benchmarks disabled, nothing timed")
    reference = reference_s()
    ratio = seconds / reference
    benchmark.extra_info.update(reference_s=reference, ratio_to_reference=ratio)
    here = machine()
    stored = json.loads(BASELINES.read_text()) if BASELINES.exists() else {}
    if request.config.getoption("--update-timing-baselines"):
        stored.setdefault(here, {})[key] = round(ratio, 4)
        BASELINES.write_text(json.dumps(stored, indent=1, sort_keys=True, ensure_ascii=False) + "\n")
        return skipped("baseline updated by this run")
    if here not in stored:
        return skipped(f"no baseline for this machine ({here})")
    if key not in stored[here]:
        return skipped(f"no baseline for {key} on this machine")
    before = stored[here][key]
    benchmark.extra_info.update(baseline_ratio=before, ratio_over_baseline=ratio / before)
    request.node.user_properties.append((f"timing_baseline.{key}", f"{ratio / before:.2f}× baseline"))
    JUDGED.append((key, f"{ratio / before:.2f}× its baseline ratio (fails at {REGRESSION_FACTOR:g}×)"))
    assert ratio < REGRESSION_FACTOR * before, (
        f"{key}: {ratio:.3g}× the reference computation, baseline {before:.3g}× on {here} "
        f"(limit {REGRESSION_FACTOR:g}× the baseline)")
