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

# The doses people hold or have received, with the slot of each: add the WHERE on user_id.
HELD_DOSES = (
    select(
        reservation.user_id,
        reservation.dose,
        reservation.id,
        reservation.status,
        slot.date,
        slot.vaccine,
        reservation.slot_id,
    )
    .select_from(reservation_table.join(slot_table, slot.id == reservation.slot_id))
    .where(reservation.status.in_(ReservationStatus.HELD))
)
# Slots with their catalog entry: add the WHERE on the slot id(s).
SLOTS_AND_VACCINES = select(
    *SLOT_FIELDS, vaccine.name.label("catalog_name"), vaccine.doses, vaccine.min_interval_days
).select_from(slot_table.outerjoin(vaccine_table, vaccine.name_key == slot.vaccine_key))

_HELD_DOSES_OF = HELD_DOSES.where(reservation.user_id == bindparam("b_user"))
_SLOT_AND_VACCINE = SLOTS_AND_VACCINES.where(slot.id == bindparam("b_slot"))


def held_dose(row) -> HeldDose:
    """A row of HELD_DOSES."""
    return HeldDose(row.id, row.dose, row.status, row.date, row.vaccine)


def held_doses(conn: Connection, user: str) -> dict[int, HeldDose]:
    return {row.dose: held_dose(row) for row in conn.execute(_HELD_DOSES_OF, {"b_user": user})}


def slot_and_vaccine_of(row) -> tuple[SlotRecord, VaccineRecord]:
    """A row of SLOTS_AND_VACCINES: the slot, and its vaccine's series (a name outside the
    catalog books as a one-dose vaccine of its own name)."""
    found = SlotRecord(row.id, row.date, row.hospital, row.vaccine, row.capacity, row.remaining)
    if row.catalog_name is None:
        return found, VaccineRecord(row.vaccine, (), 1, 0)
    return found, VaccineRecord(row.catalog_name, (), row.doses, row.min_interval_days)


def slot_and_vaccine(conn: Connection, slot_id: int) -> tuple[SlotRecord, VaccineRecord] | None:
    row = conn.execute(_SLOT_AND_VACCINE, {"b_slot": slot_id}).one_or_none()
    return None if row is None else slot_and_vaccine_of(row)


def next_dose(held: dict[int, HeldDose], vaccine: VaccineRecord | None) -> NextDose | None:
    """After the highest dose held or received, the next one of the series, if any is left."""
    if not held or vaccine is None:
        return None
    last = held[max(held)]
    if last.dose >= vaccine.doses:
        return None
    return NextDose(last.dose + 1, vaccine.name, last.date + dt.timedelta(days=vaccine.min_interval_days))
