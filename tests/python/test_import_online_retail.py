"""Tests for scripts/import_online_retail.py: a hand-made invoice file, then the real one."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest

SCRIPTS = Path(__file__).resolve().parents[2] / "scripts"
sys.path.insert(0, str(SCRIPTS))

import import_online_retail  # noqa: E402
import load_sources  # noqa: E402

REAL_FILE = import_online_retail.DEFAULT_INPUT

NAN = float("nan")
# InvoiceNo, StockCode, Description, Quantity, InvoiceDate (UK local), UnitPrice, CustomerID
LINES = [
    ("536365", "85123A", "WHITE HEART", 6, "2010-12-01 08:26", 2.55, 17850.0),
    ("536365", "71053", "LANTERN", 6, "2010-12-01 08:26", 3.39, 17850.0),
    ("C536379", "85123A", "WHITE HEART", -1, "2010-12-01 09:41", 2.55, 14527.0),
    ("555000", "85123A", "WHITE HANGING HEART", 2, "2011-06-01 10:00", 2.65, NAN),
    ("A563185", "B", "Adjust bad debt", 1, "2011-08-12 14:50", -11062.06, NAN),
    ("555000", "22000", None, 10, "2011-06-01 10:01", 0.0, NAN),
    ("555000", "71053", "LANTERN", 1, "2011-06-01 10:01", 3.40, NAN),
    ("580000", "71053", "LANTERN", 1, "2011-10-30 09:00", 3.39, 12346.0),
]


def write_input(path: Path) -> Path:
    frame = pd.DataFrame(
        LINES,
        columns=["InvoiceNo", "StockCode", "Description", "Quantity", "InvoiceDate",
                 "UnitPrice", "CustomerID"],
    )
    frame["InvoiceDate"] = pd.to_datetime(frame["InvoiceDate"])
    frame["Country"] = "United Kingdom"
    frame.to_parquet(path, index=False)
    return path


def read_landing(out: Path, table: str) -> list[tuple]:
    """All rows of a landing table as (date, *values), sorted."""
    rows = []
    for path in sorted((out / "shop" / table).glob("date=*/*.parquet")):
        assert path.name == "online_retail.parquet"
        date = path.parent.name.removeprefix("date=")
        for record in pq.read_table(path).to_pylist():
            rows.append((date, *record.values()))
    return sorted(rows)


@pytest.fixture
def imported(tmp_path: Path) -> tuple[Path, dict]:
    out = tmp_path / "landing"
    counts = import_online_retail.import_online_retail(write_input(tmp_path / "in.parquet"), out)
    return out, counts


def test_orders(imported):
    out, counts = imported
    assert read_landing(out, "orders") == [
        ("2010-12-01", "536365", "17850", "", "delivered", "GBP", "35.64",
         "2010-12-01T08:26:00+00:00", "2010-12-01T08:26:00+00:00"),
        ("2010-12-01", "C536379", "14527", "", "cancelled", "GBP", "-2.55",
         "2010-12-01T09:41:00+00:00", "2010-12-01T09:41:00+00:00"),
        ("2011-06-01", "555000", "", "", "delivered", "GBP", "8.70",
         "2011-06-01T10:00:00+01:00", "2011-06-01T10:00:00+01:00"),
        ("2011-08-12", "A563185", "", "", "delivered", "GBP", "-11062.06",
         "2011-08-12T14:50:00+01:00", "2011-08-12T14:50:00+01:00"),
        ("2011-10-30", "580000", "12346", "", "delivered", "GBP", "3.39",
         "2011-10-30T09:00:00+00:00", "2011-10-30T09:00:00+00:00"),
    ]
    assert counts["orders_rows"] == 5 and counts["orders_files"] == 4
    assert counts["cancelled_orders"] == 1 and counts["guest_orders"] == 2


def test_order_lines_one_per_input_line_in_file_order(imported):
    out, counts = imported
    assert read_landing(out, "order_lines") == [
        ("2010-12-01", "536365-1", "536365", "85123A", "6", "2.55"),
        ("2010-12-01", "536365-2", "536365", "71053", "6", "3.39"),
        ("2010-12-01", "C536379-1", "C536379", "85123A", "-1", "2.55"),
        ("2011-06-01", "555000-1", "555000", "85123A", "2", "2.65"),
        ("2011-06-01", "555000-2", "555000", "22000", "10", "0.0"),
        ("2011-06-01", "555000-3", "555000", "71053", "1", "3.4"),
        ("2011-08-12", "A563185-1", "A563185", "B", "1", "-11062.06"),
        ("2011-10-30", "580000-1", "580000", "71053", "1", "3.39"),
    ]
    assert counts["input_rows"] == counts["order_lines_rows"] == len(LINES)


def test_products(imported):
    out, _ = imported
    assert read_landing(out, "products") == [
        # 22000 never has a description; 85123A's most frequent one wins.
        ("2011-06-01", "22000", "", "", "0.00", "GBP", "2011-06-01T10:01:00+01:00"),
        ("2011-06-01", "85123A", "WHITE HEART", "", "2.55", "GBP", "2011-06-01T10:00:00+01:00"),
        ("2011-08-12", "B", "Adjust bad debt", "", "-11062.06", "GBP",
         "2011-08-12T14:50:00+01:00"),
        # Median of 3.39, 3.40, 3.39 is 3.39; last seen after the clocks went back.
        ("2011-10-30", "71053", "LANTERN", "", "3.39", "GBP", "2011-10-30T09:00:00+00:00"),
    ]


def test_median_of_even_count_keeps_exact_decimals(tmp_path):
    frame = pd.DataFrame({
        "InvoiceNo": ["1", "2"], "StockCode": ["P", "P"], "Description": ["X", "X"],
        "Quantity": [1, 1], "InvoiceDate": pd.to_datetime(["2011-01-01 10:00"] * 2),
        "UnitPrice": [0.42, 0.43], "CustomerID": [1.0, 2.0], "Country": ["UK", "UK"],
    })
    frame.to_parquet(tmp_path / "in.parquet", index=False)
    out = tmp_path / "landing"
    import_online_retail.import_online_retail(tmp_path / "in.parquet", out)
    assert [r[4] for r in read_landing(out, "products")] == ["0.425"]


def test_every_column_is_text_and_matches_contract(imported):
    out, _ = imported
    from landing_contract import table_for

    for table in ("orders", "order_lines", "products"):
        for path in (out / "shop" / table).glob("date=*/*.parquet"):
            schema = pq.read_schema(path)
            assert schema.names == list(table_for("shop", table).columns)
            assert all(str(t) == "string" for t in schema.types)


def test_rerun_rewrites_identical_bytes(tmp_path, imported):
    out, _ = imported
    before = {p: p.read_bytes() for p in out.rglob("*.parquet")}
    import_online_retail.import_online_retail(tmp_path / "in.parquet", out)
    after = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}
    assert before == after


def test_cli_missing_input_is_a_clear_error(tmp_path):
    result = subprocess.run(
        [sys.executable, str(SCRIPTS / "import_online_retail.py"),
         "--input", str(tmp_path / "absent.parquet"), "--out", str(tmp_path / "out")],
        capture_output=True, text=True,
    )
    assert result.returncode == 2
    assert "not found" in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "out").exists()


def test_cli_prints_counts(tmp_path):
    write_input(tmp_path / "in.parquet")
    result = subprocess.run(
        [sys.executable, str(SCRIPTS / "import_online_retail.py"),
         "--input", str(tmp_path / "in.parquet"), "--out", str(tmp_path / "out")],
        capture_output=True, text=True,
    )
    assert result.returncode == 0, result.stderr
    assert "input invoice lines: 8" in result.stdout
    assert "shop/order_lines: 8 rows" in result.stdout


@pytest.mark.skipif(not REAL_FILE.is_file(), reason=f"real data absent: {REAL_FILE}")
def test_real_file_reconciles_and_loads(tmp_path):
    out = tmp_path / "landing"
    counts = import_online_retail.import_online_retail(REAL_FILE, out)
    assert counts["input_rows"] == 541_909
    assert counts["order_lines_rows"] == 541_909
    assert counts["orders_rows"] == 25_900
    assert counts["products_rows"] == 4_070

    summary = load_sources.run(out, tmp_path / "warehouse.duckdb")
    assert not summary.failed
    assert summary.table_rows["shop_order_lines"] == 541_909
    assert summary.table_rows["shop_orders"] == 25_900
    assert summary.table_rows["shop_products"] == 4_070
