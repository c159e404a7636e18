"""Text columns built from NumPy arrays without Python loops: every landed value is text.

Ids, numbers, money, timestamps and dates become Arrow string arrays; the sources
assemble their tables from these.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

# Byte value -> its two lowercase hex characters, as one uint16 per byte value.
_HEX_PAIRS = np.array([[ord(a), ord(b)] for a in "0123456789abcdef" for b in "0123456789abcdef"],
                      dtype=np.uint8).view(np.uint16).ravel()


def strings_from_matrix(mat: np.ndarray) -> pa.Array:
    """Rows of a (n, width) uint8 ASCII matrix as a string array, without copies."""
    n, width = mat.shape
    data = np.ascontiguousarray(mat).reshape(-1)
    offsets = np.arange(n + 1, dtype=np.int64) * width
    if data.size < 2**31 - 1:
        return pa.Array.from_buffers(pa.string(), n, [None, pa.py_buffer(offsets.astype(np.int32)),
                                                      pa.py_buffer(data)])
    return pa.Array.from_buffers(pa.large_string(), n, [None, pa.py_buffer(offsets),
                                                        pa.py_buffer(data)])


def hex_matrix(raw: np.ndarray) -> np.ndarray:
    """(n, b) bytes -> (n, 2b) lowercase hex ASCII."""
    return np.take(_HEX_PAIRS, raw).view(np.uint8).reshape(raw.shape[0], raw.shape[1] * 2)


def random_bytes(rng: np.random.Generator, n: int, width: int) -> np.ndarray:
    return np.frombuffer(rng.bytes(n * width), np.uint8).reshape(n, width).copy()


def random_ids(rng: np.random.Generator, n: int, prefix: str, nbytes: int) -> pa.Array:
    """Ids like 'ev_3fa9...' from ``nbytes`` random bytes."""
    head = np.frombuffer(prefix.encode(), np.uint8)
    mat = np.empty((n, head.size + 2 * nbytes), np.uint8)
    mat[:, : head.size] = head
    mat[:, head.size:] = hex_matrix(random_bytes(rng, n, nbytes))
    return strings_from_matrix(mat)


def random_uuids(rng: np.random.Generator, n: int) -> pa.Array:
    raw = random_bytes(rng, n, 16)
    raw[:, 6] = (raw[:, 6] & 0x0F) | 0x40
    raw[:, 8] = (raw[:, 8] & 0x3F) | 0x80
    h = hex_matrix(raw)
    mat = np.full((n, 36), ord("-"), np.uint8)
    for dst, src in ((0, 0), (9, 8), (14, 12), (19, 16), (24, 20)):
        width = 8 if dst == 0 else (12 if dst == 24 else 4)
        mat[:, dst:dst + width] = h[:, src:src + width]
    return strings_from_matrix(mat)


def vocab(values) -> pa.Array:
    return pa.array(list(values), pa.string())


def pick(values, idx) -> pa.Array:
    """values[idx] as a string array (values: a sequence of str or a string array)."""
    arr = values if isinstance(values, (pa.Array, pa.ChunkedArray)) else vocab(values)
    return arr.take(pa.array(np.asarray(idx, dtype=np.int64)))


def num_text(a) -> pa.Array:
    return pc.cast(pa.array(np.asarray(a, dtype=np.int64)), pa.string())


def zero_pad(a, width: int) -> pa.Array:
    return pc.utf8_lpad(num_text(a), width=width, padding="0")


def concat(*parts) -> pa.Array:
    return pc.binary_join_element_wise(*parts, "")


def money_text(cents) -> pa.Array:
    cents = np.asarray(cents, dtype=np.int64)
    return concat(num_text(cents // 100), ".", zero_pad(cents % 100, 2))


def sql_timestamp_text(ts) -> pa.Array:
    """'YYYY-MM-DD HH:MM:SS' for epoch seconds."""
    return pc.cast(pa.array(np.asarray(ts, dtype=np.int64), pa.timestamp("s")), pa.string())


def iso_text(ts, suffix) -> pa.Array:
    """'YYYY-MM-DDTHH:MM:SS' + suffix; ``ts`` must already be in the suffix's offset."""
    return concat(pc.utf8_replace_slice(sql_timestamp_text(ts), 10, 11, "T"), suffix)


def date_text(days_since_epoch) -> pa.Array:
    return pc.cast(pa.array(np.asarray(days_since_epoch, dtype=np.int32), pa.date32()), pa.string())


def where_text(mask, values: pa.Array, other: str = "") -> pa.Array:
    return pc.if_else(pa.array(np.asarray(mask, dtype=bool)), values, other)


def empty_text(n: int) -> pa.Array:
    """n empty strings, without allocating any character data."""
    return pa.Array.from_buffers(pa.string(), n, [None, pa.py_buffer(np.zeros(n + 1, np.int32)),
                                                  pa.py_buffer(b"")])


def sparse_text(mask: np.ndarray, source: pa.Array, idx: np.ndarray) -> pa.Array:
    """source[idx] where mask holds, '' elsewhere; only the masked rows are gathered."""
    mask = np.asarray(mask, dtype=bool)
    out = empty_text(mask.size)
    if not mask.any():
        return out
    return pc.replace_with_mask(out, pa.array(mask), source.take(pa.array(np.asarray(idx)[mask])))
