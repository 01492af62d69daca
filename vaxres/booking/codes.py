"""A vaccine's codes in health-data code systems (issue 24), each checked for its system's form,
so that a registry receiving our FHIR records never gets `abc` as a CVX code.

Forms only: whether a code exists in its system is the code system's business (see docs/interop.md
for where the five default vaccines' codes come from).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from vaxres.errors import InvalidValue

# The catalog's code columns, in the order they are shown.
FIELDS = ("cvx", "snomed", "atc", "eu_product", "eu_holder", "mvx", "target_disease")
MAX_CODE_LENGTH = 32  # the longest form is an 18-digit SNOMED CT id

# Verhoeff's tables (dihedral group D5), as SNOMED CT's check digit uses them.
_D = (
    (0, 1, 2, 3, 4, 5, 6, 7, 8, 9), (1, 2, 3, 4, 0, 6, 7, 8, 9, 5), (2, 3, 4, 0, 1, 7, 8, 9, 5, 6),
    (3, 4, 0, 1, 2, 8, 9, 5, 6, 7), (4, 0, 1, 2, 3, 9, 5, 6, 7, 8), (5, 9, 8, 7, 6, 0, 4, 3, 2, 1),
    (6, 5, 9, 8, 7, 1, 0, 4, 3, 2), (7, 6, 5, 9, 8, 2, 1, 0, 4, 3), (8, 7, 6, 5, 9, 3, 2, 1, 0, 4),
    (9, 8, 7, 6, 5, 4, 3, 2, 1, 0),
)  # fmt: skip
_P = (
    (0, 1, 2, 3, 4, 5, 6, 7, 8, 9), (1, 5, 7, 6, 2, 8, 3, 0, 9, 4), (5, 8, 0, 3, 7, 9, 6, 1, 4, 2),
    (8, 9, 1, 6, 0, 4, 3, 5, 2, 7), (9, 4, 5, 3, 1, 2, 6, 8, 7, 0), (4, 2, 8, 6, 5, 7, 3, 9, 0, 1),
    (2, 7, 9, 3, 8, 0, 6, 4, 1, 5), (7, 0, 4, 6, 9, 1, 3, 2, 5, 8),
)  # fmt: skip


def verhoeff_valid(digits: str) -> bool:
    """True when the last digit is the Verhoeff check digit of the others."""
    check = 0
    for position, digit in enumerate(reversed(digits)):
        check = _D[check][_P[position % 8][int(digit)]]
    return check == 0


def _snomed(code: str) -> str | None:
    if not re.fullmatch(r"[1-9][0-9]{5,17}", code):
        return "must be a SNOMED CT id: 6 to 18 digits, not starting with 0"
    if not verhoeff_valid(code):
        return "is not a SNOMED CT id: its last digit is not the Verhoeff check digit of the others"
    return None


def _pattern(pattern: str, reason: str) -> Callable[[str], str | None]:
    compiled = re.compile(pattern)
    return lambda code: None if compiled.fullmatch(code) else reason


@dataclass(frozen=True)
class CodeSystem:
    field: str
    option: str
    label: str  # as a person names the system
    check: Callable[[str], str | None]  # the reason a code is not of this form, or None
    help: str  # what the code is, with an example: the option's and the API field's description


SYSTEMS: dict[str, CodeSystem] = {
    system.field: system
    for system in (
        CodeSystem("cvx", "--cvx", "CVX", _pattern(r"[0-9]{1,3}", "must be a CVX code: 1 to 3 digits, such as 208"),
                   "CDC CVX code, 1-3 digits (208)."),
        CodeSystem("snomed", "--snomed", "SNOMED CT", _snomed,
                   "SNOMED CT vaccine type, with its check digit (1119349007)."),
        CodeSystem(
            "atc", "--atc", "ATC",
            _pattern(r"[A-Z][0-9]{2}[A-Z]{2}[0-9]{2}", "must be a 7-character ATC code (letter, 2 digits, "
                     "2 letters, 2 digits), such as J07BN01"),
            "WHO ATC code (J07BN01).",
        ),
        CodeSystem(
            "eu_product", "--eu-product", "EU product number",
            _pattern(r"EU/1/[0-9]{2}/[0-9]{4}", "must be an EU product number EU/1/YY/NNNN, such as EU/1/20/1528"),
            "EU product number (EU/1/20/1528).",
        ),
        CodeSystem(
            "eu_holder", "--eu-holder", "EU marketing authorisation holder",
            _pattern(r"ORG-[0-9]{1,12}", "must be an organisation id ORG- and digits, such as ORG-100030215"),
            "EU marketing authorisation holder (ORG-100030215).",
        ),
        CodeSystem("mvx", "--mvx", "MVX", _pattern(r"[A-Z]{2,3}", "must be an MVX code: 2 or 3 capital letters, such as PFR"),
                   "CDC MVX manufacturer code (PFR)."),
        CodeSystem("target_disease", "--target-disease", "SNOMED CT (target disease)", _snomed,
                   "SNOMED CT disease it prevents (840539006: COVID-19)."),
    )
}  # fmt: skip


class InvalidCode(InvalidValue):
    code = "invalid_code"

    def __init__(self, system: CodeSystem, value: str, reason: str):
        super().__init__(
            system.option,
            value,
            reason,
            f"{system.option} {value!r} {reason}",
            details={"field": system.field, "value": value},
        )


def parse_code(field: str, value: Any) -> str | None:
    """One code, trimmed; an empty text clears it (None)."""
    system = SYSTEMS[field]
    text = str(value).strip()
    if not text:
        return None
    if len(text) > MAX_CODE_LENGTH or not text.isascii() or not text.isprintable():
        raise InvalidCode(system, text[:MAX_CODE_LENGTH], "is not a code of any form vaxres knows")
    reason = system.check(text)
    if reason is not None:
        raise InvalidCode(system, text, reason)
    return text


def parse_codes(given: Mapping[str, Any]) -> dict[str, str | None]:
    """The codes given (None: not given, left as they are), each of its system's form."""
    return {field: parse_code(field, value) for field, value in given.items() if value is not None}
