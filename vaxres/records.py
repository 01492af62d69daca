"""What the service layer hands back: plain values, and their JSON shapes (part of the interface)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any


def doses(n: int) -> str:
    """'1 dose', '3 doses': shared by notification messages and the CLI's lines."""
    return f"{n} dose" if n == 1 else f"{n} doses"


def iso_utc(value: dt.datetime | None) -> str | None:
    return None if value is None else value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True)
class SlotRecord:
    id: int
    date: dt.date
    hospital: str
    vaccine: str
    capacity: int
    remaining: int

    @property
    def booked(self) -> int:
        return self.capacity - self.remaining

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "date": self.date.isoformat(),
            "hospital": self.hospital,
            "vaccine": self.vaccine,
            "capacity": self.capacity,
            "remaining": self.remaining,
        }


@dataclass(frozen=True)
class SlotChange:
    slot: SlotRecord
    previous_capacity: int

    @property
    def changed(self) -> bool:
        return self.slot.capacity != self.previous_capacity


@dataclass(frozen=True)
class ReservationRecord:
    id: int
    user: str
    dose: int
    status: str
    slot_id: int
    date: dt.date
    hospital: str
    vaccine: str
    reserved_at: dt.datetime
    cancelled_at: dt.datetime | None
    slot_remaining: int | None = field(default=None, compare=False)

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "user": self.user,
            "dose": self.dose,
            "status": self.status,
            "slot_id": self.slot_id,
            "date": self.date.isoformat(),
            "hospital": self.hospital,
            "vaccine": self.vaccine,
            "reserved_at": iso_utc(self.reserved_at),
            "cancelled_at": iso_utc(self.cancelled_at),
        }


@dataclass(frozen=True)
class OutboxRecord:
    id: int
    event: str
    recipient: str
    correlation_id: int
    status: str
    attempts: int
    created_at: dt.datetime
    payload: dict[str, Any]
    next_attempt_at: dt.datetime | None = None
    last_error: str | None = None
    delivered_at: dt.datetime | None = None

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "event": self.event,
            "recipient": self.recipient,
            "correlation_id": self.correlation_id,
            "status": self.status,
            "attempts": self.attempts,
            "created_at": iso_utc(self.created_at),
            "payload": self.payload,
            "next_attempt_at": iso_utc(self.next_attempt_at) if self.status == "pending" else None,
            "last_error": self.last_error,
            "delivered_at": iso_utc(self.delivered_at),
        }
