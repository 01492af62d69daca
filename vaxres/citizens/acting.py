"""What a session may do: the same use cases the desk calls (booking/), for the person and the
minors they are guardian of, made as `citizen:ID`. Anyone else's booking, entry or person is
"not found", exactly as one that does not exist: never "not yours"."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from vaxres import validate
from vaxres.booking import eligibility
from vaxres.booking.model import ReservationRecord, SlotRecord
from vaxres.booking.queries import MyPage, my_page, slot_page
from vaxres.booking.rules import ReservationNotFound
from vaxres.booking.vaccines import key_of
from vaxres.booking.waitlist_rules import EntryNotFound
from vaxres.citizens.sessions import Citizen
from vaxres.db.store import Store
from vaxres.db.tables import reservation_table, utcnow, waitlist_table
from vaxres.formats import iso_utc
from vaxres.people.rules import PersonNotFound

OFFERED = 100  # slots shown at most


def for_whom(citizen: Citizen, user: str | None) -> str:
    """The person a request acts for: the citizen, or one of their wards."""
    if user is None or user == "":
        return citizen.person
    user = validate.parse_user(user)
    if user not in citizen.people:
        raise PersonNotFound(user)
    return user


@dataclass(frozen=True)
class SlotOffer:
    """A slot with a dose left and what the eligibility rules say of it for one person now."""

    slot: SlotRecord
    dose: int
    status: str  # open, already_reserved, or the eligibility refusal's code (not_open_yet, not_eligible, ...)
    opens_at: dt.datetime | None  # for not_open_yet
    zone: str | None  # the window's time zone, to show opens_at in

    def as_json(self) -> dict[str, Any]:
        return {
            **self.slot.as_json(),
            "dose": self.dose,
            "status": self.status,
            "opens_at": iso_utc(self.opens_at),
            "time_zone": self.zone,
        }


@dataclass(frozen=True)
class Offers:
    user: str
    slots: list[SlotOffer]

    def as_json(self) -> dict[str, Any]:
        return {"user": self.user, "slots": [offer.as_json() for offer in self.slots]}


def offers(store: Store, citizen: Citizen, user: str | None = None) -> Offers:
    """The slots of today or later with a dose left, for the dose the person books next, each
    with the eligibility rule's verdict (open, or opens at a time, or not for them)."""
    whom = for_whom(citizen, user)
    page = my_page(store, whom)
    nxt = page.next_dose
    slots = slot_page(store, limit=OFFERED, available=True).rows
    at = utcnow()
    with store.read() as conn:
        windows = eligibility.load(conn)
        groups = eligibility.groups_of(conn, whom)
    born = None if page.person is None else page.person.birth_date
    booked = {b.dose for b in page.reservations if b.status == "reserved"}  # one active booking per dose
    found = []
    for slot in slots:
        if nxt is not None and (key_of(nxt.vaccine) != key_of(slot.vaccine) or slot.date < nxt.earliest):
            continue  # not the person's next dose
        dose = 1 if nxt is None else nxt.dose
        if dose in booked:
            found.append(SlotOffer(slot, dose, "already_reserved", None, None))
            continue
        governing = windows.governing(key_of(slot.vaccine), dose)
        decided = eligibility.decide(governing, born, groups, at) if governing else None
        if decided is None:
            found.append(SlotOffer(slot, dose, "open", None, None))
        else:
            zone = decided.window.zone.key if decided.window is not None else None
            found.append(SlotOffer(slot, dose, decided.kind.code, decided.opens, zone))
    return Offers(whom, found)


def pages(store: Store, citizen: Citizen) -> list[MyPage]:
    """The person's own page, then each ward's."""
    return [my_page(store, person) for person in citizen.people]


def book(
    store: Store, citizen: Citizen, *, slot_id: int, user: str | None = None, dose: int | None = None
) -> ReservationRecord:
    """Book a slot for the citizen or a ward; the dose: the one they book next, unless given."""
    from vaxres.booking.reservations import reserve

    whom = for_whom(citizen, user)
    if dose is None:
        nxt = my_page(store, whom).next_dose
        dose = 1 if nxt is None else nxt.dose
    return reserve(store.acting(citizen.actor), user=whom, slot_id=slot_id, dose=dose)


def cancel(store: Store, citizen: Citizen, reservation_id: int | str) -> Any:
    from vaxres.booking.reservations import cancel

    owner, reservation_id = _owner(store, citizen, reservation_id)
    return cancel(store.acting(citizen.actor), reservation_id, user=owner)


def reschedule(store: Store, citizen: Citizen, reservation_id: int | str, *, slot_id: int) -> Any:
    from vaxres.booking.reschedule import reschedule

    owner, reservation_id = _owner(store, citizen, reservation_id)
    return reschedule(store.acting(citizen.actor), reservation_id, slot_id=slot_id, user=owner)


def join_waitlist(store: Store, citizen: Citizen, *, user: str | None = None, **wanted: Any) -> Any:
    from vaxres.booking.waitlist import join

    return join(store.acting(citizen.actor), user=for_whom(citizen, user), **wanted)


def leave_waitlist(store: Store, citizen: Citizen, entry_id: int | str) -> Any:
    from vaxres.booking.waitlist import leave

    entry_id = validate.parse_id(entry_id, field="waitlist entry")
    with store.read() as conn:
        owner = conn.execute(select(waitlist_table.c.user_id).where(waitlist_table.c.id == entry_id)).scalar()
    if owner not in citizen.people:
        raise EntryNotFound(entry_id)
    return leave(store.acting(citizen.actor), entry_id, user=owner)


def _owner(store: Store, citizen: Citizen, reservation_id: int | str) -> tuple[str, int]:
    """The booking's person, when the citizen may act for them; else not found (never "not yours")."""
    reservation_id = validate.parse_id(reservation_id, field="reservation id")
    r = reservation_table.c
    with store.read() as conn:
        owner = conn.execute(select(r.user_id).where(r.id == reservation_id)).scalar()
    if owner not in citizen.people:
        raise ReservationNotFound(reservation_id)
    return owner, reservation_id


def reservation(store: Store, citizen: Citizen, reservation_id: int | str) -> ReservationRecord:
    """One of the citizen's bookings (without its history: who at the desk did what is the office's)."""
    from vaxres.booking.queries import show

    _owner_id, reservation_id = _owner(store, citizen, reservation_id)
    return show(store, reservation_id).reservation
