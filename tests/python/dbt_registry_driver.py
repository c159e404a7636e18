"""Run dbt once per registry step, in one process, and report each outcome as JSON.

    python tests/python/dbt_registry_driver.py STEPS_JSON OUTCOMES_JSON

STEPS_JSON lists {"id", "registry", "args", "env"}: the registry file's text to write into
the project (the project and registry paths are in the file's "project" and
"registry_path"), the dbt arguments and extra environment variables for that step.
OUTCOMES_JSON receives {"id": {"success": bool, "error": text or null}}. One process
parses the project once and then only the changed registry file for each step, which
keeps a long list of registries affordable; test_segment_registry.py drives it.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

from dbt.cli.main import dbtRunner


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
