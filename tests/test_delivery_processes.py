"""Real `vaxres outbox deliver` processes: killed mid-run, stopped by SIGTERM, two at once."""

import json
import os
import select
import signal
import subprocess
import time
from collections import Counter

import pytest

from tests.helpers import VAXRES, count_rows, future, query
from tests.receiver import Receiver
from vaxres.booking import reservations, slots

pytestmark = pytest.mark.usefixtures("backend")


@pytest.fixture
def receiver():
    server = Receiver()
    yield server
    server.close()


def messages(store, count: int) -> None:
    slot = slots.add_slot(store, date=future(), hospital="H", vaccine="Janssen", quantity=count)
    for n in range(count - 1):
        reservations.reserve(store, user=f"person{n}", slot_id=slot.id)


def start(*args: str) -> subprocess.Popen:
    return subprocess.Popen(
        [VAXRES, "outbox", "deliver", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=os.environ.copy(),
    )


def wait_for(condition, timeout: float = 60) -> None:
    stop = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > stop:
            raise AssertionError("timed out waiting")
        time.sleep(0.05)


def test_sigkill_mid_run_then_restart_delivers_everything(store, db_path, receiver):
    messages(store, 60)
    receiver.answer = lambda n, wid: (204, {}, 0.05)
    first = start("--to", receiver.url, "--watch", "--lease", "2")
    wait_for(lambda: len(receiver.received) >= 10)
    first.send_signal(signal.SIGKILL)
    first.wait()
    assert count_rows(db_path, "outbox", "status = 'delivered'") < 60

    second = start("--to", receiver.url, "--watch", "--lease", "2")
    wait_for(lambda: count_rows(db_path, "outbox", "status = 'delivered'") == 60)
    second.send_signal(signal.SIGTERM)
    out, err = second.communicate(timeout=30)
    assert second.returncode == 0, err

    received = Counter(receiver.delivered_ids())
    assert set(received) == {f"msg_vaxres_{n}" for n in range(1, 61)}  # every message at least once
    rows = query(db_path, "SELECT id, status, delivered_at, attempts, lease_owner FROM outbox")
    assert all(status == "delivered" and delivered_at and owner is None for _, status, delivered_at, _, owner in rows)
    # Marked once: the recorded attempts never exceed what the receiver saw.
    assert all(attempts <= received[f"msg_vaxres_{mid}"] for mid, _, _, attempts, _ in rows)


def test_sigterm_finishes_the_message_in_hand_and_leaves_nothing_in_flight(store, db_path, receiver):
    messages(store, 40)
    receiver.answer = lambda n, wid: (204, {}, 0.2)
    proc = start("--to", receiver.url, "--watch")
    wait_for(lambda: len(receiver.received) >= 3)
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert out.startswith("Delivered ")
    assert count_rows(db_path, "outbox", "status = 'in_flight'") == 0
    delivered = count_rows(db_path, "outbox", "status = 'delivered'")
    assert delivered == len(receiver.received)  # every message sent was answered and marked
    assert delivered < 40


def test_two_dispatchers_never_hold_the_same_message(store, db_path, receiver):
    messages(store, 300)
    receiver.answer = lambda n, wid: (204, {}, 0.01)
    procs = [start("--to", receiver.url, "--json") for _ in range(2)]
    reports = []
    for proc in procs:
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
        reports.append(json.loads(out))
    received = Counter(r.webhook_id for r in receiver.received)
    assert len(received) == 300
    assert max(received.values()) == 1  # no message was in flight in both
    assert sum(report["delivered"] for report in reports) == 300
    assert count_rows(db_path, "outbox", "status = 'delivered'") == 300


@pytest.mark.usefixtures("sqlite_only")
def test_a_watching_dispatcher_waits_out_a_busy_store(store, db_path, receiver, monkeypatch):
    import sqlite3

    messages(store, 5)
    monkeypatch.setenv("VAXRES_BUSY_TIMEOUT", "0.2")
    holder = sqlite3.connect(db_path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        once = subprocess.run(
            [VAXRES, "outbox", "deliver", "--to", receiver.url], capture_output=True, text=True, env=os.environ.copy()
        )
        assert once.returncode == 75
        assert once.stderr.startswith("Error: store busy, try again shortly")
        watcher = start("--to", receiver.url, "--watch")
        for _ in range(2):  # the watcher meets the busy store, and keeps trying while the lock is held
            assert select.select([watcher.stderr], [], [], 60)[0], "the watcher said nothing for a minute"
            assert "the store is busy (another command holds it); trying again in" in watcher.stderr.readline()
        assert watcher.poll() is None
    finally:
        holder.rollback()
        holder.close()
    wait_for(lambda: count_rows(db_path, "outbox", "status = 'delivered'") == 5)
    watcher.send_signal(signal.SIGTERM)
    _, err = watcher.communicate(timeout=30)
    assert watcher.returncode == 0, err


LOG_LINE = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ vaxres outbox: "


@pytest.mark.one_backend
def test_a_watching_dispatcher_says_when_a_circuit_opens_and_closes(store, db_path, receiver):
    import re

    messages(store, 7)  # one slot and six bookings: seven recipients, one message each
    receiver.answer = lambda n, wid: (503, {}, 0.0) if n <= 5 else (204, {}, 0.0)
    watcher = start("--to", receiver.url, "--watch", "--cooldown", "0.5", "--backoff", "0.1", "--workers", "1")
    wait_for(lambda: count_rows(db_path, "outbox", "status = 'delivered'") == 7)
    watcher.send_signal(signal.SIGTERM)
    out, err = watcher.communicate(timeout=30)
    assert watcher.returncode == 0, err
    lines = err.splitlines()
    target = re.escape(receiver.url)
    assert len(lines) == 2, (out, err)
    assert re.fullmatch(
        LOG_LINE
        + f"circuit to {target} open for 0.5s after 5 failures in a row \\(last: .+\\); one message will probe it then",
        lines[0],
    ), lines[0]
    assert re.fullmatch(LOG_LINE + f"circuit to {target} closed: the probe went through", lines[1]), lines[1]


@pytest.mark.one_backend
def test_a_dispatcher_run_once_logs_nothing(store, receiver):
    messages(store, 2)
    receiver.answer = lambda n, wid: (503, {}, 0.0)
    once = subprocess.run([VAXRES, "outbox", "deliver", "--to", receiver.url], capture_output=True, text=True)
    assert (once.returncode, once.stderr) == (0, "")


@pytest.mark.one_backend
def test_the_log_shows_a_targets_text_escaped_on_one_line(capsys):
    import logging

    from vaxres.cli.outbox import _log_to_stderr

    logger = logging.getLogger("vaxres.outbox")
    before = list(logger.handlers)
    _log_to_stderr()
    try:
        logger.warning("%s takes nothing now (%s)", "file:/x", "\x1b[2J\u202eevil\nsecond line")
    finally:
        logger.handlers[:] = before
        logger.setLevel(logging.NOTSET)
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert err.endswith("vaxres outbox: file:/x takes nothing now (\\x1b[2J\\u202eevil\\nsecond line)\n")
