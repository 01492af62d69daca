"""`vaxres outbox deliver` against a real HTTP server on 127.0.0.1, files and stdout."""

import base64
import datetime as dt
import hashlib
import hmac
import json
import socket
import time
from pathlib import Path

import pytest

from tests.helpers import count_rows, future, query, records
from tests.receiver import Receiver
from vaxres.booking import reservations, slots

pytestmark = pytest.mark.usefixtures("backend")

SECRET = "whsec_" + base64.b64encode(b"a test secret of some length!!").decode()


@pytest.fixture
def receiver():
    server = Receiver()
    yield server
    server.close()


def outbox(db_path):
    return records(db_path, "SELECT * FROM outbox ORDER BY id")


def seconds_to_next_attempt(cli, since: str = "created_at") -> float:
    [message] = cli.json("outbox", "list")
    parse = lambda text: dt.datetime.fromisoformat(text.replace("Z", "+00:00"))  # noqa: E731
    start = parse(message["created_at"]) if since == "created_at" else dt.datetime.now(dt.UTC)
    return (parse(message["next_attempt_at"]) - start).total_seconds()


def make_messages(store, people=("alice", "bob")):
    """One SlotRegistered broadcast, then a confirmation per person."""
    slot = slots.add_slot(store, date=future(), hospital="Seoul", vaccine="Pfizer", quantity=100)
    return slot, [reservations.reserve(store, user=person, slot_id=slot.id) for person in people]


def later(time_machine, seconds: float) -> None:
    """Move this process's clock (what the dispatcher reads) instead of sleeping."""
    time_machine.move_to(dt.datetime.now(dt.UTC) + dt.timedelta(seconds=seconds))


def deliver(cli, target, *extra):
    return cli("outbox", "deliver", "--to", target, "--backoff", "0.05", "--cooldown", "0.3", *extra)


def test_delivers_every_due_message_with_standard_webhook_headers(cli, store, db_path, receiver, monkeypatch):
    monkeypatch.setenv("VAXRES_WEBHOOK_SECRET", SECRET)
    make_messages(store)
    result = deliver(cli, receiver.url)
    assert result.exit_code == 0, result.stderr
    assert result.stdout == f"Delivered 3 to {receiver.url}; 0 will be retried later; 0 failed for good.\n"
    assert sorted(receiver.delivered_ids()) == ["msg_vaxres_1", "msg_vaxres_2", "msg_vaxres_3"]
    first = next(r for r in receiver.received if r.webhook_id == "msg_vaxres_2")
    assert first.body == {
        "id": 2,
        "event": "ReservationConfirmed",
        "recipient": "alice",
        "correlation_id": 1,
        "created_at": first.body["created_at"],
        "payload": first.body["payload"],
    }
    assert first.body["payload"]["reservation_id"] == 1
    assert first.body["payload"]["message"].startswith("Your reservation 1 is confirmed: ")
    assert first.headers["idempotency-key"] == "msg_vaxres_2"
    assert first.headers["content-type"] == "application/json"
    # A receiver verifies the signature the Standard Webhooks way.
    key = base64.b64decode(SECRET.removeprefix("whsec_"))
    signed = f"msg_vaxres_2.{first.headers['webhook-timestamp']}.".encode() + first.raw
    expected = "v1," + base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    assert first.headers["webhook-signature"] == expected
    assert abs(int(first.headers["webhook-timestamp"]) - time.time()) < 60
    rows = outbox(db_path)
    assert [(m["status"], m["attempts"]) for m in rows] == [("delivered", 1)] * 3
    assert all(m["delivered_at"] for m in rows)
    # The secret never lands in the store or the output.
    if isinstance(db_path, Path):
        assert SECRET not in db_path.read_bytes().decode("latin-1")
    stored = query(db_path, "SELECT payload, last_error FROM outbox") + query(
        db_path, "SELECT target, last_error FROM delivery_target"
    )
    assert SECRET not in repr(stored)
    assert SECRET not in result.stdout + result.stderr


def test_failures_retry_with_backoff_then_recover(cli, store, db_path, receiver, time_machine):
    make_messages(store, people=())
    receiver.answer = lambda n, wid: (503, {}, 0.0) if n == 1 else (204, {}, 0.0)
    first = deliver(cli, receiver.url, "--json")
    assert first.exit_code == 0
    assert json.loads(first.stdout) | {"target": None} == {
        "target": None,
        "delivered": 0,
        "retried": 1,
        "failed": 0,
        "circuit_open_until": None,
        "due": 0,
    }
    [message] = outbox(db_path)
    assert (message["status"], message["attempts"]) == ("pending", 1)
    assert message["last_error"] == "HTTP 503 Service Unavailable"
    later(time_machine, 0.2)
    second = deliver(cli, receiver.url)
    assert second.exit_code == 0
    [message] = outbox(db_path)
    assert (message["status"], message["attempts"], message["last_error"]) == ("delivered", 2, None)
    assert receiver.delivered_ids() == ["msg_vaxres_1"]
    assert [r.webhook_id for r in receiver.received] == ["msg_vaxres_1", "msg_vaxres_1"]


def test_backoff_doubles_and_is_not_due_before_its_time(cli, store, db_path, receiver):
    make_messages(store, people=())
    receiver.answer = lambda n, wid: (500, {}, 0.0)
    assert cli("outbox", "deliver", "--to", receiver.url, "--backoff", "30").exit_code == 0
    assert cli("outbox", "deliver", "--to", receiver.url, "--backoff", "30").exit_code == 0
    assert len(receiver.received) == 1  # not due again yet
    wait = seconds_to_next_attempt(cli)
    assert 30 * 0.8 - 1 <= wait <= 30 * 1.2 + 1


def test_a_stalled_target_times_out_and_is_retried(cli, store, db_path, receiver):
    make_messages(store, people=())
    receiver.answer = lambda n, wid: (204, {}, 1.5)
    result = deliver(cli, receiver.url, "--read-timeout", "0.3")
    assert result.exit_code == 0
    [message] = outbox(db_path)
    assert (message["status"], message["attempts"]) == ("pending", 1)
    assert message["last_error"] == "no answer within 0.3 s"


def test_429_retry_after_is_honoured(cli, store, db_path, receiver):
    make_messages(store, people=())
    receiver.answer = lambda n, wid: (429, {"Retry-After": "120"}, 0.0)
    assert deliver(cli, receiver.url).exit_code == 0
    [message] = outbox(db_path)
    assert (message["status"], message["last_error"]) == ("pending", "HTTP 429 Too Many Requests")
    assert 115 <= seconds_to_next_attempt(cli, since="now") <= 121


def test_410_fails_at_once_and_retry_puts_it_back(cli, store, db_path, receiver):
    make_messages(store, people=())
    receiver.answer = lambda n, wid: (410, {}, 0.0)
    result = deliver(cli, receiver.url)
    assert result.stdout.endswith("0 will be retried later; 1 failed for good.\n")
    [message] = outbox(db_path)
    assert (message["status"], message["attempts"], message["last_error"]) == ("failed", 1, "HTTP 410 Gone")
    assert len(cli.json("outbox", "list", "--status", "failed")) == 1

    refused = cli("outbox", "retry", "1", "2")
    assert (refused.exit_code, refused.stderr) == (3, "Error: there is no outbox message 2; see `vaxres outbox list`\n")
    assert json.loads(cli("outbox", "retry", "1", "2", "--json").stderr)["code"] == "message_not_found"
    again = cli("outbox", "retry", "--failed")
    assert (again.exit_code, again.stdout) == (0, "1 message back to pending.\n")
    receiver.answer = lambda n, wid: (204, {}, 0.0)
    assert deliver(cli, receiver.url).exit_code == 0
    assert outbox(db_path)[0]["status"] == "delivered"
    not_failed = cli("outbox", "retry", "1")
    assert not_failed.exit_code == 1
    assert "only failed messages can be retried; not failed: 1 (delivered)" in not_failed.stderr
    assert json.loads(cli("outbox", "retry", "1", "--json").stderr)["code"] == "not_failed"


def test_redirects_are_not_followed(cli, store, db_path, receiver):
    make_messages(store, people=())
    receiver.answer = lambda n, wid: (301, {"Location": "http://127.0.0.1:9/elsewhere"}, 0.0)
    deliver(cli, receiver.url)
    [message] = outbox(db_path)
    assert message["status"] == "failed"
    assert "redirects are not followed" in message["last_error"]


def test_max_attempts_then_failed_with_the_last_error(cli, store, db_path, receiver, time_machine):
    make_messages(store, people=())
    receiver.answer = lambda n, wid: (502, {}, 0.0)
    for _ in range(2):
        deliver(cli, receiver.url, "--max-attempts", "2")
        later(time_machine, 0.15)
    [message] = outbox(db_path)
    assert (message["status"], message["attempts"], message["last_error"]) == ("failed", 2, "HTTP 502 Bad Gateway")


def test_per_recipient_order_holds_through_a_failure(cli, store, db_path, receiver, time_machine):
    _, (held,) = make_messages(store, people=("alice",))
    reservations.cancel(store, held.id)  # messages: 1 broadcast, 2 confirmed, 3 cancelled (alice)
    receiver.answer = lambda n, wid: (500, {}, 0.0) if wid == "msg_vaxres_2" and n <= 2 else (204, {}, 0.0)
    time_machine.move_to(dt.datetime.now(dt.UTC), tick=False)  # a slow run must not see the backoff pass
    deliver(cli, receiver.url)
    assert "msg_vaxres_3" not in [r.webhook_id for r in receiver.received]
    assert [m["status"] for m in outbox(db_path)] == ["delivered", "pending", "pending"]
    later(time_machine, 0.2)
    deliver(cli, receiver.url)
    alice = [r.webhook_id for r in receiver.received if r.body["recipient"] == "alice" and r.status == 204]
    assert alice == ["msg_vaxres_2", "msg_vaxres_3"]


def test_circuit_opens_after_five_failures_and_probes_after_the_cooldown(cli, store, db_path, receiver, time_machine):
    make_messages(store, people=[f"p{n}" for n in range(19)])  # 20 messages, 20 recipients
    receiver.answer = lambda n, wid: (503, {}, 0.0)
    time_machine.move_to(dt.datetime.now(dt.UTC), tick=False)  # the clock moves only when the test says
    slow = ("--cooldown", "1.5")
    first = deliver(cli, receiver.url, *slow)
    assert first.exit_code == 75
    assert "keeps failing, so its circuit is open until" in first.stderr
    sent = len(receiver.received)
    assert 5 <= sent < 20  # the workers in flight finish; the rest is not sent
    again = deliver(cli, receiver.url, "--json", *slow)
    assert again.exit_code == 75
    assert json.loads(again.stderr)["code"] == "circuit_open"
    assert len(receiver.received) == sent  # nothing sent while open
    assert query(db_path, "SELECT consecutive_failures, cooldown FROM delivery_target") == [(sent, 1.5)]

    later(time_machine, 1.7)
    probe = deliver(cli, receiver.url, *slow)  # one probe, fails: open again, cool-down doubled
    assert probe.exit_code == 75
    assert len(receiver.received) == sent + 1
    assert query(db_path, "SELECT cooldown FROM delivery_target") == [(3.0,)]

    receiver.answer = lambda n, wid: (204, {}, 0.0)
    later(time_machine, 3.2)
    for _ in range(20):  # the probe closes the circuit; what became due since goes out
        result = deliver(cli, receiver.url, *slow)
        if count_rows(db_path, "outbox", "status = 'delivered'") == 20:
            break
        later(time_machine, 0.1)
    assert result.exit_code == 0
    assert sorted(set(receiver.delivered_ids())) == sorted(f"msg_vaxres_{n}" for n in range(1, 21))
    assert query(db_path, "SELECT consecutive_failures, open_until FROM delivery_target") == [(0, None)]


def test_a_target_that_refuses_connections_is_retried(cli, store, db_path):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    make_messages(store, people=())
    result = deliver(cli, f"http://user:pw@127.0.0.1:{port}/hook")
    assert result.exit_code == 0
    [message] = outbox(db_path)
    assert message["status"] == "pending"
    assert message["last_error"].startswith("connection failed: ConnectError")
    assert "pw" not in result.stdout + result.stderr + message["last_error"]
    assert query(db_path, "SELECT target FROM delivery_target") == [(f"http://127.0.0.1:{port}/hook",)]


def test_booking_and_cancelling_work_while_the_target_is_down(cli, tmp_path):
    cli.json("slot", "add", "--date", future(), "--hospital", "H", "--vaccine", "Janssen", "--quantity", "2")
    assert cli("outbox", "deliver", "--to", "http://127.0.0.1:9/down", "--backoff", "60").exit_code == 0
    assert cli("reserve", "--user", "a", "--slot", "1").exit_code == 0
    assert cli("cancel", "1").exit_code == 0
    statuses = [m["status"] for m in cli.json("outbox", "list")]
    assert statuses == ["pending", "pending", "pending"]


def test_file_targets_append_json_lines(cli, store, db_path, tmp_path):
    make_messages(store)
    path = tmp_path / "out.jsonl"
    assert cli("outbox", "deliver", "--to", str(path), "--limit", "2").exit_code == 0
    assert cli("outbox", "deliver", "--to", f"file:{path}").exit_code == 0
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    assert [line["id"] for line in lines] == [1, 2, 3]
    assert set(lines[0]) == {"id", "event", "recipient", "correlation_id", "created_at", "payload"}
    assert [(m["status"], m["lease_owner"]) for m in outbox(db_path)] == [("delivered", None)] * 3


def test_stdout_target_prints_json_lines_and_the_summary_on_stderr(cli, store):
    make_messages(store, people=("alice",))
    result = cli("outbox", "deliver", "--to", "-")
    assert result.exit_code == 0
    assert [json.loads(line)["event"] for line in result.stdout.splitlines()] == [
        "SlotRegistered",
        "ReservationConfirmed",
    ]
    assert result.stderr == "Delivered 2 to -; 0 will be retried later; 0 failed for good.\n"


@pytest.mark.one_backend
@pytest.mark.parametrize(
    "args, message",
    [
        (["--to", "ftp://x"], "Error: --to 'ftp://x' is not a target: give an http:// or https:// URL"),
        (["--to", "out.txt"], "is not a target"),
        (["--to", "-", "--limit", "0"], "Error: --limit must be at least 1, got 0"),
        (["--to", "-", "--backoff", "0"], "Error: --backoff must be a number of seconds above 0"),
    ],
)
def test_bad_delivery_options_exit_2(cli, args, message):
    result = cli("outbox", "deliver", *args)
    assert result.exit_code == 2
    assert message in result.stderr
