"""Random draws: one RNG per (seed, date, stream), stateless hashes, times of day."""

from __future__ import annotations

import zlib

import numpy as np

WEB_HOUR_WEIGHTS = np.array([2, 1.5, 1, 1, 1, 1.5, 2.5, 4, 5, 5.5, 5.5, 6, 6.5, 6, 6, 6,
                             6, 6.5, 7.5, 8.5, 9, 8, 6, 3.5])
BUSINESS_HOUR_WEIGHTS = np.array([0.2] * 7 + [3, 6, 8, 8, 7, 5, 7, 8, 8, 6, 3] + [0.2] * 6)


def rng_for(seed: int, day_ordinal: int, stream: str) -> np.random.Generator:
    """The RNG of one (seed, date, table/stream) triple."""
    return np.random.default_rng([seed, day_ordinal, zlib.crc32(stream.encode())])


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
