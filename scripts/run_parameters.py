"""The parameters of a scheduled build: its dbt arguments, ``as_of`` and marks.

The gate reads ``--vars`` as dbt does (a YAML mapping), resolves ``as_of`` the way
``macros/utils/as_of.sql`` does, and passes the run parameters to dbt as environment
variables (``$SEGMENTS_AS_OF``, ``$SEGMENTS_RAW_ROWS_ACCOUNTED_AFTER``,
``$SEGMENTS_LAST_CHECKED_BUILD_AT``; ``macros/utils/run_parameter.sql`` reads them), not as
``--vars``: dbt parses the whole project again whenever ``--vars`` differ from its last
run, which would be every scheduled run. A caller's ``--vars`` ``as_of`` moves to the
environment variable too, unless dbt_project.yml sets an ``as_of`` of its own. The build's
identity (``$SEGMENTS_BUILD_FINGERPRINT``, ``$SEGMENTS_BUILD_NUMBER``) reaches the publish
log of the serving database the same way.
"""

from __future__ import annotations

import json
import os
import re
from datetime import datetime
from pathlib import Path
from typing import Any

import yaml

from build_errors import UsageError, first_line

ACCOUNTED_AFTER_VAR = "raw_rows_accounted_after"
CHECKED_BUILD_VAR = "last_checked_build_at"
MARK_MESSAGES = {
    ACCOUNTED_AFTER_VAR: "row accounting covers the rows loaded after {mark} "
    "(the last successful whole-project build's loads)",
    CHECKED_BUILD_VAR: "the incremental models' data tests check the rows built after {mark} "
    "(the end of the last successful whole-project build)",
}
# The run parameters reach dbt as environment variables, not --vars: dbt parses the
# whole project again whenever --vars differ from its last run, which on a schedule is
# every run (as_of and the marks move), while macros/utils/run_parameter.sql reads these
# only when executing, so the saved parse stays valid.
RUN_PARAMETER_ENV = {
    "as_of": "SEGMENTS_AS_OF",
    ACCOUNTED_AFTER_VAR: "SEGMENTS_RAW_ROWS_ACCOUNTED_AFTER",
    CHECKED_BUILD_VAR: "SEGMENTS_LAST_CHECKED_BUILD_AT",
}
# Which scheduled build is running, for the serving database's publish log
# (macros/serving/); read through run_parameter like the ones above.
BUILD_IDENTITY_ENV = {
    "build_fingerprint": "SEGMENTS_BUILD_FINGERPRINT",
    "build_number": "SEGMENTS_BUILD_NUMBER",
}
# How the marks are written into those vars (the macros accept this form).
TIMESTAMP_VAR_FORMAT = "%Y-%m-%d %H:%M:%S.%f"
# Arguments after which a build does not run every data test over every model's new rows.
PARTIAL_BUILD_FLAGS = frozenset({
    "-s", "--select", "--selector", "--exclude", "-m", "--models",
    "--resource-type", "--resource-types", "--full-refresh", "-f", "--empty", "--sample",
})
# Excluding resource types other than unit tests leaves data tests or models out too.
EXCLUDE_TYPE_FLAGS = frozenset({"--exclude-resource-type", "--exclude-resource-types"})
# The values of var('as_of') that macros/utils/as_of.sql reads as "today (UTC)".
AS_OF_TODAY_VALUES = ("", "none", "None", "today")
AS_OF_PATTERN = re.compile(r"^\d{4}-\d{2}-\d{2}$")

# dbt reads --vars with PyYAML's safe loader (the C one when available).
YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


# --------------------------------------------------------------------- dbt arguments


def vars_argument(dbt_args: list[str]) -> tuple[int, str] | None:
    """Position and text of the last --vars value (dbt takes the last one), if any."""
    found = None
    for position, arg in enumerate(dbt_args):
        if arg == "--vars":
            if position + 1 >= len(dbt_args):
                raise UsageError("--vars needs a value, e.g. --vars '{as_of: 2026-03-01}'")
            found = (position + 1, dbt_args[position + 1])
        elif arg.startswith("--vars="):
            found = (position, arg[len("--vars="):])
    return found


def parse_cli_vars(text: str) -> dict[str, Any]:
    """--vars as dbt reads it: a YAML mapping."""
    try:
        value = yaml.load(text, Loader=YAML_LOADER)
    except (yaml.YAMLError, ValueError) as exc:
        # ValueError: a YAML date that does not exist, such as 2026-13-01.
        problem = getattr(exc, "problem", None) or first_line(exc)
        raise UsageError(f"--vars is not valid YAML ({problem}): {text!r}") from None
    if not isinstance(value, dict):
        raise UsageError(
            f"--vars must be a YAML mapping such as '{{as_of: 2026-03-01}}', got {text!r}"
        )
    return value


def canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)


def normalised_dbt_args(dbt_args: list[str]) -> tuple[list[str], dict[str, Any]]:
    """The build arguments with --vars rewritten as canonical JSON, and the vars."""
    found = vars_argument(dbt_args)
    if found is None:
        return list(dbt_args), {}
    position, text = found
    cli_vars = parse_cli_vars(text)
    args = list(dbt_args)
    args[position] = ("--vars=" if args[position].startswith("--vars=") else "") + canonical(
        cli_vars
    )
    return args, cli_vars


def is_whole_project_build(dbt_args: list[str]) -> bool:
    """No selection, no full refresh and only unit tests excluded: every data test sees
    every model's rows loaded since the last build."""
    excluding_types = False
    for arg in dbt_args:
        if arg.startswith("-"):
            flag, _, value = arg.partition("=")
            if flag in PARTIAL_BUILD_FLAGS:
                return False
            excluding_types = flag in EXCLUDE_TYPE_FLAGS
            values = [value] if value else []
        else:
            values = [arg]
        if excluding_types and any(value != "unit_test" for value in values):
            return False
    return True


def without_var(dbt_args: list[str], name: str) -> list[str]:
    """The arguments without one var; a --vars left empty is dropped with its value."""
    found = vars_argument(dbt_args)
    if found is None:
        return list(dbt_args)
    position, text = found
    remaining = {key: value for key, value in parse_cli_vars(text).items() if key != name}
    args = list(dbt_args)
    if remaining:
        args[position] = ("--vars=" if args[position].startswith("--vars=") else "") + canonical(
            remaining
        )
        return args
    if args[position].startswith("--vars="):
        return args[:position] + args[position + 1:]
    return args[:position - 1] + args[position + 1:]


# ------------------------------------------------------------------------- project


def load_project(project_dir: Path) -> dict[str, Any]:
    path = project_dir / "dbt_project.yml"
    try:
        project = yaml.load(path.read_text(), Loader=YAML_LOADER)
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror or exc}") from None
    except yaml.YAMLError as exc:
        raise UsageError(f"{path} is not valid YAML: {first_line(exc)}") from None
    if not isinstance(project, dict):
        raise UsageError(f"{path} is not a dbt project file (not a mapping)")
    return project


def project_as_of(project: dict[str, Any]) -> Any:
    """The as_of var of dbt_project.yml (the project-scoped one first), "" without one."""
    project_vars = project.get("vars") or {}
    scoped = project_vars.get(project.get("name"))
    if isinstance(scoped, dict) and "as_of" in scoped:
        return scoped["as_of"]
    return project_vars.get("as_of", "")


def resolve_as_of(cli_vars: dict[str, Any], project: dict[str, Any], today: str,
                  environ: dict[str, str] | None = None) -> str:
    """The as_of day dbt will build with, following macros/utils/as_of.sql and
    macros/utils/run_parameter.sql: the var (--vars, else dbt_project.yml); when that is
    empty, $SEGMENTS_AS_OF; when that is empty too, or the var says today, today (UTC)."""
    if "as_of" in cli_vars:
        value, origin = cli_vars["as_of"], "--vars"
    else:
        value, origin = project_as_of(project), "dbt_project.yml"
    # a YAML null is no value, as for dbt's var(): the environment variable is next
    text = "" if value is None else str(value).strip()
    environ = os.environ if environ is None else environ
    if text == "" and environ.get(RUN_PARAMETER_ENV["as_of"], "").strip():
        text, origin = environ[RUN_PARAMETER_ENV["as_of"]].strip(), f"${RUN_PARAMETER_ENV['as_of']}"
    if text in AS_OF_TODAY_VALUES:
        return today
    try:
        if not AS_OF_PATTERN.match(text):
            raise ValueError
        datetime.strptime(text, "%Y-%m-%d")
    except ValueError:
        raise UsageError(
            f"as_of from {origin} must be a date written YYYY-MM-DD "
            f"(for example --vars '{{as_of: 2026-03-01}}'); got {text!r}"
        ) from None
    return text


def dbt_invocation(
    dbt_args: list[str], as_of: str, marks: dict[str, str], project: dict[str, Any]
) -> tuple[list[str], dict[str, str]]:
    """The arguments and the run-parameter environment variables the gate starts dbt with.

    as_of goes into $SEGMENTS_AS_OF and leaves --vars, so that dbt's saved parse of the
    project stays valid from one scheduled run to the next. It stays in --vars when the
    project sets a non-empty as_of of its own (the var would win over the environment
    variable) or when several --vars are given (dbt reads the last one only). Each mark
    goes into its variable unless the caller gave the var; a variable without a value
    here is passed empty, so none is inherited from the caller's environment.
    """
    _, cli_vars = normalised_dbt_args(dbt_args)
    environment = {name: "" for name in RUN_PARAMETER_ENV.values()}
    several_vars = sum(arg == "--vars" or arg.startswith("--vars=") for arg in dbt_args) > 1
    own_as_of = project_as_of(project)
    if (own_as_of is None or str(own_as_of).strip() == "") and not several_vars:
        dbt_args = without_var(dbt_args, "as_of")
        environment[RUN_PARAMETER_ENV["as_of"]] = as_of
    for name, mark in marks.items():
        if name not in cli_vars:
            environment[RUN_PARAMETER_ENV[name]] = mark
    return dbt_args, environment
