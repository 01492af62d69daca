"""Loading a chunk of staged slot rows: new slots in one INSERT ... SELECT with their
SlotRegistered messages built in SQL; the other rows (existing slots, a slot twice in the file)
classified in file order as unchanged, updated or refused by the rules of `slot update`."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import Connection, Row, and_, bindparam, func, select, update
from sqlalchemy.exc import IntegrityError

from vaxres.booking import offering, rules, slots
from vaxres.db.store import Store, conflicts_draw_ids, insert_on_conflict, parameter_batches
from vaxres.db.tables import slot_table, utcnow
from vaxres.errors import Refused
from vaxres.imports.report import ImportSummary
from vaxres.imports.rows import RowError, split_cells
from vaxres.imports.staging import Staging
from vaxres.outbox import events, selected

s = slot_table.c


@dataclass(slots=True)
class _Slot:
    """A slot as the chunk leaves it (the events read its facts as SlotRecord's)."""

    id: int | None  # None: created by an earlier row of a dry run
    date: dt.date
    hospital: str
    vaccine: str
    capacity: int
    remaining: int


class SlotLoader:
    def __init__(self, store: Store, summary: ImportSummary, staging: Staging, hospital_names: dict[str, str] | None):
        self.summary = summary
        self.staging = staging
        self._hospital_names = hospital_names  # None: too many to keep, read from each chunk's rows
        self._today = store.today()
        self._raised: list[int] = []  # slots of the chunk whose capacity went up
        st = staging.table.c
        self._created_at = bindparam("now", type_=s.created_at.type)
        new_slots = (
            select(
                st.date,
                st.hospital,
                st.vaccine,
                st.hospital_key,
                st.vaccine_key,
                st.number,
                st.number,
                self._created_at,
                self._created_at,
            )
            .where(st.n.between(bindparam("low"), bindparam("high")))
            .order_by(st.n)
        )
        columns = [
            "date",
            "hospital",
            "vaccine",
            "hospital_key",
            "vaccine_key",
            "capacity",
            "remaining",
            "created_at",
            "updated_at",
        ]
        # SQLAlchemy keeps an INSERT's row count only when asked.
        self._insert_plain = (
            insert_on_conflict(store.engine, slot_table)
            .from_select(columns, new_slots)
            .execution_options(preserve_rowcount=True)
        )
        if conflicts_draw_ids(store.engine):
            # PostgreSQL draws an id from the sequence for every row offered to ON CONFLICT, kept
            # or not: without this filter each re-import of a plan would use up as many ids as
            # it has rows. ON CONFLICT still catches a slot another writer adds meanwhile.
            known = select(s.id).where(
                s.date == st.date, s.hospital_key == st.hospital_key, s.vaccine_key == st.vaccine_key
            )
            new_slots = new_slots.where(~known.exists())
        self._insert_new = (
            insert_on_conflict(store.engine, slot_table)
            .from_select(columns, new_slots)
            .on_conflict_do_nothing(index_elements=["date", "hospital_key", "vaccine_key"])
            .execution_options(preserve_rowcount=True)
        )
        # PostgreSQL's ON CONFLICT costs about 60% more per row than a plain INSERT (a speculative
        # insertion each); SQLite's costs nothing extra.
        self._try_plain = conflicts_draw_ids(store.engine)
        self._announce_new = selected.write_selected(
            selected.slot_registered_rows().where(
                s.id > bindparam("after"), s.created_at == bindparam("now", type_=s.created_at.type)
            )
        )
        self._join = staging.table.outerjoin(
            slot_table, and_(s.date == st.date, s.hospital_key == st.hospital_key, s.vaccine_key == st.vaccine_key)
        )

    def load(self, conn: Connection, low: int, high: int, *, dry_run: bool) -> list[RowError]:
        now = utcnow()
        after = 0
        self._raised = []
        if not dry_run:
            after = conn.execute(select(func.coalesce(func.max(s.id), 0))).scalar_one()
            created = self._create(conn, {"low": low, "high": high, "now": now})
            self._remember_hospitals(conn, low, high)
            if created:
                selected.execute_selected(conn, self._announce_new, {"after": after, "now": now})
            self.summary.created += created
            if created == high - low + 1:
                self._offer(conn, after, now)
                return []
        lookup = self.staging.rows(
            low,
            high,
            s.id.label("slot_id"),
            s.capacity,
            s.remaining,
            s.created_at.label("slot_created_at"),
            join=self._join,
        )
        rows = conn.execute(lookup).all()
        # The slots this chunk's INSERT made: numbered after `after` and stamped `now`. (On
        # PostgreSQL another writer may commit a slot numbered after `after` meanwhile; it
        # exists for this import like any other.)
        new = (
            set()
            if dry_run
            else {
                row.slot_id
                for row in rows
                if row.slot_id is not None and row.slot_id > after and row.slot_created_at == now
            }
        )
        current: dict[int, _Slot] = {}
        if not dry_run:
            # Lock the existing slots and read them afresh (PostgreSQL cannot lock the nullable
            # side of the outer join above; on SQLite BEGIN IMMEDIATE already holds the store),
            # with the names as stored, which their SlotUpdated messages carry.
            ids = list({row.slot_id for row in rows if row.slot_id is not None and row.slot_id not in new})
            for batch in parameter_batches(ids):
                locked = select(s.id, s.date, s.hospital, s.vaccine, s.capacity, s.remaining).where(s.id.in_(batch))
                current.update({found.id: _Slot(*found) for found in conn.execute(locked.with_for_update())})
        errors = self._classify(conn, rows, current, new, now=now, write=not dry_run)
        if not dry_run:
            self._offer(conn, after, now)
        return errors

    def _remember_hospitals(self, conn: Connection, low: int, high: int) -> None:
        """The file's hospitals, all with the first chunk when the first pass could keep them."""
        if self._hospital_names is None:
            st = self.staging.table.c
            chunk = (
                select(st.hospital_key, func.min(st.hospital)).where(st.n.between(low, high)).group_by(st.hospital_key)
            )
            slots.remember_hospitals(conn, chunk)
        elif self._hospital_names:
            slots.remember_hospitals(conn, self._hospital_names)
            self._hospital_names = {}

    def _offer(self, conn: Connection, after: int, now: dt.datetime) -> None:
        """The doses this chunk added (new slots, raised capacities) go to people waiting, in its
        transaction: booking/offering.py."""
        raised, self._raised = self._raised, []
        added = [and_(s.id > after, s.created_at == now)]
        if raised:
            # Written into the statement (integers only): a chunk may raise more slots than
            # SQLite takes parameters.
            added.append(s.id.in_(bindparam("raised", raised, expanding=True, literal_execute=True)))
        self.summary.from_waitlist += offering.offer_added(conn, added, today=self._today, now=now)

    def _create(self, conn: Connection, params: dict) -> int:
        """Insert the chunk's new slots; return how many. Where a plain INSERT is cheaper, it is
        tried first in a savepoint: a file of new slots, the usual case, has no conflict. When
        one turns up (an existing slot, a key twice in the chunk), the savepoint is rolled back
        and this chunk and the rest of the file go in with ON CONFLICT DO NOTHING. The failed
        attempt used up sequence numbers for the rows it got through, so it is made once per
        import at most."""
        if self._try_plain:
            try:
                with conn.begin_nested():
                    return conn.execute(self._insert_plain, params).rowcount
            except IntegrityError:
                self._try_plain = False
        return conn.execute(self._insert_new, params).rowcount

    def _classify(self, conn, rows: Sequence[Row], current, new, *, now, write) -> list[RowError]:
        """Rows the insert did not create a slot for: unchanged, updated or refused, in file order."""
        state: dict[object, _Slot] = {}
        errors: list[RowError] = []
        changed: dict[int, _Slot] = {}
        announced: list[events.Event] = []
        for row in rows:
            slot_key = row.slot_id if row.slot_id is not None else (row.date, row.hospital_key, row.vaccine_key)
            slot = state.get(slot_key)
            if slot is None:
                if row.slot_id is None or row.slot_id in new:
                    # A slot this row creates (in a dry run: would create), with this first row's
                    # names and quantity, as the INSERT stored them; later rows update it.
                    state[slot_key] = _Slot(row.slot_id, row.date, row.hospital, row.vaccine, row.number, row.number)
                    if row.slot_id is None:
                        self.summary.created += 1
                    continue
                slot = current.get(row.slot_id)  # a dry run reads no names: it writes no messages
                if slot is None:
                    slot = _Slot(row.slot_id, row.date, row.hospital, row.vaccine, row.capacity, row.remaining)
                state[slot_key] = slot
            if row.number == slot.capacity:
                self.summary.unchanged += 1
                continue
            try:
                rules.check_capacity(slot.id, slot.capacity - slot.remaining, row.number)
            except Refused as refusal:
                errors.append(
                    RowError.refused(
                        row.line, refusal, split_cells(row.cells), column="quantity", value=str(row.number)
                    )
                )
                continue
            previous = slot.capacity
            slot.remaining += row.number - previous
            slot.capacity = row.number
            self.summary.updated += 1
            if slot.id is not None:
                changed[slot.id] = slot
                announced.append(events.slot_updated(slot, previous))
                if row.number > previous:
                    self._raised.append(slot.id)
        if write and changed:
            conn.execute(
                update(slot_table)
                .where(s.id == bindparam("b_id"))
                .values(capacity=bindparam("b_capacity"), remaining=bindparam("b_remaining"), updated_at=now),
                [{"b_id": i, "b_capacity": v.capacity, "b_remaining": v.remaining} for i, v in changed.items()],
            )
            events.write(conn, announced, now)
        return errors
