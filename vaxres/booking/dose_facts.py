"""What `administer` records of a dose beside its lot (issue 24): the lot's expiry, the site and
the route, as an immunization record carries them; a lot past its expiry is refused."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from vaxres import validate
from vaxres.errors import InvalidValue, Refused

SITES = ("left-arm", "right-arm")
ROUTES = ("im", "sc", "id")  # intramuscular, subcutaneous, intradermal


@dataclass(frozen=True)
class DoseFacts:
    lot_expires: dt.date | None = None
    site: str | None = None
    route: str | None = None

    @classmethod
    def parse(cls, *, expires: str | None = None, site: str | None = None, route: str | None = None) -> DoseFacts:
        return cls(
            None if expires is None else validate.parse_date(expires, field="--expires"),
            _one_of("--site", site, SITES),
            _one_of("--route", route, ROUTES),
        )

    def check_lot(self, lot: str | None, day: dt.date) -> None:
        """The lot must not have expired before `day`, the dose's day in the store's time zone
        (a lot is good through its expiry day)."""
        if self.lot_expires is not None and self.lot_expires < day:
            raise LotExpired(lot, self.lot_expires, day)

    def as_json(self) -> dict[str, Any]:
        return {
            "lot_expires": None if self.lot_expires is None else self.lot_expires.isoformat(),
            "site": self.site,
            "route": self.route,
        }


def _one_of(option: str, value: str | None, allowed: tuple[str, ...]) -> str | None:
    if value is None:
        return None
    chosen = str(value).strip().lower()
    if chosen not in allowed:
        raise InvalidValue(
            option, value, f"must be {' or '.join(allowed)}", f"{option} must be {', '.join(allowed)}, got {value!r}"
        )
    return chosen


class LotExpired(Refused):
    code = "lot_expired"

    def __init__(self, lot: str | None, expires: dt.date, day: dt.date):
        named = f"lot {lot}" if lot else "the lot"
        super().__init__(
            f"{named} expired on {expires.isoformat()}, before the dose's day {day.isoformat()}; "
            f"nothing was recorded: give a lot that has not expired",
            details={"lot": lot, "expires": expires.isoformat(), "date": day.isoformat()},
        )
