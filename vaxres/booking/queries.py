"""The read side: a person's reservations and the slots, each answered in one statement."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from vaxres import validate
from vaxres.booking.model import SLOT_FIELDS, ReservationRecord, SlotRecord
from vaxres.db.store import Store
from vaxres.db.tables import reservation_view, slot_table

slot = slot_table.c


def my_page(store: Store, user: str) -> list[ReservationRecord]:
    """A person's reservations, newest first, in one query."""
    user = validate.parse_user(user)
    query = (
        select(reservation_view)
        .where(reservation_view.c.user_id == user)
        .order_by(reservation_view.c.id.desc())
    )
    with store.read() as conn:
        return [ReservationRecord.from_row(row) for row in conn.execute(query)]


def list_slots(
    store: Store,
    *,
    date: str | dt.date | None = None,
    hospital: str | None = None,
    vaccine: str | None = None,
    available: bool = False,
) -> list[SlotRecord]:
    query = select(*SLOT_FIELDS)
    if date is not None:
        query = query.where(slot.date == validate.parse_date(date, allow_past=True))
    if hospital is not None:
        query = query.where(slot.hospital_key == validate.name_key(validate.normalize_name(hospital, field="hospital")))
    if vaccine is not None:
        query = query.where(slot.vaccine_key == validate.name_key(validate.normalize_name(vaccine, field="vaccine")))
    if available:
        query = query.where(slot.remaining > 0)
    query = query.order_by(slot.date, slot.hospital_key, slot.vaccine_key)
    with store.read() as conn:
        return [SlotRecord.from_row(row) for row in conn.execute(query)]
