"""PNG plots: a force trace with its events, and a latency histogram (optional `plot` extra).

matplotlib is imported inside the functions, and only its Agg canvas is used (no pyplot, no
global backend), so the rest of forcebench works without it and plotting is thread-safe.
"""
from __future__ import annotations

from pathlib import Path
from typing import Mapping, Sequence

import numpy as np

from hil.spec import P99_MIN_COUNT

MISSING = "plotting needs matplotlib: pip install 'forcebench[plot]'"
MAX_EVENT_LABELS = 12  # beyond this (hops, runs) lines are drawn but not labelled


def _figure(width: float, height: float):
    """A Figure on an Agg canvas; ImportError with a one-line message without matplotlib."""
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError:
        raise ImportError(MISSING) from None
    figure = Figure(figsize=(width, height), dpi=100, layout="constrained")
    FigureCanvasAgg(figure)
    return figure


def _save(figure, path: str | Path) -> Path:
    from hil.report import replace_whole

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    return replace_whole(path, lambda partial: figure.savefig(partial, format="png"))


def plot_trace(path: str | Path, time: np.ndarray, force: np.ndarray, *,
               true_events: Mapping[str, float] | None = None,
               detected_events: Mapping[str, float] | None = None,
               body_weight_n: float | None = None, title: str = "") -> Path:
    """Force per plate (and their total) against time, true events solid, detected dashed.

    ``force`` is (n,) or (n, plates), plates being (left, right); events map names to seconds.
    The same event name has the same colour in both sets, so misses are easy to see."""
    time = np.asarray(time, dtype=float)
    force = np.asarray(force, dtype=float)
    force = force[:, None] if force.ndim == 1 else force
    if force.ndim != 2 or force.shape[0] != time.shape[0] or force.shape[1] not in (1, 2):
        raise ValueError(f"force must be (n,) or (n, 1|2) matching time ({time.shape[0]}), got {force.shape}")
    figure = _figure(11, 4.8)
    axes = figure.add_subplot()
    if force.shape[1] == 2:  # total wide and pale behind, so alternating feet (running) stay visible
        axes.plot(time, force.sum(axis=1), lw=2.2, color="0.75", label="total")
        axes.plot(time, force[:, 0], lw=0.8, color="tab:blue", label="left")
        axes.plot(time, force[:, 1], lw=0.8, color="tab:orange", label="right")
    else:
        axes.plot(time, force[:, 0], lw=0.9, color="black", label="force")
    if body_weight_n is not None:
        axes.axhline(body_weight_n, color="grey", ls=":", lw=1, label=f"body weight {body_weight_n:.0f} N")

    names = list(dict.fromkeys([*(true_events or {}), *(detected_events or {})]))
    colours = {name: f"C{(i + 2) % 10}" for i, name in enumerate(names)}
    label_them = len(names) <= MAX_EVENT_LABELS
    for events, style, kind in ((true_events, "-", "truth"), (detected_events, "--", "detected")):
        for name, seconds in (events or {}).items():
            if seconds is None or not np.isfinite(seconds):  # an event the analysis left out
                continue
            axes.axvline(seconds, color=colours[name], ls=style, lw=1.1, alpha=0.85)
            if label_them and kind == "truth":
                axes.text(seconds, 1.0, f" {name}", rotation=90, va="top", ha="right", fontsize=7,
                          color=colours[name], transform=axes.get_xaxis_transform())
    if true_events:
        axes.plot([], [], color="dimgrey", ls="-", label="true events")
    if detected_events:
        axes.plot([], [], color="dimgrey", ls="--", label="detected events")

    axes.set_xlabel("time (s)")
    axes.set_ylabel("vertical force (N)")
    axes.set_xlim(time[0], time[-1] if time.size > 1 else time[0] + 1)
    axes.grid(alpha=0.3)
    axes.legend(loc="upper left", bbox_to_anchor=(1.005, 1.0), fontsize=8)  # outside: never over the trace
    if title:
        axes.set_title(title)
    return _save(figure, path)


def plot_latency_histogram(path: str | Path, latencies_s: Sequence[float] | np.ndarray, *,
                           title: str = "") -> Path:
    """Histogram of latencies in milliseconds with the median (p50) and the p99 marked (the
    maximum instead when there are too few values for a p99)."""
    ms = np.asarray(latencies_s, dtype=float).ravel() * 1e3
    ms = ms[np.isfinite(ms)]
    if ms.size == 0:
        raise ValueError("no finite latencies to plot")
    figure = _figure(7, 4)
    axes = figure.add_subplot()
    axes.hist(ms, bins=min(60, max(10, ms.size // 20)), color="tab:blue", alpha=0.75)
    tail = ("p99", np.percentile(ms, 99)) if ms.size >= P99_MIN_COUNT else ("max", ms.max())
    for (label, value), style in ((("p50", np.percentile(ms, 50)), "-"), (tail, "--")):
        axes.axvline(value, color="black", ls=style, lw=1.2, label=f"{label} {value:.2f} ms")
    axes.set_xlabel("latency (ms)")
    axes.set_ylabel("count")
    axes.legend(title=f"{ms.size} values", fontsize=8)
    axes.grid(alpha=0.3)
    if title:
        axes.set_title(title)
    return _save(figure, path)
