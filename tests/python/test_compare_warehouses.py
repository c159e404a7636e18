"""scripts/compare_warehouses.py finds every kind of difference between two warehouses."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "scripts"))

from compare_warehouses import compare  # noqa: E402

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "compare_warehouses.py"


def make_warehouse(path: Path, statements: list[str]) -> Path:
    with duckdb.connect(str(path)) as con:
        con.execute("create schema marts")
        con.execute("create schema staging")
        for statement in statements:
            con.execute(statement)
    return path


BASE = [
    "create table marts.members as select * from (values ('c1', 'vip', timestamp '2026-01-01'), "
    "('c2', 'vip', timestamp '2026-01-01'), ('c2', 'vip', timestamp '2026-01-01')) "
    "as t(customer_id, segment_key, built_at)",
    "create table staging.noise as select 1 as x",
]


@pytest.fixture
def old(tmp_path) -> Path:
    return make_warehouse(tmp_path / "old.duckdb", BASE)


def test_identical_warehouses_compare_equal_ignoring_build_times(old, tmp_path):
    new = make_warehouse(tmp_path / "new.duckdb", [BASE[0].replace("2026-01-01", "2026-02-02"), BASE[1]])
    [result] = compare(old, new)
    assert result.identical
    assert (result.old_rows, result.new_rows) == (3, 3)


def test_a_lost_duplicate_row_is_a_difference(old, tmp_path):
    new = make_warehouse(tmp_path / "new.duckdb", [
        "create table marts.members as select * from (values ('c1', 'vip', timestamp '2026-01-01'), "
        "('c2', 'vip', timestamp '2026-01-01')) as t(customer_id, segment_key, built_at)",
    ])
    [result] = compare(old, new)
    assert not result.identical
    assert (result.only_old, result.only_new) == (1, 0)


def test_changed_value_missing_column_and_missing_table_are_differences(old, tmp_path):
    new = make_warehouse(tmp_path / "new.duckdb", [
        "create table marts.members as select * from (values ('c1', 'churned', 1), "
        "('c2', 'vip', 1), ('c2', 'vip', 1)) as t(customer_id, segment_key, extra)",
        "create table marts.added as select 1 as x",
    ])
    results = {r.table: r for r in compare(old, new)}
    assert results["marts.added"].old_rows is None and not results["marts.added"].identical
    members = results["marts.members"]
    assert members.column_differences == ["+extra"]
    assert (members.only_old, members.only_new) == (1, 1)


def test_command_line_exit_codes(old, tmp_path):
    same = make_warehouse(tmp_path / "same.duckdb", BASE)
    run = [sys.executable, str(SCRIPT)]
    assert subprocess.run([*run, str(old), str(same)], capture_output=True).returncode == 0
    different = make_warehouse(tmp_path / "different.duckdb", ["create table marts.members as select 1 as x"])
    result = subprocess.run([*run, str(old), str(different)], capture_output=True, text=True)
    assert result.returncode == 1
    assert "marts.members: DIFFERS" in result.stdout
    missing = subprocess.run([*run, str(old), str(tmp_path / "nope.duckdb")], capture_output=True, text=True)
    assert missing.returncode == 2
    assert missing.stderr.startswith("error: no warehouse at")
