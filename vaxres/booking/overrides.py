"""`--override-eligibility REASON`: an operator books past the eligibility windows (issue 21), and
the audit trail says who did and why."""

from __future__ import annotations

from typing import Any

from vaxres import validate
from vaxres.errors import InvalidValue

MAX_REASON = 500


def parse_override(reason: str | None) -> str | None:
    """The reason an operator gives to book past the windows: some words, one line."""
    if reason is None:
        return None
    text = validate.normalize_name(reason, field="--override-eligibility")
    if len(text) > MAX_REASON:
        raise InvalidValue("--override-eligibility", reason, f"must be at most {MAX_REASON} characters")
    return text


def with_override(announced: list, booking: Any, reason: str | None) -> list:
    """The messages of a booking, and the audit record of its override when there was one."""
    from vaxres.outbox import events

    return announced if reason is None else [*announced, events.eligibility_overridden(booking, reason)]
