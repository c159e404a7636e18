"""Tests of scripts/experiment_registry.py: the project's registry is valid, and each kind of
mistake in an experiment entry is reported on one line."""

from __future__ import annotations

import copy
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

PROJECT_DIR = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(PROJECT_DIR / "scripts"))

import experiment_registry  # noqa: E402

SCRIPT = PROJECT_DIR / "scripts" / "experiment_registry.py"
AUDIENCES = {"vip_email"}
SEGMENTS = {"vip": "active", "old_segment": "archived"}
VALID = {
    "key": "subject_test", "name": "Subject test", "hypothesis": "A better subject converts more.",
    "owner": "crm-team", "audience": "vip_email",
    "arms": [{"key": "control", "weight": 50}, {"key": "variant", "weight": 50}],
    "control_arm": "control", "start_date": "2026-06-01", "end_date": "2026-07-01",
    "attribution_days": 7, "primary_metric": "conversion", "guardrail_metrics": ["email_click"],
    "coverage_percent": 50, "status": "running", "global_control": True,
}


def problems_of(**changes: object) -> list[str]:
    experiment = copy.deepcopy(VALID)
    for name, value in changes.items():
        if value is None:
            experiment.pop(name)
        else:
            experiment[name] = value
    meta = {"global_control": {"enabled": True, "percent": 5}, "experiments": [experiment]}
    return experiment_registry.registry_problems(meta, AUDIENCES, SEGMENTS)


def test_the_project_registry_is_valid():
    result = subprocess.run([sys.executable, str(SCRIPT), "validate"], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("Experiment registry OK")


def test_a_valid_entry_has_no_problems():
    assert problems_of() == []


@pytest.mark.parametrize(("changes", "message"), [
    ({"audience": "nobody"}, "unknown audience 'nobody'"),
    ({"audience": None, "segment": "no_such_segment"}, "unknown segment 'no_such_segment'"),
    ({"audience": None, "segment": "old_segment"}, "segment 'old_segment' is archived"),
    ({"segment": "vip"}, "exactly one of audience and segment"),
    ({"arms": [{"key": "control", "weight": 50}, {"key": "variant", "weight": 40}]}, "sum to 90, not 100"),
    ({"arms": [{"key": "control", "weight": 50}, {"key": "control", "weight": 50}]}, "listed twice"),
    ({"arms": [{"key": "control", "weight": 100}]}, "at least two"),
    ({"control_arm": "baseline"}, "control_arm 'baseline' is not one of its arms"),
    ({"start_date": "2026-13-01"}, "start_date must be a date"),
    ({"end_date": "2026-05-01"}, "is not after start_date"),
    ({"primary_metric": "ctr"}, "primary_metric must be one of"),
    ({"guardrail_metrics": ["conversion"]}, "repeat a metric or the primary metric"),
    ({"coverage_percent": 0}, "coverage_percent must be"),
    ({"status": "live"}, "status must be one of"),
    ({"hypothesis": None}, "missing field 'hypothesis'"),
    ({"colour": "blue"}, "unknown field 'colour'"),
])
def test_mistakes_are_reported(changes, message):
    problems = problems_of(**changes)
    assert any(message in problem for problem in problems), problems


def test_global_control_percent_is_bounded():
    meta = {"global_control": {"enabled": True, "percent": 50}, "experiments": []}
    assert any("percent must be" in problem for problem in
               experiment_registry.registry_problems(meta, AUDIENCES, SEGMENTS))


def test_validate_exits_1_with_one_line_per_problem(tmp_path: Path):
    document = yaml.safe_load(experiment_registry.DEFAULT_REGISTRY.read_text())
    experiment = document["macros"][0]["meta"]["experiments"][0]
    experiment["arms"][0]["weight"] = 10
    experiment["audience"] = "nobody"
    path = tmp_path / "registry.yml"
    path.write_text(yaml.safe_dump(document))
    result = subprocess.run([sys.executable, str(SCRIPT), "validate", "--registry", str(path)],
                            capture_output=True, text=True, check=False)
    assert result.returncode == 1
    assert len(result.stderr.strip().splitlines()) == 2
    assert "Traceback" not in result.stderr
