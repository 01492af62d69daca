"""What every request passes at the edge: the caller's token (`Authorization: Bearer`, its role,
its name as the audit trail's actor), and for a change, Idempotency-Key. Every write of the API
goes through Call.run: the one place a write-side policy belongs. Admission (at most N changes at
once, a short queue with a deadline) comes before it, on the event loop: api/admission.py."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Header, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel

from vaxres.access import idempotency
from vaxres.access.tokens import find_token
from vaxres.api.render import json_bytes, json_response
from vaxres.db.store import Store
from vaxres.errors import VaxresError

bearer = HTTPBearer(auto_error=False, description="A token made by: vaxres token add NAME --role ROLE.")


class Unauthorized(VaxresError):
    exit_code = 2
    code = "unauthorized"


class Forbidden(VaxresError):
    exit_code = 2
    code = "forbidden"


@dataclass
class Call:
    """One authenticated request: its store acts as the caller (a token's name, `citizen:ID`),
    whose namespace its Idempotency-Keys are in."""

    caller: str
    store: Store
    request: Request
    key: str | None = None

    def run(self, status: int, body: BaseModel | None, change: Callable[[Store], Any]):
        """Make the change (a use case given the store) and answer its JSON with `status`; with an
        Idempotency-Key, in one transaction with the answer kept for the key, or the kept answer."""
        if self.key is None:
            return json_response(change(self.store), status)
        request = idempotency.fingerprint(
            self.request.method,
            str(self.request.url.path),
            b"" if body is None else json_bytes(body.model_dump(mode="json", exclude_unset=True)),
        )
        with self.store.unit_of_work() as (joined, conn):
            kept = idempotency.recall(conn, self.caller, self.key, request)
            if kept is None:
                kept = idempotency.Answer(status, json_bytes(change(joined)).decode())
                idempotency.keep(conn, self.caller, self.key, request, kept)
                replayed = "false"
            else:
                replayed = "true"
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
    return Call(token.name, store.acting(token.name), request)


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
    return keyed(_authenticated(request, credentials, "operator"), key)


def admin(request: Request, credentials: Credentials, key: IdempotencyKey = None) -> Call:
    return keyed(_authenticated(request, credentials, "admin"), key)


def admin_without_key(request: Request, credentials: Credentials) -> Call:
    """An admin's call that offers no Idempotency-Key: a token's answer is never kept to replay."""
    return _authenticated(request, credentials, "admin")


def keyed(call: Call, key: str | None) -> Call:
    call.key = None if key is None else idempotency.parse_key(key)
    return call


Reader = Annotated[Call, Depends(reader)]
Operator = Annotated[Call, Depends(operator)]
Admin = Annotated[Call, Depends(admin)]
AdminWithoutKey = Annotated[Call, Depends(admin_without_key)]
