"""The serving database: publishing after builds, readers during builds, lock messages.

The end-to-end tests run real dbt builds, through scripts/scheduled_build.py and plainly,
on a tiny dbt project that uses this project's publish macros (macros/serving/), its
run_parameter and as_of macros and the dbt-duckdb plugin scripts/serving_plugin.py,
configured as profiles.yml configures them. Readers run in other processes, as analysts'
sessions do.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import duckdb
import pytest

REPO = Path(__file__).resolve().parents[2]
SCRIPTS = REPO / "scripts"
sys.path.insert(0, str(SCRIPTS))

import build_records  # noqa: E402
import duckdb_lock  # noqa: E402
import serving  # noqa: E402
from build_errors import WarehouseUnavailable  # noqa: E402

DBT = Path(sys.executable).parent / "dbt"
MACROS = ["macros/serving", "macros/utils/run_parameter.sql", "macros/utils/as_of.sql",
          "macros/utils/generate_schema_name.sql"]

PROJECT = {
    "dbt_project.yml": """
        name: dynamic_segments
        profile: dynamic_segments
        config-version: 2
        on-run-end:
          - "{{ publish_serving(results) }}"
        vars:
          as_of: ""
          serving_schemas: ["marts"]
          restricted_schemas: ["activation"]
        models:
          dynamic_segments:
            staging: {+schema: staging, +materialized: view}
            marts:
              +schema: marts
              +materialized: table
              +persist_docs: {relation: true, columns: true}
              restricted: {+schema: activation}
    """,
    "profiles.yml": f"""
        dynamic_segments:
          target: duckdb
          outputs:
            duckdb:
              type: duckdb
              path: "{{{{ env_var('SEGMENTS_DUCKDB_PATH', 'data/warehouse.duckdb') }}}}"
              schema: main
              threads: 1
              module_paths: ["{SCRIPTS}"]
              plugins:
                - module: serving_plugin
    """,
    # TINY_CUSTOMERS sets the size; TINY_DUPLICATE adds a duplicate key (a failing test)
    "models/staging/stg_customers.sql": """
        select range as customer_id from range(1, {{ env_var('TINY_CUSTOMERS', '3') | int + 1 }})
        {% if env_var('TINY_DUPLICATE', '') %} union all select 1 {% endif %}
    """,
    "models/marts/dim_customers.sql": """
        select customer_id, customer_id * 10 as score from {{ ref('stg_customers') }}
    """,
    "models/marts/rpt_customer_count.sql": """
        select count(*) as customers from {{ ref('dim_customers') }}
    """,
    "models/marts/_models.yml": """
        version: 2
        models:
          - name: dim_customers
            description: One row per customer.
            columns:
              - name: customer_id
                description: The customer's key.
                data_tests: [unique, not_null]
    """,
    # direct identifiers: published to the restricted file only
    "models/marts/restricted/dim_customer_contacts.sql": """
        select customer_id, 'person' || customer_id || '@example.com' as email
        from {{ ref('stg_customers') }}
    """,
    "models/marts/restricted/_models.yml": """
        version: 2
        models:
          - name: dim_customer_contacts
            description: One row per customer, with their email.
            columns:
              - name: customer_id
                description: The customer's key.
              - name: email
                description: The customer's email.
                config:
                  meta: {contains_pii: true}
    """,
}

# A reader as an analyst's session runs it: a new read-only connection per query, in a
# loop, until the stop file appears. Writes one line per read: ok <publish> <customers>,
# or failed <error>.
READER_LOOP = """
import os, sys, time, duckdb
serving, stop, out = sys.argv[1:4]
with open(out, "w") as log:
    while not os.path.exists(stop):
        try:
            con = duckdb.connect(serving, read_only=True)
            try:
                publish = con.execute("select max(publish_number) from publish_log").fetchone()[0]
                customers = con.execute("select count(*) from marts.dim_customers").fetchone()[0]
            finally:
                con.close()
            log.write(f"ok {publish} {customers}\\n")
        except Exception as exc:
            log.write("failed " + " ".join(str(exc).split()) + "\\n")
        log.flush()
        time.sleep(0.02)
"""

# Holds a read-only connection, or a read-write one with "write", until the stop file appears.
HOLDER = """
import os, sys, time, duckdb
database, stop, mode = sys.argv[1:4]
con = duckdb.connect(database, read_only=(mode == "read"))
open(stop + ".ready", "w").close()
while not os.path.exists(stop):
    time.sleep(0.05)
con.close()
"""


@pytest.fixture
def project(tmp_path: Path, monkeypatch) -> Path:
    root = tmp_path / "project"
    for name, text in PROJECT.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(textwrap.dedent(text).lstrip())
    for name in MACROS:
        source = REPO / name
        target = root / "macros" / source.name
        if source.is_dir():
            shutil.copytree(source, target)
        else:
            shutil.copyfile(source, target)
    (root / "data").mkdir()
    monkeypatch.setenv("SEGMENTS_DUCKDB_PATH", str(root / "data" / "warehouse.duckdb"))
    monkeypatch.setenv("DBT_PROFILES_DIR", str(root))
    for name in ("SEGMENTS_SERVING_PATH", "SEGMENTS_AS_OF", "SEGMENTS_BUILD_FINGERPRINT",
                 "SEGMENTS_BUILD_NUMBER", "TINY_DUPLICATE", "TINY_CUSTOMERS"):
        monkeypatch.delenv(name, raising=False)
    return root


def scheduled_build(project: Path, *args: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(SCRIPTS / "scheduled_build.py"), "--dbt", str(DBT),
         "--project-dir", str(project), *args],
        capture_output=True, text=True, env={**os.environ, **env},
    )


def dbt(project: Path, *args: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(DBT), *args], cwd=project, capture_output=True, text=True,
                          env={**os.environ, **env})


def query(path: Path, sql: str) -> list[tuple]:
    con = duckdb.connect(str(path), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def publish_log(path: Path) -> list[tuple]:
    return query(path, "select publish_number, build_fingerprint, scheduled_build_number, as_of, "
                 "dbt_command, table_count, row_counts from publish_log order by publish_number")


def built(result: subprocess.CompletedProcess) -> str:
    assert result.returncode == 0, f"{result.stdout[-4000:]}\n{result.stderr[-2000:]}"
    return result.stdout


def start(script: str, *args: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", script, *map(str, args)])


def wait_for(path: Path, process: subprocess.Popen) -> None:
    while not path.exists():
        assert process.poll() is None, "the helper process ended early"
        time.sleep(0.05)


# ------------------------------------------------------------------ end to end


def test_scheduled_build_publishes_marts_reports_and_the_publish_log(project):
    out = built(scheduled_build(project, "--", "--vars", "{as_of: 2026-03-01}"))
    serving_file = project / "data" / "serving.duckdb"
    assert f"published to {serving_file} (publish #1, 2 tables, as_of 2026-03-01)" in out
    [(number, fingerprint, build_number, as_of, command, tables, counts)] = publish_log(serving_file)
    recorded = query(project / "data" / "warehouse.duckdb",
                     "select fingerprint, build_number from ops.scheduled_builds")
    assert (fingerprint, build_number) == recorded[0]
    assert (number, str(as_of), command, tables) == (1, "2026-03-01", "build", 2)
    assert counts == {"marts.dim_customers": 3, "marts.rpt_customer_count": 1}
    assert query(serving_file, "select customer_id, score from marts.dim_customers order by 1") == [
        (1, 10), (2, 20), (3, 30)]
    # the warehouse's other layers stay out; descriptions come along
    assert query(serving_file, "select distinct schema_name from duckdb_tables() order by 1") == [
        ("main",), ("marts",)]
    assert query(serving_file, "select comment from duckdb_columns() where column_name = 'customer_id'"
                 " and table_name = 'dim_customers'") == [("The customer's key.",)]
    # nothing is left beside the serving file (the build status file is what exports read)
    assert sorted(path.name for path in serving_file.parent.iterdir()) == [
        "build_status.json", "restricted.duckdb", "serving.duckdb", "warehouse.duckdb"]


def test_restricted_schema_is_published_owner_only_and_never_to_the_serving_file(project):
    built(dbt(project, "build"))
    data = project / "data"
    serving_file, restricted_file = data / "serving.duckdb", data / "restricted.duckdb"
    assert serving.restricted_path(data / "warehouse.duckdb") == restricted_file
    assert restricted_file.stat().st_mode & 0o777 == 0o600
    assert query(restricted_file, "select distinct schema_name from duckdb_tables() order by 1") == [
        ("activation",), ("main",)]
    assert query(restricted_file, "select count(*) from activation.dim_customer_contacts") == [(3,)]
    assert query(restricted_file, "select table_count from publish_log") == [(1,)]
    # the serving file holds neither the restricted schema nor any column tagged contains_pii
    manifest = json.loads((project / "target" / "manifest.json").read_text())
    personal = {
        (node["schema"], node["alias"], column)
        for node in manifest["nodes"].values() if node["resource_type"] == "model"
        for column, properties in node["columns"].items()
        if (properties.get("config", {}).get("meta") or properties.get("meta") or {}).get("contains_pii")
    }
    assert personal == {("activation", "dim_customer_contacts", "email")}
    served = set(query(serving_file, "select schema_name, table_name, column_name from duckdb_columns()"))
    assert ("activation",) not in query(serving_file, "select distinct schema_name from duckdb_tables()")
    assert not {column for _, _, column in personal} & {column for _, _, column in served}
    # a later publish keeps the mode; the path can be moved, but never onto the serving file
    built(dbt(project, "build", SEGMENTS_RESTRICTED_PATH=str(data / "contacts.duckdb")))
    assert (data / "contacts.duckdb").stat().st_mode & 0o777 == 0o600
    failing = dbt(project, "build", SEGMENTS_RESTRICTED_PATH=str(serving_file))
    assert failing.returncode != 0
    assert "is the serving file analysts read" in failing.stdout
    refused = scheduled_build(project, SEGMENTS_RESTRICTED_PATH=str(serving_file))
    assert refused.returncode == 2
    assert "is the serving file analysts read" in refused.stdout + refused.stderr


def test_a_schema_both_served_and_restricted_is_refused(project):
    result = dbt(project, "build", "--vars", "{serving_schemas: [marts, activation], restricted_schemas: [activation]}")
    assert result.returncode != 0
    assert "restricted data never goes to the serving file" in result.stdout


def test_readers_never_fail_during_a_build_and_a_publish(project, tmp_path):
    """A new read-only connection per query, in another process, throughout a build and
    its publish: every read succeeds, and reads see the old data, then the new."""
    built(scheduled_build(project))
    serving_file = project / "data" / "serving.duckdb"
    stop, reads = tmp_path / "stop", tmp_path / "reads.txt"
    reader = start(READER_LOOP, serving_file, stop, reads)
    try:
        while not reads.exists() or not reads.read_text():
            time.sleep(0.05)
        result = scheduled_build(project, "--force", TINY_CUSTOMERS="5")
    finally:
        stop.touch()
        reader.wait()
    built(result)
    lines = reads.read_text().splitlines()
    failed = [line for line in lines if not line.startswith("ok ")]
    assert failed == [] and len(lines) > 10
    seen = [tuple(line.split()[1:]) for line in lines]
    # one publish then the other, never a mix: publish #1 had 3 customers, #2 has 5
    assert set(seen) == {("1", "3"), ("2", "5")}
    assert seen == sorted(seen)


def test_a_reader_held_open_across_a_build_and_a_publish_keeps_its_data(project, tmp_path):
    built(scheduled_build(project))
    serving_file = project / "data" / "serving.duckdb"
    opened = serving_file.stat().st_ino
    held = duckdb.connect(str(serving_file), read_only=True)
    try:
        result = scheduled_build(project, "--force", TINY_CUSTOMERS="4")
        built(result)
        # the publish put a new file in place instead of writing the one the reader has
        # open, so the open connection reads the file it opened, and a new one the new data
        assert serving_file.stat().st_ino != opened
        assert held.execute("select count(*) from marts.dim_customers").fetchone() == (3,)
        assert held.execute("select max(publish_number) from publish_log").fetchone() == (1,)
    finally:
        held.close()
    assert query(serving_file, "select count(*) from marts.dim_customers") == [(4,)]
    assert [row[0] for row in publish_log(serving_file)] == [1, 2]


def test_a_failed_build_publishes_nothing_and_the_next_good_one_does(project):
    out = built(dbt(project, "build"))
    serving_file = project / "data" / "serving.duckdb"
    # plain dbt build publishes too, without a scheduled build's identity
    assert [row[:3] for row in publish_log(serving_file)] == [(1, None, None)]
    failing = dbt(project, "build", TINY_CUSTOMERS="6", TINY_DUPLICATE="1")
    assert failing.returncode != 0
    assert "Serving database not published: " in failing.stdout
    assert "node(s) did not pass" in failing.stdout and "unique_dim_customers" in failing.stdout
    assert [row[0] for row in publish_log(serving_file)] == [1]
    assert query(serving_file, "select count(*) from marts.dim_customers") == [(3,)]
    # the warehouse holds the failed build's mart; the analysts do not see it
    warehouse = project / "data" / "warehouse.duckdb"
    assert query(warehouse, "select count(*) from marts.dim_customers") == [(7,)]
    out = built(dbt(project, "build", TINY_CUSTOMERS="6"))
    assert "Publishing 2 tables to the serving database" in out
    assert [(row[0], row[6]) for row in publish_log(serving_file)] == [
        (1, {"marts.dim_customers": 3, "marts.rpt_customer_count": 1}),
        (2, {"marts.dim_customers": 6, "marts.rpt_customer_count": 1}),
    ]


def test_only_complete_tested_builds_publish(project):
    built(dbt(project, "build"))
    serving_file = project / "data" / "serving.duckdb"
    for args, reason in (
        (["run"], "only `dbt build` publishes"),
        (["build", "--exclude-resource-type", "test"], "the data tests were excluded"),
        (["build", "--empty"], "an --empty or --sample build holds no complete data"),
        (["build", "--select", "stg_customers"], "this build built no model of the serving schemas"),
    ):
        out = built(dbt(project, *args))
        assert f"Serving database not published: {reason}" in out, args
    assert [row[0] for row in publish_log(serving_file)] == [1]


def test_skipped_build_publishes_when_the_serving_file_is_missing(project):
    built(scheduled_build(project))
    serving_file = project / "data" / "serving.duckdb"
    serving_file.unlink()
    out = built(scheduled_build(project))
    assert "but the serving database" in out and "does not exist; publishing it" in out
    # the warehouse keeps the log, so the new file has the first publish's row too
    first, again = publish_log(serving_file)
    assert (again[0], again[2], again[4]) == (2, 1, "run-operation")
    assert again[1] == first[1] and again[3] == first[3]
    assert query(project / "data" / "warehouse.duckdb",
                 "select count(*) from ops.scheduled_builds") == [(1,)]
    assert "skipped, nothing changed" in built(scheduled_build(project))


def test_serving_path_is_configurable_and_a_bad_one_is_one_line(project, tmp_path):
    elsewhere = tmp_path / "shared" / "segments.duckdb"
    built(scheduled_build(project, SEGMENTS_SERVING_PATH=str(elsewhere)))
    assert publish_log(elsewhere)[0][0] == 1
    assert not (project / "data" / "serving.duckdb").exists()
    # a folder: the gate stops before dbt with one line
    result = scheduled_build(project, "--force", SEGMENTS_SERVING_PATH=str(tmp_path))
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr.splitlines() == [
        f"scheduled build: error: serving path {tmp_path} ($SEGMENTS_SERVING_PATH) is not a file"]
    # plain dbt: the hook fails with that line, no Python trace
    result = dbt(project, "build", SEGMENTS_SERVING_PATH=str(tmp_path))
    assert result.returncode != 0
    assert f"Invalid Input Error: serving path {tmp_path} ($SEGMENTS_SERVING_PATH) is not a file" \
        in result.stdout
    assert "Traceback" not in result.stdout + result.stderr


# ------------------------------------------------------------------ serving paths


def test_serving_path_defaults_beside_the_warehouse(tmp_path):
    warehouse = tmp_path / "data" / "warehouse.duckdb"
    assert serving.serving_path(warehouse, environ={}) == tmp_path / "data" / "serving.duckdb"
    assert serving.serving_path("data/warehouse.duckdb", environ={}, base=tmp_path) == (
        tmp_path / "data" / "serving.duckdb")
    assert serving.serving_path(warehouse, environ={"SEGMENTS_SERVING_PATH": "out/s.duckdb"},
                                base=tmp_path) == tmp_path / "out" / "s.duckdb"


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("folder", "is not a file"),
        ("a_file/serving.duckdb", "a_file is not a folder"),
        ("warehouse.duckdb", "is the warehouse itself"),
        ("serving.duckdb.wal", "names a DuckDB write-ahead log"),
    ],
)
def test_unusable_serving_paths_are_refused(tmp_path, name, message):
    (tmp_path / "folder").mkdir()
    (tmp_path / "a_file").write_text("")
    with pytest.raises(serving.ServingPathError, match=message):
        serving.check_serving_path(tmp_path / name, tmp_path / "warehouse.duckdb")
    serving.check_serving_path(tmp_path / "new" / "serving.duckdb", tmp_path / "warehouse.duckdb")


def test_stage_files_of_ended_publishes_are_removed(tmp_path):
    target = tmp_path / "serving.duckdb"
    stage = serving.stage_path(target)
    assert stage.parent == tmp_path and stage.name.startswith(".serving.duckdb.publishing-")
    ended = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                           capture_output=True, text=True).stdout.strip()
    leftovers = [stage, tmp_path / f".serving.duckdb.publishing-{ended}",
                 tmp_path / f".serving.duckdb.publishing-{ended}.wal"]
    running = tmp_path / f".serving.duckdb.publishing-{os.getppid()}"
    for path in [*leftovers, running]:
        path.write_text("")
    serving.prepare_stage(stage)
    assert [path for path in leftovers if path.exists()] == [] and running.exists()


# ---------------------------------------------------------------- lock messages


@pytest.mark.parametrize(("mode", "role"), [("read", "a reader"), ("write", "a writer")])
def test_a_locked_warehouse_names_the_holder(tmp_path, mode, role):
    warehouse = tmp_path / "warehouse.duckdb"
    duckdb.connect(str(warehouse)).close()
    stop = tmp_path / "stop"
    holder = start(HOLDER, warehouse, stop, mode)
    try:
        wait_for(Path(str(stop) + ".ready"), holder)
        with pytest.raises(WarehouseUnavailable) as raised:
            build_records.open_warehouse(warehouse, read_only=False)
    finally:
        stop.touch()
        holder.wait()
    message = str(raised.value)
    assert f"held by {role}: python" in message and f"(PID {holder.pid})" in message
    assert "-c" in message and "\n" not in message


def test_a_build_holding_the_warehouse_is_named_a_build(tmp_path):
    warehouse = tmp_path / "warehouse.duckdb"
    duckdb.connect(str(warehouse)).close()
    fake_dbt = tmp_path / "bin" / "dbt"
    fake_dbt.parent.mkdir()
    fake_dbt.write_text(HOLDER)
    stop = tmp_path / "stop"
    holder = subprocess.Popen([sys.executable, str(fake_dbt), str(warehouse), str(stop), "write"])
    try:
        wait_for(Path(str(stop) + ".ready"), holder)
        message = duckdb_lock.describe_lock_conflict(
            f'IO Error: Could not set lock on file "{warehouse}": Conflicting lock is held in '
            f"/usr/bin/python3 (PID {holder.pid}).", warehouse)
    finally:
        stop.touch()
        holder.wait()
    assert message.startswith(f"held by a build: {Path(sys.executable).name} {fake_dbt}")
    assert message.endswith(f"(PID {holder.pid})")


def test_a_holder_that_is_gone_is_named_by_its_pid(tmp_path):
    ended = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                           capture_output=True, text=True).stdout.strip()
    message = duckdb_lock.describe_lock_conflict(
        f"Could not set lock on file: Conflicting lock is held in /bin/x (PID {ended}).",
        tmp_path / "warehouse.duckdb")
    assert message == f"held by another process (PID {ended}; its command line cannot be read)"
    assert duckdb_lock.describe_lock_conflict("Catalog Error: no table", tmp_path) is None
