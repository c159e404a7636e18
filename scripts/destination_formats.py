"""Destination file formats: one audience's changes in each platform's own import format.

An export run hands this module one audience's batch of changes (who was added to it,
whose attributes changed, who was removed) for one destination, and gets back the files
to deliver, as bytes, named and ordered so that the same changes always give the same
bytes. Nothing here reads the warehouse or the network: the exporter reads the serving
and restricted data, builds ``Change`` values and writes or sends what comes back.

    from destination_formats import Change, Contact, write_destination
    export = write_destination("mailchimp", changes, run_label="20260630T0600")
    export.files    # {"mailchimp__vip_email__20260630T0600__upsert.csv": b"...", ...}
    export.skipped  # {"no_email": 2}: contacts the platform cannot key, not written

Formats (headers in the platform's exact case, UTF-8 without BOM, ``\\n`` line ends,
fields quoted only when they hold a comma, quote or line break; rows sorted):

- ``mailchimp``: ``upsert`` (Email Address, First Name, Last Name, Tags) for added and
  changed members, and ``removals`` keyed by the subscriber hash (MD5 of the lower-cased
  address), since a re-import never removes anyone.
- ``klaviyo``: ``upsert`` (Email first, First Name, Last Name, Phone Number, Email
  Marketing Consent), ``upsert_phone`` (Phone Number first) for contacts with a phone and
  no email, and ``removals`` (Email, Phone Number, Email Marketing Consent).
- ``braze``: ``upsert`` (external_id first, then default attributes and a boolean custom
  attribute ``in_audience_<audience key>``: true for added and changed, false for removed).
- ``google_customer_match``: SHA-256 hashed Email, Phone, First Name, Last Name with
  clear Country and Zip, split by consent into ``ad_personalization`` and
  ``ad_user_data_only``, plus ``removals``.
- ``meta_custom_audience``: the multi-key schema (email, phone, fn, ln, ct, st, zip,
  country, dob, doby), every value normalised and SHA-256 hashed: ``upsert``, ``removals``.
- ``webhook``: no file; ``webhook_payload`` builds one JSON-ready dict per change.

Bad input (an unknown destination type or change kind, a batch mixing audiences, an
unusable run label, an ad-platform member without ``ad_user_data`` consent) raises
``ValueError`` with one line saying what is wrong.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import re
import unicodedata
from collections import Counter
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Callable, Iterable

PROJECT_DIR = Path(__file__).resolve().parents[1]
CALLING_CODES_SEED = PROJECT_DIR / "seeds" / "country_calling_codes.csv"

DESTINATION_TYPES = (
    "mailchimp",
    "klaviyo",
    "braze",
    "google_customer_match",
    "meta_custom_audience",
    "webhook",
)
CHANGE_KINDS = ("added", "changed", "removed")
UPSERT_KINDS = ("added", "changed")

# Consent purposes (seeds/consent_purposes.csv) the formats read.
EMAIL_MARKETING_PURPOSE = "email_marketing"
AD_USER_DATA_PURPOSE = "ad_user_data"
AD_PERSONALIZATION_PURPOSE = "ad_personalization"

# Braze caps a string attribute at 255 characters and Mailchimp a text merge field at
# 255; cutting at 255 UTF-8 bytes satisfies both whatever the script of the text.
FIELD_BYTE_LIMIT = 255

GOOGLE_GMAIL_DOMAINS = ("gmail.com", "googlemail.com")
# Characters a phone may be written with besides its digits (as in the phone_e164 macro).
PHONE_SEPARATORS = re.compile(r"[\s().\-]")
SAFE_NAME_PART = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$")
COUNTRY_CODE = re.compile(r"^[A-Z]{2}$")

# Exact headers, in order, per platform file.
MAILCHIMP_UPSERT_HEADER = ("Email Address", "First Name", "Last Name", "Tags")
MAILCHIMP_REMOVALS_HEADER = ("subscriber_hash",)
KLAVIYO_UPSERT_HEADER = ("Email", "First Name", "Last Name", "Phone Number", "Email Marketing Consent")
KLAVIYO_PHONE_UPSERT_HEADER = ("Phone Number", "First Name", "Last Name")
KLAVIYO_REMOVALS_HEADER = ("Email", "Phone Number", "Email Marketing Consent")
BRAZE_DEFAULT_ATTRIBUTES = ("first_name", "last_name", "email", "phone", "country", "email_subscribe")
GOOGLE_HEADER = ("Email", "Phone", "First Name", "Last Name", "Country", "Zip")
META_HEADER = ("email", "phone", "fn", "ln", "ct", "st", "zip", "country", "dob", "doby")

# Klaviyo's consent statuses as its CSV import takes them.
KLAVIYO_SUBSCRIBED = "Subscribed"
KLAVIYO_UNSUBSCRIBED = "Unsubscribed"
# Braze's global email subscription states (email_subscribe).
BRAZE_OPTED_IN = "opted_in"
BRAZE_UNSUBSCRIBED = "unsubscribed"


# ----------------------------------------------------------------------------- inputs


@dataclass(frozen=True)
class Contact:
    """How to reach one customer, as activation.dim_customer_contacts holds them (None
    when unknown), with the purposes of the audience's channel they have granted."""

    customer_id: str
    email: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    phone_e164: str | None = None
    country_code: str | None = None  # ISO 3166-1 alpha-2
    birth_date: dt.date | None = None
    postal_code: str | None = None
    city: str | None = None
    region: str | None = None
    granted_purposes: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        if not str(self.customer_id or "").strip():
            raise ValueError("Contact: customer_id is empty")
        if self.country_code is not None and not COUNTRY_CODE.match(self.country_code.strip().upper()):
            raise ValueError(
                f"Contact {self.customer_id}: country_code {self.country_code!r} is not an ISO 3166-1 alpha-2 code"
            )
        if self.birth_date is not None and not isinstance(self.birth_date, dt.date):
            raise ValueError(f"Contact {self.customer_id}: birth_date must be a date, got {self.birth_date!r}")
        if not isinstance(self.granted_purposes, frozenset):
            object.__setattr__(self, "granted_purposes", frozenset(self.granted_purposes))


@dataclass(frozen=True)
class Change:
    """One change of one audience's membership to deliver: ``added``, ``changed``
    (attributes of a member) or ``removed``."""

    kind: str
    contact: Contact
    audience_key: str
    segment_key: str | None
    idempotency_key: str

    def __post_init__(self) -> None:
        if self.kind not in CHANGE_KINDS:
            raise ValueError(f"Change {self.idempotency_key}: kind {self.kind!r} is not one of {', '.join(CHANGE_KINDS)}")
        if not str(self.idempotency_key or "").strip():
            raise ValueError(f"Change for customer {self.contact.customer_id}: idempotency_key is empty")


@dataclass(frozen=True)
class FormattedExport:
    """What one destination gets for one audience's batch: file name -> content, and the
    contacts left out because the platform cannot key them, counted by reason."""

    files: dict[str, bytes] = field(default_factory=dict)
    skipped: dict[str, int] = field(default_factory=dict)


# ---------------------------------------------------------------------- normalisation


def clean_text(value: str | None) -> str | None:
    """Trimmed text in Unicode NFC with runs of whitespace made one space; None when blank.
    NFC first, so that 'e' + combining diaeresis and 'ë' are the same name everywhere."""
    if value is None:
        return None
    text = " ".join(unicodedata.normalize("NFC", str(value)).split())
    return text or None


def truncate_utf8(value: str | None, limit: int = FIELD_BYTE_LIMIT) -> str | None:
    """``value`` cut to at most ``limit`` bytes of UTF-8 without splitting a character:
    a character whose bytes would cross the limit is left out whole."""
    if value is None:
        return None
    encoded = value.encode("utf-8")
    if len(encoded) <= limit:
        return value
    return encoded[:limit].decode("utf-8", errors="ignore")


def normalise_email(value: str | None) -> str | None:
    """Trimmed and lower-cased, None when blank or without '@'. The warehouse's rule
    (macro ``normalize_email``, ``erasure.normalised_email``) and Meta's and Mailchimp's."""
    text = (value or "").strip().lower()
    return text if "@" in text else None


def google_email(value: str | None) -> str | None:
    """Google's rule for hashed emails: trimmed, lower-cased, and for gmail.com and
    googlemail.com addresses every period before the '@' removed. Only periods: a
    '+tag' is part of the address for Google and stays."""
    email = normalise_email(value)
    if email is None:
        return None
    local, _, domain = email.rpartition("@")
    if domain in GOOGLE_GMAIL_DOMAINS:
        local = local.replace(".", "")
    return f"{local}@{domain}"


def sha256_hex(value: str | None) -> str | None:
    """SHA-256 of the UTF-8 bytes as 64 lower-case hex characters (macro ``sha256_hex``)."""
    return hashlib.sha256(value.encode("utf-8")).hexdigest() if value else None


def mailchimp_subscriber_hash(email: str | None) -> str | None:
    """Mailchimp's member id: the MD5 hex of the lower-cased address (trimmed too, as
    the address is everywhere in the warehouse)."""
    normalised = normalise_email(email)
    if normalised is None:
        return None
    return hashlib.md5(normalised.encode("utf-8")).hexdigest()  # noqa: S324 - Mailchimp's key, not security


@lru_cache(maxsize=1)
def calling_codes() -> dict[str, str]:
    """Country code -> calling code, from seeds/country_calling_codes.csv."""
    with CALLING_CODES_SEED.open(newline="", encoding="utf-8") as seed:
        return {row["country_code"].strip().upper(): row["calling_code"].strip() for row in csv.DictReader(seed)}


def normalise_country(value: str | None) -> str | None:
    """ISO 3166-1 alpha-2 in upper case ('de ' -> 'DE'); None when not two letters."""
    text = (value or "").strip().upper()
    return text if COUNTRY_CODE.match(text) else None


def phone_e164(phone: str | None, country_code: str | None = None) -> str | None:
    """A phone in E.164 ('+', calling code, national number without its trunk 0), the
    form Google and Braze take and the warehouse's ``phone_e164`` macro gives: a number
    written with '+' or '00' carries its calling code; any other is national and takes
    the calling code of ``country_code``. None when blank, when anything but digits and
    separators is left, or when a national number's country has no known calling code."""
    trimmed = (phone or "").strip()
    digits = PHONE_SEPARATORS.sub("", trimmed).replace("+", "")
    if not digits or not digits.isascii() or not digits.isdigit():
        return None
    if trimmed.startswith("+"):
        return f"+{digits}"
    if digits.startswith("00"):
        return f"+{digits[2:]}"
    calling_code = calling_codes().get(normalise_country(country_code) or "")
    if calling_code is None:
        return None
    if digits.startswith("0"):
        digits = digits[1:]
    return f"+{calling_code}{digits}"


def meta_phone(phone: str | None, country_code: str | None = None) -> str | None:
    """Meta's rule: digits only, with the country code and without '+' or leading zeros."""
    e164 = phone_e164(phone, country_code)
    return e164[1:] if e164 else None


def google_first_name(value: str | None) -> str | None:
    """Google's rule for a first name before hashing: lower case, no spaces before or
    after and no extra spaces in between. Accented letters stay as they are (UTF-8)."""
    text = clean_text(value)
    return text.lower() if text else None


def google_last_name(value: str | None) -> str | None:
    """Google's rule for a last name before hashing: lower case, no punctuation, no extra
    spaces ("O'Brien-Smith" -> 'obriensmith'; 'García' stays 'garcía')."""
    text = clean_text(value)
    if text is None:
        return None
    kept = "".join(char for char in text.lower() if not unicodedata.category(char).startswith("P"))
    return clean_text(kept)


def meta_name(value: str | None) -> str | None:
    """Meta's rule for fn and ln: lower case letters only (no punctuation, digits or
    spaces); letters outside a-z stay, encoded as UTF-8 ('Zoë' -> 'zoë')."""
    text = clean_text(value)
    if text is None:
        return None
    kept = "".join(char for char in text.lower() if unicodedata.category(char).startswith("L"))
    return kept or None


def meta_place(value: str | None) -> str | None:
    """Meta's rule for ct and st: lower case a-z only, no punctuation, no special
    characters, no spaces; accents are taken off first ('Zürich' -> 'zurich',
    'New York' -> 'newyork', 'CA' -> 'ca')."""
    text = clean_text(value)
    if text is None:
        return None
    decomposed = unicodedata.normalize("NFKD", text.lower())
    kept = "".join(char for char in decomposed if "a" <= char <= "z")
    return kept or None


def meta_zip(value: str | None, country_code: str | None) -> str | None:
    """Meta's rule for zip: lower case, no spaces; in the US the first 5 digits only, in
    the UK the area/district/sector ('SW1A 1AA' -> 'sw1a1')."""
    text = "".join((value or "").lower().split())
    if not text:
        return None
    country = normalise_country(country_code)
    if country == "US":
        return text.split("-")[0][:5] or None
    if country == "GB" and len(text) >= 5:
        return text[:-2]
    return text


def meta_country(value: str | None) -> str | None:
    """Meta's rule for country: the ISO 3166-1 alpha-2 code in lower case."""
    country = normalise_country(value)
    return country.lower() if country else None


def meta_dob(value: dt.date | None) -> str | None:
    """Meta's dob: YYYYMMDD."""
    return value.strftime("%Y%m%d") if value else None


def meta_doby(value: dt.date | None) -> str | None:
    """Meta's doby (year of birth): YYYY."""
    return f"{value.year:04d}" if value else None


def google_zip(value: str | None) -> str | None:
    """Google's Zip is sent in clear: trimmed, spaces collapsed, case kept."""
    return clean_text(value)


def clear_field(value: str | None) -> str:
    """A clear-text attribute for an email platform: cleaned and cut to the field limit."""
    return truncate_utf8(clean_text(value)) or ""


# ---------------------------------------------------------------------------- writing


def csv_bytes(header: tuple[str, ...], rows: Iterable[tuple[str, ...]]) -> bytes:
    """A CSV file: the header, then the rows sorted, UTF-8, '\\n' line ends, minimal quoting."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n", quoting=csv.QUOTE_MINIMAL)
    writer.writerow(header)
    writer.writerows(sorted(set(rows)))
    return buffer.getvalue().encode("utf-8")


def file_name(destination_type: str, audience_key: str, run_label: str, part: str) -> str:
    return f"{destination_type}__{audience_key}__{run_label}__{part}.csv"


def batch_audience(changes: list[Change]) -> str | None:
    """The one audience a batch is for; ValueError when the batch mixes audiences."""
    audiences = sorted({change.audience_key for change in changes})
    if len(audiences) > 1:
        raise ValueError(f"a batch holds one audience's changes, got {', '.join(audiences)}")
    return audiences[0] if audiences else None


def tags(change: Change) -> str:
    """Mailchimp's Tags cell: the audience key and the segment key, comma-separated."""
    keys = [change.audience_key] + ([change.segment_key] if change.segment_key else [])
    return ",".join(dict.fromkeys(keys))


class Files:
    """Rows per file part, then the named files (parts with no rows are not written)."""

    def __init__(self) -> None:
        self.rows: dict[str, tuple[tuple[str, ...], list[tuple[str, ...]]]] = {}
        self.skipped: Counter[str] = Counter()

    def add(self, part: str, header: tuple[str, ...], row: tuple[str, ...]) -> None:
        self.rows.setdefault(part, (header, []))[1].append(row)

    def skip(self, reason: str) -> None:
        self.skipped[reason] += 1

    def export(self, destination_type: str, audience_key: str | None, run_label: str) -> FormattedExport:
        files = {
            file_name(destination_type, audience_key or "", run_label, part): csv_bytes(header, rows)
            for part, (header, rows) in sorted(self.rows.items())
            if rows
        }
        return FormattedExport(files=files, skipped=dict(sorted(self.skipped.items())))


def write_mailchimp(changes: list[Change], files: Files) -> None:
    """Members to add or update in ``upsert``; members to archive in ``removals`` by their
    subscriber hash. A contact without an email address is skipped (``no_email``)."""
    for change in changes:
        contact = change.contact
        email = normalise_email(contact.email)
        if email is None:
            files.skip("no_email")
            continue
        if change.kind == "removed":
            files.add("removals", MAILCHIMP_REMOVALS_HEADER, (mailchimp_subscriber_hash(email) or "",))
        else:
            files.add("upsert", MAILCHIMP_UPSERT_HEADER, (
                truncate_utf8(email) or "",
                clear_field(contact.first_name),
                clear_field(contact.last_name),
                truncate_utf8(tags(change)) or "",
            ))


def klaviyo_consent(change: Change) -> str:
    """Email Marketing Consent: Subscribed when the customer granted email marketing;
    Unsubscribed on a removal that lost it (a withdrawal); otherwise blank, which leaves
    the profile's status as it is (a member leaving a segment has not unsubscribed)."""
    if EMAIL_MARKETING_PURPOSE in change.contact.granted_purposes:
        return KLAVIYO_SUBSCRIBED if change.kind != "removed" else ""
    return KLAVIYO_UNSUBSCRIBED if change.kind == "removed" else ""


def write_klaviyo(changes: list[Change], files: Files) -> None:
    """Profiles keyed by email in ``upsert`` (Email first), profiles with only a phone in
    ``upsert_phone`` (Phone Number first), and ``removals``. A contact with neither an
    email nor a phone is skipped (``no_email_or_phone``)."""
    for change in changes:
        contact = change.contact
        email = normalise_email(contact.email)
        phone = phone_e164(contact.phone_e164, contact.country_code)
        if email is None and phone is None:
            files.skip("no_email_or_phone")
            continue
        if change.kind == "removed":
            files.add("removals", KLAVIYO_REMOVALS_HEADER, (email or "", phone or "", klaviyo_consent(change)))
        elif email is not None:
            files.add("upsert", KLAVIYO_UPSERT_HEADER, (
                truncate_utf8(email) or "",
                clear_field(contact.first_name),
                clear_field(contact.last_name),
                phone or "",
                klaviyo_consent(change),
            ))
        else:
            files.add("upsert_phone", KLAVIYO_PHONE_UPSERT_HEADER, (
                phone or "",
                clear_field(contact.first_name),
                clear_field(contact.last_name),
            ))


def braze_membership_attribute(audience_key: str) -> str:
    """The custom boolean attribute marking membership of an audience."""
    return f"in_audience_{audience_key}"


def braze_email_subscribe(change: Change) -> str:
    """email_subscribe: opted_in when the customer granted email marketing; unsubscribed
    on a removal that lost it; otherwise blank, which Braze's import leaves unchanged
    ('subscribed' is Braze's own default for a profile that neither opted in nor out)."""
    if EMAIL_MARKETING_PURPOSE in change.contact.granted_purposes:
        return BRAZE_OPTED_IN
    return BRAZE_UNSUBSCRIBED if change.kind == "removed" else ""


def write_braze(changes: list[Change], files: Files) -> None:
    """One ``upsert`` file keyed by external_id (the customer id, which every contact
    has): default attributes, then the membership flag (true added/changed, false removed)."""
    audience_key = batch_audience(changes) or ""
    header = ("external_id",) + BRAZE_DEFAULT_ATTRIBUTES + (braze_membership_attribute(audience_key),)
    for change in changes:
        contact = change.contact
        files.add("upsert", header, (
            truncate_utf8(clean_text(contact.customer_id)) or "",
            clear_field(contact.first_name),
            clear_field(contact.last_name),
            truncate_utf8(normalise_email(contact.email)) or "",
            phone_e164(contact.phone_e164, contact.country_code) or "",
            normalise_country(contact.country_code) or "",
            braze_email_subscribe(change),
            "false" if change.kind == "removed" else "true",
        ))


def google_row(contact: Contact) -> tuple[str, ...]:
    return (
        sha256_hex(google_email(contact.email)) or "",
        sha256_hex(phone_e164(contact.phone_e164, contact.country_code)) or "",
        sha256_hex(google_first_name(contact.first_name)) or "",
        sha256_hex(google_last_name(contact.last_name)) or "",
        normalise_country(contact.country_code) or "",
        google_zip(contact.postal_code) or "",
    )


def write_google_customer_match(changes: list[Change], files: Files) -> None:
    """Members who granted ad_personalization (and ad_user_data) in
    ``ad_personalization``, members who granted ad_user_data only in
    ``ad_user_data_only`` (uploaded with different consent signals), removals in
    ``removals`` whatever the consent. Adding a member without ad_user_data is refused.
    A contact with neither email nor phone is skipped (``no_email_or_phone``)."""
    for change in changes:
        contact = change.contact
        purposes = contact.granted_purposes
        if change.kind != "removed" and AD_USER_DATA_PURPOSE not in purposes:
            raise ValueError(
                f"google_customer_match: customer {contact.customer_id} ({change.kind}) has not granted "
                f"{AD_USER_DATA_PURPOSE}; such a member must never be sent to Google"
            )
        if google_email(contact.email) is None and phone_e164(contact.phone_e164, contact.country_code) is None:
            files.skip("no_email_or_phone")
            continue
        if change.kind == "removed":
            part = "removals"
        elif AD_PERSONALIZATION_PURPOSE in purposes:
            part = "ad_personalization"
        else:
            part = "ad_user_data_only"
        files.add(part, GOOGLE_HEADER, google_row(contact))


def meta_row(contact: Contact) -> tuple[str, ...]:
    values = (
        normalise_email(contact.email),
        meta_phone(contact.phone_e164, contact.country_code),
        meta_name(contact.first_name),
        meta_name(contact.last_name),
        meta_place(contact.city),
        meta_place(contact.region),
        meta_zip(contact.postal_code, contact.country_code),
        meta_country(contact.country_code),
        meta_dob(contact.birth_date),
        meta_doby(contact.birth_date),
    )
    return tuple(sha256_hex(value) or "" for value in values)


def write_meta_custom_audience(changes: list[Change], files: Files) -> None:
    """Members to add in ``upsert``, to remove in ``removals``, every key hashed. A
    contact with neither email nor phone is skipped (``no_email_or_phone``)."""
    for change in changes:
        contact = change.contact
        if normalise_email(contact.email) is None and meta_phone(contact.phone_e164, contact.country_code) is None:
            files.skip("no_email_or_phone")
            continue
        files.add("removals" if change.kind == "removed" else "upsert", META_HEADER, meta_row(contact))


def webhook_payload(changes: Iterable[Change]) -> list[dict[str, str | None]]:
    """One JSON-ready dict per change, ordered by idempotency key: what a webhook
    receiver may see (ids, the kind of change and the clear contact attributes)."""
    payload = []
    for change in sorted(changes, key=lambda change: (change.idempotency_key, change.contact.customer_id)):
        contact = change.contact
        payload.append({
            "idempotency_key": change.idempotency_key,
            "kind": change.kind,
            "audience_key": change.audience_key,
            "segment_key": change.segment_key,
            "customer_id": contact.customer_id,
            "email": normalise_email(contact.email),
            "first_name": clean_text(contact.first_name),
            "last_name": clean_text(contact.last_name),
            "phone_e164": phone_e164(contact.phone_e164, contact.country_code),
            "country_code": normalise_country(contact.country_code),
        })
    return payload


WRITERS: dict[str, Callable[[list[Change], Files], None]] = {
    "mailchimp": write_mailchimp,
    "klaviyo": write_klaviyo,
    "braze": write_braze,
    "google_customer_match": write_google_customer_match,
    "meta_custom_audience": write_meta_custom_audience,
}


def write_destination(destination_type: str, changes: Iterable[Change], run_label: str) -> FormattedExport:
    """The files one destination gets for one audience's batch of changes (none for an
    empty batch, and none for ``webhook``, whose payload comes from ``webhook_payload``)."""
    if destination_type not in DESTINATION_TYPES:
        raise ValueError(
            f"unknown destination type {destination_type!r}; expected one of {', '.join(DESTINATION_TYPES)}"
        )
    if not SAFE_NAME_PART.match(run_label or ""):
        raise ValueError(f"run label {run_label!r} must be letters, digits, '_', '.' or '-'")
    batch = list(changes)
    audience_key = batch_audience(batch)
    if audience_key is not None and not SAFE_NAME_PART.match(audience_key):
        raise ValueError(f"audience key {audience_key!r} cannot be part of a file name")
    if destination_type == "webhook":
        return FormattedExport()
    files = Files()
    WRITERS[destination_type](batch, files)
    return files.export(destination_type, audience_key, run_label)
