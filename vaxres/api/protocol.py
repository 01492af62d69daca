"""uvicorn's httptools protocol with the request's head bounded (issue 22's speed, bounds.py's
limits): httptools parses a request at a fraction of h11's cost, which is what lets a worker turn
a rush away in milliseconds, but it keeps a header of any length while it waits for its end. This
protocol counts what arrives while a head is incomplete and, past SERVER_HEAD bytes, answers 431
as a problem and closes the connection: at most one read past the limit is ever held.

A read that ends one request's body and begins the next head counts whole (an over-estimate, on
the safe side): only a pipelining client sending large bodies could meet it, and none of vaxres's
callers pipeline.

What httptools cannot parse is a problem too (400 `bad_request`), never uvicorn's plain text; a
target over its URL parser's 64 KiB, which a head arriving in one read brings before the count
above sees it, is the 414 a shorter one gets from bounds.py.

Overload is turned away here too: when the head of a request to the API (under /v1) is complete
and its lane in admission.py would turn it away at once (`turns_away()`), the protocol writes the
lane's 503 itself, before uvicorn makes the request's scope, cycle and task, and skips its body.
That is the whole cost of a shed request, which is what keeps a 503's wait short when hundreds of
connections ask again the moment they are answered. The connection stays open for the next request
when the body it skips is bounded: a Content-Length within MAX_BODY and no `Expect: 100-continue`
(whose body may never come); otherwise the 503 says `connection: close`. Admission's middleware
still decides every request this lets through, and under a pipelined request still answering."""

from __future__ import annotations

from functools import cache
from http import HTTPStatus
from typing import ClassVar

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from vaxres.api.admission import Lane, Lanes
from vaxres.api.bounds import MAX_BODY, MAX_TARGET, SAYS, SERVER_HEAD
from vaxres.api.problems import MEDIA_TYPE, problem_body

NOT_HTTP = "the request is not valid HTTP/1.1 (its request line, a header or the body's framing); nothing was done"


def _refusal(status: int, code: str, detail: str) -> bytes:
    """A whole answer, written before the connection closes: the app never saw the request."""
    body = problem_body(status, code, detail)
    head = (
        f"HTTP/1.1 {status} {HTTPStatus(status).phrase}\r\n"
        f"content-type: {MEDIA_TYPE}\r\ncontent-length: {len(body)}\r\nconnection: close\r\n\r\n"
    )
    return head.encode("ascii") + body


STATUS_503 = f"HTTP/1.1 503 {HTTPStatus(503).phrase}\r\n".encode("ascii")


@cache
def _shed_headers(lane: Lane) -> bytes:
    """The lane's 503's own header lines, which follow uvicorn's default ones as in any answer."""
    return b"".join(name + b": " + value + b"\r\n" for name, value in lane.refusal.raw_headers)


class BoundedHttpTools(HttpToolsProtocol):
    """`vaxres serve`'s HTTP protocol: httptools, with SERVER_HEAD bytes at most to a head, and
    overload turned away as soon as a head is read."""

    refusal = b""  # made on first use
    lanes: ClassVar[Lanes | None] = None  # the worker's admission, set by api.app.from_environment
    _in_head = True
    _head_bytes = 0
    _skipping = False  # the body of a request answered 503 here is arriving: it goes nowhere

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._in_head, self._head_bytes = True, 0

    def on_headers_complete(self) -> None:
        self._in_head = False
        if self.transport.is_closing():  # a request read behind one answered with close: unanswerable
            self._skipping = True
            return
        lanes = self.lanes
        if lanes is None or not (self.url.startswith(b"/v1/") or self.url == b"/v1"):
            super().on_headers_complete()
            return
        lane = lanes.of(self.parser.get_method().decode("ascii"))
        if (self.cycle is not None and not self.cycle.response_complete) or self.pipeline:
            super().on_headers_complete()  # behind a request still answering: admission decides, in turn
        elif lane.turns_away(ahead=lane.coming):
            self._shed(lane)
        else:  # counted until its task's first step (scheduled first) has taken it through admission
            lane.coming += 1
            super().on_headers_complete()
            self.loop.call_soon(lane.came)

    def _shed(self, lane: Lane) -> None:
        keep_alive = (
            self.parser.should_keep_alive()
            and self.parser.get_http_version() == "1.1"
            and not self.expect_100_continue
            and _bounded_body(self.headers)
        )
        default = b"".join(name + b": " + value + b"\r\n" for name, value in self.server_state.default_headers)
        end = b"\r\n" if keep_alive else b"connection: close\r\n\r\n"
        self.transport.write(STATUS_503 + default + _shed_headers(lane) + end + lane.refusal.body)
        self._skipping = True
        if not keep_alive:
            self.transport.close()
            return
        self.on_response_complete()  # counted, and the keep-alive timer armed as after any answer

    def on_body(self, body: bytes) -> None:
        if not self._skipping:
            super().on_body(body)

    def on_message_complete(self) -> None:
        if not self._skipping:
            super().on_message_complete()
            return
        self._skipping = False
        if self.timeout_keep_alive_task is None and not self.transport.is_closing():
            self.timeout_keep_alive_task = self.loop.call_later(
                self.timeout_keep_alive, self.timeout_keep_alive_handler
            )

    def data_received(self, data: bytes) -> None:
        if self.transport.is_closing():  # answered with close: what follows goes unread
            return
        super().data_received(data)
        if not self._in_head or self.transport.is_closing():
            return
        self._head_bytes += len(data)
        if self._head_bytes > SERVER_HEAD:
            cls = type(self)
            if not cls.refusal:
                cls.refusal = _refusal(431, "headers_too_large", SAYS[431].format(limit=SERVER_HEAD))
            self.transport.write(cls.refusal)
            self.transport.close()

    def send_400_response(self, msg: str) -> None:
        if self.transport.is_closing():
            return
        if len(getattr(self, "url", b"")) > MAX_TARGET:
            answer = _refusal(414, "uri_too_long", SAYS[414].format(limit=MAX_TARGET))
        else:
            answer = _refusal(400, "bad_request", NOT_HTTP)
        self.transport.write(answer)
        self.transport.close()


def _bounded_body(headers: list[tuple[bytes, bytes]]) -> bool:
    """Whether the body a request declares may be read and dropped: none, or a Content-Length
    within MAX_BODY (httptools has checked its syntax); never a chunked one."""
    for name, value in headers:
        if name == b"transfer-encoding":
            return False
        if name == b"content-length" and not (value.isdigit() and int(value) <= MAX_BODY):
            return False
    return True
