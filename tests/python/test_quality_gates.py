"""The quality gates catch what they promise to catch.

Each test plants one bad value in a small DuckDB warehouse (or SQL file) and checks the
gate fails and names the table and column; clean data passes. The suites under test are
the project's own files in gx/suites/.
"""

from __future__ import annotations

import sys
from pathlib import Path

import duckdb
import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO_ROOT / "scripts"))

import run_quality_gates  # noqa: E402

STAGED_TABLES = {
    "stg_crm__contacts": "contact_id varchar, updated_at timestamp, signed_up_at timestamp, loaded_at timestamp",
    "stg_crm__consent_events": "consent_event_id varchar, contact_id varchar, channel varchar, consent_status varchar, occurred_at timestamp, loaded_at timestamp",
    "stg_web__events": "event_id varchar, event_type varchar, occurred_at timestamp, loaded_at timestamp",
    "stg_shop__orders": "order_id varchar, order_status varchar, currency_code varchar, order_total_usd decimal(18, 2), ordered_at timestamp, updated_at timestamp, loaded_at timestamp",
    "stg_shop__order_lines": "order_line_id varchar, order_id varchar, quantity bigint, unit_price decimal(18, 4), loaded_at timestamp",
    "stg_shop__products": "product_id varchar, updated_at timestamp, loaded_at timestamp",
    "stg_email__campaigns": "campaign_id varchar, loaded_at timestamp",
    "stg_email__events": "email_event_id varchar, event_type varchar, occurred_at timestamp, loaded_at timestamp",
    "stg_privacy__erasure_requests": "erasure_request_id varchar, requested_at timestamp, loaded_at timestamp",
}
STAGED_ROWS = {
    "stg_crm__contacts": "('c1', '2026-06-01 10:00', '2026-05-01 10:00', '2026-06-02 01:00')",
    "stg_crm__consent_events": "('ce1', 'c1', 'email', 'granted', '2026-06-01 10:00', '2026-06-02 01:00')",
    "stg_web__events": "('e1', 'page_view', '2026-06-01 10:00', '2026-06-02 01:00')",
    "stg_shop__orders": "('o1', 'placed', 'USD', 25.00, '2026-06-01 10:00', '2026-06-01 10:00', '2026-06-02 01:00')",
    "stg_shop__order_lines": "('l1', 'o1', 2, 12.50, '2026-06-02 01:00')",
    "stg_shop__products": "('p1', '2026-06-01 10:00', '2026-06-02 01:00')",
    "stg_email__campaigns": "('cmp1', '2026-06-02 01:00')",
    "stg_email__events": "('ee1', 'open', '2026-06-01 10:00', '2026-06-02 01:00')",
    "stg_privacy__erasure_requests": "('er1', '2026-06-01 10:00', '2026-06-02 01:00')",
}


def build_staging(con: duckdb.DuckDBPyConnection) -> None:
    con.execute("create schema staging")
    for table, columns in STAGED_TABLES.items():
        con.execute(f"create table staging.{table} ({columns})")
        con.execute(f"insert into staging.{table} values {STAGED_ROWS[table]}")


def build_marts(con: duckdb.DuckDBPyConnection) -> None:
    con.execute("create schema marts")
    con.execute(
        """
        create table marts.dim_customers as
        select * from (values
            ('cus_1', 3, 120.50, 0.5, 0.25, 5, 0.75, true),
            ('cus_2', 0, 0.00, 0.0, 0.0, 0, 0.50, false),
            ('cus_3', 1, 40.00, 1.0, 0.5, 3, 1.00, true)
        ) as t(customer_id, orders_lifetime, lifetime_revenue_usd, email_open_rate_90_days,
               email_click_through_rate_90_days, rfm_recency_score, profile_completeness, has_ordered)
        """
    )
    con.execute(
        """
        create table marts.dim_segments as
        select * from (values ('vip', 'active'), ('at_risk', 'active'), ('retired', 'archived'))
            as t(segment_key, status)
        """
    )
    con.execute(
        """
        create table marts.fct_segment_memberships as
        select * from (values
            ('cus_1', 'vip', '{"orders_lifetime":5}'),
            ('cus_1', 'at_risk', '{"orders_lifetime":5,"has_email_consent":true}'),
            ('cus_2', 'at_risk', '{"orders_lifetime":2,"has_email_consent":true}'),
            ('cus_3', 'vip', '{"orders_lifetime":4}')
        ) as t(customer_id, segment_key, rule_evidence)
        """
    )
    con.execute(
        """
        create table marts.fct_segment_consent_blocks as
        select * from (values ('cus_3', 'at_risk', '{"orders_lifetime":4,"has_email_consent":false,"has_sms_consent":false}'))
            as t(customer_id, segment_key, rule_evidence)
        """
    )
    con.execute(
        """
        create table marts.dim_customer_segments as
        select * from (values ('cus_1', 'vip'), ('cus_2', 'at_risk'), ('cus_3', 'vip'))
            as t(customer_id, primary_segment_key)
        """
    )
    con.execute(
        """
        create table marts.fct_audience_eligibility as
        select * from (values
            ('vip_email', 'cus_1', 'eligible', null),
            ('vip_email', 'cus_2', 'holdout', null),
            ('vip_email', 'cus_3', 'excluded', 'consent_withdrawn')
        ) as t(audience_key, customer_id, eligibility_status, exclusion_reason)
        """
    )
    con.execute(
        """
        create table marts.dim_audiences as
        select * from (values ('vip_email', 1, 1, 1), ('paused_sms', 0, 0, 0))
            as t(audience_key, eligible_count, holdout_count, excluded_count)
        """
    )

    build_kpi_marts(con)

KPI_COLUMNS = (
    "segment_key, kpi_date, member_count, entered_count, exited_count, churned_count, recipient_count,"
    " send_count, delivery_count, unique_open_count, machine_open_count, unique_click_count,"
    " click_through_rate, click_to_open_rate, unsubscribe_count, conversion_count,"
    " attributed_revenue_usd, revenue_per_recipient_usd, as_of_date"
)


def build_kpi_marts(con: duckdb.DuckDBPyConnection) -> None:
    """Two days of KPIs for vip and at_risk that reconcile with fct_segment_memberships."""
    con.execute(
        f"""
        create table marts.fct_segment_kpis_daily as
        select * from (values
            ('vip', date '2026-06-29', 1, 1, 0, 0, 1, 2, 2, 1, 1, 1, 0.5, 1.0, 0, 1, 40.00, 40.00, date '2026-06-30'),
            ('vip', date '2026-06-30', 2, 1, 0, 0, 0, 0, 0, 0, 0, 0, null, null, 0, 0, 0.00, null, date '2026-06-30'),
            ('at_risk', date '2026-06-29', 3, 3, 0, 0, 2, 2, 2, 2, 0, 1, 0.5, 0.5, 1, 0, 0.00, 0.00, date '2026-06-30'),
            ('at_risk', date '2026-06-30', 2, 0, 1, 1, 1, 1, 1, 0, 0, 0, 0.0, null, 0, 0, 0.00, 0.00, date '2026-06-30')
        ) as t({KPI_COLUMNS})
        """
    )
    con.execute(
        """
        create table marts.fct_segment_flows_daily as
        select * from (values
            ('vip', date '2026-06-29', 'entered', 'history_started', 1),
            ('vip', date '2026-06-30', 'entered', 'rule_matched', 1),
            ('at_risk', date '2026-06-29', 'entered', 'history_started', 3),
            ('at_risk', date '2026-06-30', 'exited', 'rule_unmatched', 1)
        ) as t(segment_key, kpi_date, flow, event_reason, customer_count)
        """
    )
    con.execute(
        f"""
        create table marts.fct_all_customer_kpis_daily as
        select * exclude (segment_key, member_count, entered_count, exited_count)
        from (values
            ('all', date '2026-06-29', 3, 0, 0, 0, 3, 4, 4, 3, 1, 2, 0.5, 0.6667, 1, 1, 40.00, 13.33, date '2026-06-30'),
            ('all', date '2026-06-30', 3, 0, 0, 1, 1, 1, 1, 0, 0, 0, 0.0, null, 0, 0, 0.00, 0.00, date '2026-06-30')
        ) as t({KPI_COLUMNS}), (select 3 as customer_count)
        """
    )


@pytest.fixture
def warehouse(tmp_path: Path) -> Path:
    path = tmp_path / "warehouse.duckdb"
    con = duckdb.connect(str(path))
    build_staging(con)
    build_marts(con)
    con.close()
    return path


def run_gates(database: Path, *suites: str, extra: tuple[str, ...] = ("--no-data-docs",)) -> list[str]:
    arguments = ["--database", str(database), *extra]
    for suite in suites:
        arguments += ["--suite", suite]
    return arguments


def gate(capsys, database: Path, *suites: str, extra: tuple[str, ...] = ("--no-data-docs",)) -> tuple[int, str]:
    code = run_quality_gates.main(run_gates(database, *suites, extra=extra))
    captured = capsys.readouterr()
    return code, captured.out + captured.err


def plant(database: Path, sql: str) -> None:
    con = duckdb.connect(str(database))
    con.execute(sql)
    con.close()


def test_clean_marts_and_staging_pass_and_write_data_docs(warehouse, capsys, tmp_path):
    docs = tmp_path / "docs"
    code, output = gate(
        capsys, warehouse, "marts_customers", "marts_segments", "marts_activation", "marts_kpis", "staged_data",
        extra=("--data-docs", str(docs)),
    )
    assert code == 0, output
    assert "PASS marts_kpis" in output
    assert "PASS marts_customers" in output and "PASS marts_segments" in output and "PASS staged_data" in output
    assert "PASS marts_activation" in output
    assert (docs / "index.html").is_file()


def test_all_null_feature_column_fails_naming_table_and_column(warehouse, capsys):
    plant(warehouse, "update marts.dim_customers set lifetime_revenue_usd = null")
    code, output = gate(capsys, warehouse, "marts_customers")
    assert code == 1
    failed = [line for line in output.splitlines() if line.strip().startswith("FAILED")]
    assert any(
        "marts.dim_customers.lifetime_revenue_usd" in line and "expect_column_values_to_be_between" in line
        for line in failed
    ), output
    assert "Traceback" not in output


# One bad value planted per case: the gate of its suite fails and its output names what
# it found (every listed text must appear).
PLANTED_FAILURES = [
    pytest.param(
        "update marts.dim_customers set orders_lifetime = 0, email_open_rate_90_days = 1.5", "marts_customers",
        ["marts.dim_customers.orders_lifetime", "marts.dim_customers.email_open_rate_90_days", "rates are at most 1"],
        id="all_zero_feature_and_rate_out_of_range",
    ),
    pytest.param(
        "insert into marts.dim_customer_segments values ('cus_1', 'at_risk')", "marts_segments",
        ["marts.dim_customer_segments.primary_segment_key", "primary_segments=2", "example_customer_id=cus_1"],
        id="second_primary_segment_for_a_customer",
    ),
    pytest.param(
        "update marts.fct_segment_memberships set segment_key = 'vip'", "marts_segments",
        ["no active segment is empty - segment_key=at_risk", "more than 90% of customers - segment_key=vip"],
        id="empty_and_oversized_segments",
    ),
    pytest.param(
        "update marts.fct_segment_memberships set rule_evidence = '{}' where customer_id = 'cus_2'", "marts_segments",
        ["memberships_without_evidence", "segment_key=at_risk"],
        id="membership_without_evidence",
    ),
    pytest.param(
        "update marts.fct_segment_consent_blocks set rule_evidence = '{\"has_sms_consent\":true}'", "marts_segments",
        ["blocked_with_consent", "segment_key=at_risk"],
        id="consent_blocked_match_with_consent",
    ),
    pytest.param(
        "update marts.fct_audience_eligibility set eligibility_status = 'sent' where customer_id = 'cus_1'",
        "marts_activation",
        ["marts.fct_audience_eligibility.eligibility_status", "sent"],
        id="unknown_audience_eligibility_status",
    ),
    pytest.param(
        "update marts.fct_audience_eligibility set exclusion_reason = 'manual_suppression' where customer_id = 'cus_2'",
        "marts_activation",
        ["reason_mismatches", "audience_key=vip_email"],
        id="exclusion_reason_without_exclusion",
    ),
    pytest.param(
        "update marts.dim_audiences set eligible_count = 2 where audience_key = 'vip_email'",
        "marts_activation",
        ["count_difference", "audience_key=vip_email"],
        id="audience_counts_do_not_reconcile",
    ),
    pytest.param(
        "insert into staging.stg_web__events values ('e2', 'login', '2026-06-05 10:00', '2026-06-02 01:00')",
        "staged_data",
        ["staging.stg_web__events.occurred_at", "rows_after_load=1"],
        id="future_timestamp_in_staging",
    ),
    pytest.param(
        "insert into staging.stg_email__events values ('ee2', 'forward', '2008-12-31 23:00', '2026-06-02 01:00')",
        "staged_data",
        ["rows_before_business_start=1", "staging.stg_email__events.event_type", "forward"],
        id="timestamp_before_business_start_and_unknown_event_type",
    ),
    pytest.param(
        "update marts.fct_segment_kpis_daily set click_through_rate = 1.5 where segment_key = 'vip' and click_through_rate is not null",
        "marts_kpis",
        ["marts.fct_segment_kpis_daily.click_through_rate", "segment_key=vip"],
        id="segment_rate_above_one",
    ),
    pytest.param(
        "update marts.fct_segment_kpis_daily set member_count = member_count - 3 where segment_key = 'at_risk'",
        "marts_kpis",
        ["marts.fct_segment_kpis_daily.member_count", "segment_key=at_risk", "size_difference"],
        id="negative_size_and_size_not_matching_memberships",
    ),
    pytest.param(
        "insert into marts.fct_segment_kpis_daily select * replace (date '2026-07-02' as kpi_date)"
        " from marts.fct_segment_kpis_daily where segment_key = 'vip' and kpi_date = date '2026-06-30'",
        "marts_kpis",
        ["marts.fct_segment_kpis_daily.kpi_date", "segment_key=vip", "is_within_as_of"],
        id="segment_day_after_as_of_and_gap",
    ),
    pytest.param(
        "update marts.fct_segment_flows_daily set customer_count = 2 where segment_key = 'at_risk' and flow = 'exited'",
        "marts_kpis",
        ["marts.fct_segment_flows_daily", "exited_difference"],
        id="flows_do_not_sum_to_exits",
    ),
    pytest.param(
        "update marts.fct_segment_kpis_daily set recipient_count = 5, send_count = 5 where segment_key = 'vip'",
        "marts_kpis",
        ["marts.fct_all_customer_kpis_daily.recipient_count", "recipients_over_segments"],
        id="segment_sends_above_all_customers",
    ),
]


@pytest.mark.parametrize(("planted", "suite", "expected"), PLANTED_FAILURES)
def test_planted_bad_value_fails_and_is_named(warehouse, capsys, planted, suite, expected):
    plant(warehouse, planted)
    code, output = gate(capsys, warehouse, suite)
    assert code == 1
    missing = [text for text in expected if text not in output]
    assert not missing, output


def test_missing_marts_are_skipped_with_a_notice(tmp_path, capsys):
    path = tmp_path / "staging_only.duckdb"
    con = duckdb.connect(str(path))
    build_staging(con)
    con.close()
    code, output = gate(capsys, path, "marts_customers", "marts_segments")
    assert code == 0
    assert "SKIP marts_customers: marts.dim_customers not built yet" in output


def build_landed(con: duckdb.DuckDBPyConnection, newest_web_rows: int) -> None:
    con.execute("create schema raw")
    con.execute(
        "create table raw.ingestion_ledger (source varchar, table_name varchar, file_path varchar, checksum varchar, "
        "file_bytes bigint, row_count bigint, status varchar, error_message varchar, added_columns varchar, loaded_at timestamp)"
    )
    for day in range(1, 10):
        rows = newest_web_rows if day == 9 else 1000
        con.execute(
            "insert into raw.ingestion_ledger values ('web', 'events', ?, 'x', 1, ?, 'loaded', null, null, ?)",
            [f"web/events/date=2026-06-0{day}/part-0.parquet", rows, f"2026-06-0{day} 02:00"],
        )
    for source, table in (
        ("crm", "contacts"), ("crm", "consent_events"), ("web", "events"), ("shop", "orders"),
        ("shop", "order_lines"), ("shop", "products"), ("email", "campaigns"), ("email", "events"),
        ("privacy", "erasure_requests"), ("privacy", "manual_suppressions"),
    ):
        key = {"contacts": "contact_id", "consent_events": "consent_event_id", "events": "event_id" if source == "web" else "email_event_id",
               "orders": "order_id", "order_lines": "order_line_id", "products": "product_id", "campaigns": "campaign_id",
               "erasure_requests": "erasure_request_id", "manual_suppressions": "suppression_id"}[table]
        con.execute(f"create table raw.{source}_{table} ({key} varchar)")
        con.execute(f"insert into raw.{source}_{table} select 'k' || range from range(100)")
    for source in ("crm", "web", "shop", "email", "privacy"):
        con.execute(f"create table staging.stg_{source}__quarantined_rows (source_table varchar)")


def landed_warehouse(tmp_path: Path, newest_web_rows: int, web_quarantined_rows: int = 0) -> Path:
    """A warehouse of staged and landed data whose newest web delivery has
    ``newest_web_rows`` rows, with ``web_quarantined_rows`` of them quarantined."""
    path = tmp_path / "landed.duckdb"
    con = duckdb.connect(str(path))
    build_staging(con)
    build_landed(con, newest_web_rows)
    con.execute(f"insert into staging.stg_web__quarantined_rows select 'web.events' from range({web_quarantined_rows})")
    con.close()
    return path


def test_volume_drop_against_previous_deliveries_fails(tmp_path, capsys):
    code, output = gate(capsys, landed_warehouse(tmp_path, newest_web_rows=100), "landed_raw")
    assert code == 1
    assert "source_table=web.events" in output and "volume_ratio=0.1" in output


def test_volume_within_bounds_and_no_quarantine_pass(tmp_path, capsys):
    code, output = gate(capsys, landed_warehouse(tmp_path, newest_web_rows=900), "landed_raw")
    assert code == 0, output


def test_quarantine_share_above_threshold_fails(tmp_path, capsys):
    code, output = gate(capsys, landed_warehouse(tmp_path, newest_web_rows=900, web_quarantined_rows=6), "landed_raw")
    assert code == 1
    assert "staging.stg_web__quarantined_rows" in output and "quarantine_share=0.06" in output


def test_missing_database_is_a_clear_message_and_exit_2(tmp_path, capsys):
    code, output = gate(capsys, tmp_path / "absent.duckdb")
    assert code == 2
    assert "does not exist" in output and "Traceback" not in output


def test_uppercase_keyword_fails_sqlfluff(tmp_path):
    from sqlfluff.core import FluffConfig, Linter

    # The project's rules, rendered with the jinja templater so a loose file can be linted.
    config = FluffConfig.from_path(str(REPO_ROOT), overrides={"templater": "jinja", "dialect": "duckdb"})
    sql_file = tmp_path / "planted.sql"
    sql_file.write_text("SELECT customers.customer_id\nfrom customers\n")
    result = Linter(config=config).lint_string(sql_file.read_text(), fname=str(sql_file))
    codes = {violation.rule_code() for violation in result.get_violations()}
    assert "CP01" in codes
    clean = Linter(config=config).lint_string("select customers.customer_id\nfrom customers\n")
    assert not clean.get_violations()
