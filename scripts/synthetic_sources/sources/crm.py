"""CRM: contact change records and consent events.

contacts        one record per change: created at signup, lifecycle lead -> customer ->
                churned, phone or country changes, no-op touches; timestamps
                'YYYY-MM-DD HH:MM:SS' UTC. The first landing date carries the import of
                every contact that existed before the world started.
consent_events  email/sms/ads/onsite grants and revocations, a purpose on some ads events,
                global unsubscribes (channel 'all'); timestamps ISO-8601 '+00:00'.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ..columns import iso_text, pick, random_ids, sql_timestamp_text, where_text
from ..config import DAY, NEVER, NEVER_TS
from ..geography import COUNTRIES
from ..identities import EMAIL_MESS, messy_emails
from ..people import CAPTURE_SOURCES, CONSENT_CHANNELS, COOKIE_BANNER, IMPORT, PREFERENCE_CENTER
from ..world import World
from .rows import Rows, make_table

LIFECYCLE_STAGES = ("lead", "customer", "churned")
# Landed consent channels: the per-channel traits' channels, then onsite and 'all' (a
# global unsubscribe). Purposes: '' (every purpose of the channel) or one named purpose.
LANDED_CHANNELS = (*CONSENT_CHANNELS, "onsite", "all")
ADS, ONSITE, ALL_CHANNELS = 2, 3, 4
LANDED_PURPOSES = ("", "ad_personalization")
NO_PURPOSE, AD_PERSONALIZATION = range(2)


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
    """Consent grants and revocations; the first date also imports the pre-world history.

    Channel-wide events carry no purpose (they cover every purpose of the channel); an
    ads event can name one purpose (ad_personalization withdrawn while ad_user_data
    stays); channel 'all' revoked is a global unsubscribe."""
    rng = w.rng(day, "crm/consent_events")
    n = int(w.n_by_day[day])
    person, channel, purpose, status, source, ts = [], [], [], [], [], []

    def add(hits, when, c, p, granted, src):
        person.append(hits)
        channel.append(np.full(hits.size, c))
        purpose.append(np.full(hits.size, p))
        status.append(np.full(hits.size, 0 if granted else 1))
        source.append(np.where(when < w.start_epoch, IMPORT, src))
        ts.append(when)

    def on_day(when_ts: np.ndarray) -> np.ndarray:
        when_day = np.where(when_ts >= NEVER_TS, NEVER, w.day_of(np.minimum(when_ts, 2**40)))
        return (when_day == day) | ((when_day < 0) if day == 0 else False)

    for c in range(len(CONSENT_CHANNELS)):
        grant_day, revoke_day = w.consent_grant_day[:n, c], w.consent_revoke_day[:n, c]
        for granted, mask in ((True, grant_day == day), (False, revoke_day == day)):
            if day == 0:
                mask = mask | ((grant_day < 0) if granted else (revoke_day < 0))
            hits = np.flatnonzero(mask)
            when = (w.consent_grant_ts if granted else w.consent_revoke_ts)[hits, c]
            src = w.consent_source[hits, c] if granted else np.full(hits.size, PREFERENCE_CENTER)
            add(hits, when, c, NO_PURPOSE, granted, src)
    extras = (
        (w.onsite_grant_ts, ONSITE, NO_PURPOSE, True, COOKIE_BANNER),
        (w.onsite_revoke_ts, ONSITE, NO_PURPOSE, False, PREFERENCE_CENTER),
        (w.ad_personalization_revoke_ts, ADS, AD_PERSONALIZATION, False, PREFERENCE_CENTER),
        (w.global_unsubscribe_ts, ALL_CHANNELS, NO_PURPOSE, False, PREFERENCE_CENTER),
    )
    for when_ts, c, p, granted, src in extras:
        hits = np.flatnonzero(on_day(when_ts[:n]))
        add(hits, when_ts[hits], c, p, granted, np.full(hits.size, src))
    person, channel, purpose, status, source, ts = map(
        np.concatenate, (person, channel, purpose, status, source, ts))
    order = np.argsort(ts, kind="stable")
    person, channel, purpose, status, source, ts = (
        a[order] for a in (person, channel, purpose, status, source, ts))
    table = make_table("crm/consent_events", {
        "consent_event_id": random_ids(rng, person.size, "ce_", 10),
        "contact_id": w.contact_id.take(pa.array(person)),
        "channel": pick(LANDED_CHANNELS, channel),
        "purpose": pick(LANDED_PURPOSES, purpose),
        "consent_status": pick(("granted", "revoked"), status),
        "occurred_at": iso_text(ts, "+00:00"),
        "capture_source": pick(CAPTURE_SOURCES, source),
    })
    return Rows(table, ts)
