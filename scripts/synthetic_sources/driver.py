"""Simulate the days a run needs and write their landing files.

A day's activity may land up to ``SPILL_DAYS`` later (order refunds, late rows,
redeliveries), so writing one landing date replays the days before it; rows that land
outside the dates being written are dropped here and written by the run that covers
their date, so every row lands in exactly one partition.
"""

from __future__ import annotations

from collections import defaultdict
from concurrent.futures import Future, ThreadPoolExecutor

import numpy as np
import pyarrow as pa

from landing_contract import LANDING_TABLES

from .config import SPILL_DAYS, Config
from .landing import simulate_day
from .world import World
from .writers import write_partition


def generate(cfg: Config) -> dict[str, int]:
    """Write the landing dates ``cfg.first_date`` .. ``cfg.last_date``; rows per table."""
    first_write, last_write = cfg.day(cfg.first_date), cfg.day(cfg.last_date)
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
