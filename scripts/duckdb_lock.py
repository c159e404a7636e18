"""Who holds a DuckDB database file that another process could not open.

DuckDB lets one process write a database file, or several processes read it, never both.
When it cannot lock the file it says ``Conflicting lock is held in <executable> (PID n)``,
which names the Python or dbt executable but not what it is doing. This module reads the
holder's command line from ``/proc/<pid>/cmdline`` and its lock from ``/proc/locks`` (a
read lock is a read-only connection, a write lock a writer), and says, for example,
``held by a reader: python notebook.py (PID 4242)`` or
``held by a build: dbt build --exclude-resource-type unit_test (PID 4243)``.
"""

from __future__ import annotations

import os
import re
import shlex
from pathlib import Path

PID_PATTERN = re.compile(r"Conflicting lock is held in (.*?) \(PID (\d+)\)")
PROC = Path("/proc")
COMMAND_MAX_CHARS = 160
# What a writer is doing, from its command line: (pattern, role), first match wins.
WRITER_ROLES = (
    (re.compile(r"(^|[/\s])scheduled_build\.py\b"), "a scheduled build"),
    (re.compile(r"(^|[/\s])load_sources\.py\b"), "a load"),
    (re.compile(r"(^|[/\s])benchmark\.py\b"), "a benchmark"),
    (re.compile(r"(^|/)dbt(\s|$)|\bdbt\.cli\b|\s-m dbt\b"), "a build"),
)


def holder_pid(message: str) -> int | None:
    match = PID_PATTERN.search(message)
    return int(match.group(2)) if match else None


def command_line(pid: int, proc: Path = PROC) -> str | None:
    """The process's arguments, the program by its file name; None when unreadable."""
    try:
        raw = (proc / str(pid) / "cmdline").read_bytes()
    except OSError:
        return None
    # one line: an inline script's newlines become spaces
    args = [" ".join(arg.decode(errors="replace").split()) for arg in raw.split(b"\0") if arg]
    if not args:
        return None
    args[0] = os.path.basename(args[0])
    text = shlex.join(args)
    return text if len(text) <= COMMAND_MAX_CHARS else text[: COMMAND_MAX_CHARS - 3] + "..."


def lock_kind(pid: int, database: Path, proc: Path = PROC) -> str | None:
    """READ or WRITE: the POSIX lock the process holds on the database file, if listed."""
    try:
        inode = os.stat(database).st_ino
        lines = (proc / "locks").read_text().splitlines()
    except OSError:
        return None
    for line in lines:
        fields = line.split()
        # "1: POSIX  ADVISORY  WRITE 4242 00:2b:1234 0 EOF" (a blocked request has "->")
        if len(fields) < 6 or fields[1] == "->":
            continue
        if fields[4] == str(pid) and fields[5].rsplit(":", 1)[-1] == str(inode):
            return fields[3]
    return None


def describe_holder(pid: int, database: Path, proc: Path = PROC) -> str:
    """``held by a reader: <command> (PID n)`` and the like."""
    command = command_line(pid, proc)
    kind = lock_kind(pid, database, proc)
    if kind == "READ":
        role = "a reader"
    elif command is not None:
        role = next((name for pattern, name in WRITER_ROLES if pattern.search(command)),
                    "a writer" if kind == "WRITE" else "another process")
    else:
        role = "a writer" if kind == "WRITE" else "another process"
    if command is None:
        return f"held by {role} (PID {pid}; its command line cannot be read)"
    return f"held by {role}: {command} (PID {pid})"


def describe_lock_conflict(message: str, database: Path) -> str | None:
    """For DuckDB's lock error, who holds the lock; None for any other error."""
    if "Could not set lock" not in message and "Conflicting lock" not in message:
        return None
    pid = holder_pid(message)
    if pid is None:
        return "held by another process"
    return describe_holder(pid, database)
