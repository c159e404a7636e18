"""Tests for scripts/scheduled_build.py with a fake dbt and a small temp project.

The warehouse is created by the loader itself (``load_sources.run`` over a tiny landing
dir), so ``raw.ingestion_ledger`` has the loader's shape. The fake dbt records each call
(arguments and working directory) and exits with ``$FAKE_DBT_EXIT``; with
``$FAKE_DBT_WRITE`` it also writes to the warehouse, as the real build does.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import duckdb
import pytest

SCRIPTS = Path(__file__).resolve().parents[2] / "scripts"
sys.path.insert(0, str(SCRIPTS))

import build_errors  # noqa: E402
import build_status  # noqa: E402
import load_sources  # noqa: E402
import run_parameters  # noqa: E402
import scheduled_build  # noqa: E402
import serving  # noqa: E402

FAKE_DBT = """#!{python}
import json, os, sys
with open(os.environ["FAKE_DBT_LOG"], "a") as log:
    run_parameters = {{name: os.environ[name] for name in {run_parameter_names} if name in os.environ}}
    log.write(json.dumps({{"args": sys.argv[1:], "cwd": os.getcwd(), "env": run_parameters}}) + "\\n")
if os.environ.get("FAKE_DBT_WRITE"):
    import duckdb
    con = duckdb.connect(os.environ["SEGMENTS_DUCKDB_PATH"])
    con.execute("create or replace table main.built_by_fake_dbt as select 1 as x")
    con.close()
if os.environ.get("FAKE_DBT_STATUS_COPY"):
    import shutil
    warehouse = os.environ["SEGMENTS_DUCKDB_PATH"]
    shutil.copyfile(os.path.join(os.path.dirname(warehouse), "build_status.json"), os.environ["FAKE_DBT_STATUS_COPY"])
exit_code = int(os.environ.get("FAKE_DBT_EXIT", "0"))
if exit_code == 0 and not os.environ.get("FAKE_DBT_NO_PUBLISH"):
    # publishes as the on-run-end hook does: a new serving file with its publish log
    import duckdb
    warehouse = os.environ["SEGMENTS_DUCKDB_PATH"]
    serving = os.environ.get("SEGMENTS_SERVING_PATH") or os.path.join(os.path.dirname(warehouse), "serving.duckdb")
    stage = serving + ".fake-stage"
    con = duckdb.connect(stage)
    con.execute(
        "create table publish_log as select 1 as publish_number, now() as published_at, "
        "'fake' as build_id, nullif(?, '') as build_fingerprint, "
        "nullif(?, '') as scheduled_build_number, null as as_of, 1 as table_count",
        [os.environ.get("SEGMENTS_BUILD_FINGERPRINT", ""), os.environ.get("SEGMENTS_BUILD_NUMBER", "")],
    )
    con.close()
    os.replace(stage, serving)
print("fake dbt: done")
sys.exit(exit_code)
"""

PROJECT_FILES = {
    "dbt_project.yml": (
        "name: tiny\nprofile: tiny\nmodel-paths: [models]\ntest-paths: [tests]\n"
        'vars:\n  as_of: ""\n'
    ),
    "profiles.yml": "tiny:\n  target: duckdb\n",
    "models/customers.sql": "select 1 as customer_id\n",
    "macros/as_of.sql": "{% macro as_of() %}1{% endmacro %}\n",
    "seeds/currency_rates.csv": "currency,rate\nUSD,1\n",
    "tests/assert_one_customer.sql": "select * from {{ ref('customers') }} where false\n",
    "tests/python/test_tiny.py": "def test_nothing():\n    pass\n",
    "analyses/adhoc.sql": "select 1\n",
}


def web_events_file(landing: Path, day: str, count: int = 2) -> Path:
    path = landing / "web" / "events" / f"date={day}" / "part-0.jsonl"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(
        json.dumps({"event_id": f"{day}-{i}", "anonymous_id": "a1", "event_type": "page_view",
                    "occurred_at": f"{day}T10:00:00Z"}) + "\n"
        for i in range(count)
    ))
    return path


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "project"
    for name, text in PROJECT_FILES.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    return root


@pytest.fixture(scope="module")
def loaded_template(tmp_path_factory) -> tuple[Path, Path]:
    """Landing dir and warehouse after the loader loaded one file (built once, copied)."""
    root = tmp_path_factory.mktemp("template")
    web_events_file(root / "landing", "2026-01-01")
    load_sources.run(root / "landing", root / "warehouse.duckdb")
    return root / "landing", root / "warehouse.duckdb"


@pytest.fixture
def landing(tmp_path: Path, loaded_template) -> Path:
    shutil.copytree(loaded_template[0], tmp_path / "landing")
    return tmp_path / "landing"


@pytest.fixture
def warehouse(tmp_path: Path, landing: Path, loaded_template, monkeypatch) -> Path:
    """A warehouse the loader created, with one loaded file; the gate points at it."""
    database = tmp_path / "warehouse.duckdb"
    shutil.copyfile(loaded_template[1], database)
    monkeypatch.setenv("SEGMENTS_DUCKDB_PATH", str(database))
    return database


@pytest.fixture
def fake_dbt(tmp_path: Path, monkeypatch) -> Path:
    path = tmp_path / "fake_dbt"
    path.write_text(FAKE_DBT.format(
        python=sys.executable, run_parameter_names=sorted(run_parameters.RUN_PARAMETER_ENV.values())
    ))
    path.chmod(0o755)
    monkeypatch.setenv("FAKE_DBT_LOG", str(tmp_path / "fake_dbt_calls.jsonl"))
    monkeypatch.delenv("FAKE_DBT_EXIT", raising=False)
    monkeypatch.delenv("FAKE_DBT_WRITE", raising=False)
    # `make test-python` exports the repository's profiles dir; the temp project has its own.
    monkeypatch.delenv("DBT_PROFILES_DIR", raising=False)
    return path


@pytest.fixture
def gate(project: Path, fake_dbt: Path, capfd):
    """Run the gate on the temp project; returns (exit code, stdout, stderr)."""

    def run(*args: str) -> tuple[int, str, str]:
        capfd.readouterr()
        code = scheduled_build.main(
            ["--dbt", str(fake_dbt), "--project-dir", str(project), *args]
        )
        out, err = capfd.readouterr()
        return code, out, err

    return run


def calls(fake_dbt: Path) -> list[dict]:
    log = fake_dbt.parent / "fake_dbt_calls.jsonl"
    if not log.exists():
        return []
    return [json.loads(line) for line in log.read_text().splitlines()]


def builds(database: Path) -> list[tuple]:
    con = duckdb.connect(str(database), read_only=True)
    try:
        return con.execute(
            "SELECT build_number, fingerprint, fingerprint_parts, started_at, finished_at, "
            "duration_seconds, dbt_exit_code FROM ops.scheduled_builds ORDER BY build_number"
        ).fetchall()
    finally:
        con.close()


def gate_lines(out: str) -> list[str]:
    return [line for line in out.splitlines() if line.startswith("scheduled build:")]


# ------------------------------------------------------------------- build or skip


def test_first_run_builds_and_records_the_fingerprint(
    warehouse, gate, fake_dbt, project, monkeypatch
):
    monkeypatch.setattr(scheduled_build, "utc_now", lambda: datetime(2026, 3, 1, 6, 0))
    code, out, _ = gate()
    assert code == 0
    # as_of reaches dbt as an environment variable, the marks too once there are any (the
    # first build has none: they are passed empty, not inherited)
    assert calls(fake_dbt) == [
        {"args": ["build", "--exclude-resource-type", "unit_test"], "cwd": str(project),
         "env": {"SEGMENTS_AS_OF": "2026-03-01", "SEGMENTS_RAW_ROWS_ACCOUNTED_AFTER": "",
                 "SEGMENTS_LAST_CHECKED_BUILD_AT": ""}}
    ]
    assert "fake dbt: done" in out
    assert "no build recorded in this warehouse yet" in out
    [(number, fingerprint, parts, started, finished, seconds, exit_code)] = builds(warehouse)
    assert (number, exit_code) == (1, 0)
    assert len(fingerprint) == 64 and fingerprint[:12] in out
    assert finished >= started and seconds >= 0
    parts = json.loads(parts)
    assert parts["ledger"]["loaded_files"] == 1 and parts["ledger"]["loaded_rows"] == 2
    assert parts["as_of"] == "2026-03-01"  # the project's as_of is empty: today (UTC)
    assert parts["dbt_args"] == ["--exclude-resource-type", "unit_test"]
    assert parts["versions"]["dbt-core"]


def test_second_run_with_nothing_new_skips_without_starting_dbt(warehouse, gate, fake_dbt):
    gate()
    code, out, err = gate()
    assert code == 0 and err == ""
    assert len(calls(fake_dbt)) == 1
    # One line, naming what was compared.
    [line] = out.splitlines()
    assert "skipped" in line and "build #1" in line
    for compared in ("ledger: 1 loaded files", "as_of", "vars", "code sha256", "dbt-core"):
        assert compared in line
    assert len(builds(warehouse)) == 1


def test_new_loaded_file_triggers_a_build(warehouse, landing, gate, fake_dbt):
    gate()
    web_events_file(landing, "2026-01-02")
    load_sources.run(landing, warehouse)
    code, out, _ = gate()
    assert code == 0 and len(calls(fake_dbt)) == 2
    assert "changed since the last build (#1" in out and ": ledger" in out
    assert json.loads(builds(warehouse)[-1][2])["ledger"]["loaded_files"] == 2
    gate()
    assert len(calls(fake_dbt)) == 2


def test_a_failed_load_changes_no_data_and_does_not_trigger_a_build(
    warehouse, landing, gate, fake_dbt
):
    gate()
    broken = landing / "web" / "events" / "date=2026-01-02" / "part-0.jsonl"
    broken.parent.mkdir(parents=True)
    broken.write_text("{not json\n")
    summary = load_sources.run(landing, warehouse)
    assert len(summary.failed) == 1
    code, out, _ = gate()
    assert code == 0 and "skipped" in out and len(calls(fake_dbt)) == 1


def test_changed_as_of_triggers_a_build_and_equal_vars_skip(warehouse, gate, fake_dbt):
    gate("--", "--vars", "{as_of: 2026-01-01}")
    # Same vars written differently: same fingerprint.
    code, out, _ = gate("--", "--vars", '{"as_of": "2026-01-01"}')
    assert code == 0 and "skipped" in out and len(calls(fake_dbt)) == 1
    code, out, _ = gate("--", "--vars", "{as_of: 2026-01-02}")
    assert code == 0 and len(calls(fake_dbt)) == 2
    assert "as_of, dbt_args, vars" in out
    # as_of leaves --vars for $SEGMENTS_AS_OF, so dbt keeps its saved parse
    assert calls(fake_dbt)[-1]["args"] == ["build"]
    assert calls(fake_dbt)[-1]["env"]["SEGMENTS_AS_OF"] == "2026-01-02"
    assert json.loads(builds(warehouse)[-1][2])["as_of"] == "2026-01-02"


def test_empty_as_of_builds_again_on_the_next_utc_day(warehouse, gate, fake_dbt, monkeypatch):
    monkeypatch.setattr(scheduled_build, "utc_now", lambda: datetime(2026, 3, 1, 23, 59))
    gate()
    gate()
    assert len(calls(fake_dbt)) == 1
    monkeypatch.setattr(scheduled_build, "utc_now", lambda: datetime(2026, 3, 2, 0, 1))
    code, out, _ = gate()
    assert code == 0 and len(calls(fake_dbt)) == 2 and ": as_of" in out
    assert json.loads(builds(warehouse)[-1][2])["as_of"] == "2026-03-02"


def test_each_changed_code_or_config_file_triggers_a_build(warehouse, gate, fake_dbt, project):
    gate()
    changed = ["models/customers.sql", "macros/as_of.sql", "seeds/currency_rates.csv",
               "tests/assert_one_customer.sql", "dbt_project.yml", "profiles.yml"]
    for number, name in enumerate(changed, start=2):
        with open(project / name, "a") as handle:
            handle.write("\n# changed\n")
        code, out, _ = gate()
        assert code == 0 and len(calls(fake_dbt)) == number and ": code" in out, name


def test_new_model_file_triggers_a_build(warehouse, gate, fake_dbt, project):
    gate()
    (project / "models" / "orders.sql").write_text("select 1 as order_id\n")
    gate()
    assert len(calls(fake_dbt)) == 2


def test_pytest_suites_analyses_and_hidden_files_do_not_count(warehouse, gate, fake_dbt, project):
    gate()
    (project / "tests" / "python" / "test_tiny.py").write_text("def test_other():\n    pass\n")
    (project / "analyses" / "adhoc.sql").write_text("select 2\n")
    (project / "models" / ".customers.sql.swp").write_text("editor state")
    code, out, _ = gate()
    assert code == 0 and "skipped" in out and len(calls(fake_dbt)) == 1


def test_other_dbt_arguments_are_passed_through_and_count(warehouse, gate, fake_dbt):
    gate("--", "--select", "customers")
    assert calls(fake_dbt)[-1]["args"] == ["build", "--select", "customers"]
    gate()
    assert len(calls(fake_dbt)) == 2


# ------------------------------------------------------------------ row accounting


def ledger_mark(database: Path, build_number: int) -> str:
    """The ledger mark a recorded build saw, as the gate passes it to dbt."""
    parts = json.loads(builds(database)[build_number - 1][2])
    return datetime.fromisoformat(parts["ledger"]["last_loaded_at"]).strftime(
        "%Y-%m-%d %H:%M:%S.%f"
    )


def passed_var(call: dict, name: str) -> str | None:
    """A run parameter as dbt reads it (macros/utils/run_parameter.sql): the var when given
    and not empty, else its environment variable when not empty."""
    args = call["args"]
    given = json.loads(args[args.index("--vars") + 1]).get(name) if "--vars" in args else None
    if given not in (None, ""):
        return given
    return call["env"].get(run_parameters.RUN_PARAMETER_ENV[name]) or None


def accounted_after(call: dict) -> str | None:
    return passed_var(call, "raw_rows_accounted_after")


def checked_build_at(call: dict) -> str | None:
    return passed_var(call, "last_checked_build_at")


def build_end(database: Path, build_number: int) -> str:
    """When a recorded build ended, as the gate passes it to dbt."""
    return builds(database)[build_number - 1][4].strftime("%Y-%m-%d %H:%M:%S.%f")


def test_row_accounting_starts_after_the_last_successful_whole_project_build(
    warehouse, landing, gate, fake_dbt, monkeypatch
):
    gate()
    # The first build has no earlier one: the tests use their own window.
    assert accounted_after(calls(fake_dbt)[0]) is None
    first_mark = ledger_mark(warehouse, 1)
    web_events_file(landing, "2026-01-02")
    load_sources.run(landing, warehouse)
    code, out, _ = gate()
    assert code == 0
    assert accounted_after(calls(fake_dbt)[1]) == first_mark
    assert calls(fake_dbt)[1]["args"][:3] == ["build", "--exclude-resource-type", "unit_test"]
    assert f"rows loaded after {first_mark}" in out
    # The passed var is not part of the fingerprint: nothing new still skips.
    assert "skipped" in gate()[1]
    # A failed build does not move the mark: its tests may not have run.
    second_mark = ledger_mark(warehouse, 2)
    assert second_mark > first_mark
    web_events_file(landing, "2026-01-03")
    load_sources.run(landing, warehouse)
    monkeypatch.setenv("FAKE_DBT_EXIT", "1")
    gate()
    monkeypatch.setenv("FAKE_DBT_EXIT", "0")
    gate()
    assert [accounted_after(call) for call in calls(fake_dbt)[2:]] == [second_mark, second_mark]


def test_partial_builds_neither_get_nor_move_the_row_accounting_mark(
    warehouse, landing, gate, fake_dbt
):
    gate()
    first_mark = ledger_mark(warehouse, 1)
    web_events_file(landing, "2026-01-02")
    load_sources.run(landing, warehouse)
    partial = [
        ["--select", "customers"],
        ["--full-refresh"],
        ["--exclude-resource-type", "unit_test", "--exclude-resource-type", "test"],
        ["--exclude-resource-types", "unit_test", "test"],
        ["--empty"],
    ]
    for number, args in enumerate(partial, start=1):
        gate("--", *args)
        assert calls(fake_dbt)[number]["args"] == ["build", *args]
    gate("--", "--exclude-resource-types=unit_test", "--vars", "{as_of: 2026-01-02}")
    assert calls(fake_dbt)[-1]["args"] == ["build", "--exclude-resource-types=unit_test"]
    assert calls(fake_dbt)[-1]["env"] == {
        "SEGMENTS_AS_OF": "2026-01-02",
        "SEGMENTS_LAST_CHECKED_BUILD_AT": build_end(warehouse, 1),
        "SEGMENTS_RAW_ROWS_ACCOUNTED_AFTER": first_mark,
    }


def test_data_tests_check_the_rows_built_after_the_last_successful_whole_project_build(
    warehouse, landing, gate, fake_dbt, monkeypatch
):
    ends = iter([datetime(2026, 3, 1, 6, minute) for minute in range(0, 60, 5)])
    monkeypatch.setattr(scheduled_build, "utc_now", lambda: next(ends))
    code, out, _ = gate()
    # The first build has no earlier one: its tests read every row.
    assert code == 0 and checked_build_at(calls(fake_dbt)[0]) is None
    assert "rows built after" not in out
    first_end = build_end(warehouse, 1)
    assert first_end == "2026-03-01 06:05:00.000000"
    web_events_file(landing, "2026-01-02")
    load_sources.run(landing, warehouse)
    code, out, _ = gate()
    assert code == 0 and checked_build_at(calls(fake_dbt)[1]) == first_end
    assert f"rows built after {first_end}" in out
    # A failed build, and a selection that succeeded, leave the mark where it was: rows
    # they wrote are checked by the next whole-project build.
    second_end = build_end(warehouse, 2)
    web_events_file(landing, "2026-01-03")
    load_sources.run(landing, warehouse)
    monkeypatch.setenv("FAKE_DBT_EXIT", "1")
    gate()
    monkeypatch.setenv("FAKE_DBT_EXIT", "0")
    gate("--", "--select", "customers")
    gate()
    assert [checked_build_at(call) for call in calls(fake_dbt)[2:]] == [
        second_end, None, second_end
    ]
    # A caller's own value is kept.
    web_events_file(landing, "2026-01-04")
    load_sources.run(landing, warehouse)
    gate("--", "--vars", "{last_checked_build_at: '2020-01-01 00:00:00'}")
    assert checked_build_at(calls(fake_dbt)[-1]) == "2020-01-01 00:00:00"


def test_row_accounting_var_given_by_the_caller_is_kept(warehouse, gate, fake_dbt):
    gate()
    given = "{raw_rows_accounted_after: '2020-01-01 00:00:00'}"
    gate("--", "--vars", given)
    assert calls(fake_dbt)[1]["args"][:2] == ["build", "--vars"]
    assert accounted_after(calls(fake_dbt)[1]) == "2020-01-01 00:00:00"
    assert checked_build_at(calls(fake_dbt)[1]) == build_end(warehouse, 1)


# ------------------------------------------------------------- failures and --force


def test_failed_build_records_no_success_and_the_next_run_builds(
    warehouse, gate, fake_dbt, monkeypatch
):
    monkeypatch.setenv("FAKE_DBT_EXIT", "1")
    code, _, err = gate()
    assert code == 1
    assert "exited with 1" in err and "next run builds again" in err
    assert [row[6] for row in builds(warehouse)] == [1]
    # A retry with the same inputs builds, its failure again records no success.
    code, out, _ = gate()
    assert code == 1 and "failed with exit code 1" in out and len(calls(fake_dbt)) == 2
    monkeypatch.setenv("FAKE_DBT_EXIT", "0")
    assert gate()[0] == 0
    assert len(calls(fake_dbt)) == 3
    assert gate()[0] == 0
    assert len(calls(fake_dbt)) == 3
    assert [row[6] for row in builds(warehouse)] == [1, 1, 0]


def test_inputs_reverted_after_a_failed_build_still_build(
    warehouse, gate, fake_dbt, project, monkeypatch
):
    """The failed build may have replaced models, so the last success no longer describes them."""
    model = project / "models" / "customers.sql"
    original = model.read_text()
    gate()
    model.write_text("select 1 / 0 as customer_id\n")
    monkeypatch.setenv("FAKE_DBT_EXIT", "1")
    assert gate()[0] == 1
    model.write_text(original)
    monkeypatch.setenv("FAKE_DBT_EXIT", "0")
    code, out, _ = gate()
    assert code == 0 and len(calls(fake_dbt)) == 3 and "failed with exit code 1" in out


def test_force_always_builds(warehouse, gate, fake_dbt):
    gate()
    code, out, _ = gate("--force")
    assert code == 0 and len(calls(fake_dbt)) == 2 and "--force given" in out
    assert len(builds(warehouse)) == 2


def test_missing_warehouse_builds_and_is_created_with_the_record(
    tmp_path, gate, fake_dbt, monkeypatch
):
    database = tmp_path / "new" / "warehouse.duckdb"
    monkeypatch.setenv("SEGMENTS_DUCKDB_PATH", str(database))
    code, out, _ = gate()
    assert code == 0 and len(calls(fake_dbt)) == 1 and "does not exist yet" in out
    [row] = builds(database)
    assert row[6] == 0 and json.loads(row[2])["ledger"] is None
    assert "skipped" in gate()[1]


def test_relative_warehouse_path_is_relative_to_the_project(
    project, gate, fake_dbt, monkeypatch
):
    monkeypatch.setenv("SEGMENTS_DUCKDB_PATH", "data/warehouse.duckdb")
    assert gate()[0] == 0
    assert builds(project / "data" / "warehouse.duckdb")[0][6] == 0


def test_dbt_can_write_the_warehouse_while_it_runs(warehouse, gate, fake_dbt, monkeypatch):
    """The gate holds no connection while dbt runs (DuckDB allows one writer)."""
    monkeypatch.setenv("FAKE_DBT_WRITE", "1")
    code, _, err = gate()
    assert code == 0, err
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        assert con.execute("SELECT x FROM main.built_by_fake_dbt").fetchall() == [(1,)]
    finally:
        con.close()


# ----------------------------------------------------------------- the status file


def audience_manifest(project: Path) -> None:
    """A dbt manifest in which the audience mart reads web.events (with an SLA) through a
    staging model, and an unrelated source feeds nothing the exports read."""
    manifest = {
        "nodes": {
            "model.tiny.stg_web__events": {"resource_type": "model", "name": "stg_web__events"},
            "model.tiny.fct_audience_eligibility": {"resource_type": "model", "name": "fct_audience_eligibility"},
            "model.tiny.rpt_other": {"resource_type": "model", "name": "rpt_other"},
        },
        "sources": {
            "source.tiny.web.events": {"source_name": "web", "name": "events", "freshness": {
                "warn_after": {"count": 26, "period": "hour"}, "error_after": {"count": 2, "period": "day"}}},
            "source.tiny.shop.orders": {"source_name": "shop", "name": "orders", "freshness": {}},
        },
        "parent_map": {
            "model.tiny.fct_audience_eligibility": ["model.tiny.stg_web__events"],
            "model.tiny.stg_web__events": ["source.tiny.web.events"],
            "model.tiny.rpt_other": ["source.tiny.shop.orders"],
        },
    }
    (project / "target").mkdir(exist_ok=True)
    (project / "target" / "manifest.json").write_text(json.dumps(manifest))


def test_the_status_file_says_running_then_succeeded_with_the_sources_freshness(
    warehouse, gate, fake_dbt, project, monkeypatch, tmp_path
):
    audience_manifest(project)
    monkeypatch.delenv("DBT_TARGET_PATH", raising=False)
    monkeypatch.setenv("FAKE_DBT_STATUS_COPY", str(tmp_path / "status_during_build.json"))
    code, _, _ = gate()
    assert code == 0
    during = json.loads((tmp_path / "status_during_build.json").read_text())
    assert during["last_attempt"]["state"] == "running" and during["last_success"] is None
    status = build_status.read_status(build_status.status_path(warehouse))
    assert status["last_attempt"]["state"] == "succeeded"
    assert status["last_success"]["build_number"] == 1
    assert status["last_success"]["fingerprint"] == builds(warehouse)[0][1]
    [source] = status["sources"]
    assert (source["source"], source["table"], source["warn_after_hours"], source["error_after_hours"]) == (
        "web", "events", 26.0, 48.0)
    assert source["feeds"] == ["fct_audience_eligibility"]
    loaded = duckdb.connect(str(warehouse), read_only=True).execute(
        "select max(loaded_at) from raw.ingestion_ledger where status = 'loaded'").fetchone()[0]
    assert source["newest_loaded_at"] == loaded.isoformat()


def test_a_failed_build_is_in_the_status_file_and_keeps_the_last_success(
    warehouse, gate, fake_dbt, monkeypatch
):
    gate()
    monkeypatch.setenv("FAKE_DBT_EXIT", "1")
    code, _, _ = gate("--force")
    assert code == 1
    status = build_status.read_status(build_status.status_path(warehouse))
    assert (status["last_attempt"]["state"], status["last_attempt"]["build_number"]) == ("failed", 2)
    assert status["last_attempt"]["exit_code"] == 1
    assert status["last_success"]["build_number"] == 1


def test_a_skipped_build_writes_a_missing_status_file(warehouse, gate, fake_dbt):
    gate()
    path = build_status.status_path(warehouse)
    path.unlink()
    code, out, _ = gate()
    assert code == 0 and "skipped" in out
    status = build_status.read_status(path)
    assert status["last_success"]["build_number"] == 1 and status["last_attempt"]["state"] == "succeeded"


# ------------------------------------------------------------------------ bad input


@pytest.mark.parametrize(
    ("dbt_args", "message"),
    [
        (["--vars", "{as_of: [2026"], "--vars is not valid YAML"),
        (["--vars", "as_of"], "--vars must be a YAML mapping"),
        (["--vars", "{as_of: 2026-13-01}"], "not valid YAML (month must be in 1..12)"),
        (["--vars", "{as_of: '01/03/2026'}"], "as_of from --vars must be a date written"),
        (["--vars"], "--vars needs a value"),
    ],
)
def test_bad_vars_are_a_clear_error_before_dbt(warehouse, gate, fake_dbt, dbt_args, message):
    code, out, err = gate("--", *dbt_args)
    assert code == 2 and out == ""
    assert err.startswith("scheduled build: error: ") and message in err
    assert calls(fake_dbt) == [] and len(err.splitlines()) == 1


def test_warehouse_path_that_is_a_folder_is_a_clear_error(tmp_path, gate, fake_dbt, monkeypatch):
    monkeypatch.setenv("SEGMENTS_DUCKDB_PATH", str(tmp_path))
    code, _, err = gate()
    assert code == 2 and "is not a file" in err and calls(fake_dbt) == []


def test_missing_dbt_is_a_clear_error_and_records_nothing(warehouse, project, capfd):
    code = scheduled_build.main(
        ["--dbt", str(project / "no_such_dbt"), "--project-dir", str(project)]
    )
    _, err = capfd.readouterr()
    assert code == 2 and "not found" in err
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        assert not con.execute(
            "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'ops'"
        ).fetchone()[0]
    finally:
        con.close()


def test_command_line_errors_print_no_stack_trace(warehouse, project, fake_dbt):
    script = [sys.executable, str(SCRIPTS / "scheduled_build.py"),
              "--dbt", str(fake_dbt), "--project-dir", str(project)]
    bad_vars = subprocess.run(script + ["--", "--vars", "{as_of: [2026"],
                              capture_output=True, text=True)
    assert bad_vars.returncode == 2
    assert "--vars is not valid YAML" in bad_vars.stderr and "Traceback" not in bad_vars.stderr
    assert calls(fake_dbt) == []


def test_dbt_options_before_the_separator_are_refused_with_a_hint(
    warehouse, gate, fake_dbt, capfd
):
    with pytest.raises(SystemExit) as exited:
        gate("--vars", "{as_of: 2026-01-01}")
    assert exited.value.code == 2 and calls(fake_dbt) == []
    assert "arguments for dbt build go after --" in capfd.readouterr().err


# ---------------------------------------------------------------- as_of resolution


@pytest.mark.parametrize(
    ("cli_vars", "project_vars", "expected"),
    [
        ({}, {"as_of": ""}, "2026-05-05"),
        ({}, {}, "2026-05-05"),
        ({}, {"as_of": None}, "2026-05-05"),
        ({"as_of": "today"}, {"as_of": "2026-01-01"}, "2026-05-05"),
        ({}, {"as_of": "2026-01-01"}, "2026-01-01"),
        ({"as_of": "2026-02-02"}, {"as_of": "2026-01-01"}, "2026-02-02"),
        ({}, {"as_of": "", "tiny": {"as_of": "2026-03-03"}}, "2026-03-03"),
    ],
)
def test_as_of_resolves_like_the_project_macro(cli_vars, project_vars, expected):
    project = {"name": "tiny", "vars": project_vars}
    assert run_parameters.resolve_as_of(cli_vars, project, "2026-05-05", environ={}) == expected


@pytest.mark.parametrize(
    ("cli_vars", "project_vars", "environ", "expected"),
    [
        # the environment variable is read when the var is empty or null, as run_parameter does
        ({}, {"as_of": ""}, {"SEGMENTS_AS_OF": "2026-06-06"}, "2026-06-06"),
        ({}, {"as_of": None}, {"SEGMENTS_AS_OF": " 2026-06-06 "}, "2026-06-06"),
        ({"as_of": ""}, {}, {"SEGMENTS_AS_OF": "2026-06-06"}, "2026-06-06"),
        # a given var wins; an empty environment variable is none
        ({"as_of": "2026-02-02"}, {}, {"SEGMENTS_AS_OF": "2026-06-06"}, "2026-02-02"),
        ({}, {"as_of": "2026-01-01"}, {"SEGMENTS_AS_OF": "2026-06-06"}, "2026-01-01"),
        ({"as_of": "today"}, {}, {"SEGMENTS_AS_OF": "2026-06-06"}, "2026-05-05"),
        ({}, {"as_of": ""}, {"SEGMENTS_AS_OF": ""}, "2026-05-05"),
    ],
)
def test_as_of_from_the_environment_resolves_like_run_parameter(cli_vars, project_vars, environ, expected):
    project = {"name": "tiny", "vars": project_vars}
    assert run_parameters.resolve_as_of(cli_vars, project, "2026-05-05", environ=environ) == expected


def test_bad_as_of_in_the_environment_is_a_clear_error():
    with pytest.raises(build_errors.UsageError, match=r"as_of from \$SEGMENTS_AS_OF must be a date"):
        run_parameters.resolve_as_of({}, {}, "2026-05-05", environ={"SEGMENTS_AS_OF": "yesterday"})


@pytest.mark.parametrize(
    ("dbt_args", "project_vars", "expected_args", "passes_as_of"),
    [
        # as_of leaves --vars; the other vars stay, in either spelling of --vars
        (["--vars", "{as_of: 2026-01-02}"], {"as_of": ""}, [], True),
        (["--vars", "{as_of: 2026-01-02, x: 1}"], {"as_of": ""}, ["--vars", '{"x":1}'], True),
        (["--vars={as_of: 2026-01-02}", "--select", "m"], {}, ["--select", "m"], True),
        (["--vars={x: 1, as_of: 2026-01-02}"], {}, ['--vars={"x":1}'], True),
        (["--vars", "{as_of: 2026-01-02}"], {"as_of": None}, [], True),
        # the project's own as_of would win over the environment variable: stays in --vars
        (["--vars", "{as_of: 2026-01-02}"], {"as_of": "2026-01-01"}, ["--vars", "{as_of: 2026-01-02}"], False),
        # dbt reads only the last of several --vars: left as given
        (["--vars", "{x: 1}", "--vars", "{as_of: 2026-01-02}"], {},
         ["--vars", "{x: 1}", "--vars", "{as_of: 2026-01-02}"], False),
    ],
)
def test_as_of_reaches_dbt_as_an_environment_variable(dbt_args, project_vars, expected_args, passes_as_of):
    args, environment = run_parameters.dbt_invocation(
        dbt_args, "2026-01-02", {}, {"name": "tiny", "vars": project_vars})
    assert args == expected_args
    assert environment["SEGMENTS_AS_OF"] == ("2026-01-02" if passes_as_of else "")


def test_run_parameters_are_not_inherited_from_the_callers_environment(
    warehouse, gate, fake_dbt, monkeypatch
):
    """A mark left in the caller's environment would narrow the first build's tests."""
    monkeypatch.setenv("SEGMENTS_LAST_CHECKED_BUILD_AT", "2020-01-01 00:00:00")
    monkeypatch.setenv("SEGMENTS_RAW_ROWS_ACCOUNTED_AFTER", "2020-01-01 00:00:00")
    gate()
    assert calls(fake_dbt)[0]["env"]["SEGMENTS_LAST_CHECKED_BUILD_AT"] == ""
    assert calls(fake_dbt)[0]["env"]["SEGMENTS_RAW_ROWS_ACCOUNTED_AFTER"] == ""
    assert checked_build_at(calls(fake_dbt)[0]) is None and accounted_after(calls(fake_dbt)[0]) is None


def test_as_of_resolution_reads_a_yaml_date_as_dbt_does():
    _, cli_vars = run_parameters.normalised_dbt_args(["--vars={as_of: 2026-04-04}"])
    assert run_parameters.resolve_as_of(cli_vars, {}, "2026-05-05") == "2026-04-04"
