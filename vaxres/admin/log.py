"""`vaxres log`: the store's history, oldest first. Every change writes its outbox message in its
own transaction, signed by who made it (vaxres.outbox.events), so the outbox is the change log:
this reads it through the outbox list's machinery (keyset pages by id with a total, streamed
--json), with the filters of an audit.

By reservation: its messages carry its number as correlation_id, found by the partial index
ix_outbox_about (every event but SlotRegistered, which a slot import writes a million at a time
and which would cost the import its share of the index). By slot: the slot's own SlotUpdated by
that index, its SlotRegistered by the instant the slot was made (ix_outbox_created_at: at most one
import chunk shares it), and the events of the bookings that are or were in the slot (the
reservation table's slot index, and the reschedules that moved one out: a scan of the
ReservationRescheduled messages only) whose facts name the slot.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import ColumnElement, CompoundSelect, Connection, or_, select, union, union_all

from vaxres import validate
from vaxres.booking import rules
from vaxres.db import locking, sql
from vaxres.db.listing import Page, read_all, read_page
from vaxres.db.store import Store
from vaxres.db.tables import ABOUT, outbox_table, reservation_table, slot_table
from vaxres.formats import iso_utc
from vaxres.outbox import events
from vaxres.outbox.model import OutboxRecord
from vaxres.outbox.queries import OutboxFilter, outbox_query, record_reader

o = outbox_table.c
reservation = reservation_table.c
slot = slot_table.c


@dataclass(frozen=True)
class LogEntry:
    """One change as the log shows it: when, who, what."""

    message: OutboxRecord

    @property
    def id(self) -> int:
        return self.message.id

    def as_json(self) -> dict[str, Any]:
        m = self.message
        return {
            "id": m.id,
            "created_at": iso_utc(m.created_at),
            "actor": m.actor,
            "event": m.event,
            "about": {"kind": events.subject_of(m.event), "id": m.correlation_id},
            "recipient": m.recipient,
            "message": m.payload.get("message") if isinstance(m.payload, dict) else None,
            "status": m.status,
            "payload": m.payload,
        }


@dataclass(frozen=True)
class LogFilter:
    reservation: int | None = None
    slot: int | None = None
    actor: str | None = None
    listed: OutboxFilter = field(default_factory=OutboxFilter)  # the person, the days, --after

    @classmethod
    def parse(
        cls,
        *,
        reservation: str | int | None = None,
        slot: str | int | None = None,
        user: str | None = None,
        actor: str | None = None,
        date_from: str | dt.date | None = None,
        date_to: str | dt.date | None = None,
        after: str | int | None = None,
    ) -> LogFilter:
        first, last = validate.parse_date_range(date_from, date_to)
        return cls(
            None if reservation is None else validate.parse_id(reservation, field="reservation"),
            None if slot is None else validate.parse_id(slot, field="slot"),
            None if actor is None else validate.parse_actor(actor, field="actor"),
            OutboxFilter(
                recipient=None if user is None else validate.parse_user(user),
                date_from=first,
                date_to=last,
                after=None if after is None else validate.parse_id(after, field="after"),
            ),
        )

    def about(self, conn: Connection) -> list[ColumnElement]:
        where: list[Any] = []
        if self.reservation is not None:
            if conn.execute(select(reservation.id).where(reservation.id == self.reservation)).first() is None:
                raise rules.ReservationNotFound(self.reservation)
            where += [ABOUT, o.correlation_id == self.reservation, o.event.in_(events.RESERVATION_EVENTS)]
        if self.slot is not None:
            if conn.execute(select(slot.id).where(slot.id == self.slot)).first() is None:
                raise rules.SlotNotFound(self.slot)
            where.append(o.id.in_(slot_messages(self.slot)))
        if self.actor is not None:
            where.append(o.actor == self.actor)
        return where


def slot_messages(slot_id: int) -> CompoundSelect:
    """The ids of the messages about a slot: its registration and updates, and every event of a
    booking in it (booked, moved in or out, cancelled, given, missed, reminded)."""
    m = outbox_table.alias("about")
    made_at = select(slot.created_at).where(slot.id == slot_id).scalar_subquery()
    registered = select(m.c.id).where(
        m.c.created_at == made_at, m.c.event == events.SLOT_REGISTERED, m.c.correlation_id == slot_id
    )
    updated = select(m.c.id).where(ABOUT, m.c.correlation_id == slot_id, m.c.event == events.SLOT_UPDATED)
    moved_out = select(m.c.correlation_id).where(
        m.c.event == events.RESERVATION_RESCHEDULED, sql.json_number_is(m.c.payload, "previous_slot_id", slot_id)
    )
    bookings = union(select(reservation.id).where(reservation.slot_id == slot_id), moved_out)
    booked = select(m.c.id).where(
        ABOUT,
        m.c.correlation_id.in_(bookings),
        m.c.event.in_(events.RESERVATION_EVENTS),
        or_(
            sql.json_number_is(m.c.payload, "slot_id", slot_id),
            sql.json_number_is(m.c.payload, "previous_slot_id", slot_id),
        ),
    )
    return union_all(registered, updated, booked)


def _query(conn: Connection, f: LogFilter):
    return outbox_query(conn, f.listed, f.about(conn))


def _reader(conn: Connection, lang: str | None):
    read = record_reader(conn, lang)
    return lambda row: LogEntry(read(row))


def log_page(store: Store, *, limit: str | int, lang: str | None = None, **filters: Any) -> Page[LogEntry]:
    """One page of `vaxres log`, oldest first, and the number of changes the filters match."""
    f, limit = LogFilter.parse(**filters), validate.parse_limit(limit)
    with store.read() as conn:
        return read_page(conn, _query(conn, f), _reader(conn, lang), limit)


@contextmanager
def stream_log(
    store: Store, *, limit: str | int | None = None, lang: str | None = None, **filters: Any
) -> Iterator[Iterator[LogEntry]]:
    """Every change the filters match (or the first `limit`), oldest first, read as consumed."""
    f = LogFilter.parse(**filters)
    limit = None if limit is None else validate.parse_limit(limit)
    with store.read() as conn:
        locking.plan_for_every_row(conn)
        yield read_all(conn, _query(conn, f), _reader(conn, lang), limit)
