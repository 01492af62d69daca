"""/v1/people, /v1/waitlist and /v1/report: parse, the use case the CLI calls, its `as_json()`."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query
from pydantic import Field

from vaxres.api.bookings import Body
from vaxres.api.edge import Operator, Reader
from vaxres.api.problems import responses
from vaxres.api.render import json_response

router = APIRouter(prefix="/v1", responses=responses(401, 403, 404, 409, 422, 503))
PersonId = Annotated[str, Path(description="The person's id (what `user` takes).")]


class NewPerson(Body):
    id: str = Field(description="The person's id: what `user` takes.")
    name: str | None = None
    rrn: str | None = Field(None, description="YYMMDD-GNNNNNN: kept only as a keyed fingerprint, shown masked.")
    birth_date: str | None = Field(None, description="YYYY-MM-DD.")
    sex: str | None = Field(None, description="M or F, when no rrn gives it.")
    phone: str | None = Field(None, description="Stored in E.164 (+821012345678).")
    region: str = Field("KR", description="Country a phone number without + is read in.")
    email: str | None = None
    lang: str | None = Field(None, description="ko or en: the language of the person's messages.")
    guardian: str | None = Field(None, description="A registered adult who receives copies of messages.")
    groups: list[str] | None = None


class NewEntry(Body):
    user: str
    vaccine: str = Field(description="Vaccine, by name or alias.")
    hospital: str | None = Field(None, description="Only hospitals whose name contains this (any case).")
    date_from: str | None = Field(None, description="First day that suits (default: today).")
    date_to: str | None = Field(None, description="Last day that suits (default: any).")
    dose: int = Field(1, description="Dose number of the series, 1 to 10.")


@router.post("/people", status_code=201, summary="Register a person (as `person add`)")
def add_person(call: Operator, body: NewPerson) -> Any:
    from vaxres.people.registry import add_person

    given = body.model_dump(exclude={"id"})
    return call.run(201, body, lambda store: add_person(store, body.id, **given).as_json())


@router.get("/people/{person}", summary="What is registered of a person (as `person show`)")
def get_person(call: Reader, person: PersonId) -> Any:
    from vaxres.people.registry import get_person

    return json_response(get_person(call.store, person).as_json())


@router.get("/people/{person}/page", summary="A person's reservations, next dose and waiting (as `mypage`)")
def my_page(call: Reader, person: PersonId) -> Any:
    from vaxres.booking.queries import my_page

    return json_response(my_page(call.store, person).as_json())


@router.post("/waitlist", status_code=201, summary="Wait for a dose; one free now is booked at once")
def join(call: Operator, body: NewEntry) -> Any:
    from vaxres.booking.waitlist import join

    return call.run(201, body, lambda store: join(store, **body.model_dump()).as_json())


@router.get("/waitlist", summary="The people waiting, in join order (as `waitlist list`)")
def list_waiting(
    call: Reader,
    vaccine: Annotated[str | None, Query(description="Only this vaccine.")] = None,
    hospital: Annotated[str | None, Query(description="Only entries naming a hospital containing this.")] = None,
) -> Any:
    from vaxres.booking.waitlist import list_waiting

    return json_response([entry.as_json() for entry in list_waiting(call.store, vaccine=vaccine, hospital=hospital)])


@router.delete("/waitlist/{entry_id}", summary="Stop waiting (as `waitlist leave`)")
def leave(
    call: Operator,
    entry_id: Annotated[int, Path(description="The waitlist entry.")],
    user: Annotated[str | None, Query(description="Refused unless the entry is this person's.")] = None,
) -> Any:
    from vaxres.booking.waitlist import leave

    return call.run(200, None, lambda store: leave(store, entry_id, user=user).as_json())


@router.get("/report", summary="How full the slots are (as `report`)")
def report(
    call: Reader,
    by: Annotated[str, Query(description="day, hospital, vaccine, or window (uptake per eligibility window).")] = "day",
    date_from: Annotated[str | None, Query(alias="from", description="From this day on.")] = None,
    date_to: Annotated[str | None, Query(alias="to", description="Up to this day, included.")] = None,
    hospital: Annotated[str | None, Query(description="Hospitals whose name contains this.")] = None,
    vaccine: Annotated[str | None, Query(description="Vaccines whose name or an alias contains this.")] = None,
) -> Any:
    from vaxres.reports.uptake import report

    options = dict(by=by, date_from=date_from, date_to=date_to, hospital=hospital, vaccine=vaccine)
    return json_response(report(call.store, **options).as_json())
