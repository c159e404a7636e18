"""Behavioural segment conditions: the validator, its registry checks and its docs.

BAD_CONDITIONS names, for one bad condition of each kind of problem, the exact messages
scripts/segment_conditions.py gives; every example in docs/segments.md ("Behavioural
conditions") must pass, and the catalogue table there must equal the catalogue file. The
registry tests cover what needs every segment (member_of targets, cycles through member_of
and parents, a rule made optional by conditions), and the acceptance cases (unknown event,
unknown property, negative window, a cycle between segments) go through both the command
line and plain `dbt build` in a copy of the project, which must give the same messages.
"""

from __future__ import annotations

import copy
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

PROJECT_DIR = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(PROJECT_DIR / "scripts"))

import segment_conditions  # noqa: E402
import segment_registry  # noqa: E402
from dbt_registry_driver import invalid_registry_messages, run_registry_steps  # noqa: E402

REGISTRY = PROJECT_DIR / "models" / "marts" / "segments" / "_segment_registry.yml"
REGISTRY_IN_PROJECT = Path("models") / "marts" / "segments" / "_segment_registry.yml"
SEGMENTS_DOC = PROJECT_DIR / "docs" / "segments.md"
CLI = PROJECT_DIR / "scripts" / "segment_registry.py"
DBT_INVALID_HEADER = "The segment registry (models/marts/segments/_segment_registry.yml) is invalid:\n"
CATALOGUE = segment_conditions.load_catalogue()
LABEL = "segment 'probe'"
ALL_EVENTS = ", ".join(CATALOGUE.events)
WEB_PROPERTIES = "product_id, product_category, utm_source, utm_medium, utm_campaign, device_type"
ORDER_PROPERTIES = "product_id, product_category, order_value_usd, currency_code, is_guest_checkout"
KINDS = ", ".join(segment_conditions.KINDS)
PERFORMED_FIELDS = "event, count, within_days, between, where"
VIEWS = {"event": "product_view", "within_days": 14}


def performed(**fields: object) -> dict:
    return {"performed": {**VIEWS, **fields}}


def orders_where(*filters: dict) -> dict:
    return {"performed": {"event": "order", "where": list(filters)}}


def nested_nots(levels: int) -> dict:
    node: dict = {"member_of": "vip"}
    for _ in range(levels - 1):
        node = {"not": node}
    return node


BUCKETS_20 = {"any": [{"random_bucket": {"percent": 1}}] * 20}

# (id, conditions, the exact messages for segment 'probe', without the "segment 'probe': " prefix)
BAD_CONDITIONS = [
    ("unknown_event",
     {"all": [performed(), {"stopped_performing": {"event": "email_opne", "active_days": 60, "inactive_days": 30}}]},
     [f"conditions.all[1].stopped_performing: unknown event 'email_opne' (known: {ALL_EVENTS})"]),
    ("event_not_text", {"performed": {"event": 3}}, [f"conditions.performed: unknown event 3 (known: {ALL_EVENTS})"]),
    ("missing_event", {"performed": {"within_days": 3}}, ["conditions.performed: missing required field 'event'"]),
    ("unknown_property", performed(where=[{"property": "colour", "value": "red"}]),
     [f"conditions.performed.where[0]: unknown property 'colour' for event 'product_view' (known: {WEB_PROPERTIES})"]),
    ("property_of_another_family", orders_where({"property": "utm_source", "value": "google"}),
     [f"conditions.performed.where[0]: unknown property 'utm_source' for event 'order' (known: {ORDER_PROPERTIES})"]),
    ("unknown_property_in_last_event_where",
     {"last_performed": {"event": "order", "within_days": 90, "last_event_where": [{"property": "channel", "value": "web"}]}},
     [f"conditions.last_performed.last_event_where[0]: unknown property 'channel' for event 'order' "
      f"(known: {ORDER_PROPERTIES})"]),
    ("negative_window", performed(within_days=-7),
     ["conditions.performed.within_days: must be a whole number of days from 1 to 3650 (got -7)"]),
    ("zero_window", performed(within_days=0),
     ["conditions.performed.within_days: must be a whole number of days from 1 to 3650 (got 0)"]),
    ("window_too_long", performed(within_days=3651),
     ["conditions.performed.within_days: must be a whole number of days from 1 to 3650 (got 3651)"]),
    ("window_not_whole", performed(within_days=7.5),
     ["conditions.performed.within_days: must be a whole number of days from 1 to 3650 (got 7.5)"]),
    ("window_as_text", performed(within_days="14"),
     ["conditions.performed.within_days: must be a whole number of days from 1 to 3650 (got '14')"]),
    ("text_for_number", orders_where({"property": "order_value_usd", "op": ">=", "value": "abc"}),
     ["conditions.performed.where[0]: compares property 'order_value_usd' (number) with the text 'abc'"]),
    ("number_for_text", orders_where({"property": "product_category", "value": 5}),
     ["conditions.performed.where[0]: compares property 'product_category' (text) with the number 5"]),
    ("text_for_boolean", orders_where({"property": "is_guest_checkout", "value": "yes"}),
     ["conditions.performed.where[0]: compares property 'is_guest_checkout' (boolean) with the text 'yes'"]),
    ("boolean_for_number", orders_where({"property": "order_value_usd", "value": True}),
     ["conditions.performed.where[0]: compares property 'order_value_usd' (number) with the boolean true"]),
    ("null_value", orders_where({"property": "currency_code", "value": None}),
     ["conditions.performed.where[0]: compares property 'currency_code' (text) with null"]),
    ("list_item_of_wrong_type", performed(where=[{"property": "utm_source", "op": "in", "values": ["google", 3]}]),
     ["conditions.performed.where[0]: compares property 'utm_source' (text) with the number 3"]),
    ("ordering_a_boolean", orders_where({"property": "is_guest_checkout", "op": ">", "value": True}),
     ["conditions.performed.where[0]: operator '>' does not apply to property 'is_guest_checkout' (boolean)"]),
    ("unknown_operator", orders_where({"property": "currency_code", "op": "like", "value": "E%"}),
     ["conditions.performed.where[0].op: unknown operator 'like' (known: =, !=, >, >=, <, <=, in, not in)"]),
    ("in_with_value", performed(where=[{"property": "utm_source", "op": "in", "value": "google"}]), [
        "conditions.performed.where[0]: operator 'in' takes 'values', not 'value'",
        "conditions.performed.where[0]: missing required field 'values'",
    ]),
    ("equals_with_values", performed(where=[{"property": "utm_source", "values": ["google"]}]), [
        "conditions.performed.where[0]: operator '=' takes 'value', not 'values'",
        "conditions.performed.where[0]: missing required field 'value'",
    ]),
    ("empty_values", performed(where=[{"property": "utm_source", "op": "not in", "values": []}]),
     ["conditions.performed.where[0].values: must be a non-empty list of values, not a list"]),
    ("filter_without_property", performed(where=[{"value": "shoes"}]),
     ["conditions.performed.where[0]: missing required field 'property'"]),
    ("unknown_key_in_filter", performed(where=[{"property": "utm_source", "value": "x", "operator": "="}]),
     ["conditions.performed.where[0]: unknown key 'operator' (allowed for a property filter: property, op, value, values)"]),
    ("where_not_a_list", performed(where={"property": "utm_source", "value": "x"}),
     ["conditions.performed.where: must be a non-empty list of property filters, not a mapping"]),
    ("unknown_key_in_node", {**performed(), "window": 14},
     [f"conditions: unknown key 'window' (condition kinds: {KINDS})"]),
    ("unknown_key_in_performed", performed(window=14),
     [f"conditions.performed: unknown key 'window' (allowed for performed: {PERFORMED_FIELDS})"]),
    ("no_kind", {}, [f"conditions: has no condition kind (one of {KINDS})"]),
    ("two_kinds", {"all": [performed()], "any": [performed()]},
     ["conditions: has 2 condition kinds (all, any); a node has exactly one"]),
    ("node_not_a_mapping", {"all": ["product_view"]},
     [f"conditions.all[0]: must be a mapping with one condition kind ({KINDS}), not the text 'product_view'"]),
    ("empty_all", {"all": []}, ["conditions.all: is empty; give 1 to 20 conditions"]),
    ("empty_any", {"any": []}, ["conditions.any: is empty; give 1 to 20 conditions"]),
    ("any_not_a_list", {"any": performed()}, ["conditions.any: must be a list of 1 to 20 conditions, not a mapping"]),
    ("too_many_items", {"all": [performed()] * 21}, ["conditions.all: has 21 conditions; the limit is 20"]),
    ("count_two_operators", performed(count={"at_least": 1, "at_most": 3}),
     ["conditions.performed.count: needs exactly one of at_least, at_most, exactly (got at_least, at_most)"]),
    ("count_no_operator", performed(count={}),
     ["conditions.performed.count: needs exactly one of at_least, at_most, exactly (got none)"]),
    ("count_negative", performed(count={"exactly": -1}),
     ["conditions.performed.count.exactly: must be a whole number of at least 0 (got -1)"]),
    ("count_not_whole", performed(count={"at_least": 2.5}),
     ["conditions.performed.count.at_least: must be a whole number of at least 0 (got 2.5)"]),
    ("count_unknown_operator", performed(count={"more_than": 2}), [
        "conditions.performed.count: unknown key 'more_than' (allowed for count: at_least, at_most, exactly)",
        "conditions.performed.count: needs exactly one of at_least, at_most, exactly (got none)",
    ]),
    ("count_not_a_mapping", performed(count=3),
     ["conditions.performed.count: must be a mapping of at_least, at_most, exactly, not the number 3"]),
    ("between_reversed", {"performed": {"event": "order", "between": ["2026-03-31", "2026-03-01"]}},
     ["conditions.performed.between: starts after it ends (2026-03-31 is after 2026-03-01)"]),
    ("between_bad_date", {"performed": {"event": "order", "between": ["2026-02-30", "2026-03-31"]}},
     ["conditions.performed.between[0]: is not a date written YYYY-MM-DD (got '2026-02-30')"]),
    ("between_one_date", {"performed": {"event": "order", "between": ["2026-03-01"]}},
     ["conditions.performed.between: must be two dates [from, to] written YYYY-MM-DD (got ['2026-03-01'])"]),
    ("within_days_and_between", performed(between=["2026-03-01", "2026-03-31"]),
     ["conditions.performed: give within_days or between, not both"]),
    ("first_performed_without_window", {"first_performed": {"event": "order"}},
     ["conditions.first_performed: needs a window: within_days or between"]),
    ("last_performed_without_window", {"last_performed": {"event": "order"}},
     ["conditions.last_performed: needs a window: within_days or between"]),
    ("stopped_without_inactive_days", {"stopped_performing": {"event": "email_open", "active_days": 60}},
     ["conditions.stopped_performing: missing required field 'inactive_days'"]),
    ("restarted_bad_earlier_days",
     {"restarted_performing": {"event": "order", "recent_days": 14, "inactive_days": 90, "earlier_days": 0}},
     ["conditions.restarted_performing.earlier_days: must be a whole number of days from 1 to 3650 (got 0)"]),
    ("restarted_takes_no_count",
     {"restarted_performing": {"event": "order", "recent_days": 14, "inactive_days": 90, "count": {"at_least": 2}}},
     ["conditions.restarted_performing: unknown key 'count' (allowed for restarted_performing: event, where, "
      "recent_days, inactive_days, earlier_days)"]),
    ("per_key_key_not_carried",
     {"per_key": {"key": "product_id", "condition": {"all": [
         {"performed": {"event": "add_to_cart"}}, {"not": {"performed": {"event": "email_open"}}}]}}},
     ["conditions.per_key.condition.all[1].not.performed: event 'email_open' does not carry key 'product_id' "
      "(keys of email events: campaign_id)"]),
    ("per_key_unknown_key", {"per_key": {"key": "colour", "condition": {"performed": {"event": "order"}}}},
     ["conditions.per_key.key: unknown key 'colour' (known: product_id, product_category, utm_campaign, campaign_id)"]),
    ("per_key_inner_kind",
     {"per_key": {"key": "product_id", "condition": {"all": [
         {"performed": {"event": "add_to_cart"}}, {"last_performed": {"event": "order", "within_days": 7}}]}}},
     ["conditions.per_key.condition.all[1]: inside per_key only all, any, not, performed are allowed "
      "(got last_performed)"]),
    ("per_key_inside_per_key",
     {"per_key": {"key": "product_id", "condition": {"per_key": {"key": "product_id", "condition": performed()}}}},
     ["conditions.per_key.condition: inside per_key only all, any, not, performed are allowed (got per_key)"]),
    ("per_key_keys_last_zero",
     {"per_key": {"key": "campaign_id", "keys": {"last": 0, "event": "email_send"},
                  "condition": {"performed": {"event": "email_open"}}}},
     ["conditions.per_key.keys.last: must be a whole number of at least 1 (got 0)"]),
    ("per_key_keys_event_without_key",
     {"per_key": {"key": "campaign_id", "keys": {"last": 3, "event": "order"},
                  "condition": {"performed": {"event": "email_open"}}}},
     ["conditions.per_key.keys: event 'order' does not carry key 'campaign_id' (keys of order events: "
      "product_id, product_category)"]),
    ("per_key_keys_incomplete",
     {"per_key": {"key": "campaign_id", "keys": {"event": "email_send"}, "condition": {"performed": {"event": "email_open"}}}},
     ["conditions.per_key.keys: missing required field 'last'"]),
    ("per_key_require", {"per_key": {"key": "product_id", "require": "all", "condition": performed()}},
     ["conditions.per_key.require: must be one of some, every (got 'all')"]),
    ("per_key_without_condition", {"per_key": {"key": "product_id"}},
     ["conditions.per_key: missing required field 'condition'"]),
    ("member_of_not_a_key", {"member_of": ["vip"]},
     ["conditions.member_of: must be the key of another segment, not a list"]),
    ("random_bucket_zero", {"random_bucket": {"percent": 0}},
     ["conditions.random_bucket.percent: must be a number above 0 and at most 100, with at most two decimals (got 0)"]),
    ("random_bucket_over_100", {"random_bucket": {"percent": 100.5}},
     ["conditions.random_bucket.percent: must be a number above 0 and at most 100, with at most two decimals "
      "(got 100.5)"]),
    ("random_bucket_three_decimals", {"random_bucket": {"percent": 12.345}},
     ["conditions.random_bucket.percent: must be a number above 0 and at most 100, with at most two decimals "
      "(got 12.345)"]),
    ("random_bucket_text", {"random_bucket": {"percent": "10"}},
     ["conditions.random_bucket.percent: must be a number above 0 and at most 100, with at most two decimals "
      "(got '10')"]),
    ("random_bucket_without_percent", {"random_bucket": {}}, ["conditions.random_bucket: missing required field 'percent'"]),
    ("too_deep", nested_nots(7), ["conditions.not.not.not.not.not.not: nests conditions 7 levels deep; the limit is 6"]),
    ("too_many_leaves", {"all": [BUCKETS_20, BUCKETS_20, {"member_of": "vip"}]},
     ["conditions: has 41 leaf conditions; the limit is 40"]),
    ("jinja_in_a_value", performed(where=[{"property": "utm_source", "value": "{{ var('source') }}"}]),
     ["conditions.performed.where[0].value: must not contain Jinja ('{{')"]),
    ("jinja_in_an_event", {"any": [{"performed": {"event": "{% if true %}order{% endif %}"}}]},
     ["conditions.any[0].performed.event: must not contain Jinja ('{%')"]),
]


@pytest.mark.parametrize("conditions, messages", [case[1:] for case in BAD_CONDITIONS],
                         ids=[case[0] for case in BAD_CONDITIONS])
def test_a_bad_condition_gives_exactly_its_messages(conditions, messages):
    assert segment_conditions.condition_problems(conditions, CATALOGUE, LABEL) == [f"{LABEL}: {m}" for m in messages]


@pytest.mark.parametrize("conditions", [
    nested_nots(6),
    {"all": [BUCKETS_20, BUCKETS_20]},
    {"all": [performed()] * 20},
    {"random_bucket": {"percent": 100}},
    {"random_bucket": {"percent": 0.01}},
    {"performed": {"event": "order", "count": {"exactly": 0}, "within_days": 3650}},
    {"performed": {"event": "order", "between": ["2026-03-01", "2026-03-01"]}},
    orders_where({"property": "order_value_usd", "op": "<", "value": 99.5},
                 {"property": "is_guest_checkout", "op": "!=", "value": False}),
], ids=["depth_6", "leaves_40", "items_20", "percent_100", "percent_0_01", "exactly_0", "one_day_between",
        "number_and_boolean"])
def test_conditions_at_the_limits_pass(conditions):
    assert segment_conditions.condition_problems(conditions, CATALOGUE, LABEL) == []


# --- The docs: examples, catalogue table ----------------------------------------------------

def conditions_section() -> str:
    text = SEGMENTS_DOC.read_text()
    return text.split("## Behavioural conditions\n", 1)[1].split("\n## ", 1)[0]


def doc_yaml_blocks() -> list[str]:
    return re.findall(r"```yaml\n(.*?)```", conditions_section(), flags=re.DOTALL)


def doc_condition_examples() -> list[object]:
    return [yaml.safe_load(block)["conditions"] for block in doc_yaml_blocks() if block.startswith("conditions:")]


def kinds_in(node: object) -> set[str]:
    if isinstance(node, dict):
        return set(node) & set(segment_conditions.KINDS) | {kind for value in node.values() for kind in kinds_in(value)}
    if isinstance(node, list):
        return {kind for item in node for kind in kinds_in(item)}
    return set()


def test_the_docs_show_an_example_of_every_condition_kind_and_each_is_valid():
    examples = doc_condition_examples()
    assert kinds_in(examples) == set(segment_conditions.KINDS)
    for example in examples:
        assert segment_conditions.condition_problems(example, CATALOGUE, LABEL) == [], example


def new_segment(key: str, priority: int, **fields: object) -> dict:
    return {"key": key, "name": key.replace("_", " ").title(), "description": f"Probe segment {key}.",
            "priority": priority, "owner": "crm-team", "status": "active", "review_by": "2026-12-31",
            "channels": ["email"], **fields}


def registry_with(*segments: dict, change: object = None) -> str:
    document = yaml.safe_load(REGISTRY.read_text())
    registry = next(macro for macro in document["macros"] if macro["name"] == "segment_registry")["meta"]["segments"]
    registry.extend(copy.deepcopy(segments))
    if callable(change):
        change(registry)
    return yaml.safe_dump(document, sort_keys=False, width=10_000)


def validate_text(tmp_path: Path, text: str) -> dict:
    path = tmp_path / "registry.yml"
    path.write_text(text)
    return segment_registry.validate(path)[0]


def test_the_docs_examples_as_segments_make_a_valid_registry(tmp_path):
    """The segment shown first, pasted at the end of the registry, and every example as a segment."""
    full_segment = next(block for block in doc_yaml_blocks() if block.lstrip().startswith("- key:"))
    examples = [new_segment(f"example_{index}", 300 + index, conditions=conditions)
                for index, conditions in enumerate(doc_condition_examples())]
    assert validate_text(tmp_path, registry_with(*examples)) == {"problems": [], "warnings": []}
    assert validate_text(tmp_path, REGISTRY.read_text() + "\n" + full_segment) == {"problems": [], "warnings": []}
    assert segment_registry.load_registry(tmp_path / "registry.yml")[-1]["key"] == "shoe_browsers"


def test_the_docs_catalogue_table_is_the_catalogue_file():
    section = conditions_section()
    table = section.split("<!-- catalogue-table:start -->\n", 1)[1].split("\n<!-- catalogue-table:end -->", 1)[0]
    assert table == segment_conditions.catalogue_table(CATALOGUE)
    printed = subprocess.run([sys.executable, str(PROJECT_DIR / "scripts" / "segment_conditions.py"), "catalogue-table"],
                             capture_output=True, text=True, check=True)
    assert printed.stdout.rstrip("\n") == table


def test_a_broken_catalogue_is_one_readable_line(tmp_path):
    path = tmp_path / "catalogue.yml"
    path.write_text("macros: [{name: segment_event_catalogue, meta: {families: {web: {events: [page_view], "
                    "properties: {product_id: varchar}}}}}]\n")
    with pytest.raises(ValueError, match=r"^event catalogue: family 'web' in .* needs properties as name -> one of "
                                         r"text, number, boolean$"):
        segment_conditions.load_catalogue(path)
    with pytest.raises(ValueError, match=r"^event catalogue: file .* not found$"):
        segment_conditions.load_catalogue(tmp_path / "missing.yml")


# --- The registry: rule or conditions, member_of, cycles ---------------------------------

VIEWED_SHOES = performed(where=[{"property": "product_category", "value": "shoes"}])


def problems_of(tmp_path: Path, *segments: dict, change: object = None) -> list[str]:
    return validate_text(tmp_path, registry_with(*segments, change=change))["problems"]


def test_conditions_make_the_rule_optional_but_one_is_needed(tmp_path):
    assert problems_of(tmp_path, new_segment("shoe_viewers", 300, conditions=VIEWED_SHOES)) == []
    assert problems_of(tmp_path, new_segment("shoe_buyers", 300, rule="has_ordered", conditions=VIEWED_SHOES)) == []
    assert problems_of(tmp_path, new_segment("nothing", 300)) == ["segment 'nothing': missing required field 'rule'"]


def test_the_default_segment_has_no_conditions(tmp_path):
    def give_default_conditions(segments: list) -> None:
        next(item for item in segments if item.get("is_default"))["conditions"] = VIEWED_SHOES
    assert problems_of(tmp_path, change=give_default_conditions) == [
        "segment 'new_customer': the default segment has no conditions (it holds customers who match nothing)"]


def test_an_unreadable_catalogue_is_reported_once_and_rules_are_still_checked(tmp_path, monkeypatch):
    def unreadable() -> None:
        raise ValueError("event catalogue: file models/marts/segments/_segment_event_catalogue.yml not found")
    monkeypatch.setattr(segment_registry, "load_catalogue", unreadable)
    assert problems_of(
        tmp_path,
        new_segment("shoe_viewers", 300, conditions=VIEWED_SHOES),
        new_segment("shoe_buyers", 301, rule="has_shoes", conditions=VIEWED_SHOES),
    ) == [
        "event catalogue: file models/marts/segments/_segment_event_catalogue.yml not found",
        "segment 'shoe_buyers': rule references unknown column 'has_shoes'",
    ]


def test_registry_reports_condition_problems_with_the_segment_key(tmp_path):
    assert problems_of(tmp_path, new_segment("shoe_viewers", 300, conditions=performed(within_days=-7))) == [
        "segment 'shoe_viewers': conditions.performed.within_days: must be a whole number of days from 1 to 3650 (got -7)"]


MEMBER_OF_CASES = [
    ("vips", "active", "conditions.any[1].member_of: segment 'vips' does not exist"),
    ("probe", "active", "conditions.any[1].member_of: a segment cannot be a member of itself"),
    ("new_customer", "active",
     "conditions.any[1].member_of: 'new_customer' is the default segment, which holds those who match nothing"),
    ("top_rfm_lookalike_seed", "active", "conditions.any[1].member_of: is active but segment 'top_rfm_lookalike_seed' is draft"),
    ("top_rfm_lookalike_seed", "draft", None),
    ("vip", "active", None),
]


@pytest.mark.parametrize("target, status, message", MEMBER_OF_CASES,
                         ids=["missing", "itself", "default", "inactive", "draft_reads_draft", "vip"])
def test_member_of_targets(tmp_path, target, status, message):
    probe = new_segment("probe", 300, status=status, conditions={"any": [VIEWED_SHOES, {"member_of": target}]})
    assert problems_of(tmp_path, probe) == ([f"segment 'probe': {message}"] if message else [])


def test_member_of_cycle_between_two_segments(tmp_path):
    assert problems_of(
        tmp_path,
        new_segment("vip_openers", 300, conditions={"all": [{"member_of": "vip_sample"}, VIEWED_SHOES]}),
        new_segment("vip_sample", 301, conditions={"all": [{"member_of": "vip_openers"}, {"random_bucket": {"percent": 10}}]}),
    ) == [
        "segment 'vip_openers': member_of forms a cycle (vip_openers -> vip_sample -> vip_openers)",
        "segment 'vip_sample': member_of forms a cycle (vip_sample -> vip_openers -> vip_sample)",
    ]


def test_member_of_cycle_through_a_parent(tmp_path):
    """vip's chain of parents leads to repeat_buyers, which reads vip_shoppers, a child of vip."""
    def repeat_buyers_read_vip_shoppers(segments: list) -> None:
        next(item for item in segments if item["key"] == "repeat_buyers")["conditions"] = {"member_of": "vip_shoppers"}
    problems = problems_of(tmp_path, new_segment("vip_shoppers", 300, parent="vip", conditions=VIEWED_SHOES),
                           change=repeat_buyers_read_vip_shoppers)
    chain = ["vip", "loyal_customers", "repeat_buyers", "vip_shoppers"]
    assert problems == [
        f"segment '{key}': member_of forms a cycle ({' -> '.join(chain[index:] + chain[:index] + [key])})"
        for index, key in enumerate(chain)
    ]


def test_a_cycle_of_parents_alone_keeps_its_own_message(tmp_path):
    def parent_cycle(segments: list) -> None:
        next(item for item in segments if item["key"] == "repeat_buyers")["parent"] = "vip"
    problems = problems_of(tmp_path, new_segment("vip_reader", 300, conditions={"member_of": "vip"}), change=parent_cycle)
    assert problems and all("parents form a cycle" in problem for problem in problems)


def test_member_of_levels_order_the_evaluation(tmp_path):
    segments = segment_registry.parse_registry(registry_with(
        new_segment("vip_readers", 300, conditions={"member_of": "vip"}),
        new_segment("vip_reader_sample", 301, conditions={"all": [{"member_of": "vip_readers"},
                                                                  {"random_bucket": {"percent": 5}}]}),
        new_segment("sample_child", 302, parent="vip_reader_sample", rule="has_ordered"),
    ), REGISTRY)
    levels = segment_registry.member_of_levels(segments)
    assert levels["vip"] == 0 and levels["new_customer"] == 0
    assert (levels["vip_readers"], levels["vip_reader_sample"], levels["sample_child"]) == (1, 2, 2)


def test_warnings_and_checksum_cover_segments_without_rules(tmp_path):
    child = new_segment("loyal_shoe_viewers", 75, parent="loyal_customers", channels=["email", "onsite"],
                        conditions=VIEWED_SHOES)
    segments = segment_registry.parse_registry(registry_with(child), REGISTRY)
    assert segment_registry.registry_warnings(segments) == [
        "segment 'loyal_shoe_viewers': can never be a primary segment: every member is also in its ancestor "
        "'loyal_customers', whose priority 70 comes first (the lowest number wins over 75)"]
    edited = copy.deepcopy(segments)
    edited[-1]["conditions"]["performed"]["within_days"] = 15
    assert segment_registry.registry_checksum(edited) != segment_registry.registry_checksum(segments)


# --- The acceptance cases: command line and plain dbt build, same messages -----------------

ACCEPTANCE = {
    "unknown_event": (
        [new_segment("fading_openers", 300, conditions={"all": [
            {"performed": {"event": "email_send", "within_days": 30}},
            {"stopped_performing": {"event": "email_opne", "active_days": 60, "inactive_days": 30}}]})],
        [f"segment 'fading_openers': conditions.all[1].stopped_performing: unknown event 'email_opne' "
         f"(known: {ALL_EVENTS})"]),
    "unknown_property": (
        [new_segment("red_browsers", 300, conditions=performed(where=[{"property": "colour", "value": "red"}]))],
        [f"segment 'red_browsers': conditions.performed.where[0]: unknown property 'colour' for event 'product_view' "
         f"(known: {WEB_PROPERTIES})"]),
    "negative_window": (
        [new_segment("shoe_viewers", 300, conditions=performed(within_days=-7))],
        ["segment 'shoe_viewers': conditions.performed.within_days: must be a whole number of days from 1 to 3650 "
         "(got -7)"]),
    "segment_cycle": (
        [new_segment("vip_openers", 300, conditions={"all": [{"member_of": "vip_sample"}, VIEWED_SHOES]}),
         new_segment("vip_sample", 301, conditions={"all": [{"member_of": "vip_openers"}, {"random_bucket": {"percent": 10}}]})],
        ["segment 'vip_openers': member_of forms a cycle (vip_openers -> vip_sample -> vip_openers)",
         "segment 'vip_sample': member_of forms a cycle (vip_sample -> vip_openers -> vip_sample)"]),
}
VALID_WITH_CONDITIONS = [
    new_segment(f"example_{index}", 300 + index, conditions=conditions)
    for index, conditions in enumerate(doc_condition_examples())
]


@pytest.mark.parametrize("case", list(ACCEPTANCE))
def test_command_line_rejects_the_bad_condition(tmp_path, case):
    segments, messages = ACCEPTANCE[case]
    path = tmp_path / "registry.yml"
    path.write_text(registry_with(*segments))
    result = subprocess.run([sys.executable, str(CLI), "validate", "--registry", str(path)],
                            capture_output=True, text=True, check=False)
    assert result.returncode == 1
    assert result.stdout.splitlines() == messages
    assert "Traceback" not in result.stdout + result.stderr


@pytest.fixture(scope="module")
def dbt_outcomes(tmp_path_factory) -> dict:
    """Each acceptance case through plain `dbt build`, and a valid registry with every documented
    condition through the registry check dbt runs first."""
    steps = [{"id": "valid_conditions", "registry": registry_with(*VALID_WITH_CONDITIONS),
              "args": ["run-operation", "validate_segment_registry"]}]
    steps += [{"id": case, "registry": registry_with(*segments), "args": ["build"]}
              for case, (segments, _) in ACCEPTANCE.items()]
    return run_registry_steps(tmp_path_factory.mktemp("conditions_dbt"), REGISTRY_IN_PROJECT, steps,
                              ("SEGMENTS_REGISTRY_CHECKSUM",))


def test_dbt_accepts_a_registry_with_every_documented_condition(dbt_outcomes):
    assert dbt_outcomes["valid_conditions"]["success"], dbt_outcomes["valid_conditions"]


@pytest.mark.parametrize("case", list(ACCEPTANCE))
def test_dbt_build_rejects_the_bad_condition_with_the_same_messages(dbt_outcomes, case):
    outcome = dbt_outcomes[case]
    assert not outcome["success"]
    assert invalid_registry_messages(outcome["error"], DBT_INVALID_HEADER) == ACCEPTANCE[case][1]


def test_every_message_the_docs_show_is_one_the_validator_gives():
    """The problem part of each line of the docs' message list (up to a '...') starts a message
    the cases above assert, so the docs cannot drift from the validator."""
    asserted = [message for case in BAD_CONDITIONS for message in case[2]]
    asserted += [case[2] for case in MEMBER_OF_CASES if case[2]]
    asserted += [message for _, messages in ACCEPTANCE.values() for message in messages]
    problems = [problem_of(message) for message in asserted]
    block = conditions_section().split("```text\n", 1)[1].split("```", 1)[0]
    for line in block.splitlines():
        shown = problem_of(line).split("...", 1)[0]
        assert any(problem.startswith(shown) for problem in problems), line


def problem_of(message: str) -> str:
    """A message without its "segment 'key': " prefix and its condition path."""
    return re.sub(r"^(segment '[^']+': )?(conditions[^ ]*: )?", "", message)
