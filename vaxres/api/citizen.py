"""/v1/citizen: people booking for themselves (issue 23). Log in by a one-time code sent through
the outbox, then `Authorization: Bearer SESSION` (the token /v1/citizen/verify answers) for the
person's own bookings and their minor wards'. Each route parses, calls one use case of
vaxres/citizens/, renders its `as_json()`; anyone else's booking answers 404, never 403."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import Response
from pydantic import Field

from vaxres.api.bookings import Body
from vaxres.api.edge import Call, Credentials, IdempotencyKey, keyed
from vaxres.api.problems import responses
from vaxres.api.render import json_response
from vaxres.citizens.sessions import Citizen

router = APIRouter(prefix="/v1/citizen", tags=["citizen"], responses=responses(401, 404, 409, 422, 503))
LOGIN_ANSWER = {
    "status": "accepted",
    "detail": "if the person is registered with this birth date and a phone or e-mail, a code is on its way; "
    "it is valid 5 minutes",
}
Id = Annotated[int, Path(description="The number vaxres gave it.")]
For = Annotated[str | None, Query(alias="for", description="A minor you are guardian of (default: yourself).")]


class Login(Body):
    person: str = Field(description="Your id in the registry.")
    birth_date: str = Field(description="YYYY-MM-DD, as registered.")


class Verify(Body):
    person: str
    code: str = Field(description="The 6 digits of the message.")


class NewBooking(Body):
    slot_id: int
    user: str | None = Field(None, description="A minor you are guardian of (default: yourself).")
    dose: int | None = Field(None, description="Default: the dose you book next.")


class Move(Body):
    slot_id: int


class Wait(Body):
    vaccine: str
    user: str | None = None
    hospital: str | None = None
    date_from: str | None = None
    date_to: str | None = None
    dose: int = 1


@dataclass
class CitizenCall(Call):
    citizen: Citizen | None = None

    @property
    def who(self) -> Citizen:
        assert self.citizen is not None
        return self.citizen


def citizen_without_key(request: Request, credentials: Credentials) -> CitizenCall:
    """A citizen's call that offers no Idempotency-Key: a GET changes nothing, and a logout sent
    again finds no session, so neither has an answer to replay."""
    from vaxres.citizens.rules import SessionRefused
    from vaxres.citizens.sessions import find_session

    if credentials is None or credentials.scheme.lower() != "bearer":
        raise SessionRefused()
    found = find_session(request.app.state.store, credentials.credentials)
    return CitizenCall(found.actor, request.app.state.store, request, citizen=found)


def citizen(request: Request, credentials: Credentials, key: IdempotencyKey = None) -> CitizenCall:
    call = citizen_without_key(request, credentials)
    keyed(call, key)
    return call


Session = Annotated[CitizenCall, Depends(citizen)]
SessionWithoutKey = Annotated[CitizenCall, Depends(citizen_without_key)]


@router.post(
    "/login",
    status_code=202,
    summary="Ask for a one-time code (always 202)",
    description="No Idempotency-Key: the answer is always this 202, and each call asks for a code, "
    "counted by the limit of 3 per person id in 15 minutes.",
    responses=responses(422, 429, 503),
)
def login(request: Request, body: Login) -> Any:
    from vaxres.citizens.codes import ask_code

    ask_code(request.app.state.store, body.person, body.birth_date)
    return json_response(LOGIN_ANSWER, 202)


@router.post(
    "/verify",
    summary="Trade the code for a session token (1 hour)",
    description="No Idempotency-Key: a replay would have to keep the session token, which the store keeps "
    "only hashed. Sent again, the spent code is refused 401 `code_refused`: log in again.",
    responses=responses(401, 422, 503),
)
def verify(request: Request, body: Verify) -> Any:
    from vaxres.citizens.codes import verify_code

    return json_response(verify_code(request.app.state.store, body.person, body.code).as_json())


@router.post(
    "/logout",
    status_code=204,
    summary="End the session",
    description="No Idempotency-Key: sent again, the ended session is refused 401 `session_refused`.",
)
def logout(call: SessionWithoutKey, credentials: Credentials) -> Response:
    from vaxres.citizens.sessions import end_session

    assert credentials is not None  # the session was found by it
    end_session(call.store, credentials.credentials)
    return Response(status_code=204)


@router.get("/me", summary="Your page and your wards' (reservations, next dose, waiting)")
def me(call: SessionWithoutKey) -> Any:
    from vaxres.citizens.acting import pages

    return json_response(
        {
            "person": call.who.person,
            "wards": list(call.who.wards),
            "pages": [p.as_json() for p in pages(call.store, call.who)],
        }
    )


@router.get("/slots", summary="Slots with a dose left, and whether each is open to you now")
def slots(call: SessionWithoutKey, user: For = None) -> Any:
    from vaxres.citizens.acting import offers

    return json_response(offers(call.store, call.who, user).as_json())


@router.post("/reservations", status_code=201, summary="Book a slot for yourself or a ward")
def book(call: Session, body: NewBooking) -> Any:
    from vaxres.citizens.acting import book

    return call.run(201, body, lambda store: book(store, call.who, **body.model_dump()).as_json())


@router.get("/reservations/{reservation_id}", summary="One of your reservations")
def show(call: SessionWithoutKey, reservation_id: Id) -> Any:
    from vaxres.citizens.acting import reservation

    return json_response(reservation(call.store, call.who, reservation_id).as_json())


@router.post("/reservations/{reservation_id}/cancel", summary="Cancel one of your reservations")
def cancel(call: Session, reservation_id: Id) -> Any:
    from vaxres.citizens.acting import cancel

    return call.run(200, None, lambda store: cancel(store, call.who, reservation_id).as_json())


@router.post("/reservations/{reservation_id}/reschedule", summary="Move one of your reservations")
def reschedule(call: Session, reservation_id: Id, body: Move) -> Any:
    from vaxres.citizens.acting import reschedule

    return call.run(
        200, body, lambda store: reschedule(store, call.who, reservation_id, slot_id=body.slot_id).as_json()
    )


@router.post("/waitlist", status_code=201, summary="Wait for a dose; one free now is booked at once")
def join(call: Session, body: Wait) -> Any:
    from vaxres.citizens.acting import join_waitlist

    return call.run(201, body, lambda store: join_waitlist(store, call.who, **body.model_dump()).as_json())


@router.delete("/waitlist/{entry_id}", summary="Stop waiting")
def leave(call: Session, entry_id: Id) -> Any:
    from vaxres.citizens.acting import leave_waitlist

    return call.run(200, None, lambda store: leave_waitlist(store, call.who, entry_id).as_json())
