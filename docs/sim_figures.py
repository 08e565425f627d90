"""Print the simulator's plausibility and smoothness figures quoted in ../brief readme-sim.md.

    python docs/sim_figures.py        (about 20 s)

Every figure comes from noise-free traces or the model's truth; percentiles are 5th–50th–95th.
"""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from sim.athlete import Athlete  # noqa: E402
from sim.generate import simulate  # noqa: E402
from sim.movements.cmj import simulate_batch  # noqa: E402
from test_sim_physics import largest_slope_change  # noqa: E402


def spread(values) -> str:
    return "–".join(f"{v:.3g}" for v in np.percentile(values, [5, 50, 95]))


def cmj_figures() -> None:
    rng = np.random.default_rng(1)
    trials = simulate_batch([Athlete.draw(rng) for _ in range(300)], 1000.0, rng, duration_s=6.0)
    metric = {name: np.array([t.truth.metrics[name] for t in trials]) for name in trials[0].truth.metrics}
    bw = metric["body_weight_n"]
    peak_at, lowest = [], []
    for t in trials:
        e, force = t.truth.events, t.total
        after = (t.time > e["landing_s"]) & (t.time < e["landing_s"] + 0.3)
        peak_at.append(1000 * (t.time[after][np.argmax(force[after])] - e["landing_s"]))
        dip = (t.time > e["onset_s"]) & (t.time < e["propulsion_s"])
        lowest.append(force[dip].min() / t.truth.metrics["body_weight_n"])
    print(f"cmj (300 athletes): peak force {spread(metric['peak_force_n'] / bw)} BW, landing peak "
          f"{spread(metric['landing_peak_force_n'] / bw)} BW at {spread(peak_at)} ms, unweighting "
          f"minimum {spread(lowest)} BW, time to take-off {spread(metric['time_to_takeoff_s'])} s, "
          f"RSI-modified {spread(metric['rsi_modified'])}, height {spread(metric['jump_height_m'])} m")


def smoothness_figures() -> None:
    for test in ("cmj", "sj", "dj", "hops"):
        coarse, fine = (np.array([largest_slope_change(simulate(test, seed=s, noise="none", rate_hz=rate))
                                  for s in range(8)]) for rate in (1000.0, 4000.0))
        print(f"{test}: largest slope change per sample inside contacts {coarse.max():.1f} BW/s at "
              f"1000 Hz, {fine.max():.2f} BW/s at 4000 Hz (smallest ratio {np.min(coarse / fine):.2f}; "
              "a corner would keep it at every rate)")


def dj_and_run_figures() -> None:
    dj = [simulate("dj", seed=s, noise="none").truth.metrics for s in range(200)]
    print(f"dj (200 seeds): RSI {spread([m['rsi'] for m in dj])}, contact "
          f"{spread([m['contact_time_s'] for m in dj])} s, contact peak "
          f"{spread([m['peak_force_n'] / m['body_weight_n'] for m in dj])} BW")
    steps = [(rep, t.truth.metrics["body_weight_n"]) for t in
             (simulate("run", seed=s, noise="none") for s in range(100)) for rep in t.truth.per_rep]
    impact = [(rep["impact_peak_n"] / bw, rep["loading_rate_bw_s"]) for rep, bw in steps if "impact_peak_n" in rep]
    print(f"run (100 seeds, {len(steps)} steps): active peak {spread([r['peak_force_bw'] for r, _ in steps])} BW, "
          f"impact peak {spread([i for i, _ in impact])} BW, loading rate {spread([lr for _, lr in impact])} BW/s, "
          f"{len(steps) - len(impact)} steps without an impact maximum")


def sway_figures() -> None:
    sds = []
    for test in ("cmj", "sj", "hops", "iso"):
        for seed in range(20):
            t = simulate(test, seed=seed, noise="none", sway=True)
            sway = t.total[t.time < t.truth.events["onset_s"]] - t.truth.metrics["body_weight_n"]
            sds += [np.std(sway[i:i + 1000]) for i in range(0, sway.size - 1000, 250)]
    print(f"sway: SD over 1 s windows {spread(sds)} N (min {min(sds):.2f}, max {max(sds):.2f})")


if __name__ == "__main__":
    cmj_figures()
    smoothness_figures()
    dj_and_run_figures()
    sway_figures()
