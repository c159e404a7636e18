"""How people are identified in each system: ids, names, email addresses, devices.

Person ``i`` may have a CRM contact ``C{i:07d}`` and a shop account ``S{i:07d}``; web
``user_id`` after a login equals the shop account id. Each person browses from one to
three devices (``anonymous_id``); a few people share a family tablet with another person,
so one anonymous_id logs in as two user_ids. Each person has one email address, but every
system sends it with its own casing and stray whitespace.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from .columns import concat, date_text, num_text, pick, random_uuids, where_text, zero_pad
from .draws import rng_for
from .geography import PHONE_PREFIX

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

SHARED_DEVICE_SHARE = 0.03
DEVICE_TYPES = ("desktop", "mobile", "tablet")
DEVICE_SHARE = np.array([0.45, 0.45, 0.10])
# Share of a source's emails that carry odd casing or stray whitespace.
EMAIL_MESS = {"crm": 0.06, "shop": 0.15, "email": 0.05, "privacy": 0.30}


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


class Identities:
    """World's identifiers and contact details of its people, as text. A part of
    ``World``: it reads the people's traits (``people.py``)."""

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
