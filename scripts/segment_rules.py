"""Check one segment rule: a single boolean SQL expression over typed profile columns.

A rule is parsed with sqlglot and its syntax tree walked. It may use only comparisons,
boolean logic, arithmetic, `between`, `in`, `is`, `like` and a short list of functions,
over the columns of dim_customers, and every operation is type-checked against the
columns' contract types before any SQL runs: `country_code = 3` compares text with a
number and is rejected here instead of failing the build.

`rule_problems(rule, field, columns)` returns one message per problem, each starting with
the field's name (`rule`, `too_incomplete_when`); an empty list means the rule is safe to
splice into the segments models' SQL.
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlglot
from sqlglot import expressions as exp
from sqlglot.errors import ParseError, TokenError
from sqlglot.tokens import TokenType

DIALECT = "duckdb"

# Size caps: the characters of a rule, the nodes of its syntax tree and how deeply it
# nests parentheses. Every rule is spliced into one CASE that evaluates all segments, so
# a rule past these is a mistake, not a segment.
MAX_RULE_CHARACTERS = 1000
MAX_RULE_NODES = 200
MAX_PARENTHESIS_DEPTH = 10

# Functions a rule may call, by sqlglot expression class.
ALLOWED_FUNCTIONS = {
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

COMPARISONS = (exp.EQ, exp.NEQ, exp.GT, exp.GTE, exp.LT, exp.LTE, exp.NullSafeEQ, exp.NullSafeNEQ)
ARITHMETIC = {exp.Add: "+", exp.Sub: "-", exp.Mul: "*", exp.Div: "/", exp.Mod: "%"}
LOGIC = (exp.And, exp.Or)
PATTERNS = {exp.Like: "like", exp.ILike: "ilike"}

# Every node type a rule may contain besides allowed function calls.
ALLOWED_NODES = (
    *LOGIC, exp.Not, exp.Paren, *COMPARISONS, exp.Between, exp.In, exp.Is, *PATTERNS, *ARITHMETIC, exp.Neg,
    exp.Column, exp.Identifier, exp.Literal, exp.Boolean, exp.Null,
)

STATEMENT_NODES = (exp.Select, exp.Subquery, exp.Union, exp.Query, exp.With)

# Contract column types by kind; a type not listed here is not type-checked.
TYPE_KINDS = {
    "text": ("text", "varchar", "string", "char", "character", "character varying", "nvarchar", "bpchar"),
    "number": (
        "integer", "int", "bigint", "smallint", "tinyint", "hugeint", "int2", "int4", "int8",
        "decimal", "numeric", "number", "double", "double precision", "float", "float4", "float8", "real",
    ),
    "boolean": ("boolean", "bool"),
    "date": ("date",),
    "timestamp": ("timestamp", "timestamptz", "timestamp with time zone", "timestamp_ntz", "timestamp_tz", "datetime"),
}
KIND_OF_TYPE = {name: kind for kind, names in TYPE_KINDS.items() for name in names}
TEMPORAL = ("date", "timestamp")


def column_kind(column_type: str) -> str:
    """The kind (text, number, boolean, date, timestamp) of a contract type; 'unknown' otherwise."""
    base = column_type.split("(")[0].strip().lower()
    if base not in KIND_OF_TYPE:
        base = base.split(" ")[0]
    return KIND_OF_TYPE.get(base, "unknown")


@dataclass(frozen=True)
class Typed:
    """The kind of an expression's value and how a message names the expression."""

    kind: str
    described: str
    is_literal: bool = False


def rule_problems(rule: object, field: str, columns: dict[str, str]) -> list[str]:
    """Problems of one rule text; empty when it is one allowed, well-typed boolean expression."""
    if not isinstance(rule, str):
        return [f"{field} must be text"]
    if len(rule) > MAX_RULE_CHARACTERS:
        return [f"{field} is {len(rule):,} characters long; the limit is {MAX_RULE_CHARACTERS:,}"]
    try:
        tokens = sqlglot.Dialect.get_or_raise(DIALECT).tokenize(rule)
    except TokenError:
        return [f"{field} is not a single boolean expression"]
    if any(token.token_type == TokenType.SEMICOLON for token in tokens):
        return [f"{field} must not contain a semicolon"]
    if any(token.comments for token in tokens):
        return [f"{field} must not contain a comment"]
    depth_problem = _parenthesis_problem(tokens, field)
    if depth_problem:
        return [depth_problem]
    try:
        statements = sqlglot.parse(rule, read=DIALECT)
    except (ParseError, TokenError):
        return [f"{field} is not a single boolean expression"]
    if len(statements) != 1 or statements[0] is None:
        return [f"{field} is not a single boolean expression"]
    tree = statements[0]
    nodes = list(tree.walk())
    if any(isinstance(node, STATEMENT_NODES) for node in nodes):
        if isinstance(tree, exp.Query) and not isinstance(tree, exp.Subquery):
            return [f"{field} is not a single boolean expression"]
        return [f"{field} must not contain a subquery"]
    if not isinstance(tree, exp.Condition) or isinstance(tree, exp.Command):
        return [f"{field} is not a single boolean expression"]
    if len(nodes) > MAX_RULE_NODES:
        return [f"{field} has {len(nodes):,} syntax-tree nodes; the limit is {MAX_RULE_NODES}"]

    problems = _node_problems(nodes, field, columns)
    if problems:
        return problems
    if not any(isinstance(node, exp.Column) for node in nodes):
        return [f"{field} references no column, so it is the same for every customer"]
    checker = _TypeChecker(field, columns)
    root = checker.typed(tree)
    if checker.problems:
        return checker.problems
    if root.kind != "boolean":
        return [f"{field} is not a single boolean expression"]
    return []


def _parenthesis_problem(tokens: list, field: str) -> str | None:
    depth = deepest = 0
    for token in tokens:
        if token.token_type == TokenType.L_PAREN:
            depth += 1
            deepest = max(deepest, depth)
        elif token.token_type == TokenType.R_PAREN:
            depth -= 1
            if depth < 0:
                break
    if depth != 0:
        return f"{field} has unbalanced parentheses"
    if deepest > MAX_PARENTHESIS_DEPTH:
        return f"{field} nests parentheses {deepest} levels deep; the limit is {MAX_PARENTHESIS_DEPTH}"
    return None


def _node_problems(nodes: list[exp.Expression], field: str, columns: dict[str, str]) -> list[str]:
    """Columns that are unknown or qualified, functions and constructs a rule may not use."""
    problems: list[str] = []
    for node in nodes:
        if isinstance(node, exp.Column):
            name = node.name.lower()
            if node.table:
                problems.append(f"{field} references column '{node.sql()}' with a table name; use the bare column name")
            elif name not in columns:
                problems.append(f"{field} references unknown column '{name}'")
        elif isinstance(node, ALLOWED_NODES):
            continue
        elif isinstance(node, exp.Func):
            if type(node) not in ALLOWED_FUNCTIONS:
                called = node.name if isinstance(node, exp.Anonymous) else node.sql_name()
                problems.append(f"{field} uses function '{str(called).lower()}', which is not allowed")
        elif not _is_function_argument_part(node):
            problems.append(f"{field} uses '{node.key}', which is not allowed")
    return problems


def _is_function_argument_part(node: exp.Expression) -> bool:
    """Helper nodes sqlglot puts inside allowed function calls (e.g. trim's position)."""
    parent = node.parent
    while parent is not None:
        if isinstance(parent, tuple(ALLOWED_FUNCTIONS)):
            return isinstance(node, exp.Var)
        parent = parent.parent
    return False


class _TypeChecker:
    """Infers each node's kind bottom-up and records every operation on the wrong kinds.

    A node whose operands are wrong is given the kind 'unknown', so one mistake gives one
    message rather than one per enclosing operation.
    """

    def __init__(self, field: str, columns: dict[str, str]):
        self.field = field
        self.columns = columns
        self.problems: list[str] = []

    def typed(self, node: exp.Expression) -> Typed:
        before = len(self.problems)
        result = self._typed(node)
        if len(self.problems) > before:
            return Typed("unknown", result.described)
        return result

    def _typed(self, node: exp.Expression) -> Typed:
        if isinstance(node, exp.Paren):
            return self.typed(node.this)
        if isinstance(node, exp.Column):
            declared = self.columns.get(node.name.lower(), "")
            return Typed(column_kind(declared), f"column '{node.name.lower()}' ({declared or 'untyped'})")
        if isinstance(node, exp.Literal):
            if node.is_string:
                return Typed("text", f"the text '{node.this}'", is_literal=True)
            return Typed("number", f"the number {node.this}", is_literal=True)
        if isinstance(node, exp.Boolean):
            return Typed("boolean", f"the boolean {node.sql().lower()}", is_literal=True)
        if isinstance(node, exp.Null):
            return Typed("null", "null", is_literal=True)
        if isinstance(node, COMPARISONS):
            self._comparable(self.typed(node.this), self.typed(node.expression), "compares {} with {}")
            return self._result(node, "boolean")
        if isinstance(node, exp.Between):
            value = self.typed(node.this)
            self._comparable(value, self.typed(node.args["low"]), "compares {} with {}")
            self._comparable(value, self.typed(node.args["high"]), "compares {} with {}")
            return self._result(node, "boolean")
        if isinstance(node, exp.In):
            value = self.typed(node.this)
            for item in node.expressions:
                self._comparable(value, self.typed(item), "compares {} with {}")
            return self._result(node, "boolean")
        if isinstance(node, tuple(PATTERNS)):
            for operand in (node.this, node.expression):
                self._expect(self.typed(operand), ("text",), f"applies '{PATTERNS[type(node)]}' to {{}}, which is not text")
            return self._result(node, "boolean")
        if isinstance(node, exp.Is):
            if isinstance(node.expression, exp.Boolean):
                self._expect(self.typed(node.this), ("boolean",), "uses {} as a condition, but it is not a boolean")
            else:
                self.typed(node.this)
            return self._result(node, "boolean")
        if isinstance(node, (exp.Not, *LOGIC)):
            operands = [node.this] if isinstance(node, exp.Not) else [node.this, node.expression]
            for operand in operands:
                self._expect(self.typed(operand), ("boolean",), "uses {} as a condition, but it is not a boolean")
            return self._result(node, "boolean")
        if isinstance(node, tuple(ARITHMETIC)) or isinstance(node, exp.Neg):
            symbol = "-" if isinstance(node, exp.Neg) else ARITHMETIC[type(node)]
            operands = [node.this] if isinstance(node, exp.Neg) else [node.this, node.expression]
            for operand in operands:
                self._expect(self.typed(operand), ("number",), f"applies '{symbol}' to {{}}, which is not a number")
            return self._result(node, "number")
        if isinstance(node, tuple(ALLOWED_FUNCTIONS)):
            return self._function(node)
        return Typed("unknown", f"'{node.sql(dialect=DIALECT)}'")

    def _function(self, node: exp.Expression) -> Typed:
        name = ALLOWED_FUNCTIONS[type(node)]
        arguments = [node.this] + [
            value for key, value in node.args.items()
            if key not in ("this", "expressions", "position") and isinstance(value, exp.Expression)
        ] + list(node.expressions)
        typed = [self.typed(argument) for argument in arguments]
        if name in ("lower", "upper", "trim", "length"):
            for argument in typed:
                self._expect(argument, ("text",), f"applies '{name}' to {{}}, which is not text")
            return self._result(node, "number" if name == "length" else "text")
        if name in ("abs", "round", "floor", "ceil"):
            for argument in typed:
                self._expect(argument, ("number",), f"applies '{name}' to {{}}, which is not a number")
            return self._result(node, "number")
        # coalesce, nullif, least, greatest: every argument of one kind, which is the result's.
        first = typed[0]
        for argument in typed[1:]:
            self._comparable(first, argument, f"mixes {{}} and {{}} in '{name}'")
            if first.kind in ("null", "unknown"):
                first = argument
        return self._result(node, first.kind)

    def _result(self, node: exp.Expression, kind: str) -> Typed:
        return Typed(kind, f"the expression '{node.sql(dialect=DIALECT)}' ({kind})")

    def _comparable(self, left: Typed, right: Typed, message: str) -> None:
        kinds = {left.kind, right.kind}
        if kinds & {"null", "unknown"} or len(kinds) == 1 or kinds <= set(TEMPORAL):
            return
        # A text literal reads as a date or timestamp ('2026-01-01') on every adapter.
        if any(side.kind in TEMPORAL for side in (left, right)) and any(
            side.kind == "text" and side.is_literal for side in (left, right)
        ):
            return
        self.problems.append(f"{self.field} {message.format(left.described, right.described)}")

    def _expect(self, value: Typed, kinds: tuple[str, ...], message: str) -> None:
        if value.kind in (*kinds, "null", "unknown"):
            return
        self.problems.append(f"{self.field} {message.format(value.described)}")
