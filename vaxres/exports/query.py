"""The SELECT of an export and its reading, on SQLite or PostgreSQL.

Rows are read from the driver's own cursor (a server-side cursor on PostgreSQL), a batch of
plain tuples at a time: no Row object or type conversion per value, because every value leaves
the database as the text or number the file holds (days as YYYY-MM-DD, times as ISO 8601 UTC).

For a plain CSV the database does more: it joins each row's values into one text, separated by
SEPARATOR (U+001F, a control character names may not hold: validate.normalize_name refuses them),
NULL written as nothing. Python then receives one value a row instead of a dozen, which is most
of what Python's sqlite3 module costs, and makes CSV lines of a whole batch at once (exports.run).
On SQLite that value comes as the UTF-8 bytes the file holds (text_factory=bytes): nothing is
decoded, nothing encoded again.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Generator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from vaxres.db.store import Store, driver_of

NAME, PLAIN, DAY, TIME = "name", "plain", "day", "time"
SEPARATOR = "\x1f"


@dataclass(frozen=True)
class Column:
    header: str  # in the CSV (and the JSON key unless the source renames it)
    expression: str
    form: str = PLAIN  # NAME: text a person typed; PLAIN: a number or a status; DAY; TIME


@dataclass(frozen=True)
class Query:
    columns: tuple[Column, ...]
    source: str  # FROM ... WHERE ...
    order: str  # ORDER BY ...


@dataclass(frozen=True)
class Statement:
    rows: str
    count: str
    params: dict[str, Any]
    joined: int | None  # each row is one text of this many values joined by SEPARATOR; None: a tuple


@dataclass(frozen=True)
class Reading:
    total: int | None  # the rows to come, when counting was asked for
    batches: Iterator[list[tuple]]
    joined: int | None = None  # as Statement.joined


class Sql:
    """The few places SQLite and PostgreSQL are spelled differently, and the parameters."""

    def __init__(self, store: Store):
        self.postgres = not store.is_sqlite
        self.params: dict[str, Any] = {}

    def param(self, name: str, value: Any) -> str:
        if isinstance(value, dt.date) and not self.postgres:
            value = value.isoformat()  # days are stored as ISO text
        self.params[name] = value
        return f"%({name})s" if self.postgres else f":{name}"

    @staticmethod
    def where(conditions: list[str]) -> str:
        return f" WHERE {' AND '.join(conditions)}" if conditions else ""

    def value(self, column: Column) -> str:
        """The column as the file holds it: a day as YYYY-MM-DD, a time as ISO 8601 UTC."""
        expression = column.expression
        if column.form == DAY:
            return f"to_char({expression}, 'YYYY-MM-DD')" if self.postgres else expression
        if column.form == TIME:
            if self.postgres:
                return f"""to_char({expression} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"')"""
            return f"strftime('%Y-%m-%dT%H:%M:%SZ', {expression})"  # stored as UTC text
        return expression

    def joined(self, columns: tuple[Column, ...]) -> str:
        """One text a row: the values (NULL as nothing) joined by SEPARATOR, by printf (SQLite)
        or format (PostgreSQL), which write NULL as an empty string."""
        function, each = ("format", "%%s") if self.postgres else ("printf", "%s")  # psycopg: %% is one %
        return f"{function}('{SEPARATOR.join([each] * len(columns))}', {', '.join(self.value(c) for c in columns)})"


def statement(store: Store, query: Query, sql: Sql, *, joined: bool = False) -> Statement:
    """The SELECT of the rows (one value a column, or with `joined` one text a row),
    the SELECT count(*) of them, and their parameters, on this store's backend."""
    if joined:
        select, width = sql.joined(query.columns), len(query.columns)
    else:
        select, width = ", ".join(sql.value(c) for c in query.columns), None
    return Statement(
        f"SELECT {select} {query.source} {query.order}", f"SELECT count(*) {query.source}", sql.params, width
    )


@contextmanager
def read(
    store: Store, found: Statement, batch: int, counting: bool, prepare: Callable[[Any], None] | None = None
) -> Iterator[Reading]:
    """The rows in one read transaction, `batch` at a time, counted first when asked;
    `prepare(driver connection)` first (a function the statement calls, say)."""
    with store.read() as conn:
        driver = driver_of(conn)
        if prepare is not None:
            prepare(driver)
        total = None
        if counting:
            cursor = driver.cursor()
            cursor.execute(found.count, found.params)
            total = cursor.fetchone()[0]
            cursor.close()
        as_bytes = store.is_sqlite and found.joined is not None
        batches = _batches(driver, found, batch, not store.is_sqlite)
        if as_bytes:
            driver.text_factory = bytes
        try:
            yield Reading(total, batches, found.joined)
        finally:
            batches.close()
            if as_bytes:
                driver.text_factory = str  # the pooled connection goes back as it came


def _batches(driver: Any, found: Statement, batch: int, postgres: bool) -> Generator[list[tuple], None, None]:
    """The rows as the driver's tuples; on PostgreSQL from a server-side cursor, so the server
    hands them over as they are fetched, never all at once."""
    cursor = driver.cursor(name="vaxres_export") if postgres else driver.cursor()
    try:
        cursor.execute(found.rows, found.params)
        while rows := cursor.fetchmany(batch):
            yield rows
    finally:
        cursor.close()
