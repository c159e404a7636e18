"""Run parameters reach dbt as environment variables and keep dbt's saved parse.

dbt parses the whole project again whenever ``--vars`` differ from its last run, which on
a schedule is every run (as_of moves each day, the marks each build). So
``scripts/scheduled_build.py`` passes as_of and its marks as ``$SEGMENTS_AS_OF``,
``$SEGMENTS_RAW_ROWS_ACCOUNTED_AFTER`` and ``$SEGMENTS_LAST_CHECKED_BUILD_AT``, and
``macros/utils/run_parameter.sql`` reads them only while executing. These tests compile
real models on an empty warehouse and read dbt's own log to see whether it parsed again.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from test_incremental_equals_full import DBT, REPO, dbt_env

pytestmark = pytest.mark.skipif(not DBT.exists(), reason="needs dbt beside this Python")

REPARSED = "Unable to do partial parsing because config vars, config profile, or config target have changed"
SAVED_PARSE_USED = "Partial parsing enabled, no changes found, skipping parsing"


@pytest.fixture(scope="module")
def work(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("run_parameters")


def compile_model(work: Path, model: str, environment: dict[str, str], dbt_vars: dict | None = None
                  ) -> tuple[str, str]:
    """Compiles one model; returns its compiled SQL and what this invocation logged."""
    env = {**dbt_env(work, work / "warehouse.duckdb"), **environment}
    log = work / "logs" / "dbt.log"
    logged_before = log.read_text() if log.exists() else ""
    args = [str(DBT), "compile", "--select", model]
    if dbt_vars is not None:
        args += ["--vars", json.dumps(dbt_vars)]
    result = subprocess.run(args, cwd=REPO, env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout[-3000:]
    compiled = next((work / "target" / "compiled").rglob(f"{model}.sql")).read_text()
    return compiled, log.read_text()[len(logged_before):]


def test_as_of_from_the_environment_keeps_the_saved_parse(work: Path) -> None:
    none_passed = {"SEGMENTS_AS_OF": "", "SEGMENTS_LAST_CHECKED_BUILD_AT": "", "SEGMENTS_RAW_ROWS_ACCOUNTED_AFTER": ""}
    compile_model(work, "int_customer_email_summary", none_passed)
    for day in ("2026-01-10", "2026-01-11"):
        compiled, logged = compile_model(work, "int_customer_email_summary", {**none_passed, "SEGMENTS_AS_OF": day})
        assert f"cast('{day}' as date)" in compiled
        assert SAVED_PARSE_USED in logged and REPARSED not in logged
    # A var given on the command line wins over the environment variable, and (being
    # --vars) makes dbt parse again.
    compiled, logged = compile_model(work, "int_customer_email_summary", {**none_passed, "SEGMENTS_AS_OF": "2026-01-11"},
                                     {"as_of": "2026-01-12"})
    assert "cast('2026-01-12' as date)" in compiled and "2026-01-11" not in compiled
    assert REPARSED in logged


def test_a_malformed_as_of_in_the_environment_is_a_clear_error(work: Path) -> None:
    env = {**dbt_env(work, work / "warehouse.duckdb"), "SEGMENTS_AS_OF": "01/10/2026"}
    result = subprocess.run([str(DBT), "compile", "--select", "int_customer_email_summary"],
                            cwd=REPO, env=env, capture_output=True, text=True)
    assert result.returncode != 0
    assert "The variable as_of must be a date written YYYY-MM-DD" in result.stdout
    assert "Traceback" not in result.stdout + result.stderr
