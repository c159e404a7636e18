"""scripts/benchmark.py end to end at a tiny scale.

Runs the whole benchmark (generate, load, full, no-op and one-day incremental builds, the
bare-DuckDB baseline at both as_of dates, and once more at the first with a reference
memory limit) on 300 customers and 30 days, and checks that it exits 0, which means the
baseline's memberships equal the dbt marts' in every baseline run (behavioural conditions
compiled twice, independently), and that the report has every step and ratio. A second
run adds the 20 generated behavioural segments (--behavioural-segments 20) and compares
their memberships too. Wall-clock figures are not
asserted: the machine is shared.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
BENCHMARK = REPO / "scripts" / "benchmark.py"

STEPS = (
    "generate",
    "load",
    "full build",
    "publish",
    "no-op build",
    "no-op dbt build",
    "baseline",
    "increment generate",
    "increment load",
    "incremental build",
    "publish (incremental build)",
    "baseline (next day)",
)
RATIOS = (
    "full build / baseline",
    "incremental build / full build",
    "no-op build (s)",
    "no-op dbt build, gate bypassed / full build",
    "peak RSS of any step (MB)",
)

KINDS = ("all", "any", "not", "performed", "first_performed", "last_performed", "stopped_performing",
         "restarted_performing", "per_key", "member_of", "random_bucket")

pytestmark = pytest.mark.skipif(
    not all((REPO / "scripts" / name).exists() for name in ("generate_sources.py", "load_sources.py")),
    reason="needs scripts/generate_sources.py and scripts/load_sources.py",
)


@pytest.fixture(scope="module")
def benchmark_run(tmp_path_factory: pytest.TempPathFactory) -> dict:
    workdir = tmp_path_factory.mktemp("benchmark") / "run"
    output = workdir.parent / "report.md"
    result = subprocess.run(
        [sys.executable, str(BENCHMARK), "--customers", "300", "--days", "30", "--seed", "5",
         "--workdir", str(workdir), "--output", str(output), "--baseline-memory-limit", "2GB",
         "--reference-baseline-memory-limit", "1GB"],
        cwd=REPO, capture_output=True, text=True,
    )
    return {"result": result, "output": output}


def table_rows(report: str) -> dict[str, list[str]]:
    rows = {}
    for line in report.splitlines():
        if line.startswith("| ") and not line.startswith("| ---"):
            cells = [cell.strip() for cell in line.strip("|").split("|")]
            rows[cells[0]] = cells[1:]
    return rows


def test_benchmark_succeeds_and_memberships_match(benchmark_run: dict) -> None:
    result = benchmark_run["result"]
    assert result.returncode == 0, f"benchmark failed:\n{result.stdout[-6000:]}\n{result.stderr[-3000:]}"
    rows = table_rows(benchmark_run["output"].read_text())
    checks = {name: cells for name, cells in rows.items() if name.endswith(("memberships", "primary segments"))}
    # memberships and primary segments at both as_of dates, and for the reference baseline
    assert len(checks) == 6, f"expected two membership checks per baseline run, got {sorted(checks)}"
    assert all(cells[0] == "0" for cells in checks.values()), checks


def test_report_has_every_step_and_ratio(benchmark_run: dict) -> None:
    assert benchmark_run["result"].returncode == 0
    rows = table_rows(benchmark_run["output"].read_text())
    for step in STEPS:
        assert step in rows, f"report lacks the step {step!r}"
        seconds, peak_mb = float(rows[step][0]), float(rows[step][1])
        assert seconds > 0 and peak_mb > 0, (step, rows[step])
    for ratio in RATIOS:
        assert ratio in rows, f"report lacks the ratio {ratio!r}"
        float(rows[ratio][0])


def test_baseline_runs_with_its_own_memory_limit_and_the_report_says_so(benchmark_run: dict) -> None:
    assert benchmark_run["result"].returncode == 0
    report = benchmark_run["output"].read_text()
    rows = table_rows(report)
    assert rows["baseline"][2].endswith("memory_limit 2GB"), rows["baseline"]
    assert rows["baseline (next day)"][2].endswith("memory_limit 2GB"), rows["baseline (next day)"]
    assert rows["baseline at 1GB"][2].endswith("memory_limit 1GB"), rows["baseline at 1GB"]
    full, reference = float(rows["full build"][0]), float(rows["baseline at 1GB"][0])
    # the report's seconds are rounded to 0.1 s, its ratio is computed before rounding
    reported_ratio = float(rows["full build / baseline at 1GB"][0])
    assert (full - 0.05) / (reference + 0.05) <= reported_ratio <= (full + 0.05) / (reference - 0.05), (
        reported_ratio, full, reference)
    build_limit = os.environ.get("SEGMENTS_DUCKDB_MEMORY_LIMIT", "3GB")
    assert f"{build_limit} for the loader and the builds; 2GB for the baseline." in report


def test_baseline_rules_come_from_the_registry() -> None:
    sys.path.insert(0, str(REPO / "scripts"))
    import benchmark

    rendered = benchmark.render_baseline(benchmark.DEFAULT_END_DATE)
    assert "{{" not in rendered
    import yaml

    registry = yaml.safe_load((REPO / "models" / "marts" / "segments" / "_segment_registry.yml").read_text())
    segments = registry["macros"][0]["meta"]["segments"]
    for segment in segments:
        computed = segment["status"] == "active" and not segment.get("is_default")
        assert (f"'{segment['key']}' as segment_key" in rendered) == computed, segment["key"]


def test_generated_behavioural_segments_match_the_marts(tmp_path: Path) -> None:
    workdir = tmp_path / "run"
    output = tmp_path / "report.md"
    result = subprocess.run(
        [sys.executable, str(BENCHMARK), "--customers", "300", "--days", "30", "--seed", "5",
         "--workdir", str(workdir), "--output", str(output), "--behavioural-segments", "20"],
        cwd=REPO, capture_output=True, text=True,
    )
    report = output.read_text()
    assert "Segment registry: a copy of the project's registry with 20 generated behavioural segments added." in report
    assert "'bench_browsed_not_bought_category' as segment_key" in (workdir / "baseline_2026-06-30.sql").read_text()
    rows = table_rows(report)
    checks = {name: cells for name, cells in rows.items() if name.endswith(("memberships", "primary segments"))}
    assert len(checks) == 4, sorted(checks)
    assert all(cells[0] == "0" for cells in checks.values()), (checks, result.stdout[-3000:])
    assert result.returncode == 0, result.stderr[-3000:]


def test_generated_segments_cover_every_condition_kind_and_family_and_validate(tmp_path: Path) -> None:
    sys.path.insert(0, str(REPO / "scripts"))
    import benchmark
    import benchmark_segments
    import yaml

    def kinds(node: object) -> set[str]:
        if isinstance(node, list):
            return set().union(*(kinds(child) for child in node))
        if not isinstance(node, dict):
            return set()
        found = {key for key in node if key in KINDS}
        return found.union(*(kinds(value) for value in node.values()))

    segments = benchmark_segments.generated_segments(20)
    trees = [segment["conditions"] for segment in segments]
    assert kinds(trees) == set(KINDS)
    events = set().union(*(benchmark.condition_events(tree) for tree in trees))
    catalogue = yaml.safe_load((REPO / "models" / "marts" / "segments" / "_segment_event_catalogue.yml").read_text())
    families = catalogue["macros"][0]["meta"]["families"]
    assert all(events & set(family["events"]) for family in families.values()), events
    assert all(segment["status"] == "active" and segment["channels"] == ["onsite"] for segment in segments)

    for count, without in ((20, False), (0, True)):
        workdir = tmp_path / f"run_{count}_{without}"
        workdir.mkdir()
        project, note = benchmark_segments.prepare_project(workdir, count, without)
        assert project != REPO and note
        result = subprocess.run([sys.executable, "scripts/segment_registry.py", "validate"], cwd=project,
                                capture_output=True, text=True)
        assert result.returncode == 0, result.stdout + result.stderr
        registry = yaml.safe_load((project / benchmark_segments.REGISTRY).read_text())["macros"][0]["meta"]["segments"]
        with_conditions = [segment for segment in registry if segment.get("conditions") is not None]
        if without:
            assert with_conditions and all(segment["status"] == "draft" for segment in with_conditions)
        else:
            assert sum(segment["key"].startswith("bench_") for segment in registry) == 20
    assert benchmark_segments.prepare_project(tmp_path, 0, False)[0] == REPO
    with pytest.raises(SystemExit, match="--behavioural-segments must be"):
        benchmark_segments.generated_segments(21)


def test_random_bucket_is_the_md5_bucket_of_segment_and_customer() -> None:
    """The baseline's random_bucket: int(md5('<segment key>|<customer_id>')[:7], 16) % 10000
    below percent * 100, checked against Python's md5 on a few customers."""
    import hashlib

    import duckdb

    sys.path.insert(0, str(REPO / "scripts"))
    import benchmark_conditions

    compiled = benchmark_conditions.compile_conditions(
        "bench_visitor_sample", {"random_bucket": {"percent": 25}}, dt.date(2026, 6, 30), "s1_0")
    assert not compiled.ctes and not compiled.member_of
    customers = [f"cus_{number}" for number in range(400)]
    connection = duckdb.connect()
    rows = connection.execute(
        f"select customer_id, {compiled.expression} from unnest(?) as customers(customer_id)", [customers]).fetchall()
    expected = {customer: int(hashlib.md5(f"bench_visitor_sample|{customer}".encode()).hexdigest()[:7], 16) % 10000 < 2500
                for customer in customers}
    assert dict(rows) == expected
    assert 50 < sum(expected.values()) < 150


def test_skipped_no_op_build_reports_no_node_timings(benchmark_run: dict) -> None:
    """The gate skips the no-op build, so dbt writes no run results for it: the report must
    not show the previous build's node timings under its name."""
    assert benchmark_run["result"].returncode == 0
    report = benchmark_run["output"].read_text()
    assert "Slowest nodes of the no-op build (s)" not in report
    assert "Slowest nodes of the no-op dbt build (s)" in report


def test_memory_peaks_are_attributed_to_the_nodes_running_at_the_time() -> None:
    sys.path.insert(0, str(REPO / "scripts"))
    import benchmark

    run_results = json.loads(
        '{"results": ['
        '{"unique_id": "model.dynamic_segments.first", "timing": ['
        '{"name": "compile", "started_at": "2026-07-01T00:00:00Z", "completed_at": "2026-07-01T00:00:01Z"},'
        '{"name": "execute", "started_at": "2026-07-01T00:00:01Z", "completed_at": "2026-07-01T00:00:10Z"}]},'
        '{"unique_id": "model.dynamic_segments.second", "timing": ['
        '{"name": "execute", "started_at": "2026-07-01T00:00:10.5Z", "completed_at": "2026-07-01T00:00:20Z"}]},'
        '{"unique_id": "test.dynamic_segments.skipped", "timing": []}'
        "]}"
    )["results"]
    windows = benchmark.node_windows(run_results)
    start = windows[0][1]
    assert [name for name, _, _ in windows] == ["first", "second"]
    assert windows[0][2] - start == 10 and windows[1][1] - start == 10.5

    samples = [(start + 0.5, 900.0), (start + 5, 2500.0), (start + 10.2, 4000.0), (start + 15, 3100.0)]
    # The sample between the two nodes belongs to neither; each node keeps its own maximum.
    assert benchmark.node_memory_peaks(windows, samples) == [("second", 3100.0), ("first", 2500.0)]
    assert benchmark.node_memory_peaks(windows, samples, top=1) == [("second", 3100.0)]
    assert benchmark.node_memory_peaks(windows, []) == []


def test_report_names_the_nodes_with_the_highest_memory(benchmark_run: dict) -> None:
    assert benchmark_run["result"].returncode == 0
    report = benchmark_run["output"].read_text()
    for build in ("full build", "no-op dbt build", "incremental build"):
        line = next(line for line in report.splitlines()
                    if line.startswith(f"Highest sampled memory by node of the {build} (MB): "))
        peaks = line.split(": ", 1)[1].split(", ")
        assert 1 <= len(peaks) <= 5, line
        assert all(float(peak.rsplit(" ", 1)[1]) > 0 for peak in peaks), line
    assert "Highest sampled memory by node of the no-op build (MB)" not in report


def test_every_baseline_statement_is_timed_under_a_stage_the_dbt_side_has() -> None:
    sys.path.insert(0, str(REPO / "scripts"))
    import benchmark

    rendered = benchmark.render_baseline(benchmark.DEFAULT_END_DATE)
    parts = benchmark.baseline_parts(rendered)
    assert {stage for stage, _ in parts} == set(benchmark.STAGES)
    statements = [line for line in rendered.splitlines() if line.startswith(("create ", "insert ", "drop "))]
    timed = [line for _, sql in parts for line in sql.splitlines() if line.startswith(("create ", "insert ", "drop "))]
    assert timed == statements

    with pytest.raises(SystemExit, match="before the first"):
        benchmark.baseline_parts("create table early as select 1;\n-- stage: staging\nselect 1;\n")
    with pytest.raises(SystemExit, match="unknown stages \\['sessions'\\]"):
        benchmark.baseline_parts("-- header only\n-- stage: sessions\nselect 1;\n")
    # a part with comments only is dropped: DuckDB has no statement to run for it
    assert benchmark.baseline_parts("-- stage: staging\n-- nothing yet\n-- stage: segments\nselect 1;\n") == [
        ("segments", "\nselect 1;\n")]


def test_every_model_and_seed_belongs_to_a_stage() -> None:
    """A model in a folder STAGES does not name would be reported as 'other nodes', away
    from the baseline part it should be compared with."""
    sys.path.insert(0, str(REPO / "scripts"))
    import benchmark

    files = [path.relative_to(REPO).as_posix() for folder in ("models", "seeds")
             for path in (REPO / folder).rglob("*") if path.suffix in (".sql", ".csv", ".py")]
    assert files
    nodes = {f"model.dynamic_segments.{index}": {"original_file_path": path} for index, path in enumerate(files)}
    stages = {nodes[unique_id]["original_file_path"]: benchmark.node_stage(unique_id, nodes) for unique_id in nodes}
    assert benchmark.OTHER_STAGE not in stages.values(), sorted(
        path for path, stage in stages.items() if stage == benchmark.OTHER_STAGE)
    assert stages["models/intermediate/customers/int_customer_web_summary.sql"] == "web sessions"
    assert stages["models/intermediate/customers/int_customer_email_summary.sql"] == "email engagement"
    # The daily event aggregates read the same events as the sessions and the email rollup.
    assert stages["models/intermediate/web/int_web_events_daily.sql"] == "web sessions"
    assert stages["models/intermediate/email/int_email_events_daily.sql"] == "email engagement"
    assert stages["models/marts/customers/dim_customers.sql"] == "customer features"
    exposures = {"exposure.dynamic_segments.sync": {"original_file_path": "models/marts/_marts__exposures.yml"}}
    assert benchmark.node_stage("exposure.dynamic_segments.sync", exposures) == "segments"

    results = [
        {"unique_id": "model.dynamic_segments.0", "execution_time": 2.0},
        {"unique_id": "test.dynamic_segments.not_null_x", "execution_time": 0.5},
        {"unique_id": "test.dynamic_segments.unique_x", "execution_time": 0.25},
        {"unique_id": "model.dynamic_segments.gone", "execution_time": 1.0},
    ]
    assert benchmark.stage_seconds(results, nodes) == {
        stages[files[0]]: 2.0, benchmark.TESTS_STAGE: 0.75, benchmark.OTHER_STAGE: 1.0}


def test_report_sets_the_baseline_parts_beside_the_builds_by_stage(benchmark_run: dict) -> None:
    sys.path.insert(0, str(REPO / "scripts"))
    import benchmark

    assert benchmark_run["result"].returncode == 0
    rows = table_rows(benchmark_run["output"].read_text())
    stage_rows = {stage: rows[stage] for stage in [*benchmark.STAGES, benchmark.TESTS_STAGE]}
    # nodes outside the stages' folders (the project's on-run-start hook) have their own row
    other_rows = {stage: rows[stage] for stage in [benchmark.OTHER_STAGE] if stage in rows}
    # every stage has a figure on both sides (tiny stages round to 0.0 at this scale)
    for column in (0, 1, 3):
        seconds = [float(stage_rows[stage][column]) for stage in benchmark.STAGES]
        assert min(seconds) >= 0 and sum(seconds) > 0, (column, stage_rows)
    assert stage_rows[benchmark.TESTS_STAGE][0] == "-" and float(stage_rows[benchmark.TESTS_STAGE][1]) > 0
    # the baseline's parts run inside its step; the builds' nodes and the time outside them
    # add up to the step's wall time (each cell rounded to 0.1 s)
    outside = rows["outside the nodes (dbt start, gate, publish, close)"]
    for build, column in (("full build", 1), ("incremental build", 3)):
        total = sum(float(cells[column]) for cells in [*stage_rows.values(), *other_rows.values()]
                    if cells[column] != "-") + float(outside[column])
        rounding = 0.05 * (len(stage_rows) + len(other_rows) + 2)
        assert abs(total - float(rows[build][0])) <= rounding, (build, total, rows[build])
    assert sum(float(cells[0]) for stage, cells in stage_rows.items() if stage in benchmark.STAGES) <= float(
        rows["baseline"][0]) + 0.05 * len(benchmark.STAGES)


def test_the_publish_is_reported_apart_from_the_build_nodes() -> None:
    """The on-run-end hook (the publish to the serving database) is a step of its own, not
    a node of any stage: its seconds are dbt's, its peak the highest sample while it ran."""
    sys.path.insert(0, str(REPO / "scripts"))
    import benchmark

    def timing(start: str, end: str) -> list[dict]:
        return [{"name": "compile", "started_at": f"2026-07-01T00:00:{start}Z", "completed_at": f"2026-07-01T00:00:{start}Z"},
                {"name": "execute", "started_at": f"2026-07-01T00:00:{start}Z", "completed_at": f"2026-07-01T00:00:{end}Z"}]

    results = [
        {"unique_id": "model.dynamic_segments.dim_customers", "execution_time": 9.0, "timing": timing("01", "10")},
        {"unique_id": "operation.dynamic_segments.dynamic_segments-on-run-end-0", "execution_time": 4.5,
         "timing": timing("11", "15.5")},
    ]
    nodes, hooks = benchmark.split_hooks(results)
    assert [node["unique_id"] for node in nodes] == ["model.dynamic_segments.dim_customers"]
    start = benchmark.node_windows(results)[0][1]
    build = benchmark.Step("full build", 16.0, 5000.0, memory_samples=[
        (start + 5, 3000.0), (start + 11, 1200.0), (start + 14, 1500.0), (start + 15.8, 900.0)])
    publish = benchmark.publish_step("publish", hooks, build)
    assert (publish.name, publish.seconds, publish.peak_rss_mb) == ("publish", 4.5, 1500.0)
    # a hook between two samples takes the last sample before it ended
    short = benchmark.Step("full build", 16.0, 5000.0, memory_samples=[(start + 5, 3000.0), (start + 16, 800.0)])
    assert benchmark.publish_step("publish", hooks, short).peak_rss_mb == 3000.0
