"""Deterministic synthetic landing files for every table of the landing contract.

The simulated world is an online shop (USD, EUR and GBP prices) with a CRM, web
analytics, an email platform and a privacy desk. ``customers`` people exist when the
world starts; new people sign up every day (about 30 % of the base per year, more in
November/December). A few people are QA test accounts (``is_test_account`` 'true', emails
like ``qa+123@test.example.com``) that place real-looking orders. Demand follows weekly
(weekend) and yearly (November/December peak, Black Friday) seasonality; order values are
heavy tailed (lognormal list prices, geometric basket sizes).

Where things are
    config.py       what a run writes (``Config``) and the shared time constants
    world.py        the ``World``: people.py (customers and behaviour), identities.py
                    (ids, names, email addresses, devices), catalogue.py (products and
                    site pages), clock.py (days, dates, per-day RNGs)
    sources/        one module per upstream system: crm, shop, web, email, privacy
    landing.py      late arrival, malformed values and redelivery of a day's rows
    writers.py      the Parquet landing files
    driver.py       which days to simulate and write
    increment.py    the next landing date of a landing directory
    columns.py, draws.py, seasonality.py, geography.py   the helpers they share

Determinism
    Everything a landing date contains is a function of (seed, customers, world start
    date, that date): people are drawn from RNGs keyed by (seed, signup date), and each
    simulated day draws from ``numpy.random.default_rng`` keyed by (seed, date ordinal,
    table). An event lands in exactly one partition: rows that land after the last date
    written are written by the following increments, never dropped or duplicated.
"""

from __future__ import annotations

from .config import Config
from .driver import generate
from .increment import IncrementError, next_landing

__all__ = ["Config", "IncrementError", "generate", "next_landing"]
