"""A CSV row of `import persons` becomes the tuple staged for it, or a RowError saying which line,
which column and why, by the rules of `person add` (people/rules.py, people/rrn.py).

A resident registration number never goes further than this module: its fingerprint (HMAC under
the identity key) and masked form are staged, and the row's own cell is replaced by the masked
form before the row is spooled, staged or reported, so no staging table, temporary file, report
or --rejects file holds it.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from typing import Any

from sqlalchemy import Column, Date, Integer, String, Text

from vaxres import validate
from vaxres.errors import InvalidValue
from vaxres.imports.rows import CELL_SEPARATOR, RowError
from vaxres.people import identity, rules
from vaxres.people.rrn import NOT_SHOWN, masked_text, parse_rrn

GROUP_SEPARATOR = ";"  # in a groups cell, as `export persons` writes them
# The staged row: what a tuple from PersonParser.person holds, in order; the decision columns
# (info "later") are filled between the passes by imports/person_checks.py.
STAGED_COLUMNS = (
    Column("line", Integer, nullable=False),
    Column("id", String, nullable=False),
    Column("name", String),
    Column("birth_date", Date),
    Column("sex", String),
    Column("phone", String),
    Column("email", String),
    Column("lang", String),
    Column("guardian", String),
    Column("groups", Text),  # the group names joined by CELL_SEPARATOR
    Column("fingerprint", String),
    Column("masked", String),
    Column("fields", Text, nullable=False),  # the fields the row gives, as the JSON list PersonRegistered holds
    Column("cells", Text, nullable=False),  # the row as read, the number masked
    Column("refusal", String, info={"later": True}),  # the code of the rule that refuses the row
    Column("detail", Text, info={"later": True}),  # whom or why: a holder, a guardian's reason
    Column("other_line", Integer, info={"later": True}),  # the line of the file the refusal names
    Column("known", Integer, info={"later": True}),  # 1: the store has this id (the row updates the person)
)
# The cells a row may leave empty: an empty cell gives nothing (an existing person keeps the value).
FIELDS = ("name", "rrn", "birth_date", "sex", "phone", "email", "lang", "guardian", "groups")


class PersonParser:
    """Validates a row's cells as `person add` validates its options. The identity key is read
    at the first number (a file without numbers needs none), through `key`."""

    def __init__(
        self,
        positions: dict[str, int],
        *,
        today: dt.date,
        region: str,
        key: Callable[[], bytes],
        dates_as_text: bool = True,
    ):
        self._today = today
        self._region = rules.parse_region(region) if region != rules.DEFAULT_REGION else region
        self._load_key = key
        self._key: bytes | None = None
        self._dates_as_text = dates_as_text
        self._width = max(positions.values()) + 1
        self._id_at = positions["id"]
        self._rrn_at = positions.get("rrn")
        self._given = [(name, positions[name]) for name in FIELDS if name in positions]
        self._fields: dict[tuple[str, ...], str] = {}  # the JSON list of each combination of fields given

    @property
    def used_key(self) -> bool:
        return self._key is not None

    def person(self, line: int, cells: list[str]) -> tuple | RowError:
        rrn_at = self._rrn_at
        number_text = ""
        if rrn_at is not None and rrn_at < len(cells) and cells[rrn_at].strip():
            number_text = cells[rrn_at]
            cells[rrn_at] = masked_text(number_text)  # before the row goes anywhere
        row = cells if len(cells) >= self._width else cells + [""] * (self._width - len(cells))
        try:
            return self._parse(line, row, number_text, cells)
        except InvalidValue as error:
            if error.field == "rrn":
                return RowError(line, "rrn", cells[rrn_at], error.reason, error.code, cells, error)  # type: ignore[index]
            return RowError.invalid(line, error, cells)

    def _parse(self, line: int, row: list[str], number_text: str, cells: list[str]) -> tuple:
        person = validate.normalize_name(row[self._id_at], field="id")
        if person == "*":
            raise InvalidValue("id", row[self._id_at], "is reserved for broadcast notifications")
        values: dict[str, Any] = {}
        for field, at in self._given:
            text = row[at]
            if text and not text.isspace() and field != "rrn":
                values[field] = text
        name = values.get("name")
        if name is not None:
            name = validate.normalize_name(name, field="name")
        fingerprint = masked = None
        born: Any = values.get("birth_date")
        sex = values.get("sex")
        given = [key for key, _at in self._given if key in values]
        if number_text:
            number = self._number(number_text)
            if born is not None and rules.parse_birth_date(born, today=self._today, field="birth_date") != (
                number.birth_date
            ):
                raise InvalidValue(
                    "birth_date",
                    born,
                    f"is not the birth date the resident registration number gives ({masked_text(number_text)})",
                )
            if sex is not None and _sex(sex) != number.sex:
                raise InvalidValue("sex", sex, f"is not the sex the resident registration number gives ({number.sex})")
            born, sex = number.birth_date, number.sex
            fingerprint, masked = identity.fingerprint(self._key or self._first_key(), number), number.masked
            given += ["rrn", "birth_date", "sex"]
        else:
            if born is not None:
                born = rules.parse_birth_date(born, today=self._today, field="birth_date")
            if sex is not None:
                sex = _sex(sex)
        if born is not None and self._dates_as_text:
            born = born.isoformat()
        phone = values.get("phone")
        if phone is not None:
            phone = rules.parse_phone(phone, region=self._region, field="phone")
        email = values.get("email")
        if email is not None:
            email = rules.parse_email(email, field="email")
        lang = values.get("lang")
        if lang is not None:
            lang = validate.parse_language(lang, field="lang")
        guardian = values.get("guardian")
        if guardian is not None:
            guardian = validate.normalize_name(guardian, field="guardian")
        groups = values.get("groups")
        if groups is not None:
            names = [part for part in groups.split(GROUP_SEPARATOR) if part.strip()]
            groups = CELL_SEPARATOR.join(rules.parse_groups(names, field="groups").values()) if names else None
            if groups is None:
                given.remove("groups")
        fields = self._fields_json(given)
        return (line, person, name, born, sex, phone, email, lang, guardian, groups, fingerprint, masked, fields,
                CELL_SEPARATOR.join(cells))  # fmt: skip

    def _number(self, text: str):
        if "*" in text:
            raise InvalidValue(
                "rrn",
                NOT_SHOWN,
                "is a masked number (as exports and rejects files write one): give the whole number, "
                "or leave the cell empty to keep the registered one",
            )
        return parse_rrn(text, today=self._today, field="rrn")

    def _first_key(self) -> bytes:
        self._key = self._load_key()
        return self._key

    def _fields_json(self, given: list[str]) -> str:
        names = tuple(sorted(set(given)))
        found = self._fields.get(names)
        if found is None:
            found = self._fields[names] = json.dumps(list(names))
        return found


def _sex(text: str) -> str:
    sex = str(text).strip().upper()[:1]
    if sex not in ("M", "F") or len(str(text).strip()) > 6:
        raise InvalidValue("sex", text, "must be M or F")
    return sex
