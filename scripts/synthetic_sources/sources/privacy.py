"""Privacy desk: right-to-be-forgotten requests, a handful per month, by email and
sometimes contact_id."""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from ..columns import concat, pick, sql_timestamp_text, where_text, zero_pad
from ..draws import BUSINESS_HOUR_WEIGHTS, hour_seconds
from ..identities import EMAIL_MESS, messy_emails
from ..world import World
from .rows import Rows, make_table

ERASURE_CHANNELS = ("web_form", "email", "support_ticket")


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
