"""The person registry's refusals, each built here once, and how its values are read: a phone
(E.164, by the phonenumbers library), an e-mail address (email-validator), a guardian."""

from __future__ import annotations

import datetime as dt
import re

from vaxres import validate
from vaxres.errors import InvalidInput, InvalidValue, NotFound, Refused

ADULT_AGE = 18  # a guardian is at least this old; a person younger (minor_on) is booked only with one
DEFAULT_REGION = "KR"
MAX_GROUP_LENGTH = 100
MAX_GROUPS = 50


class PersonNotFound(NotFound):
    code = "person_not_found"

    def __init__(self, person: str, *, role: str = "person"):
        super().__init__(f"there is no {role} {person!r} in the registry", details={"person": person})


class PersonExists(Refused):
    code = "person_exists"

    def __init__(self, person: str):
        super().__init__(f"{person} is registered already", details={"person": person})


class DuplicateIdentity(Refused):
    code = "duplicate_identity"

    def __init__(self, holder: str, masked: str, *, line: int | None = None):
        # line: an import's file gives the number to `holder` on that line already
        where = "registered to" if line is None else f"given on line {line} to"
        super().__init__(
            f"the resident registration number {masked} is {where} {holder} already; one number, one person",
            details={"person": holder, "rrn": masked, **({"line": line} if line is not None else {})},
        )


class RepeatedPerson(Refused):
    """An import's file names a person on two rows: the first counts."""

    code = "duplicate_person"

    def __init__(self, person: str, line: int):
        super().__init__(
            f"{person} is on line {line} of the file already; give one row per person",
            details={"person": person, "line": line},
        )


class NoSuchIdentity(NotFound):
    code = "identity_not_found"

    def __init__(self, masked: str):
        super().__init__(f"nobody is registered with the number {masked}", details={"rrn": masked})


class InvalidGuardian(InvalidInput):
    code = "invalid_guardian"

    def __init__(self, person: str, guardian: str, reason: str):
        super().__init__(f"{guardian} cannot be {person}'s guardian: {reason}", details={"guardian": guardian})


class Forgotten(Refused):
    code = "person_forgotten"

    def __init__(self, person: str):
        super().__init__(f"{person}'s personal data was erased; the id only remains", details={"person": person})


class FutureBookingHeld(Refused):
    code = "future_booking_held"

    def __init__(self, person: str, reservation_id: int, day: dt.date):
        super().__init__(
            f"{person} holds reservation {reservation_id} for {day.isoformat()}; cancel it before erasing the person",
            details={"person": person, "reservation_id": reservation_id, "date": day.isoformat()},
        )


def age_on(born: dt.date, day: dt.date) -> int:
    """Whole years on `day` (born on 29 February: a year older on 1 March in other years)."""
    return day.year - born.year - ((day.month, day.day) < (born.month, born.day))


def minor_on(born: dt.date, day: dt.date) -> bool:
    """Under ADULT_AGE on `day`, as age_on counts: the one place that says who is a minor. One tuple
    comparison, no age worked out, as the booking import asks it of every row with a birth date."""
    return (day.year - ADULT_AGE, day.month, day.day) < (born.year, born.month, born.day)


# A Korean mobile number as libphonenumber's KR metadata reads one (the ten-digit forms of its
# mobile pattern 1(?:05(?:[0-8]\d|9[0-6])|...)\d{4,5}|1(?:0[0-46-9]|...)\d{6,7}): the common case of
# an import, turned into E.164 without the library's 20 us a number. tests/unit checks it agrees.
KR_MOBILE = re.compile(r"0(10)[- ]?((?:[0-46-9][0-9]{3}|5[0-8][0-9]{2}|59[0-6][0-9]))[- ]?([0-9]{4})")


def parse_phone(text: str, *, region: str = DEFAULT_REGION, field: str = "--phone") -> str:
    """The number in E.164 (`010-1234-5678` in KR: `+821012345678`); one written with + needs no region."""
    raw = str(text).strip()
    if region == "KR" and (mobile := KR_MOBILE.fullmatch(raw)) is not None:
        return "+82" + "".join(mobile.groups())
    import phonenumbers

    region = parse_region(region)
    try:
        number = phonenumbers.parse(raw, region)
    except phonenumbers.NumberParseException:
        number = None
    if number is None or not phonenumbers.is_valid_number(number):
        raise InvalidValue(field, raw, f"is not a valid phone number (read in region {region}; --region changes it)")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def parse_region(text: str) -> str:
    import phonenumbers

    region = str(text).strip().upper()
    if region not in phonenumbers.SUPPORTED_REGIONS:
        raise InvalidValue("--region", text, "must be a two-letter country code such as KR or GB")
    return region


# A plain local part (letters, digits, . _ + - in dot-atom form): email-validator keeps it as it is.
_PLAIN_LOCAL = re.compile(r"[A-Za-z0-9_+-]+(?:\.[A-Za-z0-9_+-]+)*")
_DOMAINS: dict[str, str] = {}  # a domain email-validator accepted -> its normalised form
_DOMAINS_LIMIT = 10_000
_MAX_LOCAL, _MAX_ADDRESS = 64, 254


def parse_email(text: str, *, field: str = "--email") -> str:
    """The address as email-validator normalises it (no look-up of the domain: it may be offline).

    An import names few domains for many addresses: a plain local part at a domain the validator
    has accepted already is put together without it (tests/unit checks the two agree)."""
    raw = str(text).strip()
    local, at, domain = raw.rpartition("@")
    known = _DOMAINS.get(domain) if at else None
    if known is not None and len(local) <= _MAX_LOCAL and len(raw) <= _MAX_ADDRESS and _PLAIN_LOCAL.fullmatch(local):
        return f"{local}@{known}"
    from email_validator import EmailNotValidError, validate_email

    try:
        normalized = validate_email(raw, check_deliverability=False).normalized
        if at and domain.isascii():
            if len(_DOMAINS) >= _DOMAINS_LIMIT:
                _DOMAINS.clear()
            _DOMAINS[domain] = normalized.rpartition("@")[2]
        return normalized
    except EmailNotValidError as error:
        reason = str(error).rstrip(".")
        raise InvalidValue(field, raw, f"is not an e-mail address ({reason[:1].lower()}{reason[1:]})") from None


def parse_groups(names: list[str], *, field: str = "--group") -> dict[str, str]:
    """{key: name} of the groups given, each named once (ignoring case)."""
    groups: dict[str, str] = {}
    for given in names:
        name = validate.normalize_name(given, field=field)
        if len(name) > MAX_GROUP_LENGTH:
            raise InvalidValue(field, given, f"must be at most {MAX_GROUP_LENGTH} characters")
        groups.setdefault(validate.name_key(name), name)
    if len(groups) > MAX_GROUPS:
        if field != "--group":  # a cell of an import
            raise InvalidValue(
                field, ";".join(names), f"names {len(groups)} groups; a person can be in at most {MAX_GROUPS}"
            )
        raise InvalidInput(f"a person can be in at most {MAX_GROUPS} groups, {len(groups)} given")
    return groups


def parse_birth_date(text: str | dt.date, *, today: dt.date, field: str = "--birth-date") -> dt.date:
    born = validate.parse_date(text, field=field)
    if born > today:
        raise InvalidValue(field, text, f"is after today ({today.isoformat()})")
    if born.year < 1850:
        raise InvalidValue(field, text, "is before 1850")
    return born
