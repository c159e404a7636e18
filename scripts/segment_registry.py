"""Validate the segment registry before any membership is computed: the one authority.

The registry is the `segments` list in the `meta` of the `segment_registry` macro,
declared in models/marts/segments/_segment_registry.yml. Every field is checked here and
every rule by scripts/segment_rules.py (sqlglot syntax tree, allowed constructs, types of
dim_customers' contract columns, size caps). dbt runs this same code: on DuckDB the
plugin scripts/segment_registry_plugin.py registers `dbt_verdict_json` as a SQL function
that macros/segments/validate_segment_registry.sql calls before any node runs; on other
adapters dbt accepts only a registry whose checksum this script printed.

    python scripts/segment_registry.py validate [--registry PATH] [--columns-from PATH]
    python scripts/segment_registry.py checksum [--registry PATH] [--columns-from PATH]

`validate` exits 0 with any warnings and a one-line summary when the registry is valid;
exit 1 with one line per problem otherwise. `checksum` prints only the registry's checksum
when it is valid (problems and warnings go to stderr), for SEGMENTS_REGISTRY_CHECKSUM.
"""

from __future__ import annotations

import argparse
import datetime as dt
import functools
import hashlib
import json
import re
import sys
from pathlib import Path

import yaml

from segment_conditions import (
    Catalogue,
    condition_problems,
    load_catalogue,
    macro_meta_value,
    member_of_references,
)
from segment_rules import rule_problems

PROJECT_DIR = Path(__file__).resolve().parent.parent
DEFAULT_REGISTRY = PROJECT_DIR / "models" / "marts" / "segments" / "_segment_registry.yml"
CONTRACT_DOC = PROJECT_DIR / "docs" / "customer_profile_contract.md"

REQUIRED_FIELDS = ("key", "name", "description", "priority", "owner", "status", "review_by", "channels")
STATUSES = ("active", "draft", "archived")
CHANNELS = ("email", "sms", "ads", "onsite")
CONSENT_CHANNELS = ("email", "sms", "ads")
KEY_PATTERN = re.compile(r"^[a-z][a-z0-9_]*$")
DATE_PATTERN = re.compile(r"^\d{4}-\d{2}-\d{2}$")
JINJA_MARKERS = ("{{", "{%", "{#")


class _RegistryLoader(yaml.SafeLoader):
    """YAML as dbt hands macro meta to Jinja: dates and timestamps become ISO text."""


def _timestamp_as_text(loader: yaml.SafeLoader, node: yaml.Node) -> str:
    value = yaml.SafeLoader.construct_yaml_timestamp(loader, node)
    return value.isoformat()


_RegistryLoader.add_constructor("tag:yaml.org,2002:timestamp", _timestamp_as_text)


def load_registry(path: Path) -> object:
    """The registry's meta.segments value as written, or raise ValueError with a readable message."""
    try:
        text = path.read_text()
    except FileNotFoundError:
        raise ValueError(f"registry: file {path} not found") from None
    return parse_registry(text, path)


def parse_registry(text: str, path: Path) -> object:
    """meta.segments of the segment_registry macro in a registry file's text."""
    try:
        document = yaml.load(text, Loader=_RegistryLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.MarkedYAMLError as error:
        raise ValueError(f"registry: {path} is not valid YAML {_yaml_error_place(error)}") from None
    except yaml.YAMLError as error:
        raise ValueError(f"registry: {path} is not valid YAML ({error})") from None
    try:
        return macro_meta_value(document, "segment_registry", "segments")
    except LookupError:
        raise ValueError(f"registry: {path} declares no segment_registry macro") from None


def as_dbt_parses(value: object) -> object:
    """A registry value as dbt hands it to Jinja: dbt renders every string of a properties
    file, and rendering plain text drops one trailing newline (a folded `>` description's)."""
    if isinstance(value, str):
        return value[:-1] if value.endswith("\n") else value
    if isinstance(value, list):
        return [as_dbt_parses(item) for item in value]
    if isinstance(value, dict):
        return {key: as_dbt_parses(item) for key, item in value.items()}
    return value


def _yaml_error_place(error: yaml.MarkedYAMLError) -> str:
    """'at line L, column C: problem (context at line L, column C)', 1-based like an editor."""
    mark = error.problem_mark or error.context_mark
    place = f"at line {mark.line + 1}, column {mark.column + 1}" if mark else "at an unknown place"
    problem = error.problem or error.context or "unreadable"
    text = f"{place}: {problem}"
    if error.context and error.problem and error.context_mark:
        text += f" ({error.context} at line {error.context_mark.line + 1}, column {error.context_mark.column + 1})"
    return text


def contract_columns(columns_from: Path | None = None) -> dict[str, str]:
    """The columns a rule may read, name -> type: dim_customers' documented columns.

    Read from the dim_customers properties file when the project has one, otherwise from
    the contract document's table.
    """
    candidates = [columns_from] if columns_from else sorted((PROJECT_DIR / "models").rglob("*.yml"))
    for candidate in candidates:
        if candidate.suffix == ".md":
            break
        try:
            document = yaml.safe_load(candidate.read_text()) or {}
        except yaml.YAMLError:
            continue
        for model in document.get("models") or [] if isinstance(document, dict) else []:
            if isinstance(model, dict) and model.get("name") == "dim_customers" and model.get("columns"):
                return {
                    str(column["name"]).lower(): str(column.get("data_type") or "").lower()
                    for column in model["columns"]
                }
    doc_path = columns_from if columns_from and columns_from.suffix == ".md" else CONTRACT_DOC
    return _columns_from_contract_doc(doc_path)


def _columns_from_contract_doc(path: Path) -> dict[str, str]:
    columns: dict[str, str] = {}
    for line in path.read_text().splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) < 2 or cells[0] in ("column", "") or set(cells[0]) <= {"-", " "}:
            continue
        column_type = cells[1].split()[0] if cells[1] else ""
        for name in cells[0].split(","):
            columns[name.strip().lower()] = column_type.lower()
    return columns


def registry_problems(segments: object, columns: dict[str, str], catalogue: Catalogue | None = None) -> list[str]:
    """Every problem of the registry (its meta.segments value as written), one message each.

    Conditions are checked against `catalogue`, read from the event catalogue file when
    None and some segment has conditions.
    """
    if segments is None:
        return ["registry: the segment_registry macro has no meta.segments"]
    if not isinstance(segments, list):
        return ["registry: meta.segments of the segment_registry macro must be a list"]
    problems: list[str] = []
    keys_seen: dict[str, int] = {}
    priorities_seen: dict[int, str] = {}
    parents: dict[str, object] = {}
    statuses: dict[str, object] = {}
    member_of: dict[str, list[tuple[str, object]]] = {}
    catalogue_error: list[str] = []
    defaults: list[str] = []

    for index, segment in enumerate(segments, start=1):
        key = segment.get("key") if isinstance(segment, dict) else None
        label = f"segment '{key if key else '#' + str(index)}'"
        if not isinstance(segment, dict):
            problems.append(f"{label}: is not a mapping of fields")
            continue
        for field in REQUIRED_FIELDS:
            if segment.get(field) in (None, "", []):
                problems.append(f"{label}: missing required field '{field}'")
        if key not in (None, ""):
            if not isinstance(key, str) or not KEY_PATTERN.match(key):
                problems.append(f"{label}: key must be snake_case (lowercase letters, digits, underscores)")
            elif key in keys_seen:
                problems.append(f"{label}: duplicate key (also segment #{keys_seen[key]})")
            else:
                keys_seen[key] = index
                parents[key] = segment.get("parent")
                statuses[key] = segment.get("status")
        parent = segment.get("parent")
        if parent is not None and not isinstance(parent, str):
            problems.append(f"{label}: parent must be the key of another segment")
            if isinstance(key, str) and keys_seen.get(key) == index:
                parents[key] = None
        priority = segment.get("priority")
        if priority is not None:
            if isinstance(priority, bool) or not isinstance(priority, int):
                problems.append(f"{label}: priority must be an integer")
            elif priority in priorities_seen:
                problems.append(f"{label}: duplicate priority {priority} (also segment '{priorities_seen[priority]}')")
            else:
                priorities_seen[priority] = key
        status = segment.get("status")
        if status is not None and status not in STATUSES:
            problems.append(f"{label}: status '{status}' is not one of active, draft, archived")
        review_by = segment.get("review_by")
        if review_by is not None and not _is_date(review_by):
            problems.append(f"{label}: review_by '{review_by}' is not a date written YYYY-MM-DD")
        channels = segment.get("channels")
        if channels not in (None, []):
            if not isinstance(channels, list):
                problems.append(f"{label}: channels must be a list")
            else:
                for channel in channels:
                    if channel not in CHANNELS:
                        problems.append(f"{label}: channel '{channel}' is not one of email, sms, ads, onsite")

        with_jinja = _fields_with_jinja(segment)
        problems.extend(f"{label}: {field} must not contain Jinja ('{marker}')" for field, marker in with_jinja.items())

        rules: list[tuple[str, object]] = []
        if segment.get("is_default") is True:
            defaults.append(key)
            if segment.get("rule") is not None:
                problems.append(f"{label}: the default segment has no rule (it holds customers who match nothing)")
            if segment.get("conditions") is not None:
                problems.append(f"{label}: the default segment has no conditions (it holds customers who match nothing)")
            if segment.get("parent") is not None:
                problems.append(f"{label}: the default segment cannot have a parent")
            if segment.get("too_incomplete_when") in (None, ""):
                problems.append(f"{label}: missing required field 'too_incomplete_when'")
            else:
                rules.append(("too_incomplete_when", segment["too_incomplete_when"]))
        else:
            if segment.get("is_default") not in (None, False):
                problems.append(f"{label}: is_default must be true or false")
            if segment.get("too_incomplete_when") is not None:
                problems.append(f"{label}: only the default segment has too_incomplete_when")
            if segment.get("rule") not in (None, ""):
                rules.append(("rule", segment["rule"]))
            elif segment.get("conditions") is None:
                problems.append(f"{label}: missing required field 'rule'")
            if segment.get("conditions") is not None:
                if catalogue is None and not catalogue_error:
                    try:
                        catalogue = load_catalogue()
                    except ValueError as error:
                        catalogue_error.append(str(error))
                        problems.append(str(error))
                if catalogue is not None:
                    problems.extend(condition_problems(segment["conditions"], catalogue, label))
                if isinstance(key, str) and keys_seen.get(key) == index:
                    member_of[key] = member_of_references(segment["conditions"])
        for field, rule in rules:
            if field in with_jinja:
                continue
            problems.extend(f"{label}: {problem}" for problem in rule_problems(rule, field, columns))

    for key, parent in parents.items():
        if parent is None:
            continue
        if parent not in parents:
            problems.append(f"segment '{key}': parent '{parent}' does not exist")
            continue
        if statuses[key] == "active" and statuses[parent] != "active":
            problems.append(f"segment '{key}': is active but its parent '{parent}' is {statuses[parent]}")
        path, current = [key], parent
        while current is not None and current in parents and current not in path:
            path.append(current)
            current = parents[current]
        if current == key:
            problems.append(f"segment '{key}': parents form a cycle ({' -> '.join(path + [key])})")

    problems.extend(_member_of_problems(member_of, parents, statuses, defaults))

    if len(defaults) != 1:
        problems.append(f"registry: exactly one segment must have is_default: true (found {len(defaults)})")
    elif statuses.get(defaults[0]) != "active":
        problems.append(f"segment '{defaults[0]}': the default segment must be active")
    return problems


def _member_of_problems(
    member_of: dict[str, list[tuple[str, object]]], parents: dict[str, object], statuses: dict[str, object],
    defaults: list[str],
) -> list[str]:
    """A member_of target must exist, be another, non-default segment, and be active when the
    reader is; and no cycle may run through member_of and parent edges together (a cycle of
    parents alone is reported as such above)."""
    problems: list[str] = []
    edges: dict[str, list[tuple[str, bool]]] = {key: [] for key in parents}
    for key, parent in parents.items():
        if isinstance(parent, str) and parent in parents:
            edges[key].append((parent, False))
    for key, references in member_of.items():
        for path, target in references:
            if not isinstance(target, str) or not target:
                continue  # reported by the condition check
            where = f"segment '{key}': {path}"
            if target not in parents:
                problems.append(f"{where}: segment '{target}' does not exist")
            elif target == key:
                problems.append(f"{where}: a segment cannot be a member of itself")
            elif target in defaults:
                problems.append(f"{where}: '{target}' is the default segment, which holds those who match nothing")
            else:
                edges[key].append((target, True))
                if statuses[key] == "active" and statuses[target] != "active":
                    problems.append(f"{where}: is active but segment '{target}' is {statuses[target]}")
    for key in parents:
        cycle = _cycle_through(key, edges)
        if cycle:
            problems.append(f"segment '{key}': member_of forms a cycle ({' -> '.join(cycle)})")
    return problems


def _cycle_through(start: str, edges: dict[str, list[tuple[str, bool]]]) -> list[str] | None:
    """The shortest path from start back to start that takes at least one member_of edge."""
    # Breadth-first over (segment, whether a member_of edge was taken), so a cycle of
    # parents alone does not count; the first arrival back at start is the shortest.
    previous: dict[tuple[str, bool], tuple[str, bool] | None] = {(start, False): None}
    queue = [(start, False)]
    while queue:
        state = queue.pop(0)
        for target, is_member_of in edges[state[0]]:
            reached = (target, state[1] or is_member_of)
            if reached == (start, True):
                path, step = [start], state
                while step is not None:
                    path.append(step[0])
                    step = previous[step]
                return path[::-1]
            if reached not in previous and target != start:
                previous[reached] = state
                queue.append(reached)
    return None


def member_of_levels(segments: list[dict]) -> dict[str, int]:
    """The order member_of is evaluated in, per segment key of a valid registry: 0 for a
    segment whose membership reads no other segment's; otherwise 1 + the highest level of
    the segments it reads (its own member_of targets and its ancestors')."""
    by_key = {segment["key"]: segment for segment in segments}
    levels: dict[str, int] = {}

    def reads(key: str) -> set[str]:
        targets, seen, current = set(), set(), key
        while current is not None and current in by_key and current not in seen:
            seen.add(current)
            conditions = by_key[current].get("conditions")
            targets |= {target for _, target in member_of_references(conditions) if target in by_key}
            current = by_key[current].get("parent")
        return targets

    def level(key: str, visiting: tuple[str, ...]) -> int:
        if key in visiting:
            raise ValueError(f"segment '{key}': member_of forms a cycle ({' -> '.join([*visiting, key])})")
        if key not in levels:
            read = reads(key)
            levels[key] = 1 + max(level(target, (*visiting, key)) for target in read) if read else 0
        return levels[key]

    for key in by_key:
        level(key, ())
    return levels


def _fields_with_jinja(segment: dict) -> dict[str, str]:
    """Field -> the first Jinja marker in its text. dbt renders every string of a
    properties file when it parses it, so Jinja would change a value after this check."""
    found: dict[str, str] = {}
    for field, value in segment.items():
        for text in value if isinstance(value, list) else [value]:
            marker = next((marker for marker in JINJA_MARKERS if isinstance(text, str) and marker in text), None)
            if marker and field not in found:
                found[str(field)] = marker
    return found


def _is_date(value: object) -> bool:
    if not isinstance(value, str) or not DATE_PATTERN.match(value):
        return False
    try:
        dt.date.fromisoformat(value)
    except ValueError:
        return False
    return True


def registry_warnings(segments: list) -> list[str]:
    """What a valid registry allows but cannot mean: a segment that can never be primary.

    A customer's primary segment is their segment with the lowest priority number. Every
    member of a segment also matches its ancestors' rules; when an ancestor has a lower
    number and holds every one of those members (it needs no consent, or only consent
    the segment needs too), the ancestor always wins and the segment is never primary.
    """
    by_key = {segment["key"]: segment for segment in segments}
    warnings: list[str] = []
    for segment in segments:
        if segment["status"] == "archived" or segment.get("is_default") is True:
            continue
        seen, ancestor = {segment["key"]}, segment.get("parent")
        while ancestor is not None and ancestor not in seen:
            seen.add(ancestor)
            parent = by_key[ancestor]
            if parent["priority"] < segment["priority"] and _holds_members_of(parent, segment):
                warnings.append(
                    f"segment '{segment['key']}': can never be a primary segment: every member is also in "
                    f"its ancestor '{ancestor}', whose priority {parent['priority']} comes first "
                    f"(the lowest number wins over {segment['priority']})"
                )
                break
            ancestor = parent.get("parent")
    return warnings


def _consent_channels(segment: dict) -> set[str] | None:
    """The channels whose consent membership needs; None when a channel needs no consent."""
    channels = set(segment["channels"])
    return channels if channels <= set(CONSENT_CHANNELS) else None


def _holds_members_of(ancestor: dict, segment: dict) -> bool:
    ancestor_consent, segment_consent = _consent_channels(ancestor), _consent_channels(segment)
    return ancestor_consent is None or (segment_consent is not None and segment_consent <= ancestor_consent)


def verdict(segments: object, columns: dict[str, str]) -> dict[str, list[str]]:
    """{'problems': [...], 'warnings': [...]}; warnings only for a registry without problems."""
    problems = registry_problems(segments, columns)
    return {"problems": problems, "warnings": [] if problems else registry_warnings(segments)}


def dbt_verdict_json(registry_path: str, parsed_json: str, columns_json: str) -> str:
    """verdict() for dbt, as JSON text: what the DuckDB plugin's SQL function returns.

    registry_path is the registry file (the segment_registry macro's patch path, under the
    project directory; a relative path is read from dbt's working directory). The file is validated as written, exactly as the command line
    does (dbt has already rendered the strings it parsed, so Jinja in a value would be
    invisible there), and must hold what dbt parsed (parsed_json, meta.segments as dbt
    has it). columns_json is dim_customers' columns (name -> type) from dbt's graph, or
    null when dbt has no graph (unit tests); they are then read from the project files.
    """
    path = Path(registry_path) if registry_path else DEFAULT_REGISTRY
    try:
        text = path.read_text()
    except FileNotFoundError:
        text = None
    return _dbt_verdict_json(path, text, parsed_json, columns_json)


@functools.lru_cache(maxsize=8)
def _dbt_verdict_json(path: Path, text: str | None, parsed_json: str, columns_json: str) -> str:
    columns = json.loads(columns_json)
    try:
        if text is None:
            raise ValueError(f"registry: file {path} not found")
        segments = parse_registry(text, path)
    except ValueError as error:
        return json.dumps({"problems": [str(error)], "warnings": []})
    result = verdict(segments, columns if columns is not None else contract_columns())
    if not result["problems"] and as_dbt_parses(segments) != json.loads(parsed_json):
        result = {"problems": [f"registry: {path} changed after dbt read it; run dbt again"], "warnings": []}
    return json.dumps(result)


def registry_checksum(segments: object) -> str:
    """md5 of the registry as dbt's `local_md5(tojson(segments, sort_keys=true))` computes it."""
    return hashlib.md5(json.dumps(as_dbt_parses(segments), sort_keys=True).encode("utf-8")).hexdigest()


def validate(registry_path: Path, columns_from: Path | None = None) -> tuple[dict[str, list[str]], object]:
    """(verdict, segments) for the registry file."""
    try:
        segments = load_registry(registry_path)
    except ValueError as error:
        return {"problems": [str(error)], "warnings": []}, None
    return verdict(segments, contract_columns(columns_from)), segments


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    for name, help_text in (
        ("validate", "check the registry; exit 1 with one line per problem"),
        ("checksum", "print the checksum of a valid registry (for SEGMENTS_REGISTRY_CHECKSUM); exit 1 otherwise"),
    ):
        command = commands.add_parser(name, help=help_text)
        command.add_argument("--registry", type=Path, default=DEFAULT_REGISTRY, help="registry file (default: %(default)s)")
        command.add_argument(
            "--columns-from", type=Path, default=None,
            help="dim_customers properties YAML or the contract markdown to read allowed columns from",
        )
    arguments = parser.parse_args(argv)

    result, segments = validate(arguments.registry, arguments.columns_from)
    report = sys.stdout if arguments.command == "validate" else sys.stderr
    for problem in result["problems"]:
        print(problem, file=report)
    if result["problems"]:
        return 1
    for warning in result["warnings"]:
        print(f"warning: {warning}", file=report)
    if arguments.command == "checksum":
        print(registry_checksum(segments))
        return 0
    by_status = {status: sum(1 for segment in segments if segment.get("status") == status) for status in STATUSES}
    print(
        f"Segment registry is valid: {len(segments)} segments "
        f"({by_status['active']} active, {by_status['draft']} draft, {by_status['archived']} archived)."
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
