"""The vaccine catalog: which vaccines a slot may name (by name or alias), and each one's series."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy import Connection, distinct, func, insert, select, update

from vaxres import validate
from vaxres.booking import catalog_rules, codes, locks, names
from vaxres.booking.model import VaccineRecord
from vaxres.db.store import Store
from vaxres.db.tables import (
    ReservationStatus,
    alias_table,
    reservation_table,
    slot_table,
    utcnow,
    vaccine_table,
)
from vaxres.errors import InvalidInput
from vaxres.outbox import events

vaccine = vaccine_table.c
alias = alias_table.c
reservation = reservation_table.c
slot = slot_table.c
MAX_INTERVAL_DAYS = 3650


def key_of(name: str) -> str:
    """The form vaccine names and aliases are compared in (input is NFC-normalised first)."""
    return validate.name_key(name)


class Catalog:
    """Every vaccine, found by the key of its name or of any alias."""

    def __init__(self, vaccines: Iterable[VaccineRecord]):
        self.vaccines = sorted(vaccines, key=lambda v: key_of(v.name))
        self._by_key = {}
        for record in self.vaccines:
            for spelling in (record.name, *record.aliases):
                self._by_key[key_of(spelling)] = record
        self.look_alikes = names.LookAlikes(self.vaccines)

    def find(self, name: str) -> VaccineRecord | None:
        return self._by_key.get(key_of(name))

    def resolve(self, name: str) -> VaccineRecord:
        """The vaccine a user's text names, or UnknownVaccine (exit 2) naming the known ones."""
        found = self.find(name)
        if found is None:
            raise self.look_alikes.unknown(name, self.names())
        return found

    def names(self) -> list[str]:
        return [v.name for v in self.vaccines]


def load_catalog(conn: Connection) -> Catalog:
    aliases: dict[int, list[str]] = {}
    for vaccine_id, spelling in conn.execute(select(alias.vaccine_id, alias.alias).order_by(alias.alias)):
        aliases.setdefault(vaccine_id, []).append(spelling)
    code_columns = [vaccine[field] for field in codes.FIELDS]
    rows = conn.execute(select(vaccine.id, vaccine.name, vaccine.doses, vaccine.min_interval_days, *code_columns))
    return Catalog(
        VaccineRecord(
            row.name,
            tuple(aliases.get(row.id, ())),
            row.doses,
            row.min_interval_days,
            _codes_of(row._mapping),
        )
        for row in rows
    )


def _codes_of(values: Mapping[Any, Any]) -> tuple[tuple[str, str], ...]:
    return tuple((field, values[field]) for field in codes.FIELDS if values.get(field) is not None)


def show_vaccine(store: Store, name: str) -> VaccineRecord:
    """One vaccine by name or alias, with its codes; VaccineNotFound (exit 3) naming the near ones."""
    name = validate.normalize_name(name, field="vaccine")
    with store.read() as conn:
        catalog = load_catalog(conn)
    found = catalog.find(name)
    if found is None:
        raise catalog.look_alikes.not_found(name)
    return found


def list_vaccines(store: Store) -> list[VaccineRecord]:
    with store.read() as conn:
        return load_catalog(conn).vaccines


def _series(doses, min_interval, *, current: VaccineRecord | None = None) -> tuple[int, int]:
    """A new vaccine always gives --doses; an update without it keeps the vaccine's."""
    if doses is None:
        assert current is not None
        count = current.doses
    else:
        count = validate.parse_dose(doses, field="doses")
    if min_interval is not None:
        interval = validate.parse_whole_number(min_interval, field="min interval", low=0, high=MAX_INTERVAL_DAYS)
    else:
        interval = current.min_interval_days if current is not None else 0
    if count > 1 and interval < 1:
        raise InvalidInput(
            f"a series of {count} doses needs --min-interval DAYS (1 to {MAX_INTERVAL_DAYS:,}): "
            f"the least number of days between two doses"
        )
    return count, interval


def _new_aliases(catalog: Catalog, owner: str, aliases: Iterable[str]) -> list[str]:
    """The aliases to add to `owner`: normalised, not its name or already its own, not another
    vaccine's, nor reading as another vaccine's name or alias, each word in one script."""
    added: dict[str, str] = {}
    for text in aliases:
        spelling = validate.normalize_name(text, field="alias")
        found = catalog.find(spelling)
        if found is not None and found.name != owner:
            raise catalog_rules.AliasTaken(spelling, found.name)
        if found is None and key_of(spelling) != key_of(owner):
            catalog.look_alikes.check_new(spelling, field="alias", owner=owner)
            added.setdefault(key_of(spelling), spelling)
    return list(added.values())


def add_vaccine(
    store: Store,
    name: str,
    *,
    doses: str | int,
    min_interval: str | int | None = None,
    aliases: Iterable[str] = (),
    code_values: Mapping[str, str | None] | None = None,
) -> VaccineRecord:
    """`code_values`: codes.FIELDS names to codes (None: not given)."""
    name = validate.normalize_name(name, field="vaccine")
    count, interval = _series(doses, min_interval)
    given = {field: code for field, code in codes.parse_codes(code_values or {}).items() if code is not None}
    now = utcnow()
    with store.write() as conn:
        locks.lock_catalog(conn)  # PostgreSQL: two look-alikes added at once are compared in turn
        catalog = load_catalog(conn)
        existing = catalog.find(name)
        if existing is not None:
            raise catalog_rules.DuplicateVaccine(name, existing.name)
        catalog.look_alikes.check_new(name, field="vaccine")
        new_aliases = _new_aliases(catalog, name, aliases)
        vaccine_id = conn.execute(
            insert(vaccine_table)
            .values(
                name=name,
                name_key=key_of(name),
                doses=count,
                min_interval_days=interval,
                created_at=now,
                updated_at=now,
                **given,
            )
            .returning(vaccine.id)
        ).scalar_one()
        if new_aliases:
            conn.execute(
                insert(alias_table), [{"key": key_of(a), "alias": a, "vaccine_id": vaccine_id} for a in new_aliases]
            )
        added = VaccineRecord(name, tuple(sorted(new_aliases)), count, interval, _codes_of(given))
        events.write(conn, [events.vaccine_added(vaccine_id, added)], now)
    return added


def update_vaccine(
    store: Store,
    name: str,
    *,
    doses: str | int | None = None,
    min_interval: str | int | None = None,
    aliases: Iterable[str] = (),
    code_values: Mapping[str, str | None] | None = None,
) -> VaccineRecord:
    """Change a vaccine's series or codes (an empty code clears it); --alias adds aliases (the
    ones it has stay)."""
    name = validate.normalize_name(name, field="vaccine")
    aliases = list(aliases)
    changed_codes = codes.parse_codes(code_values or {})
    if doses is None and min_interval is None and not aliases and not changed_codes:
        raise InvalidInput(
            "give what changes: --doses N, --min-interval DAYS, --alias NAME or a code such as --cvx 208"
        )
    now = utcnow()
    with store.write() as conn:
        locks.lock_catalog(conn)
        catalog = load_catalog(conn)
        current = catalog.find(name)
        if current is None:
            raise catalog.look_alikes.not_found(name)
        count, interval = _series(doses, min_interval, current=current)
        if count < current.doses:
            people = conn.execute(
                select(func.count(distinct(reservation.user_id)))
                .select_from(reservation_table.join(slot_table, slot.id == reservation.slot_id))
                .where(
                    slot.vaccine_key == key_of(current.name),
                    reservation.dose > count,
                    reservation.status.in_(ReservationStatus.HELD),
                )
            ).scalar_one()
            if people:
                raise catalog_rules.DosesInUse(current.name, count, people)
        new_aliases = _new_aliases(catalog, current.name, aliases)
        vaccine_id = conn.execute(select(vaccine.id).where(vaccine.name_key == key_of(current.name))).scalar_one()
        conn.execute(
            update(vaccine_table)
            .where(vaccine.id == vaccine_id)
            .values(doses=count, min_interval_days=interval, updated_at=now, **changed_codes)
        )
        if new_aliases:
            conn.execute(
                insert(alias_table), [{"key": key_of(a), "alias": a, "vaccine_id": vaccine_id} for a in new_aliases]
            )
        updated = VaccineRecord(
            current.name,
            tuple(sorted([*current.aliases, *new_aliases])),
            count,
            interval,
            _codes_of({**dict(current.codes), **changed_codes}),
        )
        events.write(conn, [events.vaccine_updated(vaccine_id, updated, current)], now)
    return updated


def resolve_name(conn: Connection, name: str) -> VaccineRecord:
    """The catalog vaccine a name or alias names, in one query; UnknownVaccine (exit 2) when none."""
    normalized = validate.normalize_name(name, field="vaccine")
    key = key_of(normalized)
    columns = (vaccine.name, vaccine.doses, vaccine.min_interval_days)
    by_alias = select(*columns).select_from(alias_table.join(vaccine_table, vaccine.id == alias.vaccine_id))
    row = conn.execute(
        select(*columns).where(vaccine.name_key == key).union_all(by_alias.where(alias.key == key))
    ).first()
    if row is None:
        catalog = load_catalog(conn)
        raise catalog.look_alikes.unknown(name, catalog.names(), normalized)
    return VaccineRecord(row.name, (), row.doses, row.min_interval_days)
