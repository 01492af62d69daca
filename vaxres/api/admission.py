"""Bounded admission (issue 22, item 5), on the event loop before any thread is taken: an ASGI
middleware lets at most `max_inflight` changes (POST, PATCH, PUT, DELETE under /v1) run at once in
a worker, keeps at most `queue` more waiting in arrival order, each at most `queue_timeout`
seconds, and answers any other at once: 503 `overloaded` with Retry-After, before the request's
body is read or the store touched. Reads (GET under /v1) have their own lane of `READS` at once,
with the same queue and deadline, so a rush of reads cannot take the threads changes need. A request
that would wait past the deadline by the recent pace is turned away at once rather than at it.

Under `vaxres serve` most refusals are made sooner still, by the HTTP protocol the moment a
request's head is parsed (api/protocol.py asks `turns_away()`, counting as `coming` the requests
it let through that have not reached enter() yet): no ASGI task, no middleware, so a worker turns
a rush away at a fraction of a request's cost.

The worker's thread pool (anyio's default limiter, 40 threads) and its store's connection pool
are sized to hold both lanes at once and the probes: a request let in never waits for a thread
or a connection, so nothing queues where no deadline reaches."""

from __future__ import annotations

import asyncio
import time
from collections import deque
from dataclasses import dataclass

from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from vaxres.errors import Unavailable

READS = 16  # reads at once in a worker
SPARE_THREADS = 8  # for the probes, /openapi.json and what is not under /v1: never limited
READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
PAGE_RETRY_AFTER = 3  # seconds: the booking page's waiting page reloads after this


class Overloaded(Unavailable):
    code = "overloaded"


@dataclass(frozen=True)
class Limits:
    """A worker's admission: `vaxres serve --max-inflight N --queue N --queue-timeout S`."""

    max_inflight: int = 8
    queue: int = 128
    queue_timeout: float = 1.0

    @property
    def threads(self) -> int:
        """The threads (and store connections) both lanes and the probes may use at once."""
        return self.max_inflight + READS + SPARE_THREADS


class Lane:
    """At most `limit` at once; up to `queue` more wait, first come first in, `timeout` seconds at
    most; enter() says False at once when the queue is full or the wait it foresees (the ones ahead,
    at the recent time each took) passes the deadline, else when the deadline passes."""

    def __init__(self, limit: int, queue: int, timeout: float, kind: str = "changes"):
        self.limit, self.queue, self.timeout, self.kind = limit, queue, timeout, kind
        self.inflight = 0
        self.service = 0.0  # seconds a request let in has taken lately (a moving average)
        self.coming = 0  # let through by the HTTP protocol, not yet at enter() (api/protocol.py)
        self._refusal: Response | None = None
        self._waiting: deque[asyncio.Future[None]] = deque()

    @property
    def refusal(self) -> Response:
        """The 503 problem it answers, made once: turning a request away costs the loop little."""
        if self._refusal is None:
            from vaxres.api.problems import of_error

            self._refusal = of_error(
                Overloaded(
                    f"too many {self.kind} under way ({self.limit} at once, {self.queue} waiting at most "
                    f"{self.timeout:g} s); try again shortly"
                )
            )
        return self._refusal

    @property
    def waiting(self) -> int:
        return len(self._waiting)

    def try_enter(self) -> bool:
        if self.inflight < self.limit and not self._waiting:
            self.inflight += 1
            return True
        return False

    def turns_away(self, ahead: int = 0) -> bool:
        """Whether enter() would say False at once, now or once `ahead` more have entered first."""
        free = 0 if self._waiting else max(self.limit - self.inflight, 0)
        if ahead < free:
            return False
        queued = len(self._waiting) + ahead - free
        return queued >= self.queue or self._wait_behind(queued) > self.timeout

    async def enter(self) -> bool:
        if self.try_enter():
            return True
        if self.turns_away():
            return False
        turn = asyncio.get_running_loop().create_future()
        self._waiting.append(turn)
        try:
            await asyncio.wait([turn], timeout=self.timeout)
        except BaseException:  # the request was cancelled while it waited
            self._give_up(turn)
            raise
        if turn.done():  # leave() handed its place over: inflight already counts it
            return True
        self._give_up(turn)
        return False

    def came(self) -> None:
        self.coming -= 1

    def foreseen_wait(self) -> float:
        """How long one more would wait: its turn comes after those waiting and one more leave."""
        return self._wait_behind(len(self._waiting))

    def _wait_behind(self, queued: int) -> float:
        return (queued + 1) * self.service / self.limit

    def _give_up(self, turn: asyncio.Future[None]) -> None:
        if turn.done() and not turn.cancelled():
            self.leave()  # let in just as it gave up: the place goes to the next
        else:
            self._waiting.remove(turn)
            turn.cancel()

    def leave(self, took: float | None = None) -> None:
        """One let in is done, after `took` seconds (its time joins the moving average)."""
        if took is not None:
            self.service += (took - self.service) / 8
        while self._waiting:
            turn = self._waiting.popleft()
            if not turn.done():
                turn.set_result(None)  # its place, handed over
                return
        self.inflight -= 1


class Lanes:
    """A worker's two lanes (the app's `state.admission`)."""

    def __init__(self, limits: Limits):
        self.limits = limits
        self.writes = Lane(limits.max_inflight, limits.queue, limits.queue_timeout)
        self.reads = Lane(READS, limits.queue, limits.queue_timeout, kind="reads")

    def of(self, method: str) -> Lane:
        return self.reads if method in READ_METHODS else self.writes


class Admission:
    """The ASGI middleware of the two lanes (see the module's docstring)."""

    def __init__(self, app: ASGIApp, lanes: Lanes, pages: frozenset[str] = frozenset()):
        self.app = app
        self.pages = pages  # the booking page's paths: through the lanes too, shed as a waiting page
        self.lanes, self.limits = lanes, lanes.limits
        self._sized_loops: set[int] = set()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if id(asyncio.get_running_loop()) not in self._sized_loops:
            self._size_thread_pool()
        path = scope.get("path", "")
        page = path in self.pages
        if scope["type"] != "http" or not (page or path.startswith("/v1/") or path == "/v1"):
            await self.app(scope, receive, send)
            return
        lane = self.lanes.of(scope["method"])
        if not await lane.enter():
            await (self._wait(scope, send) if page else self._shed(lane, send))
            return
        started = time.perf_counter()
        try:
            await self.app(scope, receive, send)
        finally:
            lane.leave(time.perf_counter() - started)

    def _size_thread_pool(self) -> None:
        import anyio.to_thread

        limiter = anyio.to_thread.current_default_thread_limiter()
        limiter.total_tokens = max(limiter.total_tokens, self.limits.threads)
        self._sized_loops.add(id(asyncio.get_running_loop()))

    async def _wait(self, scope: Scope, send: Send) -> None:
        """The page's 503: a waiting page in the reader's language that reloads by itself after
        Retry-After (a form that was turned away comes back to the page: nothing was done)."""
        from vaxres.api.page_render import SECURITY_HEADERS, busy_page, scope_language

        query = scope.get("query_string", b"").decode("latin-1")
        retry = scope["path"] + (f"?{query}" if query else "") if scope["method"] in READ_METHODS else "/"
        body = busy_page(scope_language(scope), PAGE_RETRY_AFTER, retry)
        headers = {**SECURITY_HEADERS, "Retry-After": str(PAGE_RETRY_AFTER), "Content-Type": "text/html; charset=utf-8"}
        raw = [(key.lower().encode(), value.encode()) for key, value in headers.items()]
        await send({"type": "http.response.start", "status": 503, "headers": raw})
        await send({"type": "http.response.body", "body": body})

    async def _shed(self, lane: Lane, send: Send) -> None:
        await send({"type": "http.response.start", "status": 503, "headers": lane.refusal.raw_headers})
        await send({"type": "http.response.body", "body": lane.refusal.body})
