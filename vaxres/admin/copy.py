"""Moving a store: `vaxres db copy` fills an empty store (SQLite to PostgreSQL, or back)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import bindparam, delete, func, insert, select, text, update

from vaxres.db import counters
from vaxres.db.access import idempotency_table, token_table
from vaxres.db.citizen import code_table, session_table
from vaxres.db.store import Store
from vaxres.db.tables import (
    ReservationStatus,
    alias_table,
    hospital_table,
    outbox_table,
    person_group_table,
    person_table,
    reminder_table,
    reservation_table,
    setting_table,
    slot_table,
    target_table,
    vaccine_table,
    waitlist_table,
    window_table,
)
from vaxres.errors import InvalidInput, StoreNotEmpty, VaxresError

TABLES = (
    setting_table,
    vaccine_table,
    alias_table,
    slot_table,
    hospital_table,
    person_table,
    person_group_table,
    window_table,
    reservation_table,
    reminder_table,
    waitlist_table,
    outbox_table,
    target_table,
    token_table,
    idempotency_table,
    code_table,
    session_table,
)
NUMBERED = (
    vaccine_table,
    slot_table,
    reservation_table,
    reminder_table,
    waitlist_table,
    outbox_table,
    window_table,
    code_table,
)  # PostgreSQL sequences


@dataclass(frozen=True)
class CopyReport:
    source: str
    target: str
    counts: dict[str, int]

    def as_json(self) -> dict:
        return {"source": self.source, "target": self.target, "copied": self.counts, "verified": True}


def copy(origin: Store, destination: Store) -> CopyReport:
    """Copy every row into an empty, migrated store, in one transaction on the target, then
    verify the counts and the capacity invariant there before committing."""
    if origin.url.render_as_string(hide_password=False) == destination.url.render_as_string(hide_password=False):
        raise InvalidInput("the target is the store in use; name another store to copy into")
    if destination.holds_data():
        raise StoreNotEmpty(
            f"{destination.display} already holds data; a copy only fills an empty store", details={"copy": True}
        )
    counts: dict[str, int] = {}
    with origin.read() as reader, destination.write() as writer:
        # A new store starts with the default catalog and this machine's settings (time zone,
        # language); the copy brings the origin's instead.
        writer.execute(delete(alias_table))
        writer.execute(delete(vaccine_table))
        writer.execute(delete(setting_table))
        for table in TABLES:
            key = list(table.primary_key.columns)[0]
            copied = 0
            result = reader.execution_options(yield_per=5000).execute(select(table).order_by(key))
            guardians = []  # a guardian may come after the person: their links go in once all are in
            for rows in result.partitions():
                values = [dict(row._mapping) for row in rows]
                if table is person_table:
                    guardians += [
                        {"b_id": v["id"], "b_guardian": v.pop("guardian_id")} for v in values if v["guardian_id"]
                    ]
                    for v in values:
                        v.pop("guardian_id", None)
                writer.execute(insert(table), values)
                copied += len(rows)
            if guardians:
                person = person_table.c
                link = (
                    update(person_table)
                    .where(person.id == bindparam("b_id"))
                    .values(guardian_id=bindparam("b_guardian"))
                )
                writer.execute(link, guardians)
            counts[table.name] = copied
        for table in NUMBERED:
            counters.continue_numbering(writer, table, counters.highest_number(reader, table))
        for table in TABLES:
            found = writer.execute(select(func.count()).select_from(table)).scalar_one()
            if found != counts[table.name]:
                raise VaxresError(f"copy check failed: {table.name} has {found} rows, expected {counts[table.name]}")
        broken = writer.execute(
            text(
                "SELECT COUNT(*) FROM slot s WHERE s.capacity != s.remaining + "
                "(SELECT COUNT(*) FROM reservation r WHERE r.slot_id = s.id AND r.status IN :taking)"
            ).bindparams(bindparam("taking", expanding=True)),
            {"taking": list(ReservationStatus.TAKES_A_DOSE)},
        ).scalar_one()
        if broken:
            raise VaxresError(f"copy check failed: {broken} slots break capacity = remaining + doses taken")
    return CopyReport(origin.display, destination.display, counts)
