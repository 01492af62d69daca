"""What each export reads: its columns (CSV and JSON), the rows its filters select, its order.

Slots, reservations and the waitlist are SQL (exports.query runs it); outbox messages are few and
need their readable message (outbox.templates), so they come from outbox.queries.stream_outbox.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from vaxres import validate
from vaxres.db.store import Store
from vaxres.db.tables import ReservationStatus
from vaxres.errors import InvalidInput, InvalidValue
from vaxres.exports import fhir_sources, query
from vaxres.exports.query import DAY, NAME, TIME, Column, Query, Reading, Sql


@dataclass(frozen=True)
class ExportFilter:
    """Days of the slots (of the entries' ranges, of the messages' creation in the store's time
    zone), both ends included; which bookings; the language of the messages."""

    date_from: dt.date | None = None
    date_to: dt.date | None = None
    statuses: tuple[str, ...] = ReservationStatus.HELD
    lang: str | None = None

    @classmethod
    def parse(
        cls,
        kind: str,
        *,
        date_from: str | dt.date | None = None,
        date_to: str | dt.date | None = None,
        statuses: Iterable[str] | None = None,
        lang: str | None = None,
    ) -> ExportFilter:
        source_of(kind)
        if kind != "reservations" and statuses:
            raise InvalidInput(f"--status is for an export of reservations; {kind} have no booking status")
        first, last = validate.parse_date_range(date_from, date_to)
        return cls(first, last, parse_statuses(statuses), lang)


def parse_statuses(values: Iterable[str] | None) -> tuple[str, ...]:
    """--status reserved,administered (or repeated); `all` for every booking; by default the
    held ones (reserved, administered): the bookings an import of the file books again."""
    wanted: list[str] = []
    for value in values or ():
        for part in str(value).split(","):
            status = part.strip().lower().replace("-", "_")
            if status == "all":
                wanted.extend(ReservationStatus.ALL)
            elif status in ReservationStatus.ALL:
                wanted.append(status)
            else:
                raise InvalidValue("status", part.strip(), f"must be {', '.join(ReservationStatus.ALL)} or all")
    if not wanted:
        return ReservationStatus.HELD
    return tuple(status for status in ReservationStatus.ALL if status in wanted)


@dataclass(frozen=True)
class Source:
    """One kind of export. `header`: the CSV columns, the import's own first; `json_keys`: the
    JSON object's keys, each with the index of its value in a row (the objects are those of
    `slot list --json`, `mypage --json`, `outbox list --json`, `waitlist list --json`).
    `read(store, f, batch, counting, joined)` is a context manager over a query.Reading."""

    kind: str
    noun: tuple[str, str]  # one, many
    header: tuple[str, ...]
    json_keys: tuple[tuple[str, int], ...]
    read: Callable[..., Any]
    json_value: Callable[[str, Any], Any] = lambda key, value: value
    fhir: Callable[[Store], Any] | None = None  # FHIR resources only: the batch writer for a store

    def as_json(self, row: tuple) -> dict[str, Any]:
        value = self.json_value
        return {key: value(key, row[index]) for key, index in self.json_keys}

    def describe(self, rows: int) -> str:
        return f"{rows:,} {self.noun[0] if rows == 1 else self.noun[1]}"


# The columns of each kind, in CSV order: the import's first (imports/csvfile.py ALIASES).
SLOT_COLUMNS = (
    Column("date", "date", DAY), Column("hospital", "hospital", NAME), Column("vaccine", "vaccine", NAME),
    Column("quantity", "capacity"), Column("remaining", "remaining"), Column("id", "id"),
)  # fmt: skip
RESERVATION_COLUMNS = (
    Column("user", "r.user_id", NAME), Column("date", "s.date", DAY),
    Column("hospital", "s.hospital", NAME), Column("vaccine", "s.vaccine", NAME),
    Column("dose", "r.dose"), Column("status", "r.status"), Column("id", "r.id"), Column("slot_id", "r.slot_id"),
    Column("reserved_at", "r.reserved_at", TIME), Column("cancelled_at", "r.cancelled_at", TIME),
    Column("administered_at", "r.administered_at", TIME), Column("lot", "r.lot", NAME),
)  # fmt: skip
WAITLIST_COLUMNS = (
    Column("id", "id"), Column("user", "user_id", NAME), Column("dose", "dose"), Column("vaccine", "vaccine", NAME),
    Column("hospital", "hospital", NAME), Column("from", "date_from", DAY),
    Column("to", "date_to", DAY), Column("joined_at", "joined_at", TIME),
    Column("position", "queue_position"),
)  # fmt: skip


# People (issue 20): never a resident registration number (the store has none); its masked form.
PERSON_COLUMNS = (
    Column("id", "p.id", NAME), Column("name", "p.name", NAME), Column("birth_date", "p.birth_date", DAY),
    Column("sex", "p.sex"), Column("phone", "p.phone", NAME), Column("email", "p.email", NAME),
    Column("lang", "p.lang"), Column("guardian", "p.guardian_id", NAME), Column("groups", "g.names", NAME),
    Column("rrn_masked", "p.id_masked"), Column("created_at", "p.created_at", TIME),
    Column("updated_at", "p.updated_at", TIME), Column("forgotten_at", "p.forgotten_at", TIME),
)  # fmt: skip


def _within(sql: Sql, day: str, f: ExportFilter) -> list[str]:
    """The conditions that keep the `day` column within --from/--to."""
    where = []
    if f.date_from is not None:
        where.append(f"{day} >= {sql.param('date_from', f.date_from)}")
    if f.date_to is not None:
        where.append(f"{day} <= {sql.param('date_to', f.date_to)}")
    return where


def slots_query(sql: Sql, f: ExportFilter) -> Query:
    """The slots in the order of `slot list`."""
    return Query(
        SLOT_COLUMNS, f"FROM slot{sql.where(_within(sql, 'date', f))}", "ORDER BY date, hospital_key, vaccine_key"
    )


def reservations_query(sql: Sql, f: ExportFilter) -> Query:
    """The bookings in the order they were made: a person's dose N-1 comes before their dose N,
    so the import books the file's rows in order as `reserve` booked them."""
    where = []
    if f.statuses != ReservationStatus.ALL:
        where.append(f"r.status IN ({', '.join(sql.param(f'status{n}', s) for n, s in enumerate(f.statuses))})")
    where += _within(sql, "s.date", f)
    return Query(
        RESERVATION_COLUMNS,
        f"FROM reservation AS r JOIN slot AS s ON s.id = r.slot_id{sql.where(where)}",
        "ORDER BY r.id",
    )


def waitlist_query(sql: Sql, f: ExportFilter) -> Query:
    """The entries in join order, each with its place in its vaccine's queue (counted among all
    entries, whatever the filter); the days select the entries whose range overlaps them."""
    where = []
    if f.date_to is not None:
        where.append(f"date_from <= {sql.param('date_to', f.date_to)}")
    if f.date_from is not None:
        where.append(f"(date_to IS NULL OR date_to >= {sql.param('date_from', f.date_from)})")
    queue = (
        "SELECT waitlist.*, row_number() OVER (PARTITION BY vaccine_key ORDER BY id) AS queue_position FROM waitlist"
    )
    return Query(WAITLIST_COLUMNS, f"FROM ({queue}) AS w{sql.where(where)}", "ORDER BY id")


def persons_query(sql: Sql, f: ExportFilter) -> Query:
    """The people in id order, each with their groups' names joined by ';'; --from/--to: the day
    they were registered (UTC)."""
    groups = (
        "SELECT person_id, string_agg(name, ';' ORDER BY group_key) AS names FROM person_group GROUP BY person_id"
        if sql.postgres
        else "SELECT person_id, group_concat(name, ';') AS names FROM "
        "(SELECT person_id, name FROM person_group ORDER BY person_id, group_key) GROUP BY person_id"
    )
    registered = sql.value(Column("", "p.created_at", DAY)) if sql.postgres else "date(p.created_at)"
    return Query(
        PERSON_COLUMNS,
        f"FROM person AS p LEFT JOIN ({groups}) AS g ON g.person_id = p.id{sql.where(_within(sql, registered, f))}",
        "ORDER BY p.id",
    )


def _sql_reader(build: Callable[[Sql, ExportFilter], Query]):
    def read(store: Store, f: ExportFilter, batch: int, counting: bool, joined: bool = False):
        sql = Sql(store)
        return query.read(store, query.statement(store, build(sql, f), sql, joined=joined), batch, counting)

    return read


OUTBOX_KEYS = (
    "id", "created_at", "event", "recipient", "correlation_id", "status", "attempts",
    "next_attempt_at", "delivered_at", "last_error", "actor", "message", "payload",
)  # fmt: skip


@contextmanager
def _read_outbox(store: Store, f: ExportFilter, batch: int, counting: bool, joined: bool = False) -> Iterator[Reading]:
    """Messages oldest first, each with its readable message; the payload as JSON text."""
    from vaxres.outbox.queries import outbox_page, stream_outbox

    days: dict[str, Any] = dict(date_from=f.date_from, date_to=f.date_to)
    total = outbox_page(store, limit=1, **days).total if counting else None
    encode = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode

    def rows(records: Iterator) -> Iterator[list[tuple]]:
        chunk: list[tuple] = []
        for record in records:
            listed = record.as_json()
            listed["message"] = listed["payload"].get("message")
            listed["payload"] = encode(listed["payload"])
            chunk.append(tuple(listed[key] for key in OUTBOX_KEYS))
            if len(chunk) >= batch:
                yield chunk
                chunk = []
        if chunk:
            yield chunk

    with stream_outbox(store, lang=f.lang, **days) as records:
        yield Reading(total, rows(records))


def _outbox_json(key: str, value: Any) -> Any:
    return json.loads(value) if key == "payload" else value


def _keys(*names: str, header: tuple[str, ...], renamed: dict[str, str] | None = None) -> tuple[tuple[str, int], ...]:
    renamed = renamed or {}
    return tuple((name, header.index(renamed.get(name, name))) for name in names)


SLOT_HEADER = tuple(column.header for column in SLOT_COLUMNS)
RESERVATION_HEADER = tuple(column.header for column in RESERVATION_COLUMNS)
WAITLIST_HEADER = tuple(column.header for column in WAITLIST_COLUMNS)
PERSON_HEADER = tuple(column.header for column in PERSON_COLUMNS)

SOURCES = {
    "slots": Source(
        "slots",
        ("slot", "slots"),
        SLOT_HEADER,
        _keys(
            "id",
            "date",
            "hospital",
            "vaccine",
            "capacity",
            "remaining",
            header=SLOT_HEADER,
            renamed={"capacity": "quantity"},
        ),
        _sql_reader(slots_query),
    ),
    "reservations": Source(
        "reservations",
        ("reservation", "reservations"),
        RESERVATION_HEADER,
        _keys(
            "id",
            "user",
            "dose",
            "status",
            "slot_id",
            "date",
            "hospital",
            "vaccine",
            "reserved_at",
            "cancelled_at",
            "administered_at",
            "lot",
            header=RESERVATION_HEADER,
        ),  # fmt: skip
        _sql_reader(reservations_query),
    ),
    "outbox": Source(
        "outbox",
        ("message", "messages"),
        OUTBOX_KEYS,
        _keys(
            "id",
            "event",
            "recipient",
            "correlation_id",
            "status",
            "attempts",
            "created_at",
            "payload",
            "next_attempt_at",
            "last_error",
            "delivered_at",
            "actor",
            header=OUTBOX_KEYS,
        ),  # fmt: skip
        _read_outbox,
        _outbox_json,
    ),
    "waitlist": Source(
        "waitlist",
        ("waitlist entry", "waitlist entries"),
        WAITLIST_HEADER,
        _keys(*WAITLIST_HEADER, header=WAITLIST_HEADER, renamed={}),
        _sql_reader(waitlist_query),
    ),
    "persons": Source(
        "persons",
        ("person", "people"),
        PERSON_HEADER,
        _keys(*PERSON_HEADER, header=PERSON_HEADER, renamed={}),
        _sql_reader(persons_query),
    ),
}
for _kind, _one, _query, _writer in (
    ("immunizations", "immunization", fhir_sources.immunizations_query, fhir_sources.immunization_writer),
    ("patients", "patient", fhir_sources.patients_query, fhir_sources.patient_writer),
    ("appointments", "appointment", fhir_sources.appointments_query, fhir_sources.appointment_writer),
):  # FHIR resources only (issue 24): no CSV header nor JSON keys
    SOURCES[_kind] = Source(_kind, (_one, _kind), (), (), _sql_reader(_query), fhir=_writer)
FHIR_KINDS = tuple(kind for kind, source in SOURCES.items() if source.fhir is not None)


def source_of(kind: str) -> Source:
    try:
        return SOURCES[kind]
    except KeyError:
        raise InvalidInput(f"cannot export {kind!r}: give {', '.join(SOURCES)}") from None
