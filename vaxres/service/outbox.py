"""Notifications are written in the transaction of the change they announce, never after it."""

import datetime as dt
from typing import Any

from sqlalchemy import Connection, insert

from vaxres.models import outbox_table

SLOT_REGISTERED = "SlotRegistered"
SLOT_UPDATED = "SlotUpdated"
RESERVATION_CONFIRMED = "ReservationConfirmed"
RESERVATION_CANCELLED = "ReservationCancelled"
BROADCAST = "*"

_INSERT = insert(outbox_table)


def record(
    conn: Connection,
    *,
    event: str,
    recipient: str,
    correlation_id: int,
    payload: dict[str, Any],
    now: dt.datetime,
) -> None:
    conn.execute(
        _INSERT,
        {
            "event": event,
            "recipient": recipient,
            "payload": payload,
            "correlation_id": correlation_id,
            "created_at": now,
            "status": "pending",
            "attempts": 0,
            "next_attempt_at": now,
        },
    )
