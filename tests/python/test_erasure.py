"""Erasure reaches everything: a person erased, then searched for in every file.

Builds a small warehouse in a copy of the project with the scheduled build (which completes
erasure requests before dbt runs, scripts/erasure.py), gives one customer a name nobody
else has, plants export files holding them (as an email platform's CSV, an ad platform's
hashed list and a webhook's JSON lines), then lands an erasure request naming only their
email (in another case, with spaces). After the next scheduled build, no table of any
database file and no export file holds their email, phone, name, contact id, shop customer
id, customer id or device ids, the erasure log shows the request completed, and the
other people's export rows are still there. A later event with the same email is dropped
by the loader and counted in its ledger. A request left pending past the deadline fails
the deadline test.
"""

from __future__ import annotations

import datetime
import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

PROJECT_DIR = Path(__file__).resolve().parents[2]
SCRIPTS = PROJECT_DIR / "scripts"
END_DATE = "2026-06-29"
UNIQUE_FIRST_NAME = "Zebulon"
UNIQUE_LAST_NAME = "Quartermaine"
NATIONAL_PHONE = "0770 090 0123"


def run(command: list[str], cwd: Path, env: dict[str, str], expect: int = 0) -> str:
    result = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, check=False)
    assert result.returncode == expect, (
        f"{' '.join(command)} exited {result.returncode}, expected {expect}:\n"
        f"{result.stdout[-4000:]}\n{result.stderr[-2000:]}"
    )
    return result.stdout


@pytest.fixture(scope="module")
def state(tmp_path_factory):
    root = tmp_path_factory.mktemp("erasure")
    project = root / "project"
    shutil.copytree(
        PROJECT_DIR, project,
        ignore=shutil.ignore_patterns(".venv", ".git", "data", "target*", "logs*", "__pycache__", ".pytest_cache"),
    )
    data = root / "data"
    (data / "duckdb_tmp").mkdir(parents=True)
    env = {
        **os.environ,
        "DBT_PROFILES_DIR": str(project),
        "SEGMENTS_DUCKDB_PATH": str(data / "warehouse.duckdb"),
        "SEGMENTS_DUCKDB_TEMP_DIR": str(data / "duckdb_tmp"),
        "SEGMENTS_AS_OF": END_DATE,
        "DBT_TARGET_PATH": str(root / "target"),
        "DBT_LOG_PATH": str(root / "logs"),
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
    }
    env.pop("SEGMENTS_SERVING_PATH", None)
    env.pop("SEGMENTS_EXPORTS_PATH", None)
    landing = root / "landing"
    run([sys.executable, str(SCRIPTS / "generate_sources.py"), "--customers", "300", "--days", "60",
         "--seed", "5", "--end-date", END_DATE, "--out", str(landing)], project, env)
    s = {"root": root, "project": project, "data": data, "env": env, "landing": landing,
         "database": data / "warehouse.duckdb", "exports": data / "exports"}
    load(s)
    scheduled_build(s)
    return s


def load(s: dict) -> str:
    return run([sys.executable, str(SCRIPTS / "load_sources.py"), "--landing", str(s["landing"]),
                "--database", str(s["database"])], s["project"], s["env"])


def scheduled_build(s: dict) -> str:
    return run([sys.executable, str(SCRIPTS / "scheduled_build.py"), "--project-dir", str(s["project"])],
               s["project"], s["env"])


def land(s: dict, table: str, name: str, rows: list[dict]) -> None:
    folder = s["landing"] / table / f"date={END_DATE}"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{name}.jsonl").write_text("".join(json.dumps(row) + "\n" for row in rows))


def query(s: dict, sql: str) -> list[tuple]:
    with duckdb.connect(str(s["database"]), read_only=True) as con:
        return con.sql(sql).fetchall()


def database_files(s: dict) -> list[Path]:
    return sorted(path for path in s["data"].rglob("*.duckdb") if path.is_file())


def hits_in_databases(s: dict, needles: set[str]) -> list[str]:
    """`file schema.table.column: needle` for every column of every table of every
    database file that holds a needle (case-insensitive, anywhere in the value)."""
    found = []
    for path in database_files(s):
        with duckdb.connect(str(path), read_only=True) as con:
            tables = con.execute(
                "select schema_name, table_name from duckdb_tables() where not temporary"
            ).fetchall()
            for schema, table in tables:
                columns = [name for (name,) in con.execute(
                    "select column_name from information_schema.columns where table_schema = ? and table_name = ?",
                    [schema, table],
                ).fetchall()]
                for column in columns:
                    for needle in needles:
                        count = con.execute(
                            f'select count(*) from "{schema}"."{table}" '
                            f'where contains(lower(cast("{column}" as varchar)), ?)',
                            [needle.lower()],
                        ).fetchone()[0]
                        if count:
                            found.append(f"{path.name} {schema}.{table}.{column}: {needle} ({count})")
    return found


def hits_in_files(folder: Path, needles: set[str]) -> list[str]:
    found = []
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        if path.suffix == ".parquet":
            text = json.dumps(pq.read_table(path).to_pylist(), default=str)
        else:
            text = path.read_text(encoding="utf-8", errors="replace")
        found += [f"{path.name}: {needle}" for needle in needles if needle.lower() in text.lower()]
    return found


def test_erasure_reaches_every_file_and_is_logged(state):
    s = state
    # A customer with a phone, a shop account, orders, devices and email events.
    subject = query(s, """
        select contacts.contact_id, lower(trim(contacts.email)), contacts.phone, contacts.shop_customer_id
        from raw.crm_contacts as contacts
        where contacts.phone != '' and contacts.shop_customer_id != ''
            and exists (select 1 from raw.shop_orders as orders where orders.shop_customer_id = contacts.shop_customer_id)
            and exists (select 1 from raw.web_events as web where web.user_id = contacts.shop_customer_id)
            and exists (select 1 from raw.email_events as mail where lower(mail.email) = lower(contacts.email))
            and contacts.contact_id in (
                select identifier_value from intermediate.int_identifiers_resolved_to_customers
                where identifier_type = 'contact_id')
            and contacts.country_code != ''
        order by contacts.contact_id
        limit 1
    """)
    assert subject, "the demo data should have a customer with a phone, orders, web and email events"
    contact_id, email, phone, shop_customer_id = subject[0]
    latest = query(s, f"""
        select * exclude (_source_file, _file_row_number, _loaded_at) from raw.crm_contacts
        where contact_id = '{contact_id}' order by updated_at desc limit 1
    """)
    columns = [name for (name,) in query(s, """
        select column_name from information_schema.columns
        where table_schema = 'raw' and table_name = 'crm_contacts' and column_name not like '\\_%' escape '\\'
        order by ordinal_position""")]
    renamed = dict(zip(columns, latest[0]))
    # The new version also has a new phone typed without its country code, so only the
    # build (which knows the contact's country) knows its E.164 form.
    renamed.update(first_name=UNIQUE_FIRST_NAME, last_name=UNIQUE_LAST_NAME, phone=NATIONAL_PHONE,
                   updated_at=f"{END_DATE}T20:00:00+00:00")
    land(s, "crm/contacts", "part-rename", [renamed])
    load(s)
    scheduled_build(s)

    (customer_id,) = query(s, f"""
        select customer_id from intermediate.int_identifiers_resolved_to_customers
        where identifier_type = 'contact_id' and identifier_value = '{contact_id}'""")[0]
    identifiers = {value for (value,) in query(s, f"""
        select identifier_value from intermediate.int_identifiers_resolved_to_customers
        where customer_id = '{customer_id}'""")}
    phone_digits = "".join(ch for ch in phone if ch.isdigit())
    national_digits = "".join(ch for ch in NATIONAL_PHONE if ch.isdigit())
    needles = identifiers | {customer_id, email, phone_digits, national_digits, UNIQUE_LAST_NAME,
                             shop_customer_id, contact_id}
    assert len(identifiers) >= 4, identifiers

    # Exports written earlier, holding the subject and one other person.
    other_email = query(s, f"""
        select lower(trim(email)) from raw.crm_contacts
        where lower(trim(email)) != '{email}' and email like '%@%' order by contact_id limit 1""")[0][0]
    exports = s["exports"]
    (exports / "mailchimp").mkdir(parents=True)
    (exports / "mailchimp" / "members.csv").write_text(
        "Email Address,First Name,Last Name,TAGS\n"
        f"{email.upper()},{UNIQUE_FIRST_NAME},{UNIQUE_LAST_NAME},vip\n"
        f"{other_email},Ann,Other,vip\n"
    )
    sha256 = lambda text: hashlib.sha256(text.encode()).hexdigest()  # noqa: E731
    pq.write_table(pa.table({"hashed_email": [sha256(email), sha256(other_email)], "list": ["vip", "vip"]}),
                   exports / "customer_match.parquet")
    (exports / "webhook.jsonl").write_text(
        json.dumps({"customer_id": customer_id, "segment": "vip", "change": "entered"}) + "\n"
        + json.dumps({"customer_id": "cus_someone_else", "segment": "vip", "change": "entered"}) + "\n"
    )
    # An ad platform's row keyed by the hash of the E.164 phone alone (Meta: digits, no '+').
    (phone_e164,) = query(s, f"""
        select phone_e164 from activation.dim_customer_contacts where customer_id = '{customer_id}'""")[0]
    assert phone_e164 and phone_e164.endswith(national_digits[1:]), (phone_e164, NATIONAL_PHONE)
    phone_hash = sha256(phone_e164.lstrip("+"))
    (exports / "meta_phones.csv").write_text(f"phone\n{phone_hash}\n{sha256('15550000000')}\n")

    # Before: the person is everywhere (so the search below can find what it looks for).
    before = hits_in_databases(s, {email, UNIQUE_LAST_NAME, customer_id})
    assert any(hit.startswith("warehouse.duckdb raw.") for hit in before), before
    assert any(" staging." in hit for hit in before), before
    assert any(" intermediate." in hit for hit in before), before
    assert any(hit.startswith("serving.duckdb") for hit in before), before
    assert any(hit.startswith("restricted.duckdb") for hit in before), before

    land(s, "privacy/erasure_requests", "part-request", [{
        "erasure_request_id": "ER-TEST-0001", "email": f"  {email.upper()} ", "contact_id": "",
        "requested_at": f"{END_DATE} 21:00:00", "request_channel": "web_form",
    }])
    load(s)
    output = scheduled_build(s)
    assert "erasure: 1 request(s) completed" in output, output
    s["erased_email"] = email

    assert hits_in_databases(s, needles) == []
    assert hits_in_files(exports, needles | {sha256(email)}) == []
    # Only the subject's rows went: the other person's export rows remain.
    assert other_email in (exports / "mailchimp" / "members.csv").read_text()
    assert pq.read_table(exports / "customer_match.parquet").num_rows == 1
    assert "cus_someone_else" in (exports / "webhook.jsonl").read_text()
    assert (exports / "meta_phones.csv").read_text() == f"phone\n{sha256('15550000000')}\n"

    log = query(s, """
        select erasure_request_id, received_at, completed_at, rows_affected, tables_touched
        from privacy.erasure_log where erasure_request_id = 'ER-TEST-0001'""")
    assert len(log) == 1
    request_id, received_at, completed_at, rows_affected, tables_touched = log[0]
    assert completed_at is not None and rows_affected > 10
    for relation in ("raw.crm_contacts", "raw.shop_orders", "raw.web_events", "raw.email_events",
                     "staging.base_crm__contacts", "intermediate.int_identifiers_resolved_to_customers"):
        assert relation in tables_touched, (relation, tables_touched)
    assert query(s, "select count(*) from raw.ingestion_ledger where status = 'erased'")[0][0] > 0
    assert query(s, "select count(*) from privacy.erasure_suppressions where identifier_kind = 'email'")[0][0] >= 1
    # The subject is gone from the marts analysts read, and the build still passes.
    assert query(s, f"select count(*) from marts.dim_customers where customer_id = '{customer_id}'") == [(0,)]


def test_a_later_event_with_an_erased_email_is_dropped_at_load(state):
    s = state
    if "erased_email" not in s:
        pytest.skip("needs the erasure of the previous test")
    other_email = query(s, "select lower(trim(email)) from raw.email_events order by email_event_id limit 1")[0][0]
    land(s, "email/events", "part-after-erasure", [
        {"email_event_id": "EV-AFTER-ERASURE-1", "campaign_id": "", "email": s["erased_email"].title(),
         "event_type": "open", "occurred_at": f"{END_DATE}T22:00:00+00:00", "click_url": "", "bounce_type": ""},
        {"email_event_id": "EV-AFTER-ERASURE-2", "campaign_id": "", "email": other_email,
         "event_type": "open", "occurred_at": f"{END_DATE}T22:00:00+00:00", "click_url": "", "bounce_type": ""},
    ])
    output = load(s)
    assert "rows of erased people dropped (suppression list): 1" in output, output
    assert query(s, "select sum(row_count) from raw.ingestion_ledger where status = 'suppressed'") == [(1,)]
    assert query(s, "select email_event_id from raw.email_events "
                    "where email_event_id like 'EV-AFTER-ERASURE-%'") == [("EV-AFTER-ERASURE-2",)]


def test_a_request_pending_past_the_deadline_fails_the_build(state):
    s = state
    land(s, "privacy/erasure_requests", "part-overdue", [{
        "erasure_request_id": "ER-TEST-OVERDUE", "email": "nobody.known@example.org", "contact_id": "",
        "requested_at": "2026-04-01 09:00:00", "request_channel": "email",
    }])
    load(s)
    dbt = str(Path(sys.executable).parent / "dbt")
    selection = ["--select", "base_privacy__erasure_requests", "assert_erasure_requests_completed_within_deadline",
                 "--vars", f"{{as_of: '{END_DATE}'}}"]
    # Without the erasure step the request stays pending: 89 days > 30, the test fails.
    output = run([dbt, "build", *selection], s["project"], s["env"], expect=1)
    assert "assert_erasure_requests_completed_within_deadline" in output and "FAIL 1" in output, output
    run([sys.executable, str(SCRIPTS / "erasure.py"), "--database", str(s["database"])], s["project"], s["env"])
    run([dbt, "build", *selection], s["project"], s["env"])
    assert query(s, "select completed_at is not null from privacy.erasure_log "
                    "where erasure_request_id = 'ER-TEST-OVERDUE'") == [(True,)]


def test_retention_purges_old_events_everywhere_and_logs_it(state):
    s = state
    days = 20
    cutoff = datetime.date.fromisoformat(END_DATE) - datetime.timedelta(days=days)
    raw_before = {table: query(s, f"select count(*) from raw.{table}")[0][0] for table in ("web_events", "email_events")}
    assert query(s, f"select count(*) from staging.base_web__events where occurred_at < '{cutoff}'")[0][0] > 0
    dbt = str(Path(sys.executable).parent / "dbt")
    # The whole project with a 20-day retention: its data tests (row accounting included) pass.
    run([dbt, "build", "--exclude-resource-type", "unit_test", "--vars",
         f"{{as_of: '{END_DATE}', raw_rows_accounting_full: true, retention_days: {{web: {days}, email: {days}}}}}"],
        s["project"], s["env"])
    for relation, column in (("staging.base_web__events", "occurred_at"), ("staging.base_email__events", "occurred_at"),
                             ("intermediate.int_web_sessions", "started_at"),
                             ("intermediate.int_customer_web_activity_daily", "activity_date"),
                             ("intermediate.int_email_recipient_campaigns", "last_event_at"),
                             ("intermediate.int_customer_email_campaigns", "last_event_at"),
                             ("intermediate.int_web_events_daily", "activity_date"),
                             ("intermediate.int_email_events_daily", "activity_date")):
        # A quarantined base row expires by its load time (today), not by its own time.
        staged = " and quarantine_reason is null" if relation.startswith("staging.") else ""
        assert query(s, f"select count(*) from {relation} where {column} < '{cutoff}'{staged}") == [(0,)], relation
        assert query(s, f"select count(*) from {relation}")[0][0] > 0, relation
    purged = dict(query(s, "select relation, sum(rows_purged) from privacy.retention_purges group by 1"))
    for table in ("web_events", "email_events"):
        removed = raw_before[table] - query(s, f"select count(*) from raw.{table}")[0][0]
        assert removed > 0
        source, _, name = table.partition("_")
        assert query(s, f"select sum(row_count) from raw.ingestion_ledger where status = 'purged' "
                        f"and source = '{source}' and table_name = '{name}'") == [(removed,)]
        assert [rows for relation, rows in purged.items() if relation.endswith(f'"raw"."{table}"')] == [removed]
    assert any("int_web_sessions" in relation for relation in purged), purged


@pytest.mark.parametrize(
    ("kind", "landed", "normalised"),
    [
        ("email", "  Ana.Lopez+news@Example.COM ", "ana.lopez+news@example.com"),
        ("phone", "+33 6 12-34-56-78", "33612345678"),
        ("phone", "0033612345678", "33612345678"),
        ("contact_id", " C0000927 ", "C0000927"),
        ("shop_customer_id", "S0001353", "S0001353"),
    ],
)
def test_the_loader_and_the_erasure_step_hash_identifiers_alike(kind, landed, normalised):
    """The loader drops a row when the SQL hash of its value is on the list the erasure
    step wrote with the Python hash: both must normalise and hash the same way."""
    sys.path.insert(0, str(SCRIPTS))
    import erasure

    assert erasure.normalised(kind, landed) == normalised
    sql = erasure.suppression_hash_sql("$salt", kind, erasure.KIND_SQL[kind]("$value"))
    with duckdb.connect() as con:
        (hashed,) = con.execute(f"select {sql}", {"salt": "pepper", "value": landed}).fetchone()
    assert hashed == erasure.suppression_hash("pepper", kind, normalised)
    assert hashed != erasure.suppression_hash("other-salt", kind, normalised)
