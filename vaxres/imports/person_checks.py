"""Between the two passes of `import persons`: the rules that look across rows, decided set-wise
over the staged rows and the store before anything is written, each refused row marked with its
refusal (staged columns refusal, detail, other_line).

- an id on an earlier row (`duplicate_person`); a number on an earlier row of another id, or
  registered to another person (`duplicate_identity`, naming the holder); a forgotten person;
- a guardian: not the person, registered or on a row of the file that loads, 18 or older by the
  birth date the import leaves them, and no circle in the guardians the import leaves. A row
  refused can leave another's guardian unknown, so these are decided again until none changes.

Only the rows with a guardian are read into Python (and the store's guardians above them).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import Connection, and_, bindparam, func, null, select, update
from sqlalchemy.sql import Select

from vaxres.db import bulk
from vaxres.db.store import parameter_batches
from vaxres.db.tables import person_table
from vaxres.imports.staging import Staging
from vaxres.people import rules

p = person_table.c


@dataclass(frozen=True)
class Decided:
    """What decide() found, so the loader reads a chunk's staged rows only for what is there."""

    later_guardians: bool = False  # a guardian's row comes after a row naming them (its link waits for their chunk)
    refused: bool = False  # some row is refused (a chunk without may have refusals: read them)
    known: bool = False  # some row names a person the store has (compared and updated, not inserted)


def decide(conn: Connection, staging: Staging, today: dt.date, columns: set[str], repeats: list[str] | None) -> Decided:
    """Mark every staged row a rule across rows refuses, and the rows of people the store has.
    `repeats`: the fingerprints perhaps given on an earlier row (None: any may be)."""
    by_index = "rrn" in columns and repeats is None
    _index(conn, staging, ["id", "fingerprint"] if by_index else ["id"])
    st = staging.table
    # A first import into a store without people has nothing to look up there (two passes over the rows).
    has_people = conn.execute(select(p.id).limit(1)).first() is not None
    known = refused = False
    if has_people:
        marked = update(st).where(st.c.id.in_(select(p.id))).values(known=1).execution_options(preserve_rowcount=True)
        known = conn.execute(marked).rowcount > 0
    d, f = st.alias("d"), st.alias("f")
    repeated = [("id", rules.RepeatedPerson.code)]
    if by_index:
        repeated.append(("fingerprint", rules.DuplicateIdentity.code))
    for column, code in repeated:
        firsts = (
            select(st.c[column].label("key"), func.min(st.c.n).label("first"))
            .where(st.c[column].is_not(None))
            .group_by(st.c[column])
            .having(func.count() > 1)
            .subquery()
        )
        later = (
            select(d.c.n, f.c.id, f.c.line)
            .join(firsts, and_(firsts.c.key == d.c[column], d.c.n > firsts.c.first))
            .join(f, f.c.n == firsts.c.first)
            .where(d.c.refusal.is_(None))
        )
        refused |= _mark(conn, staging, [(n, code, holder, line) for n, holder, line in bulk.fetch(conn, later, {})])
    if "rrn" in columns and repeats:
        refused |= _mark(conn, staging, _repeated_numbers(conn, staging, repeats))
    if has_people:
        refused |= _mark(conn, staging, _in_store(conn, staging))
    if "guardian" not in columns:
        return Decided(refused=refused, known=known)
    while _guardians(conn, staging, today, any_refused=refused, has_people=has_people):
        refused = True
    return Decided(later_guardians=_waiting(conn, staging), refused=refused, known=known)


def _in_store(conn: Connection, staging: Staging) -> list[tuple]:
    """The refusals of rows of forgotten people and of numbers another person of the store holds."""
    d = staging.table.alias("d")
    held, known = person_table.alias("held"), person_table.alias("known")
    in_store = (
        select(d.c.n, known.c.forgotten_at, held.c.id)
        .outerjoin(known, known.c.id == d.c.id)
        .outerjoin(held, and_(held.c.id_fingerprint == d.c.fingerprint, held.c.id != d.c.id))
        .where(d.c.refusal.is_(None), (known.c.forgotten_at.is_not(None)) | held.c.id.is_not(None))
    )
    return [
        (n, rules.Forgotten.code, None, None)
        if forgotten is not None
        else (n, rules.DuplicateIdentity.code, holder, None)
        for n, forgotten, holder in bulk.fetch(conn, in_store, {})
    ]


def _waiting(conn: Connection, staging: Staging) -> bool:
    """Mark each ward whose guardian's row follows theirs with that row's n (waits_for): the
    loader links them once it is loaded, the others as they are inserted."""
    st = staging.table
    g = st.alias("g")
    waiting = (
        update(st)
        .where(g.c.id == st.c.guardian, g.c.refusal.is_(None), g.c.n > st.c.n, st.c.refusal.is_(None))
        .values(waits_for=g.c.n)
        .execution_options(preserve_rowcount=True)
    )
    if not conn.execute(waiting).rowcount:
        return False
    where = "WHERE waits_for IS NOT NULL"  # a few rows: the index holds those only
    if staging.sqlite:
        conn.exec_driver_sql(f"CREATE INDEX vaxres_staging.import_rows_waits_for ON import_rows (waits_for) {where}")
    else:
        conn.exec_driver_sql(f"CREATE INDEX import_rows_waits_for ON pg_temp.import_rows (waits_for) {where}")
    return True


def _repeated_numbers(conn: Connection, staging: Staging, repeats: list[str]) -> list[tuple]:
    """The refusals of the rows giving a number an earlier row gave, as the indexed grouping in
    decide() finds them, for the few numbers the first pass saw perhaps twice."""
    st = staging.table.c
    rows: list[tuple] = []
    for batch in parameter_batches(sorted(set(repeats))):
        found = select(st.n, st.fingerprint, st.id, st.line, st.refusal).where(st.fingerprint.in_(batch))
        rows += [tuple(row) for row in conn.execute(found)]
    firsts: dict[str, tuple] = {}  # fingerprint -> (n, id, line) of its first row
    refusals = []
    for n, fingerprint, person, line, refusal in sorted(rows):
        first_n, holder, first_line = firsts.setdefault(fingerprint, (n, person, line))
        if n != first_n and refusal is None:
            refusals.append((n, rules.DuplicateIdentity.code, holder, first_line))
    return refusals


def _index(conn: Connection, staging: Staging, columns: list[str]) -> None:
    """The look-ups by id (and number) across the staged rows."""
    for column in columns:
        if staging.sqlite:
            conn.exec_driver_sql(
                f"CREATE INDEX IF NOT EXISTS vaxres_staging.import_rows_{column} ON import_rows ({column})"
            )
        else:
            conn.exec_driver_sql(f"CREATE INDEX IF NOT EXISTS import_rows_{column} ON pg_temp.import_rows ({column})")
    if not staging.sqlite:
        conn.exec_driver_sql("ANALYZE pg_temp.import_rows")  # a temporary table has no statistics otherwise


def _mark(conn: Connection, staging: Staging, refusals: list[tuple]) -> bool:
    """refusals: (n, code, detail, other line); True when there were any."""
    if refusals:
        st = staging.table.c
        conn.execute(
            update(staging.table)
            .where(st.n == bindparam("b_n"))
            .values(refusal=bindparam("b_code"), detail=bindparam("b_detail"), other_line=bindparam("b_line")),
            [{"b_n": n, "b_code": code, "b_detail": detail, "b_line": line} for n, code, detail, line in refusals],
        )
    return bool(refusals)


def _guardians(conn: Connection, staging: Staging, today: dt.date, *, any_refused: bool, has_people: bool) -> bool:
    """One round of the guardian rules over the rows not refused; True when it refused any.
    `any_refused`: some row is refused already; `has_people`: the store has people (else a ward's
    guardian is looked up in the file only: a first import looks up no one twice)."""
    st = staging.table
    w, g = st.alias("w"), st.alias("g")
    known = person_table.alias("known")
    r = st.alias("r")
    refused_row = (
        select(func.min(r.c.line)).where(r.c.id == w.c.guardian, r.c.refusal.is_not(None)).scalar_subquery()
        if any_refused
        else null()
    )
    stored = (known.c.id, known.c.birth_date, known.c.forgotten_at) if has_people else (null(), null(), null())
    wards = w.outerjoin(g, and_(g.c.id == w.c.guardian, g.c.refusal.is_(None)))
    if has_people:
        wards = wards.outerjoin(known, known.c.id == w.c.guardian)
    rows = bulk.fetch(
        conn,
        select(w.c.n, w.c.id, w.c.guardian, g.c.n, g.c.birth_date, *stored, refused_row)
        .select_from(wards)
        .where(w.c.guardian.is_not(None), w.c.refusal.is_(None)),
        {},
    )
    refused = []
    edges: dict[str, tuple[str, int]] = {}  # person -> (guardian, staged n), as the import leaves them
    for n, person, guardian, in_file, file_born, in_store, store_born, forgotten, refused_line in rows:
        in_store = in_store is not None and forgotten is None
        if in_file is None and not in_store and refused_line is not None:
            reason: str | None = f"their own row, line {refused_line}, is refused"
        else:
            reason = _reason(person, guardian, in_file is not None, in_store, file_born or store_born, today)
        if reason is None:
            edges[person] = (guardian, n)
        else:
            refused.append((n, rules.InvalidGuardian.code, reason, None))
    if not refused:
        refused = [(n, rules.InvalidGuardian.code, reason, None) for n, reason in _circles(conn, edges)]
    _mark(conn, staging, refused)
    return bool(refused)


def _reason(person: str, guardian: str, in_file: bool, in_store: bool, born, today: dt.date) -> str | None:
    """Why `guardian` cannot be `person`'s, in the words of `person add --guardian`; None if they can."""
    if guardian == person:
        return "a person cannot be their own guardian"
    if not (in_file or in_store):
        return "they are not registered (add them with their birth date first)"
    if born is None:
        return "their birth date is not registered, so they are not known to be adult"
    age = rules.age_on(born if isinstance(born, dt.date) else dt.date.fromisoformat(born), today)
    if age < rules.ADULT_AGE:
        return f"they are {age}, and a guardian is {rules.ADULT_AGE} or older"
    return None


def _circles(conn: Connection, edges: dict[str, tuple[str, int]]) -> list[tuple[int, str]]:
    """The rows that close a circle of guardians, one a circle: the last in the file (as the
    commands run in file order would refuse it). Above the file's people, the store's guardians."""
    above = dict(_store_guardians(conn, edges))
    refused = []
    done: set[str] = set()
    for start in edges:
        path: list[str] = []
        on_path: set[str] = set()
        current: str | None = start
        while current is not None and current not in done:
            if current in on_path:
                circle = path[path.index(current) :]
                last = max(circle, key=lambda person: edges[person][1] if person in edges else -1)
                refused.append((edges[last][1], f"{last} is already in {last}'s line of guardians"))
                break
            path.append(current)
            on_path.add(current)
            current = edges[current][0] if current in edges else above.get(current)
        done.update(path)
    return refused


def _store_guardians(conn: Connection, edges: dict[str, tuple[str, int]]):
    """(person, guardian) of the store above the file's guardians, people the file does not change."""
    frontier = {guardian for guardian, _n in edges.values() if guardian not in edges}
    seen: set[str] = set()
    while frontier:
        seen |= frontier
        found: list = []
        for batch in parameter_batches(sorted(frontier)):
            found += conn.execute(select(p.id, p.guardian_id).where(p.id.in_(batch), p.guardian_id.is_not(None))).all()
        yield from found
        frontier = {guardian for _person, guardian in found if guardian not in seen and guardian not in edges}


def refused_rows(staging: Staging) -> Select:
    """The refused rows of :low..:high, with what their refusals name."""
    st = staging.table.c
    return (
        select(st.line, st.id, st.masked, st.guardian, st.refusal, st.detail, st.other_line, st.cells)
        .where(st.n.between(bindparam("low"), bindparam("high")), st.refusal.is_not(None))
        .order_by(st.n)
    )


def refusal_of(code: str, person: str, masked: str | None, guardian: str | None, detail, other_line):
    """The named error of a marked row, and the cell it blames (column, value)."""
    if code == rules.RepeatedPerson.code:
        return rules.RepeatedPerson(person, other_line), "id", person
    if code == rules.DuplicateIdentity.code:
        return rules.DuplicateIdentity(detail, masked or "", line=other_line), "rrn", masked
    if code == rules.Forgotten.code:
        return rules.Forgotten(person), "id", person
    return rules.InvalidGuardian(person, guardian or "", detail), "guardian", guardian
