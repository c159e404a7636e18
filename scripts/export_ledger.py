"""The export ledger: what was sent to which destination, so every change is sent once.

``scripts/export_audiences.py`` keeps it in ``export_ledger.duckdb`` in the exports folder
(``$SEGMENTS_EXPORTS_PATH``, else ``exports/`` beside the warehouse), a DuckDB file created
owner-only (0600: it holds the keys destinations match people on). Tables:

- ``export_runs``: one row per audience run and destination: run id, audience, channel,
  destination and its type, mode (``full`` or ``changes``), the as_of day and the build
  that published the data read, counts (eligible, members, holdout, added, removed,
  changed, skipped), excluded and skipped counts by reason (JSON), status (``running``,
  ``succeeded``, ``partial`` when a webhook dead-lettered changes, ``failed``), the error,
  the freshness-gate override, started and finished.
- ``export_files``: each file a run wrote, with its sha256 and row count.
- ``delivered_state``: the last state delivered per destination x audience x customer:
  the hash of the attributes sent and the ``match_key`` a removal needs (JSON; hashed where
  the platform matches on hashes, see ``export_audiences.match_key``).
- ``pending_removals``: removals owed to a destination for people no longer in the
  contacts (an erasure turned their delivered state into these; only the match key is
  kept, no customer id unless the destination is keyed by it).
- ``run_changes``: each change delivered (added / changed / removed) per run, destination
  and customer; the frequency cap counts the additions.
- ``run_memberships``: audience x run x customer: ``member``, ``holdout`` or ``excluded``
  with its reason, so holdouts are on record for measurement.

The delivered state changes only in the transaction that marks a file complete (or a
webhook batch acknowledged), so a failed run leaves the changes pending and the next run
sends them. ``erase_subjects`` is called by ``scripts/erasure.py`` before it rewrites the
export files: it turns the subject's delivered state into pending removals and deletes
the subject from every other ledger table.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import duckdb

LEDGER_FILE_NAME = "export_ledger.duckdb"
OWNER_ONLY = 0o600

DDL = (
    """create table if not exists export_runs (
        run_id varchar not null,
        audience_key varchar not null,
        channel varchar,
        destination_key varchar not null,
        destination_type varchar not null,
        mode varchar not null,
        status varchar not null,
        as_of date,
        build_number integer,
        build_fingerprint varchar,
        published_at timestamp,
        gate_override varchar,
        eligible_count integer,
        member_count integer,
        holdout_count integer,
        added_count integer,
        removed_count integer,
        changed_count integer,
        skipped_count integer,
        excluded_counts varchar,
        skipped_counts varchar,
        error varchar,
        started_at timestamp not null,
        finished_at timestamp,
        primary key (run_id, destination_key)
    )""",
    """create table if not exists export_files (
        run_id varchar not null,
        destination_key varchar not null,
        file_path varchar not null,
        sha256 varchar not null,
        row_count integer not null,
        byte_count bigint not null
    )""",
    """create table if not exists delivered_state (
        destination_key varchar not null,
        audience_key varchar not null,
        customer_id varchar not null,
        attribute_hash varchar not null,
        match_key varchar not null,
        run_id varchar not null,
        delivered_at timestamp not null,
        primary key (destination_key, audience_key, customer_id)
    )""",
    """create table if not exists pending_removals (
        destination_key varchar not null,
        audience_key varchar not null,
        removal_key varchar not null,
        match_key varchar not null,
        reason varchar not null,
        created_at timestamp not null,
        primary key (destination_key, audience_key, removal_key)
    )""",
    """create table if not exists run_changes (
        run_id varchar not null,
        destination_key varchar not null,
        audience_key varchar not null,
        channel varchar,
        customer_id varchar,
        change_kind varchar not null,
        idempotency_key varchar not null,
        delivered_at timestamp not null
    )""",
    """create table if not exists run_memberships (
        run_id varchar not null,
        audience_key varchar not null,
        customer_id varchar not null,
        membership varchar not null,
        exclusion_reason varchar,
        primary key (run_id, customer_id)
    )""",
)


class LedgerUnavailable(Exception):
    """The ledger file cannot be opened (another export holds it) or written."""


@dataclass(frozen=True)
class Delivered:
    """The state a destination holds for one customer of one audience."""

    attribute_hash: str
    match_key: dict[str, str]


@dataclass(frozen=True)
class DeliveredChange:
    """A change that reached a destination: what the ledger records for it."""

    kind: str  # added | changed | removed
    customer_id: str | None
    idempotency_key: str
    attribute_hash: str | None = None
    match_key: dict[str, str] | None = None
    removal_key: str | None = None  # set for a pending removal of an erased person


def utc_now() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None)


def ledger_path(exports: Path) -> Path:
    return Path(exports) / LEDGER_FILE_NAME


def removal_key_of(destination_key: str, audience_key: str, match_key: dict[str, str]) -> str:
    """A pending removal's stable key (no customer id needed)."""
    text = json.dumps([destination_key, audience_key, match_key], sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()


@contextmanager
def owner_only() -> Iterator[None]:
    """Create files and folders owner-only while the block runs (umask 0077): the export
    files, the ledger and its write-ahead log hold personal data."""
    previous = os.umask(0o077)
    try:
        yield
    finally:
        os.umask(previous)


def open_ledger(exports: Path, read_only: bool = False) -> duckdb.DuckDBPyConnection | None:
    """The ledger, created owner-only on first use. Read-only: None when it does not exist
    (a dry run before any export)."""
    path = ledger_path(exports)
    if read_only and not path.is_file():
        return None
    try:
        if read_only:
            return duckdb.connect(str(path), read_only=True)
        with owner_only():
            path.parent.mkdir(parents=True, exist_ok=True)
            con = duckdb.connect(str(path))
        os.chmod(path, OWNER_ONLY)
    except OSError as exc:
        raise LedgerUnavailable(f"cannot create the export ledger {path}: {exc.strerror or exc}") from None
    except duckdb.Error as exc:
        message = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise LedgerUnavailable(f"cannot open the export ledger {path} (another export running?): {message}") from None
    for ddl in DDL:
        con.execute(ddl)
    return con


# ----------------------------------------------------------------------------- reads


def delivered_state(con: duckdb.DuckDBPyConnection | None, destination_key: str,
                    audience_key: str) -> dict[str, Delivered]:
    if con is None:
        return {}
    rows = con.execute(
        "select customer_id, attribute_hash, match_key from delivered_state "
        "where destination_key = ? and audience_key = ?", [destination_key, audience_key]).fetchall()
    return {customer: Delivered(digest, json.loads(key)) for customer, digest, key in rows}


def delivered_customers(con: duckdb.DuckDBPyConnection | None, audience_key: str) -> set[str]:
    """Customers delivered to at least one destination of an audience."""
    if con is None:
        return set()
    return {customer for (customer,) in con.execute(
        "select distinct customer_id from delivered_state where audience_key = ?", [audience_key]).fetchall()}


def pending_removals(con: duckdb.DuckDBPyConnection | None, destination_key: str,
                     audience_key: str) -> list[tuple[str, dict[str, str]]]:
    if con is None:
        return []
    rows = con.execute(
        "select removal_key, match_key from pending_removals where destination_key = ? and audience_key = ? "
        "order by removal_key", [destination_key, audience_key]).fetchall()
    return [(key, json.loads(match)) for key, match in rows]


def change_counts(con: duckdb.DuckDBPyConnection | None, destination_key: str,
                  audience_key: str) -> dict[str, int]:
    """Per customer, the changes delivered so far to a destination for an audience."""
    if con is None:
        return {}
    return dict(con.execute(
        "select customer_id, count(*) from run_changes where destination_key = ? and audience_key = ? "
        "and customer_id is not null group by 1", [destination_key, audience_key]).fetchall())


def delivered_keys(con: duckdb.DuckDBPyConnection | None, destination_key: str, audience_key: str) -> set[str]:
    """The idempotency keys of the changes delivered so far to a destination for an audience."""
    if con is None:
        return set()
    return {key for (key,) in con.execute(
        "select idempotency_key from run_changes where destination_key = ? and audience_key = ?",
        [destination_key, audience_key]).fetchall()}


def additions_within(con: duckdb.DuckDBPyConnection | None, channel: str, since: datetime) -> dict[str, int]:
    """Per customer, the audience runs of ``channel`` since ``since`` that added them to a
    destination (the frequency cap)."""
    if con is None:
        return {}
    return dict(con.execute(
        "select customer_id, count(distinct run_id) from run_changes "
        "where channel = ? and change_kind = 'added' and delivered_at >= ? and customer_id is not null "
        "group by 1", [channel, since]).fetchall())


def last_success(con: duckdb.DuckDBPyConnection | None, audience_key: str,
                 destination_key: str) -> datetime | None:
    """When the newest succeeded run of an audience to a destination started."""
    if con is None:
        return None
    return con.execute(
        "select max(started_at) from export_runs where audience_key = ? and destination_key = ? "
        "and status = 'succeeded'", [audience_key, destination_key]).fetchone()[0]


# ---------------------------------------------------------------------------- writes


def start_run(con: duckdb.DuckDBPyConnection, run: dict[str, Any]) -> None:
    """Record a run as running before anything is delivered."""
    columns = list(run)
    con.execute(
        f"insert into export_runs ({', '.join(columns)}, status, started_at) "
        f"values ({', '.join('?' for _ in columns)}, 'running', ?)",
        [*run.values(), utc_now()],
    )


def record_memberships(con: duckdb.DuckDBPyConnection, run_id: str, audience_key: str,
                       rows: Iterable[tuple[str, str, str | None]]) -> None:
    """(customer_id, membership, exclusion_reason) rows of one audience run."""
    rows = [[run_id, audience_key, customer, membership, reason] for customer, membership, reason in rows]
    if rows:
        con.executemany("insert or replace into run_memberships values (?, ?, ?, ?, ?)", rows)


def apply_delivered(con: duckdb.DuckDBPyConnection, run_id: str, destination_key: str,
                    audience_key: str, channel: str, changes: list[DeliveredChange]) -> None:
    """Move the delivered state forward by ``changes`` (one transaction with the caller's
    other statements when it opened one)."""
    now = utc_now()
    upserts = [[destination_key, audience_key, change.customer_id, change.attribute_hash,
                json.dumps(change.match_key, sort_keys=True), run_id, now]
               for change in changes if change.kind in ("added", "changed")]
    if upserts:
        con.executemany("insert or replace into delivered_state values (?, ?, ?, ?, ?, ?, ?)", upserts)
    for change in changes:
        if change.kind != "removed":
            continue
        if change.removal_key is not None:
            con.execute("delete from pending_removals where destination_key = ? and audience_key = ? "
                        "and removal_key = ?", [destination_key, audience_key, change.removal_key])
        else:
            con.execute("delete from delivered_state where destination_key = ? and audience_key = ? "
                        "and customer_id = ?", [destination_key, audience_key, change.customer_id])
    rows = [[run_id, destination_key, audience_key, channel, change.customer_id, change.kind,
             change.idempotency_key, now] for change in changes]
    if rows:
        con.executemany("insert into run_changes values (?, ?, ?, ?, ?, ?, ?, ?)", rows)


def record_files(con: duckdb.DuckDBPyConnection, run_id: str, destination_key: str,
                 files: list[tuple[str, str, int, int]]) -> None:
    """(path, sha256, rows, bytes) of each file a run wrote."""
    if files:
        con.executemany("insert into export_files values (?, ?, ?, ?, ?, ?)",
                        [[run_id, destination_key, *file] for file in files])


def finish_run(con: duckdb.DuckDBPyConnection, run_id: str, destination_key: str, status: str,
               counts: dict[str, Any], error: str | None = None) -> None:
    assignments = ", ".join(f"{column} = ?" for column in counts)
    con.execute(
        f"update export_runs set status = ?, error = ?, finished_at = ?"
        f"{', ' + assignments if assignments else ''} where run_id = ? and destination_key = ?",
        [status, error, utc_now(), *counts.values(), run_id, destination_key],
    )


def commit_delivery(con: duckdb.DuckDBPyConnection, run_id: str, destination_key: str,
                    audience_key: str, channel: str, changes: list[DeliveredChange],
                    files: list[tuple[str, str, int, int]], status: str | None = None,
                    counts: dict[str, Any] | None = None) -> None:
    """The delivered state, the files and (with ``status``) the run's end, in one transaction."""
    con.execute("begin transaction")
    try:
        apply_delivered(con, run_id, destination_key, audience_key, channel, changes)
        record_files(con, run_id, destination_key, files)
        if status is not None:
            finish_run(con, run_id, destination_key, status, counts or {})
        con.execute("commit")
    except BaseException:
        con.execute("rollback")
        raise


# --------------------------------------------------------------------------- erasure


def erase_subjects(exports: Path, subjects: list[tuple[set[str], set[str]]]) -> int:
    """For each erased subject, given as (customer ids, every value and hash they may
    appear as in an export, lower case: ``erasure.export_values``): turn their delivered
    state into pending removals that keep only the match key, and delete them from every
    other ledger table. Returns the delivered rows turned into removals. Nothing to do
    without a ledger. Idempotent: a rerun finds nothing left."""
    if not ledger_path(exports).is_file() or not subjects:
        return 0
    with owner_only():
        return _erase_subjects(exports, subjects)


def _erase_subjects(exports: Path, subjects: list[tuple[set[str], set[str]]]) -> int:
    con = open_ledger(exports)
    converted = 0
    try:
        con.execute("begin transaction")
        # Read once; each subject's matched rows leave this list as they leave the table.
        rows = con.execute(
            "select destination_key, audience_key, customer_id, match_key from delivered_state").fetchall()
        for customer_ids, values in subjects:
            customers = {value for value in customer_ids if value}
            matched = [
                (destination, audience, customer, json.loads(key)) for destination, audience, customer, key in rows
                if customer in customers or customer.lower() in values
                or any(str(part).strip().lower() in values for part in json.loads(key).values() if part)
            ]
            customers |= {customer for _, _, customer, _ in matched}
            now = utc_now()
            for destination, audience, customer, key in matched:
                con.execute("insert or ignore into pending_removals values (?, ?, ?, ?, 'erased', ?)",
                            [destination, audience, removal_key_of(destination, audience, key),
                             json.dumps(key, sort_keys=True), now])
                con.execute("delete from delivered_state where destination_key = ? and audience_key = ? "
                            "and customer_id = ?", [destination, audience, customer])
            converted += len(matched)
            done = {(destination, audience, customer) for destination, audience, customer, _ in matched}
            rows = [row for row in rows if tuple(row[:3]) not in done]
            for table in ("run_changes", "run_memberships"):
                for customer in sorted(customers):
                    con.execute(f"delete from {table} where customer_id = ?", [customer])
        con.execute("commit")
    except BaseException:
        con.execute("rollback")
        raise
    finally:
        con.close()
    return converted
