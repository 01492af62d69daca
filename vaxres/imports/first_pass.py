"""The first pass's loop over the rows of a file: each row counted, the invalid ones reported and
spooled for --rejects, the valid ones handed on to be staged; rows parsed here or, a batch at a
time, by the reader worker (imports/reader.py)."""

from __future__ import annotations

from collections.abc import Callable, Iterator

from vaxres.errors import VaxresError
from vaxres.imports import csvfile
from vaxres.imports.rejects import RejectsWriter
from vaxres.imports.report import ImportSummary
from vaxres.imports.rows import RowError

Progress = Callable[[str, int, int, int | None], None]  # (phase, rows, completed, total) in bytes or rows
PROGRESS_ROWS = 20_000  # the first pass reports its progress every so many rows


def batched_rows(
    batches: Iterator[tuple[int, list[tuple], list[RowError], int]],
    summary: ImportSummary,
    rejects: RejectsWriter,
    progress: Progress | None,
    size: int | None,
    next_step: Callable[[VaxresError], str] | None,
) -> Iterator[tuple]:
    """valid_rows() for rows read and validated elsewhere (imports/reader.py), a batch at a time."""
    for read, valid, errors, position in batches:
        before = summary.rows
        summary.rows += read
        for error in errors:
            invalid(error, summary, rejects, next_step)
        yield from valid
        if progress and summary.rows // PROGRESS_ROWS > before // PROGRESS_ROWS:
            progress("check", summary.rows, position, size)


def invalid(
    row: RowError, summary: ImportSummary, rejects: RejectsWriter, next_step: Callable[[VaxresError], str] | None
) -> None:
    if next_step is not None:
        row = row.with_next_step(next_step)
    summary.invalid += 1
    summary.note(row)
    rejects.invalid(row)


def valid_rows(
    table: csvfile.CsvTable,
    parse: Callable[[int, list[str]], tuple | RowError],
    summary: ImportSummary,
    rejects: RejectsWriter,
    progress: Progress | None,
    *,
    position: Callable[[], int],
    size: int | None,
    next_step: Callable[[VaxresError], str] | None,
) -> Iterator[tuple]:
    """Parse each data row; invalid ones are counted, reported and sent to --rejects."""
    for line, cells in table.rows():
        summary.rows += 1
        row = parse(line, cells)
        if type(row) is RowError:
            invalid(row, summary, rejects, next_step)
        else:
            yield row  # type: ignore[misc]  # (a RowError went the other way: `type() is` is the faster test)
        if progress and summary.rows % PROGRESS_ROWS == 0:
            progress("check", summary.rows, position(), size)
