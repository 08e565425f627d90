"""The truth names every metric and event that METRICS.md requires, for every test × plates ×
leg combination and the awkward cases (the analysis is scored against exactly these names)."""
from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from sim.generate import simulate

# Transcribed from METRICS.md "Metrics by test": (required, added by two plates, mean over
# repetitions and so also in each per_rep entry). test_names_match_metrics_md re-reads the file.
CONTRACT = {
    "cmj": ("onset_s takeoff_s landing_s time_to_takeoff_s takeoff_velocity_m_s jump_height_m "
            "jump_height_flight_m flight_time_s rsi_modified peak_force_n mean_propulsive_force_n "
            "propulsive_impulse_n_s peak_power_w landing_peak_force_n countermovement_depth_m",
            "propulsive_impulse_asym_pct peak_force_asym_pct landing_peak_force_asym_pct", ""),
    "sj": ("onset_s takeoff_s landing_s time_to_takeoff_s takeoff_velocity_m_s jump_height_m "
           "jump_height_flight_m flight_time_s rsi_modified peak_force_n mean_propulsive_force_n "
           "propulsive_impulse_n_s peak_power_w landing_peak_force_n",
           "propulsive_impulse_asym_pct peak_force_asym_pct landing_peak_force_asym_pct", ""),
    "dj": ("touchdown_s takeoff_s landing_s contact_time_s flight_time_s jump_height_flight_m rsi "
           "peak_force_n jump_height_m", "peak_force_asym_pct", ""),
    "hops": ("hop_count contact_time_s flight_time_s jump_height_flight_m rsi peak_force_n "
             "vertical_stiffness_kn_m", "",
             "contact_time_s flight_time_s jump_height_flight_m rsi peak_force_n "
             "vertical_stiffness_kn_m"),
    "iso": ("onset_s peak_force_n net_peak_force_n time_to_peak_s rfd_0_50_n_s rfd_0_100_n_s "
            "rfd_0_200_n_s", "peak_force_asym_pct", ""),
    "run": ("step_count cadence_spm contact_time_s flight_time_s peak_force_n peak_force_bw "
            "impact_peak_n loading_rate_bw_s vertical_impulse_n_s",
            "contact_time_asym_pct peak_force_asym_pct",
            "contact_time_s flight_time_s peak_force_n peak_force_bw impact_peak_n "
            "loading_rate_bw_s vertical_impulse_n_s"),
}
COMMON = {"body_weight_n", "body_mass_kg"}
EVENT_NAMES = {"onset_s", "takeoff_s", "landing_s", "touchdown_s"}  # times of events, not spans
OPTIONAL_PER_STEP = {"flight_time_s", "impact_peak_n", "loading_rate_bw_s"}  # absent on some steps
ROOT = Path(__file__).resolve().parents[1]
METRICS_MD = ROOT / "docs" / "METRICS.md"  # the project's copy of the contract
SHARED_METRICS_MD = ROOT.parent / "shared" / "METRICS.md"  # the product team's original

CASES = [(test, plates, leg, {}) for test in CONTRACT for plates in (1, 2)
         for leg in ((None,) if test == "run" else (None, "left", "right"))]
CASES += [("cmj", plates, None, awkward) for plates in (1, 2) for awkward in (
    {"untrimmed": "step_off_before"}, {"untrimmed": "step_off_after"}, {"second_jump": True},
    {"fidget": True}, {"sway": True})]
CASES += [("iso", 2, None, {"variant": v}) for v in ("calf_raise", "lunge")]
CASES += [("dj", 2, None, {"drop_height_m": h}) for h in (0.05, 1.0)]
CASES += [("run", plates, None, {"strike": "forefoot"}) for plates in (1, 2)]


def names(text: str) -> set[str]:
    return set(text.split())


@pytest.mark.parametrize("test,plates,leg,options", CASES,
                         ids=[f"{t}-{p}p-{leg or 'both'}-{'-'.join(map(str, o.values())) or 'plain'}"
                              for t, p, leg, o in CASES])
def test_truth_covers_every_metric_and_event_of_the_contract(test, plates, leg, options):
    extra = {} if leg is None else {"leg": leg}
    truth = simulate(test, plates=plates, seed=5, noise="none", **extra, **options).truth
    required, asym, per_rep = (names(group) for group in CONTRACT[test])
    if options.get("strike") == "forefoot":  # METRICS.md: absent when a step has no impact peak
        required -= {"impact_peak_n", "loading_rate_bw_s"}
        per_rep -= {"impact_peak_n", "loading_rate_bw_s"}
    missing = (required | COMMON | (asym if plates == 2 else set())) - set(truth.metrics)
    assert not missing, f"truth lacks {sorted(missing)}"
    if plates == 1:
        assert not asym & set(truth.metrics)  # one plate cannot tell left from right
    elif leg is not None:  # all the force on one plate: the asymmetry is total
        assert all(truth.metrics[name] == (100.0 if leg == "left" else -100.0) for name in asym)
    assert all(np.isfinite(value) for value in truth.metrics.values())
    for name in EVENT_NAMES & required:  # event times also under "events", the same number
        assert truth.events[name] == truth.metrics[name]
    if per_rep:
        assert len(truth.per_rep) == truth.metrics["hop_count" if test == "hops" else "step_count"]
        for rep in truth.per_rep:
            assert per_rep - OPTIONAL_PER_STEP <= set(rep) and {"touchdown_s", "takeoff_s"} <= set(rep)
        for name in per_rep:  # the metric is the mean over the repetitions that have it
            values = [rep[name] for rep in truth.per_rep if name in rep]
            assert truth.metrics[name] == pytest.approx(np.mean(values), rel=1e-12)
    if options.get("second_jump"):
        assert len(truth.per_rep) == 2 and all(required <= set(rep) for rep in truth.per_rep)
        assert {f"{name[:-2]}_2_s" for name in ("onset_s", "takeoff_s", "landing_s")} <= set(truth.events)


def contract_from_metrics_md(text: str) -> dict[str, tuple[set[str], set[str]]]:
    """(required, two-plate) names per test from METRICS.md's "Metrics by test" paragraphs."""
    section = text.split("## Metrics by test", 1)[1].split("\n## ", 1)[0]
    out = {}
    for paragraph in section.split("\n\n"):
        heading = re.match(r"\*\*(.+?)\*\*", paragraph.strip())
        if not heading:
            continue
        body, _, plates = paragraph.partition("Two plates add")
        plates = plates.split(".", 1)[0]
        found = {name for name in re.findall(r"`([a-z][a-z0-9_]*)`", body)} - {"per_rep"}
        two = set(re.findall(r"`([a-z][a-z0-9_]*)`", plates))
        for test in re.findall(r"`([a-z]+)`", heading.group(1)):
            only = {n for n in found if f"`{n}` (`{test}` only" in body}
            others = {n for n in found if re.search(rf"`{n}` \(`(?!{test})[a-z]+` only", body)}
            out[test] = ((found - others - set(re.findall(r"`([a-z]+)`", heading.group(1))))
                         | only, two)
    return out


def test_names_match_metrics_md():
    parsed = contract_from_metrics_md(METRICS_MD.read_text(encoding="utf-8"))
    assert set(parsed) == set(CONTRACT)
    for test, (required, two) in parsed.items():
        assert (required, two) == (names(CONTRACT[test][0]), names(CONTRACT[test][1])), test


@pytest.mark.skipif(not SHARED_METRICS_MD.exists(), reason="no shared/ beside the checkout")
def test_the_docs_copy_of_the_contract_is_current():
    assert METRICS_MD.read_text(encoding="utf-8") == SHARED_METRICS_MD.read_text(encoding="utf-8")


def test_squat_jump_never_dips_below_body_weight_before_its_peak():
    # a squat jump has no countermovement by definition, one leg or two
    for leg in (None, "left", "right"):
        for seed in range(20):
            trial = simulate("sj", seed=seed, noise="none", **({} if leg is None else {"leg": leg}))
            force, events = trial.total, trial.truth.events
            onset = int(np.ceil(events["onset_s"] * trial.rate_hz))
            peak = onset + int(np.argmax(force[onset:int(events["takeoff_s"] * trial.rate_hz)]))
            assert force[onset:peak].min() >= trial.truth.metrics["body_weight_n"] - 1e-6
