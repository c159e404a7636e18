#!/usr/bin/env python3
"""Deterministic synthetic landing-zone generator for the marketing-segments project.

Writes ``<out>/<source>/<table>/date=YYYY-MM-DD/part-0.parquet`` for every table of
the landing contract (``scripts/landing_contract.py``), every column as text.

The simulated world
-------------------
An online shop (USD, EUR and GBP prices) with a CRM, web analytics, an email platform
and a privacy desk. ``--customers`` people exist when the world starts; new people
sign up every day (about 30 % of the base per year, more in November/December).

People
    Every person has an archetype that drives behaviour:

    * browser          visits the site, never buys;
    * one_time_buyer   buys exactly once;
    * loyal            buys every month or so;
    * big_spender      buys often, bigger baskets of pricier products;
    * lapsed           active early in the window, then stops visiting and buying;
    * cart_abandoner   adds to cart and starts checkout, rarely buys.

    A few people are QA test accounts (``is_test_account`` 'true', emails like
    ``qa+123@test.example.com``) that place real-looking orders.

Identities
    Person ``i`` may have a CRM contact ``C{i:07d}`` and a shop account ``S{i:07d}``;
    web ``user_id`` after a login equals the shop account id. Each person browses from
    one to three devices (``anonymous_id``); about 1 % of people share a family tablet
    with another person, so one anonymous_id logs in as two user_ids. Each person has
    one email address, but every system sends it with its own casing and stray
    whitespace. Some orders are guest checkouts (email, empty shop_customer_id), and
    some CRM contacts lack the link to their shop account.

Sources and their timestamp formats
    crm/contacts          change records (create at signup, lifecycle lead -> customer
                          -> churned, phone/country changes, no-op touches);
                          'YYYY-MM-DD HH:MM:SS' UTC. The first landing date carries
                          the import of all contacts that existed before the world.
    crm/consent_events    email/sms/ads grants and revocations; ISO-8601 '+00:00'.
    web/events            sessions of page_view, product_view, search, login,
                          add_to_cart, checkout_start a minute or two apart; UTM fields
                          on the first event; ISO-8601 in the device's local offset
                          ('-05:00', '+02:00', ...) or 'Z', always the correct instant.
    shop/orders           a 'placed' change record, later 'shipped', 'delivered',
                          'cancelled' or 'refunded' records; ISO-8601 'Z'. Totals are
                          the sum of the lines' quantity * unit_price.
    shop/order_lines      land with their order's 'placed' record.
    shop/products         full catalogue on the first date, price changes later.
    email/campaigns       weekly newsletter, promos, fortnightly winbacks and one
                          transactional 'order confirmation' campaign.
    email/events          send -> delivery -> open -> click, bounces, unsubscribes,
                          spam complaints; recipients identified by email.
    privacy/erasure_requests  a handful per month, by email and sometimes contact_id.

Demand follows weekly (weekend) and yearly (November/December peak, Black Friday)
seasonality; order values are heavy tailed (lognormal list prices, geometric basket
sizes).

Mess (rates configurable)
    * late arrival (``--late-rate``): a row that happened on day d lands on d+1..d+3;
      CRM change records therefore also land out of order;
    * redelivery (``--duplicate-rate``): an exact copy of a row lands again in the same
      or one of the next three partitions;
    * malformed values (``--malformed-rate``): unparseable timestamps, empty primary
      ids, non-numeric amounts, negative quantities, unknown event types.

Determinism
    Everything a landing date contains is a function of (seed, customers, world start
    date, that date): people are drawn from RNGs keyed by (seed, signup date), and each
    simulated day draws from ``numpy.random.default_rng`` keyed by (seed, date ordinal,
    table). A day's activity may land up to ``SPILL_DAYS`` later (order refunds, late
    rows, redeliveries), so writing one landing date replays the days before it.
    An event lands in exactly one partition: rows that land after ``--end-date`` are
    written by the following ``--increment`` runs, never dropped or duplicated.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
import time
import zlib
from collections import defaultdict
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

sys.path.insert(0, str(Path(__file__).resolve().parent))
from landing_contract import LANDING_TABLES, table_for  # noqa: E402

DAY = 86_400
NEVER = 10**7  # a day index that never comes
NEVER_TS = 2**62  # an epoch second that never comes

LATE_MAX_DAYS = 3
DUPLICATE_MAX_DELAY_DAYS = 3
STATUS_MAX_DELAY_DAYS = 30  # a refund can follow its order by up to 30 days
# Upper bound of (landing day - simulated day) for any row.
SPILL_DAYS = STATUS_MAX_DELAY_DAYS + 1 + LATE_MAX_DAYS + DUPLICATE_MAX_DELAY_DAYS + 1

SHOP_URL = "https://shop.example.com"

# --- people -------------------------------------------------------------------------
ARCHETYPES = ("browser", "one_time_buyer", "loyal", "big_spender", "lapsed", "cart_abandoner")
BROWSER, ONE_TIME, LOYAL, BIG_SPENDER, LAPSED, ABANDONER = range(len(ARCHETYPES))
ARCHETYPE_SHARE = np.array([0.34, 0.20, 0.14, 0.03, 0.14, 0.15])
SESSION_RATE = np.array([0.024, 0.016, 0.036, 0.044, 0.036, 0.036])  # sessions per day
REPEAT_ORDER_RATE = np.array([0.0, 0.0, 1 / 45, 1 / 30, 1 / 60, 1 / 400])  # after the first
BUYER_SHARE = np.array([0.0, 1.0, 1.0, 1.0, 1.0, 0.25])
SHOP_ACCOUNT_SHARE = np.array([0.30, 0.75, 0.92, 0.95, 0.85, 0.70])
SIGNUPS_PER_BASE_PER_DAY = 0.30 / 365
TEST_ACCOUNT_SHARE = 0.002
SHARED_DEVICE_SHARE = 0.03

FIRST_NAMES = (
    "Anna Ben Carla David Emma Felix Grace Hugo Isla Jonas Kate Liam Mia Noah Olivia "
    "Paul Quinn Rosa Sam Tara Umar Vera Will Xena Yusuf Zoe Lucas Sofia Elias Hannah "
    "Mateo Chloe Leon Amelie Oscar Lea Theo Marie Arthur Julia"
).split()
LAST_NAMES = (
    "Smith Johnson Brown Garcia Miller Davis Wilson Taylor Thomas Moore Martin Lee "
    "Walker Hall Young King Wright Scott Green Baker Adams Nelson Hill Campbell Mitchell "
    "Roberts Turner Phillips Evans Schmidt Muller Schneider Fischer Weber Dubois Laurent "
    "Bernard Jansen Visser Murphy"
).split()
EMAIL_DOMAINS = (
    "gmail.com", "yahoo.com", "outlook.com", "hotmail.com", "icloud.com",
    "gmx.de", "web.de", "orange.fr", "btinternet.com", "proton.me",
)
COUNTRIES = ("US", "GB", "DE", "FR", "NL", "CA")
COUNTRY_SHARE = np.array([0.55, 0.15, 0.12, 0.08, 0.05, 0.05])
PHONE_PREFIX = ("+1", "+44", "+49", "+33", "+31", "+1")
CURRENCIES = ("USD", "EUR", "GBP")
COUNTRY_CURRENCY = np.array([0, 2, 1, 1, 1, 0])
FX_FROM_USD = np.array([1.0, 0.92, 0.79])

# Time zones: (standard offset, summer offset) in minutes and the DST rule they follow.
TZ_OFFSETS = np.array([[-300, -240], [-480, -420], [0, 60], [60, 120]])
TZ_US_RULE = np.array([True, True, False, False])
US_EAST, US_WEST, UK, CET = range(4)
OFFSET_MINUTES = np.unique(np.append(TZ_OFFSETS, 0))
OFFSET_SUFFIXES = tuple("Z" if m == 0 else f"{'-' if m < 0 else '+'}{abs(m) // 60:02d}:{abs(m) % 60:02d}"
                        for m in OFFSET_MINUTES)

DEVICE_TYPES = ("desktop", "mobile", "tablet")
DEVICE_SHARE = np.array([0.45, 0.45, 0.10])

CONSENT_CHANNELS = ("email", "sms", "ads")
CAPTURE_SOURCES = ("signup_form", "checkout", "preference_center", "import")
SIGNUP_FORM, CHECKOUT, PREFERENCE_CENTER, IMPORT = range(4)
CONSENT_AT_SIGNUP = np.array([0.55, 0.15, 0.40])
CONSENT_REVOKE_SHARE = np.array([0.20, 0.25, 0.15])

LIFECYCLE_STAGES = ("lead", "customer", "churned")

# --- products -----------------------------------------------------------------------
CATEGORIES = ("apparel", "footwear", "home", "beauty", "electronics", "outdoor")
CATEGORY_NOUNS = (
    ("T-Shirt", "Hoodie", "Jacket", "Jeans", "Sweater"),
    ("Sneakers", "Boots", "Sandals", "Loafers"),
    ("Mug", "Candle", "Throw Blanket", "Lamp", "Cushion"),
    ("Face Cream", "Lip Balm", "Shampoo", "Serum"),
    ("Headphones", "Speaker", "Charger", "Smartwatch"),
    ("Backpack", "Water Bottle", "Tent", "Rain Jacket"),
)
CATEGORY_MEDIAN_USD = np.array([35.0, 80.0, 25.0, 18.0, 90.0, 45.0])
ADJECTIVES = ("Classic", "Everyday", "Premium", "Organic", "Urban", "Vintage",
              "Lightweight", "Cozy", "Essential", "Pro")
COLOURS = ("Black", "White", "Navy", "Olive", "Sand", "Red", "Grey")

# --- web ----------------------------------------------------------------------------
WEB_EVENT_TYPES = ("page_view", "product_view", "add_to_cart", "checkout_start", "login", "search")
PAGE_VIEW, PRODUCT_VIEW, ADD_TO_CART, CHECKOUT_START, LOGIN, SEARCH = range(6)
MIDDLE_EVENT_SHARE = np.array([0.28, 0.50, 0.04, 0.0, 0.0, 0.18])
BROWSE, CART, PURCHASE = range(3)
PAGES = ("/", "/sale", "/new-arrivals", "/gift-guide", "/about", "/blog/care-guide",
         "/category/apparel", "/category/footwear", "/category/home", "/category/beauty",
         "/category/electronics", "/category/outdoor")
SEARCH_TERMS = ("hoodie", "running+shoes", "gift", "candle", "black+jeans", "headphones",
                "backpack", "sale", "face+cream", "tent")
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
WEB_HOUR_WEIGHTS = np.array([2, 1.5, 1, 1, 1, 1.5, 2.5, 4, 5, 5.5, 5.5, 6, 6.5, 6, 6, 6,
                             6, 6.5, 7.5, 8.5, 9, 8, 6, 3.5])
BUSINESS_HOUR_WEIGHTS = np.array([0.2] * 7 + [3, 6, 8, 8, 7, 5, 7, 8, 8, 6, 3] + [0.2] * 6)

# --- email --------------------------------------------------------------------------
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

# --- shop ---------------------------------------------------------------------------
ORDER_STATUSES = ("placed", "shipped", "delivered", "cancelled", "refunded")
PLACED, SHIPPED, DELIVERED, CANCELLED, REFUNDED = range(5)

ERASURE_CHANNELS = ("web_form", "email", "support_ticket")

# --- mess ---------------------------------------------------------------------------
BAD_TIMESTAMPS = ("not-a-timestamp", "2026-13-45", "2026-02-30T25:61:00Z", "yesterday",
                  "0000-00-00 00:00:00")
BAD_AMOUNTS = ("12,3O", "N/A", "1.2.3", "$", "twelve")
BAD_QUANTITIES = ("-1", "-2", "-5")
# Per table: (column, replacement values) a malformed row draws one of. Campaigns and
# erasure requests are typed in by people at the source and arrive well-formed.
MALFORMATIONS: dict[str, tuple[tuple[str, tuple[str, ...]], ...]] = {
    "crm/contacts": (
        ("updated_at", BAD_TIMESTAMPS),
        ("contact_id", ("",)),
        ("birth_date", ("1985-02-30", "31.12.1990", "unknown")),
    ),
    "crm/consent_events": (
        ("occurred_at", BAD_TIMESTAMPS),
        ("consent_event_id", ("",)),
        ("consent_status", ("maybe", "GRANTED?")),
    ),
    "web/events": (
        ("occurred_at", BAD_TIMESTAMPS),
        ("event_id", ("",)),
        ("event_type", ("pageview??", "PAGE VIEW", "clik", "unknown_event")),
    ),
    "shop/orders": (
        ("order_total", BAD_AMOUNTS),
        ("ordered_at", BAD_TIMESTAMPS),
        ("order_id", ("",)),
    ),
    "shop/order_lines": (
        ("quantity", BAD_QUANTITIES),
        ("unit_price", BAD_AMOUNTS),
        ("order_line_id", ("",)),
    ),
    "shop/products": (("list_price", BAD_AMOUNTS),),
    "email/events": (
        ("occurred_at", BAD_TIMESTAMPS),
        ("email_event_id", ("",)),
        ("event_type", ("opened??", "OPEN!", "delivred")),
    ),
}
# Catalogue snapshots and campaign definitions never arrive late.
ON_TIME_TABLES = {"shop/products", "email/campaigns"}
# Share of a source's emails that carry odd casing or stray whitespace.
EMAIL_MESS = {"crm": 0.06, "shop": 0.15, "email": 0.05, "privacy": 0.30}


# =====================================================================================
# Small vectorised helpers
# =====================================================================================
# Byte value -> its two lowercase hex characters, as one uint16 per byte value.
_HEX_PAIRS = np.array([[ord(a), ord(b)] for a in "0123456789abcdef" for b in "0123456789abcdef"],
                      dtype=np.uint8).view(np.uint16).ravel()


def rng_for(seed: int, day_ordinal: int, stream: str) -> np.random.Generator:
    """The RNG of one (seed, date, table/stream) triple."""
    return np.random.default_rng([seed, day_ordinal, zlib.crc32(stream.encode())])


def strings_from_matrix(mat: np.ndarray) -> pa.Array:
    """Rows of a (n, width) uint8 ASCII matrix as a string array, without copies."""
    n, width = mat.shape
    data = np.ascontiguousarray(mat).reshape(-1)
    offsets = np.arange(n + 1, dtype=np.int64) * width
    if data.size < 2**31 - 1:
        return pa.Array.from_buffers(pa.string(), n, [None, pa.py_buffer(offsets.astype(np.int32)),
                                                      pa.py_buffer(data)])
    return pa.Array.from_buffers(pa.large_string(), n, [None, pa.py_buffer(offsets),
                                                        pa.py_buffer(data)])


def hex_matrix(raw: np.ndarray) -> np.ndarray:
    """(n, b) bytes -> (n, 2b) lowercase hex ASCII."""
    return np.take(_HEX_PAIRS, raw).view(np.uint8).reshape(raw.shape[0], raw.shape[1] * 2)


def random_bytes(rng: np.random.Generator, n: int, width: int) -> np.ndarray:
    return np.frombuffer(rng.bytes(n * width), np.uint8).reshape(n, width).copy()


def random_ids(rng: np.random.Generator, n: int, prefix: str, nbytes: int) -> pa.Array:
    """Ids like 'ev_3fa9...' from ``nbytes`` random bytes."""
    head = np.frombuffer(prefix.encode(), np.uint8)
    mat = np.empty((n, head.size + 2 * nbytes), np.uint8)
    mat[:, : head.size] = head
    mat[:, head.size:] = hex_matrix(random_bytes(rng, n, nbytes))
    return strings_from_matrix(mat)


def random_uuids(rng: np.random.Generator, n: int) -> pa.Array:
    raw = random_bytes(rng, n, 16)
    raw[:, 6] = (raw[:, 6] & 0x0F) | 0x40
    raw[:, 8] = (raw[:, 8] & 0x3F) | 0x80
    h = hex_matrix(raw)
    mat = np.full((n, 36), ord("-"), np.uint8)
    for dst, src in ((0, 0), (9, 8), (14, 12), (19, 16), (24, 20)):
        width = 8 if dst == 0 else (12 if dst == 24 else 4)
        mat[:, dst:dst + width] = h[:, src:src + width]
    return strings_from_matrix(mat)


def vocab(values) -> pa.Array:
    return pa.array(list(values), pa.string())


def pick(values, idx) -> pa.Array:
    """values[idx] as a string array (values: a sequence of str or a string array)."""
    arr = values if isinstance(values, (pa.Array, pa.ChunkedArray)) else vocab(values)
    return arr.take(pa.array(np.asarray(idx, dtype=np.int64)))


def num_text(a) -> pa.Array:
    return pc.cast(pa.array(np.asarray(a, dtype=np.int64)), pa.string())


def zero_pad(a, width: int) -> pa.Array:
    return pc.utf8_lpad(num_text(a), width=width, padding="0")


def concat(*parts) -> pa.Array:
    return pc.binary_join_element_wise(*parts, "")


def money_text(cents) -> pa.Array:
    cents = np.asarray(cents, dtype=np.int64)
    return concat(num_text(cents // 100), ".", zero_pad(cents % 100, 2))


def sql_timestamp_text(ts) -> pa.Array:
    """'YYYY-MM-DD HH:MM:SS' for epoch seconds."""
    return pc.cast(pa.array(np.asarray(ts, dtype=np.int64), pa.timestamp("s")), pa.string())


def iso_text(ts, suffix) -> pa.Array:
    """'YYYY-MM-DDTHH:MM:SS' + suffix; ``ts`` must already be in the suffix's offset."""
    return concat(pc.utf8_replace_slice(sql_timestamp_text(ts), 10, 11, "T"), suffix)


def date_text(days_since_epoch) -> pa.Array:
    return pc.cast(pa.array(np.asarray(days_since_epoch, dtype=np.int32), pa.date32()), pa.string())


def where_text(mask, values: pa.Array, other: str = "") -> pa.Array:
    return pc.if_else(pa.array(np.asarray(mask, dtype=bool)), values, other)


def empty_text(n: int) -> pa.Array:
    """n empty strings, without allocating any character data."""
    return pa.Array.from_buffers(pa.string(), n, [None, pa.py_buffer(np.zeros(n + 1, np.int32)),
                                                  pa.py_buffer(b"")])


def sparse_text(mask: np.ndarray, source: pa.Array, idx: np.ndarray) -> pa.Array:
    """source[idx] where mask holds, '' elsewhere; only the masked rows are gathered."""
    mask = np.asarray(mask, dtype=bool)
    out = empty_text(mask.size)
    if not mask.any():
        return out
    return pc.replace_with_mask(out, pa.array(mask), source.take(pa.array(np.asarray(idx)[mask])))


def hash_uniform(*keys: np.ndarray) -> np.ndarray:
    """Stateless uniform [0, 1) numbers from integer keys (splitmix64)."""
    x = np.zeros(np.broadcast(*keys).shape, dtype=np.uint64)
    with np.errstate(over="ignore"):
        for key in keys:
            x = (x ^ np.asarray(key).astype(np.uint64)) + np.uint64(0x9E3779B97F4A7C15)
            x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
            x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
            x = x ^ (x >> np.uint64(31))
    return (x >> np.uint64(11)).astype(np.float64) / float(2**53)


def hour_seconds(rng: np.random.Generator, n: int, weights: np.ndarray) -> np.ndarray:
    """Seconds into a day, drawn from an hour-of-day profile."""
    hour = rng.choice(24, size=n, p=weights / weights.sum())
    return hour * 3600 + rng.integers(0, 3600, n)


def messy_emails(rng: np.random.Generator, emails: pa.Array, rate: float) -> pa.Array:
    """The same addresses as another system sends them: odd casing, stray whitespace."""
    n = len(emails)
    messy = rng.random(n) < rate
    kind = rng.integers(0, 5, n)
    out = emails
    variants = (
        lambda a: pc.utf8_upper(a),
        lambda a: pc.utf8_title(a),
        lambda a: pc.utf8_capitalize(a),
        lambda a: concat(" ", a),
        lambda a: concat(pc.utf8_title(a), "  "),
    )
    for j, variant in enumerate(variants):
        mask = messy & (kind == j)
        if mask.any():
            out = pc.replace_with_mask(out, pa.array(mask), variant(emails.filter(pa.array(mask))))
    return out


# =====================================================================================
# Calendar
# =====================================================================================
def _nth_weekday(year: int, month: int, weekday: int, n: int) -> dt.date:
    first = dt.date(year, month, 1)
    return first + dt.timedelta(days=(weekday - first.weekday()) % 7 + 7 * (n - 1))


def _last_weekday(year: int, month: int, weekday: int) -> dt.date:
    last = dt.date(year + month // 12, month % 12 + 1, 1) - dt.timedelta(days=1)
    return last - dt.timedelta(days=(last.weekday() - weekday) % 7)


@lru_cache(maxsize=None)
def demand(date: dt.date) -> float:
    """Relative shopping demand: weekends and November/December are busier."""
    weekly = (0.95, 0.93, 0.95, 1.0, 1.05, 1.12, 1.10)[date.weekday()]
    yearly = (0.85, 0.88, 0.95, 0.97, 1.0, 0.95, 0.9, 0.9, 1.0, 1.05, 1.3, 1.45)[date.month - 1]
    black_friday = _nth_weekday(date.year, 11, 3, 4) + dt.timedelta(days=1)
    if -2 <= (date - black_friday).days <= 3:
        yearly *= 1.6
    if date.month == 12 and 24 <= date.day <= 26:
        yearly *= 0.7
    return weekly * yearly


@lru_cache(maxsize=None)
def summer_time(date: dt.date) -> tuple[bool, bool]:
    """(US DST in force, EU summer time in force) on ``date``."""
    us = _nth_weekday(date.year, 3, 6, 2) <= date < _nth_weekday(date.year, 11, 6, 1)
    eu = _last_weekday(date.year, 3, 6) <= date < _last_weekday(date.year, 10, 6)
    return us, eu


# =====================================================================================
# The world: people and products
# =====================================================================================
@dataclass(frozen=True)
class Config:
    customers: int
    days: int
    seed: int
    out: Path
    end_date: dt.date
    increment: bool = False
    malformed_rate: float = 0.005
    duplicate_rate: float = 0.01
    late_rate: float = 0.02

    @property
    def start_date(self) -> dt.date:
        return self.end_date - dt.timedelta(days=self.days - 1)


PERSON_FIELDS = (
    "signup_ts", "archetype", "is_test", "has_contact", "has_shop", "crm_shop_link",
    "first_name", "last_name", "email_pattern", "email_domain", "country0", "country1",
    "country_change_day", "country_missing", "tz", "phone0", "phone1", "phone_change_day",
    "birth_day", "n_devices", "device_type", "shared_draw", "chunk_start", "session_rate",
    "order_rate", "spend", "first_purchase_ts", "lapse_day", "erasure_day",
    "consent_grant_ts", "consent_source", "consent_revoke_ts", "revoke_by_unsubscribe",
    "open_propensity", "click_propensity", "hard_bounce", "guest_preference", "newsletter_list",
)


class World:
    """People and products; everything static about the simulated world."""

    def __init__(self, cfg: Config, last_day: int):
        self.cfg = cfg
        self.seed = cfg.seed
        self.n_base = cfg.customers
        self.start = cfg.start_date
        self.start_epoch = int(dt.datetime(self.start.year, self.start.month, self.start.day,
                                           tzinfo=dt.timezone.utc).timestamp())
        self.last_day = last_day
        self._build_people()
        self._build_people_text()
        self._build_catalogue()

    # --- calendar -----------------------------------------------------------------
    def date(self, day: int) -> dt.date:
        return self.start + dt.timedelta(days=day)

    def ordinal(self, day: int) -> int:
        return self.date(day).toordinal()

    def day_epoch(self, day: int) -> int:
        return self.start_epoch + day * DAY

    def day_of(self, ts: np.ndarray) -> np.ndarray:
        return np.floor_divide(np.asarray(ts, dtype=np.int64) - self.start_epoch, DAY)

    def rng(self, day: int, stream: str) -> np.random.Generator:
        return rng_for(self.seed, self.ordinal(day), stream)

    # --- people -------------------------------------------------------------------
    def _build_people(self) -> None:
        """The base that exists at the start, then every day's sign-ups, in signup order."""
        base_rng = rng_for(self.seed, self.start.toordinal(), "people/base")
        signup_ts = self.start_epoch - base_rng.integers(3600, 1500 * DAY, self.n_base)
        chunks = [self._draw_people(base_rng, signup_ts, existing=0, is_base=True)]
        self.n_by_day = np.zeros(self.last_day + 1, dtype=np.int64)
        total = self.n_base
        for day in range(self.last_day + 1):
            rng = self.rng(day, "people/signups")
            n = int(rng.poisson(self.n_base * SIGNUPS_PER_BASE_PER_DAY * demand(self.date(day))))
            ts = np.sort(self.day_epoch(day) + hour_seconds(rng, n, WEB_HOUR_WEIGHTS))
            chunks.append(self._draw_people(rng, ts, existing=total, is_base=False))
            total += n
            self.n_by_day[day] = total
        for name in PERSON_FIELDS:
            setattr(self, name, np.concatenate([c[name] for c in chunks]))
        self.signup_day = self.day_of(self.signup_ts)
        self.first_purchase_day = np.where(self.first_purchase_ts >= NEVER_TS, NEVER,
                                           self.day_of(np.minimum(self.first_purchase_ts, 2**40)))
        # The CRM learns about a first purchase in the nightly sync of the next day.
        self.customer_day = np.where(self.first_purchase_day >= NEVER, NEVER,
                                     self.first_purchase_day + 1)
        self.churn_day = np.where(self.archetype == LAPSED, self.lapse_day + 90, NEVER)
        self.consent_grant_day = np.where(self.consent_grant_ts >= NEVER_TS, NEVER,
                                          self.day_of(np.minimum(self.consent_grant_ts, 2**40)))
        self.consent_revoke_day = np.where(self.consent_revoke_ts >= NEVER_TS, NEVER,
                                           self.day_of(np.minimum(self.consent_revoke_ts, 2**40)))
        self.currency = COUNTRY_CURRENCY[self.country0]
        self.n_people = total
        self._link_shared_devices()

    def _link_shared_devices(self) -> None:
        """Pick each sharer's partner among shop-account holders who existed before them."""
        self.shared_partner = np.full(self.n_people, -1)
        sharers = np.flatnonzero(self.shared_draw >= 0)
        holders = np.flatnonzero(self.has_shop)
        before = np.searchsorted(holders, np.where(self.chunk_start[sharers] > 0,
                                                   self.chunk_start[sharers], self.n_base))
        ok = before > 1  # without another account holder there is nobody to share with
        self.n_devices[sharers[~ok]] -= 1
        sharers, before = sharers[ok], before[ok]
        partner = holders[(self.shared_draw[sharers] * before).astype(np.int64)]
        partner = np.where(partner == sharers, holders[np.minimum(before - 1, 1)], partner)
        self.shared_partner[sharers] = partner

    def _draw_people(self, rng: np.random.Generator, signup_ts: np.ndarray, existing: int,
                     is_base: bool) -> dict[str, np.ndarray]:
        n = signup_ts.size
        p: dict[str, np.ndarray] = {"signup_ts": signup_ts.astype(np.int64)}
        signup_day = self.day_of(signup_ts)
        archetype = rng.choice(len(ARCHETYPES), n, p=ARCHETYPE_SHARE)
        is_test = rng.random(n) < TEST_ACCOUNT_SHARE
        archetype[is_test] = LOYAL
        p["archetype"] = archetype.astype(np.int8)
        p["is_test"] = is_test
        p["has_contact"] = (rng.random(n) < 0.88) | is_test
        p["has_shop"] = (rng.random(n) < SHOP_ACCOUNT_SHARE[archetype]) | is_test
        p["crm_shop_link"] = rng.random(n) < 0.9  # else the CRM lacks the shop account id
        p["first_name"] = rng.integers(0, len(FIRST_NAMES), n)
        p["last_name"] = rng.integers(0, len(LAST_NAMES), n)
        p["email_pattern"] = rng.integers(0, 3, n)
        p["email_domain"] = rng.integers(0, len(EMAIL_DOMAINS), n)
        country0 = rng.choice(len(COUNTRIES), n, p=COUNTRY_SHARE)
        p["country0"] = country0
        p["country1"] = rng.choice(len(COUNTRIES), n, p=COUNTRY_SHARE)
        # Attributes change at most once (a move, a new phone), on a fixed day, so a
        # change record can be written for any day without replaying history.
        moves = rng.random(n) < 0.02
        change_base = np.maximum(signup_day, 0)
        p["country_change_day"] = np.where(moves, change_base + 1 + rng.exponential(200, n).astype(np.int64), NEVER)
        p["country_missing"] = rng.random(n) < 0.07
        west = rng.random(n) < 0.3
        p["tz"] = np.select([country0 == 0, country0 == 5, country0 == 1],
                            [np.where(west, US_WEST, US_EAST), US_EAST, UK], CET)
        phone_missing = rng.random(n) < 0.30
        p["phone0"] = np.where(phone_missing, -1, rng.integers(2_000_000_000, 9_999_999_999, n))
        p["phone1"] = rng.integers(2_000_000_000, 9_999_999_999, n)
        changes = rng.random(n) < 0.08
        p["phone_change_day"] = np.where(changes, change_base + 1 + rng.exponential(150, n).astype(np.int64), NEVER)
        birth = self.day_of(signup_ts) + self.start_epoch // DAY - (rng.uniform(18, 80, n) * 365.25).astype(np.int64)
        p["birth_day"] = np.where(rng.random(n) < 0.40, -(10**6), birth)
        n_devices = rng.choice([1, 2, 3], n, p=[0.5, 0.35, 0.15])
        device_type = rng.choice(3, (n, 3), p=DEVICE_SHARE)
        # A family tablet: the person's extra device slot is another person's main device
        # (the partner is resolved once everybody exists, see _link_shared_devices).
        shares = (rng.random(n) < SHARED_DEVICE_SHARE) & (n_devices < 3)
        p["shared_draw"] = np.where(shares, rng.random(n), -1.0)
        p["chunk_start"] = np.full(n, existing)
        device_type[shares, n_devices[shares]] = 2
        p["n_devices"] = n_devices + shares
        p["device_type"] = device_type.astype(np.int8)
        engagement = rng.lognormal(-0.245, 0.7, n)  # mean 1
        p["session_rate"] = SESSION_RATE[archetype] * engagement
        order_rate = REPEAT_ORDER_RATE[archetype] * rng.lognormal(-0.08, 0.4, n)
        p["order_rate"] = np.where(is_test, order_rate * 2, order_rate)
        p["spend"] = np.where(archetype == BIG_SPENDER, 2.5, 1.0) * rng.lognormal(0, 0.3, n)
        # The first purchase happens at a fixed instant (often before the world starts for
        # the base); repeat orders follow at the person's rate afterwards.
        buyer = rng.random(n) < BUYER_SHARE[archetype]
        delay_days = rng.exponential(300 if is_base else 60, n)
        fp_ts = signup_ts + (delay_days * DAY).astype(np.int64)
        p["first_purchase_ts"] = np.where(buyer, fp_ts, NEVER_TS)
        lapse = rng.integers(0, 240, n) if is_base else signup_day + 30 + rng.exponential(90, n).astype(np.int64)
        p["lapse_day"] = np.where(archetype == LAPSED, lapse, NEVER)
        # Erasure requests: a handful per month whatever the size of the base.
        per_day = 0.1 + 1.5e-7 * self.n_base
        share = min(0.05, per_day * 365 / max(self.n_base, 1))
        erased = rng.random(n) < share
        p["erasure_day"] = np.where(erased, np.maximum(signup_day, 0) + 1 + rng.exponential(365, n).astype(np.int64), NEVER)
        self._draw_consents(rng, p, n, signup_ts, buyer, fp_ts)
        p["open_propensity"] = rng.beta(2.0, 5.2, n)
        p["click_propensity"] = rng.beta(1.2, 9.0, n)
        p["hard_bounce"] = rng.random(n) < 0.02
        p["guest_preference"] = rng.random(n) < 0.04
        p["newsletter_list"] = rng.random(n) < 0.5
        return p

    def _draw_consents(self, rng, p, n, signup_ts, buyer, fp_ts) -> None:
        """Per channel: when consent was granted (and how) and when it was revoked."""
        grant = np.full((n, 3), NEVER_TS, dtype=np.int64)
        source = np.full((n, 3), SIGNUP_FORM, dtype=np.int8)
        revoke = np.full((n, 3), NEVER_TS, dtype=np.int64)
        for c in range(3):
            at_signup = rng.random(n) < CONSENT_AT_SIGNUP[c]
            at_checkout = ~at_signup & buyer & (rng.random(n) < 0.25)
            later = ~at_signup & ~at_checkout & (rng.random(n) < 0.06)
            grant[:, c] = np.select(
                [at_signup, at_checkout, later],
                [signup_ts + rng.integers(1, 60, n), fp_ts + rng.integers(5, 120, n),
                 signup_ts + (rng.exponential(120, n) * DAY).astype(np.int64)],
                NEVER_TS)
            source[:, c] = np.select([at_checkout, later], [CHECKOUT, PREFERENCE_CENTER], SIGNUP_FORM)
            revokes = (grant[:, c] < NEVER_TS) & (rng.random(n) < CONSENT_REVOKE_SHARE[c])
            revoke[:, c] = np.where(revokes, grant[:, c] + (rng.exponential(200, n) * DAY).astype(np.int64) + 3600,
                                    NEVER_TS)
        no_contact = ~p["has_contact"]
        grant[no_contact] = NEVER_TS
        revoke[no_contact] = NEVER_TS
        p["consent_grant_ts"] = grant
        p["consent_source"] = source
        p["consent_revoke_ts"] = revoke
        p["revoke_by_unsubscribe"] = rng.random(n) < 0.6

    def _build_people_text(self) -> None:
        """Identifiers, names and email addresses as text, indexed by person."""
        number = np.arange(1, self.n_people + 1)
        digits = zero_pad(number, 7)
        self.contact_id = concat("C", digits)
        self.shop_customer_id = concat("S", digits)
        first = pick(FIRST_NAMES, self.first_name)
        last = pick(LAST_NAMES, self.last_name)
        self.first_name_text = pc.if_else(pa.array(self.is_test), "QA", first)
        self.last_name_text = pc.if_else(pa.array(self.is_test), "Test", last)
        lf, ll = pc.utf8_lower(first), pc.utf8_lower(last)
        local = pc.case_when(
            pc.make_struct(pa.array(self.email_pattern == 0), pa.array(self.email_pattern == 1)),
            concat(lf, ".", ll), concat(lf, "_", ll),
            concat(pc.utf8_slice_codeunits(lf, 0, 1), ll))
        email = concat(local, num_text(number), "@", pick(EMAIL_DOMAINS, self.email_domain))
        self.email = pc.if_else(pa.array(self.is_test),
                                concat("qa+", num_text(number), "@test.example.com"), email)
        # Devices: slot j of person i is row 3*i + j; a shared slot points at the partner's
        # first device.
        anon = random_uuids(rng_for(self.seed, self.start.toordinal(), "people/devices"), self.n_people * 3)
        slot_owner = np.arange(self.n_people * 3)
        shared = np.flatnonzero(self.shared_partner >= 0)
        slot_owner[shared * 3 + self.n_devices[shared] - 1] = self.shared_partner[shared] * 3
        self.anonymous_id = anon.take(pa.array(slot_owner))
        self.device_type_flat = self.device_type.reshape(-1)
        prefix = pick(PHONE_PREFIX, self.country0)
        self.phone0_text = where_text(self.phone0 >= 0, concat(prefix, num_text(np.maximum(self.phone0, 0))))
        self.phone1_text = concat(prefix, num_text(self.phone1))
        self.birth_text = where_text(self.birth_day > -(10**6), date_text(np.maximum(self.birth_day, -(10**5))))

    # --- products -----------------------------------------------------------------
    def _build_catalogue(self) -> None:
        rng = rng_for(self.seed, self.start.toordinal(), "products/catalogue")
        n = int(np.clip(200 + self.n_base // 500, 200, 5000))
        self.n_products = n
        category = rng.integers(0, len(CATEGORIES), n)
        noun_idx = (rng.random(n) * np.array([len(x) for x in CATEGORY_NOUNS])[category]).astype(int)
        nouns = [noun for nouns in CATEGORY_NOUNS for noun in nouns]
        noun_offset = np.cumsum([0] + [len(x) for x in CATEGORY_NOUNS])[:-1]
        self.product_id = concat("P", zero_pad(np.arange(1, n + 1), 5))
        self.product_name = concat(pick(ADJECTIVES, rng.integers(0, len(ADJECTIVES), n)), " ",
                                   pick(COLOURS, rng.integers(0, len(COLOURS), n)), " ",
                                   pick(nouns, noun_offset[category] + noun_idx))
        self.product_category = pick(CATEGORIES, category)
        self.base_price_usd = CATEGORY_MEDIAN_USD[category] * rng.lognormal(0, 0.6, n)
        self.price_period = rng.integers(45, 181, n)
        self.price_phase = (rng.random(n) * self.price_period).astype(np.int64)
        weights = 1.0 / np.arange(1, n + 1) ** 0.9
        weights = weights[rng.permutation(n)]
        self.popularity = weights / weights.sum()
        # Every page URL the site has: pages, searches, fixed paths per event type, products.
        fixed = ("", "", "/cart", "/checkout", "/account/login", "")
        parts = [vocab(SHOP_URL + page for page in PAGES),
                 vocab(f"{SHOP_URL}/search?q={term}" for term in SEARCH_TERMS),
                 vocab(SHOP_URL + path for path in fixed),
                 concat(f"{SHOP_URL}/products/", self.product_id)]
        self.url_page, self.url_search, self.url_fixed, self.url_product = np.cumsum(
            [0] + [len(part) for part in parts[:-1]])
        self.web_urls = pa.concat_arrays(parts)
        premium = weights * self.base_price_usd
        self.popularity_premium = premium / premium.sum()

    def price_cents(self, product: np.ndarray, day: int) -> np.ndarray:
        """List price (USD cents, ending in .99) of products on a day."""
        period = (day + self.price_phase[product]) // self.price_period[product]
        factor = np.where(period == 0, 1.0,
                          0.85 + 0.3 * hash_uniform(np.full(product.shape, self.seed), product, period))
        dollars = np.maximum(1, np.round(self.base_price_usd[product] * factor)).astype(np.int64)
        return dollars * 100 - 1

    # --- state of a person on a day -------------------------------------------------
    def active(self, idx: np.ndarray, day: int) -> np.ndarray:
        return self.erasure_day[idx] > day

    def email_audience(self, n: int, ts: int, day: int) -> np.ndarray:
        """Mask over people [0, n) with email consent at ``ts``."""
        return ((self.consent_grant_ts[:n, 0] <= ts) & (self.consent_revoke_ts[:n, 0] > ts)
                & (self.erasure_day[:n] > day))

    @lru_cache(maxsize=None)
    def campaigns(self, day: int) -> tuple[tuple[str, int, int, int], ...]:
        """The marketing campaigns scheduled on a day: (id, type, scheduled_ts, subject)."""
        if day < 0:
            return ()
        rng = self.rng(day, "email/campaigns")
        date = self.date(day)
        types = []
        if date.weekday() == 3:
            types.append(NEWSLETTER)
        types += [PROMO] * int(rng.poisson(0.2 * demand(date)))
        if date.weekday() == 0 and date.isocalendar()[1] % 2 == 0:
            types.append(WINBACK)
        out = []
        for j, ctype in enumerate(types):
            ts = self.day_epoch(day) + int(rng.integers(7, 19)) * 3600 + 60 * int(rng.integers(0, 4)) * 15
            subject = int(rng.integers(0, len(CAMPAIGN_SUBJECTS[ctype])))
            out.append((f"CMP-{date:%Y%m%d}-{j + 1}", ctype, ts, subject))
        return tuple(out)

    def latest_campaign(self, day: int) -> str:
        for d in range(day, max(day - 30, -1), -1):
            if self.campaigns(d):
                return self.campaigns(d)[-1][0]
        return ""


# =====================================================================================
# One simulated day, table by table
# =====================================================================================
@dataclass
class Rows:
    """Rows a table gets from one simulated day, before landing and mess."""

    table: pa.Table
    occurred_ts: np.ndarray  # when each row happened (drives its landing date)
    parent: np.ndarray | None = None  # order_lines: index of their 'placed' order row


def make_table(key: str, columns: dict[str, pa.Array]) -> pa.Table:
    """A table with exactly the contract's columns, in its order, all text."""
    contract = table_for(*key.split("/"))
    assert tuple(columns) == contract.columns, (key, tuple(columns))
    assert all(a.type in (pa.string(), pa.large_string()) for a in columns.values()), key
    return pa.table(columns)


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


@dataclass
class DayOrders:
    """A day's shop rows plus, per order, what the web and email simulations need."""

    orders: Rows
    lines: Rows
    person: np.ndarray  # per order
    ordered_ts: np.ndarray
    guest: np.ndarray
    first_product: np.ndarray  # what the checkout session put into the cart


def orders_day(w: World, day: int) -> DayOrders:
    """Orders placed on a day, their lines and their later status changes."""
    rng = w.rng(day, "shop/orders")
    n = int(w.n_by_day[day])
    date = w.date(day)
    # First purchases happen at a predetermined instant; repeat buyers order at a rate.
    first = np.flatnonzero((w.first_purchase_day[:n] == day) & (w.erasure_day[:n] > day))
    repeat_ok = ((w.first_purchase_day[:n] < day) & (w.erasure_day[:n] > day)
                 & (w.lapse_day[:n] > day))
    counts = rng.poisson(np.where(repeat_ok, w.order_rate[:n] * demand(date), 0.0))
    repeat = np.repeat(np.arange(n), counts)
    person = np.concatenate([first, repeat])
    ordered_ts = np.concatenate([w.first_purchase_ts[first],
                                 w.day_epoch(day) + hour_seconds(rng, repeat.size, WEB_HOUR_WEIGHTS)])
    order = np.argsort(ordered_ts, kind="stable")
    person, ordered_ts = person[order], ordered_ts[order]
    m = person.size
    order_id = concat(f"ORD-{date:%Y%m%d}-", zero_pad(np.arange(1, m + 1), 6))

    # Lines: basket size and product choice grow with the person's spend level.
    spend = w.spend[person]
    n_lines = np.minimum(rng.poisson(0.5 * spend) + 1, 12)
    line_order = np.repeat(np.arange(m), n_lines)
    line_no = np.arange(line_order.size) - np.repeat(np.cumsum(n_lines) - n_lines, n_lines)
    premium = rng.random(line_order.size) < np.clip((spend[line_order] - 1.0) / 2.0, 0.05, 0.9)
    product = np.where(premium,
                       rng.choice(w.n_products, line_order.size, p=w.popularity_premium),
                       rng.choice(w.n_products, line_order.size, p=w.popularity))
    quantity = 1 + rng.poisson(np.where(spend[line_order] > 2, 0.6, 0.2))
    currency = w.currency[person]
    discount = np.where(rng.random(m) < 0.12, 0.85, 1.0)
    unit_cents = np.round(w.price_cents(product, day) * FX_FROM_USD[currency[line_order]]
                          * discount[line_order]).astype(np.int64)
    total_cents = np.bincount(line_order, weights=quantity * unit_cents, minlength=m).astype(np.int64)

    guest = ~w.has_shop[person] | w.guest_preference[person] | (rng.random(m) < 0.03)
    email = messy_emails(rng, w.email.take(pa.array(person)), EMAIL_MESS["shop"])

    # Later status changes: cancelled, or (shipped ->) delivered (-> refunded).
    outcome = rng.random(m)
    cancelled = outcome < 0.06
    refunded = (outcome >= 0.06) & (outcome < 0.10)
    delivered = (outcome >= 0.06) & (outcome < 0.72)
    shipped = (delivered & (rng.random(m) < 0.5)) | ((outcome >= 0.72) & (rng.random(m) < 0.3))
    ship_ts = ordered_ts + rng.integers(DAY // 2, 2 * DAY, m)
    deliver_ts = ship_ts + rng.integers(DAY, 6 * DAY, m)
    status_rows = [
        (np.arange(m), PLACED, ordered_ts),
        (np.flatnonzero(cancelled), CANCELLED, (ordered_ts + rng.integers(600, DAY, m))),
        (np.flatnonzero(shipped), SHIPPED, ship_ts),
        (np.flatnonzero(delivered), DELIVERED, deliver_ts),
        (np.flatnonzero(refunded), REFUNDED,
         np.minimum(deliver_ts + rng.integers(DAY, 22 * DAY, m), ordered_ts + STATUS_MAX_DELAY_DAYS * DAY)),
    ]
    row_order = np.concatenate([r[0] for r in status_rows])
    row_status = np.concatenate([np.full(r[0].size, r[1]) for r in status_rows])
    row_ts = np.concatenate([r[2] if r[1] == PLACED else r[2][r[0]] for r in status_rows])
    take = pa.array(row_order)
    total_text = money_text(total_cents)
    orders = make_table("shop/orders", {
        "order_id": order_id.take(take),
        "shop_customer_id": where_text(~guest[row_order], w.shop_customer_id.take(pa.array(person[row_order]))),
        "email": email.take(take),
        "order_status": pick(ORDER_STATUSES, row_status),
        "currency": pick(CURRENCIES, currency[row_order]),
        "order_total": total_text.take(take),
        "ordered_at": iso_text(ordered_ts[row_order], "Z"),
        "updated_at": iso_text(row_ts, "Z"),
    })
    lines = make_table("shop/order_lines", {
        "order_line_id": concat(order_id.take(pa.array(line_order)), "-", num_text(line_no + 1)),
        "order_id": order_id.take(pa.array(line_order)),
        "product_id": w.product_id.take(pa.array(product)),
        "quantity": num_text(quantity),
        "unit_price": money_text(unit_cents),
    })
    first_line = np.cumsum(n_lines) - n_lines
    return DayOrders(
        orders=Rows(orders, row_ts),
        lines=Rows(lines, ordered_ts[line_order], parent=line_order),  # placed rows come first
        person=person, ordered_ts=ordered_ts, guest=guest,
        first_product=product[first_line])


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


def campaigns_day(w: World, day: int) -> Rows:
    """The day's campaigns; the first date also brings the long-running transactional one."""
    rows = [(cid, ctype, ts, subject, f"{CAMPAIGN_TYPES[ctype].title()} {w.date(day):%Y-%m-%d}")
            for cid, ctype, ts, subject in w.campaigns(day)]
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
    for cid, ctype, ts, _ in w.campaigns(day):
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
    latest = w.latest_campaign(day)
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


def products_day(w: World, day: int) -> Rows:
    """The whole catalogue on the first date; products whose price changed afterwards."""
    rng = w.rng(day, "shop/products")
    if day == 0:
        product = np.arange(w.n_products)
        ts = w.start_epoch - rng.integers(DAY, 90 * DAY, product.size)
    else:
        product = np.flatnonzero((day + w.price_phase) % w.price_period == 0)
        ts = w.day_epoch(day) + hour_seconds(rng, product.size, BUSINESS_HOUR_WEIGHTS)
    table = make_table("shop/products", {
        "product_id": w.product_id.take(pa.array(product)),
        "product_name": w.product_name.take(pa.array(product)),
        "category": w.product_category.take(pa.array(product)),
        "list_price": money_text(w.price_cents(product, day)),
        "currency": pick(("USD",), np.zeros(product.size, np.int64)),
        "updated_at": sql_timestamp_text(ts),
    })
    return Rows(table, np.maximum(ts, w.start_epoch))


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


# =====================================================================================
# Landing: late arrival, malformed values, redelivery
# =====================================================================================
def malform(table: pa.Table, key: str, rng: np.random.Generator, rate: float) -> pa.Table:
    """Give a ``rate`` share of rows one typical upstream defect (see MALFORMATIONS)."""
    kinds = MALFORMATIONS.get(key, ())
    n = table.num_rows
    hit = rng.random(n) < rate
    kind = rng.integers(0, max(len(kinds), 1), n)
    for j, (column, values) in enumerate(kinds):
        mask = hit & (kind == j)
        if not mask.any():
            continue
        bad = pick(values, rng.integers(0, len(values), int(mask.sum())))
        col = table.column(column).combine_chunks()
        table = table.set_column(table.schema.get_field_index(column), column,
                                 pc.replace_with_mask(col, pa.array(mask), bad))
    return table


def land(w: World, day: int, key: str, rows: Rows, cfg: Config,
         parent_lag: np.ndarray | None) -> tuple[pa.Table, np.ndarray, np.ndarray]:
    """Decide each row's landing day, then corrupt and redeliver a share of rows.

    Returns the table, each row's landing day and each original row's lateness.
    """
    rng = w.rng(day, key + "/landing")
    n = rows.table.num_rows
    occurred_day = w.day_of(rows.occurred_ts)
    late = (rng.random(n) < cfg.late_rate) & (key not in ON_TIME_TABLES)
    lag = np.where(late, rng.integers(1, LATE_MAX_DAYS + 1, n), 0)
    lag = np.where(occurred_day < day, 0, lag)  # history imported on the first date
    if parent_lag is not None:
        lag = parent_lag[rows.parent]
    landing = np.maximum(occurred_day, day) + lag
    table = malform(rows.table, key, rng, cfg.malformed_rate)
    redelivered = np.flatnonzero(rng.random(n) < cfg.duplicate_rate)
    delay = rng.choice(DUPLICATE_MAX_DELAY_DAYS + 1, redelivered.size, p=[0.4, 0.3, 0.2, 0.1])
    if redelivered.size:
        table = pa.concat_tables([table, table.take(pa.array(redelivered))])
        landing = np.concatenate([landing, landing[redelivered] + delay])
    assert landing.size == 0 or landing.max() - day <= SPILL_DAYS, key
    return table, landing, lag


def simulate_day(w: World, day: int, cfg: Config) -> dict[str, tuple[pa.Table, np.ndarray]]:
    """All rows produced by one simulated day, keyed by table, with their landing days."""
    orders = orders_day(w, day)
    produced = {
        "shop/products": products_day(w, day),
        "email/campaigns": campaigns_day(w, day),
        "crm/contacts": contacts_day(w, day),
        "crm/consent_events": consent_day(w, day),
        "shop/orders": orders.orders,
        "shop/order_lines": orders.lines,
        "web/events": web_day(w, day, orders),
        "email/events": email_day(w, day, orders),
        "privacy/erasure_requests": erasure_day(w, day),
    }
    out, lags = {}, {}
    for key, rows in produced.items():
        parent_lag = lags["shop/orders"] if key == "shop/order_lines" else None
        table, landing, lags[key] = land(w, day, key, rows, cfg, parent_lag)
        out[key] = (table, landing)
    return out


# =====================================================================================
# Driver
# =====================================================================================
def write_partition(out: Path, key: str, date: dt.date, tables: list[pa.Table]) -> int:
    """Write one partition atomically (temp file + rename) and return its row count."""
    table = pa.concat_tables(tables)
    if table.num_rows == 0:
        return 0
    directory = out / key / f"date={date:%Y-%m-%d}"
    directory.mkdir(parents=True, exist_ok=True)
    tmp = directory / ".part-0.parquet.tmp"
    pq.write_table(table, tmp, compression="zstd")
    os.replace(tmp, directory / "part-0.parquet")
    return table.num_rows


def generate(cfg: Config) -> dict[str, int]:
    """Write the landing window (or the increment) and return rows written per table."""
    window_last = cfg.days - 1
    if cfg.increment:
        write_days = [window_last + 1]
    else:
        write_days = list(range(cfg.days))
    first_write, last_write = write_days[0], write_days[-1]
    first_sim = max(0, first_write - SPILL_DAYS)
    world = World(cfg, last_day=last_write)
    keys = [f"{t.source}/{t.table}" for t in LANDING_TABLES]
    pending: dict[tuple[str, int], list[pa.Table]] = defaultdict(list)
    written = dict.fromkeys(keys, 0)
    # Parquet encoding runs on a second thread while the next day is simulated.
    in_flight: list[tuple[str, Future]] = []
    with ThreadPoolExecutor(max_workers=1) as writer:
        for day in range(first_sim, last_write + 1):
            for key, (table, landing) in simulate_day(world, day, cfg).items():
                keep = np.flatnonzero((landing >= first_write) & (landing <= last_write))
                if keep.size == 0:
                    continue
                keep = keep[np.argsort(landing[keep], kind="stable")]
                bounds = np.flatnonzero(np.diff(landing[keep])) + 1
                for part in np.split(keep, bounds):
                    pending[(key, int(landing[part[0]]))].append(table.take(pa.array(part)))
            if day < first_write:
                continue
            for key, future in in_flight:  # at most one day of files waits for the writer
                written[key] += future.result()
            in_flight = [(key, writer.submit(write_partition, cfg.out, key, world.date(day),
                                             pending.pop((key, day))))
                         for key in keys if (key, day) in pending]
        for key, future in in_flight:
            written[key] += future.result()
    return written


def parse_args(argv: list[str] | None = None) -> Config:
    def positive_int(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
        if value < 1:
            raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
        return value

    def seed(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
        if value < 0:
            raise argparse.ArgumentTypeError(f"must not be negative, got {value}")
        return value

    def rate(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a number between 0 and 0.5, got {text!r}") from None
        if not 0.0 <= value <= 0.5:
            raise argparse.ArgumentTypeError(f"must be between 0 and 0.5, got {value}")
        return value

    def date(text: str) -> dt.date:
        try:
            return dt.date.fromisoformat(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a date as YYYY-MM-DD, got {text!r}") from None

    parser = argparse.ArgumentParser(
        description="Generate deterministic synthetic landing files for every table of the "
                    "landing contract.")
    parser.add_argument("--customers", type=positive_int, required=True,
                        help="people that exist when the world starts (more sign up every day)")
    parser.add_argument("--days", type=positive_int, required=True,
                        help="landing dates in the window, ending at --end-date")
    parser.add_argument("--seed", type=seed, required=True, help="RNG seed (a whole number >= 0)")
    parser.add_argument("--out", type=Path, required=True, help="landing root directory")
    parser.add_argument("--end-date", type=date,
                        default=dt.datetime.now(dt.timezone.utc).date() - dt.timedelta(days=1),
                        help="last landing date of the window (default: yesterday, UTC)")
    parser.add_argument("--increment", action="store_true",
                        help="write only the landing date after --end-date")
    parser.add_argument("--malformed-rate", type=rate, default=0.005,
                        help="share of rows with a malformed value (default 0.005)")
    parser.add_argument("--duplicate-rate", type=rate, default=0.01,
                        help="share of rows delivered a second time (default 0.01)")
    parser.add_argument("--late-rate", type=rate, default=0.02,
                        help="share of rows landing 1-3 days after they happened (default 0.02)")
    args = parser.parse_args(argv)
    if args.days > 3660:
        parser.error("--days must be at most 3660")
    if args.customers > 20_000_000:
        parser.error("--customers must be at most 20000000")
    if args.end_date.year < 1971 or args.end_date.year > 9000:
        parser.error("--end-date is out of range")
    if args.out.exists() and not args.out.is_dir():
        parser.error(f"--out {args.out} exists and is not a directory")
    return Config(customers=args.customers, days=args.days, seed=args.seed, out=args.out,
                  end_date=args.end_date, increment=args.increment,
                  malformed_rate=args.malformed_rate, duplicate_rate=args.duplicate_rate,
                  late_rate=args.late_rate)


def main(argv: list[str] | None = None) -> int:
    cfg = parse_args(argv)
    if cfg.increment:
        target = cfg.end_date + dt.timedelta(days=1)
        existing = sorted(str(p) for p in cfg.out.glob(f"*/*/date={target:%Y-%m-%d}"))
        if existing:
            print(f"error: increment partition date={target:%Y-%m-%d} already exists "
                  f"(e.g. {existing[0]}); refusing to rewrite landed files", file=sys.stderr)
            return 1
    started = time.monotonic()
    try:
        written = generate(cfg)
    except OSError as exc:
        print(f"error: cannot write landing files: {exc}", file=sys.stderr)
        return 1
    elapsed = time.monotonic() - started
    if cfg.increment:
        span = f"increment {cfg.end_date + dt.timedelta(days=1)}"
    else:
        span = f"{cfg.start_date} .. {cfg.end_date}"
    print(f"landing dates {span} -> {cfg.out}")
    width = max(len(k) for k in written)
    for key, rows in written.items():
        print(f"  {key:<{width}}  {rows:>12,} rows")
    print(f"  {'total':<{width}}  {sum(written.values()):>12,} rows in {elapsed:.1f}s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
