"""Delivery under faults and hostile input: a full disk under a .jsonl target (faked, and a real
tmpfs when the tests run as root), webhook credentials that are malformed or quoted back by a
receiver, URLs that do not parse. Nothing may crash, leak a secret, or lose or duplicate a line."""

import base64
import datetime as dt
import errno
import json
import os
import socket
import subprocess
import threading
import time
from collections import Counter
from pathlib import Path

import pytest

from tests.helpers import count_rows, future, mounted_tmpfs, query, records, snapshot
from vaxres.booking import reservations, slots
from vaxres.outbox import dispatch

pytestmark = pytest.mark.usefixtures("backend")

ENOSPC = OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


def make_messages(store, count: int) -> None:
    """`count` messages: one SlotRegistered broadcast, then a confirmation per person."""
    slot = slots.add_slot(store, date=future(), hospital="Seoul", vaccine="Pfizer", quantity=count)
    for n in range(count - 1):
        reservations.reserve(store, user=f"person{n}", slot_id=slot.id)


def outbox(db_path) -> list[dict]:
    return records(db_path, "SELECT * FROM outbox ORDER BY id")


def targets(db_path) -> list[dict]:
    return records(db_path, "SELECT * FROM delivery_target")


def whole_lines(path: Path) -> list[int]:
    """The ids in a .jsonl file, asserting it holds only whole JSON lines."""
    data = path.read_bytes()
    assert data == b"" or data.endswith(b"\n"), data[-80:]
    return [json.loads(line)["id"] for line in data.decode().splitlines()]


def assert_settled(db_path, delivered: int, total: int) -> None:
    """`delivered` messages delivered once; the rest pending, due, with no attempt counted; none in flight."""
    rows = outbox(db_path)
    assert len(rows) == total
    assert [(r["status"], r["attempts"]) for r in rows[:delivered]] == [("delivered", 1)] * delivered
    assert [(r["status"], r["attempts"], r["last_error"]) for r in rows[delivered:]] == [("pending", 0, None)] * (
        total - delivered
    )
    assert all(r["lease_owner"] is None and r["lease_until"] is None for r in rows)


class FakeDisk:
    """A filesystem with room for `capacity` bytes in one file: a write beyond it is cut short,
    the next one raises ENOSPC (as Linux does); truncating the file frees the room again."""

    def __init__(self, monkeypatch, path: Path, capacity: int):
        self.path, self.capacity, self.short_writes = path, capacity, 0
        real_write = os.write

        def write(fd, data):
            if not self.is_target(fd):
                return real_write(fd, data)
            room = self.capacity - os.fstat(fd).st_size
            if room <= 0:
                raise ENOSPC
            if len(data) > room:
                self.short_writes += 1
                return real_write(fd, bytes(data[:room]))
            return real_write(fd, data)

        monkeypatch.setattr(os, "write", write)

    def is_target(self, fd: int) -> bool:
        try:
            mine, theirs = os.fstat(fd), os.stat(self.path)
        except OSError:
            return False
        return (mine.st_dev, mine.st_ino) == (theirs.st_dev, theirs.st_ino)


def deliver(cli, target: str, *extra: str):
    return cli("outbox", "deliver", "--to", target, "--backoff", "0.05", "--cooldown", "0.3", *extra)


# --- a full disk under a .jsonl target ------------------------------------------------------------


def test_a_full_disk_keeps_whole_lines_records_what_went_out_and_exits_75(cli, store, db_path, tmp_path, monkeypatch):
    make_messages(store, 20)
    path = tmp_path / "out.jsonl"
    disk = FakeDisk(monkeypatch, path, capacity=2500)  # room for a few lines of about 320 bytes
    result = deliver(cli, str(path))
    assert result.exit_code == 75
    written = whole_lines(path)
    assert disk.short_writes == 1  # the line that did not fit was half-written, then taken back
    assert 1 <= len(written) < 20 and written == list(range(1, len(written) + 1))
    assert result.stdout == f"Delivered {len(written)} to file:{path}; 0 will be retried later; 0 failed for good.\n"
    assert result.stderr == (
        f"Error: cannot write {path}: No space left on device; {20 - len(written)} due messages wait as pending; "
        "try again later\n"
    )
    assert_settled(db_path, len(written), 20)
    [target] = targets(db_path)
    assert (target["consecutive_failures"], target["open_until"]) == (0, None)  # not a flaky webhook
    assert target["last_error"] == f"cannot write {path}: No space left on device"

    again = deliver(cli, str(path), "--json")  # still full: nothing changes
    assert again.exit_code == 75
    assert json.loads(again.stderr)["code"] == "target_unavailable"
    assert whole_lines(path) == written
    assert_settled(db_path, len(written), 20)

    disk.capacity = 1 << 20  # room again
    done = deliver(cli, str(path))
    assert (done.exit_code, done.stderr) == (0, "")
    assert whole_lines(path) == list(range(1, 21))  # every message once, in order
    assert_settled(db_path, 20, 20)


def test_a_failed_fsync_takes_the_whole_line_back(cli, store, db_path, tmp_path, monkeypatch):
    make_messages(store, 5)
    path = tmp_path / "out.jsonl"
    real_fsync, calls = os.fsync, []

    def fsync(fd):
        calls.append(fd)
        if len(calls) == 3:
            raise OSError(errno.EIO, os.strerror(errno.EIO))
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", fsync)
    result = deliver(cli, f"file:{path}")
    assert result.exit_code == 75
    assert result.stderr.startswith(f"Error: cannot write {path}: Input/output error; 3 due messages wait")
    assert whole_lines(path) == [1, 2]  # the third line was written whole, then removed
    assert_settled(db_path, 2, 5)
    assert deliver(cli, f"file:{path}").exit_code == 0
    assert whole_lines(path) == [1, 2, 3, 4, 5]


def test_a_failing_close_after_a_write_error_does_not_escape(cli, store, db_path, tmp_path, monkeypatch):
    make_messages(store, 4)
    path = tmp_path / "out.jsonl"
    disk = FakeDisk(monkeypatch, path, capacity=400)
    real_close = os.close

    def close(fd):
        target = disk.is_target(fd)
        real_close(fd)
        if target:
            raise ENOSPC  # what a buffered flush in close() used to raise

    monkeypatch.setattr(os, "close", close)
    result = deliver(cli, str(path))
    assert result.exit_code == 75
    assert len(result.stderr.splitlines()) == 1 and "No space left on device" in result.stderr
    assert_settled(db_path, len(whole_lines(path)), 4)


def test_a_half_line_left_behind_is_cut_off_before_the_next_line(cli, store, db_path, tmp_path):
    make_messages(store, 3)
    path = tmp_path / "out.jsonl"
    path.write_bytes(b'{"id":0,"event":"Old"}\n{"id":501,"event":"Reserv')  # an older run died mid-line
    assert deliver(cli, str(path)).exit_code == 0
    assert whole_lines(path) == [0, 1, 2, 3]


def test_watch_waits_out_a_full_disk_and_then_delivers_everything(store, db_path, tmp_path, monkeypatch):
    make_messages(store, 12)
    path = tmp_path / "out.jsonl"
    disk = FakeDisk(monkeypatch, path, capacity=1000)
    stop = threading.Event()
    options = dispatch.DeliverOptions(target=str(path), watch=True, cooldown=0.1, poll=0.05)
    runner = threading.Thread(target=lambda: dispatch.deliver(store, options, stop=stop))
    runner.start()
    try:
        deadline = time.monotonic() + 30
        while not targets(db_path) or targets(db_path)[0]["last_error"] is None:
            assert time.monotonic() < deadline
            time.sleep(0.05)
        disk.capacity = 1 << 20
        while count_rows(db_path, "outbox", "status = 'delivered'") < 12:
            assert time.monotonic() < deadline
            time.sleep(0.05)
    finally:
        stop.set()
        runner.join(30)
    assert whole_lines(path) == list(range(1, 13))
    assert_settled(db_path, 12, 12)


def test_a_sink_that_raises_leaves_nothing_in_flight(store, db_path):
    make_messages(store, 6)

    class Broken:
        name = "broken"
        sent = 0

        def send(self, message):
            if self.sent == 2:
                raise RuntimeError("a bug in a sink")
            self.sent += 1
            return dispatch.Outcome(dispatch.DELIVERED)

        def close(self):
            pass

    with pytest.raises(RuntimeError, match="a bug in a sink"):
        dispatch.deliver(store, dispatch.DeliverOptions(target="-", workers=1), sink=Broken())
    assert_settled(db_path, 2, 6)


@pytest.fixture
def small_tmpfs(tmp_path):
    """A real 64 KiB tmpfs, when the tests run as root and mounting is allowed here."""
    with mounted_tmpfs(tmp_path / "small", "64k", otherwise="; the FakeDisk tests cover the same paths") as mount:
        yield mount


@pytest.mark.one_backend
def test_a_real_full_tmpfs(cli, store, db_path, small_tmpfs):
    make_messages(store, 300)  # about 95 KB of lines for 64 KiB
    path = small_tmpfs / "out.jsonl"
    result = deliver(cli, str(path))
    assert result.exit_code == 75, result.stderr
    assert len(result.stderr.splitlines()) == 1
    assert f"cannot write {path}: No space left on device" in result.stderr
    written = whole_lines(path)
    assert 100 < len(written) < 300 and written == list(range(1, len(written) + 1))
    assert_settled(db_path, len(written), 300)

    subprocess.run(["mount", "-o", "remount,size=1m", str(small_tmpfs)], check=True)
    assert deliver(cli, str(path)).exit_code == 0
    ids = whole_lines(path)
    assert ids == list(range(1, 301)) and not [i for i, n in Counter(ids).items() if n > 1]
    assert_settled(db_path, 300, 300)


@pytest.mark.one_backend
def test_a_read_only_folder_is_refused_at_start(cli, store, db_path, small_tmpfs):
    make_messages(store, 2)
    subprocess.run(["mount", "-o", "remount,ro", str(small_tmpfs)], check=True)
    result = deliver(cli, str(small_tmpfs / "out.jsonl"))
    assert (result.exit_code, result.stderr) == (
        2,
        f"Error: --to {small_tmpfs / 'out.jsonl'}: the folder {small_tmpfs} cannot be written\n",
    )
    assert [r["status"] for r in outbox(db_path)] == ["pending", "pending"] and targets(db_path) == []


# --- webhook credentials -----------------------------------------------------------------------------

TOKEN = "T0k3n'\\\"x9Q"  # a quote, a backslash and a double quote: escaped differently by each repr
PASSWORD = "s3cr3t-pw"
QUERY_TOKEN = "q7u3ry70k3n"


class EchoServer:
    """A raw HTTP/1.1 server that answers what `reply(request head)` returns (b"" closes at once):
    a receiver that quotes the request back in its answer, or breaks the protocol."""

    def __init__(self, reply):
        self.reply, self.heads = reply, []
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        threading.Thread(target=self.serve, daemon=True).start()

    def serve(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            with conn:
                data = b""
                while b"\r\n\r\n" not in data:
                    chunk = conn.recv(65536)
                    if not chunk:
                        break
                    data += chunk
                head = data.partition(b"\r\n\r\n")[0]
                self.heads.append(head)
                answer = self.reply(head)
                if answer:
                    conn.sendall(answer)

    def close(self):
        self.sock.close()


ECHOES = {
    # h11 quotes a bad status line as bytearray(b'...'): the bytes repr of what the receiver sent
    "status line": lambda head: b"HTTP/1.1 abc " + head.replace(b"\r\n", b" | ") + b"\r\n\r\n",
    # the reason phrase is the receiver's own text
    "reason phrase": lambda head: b"HTTP/1.1 503 " + head.replace(b"\r\n", b" | ") + b"\r\ncontent-length: 0\r\n\r\n",
    # h11 quotes the first header line it cannot read: the Authorization line, without its colon
    "bad header": lambda head: (
        b"HTTP/1.1 200 OK\r\n"
        + b"".join(line.replace(b":", b"") + b"\r\n" for line in head.split(b"\r\n") if b"uthorization" in line)
        + b"\r\n"
    ),
    "closed": lambda head: b"",
}


def leaked_forms(secret: str) -> list[str]:
    return [secret, repr(secret)[1:-1], repr(secret.encode())[2:-1], secret.replace("\\", "\\\\")]


def everything_shown_and_stored(cli, db_path, *results) -> str:
    listed = cli("outbox", "list", "--json")
    table = cli("outbox", "list")
    seen = [r.stdout + r.stderr for r in (*results, listed, table)]
    seen.append(repr(query(db_path, "SELECT last_error FROM outbox")))
    seen.append(repr(query(db_path, "SELECT target, last_error FROM delivery_target")))
    if isinstance(db_path, Path):
        seen.append(db_path.read_bytes().decode("latin-1"))
        wal = db_path.with_name(db_path.name + "-wal")
        seen.append(wal.read_bytes().decode("latin-1") if wal.exists() else "")
    return "\n".join(seen)


@pytest.mark.one_backend
@pytest.mark.parametrize("echo", list(ECHOES))
def test_a_receiver_quoting_the_authorization_back_never_gets_it_stored(cli, store, db_path, monkeypatch, echo):
    make_messages(store, 2)
    monkeypatch.setenv("VAXRES_WEBHOOK_AUTHORIZATION", f"Bearer {TOKEN}")
    server = EchoServer(ECHOES[echo])
    try:
        result = deliver(cli, f"http://127.0.0.1:{server.port}/hook")
    finally:
        server.close()
    assert result.exit_code == 0, result.stderr
    assert any(TOKEN.encode() in head for head in server.heads)  # it was sent, and quoted back
    rows = outbox(db_path)
    assert [r["status"] for r in rows] == ["pending", "pending"]
    assert rows[0]["last_error"].startswith(("connection failed: ", "HTTP 503 "))
    seen = everything_shown_and_stored(cli, db_path, result)
    for form in leaked_forms(TOKEN):
        assert form not in seen


@pytest.mark.one_backend
def test_url_password_and_query_token_are_never_stored_or_shown(cli, store, db_path, time_machine):
    make_messages(store, 2)
    server = EchoServer(ECHOES["status line"])
    url = f"http://kim:{PASSWORD}@127.0.0.1:{server.port}/hook?Token={QUERY_TOKEN}&channel=7"
    try:
        first = deliver(cli, url)
        time_machine.move_to(dt.datetime.now(dt.UTC) + dt.timedelta(seconds=1))  # past the backoff
        second = deliver(cli, url, "--json")
    finally:
        server.close()
    assert first.exit_code == second.exit_code == 0
    shown = f"http://127.0.0.1:{server.port}/hook?Token=***&channel=7"
    assert first.stdout == f"Delivered 0 to {shown}; 2 will be retried later; 0 failed for good.\n"
    assert query(db_path, "SELECT target FROM delivery_target") == [(shown,)]
    assert any(QUERY_TOKEN.encode() in head for head in server.heads)
    basic = base64.b64encode(f"kim:{PASSWORD}".encode()).decode()
    assert any(basic.encode() in head for head in server.heads)  # httpx sent the URL's credentials
    seen = everything_shown_and_stored(cli, db_path, first, second)
    for secret in (PASSWORD, QUERY_TOKEN, basic):
        assert secret not in seen


@pytest.mark.one_backend
@pytest.mark.parametrize(
    "value, says",
    [
        (f"Bearer {TOKEN}\r", "contains a line break (CR or LF)"),
        (f"Bearer {TOKEN}\nX-Injected: 1", "contains a line break (CR or LF)"),
        (f"Bearer {TOKEN}é", "contains a non-ASCII character"),
        (f"Bearer {TOKEN}\x7f", "contains a control character"),
        (f"Bearer {TOKEN} ", "begins or ends with a space or tab"),
    ],
)
def test_a_malformed_authorization_is_refused_before_anything_happens(cli, store, db_path, monkeypatch, value, says):
    make_messages(store, 2)
    before = snapshot(db_path)
    monkeypatch.setenv("VAXRES_WEBHOOK_AUTHORIZATION", value)
    server = EchoServer(ECHOES["reason phrase"])
    try:
        result = deliver(cli, f"http://127.0.0.1:{server.port}/hook")
    finally:
        server.close()
    assert result.exit_code == 2
    assert result.stderr.startswith(f"Error: VAXRES_WEBHOOK_AUTHORIZATION {says}")
    assert len(result.stderr.splitlines()) == 1
    assert TOKEN not in result.stdout + result.stderr and "Bearer" not in result.stderr
    assert server.heads == []
    assert snapshot(db_path) == before and targets(db_path) == []


@pytest.mark.one_backend
def test_a_malformed_signing_secret_is_refused_without_echoing_it(cli, store, db_path, monkeypatch):
    make_messages(store, 1)
    monkeypatch.setenv("VAXRES_WEBHOOK_SECRET", "whsec_c2VjcmV0LWtleS1ieXRlcw==\r")
    result = deliver(cli, "http://127.0.0.1:9/hook")
    assert result.exit_code == 2
    assert (
        result.stderr == "Error: VAXRES_WEBHOOK_SECRET must be a Standard Webhooks secret: whsec_ followed by base64\n"
    )
    assert "c2VjcmV0" not in result.stdout + result.stderr
    assert outbox(db_path)[0]["status"] == "pending" and targets(db_path) == []


@pytest.mark.one_backend
def test_credentials_in_the_url_and_the_authorization_variable_are_refused_together(cli, store, db_path, monkeypatch):
    make_messages(store, 1)
    before = snapshot(db_path)
    monkeypatch.setenv("VAXRES_WEBHOOK_AUTHORIZATION", f"Bearer {TOKEN}")
    result = deliver(cli, f"http://kim:{PASSWORD}@127.0.0.1:9/hook")
    assert result.exit_code == 2
    assert result.stderr == (
        "Error: --to 'http://127.0.0.1:9/hook' carries credentials and VAXRES_WEBHOOK_AUTHORIZATION is set too: "
        "the URL's would replace the variable's; give them one way only\n"
    )
    assert snapshot(db_path) == before and targets(db_path) == []


@pytest.mark.one_backend
@pytest.mark.parametrize(
    "url, shown, reason",
    [
        (f"http://a:{PASSWORD}@[::1", "http://[::1", "the host is not a valid IPv6 address in brackets"),
        (f"http://a:{PASSWORD}@[::1/hook", "http://[::1/hook", "the host is not a valid IPv6 address in brackets"),
        (f"http://a:{PASSWORD}@example.org:99999/hook", "http://example.org:99999/hook", "the port must be a number"),
        (f"http://a:{PASSWORD}@example.org:0/hook", "http://example.org:0/hook", "the port must be a number"),
        (f"http://a:{PASSWORD}@example.org:http/hook", "http://example.org:http/hook", "the port must be a number"),
        ("http://a:s3cr/3t@example.org/hook", "http://example.org/hook", "the port must be a number"),
        (f"http://a:{PASSWORD}@/hook?token={QUERY_TOKEN}", "http:///hook?token=***", "it has no host"),
        (f"https://a:{PASSWORD}@exa mple.org/", "https://exa mple.org/", "it contains a space or a control character"),
    ],
)
def test_malformed_urls_exit_2_without_their_secrets(cli, store, db_path, url, shown, reason):
    make_messages(store, 1)
    before = snapshot(db_path)
    result = deliver(cli, url)
    assert result.exit_code == 2, result.stderr
    assert result.stderr.startswith(f"Error: --to {shown!r} is not a usable URL: {reason}")
    assert len(result.stderr.splitlines()) == 1
    for secret in (PASSWORD, QUERY_TOKEN, "s3cr/3t", "s3cr"):
        assert secret not in result.stdout + result.stderr
    assert snapshot(db_path) == before


@pytest.mark.one_backend
def test_not_a_target_is_shown_without_its_secrets(cli):
    result = cli("outbox", "deliver", "--to", f"ftp://kim:{PASSWORD}@example.org/x?key={QUERY_TOKEN}")
    assert result.exit_code == 2
    assert result.stderr.startswith("Error: --to 'ftp://example.org/x?key=***' is not a target")
