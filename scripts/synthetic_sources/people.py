"""Customers and their behaviour: who signs up when, and how each person acts.

Every person has an archetype that drives behaviour (browser, one_time_buyer, loyal,
big_spender, lapsed, cart_abandoner) plus drawn traits: engagement, spend level, when
they first buy, lapse, change country or phone, grant and revoke consent, request
erasure. Everything that changes does so on a fixed day drawn up front, so any day's
rows can be written without replaying history.
"""

from __future__ import annotations

import numpy as np

from .config import DAY, NEVER, NEVER_TS
from .draws import WEB_HOUR_WEIGHTS, hash_uniform, hour_seconds, rng_for
from .geography import CET, COUNTRIES, COUNTRY_CURRENCY, COUNTRY_SHARE, UK, US_EAST, US_WEST
from .identities import DEVICE_SHARE, EMAIL_DOMAINS, FIRST_NAMES, LAST_NAMES, SHARED_DEVICE_SHARE
from .seasonality import demand

ARCHETYPES = ("browser", "one_time_buyer", "loyal", "big_spender", "lapsed", "cart_abandoner")
BROWSER, ONE_TIME, LOYAL, BIG_SPENDER, LAPSED, ABANDONER = range(len(ARCHETYPES))
ARCHETYPE_SHARE = np.array([0.34, 0.20, 0.14, 0.03, 0.14, 0.15])
SESSION_RATE = np.array([0.024, 0.016, 0.036, 0.044, 0.036, 0.036])  # sessions per day
REPEAT_ORDER_RATE = np.array([0.0, 0.0, 1 / 45, 1 / 30, 1 / 60, 1 / 400])  # after the first
BUYER_SHARE = np.array([0.0, 1.0, 1.0, 1.0, 1.0, 0.25])
SHOP_ACCOUNT_SHARE = np.array([0.30, 0.75, 0.92, 0.95, 0.85, 0.70])
SIGNUPS_PER_BASE_PER_DAY = 0.30 / 365
TEST_ACCOUNT_SHARE = 0.002

CONSENT_CHANNELS = ("email", "sms", "ads")
CAPTURE_SOURCES = ("signup_form", "checkout", "preference_center", "import", "cookie_banner")
SIGNUP_FORM, CHECKOUT, PREFERENCE_CENTER, IMPORT, COOKIE_BANNER = range(5)
CONSENT_AT_SIGNUP = np.array([0.55, 0.15, 0.40])
CONSENT_REVOKE_SHARE = np.array([0.20, 0.25, 0.15])
ONSITE_CONSENT_SHARE = 0.45  # accept personalisation on the cookie banner at signup
ONSITE_REVOKE_SHARE = 0.10
AD_PERSONALIZATION_REVOKE_SHARE = 0.20  # of ads grants: keep ad_user_data, drop personalisation
GLOBAL_UNSUBSCRIBE_SHARE = 0.015  # "unsubscribe from everything"

PERSON_FIELDS = (
    "signup_ts", "archetype", "is_test", "has_contact", "has_shop", "crm_shop_link",
    "first_name", "last_name", "email_pattern", "email_domain", "country0", "country1",
    "country_change_day", "country_missing", "tz", "phone0", "phone1", "phone_change_day",
    "birth_day", "n_devices", "device_type", "shared_draw", "chunk_start", "session_rate",
    "order_rate", "spend", "first_purchase_ts", "lapse_day", "erasure_day",
    "consent_grant_ts", "consent_source", "consent_revoke_ts", "revoke_by_unsubscribe",
    "open_propensity", "click_propensity", "hard_bounce", "guest_preference", "newsletter_list",
)


class People:
    """World's people: one NumPy array per trait (PERSON_FIELDS), indexed by person in
    signup order, the base that exists at the start first. A part of ``World``: it uses
    the clock (``self.rng``, ``self.day_of``) and ``self.n_base``, ``self.last_day``."""

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
        self._draw_consent_extras()
        self._link_shared_devices()

    def _draw_consent_extras(self) -> None:
        """Onsite personalisation consent, ad personalisation withdrawn on its own (Google
        consent mode's purposes) and global unsubscribes. Stateless draws per person
        (hash_uniform), so the other traits keep their draws and a longer window gives
        every person the same values."""
        n = self.n_people
        person = np.arange(n)
        contact = self.has_contact

        def uniform(stream: int) -> np.ndarray:
            return hash_uniform(np.full(n, self.seed), person, np.full(n, 0xC0DE0000 + stream))

        def delay(stream: int, mean_days: float) -> np.ndarray:
            return (-np.log1p(-uniform(stream)) * mean_days * DAY).astype(np.int64)

        onsite = contact & (uniform(1) < ONSITE_CONSENT_SHARE)
        self.onsite_grant_ts = np.where(onsite, self.signup_ts + 1 + (uniform(2) * 600).astype(np.int64), NEVER_TS)
        onsite_revokes = onsite & (uniform(3) < ONSITE_REVOKE_SHARE)
        self.onsite_revoke_ts = np.where(onsite_revokes, self.onsite_grant_ts + delay(4, 150) + 3600, NEVER_TS)
        ads_grant = self.consent_grant_ts[:, 2]
        drops = (ads_grant < NEVER_TS) & (uniform(5) < AD_PERSONALIZATION_REVOKE_SHARE)
        self.ad_personalization_revoke_ts = np.where(drops, ads_grant + delay(6, 100) + 600, NEVER_TS)
        unsubscribes = contact & (uniform(7) < GLOBAL_UNSUBSCRIBE_SHARE)
        # Spread over the 90 days before the world starts and the 120 after it (a fixed
        # span, so a longer window keeps the shorter one's rows).
        unsubscribe_ts = self.start_epoch - 90 * DAY + (uniform(8) * 210 * DAY).astype(np.int64)
        unsubscribe_ts = np.maximum(unsubscribe_ts, self.signup_ts + 3600)
        self.global_unsubscribe_ts = np.where(unsubscribes, unsubscribe_ts, NEVER_TS)

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
