"""The serving database: what analysts and activation read, published from the warehouse.

DuckDB lets one process write a database file, or several read it, never both at once. So
builds write the warehouse (``$SEGMENTS_DUCKDB_PATH``) and nobody else opens it, while
analysts read a separate serving file that holds the marts (and the reports) of the last
build whose nodes and tests all passed, and a ``publish_log`` table (when, from which
build, which ``as_of``, which tables with how many rows).

A publish never writes the serving file in place. It writes a complete new file beside it
(same folder, so the rename stays on one file system), checkpoints and closes it, then
renames it over the serving file (``os.replace``, atomic on POSIX). A reader that opened
the old file keeps reading the old file's inode until it disconnects; a reader that
connects afterwards opens the new file; nobody ever sees half a publish, and no reader,
even one holding a connection open for hours, can make a publish fail.

The copying is SQL that dbt runs in its ``on-run-end`` hook (``macros/serving/``); this
module is the part SQL cannot do, reached through the dbt-duckdb plugin in
``scripts/serving_plugin.py``: resolving and checking the serving path, and the rename.
``scripts/scheduled_build.py`` uses it too, to check the path before a build starts and to
read what the serving file holds.

The serving path is ``$SEGMENTS_SERVING_PATH``, else ``serving.duckdb`` in the
warehouse's folder; a relative path is relative to the dbt project folder (where dbt
runs), like the warehouse's.

Direct identifiers (the models of the var ``restricted_schemas``) never go to the serving
file. The same publish writes them, the same atomic way, to the restricted file that only
activation reads: ``$SEGMENTS_RESTRICTED_PATH``, else ``restricted.duckdb`` beside the
warehouse, readable and writable by its owner only (mode 0600). Its stage file is written
under a 0077 umask and chmod-ed 0600 before the rename, so no copy of it, its write-ahead
log included, is ever readable by others; the folder keeps its own permissions.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from folders import create_parent_folder

SERVING_ENV_VAR = "SEGMENTS_SERVING_PATH"
DEFAULT_SERVING_NAME = "serving.duckdb"
RESTRICTED_ENV_VAR = "SEGMENTS_RESTRICTED_PATH"
DEFAULT_RESTRICTED_NAME = "restricted.duckdb"
# Files holding personal data: the warehouse and the restricted file.
OWNER_ONLY = 0o600
# The umask a restricted publish writes under, so its stage and write-ahead log are
# created owner-only.
OWNER_ONLY_UMASK = 0o077
PUBLISH_LOG_TABLE = "publish_log"
# A stage file is hidden and named after the serving file and the publishing process.
STAGE_SUFFIX = ".publishing"


class ServingPathError(Exception):
    """The serving path cannot hold a serving database (a folder, an unwritable folder...)."""


@dataclass
class Publish:
    """The newest row of a serving file's publish log."""

    publish_number: int
    published_at: datetime
    build_id: str | None
    build_fingerprint: str | None
    as_of: object
    table_count: int


def published_path(warehouse: str | Path, env_var: str, default_name: str,
                   environ: dict[str, str] | None = None, base: Path | None = None) -> Path:
    """A file a publish writes: ``$env_var``, else ``default_name`` beside the warehouse.
    A relative path is taken relative to ``base`` (default: the current folder, which is
    the dbt project folder while dbt runs)."""
    environ = os.environ if environ is None else environ
    configured = environ.get(env_var, "").strip()
    path = Path(configured) if configured else Path(warehouse).parent / default_name
    if not path.is_absolute():
        path = (base or Path.cwd()) / path
    return Path(os.path.normpath(path))


def serving_path(warehouse: str | Path, environ: dict[str, str] | None = None,
                 base: Path | None = None) -> Path:
    """The serving file of a warehouse: $SEGMENTS_SERVING_PATH, else serving.duckdb beside
    the warehouse."""
    return published_path(warehouse, SERVING_ENV_VAR, DEFAULT_SERVING_NAME, environ, base)


def restricted_path(warehouse: str | Path, environ: dict[str, str] | None = None,
                    base: Path | None = None) -> Path:
    """The restricted file of a warehouse, holding the direct identifiers activation reads:
    $SEGMENTS_RESTRICTED_PATH, else restricted.duckdb beside the warehouse."""
    return published_path(warehouse, RESTRICTED_ENV_VAR, DEFAULT_RESTRICTED_NAME, environ, base)


def check_serving_path(path: Path, warehouse: str | Path | None = None,
                       env_var: str = SERVING_ENV_VAR, serving_file: Path | None = None) -> None:
    """Raise ServingPathError, with one line saying what is wrong, unless a publish can
    write a new file beside ``path`` and rename it over ``path``. ``env_var`` names the
    variable that sets it ($SEGMENTS_SERVING_PATH or $SEGMENTS_RESTRICTED_PATH); the
    restricted file is checked with the ``serving_file``, which it may not be."""
    origin = f"${env_var}" if os.environ.get(env_var, "").strip() else "default"
    kind = "restricted" if env_var == RESTRICTED_ENV_VAR else "serving"
    where = f"{kind} path {path} ({origin})"
    if warehouse is not None and Path(os.path.normpath(Path(warehouse).absolute())) == path:
        raise ServingPathError(f"{where} is the warehouse itself; set {env_var} to another file")
    if serving_file is not None and serving_file == path:
        raise ServingPathError(f"{where} is the serving file analysts read; set {env_var} to another file")
    if path.suffix == ".wal":
        raise ServingPathError(f"{where} names a DuckDB write-ahead log, not a database file")
    if path.exists() and not path.is_file():
        raise ServingPathError(f"{where} is not a file")
    folder = path.parent
    existing = folder
    while not existing.exists():
        existing = existing.parent
    if not existing.is_dir():
        raise ServingPathError(f"{where}: {existing} is not a folder")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise ServingPathError(f"{where}: folder {existing} is not writable")


def stage_path(path: Path) -> Path:
    """Where a publish writes the new serving file before renaming it: the same folder,
    a hidden name, one per process (dbt runs one publish at a time)."""
    return path.parent / f".{path.name}{STAGE_SUFFIX}-{os.getpid()}"


def prepare_stage(stage: Path) -> None:
    """Create the stage file's folder and remove what interrupted publishes left there:
    this stage file, and the stage files of processes that no longer run."""
    create_parent_folder(stage, ServingPathError, f"serving folder {stage.parent}")
    prefix = stage.name.rsplit("-", 1)[0] + "-"
    for leftover in stage.parent.glob(f"{glob_escape(prefix)}*"):
        pid = leftover.name[len(prefix):].removesuffix(".wal")
        if pid == str(os.getpid()) or (pid.isdigit() and not process_runs(int(pid))):
            leftover.unlink(missing_ok=True)


def glob_escape(text: str) -> str:
    return "".join(f"[{char}]" if char in "*?[" else char for char in text)


def process_runs(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def replace_serving_file(stage: Path, path: Path, mode: int | None = None) -> None:
    """Rename the complete stage file over the serving file, atomically, and make the
    rename durable. Open readers of the old file keep reading it. With ``mode`` (the
    restricted file: OWNER_ONLY), the stage gets that mode before the rename, so the
    published file never has another."""
    if not stage.is_file():
        raise ServingPathError(f"the stage file {stage} of serving path {path} is missing")
    if stage.with_name(stage.name + ".wal").exists():
        raise ServingPathError(f"the stage file {stage} was not checkpointed (it has a .wal)")
    try:
        if mode is not None:
            os.chmod(stage, mode)
        os.replace(stage, path)
        folder = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(folder)
        finally:
            os.close(folder)
    except OSError as exc:
        raise ServingPathError(f"cannot publish to {path}: {exc.strerror or exc}") from None


def last_publish(path: Path) -> Publish | None:
    """The newest publish recorded in a serving file; None when the file does not exist
    or holds no publish log. Opens it read-only, beside any other reader."""
    if not path.is_file():
        return None
    import duckdb

    try:
        con = duckdb.connect(str(path), read_only=True)
    except duckdb.Error:
        return None
    try:
        exists = con.execute(
            "select count(*) from information_schema.tables where table_schema = 'main' "
            "and table_name = ?", [PUBLISH_LOG_TABLE]
        ).fetchone()[0]
        if not exists:
            return None
        row = con.execute(
            f"select publish_number, published_at, build_id, build_fingerprint, as_of, table_count "
            f"from main.{PUBLISH_LOG_TABLE} order by publish_number desc limit 1"
        ).fetchone()
        return Publish(*row) if row else None
    except duckdb.Error:
        return None
    finally:
        con.close()
