"""The person registry's use cases: register, change, read, find by number, erase. Every value is
checked before the store is touched; each change is one write transaction."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Row, delete, func, insert, literal, or_, select, update
from sqlalchemy.exc import IntegrityError

from vaxres import validate
from vaxres.db import sql
from vaxres.db.citizen import code_table, person_lock, session_table
from vaxres.db.listing import Page
from vaxres.db.locking import wait_for_name
from vaxres.db.store import Store, insert_on_conflict
from vaxres.db.tables import ReservationStatus, person_group_table, person_table, reservation_table, slot_table, utcnow
from vaxres.errors import InvalidInput
from vaxres.outbox import events
from vaxres.people import identity, rules
from vaxres.people.model import PersonRecord
from vaxres.people.rrn import ResidentNumber, parse_rrn

p = person_table.c
g = person_group_table.c
# The columns `--clear-X` empties, by X.
CLEARABLE = ("name", "birth-date", "sex", "phone", "email", "lang", "guardian", "groups", "rrn")


@dataclass(frozen=True)
class PersonChanges:
    """What an add or update sets, checked: None leaves a value as it is."""

    values: dict[str, Any]
    groups: dict[str, str] | None
    number: ResidentNumber | None
    guardian: str | None

    @classmethod
    def parse(
        cls,
        *,
        today: dt.date,
        name: str | None = None,
        rrn: str | None = None,
        birth_date: str | dt.date | None = None,
        sex: str | None = None,
        phone: str | None = None,
        email: str | None = None,
        lang: str | None = None,
        guardian: str | None = None,
        groups: Iterable[str] | None = None,
        region: str = rules.DEFAULT_REGION,
        clear: Iterable[str] = (),
    ) -> PersonChanges:
        if rrn is not None and (birth_date is not None or sex is not None):
            raise InvalidInput("give --rrn or --birth-date and --sex, not both: the number carries them")
        values: dict[str, Any] = {}
        number = None
        if rrn is not None:
            number = parse_rrn(rrn, today=today)
            values.update(birth_date=number.birth_date, sex=number.sex, id_masked=number.masked)
        if name is not None:
            values["name"] = validate.normalize_name(name, field="--name")
        if birth_date is not None:
            values["birth_date"] = rules.parse_birth_date(birth_date, today=today)
        if sex is not None:
            values["sex"] = _sex(sex)
        if region != rules.DEFAULT_REGION:  # a typo is refused even with no phone to read
            region = rules.parse_region(region)
        if phone is not None:
            values["phone"] = rules.parse_phone(phone, region=region)
        if email is not None:
            values["email"] = rules.parse_email(email)
        if lang is not None:
            values["lang"] = validate.parse_language(lang)
        picked = None if guardian is None else validate.parse_user(guardian)
        chosen = None if groups is None else rules.parse_groups(list(groups))
        for field in clear:
            if field not in CLEARABLE:
                raise InvalidInput(f"--clear-{field} is not an option; clear one of: {', '.join(CLEARABLE)}")
            if field == "groups":
                chosen = {}
            elif field == "rrn":
                values.update(id_fingerprint=None, id_masked=None)
            else:
                values[field.replace("-", "_") + ("_id" if field == "guardian" else "")] = None
        return cls(values, chosen, number, picked)

    @property
    def fields(self) -> list[str]:
        """The names of what changes (for the audit trail: never the values)."""
        names = {key.removesuffix("_id") for key in self.values}
        names.discard("id_masked")
        names.discard("id_fingerprint")
        if self.number is not None or "id_masked" in self.values:
            names.add("rrn")
        if self.guardian is not None:
            names.add("guardian")
        if self.groups is not None:
            names.add("groups")
        return sorted(names)


def _sex(text: str) -> str:
    sex = str(text).strip().upper()[:1]
    if sex not in ("M", "F"):
        raise validate.InvalidValue("--sex", text, "must be M or F")
    return sex


def add_person(store: Store, person: str, **given: Any) -> PersonRecord:
    person = validate.parse_user(person)
    changes = PersonChanges.parse(today=store.today(), **given)
    now = utcnow()
    with store.write() as conn:
        if conn.execute(select(p.id).where(p.id == person)).first() is not None:
            raise rules.PersonExists(person)
        conn.execute(insert(person_table).values(id=person, created_at=now, updated_at=now))
        _apply(conn, store, person, changes, now)
        events.write(conn, [events.person_changed(events.PERSON_REGISTERED, person, changes.fields)], now)
        return _read(conn, person)


def update_person(store: Store, person: str, **given: Any) -> PersonRecord:
    person = validate.parse_user(person)
    changes = PersonChanges.parse(today=store.today(), **given)
    if not changes.fields:
        raise InvalidInput("nothing to change: give at least one option")
    now = utcnow()
    with store.write() as conn:
        found = conn.execute(select(p.forgotten_at).where(p.id == person)).first()
        if found is None:
            raise rules.PersonNotFound(person)
        if found.forgotten_at is not None:
            raise rules.Forgotten(person)
        _apply(conn, store, person, changes, now)
        events.write(conn, [events.person_changed(events.PERSON_UPDATED, person, changes.fields)], now)
        return _read(conn, person)


def _apply(conn: Connection, store: Store, person: str, changes: PersonChanges, now: dt.datetime) -> None:
    values = dict(changes.values)
    if changes.number is not None:
        key = identity.verified_key(conn, shared_store=not store.is_sqlite)
        values["id_fingerprint"] = fingerprint = identity.fingerprint(key, changes.number)
        holder = conn.execute(select(p.id).where(p.id_fingerprint == fingerprint, p.id != person)).scalar()
        if holder is not None:
            raise rules.DuplicateIdentity(holder, changes.number.masked)
    if changes.guardian is not None:
        _check_guardian(conn, person, changes.guardian, store.today())
        values["guardian_id"] = changes.guardian
    try:
        conn.execute(update(person_table).where(p.id == person).values(**values, updated_at=now))
    except IntegrityError:  # another process registered the same number meanwhile
        assert changes.number is not None
        raise rules.DuplicateIdentity("another person", changes.number.masked) from None
    if changes.groups is not None:
        conn.execute(delete(person_group_table).where(g.person_id == person))
        if changes.groups:
            rows = [{"person_id": person, "group_key": key, "name": name} for key, name in changes.groups.items()]
            conn.execute(insert(person_group_table), rows)


def _check_guardian(conn: Connection, person: str, guardian: str, today: dt.date) -> None:
    if guardian == person:
        raise rules.InvalidGuardian(person, guardian, "a person cannot be their own guardian")
    found = conn.execute(select(p.birth_date, p.forgotten_at).where(p.id == guardian)).first()
    if found is None or found.forgotten_at is not None:
        raise rules.InvalidGuardian(person, guardian, "they are not registered (add them with their birth date first)")
    if found.birth_date is None:
        raise rules.InvalidGuardian(
            person, guardian, "their birth date is not registered, so they are not known to be adult"
        )
    age = rules.age_on(found.birth_date, today)
    if age < rules.ADULT_AGE:
        raise rules.InvalidGuardian(person, guardian, f"they are {age}, and a guardian is {rules.ADULT_AGE} or older")
    seen: set[str] = {person}
    current: str | None = guardian
    while current is not None:  # the guardian's own guardians must not lead back to the person
        if current in seen:
            raise rules.InvalidGuardian(person, guardian, f"{current} is already in {person}'s line of guardians")
        seen.add(current)
        current = conn.execute(select(p.guardian_id).where(p.id == current)).scalar()


def get_person(store: Store, person: str) -> PersonRecord:
    person = validate.parse_user(person)
    with store.read() as conn:
        return _read(conn, person)


def find_by_rrn(store: Store, rrn: str) -> PersonRecord:
    number = parse_rrn(rrn)
    with store.write() as conn:  # the first key a store sees is written as its key
        key = identity.verified_key(conn, shared_store=not store.is_sqlite)
        holder = conn.execute(select(p.id).where(p.id_fingerprint == identity.fingerprint(key, number))).scalar()
        if holder is None:
            raise rules.NoSuchIdentity(number.masked)
        return _read(conn, holder)


def person_page(store: Store, *, search: str | None = None, limit: str | int = 50, after: str | None = None) -> Page:
    """One page of people in id order, and how many the search matches (id or name containing it)."""
    limit = validate.parse_limit(limit)
    where = []
    if search is not None:
        needle = validate.normalize_name(search, field="--search").lower()
        where.append(or_(sql.contains(func.lower(p.id), needle), sql.contains(func.lower(p.name), needle)))
    with store.read() as conn:
        total = conn.execute(select(func.count()).select_from(person_table).where(*where)).scalar_one()
        if after is not None:
            where.append(p.id > validate.parse_user(after))
        rows = conn.execute(select(person_table).where(*where).order_by(p.id).limit(limit + 1)).all()
        people = _records(conn, list(rows[:limit]))
    return Page(people, total, len(rows) > limit)


def forget_person(store: Store, person: str) -> PersonRecord:
    """Erase what identifies the person; the id stays, so their bookings still count in reports.
    Their citizen sessions end and their login codes are spent in the same transaction."""
    person = validate.parse_user(person)
    today, now = store.today(), utcnow()
    with store.write() as conn:
        _read(conn, person)
        held = conn.execute(
            select(reservation_table.c.id, slot_table.c.date)
            .join(slot_table, slot_table.c.id == reservation_table.c.slot_id)
            .where(
                reservation_table.c.user_id == person,
                reservation_table.c.status == ReservationStatus.RESERVED,
                slot_table.c.date >= today,
            )
            .order_by(slot_table.c.date)
        ).first()
        if held is not None:
            raise rules.FutureBookingHeld(person, held.id, held.date)
        erased = dict.fromkeys(("name", "birth_date", "sex", "phone", "email", "lang", "guardian_id"), None)
        conn.execute(
            update(person_table)
            .where(p.id == person)
            .values(**erased, id_fingerprint=None, id_masked=None, updated_at=now, forgotten_at=now)
        )
        conn.execute(update(person_table).where(p.guardian_id == person).values(guardian_id=None, updated_at=now))
        conn.execute(delete(person_group_table).where(g.person_id == person))
        _end_citizen_access(conn, person, now)
        events.write(conn, [events.person_changed(events.PERSON_FORGOTTEN, person, [])], now)
        return _read(conn, person)


def _end_citizen_access(conn: Connection, person: str, now: dt.datetime) -> None:
    """The person's citizen sessions end and their unspent login codes are spent: neither works
    again. Under the lock verify_code takes, which could otherwise open a session beside it."""
    wait_for_name(conn, person_lock(person))
    conn.execute(
        update(code_table).where(code_table.c.person_id == person, code_table.c.spent_at.is_(None)).values(spent_at=now)
    )
    conn.execute(
        update(session_table)
        .where(session_table.c.person_id == person, session_table.c.ended_at.is_(None))
        .values(ended_at=now)
    )


def register_ids(conn: Connection, people: Iterable[str], now: dt.datetime) -> None:
    """A bare person (the id only) for each id not registered yet: `reserve --user ID` keeps
    working for scripts that never registered anyone."""
    rows = [{"id": person, "created_at": now, "updated_at": now} for person in dict.fromkeys(people)]
    if rows:
        conn.execute(insert_on_conflict(conn, person_table).on_conflict_do_nothing(index_elements=["id"]), rows)


def register_booked(conn: Connection, after: int, now: dt.datetime) -> None:
    """A bare person for each person booked into a reservation numbered after `after` who is not
    registered yet: the bulk paths' register_ids(), in one INSERT ... SELECT."""
    r = reservation_table.c
    booked = select(r.user_id, literal(now, person_table.c.created_at.type), literal(now, p.updated_at.type))
    booked = booked.where(r.id > after)  # a person booked twice: ON CONFLICT skips the second
    conn.execute(
        insert_on_conflict(conn, person_table)
        .from_select(["id", "created_at", "updated_at"], booked)
        .on_conflict_do_nothing(index_elements=["id"])
    )


def read_person(conn: Connection, person: str) -> PersonRecord | None:
    """The person as registered, or None (an id no booking or registration ever named)."""
    row = conn.execute(select(person_table).where(p.id == person)).first()
    return None if row is None else _records(conn, [row])[0]


def _read(conn: Connection, person: str) -> PersonRecord:
    found = read_person(conn, person)
    if found is None:
        raise rules.PersonNotFound(person)
    return found


def _records(conn: Connection, rows: list[Row]) -> list[PersonRecord]:
    groups: dict[str, list[str]] = {}
    if rows:
        found = conn.execute(
            select(g.person_id, g.name).where(g.person_id.in_([row.id for row in rows])).order_by(g.group_key)
        )
        for person, name in found:
            groups.setdefault(person, []).append(name)
    return [
        PersonRecord(
            row.id,
            row.name,
            row.birth_date,
            row.sex,
            row.phone,
            row.email,
            row.lang,
            row.guardian_id,
            tuple(groups.get(row.id, ())),
            row.id_masked,
            row.created_at,
            row.updated_at,
            row.forgotten_at,
        )
        for row in rows
    ]
