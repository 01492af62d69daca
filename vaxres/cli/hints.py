"""The next step the command line adds to an error: a `vaxres ...` command to run. The errors
themselves say only what is wrong (vaxres.errors); each hint here is keyed by the error's code
and built from its details, so another face (an HTTP API) can give links instead."""

from __future__ import annotations

import shlex
from collections.abc import Callable
from typing import Any

from vaxres.errors import InvalidValue, VaxresError

Details = dict[str, Any]


def _duplicate_slot(d: Details) -> str:
    command = f"vaxres slot update {d['slot_id']} --quantity N" if d.get("slot_id") else "vaxres slot update"
    return f"; change its quantity with `{command}`"


def _sold_out(d: Details) -> str:
    hint = "; see `vaxres slot list --available` for slots with doses left"
    if d.get("user") is None:
        return hint
    words = ["vaxres", "waitlist", "join", "--user", d["user"], "--vaccine", d["vaccine"], "--hospital", d["hospital"]]
    words += ["--from", d["date"], "--to", d["date"]] + (["--dose", str(d["dose"])] if d["dose"] != 1 else [])
    return f"{hint}; or wait for a freed dose: `{shlex.join(words)}`"


def _slot_in_past(d: Details) -> str | None:
    if "reservation_id" not in d:
        return None
    n = d["reservation_id"]
    return f"; record the dose with `vaxres administer {n}`, or mark it missed with `vaxres close-day`"


def _already_reserved(d: Details) -> str:
    if d["administered"] or d["reservation_id"] is None:
        return f"; see `vaxres mypage {d['user']}`"
    return f"; cancel it first with `vaxres cancel {d['reservation_id']}` to book another"


def _slot_not_found(d: Details) -> str:
    if "date" in d:
        return f"; see `vaxres slot list --date {d['date']}`"
    if d.get("to_book"):
        return "; see `vaxres slot list --available` for open slots"
    return "; see `vaxres slot list` for the slots that exist"


def _not_owner(d: Details) -> str | None:
    if "reservation_id" not in d:
        return None
    return f" (check the number with `vaxres mypage {d['user']}`)"


def _changed_meanwhile(d: Details) -> str | None:
    # One reservation changed under a command (not a bulk booking's slots, which says to try again).
    return f": see `vaxres show {d['reservation_id']}` and try again" if "reservation_id" in d else None


def _unknown_vaccine(d: Details) -> str | None:
    # A name that looks like a catalog vaccine already asks "did you mean ...?".
    return "; add it with `vaxres vaccine add NAME --doses N`" if "looks_like" not in d else None


def _store_unusable(d: Details) -> str | None:
    return ": run `vaxres db upgrade`" if "head" in d else None


def _invalid_input(d: Details) -> str | None:
    if "missing" not in d:
        return None
    kind = "persons" if d.get("required") == ["id"] else "slots"
    return f"; see `vaxres import {kind} --help` for the accepted names"


def _store_not_empty(d: Details) -> str | None:
    return " (name a new file, or an empty database after `vaxres --db URL db upgrade`)" if d.get("copy") else None


HINTS: dict[str, Callable[[Details], str | None]] = {
    "duplicate_slot": _duplicate_slot,
    "sold_out": _sold_out,
    "slot_in_past": _slot_in_past,
    "already_reserved": _already_reserved,
    "slot_not_found": _slot_not_found,
    "changed_meanwhile": _changed_meanwhile,
    "not_owner": _not_owner,
    "reservation_not_found": lambda d: "; see `vaxres mypage USER` for a person's reservations",
    "vaccine_not_found": lambda d: "; see `vaxres vaccine list`",
    "duplicate_vaccine": lambda d: f"; change it with `vaxres vaccine update {d['vaccine']}`",
    "unknown_vaccine": _unknown_vaccine,
    "already_waiting": lambda d: (
        f"; leave it first with `vaxres waitlist leave {d['entry_id']}` to wait for something else"
    ),
    "waitlist_entry_not_found": lambda d: "; see `vaxres waitlist list`",
    "message_not_found": lambda d: "; see `vaxres outbox list`",
    "store_not_found": lambda d: (
        "; check --db or VAXRES_DB (`vaxres db path` shows the store in use), or register a slot to create one"
    ),
    "store_unusable": _store_unusable,
    "invalid_input": _invalid_input,
    "store_not_empty": _store_not_empty,
    "guardian_required": lambda d: f"; register one with `vaxres person update {d['user']} --guardian ID`",
    "not_eligible": lambda d: f"; `vaxres person eligibility {d['user']}` shows what each window says of them",
    "window_closed": lambda d: f"; `vaxres person eligibility {d['user']}` shows what each window says of them",
    "birth_date_unknown": lambda d: (
        f"; register it with `vaxres person update {d['user']} --birth-date YYYY-MM-DD` (or --rrn)"
    ),
    "duplicate_window": lambda d: f"; see `vaxres window show {d['window']}`, or choose another name",
    "window_not_found": lambda d: "; see `vaxres window list`",
}


def next_step(error: VaxresError) -> str:
    """What the command line adds after the error's sentence ("" when nothing). An error raised
    with no details (a plain `VaxresError(message, code=...)`) gets no hint: a hint is built from
    the facts, and each one checks for the facts it needs, since several errors share a code."""
    hint = HINTS.get(error.code)
    return (hint(error.details) or "") if hint is not None and error.details else ""


def explain(error: VaxresError) -> str:
    """The error's sentence with the command to run next, as the command line shows it."""
    return error.message + next_step(error)


def explain_reason(error: InvalidValue) -> str:
    """An invalid value's reason (the import's per-line report) with the command to run next."""
    return error.reason + next_step(error)
