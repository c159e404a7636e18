"""Export audiences to their destinations as change feeds, with a ledger and a freshness gate.

For each audience of the registry (``models/marts/activation/_audience_registry.yml``,
``audience_registry.py``) and each of its destinations, a run:

1. reads the audience's rows of ``marts.fct_audience_eligibility`` from the serving file
   and the eligible customers' contacts from ``activation.dim_customer_contacts`` in the
   restricted file, both read-only (never the warehouse);
2. takes the eligible customers, minus the frequency cap (a customer not yet delivered
   who was added by ``max_additions`` runs of audiences of the same channel within
   ``per_days`` is excluded, reason ``frequency_cap``); holdout rows are recorded as
   ``holdout`` and never exported; every customer's membership goes to the ledger;
3. compares the members (with a hash of the attributes the destination is sent) with the
   destination's delivered state in the ledger (``export_ledger.py``): added, changed
   (attribute hash differs) and removed (no longer a member: consent revoked, suppressed,
   erased, left the segment, moved to holdout); ``--full`` sends every member;
4. writes the files in the platform's format (``destination_formats.py``) under
   ``<exports>/<destination>/<audience>/<type>__<audience>__<run id>__<part>.csv``, each
   to a temp name renamed when complete (owner-only: they hold personal data), and only then updates the delivered state and the run in one ledger
   transaction; a webhook destination POSTs the changes instead (``webhook_delivery.py``)
   and the ledger records each acknowledged batch; dead-lettered changes stay pending and
   the run is ``partial``. Removals are written from the match key the ledger recorded when
   the customer was delivered (what the platform holds), not from today's contact.

Before anything is read or written, the configuration is checked (exit 2) and the
freshness gate runs (exit 3): the last build must have succeeded and finished, the serving
and restricted files must hold that build, and no source the audience marts read may be
past its freshness SLA (``build_status.json`` written by the scheduled build).
``--force-stale`` exports anyway and the ledger records what was overridden.

Usage::

    python scripts/export_audiences.py [--audience KEY ...] [--destination KEY]
                                       [--full] [--dry-run] [--force-stale] [--registry PATH]

Without ``--audience``, every active audience that is due by its schedule (hourly: no
successful run to each destination this UTC hour; daily: this UTC day; weekly: this ISO
week). ``--dry-run`` prints what would be sent and the counts by reason and writes
nothing: no file, no ledger row. ``make export`` runs it (``make export DRY_RUN=1``,
``ARGS='--audience vip_email --full'``).

Exit codes: 0 done (also when nothing was due or changed), 1 a run failed or was partial
(its changes stay pending for the next run), 2 bad configuration, 3 the freshness gate
refused.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import io
import json
import os
import secrets
import sys
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import duckdb

sys.path.insert(0, str(Path(__file__).resolve().parent))

import audience_registry  # noqa: E402
import build_status  # noqa: E402
import destination_formats as formats  # noqa: E402
import erasure  # noqa: E402
import export_ledger  # noqa: E402
import serving  # noqa: E402
import webhook_delivery  # noqa: E402

PROJECT_DIR = Path(__file__).resolve().parent.parent
DATABASE_ENV_VAR = "SEGMENTS_DUCKDB_PATH"
DEFAULT_DATABASE = Path("data/warehouse.duckdb")
DEAD_LETTER_NAME = "dead_letters.jsonl"

EXIT_OK, EXIT_RUN_FAILED, EXIT_CONFIG, EXIT_GATE = 0, 1, 2, 3

# The contact attributes each destination type is sent (besides the segment key): a
# change in one of them is a "changed" row for that destination, nothing else is.
ATTRIBUTES_SENT: dict[str, tuple[str, ...]] = {
    "mailchimp": ("email", "first_name", "last_name"),
    "klaviyo": ("email", "first_name", "last_name", "phone_e164", "granted_purposes"),
    "braze": ("email", "first_name", "last_name", "phone_e164", "country_code", "granted_purposes"),
    "google_customer_match": ("email", "phone_e164", "first_name", "last_name", "country_code",
                              "postal_code", "granted_purposes"),
    "meta_custom_audience": ("email", "phone_e164", "first_name", "last_name", "city", "region",
                             "postal_code", "country_code", "birth_date"),
    "webhook": ("email", "first_name", "last_name", "phone_e164", "country_code"),
}
CONTACT_COLUMNS = ("email", "first_name", "last_name", "phone_e164", "country_code", "birth_date",
                   "postal_code", "city", "region")


class ConfigurationError(Exception):
    """Bad configuration: exit 2 before anything is written."""


class GateRefused(Exception):
    """The freshness gate refused: exit 3 before anything is written."""


# --------------------------------------------------------------------------- configuration


@dataclass
class Paths:
    warehouse: Path
    serving: Path
    restricted: Path
    exports: Path
    status: Path


def resolve_paths(environ: dict[str, str] | None = None) -> Paths:
    """Where the build published (relative paths are relative to the project folder)."""
    environ = os.environ if environ is None else environ
    warehouse = Path(environ.get(DATABASE_ENV_VAR) or DEFAULT_DATABASE)
    warehouse = warehouse if warehouse.is_absolute() else PROJECT_DIR / warehouse
    exports = erasure.exports_path(warehouse, environ)
    exports = exports if exports.is_absolute() else PROJECT_DIR / exports
    return Paths(
        warehouse=warehouse,
        serving=serving.serving_path(warehouse, environ, base=PROJECT_DIR),
        restricted=serving.restricted_path(warehouse, environ, base=PROJECT_DIR),
        exports=exports,
        status=build_status.status_path(warehouse),
    )


def has_writer(destination_type: str) -> bool:
    """Whether destination_formats writes this destination type (the webhook's payload
    comes from ``webhook_payload``)."""
    return destination_type in formats.WRITERS or destination_type == "webhook"


def webhook_url(destination: Any, environ: dict[str, str]) -> str:
    settings = dict(getattr(destination, "settings", None) or {})
    name = settings.get("url_env")
    if not name:
        raise ConfigurationError(f"destination {destination.key}: webhook settings name no url_env")
    url = environ.get(name, "").strip()
    if not url:
        raise ConfigurationError(
            f"destination {destination.key}: environment variable {name} (its webhook URL) is not set")
    parsed = urlparse(url)
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        raise ConfigurationError(
            f"destination {destination.key}: ${name} is not an http(s) URL")
    return url


@dataclass
class Plan:
    """The audiences and destinations one invocation exports."""

    registry: Any
    audiences: list[Any]
    destinations: dict[str, Any]
    urls: dict[str, str] = field(default_factory=dict)


def load_plan(audience_keys: list[str], destination_key: str | None, registry_path: Path | None,
              environ: dict[str, str]) -> Plan:
    """Validate the registry and the selection; ConfigurationError with one line."""
    try:
        registry = audience_registry.load_registry(registry_path)
    except ValueError as exc:
        problems = [line.strip() for line in str(exc).splitlines() if line.strip()]
        raise ConfigurationError(f"the audience registry is invalid: {'; '.join(problems)}") from None
    except OSError as exc:
        raise ConfigurationError(f"cannot read the audience registry: {exc.strerror or exc}") from None
    audiences = {audience.key: audience for audience in registry.audiences}
    destinations = {destination.key: destination for destination in registry.destinations}
    unknown = [key for key in audience_keys if key not in audiences]
    if unknown:
        raise ConfigurationError(f"unknown audience {', '.join(unknown)} (known: {', '.join(sorted(audiences))})")
    inactive = [f"{key} ({audiences[key].status})" for key in audience_keys if audiences[key].status != "active"]
    if inactive:
        # Its eligibility is empty, so an export would remove everyone from its platforms.
        raise ConfigurationError(f"audience {', '.join(inactive)} is not active; only active audiences are exported")
    if destination_key is not None and destination_key not in destinations:
        raise ConfigurationError(
            f"unknown destination {destination_key} (known: {', '.join(sorted(destinations))})")
    chosen = [audiences[key] for key in dict.fromkeys(audience_keys)] if audience_keys else [
        audience for audience in registry.audiences if audience.status == "active"]
    if destination_key is not None:
        if audience_keys:
            missing = [a.key for a in chosen if destination_key not in a.destinations]
            if missing:
                raise ConfigurationError(
                    f"destination {destination_key} is not a destination of audience {', '.join(missing)}")
        chosen = [a for a in chosen if destination_key in a.destinations]
    used = {key for audience in chosen for key in audience.destinations
            if destination_key is None or key == destination_key}
    plan = Plan(registry, chosen, {key: destinations[key] for key in sorted(used)})
    for key, destination in plan.destinations.items():
        if destination.type not in ATTRIBUTES_SENT or not has_writer(destination.type):
            raise ConfigurationError(f"destination {key}: no writer for destination type {destination.type}")
        if destination.type == "webhook":
            plan.urls[key] = webhook_url(destination, environ)
    return plan


# ------------------------------------------------------------------------------ the gate


@dataclass
class Published:
    """What the serving file holds: the build whose data an export reads."""

    as_of: Any = None
    build_number: int | None = None
    build_fingerprint: str | None = None
    published_at: datetime | None = None


def newest_publish(path: Path) -> tuple[Published | None, str | None]:
    """The newest publish_log row of a published file, or the problem."""
    if not path.is_file():
        return None, f"{path} does not exist"
    try:
        con = duckdb.connect(str(path), read_only=True)
    except duckdb.Error as exc:
        return None, f"cannot open {path}: {str(exc).splitlines()[0]}"
    try:
        row = con.execute(
            "select as_of, scheduled_build_number, build_fingerprint, published_at from main.publish_log "
            "order by publish_number desc limit 1").fetchone()
    except duckdb.Error:
        return None, f"{path} has no publish log"
    finally:
        con.close()
    if row is None:
        return None, f"{path} has an empty publish log"
    return Published(*row), None


def parse_time(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None


def gate_problems(paths: Paths, now: datetime) -> tuple[list[str], list[str], Published | None]:
    """(problems that refuse the export, warnings, what the serving file holds)."""
    problems: list[str] = []
    warnings: list[str] = []
    try:
        status = build_status.read_status(paths.status)
    except build_status.BuildStatusError as exc:
        status, problems = None, [str(exc)]
    if status is None and not problems:
        problems.append(f"no build status at {paths.status}: no scheduled build (make build) has run for "
                        f"warehouse {paths.warehouse}")
    attempt = (status or {}).get("last_attempt") or {}
    success = (status or {}).get("last_success") or {}
    if attempt.get("state") == "running":
        problems.append(f"build #{attempt.get('build_number')} started {attempt.get('started_at')} UTC has not "
                        f"finished (running, or interrupted)")
    elif attempt.get("state") == "failed":
        problems.append(f"the last build #{attempt.get('build_number')} failed (dbt exit code "
                        f"{attempt.get('exit_code')}, {attempt.get('finished_at')} UTC)")
    if status is not None and not success:
        problems.append("no build has succeeded yet")
    published, problem = newest_publish(paths.serving)
    restricted, restricted_problem = newest_publish(paths.restricted)
    for label, found, why in (("serving file", published, problem), ("restricted file", restricted, restricted_problem)):
        if why:
            problems.append(f"{label}: {why}")
        elif success and (found.build_number != success.get("build_number")
                          or found.build_fingerprint != success.get("fingerprint")):
            problems.append(
                f"the {label} holds build #{found.build_number} ({(found.build_fingerprint or 'no fingerprint')[:12]}), "
                f"not the last successful build #{success.get('build_number')} (unpublished data)")
    if status is not None and success:
        sources = status.get("sources")
        if sources is None:
            problems.append("the freshness of the audiences' sources is unknown (the build recorded none)")
        for source in sources or []:
            name = f"{source['source']}.{source['table']}"
            loaded = parse_time(source.get("newest_loaded_at"))
            error_after, warn_after = source.get("error_after_hours"), source.get("warn_after_hours")
            if error_after is None and warn_after is None:
                continue
            if loaded is None:
                # Nothing ever landed (a source that delivers rarely, such as erasure
                # requests): there is no delivery to be late, so it cannot be judged stale.
                warnings.append(f"source {name} has no load recorded; its freshness is not judged")
                continue
            age = (now - loaded).total_seconds() / 3600
            if error_after is not None and age > error_after:
                problems.append(f"source {name} is past its freshness SLA ({age:.0f} h since its last load, "
                                f"error after {error_after:g} h)")
            elif warn_after is not None and age > warn_after:
                warnings.append(f"source {name} last loaded {age:.0f} h ago (warn after {warn_after:g} h)")
    return problems, warnings, published


# ----------------------------------------------------------------------- data and changes


@dataclass
class Member:
    customer_id: str
    segment_key: str | None
    contact: Any  # destination_formats.Contact


@dataclass
class AudienceRun:
    run_id: str
    audience: Any
    members: dict[str, Member]
    memberships: list[tuple[str, str, str | None]]
    excluded: Counter
    eligible_count: int
    holdout_count: int
    reasons: dict[str, str] = field(default_factory=dict)  # customer -> why not a member


def attach_published(paths: Paths) -> duckdb.DuckDBPyConnection:
    """One in-memory connection with the serving and restricted files attached read-only."""
    con = duckdb.connect()
    con.execute(f"attach '{paths.serving}' as serving_file (read_only)")
    con.execute(f"attach '{paths.restricted}' as restricted_file (read_only)")
    return con


def contact_columns(con: duckdb.DuckDBPyConnection) -> list[str]:
    present = {name for (name,) in con.execute(
        "select column_name from information_schema.columns where table_catalog = 'restricted_file' "
        "and table_schema = 'activation' and table_name = 'dim_customer_contacts'").fetchall()}
    return [column for column in CONTACT_COLUMNS if column in present]


def make_contact(customer_id: str, values: dict[str, Any], granted: str | None) -> Any:
    fields = {column: values.get(column) for column in CONTACT_COLUMNS}
    fields["country_code"] = formats.normalise_country(fields["country_code"])
    return formats.Contact(
        customer_id=customer_id, **fields,
        granted_purposes=frozenset(part.strip() for part in (granted or "").split(",") if part.strip()),
    )


def read_audience(con: duckdb.DuckDBPyConnection, audience: Any, ledger: Any, now: datetime,
                  run_id: str) -> AudienceRun:
    """The audience's members for this run, its memberships and exclusion counts."""
    columns = contact_columns(con)
    selected = ", ".join(f"contacts.{column}" for column in columns)
    rows = con.execute(
        f"""
        select eligibility.customer_id, eligibility.qualifying_segment_key, eligibility.eligibility_status,
               eligibility.exclusion_reason, eligibility.granted_purposes{', ' + selected if selected else ''}
        from serving_file.marts.fct_audience_eligibility as eligibility
        left join restricted_file.activation.dim_customer_contacts as contacts
            on contacts.customer_id = eligibility.customer_id and eligibility.eligibility_status = 'eligible'
        where eligibility.audience_key = ?
        order by eligibility.customer_id
        """, [audience.key]).fetchall()
    cap = getattr(audience, "frequency_cap", None)
    additions = export_ledger.additions_within(ledger, audience.channel, now - timedelta(days=cap.per_days)) if cap else {}
    delivered = export_ledger.delivered_customers(ledger, audience.key)
    members: dict[str, Member] = {}
    memberships: list[tuple[str, str, str | None]] = []
    excluded: Counter = Counter()
    eligible = holdout = 0
    for customer_id, segment_key, status, reason, granted, *values in rows:
        if status == "holdout":
            holdout += 1
            memberships.append((customer_id, "holdout", None))
            continue
        if status != "eligible":
            excluded[reason or "unknown"] += 1
            memberships.append((customer_id, "excluded", reason))
            continue
        eligible += 1
        if cap and customer_id not in delivered and additions.get(customer_id, 0) >= cap.max_additions:
            excluded["frequency_cap"] += 1
            memberships.append((customer_id, "excluded", "frequency_cap"))
            continue
        contact = make_contact(customer_id, dict(zip(columns, values)), granted)
        members[customer_id] = Member(customer_id, segment_key, contact)
        memberships.append((customer_id, "member", None))
    reasons = {customer: reason or membership for customer, membership, reason in memberships if membership != "member"}
    return AudienceRun(run_id, audience, members, memberships, excluded, eligible, holdout, reasons)


def match_key(destination_type: str, contact: Any) -> dict[str, str]:
    """What a destination removes a person by, kept in the ledger while they are delivered,
    normalised as the destination's writer normalised it: hashed where the platform
    matches on hashes (Mailchimp's MD5 subscriber hash, Google's and Meta's SHA-256); the
    customer id where the platform keys people by it (Braze's external_id, the webhook);
    for Klaviyo the email and phone in clear, since its removal import takes no hash."""
    phone = formats.phone_e164(contact.phone_e164, contact.country_code)
    if destination_type == "mailchimp":
        key = {"subscriber_hash": formats.mailchimp_subscriber_hash(contact.email)}
    elif destination_type == "klaviyo":
        key = {"email": formats.normalise_email(contact.email), "phone_number": phone}
    elif destination_type == "braze":
        key = {"external_id": contact.customer_id}
    elif destination_type == "google_customer_match":
        key = {"email_sha256": formats.sha256_hex(formats.google_email(contact.email)),
               "phone_sha256": formats.sha256_hex(phone)}
    elif destination_type == "meta_custom_audience":
        key = {"email_sha256": formats.sha256_hex(formats.normalise_email(contact.email)),
               "phone_sha256": formats.sha256_hex(formats.meta_phone(contact.phone_e164, contact.country_code))}
    else:
        key = {"customer_id": contact.customer_id}
    return {name: value for name, value in key.items() if value}


def skip_reason(destination_type: str, contact: Any) -> str | None:
    """Why a member cannot be sent to a destination (it lacks the identifier the platform
    matches on, or Google's ad_user_data consent), or None; the writers' own rules."""
    has_email = formats.normalise_email(contact.email) is not None
    has_phone = formats.phone_e164(contact.phone_e164, contact.country_code) is not None
    if destination_type == "mailchimp" and not has_email:
        return "no_email"
    if destination_type in ("klaviyo", "google_customer_match", "meta_custom_audience") and not (has_email or has_phone):
        return "no_email_or_phone"
    if destination_type == "google_customer_match" and formats.AD_USER_DATA_PURPOSE not in contact.granted_purposes:
        return "no_ad_user_data_consent"
    return None


def attribute_hash(destination_type: str, member: Member) -> str:
    values = {name: getattr(member.contact, name, None) for name in ATTRIBUTES_SENT[destination_type]}
    values = {name: sorted(value) if isinstance(value, frozenset) else value for name, value in values.items()}
    values["segment_key"] = member.segment_key
    return hashlib.sha256(json.dumps(values, sort_keys=True, default=str).encode()).hexdigest()


def idempotency_key(*parts: str | None) -> str:
    return hashlib.sha256("|".join(part or "" for part in parts).encode()).hexdigest()


@dataclass
class PendingChange:
    kind: str  # added | changed | removed
    customer_id: str | None
    idempotency_key: str
    member: Member | None = None
    attribute_hash: str | None = None
    match_key: dict[str, str] | None = None
    removal_key: str | None = None
    reason: str | None = None  # why a removal: the run's exclusion reason, holdout, erased...

    def delivered(self) -> export_ledger.DeliveredChange:
        return export_ledger.DeliveredChange(self.kind, self.customer_id, self.idempotency_key,
                                             self.attribute_hash, self.match_key, self.removal_key)


@dataclass
class ChangeFeed:
    upserts: list[PendingChange]  # added and changed (every member under --full)
    removals: list[PendingChange]
    skipped: Counter
    added: int = 0
    changed: int = 0


def change_feed(run: AudienceRun, destination: Any, ledger: Any, full: bool) -> ChangeFeed:
    """What a destination must be sent to hold the run's members."""
    dtype = destination.type
    state = export_ledger.delivered_state(ledger, destination.key, run.audience.key)
    # A change's idempotency key stays the same until it is delivered (a retry is the same
    # change) and differs from every earlier change of the customer (a re-addition is new).
    delivered_before = export_ledger.change_counts(ledger, destination.key, run.audience.key)
    upserts: list[PendingChange] = []
    removals: list[PendingChange] = []
    skipped: Counter = Counter()
    sendable: set[str] = set()
    for customer_id, member in sorted(run.members.items()):
        reason = skip_reason(dtype, member.contact)
        if reason:
            skipped[reason] += 1
            continue
        sendable.add(customer_id)
        digest = attribute_hash(dtype, member)
        previous = state.get(customer_id)
        kind = "added" if previous is None else "changed"
        if previous is not None and previous.attribute_hash == digest and not full:
            continue
        upserts.append(PendingChange(
            kind, customer_id, idempotency_key(destination.key, run.audience.key, customer_id, kind, digest,
                                               str(delivered_before.get(customer_id, 0))),
            member, digest, match_key(dtype, member.contact)))
    for customer_id, delivered in sorted(state.items()):
        if customer_id not in sendable:
            removals.append(PendingChange(
                "removed", customer_id,
                idempotency_key(destination.key, run.audience.key, customer_id, "removed", delivered.attribute_hash,
                                str(delivered_before.get(customer_id, 0))),
                match_key=delivered.match_key, reason=run.reasons.get(customer_id, "left_the_audience")))
    for removal_key, key in export_ledger.pending_removals(ledger, destination.key, run.audience.key):
        removals.append(PendingChange("removed", None, idempotency_key(destination.key, removal_key, "removed"),
                                      match_key=key, removal_key=removal_key, reason="erased"))
    feed = ChangeFeed(upserts, removals, skipped)
    feed.added = sum(1 for change in upserts if change.kind == "added")
    feed.changed = sum(1 for change in upserts if change.kind == "changed"
                       and state[change.customer_id].attribute_hash != change.attribute_hash)
    return feed


# ---------------------------------------------------------------------------- formatting


def platform_changes(audience_key: str, changes: list[PendingChange]) -> list[Any]:
    """Added and changed members as the writers' ``Change`` values."""
    return [formats.Change(kind=change.kind, contact=change.member.contact, audience_key=audience_key,
                           segment_key=change.member.segment_key, idempotency_key=change.idempotency_key)
            for change in changes]


def format_changes(destination: Any, audience_key: str, run_id: str, changes: list[PendingChange]) -> dict[str, bytes]:
    """The platform files for added and changed members (destination_formats)."""
    if not changes:
        return {}
    batch = platform_changes(audience_key, changes)
    result = formats.write_destination(destination.type, batch, run_id)
    if result.skipped:
        # skip_reason() mirrors the writers' rules; a contact skipped here would be
        # recorded as delivered without being written.
        raise RuntimeError(f"the {destination.type} writer skipped contacts the export meant to send: {result.skipped}")
    return dict(result.files)


def removal_layout(destination_type: str, audience_key: str) -> tuple[tuple[str, ...], dict[str, str]]:
    """A removal file's header (the writer's) and the match key field behind each column
    that identifies the person; the other columns stay blank, which imports leave as is."""
    if destination_type == "mailchimp":
        return formats.MAILCHIMP_REMOVALS_HEADER, {"subscriber_hash": "subscriber_hash"}
    if destination_type == "klaviyo":
        return formats.KLAVIYO_REMOVALS_HEADER, {"Email": "email", "Phone Number": "phone_number"}
    if destination_type == "braze":
        header = ("external_id", *formats.BRAZE_DEFAULT_ATTRIBUTES, formats.braze_membership_attribute(audience_key))
        return header, {"external_id": "external_id"}
    if destination_type == "google_customer_match":
        return formats.GOOGLE_HEADER, {"Email": "email_sha256", "Phone": "phone_sha256"}
    return formats.META_HEADER, {"email": "email_sha256", "phone": "phone_sha256"}


# Why a removal of an email audience means the customer no longer wants email (or was
# erased): such a removal also unsubscribes them where the removal file says so
# (Klaviyo's Email Marketing Consent, Braze's email_subscribe), as the writers do for a
# lost consent.
CONSENT_LOST = {"consent_not_captured", "consent_withdrawn", "spam_complaint", "global_unsubscribe", "erased"}


def format_removals(destination_type: str, audience_key: str, channel: str, run_id: str,
                    removals: list[PendingChange]) -> dict[str, bytes]:
    """The removal file of a file destination, keyed by what the ledger says was delivered."""
    if not removals:
        return {}
    header, fields = removal_layout(destination_type, audience_key)
    rows = []
    for change in removals:
        values = {column: (change.match_key or {}).get(field, "") for column, field in fields.items()}
        if change.reason == "erased" or (channel == "email" and change.reason in CONSENT_LOST):
            values["Email Marketing Consent"] = formats.KLAVIYO_UNSUBSCRIBED
            values["email_subscribe"] = formats.BRAZE_UNSUBSCRIBED
        if destination_type == "braze":
            values[header[-1]] = "false"
        rows.append(tuple(values.get(column, "") for column in header))
    return {formats.file_name(destination_type, audience_key, run_id, "removals"): formats.csv_bytes(header, rows)}


def data_rows(content: bytes) -> int:
    return max(sum(1 for _ in csv.reader(io.StringIO(content.decode("utf-8")))) - 1, 0)


def write_atomically(path: Path, content: bytes) -> None:
    """Write to a hidden temp name in the same folder, then rename: a file under its final
    name is always complete."""
    path.parent.mkdir(parents=True, exist_ok=True)
    stage = path.with_name(f".{path.name}.writing-{os.getpid()}")
    try:
        with open(stage, "wb") as handle:
            handle.write(content)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(stage, path)
    finally:
        stage.unlink(missing_ok=True)


# ------------------------------------------------------------------------------ delivery


@dataclass
class DestinationResult:
    status: str
    counts: dict[str, Any]
    files: list[tuple[str, str, int, int]]
    lines: list[str]
    error: str | None = None


def removal_payload(audience_key: str, change: PendingChange) -> dict[str, Any]:
    return {"idempotency_key": change.idempotency_key, "kind": "removed", "audience_key": audience_key,
            "segment_key": None, "customer_id": (change.match_key or {}).get("customer_id")}


def deliver_files(destination: Any, run: AudienceRun, feed: ChangeFeed, paths: Paths, ledger: Any,
                  counts: dict[str, Any]) -> DestinationResult:
    folder = paths.exports / destination.key / run.audience.key
    files = format_changes(destination, run.audience.key, run.run_id, feed.upserts)
    files.update(format_removals(destination.type, run.audience.key, run.audience.channel, run.run_id, feed.removals))
    written = []
    for name, content in sorted(files.items()):
        if data_rows(content) == 0:
            continue
        path = folder / name
        write_atomically(path, content)
        written.append((str(path.relative_to(paths.exports)), hashlib.sha256(content).hexdigest(),
                        data_rows(content), len(content)))
    export_ledger.commit_delivery(ledger, run.run_id, destination.key, run.audience.key, run.audience.channel,
                                  [change.delivered() for change in [*feed.upserts, *feed.removals]],
                                  written, "succeeded", counts)
    lines = [f"{path} ({rows} rows, sha256 {digest[:12]})" for path, digest, rows, _ in written]
    return DestinationResult("succeeded", counts, written, lines)


def deliver_webhook(destination: Any, run: AudienceRun, feed: ChangeFeed, paths: Paths, ledger: Any,
                    url: str, counts: dict[str, Any]) -> DestinationResult:
    settings = dict(getattr(destination, "settings", None) or {})
    batch = platform_changes(run.audience.key, feed.upserts)
    payload = list(formats.webhook_payload(batch)) + [removal_payload(run.audience.key, change) for change in feed.removals]
    by_key = {change.idempotency_key: change for change in [*feed.upserts, *feed.removals]}
    dead_letters = paths.exports / destination.key / run.audience.key / DEAD_LETTER_NAME

    def on_delivered(keys: list[str]) -> None:
        export_ledger.commit_delivery(ledger, run.run_id, destination.key, run.audience.key, run.audience.channel,
                                      [by_key[key].delivered() for key in keys if key in by_key], [])

    result = webhook_delivery.deliver(
        url, payload, batch_size=int(settings.get("batch_size", 100)),
        max_attempts=int(settings.get("max_attempts", 5)), dead_letter_path=dead_letters,
        already_delivered=export_ledger.delivered_keys(ledger, destination.key, run.audience.key),
        on_delivered=on_delivered)
    dead = list(result.dead_lettered)
    status = "partial" if dead else "succeeded"
    error = f"{len(dead)} change(s) dead-lettered to {dead_letters}; they stay pending" if dead else None
    export_ledger.finish_run(ledger, run.run_id, destination.key, status, counts, error)
    lines = [result.summary]
    if error:
        lines.append(error)
    return DestinationResult(status, counts, [], lines, error)


# ----------------------------------------------------------------------------------- run


def is_due(audience: Any, ledger: Any, now: datetime) -> bool:
    """An audience is due when one of its destinations has no succeeded run in the current
    period of its schedule (UTC hour, UTC day, ISO week)."""
    for destination_key in audience.destinations:
        last = export_ledger.last_success(ledger, audience.key, destination_key)
        if last is None:
            return True
        if audience.schedule == "hourly" and last.replace(minute=0, second=0, microsecond=0) < now.replace(minute=0, second=0, microsecond=0):
            return True
        if audience.schedule == "daily" and last.date() < now.date():
            return True
        if audience.schedule == "weekly" and last.isocalendar()[:2] != now.isocalendar()[:2]:
            return True
    return False


def new_run_id(now: datetime) -> str:
    return f"{now:%Y%m%dT%H%M%SZ}-{secrets.token_hex(3)}"


def reason_counts(counter: Counter) -> str:
    return ", ".join(f"{reason} {count}" for reason, count in sorted(counter.items())) or "none"


def export(args: argparse.Namespace, environ: dict[str, str]) -> int:
    paths = resolve_paths(environ)
    plan = load_plan(args.audience or [], args.destination, args.registry, environ)
    now = export_ledger.utc_now()
    problems, warnings, published = gate_problems(paths, now)
    known = set()
    if published is not None:
        with duckdb.connect(str(paths.serving), read_only=True) as con:
            try:
                known = {key for (key,) in con.execute("select audience_key from marts.dim_audiences").fetchall()}
            except duckdb.Error:
                problems.append("the serving file has no marts.dim_audiences (no build with audiences published)")
    for audience in plan.audiences:
        if known and audience.key not in known:
            problems.append(f"audience {audience.key} is not in the serving file (the registry changed after the last build)")
    for warning in warnings:
        print(f"export: warning: {warning}")
    override = None
    if problems:
        if not args.force_stale:
            raise GateRefused("; ".join(problems))
        override = "; ".join(problems)
        print(f"export: --force-stale: exporting despite: {override}")
    ledger = export_ledger.open_ledger(paths.exports, read_only=args.dry_run)
    exit_code = EXIT_OK
    try:
        audiences = plan.audiences if args.audience else [a for a in plan.audiences if is_due(a, ledger, now)]
        if not audiences:
            print("export: no audience is due")
        con = attach_published(paths)
        try:
            for audience in audiences:
                code = export_audience(audience, plan, args, paths, con, ledger, published, override, now)
                exit_code = max(exit_code, code)
        finally:
            con.close()
    finally:
        if ledger is not None:
            ledger.close()
    return exit_code


def export_audience(audience: Any, plan: Plan, args: argparse.Namespace, paths: Paths,
                    con: duckdb.DuckDBPyConnection, ledger: Any, published: Published | None,
                    override: str | None, now: datetime) -> int:
    run = read_audience(con, audience, ledger, now, new_run_id(now))
    verb = "would send" if args.dry_run else "sent"
    print(f"export: audience {audience.key} (run {run.run_id}, as_of {published.as_of if published else '?'}): "
          f"{run.eligible_count} eligible, {len(run.members)} members, {run.holdout_count} holdout, "
          f"excluded by reason: {reason_counts(run.excluded)}")
    if not args.dry_run:
        export_ledger.record_memberships(ledger, run.run_id, audience.key, run.memberships)
    exit_code = EXIT_OK
    for destination_key in audience.destinations:
        if destination_key not in plan.destinations:
            continue
        destination = plan.destinations[destination_key]
        feed = change_feed(run, destination, ledger, args.full)
        counts = {
            "eligible_count": run.eligible_count, "member_count": len(run.members),
            "holdout_count": run.holdout_count, "added_count": feed.added, "changed_count": feed.changed,
            "removed_count": len(feed.removals), "skipped_count": sum(feed.skipped.values()),
            "excluded_counts": json.dumps(dict(sorted(run.excluded.items()))),
            "skipped_counts": json.dumps(dict(sorted(feed.skipped.items()))),
        }
        head = (f"export:   {destination.key} ({destination.type}): {verb} {feed.added} added, "
                f"{feed.changed} changed, {len(feed.removals)} removed"
                f"{f', {len(feed.upserts)} rows in the full snapshot' if args.full else ''}; "
                f"skipped by reason: {reason_counts(feed.skipped)}")
        if args.dry_run:
            print(head)
            continue
        export_ledger.start_run(ledger, {
            "run_id": run.run_id, "audience_key": audience.key, "channel": audience.channel,
            "destination_key": destination.key, "destination_type": destination.type,
            "mode": "full" if args.full else "changes",
            "as_of": published.as_of if published else None,
            "build_number": published.build_number if published else None,
            "build_fingerprint": published.build_fingerprint if published else None,
            "published_at": published.published_at if published else None,
            "gate_override": override,
        })
        try:
            if destination.type == "webhook":
                result = deliver_webhook(destination, run, feed, paths, ledger, plan.urls[destination.key], counts)
            else:
                result = deliver_files(destination, run, feed, paths, ledger, counts)
        except Exception as exc:  # noqa: BLE001 - a failed destination is recorded, the others go on
            error = f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}".rstrip(": ")
            export_ledger.finish_run(ledger, run.run_id, destination.key, "failed", counts, error)
            print(f"{head}\nexport:   {destination.key}: FAILED: {error}; what was not recorded as delivered "
                  f"stays pending for the next run", file=sys.stderr)
            exit_code = EXIT_RUN_FAILED
            continue
        print(head if result.status == "succeeded" else f"{head} [{result.status}]")
        for line in result.lines:
            print(f"export:     {line}")
        if result.status != "succeeded":
            exit_code = EXIT_RUN_FAILED
    return exit_code


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--audience", action="append", help="audience key (repeatable; default: every active audience that is due)")
    parser.add_argument("--destination", help="only this destination")
    parser.add_argument("--full", action="store_true", help="send every current member, not only the changes")
    parser.add_argument("--dry-run", action="store_true", help="print what would be sent; write no file and no ledger row")
    parser.add_argument("--force-stale", action="store_true", help="export although the freshness gate refuses (recorded in the ledger)")
    parser.add_argument("--registry", type=Path, default=None, help="audience registry file (default: the project's)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None, environ: dict[str, str] | None = None) -> int:
    args = parse_args(list(sys.argv[1:] if argv is None else argv))
    environ = dict(os.environ if environ is None else environ)
    try:
        # Export files, dead letters and the ledger hold personal data: owner-only.
        with export_ledger.owner_only():
            return export(args, environ)
    except ConfigurationError as exc:
        print(f"export: configuration error: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    except GateRefused as exc:
        print(f"export: refused, nothing written: {exc}. Export after a successful build, or pass "
              f"--force-stale to export anyway (the ledger records it)", file=sys.stderr)
        return EXIT_GATE
    except (export_ledger.LedgerUnavailable, duckdb.Error) as exc:
        print(f"export: error: {str(exc).splitlines()[0]}", file=sys.stderr)
        return EXIT_RUN_FAILED


if __name__ == "__main__":
    sys.exit(main())
