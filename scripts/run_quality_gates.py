"""Great Expectations quality gates over the warehouse, run after `dbt build`.

The suites are declarative YAML files in ``gx/suites/``. Each suite lists batches; a
batch names the warehouse table it guards, a DuckDB query that produces the frame to
validate, and the Great Expectations expectations run on that frame. Huge tables are
never pulled into pandas: a batch's query aggregates in DuckDB (one row per day, per
value, per source or per column) and the expectations judge that summary. A batch may
instead declare ``profile:`` to get one row per column of the table (null share, zero
share, min, max) computed in a single DuckDB scan.

The warehouse is opened read-only, so the gates can run while nobody writes to it and
never change it. Suites whose tables are not built yet are skipped with a notice when
they say ``when_missing: skip`` (marts that other work has not delivered); otherwise a
missing table fails the gate.

Usage::

    python scripts/run_quality_gates.py [--database PATH] [--suite NAME ...]
                                        [--data-docs DIR] [--suites-dir DIR]

Exit codes: 0 every expectation passed, 1 an expectation failed (one line per failure
naming the suite, the table, the column and the expectation), 2 unusable arguments or
warehouse (missing file, locked by a writer, a suite file that does not parse).
"""

from __future__ import annotations

import argparse
import logging
import math
import os
import re
import sys
import time
import warnings
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from string import Template
from typing import Any

import yaml

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DATABASE = REPO_ROOT / "data" / "warehouse.duckdb"
DATABASE_ENV_VAR = "SEGMENTS_DUCKDB_PATH"
DEFAULT_SUITES_DIR = REPO_ROOT / "gx" / "suites"
DEFAULT_DATA_DOCS = REPO_ROOT / "target" / "data_docs"
DBT_PROJECT_FILE = REPO_ROOT / "dbt_project.yml"

NUMERIC_TYPES = re.compile(
    r"^(TINYINT|SMALLINT|INTEGER|BIGINT|HUGEINT|UTINYINT|USMALLINT|UINTEGER|UBIGINT|UHUGEINT"
    r"|FLOAT|REAL|DOUBLE|DECIMAL.*|NUMERIC.*)$",
    re.IGNORECASE,
)


class GateError(Exception):
    """A problem that stops the gates before any expectation runs (exit code 2)."""


# ----------------------------------------------------------------------------- suites


@dataclass
class ExpectationSpec:
    type: str
    kwargs: dict[str, Any]
    column: str | None
    notes: str | None


@dataclass
class BatchSpec:
    name: str
    table: str
    requires: list[str]
    query: str | None
    profile: dict[str, Any] | None
    index: list[str]
    expectations: list[ExpectationSpec]


@dataclass
class SuiteSpec:
    name: str
    description: str
    when_missing: str
    variables: dict[str, Any]
    batches: list[BatchSpec]
    path: Path


def load_suites(suites_dir: Path) -> list[SuiteSpec]:
    if not suites_dir.is_dir():
        raise GateError(f"suites directory {suites_dir} does not exist")
    suites = [load_suite(path) for path in sorted(suites_dir.glob("*.yml"))]
    names = [suite.name for suite in suites]
    duplicated = sorted({name for name in names if names.count(name) > 1})
    if duplicated:
        raise GateError(f"suite names used twice in {suites_dir}: {', '.join(duplicated)}")
    return suites


def load_suite(path: Path) -> SuiteSpec:
    try:
        document = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        raise GateError(f"{path}: not valid YAML: {exc}") from None
    if not isinstance(document, dict) or "name" not in document or "batches" not in document:
        raise GateError(f"{path}: a suite needs `name` and `batches`")
    when_missing = document.get("when_missing", "fail")
    if when_missing not in ("fail", "skip"):
        raise GateError(f"{path}: when_missing must be fail or skip, got {when_missing!r}")
    batches = []
    for raw_batch in document["batches"]:
        where = f"{path}: batch {raw_batch.get('name', '?')}"
        if "name" not in raw_batch or "table" not in raw_batch:
            raise GateError(f"{where}: a batch needs `name` and `table`")
        if ("query" in raw_batch) == ("profile" in raw_batch):
            raise GateError(f"{where}: give exactly one of `query` or `profile`")
        expectations = []
        for raw in raw_batch.get("expectations") or []:
            if "type" not in raw:
                raise GateError(f"{where}: every expectation needs a `type`")
            expectations.append(
                ExpectationSpec(
                    type=raw["type"],
                    kwargs=dict(raw.get("kwargs") or {}),
                    column=raw.get("column"),
                    notes=raw.get("notes"),
                )
            )
        profile = raw_batch.get("profile")
        batches.append(
            BatchSpec(
                name=raw_batch["name"],
                table=raw_batch["table"],
                requires=list(raw_batch.get("requires") or ([raw_batch["table"]] if "." in raw_batch["table"] else [])),
                query=raw_batch.get("query"),
                profile=dict(profile or {}) if "profile" in raw_batch else None,
                index=list(raw_batch.get("index") or (["column_name"] if profile is not None else [])),
                expectations=expectations,
            )
        )
    return SuiteSpec(
        name=document["name"],
        description=str(document.get("description", "")).strip(),
        when_missing=when_missing,
        variables=dict(document.get("vars") or {}),
        batches=batches,
        path=path,
    )


def project_vars() -> dict[str, Any]:
    """The dbt project's vars, so suites use the same business constants as the models."""
    try:
        project = yaml.safe_load(DBT_PROJECT_FILE.read_text())
    except (OSError, yaml.YAMLError):
        return {}
    return {key: value for key, value in (project.get("vars") or {}).items() if value is not None}


# -------------------------------------------------------------------------- warehouse


def connect(database: Path):
    import duckdb

    if not database.is_file():
        raise GateError(
            f"warehouse {database} does not exist: build it first (load the sources, then dbt build) "
            f"or point --database / ${DATABASE_ENV_VAR} at it"
        )
    try:
        con = duckdb.connect(str(database), read_only=True)
    except duckdb.Error as exc:
        message = str(exc).strip().splitlines()[0]
        if "lock" in message.lower():
            raise GateError(
                f"warehouse {database} is locked by a writer (a dbt build or a load is running): {message}"
            ) from None
        raise GateError(f"cannot open warehouse {database}: {message}") from None
    con.execute("set enable_progress_bar = false")
    return con


def existing_relations(con) -> set[str]:
    rows = con.execute(
        "select table_schema, table_name from information_schema.tables"
    ).fetchall()
    return {f"{schema}.{name}".lower() for schema, name in rows}


def table_columns(con, table: str) -> list[tuple[str, str]]:
    schema, _, name = table.partition(".")
    return con.execute(
        "select column_name, data_type from information_schema.columns "
        "where table_schema = ? and table_name = ? order by ordinal_position",
        [schema, name],
    ).fetchall()


def quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def matches_any(name: str, patterns: list[str]) -> bool:
    return any(re.fullmatch(pattern.replace("%", ".*"), name) for pattern in patterns)


def profile_frame(con, table: str, profile: dict[str, Any]):
    """One row per column of `table`: null share, zero share, min and max, in one scan.

    `include` / `exclude` take column names or `%` wildcard patterns.
    """
    import pandas as pd

    include = list(profile.get("include") or ["%"])
    exclude = list(profile.get("exclude") or [])
    columns = [
        (name, data_type)
        for name, data_type in table_columns(con, table)
        if matches_any(name, include) and not matches_any(name, exclude)
    ]
    if not columns:
        raise GateError(f"profile of {table} selects no columns (include {include}, exclude {exclude})")
    aggregates = ["count(*) as row_count"]
    for position, (name, data_type) in enumerate(columns):
        column = quote_ident(name)
        aggregates.append(f"count({column}) as c{position}_non_null")
        if NUMERIC_TYPES.match(data_type):
            aggregates.append(f"count(*) filter (where {column} = 0) as c{position}_zero")
            aggregates.append(f"min(cast({column} as double)) as c{position}_min")
            aggregates.append(f"max(cast({column} as double)) as c{position}_max")
        elif data_type.upper() == "BOOLEAN":
            aggregates.append(f"count(*) filter (where not {column}) as c{position}_zero")
            aggregates.append(f"min(cast({column} as integer)) as c{position}_min")
            aggregates.append(f"max(cast({column} as integer)) as c{position}_max")
    row = con.execute(f"select {', '.join(aggregates)} from {table}").fetchone()
    values = dict(zip([description[0] for description in con.description], row))
    row_count = values["row_count"]
    records = []
    for position, (name, data_type) in enumerate(columns):
        non_null = values[f"c{position}_non_null"]
        zero = values.get(f"c{position}_zero")
        records.append(
            {
                "column_name": name,
                "data_type": data_type,
                "row_count": row_count,
                "null_share": (row_count - non_null) / row_count if row_count else None,
                "zero_share": zero / row_count if row_count and zero is not None else None,
                "min_value": values.get(f"c{position}_min"),
                "max_value": values.get(f"c{position}_max"),
            }
        )
    return pd.DataFrame.from_records(records)


def query_frame(con, sql: str):
    frame = con.execute(sql).df()
    # Decimals come back as Python objects; expectations compare numbers.
    for column in frame.columns:
        if frame[column].dtype == object and frame[column].map(lambda v: isinstance(v, Decimal)).any():
            frame[column] = frame[column].map(lambda v: float(v) if isinstance(v, Decimal) else v)
    return frame


# ------------------------------------------------------------------------ validation


@dataclass
class Failure:
    suite: str
    table: str
    column: str | None
    expectation: str
    detail: str


@dataclass
class SuiteOutcome:
    name: str
    skipped: str | None = None
    evaluated: int = 0
    failures: list[Failure] = field(default_factory=list)


def make_context(data_docs: Path | None):
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
    logging.getLogger("great_expectations").setLevel(logging.ERROR)
    warnings.filterwarnings("ignore", module="great_expectations")
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig

    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False, metric_calculations=False)
    if data_docs is not None:
        context.add_data_docs_site(
            site_name="quality_gates",
            site_config={
                "class_name": "SiteBuilder",
                "store_backend": {
                    "class_name": "TupleFilesystemStoreBackend",
                    "base_directory": str(data_docs),
                },
                "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
            },
        )
    datasource = context.data_sources.add_pandas("warehouse")
    return gx, context, datasource


def short(value: Any) -> str:
    if isinstance(value, float):
        return "null" if math.isnan(value) else f"{value:.6g}"
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if hasattr(value, "item"):
        return short(value.item())
    return str(value)


def describe_row(row: dict[str, Any], index: list[str], value_column: str | None) -> str:
    keys = ", ".join(
        f"{name}={short(row.get(name))}" for name in index if name in row and name not in ("table_name", "column_name")
    )
    if value_column and value_column in row:
        value = f"{value_column}={short(row.get(value_column))}"
        return f"{keys}: {value}" if keys else value
    return keys


def describe_result(result: dict[str, Any]) -> str:
    if result.get("partial_unexpected_list"):
        values = ", ".join(short(value) for value in result["partial_unexpected_list"][:5])
        return f"unexpected values {values} ({result.get('unexpected_count', '?')} rows)"
    if "observed_value" in result:
        return f"observed {short(result['observed_value'])}"
    return "expectation not met"


MAX_ROWS_PER_FAILURE = 20


def failures_for(suite: str, batch: BatchSpec, index: list[str], result) -> list[Failure]:
    """One failure line per unexpected summary row (naming its table and column when the
    summary carries `table_name` / `column_name`), else one line for the expectation."""
    config = result.expectation_config
    value_column = config.kwargs.get("column")
    column = config.meta.get("column") or value_column
    notes = config.meta.get("notes")

    def line(detail: str) -> str:
        return f"{notes} - {detail}" if notes and detail else notes or detail

    if result.exception_info and result.exception_info.get("raised_exception"):
        message = str(result.exception_info.get("exception_message")).strip().splitlines()[0]
        return [Failure(suite, batch.table, column, config.type, f"could not evaluate: {message}")]
    rows = (result.result or {}).get("unexpected_index_list") or []
    if rows and isinstance(rows[0], dict):
        failures = []
        for row in rows[:MAX_ROWS_PER_FAILURE]:
            row_column = row.get("column_name") or column
            failures.append(
                Failure(
                    suite,
                    str(row.get("table_name") or batch.table),
                    str(row_column) if row_column else None,
                    config.type,
                    line(describe_row(row, index, value_column)),
                )
            )
        if len(rows) > MAX_ROWS_PER_FAILURE:
            failures.append(
                Failure(suite, batch.table, column, config.type, f"... and {len(rows) - MAX_ROWS_PER_FAILURE} more rows")
            )
        return failures
    return [Failure(suite, batch.table, column, config.type, line(describe_result(result.result or {})))]


def run_suite(gx, context, datasource, con, suite: SuiteSpec, relations: set[str], variables: dict) -> SuiteOutcome:
    from great_expectations.expectations.expectation_configuration import ExpectationConfiguration

    outcome = SuiteOutcome(suite.name)
    runnable = []
    skipped_tables: set[str] = set()
    for batch in suite.batches:
        missing = [table for table in batch.requires if table.lower() not in relations]
        if not missing:
            runnable.append(batch)
        elif suite.when_missing == "skip":
            skipped_tables.update(missing)
        else:
            for table in missing:
                outcome.failures.append(
                    Failure(suite.name, table, None, "table_exists", f"batch {batch.name}: table does not exist in the warehouse")
                )
    if skipped_tables:
        outcome.skipped = f"{', '.join(sorted(skipped_tables))} not built yet"
    if outcome.failures:
        return outcome

    substitutions = {**variables, **suite.variables}
    for batch in runnable:
        try:
            if batch.profile is not None:
                frame = profile_frame(con, batch.table, batch.profile)
            else:
                sql = Template(batch.query).substitute({"table": batch.table, **substitutions})
                frame = query_frame(con, sql)
        except KeyError as exc:
            raise GateError(f"{suite.path}: batch {batch.name} uses an undefined variable {exc}") from None
        except GateError:
            raise
        except Exception as exc:  # a query the warehouse rejects: the suite no longer fits the tables
            message = str(exc).strip().splitlines()[0]
            outcome.failures.append(
                Failure(suite.name, batch.table, None, "batch_query", f"query of batch {batch.name} failed: {message}")
            )
            continue

        asset = datasource.add_dataframe_asset(f"{suite.name}__{batch.name}")
        batch_definition = asset.add_batch_definition_whole_dataframe("whole_frame")
        gx_suite = context.suites.add(gx.ExpectationSuite(name=f"{suite.name}.{batch.name}"))
        for spec in batch.expectations:
            gx_suite.add_expectation_configuration(
                ExpectationConfiguration(
                    type=spec.type,
                    kwargs=spec.kwargs,
                    meta={key: value for key, value in (("table", batch.table), ("column", spec.column), ("notes", spec.notes)) if value},
                )
            )
        gx_suite.save()
        validation = context.validation_definitions.add(
            gx.ValidationDefinition(name=f"{suite.name}.{batch.name}", data=batch_definition, suite=gx_suite)
        )
        result_format: dict[str, Any] = {"result_format": "COMPLETE"}
        present_index = [name for name in batch.index if name in frame.columns]
        if present_index:
            result_format["unexpected_index_column_names"] = present_index
        checkpoint = context.checkpoints.add(
            gx.Checkpoint(
                name=f"{suite.name}.{batch.name}",
                validation_definitions=[validation],
                result_format=result_format,
            )
        )
        checkpoint_result = checkpoint.run(batch_parameters={"dataframe": frame})
        for validation_result in checkpoint_result.run_results.values():
            for result in validation_result.results:
                outcome.evaluated += 1
                if not result.success:
                    outcome.failures.extend(failures_for(suite.name, batch, present_index, result))
    return outcome


# ------------------------------------------------------------------------------- CLI


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--database",
        type=Path,
        default=Path(os.environ.get(DATABASE_ENV_VAR) or DEFAULT_DATABASE),
        help=f"DuckDB warehouse file (default ${DATABASE_ENV_VAR} or {DEFAULT_DATABASE.relative_to(REPO_ROOT)})",
    )
    parser.add_argument("--suite", action="append", default=[], help="run only this suite (repeatable)")
    parser.add_argument(
        "--data-docs",
        type=Path,
        default=DEFAULT_DATA_DOCS,
        help=f"directory for the Data Docs HTML (default {DEFAULT_DATA_DOCS.relative_to(REPO_ROOT)})",
    )
    parser.add_argument("--no-data-docs", action="store_true", help="do not write Data Docs")
    parser.add_argument("--suites-dir", type=Path, default=DEFAULT_SUITES_DIR, help="directory of suite YAML files")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    started = time.monotonic()
    try:
        suites = load_suites(args.suites_dir)
        if args.suite:
            unknown = sorted(set(args.suite) - {suite.name for suite in suites})
            if unknown:
                known = ", ".join(suite.name for suite in suites)
                raise GateError(f"unknown suite {', '.join(unknown)} (known: {known})")
            suites = [suite for suite in suites if suite.name in args.suite]
        database = args.database if args.database.is_absolute() else Path.cwd() / args.database
        con = connect(database)
        data_docs = None if args.no_data_docs else args.data_docs
        gx, context, datasource = make_context(data_docs)
        relations = existing_relations(con)
        variables = project_vars()
        outcomes = [run_suite(gx, context, datasource, con, suite, relations, variables) for suite in suites]
        con.close()
        if data_docs is not None:
            data_docs.mkdir(parents=True, exist_ok=True)
            context.build_data_docs()
    except GateError as exc:
        print(f"quality gates: {exc}", file=sys.stderr)
        return 2

    failures = [failure for outcome in outcomes for failure in outcome.failures]
    for outcome in outcomes:
        if outcome.skipped and not outcome.evaluated:
            print(f"SKIP {outcome.name}: {outcome.skipped}")
        elif outcome.failures:
            print(f"FAIL {outcome.name}: {len(outcome.failures)} of {outcome.evaluated or len(outcome.failures)} expectations failed")
        else:
            partly = f" (partly skipped: {outcome.skipped})" if outcome.skipped else ""
            print(f"PASS {outcome.name}: {outcome.evaluated} expectations{partly}")
    for failure in failures:
        where = f"{failure.table}.{failure.column}" if failure.column else failure.table
        print(f"  FAILED {failure.suite} | {where} | {failure.expectation} | {failure.detail}")
    elapsed = time.monotonic() - started
    docs_note = "" if args.no_data_docs else f"; Data Docs: {args.data_docs / 'index.html'}"
    evaluated = sum(outcome.evaluated for outcome in outcomes)
    print(
        f"quality gates: {len(failures)} failed, {evaluated} expectations evaluated, "
        f"{sum(1 for o in outcomes if o.skipped and not o.evaluated)} suites skipped in {elapsed:.1f}s{docs_note}"
    )
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
