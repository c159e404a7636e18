"""Compare the tables of two warehouses row for row.

A refactoring that must not change results (moving a model between layers, splitting a
model, rewriting a macro) is checked by building the same sources with the old and the new
code and comparing every table of the schemas analysts read::

    python scripts/compare_warehouses.py OLD.duckdb NEW.duckdb [--schema marts] [--ignore-column built_at]

For each table of the schemas in either warehouse it reports the row counts and the rows
only in one side (a multiset difference, so a duplicated row counts). Columns are compared
by name; a column in one side only is a difference, except those passed with
--ignore-column (columns that differ by nature between two builds, such as the time a
build started). Exit code 0 when every table is identical, 1 when any differs, 2 when a
warehouse cannot be opened.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

DEFAULT_SCHEMAS = ("marts",)
DEFAULT_IGNORED_COLUMNS = ("built_at",)


@dataclass
class TableComparison:
    table: str
    old_rows: int | None = None
    new_rows: int | None = None
    only_old: int = 0
    only_new: int = 0
    column_differences: list[str] = field(default_factory=list)

    @property
    def identical(self) -> bool:
        return (
            self.old_rows is not None
            and self.new_rows is not None
            and not self.column_differences
            and self.only_old == 0
            and self.only_new == 0
        )

    def line(self) -> str:
        if self.old_rows is None:
            return f"{self.table}: only in the new warehouse ({self.new_rows} rows)"
        if self.new_rows is None:
            return f"{self.table}: only in the old warehouse ({self.old_rows} rows)"
        verdict = "identical" if self.identical else "DIFFERS"
        text = (f"{self.table}: {verdict}; rows {self.old_rows} old, {self.new_rows} new; "
                f"{self.only_old} only in old, {self.only_new} only in new")
        if self.column_differences:
            text += "; columns " + ", ".join(self.column_differences)
        return text


def quote(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def table_columns(con: duckdb.DuckDBPyConnection, catalog: str, schemas: tuple[str, ...]) -> dict[str, list[str]]:
    rows = con.execute(
        """
        select table_schema || '.' || table_name, column_name
        from information_schema.columns
        where table_catalog = ? and table_schema in (select unnest(?))
        order by table_schema, table_name, ordinal_position
        """,
        [catalog, list(schemas)],
    ).fetchall()
    columns: dict[str, list[str]] = {}
    for table, column in rows:
        columns.setdefault(table, []).append(column)
    return columns


def compare(old: Path, new: Path, schemas: tuple[str, ...] = DEFAULT_SCHEMAS,
            ignored_columns: tuple[str, ...] = DEFAULT_IGNORED_COLUMNS) -> list[TableComparison]:
    con = duckdb.connect()
    try:
        con.execute(f"attach {literal(str(old))} as old_warehouse (read_only)")
        con.execute(f"attach {literal(str(new))} as new_warehouse (read_only)")
        old_tables = table_columns(con, "old_warehouse", schemas)
        new_tables = table_columns(con, "new_warehouse", schemas)
        results = []
        for table in sorted(old_tables.keys() | new_tables.keys()):
            result = TableComparison(table)
            schema, name = table.split(".", 1)
            relation = f"{quote(schema)}.{quote(name)}"
            if table in old_tables:
                result.old_rows = con.execute(f"select count(*) from old_warehouse.{relation}").fetchone()[0]
            if table in new_tables:
                result.new_rows = con.execute(f"select count(*) from new_warehouse.{relation}").fetchone()[0]
            if table in old_tables and table in new_tables:
                old_columns = [c for c in old_tables[table] if c not in ignored_columns]
                new_columns = [c for c in new_tables[table] if c not in ignored_columns]
                result.column_differences = (
                    [f"-{c}" for c in old_columns if c not in new_columns]
                    + [f"+{c}" for c in new_columns if c not in old_columns]
                )
                shared = ", ".join(quote(c) for c in old_columns if c in new_columns)
                if not shared:
                    result.only_old, result.only_new = result.old_rows, result.new_rows
                    results.append(result)
                    continue
                for side, first, second in (("only_old", "old", "new"), ("only_new", "new", "old")):
                    count = con.execute(
                        f"select count(*) from (select {shared} from {first}_warehouse.{relation} "
                        f"except all select {shared} from {second}_warehouse.{relation})"
                    ).fetchone()[0]
                    setattr(result, side, count)
            results.append(result)
        return results
    finally:
        con.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("old", type=Path)
    parser.add_argument("new", type=Path)
    parser.add_argument("--schema", action="append", dest="schemas",
                        help=f"schema to compare, repeatable (default: {', '.join(DEFAULT_SCHEMAS)})")
    parser.add_argument("--ignore-column", action="append", dest="ignored_columns",
                        help=f"column left out of the comparison, repeatable "
                             f"(default: {', '.join(DEFAULT_IGNORED_COLUMNS)})")
    args = parser.parse_args(argv)
    for path in (args.old, args.new):
        if not path.is_file():
            print(f"error: no warehouse at {path}", file=sys.stderr)
            return 2
    try:
        results = compare(args.old, args.new, tuple(args.schemas or DEFAULT_SCHEMAS),
                          tuple(args.ignored_columns or DEFAULT_IGNORED_COLUMNS))
    except duckdb.Error as exc:
        print(f"error: {str(exc).splitlines()[0]}", file=sys.stderr)
        return 2
    for result in results:
        print(result.line())
    differing = [r for r in results if not r.identical]
    print(f"{len(results) - len(differing)} of {len(results)} tables identical")
    return 1 if differing or not results else 0


if __name__ == "__main__":
    sys.exit(main())
