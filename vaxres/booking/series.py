"""A person's vaccination series as the store holds it: the doses they hold or have received,
the slot a booking would take with its vaccine, and the dose they may book next."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Connection, bindparam, select

from vaxres.booking.model import SLOT_FIELDS, HeldDose, NextDose, SlotRecord, VaccineRecord
from vaxres.db.tables import ReservationStatus, reservation_table, slot_table, vaccine_table

slot = slot_table.c
reservation = reservation_table.c
vaccine = vaccine_table.c

_HELD_DOSES = (
    select(reservation.id, reservation.dose, reservation.status, slot.date, slot.vaccine)
    .select_from(reservation_table.join(slot_table, slot.id == reservation.slot_id))
    .where(reservation.user_id == bindparam("b_user"), reservation.status.in_(ReservationStatus.HELD))
)
_SLOT_AND_VACCINE = (
    select(*SLOT_FIELDS, vaccine.name.label("catalog_name"), vaccine.doses, vaccine.min_interval_days)
    .select_from(slot_table.outerjoin(vaccine_table, vaccine.name_key == slot.vaccine_key))
    .where(slot.id == bindparam("b_slot"))
)


def held_doses(conn: Connection, user: str) -> dict[int, HeldDose]:
    return {
        row.dose: HeldDose(row.id, row.dose, row.status, row.date, row.vaccine)
        for row in conn.execute(_HELD_DOSES, {"b_user": user})
    }


def slot_and_vaccine(conn: Connection, slot_id: int) -> tuple[SlotRecord, VaccineRecord] | None:
    """The slot, and the catalog's entry for its vaccine (a name outside the catalog: one dose)."""
    row = conn.execute(_SLOT_AND_VACCINE, {"b_slot": slot_id}).one_or_none()
    if row is None:
        return None
    found = SlotRecord(row.id, row.date, row.hospital, row.vaccine, row.capacity, row.remaining)
    if row.catalog_name is None:
        return found, VaccineRecord(row.vaccine, (), 1, 0)
    return found, VaccineRecord(row.catalog_name, (), row.doses, row.min_interval_days)


def next_dose(held: dict[int, HeldDose], vaccine: VaccineRecord | None) -> NextDose | None:
    """After the highest dose held or received, the next one of the series, if any is left."""
    if not held or vaccine is None:
        return None
    last = held[max(held)]
    if last.dose >= vaccine.doses:
        return None
    return NextDose(last.dose + 1, vaccine.name, last.date + dt.timedelta(days=vaccine.min_interval_days))
