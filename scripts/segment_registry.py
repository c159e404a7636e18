"""Validate the segment registry before any membership is computed.

The registry is the `segments` list in the `meta` of the `segment_registry` macro,
declared in models/marts/segments/_segment_registry.yml. Every rule is parsed
with sqlglot and its syntax tree walked: it must be one boolean expression over the columns
dim_customers documents (its properties file, or docs/customer_profile_contract.md), using
only comparisons, boolean logic, arithmetic and a short list of functions.

    python scripts/segment_registry.py validate [--registry PATH] [--columns-from PATH]

Exit 0 with a one-line summary when the registry is valid; exit 1 with one line per
problem otherwise. Messages match the dbt-side check (macros/segments/).
"""

from __future__ import annotations

import argparse
import datetime as dt
import re
import sys
from pathlib import Path

import sqlglot
import yaml
from sqlglot import expressions as exp
from sqlglot.errors import ParseError, TokenError
from sqlglot.tokens import Tokenizer, TokenType

PROJECT_DIR = Path(__file__).resolve().parent.parent
DEFAULT_REGISTRY = PROJECT_DIR / "models" / "marts" / "segments" / "_segment_registry.yml"
CONTRACT_DOC = PROJECT_DIR / "docs" / "customer_profile_contract.md"

REQUIRED_FIELDS = ("key", "name", "description", "priority", "owner", "status", "review_by", "channels")
STATUSES = ("active", "draft", "archived")
CHANNELS = ("email", "sms", "ads", "onsite")
KEY_PATTERN = re.compile(r"^[a-z][a-z0-9_]*$")
DATE_PATTERN = re.compile(r"^\d{4}-\d{2}-\d{2}$")

# Functions a rule may call, by sqlglot expression class and, for functions sqlglot does
# not model, by name.
ALLOWED_FUNCTION_CLASSES = {
    exp.Coalesce: "coalesce",
    exp.Nullif: "nullif",
    exp.Abs: "abs",
    exp.Round: "round",
    exp.Floor: "floor",
    exp.Ceil: "ceil",
    exp.Least: "least",
    exp.Greatest: "greatest",
    exp.Lower: "lower",
    exp.Upper: "upper",
    exp.Trim: "trim",
    exp.Length: "length",
}
ALLOWED_FUNCTION_NAMES = set(ALLOWED_FUNCTION_CLASSES.values())

# Every other node type a rule may contain.
ALLOWED_NODES = (
    exp.And, exp.Or, exp.Not, exp.Paren,
    exp.EQ, exp.NEQ, exp.GT, exp.GTE, exp.LT, exp.LTE, exp.NullSafeEQ, exp.NullSafeNEQ,
    exp.Between, exp.In, exp.Is, exp.Like, exp.ILike,
    exp.Add, exp.Sub, exp.Mul, exp.Div, exp.Mod, exp.Neg,
    exp.Column, exp.Identifier, exp.Literal, exp.Boolean, exp.Null,
)

# Node types whose value is a boolean.
BOOLEAN_NODES = (
    exp.And, exp.Or, exp.Not,
    exp.EQ, exp.NEQ, exp.GT, exp.GTE, exp.LT, exp.LTE, exp.NullSafeEQ, exp.NullSafeNEQ,
    exp.Between, exp.In, exp.Is, exp.Like, exp.ILike, exp.Boolean,
)

STATEMENT_NODES = (exp.Select, exp.Subquery, exp.Union, exp.Query, exp.With)


def load_registry(path: Path) -> list:
    """The segments list of the registry file, or raise ValueError with a readable message."""
    try:
        document = yaml.safe_load(path.read_text())
    except FileNotFoundError:
        raise ValueError(f"registry: file {path} not found") from None
    except yaml.YAMLError as error:
        first_line = str(error).splitlines()[0]
        raise ValueError(f"registry: {path} is not valid YAML ({first_line})") from None
    macros = document.get("macros") if isinstance(document, dict) else None
    for macro in macros or []:
        if isinstance(macro, dict) and macro.get("name") == "segment_registry":
            segments = (macro.get("meta") or {}).get("segments")
            if not isinstance(segments, list):
                raise ValueError("registry: meta.segments of the segment_registry macro must be a list")
            return segments
    raise ValueError(f"registry: {path} declares no segment_registry macro with meta.segments")


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


def rule_problems(rule: object, field: str, columns: dict[str, str]) -> list[str]:
    """Problems of one rule text: it must be a single boolean expression we allow."""
    if not isinstance(rule, str):
        return [f"{field} must be text"]
    try:
        tokens = Tokenizer().tokenize(rule)
    except TokenError:
        return [f"{field} is not a single boolean expression"]
    if any(token.token_type == TokenType.SEMICOLON for token in tokens):
        return [f"{field} must not contain a semicolon"]
    if any(token.comments for token in tokens):
        return [f"{field} must not contain a comment"]
    try:
        statements = sqlglot.parse(rule, read="duckdb")
    except ParseError:
        return [f"{field} is not a single boolean expression"]
    if len(statements) != 1 or statements[0] is None:
        return [f"{field} is not a single boolean expression"]
    tree = statements[0]
    if any(isinstance(node, STATEMENT_NODES) for node in tree.walk()):
        if isinstance(tree, exp.Query) and not isinstance(tree, exp.Subquery):
            return [f"{field} is not a single boolean expression"]
        return [f"{field} must not contain a subquery"]
    if not isinstance(tree, exp.Condition) or isinstance(tree, exp.Command):
        return [f"{field} is not a single boolean expression"]

    problems: list[str] = []
    for node in tree.walk():
        if isinstance(node, exp.Column):
            name = node.name.lower()
            if node.table:
                problems.append(f"{field} references column '{node.sql()}' with a table name; use the bare column name")
            elif name not in columns:
                problems.append(f"{field} references unknown column '{name}'")
        elif isinstance(node, ALLOWED_NODES):
            continue
        elif isinstance(node, exp.Func):
            name = ALLOWED_FUNCTION_CLASSES.get(type(node))
            if name is None:
                called = node.name if isinstance(node, exp.Anonymous) else node.sql_name()
                problems.append(f"{field} uses function '{str(called).lower()}', which is not allowed")
        elif not _is_function_argument_part(node):
            problems.append(f"{field} uses '{node.key}', which is not allowed")
    if problems:
        return problems

    root = tree
    while isinstance(root, exp.Paren):
        root = root.this
    is_boolean_column = isinstance(root, exp.Column) and columns.get(root.name.lower()) == "boolean"
    if not (isinstance(root, BOOLEAN_NODES) or is_boolean_column):
        return [f"{field} is not a single boolean expression"]
    return []


def _is_function_argument_part(node: exp.Expression) -> bool:
    """Helper nodes sqlglot puts inside allowed function calls (e.g. trim's position)."""
    parent = node.parent
    while parent is not None:
        if isinstance(parent, tuple(ALLOWED_FUNCTION_CLASSES)):
            return isinstance(node, (exp.Var,))
        parent = parent.parent
    return False


def registry_problems(segments: list, columns: dict[str, str]) -> list[str]:
    """Every problem of the registry, one message per problem."""
    problems: list[str] = []
    keys_seen: dict[str, int] = {}
    priorities_seen: dict[int, str] = {}
    parents: dict[str, object] = {}
    statuses: dict[str, object] = {}
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
        if key:
            if not KEY_PATTERN.match(str(key)):
                problems.append(f"{label}: key must be snake_case (lowercase letters, digits, underscores)")
            if key in keys_seen:
                problems.append(f"{label}: duplicate key (also segment #{keys_seen[key]})")
            else:
                keys_seen[key] = index
            parents[key] = segment.get("parent")
            statuses[key] = segment.get("status")
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

        rules: list[tuple[str, object]] = []
        if segment.get("is_default") is True:
            defaults.append(key)
            if segment.get("rule") is not None:
                problems.append(f"{label}: the default segment has no rule (it holds customers who match nothing)")
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
            if segment.get("rule") in (None, ""):
                problems.append(f"{label}: missing required field 'rule'")
            else:
                rules.append(("rule", segment["rule"]))
        for field, rule in rules:
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

    if len(defaults) != 1:
        problems.append(f"registry: exactly one segment must have is_default: true (found {len(defaults)})")
    elif statuses.get(defaults[0]) != "active":
        problems.append(f"segment '{defaults[0]}': the default segment must be active")
    return problems


def _is_date(value: object) -> bool:
    if isinstance(value, dt.date):
        return True
    if not isinstance(value, str) or not DATE_PATTERN.match(value):
        return False
    try:
        dt.date.fromisoformat(value)
    except ValueError:
        return False
    return True


def validate(registry_path: Path, columns_from: Path | None = None) -> tuple[list[str], list]:
    """(problems, segments) for the registry file."""
    try:
        segments = load_registry(registry_path)
    except ValueError as error:
        return [str(error)], []
    return registry_problems(segments, contract_columns(columns_from)), segments


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    validate_command = commands.add_parser("validate", help="check the registry; exit 1 with one line per problem")
    validate_command.add_argument("--registry", type=Path, default=DEFAULT_REGISTRY, help="registry file (default: %(default)s)")
    validate_command.add_argument(
        "--columns-from", type=Path, default=None,
        help="dim_customers properties YAML or the contract markdown to read allowed columns from",
    )
    arguments = parser.parse_args(argv)

    problems, segments = validate(arguments.registry, arguments.columns_from)
    if problems:
        for problem in problems:
            print(problem)
        return 1
    by_status = {status: sum(1 for segment in segments if segment.get("status") == status) for status in STATUSES}
    print(
        f"Segment registry is valid: {len(segments)} segments "
        f"({by_status['active']} active, {by_status['draft']} draft, {by_status['archived']} archived)."
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
