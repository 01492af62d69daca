"""What happens on and after a booking's day: the dose is given (administer), or the day is
closed and the bookings nobody came for become no-shows (their doses do not return)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy import Row, bindparam, select, update

from vaxres import validate
from vaxres.booking import locks, rules, series
from vaxres.booking.dose_facts import DoseFacts
from vaxres.booking.model import ReservationRecord
from vaxres.booking.reservations import load_reservation
from vaxres.db import clock
from vaxres.db.store import Store, parameter_batches
from vaxres.db.tables import ReservationStatus, reservation_table, reservation_view, slot_table, utcnow
from vaxres.errors import InvalidInput, Refused
from vaxres.outbox import events

reservation = reservation_table.c
view = reservation_view.c
slot = slot_table.c
RESERVED = ReservationStatus.RESERVED

_ADMINISTER = (
    update(reservation_table)
    .where(reservation.id == bindparam("b_id"), reservation.status == RESERVED)
    .values(
        status=ReservationStatus.ADMINISTERED,
        administered_at=bindparam("b_now"),
        lot=bindparam("b_lot"),
        lot_expires=bindparam("b_expires"),
        site=bindparam("b_site"),
        route=bindparam("b_route"),
    )
)


def administer(
    store: Store, reservation_id: str | int, *, lot: str | None = None, facts: DoseFacts | None = None
) -> ReservationRecord:
    """Record the dose as given: only a reserved booking on its day or after, from a lot not
    expired on that day (the store's today)."""
    reservation_id = validate.parse_id(reservation_id, field="reservation id")
    lot = None if lot is None else validate.normalize_name(lot, field="lot")
    facts = facts or DoseFacts()
    today = store.today()
    now = utcnow()
    with store.write() as conn:
        locks.lock_owner(conn, reservation_id)
        booking = load_reservation(conn, reservation_id, None)
        if booking.status != RESERVED:
            raise rules.NotReserved(booking.id, booking.status)
        if booking.date > today:
            raise rules.TooEarly(booking.id, booking.date)
        if booking.dose > 1:
            earlier = series.held_doses(conn, booking.user).get(booking.dose - 1)
            if earlier is None or earlier.active:
                raise rules.EarlierDoseNotGiven(booking)
        facts.check_lot(lot, today)
        values = {"b_id": booking.id, "b_now": now, "b_lot": lot, "b_expires": facts.lot_expires}
        values.update(b_site=facts.site, b_route=facts.route)
        if conn.execute(_ADMINISTER, values).rowcount != 1:
            raise rules.ChangedMeanwhile(booking.id)
        given = replace(booking, status=ReservationStatus.ADMINISTERED, administered_at=now, lot=lot, facts=facts)
        events.write(conn, [events.vaccination_recorded(given)], now)
    return given


CLOCK_TOLERANCE = dt.timedelta(minutes=5)


class ClockDisagrees(Refused):
    """A machine whose clock runs ahead would close a day that is still going on."""

    code = "clock_disagrees"

    def __init__(self, day: dt.date, machine: dt.datetime, database: dt.datetime, zone):
        ahead = machine - database
        shown = database.astimezone(zone).strftime("%Y-%m-%d %H:%M %Z")
        super().__init__(
            f"{day.isoformat()} is not over by the database's clock ({shown}), and this machine's clock is "
            f"{_duration(abs(ahead))} {'ahead of' if ahead > dt.timedelta(0) else 'behind'} it; nothing was "
            f"closed: set this machine's clock right (NTP) and run close-day again",
            details={
                "date": day.isoformat(),
                "machine_time": machine.isoformat(),
                "database_time": database.isoformat(),
                "ahead_seconds": round(ahead.total_seconds()),
            },
        )


def _duration(gap: dt.timedelta) -> str:
    hours, minutes = divmod(round(gap.total_seconds() / 60), 60)
    return f"{hours} h {minutes} min" if hours else f"{minutes} min"


def _check_clock(conn, day: dt.date, zone, machine: dt.datetime) -> None:
    """PostgreSQL: the day is over by the database's clock too, when the two clocks disagree."""
    database = clock.database_now(conn)
    if database is None or abs(machine - database) <= CLOCK_TOLERANCE:
        return
    if day >= database.astimezone(zone).date():
        raise ClockDisagrees(day, machine, database, zone)


@dataclass(frozen=True)
class ClosedDay:
    date: dt.date
    missed: list[ReservationRecord]

    def as_json(self) -> dict[str, Any]:
        return {
            "date": self.date.isoformat(),
            "no_shows": len(self.missed),
            "missed": [b.as_json() for b in self.missed],
        }


def close_day(store: Store, date: str | dt.date | None = None) -> ClosedDay:
    """Every booking still reserved on a slot dated DATE (default: yesterday) or earlier becomes a
    no-show, with a ReservationMissed message each. Running it again changes nothing."""
    today = store.today()
    day = today - dt.timedelta(days=1) if date is None else validate.parse_date(date, field="DATE")
    if day >= today:
        raise InvalidInput(
            f"DATE {day.isoformat()} is not over yet; close {(today - dt.timedelta(days=1)).isoformat()} or an earlier day"
        )
    now = utcnow()
    with store.write() as conn:
        _check_clock(conn, day, store.zone, now)
        # Lock the bookings first (PostgreSQL; SQLite's BEGIN IMMEDIATE holds the store), then read them.
        due = select(reservation.id).select_from(reservation_table.join(slot_table, slot.id == reservation.slot_id))
        ids = list(
            conn.execute(
                due.where(reservation.status == RESERVED, slot.date <= day).with_for_update(of=reservation_table)
            ).scalars()
        )
        rows: list[Row] = []
        for batch in parameter_batches(ids):
            rows += conn.execute(select(reservation_view).where(view.id.in_(batch))).all()
        rows.sort(key=lambda row: row.id)
        missed = [replace(ReservationRecord.from_row(row), status=ReservationStatus.NO_SHOW) for row in rows]
        if missed:
            conn.execute(
                update(reservation_table)
                .where(reservation.id == bindparam("b_id"), reservation.status == RESERVED)
                .values(status=ReservationStatus.NO_SHOW),
                [{"b_id": b.id} for b in missed],
            )
            events.write(conn, [events.reservation_missed(b) for b in missed], now)
    return ClosedDay(day, missed)
