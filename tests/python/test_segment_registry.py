"""The segment registry check: one list of bad registries, one authority, two paths.

BAD_REGISTRIES is the shared suite: each case edits the starter registry and names the
exact messages. The Python validator (scripts/segment_registry.py) must give exactly those
messages, and so must plain `dbt run` in a copy of the project (its on-run-start hook asks
the same validator through the DuckDB plugin), failing before any node runs. Further
tests cover the rule checks in depth, warnings, YAML errors with line and column, the
checksum path other adapters use, and the "add a segment" example in the docs.
"""

from __future__ import annotations

import copy
import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import duckdb
import pytest
import yaml

PROJECT_DIR = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(PROJECT_DIR / "scripts"))

import segment_registry  # noqa: E402
import segment_rules  # noqa: E402
from dbt_registry_driver import invalid_registry_messages as driver_messages  # noqa: E402
from dbt_registry_driver import run_registry_steps  # noqa: E402

REGISTRY = PROJECT_DIR / "models" / "marts" / "segments" / "_segment_registry.yml"
REGISTRY_IN_PROJECT = Path("models") / "marts" / "segments" / "_segment_registry.yml"
ADD_EXAMPLE = PROJECT_DIR / "docs" / "segments_add_example.yml"
CLI = PROJECT_DIR / "scripts" / "segment_registry.py"
DBT_INVALID_HEADER = "The segment registry (models/marts/segments/_segment_registry.yml) is invalid:\n"


def segments_of(document: dict) -> list:
    for macro in document["macros"]:
        if macro["name"] == "segment_registry":
            return macro["meta"]["segments"]
    raise AssertionError("no segment_registry macro in the registry")


def segment(segments: list, key: str) -> dict:
    return next(item for item in segments if item["key"] == key)


def dump(document: dict) -> str:
    return yaml.safe_dump(document, sort_keys=False, width=10_000)


def set_fields(segment_key: str, /, **fields: object) -> Callable[[dict], None]:
    def change(document: dict) -> None:
        segment(segments_of(document), segment_key).update(fields)
    return change


def drop_fields(segment_key: str, *names: str) -> Callable[[dict], None]:
    def change(document: dict) -> None:
        for name in names:
            del segment(segments_of(document), segment_key)[name]
    return change


def all_of(*changes: Callable[[dict], None]) -> Callable[[dict], None]:
    def change(document: dict) -> None:
        for each in changes:
            each(document)
    return change


def replace_segments(value: object) -> Callable[[dict], None]:
    def change(document: dict) -> None:
        next(macro for macro in document["macros"] if macro["name"] == "segment_registry")["meta"]["segments"] = value
    return change


@dataclass(frozen=True)
class BadRegistry:
    """A starter registry with one kind of mistake, and every message it must give."""

    id: str
    change: Callable[[dict], None]
    messages: list[str] = field(default_factory=list)


LONG_RULE = " and ".join(["orders_lifetime >= 1"] * 45)
BUSY_RULE = " or ".join(["age_years > 1"] * 45)

BAD_REGISTRIES = [
    BadRegistry("unknown_column", set_fields("high_value", rule="average_order_value > 200 and days_since_last_order <= 30"),
                ["segment 'high_value': rule references unknown column 'average_order_value'"]),
    BadRegistry("qualified_column", set_fields("high_value", rule="dim_customers.orders_lifetime > 3"),
                ["segment 'high_value': rule references column 'dim_customers.orders_lifetime' with a table name; "
                 "use the bare column name"]),
    BadRegistry("duplicate_key", set_fields("churned", key="at_risk"),
                ["segment 'at_risk': duplicate key (also segment #5)"]),
    BadRegistry("key_not_snake_case", set_fields("churned", key="Churned"),
                ["segment 'Churned': key must be snake_case (lowercase letters, digits, underscores)"]),
    BadRegistry("duplicate_priority", set_fields("churned", priority=10),
                ["segment 'churned': duplicate priority 10 (also segment 'vip')"]),
    BadRegistry("priority_not_integer", set_fields("churned", priority="high"),
                ["segment 'churned': priority must be an integer"]),
    BadRegistry("missing_owner", drop_fields("cart_abandoners", "owner"),
                ["segment 'cart_abandoners': missing required field 'owner'"]),
    BadRegistry("missing_rule", drop_fields("cart_abandoners", "rule"),
                ["segment 'cart_abandoners': missing required field 'rule'"]),
    BadRegistry("missing_parent", set_fields("vip", parent="loyal"),
                ["segment 'vip': parent 'loyal' does not exist"]),
    BadRegistry("parent_cycle", set_fields("repeat_buyers", parent="vip"), [
        "segment 'vip': parents form a cycle (vip -> loyal_customers -> repeat_buyers -> vip)",
        "segment 'loyal_customers': parents form a cycle (loyal_customers -> repeat_buyers -> vip -> loyal_customers)",
        "segment 'repeat_buyers': parents form a cycle (repeat_buyers -> vip -> loyal_customers -> repeat_buyers)",
    ]),
    BadRegistry("active_child_of_archived_parent", set_fields("repeat_buyers", status="archived"),
                ["segment 'loyal_customers': is active but its parent 'repeat_buyers' is archived"]),
    BadRegistry("bad_status", set_fields("churned", status="live"),
                ["segment 'churned': status 'live' is not one of active, draft, archived"]),
    BadRegistry("bad_review_date_and_channel", set_fields("churned", review_by="2026-13-01", channels=["email", "fax"]), [
        "segment 'churned': review_by '2026-13-01' is not a date written YYYY-MM-DD",
        "segment 'churned': channel 'fax' is not one of email, sms, ads, onsite",
    ]),
    BadRegistry("no_default",
                all_of(drop_fields("new_customer", "is_default", "too_incomplete_when"),
                       set_fields("new_customer", rule="not has_ordered")),
                ["registry: exactly one segment must have is_default: true (found 0)"]),
    BadRegistry("two_defaults",
                all_of(drop_fields("churned", "rule"),
                       set_fields("churned", is_default=True, too_incomplete_when="profile_completeness < 0.25")),
                ["registry: exactly one segment must have is_default: true (found 2)"]),
    BadRegistry("segments_not_a_list", replace_segments({"vip": "lifetime_revenue_usd >= 1000"}),
                ["registry: meta.segments of the segment_registry macro must be a list"]),
    BadRegistry("segment_not_a_mapping", lambda document: segments_of(document).insert(0, "vip"),
                ["segment '#1': is not a mapping of fields"]),
    # Injection shapes: each would change the SQL around the rule if spliced in.
    BadRegistry("injection_unbalanced_or", set_fields("cart_abandoners", rule="sessions_last_7_days >= 3) or (1=1"),
                ["segment 'cart_abandoners': rule has unbalanced parentheses"]),
    BadRegistry("injection_open_parenthesis", set_fields("cart_abandoners", rule="(has_open_cart"),
                ["segment 'cart_abandoners': rule has unbalanced parentheses"]),
    BadRegistry("injection_semicolon", set_fields("churned", rule="has_ordered; drop table raw.crm_contacts"),
                ["segment 'churned': rule must not contain a semicolon"]),
    BadRegistry("injection_line_comment", set_fields("churned", rule="has_ordered -- everyone who ordered"),
                ["segment 'churned': rule must not contain a comment"]),
    BadRegistry("injection_block_comment", set_fields("churned", rule="has_ordered /* everyone */"),
                ["segment 'churned': rule must not contain a comment"]),
    BadRegistry("injection_subquery",
                set_fields("churned", rule="customer_id in (select customer_id from raw.crm_contacts)"),
                ["segment 'churned': rule must not contain a subquery"]),
    BadRegistry("injection_select", set_fields("churned", rule="select customer_id from dim_customers"),
                ["segment 'churned': rule is not a single boolean expression"]),
    BadRegistry("injection_statement", set_fields("churned", rule="delete from dim_customers"),
                ["segment 'churned': rule is not a single boolean expression"]),
    BadRegistry("injection_function", set_fields("churned", rule="read_csv('/etc/passwd') is not null"),
                ["segment 'churned': rule uses function 'read_csv', which is not allowed"]),
    BadRegistry("injection_jinja", set_fields("churned", rule="{{ 'has_ordered' }}"),
                ["segment 'churned': rule must not contain Jinja ('{{')"]),
    BadRegistry("constant_rule", set_fields("churned", rule="1 = 1"),
                ["segment 'churned': rule references no column, so it is the same for every customer"]),
    BadRegistry("not_boolean", set_fields("churned", rule="orders_lifetime + 1"),
                ["segment 'churned': rule is not a single boolean expression"]),
    BadRegistry("incomplete", set_fields("churned", rule="orders_lifetime >"),
                ["segment 'churned': rule is not a single boolean expression"]),
    # Types of the profile contract's columns.
    BadRegistry("text_compared_with_number", set_fields("top_rfm_lookalike_seed", rule="country_code = 3"),
                ["segment 'top_rfm_lookalike_seed': rule compares column 'country_code' (varchar) with the number 3"]),
    BadRegistry("number_compared_with_text", set_fields("churned", rule="has_ordered and orders_lifetime = '5'"),
                ["segment 'churned': rule compares column 'orders_lifetime' (integer) with the text '5'"]),
    BadRegistry("number_as_condition", set_fields("loyal_engaged", rule="orders_lifetime and opened_last_3_campaigns"),
                ["segment 'loyal_engaged': rule uses column 'orders_lifetime' (integer) as a condition, "
                 "but it is not a boolean"]),
    BadRegistry("like_on_number", set_fields("churned", rule="orders_lifetime like '5%'"),
                ["segment 'churned': rule applies 'like' to column 'orders_lifetime' (integer), which is not text"]),
    BadRegistry("default_guard_types", set_fields("new_customer", too_incomplete_when="profile_completeness = 'low'"),
                ["segment 'new_customer': too_incomplete_when compares column 'profile_completeness' (decimal(3,2)) "
                 "with the text 'low'"]),
    # Size caps.
    BadRegistry("rule_too_long", set_fields("churned", rule=LONG_RULE),
                [f"segment 'churned': rule is {len(LONG_RULE):,} characters long; the limit is 1,000"]),
    BadRegistry("rule_too_many_nodes", set_fields("churned", rule=BUSY_RULE),
                ["segment 'churned': rule has 224 syntax-tree nodes; the limit is 200"]),
    BadRegistry("rule_nested_too_deeply", set_fields("churned", rule="(" * 11 + "has_ordered" + ")" * 11),
                ["segment 'churned': rule nests parentheses 11 levels deep; the limit is 10"]),
]


@pytest.fixture(scope="module")
def registry_document() -> dict:
    return yaml.safe_load(REGISTRY.read_text())


def bad_registry_text(document: dict, case: BadRegistry) -> str:
    changed = copy.deepcopy(document)
    case.change(changed)
    return dump(changed)


def run_cli(*arguments: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(CLI), *arguments], capture_output=True, text=True, check=False)


# --- The shared suite, path 1: the Python validator -------------------------------------

@pytest.mark.parametrize("case", BAD_REGISTRIES, ids=lambda case: case.id)
def test_python_validator_rejects_bad_registry(registry_document, tmp_path, case):
    path = tmp_path / "registry.yml"
    path.write_text(bad_registry_text(registry_document, case))
    result, _ = segment_registry.validate(path)
    assert result["problems"] == case.messages


def test_command_line_prints_one_line_per_problem_and_exits_1(registry_document, tmp_path):
    path = tmp_path / "registry.yml"
    path.write_text(bad_registry_text(registry_document, BAD_REGISTRIES[0]))
    result = run_cli("validate", "--registry", str(path))
    assert result.returncode == 1
    assert result.stdout.splitlines() == BAD_REGISTRIES[0].messages
    assert "Traceback" not in result.stdout + result.stderr


# --- The shared suite, path 2: plain dbt, through the plugin -------------------------------

@pytest.fixture(scope="module")
def dbt_outcomes(registry_document, tmp_path_factory) -> dict:
    """Every bad registry, plus the checksum steps, through dbt in a copy of the project.

    Each bad registry goes through `dbt run`, whose on-run-start hook validates it. The
    `portable` target is the DuckDB profile without the plugin: the path every other
    adapter takes, which accepts only a registry whose checksum the validator printed.
    """
    root = tmp_path_factory.mktemp("registry_dbt")
    starter = REGISTRY.read_text()
    checksum = segment_registry.registry_checksum(segment_registry.parse_registry(starter, REGISTRY))
    edited = starter.replace("rule: has_open_cart\n", "rule: has_open_cart and has_visited\n")
    hook_run = ["run", "--select", "int_segment_rules_evaluated"]
    steps = [{"id": "starter", "registry": starter, "args": ["run-operation", "validate_segment_registry"]}]
    steps += [{"id": case.id, "registry": bad_registry_text(registry_document, case), "args": hook_run}
              for case in BAD_REGISTRIES]
    steps += [
        {"id": "build_with_bad_registry", "registry": bad_registry_text(registry_document, BAD_REGISTRIES[0]),
         "args": ["build"]},
        {"id": "portable_unvalidated", "registry": starter, "args": [*hook_run, "--target", "portable"]},
        {"id": "portable_validated", "registry": starter,
         "args": ["run-operation", "validate_segment_registry", "--target", "portable"],
         "env": {"SEGMENTS_REGISTRY_CHECKSUM": checksum}},
        {"id": "portable_edited_after_validation", "registry": edited, "args": [*hook_run, "--target", "portable"],
         "env": {"SEGMENTS_REGISTRY_CHECKSUM": checksum}},
    ]
    outcomes = run_registry_steps(root, REGISTRY_IN_PROJECT, steps, ("SEGMENTS_REGISTRY_CHECKSUM",))
    outcomes["_checksum"] = checksum
    return outcomes


def invalid_registry_messages(error: str | None) -> list[str]:
    """The problem lines of dbt's 'The segment registry ... is invalid:' error."""
    return driver_messages(error, DBT_INVALID_HEADER)


def test_dbt_accepts_the_starter_registry(dbt_outcomes):
    assert dbt_outcomes["starter"]["success"], dbt_outcomes["starter"]


@pytest.mark.parametrize("case", BAD_REGISTRIES, ids=lambda case: case.id)
def test_dbt_rejects_bad_registry_with_the_validators_messages(dbt_outcomes, case):
    outcome = dbt_outcomes[case.id]
    assert not outcome["success"]
    assert invalid_registry_messages(outcome["error"]) == case.messages


def test_dbt_build_stops_before_any_node_with_a_bad_registry(dbt_outcomes):
    outcome = dbt_outcomes["build_with_bad_registry"]
    assert not outcome["success"]
    assert invalid_registry_messages(outcome["error"]) == BAD_REGISTRIES[0].messages
    with duckdb.connect(dbt_outcomes["_warehouse"], read_only=True) as connection:
        relations = connection.execute(
            "select table_schema, table_name from information_schema.tables where table_catalog = current_database()"
        ).fetchall()
    assert relations == []


def test_other_adapters_need_the_checksum_the_validator_printed(dbt_outcomes):
    checksum = dbt_outcomes["_checksum"]
    unvalidated = invalid_registry_messages(dbt_outcomes["portable_unvalidated"]["error"])
    assert unvalidated == [
        f"registry: not validated since it last changed (checksum {checksum}); run "
        "`python scripts/segment_registry.py checksum` and set SEGMENTS_REGISTRY_CHECKSUM to what it prints"
    ]
    assert dbt_outcomes["portable_validated"]["success"], dbt_outcomes["portable_validated"]
    edited = invalid_registry_messages(dbt_outcomes["portable_edited_after_validation"]["error"])
    assert len(edited) == 1 and edited[0].startswith("registry: not validated since it last changed")
    assert checksum not in edited[0]


# --- The validator in depth ----------------------------------------------------------------

def starter_summary(added_active: int = 0) -> str:
    """The validator's summary line for the starter registry plus `added_active` active segments."""
    segments = yaml.safe_load(REGISTRY.read_text())["macros"][0]["meta"]["segments"]
    counts = {status: sum(1 for segment in segments if segment["status"] == status)
              for status in ("active", "draft", "archived")}
    return (f"Segment registry is valid: {len(segments) + added_active} segments "
            f"({counts['active'] + added_active} active, {counts['draft']} draft, {counts['archived']} archived).")


def test_starter_registry_is_valid_without_warnings():
    result = run_cli("validate")
    assert result.returncode == 0, result.stdout
    assert result.stdout.splitlines() == [starter_summary()]


def test_checksum_command_prints_the_checksum_of_a_valid_registry_only(registry_document, tmp_path):
    valid = run_cli("checksum")
    assert valid.returncode == 0
    assert valid.stdout.strip() == segment_registry.registry_checksum(segment_registry.load_registry(REGISTRY))
    path = tmp_path / "registry.yml"
    path.write_text(bad_registry_text(registry_document, BAD_REGISTRIES[0]))
    invalid = run_cli("checksum", "--registry", str(path))
    assert invalid.returncode == 1
    assert invalid.stdout == ""
    assert invalid.stderr.splitlines() == BAD_REGISTRIES[0].messages


def test_checksum_reads_the_registry_as_dbt_parses_it(tmp_path):
    """dbt drops a folded description's trailing newline and turns dates into ISO text."""
    quoted = REGISTRY.read_text()
    unquoted = quoted.replace('review_by: "2026-12-31"', "review_by: 2026-12-31")
    assert unquoted != quoted
    loaded = segment_registry.parse_registry(unquoted, REGISTRY)
    assert segment(loaded, "vip")["review_by"] == "2026-12-31"
    assert segment_registry.registry_checksum(loaded) == segment_registry.registry_checksum(
        segment_registry.parse_registry(quoted, REGISTRY)
    )
    default = segment(loaded, "new_customer")
    assert default["description"].endswith("\n")
    assert not segment(segment_registry.as_dbt_parses(loaded), "new_customer")["description"].endswith("\n")


@pytest.mark.parametrize(
    "rule",
    [
        "has_open_cart",
        "(has_ordered or has_visited) and not has_open_cart",
        "coalesce(orders_lifetime, 0) between 2 and 5",
        "lower(country_code) in ('de', 'at') and rfm_cell like '5%'",
        "lifetime_revenue_usd / greatest(orders_lifetime, 1) > 200",
        "rfm_cell = '5;5' and lifecycle_stage != '--'",
        "signed_up_at >= '2026-01-01' and last_order_at > signed_up_at",
        "has_email_consent is true and is_email_known",
        "round(email_open_rate_90_days, 2) >= 0.5 and -age_years < -18",
        "length(trim(lifecycle_stage)) > 0 and upper(country_code) <> 'UNKNOWN'",
    ],
)
def test_rules_that_are_allowed(rule):
    columns = segment_registry.contract_columns()
    assert segment_rules.rule_problems(rule, "rule", columns) == []


@pytest.mark.parametrize("identifier", ["email", "first_name", "last_name", "phone", "birth_date"])
def test_rules_cannot_read_direct_identifiers(identifier):
    """dim_customers carries no direct identifier, so no rule can select people by one."""
    columns = segment_registry.contract_columns()
    assert segment_rules.rule_problems(f"{identifier} is not null", "rule", columns) == [
        f"rule references unknown column '{identifier}'"]


def test_caps_allow_rules_up_to_the_limits():
    columns = segment_registry.contract_columns()
    at_depth = "(" * 10 + "has_ordered" + ")" * 10
    assert segment_rules.rule_problems(at_depth, "rule", columns) == []
    in_list = "country_code in (" + ", ".join(["'de'"] * 150) + ")"
    assert len(in_list) < segment_rules.MAX_RULE_CHARACTERS
    assert segment_rules.rule_problems(in_list, "rule", columns) == []


def test_a_child_that_can_never_be_primary_is_a_warning_not_a_problem(registry_document, tmp_path):
    changed = copy.deepcopy(registry_document)
    segments_of(changed).append({
        "key": "frequent_browsers", "name": "Frequent Browsers", "description": "Visits often, buys nothing.",
        "rule": "sessions_last_7_days >= 3 and orders_last_30_days = 0", "parent": "recently_active",
        "priority": 95, "owner": "web-team", "status": "active", "review_by": "2026-12-31",
        "channels": ["onsite", "email"],
    })
    path = tmp_path / "registry.yml"
    path.write_text(dump(changed))
    result = run_cli("validate", "--registry", str(path))
    assert result.returncode == 0
    assert result.stdout.splitlines() == [
        "warning: segment 'frequent_browsers': can never be a primary segment: every member is also in its "
        "ancestor 'recently_active', whose priority 90 comes first (the lowest number wins over 95)",
        starter_summary(added_active=1),
    ]


def test_an_ancestor_that_needs_consent_the_child_does_not_need_does_not_hide_it(registry_document):
    """A child with an onsite channel holds customers without consent; an email-only parent does not."""
    changed = copy.deepcopy(registry_document)
    segments = segments_of(changed)
    segment(segments, "repeat_buyers")["channels"] = ["email"]
    segment(segments, "repeat_buyers")["priority"] = 5
    assert segment(segments, "loyal_customers")["channels"] == ["email", "onsite"]
    assert segment_registry.registry_warnings(segments) == []
    segment(segments, "loyal_customers")["channels"] = ["email"]
    assert [warning.split(":")[0] for warning in segment_registry.registry_warnings(segments)] == [
        "segment 'loyal_customers'",
    ]


def test_yaml_error_names_line_and_column(tmp_path):
    """A segment pasted at the left margin instead of under `segments:`."""
    path = tmp_path / "registry.yml"
    lines = REGISTRY.read_text().splitlines()
    path.write_text("\n".join([*lines, "- key: frequent_browsers", "  name: Frequent Browsers", ""]))
    result = run_cli("validate", "--registry", str(path))
    assert result.returncode == 1
    assert result.stdout.splitlines() == [
        f"registry: {path} is not valid YAML at line {len(lines) + 1}, column 1: expected <block end>, "
        f"but found '-' (while parsing a block mapping at line {lines.index('version: 2') + 1}, column 1)"
    ]
    assert "Traceback" not in result.stderr


def test_unreadable_file_is_one_line_without_traceback(tmp_path):
    path = tmp_path / "registry.yml"
    path.write_text("models: [\n")
    result = run_cli("validate", "--registry", str(path))
    assert result.returncode == 1
    assert result.stdout.splitlines() == [
        f"registry: {path} is not valid YAML at line 2, column 1: expected the node content, "
        "but found '<stream end>' (while parsing a flow node at line 2, column 1)"
    ]
    assert "Traceback" not in result.stderr


def test_columns_come_from_the_contract():
    columns = segment_registry._columns_from_contract_doc(PROJECT_DIR / "docs" / "customer_profile_contract.md")
    assert columns["average_order_value_usd"] == "decimal(18,2)"
    assert columns["has_open_cart"] == "boolean"
    assert "days_since_last_order" in columns and "days_since_first_order" in columns
    assert segment_rules.column_kind(columns["rfm_recency_score"]) == "number"


# --- The "add a segment" example -----------------------------------------------------------

def test_add_a_segment_example_appended_to_the_registry_is_valid_and_can_be_primary(tmp_path):
    """docs/segments_add_example.yml, pasted as shown at the end of the registry file."""
    path = tmp_path / "registry.yml"
    path.write_text(REGISTRY.read_text() + "\n" + ADD_EXAMPLE.read_text())
    result = run_cli("validate", "--registry", str(path))
    assert result.returncode == 0, result.stdout
    assert result.stdout.splitlines() == [starter_summary(added_active=1)]
    added = segment_registry.load_registry(path)[-1]
    assert added["key"] == "frequent_browsers" and added["status"] == "active"
