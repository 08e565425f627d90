"""A replay's record: report.json (one serialisable record), report.xml (JUnit), PNG plots;
and one analysis result as a table for people (`forcebench analyse` without --json).

The JSON record is the contract (docs/bench.md, "Report"); the JUnit file and the
plots are views of it, so that CI systems and people can read the same run.
"""
from __future__ import annotations

import json
import math
import os
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

import numpy as np

from hil.spec import P99_MIN_COUNT

MAX_TRACE_PLOTS = 12  # the first trial of each test and every failure, up to this many


@dataclass(frozen=True)
class Trace:
    """What a trace plot needs: the trial's acquired force with true and detected events."""

    label: str
    time: np.ndarray
    force: np.ndarray
    true_events: Mapping[str, float] = field(default_factory=dict)
    detected_events: Mapping[str, float] = field(default_factory=dict)


def write(directory: str | Path, record: Mapping[str, Any], traces: Sequence[Trace] = (),
          latencies_s: Mapping[str, Sequence[float]] | None = None, plots: bool = True) -> list[Path]:
    """Write the plots (unless ``plots`` is off), report.json and report.xml into ``directory``;
    returns the files written. ``latencies_s``: the values of each latency figure (by name),
    for its histogram.

    The JSON gets a ``plots`` entry: the PNG file names, or why none were drawn."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    skipped = plots_available() if plots else "plots not asked for (--no-plots)"
    pngs = [] if skipped else write_plots(directory, record, traces, latencies_s or {})
    record = {**record, "plots": {"files": [p.name for p in pngs], "skipped": skipped}}
    xml = write_junit(directory / "report.xml", record)
    return [write_json(directory / "report.json", record), xml] + pngs  # report.json last: it
    # is there only when the whole report is


def replace_whole(path: Path, write: Callable[[Path], Any]) -> Path:
    """``write`` into a temporary file beside ``path``, flushed to disk, then renamed over it:
    a reader (or a full disk) never leaves half a file that looks complete."""
    partial = path.with_name(path.name + ".part")
    try:
        write(partial)
        with open(partial, "rb") as done:
            os.fsync(done.fileno())
        os.replace(partial, path)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    return path


def write_json(path: Path, record: Mapping[str, Any]) -> Path:
    plain = _plain(record)

    def write(partial: Path) -> None:  # streamed: a 10,000-trial report is never one string
        with open(partial, "w", encoding="utf-8") as handle:
            json.dump(plain, handle, indent=2, allow_nan=False)
            handle.write("\n")
    return replace_whole(path, write)


def _plain(value: Any) -> Any:
    """JSON-safe: numpy scalars to Python, non-finite floats to None (JSON has no NaN)."""
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, np.ndarray):
        return _plain(value.tolist())
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return float(value) if math.isfinite(value) else None
    return value


def junit(record: Mapping[str, Any]) -> ET.ElementTree:
    """JUnit XML: a test case per trial and metric, one per trial for acquisition quality,
    one per metric for the ≥95 % rule, and one for latency."""
    name = record["scenario"]["name"]
    suite = ET.Element("testsuite", name=f"forcebench.replay.{name}")
    counts = {"tests": 0, "failures": 0, "skipped": 0}

    def case(classname: str, case_name: str, failure: str | None = None, skipped: str | None = None,
             output: str | None = None) -> None:
        element = ET.SubElement(suite, "testcase", classname=classname, name=case_name, time="0")
        counts["tests"] += 1
        if failure is not None:
            ET.SubElement(element, "failure", message=failure.split("\n")[0], type="OutOfSpec").text = failure
            counts["failures"] += 1
        elif skipped is not None:
            ET.SubElement(element, "skipped", message=skipped)
            counts["skipped"] += 1
        if output:
            ET.SubElement(element, "system-out").text = output

    for trial in record["trials"]:
        classname = f"{name}.{trial['test']}"
        issues = trial["quality"]["issues"]
        # what the bench noted (a crash, no result) and what the analysis said, for failures
        issue_text = "; ".join(list(trial.get("notes") or [])
                               + [f"{i['code']}: {i['message']}" for i in issues])
        if trial.get("acquisition_issues"):
            text = "; ".join(f"{i['code']}: {i['message']}" for i in trial["acquisition_issues"])
            why = "; ".join(trial.get("notes") or [f"unexpected acquisition issues: {text}"])
            case(classname, f"{trial['label']} acquisition",
                 failure=None if trial["status"] == "flagged" else why, output=text)
            for item in trial["checks"]:
                case(classname, f"{trial['label']} {item['name']}",
                     skipped=f"not checked: the trial was hit by acquisition faults ({text})")
            continue
        if not trial["checks"] and trial["status"] == "fail":
            case(classname, f"{trial['label']} analysis", failure=f"no result: {issue_text or 'nothing emitted'}")
        elif trial["status"] == "fail" and all(item["passed"] for item in trial["checks"]):
            # failed for what it did, not for a number: a spurious result, a crash
            case(classname, f"{trial['label']} analysis", failure="; ".join(trial.get("notes") or ["failed"]))
        for item in trial["checks"]:
            case(classname, f"{trial['label']} {item['name']}",
                 failure=None if item["passed"] else _check_failure(item, issue_text))
    for rate in record["pass_rates"]:
        percent = 100 * rate["rate"]
        text = (f"{rate['passed']}/{rate['total']} trials within tolerance ({percent:.1f} %), "
                f"need {100 * rate['min_rate']:.0f} %")
        case(f"{name}.pass_rate", f"{rate['test']} {rate['metric']}",
             failure=None if rate["met"] else text, output=text)
    tally = record["counts"]
    text = (f"{tally['scored']} of {tally['trials']} trials scored ({tally['flagged']} flagged, "
            f"{tally['failed']} failed); need {100 * tally['min_scored']:.0f} %")
    short = tally["scored"] < tally["min_scored"] * tally["trials"] - 1e-9
    case(f"{name}.verdict", "scored", output=text, failure=(
        f"nothing verified: {text}" if tally["scored"] == 0 else text if short else None))
    for figure in record["latency"].values():
        if figure.get("limit_s") is None:
            continue  # reported, not a test
        text = latency_text(figure)
        if figure.get("checked"):
            case(f"{name}.latency", figure["name"], failure=None if figure["met"] else text, output=text)
        else:
            case(f"{name}.latency", figure["name"], skipped=figure.get("note") or "not checked")
    for key, value in counts.items():
        suite.set(key, str(value))
    suite.set("errors", "0")
    root = ET.Element("testsuites", name="forcebench")
    root.append(suite)
    for key in ("tests", "failures", "skipped"):
        root.set(key, suite.get(key))
    root.set("errors", "0")
    return ET.ElementTree(root)


def _check_failure(item: Mapping[str, Any], issues: str) -> str:
    unit = item["unit"]
    if item["measured"] is None:
        text = f"{item['name']} missing from the result (truth {item['truth']:.6g} {unit})"
        return text + (f"; quality: {issues}" if issues else "")
    return (f"{item['name']}: measured {item['measured']:.6g} {unit}, truth {item['truth']:.6g} {unit}, "
            f"error {item['error']:+.4g} {unit}, limit ±{item['limit']:.4g} {unit}")


def latency_text(figure: Mapping[str, Any]) -> str:
    """One line: the figure's name, the moments it lies between, p50 and p99 (or max) with the
    count, and its limit or why it is not checked."""
    def ms(value: float | None) -> str:
        return "n/a" if value is None else f"{1000 * value:.2f} ms"
    head = f"{figure['name']} latency ({figure['start']} → {figure['end']})"
    if not figure.get("measurable", True):
        return f"{head}: not measurable: {figure['note']}"
    if not figure["count"]:
        return f"{head}: no value" + (f" ({figure['note']})" if figure.get("note") else "")
    tail = (f"p99 {ms(figure['p99_s'])}, max {ms(figure['max_s'])}" if figure["p99_s"] is not None
            else f"max {ms(figure['max_s'])} (p99 needs ≥ {P99_MIN_COUNT} values)")
    text = f"{head}: p50 {ms(figure['p50_s'])}, {tail} over {figure['count']}"
    if figure.get("limit_s") is not None:
        text += f"; limit {figure['statistic']} {ms(figure['limit_s'])}"
        text += f" ({figure['note']})" if figure.get("note") else (
            "" if figure.get("met") else " EXCEEDED")
    return text


def write_junit(path: Path, record: Mapping[str, Any]) -> Path:
    tree = junit(record)
    ET.indent(tree)
    return replace_whole(path, lambda partial: tree.write(partial, encoding="utf-8",
                                                          xml_declaration=True))


def write_plots(directory: Path, record: Mapping[str, Any], traces: Sequence[Trace],
                latencies_s: Mapping[str, Sequence[float]]) -> list[Path]:
    """Trace plots (true vs detected events) and a histogram per latency figure."""
    from hil import plots

    name = record["scenario"]["name"]
    written = []
    for trace in traces[:MAX_TRACE_PLOTS]:
        path = directory / f"trace-{trace.label}.png"
        plots.plot_trace(path, trace.time, trace.force, true_events=dict(trace.true_events),
                         detected_events=dict(trace.detected_events), title=f"{name}: {trace.label}")
        written.append(path)
    for figure, values in latencies_s.items():
        if len(values):
            about = record["latency"][figure]
            path = directory / f"latency-{figure}.png"
            plots.plot_latency_histogram(path, np.asarray(values, dtype=float),
                                         title=f"{name}: {figure} latency, {about['start']} → "
                                               f"{about['end']} ({record['mode']})")
            written.append(path)
    return written


def plots_available() -> str | None:
    """None when plots can be drawn, else why not (one line for the record)."""
    try:
        import matplotlib  # noqa: F401
        from hil import plots  # noqa: F401
    except ImportError as error:
        return f"plots skipped: {error} (install the 'plot' extra)"
    return None


def traces_to_plot(record: Mapping[str, Any]) -> list[str]:
    """Labels of the trials worth a plot: the first of each test, then every failure, capped."""
    chosen: list[str] = []
    seen: set[str] = set()
    for trial in record["trials"]:
        if trial["test"] not in seen:
            seen.add(trial["test"])
            chosen.append(trial["label"])
    for trial in record["trials"]:
        if trial["status"] != "pass" and trial["label"] not in chosen:
            chosen.append(trial["label"])
    return chosen[:MAX_TRACE_PLOTS]


def analysis_table(record: Mapping[str, Any]) -> str:
    """The analysis result as a readable table (the --json record, laid out for people)."""
    lines = [f"{record['test']} at {record['sample_rate_hz']:g} Hz "
             f"({record['analyser']['name']} {record['analyser']['version']})"]
    for title in ("metrics", "events"):
        if record[title]:
            lines += ["", title] + [f"  {name:<32}{value:>12.5g}"
                                    for name, value in record[title].items()]
    if record["per_rep"]:
        names = list(dict.fromkeys(name for rep in record["per_rep"] for name in rep))
        widths = [max(len(name), 9) + 2 for name in names]
        lines += ["", "per repetition", "   #" + "".join(f"{n:>{w}}" for n, w in zip(names, widths))]
        for number, rep in enumerate(record["per_rep"], start=1):
            cells = [f"{rep[n]:>{w}.5g}" if n in rep else f"{'-':>{w}}" for n, w in zip(names, widths)]
            lines.append(f"{number:>4}" + "".join(cells))
    quality = record["quality"]
    lines += ["", "quality: " + ("ok" if quality["ok"] else "issues")]
    for issue in quality["issues"]:
        start, end = issue["start_s"], issue["end_s"]
        span = "" if start is None else f" [{start:.3f}–{end if end is not None else start:.3f} s]"
        lines.append(f"  {issue['code']}: {issue['message']}{span}")
    return "\n".join(lines)
