"""The one message that carries a secret: a citizen's login code (issue 23). Its builder, and
the mask every reader but the delivery target sees (events.SECRET_FACTS)."""

from __future__ import annotations

from typing import Any

from vaxres.outbox.events import CITIZEN_CODE, SECRET_FACTS, Event

MASK = "******"


def citizen_code(person: str, code_id: int, code: str, minutes: int) -> Event:
    """A one-time login code for the person's own contact, never a guardian's copy."""
    return Event(CITIZEN_CODE, person, code_id, {"code": code, "valid_minutes": minutes})


def masked(event: str, payload: Any) -> Any:
    """The payload with its secrets masked (any other payload as it is)."""
    secret = SECRET_FACTS.get(event)
    if not secret or not isinstance(payload, dict):
        return payload
    return {**payload, **{key: MASK for key in secret if key in payload}}
