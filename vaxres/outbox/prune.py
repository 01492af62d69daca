"""Removing old delivered messages: `vaxres outbox prune`. Nothing else deletes a message (the
dispatcher marks them delivered and keeps them): the outbox is the store's change log, which
`vaxres log` reads, so pruning is an explicit decision that shortens that history too.

A big prune runs in chunks of one short transaction each, so that on SQLite other writers get
the store between them rather than waiting for the whole prune.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, func, select

from vaxres import validate
from vaxres.db.clock import start_of_day
from vaxres.db.store import Store
from vaxres.db.tables import OutboxStatus, outbox_table
from vaxres.errors import InvalidValue, StoreBusy

o = outbox_table.c
CHUNK = 5_000  # messages deleted per transaction


@dataclass(frozen=True)
class Pruned:
    count: int
    before: dt.date
    dry_run: bool

    def as_json(self) -> dict[str, Any]:
        counted = "would_prune" if self.dry_run else "pruned"
        return {counted: self.count, "before": self.before.isoformat(), "dry_run": self.dry_run}


def prune(store: Store, before: str | dt.date, *, dry_run: bool = False) -> Pruned:
    """Delete the delivered messages created before the start of `before` (a day of the store's
    calendar, today at the latest: today's messages are always kept); pending, in-flight and
    failed ones stay whatever their age. With dry_run, only count them."""
    day = validate.parse_date(before, field="--before")
    today = store.today()
    if day > today:
        reason = (
            f"is after today ({today.isoformat()}); give today or an earlier day (today's messages are always kept)"
        )
        raise InvalidValue("--before", before, reason, f"--before {day.isoformat()} {reason}")
    old_and_delivered = (o.status == OutboxStatus.DELIVERED, o.created_at < start_of_day(day, store.zone))
    if dry_run:
        with store.read() as conn:
            count = conn.execute(select(func.count()).select_from(outbox_table).where(*old_and_delivered)).scalar_one()
        return Pruned(count, day, True)
    pruned, after = 0, 0
    try:
        while True:
            with store.write() as conn:
                ids = (
                    conn.execute(select(o.id).where(*old_and_delivered, o.id > after).order_by(o.id).limit(CHUNK))
                    .scalars()
                    .all()
                )
                if ids:
                    pruned += conn.execute(
                        delete(outbox_table).where(o.id.in_(ids), o.status == OutboxStatus.DELIVERED)
                    ).rowcount
            if len(ids) < CHUNK:
                return Pruned(pruned, day, False)
            after = ids[-1]
    except StoreBusy:
        if not pruned:
            raise
        raise StoreBusy(
            f"store busy after pruning {pruned:,} delivered message{'s' if pruned != 1 else ''} created before "
            f"{day.isoformat()}; run the same command again for the rest"
        ) from None
