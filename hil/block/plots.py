"""PNGs of a block: load, ACWR and capacity over the weeks; key metrics measured vs true with
their MDC95 as a band; the decision timeline (matplotlib's Agg canvas, as hil.plots)."""
from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np

from hil.plots import _figure, _save

KEY_METRICS = (("cmj", "jump_height_m", None), ("dj", "rsi", None), ("pogo", "rsi", None),
               ("iso_calf", "net_peak_force_n", "lsi_pct"), ("sl_hops", "jump_height_flight_m", "lsi_pct"),
               ("heel_raise", "heel_raise_reps", "min"))
COLOURS = {"progress": "tab:green", "hold": "tab:orange", "back_off": "tab:red"}


def _weeks(values: Sequence) -> np.ndarray:
    return np.arange(len(values)) / 7.0


def _series(values: Sequence) -> np.ndarray:
    return np.array([np.nan if v is None else v for v in values], dtype=float)


def plot_load(path: Path, athlete: Mapping[str, Any], title: str) -> Path:
    """Daily load and km; the three ACWRs; fitness, fatigue and performance; capacity per tissue."""
    daily = athlete["daily"]
    figure = _figure(11, 10)
    axes = figure.subplots(4, 1, sharex=True)
    weeks = _weeks(daily["load_au"])
    axes[0].bar(weeks, _series(daily["load_au"]), width=1 / 7, color="tab:blue", label="load (AU, session RPE)")
    twin = axes[0].twinx()
    twin.plot(weeks, _series(daily["km"]), ".", color="black", ms=3, label="km")
    twin.set_ylabel("km")
    axes[0].set_ylabel("AU")
    axes[0].legend(loc="upper left", fontsize=8)
    for name, style in (("acwr_coupled", "-"), ("acwr_uncoupled", "--"), ("acwr_ewma", "-")):
        axes[1].plot(weeks, _series(daily[name]), style, lw=1.2 if name == "acwr_ewma" else 0.8,
                     label=name.replace("acwr_", "ACWR "))
    axes[1].axhspan(0.8, 1.3, color="green", alpha=0.08, label="0.8–1.3")
    axes[1].axhline(1.5, color="red", lw=0.8, ls=":", label="1.5")
    axes[1].set_ylabel("ratio")
    axes[1].legend(loc="upper left", fontsize=8, ncol=3)
    for name in ("fitness", "fatigue", "performance", "busso_performance"):
        axes[2].plot(weeks, _series(daily[name]), lw=1, label=name.replace("_", " "))
    axes[2].set_ylabel("AU (Banister, Busso)")
    axes[2].legend(loc="upper left", fontsize=8, ncol=4)
    for limb, style in (("left", "-"), ("right", "--")):
        for i, (tissue, values) in enumerate(daily["capacity_bw"][limb].items()):
            axes[3].plot(weeks, _series(values), style, color=f"C{i}", lw=1, label=f"{tissue} {limb}")
    axes[3].set_ylabel("capacity (BW per cycle)")
    axes[3].set_xlabel("week")
    axes[3].legend(loc="upper left", fontsize=7, ncol=4)
    for ax in axes:
        ax.grid(alpha=0.3)
    axes[0].set_title(title)
    return _save(figure, path)


def session_value(sessions: Sequence[Mapping], test: str, metric: str, of: str | None, kind: str
                  ) -> tuple[np.ndarray, np.ndarray]:
    """(day, value) of one key metric over the sessions (an LSI or min for per-leg tests)."""
    by_day: dict[int, dict] = {}
    for s in sessions:
        if s["test"] == test and s.get(kind) is not None:
            by_day.setdefault(s["day"], {})[s["leg"]] = s[kind].get(metric, np.nan)
    days = sorted(by_day)
    values = []
    for day in days:
        legs = by_day[day]
        if of is None:
            values.append(legs.get(None, np.nan))
        else:
            left, right = legs.get("left", np.nan), legs.get("right", np.nan)
            values.append(100 * min(left, right) / max(left, right) if of == "lsi_pct" else min(left, right))
    return np.array(days, dtype=float) / 7.0, np.array(values, dtype=float)


def plot_metrics(path: Path, athlete: Mapping[str, Any], mdc: Mapping[tuple[str, str, str | None], float],
                 title: str) -> Path | None:
    """Key metrics of one athlete, measured (points, ± MDC95 band) and true (line), by week."""
    sessions = athlete["sessions"]
    shown = [(t, m, of) for t, m, of in KEY_METRICS if any(s["test"] == t for s in sessions)]
    if not shown:
        return None
    figure = _figure(11, 2.4 * len(shown))
    axes = np.atleast_1d(figure.subplots(len(shown), 1, sharex=True))
    for ax, (test, metric, of) in zip(axes, shown):
        weeks, truth = session_value(sessions, test, metric, of, "truth")
        ax.plot(weeks, truth, "-", color="black", lw=1.2, label="true")
        weeks_m, measured = session_value(sessions, test, metric, of, "measured")
        if weeks_m.size:
            ax.plot(weeks_m, measured, "o", color="tab:blue", ms=4, label="measured")
            band = mdc.get((test, metric, of))
            if band is not None:
                ax.fill_between(weeks_m, measured - band, measured + band, color="tab:blue", alpha=0.15,
                                label=f"± MDC95 {band:.3g}")
        label = metric + ("" if of is None else f" ({of})")
        ax.set_ylabel(f"{test}\n{label}", fontsize=8)
        ax.legend(loc="upper left", fontsize=7, ncol=3)
        ax.grid(alpha=0.3)
    axes[-1].set_xlabel("week")
    axes[0].set_title(title)
    return _save(figure, path)


def plot_decisions(path: Path, timeline: Sequence[Sequence[Mapping[str, Any]]], title: str) -> Path:
    """Rows athletes, columns weeks: the decision taken (measured, else true); × where the
    decision on true values would have been another."""
    figure = _figure(11, max(2.5, 0.22 * len(timeline) + 1.2))
    ax = figure.add_subplot()
    for row, weeks in enumerate(timeline):
        for week in weeks:
            decision = week["decision"]
            taken = decision.get("measured") or decision["truth"]
            ax.add_patch(_rect(week["week"] - 0.45, row - 0.4, COLOURS[taken]))
            if decision.get("measured") and decision["measured"] != decision["truth"]:
                ax.plot(week["week"], row, "x", color="black", ms=6)
    ax.set_xlim(-0.6, max((w["week"] for ws in timeline for w in ws), default=1) + 0.6)
    ax.set_ylim(len(timeline) - 0.5, -0.5)
    ax.set_xlabel("week")
    ax.set_ylabel("athlete")
    for name, colour in COLOURS.items():
        ax.plot([], [], "s", color=colour, label=name.replace("_", " "))
    ax.plot([], [], "x", color="black", label="true values decide otherwise")
    ax.legend(loc="upper left", bbox_to_anchor=(1.005, 1.0), fontsize=8)
    ax.set_title(title)
    return _save(figure, path)


def _rect(x: float, y: float, colour: str):
    from matplotlib.patches import Rectangle
    return Rectangle((x, y), 0.9, 0.8, color=colour, alpha=0.8)
