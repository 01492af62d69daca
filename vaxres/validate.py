"""Parsing and normalising user input, shared by the single commands and the CSV import.

Every function raises InvalidInput with a message that names the field, the value and the fix.
"""

import datetime as dt
import re
import unicodedata

from vaxres.errors import InvalidInput

MAX_QUANTITY = 1_000_000
MAX_NAME_LENGTH = 200
MAX_DOSE = 10
_WHITESPACE = re.compile(r"\s+")


def today() -> dt.date:
    return dt.date.today()


def parse_date(value: str | dt.date, *, field: str = "date", allow_past: bool = False) -> dt.date:
    if isinstance(value, dt.date):
        parsed = value
    else:
        text = str(value).strip()
        if not re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", text):
            raise InvalidInput(f"{field} must be a date as YYYY-MM-DD, got {value!r}")
        try:
            parsed = dt.date.fromisoformat(text)
        except ValueError:
            raise InvalidInput(f"{field} {text!r} is not a real calendar date") from None
    if not allow_past and parsed < today():
        raise InvalidInput(
            f"{field} {parsed.isoformat()} is in the past; give today ({today().isoformat()}) or later"
        )
    return parsed


def parse_whole_number(value: str | int, *, field: str, low: int, high: int) -> int:
    if isinstance(value, bool):
        raise InvalidInput(f"{field} must be a whole number from {low:,} to {high:,}, got {value!r}")
    if isinstance(value, int):
        number = value
    else:
        text = str(value).strip()
        if not re.fullmatch(r"\+?[0-9]+", text):
            raise InvalidInput(f"{field} must be a whole number from {low:,} to {high:,}, got {value!r}")
        number = int(text)
    if not low <= number <= high:
        raise InvalidInput(f"{field} must be a whole number from {low:,} to {high:,}, got {number:,}")
    return number


def parse_quantity(value: str | int, *, field: str = "quantity") -> int:
    return parse_whole_number(value, field=field, low=1, high=MAX_QUANTITY)


def parse_dose(value: str | int, *, field: str = "dose") -> int:
    return parse_whole_number(value, field=field, low=1, high=MAX_DOSE)


def parse_id(value: str | int, *, field: str) -> int:
    return parse_whole_number(value, field=field, low=1, high=2**63 - 1)


def normalize_name(value: str, *, field: str) -> str:
    """Trim, collapse inner whitespace and NFC-normalise, so that 'Seoul  Hospital ' is one hospital."""
    text = unicodedata.normalize("NFC", str(value))
    if any(unicodedata.category(ch) == "Cc" for ch in text):
        raise InvalidInput(f"{field} must not contain control characters or line breaks, got {value!r}")
    text = _WHITESPACE.sub(" ", text).strip()
    if not text:
        raise InvalidInput(f"{field} must not be empty")
    if len(text) > MAX_NAME_LENGTH:
        raise InvalidInput(f"{field} must be at most {MAX_NAME_LENGTH} characters, got {len(text)}")
    return text


def name_key(name: str) -> str:
    """The form names are compared in: case-insensitive, Unicode-aware."""
    return name.casefold()


def parse_user(value: str) -> str:
    user = normalize_name(value, field="user")
    if user == "*":
        raise InvalidInput("user '*' is reserved for broadcast notifications; give a person's id")
    return user
