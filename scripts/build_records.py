"""The warehouse side of the scheduled build: the loader's ledger and the build records.

The gate reads the ledger and its own records on a read-only connection to the warehouse
(``$SEGMENTS_DUCKDB_PATH``, else ``data/warehouse.duckdb``, relative to the project), and
records each attempt in ``ops.scheduled_builds``: before dbt starts, and dbt's exit code
when it ends. It writes only while dbt is not running (DuckDB allows one writer). A lock
held by another process is reported with that process's command line
(``duckdb_lock.py``).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import duckdb

from build_errors import UsageError, WarehouseUnavailable, first_line
from duckdb_lock import describe_lock_conflict
from run_parameters import (
    ACCOUNTED_AFTER_VAR,
    CHECKED_BUILD_VAR,
    TIMESTAMP_VAR_FORMAT,
    canonical,
    is_whole_project_build,
)

DATABASE_ENV_VAR = "SEGMENTS_DUCKDB_PATH"
DEFAULT_DATABASE = "data/warehouse.duckdb"
LEDGER_TABLE = "raw.ingestion_ledger"
RECORD_SCHEMA = "ops"
RECORD_TABLE = f"{RECORD_SCHEMA}.scheduled_builds"
RECORD_DDL = f"""
CREATE TABLE IF NOT EXISTS {RECORD_TABLE} (
    build_number INTEGER,
    fingerprint VARCHAR,
    fingerprint_parts VARCHAR,
    dbt_command VARCHAR,
    started_at TIMESTAMP,
    finished_at TIMESTAMP,
    duration_seconds DOUBLE,
    dbt_exit_code INTEGER
)
"""


@dataclass
class LastBuild:
    build_number: int
    fingerprint: str
    parts: dict[str, Any]
    started_at: datetime
    exit_code: int | None


def warehouse_path(project_dir: Path) -> Path:
    """The warehouse file dbt will use: the profile's path is relative to the project."""
    path = Path(os.environ.get(DATABASE_ENV_VAR) or DEFAULT_DATABASE)
    path = path if path.is_absolute() else project_dir / path
    if path.exists() and not path.is_file():
        raise UsageError(f"warehouse path {path} (${DATABASE_ENV_VAR}) is not a file")
    return path


def open_warehouse(database: Path, read_only: bool) -> duckdb.DuckDBPyConnection:
    try:
        if not read_only:
            database.parent.mkdir(parents=True, exist_ok=True)
        return duckdb.connect(str(database), read_only=read_only)
    except OSError as exc:
        raise WarehouseUnavailable(
            f"cannot create the folder of warehouse {database}: {exc.strerror or exc}"
        ) from None
    except duckdb.Error as exc:
        message = first_line(exc)
        holder = describe_lock_conflict(message, database)
        if holder is not None:
            raise WarehouseUnavailable(
                f"warehouse {database} is in use, {holder}; DuckDB lets one process write a "
                f"database or several read it, never both (analysts read the serving "
                f"database, not the warehouse)"
            ) from None
        raise WarehouseUnavailable(f"cannot open warehouse {database}: {message}") from None


def relation_exists(con: duckdb.DuckDBPyConnection, qualified: str) -> bool:
    schema, table = qualified.split(".")
    return con.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_schema = ? AND table_name = ?",
        [schema, table],
    ).fetchone()[0] > 0


def ledger_high_water_mark(con: duckdb.DuckDBPyConnection) -> dict[str, Any] | None:
    """What the loader has committed; None when nothing was ever loaded here."""
    if not relation_exists(con, LEDGER_TABLE):
        return None
    files, rows, last_loaded_at, changes = con.execute(
        f"SELECT count(*) FILTER (WHERE status = 'loaded'), "
        f"coalesce(sum(row_count) FILTER (WHERE status = 'loaded'), 0), "
        f"max(loaded_at) FILTER (WHERE status = 'loaded'), "
        f"count(*) FILTER (WHERE status IN ('erased', 'suppressed')) "
        f"FROM {LEDGER_TABLE}"
    ).fetchone()
    mark = {
        "loaded_files": files,
        "loaded_rows": int(rows),
        "last_loaded_at": last_loaded_at.isoformat() if last_loaded_at else None,
    }
    # Rows an erasure deleted (or the loader dropped for an erased person) change the data
    # too, so they change the fingerprint and the next scheduled build runs.
    if changes:
        mark["erasure_changes"] = int(changes)
    return mark


def recorded_parts(text: str | None) -> dict[str, Any]:
    """A build record's fingerprint parts; {} when unreadable."""
    try:
        parts = json.loads(text)
    except (TypeError, ValueError):
        return {}
    return parts if isinstance(parts, dict) else {}


def last_build(con: duckdb.DuckDBPyConnection) -> LastBuild | None:
    if not relation_exists(con, RECORD_TABLE):
        return None
    row = con.execute(
        f"SELECT build_number, fingerprint, fingerprint_parts, started_at, dbt_exit_code "
        f"FROM {RECORD_TABLE} ORDER BY build_number DESC LIMIT 1"
    ).fetchone()
    if row is None:
        return None
    return LastBuild(row[0], row[1], recorded_parts(row[2]), row[3], row[4])


def last_checked_build(con: duckdb.DuckDBPyConnection) -> dict[str, str]:
    """Marks of the newest successful whole-project build, as the vars the gate passes:
    its ledger mark (newest loaded_at it accounted for) and when it ended. Empty without
    such a build; no ledger mark when it saw no loads."""
    if not relation_exists(con, RECORD_TABLE):
        return {}
    records = con.execute(
        f"SELECT fingerprint_parts, finished_at FROM {RECORD_TABLE} "
        f"WHERE dbt_exit_code = 0 ORDER BY build_number DESC"
    ).fetchall()
    for text, finished_at in records:
        parts = recorded_parts(text)
        if not parts or not is_whole_project_build(parts.get("dbt_args") or []):
            continue
        marks = {}
        loaded_at = (parts.get("ledger") or {}).get("last_loaded_at")
        if loaded_at:
            marks[ACCOUNTED_AFTER_VAR] = datetime.fromisoformat(loaded_at).strftime(
                TIMESTAMP_VAR_FORMAT
            )
        marks[CHECKED_BUILD_VAR] = finished_at.strftime(TIMESTAMP_VAR_FORMAT)
        return marks
    return {}


def read_warehouse(
    database: Path,
) -> tuple[dict[str, Any] | None, LastBuild | None, dict[str, str]]:
    """Ledger high-water mark, last recorded build and last checked build's marks, read-only."""
    if not database.exists():
        return None, None, {}
    con = open_warehouse(database, read_only=True)
    try:
        return ledger_high_water_mark(con), last_build(con), last_checked_build(con)
    except duckdb.Error as exc:
        raise WarehouseUnavailable(f"cannot read warehouse {database}: {first_line(exc)}") from None
    finally:
        con.close()


def record_start(
    database: Path,
    fingerprint: str,
    parts: dict[str, Any],
    command: list[str],
    started_at: datetime,
) -> int:
    con = open_warehouse(database, read_only=False)
    try:
        con.execute(f"CREATE SCHEMA IF NOT EXISTS {RECORD_SCHEMA}")
        con.execute(RECORD_DDL)
        build_number = con.execute(
            f"SELECT coalesce(max(build_number), 0) + 1 FROM {RECORD_TABLE}"
        ).fetchone()[0]
        con.execute(
            f"INSERT INTO {RECORD_TABLE} (build_number, fingerprint, fingerprint_parts, "
            f"dbt_command, started_at) VALUES (?, ?, ?, ?, ?)",
            [build_number, fingerprint, canonical(parts), json.dumps(command), started_at],
        )
        return build_number
    except duckdb.Error as exc:
        raise WarehouseUnavailable(
            f"cannot record the build in {database}: {first_line(exc)}"
        ) from None
    finally:
        con.close()


def record_end(
    database: Path, build_number: int, finished_at: datetime, seconds: float, exit_code: int
) -> None:
    con = open_warehouse(database, read_only=False)
    try:
        con.execute(
            f"UPDATE {RECORD_TABLE} SET finished_at = ?, duration_seconds = ?, dbt_exit_code = ? "
            f"WHERE build_number = ?",
            [finished_at, round(seconds, 3), exit_code, build_number],
        )
    except duckdb.Error as exc:
        raise WarehouseUnavailable(
            f"cannot record the end of build {build_number} in {database}: {first_line(exc)}"
        ) from None
    finally:
        con.close()
