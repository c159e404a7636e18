"""An incremental run rewrites only the touched campaigns of a customer that did not move.

``int_customer_email_campaigns`` recomputes customers whose addresses moved whole, and of
every other customer only the campaigns with a new or newly admitted (address, campaign)
pair; the ``replace_keys`` strategy with ``replace_single_rows`` then replaces exactly those
rows. A small warehouse is built once; a pair of an existing row is changed as a later
load would change it (a new open), and the next run must update that one row in place:
no duplicate, the customer's other campaigns untouched, the same rows as a full refresh.
"""

from __future__ import annotations

import datetime as dt
import json

import pytest

from test_incremental_equals_full import DBT, END_DATE, run, small_warehouse
from test_incremental_equals_full import execute as execute_sql

pytestmark = pytest.mark.skipif(not DBT.exists(), reason="needs dbt beside this Python")

CAMPAIGNS = "intermediate.int_customer_email_campaigns"
PAIRS = "intermediate.int_email_recipient_campaigns"
COMPARED = ("customer_id, campaign_id, was_sent, was_opened, was_clicked, activity_date, "
            "first_event_at, last_event_at, first_sent_at, first_opened_at, last_opened_at, "
            "first_clicked_at, last_clicked_at")


def dbt_run(env: dict, *args: str) -> None:
    run([str(DBT), "run", "--quiet", "--select", "int_customer_email_campaigns",
         "--vars", json.dumps({"as_of": END_DATE.isoformat()}), *args], env)


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory: pytest.TempPathFactory) -> dict:
    return small_warehouse(tmp_path_factory.mktemp("single_rows"), "+int_customer_email_campaigns")


def execute(warehouse: dict, sql: str, parameters: list | None = None):
    return execute_sql(warehouse["database"], sql, parameters)


def test_a_new_open_rewrites_only_that_campaign_of_the_customer(warehouse: dict) -> None:
    # A customer with several campaigns, one of them sent and not opened.
    [(customer_id, campaign_id, email)] = execute(warehouse, f"""
        select campaigns.customer_id, campaigns.campaign_id, min(pairs.email)
        from {CAMPAIGNS} as campaigns
        inner join intermediate.int_identifiers_resolved_to_customers as resolved
            on resolved.customer_id = campaigns.customer_id and resolved.identifier_type = 'email'
        inner join {PAIRS} as pairs
            on pairs.email = resolved.identifier_value and pairs.campaign_id = campaigns.campaign_id
        where not campaigns.was_opened and campaigns.was_sent
            and campaigns.customer_id in (
                select customer_id from {CAMPAIGNS} group by customer_id having count(*) >= 2
            )
        group by campaigns.customer_id, campaigns.campaign_id
        order by campaigns.customer_id, campaigns.campaign_id
        limit 1
    """)
    rows_before = execute(warehouse, f"select count(*) from {CAMPAIGNS}")[0][0]
    other_rows_before = execute(warehouse, f"""
        select campaign_id, built_at from {CAMPAIGNS}
        where customer_id = ? and campaign_id <> ? order by campaign_id
    """, [customer_id, campaign_id])
    # The open arrives in a later load: the pair carries it and a newer load time.
    opened_at = dt.datetime.combine(END_DATE, dt.time(23, 0))
    execute(warehouse, f"""
        update {PAIRS}
        set first_opened_at = ?, last_opened_at = ?, last_event_at = ?, opens = 1,
            max_loaded_at = (select max(max_loaded_at) from {PAIRS}) + interval 1 hour
        where email = ? and campaign_id = ?
    """, [opened_at, opened_at, opened_at, email, campaign_id])

    dbt_run(warehouse["env"])

    assert execute(warehouse, f"select count(*) from {CAMPAIGNS}")[0][0] == rows_before
    [(was_opened, last_opened_at, copies)] = execute(warehouse, f"""
        select bool_or(was_opened), max(last_opened_at), count(*) from {CAMPAIGNS}
        where customer_id = ? and campaign_id = ?
    """, [customer_id, campaign_id])
    assert (was_opened, last_opened_at, copies) == (True, opened_at, 1)
    # The customer's other campaigns were not rewritten.
    assert execute(warehouse, f"""
        select campaign_id, built_at from {CAMPAIGNS}
        where customer_id = ? and campaign_id <> ? order by campaign_id
    """, [customer_id, campaign_id]) == other_rows_before

    # The same rows as a full refresh of the same inputs.
    incremental = execute(warehouse, f"select {COMPARED} from {CAMPAIGNS} order by all")
    dbt_run(warehouse["env"], "--full-refresh")
    assert execute(warehouse, f"select {COMPARED} from {CAMPAIGNS} order by all") == incremental
