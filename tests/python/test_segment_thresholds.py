"""Threshold rewriting for rpt_segment_threshold_sensitivity (scripts/segment_thresholds.py).

Each numeric literal compared with a column is found and varied by each percentage, one
at a time; integer columns round (and move by at least 1); text, booleans, `in` lists and
function arguments are left alone; `between` varies both ends separately. Every variant
is still a rule the registry's own checker accepts. Behavioural conditions: each written
count outside per_key is varied alone, the rest of the tree kept as written.
"""

from __future__ import annotations

import json
import sys
from decimal import Decimal
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(PROJECT_DIR / "scripts"))

import segment_rules  # noqa: E402
import segment_thresholds  # noqa: E402

COLUMNS = {
    "orders_lifetime": "integer",
    "days_since_last_order": "integer",
    "lifetime_revenue_usd": "decimal(18,2)",
    "average_order_value_usd": "decimal(18,2)",
    "country_code": "varchar",
    "has_ordered": "boolean",
    "rfm_cell": "varchar",
}


def rules_by_change(entry: dict) -> dict:
    return {variant["change_pct"]: variant["rule_sql"] for variant in entry["variants"]}


def values_by_change(entry: dict) -> dict:
    return {variant["change_pct"]: variant["varied_value"] for variant in entry["variants"]}


def test_decimal_threshold_is_found_and_varied_exactly():
    [entry] = segment_thresholds.threshold_variants("lifetime_revenue_usd >= 1000", COLUMNS)
    assert entry["threshold_number"] == 1
    assert entry["threshold_value"] == "1000"
    assert entry["is_integer"] is False
    assert entry["compared_sql"] == "lifetime_revenue_usd"
    assert values_by_change(entry) == {-20: "800", -10: "900", 0: "1000", 10: "1100", 20: "1200"}
    assert rules_by_change(entry)[-10] == "lifetime_revenue_usd >= 900"


def test_decimal_literal_keeps_its_fraction():
    [entry] = segment_thresholds.threshold_variants("average_order_value_usd > 12.5", COLUMNS)
    assert values_by_change(entry) == {-20: "10", -10: "11.25", 0: "12.5", 10: "13.75", 20: "15"}


def test_integer_column_rounds_half_away_from_zero():
    [entry] = segment_thresholds.threshold_variants("days_since_last_order <= 45", COLUMNS)
    assert entry["is_integer"] is True
    # 36, 40.5 -> 41, 45, 49.5 -> 50, 54
    assert values_by_change(entry) == {-20: "36", -10: "41", 0: "45", 10: "50", 20: "54"}


def test_small_integer_threshold_moves_by_at_least_one():
    [entry] = segment_thresholds.threshold_variants("orders_lifetime >= 2", COLUMNS)
    assert values_by_change(entry) == {-20: "1", -10: "1", 0: "2", 10: "3", 20: "3"}
    assert rules_by_change(entry)[20] == "orders_lifetime >= 3"


def test_zero_threshold_stays_zero():
    [entry] = segment_thresholds.threshold_variants("orders_lifetime > 0", COLUMNS)
    assert set(values_by_change(entry).values()) == {"0"}


def test_decimal_literal_on_integer_column_is_not_rounded():
    [entry] = segment_thresholds.threshold_variants("orders_lifetime >= 2.5", COLUMNS)
    assert entry["is_integer"] is False
    assert values_by_change(entry)[-10] == "2.25"


def test_division_is_not_integer():
    [entry] = segment_thresholds.threshold_variants("orders_lifetime / days_since_last_order > 3", COLUMNS)
    assert entry["is_integer"] is False
    assert values_by_change(entry)[10] == "3.3"


def test_each_threshold_varies_alone_and_in_written_order():
    rule = "orders_lifetime >= 2 and days_since_last_order > 45 and days_since_last_order <= 90"
    entries = segment_thresholds.threshold_variants(rule, COLUMNS)
    assert [entry["threshold_value"] for entry in entries] == ["2", "45", "90"]
    assert rules_by_change(entries[1])[20] == (
        "orders_lifetime >= 2 AND days_since_last_order > 54 AND days_since_last_order <= 90"
    )
    assert rules_by_change(entries[2])[-20] == (
        "orders_lifetime >= 2 AND days_since_last_order > 45 AND days_since_last_order <= 72"
    )


def test_between_varies_both_ends_separately():
    entries = segment_thresholds.threshold_variants("days_since_last_order between 10 and 20", COLUMNS)
    assert [entry["threshold_value"] for entry in entries] == ["10", "20"]
    assert rules_by_change(entries[0])[20] == "days_since_last_order BETWEEN 12 AND 20"
    assert rules_by_change(entries[1])[20] == "days_since_last_order BETWEEN 10 AND 24"


def test_literal_on_the_left_and_negative_literals():
    [left] = segment_thresholds.threshold_variants("1000 <= lifetime_revenue_usd", COLUMNS)
    assert rules_by_change(left)[-20] == "800 <= lifetime_revenue_usd"
    [negative] = segment_thresholds.threshold_variants("lifetime_revenue_usd > -50", COLUMNS)
    assert negative["threshold_value"] == "-50"
    assert values_by_change(negative)[20] == "-60"
    assert rules_by_change(negative)[20] == "lifetime_revenue_usd > -60"


def test_non_numeric_and_non_threshold_literals_are_untouched():
    rule = (
        "country_code = 'DE' and has_ordered and rfm_cell in ('555', '554') "
        "and orders_lifetime in (1, 2) and coalesce(days_since_last_order, 999) > 30 and 1 = 1"
    )
    entries = segment_thresholds.threshold_variants(rule, COLUMNS)
    assert [entry["threshold_value"] for entry in entries] == ["30"]
    assert entries[0]["compared_sql"] == "COALESCE(days_since_last_order, 999)"
    varied = rules_by_change(entries[0])[-20]
    assert "'DE'" in varied and "999" in varied and "IN (1, 2)" in varied and "> 24" in varied


def test_rule_without_numbers_has_no_thresholds():
    assert segment_thresholds.threshold_variants("has_ordered and country_code = 'FR'", COLUMNS) == []


def test_variants_stay_valid_rules():
    rule = "orders_lifetime >= 2 and days_since_last_order between 46 and 90 and lifetime_revenue_usd > 12.5"
    for entry in segment_thresholds.threshold_variants(rule, COLUMNS):
        for variant in entry["variants"]:
            assert segment_rules.rule_problems(variant["rule_sql"], "rule", COLUMNS) == []


def test_json_entry_point_reads_columns_changes_and_conditions():
    text = segment_thresholds.threshold_variants_json(
        "orders_lifetime >= 4", "", json.dumps({"ORDERS_LIFETIME": "INTEGER"}), json.dumps([-50, 0, 50])
    )
    result = json.loads(text)
    assert result["conditions"] == []
    [entry] = result["rule"]
    assert values_by_change(entry) == {-50: "2", 0: "4", 50: "6"}
    conditions_only = json.loads(segment_thresholds.threshold_variants_json(
        "", json.dumps({"performed": {"event": "order", "count": {"at_least": 4}}}), "{}", ""
    ))
    assert conditions_only["rule"] == []
    assert [entry["threshold_value"] for entry in conditions_only["conditions"]] == ["4"]


LOYAL_ENGAGED = {
    "all": [
        {"performed": {"event": "order", "count": {"at_least": 4}, "within_days": 90}},
        {"per_key": {
            "key": "campaign_id", "require": "every",
            "keys": {"last": 3, "event": "email_send"},
            "condition": {"performed": {"event": "email_open", "count": {"at_least": 2}}},
        }},
        {"not": {"stopped_performing": {
            "event": "email_open", "count": {"exactly": 10}, "active_days": 60, "inactive_days": 21,
        }}},
        {"performed": {"event": "page_view"}},
    ]
}


def test_condition_counts_are_found_outside_per_key_in_written_order():
    entries = segment_thresholds.condition_count_variants(LOYAL_ENGAGED)
    assert [(entry["path"], entry["operator"], entry["threshold_value"]) for entry in entries] == [
        ("conditions.all[0].performed", "at_least", "4"),
        ("conditions.all[2].not.stopped_performing", "exactly", "10"),
    ]


def test_condition_count_variants_move_one_count_and_keep_the_rest():
    first, second = segment_thresholds.condition_count_variants(LOYAL_ENGAGED)
    assert values_by_change(first) == {-20: "3", -10: "3", 0: "4", 10: "5", 20: "5"}
    assert values_by_change(second) == {-20: "8", -10: "9", 0: "10", 10: "11", 20: "12"}
    varied = {variant["change_pct"]: variant["conditions"] for variant in first["variants"]}
    assert varied[20]["all"][0]["performed"] == {"event": "order", "count": {"at_least": 5}, "within_days": 90}
    assert varied[20]["all"][1] == LOYAL_ENGAGED["all"][1]  # per_key and its inner count untouched
    assert varied[20]["all"][2] == LOYAL_ENGAGED["all"][2]
    assert varied[0] == LOYAL_ENGAGED
    assert LOYAL_ENGAGED["all"][0]["performed"]["count"] == {"at_least": 4}  # the input is not changed
    moved = {v["change_pct"]: v["conditions"] for v in second["variants"]}
    assert moved[-20]["all"][2]["not"]["stopped_performing"]["count"] == {"exactly": 8}


def test_count_of_one_moves_to_zero_and_two():
    [entry] = segment_thresholds.condition_count_variants({"performed": {"event": "order", "count": {"at_most": 1}}})
    assert values_by_change(entry) == {-20: "0", -10: "0", 0: "1", 10: "2", 20: "2"}


def test_varied_value_helper():
    assert segment_thresholds.varied_value(Decimal(7), Decimal(-10), True) == Decimal(6)
    assert segment_thresholds.varied_value(Decimal(7), Decimal(10), True) == Decimal(8)
    assert segment_thresholds.varied_value(Decimal("0.5"), Decimal(20), False) == Decimal("0.6")
