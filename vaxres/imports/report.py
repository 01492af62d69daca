"""What an import reports: the counts, the first row errors, the encoding the file was read in."""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field

from vaxres.errors import InvalidInput
from vaxres.imports.rows import RowError

REPORTED_ERRORS = 20


def _line(error: RowError) -> int:
    return error.line


@dataclass
class ImportSummary:
    kind: str
    source: str
    dry_run: bool
    rows: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    registered: int = 0  # people: new in the registry
    booked: int = 0
    already: int = 0
    from_waitlist: int = 0  # doses of new or raised slots booked at once for people waiting
    refused: int = 0
    invalid: int = 0
    errors: list[RowError] = field(default_factory=list)
    rejects: str | None = None
    encoding: str = "utf-8"  # as read: utf-8, utf-8-sig (with a byte-order mark), cp949, utf-16, ...

    def note(self, error: RowError) -> None:
        """Keep the first errors found (invalid rows first, then refused ones), shown in line order."""
        if len(self.errors) < REPORTED_ERRORS:
            bisect.insort(self.errors, error, key=_line)

    @property
    def unreported(self) -> int:
        return self.refused + self.invalid - len(self.errors)

    def read_as(self) -> str:
        """' (read as cp949)' when the file was not UTF-8: the values quoted come from that reading."""
        return "" if self.encoding in ("utf-8", "utf-8-sig") else f" (read as {self.encoding})"

    def counts(self) -> dict[str, int]:
        names: tuple[str, ...]
        if self.kind == "slots":
            names = ("rows", "created", "updated", "unchanged", "refused", "invalid")
        elif self.kind == "persons":
            names = ("rows", "registered", "updated", "unchanged", "refused", "invalid")
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
            "encoding": self.encoding,
            **({"from_waitlist": self.from_waitlist} if self.kind == "slots" else {}),
        }


class InvalidRows(InvalidInput):
    """Some rows do not validate: nothing was written (exit 2)."""

    code = "invalid_rows"

    def __init__(self, summary: ImportSummary):
        super().__init__(
            f"{summary.invalid} of {summary.rows} rows in {summary.source}{summary.read_as()} are invalid; nothing was written; "
            f"fix them (or pass --skip-invalid to load the valid rows) and run the import again",
            details={"source": summary.source, "rows": summary.rows, "invalid": summary.invalid},
        )
        self.summary = summary
