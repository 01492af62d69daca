import datetime as dt

import pytest

from vaxres import validate
from vaxres.errors import InvalidInput


def test_names_are_trimmed_collapsed_and_nfc_normalised():
    assert validate.normalize_name("  Seoul \u00a0  National  Hospital ", field="hospital") == "Seoul National Hospital"
    decomposed = "\u1109\u1165\u110b\u116e\u11af"  # 서울 written as conjoining jamo (NFD)
    assert validate.normalize_name(decomposed, field="hospital") == "서울"


@pytest.mark.parametrize(
    "value, message",
    [
        ("", "hospital must not be empty"),
        ("   ", "hospital must not be empty"),
        ("a\x00b", "hospital must not contain control characters"),
        ("line\nbreak", "hospital must not contain control characters"),
        ("tab\there", "hospital must not contain control characters"),
        ("x" * 201, "hospital must be at most 200 characters, got 201"),
    ],
)
def test_bad_names_are_refused_with_the_reason(value, message):
    with pytest.raises(InvalidInput, match=message):
        validate.normalize_name(value, field="hospital")


def test_a_name_of_exactly_200_characters_is_accepted():
    assert len(validate.normalize_name("x" * 200, field="vaccine")) == 200


@pytest.mark.parametrize(
    "value, message",
    [
        ("2026-02-30", "'2026-02-30' is not a real calendar date"),
        ("2026-13-01", "is not a real calendar date"),
        ("01/12/2026", "must be a date as YYYY-MM-DD"),
        ("1/12/2026", "must be a date as YYYY-MM-DD"),
        ("2026/12-01", "must be a date as YYYY-MM-DD"),
        ("tomorrow", "must be a date as YYYY-MM-DD"),
    ],
)
def test_bad_dates(value, message):
    with pytest.raises(InvalidInput, match=message):
        validate.parse_date(value)


def test_past_dates_are_refused_when_a_first_day_is_given():
    today = dt.date(2026, 12, 1)
    with pytest.raises(InvalidInput, match=r"date 2026-11-30 is in the past; give today \(2026-12-01\) or later"):
        validate.parse_date("2026-11-30", not_before=today)
    assert validate.parse_date("2026-11-30").isoformat() == "2026-11-30"
    assert validate.parse_date("2026-12-01", not_before=today) == today


@pytest.mark.parametrize("value", ["0", "-1", "1000001", "1.5", "abc", "", "1_000", "١٢", "9" * 5000, " " + "9" * 30])
def test_quantities_outside_the_range_or_not_whole_are_refused(value):
    with pytest.raises(InvalidInput, match="quantity must be a whole number from 1 to 1,000,000"):
        validate.parse_quantity(value)


@pytest.mark.parametrize("value, expected", [("1", 1), (" 42 ", 42), ("1000000", 1_000_000), (7, 7)])
def test_good_quantities(value, expected):
    assert validate.parse_quantity(value) == expected


def test_the_broadcast_recipient_is_not_a_user():
    with pytest.raises(InvalidInput, match="user '\\*' is reserved"):
        validate.parse_user("*")


@pytest.mark.parametrize(
    "text", ["2030-12-01", "2030/12/01", "2030.12.01", "2030. 12. 1.", "20301201", "2030-12-1", " 2030 / 12 / 01 "]
)
def test_dates_as_spreadsheets_write_them_year_first(text):
    assert validate.parse_date(text) == dt.date(2030, 12, 1)


@pytest.mark.parametrize("text, number", [("1,000", 1000), ("999", 999), ("+1,000", 1000), ("1,000,000", 1_000_000)])
def test_quantities_with_thousands_separators(text, number):
    assert validate.parse_quantity(text) == number


@pytest.mark.parametrize("text", ["1,00", "1,0000", "1.000", ",100", "1 000"])
def test_misplaced_separators_stay_invalid(text):
    with pytest.raises(InvalidInput, match="must be a whole number"):
        validate.parse_quantity(text)
