"""Limits of one delivery: a receiver that drips its answer is cut off well inside the lease, a
huge answer is never downloaded, and a .jsonl target is never written through a symlink."""

import os
import socket
import stat
import subprocess
import sys
import threading
import time

import pytest

from tests.helpers import VAXRES, future, records
from vaxres.booking import slots
from vaxres.outbox import dispatch
from vaxres.outbox.sinks import open_sink

pytestmark = pytest.mark.usefixtures("backend")


class RawReceiver:
    """A receiver on 127.0.0.1 that reads one request and then runs `answer(conn)` on the socket."""

    def __init__(self, answer):
        self.answer, self.requests = answer, 0
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}/hook"
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._handle, args=(conn,), daemon=True).start()

    def _handle(self, conn):
        with conn:
            data = b""
            while b"\r\n\r\n" not in data:
                data += conn.recv(65536)
            head, _, body = data.partition(b"\r\n\r\n")
            length = next(
                int(line.split(b":")[1]) for line in head.split(b"\r\n") if line.lower().startswith(b"content-length")
            )
            while len(body) < length:
                body += conn.recv(65536)
            self.requests += 1
            try:
                self.answer(conn)
            except OSError:  # the dispatcher hung up: what it should do
                pass

    def close(self):
        self.sock.close()


def drip(data: bytes, every: float):
    def answer(conn):
        for byte in data:
            conn.sendall(bytes([byte]))
            time.sleep(every)

    return answer


DRIP_HEADERS = b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\nx-slow: " + b"a" * 18 + b"\r\n\r\n"
DRIP_BODY = b"HTTP/1.1 200 OK\r\ncontent-length: 20\r\n\r\n" + b"b" * 20


@pytest.mark.parametrize("answer", [DRIP_HEADERS, DRIP_BODY], ids=["headers", "body"])
def test_a_dripping_receiver_is_cut_off_within_half_the_lease_and_retried(store, db_path, answer):
    slots.add_slot(store, date=future(), hospital="Seoul", vaccine="Pfizer", quantity=1)
    receiver = RawReceiver(drip(answer, 0.5))  # 20+ bytes at 0.5 s: over 10 s to finish
    try:
        options = dispatch.DeliverOptions(target=receiver.url, lease=2)
        sink = open_sink(receiver.url, lease=2)
        assert sink.deadline == 1
        started = time.monotonic()
        report = dispatch.deliver(store, options, sink=sink)
        elapsed = time.monotonic() - started
    finally:
        receiver.close()
    assert (report.delivered, report.retried) == (0, 1)
    assert elapsed < 2.5, elapsed  # inside the lease, long before the drip ends
    [row] = records(db_path, "SELECT * FROM outbox")
    assert (row["status"], row["attempts"]) == ("pending", 1)
    assert row["last_error"] == "no complete answer within 1 s"


@pytest.mark.one_backend
def test_the_deadline_is_connect_plus_read_timeout_and_at_most_half_the_lease():
    assert open_sink("http://127.0.0.1:9/hook").deadline == 13
    assert open_sink("http://127.0.0.1:9/hook", lease=60).deadline == 13
    assert open_sink("http://127.0.0.1:9/hook", connect_timeout=1, read_timeout=2, lease=10).deadline == 3
    assert open_sink("http://127.0.0.1:9/hook", lease=5).deadline == 2.5


def huge(size: int):
    def answer(conn):
        conn.sendall(f"HTTP/1.1 200 OK\r\ncontent-length: {size}\r\n\r\n".encode())
        chunk = b"x" * 65536
        for _ in range(size // len(chunk)):
            conn.sendall(chunk)

    return answer


MEASURE = """
import resource, subprocess, sys
done = subprocess.run(sys.argv[1:], capture_output=True, text=True)
print(done.returncode, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
sys.stderr.write(done.stdout + done.stderr)
"""


def deliver_measured(url: str) -> tuple[int, int]:
    """Run `vaxres outbox deliver` in a process of its own; its exit code and peak RSS (KiB)."""
    done = subprocess.run(
        [sys.executable, "-c", MEASURE, VAXRES, "outbox", "deliver", "--to", url],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    code, rss = done.stdout.split()
    assert int(code) == 0, done.stderr
    return int(code), int(rss)


def test_a_huge_answer_is_not_downloaded(store, db_path):
    size = 50 * 1024 * 1024
    small, big = RawReceiver(huge(0)), RawReceiver(huge(size))
    try:
        slots.add_slot(store, date=future(), hospital="Seoul", vaccine="Pfizer", quantity=1)
        _, baseline = deliver_measured(small.url)
        slots.add_slot(store, date=future(), hospital="Busan", vaccine="Pfizer", quantity=1)
        _, peak = deliver_measured(big.url)
    finally:
        small.close()
        big.close()
    assert [r["status"] for r in records(db_path, "SELECT * FROM outbox ORDER BY id")] == ["delivered"] * 2
    assert big.requests == 1
    assert peak - baseline < 16 * 1024, (baseline, peak)  # KiB: far below the 50 MB answer


@pytest.mark.one_backend
def test_a_symlink_as_the_jsonl_target_is_refused(cli, store, db_path, tmp_path):
    slots.add_slot(store, date=future(), hospital="Seoul", vaccine="Pfizer", quantity=1)
    precious = tmp_path / "precious.txt"
    precious.write_text("keep me\n")
    link = tmp_path / "out.jsonl"
    link.symlink_to(precious)
    result = cli("outbox", "deliver", "--to", str(link))
    assert result.exit_code == 2
    assert "symbolic link" in result.stderr and "out.jsonl" in result.stderr
    assert precious.read_text() == "keep me\n"
    assert [r["status"] for r in records(db_path, "SELECT * FROM outbox")] == ["pending"]


@pytest.mark.one_backend
def test_a_symlink_swapped_in_after_the_start_is_not_followed(store, db_path, tmp_path):
    slots.add_slot(store, date=future(), hospital="Seoul", vaccine="Pfizer", quantity=1)
    precious, path = tmp_path / "precious.txt", tmp_path / "out.jsonl"
    precious.write_text("keep me\n")
    sink = open_sink(str(path))
    path.symlink_to(precious)
    report = dispatch.deliver(store, dispatch.DeliverOptions(target=str(path)), sink=sink)
    assert report.delivered == 0 and report.unavailable
    assert precious.read_text() == "keep me\n"


@pytest.mark.one_backend
def test_a_new_jsonl_file_is_0600_and_an_existing_one_keeps_its_mode(cli, store, tmp_path):
    slots.add_slot(store, date=future(), hospital="Seoul", vaccine="Pfizer", quantity=1)
    new, old = tmp_path / "new.jsonl", tmp_path / "old.jsonl"
    old.write_text("")
    os.chmod(old, 0o640)
    assert cli("outbox", "deliver", "--to", str(new)).exit_code == 0
    assert stat.S_IMODE(new.stat().st_mode) == 0o600 and new.read_text().count("\n") == 1
    slots.add_slot(store, date=future(), hospital="Busan", vaccine="Pfizer", quantity=1)
    assert cli("outbox", "deliver", "--to", str(old)).exit_code == 0
    assert stat.S_IMODE(old.stat().st_mode) == 0o640 and old.read_text().count("\n") == 1
