"""Destination file formats (scripts/destination_formats.py) with tricky values.

Each platform's file is checked byte for byte where the format is fixed (header lines,
quoting, line ends) and value by value where a platform normalises before hashing: mixed
case and spaces in emails, gmail dots and '+tags', phones with and without their country
code, missing and non-ASCII names, 255-byte limits with multi-byte characters. Hashes are
recomputed here with hashlib from the normalised form each platform documents, and the
same changes in another order must give the same bytes. Pure Python: no warehouse.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import random
import sys
from pathlib import Path

import pytest

PROJECT_DIR = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(PROJECT_DIR / "scripts"))

import destination_formats as formats  # noqa: E402
from destination_formats import Change, Contact, webhook_payload, write_destination  # noqa: E402

RUN = "20260630T0600"
ADS = frozenset({"ad_user_data", "ad_personalization"})


def sha(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def md5(text: str) -> str:
    return hashlib.md5(text.encode("utf-8")).hexdigest()  # noqa: S324 - Mailchimp's key


def change(kind: str, contact: Contact, audience: str = "vip_email", segment: str | None = "vip") -> Change:
    return Change(kind=kind, contact=contact, audience_key=audience, segment_key=segment,
                  idempotency_key=f"{audience}:{contact.customer_id}:{kind}")


ANN = Contact(customer_id="c1", email="  Ann.Lee+news@GMail.com ", first_name="Zoë", last_name="O'Brien-Smith",
              phone_e164="0151 234567", country_code="DE", birth_date=dt.date(1990, 7, 4),
              postal_code="10115", city="Zürich", region="Berlin",
              granted_purposes=frozenset({"email_marketing"}) | ADS)
BOB = Contact(customer_id="c2", email="bob@example.com", first_name="Łukasz", last_name='Smith, "Jr"',
              phone_e164="+1 (415) 555-0100", country_code="us", postal_code="94103-1234",
              granted_purposes=frozenset({"email_marketing", "ad_user_data"}))
PHONE_ONLY = Contact(customer_id="c3", first_name="José", phone_e164="+33 6 12 34 56 78", country_code="FR",
                     granted_purposes=frozenset({"ad_user_data"}))
NOBODY = Contact(customer_id="c4", first_name="No", last_name="Address", granted_purposes=ADS)
NO_NAMES = Contact(customer_id="c5", email="Carol@Example.org", granted_purposes=frozenset({"email_marketing"}) | ADS)


def rows(content: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(content.decode("utf-8"), newline="")))


def header_line(content: bytes) -> bytes:
    return content.split(b"\n", 1)[0]


def only(files: dict[str, bytes], part: str) -> bytes:
    matches = [content for name, content in files.items() if name.endswith(f"__{part}.csv")]
    assert len(matches) == 1, sorted(files)
    return matches[0]


# ---------------------------------------------------------------------- normalisation


def test_emails_trimmed_and_lower_cased() -> None:
    assert formats.normalise_email("  Ann.Lee+news@GMail.com ") == "ann.lee+news@gmail.com"
    assert formats.normalise_email("   ") is None
    assert formats.normalise_email("not-an-address") is None


def test_google_removes_dots_before_the_at_of_gmail_addresses_only() -> None:
    assert formats.google_email(" Ann.Lee+news@GMail.com") == "annlee+news@gmail.com"
    assert formats.google_email("a.b.c@googlemail.com") == "abc@googlemail.com"
    assert formats.google_email("ann.lee@example.com") == "ann.lee@example.com"
    assert formats.google_email("ann.lee@gmail.com.evil.org") == "ann.lee@gmail.com.evil.org"


def test_known_sha256_and_md5_vectors() -> None:
    # Published digests of "test@example.com", and the same recomputed with hashlib.
    assert formats.sha256_hex("test@example.com") == "973dfe463ec85785f5f95af5ba3906eedb2d931c24e69824a89ea65dba4e813b"
    assert formats.sha256_hex("test@example.com") == sha("test@example.com")
    assert formats.mailchimp_subscriber_hash(" Test@Example.com ") == "55502f40dc8b7c769880b10874abc9d0"
    assert formats.mailchimp_subscriber_hash(" Test@Example.com ") == md5("test@example.com")
    assert formats.sha256_hex(None) is None


@pytest.mark.parametrize(("phone", "country", "expected"), [
    ("+49 151 234567", None, "+49151234567"),
    ("0049 151 234567", None, "+49151234567"),
    ("0151 234567", "DE", "+49151234567"),
    ("151-234-567", "de", "+49151234567"),
    ("(415) 555.0100", "US", "+14155550100"),
    ("0151 234567", None, None),
    ("0151 234567", "ZZ", None),
    ("ext. 12", "DE", None),
    ("", "DE", None),
])
def test_phones_to_e164_with_and_without_country_code(phone: str, country: str | None, expected: str | None) -> None:
    assert formats.phone_e164(phone, country) == expected
    assert formats.meta_phone(phone, country) == (expected[1:] if expected else None)


def test_names_per_platform_with_non_ascii_letters() -> None:
    assert formats.google_first_name("  Mary   Ann ") == "mary ann"
    assert formats.google_first_name("Zoë") == "zoë"
    assert formats.google_first_name("Zoe\u0308") == "zoë"  # combining diaeresis: same name
    assert formats.google_last_name("O'Brien-Smith") == "obriensmith"
    assert formats.google_last_name("García") == "garcía"
    assert formats.meta_name("Łukasz") == "łukasz"
    assert formats.meta_name(" José-María ") == "josémaría"
    assert formats.meta_name("!!!") is None
    assert formats.meta_name(None) is None
    assert formats.meta_place("Zürich") == "zurich"
    assert formats.meta_place("New York, NY") == "newyorkny"
    assert formats.meta_zip("94103-1234", "US") == "94103"
    assert formats.meta_zip("SW1A 1AA", "GB") == "sw1a1"
    assert formats.meta_zip(" 10115 ", "DE") == "10115"
    assert formats.meta_country(" de") == "de"
    assert formats.normalise_country("xyz") is None
    assert formats.meta_dob(dt.date(1990, 7, 4)) == "19900704"
    assert formats.meta_doby(dt.date(1990, 7, 4)) == "1990"


def test_truncation_to_255_bytes_never_splits_a_character() -> None:
    two_byte = "é" * 200  # 400 bytes
    cut = formats.truncate_utf8(two_byte)
    assert cut == "é" * 127 and len(cut.encode("utf-8")) == 254
    exact = "a" + "é" * 127  # 255 bytes
    assert formats.truncate_utf8(exact) == exact
    emoji = "a" * 253 + "😀"  # 257 bytes: the 4-byte character goes whole
    assert formats.truncate_utf8(emoji) == "a" * 253
    assert formats.truncate_utf8("short") == "short"


def test_bad_contact_values_fail_with_one_line() -> None:
    with pytest.raises(ValueError, match="not an ISO 3166-1 alpha-2 code"):
        Contact(customer_id="c9", country_code="Germany")
    with pytest.raises(ValueError, match="kind 'moved'"):
        change("moved", ANN)
    with pytest.raises(ValueError, match="unknown destination type 'sendgrid'"):
        write_destination("sendgrid", [], RUN)
    with pytest.raises(ValueError, match="run label"):
        write_destination("mailchimp", [change("added", ANN)], "../x")
    with pytest.raises(ValueError, match="one audience's changes"):
        write_destination("mailchimp", [change("added", ANN), change("added", BOB, audience="other")], RUN)


# ------------------------------------------------------------------------- platforms


def test_mailchimp_upsert_and_removals_by_subscriber_hash() -> None:
    changes = [change("added", ANN), change("changed", BOB), change("removed", NO_NAMES),
               change("added", PHONE_ONLY), change("added", NOBODY)]
    export = write_destination("mailchimp", changes, RUN)
    assert sorted(export.files) == [f"mailchimp__vip_email__{RUN}__removals.csv",
                                    f"mailchimp__vip_email__{RUN}__upsert.csv"]
    upsert = only(export.files, "upsert")
    assert upsert == (
        b"Email Address,First Name,Last Name,Tags\n"
        b"ann.lee+news@gmail.com,Zo\xc3\xab,O'Brien-Smith,\"vip_email,vip\"\n"
        b"bob@example.com,\xc5\x81ukasz,\"Smith, \"\"Jr\"\"\",\"vip_email,vip\"\n"
    )
    assert rows(upsert)[2] == ["bob@example.com", "Łukasz", 'Smith, "Jr"', "vip_email,vip"]
    assert only(export.files, "removals") == b"subscriber_hash\n" + md5("carol@example.org").encode() + b"\n"
    assert export.skipped == {"no_email": 2}


def test_mailchimp_names_cut_at_255_bytes() -> None:
    long_name = Contact(customer_id="c6", email="x@example.com", first_name="Ł" * 300)
    upsert = only(write_destination("mailchimp", [change("added", long_name)], RUN).files, "upsert")
    first_name = rows(upsert)[1][1]
    assert first_name == "Ł" * 127 and len(first_name.encode("utf-8")) <= 255


def test_klaviyo_email_first_phone_file_and_consent_values() -> None:
    withdrawn = Contact(customer_id="c7", email="Dan@Example.com", phone_e164="+4915112345678")
    left_segment = Contact(customer_id="c8", email="eve@example.com",
                           granted_purposes=frozenset({"email_marketing"}))
    changes = [change("added", ANN), change("added", PHONE_ONLY), change("added", NOBODY),
               change("removed", withdrawn), change("removed", left_segment)]
    export = write_destination("klaviyo", changes, RUN)
    upsert = only(export.files, "upsert")
    assert header_line(upsert) == b"Email,First Name,Last Name,Phone Number,Email Marketing Consent"
    assert rows(upsert)[1] == ["ann.lee+news@gmail.com", "Zoë", "O'Brien-Smith", "+49151234567", "Subscribed"]
    phone_file = only(export.files, "upsert_phone")
    assert header_line(phone_file) == b"Phone Number,First Name,Last Name"
    assert rows(phone_file)[1:] == [["+33612345678", "José", ""]]
    removals = only(export.files, "removals")
    assert header_line(removals) == b"Email,Phone Number,Email Marketing Consent"
    assert rows(removals)[1:] == [["dan@example.com", "+4915112345678", "Unsubscribed"],
                                  ["eve@example.com", "", ""]]
    assert export.skipped == {"no_email_or_phone": 1}


def test_braze_external_id_first_and_membership_flag() -> None:
    withdrawn = Contact(customer_id="c7", email="dan@example.com")
    export = write_destination("braze", [change("added", ANN), change("removed", withdrawn),
                                         change("changed", PHONE_ONLY)], RUN)
    upsert = only(export.files, "upsert")
    assert header_line(upsert) == (
        b"external_id,first_name,last_name,email,phone,country,email_subscribe,in_audience_vip_email"
    )
    assert rows(upsert)[1:] == [
        ["c1", "Zoë", "O'Brien-Smith", "ann.lee+news@gmail.com", "+49151234567", "DE", "opted_in", "true"],
        ["c3", "José", "", "", "+33612345678", "FR", "", "true"],
        ["c7", "", "", "dan@example.com", "", "", "unsubscribed", "false"],
    ]
    assert export.skipped == {}


def test_google_customer_match_hashes_and_consent_split() -> None:
    withdrawn = Contact(customer_id="c7", email="dan@example.com")  # no ad consent left
    changes = [change("added", ANN), change("added", BOB), change("added", PHONE_ONLY),
               change("added", NOBODY), change("removed", withdrawn)]
    export = write_destination("google_customer_match", changes, RUN)
    assert sorted(name.rsplit("__", 1)[1] for name in export.files) == [
        "ad_personalization.csv", "ad_user_data_only.csv", "removals.csv"]
    personalised = only(export.files, "ad_personalization")
    assert header_line(personalised) == b"Email,Phone,First Name,Last Name,Country,Zip"
    assert rows(personalised)[1:] == [[
        sha("annlee+news@gmail.com"), sha("+49151234567"), sha("zoë"), sha("obriensmith"), "DE", "10115",
    ]]
    user_data_only = rows(only(export.files, "ad_user_data_only"))[1:]
    assert sorted(user_data_only) == sorted([
        [sha("bob@example.com"), sha("+14155550100"), sha("łukasz"), sha("smith jr"), "US", "94103-1234"],
        ["", sha("+33612345678"), sha("josé"), "", "FR", ""],
    ])
    assert rows(only(export.files, "removals"))[1:] == [[sha("dan@example.com"), "", "", "", "", ""]]
    assert export.skipped == {"no_email_or_phone": 1}


def test_google_refuses_a_member_without_ad_user_data() -> None:
    email_only_consent = Contact(customer_id="c8", email="eve@example.com",
                                 granted_purposes=frozenset({"ad_personalization"}))
    with pytest.raises(ValueError, match="c8 .* has not granted ad_user_data"):
        write_destination("google_customer_match", [change("added", email_only_consent)], RUN)


def test_meta_multi_key_schema_all_hashed() -> None:
    export = write_destination("meta_custom_audience",
                               [change("added", ANN), change("added", NOBODY), change("removed", BOB)], RUN)
    upsert = only(export.files, "upsert")
    assert header_line(upsert) == b"email,phone,fn,ln,ct,st,zip,country,dob,doby"
    assert rows(upsert)[1:] == [[
        sha("ann.lee+news@gmail.com"), sha("49151234567"), sha("zoë"), sha("obriensmith"), sha("zurich"),
        sha("berlin"), sha("10115"), sha("de"), sha("19900704"), sha("1990"),
    ]]
    assert rows(only(export.files, "removals"))[1:] == [[
        sha("bob@example.com"), sha("14155550100"), sha("łukasz"), sha("smithjr"), "", "", sha("94103"),
        sha("us"), "", "",
    ]]
    assert export.skipped == {"no_email_or_phone": 1}


def test_webhook_payload_one_dict_per_change_without_hashes() -> None:
    payload = webhook_payload([change("removed", BOB), change("added", ANN)])
    assert payload == [
        {"idempotency_key": "vip_email:c1:added", "kind": "added", "audience_key": "vip_email",
         "segment_key": "vip", "customer_id": "c1", "email": "ann.lee+news@gmail.com", "first_name": "Zoë",
         "last_name": "O'Brien-Smith", "phone_e164": "+49151234567", "country_code": "DE"},
        {"idempotency_key": "vip_email:c2:removed", "kind": "removed", "audience_key": "vip_email",
         "segment_key": "vip", "customer_id": "c2", "email": "bob@example.com", "first_name": "Łukasz",
         "last_name": 'Smith, "Jr"', "phone_e164": "+14155550100", "country_code": "US"},
    ]
    assert write_destination("webhook", [change("added", ANN)], RUN).files == {}


@pytest.mark.parametrize("destination_type", [t for t in formats.DESTINATION_TYPES if t != "webhook"])
def test_same_changes_in_any_order_give_identical_bytes(destination_type: str) -> None:
    others = [Contact(customer_id=f"x{number}", email=f"Person.{number}@Example.com",
                      first_name=f"Näme {number}", phone_e164=f"+4915100{number:04d}", country_code="DE",
                      granted_purposes=ADS if number % 2 else frozenset({"ad_user_data", "email_marketing"}))
              for number in range(30)]
    changes = [change("removed" if number % 5 == 0 else "added", contact) for number, contact in enumerate(others)]
    changes += [change("added", ANN), change("changed", BOB)]
    first = write_destination(destination_type, changes, RUN)
    shuffled = changes[:]
    random.Random(25).shuffle(shuffled)
    second = write_destination(destination_type, shuffled, RUN)
    assert first.files and first == second
    assert all(content.endswith(b"\n") and b"\r" not in content for content in first.files.values())


def test_erasure_finds_every_identifier_hash_written() -> None:
    """The erasure step rewrites export files without the rows that hold one of a
    subject's values: every email and phone hash these formats write must be one of them."""
    import erasure

    contact = Contact(customer_id="c1", email=" Dan@Example.com ", phone_e164="+49 151 234567",
                      country_code="DE", granted_purposes=ADS)
    values = erasure.export_values({"email": {"dan@example.com"}, "phone": {"49151234567"}})
    for destination_type in ("google_customer_match", "meta_custom_audience", "mailchimp"):
        for content in write_destination(destination_type, [change("added", contact)], RUN).files.values():
            data_row = rows(content)[1]
            assert erasure.row_matches(data_row[:2], values), (destination_type, data_row)


def test_erasure_finds_a_gmail_address_in_googles_form() -> None:
    """Google's hash of a gmail address is of the address without its dots; erasure
    must recognise it from the address as the warehouse holds it (with the dots)."""
    import erasure

    contact = Contact(customer_id="c1", email="Ann.Lee@gmail.com", granted_purposes=ADS)
    values = erasure.export_values({"email": {"ann.lee@gmail.com"}})
    content = only(write_destination("google_customer_match", [change("added", contact)], RUN).files,
                   "ad_personalization")
    data_row = rows(content)[1]
    assert data_row[0] == sha("annlee@gmail.com")
    assert erasure.row_matches(data_row, values)
