"""The read side of the outbox: messages as `outbox list` shows them."""

from __future__ import annotations

from sqlalchemy import select

from vaxres.db.store import Store
from vaxres.db.tables import OutboxStatus, outbox_table
from vaxres.errors import InvalidInput
from vaxres.outbox.model import OutboxRecord


def parse_status(value: str) -> str:
    status = value.strip().lower()
    if status not in OutboxStatus.ALL:
        raise InvalidInput(f"status must be one of {', '.join(OutboxStatus.ALL)}, got {status!r}")
    return status


def list_outbox(store: Store, *, status: str | None = None) -> list[OutboxRecord]:
    query = select(outbox_table).order_by(outbox_table.c.id)
    if status is not None:
        query = query.where(outbox_table.c.status == parse_status(status))
    with store.read() as conn:
        return [OutboxRecord.from_row(row) for row in conn.execute(query)]
