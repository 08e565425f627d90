"""Agreement of `hil.analysis` with other labs' recordings: the fraction of comparisons within tolerance.

    python docs/real_agreement.py            # the table in docs/analysis.md (about 5 s)
    python docs/real_agreement.py --detail   # every comparison, one line each

There is no truth for real data. Each recording is compared with the authors' own values where
they are trustworthy (fixtures/real-other/README.md, fixtures/real/NOTICE) and with simple,
transparent methods computed here from the raw samples with windows chosen by eye (below, per
file): body weight = mean over a quiet second minus the mean of a mid-flight (or empty-plate)
window; take-off and landing = where force crosses that level + 10 N (or + 5 SD of a noisy flight;
linear interpolation);
take-off velocity = trapezoid ∫(F − BW)/m from the end of the quiet second; peak = the largest
sample before take-off. A running contact is the span of non-zero samples (the export is zeroed
outside contact), half a sample added at each end. Tolerances are issue 8's: times ±5 ms,
flight-based height ±0.5 cm, take-off-velocity height ±1 cm, peak force ±2 %, body weight ±1 %,
RSI ±3 %. A refused recording or a missing metric counts as a miss.
"""
from __future__ import annotations

import argparse
import csv
import sys
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from hil.analysis import analyse  # noqa: E402
from hil.analysis.readers import load  # noqa: E402

G = 9.80665
OTHER = ROOT / "fixtures" / "real-other"
CMJ = ROOT / "fixtures" / "real"
TOLERANCE = {"flight_time_s": ("abs", 0.005), "contact_time_s": ("abs", 0.005),
             "jump_height_flight_m": ("abs", 0.005), "jump_height_m": ("abs", 0.01),
             "peak_force_n": ("rel", 0.02), "body_weight_n": ("rel", 0.01), "rsi": ("rel", 0.03)}


def read(path: Path, rate_hz: float | None = None) -> tuple[np.ndarray, float]:
    """Force ((n,) or (n, 2) plates) and rate through the project's readers (hil.analysis.readers):
    the rate from the file where it states one, else ``rate_hz`` (the authors' figure)."""
    recording = load(str(path), rate_hz=rate_hz)
    return recording.force, recording.rate_hz


@dataclass
class Recording:
    name: str
    force: np.ndarray
    rate: float
    test: str
    weigh_s: tuple[float, float] | None = None   # a quiet second (dj: after landing)
    level_s: tuple[float, float] | None = None   # a mid-flight or empty-plate window; None: 0 N
    authors: dict[str, float] = field(default_factory=dict)


def _crossing(f: np.ndarray, i: int, threshold: float) -> float:
    """Fractional index between i − 1 and i where f crosses ``threshold``."""
    a, b = f[i - 1], f[i]
    return i - 1 + (threshold - a) / (b - a)


def simple_jump(rec: Recording) -> dict[str, float]:
    """The transparent methods of the module docstring for cmj, sj and dj."""
    f = rec.force.sum(axis=1) if rec.force.ndim == 2 else rec.force
    rate, out = rec.rate, {}
    idx = lambda t: int(round(t * rate))  # noqa: E731
    level = float(f[idx(rec.level_s[0]):idx(rec.level_s[1])].mean()) if rec.level_s else 0.0
    w0, w1 = idx(rec.weigh_s[0]), idx(rec.weigh_s[1])
    bw = float(f[w0:w1].mean()) - level
    out["body_weight_n"] = bw
    noise = float(f[idx(rec.level_s[0]):idx(rec.level_s[1])].std()) if rec.level_s else 0.0
    up = level + max(10.0, 5 * noise)  # 10 N, or 5 SD of a noisy flight level
    if rec.test == "dj":
        drop_end = idx(rec.level_s[1])
        td_i = drop_end + int(np.flatnonzero(f[drop_end:] > up)[0])
        touchdown = _crossing(f, td_i, up)
        loaded = td_i + int(np.flatnonzero(f[td_i:] > level + bw)[0])  # past a bouncing first touch
        to_i = loaded + int(np.flatnonzero(f[loaded:] < up)[0])
        start = td_i
    else:
        start = w1
        pushed = start + int(np.flatnonzero(f[start:] > level + 1.3 * bw)[0])  # the push-off
        to_i = pushed + int(np.flatnonzero(f[pushed:] < up)[0])
    takeoff = _crossing(f, to_i, up)
    out["peak_force_n"] = float(f[start:to_i].max()) - level
    if rec.test != "dj":
        acc = (f[w1:to_i] - level - bw) / (bw / G)
        v = float(np.sum((acc[1:] + acc[:-1]) / 2) / rate)
        out["jump_height_m"] = v * v / (2 * G)
    after = to_i + idx(0.06)  # past the ringing of the plate after take-off
    landed = np.flatnonzero(f[after:] > up)
    if landed.size:
        out["flight_time_s"] = (_crossing(f, after + int(landed[0]), up) - takeoff) / rate
        out["jump_height_flight_m"] = G * out["flight_time_s"] ** 2 / 8
        if rec.test == "dj":
            out["contact_time_s"] = (takeoff - touchdown) / rate
            out["rsi"] = out["jump_height_flight_m"] / out["contact_time_s"]
    return out


def simple_run(rec: Recording) -> dict[str, float]:
    """Mean contact, flight and peak over the complete stances (non-zero spans)."""
    steps = []
    for plate in range(rec.force.shape[1]):
        x = rec.force[:, plate]
        edges = np.flatnonzero(np.diff((x != 0).astype(int)))
        for on, off in zip(edges[::2] + 1, edges[1::2] + 1) if x[0] == 0 else ():
            steps.append((on - 0.5, off - 0.5, float(x[on:off].max())))
    steps.sort()
    out = {"contact_time_s": float(np.mean([(b - a) for a, b, _ in steps])) / rec.rate,
           "peak_force_n": float(np.mean([p for _, _, p in steps]))}
    flights = [(c[0] - b[1]) for b, c in zip(steps, steps[1:])]
    if flights:
        out["flight_time_s"] = float(np.mean(flights)) / rec.rate
    return out


def _row(path: Path, pid: str, column: str = "PID") -> list[dict[str, str]]:
    with open(path, newline="") as stream:
        return [row for row in csv.DictReader(stream) if row[column].startswith(pid)]


def _authors(rows: list[dict[str, str]]) -> dict[str, float]:
    """Jump height from take-off velocity and peak force, median over the authors' filter choices."""
    return {"jump_height_m": float(np.median([float(r["jump_height_takeoff_velocity"]) for r in rows])),
            "peak_force_n": float(np.median([float(r["peak_force"]) for r in rows]))}


def recordings() -> list[Recording]:
    jm, gm, ref = OTHER / "jumpmetrics", OTHER / "gidiel_machado_vj", OTHER / "jumpmetrics" / "reference"
    found = [
        Recording("jumpmetrics cmj_example (2 plates, 2 kHz)", *read(jm / "raw/cmj_example.txt.gz", 2000),
                  "cmj", (5.0, 6.0), (9.0, 9.2),
                  _authors(_row(ref / "docker_example_F02_CTRL1_jump_metrics.csv", "F02"))),
        Recording("jumpmetrics sqj_example (P31)", *read(jm / "raw/sqj_example.txt.gz", 1000),
                  "sj", (5.5, 6.5), (8.25, 8.45),
                  _authors(_row(ref / "p31_squat_jump_example_results.csv", "P31"))),
        Recording("jumpmetrics FHOC_P30 squat jump", *read(jm / "raw/FHOC_P30_SQT300007.txt.gz", 1000),
                  "sj", (7.0, 8.0), (8.9, 9.1)),
    ]
    batch = ref / "batch_processed_data.csv"
    for name, quiet in (("F02_CTRL2", (0.0, 0.5)), ("F04_CTRL2", (0.0, 0.4)), ("M06_CTRL3", (0.0, 0.5)),
                        ("M07_CTRL1", (0.0, 1.0)), ("M15_CTRL1", (0.0, 1.0))):
        rows = _row(batch, name, "file_prefix")
        found.append(Recording(f"jumpmetrics {name} (Visual3D, ends at take-off)",
                               *read(jm / f"raw/{name}_filtered.txt.gz", 2000), "cmj", quiet,
                               authors={"jump_height_m": _authors(rows)["jump_height_m"]} if rows else {}))
    found += [
        Recording("jumpmetrics user plate, 800 Hz (rings below zero)",
                  *read(jm / "reporter_800hz/cmj_jumpmetrics_converted.csv.gz"), "cmj", (1.0, 2.0), (4.45, 4.75)),
        Recording("Gidiel-Machado CMJ (2 plates, 2.8 N steps)", *read(gm / "Dual-CMJ-Fz.txt", 1000),
                  "cmj", (0.3, 1.3), (2.45, 2.75)),
        Recording("Gidiel-Machado drop jump", *read(gm / "Dual-DJ-Fz.txt", 1000),
                  "dj", (3.8, 4.8), (0.5, 1.5)),
        Recording("Gidiel-Machado squat jump", *read(gm / "Dual-SJ-Fz.txt", 1000),
                  "sj", (0.5, 1.5), (2.25, 2.55)),
    ]
    for trial in (1, 2, 3):
        force, rate = read(CMJ / f"subject01_trial{trial}.force.txt", 1200)
        with open(CMJ / "reference_subject01_trials1-3.csv", newline="") as stream:
            row = list(csv.DictReader(stream))[trial - 1]
        methods = [k for k in row if k.startswith("jh_") and k.endswith("_cm")]
        impulse = ("jm", "jm_nosmooth", "bilalovski", "jumptest", "sams_bw", "sams_30ms",
                   "pct10bw", "sd_minus_30ms", "chronojump")  # as tests/test_analysis_real.py
        median = float(np.median([float(row[f"jh_{m}_cm"]) for m in impulse if f"jh_{m}_cm" in methods]))
        quiet = {1: (0.2, 1.2), 2: (0.2, 1.2), 3: (0.2, 1.2)}[trial]
        found.append(Recording(f"plateforce subject01 trial {trial} (1200 Hz)", force, rate, "cmj",
                               quiet, None, {"jump_height_m": median / 100}))
    for path in sorted((OTHER / "opensim_running_grf").glob("*.mot")):
        force, rate = read(path)
        found.append(Recording(f"OpenSim {path.stem} (zeroed outside contact)", force, rate, "run"))
    return found


def within(metric: str, ours: float | None, ref: float) -> bool:
    if ours is None or not np.isfinite(ours):
        return False
    kind, tol = TOLERANCE[metric]
    return abs(ours - ref) <= (tol if kind == "abs" else tol * abs(ref))


def compare(rec: Recording) -> list[tuple[str, str, float | None, float, bool]]:
    """(source, metric, ours, reference, within tolerance) for every comparison of one recording."""
    result = analyse(rec.force, rec.rate, rec.test)
    simple = simple_run(rec) if rec.test == "run" else simple_jump(rec)
    rows = []
    for source, refs in (("simple", simple), ("authors", rec.authors)):
        for metric, ref in refs.items():
            if metric not in TOLERANCE:
                continue
            if rec.test == "cmj" and rec.level_s is None and metric in ("flight_time_s", "jump_height_flight_m"):
                continue
            ours = result.metrics.get(metric)
            rows.append((source, metric, ours, ref, within(metric, ours, ref)))
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--detail", action="store_true", help="print every comparison")
    args = parser.parse_args(argv)
    total = passed = 0
    print("| recording | test | comparisons within tolerance | misses |")
    print("|---|---|---|---|")
    details = []
    for rec in recordings():
        rows = compare(rec)
        ok = sum(r[4] for r in rows)
        total, passed = total + len(rows), passed + ok
        misses = ", ".join(f"{m} ({s})" for s, m, _, _, good in rows if not good) or "—"
        print(f"| {rec.name} | {rec.test} | {ok}/{len(rows)} | {misses} |")
        details += [(rec.name, *r) for r in rows]
    print(f"| **all** | | **{passed}/{total} = {100 * passed / total:.0f} %** | |")
    if args.detail:
        for name, source, metric, ours, ref, good in details:
            shown = "—" if ours is None else f"{ours:.4f}"
            print(f"{'ok  ' if good else 'MISS'} {name[:40]:40s} {source:7s} {metric:22s} ours {shown:>10s} ref {ref:.4f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
