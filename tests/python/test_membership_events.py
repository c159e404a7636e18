"""Segment membership events across builds.

Builds a small warehouse from the synthetic sources in a copy of the project, then:
a second and a third build with the same data and as_of add no events and change no
reason; late data on the same as_of (a consent withdrawal, an erasure request) yields
consent_withdrawn and erasure exits, not segment_activated; editing a rule yields
rule_changed events and archiving a segment segment_archived exits for all its members;
a day of new data yields enter/exit events exactly for the memberships that changed.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import datetime
import json

import duckdb
import pytest
import yaml

PROJECT_DIR = Path(__file__).resolve().parents[2]
GENERATOR = PROJECT_DIR / "scripts" / "generate_sources.py"
LOADER = PROJECT_DIR / "scripts" / "load_sources.py"
DBT = Path(sys.executable).parent / "dbt"
END_DATE = "2026-06-29"
NEXT_DAY = "2026-06-30"
# The whole project builds (tests on staging models reference several models at once,
# so a partial selection would run tests whose relations were never built).
SELECTION = ["--exclude-resource-type", "unit_test"]

pytestmark = [
    pytest.mark.skipif(
        not (GENERATOR.exists() and LOADER.exists()),
        reason="scripts/generate_sources.py and scripts/load_sources.py are needed to build a warehouse",
    ),
    pytest.mark.skipif(
        not list((PROJECT_DIR / "models").rglob("dim_customers.sql")),
        reason="models/marts/customers/dim_customers.sql (the segments' input) is not in the project yet",
    ),
]


def run(command: list[str], cwd: Path, env: dict[str, str]) -> None:
    result = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, check=False)
    assert result.returncode == 0, f"{' '.join(command)} failed:\n{result.stdout[-4000:]}\n{result.stderr[-2000:]}"


def new_warehouse(root: Path, end_date: str) -> dict:
    """A copy of the project under ``root`` with its own warehouse of a small synthetic
    data set (300 customers, 60 days, seed 11) ending ``end_date``, built for that day.
    Returns the state the helpers below take."""
    project = root / "project"
    shutil.copytree(
        PROJECT_DIR, project,
        ignore=shutil.ignore_patterns(".venv", ".git", "data", "target*", "logs*", "__pycache__", ".pytest_cache"),
    )
    database = root / "warehouse.duckdb"
    env = {
        **os.environ,
        "DBT_PROFILES_DIR": str(project),
        "SEGMENTS_DUCKDB_PATH": str(database),
        "SEGMENTS_DUCKDB_TEMP_DIR": str(root / "duckdb_tmp"),
        "DBT_TARGET_PATH": str(root / "target"),
        "DBT_LOG_PATH": str(root / "logs"),
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
    }
    (root / "duckdb_tmp").mkdir()
    landing = root / "landing"
    generate = [sys.executable, str(GENERATOR), "--customers", "300", "--days", "60", "--seed", "11",
                "--end-date", end_date, "--out", str(landing)]
    run(generate, project, env)
    run([sys.executable, str(LOADER), "--landing", str(landing), "--database", str(database)], project, env)
    state = {"project": project, "database": database, "env": env, "landing": landing, "generate": generate}
    build(state, end_date)
    return state


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory):
    """A copy of the project with its own warehouse, built for END_DATE."""
    return new_warehouse(tmp_path_factory.mktemp("segments_events"), END_DATE)


def build(state: dict, as_of: str, *extra: str) -> None:
    run([str(DBT), "build", *SELECTION, *extra, "--vars", f"{{as_of: '{as_of}'}}"], state["project"], state["env"])


def query(state: dict, sql: str) -> list[tuple]:
    with duckdb.connect(str(state["database"]), read_only=True) as connection:
        return connection.sql(sql).fetchall()


def memberships(state: dict) -> set[tuple[str, str]]:
    return set(query(state, "select customer_id, segment_key from marts.fct_segment_memberships"))


def events(state: dict) -> list[tuple]:
    return query(
        state,
        "select customer_id, segment_key, event_type, event_date, event_reason "
        "from marts.fct_segment_membership_events order by all",
    )


def date_of(text: str) -> datetime.date:
    return datetime.date.fromisoformat(text)


def history(state: dict) -> list[tuple]:
    return query(state, "select * from intermediate.int_segment_memberships_historized order by all")


def land(state: dict, table: str, rows: list[dict]) -> None:
    """Drop a late file of `rows` (all values text) for the as_of day and load it."""
    folder = state["landing"] / table / f"date={END_DATE}"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "part-late.jsonl").write_text("".join(json.dumps(row) + "\n" for row in rows))
    run([sys.executable, str(LOADER), "--landing", str(state["landing"]), "--database", str(state["database"])],
        state["project"], state["env"])


def edit_registry(state: dict, key: str, **fields) -> None:
    registry_path = state["project"] / "models" / "marts" / "segments" / "_segment_registry.yml"
    document = yaml.safe_load(registry_path.read_text())
    segment = next(item for item in document["macros"][0]["meta"]["segments"] if item["key"] == key)
    segment.update(fields)
    registry_path.write_text(yaml.safe_dump(document, sort_keys=False))


def latest_build_events(state: dict) -> list[tuple]:
    return query(
        state,
        "select customer_id, segment_key, event_type, event_date, event_reason "
        "from marts.fct_segment_membership_events "
        "where recorded_at = (select max(recorded_at) from marts.fct_segment_membership_events) order by all",
    )


def test_rebuilds_on_the_same_as_of_add_nothing(warehouse):
    state = warehouse
    before = memberships(state)
    assert before, "the first build should put customers in segments"
    first_events = events(state)
    assert {(row[0], row[1]) for row in first_events if row[2] == "entered"} == before
    assert {row[4] for row in first_events} == {"history_started"}
    first_history = history(state)

    # A second and a third build with the same data and as_of: no event, no reason changed.
    build(state, END_DATE)
    assert events(state) == first_events
    assert history(state) == first_history
    build(state, END_DATE)
    assert events(state) == first_events
    assert history(state) == first_history


def test_late_consent_withdrawal_and_erasure_on_the_same_as_of(warehouse):
    state = warehouse
    # A member of a segment whose channels all need consent, and another customer.
    consent_member = query(state, """
        select memberships.customer_id, memberships.segment_key, dim_segments.channels, customers.contact_id
        from marts.fct_segment_memberships as memberships
        inner join marts.dim_segments as dim_segments on memberships.segment_key = dim_segments.segment_key
        inner join marts.dim_customers as customers on memberships.customer_id = customers.customer_id
        where dim_segments.requires_consent and customers.contact_id is not null
        order by memberships.customer_id, memberships.segment_key
        limit 1
    """)
    assert consent_member, "the demo data should have members of consent-only segments"
    withdrawer, withdrawn_segment, channels, contact_id = consent_member[0]
    erased = query(state, f"""
        select customers.customer_id, customers.contact_id, contacts.email
        from marts.dim_customers as customers
        inner join activation.dim_customer_contacts as contacts on customers.customer_id = contacts.customer_id
        where customers.contact_id is not null and contacts.email is not null
            and customers.customer_id != '{withdrawer}'
        order by customers.customer_id
        limit 1
    """)[0]
    erased_memberships = {row for row in memberships(state) if row[0] == erased[0]}
    assert erased_memberships

    land(state, "crm/consent_events", [
        {"consent_event_id": f"ce_late_{channel}", "contact_id": contact_id, "channel": channel,
         "consent_status": "revoked", "occurred_at": f"{END_DATE}T23:59:59+00:00", "capture_source": "preference_center"}
        for channel in channels.split(",") if channel in ("email", "sms", "ads")
    ])
    land(state, "privacy/erasure_requests", [
        {"erasure_request_id": "ER-LATE-001", "email": erased[2], "contact_id": erased[1],
         "requested_at": f"{END_DATE} 12:00:00", "request_channel": "web_form"},
    ])
    build(state, END_DATE)
    new_events = latest_build_events(state)
    assert (withdrawer, withdrawn_segment, "exited", date_of(END_DATE), "consent_withdrawn") in new_events
    assert {row[1:] for row in new_events if row[0] == erased[0] and row[2] == "exited"} == {
        (segment, "exited", date_of(END_DATE), "erasure") for _, segment in erased_memberships
    }
    assert "segment_activated" not in {row[4] for row in new_events}
    # The blocked match is visible in the mart, with why and since when.
    assert query(state, f"""
        select blocked_reason, blocked_since_date from marts.fct_segment_consent_blocks
        where customer_id = '{withdrawer}' and segment_key = '{withdrawn_segment}'
    """) == [("consent_withdrawn", date_of(END_DATE))]
    # Erasure leaves no profile values in the history, only the pseudonymous id and reasons.
    assert query(state, f"""
        select count(*) from intermediate.int_segment_memberships_historized
        where customer_id = '{erased[0]}' and (entry_evidence is not null or exit_evidence is not null)
    """) == [(0,)]

    # Building once more adds nothing.
    events_after = events(state)
    build(state, END_DATE)
    assert events(state) == events_after


def test_rule_edit_and_archive(warehouse):
    state = warehouse
    before = memberships(state)
    high_value_before = {customer for customer, segment in before if segment == "high_value"}
    archived_members = {customer for customer, segment in before if segment == "recently_active"}
    assert archived_members, "the demo data should have recently active customers"

    edit_registry(state, "high_value", rule="average_order_value_usd > 100 and days_since_last_order <= 60")
    edit_registry(state, "recently_active", status="archived")
    build(state, END_DATE)
    after = memberships(state)
    high_value_after = {customer for customer, segment in after if segment == "high_value"}
    assert high_value_after != high_value_before, "the edit should move customers"
    new_events = latest_build_events(state)
    high_value_events = {(row[0], row[2], row[4]) for row in new_events if row[1] == "high_value"}
    assert {(customer, "entered", "rule_changed") for customer in high_value_after - high_value_before} | {
        (customer, "exited", "rule_changed") for customer in high_value_before - high_value_after
    } == {event for event in high_value_events if event[1] in ("entered", "exited")}
    archived_exits = {
        row[0] for row in new_events
        if row[1] == "recently_active" and row[2] == "exited" and row[4] == "segment_archived"
    }
    assert archived_exits == archived_members
    assert not query(state, "select * from marts.fct_segment_memberships where segment_key = 'recently_active'")
    assert query(state, "select status, member_count from marts.dim_segments where segment_key = 'recently_active'") == [
        ("archived", 0),
    ]


def test_a_day_of_new_data(warehouse):
    state = warehouse
    before = memberships(state)
    run([*state["generate"], "--increment"], state["project"], state["env"])
    run([sys.executable, str(LOADER), "--landing", str(state["landing"]), "--database", str(state["database"])],
        state["project"], state["env"])
    build(state, NEXT_DAY)
    after = memberships(state)
    new_events = [row for row in events(state) if str(row[3]) == NEXT_DAY]
    entered = {(row[0], row[1]) for row in new_events if row[2] == "entered"}
    exited = {(row[0], row[1]) for row in new_events if row[2] == "exited"}
    assert entered == after - before
    assert exited == before - after
    assert entered or exited, "a day of new data should change some memberships"
    changed_customers = {customer for customer, _ in entered | exited}
    unchanged_customers = {customer for customer, _ in before | after} - changed_customers
    assert not {row[0] for row in new_events} & unchanged_customers
    assert {row[4] for row in new_events if row[2] in ("entered", "exited")} <= {
        "rule_matched", "rule_unmatched", "profile_incomplete", "consent_granted", "consent_withdrawn",
        "erasure", "customer_removed",
    }
    assert {row[4] for row in new_events if row[2] == "primary_lost"} <= {
        "outranked", "rule_unmatched", "profile_incomplete", "consent_withdrawn", "erasure", "customer_removed",
    }
