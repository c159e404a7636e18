"""Email platform: campaigns and their events.

campaigns  a weekly newsletter, promos, fortnightly winbacks and one transactional
           'order confirmation' campaign.
events     send -> delivery -> open -> click, bounces, unsubscribes, spam complaints;
           recipients identified by email.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import pyarrow as pa

from ..catalogue import SHOP_URL
from ..columns import iso_text, pick, random_ids, sparse_text, vocab
from ..config import DAY
from ..identities import EMAIL_MESS, messy_emails
from ..people import LAPSED, ONE_TIME
from ..seasonality import demand
from ..world import World
from .rows import Rows, make_table
from .shop import DayOrders

CAMPAIGN_TYPES = ("newsletter", "promo", "winback", "transactional")
NEWSLETTER, PROMO, WINBACK, TRANSACTIONAL = range(4)
OPEN_WEIGHT = np.array([1.0, 0.9, 0.7, 2.2])  # times the person's open propensity
CAMPAIGN_SUBJECTS = (
    ("This week at the shop", "New arrivals you'll love", "Our editors' picks"),
    ("24 hours only: 20% off", "Your exclusive discount inside", "Free shipping this weekend"),
    ("We miss you", "It's been a while - here's 15% off", "Come back and see what's new"),
    ("Your order confirmation",),
)
ORDER_CONFIRMATION_CAMPAIGN = "CMP-TXN-ORDER-CONFIRMATION"
EMAIL_EVENT_TYPES = ("send", "delivery", "open", "click", "bounce", "unsubscribe", "spam_complaint")
SEND, DELIVERY, OPEN, CLICK, BOUNCE, UNSUBSCRIBE, SPAM = range(7)
BOUNCE_TYPES = ("", "hard", "soft")
CLICK_PATHS = ("/", "/sale", "/new-arrivals", "/gift-guide", "/category/apparel",
               "/category/home", "/category/electronics")


@lru_cache(maxsize=None)
def campaigns(w: World, day: int) -> tuple[tuple[str, int, int, int], ...]:
    """The marketing campaigns scheduled on a day: (id, type, scheduled_ts, subject)."""
    if day < 0:
        return ()
    rng = w.rng(day, "email/campaigns")
    date = w.date(day)
    types = []
    if date.weekday() == 3:
        types.append(NEWSLETTER)
    types += [PROMO] * int(rng.poisson(0.2 * demand(date)))
    if date.weekday() == 0 and date.isocalendar()[1] % 2 == 0:
        types.append(WINBACK)
    out = []
    for j, ctype in enumerate(types):
        ts = w.day_epoch(day) + int(rng.integers(7, 19)) * 3600 + 60 * int(rng.integers(0, 4)) * 15
        subject = int(rng.integers(0, len(CAMPAIGN_SUBJECTS[ctype])))
        out.append((f"CMP-{date:%Y%m%d}-{j + 1}", ctype, ts, subject))
    return tuple(out)


def latest_campaign(w: World, day: int) -> str:
    for d in range(day, max(day - 30, -1), -1):
        if campaigns(w, d):
            return campaigns(w, d)[-1][0]
    return ""


def campaigns_day(w: World, day: int) -> Rows:
    """The day's campaigns; the first date also brings the long-running transactional one."""
    rows = [(cid, ctype, ts, subject, f"{CAMPAIGN_TYPES[ctype].title()} {w.date(day):%Y-%m-%d}")
            for cid, ctype, ts, subject in campaigns(w, day)]
    if day == 0:
        rows.insert(0, (ORDER_CONFIRMATION_CAMPAIGN, TRANSACTIONAL, w.start_epoch - 200 * DAY, 0,
                        "Order confirmation"))
    ids = pa.array([r[0] for r in rows], pa.string())
    ctype = np.array([r[1] for r in rows], dtype=np.int64)
    ts = np.array([r[2] for r in rows], dtype=np.int64)
    names = [r[4] for r in rows]
    table = make_table("email/campaigns", {
        "campaign_id": ids,
        "campaign_name": pa.array(names, pa.string()),
        "subject": pa.array([CAMPAIGN_SUBJECTS[r[1]][r[3]] for r in rows], pa.string()),
        "campaign_type": pick(CAMPAIGN_TYPES, ctype),
        "scheduled_at": iso_text(ts, "Z"),
    })
    return Rows(table, np.maximum(ts, w.start_epoch))


def email_day(w: World, day: int, orders: DayOrders) -> Rows:
    """Campaign sends and their delivery, opens, clicks, bounces; order confirmations;
    unsubscribes."""
    rng = w.rng(day, "email/events")
    n = int(w.n_by_day[day])
    campaign_ids = [ORDER_CONFIRMATION_CAMPAIGN]
    person, campaign, send_ts, weight = [], [], [], []
    for cid, ctype, ts, _ in campaigns(w, day):
        audience = w.email_audience(n, ts, day)
        if ctype == NEWSLETTER:
            audience &= w.newsletter_list[:n]
        elif ctype == PROMO:
            audience &= rng.random(n) < 0.15
        elif ctype == WINBACK:
            audience &= (((w.archetype[:n] == LAPSED) & (w.lapse_day[:n] <= day))
                         | ((w.archetype[:n] == ONE_TIME) & (w.first_purchase_day[:n] + 60 <= day)))
        hits = np.flatnonzero(audience)
        campaign_ids.append(cid)
        person.append(hits)
        campaign.append(np.full(hits.size, len(campaign_ids) - 1))
        send_ts.append(ts + rng.integers(0, 1800, hits.size))
        weight.append(np.full(hits.size, OPEN_WEIGHT[ctype]))
    # Every order gets a confirmation, which people open far more often.
    person.append(orders.person)
    campaign.append(np.zeros(orders.person.size, dtype=np.int64))
    send_ts.append(orders.ordered_ts + rng.integers(5, 90, orders.person.size))
    weight.append(np.full(orders.person.size, OPEN_WEIGHT[TRANSACTIONAL]))
    person, campaign, send_ts, weight = map(np.concatenate, (person, campaign, send_ts, weight))
    m = person.size
    confirmation = campaign == 0

    bounce = w.hard_bounce[person] | (rng.random(m) < 0.012)
    bounce_kind = np.where(w.hard_bounce[person], 1, 2)
    delivered = ~bounce
    deliver_ts = send_ts + rng.integers(1, 40, m)
    opened = delivered & (rng.random(m) < np.clip(w.open_propensity[person] * weight, 0, 0.95))
    open_ts = deliver_ts + np.minimum(rng.lognormal(np.log(2.5 * 3600), 1.3, m), 70 * 3600).astype(np.int64)
    clicked = opened & ~confirmation & (rng.random(m) < w.click_propensity[person])
    click_ts = open_ts + rng.integers(5, 600, m)
    spam = delivered & ~confirmation & (rng.random(m) < 0.0005)
    spam_ts = deliver_ts + rng.integers(60, 2 * DAY, m)

    # Unsubscribe links: the consent revocations that came through an email.
    unsub = np.flatnonzero((w.consent_revoke_day[:n, 0] == day) & w.revoke_by_unsubscribe[:n])
    latest = latest_campaign(w, day)
    if not latest:
        unsub = unsub[:0]
    campaign_ids.append(latest)

    # One row per event: (send index, event type, time of the event per send).
    parts = [
        (np.arange(m), SEND, send_ts),
        (np.flatnonzero(bounce), BOUNCE, deliver_ts),
        (np.flatnonzero(delivered), DELIVERY, deliver_ts),
        (np.flatnonzero(opened), OPEN, open_ts),
        (np.flatnonzero(clicked), CLICK, click_ts),
        (np.flatnonzero(spam), SPAM, spam_ts),
    ]
    send = np.concatenate([idx for idx, _, _ in parts])
    row_type = np.concatenate([np.full(idx.size, etype) for idx, etype, _ in parts]
                              + [np.full(unsub.size, UNSUBSCRIBE)])
    row_person = np.concatenate([person[send], unsub])
    row_campaign = np.concatenate([campaign[send], np.full(unsub.size, len(campaign_ids) - 1)])
    row_ts = np.concatenate([times[idx] for idx, _, times in parts]
                            + [w.consent_revoke_ts[unsub, 0] - rng.integers(1, 20, unsub.size)])
    row_bounce = np.concatenate([np.where(row_type[:send.size] == BOUNCE, bounce_kind[send], 0),
                                 np.zeros(unsub.size, np.int64)])
    order = np.argsort(row_ts, kind="stable")
    row_person, row_campaign, row_type, row_ts, row_bounce = (
        a[order] for a in (row_person, row_campaign, row_type, row_ts, row_bounce))
    r = row_person.size
    campaign_text = pick(campaign_ids, row_campaign)
    click_urls = vocab(f"{SHOP_URL}{path}?utm_source=newsletter&utm_medium=email&utm_campaign={cid}"
                       for cid in campaign_ids for path in CLICK_PATHS)
    click_url = row_campaign * len(CLICK_PATHS) + rng.integers(0, len(CLICK_PATHS), r)
    table = make_table("email/events", {
        "email_event_id": random_ids(rng, r, "ev_", 12),
        "campaign_id": campaign_text,
        "email": messy_emails(rng, w.email.take(pa.array(row_person)), EMAIL_MESS["email"]),
        "event_type": pick(EMAIL_EVENT_TYPES, row_type),
        "occurred_at": iso_text(row_ts, "Z"),
        "click_url": sparse_text(row_type == CLICK, click_urls, click_url),
        "bounce_type": pick(BOUNCE_TYPES, row_bounce),
    })
    return Rows(table, row_ts)
