"""Load landing files into the DuckDB warehouse, exactly once per file.

Upstream systems drop files under ``<landing>/<source>/<table>/date=YYYY-MM-DD/``
(see ``scripts/landing_contract.py``). This loader copies every new file into
``raw.<source>_<table>``, where dbt reads it as a source, and keeps a ledger of
every load attempt in ``raw.ingestion_ledger``:

* a file is identified by its path (relative to the landing dir) and the sha256 of
  its bytes; a path+checksum already ``loaded`` is never loaded again, so running
  the loader twice adds nothing;
* a file that cannot be read (corrupt parquet, malformed JSON line, missing key
  column, a folder that is not in the contract...) is recorded ``failed`` with the
  reason and the other files still load; once the file is fixed (new bytes) the
  next run loads it. An unchanged failed file is not retried unless
  ``--retry-failed`` is given;
* a file that was loaded and whose bytes changed afterwards is NOT loaded again:
  it is recorded ``skipped_changed`` for a human to decide (restore the file, or
  delete its rows from the raw table and its ledger rows, then rerun);
* columns beyond the contract are added to the raw table as VARCHAR (and listed in
  the ledger's ``added_columns``); contract columns absent from a file load as
  NULL, except the table's key (first) column, whose absence fails the file;
* every value lands as text; rows get ``_source_file``, ``_file_row_number``
  (1-based) and ``_loaded_at`` (UTC, shared by the files committed together);
* file rows and their ledger rows commit in one transaction, so an interrupted
  run never leaves a half-loaded file. Parquet files of one table with the same
  schema load together in one statement; if that batch fails, its files are
  retried one by one so the ledger stays exact per file.

Usage::

    python scripts/load_sources.py --landing data/landing [--database PATH]

The database defaults to ``$SEGMENTS_DUCKDB_PATH``, else ``data/warehouse.duckdb``
in the repository; ``$SEGMENTS_DUCKDB_MEMORY_LIMIT`` (default ``3GB``, as in the dbt
profile) caps DuckDB's memory. Exit code 0 when the run completed (failed files are listed
and kept in the ledger), 2 for unusable arguments, 3 when the database cannot be
opened (e.g. locked by another process: DuckDB allows a single writer).
"""

from __future__ import annotations

import argparse
import hashlib
import os
import re
import sys
import time
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path

import duckdb

sys.path.insert(0, str(Path(__file__).resolve().parent))

import erasure  # noqa: E402
from folders import create_parent_folder  # noqa: E402
from landing_contract import (  # noqa: E402
    LANDING_FILE_SUFFIXES,
    LANDING_TABLES,
    LEDGER_TABLE,
    LOADER_COLUMNS,
    RAW_SCHEMA,
    TABLES_BY_DIR,
    LandingTable,
)
from serving import OWNER_ONLY  # noqa: E402

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DATABASE = REPO_ROOT / "data" / "warehouse.duckdb"
DATABASE_ENV_VAR = "SEGMENTS_DUCKDB_PATH"
# Same variable as the dbt profile; unset means DuckDB's default (80% of RAM).
MEMORY_LIMIT_ENV_VAR = "SEGMENTS_DUCKDB_MEMORY_LIMIT"
DEFAULT_MEMORY_LIMIT = "3GB"

PARTITION_DIR = re.compile(r"^date=(\d{4}-\d{2}-\d{2})$")
GLOB_CHARACTERS = set("*?[]{}")
# Upper bounds for one multi-file parquet statement (one transaction).
BATCH_MAX_FILES = 500
BATCH_MAX_ROWS = 50_000_000

# _source_file: path relative to the landing dir; _file_row_number: 1-based position in
# the file; _loaded_at: UTC time of the transaction that committed the row.
LOADER_COLUMN_TYPES = {
    "_source_file": "VARCHAR",
    "_file_row_number": "BIGINT",
    "_loaded_at": "TIMESTAMP",
}

LEDGER_DDL = f"""
CREATE TABLE IF NOT EXISTS {RAW_SCHEMA}.{LEDGER_TABLE} (
    source VARCHAR,
    table_name VARCHAR,
    file_path VARCHAR,
    checksum VARCHAR,
    file_bytes BIGINT,
    row_count BIGINT,
    status VARCHAR,
    error_message VARCHAR,
    added_columns VARCHAR,
    loaded_at TIMESTAMP
)
"""

LOADED, FAILED, SKIPPED_CHANGED = "loaded", "failed", "skipped_changed"
# Ledger rows that are not loads: rows of erased people dropped at load (``suppressed``)
# or deleted later by an erasure (``erased``, written by erasure.py).
SUPPRESSED = "suppressed"


class UsageError(Exception):
    """An argument the loader cannot work with (exit code 2)."""


class DatabaseUnavailable(Exception):
    """The warehouse cannot be opened, typically because another process holds it."""


class FileRejected(Exception):
    """A landing file that cannot be loaded; the message goes into the ledger."""


@dataclass
class LandingFile:
    """One file found under the landing directory."""

    path: Path
    rel_path: str
    source: str
    table_name: str
    contract: LandingTable | None
    layout_error: str | None
    file_bytes: int = 0
    checksum: str = ""
    # Filled while inspecting: column names as in the file, with their types.
    columns: list[tuple[str, str]] = field(default_factory=list)
    row_estimate: int = 0

    @property
    def is_parquet(self) -> bool:
        return self.path.suffix == ".parquet"


@dataclass
class RunSummary:
    loaded: list[tuple[LandingFile, int]] = field(default_factory=list)
    already_loaded: int = 0
    failed: list[tuple[LandingFile, str]] = field(default_factory=list)
    still_failed: list[tuple[LandingFile, str]] = field(default_factory=list)
    changed: list[tuple[LandingFile, str]] = field(default_factory=list)
    ignored: list[str] = field(default_factory=list)
    unknown_folders: set[str] = field(default_factory=set)
    added_columns: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    table_rows: dict[str, int] = field(default_factory=dict)
    # Loaded files whose bytes were already loaded under another path (a copied file?).
    same_bytes_as: list[tuple[str, str]] = field(default_factory=list)
    # Rows of erased people the loader dropped (the erasure suppression list).
    suppressed_rows: int = 0


def quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def quote_literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def raw_table_sql(table: LandingTable) -> str:
    return f"{RAW_SCHEMA}.{quote_ident(table.raw_table)}"


# --------------------------------------------------------------------------- setup


def connect(database: Path) -> duckdb.DuckDBPyConnection:
    create_parent_folder(database, DatabaseUnavailable, f"folder of database {database}")
    try:
        con = duckdb.connect(str(database))
    except duckdb.IOException as exc:
        message = str(exc).splitlines()[0]
        if "lock" in message.lower():
            raise DatabaseUnavailable(
                f"database {database} is in use by another process "
                f"(DuckDB allows one writer): {message}"
            ) from None
        raise DatabaseUnavailable(f"cannot open database {database}: {message}") from None
    except duckdb.Error as exc:
        raise DatabaseUnavailable(f"cannot open database {database}: {exc}") from None
    try:
        restrict_to_owner(database)
    except DatabaseUnavailable:
        con.close()
        raise
    con.execute("SET enable_progress_bar = false")
    memory_limit = os.environ.get(MEMORY_LIMIT_ENV_VAR) or DEFAULT_MEMORY_LIMIT
    if memory_limit:
        try:
            con.execute(f"SET memory_limit = {quote_literal(memory_limit)}")
        except duckdb.Error as exc:
            con.close()
            raise UsageError(
                f"{MEMORY_LIMIT_ENV_VAR}={memory_limit!r}: {first_line(exc)}"
            ) from None
    return con


def restrict_to_owner(database: Path) -> None:
    """Make the warehouse file readable and writable by its owner only (0600): it holds
    personal data in raw, staging and intermediate. A new file is created with the
    process's umask, an older one may predate this rule; both are tightened here."""
    try:
        if database.stat().st_mode & 0o777 != OWNER_ONLY:
            os.chmod(database, OWNER_ONLY)
    except OSError as exc:
        raise DatabaseUnavailable(
            f"cannot make database {database} owner-only (chmod 600): {exc.strerror or exc}"
        ) from None


def table_columns(con: duckdb.DuckDBPyConnection, table: LandingTable) -> dict[str, str]:
    """Columns of a raw table, keyed by lower-case name."""
    rows = con.execute(
        "SELECT column_name FROM information_schema.columns "
        "WHERE table_schema = ? AND table_name = ? ORDER BY ordinal_position",
        [RAW_SCHEMA, table.raw_table],
    ).fetchall()
    return {name.lower(): name for (name,) in rows}


def ensure_warehouse(con: duckdb.DuckDBPyConnection) -> None:
    """Create the raw schema, the ledger and every contract table (idempotent)."""
    con.execute(f"CREATE SCHEMA IF NOT EXISTS {RAW_SCHEMA}")
    con.execute(LEDGER_DDL)
    for table in LANDING_TABLES:
        column_defs = [f"{quote_ident(c)} VARCHAR" for c in table.columns]
        column_defs += [
            f"{name} {LOADER_COLUMN_TYPES[name]}" for name in LOADER_COLUMNS
        ]
        con.execute(
            f"CREATE TABLE IF NOT EXISTS {raw_table_sql(table)} ({', '.join(column_defs)})"
        )
        # A contract column added after the table was created.
        existing = table_columns(con, table)
        for column in table.columns:
            if column.lower() not in existing:
                con.execute(
                    f"ALTER TABLE {raw_table_sql(table)} ADD COLUMN {quote_ident(column)} VARCHAR"
                )


# ----------------------------------------------------------------------- discovery


def discover(landing: Path, summary: RunSummary) -> list[LandingFile]:
    """Every landing file with a landing suffix, sorted by path.

    Hidden or marker files (names starting with '.' or '_') are skipped silently;
    other suffixes are listed as ignored. Folders that are not contract tables are
    remembered so the summary names them even when empty.
    """
    files: list[LandingFile] = []
    for dirpath, dirnames, filenames in os.walk(landing):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith((".", "_")))
        rel_dir = Path(dirpath).relative_to(landing)
        if len(rel_dir.parts) == 2 and "/".join(rel_dir.parts) not in TABLES_BY_DIR:
            summary.unknown_folders.add(rel_dir.as_posix())
        for name in sorted(filenames):
            if name.startswith((".", "_")):
                continue
            path = Path(dirpath) / name
            rel_path = path.relative_to(landing).as_posix()
            if path.suffix not in LANDING_FILE_SUFFIXES:
                summary.ignored.append(rel_path)
                continue
            files.append(classify(path, rel_path))
    files.sort(key=lambda f: f.rel_path)
    return files


def classify(path: Path, rel_path: str) -> LandingFile:
    parts = rel_path.split("/")
    source = parts[0] if len(parts) > 1 else ""
    table_name = parts[1] if len(parts) > 2 else ""
    contract = TABLES_BY_DIR.get(f"{source}/{table_name}")
    layout_error = None
    if contract is None:
        known = ", ".join(sorted(TABLES_BY_DIR))
        layout_error = (
            f"unknown landing folder {source}/{table_name}: not in the landing contract "
            f"(known: {known})"
        )
    elif len(parts) != 4 or not PARTITION_DIR.match(parts[2]):
        layout_error = (
            "path does not follow <source>/<table>/date=YYYY-MM-DD/<file> "
            f"(got {rel_path})"
        )
    elif not _valid_date(PARTITION_DIR.match(parts[2]).group(1)):
        layout_error = f"invalid partition date in {parts[2]}"
    elif GLOB_CHARACTERS & set(parts[3]):
        layout_error = f"file name contains glob characters {''.join(sorted(GLOB_CHARACTERS))}"
    return LandingFile(path, rel_path, source, table_name, contract, layout_error)


def _valid_date(text: str) -> bool:
    try:
        datetime.strptime(text, "%Y-%m-%d")
    except ValueError:
        return False
    return True


def sha256_file(path: Path) -> tuple[str, int]:
    digest = hashlib.sha256()
    size = 0
    with open(path, "rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size


def fingerprint(files: list[LandingFile]) -> None:
    """Fill checksum and size; a file that cannot be read gets a layout error instead."""

    def measure(landing_file: LandingFile) -> None:
        try:
            landing_file.checksum, landing_file.file_bytes = sha256_file(landing_file.path)
        except OSError as exc:
            landing_file.layout_error = f"cannot read file: {exc.strerror or exc}"

    with ThreadPoolExecutor(max_workers=max(2, os.cpu_count() or 2)) as pool:
        list(pool.map(measure, files))


# -------------------------------------------------------------------------- ledger


def read_ledger(con: duckdb.DuckDBPyConnection) -> dict[str, dict[str, set[str]]]:
    """file_path -> checksum -> set of statuses recorded for it."""
    ledger: dict[str, dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
    for path, checksum, status in con.execute(
        f"SELECT DISTINCT file_path, checksum, status FROM {RAW_SCHEMA}.{LEDGER_TABLE}"
    ).fetchall():
        ledger[path][checksum].add(status)
    return ledger


def last_error(con: duckdb.DuckDBPyConnection, landing_file: LandingFile) -> str:
    row = con.execute(
        f"SELECT error_message FROM {RAW_SCHEMA}.{LEDGER_TABLE} "
        "WHERE file_path = ? AND checksum = ? ORDER BY loaded_at DESC LIMIT 1",
        [landing_file.rel_path, landing_file.checksum],
    ).fetchone()
    return row[0] if row and row[0] else ""


def record(
    con: duckdb.DuckDBPyConnection,
    landing_file: LandingFile,
    status: str,
    loaded_at: datetime,
    row_count: int | None = None,
    error: str | None = None,
    added_columns: list[str] | None = None,
) -> None:
    con.execute(
        f"INSERT INTO {RAW_SCHEMA}.{LEDGER_TABLE} VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            landing_file.source,
            landing_file.table_name,
            landing_file.rel_path,
            landing_file.checksum,
            landing_file.file_bytes,
            row_count,
            status,
            error,
            ", ".join(added_columns) if added_columns else None,
            loaded_at,
        ],
    )


# ---------------------------------------------------------------------- inspection


def inspect(con: duckdb.DuckDBPyConnection, landing_file: LandingFile) -> None:
    """Read the file's columns (and row count) without loading it.

    Raises FileRejected when the file cannot be read or lacks the key column.
    """
    path = quote_literal(str(landing_file.path))
    try:
        if landing_file.is_parquet:
            described = con.execute(
                f"DESCRIBE SELECT * FROM read_parquet({path}, hive_partitioning = false)"
            ).fetchall()
            landing_file.columns = [(row[0], row[1]) for row in described]
            landing_file.row_estimate = con.execute(
                f"SELECT num_rows FROM parquet_file_metadata({path})"
            ).fetchone()[0]
        else:
            landing_file.columns, landing_file.row_estimate = inspect_jsonl(con, path)
    except duckdb.Error as exc:
        raise FileRejected(f"unreadable {landing_file.path.suffix[1:]} file: {first_line(exc)}")

    contract = landing_file.contract
    key = contract.columns[0]
    names = [name.lower() for name, _ in landing_file.columns]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise FileRejected(f"columns differ only by case: {', '.join(duplicates)}")
    if key.lower() not in names and not (landing_file.row_estimate == 0 and not names):
        raise FileRejected(
            f"key column '{key}' missing "
            f"(file columns: {', '.join(n for n, _ in landing_file.columns)})"
        )


def inspect_jsonl(con: duckdb.DuckDBPyConnection, path: str) -> tuple[list[tuple[str, str]], int]:
    lines, first_bad = con.execute(
        f"SELECT count(*), min(ordinality) FILTER (WHERE json_type(json) <> 'OBJECT') "
        f"FROM read_ndjson_objects({path}, hive_partitioning = false) WITH ORDINALITY"
    ).fetchone()
    if first_bad is not None:
        raise FileRejected(f"record {first_bad} is not a JSON object")
    keys = con.execute(
        f"SELECT key FROM (SELECT unnest(json_keys(json)) AS key, ordinality "
        f"FROM read_ndjson_objects({path}, hive_partitioning = false) WITH ORDINALITY) "
        f"GROUP BY key ORDER BY min(ordinality), key"
    ).fetchall()
    return [(key, "VARCHAR") for (key,) in keys], lines


def first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


# ------------------------------------------------------------------------- loading


class Loader:
    """Loads inspected files of the contract tables, one transaction per unit."""

    def __init__(self, con: duckdb.DuckDBPyConnection, landing: Path, summary: RunSummary,
                 database: Path):
        self.con = con
        self.landing_prefix = str(landing) + os.sep
        self.summary = summary
        self._last_stamp = datetime.min
        self.suppression_salt = suppression_salt(con, database)

    def continue_after(self, previous: datetime | None) -> None:
        if previous is not None:
            self._last_stamp = max(self._last_stamp, previous)

    def stamp(self) -> datetime:
        """A UTC timestamp unique to one transaction, shared by its files."""
        now = datetime.now(timezone.utc).replace(tzinfo=None)
        if now <= self._last_stamp:
            now = self._last_stamp + timedelta(microseconds=1)
        self._last_stamp = now
        return now

    def evolve_schema(self, table: LandingTable, files: list[LandingFile]) -> dict[str, list[str]]:
        """Add file columns unknown to the raw table; returns new columns per file."""
        existing = table_columns(self.con, table)
        added: dict[str, list[str]] = {}
        for landing_file in files:
            for name, _ in landing_file.columns:
                if name.lower() not in existing:
                    self.con.execute(
                        f"ALTER TABLE {raw_table_sql(table)} ADD COLUMN {quote_ident(name)} VARCHAR"
                    )
                    existing[name.lower()] = name
                    added.setdefault(landing_file.rel_path, []).append(name)
        return added

    def select_list(self, landing_file: LandingFile) -> tuple[str, str]:
        """Target column list and matching select expressions for one schema."""
        targets, expressions = [], []
        for name, _ in landing_file.columns:
            targets.append(quote_ident(name))
            expressions.append(f"CAST({quote_ident(name)} AS VARCHAR)")
        return ", ".join(targets), ", ".join(expressions)

    def load_unit(self, table: LandingTable, files: list[LandingFile]) -> None:
        """Load files in one transaction with their ledger rows; raises on failure."""
        loaded_at = self.stamp()
        con = self.con
        # Parquet rows carry their own file_row_number, so their physical order is free
        # (much faster parallel inserts); JSON line numbers come from the scan order.
        con.execute(f"SET preserve_insertion_order = {'false' if files[0].is_parquet else 'true'}")
        con.execute("BEGIN TRANSACTION")
        try:
            added = self.evolve_schema(table, files)
            targets, expressions = self.select_list(files[0])
            if targets:
                targets += ", "
                expressions += ", "
            if files[0].is_parquet:
                paths = ", ".join(quote_literal(str(f.path)) for f in files)
                source_sql = (
                    f"read_parquet([{paths}], filename = true, file_row_number = true, "
                    f"hive_partitioning = false)"
                )
                source_file = f"substr(filename, {len(self.landing_prefix) + 1})"
                row_number = "file_row_number + 1"
            else:
                (only,) = files
                columns = ", ".join(
                    f"{quote_literal(name)}: 'VARCHAR'" for name, _ in only.columns
                )
                source_sql = (
                    f"read_json({quote_literal(str(only.path))}, "
                    f"format = 'newline_delimited', records = true, hive_partitioning = false, "
                    f"columns = {{{columns}}}) WITH ORDINALITY"
                    if columns
                    else "(SELECT NULL::BIGINT AS ordinality WHERE false)"
                )
                source_file = quote_literal(only.rel_path)
                row_number = "ordinality"
            con.execute(
                f"INSERT INTO {raw_table_sql(table)} "
                f"({targets}_source_file, _file_row_number, _loaded_at) "
                f"SELECT {expressions}{source_file}, {row_number}, ? FROM {source_sql}",
                [loaded_at],
            )
            counts = dict(
                con.execute(
                    f"SELECT _source_file, count(*) FROM {raw_table_sql(table)} "
                    f"WHERE _loaded_at = ? GROUP BY _source_file",
                    [loaded_at],
                ).fetchall()
            )
            unexpected = set(counts) - {f.rel_path for f in files}
            if unexpected:
                raise RuntimeError(f"rows attributed to unexpected files: {sorted(unexpected)}")
            suppressed = self.drop_suppressed_rows(table, loaded_at)
            for landing_file in files:
                new_columns = added.get(landing_file.rel_path)
                record(
                    con,
                    landing_file,
                    LOADED,
                    loaded_at,
                    row_count=counts.get(landing_file.rel_path, 0),
                    added_columns=new_columns,
                )
                if suppressed.get(landing_file.rel_path):
                    record(
                        con,
                        landing_file,
                        SUPPRESSED,
                        loaded_at,
                        row_count=suppressed[landing_file.rel_path],
                        error="rows of erased people dropped (privacy.erasure_suppressions)",
                    )
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise
        self.summary.suppressed_rows += sum(suppressed.values())
        for landing_file in files:
            self.summary.loaded.append((landing_file, counts.get(landing_file.rel_path, 0)))
            for column in added.get(landing_file.rel_path, []):
                self.summary.added_columns[table.raw_table].append(column)

    def drop_suppressed_rows(self, table: LandingTable, loaded_at: datetime) -> dict[str, int]:
        """Delete the rows just loaded that carry an erased person's email, phone, contact
        id or shop customer id (salted hashes in ``privacy.erasure_suppressions``, see
        ``erasure.py``); the rows dropped per file, which the ledger records."""
        if self.suppression_salt is None:
            return {}
        condition = erasure.suppressed_row_condition(table.raw_table)
        if condition is None:
            return {}
        parameters = {"salt": self.suppression_salt, "loaded_at": loaded_at}
        dropped = dict(
            self.con.execute(
                f"SELECT _source_file, count(*) FROM {raw_table_sql(table)} "
                f"WHERE _loaded_at = $loaded_at AND {condition} GROUP BY _source_file",
                parameters,
            ).fetchall()
        )
        if dropped:
            self.con.execute(
                f"DELETE FROM {raw_table_sql(table)} WHERE _loaded_at = $loaded_at AND {condition}",
                parameters,
            )
        return dropped

    def fail(self, landing_file: LandingFile, error: str) -> None:
        self.con.execute("BEGIN TRANSACTION")
        record(self.con, landing_file, FAILED, self.stamp(), error=error)
        self.con.execute("COMMIT")
        self.summary.failed.append((landing_file, error))

    def load_file(self, table: LandingTable, landing_file: LandingFile) -> None:
        try:
            self.load_unit(table, [landing_file])
        except (duckdb.Error, FileRejected, RuntimeError) as exc:
            self.fail(landing_file, f"load failed: {first_line(exc)}")

    def load_table(self, table: LandingTable, files: list[LandingFile]) -> None:
        """Load a table's new, inspected files: parquet in same-schema batches."""
        batches: dict[tuple, list[LandingFile]] = defaultdict(list)
        for landing_file in files:
            if landing_file.is_parquet:
                batches[tuple(landing_file.columns)].append(landing_file)
            else:
                self.load_file(table, landing_file)
        for batch in batches.values():
            for chunk in chunked(batch):
                if len(chunk) == 1:
                    self.load_file(table, chunk[0])
                    continue
                try:
                    self.load_unit(table, chunk)
                except (duckdb.Error, RuntimeError):
                    # One bad file spoils the statement: retry file by file.
                    for landing_file in chunk:
                        self.load_file(table, landing_file)


def suppression_salt(con: duckdb.DuckDBPyConnection, database: Path) -> str | None:
    """The erasure salt when the warehouse has a suppression list, else None."""
    if not erasure.relation_exists(con, f"{erasure.PRIVACY_SCHEMA}.erasure_suppressions"):
        return None
    if not con.execute(f"SELECT count(*) FROM {erasure.PRIVACY_SCHEMA}.erasure_suppressions").fetchone()[0]:
        return None
    return erasure.salt_for(database)


def chunked(files: list[LandingFile]) -> list[list[LandingFile]]:
    chunks: list[list[LandingFile]] = []
    current: list[LandingFile] = []
    rows = 0
    for landing_file in files:
        if current and (
            len(current) >= BATCH_MAX_FILES or rows + landing_file.row_estimate > BATCH_MAX_ROWS
        ):
            chunks.append(current)
            current, rows = [], 0
        current.append(landing_file)
        rows += landing_file.row_estimate
    if current:
        chunks.append(current)
    return chunks


# ----------------------------------------------------------------------------- run


def run(landing: Path, database: Path, retry_failed: bool = False) -> RunSummary:
    """Load every new landing file; returns what happened."""
    if not landing.is_dir():
        raise UsageError(f"landing directory {landing} does not exist or is not a directory")
    # Absolute paths go to DuckDB; rows and ledger keep the path relative to the landing dir.
    landing = landing.resolve()
    con = connect(database)
    try:
        ensure_warehouse(con)
        summary = RunSummary()
        files = discover(landing, summary)
        fingerprint(files)
        ledger = read_ledger(con)
        loader = Loader(con, landing, summary, database)
        # Transaction stamps stay unique even if the clock went back since the last run.
        loader.continue_after(con.execute(
            f"SELECT max(loaded_at) FROM {RAW_SCHEMA}.{LEDGER_TABLE}"
        ).fetchone()[0])

        to_load: dict[str, list[LandingFile]] = defaultdict(list)
        for landing_file in files:
            history = ledger.get(landing_file.rel_path, {})
            statuses = history.get(landing_file.checksum, set())
            if LOADED in statuses:
                summary.already_loaded += 1
                continue
            loaded_before = any(LOADED in s for s in history.values())
            if loaded_before:
                message = (
                    "file changed after it was loaded (checksum differs from the loaded "
                    "version): not loaded again to avoid double rows; restore the file, "
                    "or delete its rows and ledger entries to reload it"
                )
                if SKIPPED_CHANGED not in statuses:
                    con.execute("BEGIN TRANSACTION")
                    record(con, landing_file, SKIPPED_CHANGED, loader.stamp(), error=message)
                    con.execute("COMMIT")
                summary.changed.append((landing_file, message))
                continue
            if FAILED in statuses and not retry_failed:
                summary.still_failed.append((landing_file, last_error(con, landing_file)))
                continue
            if landing_file.layout_error:
                loader.fail(landing_file, landing_file.layout_error)
                continue
            try:
                inspect(con, landing_file)
            except FileRejected as exc:
                loader.fail(landing_file, str(exc))
                continue
            to_load[landing_file.contract.landing_dir].append(landing_file)

        for table in LANDING_TABLES:
            if to_load.get(table.landing_dir):
                loader.load_table(table, to_load[table.landing_dir])
        loaded_paths_by_checksum = {
            checksum: path
            for path, history in ledger.items()
            for checksum, statuses in history.items()
            if LOADED in statuses
        }
        for landing_file, _ in summary.loaded:
            earlier = loaded_paths_by_checksum.setdefault(
                landing_file.checksum, landing_file.rel_path
            )
            if earlier != landing_file.rel_path:
                summary.same_bytes_as.append((landing_file.rel_path, earlier))
        summary.table_rows = {
            table.raw_table: con.execute(
                f"SELECT count(*) FROM {raw_table_sql(table)}"
            ).fetchone()[0]
            for table in LANDING_TABLES
        }
        con.execute("CHECKPOINT")
        return summary
    finally:
        con.close()


def format_summary(summary: RunSummary, seconds: float) -> str:
    loaded_rows: dict[str, int] = defaultdict(int)
    loaded_files: dict[str, int] = defaultdict(int)
    for landing_file, rows in summary.loaded:
        loaded_rows[landing_file.contract.raw_table] += rows
        loaded_files[landing_file.contract.raw_table] += 1
    lines = [
        f"files loaded: {len(summary.loaded)}, "
        f"already loaded (skipped): {summary.already_loaded}, "
        f"failed: {len(summary.failed)}, "
        f"failed earlier and unchanged: {len(summary.still_failed)}, "
        f"changed after load (skipped_changed): {len(summary.changed)} "
        f"[{seconds:.1f}s]",
        f"{'raw table':<28}{'files':>8}{'rows loaded':>14}{'rows total':>14}",
    ]
    for table in LANDING_TABLES:
        name = table.raw_table
        lines.append(
            f"{RAW_SCHEMA + '.' + name:<28}{loaded_files[name]:>8}{loaded_rows[name]:>14,}"
            f"{summary.table_rows[name]:>14,}"
        )
    if summary.suppressed_rows:
        lines.append(
            f"rows of erased people dropped (suppression list): {summary.suppressed_rows:,}"
        )
    for name, columns in summary.added_columns.items():
        names = ", ".join(dict.fromkeys(columns))
        lines.append(f"new columns added to {RAW_SCHEMA}.{name}: {names}")
    for rel_path, earlier in summary.same_bytes_as:
        lines.append(f"note: {rel_path} has the same bytes as {earlier}, loaded too")
    for folder in sorted(summary.unknown_folders):
        lines.append(f"unknown landing folder (not in the contract): {folder}")
    for landing_file, error in summary.failed:
        lines.append(f"FAILED {landing_file.rel_path}: {error}")
    for landing_file, error in summary.still_failed:
        lines.append(
            f"FAILED earlier, unchanged (use --retry-failed): {landing_file.rel_path}: {error}"
        )
    for landing_file, _ in summary.changed:
        lines.append(f"SKIPPED_CHANGED {landing_file.rel_path}: changed after it was loaded")
    for rel_path in summary.ignored:
        lines.append(f"ignored (not {'/'.join(LANDING_FILE_SUFFIXES)}): {rel_path}")
    return "\n".join(lines)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--landing", required=True, type=Path, help="landing directory")
    parser.add_argument(
        "--database",
        type=Path,
        default=Path(os.environ.get(DATABASE_ENV_VAR) or DEFAULT_DATABASE),
        help=f"DuckDB file (default: ${DATABASE_ENV_VAR}, else data/warehouse.duckdb)",
    )
    parser.add_argument(
        "--retry-failed",
        action="store_true",
        help="retry files that failed before even if their bytes did not change",
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    started = time.perf_counter()
    try:
        summary = run(args.landing, args.database, retry_failed=args.retry_failed)
    except UsageError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except DatabaseUnavailable as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 3
    print(format_summary(summary, time.perf_counter() - started))
    return 0


if __name__ == "__main__":
    sys.exit(main())
