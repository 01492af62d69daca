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
from dataclasses import dataclass

from sqlalchemy.exc import IntegrityError

from vaxres.booking.vaccines import Catalog, load_catalog
from vaxres.db.store import Store
from vaxres.errors import InvalidInput, StoreBusy
from vaxres.imports import csvfile
from vaxres.imports.booking_loader import BookingLoader
from vaxres.imports.report import ImportSummary, InvalidRows, RejectsWriter
from vaxres.imports.rows import RowError, RowParser, StagedRow
from vaxres.imports.slot_loader import SlotLoader
from vaxres.imports.staging import Staging

SLOT_CHUNK = 50_000  # rows per transaction: fewer, larger commits rewrite fewer index pages
BOOKING_CHUNK = 5_000

Progress = Callable[[str, int, int, int | None], None]  # (phase, rows, completed, total) in bytes or rows


@dataclass
class ImportOptions:
    encoding: str | None = None
    delimiter: str | None = None
    dry_run: bool = False
    skip_invalid: bool = False
    rejects: str | None = None
    force: bool = False  # replace an existing --rejects file
    progress: Progress | None = None


def import_slots(store: Store, source: str, options: ImportOptions) -> ImportSummary:
    return _run(store, source, options, kind="slots")


def import_reservations(store: Store, source: str, options: ImportOptions) -> ImportSummary:
    return _run(store, source, options, kind="reservations")


def _run(store: Store, source: str, options: ImportOptions, *, kind: str) -> ImportSummary:
    if kind == "slots":
        required, optional, chunk_size = csvfile.SLOT_HEADERS, (), SLOT_CHUNK
    else:
        required, optional, chunk_size = csvfile.RESERVATION_HEADERS, ("dose",), BOOKING_CHUNK
    label = "standard input" if source == "-" else source
    summary = ImportSummary(kind=kind, source=label, dry_run=options.dry_run, rejects=options.rejects)
    raw, size = csvfile.open_source(source)
    if options.rejects is not None and size is not None and csvfile.same_file(options.rejects, source):
        raise InvalidInput(f"--rejects {options.rejects} is the file being imported; name another file")
    try:
        table = csvfile.table_for(
            raw,
            encoding=options.encoding,
            delimiter=options.delimiter,
            required=required,
            optional=optional,
            source=label,
        )
        with RejectsWriter(options.rejects, table.header, force=options.force) as rejects, store.connect() as conn:
            staging = Staging(store, conn)
            try:
                # First pass: parse and validate every row; valid rows wait in a staging table
                # beside the store (never in the store's own tables), so memory stays flat.
                # Vaccine names are resolved through the catalog, read once here.
                with store.transaction(conn, write=False):
                    position = (lambda: raw.tell()) if size is not None else (lambda: 0)
                    rows = _valid_rows(
                        table, kind, summary, rejects, options.progress, catalog=load_catalog(conn), today=store.today(),
                        date_as_text=store.is_sqlite, position=position, size=size,
                    )
                    valid = staging.fill(rows)
                if summary.invalid and not options.skip_invalid:
                    raise InvalidRows(summary)
                loader = SlotLoader(store, summary, staging) if kind == "slots" else BookingLoader(store, summary, staging)
                for low in range(1, valid + 1, chunk_size):
                    high = min(low + chunk_size - 1, valid)
                    try:
                        with store.transaction(conn, write=not options.dry_run):
                            errors = loader.load(conn, low, high, dry_run=options.dry_run)
                    except StoreBusy:
                        if low == 1 or options.dry_run:
                            raise
                        raise _stopped(
                            "store busy, try again shortly: another vaxres held the write lock too long", low, label
                        ) from None
                    except IntegrityError:
                        # PostgreSQL: another writer booked one of these people while the chunk
                        # was decided; the unique index refused the chunk, which rolled back.
                        cause = "another vaxres changed the same bookings while this import ran"
                        raise _stopped(cause, low, label) from None
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


def _stopped(cause: str, low: int, label: str) -> StoreBusy:
    """The chunk starting at staged row `low` rolled back; the ones before it are committed."""
    return StoreBusy(
        f"{cause}; the first {low - 1:,} valid rows of {label} are loaded, the rest is not. "
        f"Run the same import again to complete it"
    )


def _valid_rows(
    table: csvfile.CsvTable, kind: str, summary: ImportSummary, rejects: RejectsWriter, progress: Progress | None,
    *, catalog: Catalog, today, date_as_text: bool, position: Callable[[], int], size: int | None,
) -> Iterator[StagedRow]:
    """Parse each data row; invalid ones are counted, reported and sent to --rejects."""
    parser = RowParser(table.positions, catalog, today=today, date_as_text=date_as_text)
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
