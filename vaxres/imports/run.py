"""CSV imports of slots and reservations: streamed, validated like the single commands, loaded
in chunks of one transaction each, with the same outbox messages as the single commands.

Invalid rows (bad values) are found in a first pass that writes nothing: by default one invalid
row stops the import before anything is written. Rows refused by a rule of the store (sold out,
a capacity below what is booked, ...) are refused one by one while the valid rows load.
Killing an import leaves whole chunks only; running it again completes it.
"""

from __future__ import annotations

import dataclasses
import gc
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from sqlalchemy import Connection
from sqlalchemy.exc import IntegrityError

from vaxres.booking.doses import SlotsChangedMeanwhile
from vaxres.booking.vaccines import load_catalog
from vaxres.db.store import Store
from vaxres.errors import InvalidInput, StoreBusy, VaxresError
from vaxres.imports import charset, csvfile, first_pass, person_checks, person_rows, reader
from vaxres.imports.booking_loader import BookingLoader
from vaxres.imports.person_loader import PersonLoader
from vaxres.imports.rejects import RejectsWriter
from vaxres.imports.report import ImportSummary, InvalidRows
from vaxres.imports.rows import RowError, RowParser
from vaxres.imports.slot_loader import SlotLoader
from vaxres.imports.staging import GroupSets, Staging
from vaxres.people import identity

SLOT_CHUNK = 50_000  # rows per transaction: fewer, larger commits rewrite fewer index pages
BOOKING_CHUNK = 5_000
PERSON_CHUNK = 50_000
FINGERPRINT = [column.name for column in person_rows.STAGED_COLUMNS].index("fingerprint")

Progress = first_pass.Progress


@dataclass
class ImportOptions:
    encoding: str | None = None
    delimiter: str | None = None
    dry_run: bool = False
    skip_invalid: bool = False
    rejects: str | None = None
    force: bool = False  # replace an existing --rejects file
    progress: Progress | None = None
    # What the caller adds to a row's reason: the next step, in its words (vaxres/cli/hints.py).
    next_step: Callable[[VaxresError], str] | None = None
    region: str = "KR"  # import persons: the country a phone number without + is read in
    override_eligibility: str | None = None  # import reservations: the reason to book past the windows


def import_slots(store: Store, source: str, options: ImportOptions) -> ImportSummary:
    return _run(store, source, options, kind="slots")


def import_reservations(store: Store, source: str, options: ImportOptions) -> ImportSummary:
    from vaxres.booking.overrides import parse_override

    override = parse_override(options.override_eligibility)  # checked before the file is read
    return _run(store, source, dataclasses.replace(options, override_eligibility=override), kind="reservations")


def import_persons(store: Store, source: str, options: ImportOptions) -> ImportSummary:
    return _run(store, source, options, kind="persons")


def _run(store: Store, source: str, options: ImportOptions, *, kind: str) -> ImportSummary:
    label = "standard input" if source == "-" else source
    raw, size = csvfile.open_source(source)
    if options.rejects is not None and size is not None and csvfile.same_file(options.rejects, source):
        raise InvalidInput(f"--rejects {options.rejects} is the file being imported; name another file")
    try:
        path = None if source == "-" else source
        return _Import(store, options, kind, label, size, path).run(charset.Source(raw))
    finally:
        if raw is not sys.stdin.buffer:
            raw.close()


class _Import:
    """One import: the first pass (read again as CP949 when it turns out not to be UTF-8), then
    the second pass, chunk by chunk."""

    def __init__(self, store: Store, options: ImportOptions, kind: str, label: str, size: int | None, path: str | None):
        self.store, self.options, self.kind, self.label, self.size = store, options, kind, label, size
        self.path = path  # the file by its name, for a worker process to read (None: standard input)
        self.required: tuple[str, ...]
        self.optional: tuple[str, ...]
        if kind == "slots":
            self.required, self.optional, self.chunk_size = csvfile.SLOT_HEADERS, (), SLOT_CHUNK
        elif kind == "persons":
            self.required, self.optional, self.chunk_size = (
                csvfile.PERSON_HEADERS,
                csvfile.PERSON_OPTIONAL,
                PERSON_CHUNK,
            )
        else:
            self.required, self.optional, self.chunk_size = csvfile.RESERVATION_HEADERS, ("dose",), BOOKING_CHUNK
        self.staging: Staging | None = None
        self.hospital_names: dict[str, str] | None = None  # see RowParser.hospital_names
        self.uses_key = False  # import persons: a number was read
        self.decided = person_checks.Decided()  # import persons: what the checks across rows found
        self.group_sets: GroupSets | None = None  # import persons: the groups values, split

    def run(self, source: charset.Source) -> ImportSummary:
        options = self.options
        encoding = charset.detect(source, options.encoding)
        with RejectsWriter(options.rejects, force=options.force) as rejects, self.store.connect() as conn:
            try:
                try:
                    summary, valid = self._check(conn, source, encoding, rejects)
                except charset.NotUtf8 as not_utf8:
                    # Nothing is committed before the first pass is over: read it all again.
                    if not source.rewind():
                        raise
                    summary, valid = self._check(conn, source, encoding.as_cp949(not_utf8.line), rejects)
                if summary.invalid and not options.skip_invalid:
                    raise InvalidRows(summary)
                self._load(conn, summary, valid, rejects)
            finally:
                if self.staging is not None:
                    self.staging.drop()
        return summary

    def _check(
        self, conn: Connection, source: charset.Source, encoding: charset.Encoding, rejects: RejectsWriter
    ) -> tuple[ImportSummary, int]:
        """First pass: parse and validate every row; valid rows wait in a staging table beside the
        store (never in the store's own tables), so memory stays flat. Vaccine names are resolved
        through the catalog, read once here."""
        store, options = self.store, self.options
        summary = ImportSummary(
            kind=self.kind, source=self.label, dry_run=options.dry_run, rejects=options.rejects, encoding=encoding.name
        )
        table = csvfile.table_for(
            source.stream,
            encoding=encoding,
            delimiter=options.delimiter,
            required=self.required,
            optional=self.optional,
            source=self.label,
        )
        rejects.begin(table.header, encoding, table.delimiter)
        if self.staging is None:
            self.staging = Staging(store, conn, person_rows.STAGED_COLUMNS if self.kind == "persons" else None)
        else:
            self.staging.clear()
        with store.transaction(conn, write=False):
            stream = source.stream
            position = stream.tell if self.size is not None else (lambda: 0)
            if self.kind == "persons":
                valid = self._check_persons(conn, table, encoding, summary, rejects, position)
            else:
                parser = RowParser(
                    table.positions, load_catalog(conn), today=store.today(), date_as_text=self.staging.dates_as_text
                )
                valid = self._stage(
                    table, parser.slot if self.kind == "slots" else parser.booking, summary, rejects, position
                )
                if self.kind == "slots":
                    self.hospital_names = parser.hospital_names
        source.settle()
        return summary, valid

    def _stage(
        self,
        table: csvfile.CsvTable,
        parse: Callable[[int, list[str]], tuple | RowError],
        summary: ImportSummary,
        rejects: RejectsWriter,
        position: Callable[[], int],
        numbers: person_rows.SeenNumbers | None = None,
    ) -> int:
        """Parse each row here and stage the valid ones (noting their `numbers`); how many."""
        assert self.staging is not None
        rows = first_pass.valid_rows(
            table,
            parse,
            summary,
            rejects,
            self.options.progress,
            position=position,
            size=self.size,
            next_step=self.options.next_step,
        )
        with _no_cycle_collection():
            return self.staging.fill(rows if numbers is None else _noting(rows, numbers))

    def _check_persons(
        self,
        conn: Connection,
        table: csvfile.CsvTable,
        encoding: charset.Encoding,
        summary: ImportSummary,
        rejects: RejectsWriter,
        position: Callable[[], int],
    ) -> int:
        """The first pass of `import persons`: in this process, or with a large file's reading and
        validating in a worker process (imports/reader.py) while this one stages; then the checks
        across rows."""
        store, options, staging = self.store, self.options, self.staging
        assert staging is not None
        key = lambda: identity.checked_key(conn, shared_store=not store.is_sqlite)[0]
        job = reader.Job(
            path=self.path,
            label=self.label,
            encoding=encoding,
            delimiter=table.delimiter,
            today=store.today(),
            region=options.region,
            dates_as_text=staging.dates_as_text,
            keep_cells=options.rejects is not None,
        )
        findings: reader.Findings
        numbers = person_rows.SeenNumbers()  # noted as each row is staged, here even when a worker reads
        if reader.worth_a_worker(job, self.size):
            with reader.Reader(job, key) as worker, _no_cycle_collection():
                batches = first_pass.batched_rows(
                    worker.batches(), summary, rejects, options.progress, self.size, options.next_step
                )
                valid = staging.fill(_noting(batches, numbers), reader.BATCH_ROWS)
            assert worker.findings is not None  # the worker's last word
            findings = worker.findings
        else:
            people = job.parser(table.positions, key)
            valid = self._stage(table, people.person, summary, rejects, position, numbers)
            findings = reader.Findings(people.used_key, people.group_sets)
        if options.skip_invalid or not summary.invalid:
            self.uses_key = findings.used_key
            self.decided = person_checks.decide(conn, staging, store.today(), set(table.positions), numbers.repeats)
            self.group_sets = GroupSets.staged(conn, staging, findings.group_sets)
        return valid

    def _load(self, conn: Connection, summary: ImportSummary, valid: int, rejects: RejectsWriter) -> None:
        """Second pass: the staged rows in chunks of one transaction each."""
        store, options, chunk_size, label = self.store, self.options, self.chunk_size, self.label
        assert self.staging is not None  # filled by the first pass
        loader: SlotLoader | BookingLoader | PersonLoader
        if self.kind == "slots":
            loader = SlotLoader(store, summary, self.staging, self.hospital_names)
        elif self.kind == "persons":
            loader = PersonLoader(
                store, summary, self.staging, uses_key=self.uses_key, decided=self.decided, group_sets=self.group_sets
            )
        else:
            loader = BookingLoader(store, summary, self.staging, override=self.options.override_eligibility)
        for low in range(1, valid + 1, chunk_size):
            high = min(low + chunk_size - 1, valid)
            try:
                with store.transaction(conn, write=not options.dry_run):
                    errors = loader.load(conn, low, high, dry_run=options.dry_run)
            except SlotsChangedMeanwhile:
                raise _stopped("another vaxres took doses of these slots while this import ran", low, label) from None
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
                if options.next_step is not None:
                    error = error.with_next_step(options.next_step)
                summary.refused += 1
                summary.note(error)
                rejects.refused(error)
            if options.progress:
                options.progress("load", high, high, valid)


def _noting(rows: Iterator[tuple], numbers: person_rows.SeenNumbers) -> Iterator[tuple]:
    """The staged person rows, each one's number fingerprint noted on the way."""
    note = numbers.note
    for row in rows:
        if row[FINGERPRINT] is not None:
            note(row[FINGERPRINT])
        yield row


@contextmanager
def _no_cycle_collection() -> Iterator[None]:
    """For the first pass: millions of parsed rows would make Python's cycle collector walk every
    live object again and again (a tenth of the pass); rows hold no cycles, so reference
    counting frees them."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _stopped(cause: str, low: int, label: str) -> StoreBusy:
    """The chunk starting at staged row `low` rolled back; the ones before it are committed."""
    return StoreBusy(
        f"{cause}; the first {low - 1:,} valid rows of {label} are loaded, the rest is not; "
        f"run the same import again to complete it"
    )
