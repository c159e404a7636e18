"""Errors of the scheduled build that end it with one line and an exit code.

``scripts/scheduled_build.py`` prints them as ``scheduled build: error: <message>``; the
modules it is built from (run parameters, fingerprint, build records, dbt runner) raise
them.
"""

from __future__ import annotations


class UsageError(Exception):
    """An argument, project or path the gate cannot work with (exit code 2)."""


class WarehouseUnavailable(Exception):
    """The warehouse exists but cannot be opened, e.g. locked by another process (exit code 3)."""


def first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
