"""The column types of vaxres's own."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import types


class UTCDateTime(types.TypeDecorator[dt.datetime]):
    """Aware datetimes in, UTC out: SQLite keeps no offset, so what it returns is read as UTC."""

    impl = types.DateTime
    cache_ok = True

    def __init__(self) -> None:
        super().__init__(timezone=True)

    def __repr__(self) -> str:
        return "UTCDateTime()"

    def coerce_compared_value(self, op: Any, value: Any) -> Any:
        return types.Interval() if isinstance(value, dt.timedelta) else self

    def process_bind_param(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        if value.utcoffset() is None:
            raise ValueError("a naive datetime reached the store; vaxres writes aware UTC times only")
        return value.astimezone(dt.UTC)

    def process_result_value(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=dt.UTC) if value.utcoffset() is None else value.astimezone(dt.UTC)
