"""The real UCI Online Retail orders through the whole pipeline: `make real-data`.

Skipped when the data set is not beside the repository (../shared/realdata/...). It proves,
on real and messy orders, that every raw row is accounted for and that the customer
profiles reconcile with the staged orders: one profile per identified shop customer and the
same counted revenue.
"""

from __future__ import annotations

import datetime
import os
import subprocess
from pathlib import Path

import duckdb
import pytest

REPO = Path(__file__).resolve().parents[2]
REAL_FILE = REPO.parent / "shared" / "realdata" / "online_retail" / "onlineretail.parquet"
# The last invoice is on 2011-12-09: `make real-data` builds the day after.
AS_OF = "2011-12-10"

pytestmark = pytest.mark.skipif(not REAL_FILE.exists(), reason=f"real data set not present at {REAL_FILE}")


@pytest.fixture(scope="module")
def real_warehouse(tmp_path_factory) -> Path:
    """`make real-data`, as the README documents it, into a temporary folder."""
    workdir = tmp_path_factory.mktemp("online_retail")
    env = {
        **os.environ,
        "DBT_TARGET_PATH": str(workdir / "target"),
        "DBT_LOG_PATH": str(workdir / "logs"),
        "SEGMENTS_DUCKDB_TEMP_DIR": str(workdir / "tmp"),
    }
    env.pop("SEGMENTS_AS_OF", None)
    command = ["make", "--no-print-directory", "real-data", f"REAL_DATA_DIR={workdir}"]
    result = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True)
    assert result.returncode == 0, f"make real-data failed:\n{result.stdout[-4000:]}\n{result.stderr[-2000:]}"
    assert f"build with as_of {AS_OF}" in result.stdout
    return workdir / "warehouse.duckdb"


def test_real_data_is_built_as_of_the_day_after_the_last_invoice(real_warehouse):
    assert (real_warehouse.parent / "as_of").read_text().strip() == AS_OF
    with duckdb.connect(str(real_warehouse), read_only=True) as con:
        as_of_dates = con.execute("select distinct as_of_date from marts.dim_customers").fetchall()
        last_order = con.execute("select max(ordered_at) from staging.stg_shop__orders").fetchone()[0]
    assert as_of_dates == [(datetime.date.fromisoformat(AS_OF),)]
    assert last_order.date() < datetime.date.fromisoformat(AS_OF)


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
