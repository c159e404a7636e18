"""What a source produces for one simulated day, before landing and mess."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from landing_contract import table_for


@dataclass
class Rows:
    """Rows a table gets from one simulated day, before landing and mess."""

    table: pa.Table
    occurred_ts: np.ndarray  # when each row happened (drives its landing date)
    parent: np.ndarray | None = None  # order_lines: index of their 'placed' order row


def make_table(key: str, columns: dict[str, pa.Array]) -> pa.Table:
    """A table with exactly the contract's columns, in its order, all text."""
    contract = table_for(*key.split("/"))
    assert tuple(columns) == contract.columns, (key, tuple(columns))
    assert all(a.type in (pa.string(), pa.large_string()) for a in columns.values()), key
    return pa.table(columns)
