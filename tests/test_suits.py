"""The waitlist's "this slot suits this entry" is written twice, in Python (the bulk offer) and
in SQL (the freed-dose offer, the join, the report): both say the same on both backends."""

import datetime as dt
import os

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import Date, String, create_engine, literal, select

from tests.helpers import PG_ENV
from vaxres.booking.suits import suits, suits_sql

DAYS = st.dates(min_value=dt.date(2026, 12, 1), max_value=dt.date(2027, 1, 31))
KEYS = st.text(alphabet="ab서울 ", max_size=4)


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def connection(request):
    if request.param == "postgresql":
        if not os.environ.get(PG_ENV):
            pytest.skip(f"set {PG_ENV} to run this on PostgreSQL")
        engine = create_engine(os.environ[PG_ENV])
    else:
        engine = create_engine("sqlite://")
    with engine.connect() as conn:
        yield conn
    engine.dispose()


@settings(max_examples=300, deadline=None, derandomize=True)
@given(date_from=DAYS, date_to=st.none() | DAYS, wanted=st.none() | KEYS, day=DAYS, hospital=KEYS)
def test_the_sql_twin_says_what_python_says(connection, date_from, date_to, wanted, day, hospital):
    asked = suits_sql(
        literal(date_from, Date), literal(date_to, Date), literal(wanted, String), literal(day, Date), literal(hospital)
    )
    in_sql = bool(connection.execute(select(asked)).scalar())
    assert in_sql == suits(date_from, date_to, wanted, day, hospital)


def test_the_rule_in_words():
    first, last = dt.date(2027, 1, 10), dt.date(2027, 1, 12)
    assert suits(first, last, None, first, "anything")
    assert suits(first, None, "seoul", dt.date(2030, 1, 1), "seoul national")
    assert not suits(first, last, None, dt.date(2027, 1, 13), "x")
    assert not suits(first, last, "busan", last, "seoul")
