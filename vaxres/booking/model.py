"""Slots and reservations as the use cases hand them out: plain values, their JSON shapes (part
of the interface), and how each is read from a row of the store."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Row

from vaxres.db.tables import ReservationStatus, slot_table
from vaxres.formats import iso_utc

# The slot columns a SlotRecord is read from.
SLOT_FIELDS = (
    slot_table.c.id,
    slot_table.c.date,
    slot_table.c.hospital,
    slot_table.c.vaccine,
    slot_table.c.capacity,
    slot_table.c.remaining,
)


@dataclass(slots=True)  # not frozen: a frozen dataclass is built 4x slower, and imports build one a row
class SlotRecord:
    id: int
    date: dt.date
    hospital: str
    vaccine: str
    capacity: int
    remaining: int

    @classmethod
    def from_row(cls, row: Row) -> SlotRecord:
        """From a row of SLOT_FIELDS."""
        return cls(**row._mapping)

    @property
    def booked(self) -> int:
        return self.capacity - self.remaining

    def describe(self) -> str:
        return f"{self.date.isoformat()}, {self.hospital}, {self.vaccine}"

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
    administered_at: dt.datetime | None = None
    lot: str | None = None
    slot_remaining: int | None = field(default=None, compare=False)
    facts: Any = field(default=None, compare=False)  # booking.dose_facts.DoseFacts, as `administer` recorded it

    @classmethod
    def in_slot(
        cls,
        slot: SlotRecord,
        *,
        reservation_id: int,
        user: str,
        dose: int,
        status: str,
        reserved_at: dt.datetime,
        cancelled_at: dt.datetime | None = None,
    ) -> ReservationRecord:
        """A booking as a change leaves it: in `slot`, as the slot is after the change."""
        return cls(
            id=reservation_id,
            user=user,
            dose=dose,
            status=status,
            slot_id=slot.id,
            date=slot.date,
            hospital=slot.hospital,
            vaccine=slot.vaccine,
            reserved_at=reserved_at,
            cancelled_at=cancelled_at,
            slot_remaining=slot.remaining,
        )

    @classmethod
    def from_row(cls, row: Row) -> ReservationRecord:
        """From a row of reservation_view (whose person column is `user_id`)."""
        fields = dict(row._mapping)
        return cls(user=fields.pop("user_id"), **fields)

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
            "administered_at": iso_utc(self.administered_at),
            "lot": self.lot,
        }


@dataclass(frozen=True)
class VaccineRecord:
    name: str
    aliases: tuple[str, ...]
    doses: int  # in the primary series
    min_interval_days: int  # between consecutive doses
    codes: tuple[tuple[str, str], ...] = ()  # (booking/codes.FIELDS name, code), the ones it has

    def as_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "aliases": list(self.aliases),
            "doses": self.doses,
            "min_interval_days": self.min_interval_days,
            "codes": dict(self.codes),
        }


@dataclass(slots=True)  # not frozen, as SlotRecord
class HeldDose:
    """A dose of a person's series that they hold (reserved) or have received (administered)."""

    reservation_id: int | None  # None: booked earlier in the same import, not numbered yet
    dose: int
    status: str
    date: dt.date
    vaccine: str

    @property
    def active(self) -> bool:
        return self.status == ReservationStatus.RESERVED

    def describe(self) -> str:
        number = f", reservation {self.reservation_id}" if self.reservation_id is not None else ""
        return f"dose {self.dose} on {self.date.isoformat()}{number}"


@dataclass(frozen=True)
class NextDose:
    """The dose a person may book next, and from which day."""

    dose: int
    vaccine: str
    earliest: dt.date

    def as_json(self) -> dict[str, Any]:
        return {"dose": self.dose, "vaccine": self.vaccine, "earliest": self.earliest.isoformat()}

    def describe(self) -> str:
        return f"dose {self.dose} of {self.vaccine} from {self.earliest.isoformat()}"
