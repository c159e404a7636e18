"""Privacy desk: right-to-be-forgotten requests, a handful per month, by email and
sometimes contact_id; and the operations team's manual suppression list, a few people a
month never to contact on a channel, by email, phone or both."""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from ..columns import concat, pick, sql_timestamp_text, where_text, zero_pad
from ..draws import BUSINESS_HOUR_WEIGHTS, hour_seconds
from ..identities import EMAIL_MESS, messy_emails
from ..world import World
from .rows import Rows, make_table

ERASURE_CHANNELS = ("web_form", "email", "support_ticket")
SUPPRESSION_CHANNELS = ("email", "sms", "ads", "all")
SUPPRESSION_REASONS = ("customer_request", "complaint", "legal_hold", "vulnerable_customer")
# Expected manual suppressions per day.
SUPPRESSIONS_PER_DAY = 0.4


def erasure_day(w: World, day: int) -> Rows:
    rng = w.rng(day, "privacy/erasure_requests")
    n = int(w.n_by_day[day])
    person = np.flatnonzero(w.erasure_day[:n] == day)
    ts = np.sort(w.day_epoch(day) + hour_seconds(rng, person.size, BUSINESS_HOUR_WEIGHTS))
    with_contact = w.has_contact[person] & (rng.random(person.size) < 0.6)
    table = make_table("privacy/erasure_requests", {
        "erasure_request_id": concat(f"ER-{w.date(day):%Y%m%d}-", zero_pad(np.arange(1, person.size + 1), 3)),
        "email": messy_emails(rng, w.email.take(pa.array(person)), EMAIL_MESS["privacy"]),
        "contact_id": where_text(with_contact, w.contact_id.take(pa.array(person))),
        "requested_at": sql_timestamp_text(ts),
        "request_channel": pick(ERASURE_CHANNELS, rng.integers(0, len(ERASURE_CHANNELS), person.size)),
    })
    return Rows(table, ts)


def manual_suppressions_day(w: World, day: int) -> Rows:
    """A few people a month put on the manual suppression list: known contacts, named by
    email (sometimes typed messily), by phone (when they have one), or by both."""
    rng = w.rng(day, "privacy/manual_suppressions")
    n = int(w.n_by_day[day])
    candidates = np.flatnonzero(w.has_contact[:n] & (w.erasure_day[:n] > day))
    count = min(int(rng.poisson(SUPPRESSIONS_PER_DAY)), candidates.size)
    person = np.sort(rng.choice(candidates, count, replace=False)) if count else candidates[:0]
    ts = np.sort(w.day_epoch(day) + hour_seconds(rng, person.size, BUSINESS_HOUR_WEIGHTS))
    phone = w.phone0_text.take(pa.array(person))
    has_phone = np.array([bool(value) for value in phone.to_pylist()], dtype=bool)
    # 0: email only, 1: phone only (when there is one), 2: both.
    named_by = np.where(has_phone, rng.integers(0, 3, person.size), 0)
    table = make_table("privacy/manual_suppressions", {
        "suppression_id": concat(f"MS-{w.date(day):%Y%m%d}-", zero_pad(np.arange(1, person.size + 1), 3)),
        "email": where_text(named_by != 1, messy_emails(rng, w.email.take(pa.array(person)), EMAIL_MESS["privacy"])),
        "phone": where_text(named_by != 0, phone),
        "channel": pick(SUPPRESSION_CHANNELS, rng.integers(0, len(SUPPRESSION_CHANNELS), person.size)),
        "reason": pick(SUPPRESSION_REASONS, rng.integers(0, len(SUPPRESSION_REASONS), person.size)),
        "suppressed_at": sql_timestamp_text(ts),
    })
    return Rows(table, ts)
