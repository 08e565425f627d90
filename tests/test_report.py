"""hil.report: the JSON record round trip, JUnit XML parsed back, plots."""
import json
import math
import xml.etree.ElementTree as ET

import numpy as np

from hil import report
from hil.spec import check, pass_rates


def _trial(label, test, truth, measured, status, acquisition=()):
    checks = check(test, truth, measured, 1000.0)
    return {"label": label, "index": int(label[:3]), "test": test, "seed": 1, "mass_kg": 70.0,
            "rate_hz": 1000.0, "options": {}, "status": status, "truth": truth,
            "measured": measured, "checks": [c.to_dict() for c in checks],
            "acquisition_issues": list(acquisition),
            "quality": {"ok": not acquisition, "issues": list(acquisition)},
            "latency_s": [0.0021]}, checks


def _record():
    good, good_checks = _trial("000-cmj", "cmj", {"jump_height_m": 0.30, "peak_force_n": 1800.0},
                               {"jump_height_m": 0.3008, "peak_force_n": 1805.0}, "pass")
    bad, bad_checks = _trial("001-cmj", "cmj", {"jump_height_m": 0.32, "peak_force_n": 1900.0},
                             {"jump_height_m": 0.3312, "peak_force_n": np.float64(1901.0)}, "fail")
    hole = {"code": "gap", "message": "25 frames lost", "start_s": 2.0, "end_s": 2.025}
    flagged, _ = _trial("002-hops", "hops", {"hop_count": 10}, {}, "flagged", [hole])
    checks = good_checks + bad_checks
    return {
        "scenario": {"name": "demo", "source": "demo.toml", "description": "d"},
        "plate": {"url": "emulated", "identity": "forcebench,emulated"},
        "mode": "real-time",
        "verdict": "fail",
        "trials": [good, bad, flagged],
        "pass_rates": [r.to_dict() for r in pass_rates(checks)],
        "counts": {"trials": 3, "scored": 2, "flagged": 1, "failed": 1, "passed": 1, "min_scored": 0.5},
        "latency": {"compute": {"name": "compute", "start": "the last sample the result needs was written",
                                "end": "the analysis returned the result", "count": 3, "p50_s": 0.002,
                                "p99_s": None, "max_s": 0.004, "statistic": "max", "limit_s": 0.005,
                                "checked": True, "met": True, "measurable": True, "note": None},
                    "sample": {"name": "sample", "start": "the sample was written",
                               "end": "its block reached the bench", "count": 3000, "p50_s": 0.0001,
                               "p99_s": 0.0009, "max_s": 0.002, "statistic": "p99", "limit_s": None,
                               "checked": False, "met": None, "measurable": True, "note": None}},
        "frames": {"sent": 100, "received": 75, "lost": 25, "corrupt": 0, "resyncs": 0},
        "not_a_number": math.nan,
    }


def test_json_round_trip(tmp_path):
    record = _record()
    path = report.write_json(tmp_path / "report.json", record)
    back = json.loads(path.read_text())
    assert back["not_a_number"] is None  # JSON has no NaN
    assert back["trials"][1]["measured"]["peak_force_n"] == 1901.0
    assert back["trials"] == json.loads(json.dumps(back["trials"]))
    assert back["frames"] == record["frames"] and back["scenario"]["name"] == "demo"
    assert not list(tmp_path.glob("*.part"))


def test_junit_has_a_case_per_trial_and_metric_with_numbers_in_failures(tmp_path):
    path = report.write_junit(tmp_path / "report.xml", _record())
    root = ET.parse(path).getroot()
    assert root.tag == "testsuites"
    (suite,) = root.findall("testsuite")
    cases = {case.get("name"): case for case in suite.iter("testcase")}
    assert {"000-cmj jump_height_m", "000-cmj peak_force_n", "001-cmj jump_height_m",
            "001-cmj peak_force_n", "002-hops acquisition", "002-hops hop_count",
            "cmj jump_height_m", "cmj peak_force_n", "compute", "scored"} <= set(cases)
    assert "sample" not in cases  # reported, not a test
    assert cases["compute"].find("failure") is None and cases["scored"].find("failure") is None
    failure = cases["001-cmj jump_height_m"].find("failure")
    assert failure is not None
    assert "measured 0.3312 m" in failure.get("message") and "truth 0.32 m" in failure.get("message")
    assert "limit ±0.002 m" in failure.get("message")
    assert cases["000-cmj jump_height_m"].find("failure") is None
    assert cases["002-hops hop_count"].find("skipped") is not None  # no confident numbers across a hole
    assert cases["002-hops acquisition"].find("failure") is None  # flagged = reported as expected
    assert cases["cmj jump_height_m"].find("failure") is not None  # 1/2 < 95 %
    assert int(suite.get("tests")) == len(cases)
    assert int(suite.get("failures")) == sum(c.find("failure") is not None for c in cases.values())
    assert int(suite.get("skipped")) == 1


def test_unexpected_acquisition_issue_is_a_junit_failure():
    record = _record()
    record["trials"][2]["status"] = "fail"
    cases = {c.get("name"): c for c in report.junit(record).getroot().iter("testcase")}
    assert "gap: 25 frames lost" in cases["002-hops acquisition"].find("failure").text


def test_junit_fails_a_trial_failed_by_its_notes_and_a_replay_that_verified_nothing():
    record = _record()
    record["trials"][0]["status"] = "fail"  # every check passed, but the analysis said too much
    record["trials"][0]["notes"] = ["the analysis emitted 2 results for one cmj"]
    record["counts"]["scored"] = 0
    cases = {c.get("name"): c for c in report.junit(record).getroot().iter("testcase")}
    assert "2 results" in cases["000-cmj analysis"].find("failure").text
    assert "nothing verified" in cases["scored"].find("failure").get("message")
    figure = record["latency"]["compute"]
    assert "max 4.00 ms (p99 needs ≥ 100 values) over 3" in report.latency_text(figure)
    figure.update(measurable=False, note="1 of 3 values are negative")
    assert report.latency_text(figure).endswith("not measurable: 1 of 3 values are negative")


def test_plot_selection_first_of_each_test_then_failures():
    assert report.traces_to_plot(_record()) == ["000-cmj", "002-hops", "001-cmj"]


def test_write_all(tmp_path):
    time = np.arange(2000) / 1000
    force = np.full((2000, 2), 350.0)
    traces = [report.Trace("000-cmj", time, force, {"takeoff_s": 1.0}, {"takeoff_s": 1.001})]
    written = report.write(tmp_path / "out", _record(), traces, {"compute": [0.001, 0.002, 0.003]})
    names = {p.name for p in written}
    assert {"report.json", "report.xml"} <= names
    back = json.loads((tmp_path / "out" / "report.json").read_text())
    if back["plots"]["skipped"] is None:
        assert {"trace-000-cmj.png", "latency-compute.png"} <= names
        assert (tmp_path / "out" / "latency-compute.png").read_bytes()[:4] == b"\x89PNG"
    else:
        assert back["plots"]["files"] == [] and "plot" in back["plots"]["skipped"]
