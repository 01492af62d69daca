"""Korean resident registration numbers (주민등록번호, `YYMMDD-GNNNNNN`): the birth date and sex they
carry, and the only form in which one is ever shown (`900512-1******`).

The digit G after the dash gives the century and sex: 1, 2, 5, 6 born in the 1900s; 3, 4, 7, 8 in
the 2000s; 9, 0 in the 1800s; odd is male, even female (5 to 8: registered foreigners). The old
check digit is not demanded: numbers issued since October 2020 have none. An error never repeats
the number: it names the part that is wrong.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from vaxres.errors import InvalidValue

CENTURY = {"1": 1900, "2": 1900, "5": 1900, "6": 1900, "3": 2000, "4": 2000, "7": 2000, "8": 2000, "9": 1800, "0": 1800}
SHAPE = "YYMMDD-GNNNNNN (13 digits, the dash optional)"
NOT_SHOWN = "(not shown)"


@dataclass(frozen=True, repr=False)
class ResidentNumber:
    digits: str  # 13 digits, never shown
    birth_date: dt.date
    sex: str  # "M" or "F"

    @property
    def masked(self) -> str:
        return f"{self.digits[:6]}-{self.digits[6]}******"

    def __repr__(self) -> str:  # a traceback or a log line shows the masked form only
        return f"ResidentNumber({self.masked})"


def parse_rrn(text: str, *, today: dt.date | None = None, field: str = "--rrn") -> ResidentNumber:
    """The number as typed (spaces around it and one dash allowed), or InvalidValue saying why;
    with `today`, a birth date after it is refused too."""
    raw = str(text).strip()
    digits = raw.replace("-", "", 1) if len(raw) == 14 and raw[6] == "-" else raw
    if len(digits) != 13 or not (digits.isascii() and digits.isdigit()):
        raise _invalid(field, f"must be {SHAPE}")
    century = CENTURY[digits[6]]
    year, month, day = century + int(digits[:2]), int(digits[2:4]), int(digits[4:6])
    if not 1 <= month <= 12:
        raise _invalid(field, f"has month {digits[2:4]}, which is not a month (YYMMDD: the 3rd and 4th digits)")
    try:
        born = dt.date(year, month, day)
    except ValueError:
        raise _invalid(field, f"has day {digits[4:6]}, which {year}-{month:02d} does not have") from None
    if today is not None and born > today:
        raise _invalid(field, f"gives the birth date {born.isoformat()}, which is in the future")
    return ResidentNumber(digits, born, "M" if int(digits[6]) % 2 else "F")


def _invalid(field: str, reason: str) -> InvalidValue:
    """Without the value: the number itself is not repeated anywhere."""
    return InvalidValue(field, NOT_SHOWN, reason, f"{field} {reason}")


def masked_text(text: str) -> str:
    """What a file's cell shows of a number, valid or not: a value of a number's shape as the
    masked form (its birth date and sex digit), anything else not at all."""
    raw = str(text).strip()
    digits = raw.replace("-", "", 1) if len(raw) == 14 and raw[6] == "-" else raw
    if len(digits) != 13 or not (digits.isascii() and digits.isdigit()):
        return NOT_SHOWN
    return f"{digits[:6]}-{digits[6]}******"
