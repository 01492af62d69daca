"""The readable message of each notification, rendered from the facts the outbox stores.

The outbox keeps the facts of an event (vaxres.outbox.events); the sentence a person reads is
added here, whenever a message is listed or delivered. One template per event, in one place:
the single commands and the bulk imports (which write their messages in SQL) cannot drift
apart, and a million imported slots do not store a million sentences.
"""

from collections.abc import Callable
from typing import Any

from vaxres.formats import doses
from vaxres.outbox.events import (
    RESERVATION_CANCELLED,
    RESERVATION_CONFIRMED,
    RESERVATION_MISSED,
    RESERVATION_REMINDER,
    RESERVATION_RESCHEDULED,
    SLOT_REGISTERED,
    SLOT_UPDATED,
    VACCINATION_RECORDED,
)


def _slot_registered(p: dict[str, Any]) -> str:
    return f"New vaccination slot: {p['vaccine']} at {p['hospital']} on {p['date']}, {doses(p['doses'])} open for booking."


def _slot_updated(p: dict[str, Any]) -> str:
    return (
        f"Vaccination slot changed: {p['vaccine']} at {p['hospital']} on {p['date']} "
        f"now has {doses(p['doses'])} (was {p['previous_doses']})."
    )


def _reservation(verb: str) -> Callable[[dict[str, Any]], str]:
    def render(p: dict[str, Any]) -> str:
        return (
            f"Your reservation {p['reservation_id']} is {verb}: {p['vaccine']} (dose {p['dose']}) "
            f"at {p['hospital']} on {p['date']}."
        )

    return render


def _rescheduled(p: dict[str, Any]) -> str:
    return (
        f"Your reservation {p['reservation_id']} has moved: {p['vaccine']} (dose {p['dose']}) at {p['hospital']} "
        f"on {p['date']} (was {p['previous_hospital']} on {p['previous_date']})."
    )


def _recorded(p: dict[str, Any]) -> str:
    lot = f", lot {p['lot']}" if p.get("lot") else ""
    return f"Vaccination recorded: {p['vaccine']} (dose {p['dose']}) at {p['hospital']} on {p['date']}{lot}."


def _missed(p: dict[str, Any]) -> str:
    return (
        f"You missed reservation {p['reservation_id']}: {p['vaccine']} (dose {p['dose']}) at {p['hospital']} "
        f"on {p['date']}. Please book again."
    )


def _reminder(p: dict[str, Any]) -> str:
    days = p["days_left"]
    when = "today" if days == 0 else f"in {days} day{'s' if days != 1 else ''}"
    return (
        f"Reminder: your reservation {p['reservation_id']} is {when}: {p['vaccine']} (dose {p['dose']}) "
        f"at {p['hospital']} on {p['date']}."
    )


TEMPLATES: dict[str, Callable[[dict[str, Any]], str]] = {
    SLOT_REGISTERED: _slot_registered,
    SLOT_UPDATED: _slot_updated,
    RESERVATION_CONFIRMED: _reservation("confirmed"),
    RESERVATION_CANCELLED: _reservation("cancelled"),
    RESERVATION_RESCHEDULED: _rescheduled,
    VACCINATION_RECORDED: _recorded,
    RESERVATION_MISSED: _missed,
    RESERVATION_REMINDER: _reminder,
}


def with_message(event: str, payload: dict[str, Any]) -> dict[str, Any]:
    """The payload as delivered and listed: the stored facts plus `message`.

    A payload that already carries a message (written by another tool, or by hand) keeps it;
    an event without a template, a payload that is not an object, or facts a template cannot
    use, get none rather than an error (a dispatcher must not stall on one odd row).
    """
    if not isinstance(payload, dict) or "message" in payload or event not in TEMPLATES:
        return payload
    try:
        message = TEMPLATES[event](payload)
    except (KeyError, TypeError, ValueError):
        return payload
    return {**payload, "message": message}
