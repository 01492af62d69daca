"""CSV imports of slots and reservations: streamed, validated like the single commands, loaded
in chunks of one transaction each, with the same outbox messages as the single commands.

Invalid rows (bad values) are found in a first pass that writes nothing: by default one invalid
row stops the import before anything is written. Rows refused by a rule of the store (sold out,
a capacity below what is booked, ...) are refused one by one while the valid rows load.
Killing an import leaves whole chunks only; running it again completes it.
"""

from __future__ import annotations

import datetime as dt
import pickle
import sys
import tempfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import IO

from sqlalchemy import Connection, String, bindparam, case, cast, func, insert, literal, select, tuple_, update
from sqlalchemy.dialects import postgresql, sqlite

from vaxres import csvio, validate
from vaxres.csvio import BookingRow, RejectsWriter, RowError, SlotRow
from vaxres.errors import InvalidInput
from vaxres.models import ACTIVE, outbox_table, reservation_table, slot_table, utcnow
from vaxres.service import outbox
from vaxres.store import Store

SLOT_CHUNK = 50_000
BOOKING_CHUNK = 5_000
IMPORT_CACHE_KIB = 65_536  # SQLite page cache for the import's connection: keeps the slot index hot
REPORTED_ERRORS = 20

Progress = Callable[[str, int, int], None]  # (phase, rows done, rows in all or 0 when unknown)


@dataclass
class ImportSummary:
    kind: str
    source: str
    dry_run: bool
    rows: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    booked: int = 0
    already: int = 0
    refused: int = 0
    invalid: int = 0
    errors: list[RowError] = field(default_factory=list)
    rejects: str | None = None

    def note(self, error: RowError) -> None:
        if len(self.errors) < REPORTED_ERRORS:
            self.errors.append(error)

    @property
    def unreported(self) -> int:
        return self.refused + self.invalid - len(self.errors)

    def counts(self) -> dict[str, int]:
        if self.kind == "slots":
            names = ("rows", "created", "updated", "unchanged", "refused", "invalid")
        else:
            names = ("rows", "booked", "already", "refused", "invalid")
        return {name: getattr(self, name) for name in names}

    def as_json(self) -> dict:
        return {
            "kind": self.kind,
            "source": self.source,
            "dry_run": self.dry_run,
            **self.counts(),
            "errors": [
                {"line": e.line, "column": e.column, "value": e.value, "reason": e.reason} for e in self.errors
            ],
            "errors_not_shown": self.unreported,
            "rejects": self.rejects,
        }


class InvalidRows(InvalidInput):
    """Some rows do not validate: nothing was written (exit 2)."""

    code = "invalid_rows"

    def __init__(self, summary: ImportSummary):
        super().__init__(
            f"{summary.invalid} of {summary.rows} rows in {summary.source} are invalid; nothing was written. "
            f"Fix them (or pass --skip-invalid to load the valid rows) and run the import again"
        )
        self.summary = summary


@dataclass
class ImportOptions:
    encoding: str | None = None
    delimiter: str | None = None
    dry_run: bool = False
    skip_invalid: bool = False
    rejects: str | None = None
    progress: Progress | None = None


def import_slots(store: Store, source: str, options: ImportOptions) -> ImportSummary:
    return _run(store, source, options, kind="slots")


def import_reservations(store: Store, source: str, options: ImportOptions) -> ImportSummary:
    return _run(store, source, options, kind="reservations")


def _run(store: Store, source: str, options: ImportOptions, *, kind: str) -> ImportSummary:
    if kind == "slots":
        required, optional, chunk_size = csvio.SLOT_COLUMNS, (), SLOT_CHUNK
    else:
        required, optional, chunk_size = csvio.RESERVATION_COLUMNS, ("dose",), BOOKING_CHUNK
    label = "standard input" if source == "-" else source
    summary = ImportSummary(kind=kind, source=label, dry_run=options.dry_run, rejects=options.rejects)
    raw, _size = csvio.open_source(source)
    try:
        table = csvio.table_for(
            raw,
            encoding=options.encoding,
            delimiter=options.delimiter,
            required=required,
            optional=optional,
            source=label,
        )
        with RejectsWriter(options.rejects, table.header) as rejects, tempfile.TemporaryFile() as spool:
            # First pass: parse and validate every row, writing nothing to the store. Valid rows
            # wait in a spool file, so memory stays flat and the file is read once.
            valid = _valid_rows(table, kind, summary, rejects, options.progress, raw)
            chunks = 0
            for chunk in _chunks(valid, chunk_size):
                pickle.dump(chunk, spool, pickle.HIGHEST_PROTOCOL)
                chunks += 1
            if summary.invalid and not options.skip_invalid:
                raise InvalidRows(summary)
            spool.seek(0)
            loader = _SlotLoader(store, summary) if kind == "slots" else _BookingLoader(store, summary)
            loaded = 0
            for _ in range(chunks):
                chunk = pickle.load(spool)
                for error in loader.load(chunk, dry_run=options.dry_run):
                    summary.refused += 1
                    summary.note(error)
                    rejects.write(error)
                loaded += len(chunk)
                if options.progress:
                    options.progress("load", loaded, summary.rows - summary.invalid)
        return summary
    finally:
        if raw is not sys.stdin.buffer:
            raw.close()


def _valid_rows(table, kind, summary: ImportSummary, rejects: RejectsWriter, progress, raw):
    """Parse each data row; invalid ones are counted, reported and sent to --rejects."""
    parser = csvio.RowParser(table.positions)
    parse = parser.slot if kind == "slots" else parser.booking
    for line, cells in table.rows():
        summary.rows += 1
        row = parse(line, cells)
        if type(row) is RowError:
            summary.invalid += 1
            summary.note(row)
            rejects.write(row)
        else:
            yield row
        if progress and summary.rows % 20_000 == 0:
            progress("check", summary.rows, 0)


def _chunks(rows, size: int):
    chunk = []
    for row in rows:
        chunk.append(row)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _batches(items: list, size: int = 5000):
    """Look-ups in pieces: SQLite allows at most 32,766 parameters in one statement."""
    for start in range(0, len(items), size):
        yield items[start : start + size]


def sqlite_timestamp(value: dt.datetime) -> str:
    """How SQLAlchemy stores a UTCDateTime in SQLite, for the bulk path that binds strings itself."""
    return value.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S.%f")


def _json_object(dialect_name: str, *pairs):
    """json_object() on SQLite, json_build_object() on PostgreSQL: the payload built in the store."""
    args = [part for key, value in pairs for part in (literal(key), value)]
    if dialect_name == "postgresql":
        return func.json_build_object(*args)
    return func.json_object(*args)


s = slot_table.c
r = reservation_table.c


_SLOT_BULK_COLUMNS = (
    "date", "hospital", "vaccine", "hospital_key", "vaccine_key", "capacity", "remaining", "created_at", "updated_at",
)


class _SlotLoader:
    def __init__(self, store: Store, summary: ImportSummary):
        self.store = store
        self.summary = summary
        dialect = store.engine.dialect.name
        self._sqlite = dialect == "sqlite"
        self._insert_new = _insert_ignoring_conflicts(dialect)
        self._announce_new = _announce_new_slots(dialect)
        self._insert_sql = None
        self._iso: dict[dt.date, str] = {}

    def load(self, rows: list[SlotRow], *, dry_run: bool) -> list[RowError]:
        now = utcnow()
        if dry_run:
            with self.store.read() as conn:
                return self._classify(conn, rows, now=now, write=False)
        with self.store.write() as conn:
            after = conn.execute(select(func.coalesce(func.max(s.id), 0))).scalar_one()
            created = self._insert(conn, rows, now)
            if created:
                conn.execute(self._announce_new, {"after": after, "now": now})
            self.summary.created += created
            if created == len(rows):
                return []
            return self._classify(conn, rows, now=now, write=True, after=after)

    def _insert(self, conn: Connection, rows: list[SlotRow], now: dt.datetime) -> int:
        """Insert the rows whose slot does not exist yet; return how many were inserted."""
        key = validate.name_key
        if not self._sqlite:
            params = [
                {
                    "date": row.date, "hospital": row.hospital, "vaccine": row.vaccine,
                    "hospital_key": key(row.hospital), "vaccine_key": key(row.vaccine),
                    "capacity": row.quantity, "remaining": row.quantity, "created_at": now, "updated_at": now,
                }
                for row in rows
            ]
            return conn.execute(self._insert_new, params).rowcount
        # SQLite: the compiled statement straight to the driver's executemany, values as stored.
        if self._insert_sql is None:
            compiled = self._insert_new.compile(dialect=conn.dialect, column_keys=list(_SLOT_BULK_COLUMNS))
            assert tuple(compiled.positiontup) == _SLOT_BULK_COLUMNS, compiled.positiontup
            self._insert_sql = str(compiled)
        conn.exec_driver_sql(f"PRAGMA cache_size = -{IMPORT_CACHE_KIB}")
        stamp = sqlite_timestamp(now)
        iso = self._iso
        params = []
        for row in rows:
            day = iso.get(row.date)
            if day is None:
                day = iso[row.date] = row.date.isoformat()
            params.append(
                (day, row.hospital, row.vaccine, key(row.hospital), key(row.vaccine), row.quantity, row.quantity, stamp, stamp)
            )
        return conn.exec_driver_sql(self._insert_sql, params).rowcount

    def _classify(self, conn, rows, *, now, write, after=0) -> list[RowError]:
        """Rows not created by this chunk's insert: unchanged, updated or refused, in file order."""
        key = validate.name_key
        keys = list({(row.date, key(row.hospital), key(row.vaccine)) for row in rows})
        state = {}
        for batch in _batches(keys):
            lookup = select(s.id, s.date, s.hospital_key, s.vaccine_key, s.capacity, s.remaining).where(
                tuple_(s.date, s.hospital_key, s.vaccine_key).in_(batch)
            )
            if write:
                lookup = lookup.with_for_update()
            for found in conn.execute(lookup):
                state[(found.date, found.hospital_key, found.vaccine_key)] = {
                    "id": found.id,
                    "capacity": found.capacity,
                    "remaining": found.remaining,
                    "new": write and found.id > after,
                }
        errors: list[RowError] = []
        changed: dict[int, dict] = {}
        events = []
        for row in rows:
            slot_key = (row.date, key(row.hospital), key(row.vaccine))
            slot = state.get(slot_key)
            if slot is None:  # dry run: this row would create the slot
                state[slot_key] = {"id": None, "capacity": row.quantity, "remaining": row.quantity}
                self.summary.created += 1
                continue
            if slot.pop("new", False):
                continue  # the row that created it (counted by the insert)
            if row.quantity == slot["capacity"]:
                self.summary.unchanged += 1
                continue
            booked = slot["capacity"] - slot["remaining"]
            if row.quantity < booked:
                errors.append(
                    RowError(
                        row.line,
                        "quantity",
                        str(row.quantity),
                        f"slot {slot['id']} has {booked} doses booked; the quantity cannot drop below {booked}",
                        row.cells,
                    )
                )
                continue
            previous = slot["capacity"]
            slot["remaining"] += row.quantity - previous
            slot["capacity"] = row.quantity
            self.summary.updated += 1
            if slot["id"] is not None:
                changed[slot["id"]] = slot
                events.append((slot["id"], row, previous))
        if write and changed:
            conn.execute(
                update(slot_table)
                .where(s.id == bindparam("b_id"))
                .values(capacity=bindparam("b_capacity"), remaining=bindparam("b_remaining"), updated_at=now),
                [{"b_id": i, "b_capacity": v["capacity"], "b_remaining": v["remaining"]} for i, v in changed.items()],
            )
            conn.execute(
                insert(outbox_table),
                [
                    {
                        "event": outbox.SLOT_UPDATED,
                        "recipient": outbox.BROADCAST,
                        "payload": outbox.slot_updated_payload(
                            slot_id, row.date, row.hospital, row.vaccine, row.quantity, previous
                        ),
                        "correlation_id": slot_id,
                        "created_at": now,
                        "status": "pending",
                        "attempts": 0,
                        "next_attempt_at": now,
                    }
                    for slot_id, row, previous in events
                ],
            )
        return errors


def _insert_ignoring_conflicts(dialect: str):
    module = postgresql if dialect == "postgresql" else sqlite
    return module.insert(slot_table).on_conflict_do_nothing(index_elements=["date", "hospital_key", "vaccine_key"])


def _text(value: str):
    return literal(value, String)


def _doses_text(quantity):
    return case((quantity == 1, _text(" dose")), else_=_text(" doses"))


def _date_text(dialect: str, column):
    if dialect == "postgresql":
        return func.to_char(column, "YYYY-MM-DD", type_=String)
    return cast(column, String)


def _announce_new_slots(dialect: str):
    """One INSERT ... SELECT writes the SlotRegistered messages of every slot the chunk created."""
    day = _date_text(dialect, s.date)
    message = (
        _text("New vaccination slot: ")
        + s.vaccine
        + _text(" at ")
        + s.hospital
        + _text(" on ")
        + day
        + _text(", ")
        + cast(s.capacity, String)
        + _doses_text(s.capacity)
        + _text(" open for booking.")
    )
    payload = _json_object(
        dialect,
        ("slot_id", s.id),
        ("date", day),
        ("hospital", s.hospital),
        ("vaccine", s.vaccine),
        ("doses", s.capacity),
        ("message", message),
    )
    rows = select(
        literal(outbox.SLOT_REGISTERED),
        literal(outbox.BROADCAST),
        payload,
        s.id,
        s.created_at,
        literal("pending"),
        literal(0),
        s.created_at,
    ).where(s.id > bindparam("after"), s.created_at == bindparam("now", type_=s.created_at.type))
    return insert(outbox_table).from_select(
        ["event", "recipient", "payload", "correlation_id", "created_at", "status", "attempts", "next_attempt_at"],
        rows,
    )


class _BookingLoader:
    def __init__(self, store: Store, summary: ImportSummary):
        self.store = store
        self.summary = summary
        self._slots: dict[tuple, int] = {}
        dialect = store.engine.dialect.name
        self._announce = _announce_new_bookings(dialect)

    def load(self, rows: list[BookingRow], *, dry_run: bool) -> list[RowError]:
        now = utcnow()
        context = self.store.read() if dry_run else self.store.write()
        with context as conn:
            slot_ids = self._resolve_slots(conn, rows)
            users = list({row.user for row in rows})
            held = {}
            for batch in _batches(users):
                query = select(r.id, r.user_id, r.dose, r.slot_id).where(r.status == ACTIVE, r.user_id.in_(batch))
                held.update({(h.user_id, h.dose): (h.id, h.slot_id) for h in conn.execute(query)})
            wanted = list({slot_id for slot_id in slot_ids if slot_id is not None})
            lookup = select(s.id, s.remaining).where(s.id.in_(wanted))
            if not dry_run:
                lookup = lookup.with_for_update()
            remaining = dict(conn.execute(lookup).all())
            errors: list[RowError] = []
            taken: dict[int, int] = {}
            bookings = []
            for row, slot_id in zip(rows, slot_ids):
                if slot_id is None:
                    errors.append(
                        RowError(
                            row.line,
                            None,
                            None,
                            f"there is no slot for {row.date.isoformat()}, {row.hospital}, {row.vaccine}",
                            row.cells,
                        )
                    )
                    continue
                holding = held.get((row.user, row.dose))
                if holding is not None:
                    if holding[1] == slot_id:
                        self.summary.already += 1
                    else:
                        which = f"reservation {holding[0]}" if holding[0] else "a reservation earlier in this file"
                        errors.append(
                            RowError(
                                row.line,
                                "user",
                                row.user,
                                f"already holds {which} for dose {row.dose}; cancel it first to book another",
                                row.cells,
                            )
                        )
                    continue
                if remaining.get(slot_id, 0) <= 0:
                    errors.append(
                        RowError(
                            row.line,
                            None,
                            None,
                            f"slot {slot_id} ({row.date.isoformat()}, {row.hospital}, {row.vaccine}) is sold out",
                            row.cells,
                        )
                    )
                    continue
                remaining[slot_id] -= 1
                taken[slot_id] = taken.get(slot_id, 0) + 1
                held[(row.user, row.dose)] = (None, slot_id)
                bookings.append(
                    {"slot_id": slot_id, "user_id": row.user, "dose": row.dose, "status": ACTIVE, "reserved_at": now}
                )
            self.summary.booked += len(bookings)
            if dry_run or not bookings:
                return errors
            after = conn.execute(select(func.coalesce(func.max(r.id), 0))).scalar_one()
            conn.execute(
                update(slot_table)
                .where(s.id == bindparam("b_id"), s.remaining >= bindparam("b_taken"))
                .values(remaining=s.remaining - bindparam("b_taken"), updated_at=now),
                [{"b_id": slot_id, "b_taken": count} for slot_id, count in taken.items()],
            )
            conn.execute(insert(reservation_table), bookings)
            conn.execute(self._announce, {"after": after, "now": now})
            return errors

    def _resolve_slots(self, conn: Connection, rows: list[BookingRow]) -> list[int | None]:
        def key(row: BookingRow) -> tuple:
            return (row.date, validate.name_key(row.hospital), validate.name_key(row.vaccine))

        unknown = list({key(row) for row in rows} - self._slots.keys())
        for batch in _batches(unknown):
            found = conn.execute(
                select(s.date, s.hospital_key, s.vaccine_key, s.id).where(
                    tuple_(s.date, s.hospital_key, s.vaccine_key).in_(batch)
                )
            )
            for day, hospital_key, vaccine_key, slot_id in found:
                self._slots[(day, hospital_key, vaccine_key)] = slot_id
            if len(self._slots) > 500_000:
                self._slots.clear()
        return [self._slots.get(key(row)) for row in rows]


def _announce_new_bookings(dialect: str):
    """One INSERT ... SELECT writes the ReservationConfirmed messages of the chunk's bookings."""
    day = _date_text(dialect, s.date)
    message = (
        _text("Your reservation ")
        + cast(r.id, String)
        + _text(" is confirmed: ")
        + s.vaccine
        + _text(" (dose ")
        + cast(r.dose, String)
        + _text(") at ")
        + s.hospital
        + _text(" on ")
        + day
        + _text(".")
    )
    payload = _json_object(
        dialect,
        ("reservation_id", r.id),
        ("user", r.user_id),
        ("dose", r.dose),
        ("slot_id", s.id),
        ("date", day),
        ("hospital", s.hospital),
        ("vaccine", s.vaccine),
        ("message", message),
    )
    rows = (
        select(
            literal(outbox.RESERVATION_CONFIRMED),
            r.user_id,
            payload,
            r.id,
            r.reserved_at,
            literal("pending"),
            literal(0),
            r.reserved_at,
        )
        .select_from(reservation_table.join(slot_table, s.id == r.slot_id))
        .where(r.id > bindparam("after"), r.reserved_at == bindparam("now", type_=r.reserved_at.type))
        .order_by(r.id)
    )
    return insert(outbox_table).from_select(
        ["event", "recipient", "payload", "correlation_id", "created_at", "status", "attempts", "next_attempt_at"],
        rows,
    )
