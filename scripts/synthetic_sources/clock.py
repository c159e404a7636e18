"""The world's calendar: day indexes, dates, epoch seconds and the RNG of each day."""

from __future__ import annotations

import datetime as dt

import numpy as np

from .config import DAY
from .draws import rng_for


class Clock:
    """Day 0 is the world's start date (its first landing date), at 00:00 UTC."""

    def __init__(self, seed: int, start: dt.date):
        self.seed = seed
        self.start = start
        self.start_epoch = int(dt.datetime(self.start.year, self.start.month, self.start.day,
                                           tzinfo=dt.timezone.utc).timestamp())

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
