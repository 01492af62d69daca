"""Moving a booking to another slot in one transaction: the new slot gives a dose, the old one
gets it back, and the reservation keeps its number. Nobody can take the dose in between."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import bindparam, update

from vaxres import validate
from vaxres.booking import locks, overrides, rules, waitlist
from vaxres.booking.doses import RETURN_DOSE, take_dose
from vaxres.booking.model import ReservationRecord, SlotRecord
from vaxres.booking.reservations import load_reservation
from vaxres.booking.slots import find_slot_id
from vaxres.booking.vaccines import resolve_name
from vaxres.db.store import Store
from vaxres.db.tables import ReservationStatus, reservation_table, utcnow
from vaxres.errors import InvalidInput
from vaxres.outbox import events

reservation = reservation_table.c

_MOVE = (
    update(reservation_table)
    .where(
        reservation.id == bindparam("b_id"),
        reservation.status == ReservationStatus.RESERVED,
        reservation.slot_id == bindparam("b_old"),  # nobody moved or ended it since we read it
    )
    .values(slot_id=bindparam("b_slot"))
)


@dataclass(frozen=True)
class Rescheduled:
    reservation: ReservationRecord
    previous_slot: SlotRecord

    def as_json(self) -> dict[str, Any]:
        return {**self.reservation.as_json(), "previous_slot_id": self.previous_slot.id}


def reschedule(
    store: Store,
    reservation_id: str | int,
    *,
    slot_id: str | int | None = None,
    date: str | dt.date | None = None,
    hospital: str | None = None,
    vaccine: str | None = None,
    user: str | None = None,
    override_eligibility: str | None = None,
) -> Rescheduled:
    """Move to --slot ID, or to the slot of --date with the hospital and vaccine given or kept;
    `override_eligibility`: the reason to move past the windows."""
    reservation_id = validate.parse_id(reservation_id, field="reservation id")
    overriding = overrides.parse_override(override_eligibility)
    user = None if user is None else validate.parse_user(user)
    today = store.today()
    day: dt.date | None = None
    if slot_id is not None:
        if any(part is not None for part in (date, hospital, vaccine)):
            raise InvalidInput("give either --slot or --date (with --hospital and --vaccine if they change), not both")
        slot_id = validate.parse_id(slot_id, field="slot id")
    elif date is None:
        raise InvalidInput(
            "give the new slot: --slot ID, or --date YYYY-MM-DD (with --hospital, --vaccine to change them)"
        )
    else:
        day = validate.parse_date(date)
        hospital = None if hospital is None else validate.normalize_name(hospital, field="hospital")
        vaccine = None if vaccine is None else validate.normalize_name(vaccine, field="vaccine")
    now = utcnow()
    with store.write() as conn:
        locks.lock_owner(conn, reservation_id)
        booking = load_reservation(conn, reservation_id, user)
        rules.check_changeable(booking, today, "moved")
        if slot_id is None:
            assert day is not None  # --date was given
            if day < today:
                raise rules.SlotInPast.of_date(day)
            hospital = hospital or booking.hospital
            vaccine_name = booking.vaccine if vaccine is None else resolve_name(conn, vaccine).name
            slot_id = find_slot_id(conn, day, hospital, vaccine_name)
            if slot_id is None:
                raise rules.NoSlotNamed(day, hospital, vaccine_name)
        if slot_id == booking.slot_id:
            raise InvalidInput(f"reservation {booking.id} is already in slot {slot_id}; name another slot")
        taken = take_dose(
            conn,
            slot_id,
            booking.user,
            booking.dose,
            today=today,
            now=now,
            moving=booking.id,
            windows=overriding is None,
        )
        if conn.execute(_MOVE, {"b_id": booking.id, "b_slot": taken.id, "b_old": booking.slot_id}).rowcount != 1:
            raise rules.ChangedMeanwhile(booking.id)
        previous = SlotRecord.from_row(conn.execute(RETURN_DOSE, {"b_slot": booking.slot_id, "b_now": now}).one())
        moved = ReservationRecord.in_slot(
            taken,
            reservation_id=booking.id,
            user=booking.user,
            dose=booking.dose,
            status=booking.status,
            reserved_at=booking.reserved_at,
        )
        events.write(
            conn, overrides.with_override([events.reservation_rescheduled(moved, previous)], moved, overriding), now
        )
        waitlist.offer_freed(conn, [previous.id], today=today, now=now)
    return Rescheduled(moved, previous)
