"""The vaccine catalog's refusals, each built here once (as booking/rules.py builds the booking
rules'): an unknown name, a name or alias taken, a series shortened below the doses people hold.
"""

from __future__ import annotations

from vaxres.errors import InvalidValue, NotFound, Refused


class UnknownVaccine(InvalidValue):
    code = "unknown_vaccine"

    def __init__(self, name: str, known: list[str]):
        listed = ", ".join(known) if known else "none yet"
        reason = f"is not in the catalog (known: {listed})"
        super().__init__("vaccine", name, reason, f"vaccine {name!r} {reason}", details={"vaccine": name})


class VaccineNotFound(NotFound):
    code = "vaccine_not_found"

    def __init__(self, name: str):
        super().__init__(f"there is no vaccine {name!r}", details={"vaccine": name})


class DuplicateVaccine(Refused):
    code = "duplicate_vaccine"

    def __init__(self, name: str, existing: str):
        super().__init__(
            f"{name!r} already names the vaccine {existing} (names and aliases are compared ignoring case)",
            details={"name": name, "vaccine": existing},
        )


class AliasTaken(Refused):
    code = "alias_taken"

    def __init__(self, alias: str, owner: str):
        super().__init__(
            f"the alias {alias!r} already names the vaccine {owner}; an alias belongs to one vaccine only",
            details={"alias": alias, "vaccine": owner},
        )


class DosesInUse(Refused):
    code = "doses_in_use"

    def __init__(self, vaccine: str, doses: int, people: int):
        super().__init__(
            f"{people} {'person holds' if people == 1 else 'people hold'} a dose of {vaccine} above {doses}; "
            f"cancel those bookings first, or keep the series at its length",
            details={"vaccine": vaccine, "doses": doses, "people": people},
        )
