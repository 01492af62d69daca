"""The import's fast paths for phones and e-mail addresses (people/rules.py) give what the
libraries give: the same E.164 number, the same normalised address, the same refusals; and who
is a minor (rules.minor_on, one comparison) is who age_on counts under ADULT_AGE."""

import datetime as dt

import phonenumbers
import pytest
from email_validator import EmailNotValidError, validate_email
from hypothesis import given, settings
from hypothesis import strategies as st

from vaxres.errors import InvalidValue
from vaxres.people import rules


def _library_phone(text: str) -> str | None:
    try:
        number = phonenumbers.parse(text.strip(), "KR")
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def _ours(parse, text: str) -> str | None:
    try:
        return parse(text)
    except InvalidValue:
        return None


@settings(max_examples=2000, derandomize=True)
@given(st.from_regex(r"\A0[01][0-9][- ]?[0-9]{3,4}[- ]?[0-9]{4}\Z"))
def test_korean_mobiles_read_as_libphonenumber_reads_them(text):
    assert _ours(rules.parse_phone, text) == _library_phone(text)


@pytest.mark.parametrize("middle", range(0, 10000, 7))
def test_every_range_of_010_numbers_agrees(middle):
    text = f"010-{middle:04d}-1234"
    assert _ours(rules.parse_phone, text) == _library_phone(text)


def _library_email(text: str) -> str | None:
    try:
        return validate_email(text.strip(), check_deliverability=False).normalized
    except EmailNotValidError:
        return None


@settings(max_examples=1500, derandomize=True)
@given(
    local=st.from_regex(r"\A[A-Za-z0-9._+\-!#]{1,70}\Z"),
    domain=st.sampled_from(["naver.com", "Example.COM", "daum.net", "b.c", "localhost", "x.test", "a..b.com"]),
)
def test_addresses_at_known_domains_read_as_email_validator_reads_them(local, domain):
    _ours(rules.parse_email, f"first@{domain}")  # an earlier row: the domain is known when valid
    text = f"{local}@{domain}"
    assert _ours(rules.parse_email, text) == _library_email(text)


LEAP_EDGES = [dt.date(2004, 2, 29), dt.date(2022, 2, 28), dt.date(2022, 3, 1)]  # born on the first, 18 around it
BIRTHS = st.dates(dt.date(1996, 1, 1), dt.date(2012, 12, 31)) | st.sampled_from(LEAP_EDGES[:1])
DAYS = st.dates(dt.date(2014, 1, 1), dt.date(2030, 12, 31)) | st.sampled_from(LEAP_EDGES[1:])


@settings(max_examples=3000, derandomize=True)
@given(BIRTHS, DAYS)
def test_a_minor_is_who_age_on_counts_under_adult_age(born, day):
    assert rules.minor_on(born, day) == (rules.age_on(born, day) < rules.ADULT_AGE)
