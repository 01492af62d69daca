"""Booking and cancelling: the dose moves in the same transaction as the reservation.

The happy path is one conditional statement per table (the statements are built once, so
SQLAlchemy only binds parameters); only when a statement hits no row do we look at why, inside
the same transaction, to name the rule that refused it.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Connection, bindparam, insert, select, update
from sqlalchemy.exc import IntegrityError

from vaxres import validate
from vaxres.booking import rules
from vaxres.booking.model import SLOT_FIELDS, ReservationRecord, SlotRecord
from vaxres.booking.slots import find_slot_id
from vaxres.db.store import Store
from vaxres.db.tables import ReservationStatus, reservation_table, reservation_view, slot_table, utcnow
from vaxres.errors import InvalidInput, Refused
from vaxres.outbox import events

slot = slot_table.c
reservation = reservation_table.c
RESERVED, CANCELLED = ReservationStatus.RESERVED, ReservationStatus.CANCELLED

_TAKE_DOSE = (
    update(slot_table)
    .where(slot.id == bindparam("b_slot"), slot.remaining > 0, slot.date >= bindparam("b_today"))
    .values(remaining=slot.remaining - 1, updated_at=bindparam("b_now"))
    .returning(*SLOT_FIELDS)
)
_INSERT_RESERVATION = insert(reservation_table).returning(reservation.id)
_SLOT_BY_ID = select(*SLOT_FIELDS).where(slot.id == bindparam("b_slot"))
_HELD = select(reservation.id).where(
    reservation.user_id == bindparam("b_user"), reservation.dose == bindparam("b_dose"), reservation.status == RESERVED
)
_CANCEL = (
    update(reservation_table)
    .where(reservation.id == bindparam("b_id"), reservation.status == RESERVED)
    .values(status=CANCELLED, cancelled_at=bindparam("b_now"))
    .returning(reservation.id, reservation.user_id, reservation.dose, reservation.slot_id, reservation.reserved_at)
)
_RETURN_DOSE = (
    update(slot_table)
    .where(slot.id == bindparam("b_slot"))
    .values(remaining=slot.remaining + 1, updated_at=bindparam("b_now"))
    .returning(*SLOT_FIELDS)
)
_RESERVATION_BY_ID = select(reservation_view).where(reservation_view.c.id == bindparam("b_id"))


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
                    raise rules.NoSlotNamed(date, hospital, vaccine)
            held = conn.execute(_HELD, {"b_user": user, "b_dose": dose}).scalar()
            if held is not None:
                raise rules.AlreadyReserved(user, dose, held)
            row = conn.execute(_TAKE_DOSE, {"b_slot": slot_id, "b_today": validate.today(), "b_now": now}).one_or_none()
            if row is None:
                raise _why_not_bookable(conn, slot_id)
            taken = SlotRecord.from_row(row)
            reservation_id = conn.execute(
                _INSERT_RESERVATION,
                {"slot_id": taken.id, "user_id": user, "dose": dose, "status": RESERVED, "reserved_at": now},
            ).scalar_one()
            booking = ReservationRecord(
                id=reservation_id,
                user=user,
                dose=dose,
                status=RESERVED,
                slot_id=taken.id,
                date=taken.date,
                hospital=taken.hospital,
                vaccine=taken.vaccine,
                reserved_at=now,
                cancelled_at=None,
                slot_remaining=taken.remaining,
            )
            events.write(conn, [events.reservation_confirmed(booking)], now)
    except IntegrityError:
        # The partial unique index caught a concurrent second booking (PostgreSQL, READ COMMITTED).
        raise rules.AlreadyReserved(user, dose, None) from None
    return booking


def cancel(store: Store, reservation_id: str | int) -> ReservationRecord:
    """Cancel and return exactly one dose to the slot."""
    reservation_id = validate.parse_id(reservation_id, field="reservation id")
    now = utcnow()
    with store.write() as conn:
        row = conn.execute(_CANCEL, {"b_id": reservation_id, "b_now": now}).one_or_none()
        if row is None:
            raise _why_not_cancellable(conn, reservation_id)
        returned = SlotRecord.from_row(conn.execute(_RETURN_DOSE, {"b_slot": row.slot_id, "b_now": now}).one())
        result = ReservationRecord(
            id=row.id,
            user=row.user_id,
            dose=row.dose,
            status=CANCELLED,
            slot_id=returned.id,
            date=returned.date,
            hospital=returned.hospital,
            vaccine=returned.vaccine,
            reserved_at=row.reserved_at,
            cancelled_at=now,
            slot_remaining=returned.remaining,
        )
        events.write(conn, [events.reservation_cancelled(result)], now)
    return result


def _why_not_bookable(conn: Connection, slot_id: int) -> Exception:
    row = conn.execute(_SLOT_BY_ID, {"b_slot": slot_id}).one_or_none()
    if row is None:
        return rules.SlotNotFound(slot_id, to_book=True)
    found = SlotRecord.from_row(row)
    try:
        rules.check_bookable(found, found.remaining, validate.today())
    except Refused as refusal:
        return refusal
    return rules.SoldOut(found)  # the slot changed under us: it had no dose when we asked


def _why_not_cancellable(conn: Connection, reservation_id: int) -> Exception:
    row = conn.execute(_RESERVATION_BY_ID, {"b_id": reservation_id}).one_or_none()
    if row is None:
        return rules.ReservationNotFound(reservation_id)
    return rules.AlreadyCancelled(reservation_id, row.cancelled_at)
