"""The calendar's effects: shopping demand by weekday and season, summer time."""

from __future__ import annotations

import datetime as dt
from functools import lru_cache


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
