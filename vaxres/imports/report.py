"""What an import reports: the counts, the first row errors, and every refused or invalid row
written to --rejects."""

from __future__ import annotations

import csv
from dataclasses import dataclass, field

from vaxres.errors import InvalidInput
from vaxres.files import open_private
from vaxres.imports.rows import RowError

REPORTED_ERRORS = 20
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutralised(cell: object) -> object:
    """A cell a spreadsheet would run as a formula gets a leading apostrophe (OWASP's advice for
    CSV injection); numbers vaxres writes itself stay numbers."""
    if isinstance(cell, str) and cell.startswith(FORMULA_STARTS):
        return "'" + cell
    return cell


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
            "errors": [error.as_json() for error in self.errors],
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


class RejectsWriter:
    """Refused rows as CSV: the file's own columns, then line and reason. Fixed, it re-imports."""

    def __init__(self, path: str | None, header: list[str], *, force: bool = False):
        self._file = None
        if path is None:
            return
        self._file = open_private(path, option="--rejects", force=force)
        self._writer = csv.writer(self._file)
        self._writer.writerow([*header, "line", "reason"])
        self._width = len(header)

    def write(self, error: RowError) -> None:
        if self._file is not None:
            cells = (error.cells + [""] * self._width)[: self._width]
            self._writer.writerow([neutralised(cell) for cell in (*cells, error.line, error.describe())])

    def close(self) -> None:
        if self._file is not None:
            self._file.close()

    def __enter__(self) -> RejectsWriter:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()
