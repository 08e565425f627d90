"""A pytest plugin, so that bench checks live in anyone's own test suite (installed with
forcebench, registered under ``pytest11``)::

    def test_quick_battery(forcebench):
        forcebench.replay("scenarios/quick.toml")          # asserts the verdict is "pass"

    pytest --forcebench-plate /dev/ttyUSB0                  # the same test on a real plate
    pytest --forcebench-plate "TCPIP::192.168.0.20::5025::SOCKET"

Each replay's report (report.json, report.xml, plots unless ``--forcebench-no-plots``) is kept under the test's temporary
directory or ``--forcebench-reports DIR``; its path, verdict and pass rates are attached to the
test (JUnit XML properties) and its summary appears in the test's report.
"""
from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("forcebench", "force-plate bench checks (the forcebench fixture)")
    group.addoption("--forcebench-plate", metavar="URL", default=None,
                    help="plate for the forcebench fixture: emulated, emulated+scpi, a serial port "
                         "or a VISA resource (default: each scenario's own, the emulated plate)")
    group.addoption("--forcebench-reports", metavar="DIR", default=None,
                    help="keep each replay's report in DIR/<test name>/ (default: the test's tmp_path)")
    group.addoption("--forcebench-no-plots", action="store_true", default=False,
                    help="draw no PNG plots: report.json and report.xml only (a few seconds "
                         "less per replay)")


class Bench:
    """What the ``forcebench`` fixture gives a test: replay scenarios against the chosen plate."""

    def __init__(self, request: pytest.FixtureRequest, directory: Path, plate_url: str | None,
                 plots: bool = True) -> None:
        self.request, self.directory, self.plate_url, self.plots = request, directory, plate_url, plots
        self.records: list[dict[str, Any]] = []

    def replay(self, scenario: str | Path, *, expect: str = "pass", fast: bool | None = None,
               timeout_s: float = 10.0) -> dict[str, Any]:
        """Replay ``scenario`` (a TOML file) and assert its verdict is ``expect``; the record as
        in report.json.

        ``fast`` defaults to True on emulated plates (latency then unchecked) and False on real
        ones, which stream in real time."""
        from hil.bench import Settings, load, replay
        from hil.bench.record import summary
        from hil.plates import is_emulated

        if expect not in ("pass", "fail"):
            raise ValueError(f"expect must be 'pass' or 'fail', got {expect!r}")
        plan = load(scenario)
        url = self.plate_url or plan.url
        fast = is_emulated(url) if fast is None else fast
        directory = self.directory / (plan.name if not self.records else f"{plan.name}-{len(self.records)}")
        replayed, _ = replay(plan, directory, Settings(plate_url=url, fast=fast, timeout_s=timeout_s,
                                                       progress=False, plots=self.plots))
        record = replayed.to_dict()
        self.records.append(record)
        text = summary(replayed, directory)
        node = self.request.node
        node.add_report_section("call", f"forcebench {plan.name}", text)
        node.user_properties += [
            (f"forcebench.{plan.name}.verdict", record["verdict"]),
            (f"forcebench.{plan.name}.report", str(directory / "report.json")),
            (f"forcebench.{plan.name}.plate", url),
            *((f"forcebench.{plan.name}.{r['test']}.{r['metric']}", f"{r['passed']}/{r['total']}")
              for r in record["pass_rates"]),
        ]
        assert record["verdict"] == expect, (
            f"forcebench {plan.name} on {url}: verdict {record['verdict']}, expected {expect}\n{text}")
        return record


@pytest.fixture
def forcebench(request: pytest.FixtureRequest, tmp_path: Path) -> Bench:
    """Replays scenarios against ``--forcebench-plate`` and asserts their verdict."""
    config = request.config
    reports = config.getoption("--forcebench-reports")
    if reports:
        directory = Path(reports) / re.sub(r"[^\w.-]+", "_", request.node.nodeid)
    else:
        directory = tmp_path / "forcebench"
    return Bench(request, directory, config.getoption("--forcebench-plate"),
                 plots=not config.getoption("--forcebench-no-plots"))
