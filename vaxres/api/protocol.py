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
above sees it, is the 414 a shorter one gets from bounds.py."""

from __future__ import annotations

from http import HTTPStatus

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from vaxres.api.bounds import MAX_TARGET, SAYS, SERVER_HEAD
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


class BoundedHttpTools(HttpToolsProtocol):
    """`vaxres serve`'s HTTP protocol: httptools, with SERVER_HEAD bytes at most to a head."""

    refusal = b""  # made on first use
    _in_head = True
    _head_bytes = 0

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._in_head, self._head_bytes = True, 0

    def on_headers_complete(self) -> None:
        self._in_head = False
        super().on_headers_complete()

    def data_received(self, data: bytes) -> None:
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
        if len(getattr(self, "url", b"")) > MAX_TARGET:
            answer = _refusal(414, "uri_too_long", SAYS[414].format(limit=MAX_TARGET))
        else:
            answer = _refusal(400, "bad_request", NOT_HTTP)
        self.transport.write(answer)
        self.transport.close()
