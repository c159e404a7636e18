"""Webhook delivery against a real HTTP receiver on 127.0.0.1: nothing lost, nothing twice.

The receiver (http.server in a thread, on a port the system picks) applies each change's
idempotency key once, as a real webhook receiver must, and is told per request how to
misbehave: answer 500 or 429, drop the connection before or after applying the batch,
stall past the client's timeout, reject with 400 or redirect. Delays are recorded by an
injected ``sleep`` (which also restarts a stopped receiver), so the tests never wait on
backoff and assert nothing about the wall clock.
"""

from __future__ import annotations

import json
import os
import random
import stat
import sys
import threading
from collections import Counter
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "scripts"))

import webhook_delivery  # noqa: E402
from webhook_delivery import (  # noqa: E402
    DeliveryResult,
    append_dead_letters,
    batch_key,
    deliver,
    read_dead_letters,
    retry_dead_letters,
)

OK, FAIL, THROTTLE, DROP, APPLY_THEN_DROP, STALL, REJECT, REDIRECT = (
    "ok", "500", "429", "drop", "apply_then_drop", "stall", "400", "302")

# behave(request_number, batch_id) -> one of the actions above
Behaviour = Callable[[int, str], str]


class Receiver:
    """A webhook receiver that applies each change once (by its idempotency key) and
    records every request it saw."""

    def __init__(self, behave: Behaviour, retry_after: str = "0") -> None:
        self.behave = behave
        self.retry_after = retry_after
        self.lock = threading.Lock()
        self.applied: Counter[str] = Counter()     # key -> times applied (must stay 1)
        self.received: Counter[str] = Counter()    # key -> times it arrived in a request
        self.requests: list[dict] = []             # method, batch_id, header key, action
        self.release = threading.Event()           # ends a stalled request
        self.port = 0
        self.server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks/audiences"

    def handle(self, handler: BaseHTTPRequestHandler) -> None:
        length = int(handler.headers.get("Content-Length") or 0)
        body = json.loads(handler.rfile.read(length) or b"{}")
        batch_id = body.get("batch_id", "")
        with self.lock:
            action = self.behave(len(self.requests), batch_id)
            self.requests.append({
                "method": handler.command, "batch_id": batch_id, "action": action,
                "idempotency_key": handler.headers.get("Idempotency-Key"),
                "content_type": handler.headers.get("Content-Type"),
                "authorization": handler.headers.get("Authorization"),
                "keys": [change.get("idempotency_key") for change in body.get("changes", [])],
            })
            for change in body.get("changes", []):
                self.received[change["idempotency_key"]] += 1
        if action == STALL:
            self.release.wait(5)
            handler.close_connection = True
            return
        if action in (OK, APPLY_THEN_DROP):
            with self.lock:
                for change in body["changes"]:
                    if change["idempotency_key"] not in self.applied:  # the receiver's dedup
                        self.applied[change["idempotency_key"]] += 1
        if action in (DROP, APPLY_THEN_DROP):
            handler.close_connection = True  # no response at all
            return
        status = {OK: 200, FAIL: 500, THROTTLE: 429, REJECT: 400, REDIRECT: 302}[action]
        handler.send_response(status)
        if action == THROTTLE:
            handler.send_header("Retry-After", self.retry_after)
        if action == REDIRECT:
            handler.send_header("Location", "/elsewhere")
        payload = b'{"status": "accepted"}' if status == 200 else b'{"error": "no"}'
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(payload)))
        handler.end_headers()
        handler.wfile.write(payload)

    def start(self) -> None:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                receiver.handle(self)

            def do_GET(self) -> None:  # noqa: N802
                with receiver.lock:
                    receiver.requests.append({"method": "GET", "batch_id": "", "keys": []})
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.02},
                         daemon=True).start()

    def stop(self) -> None:
        self.release.set()
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None


@pytest.fixture
def receivers():
    started: list[Receiver] = []

    def start(behave: Behaviour, **options) -> Receiver:
        receiver = Receiver(behave, **options)
        receiver.start()
        started.append(receiver)
        return receiver

    yield start
    for receiver in started:
        receiver.stop()


def make_changes(count: int, audience: str = "vip_email") -> list[dict]:
    return [
        {"idempotency_key": f"run-1:{audience}:customer-{number}:added", "audience_key": audience,
         "customer_id": f"customer-{number}", "change_type": "added",
         "attributes": {"email": f"person{number}@example.com", "first_name": "Zoë"}}
        for number in range(count)
    ]


class Sleeps(list):
    """An injected sleep: records each delay, and may run a hook (restart a receiver)."""

    def __init__(self, hook: Callable[[], None] | None = None) -> None:
        super().__init__()
        self.hook = hook

    def __call__(self, seconds: float) -> None:
        self.append(seconds)
        if self.hook:
            self.hook()


class Ceiling(random.Random):
    """Jitter that always draws its upper bound, to see the backoff's ceiling."""

    def uniform(self, a: float, b: float) -> float:
        return b


def always(action: str) -> Behaviour:
    return lambda number, batch_id: action


def first_then(first: str) -> Behaviour:
    """``first`` for the first request of each batch, OK for its retries."""
    seen: set[str] = set()

    def behave(number: int, batch_id: str) -> str:
        if batch_id in seen:
            return OK
        seen.add(batch_id)
        return first
    return behave


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


# ------------------------------------------------------------------- (a) flaky receiver


def test_flaky_receiver_restarted_mid_delivery_gets_every_change_once(receivers, tmp_path):
    rng = random.Random(25)

    def flaky(number: int, batch_id: str) -> str:
        draw = rng.random()
        if draw < 0.15:
            return FAIL
        if draw < 0.25:
            return THROTTLE
        if draw < 0.35:
            return DROP
        if draw < 0.45:
            return APPLY_THEN_DROP
        return OK

    receiver = receivers(flaky)
    port = receiver.port
    restarts = []

    def restart_if_stopped() -> None:
        if receiver.server is None:
            receiver.start()  # the same port: self.port was kept
            restarts.append(receiver.port)

    def record(keys: list[str]) -> None:
        recorded.append(list(keys))
        if len(recorded) == 4:
            receiver.stop()  # the receiver goes down between two batches

    recorded: list[list[str]] = []
    changes = make_changes(60)
    dead_letters = tmp_path / "exports" / "webhook_crm.dead_letters.jsonl"
    sleeps = Sleeps(restart_if_stopped)
    result = deliver(receiver.url, changes, batch_size=5, max_attempts=10,
                     dead_letter_path=dead_letters, timeout=2, sleep=sleeps,
                     on_delivered=record, rng=random.Random(1))

    all_keys = [change["idempotency_key"] for change in changes]
    assert restarts == [port], "the receiver was stopped and restarted once, on its port"
    actions = Counter(request["action"] for request in receiver.requests)
    assert all(actions[action] > 0 for action in (FAIL, THROTTLE, DROP, APPLY_THEN_DROP, OK)), actions
    # Requests refused while the receiver was down never reached it, but were attempts.
    assert result.attempts > len(receiver.requests)
    assert result.delivered == all_keys
    assert [key for keys in recorded for key in keys] == all_keys
    assert result.dead_lettered == [] and not dead_letters.exists()
    assert set(receiver.applied) == set(all_keys)
    assert set(receiver.applied.values()) == {1}
    assert any(count > 1 for count in receiver.received.values()), "some change arrived twice"
    assert result.batches == 12
    # Each retry of a batch carried the batch's key, in the header and the body.
    for request in receiver.requests:
        assert request["content_type"] == "application/json"
        assert request["idempotency_key"] == request["batch_id"] == batch_key(request["keys"])
    assert len({request["batch_id"] for request in receiver.requests}) == 12

    seen_before = len(receiver.requests)
    again = deliver(receiver.url, changes, batch_size=5, max_attempts=10,
                    dead_letter_path=dead_letters, already_delivered=set(result.delivered),
                    sleep=Sleeps())
    assert (again.delivered, again.attempts, again.batches) == ([], 0, 0)
    assert again.skipped == all_keys
    assert len(receiver.requests) == seen_before, "nothing was sent the second time"


# -------------------------------------------------------- (b), (c) permanent trouble


def test_receiver_always_failing_dead_letters_every_change(receivers, tmp_path):
    receiver = receivers(always(FAIL))
    changes = make_changes(7)
    dead_letters = tmp_path / "dead_letters.jsonl"
    delivered_calls = []
    result = deliver(receiver.url, changes, batch_size=3, max_attempts=4,
                     dead_letter_path=dead_letters, timeout=2, sleep=Sleeps(),
                     on_delivered=delivered_calls.append)

    keys = [change["idempotency_key"] for change in changes]
    assert result.delivered == [] and delivered_calls == []
    assert result.dead_lettered == keys
    assert (result.batches, result.attempts) == (3, 12)
    assert len(receiver.requests) == 12
    records = read_dead_letters(dead_letters)
    assert [record["change"] for record in records] == changes
    assert {record["attempts"] for record in records} == {4}
    assert {record["status"] for record in records} == {500}
    assert all("HTTP 500" in record["error"] and record["dead_lettered_at"] for record in records)
    assert mode(dead_letters) == 0o600
    assert not receiver.applied
    assert "0 change(s) delivered, 7 dead-lettered" in result.summary


@pytest.mark.parametrize("action, status", [(REJECT, 400), (REDIRECT, 302)])
def test_permanent_failure_dead_letters_after_one_attempt(receivers, tmp_path, action, status):
    receiver = receivers(always(action))
    sleeps = Sleeps()
    dead_letters = tmp_path / "dead_letters.jsonl"
    result = deliver(receiver.url, make_changes(4), batch_size=2, max_attempts=5,
                     dead_letter_path=dead_letters, timeout=2, sleep=sleeps)

    assert result.delivered == [] and len(result.dead_lettered) == 4
    assert result.attempts == 2 and sleeps == []
    assert [request["method"] for request in receiver.requests] == ["POST", "POST"]  # no redirect followed
    records = read_dead_letters(dead_letters)
    assert {(record["attempts"], record["status"]) for record in records} == {(1, status)}


# ---------------------------------------------------------------------- (d) backoff


def test_backoff_doubles_up_to_the_cap(receivers, tmp_path):
    receiver = receivers(always("500"))
    sleeps = Sleeps()
    deliver(receiver.url, make_changes(1), batch_size=1, max_attempts=8,
            dead_letter_path=tmp_path / "dl.jsonl", timeout=2, backoff_base=0.5, backoff_cap=4,
            sleep=sleeps, rng=Ceiling())
    assert sleeps == [0.5, 1, 2, 4, 4, 4, 4]  # no sleep after the last attempt


def test_backoff_jitter_stays_under_each_ceiling(receivers, tmp_path):
    receiver = receivers(always("500"))
    sleeps = Sleeps()
    deliver(receiver.url, make_changes(1), batch_size=1, max_attempts=9,
            dead_letter_path=tmp_path / "dl.jsonl", timeout=2, backoff_base=0.5, backoff_cap=4,
            sleep=sleeps, rng=random.Random(3))
    ceilings = [0.5, 1, 2, 4, 4, 4, 4, 4]
    assert len(sleeps) == len(ceilings)
    assert all(0 <= delay <= ceiling for delay, ceiling in zip(sleeps, ceilings))
    assert len(set(sleeps)) == len(sleeps), "full jitter draws a different wait each time"


@pytest.mark.parametrize("retry_after, expected", [("0", 0.0), ("2", 2.0), ("120", 4.0)])
def test_retry_after_is_honoured_up_to_the_cap(receivers, tmp_path, retry_after, expected):
    receiver = receivers(first_then(THROTTLE), retry_after=retry_after)
    sleeps = Sleeps()
    result = deliver(receiver.url, make_changes(2), batch_size=2, max_attempts=3,
                     dead_letter_path=tmp_path / "dl.jsonl", timeout=2, backoff_cap=4,
                     sleep=sleeps, rng=Ceiling())
    assert sleeps == [expected]
    assert len(result.delivered) == 2


# ------------------------------------------------- (e) response lost, timeout, headers


def test_lost_response_is_retried_and_applied_once(receivers, tmp_path):
    receiver = receivers(first_then(APPLY_THEN_DROP))
    changes = make_changes(6)
    dead_letters = tmp_path / "dl.jsonl"
    result = deliver(receiver.url, changes, batch_size=3, max_attempts=3,
                     dead_letter_path=dead_letters, timeout=2, sleep=Sleeps())

    keys = [change["idempotency_key"] for change in changes]
    assert result.delivered == keys and result.attempts == 4
    assert all(receiver.received[key] == 2 for key in keys), "each change was sent twice"
    assert all(receiver.applied[key] == 1 for key in keys), "and applied once"
    assert not dead_letters.exists()


def test_timeout_is_retried(receivers, tmp_path):
    receiver = receivers(first_then(STALL))
    result = deliver(receiver.url, make_changes(2), batch_size=2, max_attempts=2,
                     dead_letter_path=tmp_path / "dl.jsonl", timeout=0.3, sleep=Sleeps())
    assert len(result.delivered) == 2 and result.attempts == 2
    assert [request["action"] for request in receiver.requests] == [STALL, OK]


def test_caller_headers_are_sent_and_cannot_replace_the_idempotency_key(receivers, tmp_path):
    receiver = receivers(always(OK))
    deliver(receiver.url, make_changes(2), batch_size=5, max_attempts=1,
            dead_letter_path=tmp_path / "dl.jsonl",
            headers={"Authorization": "Bearer token", "Idempotency-Key": "fixed"}, sleep=Sleeps())
    [request] = receiver.requests
    assert request["authorization"] == "Bearer token"
    assert request["idempotency_key"] == request["batch_id"] != "fixed"


def test_connection_refused_is_retried_then_dead_lettered(tmp_path):
    receiver = Receiver(always(OK))
    receiver.start()
    url = receiver.url
    receiver.stop()  # nothing listens on the port any more
    sleeps = Sleeps()
    result = deliver(url, make_changes(1), batch_size=1, max_attempts=3,
                     dead_letter_path=tmp_path / "dl.jsonl", timeout=1, sleep=sleeps)
    [record] = read_dead_letters(tmp_path / "dl.jsonl")
    assert record["attempts"] == 3 and record["status"] is None
    assert "connection failed" in record["error"]
    assert len(sleeps) == 2 and result.delivered == []


# ---------------------------------------------------------------- dead-letter file


def test_dead_letter_file_is_appended_owner_only_and_drops_a_torn_line(tmp_path):
    path = tmp_path / "exports" / "dl.jsonl"
    old_umask = os.umask(0o000)  # even a permissive umask leaves the file owner-only
    try:
        append_dead_letters(path, [{"change": {"idempotency_key": "a"}, "error": "x"}])
    finally:
        os.umask(old_umask)
    assert mode(path) == 0o600
    with path.open("a", encoding="utf-8") as torn:
        torn.write('{"change": {"idempotency_key": "half')  # a crash mid-line
    assert [record["change"]["idempotency_key"] for record in read_dead_letters(path)] == ["a"]
    path.chmod(0o644)
    append_dead_letters(path, [{"change": {"idempotency_key": "b"}, "error": "y"}])
    assert path.read_text(encoding="utf-8").count("\n") == 2
    assert [record["change"]["idempotency_key"] for record in read_dead_letters(path)] == ["a", "b"]
    assert mode(path) == 0o600


def test_a_malformed_dead_letter_line_is_named(tmp_path):
    path = tmp_path / "dl.jsonl"
    path.write_text('{"change": {"idempotency_key": "a"}}\nnot json\n', encoding="utf-8")
    with pytest.raises(ValueError, match=r"line 2 is not JSON"):
        read_dead_letters(path)


def test_retry_dead_letters_redelivers_after_the_receiver_is_fixed(receivers, tmp_path):
    broken = receivers(always(FAIL))
    changes = make_changes(5)
    dead_letters = tmp_path / "dl.jsonl"
    first = deliver(broken.url, changes, batch_size=2, max_attempts=2,
                    dead_letter_path=dead_letters, sleep=Sleeps())
    # A later run dead-letters one of them again: it must be sent once, not twice.
    deliver(broken.url, changes[:1], batch_size=2, max_attempts=1,
            dead_letter_path=dead_letters, sleep=Sleeps())
    assert len(first.dead_lettered) == 5 and len(read_dead_letters(dead_letters)) == 6

    fixed = receivers(always(OK))
    recorded: list[str] = []
    result = retry_dead_letters(fixed.url, dead_letters, batch_size=10, max_attempts=2,
                                sleep=Sleeps(), on_delivered=recorded.extend)
    keys = [change["idempotency_key"] for change in changes]
    assert result.delivered == keys == recorded
    assert [request["keys"] for request in fixed.requests] == [keys]
    assert not dead_letters.exists()
    assert sorted(path.name for path in tmp_path.iterdir()) == []


def test_retry_dead_letters_keeps_what_fails_again(receivers, tmp_path):
    broken = receivers(always(FAIL))
    dead_letters = tmp_path / "dl.jsonl"
    deliver(broken.url, make_changes(3), batch_size=3, max_attempts=1,
            dead_letter_path=dead_letters, sleep=Sleeps())
    result = retry_dead_letters(broken.url, dead_letters, batch_size=3, max_attempts=2, sleep=Sleeps())
    assert len(result.dead_lettered) == 3
    records = read_dead_letters(dead_letters)
    assert [record["attempts"] for record in records] == [2, 2, 2]
    assert sorted(path.name for path in tmp_path.iterdir()) == ["dl.jsonl"]


# ------------------------------------------------------------------------ bad input


def test_bad_settings_and_changes_fail_before_anything_is_sent(receivers, tmp_path):
    receiver = receivers(always(OK))
    with pytest.raises(ValueError) as error:
        deliver("ftp://example.com/hook", [{"idempotency_key": "a"}, {"customer_id": 1},
                                           {"idempotency_key": "a"}],
                batch_size=0, max_attempts=1, dead_letter_path=tmp_path / "dl.jsonl")
    lines = str(error.value).splitlines()
    assert lines == [
        "webhook url must start with http:// or https://",
        "batch_size must be a whole number of at least 1, got 0",
    ]
    with pytest.raises(ValueError) as error:
        deliver(receiver.url, [{"idempotency_key": "a"}, {"customer_id": 1},
                               {"idempotency_key": "a"}, {"idempotency_key": "b", "at": object()}],
                batch_size=1, max_attempts=1, dead_letter_path=tmp_path / "dl.jsonl")
    lines = str(error.value).splitlines()
    assert lines[:2] == ["change 2 has no text idempotency_key", "change 3 repeats idempotency_key 'a'"]
    assert lines[2].startswith("change 4 ('b') cannot be sent as JSON")
    assert receiver.requests == []


def test_retry_command_errors_are_one_line(tmp_path, monkeypatch, capsys):
    monkeypatch.delenv("SEGMENTS_WEBHOOK_URL", raising=False)
    assert webhook_delivery.main(["retry", "--dead-letters", str(tmp_path / "dl.jsonl")]) == 2
    err = capsys.readouterr().err
    assert err.strip() == "webhook_delivery: $SEGMENTS_WEBHOOK_URL is not set: the webhook URL is needed"
    monkeypatch.setenv("SEGMENTS_WEBHOOK_URL", "http://127.0.0.1:9/hook")
    assert webhook_delivery.main(["retry", "--dead-letters", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("webhook_delivery: cannot use the dead-letter file:") and err.count("\n") == 1


def test_retry_command_delivers_a_dead_letter_file(receivers, tmp_path, monkeypatch, capsys):
    receiver = receivers(always(OK))
    dead_letters = tmp_path / "dl.jsonl"
    append_dead_letters(dead_letters, [{"change": change, "error": "HTTP 500"} for change in make_changes(2)])
    monkeypatch.setenv("SEGMENTS_WEBHOOK_URL", receiver.url)
    assert webhook_delivery.main(["retry", "--dead-letters", str(dead_letters)]) == 0
    assert "2 change(s) delivered, 0 dead-lettered" in capsys.readouterr().out
    assert len(receiver.applied) == 2


def test_result_summary_is_one_line():
    result = DeliveryResult(["a", "b"], ["c"], ["d"], attempts=4, batches=2)
    assert result.summary == ("webhook: 2 change(s) delivered, 1 dead-lettered, 1 already delivered; "
                              "2 batch(es), 4 request(s)")
