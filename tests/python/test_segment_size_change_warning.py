"""The warn-level test assert_segment_sizes_change_within_limits fires on planted data.

A throwaway warehouse holds only planted KPI marts (fct_segment_kpis_daily and
fct_all_customer_kpis_daily, the two tables rpt_segment_kpi_ranking reads); `dbt build`
of the report then runs the test. A segment that doubles overnight warns, one that moves
a little or a tiny one that jumps by less than the absolute floor does not, and a warning
never fails the build.
"""

from __future__ import annotations

import datetime as dt
import json
import subprocess
from pathlib import Path

import duckdb
import pytest

from test_incremental_equals_full import DBT, REPO, dbt_env

pytestmark = pytest.mark.skipif(not DBT.exists(), reason="needs dbt beside this Python")

AS_OF = dt.date(2026, 6, 30)
TEST_NAME = "assert_segment_sizes_change_within_limits"
COUNT_COLUMNS = (
    "recipient_count", "delivery_count", "unique_open_count", "unique_click_count",
    "conversion_count", "unsubscribe_count", "churned_count",
)


def plant(database: Path, sizes: dict[str, tuple[int, int]]) -> None:
    """KPI marts with each segment's member count the day before as_of and on as_of."""
    counts = ", ".join(f"cast(0 as bigint) as {column}" for column in COUNT_COLUMNS)
    rows = [
        (segment_key, AS_OF - dt.timedelta(days=offset), size)
        for segment_key, pair in sizes.items()
        for offset, size in ((1, pair[0]), (0, pair[1]))
    ]
    con = duckdb.connect(str(database))
    try:
        con.execute("create schema if not exists marts")
        con.execute("create or replace table planted (segment_key varchar, kpi_date date, member_count bigint)")
        con.executemany("insert into planted values (?, ?, ?)", rows)
        con.execute(f"""
            create or replace table marts.fct_segment_kpis_daily as
            select segment_key, kpi_date, member_count, {counts},
                cast(0 as decimal(18, 2)) as attributed_revenue_usd
            from planted
        """)
        con.execute(f"""
            create or replace table marts.fct_all_customer_kpis_daily as
            select kpi_date, cast(1000 as bigint) as customer_count, {counts},
                cast(0 as decimal(18, 2)) as attributed_revenue_usd
            from (select distinct kpi_date from planted)
        """)
        con.execute("drop table planted")
    finally:
        con.close()


def build_report(work: Path, database: Path) -> tuple[subprocess.CompletedProcess, dict]:
    """`dbt build` of the report and its data tests; the process and the test's result."""
    env = dbt_env(work, database)
    dbt_vars = {"as_of": AS_OF.isoformat(), "segment_size_change_max_ratio": 0.25,
                "segment_size_change_min_customers": 25}
    result = subprocess.run(
        [str(DBT), "build", "--select", "rpt_segment_kpi_ranking", "--exclude-resource-type", "unit_test",
         "--vars", json.dumps(dbt_vars)],
        cwd=REPO, env=env, capture_output=True, text=True,
    )
    run_results = json.loads((work / "target" / "run_results.json").read_text())
    [test_result] = [r for r in run_results["results"] if r["unique_id"].split(".")[2] == TEST_NAME]
    return result, test_result


def test_abnormal_changes_warn_without_failing(tmp_path: Path) -> None:
    database = tmp_path / "warehouse.duckdb"
    plant(database, {
        "vip": (100, 200),              # +100%, +100 customers: abnormal growth
        "loyal_customers": (1000, 700),  # -30%, -300 customers: abnormal shrink
        "repeat_buyers": (1000, 1010),  # +1%: normal
        "churned": (3, 9),              # +200% but only +6 customers: under the floor
    })
    result, test_result = build_report(tmp_path, database)
    assert result.returncode == 0, result.stdout + result.stderr
    assert test_result["status"] == "warn"
    assert test_result["failures"] == 2
    con = duckdb.connect(str(database), read_only=True)
    try:
        flagged = con.execute("""
            select segment_key, is_abnormal_growth, is_abnormal_shrink, member_count_day_over_day_change
            from marts.rpt_segment_kpi_ranking where is_abnormal_growth or is_abnormal_shrink
            order by segment_key
        """).fetchall()
    finally:
        con.close()
    assert flagged == [("loyal_customers", False, True, -300), ("vip", True, False, 100)]


def test_normal_changes_pass(tmp_path: Path) -> None:
    database = tmp_path / "warehouse.duckdb"
    plant(database, {"vip": (100, 110), "repeat_buyers": (1000, 900), "churned": (3, 9)})
    result, test_result = build_report(tmp_path, database)
    assert result.returncode == 0, result.stdout + result.stderr
    assert test_result["status"] == "pass"
    assert test_result["failures"] == 0
