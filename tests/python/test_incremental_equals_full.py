"""Incremental models equal a full rebuild of the same data, row for row.

A small synthetic warehouse is generated and loaded, built with ``--full-refresh``, then
grown by a few landing days with the generator's ``--increment``; after each load an
incremental ``dbt build`` runs with as_of moved to the new day. A second warehouse loads
the same landing files once and is built with ``--full-refresh``. The last incremental
build and the full one tighten the identity guard (``identity_max_links_per_identifier``),
so identifiers move between customers and stop resolving in that build, and the
customer-level incremental models must follow the moves into old history. The builds run the
models only (``dbt run``); their tests belong to the project's ``dbt build``. Every incremental model
of the project, and ``dim_customers``, must hold the same rows in both (EXCEPT ALL both
ways), comparing every column except load- and build-time metadata (`*loaded_at`,
`built_at`, `counted_before`), which record when each warehouse loaded the files and ran
its builds. Two full rebuilds must also give identical customer ids. The daily event
aggregates (`int_web_events_daily`, `int_email_events_daily`) must be among the compared
models, with rows the incremental runs wrote.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

REPO = Path(__file__).resolve().parents[2]
GENERATOR = REPO / "scripts" / "generate_sources.py"
LOADER = REPO / "scripts" / "load_sources.py"
DBT = Path(sys.executable).parent / "dbt"

CUSTOMERS = 200
DAYS = 21
SEED = 11
END_DATE = dt.date(2026, 2, 1)
INCREMENTS = 2
# The identity guard of the last incremental build and of the full build: tighter than the
# project's default, so that build moves identifiers between customers.
TIGHTENED_IDENTITY = {"identity_max_links_per_identifier": 1}
# Every incremental model with its parents, and the customer profile with its parents.
SELECTION = "+config.materialized:incremental +dim_customers"
# Load- and build-time metadata: the two warehouses load the same files and build at
# different wall-clock times. `counted_before` is the as_of cutoff of the build that last
# wrote an identity observation, so it follows the build history as `built_at` does.
METADATA_SUFFIXES = ("loaded_at", "built_at", "counted_before")

pytestmark = pytest.mark.skipif(
    not (GENERATOR.exists() and LOADER.exists()),
    reason="needs scripts/generate_sources.py and scripts/load_sources.py to build a warehouse",
)


def run(args: list[str], env: dict[str, str] | None = None) -> None:
    result = subprocess.run(args, cwd=REPO, env=env, capture_output=True, text=True)
    assert result.returncode == 0, f"{' '.join(args)} failed:\n{result.stdout[-6000:]}\n{result.stderr[-3000:]}"


def generate(landing: Path, days: int, end_date: dt.date, increment: bool = False) -> None:
    args = [sys.executable, str(GENERATOR), "--customers", str(CUSTOMERS), "--days", str(days),
            "--seed", str(SEED), "--end-date", end_date.isoformat(), "--out", str(landing)]
    run(args + (["--increment"] if increment else []))


def load(landing: Path, database: Path) -> None:
    run([sys.executable, str(LOADER), "--landing", str(landing.resolve()), "--database", str(database.resolve())])


def dbt_env(work: Path, database: Path) -> dict[str, str]:
    (work / "duckdb_tmp").mkdir(exist_ok=True)
    return {
        **os.environ,
        "DBT_PROFILES_DIR": str(REPO),
        "SEGMENTS_DUCKDB_PATH": str(database.resolve()),
        "DBT_TARGET_PATH": str(work / "target"),
        "DBT_LOG_PATH": str(work / "logs"),
        "SEGMENTS_DUCKDB_TEMP_DIR": str(work / "duckdb_tmp"),
    }


def dbt_test(env: dict[str, str], selection: str, dbt_vars: dict) -> subprocess.CompletedProcess:
    """`dbt test` of a selection with vars; the result, passed or not."""
    return subprocess.run(
        [str(DBT), "test", "--select", selection, "--vars", json.dumps(dbt_vars)],
        cwd=REPO, env=env, capture_output=True, text=True,
    )


def execute(database: Path, sql: str, parameters: list | None = None) -> list[tuple]:
    """One statement on a read-write connection to the warehouse."""
    con = duckdb.connect(str(database))
    try:
        return con.execute(sql, parameters or []).fetchall()
    finally:
        con.close()


def small_warehouse(work: Path, selection: str, days: int = 5) -> dict:
    """A warehouse of `days` landing days with the models (and seeds) of `selection` built
    at as_of END_DATE: its database path and the dbt environment that reaches it."""
    landing, database = work / "landing", work / "warehouse.duckdb"
    generate(landing, days=days, end_date=END_DATE)
    load(landing, database)
    env = dbt_env(work, database)
    run([str(DBT), "build", "--quiet", "--resource-type", "model", "--resource-type", "seed",
         "--select", selection, "--vars", json.dumps({"as_of": END_DATE.isoformat()})], env)
    return {"database": database, "env": env}


def dbt_build(work: Path, database: Path, as_of: dt.date, full_refresh: bool,
              extra_vars: dict | None = None) -> None:
    env = dbt_env(work, database)
    run([str(DBT), "seed", "--quiet"], env)
    args = [str(DBT), "run", "--quiet", "--select", SELECTION,
            "--vars", json.dumps({"as_of": as_of.isoformat(), **(extra_vars or {})})]
    run(args + (["--full-refresh"] if full_refresh else []), env)


# Tables rebuilt from the incremental models at each build, compared too: the profile, the
# behavioural condition measures (identifier-grain aggregates mapped to customers) and the
# memberships they decide.
END_TO_END_TABLES = ("dim_customers", "int_segment_condition_values", "int_segment_memberships")


def compared_relations(work: Path) -> list[tuple[str, str]]:
    manifest = json.loads((work / "target" / "manifest.json").read_text())
    relations = [
        (node["schema"], node["alias"])
        for node in manifest["nodes"].values()
        if node["resource_type"] == "model"
        and (node["config"]["materialized"] == "incremental" or node["name"] in END_TO_END_TABLES)
        # History accumulators (full refresh disabled) record what each build saw; a full
        # refresh cannot replay them, and test_membership_events.py checks them instead.
        and node["config"].get("full_refresh") is not False
    ]
    assert relations, "the project has no incremental model to compare"
    return sorted(relations)


def compared_columns(connection: duckdb.DuckDBPyConnection, relation: str) -> str:
    names = [row[0] for row in connection.sql(f"describe {relation}").fetchall()]
    return ", ".join(f'"{name}"' for name in names if not name.endswith(METADATA_SUFFIXES))


def rows_missing(connection: duckdb.DuckDBPyConnection, left: str, right: str, columns: str) -> int:
    return connection.sql(
        f"select count(*) from (select {columns} from {left} except all select {columns} from {right})"
    ).fetchone()[0]


@pytest.fixture(scope="module")
def warehouses(tmp_path_factory: pytest.TempPathFactory) -> dict:
    root = tmp_path_factory.mktemp("incremental")
    landing = root / "landing"
    incremental_db = root / "incremental.duckdb"
    full_db = root / "full.duckdb"
    incremental_work = root / "incremental_run"
    full_work = root / "full_run"
    incremental_work.mkdir()
    full_work.mkdir()

    generate(landing, DAYS, END_DATE)
    load(landing, incremental_db)
    dbt_build(incremental_work, incremental_db, END_DATE, full_refresh=True)
    end_date = END_DATE
    for step in range(INCREMENTS):
        generate(landing, DAYS + step, end_date, increment=True)
        end_date += dt.timedelta(days=1)
        load(landing, incremental_db)
        last = step == INCREMENTS - 1
        dbt_build(incremental_work, incremental_db, end_date, full_refresh=False,
                  extra_vars=TIGHTENED_IDENTITY if last else None)

    load(landing, full_db)
    dbt_build(full_work, full_db, end_date, full_refresh=True, extra_vars=TIGHTENED_IDENTITY)
    return {"root": root, "incremental_db": incremental_db, "full_db": full_db,
            "full_work": full_work, "as_of": end_date}


def test_incremental_models_equal_full_refresh(warehouses: dict) -> None:
    relations = compared_relations(warehouses["full_work"])
    connection = duckdb.connect(str(warehouses["incremental_db"]), read_only=True)
    connection.execute(f"attach '{warehouses['full_db']}' as full_build (read_only)")
    incremental_catalog = warehouses["incremental_db"].stem
    differences = {}
    for schema, alias in relations:
        incremental_relation = f'"{incremental_catalog}"."{schema}"."{alias}"'
        full_relation = f'full_build."{schema}"."{alias}"'
        columns = compared_columns(connection, full_relation)
        only_incremental = rows_missing(connection, incremental_relation, full_relation, columns)
        only_full = rows_missing(connection, full_relation, incremental_relation, columns)
        row_count = connection.sql(f"select count(*) from {full_relation}").fetchone()[0]
        assert row_count > 0, f"{schema}.{alias} is empty: the comparison would prove nothing"
        if only_incremental or only_full:
            differences[f"{schema}.{alias}"] = (only_incremental, only_full)
    connection.close()
    assert not differences, f"rows only in incremental / only in full refresh: {differences}"


# The daily event aggregates at identifier grain (behavioural segment conditions read them).
DAILY_EVENT_AGGREGATES = ("int_web_events_daily", "int_email_events_daily")


@pytest.mark.parametrize("model", DAILY_EVENT_AGGREGATES)
def test_daily_event_aggregates_are_compared_after_incremental_writes(warehouses: dict, model: str) -> None:
    assert ("intermediate", model) in compared_relations(warehouses["full_work"]), (
        f"{model} is not among the incremental models compared with a full refresh")
    connection = duckdb.connect(str(warehouses["incremental_db"]), read_only=True)
    incremental_rows = connection.execute(
        f"select count(*) from intermediate.{model} "
        f"where built_at > (select min(built_at) from intermediate.{model})"
    ).fetchone()[0]
    connection.close()
    # Without rows an incremental run wrote, the comparison would only check the first build.
    assert incremental_rows > 0, f"no incremental run wrote a row of {model}"


def test_last_incremental_build_moved_identifiers(warehouses: dict) -> None:
    connection = duckdb.connect(str(warehouses["incremental_db"]), read_only=True)
    moved, unresolved = connection.sql(
        """
        select
            count(*) filter (where previous_customer_id is not null and customer_id is not null),
            count(*) filter (where customer_id is null)
        from intermediate.int_identifier_customer_changes
        where changed_at = (select max(changed_at) from intermediate.int_identifier_customer_changes)
        """
    ).fetchone()
    connection.close()
    # Without moves the comparison above would not cover re-attributing old activity.
    assert moved > 0 and unresolved > 0, (moved, unresolved)


def test_two_full_rebuilds_give_identical_customer_ids(warehouses: dict) -> None:
    def customer_ids() -> set[str]:
        connection = duckdb.connect(str(warehouses["full_db"]), read_only=True)
        ids = {row[0] for row in connection.sql("select customer_id from marts.dim_customers").fetchall()}
        connection.close()
        return ids

    first = customer_ids()
    dbt_build(warehouses["full_work"], warehouses["full_db"], warehouses["as_of"], full_refresh=True,
              extra_vars=TIGHTENED_IDENTITY)
    second = customer_ids()
    assert first, "dim_customers is empty"
    assert first == second
