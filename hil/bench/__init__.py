"""The replay bench as a pipeline of four stages, one module each, reused by replays, training
blocks, stimulus runs and calibration:

    plan.py     scenario → simulated trials laid out as one plate source per sample rate
    stream.py   plate → acquisition → one streaming analyser per trial (results time-stamped)
    score.py    truth vs result under the spec, latency against its limit, the verdict
    record.py   typed frozen records → report.json, report.xml, plots, the printed summary

scenario.py reads the scenario file (the bench's part: plate URL, faults, checks; the trials
are sim.scenario's), settings.py says how to run; replay.py runs the stages in a row.
"""
from hil.bench.replay import replay, run
from hil.bench.scenario import Scenario, ScenarioError, load, loads
from hil.bench.settings import BenchError, Settings

__all__ = ["replay", "run", "Scenario", "ScenarioError", "load", "loads", "BenchError", "Settings"]
