"""Reminders before a booking's day (issue 13): `vaxres remind` writes one ReservationReminder
for each reserved booking whose day is within N days from the store's today.

Set-based, for a million bookings: one INSERT ... SELECT of the due bookings into `reminder`,
whose unique key (booking, day, N) drops the ones already reminded, and one INSERT INTO outbox
... SELECT of the reminder rows this transaction added, in the same transaction. Runs are
serialised (SQLite's BEGIN IMMEDIATE; a table lock on PostgreSQL), so the rows added are exactly
those numbered above the highest before, and two runs at once never remind twice.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Integer, bindparam, func, literal, select

from vaxres import validate
from vaxres.db import locking
from vaxres.db.store import Store, insert_on_conflict
from vaxres.db.tables import ReservationStatus, reminder_table, reservation_table, slot_table, utcnow
from vaxres.outbox import selected

MAX_DAYS_BEFORE = 30

reservation = reservation_table.c
slot = slot_table.c
reminder = reminder_table.c


@dataclass(frozen=True)
class Reminded:
    written: int
    days_before: int
    today: dt.date

    @property
    def up_to(self) -> dt.date:
        return self.today + dt.timedelta(days=self.days_before)

    def as_json(self) -> dict[str, Any]:
        return {
            "written": self.written,
            "days_before": self.days_before,
            "today": self.today.isoformat(),
            "up_to": self.up_to.isoformat(),
        }


def remind(store: Store, days_before: str | int = 1) -> Reminded:
    """Remind every reserved booking dated from today to today + days_before that was not yet
    reminded for that day and window; cancelled, administered, missed and past ones never."""
    days_before = validate.parse_whole_number(days_before, field="--days-before", low=0, high=MAX_DAYS_BEFORE)
    today = store.today()
    up_to = today + dt.timedelta(days=days_before)
    now = utcnow()
    with store.write() as conn:
        locking.lock_table(conn, reminder_table)
        before = conn.execute(select(func.coalesce(func.max(reminder.id), 0))).scalar_one()
        conn.execute(_add_reminders(conn, days_before, today, up_to, now))
        written = []  # messages to the bookings' people, then to their guardians
        for copies in (False, True):
            rows = selected.reservation_reminder_rows(
                days_before=days_before, today=today, now=now, to_guardians=copies
            )
            added = rows.join(reminder_table, reminder.reservation_id == reservation.id).where(
                reminder.id > before, reminder.date == slot.date, reminder.days_before == days_before
            )
            insert_messages = selected.write_selected(added.order_by(reminder.id)).execution_options(
                preserve_rowcount=True
            )
            written.append(selected.execute_selected(conn, insert_messages).rowcount)
    return Reminded(written[0], days_before, today)


def _add_reminders(conn: Connection, days_before: int, today: dt.date, up_to: dt.date, now: dt.datetime):
    """INSERT INTO reminder ... SELECT the due bookings ... ON CONFLICT DO NOTHING."""
    due = (
        select(
            reservation.id,
            slot.date,
            literal(days_before, Integer),
            bindparam("now", now, type_=reminder.created_at.type),
        )
        .select_from(reservation_table.join(slot_table, slot.id == reservation.slot_id))
        .where(
            slot.date >= bindparam("first", today, type_=slot.date.type),
            slot.date <= bindparam("last", up_to, type_=slot.date.type),
            reservation.status == ReservationStatus.RESERVED,
        )
        .order_by(slot.date, reservation.id)
    )
    return (
        insert_on_conflict(conn, reminder_table)
        .from_select(["reservation_id", "date", "days_before", "created_at"], due)
        .on_conflict_do_nothing(index_elements=["reservation_id", "date", "days_before"])
    )
