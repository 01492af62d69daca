"""CSV imports of slots and reservations: streamed, validated like the single commands, loaded
in chunks of one transaction each, with the same outbox messages as the single commands.

Invalid rows (bad values) are found in a first pass that writes nothing: by default one invalid
row stops the import before anything is written. Rows refused by a rule of the store (sold out,
a capacity below what is booked, ...) are refused one by one while the valid rows load.
Killing an import leaves whole chunks only; running it again completes it.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from itertools import chain

from sqlalchemy import (
    Column,
    Connection,
    Date,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    and_,
    bindparam,
    cast,
    func,
    insert,
    literal,
    select,
    tuple_,
    update,
)
from sqlalchemy.exc import IntegrityError

from vaxres import csvio
from vaxres.csvio import RejectsWriter, RowError
from vaxres.errors import InvalidInput, StoreBusy
from vaxres.models import ACTIVE, outbox_table, reservation_table, slot_table, utcnow
from vaxres.service import outbox
from vaxres.store import Store

SLOT_CHUNK = 50_000  # rows per transaction: fewer, larger commits rewrite fewer index pages
BOOKING_CHUNK = 5_000
IMPORT_CACHE_KIB = 49_152  # SQLite page cache of the import's connection: keeps the slot index hot
STAGING_CACHE_KIB = 16_384
IMPORT_CHECKPOINT_PAGES = 25_000  # checkpoint the WAL every ~100 MB instead of every 4 MB while importing
REPORTED_ERRORS = 20

Progress = Callable[[str, int, int, int | None], None]  # (phase, rows, completed, total) in bytes or rows


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
    raw, size = csvio.open_source(source)
    if options.rejects is not None and size is not None and csvio.same_file(options.rejects, source):
        raise InvalidInput(f"--rejects {options.rejects} is the file being imported; name another file")
    try:
        table = csvio.table_for(
            raw,
            encoding=options.encoding,
            delimiter=options.delimiter,
            required=required,
            optional=optional,
            source=label,
        )
        with RejectsWriter(options.rejects, table.header) as rejects, store.connect() as conn:
            staging = _Staging(store, conn)
            try:
                # First pass: parse and validate every row; valid rows wait in a staging table
                # beside the store (never in the store's own tables), so memory stays flat.
                with store.transaction(conn, write=False):
                    position = (lambda: raw.tell()) if size is not None else (lambda: 0)
                    rows = _valid_rows(
                        table, kind, summary, rejects, options.progress, date_as_text=store.is_sqlite,
                        position=position, size=size,
                    )
                    valid = staging.fill(rows)
                if summary.invalid and not options.skip_invalid:
                    raise InvalidRows(summary)
                loader = _SlotLoader(store, summary, staging) if kind == "slots" else _BookingLoader(store, summary, staging)
                for low in range(1, valid + 1, chunk_size):
                    high = min(low + chunk_size - 1, valid)
                    try:
                        with store.transaction(conn, write=not options.dry_run):
                            errors = loader.load(conn, low, high, dry_run=options.dry_run)
                    except StoreBusy:
                        if low == 1 or options.dry_run:
                            raise
                        raise StoreBusy(
                            f"store busy, try again shortly: another vaxres held the write lock too long; "
                            f"the first {low - 1:,} valid rows of {label} are loaded, the rest is not. "
                            f"Run the same import again to complete it"
                        ) from None
                    for error in errors:
                        summary.refused += 1
                        summary.note(error)
                        rejects.write(error)
                    if options.progress:
                        options.progress("load", high, high, valid)
            finally:
                staging.drop()
        return summary
    finally:
        if raw is not sys.stdin.buffer:
            raw.close()


def _valid_rows(table, kind, summary: ImportSummary, rejects: RejectsWriter, progress, *, date_as_text: bool, position, size):
    """Parse each data row; invalid ones are counted, reported and sent to --rejects."""
    parser = csvio.RowParser(table.positions, date_as_text=date_as_text)
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
            progress("check", summary.rows, position(), size)


def _batches(items: list, size: int = 5000):
    """Look-ups in pieces: SQLite allows at most 32,766 parameters in one statement."""
    for start in range(0, len(items), size):
        yield items[start : start + size]


class _Staging:
    """Valid rows between the two passes: a table in a private temporary database attached to the
    import's SQLite connection (a temporary table on other backends), numbered in file order."""

    BATCH = 20_000
    ROWS_PER_INSERT = 50  # SQLite: one INSERT of 50 rows costs about half of 50 single-row INSERTs

    def __init__(self, store: Store, conn: Connection):
        self.conn = conn
        self.sqlite = store.is_sqlite
        if self.sqlite:
            driver = conn.connection.driver_connection
            driver.execute("ATTACH DATABASE '' AS vaxres_staging")
            driver.execute("PRAGMA vaxres_staging.journal_mode = OFF")
            driver.execute("PRAGMA vaxres_staging.synchronous = OFF")
            driver.execute(f"PRAGMA vaxres_staging.cache_size = -{STAGING_CACHE_KIB}")
            driver.execute(f"PRAGMA main.cache_size = -{IMPORT_CACHE_KIB}")
            driver.execute(f"PRAGMA main.wal_autocheckpoint = {IMPORT_CHECKPOINT_PAGES}")
        schema = "vaxres_staging" if self.sqlite else "pg_temp"
        self.table = Table(
            "import_rows",
            MetaData(schema=schema),
            Column("n", Integer, primary_key=True),
            Column("line", Integer, nullable=False),
            Column("user_id", String),
            Column("date", Date, nullable=False),
            Column("hospital", String, nullable=False),
            Column("vaccine", String, nullable=False),
            Column("hospital_key", String, nullable=False),
            Column("vaccine_key", String, nullable=False),
            Column("number", Integer, nullable=False),
            Column("cells", Text, nullable=False),
        )
        self.columns = [c.name for c in self.table.columns if c.name != "n"]
        with store.transaction(conn, write=False):
            self.table.drop(conn, checkfirst=True)
            self.table.create(conn)

    def fill(self, rows: Iterator[tuple]) -> int:
        """Stage the rows; return how many (they are numbered 1..n in file order)."""
        count = 0
        batch = []
        for row in rows:
            batch.append(row)
            if len(batch) >= self.BATCH:
                count += self._insert(batch)
                batch = []
        if batch:
            count += self._insert(batch)
        return count

    def _insert(self, batch: list[tuple]) -> int:
        if self.sqlite:
            sql = f"INSERT INTO vaxres_staging.import_rows ({', '.join(self.columns)}) VALUES "
            row_marks = f"({', '.join('?' * len(self.columns))})"
            per, whole = self.ROWS_PER_INSERT, len(batch) - len(batch) % self.ROWS_PER_INSERT
            if whole:
                self.conn.exec_driver_sql(
                    sql + ", ".join([row_marks] * per),
                    [tuple(chain.from_iterable(batch[start : start + per])) for start in range(0, whole, per)],
                )
            if whole < len(batch):
                self.conn.exec_driver_sql(sql + row_marks, batch[whole:])
        elif self.conn.dialect.name == "postgresql":
            # COPY: PostgreSQL's bulk path, on the import's own connection and transaction.
            driver = self.conn.connection.driver_connection
            with driver.cursor() as cursor, cursor.copy(
                f"COPY pg_temp.import_rows ({', '.join(self.columns)}) FROM STDIN"
            ) as copy:
                for values in batch:
                    copy.write_row(values)
        else:
            self.conn.execute(insert(self.table), [dict(zip(self.columns, values)) for values in batch])
        return len(batch)

    def rows(self, low: int, high: int, *extra, join=None):
        st = self.table.c
        query = select(st.line, st.user_id, st.date, st.hospital, st.vaccine, st.hospital_key, st.vaccine_key, st.number, st.cells, *extra)
        if join is not None:
            query = query.select_from(join)
        return query.where(st.n.between(low, high)).order_by(st.n)

    def drop(self) -> None:
        try:
            if self.sqlite:
                driver = self.conn.connection.driver_connection
                driver.execute("DETACH DATABASE vaxres_staging")
                driver.execute("PRAGMA main.wal_autocheckpoint = 1000")
            else:
                with self.conn.begin():
                    self.table.drop(self.conn, checkfirst=True)
        except Exception:  # the connection is being discarded anyway; the data is temporary
            pass


def _json_object(dialect_name: str, *pairs):
    """json_object() on SQLite, json_build_object() on PostgreSQL: the payload built in the store."""
    args = [part for key, value in pairs for part in (literal(key), value)]
    if dialect_name == "postgresql":
        return func.json_build_object(*args)
    return func.json_object(*args)


def _cells(text: str) -> list[str]:
    return text.split(csvio.RowParser.CELL_SEPARATOR)


s = slot_table.c
r = reservation_table.c


class _SlotLoader:
    def __init__(self, store: Store, summary: ImportSummary, staging: _Staging):
        self.summary = summary
        self.staging = staging
        dialect = store.engine.dialect.name
        st = staging.table.c
        self._created_at = bindparam("now", type_=s.created_at.type)
        new_slots = select(
            st.date, st.hospital, st.vaccine, st.hospital_key, st.vaccine_key, st.number, st.number,
            self._created_at, self._created_at,
        ).where(st.n.between(bindparam("low"), bindparam("high"))).order_by(st.n)
        # The dialect's own INSERT for ON CONFLICT; PostgreSQL's module is loaded only when used.
        if dialect == "postgresql":
            from sqlalchemy.dialects.postgresql import insert as dialect_insert
        else:
            from sqlalchemy.dialects.sqlite import insert as dialect_insert
        columns = ["date", "hospital", "vaccine", "hospital_key", "vaccine_key", "capacity", "remaining", "created_at", "updated_at"]
        # SQLAlchemy keeps an INSERT's row count only when asked.
        self._insert_plain = dialect_insert(slot_table).from_select(columns, new_slots).execution_options(preserve_rowcount=True)
        if dialect == "postgresql":
            # PostgreSQL draws an id from the sequence for every row offered to ON CONFLICT, kept
            # or not: without this filter each re-import of a plan would use up as many ids as
            # it has rows. ON CONFLICT still catches a slot another writer adds meanwhile.
            known = select(s.id).where(s.date == st.date, s.hospital_key == st.hospital_key, s.vaccine_key == st.vaccine_key)
            new_slots = new_slots.where(~known.exists())
        self._insert_new = (
            dialect_insert(slot_table)
            .from_select(columns, new_slots)
            .on_conflict_do_nothing(index_elements=["date", "hospital_key", "vaccine_key"])
            .execution_options(preserve_rowcount=True)
        )
        # PostgreSQL's ON CONFLICT costs about 60% more per row than a plain INSERT (a speculative
        # insertion each); SQLite's costs nothing extra.
        self._try_plain = dialect == "postgresql"
        self._announce_new = _announce_new_slots(dialect)
        self._join = staging.table.outerjoin(
            slot_table, and_(s.date == st.date, s.hospital_key == st.hospital_key, s.vaccine_key == st.vaccine_key)
        )

    def load(self, conn: Connection, low: int, high: int, *, dry_run: bool) -> list[RowError]:
        now = utcnow()
        after = 0
        if not dry_run:
            after = conn.execute(select(func.coalesce(func.max(s.id), 0))).scalar_one()
            created = self._create(conn, {"low": low, "high": high, "now": now})
            if created:
                conn.execute(self._announce_new, {"after": after, "now": now})
            self.summary.created += created
            if created == high - low + 1:
                return []
        lookup = self.staging.rows(
            low, high, s.id.label("slot_id"), s.capacity, s.remaining, s.created_at.label("slot_created_at"), join=self._join
        )
        rows = conn.execute(lookup).all()
        # The slots this chunk's INSERT made: numbered after `after` and stamped `now`. (On
        # PostgreSQL another writer may commit a slot numbered after `after` meanwhile; it
        # exists for this import like any other.)
        new = set() if dry_run else {
            row.slot_id for row in rows if row.slot_id is not None and row.slot_id > after and row.slot_created_at == now
        }
        current = {}
        if not dry_run:
            # Lock the existing slots and read them afresh (PostgreSQL cannot lock the nullable
            # side of the outer join above; on SQLite BEGIN IMMEDIATE already holds the store).
            ids = list({row.slot_id for row in rows if row.slot_id is not None and row.slot_id not in new})
            for batch in _batches(ids):
                locked = select(s.id, s.capacity, s.remaining).where(s.id.in_(batch)).with_for_update()
                current.update({found.id: (found.capacity, found.remaining) for found in conn.execute(locked)})
        return self._classify(conn, rows, current, new, now=now, write=not dry_run)

    def _create(self, conn: Connection, params: dict) -> int:
        """Insert the chunk's new slots; return how many. Where a plain INSERT is cheaper, it is
        tried first in a savepoint: a file of new slots, the usual case, has no conflict. When
        one turns up (an existing slot, a key twice in the chunk), the savepoint is rolled back
        and this chunk and the rest of the file go in with ON CONFLICT DO NOTHING. The failed
        attempt used up sequence numbers for the rows it got through, so it is made once per
        import at most."""
        if self._try_plain:
            try:
                with conn.begin_nested():
                    return conn.execute(self._insert_plain, params).rowcount
            except IntegrityError:
                self._try_plain = False
        return conn.execute(self._insert_new, params).rowcount

    def _classify(self, conn, rows, current, new, *, now, write) -> list[RowError]:
        """Rows the insert did not create a slot for: unchanged, updated or refused, in file order."""
        state: dict[object, dict] = {}
        errors: list[RowError] = []
        changed: dict[int, dict] = {}
        events = []
        for row in rows:
            slot_key = row.slot_id if row.slot_id is not None else (row.date, row.hospital_key, row.vaccine_key)
            slot = state.get(slot_key)
            if slot is None:
                if row.slot_id is None or row.slot_id in new:
                    # A slot this row creates (in a dry run: would create); later rows update it.
                    state[slot_key] = {"id": row.slot_id, "capacity": row.number, "remaining": row.number}
                    if row.slot_id is None:
                        self.summary.created += 1
                    continue
                capacity, remaining = current.get(row.slot_id, (row.capacity, row.remaining))
                slot = state[slot_key] = {"id": row.slot_id, "capacity": capacity, "remaining": remaining}
            if row.number == slot["capacity"]:
                self.summary.unchanged += 1
                continue
            booked = slot["capacity"] - slot["remaining"]
            if row.number < booked:
                errors.append(
                    RowError(
                        row.line,
                        "quantity",
                        str(row.number),
                        f"slot {slot['id']} has {booked} doses booked; the quantity cannot drop below {booked}",
                        _cells(row.cells),
                    )
                )
                continue
            previous = slot["capacity"]
            slot["remaining"] += row.number - previous
            slot["capacity"] = row.number
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
                            slot_id, row.date, row.hospital, row.vaccine, row.number, previous
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


def _date_text(dialect: str, column):
    """The date as `YYYY-MM-DD` in a JSON payload (PostgreSQL's JSON functions write dates so)."""
    if dialect == "postgresql":
        return column
    return cast(column, String)


def _announce_new_slots(dialect: str):
    """One INSERT ... SELECT writes the SlotRegistered messages of every slot the chunk created,
    with the facts `outbox.slot_registered_payload` holds."""
    payload = _json_object(
        dialect,
        ("slot_id", s.id),
        ("date", _date_text(dialect, s.date)),
        ("hospital", s.hospital),
        ("vaccine", s.vaccine),
        ("doses", s.capacity),
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
    """Books a chunk of rows exactly as `vaxres reserve` would, with set-based statements."""

    def __init__(self, store: Store, summary: ImportSummary, staging: _Staging):
        self.summary = summary
        self.staging = staging
        self._slots: dict[tuple, int] = {}
        self._announce = _announce_new_bookings(store.engine.dialect.name)

    def load(self, conn: Connection, low: int, high: int, *, dry_run: bool) -> list[RowError]:
        now = utcnow()
        rows = conn.execute(self.staging.rows(low, high)).all()
        slot_ids = self._resolve_slots(conn, rows)
        users = list({row.user_id for row in rows})
        held = {}
        for batch in _batches(users):
            query = select(r.id, r.user_id, r.dose, r.slot_id).where(r.status == ACTIVE, r.user_id.in_(batch))
            held.update({(h.user_id, h.dose): (h.id, h.slot_id) for h in conn.execute(query)})
        wanted = list({slot_id for slot_id in slot_ids if slot_id is not None})
        remaining = {}
        for batch in _batches(wanted):
            lookup = select(s.id, s.remaining).where(s.id.in_(batch))
            if not dry_run:
                lookup = lookup.with_for_update()
            remaining.update(dict(conn.execute(lookup).all()))
        errors: list[RowError] = []
        taken: dict[int, int] = {}
        bookings = []
        for row, slot_id in zip(rows, slot_ids):
            what = f"{row.date.isoformat()}, {row.hospital}, {row.vaccine}"
            if slot_id is None:
                errors.append(RowError(row.line, None, None, f"there is no slot for {what}", _cells(row.cells)))
                continue
            holding = held.get((row.user_id, row.number))
            if holding is not None:
                if holding[1] == slot_id:
                    self.summary.already += 1
                else:
                    which = f"reservation {holding[0]}" if holding[0] else "a reservation earlier in this file"
                    errors.append(
                        RowError(
                            row.line,
                            "user",
                            row.user_id,
                            f"already holds {which} for dose {row.number}; cancel it first to book another",
                            _cells(row.cells),
                        )
                    )
                continue
            if remaining.get(slot_id, 0) <= 0:
                errors.append(
                    RowError(row.line, None, None, f"slot {slot_id} ({what}) is sold out", _cells(row.cells))
                )
                continue
            remaining[slot_id] -= 1
            taken[slot_id] = taken.get(slot_id, 0) + 1
            held[(row.user_id, row.number)] = (None, slot_id)
            bookings.append(
                {"slot_id": slot_id, "user_id": row.user_id, "dose": row.number, "status": ACTIVE, "reserved_at": now}
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

    def _resolve_slots(self, conn: Connection, rows) -> list[int | None]:
        unknown = list({(row.date, row.hospital_key, row.vaccine_key) for row in rows} - self._slots.keys())
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
        return [self._slots.get((row.date, row.hospital_key, row.vaccine_key)) for row in rows]


def _announce_new_bookings(dialect: str):
    """One INSERT ... SELECT writes the ReservationConfirmed messages of the chunk's bookings,
    with the facts `outbox.reservation_payload` holds."""
    payload = _json_object(
        dialect,
        ("reservation_id", r.id),
        ("user", r.user_id),
        ("dose", r.dose),
        ("slot_id", s.id),
        ("date", _date_text(dialect, s.date)),
        ("hospital", s.hospital),
        ("vaccine", s.vaccine),
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
