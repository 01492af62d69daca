"""The locks and snapshots a transaction takes, said once for both backends. SQLite runs one
writer at a time (BEGIN IMMEDIATE) and a read transaction already sees one snapshot, so each of
these is nothing there; PostgreSQL's READ COMMITTED needs them where a rule reads, then writes."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import Connection, Select, Table, text

_WAIT = text("SELECT count(pg_advisory_xact_lock(:space, k)) FROM unnest(CAST(:keys AS integer[])) AS k")
_TRY = text("SELECT k FROM unnest(CAST(:keys AS integer[])) AS k WHERE pg_try_advisory_xact_lock(:space, k)")
_NAMED = text("SELECT pg_advisory_xact_lock(hashtext(:name))")


def writers_wait_anyway(conn: Connection) -> bool:
    """True where the store runs one writer at a time, so no lock below is needed (SQLite)."""
    return conn.dialect.name != "postgresql"


def wait_for_keys(conn: Connection, space: int, keys: Iterable[int]) -> None:
    """Wait for these advisory locks (two-key: `space`, key), held until the transaction ends;
    taken in ascending order, so two transactions never wait for each other in a circle."""
    if not writers_wait_anyway(conn):
        conn.execute(_WAIT, {"space": space, "keys": sorted(set(keys))})


def try_keys(conn: Connection, space: int, keys: Iterable[int]) -> set[int]:
    """The keys among these whose advisory lock this transaction holds now, without waiting (all
    of them where writers wait anyway)."""
    keys = set(keys)
    if writers_wait_anyway(conn) or not keys:
        return keys
    return set(conn.execute(_TRY, {"space": space, "keys": sorted(keys)}).scalars())


def wait_for_name(conn: Connection, name: str) -> None:
    """Wait for the advisory lock of a name, held until the transaction ends."""
    if not writers_wait_anyway(conn):
        conn.execute(_NAMED, {"name": name})


def lock_rows(conn: Connection, rows: Select, *, share: bool = False) -> None:
    """Lock the rows a query selects until the transaction ends (FOR UPDATE, or FOR SHARE)."""
    if not writers_wait_anyway(conn):
        conn.execute(rows.with_for_update(read=share))


def lock_table(conn: Connection, table: Table) -> None:
    """Keep every other writer of `table` waiting until the transaction ends (readers go on)."""
    if not writers_wait_anyway(conn):
        conn.execute(text(f"LOCK TABLE {table.name} IN EXCLUSIVE MODE"))


def one_snapshot(conn: Connection) -> None:
    """Every statement of this read transaction sees the store as it was at the first one. Call
    it first in the transaction."""
    if not writers_wait_anyway(conn):
        conn.exec_driver_sql("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")


def plan_for_every_row(conn: Connection) -> None:
    """A streamed read will read every row: PostgreSQL plans a cursor for its first tenth, which
    can choose a walk in order over a look-up (`log --slot`: 5 s rather than 70 ms on 2,000,000)."""
    if not writers_wait_anyway(conn):
        conn.exec_driver_sql("SET LOCAL cursor_tuple_fraction = 1.0")
