"""The store's schema revision, and upgrading it: `vaxres db current` and `vaxres db upgrade`; its
settings (`db set-timezone`, `db set-language`) and `db info`."""

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


@dataclass(frozen=True)
class ZoneChange:
    store: str
    previous: str
    timezone: str
    today: str

    def as_json(self) -> dict:
        return {"store": self.store, "previous": self.previous, "timezone": self.timezone, "today": self.today}


def set_timezone(store: Store, name: str) -> ZoneChange:
    """The store's zone decides "today" for every machine that uses it."""
    from vaxres.db.clock import parse_zone, read_zone, today_in, write_zone

    zone = parse_zone(name)
    with store.write() as conn:
        previous = read_zone(conn)
        write_zone(conn, zone)
    return ZoneChange(store.display, previous.key, zone.key, today_in(zone).isoformat())


@dataclass(frozen=True)
class LanguageChange:
    store: str
    previous: str
    language: str

    def as_json(self) -> dict:
        return {"store": self.store, "previous": self.previous, "language": self.language}


def set_language(store: Store, language: str) -> LanguageChange:
    """The language messages are listed and delivered in when the reader names none."""
    from vaxres.db.language import read_language, write_language
    from vaxres.validate import parse_language

    language = parse_language(language, field="language")
    with store.write() as conn:
        previous = read_language(conn)
        write_language(conn, language)
    return LanguageChange(store.display, previous, language)


@dataclass(frozen=True)
class StoreInfo:
    store: str
    backend: str
    current: str | None
    head: str
    timezone: str | None
    today: str | None
    language: str | None
    counts: dict[str, int]
    reservations: dict[str, int]
    outbox: dict[str, int]

    def as_json(self) -> dict:
        return {
            "store": self.store,
            "backend": self.backend,
            "revision": self.current,
            "head": self.head,
            "up_to_date": self.current == self.head,
            "timezone": self.timezone,
            "today": self.today,
            "language": self.language,
            "counts": self.counts,
            "reservations": self.reservations,
            "outbox": self.outbox,
        }


def store_info(store: Store) -> StoreInfo:
    """What `vaxres db info` shows; a store behind the code is described as it is, not upgraded."""
    from sqlalchemy import func, select

    from vaxres.db.clock import read_zone, today_in
    from vaxres.db.language import read_language
    from vaxres.db.tables import (
        OutboxStatus,
        ReservationStatus,
        outbox_table,
        reservation_table,
        slot_table,
        vaccine_table,
    )

    state = store.schema_state()
    zone = language = None
    counts: dict[str, int] = {}
    reservations = dict.fromkeys(ReservationStatus.ALL, 0)
    outbox = dict.fromkeys(OutboxStatus.ALL, 0)
    if not state.behind:
        with store.read() as conn:
            zone = read_zone(conn)
            language = read_language(conn)
            for name, table in (("vaccines", vaccine_table), ("slots", slot_table)):
                counts[name] = conn.execute(select(func.count()).select_from(table)).scalar_one()
            for table, by_status in ((reservation_table, reservations), (outbox_table, outbox)):
                for status, count in conn.execute(select(table.c.status, func.count()).group_by(table.c.status)):
                    by_status[status] = count
        counts["reservations"] = sum(reservations.values())
        counts["outbox"] = sum(outbox.values())
    return StoreInfo(
        store=store.display,
        backend=store.url.get_backend_name(),
        current=state.current,
        head=state.head,
        timezone=None if zone is None else zone.key,
        today=None if zone is None else today_in(zone).isoformat(),
        language=language,
        counts=counts,
        reservations=reservations,
        outbox=outbox,
    )
