"""CRM: contact change records and consent events.

contacts        one record per change: created at signup, lifecycle lead -> customer ->
                churned, phone or country changes, no-op touches; timestamps
                'YYYY-MM-DD HH:MM:SS' UTC. The first landing date carries the import of
                every contact that existed before the world started.
consent_events  email/sms/ads grants and revocations; timestamps ISO-8601 '+00:00'.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ..columns import iso_text, pick, random_ids, sql_timestamp_text, where_text
from ..config import DAY
from ..geography import COUNTRIES
from ..identities import EMAIL_MESS, messy_emails
from ..people import CAPTURE_SOURCES, CONSENT_CHANNELS, IMPORT, PREFERENCE_CENTER
from ..world import World
from .rows import Rows, make_table

LIFECYCLE_STAGES = ("lead", "customer", "churned")


def contacts_day(w: World, day: int) -> Rows:
    """CRM change records: the import on the first date, sign-ups and changes after."""
    rng = w.rng(day, "crm/contacts")
    n = int(w.n_by_day[day])
    parts_idx, parts_ts, parts_state_day = [], [], []
    if day == 0:
        idx = np.flatnonzero(w.has_contact[: w.n_base])
        last_change = np.maximum(w.signup_ts[idx] + 60,
                                 w.start_epoch - (rng.random(idx.size) * 400 * DAY).astype(np.int64))
        synced = w.customer_day[idx] <= -1
        last_change = np.where(synced, np.maximum(last_change, w.first_purchase_ts[idx] + DAY), last_change)
        parts_idx.append(idx)
        parts_ts.append(np.minimum(last_change, w.start_epoch - 1))
        parts_state_day.append(np.full(idx.size, -1))
    lo = int(w.n_by_day[day - 1]) if day > 0 else w.n_base
    new = lo + np.flatnonzero(w.has_contact[lo:n])
    parts_idx.append(new)
    parts_ts.append(w.signup_ts[new])
    parts_state_day.append(np.full(new.size, -1))  # as created: before any change
    # Changes to existing contacts; the row shows the state at the end of the day.
    existing = w.has_contact[:lo] & (w.erasure_day[:lo] > day)
    touched = rng.random(lo) < 0.0008
    reasons = (
        (w.customer_day[:lo] == day, 3600, 7200),           # nightly shop -> CRM sync
        (w.churn_day[:lo] == day, 7200, 3600),              # churn job
        (w.phone_change_day[:lo] == day, 9 * 3600, 8 * 3600),
        (w.country_change_day[:lo] == day, 9 * 3600, 8 * 3600),
        (touched, 8 * 3600, 10 * 3600),
    )
    when = np.full(lo, -1, dtype=np.int64)
    for mask, start, spread in reasons:
        mask &= existing
        hits = np.flatnonzero(mask)
        when[hits] = np.maximum(when[hits], w.day_epoch(day) + start + rng.integers(0, spread, hits.size))
    changed = np.flatnonzero(when >= 0)
    parts_idx.append(changed)
    parts_ts.append(when[changed])
    parts_state_day.append(np.full(changed.size, day))
    idx = np.concatenate(parts_idx)
    ts = np.concatenate(parts_ts)
    state_day = np.concatenate(parts_state_day)

    customer = w.customer_day[idx] <= state_day
    stage = np.where(customer & (w.churn_day[idx] <= state_day), 2, np.where(customer, 1, 0))
    country = np.where(w.country_change_day[idx] <= state_day, w.country1[idx], w.country0[idx])
    country_text = where_text(~w.country_missing[idx] | (w.country_change_day[idx] <= state_day),
                              pick(COUNTRIES, country))
    phone_changed = pa.array(w.phone_change_day[idx] <= state_day)
    phone = pc.if_else(phone_changed, w.phone1_text.take(pa.array(idx)), w.phone0_text.take(pa.array(idx)))
    shop_link = w.has_shop[idx] & w.crm_shop_link[idx]
    table = make_table("crm/contacts", {
        "contact_id": w.contact_id.take(pa.array(idx)),
        "shop_customer_id": where_text(shop_link, w.shop_customer_id.take(pa.array(idx))),
        "first_name": w.first_name_text.take(pa.array(idx)),
        "last_name": w.last_name_text.take(pa.array(idx)),
        "email": messy_emails(rng, w.email.take(pa.array(idx)), EMAIL_MESS["crm"]),
        "phone": phone,
        "country_code": country_text,
        "birth_date": w.birth_text.take(pa.array(idx)),
        "signed_up_at": sql_timestamp_text(w.signup_ts[idx]),
        "lifecycle_stage": pick(LIFECYCLE_STAGES, stage),
        "is_test_account": pick(("false", "true"), w.is_test[idx].astype(int)),
        "updated_at": sql_timestamp_text(ts),
    })
    return Rows(table, ts)


def consent_day(w: World, day: int) -> Rows:
    """Consent grants and revocations; the first date also imports the pre-world history."""
    rng = w.rng(day, "crm/consent_events")
    n = int(w.n_by_day[day])
    person, channel, status, source, ts = [], [], [], [], []
    for c in range(len(CONSENT_CHANNELS)):
        grant_day, revoke_day = w.consent_grant_day[:n, c], w.consent_revoke_day[:n, c]
        for granted, mask in ((True, grant_day == day), (False, revoke_day == day)):
            if day == 0:
                mask = mask | ((grant_day < 0) if granted else (revoke_day < 0))
            hits = np.flatnonzero(mask)
            when = (w.consent_grant_ts if granted else w.consent_revoke_ts)[hits, c]
            src = w.consent_source[hits, c] if granted else np.full(hits.size, PREFERENCE_CENTER)
            person.append(hits)
            channel.append(np.full(hits.size, c))
            status.append(np.full(hits.size, 0 if granted else 1))
            source.append(np.where(when < w.start_epoch, IMPORT, src))
            ts.append(when)
    person, channel, status, source, ts = map(np.concatenate, (person, channel, status, source, ts))
    order = np.argsort(ts, kind="stable")
    person, channel, status, source, ts = (a[order] for a in (person, channel, status, source, ts))
    table = make_table("crm/consent_events", {
        "consent_event_id": random_ids(rng, person.size, "ce_", 10),
        "contact_id": w.contact_id.take(pa.array(person)),
        "channel": pick(CONSENT_CHANNELS, channel),
        "consent_status": pick(("granted", "revoked"), status),
        "occurred_at": iso_text(ts, "+00:00"),
        "capture_source": pick(CAPTURE_SOURCES, source),
    })
    return Rows(table, ts)
