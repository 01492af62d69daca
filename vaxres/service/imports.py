"""CSV imports of slots and reservations: streamed, validated like the single commands, loaded
in chunks of one transaction each, with the same outbox messages as the single commands.

Invalid rows (bad values) are found in a first pass that writes nothing: by default one invalid
row stops the import before anything is written. Rows refused by a rule of the store (sold out,
a capacity below what is booked, ...) are refused one by one while the valid rows load.
Killing an import leaves whole chunks only; running it again completes it.
"""

from __future__ import annotations

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

SLOT_CHUNK = 5000
BOOKING_CHUNK = 2000
REPORTED_ERRORS = 20

Progress = Callable[[str, int, int], None]  # (phase, rows so far, bytes so far)


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
    spool: IO[bytes] | None = None
    try:
        lines = csvio.CountingReader(raw)
        if not options.skip_invalid:
            # First pass: validate every row and write nothing; stdin is kept in a spool file.
            if source == "-":
                spool = tempfile.TemporaryFile()
                lines = csvio.CountingReader(_tee(raw, spool))
            table = _table(lines, required, optional, options, label)
            with RejectsWriter(options.rejects, table.header) as rejects:
                for _row in _valid_rows(table, kind, summary, rejects, options.progress, lines, "check"):
                    pass
            if summary.invalid:
                raise InvalidRows(summary)
            summary.rows = 0
            if spool is not None:
                spool.seek(0)
                lines = csvio.CountingReader(spool)
            else:
                raw.close()
                raw, _size = csvio.open_source(source)
                lines = csvio.CountingReader(raw)
        loader = _SlotLoader(store, summary) if kind == "slots" else _BookingLoader(store, summary)
        table = _table(lines, required, optional, options, label)
        with RejectsWriter(options.rejects, table.header) as rejects:
            for chunk in _chunks(_valid_rows(table, kind, summary, rejects, None, lines, "load"), chunk_size):
                for error in loader.load(chunk, dry_run=options.dry_run):
                    summary.refused += 1
                    summary.note(error)
                    rejects.write(error)
                if options.progress:
                    options.progress("load", summary.rows, lines.bytes_read)
        return summary
    finally:
        if raw is not sys.stdin.buffer:
            raw.close()
        if spool is not None:
            spool.close()


def _table(lines: Iterable[bytes], required, optional, options: ImportOptions, label: str) -> csvio.CsvTable:
    return csvio.table_for(
        lines,
        encoding=options.encoding,
        delimiter=options.delimiter,
        required=required,
        optional=optional,
        source=label,
    )


def _valid_rows(table, kind, summary: ImportSummary, rejects: RejectsWriter, progress, lines, phase):
    """Parse each data row; invalid ones are counted, reported and sent to --rejects."""
    parser = csvio.RowParser(table.positions)
    parse = parser.slot if kind == "slots" else parser.booking
    for line, cells in table.rows():
        summary.rows += 1
        row = parse(line, cells)
        if isinstance(row, RowError):
            summary.invalid += 1
            summary.note(row)
            rejects.write(row)
        else:
            yield row
        if progress and summary.rows % 10_000 == 0:
            progress(phase, summary.rows, lines.bytes_read)


def _tee(stream: IO[bytes], spool: IO[bytes]) -> Iterator[bytes]:
    for raw in stream:
        spool.write(raw)
        yield raw


def _chunks(rows, size: int):
    chunk = []
    for row in rows:
        chunk.append(row)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _json_object(dialect_name: str, *pairs):
    """json_object() on SQLite, json_build_object() on PostgreSQL: the payload built in the store."""
    args = [part for key, value in pairs for part in (literal(key), value)]
    if dialect_name == "postgresql":
        return func.json_build_object(*args)
    return func.json_object(*args)


s = slot_table.c
r = reservation_table.c


class _SlotLoader:
    def __init__(self, store: Store, summary: ImportSummary):
        self.store = store
        self.summary = summary
        dialect = store.engine.dialect.name
        self._insert_new = _insert_ignoring_conflicts(dialect)
        self._announce_new = _announce_new_slots(dialect)

    def load(self, rows: list[SlotRow], *, dry_run: bool) -> list[RowError]:
        now = utcnow()
        params = [
            {
                "date": row.date,
                "hospital": row.hospital,
                "vaccine": row.vaccine,
                "hospital_key": validate.name_key(row.hospital),
                "vaccine_key": validate.name_key(row.vaccine),
                "capacity": row.quantity,
                "remaining": row.quantity,
                "created_at": now,
                "updated_at": now,
            }
            for row in rows
        ]
        if dry_run:
            with self.store.read() as conn:
                return self._classify(conn, rows, params, now=now, write=False)
        with self.store.write() as conn:
            after = conn.execute(select(func.coalesce(func.max(s.id), 0))).scalar_one()
            created = conn.execute(self._insert_new, params).rowcount
            if created:
                conn.execute(self._announce_new, {"after": after, "now": now})
            self.summary.created += created
            if created == len(rows):
                return []
            return self._classify(conn, rows, params, now=now, write=True, after=after)

    def _classify(self, conn, rows, params, *, now, write, after=0) -> list[RowError]:
        """Rows not created by this chunk's insert: unchanged, updated or refused, in file order."""
        keys = list({(p["date"], p["hospital_key"], p["vaccine_key"]) for p in params})
        lookup = select(s.id, s.date, s.hospital_key, s.vaccine_key, s.capacity, s.remaining, s.created_at).where(
            tuple_(s.date, s.hospital_key, s.vaccine_key).in_(keys)
        )
        if write:
            lookup = lookup.with_for_update()
        state = {
            (row.date, row.hospital_key, row.vaccine_key): {
                "id": row.id,
                "capacity": row.capacity,
                "remaining": row.remaining,
                "new": write and row.id > after,
            }
            for row in conn.execute(lookup)
        }
        errors: list[RowError] = []
        changed: dict[int, dict] = {}
        events = []
        for row, p in zip(rows, params):
            key = (p["date"], p["hospital_key"], p["vaccine_key"])
            slot = state.get(key)
            if slot is None:  # dry run: the chunk would create it
                state[key] = {"id": None, "capacity": row.quantity, "remaining": row.quantity, "new": False}
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
                        "payload": outbox.slot_updated_payload(slot_id, row.date, row.hospital, row.vaccine, row.quantity, previous),
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
            held = {
                (h.user_id, h.dose): (h.id, h.slot_id)
                for h in conn.execute(
                    select(r.id, r.user_id, r.dose, r.slot_id).where(r.status == ACTIVE, r.user_id.in_(users))
                )
            }
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
        if unknown:
            found = conn.execute(
                select(s.date, s.hospital_key, s.vaccine_key, s.id).where(
                    tuple_(s.date, s.hospital_key, s.vaccine_key).in_(unknown)
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
