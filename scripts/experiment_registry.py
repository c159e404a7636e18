"""Validate the experiment registry before anything is assigned or read out.

The registry is the `experiments` list and the `global_control` mapping in the `meta` of the
`experiment_registry` macro, declared in models/marts/measurement/_experiment_registry.yml
(its header comment documents every field). Checked here: required and unknown fields,
unique snake_case keys, an audience of the audience registry or an active segment of the
segment registry (exactly one), arms with unique keys and whole positive weights summing to
100, a control arm among them, dates written YYYY-MM-DD with the end after the start,
attribution days, metrics, coverage, status and the global control group.

Weights changed after an experiment started cannot be seen in the file alone: the dbt test
`assert_experiment_weights_unchanged_after_start` compares the registry with the weights
recorded on every assignment already made, and fails the build when they differ.

    python scripts/experiment_registry.py validate [--registry PATH]

Exits 0 with a one-line summary when the registry is valid, 1 with one line per problem.
"""

from __future__ import annotations

import argparse
import datetime as dt
import re
import sys
from pathlib import Path


import audience_registry
import segment_registry

PROJECT_DIR = Path(__file__).resolve().parent.parent
DEFAULT_REGISTRY = PROJECT_DIR / "models" / "marts" / "measurement" / "_experiment_registry.yml"

EXPERIMENT_FIELDS = (
    "key", "name", "hypothesis", "owner", "arms", "control_arm", "start_date", "end_date",
    "attribution_days", "primary_metric", "guardrail_metrics", "coverage_percent", "status",
    "global_control",
)
TARGET_FIELDS = ("audience", "segment")
GLOBAL_CONTROL_FIELDS = ("enabled", "percent")
STATUSES = ("draft", "running", "stopped", "archived")
METRICS = ("conversion", "revenue_per_unit", "email_click")
MAX_GLOBAL_CONTROL_PERCENT = 20
MAX_ATTRIBUTION_DAYS = 60
KEY_PATTERN = re.compile(r"^[a-z][a-z0-9_]*$")
DATE_PATTERN = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def read_meta(path: Path) -> dict:
    """The meta of the experiment_registry macro in a registry file, or ValueError."""
    return audience_registry.read_meta(path, "experiment_registry")


def _date(value: object) -> dt.date | None:
    text = value.isoformat() if isinstance(value, dt.date) else value
    if not isinstance(text, str) or not DATE_PATTERN.match(text):
        return None
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        return None


def _is_whole(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def global_control_problems(global_control: object) -> list[str]:
    if not isinstance(global_control, dict):
        return ["global_control: must be a mapping with enabled and percent"]
    problems = [f"global_control: unknown field '{name}'" for name in global_control if name not in GLOBAL_CONTROL_FIELDS]
    problems += [f"global_control: missing field '{name}'" for name in GLOBAL_CONTROL_FIELDS if name not in global_control]
    if "enabled" in global_control and not isinstance(global_control["enabled"], bool):
        problems.append("global_control: enabled must be true or false")
    percent = global_control.get("percent")
    if "percent" in global_control and not (_is_whole(percent) and 0 <= percent <= MAX_GLOBAL_CONTROL_PERCENT):
        problems.append(f"global_control: percent must be a whole number from 0 to {MAX_GLOBAL_CONTROL_PERCENT}")
    return problems


def _arms_problems(label: str, experiment: dict) -> list[str]:
    arms = experiment.get("arms")
    if not isinstance(arms, list) or len(arms) < 2:
        return [f"{label}: arms must be a list of at least two {{key, weight}} entries"]
    problems: list[str] = []
    keys: list[str] = []
    total = 0
    for index, arm in enumerate(arms, start=1):
        if not isinstance(arm, dict) or set(arm) != {"key", "weight"}:
            problems.append(f"{label}: arm #{index} must have exactly the fields key and weight")
            continue
        if not isinstance(arm["key"], str) or not KEY_PATTERN.match(arm["key"]):
            problems.append(f"{label}: arm #{index} key must be snake_case")
        elif arm["key"] in keys:
            problems.append(f"{label}: arm '{arm['key']}' is listed twice")
        keys.append(str(arm["key"]))
        if not _is_whole(arm["weight"]) or arm["weight"] <= 0:
            problems.append(f"{label}: weight of arm '{arm['key']}' must be a positive whole number")
        else:
            total += arm["weight"]
    if not problems and total != 100:
        problems.append(f"{label}: arm weights sum to {total}, not 100")
    if experiment.get("control_arm") not in keys:
        problems.append(f"{label}: control_arm '{experiment.get('control_arm')}' is not one of its arms")
    return problems


def experiment_problems(experiment: object, index: int, audiences: set[str], segments: dict[str, str]) -> list[str]:
    """Problems of one experiment entry."""
    key = experiment.get("key") if isinstance(experiment, dict) else None
    label = f"experiment '{key}'" if isinstance(key, str) and key else f"experiment #{index}"
    if not isinstance(experiment, dict):
        return [f"{label}: must be a mapping"]
    problems = [f"{label}: unknown field '{name}'" for name in experiment
                if name not in EXPERIMENT_FIELDS + TARGET_FIELDS]
    problems += [f"{label}: missing field '{name}'" for name in EXPERIMENT_FIELDS if name not in experiment]
    if not isinstance(key, str) or not KEY_PATTERN.match(key):
        problems.append(f"{label}: key must be snake_case")
    for name in ("name", "hypothesis", "owner"):
        if name in experiment and not (isinstance(experiment[name], str) and experiment[name].strip()):
            problems.append(f"{label}: {name} must be non-empty text")
    targets = [name for name in TARGET_FIELDS if name in experiment]
    if len(targets) != 1:
        problems.append(f"{label}: give exactly one of audience and segment")
    elif targets == ["audience"] and experiment["audience"] not in audiences:
        problems.append(f"{label}: unknown audience '{experiment['audience']}'")
    elif targets == ["segment"]:
        status = segments.get(str(experiment["segment"]))
        if status is None:
            problems.append(f"{label}: unknown segment '{experiment['segment']}'")
        elif status != "active":
            problems.append(f"{label}: segment '{experiment['segment']}' is {status}, not active")
    problems += _arms_problems(label, experiment)
    start, end = _date(experiment.get("start_date")), _date(experiment.get("end_date"))
    for name, value in (("start_date", start), ("end_date", end)):
        if name in experiment and value is None:
            problems.append(f"{label}: {name} must be a date written YYYY-MM-DD")
    if start and end and end <= start:
        problems.append(f"{label}: end_date {end} is not after start_date {start}")
    days = experiment.get("attribution_days")
    if "attribution_days" in experiment and not (_is_whole(days) and 1 <= days <= MAX_ATTRIBUTION_DAYS):
        problems.append(f"{label}: attribution_days must be a whole number from 1 to {MAX_ATTRIBUTION_DAYS}")
    primary = experiment.get("primary_metric")
    if "primary_metric" in experiment and primary not in METRICS:
        problems.append(f"{label}: primary_metric must be one of {', '.join(METRICS)}")
    guardrails = experiment.get("guardrail_metrics")
    if "guardrail_metrics" in experiment:
        if not isinstance(guardrails, list) or any(metric not in METRICS for metric in guardrails):
            problems.append(f"{label}: guardrail_metrics must be a list of {', '.join(METRICS)}")
        elif primary in guardrails or len(set(guardrails)) != len(guardrails):
            problems.append(f"{label}: guardrail_metrics repeat a metric or the primary metric")
    coverage = experiment.get("coverage_percent")
    if "coverage_percent" in experiment and not (_is_whole(coverage) and 1 <= coverage <= 100):
        problems.append(f"{label}: coverage_percent must be a whole number from 1 to 100")
    if "status" in experiment and experiment["status"] not in STATUSES:
        problems.append(f"{label}: status must be one of {', '.join(STATUSES)}")
    if "global_control" in experiment and not isinstance(experiment["global_control"], bool):
        problems.append(f"{label}: global_control must be true or false")
    return problems


def registry_problems(meta: dict, audiences: set[str], segments: dict[str, str]) -> list[str]:
    """Every problem of the registry, one line each; empty when valid."""
    problems = [f"registry: unknown part '{name}'" for name in meta if name not in ("experiments", "global_control")]
    problems += global_control_problems(meta.get("global_control"))
    experiments = meta.get("experiments")
    if not isinstance(experiments, list):
        return problems + ["registry: experiments must be a list"]
    keys = [experiment.get("key") for experiment in experiments if isinstance(experiment, dict)]
    problems += [f"registry: experiment key '{key}' is used twice" for key in sorted({k for k in keys if keys.count(k) > 1})]
    for index, experiment in enumerate(experiments, start=1):
        problems += experiment_problems(experiment, index, audiences, segments)
    return problems


def validate(registry_path: Path = DEFAULT_REGISTRY) -> tuple[list[str], dict]:
    """(problems, meta) of the registry file, reading the audience and segment registries."""
    meta = read_meta(registry_path)
    audiences = {str(audience.get("key")) for audience in audience_registry.read_meta(
        audience_registry.DEFAULT_REGISTRY).get("audiences") or [] if isinstance(audience, dict)}
    segments = audience_registry.segment_statuses(segment_registry.DEFAULT_REGISTRY)
    return registry_problems(meta, audiences, segments), meta


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=["validate"])
    parser.add_argument("--registry", type=Path, default=DEFAULT_REGISTRY)
    arguments = parser.parse_args(argv)
    try:
        problems, meta = validate(arguments.registry)
    except ValueError as error:
        print(error, file=sys.stderr)
        return 1
    if problems:
        for problem in problems:
            print(problem, file=sys.stderr)
        return 1
    experiments = meta.get("experiments") or []
    running = sum(1 for experiment in experiments if experiment.get("status") == "running")
    print(f"Experiment registry OK: {len(experiments)} experiments, {running} running")
    return 0


if __name__ == "__main__":
    sys.exit(main())
