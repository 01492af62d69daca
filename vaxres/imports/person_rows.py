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
import unicodedata
from collections.abc import Callable
from typing import Any

from sqlalchemy import Column, Date, Integer, String, Text

from vaxres import validate
from vaxres.errors import InvalidValue
from vaxres.imports.rows import CELL_SEPARATOR, RowError
from vaxres.people import identity, rules
from vaxres.people.rrn import NOT_SHOWN, parse_rrn

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
    Column("waits_for", Integer, info={"later": True}),  # n of the guardian's row, when it follows this one
)


class PersonParser:
    """Validates a row's cells as `person add` validates its options. The identity key is read
    at the first number (a file without numbers needs none), through `key`.

    A million rows go through here: the cells are read by position (a column the file lacks reads
    an empty cell past the row's end), the fields a row gives are a bit mask, and the birth date
    and sex of a number's first seven digits and the languages are memoised (bounded)."""

    MEMO_LIMIT = 50_000
    GROUPS_LIMIT = 1000

    def __init__(
        self,
        positions: dict[str, int],
        *,
        today: dt.date,
        region: str,
        key: Callable[[], bytes],
        dates_as_text: bool = True,
        keep_cells: bool = True,
    ):
        self._keep_cells = keep_cells  # the row's text, staged for --rejects only
        self._today = today
        self._region = rules.parse_region(region) if region != rules.DEFAULT_REGION else region
        self._mobile = rules.KR_MOBILE.fullmatch if self._region == "KR" else None
        self._load_key = key
        self._key: bytes | None = None
        self._dates_as_text = dates_as_text
        self._width = max(positions.values()) + 1
        self._id_at = positions["id"]
        self._rrn_at = positions.get("rrn")
        # each optional column's position; a missing one reads the empty cell padded at self._width
        self._at = tuple(positions.get(name, self._width) for name in OPTIONAL)
        self._fields: dict[int, str] = {}  # the JSON list of the fields of a bit mask
        self._births: dict[str, tuple[Any, str]] = {}  # YYMMDDG -> (birth date as staged, sex)
        self._langs: dict[str, str] = {}
        self._groups: dict[str, str] = {}  # a groups cell -> the names as staged
        self._unlisted_groups = False  # a groups cell was not kept in self._groups
        self._fingerprint: Callable[[str], str] | None = None  # the number's, once the key is read

    @property
    def used_key(self) -> bool:
        return self._key is not None

    def person(self, line: int, cells: list[str]) -> tuple | RowError:
        rrn_at = self._rrn_at
        digits = ""  # the number's 13 digits; its cell as given when not of that shape
        if rrn_at is not None and rrn_at < len(cells) and (raw := cells[rrn_at].strip()):
            digits = raw[:6] + raw[7:] if len(raw) == 14 and raw[6] == "-" else raw
            if len(digits) == 13 and digits.isascii() and digits.isdigit():
                cells[rrn_at] = f"{digits[:6]}-{digits[6]}******"  # before the row goes anywhere
            else:
                digits = cells[rrn_at]
                cells[rrn_at] = NOT_SHOWN  # rrn.masked_text's word for what is not a number
        width = self._width
        row = cells + [""] * (width + 1 - len(cells)) if len(cells) <= width else [*cells[:width], ""]
        try:
            return self._parse(line, row, digits, cells)
        except InvalidValue as error:
            if error.field == "rrn":
                return RowError(line, "rrn", cells[rrn_at], error.reason, error.code, cells, error)  # type: ignore[index]
            return RowError.invalid(line, error, cells)

    def _parse(self, line: int, row: list[str], digits: str, cells: list[str]) -> tuple:
        """The cells in `person add`'s order of checks; `digits` as person() found them."""
        person = _name(row[self._id_at], "id")
        if person == "*":
            raise InvalidValue("id", row[self._id_at], "is reserved for broadcast notifications")
        name_at, born_at, sex_at, phone_at, email_at, lang_at, guardian_at, groups_at = self._at
        given = 0
        name: str | None = row[name_at]
        if name and name.strip():
            name = _name(name, "name")
            given |= NAME
        else:
            name = None
        born: Any = row[born_at]
        born = born if born and born.strip() else None
        sex: str | None = row[sex_at]
        sex = sex if sex and sex.strip() else None
        fingerprint = masked = None
        if digits:
            if len(digits) != 13 or not (digits.isascii() and digits.isdigit()):  # a cell of another shape
                self._refuse_number(digits)
            born_given, sex_given = born, sex
            born, sex = self._births.get(digits[:7]) or self._birth(digits)
            if born_given is not None and _iso(
                rules.parse_birth_date(born_given, today=self._today, field="birth_date")
            ) != _iso(born):
                raise InvalidValue(
                    "birth_date",
                    born_given,
                    f"is not the birth date the resident registration number gives ({digits[:6]}-{digits[6]}******)",
                )
            if sex_given is not None and _sex(sex_given) != sex:
                raise InvalidValue("sex", sex_given, f"is not the sex the resident registration number gives ({sex})")
            fingerprint = (self._fingerprint or self._first_key())(digits)
            masked = cells[self._rrn_at]  # type: ignore[index]  # the masked form, as person() wrote it
            given |= RRN | BIRTH_DATE | SEX
        else:
            if born is not None:
                born = rules.parse_birth_date(born, today=self._today, field="birth_date")
                if self._dates_as_text:
                    born = born.isoformat()
                given |= BIRTH_DATE
            if sex is not None:
                sex = _sex(sex)
                given |= SEX
        phone: str | None = row[phone_at]
        if phone and phone.strip():
            mobile = self._mobile(phone.strip()) if self._mobile is not None else None
            if mobile is not None:  # rules.parse_phone's fast path, without its call
                phone = "+82" + "".join(mobile.groups())
            else:
                phone = rules.parse_phone(phone, region=self._region, field="phone")
            given |= PHONE
        else:
            phone = None
        email: str | None = row[email_at]
        if email and email.strip():
            email = rules.parse_email(email, field="email")
            given |= EMAIL
        else:
            email = None
        lang: str | None = row[lang_at]
        if lang and lang.strip():
            lang = self._langs.get(lang) or self._lang(lang)
            given |= LANG
        else:
            lang = None
        guardian: str | None = row[guardian_at]
        if guardian and guardian.strip():
            guardian = _name(guardian, "guardian")
            given |= GUARDIAN
        else:
            guardian = None
        groups: str | None = row[groups_at]
        if groups and (groups := self._groups.get(groups) or self._parse_groups(groups)):
            given |= GROUPS
        else:
            groups = None
        fields = self._fields.get(given) or self._fields_json(given)
        text = CELL_SEPARATOR.join(cells) if self._keep_cells else ""
        return (line, person, name, born, sex, phone, email, lang, guardian, groups, fingerprint, masked, fields,
                text)  # fmt: skip

    @staticmethod
    def _refuse_number(text: str) -> None:
        """InvalidValue for a number that is not 13 digits, as parse_rrn words it."""
        if "*" in text:
            raise InvalidValue(
                "rrn",
                NOT_SHOWN,
                "is a masked number (as exports and rejects files write one): give the whole number, "
                "or leave the cell empty to keep the registered one",
            )
        parse_rrn(text, field="rrn")  # raises, saying what is wrong
        raise AssertionError("parse_rrn accepted what the import did not")  # pragma: no cover

    def _parse_groups(self, text: str) -> str:
        """A groups cell as staged: the names joined by CELL_SEPARATOR ("" for none); few distinct
        cells make up a file, so they are memoised (bounded)."""
        names = [part for part in text.split(GROUP_SEPARATOR) if part.strip()]
        joined = CELL_SEPARATOR.join(rules.parse_groups(names, field="groups").values()) if names else ""
        if len(self._groups) < self.GROUPS_LIMIT:
            self._groups[text] = joined
        else:
            self._unlisted_groups = True
        return joined

    @property
    def group_sets(self) -> set[str] | None:
        """Every groups value staged, as staged (the loader splits them in SQL); None when the
        file has more distinct groups cells than are kept."""
        return None if self._unlisted_groups else {joined for joined in self._groups.values() if joined}

    def _birth(self, digits: str) -> tuple[Any, str]:
        number = parse_rrn(digits, today=self._today, field="rrn")
        found = (number.birth_date.isoformat() if self._dates_as_text else number.birth_date, number.sex)
        if len(self._births) >= self.MEMO_LIMIT:
            self._births.clear()
        self._births[digits[:7]] = found
        return found

    def _lang(self, text: str) -> str:
        lang = validate.parse_language(text, field="lang")
        if len(self._langs) < 1000:
            self._langs[text] = lang
        return lang

    def _first_key(self) -> Callable[[str], str]:
        self._key = self._load_key()
        self._fingerprint = identity.fingerprinter(self._key)
        return self._fingerprint

    def _fields_json(self, given: int) -> str:
        found = self._fields[given] = json.dumps([name for bit, name in BITS if given & bit])
        return found


class SeenNumbers:
    """The numbers perhaps on an earlier row, by a Bloom filter of the fingerprints seen (three
    bits of 2^25 each, 4 MB): a few hundred of a million numbers all different (two bits of 2^24
    gave about 9,000, two full scans of the staged rows), looked up in the staged rows without an
    index (person_checks.decide); `repeats` None: too many, decide indexes them."""

    REPEATS_LIMIT = 20_000

    def __init__(self) -> None:
        self._seen = bytearray(1 << 22)
        self.repeats: list[str] | None = []

    def note(self, fingerprint: str) -> None:
        """Add a number to the filter of those seen; one it may have seen goes to self.repeats."""
        repeats = self.repeats
        if repeats is None:  # too many already: decide() indexes every number
            return
        bits = int(fingerprint[:19], 16)  # 76 bits of the HMAC: three bits of the filter's 2^25
        first, second, third = bits >> 51, bits >> 26 & 0x1FFFFFF, bits >> 1 & 0x1FFFFFF
        seen = self._seen
        if (
            seen[first >> 3] >> (first & 7) & 1
            and seen[second >> 3] >> (second & 7) & 1
            and seen[third >> 3] >> (third & 7) & 1
        ):
            repeats.append(fingerprint)
            if len(repeats) > self.REPEATS_LIMIT:
                self.repeats = None
        else:
            seen[first >> 3] |= 1 << (first & 7)
            seen[second >> 3] |= 1 << (second & 7)
            seen[third >> 3] |= 1 << (third & 7)


OPTIONAL = ("name", "birth_date", "sex", "phone", "email", "lang", "guardian", "groups")
# The fields as PersonRegistered lists them (sorted), each a bit of a row's mask.
BITS = tuple((1 << index, name) for index, name in enumerate(sorted((*OPTIONAL, "rrn"))))
BIRTH_DATE, EMAIL, GROUPS, GUARDIAN, LANG, NAME, PHONE, RRN, SEX = (bit for bit, _name in BITS)


def _name(text: str, field: str) -> str:
    """validate.normalize_name, its check of a name already normalised (NFC, printable, no double
    space: a Korean name of a file) first: that name stays as it is, stripped."""
    if text.isprintable() and "  " not in text and unicodedata.is_normalized("NFC", text):
        text = text.strip()
        if text and len(text) <= validate.MAX_NAME_LENGTH:
            return text
    return validate.normalize_name(text, field=field)


def _iso(day: Any) -> str:
    return day if isinstance(day, str) else day.isoformat()


def _sex(text: str) -> str:
    sex = str(text).strip().upper()
    sex = {"남": "M", "여": "F", "MALE": "M", "FEMALE": "F"}.get(sex, sex)
    if sex not in ("M", "F"):
        raise InvalidValue("sex", text, "must be M or F")
    return sex
