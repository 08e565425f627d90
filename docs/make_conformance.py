"""Regenerate the conformance tables in docs/conformance.md and README.md (between their
``<!-- conformance:begin -->`` and ``<!-- conformance:end -->`` markers) from one full run:
every installed analyser (pip install -e '.[peers]' for the peers), every suite this
installation has, the default trials per cell.

    .venv/bin/python docs/make_conformance.py [--trials N] [--workers N]
"""
from __future__ import annotations

import argparse
import os
import platform
import re
import sys
import time
from pathlib import Path

from hil.conformance import DEFAULT_TRIALS, Report, run
from hil.conformance.analysers import available
from hil.conformance.table import text
from hil.executor import LocalExecutor
from hil.progress import Progress

ROOT = Path(__file__).resolve().parents[1]
BEGIN, END = "<!-- conformance:begin -->", "<!-- conformance:end -->"
WORST = 4  # misses listed per analyser and suite in the README


def command(trials: int) -> str:
    extra = "" if trials == DEFAULT_TRIALS else f" --trials {trials}"
    return f".venv/bin/python docs/make_conformance.py{extra}"


def provenance(report: Report, trials: int, load: tuple[float, float]) -> str:
    return (f"Measured {time.strftime('%Y-%m-%d', time.gmtime())} on {platform.machine()} "
            f"({report.meta['machine']['cpus']} cores, shared; load average {load[0]:.1f} at the "
            f"start, {load[1]:.1f} at the end), Python {platform.python_version()}, "
            f"{report.executor}, {report.wall_s:.0f} s; {trials} trials per test, rate, plate count "
            f"and preset. Reproduce: `{command(trials)}` (equivalently `forcebench conformance "
            f"--analyser all --suite all --markdown`).")


def readme_table(report: Report) -> str:
    lines = ["| suite | analyser | metric rows meeting the spec | misses (the worst, by how much) |",
             "|---|---|---|---|"]
    for suite in report.suites:
        for name, version in report.analysers:
            mine = [r for r in report.rows if r.suite == suite and r.analyser == name]
            if not mine:
                continue
            missed = sorted((r for r in mine if not r.met), key=lambda r: r.pass_rate)
            shown = [f"{r.test} `{r.metric}` {100 * r.pass_rate:.0f} % pass"
                     + (f", {r.percentile} {r.p95_over_limit:.1f}× tol" if r.p95_over_limit and r.p95_over_limit > 1 else "")
                     + (f", {r.refusals} refusals" if r.refusals else "") for r in missed[:WORST]]
            if len(missed) > WORST:
                shown.append(f"… {len(missed) - WORST} more")
            lines.append(f"| {suite} ({report.cases[suite]} trials) | {name} {version} | "
                         f"{len(mine) - len(missed)}/{len(mine)} | {'; '.join(shown) or '–'} |")
    return "\n".join(lines)


def speed_table(report: Report) -> str:
    """Median time inside each analyser per trial, by test, as a ratio to forcebench's: the same
    traces, in the same run and process."""
    names = [name for name, _ in report.analysers]
    lines = ["| test | " + " | ".join(f"{name}: median per trial" + ("" if name == "forcebench" else ", × forcebench")
                                     for name in names) + " |", "|---" * (len(names) + 1) + "|"]
    ours = report.seconds_per_trial.get("forcebench", {})
    for test in ours:
        cells = []
        for name in names:
            seconds = report.seconds_per_trial.get(name, {}).get(test)
            if seconds is None:
                cells.append("–")
            elif name == "forcebench":
                cells.append(f"{1e3 * seconds:.2f} ms")
            else:
                cells.append(f"{1e3 * seconds:.2f} ms, {seconds / ours[test]:.2f}×")
        lines.append(f"| {test} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def splice(path: Path, body: str) -> None:
    content = path.read_text()
    pattern = re.compile(re.escape(BEGIN) + ".*?" + re.escape(END), re.S)
    if not pattern.search(content):
        raise SystemExit(f"{path}: no {BEGIN} … {END} markers")
    path.write_text(pattern.sub(lambda _: f"{BEGIN}\n{body}\n{END}", content))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=DEFAULT_TRIALS)
    parser.add_argument("--workers", type=int, default=None)
    args = parser.parse_args(argv)
    meter: list[Progress] = []

    def progress(done: int, total: int) -> None:
        if not meter:
            meter.append(Progress(total, "conformance"))
        meter[0].update(done, final=done == total)

    began = os.getloadavg()[0]
    with LocalExecutor(args.workers) as executor:
        report = run(available(), ["all"], args.trials, executor, progress, strict=False)
    note = provenance(report, args.trials, (began, os.getloadavg()[0]))
    splice(ROOT / "docs" / "conformance.md", f"{note}\n\n{text(report, markdown=True)}")
    splice(ROOT / "README.md", f"{readme_table(report)}\n\nSpeed in the same run: the median over every "
                               f"suite's trials of a test of the wall time inside the analyser, each trial "
                               f"analysed once (cold, and slowed by the box's load; the fastest rounds of one "
                               f"recording are in the analysis benchmark below):\n\n{speed_table(report)}\n\n"
                               f"{note} Full table: [docs/conformance.md](docs/conformance.md#the-table).")
    print(text(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
