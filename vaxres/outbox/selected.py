"""The SQL twins of vaxres.outbox.events' builders: the same facts written by INSERT ... SELECT
over many rows at once (the imports, the bulk waitlist offer, `remind`), each message signed by
the transaction's actor and, when it is to a person, with their contacts (issue 20)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    Connection,
    CursorResult,
    Date,
    Insert,
    Integer,
    Select,
    String,
    bindparam,
    insert,
    literal,
    null,
    select,
)

from vaxres.db import sql
from vaxres.db.tables import OutboxStatus, outbox_table, person_table, reservation_table, slot_table
from vaxres.outbox.events import (
    BROADCAST,
    ELIGIBILITY_OVERRIDDEN,
    GUARDIAN_OF,
    PERSON_REGISTERED,
    RESERVATION_CONFIRMED,
    RESERVATION_FACTS,
    RESERVATION_REMINDER,
    SLOT_FACTS,
    SLOT_REGISTERED,
    TO_FACTS,
    actor_of,
    person,
    reservation,
    slot,
)

_COLUMNS = (
    "event",
    "recipient",
    "payload",
    "correlation_id",
    "created_at",
    "status",
    "attempts",
    "next_attempt_at",
    "actor",
)
_ACTOR = "outbox_actor"  # the bound parameter of the statements below: the transaction's actor

# The SQL twins of the above, for INSERT ... SELECT over many rows at once.


def slot_registered_rows() -> Select:
    """The SlotRegistered rows of the slots a query selects (add its WHERE)."""
    return _rows(SLOT_REGISTERED, literal(BROADCAST), slot.id, slot.created_at, SLOT_FACTS)


def reservation_confirmed_rows(*, from_waitlist: bool = False, to_guardians: bool = False) -> Select:
    """The ReservationConfirmed rows of the reservations a query selects (add its WHERE); or,
    `to_guardians`, their guardians' copies."""
    extra = (("from_waitlist", sql.json_true()),) if from_waitlist else ()
    return _to_people(RESERVATION_CONFIRMED, reservation.reserved_at, extra, to_guardians)


def reservation_reminder_rows(
    *, days_before: int, today: dt.date, now: dt.datetime, to_guardians: bool = False
) -> Select:
    """The ReservationReminder rows of the reservations a query selects (add its WHERE): their
    facts, the window they were reminded for (days_before) and the days left from `today`; or,
    `to_guardians`, their guardians' copies.

    Written in bulk only (`vaxres remind`), so it has no Python builder.
    """
    written_at = bindparam("reminded_at", now, type_=outbox_table.c.created_at.type)
    day = bindparam("reminded_on", today, type_=Date)
    extra = (("days_before", literal(days_before, Integer)), ("days_left", sql.days_between(slot.date, day)))
    return _to_people(RESERVATION_REMINDER, written_at, extra, to_guardians)


def _to_people(name: str, created_at, extra: tuple, to_guardians: bool) -> Select:
    """A message about each selected booking to its person, with their contacts; or to their
    guardian, with the guardian's contacts and the person it is about (the twin of events._addressed)."""
    if not to_guardians:
        return _rows(
            name, reservation.user_id, reservation.id, created_at, RESERVATION_FACTS, (*extra, _contact(person_table))
        ).select_from(_BOOKINGS)
    ward = sql.json_object(literal("id"), reservation.user_id, literal("name"), person.name)
    facts = (*extra, _contact(guardian), (GUARDIAN_OF, ward))
    return _rows(name, guardian.c.id, reservation.id, created_at, RESERVATION_FACTS, facts).select_from(_GUARDED)


def _contact(of) -> tuple:
    return (
        "contact",
        sql.json_object(*(part for key, column in TO_FACTS for part in (literal(key), of.c[column.key]))),
    )


# The bookings the bulk messages are about, with their slots and their people's contacts; and
# those of the people who have a guardian, with the guardian's.
_BOOKINGS = reservation_table.join(slot_table, slot.id == reservation.slot_id).outerjoin(
    person_table, person.id == reservation.user_id
)
guardian = person_table.alias("guardian")
_GUARDED = (
    reservation_table.join(slot_table, slot.id == reservation.slot_id)
    .join(person_table, person.id == reservation.user_id)
    .join(guardian, guardian.c.id == person.guardian_id)
)


def write_selected(rows: Select) -> Insert:
    """INSERT INTO outbox ... SELECT: the rows of one of the *_rows() builders above; run it with
    execute_selected()."""
    return insert(outbox_table).from_select(_COLUMNS, rows)


def execute_selected(conn: Connection, statement: Insert, params: dict[str, Any] | None = None) -> CursorResult:
    """Run a write_selected() statement in the caller's transaction: its messages are signed by
    the transaction's actor, one bound parameter for all of them."""
    return conn.execute(statement, {**(params or {}), _ACTOR: actor_of(conn)})


def _rows(name: str, recipient, correlation_id, created_at, facts: tuple, extra: tuple = ()) -> Select:
    return select(
        literal(name),
        recipient,
        _facts_sql(facts, extra),
        correlation_id,
        created_at,
        literal(OutboxStatus.PENDING),
        literal(0),
        created_at,
        bindparam(_ACTOR, type_=String),
    )


def _facts_sql(facts: tuple, extra: tuple = ()):
    """A JSON object of the facts (db/sql.json_object); dates as `YYYY-MM-DD` on both backends."""
    args = []
    for key, _attribute, column in facts:
        args += [literal(key), sql.date_text(column) if isinstance(column.type, Date) else column]
    for key, expression in extra:
        args += [literal(key), expression]
    return sql.json_object(*args)


# Changes of the person registry: recorded for the audit trail only (events.RECORDED_ONLY), so
# written as delivered, without contacts; the twin of events.person_changed.
_RECORDED_COLUMNS = (*_COLUMNS[:-1], "delivered_at", "actor")


def person_registered_rows(person_id, fields_json, created_at) -> Select:
    """The PersonRegistered rows of the people a query selects (add its FROM and WHERE):
    `fields_json` the JSON list of the fields given, as events.person_changed writes them."""
    payload = sql.json_object(literal("person"), person_id, literal("fields"), sql.json_parsed(fields_json))
    return _recorded(PERSON_REGISTERED, person_id, payload, literal(0), created_at)


def eligibility_overridden_rows(reason: str) -> Select:
    """The EligibilityOverridden records of the reservations a query selects (add its WHERE): the
    booking's facts and the operator's reason, recorded for the audit trail, never delivered."""
    facts = _facts_sql(RESERVATION_FACTS, (("reason", literal(reason, String)),))
    return _recorded(
        ELIGIBILITY_OVERRIDDEN, reservation.user_id, facts, reservation.id, reservation.reserved_at
    ).select_from(_BOOKINGS)


def _recorded(name: str, recipient, payload, correlation_id, created_at) -> Select:
    """A record for the audit trail, in _RECORDED_COLUMNS' order: delivered when written."""
    return select(
        literal(name),
        recipient,
        payload,
        correlation_id,
        created_at,
        literal(OutboxStatus.DELIVERED),
        literal(0),
        null(),
        created_at,
        bindparam(_ACTOR, type_=String),
    )


def write_recorded(rows: Select) -> Insert:
    """INSERT INTO outbox ... SELECT of records written as delivered (person_registered_rows(),
    eligibility_overridden_rows()); run it with execute_selected()."""
    return insert(outbox_table).from_select(_RECORDED_COLUMNS, rows)
