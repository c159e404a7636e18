"""Erasure (right to be forgotten) across every file the project writes.

The privacy desk lands erasure requests in ``raw.privacy_erasure_requests`` (an email
and/or a CRM contact id). Before each scheduled build this module completes every request
the loader has landed:

1. **Who.** It gathers every identifier of the subject: the request's own email and
   contact id; the identifiers the last build resolved to the same customer
   (``intermediate.int_identifiers_resolved_to_customers``: contact ids, emails, shop
   customer ids, anonymous ids, and the customer id); and, so that a request is complete
   even before any build has run, the raw rows that name them (a contact's email, phone
   and shop customer id; the orders of those emails and shop accounts; the devices a shop
   account logged in from, unless the device logged in as someone else too); and the
   E.164 form of their phones from the last build's ``activation.dim_customer_contacts``,
   the form ad-platform files hash (a phone typed without its country code needs the
   contact's country to get it). As in
   identity resolution, a value several people share (a family's address) does not
   bridge them: the rows holding it are deleted, not the other rows of the people sharing it.
2. **Where.** It deletes every row that holds one of those identifiers, in every table of
   every schema of the warehouse (raw, staging, intermediate, marts, snapshots...), of the
   serving and restricted databases, and in every CSV, JSON-lines or Parquet file under
   the exports folder. A row matches when any of its text columns equals an identifier
   (compared trimmed and lower-cased) or, for columns that hold whole records
   (``raw_record``, evidence), contains it. Deleting the raw rows is recorded in the
   loader's ledger (``raw.ingestion_ledger``, status ``erased``, one row per landing file
   with the rows removed), so the row accounting stays exact and the file is never
   reloaded. The request row itself is deleted too: its email is personal data.
3. **Never again.** It adds a salted SHA-256 of each email, phone, contact id and shop
   customer id to ``privacy.erasure_suppressions``; the loader drops a later row carrying
   one of them (and counts it in the ledger, status ``suppressed``), so a later event does
   not silently recreate the person. The salt is kept outside the warehouse
   (``$SEGMENTS_ERASURE_SALT``, else the owner-only file ``.erasure_salt`` beside the
   warehouse), so the list alone cannot be reversed by hashing guessed addresses.
4. **Proof.** ``privacy.erasure_log`` holds one row per request (request id, received,
   loaded, completed, tables touched, rows affected), ``privacy.erasure_actions`` one row
   per request and table or file with the rows removed, and ``privacy.erasure_runs`` one
   row per run. The dbt test ``erasure_requests_completed_within_deadline`` fails when a
   request older than the ``erasure_deadline_days`` var is still pending.

Destinations that were sent the person's data earlier (email and ad platforms) need a
removal of their own. Before erasing anything, the export ledger
(``export_ledger.erase_subjects``) turns what it delivered of the subject into pending
removals, keeping only the key each destination removes by, and forgets the subject
everywhere else; the next export (``export_audiences.py``) sends the removals. Every
function registered with ``register_removal_hook`` is also called once per completed
request with the request id and the subject's identifiers, after the local erasure
committed.

Usage::

    python scripts/erasure.py [--database PATH] [--exports DIR]

Exit codes: 0 done (also when nothing was pending), 2 unusable arguments, 3 the warehouse
cannot be opened (another process writes it).
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import os
import re
import secrets
import shutil
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import duckdb

sys.path.insert(0, str(Path(__file__).resolve().parent))

import export_ledger  # noqa: E402
import serving  # noqa: E402
from build_errors import UsageError, WarehouseUnavailable  # noqa: E402
from build_records import relation_exists  # noqa: E402
from destination_formats import google_email  # noqa: E402

PRIVACY_SCHEMA = "privacy"
REQUESTS_TABLE = "raw.privacy_erasure_requests"
LEDGER_TABLE = "raw.ingestion_ledger"
RESOLVED_TABLE = "intermediate.int_identifiers_resolved_to_customers"
# The last build's contacts: a phone typed without its country code ('0151 2345678') is
# held in export files in its E.164 form, which only this model knows (it needs the
# contact's country).
CONTACTS_TABLE = "activation.dim_customer_contacts"
SALT_ENV_VAR = "SEGMENTS_ERASURE_SALT"
SALT_FILE_NAME = ".erasure_salt"
EXPORTS_ENV_VAR = "SEGMENTS_EXPORTS_PATH"
DEFAULT_EXPORTS_NAME = "exports"
DATABASE_ENV_VAR = "SEGMENTS_DUCKDB_PATH"
DEFAULT_DATABASE = Path("data/warehouse.duckdb")
# Identifier kinds that go on the suppression list (a later row carrying one is dropped).
SUPPRESSED_KINDS = ("email", "phone", "contact_id", "shop_customer_id")
# Columns holding a whole record or free text, matched by containment, not equality.
RECORD_COLUMN = re.compile(r"(^|_)(raw_record|record|evidence|payload)($|_)")
# Identifier values shorter than this are never matched (an empty or placeholder value).
MIN_IDENTIFIER_LENGTH = 3

LOG_DDL = (
    f"""CREATE TABLE IF NOT EXISTS {PRIVACY_SCHEMA}.erasure_log (
        erasure_request_id VARCHAR PRIMARY KEY,
        received_at TIMESTAMP,
        loaded_at TIMESTAMP,
        completed_at TIMESTAMP NOT NULL,
        identifier_count INTEGER NOT NULL,
        tables_touched VARCHAR,
        rows_affected BIGINT NOT NULL,
        files_touched INTEGER NOT NULL
    )""",
    f"""CREATE TABLE IF NOT EXISTS {PRIVACY_SCHEMA}.erasure_actions (
        erasure_request_id VARCHAR NOT NULL,
        location VARCHAR NOT NULL,
        relation VARCHAR NOT NULL,
        action VARCHAR NOT NULL,
        rows_affected BIGINT NOT NULL,
        completed_at TIMESTAMP NOT NULL
    )""",
    f"""CREATE TABLE IF NOT EXISTS {PRIVACY_SCHEMA}.erasure_suppressions (
        identifier_kind VARCHAR NOT NULL,
        identifier_hash VARCHAR NOT NULL,
        added_at TIMESTAMP NOT NULL,
        PRIMARY KEY (identifier_kind, identifier_hash)
    )""",
    f"""CREATE TABLE IF NOT EXISTS {PRIVACY_SCHEMA}.erasure_runs (
        run_at TIMESTAMP NOT NULL,
        pending_requests INTEGER NOT NULL,
        completed_requests INTEGER NOT NULL,
        rows_affected BIGINT NOT NULL
    )""",
)

RemovalHook = Callable[[str, dict[str, set[str]]], None]
_REMOVAL_HOOKS: list[RemovalHook] = []


def register_removal_hook(hook: RemovalHook) -> None:
    """Call ``hook(request_id, identifiers_by_kind)`` for each completed request, so a
    destination that received the person's data earlier can be sent a removal."""
    _REMOVAL_HOOKS.append(hook)


# ----------------------------------------------------------------------- identifiers


def normalised_email(value: str | None) -> str | None:
    text = (value or "").strip().lower()
    return text if "@" in text else None


def normalised_phone(value: str | None) -> str | None:
    """The digits of a phone with its country code (``+33 6..`` and ``0033 6..`` agree)."""
    digits = re.sub(r"\D", "", value or "")
    if digits.startswith("00"):
        digits = digits[2:]
    return digits if len(digits) >= 6 else None


def normalised(kind: str, value: str | None) -> str | None:
    if kind == "email":
        return normalised_email(value)
    if kind == "phone":
        return normalised_phone(value)
    text = (value or "").strip()
    return text if len(text) >= MIN_IDENTIFIER_LENGTH else None


def suppression_hash(salt: str, kind: str, value: str) -> str:
    """The salted SHA-256 the suppression list keeps for an identifier (normalised)."""
    return hashlib.sha256(f"{salt}|{kind}|{value}".encode()).hexdigest()


def suppression_hash_sql(salt_parameter: str, kind: str, expression: str) -> str:
    """The same hash in DuckDB SQL over a column expression (already normalised)."""
    return f"sha256({salt_parameter} || '|{kind}|' || {expression})"


def email_sql(column: str) -> str:
    return f"nullif(lower(trim({column})), '')"


def phone_sql(column: str) -> str:
    digits = f"regexp_replace(coalesce({column}, ''), '[^0-9]', '', 'g')"
    return f"(case when length({digits}) < 6 then null when {digits} like '00%' then substr({digits}, 3) else {digits} end)"


def id_sql(column: str) -> str:
    return f"nullif(trim({column}), '')"


# How each raw table names the suppressed identifier kinds (the loader's gate).
SUPPRESSED_COLUMNS: dict[str, dict[str, str]] = {
    "crm_contacts": {"contact_id": "contact_id", "email": "email", "phone": "phone",
                     "shop_customer_id": "shop_customer_id"},
    "crm_consent_events": {"contact_id": "contact_id"},
    "shop_orders": {"email": "email", "shop_customer_id": "shop_customer_id"},
    "web_events": {"shop_customer_id": "user_id"},
    "email_events": {"email": "email"},
    "privacy_manual_suppressions": {"email": "email", "phone": "phone"},
}
KIND_SQL = {"email": email_sql, "phone": phone_sql, "contact_id": id_sql, "shop_customer_id": id_sql}


def suppressed_row_condition(raw_table: str, salt_parameter: str = "$salt") -> str | None:
    """SQL true for a row of ``raw.<raw_table>`` that carries a suppressed identifier."""
    columns = SUPPRESSED_COLUMNS.get(raw_table)
    if not columns:
        return None
    tests = [
        f"{suppression_hash_sql(salt_parameter, kind, KIND_SQL[kind](column))} in "
        f"(select identifier_hash from {PRIVACY_SCHEMA}.erasure_suppressions where identifier_kind = '{kind}')"
        for kind, column in columns.items()
    ]
    return "(" + " or ".join(tests) + ")"


# ------------------------------------------------------------------------------ salt


def salt_for(database: Path, environ: dict[str, str] | None = None) -> str:
    """The suppression salt: ``$SEGMENTS_ERASURE_SALT``, else the owner-only file beside
    the warehouse (created with a random value on first use)."""
    environ = os.environ if environ is None else environ
    if environ.get(SALT_ENV_VAR, "").strip():
        return environ[SALT_ENV_VAR].strip()
    path = database.parent / SALT_FILE_NAME
    if path.exists():
        return path.read_text().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        handle.write(secrets.token_hex(32))
    return path.read_text().strip()


# --------------------------------------------------------------------------- records


@dataclass
class Request:
    request_id: str
    email: str | None
    contact_id: str | None
    received_at: datetime | None
    loaded_at: datetime | None
    identifiers: dict[str, set[str]] = field(default_factory=dict)

    def values(self) -> set[str]:
        return {value for values in self.identifiers.values() for value in values}


@dataclass
class RunSummary:
    pending: int = 0
    completed: int = 0
    rows_affected: int = 0
    files_touched: int = 0
    seconds: float = 0.0


def insert_rows(con: duckdb.DuckDBPyConnection, sql: str, rows: list[list]) -> None:
    if rows:
        con.executemany(sql, rows)


def ensure_privacy_tables(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(f"CREATE SCHEMA IF NOT EXISTS {PRIVACY_SCHEMA}")
    for ddl in LOG_DDL:
        con.execute(ddl)


def pending_requests(con: duckdb.DuckDBPyConnection) -> list[Request]:
    """Every landed request with an id and a subject (email or contact id), oldest first,
    its identifiers in the temp table ``erasure_identifiers`` (request_id, kind, value).
    A request without them stays for staging to quarantine with its reason."""
    con.execute(
        "create or replace temp table erasure_identifiers "
        "(request_id varchar, kind varchar, value varchar, primary key (request_id, kind, value))"
    )
    if not relation_exists(con, REQUESTS_TABLE):
        return []
    rows = con.execute(
        f"""
        select
            trim(erasure_request_id),
            {email_sql('email')},
            {id_sql('contact_id')},
            try_cast(requested_at as timestamp),
            _loaded_at
        from {REQUESTS_TABLE}
        where nullif(trim(erasure_request_id), '') is not null
        order by 4 nulls last, 1
        """
    ).fetchall()
    requests: dict[str, Request] = {}
    for request_id, email, contact_id, received_at, loaded_at in rows:
        email = normalised_email(email)
        if email is None and contact_id is None:
            continue
        request = requests.setdefault(request_id, Request(request_id, email, contact_id, received_at, loaded_at))
        for kind, value in (("email", email), ("contact_id", contact_id)):
            if value:
                request.identifiers.setdefault(kind, set()).add(value)
    insert_rows(
        con,
        "insert or ignore into erasure_identifiers values (?, ?, ?)",
        [[request.request_id, kind, value] for request in requests.values()
         for kind, found in request.identifiers.items() for value in found],
    )
    return list(requests.values())


# Raw rows that tie further identifiers to the subject: per table, each identifier kind
# with how its normalised value is computed from which column, and the table's owner key.
# A row reached through its owner key names all its kinds; a row reached through another
# linking kind only when that value belongs to one owner (a family's shared address or a
# shop's test address does not bridge two people, as in identity resolution).
RAW_LINKS: tuple[tuple[str, str, dict[str, tuple[Callable[[str], str], str]]], ...] = (
    ("raw.crm_contacts", "contact_id",
     {"contact_id": (id_sql, "contact_id"), "email": (email_sql, "email"),
      "phone": (phone_sql, "phone"), "shop_customer_id": (id_sql, "shop_customer_id")}),
    ("raw.shop_orders", "shop_customer_id",
     {"order_id": (id_sql, "order_id"), "email": (email_sql, "email"),
      "shop_customer_id": (id_sql, "shop_customer_id")}),
)
LINKING_KINDS = ("contact_id", "email", "shop_customer_id")


def expand_identifiers(con: duckdb.DuckDBPyConnection) -> None:
    """Add every identifier of each request's subject to ``erasure_identifiers`` (see the
    module docstring), for all requests at once."""

    def grow(sql: str) -> int:
        before = con.execute("select count(*) from erasure_identifiers").fetchone()[0]
        con.execute(
            f"insert or ignore into erasure_identifiers "
            f"select distinct * from ({sql}) as found (request_id, kind, value) where value is not null"
        )
        return con.execute("select count(*) from erasure_identifiers").fetchone()[0] - before

    if relation_exists(con, RESOLVED_TABLE):
        customers = f"""
            select distinct erasure_identifiers.request_id, resolved.customer_id
            from erasure_identifiers
            inner join {RESOLVED_TABLE} as resolved
                on resolved.identifier_type = erasure_identifiers.kind
                    and resolved.identifier_value = erasure_identifiers.value"""
        grow(f"select request_id, 'customer_id', customer_id from ({customers})")
        grow(f"""
            select subject.request_id, resolved.identifier_type, resolved.identifier_value
            from ({customers}) as subject
            inner join {RESOLVED_TABLE} as resolved on resolved.customer_id = subject.customer_id""")

    for _ in range(3):
        grown = 0
        for table, owner, kinds in RAW_LINKS:
            if not relation_exists(con, table):
                continue
            values = ", ".join(f"{function('linked.' + column)} as {kind}" for kind, (function, column) in kinds.items())
            owner_function, owner_column = kinds[owner]
            for link_kind in (kind for kind in kinds if kind in LINKING_KINDS):
                function, column = kinds[link_kind]
                # A value of another kind links only if it has at most one owner here.
                single_owner = "" if link_kind == owner else f"""
                            and erasure_identifiers.value not in (
                                select {function(column)} from {table}
                                where {function(column)} is not null
                                group by 1
                                having count(distinct {owner_function(owner_column)}) > 1)"""
                matched = f"""
                    select erasure_identifiers.request_id, {values}
                    from {table} as linked
                    inner join erasure_identifiers
                        on erasure_identifiers.kind = '{link_kind}'
                            and {function('linked.' + column)} = erasure_identifiers.value{single_owner}"""
                grown += grow(" union all ".join(
                    f"select request_id, '{kind}', {kind} from ({matched})" for kind in kinds
                ))
        if relation_exists(con, "raw.web_events"):
            # A device the subject logged in from, unless it logged in as another account too.
            grown += grow(f"""
                select min(erasure_identifiers.request_id), 'anonymous_id', web.anonymous_id
                from raw.web_events as web
                left join erasure_identifiers
                    on erasure_identifiers.kind = 'shop_customer_id'
                        and erasure_identifiers.value = {id_sql('web.user_id')}
                where {id_sql('web.user_id')} is not null
                group by web.anonymous_id
                having bool_and(erasure_identifiers.request_id is not null)
                    and count(distinct erasure_identifiers.request_id) = 1""")
        if not grown:
            break

    if relation_exists(con, CONTACTS_TABLE):
        grow(f"""
            select erasure_identifiers.request_id, 'phone', {phone_sql('contacts.phone_e164')}
            from erasure_identifiers
            inner join {CONTACTS_TABLE} as contacts
                on erasure_identifiers.kind = 'customer_id'
                    and contacts.customer_id = erasure_identifiers.value""")


def identifiers_of(con: duckdb.DuckDBPyConnection, requests: list[Request]) -> None:
    by_id = {request.request_id: request for request in requests}
    for request_id, kind, value in con.execute("select * from erasure_identifiers").fetchall():
        by_id[request_id].identifiers.setdefault(kind, set()).add(value)


# --------------------------------------------------------------------------- matching


def text_columns(con: duckdb.DuckDBPyConnection, database: str, schema: str, table: str) -> list[str]:
    return [
        name for (name,) in con.execute(
            "select column_name from information_schema.columns "
            "where table_catalog = ? and table_schema = ? and table_name = ? and data_type = 'VARCHAR' "
            "order by ordinal_position",
            [database, schema, table],
        ).fetchall()
    ]


def quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def matched_values(columns: list[str]) -> str:
    """SQL over ``candidate`` (the rows of a table that hold a subject value): one row per
    (rid, matched value), to attribute each row to its requests."""
    parts = []
    for column in columns:
        expression = f"lower(trim(candidate.{quote(column)}))"
        if RECORD_COLUMN.search(column.lower()):
            parts.append(
                f"select candidate.rid, erasure_subject.value from candidate "
                f"inner join erasure_subject on contains({expression}, erasure_subject.value)"
            )
        else:
            parts.append(
                f"select candidate.rid, erasure_subject.value from candidate "
                f"inner join erasure_subject on {expression} = erasure_subject.value"
            )
    return " union ".join(parts)


def match_condition(columns: list[str]) -> str:
    """SQL true for a row holding a subject value (the temp table ``erasure_subject``)."""
    tests = []
    for column in columns:
        expression = f"lower(trim({quote(column)}))"
        if RECORD_COLUMN.search(column.lower()):
            tests.append(
                f"exists (select 1 from erasure_subject where contains({expression}, erasure_subject.value))"
            )
        else:
            tests.append(f"{expression} in (select value from erasure_subject)")
    return " or ".join(tests)


def erasable_tables(con: duckdb.DuckDBPyConnection, database: str) -> list[tuple[str, str]]:
    return [
        (schema, table) for schema, table in con.execute(
            "select schema_name, table_name from duckdb_tables() "
            "where database_name = ? and schema_name != ? and not temporary order by 1, 2",
            [database, PRIVACY_SCHEMA],
        ).fetchall()
    ]


Action = tuple[str, str, str, int]  # request id, location, relation, rows


def erase_in_database(con: duckdb.DuckDBPyConnection, database: str, location: str,
                      ledger: bool) -> list[Action]:
    """Delete every row holding a subject value in one attached database; with
    ``ledger``, record the raw rows removed per landing file in the loader's ledger.
    Returns the rows removed per request and table."""
    actions: list[Action] = []
    now = datetime.now(timezone.utc).replace(tzinfo=None)
    for schema, table in erasable_tables(con, database):
        if (schema, table) == ("raw", "ingestion_ledger"):
            continue
        columns = text_columns(con, database, schema, table)
        if not columns:
            continue
        relation = f"{quote(database)}.{quote(schema)}.{quote(table)}"
        con.execute(
            f"create or replace temp table candidate as "
            f"select rowid as rid, * from {relation} where {match_condition(columns)}"
        )
        if not con.execute("select count(*) from candidate").fetchone()[0]:
            continue
        attributed = con.execute(
            f"select erasure_subject.request_id, count(distinct matched.rid) "
            f"from ({matched_values(columns)}) as matched "
            f"inner join erasure_subject on matched.value = erasure_subject.value group by 1"
        ).fetchall()
        actions += [(request_id, location, f"{schema}.{table}", int(rows)) for request_id, rows in attributed]
        if ledger and schema == "raw":
            source, _, table_name = table.partition("_")
            con.execute(
                f"insert into {LEDGER_TABLE} (source, table_name, file_path, checksum, file_bytes, "
                "row_count, status, error_message, added_columns, loaded_at) "
                "select ?, ?, candidate._source_file, coalesce(max(loaded.checksum), ''), null, count(*), "
                "'erased', 'rows of erased people deleted (privacy.erasure_log)', null, ? "
                f"from candidate left join {LEDGER_TABLE} as loaded "
                "on loaded.file_path = candidate._source_file and loaded.status = 'loaded' "
                "group by candidate._source_file",
                [source, table_name, now],
            )
        con.execute(f"delete from {relation} where rowid in (select rid from candidate)")
    con.execute("drop table if exists candidate")
    return actions


def erase_in_database_file(path: Path, subject: list[tuple[str, str]]) -> list[Action]:
    """Erase from a database file others read (serving, restricted): a copy is changed,
    checkpointed and renamed over the file, so a reader never sees half of it."""
    if not path.is_file():
        return []
    stage = path.with_name(f".{path.name}.erasing-{os.getpid()}")
    shutil.copy2(path, stage)
    try:
        con = duckdb.connect(str(stage))
        try:
            load_subject(con, subject)
            name = con.execute("select current_database()").fetchone()[0]
            actions = erase_in_database(con, name, str(path), ledger=False)
            con.execute("checkpoint")
        finally:
            con.close()
        if actions:
            os.replace(stage, path)
        return actions
    finally:
        stage.unlink(missing_ok=True)


def export_values(identifiers: dict[str, set[str]]) -> set[str]:
    """What an export file may hold of one subject: the identifiers, and the hashes ad and
    email platforms key people by (SHA-256 and MD5 of the email, SHA-256 of Google's form
    of it, without the dots of a gmail address; SHA-256 of the phone, with and without '+')."""
    values = {value.lower() for found in identifiers.values() for value in found}
    for email in identifiers.get("email", ()):
        values.add(hashlib.sha256(email.encode()).hexdigest())
        values.add(hashlib.md5(email.encode()).hexdigest())  # noqa: S324 - Mailchimp's key
        google_form = google_email(email)
        if google_form:
            values.add(hashlib.sha256(google_form.encode()).hexdigest())
    for phone in identifiers.get("phone", ()):
        for form in (phone, f"+{phone}"):
            values.add(form)
            values.add(hashlib.sha256(form.encode()).hexdigest())
    return values


def row_matches(cells: Iterable[object], values: set[str]) -> bool:
    """A row of an export file holds one of ``values`` (a cell equals one, or a longer
    value appears inside a cell such as a JSON document)."""
    long_values = [value for value in values if len(value) >= 8]
    for cell in cells:
        text = str(cell).strip().lower() if cell is not None else ""
        if text and (text in values or any(value in text for value in long_values)):
            return True
    return False


def erase_in_export_file(path: Path, values: set[str]) -> int:
    """Rewrite one export file (CSV with a header, JSON lines, Parquet) without the rows
    holding ``values``; the rows removed. Other files are left as they are."""
    stage = path.with_name(f".{path.name}.erasing-{os.getpid()}")
    removed = 0
    try:
        if path.suffix == ".csv":
            with path.open(newline="", encoding="utf-8") as source, \
                    stage.open("w", newline="", encoding="utf-8") as target:
                writer = csv.writer(target)
                for number, row in enumerate(csv.reader(source)):
                    if number > 0 and row_matches(row, values):
                        removed += 1
                    else:
                        writer.writerow(row)
        elif path.suffix in (".jsonl", ".ndjson"):
            with path.open(encoding="utf-8") as source, stage.open("w", encoding="utf-8") as target:
                for line in source:
                    if line.strip() and row_matches([line], values):
                        removed += 1
                    else:
                        target.write(line)
        elif path.suffix == ".parquet":
            import pyarrow as pa
            import pyarrow.parquet as pq

            table = pq.read_table(path)
            keep = [not row_matches(row.values(), values) for row in table.to_pylist()]
            removed = keep.count(False)
            if removed:
                pq.write_table(table.filter(pa.array(keep)), stage)
        if removed:
            shutil.copymode(path, stage)
            os.replace(stage, path)
        return removed
    finally:
        stage.unlink(missing_ok=True)


def load_subject(con: duckdb.DuckDBPyConnection, subject: list[tuple[str, str]]) -> None:
    """The temp table ``erasure_subject`` (request_id, value): every value to erase, lower
    case, with the request it belongs to."""
    con.execute("create or replace temp table erasure_subject (request_id varchar, value varchar)")
    insert_rows(con, "insert into erasure_subject values (?, ?)", [list(row) for row in subject])


def subject_rows(requests: list[Request]) -> list[tuple[str, str]]:
    rows = set()
    for request in requests:
        for value in request.values():
            rows.add((request.request_id, value.lower()))
        # Phones are matched as digits with the country code, and with a leading '+'.
        for phone in request.identifiers.get("phone", ()):
            rows.add((request.request_id, f"+{phone}"))
    return sorted(rows)


# ------------------------------------------------------------------------------- run


def exports_path(database: Path, environ: dict[str, str] | None = None) -> Path:
    environ = os.environ if environ is None else environ
    configured = environ.get(EXPORTS_ENV_VAR, "").strip()
    return Path(configured) if configured else database.parent / DEFAULT_EXPORTS_NAME


def other_database_files(database: Path) -> list[Path]:
    """The files published from the warehouse: the serving file analysts read and the
    restricted file activation reads."""
    files = [serving.serving_path(database), serving.restricted_path(database)]
    return [path for path in files if path.resolve() != database.resolve()]


def complete_requests(con: duckdb.DuckDBPyConnection, requests: list[Request], database: Path,
                      exports: Path, salt: str) -> list[Action]:
    """Erase every pending request's subject everywhere, in one pass over each table."""
    expand_identifiers(con)
    identifiers_of(con, requests)
    # Destinations sent the person's data earlier get a removal on the next export: the
    # export ledger turns what it delivered into pending removals (keeping only the key a
    # destination removes by) before anything else is erased, so a failure here leaves
    # the request pending and the next run tries again.
    try:
        export_ledger.erase_subjects(exports, [(request.identifiers.get("customer_id", set()),
                                                export_values(request.identifiers)) for request in requests])
    except export_ledger.LedgerUnavailable as exc:
        raise WarehouseUnavailable(f"erasure cannot reach the export ledger: {exc}") from None
    subject = subject_rows(requests)
    load_subject(con, subject)
    con.execute("begin transaction")
    try:
        warehouse_name = con.execute("select current_database()").fetchone()[0]
        actions = erase_in_database(con, warehouse_name, str(database), ledger=True)
        now = datetime.now(timezone.utc).replace(tzinfo=None)
        for request in requests:
            # The request row itself: its email is personal data (the log keeps its id).
            deleted = con.execute(
                f"delete from {REQUESTS_TABLE} where trim(erasure_request_id) = ?", [request.request_id]
            ).fetchone()[0]
            if deleted:
                actions.append((request.request_id, str(database), REQUESTS_TABLE, int(deleted)))
            insert_rows(
                con,
                f"insert or ignore into {PRIVACY_SCHEMA}.erasure_suppressions values (?, ?, ?)",
                [[kind, suppression_hash(salt, kind, value), now]
                 for kind in SUPPRESSED_KINDS for value in sorted(request.identifiers.get(kind, ()))],
            )
        con.execute("commit")
    except BaseException:
        con.execute("rollback")
        raise
    for path in other_database_files(database):
        actions += erase_in_database_file(path, subject)
    if exports.is_dir():
        files = sorted(p for p in exports.rglob("*") if p.is_file() and not p.name.startswith("."))
        for request in requests:
            values = export_values(request.identifiers)
            for path in files:
                removed = erase_in_export_file(path, values)
                if removed:
                    actions.append((request.request_id, str(path), path.name, removed))
    return actions


def record_completion(con: duckdb.DuckDBPyConnection, requests: list[Request], actions: list[Action]) -> None:
    completed_at = datetime.now(timezone.utc).replace(tzinfo=None)
    insert_rows(
        con,
        f"insert into {PRIVACY_SCHEMA}.erasure_actions values (?, ?, ?, 'deleted', ?, ?)",
        [[request_id, location, relation, rows, completed_at] for request_id, location, relation, rows in actions],
    )
    for request in requests:
        own = [action for action in actions if action[0] == request.request_id]
        con.execute(
            f"insert or replace into {PRIVACY_SCHEMA}.erasure_log values (?, ?, ?, ?, ?, ?, ?, ?)",
            [request.request_id, request.received_at, request.loaded_at, completed_at,
             len(request.values()), ", ".join(sorted({relation for _, _, relation, _ in own})),
             sum(rows for *_, rows in own), len({location for _, location, _, _ in own})],
        )


def run(database: Path, exports: Path | None = None, environ: dict[str, str] | None = None) -> RunSummary:
    """Complete every pending erasure request of the warehouse; what was done."""
    started = time.monotonic()
    summary = RunSummary()
    if not database.exists():
        return summary
    exports = exports or exports_path(database, environ)
    try:
        con = duckdb.connect(str(database))
    except duckdb.Error as exc:
        raise WarehouseUnavailable(f"cannot open {database} to erase: {str(exc).splitlines()[0]}") from None
    requests: list[Request] = []
    try:
        ensure_privacy_tables(con)
        requests = pending_requests(con)
        summary.pending = len(requests)
        actions: list[Action] = []
        if requests:
            actions = complete_requests(con, requests, database, exports, salt_for(database, environ))
            record_completion(con, requests, actions)
            summary.completed = len(requests)
            summary.rows_affected = sum(rows for *_, rows in actions)
            summary.files_touched = len({location for _, location, _, _ in actions})
        con.execute(
            f"insert into {PRIVACY_SCHEMA}.erasure_runs values (?, ?, ?, ?)",
            [datetime.now(timezone.utc).replace(tzinfo=None), summary.pending, summary.completed,
             summary.rows_affected],
        )
        con.execute("checkpoint")
    except duckdb.Error as exc:
        raise WarehouseUnavailable(
            f"erasure of {len(requests)} pending request(s) in {database} failed and was rolled back: "
            f"{str(exc).splitlines()[0]}"
        ) from None
    finally:
        con.close()
    for request in requests:
        for hook in _REMOVAL_HOOKS:
            hook(request.request_id, {kind: set(found) for kind, found in request.identifiers.items()})
    summary.seconds = time.monotonic() - started
    return summary


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database", type=Path, default=None,
                        help=f"warehouse (default ${DATABASE_ENV_VAR}, else {DEFAULT_DATABASE})")
    parser.add_argument("--exports", type=Path, default=None,
                        help=f"exports folder (default ${EXPORTS_ENV_VAR}, else exports/ beside the warehouse)")
    args = parser.parse_args(argv)
    database = args.database or Path(os.environ.get(DATABASE_ENV_VAR) or DEFAULT_DATABASE)
    try:
        summary = run(database, args.exports)
    except UsageError as exc:
        print(f"erasure: {exc}", file=sys.stderr)
        return 2
    except WarehouseUnavailable as exc:
        print(f"erasure: {exc}", file=sys.stderr)
        return 3
    print(
        f"erasure: {summary.completed} of {summary.pending} pending request(s) completed, "
        f"{summary.rows_affected} row(s) removed in {summary.files_touched} file(s) "
        f"in {summary.seconds:.1f}s"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
