"""The waitlist's refusals, each built once."""

from vaxres.errors import NotFound, Refused


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
