"""When a slot suits a waiting entry (besides its vaccine, the queue the entry waits in): the
slot's day within the entry's days (`to` None: no last day) and the slot's hospital containing the
entry's text, compared by keys (no text: any hospital). Written once in Python, for the bulk
offer that decides in memory, with its SQL twin beside it, for the offers and the report that
ask the store (as outbox/events.py writes each message's facts twice)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import ColumnElement, and_, or_

from vaxres.db import sql


def day_suits(date_from: dt.date, date_to: dt.date | None, day: dt.date) -> bool:
    return date_from <= day and (date_to is None or day <= date_to)


def hospital_suits(wanted_key: str | None, hospital_key: str) -> bool:
    return wanted_key is None or wanted_key in hospital_key


def suits(date_from: dt.date, date_to: dt.date | None, wanted_key: str | None, day: dt.date, hospital_key: str) -> bool:
    return day_suits(date_from, date_to, day) and hospital_suits(wanted_key, hospital_key)


# The SQL twins: each argument a column or a bound parameter.


def day_suits_sql(date_from: Any, date_to: Any, day: Any) -> ColumnElement[bool]:
    return and_(date_from <= day, or_(date_to.is_(None), date_to >= day))


def hospital_suits_sql(wanted_key: Any, hospital_key: Any) -> ColumnElement[bool]:
    return or_(wanted_key.is_(None), sql.contains(hospital_key, wanted_key))


def suits_sql(date_from: Any, date_to: Any, wanted_key: Any, day: Any, hospital_key: Any) -> ColumnElement[bool]:
    return and_(day_suits_sql(date_from, date_to, day), hospital_suits_sql(wanted_key, hospital_key))
