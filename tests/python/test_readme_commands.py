"""Every command and query of the README, run as a newcomer would, in a copy of the project.

The README's fenced blocks are taken in order: `sh` blocks are shell commands, run with
bash from the project root; the `yaml` block is the "add a segment" example, appended to
the end of the segment registry, pasted as shown; `sql` blocks are analysts' queries, run against the
serving file the README tells analysts to open. `make test` is the command running this
test, so it is checked to be a Makefile target instead of run. The demo is made smaller
through the Makefile's own variables (DEMO_CUSTOMERS, DEMO_DAYS), which the README's
commands leave to their defaults.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import duckdb
import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
README = REPO / "README.md"
REGISTRY = Path("models/marts/segments/_segment_registry.yml")
SERVING_FILE = Path("data/serving.duckdb")
FENCE = re.compile(r"^```(\w*)\n(.*?)^```", re.MULTILINE | re.DOTALL)
NOT_RUN = {"make test": "the command that runs this test"}


def readme_blocks() -> list[tuple[str, str]]:
    return [(language, body) for language, body in FENCE.findall(README.read_text())]


def shell_commands(body: str) -> list[str]:
    """One entry per command: continuation lines joined, comment-only lines dropped."""
    commands, current = [], ""
    for line in body.splitlines():
        if not current and (not line.strip() or line.lstrip().startswith("#")):
            continue
        current += line.rstrip()
        if current.endswith("\\"):
            current = current[:-1] + " "
            continue
        commands.append(current.strip())
        current = ""
    return commands


def sql_statements(body: str) -> list[str]:
    return [statement.strip() for statement in body.split(";") if statement.strip()]


def command_without_comment(command: str) -> str:
    return re.sub(r"\s+#.*$", "", command)


def test_readme_has_the_quick_start_queries_and_segment_example():
    languages = [language for language, _ in readme_blocks()]
    assert languages.count("yaml") == 1
    [snippet] = [body for language, body in readme_blocks() if language == "yaml"]
    # the same example the registry's own tests validate
    assert snippet.strip() == (REPO / "docs" / "segments_add_example.yml").read_text().strip()
    assert "sql" in languages
    # the behavioural conditions shown are the starter segment's, as the registry holds them
    [conditions_snippet] = [body for language, body in readme_blocks() if language == "yml"]
    registry = yaml.safe_load((REPO / REGISTRY).read_text())
    [loyal_engaged] = [segment for segment in registry["macros"][0]["meta"]["segments"]
                       if segment["key"] == "loyal_engaged"]
    assert yaml.safe_load(conditions_snippet) == {"conditions": loyal_engaged["conditions"]}
    commands = [command_without_comment(c) for lang, body in readme_blocks() if lang == "sh"
                for c in shell_commands(body)]
    assert commands[:2] == ["make run", "make test"]


def test_commands_not_run_here_are_make_targets():
    makefile = (REPO / "Makefile").read_text()
    for command in NOT_RUN:
        target = command.split()[1]
        assert re.search(rf"^{target}:", makefile, re.MULTILINE), command


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Path:
    """A copy of the project sharing this checkout's virtualenv, as a fresh clone has it."""
    root = tmp_path_factory.mktemp("readme")
    copy = root / "project"
    shutil.copytree(
        REPO, copy, copy_function=shutil.copy2,
        ignore=shutil.ignore_patterns(".venv", ".git", "data", "target*", "logs*", "__pycache__", ".pytest_cache"),
    )
    (copy / ".venv").symlink_to(REPO / ".venv")
    return copy


def newcomer_environment() -> dict[str, str]:
    environment = {
        name: value for name, value in os.environ.items()
        if not name.startswith(("SEGMENTS_", "DBT_", "MAKE", "MFLAGS"))
    }
    environment.update({"DEMO_CUSTOMERS": "300", "DEMO_DAYS": "45"})
    return environment


def test_every_readme_command_and_query_runs(project):
    environment = newcomer_environment()
    ran, queried, added_segment = [], 0, None
    for language, body in readme_blocks():
        if language == "sh":
            for command in shell_commands(body):
                if command_without_comment(command) in NOT_RUN:
                    continue
                result = subprocess.run(["bash", "-c", command], cwd=project, env=environment,
                                        capture_output=True, text=True)
                assert result.returncode == 0, (
                    f"README command failed: {command}\n{result.stdout[-4000:]}\n{result.stderr[-3000:]}"
                )
                ran.append(command)
        elif language == "yaml":
            [entry] = yaml.safe_load(body)
            added_segment = entry["key"]
            registry = project / REGISTRY
            # pasted as shown, at the end of the file
            registry.write_text(registry.read_text().rstrip("\n") + "\n\n" + body)
        elif language == "sql":
            with duckdb.connect(str(project / SERVING_FILE), read_only=True) as con:
                for statement in sql_statements(body):
                    con.execute(statement).fetchall()
                    queried += 1
    assert any(command.startswith("make run") for command in ran)
    assert queried >= 3
    assert added_segment is not None
    with duckdb.connect(str(project / SERVING_FILE), read_only=True) as con:
        [(status,)] = con.execute(
            "select status from marts.dim_segments where segment_key = ?", [added_segment]
        ).fetchall()
    assert status == "active", "the README's example segment should be built and published"

