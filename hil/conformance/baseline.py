"""Accuracy baselines: a conformance run's deterministic numbers (pass counts, refusals and bias
per metric, for fixed seeds) written to a file that is committed, and compared on the next run.
A change that moves any of them is reported as a table of what moved.

    forcebench conformance --suite synthetic --trials 1 --write-baseline tests/baselines/accuracy.json
    forcebench conformance --suite synthetic --trials 1 --baseline tests/baselines/accuracy.json
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

from hil.conformance import Report

FORMAT = 1
BIAS_RELATIVE = 1e-6  # bias is a float sum: this much is rounding across numpy builds, not a change
BIAS_ABSOLUTE = 1e-12


class BaselineMismatch(ValueError):
    """A baseline made for another sweep (suites, trials, analysers): nothing to compare."""


@dataclass(frozen=True)
class Moved:
    row: str  # suite/test/metric/analyser
    quantity: str
    before: Any
    after: Any


def snapshot(report: Report) -> dict[str, Any]:
    return {
        "format": FORMAT,
        "sweep": _sweep(report),
        "versions": {name: version for name, version in report.analysers},
        "rows": {f"{r.suite}/{r.test}/{r.metric}/{r.analyser}":
                 {"trials": r.trials, "passed": r.passed, "refusals": r.refusals, "bias": r.bias}
                 for r in report.rows},
    }


def _sweep(report: Report) -> dict[str, Any]:
    return {"suites": list(report.suites), "trials_per_cell": report.trials,
            "analysers": [name for name, _ in report.analysers]}


def write(path: str | Path, report: Report) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(snapshot(report), indent=1, sort_keys=True) + "\n")
    return path


def read(path: str | Path) -> dict[str, Any]:
    try:
        data = json.loads(Path(path).read_text())
    except OSError as error:
        raise FileNotFoundError(f"no baseline at {path}: {error.strerror or error}") from None
    except json.JSONDecodeError as error:
        raise BaselineMismatch(f"{path} is not a baseline (line {error.lineno}: {error.msg})") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT or "rows" not in data:
        raise BaselineMismatch(f"{path} is not a format-{FORMAT} forcebench baseline")
    return data


def compare(baseline: Mapping[str, Any], report: Report) -> list[Moved]:
    """What moved between the baseline and this run (empty: nothing)."""
    if baseline["sweep"] != _sweep(report):
        raise BaselineMismatch(f"the baseline was made for {baseline['sweep']}, this run is {_sweep(report)}")
    now = snapshot(report)["rows"]
    before = baseline["rows"]
    moved = []
    for key in list(before) + [k for k in now if k not in before]:
        if key not in now or key not in before:
            moved.append(Moved(key, "row", "present" if key in before else "absent",
                               "present" if key in now else "absent"))
            continue
        for quantity in ("trials", "passed", "refusals"):
            if before[key][quantity] != now[key][quantity]:
                moved.append(Moved(key, quantity, before[key][quantity], now[key][quantity]))
        a, b = before[key]["bias"], now[key]["bias"]
        if (a is None) != (b is None) or (a is not None and not math.isclose(
                a, b, rel_tol=BIAS_RELATIVE, abs_tol=BIAS_ABSOLUTE)):
            moved.append(Moved(key, "bias", a, b))
    return moved


def moved_table(moved: list[Moved]) -> str:
    def show(value: Any) -> str:
        return f"{value:.6g}" if isinstance(value, float) else str(value)

    rows = [("suite/test/metric/analyser", "quantity", "baseline", "now", "change")]
    for m in moved:
        change = (show(m.after - m.before) if isinstance(m.before, (int, float))
                  and isinstance(m.after, (int, float)) else "")
        rows.append((m.row, m.quantity, show(m.before), show(m.after), change))
    widths = [max(len(r[i]) for r in rows) for i in range(5)]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in rows)
