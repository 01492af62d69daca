"""/v1/slots and /v1/reservations: each route parses, calls the use case the CLI calls, renders
its `as_json()` (booking/)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel, ConfigDict, Field

from vaxres.api.edge import Admin, Operator, Reader
from vaxres.api.problems import responses
from vaxres.api.render import json_response

router = APIRouter(prefix="/v1", responses=responses(401, 403, 404, 409, 422, 503))
Id = Annotated[int, Path(description="The number vaxres gave it.")]


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class NewSlot(Body):
    date: str = Field(description="YYYY-MM-DD, today or later.")
    hospital: str
    vaccine: str = Field(description="A catalog name or alias.")
    quantity: int = Field(description="Doses, 1 to 1,000,000.")


class SlotQuantity(Body):
    quantity: int = Field(description="The new capacity; not below the doses booked.")


class NewReservation(Body):
    user: str = Field(description="The person's id.")
    slot_id: int | None = Field(None, description="The slot; or give date, hospital and vaccine.")
    date: str | None = None
    hospital: str | None = None
    vaccine: str | None = None
    dose: int = Field(1, description="Which dose of the series, 1 to 10.")
    override_eligibility: str | None = Field(None, description="The reason to book past the eligibility windows.")


class Owner(Body):
    user: str | None = Field(None, description="Refused (not_owner) unless the booking is this person's.")


class Move(Owner):
    slot_id: int | None = None
    date: str | None = Field(None, description="Day of the new slot (instead of slot_id).")
    hospital: str | None = Field(None, description="Hospital of the new slot (default: the same).")
    vaccine: str | None = Field(None, description="Vaccine of the new slot (default: the same).")
    override_eligibility: str | None = None


class Administered(Body):
    lot: str | None = Field(None, description="The vaccine lot (batch) number.")


class StatusChange(Owner):
    status: Literal["cancelled", "administered"]
    lot: str | None = Field(None, description="With administered: the lot number.")


@router.get("/slots", summary="List slots (as `slot list`), a page at a time")
def list_slots(
    call: Reader,
    date: Annotated[str | None, Query(description="Only this day, YYYY-MM-DD.")] = None,
    date_from: Annotated[str | None, Query(alias="from", description="From this day on.")] = None,
    date_to: Annotated[str | None, Query(alias="to", description="Up to this day, included.")] = None,
    hospital: Annotated[str | None, Query(description="Hospitals whose name contains this (any case).")] = None,
    vaccine: Annotated[str | None, Query(description="Vaccines whose name or an alias contains this.")] = None,
    available: Annotated[bool, Query(description="Only slots of today or later with doses left.")] = False,
    after: Annotated[int | None, Query(description="Start after this slot (next_after of the last page).")] = None,
    limit: Annotated[int, Query(description="At most this many, 1 to 10,000.")] = 50,
) -> Any:
    from vaxres.booking.queries import slot_page

    filters = dict(date=date, date_from=date_from, date_to=date_to, hospital=hospital, vaccine=vaccine)
    page = slot_page(call.store, limit=limit, available=available, after=after, **filters)
    return json_response(
        {"slots": [slot.as_json() for slot in page.rows], "total": page.total, "next_after": page.next_after}
    )


@router.post("/slots", status_code=201, summary="Register a slot (as `slot add`)")
def add_slot(call: Admin, body: NewSlot) -> Any:
    from vaxres.booking.slots import add_slot

    return call.run(201, body, lambda store: add_slot(store, **body.model_dump()).as_json())


@router.patch("/slots/{slot_id}", summary="Set a slot's capacity (as `slot update`)")
def update_slot(call: Admin, slot_id: Id, body: SlotQuantity) -> Any:
    from vaxres.booking.slots import update_slot

    return call.run(200, body, lambda store: update_slot(store, slot_id, quantity=body.quantity).slot.as_json())


@router.post("/reservations", status_code=201, summary="Book a dose (as `reserve`)")
def reserve(call: Operator, body: NewReservation) -> Any:
    from vaxres.booking.reservations import reserve

    return call.run(201, body, lambda store: reserve(store, **body.model_dump()).as_json())


@router.get("/reservations/{reservation_id}", summary="A reservation with its history (as `show`)")
def show(call: Reader, reservation_id: Id) -> Any:
    from vaxres.booking.queries import show

    return json_response(show(call.store, reservation_id).as_json())


@router.post("/reservations/{reservation_id}/cancel", summary="Cancel, with the later doses (as `cancel`)")
def cancel(call: Operator, reservation_id: Id, body: Owner | None = None) -> Any:
    from vaxres.booking.reservations import cancel

    user = None if body is None else body.user
    return call.run(200, body, lambda store: cancel(store, reservation_id, user=user).as_json())


@router.patch("/reservations/{reservation_id}", summary="Cancel or record as given, by the status it takes")
def change_status(call: Operator, reservation_id: Id, body: StatusChange) -> Any:
    if body.status == "cancelled":
        from vaxres.booking.reservations import cancel

        return call.run(200, body, lambda store: cancel(store, reservation_id, user=body.user).as_json())
    from vaxres.booking.lifecycle import administer

    return call.run(200, body, lambda store: administer(store, reservation_id, lot=body.lot).as_json())


@router.post("/reservations/{reservation_id}/reschedule", summary="Move to another slot (as `reschedule`)")
def reschedule(call: Operator, reservation_id: Id, body: Move) -> Any:
    from vaxres.booking.reschedule import reschedule

    return call.run(200, body, lambda store: reschedule(store, reservation_id, **body.model_dump()).as_json())


@router.post("/reservations/{reservation_id}/administer", summary="Record the dose as given (as `administer`)")
def administer(call: Operator, reservation_id: Id, body: Administered | None = None) -> Any:
    from vaxres.booking.lifecycle import administer

    lot = None if body is None else body.lot
    return call.run(200, body, lambda store: administer(store, reservation_id, lot=lot).as_json())
