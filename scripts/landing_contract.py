"""The landing contract: which source tables land, where, and with which columns.

Every upstream system (CRM, web analytics, shop, email platform, privacy desk) lands
files under ``<landing>/<source>/<table>/date=YYYY-MM-DD/<part>.parquet`` (or
``.jsonl`` for stream sinks). Every column is landed as text, exactly as the upstream
system sent it: typing, time-zone handling and validation happen in dbt staging,
where a bad value becomes a quarantine row with a reason instead of a failed load.

The generator, the real-data importer and the loader all read this module, and the
dbt sources in ``models/staging/*/_*__sources.yml`` declare the same tables.
"""

from __future__ import annotations

import datetime as dt
import os
import re
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

LANDING_FILE_SUFFIXES = (".parquet", ".jsonl")
# A partition folder: the landing date of the files in it.
PARTITION_DIR = re.compile(r"^date=(\d{4}-\d{2}-\d{2})$")
RAW_SCHEMA = "raw"
LEDGER_TABLE = "ingestion_ledger"

# Metadata columns the loader adds to every raw row.
LOADER_COLUMNS = ("_source_file", "_file_row_number", "_loaded_at")


@dataclass(frozen=True)
class LandingTable:
    source: str
    table: str
    columns: tuple[str, ...]
    description: str

    @property
    def raw_table(self) -> str:
        return f"{self.source}_{self.table}"

    @property
    def landing_dir(self) -> str:
        return f"{self.source}/{self.table}"


LANDING_TABLES: tuple[LandingTable, ...] = (
    LandingTable(
        "crm",
        "contacts",
        (
            "contact_id",
            "shop_customer_id",
            "first_name",
            "last_name",
            "email",
            "phone",
            "country_code",
            "birth_date",
            "signed_up_at",
            "lifecycle_stage",
            "is_test_account",
            "updated_at",
        ),
        "CRM contact change records: one row per change, possibly out of order.",
    ),
    LandingTable(
        "crm",
        "consent_events",
        (
            "consent_event_id",
            "contact_id",
            "channel",
            "purpose",
            "consent_status",
            "occurred_at",
            "capture_source",
        ),
        "Consent grants and revocations per contact and channel (email, sms, ads, onsite, or "
        "'all' for a global unsubscribe), optionally for one purpose; files from before the "
        "purpose column load it as null.",
    ),
    LandingTable(
        "web",
        "events",
        (
            "event_id",
            "anonymous_id",
            "user_id",
            "event_type",
            "page_url",
            "product_id",
            "utm_source",
            "utm_medium",
            "utm_campaign",
            "device_type",
            "occurred_at",
        ),
        "Raw clickstream events; user_id is the shop account id once a visitor logs in.",
    ),
    LandingTable(
        "shop",
        "orders",
        (
            "order_id",
            "shop_customer_id",
            "email",
            "order_status",
            "currency",
            "order_total",
            "ordered_at",
            "updated_at",
        ),
        "Shop order headers; guest checkouts carry an email and no shop_customer_id.",
    ),
    LandingTable(
        "shop",
        "order_lines",
        (
            "order_line_id",
            "order_id",
            "product_id",
            "quantity",
            "unit_price",
        ),
        "Shop order lines, one per product on an order.",
    ),
    LandingTable(
        "shop",
        "products",
        (
            "product_id",
            "product_name",
            "category",
            "list_price",
            "currency",
            "updated_at",
        ),
        "Product catalogue snapshots.",
    ),
    LandingTable(
        "email",
        "campaigns",
        (
            "campaign_id",
            "campaign_name",
            "subject",
            "campaign_type",
            "scheduled_at",
        ),
        "Email campaigns as defined in the email platform.",
    ),
    LandingTable(
        "email",
        "events",
        (
            "email_event_id",
            "campaign_id",
            "email",
            "event_type",
            "occurred_at",
            "click_url",
            "bounce_type",
        ),
        "Email platform events: send, delivery, open, click, bounce, unsubscribe, spam_complaint.",
    ),
    LandingTable(
        "privacy",
        "erasure_requests",
        (
            "erasure_request_id",
            "email",
            "contact_id",
            "requested_at",
            "request_channel",
        ),
        "Right-to-be-forgotten requests received by the privacy desk.",
    ),
    LandingTable(
        "privacy",
        "manual_suppressions",
        (
            "suppression_id",
            "email",
            "phone",
            "channel",
            "reason",
            "suppressed_at",
        ),
        "The operations team's manual suppression list: people never to contact on a channel "
        "(email, sms, ads, or 'all'), named by email and/or international phone number.",
    ),
)

TABLES_BY_DIR = {table.landing_dir: table for table in LANDING_TABLES}


def table_for(source: str, table: str) -> LandingTable:
    """Return the contract entry for ``source``/``table`` or raise a clear error."""
    try:
        return TABLES_BY_DIR[f"{source}/{table}"]
    except KeyError:
        known = ", ".join(sorted(TABLES_BY_DIR))
        raise KeyError(f"unknown landing table {source}/{table}; known: {known}") from None


# --- layout -------------------------------------------------------------------------
def partition_dir(date: dt.date) -> str:
    """The folder name of a landing date: ``date=YYYY-MM-DD``."""
    return f"date={date:%Y-%m-%d}"


def partition_date(name: str) -> dt.date | None:
    """The landing date a folder name stands for, or None if it is not a partition."""
    match = PARTITION_DIR.match(name)
    if match is None:
        return None
    try:
        return dt.date.fromisoformat(match.group(1))
    except ValueError:
        return None


def is_landing_file(path: Path) -> bool:
    """A file the loader reads: a landing suffix, not hidden or a marker ('.', '_')."""
    return path.suffix in LANDING_FILE_SUFFIXES and not path.name.startswith((".", "_"))


def landed_dates(landing: Path) -> list[dt.date]:
    """The landing dates, oldest first, whose partition of some contract table holds a
    landing file."""
    dates = set()
    for table in LANDING_TABLES:
        folder = landing / table.landing_dir
        if not folder.is_dir():
            continue
        for partition in folder.iterdir():
            date = partition_date(partition.name)
            if date is not None and partition.is_dir() and any(map(is_landing_file, partition.iterdir())):
                dates.add(date)
    return sorted(dates)


def write_parquet(table: pa.Table, target: Path) -> None:
    """Write a landing Parquet file atomically: a hidden temporary file in the same
    folder (the loader skips it), renamed over ``target``, so no reader sees half a file."""
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.tmp")
    try:
        pq.write_table(table, tmp, compression="zstd")
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
