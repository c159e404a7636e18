"""The audience registry check (scripts/audience_registry.py): one bad registry per kind
of problem, each with the exact messages it must give.

Each case edits a copy of the project's registry (and its exposures file) in a temporary
folder; the project's registry is valid, so a case only passes while its check exists.
Further tests cover the loaded dataclasses, a registry that cannot be read and the
command line's exit codes.
"""

from __future__ import annotations

import copy
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import pytest
import yaml

PROJECT_DIR = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(PROJECT_DIR / "scripts"))

import audience_registry  # noqa: E402
import segment_registry  # noqa: E402
from dbt_registry_driver import invalid_registry_messages as driver_messages  # noqa: E402
from dbt_registry_driver import run_registry_steps  # noqa: E402

REGISTRY = PROJECT_DIR / "models" / "marts" / "activation" / "_audience_registry.yml"
EXPOSURES = PROJECT_DIR / "models" / "marts" / "activation" / "_activation__exposures.yml"
CLI = PROJECT_DIR / "scripts" / "audience_registry.py"

Change = Callable[[dict, dict], None]


def meta_of(document: dict) -> dict:
    return next(macro for macro in document["macros"] if macro["name"] == "audience_registry")["meta"]


def audience(document: dict, key: str) -> dict:
    return next(item for item in meta_of(document)["audiences"] if item["key"] == key)


def destination(document: dict, key: str) -> dict:
    return next(item for item in meta_of(document)["destinations"] if item["key"] == key)


def set_audience(key: str, /, **fields: object) -> Change:
    def change(registry: dict, exposures: dict) -> None:
        audience(registry, key).update(fields)
    return change


def drop_audience_field(key: str, name: str) -> Change:
    def change(registry: dict, exposures: dict) -> None:
        del audience(registry, key)[name]
    return change


def set_segments(key: str, /, **lists: object) -> Change:
    def change(registry: dict, exposures: dict) -> None:
        audience(registry, key)["segments"].update(lists)
    return change


def set_destination(key: str, /, **fields: object) -> Change:
    def change(registry: dict, exposures: dict) -> None:
        destination(registry, key).update(fields)
    return change


def drop_exposure(name: str) -> Change:
    def change(registry: dict, exposures: dict) -> None:
        exposures["exposures"] = [item for item in exposures["exposures"] if item["name"] != name]
    return change


def add_exposure(name: str) -> Change:
    def change(registry: dict, exposures: dict) -> None:
        exposures["exposures"].append({**exposures["exposures"][0], "name": name})
    return change


@dataclass(frozen=True)
class BadRegistry:
    """The project's registry with one kind of mistake, and every message it must give."""

    id: str
    change: Change
    messages: list[str] = field(default_factory=list)


BAD_REGISTRIES = [
    BadRegistry("missing_required_field", drop_audience_field("vip_email", "owner"),
                ["audience 'vip_email': missing required field 'owner'"]),
    BadRegistry("unknown_field", set_audience("vip_email", holdout=10),
                ["audience 'vip_email': unknown field 'holdout'"]),
    BadRegistry("key_not_snake_case", set_audience("vip_email", key="VIP-Email"),
                ["audience 'VIP-Email': key must be snake_case (lowercase letters, digits, underscores)"]),
    BadRegistry("duplicate_key", set_audience("high_value_ads", key="vip_email"),
                ["audience 'vip_email': duplicate key (also audience #1)"]),
    BadRegistry("duplicate_destination_key", set_destination("klaviyo_sms", key="mailchimp_newsletter"), [
        "destination 'mailchimp_newsletter': duplicate key (also destination #1)",
        "audience 'cart_reminder_sms': destination 'klaviyo_sms' is not declared under destinations",
        "exposure 'klaviyo_sms': in _activation__exposures.yml but not a destination of the audience registry",
    ]),
    BadRegistry("bad_status", set_audience("vip_email", status="live"),
                ["audience 'vip_email': status 'live' is not one of active, paused, archived"]),
    BadRegistry("bad_channel", set_audience("vip_email", channel="fax"),
                ["audience 'vip_email': channel 'fax' is not one of email, sms, ads, onsite"]),
    BadRegistry("bad_schedule", set_audience("vip_email", schedule="monthly"),
                ["audience 'vip_email': schedule 'monthly' is not one of hourly, daily, weekly"]),
    BadRegistry("unknown_segment", set_segments("vip_email", primary=["vips"]),
                ["audience 'vip_email': segments.primary: segment 'vips' does not exist in the segment registry"]),
    BadRegistry("no_primary_or_any", set_segments("high_value_ads", any=[]),
                ["audience 'high_value_ads': segments needs at least one key in primary or any"]),
    BadRegistry("exclude_overlaps", set_segments("vip_email", exclude=["churned", "loyal_engaged"]),
                ["audience 'vip_email': segments.exclude overlaps segments.any (loyal_engaged)"]),
    BadRegistry("unknown_consent_purpose", set_audience("vip_email", consent_purpose="newsletter"),
                ["audience 'vip_email': consent_purpose 'newsletter' is not in seeds/consent_purposes.csv"]),
    BadRegistry("consent_purpose_of_other_channel", set_audience("high_value_ads", consent_purpose="email_marketing"),
                ["audience 'high_value_ads': consent_purpose 'email_marketing' belongs to channel email, not ads"]),
    BadRegistry("unknown_suppression", set_audience("cart_reminder_sms", suppressions=["manual", "do_not_call"]),
                ["audience 'cart_reminder_sms': suppression 'do_not_call' is not one of "
                 "hard_bounce, spam_complaint, global_unsubscribe, manual"]),
    BadRegistry("suppression_of_other_channel", set_audience("cart_reminder_sms", suppressions=["hard_bounce"]),
                ["audience 'cart_reminder_sms': suppression 'hard_bounce' applies to email audiences only"]),
    BadRegistry("holdout_out_of_range", set_audience("vip_email", holdout_percent=60),
                ["audience 'vip_email': holdout_percent must be a whole number from 0 to 50, got 60"]),
    BadRegistry("bad_frequency_cap", set_audience("vip_email", frequency_cap={"max_additions": 0, "per_days": 7}),
                ["audience 'vip_email': frequency_cap must be {max_additions: N, per_days: D} with positive "
                 "integers, got {'max_additions': 0, 'per_days': 7}"]),
    BadRegistry("unknown_destination", set_audience("vip_email", destinations=["mailchimp_newsletter", "crm_hook"]),
                ["audience 'vip_email': destination 'crm_hook' is not declared under destinations"]),
    BadRegistry("unknown_destination_type", set_destination("klaviyo_sms", type="attentive"),
                ["destination 'klaviyo_sms': type 'attentive' is not one of mailchimp, klaviyo, braze, "
                 "google_customer_match, meta_custom_audience, webhook"]),
    BadRegistry("webhook_without_url_env", set_destination("crm_webhook", settings={"batch_size": 100}),
                ["destination 'crm_webhook': a webhook destination needs the setting 'url_env'"]),
    BadRegistry("webhook_url_env_not_a_variable_name",
                set_destination("crm_webhook", settings={"url_env": "https://crm.example.com/hook"}),
                ["destination 'crm_webhook': setting 'url_env' must name an environment variable "
                 "(UPPER_SNAKE_CASE), got 'https://crm.example.com/hook'"]),
    BadRegistry("setting_not_positive_int", set_destination("google_ads_customer_match", settings={"batch_size": -5}),
                ["destination 'google_ads_customer_match': setting 'batch_size' must be a positive integer, got -5"]),
    BadRegistry("unknown_setting", set_destination("mailchimp_newsletter", settings={"url_env": "MAILCHIMP_URL"}),
                ["destination 'mailchimp_newsletter': unknown setting 'url_env' for type mailchimp "
                 "(allowed: batch_size, max_attempts)"]),
    BadRegistry("destination_not_an_exposure", drop_exposure("klaviyo_sms"),
                ["destination 'klaviyo_sms': used by an audience but not declared as an exposure in "
                 "_activation__exposures.yml"]),
    BadRegistry("exposure_not_a_destination", add_exposure("braze_push"),
                ["exposure 'braze_push': in _activation__exposures.yml but not a destination of the audience registry"]),
]


@pytest.fixture(scope="module")
def documents() -> tuple[dict, dict]:
    return yaml.safe_load(REGISTRY.read_text()), yaml.safe_load(EXPOSURES.read_text())


def write_copy(folder: Path, registry: dict, exposures: dict) -> Path:
    path = folder / REGISTRY.name
    path.write_text(yaml.safe_dump(registry, sort_keys=False))
    (folder / EXPOSURES.name).write_text(yaml.safe_dump(exposures, sort_keys=False))
    return path


def test_project_registry_is_valid() -> None:
    registry = audience_registry.load_registry()
    vip = registry.audience("vip_email")
    assert vip.segments == audience_registry.SegmentSelection(primary=("vip",), any=("loyal_engaged",), exclude=("churned",))
    assert vip.frequency_cap == audience_registry.FrequencyCap(max_additions=3, per_days=7)
    assert vip.holdout_percent == 10
    assert vip.destinations == ("mailchimp_newsletter", "crm_webhook")
    assert registry.audience("cart_reminder_sms").frequency_cap is None
    assert registry.destination("crm_webhook").settings["url_env"] == "SEGMENTS_WEBHOOK_URL"
    assert {audience.channel for audience in registry.audiences} == {"email", "sms", "ads"}


def test_archived_segment_is_refused(tmp_path: Path, documents: tuple[dict, dict]) -> None:
    """The segment registry has no archived segment, so archive one in a copy of it."""
    segments_document = yaml.safe_load(audience_registry.DEFAULT_SEGMENT_REGISTRY.read_text())
    segments = next(m for m in segments_document["macros"] if m["name"] == "segment_registry")["meta"]["segments"]
    next(item for item in segments if item["key"] == "churned")["status"] = "archived"
    segment_registry_path = tmp_path / "_segment_registry.yml"
    segment_registry_path.write_text(yaml.safe_dump(segments_document, sort_keys=False))
    path = write_copy(tmp_path, *copy.deepcopy(documents))
    with pytest.raises(ValueError) as raised:
        audience_registry.load_registry(path, segment_registry_path=segment_registry_path)
    assert str(raised.value).splitlines() == ["audience 'vip_email': segments.exclude: segment 'churned' is archived"]


@pytest.mark.parametrize("case", BAD_REGISTRIES, ids=[case.id for case in BAD_REGISTRIES])
def test_bad_registry_gives_exact_messages(tmp_path: Path, documents: tuple[dict, dict], case: BadRegistry) -> None:
    registry, exposures = copy.deepcopy(documents)
    case.change(registry, exposures)
    path = write_copy(tmp_path, registry, exposures)
    with pytest.raises(ValueError) as raised:
        audience_registry.load_registry(path)
    assert str(raised.value).splitlines() == case.messages


def test_unreadable_registry_is_one_line(tmp_path: Path) -> None:
    path = tmp_path / REGISTRY.name
    path.write_text("macros:\n  - name: audience_registry\n    meta: {audiences: [\n")
    with pytest.raises(ValueError, match=r"^registry: .* is not valid YAML at line \d+, column \d+$"):
        audience_registry.load_registry(path)
    with pytest.raises(ValueError, match=r"^registry: file .* not found$"):
        audience_registry.load_registry(tmp_path / "missing.yml")


def test_cli_exit_codes(tmp_path: Path, documents: tuple[dict, dict]) -> None:
    valid = subprocess.run([sys.executable, str(CLI), "validate"], capture_output=True, text=True, check=False)
    assert valid.returncode == 0, valid.stdout + valid.stderr
    assert valid.stdout.startswith("Audience registry is valid: 3 audiences (3 active), 4 destinations.")
    registry, exposures = copy.deepcopy(documents)
    set_audience("vip_email", channel="fax")(registry, exposures)
    path = write_copy(tmp_path, registry, exposures)
    invalid = subprocess.run([sys.executable, str(CLI), "validate", "--registry", str(path)],
                             capture_output=True, text=True, check=False)
    assert invalid.returncode == 1
    assert invalid.stdout.splitlines() == ["audience 'vip_email': channel 'fax' is not one of email, sms, ads, onsite"]
    assert "Traceback" not in invalid.stderr


# --- The same checks through dbt (the plugin's SQL function, or the checksum elsewhere) ------

DBT_INVALID_HEADER = "The audience registry (models/marts/activation/_audience_registry.yml) is invalid:\n"
# Registry-only cases (the driver rewrites the registry file, not the exposures file).
DBT_CASES = [case for case in BAD_REGISTRIES if case.id in ("unknown_segment", "holdout_out_of_range", "unknown_consent_purpose")]


@pytest.fixture(scope="module")
def dbt_outcomes(documents: tuple[dict, dict], tmp_path_factory: pytest.TempPathFactory) -> dict:
    """The starter registry, three bad ones and the checksum path through dbt, in a copy of
    the project. The `portable` target is the DuckDB profile without the plugin: the path
    every other adapter takes."""
    root = tmp_path_factory.mktemp("audience_registry_dbt")
    starter = REGISTRY.read_text()
    checksum = audience_registry.registry_checksum(audience_registry.read_meta(REGISTRY))
    # The portable target checks the segment registry by its checksum too.
    segments = segment_registry.load_registry(segment_registry.DEFAULT_REGISTRY)
    segments_env = {"SEGMENTS_REGISTRY_CHECKSUM": segment_registry.registry_checksum(segments)}

    def bad_text(case: BadRegistry) -> str:
        registry, exposures = copy.deepcopy(documents)
        case.change(registry, exposures)
        assert exposures == documents[1], case.id
        return yaml.safe_dump(registry, sort_keys=False)

    operation = ["run-operation", "validate_audience_registry"]
    hook_run = ["run", "--select", "dim_audiences"]  # the on-run-start hook validates first
    steps = [{"id": "starter", "registry": starter, "args": operation}]
    steps += [{"id": case.id, "registry": bad_text(case), "args": hook_run} for case in DBT_CASES]
    steps += [
        {"id": "build_with_bad_registry", "registry": bad_text(DBT_CASES[0]), "args": ["build"]},
        {"id": "portable_unvalidated", "registry": starter, "args": [*hook_run, "--target", "portable"],
         "env": segments_env},
        {"id": "portable_validated", "registry": starter, "args": [*operation, "--target", "portable"],
         "env": {**segments_env, "SEGMENTS_AUDIENCE_REGISTRY_CHECKSUM": checksum}},
        {"id": "portable_edited_after_validation", "registry": starter.replace("holdout_percent: 10", "holdout_percent: 20"),
         "args": [*hook_run, "--target", "portable"],
         "env": {**segments_env, "SEGMENTS_AUDIENCE_REGISTRY_CHECKSUM": checksum}},
    ]
    outcomes = run_registry_steps(root, REGISTRY.relative_to(PROJECT_DIR), steps,
                                  ("SEGMENTS_AUDIENCE_REGISTRY_CHECKSUM", "SEGMENTS_REGISTRY_CHECKSUM"))
    outcomes["_checksum"] = checksum
    return outcomes


def invalid_registry_messages(error: str | None) -> list[str]:
    return driver_messages(error, DBT_INVALID_HEADER)


def test_dbt_accepts_the_project_registry(dbt_outcomes: dict) -> None:
    assert len(DBT_CASES) == 3
    assert dbt_outcomes["starter"]["success"], dbt_outcomes["starter"]


@pytest.mark.parametrize("case", DBT_CASES, ids=[case.id for case in DBT_CASES])
def test_dbt_rejects_a_bad_registry_with_the_validators_messages(dbt_outcomes: dict, case: BadRegistry) -> None:
    outcome = dbt_outcomes[case.id]
    assert not outcome["success"]
    assert invalid_registry_messages(outcome["error"]) == case.messages


def test_dbt_build_stops_before_any_node_with_a_bad_registry(dbt_outcomes: dict) -> None:
    import duckdb

    outcome = dbt_outcomes["build_with_bad_registry"]
    assert not outcome["success"]
    assert invalid_registry_messages(outcome["error"]) == DBT_CASES[0].messages
    with duckdb.connect(dbt_outcomes["_warehouse"], read_only=True) as connection:
        relations = connection.execute(
            "select table_schema, table_name from information_schema.tables where table_catalog = current_database()"
        ).fetchall()
    assert relations == []


def test_other_adapters_need_the_checksum_the_validator_printed(dbt_outcomes: dict) -> None:
    checksum = dbt_outcomes["_checksum"]
    assert invalid_registry_messages(dbt_outcomes["portable_unvalidated"]["error"]) == [
        f"registry: not validated since it last changed (checksum {checksum}); run "
        "`python scripts/audience_registry.py checksum` and set SEGMENTS_AUDIENCE_REGISTRY_CHECKSUM to what it prints"
    ]
    assert dbt_outcomes["portable_validated"]["success"], dbt_outcomes["portable_validated"]
    edited = invalid_registry_messages(dbt_outcomes["portable_edited_after_validation"]["error"])
    assert len(edited) == 1 and edited[0].startswith("registry: not validated since it last changed")


def test_checksum_command_prints_the_checksum_of_a_valid_registry_only(tmp_path: Path, documents: tuple[dict, dict]) -> None:
    valid = subprocess.run([sys.executable, str(CLI), "checksum"], capture_output=True, text=True, check=False)
    assert valid.returncode == 0
    assert valid.stdout.strip() == audience_registry.registry_checksum(audience_registry.read_meta(REGISTRY))
    registry, exposures = copy.deepcopy(documents)
    DBT_CASES[0].change(registry, exposures)
    path = write_copy(tmp_path, registry, exposures)
    invalid = subprocess.run([sys.executable, str(CLI), "checksum", "--registry", str(path)],
                             capture_output=True, text=True, check=False)
    assert invalid.returncode == 1 and invalid.stdout == ""
    assert invalid.stderr.splitlines() == DBT_CASES[0].messages
