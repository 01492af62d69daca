"""Booking and cancelling: the dose moves in the same transaction as the reservation.

A booking reads the slot with its vaccine and the person's series, applies the rules
(booking/rules.py), then takes the dose with one conditional statement: `remaining > 0` is
re-checked by the store itself, so two bookings can never take the last dose twice.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, String, bindparam, or_, select, update
from sqlalchemy.exc import IntegrityError

from vaxres import validate
from vaxres.booking import locks, overrides, rules, waitlist
from vaxres.booking.doses import RETURN_DOSE, book_taken, take_dose
from vaxres.booking.model import ReservationRecord, SlotRecord
from vaxres.booking.slots import find_slot_id
from vaxres.booking.vaccines import resolve_name
from vaxres.db.store import Store
from vaxres.db.tables import ReservationStatus, reservation_table, reservation_view, slot_table, utcnow
from vaxres.errors import InvalidInput
from vaxres.outbox import events

slot = slot_table.c
reservation = reservation_table.c
RESERVED, CANCELLED = ReservationStatus.RESERVED, ReservationStatus.CANCELLED

_CANCEL = (
    update(reservation_table)
    .where(reservation.id == bindparam("b_id"), reservation.status == RESERVED)
    .values(status=CANCELLED, cancelled_at=bindparam("b_now"))
    .returning(reservation.slot_id)
)
# The usual cancel in one statement: reserved, the owner's when a user is named, day not passed.
# When it hits no row, the booking is read to name the rule that refused it.
_CANCEL_IF_ALLOWED = (
    update(reservation_table)
    .where(
        reservation.id == bindparam("b_id"),
        reservation.status == RESERVED,
        or_(bindparam("b_user", type_=String) == None, reservation.user_id == bindparam("b_user")),  # noqa: E711
        reservation.slot_id.in_(select(slot.id).where(slot.date >= bindparam("b_today"))),
    )
    .values(status=CANCELLED, cancelled_at=bindparam("b_now"))
    .returning(reservation.user_id, reservation.dose, reservation.slot_id, reservation.reserved_at)
)
_RESERVATION_BY_ID = select(reservation_view).where(reservation_view.c.id == bindparam("b_id"))
_LATER_DOSES = (
    select(reservation_view)
    .where(
        reservation_view.c.user_id == bindparam("b_user"),
        reservation_view.c.dose > bindparam("b_dose"),
        reservation_view.c.status == RESERVED,
    )
    .order_by(reservation_view.c.dose)
)


@dataclass(frozen=True)
class Cancellation:
    reservation: ReservationRecord
    also_cancelled: list[ReservationRecord]  # the person's later doses of the series
    from_waitlist: list[ReservationRecord]  # the freed doses, booked for people waiting

    def as_json(self) -> dict[str, Any]:
        return {
            **self.reservation.as_json(),
            "also_cancelled": [b.as_json() for b in self.also_cancelled],
            "from_waitlist": [b.as_json() for b in self.from_waitlist],
        }


def reserve(
    store: Store,
    *,
    user: str,
    slot_id: str | int | None = None,
    date: str | dt.date | None = None,
    hospital: str | None = None,
    vaccine: str | None = None,
    dose: str | int = 1,
    override_eligibility: str | None = None,
) -> ReservationRecord:
    """Book one dose of a slot; `override_eligibility`: the reason to book past the windows."""
    user = validate.parse_user(user)
    dose = validate.parse_dose(dose)
    overriding = overrides.parse_override(override_eligibility)
    today = store.today()
    by_name = (date, hospital, vaccine)
    day: dt.date | None = None
    if slot_id is not None:
        if any(part is not None for part in by_name):
            raise InvalidInput("give either a slot id or a date, hospital and vaccine, not both")
        slot_id = validate.parse_id(slot_id, field="slot id")
    elif any(part is None for part in by_name):
        raise InvalidInput("give a slot id, or all three of date, hospital and vaccine")
    else:
        assert date is not None and hospital is not None and vaccine is not None  # all three given
        day = validate.parse_date(date)
        hospital = validate.normalize_name(hospital, field="hospital")
        vaccine = validate.normalize_name(vaccine, field="vaccine")
        if day < today:
            raise rules.SlotInPast.of_date(day)

    now = utcnow()
    try:
        with store.write() as conn:
            locks.lock_people(conn, [user])
            if slot_id is None:
                assert day is not None and hospital is not None and vaccine is not None  # all three were given
                slot_id = find_slot_id(conn, day, hospital, resolve_name(conn, vaccine).name)
                if slot_id is None:
                    raise rules.NoSlotNamed(day, hospital, vaccine)
            taken = take_dose(conn, slot_id, user, dose, today=today, now=now, windows=overriding is None)
            booking = book_taken(conn, taken, user, dose, now)
            waitlist.stop_waiting(conn, user, dose)
            events.write(
                conn, overrides.with_override([events.reservation_confirmed(booking)], booking, overriding), now
            )
    except IntegrityError:
        # The partial unique index caught a concurrent second booking (PostgreSQL, READ COMMITTED).
        raise rules.AlreadyReserved(user, dose, None) from None
    return booking


def load_reservation(conn: Connection, reservation_id: int, user: str | None) -> ReservationRecord:
    """A reservation about to change; `user`, when given, must be its owner."""
    row = conn.execute(_RESERVATION_BY_ID, {"b_id": reservation_id}).one_or_none()
    if row is None:
        raise rules.ReservationNotFound(reservation_id)
    booking = ReservationRecord.from_row(row)
    rules.check_owner(booking, user)
    return booking


def cancel(store: Store, reservation_id: str | int, *, user: str | None = None) -> Cancellation:
    """Cancel, returning exactly one dose to the slot, and with it the person's later doses."""
    reservation_id = validate.parse_id(reservation_id, field="reservation id")
    user = None if user is None else validate.parse_user(user)
    today = store.today()
    now = utcnow()
    with store.write() as conn:
        locks.lock_owner(conn, reservation_id)
        row = conn.execute(
            _CANCEL_IF_ALLOWED, {"b_id": reservation_id, "b_user": user, "b_today": today, "b_now": now}
        ).one_or_none()
        if row is None:
            booking = load_reservation(conn, reservation_id, user)
            rules.check_changeable(booking, today, "cancelled")
            raise rules.ChangedMeanwhile(reservation_id)
        first = _cancelled(conn, reservation_id, row.user_id, row.dose, row.slot_id, row.reserved_at, now)
        later = [
            _cancel_one(conn, ReservationRecord.from_row(row), now)
            for row in conn.execute(_LATER_DOSES, {"b_user": first.user, "b_dose": first.dose})
        ]
        events.write(conn, [events.reservation_cancelled(b) for b in (first, *later)], now)
        offered = waitlist.offer_freed(conn, [b.slot_id for b in (first, *later)], today=today, now=now)
    return Cancellation(first, later, offered)


def _cancel_one(conn: Connection, booking: ReservationRecord, now: dt.datetime) -> ReservationRecord:
    slot_id = conn.execute(_CANCEL, {"b_id": booking.id, "b_now": now}).scalar()
    if slot_id is None:
        # Another writer cancelled or recorded it since we read it (PostgreSQL).
        raise rules.ChangedMeanwhile(booking.id)
    # The dose goes back to the slot the booking holds now (a reschedule may have moved it since).
    return _cancelled(conn, booking.id, booking.user, booking.dose, slot_id, booking.reserved_at, now)


def _cancelled(
    conn: Connection,
    reservation_id: int,
    user: str,
    dose: int,
    slot_id: int,
    reserved_at: dt.datetime,
    now: dt.datetime,
) -> ReservationRecord:
    """Return the cancelled booking's dose to its slot; the booking as it is now."""
    returned = SlotRecord.from_row(conn.execute(RETURN_DOSE, {"b_slot": slot_id, "b_now": now}).one())
    return ReservationRecord.in_slot(
        returned,
        reservation_id=reservation_id,
        user=user,
        dose=dose,
        status=CANCELLED,
        reserved_at=reserved_at,
        cancelled_at=now,
    )
