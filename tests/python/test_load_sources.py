"""Tests for scripts/load_sources.py on small landing files built in a temp dir."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

SCRIPTS = Path(__file__).resolve().parents[2] / "scripts"
sys.path.insert(0, str(SCRIPTS))

import load_sources  # noqa: E402
from landing_contract import LANDING_TABLES  # noqa: E402

LEDGER = "raw.ingestion_ledger"


def write_parquet(landing: Path, rel: str, rows: list[dict]) -> Path:
    path = landing / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.Table.from_pylist(rows), path)
    return path


def write_jsonl(landing: Path, rel: str, rows: list[dict], tail: str = "") -> Path:
    path = landing / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r) + "\n" for r in rows) + tail)
    return path


def orders(n: int, start: int = 0) -> list[dict]:
    return [
        {
            "order_id": f"o{i}",
            "shop_customer_id": f"c{i % 3}",
            "email": "",
            "order_status": "delivered",
            "currency": "GBP",
            "order_total": f"{i}.50",
            "ordered_at": "2024-01-01T10:00:00+00:00",
            "updated_at": "2024-01-01T10:00:00+00:00",
        }
        for i in range(start, start + n)
    ]


def web_events(n: int) -> list[dict]:
    return [
        {"event_id": f"e{i}", "anonymous_id": "a1", "event_type": "page_view",
         "occurred_at": "2024-01-01T10:00:00Z"}
        for i in range(n)
    ]


@pytest.fixture
def landing(tmp_path: Path) -> Path:
    path = tmp_path / "landing"
    path.mkdir()
    return path


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "warehouse.duckdb"


def load(landing: Path, db: Path, **kwargs) -> load_sources.RunSummary:
    return load_sources.run(landing, db, **kwargs)


def query(db: Path, sql: str, params=None) -> list[tuple]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute(sql, params or []).fetchall()
    finally:
        con.close()


def count(db: Path, table: str) -> int:
    return query(db, f"SELECT count(*) FROM {table}")[0][0]


def test_empty_landing_creates_every_contract_table(landing, db):
    summary = load(landing, db)
    assert summary.loaded == [] and summary.failed == []
    for table in LANDING_TABLES:
        columns = [r[0] for r in query(
            db,
            "SELECT column_name FROM information_schema.columns "
            "WHERE table_schema = 'raw' AND table_name = ? ORDER BY ordinal_position",
            [table.raw_table],
        )]
        assert columns == [*table.columns, "_source_file", "_file_row_number", "_loaded_at"]
        assert count(db, f"raw.{table.raw_table}") == 0
    assert count(db, LEDGER) == 0


def test_warehouse_is_created_owner_only_and_an_older_one_is_tightened(landing, db):
    load(landing, db)
    assert db.stat().st_mode & 0o777 == 0o600
    db.chmod(0o644)  # a warehouse created before the rule
    load(landing, db)
    assert db.stat().st_mode & 0o777 == 0o600


def test_parquet_and_jsonl_load_with_metadata_and_second_run_is_a_no_op(landing, db):
    write_parquet(landing, "shop/orders/date=2024-01-01/part-0.parquet", orders(3))
    write_parquet(landing, "shop/orders/date=2024-01-02/part-0.parquet", orders(2, start=3))
    write_jsonl(landing, "web/events/date=2024-01-01/part-0.jsonl", web_events(4))

    first = load(landing, db)
    assert len(first.loaded) == 3 and not first.failed
    assert count(db, "raw.shop_orders") == 5
    assert count(db, "raw.web_events") == 4

    rows = query(db, "SELECT order_id, _source_file, _file_row_number, _loaded_at "
                     "FROM raw.shop_orders ORDER BY order_id")
    assert [(r[0], r[1], r[2]) for r in rows] == [
        ("o0", "shop/orders/date=2024-01-01/part-0.parquet", 1),
        ("o1", "shop/orders/date=2024-01-01/part-0.parquet", 2),
        ("o2", "shop/orders/date=2024-01-01/part-0.parquet", 3),
        ("o3", "shop/orders/date=2024-01-02/part-0.parquet", 1),
        ("o4", "shop/orders/date=2024-01-02/part-0.parquet", 2),
    ]
    assert all(r[3] is not None for r in rows)
    web = query(db, "SELECT event_id, user_id, _source_file, _file_row_number "
                    "FROM raw.web_events ORDER BY _file_row_number")
    assert web == [(f"e{i}", None, "web/events/date=2024-01-01/part-0.jsonl", i + 1)
                   for i in range(4)]

    ledger = query(db, f"SELECT source, table_name, file_path, status, row_count, file_bytes, "
                       f"length(checksum), loaded_at FROM {LEDGER} ORDER BY file_path")
    assert [(r[0], r[1], r[2], r[3], r[4]) for r in ledger] == [
        ("shop", "orders", "shop/orders/date=2024-01-01/part-0.parquet", "loaded", 3),
        ("shop", "orders", "shop/orders/date=2024-01-02/part-0.parquet", "loaded", 2),
        ("web", "events", "web/events/date=2024-01-01/part-0.jsonl", "loaded", 4),
    ]
    assert all(r[5] > 0 and r[6] == 64 and r[7] is not None for r in ledger)
    # The ledger's loaded_at is the _loaded_at of the rows committed with it.
    assert query(db, f"SELECT count(*) FROM raw.shop_orders o JOIN {LEDGER} l "
                     f"ON l.file_path = o._source_file AND l.loaded_at = o._loaded_at")[0][0] == 5

    # The date=... partition folder is not a column.
    for table in ("shop_orders", "web_events"):
        assert "date" not in [r[0] for r in query(
            db, "SELECT column_name FROM information_schema.columns WHERE table_name = ?",
            [table])]

    second = load(landing, db)
    assert second.loaded == [] and second.already_loaded == 3
    assert count(db, "raw.shop_orders") == 5
    assert count(db, "raw.web_events") == 4
    assert count(db, LEDGER) == 3


def test_non_text_parquet_values_land_as_text(landing, db):
    write_parquet(landing, "shop/order_lines/date=2024-01-01/a.parquet", [
        {"order_line_id": "l1", "order_id": "o1", "product_id": "p", "quantity": 3,
         "unit_price": 2.5},
    ])
    load(landing, db)
    assert query(db, "SELECT quantity, unit_price FROM raw.shop_order_lines") == [("3", "2.5")]


def test_corrupt_file_fails_alone_and_loads_once_fixed(landing, db):
    write_parquet(landing, "shop/orders/date=2024-01-01/good.parquet", orders(2))
    bad = landing / "shop/orders/date=2024-01-02/bad.parquet"
    bad.parent.mkdir(parents=True)
    bad.write_bytes(b"PAR1 this is not parquet")
    broken_json = write_jsonl(landing, "web/events/date=2024-01-01/p.jsonl", web_events(2),
                              tail='{"event_id": "e9", broken\n')

    summary = load(landing, db)
    assert {f.rel_path for f, _ in summary.failed} == {
        "shop/orders/date=2024-01-02/bad.parquet", "web/events/date=2024-01-01/p.jsonl"}
    assert count(db, "raw.shop_orders") == 2
    assert count(db, "raw.web_events") == 0
    failed = query(db, f"SELECT file_path, error_message, row_count FROM {LEDGER} "
                       f"WHERE status = 'failed' ORDER BY file_path")
    assert len(failed) == 2 and all(r[1] for r in failed)
    assert "Parquet" in failed[0][1] or "parquet" in failed[0][1]
    assert "JSON" in failed[1][1]

    # Unchanged failed files are not retried (no new ledger rows) ...
    again = load(landing, db)
    assert len(again.still_failed) == 2 and not again.failed
    assert count(db, LEDGER) == 3

    # ... fixed files load on the next run.
    bad.unlink()
    write_parquet(landing, "shop/orders/date=2024-01-02/bad.parquet", orders(3, start=10))
    write_jsonl(landing, "web/events/date=2024-01-01/p.jsonl", web_events(3))
    fixed = load(landing, db)
    assert len(fixed.loaded) == 2 and not fixed.failed
    assert count(db, "raw.shop_orders") == 5
    assert count(db, "raw.web_events") == 3
    assert broken_json.exists()


def test_retry_failed_reattempts_unchanged_file(landing, db):
    bad = landing / "shop/orders/date=2024-01-02/bad.parquet"
    bad.parent.mkdir(parents=True)
    bad.write_bytes(b"garbage")
    load(landing, db)
    retried = load(landing, db, retry_failed=True)
    assert len(retried.failed) == 1
    assert query(db, f"SELECT status, count(*) FROM {LEDGER} GROUP BY 1") == [("failed", 2)]


def test_missing_key_column_fails_other_missing_columns_are_null(landing, db):
    rows = orders(2)
    no_key = [{k: v for k, v in r.items() if k != "order_id"} for r in rows]
    no_email = [{k: v for k, v in r.items() if k != "email"} for r in rows]
    write_parquet(landing, "shop/orders/date=2024-01-01/nokey.parquet", no_key)
    write_jsonl(landing, "shop/orders/date=2024-01-01/noemail.jsonl", no_email)
    summary = load(landing, db)
    assert [(f.rel_path, "order_id" in e) for f, e in summary.failed] == [
        ("shop/orders/date=2024-01-01/nokey.parquet", True)]
    assert query(db, "SELECT order_id, email FROM raw.shop_orders ORDER BY 1") == [
        ("o0", None), ("o1", None)]


def test_extra_columns_are_added_and_recorded(landing, db):
    write_parquet(landing, "shop/orders/date=2024-01-01/a.parquet", orders(1))
    load(landing, db)
    extra = [dict(r, loyalty_tier="gold") for r in orders(1, start=1)]
    write_parquet(landing, "shop/orders/date=2024-01-02/b.parquet", extra)
    write_jsonl(landing, "web/events/date=2024-01-02/b.jsonl",
                [dict(e, referrer={"host": "x.com"}) for e in web_events(1)])
    summary = load(landing, db)
    assert dict(summary.added_columns) == {"shop_orders": ["loyalty_tier"],
                                           "web_events": ["referrer"]}
    assert query(db, "SELECT order_id, loyalty_tier FROM raw.shop_orders ORDER BY 1") == [
        ("o0", None), ("o1", "gold")]
    assert query(db, "SELECT referrer FROM raw.web_events") == [('{"host":"x.com"}',)]
    assert query(db, f"SELECT file_path, added_columns FROM {LEDGER} "
                     f"WHERE added_columns IS NOT NULL ORDER BY 1") == [
        ("shop/orders/date=2024-01-02/b.parquet", "loyalty_tier"),
        ("web/events/date=2024-01-02/b.jsonl", "referrer"),
    ]
    types = query(db, "SELECT data_type FROM information_schema.columns "
                      "WHERE table_name = 'shop_orders' AND column_name = 'loyalty_tier'")
    assert types == [("VARCHAR",)]


def test_changed_loaded_file_is_skipped_not_double_loaded(landing, db):
    path = write_parquet(landing, "shop/orders/date=2024-01-01/a.parquet", orders(2))
    load(landing, db)
    write_parquet(landing, "shop/orders/date=2024-01-01/a.parquet", orders(3))
    summary = load(landing, db)
    assert [f.rel_path for f, _ in summary.changed] == ["shop/orders/date=2024-01-01/a.parquet"]
    assert count(db, "raw.shop_orders") == 2
    rows = query(db, f"SELECT status, error_message FROM {LEDGER} ORDER BY loaded_at")
    assert [r[0] for r in rows] == ["loaded", "skipped_changed"]
    assert "changed after it was loaded" in rows[1][1]
    # Recorded once, however many runs see the same changed bytes.
    load(landing, db)
    assert count(db, LEDGER) == 2 and count(db, "raw.shop_orders") == 2
    assert path.exists()


def test_unknown_folders_and_bad_layout_fail_without_crashing(landing, db):
    write_parquet(landing, "shop/orders/date=2024-01-01/ok.parquet", orders(1))
    write_parquet(landing, "shop/returns/date=2024-01-01/r.parquet", [{"return_id": "r1"}])
    write_parquet(landing, "shop/orders/nodate/x.parquet", orders(1))
    (landing / "billing" / "invoices").mkdir(parents=True)
    (landing / "shop/orders/date=2024-01-01/notes.txt").write_text("hi")
    (landing / "shop/orders/date=2024-01-01/_SUCCESS").write_text("")
    summary = load(landing, db)
    assert len(summary.loaded) == 1
    errors = {f.rel_path: e for f, e in summary.failed}
    assert "unknown landing folder shop/returns" in errors["shop/returns/date=2024-01-01/r.parquet"]
    assert "date=YYYY-MM-DD" in errors["shop/orders/nodate/x.parquet"]
    assert summary.unknown_folders == {"shop/returns", "billing/invoices"}
    assert summary.ignored == ["shop/orders/date=2024-01-01/notes.txt"]
    assert query(db, f"SELECT source, table_name, status FROM {LEDGER} "
                     f"WHERE file_path LIKE 'shop/returns/%'") == [("shop", "returns", "failed")]
    text = load_sources.format_summary(summary, 0.1)
    assert "unknown landing folder (not in the contract): billing/invoices" in text


def test_batched_parquet_with_one_bad_file_keeps_ledger_exact(landing, db):
    for day in range(1, 6):
        write_parquet(landing, f"shop/orders/date=2024-01-0{day}/p.parquet",
                      orders(day, start=day * 10))
    # Metadata readable, data pages corrupt: only the load statement notices.
    victim = landing / "shop/orders/date=2024-01-03/p.parquet"
    data = bytearray(victim.read_bytes())
    data[4:40] = b"\xff" * 36
    victim.write_bytes(bytes(data))
    summary = load(landing, db)
    loaded = sorted((f.rel_path, n) for f, n in summary.loaded)
    failed = [(f.rel_path, e.split(":")[0]) for f, e in summary.failed]
    # Rejected by the batch statement, then alone, not by the metadata check.
    assert failed == [("shop/orders/date=2024-01-03/p.parquet", "load failed")]
    assert [n for _, n in loaded] == [1, 2, 4, 5]
    assert count(db, "raw.shop_orders") == 12
    assert query(db, f"SELECT sum(row_count) FROM {LEDGER} WHERE status = 'loaded'") == [(12,)]


def test_empty_jsonl_loads_zero_rows(landing, db):
    (landing / "web/events/date=2024-01-01").mkdir(parents=True)
    (landing / "web/events/date=2024-01-01/empty.jsonl").write_text("")
    summary = load(landing, db)
    assert [(f.rel_path, n) for f, n in summary.loaded] == [
        ("web/events/date=2024-01-01/empty.jsonl", 0)]


def run_cli(*args: str, env=None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(SCRIPTS / "load_sources.py"), *args],
                          capture_output=True, text=True, env=env)


def test_cli_summary_and_argument_errors(landing, db, tmp_path):
    write_parquet(landing, "shop/orders/date=2024-01-01/a.parquet", orders(2))
    ok = run_cli("--landing", str(landing), "--database", str(db))
    assert ok.returncode == 0, ok.stderr
    assert "files loaded: 1" in ok.stdout and "raw.shop_orders" in ok.stdout

    missing = run_cli("--landing", str(tmp_path / "nope"), "--database", str(db))
    assert missing.returncode == 2
    assert "does not exist" in missing.stderr and "Traceback" not in missing.stderr
    assert len(missing.stderr.strip().splitlines()) == 1


def test_cli_reports_locked_database(landing, db):
    load(landing, db)
    holder = subprocess.Popen(
        [sys.executable, "-c",
         f"import duckdb,sys,time; c=duckdb.connect({str(db)!r}); print('ok', flush=True); "
         "sys.stdin.read()"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "ok"
        locked = run_cli("--landing", str(landing), "--database", str(db))
    finally:
        holder.communicate("")
    assert locked.returncode == 3
    assert "another process" in locked.stderr and "Traceback" not in locked.stderr
    assert len(locked.stderr.strip().splitlines()) == 1


def test_cli_with_relative_paths(landing, tmp_path):
    write_parquet(landing, "shop/orders/date=2024-01-01/a.parquet", orders(2))
    write_jsonl(landing, "web/events/date=2024-01-01/a.jsonl", web_events(2))
    result = subprocess.run(
        [sys.executable, str(SCRIPTS / "load_sources.py"),
         "--landing", "landing", "--database", "rel/warehouse.duckdb"],
        capture_output=True, text=True, cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    db = tmp_path / "rel" / "warehouse.duckdb"
    assert query(db, "SELECT DISTINCT _source_file FROM raw.shop_orders") == [
        ("shop/orders/date=2024-01-01/a.parquet",)]
    assert query(db, f"SELECT file_path, status FROM {LEDGER} ORDER BY 1") == [
        ("shop/orders/date=2024-01-01/a.parquet", "loaded"),
        ("web/events/date=2024-01-01/a.jsonl", "loaded"),
    ]


def test_database_defaults_to_env_var(landing, tmp_path):
    env = dict(__import__("os").environ, SEGMENTS_DUCKDB_PATH=str(tmp_path / "env.duckdb"))
    result = run_cli("--landing", str(landing), env=env)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "env.duckdb").exists()


def test_jsonl_scalars_land_as_their_text(landing, db):
    path = landing / "shop/order_lines/date=2024-01-01/a.jsonl"
    path.parent.mkdir(parents=True)
    path.write_text('{"order_line_id": "l1", "order_id": "o1", "quantity": 3, '
                    '"unit_price": null, "product_id": true}\n')
    load(landing, db)
    assert query(db, "SELECT order_line_id, quantity, unit_price, product_id "
                     "FROM raw.shop_order_lines") == [("l1", "3", None, "true")]


def test_copied_file_loads_under_its_own_path_with_a_note(landing, db):
    first = write_parquet(landing, "shop/orders/date=2024-01-01/a.parquet", orders(2))
    load(landing, db)
    copy = landing / "shop/orders/date=2024-01-02/a.parquet"
    copy.parent.mkdir(parents=True)
    copy.write_bytes(first.read_bytes())
    summary = load(landing, db)
    assert summary.same_bytes_as == [("shop/orders/date=2024-01-02/a.parquet",
                                      "shop/orders/date=2024-01-01/a.parquet")]
    assert count(db, "raw.shop_orders") == 4
    assert "has the same bytes as" in load_sources.format_summary(summary, 0.1)


def test_rows_and_ledger_commit_together(landing, db, monkeypatch):
    write_parquet(landing, "shop/orders/date=2024-01-01/a.parquet", orders(2))
    real_record = load_sources.record

    def ledger_write_fails(con, landing_file, status, *args, **kwargs):
        if status == load_sources.LOADED:
            raise duckdb.IOException("disk full while writing the ledger")
        return real_record(con, landing_file, status, *args, **kwargs)

    monkeypatch.setattr(load_sources, "record", ledger_write_fails)
    summary = load(landing, db)
    assert [f.rel_path for f, _ in summary.failed] == ["shop/orders/date=2024-01-01/a.parquet"]
    assert count(db, "raw.shop_orders") == 0

    monkeypatch.setattr(load_sources, "record", real_record)
    assert len(load(landing, db, retry_failed=True).loaded) == 1
    assert count(db, "raw.shop_orders") == 2


def test_killed_run_leaves_whole_files_only(landing, db, tmp_path):
    import os
    import signal
    import time

    for i in range(300):
        write_jsonl(landing, f"web/events/date=2024-01-01/p{i:03d}.jsonl", web_events(50))
    command = [sys.executable, str(SCRIPTS / "load_sources.py"), "--landing", str(landing)]
    started = time.perf_counter()
    subprocess.run([*command, "--database", str(tmp_path / "timing.duckdb")],
                   check=True, capture_output=True)
    full_run = time.perf_counter() - started

    # Killed about three quarters of the way through: some files loaded, some not.
    proc = subprocess.Popen([*command, "--database", str(db)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(full_run * 0.75)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()

    loaded = query(db, f"SELECT file_path, row_count FROM {LEDGER} WHERE status = 'loaded'")
    rows = dict(query(db, "SELECT _source_file, count(*) FROM raw.web_events GROUP BY 1"))
    assert rows == {path: n for path, n in loaded}

    summary = load(landing, db)
    assert len(summary.loaded) + summary.already_loaded == 300
    assert count(db, "raw.web_events") == 300 * 50
    assert query(db, f"SELECT count(DISTINCT file_path) FROM {LEDGER}") == [(300,)]
