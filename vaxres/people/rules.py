"""The person registry's refusals, each built here once, and how its values are read: a phone
(E.164, by the phonenumbers library), an e-mail address (email-validator), a guardian."""

from __future__ import annotations

import datetime as dt

from vaxres import validate
from vaxres.errors import InvalidInput, InvalidValue, NotFound, Refused

ADULT_AGE = 18  # a guardian is at least this old; a person younger is booked only with one (booking/rules.py)
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

    def __init__(self, holder: str, masked: str):
        super().__init__(
            f"the resident registration number {masked} is registered to {holder} already; one number, one person",
            details={"person": holder, "rrn": masked},
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


def parse_phone(text: str, *, region: str = DEFAULT_REGION, field: str = "--phone") -> str:
    """The number in E.164 (`010-1234-5678` in KR: `+821012345678`); one written with + needs no region."""
    import phonenumbers

    raw = str(text).strip()
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


def parse_email(text: str, *, field: str = "--email") -> str:
    """The address as email-validator normalises it (no look-up of the domain: it may be offline)."""
    from email_validator import EmailNotValidError, validate_email

    raw = str(text).strip()
    try:
        return validate_email(raw, check_deliverability=False).normalized
    except EmailNotValidError as error:
        reason = str(error).rstrip(".")
        raise InvalidValue(field, raw, f"is not an e-mail address ({reason[:1].lower()}{reason[1:]})") from None


def parse_groups(names: list[str]) -> dict[str, str]:
    """{key: name} of the groups given, each named once (ignoring case)."""
    groups: dict[str, str] = {}
    for given in names:
        name = validate.normalize_name(given, field="--group")
        if len(name) > MAX_GROUP_LENGTH:
            raise InvalidValue("--group", given, f"must be at most {MAX_GROUP_LENGTH} characters")
        groups.setdefault(validate.name_key(name), name)
    if len(groups) > MAX_GROUPS:
        raise InvalidInput(f"a person can be in at most {MAX_GROUPS} groups, {len(groups)} given")
    return groups


def parse_birth_date(text: str | dt.date, *, today: dt.date) -> dt.date:
    born = validate.parse_date(text, field="--birth-date")
    if born > today:
        raise InvalidValue("--birth-date", text, f"is after today ({today.isoformat()})")
    if born.year < 1850:
        raise InvalidValue("--birth-date", text, "is before 1850")
    return born
