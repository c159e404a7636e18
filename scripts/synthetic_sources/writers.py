"""Landing files: one Parquet file per table and landing date, written atomically."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pyarrow as pa

from landing_contract import partition_dir, write_parquet

PART_FILE = "part-0.parquet"


def write_partition(out: Path, key: str, date: dt.date, tables: list[pa.Table]) -> int:
    """Write ``<out>/<key>/date=YYYY-MM-DD/part-0.parquet`` from the tables' rows, in
    order, and return its row count; an empty partition writes no file."""
    table = pa.concat_tables(tables)
    if table.num_rows == 0:
        return 0
    write_parquet(table, out / key / partition_dir(date) / PART_FILE)
    return table.num_rows
