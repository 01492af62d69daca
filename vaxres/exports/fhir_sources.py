"""What the FHIR exports read (issue 24): doses given, people, bookings and waitlist entries, and
the writers that make each batch of rows FHIR ndjson (exports/fhir.py)."""

from __future__ import annotations

import datetime as dt
import operator
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from vaxres.db.store import Store
from vaxres.exports import fhir, fhir_sqlite, query
from vaxres.exports.query import DAY, NAME, TIME, Column, Query, Sql, Statement


def _within(sql: Sql, day: str, date_from: dt.date | None, date_to: dt.date | None) -> list[str]:
    where = []
    if date_from is not None:
        where.append(f"{day} >= {sql.param('date_from', date_from)}")
    if date_to is not None:
        where.append(f"{day} <= {sql.param('date_to', date_to)}")
    return where


IMMUNIZATION_COLUMNS = (
    Column("id", "r.id"), Column("user", "r.user_id", NAME), Column("dose", "r.dose"),
    Column("administered_at", "r.administered_at", TIME), Column("lot", "r.lot", NAME),
    Column("lot_expires", "r.lot_expires", DAY), Column("site", "r.site"), Column("route", "r.route"),
    Column("hospital", "s.hospital", NAME), Column("vaccine", "s.vaccine", NAME), Column("date", "s.date", DAY),
)  # fmt: skip


def _given(sql: Sql, f: Any) -> str:
    return sql.where(["r.status = 'administered'", *_within(sql, "s.date", f.date_from, f.date_to)])


def immunizations_query(sql: Sql, f: Any) -> Query:
    """Every dose given, in reservation order; --from/--to: the slot's day."""
    return Query(
        IMMUNIZATION_COLUMNS,
        f"FROM reservation AS r JOIN slot AS s ON s.id = r.slot_id{_given(sql, f)}",
        "ORDER BY r.id",
    )


PATIENT_COLUMNS = (
    Column("id", "p.id", NAME), Column("name", "p.name", NAME), Column("birth_date", "p.birth_date", DAY),
    Column("sex", "p.sex"), Column("phone", "p.phone", NAME), Column("email", "p.email", NAME),
    Column("lang", "p.lang"), Column("forgotten_at", "p.forgotten_at", TIME),
)  # fmt: skip


def patients_query(sql: Sql, f: Any) -> Query:
    """The people in id order (never id_fingerprint nor id_masked); --from/--to: registered (UTC)."""
    registered = sql.value(Column("", "p.created_at", DAY)) if sql.postgres else "date(p.created_at)"
    return Query(
        PATIENT_COLUMNS,
        f"FROM person AS p{sql.where(_within(sql, registered, f.date_from, f.date_to))}",
        "ORDER BY p.id",
    )


def appointments_query(sql: Sql, f: Any) -> Query:
    """Bookings (any status) then waitlist entries, each in number order; --from/--to: the
    slot's day, or an entry's range overlapping them."""
    booked = _within(sql, "s.date", f.date_from, f.date_to)
    waiting = []
    if f.date_to is not None:
        waiting.append(f"w.date_from <= {sql.param('date_to', f.date_to)}")
    if f.date_from is not None:
        waiting.append(f"(w.date_to IS NULL OR w.date_to >= {sql.param('date_from', f.date_from)})")

    def day(expression: str) -> str:
        return sql.value(Column("", expression, DAY))

    def time(expression: str) -> str:
        return sql.value(Column("", expression, TIME))

    union = (
        f"SELECT 'r' AS kind, r.id AS number, r.user_id AS user_id, r.dose AS dose, r.status AS status, "
        f"{day('s.date')} AS first_day, NULL AS last_day, s.hospital AS hospital, s.vaccine AS vaccine, "
        f"r.slot_id AS slot_id, {time('r.reserved_at')} AS created "
        f"FROM reservation AS r JOIN slot AS s ON s.id = r.slot_id{sql.where(booked)} "
        f"UNION ALL "
        f"SELECT 'w', w.id, w.user_id, w.dose, 'waiting', {day('w.date_from')}, {day('w.date_to')}, w.hospital, "
        f"w.vaccine, NULL, {time('w.joined_at')} FROM waitlist AS w{sql.where(waiting)}"
    )
    names = ("kind", "number", "user_id", "dose", "status", "first_day", "last_day", "hospital", "vaccine")
    columns = tuple(Column(name, f"a.{name}") for name in (*names, "slot_id", "created"))
    return Query(columns, f"FROM ({union}) AS a", "ORDER BY a.kind, a.number")


@dataclass
class ImmunizationWriter:
    """Each dose's Immunization; counts the doses whose vaccine has no CVX, SNOMED CT or ATC code."""

    clock: fhir.LocalTime
    vaccines: dict[str, fhir.Vaccine]  # by the slots' spelling of the name
    by_key: dict[str, fhir.Vaccine] = field(default_factory=dict)  # by the name's casefolded key
    uncoded: int = 0

    def _vaccine(self, name: str) -> fhir.Vaccine:
        """A slot spelling the catalog's name otherwise (an old store's), or naming a vaccine
        the catalog did not have when the export began (text only)."""
        found = self.by_key.get(name.casefold()) or fhir.Vaccine.of(name, None, {})
        self.vaccines[name] = found
        return found

    def format(self, batch: list[tuple]) -> bytes:
        vaccines, clock, build = self.vaccines, self.clock, fhir.immunization
        out = []
        for row in batch:
            vaccine = vaccines.get(row[9])
            if vaccine is None:
                vaccine = self._vaccine(row[9])
            if not vaccine.coded:
                self.uncoded += 1
            if row[3] is None:  # recorded before administered_at was kept: the slot's day
                out.append(build((*row[:3], row[10], *row[4:9]), vaccine, clock, day_only=True))
            else:
                out.append(build(row, vaccine, clock))
        return "".join(out).encode("utf-8")

    def notes(self) -> dict[str, int]:
        return {"uncoded": self.uncoded}


@dataclass
class SqliteImmunizationWriter:
    """The lines made whole by SQLite (exports/fhir_sqlite.py): Python joins each batch's bytes.
    The doses without codes are counted by one query before the lines, in the same transaction."""

    offset: int
    by_key: dict[str, fhir.Vaccine]
    uncoded: int = 0

    def read(self, store: Store, f: Any, batch: int, counting: bool, joined: bool = False):
        sql = Sql(store)
        where = _given(sql, f)
        rows = fhir_sqlite.statement(sql, where, self.by_key, self.offset)
        uncoded = fhir_sqlite.uncoded_count(sql, where, self.by_key)
        count = f"SELECT count(*) FROM reservation AS r JOIN slot AS s ON s.id = r.slot_id{where}"

        def prepare(driver: Any) -> None:
            fhir_sqlite.prepare(driver)
            self.uncoded = driver.execute(uncoded, sql.params).fetchone()[0]

        return query.read(store, Statement(rows, count, sql.params, 1), batch, counting, prepare=prepare)

    def format(self, batch: list[tuple]) -> bytes:
        return b"".join(map(_first, batch))

    def notes(self) -> dict[str, int]:
        return {"uncoded": self.uncoded}


_first = operator.itemgetter(0)


def immunization_writer(store: Store) -> ImmunizationWriter | SqliteImmunizationWriter:
    """SQLite builds the lines itself when the store's offset is one constant (and the catalog
    not too long for its formats); else Python does."""
    from vaxres.booking.vaccines import list_vaccines

    vaccines = {v.name: fhir.Vaccine.of(v.name, v.doses, dict(v.codes)) for v in list_vaccines(store)}
    by_key = {name.casefold(): vaccine for name, vaccine in vaccines.items()}
    offset = None
    if store.is_sqlite and len(by_key) <= fhir_sqlite.MOST_VACCINES:
        offset = fhir_sqlite.fixed_offset(store.zone)
    if offset is not None:
        return SqliteImmunizationWriter(offset, by_key)
    return ImmunizationWriter(fhir.LocalTime(store.zone), dict(vaccines), by_key)


@dataclass
class RowWriter:
    build: Callable[[tuple], str]

    def format(self, batch: list[tuple]) -> bytes:
        build = self.build
        return "".join([build(row) for row in batch]).encode("utf-8")

    def notes(self) -> dict[str, int]:
        return {}


def patient_writer(store: Store) -> RowWriter:
    return RowWriter(fhir.patient)


def appointment_writer(store: Store) -> RowWriter:
    clock = fhir.LocalTime(store.zone)
    return RowWriter(lambda row: fhir.appointment(row, clock))
