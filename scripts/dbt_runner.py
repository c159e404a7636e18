"""Starting dbt for the scheduled build: which executable, and running it.

The dbt executable defaults to ``$SEGMENTS_DBT_EXECUTABLE``, else the ``dbt`` beside this
Python, else ``dbt`` on the PATH. dbt runs as a child process in the project folder with
its output streamed to ours.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from build_errors import UsageError

DBT_ENV_VAR = "SEGMENTS_DBT_EXECUTABLE"


def default_dbt() -> str:
    beside_python = Path(sys.executable).parent / "dbt"
    return os.environ.get(DBT_ENV_VAR) or (str(beside_python) if beside_python.exists() else "dbt")


def check_dbt(executable: str) -> None:
    """Fail before anything is recorded when dbt cannot be started."""
    if shutil.which(executable) is None:
        raise UsageError(
            f"dbt executable {executable!r} not found or not executable "
            f"(use --dbt or ${DBT_ENV_VAR})"
        )


def run_dbt(command: list[str], project_dir: Path, environment: dict[str, str]) -> int:
    """dbt's exit code (128 + N when killed by signal N); its output goes straight to ours."""
    sys.stdout.flush()
    try:
        returncode = subprocess.run(command, cwd=project_dir, env=environment).returncode
        return 128 - returncode if returncode < 0 else returncode
    except FileNotFoundError:
        raise UsageError(
            f"dbt executable {command[0]!r} not found (use --dbt or ${DBT_ENV_VAR})"
        ) from None
    except PermissionError:
        raise UsageError(f"dbt executable {command[0]!r} is not executable") from None
