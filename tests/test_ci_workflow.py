"""The example CI workflow in docs/ci.md uses only commands and options that exist."""
from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest
import yaml

from hil.cli import build_parser

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def workflow() -> dict:
    text = (ROOT / "docs" / "ci.md").read_text()
    (block,) = re.findall(r"```yaml\n(.*?)```", text, re.S)
    return yaml.safe_load(block)


def commands(workflow: dict) -> list[list[str]]:
    lines = [line for job in workflow["jobs"].values() for step in job["steps"]
             for line in step.get("run", "").splitlines() if line.strip()]
    return [shlex.split(line.replace("${{ vars.FORCEPLATE_URL }}", "emulated").split(" > ")[0])
            for line in lines]


def test_jobs_emulated_on_every_push_and_real_plate_self_hosted(workflow):
    assert "push" in workflow[True]  # YAML reads the bare key `on` as True
    assert workflow["jobs"]["emulated"]["runs-on"] == "ubuntu-latest"
    assert workflow["jobs"]["real-plate"]["runs-on"][0] == "self-hosted"
    assert workflow["jobs"]["real-plate"]["needs"] == "emulated"


def test_every_forcebench_command_parses(workflow):
    parser = build_parser()
    used = [argv for argv in commands(workflow) if argv[0].endswith("bin/forcebench")]
    assert used
    for argv in used:
        args = parser.parse_args(argv[1:])  # exits 2 on an unknown option
        if args.baseline:
            assert (ROOT / args.baseline).exists()


def test_every_pytest_option_exists(workflow, pytestconfig):
    used = [argv for argv in commands(workflow) if argv[:3] == [".venv/bin/python", "-m", "pytest"]]
    assert len(used) >= 4
    for argv in used:
        for option in (a.split("=")[0] for a in argv if a.startswith("--")):
            pytestconfig.getoption(option)  # ValueError if pytest or a plugin has no such option
    assert any("--forcebench-plate" in argv for argv in used)
