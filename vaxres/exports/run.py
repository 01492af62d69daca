"""`vaxres export KIND`: rows read a batch at a time and written as they come, to a private file
that appears whole at the end (vaxres.files.replaced_at_end) or to standard output.

CSV is written the way the import reads it: UTF-8, the import's headers first, one row a line.
--excel adds what Korean Excel needs to open the file as it is (a byte-order mark, CRLF line
ends) and a leading apostrophe to any cell a spreadsheet would run as a formula; without it,
values are written exactly as stored, so the file imports back to the same slots and bookings.
"""

from __future__ import annotations

import csv
import io
import json
import operator
import os
import sys
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from typing import IO, Any

from vaxres.db.store import Store
from vaxres.errors import InvalidInput, InvalidValue
from vaxres.exports.query import SEPARATOR, Reading
from vaxres.exports.sources import FHIR_KINDS, ExportFilter, Source, source_of
from vaxres.files import FORMULA_STARTS, replaced_at_end

FORMATS = ("csv", "jsonl", "fhir")
BATCH = 1_000  # rows a batch: a batch's text (about 100 kB) stays below malloc's mmap threshold
EXCEL_ROWS = 1_048_576  # the most a sheet holds, its header row included
BOM = "\ufeff".encode()

Progress = Callable[[int, int | None], None]  # rows written so far, rows in all (when counted)


@dataclass(frozen=True)
class ExportOptions:
    format: str = "csv"
    output: str = "-"
    excel: bool = False
    force: bool = False
    progress: Progress | None = None

    @classmethod
    def parse(cls, *, format: str = "csv", output: str | None = "-", excel: bool = False, force: bool = False,
              progress: Progress | None = None) -> ExportOptions:  # fmt: skip
        chosen = str(format).strip().lower()
        if chosen not in FORMATS:
            raise InvalidValue(
                "format", format, "must be csv, jsonl or fhir", f"--format must be csv, jsonl or fhir, got {format!r}"
            )
        if excel and chosen != "csv":
            raise InvalidInput("--excel is for --format csv (a spreadsheet does not read JSONL)")
        if output is None or not str(output).strip():
            raise InvalidInput("--output needs a file name, or - for standard output")
        return cls(chosen, str(output), excel, force, progress)

    @property
    def to_stdout(self) -> bool:
        return self.output == "-"


@dataclass(frozen=True)
class ExportSummary:
    kind: str
    rows: int
    described: str  # "3 reservations"
    output: str  # a path, or - for standard output
    format: str
    excel: bool
    uncoded: int = 0  # FHIR immunizations: doses of a vaccine without CVX, SNOMED CT or ATC code

    @property
    def beyond_excel(self) -> bool:
        """More rows than one Excel sheet shows (it stops at EXCEL_ROWS, header included)."""
        return self.excel and self.rows >= EXCEL_ROWS


def export(store: Store, kind: str, options: ExportOptions, f: ExportFilter | None = None) -> ExportSummary:
    """Write every row of `kind` the filter selects in one read transaction, so the file is one
    consistent picture of the store."""
    source = source_of(kind)
    check_format(kind, options.format)
    f = ExportFilter() if f is None else f
    if not options.to_stdout and store.path is not None and _same_file(options.output, store.path):
        raise InvalidInput(f"--output {options.output} is the store itself; name another file")
    joined = options.format == "csv" and not options.excel  # see exports.query: rows joined by the database
    writer = source.fhir(store) if source.fhir is not None else None
    reader = getattr(writer, "read", None) or source.read  # a writer may read its rows its own way
    with _destination(options) as out, reader(store, f, BATCH, options.progress is not None, joined) as reading:
        rows = _write(out, source, reading, options, writer)
    noted = writer.notes() if writer is not None else {}
    summary = ExportSummary(kind, rows, source.describe(rows), options.output, options.format, options.excel)
    return replace(summary, **noted)


def check_format(kind: str, format: str) -> None:
    """FHIR resources for the FHIR kinds only, and nothing else for them."""
    fhir_kind = source_of(kind).fhir is not None
    if format == "fhir" and not fhir_kind:
        raise InvalidInput(f"--format fhir is for {', '.join(FHIR_KINDS)}; {kind} are written as csv or jsonl")
    if fhir_kind and format != "fhir":
        raise InvalidInput(f"{kind} are written as FHIR only: give --format fhir (the default)")


def _same_file(first: str, second: os.PathLike) -> bool:
    try:
        return os.path.samefile(first, second)
    except OSError:  # one of them does not exist
        return False


@contextmanager
def _destination(options: ExportOptions) -> Iterator[IO[bytes]]:
    if options.to_stdout:
        out = sys.stdout.buffer
        sys.stdout.flush()
        yield out
        out.flush()
        return
    with replaced_at_end(options.output, option="--output", force=options.force) as out:
        yield out


def _write(out: IO[bytes], source: Source, reading: Reading, options: ExportOptions, writer: Any = None) -> int:
    """Each batch becomes the bytes of its lines and is written at once: the csv module, the JSON
    encoder, str.join and the UTF-8 codec work at C speed, Python only steps from batch to batch."""
    progress, total = options.progress, reading.total
    if progress is not None:
        progress(0, total)
    if writer is not None:  # FHIR ndjson: no header, one resource a line
        formatted = writer.format
    elif options.format == "csv":
        out.write((BOM if options.excel else b"") + _csv_formatter(options.excel)([source.header]))
        formatted = _csv_formatter(options.excel, reading.joined)
    else:
        formatted = _jsonl_formatter(source)
    rows = 0
    for batch in reading.batches:
        out.write(formatted(batch))
        rows += len(batch)
        if progress is not None:
            progress(rows, total)
    return rows


def _csv_formatter(excel: bool, joined: int | None = None) -> Callable[[list[tuple]], bytes]:
    """csv.writer's text for a batch of rows, encoded; for rows joined by the database, see _lines."""
    text = io.StringIO()
    write = csv.writer(text, lineterminator="\r\n" if excel else "\n").writerows

    def formatted(batch: Iterable) -> bytes:
        write(_defused(batch) if excel else batch)
        value = text.getvalue()
        text.seek(0)
        text.truncate()
        return value.encode("utf-8")

    return formatted if joined is None else _lines(joined, formatted)


def _lines(width: int, by_csv: Callable[[Iterable], bytes]) -> Callable[[list[tuple]], bytes]:
    """A batch of rows, each one text of `width` values joined by SEPARATOR (exports.query), as
    UTF-8 bytes (SQLite) or text (PostgreSQL): the rows joined by line breaks and the separators
    made commas, in C. That is csv.writer's very text when no value holds a comma, a quote or a
    line break, which a look at the whole batch proves; a batch that holds one goes through
    csv.writer, each row split at its separators. A separator inside a value (only a store
    edited by hand can have one) shows in their count."""
    separators, separator = width - 1, SEPARATOR.encode()
    first = operator.itemgetter(0)

    def formatted(batch: list[tuple]) -> bytes:
        rows = list(map(first, batch))
        data = b"\n".join(rows) if rows[0].__class__ is bytes else "\n".join(rows).encode("utf-8")
        if data.count(separator) != separators * len(rows):
            raise StoreValueUnsplittable()
        if b"," in data or b'"' in data or b"\r" in data or data.count(b"\n") != len(rows) - 1:
            return by_csv([(row.decode("utf-8") if row.__class__ is bytes else row).split(SEPARATOR) for row in rows])
        return data.replace(separator, b",") + b"\n"

    return formatted


class StoreValueUnsplittable(InvalidInput):
    code = "store_value_unsplittable"

    def __init__(self):
        super().__init__(
            "a name in the store holds the control character U+001F, which vaxres refuses in names "
            "and uses to read rows fast; export with --excel or --format jsonl, or fix the name"
        )


def _jsonl_formatter(source: Source) -> Callable[[list[tuple]], bytes]:
    encode = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
    as_json = source.as_json
    return lambda batch: "".join([encode(as_json(row)) + "\n" for row in batch]).encode("utf-8")


def _defused(batch: Iterable[tuple]) -> Iterator[list]:
    """Cells a spreadsheet would run as a formula (=, +, -, @ first) start with an apostrophe,
    which Excel shows and does not run (OWASP's advice for CSV injection)."""
    starts = FORMULA_STARTS
    for row in batch:
        yield ["'" + cell if cell.__class__ is str and cell.startswith(starts) else cell for cell in row]
