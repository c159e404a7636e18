"""Turn the UCI Online Retail invoice lines into shop landing files.

The UCI "Online Retail" data set (every invoice line of a UK online gift retailer,
2010-12-01 to 2011-12-09; see ``../shared/realdata/README.md``) gives the pipeline
real, messy orders. This script maps it onto the landing contract
(``scripts/landing_contract.py``) and writes, per invoice date (UK local):

* ``shop/orders``: one row per invoice. ``order_id`` = InvoiceNo;
  ``shop_customer_id`` = CustomerID as text (empty when missing: a guest order
  with no email, which staging quarantines as unidentifiable); ``email`` empty;
  ``order_status`` 'cancelled' for 'C' invoices, else 'delivered'; ``currency``
  GBP; ``order_total`` = sum of quantity * unit price over the invoice's lines
  (2 decimals); ``ordered_at`` = ``updated_at`` = the invoice's first line time,
  read as Europe/London local time and written as ISO-8601 with its UTC offset
  (``2011-06-01T10:00:00+01:00``).
* ``shop/order_lines``: one row per input row. ``order_line_id`` = InvoiceNo +
  '-' + position of the line within the invoice in file order; ``product_id`` =
  StockCode; ``quantity`` and ``unit_price`` as text, negatives and zeros kept.
* ``shop/products``: one row per StockCode. ``product_name`` = its most frequent
  Description (ties: alphabetical first; empty when it never has one);
  ``category`` empty; ``list_price`` = median UnitPrice; ``currency`` GBP;
  ``updated_at`` = the time of the product's last invoice line, which is also
  the date the row lands under.

Files are ``<out>/shop/<table>/date=YYYY-MM-DD/online_retail.parquet``, every
column text. Output is deterministic: rerunning on the same input rewrites
byte-identical files (each replaced atomically), so the loader skips them.
Country has no place in the contract and is not carried over.

The day after the last invoice is printed, and written to ``--as-of-file`` when given:
profiles built at that ``as_of`` see every order (``make real-data`` builds with it).

Usage::

    python scripts/import_online_retail.py --out data/landing \
        [--input ../shared/realdata/online_retail/onlineretail.parquet] [--as-of-file PATH]
"""

from __future__ import annotations

import argparse
import datetime
import itertools
import sys
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

sys.path.insert(0, str(Path(__file__).resolve().parent))

from landing_contract import partition_dir, table_for, write_parquet  # noqa: E402

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_INPUT = REPO_ROOT.parent / "shared" / "realdata" / "online_retail" / "onlineretail.parquet"
OUTPUT_FILE_NAME = "online_retail.parquet"
SOURCE_TIME_ZONE = "Europe/London"
INPUT_COLUMNS = (
    "InvoiceNo", "StockCode", "Description", "Quantity",
    "InvoiceDate", "UnitPrice", "CustomerID",
)

# Numbers read as text without a float's trailing '.0' (CustomerID 17850.0 -> '17850').
MACROS = f"""
CREATE OR REPLACE TEMP MACRO as_text(v) AS regexp_replace(CAST(v AS VARCHAR), '\\.0$', '');
CREATE OR REPLACE TEMP MACRO utc_offset(seconds) AS
    CASE WHEN seconds < 0 THEN '-' ELSE '+' END
    || lpad(CAST(abs(seconds) // 3600 AS VARCHAR), 2, '0') || ':'
    || lpad(CAST(abs(seconds) % 3600 // 60 AS VARCHAR), 2, '0');
-- A naive London wall-clock time as ISO-8601 with the offset in force at that time.
CREATE OR REPLACE TEMP MACRO london_iso(ts) AS
    strftime(ts, '%Y-%m-%dT%H:%M:%S')
    || utc_offset(CAST(epoch(ts) - epoch(timezone('{SOURCE_TIME_ZONE}', ts)) AS BIGINT));
"""

LINES_SQL = """
CREATE TEMP TABLE lines AS
SELECT
    InvoiceNo AS invoice_no,
    row_number() OVER (PARTITION BY InvoiceNo ORDER BY file_row_number) AS line_position,
    file_row_number,
    StockCode AS stock_code,
    nullif(trim(Description), '') AS description,
    Quantity AS quantity,
    UnitPrice AS unit_price,
    CAST(UnitPrice AS DECIMAL(18, 3)) AS unit_price_dec,
    CAST(InvoiceDate AS TIMESTAMP) AS invoice_ts,
    CASE WHEN CustomerID IS NULL THEN '' ELSE as_text(CustomerID) END AS customer_id
FROM read_parquet(?, file_row_number = true)
"""

ORDERS_SQL = """
SELECT
    CAST(min(invoice_ts) AS DATE) AS landing_date,
    invoice_no AS order_id,
    arg_min(customer_id, line_position) AS shop_customer_id,
    '' AS email,
    CASE WHEN starts_with(invoice_no, 'C') THEN 'cancelled' ELSE 'delivered' END AS order_status,
    'GBP' AS currency,
    CAST(
        CAST(round(sum(quantity * unit_price_dec), 2) AS DECIMAL(18, 2)) AS VARCHAR
    ) AS order_total,
    london_iso(min(invoice_ts)) AS ordered_at,
    london_iso(min(invoice_ts)) AS updated_at
FROM lines
GROUP BY invoice_no
ORDER BY landing_date, order_id
"""

ORDER_LINES_SQL = """
WITH invoice_dates AS (
    SELECT invoice_no, CAST(min(invoice_ts) AS DATE) AS landing_date
    FROM lines GROUP BY invoice_no
)
SELECT
    d.landing_date,
    l.invoice_no || '-' || CAST(l.line_position AS VARCHAR) AS order_line_id,
    l.invoice_no AS order_id,
    l.stock_code AS product_id,
    as_text(l.quantity) AS quantity,
    CAST(l.unit_price AS VARCHAR) AS unit_price
FROM lines AS l
JOIN invoice_dates AS d USING (invoice_no)
ORDER BY d.landing_date, l.invoice_no, l.line_position
"""

PRODUCTS_SQL = """
WITH names AS (
    SELECT stock_code, description, count(*) AS n
    FROM lines WHERE description IS NOT NULL
    GROUP BY ALL
),
top_name AS (
    SELECT stock_code, first(description ORDER BY n DESC, description) AS product_name
    FROM names GROUP BY stock_code
),
prices AS (
    SELECT
        stock_code,
        -- The median of 3-decimal prices needs at most 4 decimals; keep 2 at least.
        regexp_replace(
            CAST(CAST(median(unit_price_dec) AS DECIMAL(18, 4)) AS VARCHAR), '0{1,2}$', ''
        ) AS list_price,
        max(invoice_ts) AS last_seen
    FROM lines GROUP BY stock_code
)
SELECT
    CAST(p.last_seen AS DATE) AS landing_date,
    p.stock_code AS product_id,
    coalesce(t.product_name, '') AS product_name,
    '' AS category,
    p.list_price,
    'GBP' AS currency,
    london_iso(p.last_seen) AS updated_at
FROM prices AS p
LEFT JOIN top_name AS t USING (stock_code)
ORDER BY landing_date, product_id
"""


class InputError(Exception):
    """An expected problem with the input (exit code 2, one-line message)."""


def build_tables(input_path: Path) -> tuple[int, dict[str, pa.Table]]:
    """Read the invoice lines; return the input row count and one table per landing table.

    Each returned table has a ``landing_date`` column followed by the contract columns.
    """
    con = duckdb.connect()
    try:
        con.execute("SET enable_progress_bar = false")
        con.execute("SET TimeZone = 'UTC'")
        try:
            columns = {
                row[0] for row in con.execute(
                    "DESCRIBE SELECT * FROM read_parquet(?)", [str(input_path)]
                ).fetchall()
            }
        except duckdb.Error as exc:
            raise InputError(f"cannot read {input_path}: {str(exc).splitlines()[0]}") from None
        missing = [c for c in INPUT_COLUMNS if c not in columns]
        if missing:
            raise InputError(f"{input_path} lacks columns: {', '.join(missing)}")
        con.execute(MACROS)
        con.execute(LINES_SQL, [str(input_path)])
        rows_in = con.execute("SELECT count(*) FROM lines").fetchone()[0]
        tables = {
            "orders": con.execute(ORDERS_SQL).fetch_arrow_table(),
            "order_lines": con.execute(ORDER_LINES_SQL).fetch_arrow_table(),
            "products": con.execute(PRODUCTS_SQL).fetch_arrow_table(),
        }
    finally:
        con.close()
    for name, table in tables.items():
        expected = ["landing_date", *table_for("shop", name).columns]
        assert table.column_names == expected, (name, table.column_names)
    return rows_in, tables


def write_partitions(table: pa.Table, out: Path, table_name: str) -> int:
    """Write one parquet file per landing date (rows arrive sorted by date)."""
    landing_dir = out / table_for("shop", table_name).landing_dir
    dates = table.column("landing_date")
    data = table.drop_columns(["landing_date"])
    data = data.cast(pa.schema([pa.field(n, pa.string()) for n in data.column_names]))
    files = 0
    start = 0
    for day, group in itertools.groupby(dates.to_pylist()):
        size = sum(1 for _ in group)
        write_parquet(data.slice(start, size), landing_dir / partition_dir(day) / OUTPUT_FILE_NAME)
        files += 1
        start += size
    return files


def import_online_retail(input_path: Path, out: Path) -> dict[str, int]:
    """Write the shop landing files; returns row and file counts."""
    if not input_path.is_file():
        raise InputError(
            f"input {input_path} not found (download the UCI Online Retail data set, "
            "see ../shared/realdata/README.md, or pass --input)"
        )
    rows_in, tables = build_tables(input_path)
    lines_out = tables["order_lines"].num_rows
    if lines_out != rows_in:
        raise InputError(f"{rows_in} input rows became {lines_out} order lines")
    counts = {"input_rows": rows_in}
    for name, table in tables.items():
        counts[f"{name}_rows"] = table.num_rows
        counts[f"{name}_files"] = write_partitions(table, out, name)
    orders = tables["orders"]
    counts["cancelled_orders"] = pc.sum(pc.equal(orders["order_status"], "cancelled")).as_py() or 0
    counts["guest_orders"] = pc.sum(pc.equal(orders["shop_customer_id"], "")).as_py() or 0
    counts["as_of"] = as_of_after(orders)
    return counts


def as_of_after(orders: pa.Table) -> str:
    """The day after the last invoice day: the as_of at which every order has happened."""
    last_day = pc.max(orders["landing_date"]).as_py()
    return (last_day + datetime.timedelta(days=1)).isoformat()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--input", type=Path, default=DEFAULT_INPUT,
                        help="Online Retail parquet (default: ../shared/realdata/online_retail/"
                             "onlineretail.parquet next to the repository)")
    parser.add_argument("--out", type=Path, required=True, help="landing directory to write")
    parser.add_argument("--as-of-file", type=Path, default=None,
                        help="also write the day after the last invoice (the as_of to build at) here")
    args = parser.parse_args(argv)
    try:
        counts = import_online_retail(args.input, args.out)
    except InputError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"input invoice lines: {counts['input_rows']:,}")
    for name in ("orders", "order_lines", "products"):
        print(f"shop/{name}: {counts[name + '_rows']:,} rows in {counts[name + '_files']} files")
    print(f"of the orders: {counts['cancelled_orders']:,} cancelled, "
          f"{counts['guest_orders']:,} without a customer id (guest, no email)")
    print(f"the data ends the day before {counts['as_of']}: build with as_of {counts['as_of']}")
    if args.as_of_file is not None:
        args.as_of_file.parent.mkdir(parents=True, exist_ok=True)
        args.as_of_file.write_text(counts["as_of"] + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
