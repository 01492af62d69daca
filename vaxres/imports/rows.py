"""A CSV row becomes a StagedRow (validated with the rules of `slot add` and `reserve`) or a
RowError that says which line, which column and why."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any, NamedTuple

from vaxres import validate
from vaxres.booking.vaccines import Catalog, key_of
from vaxres.errors import InvalidValue, VaxresError


class StagedRow(NamedTuple):
    """A valid row, as it waits in the staging table between the two passes of an import."""

    line: int
    user_id: str | None  # bookings only
    date: dt.date | str  # ISO text when staged in SQLite
    hospital: str
    vaccine: str  # a slot's: the catalog's name; a booking's: the name as written (its messages repeat it)
    hospital_key: str
    vaccine_key: str  # the key of the catalog's name, which the slot stores
    number: int  # a slot's quantity, or a booking's dose
    cells: str  # the row as read, for --rejects: cells joined by CELL_SEPARATOR


CELL_SEPARATOR = "\x1f"


def split_cells(cells: str) -> list[str]:
    return cells.split(CELL_SEPARATOR)


@dataclass(frozen=True)
class RowError:
    line: int
    column: str | None
    value: str | None
    reason: str
    code: str
    cells: list[str] = field(default_factory=list, compare=False)
    error: VaxresError | None = field(default=None, compare=False, repr=False)  # for the caller's next step

    @classmethod
    def invalid(cls, line: int, error: InvalidValue, cells: list[str]) -> RowError:
        return cls(line, error.field, str(error.value), error.reason, error.code, cells, error)

    @classmethod
    def refused(
        cls, line: int, error: VaxresError, cells: list[str], *, column: str | None = None, value: str | None = None
    ) -> RowError:
        """A rule refused the row: the error the single command raises, on its line."""
        return cls(line, column, value, error.message, error.code, cells, error)

    def with_next_step(self, next_step: Callable[[VaxresError], str]) -> RowError:
        """The reason followed by what to do next, as the caller (the CLI) words it."""
        step = next_step(self.error) if self.error is not None else ""
        return replace(self, reason=self.reason + step) if step else self

    def describe(self) -> str:
        if self.column is None:
            return f"line {self.line}: {self.reason}"
        return f"line {self.line}, {self.column} {self.value!r}: {self.reason}"

    def as_json(self) -> dict:
        return {"line": self.line, "column": self.column, "value": self.value, "reason": self.reason, "code": self.code}


_new_row = tuple.__new__  # a StagedRow without NamedTuple's keyword handling: a million rows go through here


class RowParser:
    """Validates cells with the rules of `slot add` / `reserve` and returns StagedRows.

    A vaccine is looked up in the catalog (loaded once per import, before the first pass), by
    name or alias, as the single commands do: an unknown one makes the row invalid
    (`unknown_vaccine`). Names, dates and quantities repeat across a plan, so their validated
    forms are memoised (one dictionary per column, each cleared when it grows large): a
    million-row file costs a few dictionary look-ups per row.
    """

    MEMO_LIMIT = 100_000
    HOSPITAL_NAMES_LIMIT = 10_000

    def __init__(self, positions: dict[str, int], catalog: Catalog, *, today, date_as_text: bool = True):
        self._catalog = catalog
        self._today = today  # the store's, for "in the past"
        self._hospitals: dict[str, tuple[str, str]] = {}
        # The hospitals the file names, key -> first spelling, for the store's hospital table;
        # None once more than HOSPITAL_NAMES_LIMIT (the loader then reads them from the staged rows).
        self.hospital_names: dict[str, str] | None = {}
        self._vaccines: dict[str, tuple[str, str]] = {}  # slot rows: (catalog name, its key)
        self._named: dict[str, tuple[str, str]] = {}  # booking rows: (name as written, catalog key)
        self._dates: dict[str, object] = {}
        self._quantities: dict[str, int] = {}
        self._doses: dict[str, int] = {}
        self._date_as_text = date_as_text
        self._width = max(positions.values()) + 1
        get: Any = positions.get  # a column this kind of file lacks is None, and never read
        self._date_at, self._hospital_at, self._vaccine_at = get("date"), get("hospital"), get("vaccine")
        self._quantity_at, self._user_at, self._dose_at = get("quantity"), get("user"), get("dose")

    def _remember(self, memo: dict, value: str, validated):
        if len(memo) >= self.MEMO_LIMIT:
            memo.clear()
        memo[value] = validated
        return validated

    def _hospital(self, value: str) -> tuple[str, str]:
        name = validate.normalize_name(value, field="hospital")
        key = validate.name_key(name)
        names = self.hospital_names
        if names is not None and key not in names:
            if len(names) < self.HOSPITAL_NAMES_LIMIT:
                names[key] = name
            else:
                self.hospital_names = None
        return self._remember(self._hospitals, value, (name, key))

    def _vaccine(self, value: str) -> tuple[str, str]:
        """A slot row's vaccine: the catalog's name, as `slot add` stores it."""
        name = self._catalog.resolve(validate.normalize_name(value, field="vaccine")).name
        return self._remember(self._vaccines, value, (name, key_of(name)))

    def _vaccine_named(self, value: str) -> tuple[str, str]:
        """A booking row's vaccine: the name as written (`reserve` repeats it when no slot has it)
        and the key of the catalog's name, which finds the slot."""
        name = validate.normalize_name(value, field="vaccine")
        return self._remember(self._named, value, (name, key_of(self._catalog.resolve(name).name)))

    def _date(self, value: str):
        day = validate.parse_date(value, not_before=self._today)
        return self._remember(self._dates, value, day.isoformat() if self._date_as_text else day)

    def _quantity(self, value: str) -> int:
        return self._remember(self._quantities, value, validate.parse_quantity(value))

    def _dose(self, value: str) -> int:
        text = value.strip()
        return self._remember(self._doses, value, validate.parse_dose(text) if text else 1)

    def _slot_cells(self, row: list[str], vaccines: dict, vaccine) -> tuple:
        """The date, hospital and vaccine that name a slot, validated, with the names' keys."""
        text = row[self._date_at]
        day = self._dates.get(text) or self._date(text)
        text = row[self._hospital_at]
        hospital, hospital_key = self._hospitals.get(text) or self._hospital(text)
        text = row[self._vaccine_at]
        name, vaccine_key = vaccines.get(text) or vaccine(text)
        return day, hospital, name, hospital_key, vaccine_key

    def slot(self, line: int, cells: list[str]) -> StagedRow | RowError:
        row = cells if len(cells) >= self._width else cells + [""] * (self._width - len(cells))
        try:
            day, hospital, vaccine, hospital_key, vaccine_key = self._slot_cells(row, self._vaccines, self._vaccine)
            text = row[self._quantity_at]
            quantity = self._quantities.get(text) or self._quantity(text)
        except InvalidValue as error:
            return RowError.invalid(line, error, cells)
        return _new_row(
            StagedRow,
            (line, None, day, hospital, vaccine, hospital_key, vaccine_key, quantity, CELL_SEPARATOR.join(cells)),
        )

    def booking(self, line: int, cells: list[str]) -> StagedRow | RowError:
        row = cells if len(cells) >= self._width else cells + [""] * (self._width - len(cells))
        try:
            user = validate.parse_user(row[self._user_at])
            day, hospital, vaccine, hospital_key, vaccine_key = self._slot_cells(row, self._named, self._vaccine_named)
            if self._dose_at is None:
                dose = 1
            else:
                text = row[self._dose_at]
                dose = self._doses.get(text) or self._dose(text)
        except InvalidValue as error:
            return RowError.invalid(line, error, cells)
        return _new_row(
            StagedRow, (line, user, day, hospital, vaccine, hospital_key, vaccine_key, dose, CELL_SEPARATOR.join(cells))
        )
