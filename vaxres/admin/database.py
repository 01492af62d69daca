"""The store's schema revision, and upgrading it: `vaxres db current` and `vaxres db upgrade`."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from vaxres.db.store import Store


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
    notes: list[str]

    def as_json(self) -> dict:
        return {
            "store": self.store,
            "from": self.before,
            "to": self.after,
            "backup": None if self.backup is None else str(self.backup),
            "notes": self.notes,
        }


def current_revision(store: Store) -> SchemaReport:
    state = store.schema_state()
    return SchemaReport(store.display, state.current, state.head)


def upgrade(store: Store) -> UpgradeReport:
    from vaxres.db import migrate

    before, after, backup, notes = migrate.upgrade(store)
    return UpgradeReport(store.display, before, after, backup, notes)
