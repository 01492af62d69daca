"""What every request passes at the edge: the caller's token (`Authorization: Bearer`, its role,
its name as the audit trail's actor), and for a change, admission and Idempotency-Key. Every write
of the API goes through Call.run: the one place a later admission control (issue 22, item 5) and
any other write-side policy belong."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Header, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel

from vaxres.access import idempotency
from vaxres.access.tokens import TokenRecord, find_token
from vaxres.api.render import json_bytes, json_response
from vaxres.db.store import Store
from vaxres.errors import Unavailable, VaxresError

bearer = HTTPBearer(auto_error=False, description="A token made by: vaxres token add NAME --role ROLE.")


class Unauthorized(VaxresError):
    exit_code = 2
    code = "unauthorized"


class Forbidden(VaxresError):
    exit_code = 2
    code = "forbidden"


class Overloaded(Unavailable):
    code = "overloaded"


class Admission:
    """At most `limit` writes at once (`--max-inflight`); one more is turned away at once with
    503 and Retry-After, never queued without end. No limit: every write is let in."""

    def __init__(self, limit: int | None):
        self.limit = limit
        self._slots = None if limit is None else threading.BoundedSemaphore(limit)

    def enter(self) -> None:
        if self._slots is not None and not self._slots.acquire(blocking=False):
            raise Overloaded(f"too many changes under way (more than {self.limit}); try again shortly")

    def leave(self) -> None:
        if self._slots is not None:
            self._slots.release()


@dataclass
class Call:
    """One authenticated request: its store acts as the token's name."""

    token: TokenRecord
    store: Store
    request: Request
    key: str | None = None

    def run(self, status: int, body: BaseModel | None, change: Callable[[Store], Any]):
        """Make the change (a use case given the store) and answer its JSON with `status`; with an
        Idempotency-Key, in one transaction with the answer kept for the key, or the kept answer."""
        admission: Admission = self.request.app.state.admission
        admission.enter()
        try:
            if self.key is None:
                return json_response(change(self.store), status)
            request = idempotency.fingerprint(
                self.request.method,
                str(self.request.url.path),
                b"" if body is None else json_bytes(body.model_dump(mode="json", exclude_unset=True)),
            )
            with self.store.unit_of_work() as (joined, conn):
                kept = idempotency.recall(conn, self.token.name, self.key, request)
                if kept is None:
                    kept = idempotency.Answer(status, json_bytes(change(joined)).decode())
                    idempotency.keep(conn, self.token.name, self.key, request, kept)
                    replayed = "false"
                else:
                    replayed = "true"
        finally:
            admission.leave()
        from fastapi.responses import Response

        return Response(
            kept.body, kept.status, media_type="application/json", headers={"Idempotent-Replayed": replayed}
        )


def _authenticated(request: Request, credentials: HTTPAuthorizationCredentials | None, role: str) -> Call:
    store: Store = request.app.state.store
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise Unauthorized("give a token in the header Authorization: Bearer TOKEN")
    token = find_token(store, credentials.credentials)
    if token is None:
        raise Unauthorized("the token is not known or was revoked")
    if not token.may(role):
        raise Forbidden(f"the token {token.name!r} has the role {token.role}; this needs the role {role} or above")
    return Call(token, store.acting(token.name), request)


Credentials = Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]
IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        description="Any unique text (a UUID): sent again with the same request, the first answer comes "
        "back and nothing changes twice (kept 24 hours).",
    ),
]


def reader(request: Request, credentials: Credentials) -> Call:
    return _authenticated(request, credentials, "reader")


def operator(request: Request, credentials: Credentials, key: IdempotencyKey = None) -> Call:
    return _keyed(_authenticated(request, credentials, "operator"), key)


def admin(request: Request, credentials: Credentials, key: IdempotencyKey = None) -> Call:
    return _keyed(_authenticated(request, credentials, "admin"), key)


def _keyed(call: Call, key: str | None) -> Call:
    call.key = None if key is None else idempotency.parse_key(key)
    return call


Reader = Annotated[Call, Depends(reader)]
Operator = Annotated[Call, Depends(operator)]
Admin = Annotated[Call, Depends(admin)]
