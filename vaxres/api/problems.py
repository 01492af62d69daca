"""Every error as RFC 9457 `application/problem+json`, with the CLI's `code` and its sentence as
`detail` (never the CLI's next command: that is the terminal's), a bad value named as the API
names it (`by`, not the CLI's `--by`). The status follows the error's kind, as the exit code does:
refused 409, invalid 422, not found 404, busy or unavailable 503 with Retry-After. A request that
does not parse is 422 too; nothing a caller sends is a 500."""

from __future__ import annotations

import logging
import re
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from starlette.exceptions import HTTPException

from vaxres.booking.codes import SYSTEMS
from vaxres.errors import InvalidTogether, InvalidValue, VaxresError

MEDIA_TYPE = "application/problem+json"
STATUS_OF_EXIT = {1: 409, 2: 422, 3: 404, 75: 503}
STATUS_OF_CODE = {
    "unauthorized": 401,  # the edge's own (api/edge.py)
    "forbidden": 403,
    "code_refused": 401,  # the citizens' (citizens/rules.py)
    "session_refused": 401,
    "too_many_codes": 429,
    "forbidden_origin": 403,  # the booking page's (api/citizen_page.py)
}
RETRY_AFTER = "1"  # seconds: a busy store frees within its busy timeout
TITLES = {
    400: "Bad request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not found",
    405: "Method not allowed",
    409: "Refused",
    413: "Content too large",
    414: "URI too long",
    429: "Too many requests",
    431: "Request header fields too large",
    422: "Invalid request",
    500: "Internal error",
    503: "Unavailable, try again shortly",
}
log = logging.getLogger("vaxres.api")
# A CLI option where a sentence names it: a word of its own.
_OPTION = re.compile(r"(?<![\w-])--[a-z][a-z0-9-]*(?![\w-])")
# The API's names that are not an option's words joined by `_`: a list, a vaccine's codes.
_API_FIELDS = {"--group": "groups"} | {system.option: f"codes.{system.field}" for system in SYSTEMS.values()}


def problem(status: int, code: str, detail: str, *, headers: dict[str, str] | None = None, **extra: Any) -> Response:
    headers = dict(headers or {})
    if status == 503:
        headers.setdefault("Retry-After", RETRY_AFTER)
    return Response(problem_body(status, code, detail, **extra), status, headers=headers, media_type=MEDIA_TYPE)


def problem_body(status: int, code: str, detail: str, **extra: Any) -> bytes:
    from vaxres.api.render import json_bytes

    body = {"type": f"urn:vaxres:problem:{code}", "title": TITLES.get(status, "Error"), "status": status}
    return json_bytes(body | {"code": code, "detail": detail, **extra})


def status_of(error: VaxresError) -> int:
    return STATUS_OF_CODE.get(error.code) or STATUS_OF_EXIT.get(error.exit_code, 409)


def of_error(error: VaxresError) -> Response:
    status = status_of(error)
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else {}
    if status == 429:
        headers["Retry-After"] = str(error.details.get("retry_after", 60))
    return problem(status, error.code, detail_of(error), headers=headers)


def detail_of(error: VaxresError) -> str:
    """The error's sentence with the API's field for each CLI option it names: the one it begins
    with (InvalidValue's field: `--birth-date` → `birth_date`), or every one of InvalidTogether's
    options (`--born-to ... is before --born-from ...`). The CLI's own text is left as it is."""
    if isinstance(error, InvalidTogether):
        fields = {option: error.fields.get(option) or api_field(option) for option in error.options}
        return _OPTION.sub(lambda found: fields.get(found[0], found[0]), error.message)
    if not isinstance(error, InvalidValue) or not error.field.startswith("--"):
        return error.message
    if not error.message.startswith(error.field + " "):
        return error.message
    return api_field(error.field) + error.message[len(error.field) :]


def api_field(option: str) -> str:
    """The API's name of what a CLI option gives: the option's words joined by `_`, but a list
    (`groups`) and a vaccine's codes (`codes.cvx`)."""
    return _API_FIELDS.get(option) or option.removeprefix("--").replace("-", "_")


def _vaxres_error(request: Request, error: Exception) -> Response:
    assert isinstance(error, VaxresError)
    return of_error(error)


def _invalid_request(request: Request, error: Exception) -> Response:
    assert isinstance(error, RequestValidationError)
    errors = [
        {"where": ".".join(str(part) for part in e.get("loc", ())), "reason": str(e.get("msg", ""))}
        for e in error.errors()
    ]
    detail = "; ".join(f"{e['where']}: {e['reason']}" for e in errors[:3]) or "the request does not parse"
    return problem(422, "invalid_input", detail, errors=errors)


def _http_error(request: Request, error: Exception) -> Response:
    assert isinstance(error, HTTPException)
    if error.status_code == 400:  # a body that is not even text: as any request that does not parse
        return problem(422, "invalid_input", str(error.detail).lower().rstrip("."))
    code = {404: "not_found", 405: "method_not_allowed"}.get(error.status_code, "http_error")
    return problem(error.status_code, code, str(error.detail).lower().rstrip("."), headers=dict(error.headers or {}))


def _unexpected(request: Request, error: Exception) -> Response:
    log.exception("unexpected error answering %s %s", request.method, request.url.path)
    return problem(500, "internal_error", "an unexpected error happened; nothing the request asked for was half-done")


def install(app: FastAPI) -> None:
    app.add_exception_handler(VaxresError, _vaxres_error)
    app.add_exception_handler(RequestValidationError, _invalid_request)
    app.add_exception_handler(HTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected)


_SCHEMA = {
    "type": "object",
    "required": ["type", "title", "status", "code", "detail"],
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "code": {"type": "string", "description": "The CLI's error code (sold_out, not_found, ...)."},
        "detail": {"type": "string", "description": "What is wrong, as the CLI says it (a value by its API name)."},
        "errors": {"type": "array", "items": {"type": "object"}},
    },
}
_WHEN = {
    401: "No token, or a token unknown or revoked (WWW-Authenticate: Bearer).",
    403: "The token's role may not do this.",
    404: "Not found.",
    409: "Refused by a rule (sold out, already reserved, ...).",
    422: "Invalid input, or a request that does not parse.",
    429: "Too many codes asked for: try again after Retry-After seconds.",
    503: "Busy or unavailable: try again after Retry-After seconds.",
}


def responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """The OpenAPI `responses` of these problems."""
    return {status: described(_WHEN[status]) for status in statuses}


def described(when: str) -> dict[str, Any]:
    """The OpenAPI response of a problem answered `when`."""
    return {"description": when, "content": {MEDIA_TYPE: {"schema": _SCHEMA}}}
