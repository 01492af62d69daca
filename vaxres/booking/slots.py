"""Registering slots and changing their capacity."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import replace

from sqlalchemy import Connection, Select, insert, select, update
from sqlalchemy.exc import IntegrityError

from vaxres import validate
from vaxres.booking import rules, waitlist
from vaxres.booking.model import SLOT_FIELDS, SlotChange, SlotRecord
from vaxres.booking.vaccines import resolve_name
from vaxres.db.store import Store, insert_on_conflict
from vaxres.db.tables import hospital_table, slot_table, utcnow
from vaxres.outbox import events

slot = slot_table.c


def find_slot_id(conn: Connection, date: dt.date, hospital: str, vaccine: str) -> int | None:
    return conn.execute(
        select(slot.id).where(
            slot.date == date,
            slot.hospital_key == validate.name_key(hospital),
            slot.vaccine_key == validate.name_key(vaccine),
        )
    ).scalar()


def remember_hospitals(conn: Connection, names: Mapping[str, str] | Select) -> None:
    """Add the hospitals the hospital table lacks: {key: spelling}, or a SELECT of such pairs.
    Whatever adds slots calls it in its transaction, so `slot list --hospital` finds them."""
    statement = insert_on_conflict(conn, hospital_table)
    if isinstance(names, Select):
        conn.execute(
            statement.from_select(["name_key", "name"], names).on_conflict_do_nothing(index_elements=["name_key"])
        )
    elif names:
        rows = [{"name_key": key, "name": name} for key, name in names.items()]
        conn.execute(statement.on_conflict_do_nothing(index_elements=["name_key"]), rows)


def add_slot(store: Store, *, date: str | dt.date, hospital: str, vaccine: str, quantity: str | int) -> SlotRecord:
    day = validate.parse_date(date)
    hospital = validate.normalize_name(hospital, field="hospital")
    vaccine = validate.normalize_name(vaccine, field="vaccine")
    quantity = validate.parse_quantity(quantity)
    today = store.today()  # the store's first use: the input is checked by now
    day = validate.parse_date(day, not_before=today)
    now = utcnow()
    try:
        with store.write() as conn:
            vaccine = resolve_name(conn, vaccine).name
            existing = find_slot_id(conn, day, hospital, vaccine)
            if existing is not None:
                raise rules.DuplicateSlot(day, hospital, vaccine, existing)
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
                .returning(*SLOT_FIELDS)
            ).one()
            added = SlotRecord.from_row(row)
            remember_hospitals(conn, {validate.name_key(hospital): hospital})
            events.write(conn, [events.slot_registered(added)], now)
            added = _after_offers(added, waitlist.offer_freed(conn, [added.id], today=today, now=now))
    except IntegrityError:
        # Another writer registered the same slot between our check and insert (PostgreSQL).
        raise rules.DuplicateSlot(day, hospital, vaccine, None) from None
    return added


def update_slot(store: Store, slot_id: str | int, *, quantity: str | int) -> SlotChange:
    """Set the capacity; remaining moves by the difference, never below what is booked."""
    slot_id = validate.parse_id(slot_id, field="slot id")
    quantity = validate.parse_quantity(quantity)
    now = utcnow()
    with store.write() as conn:
        row = conn.execute(select(*SLOT_FIELDS).where(slot.id == slot_id)).one_or_none()
        if row is None:
            raise rules.SlotNotFound(slot_id)
        before = SlotRecord.from_row(row)
        today = store.today()
        if before.date < today:
            raise rules.SlotInPast.of_slot_update(before)
        if quantity == before.capacity:
            return SlotChange(before, before.capacity)
        rules.check_capacity(before.id, before.booked, quantity)
        row = conn.execute(
            update(slot_table)
            .where(slot.id == slot_id, slot.capacity - slot.remaining <= quantity)
            .values(capacity=quantity, remaining=slot.remaining + (quantity - slot.capacity), updated_at=now)
            .returning(*SLOT_FIELDS)
        ).one_or_none()
        if row is None:
            raise rules.CapacityBelowBooked(before.id, before.booked, quantity)
        after = SlotRecord.from_row(row)
        events.write(conn, [events.slot_updated(after, before.capacity)], now)
        if quantity > before.capacity:
            after = _after_offers(after, waitlist.offer_freed(conn, [after.id], today=today, now=now))
    return SlotChange(after, before.capacity)


def _after_offers(slot: SlotRecord, booked: list) -> SlotRecord:
    """The slot as it is once the doses it freed went to people waiting."""
    return replace(slot, remaining=booked[-1].slot_remaining) if booked else slot
