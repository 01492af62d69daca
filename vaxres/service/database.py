"""Operator tasks on the store itself: where it is, its schema revision, upgrading it."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from vaxres.store import open_store


@dataclass(frozen=True)
class SchemaReport:
    store: str
    current: str | None
    head: str

    @property
    def up_to_date(self) -> bool:
        return self.current == self.head

    def as_json(self) -> dict:
        return {"store": self.store, "current": self.current, "head": self.head, "up_to_date": self.up_to_date}


@dataclass(frozen=True)
class UpgradeReport:
    store: str
    before: str | None
    after: str
    backup: Path | None

    def as_json(self) -> dict:
        return {
            "store": self.store,
            "from": self.before,
            "to": self.after,
            "backup": None if self.backup is None else str(self.backup),
        }


def current_revision(target: str | None) -> SchemaReport:
    store = open_store(target, create=False, migrate=False)
    state = store.schema_state()
    return SchemaReport(store.display, state.current, state.head)


def upgrade(target: str | None) -> UpgradeReport:
    from vaxres import migrate

    store = open_store(target, migrate=False)
    before, after, backup = migrate.upgrade(store)
    return UpgradeReport(store.display, before, after, backup)


@dataclass(frozen=True)
class CopyReport:
    source: str
    target: str
    counts: dict[str, int]

    def as_json(self) -> dict:
        return {"source": self.source, "target": self.target, "copied": self.counts, "verified": True}


def copy(source: str | None, target: str) -> CopyReport:
    """Copy every row into an empty, migrated store, in one transaction on the target, then
    verify the counts and the capacity invariant there before committing."""
    from sqlalchemy import func, insert, select, text

    from vaxres.errors import InvalidInput, StoreNotEmpty, VaxresError
    from vaxres.models import outbox_table, reservation_table, slot_table, target_table
    from vaxres.read import holds_data
    from vaxres.settings import resolve_target

    if resolve_target(source) == resolve_target(target):
        raise InvalidInput("the target is the store in use; name another store to copy into")
    origin = open_store(source, create=False)
    destination = open_store(target)
    if holds_data(destination):
        raise StoreNotEmpty(
            f"{destination.display} already holds data; `db copy` only fills an empty store "
            f"(name a new file, or an empty database after `vaxres --db URL db upgrade`)"
        )
    tables = (slot_table, reservation_table, outbox_table, target_table)
    counts: dict[str, int] = {}
    with origin.read() as reader, destination.write() as writer:
        for table in tables:
            key = list(table.primary_key.columns)[0]
            copied = 0
            result = reader.execution_options(yield_per=5000).execute(select(table).order_by(key))
            for rows in result.partitions():
                writer.execute(insert(table), [dict(row._mapping) for row in rows])
                copied += len(rows)
            counts[table.name] = copied
        if destination.engine.dialect.name == "postgresql":
            for table in (slot_table, reservation_table, outbox_table):
                writer.execute(
                    text(
                        f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), "
                        f"COALESCE((SELECT MAX(id) FROM {table.name}), 1), "
                        f"(SELECT MAX(id) FROM {table.name}) IS NOT NULL)"
                    )
                )
        for table in tables:
            found = writer.execute(select(func.count()).select_from(table)).scalar_one()
            if found != counts[table.name]:
                raise VaxresError(f"copy check failed: {table.name} has {found} rows, expected {counts[table.name]}")
        broken = writer.execute(
            text(
                "SELECT COUNT(*) FROM slot s WHERE s.capacity != s.remaining + "
                "(SELECT COUNT(*) FROM reservation r WHERE r.slot_id = s.id AND r.status = 'reserved')"
            )
        ).scalar_one()
        if broken:
            raise VaxresError(f"copy check failed: {broken} slots break capacity = remaining + reserved")
    return CopyReport(origin.display, destination.display, counts)
