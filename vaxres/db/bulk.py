"""Many rows through one statement without SQLAlchemy's per-row work: a bulk path (the booking
import, the waitlist's bulk offer) sends tens of thousands of parameter sets whose few changing
values are plain ints and strings, and whose timestamps are one `now`. The statement is compiled
once for the connection's dialect (insert_rows writes SQLite's many-row INSERT itself) and the
driver's executemany gets the rows as they are; a value that needs its type's conversion (a
timestamp) is converted once with `bound()`."""

from __future__ import annotations

from itertools import chain
from operator import itemgetter
from typing import Any

from sqlalchemy import Column, Connection, Table, insert
from sqlalchemy.sql import ClauseElement
from sqlalchemy.sql.compiler import SQLCompiler


def bound(conn: Connection, column: Column, value: Any) -> Any:
    """`value` as the driver receives it for `column` (a timestamp formatted for SQLite, say)."""
    process = column.type._cached_bind_processor(conn.dialect)
    return value if process is None else process(value)


def executemany_tuples(conn: Connection, statement: ClauseElement, keys: list[str], rows: list[tuple]) -> int:
    """Run `statement` once per row, each a tuple of the values of `keys` in that order, every
    value already in the driver's form (see bound()); how many rows it changed in all."""
    if not rows:
        return 0
    compiled = _compiled(conn, statement, column_keys=keys)
    sql = str(compiled)
    if not compiled.positional:
        return conn.exec_driver_sql(sql, [dict(zip(keys, row)) for row in rows]).rowcount
    order = compiled.positiontup or []
    if order != keys:
        pick = itemgetter(*(keys.index(key) for key in order))  # C, not a generator a row
        rows = list(map(pick, rows)) if len(order) > 1 else [(pick(row),) for row in rows]
    return conn.exec_driver_sql(sql, rows).rowcount


ROWS_PER_INSERT = 50  # SQLite: one INSERT of 50 rows costs under half of 50 INSERTs of one


def insert_rows(conn: Connection, table: Table, keys: list[str], rows: list[tuple]) -> None:
    """INSERT `rows` into `table` in their order, each a tuple of the values of the columns `keys`
    in the driver's form (see bound()): on SQLite as statements of ROWS_PER_INSERT rows each,
    elsewhere through the driver's executemany. `keys` must name every column with a Python-side
    default: the SQLite statement leaves the others to the table's own defaults."""
    if not rows:
        return
    if conn.dialect.name != "sqlite":
        executemany_tuples(conn, insert(table), keys, rows)
        return
    quote = conn.dialect.identifier_preparer
    sql = f"INSERT INTO {quote.format_table(table)} ({', '.join(quote.quote(key) for key in keys)}) VALUES "
    marks = f"({', '.join('?' * len(keys))})"
    per = ROWS_PER_INSERT
    whole = len(rows) - len(rows) % per
    if whole:
        groups = [tuple(chain.from_iterable(rows[start : start + per])) for start in range(0, whole, per)]
        conn.exec_driver_sql(sql + ", ".join([marks] * per), groups)
    if whole < len(rows):
        conn.exec_driver_sql(sql + marks, rows[whole:])


def fetch(conn: Connection, statement: ClauseElement, params: dict[str, Any]) -> list[tuple]:
    """All rows of `statement` as the driver returns them (tuples; on SQLite dates as ISO text):
    for tens of thousands of rows read once and looked at once, without a Row and a type
    conversion per value."""
    compiled = _compiled(conn, statement)
    named = compiled.construct_params(params)
    values = tuple(named[key] for key in compiled.positiontup or ()) if compiled.positional else named
    return list(conn.exec_driver_sql(str(compiled), values).cursor.fetchall())


def _compiled(conn: Connection, statement: ClauseElement, **options: Any) -> SQLCompiler:
    compiled = statement.compile(dialect=conn.dialect, **options)
    assert isinstance(compiled, SQLCompiler)
    return compiled
