"""How real recordings compare with the simulator's presets, feature by feature (issue 8).

    forcebench realism                        # the table in docs/simulator.md (about 10 s)
    forcebench realism trial.csv --test cmj   # where one of your recordings falls

The same features are measured on simulated and real jump recordings, located by the analysis
(its weighing window, take-off and landing):

| feature | how |
|---|---|
| ``stance_sd_n`` | SD of force over the stillest second of quiet standing |
| ``stance_low_share`` | share of that second's variance below 2 Hz (postural sway) rather than above |
| ``hum_n`` | amplitude of the 50 or 60 Hz line in that second (the larger) |
| ``flight_sd_n`` | SD of the flight's middle half (from successive differences: drift-blind) |
| ``step_n`` | quantisation step: the smallest change between successive stance samples (per plate, the coarsest) |
| ``undershoot_n`` | lowest force in the 60 ms after take-off, less the flight level |
| ``ringing_hz`` | frequency of the ringing after take-off (zero crossings about the level) |
| ``ringing_decay`` | the second ringing half-wave's size over the first's |
| ``takeoff_fall_ms`` | from the last sample over half body weight to take-off |
| ``landing_rise_ms`` | from landing to the first sample over body weight |

Each preset is measured on ``seeds`` simulated CMJs (1 and 2 plates, 500–2000 Hz), and the
``field`` preset once more with the movement's postural sway; a real value is placed in every
preset whose range (min–max over its trials) holds it.
"""
from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from hil.analysis import analyse

FEATURES = ("stance_sd_n", "stance_low_share", "hum_n", "flight_sd_n", "step_n", "undershoot_n",
            "ringing_hz", "ringing_decay", "takeoff_fall_ms", "landing_rise_ms")
# the presets, and the field preset with the movement's postural sway (``--sway``): real quiet
# standing is not white noise
PRESETS = ("typical", "high", "field", "field+sway")
SWAY_HZ = 2.0
RING_WINDOW_S = 0.1  # ringing is looked for this long after take-off ...
UNDERSHOOT_S = 0.06  # ... its undershoot in the first this-long
RING_MIN_PERIOD = 6  # samples: a shorter "period" is noise crossing the level
STEP_FLOOR_N = 1e-6  # smaller changes are float rounding, not an ADC step


@dataclass(frozen=True)
class Measured:
    """One recording's features (NaN where it has no such stretch, e.g. no flight)."""

    name: str
    features: dict[str, float]


def features(force: np.ndarray, rate_hz: float, test: str = "cmj") -> dict[str, float]:
    """The features of FEATURES for one recording (total force, or (n, 2) plates summed)."""
    total = force.sum(axis=1) if force.ndim == 2 else np.asarray(force, dtype=float)
    result = analyse(force, rate_hz, test)
    out = dict.fromkeys(FEATURES, math.nan)
    events, metrics = result.events, result.metrics
    if "weighing_start_s" in events:
        out.update(_stance(total, rate_hz, events["weighing_start_s"], events["weighing_end_s"]))
        plates = force.T if force.ndim == 2 else [total]
        # per plate: two plates' steps and offsets add up to finer changes in their sum
        out["step_n"] = max(_step(p[int(round(events["weighing_start_s"] * rate_hz)):
                                    int(round(events["weighing_end_s"] * rate_hz)) + 1]) for p in plates)
    takeoff, landing = events.get("takeoff_s"), events.get("landing_s")
    weight = metrics.get("body_weight_n")
    if takeoff is None:
        return out
    t0 = int(math.ceil(takeoff * rate_hz))
    end = int(landing * rate_hz) if landing is not None else total.shape[0]
    flight = total[t0:end]
    if flight.size > 8:
        middle = flight[flight.size // 4:3 * flight.size // 4]
        level = float(middle.mean())
        out["flight_sd_n"] = float(np.sqrt(np.mean(np.diff(middle) ** 2) / 2))
        out.update(_ringing(flight - level, rate_hz, out["flight_sd_n"]))
        if weight is not None:
            over = np.flatnonzero(total[:t0] > level + weight / 2)
            if over.size:
                out["takeoff_fall_ms"] = 1000 * (takeoff - over[-1] / rate_hz)
            if landing is not None:
                up = np.flatnonzero(total[end:] > level + weight)
                if up.size:
                    out["landing_rise_ms"] = 1000 * ((end + up[0]) / rate_hz - landing)
    return out


def _stance(total: np.ndarray, rate: float, start_s: float, end_s: float) -> dict[str, float]:
    """SD, low-frequency share, mains hum and ADC step of the quiet standing [start, end]."""
    x = total[int(round(start_s * rate)):int(round(end_s * rate)) + 1]
    x = x[np.isfinite(x)]
    if x.size < 16:
        return {}
    dev = x - x.mean()
    spectrum = np.abs(np.fft.rfft(dev)) ** 2
    freqs = np.fft.rfftfreq(dev.size, 1 / rate)
    power = spectrum[1:].sum()
    hum = [2 * np.abs(np.fft.rfft(dev))[int(np.argmin(np.abs(freqs - f)))] / dev.size
           for f in (50.0, 60.0) if f < rate / 2]
    return {"stance_sd_n": float(dev.std()),
            "stance_low_share": float(spectrum[1:][freqs[1:] < SWAY_HZ].sum() / power) if power > 0 else math.nan,
            "hum_n": float(max(hum)) if hum else math.nan}


def _step(x: np.ndarray) -> float:
    """The smallest change between successive finite samples (0: none changes)."""
    changes = np.abs(np.diff(x[np.isfinite(x)]))
    changes = changes[changes > STEP_FLOOR_N]
    return float(changes.min()) if changes.size else 0.0


def _ringing(flight: np.ndarray, rate: float, noise: float) -> dict[str, float]:
    """Undershoot, frequency and decay of the ringing after take-off (``flight`` about its level)."""
    out = {"undershoot_n": float(flight[:max(int(UNDERSHOOT_S * rate), 1)].min())}
    head = flight[:int(RING_WINDOW_S * rate)]
    if out["undershoot_n"] > -5 * max(noise, 0.5) or head.size < 8:
        return out  # nothing rings above the noise
    crossings = np.flatnonzero(np.diff(np.sign(head)) != 0)
    # the first full period (later crossings may be the noise's), if it is not noise itself
    if crossings.size >= 3 and crossings[2] - crossings[0] >= RING_MIN_PERIOD:
        out["ringing_hz"] = float(rate / (crossings[2] - crossings[0]))
        first = np.abs(head[crossings[0]:crossings[1] + 1]).max()
        second = np.abs(head[crossings[1]:crossings[2] + 1]).max()
        out["ringing_decay"] = float(second / first) if first > 0 else math.nan
    return out


def preset_ranges(seeds: int = 12, progress: Callable[[int], None] | None = None
                  ) -> dict[str, dict[str, tuple[float, float]]]:
    """(min, max) of each feature over ``seeds`` simulated CMJs per preset; ``progress`` gets
    the number of trials done."""
    from sim.generate import simulate

    ranges = {}
    for preset in PRESETS:
        values: dict[str, list[float]] = {name: [] for name in FEATURES}
        for seed in range(seeds):
            rate, plates = (500.0, 1000.0, 2000.0)[seed % 3], 1 + seed % 2
            noise, _, sway = preset.partition("+")
            trial = simulate("cmj", rate_hz=rate, plates=plates, noise=noise, seed=5000 + seed,
                             **({"sway": True} if sway else {}))
            for name, value in features(trial.force, rate).items():
                if math.isfinite(value):
                    values[name].append(value)
            if progress is not None:
                progress(PRESETS.index(preset) * seeds + seed + 1)
        ranges[preset] = {name: (min(v), max(v)) for name, v in values.items() if v}
    return ranges


def default_recordings(root: Path) -> list[tuple[str, Path, float | None, str]]:
    """(name, path, rate if the file states none, test) of the shared real jump recordings."""
    other, cmj = root / "fixtures" / "real-other", root / "fixtures" / "real"
    return [("jumpmetrics cmj_example, 2 kHz", other / "jumpmetrics/raw/cmj_example.txt.gz", 2000.0, "cmj"),
            ("jumpmetrics sqj_example, 1 kHz", other / "jumpmetrics/raw/sqj_example.txt.gz", 1000.0, "sj"),
            ("jumpmetrics P30 squat jump", other / "jumpmetrics/raw/FHOC_P30_SQT300007.txt.gz", 1000.0, "sj"),
            ("jumpmetrics user plate, 800 Hz", other / "jumpmetrics/reporter_800hz/cmj_jumpmetrics_converted.csv.gz",
             None, "cmj"),
            ("Gidiel-Machado CMJ", other / "gidiel_machado_vj/Dual-CMJ-Fz.txt", 1000.0, "cmj"),
            ("Gidiel-Machado SJ", other / "gidiel_machado_vj/Dual-SJ-Fz.txt", 1000.0, "sj"),
            *[(f"plateforce trial {k}", cmj / f"subject01_trial{k}.force.txt", 1200.0, "cmj") for k in (1, 2, 3)]]


def placed(value: float, ranges: dict[str, dict[str, tuple[float, float]]], name: str) -> str:
    """The presets whose range holds ``value``, or which side of all of them it lies."""
    if not math.isfinite(value):
        return "—"
    inside = [p for p in PRESETS if name in ranges[p] and ranges[p][name][0] <= value <= ranges[p][name][1]]
    if inside:
        return "/".join(inside)
    lows = [ranges[p][name][0] for p in PRESETS if name in ranges[p]]
    return "below all" if lows and value < min(lows) else "above all"


def report(measured: list[Measured], ranges: dict[str, dict[str, tuple[float, float]]]) -> str:
    """Two markdown tables: the presets' ranges, then each recording's values and placement."""
    lines = ["| feature | " + " | ".join(PRESETS) + " |", "|---|" + "---|" * len(PRESETS)]
    for name in FEATURES:
        cells = [f"{_fmt(ranges[p][name][0])} – {_fmt(ranges[p][name][1])}" if name in ranges[p] else "—"
                 for p in PRESETS]
        lines.append(f"| `{name}` | " + " | ".join(cells) + " |")
    lines += ["", "| recording | " + " | ".join(f"`{n}`" for n in FEATURES) + " |",
              "|---|" + "---|" * len(FEATURES)]
    for item in measured:
        cells = [f"{_fmt(item.features[n])} ({placed(item.features[n], ranges, n)})"
                 if math.isfinite(item.features[n]) else "—" for n in FEATURES]
        lines.append(f"| {item.name} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _fmt(value: float) -> str:
    return f"{value:.3g}"
