"""Structure and coverage checks over dbt's manifest (dbt-project-evaluator's rules).

Reads ``target/manifest.json`` (run ``dbt parse`` first) and prints one line per
violation, ``<rule> <node>: <why>``. Exceptions live in ``structure_exceptions.yml``,
each with the rule, the node and a reason; an excepted violation is not reported, and an
exception that no longer matches anything is listed so it can be removed.

Rules:
  direct_join_to_source     a model reads a source and another model (seeds are fine)
  multiple_sources          a model reads more than one source
  source_outside_staging    an intermediate or mart model reads a source
  duplicate_staging         a source table read by more than one base_ model or more
                            than one stg_ model (directly or through its base_ model)
  staging_on_staging        a staging model reads another staging model, other than a
                            stg_ model reading a base_ model of its own source
  rejoined_upstream_concept a model reads B and B's parent A, while B feeds only it
  backward_edge             a model reads a model of a later layer (staging -> intermediate
                            -> marts is the only direction)
  mart_reads_staging        a mart reads a staging model (marts read intermediate models)
  mart_reads_mart           a mart reads another mart (allowed only with a listed reason)
  model_too_long            a model with more than 250 lines of SQL (blank lines and comments
                            not counted): usually two models, or a reason in the exceptions
  root_model                a model outside models/staging, models/intermediate, models/marts
  model_naming              a model's prefix does not fit its folder (staging: base_/stg_,
                            intermediate: int_, marts: dim_/fct_/rpt_)
  source_undocumented       a source or source table without a description
  source_freshness_missing  a source table without loaded_at_field and a freshness SLA
  model_undocumented        a model without a description
  column_undocumented       a declared column without a description, or (with --catalog)
                            a column of the built relation not declared in YAML
  primary_key_untested      a model without unique (or unique_across_loads/_builds) + not_null on
                            one column, nor a unique_combination_of_columns test
  mart_contract_missing     a dim_ / fct_ model without an enforced contract
  personal_data_untagged    a model or source column whose name says it holds personal data
                            (PERSONAL_DATA_TERMS below) without `meta: {contains_pii: true}`;
                            declared columns, and with --catalog built ones too. A column
                            tagged `contains_pii: false` has opted out on purpose.
  personal_data_in_analyst_mart
                            a column tagged contains_pii in a marts model outside
                            models/marts/restricted/ (analysts read every other mart)
  personal_data_unredacted  a source column tagged contains_pii that quarantine records do
                            not redact (missing from the meta of the macro
                            personal_source_columns), or listed there but not tagged

Usage::

    python scripts/check_project_structure.py [--manifest target/manifest.json]
        [--exceptions structure_exceptions.yml] [--catalog target/catalog.json]

Exit codes: 0 no violations, 1 violations, 2 unusable manifest or exceptions file.
"""

from __future__ import annotations

import argparse
import fnmatch
import json
import os
import re
import sys
import time
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import yaml

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_EXCEPTIONS = REPO_ROOT / "structure_exceptions.yml"

LAYER_PREFIXES = {
    "staging": ("base_", "stg_"),
    "intermediate": ("int_",),
    "marts": ("dim_", "fct_", "rpt_"),
}
LAYER_ORDER = {layer: position for position, layer in enumerate(LAYER_PREFIXES)}
CONTRACT_PREFIXES = ("dim_", "fct_")
MAX_MODEL_SQL_LINES = 250
JINJA_COMMENT = re.compile(r"\{#.*?#\}", re.DOTALL)
# unique_across_loads is unique for load-grown tables, checking new loads in scheduled builds;
# unique_across_builds is unique for incremental models, checking the rows built since the
# last checked build.
UNIQUE_COLUMN_TESTS = ("unique", "unique_across_loads", "unique_across_builds")
RULES = (
    "direct_join_to_source",
    "multiple_sources",
    "source_outside_staging",
    "duplicate_staging",
    "staging_on_staging",
    "rejoined_upstream_concept",
    "backward_edge",
    "mart_reads_staging",
    "mart_reads_mart",
    "model_too_long",
    "root_model",
    "model_naming",
    "source_undocumented",
    "source_freshness_missing",
    "model_undocumented",
    "column_undocumented",
    "primary_key_untested",
    "mart_contract_missing",
    "personal_data_untagged",
    "personal_data_in_analyst_mart",
    "personal_data_unredacted",
)
# Personal data by column name: a column is personal when its name, less one of
# PERSONAL_DATA_SUFFIXES, is one of PERSONAL_DATA_TERMS or ends with `_<term>`
# (`email`, `recipient_email`, `first_email`, `phone_e164`, `email_sha256`,
# `birth_date_nulled_raw`), unless it is a flag (`is_` / `has_`). Derived columns do not
# end with a term (`has_email_consent`, `email_open_rate_90_days`, `email_domain`,
# `is_birth_date_known`, `email_null_reason`) and are not personal. `identifier_value`
# holds emails and phones among other identifiers.
PERSONAL_DATA_TERMS = (
    "email", "phone", "first_name", "last_name", "full_name", "birth_date", "date_of_birth",
    "street", "address", "postcode", "postal_code", "zip", "zip_code", "ip_address",
    "identifier_value",
)
PERSONAL_DATA_SUFFIXES = ("_nulled_raw", "_raw", "_sha256", "_e164")
NOT_PERSONAL_PREFIXES = ("is_", "has_")
# The one folder whose marts may hold personal data: published to the restricted file that
# activation reads, never to the serving file analysts read (docs/serving.md).
RESTRICTED_MART_FOLDER = "models/marts/restricted/"
# The macro whose meta lists, by `<source>.<table>`, the landed columns quarantine records redact.
REDACTION_MACRO = "personal_source_columns"
# Per-source staging models that list what staging set aside (quarantined rows, nulled
# attributes) beside the one stg_ model of each table; they stage nothing themselves.
STAGING_AUDIT_SUFFIXES = ("__quarantined_rows", "__nulled_attributes")


class CheckError(Exception):
    """The manifest or the exceptions file cannot be used (exit code 2)."""


@dataclass(frozen=True)
class Violation:
    rule: str
    node: str
    message: str

    def line(self) -> str:
        return f"{self.rule} {self.node}: {self.message}"


@dataclass(frozen=True)
class Exception_:
    rule: str
    node: str
    reason: str

    def matches(self, violation: Violation) -> bool:
        return self.rule == violation.rule and fnmatch.fnmatchcase(violation.node, self.node)


# ------------------------------------------------------------------------------ input


def default_manifest() -> Path:
    target = os.environ.get("DBT_TARGET_PATH") or "target"
    return REPO_ROOT / target / "manifest.json"


def load_json(path: Path, what: str) -> dict:
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        raise CheckError(f"{what} {path} not found (run `dbt parse` first)") from None
    except (OSError, json.JSONDecodeError) as exc:
        raise CheckError(f"{what} {path} cannot be read: {exc}") from None


def load_exceptions(path: Path) -> list[Exception_]:
    if not path.exists():
        return []
    try:
        document = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as exc:
        raise CheckError(f"{path}: not valid YAML: {exc}") from None
    exceptions = []
    for position, entry in enumerate(document.get("exceptions") or [], start=1):
        if not isinstance(entry, dict):
            raise CheckError(f"{path}: exception {position} is not a mapping")
        missing = [key for key in ("rule", "node", "reason") if not str(entry.get(key) or "").strip()]
        if missing:
            raise CheckError(f"{path}: exception {position} needs {', '.join(missing)} (every exception gives its reason)")
        if entry["rule"] not in RULES:
            raise CheckError(f"{path}: exception {position} names unknown rule {entry['rule']!r}")
        exceptions.append(Exception_(entry["rule"], str(entry["node"]), str(entry["reason"]).strip()))
    return exceptions


# ------------------------------------------------------------------------------ rules


def name_of(unique_id: str) -> str:
    parts = unique_id.split(".")
    if parts[0] == "source":
        return f"source:{parts[-2]}.{parts[-1]}"
    return parts[-1]


def layer_of(node: dict) -> str | None:
    parts = Path(node["original_file_path"]).parts
    if len(parts) >= 3 and parts[0] == "models" and parts[1] in LAYER_PREFIXES:
        return parts[1]
    return None


def staging_source(model_name: str) -> str | None:
    """`stg_shop__orders` / `base_shop__orders` -> `shop`."""
    for prefix in LAYER_PREFIXES["staging"]:
        if model_name.startswith(prefix) and "__" in model_name:
            return model_name[len(prefix):].split("__", 1)[0]
    return None


def sql_line_count(raw_code: str) -> int:
    """Lines of a model's SQL that are neither blank, nor a -- comment, nor in a {# #} comment."""
    code = JINJA_COMMENT.sub("", raw_code)
    return sum(1 for line in code.splitlines() if line.strip() and not line.strip().startswith("--"))


def layer_edge_rule(layer: str | None, parent_layer: str | None) -> tuple[str, str] | None:
    """The rule a model of `layer` breaks by reading a model of `parent_layer`, if any."""
    if layer not in LAYER_ORDER or parent_layer not in LAYER_ORDER:
        return None
    if LAYER_ORDER[parent_layer] > LAYER_ORDER[layer]:
        return "backward_edge", f"{layer} model reads {parent_layer} model {{parent}}; layers flow staging -> intermediate -> marts"
    if layer == "marts" and parent_layer == "staging":
        return "mart_reads_staging", "mart reads staging model {parent}; put the step in an intermediate model"
    if layer == "marts" and parent_layer == "marts":
        return "mart_reads_mart", "mart reads mart {parent}; read the intermediate model behind it, or list a reason"
    return None


def is_personal_column(column_name: str) -> bool:
    """Whether a column's name says it holds personal data (see PERSONAL_DATA_TERMS)."""
    name = column_name.lower()
    if name.startswith(NOT_PERSONAL_PREFIXES):
        return False
    for suffix in PERSONAL_DATA_SUFFIXES:
        if name.endswith(suffix) and len(name) > len(suffix):
            name = name[: -len(suffix)]
            break
    return any(name == term or name.endswith("_" + term) for term in PERSONAL_DATA_TERMS)


def pii_tag(column: dict) -> bool | None:
    """A declared column's `contains_pii` meta (under config: or directly), None when absent."""
    for meta in ((column.get("config") or {}).get("meta") or {}, column.get("meta") or {}):
        if "contains_pii" in meta:
            return bool(meta["contains_pii"])
    return None


def personal_data_violations(uid: str, node: dict, built_columns: list[str] | None,
                             analyst_mart: bool) -> list[tuple[str, str]]:
    """(rule, message) for the personal-data rules of one model or source table: declared
    columns, and the built ones when the catalog lists them."""
    found = []
    declared = {name.lower(): column for name, column in node.get("columns", {}).items()}
    for name, column in sorted(declared.items()):
        tag = pii_tag(column)
        if tag is None and is_personal_column(name):
            found.append(("personal_data_untagged", f"column {name} holds personal data by its name; tag it `meta: {{contains_pii: true}}`"))
        if tag and analyst_mart:
            found.append(("personal_data_in_analyst_mart", f"column {name} is tagged contains_pii in a mart analysts read; move it to {RESTRICTED_MART_FOLDER}"))
    for name in built_columns or []:
        if name.lower() not in declared and is_personal_column(name):
            found.append(("personal_data_untagged", f"built column {name} holds personal data by its name and is not declared; declare and tag it"))
    return found


def check(manifest: dict, catalog: dict | None) -> list[Violation]:
    project = manifest["metadata"].get("project_name")
    nodes = manifest["nodes"]
    models = {
        uid: node
        for uid, node in nodes.items()
        if node["resource_type"] == "model" and node.get("package_name") == project
    }
    sources = {
        uid: node for uid, node in manifest.get("sources", {}).items() if node.get("package_name") == project
    }
    tests = [node for node in nodes.values() if node["resource_type"] == "test"]
    children: dict[str, set[str]] = defaultdict(set)
    for uid, node in nodes.items():
        for parent in node.get("depends_on", {}).get("nodes", []):
            if node["resource_type"] in ("model", "snapshot", "exposure"):
                children[parent].add(uid)

    violations: list[Violation] = []
    add = lambda rule, uid, message: violations.append(Violation(rule, name_of(uid), message))  # noqa: E731

    source_readers: dict[str, list[str]] = defaultdict(list)
    for uid, model in sorted(models.items()):
        name = model["name"]
        parents = model.get("depends_on", {}).get("nodes", [])
        parent_sources = sorted(p for p in parents if p.startswith("source."))
        parent_models = sorted(p for p in parents if p.startswith("model."))
        layer = layer_of(model)
        for parent in parent_sources:
            source_readers[parent].append(uid)

        if parent_sources and parent_models:
            add("direct_join_to_source", uid, f"reads {', '.join(map(name_of, parent_sources))} beside models {', '.join(map(name_of, parent_models))}; read the source through its staging model")
        if len(parent_sources) > 1:
            add("multiple_sources", uid, f"reads {len(parent_sources)} sources ({', '.join(map(name_of, parent_sources))}); one source per staging model")
        if parent_sources and layer in ("intermediate", "marts"):
            add("source_outside_staging", uid, f"{layer} model reads {', '.join(map(name_of, parent_sources))}; read its staging model instead")

        if layer is None:
            add("root_model", uid, f"{model['original_file_path']} is outside models/staging, models/intermediate and models/marts")
        elif not name.startswith(LAYER_PREFIXES[layer]):
            add("model_naming", uid, f"{layer} models are named {' / '.join(p + '*' for p in LAYER_PREFIXES[layer])}")

        if layer == "staging":
            own_source = staging_source(name)
            for parent in parent_models:
                parent_node = models.get(parent)
                if parent_node is None or layer_of(parent_node) != "staging":
                    continue
                parent_name = parent_node["name"]
                allowed = (
                    name.startswith("stg_")
                    and parent_name.startswith("base_")
                    and staging_source(parent_name) == own_source
                )
                if not allowed:
                    add("staging_on_staging", uid, f"reads staging model {parent_name}; staging models read their source (stg_ may read its own source's base_ models)")

        for parent in parent_models:
            parent_node = models.get(parent)
            if parent_node is None:
                continue
            layer_edge_violation = layer_edge_rule(layer, layer_of(parent_node))
            if layer_edge_violation:
                rule, message = layer_edge_violation
                add(rule, uid, message.format(parent=parent_node["name"]))
            shared = set(parent_node.get("depends_on", {}).get("nodes", [])) & set(parent_models)
            if shared and children.get(parent, set()) == {uid}:
                add("rejoined_upstream_concept", uid, f"reads {parent_node['name']} and its parent(s) {', '.join(sorted(map(name_of, shared)))}, while {parent_node['name']} feeds only this model")

        line_count = sql_line_count(model.get("raw_code") or "")
        if line_count > MAX_MODEL_SQL_LINES:
            add("model_too_long", uid, f"{line_count} lines of SQL (more than {MAX_MODEL_SQL_LINES}); split it or list the reason")

        if not (model.get("description") or "").strip():
            add("model_undocumented", uid, "model has no description")
        for column_name, column in model.get("columns", {}).items():
            if not (column.get("description") or "").strip():
                add("column_undocumented", uid, f"column {column_name} has no description")
        if catalog is not None and uid in catalog.get("nodes", {}):
            declared = {column.lower() for column in model.get("columns", {})}
            for column_name in catalog["nodes"][uid].get("columns", {}):
                if column_name.lower() not in declared:
                    add("column_undocumented", uid, f"column {column_name} is built but not declared in YAML")

        analyst_mart = layer == "marts" and not model["original_file_path"].startswith(RESTRICTED_MART_FOLDER)
        built = list(catalog["nodes"][uid].get("columns", {})) if catalog is not None and uid in catalog.get("nodes", {}) else None
        for rule, message in personal_data_violations(uid, model, built, analyst_mart):
            add(rule, uid, message)

        if name.startswith(CONTRACT_PREFIXES) and layer == "marts":
            if not model.get("config", {}).get("contract", {}).get("enforced"):
                add("mart_contract_missing", uid, "marts read by others need `contract: {enforced: true}`")

    # One base_ and one stg_ model per source table.
    for source_uid, readers in sorted(source_readers.items()):
        reader_names = [models[uid]["name"] for uid in readers]
        base_models = [n for n in reader_names if n.startswith("base_")]
        staging_models = [n for n in reader_names if n.startswith("stg_")]
        for base_uid in (uid for uid in readers if models[uid]["name"].startswith("base_")):
            staging_models += [
                models[child]["name"]
                for child in children.get(base_uid, ())
                if child in models
                and models[child]["name"].startswith("stg_")
                and not models[child]["name"].endswith(STAGING_AUDIT_SUFFIXES)
            ]
        if len(base_models) > 1:
            add("duplicate_staging", source_uid, f"read by {len(base_models)} base models ({', '.join(sorted(base_models))}); one base_ model per source table")
        if len(set(staging_models)) > 1:
            add("duplicate_staging", source_uid, f"staged by {len(set(staging_models))} stg models ({', '.join(sorted(set(staging_models)))}); one stg_ model per source table")

    # Sources: documented, with freshness.
    described_sources = set()
    for uid, source in sorted(sources.items()):
        if source["source_name"] not in described_sources:
            described_sources.add(source["source_name"])
            if not (source.get("source_description") or "").strip():
                add("source_undocumented", uid, f"source {source['source_name']} has no description")
        if not (source.get("description") or "").strip():
            add("source_undocumented", uid, "source table has no description")
        freshness = source.get("freshness") or {}
        has_sla = any((freshness.get(key) or {}).get("count") for key in ("warn_after", "error_after"))
        if not source.get("loaded_at_field") or not has_sla:
            add("source_freshness_missing", uid, "needs loaded_at_field and a freshness warn_after/error_after")
        built = list(catalog["sources"][uid].get("columns", {})) if catalog is not None and uid in catalog.get("sources", {}) else None
        for rule, message in personal_data_violations(uid, source, built, analyst_mart=False):
            add(rule, uid, message)

    # Quarantine records redact exactly the source columns tagged contains_pii.
    redaction_macro = manifest.get("macros", {}).get(f"macro.{project}.{REDACTION_MACRO}")
    if redaction_macro is not None:
        redacted = redaction_macro.get("meta") or {}
        for uid, source in sorted(sources.items()):
            table = f"{source['source_name']}.{source['name']}"
            tagged = {name.lower() for name, column in source.get("columns", {}).items() if pii_tag(column)}
            listed = {str(name).lower() for name in redacted.get(table) or []}
            for name in sorted(tagged - listed):
                add("personal_data_unredacted", uid, f"column {name} is tagged contains_pii but quarantine records show it: list it under {table} in the meta of macro {REDACTION_MACRO}")
            for name in sorted(listed - tagged):
                add("personal_data_unredacted", uid, f"column {name} is redacted by {REDACTION_MACRO} but not declared and tagged contains_pii in the source's YAML")

    # Primary keys: unique (or unique_across_loads/_builds) + not_null on one column, or
    # unique_combination_of_columns.
    unique_columns: dict[str, set[str]] = defaultdict(set)
    not_null_columns: dict[str, set[str]] = defaultdict(set)
    combination_tested: set[str] = set()
    for test in tests:
        attached = test.get("attached_node")
        metadata = test.get("test_metadata") or {}
        test_name = metadata.get("name")
        column = (test.get("column_name") or "").lower()
        if not attached:
            continue
        if test_name in UNIQUE_COLUMN_TESTS and column:
            unique_columns[attached].add(column)
        elif test_name == "not_null" and column:
            not_null_columns[attached].add(column)
        elif test_name == "unique_combination_of_columns":
            combination_tested.add(attached)
    for uid in sorted(models):
        if uid in combination_tested or unique_columns[uid] & not_null_columns[uid]:
            continue
        if unique_columns[uid]:
            missing = ", ".join(sorted(unique_columns[uid]))
            add("primary_key_untested", uid, f"unique column(s) {missing} not tested not_null")
        else:
            add("primary_key_untested", uid, "no unique + not_null column test and no unique_combination_of_columns test")

    return violations


# -------------------------------------------------------------------------------- CLI


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--manifest", type=Path, default=None, help="dbt manifest (default $DBT_TARGET_PATH or target, /manifest.json)")
    parser.add_argument("--exceptions", type=Path, default=DEFAULT_EXCEPTIONS, help="exceptions file with a reason per exception")
    parser.add_argument("--catalog", type=Path, default=None, help="catalog.json from `dbt docs generate`: also flags built columns missing from YAML")
    args = parser.parse_args(argv)
    started = time.monotonic()
    try:
        manifest = load_json(args.manifest or default_manifest(), "manifest")
        catalog = load_json(args.catalog, "catalog") if args.catalog else None
        exceptions = load_exceptions(args.exceptions)
        violations = check(manifest, catalog)
    except CheckError as exc:
        print(f"structure check: {exc}", file=sys.stderr)
        return 2
    except KeyError as exc:
        print(f"structure check: the manifest lacks {exc}; regenerate it with `dbt parse`", file=sys.stderr)
        return 2

    reported, excepted = [], []
    used: set[Exception_] = set()
    for violation in violations:
        matching = [exception for exception in exceptions if exception.matches(violation)]
        if matching:
            used.update(matching)
            excepted.append(violation)
        else:
            reported.append(violation)
    for violation in reported:
        print(violation.line())
    for exception in exceptions:
        if exception not in used:
            print(f"note: exception {exception.rule} {exception.node} matches nothing; remove it from {args.exceptions.name}")
    elapsed = time.monotonic() - started
    print(
        f"structure check: {len(reported)} violations, {len(excepted)} excepted "
        f"(see {args.exceptions.name}), {len(manifest['nodes'])} nodes in {elapsed:.2f}s"
    )
    return 1 if reported else 0


if __name__ == "__main__":
    sys.exit(main())
