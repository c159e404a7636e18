"""Tests for scripts/export_audiences.py: configuration, the freshness gate, change feeds,
the ledger, erasure, failures and what the exported files may contain.

Each test publishes a small serving file (``marts.dim_audiences``,
``marts.fct_audience_eligibility``) and restricted file
(``activation.dim_customer_contacts``) with their publish logs, and the build status file
a scheduled build writes, into its own folder under one module-wide root. The registry is
the project's, with its audiences and destinations re-keyed (``dataclasses.replace``) so
one audience reaches every destination type. Webhook changes go to a receiver on
127.0.0.1. The last test scans every file all the tests wrote under their exports folders.
"""

from __future__ import annotations

import csv
import dataclasses
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import threading
from datetime import date, datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import SimpleNamespace

import duckdb
import pytest

SCRIPTS = Path(__file__).resolve().parents[2] / "scripts"
sys.path.insert(0, str(SCRIPTS))

import audience_registry  # noqa: E402
import build_status  # noqa: E402
import destination_formats  # noqa: E402
import erasure  # noqa: E402
import export_audiences  # noqa: E402
import export_ledger  # noqa: E402
import load_sources  # noqa: E402

AS_OF = date(2026, 6, 30)
WEBHOOK_ENV = "FIXTURE_WEBHOOK_URL"
EMAIL_DESTINATIONS = ("fx_mailchimp", "fx_klaviyo", "fx_braze", "fx_webhook")
ADS_DESTINATIONS = ("fx_google", "fx_meta")
DESTINATION_TYPES = {
    "fx_mailchimp": "mailchimp", "fx_klaviyo": "klaviyo", "fx_braze": "braze", "fx_webhook": "webhook",
    "fx_google": "google_customer_match", "fx_meta": "meta_custom_audience",
}
ALL_ROOTS: list[Path] = []


def utc_now() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None)


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def contact(number: int, **overrides) -> dict:
    row = {
        "customer_id": f"cus_{number:03d}", "email": f"Person.{number:03d}@Example.com ",
        "first_name": f"First{number:03d}", "last_name": f"Last{number:03d}",
        "phone_e164": f"+4915100{number:05d}", "country_code": "DE", "birth_date": date(1980, 1, 1 + number % 28),
    }
    row.update(overrides)
    return row


CONTACTS = [contact(number) for number in range(1, 31)]
CONTACTS[8] = contact(9, first_name="Zoë", last_name="Łukasz, \"José\"")
CONTACTS[6] = contact(7, email=None)  # no email: Mailchimp skips, the others match on the phone


def eligibility(audience_key: str, statuses: dict[int, str], segment: str = "vip",
                granted: str = "email_marketing") -> list[dict]:
    rows = []
    for number, status in sorted(statuses.items()):
        reason = None
        if status.startswith("excluded:"):
            status, reason = "excluded", status.split(":", 1)[1]
        rows.append({"audience_key": audience_key, "customer_id": f"cus_{number:03d}",
                     "qualifying_segment_key": segment, "eligibility_status": status, "exclusion_reason": reason,
                     "holdout_bucket": number * 97 % 10000, "granted_purposes": granted if status != "excluded" else "",
                     "as_of_date": AS_OF})
    return rows


# Email audience: 1-14 eligible, 15-16 holdout, 17-18 consent withdrawn, 19 global unsubscribe.
EMAIL_STATUSES = {**{n: "eligible" for n in range(1, 15)}, 15: "holdout", 16: "holdout",
                  17: "excluded:consent_withdrawn", 18: "excluded:consent_withdrawn",
                  19: "excluded:global_unsubscribe"}
ADS_STATUSES = {**{n: "eligible" for n in range(1, 11)}, 11: "holdout", 12: "excluded:consent_not_captured"}


# ---------------------------------------------------------------------- the webhook receiver


class Receiver:
    """A webhook endpoint on 127.0.0.1 that records every change it accepts."""

    def __init__(self) -> None:
        self.received: list[dict] = []
        self.fail = False
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                if receiver.fail:
                    self.send_response(500)
                    self.end_headers()
                    return
                receiver.received.extend(json.loads(body)["changes"])
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(b"{}")

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/audiences"

    def keys(self) -> list[str]:
        return [change["idempotency_key"] for change in self.received]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


# ------------------------------------------------------------------------------ the fixture


def build_registry(email_cap: tuple[int, int] | None = None) -> SimpleNamespace:
    """The project's registry, re-keyed: an email audience sent to Mailchimp, Klaviyo,
    Braze and the webhook, an ads audience sent to Google and Meta, and a second email
    audience with a frequency cap of one addition per 7 days."""
    real = audience_registry.load_registry()
    template = next(audience for audience in real.audiences if audience.frequency_cap is not None)
    cap_type = type(template.frequency_cap)
    destination = real.destinations[0]
    destinations = [
        dataclasses.replace(destination, key=key, type=kind,
                            settings={"url_env": WEBHOOK_ENV, "batch_size": 4, "max_attempts": 2} if kind == "webhook" else {})
        for key, kind in DESTINATION_TYPES.items()
    ]
    audiences = [
        dataclasses.replace(template, key="fx_email", channel="email", consent_purpose="email_marketing",
                            status="active", schedule="daily", destinations=EMAIL_DESTINATIONS,
                            frequency_cap=cap_type(max_additions=email_cap[0], per_days=email_cap[1]) if email_cap else None),
        dataclasses.replace(template, key="fx_ads", channel="ads", consent_purpose="ad_user_data",
                            status="active", schedule="daily", destinations=ADS_DESTINATIONS, frequency_cap=None),
        dataclasses.replace(template, key="fx_email_capped", channel="email", consent_purpose="email_marketing",
                            status="active", schedule="daily", destinations=("fx_mailchimp",),
                            frequency_cap=cap_type(max_additions=1, per_days=7)),
    ]
    return SimpleNamespace(audiences=audiences, destinations=destinations)


class Fixture:
    def __init__(self, root: Path, monkeypatch, capsys, receiver: Receiver) -> None:
        self.root = root
        self.data = root / "data"
        self.data.mkdir(parents=True)
        self.warehouse = self.data / "warehouse.duckdb"
        self.serving = self.data / "serving.duckdb"
        self.restricted = self.data / "restricted.duckdb"
        self.exports = self.data / "exports"
        self.capsys = capsys
        self.receiver = receiver
        self.env = {"SEGMENTS_DUCKDB_PATH": str(self.warehouse), WEBHOOK_ENV: receiver.url}
        self.registry = build_registry()
        original = audience_registry.load_registry
        monkeypatch.setattr(audience_registry, "load_registry",
                            lambda path=None: original(path) if path else self.registry)
        self.build_number = 0
        self.contacts = [dict(row) for row in CONTACTS]
        self.eligibility = eligibility("fx_email", EMAIL_STATUSES) + eligibility(
            "fx_ads", ADS_STATUSES, segment="lookalike", granted="ad_personalization,ad_user_data")
        self.erased: set[str] = set()
        self.publish()

    # -- publishing
    def publish(self, write_serving: bool = True, write_restricted: bool = True) -> None:
        """A successful build: serving and restricted files and the status file."""
        self.build_number += 1
        fingerprint = f"fingerprint{self.build_number:04d}"
        now = utc_now()
        log = ("create table main.publish_log as select ? as publish_number, ?::timestamp as published_at, "
               "'inv' as build_id, ? as build_fingerprint, ? as scheduled_build_number, ?::date as as_of")
        params = [self.build_number, now, fingerprint, self.build_number, AS_OF]
        if write_serving:
            self.serving.unlink(missing_ok=True)
            with duckdb.connect(str(self.serving)) as con:
                con.execute(log, params)
                con.execute("create schema marts")
                con.execute("create table marts.dim_audiences (audience_key varchar, status varchar)")
                con.executemany("insert into marts.dim_audiences values (?, 'active')",
                                [[audience.key] for audience in self.registry.audiences])
                con.execute("""create table marts.fct_audience_eligibility (audience_key varchar, customer_id varchar,
                    qualifying_segment_key varchar, eligibility_status varchar, exclusion_reason varchar,
                    holdout_bucket integer, granted_purposes varchar, as_of_date date)""")
                con.executemany("insert into marts.fct_audience_eligibility values (?, ?, ?, ?, ?, ?, ?, ?)",
                                [list(row.values()) for row in self.eligibility])
        if write_restricted:
            self.restricted.unlink(missing_ok=True)
            with duckdb.connect(str(self.restricted)) as con:
                con.execute(log, params)
                con.execute("create schema activation")
                con.execute("""create table activation.dim_customer_contacts (customer_id varchar, email varchar,
                    first_name varchar, last_name varchar, phone_e164 varchar, country_code varchar,
                    birth_date date, email_sha256 varchar, phone_sha256 varchar)""")
                con.executemany("insert into activation.dim_customer_contacts values (?, ?, ?, ?, ?, ?, ?, ?, ?)", [
                    [row["customer_id"], row["email"], row["first_name"], row["last_name"], row["phone_e164"],
                     row["country_code"], row["birth_date"],
                     sha256(row["email"].strip().lower()) if row["email"] else None,
                     sha256(row["phone_e164"]) if row["phone_e164"] else None]
                    for row in self.contacts])
        self.write_status(state="succeeded")

    def write_status(self, state: str = "succeeded", loaded_hours_ago: float = 2, sources: bool = True,
                     success: bool = True) -> None:
        number, fingerprint = self.build_number, f"fingerprint{self.build_number:04d}"
        attempt = {"build_number": number, "fingerprint": fingerprint, "state": state,
                   "started_at": utc_now().isoformat(), "finished_at": utc_now().isoformat(), "exit_code": 0}
        loaded = (utc_now() - timedelta(hours=loaded_hours_ago)).isoformat() if loaded_hours_ago is not None else None
        build_status.write_status(build_status.status_path(self.warehouse), {
            "last_attempt": attempt,
            "last_success": {"build_number": number, "fingerprint": fingerprint} if success else None,
            "sources": [
                {"source": "crm", "table": "consent_events", "warn_after_hours": 26.0, "error_after_hours": 50.0,
                 "newest_loaded_at": loaded, "feeds": ["fct_audience_eligibility"]},
                {"source": "shop", "table": "products", "warn_after_hours": None, "error_after_hours": None,
                 "newest_loaded_at": None, "feeds": ["fct_audience_eligibility"]},
            ] if sources else None,
        })

    def set_status(self, number: int, status: str, audience: str | None = None) -> None:
        for row in self.eligibility:
            if row["customer_id"] == f"cus_{number:03d}" and audience in (None, row["audience_key"]):
                row["eligibility_status"] = "excluded" if status.startswith("excluded") else status
                row["exclusion_reason"] = status.split(":", 1)[1] if ":" in status else None

    # -- running
    def export(self, *args: str, expect: int | None = 0) -> str:
        self.capsys.readouterr()
        code = export_audiences.main(list(args), self.env)
        captured = self.capsys.readouterr()
        output = captured.out + captured.err
        if expect is not None:
            assert code == expect, f"exit {code}, expected {expect}:\n{output}"
        return output

    def files(self) -> list[Path]:
        if not self.exports.is_dir():
            return []
        return sorted(path for path in self.exports.rglob("*") if path.is_file()
                      and not path.name.startswith(".") and not path.name.startswith(export_ledger.LEDGER_FILE_NAME))

    def ledger(self, sql: str, params: list | None = None) -> list[tuple]:
        with duckdb.connect(str(export_ledger.ledger_path(self.exports)), read_only=True) as con:
            return con.execute(sql, params or []).fetchall()

    def runs(self, run_id: str | None = None) -> dict[str, dict]:
        """destination -> run row (the newest run, or ``run_id``)."""
        rows = self.ledger("select * from export_runs order by started_at")
        columns = [name for (name,) in self.ledger(
            "select column_name from information_schema.columns where table_name = 'export_runs' order by ordinal_position")]
        runs = {}
        for row in rows:
            record = dict(zip(columns, row))
            if run_id is None or record["run_id"] == run_id:
                runs[record["destination_key"]] = record
        return runs


@pytest.fixture(scope="module")
def receiver():
    server = Receiver()
    yield server
    server.close()


@pytest.fixture(scope="module")
def module_root(tmp_path_factory):
    return tmp_path_factory.mktemp("exports")


@pytest.fixture
def fx(request, module_root, monkeypatch, capsys, receiver):
    root = module_root / re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.name)[:80]
    ALL_ROOTS.append(root)
    receiver.received.clear()
    receiver.fail = False
    fixture = Fixture(root, monkeypatch, capsys, receiver)
    yield fixture
    (root / "forbidden.json").write_text(json.dumps({"erased": sorted(fixture.erased)}))


def csv_rows(path: Path) -> list[list[str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.reader(handle))[1:]


def files_of(fx: Fixture, destination: str, audience: str = "fx_email") -> list[Path]:
    return [path for path in fx.files() if path.parts[-3:-1] == (destination, audience)]


# ----------------------------------------------------------------------- configuration


@pytest.mark.parametrize(("args", "env", "registry_text", "message"), [
    (["--audience", "no_such_audience"], {}, None, "unknown audience no_such_audience"),
    (["--destination", "no_such_destination"], {}, None, "unknown destination no_such_destination"),
    (["--audience", "fx_ads", "--destination", "fx_mailchimp"], {}, None, "is not a destination of audience fx_ads"),
    ([], {WEBHOOK_ENV: ""}, None, f"{WEBHOOK_ENV} (its webhook URL) is not set"),
    ([], {WEBHOOK_ENV: "ftp://example.com/hook"}, None, "is not an http(s) URL"),
    ([], {}, "not: [a registry", "the audience registry is invalid"),
])
def test_bad_configuration_fails_before_anything_is_written(fx, args, env, registry_text, message):
    fx.env.update(env)
    if registry_text is not None:
        path = fx.root / "bad_registry.yml"
        path.write_text(registry_text)
        args = [*args, "--registry", str(path)]
    output = fx.export(*args, expect=2)
    assert message in output, output
    assert len(output.strip().splitlines()) == 1, output
    assert not fx.exports.exists()


def test_a_paused_audience_is_not_exported(fx):
    fx.registry.audiences[0] = dataclasses.replace(fx.registry.audiences[0], status="paused")
    output = fx.export("--audience", "fx_email", expect=2)
    assert "audience fx_email (paused) is not active" in output, output
    fx.export()  # the default selection leaves it out
    assert set(fx.runs()) == set(ADS_DESTINATIONS) | {"fx_mailchimp"}
    assert {run["audience_key"] for run in fx.runs().values()} == {"fx_ads", "fx_email_capped"}


def test_a_destination_type_without_a_writer_is_a_configuration_error(fx):
    fx.registry.destinations[0] = dataclasses.replace(fx.registry.destinations[0], type="carrier_pigeon")
    output = fx.export(expect=2)
    assert "no writer for destination type carrier_pigeon" in output, output
    assert not fx.exports.exists()


# ------------------------------------------------------------------------------ the gate


def gate_running(fx):
    fx.write_status(state="running")


def gate_failed(fx):
    fx.write_status(state="failed")


def gate_no_status(fx):
    build_status.status_path(fx.warehouse).unlink()


def gate_serving_missing(fx):
    fx.serving.unlink()


def gate_serving_unpublished(fx):
    fx.publish(write_serving=False)  # build 2 succeeded, the serving file still holds build 1


def gate_restricted_unpublished(fx):
    fx.publish(write_restricted=False)


def gate_source_stale(fx):
    fx.write_status(loaded_hours_ago=60)


def gate_source_never_loaded(fx):
    fx.write_status(loaded_hours_ago=None)


def gate_sources_unknown(fx):
    fx.write_status(sources=False)


@pytest.mark.parametrize(("break_it", "message"), [
    (gate_running, "has not finished"),
    (gate_failed, "failed (dbt exit code"),
    (gate_no_status, "no build status"),
    (gate_serving_missing, "serving file"),
    (gate_serving_unpublished, "the serving file holds build #1"),
    (gate_restricted_unpublished, "the restricted file holds build #1"),
    (gate_source_stale, "source crm.consent_events is past its freshness SLA"),
    (gate_sources_unknown, "freshness of the audiences' sources is unknown"),
])
def test_the_freshness_gate_refuses_and_force_stale_overrides(fx, break_it, message):
    break_it(fx)
    output = fx.export("--audience", "fx_email", expect=3)
    assert message in output and "--force-stale" in output, output
    assert len(output.strip().splitlines()) == 1, output
    assert not fx.exports.exists()
    if break_it is gate_serving_missing:
        return  # nothing to export from
    fx.export("--audience", "fx_email", "--force-stale")
    runs = fx.runs()
    assert set(runs) == set(EMAIL_DESTINATIONS)
    assert all(message in run["gate_override"] for run in runs.values()), runs


def test_a_source_never_loaded_is_a_warning_not_a_refusal(fx):
    gate_source_never_loaded(fx)
    output = fx.export("--audience", "fx_email")
    assert "warning: source crm.consent_events has no load recorded" in output, output
    assert all(run["gate_override"] is None for run in fx.runs().values())


def test_a_fresh_build_passes_the_gate_with_no_override(fx):
    fx.write_status(loaded_hours_ago=30)  # past warn_after, not error_after
    output = fx.export("--audience", "fx_email")
    assert "warning: source crm.consent_events last loaded 30 h ago" in output, output
    assert all(run["gate_override"] is None for run in fx.runs().values())


# ----------------------------------------------------------------------- change feeds


def test_first_run_exports_every_eligible_member_and_a_rerun_nothing(fx):
    output = fx.export("--audience", "fx_email")
    assert "14 eligible, 14 members, 2 holdout" in output, output
    assert "consent_withdrawn 2, global_unsubscribe 1" in output, output
    runs = fx.runs()
    assert {key: (run["status"], run["added_count"], run["removed_count"]) for key, run in runs.items()} == {
        "fx_mailchimp": ("succeeded", 13, 0), "fx_klaviyo": ("succeeded", 14, 0),
        "fx_braze": ("succeeded", 14, 0), "fx_webhook": ("succeeded", 14, 0)}
    assert json.loads(runs["fx_mailchimp"]["skipped_counts"]) == {"no_email": 1}
    assert json.loads(runs["fx_mailchimp"]["excluded_counts"]) == {"consent_withdrawn": 2, "global_unsubscribe": 1}
    mailchimp = files_of(fx, "fx_mailchimp")
    assert len(mailchimp) == 1 and len(csv_rows(mailchimp[0])) == 13
    # The ledger's file rows carry the files' checksums and row counts.
    (digest, rows), = fx.ledger("select sha256, row_count from export_files where destination_key = 'fx_mailchimp'")
    assert digest == hashlib.sha256(mailchimp[0].read_bytes()).hexdigest() and rows == 13
    assert sorted(change["customer_id"] for change in fx.receiver.received) == [f"cus_{n:03d}" for n in range(1, 15)]
    memberships = dict(fx.ledger("select membership, count(*) from run_memberships group by 1"))
    assert memberships == {"member": 14, "holdout": 2, "excluded": 3}

    files_before = fx.files()
    received_before = len(fx.receiver.received)
    fx.export("--audience", "fx_email")
    rerun = fx.runs()
    assert all((run["added_count"], run["changed_count"], run["removed_count"]) == (0, 0, 0)
               for run in rerun.values()), rerun
    assert fx.files() == files_before
    assert len(fx.receiver.received) == received_before


def test_dry_run_prints_the_counts_and_writes_nothing(fx):
    output = fx.export("--audience", "fx_email", "--dry-run")
    assert "would send 13 added, 0 changed, 0 removed" in output, output
    assert "excluded by reason: consent_withdrawn 2, global_unsubscribe 1" in output, output
    assert not fx.exports.exists() and fx.receiver.received == []


def test_a_changed_attribute_is_sent_as_a_change_and_full_sends_everyone(fx):
    fx.export("--audience", "fx_email")
    fx.contacts[0]["last_name"] = "Renamed"
    fx.publish()
    fx.export("--audience", "fx_email")
    runs = fx.runs()
    assert {key: run["changed_count"] for key, run in runs.items()} == {key: 1 for key in EMAIL_DESTINATIONS}
    fx.export("--audience", "fx_email", "--destination", "fx_mailchimp", "--full")
    run = fx.runs()["fx_mailchimp"]
    assert run["mode"] == "full" and (run["added_count"], run["changed_count"]) == (0, 0)
    (snapshot,) = [path for path in files_of(fx, "fx_mailchimp") if run["run_id"] in path.name]
    assert len(csv_rows(snapshot)) == 13


def removal_rows(fx: Fixture, destination: str, audience: str) -> list[list[str]]:
    return [row for path in files_of(fx, destination, audience) if path.name.endswith("_removals.csv")
            for row in csv_rows(path)]


def test_a_consent_revocation_is_a_removal_in_every_destination_type(fx):
    fx.export("--audience", "fx_email")
    fx.export("--audience", "fx_ads")
    fx.set_status(2, "excluded:consent_withdrawn")
    fx.set_status(3, "holdout", audience="fx_email")  # moved to the holdout: removed too
    fx.publish()
    fx.receiver.received.clear()
    fx.export("--audience", "fx_email")
    fx.export("--audience", "fx_ads")
    email = contact(2)["email"].strip().lower()
    expected = {
        "fx_mailchimp": [hashlib.md5(email.encode()).hexdigest()],  # noqa: S324
        "fx_klaviyo": [email],
        "fx_braze": ["cus_002"],
    }
    for destination, needles in expected.items():
        rows = removal_rows(fx, destination, "fx_email")
        assert len(rows) == 2 and any(needle in row for row in rows for needle in needles), (destination, rows)
    for destination in ADS_DESTINATIONS:
        (row,) = removal_rows(fx, destination, "fx_ads")
        assert row[0] == sha256(email) and len(row[1]) == 64 and not any(row[2:]), (destination, row)
    assert sorted((change["kind"], change["customer_id"]) for change in fx.receiver.received) == [
        ("removed", "cus_002"), ("removed", "cus_003")]
    assert {key: run["removed_count"] for key, run in fx.runs().items()} == {
        **{key: 2 for key in EMAIL_DESTINATIONS}, **{key: 1 for key in ADS_DESTINATIONS}}
    # Delivered: nothing is owed any more.
    assert fx.ledger("select count(*) from delivered_state where customer_id in ('cus_002', 'cus_003') "
                     "and audience_key = 'fx_email'") == [(0,)]


def erasure_warehouse(fx: Fixture, subject: dict) -> None:
    """The warehouse tables an erasure reads: the request, and identity resolution."""
    with duckdb.connect(str(fx.warehouse)) as con:
        con.execute("create schema raw")
        con.execute(load_sources.LEDGER_DDL)
        con.execute("create table raw.privacy_erasure_requests (erasure_request_id varchar, email varchar, "
                    "contact_id varchar, requested_at varchar, request_channel varchar, _source_file varchar, "
                    "_file_row_number bigint, _loaded_at timestamp)")
        con.execute("insert into raw.privacy_erasure_requests values ('ER-1', ?, '', '2026-06-29 10:00:00', "
                    "'web_form', 'privacy/erasure_requests/date=2026-06-29/part-0.jsonl', 1, now())",
                    [subject["email"].upper()])
        con.execute("create schema intermediate")
        con.execute("create table intermediate.int_identifiers_resolved_to_customers "
                    "(identifier_type varchar, identifier_value varchar, customer_id varchar)")
        con.execute("insert into intermediate.int_identifiers_resolved_to_customers values (?, ?, ?), (?, ?, ?)",
                    ["email", subject["email"].strip().lower(), subject["customer_id"],
                     "contact_id", "C-4", subject["customer_id"]])


def test_an_erasure_is_a_removal_in_every_destination_type(fx):
    fx.export("--audience", "fx_email")
    fx.export("--audience", "fx_ads")
    subject = contact(4)
    erasure_warehouse(fx, subject)
    summary = erasure.run(fx.warehouse, environ={"SEGMENTS_ERASURE_SALT": "pepper"})
    assert summary.completed == 1
    fx.erased.add("cus_004")
    # The erasure removed the person from the published files; the ledger kept only the
    # keys destinations remove by, as pending removals.
    assert fx.ledger("select count(*) from delivered_state where customer_id = 'cus_004'") == [(0,)]
    assert fx.ledger("select count(*) from run_memberships where customer_id = 'cus_004'") == [(0,)]
    assert fx.ledger("select count(*) from pending_removals") == [(len(EMAIL_DESTINATIONS) + len(ADS_DESTINATIONS),)]
    with duckdb.connect(str(fx.restricted), read_only=True) as con:
        assert con.execute("select count(*) from activation.dim_customer_contacts "
                           "where customer_id = 'cus_004'").fetchone() == (0,)
    fx.receiver.received.clear()
    fx.export("--audience", "fx_email")
    fx.export("--audience", "fx_ads")
    email = subject["email"].strip().lower()
    assert removal_rows(fx, "fx_mailchimp", "fx_email") == [[hashlib.md5(email.encode()).hexdigest()]]  # noqa: S324
    assert removal_rows(fx, "fx_klaviyo", "fx_email") == [[email, subject["phone_e164"], "Unsubscribed"]]
    assert removal_rows(fx, "fx_braze", "fx_email") == [["cus_004", "", "", "", "", "", "unsubscribed", "false"]]
    for destination in ADS_DESTINATIONS:
        (row,) = removal_rows(fx, destination, "fx_ads")
        assert row[0] == sha256(email) and len(row[1]) == 64 and not any(row[2:]), row
    assert [(change["kind"], change["customer_id"]) for change in fx.receiver.received] == [("removed", "cus_004")]
    assert fx.ledger("select count(*) from pending_removals") == [(0,)]
    # The next run owes nothing.
    fx.export("--audience", "fx_email")
    assert [fx.runs()[key]["removed_count"] for key in EMAIL_DESTINATIONS] == [0, 0, 0, 0]


# ------------------------------------------------------------------------------ failures


def test_a_failed_destination_delivers_its_pending_changes_once_on_the_rerun(fx, monkeypatch):
    real = destination_formats.write_destination

    def failing(destination_type, changes, run_label):
        if destination_type == "klaviyo":
            raise RuntimeError("disk full")
        return real(destination_type, changes, run_label)

    monkeypatch.setattr(destination_formats, "write_destination", failing)
    output = fx.export("--audience", "fx_email", expect=1)
    assert "fx_klaviyo: FAILED" in output and "disk full" in output, output
    runs = fx.runs()
    assert runs["fx_klaviyo"]["status"] == "failed" and "disk full" in runs["fx_klaviyo"]["error"]
    assert runs["fx_mailchimp"]["status"] == "succeeded"
    assert files_of(fx, "fx_klaviyo") == []
    assert fx.ledger("select count(*) from delivered_state where destination_key = 'fx_klaviyo'") == [(0,)]

    monkeypatch.setattr(destination_formats, "write_destination", real)
    mailchimp_files = files_of(fx, "fx_mailchimp")
    fx.export("--audience", "fx_email")
    runs = fx.runs()
    assert runs["fx_klaviyo"]["added_count"] == 14 and runs["fx_mailchimp"]["added_count"] == 0
    assert files_of(fx, "fx_mailchimp") == mailchimp_files
    klaviyo = files_of(fx, "fx_klaviyo")  # upsert, and upsert_phone for the customer without email
    assert sum(len(csv_rows(path)) for path in klaviyo) == 14
    fx.export("--audience", "fx_email")
    assert files_of(fx, "fx_klaviyo") == klaviyo


def test_a_webhook_that_is_down_leaves_the_changes_pending_until_it_is_back(fx):
    fx.receiver.fail = True
    output = fx.export("--audience", "fx_email", "--destination", "fx_webhook", expect=1)
    run = fx.runs()["fx_webhook"]
    assert run["status"] == "partial" and "dead-lettered" in run["error"], output
    assert fx.ledger("select count(*) from delivered_state where destination_key = 'fx_webhook'") == [(0,)]
    dead_letters = fx.exports / "fx_webhook" / "fx_email" / export_audiences.DEAD_LETTER_NAME
    assert dead_letters.is_file()

    fx.receiver.fail = False
    fx.export("--audience", "fx_email", "--destination", "fx_webhook")
    fx.export("--audience", "fx_email", "--destination", "fx_webhook")
    keys = fx.receiver.keys()
    assert len(keys) == len(set(keys)) == 14
    assert fx.runs()["fx_webhook"]["status"] == "succeeded"


# ----------------------------------------------------------------- frequency cap, holdout


def test_the_frequency_cap_excludes_customers_added_too_often_in_the_channel(fx):
    fx.eligibility += eligibility("fx_email_capped", {**{n: "eligible" for n in range(1, 5)}, 25: "eligible"})
    fx.publish()
    fx.export("--audience", "fx_email")  # adds 1-14 (one run of the email channel)
    output = fx.export("--audience", "fx_email_capped")
    assert "5 eligible, 1 members" in output and "frequency_cap 4" in output, output
    run = fx.runs()["fx_mailchimp"]
    assert run["audience_key"] == "fx_email_capped"
    assert json.loads(run["excluded_counts"]) == {"frequency_cap": 4}
    assert fx.ledger("select customer_id from run_memberships where audience_key = 'fx_email_capped' "
                     "and membership = 'member'") == [("cus_025",)]
    assert fx.ledger("select count(*) from run_memberships where exclusion_reason = 'frequency_cap'") == [(4,)]


def test_holdout_members_are_recorded_and_never_exported(fx):
    fx.export("--audience", "fx_email")
    fx.export("--audience", "fx_ads", "--full")
    assert sorted(fx.ledger("select customer_id from run_memberships where membership = 'holdout'")) == [
        ("cus_011",), ("cus_015",), ("cus_016",)]
    assert fx.ledger("select count(*) from delivered_state where (audience_key = 'fx_ads' and customer_id = 'cus_011') "
                     "or (audience_key = 'fx_email' and customer_id in ('cus_015', 'cus_016'))") == [(0,)]
    assert fx.ledger("select count(*) from delivered_state where audience_key = 'fx_ads'") == [(20,)]


def test_the_ledger_and_the_export_files_are_owner_only(fx):
    fx.export("--audience", "fx_email")
    assert export_ledger.ledger_path(fx.exports).stat().st_mode & 0o777 == 0o600
    files = fx.files()
    assert files and all(path.stat().st_mode & 0o077 == 0 for path in files)
    assert all(path.stat().st_mode & 0o077 == 0 for path in fx.exports.rglob("*") if path.is_dir())


# --------------------------------------------------------- what any exported file may hold


def identifier_forms(row: dict) -> set[str]:
    """Every form a customer can take in an exported file."""
    forms = {row["customer_id"].lower()}
    for value in (row["email"], row["phone_e164"]):
        if not value:
            continue
        text = value.strip().lower()
        local, _, domain = text.partition("@")
        variants = {text, text.lstrip("+")}
        if domain:  # the gmail forms (dots and +tags dropped from the local part)
            variants |= {f"{local.replace('.', '')}@{domain}", f"{local.split('+')[0].replace('.', '')}@{domain}"}
        for form in variants:
            forms |= {form, sha256(form), hashlib.md5(form.encode()).hexdigest()}  # noqa: S324
    return forms


def customers_in(cells: list[str], forms: dict[str, str]) -> set[str]:
    return {forms[cell.strip().lower()] for cell in cells if cell and cell.strip().lower() in forms}


def test_no_exported_file_holds_a_customer_without_consent_an_erased_one_or_a_holdout(module_root):
    """Runs last, over every file every test above wrote. In a member file (everything
    but the removal files) every customer found, in any form (id, email, phone, their
    SHA-256 and MD5), is a member of that run in the ledger, and none is ever a customer
    without consent, a holdout or an erased person. Removal files hold only removal keys
    (no names)."""
    roots = [root for root in ALL_ROOTS if (root / "data" / "exports").is_dir()]
    assert len(roots) >= 8, roots
    never = {
        "fx_email": {f"cus_{n:03d}" for n, status in EMAIL_STATUSES.items() if status != "eligible"},
        "fx_ads": {f"cus_{n:03d}" for n, status in ADS_STATUSES.items() if status != "eligible"},
    }
    forms = {form: row["customer_id"] for row in CONTACTS for form in identifier_forms(row)}
    names = {row[field].lower() for row in CONTACTS for field in ("first_name", "last_name")}
    scanned = found = 0
    for root in roots:
        exports = root / "data" / "exports"
        erased = set(json.loads((root / "forbidden.json").read_text()).get("erased", []))
        with duckdb.connect(str(export_ledger.ledger_path(exports)), read_only=True) as con:
            members: dict[str, set[str]] = {}
            for run_id, customer in con.execute(
                    "select run_id, customer_id from run_memberships where membership = 'member'").fetchall():
                members.setdefault(run_id, set()).add(customer)
        for path in sorted(exports.rglob("*")):
            if not path.is_file() or path.name.startswith(export_ledger.LEDGER_FILE_NAME):
                continue
            scanned += 1
            audience = path.parent.name
            text = path.read_text(encoding="utf-8")
            if path.name.endswith("_removals.csv"):
                assert not any(name in text.lower() for name in names), path
                continue
            if path.name == export_audiences.DEAD_LETTER_NAME:
                changes = [json.loads(line)["change"] for line in text.splitlines() if line.strip()]
                present = customers_in([str(value) for change in changes for value in change.values()], forms)
                allowed = set().union(*members.values()) if members else set()
            else:
                present = customers_in([cell for row in csv.reader(text.splitlines()) for cell in row], forms)
                allowed = members.get(path.name.split("__")[2], set())
            found += len(present)
            assert present <= allowed, (path, sorted(present - allowed))
            assert not present & (never.get(audience, set()) | erased), (path, sorted(present & (never.get(audience, set()) | erased)))
    assert scanned >= 20 and found >= 100, (scanned, found)


# ------------------------------------------------------------ end to end on a real build


def test_end_to_end_on_a_built_warehouse(tmp_path, receiver):
    """A real scheduled build of a small synthetic data set, then the project's own
    registry exported: every run succeeds, every member file holds only eligible customers
    of the published eligibility, and a rerun sends nothing."""
    project = tmp_path / "project"
    shutil.copytree(SCRIPTS.parent, project, ignore=shutil.ignore_patterns(
        ".venv", ".git", "data", "target*", "logs*", "__pycache__", ".pytest_cache"))
    data = tmp_path / "data"
    (data / "duckdb_tmp").mkdir(parents=True)
    end_date = (utc_now().date() - timedelta(days=1)).isoformat()
    env = {**os.environ, "DBT_PROFILES_DIR": str(project), "SEGMENTS_DUCKDB_PATH": str(data / "warehouse.duckdb"),
           "SEGMENTS_DUCKDB_TEMP_DIR": str(data / "duckdb_tmp"), "SEGMENTS_AS_OF": end_date,
           "DBT_TARGET_PATH": str(tmp_path / "target"), "DBT_LOG_PATH": str(tmp_path / "logs"),
           "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"}
    for name in ("SEGMENTS_SERVING_PATH", "SEGMENTS_RESTRICTED_PATH", "SEGMENTS_EXPORTS_PATH"):
        env.pop(name, None)
    registry = audience_registry.load_registry()
    for destination in registry.destinations:
        if destination.type == "webhook":
            env[dict(destination.settings)["url_env"]] = receiver.url

    def run(*command: str, expect: int = 0) -> str:
        result = subprocess.run([sys.executable, *command], cwd=project, env=env, capture_output=True,
                                text=True, check=False)
        assert result.returncode == expect, f"{command} exited {result.returncode}:\n{result.stdout[-4000:]}\n{result.stderr[-2000:]}"
        return result.stdout

    scripts = project / "scripts"
    run(str(scripts / "generate_sources.py"), "--customers", "300", "--days", "60", "--seed", "5",
        "--end-date", end_date, "--out", str(tmp_path / "landing"))
    run(str(scripts / "load_sources.py"), "--landing", str(tmp_path / "landing"), "--database", str(data / "warehouse.duckdb"))
    run(str(scripts / "scheduled_build.py"), "--project-dir", str(project))
    status = build_status.read_status(data / build_status.STATUS_FILE_NAME)
    assert status["last_attempt"]["state"] == "succeeded" and status["sources"], status
    assert {"fct_audience_eligibility", "dim_customer_contacts"} <= {
        mart for source in status["sources"] for mart in source["feeds"]}

    output = run(str(scripts / "export_audiences.py"), "--dry-run")
    assert "would send" in output and not (data / "exports").exists(), output
    output = run(str(scripts / "export_audiences.py"))
    exports = data / "exports"
    with duckdb.connect(str(data / "serving.duckdb"), read_only=True) as con:
        eligible = {(audience, customer) for audience, customer in con.execute(
            "select audience_key, customer_id from marts.fct_audience_eligibility "
            "where eligibility_status = 'eligible'").fetchall()}
    with duckdb.connect(str(data / "restricted.duckdb"), read_only=True) as con:
        contacts = con.execute("select customer_id, email, phone_e164 from activation.dim_customer_contacts").fetchall()
    forms = {form: customer for customer, email, phone in contacts
             for form in identifier_forms({"customer_id": customer, "email": email, "phone_e164": phone})}
    with duckdb.connect(str(export_ledger.ledger_path(exports)), read_only=True) as con:
        statuses = con.execute("select status, count(*) from export_runs group by 1").fetchall()
        sent = con.execute("select sum(added_count) from export_runs").fetchone()[0]
    assert dict(statuses).keys() == {"succeeded"} and sent > 0, (statuses, output)
    files = [path for path in exports.rglob("*.csv") if not path.name.endswith("_removals.csv")]
    assert files, output
    for path in files:
        audience = path.parent.name
        present = customers_in([cell for row in csv.reader(path.read_text(encoding="utf-8").splitlines()) for cell in row], forms)
        assert present and all((audience, customer) in eligible for customer in present), path
    before = sorted(exports.rglob("*.csv"))
    run(str(scripts / "export_audiences.py"), *[arg for audience in registry.audiences
                                                if audience.status == "active" for arg in ("--audience", audience.key)])
    assert sorted(exports.rglob("*.csv")) == before
