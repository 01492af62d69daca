"""Booking and cancelling: the dose moves in the same transaction as the reservation."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

from sqlalchemy import Connection, insert, select, update
from sqlalchemy.exc import IntegrityError

from vaxres import validate
from vaxres.errors import (
    AlreadyCancelled,
    AlreadyReserved,
    InvalidInput,
    ReservationNotFound,
    SlotInPast,
    SlotNotFound,
    SoldOut,
)
from vaxres.models import ACTIVE, CANCELLED, reservation_table, slot_table, utcnow
from vaxres.read import SLOT_COLUMNS, reservation_from_row, reservation_view, slot_from_row
from vaxres.records import ReservationRecord, SlotRecord
from vaxres.service import outbox
from vaxres.service.slots import describe, find_slot_id
from vaxres.store import Store


def reserve(
    store: Store,
    *,
    user: str,
    slot_id: str | int | None = None,
    date: str | dt.date | None = None,
    hospital: str | None = None,
    vaccine: str | None = None,
    dose: str | int = 1,
) -> ReservationRecord:
    user = validate.parse_user(user)
    dose = validate.parse_dose(dose)
    by_name = (date, hospital, vaccine)
    if slot_id is not None:
        if any(part is not None for part in by_name):
            raise InvalidInput("give either a slot id or a date, hospital and vaccine, not both")
        slot_id = validate.parse_id(slot_id, field="slot id")
    elif any(part is None for part in by_name):
        raise InvalidInput("give a slot id, or all three of date, hospital and vaccine")
    else:
        date = validate.parse_date(date)
        hospital = validate.normalize_name(hospital, field="hospital")
        vaccine = validate.normalize_name(vaccine, field="vaccine")

    now = utcnow()
    try:
        with store.write() as conn:
            if slot_id is None:
                slot_id = find_slot_id(conn, date, hospital, vaccine)
                if slot_id is None:
                    raise SlotNotFound(
                        f"There is no slot for {date.isoformat()}, {hospital}, {vaccine}; "
                        f"see `vaxres slot list --date {date.isoformat()}`"
                    )
            slot = _slot(conn, slot_id)
            _check_bookable(conn, slot, user, dose)
            remaining = conn.execute(
                update(slot_table)
                .where(slot_table.c.id == slot.id, slot_table.c.remaining > 0)
                .values(remaining=slot_table.c.remaining - 1, updated_at=now)
                .returning(slot_table.c.remaining)
            ).scalar()
            if remaining is None:
                raise _sold_out(slot)
            reservation_id = conn.execute(
                insert(reservation_table)
                .values(slot_id=slot.id, user_id=user, dose=dose, status=ACTIVE, reserved_at=now)
                .returning(reservation_table.c.id)
            ).scalar_one()
            booking = ReservationRecord(
                id=reservation_id,
                user=user,
                dose=dose,
                status=ACTIVE,
                slot_id=slot.id,
                date=slot.date,
                hospital=slot.hospital,
                vaccine=slot.vaccine,
                reserved_at=now,
                cancelled_at=None,
                slot_remaining=remaining,
            )
            outbox.record(
                conn,
                event=outbox.RESERVATION_CONFIRMED,
                recipient=user,
                correlation_id=reservation_id,
                payload=_payload(
                    booking,
                    f"Your reservation {reservation_id} is confirmed: {booking.vaccine} (dose {dose}) "
                    f"at {booking.hospital} on {booking.date.isoformat()}.",
                ),
                now=now,
            )
    except IntegrityError:
        # The partial unique index caught a concurrent second booking (PostgreSQL, READ COMMITTED).
        raise AlreadyReserved(
            f"{user} already holds an active reservation for dose {dose}; see `vaxres mypage {user}`"
        ) from None
    return booking


def cancel(store: Store, reservation_id: str | int) -> ReservationRecord:
    """Cancel and return exactly one dose to the slot."""
    reservation_id = validate.parse_id(reservation_id, field="reservation id")
    now = utcnow()
    with store.write() as conn:
        row = conn.execute(
            select(reservation_view).where(reservation_view.c.id == reservation_id)
        ).one_or_none()
        if row is None:
            raise ReservationNotFound(
                f"There is no reservation {reservation_id}; see `vaxres mypage USER` for a person's reservations"
            )
        booking = reservation_from_row(row)
        cancelled = conn.execute(
            update(reservation_table)
            .where(reservation_table.c.id == reservation_id, reservation_table.c.status == ACTIVE)
            .values(status=CANCELLED, cancelled_at=now)
            .returning(reservation_table.c.id)
        ).scalar()
        if cancelled is None:
            when = booking.cancelled_at.strftime("%Y-%m-%d %H:%M UTC") if booking.cancelled_at else "earlier"
            raise AlreadyCancelled(f"reservation {reservation_id} was already cancelled ({when}); nothing to do")
        remaining = conn.execute(
            update(slot_table)
            .where(slot_table.c.id == booking.slot_id)
            .values(remaining=slot_table.c.remaining + 1, updated_at=now)
            .returning(slot_table.c.remaining)
        ).scalar_one()
        result = replace(booking, status=CANCELLED, cancelled_at=now, slot_remaining=remaining)
        outbox.record(
            conn,
            event=outbox.RESERVATION_CANCELLED,
            recipient=result.user,
            correlation_id=result.id,
            payload=_payload(
                result,
                f"Your reservation {result.id} is cancelled: {result.vaccine} (dose {result.dose}) "
                f"at {result.hospital} on {result.date.isoformat()}.",
            ),
            now=now,
        )
    return result


def _slot(conn: Connection, slot_id: int) -> SlotRecord:
    row = conn.execute(select(*SLOT_COLUMNS).where(slot_table.c.id == slot_id)).one_or_none()
    if row is None:
        raise SlotNotFound(f"There is no slot {slot_id}; see `vaxres slot list --available` for open slots")
    return slot_from_row(row)


def _check_bookable(conn: Connection, slot: SlotRecord, user: str, dose: int) -> None:
    if slot.date < validate.today():
        raise SlotInPast(f"slot {slot.id} ({describe(slot)}) is in the past; choose a slot from today on")
    held = conn.execute(
        select(reservation_table.c.id).where(
            reservation_table.c.user_id == user,
            reservation_table.c.dose == dose,
            reservation_table.c.status == ACTIVE,
        )
    ).scalar()
    if held is not None:
        raise AlreadyReserved(
            f"{user} already holds reservation {held} for dose {dose}; "
            f"cancel it first with `vaxres cancel {held}` to book another"
        )
    if slot.remaining <= 0:
        raise _sold_out(slot)


def _sold_out(slot: SlotRecord) -> SoldOut:
    return SoldOut(
        f"slot {slot.id} ({describe(slot)}) is sold out; "
        f"see `vaxres slot list --available` for slots with doses left"
    )


def _payload(booking: ReservationRecord, message: str) -> dict:
    return {
        "reservation_id": booking.id,
        "user": booking.user,
        "dose": booking.dose,
        "slot_id": booking.slot_id,
        "date": booking.date.isoformat(),
        "hospital": booking.hospital,
        "vaccine": booking.vaccine,
        "message": message,
    }
