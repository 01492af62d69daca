"""Notifications are written in the transaction of the change they announce, never after it."""

import datetime as dt
from typing import Any

from sqlalchemy import Connection, insert

from vaxres.models import outbox_table
from vaxres.records import doses as doses_text

SLOT_REGISTERED = "SlotRegistered"
SLOT_UPDATED = "SlotUpdated"
RESERVATION_CONFIRMED = "ReservationConfirmed"
RESERVATION_CANCELLED = "ReservationCancelled"
BROADCAST = "*"

_INSERT = insert(outbox_table)


def _slot_facts(slot_id: int, date: dt.date, hospital: str, vaccine: str, doses: int) -> dict[str, Any]:
    return {"slot_id": slot_id, "date": date.isoformat(), "hospital": hospital, "vaccine": vaccine, "doses": doses}


def slot_registered_payload(slot_id: int, date: dt.date, hospital: str, vaccine: str, doses: int) -> dict[str, Any]:
    return {
        **_slot_facts(slot_id, date, hospital, vaccine, doses),
        "message": f"New vaccination slot: {vaccine} at {hospital} on {date.isoformat()}, "
        f"{doses_text(doses)} open for booking.",
    }


def slot_updated_payload(
    slot_id: int, date: dt.date, hospital: str, vaccine: str, doses: int, previous: int
) -> dict[str, Any]:
    return {
        **_slot_facts(slot_id, date, hospital, vaccine, doses),
        "previous_doses": previous,
        "message": f"Vaccination slot changed: {vaccine} at {hospital} on {date.isoformat()} "
        f"now has {doses_text(doses)} (was {previous}).",
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
