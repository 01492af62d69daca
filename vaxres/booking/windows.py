"""The eligibility windows' use cases: add, list, show, close, and what they say of one person.

Every value is checked before the store is touched; times are read in the store's time zone and
kept as instants with the zone they were given in (booking/eligibility.py)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, insert, select, update
from sqlalchemy.exc import IntegrityError

from vaxres import validate
from vaxres.booking import eligibility, window_rules
from vaxres.booking.eligibility import BIRTH_DIGIT, ROTATIONS, Window
from vaxres.booking.vaccines import key_of, load_catalog
from vaxres.booking.window_rules import DuplicateWindow, WindowNotFound
from vaxres.db.store import Store
from vaxres.db.tables import person_group_table, person_table, utcnow, window_table
from vaxres.errors import InvalidValue
from vaxres.formats import iso_utc
from vaxres.outbox import events
from vaxres.people import rules as people_rules

w = window_table.c
MAX_NAME = 100
MAX_AGE = 150
_MOMENT = re.compile(r"(\d{4}-\d{2}-\d{2})[ T](\d{1,2}:\d{2})")
_EACH = re.compile(r"(\d{1,2}:\d{2})-(\d{1,2}:\d{2})")


def parse_moment(text: str, zone: ZoneInfo, *, field: str) -> dt.datetime:
    """'YYYY-MM-DD HH:MM' in `zone`, as an instant."""
    found = _MOMENT.fullmatch(str(text).strip())
    if found is None:
        raise InvalidValue(field, text, 'must be "YYYY-MM-DD HH:MM" (the store\'s time zone)')
    day = validate.parse_date(found.group(1), field=field)
    return dt.datetime.combine(day, _time(found.group(2), text, field), tzinfo=zone).astimezone(dt.UTC)


def _time(part: str, text: str, field: str) -> dt.time:
    hours, minutes = (int(n) for n in part.split(":"))
    if hours > 23 or minutes > 59:
        raise InvalidValue(field, text, f"has no time {part}: hours run 00-23, minutes 00-59")
    return dt.time(hours, minutes)


def parse_each(text: str) -> tuple[dt.time, dt.time]:
    """'20:00-18:00': a rotation's daily sub-window, ending the next day when its end comes first."""
    found = _EACH.fullmatch(str(text).strip())
    if found is None:
        raise InvalidValue("--each", text, "must be two times, HH:MM-HH:MM (e.g. 20:00-18:00)")
    start, end = (_time(part, text, "--each") for part in found.groups())
    if start == end:
        raise InvalidValue("--each", text, "must start and end at different times")
    return start, end


@dataclass(frozen=True)
class WindowSpec:
    """What `window add` was given, checked."""

    name: str
    dose: int | None
    born_from: dt.date | None
    born_to: dt.date | None
    age_min: int | None
    age_max: int | None
    age_on: dt.date | None
    groups: tuple[str, ...]
    opens_at: dt.datetime
    closes_at: dt.datetime | None
    rotation: str | None
    each: tuple[dt.time, dt.time] | None


def _spec(
    zone: ZoneInfo,
    *,
    name: str,
    opens: str,
    dose: str | int | None,
    born_from: str | None,
    born_to: str | None,
    age_min: str | int | None,
    age_max: str | int | None,
    age_on: str | None,
    groups: list[str],
    closes: str | None,
    rotation: str | None,
    each: str | None,
) -> WindowSpec:
    name = validate.normalize_name(name, field="window name")
    if len(name) > MAX_NAME:
        raise InvalidValue("window name", name, f"must be at most {MAX_NAME} characters")
    first = None if born_from is None else validate.parse_date(born_from, field="--born-from")
    last = None if born_to is None else validate.parse_date(born_to, field="--born-to")
    if first is not None and last is not None and last < first:
        raise window_rules.BirthDaysBackwards(first, last)
    youngest = None if age_min is None else validate.parse_whole_number(age_min, field="--age-min", low=0, high=MAX_AGE)
    oldest = None if age_max is None else validate.parse_whole_number(age_max, field="--age-max", low=0, high=MAX_AGE)
    if youngest is not None and oldest is not None and oldest < youngest:
        raise window_rules.AgesBackwards(youngest, oldest)
    opens_at = parse_moment(opens, zone, field="--opens")
    closes_at = None if closes is None else parse_moment(closes, zone, field="--closes")
    if closes is not None and closes_at is not None and closes_at <= opens_at:
        raise window_rules.ClosesBeforeOpens(opens, closes)
    aged_on = None if age_on is None else validate.parse_date(age_on, field="--age-on")
    if aged_on is not None and youngest is None and oldest is None:
        raise window_rules.AgeDayWithoutAges(aged_on)
    if aged_on is None and (youngest is not None or oldest is not None):
        aged_on = opens_at.astimezone(zone).date()  # ages on the opening day, unless told
    if rotation is not None and rotation.strip().lower() not in ROTATIONS:
        raise InvalidValue("--rotation", rotation, f"must be {' or '.join(ROTATIONS)}")
    if rotation is not None and each is None:
        raise window_rules.RotationWithoutEach(rotation)
    if each is not None and rotation is None:
        raise window_rules.EachWithoutRotation(each)
    chosen = people_rules.parse_groups(groups) if groups else {}
    return WindowSpec(
        name=name,
        dose=None if dose is None else validate.parse_dose(dose, field="--dose"),
        born_from=first,
        born_to=last,
        age_min=youngest,
        age_max=oldest,
        age_on=aged_on,
        groups=tuple(chosen.values()),
        opens_at=opens_at,
        closes_at=closes_at,
        rotation=None if rotation is None else BIRTH_DIGIT,
        each=None if each is None else parse_each(each),
    )


def add_window(
    store: Store,
    name: str,
    *,
    vaccine: str,
    opens: str,
    dose: str | int | None = None,
    born_from: str | None = None,
    born_to: str | None = None,
    age_min: str | int | None = None,
    age_max: str | int | None = None,
    age_on: str | None = None,
    groups: list[str] | None = None,
    closes: str | None = None,
    rotation: str | None = None,
    each: str | None = None,
) -> Window:
    zone = store.zone
    spec = _spec(
        zone,
        name=name,
        opens=opens,
        dose=dose,
        born_from=born_from,
        born_to=born_to,
        age_min=age_min,
        age_max=age_max,
        age_on=age_on,
        groups=groups or [],
        closes=closes,
        rotation=rotation,
        each=each,
    )
    vaccine_name = validate.normalize_name(vaccine, field="--vaccine")
    now = utcnow()
    with store.write() as conn:
        found = load_catalog(conn).resolve(vaccine_name)
        if spec.dose is not None and spec.dose > found.doses:
            raise InvalidValue("--dose", spec.dose, f"is past {found.name}'s series of {found.doses}")
        if conn.execute(select(w.id).where(w.name_key == validate.name_key(spec.name))).first() is not None:
            raise DuplicateWindow(spec.name)
        try:
            window_id = conn.execute(
                insert(window_table).returning(w.id),
                {
                    "name": spec.name,
                    "name_key": validate.name_key(spec.name),
                    "vaccine_key": key_of(found.name),
                    "dose": spec.dose,
                    "born_from": spec.born_from,
                    "born_to": spec.born_to,
                    "age_min": spec.age_min,
                    "age_max": spec.age_max,
                    "age_on": spec.age_on,
                    "groups": list(spec.groups),
                    "opens_at": spec.opens_at,
                    "closes_at": spec.closes_at,
                    "zone": zone.key,
                    "rotation": spec.rotation,
                    "each_from": None if spec.each is None else f"{spec.each[0]:%H:%M}",
                    "each_to": None if spec.each is None else f"{spec.each[1]:%H:%M}",
                    "created_at": now,
                    "updated_at": now,
                },
            ).scalar_one()
        except IntegrityError:  # another `window add` of the name committed meanwhile (PostgreSQL)
            raise DuplicateWindow(spec.name) from None
        added = _read(conn, spec.name)
        assert added.id == window_id
        events.write(conn, [events.window_added(added)], now)
    return added


def list_windows(store: Store) -> list[Window]:
    with store.read() as conn:
        return list(_all(conn))


def show_window(store: Store, name: str) -> Window:
    with store.read() as conn:
        return _read(conn, validate.normalize_name(name, field="window name"))


def close_window(store: Store, name: str, *, at: str | None = None) -> Window:
    """End a window at `at` (now when not given); bookings it admitted stay."""
    name = validate.normalize_name(name, field="window name")
    now = utcnow()
    closes_at = now if at is None else parse_moment(at, store.zone, field="--at")
    with store.write() as conn:
        window = _read(conn, name)
        if closes_at < window.opens_at:
            raise window_rules.ClosedBeforeOpening(window, closes_at)
        conn.execute(update(window_table).where(w.id == window.id).values(closes_at=closes_at, updated_at=now))
        closed = dataclasses.replace(window, closes_at=closes_at)
        events.write(conn, [events.window_closed(closed)], now)
    return closed


@dataclass(frozen=True)
class WindowVerdict:
    """What one window says of one person now: matches them, open to them, next opening."""

    window: Window
    matches: bool | None  # None: it needs a birth date the person lacks
    open_now: bool
    next_opening: dt.datetime | None

    def as_json(self) -> dict[str, Any]:
        zone = self.window.zone
        return {
            "window": self.window.name,
            "vaccine": self.window.vaccine,
            "dose": self.window.dose,
            "matches": self.matches,
            "open_now": self.open_now,
            "next_opening": iso_utc(self.next_opening),
            "closes_at": iso_utc(self.window.closes_at),
            "time_zone": zone.key,
        }


@dataclass(frozen=True)
class PersonEligibility:
    person: str
    birth_date: dt.date | None
    groups: tuple[str, ...]
    at: dt.datetime
    verdicts: list[WindowVerdict]

    def as_json(self) -> dict[str, Any]:
        return {
            "person": self.person,
            "birth_date_known": self.birth_date is not None,
            "groups": list(self.groups),
            "at": iso_utc(self.at),
            "windows": [verdict.as_json() for verdict in self.verdicts],
        }


def person_eligibility(store: Store, person: str) -> PersonEligibility:
    """Every window and what it says of the person now (vaccines without a window are open to all)."""
    person = validate.parse_user(person)
    at = utcnow()
    with store.read() as conn:
        row = conn.execute(select(person_table.c.birth_date).where(person_table.c.id == person)).one_or_none()
        if row is None:
            raise people_rules.PersonNotFound(person)
        g = person_group_table.c
        groups = conn.execute(select(g.name).where(g.person_id == person).order_by(g.group_key)).scalars().all()
        keys = frozenset(validate.name_key(group) for group in groups)
        verdicts = []
        for window in _all(conn):
            matched = window.matches(row.birth_date, keys)
            opens = window.opening(row.birth_date, at) if matched else None
            verdicts.append(WindowVerdict(window, matched, opens is not None and opens <= at, opens))
    return PersonEligibility(person, row.birth_date, tuple(groups), at.astimezone(store.zone), verdicts)


def _all(conn: Connection) -> list[Window]:
    names = {key_of(v.name): v.name for v in load_catalog(conn).vaccines}
    return eligibility.load(conn, names=names).all


def _read(conn: Connection, name: str) -> Window:
    for window in _all(conn):
        if window.name.casefold() == validate.name_key(name):
            return window
    raise WindowNotFound(name)
