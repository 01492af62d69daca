"""Every refusal of the booking rules, each built here once: its code, its exit code, its
sentence and its details (the vaccine catalog's own refusals are in booking/catalog_rules.py).
The single commands raise them; the CSV import reports the same error for a row, with the row's
line number added. The sentences say what is wrong; the next step to take (a command to run)
is the CLI's to add (vaxres/cli/hints.py), keyed by code and details.
"""

from __future__ import annotations

import datetime as dt

from vaxres.booking.eligibility import Windows
from vaxres.booking.guardians import GuardianRequired, minor_on
from vaxres.booking.model import HeldDose, ReservationRecord, SlotRecord, VaccineRecord
from vaxres.db.tables import ReservationStatus
from vaxres.errors import NotFound, Refused


class DuplicateSlot(Refused):
    code = "duplicate_slot"

    def __init__(self, date: dt.date, hospital: str, vaccine: str, slot_id: int | None):
        which = f"slot {slot_id}" if slot_id else "a slot"
        super().__init__(
            f"{which} already exists for {date.isoformat()}, {hospital}, {vaccine} (names are compared ignoring case)",
            details={"slot_id": slot_id, "date": date.isoformat(), "hospital": hospital, "vaccine": vaccine},
        )


class CapacityBelowBooked(Refused):
    code = "capacity_below_booked"

    def __init__(self, slot_id: int | None, booked: int, quantity: int):
        super().__init__(
            f"slot {slot_id} has {booked} doses booked, so its quantity cannot drop to {quantity}; "
            f"give at least {booked}, or cancel reservations first",
            details={"slot_id": slot_id, "booked": booked, "quantity": quantity},
        )


class SoldOut(Refused):
    code = "sold_out"

    def __init__(self, slot: SlotRecord, user: str | None = None, dose: int = 1):
        """With the person, the CLI says how to wait for a dose of this slot to be freed."""
        super().__init__(
            f"slot {slot.id} ({slot.describe()}) is sold out",
            details={**_slot_details(slot), **({"user": user, "dose": dose} if user is not None else {})},
        )


class SlotInPast(Refused):
    code = "slot_in_past"

    @classmethod
    def of_slot(cls, slot: SlotRecord) -> SlotInPast:
        return cls(
            f"slot {slot.id} ({slot.describe()}) is in the past; choose a slot from today on",
            details=_slot_details(slot),
        )

    @classmethod
    def of_slot_update(cls, slot: SlotRecord) -> SlotInPast:
        return cls(
            f"slot {slot.id} ({slot.describe()}) is in the past; its quantity can no longer change",
            details=_slot_details(slot),
        )

    @classmethod
    def of_date(cls, date: dt.date) -> SlotInPast:
        return cls(
            f"{date.isoformat()} is in the past; choose a slot from today on", details={"date": date.isoformat()}
        )

    @classmethod
    def of_reservation(cls, booking: ReservationRecord, change: str) -> SlotInPast:
        return cls(
            f"reservation {booking.id} was for {booking.date.isoformat()}, which has passed, so it cannot be {change}",
            details={"reservation_id": booking.id, "date": booking.date.isoformat()},
        )


class AlreadyReserved(Refused):
    code = "already_reserved"

    def __init__(self, user: str, dose: int, held: int | None, *, administered: bool = False):
        """`held` is the reservation number, when it has one yet."""
        if administered:
            message = f"{user} already received dose {dose} (reservation {held})"
        elif held is None:
            message = f"{user} already holds an active reservation for dose {dose}"
        else:
            message = f"{user} already holds reservation {held} for dose {dose}"
        details = {"user": user, "dose": dose, "reservation_id": held, "administered": administered}
        super().__init__(message, details=details)


class AlreadyCancelled(Refused):
    code = "already_cancelled"

    def __init__(self, reservation_id: int, cancelled_at: dt.datetime | None):
        when = cancelled_at.strftime("%Y-%m-%d %H:%M UTC") if cancelled_at else "earlier"
        super().__init__(
            f"reservation {reservation_id} was already cancelled ({when}); nothing to do",
            details={"reservation_id": reservation_id},
        )


class SlotNotFound(NotFound):
    code = "slot_not_found"

    def __init__(self, slot_id: int, *, to_book: bool = False):
        super().__init__(f"there is no slot {slot_id}", details={"slot_id": slot_id, "to_book": to_book})


class NoSlotNamed(SlotNotFound):
    def __init__(self, date: dt.date, hospital: str, vaccine: str):
        NotFound.__init__(
            self,
            f"there is no slot for {date.isoformat()}, {hospital}, {vaccine}",
            details={"date": date.isoformat(), "hospital": hospital, "vaccine": vaccine},
        )


class DoseOrder(Refused):
    code = "dose_order"

    def __init__(self, user: str, dose: int):
        super().__init__(
            f"{user} holds no dose {dose - 1} yet, so dose {dose} cannot be booked; book dose {dose - 1} first",
            details={"user": user, "dose": dose},
        )


class VaccineMismatch(Refused):
    code = "vaccine_mismatch"

    def __init__(self, user: str, dose: int, vaccine: str, series: HeldDose):
        super().__init__(
            f"{user}'s series is {series.vaccine} ({series.describe()}), "
            f"so dose {dose} must be {series.vaccine} too, not {vaccine}",
            details={"user": user, "dose": dose, "vaccine": vaccine, "series_vaccine": series.vaccine},
        )


class DoseInterval(Refused):
    code = "dose_interval"

    def __init__(self, user: str, dose: int, vaccine: VaccineRecord, other: HeldDose, *, earliest=None, latest=None):
        self.earliest = earliest
        days = vaccine.min_interval_days
        if earliest is not None:
            message = (
                f"dose {dose} of {vaccine.name} needs {days} days after dose {other.dose} "
                f"({other.date.isoformat()}); the earliest allowed date for {user} is {earliest.isoformat()}"
            )
        else:
            message = (
                f"dose {dose} of {vaccine.name} must come {days} days before {user}'s {other.describe()}; "
                f"the latest allowed date is {latest.isoformat()}"
            )
        details = {"user": user, "dose": dose, "vaccine": vaccine.name, "other_dose": other.dose}
        if earliest is not None:
            details["earliest"] = earliest.isoformat()
        if latest is not None:
            details["latest"] = latest.isoformat()
        super().__init__(message, details=details)


class SeriesComplete(Refused):
    code = "series_complete"

    def __init__(self, dose: int, vaccine: VaccineRecord):
        super().__init__(
            f"{vaccine.name}'s primary series has {vaccine.doses} dose{'s' if vaccine.doses != 1 else ''}; "
            f"there is no dose {dose}",
            details={"dose": dose, "vaccine": vaccine.name, "doses": vaccine.doses},
        )


class NotReserved(Refused):
    code = "not_reserved"

    def __init__(self, reservation_id: int, status: str):
        super().__init__(
            f"reservation {reservation_id} is {status}: only a reserved booking can be cancelled, moved or recorded",
            details={"reservation_id": reservation_id, "status": status},
        )


class EarlierDoseNotGiven(Refused):
    code = "dose_order"

    def __init__(self, booking: ReservationRecord):
        super().__init__(
            f"{booking.user}'s dose {booking.dose - 1} has not been recorded as given, so dose {booking.dose} "
            f"(reservation {booking.id}) cannot be; record dose {booking.dose - 1} first, or book it again",
            details={"reservation_id": booking.id, "user": booking.user, "dose": booking.dose},
        )


class ChangedMeanwhile(Refused):
    code = "changed_meanwhile"

    def __init__(self, reservation_id: int):
        super().__init__(
            f"reservation {reservation_id} was changed by another operator while this ran; nothing changed here",
            details={"reservation_id": reservation_id},
        )


class TooEarly(Refused):
    code = "too_early"

    def __init__(self, reservation_id: int, date: dt.date):
        super().__init__(
            f"reservation {reservation_id} is for {date.isoformat()}; a dose is recorded on its day or after",
            details={"reservation_id": reservation_id, "date": date.isoformat()},
        )


class NotOwner(Refused):
    code = "not_owner"

    def __init__(self, reservation_id: int, user: str):
        super().__init__(
            f"reservation {reservation_id} is not {user}'s; nothing changed",
            details={"reservation_id": reservation_id, "user": user},
        )


class ReservationNotFound(NotFound):
    code = "reservation_not_found"

    def __init__(self, reservation_id: int):
        super().__init__(f"there is no reservation {reservation_id}", details={"reservation_id": reservation_id})


def check_capacity(slot_id: int | None, booked: int, quantity: int) -> None:
    """A slot's capacity never drops below the doses booked from it."""
    if quantity < booked:
        raise CapacityBelowBooked(slot_id, booked, quantity)


def check_booking(
    user: str,
    dose: int,
    slot: SlotRecord,
    vaccine: VaccineRecord,
    held: dict[int, HeldDose],
    *,
    today: dt.date,
    remaining: int | None = None,
    moving: int | None = None,
    born: dt.date | None = None,
    guarded: bool = True,
    windows: Windows | None = None,
    groups: frozenset[str] = frozenset(),
    at: dt.datetime | None = None,
) -> None:
    """The one booking decision, in `reserve`'s order: a slot of today or later, a minor on its
    day only with a guardian (`born`: the person's birth date, when registered; `guarded`: a
    guardian is), a window open to the person at `at` (`windows` of the vaccine, `groups` the
    keys of theirs; None: not asked, an operator overrode it), the person's series on its day, a
    dose left (`remaining`; None: the store's conditional UPDATE checks it)."""
    if slot.date < today:
        raise SlotInPast.of_slot(slot)
    if born is not None and not guarded and minor_on(born, slot.date):  # check_guardian, inlined
        raise GuardianRequired.of_minor(user, born, slot.date)
    if windows:
        assert at is not None  # the booking's moment
        windows.check(user, vaccine.name, dose, born=born, groups=groups, at=at)
    check_series(user, dose, slot.date, vaccine, held, moving=moving)
    if remaining is not None and remaining <= 0:
        raise SoldOut(slot, user, dose)


def check_series(
    user: str, dose: int, day: dt.date, vaccine: VaccineRecord, held: dict[int, HeldDose], *, moving: int | None = None
) -> None:
    """Dose `dose` of `vaccine` on `day` fits the person's series: the doses they hold or have
    received (`held`, by dose number; `moving` is a reservation being rescheduled, left out).

    Raises AlreadyReserved, SeriesComplete, VaccineMismatch, DoseOrder or DoseInterval.
    """
    if moving is not None:
        held = {number: h for number, h in held.items() if h.reservation_id != moving}
    if not held:  # a first booking: only the series' length and order can refuse it
        if dose > vaccine.doses:
            raise SeriesComplete(dose, vaccine)
        if dose > 1:
            raise DoseOrder(user, dose)
        return
    same = held.get(dose)
    if same is not None:
        raise AlreadyReserved(user, dose, same.reservation_id, administered=not same.active)
    if dose > vaccine.doses:
        raise SeriesComplete(dose, vaccine)
    for other in held.values():
        if other.vaccine.casefold() != vaccine.name.casefold():
            raise VaccineMismatch(user, dose, vaccine.name, other)
    gap = dt.timedelta(days=vaccine.min_interval_days)
    if dose > 1:
        previous = held.get(dose - 1)
        if previous is None:
            raise DoseOrder(user, dose)
        if day < previous.date + gap:
            raise DoseInterval(user, dose, vaccine, previous, earliest=previous.date + gap)
    following = held.get(dose + 1)
    if following is not None and following.active and day > following.date - gap:
        raise DoseInterval(user, dose, vaccine, following, latest=following.date - gap)


def check_changeable(booking: ReservationRecord, today: dt.date, change: str) -> None:
    """Only a reserved booking whose day has not passed is cancelled or moved."""
    if booking.status == ReservationStatus.CANCELLED:
        raise AlreadyCancelled(booking.id, booking.cancelled_at)
    if booking.status != ReservationStatus.RESERVED:
        raise NotReserved(booking.id, booking.status)
    if booking.date < today:
        raise SlotInPast.of_reservation(booking, change)


def check_owner(booking: ReservationRecord, user: str | None) -> None:
    if user is not None and booking.user != user:
        raise NotOwner(booking.id, user)


def _slot_details(slot: SlotRecord) -> dict:
    return {"slot_id": slot.id, "date": slot.date.isoformat(), "hospital": slot.hospital, "vaccine": slot.vaccine}
