"""Event-sized data tests check the rows loaded after the last accounted load.

``scripts/scheduled_build.py`` passes ``raw_rows_accounted_after`` (the newest load a
successful whole-project build already checked). ``raw_rows_accounted_for`` on the web
events and ``unique_across_loads`` on ``stg_web__events.event_id`` then look only at rows
loaded after it; without the var they check their default scope. A small warehouse gets
two loads; planted problems must be found exactly when their rows fall after the mark.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from contextlib import contextmanager

import duckdb
import pytest

from test_incremental_equals_full import DBT, END_DATE, dbt_env, generate, load, run
from test_incremental_equals_full import dbt_test as run_dbt_test
from test_incremental_equals_full import execute as execute_sql

pytestmark = pytest.mark.skipif(not DBT.exists(), reason="needs dbt beside this Python")

WEB_MODELS = "+stg_web__events +stg_web__quarantined_rows"
UNIQUE_TEST = "test_name:unique_across_loads,stg_web__events"
ACCOUNTING_TEST = "test_name:raw_rows_accounted_for,source:web.events"


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory: pytest.TempPathFactory) -> dict:
    work = tmp_path_factory.mktemp("windowed")
    landing, database = work / "landing", work / "warehouse.duckdb"
    generate(landing, days=5, end_date=END_DATE)
    load(landing, database)
    con = duckdb.connect(str(database), read_only=True)
    first_load = con.execute("select max(_loaded_at) from raw.web_events").fetchone()[0]
    con.close()
    generate(landing, days=5, end_date=END_DATE, increment=True)
    load(landing, database)
    env = dbt_env(work, database)
    run([str(DBT), "run", "--quiet", "--select", WEB_MODELS], env)
    return {"work": work, "database": database, "env": env, "first_load": first_load}


def dbt_test(warehouse: dict, selection: str, accounted_after=None) -> subprocess.CompletedProcess:
    dbt_vars = {"raw_rows_accounted_after": f"{accounted_after:%Y-%m-%d %H:%M:%S.%f}"} if accounted_after else {}
    return run_dbt_test(warehouse["env"], selection, dbt_vars)


def execute(warehouse: dict, sql: str, parameters: list | None = None):
    return execute_sql(warehouse["database"], sql, parameters)


@contextmanager
def unseen_raw_row(warehouse: dict) -> Iterator[None]:
    """A raw web event no model has seen (not staged, not a duplicate, not quarantined),
    loaded a second after the newest load; removed again on leaving."""
    [(last_load,)] = execute(warehouse, "select max(_loaded_at) from raw.web_events")
    execute(warehouse, """
        insert into raw.web_events
        select * replace (_loaded_at + interval 1 second as _loaded_at)
        from raw.web_events
        where _loaded_at = ?
        limit 1
    """, [last_load])
    try:
        yield
    finally:
        execute(warehouse, "delete from raw.web_events where _loaded_at > ?", [last_load])


def test_duplicate_event_id_is_found_only_when_loaded_after_the_mark(warehouse: dict) -> None:
    first_load = warehouse["first_load"]
    assert dbt_test(warehouse, UNIQUE_TEST).returncode == 0
    assert dbt_test(warehouse, UNIQUE_TEST, first_load).returncode == 0
    # A second staged row for an event of the first load, itself dated in the first load.
    execute(warehouse, """
        insert into staging.base_web__events
        select * from staging.base_web__events
        where row_disposition = 'staged' and _loaded_at <= ?
        limit 1
    """, [first_load])
    try:
        assert dbt_test(warehouse, UNIQUE_TEST).returncode != 0
        # Both rows were checked by the build that accounted for the first load.
        assert dbt_test(warehouse, UNIQUE_TEST, first_load).returncode == 0
        # Loaded after the mark, it is found against the older row.
        execute(warehouse, """
            update staging.base_web__events
            set _loaded_at = (select max(_loaded_at) from staging.base_web__events)
            where rowid = (select max(rowid) from staging.base_web__events)
        """)
        failed = dbt_test(warehouse, UNIQUE_TEST, first_load)
        assert failed.returncode != 0 and "Got 1 result" in failed.stdout
    finally:
        execute(warehouse, "delete from staging.base_web__events where rowid = (select max(rowid) from staging.base_web__events)")


def test_unaccounted_raw_row_is_found_only_when_loaded_after_the_mark(warehouse: dict) -> None:
    first_load = warehouse["first_load"]
    assert dbt_test(warehouse, ACCOUNTING_TEST, first_load).returncode == 0
    with unseen_raw_row(warehouse):
        failed = dbt_test(warehouse, ACCOUNTING_TEST, first_load)
        assert failed.returncode != 0 and "Got 1 result" in failed.stdout
        # A mark after the row leaves it to the build that loaded it.
        [(newest,)] = execute(warehouse, "select max(_loaded_at) from raw.web_events")
        assert dbt_test(warehouse, ACCOUNTING_TEST, newest).returncode == 0


def test_redelivery_after_the_mark_is_counted_as_a_duplicate(warehouse: dict) -> None:
    first_load = warehouse["first_load"]
    [(last_load,)] = execute(warehouse, "select max(_loaded_at) from raw.web_events")
    # A later delivery of an event first delivered in the first load, before the mark.
    execute(warehouse, """
        insert into raw.web_events
        select raw_events.* replace (? + interval 1 second as _loaded_at, 999999 as _file_row_number)
        from raw.web_events as raw_events
        inner join staging.base_web__events as base
            on raw_events._source_file = base._source_file
            and raw_events._file_row_number = base._file_row_number
        where base.row_disposition = 'staged' and base._loaded_at <= ?
        limit 1
    """, [last_load, first_load])
    try:
        run([str(DBT), "run", "--quiet", "--select", "base_web__events"], warehouse["env"])
        [(disposition,)] = execute(warehouse, "select row_disposition from staging.base_web__events where _loaded_at > ?",
                                   [last_load])
        assert disposition == "duplicate"
        # The window's only usable row is a duplicate because its key was delivered before it.
        assert dbt_test(warehouse, ACCOUNTING_TEST, last_load).returncode == 0
        # Staged by mistake, the same row breaks the accounting.
        execute(warehouse, "update staging.base_web__events set row_disposition = 'staged' where _loaded_at > ?",
                [last_load])
        failed = dbt_test(warehouse, ACCOUNTING_TEST, last_load)
        assert failed.returncode != 0 and "Got 1 result" in failed.stdout
    finally:
        execute(warehouse, "delete from raw.web_events where _loaded_at > ?", [last_load])
        execute(warehouse, "delete from staging.base_web__events where _loaded_at > ?", [last_load])


def compiled_accounting_test(warehouse: dict) -> str:
    """The SQL dbt ran for the web events' accounting test in the last `dbt test`."""
    [path] = (warehouse["work"] / "target" / "run").rglob("_web__sources.yml/source_raw_rows_accounted_for_*.sql")
    return path.read_text()


def test_earlier_keys_are_looked_up_only_when_a_usable_row_precedes_the_window(warehouse: dict) -> None:
    first_load = warehouse["first_load"]
    # After the first load, the window's keys may have been delivered before it.
    assert dbt_test(warehouse, ACCOUNTING_TEST, first_load).returncode == 0
    assert "keys_usable_before_window" in compiled_accounting_test(warehouse)
    # Before every load, nothing precedes the window: the lookup is left out...
    before_every_load = first_load.replace(year=first_load.year - 1)
    assert dbt_test(warehouse, ACCOUNTING_TEST, before_every_load).returncode == 0
    assert "keys_usable_before_window" not in compiled_accounting_test(warehouse)
    # ...and a raw row no model has seen still breaks the accounting.
    with unseen_raw_row(warehouse):
        failed = dbt_test(warehouse, ACCOUNTING_TEST, before_every_load)
        assert failed.returncode != 0 and "Got 1 result" in failed.stdout
