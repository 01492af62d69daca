"""The eligibility windows' refusals (booking/windows.py), each built once: a name taken or
unknown, and the values of `window add` that are wrong only together."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from vaxres.booking.eligibility_refusals import local_text
from vaxres.errors import InvalidTogether, NotFound, Refused
from vaxres.formats import iso_utc

if TYPE_CHECKING:
    from vaxres.booking.eligibility import Window


class DuplicateWindow(Refused):
    code = "duplicate_window"

    def __init__(self, name: str):
        super().__init__(
            f"a window named {name} exists already (names are compared ignoring case)", details={"window": name}
        )


class WindowNotFound(NotFound):
    code = "window_not_found"

    def __init__(self, name: str):
        super().__init__(f"no window is named {name}", details={"window": name})


class BirthDaysBackwards(InvalidTogether):
    def __init__(self, first: dt.date, last: dt.date):
        super().__init__(
            f"--born-to {last.isoformat()} is before --born-from {first.isoformat()}; give a range",
            "--born-to",
            "--born-from",
            details={"born_from": first.isoformat(), "born_to": last.isoformat()},
        )


class AgesBackwards(InvalidTogether):
    def __init__(self, youngest: int, oldest: int):
        super().__init__(
            f"--age-max {oldest} is below --age-min {youngest}; give a range of ages",
            "--age-max",
            "--age-min",
            details={"age_min": youngest, "age_max": oldest},
        )


class AgeDayWithoutAges(InvalidTogether):
    def __init__(self, day: dt.date):
        super().__init__(
            "--age-on needs --age-min or --age-max: it is the day their ages are counted on",
            "--age-on",
            "--age-min",
            "--age-max",
            details={"age_on": day.isoformat()},
        )


class ClosesBeforeOpens(InvalidTogether):
    def __init__(self, opens: str, closes: str):
        super().__init__(
            f"--closes {closes} is not after --opens {opens}; a window closes after it opens",
            "--closes",
            "--opens",
            details={"opens": opens, "closes": closes},
        )


class RotationWithoutEach(InvalidTogether):
    def __init__(self, rotation: str):
        super().__init__(
            "--rotation birth-digit needs --each HH:MM-HH:MM: the daily window of each day's digit",
            "--rotation",
            "--each",
            details={"rotation": rotation},
        )


class EachWithoutRotation(InvalidTogether):
    def __init__(self, each: str):
        super().__init__(
            "--each needs --rotation birth-digit: it is the daily window of a rotation",
            "--each",
            "--rotation",
            details={"each": each},
        )


class ClosedBeforeOpening(InvalidTogether):
    def __init__(self, window: Window, at: dt.datetime):
        super().__init__(
            f"--at {local_text(at, window.zone)} is before window {window.name} opens "
            f"({local_text(window.opens_at, window.zone)}); close it at its opening or later",
            "--at",
            details={"window": window.name, "at": iso_utc(at), "opens_at": iso_utc(window.opens_at)},
        )
