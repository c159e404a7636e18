"""Tests for scripts/generate_sources.py: determinism, increments, contract, mess, CLI."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import subprocess
import sys
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "scripts" / "generate_sources.py"
sys.path.insert(0, str(REPO / "scripts"))

from landing_contract import LANDING_TABLES  # noqa: E402

END = dt.date(2026, 3, 31)
# The mess run uses rates well above the defaults so that small samples measure them.
MESS_RATES = {"malformed": 0.02, "duplicate": 0.03, "late": 0.05}


def run_cli(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    result = subprocess.run([sys.executable, str(SCRIPT), *args], capture_output=True, text=True)
    if check:
        assert result.returncode == 0, result.stderr
    return result


def generate(out: Path, customers=600, days=8, seed=3, end=END, *extra: str) -> Path:
    run_cli("--customers", str(customers), "--days", str(days), "--seed", str(seed),
            "--out", str(out), "--end-date", end.isoformat(), *extra)
    return out


def digests(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*.parquet"))}


def read(con: duckdb.DuckDBPyConnection, root: Path, key: str) -> str:
    """A relation name for one landed table, with its landing date as column ``landed``."""
    name = key.replace("/", "_")
    con.execute(f"""
        create or replace view {name} as
        select * exclude (date), cast(date as date) as landed
        from read_parquet('{root}/{key}/*/*.parquet', hive_partitioning = true)""")
    return name


@pytest.fixture(scope="module")
def mess_run(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("mess")
    generate(out, 3000, 28, 11, END,
             "--malformed-rate", str(MESS_RATES["malformed"]),
             "--duplicate-rate", str(MESS_RATES["duplicate"]),
             "--late-rate", str(MESS_RATES["late"]))
    return out


@pytest.fixture(scope="module")
def con(mess_run):
    connection = duckdb.connect()
    connection.execute("set TimeZone = 'UTC'")
    for table in LANDING_TABLES:
        read(connection, mess_run, f"{table.source}/{table.table}")
    return connection


def scalar(con, sql: str):
    return con.execute(sql).fetchone()[0]


# --- determinism and increments ---------------------------------------------------
# The content of a small messy window and its increment (generate with PINNED_RUN, then
# --increment). A refactor of the generator must keep it; a deliberate change of the
# simulated data updates it, and says why in the commit.
PINNED_RUN = ("--customers", "300", "--days", "10", "--seed", "5", "--end-date", "2026-03-31",
              "--malformed-rate", "0.02", "--duplicate-rate", "0.03", "--late-rate", "0.05")
PINNED_FILES = 68
PINNED_ROWS = 2102
PINNED_DIGEST = "553a8b2df1cfefa3c5f24d4edf2bba552d189f1ca8b51f8dcfc5eeb8065a8832"


def content_digest(root: Path) -> tuple[int, int, str]:
    """(files, rows, sha256 over every file's path, column names and values in order):
    the landed content, whatever bytes a Parquet writer version chooses for it."""
    digest, files, rows = hashlib.sha256(), 0, 0
    for path in sorted(root.rglob("*.parquet")):
        table = pq.read_table(path)
        digest.update(path.relative_to(root).as_posix().encode() + b"\0")
        digest.update(json.dumps(table.to_pydict(), ensure_ascii=False).encode() + b"\0")
        files, rows = files + 1, rows + table.num_rows
    return files, rows, digest.hexdigest()


def test_pinned_content_of_a_small_window_and_increment(tmp_path):
    out = tmp_path / "pinned"
    run_cli(*PINNED_RUN, "--out", str(out))
    run_cli(*PINNED_RUN, "--out", str(out), "--increment")
    assert content_digest(out) == (PINNED_FILES, PINNED_ROWS, PINNED_DIGEST), (
        "the generated landing content changed; if that is intended, pin the new value")


def test_same_seed_gives_identical_files_and_other_seed_differs(tmp_path):
    first = digests(generate(tmp_path / "a"))
    assert first and first == digests(generate(tmp_path / "b"))
    other = digests(generate(tmp_path / "c", 600, 8, 4))
    key = f"web/events/date={END:%Y-%m-%d}/part-0.parquet"
    assert other[key] != first[key]


def increment(out: Path, end_date: dt.date | None = END, check: bool = True) -> subprocess.CompletedProcess:
    """The command of ``generate``'s default window plus --increment; without --end-date
    when ``end_date`` is None."""
    window_end = ("--end-date", end_date.isoformat()) if end_date else ()
    return run_cli("--customers", "600", "--days", "8", "--seed", "3", "--out", str(out),
                   *window_end, "--increment", check=check)


def landing_dates(digest: dict[str, str]) -> set[str]:
    return {key.split("/")[2] for key in digest}


def test_one_increment_is_the_day_after_the_window(tmp_path):
    window = generate(tmp_path / "window")
    before = digests(window)
    result = increment(window)
    next_day = END + dt.timedelta(days=1)
    assert f"increment {next_day}" in result.stdout
    after = digests(window)
    new = {k: v for k, v in after.items() if k not in before}
    assert new and landing_dates(new) == {f"date={next_day}"}
    assert {k: after[k] for k in before} == before  # nothing rewritten

    longer = digests(generate(tmp_path / "longer", 600, 9, 3, next_day))
    assert longer == after  # same world start: every partition byte-identical


def test_two_increments_land_the_next_two_days(tmp_path):
    window = generate(tmp_path / "window")
    landed = []
    for _ in range(2):
        before = digests(window)
        increment(window)
        landed.append(landing_dates({k: v for k, v in digests(window).items() if k not in before}))
    assert landed == [{f"date={END + dt.timedelta(days=1)}"}, {f"date={END + dt.timedelta(days=2)}"}]
    longer = digests(generate(tmp_path / "longer", 600, 10, 3, END + dt.timedelta(days=2)))
    assert longer == digests(window)


def test_increment_follows_the_landed_days_not_todays_date(tmp_path):
    """Without --end-date (whose default is yesterday) the increment still continues the
    landed window: the day after its newest date, in the world that started with it."""
    window = generate(tmp_path / "window")
    increment(window, end_date=None)
    longer = digests(generate(tmp_path / "longer", 600, 9, 3, END + dt.timedelta(days=1)))
    assert digests(window) == longer


@pytest.mark.parametrize("state", ["missing", "empty", "unfinished write"])
def test_increment_without_landed_files_is_a_one_line_error(state, tmp_path):
    out = tmp_path / "landing"
    if state != "missing":
        out.mkdir()
    if state == "unfinished write":  # only the hidden temporary file of a write
        partition = out / "web" / "events" / f"date={END}"
        partition.mkdir(parents=True)
        (partition / ".part-0.parquet.tmp").write_bytes(b"PAR1")
    before = sorted(out.rglob("*")) if out.exists() else None
    result = increment(out, check=False)
    assert result.returncode == 1 and result.stdout == ""
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    assert result.stderr.startswith("error: --increment") and "has no landed files" in result.stderr
    assert (sorted(out.rglob("*")) if out.exists() else None) == before


def test_increment_of_another_window_is_refused(tmp_path):
    window = generate(tmp_path / "window")
    before = digests(window)
    result = increment(window, END + dt.timedelta(days=3), check=False)  # starts 3 days later
    assert result.returncode == 1 and result.stderr.count("\n") == 1
    assert f"starts on {END - dt.timedelta(days=7)}" in result.stderr and "Traceback" not in result.stderr
    assert digests(window) == before


def test_late_rows_after_the_window_land_in_the_increments(mess_run, tmp_path):
    """Nothing late from the window's last days is lost: the increments carry it."""
    longer = generate(tmp_path / "longer", 3000, 31, 11, END + dt.timedelta(days=3),
                      "--malformed-rate", str(MESS_RATES["malformed"]),
                      "--duplicate-rate", str(MESS_RATES["duplicate"]),
                      "--late-rate", str(MESS_RATES["late"]))
    window, extended = digests(mess_run), digests(longer)
    assert {k: extended[k] for k in window} == window
    c = duckdb.connect()
    c.execute("set TimeZone = 'UTC'")
    name = read(c, longer, "web/events")
    carried = scalar(c, f"""
        select count(*) from {name}
        where landed > date '{END}' and try_cast(occurred_at as timestamptz)::date <= date '{END}'""")
    assert carried > 0
    # Each event id has exactly one content, however often it was delivered.
    assert scalar(c, f"""
        select count(*) from (select event_id
                              from (select distinct * exclude (landed) from {name})
                              where event_id <> '' group by event_id having count(*) > 1)""") == 0


# --- contract -----------------------------------------------------------------------
def test_every_file_matches_the_contract(mess_run):
    seen = set()
    for table in LANDING_TABLES:
        files = sorted((mess_run / table.landing_dir).glob("date=*/part-0.parquet"))
        assert files, table.landing_dir
        for path in files:
            dt.date.fromisoformat(path.parent.name.removeprefix("date="))
            schema = pq.read_schema(path)
            assert tuple(schema.names) == table.columns, path
            assert all(f.type in (pa.string(), pa.large_string()) for f in schema), path
            assert pq.ParquetFile(path).metadata.num_rows > 0
        seen.add(table.landing_dir)
    landed_dirs = {f"{p.parent.name}/{p.name}" for p in mess_run.iterdir() for p in p.iterdir()}
    assert landed_dirs == seen
    dates = {p.parent.name for p in mess_run.rglob("part-0.parquet")}
    assert dates == {f"date={END - dt.timedelta(days=i):%Y-%m-%d}" for i in range(28)}
    # Products and campaigns land only on some dates.
    assert len(list((mess_run / "shop/products").iterdir())) < 28


# --- configured mess ----------------------------------------------------------------
def within(observed: float, expected: float, n: int) -> bool:
    """``observed`` is a share of ``n`` draws: allow 4 standard errors plus 10 %."""
    return abs(observed - expected) <= 4 * (expected * (1 - expected) / n) ** 0.5 + 0.1 * expected


def test_duplicate_share(con):
    for name in ("web_events", "email_events", "shop_orders"):
        total = scalar(con, f"select count(*) from {name}")
        distinct = scalar(con, f"select count(*) from (select distinct * exclude (landed) from {name})")
        share = (total - distinct) / distinct
        assert within(share, MESS_RATES["duplicate"], distinct), (name, share)
    # Redeliveries land in the same partition or up to three later.
    spread = scalar(con, """
        select max(max_landed - min_landed) from (
            select max(landed) - min(landed) as spread, min(landed) as min_landed,
                   max(landed) as max_landed
            from web_events where event_id <> '' group by event_id)""")
    assert 1 <= spread <= 3


def test_malformed_share_and_kinds(con):
    web_bad, n = con.execute("""
        select avg(case when event_id = ''
                     or event_type not in ('page_view', 'product_view', 'add_to_cart',
                                           'checkout_start', 'login', 'search')
                     or try_cast(occurred_at as timestamptz) is null then 1 else 0 end), count(*)
        from (select distinct * exclude (landed) from web_events)""").fetchone()
    assert within(web_bad, MESS_RATES["malformed"], n), web_bad
    lines_bad, n = con.execute("""
        select avg(case when order_line_id = '' or try_cast(quantity as integer) <= 0
                     or try_cast(unit_price as decimal(12, 2)) is null then 1 else 0 end), count(*)
        from (select distinct * exclude (landed) from shop_order_lines)""").fetchone()
    assert within(lines_bad, MESS_RATES["malformed"], n), lines_bad
    assert scalar(con, "select count(*) from web_events where occurred_at in ('not-a-timestamp', '2026-13-45')") > 0
    assert scalar(con, "select count(*) from web_events where event_type = 'pageview??'") > 0
    assert scalar(con, "select count(*) from web_events where event_id = ''") > 0
    assert scalar(con, "select count(*) from shop_orders where try_cast(order_total as double) is null") > 0
    assert scalar(con, "select count(*) from shop_orders where order_id = ''") > 0
    assert scalar(con, "select count(*) from shop_order_lines where try_cast(quantity as integer) < 0") > 0
    assert scalar(con, "select count(*) from email_events where try_cast(occurred_at as timestamptz) is null") > 0
    assert scalar(con, "select count(*) from crm_contacts where contact_id = ''") > 0


def test_late_share(con):
    # The first delivery of an event is the original; later copies are redeliveries.
    con.execute("""
        create or replace temp view web_originals as
        select event_id, min(landed) as landed,
               any_value(try_cast(occurred_at as timestamptz)::date) as occurred
        from web_events where event_id <> '' group by event_id""")
    share, n = con.execute(f"""
        select avg(case when landed > occurred then 1 else 0 end), count(*) from web_originals
        where occurred is not null and occurred <= date '{END}' - 3""").fetchone()
    assert within(share, MESS_RATES["late"], n), share
    assert con.execute("select min(landed - occurred), max(landed - occurred) from web_originals"
                       ).fetchone() == (0, 3)


def test_web_timestamps_mix_offsets_and_keep_instants(con):
    suffixes = {row[0] for row in con.execute("""
        select distinct case when occurred_at like '%Z' then 'Z' else right(occurred_at, 6) end
        from web_events where try_cast(occurred_at as timestamptz) is not null""").fetchall()}
    assert "Z" in suffixes
    assert any(s.startswith("+") for s in suffixes) and any(s.startswith("-") for s in suffixes)
    # Purchase sessions end in checkout_start shortly before the order: only true if the
    # local timestamps with their offsets denote the right instants.
    share = scalar(con, """
        with placed as (
            select distinct order_id, shop_customer_id, try_cast(ordered_at as timestamptz) as at
            from shop_orders where order_status = 'placed' and shop_customer_id <> ''),
        checkouts as (
            select distinct user_id, try_cast(occurred_at as timestamptz) as at
            from web_events where event_type = 'checkout_start' and user_id <> '')
        select avg(case when exists (
                    select 1 from checkouts c where c.user_id = p.shop_customer_id
                    and c.at between p.at - interval 6 minute and p.at) then 1 else 0 end)
        from placed p where p.at is not null""")
    assert share > 0.9, share


def test_identity_mess(con):
    assert scalar(con, "select count(*) from shop_orders where shop_customer_id = '' and email <> ''") > 0
    assert scalar(con, """
        select count(*) from (select anonymous_id from web_events where user_id <> ''
                              group by anonymous_id having count(distinct user_id) > 1)""") > 0
    assert scalar(con, """select count(*) from crm_contacts where is_test_account = 'true'
                          and email ilike '%qa+%@test.example.com%'""") > 0
    assert scalar(con, """
        select count(*) from shop_orders
        where lower(trim(email)) in (select lower(trim(email)) from crm_contacts
                                     where is_test_account = 'true')""") > 0
    assert scalar(con, "select count(*) from shop_orders where email <> trim(email)") > 0
    assert scalar(con, "select count(*) from email_events where email <> lower(email)") > 0
    assert scalar(con, "select count(*) from crm_contacts where phone = ''") > 0
    assert scalar(con, "select count(*) from crm_contacts where birth_date = ''") > 0
    assert scalar(con, "select count(*) from crm_contacts where country_code = ''") > 0


def test_change_records_arrive_late_and_out_of_order(con):
    out_of_order = scalar(con, """
        select count(*) from crm_contacts a join crm_contacts b using (contact_id)
        where a.updated_at < b.updated_at and a.landed > b.landed
          and try_cast(a.updated_at as timestamp) is not null""")
    assert out_of_order > 0
    later_status = scalar(con, """
        select count(*) from shop_orders f join shop_orders p using (order_id)
        where p.order_status = 'placed' and f.order_status in ('delivered', 'cancelled', 'refunded')
          and f.landed > p.landed""")
    assert later_status > 0
    stages = {r[0] for r in con.execute("select distinct lifecycle_stage from crm_contacts").fetchall()}
    assert {"lead", "customer"} <= stages
    sources = {r[0] for r in con.execute("select distinct capture_source from crm_consent_events").fetchall()}
    assert sources >= {"signup_form", "checkout", "preference_center", "import"}


def test_consent_events_cover_onsite_ad_purposes_and_global_unsubscribes(con):
    counts = dict(con.execute("""
        select channel || '/' || coalesce(nullif(purpose, ''), '*') || '/' || consent_status, count(*)
        from crm_consent_events group by 1""").fetchall())
    assert counts.get("onsite/*/granted", 0) > 0 and counts.get("onsite/*/revoked", 0) > 0
    assert counts.get("ads/ad_personalization/revoked", 0) > 0
    assert counts.get("all/*/revoked", 0) > 0
    assert not any(key.startswith("all/") and key.endswith("/granted") for key in counts)
    # Nobody gets a campaign email after their global unsubscribe.
    assert scalar(con, """
        with unsubscribed as (
            select contact_id, min(try_cast(occurred_at as timestamptz)) as unsubscribed_at
            from crm_consent_events where channel = 'all' group by contact_id),
        unsubscribed_emails as (
            select distinct lower(trim(contacts.email)) as email, unsubscribed.unsubscribed_at
            from unsubscribed join crm_contacts as contacts using (contact_id))
        select count(*) from email_events
        join unsubscribed_emails on lower(trim(email_events.email)) = unsubscribed_emails.email
        where email_events.event_type = 'send' and email_events.campaign_id like 'CMP-2%'
          and try_cast(email_events.occurred_at as timestamptz) > unsubscribed_emails.unsubscribed_at + interval 1 hour""") == 0


def test_email_rates_are_realistic(con):
    rates = con.execute("""
        with e as (select distinct * exclude (landed) from email_events
                   where campaign_id like 'CMP-2%')
        select count(*) filter (where event_type = 'open') / count(*) filter (where event_type = 'delivery'),
               count(*) filter (where event_type = 'click') / count(*) filter (where event_type = 'delivery'),
               count(*) filter (where event_type = 'bounce')
        from e""").fetchone()
    assert 0.2 <= rates[0] <= 0.35 and 0.02 <= rates[1] <= 0.05 and rates[2] > 0


def test_order_total_is_sum_of_lines(con):
    rows = con.execute("""
        with lines as (
            select distinct order_line_id, order_id, quantity, unit_price from shop_order_lines),
        good_lines as (
            select order_id, sum(try_cast(quantity as integer) * try_cast(unit_price as decimal(12, 2))) as total,
                   bool_and(order_line_id <> '' and try_cast(quantity as integer) > 0
                            and try_cast(unit_price as decimal(12, 2)) is not null) as ok
            from lines group by order_id),
        orders as (
            select order_id, any_value(order_total) as order_total from shop_orders
            where order_status = 'placed' and order_id <> ''
              and try_cast(order_total as decimal(12, 2)) is not null
            group by order_id)
        select count(*), count(*) filter (where try_cast(o.order_total as decimal(12, 2)) = l.total)
        from orders o join good_lines l using (order_id) where l.ok""").fetchone()
    assert rows[0] > 200 and rows[0] == rows[1]
    assert scalar(con, "select count(*) from shop_orders where order_total not like '%.__' and try_cast(order_total as double) is not null") == 0


def test_zero_rates_give_clean_data(tmp_path):
    out = generate(tmp_path / "clean", 600, 8, 5, END, "--malformed-rate", "0",
                   "--duplicate-rate", "0", "--late-rate", "0")
    c = duckdb.connect()
    c.execute("set TimeZone = 'UTC'")
    name = read(c, out, "web/events")
    assert scalar(c, f"select count(*) - count(distinct event_id) from {name}") == 0
    assert scalar(c, f"""select count(*) from {name}
                         where landed <> try_cast(occurred_at as timestamptz)::date""") == 0


# --- CLI ----------------------------------------------------------------------------
@pytest.mark.parametrize("args", [
    ["--customers", "0", "--days", "5", "--seed", "1", "--out", "X"],
    ["--customers", "ten", "--days", "5", "--seed", "1", "--out", "X"],
    ["--customers", "10", "--days", "-3", "--seed", "1", "--out", "X"],
    ["--customers", "10", "--days", "5", "--seed", "1", "--out", "X", "--end-date", "2026-02-30"],
    ["--customers", "10", "--days", "5", "--seed", "1", "--out", "X", "--late-rate", "2"],
    ["--customers", "10", "--days", "5", "--seed", "1", "--out", "X", "--malformed-rate", "abc"],
    ["--customers", "10", "--days", "5", "--seed", "1"],
])
def test_bad_arguments_exit_2_without_traceback(args, tmp_path):
    args = [str(tmp_path / "out") if a == "X" else a for a in args]
    result = run_cli(*args, check=False)
    assert result.returncode == 2
    assert "error:" in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "out").exists()


def test_summary_lists_every_table(tmp_path):
    result = run_cli("--customers", "50", "--days", "2", "--seed", "1", "--out", str(tmp_path / "o"),
                     "--end-date", END.isoformat())
    for table in LANDING_TABLES:
        assert f"{table.source}/{table.table}" in result.stdout
    assert "total" in result.stdout


@pytest.mark.parametrize("customers", ["1", "2"])
def test_tiny_worlds_generate_and_increment(customers, tmp_path):
    out = tmp_path / "tiny"
    common = ["--customers", customers, "--days", "5", "--seed", "9", "--out", str(out),
              "--end-date", END.isoformat()]
    run_cli(*common)
    run_cli(*common, "--increment")
    assert (out / "crm" / "contacts").is_dir()
