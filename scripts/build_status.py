"""The build status file: what the last scheduled build did, for readers of the serving file.

Exports (``scripts/export_audiences.py``) must not open the warehouse: DuckDB lets one
process write it, and builds do. Yet an export must know whether the last build failed or
is still running, which build the serving file should hold, and how fresh the sources
behind the audiences were. So the scheduled build (``scripts/scheduled_build.py``) writes
this small JSON file beside the warehouse (``build_status.json`` in the warehouse's
folder) when a build starts and when it ends:

- ``last_attempt``: build number, fingerprint, state (``running``, ``succeeded``,
  ``failed``), started, finished, dbt's exit code. A build that was interrupted stays
  ``running``.
- ``last_success``: the newest build that succeeded (the one a publish put in the serving
  and restricted files), kept while a later attempt runs or fails.
- ``sources``: for the last success, every source table upstream of the audience marts
  (dbt's lineage in ``manifest.json``), with its freshness SLA (``warn_after`` and
  ``error_after`` from the sources' YAML, in hours) and its newest load
  (``raw.ingestion_ledger``, status ``loaded``), read when the build ended.

The file is replaced atomically (a temp file renamed over it), so a reader never sees half
of it. It holds no personal data. Usage from other scripts::

    status = build_status.read_status(build_status.status_path(warehouse))
"""

from __future__ import annotations

import json
import os
from collections import deque
from datetime import datetime
from pathlib import Path
from typing import Any

import duckdb

STATUS_FILE_NAME = "build_status.json"
LEDGER_TABLE = "raw.ingestion_ledger"
# The marts an export reads: the sources upstream of them are the audiences' sources.
AUDIENCE_MARTS = ("fct_audience_eligibility", "dim_audiences", "dim_customer_contacts")
HOURS_PER_PERIOD = {"minute": 1 / 60, "hour": 1.0, "day": 24.0}
TARGET_PATH_ENV_VAR = "DBT_TARGET_PATH"


class BuildStatusError(Exception):
    """The status file exists but cannot be read as a build status."""


def status_path(database: Path) -> Path:
    """The status file of a warehouse: ``build_status.json`` in the warehouse's folder."""
    return Path(database).parent / STATUS_FILE_NAME


def read_status(path: Path) -> dict[str, Any] | None:
    """The status a build wrote; None when there is no file. BuildStatusError when it
    cannot be parsed."""
    if not path.is_file():
        return None
    try:
        status = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise BuildStatusError(f"cannot read the build status file {path}: {exc}") from None
    if not isinstance(status, dict) or not isinstance(status.get("last_attempt"), dict):
        raise BuildStatusError(f"the build status file {path} has no last_attempt")
    return status


def write_status(path: Path, status: dict[str, Any]) -> None:
    """Replace the status file atomically."""
    path.parent.mkdir(parents=True, exist_ok=True)
    stage = path.with_name(f".{path.name}.{os.getpid()}")
    stage.write_text(json.dumps(status, indent=2, sort_keys=True, default=str) + "\n", encoding="utf-8")
    os.replace(stage, path)


def _previous(path: Path) -> dict[str, Any]:
    try:
        return read_status(path) or {}
    except BuildStatusError:
        return {}


def record_started(database: Path, build_number: int, fingerprint: str, started_at: datetime) -> None:
    """A build started: exports refuse to run until it ends."""
    path = status_path(database)
    previous = _previous(path)
    write_status(path, {
        "last_attempt": {"build_number": build_number, "fingerprint": fingerprint, "state": "running",
                         "started_at": started_at.isoformat(), "finished_at": None, "exit_code": None},
        "last_success": previous.get("last_success"),
        "sources": previous.get("sources"),
    })


def record_finished(database: Path, project_dir: Path, build_number: int, fingerprint: str,
                    started_at: datetime, finished_at: datetime, exit_code: int) -> None:
    """A build ended with dbt's exit code; a success also records its sources' freshness."""
    path = status_path(database)
    previous = _previous(path)
    attempt = {"build_number": build_number, "fingerprint": fingerprint,
               "state": "succeeded" if exit_code == 0 else "failed",
               "started_at": started_at.isoformat(), "finished_at": finished_at.isoformat(),
               "exit_code": exit_code}
    status = {"last_attempt": attempt, "last_success": previous.get("last_success"),
              "sources": previous.get("sources")}
    if exit_code == 0:
        status["last_success"] = {key: attempt[key] for key in ("build_number", "fingerprint", "started_at", "finished_at")}
        status["sources"] = audience_sources(database, project_dir)
    write_status(path, status)


def record_skipped(database: Path, project_dir: Path, build_number: int, fingerprint: str,
                   started_at: datetime) -> None:
    """A build skipped because nothing changed since ``build_number``, which succeeded:
    the status file names it (written when missing or naming another build)."""
    path = status_path(database)
    success = (_previous(path).get("last_success") or {})
    if success.get("build_number") == build_number and success.get("fingerprint") == fingerprint:
        return
    attempt = {"build_number": build_number, "fingerprint": fingerprint, "state": "succeeded",
               "started_at": started_at.isoformat(), "finished_at": None, "exit_code": 0}
    write_status(path, {"last_attempt": attempt,
                        "last_success": {key: attempt[key] for key in ("build_number", "fingerprint", "started_at", "finished_at")},
                        "sources": audience_sources(database, project_dir)})


# ------------------------------------------------------------------------- sources


def manifest_path(project_dir: Path) -> Path:
    target = Path(os.environ.get(TARGET_PATH_ENV_VAR) or "target")
    return target if target.is_absolute() else project_dir / target


def hours(threshold: dict[str, Any] | None) -> float | None:
    if not threshold or threshold.get("count") is None or threshold.get("period") not in HOURS_PER_PERIOD:
        return None
    return float(threshold["count"]) * HOURS_PER_PERIOD[threshold["period"]]


def upstream_sources(manifest: dict[str, Any], mart_names: tuple[str, ...]) -> dict[str, set[str]]:
    """Source unique ids upstream of the named models, each with the marts it feeds. Every
    source when none of the marts is in the manifest."""
    parents = manifest.get("parent_map") or {}
    nodes = manifest.get("nodes") or {}
    fed: dict[str, set[str]] = {}
    marts = [uid for uid, node in nodes.items()
             if node.get("resource_type") == "model" and node.get("name") in mart_names]
    for mart in marts:
        seen, queue = {mart}, deque([mart])
        while queue:
            for parent in parents.get(queue.popleft(), []):
                if parent not in seen:
                    seen.add(parent)
                    queue.append(parent)
        for uid in seen:
            if uid.startswith("source."):
                fed.setdefault(uid, set()).add(nodes[mart]["name"])
    if not marts:
        fed = {uid: set() for uid in manifest.get("sources") or {}}
    return fed


def newest_loads(database: Path) -> dict[tuple[str, str], datetime]:
    """The newest ``loaded_at`` of each raw table the loader filled, read-only."""
    if not database.is_file():
        return {}
    con = duckdb.connect(str(database), read_only=True)
    try:
        exists = con.execute(
            "select count(*) from information_schema.tables where table_schema = 'raw' "
            "and table_name = 'ingestion_ledger'").fetchone()[0]
        if not exists:
            return {}
        rows = con.execute(
            f"select source, table_name, max(loaded_at) from {LEDGER_TABLE} "
            "where status = 'loaded' group by 1, 2").fetchall()
    finally:
        con.close()
    return {(source, table): loaded_at for source, table, loaded_at in rows}


def audience_sources(database: Path, project_dir: Path) -> list[dict[str, Any]] | None:
    """Each source table the audience marts read, with its SLA and newest load; None when
    dbt's manifest is missing or unreadable (an export then cannot judge freshness)."""
    try:
        manifest = json.loads((manifest_path(project_dir) / "manifest.json").read_text(encoding="utf-8"))
        loads = newest_loads(database)
    except (OSError, ValueError, duckdb.Error):
        return None
    rows = []
    for uid, marts in sorted(upstream_sources(manifest, AUDIENCE_MARTS).items()):
        source = (manifest.get("sources") or {}).get(uid)
        if source is None:
            continue
        freshness = source.get("freshness") or {}
        # The loader names raw tables <source>_<table>: the ledger keys them by both.
        newest = loads.get((source["source_name"], source["name"]))
        rows.append({
            "source": source["source_name"], "table": source["name"],
            "warn_after_hours": hours(freshness.get("warn_after")),
            "error_after_hours": hours(freshness.get("error_after")),
            "newest_loaded_at": newest.isoformat() if newest else None,
            "feeds": sorted(marts),
        })
    return rows
