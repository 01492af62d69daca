"""The read side: a person's page, one reservation's history, and the slots."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Select, func, select, tuple_

from vaxres import validate
from vaxres.booking import rules, series, waitlist
from vaxres.booking.model import SLOT_FIELDS, NextDose, ReservationRecord, SlotRecord
from vaxres.booking.vaccines import key_of, load_catalog
from vaxres.db.language import message_language
from vaxres.db.listing import Hide, ListQuery, Page, as_is, named, read_all, read_page
from vaxres.db.store import Store
from vaxres.db.tables import SOLD_OUT, hospital_table, outbox_table, reservation_view, slot_table
from vaxres.errors import InvalidInput
from vaxres.formats import iso_utc
from vaxres.outbox import events
from vaxres.outbox.model import OutboxRecord
from vaxres.people.model import PersonRecord
from vaxres.people.registry import read_person

slot = slot_table.c
view = reservation_view.c
outbox = outbox_table.c


@dataclass(frozen=True)
class MyPage:
    user: str
    reservations: list[ReservationRecord]  # newest first
    next_dose: NextDose | None
    waiting: list  # the person's waitlist entries (booking.waitlist.WaitlistRecord)
    person: PersonRecord | None = None  # as registered; a page shows the birth date's year and month only

    def as_json(self) -> dict[str, Any]:
        who = self.person
        return {
            "user": self.user,
            "person": None
            if who is None
            else {
                "name": who.name,
                "birth_date": who.masked_birth_date,
                "phone": who.phone,
                "email": who.email,
                "lang": who.lang,
            },
            "reservations": [b.as_json() for b in self.reservations],
            "next_dose": None if self.next_dose is None else self.next_dose.as_json(),
            "waiting": [e.as_json() for e in self.waiting],
        }


def my_page(store: Store, user: str) -> MyPage:
    """A person's reservations, newest first (one query), and the dose they may book next."""
    user = validate.parse_user(user)
    query = select(reservation_view).where(view.user_id == user).order_by(view.id.desc())
    with store.read() as conn:
        bookings = [ReservationRecord.from_row(row) for row in conn.execute(query)]
        held = series.held_doses(conn, user)
        vaccine = load_catalog(conn).find(held[max(held)].vaccine) if held else None
        waiting = waitlist.entries_of(conn, user)
        person = read_person(conn, user)
    return MyPage(user, bookings, series.next_dose(held, vaccine), waiting, person)


@dataclass(frozen=True)
class ReservationHistory:
    reservation: ReservationRecord
    history: list[OutboxRecord]  # its messages, oldest first

    def as_json(self) -> dict[str, Any]:
        return {
            **self.reservation.as_json(),
            "history": [
                {
                    "at": iso_utc(m.created_at),
                    "event": m.event,
                    "message": m.payload.get("message"),
                    "status": m.status,
                    "actor": m.actor,
                }
                for m in self.history
            ],
        }


def show(store: Store, reservation_id: str | int, *, lang: str | None = None) -> ReservationHistory:
    """One reservation with its whole history, read from its messages in the outbox, in `lang`
    (--lang or VAXRES_LANG), else the store's language."""
    reservation_id = validate.parse_id(reservation_id, field="reservation id")
    with store.read() as conn:
        row = conn.execute(select(reservation_view).where(view.id == reservation_id)).one_or_none()
        if row is None:
            raise rules.ReservationNotFound(reservation_id)
        messages = conn.execute(
            select(outbox_table)
            .where(outbox.correlation_id == reservation_id, outbox.event.in_(events.RESERVATION_EVENTS))
            .order_by(outbox.id)
        )
        lang = message_language(conn, lang)
        return ReservationHistory(ReservationRecord.from_row(row), [OutboxRecord.from_row(m, lang) for m in messages])


@dataclass(frozen=True)
class SlotFilter:
    """What `slot list` narrows to: days (both ends included), names containing a text (compared
    as stored keys: NFC, any case), slots with doses left, and the rows after a slot of the list."""

    date_from: dt.date | None = None
    date_to: dt.date | None = None
    hospital: str | None = None
    vaccine: str | None = None
    available: bool = False
    after: int | None = None

    @classmethod
    def parse(
        cls,
        *,
        date: str | dt.date | None = None,
        date_from: str | dt.date | None = None,
        date_to: str | dt.date | None = None,
        hospital: str | None = None,
        vaccine: str | None = None,
        available: bool = False,
        after: str | int | None = None,
    ) -> SlotFilter:
        if date is not None:
            if date_from is not None or date_to is not None:
                raise InvalidInput("give --date DAY or --from/--to, not both")
            date_from = date_to = validate.parse_date(date)
        first, last = validate.parse_date_range(date_from, date_to)
        return cls(
            first,
            last,
            None if hospital is None else validate.normalize_name(hospital, field="hospital"),
            None if vaccine is None else validate.normalize_name(vaccine, field="vaccine"),
            available,
            None if after is None else validate.parse_id(after, field="after"),
        )


# The list's order; (date, hospital_key, vaccine_key) is unique, so it is also the keyset.
SLOT_ORDER = (slot.date, slot.hospital_key, slot.vaccine_key)


def _slot_query(conn: Connection, f: SlotFilter, today: dt.date) -> ListQuery:
    lower, upper = f.date_from, f.date_to
    if f.available:
        lower = today if lower is None else max(lower, today)
    names: list = []  # (the keys a name filter matched, its condition given `hide`)
    if f.hospital is not None:
        needle = validate.name_key(f.hospital)
        found = hospital_keys(conn, f.hospital)
        names.append((found, lambda hide: named(hide(slot.hospital_key), found, needle)))
    if f.vaccine is not None:
        keys = vaccine_keys(conn, f.vaccine)
        names.append((keys, lambda hide: hide(slot.vaccine_key).in_(keys)))
    after = None
    if f.after is not None:
        after = conn.execute(select(*SLOT_ORDER).where(slot.id == f.after)).one_or_none()
        if after is None:
            raise rules.SlotNotFound(f.after)

    def filters(hide: Hide, *, paging: bool = False) -> list:
        where = [condition(hide) for _keys, condition in names]
        if upper is not None:
            where.append(slot.date <= upper)
        if paging and after is not None:
            where.append(tuple_(*SLOT_ORDER) > tuple_(*after))
        if lower is not None and not (paging and after is not None and after.date >= lower):
            where.append(slot.date >= lower)  # (else the keyset implies it, and SQLite seeks to the keyset)
        return where

    def rows(hide: Hide) -> Select:
        where = filters(hide, paging=True)
        return select(*SLOT_FIELDS).where(*where, *([slot.remaining > 0] if f.available else [])).order_by(*SLOT_ORDER)

    count = select(func.count()).select_from(slot_table).where(*filters(as_is))
    if f.available:
        # The slots of the days counted from the smaller indexes, minus the sold-out ones (a partial
        # index): counting `remaining > 0` directly reads every slot row.
        sold_out = select(func.count()).select_from(slot_table).where(*filters(as_is), SOLD_OUT)
        count = select(count.scalar_subquery() - sold_out.scalar_subquery())
    return ListQuery(rows, count, indexed_filters=bool(names), empty=any(not keys for keys, _condition in names))


def hospital_keys(conn: Connection, *texts: str) -> list[str]:
    """The stored hospital keys `--hospital` means: every one that contains the text (any case),
    or one of the texts (the hospitals people on the waitlist named)."""
    needles = {validate.name_key(text) for text in texts}
    names = conn.execute(select(hospital_table.c.name_key)).scalars()
    return [key for key in names if any(needle in key for needle in needles)]


def vaccine_keys(conn: Connection, text: str) -> list[str]:
    """The stored vaccine keys `--vaccine` means: every catalog vaccine whose name or an alias
    contains the text (화이 → Pfizer), with each one's aliases (a slot may keep an alias as its
    name, see migration 0004), and the text itself (a name outside the catalog, as stored)."""
    needle = validate.name_key(text)
    keys = {needle}
    for vaccine in load_catalog(conn).vaccines:
        spellings = [key_of(name) for name in (vaccine.name, *vaccine.aliases)]
        if any(needle in spelling for spelling in spellings):
            keys.update(spellings)
    return sorted(keys)


def slot_page(store: Store, *, limit: str | int, **filters: Any) -> Page[SlotRecord]:
    """One page of `slot list` and the number of slots the filters match."""
    f, limit = SlotFilter.parse(**filters), validate.parse_limit(limit)
    today = store.today()
    with store.read() as conn:
        return read_page(conn, _slot_query(conn, f, today), SlotRecord.from_row, limit)


@contextmanager
def stream_slots(store: Store, *, limit: str | int | None = None, **filters: Any) -> Iterator[Iterator[SlotRecord]]:
    """Every slot the filters match (or the first `limit`), read as it is consumed."""
    f = SlotFilter.parse(**filters)
    limit = None if limit is None else validate.parse_limit(limit)
    today = store.today()
    with store.read() as conn:
        yield read_all(conn, _slot_query(conn, f, today), SlotRecord.from_row, limit)


def list_slots(store: Store, *, limit: str | int | None = None, **filters: Any) -> list[SlotRecord]:
    with stream_slots(store, limit=limit, **filters) as slots:
        return list(slots)
