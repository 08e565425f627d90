"""forcebench conformance: analysers plugged in through the entry point, judged against truth.

The analyser fixtures below are real entry points: a distribution's metadata with an
entry_points.txt, put on sys.path (and on PYTHONPATH for the command), as pip would install it.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from hil.conformance import analysers, baseline, run
from hil.conformance.score import Item, observe, rows
from hil.conformance.suites import real_cases, synthetic_cases
from hil.conformance.table import text
from hil.spec import SPEC_RATES_HZ

ROOT = Path(__file__).resolve().parents[1]
BASELINE = ROOT / "tests" / "baselines" / "accuracy.json"
UPDATE = "forcebench conformance --suite all --trials 1 --write-baseline tests/baselines/accuracy.json"

LAB_MODULE = '''
from hil.analysis import analyse
from hil.conformance.analysers import Analyser, Refused

def _forcebench(force, rate_hz, test, drop):
    return dict(analyse(force, rate_hz, test, drop_height_m=drop).metrics)

def biased():  # 3 mm high on every jump height: over the ±2 mm tolerance
    def measure(force, rate_hz, test, drop):
        metrics = _forcebench(force, rate_hz, test, drop)
        metrics["jump_height_m"] += 0.003
        return metrics
    return Analyser("biased", "1.0", {"cmj": ("jump_height_m", "flight_time_s")}, measure)

def picky():  # declines every two-plate trial, crashes on 2000 Hz
    def measure(force, rate_hz, test, drop):
        if force.ndim == 2:
            raise Refused("one plate only")
        if rate_hz == 2000:
            raise RuntimeError("boom")
        return _forcebench(force, rate_hz, test, drop)
    return Analyser("picky", "0.1", {"cmj": None}, measure)

def misnamed():
    return Analyser("other", "1", {}, lambda *a: {})
'''


@pytest.fixture
def lab(tmp_path, monkeypatch):
    """A lab's package registering analysers under forcebench.analysers; its directory."""
    (tmp_path / "lab_analysers.py").write_text(LAB_MODULE)
    meta = tmp_path / "lab_analysers-1.0.dist-info"
    meta.mkdir()
    (meta / "METADATA").write_text("Metadata-Version: 2.1\nName: lab-analysers\nVersion: 1.0\n")
    (meta / "entry_points.txt").write_text(textwrap.dedent("""\
        [forcebench.analysers]
        biased = lab_analysers:biased
        picky = lab_analysers:picky
        misnamed = lab_analysers:misnamed
        broken = lab_analysers_missing:nothing
        """))
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(analysers, "_LOADED", {})
    return tmp_path


def test_accuracy_baseline_has_not_moved():
    """The committed accuracy numbers (fixed seeds, one trial per cell of every suite): any
    change to them fails with what moved. (One trial per cell is too few for the 95 % rule,
    which the full accuracy suite and `forcebench conformance` judge; this guards the numbers.)"""
    if not BASELINE.exists():
        pytest.skip(f"no accuracy baseline at {BASELINE} (recorded, not failed); make it with: {UPDATE}")
    report = run(["forcebench"], ["all"], trials=1)
    moved = baseline.compare(baseline.read(BASELINE), report)
    assert not moved, (f"accuracy moved from {BASELINE.name}:\n{baseline.moved_table(moved)}\n"
                       f"if the change is intended, update the baseline: {UPDATE}")


def test_a_moved_number_fails_with_a_table_of_what_moved():
    report = run(["forcebench"], ["real"])
    old = baseline.snapshot(report)
    key = "real/cmj/jump_height_m/forcebench"
    old["rows"][key]["bias"] += 1e-4
    old["rows"][key]["passed"] -= 1
    old["rows"]["real/cmj/gone_m/forcebench"] = dict(old["rows"][key])
    moved = baseline.compare(old, report)
    assert {(m.row, m.quantity) for m in moved} == {
        (key, "bias"), (key, "passed"), ("real/cmj/gone_m/forcebench", "row")}
    table = baseline.moved_table(moved)
    assert key in table and "-0.0001" in table and "present" in table
    assert baseline.compare(baseline.snapshot(report), report) == []
    other = run(["forcebench"], ["real"], trials=2)  # another sweep: refuse to compare
    with pytest.raises(baseline.BaselineMismatch):
        baseline.compare(baseline.snapshot(other) | {"sweep": {"suites": ["x"]}}, report)


def test_synthetic_grid_every_test_rate_plate_and_preset():
    cases = synthetic_cases(2, ("none", "typical"))
    assert len(cases) == 2 * 6 * 3 * 2 * 2
    assert {(c.test, c.rate_hz, c.plates, c.noise) for c in cases} == {
        (c.test, r, p, n) for c in cases for r in SPEC_RATES_HZ for p in (1, 2) for n in ("none", "typical")}
    assert all(45 <= c.mass_kg <= 120 for c in cases)
    assert len({c.seed for c in cases}) == len(cases) // 2  # the presets share athletes
    assert synthetic_cases(1, ("typical",)) == [c for c in synthetic_cases(3, ("typical",)) if c.seed % 100 == 0]


def test_a_biased_analyser_misses_by_how_much(lab):
    cases = [c for c in synthetic_cases(1, ("typical",)) if c.test in ("cmj", "sj")]
    outcomes = [o for c in cases for o in observe(Item("synthetic", c, ("forcebench", "biased")))]
    table = {(r.test, r.metric, r.analyser): r for r in rows(outcomes)}
    ours, theirs = table[("cmj", "jump_height_m", "forcebench")], table[("cmj", "jump_height_m", "biased")]
    assert ours.met and not theirs.met and theirs.passed == 0
    assert theirs.bias == pytest.approx(ours.bias + 0.003, abs=1e-12)
    assert theirs.p95_over_limit > 1 and theirs.refusals == 0
    assert table[("cmj", "flight_time_s", "biased")].met
    assert not any(r.analyser == "biased" and r.test == "sj" for r in table.values())  # cmj only
    assert not any(r.analyser == "biased" and r.metric == "peak_force_n" for r in table.values())


def test_refusals_and_crashes_are_counted_not_fatal(lab):
    report = run(["picky"], ["synthetic"], trials=1)
    cmj = [r for r in report.rows if r.test == "cmj" and r.metric == "jump_height_m"][0]
    # 6 cases (3 rates × 2 plate counts) × 2 presets: the 3 two-plate and 1 remaining 2000 Hz each
    assert (cmj.trials, cmj.values, cmj.refusals) == (12, 4, 8)
    assert report.refused_trials["picky"] == 8 and not cmj.met
    assert "no value in 8/12" in text(report)
    assert {r.test for r in report.rows} == {"cmj"}


def test_unavailable_analysers_say_why(lab):
    with pytest.raises(analysers.AnalyserUnavailable, match="registered: .*biased"):
        analysers.load("nope")
    with pytest.raises(analysers.AnalyserUnavailable, match="cannot be loaded"):
        analysers.load("broken")
    with pytest.raises(analysers.AnalyserUnavailable, match="named 'misnamed'"):
        analysers.load("misnamed")
    assert {"forcebench", "biased", "picky"} <= set(analysers.available())
    assert analysers.available()[0] == "forcebench"


@pytest.mark.parametrize("peer", ["plateforce", "jumpmetrics"])
def test_peer_adapters_on_the_real_recordings(peer):
    pytest.importorskip(peer, reason="peer not installed: pip install -e '.[peers]'")
    outcomes = [o for c in real_cases() for o in observe(Item("real", c, (peer,)))]
    assert len(outcomes) == 3 and all(o.refused is None for o in outcomes)
    heights = [c.measured for o in outcomes for c in o.checks if c.name == "jump_height_m"]
    assert all(0.35 < h < 0.5 for h in heights)  # published methods: 41–45 cm


def test_plateforce_adapter_reports_only_its_metrics():
    pytest.importorskip("plateforce", reason="peer not installed: pip install -e '.[peers]'")
    peer = analysers.load("plateforce")
    case = synthetic_cases(1, ("typical",))[0]
    (outcome,) = observe(Item("synthetic", case, ("plateforce",)))
    assert {c.name for c in outcome.checks} <= set(peer.supports["cmj"])
    assert {"jump_height_m", "flight_time_s", "body_weight_n"} <= {c.name for c in outcome.checks}
    assert peer.judged("dj", ["flight_time_s"]) == ()


def _cli(*args: str, lab_dir: Path | None = None) -> subprocess.CompletedProcess:
    env = dict(os.environ)
    if lab_dir is not None:
        env["PYTHONPATH"] = f"{lab_dir}{os.pathsep}{env.get('PYTHONPATH', '')}"
    return subprocess.run([sys.executable, "-m", "hil.cli", "conformance", *args], env=env,
                          capture_output=True, text=True, timeout=120)


def test_command_json_and_exit_status_for_a_lab_analyser(lab):
    done = _cli("--analyser", "forcebench", "--analyser", "biased", "--suite", "synthetic",
                "--trials", "1", "--json", "--workers", "1", lab_dir=lab)
    assert done.returncode == 1, done.stderr
    report = json.loads(done.stdout)
    assert [(a["name"], a["met"]) for a in report["analysers"]][1] == ("biased", False)
    missed = [(r["test"], r["metric"]) for r in report["rows"] if not r["met"] and r["analyser"] == "biased"]
    assert missed == [("cmj", "jump_height_m")]
    assert report["suites"] == ["synthetic"] and report["cases"] == {"synthetic": 72}


def test_command_table_and_baseline(tmp_path):
    path = tmp_path / "base.json"
    first = _cli("--suite", "real", "--workers", "1", "--write-baseline", str(path))
    assert first.returncode == 0, first.stderr
    assert "forcebench 0.1.0: meets the spec" in first.stdout and "jump_height_m" in first.stdout
    data = json.loads(path.read_text())
    data["rows"]["real/cmj/jump_height_m/forcebench"]["passed"] = 2
    path.write_text(json.dumps(data))
    second = _cli("--suite", "real", "--workers", "1", "--baseline", str(path))
    assert second.returncode == 1
    assert "moved from the baseline" in second.stdout and "passed" in second.stdout


@pytest.mark.parametrize("args, message", [
    (("--analyser", "nope"), "no analyser named 'nope'"),
    (("--suite", "sometimes"), "unknown suite 'sometimes'"),
    (("--workers", "0"), "--workers must be at least 1"),
    (("--trials", "0", "--suite", "synthetic"), "trials per cell must be 1–99"),
    (("--baseline", "/nonexistent/base.json"), "no baseline at /nonexistent/base.json"),
    (("--json", "--markdown"), "not allowed with argument"),
])
def test_command_bad_input_is_one_line_and_exit_2(args, message):
    done = _cli(*args)
    assert done.returncode == 2 and done.stdout == ""
    assert message in done.stderr and len(done.stderr.strip().splitlines()) == 1, done.stderr


def test_field_suite_runs_or_says_it_cannot():
    from sim.plate import PRESETS
    done = _cli("--suite", "field", "--trials", "1", "--workers", "1", "--json")
    if "field" in PRESETS:  # (one trial per cell is too few to judge the 95 % rule: exit 0 or 1)
        assert done.returncode in (0, 1), done.stderr
        report = json.loads(done.stdout)
        assert report["suites"] == ["field"] and report["cases"] == {"field": 36}
        assert {r["test"] for r in report["rows"]} == {"cmj", "sj", "dj", "hops", "iso", "run"}
    else:
        assert done.returncode == 2 and "needs the noise preset(s) field" in done.stderr


def test_an_exact_metric_missed_says_by_how_much():
    from hil.conformance.score import Outcome
    from hil.conformance.table import verdict
    from hil.spec import Check
    checks = [Check("hops", "hop_count", "count", 10.0, 10.0 + (i % 3), float(i % 3), 0.0, i % 3 == 0)
              for i in range(30)]
    (row,) = rows([Outcome("synthetic", f"c{i}", "hops", "x", (c,), None, 0.0) for i, c in enumerate(checks)])
    assert row.tolerance == "exact" and row.p95_over_limit is None and row.p95_error == 2.0
    assert verdict(row) == "MISSES: p95 |error| 2, exact required"
    json.dumps(row.to_dict(), allow_nan=False)  # no infinities on the JSON edge
