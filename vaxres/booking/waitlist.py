"""The waitlist: people waiting for a dose of a vaccine, booked in join order by the very
transaction that frees a matching dose (a cancellation, a reschedule away, a capacity raise, a
new slot), so nothing is offered twice and no freed dose sits unused while someone waits.

A booking made for a waiting person is exactly one `vaxres reserve` could have made: it goes
through take_dose, the same rules (not past, the series, a dose left). On PostgreSQL, joining
and offering take one advisory lock per vaccine (locks.lock_vaccines), so a join never misses a
dose freed at the same moment; SQLite's BEGIN IMMEDIATE already runs them one at a time.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, bindparam, delete, func, insert, literal, select, text

from vaxres import validate
from vaxres.booking import locks, rules, series, waitlist_rules
from vaxres.booking.doses import book_taken, take_dose
from vaxres.booking.model import ReservationRecord
from vaxres.booking.suits import hospital_suits_sql, suits_sql
from vaxres.booking.vaccines import key_of, resolve_name
from vaxres.booking.waitlist_rules import AlreadyWaiting as AlreadyWaiting
from vaxres.booking.waitlist_rules import EntryNotFound as EntryNotFound
from vaxres.booking.waitlist_rules import NotEntryOwner as NotEntryOwner
from vaxres.db.store import Store
from vaxres.db.tables import slot_table, utcnow, waitlist_table
from vaxres.errors import Refused
from vaxres.outbox import events
from vaxres.people.registry import register_ids

w = waitlist_table.c
slot = slot_table.c
BATCH = 50  # candidates read at a time for one freed slot


@dataclass(frozen=True)
class WaitlistRecord:
    id: int
    user: str
    dose: int
    vaccine: str
    hospital: str | None
    date_from: dt.date
    date_to: dt.date | None
    joined_at: dt.datetime
    position: int  # in the queue of its vaccine, 1 = the next to be booked

    def describe(self) -> str:
        where = f"at a hospital matching {self.hospital!r}" if self.hospital else "at any hospital"
        until = f" to {self.date_to.isoformat()}" if self.date_to else " on"
        return f"dose {self.dose} of {self.vaccine} {where}, from {self.date_from.isoformat()}{until}"

    def as_json(self) -> dict[str, Any]:
        from vaxres.formats import iso_utc

        return {
            "id": self.id,
            "user": self.user,
            "dose": self.dose,
            "vaccine": self.vaccine,
            "hospital": self.hospital,
            "from": self.date_from.isoformat(),
            "to": None if self.date_to is None else self.date_to.isoformat(),
            "joined_at": iso_utc(self.joined_at),
            "position": self.position,
        }


@dataclass(frozen=True)
class Joined:
    """A person joined, or (a matching dose being free already) was booked at once."""

    entry: WaitlistRecord | None
    booked: ReservationRecord | None

    def as_json(self) -> dict[str, Any]:
        return {
            "waiting": None if self.entry is None else self.entry.as_json(),
            "reserved": None if self.booked is None else self.booked.as_json(),
        }


def join(
    store: Store,
    *,
    user: str,
    vaccine: str,
    hospital: str | None = None,
    date_from: str | dt.date | None = None,
    date_to: str | dt.date | None = None,
    dose: str | int = 1,
) -> Joined:
    user = validate.parse_user(user)
    dose = validate.parse_dose(dose)
    vaccine = validate.normalize_name(vaccine, field="vaccine")
    hospital = None if hospital is None else validate.normalize_name(hospital, field="hospital")
    today = store.today()
    first = today if date_from is None else validate.parse_date(date_from, field="from", not_before=today)
    last = None if date_to is None else validate.parse_date(date_to, field="to")
    if last is not None and last < first:
        raise waitlist_rules.WaitingDaysBackwards(first, last)
    now = utcnow()
    with store.write() as conn:
        locks.lock_people(conn, [user])
        found = resolve_name(conn, vaccine)
        locks.lock_vaccines(conn, [key_of(found.name)])
        held = series.held_doses(conn, user)
        waiting = conn.execute(select(w.id).where(w.user_id == user, w.dose == dose)).scalar()
        if waiting is not None and dose not in held:
            raise AlreadyWaiting(user, dose, waiting)
        _check_series_in_range(user, dose, found, held, first, last)
        waitlist_rules.check_ever(conn, user, found.name, dose, now)
        booked = _book_free_dose(conn, user, dose, key_of(found.name), hospital, first, last, today, now)
        if booked is not None:
            return Joined(None, booked)
        register_ids(conn, [user], now)
        entry_id = conn.execute(
            insert(waitlist_table).returning(w.id),
            {
                "user_id": user,
                "dose": dose,
                "vaccine": found.name,
                "vaccine_key": key_of(found.name),
                "hospital": hospital,
                "hospital_key": None if hospital is None else validate.name_key(hospital),
                "date_from": first,
                "date_to": last,
                "joined_at": now,
            },
        ).scalar_one()
        entry = _entries(conn, where=[w.id == entry_id])[0]
        events.write(conn, [events.waitlist_joined(entry)], now)
        return Joined(entry, None)


def _check_series_in_range(user, dose, vaccine, held, first: dt.date, last: dt.date | None) -> None:
    """Refused as `reserve` would refuse every day of the range: held already, past the series,
    another vaccine, an earlier dose missing, or each day too soon after the dose before (its
    last day, for an open range none, is too soon) or too late before the dose after (its first)."""

    def on(day: dt.date) -> None:
        rules.check_series(user, dose, day, vaccine, held)

    try:
        on(dt.date.max if last is None else last)
    except rules.DoseInterval as too_soon:
        if too_soon.earliest is not None:
            raise
        on(first)


def leave(store: Store, entry_id: str | int, *, user: str | None = None) -> WaitlistRecord:
    entry_id = validate.parse_id(entry_id, field="waitlist entry")
    user = None if user is None else validate.parse_user(user)
    with store.write() as conn:
        entries = _entries(conn, where=[w.id == entry_id])
        if not entries:
            raise EntryNotFound(entry_id)
        if user is not None and entries[0].user != user:
            raise NotEntryOwner(entry_id, user)
        conn.execute(delete(waitlist_table).where(w.id == entry_id))
        events.write(conn, [events.waitlist_left(entries[0])], utcnow())
    return entries[0]


def list_waiting(store: Store, *, vaccine: str | None = None, hospital: str | None = None) -> list[WaitlistRecord]:
    """Everyone waiting, in join order, with their place in their vaccine's queue."""
    with store.read() as conn:
        where = []
        if vaccine is not None:
            name = validate.normalize_name(vaccine, field="vaccine")
            found = resolve_name(conn, name)
            where.append(w.vaccine_key == key_of(found.name))
        entries = _entries(conn, where=where)
    if hospital is not None:
        needle = validate.name_key(validate.normalize_name(hospital, field="hospital"))
        entries = [e for e in entries if e.hospital is not None and needle in validate.name_key(e.hospital)]
    return entries


def entries_of(conn: Connection, user: str) -> list[WaitlistRecord]:
    return _entries(conn, where=[w.user_id == user])


def stop_waiting(conn: Connection, user: str, dose: int) -> None:
    """A person who books a dose themselves no longer waits for it."""
    conn.execute(_STOP_WAITING, {"b_user": user, "b_dose": dose})


_STOP_WAITING = delete(waitlist_table).where(w.user_id == bindparam("b_user"), w.dose == bindparam("b_dose"))


def offer_freed(
    conn: Connection, slot_ids: Iterable[int], *, today: dt.date, now: dt.datetime
) -> list[ReservationRecord]:
    """Book the doses now free in these slots for the longest-waiting people they suit; their
    entries go and each gets ReservationConfirmed with "from_waitlist": true. Call it in the
    transaction that freed the doses."""
    if not anyone_waits(conn):  # the usual cancellation: one indexed look-up, no slot read
        return []
    targets = [found for slot_id in dict.fromkeys(slot_ids) if (found := series.slot_and_vaccine(conn, slot_id))]
    targets = [(s, v) for s, v in targets if s.remaining > 0 and s.date >= today]
    if not targets:
        return []
    locks.lock_vaccines(conn, sorted({key_of(v.name) for _s, v in targets}))
    booked: list[ReservationRecord] = []
    for target, vaccine in targets:
        after = 0
        remaining = target.remaining
        while remaining > 0:
            candidates = conn.execute(
                CANDIDATES,
                {
                    "b_key": key_of(vaccine.name),
                    "b_date": target.date,
                    "b_hospital": validate.name_key(target.hospital),
                    "b_after": after,
                },
            ).all()
            if not candidates:
                break
            for candidate in candidates:
                after = candidate.id
                booking = _book(conn, target.id, candidate.user_id, candidate.dose, candidate.id, today, now)
                if booking is not None:
                    booked.append(booking)
                    remaining = booking.slot_remaining or 0  # _book returns the slot as it left it
                    if remaining <= 0:
                        break
    if booked:
        events.write(conn, [events.reservation_confirmed(b, from_waitlist=True) for b in booked], now)
    return booked


def _book(conn, slot_id, user, dose, entry_id, today, now) -> ReservationRecord | None:
    """Book a waiting person into the slot if the rules let them, and end their wait; None when
    the rules refuse (they keep waiting), the dose went meanwhile, or the person's own change is
    under way in another transaction (they keep waiting: waiting for it here could deadlock)."""
    if not locks.try_lock_people(conn, [user]):
        return None
    try:
        taken = take_dose(conn, slot_id, user, dose, today=today, now=now)  # refuses before writing
    except Refused:
        return None
    conn.execute(delete(waitlist_table).where(w.id == entry_id))
    return book_taken(conn, taken, user, dose, now)


def _book_free_dose(conn, user, dose, vaccine_key, hospital, first, last, today, now) -> ReservationRecord | None:
    """At join: a matching slot with a dose left now books at once (the earliest the rules allow).

    Slots another transaction holds are skipped, not waited for (PostgreSQL; SQLite has one
    writer): that writer frees or takes their doses and offers them after this join commits,
    whereas waiting here, under the advisory lock it will ask for, would deadlock."""
    query = (
        select(slot.id)
        .where(slot.vaccine_key == vaccine_key, slot.remaining > 0, slot.date >= max(first, today))
        .order_by(slot.date, slot.id)
        .limit(BATCH)
        .with_for_update(skip_locked=True)
    )
    if last is not None:  # the days as bounds of the index's range; the hospital as suits.py says
        query = query.where(slot.date <= last)
    if hospital is not None:
        query = query.where(hospital_suits_sql(literal(validate.name_key(hospital)), slot.hospital_key))
    for slot_id in conn.execute(query).scalars().all():
        try:
            taken = take_dose(conn, slot_id, user, dose, today=today, now=now)  # refuses before writing
        except Refused:
            continue
        booking = book_taken(conn, taken, user, dose, now)
        events.write(conn, [events.reservation_confirmed(booking, from_waitlist=True)], now)
        return booking
    return None


# The longest-waiting entries a freed dose of a slot suits (booking/suits.py): its vaccine,
# its day within theirs, its hospital containing their text (when they gave one).
CANDIDATES = (
    select(w.id, w.user_id, w.dose)
    .where(
        w.vaccine_key == bindparam("b_key"),
        w.id > bindparam("b_after"),
        suits_sql(w.date_from, w.date_to, w.hospital_key, bindparam("b_date"), bindparam("b_hospital")),
    )
    .order_by(w.id)
    .limit(BATCH)
    .with_for_update(skip_locked=True)  # an entry being left meanwhile is not booked
)


def anyone_waits(conn: Connection) -> bool:
    """One indexed look-up: an offer of freed doses asks it before reading any slot."""
    return conn.execute(_ANYONE_WAITS).first() is not None


_ANYONE_WAITS = select(w.id).limit(1)


def _entries(conn: Connection, *, where: list) -> list[WaitlistRecord]:
    ahead = (
        select(func.count())
        .select_from(waitlist_table.alias("earlier"))
        .where(text("earlier.vaccine_key = waitlist.vaccine_key AND earlier.id <= waitlist.id"))
        .scalar_subquery()
    )
    rows = conn.execute(select(waitlist_table, ahead.label("position")).where(*where).order_by(w.id))
    return [
        WaitlistRecord(r.id, r.user_id, r.dose, r.vaccine, r.hospital, r.date_from, r.date_to, r.joined_at, r.position)
        for r in rows
    ]
