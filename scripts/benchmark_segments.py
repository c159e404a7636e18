"""The project copy a benchmark run builds when it varies the behavioural segments.

scripts/benchmark.py calls prepare_project() when run with --behavioural-segments N or
--without-behavioural-segments: the project is copied into the run's workdir and the
copy's segment registry (models/marts/segments/_segment_registry.yml) gets

  --behavioural-segments N         the first N of BEHAVIOURAL_SEGMENTS appended, all active
                                   (a fixed list covering every condition kind, every event
                                   family, the filter operators and member_of chains)
  --without-behavioural-segments   every segment with `conditions` set to draft

so the builds and the baseline of that run read the same registry, and the working tree
is left alone. The generated segments go to the onsite channel only, which needs no
consent, so they add evaluation work without hiding the consent rules' effect.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[1]
REGISTRY = Path("models") / "marts" / "segments" / "_segment_registry.yml"
# Not part of the project: built data, logs, caches (the virtualenv is linked, not copied).
COPY_IGNORE = shutil.ignore_patterns(".git", "data", "target", "logs", "dbt_packages", "__pycache__",
                                     ".pytest_cache", ".user.yml", "*.duckdb", "*.duckdb.wal")
CATEGORIES = ("apparel", "footwear", "home", "beauty", "electronics", "outdoor")


def _segment(key: str, description: str, conditions: dict[str, Any]) -> dict[str, Any]:
    return {"key": f"bench_{key}", "name": f"Benchmark {key.replace('_', ' ')}", "description": description,
            "conditions": conditions, "owner": "benchmark", "status": "active", "review_by": "2026-12-31",
            "channels": ["onsite"]}


def _window(event: str, days: int, where: list[dict[str, Any]] | None = None,
            count: dict[str, int] | None = None) -> dict[str, Any]:
    spec: dict[str, Any] = {"event": event, "within_days": days}
    if where:
        spec["where"] = where
    if count:
        spec["count"] = count
    return {"performed": spec}


BEHAVIOURAL_SEGMENTS: list[dict[str, Any]] = [
    *[_segment(f"interest_{category}", f"Viewed {category} products at least twice in 30 days.",
               _window("product_view", 30, [{"property": "product_category", "value": category}], {"at_least": 2}))
      for category in CATEGORIES],
    _segment("lapsed_openers", "Opened marketing email in the 20 days before the last 7, not since.",
             {"stopped_performing": {"event": "email_open", "where": [{"property": "is_marketing", "value": True}],
                                     "active_days": 20, "inactive_days": 7}}),
    _segment("first_order_7d", "First order in the last 7 days.",
             {"first_performed": {"event": "order", "within_days": 7}}),
    _segment("cart_not_ordered", "Added a product to the cart in 14 days and ordered none with it since.",
             {"per_key": {"key": "product_id", "condition": {"all": [
                 _window("add_to_cart", 14), {"not": _window("order", 14)}]}}}),
    _segment("restarted_browsing", "Browsing again after 5 quiet days, having browsed in the 10 before.",
             {"restarted_performing": {"event": "page_view", "recent_days": 3, "inactive_days": 5,
                                       "earlier_days": 10}}),
    _segment("last_order_footwear", "Latest order in 30 days held footwear.",
             {"last_performed": {"event": "order", "within_days": 30,
                                 "last_event_where": [{"property": "product_category", "value": "footwear"}]}}),
    _segment("big_account_orders", "Ordered 100 USD or more with an account in the first 20 days of June.",
             {"performed": {"event": "order", "between": ["2026-06-01", "2026-06-20"], "where": [
                 {"property": "order_value_usd", "op": ">=", "value": 100},
                 {"property": "is_guest_checkout", "value": False}]}}),
    _segment("not_mobile_viewers", "Viewed products on a device other than a phone in 7 days.",
             _window("product_view", 7, [{"property": "device_type", "op": "!=", "value": "mobile"}])),
    _segment("unpaid_visitors", "Three or more page views in 14 days not from search ads.",
             _window("page_view", 14, [{"property": "utm_source", "op": "not in", "values": ["google", "bing"]}],
                     {"at_least": 3})),
    _segment("promo_clicker_once", "Clicked exactly one promo or win-back email in 30 days.",
             _window("email_click", 30, [{"property": "campaign_type", "op": "in", "values": ["promo", "winback"]}],
                     {"exactly": 1})),
    _segment("footwear_carts", "Footwear-interested visitors with an add to cart in 14 days.",
             {"all": [{"member_of": "bench_interest_footwear"}, _window("add_to_cart", 14)]}),
    _segment("chain_second_level", "Footwear carts or a first order in 7 days.",
             {"any": [{"member_of": "bench_footwear_carts"}, {"member_of": "bench_first_order_7d"}]}),
    _segment("opened_last_two", "Opened or clicked each of the last 2 campaigns delivered.",
             {"per_key": {"key": "campaign_id", "require": "every",
                          "keys": {"last": 2, "event": "email_delivery"},
                          "condition": {"any": [{"performed": {"event": "email_open"}},
                                                {"performed": {"event": "email_click"}}]}}}),
    _segment("browsed_not_bought_category", "Viewed a category 3+ times in 30 days without ordering from it.",
             {"per_key": {"key": "product_category", "condition": {"all": [
                 _window("product_view", 30, count={"at_least": 3}),
                 _window("order", 30, count={"at_most": 0})]}}}),
    _segment("visitor_sample", "A quarter of the visitors of the last 30 days.",
             {"all": [_window("page_view", 30), {"random_bucket": {"percent": 25}}]}),
]


def generated_segments(count: int) -> list[dict[str, Any]]:
    """The first `count` generated segments, with priorities after the registry's."""
    if not 0 <= count <= len(BEHAVIOURAL_SEGMENTS):
        raise SystemExit(f"[benchmark] --behavioural-segments must be 0..{len(BEHAVIOURAL_SEGMENTS)}, got {count}")
    return [{**segment, "priority": 500 + index} for index, segment in enumerate(BEHAVIOURAL_SEGMENTS[:count])]


def registry_variant(document: dict[str, Any], behavioural_segments: int, without_behavioural: bool) -> dict[str, Any]:
    """The registry document with the generated segments added, or its behavioural ones drafted."""
    segments = document["macros"][0]["meta"]["segments"]
    if without_behavioural:
        for segment in segments:
            if segment.get("conditions") is not None:
                segment["status"] = "draft"
    default_at = next(index for index, segment in enumerate(segments) if segment.get("is_default") is True)
    segments[default_at:default_at] = generated_segments(behavioural_segments)
    return document


def prepare_project(workdir: Path, behavioural_segments: int, without_behavioural: bool) -> tuple[Path, str]:
    """The project root a run builds, and a note saying which registry it reads: the
    working tree itself, or a copy in `workdir` with the registry changed as asked."""
    if not behavioural_segments and not without_behavioural:
        return REPO, "the project's registry"
    if behavioural_segments and without_behavioural:
        raise SystemExit("[benchmark] --behavioural-segments and --without-behavioural-segments exclude each other")
    root = workdir / "project"
    shutil.copytree(REPO, root, ignore=COPY_IGNORE, symlinks=True)
    registry = root / REGISTRY
    document = registry_variant(yaml.safe_load(registry.read_text()), behavioural_segments, without_behavioural)
    registry.write_text("# Generated by scripts/benchmark.py for one benchmark run.\n"
                        + yaml.safe_dump(document, sort_keys=False, allow_unicode=True))
    if without_behavioural:
        return root, "a copy of the project's registry with every segment that has conditions set to draft"
    return root, f"a copy of the project's registry with {behavioural_segments} generated behavioural segments added"
