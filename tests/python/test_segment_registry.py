"""The segment registry validator: one bad registry per kind of error, exact messages."""

from __future__ import annotations

import copy
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

PROJECT_DIR = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(PROJECT_DIR / "scripts"))

import segment_registry  # noqa: E402

REGISTRY = PROJECT_DIR / "models" / "marts" / "segments" / "_segment_registry.yml"


@pytest.fixture(scope="module")
def registry_document() -> dict:
    return yaml.safe_load(REGISTRY.read_text())


def segments_of(document: dict) -> list:
    for macro in document["macros"]:
        if macro["name"] == "segment_registry":
            return macro["meta"]["segments"]
    raise AssertionError("no segment_registry macro in the registry")


def segment(segments: list, key: str) -> dict:
    return next(item for item in segments if item["key"] == key)


def run_cli(document: dict, tmp_path: Path) -> subprocess.CompletedProcess:
    path = tmp_path / "registry.yml"
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    return subprocess.run(
        [sys.executable, str(PROJECT_DIR / "scripts" / "segment_registry.py"), "validate", "--registry", str(path)],
        capture_output=True, text=True, check=False,
    )


def problems_after(document: dict, tmp_path: Path, change) -> list[str]:
    """Apply `change` to a copy of the starter registry; the CLI's output lines (exit 1)."""
    changed = copy.deepcopy(document)
    change(segments_of(changed))
    result = run_cli(changed, tmp_path)
    assert result.returncode == 1, result.stdout
    assert "Traceback" not in result.stdout + result.stderr
    return result.stdout.splitlines()


def test_starter_registry_is_valid(registry_document, tmp_path):
    result = run_cli(registry_document, tmp_path)
    assert result.returncode == 0, result.stdout
    assert result.stdout.startswith("Segment registry is valid: 13 segments")


def test_default_path_is_the_project_registry():
    result = subprocess.run(
        [sys.executable, str(PROJECT_DIR / "scripts" / "segment_registry.py"), "validate"],
        capture_output=True, text=True, check=False,
    )
    assert result.returncode == 0, result.stdout


def test_unknown_column(registry_document, tmp_path):
    def change(segments):
        segment(segments, "high_value")["rule"] = "average_order_value > 200 and days_since_last_order <= 30"
    assert problems_after(registry_document, tmp_path, change) == [
        "segment 'high_value': rule references unknown column 'average_order_value'",
    ]


def test_duplicate_key(registry_document, tmp_path):
    def change(segments):
        segment(segments, "churned")["key"] = "at_risk"
    assert problems_after(registry_document, tmp_path, change) == [
        "segment 'at_risk': duplicate key (also segment #5)",
    ]


def test_duplicate_priority(registry_document, tmp_path):
    def change(segments):
        segment(segments, "churned")["priority"] = 10
    assert problems_after(registry_document, tmp_path, change) == [
        "segment 'churned': duplicate priority 10 (also segment 'vip')",
    ]


def test_missing_owner(registry_document, tmp_path):
    def change(segments):
        del segment(segments, "cart_abandoners")["owner"]
    assert problems_after(registry_document, tmp_path, change) == [
        "segment 'cart_abandoners': missing required field 'owner'",
    ]


def test_missing_rule(registry_document, tmp_path):
    def change(segments):
        del segment(segments, "cart_abandoners")["rule"]
    assert problems_after(registry_document, tmp_path, change) == [
        "segment 'cart_abandoners': missing required field 'rule'",
    ]


def test_parent_that_does_not_exist(registry_document, tmp_path):
    def change(segments):
        segment(segments, "vip")["parent"] = "loyal"
    assert problems_after(registry_document, tmp_path, change) == [
        "segment 'vip': parent 'loyal' does not exist",
    ]


def test_parent_cycle(registry_document, tmp_path):
    def change(segments):
        segment(segments, "repeat_buyers")["parent"] = "vip"
    assert problems_after(registry_document, tmp_path, change) == [
        "segment 'vip': parents form a cycle (vip -> loyal_customers -> repeat_buyers -> vip)",
        "segment 'loyal_customers': parents form a cycle (loyal_customers -> repeat_buyers -> vip -> loyal_customers)",
        "segment 'repeat_buyers': parents form a cycle (repeat_buyers -> vip -> loyal_customers -> repeat_buyers)",
    ]


def test_active_child_of_archived_parent(registry_document, tmp_path):
    def change(segments):
        segment(segments, "repeat_buyers")["status"] = "archived"
    assert problems_after(registry_document, tmp_path, change) == [
        "segment 'loyal_customers': is active but its parent 'repeat_buyers' is archived",
    ]


def test_bad_status(registry_document, tmp_path):
    def change(segments):
        segment(segments, "churned")["status"] = "live"
    assert problems_after(registry_document, tmp_path, change) == [
        "segment 'churned': status 'live' is not one of active, draft, archived",
    ]


def test_bad_review_date_and_channel(registry_document, tmp_path):
    def change(segments):
        segment(segments, "churned")["review_by"] = "2026-13-01"
        segment(segments, "churned")["channels"] = ["email", "fax"]
    assert problems_after(registry_document, tmp_path, change) == [
        "segment 'churned': review_by '2026-13-01' is not a date written YYYY-MM-DD",
        "segment 'churned': channel 'fax' is not one of email, sms, ads, onsite",
    ]


def test_no_default(registry_document, tmp_path):
    def change(segments):
        default = segment(segments, "new_customer")
        del default["is_default"], default["too_incomplete_when"]
        default["rule"] = "not has_ordered"
    assert problems_after(registry_document, tmp_path, change) == [
        "registry: exactly one segment must have is_default: true (found 0)",
    ]


def test_two_defaults(registry_document, tmp_path):
    def change(segments):
        churned = segment(segments, "churned")
        del churned["rule"]
        churned["is_default"] = True
        churned["too_incomplete_when"] = "profile_completeness < 0.25"
    assert problems_after(registry_document, tmp_path, change) == [
        "registry: exactly one segment must have is_default: true (found 2)",
    ]


@pytest.mark.parametrize(
    ("rule", "message"),
    [
        ("has_ordered; drop table raw.crm_contacts", "rule must not contain a semicolon"),
        ("has_ordered -- everyone who ordered", "rule must not contain a comment"),
        ("has_ordered /* everyone */", "rule must not contain a comment"),
        ("customer_id in (select customer_id from raw.crm_contacts)", "rule must not contain a subquery"),
        ("select customer_id from dim_customers", "rule is not a single boolean expression"),
        ("delete from dim_customers", "rule is not a single boolean expression"),
        ("orders_lifetime + 1", "rule is not a single boolean expression"),
        ("orders_lifetime", "rule is not a single boolean expression"),
        ("orders_lifetime >", "rule is not a single boolean expression"),
        ("read_csv('/etc/passwd') is not null", "rule uses function 'read_csv', which is not allowed"),
    ],
)
def test_rule_must_be_one_allowed_boolean_expression(registry_document, tmp_path, rule, message):
    def change(segments):
        segment(segments, "churned")["rule"] = rule
    assert problems_after(registry_document, tmp_path, change) == [f"segment 'churned': {message}"]


@pytest.mark.parametrize(
    "rule",
    [
        "has_open_cart",
        "(has_ordered or has_visited) and not has_open_cart",
        "coalesce(orders_lifetime, 0) between 2 and 5",
        "lower(country_code) in ('de', 'at') and rfm_cell like '5%'",
        "lifetime_revenue_usd / greatest(orders_lifetime, 1) > 200",
        "rfm_cell = '5;5' and first_name != '--'",
    ],
)
def test_rules_that_are_allowed(registry_document, tmp_path, rule):
    changed = copy.deepcopy(registry_document)
    segment(segments_of(changed), "churned")["rule"] = rule
    result = run_cli(changed, tmp_path)
    assert result.returncode == 0, result.stdout


def test_unreadable_file_is_one_line_without_traceback(tmp_path):
    path = tmp_path / "registry.yml"
    path.write_text("models: [\n")
    result = subprocess.run(
        [sys.executable, str(PROJECT_DIR / "scripts" / "segment_registry.py"), "validate", "--registry", str(path)],
        capture_output=True, text=True, check=False,
    )
    assert result.returncode == 1
    assert len(result.stdout.splitlines()) == 1
    assert result.stdout.startswith(f"registry: {path} is not valid YAML")
    assert "Traceback" not in result.stderr


def test_columns_come_from_the_contract():
    columns = segment_registry._columns_from_contract_doc(PROJECT_DIR / "docs" / "customer_profile_contract.md")
    assert columns["average_order_value_usd"] == "decimal(18,2)"
    assert columns["has_open_cart"] == "boolean"
    assert "days_since_last_order" in columns and "days_since_first_order" in columns
