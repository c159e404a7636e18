"""The measurement report (`make report`, scripts/report.py) opened in headless Chromium.

The report is written from a serving file, opened through file:// in Debian's Chromium
(driven by Playwright; `make browser` installs it) with every http(s) request aborted, and
the numbers its tables show are compared with the marts queried from the same serving
file. The full check reads the serving file `make test-build` publishes
(data/test/serving.duckdb); the checks of missing and empty marts use small serving files
made here, so they run everywhere.
"""

from __future__ import annotations

import json
import math
import sys
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import pytest

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "scripts"))

import report  # noqa: E402

TEST_SERVING = REPO / "data" / "test" / "serving.duckdb"

# Every table of the page as {table: [{column: data-value}]}, plus the notes and the
# page's text.
READ_PAGE = """() => ({
  tables: Object.fromEntries([...document.querySelectorAll('table[data-table]')].map(table => [
    table.dataset.table,
    [...table.querySelectorAll('tbody tr')].map(row => Object.fromEntries(
      [...row.querySelectorAll('td')].map(cell => [cell.dataset.col,
        cell.dataset.null === 'true' ? null : cell.dataset.value])))])),
  notes: [...document.querySelectorAll('[data-note]')].map(note => [note.dataset.note, note.textContent]),
  charts: document.querySelectorAll('svg.chart').length,
  html: document.documentElement.outerHTML,
})"""


@pytest.fixture(scope="module")
def chromium():
    if not report.CHROMIUM.exists():
        pytest.fail(f"{report.CHROMIUM} is missing: `make browser` installs Debian's chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        yield playwright


@pytest.fixture
def open_report(chromium, tmp_path):
    """Open a report file; return what the page shows, after checking that it asked for
    nothing over the network and logged no error."""
    contexts = []

    def open_it(path: Path) -> dict[str, Any]:
        context = report.open_browser(chromium, tmp_path / f"profile-{len(contexts)}")
        contexts.append(context)
        requests, errors = [], []
        page = context.new_page()
        page.on("request", lambda request: requests.append(request.url))
        page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.goto(path.resolve().as_uri(), wait_until="load")
        shown = page.evaluate(READ_PAGE)
        assert requests == [path.resolve().as_uri()], f"the report made requests: {requests}"
        assert context.blocked == [], f"the report tried the network: {context.blocked}"
        assert errors == [], f"console errors: {errors}"
        return shown

    yield open_it
    for context in contexts:
        context.close()


def same(text: str | None, value: Any) -> bool:
    """Whether a cell's data-value is the database's value exactly."""
    if value is None or text is None:
        return value is None and text is None
    if isinstance(value, bool):
        return text == str(value).lower()
    if isinstance(value, float):
        return (math.isnan(value) and text == "nan") or float(text) == value
    if isinstance(value, int):
        return int(text) == value
    if isinstance(value, Decimal):
        return Decimal(text) == value
    if isinstance(value, (datetime, date)):
        return text == value.isoformat()
    return text == str(value)


def assert_shows(shown_rows: list[dict[str, str]], con: duckdb.DuckDBPyConnection, sql: str,
                 key: tuple[str, ...]) -> int:
    """The rows shown are the rows ``sql`` returns: same keys, every column equal."""
    cursor = con.execute(sql)
    columns = [description[0] for description in cursor.description]
    expected = {tuple(str(row[columns.index(k)]) for k in key): dict(zip(columns, row)) for row in cursor.fetchall()}
    shown = {tuple(row[k] for k in key): row for row in shown_rows}
    assert sorted(shown) == sorted(expected)
    for row_key, row in expected.items():
        for column, value in row.items():
            assert same(shown[row_key].get(column), value), (row_key, column, shown[row_key].get(column), value)
    return len(expected)


def write(serving: Path, tmp_path: Path, status: Path | None = None) -> Path:
    output = tmp_path / "report" / "index.html"
    assert report.main(["--serving", str(serving), "--output", str(output),
                        "--status", str(status or tmp_path / "no_status.json")]) == 0
    return output


# ------------------------------------------------------------- the test warehouse


@pytest.mark.skipif(not TEST_SERVING.exists(), reason="needs the serving file `make test-build` publishes")
def test_numbers_shown_equal_the_marts(open_report, tmp_path):
    page = open_report(write(TEST_SERVING, tmp_path))
    tables = page["tables"]
    with duckdb.connect(str(TEST_SERVING), read_only=True) as con:
        # Segment sizes on the last day: entries minus exits of the whole history (0 for a
        # segment the KPI mart lists without any event), which for an active segment is
        # dim_segments' member count.
        last_day, = con.execute("select max(event_date) from marts.fct_segment_membership_events").fetchone()
        from_events = dict(con.execute("""
            select segment_key, count(*) filter (where event_type = 'entered')
                                - count(*) filter (where event_type = 'exited')
            from marts.fct_segment_membership_events group by segment_key""").fetchall())
        latest = {row["segment_key"]: row for row in tables["segment_sizes_latest"]}
        assert set(from_events) <= set(latest) and len(from_events) > 5
        assert len({row["size_date"] for row in latest.values()}) == 1
        for segment_key, row in latest.items():
            # the newest day: of the events, or of the KPI mart (through as_of) when published
            assert row["size_date"] >= last_day.isoformat()
            assert int(row["member_count"]) == from_events.get(segment_key, 0), row
        active = dict(con.execute(
            "select segment_key, member_count from marts.dim_segments where status = 'active'").fetchall())
        for row in tables["segment_sizes_latest"]:
            if row["segment_key"] in active:
                assert int(row["member_count"]) == active[row["segment_key"]], row
        assert_shows(tables["segments"], con, report.SEGMENTS_SQL, ("segment_key",))
        assert_shows(tables["segment_event_reasons"], con, """
            select segment_key, event_type, event_reason, count(*) as event_count
            from marts.fct_segment_membership_events where event_type in ('entered', 'exited')
            group by all""", ("segment_key", "event_type", "event_reason"))
        overlaps = assert_shows(tables["segment_overlaps"], con, "select * exclude (as_of_date) from marts.rpt_segment_overlaps",
                                ("segment_a_key", "segment_b_key"))
        assert overlaps > 10
        readouts = assert_shows(tables["experiment_readouts"], con, """
            select experiment_key, metric_key, arm_key, unit_count, metric_value, absolute_lift,
                   absolute_lift_lower, absolute_lift_upper, relative_lift, relative_lift_lower,
                   relative_lift_upper, p_value, srm_p_value
            from marts.fct_experiment_readouts""", ("experiment_key", "metric_key", "arm_key"))
        assert readouts > 0
        assert_shows(tables["publish"], con, "select publish_number, as_of, build_id, table_count from publish_log "
                     "order by publish_number desc limit 1", ("publish_number",))
        kpi_tables = {name for (name,) in con.execute(
            "select table_name from information_schema.tables where table_schema = 'marts'").fetchall()}
        if "fct_segment_kpis_daily" in kpi_tables:
            assert_shows(tables["fct_segment_kpis_daily"], con, """
                select * from marts.fct_segment_kpis_daily
                where kpi_date = (select max(kpi_date) from marts.fct_segment_kpis_daily)""", ("segment_key",))
            # The window: counts summed over the last 30 days, rates of the sums.
            window = {row["segment_key"]: row for row in tables["segment_kpis_window"]}
            for segment_key, member_count, clicks, deliveries, revenue, ctr in con.execute("""
                    select segment_key, arg_max(member_count, kpi_date), sum(unique_click_count),
                           sum(delivery_count), sum(attributed_revenue_usd),
                           sum(unique_click_count) / nullif(sum(delivery_count), 0)
                    from marts.fct_segment_kpis_daily
                    where kpi_date >= (select max(kpi_date) from marts.fct_segment_kpis_daily) - 29
                    group by segment_key""").fetchall():
                shown = window[segment_key]
                assert (int(shown["member_count"]), int(shown["unique_click_count"]), int(shown["delivery_count"]),
                        Decimal(shown["attributed_revenue_usd"])) == (member_count, clicks, deliveries, revenue)
                assert same(shown["click_through_rate"], ctr), (segment_key, shown, ctr)
            assert "(all customers)" in window
        else:
            assert any(section == "kpis" and "fct_segment_kpis_daily is not in this serving file" in text
                       for section, text in page["notes"])
        # Counts and rates only: no customer id reaches the page.
        customer_ids = {customer_id for (customer_id,) in con.execute(
            "select distinct customer_id from marts.fct_segment_memberships").fetchall()}
    assert customer_ids and not any(customer_id in page["html"] for customer_id in customer_ids)
    assert all("customer_id" not in rows[0] for rows in tables.values() if rows)
    assert page["charts"] >= 4
    assert "<script" not in page["html"]


# ----------------------------------------------------------- small serving files


def small_serving(path: Path, kpi_rows: int | None) -> Path:
    """A serving file with the segment marts of two days, a publish log, no experiment
    readouts and, unless ``kpi_rows`` is None, a KPI mart of that many rows."""
    with duckdb.connect(str(path)) as con:
        con.execute("create schema marts")
        con.execute("""create table main.publish_log as select 3 as publish_number,
            timestamp '2026-06-30 05:00:00' as published_at, 'b-3' as build_id, null::varchar as build_fingerprint,
            7 as scheduled_build_number, date '2026-06-30' as as_of, 'build' as dbt_command, 5 as table_count""")
        con.execute("""create table marts.dim_segments as select * from (values
            ('vip', 'VIP', 'active', 10, 2::bigint, date '2026-06-30'),
            ('churned', 'Churned', 'active', 20, 1::bigint, date '2026-06-30'))
            as t(segment_key, segment_name, status, priority, member_count, as_of_date)""")
        con.execute("""create table marts.fct_segment_membership_events as select * from (values
            ('c1', 'vip', 'entered', date '2026-06-29', 'history_started'),
            ('c2', 'vip', 'entered', date '2026-06-29', 'history_started'),
            ('c3', 'vip', 'entered', date '2026-06-30', 'rule_matched'),
            ('c1', 'vip', 'exited', date '2026-06-30', 'rule_unmatched'),
            ('c1', 'churned', 'entered', date '2026-06-30', 'rule_matched'))
            as t(customer_id, segment_key, event_type, event_date, event_reason)""")
        con.execute("""create table marts.rpt_segment_overlaps as select 'churned' as segment_a_key,
            'vip' as segment_b_key, 1::bigint as segment_a_member_count, 2::bigint as segment_b_member_count,
            0::bigint as shared_customer_count, 0.0::decimal(5, 4) as share_of_segment_a,
            0.0::decimal(5, 4) as share_of_segment_b, date '2026-06-30' as as_of_date""")
        if kpi_rows is not None:
            con.execute("""create table marts.fct_segment_kpis_daily as
                select * from (values
                    ('vip', date '2026-06-29', 2::bigint, 2::bigint, 0::bigint, 0.125::double, 10.50::decimal(18, 2)),
                    ('churned', date '2026-06-29', 0::bigint, 0::bigint, 0::bigint, null::double, 0.00::decimal(18, 2)),
                    ('vip', date '2026-06-30', 2::bigint, 1::bigint, 1::bigint, 0.2::double, 31.25::decimal(18, 2)),
                    ('churned', date '2026-06-30', 1::bigint, 1::bigint, 0::bigint, 0.0::double, 0.00::decimal(18, 2)))
                    as t(segment_key, kpi_date, member_count, entered_count, exited_count, click_through_rate,
                         attributed_revenue_usd)
                limit """ + str(kpi_rows))
    return path


def notes_of(page: dict[str, Any], section: str) -> str:
    return " ".join(text for name, text in page["notes"] if name == section)


def test_missing_marts_are_said_not_failed(open_report, tmp_path):
    page = open_report(write(small_serving(tmp_path / "serving.duckdb", kpi_rows=None), tmp_path))
    assert "marts.fct_segment_kpis_daily is not in this serving file" in notes_of(page, "kpis")
    assert "marts.fct_experiment_readouts is not in this serving file" in notes_of(page, "experiments")
    assert "No build status file" in notes_of(page, "freshness")
    tables = page["tables"]
    assert "fct_segment_kpis_daily" not in tables and "experiment_readouts" not in tables
    # Sizes over time are running sums of entries minus exits per day.
    assert {(row["segment_key"], row["size_date"]): row["member_count"] for row in tables["segment_sizes"]} == {
        ("churned", "2026-06-29"): "0", ("churned", "2026-06-30"): "1",
        ("vip", "2026-06-29"): "2", ("vip", "2026-06-30"): "2"}
    assert [row["segment_key"] for row in tables["segment_sizes_latest"]] == ["churned", "vip"]


def test_an_empty_kpi_mart_is_said(open_report, tmp_path):
    page = open_report(write(small_serving(tmp_path / "serving.duckdb", kpi_rows=0), tmp_path))
    assert "marts.fct_segment_kpis_daily is in this serving file but holds no rows" in notes_of(page, "kpis")


def test_kpis_of_the_newest_day_and_the_build_status(open_report, tmp_path):
    serving = small_serving(tmp_path / "serving.duckdb", kpi_rows=4)
    now = datetime.now(timezone.utc)
    status = tmp_path / "build_status.json"
    status.write_text(json.dumps({
        "last_attempt": {"build_number": 8, "state": "failed", "started_at": now.isoformat(),
                         "finished_at": now.isoformat(), "exit_code": 1},
        "last_success": {"build_number": 7, "started_at": now.isoformat(), "finished_at": now.isoformat()},
        "sources": [
            {"source": "shop", "table": "orders", "warn_after_hours": 24, "error_after_hours": 48,
             "newest_loaded_at": (now - timedelta(hours=30)).isoformat()},
            {"source": "email", "table": "events", "warn_after_hours": 24, "error_after_hours": 48,
             "newest_loaded_at": (now - timedelta(hours=1)).isoformat()}]}))
    tables = open_report(write(serving, tmp_path, status))["tables"]
    # Sizes per day come from the KPI mart when it is published.
    assert {(row["segment_key"], row["size_date"]): row["member_count"] for row in tables["segment_sizes"]} == {
        ("churned", "2026-06-29"): "0", ("churned", "2026-06-30"): "1",
        ("vip", "2026-06-29"): "2", ("vip", "2026-06-30"): "2"}
    assert {row["segment_key"]: (row["click_through_rate"], row["attributed_revenue_usd"])
            for row in tables["fct_segment_kpis_daily"]} == {"vip": ("0.2", "31.25"), "churned": ("0.0", "0.00")}
    assert {row["segment_key"]: (row["member_count"], row["entered_count"], row["exited_count"],
                                 row["attributed_revenue_usd"], row["window_start"])
            for row in tables["segment_kpis_window"]} == {
        "vip": ("2", "3", "1", "41.75", "2026-06-29"), "churned": ("1", "1", "0", "0.00", "2026-06-29")}
    assert {row["build"]: (row["build_number"], row["state"]) for row in tables["build_status"]} == {
        "last attempt": ("8", "failed"), "last success": ("7", "succeeded")}
    assert {row["source_table"]: row["state"] for row in tables["source_freshness"]} == {
        "shop.orders": "warn", "email.events": "ok"}


def test_the_report_needs_a_serving_file(tmp_path, capsys):
    assert report.main(["--serving", str(tmp_path / "nowhere.duckdb"), "--output", str(tmp_path / "r.html")]) == 2
    assert "no serving database" in capsys.readouterr().err
