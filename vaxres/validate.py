"""Parsing and normalising user input, shared by the single commands and the CSV import.

Every function raises InvalidInput with a message that names the field, the value and the fix.
"""

import datetime as dt
import re
import unicodedata

from vaxres.errors import InvalidTogether, InvalidValue

MAX_QUANTITY = 1_000_000
MAX_NAME_LENGTH = 200
MAX_ACTOR_LENGTH = 64  # who made a change: a login or an operator's name, stored with every message
CITIZEN_ACTOR = "citizen:"  # the actor of a citizen's own changes (issue 23): no operator is named so
MAX_DOSE = 10
MAX_LIMIT = 10_000  # rows a list shows at once; --json without --limit streams every row
_WHITESPACE = re.compile(r"\s+")
# Control, format (zero-width, bidirectional overrides) and private-use characters: a name made
# with them could show as another name, or not show at all. Lone surrogates too: bytes that were
# not text (a command-line argument that is not UTF-8, a file read with --encoding utf-7), which
# no store can hold.
_UNSEEN = {"Cc", "Cf", "Co", "Cn", "Cs"}
_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
# Year first, as spreadsheets write it: 2026/12/01, 2026.12.01, 2026. 12. 1. (Korean Excel),
# 2026-12-1, 20261201. Day-first and month-first forms are ambiguous and stay refused.
_YEAR_FIRST = re.compile(r"([0-9]{4})\s*([-/.])\s*([0-9]{1,2})\s*\2\s*([0-9]{1,2})\s*\.?")
_COMPACT_DATE = re.compile(r"([0-9]{4})([0-9]{2})([0-9]{2})")
DATE_FORMS = "YYYY-MM-DD (or year first as spreadsheets write it: 2026/12/01, 2026.12.01, 2026. 12. 1., 20261201)"
_WHOLE_NUMBER = re.compile(r"\+?[0-9]+")
_THOUSANDS = re.compile(r"\+?[0-9]{1,3}(,[0-9]{3})+")


def parse_date(value: str | dt.date, *, field: str = "date", not_before: dt.date | None = None) -> dt.date:
    """A calendar date; with `not_before` (the store's today), one that is not in the past."""
    if isinstance(value, dt.date):
        parsed = value
    else:
        text = str(value).strip()
        try:
            if _ISO_DATE.fullmatch(text):
                parsed = dt.date.fromisoformat(text)
            elif match := _YEAR_FIRST.fullmatch(text) or _COMPACT_DATE.fullmatch(text):
                year, month, day = match.group(1), match.groups()[-2], match.groups()[-1]
                parsed = dt.date(int(year), int(month), int(day))
            else:
                raise InvalidValue(field, value, f"must be a date as {DATE_FORMS}")
        except ValueError:
            raise InvalidValue(
                field, value, "is not a real calendar date", f"{field} {text!r} is not a real calendar date"
            ) from None
    if not_before is not None and parsed < not_before:
        reason = f"is in the past; give today ({not_before.isoformat()}) or later"
        raise InvalidValue(field, value, reason, f"{field} {parsed.isoformat()} {reason}")
    return parsed


def parse_whole_number(value: str | int, *, field: str, low: int, high: int) -> int:
    # The common case first and cheaply: an import parses a million of these.
    if type(value) is str and value.isascii() and value.isdigit() and len(value) <= 19:
        number = int(value)
        if low <= number <= high:
            return number
    reason = f"must be a whole number from {low:,} to {high:,}"
    if isinstance(value, bool):
        raise InvalidValue(field, value, reason)
    if isinstance(value, int):
        number = value
    else:
        text = str(value).strip()
        if _THOUSANDS.fullmatch(text):  # 1,000 as a spreadsheet writes it
            text = text.replace(",", "")
        # More digits than any bound here would also overflow int()'s digit limit.
        if not _WHOLE_NUMBER.fullmatch(text) or len(text) > 20:
            raise InvalidValue(field, value, reason)
        number = int(text)
    if not low <= number <= high:
        raise InvalidValue(field, value, reason, f"{field} {reason}, got {number:,}")
    return number


def parse_quantity(value: str | int, *, field: str = "quantity") -> int:
    return parse_whole_number(value, field=field, low=1, high=MAX_QUANTITY)


def parse_dose(value: str | int, *, field: str = "dose") -> int:
    return parse_whole_number(value, field=field, low=1, high=MAX_DOSE)


def parse_id(value: str | int, *, field: str) -> int:
    return parse_whole_number(value, field=field, low=1, high=2**63 - 1)


def parse_limit(value: str | int) -> int:
    return parse_whole_number(value, field="limit", low=1, high=MAX_LIMIT)


class DaysBackwards(InvalidTogether):
    def __init__(self, first: dt.date, last: dt.date):
        message = f"--from {first.isoformat()} is after --to {last.isoformat()}"
        super().__init__(message, "--from", "--to", details={"from": first.isoformat(), "to": last.isoformat()})


def parse_date_range(
    date_from: str | dt.date | None, date_to: str | dt.date | None
) -> tuple[dt.date | None, dt.date | None]:
    """--from and --to, both days included; either may be left open."""
    first = None if date_from is None else parse_date(date_from, field="from")
    last = None if date_to is None else parse_date(date_to, field="to")
    if first is not None and last is not None and first > last:
        raise DaysBackwards(first, last)
    return first, last


def normalize_name(value: str, *, field: str) -> str:
    """Trim, collapse inner whitespace and NFC-normalise, so that 'Seoul  Hospital ' is one hospital."""
    if type(value) is str and value.isascii() and value.isprintable() and "  " not in value:
        text = value.strip()  # the common case, cheaply: already NFC, and its only whitespace is single spaces
    else:
        text = unicodedata.normalize("NFC", str(value))
        if not text.isprintable() and any(unicodedata.category(ch) in _UNSEEN for ch in text):
            if any(unicodedata.category(ch) == "Cc" for ch in text):
                raise InvalidValue(field, value, "must not contain control characters or line breaks")
            raise InvalidValue(
                field, value, "must not contain invisible or text-direction characters (such as U+200B or U+202E)"
            )
        text = _WHITESPACE.sub(" ", text).strip()
    if not text:
        raise InvalidValue(field, value, "must not be empty", f"{field} must not be empty")
    if len(text) > MAX_NAME_LENGTH:
        reason = f"must be at most {MAX_NAME_LENGTH} characters"
        raise InvalidValue(field, value, f"{reason} (has {len(text)})", f"{field} {reason}, got {len(text)}")
    return text


def name_key(name: str) -> str:
    """The form names are compared in: case-insensitive, Unicode-aware."""
    return name.casefold()


def parse_user(value: str) -> str:
    user = normalize_name(value, field="user")
    if user == "*":
        raise InvalidValue(
            "user",
            value,
            "is reserved for broadcast notifications",
            "user '*' is reserved for broadcast notifications; give a person's id",
        )
    return user


def parse_actor(value: str, *, field: str = "--actor") -> str:
    """Who makes a change (--actor, VAXRES_ACTOR, the login name): a name as normalize_name
    reads one, shorter, since every message of a million-row import carries it."""
    actor = normalize_name(value, field=field)
    if len(actor) > MAX_ACTOR_LENGTH:
        reason = f"must be at most {MAX_ACTOR_LENGTH} characters"
        raise InvalidValue(field, value, f"{reason} (has {len(actor)})", f"{field} {reason}, got {len(actor)}")
    return actor


class NameReservedForCitizens(InvalidValue):
    """`citizen:ID` is the actor of a citizen's own changes, which the audit trail and the
    idempotency keys tell by it: no operator (--actor, VAXRES_ACTOR) and no token is named so."""

    def __init__(self, field: str, name: str, *, what: str | None = None):
        head = f"{field} may not be" if what is None else f"{what} may not be named"
        super().__init__(
            field,
            name,
            f"is a citizen's actor ({CITIZEN_ACTOR}ID)",
            f"{head} {CITIZEN_ACTOR}...: that is the actor of a citizen's own changes; choose another name",
        )


def parse_operator(value: str, *, field: str = "--actor", what: str | None = None) -> str:
    """An actor as parse_actor reads one, but never a citizen's (`citizen:ID`): those are made only
    by a citizen's session (vaxres/citizens/)."""
    actor = parse_actor(value, field=field)
    if actor.casefold().startswith(CITIZEN_ACTOR):
        raise NameReservedForCitizens(field, actor, what=what)
    return actor


LANGUAGES = ("en", "ko")  # the languages every notification message is written in
DEFAULT_LANGUAGE = "en"  # of a store that names none
_LOCALE_TAIL = re.compile(r"[-_.@].*", re.DOTALL)  # ko-KR, ko_KR.UTF-8, en_US@euro: the language is the head


def language_of(tag: str) -> str:
    """The language a locale or a language tag names, lower case: ko-KR, ko_KR.UTF-8 → ko."""
    return _LOCALE_TAIL.sub("", tag).lower()


def parse_language(value: str, *, field: str = "--lang") -> str:
    """en or ko in any case; a locale's form (ko-KR, ko_KR.UTF-8) names its language."""
    language = language_of(str(value).strip())
    if language not in LANGUAGES:
        raise InvalidValue(field, value, f"must be {' or '.join(LANGUAGES)}")
    return language
