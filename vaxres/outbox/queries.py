"""The read side of the outbox: messages as `outbox list` and `outbox show` give them."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, Connection, Row, Select, func, select

from vaxres import validate
from vaxres.db.clock import read_zone, start_of_day
from vaxres.db.language import message_language
from vaxres.db.listing import Hide, ListQuery, Page, as_is, read_all, read_page
from vaxres.db.store import Store
from vaxres.db.tables import OutboxStatus, outbox_table
from vaxres.errors import InvalidInput, InvalidValue
from vaxres.outbox.events import ALL_EVENTS
from vaxres.outbox.model import OutboxRecord
from vaxres.outbox.retry import MessageNotFound

outbox = outbox_table.c


def parse_status(value: str) -> str:
    status = value.strip().lower()
    if status not in OutboxStatus.ALL:
        raise InvalidInput(f"status must be one of {', '.join(OutboxStatus.ALL)}, got {status!r}")
    return status


def parse_event(value: str) -> str:
    """An event name in any case: `reservationconfirmed` is ReservationConfirmed."""
    wanted = value.strip().casefold()
    for event in ALL_EVENTS:
        if event.casefold() == wanted:
            return event
    raise InvalidValue("event", value, f"must be one of {', '.join(ALL_EVENTS)}")


@dataclass(frozen=True)
class OutboxFilter:
    """What `outbox list` narrows to; the days are those of created_at, in UTC."""

    status: str | None = None
    recipient: str | None = None
    event: str | None = None
    date_from: dt.date | None = None
    date_to: dt.date | None = None
    after: int | None = None

    @classmethod
    def parse(
        cls,
        *,
        status: str | None = None,
        recipient: str | None = None,
        event: str | None = None,
        date_from: str | dt.date | None = None,
        date_to: str | dt.date | None = None,
        after: str | int | None = None,
    ) -> OutboxFilter:
        first, last = validate.parse_date_range(date_from, date_to)
        return cls(
            None if status is None else parse_status(status),
            None if recipient is None else validate.normalize_name(recipient, field="recipient"),
            None if event is None else parse_event(event),
            first,
            last,
            None if after is None else validate.parse_id(after, field="after"),
        )


def outbox_query(conn: Connection, f: OutboxFilter, about: Sequence[ColumnElement] = ()) -> ListQuery:
    """The messages `f` matches, in id order; `about`: further conditions (`vaxres log`'s
    reservation, slot and actor), served by indexes of their own."""
    if f.after is not None and conn.execute(select(outbox.id).where(outbox.id == f.after)).first() is None:
        raise MessageNotFound(f.after)
    days = [] if f.date_from is None and f.date_to is None else _days(f, read_zone(conn))

    def filters(hide: Hide) -> list:
        where = list(about)
        if f.status is not None:
            where.append(outbox.status == f.status)
        if f.event is not None:
            where.append(outbox.event == f.event)
        if f.recipient is not None:
            where.append(hide(outbox.recipient) == f.recipient)  # its index is ordered by status first
        return where + [test(hide(outbox.created_at)) for test in days]

    def rows(hide: Hide) -> Select:
        after = [] if f.after is None else [outbox.id > f.after]
        return select(outbox_table).where(*filters(hide), *after).order_by(outbox.id)

    return ListQuery(
        rows,
        select(func.count()).select_from(outbox_table).where(*filters(as_is)),
        indexed_filters=bool(about) or f.recipient is not None or f.date_from is not None or f.date_to is not None,
    )


def record_reader(conn: Connection, lang: str | None) -> Callable[[Row], OutboxRecord]:
    """Rows as records with their message in `lang` (--lang or VAXRES_LANG), else the store's language."""
    lang = message_language(conn, lang)
    return lambda row: OutboxRecord.from_row(row, lang)


def outbox_page(store: Store, *, limit: str | int, lang: str | None = None, **filters: Any) -> Page[OutboxRecord]:
    """One page of `outbox list`, oldest first, and the number of messages the filters match."""
    f, limit = OutboxFilter.parse(**filters), validate.parse_limit(limit)
    with store.read() as conn:
        return read_page(conn, outbox_query(conn, f), record_reader(conn, lang), limit)


@contextmanager
def stream_outbox(
    store: Store, *, limit: str | int | None = None, lang: str | None = None, **filters: Any
) -> Iterator[Iterator[OutboxRecord]]:
    """Every message the filters match (or the first `limit`), oldest first, read as it is consumed."""
    f = OutboxFilter.parse(**filters)
    limit = None if limit is None else validate.parse_limit(limit)
    with store.read() as conn:
        yield read_all(conn, outbox_query(conn, f), record_reader(conn, lang), limit)


def list_outbox(
    store: Store, *, limit: str | int | None = None, lang: str | None = None, **filters: Any
) -> list[OutboxRecord]:
    with stream_outbox(store, limit=limit, lang=lang, **filters) as messages:
        return list(messages)


def show_message(store: Store, message_id: str | int, *, lang: str | None = None) -> OutboxRecord:
    """One message whole, for `outbox show`."""
    number = validate.parse_id(message_id, field="message id")
    with store.read() as conn:
        row = conn.execute(select(outbox_table).where(outbox.id == number)).one_or_none()
        if row is None:
            raise MessageNotFound(number)
        return record_reader(conn, lang)(row)


def _days(f, zone: ZoneInfo) -> list:
    """--from/--to as bounds of created_at, the days being the store's (the column still to hide)."""
    tests = []
    if f.date_from is not None:
        start = start_of_day(f.date_from, zone)
        tests.append(lambda column: column >= start)
    if f.date_to is not None:
        end = start_of_day(f.date_to + dt.timedelta(days=1), zone)
        tests.append(lambda column: column < end)
    return tests
