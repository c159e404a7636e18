"""What one generator run writes, and the time constants every module shares."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

DAY = 86_400
NEVER = 10**7  # a day index that never comes
NEVER_TS = 2**62  # an epoch second that never comes

LATE_MAX_DAYS = 3
DUPLICATE_MAX_DELAY_DAYS = 3
STATUS_MAX_DELAY_DAYS = 30  # a refund can follow its order by up to 30 days
# Upper bound of (landing day - simulated day) for any row.
SPILL_DAYS = STATUS_MAX_DELAY_DAYS + 1 + LATE_MAX_DAYS + DUPLICATE_MAX_DELAY_DAYS + 1

DEFAULT_MALFORMED_RATE = 0.005
DEFAULT_DUPLICATE_RATE = 0.01
DEFAULT_LATE_RATE = 0.02


@dataclass(frozen=True)
class Config:
    """A world (customers, seed, start date, rates) and the landing dates to write.

    ``start_date`` is the world's first day and its first landing date; the run writes
    the landing dates ``first_date`` .. ``last_date``, both on or after it.
    """

    customers: int
    seed: int
    out: Path
    start_date: dt.date
    first_date: dt.date
    last_date: dt.date
    malformed_rate: float = DEFAULT_MALFORMED_RATE
    duplicate_rate: float = DEFAULT_DUPLICATE_RATE
    late_rate: float = DEFAULT_LATE_RATE

    def day(self, date: dt.date) -> int:
        """The world's day index of a date (0 = the start date)."""
        return (date - self.start_date).days
