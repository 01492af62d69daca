"""The read side: a person's page, one reservation's history, and the slots."""

from __future__ import annotations

import datetime as dt

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from vaxres import validate
from vaxres.booking import rules, series
from vaxres.booking.model import SLOT_FIELDS, NextDose, ReservationRecord, SlotRecord
from vaxres.booking.vaccines import load_catalog
from vaxres.db.store import Store
from vaxres.db.tables import outbox_table, reservation_view, slot_table
from vaxres.formats import iso_utc
from vaxres.outbox import events
from vaxres.outbox.model import OutboxRecord

slot = slot_table.c
view = reservation_view.c
outbox = outbox_table.c


@dataclass(frozen=True)
class MyPage:
    user: str
    reservations: list[ReservationRecord]  # newest first
    next_dose: NextDose | None

    def as_json(self) -> dict[str, Any]:
        return {
            "user": self.user,
            "reservations": [b.as_json() for b in self.reservations],
            "next_dose": None if self.next_dose is None else self.next_dose.as_json(),
        }


def my_page(store: Store, user: str) -> MyPage:
    """A person's reservations, newest first (one query), and the dose they may book next."""
    user = validate.parse_user(user)
    query = select(reservation_view).where(view.user_id == user).order_by(view.id.desc())
    with store.read() as conn:
        bookings = [ReservationRecord.from_row(row) for row in conn.execute(query)]
        held = series.held_doses(conn, user)
        vaccine = load_catalog(conn).find(held[max(held)].vaccine) if held else None
    return MyPage(user, bookings, series.next_dose(held, vaccine))


@dataclass(frozen=True)
class ReservationHistory:
    reservation: ReservationRecord
    history: list[OutboxRecord]  # its messages, oldest first

    def as_json(self) -> dict[str, Any]:
        return {
            **self.reservation.as_json(),
            "history": [
                {"at": iso_utc(m.created_at), "event": m.event, "message": m.payload.get("message"), "status": m.status}
                for m in self.history
            ],
        }


def show(store: Store, reservation_id: str | int) -> ReservationHistory:
    """One reservation with its whole history, read from its messages in the outbox."""
    reservation_id = validate.parse_id(reservation_id, field="reservation id")
    with store.read() as conn:
        row = conn.execute(select(reservation_view).where(view.id == reservation_id)).one_or_none()
        if row is None:
            raise rules.ReservationNotFound(reservation_id)
        messages = conn.execute(
            select(outbox_table)
            .where(outbox.correlation_id == reservation_id, outbox.event.in_(events.RESERVATION_EVENTS))
            .order_by(outbox.id)
        )
        return ReservationHistory(ReservationRecord.from_row(row), [OutboxRecord.from_row(m) for m in messages])


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
        query = query.where(slot.date == validate.parse_date(date))
    if hospital is not None:
        query = query.where(slot.hospital_key == validate.name_key(validate.normalize_name(hospital, field="hospital")))
    if available:
        query = query.where(slot.remaining > 0, slot.date >= store.today())
    query = query.order_by(slot.date, slot.hospital_key, slot.vaccine_key)
    with store.read() as conn:
        if vaccine is not None:
            # By name or alias; a name outside the catalog still finds slots that carry it.
            name = validate.normalize_name(vaccine, field="vaccine")
            found = load_catalog(conn).find(name)
            query = query.where(slot.vaccine_key == validate.name_key(found.name if found else name))
        return [SlotRecord.from_row(row) for row in conn.execute(query)]
