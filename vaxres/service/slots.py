"""Registering slots and changing their capacity."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Connection, insert, select, update
from sqlalchemy.exc import IntegrityError

from vaxres import validate
from vaxres.errors import CapacityBelowBooked, DuplicateSlot, SlotNotFound
from vaxres.models import slot_table, utcnow
from vaxres.read import SLOT_COLUMNS, slot_from_row
from vaxres.records import SlotChange, SlotRecord
from vaxres.service import outbox
from vaxres.store import Store

def describe(slot: SlotRecord) -> str:
    return f"{slot.date.isoformat()}, {slot.hospital}, {slot.vaccine}"


def find_slot_id(conn: Connection, date: dt.date, hospital: str, vaccine: str) -> int | None:
    return conn.execute(
        select(slot_table.c.id).where(
            slot_table.c.date == date,
            slot_table.c.hospital_key == validate.name_key(hospital),
            slot_table.c.vaccine_key == validate.name_key(vaccine),
        )
    ).scalar()


def _duplicate(date: dt.date, hospital: str, vaccine: str, slot_id: int | None) -> DuplicateSlot:
    which = f"slot {slot_id}" if slot_id else "a slot"
    update_hint = f"vaxres slot update {slot_id} --quantity N" if slot_id else "vaxres slot update"
    return DuplicateSlot(
        f"{which} already exists for {date.isoformat()}, {hospital}, {vaccine} "
        f"(names are compared ignoring case); change its quantity with `{update_hint}`"
    )


def add_slot(store: Store, *, date: str | dt.date, hospital: str, vaccine: str, quantity: str | int) -> SlotRecord:
    day = validate.parse_date(date)
    hospital = validate.normalize_name(hospital, field="hospital")
    vaccine = validate.normalize_name(vaccine, field="vaccine")
    quantity = validate.parse_quantity(quantity)
    now = utcnow()
    try:
        with store.write() as conn:
            existing = find_slot_id(conn, day, hospital, vaccine)
            if existing is not None:
                raise _duplicate(day, hospital, vaccine, existing)
            row = conn.execute(
                insert(slot_table)
                .values(
                    date=day,
                    hospital=hospital,
                    vaccine=vaccine,
                    hospital_key=validate.name_key(hospital),
                    vaccine_key=validate.name_key(vaccine),
                    capacity=quantity,
                    remaining=quantity,
                    created_at=now,
                    updated_at=now,
                )
                .returning(*SLOT_COLUMNS)
            ).one()
            slot = slot_from_row(row)
            outbox.record(
                conn,
                event=outbox.SLOT_REGISTERED,
                recipient=outbox.BROADCAST,
                correlation_id=slot.id,
                payload=outbox.slot_registered_payload(
                    slot.id, slot.date, slot.hospital, slot.vaccine, slot.capacity
                ),
                now=now,
            )
    except IntegrityError:
        # Another writer registered the same slot between our check and insert (PostgreSQL).
        raise _duplicate(day, hospital, vaccine, None) from None
    return slot


def update_slot(store: Store, slot_id: str | int, *, quantity: str | int) -> SlotChange:
    """Set the capacity; remaining moves by the difference, never below what is booked."""
    slot_id = validate.parse_id(slot_id, field="slot id")
    quantity = validate.parse_quantity(quantity)
    now = utcnow()
    with store.write() as conn:
        row = conn.execute(select(*SLOT_COLUMNS).where(slot_table.c.id == slot_id)).one_or_none()
        if row is None:
            raise SlotNotFound(f"There is no slot {slot_id}; see `vaxres slot list` for the slots that exist")
        before = slot_from_row(row)
        if quantity == before.capacity:
            return SlotChange(before, before.capacity)
        if quantity < before.booked:
            raise _below_booked(before, quantity)
        row = conn.execute(
            update(slot_table)
            .where(slot_table.c.id == slot_id, slot_table.c.capacity - slot_table.c.remaining <= quantity)
            .values(
                capacity=quantity,
                remaining=slot_table.c.remaining + (quantity - slot_table.c.capacity),
                updated_at=now,
            )
            .returning(*SLOT_COLUMNS)
        ).one_or_none()
        if row is None:
            raise _below_booked(before, quantity)
        after = slot_from_row(row)
        outbox.record(
            conn,
            event=outbox.SLOT_UPDATED,
            recipient=outbox.BROADCAST,
            correlation_id=after.id,
            payload=outbox.slot_updated_payload(
                after.id, after.date, after.hospital, after.vaccine, after.capacity, before.capacity
            ),
            now=now,
        )
    return SlotChange(after, before.capacity)


def _below_booked(slot: SlotRecord, quantity: int) -> CapacityBelowBooked:
    return CapacityBelowBooked(
        f"slot {slot.id} has {slot.booked} doses booked, so its quantity cannot drop to {quantity}; "
        f"give at least {slot.booked}, or cancel reservations first"
    )
