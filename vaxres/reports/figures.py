"""Utilisation (issue 14): per day, hospital or vaccine, the doses of the slots and what became of
them, and the people waiting, read by one aggregate statement on either backend.

Booked = reserved + administered + no-show: the doses taken out of the slots (capacity =
remaining + booked, the store's invariant); fill rate = booked ÷ capacity. Cancelled bookings gave
their dose back and are counted on their own.

Waiting: the waitlist entries in the report's scope (their vaccine among the --vaccine matches,
their days overlapping --from/--to, and with --hospital, naming no hospital or a text one of the
matched hospitals contains), counted per line as the waitlist would offer a dose of that line:
by vaccine, the entry's vaccine; by day, entries whose days include it; by hospital, entries
whose hospital text the hospital's name contains (the entries naming no hospital are counted
apart, `any_hospital`). An entry may suit several lines; the total counts each entry once.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    CompoundSelect,
    Connection,
    Select,
    case,
    exists,
    func,
    literal_column,
    null,
    or_,
    select,
    union_all,
)

from vaxres import validate
from vaxres.booking.queries import hospital_keys, vaccine_keys
from vaxres.booking.suits import day_suits_sql, hospital_suits_sql
from vaxres.booking.vaccines import key_of, load_catalog
from vaxres.db import sql
from vaxres.db.listing import named
from vaxres.db.store import Store
from vaxres.db.tables import ReservationStatus, reservation_table, slot_table, waitlist_table
from vaxres.errors import InvalidValue

BY = ("day", "hospital", "vaccine", "window")  # window: uptake (reports/uptake.py)
slot = slot_table.c
booking = reservation_table.c
w = waitlist_table.c
COUNTS = ("reserved", "administered", "no_show", "cancelled")
STATUS_OF = {
    "reserved": ReservationStatus.RESERVED,
    "administered": ReservationStatus.ADMINISTERED,
    "no_show": ReservationStatus.NO_SHOW,
    "cancelled": ReservationStatus.CANCELLED,
}


@dataclass(frozen=True)
class Figures:
    capacity: int
    reserved: int
    administered: int
    no_show: int
    cancelled: int
    remaining: int
    waiting: int

    @property
    def booked(self) -> int:
        return self.reserved + self.administered + self.no_show

    @property
    def fill_rate(self) -> float | None:
        """booked ÷ capacity, from 0 to 1; None without capacity (a report with no slot)."""
        return self.booked / self.capacity if self.capacity else None

    def as_json(self) -> dict[str, Any]:
        rate = self.fill_rate
        return {
            "capacity": self.capacity,
            "reserved": self.reserved,
            "administered": self.administered,
            "no_show": self.no_show,
            "cancelled": self.cancelled,
            "remaining": self.remaining,
            "booked": self.booked,
            "fill_rate": None if rate is None else round(rate, 4),
            "waiting": self.waiting,
        }


@dataclass(frozen=True)
class Line:
    name: str  # the day (YYYY-MM-DD), the hospital or the vaccine, as stored
    figures: Figures


@dataclass(frozen=True)
class Scope:
    """What a report covers and how it groups: parsed as `slot list` parses its filters."""

    by: str = "day"
    date_from: dt.date | None = None
    date_to: dt.date | None = None
    hospital: str | None = None
    vaccine: str | None = None

    @classmethod
    def parse(
        cls,
        *,
        by: str = "day",
        date_from: str | dt.date | None = None,
        date_to: str | dt.date | None = None,
        hospital: str | None = None,
        vaccine: str | None = None,
    ) -> Scope:
        grouping = str(by).strip().lower()
        if grouping not in BY:
            raise InvalidValue("--by", by, "must be day, hospital, vaccine or window")
        first, last = validate.parse_date_range(date_from, date_to)
        return cls(
            grouping,
            first,
            last,
            None if hospital is None else validate.normalize_name(hospital, field="hospital"),
            None if vaccine is None else validate.normalize_name(vaccine, field="vaccine"),
        )

    def describe(self, subject: str) -> str:
        """'{subject} by hospital, 2026-12-01 to the last, hospitals matching 'seoul'': the
        terminal table's title and the page's heading."""
        parts = [f"{subject} by {self.by}"]
        if self.date_from is not None or self.date_to is not None:
            first = self.date_from.isoformat() if self.date_from else "the first day"
            parts.append(f"{first} to {self.date_to.isoformat() if self.date_to else 'the last'}")
        if self.hospital is not None:
            parts.append(f"hospitals matching {self.hospital!r}")
        if self.vaccine is not None:
            parts.append(f"vaccines matching {self.vaccine!r}")
        return ", ".join(parts)

    def as_json(self) -> dict[str, Any]:
        return {
            "by": self.by,
            "from": None if self.date_from is None else self.date_from.isoformat(),
            "to": None if self.date_to is None else self.date_to.isoformat(),
            "hospital": self.hospital,
            "vaccine": self.vaccine,
        }


@dataclass(frozen=True)
class Report:
    scope: Scope
    lines: list[Line]  # in the order of their day or name
    total: Figures  # waiting: every entry in scope, once
    any_hospital: int | None  # by hospital: the entries in scope that name no hospital

    def as_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            **self.scope.as_json(),
            "groups": [{self.scope.by: line.name, **line.figures.as_json()} for line in self.lines],
            "total": self.total.as_json(),
        }
        if self.any_hospital is not None:
            data["waiting_any_hospital"] = self.any_hospital
        return data


def utilisation(store: Store, **options: Any) -> Report:
    """The report `vaxres report` prints: see the module's docstring for what each figure counts."""
    scope = Scope.parse(**options)
    with store.read() as conn:
        return read_report(conn, scope)


def read_report(conn: Connection, scope: Scope) -> Report:
    """One statement: the lines in order, then the total row."""
    catalog = load_catalog(conn) if scope.by == "vaccine" else None
    rows = conn.execute(report_statement(conn, scope)).all()
    *lines, total = rows

    def figures(row) -> Figures:
        return Figures(*(int(row[name] or 0) for name in ("capacity", *COUNTS, "remaining", "waiting")))

    def name(row) -> str:
        if scope.by == "day":
            key = row.key
            return key.isoformat() if isinstance(key, dt.date) else str(key)
        if catalog is not None and (known := catalog.find(row.key)) is not None:
            return known.name
        return row.label

    return Report(
        scope,
        [Line(name(row._mapping), figures(row._mapping)) for row in lines],
        figures(total._mapping),
        int(total.any_hospital or 0) if scope.by == "hospital" else None,
    )


def report_statement(conn: Connection, scope: Scope) -> CompoundSelect:
    """The report as one set-based statement: the bookings counted per slot (one pass over the
    reservations), joined to the slots and summed per line; the waitlist entries grouped by what
    a line matches on, then joined to the lines; a total row from the lines."""
    hospitals = None if scope.hospital is None else hospital_keys(conn, scope.hospital)
    vaccines = None if scope.vaccine is None else vaccine_keys(conn, scope.vaccine)
    where = slot_conditions(scope, hospitals, vaccines)
    key, label = _grouping(conn, scope.by)
    per_slot = select(
        booking.slot_id, *(func.count().filter(booking.status == STATUS_OF[n]).label(n) for n in COUNTS)
    ).group_by(booking.slot_id)
    if where:
        per_slot = per_slot.where(booking.slot_id.in_(select(slot.id).where(*where)))
    taken = per_slot.cte("taken")
    lines = (
        select(
            key.label("key"),
            func.min(label).label("label"),
            func.sum(slot.capacity).label("capacity"),
            *(func.coalesce(func.sum(taken.c[n]), 0).label(n) for n in COUNTS),
            func.sum(slot.remaining).label("remaining"),
        )
        .select_from(slot_table.outerjoin(taken, taken.c.slot_id == slot.id))
        .where(*where)
        .group_by(key)
        .cte("lines")
    )
    entries = _entry_conditions(conn, scope, hospitals, vaccines)
    waiting = _waiting_per_line(conn, scope.by, lines, entries).cte("waiting")
    per_line = select(
        literal_column("0").label("is_total"),
        *(lines.c[n].label(n) for n in ("key", "label", "capacity", *COUNTS, "remaining")),
        func.coalesce(waiting.c.n, 0).label("waiting"),
        null().label("any_hospital"),
    ).select_from(lines.outerjoin(waiting, waiting.c.key == lines.c.key))
    in_scope = select(func.count()).select_from(waitlist_table).where(*entries)
    total = select(
        literal_column("1"),
        null(),
        null(),
        func.coalesce(func.sum(lines.c.capacity), 0),
        *(func.coalesce(func.sum(lines.c[n]), 0) for n in COUNTS),
        func.coalesce(func.sum(lines.c.remaining), 0),
        in_scope.scalar_subquery(),
        in_scope.where(w.hospital_key.is_(None)).scalar_subquery(),
    ).select_from(lines)
    report = union_all(per_line, total)
    return report.order_by(literal_column("is_total"), literal_column("key"))


def slot_conditions(scope: Scope, hospitals: list[str] | None, vaccines: list[str] | None) -> list:
    """`hospitals`, `vaccines`: the stored keys --hospital and --vaccine matched, as for `slot list`."""
    where: list[Any] = []
    if scope.date_from is not None:
        where.append(slot.date >= scope.date_from)
    if scope.date_to is not None:
        where.append(slot.date <= scope.date_to)
    if hospitals is not None:
        where.append(named(slot.hospital_key, hospitals, validate.name_key(scope.hospital or "")))
    if vaccines is not None:
        where.append(slot.vaccine_key.in_(vaccines))
    return where


def _grouping(conn: Connection, by: str) -> tuple:
    """The column a line is keyed by and the one it is named by. A vaccine's line gathers the slots
    that keep one of its aliases as their name (stores upgraded from before the catalog)."""
    if by in ("day", "hospital"):
        column = slot.date if by == "day" else slot.hospital_key
        # SQLite would walk an index of the column to group without sorting and read every slot
        # in its order, at random; scanning the table and sorting its 1,000,000 keys costs less.
        key = sql.unindexed(column)
        return key, (slot.date if by == "day" else slot.hospital)
    aliases = {
        key_of(spelling): key_of(vaccine.name)
        for vaccine in load_catalog(conn).vaccines
        for spelling in vaccine.aliases
        if key_of(spelling) != key_of(vaccine.name)
    }
    if not aliases:
        return slot.vaccine_key, slot.vaccine
    return case(aliases, value=slot.vaccine_key, else_=slot.vaccine_key), slot.vaccine


def _entry_conditions(conn: Connection, scope: Scope, hospitals: list[str] | None, vaccines: list[str] | None) -> list:
    where: list[Any] = []
    if vaccines is not None:
        where.append(w.vaccine_key.in_(vaccines))
    if scope.date_to is not None:
        where.append(w.date_from <= scope.date_to)
    if scope.date_from is not None:
        where.append(or_(w.date_to.is_(None), w.date_to >= scope.date_from))
    if hospitals is not None:
        matched = (
            select(slot.hospital_key.label("key"))
            .where(named(slot.hospital_key, hospitals, validate.name_key(scope.hospital or "")))
            .group_by(slot.hospital_key)
            .cte("hospitals")
        )
        serves = exists().where(sql.contains(matched.c.key, w.hospital_key))
        where.append(or_(w.hospital_key.is_(None), serves))
    return where


def _waiting_per_line(conn: Connection, by: str, lines, entries: list) -> Select:
    """The entries in scope, grouped by what a line is matched on, then summed per line."""
    wanted: Any
    if by == "vaccine":
        wanted = select(w.vaccine_key.label("k"), func.count().label("n")).where(*entries).group_by(w.vaccine_key)
        wanted = wanted.cte("wanted")
        matches = wanted.c.k == lines.c.key
    elif by == "hospital":
        wanted = select(w.hospital_key.label("k"), func.count().label("n"))
        wanted = wanted.where(*entries, w.hospital_key.is_not(None)).group_by(w.hospital_key).cte("wanted")
        matches = hospital_suits_sql(wanted.c.k, lines.c.key)
    else:
        wanted = select(w.date_from, w.date_to, func.count().label("n")).where(*entries)
        wanted = wanted.group_by(w.date_from, w.date_to).cte("wanted")
        matches = day_suits_sql(wanted.c.date_from, wanted.c.date_to, lines.c.key)
    return (
        select(lines.c.key, func.sum(wanted.c.n).label("n"))
        .select_from(lines.join(wanted, matches))
        .group_by(lines.c.key)
    )
