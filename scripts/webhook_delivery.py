"""Webhook delivery of audience changes: JSON batches, idempotency keys, retries, dead letters.

The webhook destination receives an audience's changes (added, removed, changed
attributes) as JSON batches POSTed to a configured URL::

    POST <url>
    Content-Type: application/json
    Idempotency-Key: <SHA-256 of the batch's change keys>

    {"batch_id": "<same as the Idempotency-Key>", "changes": [{"idempotency_key": ...}, ...]}

Every change carries its own ``idempotency_key`` (the exporter derives it from the run,
audience, customer and change), so a receiver that records the keys it has applied
applies each change once however often it is sent. A retry of a batch carries the same
batch key. Delivery is at least once; the keys make it effectively once.

- A 2xx response marks every change of the batch delivered; ``on_delivered(keys)`` is
  called straight away so the caller records them in its ledger before the next batch
  (a crash mid-run then resends only the batches not yet recorded).
- Connection errors, timeouts, 408, 429 and 5xx are retried, up to ``max_attempts``
  requests per batch, after an exponential backoff with full jitter
  (a random wait between 0 and ``min(backoff_cap, backoff_base * 2 ** (attempt - 1))``),
  or after the receiver's ``Retry-After`` seconds when it sends them (at most
  ``backoff_cap``). Redirects are not followed (a redirected POST would silently turn
  into a GET): a 3xx, like any other 4xx, is a permanent failure.
- A batch that failed permanently or ran out of attempts goes to the dead-letter file:
  JSON lines, one per change (``change``, ``error``, ``status``, ``attempts``,
  ``batch_id``, ``dead_lettered_at``), appended, created owner-only (0600) since the
  changes hold personal data. Keep the file under the exports folder (a ``.jsonl`` name),
  so an erasure request reaches it like every other export file.
- After the receiver is fixed, ``retry_dead_letters`` reads the file back and delivers
  its changes again; the ones that fail again are dead-lettered anew.

Called by the exporter::

    from webhook_delivery import deliver
    result = deliver(url, changes, batch_size=100, max_attempts=5,
                     dead_letter_path=exports / "webhook_crm.dead_letters.jsonl",
                     already_delivered=ledger_keys, on_delivered=record_in_ledger)
    print(result.summary)

and by an operator, to redeliver what was dead-lettered::

    python scripts/webhook_delivery.py retry --dead-letters PATH [--url-env SEGMENTS_WEBHOOK_URL]
        [--batch-size 100] [--max-attempts 5]

Exit codes of the command: 0 every dead letter delivered (or none), 1 some were
dead-lettered again, 2 unusable arguments or configuration.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import http.client
import json
import os
import random
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass, field
from pathlib import Path

DEFAULT_URL_ENV = "SEGMENTS_WEBHOOK_URL"
KEY_FIELD = "idempotency_key"
RETRYABLE_STATUSES = frozenset({408, 429})
DEAD_LETTER_MODE = 0o600
USER_AGENT = "segments-webhook-delivery/1"

Sleep = Callable[[float], None]
OnDelivered = Callable[[list[str]], None]


@dataclass(frozen=True)
class DeliveryResult:
    """What one delivery did: change keys delivered (in the order sent), dead-lettered and
    skipped as already delivered; HTTP requests made (``attempts``) and batches sent."""

    delivered: list[str] = field(default_factory=list)
    dead_lettered: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    attempts: int = 0
    batches: int = 0

    @property
    def summary(self) -> str:
        return (
            f"webhook: {len(self.delivered)} change(s) delivered, "
            f"{len(self.dead_lettered)} dead-lettered, {len(self.skipped)} already delivered; "
            f"{self.batches} batch(es), {self.attempts} request(s)"
        )


@dataclass(frozen=True)
class Outcome:
    """One HTTP attempt: delivered, or the error, whether a retry may succeed, and how long
    the receiver asked to wait (``Retry-After``)."""

    delivered: bool
    error: str = ""
    status: int | None = None
    retryable: bool = False
    retry_after: float | None = None


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """Report a redirect as the HTTP error it is instead of following it."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):  # noqa: ANN001, ANN201
        return None


_OPENER = urllib.request.build_opener(_NoRedirects)


# ------------------------------------------------------------------------- checks


def check_settings(url: str, batch_size: int, max_attempts: int, timeout: float,
                   backoff_base: float, backoff_cap: float) -> None:
    """Raise ValueError, one line per problem, for settings delivery cannot work with."""
    problems = []
    if not isinstance(url, str) or not url.lower().startswith(("http://", "https://")):
        problems.append("webhook url must start with http:// or https://")
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        problems.append(f"batch_size must be a whole number of at least 1, got {batch_size!r}")
    if isinstance(max_attempts, bool) or not isinstance(max_attempts, int) or max_attempts < 1:
        problems.append(f"max_attempts must be a whole number of at least 1, got {max_attempts!r}")
    if not isinstance(timeout, (int, float)) or timeout <= 0:
        problems.append(f"timeout must be a positive number of seconds, got {timeout!r}")
    if not isinstance(backoff_base, (int, float)) or backoff_base < 0:
        problems.append(f"backoff_base must be a number of seconds >= 0, got {backoff_base!r}")
    if not isinstance(backoff_cap, (int, float)) or backoff_cap < 0:
        problems.append(f"backoff_cap must be a number of seconds >= 0, got {backoff_cap!r}")
    if problems:
        raise ValueError("\n".join(problems))


def check_changes(changes: Iterable[dict]) -> list[dict]:
    """The changes as a list; ValueError when one has no text idempotency key, a key
    repeats, or a change cannot be written as JSON."""
    changes = list(changes)
    problems = []
    seen: set[str] = set()
    for number, change in enumerate(changes, start=1):
        key = change.get(KEY_FIELD) if isinstance(change, dict) else None
        if not isinstance(key, str) or not key.strip():
            problems.append(f"change {number} has no text {KEY_FIELD}")
            continue
        if key in seen:
            problems.append(f"change {number} repeats {KEY_FIELD} {key!r}")
        seen.add(key)
        try:
            json.dumps(change, allow_nan=False)
        except (TypeError, ValueError) as exc:
            problems.append(f"change {number} ({key!r}) cannot be sent as JSON: {exc}")
    if problems:
        raise ValueError("\n".join(problems))
    return changes


# ------------------------------------------------------------------------ batches


def batch_key(keys: list[str]) -> str:
    """The batch's idempotency key: a SHA-256 of its change keys in order, so a retry of
    the same batch carries the same key."""
    return hashlib.sha256("\n".join(keys).encode("utf-8")).hexdigest()


def backoff_ceiling(attempt: int, base: float, cap: float) -> float:
    """The longest wait after failed attempt number ``attempt`` (1, 2, ...)."""
    return min(cap, base * 2 ** (attempt - 1))


def retry_after_seconds(value: str | None) -> float | None:
    """``Retry-After`` in seconds; None when absent or not a number of seconds (the
    HTTP-date form falls back to the backoff)."""
    if value is None:
        return None
    try:
        seconds = float(value.strip())
    except ValueError:
        return None
    return seconds if seconds >= 0 and seconds == seconds and seconds != float("inf") else None


def post(url: str, body: bytes, headers: dict[str, str], timeout: float) -> Outcome:
    """One POST; what came of it. Never raises for network or HTTP trouble."""
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with _OPENER.open(request, timeout=timeout) as response:
            response.read()
            return Outcome(delivered=True, status=response.status)
    except urllib.error.HTTPError as exc:
        status = exc.code
        reason = f"HTTP {status} {exc.reason}".strip()
        retryable = status in RETRYABLE_STATUSES or status >= 500
        retry_after = retry_after_seconds(exc.headers.get("Retry-After")) if exc.headers else None
        exc.close()
        return Outcome(False, reason, status, retryable, retry_after)
    except TimeoutError:
        return Outcome(False, f"timed out after {timeout:g}s", retryable=True)
    except urllib.error.URLError as exc:
        return Outcome(False, f"connection failed: {exc.reason}", retryable=True)
    except (http.client.HTTPException, OSError) as exc:
        # The connection dropped before or while the response came: the receiver may have
        # applied the batch, and the retry's idempotency keys make that harmless.
        return Outcome(False, f"connection failed: {type(exc).__name__}: {exc}".rstrip(": "),
                       retryable=True)


# -------------------------------------------------------------------- dead letters


def _drop_torn_tail(descriptor: int) -> None:
    """Cut a last line a crash left without its newline (it was never a whole record)."""
    size = os.fstat(descriptor).st_size
    if size == 0 or os.pread(descriptor, 1, size - 1) == b"\n":
        return
    chunk = 65536
    end = size
    while end > 0:
        start = max(0, end - chunk)
        newline = os.pread(descriptor, end - start, start).rfind(b"\n")
        if newline >= 0:
            os.ftruncate(descriptor, start + newline + 1)
            return
        end = start
    os.ftruncate(descriptor, 0)


def append_dead_letters(path: Path, records: list[dict]) -> None:
    """Append ``records`` as JSON lines in one write, then fsync, so a crash leaves whole
    lines only. The file is created owner-only and kept so."""
    if not records:
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    data = "".join(json.dumps(record, ensure_ascii=False, sort_keys=True) + "\n" for record in records)
    descriptor = os.open(path, os.O_RDWR | os.O_APPEND | os.O_CREAT, DEAD_LETTER_MODE)
    try:
        os.fchmod(descriptor, DEAD_LETTER_MODE)
        _drop_torn_tail(descriptor)
        os.write(descriptor, data.encode("utf-8"))
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def read_dead_letters(path: Path) -> list[dict]:
    """The dead-letter records of ``path`` (none when it does not exist). A last line
    without its newline (a write a crash cut short) is ignored; any other line that is not
    a record is a ValueError naming it."""
    if not path.exists():
        return []
    text = path.read_text(encoding="utf-8")
    lines = text.split("\n")
    complete = lines[:-1]  # the text after the last newline is empty or a torn write
    records = []
    for number, line in enumerate(complete, start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            raise ValueError(f"{path}: line {number} is not JSON ({exc.msg})") from None
        if not isinstance(record, dict) or not isinstance(record.get("change"), dict):
            raise ValueError(f"{path}: line {number} is not a dead-letter record (no 'change' object)")
        records.append(record)
    return records


def dead_letter_changes(records: list[dict]) -> list[dict]:
    """The changes of dead-letter records, each once (a change dead-lettered by two runs
    is sent again once), in file order."""
    changes, seen = [], set()
    for record in records:
        change = record["change"]
        key = change.get(KEY_FIELD)
        if key not in seen:
            seen.add(key)
            changes.append(change)
    return changes


# ------------------------------------------------------------------------ deliver


def deliver(
    url: str,
    changes: list[dict],
    *,
    batch_size: int,
    max_attempts: int,
    dead_letter_path: Path,
    already_delivered: Collection[str] = frozenset(),
    timeout: float = 10,
    backoff_base: float = 0.5,
    backoff_cap: float = 30,
    sleep: Sleep = time.sleep,
    headers: dict[str, str] | None = None,
    on_delivered: OnDelivered | None = None,
    rng: random.Random | None = None,
) -> DeliveryResult:
    """POST ``changes`` to ``url`` in batches of ``batch_size``, skipping those whose key is
    in ``already_delivered``; retry what may succeed later, dead-letter what does not.

    ``on_delivered(keys)`` is called after each delivered batch; an exception it raises
    stops the delivery (the caller could not record progress). ``rng`` draws the jitter.
    Raises ValueError (one line per problem) for unusable settings or changes, before
    anything is sent.
    """
    check_settings(url, batch_size, max_attempts, timeout, backoff_base, backoff_cap)
    changes = check_changes(changes)
    rng = rng or random.Random()
    pending = [change for change in changes if change[KEY_FIELD] not in already_delivered]
    skipped = [change[KEY_FIELD] for change in changes if change[KEY_FIELD] in already_delivered]
    delivered: list[str] = []
    dead_lettered: list[str] = []
    attempts = 0
    batches = 0
    for start in range(0, len(pending), batch_size):
        batch = pending[start:start + batch_size]
        keys = [change[KEY_FIELD] for change in batch]
        batch_id = batch_key(keys)
        body = json.dumps({"batch_id": batch_id, "changes": batch}, ensure_ascii=False).encode("utf-8")
        request_headers = {
            "User-Agent": USER_AGENT,
            **(headers or {}),
            "Content-Type": "application/json",
            "Idempotency-Key": batch_id,
        }
        batches += 1
        for attempt in range(1, max_attempts + 1):
            attempts += 1
            outcome = post(url, body, request_headers, timeout)
            if outcome.delivered or not outcome.retryable or attempt == max_attempts:
                break
            if outcome.retry_after is not None:
                sleep(min(outcome.retry_after, backoff_cap))
            else:
                sleep(rng.uniform(0, backoff_ceiling(attempt, backoff_base, backoff_cap)))
        if outcome.delivered:
            delivered.extend(keys)
            if on_delivered is not None:
                on_delivered(keys)
            continue
        when = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
        append_dead_letters(dead_letter_path, [
            {"change": change, "error": outcome.error, "status": outcome.status,
             "attempts": attempt, "batch_id": batch_id, "dead_lettered_at": when}
            for change in batch
        ])
        dead_lettered.extend(keys)
    return DeliveryResult(delivered, dead_lettered, skipped, attempts, batches)


def retry_dead_letters(url: str, dead_letter_path: Path, *, batch_size: int, max_attempts: int,
                       **settings) -> DeliveryResult:
    """Deliver the changes of ``dead_letter_path`` again (after the receiver was fixed).

    The file is first moved aside to ``<name>.retrying.jsonl``; the changes that fail again
    are appended to ``dead_letter_path`` anew, and the moved file is removed once the
    delivery returns. A retry interrupted by a crash is picked up by the next one (its
    changes are read from both files, each once). ``settings`` are the other keyword
    arguments of ``deliver`` (already_delivered, on_delivered, timeout, sleep, ...).
    """
    retrying = dead_letter_path.with_name(f"{dead_letter_path.stem}.retrying{dead_letter_path.suffix}")
    records = read_dead_letters(retrying) + read_dead_letters(dead_letter_path)
    changes = dead_letter_changes(records)
    if not changes:
        return DeliveryResult()
    check_settings(url, batch_size, max_attempts, settings.get("timeout", 10),
                   settings.get("backoff_base", 0.5), settings.get("backoff_cap", 30))
    if dead_letter_path.exists():
        # Move the records still only in dead_letter_path beside any earlier retry's, in one
        # owner-only file, so that no dead letter exists only in memory during the delivery.
        stage = retrying.with_name(f".{retrying.stem}.staging{retrying.suffix}")
        stage.unlink(missing_ok=True)
        append_dead_letters(stage, records)
        os.replace(stage, retrying)
        dead_letter_path.unlink()
    result = deliver(url, changes, batch_size=batch_size, max_attempts=max_attempts,
                     dead_letter_path=dead_letter_path, **settings)
    retrying.unlink(missing_ok=True)
    return result


# ---------------------------------------------------------------------- command


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    retry = commands.add_parser("retry", help="deliver a dead-letter file's changes again")
    retry.add_argument("--dead-letters", type=Path, required=True, help="the dead-letter file (JSON lines)")
    retry.add_argument("--url-env", default=DEFAULT_URL_ENV,
                       help=f"environment variable holding the webhook URL (default {DEFAULT_URL_ENV})")
    retry.add_argument("--batch-size", type=int, default=100)
    retry.add_argument("--max-attempts", type=int, default=5)
    retry.add_argument("--timeout", type=float, default=10)
    args = parser.parse_args(argv)
    url = os.environ.get(args.url_env, "").strip()
    if not url:
        print(f"webhook_delivery: ${args.url_env} is not set: the webhook URL is needed", file=sys.stderr)
        return 2
    try:
        result = retry_dead_letters(url, args.dead_letters, batch_size=args.batch_size,
                                    max_attempts=args.max_attempts, timeout=args.timeout)
    except ValueError as exc:
        print(f"webhook_delivery: {'; '.join(str(exc).splitlines())}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"webhook_delivery: cannot use the dead-letter file: {exc}", file=sys.stderr)
        return 2
    print(result.summary)
    return 1 if result.dead_lettered else 0


if __name__ == "__main__":
    sys.exit(main())
