"""Notifications are written in the transaction of the change they announce, never after it.

Payloads hold the facts of the event; `vaxres.messages` adds the readable message when a
message is listed or delivered.
"""

import datetime as dt
from typing import Any

from sqlalchemy import Connection, insert

from vaxres.messages import (  # noqa: F401  (the writers name events as outbox.SLOT_REGISTERED, ...)
    RESERVATION_CANCELLED,
    RESERVATION_CONFIRMED,
    SLOT_REGISTERED,
    SLOT_UPDATED,
)
from vaxres.models import outbox_table
from vaxres.records import ReservationRecord

BROADCAST = "*"

_INSERT = insert(outbox_table)


def slot_registered_payload(slot_id: int, date: dt.date, hospital: str, vaccine: str, doses: int) -> dict[str, Any]:
    return {"slot_id": slot_id, "date": date.isoformat(), "hospital": hospital, "vaccine": vaccine, "doses": doses}


def slot_updated_payload(
    slot_id: int, date: dt.date, hospital: str, vaccine: str, doses: int, previous: int
) -> dict[str, Any]:
    return {**slot_registered_payload(slot_id, date, hospital, vaccine, doses), "previous_doses": previous}


def reservation_payload(booking: ReservationRecord) -> dict[str, Any]:
    return {
        "reservation_id": booking.id,
        "user": booking.user,
        "dose": booking.dose,
        "slot_id": booking.slot_id,
        "date": booking.date.isoformat(),
        "hospital": booking.hospital,
        "vaccine": booking.vaccine,
    }


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
