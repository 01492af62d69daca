"""What each export reads: its columns (CSV and JSON), the rows its filters select, its order.

Slots, reservations and the waitlist are read with SQL written here and run on the driver's own
cursor (a server-side cursor on PostgreSQL), a batch of plain tuples at a time: no Row object or
type conversion per value, because every value leaves the database as the text or number the
file holds (days as YYYY-MM-DD, times as ISO 8601 UTC, formatted by the database). That is what
lets `export reservations` keep up with the sqlite3 shell. Outbox messages are few and need
their readable message (outbox.templates), so they come from outbox.queries.stream_outbox.
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
            raise InvalidInput(f"--status is for `vaxres export reservations`; {kind} have no booking status")
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
class Reading:
    total: int | None  # the rows to come, when counting was asked for
    batches: Iterator[list[tuple]]


@dataclass(frozen=True)
class Source:
    """One kind of export. `header`: the CSV columns, the import's own first; `json_keys`: the
    JSON object's keys, each with the index of its value in a row (the objects are those of
    `slot list --json`, `mypage --json`, `outbox list --json`, `waitlist list --json`)."""

    kind: str
    noun: tuple[str, str]  # one, many
    header: tuple[str, ...]
    json_keys: tuple[tuple[str, int], ...]
    read: Callable[[Store, ExportFilter, int, bool], Any]  # a context manager over a Reading
    json_value: Callable[[str, Any], Any] = lambda key, value: value

    def as_json(self, row: tuple) -> dict[str, Any]:
        value = self.json_value
        return {key: value(key, row[index]) for key, index in self.json_keys}

    def describe(self, rows: int) -> str:
        return f"{rows:,} {self.noun[0] if rows == 1 else self.noun[1]}"


class _Sql:
    """The few places SQLite and PostgreSQL are spelled differently, and the parameters."""

    def __init__(self, store: Store):
        self.postgres = not store.is_sqlite
        self.params: dict[str, Any] = {}

    def day(self, column: str) -> str:
        return f"to_char({column}, 'YYYY-MM-DD')" if self.postgres else column

    def utc(self, column: str) -> str:
        if self.postgres:
            return f"""to_char({column} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"')"""
        return f"strftime('%Y-%m-%dT%H:%M:%SZ', {column})"  # stored as UTC text

    def param(self, name: str, value: Any) -> str:
        if isinstance(value, dt.date) and not self.postgres:
            value = value.isoformat()  # days are stored as ISO text
        self.params[name] = value
        return f"%({name})s" if self.postgres else f":{name}"

    def where(self, conditions: list[str]) -> str:
        return f" WHERE {' AND '.join(conditions)}" if conditions else ""


def slots_sql(sql: _Sql, f: ExportFilter) -> tuple[str, str, str]:
    """(columns, FROM ... WHERE ..., ORDER BY ...): the slots in the order of `slot list`."""
    where = []
    if f.date_from is not None:
        where.append(f"date >= {sql.param('date_from', f.date_from)}")
    if f.date_to is not None:
        where.append(f"date <= {sql.param('date_to', f.date_to)}")
    return (
        f"{sql.day('date')}, hospital, vaccine, capacity, remaining, id",
        f"FROM slot{sql.where(where)}",
        "ORDER BY date, hospital_key, vaccine_key",
    )


def reservations_sql(sql: _Sql, f: ExportFilter) -> tuple[str, str, str]:
    """The bookings in the order they were made: a person's dose N-1 comes before their dose N,
    so the import books the file's rows in order as `reserve` booked them."""
    where = []
    if f.statuses != ReservationStatus.ALL:
        where.append(f"r.status IN ({', '.join(sql.param(f'status{n}', s) for n, s in enumerate(f.statuses))})")
    if f.date_from is not None:
        where.append(f"s.date >= {sql.param('date_from', f.date_from)}")
    if f.date_to is not None:
        where.append(f"s.date <= {sql.param('date_to', f.date_to)}")
    times = ", ".join(sql.utc(f"r.{column}") for column in ("reserved_at", "cancelled_at", "administered_at"))
    return (
        f"r.user_id, {sql.day('s.date')}, s.hospital, s.vaccine, r.dose, r.status, r.id, r.slot_id, {times}, r.lot",
        f"FROM reservation AS r JOIN slot AS s ON s.id = r.slot_id{sql.where(where)}",
        "ORDER BY r.id",
    )


def waitlist_sql(sql: _Sql, f: ExportFilter) -> tuple[str, str, str]:
    """The entries in join order, each with its place in its vaccine's queue (counted among all
    entries, whatever the filter); the days select the entries whose range overlaps them."""
    where = []
    if f.date_to is not None:
        where.append(f"date_from <= {sql.param('date_to', f.date_to)}")
    if f.date_from is not None:
        where.append(f"(date_to IS NULL OR date_to >= {sql.param('date_from', f.date_from)})")
    queue = "SELECT waitlist.*, row_number() OVER (PARTITION BY vaccine_key ORDER BY id) AS queue_position FROM waitlist"
    return (
        f"id, user_id, dose, vaccine, hospital, {sql.day('date_from')}, {sql.day('date_to')}, "
        f"{sql.utc('joined_at')}, queue_position",
        f"FROM ({queue}) AS w{sql.where(where)}",
        "ORDER BY id",
    )


def statement(store: Store, build: Callable[[_Sql, ExportFilter], tuple[str, str, str]], f: ExportFilter) -> tuple[str, str, dict]:
    """(the SELECT of the rows, the SELECT count(*) of them, their parameters) on this store's
    backend; the benchmark hands the very same SELECT to the sqlite3 shell."""
    sql = _Sql(store)
    columns, source, order = build(sql, f)
    return f"SELECT {columns} {source} {order}", f"SELECT count(*) {source}", sql.params


def _sql_reader(build: Callable[[_Sql, ExportFilter], tuple[str, str, str]]):
    @contextmanager
    def read(store: Store, f: ExportFilter, batch: int, counting: bool) -> Iterator[Reading]:
        rows, count, params = statement(store, build, f)
        with store.read() as conn:
            driver = conn.connection.driver_connection
            total = None
            if counting:
                cursor = driver.cursor()
                cursor.execute(count, params)
                total = cursor.fetchone()[0]
                cursor.close()
            yield Reading(total, _batches(driver, rows, params, batch, not store.is_sqlite))

    return read


def _batches(driver: Any, statement: str, params: dict, batch: int, postgres: bool) -> Iterator[list[tuple]]:
    """The rows `batch` at a time, as the driver's tuples; on PostgreSQL from a server-side
    cursor, so the server hands them over as they are fetched, never all at once."""
    cursor = driver.cursor(name="vaxres_export") if postgres else driver.cursor()
    try:
        cursor.execute(statement, params)
        while rows := cursor.fetchmany(batch):
            yield rows
    finally:
        cursor.close()


OUTBOX_KEYS = (
    "id", "created_at", "event", "recipient", "correlation_id", "status", "attempts",
    "next_attempt_at", "delivered_at", "last_error", "message", "payload",
)  # fmt: skip


@contextmanager
def _read_outbox(store: Store, f: ExportFilter, batch: int, counting: bool) -> Iterator[Reading]:
    """Messages oldest first, each with its readable message; the payload as JSON text."""
    from vaxres.outbox.queries import outbox_page, stream_outbox

    days = dict(date_from=f.date_from, date_to=f.date_to)
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


SLOT_HEADER = ("date", "hospital", "vaccine", "quantity", "remaining", "id")
RESERVATION_HEADER = (
    "user", "date", "hospital", "vaccine", "dose", "status", "id", "slot_id",
    "reserved_at", "cancelled_at", "administered_at", "lot",
)  # fmt: skip
WAITLIST_HEADER = ("id", "user", "dose", "vaccine", "hospital", "from", "to", "joined_at", "position")

SOURCES = {
    "slots": Source(
        "slots",
        ("slot", "slots"),
        SLOT_HEADER,
        _keys("id", "date", "hospital", "vaccine", "capacity", "remaining", header=SLOT_HEADER, renamed={"capacity": "quantity"}),
        _sql_reader(slots_sql),
    ),
    "reservations": Source(
        "reservations",
        ("reservation", "reservations"),
        RESERVATION_HEADER,
        _keys(
            "id", "user", "dose", "status", "slot_id", "date", "hospital", "vaccine",
            "reserved_at", "cancelled_at", "administered_at", "lot", header=RESERVATION_HEADER,
        ),  # fmt: skip
        _sql_reader(reservations_sql),
    ),
    "outbox": Source(
        "outbox",
        ("message", "messages"),
        OUTBOX_KEYS,
        _keys(
            "id", "event", "recipient", "correlation_id", "status", "attempts", "created_at",
            "payload", "next_attempt_at", "last_error", "delivered_at", header=OUTBOX_KEYS,
        ),  # fmt: skip
        _read_outbox,
        _outbox_json,
    ),
    "waitlist": Source(
        "waitlist",
        ("waitlist entry", "waitlist entries"),
        WAITLIST_HEADER,
        _keys(*WAITLIST_HEADER, header=WAITLIST_HEADER, renamed={}),
        _sql_reader(waitlist_sql),
    ),
}


def source_of(kind: str) -> Source:
    try:
        return SOURCES[kind]
    except KeyError:
        raise InvalidInput(f"cannot export {kind!r}: give {', '.join(SOURCES)}") from None
