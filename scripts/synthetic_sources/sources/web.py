"""Web analytics: browsing sessions, and the session that ends in each order's checkout.

Sessions of page_view, product_view, search, login, add_to_cart and checkout_start a
minute or two apart, UTM fields on the first event; timestamps ISO-8601 in the device's
local offset ('-05:00', '+02:00', ...) or 'Z', always the correct instant.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from ..catalogue import PAGES, SEARCH_TERMS
from ..columns import iso_text, pick, random_uuids, sparse_text
from ..draws import WEB_HOUR_WEIGHTS, hour_seconds
from ..geography import TZ_OFFSETS, TZ_US_RULE
from ..identities import DEVICE_TYPES
from ..people import ABANDONER
from ..seasonality import demand, summer_time
from ..world import World
from .rows import Rows, make_table
from .shop import DayOrders

OFFSET_MINUTES = np.unique(np.append(TZ_OFFSETS, 0))
OFFSET_SUFFIXES = tuple("Z" if m == 0 else f"{'-' if m < 0 else '+'}{abs(m) // 60:02d}:{abs(m) % 60:02d}"
                        for m in OFFSET_MINUTES)

WEB_EVENT_TYPES = ("page_view", "product_view", "add_to_cart", "checkout_start", "login", "search")
PAGE_VIEW, PRODUCT_VIEW, ADD_TO_CART, CHECKOUT_START, LOGIN, SEARCH = range(6)
MIDDLE_EVENT_SHARE = np.array([0.28, 0.50, 0.04, 0.0, 0.0, 0.18])
BROWSE, CART, PURCHASE = range(3)
# (utm_source, utm_medium, utm_campaign) of a session's landing event; index 0 = direct.
UTM_COMBOS = (
    ("", "", ""),
    ("google", "cpc", "brand_search"),
    ("google", "cpc", "generic_search"),
    ("bing", "cpc", "brand_search"),
    ("facebook", "paid_social", "retargeting"),
    ("instagram", "paid_social", "new_collection"),
    ("newsletter", "email", "weekly_newsletter"),
    ("tiktok", "paid_social", "creators"),
    ("partner_blog", "referral", "gift_guide"),
)
UTM_SHARE = np.array([0.42, 0.14, 0.10, 0.03, 0.09, 0.07, 0.09, 0.03, 0.03])


def web_day(w: World, day: int, orders: DayOrders) -> Rows:
    """Browsing sessions, plus the session that ends in each order's checkout."""
    rng = w.rng(day, "web/events")
    n = int(w.n_by_day[day])
    date = w.date(day)
    lapsed = w.lapse_day[:n] <= day
    lam = w.session_rate[:n] * demand(date) * np.where(lapsed, 0.03, 1.0) * (w.erasure_day[:n] > day)
    organic = np.repeat(np.arange(n), rng.poisson(lam))
    k = organic.size
    cart_share = np.where(w.archetype[organic] == ABANDONER, 0.45, 0.05)
    intent = np.where(rng.random(k) < cart_share, CART, BROWSE)
    start = np.maximum(w.day_epoch(day) + hour_seconds(rng, k, WEB_HOUR_WEIGHTS), w.signup_ts[organic])
    logged_in = w.has_shop[organic] & (rng.random(k) < np.where(intent == CART, 0.7, 0.45))

    person = np.concatenate([organic, orders.person])
    intent = np.concatenate([intent, np.full(orders.person.size, PURCHASE)])
    logged_in = np.concatenate([logged_in, ~orders.guest])
    s = person.size
    # The first device is the main one; a family tablet is used half of the time.
    u = rng.random(s)
    n_dev = w.n_devices[person]
    slot = np.select([n_dev == 1, n_dev == 2], [0, (u >= 0.65).astype(np.int64)],
                     np.where(u < 0.55, 0, np.where(u < 0.85, 1, 2)))
    family = w.shared_partner[person] >= 0
    slot = np.where(family & (rng.random(s) < 0.5), n_dev - 1, slot)
    device = person * 3 + slot

    tail = np.select([intent == PURCHASE, intent == CART], [2, 1 + (rng.random(s) < 0.5)], 0)
    middle = rng.geometric(0.35, s) - 1
    n_events = 1 + logged_in + middle + tail
    first_event = np.cumsum(n_events) - n_events
    e = int(n_events.sum())
    session = np.repeat(np.arange(s), n_events)
    pos = np.arange(e) - first_event[session]
    from_end = n_events[session] - 1 - pos
    etype = rng.choice(len(WEB_EVENT_TYPES), e, p=MIDDLE_EVENT_SHARE)
    etype[pos == 0] = PAGE_VIEW
    etype[logged_in[session] & (pos == 1)] = LOGIN
    tail_e = tail[session]
    etype[(tail_e == 2) & (from_end == 1)] = ADD_TO_CART
    etype[(tail_e == 2) & (from_end == 0)] = CHECKOUT_START
    etype[(tail_e == 1) & (from_end == 0)] = ADD_TO_CART

    gaps = rng.exponential(75, e).astype(np.int64) + 5
    gaps[pos == 0] = 0
    elapsed = np.cumsum(gaps)
    elapsed -= elapsed[first_event][session]
    span = elapsed[first_event + n_events - 1]
    checkout_ts = orders.ordered_ts - rng.integers(30, 300, orders.person.size)
    start = np.concatenate([start, checkout_ts - span[k:]])
    ts = start[session] + elapsed

    product = rng.choice(w.n_products, e, p=w.popularity)
    bought = np.repeat(np.concatenate([np.full(k, -1), orders.first_product]), n_events)
    product = np.where((etype == ADD_TO_CART) & (bought >= 0), bought, product)
    has_product = (etype == PRODUCT_VIEW) | (etype == ADD_TO_CART)
    url = np.select(
        [etype == PAGE_VIEW, etype == PRODUCT_VIEW, etype == SEARCH],
        [w.url_page + rng.integers(0, len(PAGES), e), w.url_product + product,
         w.url_search + rng.integers(0, len(SEARCH_TERMS), e)],
        w.url_fixed + etype)
    utm = rng.choice(len(UTM_COMBOS), s, p=UTM_SHARE)[session] * (pos == 0)

    # Devices stamp local time with their offset; a share is normalised to UTC by the SDK.
    us_dst, eu_dst = summer_time(date)
    tz = w.tz[person]
    summer = np.where(TZ_US_RULE[tz], us_dst, eu_dst).astype(int)
    offset_min = TZ_OFFSETS[tz, summer] * (rng.random(s) >= 0.3)
    offset_e = offset_min[session]
    suffix = pick(OFFSET_SUFFIXES, np.searchsorted(OFFSET_MINUTES, offset_e))
    table = make_table("web/events", {
        "event_id": random_uuids(rng, e),
        "anonymous_id": w.anonymous_id.take(pa.array(device[session])),
        "user_id": sparse_text(logged_in[session] & (pos >= 1), w.shop_customer_id, person[session]),
        "event_type": pick(WEB_EVENT_TYPES, etype),
        "page_url": w.web_urls.take(pa.array(url)),
        "product_id": sparse_text(has_product, w.product_id, product),
        "utm_source": pick([u[0] for u in UTM_COMBOS], utm),
        "utm_medium": pick([u[1] for u in UTM_COMBOS], utm),
        "utm_campaign": pick([u[2] for u in UTM_COMBOS], utm),
        "device_type": pick(DEVICE_TYPES, w.device_type_flat[device[session]]),
        "occurred_at": iso_text(ts + offset_e * 60, suffix),
    })
    return Rows(table, ts)
