"""/v1/tokens: operator access over HTTP, as `vaxres token` (access/tokens.py), for an admin only.

A new token is answered once and never kept: its creation takes no Idempotency-Key (a replay
would have to store the token), and neither does the list, which changes nothing. Sent again,
the same name is refused `token_exists`; revoke it and add it again."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path
from pydantic import Field

from vaxres.api.bookings import Body
from vaxres.api.edge import Admin, AdminWithoutKey
from vaxres.api.problems import responses
from vaxres.api.render import json_response

router = APIRouter(prefix="/v1", responses=responses(401, 403, 404, 409, 422, 503))
TokenName = Annotated[str, Path(description="The token's name: the actor of the changes made with it.")]


class NewToken(Body):
    name: str = Field(description="Who uses it: the audit trail's actor of its changes.")
    role: str = Field(description="reader, operator or admin.")


@router.get("/tokens", summary="The tokens, never their secrets (as `token list`)")
def list_tokens(call: AdminWithoutKey) -> Any:
    from vaxres.access.tokens import list_tokens

    return json_response([token.as_json() for token in list_tokens(call.store)])


@router.post(
    "/tokens",
    status_code=201,
    summary="Make a token, shown only in this answer (as `token add`)",
    description="No Idempotency-Key: the token is never kept to answer again. Sent again, the name is "
    "refused 409 `token_exists`; revoke it and make it again.",
)
def add_token(call: AdminWithoutKey, body: NewToken) -> Any:
    from vaxres.access.tokens import add_token

    return json_response(add_token(call.store, body.name, role=body.role).as_json(), 201)


@router.post("/tokens/{name}/revoke", summary="Refuse a token from the next request on (as `token revoke`)")
def revoke_token(call: Admin, name: TokenName) -> Any:
    from vaxres.access.tokens import revoke_token

    return call.run(200, None, lambda store: revoke_token(store, name).as_json())
