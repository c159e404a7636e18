"""Benchmark the pipeline at a given scale against a hand-written bare-DuckDB baseline.

One run generates synthetic landing files, loads them into a fresh warehouse and measures,
each as a child process (wall time and peak resident memory, DuckDB included since it runs
inside the dbt process):

  generate             scripts/generate_sources.py
  load                 scripts/load_sources.py
  full build           scripts/scheduled_build.py (dbt build --exclude-resource-type unit_test),
                       fresh warehouse
  no-op build          the same scheduled build again, nothing new, same as_of: the gate
                       finds the fingerprint of the last build and does not start dbt
  no-op dbt build      dbt build itself again with nothing new (what the gate saves)
  baseline             scripts/benchmark_baseline.sql on one DuckDB connection, same as_of
  baseline at <limit>  with --reference-baseline-memory-limit: the baseline again at as_of
                       with that memory limit, to show what more memory buys the bare engine
  increment generate   the next landing day (generator --increment)
  increment load       the loader over the grown landing directory
  incremental build    the scheduled build with as_of moved one day
  publish              the full build's publish to the serving database (its on-run-end
                       hook, timed by dbt; peak: the highest memory sampled meanwhile),
                       and the incremental build's as "publish (incremental build)"
  baseline (next day)  the baseline again at the new as_of

After each baseline run the baseline's memberships are compared with the dbt marts on
(customer_id, segment_key) against marts.fct_segment_memberships and on
(customer_id, primary_segment_key) against marts.dim_customer_segments; customer_id is
'cus_' || md5 of the representative identifier in both, so the comparison is exact. The
report is a Markdown table; the script exits 1 when any membership differs.

The baseline script is divided by `-- stage: <name>` lines into the stages of the dbt
project (STAGES: staging, identity, web sessions, email engagement, customer features,
segments). The benchmark times each part and reports it beside the seconds the full and the
incremental build spent in the nodes of the same stage (a node's stage follows its folder),
with the data tests, which the baseline does not have, and the builds' time outside their
nodes on rows of their own: where the framework's time goes relative to the bare engine.

The peak RSS of a step is the kernel's figure for the child process. Resident memory is
also sampled every quarter second, and for each dbt build the report names the nodes with
the highest memory sampled while they ran, so a peak can be traced to a model or test.

The baseline's segment rules come from the segment registry: the benchmark renders them
into the `{{segment_member_inserts}}` placeholder of scripts/benchmark_baseline.sql with the
same composition the dbt macros use (rule and conditions, ancestors' rules and conditions,
completeness guard, consent); behavioural conditions are compiled independently by
scripts/benchmark_conditions.py. With --behavioural-segments N the run builds a copy of the
project whose registry has N generated behavioural segments added, with
--without-behavioural-segments one whose segments with conditions are all draft
(scripts/benchmark_segments.py); the report names the registry the run read.
DuckDB settings of the baseline are read from profiles.yml, so both run under the same
memory limit, threads and temp directory.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import re
import shutil
import subprocess
import sys
import threading
import time
import types
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jinja2
import psutil
import yaml

import benchmark_conditions
import benchmark_segments

REPO = Path(__file__).resolve().parents[1]
PYTHON = sys.executable
DBT = Path(PYTHON).parent / "dbt"
GENERATOR = REPO / "scripts" / "generate_sources.py"
LOADER = REPO / "scripts" / "load_sources.py"
SCHEDULED_BUILD = REPO / "scripts" / "scheduled_build.py"
BASELINE_SQL = REPO / "scripts" / "benchmark_baseline.sql"
REGISTRY = REPO / "models" / "marts" / "segments" / "_segment_registry.yml"
PROJECT = REPO / "dbt_project.yml"
PROFILES = REPO / "profiles.yml"
CURRENCY_RATES = REPO / "seeds" / "currency_rates.csv"
CONSENT_COLUMNS = {"email": "(has_email_consent and not is_email_undeliverable)", "sms": "has_sms_consent",
                   "ads": "has_ads_consent"}
DEFAULT_END_DATE = dt.date(2026, 6, 30)

# The parts of the pipeline, in build order, that the baseline's `-- stage:` lines and the
# dbt project's folders both name: the report sets each baseline part beside the dbt nodes
# of the same stage. A dbt node belongs to the first stage one of whose path prefixes its
# file path starts with; data tests are a stage of their own (the baseline has none).
STAGES = {
    "staging": ("models/staging/", "seeds/"),
    "identity": ("models/intermediate/identity/",),
    # The web and email folders hold the daily event aggregates too (int_web_events_daily,
    # int_email_events_daily): they read the same events as the sessions and email rollup.
    "web sessions": ("models/intermediate/web/", "models/intermediate/customers/int_customer_web_"),
    "email engagement": ("models/intermediate/email/", "models/intermediate/customers/int_customer_email_"),
    "customer features": ("models/intermediate/shop/", "models/intermediate/customers/int_customer_order_",
                          "models/intermediate/customers/int_customers_as_of",
                          "models/intermediate/customers/int_customer_contacts_",
                          "models/intermediate/customers/int_customer_contact_points_",
                          "models/intermediate/customers/int_customer_consent_",
                          "models/intermediate/consent/", "models/marts/consent/",
                          "models/intermediate/customers/int_customer_rfm_",
                          "models/intermediate/customers/int_customer_profiles",
                          "models/marts/customers/", "models/marts/restricted/",
                          # point-in-time features and labels of the machine-learned models
                          "models/intermediate/ml/"),
    # Audience eligibility (activation), the experiments over audiences and segments and
    # the segment KPI marts (measurement: int_customer_campaign_engagement,
    # int_email_conversions_attributed, int_customer_lifecycle_churns,
    # int_customer_kpi_activity_daily, fct_segment_kpis_daily, fct_segment_flows_daily,
    # fct_all_customer_kpis_daily) count with the segments they read; the baseline computes
    # none of them, so this stage's ratio includes them.
    "segments": ("models/intermediate/segments/", "models/marts/segments/", "models/marts/_marts__exposures.yml",
                 "models/intermediate/activation/", "models/marts/activation/",
                 "models/intermediate/measurement/", "models/marts/measurement/"),
}
TESTS_STAGE = "data tests"
# Builds whose publish (their on-run-end hook) the report shows as a step of its own.
PUBLISH_STEPS = {"full build": "publish", "incremental build": "publish (incremental build)"}
OTHER_STAGE = "other nodes"
STAGE_MARKER = re.compile(r"^-- stage: (.+?)\s*$", re.MULTILINE)

# Runs the baseline's parts (a JSON list of [stage, sql], see baseline_parts) in order on
# one connection and writes the seconds of each stage as JSON.
BASELINE_RUNNER = """
import json, sys, time, duckdb
database, parts_path, timings_path, settings = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:]
connection = duckdb.connect(database)
for setting in settings:
    name, value = setting.split('=', 1)
    connection.execute(f"set {name} = '{value}'")
seconds = {}
for stage, sql in json.load(open(parts_path)):
    started = time.perf_counter()
    connection.execute(sql)
    seconds[stage] = seconds.get(stage, 0.0) + time.perf_counter() - started
connection.close()
open(timings_path, 'w').write(json.dumps(seconds))
"""


@dataclass
class Step:
    name: str
    seconds: float
    peak_rss_mb: float
    note: str = ""
    failed: bool = False
    # (unix time, resident MB of the child and its descendants), sampled while the step ran
    memory_samples: list[tuple[float, float]] = field(default_factory=list)


class MemorySampler(threading.Thread):
    """Samples the resident memory of a process tree until the process ends.

    The step's peak figure is the kernel's (ru_maxrss), which sees every allocation; the
    samples only say *when* memory was high, so the report can name the dbt nodes that
    were running then.
    """

    def __init__(self, pid: int, interval_seconds: float = 0.25) -> None:
        super().__init__(daemon=True)
        self.pid = pid
        self.interval_seconds = interval_seconds
        self.samples: list[tuple[float, float]] = []
        self.finished = threading.Event()

    def run(self) -> None:
        try:
            root = psutil.Process(self.pid)
        except psutil.NoSuchProcess:
            return
        while not self.finished.is_set():
            try:
                processes = [root, *root.children(recursive=True)]
            except psutil.Error:
                return  # the step's process has exited
            resident = 0
            for process in processes:
                try:
                    resident += process.memory_info().rss
                except psutil.Error:
                    pass  # a child that exited between listing and reading
            self.samples.append((time.time(), resident / 2**20))
            self.finished.wait(self.interval_seconds)


@dataclass
class Benchmark:
    workdir: Path
    steps: list[Step] = field(default_factory=list)
    # the project the steps run in: the working tree, or a copy with another registry
    project: Path = REPO

    def run(self, name: str, args: list[str], env: dict[str, str] | None = None, note: str = "",
            may_fail: bool = False) -> Step:
        """Runs one step as a child process; its peak RSS covers the child and its own children."""
        log_path = self.workdir / "logs" / f"{len(self.steps) + 1:02d}_{slug(name)}.log"
        log_path.parent.mkdir(parents=True, exist_ok=True)
        print(f"[benchmark] {name}: {' '.join(args)}", flush=True)
        with log_path.open("w") as log:
            started = time.perf_counter()
            process = subprocess.Popen(args, cwd=self.project, env=env, stdout=log, stderr=subprocess.STDOUT)
            sampler = MemorySampler(process.pid)
            sampler.start()
            _, status, usage = os.wait4(process.pid, 0)
            seconds = time.perf_counter() - started
            sampler.finished.set()
            sampler.join()
        returncode = os.waitstatus_to_exitcode(status)
        step = Step(name, seconds, usage.ru_maxrss / 1024, note, memory_samples=sampler.samples)
        if returncode != 0:
            step.failed = True
            step.note = f"FAILED (exit {returncode}): {first_error(log_path)}"
        self.steps.append(step)
        print(f"[benchmark] {name}: {seconds:.1f} s, peak RSS {step.peak_rss_mb:.0f} MB {step.note}", flush=True)
        if step.failed and not may_fail:
            raise SystemExit(f"[benchmark] {name} failed; log {log_path}:\n{log_path.read_text()[-4000:]}")
        return step


def first_error(log_path: Path) -> str:
    """The first error message of a failed step's log, on one line."""
    text = re.sub(r"\x1b\[[0-9;]*m", "", log_path.read_text())
    for pattern in (r"(Out of Memory Error[^\n]*)", r"(Runtime Error[^\n]*\n[^\n]*)", r"(Error[^\n]*)"):
        match = re.search(pattern, text)
        if match:
            return " ".join(match.group(1).split())[:200].replace("|", "/")
    return "see log " + log_path.name


def slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_")


def project_vars() -> dict:
    return yaml.safe_load(PROJECT.read_text()).get("vars", {})


def duckdb_settings(env: dict[str, str]) -> dict[str, str]:
    """The DuckDB settings of the default profile, rendered as dbt renders them: Jinja with
    env_var() (reading `env`) and modules.re, which the profile uses to check its values."""
    profile = yaml.safe_load(PROFILES.read_text())["dynamic_segments"]
    settings = profile["outputs"]["duckdb"].get("config_options", {})

    def env_var(name: str, default: str | None = None) -> str:
        if name in env:
            return env[name]
        if default is None:
            raise SystemExit(f"profiles.yml: {name}")
        return default

    context = {"env_var": env_var, "modules": types.SimpleNamespace(re=re)}

    def resolve(value: object) -> str:
        text = jinja2.Environment().from_string(str(value)).render(**context)
        return text.lower() if text in ("True", "False") else text

    return {name: resolve(value) for name, value in settings.items()}


def segment_order(segments: list[dict[str, Any]], by_key: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """The active non-default segments, each after the segments it or an ancestor reads
    through member_of (registry order otherwise), as the dbt models evaluate them by level."""
    def reads(segment: dict[str, Any]) -> set[str]:
        targets: set[str] = set()
        current: dict[str, Any] | None = segment
        while current is not None:
            targets |= member_of_keys(current.get("conditions"))
            current = by_key.get(current.get("parent")) if current.get("parent") else None
        return targets

    pending = [segment for segment in segments if segment["status"] == "active" and segment.get("is_default") is not True]
    ordered: list[dict[str, Any]] = []
    while pending:
        done = {segment["key"] for segment in ordered}
        ready = [segment for segment in pending if reads(segment) <= done]
        if not ready:
            raise SystemExit(f"[benchmark] member_of cycle or inactive target among {[s['key'] for s in pending]}")
        ordered += ready
        pending = [segment for segment in pending if segment not in ready]
    return ordered


def member_of_keys(node: Any) -> set[str]:
    """The segment keys a conditions tree reads through member_of."""
    if not isinstance(node, dict):
        return set()
    keys = {node["member_of"]} if "member_of" in node else set()
    for value in node.values():
        for child in value if isinstance(value, list) else [value]:
            keys |= member_of_keys(child)
    return keys


def condition_events(node: Any) -> set[str]:
    """The event names a conditions tree reads."""
    if not isinstance(node, dict):
        return set()
    events = {node["event"]} if isinstance(node.get("event"), str) else set()
    for value in node.values():
        for child in value if isinstance(value, list) else [value]:
            events |= condition_events(child)
    return events


def segment_sql(as_of: dt.date, registry_path: Path = REGISTRY,
                catalogue_path: Path = benchmark_conditions.CATALOGUE) -> dict[str, str]:
    """The baseline's segment placeholders: one insert of each active segment's members,
    composed as macros/segments/segment_definitions.sql does (rule and conditions, the
    ancestors' rules and conditions, completeness guard, consent); conditions compiled by
    scripts/benchmark_conditions.py."""
    registry = yaml.safe_load(registry_path.read_text())
    catalogue = benchmark_conditions.load_catalogue(catalogue_path)
    segments = registry["macros"][0]["meta"]["segments"]
    by_key = {segment["key"]: segment for segment in segments}
    default = next(segment for segment in segments if segment.get("is_default") is True)
    incomplete = f"coalesce(({default['too_incomplete_when'].strip()}), false)"
    inserts = []
    events: set[str] = set()
    for number, segment in enumerate(segment_order(segments, by_key), start=1):
        parts, ctes, joins = [], [], []
        current, depth = segment, 0
        while current is not None:
            if current.get("rule") is not None:
                parts.append(f"coalesce(({str(current['rule']).strip()}), false)")
            if current.get("conditions") is not None:
                compiled = benchmark_conditions.compile_conditions(
                    current["key"], current["conditions"], as_of, f"s{number}_{depth}", catalogue)
                parts.append(compiled.expression)
                ctes += compiled.ctes
                joins += compiled.joins
                events |= condition_events(current["conditions"])
            current = by_key.get(current.get("parent")) if current.get("parent") else None
            depth += 1
        condition = " and ".join(parts) + f" and not {incomplete}"
        consent = [CONSENT_COLUMNS[channel] for channel in segment["channels"] if channel in CONSENT_COLUMNS]
        if len(consent) == len(segment["channels"]):
            condition += f" and coalesce(({' or '.join(consent)}), false)"
        with_clause = ("with\n" + ",\n".join(f"{name} as (\n    {sql}\n)" for name, sql in ctes) + "\n"
                       if ctes else "")
        join_clause = "".join(f"\nleft join {name} on customers.customer_id = {name}.customer_id" for name in joins)
        inserts.append(
            f"insert into baseline.segment_members\n{with_clause}"
            f"select customers.customer_id, '{segment['key']}' as segment_key, {int(segment['priority'])} as priority\n"
            f"from baseline.customer_features as customers{join_clause}\n"
            f"where {' '.join(condition.split())};"
        )
    return {
        "segment_member_inserts": "\n\n".join(inserts),
        "behaviour_event_names": ", ".join(f"'{event}'" for event in sorted(events)) or "''",
        "default_segment_key": default["key"],
        "default_segment_priority": str(int(default["priority"])),
    }


def plausibility_rule(source_name: str, table: str, column: str) -> dict[str, Any]:
    """One column's plausibility rule, from the `<source>_plausibility_rules` macro meta of
    models/staging/<source>/_<source>__sources.yml, as the base models read it."""
    path = REPO / "models" / "staging" / source_name / f"_{source_name}__sources.yml"
    document = yaml.safe_load(path.read_text())
    for macro in document.get("macros") or []:
        if macro.get("name") == f"{source_name}_plausibility_rules":
            return macro["meta"][table][column]
    raise SystemExit(f"[benchmark] {path.name} has no {source_name}_plausibility_rules")


def render_baseline(as_of: dt.date, registry_path: Path = REGISTRY) -> str:
    variables = project_vars()
    order_total = plausibility_rule("shop", "orders", "order_total")
    birth_date = plausibility_rule("crm", "contacts", "birth_date")
    quantity = plausibility_rule("shop", "order_lines", "quantity")
    unit_price = plausibility_rule("shop", "order_lines", "unit_price")
    list_price = plausibility_rule("shop", "products", "list_price")
    values = {
        "clock_skew_allowance_minutes": str(int(variables["clock_skew_allowance_minutes"])),
        "order_total_min": str(order_total["min"]),
        "order_total_max": str(order_total["max"]),
        "max_age_years": str(int(birth_date.get("max_age_years", 120))),
        "as_of": as_of.isoformat(),
        "as_of_cutoff": (as_of + dt.timedelta(days=1)).isoformat(),
        "business_started_on": str(variables["business_started_on"]),
        "session_inactivity_seconds": str(int(variables["session_inactivity_minutes"]) * 60),
        "max_links": str(int(variables["identity_max_links_per_identifier"])),
        "max_shop_accounts_per_device": str(int(variables.get("identity_max_shop_accounts_per_device", 1))),
        "currency_rates_csv": str(CURRENCY_RATES),
        "quantity_min": str(quantity["min"]),
        "quantity_max": str(quantity["max"]),
        "unit_price_min": str(unit_price["min"]),
        "unit_price_max": str(unit_price["max"]),
        "list_price_min": str(list_price["min"]),
        "list_price_max": str(list_price["max"]),
        **segment_sql(as_of, registry_path),
    }
    sql = BASELINE_SQL.read_text()
    for name, value in values.items():
        sql = sql.replace("{{" + name + "}}", value)
    leftover = re.findall(r"\{\{[a-z_]+\}\}", sql)
    if leftover:
        raise SystemExit(f"[benchmark] unfilled placeholders in {BASELINE_SQL.name}: {sorted(set(leftover))}")
    return sql


def membership_mismatches(database: Path) -> dict[str, Any]:
    import duckdb

    connection = duckdb.connect(str(database), read_only=True)

    def symmetric_difference(left: str, right: str) -> int:
        return connection.sql(
            f"select count(*) from (({left} except all {right}) union all ({right} except all {left}))"
        ).fetchone()[0]

    counts = {
        "memberships": symmetric_difference(
            "select customer_id, segment_key from baseline.segment_memberships",
            "select customer_id, segment_key from marts.fct_segment_memberships",
        ),
        "primary segments": symmetric_difference(
            "select customer_id, primary_segment_key from baseline.customer_primary_segments",
            "select customer_id, primary_segment_key from marts.dim_customer_segments",
        ),
        "baseline membership rows": connection.sql("select count(*) from baseline.segment_memberships").fetchone()[0],
        # the segments whose members differ, with the count of differing rows, to say where to look
        "by segment": dict(connection.sql(
            "select segment_key, count(*) from ("
            "(select customer_id, segment_key from baseline.segment_memberships except all "
            "select customer_id, segment_key from marts.fct_segment_memberships) union all "
            "(select customer_id, segment_key from marts.fct_segment_memberships except all "
            "select customer_id, segment_key from baseline.segment_memberships)) group by segment_key order by segment_key"
        ).fetchall()),
    }
    connection.close()
    return counts


def node_timings(results: list[dict[str, Any]], top: int = 8) -> list[tuple[str, float]]:
    """The slowest nodes of a dbt run (the `results` of its run_results.json), slowest first."""
    timings = [(result["unique_id"].split(".", 2)[-1], float(result["execution_time"])) for result in results]
    return sorted(timings, key=lambda item: item[1], reverse=True)[:top]


def node_windows(results: list[dict[str, Any]]) -> list[tuple[str, float, float]]:
    """(node, start, end) in unix time for every node of a dbt run (the `results` of its
    run_results.json), compile to execute end."""
    windows = []
    for result in results:
        moments = [
            dt.datetime.fromisoformat(moment.replace("Z", "+00:00")).timestamp()
            for timing in result.get("timing", [])
            for moment in (timing.get("started_at"), timing.get("completed_at"))
            if moment
        ]
        if moments:
            windows.append((result["unique_id"].split(".", 2)[-1], min(moments), max(moments)))
    return windows


def node_memory_peaks(windows: list[tuple[str, float, float]], samples: list[tuple[float, float]],
                      top: int = 5) -> list[tuple[str, float]]:
    """The nodes with the highest resident memory sampled while they ran, highest first.

    With one dbt thread a sample belongs to exactly one node; with more, to each node that
    was running at that moment.
    """
    peaks: dict[str, float] = {}
    for name, start, end in windows:
        during = [resident for moment, resident in samples if start <= moment <= end]
        if during:
            peaks[name] = max(during)
    return sorted(peaks.items(), key=lambda item: item[1], reverse=True)[:top]


def split_hooks(results: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """A dbt run's results without its project hooks (on-run-end: the publish), and those."""
    hooks = [result for result in results if result["unique_id"].startswith("operation.")]
    return [result for result in results if result not in hooks], hooks


def publish_step(name: str, hook_results: list[dict[str, Any]], build: Step) -> Step:
    """The publish of a build (its on-run-end hook, macros/serving/) as a step of its own:
    the hook's seconds, and the highest memory sampled while it ran (the dbt process)."""
    seconds = sum(float(result["execution_time"]) for result in hook_results)
    windows = node_windows(hook_results)
    start, end = min(window[1] for window in windows), max(window[2] for window in windows)
    during = [resident for moment, resident in build.memory_samples if start <= moment <= end]
    # a hook shorter than the sampling interval: the last sample before it ended
    during = during or [resident for moment, resident in build.memory_samples if moment <= end][-1:]
    return Step(name, seconds, max(during, default=build.peak_rss_mb),
                note=f"the {build.name}'s on-run-end hook: marts to the serving database; "
                     "peak sampled")


def _has_statements(sql: str) -> bool:
    return any(line.strip() and not line.strip().startswith("--") for line in sql.splitlines())


def baseline_parts(sql: str) -> list[tuple[str, str]]:
    """The baseline script split at its `-- stage: <name>` lines: (stage, sql) in script order.

    Stops the benchmark on SQL before the first such line or on a stage that STAGES does not
    name, so every statement is timed and reported under a stage the dbt side also has.
    """
    pieces = STAGE_MARKER.split(sql)
    if _has_statements(pieces[0]):
        raise SystemExit(f"[benchmark] {BASELINE_SQL.name}: SQL before the first '-- stage:' line")
    parts = list(zip(pieces[1::2], pieces[2::2]))
    unknown = sorted({stage for stage, _ in parts} - set(STAGES))
    if unknown:
        raise SystemExit(f"[benchmark] {BASELINE_SQL.name}: unknown stages {unknown}; known: {sorted(STAGES)}")
    return [(stage, text) for stage, text in parts if _has_statements(text)]


def node_stage(unique_id: str, nodes: dict[str, dict[str, Any]]) -> str:
    """The stage of a dbt node: data tests apart, else by its file path (STAGES)."""
    if unique_id.split(".", 1)[0] in ("test", "unit_test"):
        return TESTS_STAGE
    path = nodes.get(unique_id, {}).get("original_file_path", "")
    return next((stage for stage, prefixes in STAGES.items() if path.startswith(prefixes)), OTHER_STAGE)


def stage_seconds(results: list[dict[str, Any]], nodes: dict[str, dict[str, Any]]) -> dict[str, float]:
    """Seconds of a dbt run's nodes (the `results` of its run_results.json) summed by stage;
    `nodes` is the manifest's nodes of the same run."""
    seconds: dict[str, float] = {}
    for result in results:
        stage = node_stage(result["unique_id"], nodes)
        seconds[stage] = seconds.get(stage, 0.0) + float(result["execution_time"])
    return seconds


def stage_table(bench: Benchmark, baseline_stages: dict[str, dict[str, float]],
                build_stages: dict[str, dict[str, float]]) -> list[str]:
    """The Markdown table of seconds by stage: the baseline's parts beside the full and the
    incremental build's nodes, and the builds' time outside their nodes."""
    by_name = {step.name: step for step in bench.steps if not step.failed}
    baseline = baseline_stages.get("baseline", {})
    full = build_stages.get("full build", {})
    incremental = build_stages.get("incremental build", {})
    if not (baseline or full):
        return []

    def cell(seconds: dict[str, float], stage: str) -> str:
        return f"{seconds[stage]:.1f}" if stage in seconds else "-"

    def outside(build: str, seconds: dict[str, float]) -> str:
        return f"{by_name[build].seconds - sum(seconds.values()):.1f}" if seconds and build in by_name else "-"

    lines = [
        "| stage | baseline (s) | full build (s) | full / baseline | incremental build (s) |",
        "| --- | ---: | ---: | ---: | ---: |",
    ]
    # a node in a folder STAGES does not name gets a row, rather than going unreported
    others = [OTHER_STAGE] if OTHER_STAGE in full or OTHER_STAGE in incremental else []
    for stage in [*STAGES, TESTS_STAGE, *others]:
        ratio = f"{full[stage] / baseline[stage]:.2f}" if stage in full and baseline.get(stage) else "-"
        lines.append(f"| {stage} | {cell(baseline, stage)} | {cell(full, stage)} | {ratio} | "
                     f"{cell(incremental, stage)} |")
    lines.append(f"| outside the nodes (dbt start, gate, publish, close) | - | {outside('full build', full)} | - | "
                 f"{outside('incremental build', incremental)} |")
    return lines


def reference_baseline_step(args: argparse.Namespace) -> str:
    """The step name of the baseline run again with --reference-baseline-memory-limit."""
    return f"baseline at {args.reference_baseline_memory_limit}"


def report(args: argparse.Namespace, bench: Benchmark, checks: list[tuple[str, dict]], registry_note: str,
           profiles: dict,
           memory_profiles: dict, build_memory_limit: str, baseline_memory_limit: str,
           baseline_stages: dict[str, dict[str, float]] | None = None,
           build_stages: dict[str, dict[str, float]] | None = None) -> str:
    by_name = {step.name: step for step in bench.steps if not step.failed}

    def ratio(numerator: str, denominator: str, digits: int) -> str:
        if numerator in by_name and denominator in by_name:
            return f"{by_name[numerator].seconds / by_name[denominator].seconds:.{digits}f}"
        if args.skip_baseline and "baseline" in denominator:
            return "n/a (baseline not run)"
        return "n/a (a step failed)"

    lines = [
        f"### {args.customers:,} customers, {args.days} days (seed {args.seed}, as_of {args.end_date})",
        "",
        f"DuckDB memory_limit: {build_memory_limit} for the loader and the builds; "
        f"{baseline_memory_limit} for the baseline.",
        "",
        f"Segment registry: {registry_note}.",
        *(["", "Baseline: not run (--skip-baseline); the builds only."] if args.skip_baseline else []),
        "",
        "| step | wall time (s) | peak RSS (MB) | note |",
        "| --- | ---: | ---: | --- |",
    ]
    for step in bench.steps:
        lines.append(f"| {step.name} | {step.seconds:.1f} | {step.peak_rss_mb:.0f} | {step.note} |")
    no_op = by_name.get("no-op build")
    lines += [
        "",
        "| ratio | value |",
        "| --- | ---: |",
        f"| full build / baseline | {ratio('full build', 'baseline', 2)} |",
    ]
    if args.reference_baseline_memory_limit:
        reference = reference_baseline_step(args)
        lines.append(f"| full build / {reference} | {ratio('full build', reference, 2)} |")
    lines += [
        f"| incremental build / full build | {ratio('incremental build', 'full build', 3)} |",
        f"| no-op build (s) | {f'{no_op.seconds:.1f}' if no_op else 'n/a (a step failed)'} |",
        f"| no-op dbt build, gate bypassed / full build | {ratio('no-op dbt build', 'full build', 3)} |",
        f"| peak RSS of any step (MB) | {max(step.peak_rss_mb for step in bench.steps):.0f} |",
        "",
        "| membership check | mismatches |",
        "| --- | ---: |",
    ]
    for label, counts in checks:
        lines.append(f"| {label}: memberships | {counts['memberships']} |")
        lines.append(f"| {label}: primary segments | {counts['primary segments']} |")
    stages = stage_table(bench, baseline_stages or {}, build_stages or {})
    if stages:
        lines += ["", "Seconds by stage: each part of the baseline script beside the dbt nodes of the same "
                  "stage (node execution times; the builds also spend time outside their nodes)."]
        lines += [""] + stages
    for build, timings in profiles.items():
        lines += ["", f"Slowest nodes of the {build} (s): "
                  + ", ".join(f"{name} {seconds:.1f}" for name, seconds in timings)]
    for build, peaks in memory_profiles.items():
        lines += ["", f"Highest sampled memory by node of the {build} (MB): "
                  + ", ".join(f"{name} {resident:.0f}" for name, resident in peaks)]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--customers", type=int, required=True)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--end-date", type=dt.date.fromisoformat, default=DEFAULT_END_DATE,
                        help="last landing day and as_of of the full build (fixed so runs compare)")
    parser.add_argument("--workdir", type=Path, default=None,
                        help="landing files, warehouse, dbt target and logs (default data/bench/<customers>)")
    parser.add_argument("--output", type=Path, default=None, help="write the Markdown report here too")
    parser.add_argument("--keep-landing", action="store_true", help="keep the landing files afterwards")
    parser.add_argument("--baseline-memory-limit", default=None,
                        help="DuckDB memory_limit of the baseline script only (default: the profile's, "
                             "as the builds); the report states both")
    parser.add_argument("--behavioural-segments", type=int, default=0, metavar="N",
                        help="build a copy of the project whose registry has N generated behavioural segments "
                             f"added, all active (0..{len(benchmark_segments.BEHAVIOURAL_SEGMENTS)}; "
                             "scripts/benchmark_segments.py)")
    parser.add_argument("--without-behavioural-segments", action="store_true",
                        help="build a copy of the project whose segments with conditions are all draft")
    parser.add_argument("--reference-baseline-memory-limit", default=None,
                        help="also run the baseline at as_of with this DuckDB memory_limit (e.g. 10GB) and "
                             "report the full build against it too: what the bare engine does with more memory")
    parser.add_argument("--skip-baseline", action="store_true",
                        help="measure the builds only (no baseline script, no membership comparison): for "
                             "comparing two builds of different registries, as the behavioural-segment pair does")
    args = parser.parse_args(argv)
    if args.skip_baseline and args.reference_baseline_memory_limit:
        parser.error("--reference-baseline-memory-limit runs a baseline; it cannot go with --skip-baseline")

    workdir = (args.workdir or REPO / "data" / "bench" / str(args.customers)).resolve()
    if workdir.exists():
        shutil.rmtree(workdir)
    workdir.mkdir(parents=True)
    project, registry_note = benchmark_segments.prepare_project(
        workdir, args.behavioural_segments, args.without_behavioural_segments)
    registry = project / benchmark_segments.REGISTRY
    print(f"[benchmark] segment registry: {registry_note} ({registry})", flush=True)
    landing = workdir / "landing"
    database = workdir / "warehouse.duckdb"
    temp_dir = workdir / "duckdb_tmp"
    temp_dir.mkdir()
    env = {
        **os.environ,
        "DBT_PROFILES_DIR": str(project),
        "SEGMENTS_DUCKDB_PATH": str(database),
        "DBT_TARGET_PATH": str(workdir / "target"),
        "DBT_LOG_PATH": str(workdir / "dbt_logs"),
        "SEGMENTS_DUCKDB_TEMP_DIR": str(temp_dir),
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
        "DO_NOT_TRACK": "1",
    }
    settings = duckdb_settings(env)
    baseline_settings = {**settings, **(
        {"memory_limit": args.baseline_memory_limit} if args.baseline_memory_limit else {})}
    bench = Benchmark(workdir, project=project)
    checks: list[tuple[str, dict]] = []
    profiles: dict[str, list[tuple[str, float]]] = {}
    memory_profiles: dict[str, list[tuple[str, float]]] = {}
    baseline_stages: dict[str, dict[str, float]] = {}
    build_stages: dict[str, dict[str, float]] = {}

    def generate(end_date: dt.date, increment: bool) -> list[str]:
        return [PYTHON, str(GENERATOR), "--customers", str(args.customers), "--days", str(args.days),
                "--seed", str(args.seed), "--end-date", end_date.isoformat(), "--out", str(landing)] + (
                    ["--increment"] if increment else [])

    def build_arguments(as_of: dt.date) -> list[str]:
        return ["--exclude-resource-type", "unit_test", "--vars", json.dumps({"as_of": as_of.isoformat()})]

    def scheduled_build(as_of: dt.date) -> list[str]:
        return [PYTHON, str(project / SCHEDULED_BUILD.relative_to(REPO)), "--dbt", str(DBT), "--"] + build_arguments(as_of)

    def dbt_build() -> list[str]:
        # as_of comes from $SEGMENTS_AS_OF, as the scheduled build passes it (see build)
        return [str(DBT), "build", "--exclude-resource-type", "unit_test"]

    def baseline(name: str, as_of: dt.date, compare: bool, memory_limit: str | None = None) -> None:
        if args.skip_baseline:
            return
        sql = render_baseline(as_of, registry)
        (workdir / f"baseline_{as_of.isoformat()}.sql").write_text(sql)
        parts_path = workdir / f"baseline_{as_of.isoformat()}_parts.json"
        parts_path.write_text(json.dumps(baseline_parts(sql)))
        timings_path = workdir / f"baseline_stages_{slug(name)}.json"
        timings_path.unlink(missing_ok=True)
        step_settings = {**baseline_settings, **({"memory_limit": memory_limit} if memory_limit else {})}
        step = bench.run(name, [PYTHON, "-c", BASELINE_RUNNER, str(database), str(parts_path), str(timings_path)]
                         + [f"{key}={value}" for key, value in step_settings.items()], env,
                         note=f"as_of {as_of}, memory_limit {step_settings['memory_limit']}",
                         may_fail=True)
        if timings_path.exists():
            baseline_stages[name] = json.loads(timings_path.read_text())
        if not compare or step.failed:
            return
        counts = membership_mismatches(database)
        checks.append((f"as_of {as_of}" + (f", baseline at {memory_limit}" if memory_limit else ""), counts))
        print(f"[benchmark] membership mismatches at as_of {as_of}: {counts['memberships']} "
              f"(primary segments {counts['primary segments']}, "
              f"{counts['baseline membership rows']} baseline rows)"
              + (f"; by segment: {counts['by segment']}" if counts["by segment"] else ""), flush=True)

    def keep_profile(build: str, step: Step) -> None:
        results = workdir / "target" / "run_results.json"
        if results.exists():
            shutil.copy(results, workdir / f"run_results_{slug(build)}.json")
            node_results, hook_results = split_hooks(json.loads(results.read_text())["results"])
            if build in PUBLISH_STEPS and hook_results:
                bench.steps.append(publish_step(PUBLISH_STEPS[build], hook_results, step))
            profiles[build] = node_timings(node_results)
            manifest = workdir / "target" / "manifest.json"
            manifest_nodes = json.loads(manifest.read_text()) if manifest.exists() else {}
            # exposures run as (instant) nodes of `dbt build` too; they sit with their models
            nodes = {**manifest_nodes.get("nodes", {}), **manifest_nodes.get("exposures", {})}
            build_stages[build] = stage_seconds(node_results, nodes)
            memory_profiles[build] = node_memory_peaks(node_windows(node_results), step.memory_samples)

    def build(name: str, as_of: dt.date, note: str, command: list[str] | None = None) -> bool:
        # A skipped build writes no run_results.json: do not report the previous build's.
        (workdir / "target" / "run_results.json").unlink(missing_ok=True)
        # dbt itself gets as_of the way the gate passes it (an environment variable, not
        # --vars), so it keeps the same saved parse as the scheduled builds around it.
        step_env = {**env, "SEGMENTS_AS_OF": as_of.isoformat()} if command else env
        step = bench.run(name, command or scheduled_build(as_of), step_env, note=note, may_fail=True)
        keep_profile(name, step)
        return not step.failed

    def gate_skipped(step_name: str) -> None:
        log = sorted((workdir / "logs").glob(f"*_{slug(step_name)}.log"))[-1].read_text()
        if "scheduled build: skipped" not in log:
            raise SystemExit(f"[benchmark] {step_name}: the scheduled build did not skip:\n{log[-2000:]}")

    as_of = args.end_date
    next_day = as_of + dt.timedelta(days=1)
    bench.run("generate", generate(as_of, increment=False), env)
    bench.run("load", [PYTHON, str(LOADER), "--landing", str(landing), "--database", str(database)], env)
    built = build("full build", as_of, f"as_of {as_of}, fresh warehouse")
    if built:
        built = build("no-op build", as_of, "scheduled build, nothing new: skipped without starting dbt")
        gate_skipped("no-op build")
    if built:
        built = build("no-op dbt build", as_of, "dbt build itself with nothing new (gate bypassed)",
                      command=dbt_build())
    # The baseline reads only raw tables, so it is measured even when a build failed.
    baseline("baseline", as_of, compare=built)
    if args.reference_baseline_memory_limit:
        baseline(reference_baseline_step(args), as_of, compare=built,
                 memory_limit=args.reference_baseline_memory_limit)
    if built:
        bench.run("increment generate", generate(as_of, increment=True), env, note=f"landing day {next_day}")
        bench.run("increment load", [PYTHON, str(LOADER), "--landing", str(landing), "--database", str(database)], env)
        if build("incremental build", next_day, f"as_of {next_day}"):
            baseline("baseline (next day)", next_day, compare=True)

    text = report(args, bench, checks, registry_note, profiles, memory_profiles, settings["memory_limit"],
                  baseline_settings["memory_limit"], baseline_stages, build_stages)
    print(text)
    if args.output:
        args.output.parent.mkdir(parents=True, exist_ok=True)
        args.output.write_text(text)
    if not args.keep_landing:
        shutil.rmtree(landing, ignore_errors=True)
    shutil.rmtree(temp_dir, ignore_errors=True)
    failed = [step.name for step in bench.steps if step.failed]
    if failed:
        print(f"[benchmark] FAILED steps: {', '.join(failed)} (see {workdir / 'logs'})", file=sys.stderr)
        return 1
    mismatches = sum(counts["memberships"] + counts["primary segments"] for _, counts in checks)
    if mismatches:
        print(f"[benchmark] FAILED: the baseline and the dbt marts differ in {mismatches} rows", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
