"""Table-driven step tests of segment conditions, all cases in one warehouse.

The cases live in tests/python/segment_condition_steps.yml: each has its own segments,
its own people and a list of steps (land events, build as of a date, expect members,
edit a definition). This module copies the project, adds every case's segments to the
copy's registry (keys prefixed with the case name, unique priorities, channel onsite so
consent does not gate membership), and runs the steps of all cases together in one
warehouse: the landing rows of every case due before a build are written as landing JSONL
files and loaded with scripts/load_sources.py, and each distinct build (as_of date, and
how many builds the case already had on it) is one `dbt build` of the membership models
shared by all cases. After every build each case's people are looked up as customers
(intermediate.int_identifiers_resolved_to_customers) and checked against the case's
expectations and against the build's membership events (entered and exited exactly for
the people whose membership changed; reason rule_changed exactly when the segment was
edited since the previous build).

Run with `.venv/bin/python -m pytest tests/python/test_segment_condition_steps.py -q`;
one test per case, each naming its step, segment and the expected and actual members
when it fails; `-k` picks cases (only those run).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import subprocess
import sys
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import pytest
import yaml

from dbt_registry_driver import copy_project

PROJECT_DIR = Path(__file__).resolve().parents[2]
CASES_FILE = Path(__file__).with_name("segment_condition_steps.yml")
LOADER = PROJECT_DIR / "scripts" / "load_sources.py"
DBT = Path(sys.executable).parent / "dbt"
REGISTRY_IN_PROJECT = Path("models") / "marts" / "segments" / "_segment_registry.yml"
# Only what membership and its history need; no data tests (the step data is far too
# small for the volume and freshness tests), seeds and everything upstream included.
SELECTION = [
    "--select", "+fct_segment_membership_events", "+fct_segment_memberships",
    "--exclude-resource-type", "test", "unit_test",
]
FIRST_PRIORITY = 5000
IDENTIFIER_KINDS = ("anonymous_id", "shop_customer_id", "email", "contact_id")


# ----------------------------------------------------------------------------- cases


@dataclass
class Case:
    """One case of the YAML file, with its identifiers made unique."""

    name: str
    segments: list[dict]
    people: dict[str, dict[str, str]]
    steps: list[dict]
    failures: list[str] = field(default_factory=list)
    # After each build: segment key (unprefixed) -> member names.
    members: dict[str, set[str]] = field(default_factory=dict)
    # After each build: person -> their customer ids.
    customers: dict[str, set[str]] = field(default_factory=dict)

    def key(self, segment: str) -> str:
        return f"{self.name}__{segment}"


def identifier_value(case: str, person: str, kind: str) -> str:
    if kind == "email":
        return f"{person}.{case}@example.com"
    prefix = {"anonymous_id": "anon", "shop_customer_id": "sc", "contact_id": "ct"}[kind]
    return f"{prefix}-{case}-{person}"


def load_cases() -> tuple[dict, list[Case]]:
    document = yaml.safe_load(CASES_FILE.read_text())
    cases = []
    names = set()
    for raw in document["cases"]:
        name = raw["name"]
        assert name not in names, f"case {name}: duplicate case name"
        names.add(name)
        people = {}
        for person, kinds in raw["people"].items():
            unknown = set(kinds) - set(IDENTIFIER_KINDS)
            assert not unknown, f"case {name}: person {person} has unknown identifiers {sorted(unknown)}"
            people[person] = {kind: identifier_value(name, person, kind) for kind in kinds}
        cases.append(Case(
            name=name,
            segments=raw["segments"],
            people=people,
            steps=raw["steps"],
        ))
    return document["catalogue"], cases


def prefixed_condition(case: Case, node: Any) -> Any:
    """The condition tree with member_of naming the case's prefixed segment keys."""
    if isinstance(node, dict):
        return {
            name: case.key(value) if name == "member_of" else prefixed_condition(case, value)
            for name, value in node.items()
        }
    if isinstance(node, list):
        return [prefixed_condition(case, item) for item in node]
    return node


def registry_entry(case: Case, segment: dict, priority: int) -> dict:
    entry: dict[str, Any] = {
        "key": case.key(segment["key"]),
        "name": f"{case.name} {segment['key']}",
        "description": f"Step-test segment {segment['key']} of case {case.name}.",
    }
    if "rule" in segment:
        entry["rule"] = segment["rule"]
    if "conditions" in segment:
        entry["conditions"] = prefixed_condition(case, segment["conditions"])
    if "parent" in segment:
        entry["parent"] = case.key(segment["parent"])
    entry.update({
        "priority": priority, "owner": "step-tests", "status": "active",
        "review_by": "2099-12-31", "channels": ["onsite"],
    })
    return entry


# ------------------------------------------------------------------- landing rows


def timestamp(text: str) -> str:
    return dt.datetime.fromisoformat(str(text)).strftime("%Y-%m-%dT%H:%M:%SZ")


class Landing:
    """Writes landing JSONL files (every value text, as upstream systems land them)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.files = 0
        self.serial = 0

    def next_id(self, prefix: str) -> str:
        self.serial += 1
        return f"{prefix}{self.serial:06d}"

    def write(self, table: str, landing_date: str, rows: list[dict]) -> None:
        if not rows:
            return
        folder = self.root / table / f"date={landing_date}"
        folder.mkdir(parents=True, exist_ok=True)
        self.files += 1
        path = folder / f"part-steps-{self.files:04d}.jsonl"
        path.write_text("".join(json.dumps(row) + "\n" for row in rows))

    def catalogue(self, catalogue: dict, landing_date: str) -> None:
        self.write("shop/products", landing_date, [
            {"product_id": product["product_id"], "product_name": product["product_id"].replace("_", " ").title(),
             "category": product["category"], "list_price": product["list_price"], "currency": "USD",
             "updated_at": "2026-01-01T00:00:00Z"}
            for product in catalogue["products"]
        ])
        self.write("email/campaigns", landing_date, [
            {"campaign_id": campaign["campaign_id"], "campaign_name": campaign["campaign_id"],
             "subject": f"Subject of {campaign['campaign_id']}", "campaign_type": campaign["campaign_type"],
             "scheduled_at": timestamp(campaign["scheduled_at"])}
            for campaign in catalogue["campaigns"]
        ])

    def case_rows(self, case: Case, land: dict, landing_date: str) -> dict[str, list[dict]]:
        """The raw rows of one `land` step, by landing table."""
        unknown = set(land) - {"web", "email", "orders", "crm_contacts"}
        assert not unknown, f"case {case.name}: unknown land tables {sorted(unknown)}"
        tables: dict[str, list[dict]] = defaultdict(list)
        for row in land.get("web", []):
            person = case.people[row["person"]]
            tables["web/events"].append({
                "event_id": self.next_id(f"we-{case.name}-"),
                "anonymous_id": row.get("anonymous_id", person.get("anonymous_id")),
                "user_id": row.get("user_id", person.get("shop_customer_id")),
                "event_type": row["event"],
                "page_url": f"https://shop.example.com/{row.get('product_id') or ''}",
                "product_id": row.get("product_id"),
                "utm_source": row.get("utm_source"),
                "utm_medium": row.get("utm_medium"),
                "utm_campaign": row.get("utm_campaign"),
                "device_type": row.get("device_type", "desktop"),
                "occurred_at": timestamp(row["at"]),
            })
        for row in land.get("email", []):
            person = case.people[row["person"]]
            tables["email/events"].append({
                "email_event_id": self.next_id(f"ee-{case.name}-"),
                "campaign_id": row["campaign"],
                "email": person["email"],
                "event_type": row["event"],
                "occurred_at": timestamp(row["at"]),
                "click_url": "https://shop.example.com/" if row["event"] == "click" else None,
                "bounce_type": row.get("bounce_type"),
            })
        for row in land.get("orders", []):
            person = case.people[row["person"]]
            order_id = self.next_id(f"ord-{case.name}-")
            total = 0.0
            for number, line in enumerate(row["lines"], start=1):
                quantity = int(line.get("quantity", 1))
                total += quantity * float(line["unit_price"])
                tables["shop/order_lines"].append({
                    "order_line_id": f"{order_id}-{number}", "order_id": order_id,
                    "product_id": line["product_id"], "quantity": str(quantity),
                    "unit_price": line["unit_price"],
                })
            guest = bool(row.get("guest", False))
            tables["shop/orders"].append({
                "order_id": order_id,
                "shop_customer_id": None if guest else person.get("shop_customer_id"),
                "email": person.get("email"),
                "order_status": row.get("status", "placed"),
                "currency": row.get("currency", "USD"),
                "order_total": f"{total:.2f}",
                "ordered_at": timestamp(row["at"]),
                "updated_at": timestamp(row["at"]),
            })
        for row in land.get("crm_contacts", []):
            person = case.people[row["person"]]
            tables["crm/contacts"].append({
                "contact_id": person["contact_id"], "shop_customer_id": person.get("shop_customer_id"),
                "first_name": row["person"].title(), "last_name": case.name, "email": person.get("email"),
                "phone": None, "country_code": "US", "birth_date": "1990-01-01",
                "signed_up_at": timestamp(row["at"]).replace("T", " ").rstrip("Z"),
                "lifecycle_stage": "lead", "is_test_account": "false",
                "updated_at": timestamp(row["at"]).replace("T", " ").rstrip("Z"),
            })
        return tables


# ------------------------------------------------------------------ the warehouse


@dataclass
class Warehouse:
    project: Path
    database: Path
    env: dict[str, str]
    landing: Path

    def run(self, command: list[str]) -> tuple[bool, str]:
        result = subprocess.run(command, cwd=self.project, env=self.env, capture_output=True, text=True, check=False)
        return result.returncode == 0, f"{' '.join(command)} failed:\n{result.stdout[-4000:]}\n{result.stderr[-2000:]}"

    def load(self) -> tuple[bool, str]:
        return self.run([sys.executable, str(LOADER), "--landing", str(self.landing), "--database", str(self.database)])

    def build(self, as_of: str) -> tuple[bool, str]:
        return self.run([str(DBT), "build", *SELECTION, "--vars", f"{{as_of: '{as_of}'}}"])

    def query(self, sql: str, parameters: list | None = None) -> list[tuple]:
        with duckdb.connect(str(self.database), read_only=True) as connection:
            return connection.execute(sql, parameters or []).fetchall()


def new_warehouse(root: Path) -> Warehouse:
    project, env = copy_project(root)
    return Warehouse(project, root / "warehouse.duckdb", env, root / "landing")


def registry_document(warehouse: Warehouse) -> dict:
    return yaml.safe_load((warehouse.project / REGISTRY_IN_PROJECT).read_text())


def registry_segments(document: dict) -> list[dict]:
    return next(macro for macro in document["macros"] if macro["name"] == "segment_registry")["meta"]["segments"]


def write_registry(warehouse: Warehouse, document: dict) -> None:
    (warehouse.project / REGISTRY_IN_PROJECT).write_text(yaml.safe_dump(document, sort_keys=False, width=10_000))


# ------------------------------------------------------------------------ the run


def bucket_members(segment_key: str, customers: dict[str, str], percent: float) -> set[str]:
    """The people (name -> customer id) whose bucket of the segment is below percent."""
    return {
        person for person, customer in customers.items()
        if int(hashlib.md5(f"{segment_key}|{customer}".encode()).hexdigest()[:7], 16) % 10000 < percent * 100
    }


def schedule(cases: list[Case]) -> list[tuple[tuple[str, int], list[tuple[Case, list[dict], list[dict]]]]]:
    """The builds in order, each with the cases it serves: (case, the case's steps before
    the build, the case's steps after it up to its next build)."""
    builds: dict[tuple[str, int], list] = defaultdict(list)
    for case in cases:
        seen: dict[str, int] = defaultdict(int)
        before: list[dict] = []
        last_date = ""
        current: list | None = None
        for number, step in enumerate(case.steps, start=1):
            step = {**step, "number": number}
            if "build" in step:
                as_of = str(step["build"])
                dt.date.fromisoformat(as_of)
                assert as_of >= last_date, f"case {case.name}: step {number} builds as of {as_of}, before {last_date}"
                last_date = as_of
                current = [case, before, []]
                builds[(as_of, seen[as_of])].append(current)
                seen[as_of] += 1
                before = []
            elif "expect" in step:
                assert current is not None, f"case {case.name}: step {number} expects before any build"
                current[2].append(step)
            else:
                before.append(step)
        assert not before, f"case {case.name}: steps after the last build: {before}"
    return sorted((key, [tuple(entry) for entry in entries]) for key, entries in builds.items())


def resolve_people(warehouse: Warehouse, case: Case) -> dict[str, set[str]]:
    """Each person's customer ids: none before any identifier of theirs is a customer,
    several while their identifiers are not linked yet (the person is a member when any
    of them is)."""
    values = [identifier.lower() if kind == "email" else identifier
              for person in case.people.values() for kind, identifier in person.items()]
    rows = warehouse.query(
        "select identifier_type, identifier_value, customer_id "
        "from intermediate.int_identifiers_resolved_to_customers "
        "where identifier_value in (select unnest(?))",
        [values],
    )
    found = {(kind, value): customer for kind, value, customer in rows}
    return {
        name: {found[(kind, value.lower() if kind == "email" else value)]
               for kind, value in person.items() if (kind, value.lower() if kind == "email" else value) in found}
        for name, person in case.people.items()
    }


def check_build(warehouse: Warehouse, case: Case, as_of: str, after: list[dict], edited: set[str]) -> None:
    """Compare memberships and this build's events with the case's expectations."""
    customers = resolve_people(warehouse, case)
    names = {customer: person for person, ids in customers.items() for customer in ids}
    # People whose customer changed since the previous build (identities merged or split)
    # leave their old customer and enter with the new one: their events are not compared.
    restitched = {person for person, ids in customers.items() if ids != case.customers.get(person, ids)}
    case.customers = customers
    label = f"case {case.name}, build as of {as_of}"
    keys = [segment["key"] for segment in case.segments]
    rows = warehouse.query(
        "select segment_key, customer_id from marts.fct_segment_memberships where segment_key in (select unnest(?))",
        [[case.key(key) for key in keys]],
    )
    members: dict[str, set[str]] = {key: set() for key in keys}
    for segment_key, customer in rows:
        if customer in names:
            members[segment_key.split("__", 1)[1]].add(names[customer])
    events = warehouse.query(
        "select segment_key, customer_id, event_type, event_reason from marts.fct_segment_membership_events "
        "where segment_key in (select unnest(?)) and event_type in ('entered', 'exited') "
        "and recorded_at = (select max(recorded_at) from marts.fct_segment_membership_events)",
        [[case.key(key) for key in keys]],
    )
    for key in keys:
        before = case.members.get(key, set())
        now = members[key]
        moved = {("entered", person) for person in now - before} | {("exited", person) for person in before - now}
        moved = {(event, person) for event, person in moved if person not in restitched}
        recorded = {(event, names[customer]) for segment_key, customer, event, _ in events
                    if segment_key == case.key(key) and customer in names and names[customer] not in restitched}
        reasons = {reason for segment_key, customer, _, reason in events
                   if segment_key == case.key(key) and customer in names}
        if recorded != moved:
            case.failures.append(
                f"{label}, segment {key}: membership events {sorted(recorded)}, "
                f"expected {sorted(moved)} (the change since the previous build)")
        if key in edited:
            if not moved:
                case.failures.append(f"{label}, segment {key}: the edit moved nobody, so it proves nothing")
            if reasons - {"rule_changed"}:
                case.failures.append(
                    f"{label}, segment {key}: edited since the previous build, but event reasons are "
                    f"{sorted(reasons)}, expected only rule_changed")
        elif "rule_changed" in reasons:
            case.failures.append(f"{label}, segment {key}: rule_changed recorded though the segment was not edited")
    case.members = members
    for step in after:
        for key, expected in step["expect"].items():
            where = f"{label}, step {step['number']}, segment {key}"
            if key not in members:
                case.failures.append(f"{where}: not a segment of the case")
                continue
            if isinstance(expected, dict):
                assert set(expected) == {"random_bucket", "of"}, f"{where}: expect needs random_bucket and of"
                candidates = {person: next(iter(customers[person])) for person in expected["of"]
                              if len(customers.get(person, ())) == 1}
                missing = sorted(set(expected["of"]) - set(candidates))
                if missing:
                    case.failures.append(f"{where}: people {missing} are not exactly one customer each")
                wanted = bucket_members(case.key(key), candidates, float(expected["random_bucket"]))
                if not wanted or wanted == set(candidates):
                    case.failures.append(
                        f"{where}: the md5 rule puts {'nobody' if not wanted else 'everybody'} in; "
                        "choose other people so the expectation can fail")
            else:
                wanted = set(expected)
            unknown = wanted - set(case.people)
            if unknown:
                case.failures.append(f"{where}: unknown people {sorted(unknown)}")
            if members[key] != wanted:
                case.failures.append(
                    f"{where}: expected members {sorted(wanted)}, actual {sorted(members[key])}")


def apply_steps(warehouse: Warehouse, landing: Landing, case: Case, steps: list[dict], as_of: str,
                document: dict) -> set[str]:
    """Land the case's rows and apply its edits; returns the segments edited."""
    edited = set()
    for step in steps:
        if "land" in step:
            for table, rows in landing.case_rows(case, step["land"], as_of).items():
                landing.write(table, as_of, rows)
        elif "edit" in step:
            edit = dict(step["edit"])
            key = edit.pop("segment")
            unknown = set(edit) - {"rule", "conditions"}
            assert not unknown, f"case {case.name}: step {step['number']} edits unknown fields {sorted(unknown)}"
            entry = next(item for item in registry_segments(document) if item["key"] == case.key(key))
            for name, value in edit.items():
                if value is None:
                    entry.pop(name, None)
                else:
                    entry[name] = prefixed_condition(case, value) if name == "conditions" else value
            edited.add(key)
        else:
            raise AssertionError(f"case {case.name}: step {step['number']} is not land, build, expect or edit: {step}")
    return edited


def rejected_landing_rows(warehouse: Warehouse) -> list[tuple]:
    """Landed rows that staging quarantined or dropped as duplicates: a case whose rows
    do not stage would test nothing."""
    tables = warehouse.query(
        "select table_schema, table_name from information_schema.columns "
        "where table_name like 'base\\_%' escape '\\' and column_name = 'row_disposition'"
    )
    rejected = []
    for schema, table in tables:
        rejected += warehouse.query(
            f'select \'{table}\', _source_file, _file_row_number, row_disposition, quarantine_reason '
            f'from "{schema}"."{table}" where row_disposition <> \'staged\''
        )
    return rejected


def run_cases(root: Path, selected: set[str] | None = None) -> list[Case]:
    """Run the cases (only those named in ``selected``, when given) in one new warehouse."""
    catalogue, cases = load_cases()
    if selected is not None:
        cases = [case for case in cases if case.name in selected]
    warehouse = new_warehouse(root)
    landing = Landing(warehouse.landing)
    document = registry_document(warehouse)
    priority = FIRST_PRIORITY
    for case in cases:
        for segment in case.segments:
            registry_segments(document).append(registry_entry(case, segment, priority))
            priority += 1
    plan = schedule(cases)
    if plan:
        landing.catalogue(catalogue, plan[0][0][0])
    for (as_of, _), served in plan:
        edits = {}
        for case, before, _ in served:
            edits[case.name] = apply_steps(warehouse, landing, case, before, as_of, document)
        write_registry(warehouse, document)
        ok, output = warehouse.load()
        if ok:
            ok, output = warehouse.build(as_of)
        if ok:
            rejected = rejected_landing_rows(warehouse)
            ok, output = not rejected, f"landing rows were not staged: {rejected}"
        for case, _, after in served:
            if ok:
                check_build(warehouse, case, as_of, after, edits[case.name])
            else:
                case.failures.append(f"case {case.name}, build as of {as_of}: {output}")
    return cases


# ------------------------------------------------------------------------- tests

CASE_NAMES = [case["name"] for case in yaml.safe_load(CASES_FILE.read_text())["cases"]]

pytestmark = pytest.mark.skipif(
    not list((PROJECT_DIR / "models").rglob("fct_segment_membership_events.sql")),
    reason="models/marts/segments/fct_segment_membership_events.sql is not in the project yet",
)


@pytest.fixture(scope="module")
def step_results(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Case]:
    """The cases this session runs (all, or those picked with -k), in one shared warehouse."""
    selected = {
        item.callspec.params["case_name"] for item in request.session.items
        if hasattr(item, "callspec") and "case_name" in item.callspec.params
    }
    return {case.name: case for case in run_cases(tmp_path_factory.mktemp("condition_steps"), selected)}


@pytest.mark.parametrize("case_name", CASE_NAMES)
def test_segment_condition_case(step_results: dict[str, Case], case_name: str) -> None:
    case = step_results[case_name]
    if case.failures:
        pytest.fail("\n".join(case.failures), pytrace=False)
