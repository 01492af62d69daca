"""Sending failed messages again: `vaxres outbox retry`."""

from __future__ import annotations

from sqlalchemy import select, update

from vaxres import validate
from vaxres.db.store import Store
from vaxres.db.tables import OutboxStatus, outbox_table, utcnow
from vaxres.errors import InvalidInput, NotFound, Refused

o = outbox_table.c


class MessageNotFound(NotFound):
    code = "message_not_found"

    def __init__(self, *ids: int):
        super().__init__(f"there is no outbox message {', '.join(map(str, ids))}", details={"ids": list(ids)})


class NotFailed(Refused):
    code = "not_failed"


def retry(store: Store, ids: list[str], *, all_failed: bool) -> int:
    """Put failed messages back to pending, due now, with a fresh count of attempts."""
    if bool(ids) == all_failed:
        raise InvalidInput("give message ids or --failed (not both)")
    now = utcnow()
    with store.write() as conn:
        query = update(outbox_table).where(o.status == OutboxStatus.FAILED)
        if ids:
            numbers = [validate.parse_id(value, field="message id") for value in ids]
            known = dict(conn.execute(select(o.id, o.status).where(o.id.in_(numbers))).all())
            missing = [n for n in numbers if n not in known]
            if missing:
                raise MessageNotFound(*missing)
            not_failed = [n for n in numbers if known[n] != OutboxStatus.FAILED]
            if not_failed:
                listed = ", ".join(f"{n} ({known[n]})" for n in not_failed)
                raise NotFailed(
                    f"only failed messages can be retried; not failed: {listed}",
                    details={"ids": not_failed, "statuses": [str(known[n]) for n in not_failed]},
                )
            query = query.where(o.id.in_(numbers))
        return conn.execute(query.values(status=OutboxStatus.PENDING, attempts=0, next_attempt_at=now)).rowcount
