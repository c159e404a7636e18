"""Vary the numeric thresholds of a segment rule, for the threshold sensitivity report.

A segment rule (scripts/segment_rules.py) is one SQL boolean expression over the columns
of dim_customers. A *threshold* here is a numeric literal compared with an expression
that reads at least one column: either side of `=`, `<>`, `<`, `<=`, `>`, `>=` (and the
null-safe forms), or the low or high end of `between` (each end is a threshold of its
own). A literal anywhere else (inside `in (...)`, a function argument such as
`coalesce(x, 0)`, arithmetic on a column, a comparison of two literals) is not varied.

`threshold_variants(rule, columns, changes_pct)` parses the rule with sqlglot and, for
each threshold in the order it is written, returns the rule rewritten with only that
threshold moved by each percentage of `changes_pct` (0 gives the rule unchanged, written
back by sqlglot). Arithmetic is exact (Decimal). A threshold compared with integer
columns only, written without a decimal point and not read through a division, is
rounded to a whole number (half away from zero), and moves by at least 1 when the change
is not 0, so a small count such as `orders_lifetime >= 2` still shows its neighbours
(1 and 3) instead of itself. A threshold of 0 stays 0 (a percentage of 0 is 0).

`condition_count_variants(conditions, changes_pct)` does the same for a segment's
behavioural `conditions:` tree: each written `count` (at_least / at_most / exactly) of a
`performed` or `stopped_performing` node outside `per_key` is a threshold, rounded as an
integer one, and each variant is the whole tree with that count moved. Day windows
(within_days, active_days, ...) and per_key's counts are not varied: they change which
events a measure reads, so a variant would need its own pass over the events.

The dbt-duckdb plugin (scripts/segment_registry_plugin.py) exposes
`threshold_variants_json` (both at once) as the SQL function segment_threshold_variants,
which the macro of the same name calls when rpt_segment_threshold_sensitivity compiles.
"""

from __future__ import annotations

import copy
import json
from decimal import ROUND_HALF_UP, Decimal

import sqlglot
from sqlglot import expressions as exp

from segment_rules import COMPARISONS, DIALECT, column_kind

INTEGER_TYPES = (
    "integer", "int", "bigint", "smallint", "tinyint", "hugeint", "int2", "int4", "int8",
)
DEFAULT_CHANGES_PCT = (-20, -10, 0, 10, 20)
# Behavioural condition kinds whose written `count` is compared in the segment's own
# expression (a count inside per_key is judged in the per-key pass, so it is not varied).
COUNTED_KINDS = ("performed", "stopped_performing")
COUNT_OPERATORS = ("at_least", "at_most", "exactly")


def _numeric_literal(node: exp.Expression) -> Decimal | None:
    """The value of a number literal or a negated one; None for anything else."""
    if isinstance(node, exp.Paren):
        return _numeric_literal(node.this)
    if isinstance(node, exp.Neg):
        inner = _numeric_literal(node.this)
        return None if inner is None else -inner
    if isinstance(node, exp.Literal) and not node.is_string:
        return Decimal(node.this)
    return None


def _is_written_as_integer(node: exp.Expression) -> bool:
    """True when the literal (under any Neg or Paren) is written without a decimal point or exponent."""
    while isinstance(node, (exp.Neg, exp.Paren)):
        node = node.this
    return isinstance(node, exp.Literal) and node.this.lstrip("+-").isdigit()


def _is_integer_side(side: exp.Expression, columns: dict[str, str]) -> bool:
    """True when every column the side reads has an integer type and it divides nothing."""
    names = [column.name.lower() for column in side.find_all(exp.Column)]
    if not names or any(True for _ in side.find_all(exp.Div)):
        return False
    return all(
        column_kind(columns.get(name, "")) == "number"
        and columns.get(name, "").split("(")[0].strip().lower() in INTEGER_TYPES
        for name in names
    )


def _thresholds(tree: exp.Expression) -> list[tuple[exp.Expression, exp.Expression, exp.Expression]]:
    """(literal node, the compared expression, the comparison) per threshold, in written order."""
    found = []
    for node in tree.walk(bfs=False):
        if isinstance(node, COMPARISONS):
            sides = [(node.this, node.expression), (node.expression, node.this)]
            for literal, other in sides:
                if _numeric_literal(literal) is not None and other.find(exp.Column) is not None:
                    found.append((literal, other, node))
        elif isinstance(node, exp.Between) and node.this.find(exp.Column) is not None:
            for end in ("low", "high"):
                literal = node.args.get(end)
                if literal is not None and _numeric_literal(literal) is not None:
                    found.append((literal, node.this, node))
    return found


def varied_value(value: Decimal, change_pct: Decimal, is_integer: bool) -> Decimal:
    """The threshold moved by change_pct percent, rounded as the module docstring says."""
    moved = value * (Decimal(100) + change_pct) / Decimal(100)
    if not is_integer:
        return moved.normalize() if moved != 0 else Decimal(0)
    rounded = moved.quantize(Decimal(1), rounding=ROUND_HALF_UP)
    if rounded == value and change_pct != 0 and value != 0:
        rounded = value + (1 if moved > value else -1)
    return rounded


def _literal_for(value: Decimal) -> exp.Expression:
    text = format(value, "f")
    if text.startswith("-"):
        return exp.Neg(this=exp.Literal.number(text[1:]))
    return exp.Literal.number(text)


def threshold_variants(
    rule: str, columns: dict[str, str], changes_pct: tuple | list = DEFAULT_CHANGES_PCT
) -> list[dict]:
    """One entry per threshold of the rule, each with its variants (see the module docstring).

    Entry: threshold_number (1 = first written), comparison_sql (the comparison it belongs
    to, as sqlglot writes it), compared_sql (the expression it is compared with),
    threshold_value (text), is_integer, variants: [{change_pct, varied_value (text),
    rule_sql}].
    """
    tree = sqlglot.parse_one(rule, read=DIALECT)
    entries = []
    for number, (literal, other, comparison) in enumerate(_thresholds(tree), start=1):
        value = _numeric_literal(literal)
        is_integer = _is_written_as_integer(literal) and _is_integer_side(other, columns)
        variants = []
        for change in changes_pct:
            new_value = varied_value(value, Decimal(str(change)), is_integer)
            replacement = _literal_for(new_value)
            original = literal.copy()
            literal.replace(replacement)
            variants.append({
                "change_pct": change,
                "varied_value": format(new_value, "f"),
                "rule_sql": tree.sql(dialect=DIALECT),
            })
            replacement.replace(original)
            literal = original
        entries.append({
            "threshold_number": number,
            "comparison_sql": comparison.sql(dialect=DIALECT),
            "compared_sql": other.sql(dialect=DIALECT),
            "threshold_value": format(value, "f"),
            "is_integer": is_integer,
            "variants": variants,
        })
    return entries


def _count_nodes(node: object, path: str) -> list[tuple[str, str, int]]:
    """(path, key path inside the tree, operator, value) of every written count a variant can move."""
    if not isinstance(node, dict) or len(node) != 1:
        return []
    kind, body = next(iter(node.items()))
    here = f"{path}.{kind}"
    if kind in ("all", "any") and isinstance(body, list):
        return [found for index, child in enumerate(body) for found in _count_nodes(child, f"{here}[{index}]")]
    if kind == "not":
        return _count_nodes(body, here)
    if kind in COUNTED_KINDS and isinstance(body, dict) and isinstance(body.get("count"), dict):
        return [(here, operator, int(value)) for operator, value in body["count"].items()
                if operator in COUNT_OPERATORS and isinstance(value, int) and not isinstance(value, bool)]
    return []


def _set_count(tree: object, path: str, operator: str, value: int) -> object:
    """A copy of the tree with the count at `path` (as _count_nodes writes it) set to value."""
    copied = copy.deepcopy(tree)
    node = copied
    for step in path.split(".")[1:]:
        kind, _, index = step.partition("[")
        node = node[kind]
        if index:
            node = node[int(index.rstrip("]"))]
    node["count"][operator] = value
    return copied


def condition_count_variants(conditions: object, changes_pct: tuple | list = DEFAULT_CHANGES_PCT) -> list[dict]:
    """One entry per written count (at_least / at_most / exactly) of a behavioural condition
    tree, outside per_key, in written order: path, operator, threshold_value and variants
    [{change_pct, varied_value, conditions: the whole tree with only that count moved}].
    Counts are whole numbers and round as integer thresholds do (threshold_variants)."""
    entries = []
    for path, operator, value in _count_nodes(conditions, "conditions"):
        variants = []
        for change in changes_pct:
            new_value = int(varied_value(Decimal(value), Decimal(str(change)), True))
            variants.append({
                "change_pct": change,
                "varied_value": str(new_value),
                "conditions": _set_count(conditions, path, operator, max(new_value, 0)),
            })
        entries.append({"path": path, "operator": operator, "threshold_value": str(value), "variants": variants})
    return entries


def threshold_variants_json(rule: str, conditions_json: str, columns_json: str, changes_json: str) -> str:
    """{"rule": threshold_variants, "conditions": condition_count_variants} as JSON text, for
    the SQL function the dbt plugin registers (a null rule or conditions gives [])."""
    columns = {name.lower(): (kind or "").lower() for name, kind in json.loads(columns_json or "{}").items()}
    changes = json.loads(changes_json) if changes_json else list(DEFAULT_CHANGES_PCT)
    conditions = json.loads(conditions_json) if conditions_json else None
    return json.dumps({
        "rule": threshold_variants(rule, columns, changes) if rule else [],
        "conditions": condition_count_variants(conditions, changes) if conditions else [],
    })
