"""The measurement report: one static, offline HTML page from the serving database.

``make report`` (or ``python scripts/report.py [--serving FILE] [--status FILE] [--output
FILE]``) reads only the serving database (read-only, like any analyst; docs/serving.md)
and the build status file the scheduled build writes beside the warehouse, never the
warehouse. It writes a single HTML file with every chart drawn as inline SVG and every
style inline: no script, no font, no image and no request at view time.

Sections: freshness and the last build, segment sizes over time, entries and exits,
overlaps, KPIs per segment, experiment readouts with their 95% intervals. Every chart has
its numbers beside it in a table whose cells carry ``data-col`` and ``data-value`` (the
exact value, as the serving database holds it), rows ``data-key``, tables ``data-table``,
so a test can read them (tests/python/test_report.py). A table missing from the serving
file (a build that predates it) is said in its section instead of failing. Only counts
and rates are shown: no customer id or other identifier leaves the database.
"""

from __future__ import annotations

import argparse
import html
import math
import os
import sys
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import jinja2

sys.path.insert(0, str(Path(__file__).resolve().parent))

import build_status  # noqa: E402
import serving  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
TEMPLATE = Path(__file__).resolve().parent / "report_template.html"
DEFAULT_WAREHOUSE = "data/warehouse.duckdb"
DEFAULT_OUTPUT = Path("data/report/index.html")
MARTS = "marts"
KPI_TABLES = ("fct_segment_kpis_daily", "fct_all_customer_kpis_daily", "fct_segment_flows_daily")
# The KPI window: counts of the KPI marts summed over the last KPI_DAYS days (each counts
# campaigns sent, or customers moving, that day, so days add up), and rates as ratios of
# those sums, as the marts define them per day. Distinct recipients do not add up over
# days, so revenue per recipient is shown for the newest day only.
KPI_DAYS = 30
KPI_WINDOW_SUMS = ("entered_count", "exited_count", "churned_count", "send_count", "delivery_count",
                   "unique_open_count", "machine_open_count", "unique_click_count", "unsubscribe_count",
                   "conversion_count", "attributed_revenue_usd")
KPI_WINDOW_RATES = {"click_through_rate": ("unique_click_count", "delivery_count"),
                    "click_to_open_rate": ("unique_click_count", "unique_open_count")}
ALL_CUSTOMERS = "(all customers)"
# KPIs charted per segment; rates beside the all-customer baseline.
CHARTED_KPIS = ("member_count", "click_through_rate", "click_to_open_rate", "conversion_count",
                "attributed_revenue_usd", "unsubscribe_count", "churned_count")
PALETTE = ("#4269d0", "#efb118", "#ff725c", "#6cc5b0", "#3ca951", "#ff8ab7", "#a463f2",
           "#97bbf5", "#9c6b4e", "#9498a0", "#1b5e20", "#b71c1c", "#00838f", "#5d4037", "#283593",
           "#c0ca33")


# ----------------------------------------------------------------------------- tables


@dataclass
class Table:
    """Rows shown in a table (and usually drawn in a chart beside it)."""

    name: str
    columns: list[str]
    rows: list[dict[str, Any]]
    key: tuple[str, ...] = ()
    missing: str | None = None  # why there is nothing to show, when the relation is absent

    def row_key(self, row: dict[str, Any]) -> str:
        return "|".join(raw(row[column]) for column in self.key)


@dataclass
class Section:
    anchor: str
    title: str
    intro: str
    tables: list[Table] = field(default_factory=list)
    charts: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def raw(value: Any) -> str:
    """The exact value as text: what ``data-value`` holds and a test compares."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    return str(value)


def shown(column: str, value: Any) -> str:
    """The value as a reader sees it."""
    if value is None:
        return "–"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, Decimal):
        value = float(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "NaN"
        if column.endswith(("_rate", "relative_lift", "relative_lift_lower", "relative_lift_upper")) \
                or column.startswith("share_of_"):
            return f"{value:.2%}"
        if "p_value" in column:
            return f"{value:.3g}" if value >= 0.001 else f"{value:.1e}"
        if value.is_integer():
            return f"{value:,.0f}"
        return f"{value:,.4g}" if abs(value) < 1 else f"{value:,.2f}"
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def relation_exists(con: duckdb.DuckDBPyConnection, schema: str, name: str) -> bool:
    return con.execute(
        "select count(*) from information_schema.tables where table_schema = ? and table_name = ?",
        [schema, name]).fetchone()[0] > 0


def query(con: duckdb.DuckDBPyConnection, sql: str, params: list[Any] | None = None) -> tuple[list[str], list[dict[str, Any]]]:
    cursor = con.execute(sql, params or [])
    columns = [description[0] for description in cursor.description]
    return columns, [dict(zip(columns, row)) for row in cursor.fetchall()]


def missing_note(schema: str, name: str) -> str:
    return (f"{schema}.{name} is not in this serving file (the build that published it "
            "predates that mart), so what it holds is not shown.")


def read_table(con: duckdb.DuckDBPyConnection, name: str, sql: str, key: tuple[str, ...],
               needs: tuple[str, ...]) -> Table:
    """Run ``sql`` when every relation in ``needs`` (marts tables) exists; else an empty
    table that says which is missing."""
    for relation in needs:
        if not relation_exists(con, MARTS, relation):
            return Table(name, [], [], key, missing=missing_note(MARTS, relation))
    columns, rows = query(con, sql)
    return Table(name, columns, rows, key)


# -------------------------------------------------------------------------- reading

SEGMENT_SIZES_SQL = """
with events as (
    select segment_key, event_date,
           count(*) filter (where event_type = 'entered') as entered_count,
           count(*) filter (where event_type = 'exited') as exited_count
    from marts.fct_segment_membership_events
    where event_type in ('entered', 'exited')
    group by segment_key, event_date
),
days as (select distinct event_date from events),
segments as (select distinct segment_key from events),
grid as (
    select segments.segment_key, days.event_date,
           coalesce(events.entered_count, 0) as entered_count,
           coalesce(events.exited_count, 0) as exited_count
    from segments cross join days
    left join events on events.segment_key = segments.segment_key and events.event_date = days.event_date
)
select segment_key, event_date as size_date,
       cast(sum(entered_count - exited_count) over (
           partition by segment_key order by event_date rows unbounded preceding) as bigint) as member_count,
       cast(entered_count as bigint) as entered_count,
       cast(exited_count as bigint) as exited_count
from grid
order by segment_key, size_date
"""

KPI_SIZES_SQL = """
select segment_key, kpi_date as size_date, member_count, entered_count, exited_count
from marts.fct_segment_kpis_daily
order by segment_key, size_date
"""

SEGMENTS_SQL = """
select segment_key, segment_name, status, priority, member_count, as_of_date
from marts.dim_segments
order by priority nulls last, segment_key
"""

EVENT_REASONS_SQL = """
select segment_key, event_type, event_reason, cast(count(*) as bigint) as event_count
from marts.fct_segment_membership_events
where event_type in ('entered', 'exited')
group by segment_key, event_type, event_reason
order by segment_key, event_type, event_reason
"""

OVERLAPS_SQL = """
select segment_a_key, segment_b_key, segment_a_member_count, segment_b_member_count,
       shared_customer_count, share_of_segment_a, share_of_segment_b
from marts.rpt_segment_overlaps
order by segment_a_key, segment_b_key
"""

READOUTS_SQL = """
select experiment_key, metric_key, arm_key, metric_role, metric_type, is_control_arm,
       unit_count, metric_value,
       absolute_lift, absolute_lift_lower, absolute_lift_upper,
       relative_lift, relative_lift_lower, relative_lift_upper,
       test_used, p_value,
       cuped_absolute_lift, cuped_absolute_lift_lower, cuped_absolute_lift_upper,
       srm_p_value, is_sample_ratio_mismatch
from marts.fct_experiment_readouts
order by experiment_key, metric_role desc, metric_key, arm_order
"""

PUBLISH_SQL = """
select publish_number, published_at, as_of, build_id, dbt_command, scheduled_build_number, table_count
from main.publish_log
order by publish_number desc
limit 1
"""


def mart_columns(con: duckdb.DuckDBPyConnection, name: str) -> list[str]:
    return [row[0] for row in con.execute(
        "select column_name from information_schema.columns where table_schema = ? and table_name = ? "
        "order by ordinal_position", [MARTS, name]).fetchall()]


def kpi_window_sql(con: duckdb.DuckDBPyConnection, name: str, days: int) -> str:
    """Per segment (or all customers), the KPI mart's counts summed over its last ``days``
    days, the size at the window's end and the rates of those sums."""
    columns = mart_columns(con, name)
    is_segment = "segment_key" in columns
    size = "member_count" if is_segment else "customer_count"
    sums = [column for column in KPI_WINDOW_SUMS if column in columns]
    select = ["segment_key" if is_segment else f"'{ALL_CUSTOMERS}' as segment_key",
              "min(kpi_date) as window_start", "max(kpi_date) as window_end"]
    if size in columns:
        select.append(f"arg_max({size}, kpi_date) as member_count")
    select += [f"sum({column}) as {column}" for column in sums]
    select += [f"cast(sum({numerator}) as double) / nullif(sum({denominator}), 0) as {rate}"
               for rate, (numerator, denominator) in KPI_WINDOW_RATES.items()
               if numerator in sums and denominator in sums]
    return (f"select {', '.join(select)} from {MARTS}.{name} "
            f"where kpi_date > (select max(kpi_date) from {MARTS}.{name}) - {int(days)} "
            f"group by all order by segment_key")


def latest_rows_sql(con: duckdb.DuckDBPyConnection, name: str) -> str:
    """The rows of a daily KPI mart on its newest day, every column it has (the KPI marts
    are young: the report shows what they hold rather than a fixed list)."""
    columns = mart_columns(con, name)
    order = ", ".join(column for column in ("segment_key", "flow", "event_reason") if column in columns) or "1"
    return (f"select * from {MARTS}.{name} "
            f"where kpi_date = (select max(kpi_date) from {MARTS}.{name}) order by {order}")


@dataclass
class ReportData:
    serving_path: Path
    generated_at: datetime
    sizes: Table
    segments: Table
    reasons: Table
    overlaps: Table
    kpis: Table
    baseline: Table
    kpi_window: Table
    flows: Table
    readouts: Table
    publish: Table
    status: dict[str, Any] | None
    status_note: str | None
    freshness: Table
    kpi_days: int = KPI_DAYS


def read_kpi_window(con: duckdb.DuckDBPyConnection, days: int) -> Table:
    """The segments' KPI window with the all-customer row last (when that mart exists)."""
    name = "segment_kpis_window"
    if not relation_exists(con, MARTS, "fct_segment_kpis_daily"):
        return Table(name, [], [], (), missing=missing_note(MARTS, "fct_segment_kpis_daily"))
    columns, rows = query(con, kpi_window_sql(con, "fct_segment_kpis_daily", days))
    if relation_exists(con, MARTS, "fct_all_customer_kpis_daily"):
        _, baseline = query(con, kpi_window_sql(con, "fct_all_customer_kpis_daily", days))
        rows += [{column: row.get(column) for column in columns} for row in baseline]
    return Table(name, columns, rows, ("segment_key",))


def read_kpi_table(con: duckdb.DuckDBPyConnection, name: str, key: tuple[str, ...]) -> Table:
    if not relation_exists(con, MARTS, name):
        return Table(name, [], [], key, missing=missing_note(MARTS, name))
    columns, rows = query(con, latest_rows_sql(con, name))
    if not rows:
        return Table(name, columns, [], key, missing=f"{MARTS}.{name} is in this serving file but holds no rows.")
    return Table(name, columns, rows, tuple(column for column in key if column in columns))


def freshness_rows(status: dict[str, Any] | None, now: datetime) -> Table:
    """The sources behind the build with their newest load, its age now and the SLA."""
    rows = []
    for source in (status or {}).get("sources") or []:
        loaded = source.get("newest_loaded_at")
        loaded_at = datetime.fromisoformat(loaded) if loaded else None
        if loaded_at is not None and loaded_at.tzinfo is None:
            loaded_at = loaded_at.replace(tzinfo=timezone.utc)
        age = round((now - loaded_at).total_seconds() / 3600, 1) if loaded_at else None
        warn, error = source.get("warn_after_hours"), source.get("error_after_hours")
        state = ("no load recorded" if age is None else
                 "error" if error is not None and age > error else
                 "warn" if warn is not None and age > warn else "ok")
        rows.append({"source_table": f"{source.get('source')}.{source.get('table')}",
                     "newest_loaded_at": loaded_at, "age_hours": age,
                     "warn_after_hours": warn, "error_after_hours": error, "state": state})
    columns = ["source_table", "newest_loaded_at", "age_hours", "warn_after_hours", "error_after_hours", "state"]
    return Table("source_freshness", columns, rows, ("source_table",))


def parse_timestamp(text: Any) -> Any:
    """An ISO timestamp of the status file as a datetime (shown to the second); other
    values as they are."""
    try:
        return datetime.fromisoformat(text) if isinstance(text, str) else text
    except ValueError:
        return text


def build_summary(data: ReportData) -> str:
    """One line for the page's header: the last build attempt and its state."""
    if data.status_note:
        return "last build unknown (no build status file)"
    attempt = (data.status or {}).get("last_attempt") or {}
    finished = parse_timestamp(attempt.get("finished_at") or attempt.get("started_at"))
    when = f" at {shown('', finished)}" if finished else ""
    return f"last build #{attempt.get('build_number')} {attempt.get('state')}{when}"


def read_status(path: Path | None) -> tuple[dict[str, Any] | None, str | None]:
    if path is None or not path.is_file():
        return None, (f"No build status file at {path}: the serving file was not published by "
                      "`make build` here (scripts/scheduled_build.py writes it), so the last attempt "
                      "and the sources' freshness are unknown.")
    try:
        return build_status.read_status(path), None
    except build_status.BuildStatusError as exc:
        return None, str(exc)


def read_report_data(serving_file: Path, status_file: Path | None, now: datetime | None = None,
                     kpi_days: int = KPI_DAYS) -> ReportData:
    now = now or datetime.now(timezone.utc)
    con = duckdb.connect(str(serving_file), read_only=True)
    try:
        # The KPI mart holds a size per segment per day; without it, sizes are running sums
        # of the membership events on the days a build saw a change.
        sizes_from_kpis = relation_exists(con, MARTS, "fct_segment_kpis_daily") and con.execute(
            "select count(*) > 0 from marts.fct_segment_kpis_daily").fetchone()[0]
        sizes = read_table(con, "segment_sizes", KPI_SIZES_SQL if sizes_from_kpis else SEGMENT_SIZES_SQL,
                           ("segment_key", "size_date"), ("fct_segment_membership_events",))
        segments = read_table(con, "segments", SEGMENTS_SQL, ("segment_key",), ("dim_segments",))
        reasons = read_table(con, "segment_event_reasons", EVENT_REASONS_SQL,
                             ("segment_key", "event_type", "event_reason"), ("fct_segment_membership_events",))
        overlaps = read_table(con, "segment_overlaps", OVERLAPS_SQL, ("segment_a_key", "segment_b_key"),
                              ("rpt_segment_overlaps",))
        readouts = read_table(con, "experiment_readouts", READOUTS_SQL,
                              ("experiment_key", "metric_key", "arm_key"), ("fct_experiment_readouts",))
        kpis = read_kpi_table(con, "fct_segment_kpis_daily", ("segment_key",))
        baseline = read_kpi_table(con, "fct_all_customer_kpis_daily", ())
        kpi_window = read_kpi_window(con, kpi_days) if not kpis.missing else kpis
        flows = read_kpi_table(con, "fct_segment_flows_daily", ("segment_key", "flow", "event_reason"))
        if relation_exists(con, "main", "publish_log"):
            columns, rows = query(con, PUBLISH_SQL)
            publish = Table("publish", columns, rows, ("publish_number",))
        else:
            publish = Table("publish", [], [], (), missing="This serving file has no publish_log.")
    finally:
        con.close()
    status, status_note = read_status(status_file)
    return ReportData(serving_file, now, sizes, segments, reasons, overlaps, kpis, baseline, kpi_window, flows,
                      readouts, publish, status, status_note, freshness_rows(status, now), kpi_days)


# --------------------------------------------------------------------------- charts


def esc(text: Any) -> str:
    return html.escape(str(text), quote=True)


def nice_max(value: float) -> float:
    if value <= 0:
        return 1.0
    magnitude = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 2.5, 5, 10):
        if value <= step * magnitude:
            return step * magnitude
    return 10 * magnitude


def axis_label(unit: str, value: float) -> str:
    """An axis label: percentages for rates and shares, plain numbers otherwise."""
    if unit.endswith("_rate") or unit.startswith("share_of_"):
        return f"{value:.0%}"
    return f"{value:,.0f}" if value >= 10 or value == 0 else f"{value:.2g}"


def legend(names: list[str], x: float, y: float) -> str:
    items = []
    for index, name in enumerate(names):
        colour = PALETTE[index % len(PALETTE)]
        items.append(f'<rect x="{x}" y="{y + index * 16 - 9}" width="10" height="10" fill="{colour}"/>'
                     f'<text x="{x + 14}" y="{y + index * 16}">{esc(name)}</text>')
    return "".join(items)


def line_chart(title: str, series: dict[str, list[tuple[str, float]]], unit: str = "") -> str:
    """Lines (points when a series has one value) over categorical x labels (dates)."""
    labels = sorted({label for points in series.values() for label, _ in points})
    if not labels:
        return ""
    width, height, left, top, plot_w, plot_h = 720, 280, 56, 24, 470, 210
    top_value = nice_max(max((value for points in series.values() for _, value in points), default=0))
    step = plot_w / max(len(labels) - 1, 1)

    def x_of(label: str) -> float:
        return left + (labels.index(label) * step if len(labels) > 1 else plot_w / 2)

    def y_of(value: float) -> float:
        return top + plot_h - (value / top_value) * plot_h

    parts = [f'<svg class="chart" role="img" viewBox="0 0 {width} {height}" width="{width}" height="{height}">',
             f'<title>{esc(title)}</title>']
    for tick in range(5):
        value = top_value * tick / 4
        y = y_of(value)
        parts.append(f'<line x1="{left}" x2="{left + plot_w}" y1="{y:.1f}" y2="{y:.1f}" class="grid"/>'
                     f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end">{esc(axis_label(unit, value))}</text>')
    shown_labels = labels if len(labels) <= 6 else labels[:: math.ceil(len(labels) / 6)]
    for label in shown_labels:
        parts.append(f'<text x="{x_of(label):.1f}" y="{top + plot_h + 18}" text-anchor="middle">{esc(label)}</text>')
    for index, (name, points) in enumerate(series.items()):
        colour = PALETTE[index % len(PALETTE)]
        coords = [(x_of(label), y_of(value), label, value) for label, value in sorted(points)]
        if len(coords) > 1:
            path = " ".join(f"{x:.1f},{y:.1f}" for x, y, _, _ in coords)
            parts.append(f'<polyline points="{path}" fill="none" stroke="{colour}" stroke-width="2"/>')
        for x, y, label, value in coords:
            parts.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3" fill="{colour}">'
                         f'<title>{esc(name)} {esc(label)}: {esc(shown(unit, value))}</title></circle>')
    parts.append(legend(list(series), left + plot_w + 20, top + 10))
    parts.append("</svg>")
    return "".join(parts)


def bar_chart(title: str, labels: list[str], groups: dict[str, list[float]], unit: str = "") -> str:
    """Horizontal bars, one row per label, one bar per group (e.g. entries and exits)."""
    if not labels:
        return ""
    bar_h, gap, left, plot_w, top = 12, 10, 170, 300, 26
    row_h = bar_h * len(groups) + gap
    height = top + 20 + row_h * len(labels) + 16 * len(groups)
    top_value = nice_max(max((float(value) for values in groups.values() for value in values if value is not None), default=0))
    width = left + plot_w + (160 if len(groups) > 1 else 60)
    parts = [f'<svg class="chart" role="img" viewBox="0 0 {width} {height}" width="{width}" height="{height}">',
             f'<title>{esc(title)}</title>', f'<text x="{left}" y="14" class="caption">{esc(title)}</text>']
    for row, label in enumerate(labels):
        y = top + row * row_h
        parts.append(f'<text x="{left - 6}" y="{y + row_h / 2:.1f}" text-anchor="end">{esc(label)}</text>')
        for index, (name, values) in enumerate(groups.items()):
            value = float(values[row] or 0)
            colour = PALETTE[index % len(PALETTE)]
            bar_w = max(value, 0) / top_value * plot_w
            parts.append(f'<rect x="{left}" y="{y + index * bar_h}" width="{bar_w:.1f}" height="{bar_h - 2}" '
                         f'fill="{colour}"><title>{esc(label)} {esc(name)}: {esc(shown(unit, values[row]))}</title></rect>'
                         f'<text x="{left + bar_w + 4:.1f}" y="{y + index * bar_h + bar_h - 3}">'
                         f'{esc(shown(unit, values[row]))}</text>')
    if len(groups) > 1:
        parts.append(legend(list(groups), left + plot_w + 60, top + 10))
    parts.append("</svg>")
    return "".join(parts)


def heatmap(title: str, keys: list[str], cells: dict[tuple[str, str], float]) -> str:
    """A matrix of shares: row segment's members also in the column segment."""
    if not keys:
        return ""
    cell, left, top = 34, 190, 150
    size_w, size_h = left + cell * len(keys) + 10, top + cell * len(keys) + 10
    parts = [f'<svg class="chart" role="img" viewBox="0 0 {size_w} {size_h}" width="{size_w}" height="{size_h}">',
             f'<title>{esc(title)}</title>']
    for index, key in enumerate(keys):
        parts.append(f'<text x="{left - 6}" y="{top + index * cell + cell / 2 + 4:.1f}" text-anchor="end">{esc(key)}</text>')
        x = left + index * cell + cell / 2
        parts.append(f'<text transform="translate({x:.1f},{top - 6}) rotate(-50)">{esc(key)}</text>')
    for row, key_a in enumerate(keys):
        for column, key_b in enumerate(keys):
            share = None if cells.get((key_a, key_b)) is None else float(cells[(key_a, key_b)])
            if key_a == key_b or share is None:
                fill, label = "#f1f1f1", ""
            else:
                fill, label = f"rgba(66,105,208,{0.08 + 0.92 * share:.3f})", f"{share:.0%}"
            x, y = left + column * cell, top + row * cell
            parts.append(f'<rect x="{x}" y="{y}" width="{cell - 2}" height="{cell - 2}" fill="{fill}">'
                         f'<title>{esc(key_a)} members also in {esc(key_b)}: {esc(label or "–")}</title></rect>')
            if label:
                colour = "#fff" if share > 0.55 else "#222"
                parts.append(f'<text x="{x + cell / 2 - 1:.1f}" y="{y + cell / 2 + 3:.1f}" text-anchor="middle" '
                             f'class="small" fill="{colour}">{label}</text>')
    parts.append("</svg>")
    return "".join(parts)


def signed(value: float, is_rate: bool) -> str:
    return f"{value * 100:+.1f} pp" if is_rate else f"{value:+,.2f}"


def interval_chart(title: str, rows: list[tuple[str, float, float, float]], is_rate: bool) -> str:
    """Absolute lifts against the control with their 95% intervals around a zero line
    (percentage points for rates, the metric's unit for means)."""
    if not rows:
        return ""
    left, plot_w, row_h = 200, 420, 24
    height = 62 + row_h * len(rows)
    bound = nice_max(max(max(abs(low), abs(high), abs(point)) for _, point, low, high in rows))

    def x_of(value: float) -> float:
        return left + (value + bound) / (2 * bound) * plot_w

    parts = [f'<svg class="chart" role="img" viewBox="0 0 720 {height}" width="720" height="{height}">',
             f'<title>{esc(title)}</title>',
             f'<text x="{left}" y="14" class="caption">{esc(title)}</text>',
             f'<line x1="{x_of(0):.1f}" x2="{x_of(0):.1f}" y1="22" y2="{height - 24}" class="zero"/>']
    for tick in (-bound, -bound / 2, 0.0, bound / 2, bound):
        parts.append(f'<text x="{x_of(tick):.1f}" y="{height - 8}" text-anchor="middle">{esc(signed(tick, is_rate))}</text>')
    for index, (label, point, low, high) in enumerate(rows):
        y = 36 + index * row_h
        colour = PALETTE[0] if low > 0 else PALETTE[2] if high < 0 else "#666"
        parts.append(f'<text x="{left - 8}" y="{y + 4}" text-anchor="end">{esc(label)}</text>'
                     f'<line x1="{x_of(low):.1f}" x2="{x_of(high):.1f}" y1="{y}" y2="{y}" stroke="{colour}" stroke-width="2"/>'
                     f'<circle cx="{x_of(point):.1f}" cy="{y}" r="4" fill="{colour}">'
                     f'<title>{esc(label)}: {esc(signed(point, is_rate))} [{esc(signed(low, is_rate))}, '
                     f'{esc(signed(high, is_rate))}]</title></circle>')
    parts.append("</svg>")
    return "".join(parts)


# ------------------------------------------------------------------------- sections


def freshness_section(data: ReportData) -> Section:
    section = Section("freshness", "Data freshness and the last build",
                      "What the serving file holds (its publish log), what the last scheduled build "
                      "did (build_status.json), and how old each source behind it was when this "
                      "report was written.")
    if data.publish.missing:
        section.notes.append(data.publish.missing)
    section.tables.append(data.publish)
    if data.status_note:
        section.notes.append(data.status_note)
    else:
        rows = []
        for kind in ("last_attempt", "last_success"):
            entry = (data.status or {}).get(kind) or {}
            rows.append({"build": kind.replace("_", " "), "build_number": entry.get("build_number"),
                         "state": entry.get("state", "succeeded" if entry else None),
                         "started_at": parse_timestamp(entry.get("started_at")),
                         "finished_at": parse_timestamp(entry.get("finished_at"))})
        section.tables.append(Table("build_status", ["build", "build_number", "state", "started_at", "finished_at"],
                                    rows, ("build",)))
        section.tables.append(data.freshness)
    return section


def sizes_section(data: ReportData) -> Section:
    section = Section("sizes", "Segment sizes over time",
                      "Members of each segment at the end of each day: from marts.fct_segment_kpis_daily "
                      "when the serving file holds it, else the running sum of entries minus exits in "
                      "marts.fct_segment_membership_events on the days a build saw a change. The "
                      "current size and status come from marts.dim_segments.")
    if data.sizes.missing:
        section.notes.append(data.sizes.missing)
    else:
        series: dict[str, list[tuple[str, float]]] = {}
        for row in data.sizes.rows:
            series.setdefault(row["segment_key"], []).append((row["size_date"].isoformat(), row["member_count"]))
        section.charts.append(line_chart("Segment sizes over time", series, "member_count"))
        last = max((row["size_date"] for row in data.sizes.rows), default=None)
        latest = [row for row in data.sizes.rows if row["size_date"] == last]
        section.tables.append(Table("segment_sizes_latest", data.sizes.columns, latest, data.sizes.key))
        section.tables.append(data.sizes)
    if data.segments.missing:
        section.notes.append(data.segments.missing)
    else:
        section.tables.append(data.segments)
    return section


def flows_section(data: ReportData) -> Section:
    section = Section("flows", "Entries and exits",
                      "Customers entering and leaving each segment over the whole history, and why "
                      "(the event reasons of marts.fct_segment_membership_events).")
    if data.reasons.missing:
        section.notes.append(data.reasons.missing)
        return section
    totals: dict[str, dict[str, int]] = {}
    for row in data.reasons.rows:
        totals.setdefault(row["segment_key"], {"entered": 0, "exited": 0})[row["event_type"]] += row["event_count"]
    labels = sorted(totals)
    section.charts.append(bar_chart("Entries and exits per segment", labels,
                                    {"entered": [totals[key]["entered"] for key in labels],
                                     "exited": [totals[key]["exited"] for key in labels]}, "event_count"))
    rows = [{"segment_key": key, "entered_count": totals[key]["entered"], "exited_count": totals[key]["exited"]}
            for key in labels]
    section.tables.append(Table("segment_flow_totals", ["segment_key", "entered_count", "exited_count"], rows,
                                ("segment_key",)))
    section.tables.append(data.reasons)
    if data.flows.missing:
        section.notes.append(data.flows.missing)
    else:
        section.notes.append("Flows on the newest day, from marts.fct_segment_flows_daily:")
        section.tables.append(data.flows)
    return section


def overlaps_section(data: ReportData) -> Section:
    section = Section("overlaps", "Overlaps",
                      "Customers in two active segments at once (marts.rpt_segment_overlaps). A cell "
                      "is the share of the row segment's members that are also in the column segment.")
    if data.overlaps.missing:
        section.notes.append(data.overlaps.missing)
        return section
    keys = sorted({row["segment_a_key"] for row in data.overlaps.rows} | {row["segment_b_key"] for row in data.overlaps.rows})
    cells = {}
    for row in data.overlaps.rows:
        cells[(row["segment_a_key"], row["segment_b_key"])] = row["share_of_segment_a"]
        cells[(row["segment_b_key"], row["segment_a_key"])] = row["share_of_segment_b"]
    section.charts.append(heatmap("Segment overlaps", keys, cells))
    section.tables.append(data.overlaps)
    return section


def kpis_section(data: ReportData) -> Section:
    section = Section("kpis", "KPIs per segment",
                      f"Each segment's KPIs over the last {data.kpi_days} days of marts.fct_segment_kpis_daily "
                      "(counts summed over the days, rates as ratios of those sums, the size at the "
                      "window's end) beside all customers (marts.fct_all_customer_kpis_daily), then "
                      "every KPI of the newest day as the marts hold it; docs/measurement.md defines "
                      "each KPI.")
    if data.kpis.missing:
        section.notes.append(data.kpis.missing)
    else:
        window = data.kpi_window
        segments = [row for row in window.rows if row["segment_key"] != ALL_CUSTOMERS]
        days = (f"{min(row['window_start'] for row in window.rows)} to {max(row['window_end'] for row in window.rows)}"
                if window.rows else "")
        for column in CHARTED_KPIS:
            if column not in window.columns:
                continue
            rows = window.rows if column in KPI_WINDOW_RATES else segments
            section.charts.append(bar_chart(f"{column}, {days}", [row["segment_key"] for row in rows],
                                            {column: [row[column] for row in rows]}, column))
        section.tables.append(window)
        section.tables.append(data.kpis)
    if data.baseline.missing:
        section.notes.append(data.baseline.missing)
    else:
        section.tables.append(data.baseline)
    return section


def readouts_section(data: ReportData) -> Section:
    section = Section("experiments", "Experiment readouts",
                      "Each arm of each experiment per metric (marts.fct_experiment_readouts): n, the "
                      "rate or mean, and on treatment rows the lift against the control with its 95% "
                      "interval, the test's p-value, the CUPED-adjusted lift and the sample-ratio-"
                      "mismatch check. The charts show each treatment arm's absolute lift with its interval.")
    if data.readouts.missing:
        section.notes.append(data.readouts.missing)
        return section
    if not data.readouts.rows:
        section.notes.append("No experiment has units whose attribution window has closed yet.")
    charts: dict[tuple[str, str, bool], list[tuple[str, float, float, float]]] = {}
    for row in data.readouts.rows:
        bounds = (row["absolute_lift"], row["absolute_lift_lower"], row["absolute_lift_upper"])
        if not row["is_control_arm"] and None not in bounds:
            chart = (row["experiment_key"], row["metric_key"], row["metric_type"] == "binary")
            charts.setdefault(chart, []).append((row["arm_key"], *bounds))
    for (experiment, metric, is_rate), points in charts.items():
        section.charts.append(interval_chart(f"{experiment} · {metric}: lift against control, 95% interval",
                                             points, is_rate))
    if any(row["is_sample_ratio_mismatch"] for row in data.readouts.rows):
        section.notes.append("Sample ratio mismatch (p < 0.001) in at least one experiment: its readout "
                             "should not be trusted until the assignment is explained.")
    section.tables.append(data.readouts)
    return section


def build_sections(data: ReportData) -> list[Section]:
    return [sizes_section(data), flows_section(data), overlaps_section(data), kpis_section(data),
            readouts_section(data), freshness_section(data)]


def render(data: ReportData) -> str:
    environment = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined,
                                     trim_blocks=True, lstrip_blocks=True)
    environment.filters["raw"] = raw
    environment.filters["shown"] = lambda value, column: shown(column, value)
    template = environment.from_string(TEMPLATE.read_text(encoding="utf-8"))
    return template.render(data=data, sections=build_sections(data), build_line=build_summary(data))


def write_report(serving_file: Path, output: Path, status_file: Path | None, now: datetime | None = None,
                 kpi_days: int = KPI_DAYS) -> Path:
    data = read_report_data(serving_file, status_file, now, kpi_days)
    output.parent.mkdir(parents=True, exist_ok=True)
    stage = output.with_name(f".{output.name}.{os.getpid()}")
    stage.write_text(render(data), encoding="utf-8")
    os.replace(stage, output)
    return output


# -------------------------------------------------------------------------- browser

CHROMIUM = Path("/usr/bin/chromium")
# Debian's Chromium, never a browser Playwright downloads; quiet and offline.
CHROMIUM_ARGS = ("--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync")


def open_browser(playwright: Any, user_data_dir: Path) -> Any:
    """A headless Chromium context on a fresh profile, every http(s) request aborted (the
    report must need none); ``context.blocked`` lists what was attempted."""
    context = playwright.chromium.launch_persistent_context(
        str(user_data_dir), executable_path=str(CHROMIUM), headless=True, args=list(CHROMIUM_ARGS),
        viewport={"width": 1280, "height": 900}, offline=True)
    context.blocked = []

    def block(route: Any) -> None:
        context.blocked.append(route.request.url)
        route.abort()

    context.route("http://**/*", block)
    context.route("https://**/*", block)
    return context


def screenshot(report: Path, png: Path) -> None:
    """A PNG of the report's first screens (for the README), taken in headless Chromium."""
    import tempfile

    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as profile, sync_playwright() as playwright:
        context = open_browser(playwright, Path(profile))
        try:
            page = context.new_page()
            page.goto(report.resolve().as_uri())
            png.parent.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(png), full_page=True, clip={"x": 0, "y": 0, "width": 1280, "height": 1500})
        finally:
            context.close()


def main(argv: list[str] | None = None) -> int:
    warehouse = os.environ.get("SEGMENTS_DUCKDB_PATH") or DEFAULT_WAREHOUSE
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    default_serving = serving.serving_path(warehouse)
    parser.add_argument("--serving", type=Path, default=default_serving,
                        help="serving database to read (default: $SEGMENTS_SERVING_PATH, else serving.duckdb "
                             "beside $SEGMENTS_DUCKDB_PATH)")
    parser.add_argument("--status", type=Path,
                        help="build status file (default: build_status.json beside the warehouse; with "
                             "--serving, beside that file)")
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT, help=f"HTML file to write (default {DEFAULT_OUTPUT})")
    parser.add_argument("--kpi-days", type=int, default=KPI_DAYS,
                        help=f"days the KPI window sums (default {KPI_DAYS})")
    parser.add_argument("--screenshot", type=Path, help="also save a PNG of the report (headless Chromium)")
    args = parser.parse_args(argv)
    if args.status is None:
        # The scheduled build writes the status beside the warehouse, where the serving file
        # is by default: another serving file's build wrote its status beside it.
        args.status = (build_status.status_path(Path(warehouse)) if args.serving == default_serving
                       else args.serving.parent / build_status.STATUS_FILE_NAME)
    if not args.serving.is_file():
        print(f"report: no serving database at {args.serving}; run `make build` first "
              "(or pass --serving FILE)", file=sys.stderr)
        return 2
    try:
        path = write_report(args.serving, args.output, args.status, kpi_days=args.kpi_days)
    except duckdb.Error as exc:
        print(f"report: cannot read {args.serving}: {exc}", file=sys.stderr)
        return 2
    print(f"Report written to {path}")
    if args.screenshot:
        screenshot(path, args.screenshot)
        print(f"Screenshot written to {args.screenshot}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
