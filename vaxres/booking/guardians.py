"""A minor is booked only with a guardian registered (issue 20): the rule every path that takes
a dose applies through rules.check_booking, and the bulk waitlist offer on a day alone."""

from __future__ import annotations

import datetime as dt

from vaxres.errors import Refused
from vaxres.people.rules import ADULT_AGE, age_on, minor_on


class GuardianRequired(Refused):
    code = "guardian_required"

    def __init__(self, user: str, age: int, day: dt.date, *, adult_on: dt.date):
        super().__init__(
            f"{user} is {age} on {day.isoformat()}: a person under {ADULT_AGE} is booked only with a guardian "
            f"registered (or from {adult_on.isoformat()} on)",
            details={"user": user, "age": age, "date": day.isoformat(), "adult_on": adult_on.isoformat()},
        )

    @classmethod
    def of_minor(cls, user: str, born: dt.date, day: dt.date) -> GuardianRequired:
        """The refusal for a person minor_on `day`: their age and the day they come of age, worked out
        only now."""
        return cls(user, age_on(born, day), day, adult_on=_birthday(born, ADULT_AGE))


def check_guardian(user: str, born: dt.date | None, guarded: bool, day: dt.date) -> None:
    """A person minor_on the booking's day is booked only with a guardian registered."""
    if born is not None and not guarded and minor_on(born, day):
        raise GuardianRequired.of_minor(user, born, day)


def _birthday(born: dt.date, years: int) -> dt.date:
    try:
        return born.replace(year=born.year + years)
    except ValueError:  # 29 February
        return dt.date(born.year + years, 3, 1)
