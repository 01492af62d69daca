"""The events a change announces, and the one way an outbox row is written: in the transaction
of the change it announces, never after it.

A payload holds the facts of its event only; vaxres.outbox.templates adds the readable message
when a message is listed or delivered. Each set of facts is declared once, as (payload key,
attribute of the record, column of the store): the single commands build the payload in Python
from a record, the bulk imports build the same payload in SQL from the tables.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    Connection,
    bindparam,
    insert,
    select,
)

from vaxres.db.store import ACTOR_OPTION
from vaxres.db.tables import OutboxStatus, outbox_table, person_table, reservation_table, slot_table

SLOT_REGISTERED = "SlotRegistered"
SLOT_UPDATED = "SlotUpdated"
RESERVATION_CONFIRMED = "ReservationConfirmed"
RESERVATION_CANCELLED = "ReservationCancelled"
RESERVATION_RESCHEDULED = "ReservationRescheduled"
VACCINATION_RECORDED = "VaccinationRecorded"
RESERVATION_MISSED = "ReservationMissed"
RESERVATION_REMINDER = "ReservationReminder"
VACCINE_ADDED = "VaccineAdded"
VACCINE_UPDATED = "VaccineUpdated"
WAITLIST_JOINED = "WaitlistJoined"
WAITLIST_LEFT = "WaitlistLeft"
PERSON_REGISTERED = "PersonRegistered"
PERSON_UPDATED = "PersonUpdated"
PERSON_FORGOTTEN = "PersonForgotten"
WINDOW_ADDED = "WindowAdded"
WINDOW_CLOSED = "WindowClosed"
ELIGIBILITY_OVERRIDDEN = "EligibilityOverridden"
CITIZEN_CODE = "CitizenCode"
SLOT_EVENTS = (SLOT_REGISTERED, SLOT_UPDATED)  # correlation_id is the slot's number
# The events about one reservation (correlation_id is its number): its history.
RESERVATION_EVENTS = (
    RESERVATION_CONFIRMED,
    RESERVATION_CANCELLED,
    RESERVATION_RESCHEDULED,
    VACCINATION_RECORDED,
    RESERVATION_MISSED,
    RESERVATION_REMINDER,
    ELIGIBILITY_OVERRIDDEN,
)

VACCINE_EVENTS = (VACCINE_ADDED, VACCINE_UPDATED)  # correlation_id is the vaccine's number in the catalog
WAITLIST_EVENTS = (WAITLIST_JOINED, WAITLIST_LEFT)  # correlation_id is the waitlist entry's number

# Changes to the person registry (issue 20): recorded for the audit trail with the names of the
# fields that changed, never their values, addressed to the person (so `log --person ID` finds
# them) and written as delivered: there is nothing to send anyone.
PERSON_EVENTS = (PERSON_REGISTERED, PERSON_UPDATED, PERSON_FORGOTTEN)
# Eligibility windows added or closed (correlation_id: the window's number), and a booking an
# operator made past the windows (issue 21): for the audit trail, never delivered.
WINDOW_EVENTS = (WINDOW_ADDED, WINDOW_CLOSED)
RECORDED_ONLY = frozenset((*PERSON_EVENTS, *WINDOW_EVENTS, ELIGIBILITY_OVERRIDDEN))

# A one-time code a citizen asked for (issue 23; correlation_id: the code's row): to the person
# alone, never a guardian's copy; its "code" is shown masked everywhere but to the delivery
# target (OutboxRecord.from_row), and masked in the store once delivered or failed (dispatch).
SECRET_FACTS = {CITIZEN_CODE: ("code",)}
ALL_EVENTS: tuple[str, ...] = (*SLOT_EVENTS, *RESERVATION_EVENTS, *VACCINE_EVENTS, *WAITLIST_EVENTS, *PERSON_EVENTS)
ALL_EVENTS += (*WINDOW_EVENTS, CITIZEN_CODE)

BROADCAST = "*"  # the recipient of a message for everyone

slot = slot_table.c
reservation = reservation_table.c
person = person_table.c
# How a message reaches its person (issue 20): their contacts and language as they were when
# the message was written, in the payload's "contact" (a gateway needs nothing else). Not "to":
# the waitlist's facts have long used that key for an entry's last day.
TO_FACTS = (("name", person.name), ("phone", person.phone), ("email", person.email), ("lang", person.lang))
# A person's guardian receives a copy of each of their messages: addressed to the guardian, with
# the guardian's contacts, and the person it is about (their id and name) in "guardian_of".
GUARDIAN_OF = "guardian_of"

SLOT_FACTS = (
    ("slot_id", "id", slot.id),
    ("date", "date", slot.date),
    ("hospital", "hospital", slot.hospital),
    ("vaccine", "vaccine", slot.vaccine),
    ("doses", "capacity", slot.capacity),
)
RESERVATION_FACTS = (
    ("reservation_id", "id", reservation.id),
    ("user", "user", reservation.user_id),
    ("dose", "dose", reservation.dose),
    ("slot_id", "slot_id", slot.id),
    ("date", "date", slot.date),
    ("hospital", "hospital", slot.hospital),
    ("vaccine", "vaccine", slot.vaccine),
)
# Written one at a time only, so without a column: no SQL twin builds them.
WAITLIST_FACTS = (
    ("entry_id", "id", None),
    ("user", "user", None),
    ("dose", "dose", None),
    ("vaccine", "vaccine", None),
    ("hospital", "hospital", None),
    ("from", "date_from", None),
    ("to", "date_to", None),
)
VACCINE_FACTS = (
    ("vaccine", "name", None),
    ("doses", "doses", None),
    ("min_interval_days", "min_interval_days", None),
    ("aliases", "aliases", None),
)


def subject_of(event: str) -> str:
    """What an event's correlation_id numbers."""
    if event in RESERVATION_EVENTS:
        return "reservation"
    if event in VACCINE_EVENTS:
        return "vaccine"
    if event in WAITLIST_EVENTS:
        return "waitlist entry"
    if event in PERSON_EVENTS:
        return "person"
    if event in WINDOW_EVENTS:
        return "window"
    if event == CITIZEN_CODE:
        return "login code"
    return "slot"


@dataclass(frozen=True)
class Event:
    name: str
    recipient: str
    correlation_id: int  # the slot or reservation the event is about
    payload: dict[str, Any]


def slot_registered(slot: Any) -> Event:
    return Event(SLOT_REGISTERED, BROADCAST, slot.id, _facts(slot, SLOT_FACTS))


def slot_updated(slot: Any, previous_capacity: int) -> Event:
    return Event(SLOT_UPDATED, BROADCAST, slot.id, {**_facts(slot, SLOT_FACTS), "previous_doses": previous_capacity})


def reservation_confirmed(booking: Any, *, from_waitlist: bool = False) -> Event:
    """Booked by `reserve` or an import; or, `from_waitlist`, for a person waiting, when a dose was freed."""
    facts = _facts(booking, RESERVATION_FACTS)
    return Event(
        RESERVATION_CONFIRMED, booking.user, booking.id, {**facts, "from_waitlist": True} if from_waitlist else facts
    )


def reservation_cancelled(booking: Any) -> Event:
    return Event(RESERVATION_CANCELLED, booking.user, booking.id, _facts(booking, RESERVATION_FACTS))


def reservation_rescheduled(booking: Any, previous_slot: Any) -> Event:
    moved_from = {
        "previous_slot_id": previous_slot.id,
        "previous_date": previous_slot.date.isoformat(),
        "previous_hospital": previous_slot.hospital,
    }
    return Event(
        RESERVATION_RESCHEDULED, booking.user, booking.id, {**_facts(booking, RESERVATION_FACTS), **moved_from}
    )


def vaccination_recorded(booking: Any) -> Event:
    return Event(
        VACCINATION_RECORDED, booking.user, booking.id, {**_facts(booking, RESERVATION_FACTS), "lot": booking.lot}
    )


def reservation_missed(booking: Any) -> Event:
    return Event(RESERVATION_MISSED, booking.user, booking.id, _facts(booking, RESERVATION_FACTS))


def vaccine_added(vaccine_id: int, vaccine: Any) -> Event:
    return Event(VACCINE_ADDED, BROADCAST, vaccine_id, _facts(vaccine, VACCINE_FACTS))


def vaccine_updated(vaccine_id: int, vaccine: Any, previous: Any) -> Event:
    was = {"previous_doses": previous.doses, "previous_min_interval_days": previous.min_interval_days}
    return Event(VACCINE_UPDATED, BROADCAST, vaccine_id, {**_facts(vaccine, VACCINE_FACTS), **was})


def waitlist_joined(entry: Any) -> Event:
    return Event(WAITLIST_JOINED, entry.user, entry.id, _facts(entry, WAITLIST_FACTS))


def waitlist_left(entry: Any) -> Event:
    return Event(WAITLIST_LEFT, entry.user, entry.id, _facts(entry, WAITLIST_FACTS))


def person_changed(event: str, person: str, fields: list[str]) -> Event:
    """A person registered, changed or forgotten: which fields, never what they hold."""
    return Event(event, person, 0, {"person": person, "fields": fields})


def window_added(window: Any) -> Event:
    return Event(WINDOW_ADDED, BROADCAST, window.id, window.as_json())


def window_closed(window: Any) -> Event:
    return Event(WINDOW_CLOSED, BROADCAST, window.id, window.as_json())


def eligibility_overridden(booking: Any, reason: str) -> Event:
    """A booking an operator made whatever the eligibility windows say, and why."""
    return Event(
        ELIGIBILITY_OVERRIDDEN, booking.user, booking.id, {**_facts(booking, RESERVATION_FACTS), "reason": reason}
    )


def _facts(record: Any, facts: tuple) -> dict[str, Any]:
    payload = {}
    for key, attribute, _column in facts:
        value = getattr(record, attribute)
        if isinstance(value, dt.date):
            value = value.isoformat()
        elif isinstance(value, tuple):
            value = list(value)
        payload[key] = value
    return payload


_INSERT = insert(outbox_table)


def actor_of(conn: Connection) -> str | None:
    """Who makes the changes of the connection's transaction (vaxres.db.store sets it at BEGIN)."""
    return conn.get_execution_options().get(ACTOR_OPTION)


def write(conn: Connection, events: Sequence[Event], now: dt.datetime) -> None:
    """Write the events' messages, pending and due now, signed by the transaction's actor, in the
    caller's transaction."""
    actor = actor_of(conn)
    events = _addressed(conn, events)
    conn.execute(
        _INSERT,
        [
            {
                "event": event.name,
                "recipient": event.recipient,
                "payload": event.payload,
                "correlation_id": event.correlation_id,
                "created_at": now,
                **(_recorded(now) if event.name in RECORDED_ONLY else _due(now)),
                "attempts": 0,
                "actor": actor,
            }
            for event in events
        ],
    )


_GUARDIAN = person_table.alias("guardian")
# Each person's contacts and their guardian's, in one read.
_CONTACTS = select(
    person.id,
    _GUARDIAN.c.id,
    *(column for _key, column in TO_FACTS),
    *(_GUARDIAN.c[column.key] for _key, column in TO_FACTS),
).select_from(person_table.outerjoin(_GUARDIAN, _GUARDIAN.c.id == person.guardian_id))
_CONTACT_OF = _CONTACTS.where(person.id == bindparam("b_person"))
_NO_CONTACT = dict.fromkeys(key for key, _column in TO_FACTS)


def _addressed(conn: Connection, events: Sequence[Event]) -> Sequence[Event]:
    """Each message to a person with their contacts in "contact" (all None for an unknown id),
    each followed by its guardian's copy when the person has a guardian."""
    people = {e.recipient for e in events if e.recipient != BROADCAST and e.name not in RECORDED_ONLY}
    if not people:
        return events
    if len(people) == 1:  # a single command's message: one prebuilt statement, compiled once
        rows = conn.execute(_CONTACT_OF, {"b_person": next(iter(people))})
    else:
        rows = conn.execute(_CONTACTS.where(person.id.in_(people)))
    width = len(TO_FACTS)
    found = {
        row[0]: (row[1], dict(zip(_NO_CONTACT, row[2 : 2 + width])), dict(zip(_NO_CONTACT, row[2 + width :])))
        for row in rows
    }
    addressed: list[Event] = []
    for e in events:
        if e.recipient not in people or e.name in RECORDED_ONLY:
            addressed.append(e)
            continue
        guardian, contact, guardian_contact = found.get(e.recipient, (None, _NO_CONTACT, None))
        addressed.append(Event(e.name, e.recipient, e.correlation_id, {**e.payload, "contact": contact}))
        if guardian is not None and e.name not in SECRET_FACTS:
            ward = {"id": e.recipient, "name": contact["name"]}
            copy = {**e.payload, "contact": guardian_contact, GUARDIAN_OF: ward}
            addressed.append(Event(e.name, guardian, e.correlation_id, copy))
    return addressed


def _due(now: dt.datetime) -> dict[str, Any]:
    return {"status": OutboxStatus.PENDING, "next_attempt_at": now, "delivered_at": None}


def _recorded(now: dt.datetime) -> dict[str, Any]:
    """A change kept for the audit trail only: no target ever receives it."""
    return {"status": OutboxStatus.DELIVERED, "next_attempt_at": None, "delivered_at": now}
