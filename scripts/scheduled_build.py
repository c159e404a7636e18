"""Scheduled ``dbt build`` that skips when nothing it depends on has changed.

A scheduled build with no new data, the same ``as_of`` day and the same code recomputes
exactly what the warehouse already holds, and costs minutes of dbt work (hundreds of data
tests). This entry point computes a build fingerprint from everything a build's results
depend on (``build_fingerprint.py``: the loader's high-water mark, the resolved ``as_of``,
the dbt arguments and vars, a checksum of the project's code and config, the dbt and
DuckDB versions) and compares it with the warehouse's build records
(``build_records.py``: ``ops.scheduled_builds``).

When the fingerprint equals the one of the last build this gate started, and that build
succeeded, it prints one line saying so and exits 0 without starting dbt. Otherwise it
records the attempt, runs ``dbt build`` as a child process with its output streamed
(``dbt_runner.py``), and records dbt's exit code when it ends. A build that failed, or did
not finish, never lets a later run skip: its models may be half built, even if the inputs
return to those of an earlier successful build (a reverted commit). The records live in
the warehouse, so a deleted warehouse forgets them. The gate writes only while dbt is not
running (DuckDB allows one writer).

Analysts never read the warehouse: a build whose nodes and data tests all pass publishes
the marts to the serving database (``serving.py``; dbt's on-run-end hook does it, so a
plain ``dbt build`` publishes too), and a failed build publishes nothing. The gate checks
the serving path before dbt starts, passes the build's fingerprint and number for the
publish log, and when it skips a build whose results the serving database does not hold
(a deleted or moved serving file) it publishes them with ``dbt run-operation
publish_serving`` instead of building again.

Exports must not open the warehouse, so the gate also writes the build status file beside
it (``build_status.py``: the last attempt and its state, the last success, and the
freshness of the sources the audience marts read) when a build starts, ends or is skipped.

Row accounting on the event-sized sources (the ``raw_rows_accounted_for`` tests with a
``window_days``) needs to see each load once. When the build is of the whole project (no
selection, no ``--full-refresh`` or ``--empty``, nothing but unit tests excluded) and an
earlier whole-project build succeeded here, the gate passes that build's ledger mark as
``raw_rows_accounted_after``, so the tests account for exactly the rows loaded since the
last build that accounted for the ones before. Without such a build (the first one, or
after failures only) the tests fall back to their ``window_days``. The same way, the data
tests of the incremental models check the rows built since the last build that checked
the ones before: the gate passes the end of that successful whole-project build as
``last_checked_build_at`` (``macros/utils/built_since_last_check.sql``); without it they
read every row. A var given by the caller is left as it is. How these and ``as_of`` reach
dbt (environment variables, so dbt keeps its saved parse) is in ``run_parameters.py``.

Usage::

    python scripts/scheduled_build.py [--force] [--dbt PATH] [--project-dir DIR]
                                      [-- DBT_BUILD_ARGS ...]

Arguments after ``--`` go to ``dbt build`` and replace the default
``--exclude-resource-type unit_test`` (``make build``). ``--force`` builds whatever the
fingerprint says. The dbt executable defaults to ``$SEGMENTS_DBT_EXECUTABLE``, else the
``dbt`` beside this Python, else ``dbt`` on the PATH. The serving database is
``$SEGMENTS_SERVING_PATH``, else ``serving.duckdb`` beside the warehouse.

Exit codes: 0 skipped or built, dbt's exit code when dbt failed, 2 unusable arguments or
project (unparseable ``--vars``, a warehouse or serving path that is a folder or cannot be
written, dbt not found), 3 the warehouse cannot be opened (e.g. locked by another process;
the message names it), 130 interrupted.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import build_status
import erasure
import serving
from build_errors import UsageError, WarehouseUnavailable
from build_fingerprint import describe, fingerprint_of, fingerprint_parts
from build_records import (
    RECORD_TABLE,
    LastBuild,
    read_warehouse,
    record_end,
    record_start,
    warehouse_path,
)
from dbt_runner import DBT_ENV_VAR, check_dbt, default_dbt, run_dbt
from run_parameters import (
    BUILD_IDENTITY_ENV,
    MARK_MESSAGES,
    RUN_PARAMETER_ENV,
    dbt_invocation,
    is_whole_project_build,
    load_project,
)

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DBT_ARGS = ("--exclude-resource-type", "unit_test")


def utc_now() -> datetime:
    """Naive UTC, like the loader's timestamps."""
    return datetime.now(timezone.utc).replace(tzinfo=None)


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


def checked_serving_path(database: Path, project_dir: Path) -> Path:
    """The serving file the build publishes to; a UsageError when it, or the restricted
    file published beside it, cannot be written."""
    path = serving.serving_path(database, base=project_dir)
    try:
        serving.check_serving_path(path, database)
        serving.check_serving_path(serving.restricted_path(database, base=project_dir), database,
                                   env_var=serving.RESTRICTED_ENV_VAR, serving_file=path)
    except serving.ServingPathError as exc:
        raise UsageError(str(exc)) from None
    return path


def build_identity(fingerprint: str, build_number: int) -> dict[str, str]:
    """The environment variables that name the build in the serving database's publish log."""
    return {
        BUILD_IDENTITY_ENV["build_fingerprint"]: fingerprint,
        BUILD_IDENTITY_ENV["build_number"]: str(build_number),
    }


def publish_state(serving_file: Path, fingerprint: str) -> str:
    """What the serving database holds after a successful build."""
    published = serving.last_publish(serving_file)
    if published is not None and published.build_fingerprint == fingerprint:
        return (
            f"published to {serving_file} (publish #{published.publish_number}, "
            f"{published.table_count} tables, as_of {published.as_of})"
        )
    return (
        f"the serving database {serving_file} was not updated by this build (a selection "
        f"that built no mart publishes nothing; see dbt's 'Serving database' line)"
    )


def publish_only(
    dbt: str,
    project_dir: Path,
    dbt_args: list[str],
    parts: dict,
    fingerprint: str,
    previous: LastBuild,
    serving_file: Path,
    published: serving.Publish | None,
) -> int:
    """Publish the results of the last build, which succeeded with this fingerprint, when
    the serving database does not hold them: dbt run-operation publish_serving."""
    state = (
        "does not exist" if not serving_file.is_file()
        else "holds no publish log" if published is None
        else f"holds publish #{published.publish_number} of another build"
    )
    print(
        f"scheduled build: nothing changed since build #{previous.build_number} (fingerprint "
        f"{fingerprint[:12]}), but the serving database {serving_file} {state}; publishing it"
    )
    check_dbt(dbt)
    _, run_parameters = dbt_invocation(dbt_args, parts["as_of"], {}, load_project(project_dir))
    try:
        exit_code = run_dbt(
            [dbt, "run-operation", "publish_serving"],
            project_dir,
            {**os.environ, **run_parameters, **build_identity(fingerprint, previous.build_number)},
        )
    except KeyboardInterrupt:
        print("scheduled build: interrupted; the next run publishes again", file=sys.stderr)
        return 130
    if exit_code != 0:
        print(
            f"scheduled build: dbt run-operation publish_serving exited with {exit_code}; "
            f"analysts keep what {serving_file} held",
            file=sys.stderr,
        )
        return exit_code
    print(f"scheduled build: {publish_state(serving_file, fingerprint)}")
    return 0


def note_status(record: Any, *args: Any) -> None:
    """Write the build status file exports read (build_status.py); a file that cannot be
    written is a warning: exports then refuse to run, the build goes on."""
    try:
        record(*args)
    except OSError as exc:
        print(f"scheduled build: warning: cannot write the build status file: {exc.strerror or exc}",
              file=sys.stderr)


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
        serving_file = checked_serving_path(database, project_dir)
        # Erasure requests are completed before anything is built from the data they name
        # (erasure.py): every file then holds none of the person's data, and the build
        # that follows never sees it.
        erased = erasure.run(database)
        if erased.pending:
            print(
                f"scheduled build: erasure: {erased.completed} request(s) completed, "
                f"{erased.rows_affected} row(s) removed from {erased.files_touched} file(s) "
                f"in {erased.seconds:.1f} s (privacy.erasure_log)"
            )
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
            published = serving.last_publish(serving_file)
            if published is not None and published.build_fingerprint == fingerprint:
                print(
                    f"scheduled build: skipped, nothing changed since build "
                    f"#{previous.build_number} (succeeded, started "
                    f"{previous.started_at:%Y-%m-%d %H:%M:%S} UTC) of {database}: same "
                    f"fingerprint {fingerprint[:12]} ({describe(parts)}); use --force "
                    f"(make build FORCE=1) to build anyway"
                )
                note_status(build_status.record_skipped, database, project_dir,
                            previous.build_number, fingerprint, previous.started_at)
                return 0
            exit_code = publish_only(dbt, project_dir, dbt_args, parts, fingerprint, previous,
                                     serving_file, published)
            if exit_code == 0:
                note_status(build_status.record_skipped, database, project_dir,
                            previous.build_number, fingerprint, previous.started_at)
            return exit_code
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
        note_status(build_status.record_started, database, build_number, fingerprint, started_at)
        clock = time.monotonic()
        try:
            exit_code = run_dbt(command, project_dir, {
                **os.environ, **run_parameters, **build_identity(fingerprint, build_number)
            })
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

    finished_at = utc_now()
    try:
        record_end(database, build_number, finished_at, seconds, exit_code)
    except WarehouseUnavailable as exc:
        print(
            f"scheduled build: warning: {exc}; build #{build_number} stays unfinished, "
            f"so the next run builds again",
            file=sys.stderr,
        )
        return exit_code
    note_status(build_status.record_finished, database, project_dir, build_number, fingerprint,
                started_at, finished_at, exit_code)
    if exit_code == 0:
        print(
            f"scheduled build: build #{build_number} succeeded in {seconds:.1f} s; "
            f"recorded fingerprint {fingerprint[:12]} in {RECORD_TABLE}"
        )
        print(f"scheduled build: {publish_state(serving_file, fingerprint)}")
    else:
        print(
            f"scheduled build: dbt build exited with {exit_code}; build #{build_number} "
            f"recorded as failed, so the next run builds again",
            file=sys.stderr,
        )
    return exit_code


if __name__ == "__main__":
    sys.exit(main())
