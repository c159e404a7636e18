"""Bad input never stops the scheduled build, and every bad row is accounted for.

A small warehouse (200 synthetic customers, five landing days) is built once with the
scheduled build. Then one more landing day arrives carrying every class of bad input a
landing zone sees: unreadable files (truncated and random-bytes Parquet, a malformed JSON
line, empty files, non-UTF-8 bytes, a JSON NaN literal, a file without its key column),
files of the wrong shape (typed Parquet columns, missing and extra columns), bad rows in
good files (null keys, unparseable, far-future and pre-1970 timestamps, NaN and Infinity
amounts, 1 MB strings, odd Unicode, SQL metacharacters in emails, UTC offsets beyond
+14:00, fractional and huge quantities, prices and totals near the decimal limit, 0.001),
a loaded file copied under a new name and a loaded file changed in place, and the two
incidents that used to stop every build: an order total of 99,999,999,999 (overflowed the
dollar conversion) and a birth date in 2030 (a negative age failed a mart test and skipped
every segment). The loader and the scheduled build must exit 0; every bad row must sit in
a quarantine model or the nulled-attributes model with its reason, or its file in the
ingestion ledger with an error; raw rows = staged + duplicates + quarantined per table;
and the marts must be rebuilt with every other customer's segments. A corrected
re-delivery of the overflowing order is then staged by the next scheduled build.
"""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from test_incremental_equals_full import DBT, END_DATE, dbt_env, execute, generate, load, run
from test_load_sources import write_jsonl, write_parquet

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "scripts"))

from landing_contract import LANDING_TABLES  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
SCHEDULED_BUILD = REPO / "scripts" / "scheduled_build.py"
AS_OF = END_DATE.isoformat()
DAY = "date=2026-02-02"
AT = "2026-02-01T12:00:00Z"

pytestmark = pytest.mark.skipif(not DBT.exists(), reason="needs dbt beside this Python")


def scheduled_build(state: dict) -> None:
    """The scheduled build of the whole project at AS_OF; asserts it exits 0."""
    run([sys.executable, str(SCHEDULED_BUILD), "--",
         "--exclude-resource-type", "unit_test", "--vars", json.dumps({"as_of": AS_OF})], state["env"])


def load_cli(state: dict) -> None:
    """The loader's command line; asserts it exits 0."""
    load(state["landing"], state["database"])


def query(state: dict, sql: str, parameters: list | None = None) -> list[tuple]:
    return execute(state["database"], sql, parameters)


def memberships(state: dict) -> dict[str, set[str]]:
    members: dict[str, set[str]] = {}
    for customer_id, segment_key in query(
        state, "select customer_id, segment_key from marts.fct_segment_memberships"
    ):
        members.setdefault(customer_id, set()).add(segment_key)
    return members


def customers_of(state: dict, identifiers: list[tuple[str, str]]) -> set[str]:
    """Customers the given (identifier_type, identifier_value) pairs resolve to."""
    found = set()
    for identifier_type, value in identifiers:
        found |= {row[0] for row in query(
            state,
            "select customer_id from intermediate.int_identifiers_resolved_to_customers "
            "where identifier_type = ? and identifier_value = ?",
            [identifier_type, value],
        )}
    return found


def finished_builds(state: dict) -> list[tuple]:
    return query(state, "select build_number, dbt_exit_code from ops.scheduled_builds "
                        "where finished_at is not null order by build_number")


def one_raw_row(state: dict, table: str, where: str) -> dict:
    """A landed row of a raw table as a dict of its contract columns (all text)."""
    contract = next(t for t in LANDING_TABLES if t.raw_table == table)
    columns = ", ".join(contract.columns)
    row = query(state, f"select {columns} from raw.{table} where {where} order by all limit 1")[0]
    return dict(zip(contract.columns, row))


def order(template: dict, order_id: str | None, **changes: str) -> dict:
    return {**template, "order_id": order_id, "order_status": "delivered", "order_total": "10.00",
            "ordered_at": AT, "updated_at": AT, **changes}


def web_event(event_id: str | None, **changes) -> dict:
    return {"event_id": event_id, "anonymous_id": "bad-input-visitor", "user_id": None,
            "event_type": "page_view", "page_url": "https://shop.example/", "product_id": None,
            "utm_source": None, "utm_medium": None, "utm_campaign": None, "device_type": "desktop",
            "occurred_at": AT, **changes}


# Every bad row landed in a readable file, with where it must end up:
# (raw table, key column, key, 'quarantined' | 'nulled' | 'staged' | 'duplicate', reason).
EXPECTED_ROWS: list[tuple[str, str, str, str, str | None]] = []


def expect(table: str, key_column: str, key: str, outcome: str, reason: str | None = None) -> None:
    EXPECTED_ROWS.append((table, key_column, key, outcome, reason))


def write_bad_day(state: dict) -> dict[str, str]:
    """Writes the bad landing day; returns the files expected to fail with the ledger
    status each must get."""
    landing = state["landing"]
    customer = one_raw_row(state, "shop_orders", "order_id in (select order_id from staging.stg_shop__orders "
                                                 "where not is_guest_checkout)")
    state["customer"] = customer

    # The incidents and the silent changes, in an otherwise good orders file.
    orders = [
        order(customer, "bad-overflow", order_total="99999999999"),
        order(customer, "bad-sub-cent", order_total="0.001"),
        order(customer, "bad-offset", ordered_at="2026-02-01T10:00:00+25:00"),
        order(customer, "bad-nan", order_total="NaN"),
        order(customer, "bad-infinity", order_total="-Infinity"),
        order(customer, "bad-far-future", ordered_at="2999-01-01T00:00:00Z"),
        order(customer, "bad-pre-1970", ordered_at="1969-12-31T23:59:59Z"),
        order(customer, "bad-unparseable", updated_at="31/01/2026 12:00"),
        order(customer, None),
        order(customer, "good-order", order_total="20.00"),
        order(customer, "bad-email-quote", shop_customer_id=None,
              email="x'); drop table raw.shop_orders; --@example.com"),
        order(customer, "good-email-quote", shop_customer_id=None, email="o'brien+tag@example.com"),
        order(customer, "account-bad-email", email="x'); drop table raw.shop_orders; --@example.com"),
    ]
    write_parquet(landing, f"shop/orders/{DAY}/incidents.parquet", orders)
    for key, reason in [
        ("bad-overflow", "order_total_above_plausible_max"),
        ("bad-sub-cent", "order_total_too_precise"),
        ("bad-offset", "ordered_at_utc_offset_out_of_range"),
        ("bad-nan", "unparseable_order_total"),
        ("bad-infinity", "unparseable_order_total"),
        ("bad-far-future", "ordered_at_in_future"),
        ("bad-pre-1970", "ordered_at_before_business_start"),
        ("bad-unparseable", "unparseable_updated_at"),
        ("<null>", "missing_order_id"),
        ("bad-email-quote", "invalid_email"),
    ]:
        expect("shop_orders", "order_id", key, "quarantined", reason)
    expect("shop_orders", "order_id", "good-order", "staged")
    expect("shop_orders", "order_id", "good-email-quote", "staged")
    expect("shop_orders", "order_id", "account-bad-email", "nulled", "invalid_email")

    lines = [
        {"order_line_id": "bad-fraction", "order_id": "good-order", "product_id": "p1",
         "quantity": "2.5", "unit_price": "4.00"},
        {"order_line_id": "bad-huge-quantity", "order_id": "good-order", "product_id": "p1",
         "quantity": "1e12", "unit_price": "4.00"},
        {"order_line_id": "bad-huge-price", "order_id": "good-order", "product_id": "p1",
         "quantity": "1", "unit_price": "99999999999"},
        {"order_line_id": "good-line", "order_id": "good-order", "product_id": "p1",
         "quantity": "5", "unit_price": "4.00"},
    ]
    write_parquet(landing, f"shop/order_lines/{DAY}/incidents.parquet", lines)
    expect("shop_order_lines", "order_line_id", "bad-fraction", "quarantined", "fractional_quantity")
    expect("shop_order_lines", "order_line_id", "bad-huge-quantity", "quarantined", "quantity_above_plausible_max")
    expect("shop_order_lines", "order_line_id", "bad-huge-price", "quarantined", "unit_price_above_plausible_max")
    expect("shop_order_lines", "order_line_id", "good-line", "staged")

    # New versions of existing contacts: bad optional attributes are nulled, not the record.
    contact_ids = [row[0] for row in query(
        state, "select distinct contact_id from staging.stg_crm__contacts order by contact_id limit 6")]
    state["contact_ids"] = contact_ids
    changes = [
        {"birth_date": "2030-01-01"},
        {"birth_date": "1900-01-01"},
        {"signed_up_at": "1960-05-01T00:00:00Z"},
        {"email": "x'); drop table raw.crm_contacts; --@example.com"},
        {"first_name": "Zo\u00eb \U0001F984 \u202eeman\u202c", "email": "zo\u00eb\u200b@ex\u00e4mple.com"},
        {"phone": "call me maybe"},
    ]
    contacts = []
    for contact_id, change in zip(contact_ids, changes):
        template = one_raw_row(state, "crm_contacts", f"contact_id = '{contact_id}'")
        contacts.append({**template, "updated_at": AT, "birth_date": "1980-05-05", **change})
    write_parquet(landing, f"crm/contacts/{DAY}/incidents.parquet", contacts)
    for contact_id, reason in zip(contact_ids, [
        "birth_date_in_future", "birth_date_age_above_plausible_max",
        "signed_up_at_before_business_start", "invalid_email", None, "invalid_phone",
    ]):
        expect("crm_contacts", "contact_id", contact_id, "nulled" if reason else "staged", reason)

    # Wrong column types, a missing and an extra column, a 1 MB string, bad timestamps.
    typed_events = pa.table({
        "event_id": pa.array(["typed-1", "typed-2", None, "typed-far-future", "typed-pre-1970",
                              "typed-unparseable", "typed-huge-string"]),
        "anonymous_id": pa.array([101, 102, 103, 104, 105, 106, 107], pa.int64()),
        "event_type": pa.array(["page_view"] * 7),
        "page_url": pa.array(["https://shop.example/a", "https://shop.example/b", None, None, None, None,
                              "https://shop.example/" + "x" * (1 << 20)]),
        "occurred_at": pa.array(["2026-02-01T10:00:00Z", "2026-02-01T10:05:00+14:00",
                                 "2026-02-01T10:00:00Z", "2999-12-31T23:59:59Z",
                                 "1969-07-20T20:17:00Z", "the day after tomorrow", AT]),
        "session_quality": pa.array([0.5, float("nan"), float("inf"), 1.0, 2.0, 3.0, 4.0]),
    })
    path = landing / f"web/events/{DAY}/wrong-types.parquet"
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(typed_events, path)
    expect("web_events", "event_id", "typed-1", "staged")
    expect("web_events", "event_id", "typed-2", "staged")
    expect("web_events", "event_id", "<null>", "quarantined", "missing_event_id")
    expect("web_events", "event_id", "typed-far-future", "quarantined", "occurred_at_in_future")
    expect("web_events", "event_id", "typed-pre-1970", "quarantined", "occurred_at_before_business_start")
    expect("web_events", "event_id", "typed-unparseable", "quarantined", "unparseable_occurred_at")
    expect("web_events", "event_id", "typed-huge-string", "staged")

    # A loaded file copied under a new name: its rows are redeliveries.
    first_web_file = sorted((landing / "web" / "events").rglob("*.*"))[0]
    copy = landing / f"web/events/{DAY}/copy-of-{first_web_file.name}"
    shutil.copyfile(first_web_file, copy)
    state["copied_file"] = copy.relative_to(landing).as_posix()

    # Unreadable files, and a file without its key column.
    failing: dict[str, str] = {}
    good = landing / f"web/events/{DAY}/to-truncate.parquet"
    pq.write_table(pa.Table.from_pylist([web_event(f"t{i}") for i in range(50)]), good)
    data = good.read_bytes()
    good.unlink()
    (landing / f"web/events/{DAY}/truncated.parquet").write_bytes(data[: len(data) // 2])
    failing[f"web/events/{DAY}/truncated.parquet"] = "failed"
    (landing / f"web/events/{DAY}/random-bytes.parquet").write_bytes(bytes(range(256)) * 40)
    failing[f"web/events/{DAY}/random-bytes.parquet"] = "failed"
    (landing / f"web/events/{DAY}/empty.parquet").write_bytes(b"")
    failing[f"web/events/{DAY}/empty.parquet"] = "failed"
    write_jsonl(landing, f"web/events/{DAY}/malformed.jsonl", [web_event("json-1")],
                tail='{"event_id": "json-2", "occurred_at": \n')
    failing[f"web/events/{DAY}/malformed.jsonl"] = "failed"
    (landing / f"web/events/{DAY}/non-utf8.jsonl").write_bytes(
        b'{"event_id": "latin1-\xe9\xff", "anonymous_id": "a", "event_type": "page_view", '
        b'"occurred_at": "2026-02-01T10:00:00Z"}\n')
    failing[f"web/events/{DAY}/non-utf8.jsonl"] = "failed"
    # DuckDB reads a JSON NaN literal; the text it lands as is no timestamp.
    (landing / f"email/events/{DAY}/nan.jsonl").parent.mkdir(parents=True, exist_ok=True)
    (landing / f"email/events/{DAY}/nan.jsonl").write_text(
        '{"email_event_id": "nan-1", "campaign_id": "c1", "email": "a@example.com", '
        '"event_type": "open", "occurred_at": NaN}\n')
    expect("email_events", "email_event_id", "nan-1", "quarantined", "unparseable_occurred_at")
    write_parquet(landing, f"shop/products/{DAY}/no-key.parquet",
                  [{"product_name": "Nameless", "list_price": "1.00", "updated_at": AT}])
    failing[f"shop/products/{DAY}/no-key.parquet"] = "failed"
    # A string column holding bytes that are not UTF-8 (a binary column would land as
    # its escaped text, which is readable).
    not_utf8 = pa.array([b"ce-\xff\xfe"], pa.binary()).cast(pa.string(), safe=False)
    binary = pa.table({"consent_event_id": not_utf8,
                       "contact_id": pa.array(["c1"]), "channel": pa.array(["email"]),
                       "consent_status": pa.array(["granted"]), "occurred_at": pa.array([AT])})
    path = landing / f"crm/consent_events/{DAY}/non-utf8.parquet"
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(binary, path)
    failing[f"crm/consent_events/{DAY}/non-utf8.parquet"] = "failed"

    # An empty JSON lines file loads nothing; a loaded file changed in place is not reloaded.
    (landing / f"privacy/erasure_requests/{DAY}").mkdir(parents=True, exist_ok=True)
    (landing / f"privacy/erasure_requests/{DAY}/empty.jsonl").write_bytes(b"")
    campaigns_file = sorted((landing / "email" / "campaigns").rglob("*.parquet"))[0]
    changed = pq.read_table(campaigns_file).to_pylist()
    changed[0]["campaign_name"] = "renamed after loading"
    pq.write_table(pa.Table.from_pylist(changed), campaigns_file)
    failing[campaigns_file.relative_to(landing).as_posix()] = "skipped_changed"
    return failing


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory: pytest.TempPathFactory) -> dict:
    work = tmp_path_factory.mktemp("bad_input")
    landing, database = work / "landing", work / "warehouse.duckdb"
    generate(landing, days=5, end_date=END_DATE)
    state = {"landing": landing, "database": database, "env": dbt_env(work, database)}
    load_cli(state)
    scheduled_build(state)
    state["members_before"] = memberships(state)
    state["builds_before"] = finished_builds(state)
    state["failing_files"] = write_bad_day(state)
    load_cli(state)
    scheduled_build(state)
    return state


def base_rows(state: dict, table: str, key_column: str, key: str) -> list[tuple]:
    """(disposition, quarantine reason) of every raw row of the bad day with this key."""
    source, name = table.split("_", 1)
    key_test = f"{key_column} is null" if key == "<null>" else f"{key_column} = ?"
    return query(
        state,
        f"select row_disposition, quarantine_reason from staging.base_{source}__{name} "
        f"where _source_file like '%{DAY}%' and _source_file not like '%/copy-of-%' and ({key_test})",
        [] if key == "<null>" else [key],
    )


def test_the_load_and_the_scheduled_build_succeed(warehouse: dict) -> None:
    builds = finished_builds(warehouse)
    assert len(builds) == len(warehouse["builds_before"]) + 1, "the bad day must trigger a build"
    assert builds[-1][1] == 0


def test_every_bad_row_lands_where_its_reason_says(warehouse: dict) -> None:
    assert len(EXPECTED_ROWS) >= 30
    for table, key_column, key, outcome, reason in EXPECTED_ROWS:
        rows = base_rows(warehouse, table, key_column, key)
        assert rows, f"{table} {key}: not in its base model"
        if outcome == "quarantined":
            assert rows == [("quarantined", reason)], (table, key, rows)
            label = table.replace("_", ".", 1)
            source = table.split("_", 1)[0]
            listed = warehouse_quarantine(warehouse, source, label, reason)
            assert listed, f"{table} {key}: not in stg_{source}__quarantined_rows with {reason}"
        elif outcome == "nulled":
            assert rows == [("staged", None)], (table, key, rows)
            source = table.split("_", 1)[0]
            nulled = query(warehouse, "select attribute_name, raw_value, null_reason "
                                      f"from staging.stg_{source}__nulled_attributes "
                                      "where record_key like ? and source_file like ?",
                           [f"{key}|%", f"%{DAY}%"])
            assert [row[2] for row in nulled] == [reason], (key, nulled)
            assert nulled[0][1], "the nulled attribute keeps its landed value"
        else:
            assert rows == [(outcome, None)], (table, key, rows)


def warehouse_quarantine(state: dict, source: str, label: str, reason: str) -> list[tuple]:
    return query(state, f"select raw_record from staging.stg_{source}__quarantined_rows "
                        "where source_table = ? and quarantine_reason = ? and source_file like ?",
                 [label, reason, f"%{DAY}%"])


def test_unreadable_and_changed_files_are_in_the_ledger_with_their_reason(warehouse: dict) -> None:
    for path, status in warehouse["failing_files"].items():
        rows = query(warehouse, "select status, error_message from raw.ingestion_ledger "
                                "where file_path = ? and status <> 'loaded'", [path])
        assert [row[0] for row in rows] == [status], (path, rows)
        assert rows[0][1], f"{path}: the ledger must say why"
        if status == "failed":
            assert not query(warehouse, "select 1 from raw.ingestion_ledger "
                                        "where file_path = ? and status = 'loaded'", [path])
    [(status, row_count)] = query(
        warehouse, "select status, row_count from raw.ingestion_ledger where file_path like ?",
        [f"privacy/erasure_requests/{DAY}/empty.jsonl"])
    assert (status, row_count) == ("loaded", 0)
    added = query(warehouse, "select added_columns from raw.ingestion_ledger where file_path = ?",
                  [f"web/events/{DAY}/wrong-types.parquet"])
    assert added == [("session_quality",)]


def test_a_file_copied_under_a_new_name_is_all_duplicates(warehouse: dict) -> None:
    dispositions = query(warehouse, "select row_disposition, count(*) from staging.base_web__events "
                                    "where _source_file = ? group by all", [warehouse["copied_file"]])
    assert dict(dispositions).keys() <= {"duplicate", "quarantined"}
    assert dict(dispositions).get("duplicate", 0) > 0


def test_raw_rows_equal_staged_plus_duplicates_plus_quarantined(warehouse: dict) -> None:
    for table in LANDING_TABLES:
        source, name = table.source, table.table
        [(raw, staged, duplicates, quarantined)] = query(warehouse, f"""
            select
                (select count(*) from raw.{table.raw_table}),
                (select count(*) from staging.stg_{source}__{name}),
                (select count(*) from staging.base_{source}__{name} where row_disposition = 'duplicate'),
                (select count(*) from staging.stg_{source}__quarantined_rows
                 where source_table = '{source}.{name}')
        """)
        assert raw == staged + duplicates + quarantined, (table.raw_table, raw, staged, duplicates, quarantined)


def test_the_incidents_end_in_quarantine_or_nulled_and_the_marts_are_current(warehouse: dict) -> None:
    # The future birth date is nulled; the contact's version is staged with its identity.
    future_contact = warehouse["contact_ids"][0]
    [(birth_date, email)] = query(
        warehouse, "select birth_date, email from staging.stg_crm__contacts "
                   "where contact_id = ? and updated_at = ?", [future_contact, "2026-02-01 12:00:00"])
    assert birth_date is None and email
    assert query(warehouse, "select min(age_years) from marts.dim_customers")[0][0] >= 0
    # Every customer the bad day did not touch keeps exactly its segments.
    touched = customers_of(warehouse, [("contact_id", c) for c in warehouse["contact_ids"]]
                           + [("shop_customer_id", warehouse["customer"]["shop_customer_id"])])
    before, after = warehouse["members_before"], memberships(warehouse)
    untouched = set(before) - touched
    assert untouched and all(after.get(customer) == before[customer] for customer in untouched)
    customers = {row[0] for row in query(warehouse, "select customer_id from marts.dim_customers")}
    assert customers <= set(after), "every customer has a segment"


def test_a_corrected_redelivery_of_the_overflowing_order_is_staged(warehouse: dict) -> None:
    customer = warehouse["customer"]
    [(revenue_before,)] = query(warehouse, """
        select lifetime_revenue_usd from marts.dim_customers
        where customer_id = (select customer_id from intermediate.int_identifiers_resolved_to_customers
                             where identifier_type = 'shop_customer_id' and identifier_value = ?)
    """, [customer["shop_customer_id"]])
    write_parquet(warehouse["landing"], "shop/orders/date=2026-02-03/correction.parquet",
                  [order(customer, "bad-overflow", order_total="999.99")])
    load_cli(warehouse)
    scheduled_build(warehouse)
    assert finished_builds(warehouse)[-1][1] == 0
    [(total, total_usd)] = query(warehouse, "select order_total, order_total_usd from staging.stg_shop__orders "
                                            "where order_id = 'bad-overflow'")
    assert float(total) == 999.99
    assert base_rows(warehouse, "shop_orders", "order_id", "bad-overflow") == [
        ("quarantined", "order_total_above_plausible_max")]
    [(revenue_after,)] = query(warehouse, """
        select lifetime_revenue_usd from marts.dim_customers
        where customer_id = (select customer_id from intermediate.int_identifiers_resolved_to_customers
                             where identifier_type = 'shop_customer_id' and identifier_value = ?)
    """, [customer["shop_customer_id"]])
    assert revenue_after - revenue_before == total_usd, "the marts were rebuilt with the corrected order"
