"""Uptake by eligibility window (issue 21, item 6), the figure ministries publish: per window, the
people of the registry it matches, how many of them hold a booking of its vaccine, how many were
given it, and the shares. One aggregate statement per window (windows are few, people millions).

Registered: people not forgotten whom the window matches by its static criteria: its birth range
(`Window.birth_range()`: born range and ages on a day), and with groups, being in one of them. A
rotation does not narrow it (over its days it admits everyone in the range); a person without a
birth date matches only windows that need none. Neither its opening nor its closing matters: a
closed cohort's uptake is still reported.

Booked: of those, people holding a booking (reserved or administered) of the window's vaccine, of
its dose when it names one, else of any dose. Vaccinated: of those, people given that dose (any
dose when the window names none: at least one dose). Shares are over registered. --from/--to and
--hospital narrow the bookings counted (their slot's day and hospital), --vaccine the windows.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Select, case, exists, func, select

from vaxres.booking import eligibility
from vaxres.booking.eligibility import Window
from vaxres.booking.queries import hospital_keys, vaccine_keys
from vaxres.booking.vaccines import key_of, load_catalog
from vaxres.db import locking
from vaxres.db.store import Store
from vaxres.db.tables import (
    ReservationStatus,
    person_group_table,
    person_table,
    reservation_table,
    slot_table,
)
from vaxres.reports.figures import Report, Scope, read_report, slot_conditions

person = person_table.c
group = person_group_table.c
booking = reservation_table.c
slot = slot_table.c


@dataclass(frozen=True)
class Uptake:
    registered: int
    booked: int
    vaccinated: int

    @property
    def booked_share(self) -> float | None:
        """booked ÷ registered, from 0 to 1; None when the window matches nobody."""
        return self.booked / self.registered if self.registered else None

    @property
    def vaccinated_share(self) -> float | None:
        return self.vaccinated / self.registered if self.registered else None

    def as_json(self) -> dict[str, Any]:
        booked, vaccinated = self.booked_share, self.vaccinated_share
        return {
            "registered": self.registered,
            "booked": self.booked,
            "vaccinated": self.vaccinated,
            "booked_share": None if booked is None else round(booked, 4),
            "vaccinated_share": None if vaccinated is None else round(vaccinated, 4),
        }


@dataclass(frozen=True)
class WindowLine:
    name: str  # the window's, as typed
    vaccine: str  # the catalog's name
    dose: int | None  # None: every dose
    figures: Uptake


@dataclass(frozen=True)
class UptakeReport:
    scope: Scope
    lines: list[WindowLine]  # in the order of `window list`: by opening

    def as_json(self) -> dict[str, Any]:
        """The report's shape with a window's lines; no total, since windows overlap (one person
        may match several, for different vaccines)."""
        groups = [
            {"window": line.name, "vaccine": line.vaccine, "dose": line.dose, **line.figures.as_json()}
            for line in self.lines
        ]
        return {**self.scope.as_json(), "groups": groups, "total": None}


def report(store: Store, **options: Any) -> Report | UptakeReport:
    """What `vaxres report` prints: uptake by window with `--by window`, else slot utilisation."""
    scope = Scope.parse(**options)
    with store.read() as conn:
        if scope.by != "window":
            return read_report(conn, scope)
        locking.one_snapshot(conn)  # the windows' statements see one store
        return read_uptake(conn, scope)


def read_uptake(conn: Connection, scope: Scope) -> UptakeReport:
    catalog = load_catalog(conn)
    spellings = {key_of(v.name): [key_of(name) for name in (v.name, *v.aliases)] for v in catalog.vaccines}
    windows = eligibility.load(conn, names={key_of(v.name): v.name for v in catalog.vaccines}).all
    if scope.vaccine is not None:
        wanted = set(vaccine_keys(conn, scope.vaccine))
        windows = [window for window in windows if window.vaccine_key in wanted]
    hospitals = None if scope.hospital is None else hospital_keys(conn, scope.hospital)
    where = slot_conditions(scope, hospitals, None)
    lines = []
    for window in windows:
        keys = spellings.get(window.vaccine_key, [window.vaccine_key])
        row = conn.execute(uptake_statement(window, keys, where)).one()
        figures = Uptake(int(row.registered), int(row.booked), int(row.vaccinated))
        lines.append(WindowLine(window.name, window.vaccine, window.dose, figures))
    return UptakeReport(scope, lines)


def uptake_statement(window: Window, spellings: list[str], slot_where: list) -> Select:
    """The people the window matches, each joined to their bookings of its vaccine (`spellings`:
    its name's and aliases' keys, as slots keep them) grouped per person first (one pass over
    those bookings), then counted."""
    taken = [booking.status.in_(ReservationStatus.HELD), slot.vaccine_key.in_(spellings), *slot_where]
    if window.dose is not None:
        taken.append(booking.dose == window.dose)
    given = func.max(case((booking.status == ReservationStatus.ADMINISTERED, 1), else_=0))  # 1: given a dose
    held = (
        select(booking.user_id.label("person"), given.label("given"))
        .select_from(reservation_table.join(slot_table, slot.id == booking.slot_id))
        .where(*taken)
        .group_by(booking.user_id)
        .subquery("held")
    )
    return (
        select(
            func.count().label("registered"),
            func.count(held.c.person).label("booked"),
            func.count().filter(held.c.given == 1).label("vaccinated"),
        )
        .select_from(person_table.outerjoin(held, held.c.person == person.id))
        .where(*matched(window))
    )


def matched(window: Window) -> list:
    """The registry's people the window matches, as conditions on `person`."""
    where: list[Any] = [person.forgotten_at.is_(None)]
    if window.needs_birth_date:
        first, last = window.birth_range()
        where.append(person.birth_date.is_not(None))
        if first is not None:
            where.append(person.birth_date >= first)
        if last is not None:
            where.append(person.birth_date <= last)
    if window.groups:
        keys = sorted(window.group_keys)
        where.append(exists().where(group.person_id == person.id, group.group_key.in_(keys)))
    return where
