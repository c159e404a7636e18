"""Segment membership events across builds.

Builds a small warehouse from the synthetic sources in a copy of the project, then:
a day of new data yields enter/exit events exactly for the memberships that changed;
a rebuild with the same data and as_of adds no events; archiving a segment in the
registry yields 'segment_archived' exits for all its members.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest
import yaml

PROJECT_DIR = Path(__file__).resolve().parents[2]
GENERATOR = PROJECT_DIR / "scripts" / "generate_sources.py"
LOADER = PROJECT_DIR / "scripts" / "load_sources.py"
DBT = Path(sys.executable).parent / "dbt"
END_DATE = "2026-06-29"
NEXT_DAY = "2026-06-30"
# The whole project builds (tests on staging models reference several models at once,
# so a partial selection would run tests whose relations were never built).
SELECTION = ["--exclude-resource-type", "unit_test"]

pytestmark = [
    pytest.mark.skipif(
        not (GENERATOR.exists() and LOADER.exists()),
        reason="scripts/generate_sources.py and scripts/load_sources.py are needed to build a warehouse",
    ),
    pytest.mark.skipif(
        not list((PROJECT_DIR / "models").rglob("dim_customers.sql")),
        reason="models/marts/customers/dim_customers.sql (the segments' input) is not in the project yet",
    ),
]


def run(command: list[str], cwd: Path, env: dict[str, str]) -> None:
    result = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, check=False)
    assert result.returncode == 0, f"{' '.join(command)} failed:\n{result.stdout[-4000:]}\n{result.stderr[-2000:]}"


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory):
    """A copy of the project with its own warehouse, built for END_DATE."""
    root = tmp_path_factory.mktemp("segments_events")
    project = root / "project"
    shutil.copytree(
        PROJECT_DIR, project,
        ignore=shutil.ignore_patterns(".venv", ".git", "data", "target*", "logs*", "__pycache__", ".pytest_cache"),
    )
    database = root / "warehouse.duckdb"
    env = {
        **os.environ,
        "DBT_PROFILES_DIR": str(project),
        "SEGMENTS_DUCKDB_PATH": str(database),
        "SEGMENTS_DUCKDB_TEMP_DIR": str(root / "duckdb_tmp"),
        "DBT_TARGET_PATH": str(root / "target"),
        "DBT_LOG_PATH": str(root / "logs"),
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
    }
    (root / "duckdb_tmp").mkdir()
    landing = root / "landing"
    generate = [sys.executable, str(GENERATOR), "--customers", "300", "--days", "60", "--seed", "11",
                "--end-date", END_DATE, "--out", str(landing)]
    run(generate, project, env)
    run([sys.executable, str(LOADER), "--landing", str(landing), "--database", str(database)], project, env)
    state = {"project": project, "database": database, "env": env, "landing": landing, "generate": generate}
    build(state, END_DATE)
    return state


def build(state: dict, as_of: str, *extra: str) -> None:
    run([str(DBT), "build", *SELECTION, *extra, "--vars", f"{{as_of: '{as_of}'}}"], state["project"], state["env"])


def query(state: dict, sql: str) -> list[tuple]:
    with duckdb.connect(str(state["database"]), read_only=True) as connection:
        return connection.sql(sql).fetchall()


def memberships(state: dict) -> set[tuple[str, str]]:
    return set(query(state, "select customer_id, segment_key from marts.fct_segment_memberships"))


def events(state: dict) -> list[tuple]:
    return query(
        state,
        "select customer_id, segment_key, event_type, event_date, event_reason "
        "from marts.fct_segment_membership_events order by all",
    )


def test_events_across_builds(warehouse):
    state = warehouse
    before = memberships(state)
    assert before, "the first build should put customers in segments"
    first_events = events(state)
    assert {(row[0], row[1]) for row in first_events if row[2] == "entered"} == before
    assert {row[4] for row in first_events} == {"history_started"}

    # A rebuild with the same data and as_of adds no events.
    build(state, END_DATE)
    assert events(state) == first_events

    # A day of new data: events exactly for the memberships that changed.
    run([*state["generate"], "--increment"], state["project"], state["env"])
    run([sys.executable, str(LOADER), "--landing", str(state["landing"]), "--database", str(state["database"])],
        state["project"], state["env"])
    build(state, NEXT_DAY)
    after = memberships(state)
    new_events = [row for row in events(state) if str(row[3]) == NEXT_DAY]
    entered = {(row[0], row[1]) for row in new_events if row[2] == "entered"}
    exited = {(row[0], row[1]) for row in new_events if row[2] == "exited"}
    assert entered == after - before
    assert exited == before - after
    assert entered or exited, "a day of new data should change some memberships"
    changed_customers = {customer for customer, _ in entered | exited}
    unchanged_customers = {customer for customer, _ in before | after} - changed_customers
    assert not {row[0] for row in new_events} & unchanged_customers
    assert {row[4] for row in new_events} <= {"behaviour_change", "consent_withdrawn", "erasure", "customer_removed"}

    # Rebuilding the same day again adds nothing.
    events_after_day = events(state)
    build(state, NEXT_DAY)
    assert events(state) == events_after_day


def test_archiving_a_segment_exits_its_members(warehouse):
    state = warehouse
    as_of = query(state, "select max(as_of_date) from marts.fct_segment_memberships")[0][0]
    members = {row[0] for row in query(
        state, "select customer_id from marts.fct_segment_memberships where segment_key = 'recently_active'",
    )}
    assert members, "the demo data should have recently active customers"

    registry_path = state["project"] / "models" / "marts" / "segments" / "_segment_registry.yml"
    document = yaml.safe_load(registry_path.read_text())
    segments = document["macros"][0]["meta"]["segments"]
    next(item for item in segments if item["key"] == "recently_active")["status"] = "archived"
    registry_path.write_text(yaml.safe_dump(document, sort_keys=False))

    # The starter unit tests pin the registry as shipped (an active Recently Active), so
    # they are left out of this build.
    build(state, str(as_of), "--exclude-resource-type", "unit_test")
    archived_exits = {
        row[0] for row in events(state)
        if row[1] == "recently_active" and row[2] == "exited" and row[4] == "segment_archived"
    }
    assert archived_exits == members
    assert not query(state, "select * from marts.fct_segment_memberships where segment_key = 'recently_active'")
    assert query(state, "select status, member_count from marts.dim_segments where segment_key = 'recently_active'") == [
        ("archived", 0),
    ]
