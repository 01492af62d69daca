"""Where notifications go: a webhook, a JSON-lines file, stdout or e-mail (smtp.py), behind one
small interface (outcome.py).

A sink sends one message and answers with an Outcome; it never touches the store. Error texts
name the target without its credentials: the webhook secret, URL passwords, secret query values
and Authorization values never appear in an outcome (see credentials.py). A target that cannot
take anything now (a full disk, a closed pipe) answers UNAVAILABLE: the message is not its fault.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import json
import os
import sys
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING

from vaxres.errors import InvalidInput
from vaxres.outbox.credentials import (
    AUTHORIZATION_ENV,
    SECRET_ENV,
    Scrubber,
    authorization_secrets,
    check_header_value,
    check_url,
    redact_url,
    url_secrets,
)
from vaxres.outbox.outcome import DELIVERED, FAILED, RETRY, UNAVAILABLE, Outcome, Sink
from vaxres.outbox.webhook import Deadline, exception_text, install, parse_retry_after, read_some
from vaxres.paths import check_length, length_checked

try:
    import fcntl
except ImportError:  # Windows: one dispatcher per file, unlocked
    fcntl = None  # type: ignore[assignment]

if TYPE_CHECKING:
    from vaxres.outbox.model import OutboxRecord


def message_body(message: OutboxRecord) -> bytes:
    return json.dumps(message.body(), ensure_ascii=False, separators=(",", ":")).encode()


def webhook_id(message: OutboxRecord) -> str:
    """Stable across retries of the same message: receivers deduplicate on it."""
    return f"msg_vaxres_{message.id}"


def signing_key(secret: str) -> bytes:
    """The key of a Standard Webhooks secret: base64 after the `whsec_` prefix."""
    encoded = secret[len("whsec_") :] if secret.startswith("whsec_") else secret
    try:
        key = base64.b64decode(encoded, validate=True)
    except ValueError:  # not base64, or not ASCII: the value is never echoed
        key = b""
    if not key:
        raise InvalidInput(f"{SECRET_ENV} must be a Standard Webhooks secret: whsec_ followed by base64")
    return key


def sign(key: bytes, msg_id: str, timestamp: str, body: bytes) -> str:
    digest = hmac.new(key, f"{msg_id}.{timestamp}.".encode() + body, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def open_sink(
    target: str,
    *,
    connect_timeout: float = 3.0,
    read_timeout: float = 10.0,
    workers: int = 8,
    lease: float | None = None,
) -> Sink:
    if target == "-":
        return StdoutSink()
    if target.startswith(("http://", "https://")):
        secret = os.environ.get(SECRET_ENV) or None
        authorization = os.environ.get(AUTHORIZATION_ENV) or None
        check_url(target, authorization=authorization is not None)
        if authorization is not None:
            check_header_value(AUTHORIZATION_ENV, authorization)
        return WebhookSink(
            target,
            secret=secret,
            authorization=authorization,
            connect_timeout=connect_timeout,
            read_timeout=read_timeout,
            connections=workers,
            lease=lease,
        )
    if target.startswith(("smtp://", "smtps://")):
        from vaxres.outbox.smtp import open_smtp

        return open_smtp(target, connect_timeout=connect_timeout, read_timeout=read_timeout, lease=lease)
    if target.startswith("file:"):
        return FileSink(Path(target[len("file:") :]))
    if target.endswith(".jsonl"):
        return FileSink(Path(target))
    raise InvalidInput(
        f"--to {redact_url(target)!r} is not a target: give an http:// or https:// URL, an smtp:// or "
        f"smtps:// server, a path ending in .jsonl, file:PATH, or - for stdout"
    )


class WebhookSink:
    """POST one JSON message per request, signed per Standard Webhooks; keep-alive connections.

    A whole request ends within `deadline` seconds: connect + read timeout, and never more than
    half the lease, so that no other dispatcher takes the message over while it is being sent.
    """

    def __init__(
        self,
        url: str,
        *,
        secret: str | None,
        authorization: str | None,
        connect_timeout: float,
        read_timeout: float,
        connections: int,
        lease: float | None = None,
    ):
        import httpx

        self.url = url
        self.name = redact_url(url)
        self._key = signing_key(secret) if secret else None
        self._authorization = authorization
        signing = [secret, secret.removeprefix("whsec_")] if secret else []
        self._scrub = Scrubber([*signing, *authorization_secrets(authorization or ""), *url_secrets(url)], url)
        self._read_timeout = read_timeout
        self._connect_timeout = connect_timeout
        self.deadline = (
            connect_timeout + read_timeout if lease is None else min(connect_timeout + read_timeout, lease / 2)
        )
        self._deadline = Deadline()
        self._httpx = httpx
        self._client = httpx.Client(
            timeout=httpx.Timeout(read_timeout, connect=connect_timeout),
            follow_redirects=False,
            limits=httpx.Limits(max_connections=connections, max_keepalive_connections=connections),
        )
        install(self._client, self._deadline)

    def send(self, message: OutboxRecord) -> Outcome:
        httpx = self._httpx
        body = message_body(message)
        msg_id = webhook_id(message)
        timestamp = str(int(time.time()))
        headers = {
            "content-type": "application/json",
            "user-agent": "vaxres",
            "webhook-id": msg_id,
            "webhook-timestamp": timestamp,
            "idempotency-key": msg_id,
        }
        if self._key is not None:
            headers["webhook-signature"] = sign(self._key, msg_id, timestamp, body)
        if self._authorization is not None:
            headers["authorization"] = self._authorization
        try:
            with self._deadline.within(self.deadline):
                try:
                    with self._client.stream("POST", self.url, content=body, headers=headers) as response:
                        read_some(response)  # only the status and headers matter; the body is not kept
                except httpx.TimeoutException:
                    if self._deadline.passed():
                        return Outcome(RETRY, f"no complete answer within {self.deadline:g} s")
                    raise
        except httpx.ConnectTimeout:
            return Outcome(RETRY, f"connect timed out after {self._connect_timeout:g} s")
        except httpx.TimeoutException:
            return Outcome(RETRY, f"no answer within {self._read_timeout:g} s")
        except httpx.TransportError as exc:
            return Outcome(RETRY, f"connection failed: {type(exc).__name__}: {self._scrub(exception_text(exc))}")
        except httpx.HTTPError as exc:
            return Outcome(RETRY, f"request failed: {type(exc).__name__}: {self._scrub(exception_text(exc))}")
        status = response.status_code
        if 200 <= status < 300:
            return Outcome(DELIVERED)
        # The reason phrase is the receiver's own text: it may quote what it was sent.
        reason = f"HTTP {status} {self._scrub(response.reason_phrase)}".strip()
        if status in (408, 429) or status >= 500:
            return Outcome(RETRY, reason, retry_after=parse_retry_after(response.headers.get("retry-after")))
        if 300 <= status < 400:
            return Outcome(FAILED, f"{reason}: redirects are not followed; give the final URL")
        return Outcome(FAILED, reason)

    def close(self) -> None:
        self._client.close()


class FileSink:
    """Append one JSON line per message; written and fsynced before it counts as delivered.

    Each line is written with os.write under an exclusive lock on the file, so that dispatchers
    sharing the file never interleave. The file only ever holds whole lines: a write, short write
    or fsync that fails (a full disk) truncates the file back to where the line began, and a last
    line without its newline (a writer stopped mid-line) is cut off before the next line is added;
    neither was ever counted as delivered, so its message is sent again.
    """

    def __init__(self, path: Path):
        self._path = path.expanduser()
        self.name = f"file:{self._path.absolute()}"
        check_length(self._path, option="--to")
        with length_checked("--to"):
            self._check(path)
        self._fd: int | None = None
        self._lock = threading.Lock()

    def _check(self, path: Path) -> None:
        if self._path.is_symlink():  # appended to by design, but never through a link
            raise InvalidInput(f"--to {path} is a symbolic link; give the file itself")
        if self._path.is_dir():
            raise InvalidInput(f"--to {path} is a folder; give a file path ending in .jsonl")
        if not self._path.parent.exists():
            raise InvalidInput(f"--to {path}: the folder {self._path.parent} does not exist")
        if self._path.exists() and not os.access(self._path, os.R_OK | os.W_OK):
            raise InvalidInput(f"--to {path}: the file cannot be read and written")
        if not self._path.exists() and not os.access(self._path.parent, os.W_OK):
            raise InvalidInput(f"--to {path}: the folder {self._path.parent} cannot be written")

    def send(self, message: OutboxRecord) -> Outcome:
        line = message_body(message) + b"\n"
        with self._lock:
            try:
                if self._fd is None:
                    # A new file is 0600 (it holds user ids); an existing one keeps its mode.
                    flags = os.O_RDWR | os.O_APPEND | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0)
                    self._fd = os.open(self._path, flags, 0o600)
                _append_line(self._fd, line)
            except OSError as exc:
                self.close()
                return Outcome(UNAVAILABLE, f"cannot write {self._path.absolute()}: {exc.strerror or exc}")
        return Outcome(DELIVERED)

    def close(self) -> None:
        """Never raises: every line that counted was fsynced already."""
        if self._fd is not None:
            fd, self._fd = self._fd, None
            with contextlib.suppress(OSError):
                os.close(fd)


def _append_line(fd: int, line: bytes) -> None:
    if fcntl is not None:
        fcntl.flock(fd, fcntl.LOCK_EX)
    try:
        start = _whole_lines_end(fd)
        try:
            view = memoryview(line)
            while view:
                view = view[os.write(fd, view) :]
            os.fsync(fd)
        except OSError:
            with contextlib.suppress(OSError):
                os.ftruncate(fd, start)
            raise
    finally:
        if fcntl is not None:
            with contextlib.suppress(OSError):
                fcntl.flock(fd, fcntl.LOCK_UN)


def _whole_lines_end(fd: int) -> int:
    """The size of the file's whole lines; a last line without its newline is cut off."""
    size = end = os.fstat(fd).st_size
    while end > 0:
        start = max(0, end - 4096)
        os.lseek(fd, start, os.SEEK_SET)
        chunk = os.read(fd, end - start)
        newline = chunk.rfind(b"\n")
        if newline >= 0:
            end = start + newline + 1
            break
        end = start
    if end < size:
        os.ftruncate(fd, end)
    return end


class StdoutSink:
    """JSON lines on stdout, for piping into another program."""

    name = "-"

    def __init__(self) -> None:
        self._lock = threading.Lock()

    def send(self, message: OutboxRecord) -> Outcome:
        with self._lock:
            try:
                sys.stdout.buffer.write(message_body(message) + b"\n")
                sys.stdout.flush()
            except (OSError, ValueError) as exc:  # a closed pipe: whoever read it has gone
                return Outcome(UNAVAILABLE, f"cannot write to stdout: {getattr(exc, 'strerror', None) or exc}")
        return Outcome(DELIVERED)

    def close(self) -> None:
        pass
