"""Many rows through one statement without SQLAlchemy's per-row work: a bulk path (the booking
import, the waitlist's bulk offer) sends tens of thousands of parameter sets whose few changing
values are plain ints and strings, and whose timestamps are one `now`. The statement is compiled
once for the connection's dialect and the driver's executemany gets the rows as they are; a value
that needs its type's conversion (a timestamp) is converted once with `bound()`."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Column, Connection
from sqlalchemy.sql import Executable


def bound(conn: Connection, column: Column, value: Any) -> Any:
    """`value` as the driver receives it for `column` (a timestamp formatted for SQLite, say)."""
    process = column.type._cached_bind_processor(conn.dialect)
    return value if process is None else process(value)


def executemany(conn: Connection, statement: Executable, rows: list[dict[str, Any]]) -> int:
    """Run `statement` once per row, every value already in the driver's form (see bound());
    return how many rows it changed in all."""
    if not rows:
        return 0
    compiled = statement.compile(dialect=conn.dialect, column_keys=list(rows[0]))
    if compiled.positional:
        order = compiled.positiontup
        return conn.exec_driver_sql(str(compiled), [tuple(row[key] for key in order) for row in rows]).rowcount
    return conn.exec_driver_sql(str(compiled), rows).rowcount
