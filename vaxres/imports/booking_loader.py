"""Loading a chunk of staged booking rows exactly as `vaxres reserve` would book them, with
set-based statements: a few look-ups (the rows joined to their slots, vaccines and people; the
people's held doses), each row decided in file order by the booking rules in `reserve`'s order
(the slot, its day, the guardian rule, the windows, the person's series with the doses booked by
earlier rows, a dose left), then one UPDATE of the slots, the reservations inserted in file
order, and INSERT ... SELECTs of their ReservationConfirmed messages and the guardians' copies."""

from __future__ import annotations

import datetime as dt
import functools

from sqlalchemy import Connection, Select, and_, bindparam, select

from vaxres.booking import eligibility, guardians, locks, rules, series
from vaxres.booking.doses import book_many, confirmations
from vaxres.booking.model import HeldDose, SlotRecord, VaccineRecord
from vaxres.db import bulk
from vaxres.db.store import Store, parameter_batches
from vaxres.db.tables import ReservationStatus, person_table, reservation_table, slot_table, utcnow, vaccine_table
from vaxres.errors import NotFound, Refused, VaxresError
from vaxres.imports.report import ImportSummary
from vaxres.imports.rows import RowError, split_cells
from vaxres.imports.staging import Staging

s = slot_table.c
r = reservation_table.c
v = vaccine_table.c
# What the decision reads of each staged row: its line, person and dose, its slot (all NULL when
# no slot has the row's key) and the slot's catalog entry (NULL when the slot's vaccine is not in
# the catalog). The row's own text is read again only for the rows refused (_refusals).
SLOT_COLUMNS = (
    s.id.label("slot_id"),
    s.date.label("slot_date"),
    s.hospital.label("slot_hospital"),
    s.vaccine.label("slot_vaccine"),
    s.capacity,
    s.remaining,
    v.name.label("catalog_name"),
    v.doses,
    v.min_interval_days,
)
# And of the row's person: the guardian rule's facts, and whether the registry has them at all.
PERSON_COLUMNS = (
    person_table.c.birth_date,
    person_table.c.guardian_id,
    person_table.c.id.is_not(None).label("registered"),
)
RESERVED = ReservationStatus.RESERVED
DAYS_KEPT = 100_000  # dates as the driver returned them, parsed once each
NO_DOSES: dict[int, HeldDose] = {}
NO_GROUPS: frozenset[str] = frozenset()


class BookingLoader:
    def __init__(self, store: Store, summary: ImportSummary, staging: Staging, *, override: str | None = None):
        self.summary = summary
        self._override = override  # the reason an operator books past the eligibility windows
        self.staging = staging
        self._today = store.today()
        self._sqlite = store.is_sqlite
        # A booking this import makes, as the person's series sees it: one HeldDose per slot and
        # dose (slot id * 16 + dose), shared by everyone booked there.
        self._booked: dict[int, HeldDose] = {}
        # A dry run commits nothing, so later chunks cannot read earlier ones from the store: it
        # remembers who it would have booked where (person → slot id * 16 + dose, or a tuple of
        # them) and how many doses it would have taken from each slot.
        self._would_hold: dict[str, int | tuple[int, ...]] = {}
        self._would_take: dict[int, int] = {}
        self._announce = confirmations(override=override, copies="listed")
        self._announce_unguarded = confirmations(override=override, copies="none")  # no copy to look for
        self._days: dict[dt.date | str, dt.date] = {}
        self._series_of: dict[tuple[str, int, int], VaccineRecord] = {}  # by (name, doses, gap)

    def load(self, conn: Connection, low: int, high: int, *, dry_run: bool) -> list[RowError]:
        now = utcnow()
        today = self._today
        rows = bulk.fetch(conn, self._chunk, {"low": low, "high": high})
        # The chunk's people: for PostgreSQL's locks and a dry run's memory (SQLite's writer locks nobody).
        users = [] if self._sqlite and not dry_run else list({row[1] for row in rows})
        if not dry_run:
            locks.lock_people(conn, users)  # before the chunk's first row lock (booking/locks.py)
        held, where = self._held_doses(conn, low, high)
        if dry_run:
            self._recall(users, held, where)
        else:
            self._booked.clear()  # committed with the chunk: later chunks read them from the store
        # SQLite: the chunk's transaction holds the write lock, so the slots as the join read them
        # are the slots as they are: each one's record is made when the loop first meets it. A dry
        # run locks nothing anywhere. PostgreSQL: lock the chunk's slots, then read them again.
        slots_from_join = self._sqlite or dry_run
        slots: dict[int, SlotRecord] = {}
        vaccines: dict[int, VaccineRecord] = {}
        if not slots_from_join:
            slots, vaccines = self._read_slots(conn, [row[3] for row in rows], lock=True)
        take = self._would_take
        remaining = {slot_id: slot.remaining - take.get(slot_id, 0) for slot_id, slot in slots.items()}
        booked = self._booked
        # The windows (a few rows), unless overridden; people's groups only when a window names some.
        windows = eligibility.Windows(()) if self._override is not None else eligibility.load(conn)
        groups = self._groups(conn, low, high) if windows.need_groups() else {}
        open_windows = windows or None  # asked once a chunk, not once a row
        refused: list[tuple[int, VaxresError | None]] = []  # (row's index, refusal; None: no slot has its key)
        taken: dict[int, int] = {}  # a dry run's doses taken from each slot, for the chunks after it
        bookings = []
        check = rules.check_booking
        guarded: set[str] = set()  # the people booked who have a guardian: their copies are written
        unregistered = False  # someone booked is not in the registry yet: made a bare person
        days = self._days
        series_of = self._series_of
        for index, row in enumerate(rows):
            # the line, person and dose; the slot (SLOT_COLUMNS: `left` its doses left, `catalog` the
            # catalog's name of its vaccine); the person (PERSON_COLUMNS: `known` to the registry)
            _, user, dose, slot_id, day, hospital, vaccine, cap, left, catalog, doses, gap, born, guardian, known = row
            mine = held.get(user)
            if slot_id is None:
                refused.append((index, None))
                continue
            if mine is not None and dose in mine and where[(user, dose)] == slot_id:
                self.summary.already += 1  # this very booking exists: a file imported again
                continue
            slot = slots.get(slot_id)
            if slot is None and slots_from_join:  # first met: the slot as the join read it
                slot = slots[slot_id] = SlotRecord(
                    slot_id, days.get(day) or self._day_of(day), hospital, vaccine, cap, left
                )
                key = (catalog or vaccine or "", doses or 1, gap or 0)  # outside the catalog: 1 dose
                vaccines[slot_id] = series_of.get(key) or self._series(key)
                remaining[slot_id] = left - take.get(slot_id, 0)
            try:
                if slot is None:  # the slot went away since this import looked it up
                    raise rules.SlotNotFound(slot_id, to_book=True)
                check(
                    user,
                    dose,
                    slot,
                    vaccines[slot_id],
                    mine or NO_DOSES,
                    today=today,
                    remaining=remaining[slot_id],
                    born=None if born is None else days.get(born) or self._day_of(born),
                    guarded=guardian is not None,
                    windows=open_windows,
                    groups=groups.get(user, NO_GROUPS),
                    at=now,
                )
            except (Refused, NotFound) as refusal:
                refused.append((index, refusal))
                continue
            remaining[slot_id] -= 1
            if dry_run:
                taken[slot_id] = taken.get(slot_id, 0) + 1
            code = slot_id * 16 + dose
            dose_held = booked.get(code)
            if dose_held is None:
                dose_held = booked[code] = HeldDose(None, dose, RESERVED, slot.date, slot.vaccine)
            if mine is None:
                held[user] = {dose: dose_held}
            else:
                mine[dose] = dose_held
            where[(user, dose)] = slot_id
            bookings.append((slot_id, user, dose))
            if guardian is not None:
                guarded.add(user)
            unregistered = unregistered or not known
        self.summary.booked += len(bookings)
        if dry_run:
            self._remember(bookings, taken)
        if bookings and not dry_run:
            announce = self._announce if guarded else self._announce_unguarded
            book_many(conn, bookings, now, announce, register=unregistered, guarded=list(guarded))
        return self._refusals(conn, low, high, refused) if refused else []

    def _series(self, key: tuple[str, int, int]) -> VaccineRecord:
        """A slot's vaccine as the series rules read it (`key`: name, doses, days between doses)."""
        entry = self._series_of[key] = VaccineRecord(key[0], (), key[1], key[2])
        return entry

    def _day_of(self, value: dt.date | str) -> dt.date:
        if len(self._days) >= DAYS_KEPT:
            self._days.clear()
        day = self._days[value] = _day(value)
        return day

    @functools.cached_property
    def _chunk(self) -> Select:
        """The staged rows :low..:high, each joined to its slot by the slot's key (the store's unique
        index) and to the slot's catalog entry: one statement a chunk, no list of keys sent."""
        st = self.staging.table.c
        joined = self.staging.table.outerjoin(
            slot_table, and_(s.date == st.date, s.hospital_key == st.hospital_key, s.vaccine_key == st.vaccine_key)
        ).outerjoin(vaccine_table, v.name_key == s.vaccine_key)
        joined = joined.outerjoin(person_table, person_table.c.id == st.user_id)  # for the guardian rule
        return (
            select(st.line, st.user_id, st.number, *SLOT_COLUMNS, *PERSON_COLUMNS)
            .select_from(joined)
            .where(st.n.between(bindparam("low"), bindparam("high")))
            .order_by(st.n)
        )

    def _refusals(self, conn: Connection, low: int, high: int, refused: list) -> list[RowError]:
        """The refused rows as the report and --rejects show them, with their text read again."""
        st = self.staging.table.c
        text = bulk.fetch(
            conn,
            select(st.line, st.user_id, st.date, st.hospital, st.vaccine, st.number, st.cells)
            .where(st.n.between(bindparam("low"), bindparam("high")))
            .order_by(st.n),
            {"low": low, "high": high},
        )
        errors = []
        for index, refusal in refused:
            line, user, day, hospital, vaccine, dose, cells = text[index]
            if refusal is None:
                refusal = rules.NoSlotNamed(_day(day), hospital, vaccine)
            blamed = _blamed(refusal, user, day, vaccine, dose)
            errors.append(RowError.refused(line, refusal, split_cells(cells), **blamed))
        return errors

    def _groups(self, conn: Connection, low: int, high: int) -> dict[str, frozenset[str]]:
        st = self.staging.table.c
        return eligibility.groups_of_people(conn, select(st.user_id).where(st.n.between(low, high)))

    def _held_doses(self, conn: Connection, low: int, high: int) -> tuple[dict, dict]:
        """Each person's held doses by number, and the slot of each (person, dose)."""
        st = self.staging.table.c
        people = select(st.user_id).where(st.n.between(low, high))
        held: dict[str, dict[int, HeldDose]] = {}
        where: dict[tuple[str, int], int] = {}
        for row in conn.execute(series.HELD_DOSES.where(r.user_id.in_(people))):
            held.setdefault(row.user_id, {})[row.dose] = series.held_dose(row)
            where[(row.user_id, row.dose)] = row.slot_id
        return held, where

    @staticmethod
    def _read_slots(conn: Connection, slot_ids: list, *, lock: bool) -> tuple[dict, dict]:
        """The chunk's slots (locked on PostgreSQL), and each one's vaccine as `reserve` reads it."""
        slots: dict[int, SlotRecord] = {}
        vaccines: dict[int, VaccineRecord] = {}
        for batch in parameter_batches(list({slot_id for slot_id in slot_ids if slot_id is not None})):
            lookup = series.SLOTS_AND_VACCINES.where(s.id.in_(batch))
            if lock:
                locks.share_vaccines_of_slots(conn, batch)
                lookup = lookup.with_for_update(of=slot_table)
            for row in conn.execute(lookup):
                slots[row.id], vaccines[row.id] = series.slot_and_vaccine_of(row)
        return slots, vaccines

    def _recall(self, users: list[str], held: dict, where: dict) -> None:
        """Dry run: add what earlier chunks would have booked for these people."""
        would_hold = self._would_hold
        for user in users:
            codes = would_hold.get(user)
            if codes is None:
                continue
            for code in codes if isinstance(codes, tuple) else (codes,):
                dose_held = self._booked[code]
                held.setdefault(user, {})[dose_held.dose] = dose_held
                where[(user, dose_held.dose)] = code >> 4

    def _remember(self, bookings: list[tuple[int, str, int]], taken: dict[int, int]) -> None:
        """Dry run: keep this chunk's would-be bookings for the chunks after it."""
        would_hold = self._would_hold
        for slot_id, user, dose in bookings:
            code = slot_id * 16 + dose
            codes = would_hold.get(user)
            if codes is None:
                would_hold[user] = code
            else:
                would_hold[user] = (*codes, code) if isinstance(codes, tuple) else (codes, code)
        for slot_id, count in taken.items():
            self._would_take[slot_id] = self._would_take.get(slot_id, 0) + count


def _day(value: dt.date | str) -> dt.date:
    """A date as the driver returned it (SQLite: ISO text)."""
    return value if isinstance(value, dt.date) else dt.date.fromisoformat(value)


def _blamed(refusal: VaxresError, user: str, day: dt.date | str, vaccine: str, dose: int) -> dict:
    """The cell a refusal is about, for the report and --rejects (docs/import.md)."""
    if isinstance(refusal, (rules.AlreadyReserved, guardians.GuardianRequired, *eligibility.ELIGIBILITY_REFUSALS)):
        return {"column": "user", "value": user}
    if isinstance(refusal, (rules.DoseOrder, rules.SeriesComplete)):
        return {"column": "dose", "value": str(dose)}
    if isinstance(refusal, rules.DoseInterval):
        return {"column": "date", "value": str(day)}
    if isinstance(refusal, rules.VaccineMismatch):
        return {"column": "vaccine", "value": vaccine}
    return {}
