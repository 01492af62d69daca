"""Bounds on one webhook request: a total wall-clock deadline, and a small read of the answer.

httpx's timeouts apply to each read and write: a receiver that drips a byte a second never
trips them, and would keep a send open past the message's lease. Here every connect, read and
write of the request is given at most the time left before the request's deadline, so the whole
request (connect, send, headers, body) ends by then. The answer's body is never kept: at most
BODY_LIMIT bytes of it are read (so that a short answer leaves the connection reusable), then
the response is closed; only the status and the headers matter.
"""

from __future__ import annotations

import contextlib
import email.utils
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpcore

BODY_LIMIT = 64 * 1024


class Deadline:
    """The deadline of the request the current thread is sending (worker threads send at once)."""

    def __init__(self) -> None:
        self._local = threading.local()

    @contextlib.contextmanager
    def within(self, seconds: float) -> Iterator[None]:
        self._local.at = time.monotonic() + seconds
        try:
            yield
        finally:
            self._local.at = None

    def passed(self) -> bool:
        at = getattr(self._local, "at", None)
        return at is not None and time.monotonic() >= at

    def cap(self, timeout: float | None, error: type[Exception]) -> float | None:
        """`timeout`, shortened to the time left; past the deadline, `error` is raised."""
        at = getattr(self._local, "at", None)
        if at is None:
            return timeout
        left = at - time.monotonic()
        if left <= 0:
            raise error("the request's deadline has passed")
        return left if timeout is None else min(timeout, left)


class _Stream(httpcore.NetworkStream):
    def __init__(self, stream: httpcore.NetworkStream, deadline: Deadline):
        self._stream, self._deadline = stream, deadline

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._stream.read(max_bytes, self._deadline.cap(timeout, httpcore.ReadTimeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._stream.write(buffer, self._deadline.cap(timeout, httpcore.WriteTimeout))

    def close(self) -> None:
        self._stream.close()

    def start_tls(self, ssl_context: Any, server_hostname: str | None = None, timeout: float | None = None):
        timeout = self._deadline.cap(timeout, httpcore.ConnectTimeout)
        return _Stream(self._stream.start_tls(ssl_context, server_hostname, timeout), self._deadline)

    def get_extra_info(self, info: str) -> Any:
        return self._stream.get_extra_info(info)


class _Backend(httpcore.NetworkBackend):
    def __init__(self, backend: httpcore.NetworkBackend, deadline: Deadline):
        self._backend, self._deadline = backend, deadline

    def connect_tcp(self, host, port, timeout=None, local_address=None, socket_options=None):
        timeout = self._deadline.cap(timeout, httpcore.ConnectTimeout)
        stream = self._backend.connect_tcp(host, port, timeout, local_address, socket_options)
        return _Stream(stream, self._deadline)

    def connect_unix_socket(self, path, timeout=None, socket_options=None):
        timeout = self._deadline.cap(timeout, httpcore.ConnectTimeout)
        return _Stream(self._backend.connect_unix_socket(path, timeout, socket_options), self._deadline)

    def sleep(self, seconds: float) -> None:
        self._backend.sleep(seconds)


def install(client: Any, deadline: Deadline) -> None:
    """Put `deadline` under every connection the httpx client opens (direct and through proxies)."""
    for transport in [client._transport, *client._mounts.values()]:
        pool = getattr(transport, "_pool", None)
        backend = getattr(pool, "_network_backend", None)
        if backend is None or isinstance(backend, _Backend):
            continue
        setattr(pool, "_network_backend", _Backend(backend, deadline))  # noqa: B010 (found by getattr above)


def read_some(response: Any) -> None:
    """Read at most BODY_LIMIT bytes of the answer, raw (never decompressed), and keep none."""
    seen = 0
    for chunk in response.iter_raw():
        seen += len(chunk)
        if seen >= BODY_LIMIT:
            break


def exception_text(exc: Exception) -> str:
    """An exception's message; bytes arguments (h11 quotes what it read) are decoded, not repr'd."""
    if len(exc.args) == 1 and isinstance(exc.args[0], (bytes, bytearray)):
        return bytes(exc.args[0]).decode("utf-8", "backslashreplace")
    return str(exc)


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
