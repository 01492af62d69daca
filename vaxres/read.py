"""The read side: the reservation view and queries that answer in one statement."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Column, Date, Integer, MetaData, Row, String, Table, exists, select

from sqlmodel.sql.sqltypes import UTCDateTime

from vaxres import validate
from vaxres.errors import InvalidInput
from vaxres.messages import with_message
from vaxres.models import OUTBOX_STATUSES, outbox_table, reservation_table, slot_table
from vaxres.records import OutboxRecord, ReservationRecord, SlotRecord
from vaxres.store import Store

SLOT_COLUMNS = (
    slot_table.c.id,
    slot_table.c.date,
    slot_table.c.hospital,
    slot_table.c.vaccine,
    slot_table.c.capacity,
    slot_table.c.remaining,
)


def slot_from_row(row: Row) -> SlotRecord:
    return SlotRecord(
        id=row.id,
        date=row.date,
        hospital=row.hospital,
        vaccine=row.vaccine,
        capacity=row.capacity,
        remaining=row.remaining,
    )


# The view is created by migration 0002; it lives on its own metadata so that autogenerate and
# create_all never mistake it for a table.
reservation_view = Table(
    "reservation_view",
    MetaData(),
    Column("id", Integer, primary_key=True),
    Column("user_id", String),
    Column("dose", Integer),
    Column("status", String),
    Column("slot_id", Integer),
    Column("date", Date),
    Column("hospital", String),
    Column("vaccine", String),
    Column("reserved_at", UTCDateTime),
    Column("cancelled_at", UTCDateTime),
)


def reservation_from_row(row: Row) -> ReservationRecord:
    return ReservationRecord(
        id=row.id,
        user=row.user_id,
        dose=row.dose,
        status=row.status,
        slot_id=row.slot_id,
        date=row.date,
        hospital=row.hospital,
        vaccine=row.vaccine,
        reserved_at=row.reserved_at,
        cancelled_at=row.cancelled_at,
    )


def my_page(store: Store, user: str) -> list[ReservationRecord]:
    """A person's reservations, newest first, in one query."""
    user = validate.parse_user(user)
    query = (
        select(reservation_view)
        .where(reservation_view.c.user_id == user)
        .order_by(reservation_view.c.id.desc())
    )
    with store.read() as conn:
        return [reservation_from_row(row) for row in conn.execute(query)]


def list_slots(
    store: Store,
    *,
    date: str | dt.date | None = None,
    hospital: str | None = None,
    vaccine: str | None = None,
    available: bool = False,
) -> list[SlotRecord]:
    query = select(*SLOT_COLUMNS)
    if date is not None:
        query = query.where(slot_table.c.date == validate.parse_date(date, allow_past=True))
    if hospital is not None:
        key = validate.name_key(validate.normalize_name(hospital, field="hospital"))
        query = query.where(slot_table.c.hospital_key == key)
    if vaccine is not None:
        key = validate.name_key(validate.normalize_name(vaccine, field="vaccine"))
        query = query.where(slot_table.c.vaccine_key == key)
    if available:
        query = query.where(slot_table.c.remaining > 0)
    query = query.order_by(slot_table.c.date, slot_table.c.hospital_key, slot_table.c.vaccine_key)
    with store.read() as conn:
        return [slot_from_row(row) for row in conn.execute(query)]


def list_outbox(store: Store, *, status: str | None = None) -> list[OutboxRecord]:
    query = select(outbox_table).order_by(outbox_table.c.id)
    if status is not None:
        status = status.strip().lower()
        if status not in OUTBOX_STATUSES:
            raise InvalidInput(f"status must be one of {', '.join(OUTBOX_STATUSES)}, got {status!r}")
        query = query.where(outbox_table.c.status == status)
    with store.read() as conn:
        return [
            OutboxRecord(
                id=row.id,
                event=row.event,
                recipient=row.recipient,
                correlation_id=row.correlation_id,
                status=row.status,
                attempts=row.attempts,
                created_at=row.created_at,
                payload=with_message(row.event, row.payload),
                next_attempt_at=row.next_attempt_at,
                last_error=row.last_error,
                delivered_at=row.delivered_at,
            )
            for row in conn.execute(query)
        ]


def holds_data(store: Store) -> bool:
    with store.read() as conn:
        return any(
            conn.execute(select(exists().select_from(table))).scalar()
            for table in (slot_table, reservation_table, outbox_table)
        )
