"""Where notifications go: a webhook, a JSON-lines file, or stdout, behind one small interface.

A sink sends one message and answers with an Outcome; it never touches the store. Error texts
name the target without its credentials: the webhook secret, URL passwords and Authorization
values never appear in an outcome.
"""

from __future__ import annotations

import base64
import email.utils
import hashlib
import hmac
import json
import os
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol
from urllib.parse import urlsplit, urlunsplit

from vaxres.errors import InvalidInput

if TYPE_CHECKING:
    from vaxres.outbox.model import OutboxRecord

DELIVERED = "delivered"
RETRY = "retry"
FAILED = "failed"

SECRET_ENV = "VAXRES_WEBHOOK_SECRET"
AUTHORIZATION_ENV = "VAXRES_WEBHOOK_AUTHORIZATION"


@dataclass(frozen=True)
class Outcome:
    kind: str  # delivered | retry | failed
    error: str | None = None
    retry_after: float | None = None  # seconds the target asked us to wait (HTTP Retry-After)


class Sink(Protocol):
    name: str  # the target as stored and shown: credentials removed

    def send(self, message: OutboxRecord) -> Outcome: ...

    def close(self) -> None: ...


def message_body(message: OutboxRecord) -> bytes:
    return json.dumps(message.body(), ensure_ascii=False, separators=(",", ":")).encode()


def webhook_id(message: OutboxRecord) -> str:
    """Stable across retries of the same message: receivers deduplicate on it."""
    return f"msg_vaxres_{message.id}"


def redact_url(url: str) -> str:
    parts = urlsplit(url)
    if parts.username is None and parts.password is None:
        return url
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    return urlunsplit((parts.scheme, host, parts.path, parts.query, parts.fragment))


def signing_key(secret: str) -> bytes:
    """The key of a Standard Webhooks secret: base64 after the `whsec_` prefix."""
    encoded = secret[len("whsec_") :] if secret.startswith("whsec_") else secret
    try:
        return base64.b64decode(encoded, validate=True)
    except ValueError:
        raise InvalidInput(f"{SECRET_ENV} must be a Standard Webhooks secret: whsec_ followed by base64") from None


def sign(key: bytes, msg_id: str, timestamp: str, body: bytes) -> str:
    digest = hmac.new(key, f"{msg_id}.{timestamp}.".encode() + body, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def open_sink(target: str, *, connect_timeout: float = 3.0, read_timeout: float = 10.0, workers: int = 8) -> Sink:
    if target == "-":
        return StdoutSink()
    if target.startswith(("http://", "https://")):
        secret = os.environ.get(SECRET_ENV) or None
        return WebhookSink(
            target,
            key=signing_key(secret) if secret else None,
            authorization=os.environ.get(AUTHORIZATION_ENV) or None,
            connect_timeout=connect_timeout,
            read_timeout=read_timeout,
            connections=workers,
        )
    if target.startswith("file:"):
        return FileSink(Path(target[len("file:") :]))
    if target.endswith(".jsonl"):
        return FileSink(Path(target))
    raise InvalidInput(
        f"--to {redact_url(target)!r} is not a target: give an http:// or https:// URL, "
        f"a path ending in .jsonl, file:PATH, or - for stdout"
    )


class WebhookSink:
    """POST one JSON message per request, signed per Standard Webhooks; keep-alive connections."""

    def __init__(
        self,
        url: str,
        *,
        key: bytes | None,
        authorization: str | None,
        connect_timeout: float,
        read_timeout: float,
        connections: int,
    ):
        import httpx

        self.url = url
        self.name = redact_url(url)
        self._key = key
        self._authorization = authorization
        self._read_timeout = read_timeout
        self._connect_timeout = connect_timeout
        self._httpx = httpx
        self._client = httpx.Client(
            timeout=httpx.Timeout(read_timeout, connect=connect_timeout),
            follow_redirects=False,
            limits=httpx.Limits(max_connections=connections, max_keepalive_connections=connections),
        )

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
            response = self._client.post(self.url, content=body, headers=headers)
        except httpx.ConnectTimeout:
            return Outcome(RETRY, f"connect timed out after {self._connect_timeout:g} s")
        except httpx.TimeoutException:
            return Outcome(RETRY, f"no answer within {self._read_timeout:g} s")
        except httpx.TransportError as exc:
            return Outcome(RETRY, f"connection failed: {type(exc).__name__}: {self._scrub(str(exc))}")
        status = response.status_code
        if 200 <= status < 300:
            return Outcome(DELIVERED)
        reason = f"HTTP {status} {response.reason_phrase}".strip()
        if status in (408, 429) or status >= 500:
            return Outcome(RETRY, reason, retry_after=parse_retry_after(response.headers.get("retry-after")))
        if 300 <= status < 400:
            return Outcome(FAILED, f"{reason}: redirects are not followed; give the final URL")
        return Outcome(FAILED, reason)

    def _scrub(self, text: str) -> str:
        text = text.replace(self.url, self.name)
        for secret in (self._authorization,):
            if secret:
                text = text.replace(secret, "***")
        return text

    def close(self) -> None:
        self._client.close()


def parse_retry_after(value: str | None) -> float | None:
    """Retry-After as seconds or as an HTTP date (RFC 9110)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


class FileSink:
    """Append one JSON line per message; flushed and fsynced before it counts as delivered."""

    def __init__(self, path: Path):
        self.name = f"file:{path.expanduser().absolute()}"
        self._path = path.expanduser()
        if self._path.is_dir():
            raise InvalidInput(f"--to {path} is a folder; give a file path ending in .jsonl")
        if not self._path.parent.exists():
            raise InvalidInput(f"--to {path}: the folder {self._path.parent} does not exist")
        self._file = None
        self._lock = threading.Lock()

    def send(self, message: OutboxRecord) -> Outcome:
        with self._lock:
            return self._append(message)

    def _append(self, message: OutboxRecord) -> Outcome:
        try:
            if self._file is None:
                self._file = open(self._path, "ab")
            self._file.write(message_body(message) + b"\n")
            self._file.flush()
            os.fsync(self._file.fileno())
        except OSError as exc:
            if self._file is not None:
                self._file.close()
                self._file = None
            return Outcome(RETRY, f"cannot write {self._path}: {exc.strerror}")
        return Outcome(DELIVERED)

    def close(self) -> None:
        if self._file is not None:
            self._file.close()


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
            except (OSError, ValueError) as exc:
                return Outcome(RETRY, f"cannot write to stdout: {exc}")
        return Outcome(DELIVERED)

    def close(self) -> None:
        pass
