"""Loading a chunk of staged person rows, once imports/person_checks.py has marked the refused
ones: new people in one INSERT ... SELECT with their PersonRegistered messages built in SQL;
people the store has compared in Python and updated with the fields that changed (PersonUpdated,
as `person update`); guardians linked once both people are in the store: a new person's by the
INSERT itself when the guardian is there before them (a row after them would leave SQLite a
pending foreign key, and a scan of the people at every row after it), else once the guardian's
chunk is loaded."""

from __future__ import annotations

import datetime as dt
import functools

from sqlalchemy import Connection, and_, bindparam, case, delete, func, insert, literal, null, or_, select, update

from vaxres.db import bulk
from vaxres.db.store import Store, parameter_batches
from vaxres.db.tables import person_group_table, person_table, utcnow
from vaxres.imports import person_checks
from vaxres.imports.report import ImportSummary
from vaxres.imports.rows import RowError, split_cells
from vaxres.imports.staging import GroupSets, Staging
from vaxres.outbox import events, selected
from vaxres.people import identity

p = person_table.c
g = person_group_table.c
# What a row may change, staged column -> the person's column (rrn: the fingerprint and masked form).
COMPARED = (("name", "name"), ("birth_date", "birth_date"), ("sex", "sex"), ("phone", "phone"),
            ("email", "email"), ("lang", "lang"))  # fmt: skip
REGISTERED = ("id", "name", "birth_date", "sex", "phone", "email", "lang", "id_fingerprint", "id_masked")


class PersonLoader:
    def __init__(
        self,
        store: Store,
        summary: ImportSummary,
        staging: Staging,
        *,
        uses_key: bool,
        decided: person_checks.Decided,
        group_sets: GroupSets | None = None,
    ):
        self.summary = summary
        self._group_sets = group_sets  # the groups values split into rows (None: split here, in Python)
        self.staging = staging
        self._store = store
        self._uses_key = uses_key  # a number was read: the store learns the key's check value
        self._decided = decided
        self._known_rows = False  # the chunk has rows of people the store has

    def load(self, conn: Connection, low: int, high: int, *, dry_run: bool) -> list[RowError]:
        now = utcnow()
        window = {"low": low, "high": high}
        errors = self._refused(conn, window)
        if not dry_run and self._uses_key:
            identity.verified_key(conn, shared_store=not self._store.is_sqlite)
            self._uses_key = False
        self._update_known(conn, window, now, write=not dry_run)
        if dry_run:
            self.summary.registered += conn.execute(self._new_count, window).scalar_one()
            return errors
        params = {**window, "now": now}
        registered = conn.execute(self._register, params).rowcount
        self.summary.registered += registered
        if registered:
            self._groups_of_new(conn, params)
            selected.execute_selected(conn, self._announce, params)
        if self._known_rows:
            conn.execute(self._link_chunk, params)
        if self._decided.later_guardians:
            conn.execute(self._link_waiting, params)
        return errors

    def _refused(self, conn: Connection, window: dict) -> list[RowError]:
        errors: list[RowError] = []
        if not self._decided.refused:
            return errors
        for line, person, masked, guardian, code, detail, other_line, cells in bulk.fetch(conn, self._refusals, window):
            refusal, column, value = person_checks.refusal_of(code, person, masked, guardian, detail, other_line)
            errors.append(RowError.refused(line, refusal, split_cells(cells), column=column, value=value))
        return errors

    def _update_known(self, conn: Connection, window: dict, now: dt.datetime, *, write: bool) -> None:
        """The rows of people the store has: each given field that differs changes, as `person update`."""
        rows = bulk.fetch(conn, self._known, window) if self._decided.known else []
        self._known_rows = bool(rows)
        if not rows:
            return
        groups: dict[str, dict[str, str]] = {}
        for person, key, name in conn.execute(self._known_groups, window):
            groups.setdefault(person, {})[key] = name
        changes, announced, regrouped, emptied = [], [], [], []
        for row in rows:
            person, staged, stored = row[0], row[1:11], row[11:20]
            values, fields = {}, []
            for index, (field, column) in enumerate(COMPARED):
                given, had = staged[index], stored[index]
                values[column] = had if given is None else given
                if given is not None and given != had:
                    fields.append(field)
            fingerprint, masked, guardian, grouped = staged[6:]
            if fingerprint is None:
                values["id_fingerprint"], values["id_masked"] = stored[6], stored[7]
            else:
                values["id_fingerprint"], values["id_masked"] = fingerprint, masked
                if fingerprint != stored[6]:
                    fields.append("rrn")
            if guardian is not None and guardian != stored[8]:
                fields.append("guardian")  # linked by _link_chunk
            if grouped is not None:
                wanted = {name.casefold(): name for name in split_cells(grouped)}
                if wanted != groups.get(person, {}):
                    fields.append("groups")
                    emptied.append(person)
                    regrouped += [{"person_id": person, "group_key": key, "name": name} for key, name in wanted.items()]
            if not fields:
                self.summary.unchanged += 1
                continue
            self.summary.updated += 1
            values["birth_date"] = _day(values["birth_date"])
            changes.append({"b_id": person, "b_now": now, **{f"b_{column}": value for column, value in values.items()}})
            announced.append(events.person_changed(events.PERSON_UPDATED, person, sorted(fields)))
        if not write or not changes:
            return
        conn.execute(self._update, changes)
        for batch in parameter_batches(emptied):
            conn.execute(delete(person_group_table).where(g.person_id.in_(batch)))
        if regrouped:
            conn.execute(insert(person_group_table), regrouped)
        events.write(conn, announced, now)

    def _groups_of_new(self, conn: Connection, params: dict) -> None:
        if self._group_sets is not None:
            conn.execute(self._insert_groups, params)
            return
        rows = [
            (person, name.casefold(), name)
            for person, grouped in bulk.fetch(conn, self._new_groups, params)
            for name in split_cells(grouped)
        ]
        bulk.executemany_tuples(conn, insert(person_group_table), ["person_id", "group_key", "name"], rows)

    @functools.cached_property
    def _refusals(self):
        return person_checks.refused_rows(self.staging)

    @functools.cached_property
    def _chunk(self):
        st = self.staging.table.c
        return and_(st.n.between(bindparam("low"), bindparam("high")), st.refusal.is_(None))

    @functools.cached_property
    def _known(self):
        st = self.staging.table.c
        staged = [
            st.name,
            st.birth_date,
            st.sex,
            st.phone,
            st.email,
            st.lang,
            st.fingerprint,
            st.masked,
            st.guardian,
            st.groups,
        ]
        stored = [p.name, p.birth_date, p.sex, p.phone, p.email, p.lang, p.id_fingerprint, p.id_masked, p.guardian_id]
        return (
            select(st.id, *staged, *stored)
            .join(person_table, p.id == st.id)
            .where(self._chunk, st.known.is_not(None))
            .order_by(st.n)
        )

    @functools.cached_property
    def _known_groups(self):
        st = self.staging.table.c
        chunk = select(st.id).where(self._chunk, st.known.is_not(None), st.groups.is_not(None))
        return select(g.person_id, g.group_key, g.name).where(g.person_id.in_(chunk))

    @functools.cached_property
    def _update(self):
        columns = [column for _field, column in COMPARED] + ["id_fingerprint", "id_masked"]
        return (
            update(person_table)
            .where(p.id == bindparam("b_id"))
            .values(**{column: bindparam(f"b_{column}") for column in columns}, updated_at=bindparam("b_now"))
        )

    @functools.cached_property
    def _new(self):
        st = self.staging.table.c
        return and_(self._chunk, st.known.is_(None))

    @functools.cached_property
    def _new_count(self):
        return select(func.count()).select_from(self.staging.table).where(self._new)

    @functools.cached_property
    def _register(self):
        st = self.staging.table.c
        now = bindparam("now", type_=p.created_at.type)
        # decide() marked the wards whose guardian's row follows theirs: linked once it is loaded
        guardian = case((st.waits_for.is_(None), st.guardian), else_=null())
        rows = select(
            st.id, st.name, st.birth_date, st.sex, st.phone, st.email, st.lang, st.fingerprint, st.masked, guardian,
            now, now,
        )  # fmt: skip
        return (
            insert(person_table)
            .from_select([*REGISTERED, "guardian_id", "created_at", "updated_at"], rows.where(self._new).order_by(st.n))
            .execution_options(preserve_rowcount=True)
        )

    @functools.cached_property
    def _new_groups(self):
        st = self.staging.table.c
        return select(st.id, st.groups).where(self._new, st.groups.is_not(None))

    @functools.cached_property
    def _insert_groups(self):
        """The new people's groups, each staged value joined to its rows in GroupSets."""
        assert self._group_sets is not None
        st, gs = self.staging.table.c, self._group_sets.table.c
        rows = (
            select(st.id, gs.group_key, gs.name)
            .select_from(self.staging.table.join(self._group_sets.table, gs.groups == st.groups))
            .where(self._new)
            .order_by(st.n, gs.position)
        )
        return insert(person_group_table).from_select(["person_id", "group_key", "name"], rows)

    @functools.cached_property
    def _announce(self):
        st = self.staging.table.c
        now = bindparam("now", type_=p.created_at.type)
        return selected.write_recorded(
            selected.person_registered_rows(st.id, st.fields, now).where(self._new).order_by(st.n)
        )

    def _link(self, wards):
        """Each ward's guardian, once both are in the store (the foreign key): `wards` the staged rows."""
        st = self.staging.table.c
        guardian = person_table.alias("guardian")
        return (
            update(person_table)
            .where(
                p.id == st.id,
                st.guardian.is_not(None),
                st.refusal.is_(None),
                wards,
                or_(p.guardian_id.is_(None), p.guardian_id != st.guardian),
                select(literal(1)).where(guardian.c.id == st.guardian).exists(),
            )
            .values(guardian_id=st.guardian)
        )

    @functools.cached_property
    def _link_chunk(self):
        """The chunk's people the store had (its new people are linked by _register)."""
        st = self.staging.table.c
        return self._link(and_(st.n.between(bindparam("low"), bindparam("high")), st.known.is_not(None)))

    @functools.cached_property
    def _link_waiting(self):
        """Wards whose guardian's row, after theirs, is in this chunk (decide() marked them)."""
        return self._link(self.staging.table.c.waits_for.between(bindparam("low"), bindparam("high")))


def _day(value):
    return dt.date.fromisoformat(value) if isinstance(value, str) else value
