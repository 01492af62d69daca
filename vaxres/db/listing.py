"""Long lists that stay fast on a store of millions of rows (issue 12): one order per list, pages
by keyset (`--after ID`), the total from one COUNT, and every row streamed for --json from a
cursor read a batch at a time. `booking.queries.list_slots` and `outbox.queries.list_outbox` use it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Generic, Protocol, TypeVar

from sqlalchemy import ColumnElement, Connection, Row, Select

from vaxres.db.sql import unindexed


class Numbered(Protocol):
    @property
    def id(self) -> int: ...


T = TypeVar("T", bound=Numbered)  # a listed row: --after takes its number
Hide = Callable[[ColumnElement], ColumnElement]

# Past this many matching rows, SQLite walks the list's order and skips what does not match,
# rather than looking the matches up by a filter's index and sorting them all.
MANY = 10_000
# Names a substring matched are compared with IN up to this many; past it, with LIKE.
IN_LIST = 1_000
BATCH = 1_000


@dataclass(frozen=True)
class Page(Generic[T]):
    rows: list[T]
    total: int  # the rows the filters match, on every page
    more: bool  # rows follow the last one shown

    @property
    def next_after(self) -> int | None:
        """What --after takes to show the next page."""
        return self.rows[-1].id if self.more else None


@dataclass(frozen=True)
class ListQuery:
    """`rows(hide)`: the SELECT of the rows after the keyset, filtered, in the list's order, where
    `hide` wraps the filtered columns that have an index of their own (see read_page); `count`
    counts what the filters match on every page. `empty`: a filter matched no name at all."""

    rows: Callable[[Hide], Select]
    count: Select
    indexed_filters: bool = False
    empty: bool = False


def read_page(conn: Connection, query: ListQuery, convert: Callable[[Row], T], limit: int) -> Page[T]:
    total = 0 if query.empty else conn.execute(query.count).scalar_one()
    if not total:
        return Page([], 0, False)
    rows = [convert(row) for row in conn.execute(query.rows(_hide_when(total)).limit(limit + 1))]
    return Page(rows[:limit], total, len(rows) > limit)


def read_all(conn: Connection, query: ListQuery, convert: Callable[[Row], T], limit: int | None) -> Iterator[T]:
    """Every row (or the first `limit`), BATCH rows at a time from a streamed cursor: a million
    rows never sit in memory at once. Consume it inside the connection's block."""
    if query.empty:
        return iter(())
    total = conn.execute(query.count).scalar_one() if query.indexed_filters else 0
    statement = query.rows(_hide_when(total))
    if limit is not None:
        statement = statement.limit(limit)
    return (convert(row) for row in conn.execute(statement.execution_options(yield_per=BATCH)))


def _hide_when(total: int) -> Hide:
    """When many rows match, a filter's own index is hidden from SQLite (`+column`): reading the
    list's order and skipping non-matches finds a page at once, where looking up every match and
    sorting them costs a second at a million. PostgreSQL's planner decides this from statistics."""
    return unindexed if total > MANY else as_is


def as_is(column: ColumnElement) -> ColumnElement:
    return column


def named(column: ColumnElement, found: Sequence[str], needle: str) -> ColumnElement:
    """The rows whose `column` is one of the names found to contain `needle`: IN up to IN_LIST
    names, past that a LIKE on the needle (its % and _ escaped: the text is matched as typed,
    as it was when the names were found)."""
    if len(found) <= IN_LIST:
        return column.in_(found)
    return column.like(f"%{escape_like(needle)}%", escape="\\")


def escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
