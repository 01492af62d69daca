"""What a request may weigh, checked on the event loop before the app reads it: its target (path
and query) at most MAX_TARGET bytes (414), its head at most MAX_HEAD bytes (431), its body at most
MAX_BODY bytes (64 KiB: the largest body the API takes, a person or a vaccine with its aliases, is
well under 4 KiB) or, for the booking page's forms, MAX_FORM bytes (413). A Content-Length over
the limit is refused before a byte of the body is read; a chunked body is counted as it streams and
cut off where it passes the limit. Each refusal is answered at once with `Connection: close`, so
the worker neither holds nor reads the rest: a problem+json for the API, a page in the reader's
language for the booking page.

The server bounds the head first (`vaxres serve` runs uvicorn's httptools parser through
vaxres/api/protocol.py, which holds at most SERVER_HEAD bytes of a head): a head past that is cut
off there with the same 431 problem, before any of it reaches the app."""

from __future__ import annotations

from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from vaxres.api.problems import MEDIA_TYPE, described, problem_body

MAX_BODY = 64 * 1024
MAX_FORM = 4096  # the booking page's largest form is two short fields
MAX_TARGET = 4096  # a path with its query: ids are at most 200 characters, filters a few
MAX_HEAD = 16 * 1024  # the request line and every header: a bearer token, a cookie or two
SERVER_HEAD = 32 * 1024  # the protocol's bound on a head still arriving (api/protocol.py)


class BodyTooLarge(Exception):
    """Raised into the app by the counted receive: the body passed its limit (answered here)."""


class Bounds:
    """The ASGI middleware of the limits above (see the module's docstring)."""

    def __init__(self, app: ASGIApp, pages: frozenset[str] = frozenset()):
        self.app = app
        self.pages = pages  # the booking page's paths: HTML answers, MAX_FORM bodies

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        page = scope.get("path", "") in self.pages
        limit = MAX_FORM if page else MAX_BODY
        target = len(scope.get("raw_path") or scope.get("path", "").encode()) + len(scope.get("query_string", b""))
        head = target + sum(len(name) + len(value) + 4 for name, value in scope.get("headers") or ())
        if target > MAX_TARGET:
            await _refuse(scope, send, page, 414, "uri_too_long", MAX_TARGET)
            return
        if head > MAX_HEAD:
            await _refuse(scope, send, page, 431, "headers_too_large", MAX_HEAD)
            return
        if _declared_length(scope) > limit:
            await _refuse(scope, send, page, 413, "body_too_large", limit)
            return
        received = 0
        refused = started = False

        async def counted() -> Message:
            nonlocal received, refused
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    refused = True
                    raise BodyTooLarge(limit)
            return message

        async def guarded(message: Message) -> None:
            nonlocal started
            if refused:  # the app's answer to the cut-off body: ours goes instead
                return
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counted, guarded)
        except Exception:
            if not refused:
                raise
        if refused and not started:
            await _refuse(scope, send, page, 413, "body_too_large", limit)


def _declared_length(scope: Scope) -> int:
    """The Content-Length sent (the server has checked it is a number), else 0."""
    for name, value in scope.get("headers") or ():
        if name == b"content-length" and value.isdigit():
            return int(value)
    return 0


SAYS = {
    413: "the request's body is larger than {limit:,} bytes, the most this call takes; send a smaller one",
    414: "the request's path and query are longer than {limit:,} bytes; send a shorter one",
    431: "the request's headers are larger than {limit:,} bytes in all; send fewer or shorter ones",
}


async def _refuse(scope: Scope, send: Send, page: bool, status: int, code: str, limit: int) -> None:
    """The answer to a request over a limit: a problem, or the page's; the connection closes."""
    if page:
        from vaxres.api.page_render import SECURITY_HEADERS, scope_language, too_large_page

        body = too_large_page(scope_language(scope), status, limit)
        headers = {**SECURITY_HEADERS, "Content-Type": "text/html; charset=utf-8"}
    else:
        body = problem_body(status, code, SAYS[status].format(limit=limit))
        headers = {"Content-Type": MEDIA_TYPE}
    raw = [(key.lower().encode(), value.encode()) for key, value in headers.items()]
    raw += [(b"content-length", str(len(body)).encode()), (b"connection", b"close")]
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": body})


def responses() -> dict[int | str, dict[str, Any]]:
    """The OpenAPI `responses` every call may answer, whatever it is."""
    closes = "; the connection closes"
    return {
        413: described(f"The body is larger than {MAX_BODY // 1024} KiB (`body_too_large`){closes}."),
        414: described(f"The path and query are longer than {MAX_TARGET:,} bytes (`uri_too_long`){closes}."),
        431: described(f"The headers are larger than {MAX_HEAD // 1024} KiB in all (`headers_too_large`){closes}."),
    }
