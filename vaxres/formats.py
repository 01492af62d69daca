"""How values are written for people and for JSON, the same everywhere they appear."""

import datetime as dt


def doses(n: int) -> str:
    """'1 dose', '3 doses': shared by notification messages and the CLI's lines."""
    return f"{n} dose" if n == 1 else f"{n} doses"


def iso_utc(value: dt.datetime | None) -> str | None:
    return None if value is None else value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def korean_date(value: str | dt.date) -> str:
    """'2026년 12월 1일': a day as Korean is written (no zero padding), from a date or YYYY-MM-DD."""
    day = value if isinstance(value, dt.date) else dt.date.fromisoformat(value)
    return f"{day.year}년 {day.month}월 {day.day}일"
