"""Compile segments' behavioural conditions into DuckDB SQL for the bare-DuckDB baseline.

A second, independent implementation of the `conditions:` of the segment registry
(docs/segments.md, "Behavioural conditions"): scripts/benchmark.py calls compile_segment()
for each active segment and splices the result into scripts/benchmark_baseline.sql, whose
memberships are then compared with the dbt marts. It reads only the baseline's own tables:

  baseline.behaviour_events   one row per web event, per email event, and per counted order
                              and product it holds (an order without lines once), with the
                              customer it is attributed to and every catalogue property
  baseline.segment_members    the members (after consent and completeness) of the segments
                              inserted so far, read by member_of

It shares no code with macros/segments/: it evaluates the raw events themselves (not
daily aggregates), so a difference in memberships points at one of the two. Windows are
whole days ending on as_of; names and types come from the event catalogue
(models/marts/segments/_segment_event_catalogue.yml). The trees are assumed valid
(scripts/segment_registry.py validates them before any build).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[1]
CATALOGUE = REPO / "models" / "marts" / "segments" / "_segment_event_catalogue.yml"
EVENTS = "baseline.behaviour_events"
MEMBERS = "baseline.segment_members"
COUNT_OPERATORS = {"at_least": ">=", "at_most": "<=", "exactly": "="}


def load_catalogue(path: Path = CATALOGUE) -> dict[str, dict[str, Any]]:
    """The event families of the catalogue: name -> {events, properties (name -> type), keys}."""
    document = yaml.safe_load(path.read_text())
    macro = next(macro for macro in document["macros"] if macro["name"] == "segment_event_catalogue")
    return macro["meta"]["families"]


def quote(value: object) -> str:
    return "'" + str(value).replace("'", "''") + "'"


def day(value: dt.date) -> str:
    return f"date '{value.isoformat()}'"


@dataclass
class Scope:
    """Where leaf values are joined: per customer (key None) or per customer and key."""
    key: str | None = None
    joins: list[str] = field(default_factory=list)


@dataclass
class SegmentConditions:
    """The compiled conditions of one segment: CTEs to define, CTEs to left join on
    customer_id, the boolean expression over them, and the segments read via member_of."""
    ctes: list[tuple[str, str]]
    joins: list[str]
    expression: str
    member_of: list[str]


class ConditionCompiler:
    def __init__(self, segment_key: str, as_of: dt.date, name_prefix: str,
                 catalogue: dict[str, dict[str, Any]] | None = None) -> None:
        self.segment_key = segment_key
        self.as_of = as_of
        self.prefix = name_prefix
        self.catalogue = catalogue or load_catalogue()
        self.family_of = {event: name for name, family in self.catalogue.items() for event in family["events"]}
        self.ctes: list[tuple[str, str]] = []
        self.member_of: list[str] = []

    # names and predicates --------------------------------------------------------------

    def name(self) -> str:
        return f"{self.prefix}_{len(self.ctes) + 1}"

    def literal(self, value: object, property_type: str) -> str:
        if property_type == "number":
            return str(value)
        if property_type == "boolean":
            return "true" if value is True or str(value).lower() == "true" else "false"
        return quote(value)

    def filter_sql(self, event: str, where: list[dict[str, Any]] | None) -> str:
        types = self.catalogue[self.family_of[event]]["properties"]
        tests = [f"event_name = {quote(event)}"]
        for condition in where or []:
            column, operator = condition["property"], str(condition.get("op", "=")).lower()
            if operator in ("in", "not in"):
                values = ", ".join(self.literal(value, types[column]) for value in condition["values"])
                test = f"{column} {operator} ({values})"
            else:
                test = f"{column} {operator} {self.literal(condition['value'], types[column])}"
            # an event without the property is "not equal" to any value
            tests.append(f"({column} is null or {test})" if operator in ("!=", "not in") else test)
        return "(" + " and ".join(tests) + ")"

    def window(self, spec: dict[str, Any]) -> tuple[dt.date | None, dt.date]:
        if spec.get("within_days") is not None:
            return self.as_of - dt.timedelta(days=int(spec["within_days"]) - 1), self.as_of
        if spec.get("between"):
            start, end = (dt.date.fromisoformat(str(value)) for value in spec["between"])
            return start, min(end, self.as_of)
        return None, self.as_of

    def in_days(self, expression: str, start: dt.date | None, end: dt.date) -> str:
        if start is None:
            return f"{expression} <= {day(end)}"
        return f"{expression} between {day(start)} and {day(end)}"

    def count(self, event: str, predicate: str) -> str:
        """Events matching `predicate`; an order is one event whatever lines matched."""
        if self.family_of[event] == "order":
            return f"count(distinct case when {predicate} then event_id end)"
        return f"count(*) filter (where {predicate})"

    def leaf(self, scope: Scope, event: str, where: list[dict[str, Any]] | None,
             columns: dict[str, str]) -> str:
        """A CTE of aggregates over the events matching `event` and `where`, grouped per
        customer (and key in a per_key scope); returns its name, joined in `scope`."""
        name = self.name()
        group = "customer_id" + (", " + scope.key + " as key_value" if scope.key else "")
        key_test = f" and {scope.key} is not null" if scope.key else ""
        selected = ",\n        ".join(f"{sql} as {column}" for column, sql in columns.items())
        self.ctes.append((name, (
            f"select {group},\n        {selected}\n    from {EVENTS}\n"
            f"    where {self.filter_sql(event, where)}{key_test}\n"
            f"    group by all")))
        scope.joins.append(name)
        return name

    def count_test(self, column: str, count: dict[str, int] | None) -> str:
        count = count or {"at_least": 1}
        operator = next(name for name in COUNT_OPERATORS if count.get(name) is not None)
        return f"coalesce({column}, 0) {COUNT_OPERATORS[operator]} {int(count[operator])}"

    # the tree --------------------------------------------------------------------------

    def node(self, node: dict[str, Any], scope: Scope) -> str:
        (kind, spec), = node.items()
        if kind in ("all", "any"):
            joiner = " and " if kind == "all" else " or "
            return "(" + joiner.join(self.node(child, scope) for child in spec) + ")"
        if kind == "not":
            return f"(not {self.node(spec, scope)})"
        if kind == "performed":
            start, end = self.window(spec)
            name = self.leaf(scope, spec["event"], spec.get("where"),
                             {"matches": self.count(spec["event"], self.in_days("activity_date", start, end))})
            return "(" + self.count_test(f"{name}.matches", spec.get("count")) + ")"
        if kind == "first_performed":
            start, end = self.window(spec)
            name = self.leaf(scope, spec["event"], spec.get("where"), {"first_date": "min(activity_date)"})
            return f"coalesce({self.in_days(name + '.first_date', start, end)}, false)"
        if kind == "last_performed":
            start, end = self.window(spec)
            columns = {"last_at": "max(occurred_at)"}
            if spec.get("last_event_where"):
                # the latest event satisfies last_event_where when the latest time among
                # the events that do equals the latest time of all
                extra = self.filter_sql(spec["event"], spec["last_event_where"])
                columns["last_matching_at"] = f"max(occurred_at) filter (where {extra})"
            name = self.leaf(scope, spec["event"], spec.get("where"), columns)
            test = self.in_days(f"cast({name}.last_at as date)", start, end)
            if spec.get("last_event_where"):
                test += f" and {name}.last_matching_at = {name}.last_at"
            return f"coalesce({test}, false)"
        if kind == "stopped_performing":
            inactive_from = self.as_of - dt.timedelta(days=int(spec["inactive_days"]) - 1)
            active_to = inactive_from - dt.timedelta(days=1)
            active_from = active_to - dt.timedelta(days=int(spec["active_days"]) - 1)
            name = self.leaf(scope, spec["event"], spec.get("where"), {
                "active": self.count(spec["event"], self.in_days("activity_date", active_from, active_to)),
                "inactive": self.count(spec["event"], self.in_days("activity_date", inactive_from, self.as_of)),
            })
            return f"({self.count_test(name + '.active', spec.get('count'))} and coalesce({name}.inactive, 0) = 0)"
        if kind == "restarted_performing":
            recent_from = self.as_of - dt.timedelta(days=int(spec["recent_days"]) - 1)
            gap_from = recent_from - dt.timedelta(days=int(spec["inactive_days"]))
            earlier_to = gap_from - dt.timedelta(days=1)
            earlier_from = (earlier_to - dt.timedelta(days=int(spec["earlier_days"]) - 1)
                            if spec.get("earlier_days") else None)
            name = self.leaf(scope, spec["event"], spec.get("where"), {
                "recent": self.count(spec["event"], self.in_days("activity_date", recent_from, self.as_of)),
                "gap": self.count(spec["event"], self.in_days("activity_date", gap_from,
                                                              recent_from - dt.timedelta(days=1))),
                "earlier": self.count(spec["event"], self.in_days("activity_date", earlier_from, earlier_to)),
            })
            return (f"(coalesce({name}.recent, 0) > 0 and coalesce({name}.gap, 0) = 0"
                    f" and coalesce({name}.earlier, 0) > 0)")
        if kind == "per_key":
            return self.per_key(spec, scope)
        if kind == "member_of":
            if spec not in self.member_of:
                self.member_of.append(spec)
            return (f"(customers.customer_id in (select customer_id from {MEMBERS}"
                    f" where segment_key = {quote(spec)}))")
        if kind == "random_bucket":
            bucket = (f"(cast('0x' || substring(md5({quote(self.segment_key + '|')} || customers.customer_id), 1, 7)"
                      f" as bigint) % 10000)")
            return f"({bucket} < {int(round(float(spec['percent']) * 100))})"
        raise SystemExit(f"[benchmark] segment {self.segment_key}: unknown condition kind {kind!r}")

    def per_key(self, spec: dict[str, Any], scope: Scope) -> str:
        """The inner condition evaluated per (customer, key): the candidate keys are those of
        the keys event (its latest occurrence ranks them) or, without `keys`, every key the
        inner condition's events carry; some: one candidate holds; every: all hold (and,
        with keys.last N, there are N)."""
        key = spec["key"]
        inner = Scope(key=key)
        expression = self.node(spec["condition"], inner)
        keys = spec.get("keys")
        if keys:
            candidates = self.filter_sql(keys["event"], keys.get("where"))
        else:
            events = sorted(self.events_of(spec["condition"]))
            candidates = "event_name in (" + ", ".join(quote(event) for event in events) + ")"
        name = self.name()
        joins = "".join(f"\n    left join {leaf} on candidate_keys.customer_id = {leaf}.customer_id"
                        f" and candidate_keys.key_value = {leaf}.key_value" for leaf in inner.joins)
        ranked = (f"select candidate_keys.customer_id, coalesce({expression}, false) as holds,\n"
                  f"        row_number() over (partition by candidate_keys.customer_id"
                  f" order by candidate_keys.candidate_at desc, candidate_keys.key_value desc) as key_rank\n"
                  f"    from (select customer_id, {key} as key_value, max(occurred_at) as candidate_at"
                  f" from {EVENTS} where {candidates} and {key} is not null group by all) as candidate_keys{joins}")
        require = spec.get("require", "some")
        if keys and require == "every":
            verdict = f"count(*) = {int(keys['last'])} and bool_and(holds)"
        elif require == "every":
            verdict = "bool_and(holds)"
        else:
            verdict = "bool_or(holds)"
        limit = f" where key_rank <= {int(keys['last'])}" if keys else ""
        self.ctes.append((name, f"select customer_id, {verdict} as holds\n    from ({ranked}) as ranked{limit}\n"
                                f"    group by customer_id"))
        scope.joins.append(name)
        if scope.key is not None:
            raise SystemExit(f"[benchmark] segment {self.segment_key}: per_key inside per_key")
        return f"coalesce({name}.holds, false)"

    def events_of(self, node: dict[str, Any]) -> set[str]:
        (kind, spec), = node.items()
        if kind in ("all", "any"):
            return set().union(*(self.events_of(child) for child in spec))
        if kind == "not":
            return self.events_of(spec)
        return {spec["event"]}


def compile_conditions(segment_key: str, conditions: dict[str, Any], as_of: dt.date, name_prefix: str,
                       catalogue: dict[str, dict[str, Any]] | None = None) -> SegmentConditions:
    """One segment's conditions tree as CTEs and a boolean expression over
    `customers` (baseline.customer_features) left joined to them."""
    compiler = ConditionCompiler(segment_key, as_of, name_prefix, catalogue)
    scope = Scope()
    expression = compiler.node(conditions, scope)
    return SegmentConditions(compiler.ctes, scope.joins, expression, compiler.member_of)
