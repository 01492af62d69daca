"""Taking a dose from a slot and giving one back: the conditional statements every booking
path shares (reserve, reschedule, the waitlist, and in bulk the imports), so the capacity
rules live in one place.

`remaining > 0` is re-checked by the store itself in the UPDATE, so two bookings can never take
the last dose twice.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from typing import Any, Literal

from sqlalchemy import Connection, Insert, bindparam, func, insert, select, update

from vaxres import validate
from vaxres.booking import eligibility, locks, rules, series
from vaxres.booking.model import SLOT_FIELDS, ReservationRecord, SlotRecord
from vaxres.db import bulk
from vaxres.db.tables import ReservationStatus, person_table, reservation_table, slot_table
from vaxres.errors import StoreBusy
from vaxres.outbox import selected
from vaxres.people.registry import register_booked, register_ids

slot = slot_table.c
reservation = reservation_table.c

TAKE_DOSE = (
    update(slot_table)
    .where(slot.id == bindparam("b_slot"), slot.remaining > 0, slot.date >= bindparam("b_today"))
    .values(remaining=slot.remaining - 1, updated_at=bindparam("b_now"))
    .returning(*SLOT_FIELDS)
)
RETURN_DOSE = (
    update(slot_table)
    .where(slot.id == bindparam("b_slot"))
    .values(remaining=slot.remaining + 1, updated_at=bindparam("b_now"))
    .returning(*SLOT_FIELDS)
)
_INSERT_RESERVATION = insert(reservation_table).returning(reservation.id)
# What the guardian rule reads of the person booked (nothing for an id not registered yet).
_WARD = select(person_table.c.birth_date, person_table.c.guardian_id).where(person_table.c.id == bindparam("b_user"))
RESERVED = ReservationStatus.RESERVED
Copies = Literal["all", "listed", "none"]  # the guardians' copies confirmations() writes
TAKE_DOSES = (
    update(slot_table)
    .where(slot.id == bindparam("b_slot"), slot.remaining >= bindparam("b_taken"))
    .values(remaining=slot.remaining - bindparam("b_taken"), updated_at=bindparam("b_now"))
)


def confirmations(
    *, from_waitlist: bool = False, override: str | None = None, copies: Copies = "all"
) -> tuple[Insert, ...]:
    """The ReservationConfirmed messages of the reservations book_many() has just made (numbered
    after `after`, made at `now`), their guardians' copies (`copies`: "all" of those booked who
    have a guardian; "listed", of the people book_many is given as `guarded`, so the statement
    looks up those few instead of everyone booked; "none": the caller knows nobody booked has a
    guardian) and, when an operator overrode the eligibility windows (`override`: the reason),
    its audit records, for book_many's `announce`."""
    booked = (
        reservation.id > bindparam("after"),
        reservation.reserved_at == bindparam("now", type_=reservation.reserved_at.type),
    )
    statements = [
        selected.write_selected(
            selected.reservation_confirmed_rows(from_waitlist=from_waitlist).where(*booked).order_by(reservation.id)
        )
    ]
    if copies != "none":
        of_guarded = (reservation.user_id.in_(bindparam("guarded", expanding=True)),) if copies == "listed" else ()
        copied = selected.reservation_confirmed_rows(from_waitlist=from_waitlist, to_guardians=True)
        statements.append(selected.write_selected(copied.where(*booked, *of_guarded).order_by(reservation.id)))
    if override is not None:
        overridden = selected.eligibility_overridden_rows(override).where(*booked).order_by(reservation.id)
        statements.append(selected.write_recorded(overridden))
    return tuple(statements)


class SlotsChangedMeanwhile(StoreBusy):
    """A slot had fewer doses left than the bookings decided from it: another writer took some in
    between (its caller did not hold the slots). Nothing is booked; trying again decides afresh."""

    code = "changed_meanwhile"

    def __init__(self) -> None:
        super().__init__("the slots changed while these bookings were decided; nothing was booked: try again")


def book_many(
    conn: Connection,
    bookings: list[tuple[int, str, int]],
    now: dt.datetime,
    announce: tuple[Insert, ...],
    *,
    register: bool = True,
    guarded: list[str] | None = None,
) -> None:
    """Bookings (slot id, person, dose) the rules have already allowed, in bulk: one UPDATE takes
    each slot's doses (each must still have them, else SlotsChangedMeanwhile), the reservations
    are inserted in the order given (so numbered in it), a bare person made for each one not
    registered (`register` False: the caller read them all in the registry), and `announce`
    (confirmations()) writes their messages; `guarded`, the people booked who have a guardian,
    must be given to announce confirmations(copies="listed")."""
    taken = Counter(slot_id for slot_id, _user, _dose in bookings)
    updated = bulk.bound(conn, slot.updated_at, now)
    takes = [(slot_id, count, updated) for slot_id, count in taken.items()]
    if bulk.executemany_tuples(conn, TAKE_DOSES, ["b_slot", "b_taken", "b_now"], takes) != len(takes):
        raise SlotsChangedMeanwhile()  # the caller's transaction rolls back: nothing is booked
    after = conn.execute(select(func.coalesce(func.max(reservation.id), 0))).scalar_one()
    reserved_at = bulk.bound(conn, reservation.reserved_at, now)
    rows = [(slot_id, user, dose, RESERVED, reserved_at) for slot_id, user, dose in bookings]
    bulk.insert_rows(conn, reservation_table, ["slot_id", "user_id", "dose", "status", "reserved_at"], rows)
    if register:
        register_booked(conn, after, now)
    params: dict[str, Any] = {"after": after, "now": now}
    if guarded is not None:
        params["guarded"] = guarded
    for statement in announce:
        selected.execute_selected(conn, statement, params)


def take_dose(
    conn: Connection,
    slot_id: int,
    user: str,
    dose: int,
    *,
    today: dt.date,
    now: dt.datetime,
    moving: int | None = None,
    windows: bool = True,
) -> SlotRecord:
    """Check the slot, the person's windows (unless `windows` is False: an operator overrode
    them) and series, then take one dose of the slot; the slot as it is after. A refusal is
    raised before anything is written. The caller holds the person's lock (booking/locks.py)."""
    locks.share_vaccines_of_slots(conn, [slot_id])
    found = series.slot_and_vaccine(conn, slot_id)
    if found is None:
        raise rules.SlotNotFound(slot_id, to_book=True)
    target, vaccine = found
    ward = conn.execute(_WARD, {"b_user": user}).one_or_none()
    born, guardian = ward or (None, None)
    governing = eligibility.load(conn, [validate.name_key(vaccine.name)]) if windows else None
    rules.check_booking(
        user,
        dose,
        target,
        vaccine,
        series.held_doses(conn, user),
        today=today,
        moving=moving,
        born=born,
        guarded=guardian is not None,
        windows=governing,
        groups=eligibility.groups_of(conn, user) if governing and governing.need_groups() else frozenset(),
        at=now,
    )
    row = conn.execute(TAKE_DOSE, {"b_slot": slot_id, "b_today": today, "b_now": now}).one_or_none()
    if row is None:
        raise rules.SoldOut(target) if moving is not None else rules.SoldOut(target, user, dose)
    if ward is None:  # an id the registry does not know yet: the booking registers a bare person
        register_ids(conn, [user], now)
    return SlotRecord.from_row(row)


def book_taken(conn: Connection, taken: SlotRecord, user: str, dose: int, now: dt.datetime) -> ReservationRecord:
    """The reservation for a dose just taken from `taken`."""
    reservation_id = conn.execute(
        _INSERT_RESERVATION,
        {"slot_id": taken.id, "user_id": user, "dose": dose, "status": ReservationStatus.RESERVED, "reserved_at": now},
    ).scalar_one()
    return ReservationRecord.in_slot(
        taken, reservation_id=reservation_id, user=user, dose=dose, status=ReservationStatus.RESERVED, reserved_at=now
    )
