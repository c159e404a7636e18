"""Invalid warehouse settings stop dbt and the loader with one line naming the variable.

The size and thread settings of profiles.yml come from environment variables; a value
DuckDB cannot read (SEGMENTS_DUCKDB_MEMORY_LIMIT=lots) used to surface as a DuckDB
traceback from deep inside dbt's connection code.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
DBT = Path(sys.executable).parent / "dbt"
LOADER = REPO / "scripts" / "load_sources.py"

INVALID_SETTINGS = [
    ("SEGMENTS_DUCKDB_MEMORY_LIMIT", "lots", "a size such as 3GB or 512MB"),
    ("SEGMENTS_DUCKDB_MAX_TEMP_SIZE", "-5GB", "a size such as 3GB or 512MB"),
    ("SEGMENTS_DUCKDB_CHECKPOINT_THRESHOLD", "4 gallons", "a size such as 3GB or 512MB"),
    ("SEGMENTS_THREADS", "two", "a whole number of at least 1"),
    ("SEGMENTS_DBT_THREADS", "0", "a whole number of at least 1"),
]


def dbt_environment(tmp_path: Path, **settings: str) -> dict[str, str]:
    return {
        **os.environ,
        "DBT_PROFILES_DIR": str(REPO),
        "DBT_TARGET_PATH": str(tmp_path / "target"),
        "DBT_LOG_PATH": str(tmp_path / "logs"),
        "SEGMENTS_DUCKDB_PATH": str(tmp_path / "warehouse.duckdb"),
        **settings,
    }


@pytest.mark.parametrize(("variable", "value", "expected"), INVALID_SETTINGS)
def test_dbt_names_an_invalid_setting_in_one_line(tmp_path, variable, value, expected):
    result = subprocess.run(
        [str(DBT), "debug"], cwd=REPO, env=dbt_environment(tmp_path, **{variable: value}),
        capture_output=True, text=True,
    )
    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert "Traceback" not in output
    assert f"a valid {variable} ({value} is not {expected})" in output


def test_dbt_accepts_the_documented_forms(tmp_path):
    settings = {
        "SEGMENTS_DUCKDB_MEMORY_LIMIT": "1.5GB",
        "SEGMENTS_DUCKDB_MAX_TEMP_SIZE": "500 MiB",
        "SEGMENTS_DUCKDB_CHECKPOINT_THRESHOLD": "64mb",
        "SEGMENTS_THREADS": "1",
        "SEGMENTS_DBT_THREADS": "2",
        "SEGMENTS_DUCKDB_TEMP_DIR": str(tmp_path / "spill"),
    }
    result = subprocess.run(
        [str(DBT), "debug"], cwd=REPO, env=dbt_environment(tmp_path, **settings),
        capture_output=True, text=True,
    )
    assert result.returncode == 0, result.stdout[-3000:]
    assert "All checks passed" in result.stdout


def test_loader_names_an_invalid_memory_limit_in_one_line(tmp_path):
    landing = tmp_path / "landing"
    landing.mkdir()
    result = subprocess.run(
        [sys.executable, str(LOADER), "--landing", str(landing), "--database", str(tmp_path / "w.duckdb")],
        env={**os.environ, "SEGMENTS_DUCKDB_MEMORY_LIMIT": "lots"}, capture_output=True, text=True,
    )
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    assert "SEGMENTS_DUCKDB_MEMORY_LIMIT='lots'" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
