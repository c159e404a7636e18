"""Consent of record end to end: a withdrawal and a re-grant move a customer out of and back
into every consent-requiring segment, and the consent audit mart records both.

Builds a small warehouse in a copy of the project (test_membership_events.new_warehouse)
for a first day, then on the next day lands a global unsubscribe (CRM channel 'all') for
one customer and an email-platform unsubscribe for another, loads and builds; on the day
after lands the first customer's re-grants, loads and builds.
"""

from __future__ import annotations

import datetime
import json
import sys

import pytest

from test_membership_events import END_DATE, GENERATOR, LOADER, build, new_warehouse, query, run

# The first day is test_membership_events' END_DATE: the same small world.
FIRST_DAY = END_DATE
WITHDRAWAL_DAY = "2026-06-30"
REGRANT_DAY = "2026-07-01"
# Consent-requiring segments whose rules do not depend on the as_of day alone (no
# "within N days" bound that a day can cross), so only consent moves their members.
DAY_STABLE_SEGMENTS = ("loyal_engaged", "cart_abandoners", "churned", "dormant_openers")

pytestmark = pytest.mark.skipif(
    not (GENERATOR.exists() and LOADER.exists()),
    reason="scripts/generate_sources.py and scripts/load_sources.py are needed to build a warehouse",
)


def land_on(state: dict, day: str, table: str, rows: list[dict]) -> None:
    """Land a file of ``rows`` (text values) in the partition of ``day`` and load it."""
    folder = state["landing"] / table / f"date={day}"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "part-consent.jsonl").write_text("".join(json.dumps(row) + "\n" for row in rows))
    run([sys.executable, str(LOADER), "--landing", str(state["landing"]), "--database", str(state["database"])],
        state["project"], state["env"])


def consent_segments_of(state: dict, customer_id: str) -> set[str]:
    return {row[0] for row in query(state, f"""
        select memberships.segment_key
        from marts.fct_segment_memberships as memberships
        inner join marts.dim_segments as segments on memberships.segment_key = segments.segment_key
        where segments.requires_consent and memberships.customer_id = '{customer_id}'
    """)}


def build_events(state: dict, customer_id: str, day: str) -> set[tuple[str, str, str]]:
    """(segment_key, event_type, event_reason) of the customer's entries and exits on ``day``."""
    return set(query(state, f"""
        select segment_key, event_type, event_reason
        from marts.fct_segment_membership_events
        where customer_id = '{customer_id}' and event_date = date '{day}'
            and event_type in ('entered', 'exited')
    """))


def identifier_of(state: dict, customer_id: str, identifier_type: str) -> str:
    return query(state, f"""
        select min(identifier_value) from intermediate.int_identifiers_resolved_to_customers
        where customer_id = '{customer_id}' and identifier_type = '{identifier_type}'
    """)[0][0]


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory):
    return new_warehouse(tmp_path_factory.mktemp("consent_of_record"), FIRST_DAY)


def test_withdrawal_and_regrant_move_the_customer_and_are_recorded(warehouse):
    state = warehouse
    stable = ", ".join(f"'{key}'" for key in DAY_STABLE_SEGMENTS)
    # A customer with a CRM contact in a segment that requires email consent, whose
    # consent-requiring memberships are all in day-stable segments.
    candidates = query(state, f"""
        select memberships.customer_id
        from marts.fct_segment_memberships as memberships
        inner join marts.dim_segments as segments on memberships.segment_key = segments.segment_key
        inner join intermediate.int_identifiers_resolved_to_customers as identifiers
            on memberships.customer_id = identifiers.customer_id and identifiers.identifier_type = 'contact_id'
        inner join marts.dim_customers as customers on memberships.customer_id = customers.customer_id
        where segments.requires_consent and customers.has_email_consent
        group by memberships.customer_id
        having bool_and(memberships.segment_key in ({stable}))
            and bool_or(',' || segments.channels || ',' like '%,email,%')
        order by memberships.customer_id
    """)
    assert len(candidates) >= 2, "the demo data should have members of day-stable consent segments"
    unsubscriber = candidates[0][0]
    segments_before = consent_segments_of(state, unsubscriber)
    contact_id = identifier_of(state, unsubscriber, "contact_id")
    # Another customer in an email-only segment, with an email address, for a platform unsubscribe.
    email_only = query(state, f"""
        select memberships.customer_id, memberships.segment_key
        from marts.fct_segment_memberships as memberships
        inner join marts.dim_segments as segments on memberships.segment_key = segments.segment_key
        inner join intermediate.int_identifiers_resolved_to_customers as identifiers
            on memberships.customer_id = identifiers.customer_id and identifiers.identifier_type = 'email'
        where segments.channels = 'email' and segments.requires_consent
            and memberships.segment_key in ({stable}) and memberships.customer_id != '{unsubscriber}'
        order by memberships.customer_id, memberships.segment_key
        limit 1
    """)
    assert email_only, "the demo data should have members of an email-only segment"
    platform_unsubscriber, email_only_segment = email_only[0]
    email = identifier_of(state, platform_unsubscriber, "email")

    # Next day: a global unsubscribe (a file without the purpose column) and a platform unsubscribe.
    land_on(state, WITHDRAWAL_DAY, "crm/consent_events", [
        {"consent_event_id": "ce_test_unsubscribe_all", "contact_id": contact_id, "channel": "all",
         "consent_status": "revoked", "occurred_at": f"{WITHDRAWAL_DAY}T09:00:00+00:00",
         "capture_source": "preference_center"},
    ])
    land_on(state, WITHDRAWAL_DAY, "email/events", [
        {"email_event_id": "ev_test_unsubscribe", "campaign_id": "CMP-TEST", "email": email,
         "event_type": "unsubscribe", "occurred_at": f"{WITHDRAWAL_DAY}T10:00:00Z"},
    ])
    build(state, WITHDRAWAL_DAY)
    assert consent_segments_of(state, unsubscriber) == set()
    assert {event for event in build_events(state, unsubscriber, WITHDRAWAL_DAY)
            if event[0] in segments_before} == {
        (segment, "exited", "consent_withdrawn") for segment in segments_before
    }
    assert (email_only_segment, "exited", "consent_withdrawn") in build_events(
        state, platform_unsubscriber, WITHDRAWAL_DAY)

    # The day after: the customer grants email, sms and ads again.
    land_on(state, REGRANT_DAY, "crm/consent_events", [
        {"consent_event_id": f"ce_test_regrant_{channel}", "contact_id": contact_id, "channel": channel,
         "purpose": "", "consent_status": "granted", "occurred_at": f"{REGRANT_DAY}T09:00:00+00:00",
         "capture_source": "preference_center"}
        for channel in ("email", "sms", "ads")
    ])
    build(state, REGRANT_DAY)
    assert consent_segments_of(state, unsubscriber) >= segments_before
    assert {event for event in build_events(state, unsubscriber, REGRANT_DAY)
            if event[0] in segments_before} == {
        (segment, "entered", "consent_granted") for segment in segments_before
    }

    # The audit mart shows both changes, with their sources, for every purpose they touched.
    changes = query(state, f"""
        select source_event_id, consent_source, signal_type, channel, purpose,
            previous_consent_status, consent_status, cast(captured_at as date)
        from marts.fct_consent_changes
        where customer_id = '{unsubscriber}' and source_event_id like 'ce_test_%'
        order by captured_at, purpose
    """)
    withdrawal_day = datetime.date.fromisoformat(WITHDRAWAL_DAY)
    regrant_day = datetime.date.fromisoformat(REGRANT_DAY)
    withdrawals = [row for row in changes if row[0] == "ce_test_unsubscribe_all"]
    assert {row[4] for row in withdrawals} == {
        "email_marketing", "sms_marketing", "ad_user_data", "ad_personalization", "onsite_personalisation"}
    assert {row[1:3] + row[6:] for row in withdrawals} == {("crm", "global_unsubscribe", "withdrawn", withdrawal_day)}
    regrants = [row for row in changes if row[0].startswith("ce_test_regrant_")]
    assert {row[4] for row in regrants} == {"email_marketing", "sms_marketing", "ad_user_data", "ad_personalization"}
    assert {row[1:3] + row[5:] for row in regrants} == {("crm", "crm_grant", "withdrawn", "granted", regrant_day)}
    assert query(state, f"""
        select consent_source, signal_type, channel, purpose, previous_consent_status, consent_status
        from marts.fct_consent_changes
        where customer_id = '{platform_unsubscriber}' and source_event_id = 'ev_test_unsubscribe'
    """) == [("email_platform", "platform_unsubscribe", "email", "email_marketing", "granted", "withdrawn")]
    # Consent at a past moment: as the record stood just before the global unsubscribe.
    assert query(state, f"""
        select consent_status from marts.fct_consent_changes
        where customer_id = '{unsubscriber}' and purpose = 'email_marketing'
            and captured_at < timestamp '{WITHDRAWAL_DAY} 09:00:00'
        order by captured_at desc, source_event_id desc
        limit 1
    """) == [("granted",)]
