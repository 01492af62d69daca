"""The refusals of the eligibility rule (booking/eligibility.py), each built once with a sentence
that helps: wait for the opening, register a birth date, or no."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from vaxres.errors import Refused
from vaxres.formats import iso_utc

if TYPE_CHECKING:
    from vaxres.booking.eligibility import Window


def local_text(moment: dt.datetime, zone: ZoneInfo) -> str:
    """'2021-08-12 20:00 (Asia/Seoul)': a moment as the operator gave it, with its zone."""
    return f"{moment.astimezone(zone):%Y-%m-%d %H:%M} ({zone.key})"


class NotOpenYet(Refused):
    code = "not_open_yet"

    def __init__(self, user: str, vaccine: str, dose: int, window: Window, opens: dt.datetime):
        super().__init__(
            f"{vaccine} (dose {dose}) is not open to {user} yet: window {window.name} opens for them "
            f"on {local_text(opens, window.zone)}",
            details={
                "user": user,
                "vaccine": vaccine,
                "dose": dose,
                "window": window.name,
                "opens_at": iso_utc(opens),
            },
        )


class NotEligible(Refused):
    code = "not_eligible"

    def __init__(self, user: str, vaccine: str, dose: int, windows: list[Window]):
        names = ", ".join(window.name for window in windows)
        super().__init__(
            f"{user} is not eligible for {vaccine} (dose {dose}): no window of it ({names}) matches them",
            details={"user": user, "vaccine": vaccine, "dose": dose, "windows": [window.name for window in windows]},
        )


class WindowClosed(Refused):
    code = "window_closed"

    def __init__(self, user: str, vaccine: str, dose: int, window: Window):
        assert window.closes_at is not None  # a window without an end never closes
        super().__init__(
            f"{vaccine} (dose {dose}) is closed to {user}: window {window.name} closed on "
            f"{local_text(window.closes_at, window.zone)} and no other window of it opens for them",
            details={
                "user": user,
                "vaccine": vaccine,
                "dose": dose,
                "window": window.name,
                "closed_at": iso_utc(window.closes_at),
            },
        )


class BirthDateUnknown(Refused):
    code = "birth_date_unknown"

    def __init__(self, user: str, vaccine: str, dose: int, window: Window):
        super().__init__(
            f"window {window.name} for {vaccine} (dose {dose}) needs {user}'s birth date, which is not registered",
            details={"user": user, "vaccine": vaccine, "dose": dose, "window": window.name},
        )


@dataclass(frozen=True)
class Decision:
    """Why a person may not book now: the kind of refusal and the window it names."""

    kind: type[Refused]
    window: Window | None = None
    opens: dt.datetime | None = None
    windows: tuple[Window, ...] = ()

    def refusal(self, user: str, vaccine: str, dose: int) -> Refused:
        if self.kind is NotOpenYet:
            assert self.window is not None and self.opens is not None
            return NotOpenYet(user, vaccine, dose, self.window, self.opens)
        if self.kind is BirthDateUnknown:
            assert self.window is not None
            return BirthDateUnknown(user, vaccine, dose, self.window)
        if self.kind is WindowClosed:
            assert self.window is not None
            return WindowClosed(user, vaccine, dose, self.window)
        return NotEligible(user, vaccine, dose, list(self.windows))
