"""The conformance table for people: plain text for the terminal, Markdown for README/docs."""
from __future__ import annotations

from typing import Sequence

from hil.conformance import Report
from hil.conformance.score import Row
from hil.spec import MIN_PASS_RATE

SHOWN_UNITS = {"m": (1e3, "mm"), "s": (1e3, "ms")}  # small lengths and times read better in milli
SUITE_TITLES = {
    "synthetic": "simulated trials against their exact truth (noise presets none and typical)",
    "field": "simulated trials against their exact truth (noise preset field)",
    "real": "real recordings against the median of published methods (agreement tolerances)",
}
HEADER = ("test", "metric", "analyser", "trials", "bias", "|error|", "tolerance", "pass rate",
          "refusals", "verdict")


def _value(value: float | None, unit: str, signed: bool = False) -> str:
    if value is None:
        return "–"
    scale, shown = SHOWN_UNITS.get(unit, (1.0, unit))
    number = f"{value * scale:+.3g}" if signed else f"{value * scale:.3g}"
    return f"{number} {shown}" if shown not in ("1", "count") else number


def verdict(row: Row) -> str:
    """"met", or by how much the analyser misses: its error against the tolerance, its refusals."""
    if row.met:
        return "met"
    reasons = []
    if row.p95_over_limit is not None and row.p95_over_limit > 1:
        reasons.append(f"{row.percentile} |error| {row.p95_over_limit:.3g}× tolerance")
    elif row.tolerance == "exact" and row.p95_error:
        reasons.append(f"{row.percentile} |error| {row.p95_error:.3g}, exact required")
    if row.refusals:
        reasons.append(f"no value in {row.refusals}/{row.trials}")
    return "MISSES: " + ("; ".join(reasons) or f"pass rate under {100 * MIN_PASS_RATE:g} %")


def cells(row: Row) -> tuple[str, ...]:
    error = _value(row.p95_error, row.unit)
    return (row.test, row.metric, row.analyser, str(row.trials), _value(row.bias, row.unit, True),
            f"{error} ({row.percentile})" if row.p95_error is not None else error, row.tolerance,
            f"{row.passed}/{row.trials} ({100 * row.pass_rate:.0f} %)", str(row.refusals), verdict(row))


def _grid(rows: Sequence[tuple[str, ...]], markdown: bool) -> str:
    if markdown:
        lines = ["| " + " | ".join(HEADER) + " |", "|" + "---|" * len(HEADER)]
        lines += ["| " + " | ".join(cell.replace("|", "\\|") for cell in row) + " |" for row in rows]
        return "\n".join(lines)
    table = [HEADER, *rows]
    widths = [max(len(row[i]) for row in table) for i in range(len(HEADER))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip() for row in table)


def summary(report: Report) -> list[str]:
    lines = []
    for name, version in report.analysers:
        missed = report.missed(name)
        judged = sum(r.analyser == name for r in report.rows)
        state = (f"meets the spec on all {judged} metric rows" if not missed
                 else f"misses {len(missed)} of {judged} metric rows")
        lines.append(f"{name} {version}: {state}; declined {report.refused_trials.get(name, 0)} trial(s)")
    return lines


def text(report: Report, markdown: bool = False) -> str:
    """Every suite's table, the analysers' summary, and what was skipped."""
    out = []
    for suite in report.suites:
        chosen = [cells(r) for r in report.rows if r.suite == suite]
        title = f"{suite}: {report.cases[suite]} trials, {SUITE_TITLES[suite]}"
        out += [f"**{title}**" if markdown else title, "", _grid(chosen, markdown), ""]
    out += [("- " if markdown else "") + line for line in summary(report)]
    out += [("- " if markdown else "") + f"skipped: {reason}" for reason in report.skipped]
    return "\n".join(out)
