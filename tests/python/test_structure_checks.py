"""The structure check catches each kind of violation in a small synthetic manifest,
and the exceptions file suppresses exactly what it names, with a reason."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO_ROOT / "scripts"))

import check_project_structure  # noqa: E402

PROJECT = "dynamic_segments"


def model(name: str, path: str, parents=(), description="One row per thing.", columns=None, contract=False) -> dict:
    return {
        "resource_type": "model",
        "package_name": PROJECT,
        "name": name,
        "original_file_path": path,
        "description": description,
        "depends_on": {"nodes": list(parents), "macros": []},
        "columns": {c: {"name": c, "description": d} for c, d in (columns or {"id": "Key."}).items()},
        "config": {"contract": {"enforced": contract}},
    }


def pk_tests(model_name: str, column: str = "id") -> dict:
    uid = f"model.{PROJECT}.{model_name}"
    return {
        f"test.{PROJECT}.{kind}_{model_name}_{column}": {
            "resource_type": "test",
            "package_name": PROJECT,
            "attached_node": uid,
            "column_name": column,
            "test_metadata": {"name": kind, "kwargs": {}},
            "depends_on": {"nodes": [uid]},
        }
        for kind in ("unique", "not_null")
    }


def source(name: str, table: str, freshness=True, description="One row per raw record.") -> dict:
    return {
        "resource_type": "source",
        "package_name": PROJECT,
        "source_name": name,
        "name": table,
        "description": description,
        "source_description": "The shop.",
        "loaded_at_field": "_loaded_at" if freshness else None,
        "freshness": {"warn_after": {"count": 26, "period": "hour"}, "error_after": {"count": None, "period": None}}
        if freshness
        else {"warn_after": {"count": None, "period": None}, "error_after": {"count": None, "period": None}},
    }


def clean_manifest() -> dict:
    base = model("base_shop__orders", "models/staging/shop/base/base_shop__orders.sql", [f"source.{PROJECT}.shop.orders"])
    stg = model("stg_shop__orders", "models/staging/shop/stg_shop__orders.sql", [f"model.{PROJECT}.base_shop__orders"])
    enriched = model(
        "int_orders_enriched", "models/intermediate/orders/int_orders_enriched.sql", [f"model.{PROJECT}.stg_shop__orders"]
    )
    dim = model(
        "dim_orders", "models/marts/shop/dim_orders.sql", [f"model.{PROJECT}.int_orders_enriched"], contract=True
    )
    nodes = {f"model.{PROJECT}.{m['name']}": m for m in (base, stg, enriched, dim)}
    for name in ("base_shop__orders", "stg_shop__orders", "int_orders_enriched", "dim_orders"):
        nodes.update(pk_tests(name))
    return {
        "metadata": {"project_name": PROJECT},
        "nodes": nodes,
        "sources": {f"source.{PROJECT}.shop.orders": source("shop", "orders")},
    }


def run(tmp_path: Path, manifest: dict, exceptions: str | None = None, capsys=None) -> tuple[int, str]:
    manifest_path = tmp_path / "manifest.json"
    manifest_path.write_text(json.dumps(manifest))
    exceptions_path = tmp_path / "structure_exceptions.yml"
    if exceptions is not None:
        exceptions_path.write_text(exceptions)
    code = check_project_structure.main(["--manifest", str(manifest_path), "--exceptions", str(exceptions_path)])
    captured = capsys.readouterr()
    return code, captured.out + captured.err


def test_clean_manifest_passes(tmp_path, capsys):
    code, output = run(tmp_path, clean_manifest(), capsys=capsys)
    assert code == 0, output
    assert "0 violations" in output


def test_mart_reading_a_source_is_caught(tmp_path, capsys):
    manifest = clean_manifest()
    manifest["nodes"][f"model.{PROJECT}.dim_orders"]["depends_on"]["nodes"].append(f"source.{PROJECT}.shop.orders")
    code, output = run(tmp_path, manifest, capsys=capsys)
    assert code == 1
    assert "source_outside_staging dim_orders:" in output
    assert "direct_join_to_source dim_orders:" in output


def test_undocumented_model_and_column_are_caught(tmp_path, capsys):
    manifest = clean_manifest()
    node = manifest["nodes"][f"model.{PROJECT}.stg_shop__orders"]
    node["description"] = ""
    node["columns"]["order_total"] = {"name": "order_total", "description": ""}
    code, output = run(tmp_path, manifest, capsys=capsys)
    assert code == 1
    assert "model_undocumented stg_shop__orders: model has no description" in output
    assert "column_undocumented stg_shop__orders: column order_total has no description" in output


def test_missing_primary_key_test_is_caught(tmp_path, capsys):
    manifest = clean_manifest()
    del manifest["nodes"][f"test.{PROJECT}.not_null_dim_orders_id"]
    code, output = run(tmp_path, manifest, capsys=capsys)
    assert code == 1
    assert "primary_key_untested dim_orders: unique column(s) id not tested not_null" in output


def test_unique_combination_of_columns_counts_as_a_primary_key_test(tmp_path, capsys):
    manifest = clean_manifest()
    for kind in ("unique", "not_null"):
        del manifest["nodes"][f"test.{PROJECT}.{kind}_dim_orders_id"]
    manifest["nodes"][f"test.{PROJECT}.ucoc_dim_orders"] = {
        "resource_type": "test",
        "attached_node": f"model.{PROJECT}.dim_orders",
        "column_name": None,
        "test_metadata": {"name": "unique_combination_of_columns", "kwargs": {"combination_of_columns": ["id", "day"]}},
        "depends_on": {"nodes": [f"model.{PROJECT}.dim_orders"]},
    }
    code, output = run(tmp_path, manifest, capsys=capsys)
    assert code == 0, output


def test_unique_across_loads_counts_as_unique_but_still_needs_not_null(tmp_path, capsys):
    manifest = clean_manifest()
    nodes = manifest["nodes"]
    unique = nodes.pop(f"test.{PROJECT}.unique_dim_orders_id")
    unique["test_metadata"] = {"name": "unique_across_loads", "kwargs": {"loaded_at_column": "loaded_at"}}
    nodes[f"test.{PROJECT}.unique_across_loads_dim_orders_id"] = unique
    code, output = run(tmp_path, manifest, capsys=capsys)
    assert code == 0, output
    del nodes[f"test.{PROJECT}.not_null_dim_orders_id"]
    code, output = run(tmp_path, manifest, capsys=capsys)
    assert code == 1
    assert "primary_key_untested dim_orders: unique column(s) id not tested not_null" in output


def test_staging_layout_rules(tmp_path, capsys):
    manifest = clean_manifest()
    nodes = manifest["nodes"]
    # A second stg_ model on the same source table, a stg_ reading another source's base model,
    # a root model, a mislabelled intermediate model and a mart without a contract.
    nodes[f"model.{PROJECT}.stg_shop__orders_again"] = model(
        "stg_shop__orders_again", "models/staging/shop/stg_shop__orders_again.sql", [f"model.{PROJECT}.base_shop__orders"]
    )
    nodes[f"model.{PROJECT}.stg_crm__orders"] = model(
        "stg_crm__orders", "models/staging/crm/stg_crm__orders.sql", [f"model.{PROJECT}.base_shop__orders"]
    )
    nodes[f"model.{PROJECT}.orders_report"] = model("orders_report", "models/orders_report.sql", [f"model.{PROJECT}.dim_orders"])
    nodes[f"model.{PROJECT}.customers_joined"] = model(
        "customers_joined", "models/intermediate/customers/customers_joined.sql", [f"model.{PROJECT}.stg_shop__orders"]
    )
    nodes[f"model.{PROJECT}.dim_orders"]["config"]["contract"]["enforced"] = False
    for name in ("stg_shop__orders_again", "stg_crm__orders", "orders_report", "customers_joined"):
        nodes.update(pk_tests(name))
    code, output = run(tmp_path, manifest, capsys=capsys)
    assert code == 1
    assert "duplicate_staging source:shop.orders: staged by 3 stg models" in output
    assert "staging_on_staging stg_crm__orders: reads staging model base_shop__orders" in output
    assert "root_model orders_report:" in output
    assert "model_naming customers_joined: intermediate models are named int_*" in output
    assert "mart_contract_missing dim_orders:" in output


def test_source_without_freshness_or_description_is_caught(tmp_path, capsys):
    manifest = clean_manifest()
    manifest["sources"][f"source.{PROJECT}.shop.orders"] = source("shop", "orders", freshness=False, description="")
    code, output = run(tmp_path, manifest, capsys=capsys)
    assert code == 1
    assert "source_freshness_missing source:shop.orders" in output
    assert "source_undocumented source:shop.orders: source table has no description" in output


def test_rejoined_upstream_concept_is_caught(tmp_path, capsys):
    manifest = clean_manifest()
    nodes = manifest["nodes"]
    nodes[f"model.{PROJECT}.int_orders_summarised"] = model(
        "int_orders_summarised", "models/intermediate/orders/int_orders_summarised.sql", [f"model.{PROJECT}.int_orders_enriched"]
    )
    nodes[f"model.{PROJECT}.dim_orders"]["depends_on"]["nodes"] = [
        f"model.{PROJECT}.int_orders_enriched",
        f"model.{PROJECT}.int_orders_summarised",
    ]
    nodes.update(pk_tests("int_orders_summarised"))
    code, output = run(tmp_path, manifest, capsys=capsys)
    assert code == 1
    assert "rejoined_upstream_concept dim_orders: reads int_orders_summarised and its parent(s) int_orders_enriched" in output


def add_mart(manifest: dict, name: str, parents: list[str]) -> None:
    manifest["nodes"][f"model.{PROJECT}.{name}"] = model(
        name, f"models/marts/shop/{name}.sql", [f"model.{PROJECT}.{parent}" for parent in parents], contract=name.startswith("fct_")
    )
    manifest["nodes"].update(pk_tests(name))


@pytest.mark.parametrize(
    ("reader", "parent", "expected"),
    [
        # mart -> intermediate -> mart
        ("int_orders_enriched", "dim_orders", "backward_edge int_orders_enriched: intermediate model reads marts model dim_orders"),
        ("stg_shop__orders", "int_orders_enriched", "backward_edge stg_shop__orders: staging model reads intermediate model int_orders_enriched"),
        ("int_orders_enriched", "base_shop__orders", None),
    ],
)
def test_planted_backward_edge_is_caught(tmp_path, capsys, reader, parent, expected):
    manifest = clean_manifest()
    manifest["nodes"][f"model.{PROJECT}.{reader}"]["depends_on"]["nodes"].append(f"model.{PROJECT}.{parent}")
    code, output = run(tmp_path, manifest, capsys=capsys)
    if expected is None:
        assert "backward_edge" not in output
    else:
        assert code == 1
        assert expected in output


def test_mart_reading_staging_is_caught(tmp_path, capsys):
    manifest = clean_manifest()
    add_mart(manifest, "fct_order_lines", ["stg_shop__orders"])
    code, output = run(tmp_path, manifest, capsys=capsys)
    assert code == 1
    assert "mart_reads_staging fct_order_lines: mart reads staging model stg_shop__orders" in output


def test_mart_reading_mart_needs_a_listed_reason(tmp_path, capsys):
    manifest = clean_manifest()
    add_mart(manifest, "rpt_order_sizes", ["dim_orders"])
    code, output = run(tmp_path, manifest, capsys=capsys)
    assert code == 1
    assert "mart_reads_mart rpt_order_sizes: mart reads mart dim_orders" in output
    exceptions = "exceptions:\n  - rule: mart_reads_mart\n    node: rpt_order_sizes\n    reason: the report restates the catalog\n"
    code, output = run(tmp_path, manifest, exceptions=exceptions, capsys=capsys)
    assert code == 0, output


def test_exception_with_reason_suppresses_only_its_violation(tmp_path, capsys):
    manifest = clean_manifest()
    manifest["nodes"][f"model.{PROJECT}.dim_orders"]["depends_on"]["nodes"].append(f"source.{PROJECT}.shop.orders")
    exceptions = """
exceptions:
  - rule: source_outside_staging
    node: dim_orders
    reason: The shop hands us a curated order feed that needs no staging.
"""
    code, output = run(tmp_path, manifest, exceptions, capsys=capsys)
    assert code == 1  # direct_join_to_source is not excepted
    assert "source_outside_staging dim_orders" not in output
    assert "direct_join_to_source dim_orders" in output
    assert "1 excepted" in output


def test_exception_without_reason_is_rejected(tmp_path, capsys):
    exceptions = """
exceptions:
  - rule: root_model
    node: orders_report
"""
    code, output = run(tmp_path, clean_manifest(), exceptions, capsys=capsys)
    assert code == 2
    assert "needs reason" in output


def test_stale_exception_is_listed(tmp_path, capsys):
    exceptions = """
exceptions:
  - rule: root_model
    node: orders_report
    reason: Kept at the root while the reports folder is designed.
"""
    code, output = run(tmp_path, clean_manifest(), exceptions, capsys=capsys)
    assert code == 0
    assert "exception root_model orders_report matches nothing" in output


@pytest.mark.parametrize("missing", ["manifest.json"])
def test_missing_manifest_is_exit_2(tmp_path, capsys, missing):
    code = check_project_structure.main(["--manifest", str(tmp_path / missing)])
    output = capsys.readouterr().err
    assert code == 2
    assert "run `dbt parse` first" in output


def test_long_model_is_caught_counting_only_sql_lines(tmp_path, capsys):
    manifest = clean_manifest()
    node = manifest["nodes"][f"model.{PROJECT}.int_orders_enriched"]
    comments = "{#- a long doc comment\n" + "explained\n" * 300 + "-#}\n" + "-- a comment\n\n" * 100
    node["raw_code"] = comments + "select 1 as id\n" * 250
    code, output = run(tmp_path, manifest, capsys=capsys)
    assert code == 0, output
    node["raw_code"] += "union all select 2 as id\n"
    code, output = run(tmp_path, manifest, capsys=capsys)
    assert code == 1
    assert "model_too_long int_orders_enriched: 251 lines of SQL (more than 250)" in output


# ------------------------------------------------------------------ personal data


def set_column(manifest: dict, uid: str, column: str, contains_pii: bool | None = None) -> None:
    """Declare `column` on a node (model or source), tagged contains_pii when given."""
    node = manifest["nodes"].get(uid) or manifest["sources"][uid]
    properties = {"name": column, "description": "A column.", "meta": {}, "config": {"meta": {}}}
    if contains_pii is not None:
        properties["config"]["meta"]["contains_pii"] = contains_pii
    node.setdefault("columns", {})[column] = properties


def run_with_catalog(tmp_path: Path, manifest: dict, catalog: dict, capsys) -> tuple[int, str]:
    (tmp_path / "manifest.json").write_text(json.dumps(manifest))
    (tmp_path / "catalog.json").write_text(json.dumps(catalog))
    code = check_project_structure.main([
        "--manifest", str(tmp_path / "manifest.json"), "--catalog", str(tmp_path / "catalog.json"),
        "--exceptions", str(tmp_path / "none.yml")])
    captured = capsys.readouterr()
    return code, captured.out + captured.err


DIM_ORDERS = f"model.{PROJECT}.dim_orders"


def test_planted_untagged_email_in_a_mart_fails(tmp_path, capsys):
    manifest = clean_manifest()
    set_column(manifest, DIM_ORDERS, "email")
    code, output = run(tmp_path, manifest, capsys=capsys)
    assert code == 1
    assert "personal_data_untagged dim_orders: column email holds personal data by its name" in output


def test_planted_tagged_email_in_an_analyst_mart_fails_and_passes_in_the_restricted_folder(tmp_path, capsys):
    manifest = clean_manifest()
    set_column(manifest, DIM_ORDERS, "email", contains_pii=True)
    code, output = run(tmp_path, manifest, capsys=capsys)
    assert code == 1
    assert "personal_data_in_analyst_mart dim_orders: column email is tagged contains_pii" in output
    assert "personal_data_untagged" not in output
    manifest["nodes"][DIM_ORDERS]["original_file_path"] = "models/marts/restricted/dim_orders.sql"
    code, output = run(tmp_path, manifest, capsys=capsys)
    assert code == 0, output
    # a tag under `meta:` directly (the older place) counts as well
    node = manifest["nodes"][DIM_ORDERS]
    node["original_file_path"] = "models/marts/shop/dim_orders.sql"
    node["columns"]["email"].update({"config": {"meta": {}}, "meta": {"contains_pii": True}})
    code, output = run(tmp_path, manifest, capsys=capsys)
    assert "personal_data_in_analyst_mart dim_orders: column email" in output


@pytest.mark.parametrize(
    ("column", "personal"),
    [
        ("email", True), ("recipient_email", True), ("first_email", True), ("email_sha256", True),
        ("phone_e164", True), ("phone_sha256", True), ("birth_date_nulled_raw", True), ("last_name_raw", True),
        ("date_of_birth", True), ("street_address", True), ("postcode", True), ("ip_address", True),
        ("linked_identifier_value", True),
        ("has_email_consent", False), ("email_open_rate_90_days", False), ("email_domain", False),
        ("is_birth_date_known", False), ("email_null_reason", False), ("emails_sent_last_30_days", False),
        ("has_email", False), ("email_campaign_id", False), ("customer_id", False), ("country_code", False),
    ],
)
def test_personal_column_names(column, personal):
    assert check_project_structure.is_personal_column(column) is personal


def test_intermediate_personal_column_needs_a_tag_and_may_opt_out(tmp_path, capsys):
    manifest = clean_manifest()
    uid = f"model.{PROJECT}.int_orders_enriched"
    set_column(manifest, uid, "phone")
    code, output = run(tmp_path, manifest, capsys=capsys)
    assert "personal_data_untagged int_orders_enriched: column phone" in output
    set_column(manifest, uid, "phone", contains_pii=True)  # tagged: fine outside the marts
    code, output = run(tmp_path, manifest, capsys=capsys)
    assert code == 0, output
    set_column(manifest, uid, "phone", contains_pii=False)  # an explicit opt-out (a redacted value)
    code, output = run(tmp_path, manifest, capsys=capsys)
    assert code == 0, output


def test_built_but_undeclared_personal_column_is_caught_with_a_catalog(tmp_path, capsys):
    manifest = clean_manifest()
    catalog = {"nodes": {DIM_ORDERS: {"columns": {"id": {}, "EMAIL": {}}}}, "sources": {}}
    code, output = run_with_catalog(tmp_path, manifest, catalog, capsys)
    assert code == 1
    assert "personal_data_untagged dim_orders: built column EMAIL holds personal data by its name and is not declared" in output


def test_source_personal_columns_are_tagged_and_redacted_alike(tmp_path, capsys):
    manifest = clean_manifest()
    source_uid = f"source.{PROJECT}.shop.orders"
    set_column(manifest, source_uid, "email")
    code, output = run(tmp_path, manifest, capsys=capsys)
    assert "personal_data_untagged source:shop.orders: column email" in output
    set_column(manifest, source_uid, "email", contains_pii=True)
    manifest["macros"] = {f"macro.{PROJECT}.personal_source_columns": {"meta": {"crm.contacts": ["email"]}}}
    code, output = run(tmp_path, manifest, capsys=capsys)
    assert code == 1
    assert "personal_data_unredacted source:shop.orders: column email is tagged contains_pii but quarantine records show it" in output
    manifest["macros"][f"macro.{PROJECT}.personal_source_columns"]["meta"]["shop.orders"] = ["email", "phone"]
    code, output = run(tmp_path, manifest, capsys=capsys)
    assert "personal_data_unredacted source:shop.orders: column phone is redacted by personal_source_columns but not declared" in output
    manifest["macros"][f"macro.{PROJECT}.personal_source_columns"]["meta"]["shop.orders"] = ["email"]
    code, output = run(tmp_path, manifest, capsys=capsys)
    assert code == 0, output
