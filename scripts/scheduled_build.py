"""Scheduled ``dbt build`` that skips when nothing it depends on has changed.

A scheduled build with no new data, the same ``as_of`` day and the same code recomputes
exactly what the warehouse already holds, and costs minutes of dbt work (hundreds of data
tests). This entry point computes a build fingerprint from everything a build's results
depend on:

* the loader's high-water mark: count, rows and newest ``loaded_at`` of the files recorded
  ``loaded`` in ``raw.ingestion_ledger`` (failed or skipped files change no data);
* the resolved ``as_of`` day, resolved as ``macros/utils/as_of.sql`` does: the ``--vars``
  value, else the project var, and today (UTC) when that is empty;
* the ``--vars`` and the other dbt build arguments passed;
* a sha256 over the project's code and config: the model, macro, seed, test (not the
  pytest suites in ``tests/python``) and snapshot paths of ``dbt_project.yml``, that file,
  ``profiles.yml`` and any package files;
* the dbt-core, dbt-duckdb and duckdb versions.

It reads the ledger and the gate's own records on a read-only connection to the warehouse
(``$SEGMENTS_DUCKDB_PATH``, else ``data/warehouse.duckdb``, relative to the project). When
the fingerprint equals the one of the last build this gate started, and that build
succeeded, it prints one line saying so and exits 0 without starting dbt. Otherwise it
records the attempt in ``ops.scheduled_builds``, runs ``dbt build`` as a child process with
its output streamed, and records dbt's exit code when it ends. A build that failed, or did
not finish, never lets a later run skip: its models may be half built, even if the inputs
return to those of an earlier successful build (a reverted commit). The records live in
the warehouse, so a deleted warehouse forgets them. The gate writes only while dbt is not
running (DuckDB allows one writer).

Row accounting on the event-sized sources (the ``raw_rows_accounted_for`` tests with a
``window_days``) needs to see each load once. When the build is of the whole project (no
selection, no ``--full-refresh`` or ``--empty``, nothing but unit tests excluded) and an
earlier whole-project build succeeded here, the gate passes that build's ledger mark as
``raw_rows_accounted_after``, so the tests account for exactly the rows loaded
since the last build that accounted for the ones before. Without such a build (the first
one, or after failures only) the tests fall back to their ``window_days``.

The same way, the data tests of the incremental models check the rows built since the
last build that checked the ones before: the gate passes the end of that successful
whole-project build as ``last_checked_build_at``, and those tests read the rows
whose ``built_at`` is later (``macros/utils/built_since_last_check.sql``); without it they
read every row. A var given by the caller is left as it is. Neither mark is part of the
fingerprint: they follow from the recorded builds.

The gate passes these run parameters, and the resolved ``as_of``, to dbt as environment
variables (``$SEGMENTS_AS_OF``, ``$SEGMENTS_RAW_ROWS_ACCOUNTED_AFTER``,
``$SEGMENTS_LAST_CHECKED_BUILD_AT``; ``macros/utils/run_parameter.sql`` reads them), not as
``--vars``: dbt parses the whole project again whenever ``--vars`` differ from its last
run, which would be every scheduled run. A caller's ``--vars`` ``as_of`` moves to the
environment variable too, unless dbt_project.yml sets an ``as_of`` of its own.

Usage::

    python scripts/scheduled_build.py [--force] [--dbt PATH] [--project-dir DIR]
                                      [-- DBT_BUILD_ARGS ...]

Arguments after ``--`` go to ``dbt build`` and replace the default
``--exclude-resource-type unit_test`` (``make build``). ``--force`` builds whatever the
fingerprint says. The dbt executable defaults to ``$SEGMENTS_DBT_EXECUTABLE``, else the
``dbt`` beside this Python, else ``dbt`` on the PATH.

Exit codes: 0 skipped or built, dbt's exit code when dbt failed, 2 unusable arguments or
project (unparseable ``--vars``, a warehouse path that is a folder, dbt not found), 3 the
warehouse cannot be opened (e.g. locked by another process), 130 interrupted.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path
from typing import Any

import duckdb
import yaml

REPO_ROOT = Path(__file__).resolve().parents[1]
DATABASE_ENV_VAR = "SEGMENTS_DUCKDB_PATH"
DEFAULT_DATABASE = "data/warehouse.duckdb"
DBT_ENV_VAR = "SEGMENTS_DBT_EXECUTABLE"
DEFAULT_DBT_ARGS = ("--exclude-resource-type", "unit_test")
ACCOUNTED_AFTER_VAR = "raw_rows_accounted_after"
CHECKED_BUILD_VAR = "last_checked_build_at"
MARK_MESSAGES = {
    ACCOUNTED_AFTER_VAR: "row accounting covers the rows loaded after {mark} "
    "(the last successful whole-project build's loads)",
    CHECKED_BUILD_VAR: "the incremental models' data tests check the rows built after {mark} "
    "(the end of the last successful whole-project build)",
}
# The run parameters reach dbt as environment variables, not --vars: dbt parses the
# whole project again whenever --vars differ from its last run, which on a schedule is
# every run (as_of and the marks move), while macros/utils/run_parameter.sql reads these
# only when executing, so the saved parse stays valid.
RUN_PARAMETER_ENV = {
    "as_of": "SEGMENTS_AS_OF",
    ACCOUNTED_AFTER_VAR: "SEGMENTS_RAW_ROWS_ACCOUNTED_AFTER",
    CHECKED_BUILD_VAR: "SEGMENTS_LAST_CHECKED_BUILD_AT",
}
# How the marks are written into those vars (the macros accept this form).
TIMESTAMP_VAR_FORMAT = "%Y-%m-%d %H:%M:%S.%f"
# Arguments after which a build does not run every data test over every model's new rows.
PARTIAL_BUILD_FLAGS = frozenset({
    "-s", "--select", "--selector", "--exclude", "-m", "--models",
    "--resource-type", "--resource-types", "--full-refresh", "-f", "--empty", "--sample",
})
# Excluding resource types other than unit tests leaves data tests or models out too.
EXCLUDE_TYPE_FLAGS = frozenset({"--exclude-resource-type", "--exclude-resource-types"})

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

# dbt_project.yml keys of the folders whose files change what a build produces, with
# dbt's defaults. Analyses are compiled but never built; docs blocks live in these folders.
PROJECT_PATH_KEYS = {
    "model-paths": ["models"],
    "macro-paths": ["macros"],
    "seed-paths": ["seeds"],
    "test-paths": ["tests"],
    "snapshot-paths": ["snapshots"],
}
# pytest suites inside a test path are not dbt tests.
PYTEST_DIR = "python"
PROJECT_FILES = ("dbt_project.yml", "packages.yml", "dependencies.yml", "package-lock.yml")
VERSIONED_PACKAGES = ("dbt-core", "dbt-duckdb", "duckdb")
# The values of var('as_of') that macros/utils/as_of.sql reads as "today (UTC)".
AS_OF_TODAY_VALUES = ("", "none", "None", "today")
AS_OF_PATTERN = re.compile(r"^\d{4}-\d{2}-\d{2}$")

# dbt reads --vars with PyYAML's safe loader (the C one when available).
YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class UsageError(Exception):
    """An argument, project or warehouse path the gate cannot work with (exit code 2)."""


class WarehouseUnavailable(Exception):
    """The warehouse exists but cannot be opened, e.g. locked by a writer (exit code 3)."""


@dataclass
class LastBuild:
    build_number: int
    fingerprint: str
    parts: dict[str, Any]
    started_at: datetime
    exit_code: int | None


def utc_now() -> datetime:
    """Naive UTC, like the loader's timestamps."""
    return datetime.now(timezone.utc).replace(tzinfo=None)


def first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


# --------------------------------------------------------------------- dbt arguments


def vars_argument(dbt_args: list[str]) -> tuple[int, str] | None:
    """Position and text of the last --vars value (dbt takes the last one), if any."""
    found = None
    for position, arg in enumerate(dbt_args):
        if arg == "--vars":
            if position + 1 >= len(dbt_args):
                raise UsageError("--vars needs a value, e.g. --vars '{as_of: 2026-03-01}'")
            found = (position + 1, dbt_args[position + 1])
        elif arg.startswith("--vars="):
            found = (position, arg[len("--vars="):])
    return found


def parse_cli_vars(text: str) -> dict[str, Any]:
    """--vars as dbt reads it: a YAML mapping."""
    try:
        value = yaml.load(text, Loader=YAML_LOADER)
    except (yaml.YAMLError, ValueError) as exc:
        # ValueError: a YAML date that does not exist, such as 2026-13-01.
        problem = getattr(exc, "problem", None) or first_line(exc)
        raise UsageError(f"--vars is not valid YAML ({problem}): {text!r}") from None
    if not isinstance(value, dict):
        raise UsageError(
            f"--vars must be a YAML mapping such as '{{as_of: 2026-03-01}}', got {text!r}"
        )
    return value


def canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)


def normalised_dbt_args(dbt_args: list[str]) -> tuple[list[str], dict[str, Any]]:
    """The build arguments with --vars rewritten as canonical JSON, and the vars."""
    found = vars_argument(dbt_args)
    if found is None:
        return list(dbt_args), {}
    position, text = found
    cli_vars = parse_cli_vars(text)
    args = list(dbt_args)
    args[position] = ("--vars=" if args[position].startswith("--vars=") else "") + canonical(
        cli_vars
    )
    return args, cli_vars


def is_whole_project_build(dbt_args: list[str]) -> bool:
    """No selection, no full refresh and only unit tests excluded: every data test sees
    every model's rows loaded since the last build."""
    excluding_types = False
    for arg in dbt_args:
        if arg.startswith("-"):
            flag, _, value = arg.partition("=")
            if flag in PARTIAL_BUILD_FLAGS:
                return False
            excluding_types = flag in EXCLUDE_TYPE_FLAGS
            values = [value] if value else []
        else:
            values = [arg]
        if excluding_types and any(value != "unit_test" for value in values):
            return False
    return True


def without_var(dbt_args: list[str], name: str) -> list[str]:
    """The arguments without one var; a --vars left empty is dropped with its value."""
    found = vars_argument(dbt_args)
    if found is None:
        return list(dbt_args)
    position, text = found
    remaining = {key: value for key, value in parse_cli_vars(text).items() if key != name}
    args = list(dbt_args)
    if remaining:
        args[position] = ("--vars=" if args[position].startswith("--vars=") else "") + canonical(
            remaining
        )
        return args
    if args[position].startswith("--vars="):
        return args[:position] + args[position + 1:]
    return args[:position - 1] + args[position + 1:]


# ------------------------------------------------------------------------- project


def load_project(project_dir: Path) -> dict[str, Any]:
    path = project_dir / "dbt_project.yml"
    try:
        project = yaml.load(path.read_text(), Loader=YAML_LOADER)
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror or exc}") from None
    except yaml.YAMLError as exc:
        raise UsageError(f"{path} is not valid YAML: {first_line(exc)}") from None
    if not isinstance(project, dict):
        raise UsageError(f"{path} is not a dbt project file (not a mapping)")
    return project


def project_as_of(project: dict[str, Any]) -> Any:
    """The as_of var of dbt_project.yml (the project-scoped one first), "" without one."""
    project_vars = project.get("vars") or {}
    scoped = project_vars.get(project.get("name"))
    if isinstance(scoped, dict) and "as_of" in scoped:
        return scoped["as_of"]
    return project_vars.get("as_of", "")


def resolve_as_of(cli_vars: dict[str, Any], project: dict[str, Any], today: str,
                  environ: dict[str, str] | None = None) -> str:
    """The as_of day dbt will build with, following macros/utils/as_of.sql and
    macros/utils/run_parameter.sql: the var (--vars, else dbt_project.yml); when that is
    empty, $SEGMENTS_AS_OF; when that is empty too, or the var says today, today (UTC)."""
    if "as_of" in cli_vars:
        value, origin = cli_vars["as_of"], "--vars"
    else:
        value, origin = project_as_of(project), "dbt_project.yml"
    # a YAML null is no value, as for dbt's var(): the environment variable is next
    text = "" if value is None else str(value).strip()
    environ = os.environ if environ is None else environ
    if text == "" and environ.get(RUN_PARAMETER_ENV["as_of"], "").strip():
        text, origin = environ[RUN_PARAMETER_ENV["as_of"]].strip(), f"${RUN_PARAMETER_ENV['as_of']}"
    if text in AS_OF_TODAY_VALUES:
        return today
    try:
        if not AS_OF_PATTERN.match(text):
            raise ValueError
        datetime.strptime(text, "%Y-%m-%d")
    except ValueError:
        raise UsageError(
            f"as_of from {origin} must be a date written YYYY-MM-DD "
            f"(for example --vars '{{as_of: 2026-03-01}}'); got {text!r}"
        ) from None
    return text


def dbt_invocation(
    dbt_args: list[str], as_of: str, marks: dict[str, str], project: dict[str, Any]
) -> tuple[list[str], dict[str, str]]:
    """The arguments and the run-parameter environment variables the gate starts dbt with.

    as_of goes into $SEGMENTS_AS_OF and leaves --vars, so that dbt's saved parse of the
    project stays valid from one scheduled run to the next. It stays in --vars when the
    project sets a non-empty as_of of its own (the var would win over the environment
    variable) or when several --vars are given (dbt reads the last one only). Each mark
    goes into its variable unless the caller gave the var; a variable without a value
    here is passed empty, so none is inherited from the caller's environment.
    """
    _, cli_vars = normalised_dbt_args(dbt_args)
    environment = {name: "" for name in RUN_PARAMETER_ENV.values()}
    several_vars = sum(arg == "--vars" or arg.startswith("--vars=") for arg in dbt_args) > 1
    own_as_of = project_as_of(project)
    if (own_as_of is None or str(own_as_of).strip() == "") and not several_vars:
        dbt_args = without_var(dbt_args, "as_of")
        environment[RUN_PARAMETER_ENV["as_of"]] = as_of
    for name, mark in marks.items():
        if name not in cli_vars:
            environment[RUN_PARAMETER_ENV[name]] = mark
    return dbt_args, environment


def project_folders(project: dict[str, Any]) -> list[str]:
    folders: list[str] = []
    for key, default in PROJECT_PATH_KEYS.items():
        value = project.get(key, default)
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
            raise UsageError(f"dbt_project.yml: {key} must be a list of folders, got {value!r}")
        folders += [item for item in value if item not in folders]
    return folders


def code_files(project_dir: Path, project: dict[str, Any]) -> dict[str, Path]:
    """Files whose content can change a build's results, keyed by a stable name."""
    files: dict[str, Path] = {}
    test_paths = project.get("test-paths", PROJECT_PATH_KEYS["test-paths"])
    test_paths = [test_paths] if isinstance(test_paths, str) else test_paths
    skipped = {(project_dir / folder / PYTEST_DIR).resolve() for folder in test_paths}
    for folder in project_folders(project):
        root = project_dir / folder
        if not root.is_dir():
            continue
        for dirpath, dirnames, filenames in os.walk(root):
            here = Path(dirpath)
            dirnames[:] = sorted(
                name
                for name in dirnames
                if not name.startswith(".")
                and name != "__pycache__"
                and (here / name).resolve() not in skipped
            )
            for name in filenames:
                if not name.startswith("."):
                    path = here / name
                    files[path.relative_to(project_dir).as_posix()] = path
    for name in PROJECT_FILES:
        if (project_dir / name).is_file():
            files[name] = project_dir / name
    profiles_dir = Path(os.environ.get("DBT_PROFILES_DIR") or project_dir)
    profiles = (profiles_dir if profiles_dir.is_absolute() else project_dir / profiles_dir)
    if (profiles / "profiles.yml").is_file():
        files["<profiles>/profiles.yml"] = profiles / "profiles.yml"
    return files


def code_checksum(project_dir: Path, project: dict[str, Any]) -> dict[str, Any]:
    digest = hashlib.sha256()
    files = code_files(project_dir, project)
    for name in sorted(files):
        try:
            content = files[name].read_bytes()
        except OSError as exc:
            raise UsageError(f"cannot read {files[name]}: {exc.strerror or exc}") from None
        digest.update(name.encode() + b"\0" + hashlib.sha256(content).digest())
    return {"sha256": digest.hexdigest(), "files": len(files)}


def package_versions() -> dict[str, str | None]:
    versions: dict[str, str | None] = {}
    for package in VERSIONED_PACKAGES:
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            versions[package] = None
    return versions


# ----------------------------------------------------------------------- warehouse


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
        if "lock" in message.lower():
            raise WarehouseUnavailable(
                f"warehouse {database} is in use by another process "
                f"(DuckDB allows one writer; is a load or a build running?): {message}"
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
    files, rows, last_loaded_at = con.execute(
        f"SELECT count(*), coalesce(sum(row_count), 0), max(loaded_at) "
        f"FROM {LEDGER_TABLE} WHERE status = 'loaded'"
    ).fetchone()
    return {
        "loaded_files": files,
        "loaded_rows": int(rows),
        "last_loaded_at": last_loaded_at.isoformat() if last_loaded_at else None,
    }


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


# ---------------------------------------------------------------------- fingerprint


def fingerprint_parts(
    project_dir: Path, dbt_args: list[str], ledger: dict[str, Any] | None, today: str
) -> dict[str, Any]:
    args, cli_vars = normalised_dbt_args(dbt_args)
    project = load_project(project_dir)
    return {
        "ledger": ledger,
        "as_of": resolve_as_of(cli_vars, project, today),
        "vars": cli_vars,
        "dbt_args": args,
        "code": code_checksum(project_dir, project),
        "versions": package_versions(),
    }


def fingerprint_of(parts: dict[str, Any]) -> str:
    return hashlib.sha256(canonical(parts).encode()).hexdigest()


def describe(parts: dict[str, Any]) -> str:
    ledger = parts["ledger"]
    if ledger is None:
        ledger_text = "no ingestion ledger"
    else:
        ledger_text = (
            f"{ledger['loaded_files']} loaded files, last loaded at {ledger['last_loaded_at']}"
        )
    return (
        f"ledger: {ledger_text}; as_of {parts['as_of']}; vars {canonical(parts['vars'])}; "
        f"dbt build {' '.join(parts['dbt_args'])}; code sha256 {parts['code']['sha256'][:12]} "
        f"({parts['code']['files']} files); dbt-core {parts['versions'].get('dbt-core')}"
    )


def why_build(
    previous: LastBuild | None, database: Path, parts: dict[str, Any], force: bool
) -> str:
    if force:
        return "--force given"
    if not database.exists():
        return f"warehouse {database} does not exist yet"
    if previous is None:
        return "no build recorded in this warehouse yet"
    started = f"{previous.started_at:%Y-%m-%d %H:%M:%S}"
    last = f"the last build (#{previous.build_number}, started {started} UTC)"
    if previous.exit_code is None:
        return f"{last} did not finish"
    if previous.exit_code != 0:
        return f"{last} failed with exit code {previous.exit_code}"
    changed = sorted(
        key for key in set(parts) | set(previous.parts) if parts.get(key) != previous.parts.get(key)
    )
    return f"changed since {last}: {', '.join(changed)}"


# ------------------------------------------------------------------------------ run


def default_dbt() -> str:
    beside_python = Path(sys.executable).parent / "dbt"
    return os.environ.get(DBT_ENV_VAR) or (str(beside_python) if beside_python.exists() else "dbt")


def split_argv(argv: list[str]) -> tuple[list[str], list[str] | None]:
    if "--" in argv:
        position = argv.index("--")
        return argv[:position], argv[position + 1:]
    return argv, None


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        epilog="Arguments after -- are passed to dbt build (default: "
        f"{' '.join(DEFAULT_DBT_ARGS)}).",
    )
    parser.add_argument("--force", action="store_true", help="build even if nothing changed")
    parser.add_argument(
        "--dbt",
        default=None,
        help=f"dbt executable (default: ${DBT_ENV_VAR}, else the dbt beside this Python, else dbt)",
    )
    parser.add_argument(
        "--project-dir",
        type=Path,
        default=REPO_ROOT,
        help="dbt project to fingerprint and build (default: this repository)",
    )
    args, unknown = parser.parse_known_args(argv)
    if unknown:
        parser.error(
            f"unrecognized arguments: {' '.join(unknown)} (arguments for dbt build go after --, "
            "e.g. -- --exclude-resource-type unit_test --vars '{as_of: 2026-03-01}')"
        )
    return args


def check_dbt(executable: str) -> None:
    """Fail before anything is recorded when dbt cannot be started."""
    if shutil.which(executable) is None:
        raise UsageError(
            f"dbt executable {executable!r} not found or not executable "
            f"(use --dbt or ${DBT_ENV_VAR})"
        )


def run_dbt(command: list[str], project_dir: Path, environment: dict[str, str]) -> int:
    """dbt's exit code (128 + N when killed by signal N); its output goes straight to ours."""
    sys.stdout.flush()
    try:
        returncode = subprocess.run(command, cwd=project_dir, env=environment).returncode
        return 128 - returncode if returncode < 0 else returncode
    except FileNotFoundError:
        raise UsageError(
            f"dbt executable {command[0]!r} not found (use --dbt or ${DBT_ENV_VAR})"
        ) from None
    except PermissionError:
        raise UsageError(f"dbt executable {command[0]!r} is not executable") from None


def main(argv: list[str] | None = None) -> int:
    own_argv, passed = split_argv(list(sys.argv[1:] if argv is None else argv))
    args = parse_args(own_argv)
    dbt_args = list(DEFAULT_DBT_ARGS) if not passed else passed
    project_dir = args.project_dir.resolve()
    dbt = args.dbt or default_dbt()
    # A path is taken relative to where the gate was started, not to the project.
    dbt = str(Path(dbt).resolve()) if os.sep in dbt else dbt
    command = [dbt, "build", *dbt_args]
    started_at = utc_now()
    try:
        if not (project_dir / "dbt_project.yml").is_file():
            raise UsageError(f"{project_dir} is not a dbt project (no dbt_project.yml)")
        database = warehouse_path(project_dir)
        ledger, previous, checked_marks = read_warehouse(database)
        # as_of defaults to today when the fingerprint is taken, and dbt gets that day
        # ($SEGMENTS_AS_OF), so a build that starts just before midnight builds the day
        # it records.
        parts = fingerprint_parts(project_dir, dbt_args, ledger, started_at.strftime("%Y-%m-%d"))
        fingerprint = fingerprint_of(parts)
        if (
            not args.force
            and previous is not None
            and previous.exit_code == 0
            and previous.fingerprint == fingerprint
        ):
            print(
                f"scheduled build: skipped, nothing changed since build #{previous.build_number} "
                f"(succeeded, started {previous.started_at:%Y-%m-%d %H:%M:%S} UTC) of "
                f"{database}: same fingerprint {fingerprint[:12]} ({describe(parts)}); "
                f"use --force (make build FORCE=1) to build anyway"
            )
            return 0
        print(
            f"scheduled build: building, {why_build(previous, database, parts, args.force)}; "
            f"fingerprint {fingerprint[:12]} ({describe(parts)})"
        )
        check_dbt(command[0])
        marks = checked_marks if is_whole_project_build(dbt_args) else {}
        dbt_args, run_parameters = dbt_invocation(
            dbt_args, parts["as_of"], marks, load_project(project_dir)
        )
        for name, mark in marks.items():
            if run_parameters[RUN_PARAMETER_ENV[name]]:
                print(f"scheduled build: {MARK_MESSAGES[name].format(mark=mark)}")
        command = [dbt, "build", *dbt_args]
        passed = [f"{name}={value}" for name, value in run_parameters.items() if value]
        build_number = record_start(database, fingerprint, parts, [*passed, *command[1:]], started_at)
        clock = time.monotonic()
        try:
            exit_code = run_dbt(command, project_dir, {**os.environ, **run_parameters})
        except KeyboardInterrupt:
            # The attempt stays unfinished, so the next run builds.
            print("scheduled build: interrupted; the next run builds again", file=sys.stderr)
            return 130
        seconds = time.monotonic() - clock
    except UsageError as exc:
        print(f"scheduled build: error: {exc}", file=sys.stderr)
        return 2
    except WarehouseUnavailable as exc:
        print(f"scheduled build: error: {exc}", file=sys.stderr)
        return 3

    try:
        record_end(database, build_number, utc_now(), seconds, exit_code)
    except WarehouseUnavailable as exc:
        print(
            f"scheduled build: warning: {exc}; build #{build_number} stays unfinished, "
            f"so the next run builds again",
            file=sys.stderr,
        )
        return exit_code
    if exit_code == 0:
        print(
            f"scheduled build: build #{build_number} succeeded in {seconds:.1f} s; "
            f"recorded fingerprint {fingerprint[:12]} in {RECORD_TABLE}"
        )
    else:
        print(
            f"scheduled build: dbt build exited with {exit_code}; build #{build_number} "
            f"recorded as failed, so the next run builds again",
            file=sys.stderr,
        )
    return exit_code


if __name__ == "__main__":
    sys.exit(main())
