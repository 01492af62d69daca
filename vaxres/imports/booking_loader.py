"""Loading a chunk of staged booking rows exactly as `vaxres reserve` would book them, with
set-based statements: a few IN look-ups, each row decided in file order by the booking rules,
then one UPDATE of the slots, one INSERT of the reservations and one INSERT ... SELECT of their
ReservationConfirmed messages."""

from __future__ import annotations

from sqlalchemy import Connection, bindparam, func, insert, select, tuple_, update

from vaxres import validate
from vaxres.booking import rules
from vaxres.booking.model import SLOT_FIELDS, SlotRecord
from vaxres.db.store import Store, parameter_batches
from vaxres.db.tables import ReservationStatus, reservation_table, slot_table, utcnow
from vaxres.errors import NotFound, Refused, VaxresError
from vaxres.imports.report import ImportSummary
from vaxres.imports.rows import RowError, split_cells
from vaxres.imports.staging import Staging
from vaxres.outbox import events

s = slot_table.c
r = reservation_table.c
RESERVED = ReservationStatus.RESERVED


class BookingLoader:
    SLOT_MEMO_LIMIT = 500_000

    def __init__(self, store: Store, summary: ImportSummary, staging: Staging):
        self.summary = summary
        self.staging = staging
        self._slots: dict[tuple, int] = {}
        self._announce = events.write_selected(
            events.reservation_confirmed_rows(store.engine.dialect.name)
            .where(r.id > bindparam("after"), r.reserved_at == bindparam("now", type_=r.reserved_at.type))
            .order_by(r.id)
        )

    def load(self, conn: Connection, low: int, high: int, *, dry_run: bool) -> list[RowError]:
        now = utcnow()
        today = validate.today()
        rows = conn.execute(self.staging.rows(low, high)).all()
        slot_ids = self._resolve_slots(conn, rows)
        users = list({row.user_id for row in rows})
        held = {}
        for batch in parameter_batches(users):
            query = select(r.id, r.user_id, r.dose, r.slot_id).where(r.status == RESERVED, r.user_id.in_(batch))
            held.update({(h.user_id, h.dose): (h.id, h.slot_id) for h in conn.execute(query)})
        wanted = list({slot_id for slot_id in slot_ids if slot_id is not None})
        slots: dict[int, SlotRecord] = {}
        for batch in parameter_batches(wanted):
            lookup = select(*SLOT_FIELDS).where(s.id.in_(batch))
            if not dry_run:
                lookup = lookup.with_for_update()
            slots.update({row.id: SlotRecord.from_row(row) for row in conn.execute(lookup)})
        remaining = {slot_id: slot.remaining for slot_id, slot in slots.items()}
        errors: list[RowError] = []
        taken: dict[int, int] = {}
        bookings = []
        for row, slot_id in zip(rows, slot_ids):
            try:
                if slot_id is None:
                    raise rules.NoSlotNamed(row.date, row.hospital, row.vaccine)
                holding = held.get((row.user_id, row.number))
                if holding is not None:
                    if holding[1] == slot_id:
                        self.summary.already += 1
                        continue
                    raise _held(row, holding[0])
                if slot_id not in slots:  # the slot went away since this import looked it up
                    raise rules.SlotNotFound(slot_id, to_book=True)
                rules.check_bookable(slots[slot_id], remaining[slot_id], today)
            except (Refused, NotFound) as refusal:
                errors.append(RowError.refused(row.line, refusal, split_cells(row.cells), **_blamed(refusal, row)))
                continue
            remaining[slot_id] -= 1
            taken[slot_id] = taken.get(slot_id, 0) + 1
            held[(row.user_id, row.number)] = (None, slot_id)
            bookings.append(
                {"slot_id": slot_id, "user_id": row.user_id, "dose": row.number, "status": RESERVED, "reserved_at": now}
            )
        self.summary.booked += len(bookings)
        if dry_run or not bookings:
            return errors
        after = conn.execute(select(func.coalesce(func.max(r.id), 0))).scalar_one()
        conn.execute(
            update(slot_table)
            .where(s.id == bindparam("b_id"), s.remaining >= bindparam("b_taken"))
            .values(remaining=s.remaining - bindparam("b_taken"), updated_at=now),
            [{"b_id": slot_id, "b_taken": count} for slot_id, count in taken.items()],
        )
        conn.execute(insert(reservation_table), bookings)
        conn.execute(self._announce, {"after": after, "now": now})
        return errors

    def _resolve_slots(self, conn: Connection, rows) -> list[int | None]:
        unknown = list({(row.date, row.hospital_key, row.vaccine_key) for row in rows} - self._slots.keys())
        for batch in parameter_batches(unknown):
            found = conn.execute(
                select(s.date, s.hospital_key, s.vaccine_key, s.id).where(
                    tuple_(s.date, s.hospital_key, s.vaccine_key).in_(batch)
                )
            )
            for day, hospital_key, vaccine_key, slot_id in found:
                self._slots[(day, hospital_key, vaccine_key)] = slot_id
            if len(self._slots) > self.SLOT_MEMO_LIMIT:
                self._slots.clear()
        return [self._slots.get((row.date, row.hospital_key, row.vaccine_key)) for row in rows]


def _held(row, reservation_id: int | None) -> rules.AlreadyReserved:
    """The person holds this dose in another slot (`reservation_id` None: booked earlier in this file)."""
    return rules.AlreadyReserved(row.user_id, row.number, reservation_id)


def _blamed(refusal: VaxresError, row) -> dict:
    """The cell a refusal is about, for the report and --rejects."""
    if isinstance(refusal, rules.AlreadyReserved):
        return {"column": "user", "value": row.user_id}
    return {}
