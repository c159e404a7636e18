"""Run dbt once per registry step, in one process, and report each outcome as JSON.

    python tests/python/dbt_registry_driver.py STEPS_JSON OUTCOMES_JSON

STEPS_JSON lists {"id", "registry", "args", "env"}: the registry file's text to write into
the project (the project and registry paths are in the file's "project" and
"registry_path"), the dbt arguments and extra environment variables for that step.
OUTCOMES_JSON receives {"id": {"success": bool, "error": text or null}}. One process
parses the project once and then only the changed registry file for each step, which
keeps a long list of registries affordable. test_segment_registry.py and
test_audience_registry.py drive it through `run_registry_steps`, and read dbt's errors
with `invalid_registry_messages`; `copy_project` is the project copy and environment the
pytest files that build a warehouse of their own start from.
"""

from __future__ import annotations

import copy
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import yaml
from dbt.cli.main import dbtRunner

PROJECT_DIR = Path(__file__).resolve().parents[2]


def copy_project(root: Path) -> tuple[Path, dict[str, str]]:
    """A copy of the project at `root`/project (no virtualenv, git, data or build output)
    and the environment that points dbt at it and at its own warehouse
    (`root`/warehouse.duckdb), spill folder, target and logs under `root`."""
    project = root / "project"
    shutil.copytree(
        PROJECT_DIR, project,
        ignore=shutil.ignore_patterns(".venv", ".git", "data", "target*", "logs*", "__pycache__", ".pytest_cache"),
    )
    (root / "duckdb_tmp").mkdir(exist_ok=True)
    env = {
        **os.environ,
        "DBT_PROFILES_DIR": str(project),
        "SEGMENTS_DUCKDB_PATH": str(root / "warehouse.duckdb"),
        "SEGMENTS_DUCKDB_TEMP_DIR": str(root / "duckdb_tmp"),
        "DBT_TARGET_PATH": str(root / "target"),
        "DBT_LOG_PATH": str(root / "logs"),
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
    }
    return project, env


def run_registry_steps(root: Path, registry_in_project: Path, steps: list[dict], unset_env: tuple[str, ...]) -> dict:
    """Run `steps` (see the module docstring) in a copy of the project under `root`; the
    outcomes by step id, plus `_warehouse`, the copy's warehouse file. The copy's profile
    gains a `portable` target: the DuckDB output without the plugins, the path every other
    adapter takes. `unset_env` names variables the steps must not inherit."""
    project, env = copy_project(root)
    profiles = yaml.safe_load((project / "profiles.yml").read_text())
    outputs = profiles["dynamic_segments"]["outputs"]
    portable = copy.deepcopy(outputs["duckdb"])
    portable.pop("plugins")
    portable["path"] = str(root / "portable.duckdb")
    outputs["portable"] = portable
    (project / "profiles.yml").write_text(yaml.safe_dump(profiles, sort_keys=False))
    plan = {"project": str(project), "registry_path": str(project / registry_in_project), "steps": steps}
    (root / "steps.json").write_text(json.dumps(plan))
    for name in unset_env:
        env.pop(name, None)
    result = subprocess.run(
        [sys.executable, __file__, str(root / "steps.json"), str(root / "outcomes.json")],
        cwd=project, env=env, capture_output=True, text=True, check=False,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    outcomes = json.loads((root / "outcomes.json").read_text())
    outcomes["_warehouse"] = str(root / "warehouse.duckdb")
    return outcomes


def invalid_registry_messages(error: str | None, header: str) -> list[str]:
    """The problem lines that follow `header` ('The ... registry (...) is invalid:\n') in dbt's error."""
    assert error is not None and header in error, error
    lines = []
    for line in error.split(header, 1)[1].splitlines():
        if not line.strip():
            break
        lines.append(line.removeprefix("  "))
    return lines


def main(steps_path: str, outcomes_path: str) -> None:
    plan = json.loads(Path(steps_path).read_text())
    registry = Path(plan["registry_path"])
    runner = dbtRunner()
    outcomes: dict[str, dict] = {}
    for step in plan["steps"]:
        registry.write_text(step["registry"])
        saved = {name: os.environ.get(name) for name in step.get("env", {})}
        os.environ.update(step.get("env", {}))
        try:
            result = runner.invoke(["--quiet", "--no-write-json", *step["args"], "--project-dir", plan["project"]])
        finally:
            for name, value in saved.items():
                if value is None:
                    os.environ.pop(name, None)
                else:
                    os.environ[name] = value
        outcomes[step["id"]] = {
            "success": bool(result.success),
            "error": str(result.exception) if result.exception is not None else None,
        }
    Path(outcomes_path).write_text(json.dumps(outcomes))


if __name__ == "__main__":
    main(*sys.argv[1:3])
