"""Where people live: countries, phone prefixes, currencies and time zones."""

from __future__ import annotations

import numpy as np

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
