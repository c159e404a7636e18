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

The dbt-duckdb plugin (scripts/segment_registry_plugin.py) exposes
`threshold_variants_json` as the SQL function segment_rule_threshold_variants, which the
macro segment_threshold_variants calls when rpt_segment_threshold_sensitivity compiles.
"""

from __future__ import annotations

import json
from decimal import ROUND_HALF_UP, Decimal

import sqlglot
from sqlglot import expressions as exp

from segment_rules import COMPARISONS, DIALECT, column_kind

INTEGER_TYPES = (
    "integer", "int", "bigint", "smallint", "tinyint", "hugeint", "int2", "int4", "int8",
)
DEFAULT_CHANGES_PCT = (-20, -10, 0, 10, 20)


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


def threshold_variants_json(rule: str, columns_json: str, changes_json: str) -> str:
    """threshold_variants as JSON text, for the SQL function the dbt plugin registers."""
    columns = {name.lower(): (kind or "").lower() for name, kind in json.loads(columns_json or "{}").items()}
    changes = json.loads(changes_json) if changes_json else list(DEFAULT_CHANGES_PCT)
    return json.dumps(threshold_variants(rule, columns, changes))
