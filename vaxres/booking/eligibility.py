"""Who may book, and when (issue 21): eligibility windows, and the one place their rule lives.

A window opens a vaccine (or one dose of it) to the people it matches (a range of birth dates, an
age range on a day, groups) from its opening to its closing. A rotation (`birth-digit`) admits,
on each day d from the opening day on, within d's sub-window (`--each 20:00-18:00`: from 20:00 on
d to 18:00 on d+1), only the people whose day of birth ends in the last digit of d's day of the
month: Korea's 10부제 (born on the 9th, 19th or 29th on the 9th, 19th and 29th).

A vaccine (or vaccine and dose) no window names is open to everyone. Once one does, a booking
needs a window that matches the person and is open at the booking's moment. Every path that
takes a dose asks Windows.check: `reserve`, `reschedule`, each row of `import reservations` and
the waitlist's offers (booking/rules.check_booking).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, Row, Select, bindparam, select

from vaxres import validate
from vaxres.booking.eligibility_refusals import BirthDateUnknown, Decision, NotEligible, NotOpenYet, WindowClosed
from vaxres.db.tables import person_group_table, window_table
from vaxres.formats import iso_utc

BIRTH_DIGIT = "birth-digit"
ROTATIONS = (BIRTH_DIGIT,)
# Days with the same last digit of the day of the month are at most 19 days apart (20 February
# to 10 March): a rotation's next sub-window for a person is searched that far ahead.
_ROTATION_HORIZON = 21

w = window_table.c


ELIGIBILITY_REFUSALS = (NotOpenYet, NotEligible, WindowClosed, BirthDateUnknown)


@dataclass(frozen=True, slots=True)
class Window:
    id: int
    name: str
    vaccine: str  # the catalog's name of the vaccine
    vaccine_key: str
    dose: int | None  # None: every dose
    born_from: dt.date | None
    born_to: dt.date | None
    age_min: int | None
    age_max: int | None
    age_on: dt.date | None
    groups: tuple[str, ...]  # names, as given
    opens_at: dt.datetime
    closes_at: dt.datetime | None
    zone: ZoneInfo
    rotation: str | None
    each: tuple[dt.time, dt.time] | None
    created_at: dt.datetime | None = None
    # Worked out once from the fields above (__post_init__): a check asks them for every booking.
    group_keys: frozenset[str] = field(init=False, repr=False, compare=False)
    needs_birth_date: bool = field(init=False, repr=False, compare=False)
    _born: tuple[dt.date | None, dt.date | None] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        ranges = (self.born_from, self.born_to, self.age_min, self.age_max, self.rotation)
        object.__setattr__(self, "group_keys", frozenset(validate.name_key(name) for name in self.groups))
        object.__setattr__(self, "needs_birth_date", any(value is not None for value in ranges))
        object.__setattr__(self, "_born", self._birth_range())

    def birth_range(self) -> tuple[dt.date | None, dt.date | None]:
        """Every condition on birth as one range of birth dates (first, last)."""
        return self._born

    def _birth_range(self) -> tuple[dt.date | None, dt.date | None]:  # the ages on `age_on` as dates
        first, last = self.born_from, self.born_to
        if self.age_on is not None:
            if self.age_min is not None:  # at least age_min on age_on: born on or before
                latest = years_before(self.age_on, self.age_min)
                last = latest if last is None else min(last, latest)
            if self.age_max is not None:  # at most age_max: born after the day one turns age_max + 1
                earliest = years_before(self.age_on, self.age_max + 1) + dt.timedelta(days=1)
                first = earliest if first is None else max(first, earliest)
        return first, last

    def matches(self, born: dt.date | None, groups: frozenset[str]) -> bool | None:
        """Whether the window is for this person (birth date, groups); None when it needs a birth
        date the person lacks."""
        if self.groups and not self.group_keys & groups:
            return False
        if not self.needs_birth_date:
            return True
        if born is None:
            return None
        first, last = self._born
        return (first is None or born >= first) and (last is None or born <= last)

    def opening(self, born: dt.date | None, at: dt.datetime) -> dt.datetime | None:
        """When the window is next open for this person: a moment <= `at` when it is open now,
        a later one when it opens later, None when it never opens for them again."""
        if self.closes_at is not None and (at >= self.closes_at or self.closes_at <= self.opens_at):
            return None
        if self.rotation is None:
            return self.opens_at
        assert born is not None and self.each is not None  # a rotation needs both (matches() said)
        zone = self.zone
        first_day = self.opens_at.astimezone(zone).date()
        day = max(first_day, at.astimezone(zone).date() - dt.timedelta(days=1))
        for _ in range(_ROTATION_HORIZON):
            if day.day % 10 == born.day % 10:
                start, end = self.sub_window(day)
                start = max(start, self.opens_at)
                if self.closes_at is not None:
                    end = min(end, self.closes_at)
                if start < end and at < end:
                    return start
                if self.closes_at is not None and start >= self.closes_at:
                    return None
            day += dt.timedelta(days=1)
        return None

    def sub_window(self, day: dt.date) -> tuple[dt.datetime, dt.datetime]:
        """A rotation's window on `day` (from its first time that day to its second, on the next day
        when the second comes first), as instants."""
        assert self.each is not None
        start_time, end_time = self.each
        end_day = day if end_time > start_time else day + dt.timedelta(days=1)
        start = dt.datetime.combine(day, start_time, tzinfo=self.zone)
        end = dt.datetime.combine(end_day, end_time, tzinfo=self.zone)
        return start.astimezone(dt.UTC), end.astimezone(dt.UTC)

    def as_json(self) -> dict[str, Any]:
        first, last = self.birth_range()
        return {
            "name": self.name,
            "vaccine": self.vaccine,
            "dose": self.dose,
            "born_from": _iso(self.born_from),
            "born_to": _iso(self.born_to),
            "age_min": self.age_min,
            "age_max": self.age_max,
            "age_on": _iso(self.age_on),
            "groups": list(self.groups),
            "opens_at": iso_utc(self.opens_at),
            "closes_at": iso_utc(self.closes_at),
            "time_zone": self.zone.key,
            "rotation": self.rotation,
            "each": None if self.each is None else "-".join(f"{t:%H:%M}" for t in self.each),
            "birth_dates": {"from": _iso(first), "to": _iso(last)},
        }

    @classmethod
    def from_row(cls, row: Row, vaccine: str) -> Window:
        each = None
        if row.each_from is not None and row.each_to is not None:
            each = (dt.time.fromisoformat(row.each_from), dt.time.fromisoformat(row.each_to))
        return cls(
            id=row.id,
            name=row.name,
            vaccine=vaccine,
            vaccine_key=row.vaccine_key,
            dose=row.dose,
            born_from=row.born_from,
            born_to=row.born_to,
            age_min=row.age_min,
            age_max=row.age_max,
            age_on=row.age_on,
            groups=tuple(row.groups or ()),
            opens_at=row.opens_at,
            closes_at=row.closes_at,
            zone=ZoneInfo(row.zone),
            rotation=row.rotation,
            each=each,
            created_at=row.created_at,
        )


def years_before(day: dt.date, years: int) -> dt.date:
    """The last birth date of someone `years` old on `day` (born on 29 February: 28 February)."""
    try:
        return day.replace(year=day.year - years)
    except ValueError:
        return dt.date(day.year - years, 2, 28)


def _iso(day: dt.date | None) -> str | None:
    return None if day is None else day.isoformat()


class Windows:
    """The windows of some vaccines, and the decision for one person and dose at one moment."""

    def __init__(self, windows: Iterable[Window]):
        self.all = list(windows)
        self._by_vaccine: dict[str, list[Window]] = {}
        for window in self.all:
            self._by_vaccine.setdefault(window.vaccine_key, []).append(window)
        self._need_groups = any(window.groups for window in self.all)
        # Per Windows (a booking, an import chunk): governing() by vaccine name and dose, rotations' openings.
        self._named: dict[tuple[str, int], list[Window]] = {}
        self._openings: dict[tuple[int, int, dt.datetime], dt.datetime | None] = {}

    def __bool__(self) -> bool:
        return bool(self._by_vaccine)

    def governing(self, vaccine_key: str, dose: int) -> list[Window]:
        """The windows a booking of this dose must pass (none: open to everyone)."""
        return [window for window in self._by_vaccine.get(vaccine_key, ()) if window.dose in (None, dose)]

    def need_groups(self) -> bool:
        return self._need_groups

    def check(
        self,
        user: str,
        vaccine: str,
        dose: int,
        *,
        born: dt.date | None,
        groups: frozenset[str],
        at: dt.datetime,
    ) -> None:
        """Pass when a window matching the person is open at `at` (or none governs the vaccine);
        else the refusal that helps most: register a birth date, wait for the opening, or no."""
        governing = self._named.get((vaccine, dose))
        if governing is None:
            governing = self._named[(vaccine, dose)] = self.governing(validate.name_key(vaccine), dose)
        if not governing or self._admits(governing, born, groups, at):
            return
        decided = decide(governing, born, groups, at)
        if decided is not None:
            raise decided.refusal(user, vaccine, dose)

    def _admits(self, governing: list[Window], born: dt.date | None, groups: frozenset[str], at: dt.datetime) -> bool:
        """Whether decide() is None, by the shortest way: the first window open to the person ends it;
        a rotation's opening, the same for everyone born on days of one digit, is worked out once."""
        for window in governing:
            if not window.matches(born, groups):
                continue
            if window.rotation is None or born is None:
                opens = window.opening(born, at)
            elif (key := (id(window), born.day % 10, at)) in self._openings:
                opens = self._openings[key]
            else:
                opens = self._openings[key] = window.opening(born, at)
            if opens is not None and opens <= at:
                return True
        return False

    def never(self, user: str, vaccine: str, dose: int, *, born: dt.date | None, groups: frozenset[str], at) -> None:
        """Refuse only a person no window will ever admit (the waitlist takes everyone else)."""
        governing = self.governing(validate.name_key(vaccine), dose)
        if not governing:
            return
        decided = decide(governing, born, groups, at)
        if decided is not None and decided.kind in (NotEligible, WindowClosed):
            raise decided.refusal(user, vaccine, dose)


def decide(governing: list[Window], born: dt.date | None, groups: frozenset[str], at: dt.datetime) -> Decision | None:
    """None when one of the windows is open to the person at `at`; else why not."""
    matching: list[Window] = []
    unknown: list[Window] = []
    for window in governing:
        matched = window.matches(born, groups)
        if matched is None:
            unknown.append(window)
        elif matched:
            matching.append(window)
    upcoming: list[tuple[dt.datetime, int, Window]] = []
    for window in matching:
        opens = window.opening(born, at)
        if opens is not None:
            if opens <= at:
                return None
            upcoming.append((opens, window.id, window))
    still = [window for window in unknown if window.closes_at is None or window.closes_at > at]
    if still:
        return Decision(BirthDateUnknown, still[0])
    if upcoming:
        opens, _id, window = min(upcoming)
        return Decision(NotOpenYet, window, opens)
    if matching:
        last = max(matching, key=lambda window: window.closes_at or at)
        return Decision(WindowClosed, last)
    return Decision(NotEligible, windows=tuple(governing))


_WINDOWS = select(window_table).order_by(w.opens_at, w.id)
_WINDOWS_OF = _WINDOWS.where(w.vaccine_key.in_(bindparam("b_keys", expanding=True)))
_WINDOWS_OF_ONE = _WINDOWS.where(w.vaccine_key == bindparam("b_key"))  # a booking's: nothing to expand
_GROUPS_OF = select(person_group_table.c.group_key).where(person_group_table.c.person_id == bindparam("b_person"))


def load(
    conn: Connection, vaccine_keys: Iterable[str] | None = None, *, names: dict[str, str] | None = None
) -> Windows:
    """The windows of these vaccines (by key), or of all; `names`: the catalog's name of each key,
    for showing them (a booking's refusals name the vaccine it booked)."""
    if vaccine_keys is None:
        rows = conn.execute(_WINDOWS).all()
    elif len(keys := list(vaccine_keys)) == 1:
        rows = conn.execute(_WINDOWS_OF_ONE, {"b_key": keys[0]}).all()
    else:
        rows = conn.execute(_WINDOWS_OF, {"b_keys": keys}).all()
    names = names or {}
    return Windows(Window.from_row(row, names.get(row.vaccine_key, row.vaccine_key)) for row in rows)


def groups_of_people(conn: Connection, people: Select) -> dict[str, frozenset[str]]:
    """The keys of the groups of the people a query selects, by person."""
    g = person_group_table.c
    found: dict[str, set[str]] = {}
    for person, key in conn.execute(select(g.person_id, g.group_key).where(g.person_id.in_(people))):
        found.setdefault(person, set()).add(key)
    return {person: frozenset(keys) for person, keys in found.items()}


def groups_of(conn: Connection, person: str) -> frozenset[str]:
    """The keys of a person's groups."""
    return frozenset(conn.execute(_GROUPS_OF, {"b_person": person}).scalars())
