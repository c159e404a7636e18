"""The real UCI Online Retail orders through the whole pipeline: import, load, dbt build.

Skipped when the data set is not beside the repository (../shared/realdata/...). It proves,
on real and messy orders, that every raw row is accounted for and that the customer
profiles reconcile with the staged orders: one profile per identified shop customer and the
same counted revenue.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

REPO = Path(__file__).resolve().parents[2]
REAL_FILE = REPO.parent / "shared" / "realdata" / "online_retail" / "onlineretail.parquet"
AS_OF = "2011-12-09"

pytestmark = pytest.mark.skipif(not REAL_FILE.exists(), reason=f"real data set not present at {REAL_FILE}")


@pytest.fixture(scope="module")
def real_warehouse(tmp_path_factory) -> Path:
    workdir = tmp_path_factory.mktemp("online_retail")
    landing = workdir / "landing"
    database = workdir / "warehouse.duckdb"
    python = sys.executable
    env = {
        **os.environ,
        "DBT_PROFILES_DIR": str(REPO),
        "SEGMENTS_DUCKDB_PATH": str(database),
        "SEGMENTS_DUCKDB_TEMP_DIR": str(workdir / "tmp"),
        "DBT_TARGET_PATH": str(workdir / "target"),
        "DBT_LOG_PATH": str(workdir / "logs"),
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
    }
    steps = [
        [python, "scripts/import_online_retail.py", "--input", str(REAL_FILE), "--out", str(landing)],
        [python, "scripts/load_sources.py", "--landing", str(landing), "--database", str(database)],
        [
            str(Path(python).with_name("dbt")),
            "build",
            "--exclude-resource-type",
            "unit_test",
            "--vars",
            f"{{as_of: '{AS_OF}'}}",
        ],
    ]
    for command in steps:
        result = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True)
        assert result.returncode == 0, f"{command[1]} failed:\n{result.stdout[-4000:]}\n{result.stderr[-2000:]}"
    return database


def test_every_raw_shop_row_is_staged_duplicate_or_quarantined(real_warehouse):
    with duckdb.connect(str(real_warehouse), read_only=True) as con:
        for table, natural_key in (
            ("orders", "order_id, updated_at"),
            ("order_lines", "order_line_id"),
            ("products", "product_id, updated_at"),
        ):
            raw = con.execute(f"select count(*) from raw.shop_{table}").fetchone()[0]
            staged = con.execute(f"select count(*) from staging.stg_shop__{table}").fetchone()[0]
            quarantined = con.execute(
                "select count(*) from staging.stg_shop__quarantined_rows where source_table = ?",
                [f"shop.{table}"],
            ).fetchone()[0]
            usable, distinct_keys = con.execute(
                f"select count(*), count(distinct ({natural_key})) from staging.base_shop__{table} "
                "where quarantine_reason is null"
            ).fetchone()
            assert raw == staged + (usable - distinct_keys) + quarantined, table


def test_real_file_lines_all_reach_the_warehouse(real_warehouse):
    with duckdb.connect(str(real_warehouse), read_only=True) as con:
        raw_lines = con.execute("select count(*) from raw.shop_order_lines").fetchone()[0]
        unidentifiable = con.execute(
            "select count(*) from staging.stg_shop__quarantined_rows "
            "where source_table = 'shop.orders' and quarantine_reason = 'unidentifiable_customer'"
        ).fetchone()[0]
    assert raw_lines == 541_909
    # Invoices without a CustomerID cannot be attributed to anyone.
    assert unidentifiable > 0


def test_profiles_reconcile_with_staged_orders(real_warehouse):
    with duckdb.connect(str(real_warehouse), read_only=True) as con:
        profiles, profile_revenue = con.execute(
            "select count(*), sum(lifetime_revenue_usd) from marts.dim_customers"
        ).fetchone()
        customers = con.execute(
            "select count(distinct shop_customer_id) from staging.stg_shop__orders"
        ).fetchone()[0]
        staged_revenue = con.execute(
            """
            with latest as (
                select
                    *,
                    row_number() over (partition by order_id order by updated_at desc) as recency
                from staging.stg_shop__orders
            )
            select sum(
                case
                    when order_total_usd < 0 then order_total_usd
                    when is_cancelled_or_refunded then 0
                    else order_total_usd
                end
            )
            from latest
            where recency = 1
            """
        ).fetchone()[0]
    assert profiles == customers == 4_372
    assert profile_revenue == staged_revenue
