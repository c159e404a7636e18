"""Validate a segment's behavioural `conditions` tree against the event catalogue.

A segment in the registry (models/marts/segments/_segment_registry.yml) may carry
`conditions:`, one condition node (docs/segments.md, "Behavioural conditions"). The events
and properties a node may name, with each property's type, are the event catalogue,
models/marts/segments/_segment_event_catalogue.yml (meta.families of the
segment_event_catalogue macro). scripts/segment_registry.py imports this module:

    catalogue = load_catalogue()                       # ValueError with one readable line
    condition_problems(tree, catalogue, "segment 'vip'")  # one message per problem
    member_of_references(tree)                          # [(path, segment key), ...]

Each message names the segment, the condition by its path in the tree and the problem:
`segment 'lapsed_openers': conditions.all[1].stopped_performing: unknown event 'email_opne'
(known: ...)`. The `member_of` targets are checked by the registry, which knows every segment.

    python scripts/segment_conditions.py catalogue-table

prints the catalogue as the markdown table docs/segments.md shows.
"""

from __future__ import annotations

import argparse
import datetime as dt
import math
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

import yaml

PROJECT_DIR = Path(__file__).resolve().parent.parent
DEFAULT_CATALOGUE = PROJECT_DIR / "models" / "marts" / "segments" / "_segment_event_catalogue.yml"

PROPERTY_TYPES = ("text", "number", "boolean")
KINDS = (
    "all", "any", "not", "performed", "first_performed", "last_performed",
    "stopped_performing", "restarted_performing", "per_key", "member_of", "random_bucket",
)
LEAF_KINDS = (
    "performed", "first_performed", "last_performed", "stopped_performing", "restarted_performing",
    "member_of", "random_bucket",
)
PER_KEY_INNER_KINDS = ("all", "any", "not", "performed")
FIELDS = {
    "performed": ("event", "count", "within_days", "between", "where"),
    "first_performed": ("event", "within_days", "between", "where"),
    "last_performed": ("event", "within_days", "between", "where", "last_event_where"),
    "stopped_performing": ("event", "where", "active_days", "inactive_days", "count"),
    "restarted_performing": ("event", "where", "recent_days", "inactive_days", "earlier_days"),
    "per_key": ("key", "require", "keys", "condition"),
    "random_bucket": ("percent",),
}
REQUIRED_DAYS = {
    "stopped_performing": ("active_days", "inactive_days"),
    "restarted_performing": ("recent_days", "inactive_days"),
}
KEYS_FIELDS = ("last", "event", "where")
COUNT_OPERATORS = ("at_least", "at_most", "exactly")
FILTER_FIELDS = ("property", "op", "value", "values")
OPERATORS = ("=", "!=", ">", ">=", "<", "<=", "in", "not in")
LIST_OPERATORS = ("in", "not in")
ORDERING_OPERATORS = (">", ">=", "<", "<=")
REQUIRES = ("some", "every")
MAX_ITEMS = 20
MAX_DEPTH = 6
MAX_LEAVES = 40
MAX_DAYS = 3650
JINJA_MARKERS = ("{{", "{%", "{#")
DATE_PATTERN = re.compile(r"^\d{4}-\d{2}-\d{2}$")


@dataclass(frozen=True)
class Family:
    """One source of events: its event names, filterable properties (name -> type) and per_key keys."""

    name: str
    events: tuple[str, ...]
    properties: dict[str, str]
    keys: tuple[str, ...]


@dataclass(frozen=True)
class Catalogue:
    """The event catalogue: families in file order."""

    families: tuple[Family, ...]

    @property
    def events(self) -> dict[str, Family]:
        """Event name -> its family, in catalogue order."""
        return {event: family for family in self.families for event in family.events}

    @property
    def keys(self) -> tuple[str, ...]:
        """Every property some family lets per_key group by, in catalogue order."""
        return tuple(dict.fromkeys(key for family in self.families for key in family.keys))


def load_catalogue(path: Path = DEFAULT_CATALOGUE) -> Catalogue:
    """The catalogue in `path`, or raise ValueError with one readable line."""
    try:
        document = yaml.safe_load(path.read_text())
    except FileNotFoundError:
        raise ValueError(f"event catalogue: file {path} not found") from None
    except yaml.YAMLError as error:
        raise ValueError(f"event catalogue: {path} is not valid YAML ({' '.join(str(error).split())})") from None
    try:
        families = macro_meta_value(document, "segment_event_catalogue", "families")
    except LookupError:
        raise ValueError(f"event catalogue: {path} declares no segment_event_catalogue macro") from None
    return _catalogue_from(families, path)


def macro_meta_value(document: object, macro_name: str, key: str) -> object:
    """meta[key] of the macro `macro_name` in a parsed properties file (None when its meta
    lacks the key); LookupError when the file declares no such macro."""
    macros = document.get("macros") if isinstance(document, dict) else None
    for macro in macros if isinstance(macros, list) else []:
        if isinstance(macro, dict) and macro.get("name") == macro_name:
            meta = macro.get("meta")
            return meta.get(key) if isinstance(meta, dict) else None
    raise LookupError(macro_name)


def _catalogue_from(families: object, path: Path) -> Catalogue:
    if not isinstance(families, dict) or not families:
        raise ValueError(f"event catalogue: {path} has no meta.families mapping")
    parsed = []
    for name, family in families.items():
        where = f"event catalogue: family '{name}' in {path}"
        if not isinstance(family, dict):
            raise ValueError(f"{where} is not a mapping")
        events, properties, keys = family.get("events"), family.get("properties"), family.get("keys") or []
        if not isinstance(events, list) or not events or not all(isinstance(event, str) for event in events):
            raise ValueError(f"{where} needs a list of event names")
        if not isinstance(properties, dict) or any(kind not in PROPERTY_TYPES for kind in properties.values()):
            raise ValueError(f"{where} needs properties as name -> one of {', '.join(PROPERTY_TYPES)}")
        if not isinstance(keys, list) or any(key not in properties for key in keys):
            raise ValueError(f"{where} has keys that are not among its properties")
        parsed.append(Family(str(name), tuple(events), {str(k): v for k, v in properties.items()}, tuple(keys)))
    return Catalogue(tuple(parsed))


@dataclass
class _Checker:
    """Walks one segment's tree, collecting messages and counting leaves."""

    catalogue: Catalogue
    label: str
    problems: list[str] = field(default_factory=list)
    leaves: int = 0
    depth_reported: bool = False

    def report(self, path: str, problem: str) -> None:
        self.problems.append(f"{self.label}: {path}: {problem}")

    def node(self, value: object, path: str, depth: int, inside_per_key: bool = False) -> None:
        if depth > MAX_DEPTH and not self.depth_reported:
            self.depth_reported = True
            self.report(path, f"nests conditions {depth} levels deep; the limit is {MAX_DEPTH}")
        if not isinstance(value, dict):
            self.report(path, f"must be a mapping with one condition kind ({', '.join(KINDS)}), not {_describe(value)}")
            return
        for key in value:
            if key not in KINDS:
                self.report(path, f"unknown key '{key}' (condition kinds: {', '.join(KINDS)})")
        kinds = [key for key in value if key in KINDS]
        if not kinds:
            self.report(path, f"has no condition kind (one of {', '.join(KINDS)})")
            return
        if len(kinds) > 1:
            self.report(path, f"has {len(kinds)} condition kinds ({', '.join(kinds)}); a node has exactly one")
            return
        kind = kinds[0]
        if inside_per_key and kind not in PER_KEY_INNER_KINDS:
            self.report(path, f"inside per_key only {', '.join(PER_KEY_INNER_KINDS)} are allowed (got {kind})")
            return
        if kind in LEAF_KINDS:
            self.leaves += 1
        body, here = value[kind], f"{path}.{kind}"
        if kind in ("all", "any"):
            self.items(body, here, depth, inside_per_key)
        elif kind == "not":
            self.node(body, here, depth + 1, inside_per_key)
        elif kind == "member_of":
            if not isinstance(body, str) or not body:
                self.report(here, f"must be the key of another segment, not {_describe(body)}")
        elif kind == "per_key":
            self.per_key(body, here, depth)
        elif kind == "random_bucket":
            self.random_bucket(body, here)
        else:
            self.event_condition(kind, body, here)

    def items(self, body: object, path: str, depth: int, inside_per_key: bool) -> None:
        if not isinstance(body, list):
            self.report(path, f"must be a list of 1 to {MAX_ITEMS} conditions, not {_describe(body)}")
        elif not body:
            self.report(path, f"is empty; give 1 to {MAX_ITEMS} conditions")
        elif len(body) > MAX_ITEMS:
            self.report(path, f"has {len(body)} conditions; the limit is {MAX_ITEMS}")
        else:
            for index, item in enumerate(body):
                self.node(item, f"{path}[{index}]", depth + 1, inside_per_key)

    def fields(self, kind: str, body: object, path: str, allowed: tuple[str, ...]) -> bool:
        """False (reported) when body is not a mapping; reports keys outside `allowed`."""
        if not isinstance(body, dict):
            self.report(path, f"must be a mapping of {', '.join(allowed)}, not {_describe(body)}")
            return False
        for key in body:
            if key not in allowed:
                self.report(path, f"unknown key '{key}' (allowed for {kind}: {', '.join(allowed)})")
        return True

    def event(self, body: dict, path: str) -> Family | None:
        """The family of body's required `event`, or None (reported) when missing or unknown."""
        if "event" not in body:
            self.report(path, "missing required field 'event'")
            return None
        family = self.catalogue.events.get(body["event"]) if isinstance(body["event"], str) else None
        if family is None:
            known = ", ".join(self.catalogue.events)
            self.report(path, f"unknown event {_shown(body['event'])} (known: {known})")
        return family

    def event_condition(self, kind: str, body: object, path: str) -> None:
        if not self.fields(kind, body, path, FIELDS[kind]):
            return
        assert isinstance(body, dict)
        family = self.event(body, path)
        if "count" in body:
            self.count(body["count"], f"{path}.count")
        if kind in ("performed", "first_performed", "last_performed"):
            self.window(kind, body, path)
        for name in REQUIRED_DAYS.get(kind, ()):
            if name not in body:
                self.report(path, f"missing required field '{name}'")
        for name in ("active_days", "inactive_days", "recent_days", "earlier_days"):
            if name in body:
                self.days(body[name], f"{path}.{name}")
        for name in ("where", "last_event_where"):
            if name in body:
                self.filters(body[name], f"{path}.{name}", body.get("event"), family)

    def window(self, kind: str, body: dict, path: str) -> None:
        if "within_days" in body and "between" in body:
            self.report(path, "give within_days or between, not both")
        elif kind != "performed" and "within_days" not in body and "between" not in body:
            self.report(path, "needs a window: within_days or between")
        if "within_days" in body:
            self.days(body["within_days"], f"{path}.within_days")
        if "between" in body:
            self.between(body["between"], f"{path}.between")

    def days(self, value: object, path: str) -> None:
        if not _is_whole(value) or not 1 <= value <= MAX_DAYS:
            self.report(path, f"must be a whole number of days from 1 to {MAX_DAYS} (got {_shown(value)})")

    def between(self, value: object, path: str) -> None:
        if not isinstance(value, list) or len(value) != 2:
            self.report(path, f"must be two dates [from, to] written YYYY-MM-DD (got {_shown(value)})")
            return
        dates = []
        for index, text in enumerate(value):
            date = _date(text)
            if date is None:
                self.report(f"{path}[{index}]", f"is not a date written YYYY-MM-DD (got {_shown(text)})")
            dates.append(date)
        if None not in dates and dates[0] > dates[1]:
            self.report(path, f"starts after it ends ({value[0]} is after {value[1]})")

    def count(self, value: object, path: str) -> None:
        if not self.fields("count", value, path, COUNT_OPERATORS):
            return
        assert isinstance(value, dict)
        given = [operator for operator in COUNT_OPERATORS if operator in value]
        if len(given) != 1:
            got = ", ".join(given) if given else "none"
            self.report(path, f"needs exactly one of {', '.join(COUNT_OPERATORS)} (got {got})")
        for operator in given:
            if not _is_whole(value[operator]) or value[operator] < 0:
                self.report(f"{path}.{operator}", f"must be a whole number of at least 0 (got {_shown(value[operator])})")

    def filters(self, value: object, path: str, event: object, family: Family | None) -> None:
        if not isinstance(value, list) or not value:
            self.report(path, f"must be a non-empty list of property filters, not {_describe(value)}")
            return
        for index, item in enumerate(value):
            self.filter(item, f"{path}[{index}]", event, family)

    def filter(self, item: object, path: str, event: object, family: Family | None) -> None:
        if not self.fields("a property filter", item, path, FILTER_FIELDS):
            return
        assert isinstance(item, dict)
        operator = item.get("op", "=")
        if operator not in OPERATORS:
            self.report(f"{path}.op", f"unknown operator {_shown(operator)} (known: {', '.join(OPERATORS)})")
            operator = None
        wants, unwanted = ("values", "value") if operator in LIST_OPERATORS else ("value", "values")
        if operator is not None and unwanted in item:
            self.report(path, f"operator '{operator}' takes '{wants}', not '{unwanted}'")
        if "property" not in item:
            self.report(path, "missing required field 'property'")
        if operator is not None and wants not in item:
            self.report(path, f"missing required field '{wants}'")
        if "property" not in item or family is None:
            return
        name = item["property"]
        kind = family.properties.get(name) if isinstance(name, str) else None
        if kind is None:
            self.report(path, f"unknown property {_shown(name)} for event '{event}' "
                              f"(known: {', '.join(family.properties)})")
            return
        if operator in ORDERING_OPERATORS and kind == "boolean":
            self.report(path, f"operator '{operator}' does not apply to property '{name}' (boolean)")
        if operator is None or wants not in item:
            return
        if wants == "values":
            values = item["values"]
            if not isinstance(values, list) or not values:
                self.report(f"{path}.values", f"must be a non-empty list of values, not {_describe(values)}")
                return
        else:
            values = [item["value"]]
        for value in values:
            if _kind_of(value) != kind:
                self.report(path, f"compares property '{name}' ({kind}) with {_describe(value)}")

    def per_key(self, body: object, path: str, depth: int) -> None:
        if not self.fields("per_key", body, path, FIELDS["per_key"]):
            return
        assert isinstance(body, dict)
        for name in ("key", "condition"):
            if name not in body:
                self.report(path, f"missing required field '{name}'")
        key = body.get("key")
        if "key" in body and key not in self.catalogue.keys:
            self.report(f"{path}.key", f"unknown key {_shown(key)} (known: {', '.join(self.catalogue.keys)})")
            key = None
        if "require" in body and body["require"] not in REQUIRES:
            self.report(f"{path}.require", f"must be one of {', '.join(REQUIRES)} (got {_shown(body['require'])})")
        if "keys" in body:
            self.candidate_keys(body["keys"], f"{path}.keys", key)
        if "condition" in body:
            self.node(body["condition"], f"{path}.condition", depth + 1, inside_per_key=True)
            if key is not None:
                for event_path, event in _performed_events(body["condition"], f"{path}.condition"):
                    self.carries(key, event, event_path)

    def candidate_keys(self, value: object, path: str, key: object) -> None:
        if not self.fields("keys", value, path, KEYS_FIELDS):
            return
        assert isinstance(value, dict)
        if "last" not in value:
            self.report(path, "missing required field 'last'")
        elif not _is_whole(value["last"]) or value["last"] < 1:
            self.report(f"{path}.last", f"must be a whole number of at least 1 (got {_shown(value['last'])})")
        family = self.event(value, path)
        if "where" in value:
            self.filters(value["where"], f"{path}.where", value.get("event"), family)
        if family is not None and key is not None:
            self.carries(key, value["event"], path)

    def carries(self, key: object, event: object, path: str) -> None:
        family = self.catalogue.events.get(event) if isinstance(event, str) else None
        if family is not None and key not in family.keys:
            keys = ", ".join(family.keys) if family.keys else "none"
            self.report(path, f"event '{event}' does not carry key '{key}' (keys of {family.name} events: {keys})")

    def random_bucket(self, body: object, path: str) -> None:
        if not self.fields("random_bucket", body, path, FIELDS["random_bucket"]):
            return
        assert isinstance(body, dict)
        if "percent" not in body:
            self.report(path, "missing required field 'percent'")
            return
        percent = body["percent"]
        if (
            _kind_of(percent) != "number" or not 0 < percent <= 100
            or not math.isclose(percent * 100, round(percent * 100), abs_tol=1e-9)
        ):
            self.report(f"{path}.percent", "must be a number above 0 and at most 100, with at most two decimals "
                                           f"(got {_shown(percent)})")


def condition_problems(conditions: object, catalogue: Catalogue, label: str) -> list[str]:
    """Every problem of one segment's `conditions` node, each message starting with `label`
    (e.g. "segment 'vip'"). Jinja anywhere in the tree is reported alone: dbt renders every
    string of a properties file, so the value checked here would not be the value dbt uses."""
    checker = _Checker(catalogue, label)
    for path, marker in _strings_with_jinja(conditions, "conditions"):
        checker.report(path, f"must not contain Jinja ('{marker}')")
    if checker.problems:
        return checker.problems
    checker.node(conditions, "conditions", 1)
    if checker.leaves > MAX_LEAVES:
        checker.report("conditions", f"has {checker.leaves} leaf conditions; the limit is {MAX_LEAVES}")
    return checker.problems


def member_of_references(conditions: object, path: str = "conditions") -> list[tuple[str, object]]:
    """(path of the member_of node, its target) for every member_of in the tree, in order."""
    found: list[tuple[str, object]] = []
    if isinstance(conditions, dict) and len([key for key in conditions if key in KINDS]) == 1:
        kind = next(key for key in conditions if key in KINDS)
        body = conditions[kind]
        if kind == "member_of":
            found.append((f"{path}.member_of", body))
        elif kind in ("all", "any") and isinstance(body, list):
            for index, item in enumerate(body):
                found.extend(member_of_references(item, f"{path}.{kind}[{index}]"))
        elif kind == "not":
            found.extend(member_of_references(body, f"{path}.not"))
    return found


def _performed_events(node: object, path: str) -> list[tuple[str, object]]:
    """(path, event) of every performed inside a per_key condition."""
    if not isinstance(node, dict) or len(node) != 1:
        return []
    kind, body = next(iter(node.items()))
    if kind == "performed" and isinstance(body, dict) and "event" in body:
        return [(f"{path}.performed", body["event"])]
    if kind in ("all", "any") and isinstance(body, list):
        return [found for index, item in enumerate(body) for found in _performed_events(item, f"{path}.{kind}[{index}]")]
    if kind == "not":
        return _performed_events(body, f"{path}.not")
    return []


def _strings_with_jinja(value: object, path: str) -> list[tuple[str, str]]:
    if isinstance(value, str):
        marker = next((marker for marker in JINJA_MARKERS if marker in value), None)
        return [(path, marker)] if marker else []
    if isinstance(value, dict):
        found = []
        for key, item in value.items():
            found += _strings_with_jinja(key, path) + _strings_with_jinja(item, f"{path}.{key}")
        return found
    if isinstance(value, list):
        return [found for index, item in enumerate(value) for found in _strings_with_jinja(item, f"{path}[{index}]")]
    return []


def _is_whole(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _kind_of(value: object) -> str | None:
    """The catalogue type a YAML value has: text, number, boolean, or None."""
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number" if math.isfinite(value) else None
    if isinstance(value, str):
        return "text"
    return None


def _describe(value: object) -> str:
    """A value for a message: "the text 'abc'", "the number 3", "the boolean true", "a list"."""
    if value is None:
        return "null"
    kind = _kind_of(value)
    if kind:
        return f"the {kind} {_shown(value)}"
    return "a list" if isinstance(value, list) else "a mapping" if isinstance(value, dict) else f"'{value}'"


def _shown(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, str):
        return f"'{value}'"
    if isinstance(value, (list, dict)):
        return yaml.safe_dump(value, default_flow_style=True, width=10_000).strip()
    return str(value)


def _date(value: object) -> dt.date | None:
    if not isinstance(value, str) or not DATE_PATTERN.match(value):
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        return None


def catalogue_table(catalogue: Catalogue) -> str:
    """The catalogue as the markdown table of docs/segments.md, one row per family."""
    lines = ["| family | events (`event:`) | properties (`where:`, type) | per_key keys |", "| --- | --- | --- | --- |"]
    for family in catalogue.families:
        events = ", ".join(f"`{event}`" for event in family.events)
        properties = ", ".join(f"`{name}` {kind}" for name, kind in family.properties.items())
        keys = ", ".join(f"`{key}`" for key in family.keys)
        lines.append(f"| {family.name} | {events} | {properties} | {keys} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    table = commands.add_parser("catalogue-table", help="print the event catalogue as docs/segments.md shows it")
    table.add_argument("--catalogue", type=Path, default=DEFAULT_CATALOGUE, help="catalogue file (default: %(default)s)")
    arguments = parser.parse_args(argv)
    try:
        print(catalogue_table(load_catalogue(arguments.catalogue)))
    except ValueError as error:
        print(error, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
