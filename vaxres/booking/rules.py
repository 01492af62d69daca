"""Every refusal of the booking rules, each built here once: its code, its exit code and its
sentence (the vaccine catalog's own refusals are in booking/catalog_rules.py). The single
commands raise them; the CSV import reports the same error for a row, with the row's line
number added.
"""

from __future__ import annotations

import datetime as dt

from vaxres.booking.model import HeldDose, ReservationRecord, SlotRecord, VaccineRecord
from vaxres.db.tables import ReservationStatus
from vaxres.errors import NotFound, Refused


class DuplicateSlot(Refused):
    code = "duplicate_slot"

    def __init__(self, date: dt.date, hospital: str, vaccine: str, slot_id: int | None):
        which = f"slot {slot_id}" if slot_id else "a slot"
        update_hint = f"vaxres slot update {slot_id} --quantity N" if slot_id else "vaxres slot update"
        super().__init__(
            f"{which} already exists for {date.isoformat()}, {hospital}, {vaccine} "
            f"(names are compared ignoring case); change its quantity with `{update_hint}`"
        )


class CapacityBelowBooked(Refused):
    code = "capacity_below_booked"

    def __init__(self, slot_id: int | None, booked: int, quantity: int):
        super().__init__(
            f"slot {slot_id} has {booked} doses booked, so its quantity cannot drop to {quantity}; "
            f"give at least {booked}, or cancel reservations first"
        )


class SoldOut(Refused):
    code = "sold_out"

    def __init__(self, slot: SlotRecord, user: str | None = None, dose: int = 1):
        """With the person, the reply says how to wait for a dose of this slot to be freed."""
        wait = ""
        if user is not None:
            import shlex

            words = [
                "vaxres",
                "waitlist",
                "join",
                "--user",
                user,
                "--vaccine",
                slot.vaccine,
                "--hospital",
                slot.hospital,
                "--from",
                slot.date.isoformat(),
                "--to",
                slot.date.isoformat(),
            ]
            wait = f"; or wait for a freed dose: `{shlex.join(words + (['--dose', str(dose)] if dose != 1 else []))}`"
        super().__init__(
            f"slot {slot.id} ({slot.describe()}) is sold out; "
            f"see `vaxres slot list --available` for slots with doses left{wait}"
        )


class SlotInPast(Refused):
    code = "slot_in_past"

    @classmethod
    def of_slot(cls, slot: SlotRecord) -> SlotInPast:
        return cls(f"slot {slot.id} ({slot.describe()}) is in the past; choose a slot from today on")

    @classmethod
    def of_slot_update(cls, slot: SlotRecord) -> SlotInPast:
        return cls(f"slot {slot.id} ({slot.describe()}) is in the past; its quantity can no longer change")

    @classmethod
    def of_date(cls, date: dt.date) -> SlotInPast:
        return cls(f"{date.isoformat()} is in the past; choose a slot from today on")

    @classmethod
    def of_reservation(cls, booking: ReservationRecord, change: str) -> SlotInPast:
        return cls(
            f"reservation {booking.id} was for {booking.date.isoformat()}, which has passed, so it cannot be "
            f"{change}; record the dose with `vaxres administer {booking.id}`, or mark it missed with `vaxres close-day`"
        )


class AlreadyReserved(Refused):
    code = "already_reserved"

    def __init__(self, user: str, dose: int, held: int | None, *, administered: bool = False):
        """`held` is the reservation number, when it has one yet."""
        if administered:
            message = f"{user} already received dose {dose} (reservation {held}); see `vaxres mypage {user}`"
        elif held is None:
            message = f"{user} already holds an active reservation for dose {dose}; see `vaxres mypage {user}`"
        else:
            message = (
                f"{user} already holds reservation {held} for dose {dose}; "
                f"cancel it first with `vaxres cancel {held}` to book another"
            )
        super().__init__(message)


class AlreadyCancelled(Refused):
    code = "already_cancelled"

    def __init__(self, reservation_id: int, cancelled_at: dt.datetime | None):
        when = cancelled_at.strftime("%Y-%m-%d %H:%M UTC") if cancelled_at else "earlier"
        super().__init__(f"reservation {reservation_id} was already cancelled ({when}); nothing to do")


class SlotNotFound(NotFound):
    code = "slot_not_found"

    def __init__(self, slot_id: int, *, to_book: bool = False):
        hint = (
            "`vaxres slot list --available` for open slots"
            if to_book
            else "`vaxres slot list` for the slots that exist"
        )
        super().__init__(f"there is no slot {slot_id}; see {hint}")


class NoSlotNamed(SlotNotFound):
    def __init__(self, date: dt.date, hospital: str, vaccine: str):
        NotFound.__init__(
            self,
            f"there is no slot for {date.isoformat()}, {hospital}, {vaccine}; "
            f"see `vaxres slot list --date {date.isoformat()}`",
        )


class DoseOrder(Refused):
    code = "dose_order"

    def __init__(self, user: str, dose: int):
        super().__init__(
            f"{user} holds no dose {dose - 1} yet, so dose {dose} cannot be booked; book dose {dose - 1} first"
        )


class VaccineMismatch(Refused):
    code = "vaccine_mismatch"

    def __init__(self, user: str, dose: int, vaccine: str, series: HeldDose):
        super().__init__(
            f"{user}'s series is {series.vaccine} ({series.describe()}), "
            f"so dose {dose} must be {series.vaccine} too, not {vaccine}"
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
        super().__init__(message)


class SeriesComplete(Refused):
    code = "series_complete"

    def __init__(self, dose: int, vaccine: VaccineRecord):
        super().__init__(
            f"{vaccine.name}'s primary series has {vaccine.doses} dose{'s' if vaccine.doses != 1 else ''}; "
            f"there is no dose {dose}"
        )


class NotReserved(Refused):
    code = "not_reserved"

    def __init__(self, reservation_id: int, status: str):
        super().__init__(
            f"reservation {reservation_id} is {status}: only a reserved booking can be cancelled, moved or recorded"
        )


class EarlierDoseNotGiven(Refused):
    code = "dose_order"

    def __init__(self, booking: ReservationRecord):
        super().__init__(
            f"{booking.user}'s dose {booking.dose - 1} has not been recorded as given, so dose {booking.dose} "
            f"(reservation {booking.id}) cannot be; record dose {booking.dose - 1} first, or book it again"
        )


class ChangedMeanwhile(Refused):
    code = "changed_meanwhile"

    def __init__(self, reservation_id: int):
        super().__init__(
            f"reservation {reservation_id} was changed by another operator while this ran; nothing changed here: "
            f"see `vaxres show {reservation_id}` and try again"
        )


class TooEarly(Refused):
    code = "too_early"

    def __init__(self, reservation_id: int, date: dt.date):
        super().__init__(
            f"reservation {reservation_id} is for {date.isoformat()}; a dose is recorded on its day or after"
        )


class NotOwner(Refused):
    code = "not_owner"

    def __init__(self, reservation_id: int, user: str):
        super().__init__(
            f"reservation {reservation_id} is not {user}'s; nothing changed (check the number with `vaxres mypage {user}`)"
        )


class ReservationNotFound(NotFound):
    code = "reservation_not_found"

    def __init__(self, reservation_id: int):
        super().__init__(
            f"there is no reservation {reservation_id}; see `vaxres mypage USER` for a person's reservations"
        )


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
) -> None:
    """The one booking decision, in `reserve`'s order: a slot of today or later, the person's
    series on its day, a dose left (`remaining`; None: the store's conditional UPDATE checks it)."""
    if slot.date < today:
        raise SlotInPast.of_slot(slot)
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
