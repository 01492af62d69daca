"""The doses an import adds, offered to the people waiting all at once: the rules of one freed
dose (waitlist.offer_freed), decided in Python over a few set-based reads, then written with
one statement per table. A plan of a million slots meeting 100,000 waiting people books them in
seconds, where booking one at a time would take minutes.

The longest-waiting person is served first, with the earliest added dose that suits them (their
hospital and days, and the series rules `vaxres reserve` applies); for one freed dose that is
the same as offering it to the longest-waiting person it suits.
"""

from __future__ import annotations

import datetime as dt
from bisect import bisect_left
from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy import ColumnElement, Connection, bindparam, delete, false, func, select

from vaxres.booking import eligibility, guardians, locks, rules
from vaxres.booking.doses import book_many, confirmations
from vaxres.booking.model import HeldDose, VaccineRecord
from vaxres.booking.queries import hospital_keys
from vaxres.booking.series import HELD_DOSES, held_dose
from vaxres.booking.suits import day_suits, hospital_suits
from vaxres.db import bulk
from vaxres.db.tables import (
    ReservationStatus,
    person_table,
    reservation_table,
    slot_table,
    vaccine_table,
    waitlist_table,
)
from vaxres.errors import Refused

w = waitlist_table.c
s = slot_table.c
r = reservation_table.c
RESERVED = ReservationStatus.RESERVED
NARROW_HOSPITALS = 100  # distinct hospital texts matched against the hospital table (queries.hospital_keys)
WRITE_BATCH = 10_000  # bookings written at a time: bounds the memory of their parameters
NO_DOSES: dict[int, HeldDose] = {}


@dataclass
class _Doses:
    """The added slots of one vaccine in day order, and the doses each has left."""

    vaccine: VaccineRecord
    ids: list[int] = field(default_factory=list)
    days: list[dt.date] = field(default_factory=list)
    hospitals: list[str] = field(default_factory=list)  # keys
    left: list[int] = field(default_factory=list)
    suiting: dict[str | None, tuple[list[int], list[int]]] = field(default_factory=dict)

    def at(self, hospital_key: str | None) -> tuple[list[int], list[int]]:
        """The slots (indexes, in day order) at a hospital containing the entry's text (all for
        None), and where each position's search for a dose left goes next (see open_from)."""
        found = self.suiting.get(hospital_key)
        if found is None:
            indexes = (
                list(range(len(self.ids)))
                if hospital_key is None
                else [n for n, key in enumerate(self.hospitals) if hospital_suits(hospital_key, key)]
            )
            found = self.suiting[hospital_key] = (indexes, list(range(len(indexes) + 1)))
        return found

    def open_from(self, suiting: list[int], next_open: list[int], position: int) -> int:
        """The first position from `position` on whose slot has a dose left (len(suiting) if
        none): full slots are linked past once and the links shortened (a union-find), so
        100,000 people filling the same early slots do not each walk past all of them."""
        left, end = self.left, len(suiting)
        found = position
        while found < end and (next_open[found] != found or left[suiting[found]] <= 0):
            if next_open[found] == found:
                next_open[found] = found + 1
            found = next_open[found]
        while position != found and position < end:
            next_open[position], position = found, next_open[position]
        return found


def offer_added(conn: Connection, added: Sequence[ColumnElement[bool]], *, today: dt.date, now: dt.datetime) -> int:
    """Book people waiting into the doses of the slots each condition of `added` selects (say
    the new ones, the raised ones: each read by its own index), in the caller's transaction;
    how many were booked."""
    keys = sorted(conn.execute(select(w.vaccine_key).distinct()).scalars())
    if not keys:
        return 0
    locks.lock_vaccines(conn, keys)
    doses = _doses(conn, added, _narrowing(conn, keys, today), keys)
    if not doses:
        return 0
    p = person_table.c
    entries = conn.execute(
        select(
            w.id, w.user_id, w.dose, w.vaccine_key, w.hospital_key, w.date_from, w.date_to, p.birth_date, p.guardian_id
        )
        .outerjoin(person_table, p.id == w.user_id)
        .where(w.vaccine_key.in_(list(doses)))
        .order_by(w.id)
        .with_for_update(of=waitlist_table, skip_locked=True)  # an entry being left meanwhile is not booked
    ).all()
    free = locks.try_lock_people(conn, {entry.user_id for entry in entries})  # the others change their series now
    entries = [entry for entry in entries if entry.user_id in free]
    windows = eligibility.load(conn, list(doses))
    if windows:  # people no window admits now are passed over; they keep waiting
        entries = _admitted(conn, windows, entries, {key: d.vaccine.name for key, d in doses.items()}, now)
    held = _held_doses(conn, list(doses))
    booked: list[tuple[int, str, int, int]] = []  # slot id, person, dose, entry id
    for entry in entries:
        mine = held.get(entry.user_id, NO_DOSES)
        slot = _place(doses[entry.vaccine_key], entry, mine, today)
        if slot is not None:
            slot_id, day, vaccine = slot
            held[entry.user_id] = {**mine, entry.dose: HeldDose(None, entry.dose, RESERVED, day, vaccine)}
            booked.append((slot_id, entry.user_id, entry.dose, entry.id))
    del entries
    for start in range(0, len(booked), WRITE_BATCH):
        _write(conn, booked[start : start + WRITE_BATCH], now)
    return len(booked)


def _admitted(conn: Connection, windows: eligibility.Windows, entries: list, names: dict[str, str], now: dt.datetime):
    """The entries whose person a window admits now (rules.check_booking's windows, at `now`)."""
    groups = eligibility.groups_of_people(conn, select(w.user_id)) if windows.need_groups() else {}
    admitted = []
    for entry in entries:
        try:
            windows.check(
                entry.user_id,
                names[entry.vaccine_key],
                entry.dose,
                born=entry.birth_date,
                groups=groups.get(entry.user_id, frozenset()),
                at=now,
            )
        except eligibility.ELIGIBILITY_REFUSALS:
            continue
        admitted.append(entry)
    return admitted


def _narrowing(conn: Connection, keys: list[str], today: dt.date) -> list[ColumnElement[bool]]:
    """Conditions no slot a waiting person could take fails: within the entries' days, and,
    when every entry names a hospital (a few texts), at the hospitals containing one of them."""
    waiting = w.vaccine_key.in_(keys)
    first, last, entries, bounded, named = conn.execute(
        select(
            func.min(w.date_from), func.max(w.date_to), func.count(), func.count(w.date_to), func.count(w.hospital_key)
        ).where(waiting)
    ).one()
    if not entries:
        return [false()]
    where = [s.date >= max(today, first)]
    if bounded == entries:
        where.append(s.date <= last)
    if named == entries:
        texts = (
            conn.execute(select(w.hospital_key).distinct().where(waiting).limit(NARROW_HOSPITALS + 1)).scalars().all()
        )
        if len(texts) <= NARROW_HOSPITALS:
            where.append(s.hospital_key.in_(hospital_keys(conn, *texts)))
    return where


def _doses(
    conn: Connection, added: Sequence[ColumnElement[bool]], where: list[ColumnElement[bool]], keys: list[str]
) -> dict[str, _Doses]:
    """The slots with a dose left of the vaccines people wait for, by vaccine key."""
    catalog = {
        row.name_key: VaccineRecord(row.name, (), row.doses, row.min_interval_days)
        for row in conn.execute(
            select(vaccine_table).where(vaccine_table.c.name_key.in_(keys)).with_for_update(read=True)
        )
    }
    columns = (s.date, s.id, s.hospital_key, s.vaccine_key, s.remaining)
    rows = sorted(
        row
        for condition in added
        for row in conn.execute(
            select(*columns).where(condition, *where, s.vaccine_key.in_(list(catalog)), s.remaining > 0)
        )
    )
    by_vaccine: dict[str, _Doses] = {}
    for row in rows:
        doses = by_vaccine.get(row.vaccine_key)
        if doses is None:
            doses = by_vaccine[row.vaccine_key] = _Doses(catalog[row.vaccine_key])
        doses.ids.append(row.id)
        doses.days.append(row.date)
        doses.hospitals.append(row.hospital_key)
        doses.left.append(row.remaining)
    return by_vaccine


def _held_doses(conn: Connection, keys: list[str]) -> dict[str, dict[int, HeldDose]]:
    """The held doses of everyone waiting for these vaccines."""
    waiting = select(w.user_id).where(w.vaccine_key.in_(keys))
    held: dict[str, dict[int, HeldDose]] = {}
    for row in conn.execute(HELD_DOSES.where(r.user_id.in_(waiting))):
        held.setdefault(row.user_id, {})[row.dose] = held_dose(row)
    return held


def _place(doses: _Doses, entry, held: dict[int, HeldDose], today: dt.date) -> tuple[int, dt.date, str] | None:
    """The earliest added slot with a dose left that suits the entry and its person's series,
    its dose taken (its id, day and vaccine); None when none does."""
    suiting, next_open = doses.at(entry.hospital_key)
    days, vaccine = doses.days, doses.vaccine
    n = bisect_left(suiting, max(entry.date_from, today), key=days.__getitem__)
    while (n := doses.open_from(suiting, next_open, n)) < len(suiting):
        index = suiting[n]
        day = days[index]
        if not day_suits(entry.date_from, entry.date_to, day):  # from on already: past its last day
            return None
        n += 1
        try:
            guardians.check_guardian(entry.user_id, entry.birth_date, entry.guardian_id is not None, day)
        except guardians.GuardianRequired as minor:  # waits for a slot from their 18th birthday on
            adult_on = dt.date.fromisoformat(minor.details["adult_on"])
            n = max(n, bisect_left(suiting, adult_on, key=days.__getitem__))
            continue
        try:
            rules.check_series(entry.user_id, entry.dose, day, vaccine, held)
        except rules.DoseInterval as too_soon:
            if too_soon.earliest is None:
                return None  # too late before the dose after: later days only more so
            n = max(n, bisect_left(suiting, too_soon.earliest, key=days.__getitem__))
            continue
        except Refused:
            return None  # held already, another vaccine, past the series, an earlier dose missing: any day
        doses.left[index] -= 1
        return doses.ids[index], day, vaccine.name
    return None


def _write(conn: Connection, booked: list[tuple[int, str, int, int]], now: dt.datetime) -> None:
    bookings = [(slot_id, user, dose) for slot_id, user, dose, _entry in booked]
    book_many(conn, bookings, now, confirmations(from_waitlist=True))
    bulk.executemany_tuples(conn, _LEAVE, ["b_entry"], [(entry,) for *_, entry in booked])


_LEAVE = delete(waitlist_table).where(w.id == bindparam("b_entry"))
