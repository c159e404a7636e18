"""The next landing date of a landing directory the generator has written.

An increment continues the world a landing directory was generated for: that world
started on the directory's first landing date (which carries the imports and the whole
catalogue), and the increment writes the day after its newest landing date. So running
``--increment`` again and again lands consecutive days, whatever today's date is.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from landing_contract import landed_dates


class IncrementError(Exception):
    """The landing directory cannot be continued; the message is one line for the user."""


def next_landing(out: Path, window_start: dt.date | None = None) -> tuple[dt.date, dt.date]:
    """(the world's start date, the landing date to write) for an increment of ``out``.

    ``window_start``, when given, is the start date the caller's window arguments
    describe; it must be the directory's, or the increment would land another world.
    """
    dates = landed_dates(out) if out.is_dir() else []
    if not dates:
        raise IncrementError(f"--increment continues a landing directory, but {out} has no landed "
                             "files; generate the window first (without --increment)")
    start, newest = dates[0], dates[-1]
    if window_start is not None and window_start != start:
        raise IncrementError(f"{out} starts on {start}, but --days and --end-date describe a window "
                             f"starting on {window_start}; pass the window's own values or leave "
                             "--end-date out")
    return start, newest + dt.timedelta(days=1)
