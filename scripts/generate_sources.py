#!/usr/bin/env python3
"""Generate deterministic synthetic landing files for the marketing-segments project.

Writes ``<out>/<source>/<table>/date=YYYY-MM-DD/part-0.parquet`` for every table of
the landing contract (``scripts/landing_contract.py``), every column as text. The
simulated world, its sources and their mess are described in ``synthetic_sources/``.

Usage::

    python scripts/generate_sources.py --customers 5000 --days 120 --seed 42 --out data/landing
    python scripts/generate_sources.py --customers 5000 --days 120 --seed 42 --out data/landing --increment

The first command writes a window of ``--days`` landing dates ending at ``--end-date``
(default: yesterday, UTC). ``--increment`` writes the landing date after the newest one
already in ``--out``, in the world ``--out`` was generated for (its first landing date
is the world's start), so repeated increments land consecutive days. ``--customers``,
``--seed`` and the rates must be those of the window. Exit codes: 0 written, 1 the
landing directory cannot be written or continued, 2 unusable arguments.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from synthetic_sources import Config, IncrementError, generate, next_landing  # noqa: E402
from synthetic_sources.config import (  # noqa: E402
    DEFAULT_DUPLICATE_RATE,
    DEFAULT_LATE_RATE,
    DEFAULT_MALFORMED_RATE,
)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    def whole_number(minimum: int, below_minimum: str):
        """An argument type: a whole number of at least ``minimum``."""
        def parse(text: str) -> int:
            try:
                value = int(text)
            except ValueError:
                raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
            if value < minimum:
                raise argparse.ArgumentTypeError(f"{below_minimum}, got {value}")
            return value
        return parse

    positive_int = whole_number(1, "must be at least 1")
    seed = whole_number(0, "must not be negative")

    def rate(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a number between 0 and 0.5, got {text!r}") from None
        if not 0.0 <= value <= 0.5:
            raise argparse.ArgumentTypeError(f"must be between 0 and 0.5, got {value}")
        return value

    def date(text: str) -> dt.date:
        try:
            return dt.date.fromisoformat(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a date as YYYY-MM-DD, got {text!r}") from None

    parser = argparse.ArgumentParser(
        description="Generate deterministic synthetic landing files for every table of the "
                    "landing contract.")
    parser.add_argument("--customers", type=positive_int, required=True,
                        help="people that exist when the world starts (more sign up every day)")
    parser.add_argument("--days", type=positive_int, required=True,
                        help="landing dates in the window, ending at --end-date")
    parser.add_argument("--seed", type=seed, required=True, help="RNG seed (a whole number >= 0)")
    parser.add_argument("--out", type=Path, required=True, help="landing root directory")
    parser.add_argument("--end-date", type=date,
                        help="last landing date of the window (default: yesterday, UTC)")
    parser.add_argument("--increment", action="store_true",
                        help="write only the landing date after the newest one in --out, in the "
                             "world --out was generated for (--end-date, if given, must describe it)")
    for flag, default, share in (
        ("--malformed-rate", DEFAULT_MALFORMED_RATE, "share of rows with a malformed value"),
        ("--duplicate-rate", DEFAULT_DUPLICATE_RATE, "share of rows delivered a second time"),
        ("--late-rate", DEFAULT_LATE_RATE, "share of rows landing 1-3 days after they happened"),
    ):
        parser.add_argument(flag, type=rate, default=default, help=f"{share} (default %(default)s)")
    args = parser.parse_args(argv)
    if args.days > 3660:
        parser.error("--days must be at most 3660")
    if args.customers > 20_000_000:
        parser.error("--customers must be at most 20000000")
    if args.end_date is not None and not 1971 <= args.end_date.year <= 9000:
        parser.error("--end-date is out of range")
    if args.out.exists() and not args.out.is_dir():
        parser.error(f"--out {args.out} exists and is not a directory")
    return args


def run_config(args: argparse.Namespace) -> Config:
    """The run the arguments ask for: the window, or the increment of ``--out``."""
    rates = {"malformed_rate": args.malformed_rate, "duplicate_rate": args.duplicate_rate,
             "late_rate": args.late_rate}
    if args.increment:
        window_start = None if args.end_date is None else args.end_date - dt.timedelta(days=args.days - 1)
        start, date = next_landing(args.out, window_start)
        return Config(args.customers, args.seed, args.out, start, date, date, **rates)
    end_date = args.end_date or dt.datetime.now(dt.timezone.utc).date() - dt.timedelta(days=1)
    start = end_date - dt.timedelta(days=args.days - 1)
    return Config(args.customers, args.seed, args.out, start, start, end_date, **rates)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        cfg = run_config(args)
    except IncrementError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    started = time.monotonic()
    try:
        written = generate(cfg)
    except OSError as exc:
        print(f"error: cannot write landing files: {exc}", file=sys.stderr)
        return 1
    elapsed = time.monotonic() - started
    span = f"increment {cfg.first_date}" if args.increment else f"{cfg.first_date} .. {cfg.last_date}"
    print(f"landing dates {span} -> {cfg.out}")
    width = max(len(k) for k in written)
    for key, rows in written.items():
        print(f"  {key:<{width}}  {rows:>12,} rows")
    print(f"  {'total':<{width}}  {sum(written.values()):>12,} rows in {elapsed:.1f}s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
