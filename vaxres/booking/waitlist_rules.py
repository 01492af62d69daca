"""The waitlist's refusals, each built once, and the eligibility rule of joining it."""

import datetime as dt

from sqlalchemy import Connection, bindparam, select

from vaxres import validate
from vaxres.booking import eligibility
from vaxres.db.tables import person_table
from vaxres.errors import InvalidTogether, NotFound, Refused

_BORN = select(person_table.c.birth_date).where(person_table.c.id == bindparam("b_person"))


def check_ever(conn: Connection, user: str, vaccine: str, dose: int, at: dt.datetime) -> None:
    """Refuse a person no window of the vaccine will ever admit (`waitlist join`): the waitlist
    takes everyone a window admits now or later."""
    windows = eligibility.load(conn, [validate.name_key(vaccine)])
    if windows:
        born = conn.execute(_BORN, {"b_person": user}).scalar()
        groups = eligibility.groups_of(conn, user) if windows.need_groups() else frozenset()
        windows.never(user, vaccine, dose, born=born, groups=groups, at=at)


class AlreadyWaiting(Refused):
    code = "already_waiting"

    def __init__(self, user: str, dose: int, entry_id: int):
        super().__init__(
            f"{user} already waits for dose {dose} (waitlist entry {entry_id})",
            details={"user": user, "dose": dose, "entry_id": entry_id},
        )


class EntryNotFound(NotFound):
    code = "waitlist_entry_not_found"

    def __init__(self, entry_id: int):
        super().__init__(f"there is no waitlist entry {entry_id}", details={"entry_id": entry_id})


class NotEntryOwner(Refused):
    code = "not_owner"

    def __init__(self, entry_id: int, user: str):
        details = {"entry_id": entry_id, "user": user}
        super().__init__(f"waitlist entry {entry_id} is not {user}'s; nothing changed", details=details)


class WaitingDaysBackwards(InvalidTogether):
    fields = {"--from": "date_from", "--to": "date_to"}  # the API's body: `from` is Python's keyword

    def __init__(self, first: dt.date, last: dt.date):
        super().__init__(
            f"--to {last.isoformat()} is before --from {first.isoformat()}; give a range of days",
            "--to",
            "--from",
            details={"from": first.isoformat(), "to": last.isoformat()},
        )
