"""Every refusal of the booking rules, each built here once: its code, its exit code and its
sentence. The single commands raise them; the CSV import reports the same error for a row,
with the row's line number added.
"""

from __future__ import annotations

import datetime as dt

from vaxres.booking.model import SlotRecord
from vaxres.errors import NotFound, Refused


class DuplicateSlot(Refused):
    code = "duplicate_slot"

    def __init__(self, date: dt.date, hospital: str, vaccine: str, slot_id: int | None):
        which = f"slot {slot_id}" if slot_id else "a slot"
        update_hint = f"vaxres slot update {slot_id} --quantity N" if slot_id else "vaxres slot update"
        super().__init__(
            f"{which} already exists for {date.isoformat()}, {hospital}, {vaccine} "
            f"(names are compared ignoring case); change its quantity with `{update_hint}`"
        )


class CapacityBelowBooked(Refused):
    code = "capacity_below_booked"

    def __init__(self, slot_id: int, booked: int, quantity: int):
        super().__init__(
            f"slot {slot_id} has {booked} doses booked, so its quantity cannot drop to {quantity}; "
            f"give at least {booked}, or cancel reservations first"
        )


class SoldOut(Refused):
    code = "sold_out"

    def __init__(self, slot: SlotRecord):
        super().__init__(
            f"slot {slot.id} ({slot.describe()}) is sold out; "
            f"see `vaxres slot list --available` for slots with doses left"
        )


class SlotInPast(Refused):
    code = "slot_in_past"

    def __init__(self, slot: SlotRecord):
        super().__init__(f"slot {slot.id} ({slot.describe()}) is in the past; choose a slot from today on")


class AlreadyReserved(Refused):
    code = "already_reserved"

    def __init__(self, user: str, dose: int, held: int | None):
        """`held` is the reservation number, when it has one yet."""
        if held is None:
            message = f"{user} already holds an active reservation for dose {dose}; see `vaxres mypage {user}`"
        else:
            message = (
                f"{user} already holds reservation {held} for dose {dose}; "
                f"cancel it first with `vaxres cancel {held}` to book another"
            )
        super().__init__(message)


class AlreadyCancelled(Refused):
    code = "already_cancelled"

    def __init__(self, reservation_id: int, cancelled_at: dt.datetime | None):
        when = cancelled_at.strftime("%Y-%m-%d %H:%M UTC") if cancelled_at else "earlier"
        super().__init__(f"reservation {reservation_id} was already cancelled ({when}); nothing to do")


class SlotNotFound(NotFound):
    code = "slot_not_found"

    def __init__(self, slot_id: int, *, to_book: bool = False):
        hint = "`vaxres slot list --available` for open slots" if to_book else "`vaxres slot list` for the slots that exist"
        super().__init__(f"There is no slot {slot_id}; see {hint}")


class NoSlotNamed(SlotNotFound):
    def __init__(self, date: dt.date, hospital: str, vaccine: str):
        NotFound.__init__(
            self,
            f"There is no slot for {date.isoformat()}, {hospital}, {vaccine}; "
            f"see `vaxres slot list --date {date.isoformat()}`",
        )


class ReservationNotFound(NotFound):
    code = "reservation_not_found"

    def __init__(self, reservation_id: int):
        super().__init__(
            f"There is no reservation {reservation_id}; see `vaxres mypage USER` for a person's reservations"
        )


def check_capacity(slot_id: int, booked: int, quantity: int) -> None:
    """A slot's capacity never drops below the doses booked from it."""
    if quantity < booked:
        raise CapacityBelowBooked(slot_id, booked, quantity)


def check_bookable(slot: SlotRecord, remaining: int, today: dt.date) -> None:
    """A dose is booked from a slot of today or later that has one left."""
    if slot.date < today:
        raise SlotInPast(slot)
    if remaining <= 0:
        raise SoldOut(slot)
