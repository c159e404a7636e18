"""Data tests of incremental models check the rows built after the last checked build.

``scripts/scheduled_build.py`` passes ``last_checked_build_at``: when the last
whole-project build whose data tests all passed ended. The incremental models stamp each
row with the start of the build that wrote it (``built_at``), and their data tests then
read the rows built after the mark (``macros/utils/built_since_last_check.sql``); without
the var they read every row. The same way, the row-level tests of the staged event models
read the rows loaded after ``raw_rows_accounted_after`` (the newest load that build
checked). A small warehouse is built once; each test plants a problem
in a row dated before or after a mark and expects it found exactly when the scope says so.
"""

from __future__ import annotations

import datetime as dt
import subprocess

import pytest

from test_incremental_equals_full import DBT, END_DATE, small_warehouse
from test_incremental_equals_full import dbt_test as run_dbt_test
from test_incremental_equals_full import execute as execute_sql

pytestmark = pytest.mark.skipif(not DBT.exists(), reason="needs dbt beside this Python")

CAMPAIGNS = "intermediate.int_customer_email_campaigns"
SESSIONS = "intermediate.int_web_sessions"
CHANGES = "intermediate.int_identifier_customer_changes"
UNIQUE_PAIR_TEST = "test_name:unique_combination_of_columns,int_customer_email_campaigns"
NOT_NULL_CAMPAIGN_TEST = "test_name:not_null,int_customer_email_campaigns"
RESOLVED_TEST = "test_name:is_resolved_customer,int_customer_email_campaigns"
UNIQUE_SESSION_TEST = "test_name:unique_across_builds,int_web_sessions"
WEB_EVENTS_BASE = "staging.base_web__events"
NOT_NULL_WEB_EVENT_TYPE_TEST = "not_null_stg_web__events_event_type"


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory: pytest.TempPathFactory) -> dict:
    warehouse = small_warehouse(tmp_path_factory.mktemp("since_last_check"),
                                "+int_customer_email_campaigns +int_web_sessions")
    [(built_at,)] = execute(warehouse, f"select max(built_at) from {CAMPAIGNS}")
    # The build above is the last checked one: it ended after it started.
    warehouse["checked_at"] = built_at + dt.timedelta(minutes=1)
    return warehouse


def dbt_test(warehouse: dict, selection: str, checked_at: dt.datetime | None = None
             ) -> subprocess.CompletedProcess:
    dbt_vars = {"as_of": END_DATE.isoformat()}
    if checked_at is not None:
        dbt_vars["last_checked_build_at"] = f"{checked_at:%Y-%m-%d %H:%M:%S.%f}"
    return run_dbt_test(warehouse["env"], selection, dbt_vars)


def execute(warehouse: dict, sql: str, parameters: list | None = None):
    return execute_sql(warehouse["database"], sql, parameters)


def plant_copy(warehouse: dict, table: str, built_at: dt.datetime, replace: str = "") -> None:
    """A copy of one row of the table, stamped as built at `built_at`."""
    replacements = ", ".join(filter(None, [replace, "? as built_at"]))
    execute(warehouse, f"""
        insert into {table}
        select * replace ({replacements})
        from {table}
        limit 1
    """, [built_at])


def remove_rows_built_at(warehouse: dict, table: str, built_at: dt.datetime) -> None:
    execute(warehouse, f"delete from {table} where built_at = ?", [built_at])


def test_the_scoped_tests_pass_on_the_built_warehouse(warehouse: dict) -> None:
    selection = f"{UNIQUE_PAIR_TEST} {NOT_NULL_CAMPAIGN_TEST} {RESOLVED_TEST} {UNIQUE_SESSION_TEST}"
    for checked_at in (None, warehouse["checked_at"]):
        result = dbt_test(warehouse, selection, checked_at)
        assert result.returncode == 0, result.stdout[-2000:]
        # the five data tests ran and passed (the project's on-run-start and on-run-end hooks
        # are counted in PASS too)
        finished = next(line for line in result.stdout.splitlines() if "Finished running" in line)
        assert " 5 data tests" in finished, finished
        assert "ERROR=0" in result.stdout


def test_a_duplicate_is_found_when_one_of_its_rows_was_built_after_the_mark(warehouse: dict) -> None:
    checked_at = warehouse["checked_at"]
    before, after = checked_at - dt.timedelta(seconds=30), checked_at + dt.timedelta(seconds=30)
    plant_copy(warehouse, CAMPAIGNS, before)
    try:
        assert dbt_test(warehouse, UNIQUE_PAIR_TEST).returncode != 0
        # Both rows of the pair were built before the mark: that build found it.
        assert dbt_test(warehouse, UNIQUE_PAIR_TEST, checked_at).returncode == 0
    finally:
        remove_rows_built_at(warehouse, CAMPAIGNS, before)
    # A new row that repeats an older one is found, though the older one is out of scope.
    plant_copy(warehouse, CAMPAIGNS, after)
    try:
        failed = dbt_test(warehouse, UNIQUE_PAIR_TEST, checked_at)
        assert failed.returncode != 0 and "Got 1 result" in failed.stdout
    finally:
        remove_rows_built_at(warehouse, CAMPAIGNS, after)


def test_a_duplicate_session_is_found_against_older_sessions(warehouse: dict) -> None:
    checked_at = warehouse["checked_at"]
    after = checked_at + dt.timedelta(seconds=30)
    plant_copy(warehouse, SESSIONS, after)
    try:
        failed = dbt_test(warehouse, UNIQUE_SESSION_TEST, checked_at)
        assert failed.returncode != 0 and "Got 1 result" in failed.stdout
        assert dbt_test(warehouse, UNIQUE_SESSION_TEST, after).returncode == 0
    finally:
        remove_rows_built_at(warehouse, SESSIONS, after)


def test_a_null_is_found_only_in_rows_built_after_the_mark(warehouse: dict) -> None:
    checked_at = warehouse["checked_at"]
    before, after = checked_at - dt.timedelta(seconds=30), checked_at + dt.timedelta(seconds=30)
    plant_copy(warehouse, CAMPAIGNS, before, "null as campaign_id")
    try:
        assert dbt_test(warehouse, NOT_NULL_CAMPAIGN_TEST).returncode != 0
        assert dbt_test(warehouse, NOT_NULL_CAMPAIGN_TEST, checked_at).returncode == 0
    finally:
        remove_rows_built_at(warehouse, CAMPAIGNS, before)
    plant_copy(warehouse, CAMPAIGNS, after, "null as campaign_id")
    try:
        assert dbt_test(warehouse, NOT_NULL_CAMPAIGN_TEST, checked_at).returncode != 0
    finally:
        remove_rows_built_at(warehouse, CAMPAIGNS, after)


def test_rows_of_a_customer_that_lost_its_identifiers_are_checked_again(warehouse: dict) -> None:
    checked_at = warehouse["checked_at"]
    before = checked_at - dt.timedelta(seconds=30)
    # An old row whose customer no longer exists, as if its rows had not been rewritten
    # when the customer's identifiers moved to another one.
    plant_copy(warehouse, CAMPAIGNS, before, "'cus_gone' as customer_id")
    try:
        assert dbt_test(warehouse, RESOLVED_TEST).returncode != 0
        # No recorded move since the mark: the row was checked when the customer existed.
        assert dbt_test(warehouse, RESOLVED_TEST, checked_at).returncode == 0
        # A build after the mark recorded the move away from cus_gone: its rows are read.
        execute(warehouse, f"""
            insert into {CHANGES} (identifier_type, identifier_value, customer_id,
                                   previous_customer_id, changed_at)
            values ('email', 'gone@example.com', null, 'cus_gone', ?)
        """, [checked_at + dt.timedelta(seconds=30)])
        failed = dbt_test(warehouse, RESOLVED_TEST, checked_at)
        assert failed.returncode != 0 and "Got 1 result" in failed.stdout
    finally:
        remove_rows_built_at(warehouse, CAMPAIGNS, before)
        execute(warehouse, f"delete from {CHANGES} where previous_customer_id = 'cus_gone'")


def test_a_malformed_mark_is_a_clear_error(warehouse: dict) -> None:
    result = run_dbt_test(warehouse["env"], UNIQUE_PAIR_TEST,
                          {"as_of": END_DATE.isoformat(), "last_checked_build_at": "yesterday"})
    assert result.returncode != 0
    assert "last_checked_build_at must be a timestamp" in result.stdout


def test_a_null_in_a_staged_event_is_found_only_in_rows_loaded_after_the_mark(warehouse: dict) -> None:
    [(checked_load,)] = execute(warehouse, f"select max(_loaded_at) from {WEB_EVENTS_BASE}")
    before, after = checked_load - dt.timedelta(seconds=30), checked_load + dt.timedelta(seconds=30)
    mark = {"as_of": END_DATE.isoformat(), "raw_rows_accounted_after": f"{checked_load:%Y-%m-%d %H:%M:%S.%f}"}

    def plant(loaded_at: dt.datetime) -> None:
        execute(warehouse, f"""
            insert into {WEB_EVENTS_BASE}
            select * replace (null as event_type, ? as _loaded_at, -1 as _file_row_number)
            from {WEB_EVENTS_BASE}
            where row_disposition = 'staged'
            limit 1
        """, [loaded_at])

    def remove() -> None:
        execute(warehouse, f"delete from {WEB_EVENTS_BASE} where _file_row_number = -1")

    plant(before)
    try:
        assert run_dbt_test(warehouse["env"], NOT_NULL_WEB_EVENT_TYPE_TEST, {"as_of": END_DATE.isoformat()}).returncode != 0
        # Loaded before the newest load the last whole-project build checked: it was found then.
        assert run_dbt_test(warehouse["env"], NOT_NULL_WEB_EVENT_TYPE_TEST, mark).returncode == 0
    finally:
        remove()
    plant(after)
    try:
        failed = run_dbt_test(warehouse["env"], NOT_NULL_WEB_EVENT_TYPE_TEST, mark)
        assert failed.returncode != 0 and "Got 1 result" in failed.stdout
    finally:
        remove()


def test_the_mark_also_arrives_as_an_environment_variable(warehouse: dict) -> None:
    """scripts/scheduled_build.py passes the marks as $SEGMENTS_LAST_CHECKED_BUILD_AT and
    $SEGMENTS_RAW_ROWS_ACCOUNTED_AFTER (macros/utils/run_parameter.sql): the same scope as
    the var, and a var given on the command line wins over the environment variable."""
    checked_at = warehouse["checked_at"]
    before = checked_at - dt.timedelta(seconds=30)
    as_of = {"as_of": END_DATE.isoformat()}
    with_mark = {**warehouse["env"], "SEGMENTS_LAST_CHECKED_BUILD_AT": f"{checked_at:%Y-%m-%d %H:%M:%S.%f}"}
    plant_copy(warehouse, CAMPAIGNS, before, "null as campaign_id")
    try:
        assert run_dbt_test(warehouse["env"], NOT_NULL_CAMPAIGN_TEST, as_of).returncode != 0
        # the mark from the environment leaves the row built before it out of scope
        assert run_dbt_test(with_mark, NOT_NULL_CAMPAIGN_TEST, as_of).returncode == 0
        # an earlier mark given as a var brings it back into scope
        earlier = {**as_of, "last_checked_build_at": f"{before - dt.timedelta(seconds=30):%Y-%m-%d %H:%M:%S.%f}"}
        assert run_dbt_test(with_mark, NOT_NULL_CAMPAIGN_TEST, earlier).returncode != 0
        malformed = {**warehouse["env"], "SEGMENTS_LAST_CHECKED_BUILD_AT": "yesterday"}
        result = run_dbt_test(malformed, NOT_NULL_CAMPAIGN_TEST, as_of)
        assert result.returncode != 0 and "last_checked_build_at must be a timestamp" in result.stdout
    finally:
        remove_rows_built_at(warehouse, CAMPAIGNS, before)
