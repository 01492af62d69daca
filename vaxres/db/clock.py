"""The store's calendar: the time zone it keeps, and "today" and "now" read in it.

Every rule about days (in the past, not over yet, the day before today) asks the store, never the
machine's local date: two machines in different zones that share one PostgreSQL store agree.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import Connection

from vaxres.db.store_setting import read_setting, write_setting
from vaxres.errors import InvalidValue

TIMEZONE_KEY = "timezone"
FALLBACK_ZONE = "UTC"


def machine_zone_name() -> str:
    """The IANA name of this machine's zone (TZ, /etc/localtime...), UTC when it has none."""
    from tzlocal import get_localzone_name

    try:
        name = get_localzone_name()
    except Exception:  # tzlocal raises its own errors for a zone it cannot name
        return FALLBACK_ZONE
    try:
        parse_zone(name or "")
    except InvalidValue:
        return FALLBACK_ZONE
    return name


def parse_zone(name: str) -> ZoneInfo:
    text = str(name).strip()
    try:
        if not text or text.startswith(("/", ".")) or ".." in text:
            raise ValueError(text)
        return ZoneInfo(text)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise InvalidValue(
            "time zone",
            name,
            "is not a known time zone",
            f"time zone {text!r} is not a known time zone; give an IANA name such as Asia/Seoul, Europe/Berlin or UTC",
        ) from None


def read_zone(conn: Connection) -> ZoneInfo:
    name = read_setting(conn, TIMEZONE_KEY)
    return parse_zone(name) if name else ZoneInfo(FALLBACK_ZONE)


def write_zone(conn: Connection, zone: ZoneInfo) -> None:
    write_setting(conn, TIMEZONE_KEY, zone.key)


def today_in(zone: ZoneInfo) -> dt.date:
    return dt.datetime.now(zone).date()


def database_now(conn: Connection) -> dt.datetime | None:
    """The database server's clock (PostgreSQL's now(): the start of the transaction); None for
    SQLite, whose clock is this machine's."""
    if conn.dialect.name != "postgresql":
        return None
    from sqlalchemy import func, select

    return conn.execute(select(func.now())).scalar_one()


def start_of_day(day: dt.date, zone: ZoneInfo) -> dt.datetime:
    """The start of a day of the store's calendar, as the UTC time rows are stored in."""
    return dt.datetime.combine(day, dt.time(), tzinfo=zone).astimezone(dt.UTC)
